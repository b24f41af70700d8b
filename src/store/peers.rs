//! What this desk keeps of other desks' licensing (schemas 17 and 20): their public keys, to
//! check the licenses they signed; the links of their ledgers, to check each desk's chain entry
//! by entry as it arrives (the entries themselves are kept whole in the sync inbox); and the
//! revocation lists they published, to hand to those licenses' customers.

use super::StoreResult;
use super::sql::{Hash32, SqlKeyId};
use crate::domain::ids::{DeskId, LicenseId};
use licensekey::KeyId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Another desk's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerKey {
    pub key_id: KeyId,
    /// The desk that made it.
    pub desk_id: DeskId,
    pub name: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub active: bool,
    pub created_at: i64,
}

/// Stores another desk's key, or its new name and state.
pub fn put_key(tx: &Transaction<'_>, key: &PeerKey) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO peer_keys (key_id, desk_id, name, public_key, active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key_id) DO UPDATE SET name = excluded.name, active = excluded.active",
    )?
    .execute(params![
        SqlKeyId(key.key_id),
        key.desk_id,
        key.name,
        key.public_key,
        key.active,
        key.created_at
    ])?;
    Ok(())
}

/// Another desk's key by id.
pub fn key(conn: &Connection, key_id: KeyId) -> StoreResult<Option<PeerKey>> {
    Ok(conn
        .prepare_cached(
            "SELECT key_id, desk_id, name, public_key, active, created_at FROM peer_keys
             WHERE key_id = ?1",
        )?
        .query_row([SqlKeyId(key_id)], |r| {
            Ok(PeerKey {
                key_id: r.get::<_, SqlKeyId>(0)?.0,
                desk_id: r.get(1)?,
                name: r.get(2)?,
                public_key: r.get(3)?,
                active: r.get(4)?,
                created_at: r.get(5)?,
            })
        })
        .optional()?)
}

/// The hash of entry `seq` of `desk`'s ledger, if it is here.
pub fn entry_hash(conn: &Connection, desk: DeskId, seq: i64) -> StoreResult<Option<[u8; 32]>> {
    Ok(conn
        .prepare_cached("SELECT entry_hash FROM peer_ledger WHERE desk_id = ?1 AND seq = ?2")?
        .query_row(params![desk, seq], |r| r.get::<_, Hash32>(0))
        .optional()?
        .map(|h| h.0))
}

/// Adds entry `seq` of `desk`'s ledger (the caller checked it links to the one before).
pub fn add_entry(
    tx: &Transaction<'_>,
    desk: DeskId,
    seq: i64,
    action: &str,
    license_id: LicenseId,
    entry_hash: [u8; 32],
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO peer_ledger (desk_id, seq, action, license_id, entry_hash)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![desk, seq, action, license_id, Hash32(entry_hash)])?;
    Ok(())
}

/// True when `desk`'s ledger here holds the entry that issued `license_id`.
pub fn issued_by(conn: &Connection, desk: DeskId, license_id: LicenseId) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM peer_ledger
                            WHERE desk_id = ?1 AND license_id = ?2 AND action = 'issue')",
        )?
        .query_row(params![desk, license_id], |r| r.get(0))?)
}

/// A revocation list another desk published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRevocationList {
    pub desk_id: DeskId,
    pub sequence: u64,
    pub key_id: KeyId,
    pub issued_at: i64,
    /// The armored, signed list.
    pub file: String,
}

/// The list `desk` published as `sequence`, if it is here.
pub fn revocation_list(
    conn: &Connection,
    desk: DeskId,
    sequence: u64,
) -> StoreResult<Option<PeerRevocationList>> {
    Ok(conn
        .prepare_cached(
            "SELECT desk_id, sequence, key_id, issued_at, file FROM peer_revocation_lists
             WHERE desk_id = ?1 AND sequence = ?2",
        )?
        .query_row(params![desk, sequence], peer_list)
        .optional()?)
}

/// The newest list each other desk published, by desk.
pub fn latest_revocation_lists(conn: &Connection) -> StoreResult<Vec<PeerRevocationList>> {
    let mut stmt = conn.prepare_cached(
        "SELECT desk_id, max(sequence) AS sequence, key_id, issued_at, file
         FROM peer_revocation_lists GROUP BY desk_id ORDER BY desk_id",
    )?;
    let rows = stmt.query_map([], peer_list)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn peer_list(r: &rusqlite::Row<'_>) -> rusqlite::Result<PeerRevocationList> {
    Ok(PeerRevocationList {
        desk_id: r.get(0)?,
        sequence: r.get(1)?,
        key_id: r.get::<_, SqlKeyId>(2)?.0,
        issued_at: r.get(3)?,
        file: r.get(4)?,
    })
}

/// Keeps a list another desk published (the caller checked its signature).
pub fn add_revocation_list(tx: &Transaction<'_>, list: &PeerRevocationList) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO peer_revocation_lists (desk_id, sequence, key_id, issued_at, file)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        list.desk_id,
        list.sequence,
        SqlKeyId(list.key_id),
        list.issued_at,
        list.file
    ])?;
    Ok(())
}
