//! Signing keys repository. Only sealed (encrypted) private keys are stored; one key is active
//! (it signs new licenses), retired keys keep verifying the licenses they signed.

use super::{StoreError, StoreResult, is_unique_violation};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// A key as listed: public facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Hex key id (what artifacts carry).
    pub key_id: String,
    pub name: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub active: bool,
    pub created_at: i64,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        key_id: row.get("key_id")?,
        name: row.get("name")?,
        public_key: row.get("public_key")?,
        active: row.get::<_, String>("status")? == "active",
        created_at: row.get("created_at")?,
    })
}

/// Stores a sealed key. The first key becomes active.
pub fn insert(tx: &Transaction<'_>, key: &KeyRow, sealed: &str) -> StoreResult<KeyRow> {
    let has_active: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE status = 'active')",
        [],
        |r| r.get(0),
    )?;
    let active = key.active || !has_active;
    if active {
        tx.execute(
            "UPDATE signing_keys SET status = 'retired' WHERE status = 'active'",
            [],
        )?;
    }
    tx.execute(
        "INSERT INTO signing_keys (key_id, name, public_key, sealed, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.key_id,
            key.name,
            key.public_key,
            sealed,
            if active { "active" } else { "retired" },
            key.created_at
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!(
                "Key: a key named '{}' or with key id {} is already in the vault",
                key.name, key.key_id
            ))
        } else {
            e.into()
        }
    })?;
    Ok(KeyRow {
        active,
        ..key.clone()
    })
}

/// Makes `key_id` the signing key; the previous one retires (and keeps verifying).
pub fn activate(tx: &Transaction<'_>, key_id: &str) -> StoreResult<()> {
    find(tx, key_id)?.ok_or_else(|| StoreError::NotFound(format!("key {key_id}")))?;
    tx.execute(
        "UPDATE signing_keys SET status = 'retired' WHERE status = 'active'",
        [],
    )?;
    tx.execute(
        "UPDATE signing_keys SET status = 'active' WHERE key_id = ?1",
        [key_id],
    )?;
    Ok(())
}

/// Every key, active first, then newest first.
pub fn list(conn: &Connection) -> StoreResult<Vec<KeyRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM signing_keys ORDER BY status = 'active' DESC, created_at DESC, key_id",
    )?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A key by key id (hex, any case) or by name (any case).
pub fn find(conn: &Connection, id_or_name: &str) -> StoreResult<Option<KeyRow>> {
    Ok(conn
        .query_row(
            "SELECT * FROM signing_keys WHERE key_id = lower(?1) OR name = ?1",
            [id_or_name.trim()],
            from_row,
        )
        .optional()?)
}

/// The active key, if any.
pub fn active(conn: &Connection) -> StoreResult<Option<KeyRow>> {
    Ok(conn
        .query_row(
            "SELECT * FROM signing_keys WHERE status = 'active'",
            [],
            from_row,
        )
        .optional()?)
}

/// The sealed (encrypted) key file of `key_id`.
pub fn sealed(conn: &Connection, key_id: &str) -> StoreResult<String> {
    conn.query_row(
        "SELECT sealed FROM signing_keys WHERE key_id = ?1",
        [key_id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("key {key_id}")))
}

/// Replaces the sealed form of a key (after a passphrase change).
pub fn reseal(tx: &Transaction<'_>, key_id: &str, sealed: &str) -> StoreResult<()> {
    let changed = tx.execute(
        "UPDATE signing_keys SET sealed = ?2 WHERE key_id = ?1",
        params![key_id, sealed],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("key {key_id}")));
    }
    Ok(())
}
