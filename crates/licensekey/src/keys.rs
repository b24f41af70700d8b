//! Key ids, the ring of trusted public keys, key generation and public key
//! export/import.
//!
//! Every signed artifact names its key by [`KeyId`] inside the signed bytes,
//! so the product can trust several keys at once and keys can rotate without
//! breaking licenses already issued.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, HEXLOWER, HEXLOWER_PERMISSIVE};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::armor;
use crate::error::{Error, Result, malformed};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
pub const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Identifies a signing key: the first 8 bytes of SHA-256 of its 32-byte public key.
///
/// Displayed and parsed as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// The key id of a public key.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&HEXLOWER.encode(&self.0))
    }
}

impl FromStr for KeyId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bytes = HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| malformed("key id: not hex"))?;
        let id: [u8; 8] = bytes
            .try_into()
            .map_err(|_| malformed("key id: not 16 hex digits"))?;
        Ok(Self(id))
    }
}

/// The public keys a verifier trusts, looked up by key id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (builder style).
    #[must_use]
    pub fn with(mut self, key: VerifyingKey) -> Self {
        self.insert(key);
        self
    }

    /// Adds a key; returns its key id.
    pub fn insert(&mut self, key: VerifyingKey) -> KeyId {
        let id = KeyId::of(&key);
        self.keys.insert(id, key);
        id
    }

    /// The key with this id, if trusted.
    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys.get(id)
    }

    /// Ids of all trusted keys, in ascending order.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }
}

/// A new signing key from the operating system's random number generator.
pub fn generate_signing_key() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Rng(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

/// The public key as canonical padded base64 of its 32 bytes (44 characters).
pub fn public_key_base64(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

/// The public key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, RFC 8410), LF line ends.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    let mut der = SPKI_ED25519_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    armor::encode("PUBLIC KEY", &der)
}

/// Rust source to paste into the product: the key bytes and its key id.
pub fn public_key_rust_const(key: &VerifyingKey) -> String {
    let bytes = key
        .as_bytes()
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>();
    let rows = bytes
        .chunks(8)
        .map(|row| format!("    {},\n", row.join(", ")))
        .collect::<String>();
    format!(
        "/// License Desk public key (Ed25519), key id {id}.\n\
         pub const LICENSE_PUBLIC_KEY: [u8; 32] = [\n{rows}];\n\
         /// Key id of [`LICENSE_PUBLIC_KEY`]: first 8 bytes of SHA-256 of the key, hex.\n\
         pub const LICENSE_KEY_ID: &str = \"{id}\";\n",
        id = KeyId::of(key)
    )
}

fn key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| malformed("public key: not 32 bytes"))?;
    let key =
        VerifyingKey::from_bytes(&arr).map_err(|_| malformed("public key: not a curve point"))?;
    if key.is_weak() {
        return Err(malformed("public key: weak (small-order) key"));
    }
    Ok(key)
}

/// Parses a public key from base64 (as [`public_key_base64`]) or PEM (as [`public_key_pem`]).
///
/// Surrounding whitespace is ignored; the base64 must be canonical.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    if armor::has_label("PUBLIC KEY", text) {
        let der = armor::decode("PUBLIC KEY", text)?;
        let raw = der
            .strip_prefix(&SPKI_ED25519_PREFIX[..])
            .ok_or_else(|| malformed("public key: not an Ed25519 SubjectPublicKeyInfo"))?;
        key_from_bytes(raw)
    } else {
        let bytes = BASE64
            .decode(text.trim_matches(armor::is_outer_space).as_bytes())
            .map_err(|e| malformed(format!("public key: base64: {e}")))?;
        key_from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> VerifyingKey {
        SigningKey::from_bytes(&[1u8; 32]).verifying_key()
    }

    #[test]
    fn export_and_parse_back() {
        let k = key();
        assert_eq!(parse_public_key(&public_key_base64(&k)).unwrap(), k);
        let pem = public_key_pem(&k);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
        assert_eq!(parse_public_key(&pem).unwrap(), k);
        let rust = public_key_rust_const(&k);
        assert!(rust.contains("pub const LICENSE_PUBLIC_KEY: [u8; 32] = ["));
        assert!(rust.contains(&KeyId::of(&k).to_string()));
        assert!(parse_public_key("AAAA").is_err());
        assert!(
            parse_public_key(&BASE64.encode(&[0u8; 32])).is_err(),
            "weak key"
        );
    }

    #[test]
    fn key_id_text_and_ring() {
        let k = key();
        let id = KeyId::of(&k);
        assert_eq!(id.to_string().len(), 16);
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
        let ring = KeyRing::new().with(k);
        assert_eq!(ring.get(&id), Some(&k));
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![id]);
        let generated = generate_signing_key().unwrap();
        assert_ne!(generated.to_bytes(), [0u8; 32]);
    }
}
