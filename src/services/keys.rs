//! Signing keys: generate, import, export and unlock keys kept sealed in the database. Private
//! keys exist in clear only in memory, in the worker's [`KeyVault`] session after an unlock (or
//! for the length of one CLI command), and are wiped when locked.

use crate::clock::SharedClock;
use crate::domain::FieldErrors;
use crate::files::{self, FileError, Output};
use crate::store::keys::{self, KeyRow};
use crate::store::{Store, StoreError};
use keyvault::{KdfParams, SealedKey, Session, VaultError};
use licensekey::{KeyId, KeyRing, SigningKey, VerifyingKey};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A passphrase on its way to the vault: wiped when dropped, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a typed passphrase.
    pub fn new(text: &str) -> Self {
        Self(Zeroizing::new(text.to_string()))
    }

    /// The passphrase text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<Zeroizing<String>> for Secret {
    fn from(text: Zeroizing<String>) -> Self {
        Self(text)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

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

/// What staff can do with keys.
#[derive(Debug, Clone)]
pub enum KeysCommand {
    /// Generate a key; with `make_active` it signs from now on (rotation).
    Generate {
        name: String,
        passphrase: Secret,
        make_active: bool,
    },
    /// Import an encrypted key file; its passphrase proves the file opens.
    Import {
        path: PathBuf,
        passphrase: Secret,
        make_active: bool,
    },
    Activate {
        key_id: KeyId,
    },
    ExportEncrypted {
        key_id: KeyId,
        path: PathBuf,
    },
    Unlock {
        key_id: KeyId,
        passphrase: Secret,
    },
    Lock,
    /// Lock keys idle longer than the setting allows.
    LockIdle,
}

impl KeysCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            KeysCommand::Generate { .. } => "Generate key",
            KeysCommand::Import { .. } => "Import key",
            KeysCommand::Activate { .. } => "Activate key",
            KeysCommand::ExportEncrypted { .. } => "Export encrypted key",
            KeysCommand::Unlock { .. } => "Unlock key",
            KeysCommand::Lock | KeysCommand::LockIdle => "Lock keys",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeysEvent {
    Generated(KeyRow),
    Imported(KeyRow),
    Activated(KeyRow),
    Exported {
        key: KeyRow,
        path: PathBuf,
    },
    Unlocked(KeyRow),
    /// These keys were locked (possibly none).
    Locked {
        key_ids: Vec<KeyId>,
    },
}

/// Why a key command was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("Key name: '{0}' is already in the vault")]
    NameTaken(String),
    #[error("Key: the key with id {0} is already in the vault")]
    AlreadyImported(KeyId),
    #[error("Key: no key named or with id '{0}'")]
    Unknown(String),
    #[error("no signing key: generate one under Signing keys (or `license-desk keys new`)")]
    NoActiveKey,
    #[error("the signing key '{name}' ({key_id}) is locked: unlock it with its passphrase first")]
    Locked { name: String, key_id: KeyId },
    #[error("Key: {key_id} is retired; licenses are signed with the active key {active}")]
    Retired { key_id: KeyId, active: KeyId },
    #[error(
        "the key file is sealed with {found}, weaker than the {floor} this desk accepts; re-export it from a License Desk with stronger settings"
    )]
    WeakKdf { found: KdfParams, floor: KdfParams },
    #[error("the stored public key of {0} is damaged")]
    DamagedKey(KeyId),
    #[error("the vault's keys cannot be trusted together: {0}")]
    Ring(licensekey::Error),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for KeysError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { value, .. } => KeysError::NameTaken(value),
            e => KeysError::Store(e),
        }
    }
}

/// The keys unlocked in this session, with idle locking (the worker owns one). Idle time is
/// measured on the injected clock, so tests can move it.
pub struct KeyVault {
    session: Session,
    kdf: KdfParams,
    clock: SharedClock,
    /// The session counts in `Instant`s; this pairs one with the clock's time at start.
    epoch: (Instant, chrono::DateTime<chrono::Utc>),
}

impl KeyVault {
    /// A vault whose new keys are sealed with `kdf` and whose keys lock after `idle_minutes`
    /// without use, as `clock` tells the time.
    pub fn new(kdf: KdfParams, idle_minutes: u32, clock: SharedClock) -> Self {
        let epoch = (Instant::now(), clock.now());
        Self {
            session: Session::new(idle_timeout(idle_minutes)),
            kdf,
            clock,
            epoch,
        }
    }

    /// Now, as the session counts: the start instant plus the clock's time since then (never
    /// before the start, even if the clock is set back).
    fn instant(&self) -> Instant {
        let elapsed = (self.clock.now() - self.epoch.1)
            .to_std()
            .unwrap_or(Duration::ZERO);
        self.epoch.0 + elapsed
    }

    /// Changes how long an unused key stays unlocked.
    pub fn set_idle_minutes(&mut self, minutes: u32) {
        self.session.set_idle_timeout(idle_timeout(minutes));
    }

    /// Runs one command.
    pub fn run(
        &mut self,
        store: &mut Store,
        now: i64,
        command: KeysCommand,
    ) -> Result<KeysEvent, KeysError> {
        match command {
            KeysCommand::Generate {
                name,
                passphrase,
                make_active,
            } => generate(
                store,
                &name,
                passphrase.expose(),
                self.kdf,
                make_active,
                now,
            )
            .map(KeysEvent::Generated),
            KeysCommand::Import {
                path,
                passphrase,
                make_active,
            } => {
                import(store, &path, passphrase.expose(), make_active, now).map(KeysEvent::Imported)
            }
            KeysCommand::Activate { key_id } => Ok(KeysEvent::Activated(
                store.write(|tx| keys::activate(tx, key_id, now))?,
            )),
            KeysCommand::ExportEncrypted { key_id, path } => {
                let key = get(store.conn(), key_id)?;
                let database = store.path().to_path_buf();
                export_encrypted(store.conn(), &key, &path, true, &database)?;
                Ok(KeysEvent::Exported { key, path })
            }
            KeysCommand::Unlock { key_id, passphrase } => {
                let key = get(store.conn(), key_id)?;
                let signing = unlock(store.conn(), &key, passphrase.expose())?;
                let now = self.instant();
                self.session.insert(&key.name, signing, now);
                Ok(KeysEvent::Unlocked(key))
            }
            KeysCommand::Lock => {
                let key_ids = self.unlocked_ids();
                self.session.lock_all();
                Ok(KeysEvent::Locked { key_ids })
            }
            KeysCommand::LockIdle => {
                let before = self.unlocked_ids();
                let idle = self.session.idle_timeout();
                let now = self.instant();
                self.session.lock_if_idle(now, idle);
                let after = self.unlocked_ids();
                Ok(KeysEvent::Locked {
                    key_ids: before.into_iter().filter(|k| !after.contains(k)).collect(),
                })
            }
        }
    }

    /// The active key, if this session has it unlocked (refreshing its idle timer).
    pub fn active_signing_key(
        &mut self,
        conn: &Connection,
    ) -> Result<(KeyRow, &SigningKey), KeysError> {
        let key = active(conn)?;
        let public = public_key(&key)?.to_bytes();
        let now = self.instant();
        match self.session.signing_key(&public, now) {
            Some(signing) => Ok((key, signing)),
            None => Err(KeysError::Locked {
                name: key.name,
                key_id: key.key_id,
            }),
        }
    }

    /// A key of the vault by id (active or retired), if this session has it unlocked
    /// (refreshing its idle timer): what sealed a secret must open it.
    pub fn signing_key_by_id(
        &mut self,
        conn: &Connection,
        key_id: KeyId,
    ) -> Result<(KeyRow, &SigningKey), KeysError> {
        let key = get(conn, key_id)?;
        let public = public_key(&key)?.to_bytes();
        let now = self.instant();
        match self.session.signing_key(&public, now) {
            Some(signing) => Ok((key, signing)),
            None => Err(KeysError::Locked {
                name: key.name,
                key_id: key.key_id,
            }),
        }
    }

    fn unlocked_ids(&self) -> Vec<KeyId> {
        self.session
            .unlocked()
            .into_iter()
            .filter_map(|(public, _)| VerifyingKey::from_bytes(&public).ok())
            .map(|k| KeyId::of(&k))
            .collect()
    }
}

fn idle_timeout(minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes.max(1)) * 60)
}

fn row_for(name: &str, key: &VerifyingKey, active: bool, created_at: i64) -> KeyRow {
    KeyRow {
        key_id: KeyId::of(key),
        name: name.trim().to_string(),
        public_key: licensekey::public_key_base64(key),
        active,
        created_at,
    }
}

/// Checks a new key's name and passphrase as typed (the form and the CLI show the same).
pub fn validate_new(name: &str, passphrase: &str, repeat: Option<&str>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    crate::domain::validation::required_text(
        &mut errors,
        "Key name",
        name,
        keyvault::MAX_NAME_BYTES,
    );
    if passphrase.chars().count() < keyvault::MIN_PASSPHRASE_CHARS {
        errors.push(
            "Passphrase",
            format!(
                "needs at least {} characters",
                keyvault::MIN_PASSPHRASE_CHARS
            ),
        );
    }
    if repeat.is_some_and(|r| r != passphrase) {
        errors.push("Repeat passphrase", "does not match the passphrase");
    }
    errors
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
) -> Result<KeyRow, KeysError> {
    validate_new(name, passphrase, None).into_result()?;
    let name = name.trim();
    if keys::find(store.conn(), name)?.is_some() {
        return Err(KeysError::NameTaken(name.to_string()));
    }
    let signing = keyvault::generate_signing_key()?;
    let sealed = keyvault::seal(name, &signing, passphrase, params, now)?;
    let row = row_for(name, &signing.verifying_key(), make_active, now);
    Ok(store.write(|tx| keys::insert(tx, &row, &sealed.to_armored(), now))?)
}

/// Imports an encrypted key file (as exported by [`export_encrypted`]). The file must be
/// sealed at least as strongly as [`KdfParams::IMPORT_FLOOR`], and `passphrase` must open it:
/// a file that cannot be unlocked is not taken in.
pub fn import(
    store: &mut Store,
    path: &Path,
    passphrase: &str,
    make_active: bool,
    now: i64,
) -> Result<KeyRow, KeysError> {
    let text = files::read_text(path, files::KEY_FILE)?;
    let sealed = SealedKey::from_armored(&text)?;
    let found = sealed.kdf_params();
    if !found.at_least(&KdfParams::IMPORT_FLOOR) {
        return Err(KeysError::WeakKdf {
            found,
            floor: KdfParams::IMPORT_FLOOR,
        });
    }
    let public = sealed.verifying_key()?;
    let key_id = KeyId::of(&public);
    if keys::get(store.conn(), key_id)?.is_some() {
        return Err(KeysError::AlreadyImported(key_id));
    }
    // Proves the passphrase (and that the seed matches the public key); the key is dropped
    // (and wiped) at once.
    drop(sealed.open(passphrase)?);
    let row = row_for(sealed.name(), &public, make_active, sealed.created_at());
    Ok(store.write(|tx| keys::insert(tx, &row, &sealed.to_armored(), now))?)
}

/// A key by id.
pub fn get(conn: &Connection, key_id: KeyId) -> Result<KeyRow, KeysError> {
    keys::get(conn, key_id)?.ok_or_else(|| KeysError::Unknown(key_id.to_string()))
}

/// Finds a key by id or name, with a clear error.
pub fn find(conn: &Connection, id_or_name: &str) -> Result<KeyRow, KeysError> {
    keys::find(conn, id_or_name)?.ok_or_else(|| KeysError::Unknown(id_or_name.trim().into()))
}

/// The active signing key.
pub fn active(conn: &Connection) -> Result<KeyRow, KeysError> {
    keys::active(conn)?.ok_or(KeysError::NoActiveKey)
}

fn public_key(key: &KeyRow) -> Result<VerifyingKey, KeysError> {
    licensekey::parse_public_key(&key.public_key).map_err(|_| KeysError::DamagedKey(key.key_id))
}

/// Writes the encrypted key file of a key (to carry to an air-gapped machine), readable by
/// the owner only, never over an existing file unless `force`, never over the database.
pub fn export_encrypted(
    conn: &Connection,
    key: &KeyRow,
    path: &Path,
    force: bool,
    database: &Path,
) -> Result<(), KeysError> {
    let sealed = keys::sealed(conn, key.key_id)?;
    files::write(
        path,
        sealed.as_bytes(),
        Output {
            force,
            secret: true,
            database: Some(database),
        },
    )?;
    Ok(())
}

/// The encrypted key file text of a key (for printing on the command line).
pub fn encrypted_text(conn: &Connection, key: &KeyRow) -> Result<String, KeysError> {
    Ok(keys::sealed(conn, key.key_id)?)
}

/// The public key in `format`.
pub fn export_public(key: &KeyRow, format: PublicKeyFormat) -> Result<String, KeysError> {
    let public = public_key(key)?;
    Ok(match format {
        PublicKeyFormat::Base64 => format!("{}\n", licensekey::public_key_base64(&public)),
        PublicKeyFormat::Pem => licensekey::public_key_pem(&public),
        PublicKeyFormat::Rust => licensekey::public_key_rust_const(&public),
    })
}

/// Opens a sealed key with its passphrase (Argon2id: run it off the UI thread).
pub fn unlock(conn: &Connection, key: &KeyRow, passphrase: &str) -> Result<SigningKey, KeysError> {
    let sealed = SealedKey::from_armored(&keys::sealed(conn, key.key_id)?)?;
    Ok(sealed.open(passphrase)?)
}

/// Unlocks the active key for one command (the CLI): its row and the key.
pub fn unlock_active(
    conn: &Connection,
    passphrase: &str,
) -> Result<(KeyRow, SigningKey), KeysError> {
    let key = active(conn)?;
    let signing = unlock(conn, &key, passphrase)?;
    Ok((key, signing))
}

/// Re-seals a key under a new passphrase.
pub fn change_passphrase(
    store: &mut Store,
    key: &KeyRow,
    old: &str,
    new: &str,
    params: KdfParams,
) -> Result<(), KeysError> {
    let sealed = SealedKey::from_armored(&keys::sealed(store.conn(), key.key_id)?)?;
    let resealed = sealed.change_passphrase(old, new, params)?;
    Ok(store.write(|tx| keys::reseal(tx, key.key_id, &resealed.to_armored()))?)
}

/// Every key in the vault as a verifying key ring (retired keys included).
pub fn keyring(conn: &Connection) -> Result<KeyRing, KeysError> {
    let mut ring = KeyRing::new();
    for key in keys::list(conn)? {
        ring.insert(public_key(&key)?).map_err(KeysError::Ring)?;
    }
    Ok(ring)
}

/// Checks that `key` is the vault's active key: retired keys only verify.
pub fn ensure_active(conn: &Connection, key: &SigningKey) -> Result<KeyRow, KeysError> {
    let active = active(conn)?;
    let id = KeyId::of(&key.verifying_key());
    if active.key_id != id {
        return Err(KeysError::Retired {
            key_id: id,
            active: active.key_id,
        });
    }
    Ok(active)
}
