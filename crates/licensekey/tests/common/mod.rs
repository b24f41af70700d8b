//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod json;

use licensekey::{
    Fingerprint, LicenseKind, LicensePayload, LicenseRequest, MachineComponent, MachineInfo,
    SignedLicense, SigningKey, Uuid,
};

pub const DAY: i64 = 86_400;
pub const T0: i64 = 1_767_225_600;
pub const PRODUCT: &str = "Storage";

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn cluster() -> Uuid {
    Uuid::from_bytes([0xc1; 16])
}

/// The raw identifiers of the licensed machine.
pub const MACHINE: [(&str, &str); 3] = [("machine-id", "abc"), ("hostname", "h1"), ("cpu", "x")];

pub fn machine_with(changes: &[(&str, &str)]) -> MachineInfo {
    let mut values: Vec<(&str, &str)> = MACHINE.to_vec();
    for (name, value) in changes {
        values.retain(|(n, _)| n != name);
        if !value.is_empty() {
            values.push((name, value));
        }
    }
    MachineInfo::from_values(values).unwrap()
}

pub fn machine() -> MachineInfo {
    machine_with(&[])
}

/// A request from the licensed machine, with a fixed salt so runs are repeatable.
pub fn request() -> LicenseRequest {
    let salt = [0x5a; 16];
    let fp = |name: &str, value: &str| MachineComponent {
        name: name.into(),
        fingerprint: Fingerprint::salted(&salt, name, value),
    };
    LicenseRequest {
        cluster: Some(cluster()),
        label: "node A".into(),
        salt,
        strong: vec![fp("machine-id", "abc")],
        weak: vec![fp("cpu", "x"), fp("hostname", "h1")],
        created_at: T0 - DAY,
        machine_key: None,
    }
}

/// A bound Pro license: cluster, IP 10.1.2.3, the machine of [`request`], a year plus 7 grace days.
pub fn pro_payload() -> LicensePayload {
    let mut p = LicensePayload::new(
        Uuid::from_bytes([0x11; 16]),
        PRODUCT,
        LicenseKind::Pro,
        "ACME",
        T0,
    );
    p.binding = request().binding(None).unwrap();
    p.binding.ip = Some("10.1.2.3".parse().unwrap());
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

/// Signs canonical body bytes under `context` the way the crate does, for
/// artifacts the crate no longer signs itself (version 1) or would refuse to.
pub fn sign_raw(context: &str, body: &[u8], key: &SigningKey) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let mut msg = vec![u8::try_from(context.len()).unwrap()];
    msg.extend_from_slice(context.as_bytes());
    msg.extend_from_slice(body);
    let mut blob = body.to_vec();
    blob.extend_from_slice(&key.sign(&msg).to_bytes());
    blob
}

/// A version 1 license as earlier releases issued it (unsalted fingerprints, 2 of 3).
pub fn legacy_pro() -> SignedLicense {
    let mut p = pro_payload();
    p.format_version = licensekey::LEGACY_FORMAT_VERSION;
    p.key_id = licensekey::KeyId::of(&key(1).verifying_key());
    p.binding.machine = None;
    p.binding.legacy_fingerprints = MACHINE
        .iter()
        .map(|(n, v)| Fingerprint::legacy(n, v))
        .collect();
    p.binding.legacy_min_matches = 2;
    p.normalize();
    let body = p.encode().unwrap();
    SignedLicense::from_bytes(&sign_raw(licensekey::LICENSE_CONTEXT, &body, &key(1))).unwrap()
}

/// Armor of arbitrary bytes with a chosen base64 body (already split into pieces).
pub fn armor_body(label: &str, body: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The same bytes as `file` (armored with `label`) written as padded base64
/// pieces glued together: a lenient decoder reads each back as the original.
pub fn glued_variants(label: &str, file: &str) -> Vec<String> {
    use data_encoding::BASE64;
    let lines: Vec<&str> = file.lines().collect();
    let bytes = BASE64
        .decode(lines[1..lines.len() - 1].concat().as_bytes())
        .unwrap();
    let pieces = |size: usize| -> String { bytes.chunks(size).map(|c| BASE64.encode(c)).collect() };
    // Split once where the first piece needs padding.
    let cut = bytes.len() / 3 * 3 - 2;
    let once = format!(
        "{}{}",
        BASE64.encode(&bytes[..cut]),
        BASE64.encode(&bytes[cut..])
    );
    let variants = vec![
        armor_body(label, &once),
        armor_body(label, &pieces(1)),
        armor_body(label, &pieces(2)),
    ];
    for v in &variants {
        assert_eq!(
            BASE64
                .decode(
                    v.lines()
                        .filter(|l| !l.starts_with("-----"))
                        .collect::<String>()
                        .as_bytes()
                )
                .unwrap(),
            bytes,
            "the lenient decoder reads the same bytes"
        );
    }
    variants
}
