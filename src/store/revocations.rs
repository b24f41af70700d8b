//! Revocations and the signed revocation lists published from them. Each list is tied to the
//! ledger entry of the revocation that published it.
//!
//! Each list names every license revoked when it was published, so keeping every list whole
//! would grow with the square of the revocations. A list is kept as what changed since the
//! list before it (the serials added and removed, its header and its signature), and whole
//! once every [`WHOLE_EVERY`] lists; reading one puts its bytes together again.

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

/// A list is kept whole when the lists kept as changes since the last whole one reach this
/// many (so reading one puts at most this many changes together).
pub const WHOLE_EVERY: usize = 32;

/// Length of a list's signature, at the end of its bytes.
const SIGNATURE_LEN: usize = 64;

/// Length of one serial (a license id) on a list.
const ID_LEN: usize = 16;

/// Keeps a published list, tied to the ledger entry that published it: as what changed since
/// the list before it, or whole (the first, every [`WHOLE_EVERY`]th, and one whose bytes
/// would not come back the same from its changes).
pub fn save_list(tx: &Transaction<'_>, list: &StoredList, now: i64) -> StoreResult<()> {
    let sequence = i64::try_from(list.sequence)
        .map_err(|_| StoreError::Corrupt(format!("sequence {} is too large", list.sequence)))?;
    let delta = delta_since_previous(tx, sequence, &list.file)?;
    tx.execute(
        "INSERT INTO revocation_lists (sequence, key_id, issued_at, file, ledger_seq,
                                       base_sequence, prefix, added, removed, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            sequence,
            SqlKeyId(list.key_id),
            list.issued_at,
            delta.is_none().then_some(&list.file),
            list.ledger_seq,
            delta.as_ref().map(|d| d.base),
            delta.as_ref().map(|d| &d.prefix),
            delta.as_ref().map(|d| &d.added),
            delta.as_ref().map(|d| &d.removed),
            delta.as_ref().map(|d| &d.signature),
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
    let sql =
        format!("SELECT sequence, key_id, issued_at, ledger_seq FROM revocation_lists {which}");
    let Some((sequence, key_id, issued_at, ledger_seq)) = conn
        .prepare_cached(&sql)?
        .query_row(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, SqlKeyId>(1)?.0,
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let file = file_of(conn, sequence)?
        .ok_or_else(|| StoreError::Corrupt(format!("revocation list {sequence} is gone")))?;
    Ok(Some(StoredList {
        sequence: sequence.unsigned_abs(),
        key_id,
        issued_at,
        file,
        ledger_seq,
    }))
}

/// The armored file of list `sequence` (None when there is no such list), put together from
/// the whole list it was kept against and what changed since.
pub fn file_of(conn: &Connection, sequence: i64) -> StoreResult<Option<String>> {
    let Some(chain) = Chain::read(conn, sequence)? else {
        return Ok(None);
    };
    let Some(last) = chain.changes.last() else {
        return Ok(Some(chain.whole));
    };
    let ids = chain.ids(sequence)?;
    last.file(&ids)
        .map(Some)
        .map_err(|e| corrupt(sequence, &e.to_string()))
}

/// A list as kept: the whole list its changes start from, and each list's changes since,
/// oldest first (none when it is kept whole).
struct Chain {
    whole_at: i64,
    whole: String,
    changes: Vec<Delta>,
}

impl Chain {
    /// Reads list `sequence` back along its changes to the whole list (None when there is no
    /// such list).
    fn read(conn: &Connection, sequence: i64) -> StoreResult<Option<Chain>> {
        let mut changes = Vec::new();
        let mut at = sequence;
        let whole = loop {
            let Some(kept) = Kept::read(conn, at)? else {
                return if changes.is_empty() {
                    Ok(None)
                } else {
                    Err(corrupt(at, "the list it was kept against is gone"))
                };
            };
            match kept {
                Kept::Whole(file) => break file,
                Kept::Changed(delta) => {
                    at = delta.base;
                    changes.push(delta);
                    if changes.len() > WHOLE_EVERY {
                        return Err(corrupt(
                            sequence,
                            "too many lists kept as changes before it",
                        ));
                    }
                }
            }
        };
        changes.reverse();
        Ok(Some(Chain {
            whole_at: at,
            whole,
            changes,
        }))
    }

    /// The serials of the list (`sequence` names it in errors), ascending.
    fn ids(&self, sequence: i64) -> StoreResult<Vec<[u8; ID_LEN]>> {
        let mut ids = ids_of(&self.whole)
            .ok_or_else(|| corrupt(self.whole_at, "the whole list is malformed"))?;
        for delta in &self.changes {
            ids = delta
                .apply(&ids)
                .ok_or_else(|| corrupt(sequence, "its changes are malformed"))?;
        }
        Ok(ids)
    }
}

fn corrupt(sequence: i64, why: &str) -> StoreError {
    StoreError::Corrupt(format!("revocation list {sequence}: {why}"))
}

/// `file` (list `sequence`) as what changed since the newest list before it; None when it is
/// kept whole: the first list, every [`WHOLE_EVERY`]th, one better kept whole (see
/// [`Delta::of`]), one whose bytes would not come back the same from its changes, and one
/// whose list before cannot be read (the damage is `verify`'s to report).
fn delta_since_previous(
    conn: &Connection,
    sequence: i64,
    file: &str,
) -> StoreResult<Option<Delta>> {
    let Some(base): Option<i64> = conn
        .prepare_cached("SELECT max(sequence) FROM revocation_lists WHERE sequence < ?1")?
        .query_row([sequence], |r| r.get(0))?
    else {
        return Ok(None);
    };
    let before = match Chain::read(conn, base) {
        Ok(Some(chain)) if chain.changes.len() < WHOLE_EVERY => match chain.ids(base) {
            Ok(ids) => ids,
            Err(StoreError::Corrupt(_)) => return Ok(None),
            Err(e) => return Err(e),
        },
        Ok(_) | Err(StoreError::Corrupt(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(delta) = Delta::of(base, &before, file) else {
        return Ok(None);
    };
    let back = delta.apply(&before).map(|ids| delta.file(&ids));
    if !matches!(back, Some(Ok(ref again)) if again == file) {
        return Ok(None);
    }
    Ok(Some(delta))
}

/// A list as stored: whole, or as what changed since another.
enum Kept {
    Whole(String),
    Changed(Delta),
}

impl Kept {
    fn read(conn: &Connection, sequence: i64) -> StoreResult<Option<Kept>> {
        let row = conn
            .prepare_cached(
                "SELECT file, base_sequence, prefix, added, removed, signature
                 FROM revocation_lists WHERE sequence = ?1",
            )?
            .query_row([sequence], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                ))
            })
            .optional()?;
        Ok(match row {
            None => None,
            Some((Some(file), None, None, None, None, None)) => Some(Kept::Whole(file)),
            Some((None, Some(base), Some(prefix), Some(added), Some(removed), Some(signature)))
                if base < sequence =>
            {
                Some(Kept::Changed(Delta {
                    base,
                    prefix,
                    added,
                    removed,
                    signature,
                }))
            }
            Some(_) => return Err(corrupt(sequence, "it is kept neither whole nor as changes")),
        })
    }
}

/// A list as what changed since list `base`: its bytes before the serials, the serials added
/// and removed (16 bytes each, ascending), and its signature.
struct Delta {
    base: i64,
    prefix: Vec<u8>,
    added: Vec<u8>,
    removed: Vec<u8>,
    signature: Vec<u8>,
}

impl Delta {
    /// `file` as what changed since list `base`; None when it is better kept whole (a list
    /// revoking keys, or one that does not parse).
    fn of(base: i64, before: &[[u8; ID_LEN]], file: &str) -> Option<Delta> {
        let list = licensekey::SignedRevocationList::parse(file).ok()?;
        if !list.list().revoked_keys.is_empty() {
            return None;
        }
        let bytes = list.to_bytes();
        let ids: Vec<[u8; ID_LEN]> = list
            .list()
            .revoked
            .iter()
            .map(|id| *id.as_bytes())
            .collect();
        let prefix_len = bytes
            .len()
            .checked_sub(SIGNATURE_LEN + ID_LEN * ids.len())?;
        let missing_from = |from: &[[u8; ID_LEN]], these: &[[u8; ID_LEN]]| -> Vec<u8> {
            these
                .iter()
                .filter(|id| from.binary_search(id).is_err())
                .flatten()
                .copied()
                .collect()
        };
        let (added, removed) = (missing_from(before, &ids), missing_from(&ids, before));
        Some(Delta {
            base,
            prefix: bytes[..prefix_len].to_vec(),
            added,
            removed,
            signature: bytes[bytes.len() - SIGNATURE_LEN..].to_vec(),
        })
    }

    /// The armored file of the list these changes made, naming `ids`.
    fn file(&self, ids: &[[u8; ID_LEN]]) -> licensekey::Result<String> {
        let mut bytes = self.prefix.clone();
        ids.iter().for_each(|id| bytes.extend_from_slice(id));
        bytes.extend_from_slice(&self.signature);
        licensekey::SignedRevocationList::from_bytes(&bytes).map(|list| list.to_file())
    }

    /// The serials of the list after these changes to `before` (ascending); None when the
    /// changes do not fit it.
    fn apply(&self, before: &[[u8; ID_LEN]]) -> Option<Vec<[u8; ID_LEN]>> {
        let split = |bytes: &[u8]| -> Option<Vec<[u8; ID_LEN]>> {
            let chunks = bytes.chunks_exact(ID_LEN);
            if !chunks.remainder().is_empty() {
                return None;
            }
            chunks.map(|c| c.try_into().ok()).collect()
        };
        let removed = split(&self.removed)?;
        let added = split(&self.added)?;
        let mut kept = Vec::with_capacity(before.len() + added.len());
        let mut gone = removed.iter().peekable();
        for id in before {
            if gone.peek() == Some(&id) {
                gone.next();
            } else {
                kept.push(*id);
            }
        }
        if gone.next().is_some() {
            return None;
        }
        kept.extend(added);
        kept.sort_unstable();
        Some(kept)
    }
}

/// The serials a whole list names, ascending.
fn ids_of(file: &str) -> Option<Vec<[u8; ID_LEN]>> {
    let list = licensekey::SignedRevocationList::parse(file).ok()?;
    Some(
        list.list()
            .revoked
            .iter()
            .map(|id| *id.as_bytes())
            .collect(),
    )
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
