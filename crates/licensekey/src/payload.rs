//! What a license says: who may use which product, where, how much and until when.
//!
//! [`LicensePayload`] is the signed content shared by the serial key and the
//! license file; its canonical byte layout is specified field by field in
//! `docs/license-format.md` ("License payload").
//!
//! Two versions exist. Version 2 ([`FORMAT_VERSION`]) is what this crate
//! signs: salted machine binding with strong and weak parts, and content
//! rules (time order, no nil UUIDs, one encoding per IP address) checked when
//! signing ([`Error::Invalid`]) and when decoding ([`Error::Malformed`]).
//! Version 1 ([`LEGACY_FORMAT_VERSION`]) licenses were issued by earlier
//! releases; they are decoded and verified exactly as before, and never signed.

use std::net::{IpAddr, Ipv6Addr};

use uuid::Uuid;

use crate::encoding::{Reader, Writer, strictly_ascending};
use crate::error::{Error, Result, malformed};
use crate::keys::KeyId;
use crate::machine::{Fingerprint, MachineBinding, MachineComponent};

/// Version byte of the license payloads this crate signs.
pub const FORMAT_VERSION: u8 = 2;

/// Version byte of the licenses earlier releases signed (still verified, never signed).
pub const LEGACY_FORMAT_VERSION: u8 = 1;

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
    /// The storage cluster's UUID (not the nil UUID).
    pub cluster: Option<Uuid>,
    /// The cluster's (or machine's) IP address. An IPv4-mapped IPv6 address is
    /// stored as the IPv4 address when signing, and compared as one.
    pub ip: Option<IpAddr>,
    /// The machine, from the customer's license request.
    pub machine: Option<MachineBinding>,
    /// Version 1 licenses only: unsalted fingerprints, of which
    /// `legacy_min_matches` must be present on the machine. Empty in version 2.
    pub legacy_fingerprints: Vec<Fingerprint>,
    /// Version 1 licenses only: 0 without fingerprints, else 1 to their count.
    pub legacy_min_matches: u16,
}

/// The signed content of a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensePayload {
    /// [`FORMAT_VERSION`] for new licenses; [`LEGACY_FORMAT_VERSION`] for decoded old ones.
    pub format_version: u8,
    /// Key that signs this license; [`crate::SignedLicense::sign`] sets it from the signing key.
    pub key_id: KeyId,
    /// Unique license id (what revocation lists name); never the nil UUID.
    pub license_id: Uuid,
    /// Product name, e.g. "License Desk Storage"; verification compares it byte for byte
    /// with the product that verifies ([`crate::VerifyContext::for_product`]). Not empty.
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
    /// When the license was issued (unix seconds, UTC); at most `not_before`.
    pub issued_at: i64,
    /// Not valid before this time (unix seconds, UTC); before `expires_at`.
    pub not_before: i64,
    /// Expiry (unix seconds, UTC); `None` is perpetual.
    pub expires_at: Option<i64>,
    /// End of support (unix seconds, UTC), informational; not before `issued_at`.
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
            format_version: FORMAT_VERSION,
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

    /// Puts the payload in canonical form: lists sorted and de-duplicated, and
    /// an IPv4-mapped IPv6 address written as IPv4.
    pub fn normalize(&mut self) {
        self.features.sort();
        self.features.dedup();
        let b = &mut self.binding;
        b.legacy_fingerprints.sort();
        b.legacy_fingerprints.dedup();
        if let Some(machine) = &mut b.machine {
            machine.normalize();
        }
        if self.format_version != LEGACY_FORMAT_VERSION {
            b.ip = b.ip.map(|ip| ip.to_canonical());
        }
    }

    /// The canonical bytes (what is signed, after the context string).
    ///
    /// Fails with [`Error::Invalid`] for values the format cannot carry or
    /// forbids: unsorted or duplicate lists (call [`Self::normalize`]),
    /// over-long strings, and for version 2 every content rule of
    /// `docs/license-format.md` (time order, nil UUIDs, mapped IP, empty
    /// product, machine binding shape).
    pub fn encode(&self) -> Result<Vec<u8>> {
        match self.format_version {
            FORMAT_VERSION => {
                if let Some(problem) = self.problem() {
                    return Err(Error::Invalid(problem));
                }
                self.encode_v2()
            }
            LEGACY_FORMAT_VERSION => {
                if let Some(problem) = self.legacy_problem() {
                    return Err(Error::Invalid(problem));
                }
                self.encode_v1()
            }
            v => Err(Error::Invalid(format!("unknown format version {v}"))),
        }
    }

    /// Parses canonical bytes of either version; anything [`Self::encode`]
    /// would not produce is `Malformed`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        match bytes.first() {
            Some(&FORMAT_VERSION) => {
                let payload = Self::decode_v2(bytes)?;
                if let Some(problem) = payload.problem() {
                    return Err(malformed(problem));
                }
                Ok(payload)
            }
            Some(&LEGACY_FORMAT_VERSION) => Self::decode_v1(bytes),
            Some(v) => Err(malformed(format!("unsupported format version {v}"))),
            None => Err(malformed("format version: unexpected end of data")),
        }
    }

    /// The first version 2 content rule this payload breaks, if any.
    fn problem(&self) -> Option<String> {
        if let Some(p) = self.list_problem() {
            return Some(p);
        }
        let b = &self.binding;
        if self.license_id.is_nil() {
            return Some("license id must not be the nil UUID".into());
        }
        if self.product.is_empty() {
            return Some("product must not be empty".into());
        }
        if b.cluster.is_some_and(|c| c.is_nil()) {
            return Some("cluster must not be the nil UUID".into());
        }
        if let Some(IpAddr::V6(v6)) = b.ip
            && v6.to_ipv4_mapped().is_some()
        {
            return Some("IP address: an IPv4-mapped IPv6 address must be written as IPv4".into());
        }
        if !b.legacy_fingerprints.is_empty() || b.legacy_min_matches != 0 {
            return Some("version 2 licenses carry no version 1 fingerprints".into());
        }
        if let Some(problem) = b.machine.as_ref().and_then(MachineBinding::problem) {
            return Some(problem);
        }
        if self.issued_at > self.not_before {
            return Some("issued_at must not be after not_before".into());
        }
        if let Some(expires_at) = self.expires_at
            && expires_at <= self.not_before
        {
            return Some("expires_at must be after not_before".into());
        }
        if let Some(support_until) = self.support_until
            && support_until < self.issued_at
        {
            return Some("support end must not be before issued_at".into());
        }
        None
    }

    /// Sortedness of the lists, shared by both versions.
    fn list_problem(&self) -> Option<String> {
        if !strictly_ascending(&self.features) {
            return Some("features must be sorted and unique".into());
        }
        None
    }

    /// The version 1 rules (as version 1 always had them).
    fn legacy_problem(&self) -> Option<String> {
        if let Some(p) = self.list_problem() {
            return Some(p);
        }
        let b = &self.binding;
        if b.machine.is_some() {
            return Some("version 1 licenses have no salted machine binding".into());
        }
        if !strictly_ascending(&b.legacy_fingerprints) {
            return Some("fingerprints must be sorted and unique".into());
        }
        if !legacy_min_ok(b.legacy_fingerprints.len(), b.legacy_min_matches) {
            return Some(
                "min_fingerprint_matches must be 0 without fingerprints, else 1..=count".into(),
            );
        }
        None
    }

    /// Fields 2 to 8, the same in both versions.
    fn encode_head(&self, w: &mut Writer) -> Result<()> {
        w.u8(self.format_version);
        w.fixed(&self.key_id.0);
        w.fixed(self.license_id.as_bytes());
        w.str("product", &self.product)?;
        w.u8(self.kind.code());
        w.str("customer", &self.customer)?;
        let b = &self.binding;
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
        Ok(())
    }

    /// Fields after the binding, the same in both versions.
    fn encode_tail(&self, w: &mut Writer) -> Result<()> {
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
        Ok(())
    }

    fn encode_v1(&self) -> Result<Vec<u8>> {
        let mut w = Writer::new();
        self.encode_head(&mut w)?;
        let b = &self.binding;
        w.count("fingerprints", b.legacy_fingerprints.len())?;
        for f in &b.legacy_fingerprints {
            w.fixed(&f.0);
        }
        w.u16(b.legacy_min_matches);
        self.encode_tail(&mut w)?;
        Ok(w.into_bytes())
    }

    fn encode_v2(&self) -> Result<Vec<u8>> {
        let mut w = Writer::new();
        self.encode_head(&mut w)?;
        match &self.binding.machine {
            None => w.u8(0),
            Some(m) => {
                w.u8(1);
                w.fixed(&m.salt);
                write_components(&mut w, "strong identifiers", &m.strong)?;
                w.u16(m.min_strong_matches);
                write_components(&mut w, "weak parts", &m.weak)?;
            }
        }
        self.encode_tail(&mut w)?;
        Ok(w.into_bytes())
    }

    /// Reads fields 1 to 8 into a payload with the rest at defaults.
    fn decode_head(r: &mut Reader<'_>) -> Result<Self> {
        let format_version = r.u8("format version")?;
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
            6 => Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>("ip")?))),
            t => return Err(malformed(format!("ip: tag {t} is not 0, 4 or 6"))),
        };
        let mut payload = Self::new(license_id, product, kind, customer, 0);
        payload.format_version = format_version;
        payload.key_id = key_id;
        payload.binding.cluster = cluster;
        payload.binding.ip = ip;
        Ok(payload)
    }

    fn decode_tail(&mut self, mut r: Reader<'_>) -> Result<()> {
        self.capacity_tb = r.u32("capacity")?;
        self.seats = r.u32("seats")?;
        let count = r.u16("features")?;
        let mut features = Vec::new();
        for _ in 0..count {
            features.push(r.str("feature")?);
        }
        if !strictly_ascending(&features) {
            return Err(malformed("features: not strictly ascending"));
        }
        self.features = features;
        self.issued_at = r.i64("issued at")?;
        self.not_before = r.i64("not before")?;
        self.expires_at = r.opt_i64("expires at")?;
        self.support_until = r.opt_i64("support until")?;
        self.grace_days = r.u16("grace days")?;
        r.finish()
    }

    fn decode_v1(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let mut payload = Self::decode_head(&mut r)?;
        let count = r.u16("fingerprints")?;
        let mut fingerprints = Vec::new();
        for _ in 0..count {
            fingerprints.push(Fingerprint(r.array("fingerprint")?));
        }
        if !strictly_ascending(&fingerprints) {
            return Err(malformed("fingerprints: not strictly ascending"));
        }
        let min = r.u16("min fingerprint matches")?;
        if !legacy_min_ok(fingerprints.len(), min) {
            return Err(malformed("min fingerprint matches: out of range"));
        }
        payload.binding.legacy_fingerprints = fingerprints;
        payload.binding.legacy_min_matches = min;
        payload.decode_tail(r)?;
        Ok(payload)
    }

    fn decode_v2(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let mut payload = Self::decode_head(&mut r)?;
        if r.tag("machine binding")? {
            let salt = r.array("machine salt")?;
            let strong = read_components(&mut r, "strong identifiers")?;
            let min_strong_matches = r.u16("min strong matches")?;
            let weak = read_components(&mut r, "weak parts")?;
            payload.binding.machine = Some(MachineBinding {
                salt,
                strong,
                min_strong_matches,
                weak,
            });
        }
        payload.decode_tail(r)?;
        Ok(payload)
    }
}

/// `u16 count`, then `(str name, 16-byte fingerprint)` per component.
pub(crate) fn write_components(
    w: &mut Writer,
    field: &str,
    components: &[MachineComponent],
) -> Result<()> {
    w.count(field, components.len())?;
    for c in components {
        w.str(field, &c.name)?;
        w.fixed(&c.fingerprint.0);
    }
    Ok(())
}

/// Inverse of [`write_components`]; the caller checks names and order.
pub(crate) fn read_components(r: &mut Reader<'_>, field: &str) -> Result<Vec<MachineComponent>> {
    let count = r.u16(field)?;
    let mut out = Vec::new();
    for _ in 0..count {
        let name = r.str(field)?;
        let fingerprint = Fingerprint(r.array(field)?);
        out.push(MachineComponent { name, fingerprint });
    }
    Ok(out)
}

fn legacy_min_ok(count: usize, min: u16) -> bool {
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

    fn component(name: &str, value: &str) -> MachineComponent {
        MachineComponent {
            name: name.into(),
            fingerprint: Fingerprint::salted(&[3; 16], name, value),
        }
    }

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
        p.binding.machine = Some(MachineBinding {
            salt: [3; 16],
            strong: vec![component("machine-id", "m")],
            min_strong_matches: 1,
            weak: vec![component("hostname", "h"), component("cpu", "c")],
        });
        p.features = vec!["snapshots".into(), "replication".into()];
        p.expires_at = Some(1_800_000_000);
        p.grace_days = 14;
        p.normalize();
        p
    }

    fn legacy_sample() -> LicensePayload {
        let mut p = sample();
        p.format_version = LEGACY_FORMAT_VERSION;
        p.binding.machine = None;
        p.binding.legacy_fingerprints = vec![Fingerprint([2; 16]), Fingerprint([1; 16])];
        p.binding.legacy_min_matches = 1;
        p.normalize();
        p
    }

    #[test]
    fn kinds() {
        for (kind, code, name) in [
            (LicenseKind::Eval, 1, "Eval"),
            (LicenseKind::Dev, 2, "Dev"),
            (LicenseKind::Pro, 3, "Pro"),
        ] {
            assert_eq!((kind.code(), kind.name()), (code, name));
            assert_eq!(LicenseKind::from_code(code), Some(kind));
        }
        assert_eq!(LicenseKind::from_code(0), None);
        assert_eq!(LicenseKind::from_code(4), None);
    }

    #[test]
    fn round_trip_both_versions() {
        for p in [sample(), legacy_sample()] {
            let bytes = p.encode().unwrap();
            assert_eq!(bytes[0], p.format_version);
            assert_eq!(LicensePayload::decode(&bytes).unwrap(), p);
            let mut v6 = p.clone();
            v6.binding.ip = Some("2001:db8::1".parse().unwrap());
            v6.support_until = Some(1_700_000_000);
            assert_eq!(LicensePayload::decode(&v6.encode().unwrap()).unwrap(), v6);
        }
    }

    #[test]
    fn rejects_non_canonical() {
        let mut p = sample();
        p.features.reverse();
        assert!(matches!(p.encode(), Err(Error::Invalid(_))));
        let mut p = legacy_sample();
        p.binding.legacy_min_matches = 3;
        assert!(p.encode().is_err());
        for p in [sample(), legacy_sample()] {
            let bytes = p.encode().unwrap();
            let mut extra = bytes.clone();
            extra.push(0);
            assert!(LicensePayload::decode(&extra).is_err());
            let mut wrong_version = bytes.clone();
            wrong_version[0] = 3;
            assert!(LicensePayload::decode(&wrong_version).is_err());
            for n in 0..bytes.len() {
                assert!(LicensePayload::decode(&bytes[..n]).is_err());
            }
        }
    }

    /// Each version 2 content rule: refused as Invalid when encoding, Malformed when decoding.
    #[test]
    fn version_2_content_rules() {
        type Edit = fn(&mut LicensePayload);
        let rules: [(&str, Edit); 13] = [
            ("nil license id", |p| p.license_id = Uuid::nil()),
            ("nil cluster", |p| p.binding.cluster = Some(Uuid::nil())),
            ("empty product", |p| p.product.clear()),
            ("mapped ip", |p| {
                p.binding.ip = Some("::ffff:10.0.0.1".parse().unwrap())
            }),
            ("issued after not_before", |p| {
                p.issued_at = p.not_before + 1
            }),
            ("expires at not_before", |p| {
                p.expires_at = Some(p.not_before)
            }),
            ("expires before not_before", |p| {
                p.expires_at = Some(p.not_before - 5)
            }),
            ("support before issue", |p| {
                p.support_until = Some(p.issued_at - 1)
            }),
            ("no strong identifier", |p| {
                p.binding.machine.as_mut().unwrap().strong.clear()
            }),
            ("min strong 0", |p| {
                p.binding.machine.as_mut().unwrap().min_strong_matches = 0
            }),
            ("weak part named as strong", |p| {
                p.binding.machine.as_mut().unwrap().strong[0].name = "hostname".into()
            }),
            ("legacy minimum in v2", |p| p.binding.legacy_min_matches = 1),
            ("legacy fingerprints in v2", |p| {
                p.binding.legacy_fingerprints = vec![Fingerprint([1; 16])];
                p.binding.legacy_min_matches = 1;
            }),
        ];
        for (name, edit) in rules {
            let mut p = sample();
            edit(&mut p);
            assert!(matches!(p.encode(), Err(Error::Invalid(_))), "{name}");
            if name.starts_with("legacy") {
                continue; // version 2 bytes have no place for them
            }
            let bytes = p.encode_v2().unwrap();
            assert!(
                matches!(LicensePayload::decode(&bytes), Err(Error::Malformed(_))),
                "{name}"
            );
        }
        // Boundaries that are allowed.
        let mut p = sample();
        p.not_before = p.issued_at;
        p.expires_at = Some(p.not_before + 1);
        p.support_until = Some(p.issued_at);
        p.encode().unwrap();
        // Version 1 keeps decoding what it always did (a mapped address, a nil id).
        let mut old = legacy_sample();
        old.license_id = Uuid::nil();
        old.binding.ip = Some("::ffff:10.0.0.1".parse().unwrap());
        old.expires_at = Some(old.not_before - 1);
        let decoded = LicensePayload::decode(&old.encode().unwrap()).unwrap();
        assert_eq!(decoded, old);
    }

    #[test]
    fn signing_normalizes_a_mapped_address() {
        let mut p = sample();
        p.binding.ip = Some("::ffff:10.0.0.1".parse().unwrap());
        p.normalize();
        assert_eq!(p.binding.ip, Some("10.0.0.1".parse().unwrap()));
        let mut old = legacy_sample();
        old.binding.ip = Some("::ffff:10.0.0.1".parse().unwrap());
        old.normalize();
        assert!(
            matches!(old.binding.ip, Some(IpAddr::V6(_))),
            "version 1 bytes stay as issued"
        );
    }
}
