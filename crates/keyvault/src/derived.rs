//! Small secrets kept encrypted under an unlocked signing key (an administrator password of
//! the licensed software, stored by the desk): readable only while that key is unlocked.
//!
//! The AEAD key is derived from the signing key's 32-byte seed with HKDF-SHA256 (RFC 5869;
//! salt `"LicenseDesk/keyvault/derive/v1"`, info = the purpose string), so each purpose gets
//! its own key and the signing key itself is never used for encryption. The secret is sealed
//! with XChaCha20-Poly1305 under a fresh random 24-byte nonce; `aad` binds it to what it
//! belongs to (a license id), so a sealed value moved to another row does not open.
//! Sealed bytes are `nonce (24) || ciphertext || tag (16)`.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::VaultError;

const DERIVE_SALT: &[u8] = b"LicenseDesk/keyvault/derive/v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Longest secret accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 1024;

type HmacSha256 = SimpleHmac<Sha256>;

/// HKDF-SHA256 with one output block: the 32-byte key for `purpose`.
fn derive(key: &SigningKey, purpose: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let crypto = |_| VaultError::Crypto("HMAC key".to_owned());
    let mut extract = HmacSha256::new_from_slice(DERIVE_SALT).map_err(crypto)?;
    extract.update(key.as_bytes());
    let mut prk = Zeroizing::new([0u8; 32]);
    prk.copy_from_slice(&extract.finalize().into_bytes());
    let mut expand = HmacSha256::new_from_slice(&prk[..]).map_err(crypto)?;
    expand.update(purpose.as_bytes());
    expand.update(&[1]);
    let mut okm = Zeroizing::new([0u8; 32]);
    okm.copy_from_slice(&expand.finalize().into_bytes());
    Ok(okm)
}

fn cipher(key: &SigningKey, purpose: &str) -> Result<XChaCha20Poly1305, VaultError> {
    let okm = derive(key, purpose)?;
    XChaCha20Poly1305::new_from_slice(&okm[..])
        .map_err(|_| VaultError::Crypto("bad AEAD key length".to_owned()))
}

/// Encrypts `secret` for `purpose` under a key derived from `key`, bound to `aad`.
pub fn seal_secret(
    key: &SigningKey,
    purpose: &str,
    aad: &[u8],
    secret: &[u8],
) -> Result<Vec<u8>, VaultError> {
    if secret.len() > MAX_SECRET_BYTES {
        return Err(VaultError::Crypto(format!(
            "a secret of more than {MAX_SECRET_BYTES} bytes"
        )));
    }
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| VaultError::Crypto(format!("random: {e}")))?;
    let mut buf = Zeroizing::new(secret.to_vec());
    let tag = cipher(key, purpose)?
        .encrypt_inout_detached(&XNonce::from(nonce), aad, (&mut buf[..]).into())
        .map_err(|_| VaultError::Crypto("encryption failed".to_owned()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + buf.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts what [`seal_secret`] made with the same key, purpose and `aad`;
/// [`VaultError::WrongPassphrase`] when it does not open (another key, another row, altered).
pub fn open_secret(
    key: &SigningKey,
    purpose: &str,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if sealed.len() < NONCE_LEN + TAG_LEN || sealed.len() > NONCE_LEN + MAX_SECRET_BYTES + TAG_LEN {
        return Err(VaultError::Malformed(
            "sealed secret of a wrong length".to_owned(),
        ));
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| VaultError::Malformed("nonce".to_owned()))?;
    let tag: [u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| VaultError::Malformed("tag".to_owned()))?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher(key, purpose)?
        .decrypt_inout_detached(
            &XNonce::from(nonce),
            aad,
            (&mut buf[..]).into(),
            &Tag::from(tag),
        )
        .map_err(|_| VaultError::WrongPassphrase)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc5869_test_case_1_shape() {
        // HKDF-SHA256 per RFC 5869 A.1 (IKM 22 x 0x0b, salt 0x00..0x0c, info 0xf0..0xf9, L = 32):
        // our derive() is the same construction with our salt, checked here with theirs.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let mut extract = HmacSha256::new_from_slice(&salt).unwrap();
        extract.update(&ikm);
        let prk = extract.finalize().into_bytes();
        let mut expand = HmacSha256::new_from_slice(&prk).unwrap();
        expand.update(&info);
        expand.update(&[1]);
        let okm = expand.finalize().into_bytes();
        assert_eq!(
            okm[..]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_purpose_and_row() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let sealed = seal_secret(&key, "admin-password", b"row-1", b"hunter2 hunter2").unwrap();
        assert_eq!(sealed.len(), 24 + 15 + 16);
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            &open_secret(&key, "admin-password", b"row-1", &sealed).unwrap()[..],
            b"hunter2 hunter2"
        );
        for (k, purpose, aad) in [
            (&other, "admin-password", &b"row-1"[..]),
            (&key, "something-else", &b"row-1"[..]),
            (&key, "admin-password", &b"row-2"[..]),
        ] {
            assert_eq!(
                open_secret(k, purpose, aad, &sealed),
                Err(VaultError::WrongPassphrase)
            );
        }
        let mut altered = sealed.clone();
        altered[30] ^= 1;
        assert!(open_secret(&key, "admin-password", b"row-1", &altered).is_err());
        assert_ne!(
            seal_secret(&key, "admin-password", b"row-1", b"x").unwrap(),
            seal_secret(&key, "admin-password", b"row-1", b"x").unwrap(),
            "a fresh nonce each time"
        );
        assert!(open_secret(&key, "admin-password", b"row-1", &[0; 10]).is_err());
    }
}
