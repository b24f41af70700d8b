//! Signing and checking the bytes of any signed artifact.
//!
//! Every signed artifact is `body || signature` where the body starts with a
//! version byte and the 8-byte key id, and the signature is Ed25519 over
//! `u8 len(context) || context || body`. The context string differs per
//! artifact type, so a signature on one kind of artifact never verifies as
//! another.

use ed25519_dalek::{Signature, Signer, SigningKey};

use crate::encoding::with_context;
use crate::error::{Error, Result, malformed};
use crate::keys::{KeyId, KeyRing};

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Signs `body` under `context`.
pub(crate) fn sign(context: &str, body: &[u8], key: &SigningKey) -> [u8; SIGNATURE_LEN] {
    key.sign(&with_context(context, body)).to_bytes()
}

/// Splits `body || signature`; the body must hold at least the version byte and key id.
pub(crate) fn split(blob: &[u8]) -> Result<(&[u8], [u8; SIGNATURE_LEN])> {
    if blob.len() < 9 + SIGNATURE_LEN {
        return Err(malformed("too short for body and signature"));
    }
    let (body, sig) = blob.split_at(blob.len() - SIGNATURE_LEN);
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(sig);
    Ok((body, signature))
}

/// Checks version byte (one of `versions`), key id and signature, in that order. Returns the key id.
pub(crate) fn check(
    context: &str,
    versions: &[u8],
    body: &[u8],
    signature: &[u8; SIGNATURE_LEN],
    keys: &KeyRing,
) -> Result<KeyId> {
    let (&found, rest) = body.split_first().ok_or_else(|| malformed("empty body"))?;
    if !versions.contains(&found) {
        return Err(malformed(format!("unsupported format version {found}")));
    }
    let id: [u8; 8] = rest
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| malformed("no key id"))?;
    let key_id = KeyId(id);
    let key = keys.get(&key_id).ok_or(Error::UnknownKeyId(key_id))?;
    key.verify_strict(
        &with_context(context, body),
        &Signature::from_bytes(signature),
    )
    .map_err(|_| Error::BadSignature)?;
    Ok(key_id)
}
