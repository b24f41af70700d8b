//! Revocations and the signed revocation lists published from them. Each list is tied to the
//! ledger entry of the revocation that published it.

use super::outbox::{self, Change, RevocationListRecord};
use super::sql::SqlKeyId;
use super::{StoreError, StoreResult};
use crate::domain::ids::LicenseId;
use licensekey::KeyId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Records that `license_id` is revoked. Revoking twice is refused.
pub fn insert(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    let inserted = tx.execute(
        "INSERT INTO revocations (license_id, reason, revoked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (license_id) DO NOTHING",
        params![license_id, reason, now],
    )?;
    if inserted == 0 {
        return Err(StoreError::Duplicate {
            what: "revocation of license",
            value: license_id.to_string(),
        });
    }
    Ok(())
}

/// Every revoked license id, ascending.
pub fn revoked_ids(conn: &Connection) -> StoreResult<Vec<LicenseId>> {
    let mut stmt = conn.prepare_cached("SELECT license_id FROM revocations ORDER BY license_id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// True when the license is revoked.
pub fn is_revoked(conn: &Connection, license_id: LicenseId) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM revocations WHERE license_id = ?1)",
        [license_id],
        |r| r.get(0),
    )?)
}

/// The highest sequence this desk published (its tag in the low bits), if any.
pub fn last_own_sequence(
    conn: &Connection,
    tag: licensekey::SequenceTag,
) -> StoreResult<Option<u64>> {
    let mask = (1u64 << licensekey::SEQUENCE_TAG_BITS) - 1;
    Ok(conn.query_row(
        "SELECT max(sequence) FROM revocation_lists WHERE (sequence & ?1) = ?2",
        rusqlite::params![mask, tag.value()],
        |r| r.get(0),
    )?)
}

/// The highest sequence number published so far (0 before the first list).
pub fn last_list_sequence(conn: &Connection) -> StoreResult<u64> {
    let last: Option<u64> =
        conn.query_row("SELECT max(sequence) FROM revocation_lists", [], |r| {
            r.get(0)
        })?;
    Ok(last.unwrap_or(0))
}

/// A published list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredList {
    pub sequence: u64,
    pub key_id: KeyId,
    pub issued_at: i64,
    pub file: String,
    pub ledger_seq: Option<i64>,
}

/// Keeps a published list, tied to the ledger entry that published it.
pub fn save_list(tx: &Transaction<'_>, list: &StoredList, now: i64) -> StoreResult<()> {
    let sequence = i64::try_from(list.sequence)
        .map_err(|_| StoreError::Corrupt(format!("sequence {} is too large", list.sequence)))?;
    tx.execute(
        "INSERT INTO revocation_lists (sequence, key_id, issued_at, file, ledger_seq)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            sequence,
            SqlKeyId(list.key_id),
            list.issued_at,
            list.file,
            list.ledger_seq
        ],
    )?;
    // The outbox holds the list by its number: the list itself is read when it is pushed,
    // so a desk that never syncs does not keep every list twice.
    outbox::record(
        tx,
        &Change::RevocationListRef {
            sequence: list.sequence,
        },
        now,
    )?;
    Ok(())
}

/// The newest published list, if any.
pub fn latest_list(conn: &Connection) -> StoreResult<Option<StoredList>> {
    one_list(conn, "ORDER BY sequence DESC LIMIT 1", [])
}

/// The list published as `sequence`, if any.
pub fn list(conn: &Connection, sequence: u64) -> StoreResult<Option<StoredList>> {
    let Ok(sequence) = i64::try_from(sequence) else {
        return Ok(None);
    };
    one_list(conn, "WHERE sequence = ?1", [sequence])
}

/// The one list `which` (a WHERE or ORDER BY clause) picks.
fn one_list(
    conn: &Connection,
    which: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<StoredList>> {
    let sql = format!(
        "SELECT sequence, key_id, issued_at, file, ledger_seq FROM revocation_lists {which}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params, |r| {
            Ok(StoredList {
                sequence: r.get(0)?,
                key_id: r.get::<_, SqlKeyId>(1)?.0,
                issued_at: r.get(2)?,
                file: r.get(3)?,
                ledger_seq: r.get(4)?,
            })
        })
        .optional()?)
}

impl StoredList {
    /// The list as it syncs.
    pub fn record(&self) -> RevocationListRecord {
        RevocationListRecord {
            sequence: self.sequence,
            key_id: self.key_id.to_string(),
            issued_at: self.issued_at,
            file: self.file.clone(),
        }
    }
}
