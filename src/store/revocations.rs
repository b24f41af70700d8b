//! Revocations and the signed revocation lists published from them.

use super::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Records that `license_id` is revoked. Revoking twice is refused.
pub fn insert(tx: &Transaction<'_>, license_id: &str, reason: &str, now: i64) -> StoreResult<()> {
    let known = super::licenses::get(tx, license_id)?.is_some();
    if !known {
        return Err(StoreError::NotFound(format!("license {license_id}")));
    }
    let inserted = tx.execute(
        "INSERT INTO revocations (license_id, reason, revoked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (license_id) DO NOTHING",
        params![license_id, reason, now],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "License {license_id} is already revoked"
        )));
    }
    Ok(())
}

/// Every revoked license id.
pub fn revoked_ids(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT license_id FROM revocations ORDER BY license_id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// True when the license is revoked.
pub fn is_revoked(conn: &Connection, license_id: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM revocations WHERE license_id = ?1)",
        [license_id],
        |r| r.get(0),
    )?)
}

/// The sequence number the next published list gets.
pub fn next_list_sequence(conn: &Connection) -> StoreResult<u64> {
    let last: Option<i64> = conn
        .query_row("SELECT max(sequence) FROM revocation_lists", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    Ok(u64::try_from(last.unwrap_or(0)).unwrap_or(0) + 1)
}

/// Keeps a published list.
pub fn save_list(
    tx: &Transaction<'_>,
    sequence: u64,
    key_id: &str,
    issued_at: i64,
    file: &str,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO revocation_lists (sequence, key_id, issued_at, file) VALUES (?1, ?2, ?3, ?4)",
        params![
            i64::try_from(sequence).unwrap_or(i64::MAX),
            key_id,
            issued_at,
            file
        ],
    )?;
    Ok(())
}
