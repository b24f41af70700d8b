//! Passphrase-encrypted Ed25519 signing keys for License Desk.
//!
//! A private signing key never exists in clear outside memory: it is stored as a
//! [`SealedKey`] (Argon2id-derived key + XChaCha20-Poly1305), opened with a passphrase into a
//! [`Session`], which locks it again after an idle period. Secret material (the Ed25519 seed,
//! the derived AEAD key, decryption buffers) lives in `zeroize::Zeroizing` or in
//! `ed25519_dalek::SigningKey`, which wipes itself on drop. No `Debug`/`Display` impl in this
//! crate prints secret bytes, and the only way to serialize a seed is [`seal`].
//!
//! Keys are identified by their 32-byte Ed25519 public key; the application maps that to its own
//! key id.
//!
//! # Encrypted key file, format version 1
//!
//! The same text is used for the "export to an air-gapped machine" file and for storage in the
//! database. It is UTF-8, lines end with a single LF (`\n`, never CR), and the text ends with
//! exactly one LF after the END line. Exactly these 11 lines, in this order, nothing before or
//! after:
//!
//! ```text
//! -----BEGIN LICENSE DESK ENCRYPTED SIGNING KEY-----
//! Version: 1
//! Name: <key name>
//! Public-Key: <base64, 32 bytes>
//! Created: <unix seconds, i64 decimal>
//! Kdf: argon2id m=<m_cost KiB> t=<t_cost> p=<p_cost>
//! Salt: <base64, 16 bytes>
//! Nonce: <base64, 24 bytes>
//!
//! <base64, 48 bytes: XChaCha20-Poly1305 ciphertext of the 32-byte seed, then the 16-byte tag>
//! -----END LICENSE DESK ENCRYPTED SIGNING KEY-----
//! ```
//!
//! Rules (anything else is rejected with [`VaultError::Malformed`]; there is exactly one
//! accepted encoding of a given key, and a parsed file re-serializes to the identical text):
//!
//! - Each header is `Field: value` with exactly one space after the colon and no trailing space.
//! - base64 is RFC 4648 §4 (standard alphabet `A–Z a–z 0–9 + /`) with `=` padding, canonical
//!   (unused trailing bits zero), on one line (44, 24, 32 and 64 characters respectively).
//! - Decimal numbers are ASCII digits without a `+` sign or leading zeros (`0` itself is allowed;
//!   `Created` may be negative with a leading `-`, but not `-0`).
//! - `Version` is read first; a well-formed value other than `1` is
//!   [`VaultError::UnsupportedVersion`].
//! - `Name` is 1–100 bytes of UTF-8; no control characters, no whitespace other than U+0020
//!   space, and no leading or trailing space.
//! - `Public-Key` must be a valid Ed25519 point.
//! - `Kdf` bounds: 8192 ≤ m ≤ 1048576 (8 MiB..=1 GiB), 1 ≤ t ≤ 10, 1 ≤ p ≤ 4; otherwise
//!   [`VaultError::KdfParamsOutOfRange`], checked before any Argon2 work or allocation.
//!
//! Cryptography:
//!
//! - AEAD key = Argon2id (version 0x13), passphrase = the UTF-8 bytes of the passphrase exactly as
//!   typed (no normalization or trimming), salt = `Salt`, m/t/p from `Kdf`, no secret, no
//!   associated data, 32-byte output.
//! - Cipher: XChaCha20-Poly1305 with nonce `Nonce`, plaintext the 32-byte Ed25519 seed
//!   (RFC 8032 secret key).
//! - Associated data binds every public field, so altering any of them makes decryption fail:
//!
//! ```text
//! "License Desk encrypted signing key\0"  (35 ASCII bytes, ending with one NUL byte)
//! version     u32 big-endian
//! name_len    u32 big-endian, then the name's UTF-8 bytes
//! public_key  32 bytes
//! created     i64 big-endian (two's complement)
//! m_cost      u32 big-endian
//! t_cost      u32 big-endian
//! p_cost      u32 big-endian
//! salt        16 bytes
//! nonce       24 bytes
//! ```
//!
//! - After decryption the seed's public key must equal `Public-Key`
//!   ([`VaultError::PublicKeyMismatch`] otherwise).
//! - Salt and nonce are fresh random values (OS RNG) on every seal, including
//!   [`SealedKey::change_passphrase`].
//!
//! An AEAD failure cannot tell a wrong passphrase from an altered file; both are reported as
//! [`VaultError::WrongPassphrase`].

mod derived;
mod sealed;
mod session;

#[cfg(test)]
mod tests;

use std::fmt;

pub use derived::{MAX_SECRET_BYTES, open_secret, seal_secret};
pub use sealed::{MAX_NAME_BYTES, MIN_PASSPHRASE_CHARS, SealedKey, generate_signing_key, seal};
pub use session::Session;

/// Re-exported so callers use the same version this crate was built against.
pub use ed25519_dalek;

/// Current (and only) version of the encrypted key file format.
pub const FORMAT_VERSION: u32 = 1;

/// First line of an encrypted key file.
pub const BEGIN_LINE: &str = "-----BEGIN LICENSE DESK ENCRYPTED SIGNING KEY-----";
/// Last line of an encrypted key file.
pub const END_LINE: &str = "-----END LICENSE DESK ENCRYPTED SIGNING KEY-----";

/// Errors from sealing, parsing, opening and unlocking keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// AEAD authentication failed: the passphrase is wrong, or the file was altered.
    #[error("wrong passphrase (or the encrypted key file was altered)")]
    WrongPassphrase,
    /// The encrypted key file text is not in the one accepted form.
    #[error("malformed encrypted key file: {0}")]
    Malformed(String),
    /// The file declares a format version this build does not read.
    #[error("unsupported encrypted key file version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// Argon2 parameters outside the accepted bounds (see [`KdfParams::check`]).
    #[error("key derivation parameters out of range: {0}")]
    KdfParamsOutOfRange(KdfParams),
    /// The decrypted seed does not belong to the public key recorded in the file.
    #[error("decrypted key does not match the recorded public key")]
    PublicKeyMismatch,
    /// The new passphrase is too short.
    #[error("passphrase too short: use at least {min_chars} characters")]
    WeakPassphrase {
        /// Minimum number of characters (Unicode scalar values).
        min_chars: usize,
    },
    /// The key name is not acceptable for the file format.
    #[error("invalid key name: {0}")]
    InvalidName(&'static str),
    /// OS randomness, Argon2 (e.g. out of memory) or the cipher failed unexpectedly.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
}

/// Argon2id cost parameters, stored in the key file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Lanes (degree of parallelism; lanes run sequentially in this build).
    pub p_cost: u32,
}

impl KdfParams {
    /// Default for real keys: 128 MiB, t = 3, p = 1 (about 0.3 s in a release build here).
    pub const INTERACTIVE: KdfParams = KdfParams {
        m_cost_kib: 128 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// The cheapest accepted parameters (8 MiB, t = 1, p = 1). **For tests only**: too weak to
    /// protect a real signing key.
    pub const TEST_ONLY: KdfParams = KdfParams {
        m_cost_kib: Self::MIN_M_COST_KIB,
        t_cost: 1,
        p_cost: 1,
    };

    /// The weakest parameters a desk accepts when it *imports* a key file (64 MiB, t = 3,
    /// p = 1): a file sealed more cheaply falls to passphrase guessing too fast to be carried
    /// around. [`KdfParams::check`] is only the parser's sanity bound.
    pub const IMPORT_FLOOR: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Smallest accepted memory cost (8 MiB).
    pub const MIN_M_COST_KIB: u32 = 8 * 1024;
    /// Largest accepted memory cost (1 GiB).
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// Largest accepted number of passes.
    pub const MAX_T_COST: u32 = 10;
    /// Largest accepted number of lanes.
    pub const MAX_P_COST: u32 = 4;

    /// Checks the bounds (m 8 MiB..=1 GiB, t 1..=10, p 1..=4), so a hostile file cannot make
    /// us allocate or compute without limit.
    ///
    /// # Errors
    /// [`VaultError::KdfParamsOutOfRange`] when any parameter is outside its bounds.
    pub fn check(&self) -> Result<(), VaultError> {
        let ok = (Self::MIN_M_COST_KIB..=Self::MAX_M_COST_KIB).contains(&self.m_cost_kib)
            && (1..=Self::MAX_T_COST).contains(&self.t_cost)
            && (1..=Self::MAX_P_COST).contains(&self.p_cost);
        if ok {
            Ok(())
        } else {
            Err(VaultError::KdfParamsOutOfRange(*self))
        }
    }
}

impl KdfParams {
    /// True when these parameters cost at least as much as `floor` in memory and passes.
    #[must_use]
    pub fn at_least(&self, floor: &KdfParams) -> bool {
        self.m_cost_kib >= floor.m_cost_kib && self.t_cost >= floor.t_cost
    }
}

impl fmt::Display for KdfParams {
    /// The header form: `argon2id m=131072 t=3 p=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argon2id m={} t={} p={}",
            self.m_cost_kib, self.t_cost, self.p_cost
        )
    }
}
