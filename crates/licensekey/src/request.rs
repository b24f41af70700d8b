//! License request files: what a customer's machine sends so the desk can
//! issue a license bound to it.
//!
//! The request is not signed (the customer has no key we trust); a SHA-256
//! digest over it catches damage in transit. It carries a random salt, the
//! salted fingerprints of the machine's strong identifiers and weak parts
//! (never raw values, never the host name), an optional cluster and a label
//! the customer typed (the only text in clear). The salt also makes every
//! request distinct, so the desk can spot duplicates.
//!
//! The desk checks what it cannot trust: component names must be the known
//! strong and weak names in their own lists, so a request cannot promote a
//! host name to a strong identifier. Version 1 requests (unsalted, with the
//! raw host name) are refused with [`Error::OutdatedRequest`].
//!
//! Version 3 adds the machine's own Ed25519 public key. The request tool
//! makes the key pair and keeps the private key on the machine; when the
//! license is later removed there, the machine signs a deactivation file
//! with it ([`crate::SignedDeactivation`]), which the desk checks against
//! the key it received here. Version 2 requests (no key) are still accepted;
//! licenses issued from them cannot be deactivated offline.

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::armor;
use crate::encoding::{Reader, Writer, with_context};
use crate::error::{Error, Result, malformed};
use crate::machine::{MachineBinding, MachineComponent, MachineInfo, SALT_LEN, Strength};
use crate::payload::{Binding, read_components, write_components};
use crate::text::{MAX_REQUEST_TEXT_LEN, check_len};

/// Version byte of the requests this crate writes when they carry a machine key.
pub const REQUEST_VERSION: u8 = 3;

/// Version byte of requests without a machine key (still written and accepted).
pub const REQUEST_VERSION_NO_KEY: u8 = 2;

/// Domain-separation context of the request digest (every version).
pub const REQUEST_CONTEXT: &str = "LicenseDesk/request/v1";

/// Armor label of a request file.
pub const REQUEST_LABEL: &str = "LICENSE DESK LICENSE REQUEST";

/// Longest label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 128;

const DIGEST_LEN: usize = 32;

/// A license request from a customer's machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRequest {
    /// Cluster UUID, if the machine belongs to one (not the nil UUID).
    pub cluster: Option<Uuid>,
    /// What the customer calls this machine ("Rack 3 node A"); travels in clear.
    /// At most [`MAX_LABEL_LEN`] bytes, no control characters; may be empty.
    pub label: String,
    /// Random salt of every fingerprint in this request.
    pub salt: [u8; SALT_LEN],
    /// Salted fingerprints of the strong identifiers found, sorted by name.
    pub strong: Vec<MachineComponent>,
    /// Salted fingerprints of the weak parts found, sorted by name.
    pub weak: Vec<MachineComponent>,
    /// When the request was made, unix seconds (UTC).
    pub created_at: i64,
    /// The machine's own public key (version 3): what its deactivation files are signed
    /// with. `None` in version 2 requests.
    pub machine_key: Option<VerifyingKey>,
}

impl LicenseRequest {
    /// A request describing `machine`, under a fresh random salt.
    pub fn new(machine: &MachineInfo, cluster: Option<Uuid>, created_at: i64) -> Result<Self> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| Error::Rng(e.to_string()))?;
        Ok(Self {
            cluster,
            label: String::new(),
            salt,
            strong: machine.salted(&salt, Strength::Strong),
            weak: machine.salted(&salt, Strength::Weak),
            created_at,
            machine_key: None,
        })
    }

    /// The same request carrying the machine's public key (written as version 3).
    pub fn with_machine_key(mut self, key: VerifyingKey) -> Self {
        self.machine_key = Some(key);
        self
    }

    /// The version byte this request is written with.
    pub fn version(&self) -> u8 {
        if self.machine_key.is_some() {
            REQUEST_VERSION
        } else {
            REQUEST_VERSION_NO_KEY
        }
    }

    /// A request for the machine this runs on ([`MachineInfo::collect`]).
    pub fn for_this_machine(cluster: Option<Uuid>, created_at: i64) -> Result<Self> {
        Self::new(&MachineInfo::collect(), cluster, created_at)
    }

    /// The license binding for this request's cluster and machine.
    ///
    /// `min_strong_matches` is how many strong identifiers must match: `None`
    /// means all of them (the default); a number must be 1 to their count.
    /// Fails with [`Error::Invalid`] when the request has no strong
    /// identifier (such a machine cannot be bound) or the number is out of range.
    pub fn binding(&self, min_strong_matches: Option<u16>) -> Result<Binding> {
        let count = u16::try_from(self.strong.len()).unwrap_or(u16::MAX);
        let min = min_strong_matches.unwrap_or(count);
        let machine = MachineBinding {
            salt: self.salt,
            strong: self.strong.clone(),
            min_strong_matches: min,
            weak: self.weak.clone(),
        };
        if let Some(problem) = machine.problem() {
            return Err(Error::Invalid(problem));
        }
        Ok(Binding {
            cluster: self.cluster,
            machine: Some(machine),
            ..Binding::default()
        })
    }

    /// The first rule this request breaks, if any.
    fn problem(&self) -> Option<String> {
        if self.cluster.is_some_and(|c| c.is_nil()) {
            return Some("cluster must not be the nil UUID".into());
        }
        if self.label.len() > MAX_LABEL_LEN {
            return Some(format!("label is longer than {MAX_LABEL_LEN} bytes"));
        }
        if self.label.chars().any(char::is_control) {
            return Some("label must not contain control characters".into());
        }
        if self.machine_key.is_some_and(|k| k.is_weak()) {
            return Some("machine key must not be a weak (small-order) key".into());
        }
        for (list, strength, what) in [
            (&self.strong, Strength::Strong, "strong identifiers"),
            (&self.weak, Strength::Weak, "weak parts"),
        ] {
            if !list.windows(2).all(|w| w[0].name < w[1].name)
                || list.iter().any(|c| Strength::of(&c.name) != Some(strength))
            {
                return Some(format!("{what} must have known names, strictly ascending"));
            }
        }
        None
    }

    /// Canonical body bytes (without the digest); [`Error::Invalid`] for a broken rule.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if let Some(problem) = self.problem() {
            return Err(Error::Invalid(problem));
        }
        let mut w = Writer::new();
        w.u8(self.version());
        match self.cluster {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.fixed(c.as_bytes());
            }
        }
        w.str("label", &self.label)?;
        w.fixed(&self.salt);
        write_components(&mut w, "strong identifiers", &self.strong)?;
        write_components(&mut w, "weak parts", &self.weak)?;
        w.i64(self.created_at);
        if let Some(key) = &self.machine_key {
            w.fixed(key.as_bytes());
        }
        Ok(w.into_bytes())
    }

    /// Parses canonical body bytes; a version 1 body is [`Error::OutdatedRequest`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("request version")?;
        if version == 1 {
            return Err(Error::OutdatedRequest { version });
        }
        if version != REQUEST_VERSION && version != REQUEST_VERSION_NO_KEY {
            return Err(malformed(format!("unsupported request version {version}")));
        }
        let cluster = if r.tag("cluster")? {
            Some(Uuid::from_bytes(r.array("cluster")?))
        } else {
            None
        };
        let label = r.str("label")?;
        let salt = r.array("salt")?;
        let strong = read_components(&mut r, "strong identifiers")?;
        let weak = read_components(&mut r, "weak parts")?;
        let created_at = r.i64("created at")?;
        let machine_key = if version == REQUEST_VERSION {
            let bytes: [u8; 32] = r.array("machine key")?;
            Some(
                VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| malformed("machine key is not a valid Ed25519 public key"))?,
            )
        } else {
            None
        };
        r.finish()?;
        let request = Self {
            cluster,
            label,
            salt,
            strong,
            weak,
            created_at,
            machine_key,
        };
        if let Some(problem) = request.problem() {
            return Err(malformed(problem));
        }
        Ok(request)
    }

    /// The armored request file: body followed by its 32-byte digest.
    pub fn to_file(&self) -> Result<String> {
        let mut bytes = self.encode()?;
        let digest = digest(&bytes);
        bytes.extend_from_slice(&digest);
        let text = armor::encode(REQUEST_LABEL, &bytes);
        check_len(&text, MAX_REQUEST_TEXT_LEN, "request file").map_err(|_| {
            Error::Invalid(format!("request file over {MAX_REQUEST_TEXT_LEN} bytes"))
        })?;
        Ok(text)
    }

    /// Parses a request file.
    ///
    /// Over [`MAX_REQUEST_TEXT_LEN`] bytes, bad armor or a broken rule is
    /// [`Error::Malformed`]; a digest mismatch is [`Error::BadChecksum`]; a
    /// request from an older release is [`Error::OutdatedRequest`].
    pub fn parse(text: &str) -> Result<Self> {
        check_len(text, MAX_REQUEST_TEXT_LEN, "request file")?;
        let bytes = armor::decode(REQUEST_LABEL, text)?;
        if bytes.len() < DIGEST_LEN {
            return Err(malformed("request too short"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - DIGEST_LEN);
        if sum != digest(body) {
            return Err(Error::BadChecksum);
        }
        Self::decode(body)
    }
}

fn digest(body: &[u8]) -> [u8; DIGEST_LEN] {
    Sha256::digest(with_context(REQUEST_CONTEXT, body)).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn machine() -> MachineInfo {
        MachineInfo::from_values([
            ("machine-id", "4a1f0c3e9b7d4e2a8c6f1b3d5e7a9c0f"),
            ("hostname", "array-01"),
            ("cpu", "AMD EPYC 7302 16-Core Processor"),
        ])
        .unwrap()
    }

    #[test]
    fn round_trip_and_digest() {
        let mut req =
            LicenseRequest::new(&machine(), Some(Uuid::from_bytes([3; 16])), 1_700_000_000)
                .unwrap();
        req.label = "Rack 3 node A".into();
        let text = req.to_file().unwrap();
        assert!(text.starts_with("-----BEGIN LICENSE DESK LICENSE REQUEST-----\n"));
        assert_eq!(LicenseRequest::parse(&text).unwrap(), req);
        let other = LicenseRequest::new(&machine(), None, 1_700_000_000).unwrap();
        assert_ne!(other.salt, req.salt);
        assert_ne!(other.strong, req.strong, "salted per request");

        // Damage the body in a way that keeps base64 valid: the digest catches it.
        let mut bytes = armor::decode(REQUEST_LABEL, &text).unwrap();
        bytes[3] ^= 1;
        let damaged = armor::encode(REQUEST_LABEL, &bytes);
        assert_eq!(LicenseRequest::parse(&damaged), Err(Error::BadChecksum));
    }

    /// The request holds no raw value: not the host name, not the machine-id, not the CPU.
    #[test]
    fn no_raw_values_travel() {
        let mut req = LicenseRequest::new(&machine(), None, 1).unwrap();
        req.label = "Rack 3".into();
        let body = req.encode().unwrap();
        for raw in ["array-01", "4a1f0c3e", "EPYC"] {
            assert!(
                !body.windows(raw.len()).any(|w| w == raw.as_bytes()),
                "{raw} in the request"
            );
        }
        assert!(
            body.windows(6).any(|w| w == b"Rack 3"),
            "the label does travel"
        );
    }

    #[test]
    fn binding_from_a_request() {
        let req = LicenseRequest::new(&machine(), Some(Uuid::from_bytes([3; 16])), 1).unwrap();
        let binding = req.binding(None).unwrap();
        assert_eq!(binding.cluster, req.cluster);
        let m = binding.machine.unwrap();
        assert_eq!((m.salt, m.min_strong_matches), (req.salt, 1));
        assert_eq!(m.strong, req.strong);
        assert_eq!(m.weak, req.weak);
        assert!(req.binding(Some(2)).is_err());
        assert!(req.binding(Some(0)).is_err());
        let weak_only = LicenseRequest::new(
            &MachineInfo::from_values([("hostname", "h")]).unwrap(),
            None,
            1,
        )
        .unwrap();
        assert!(matches!(weak_only.binding(None), Err(Error::Invalid(_))));
    }

    #[test]
    fn version_3_carries_the_machine_key() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key();
        let req = LicenseRequest::new(&machine(), None, 1).unwrap();
        let v2 = req.encode().unwrap();
        assert_eq!(v2[0], REQUEST_VERSION_NO_KEY);
        let v3 = req.clone().with_machine_key(key);
        let body = v3.encode().unwrap();
        assert_eq!(body[0], REQUEST_VERSION);
        assert_eq!(body.len(), v2.len() + 32);
        assert_eq!(&body[body.len() - 32..], key.as_bytes());
        let parsed = LicenseRequest::parse(&v3.to_file().unwrap()).unwrap();
        assert_eq!(parsed.machine_key, Some(key));
        assert_eq!(LicenseRequest::decode(&v2).unwrap().machine_key, None);
        // A version 3 body without its key, or a version 2 body with one, is malformed.
        let mut short = body.clone();
        short.truncate(body.len() - 32);
        short[0] = REQUEST_VERSION;
        assert!(matches!(
            LicenseRequest::decode(&short),
            Err(Error::Malformed(_))
        ));
        let mut long = body.clone();
        long[0] = REQUEST_VERSION_NO_KEY;
        assert!(matches!(
            LicenseRequest::decode(&long),
            Err(Error::Malformed(_))
        ));
        // A small-order point is refused.
        let mut weak = body;
        let n = weak.len();
        weak[n - 32..].copy_from_slice(&[0; 32]);
        weak[n - 32] = 1;
        assert!(LicenseRequest::decode(&weak).is_err());
    }

    #[test]
    fn rules_and_old_versions() {
        let base = LicenseRequest::new(&machine(), None, 1).unwrap();
        let mut bad_label = base.clone();
        bad_label.label = "a\u{1b}[31m".into();
        assert!(matches!(bad_label.encode(), Err(Error::Invalid(_))));
        let mut long = base.clone();
        long.label = "x".repeat(MAX_LABEL_LEN);
        assert!(long.encode().is_ok(), "{MAX_LABEL_LEN} bytes is the most");
        long.label.push('x');
        assert!(long.encode().is_err());
        let mut promoted = base.clone();
        promoted.strong.push(promoted.weak[1].clone());
        promoted.weak.pop();
        assert!(
            promoted.encode().is_err(),
            "hostname is not a strong identifier"
        );
        let mut nil = base.clone();
        nil.cluster = Some(Uuid::nil());
        assert!(nil.encode().is_err());
        let mut body = base.encode().unwrap();
        body[0] = 1;
        assert_eq!(
            LicenseRequest::decode(&body),
            Err(Error::OutdatedRequest { version: 1 })
        );
        body[0] = 4;
        assert!(matches!(
            LicenseRequest::decode(&body),
            Err(Error::Malformed(_))
        ));
        assert!(LicenseRequest::parse(&"A".repeat(MAX_REQUEST_TEXT_LEN + 1)).is_err());
        let mut twice = base.clone();
        twice.strong.push(twice.strong[0].clone());
        assert!(twice.encode().is_err(), "a name appears once");
        // Shorter than a digest; exactly a digest (of nothing, or wrong).
        let short = armor::encode(REQUEST_LABEL, &[7; 10]);
        assert!(matches!(
            LicenseRequest::parse(&short),
            Err(Error::Malformed(_))
        ));
        let wrong = armor::encode(REQUEST_LABEL, &[7; DIGEST_LEN]);
        assert_eq!(LicenseRequest::parse(&wrong), Err(Error::BadChecksum));
        let empty = armor::encode(REQUEST_LABEL, &digest(&[]));
        assert!(matches!(
            LicenseRequest::parse(&empty),
            Err(Error::Malformed(_))
        ));
    }
}
