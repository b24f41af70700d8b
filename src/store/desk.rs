//! This desk's identity, its revocation list tag, the blocks of wallet IDs it may hand out, and
//! the series it numbers documents in (set by its first block from a portal).
//!
//! Wallet IDs must stay unique when several desks sync through a portal, so a desk only
//! allocates numbers inside blocks it holds (the rule is written in ARCHITECTURE.md, "Wallet
//! IDs"). A new desk holds the local block 100–99,999; a portal later confirms that block or
//! hands out others. An account whose number was not allocated from a confirmed block is marked
//! provisional and shown as such.

use super::{StoreError, StoreResult};
use crate::commerce::numbering::Series;
use crate::domain::ids::DeskId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

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

/// The `sync::apply::APPLIES_VERSION` of the build that last took this desk's waiting
/// changes (1: none has since they were first kept).
pub fn applies_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .query_row(
            "SELECT applies_version FROM desk WHERE singleton = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(1))
}

/// Notes that this build took the waiting changes.
pub fn set_applies_version(tx: &Transaction<'_>, version: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE desk SET applies_version = ?1 WHERE singleton = 1",
        [version],
    )?;
    Ok(())
}

/// The series this desk numbers documents in (`commerce::numbering::Series`): the main series
/// until it first holds a block from a portal other than its own confirmed one.
pub fn series(conn: &Connection) -> StoreResult<Series> {
    let text: Option<String> = conn
        .prepare_cached("SELECT series FROM desk WHERE singleton = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten();
    match text {
        None => Ok(Series::MAIN),
        Some(text) => Series::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("desk series '{text}' does not read"))),
    }
}

/// The series of a desk whose lowest block from the portal starts at `first_id`: the main
/// series for the first desk (it keeps its own block, below the granted ones); B for the desk
/// granted the first new block, C for the second, and so on ([`Series::nth`]).
pub fn series_for_block(first_id: i64) -> Option<Series> {
    use portal::protocol::{FIRST_GRANTED_WALLET_ID, WALLET_BLOCK_SIZE};
    if first_id < FIRST_GRANTED_WALLET_ID {
        return Some(Series::MAIN);
    }
    let granted_before =
        u64::try_from((first_id - FIRST_GRANTED_WALLET_ID) / WALLET_BLOCK_SIZE).ok()?;
    Series::nth(granted_before + 1)
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

/// A block of wallet IDs this desk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletBlock {
    pub first_id: i64,
    pub last_id: i64,
    pub next_id: i64,
    /// True when the portal granted or confirmed it; false for the block a desk numbers from
    /// on its own before it first syncs.
    pub from_portal: bool,
}

/// The blocks this desk holds, lowest first.
pub fn wallet_blocks(conn: &Connection) -> StoreResult<Vec<WalletBlock>> {
    let mut stmt = conn.prepare_cached(
        "SELECT first_id, last_id, next_id, source FROM wallet_blocks ORDER BY first_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(WalletBlock {
            first_id: r.get(0)?,
            last_id: r.get(1)?,
            next_id: r.get(2)?,
            from_portal: r.get::<_, String>(3)? == "portal",
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Takes the blocks the portal says this desk holds: each is kept (a block it already numbers
/// from keeps its place); the desk's own block, when the portal did not confirm it, is given
/// up. Returns the accounts numbered outside the held blocks (from the given-up block, or
/// provisional), for the caller to renumber.
pub fn hold_blocks(
    tx: &Transaction<'_>,
    granted: &[(i64, i64)],
    now: i64,
) -> StoreResult<Vec<crate::domain::ids::AccountId>> {
    for (first, last) in granted {
        tx.execute(
            "INSERT INTO wallet_blocks (first_id, last_id, next_id, source, assigned_at)
             VALUES (?1, ?2, ?1, 'portal', ?3)
             ON CONFLICT (first_id) DO UPDATE SET source = 'portal', last_id = excluded.last_id",
            params![first, last, now],
        )?;
    }
    tx.execute("DELETE FROM wallet_blocks WHERE source = 'local'", [])?;
    if let Some(lowest) = granted.iter().map(|(first, _)| *first).min() {
        let series = series_for_block(lowest).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the wallet block from {lowest} is past the last document series"
            ))
        })?;
        tx.execute(
            "UPDATE desk SET series = ?1 WHERE singleton = 1",
            [(!series.is_main()).then(|| series.as_str().to_string())],
        )?;
    }
    let mut stmt = tx.prepare(
        "SELECT id FROM accounts a WHERE NOT EXISTS (
             SELECT 1 FROM wallet_blocks b
             WHERE a.wallet_id BETWEEN b.first_id AND b.last_id AND a.wallet_final = 1)
         ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
