//! What a license says: who may use which product, where, how much and until when.
//!
//! [`LicensePayload`] is the signed content shared by the serial key and the
//! license file; its canonical byte layout is specified field by field in
//! `docs/license-format.md` ("License payload").

use std::net::IpAddr;

use uuid::Uuid;

use crate::encoding::{Reader, Writer, strictly_ascending};
use crate::error::{Error, Result, malformed};
use crate::keys::KeyId;
use crate::machine::Fingerprint;

/// Version byte that starts every license payload this crate writes and accepts.
pub const FORMAT_VERSION: u8 = 1;

/// Seconds per day, for grace periods.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// The kind of license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseKind {
    /// Evaluation (time-limited trial).
    Eval,
    /// Development / non-production use.
    Dev,
    /// Production use.
    Pro,
}

impl LicenseKind {
    /// The byte that encodes this kind (1, 2, 3).
    pub fn code(self) -> u8 {
        match self {
            Self::Eval => 1,
            Self::Dev => 2,
            Self::Pro => 3,
        }
    }

    /// The kind for an encoded byte.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Eval),
            2 => Some(Self::Dev),
            3 => Some(Self::Pro),
            _ => None,
        }
    }

    /// "Eval", "Dev" or "Pro".
    pub fn name(self) -> &'static str {
        match self {
            Self::Eval => "Eval",
            Self::Dev => "Dev",
            Self::Pro => "Pro",
        }
    }
}

/// Where a license may run. Every part that is set must match; an empty binding runs anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    /// The storage cluster's UUID.
    pub cluster: Option<Uuid>,
    /// The cluster's (or machine's) IP address; IPv4-mapped IPv6 compares equal to IPv4.
    pub ip: Option<IpAddr>,
    /// Fingerprints of machine components, from the customer's license request.
    pub fingerprints: Vec<Fingerprint>,
    /// How many of `fingerprints` the running machine must present (0 when there are none).
    pub min_fingerprint_matches: u16,
}

/// The signed content of a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensePayload {
    /// Key that signs this license; [`crate::SignedLicense::sign`] sets it from the signing key.
    pub key_id: KeyId,
    /// Unique license id (what revocation lists name).
    pub license_id: Uuid,
    /// Product name, e.g. "License Desk Storage".
    pub product: String,
    /// Eval, Dev or Pro.
    pub kind: LicenseKind,
    /// Customer name.
    pub customer: String,
    /// Cluster / IP / machine binding.
    pub binding: Binding,
    /// Licensed capacity in terabytes (0 = unlimited, by convention of the product).
    pub capacity_tb: u32,
    /// Number of seats.
    pub seats: u32,
    /// Feature entitlements; stored sorted and without duplicates.
    pub features: Vec<String>,
    /// When the license was issued (unix seconds, UTC).
    pub issued_at: i64,
    /// Not valid before this time (unix seconds, UTC).
    pub not_before: i64,
    /// Expiry (unix seconds, UTC); `None` is perpetual.
    pub expires_at: Option<i64>,
    /// End of support (unix seconds, UTC), informational.
    pub support_until: Option<i64>,
    /// Days after `expires_at` during which the license still works, flagged as in grace.
    pub grace_days: u16,
}

impl LicensePayload {
    /// A perpetual, unbound, one-seat license valid from `issued_at`; set other fields directly.
    pub fn new(
        license_id: Uuid,
        product: impl Into<String>,
        kind: LicenseKind,
        customer: impl Into<String>,
        issued_at: i64,
    ) -> Self {
        Self {
            key_id: KeyId([0; 8]),
            license_id,
            product: product.into(),
            kind,
            customer: customer.into(),
            binding: Binding::default(),
            capacity_tb: 0,
            seats: 1,
            features: Vec::new(),
            issued_at,
            not_before: issued_at,
            expires_at: None,
            support_until: None,
            grace_days: 0,
        }
    }

    /// Sorts and de-duplicates the lists, as the canonical encoding requires.
    pub fn normalize(&mut self) {
        self.features.sort();
        self.features.dedup();
        self.binding.fingerprints.sort();
        self.binding.fingerprints.dedup();
    }

    /// The canonical bytes (what is signed, after the context string).
    ///
    /// Fails with [`Error::Invalid`] for values the format cannot carry:
    /// unsorted or duplicate lists (call [`Self::normalize`]), over-long
    /// strings, or a minimum match count that does not fit the fingerprints.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if !strictly_ascending(&self.features) {
            return Err(Error::Invalid("features must be sorted and unique".into()));
        }
        let b = &self.binding;
        if !strictly_ascending(&b.fingerprints) {
            return Err(Error::Invalid(
                "fingerprints must be sorted and unique".into(),
            ));
        }
        if !min_matches_ok(b.fingerprints.len(), b.min_fingerprint_matches) {
            return Err(Error::Invalid(
                "min_fingerprint_matches must be 0 without fingerprints, else 1..=count".into(),
            ));
        }
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        w.fixed(&self.key_id.0);
        w.fixed(self.license_id.as_bytes());
        w.str("product", &self.product)?;
        w.u8(self.kind.code());
        w.str("customer", &self.customer)?;
        match b.cluster {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.fixed(c.as_bytes());
            }
        }
        match b.ip {
            None => w.u8(0),
            Some(IpAddr::V4(v4)) => {
                w.u8(4);
                w.fixed(&v4.octets());
            }
            Some(IpAddr::V6(v6)) => {
                w.u8(6);
                w.fixed(&v6.octets());
            }
        }
        w.count("fingerprints", b.fingerprints.len())?;
        for f in &b.fingerprints {
            w.fixed(&f.0);
        }
        w.u16(b.min_fingerprint_matches);
        w.u32(self.capacity_tb);
        w.u32(self.seats);
        w.count("features", self.features.len())?;
        for f in &self.features {
            w.str("feature", f)?;
        }
        w.i64(self.issued_at);
        w.i64(self.not_before);
        w.opt_i64(self.expires_at);
        w.opt_i64(self.support_until);
        w.u16(self.grace_days);
        Ok(w.into_bytes())
    }

    /// Parses canonical bytes; anything [`Self::encode`] would not produce is `Malformed`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("format version")?;
        if version != FORMAT_VERSION {
            return Err(malformed(format!("unsupported format version {version}")));
        }
        let key_id = KeyId(r.array("key id")?);
        let license_id = Uuid::from_bytes(r.array("license id")?);
        let product = r.str("product")?;
        let kind_code = r.u8("kind")?;
        let kind = LicenseKind::from_code(kind_code)
            .ok_or_else(|| malformed(format!("kind: unknown code {kind_code}")))?;
        let customer = r.str("customer")?;
        let cluster = if r.tag("cluster")? {
            Some(Uuid::from_bytes(r.array("cluster")?))
        } else {
            None
        };
        let ip = match r.u8("ip")? {
            0 => None,
            4 => Some(IpAddr::from(r.array::<4>("ip")?)),
            6 => Some(IpAddr::from(r.array::<16>("ip")?)),
            t => return Err(malformed(format!("ip: tag {t} is not 0, 4 or 6"))),
        };
        let count = r.u16("fingerprints")?;
        let mut fingerprints = Vec::new();
        for _ in 0..count {
            fingerprints.push(Fingerprint(r.array("fingerprint")?));
        }
        if !strictly_ascending(&fingerprints) {
            return Err(malformed("fingerprints: not strictly ascending"));
        }
        let min_fingerprint_matches = r.u16("min fingerprint matches")?;
        if !min_matches_ok(fingerprints.len(), min_fingerprint_matches) {
            return Err(malformed("min fingerprint matches: out of range"));
        }
        let capacity_tb = r.u32("capacity")?;
        let seats = r.u32("seats")?;
        let count = r.u16("features")?;
        let mut features = Vec::new();
        for _ in 0..count {
            features.push(r.str("feature")?);
        }
        if !strictly_ascending(&features) {
            return Err(malformed("features: not strictly ascending"));
        }
        let issued_at = r.i64("issued at")?;
        let not_before = r.i64("not before")?;
        let expires_at = r.opt_i64("expires at")?;
        let support_until = r.opt_i64("support until")?;
        let grace_days = r.u16("grace days")?;
        r.finish()?;
        Ok(Self {
            key_id,
            license_id,
            product,
            kind,
            customer,
            binding: Binding {
                cluster,
                ip,
                fingerprints,
                min_fingerprint_matches,
            },
            capacity_tb,
            seats,
            features,
            issued_at,
            not_before,
            expires_at,
            support_until,
            grace_days,
        })
    }
}

fn min_matches_ok(count: usize, min: u16) -> bool {
    if count == 0 {
        min == 0
    } else {
        min >= 1 && usize::from(min) <= count
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(crate) fn sample() -> LicensePayload {
        let mut p = LicensePayload::new(
            Uuid::from_bytes([7; 16]),
            "Storage",
            LicenseKind::Pro,
            "ACME",
            1_700_000_000,
        );
        p.binding.cluster = Some(Uuid::from_bytes([9; 16]));
        p.binding.ip = Some("10.0.0.1".parse().unwrap());
        p.binding.fingerprints = vec![Fingerprint([2; 16]), Fingerprint([1; 16])];
        p.binding.min_fingerprint_matches = 1;
        p.features = vec!["snapshots".into(), "replication".into()];
        p.expires_at = Some(1_800_000_000);
        p.grace_days = 14;
        p.normalize();
        p
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let bytes = p.encode().unwrap();
        assert_eq!(LicensePayload::decode(&bytes).unwrap(), p);
        let mut v6 = p.clone();
        v6.binding.ip = Some("2001:db8::1".parse().unwrap());
        v6.support_until = Some(-5);
        assert_eq!(LicensePayload::decode(&v6.encode().unwrap()).unwrap(), v6);
    }

    #[test]
    fn rejects_non_canonical() {
        let mut p = sample();
        p.features.reverse();
        assert!(matches!(p.encode(), Err(Error::Invalid(_))));
        let mut p = sample();
        p.binding.min_fingerprint_matches = 3;
        assert!(p.encode().is_err());
        let bytes = sample().encode().unwrap();
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(LicensePayload::decode(&extra).is_err());
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 2;
        assert!(LicensePayload::decode(&wrong_version).is_err());
        for n in 0..bytes.len() {
            assert!(LicensePayload::decode(&bytes[..n]).is_err());
        }
    }
}
