//! The key vault as the app uses it: generate, import, export and unlock signing keys kept
//! sealed in the database. Private keys exist in clear only in memory, after an unlock.

use crate::error::{DeskError, DeskResult};
use crate::store::keys::{self, KeyRow};
use crate::store::{Store, StoreError};
use keyvault::{KdfParams, SealedKey};
use licensekey::{KeyId, KeyRing, SigningKey, VerifyingKey};
use rusqlite::Connection;

/// Ways to export a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyFormat {
    /// The 32 raw bytes in standard base64.
    Base64,
    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
    Pem,
    /// A Rust constant ready to paste into a product.
    Rust,
}

impl PublicKeyFormat {
    /// Every format, in picker order.
    pub const ALL: [PublicKeyFormat; 3] = [Self::Base64, Self::Pem, Self::Rust];

    /// Name shown and accepted on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Base64 => "base64",
            Self::Pem => "pem",
            Self::Rust => "rust",
        }
    }
}

fn row_for(name: &str, key: &VerifyingKey, active: bool, created_at: i64) -> KeyRow {
    KeyRow {
        key_id: KeyId::of(key).to_string(),
        name: name.trim().to_string(),
        public_key: licensekey::public_key_base64(key),
        active,
        created_at,
    }
}

/// Generates a key, seals it under `passphrase` and stores it. With `make_active` (rotation),
/// it signs from now on and the previous key retires but keeps verifying.
pub fn generate(
    store: &mut Store,
    name: &str,
    passphrase: &str,
    params: KdfParams,
    make_active: bool,
    now: i64,
) -> DeskResult<KeyRow> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DeskError::Other("Key name: is required".into()));
    }
    if keys::find(store.conn(), name)?.is_some() {
        return Err(
            StoreError::Conflict(format!("Key name: '{name}' is already in the vault")).into(),
        );
    }
    let signing = keyvault::generate_signing_key()?;
    let sealed = keyvault::seal(name, &signing, passphrase, params, now)?;
    let row = row_for(name, &signing.verifying_key(), make_active, now);
    Ok(store.write(|tx| keys::insert(tx, &row, &sealed.to_armored()))?)
}

/// Imports an encrypted key file (as exported by [`export_encrypted`]); no passphrase is
/// needed to import, only to unlock.
pub fn import(store: &mut Store, armored: &str, make_active: bool) -> DeskResult<KeyRow> {
    let sealed = SealedKey::from_armored(armored)?;
    let public = sealed.verifying_key()?;
    let row = row_for(sealed.name(), &public, make_active, sealed.created_at());
    Ok(store.write(|tx| keys::insert(tx, &row, &sealed.to_armored()))?)
}

/// Finds a key by id or name, with a clear error.
pub fn find(conn: &Connection, id_or_name: &str) -> DeskResult<KeyRow> {
    keys::find(conn, id_or_name)?
        .ok_or_else(|| DeskError::Other(format!("Key: no key named or with id '{id_or_name}'")))
}

/// The active signing key.
pub fn active(conn: &Connection) -> DeskResult<KeyRow> {
    keys::active(conn)?.ok_or(DeskError::NoActiveKey)
}

/// The encrypted key file of a key (to carry to an air-gapped machine).
pub fn export_encrypted(conn: &Connection, key: &KeyRow) -> DeskResult<String> {
    Ok(keys::sealed(conn, &key.key_id)?)
}

/// The public key in `format`.
pub fn export_public(key: &KeyRow, format: PublicKeyFormat) -> DeskResult<String> {
    let public = licensekey::parse_public_key(&key.public_key)?;
    Ok(match format {
        PublicKeyFormat::Base64 => format!("{}\n", licensekey::public_key_base64(&public)),
        PublicKeyFormat::Pem => licensekey::public_key_pem(&public),
        PublicKeyFormat::Rust => licensekey::public_key_rust_const(&public),
    })
}

/// Opens a sealed key with its passphrase (Argon2id: run it off the UI thread).
pub fn unlock(conn: &Connection, key: &KeyRow, passphrase: &str) -> DeskResult<SigningKey> {
    let sealed = SealedKey::from_armored(&keys::sealed(conn, &key.key_id)?)?;
    Ok(sealed.open(passphrase)?)
}

/// Re-seals a key under a new passphrase.
pub fn change_passphrase(
    store: &mut Store,
    key: &KeyRow,
    old: &str,
    new: &str,
    params: KdfParams,
) -> DeskResult<()> {
    let sealed = SealedKey::from_armored(&keys::sealed(store.conn(), &key.key_id)?)?;
    let resealed = sealed.change_passphrase(old, new, params)?;
    Ok(store.write(|tx| keys::reseal(tx, &key.key_id, &resealed.to_armored()))?)
}

/// Every key in the vault as a verifying key ring (retired keys included).
pub fn keyring(conn: &Connection) -> DeskResult<KeyRing> {
    let mut ring = KeyRing::new();
    for key in keys::list(conn)? {
        ring.insert(licensekey::parse_public_key(&key.public_key)?)?;
    }
    Ok(ring)
}
