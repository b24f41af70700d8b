//! Key ids, the ring of trusted public keys, key generation and public key
//! export/import.
//!
//! Every signed artifact names its key by [`KeyId`] inside the signed bytes,
//! so the product can trust several keys at once and keys can rotate without
//! breaking licenses already issued.
//!
//! A public key has one accepted text: its 32 bytes must be the canonical
//! encoding of the curve point (a `y` coordinate at or above the field prime
//! decodes to the same point as a smaller one, and would give the same key a
//! second key id), and a bare base64 key is exactly 44 characters.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, HEXLOWER, HEXLOWER_PERMISSIVE};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::armor;
use crate::error::{Error, Result, malformed};
use crate::text::{MAX_PUBLIC_KEY_TEXT_LEN, check_len};

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
///
/// A key id names exactly one key: inserting a second, different key whose
/// id collides with one already trusted fails with [`Error::DuplicateKeyId`]
/// (which key signed an artifact must never depend on insertion order).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (builder style); fails like [`Self::insert`].
    pub fn with(mut self, key: VerifyingKey) -> Result<Self> {
        self.insert(key)?;
        Ok(self)
    }

    /// Adds a key and returns its key id. Adding the same key again is a no-op.
    ///
    /// Fails with [`Error::DuplicateKeyId`] when another key with the same id
    /// is already trusted, and with [`Error::Invalid`] for a weak (small-order)
    /// key or one whose bytes are not the canonical encoding of its point.
    pub fn insert(&mut self, key: VerifyingKey) -> Result<KeyId> {
        check_key(&key).map_err(Error::Invalid)?;
        let id = KeyId::of(&key);
        match self.keys.get(&id) {
            Some(existing) if existing != &key => Err(Error::DuplicateKeyId(id)),
            Some(_) => Ok(id),
            None => {
                self.keys.insert(id, key);
                Ok(id)
            }
        }
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

/// Why a key may not be trusted: small order, or bytes that are not the canonical point encoding.
fn check_key(key: &VerifyingKey) -> std::result::Result<(), String> {
    if key.is_weak() {
        return Err("public key: weak (small-order) key".into());
    }
    // Decompressing accepts y >= p (and x = 0 with the sign bit set); compressing
    // the point again gives the one canonical encoding, which must be the input.
    if key.to_edwards().compress().to_bytes() != key.to_bytes() {
        return Err("public key: not the canonical encoding of its point".into());
    }
    Ok(())
}

fn key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| malformed("public key: not 32 bytes"))?;
    let key =
        VerifyingKey::from_bytes(&arr).map_err(|_| malformed("public key: not a curve point"))?;
    check_key(&key).map_err(Error::Malformed)?;
    Ok(key)
}

/// Length of the bare base64 form of a public key.
pub const PUBLIC_KEY_BASE64_LEN: usize = 44;

/// Parses a public key from base64 (as [`public_key_base64`]) or PEM (as [`public_key_pem`]).
///
/// Surrounding whitespace (space, tab, CR, LF) is ignored; nothing else is.
/// Base64 must be exactly 44 canonical characters. Keys that are not curve
/// points, are of small order or are not canonically encoded are
/// [`Error::Malformed`], as is text over [`MAX_PUBLIC_KEY_TEXT_LEN`] bytes.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    check_len(text, MAX_PUBLIC_KEY_TEXT_LEN, "public key")?;
    if armor::has_label("PUBLIC KEY", text) {
        let der = armor::decode("PUBLIC KEY", text)?;
        let raw = der
            .strip_prefix(&SPKI_ED25519_PREFIX[..])
            .ok_or_else(|| malformed("public key: not an Ed25519 SubjectPublicKeyInfo"))?;
        key_from_bytes(raw)
    } else {
        let b64 = text.trim_matches(armor::is_outer_space);
        if b64.len() != PUBLIC_KEY_BASE64_LEN {
            return Err(malformed(format!(
                "public key: base64 must be {PUBLIC_KEY_BASE64_LEN} characters, not {}",
                b64.len()
            )));
        }
        key_from_bytes(&armor::decode_base64(b64, "public key")?)
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
        let mut ring = KeyRing::new().with(k).unwrap();
        assert_eq!(ring.get(&id), Some(&k));
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![id]);
        assert_eq!(ring.insert(k), Ok(id), "the same key again is fine");
        let generated = generate_signing_key().unwrap();
        assert_ne!(generated.to_bytes(), [0u8; 32]);
    }

    /// A bare base64 key is exactly 44 canonical characters; glued padded
    /// pieces decode with a lenient decoder but are refused here.
    #[test]
    fn base64_key_has_one_text() {
        let k = key();
        let b64 = public_key_base64(&k);
        assert_eq!(b64.len(), PUBLIC_KEY_BASE64_LEN);
        assert_eq!(parse_public_key(&format!(" {b64}\r\n")).unwrap(), k);
        let glued: String = k.as_bytes().iter().map(|b| BASE64.encode(&[*b])).collect();
        assert_eq!(BASE64.decode(glued.as_bytes()).unwrap(), k.as_bytes());
        assert!(matches!(parse_public_key(&glued), Err(Error::Malformed(_))));
        let split = format!(
            "{}{}",
            BASE64.encode(&k.as_bytes()[..31]),
            BASE64.encode(&k.as_bytes()[31..])
        );
        assert!(matches!(parse_public_key(&split), Err(Error::Malformed(_))));
        // Non-zero unused bits in the last character.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut last = b64.clone().into_bytes();
        let value = ALPHABET.iter().position(|&c| c == last[42]).unwrap();
        last[42] = ALPHABET[value ^ 1];
        let changed = String::from_utf8(last).unwrap();
        assert!(parse_public_key(&changed).is_err());
        assert!(parse_public_key(&format!("{b64}\u{0}")).is_err());
        let pem = public_key_pem(&k);
        let body: String = pem.lines().nth(1).unwrap().to_owned();
        let der = BASE64.decode(body.as_bytes()).unwrap();
        let glued_pem: String = der.iter().map(|b| BASE64.encode(&[*b])).collect();
        let lines: Vec<&str> = glued_pem
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let rewritten = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        );
        assert!(matches!(
            parse_public_key(&rewritten),
            Err(Error::Malformed(_))
        ));
        assert!(parse_public_key(&"A".repeat(MAX_PUBLIC_KEY_TEXT_LEN + 1)).is_err());
    }

    /// y >= p decodes to the same point as y - p: such keys are refused at import and in a ring.
    #[test]
    fn non_canonical_keys_are_refused() {
        // p = 2^255 - 19, little-endian.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut found = 0;
        for k in 0u8..19 {
            let mut y = p;
            y[0] += k;
            let Ok(key) = VerifyingKey::from_bytes(&y) else {
                continue;
            };
            let mut canonical = [0u8; 32];
            canonical[0] = k;
            assert_eq!(key.to_edwards().compress().to_bytes(), canonical);
            assert!(matches!(
                parse_public_key(&BASE64.encode(&y)),
                Err(Error::Malformed(_))
            ));
            assert!(KeyRing::new().with(key).is_err());
            if !key.is_weak() {
                found += 1;
                assert!(matches!(
                    KeyRing::new().insert(key),
                    Err(Error::Invalid(m)) if m.contains("canonical")
                ));
            }
        }
        assert!(found > 0, "some y = p + k is a non-weak point");
    }

    /// Two different keys with one key id cannot both be trusted.
    #[test]
    fn colliding_key_ids_are_refused() {
        // Real collisions need 2^32 work; plant one by filling the map directly.
        let a = key();
        let b = SigningKey::from_bytes(&[2u8; 32]).verifying_key();
        let mut ring = KeyRing::new();
        ring.keys.insert(KeyId::of(&b), a);
        assert_eq!(ring.insert(b), Err(Error::DuplicateKeyId(KeyId::of(&b))));
        assert_eq!(ring.get(&KeyId::of(&b)), Some(&a), "the first key stays");
    }
}
