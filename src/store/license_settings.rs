//! What staff keep about a license beside the signed license: its registration key, the
//! administrator password of the licensed software (sealed under a key derived from the
//! signing key; a secret column no panel can read), and the machines registered to it (from
//! the machine key of the version 3 request it was issued from).
//!
//! Every change goes with a ledger entry (`edit`, `unregister`, `deactivate`); the ledger
//! check compares these rows with what the entries leave ([`state_hash`]).

use super::StoreResult;
use super::outbox::{self, Change, LicenseAdminRecord};
use super::sql::SqlKeyId;
use crate::domain::ids::LicenseId;
use licensekey::KeyId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

/// A license's settings as the writer keeps them (with the sealed password).
#[derive(Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub license_id: LicenseId,
    pub registration_key: String,
    /// The administrator password, sealed (nonce || ciphertext), and the signing key whose
    /// derived key sealed it.
    pub password: Option<(Vec<u8>, KeyId)>,
}

impl std::fmt::Debug for SettingsRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsRow")
            .field("license_id", &self.license_id)
            .field("registration_key", &self.registration_key)
            .field("password", &self.password.as_ref().map(|(_, key)| key))
            .finish()
    }
}

/// What a panel may read of a license's settings: never the password, only whether one is
/// set and under which key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsView {
    pub registration_key: String,
    pub password_key_id: Option<KeyId>,
}

/// A machine registered to a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub license_id: LicenseId,
    pub machine_key: [u8; 32],
    pub label: String,
    pub registered_at: i64,
}

/// The hash an `edit` ledger entry records: SHA-256 of
/// `"LicenseDesk/license-settings/v1" 0x00 || license id || u16 len || registration key ||
/// (0x00 | 0x01 || key id (8) || u16 len || sealed password)`.
pub fn state_hash(
    license_id: LicenseId,
    registration_key: &str,
    password: Option<(&[u8], &[u8])>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"LicenseDesk/license-settings/v1\0");
    h.update(license_id.as_bytes());
    let key = registration_key.as_bytes();
    h.update(u16::try_from(key.len()).unwrap_or(u16::MAX).to_be_bytes());
    h.update(key);
    match password {
        None => h.update([0]),
        Some((sealed, key_id)) => {
            h.update([1]);
            h.update(key_id);
            h.update(
                u16::try_from(sealed.len())
                    .unwrap_or(u16::MAX)
                    .to_be_bytes(),
            );
            h.update(sealed);
        }
    }
    h.finalize().into()
}

impl SettingsRow {
    /// Empty settings of a license.
    pub fn empty(license_id: LicenseId) -> Self {
        Self {
            license_id,
            registration_key: String::new(),
            password: None,
        }
    }

    /// The hash its `edit` entry records.
    pub fn state_hash(&self) -> [u8; 32] {
        state_hash(
            self.license_id,
            &self.registration_key,
            self.password
                .as_ref()
                .map(|(sealed, key)| (&sealed[..], &key.0[..])),
        )
    }
}

/// The settings of a license as the writer keeps them (empty when none were saved).
pub fn get(conn: &Connection, license_id: LicenseId) -> StoreResult<SettingsRow> {
    let row: Option<(String, Option<Vec<u8>>, Option<SqlKeyId>)> = conn
        .query_row(
            "SELECT registration_key, admin_password, password_key_id FROM license_settings
             WHERE license_id = ?1",
            [license_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        None => SettingsRow::empty(license_id),
        Some((registration_key, sealed, key)) => SettingsRow {
            license_id,
            registration_key,
            password: sealed.zip(key.map(|k| k.0)),
        },
    })
}

/// What a panel shows of a license's settings (reads no secret column).
pub fn view(conn: &Connection, license_id: LicenseId) -> StoreResult<SettingsView> {
    let row: Option<(String, Option<SqlKeyId>)> = conn
        .query_row(
            "SELECT registration_key, password_key_id FROM license_settings
             WHERE license_id = ?1",
            [license_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row
        .map(|(registration_key, key)| SettingsView {
            registration_key,
            password_key_id: key.map(|k| k.0),
        })
        .unwrap_or_default())
}

/// Saves a license's settings (the caller appends the `edit` entry) and records the change.
pub fn save(tx: &Transaction<'_>, settings: &SettingsRow, now: i64) -> StoreResult<()> {
    let (sealed, key) = match &settings.password {
        Some((sealed, key)) => (Some(sealed.clone()), Some(SqlKeyId(*key))),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO license_settings (license_id, registration_key, admin_password,
             password_key_id, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (license_id) DO UPDATE SET registration_key = excluded.registration_key,
             admin_password = excluded.admin_password,
             password_key_id = excluded.password_key_id, updated_at = excluded.updated_at",
        params![
            settings.license_id,
            settings.registration_key,
            sealed,
            key,
            now
        ],
    )?;
    record(tx, settings.license_id, now)
}

/// Records a license's settings and registrations in the outbox (after any change to them).
pub fn record(tx: &Transaction<'_>, license_id: LicenseId, now: i64) -> StoreResult<()> {
    let settings = get(tx, license_id)?;
    let machines = registrations(tx, license_id)?
        .into_iter()
        .map(|r| hex::encode(r.machine_key))
        .collect();
    let (sealed, key) = match settings.password {
        Some((sealed, key)) => (Some(hex::encode(&sealed)), Some(key.to_string())),
        None => (None, None),
    };
    outbox::record(
        tx,
        &Change::LicenseAdmin(LicenseAdminRecord {
            license_id,
            registration_key: settings.registration_key,
            admin_password_sealed: sealed,
            password_key_id: key,
            registered_machines: machines,
        }),
        now,
    )?;
    Ok(())
}

/// The machines registered to a license, oldest first.
pub fn registrations(conn: &Connection, license_id: LicenseId) -> StoreResult<Vec<Registration>> {
    let mut stmt = conn.prepare_cached(
        "SELECT machine_key, label, registered_at FROM license_registrations
         WHERE license_id = ?1 ORDER BY registered_at, machine_key",
    )?;
    let rows = stmt.query_map([license_id], |r| {
        let key: Vec<u8> = r.get(0)?;
        Ok((key, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, label, registered_at) = row?;
        let Ok(machine_key) = <[u8; 32]>::try_from(key) else {
            return Err(super::StoreError::Corrupt(format!(
                "a machine key of license {license_id} is not 32 bytes"
            )));
        };
        out.push(Registration {
            license_id,
            machine_key,
            label,
            registered_at,
        });
    }
    Ok(out)
}

/// Registers a machine to a license (the issue entry names it).
pub fn register(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    machine_key: &[u8; 32],
    label: &str,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO license_registrations (license_id, machine_key, label, registered_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![license_id, &machine_key[..], label, now],
    )?;
    record(tx, license_id, now)
}

/// Removes one machine's registration; false when it was not registered.
pub fn unregister(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    machine_key: &[u8; 32],
    now: i64,
) -> StoreResult<bool> {
    let removed = tx.execute(
        "DELETE FROM license_registrations WHERE license_id = ?1 AND machine_key = ?2",
        params![license_id, &machine_key[..]],
    )?;
    if removed > 0 {
        record(tx, license_id, now)?;
    }
    Ok(removed > 0)
}

/// Removes every machine registered to a license; returns how many there were.
pub fn unregister_all(tx: &Transaction<'_>, license_id: LicenseId, now: i64) -> StoreResult<usize> {
    let removed = tx.execute(
        "DELETE FROM license_registrations WHERE license_id = ?1",
        [license_id],
    )?;
    record(tx, license_id, now)?;
    Ok(removed)
}
