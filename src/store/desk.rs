//! This desk's identity, its revocation list tag, and the blocks of wallet IDs it may hand out.
//!
//! Wallet IDs must stay unique when several desks sync through a portal, so a desk only
//! allocates numbers inside blocks it holds (the rule is written in ARCHITECTURE.md, "Wallet
//! IDs"). A new desk holds the local block 100–99,999; a portal later confirms that block or
//! hands out others. An account whose number was not allocated from a confirmed block is marked
//! provisional and shown as such.

use super::{StoreError, StoreResult};
use crate::domain::ids::DeskId;
use rusqlite::{Connection, OptionalExtension, Transaction};

/// The first block every desk starts with.
pub const LOCAL_BLOCK: (i64, i64) = (100, 99_999);

/// This desk's id, creating it (and the local wallet block) on first use.
pub fn ensure(tx: &Transaction<'_>) -> StoreResult<DeskId> {
    if let Some(id) = desk_id(tx)? {
        return Ok(id);
    }
    let id = DeskId::new();
    let tag = licensekey::SequenceTag::random()
        .map_err(|e| StoreError::Corrupt(format!("no random tag for this desk: {e}")))?;
    tx.execute(
        "INSERT INTO desk (singleton, desk_id, revocation_tag, created_at)
         VALUES (1, ?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))",
        rusqlite::params![id, tag.value()],
    )?;
    let blocks: i64 = tx.query_row("SELECT count(*) FROM wallet_blocks", [], |r| r.get(0))?;
    if blocks == 0 {
        tx.execute(
            "INSERT INTO wallet_blocks (first_id, last_id, next_id, source, assigned_at)
             VALUES (?1, ?2, ?1, 'local', CAST(strftime('%s', 'now') AS INTEGER))",
            [LOCAL_BLOCK.0, LOCAL_BLOCK.1],
        )?;
    }
    Ok(id)
}

/// This desk's id, if the database has one yet.
pub fn desk_id(conn: &Connection) -> StoreResult<Option<DeskId>> {
    Ok(conn
        .query_row("SELECT desk_id FROM desk WHERE singleton = 1", [], |r| {
            r.get(0)
        })
        .optional()?)
}

/// This desk's tag in the low bits of the revocation list sequences it publishes, so desks
/// that share a signing key never publish two lists with one sequence.
pub fn revocation_tag(conn: &Connection) -> StoreResult<licensekey::SequenceTag> {
    let tag: u32 = conn.query_row(
        "SELECT revocation_tag FROM desk WHERE singleton = 1",
        [],
        |r| r.get(0),
    )?;
    licensekey::SequenceTag::from_u32(tag).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Takes the next wallet ID from the blocks this desk holds (numbers are never reused, also
/// after an account is deleted); `None` when every block is used up (the caller then hands out
/// a provisional number).
pub fn take_wallet_id(tx: &Transaction<'_>) -> StoreResult<Option<i64>> {
    let next: Option<(i64, i64)> = tx
        .query_row(
            "SELECT first_id, next_id FROM wallet_blocks WHERE next_id <= last_id
             ORDER BY first_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((block, id)) = next else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE wallet_blocks SET next_id = next_id + 1 WHERE first_id = ?1",
        [block],
    )?;
    Ok(Some(id))
}

/// A provisional wallet ID, above every block and every number in use, for an account made
/// when no block has room.
pub fn provisional_wallet_id(tx: &Transaction<'_>) -> StoreResult<i64> {
    let highest: i64 = tx.query_row(
        "SELECT max(coalesce((SELECT max(wallet_id) FROM accounts), 0),
                    coalesce((SELECT max(last_id) FROM wallet_blocks), 0))",
        [],
        |r| r.get(0),
    )?;
    highest
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("wallet IDs are exhausted".into()))
}
