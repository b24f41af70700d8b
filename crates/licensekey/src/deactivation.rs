//! Deactivation files: a customer's machine's signed statement that it removed a license.
//!
//! A license issued from a version 3 request is tied to the key pair that
//! request's machine made (the request carried the public key; the private
//! key never left the machine). When the license is removed there, the
//! machine signs a deactivation file with that key; the desk checks it
//! against the public key it recorded and frees the seat.
//!
//! Each file has a random id (its nonce) and the time it was made; the desk
//! remembers the ids it has applied, so the same file (or a copy) cannot be
//! applied twice. The file names the license and the SHA-256 of its signed
//! bytes, so it cannot be moved to another license, not even one with the
//! same id. It is signed like every other artifact: Ed25519 over
//! `u8 len(context) || context || body`, with its own context string, so no
//! other signature verifies as a deactivation.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::armor;
use crate::encoding::{Reader, Writer, with_context};
use crate::error::{Error, Result, malformed};
use crate::license::SignedLicense;
use crate::signature::SIGNATURE_LEN;
use crate::text::check_len;

/// Version byte of the deactivation bodies this crate writes and accepts.
pub const DEACTIVATION_VERSION: u8 = 1;

/// Domain-separation context of deactivation signatures.
pub const DEACTIVATION_CONTEXT: &str = "LicenseDesk/deactivation/v1";

/// Armor label of a deactivation file.
pub const DEACTIVATION_LABEL: &str = "LICENSE DESK DEACTIVATION";

/// Largest deactivation file accepted, in bytes (surrounding whitespace included).
pub const MAX_DEACTIVATION_TEXT_LEN: usize = 4_096;

/// Bytes of a body: version, id, license id, license digest, machine key, time.
const BODY_LEN: usize = 1 + 16 + 16 + 32 + 32 + 8;

/// What a deactivation file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivation {
    /// Random id of this deactivation (never the nil UUID): the desk refuses an id it has
    /// applied before.
    pub id: Uuid,
    /// The license removed.
    pub license_id: Uuid,
    /// SHA-256 of the removed license's signed bytes (`payload || signature`).
    pub license_digest: [u8; 32],
    /// The machine's public key, from its license request; it signs the file.
    pub machine_key: VerifyingKey,
    /// When the machine made the file, unix seconds (UTC), as its clock said.
    pub deactivated_at: i64,
}

/// SHA-256 of a signed license's bytes, as a deactivation names it.
pub fn license_digest(license: &SignedLicense) -> [u8; 32] {
    Sha256::digest(license.to_bytes()).into()
}

impl Deactivation {
    /// A deactivation of `license` by the machine whose public key is `machine_key`,
    /// with a fresh random id.
    pub fn new(license: &SignedLicense, machine_key: VerifyingKey, at: i64) -> Result<Self> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::Rng(e.to_string()))?;
        // A random (version 4) UUID, so the id is never nil.
        let id = uuid::Builder::from_random_bytes(id).into_uuid();
        Ok(Self {
            id,
            license_id: license.payload().license_id,
            license_digest: license_digest(license),
            machine_key,
            deactivated_at: at,
        })
    }

    /// The first rule this deactivation breaks, if any.
    fn problem(&self) -> Option<&'static str> {
        if self.id.is_nil() {
            return Some("deactivation id must not be the nil UUID");
        }
        if self.license_id.is_nil() {
            return Some("license id must not be the nil UUID");
        }
        if self.machine_key.is_weak() {
            return Some("machine key must not be a weak (small-order) key");
        }
        None
    }

    /// Canonical body bytes (what is signed, after the context string).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if let Some(problem) = self.problem() {
            return Err(Error::Invalid(problem.into()));
        }
        let mut w = Writer::new();
        w.u8(DEACTIVATION_VERSION);
        w.fixed(self.id.as_bytes());
        w.fixed(self.license_id.as_bytes());
        w.fixed(&self.license_digest);
        w.fixed(self.machine_key.as_bytes());
        w.i64(self.deactivated_at);
        Ok(w.into_bytes())
    }

    /// Parses canonical body bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("deactivation version")?;
        if version != DEACTIVATION_VERSION {
            return Err(malformed(format!(
                "unsupported deactivation version {version}"
            )));
        }
        let id = Uuid::from_bytes(r.array("deactivation id")?);
        let license_id = Uuid::from_bytes(r.array("license id")?);
        let license_digest = r.array("license digest")?;
        let key: [u8; 32] = r.array("machine key")?;
        let machine_key = VerifyingKey::from_bytes(&key)
            .map_err(|_| malformed("machine key is not a valid Ed25519 public key"))?;
        let deactivated_at = r.i64("deactivated at")?;
        r.finish()?;
        let d = Self {
            id,
            license_id,
            license_digest,
            machine_key,
            deactivated_at,
        };
        if let Some(problem) = d.problem() {
            return Err(malformed(problem));
        }
        Ok(d)
    }

    /// Fails with [`Error::OtherLicense`] unless this deactivation names exactly `license`
    /// (its id and its signed bytes).
    pub fn check_license(&self, license: &SignedLicense) -> Result<()> {
        if self.license_id != license.payload().license_id {
            return Err(Error::OtherLicense(format!(
                "it deactivates license {}, not {}",
                self.license_id,
                license.payload().license_id
            )));
        }
        if self.license_digest != license_digest(license) {
            return Err(Error::OtherLicense(format!(
                "it names license {} but another copy of it (the signed bytes differ)",
                self.license_id
            )));
        }
        Ok(())
    }
}

/// A deactivation with the machine's signature.
///
/// Values from [`SignedDeactivation::parse`] are *not* verified yet: call
/// [`SignedDeactivation::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDeactivation {
    deactivation: Deactivation,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl SignedDeactivation {
    /// Signs `deactivation` with the machine's private key; its `machine_key` must be that
    /// key's public half.
    pub fn sign(deactivation: Deactivation, machine: &SigningKey) -> Result<Self> {
        if deactivation.machine_key != machine.verifying_key() {
            return Err(Error::Invalid(
                "the deactivation names another machine key than the one signing it".into(),
            ));
        }
        let body = deactivation.encode()?;
        let signature = machine
            .sign(&with_context(DEACTIVATION_CONTEXT, &body))
            .to_bytes();
        Ok(Self {
            deactivation,
            body,
            signature,
        })
    }

    /// What the file says (not verified unless [`Self::verify`] succeeded).
    pub fn deactivation(&self) -> &Deactivation {
        &self.deactivation
    }

    /// `body || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body.clone();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses `body || signature` (signature not checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != BODY_LEN + SIGNATURE_LEN {
            return Err(malformed(format!(
                "a deactivation is {} bytes, not {}",
                BODY_LEN + SIGNATURE_LEN,
                bytes.len()
            )));
        }
        let (body, sig) = bytes.split_at(BODY_LEN);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        Ok(Self {
            deactivation: Deactivation::decode(body)?,
            body: body.to_vec(),
            signature,
        })
    }

    /// The armored deactivation file (LF line ends, ends with a newline).
    pub fn to_file(&self) -> String {
        armor::encode(DEACTIVATION_LABEL, &self.to_bytes())
    }

    /// Parses a deactivation file (signature not checked): over
    /// [`MAX_DEACTIVATION_TEXT_LEN`] bytes, bad armor or a body not as specified is
    /// [`Error::Malformed`].
    pub fn parse(text: &str) -> Result<Self> {
        check_len(text, MAX_DEACTIVATION_TEXT_LEN, "deactivation file")?;
        Self::from_bytes(&armor::decode(DEACTIVATION_LABEL, text)?)
    }

    /// Checks the signature with the machine key the file names ([`Error::BadSignature`]
    /// when it does not verify). Whether that key belongs to the license is for the desk to
    /// check against what it recorded from the request.
    pub fn verify(&self) -> Result<&Deactivation> {
        self.deactivation
            .machine_key
            .verify_strict(
                &with_context(DEACTIVATION_CONTEXT, &self.body),
                &Signature::from_bytes(&self.signature),
            )
            .map_err(|_| Error::BadSignature)?;
        Ok(&self.deactivation)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{LicenseKind, LicensePayload};

    fn license(id: u8) -> SignedLicense {
        let mut p = LicensePayload::new(
            Uuid::from_bytes([id; 16]),
            "Storage",
            LicenseKind::Pro,
            "ACME",
            1_700_000_000,
        );
        p.expires_at = Some(1_800_000_000);
        SignedLicense::sign(p, &SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    #[test]
    fn round_trip_and_signature() {
        let machine = SigningKey::from_bytes(&[9; 32]);
        let lic = license(1);
        let d = Deactivation::new(&lic, machine.verifying_key(), 1_750_000_000).unwrap();
        assert_eq!(d.id.get_version_num(), 4);
        let signed = SignedDeactivation::sign(d.clone(), &machine).unwrap();
        let file = signed.to_file();
        assert!(file.starts_with("-----BEGIN LICENSE DESK DEACTIVATION-----\n"));
        let parsed = SignedDeactivation::parse(&file).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.verify().unwrap(), &d);
        d.check_license(&lic).unwrap();
        assert!(matches!(
            d.check_license(&license(2)),
            Err(Error::OtherLicense(_))
        ));

        // Any changed byte fails: in the body the signature, in the signature itself too.
        let bytes = signed.to_bytes();
        for i in [0, 1, 20, 40, 80, 100, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            let outcome =
                SignedDeactivation::from_bytes(&changed).and_then(|s| s.verify().cloned());
            assert!(outcome.is_err(), "byte {i}");
        }
        // Signed by another key than the one it names: forged.
        let other = SigningKey::from_bytes(&[3; 32]);
        let mut forged = d.clone();
        forged.machine_key = other.verifying_key();
        let forged = SignedDeactivation::sign(forged, &other).unwrap();
        let mut bytes = forged.to_bytes();
        bytes[65..97].copy_from_slice(machine.verifying_key().as_bytes());
        let forged = SignedDeactivation::from_bytes(&bytes).unwrap();
        assert_eq!(forged.verify(), Err(Error::BadSignature));
        // The key must be the signer's.
        assert!(SignedDeactivation::sign(d, &other).is_err());
    }

    #[test]
    fn strict_form() {
        let machine = SigningKey::from_bytes(&[9; 32]);
        let d = Deactivation::new(&license(1), machine.verifying_key(), 5).unwrap();
        let signed = SignedDeactivation::sign(d.clone(), &machine).unwrap();
        let bytes = signed.to_bytes();
        assert!(SignedDeactivation::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SignedDeactivation::from_bytes(&longer).is_err());
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(matches!(
            SignedDeactivation::from_bytes(&version),
            Err(Error::Malformed(_))
        ));
        let mut nil = d.clone();
        nil.id = Uuid::nil();
        assert!(nil.encode().is_err());
        assert!(SignedDeactivation::parse(&"A".repeat(MAX_DEACTIVATION_TEXT_LEN + 1)).is_err());
        assert!(
            SignedDeactivation::parse(&armor::encode("LICENSE DESK LICENSE REQUEST", &bytes))
                .is_err()
        );
    }
}
