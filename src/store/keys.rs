//! Signing keys repository. Only sealed (encrypted) private keys are stored, and only the
//! writer's connection reads them ([`sealed`]); lists select public columns only. One key is
//! active (it signs new licenses); retired keys keep verifying the licenses they signed.

use super::outbox::{self, Change, PublicKeyRecord};
use super::sql::SqlKeyId;
use super::{StoreError, StoreResult, is_unique_violation};
use licensekey::KeyId;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// A key as listed: public facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// What artifacts carry.
    pub key_id: KeyId,
    pub name: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub active: bool,
    pub created_at: i64,
}

impl KeyRow {
    fn record(&self) -> Change {
        Change::PublicKey(PublicKeyRecord {
            key_id: self.key_id.to_string(),
            name: self.name.clone(),
            public_key: self.public_key.clone(),
            active: self.active,
            created_at: self.created_at,
        })
    }
}

const PUBLIC_COLUMNS: &str = "key_id, name, public_key, status, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        key_id: row.get::<_, SqlKeyId>("key_id")?.0,
        name: row.get("name")?,
        public_key: row.get("public_key")?,
        active: row.get::<_, String>("status")? == "active",
        created_at: row.get("created_at")?,
    })
}

/// Stores a sealed key. The first key becomes active; so does one stored with `key.active`
/// (the previous active key retires).
pub fn insert(tx: &Transaction<'_>, key: &KeyRow, sealed: &str, now: i64) -> StoreResult<KeyRow> {
    let active = key.active || active(tx)?.is_none();
    if active {
        retire_active(tx, now)?;
    }
    tx.execute(
        "INSERT INTO signing_keys (key_id, name, public_key, sealed, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            SqlKeyId(key.key_id),
            key.name,
            key.public_key,
            sealed,
            if active { "active" } else { "retired" },
            key.created_at
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            // Importers check the key id first; what is left to clash is the name.
            StoreError::Duplicate {
                what: "key name",
                value: key.name.clone(),
            }
        } else {
            e.into()
        }
    })?;
    let stored = KeyRow {
        active,
        ..key.clone()
    };
    outbox::record(tx, &stored.record(), now)?;
    Ok(stored)
}

fn retire_active(tx: &Transaction<'_>, now: i64) -> StoreResult<()> {
    if let Some(previous) = active(tx)? {
        tx.execute(
            "UPDATE signing_keys SET status = 'retired' WHERE key_id = ?1",
            [SqlKeyId(previous.key_id)],
        )?;
        let retired = KeyRow {
            active: false,
            ..previous
        };
        outbox::record(tx, &retired.record(), now)?;
    }
    Ok(())
}

/// Makes `key_id` the signing key; the previous one retires (and keeps verifying).
pub fn activate(tx: &Transaction<'_>, key_id: KeyId, now: i64) -> StoreResult<KeyRow> {
    let key = get(tx, key_id)?.ok_or_else(|| StoreError::NotFound {
        what: "signing key",
        id: key_id.to_string(),
    })?;
    if key.active {
        return Ok(key);
    }
    retire_active(tx, now)?;
    tx.execute(
        "UPDATE signing_keys SET status = 'active' WHERE key_id = ?1",
        [SqlKeyId(key_id)],
    )?;
    let activated = KeyRow {
        active: true,
        ..key
    };
    outbox::record(tx, &activated.record(), now)?;
    Ok(activated)
}

/// Every key, active first, then newest first.
pub fn list(conn: &Connection) -> StoreResult<Vec<KeyRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PUBLIC_COLUMNS} FROM signing_keys
         ORDER BY status = 'active' DESC, created_at DESC, key_id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A key by key id.
pub fn get(conn: &Connection, key_id: KeyId) -> StoreResult<Option<KeyRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PUBLIC_COLUMNS} FROM signing_keys WHERE key_id = ?1"),
            [SqlKeyId(key_id)],
            from_row,
        )
        .optional()?)
}

/// A key by key id (hex, any case) or by name (any case).
pub fn find(conn: &Connection, id_or_name: &str) -> StoreResult<Option<KeyRow>> {
    let text = id_or_name.trim();
    if let Ok(key_id) = text.parse::<KeyId>()
        && let Some(key) = get(conn, key_id)?
    {
        return Ok(Some(key));
    }
    Ok(conn
        .query_row(
            &format!("SELECT {PUBLIC_COLUMNS} FROM signing_keys WHERE name = ?1"),
            [text],
            from_row,
        )
        .optional()?)
}

/// The active key, if any.
pub fn active(conn: &Connection) -> StoreResult<Option<KeyRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PUBLIC_COLUMNS} FROM signing_keys WHERE status = 'active'"),
            [],
            from_row,
        )
        .optional()?)
}

/// The sealed (encrypted) key file of `key_id`. Only the writer's connection may read it.
pub fn sealed(conn: &Connection, key_id: KeyId) -> StoreResult<String> {
    conn.query_row(
        "SELECT sealed FROM signing_keys WHERE key_id = ?1",
        [SqlKeyId(key_id)],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "signing key",
        id: key_id.to_string(),
    })
}

/// Replaces the sealed form of a key (after a passphrase change).
pub fn reseal(tx: &Transaction<'_>, key_id: KeyId, sealed: &str) -> StoreResult<()> {
    let changed = tx.execute(
        "UPDATE signing_keys SET sealed = ?2 WHERE key_id = ?1",
        params![SqlKeyId(key_id), sealed],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "signing key",
            id: key_id.to_string(),
        });
    }
    Ok(())
}
