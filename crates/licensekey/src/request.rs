//! License request files: what a customer's machine sends so the desk can
//! issue a license bound to it.
//!
//! The request is not signed (the customer has no key we trust); a SHA-256
//! digest over it catches damage in transit, and a random nonce makes every
//! request distinct so the desk can spot duplicates.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::armor;
use crate::encoding::{Reader, Writer, with_context};
use crate::error::{Error, Result, malformed};
use crate::machine::{Fingerprint, MachineComponent, MachineInfo};
use crate::payload::Binding;

/// Version byte of a request body.
pub const REQUEST_VERSION: u8 = 1;

/// Domain-separation context of the request digest.
pub const REQUEST_CONTEXT: &str = "LicenseDesk/request/v1";

/// Armor label of a request file.
pub const REQUEST_LABEL: &str = "LICENSE DESK LICENSE REQUEST";

const DIGEST_LEN: usize = 32;

/// A license request from a customer's machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRequest {
    /// Cluster UUID, if the machine belongs to one.
    pub cluster: Option<Uuid>,
    /// Host name as reported by the machine.
    pub hostname: String,
    /// Operating system (`std::env::consts::OS`).
    pub os: String,
    /// CPU architecture (`std::env::consts::ARCH`).
    pub arch: String,
    /// Component fingerprints, sorted by name, names unique.
    pub components: Vec<MachineComponent>,
    /// 16 random bytes.
    pub nonce: [u8; 16],
    /// When the request was made, unix seconds (UTC).
    pub created_at: i64,
}

impl LicenseRequest {
    /// A request describing `machine`, with a fresh random nonce.
    pub fn new(machine: MachineInfo, cluster: Option<Uuid>, created_at: i64) -> Result<Self> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| Error::Rng(e.to_string()))?;
        let mut components = machine.components;
        components.sort();
        Ok(Self {
            cluster,
            hostname: machine.hostname,
            os: machine.os,
            arch: machine.arch,
            components,
            nonce,
            created_at,
        })
    }

    /// A request for the machine this runs on ([`MachineInfo::collect`]).
    pub fn for_this_machine(cluster: Option<Uuid>, created_at: i64) -> Result<Self> {
        Self::new(MachineInfo::collect(), cluster, created_at)
    }

    /// The component fingerprints.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.components.iter().map(|c| c.fingerprint).collect()
    }

    /// A license binding for this machine requiring `min_matches` of its fingerprints
    /// (clamped to 1..=count; 0 when the request has none).
    pub fn binding(&self, min_matches: u16) -> Binding {
        let mut fingerprints = self.fingerprints();
        fingerprints.sort();
        fingerprints.dedup();
        let count = u16::try_from(fingerprints.len()).unwrap_or(u16::MAX);
        Binding {
            cluster: self.cluster,
            ip: None,
            fingerprints,
            min_fingerprint_matches: min_matches.clamp(count.min(1), count),
        }
    }

    /// Canonical body bytes (without the digest).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if !self.components.windows(2).all(|w| w[0].name < w[1].name) {
            return Err(Error::Invalid(
                "component names must be sorted and unique".into(),
            ));
        }
        let mut w = Writer::new();
        w.u8(REQUEST_VERSION);
        match self.cluster {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.fixed(c.as_bytes());
            }
        }
        w.str("hostname", &self.hostname)?;
        w.str("os", &self.os)?;
        w.str("arch", &self.arch)?;
        w.count("components", self.components.len())?;
        for c in &self.components {
            w.str("component name", &c.name)?;
            w.fixed(&c.fingerprint.0);
        }
        w.fixed(&self.nonce);
        w.i64(self.created_at);
        Ok(w.into_bytes())
    }

    /// Parses canonical body bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("request version")?;
        if version != REQUEST_VERSION {
            return Err(malformed(format!("unsupported request version {version}")));
        }
        let cluster = if r.tag("cluster")? {
            Some(Uuid::from_bytes(r.array("cluster")?))
        } else {
            None
        };
        let hostname = r.str("hostname")?;
        let os = r.str("os")?;
        let arch = r.str("arch")?;
        let count = r.u16("components")?;
        let mut components = Vec::new();
        for _ in 0..count {
            let name = r.str("component name")?;
            let fingerprint = Fingerprint(r.array("component fingerprint")?);
            components.push(MachineComponent { name, fingerprint });
        }
        if !components.windows(2).all(|w| w[0].name < w[1].name) {
            return Err(malformed("component names: not strictly ascending"));
        }
        let nonce = r.array("nonce")?;
        let created_at = r.i64("created at")?;
        r.finish()?;
        Ok(Self {
            cluster,
            hostname,
            os,
            arch,
            components,
            nonce,
            created_at,
        })
    }

    /// The armored request file: body followed by its 32-byte digest.
    pub fn to_file(&self) -> Result<String> {
        let mut bytes = self.encode()?;
        let digest = digest(&bytes);
        bytes.extend_from_slice(&digest);
        Ok(armor::encode(REQUEST_LABEL, &bytes))
    }

    /// Parses a request file; a digest mismatch is [`Error::BadChecksum`].
    pub fn parse(text: &str) -> Result<Self> {
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

    #[test]
    fn round_trip_and_digest() {
        let req = LicenseRequest::for_this_machine(Some(Uuid::from_bytes([3; 16])), 1_700_000_000)
            .unwrap();
        let text = req.to_file().unwrap();
        assert!(text.starts_with("-----BEGIN LICENSE DESK LICENSE REQUEST-----\n"));
        assert_eq!(LicenseRequest::parse(&text).unwrap(), req);
        let other = LicenseRequest::for_this_machine(None, 1_700_000_000).unwrap();
        assert_ne!(other.nonce, req.nonce);

        // Damage the body in a way that keeps base64 valid: the digest catches it.
        let mut bytes = armor::decode(REQUEST_LABEL, &text).unwrap();
        bytes[3] ^= 1;
        let damaged = armor::encode(REQUEST_LABEL, &bytes);
        assert_eq!(LicenseRequest::parse(&damaged), Err(Error::BadChecksum));

        let binding = req.binding(2);
        assert_eq!(binding.cluster, req.cluster);
        assert_eq!(
            usize::from(binding.min_fingerprint_matches),
            2.min(req.components.len())
        );
    }
}
