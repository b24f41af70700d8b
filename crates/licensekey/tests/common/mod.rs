//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod json;

use licensekey::{Fingerprint, LicenseKind, LicensePayload, SignedLicense, SigningKey, Uuid};

pub const DAY: i64 = 86_400;
pub const T0: i64 = 1_767_225_600;

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn cluster() -> Uuid {
    Uuid::from_bytes([0xc1; 16])
}

pub fn fingerprints() -> Vec<Fingerprint> {
    vec![
        Fingerprint::of("machine-id", "abc"),
        Fingerprint::of("hostname", "h1"),
        Fingerprint::of("cpu", "x"),
    ]
}

/// A bound Pro license: cluster, IP 10.1.2.3, 2 of 3 fingerprints, a year plus 7 grace days.
pub fn pro_payload() -> LicensePayload {
    let mut p = LicensePayload::new(
        Uuid::from_bytes([0x11; 16]),
        "Storage",
        LicenseKind::Pro,
        "ACME",
        T0,
    );
    p.binding.cluster = Some(cluster());
    p.binding.ip = Some("10.1.2.3".parse().unwrap());
    p.binding.fingerprints = fingerprints();
    p.binding.min_fingerprint_matches = 2;
    p.capacity_tb = 100;
    p.seats = 5;
    p.features = vec!["snapshots".into(), "dedup".into()];
    p.expires_at = Some(T0 + 365 * DAY);
    p.support_until = Some(T0 + 365 * DAY);
    p.grace_days = 7;
    p
}

pub fn pro() -> SignedLicense {
    SignedLicense::sign(pro_payload(), &key(1)).unwrap()
}
