//! The issuance ledger: an append-only, hash-chained log of every license issued or revoked
//! (`docs/ledger.md`). [`verify`] walks the chain and everything it records and reports the
//! first thing that does not hold.

use super::outbox::{self, Change, LedgerRecord};
use super::sql::Hash32;
use super::{StoreError, StoreResult};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::ledger_chain::{
    self, Action, CURRENT_FORMAT, ChainEntry, GENESIS_HASH, artifact_hash, issue_record_hash,
    revoke_record_hash,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::collections::BTreeSet;

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub seq: i64,
    pub format: u8,
    pub action: String,
    pub license_id: LicenseId,
    pub payload_hash: [u8; 32],
    pub entry_hash: [u8; 32],
    pub operator: String,
    pub recorded_at: i64,
}

const COLUMNS: &str =
    "seq, format, action, license_id, payload_hash, entry_hash, operator, recorded_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<LedgerRow> {
    Ok(LedgerRow {
        seq: row.get("seq")?,
        format: row.get("format")?,
        action: row.get("action")?,
        license_id: row.get("license_id")?,
        payload_hash: row.get::<_, Hash32>("payload_hash")?.0,
        entry_hash: row.get::<_, Hash32>("entry_hash")?.0,
        operator: row.get("operator")?,
        recorded_at: row.get("recorded_at")?,
    })
}

/// The head of the chain: the last sequence number and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
}

/// The current head (sequence 0 and the genesis hash when empty).
pub fn head(conn: &Connection) -> StoreResult<Head> {
    let last: Option<(i64, Hash32)> = conn
        .query_row(
            "SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match last {
        None => Head {
            seq: 0,
            hash: GENESIS_HASH,
        },
        Some((seq, hash)) => Head { seq, hash: hash.0 },
    })
}

/// What a new entry records.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A license was issued: its signed bytes and the account it belongs to.
    Issue {
        artifact: &'a [u8],
        account: Option<AccountId>,
    },
    /// A license was revoked: the reason and time stored with it and the list published.
    Revoke {
        reason: &'a str,
        revoked_at: i64,
        list_bytes: &'a [u8],
    },
}

/// Appends an entry after `head` and returns the new head (with its outbox row). Callers that
/// append many entries keep the head themselves instead of reading it back each time.
pub fn append(
    tx: &Transaction<'_>,
    head: Head,
    license_id: LicenseId,
    record: Record<'_>,
    operator: &str,
    recorded_at: i64,
) -> StoreResult<Head> {
    let seq = head
        .seq
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("the ledger's sequence is exhausted".into()))?;
    let (action, payload_hash) = match record {
        Record::Issue { artifact, account } => {
            (Action::Issue, issue_record_hash(artifact, account))
        }
        Record::Revoke {
            reason,
            revoked_at,
            list_bytes,
        } => (
            Action::Revoke,
            revoke_record_hash(reason, revoked_at, list_bytes).map_err(chain_error)?,
        ),
    };
    let entry = ChainEntry {
        format: CURRENT_FORMAT,
        seq,
        action,
        license_id,
        payload_hash,
        prev_hash: head.hash,
        operator,
        recorded_at,
    };
    let hash = entry.hash().map_err(chain_error)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ledger (seq, format, action, license_id, payload_hash, entry_hash, operator, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        seq,
        CURRENT_FORMAT,
        action.as_str(),
        license_id,
        Hash32(payload_hash),
        Hash32(hash),
        operator,
        recorded_at
    ])?;
    outbox::record(
        tx,
        &Change::LedgerEntry(LedgerRecord {
            seq,
            format: CURRENT_FORMAT,
            action: action.as_str().to_string(),
            license_id,
            payload_hash: hex::encode(payload_hash),
            prev_hash: hex::encode(head.hash),
            entry_hash: hex::encode(hash),
            operator: operator.to_string(),
            recorded_at,
        }),
        recorded_at,
    )?;
    Ok(Head { seq, hash })
}

fn chain_error(e: ledger_chain::ChainError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A page of entries, newest first: before `before_seq` (keyset paging), or skipping `offset`
/// entries from the newest (a jump far down the list).
pub fn page(
    conn: &Connection,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<LedgerRow>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ledger WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(
        params![
            before_seq.unwrap_or(i64::MAX),
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of entries.
pub fn count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))?)
}

/// The entry that issued `license_id`, if this desk issued it.
pub fn issue_entry(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<LedgerRow>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM ledger WHERE action = 'issue' AND license_id = ?1 LIMIT 1"
            ),
            [license_id],
            from_row,
        )
        .optional()?)
}

/// Columns of the CSV export, in order.
pub const CSV_HEADER: [&str; 9] = [
    "seq",
    "recorded_at",
    "format",
    "action",
    "license_id",
    "operator",
    "payload_hash",
    "prev_hash",
    "entry_hash",
];

/// Writes every entry as CSV (header first, times in RFC 3339 UTC, hashes in hex) to `out`.
/// `progress` gets the count written so far and returns false to stop.
pub fn export_csv(
    conn: &Connection,
    out: &mut dyn std::io::Write,
    mut progress: impl FnMut(u64) -> bool,
) -> Result<ExportEnd, ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM ledger ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS_HASH;
    let mut done = 0u64;
    while let Some(row) = rows.next()? {
        let entry = from_row(row)?;
        writer.write_record([
            entry.seq.to_string(),
            crate::domain::time::rfc3339(entry.recorded_at),
            entry.format.to_string(),
            entry.action.clone(),
            entry.license_id.to_string(),
            entry.operator.clone(),
            hex::encode(entry.payload_hash),
            hex::encode(prev),
            hex::encode(entry.entry_hash),
        ])?;
        prev = entry.entry_hash;
        done += 1;
        if !progress(done) {
            writer.flush()?;
            return Ok(ExportEnd::Cancelled { written: done });
        }
    }
    writer.flush()?;
    Ok(ExportEnd::Complete { written: done })
}

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportEnd {
    Complete { written: u64 },
    Cancelled { written: u64 },
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the CSV: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Store(e.into())
    }
}

/// The outcome of checking the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every link and every record holds.
    Intact { entries: i64, head: [u8; 32] },
    /// The first thing that does not hold, at an entry when it is about one.
    Broken { at: Option<i64>, reason: String },
}

impl ChainReport {
    fn at(seq: i64, reason: impl Into<String>) -> Self {
        ChainReport::Broken {
            at: Some(seq),
            reason: reason.into(),
        }
    }

    fn whole(reason: impl Into<String>) -> Self {
        ChainReport::Broken {
            at: None,
            reason: reason.into(),
        }
    }
}

/// Walks the whole ledger (see `docs/ledger.md`, "Verifying"): sequence numbers without gaps;
/// each entry's hash recomputed from its fields and the previous entry's hash; each issue
/// entry's record recomputed from the license row it issued, and every column of that row
/// compared with the signed artifact; each revocation's record recomputed from the revocation
/// row and the stored list published with it; and afterwards, that no license, revocation or
/// list exists without its entry and that every license's status is what the entries say.
/// `progress` is called with the number of entries checked.
pub fn verify(conn: &Connection, mut progress: impl FnMut(i64)) -> StoreResult<ChainReport> {
    let mut stmt = conn.prepare(&format!(
        "SELECT l.seq, l.format, l.action, l.license_id, l.payload_hash, l.entry_hash,
                l.operator, l.recorded_at, {license},
                r.reason AS reason, r.revoked_at AS revoked_at, rl.file AS list_file
         FROM ledger l
         LEFT JOIN licenses c ON l.action = 'issue' AND c.license_id = l.license_id
         LEFT JOIN revocations r ON l.action = 'revoke' AND r.license_id = l.license_id
         LEFT JOIN revocation_lists rl ON l.action = 'revoke' AND rl.ledger_seq = l.seq
         ORDER BY l.seq",
        license = super::licenses::aliased_columns("c", "c_")
    ))?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH;
    let mut issued = 0u64;
    let mut revoked = BTreeSet::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get("seq")?;
        if seq != expected_seq {
            return Ok(ChainReport::at(
                expected_seq,
                format!("entry {expected_seq} is missing (next entry is {seq})"),
            ));
        }
        let entry = match from_row(row) {
            Ok(entry) => entry,
            Err(_) => return Ok(ChainReport::at(seq, "the entry's fields are malformed")),
        };
        let Some(action) = Action::parse(&entry.action) else {
            return Ok(ChainReport::at(
                seq,
                format!("unknown action '{}'", entry.action),
            ));
        };
        let chain = ChainEntry {
            format: entry.format,
            seq,
            action,
            license_id: entry.license_id,
            payload_hash: entry.payload_hash,
            prev_hash: prev,
            operator: &entry.operator,
            recorded_at: entry.recorded_at,
        };
        match chain.hash() {
            Ok(hash) if hash == entry.entry_hash => prev = hash,
            Ok(_) => {
                return Ok(ChainReport::at(
                    seq,
                    "its contents were changed (hash does not match)",
                ));
            }
            Err(e) => return Ok(ChainReport::at(seq, e.to_string())),
        }
        let problem = match action {
            Action::Issue => {
                issued += 1;
                check_issue(row, &entry)?
            }
            Action::Revoke => {
                revoked.insert(entry.license_id);
                check_revoke(row, &entry)?
            }
        };
        if let Some(reason) = problem {
            return Ok(ChainReport::at(seq, reason));
        }
        expected_seq += 1;
        if expected_seq % 1000 == 0 {
            progress(expected_seq - 1);
        }
    }
    drop(rows);
    progress(expected_seq - 1);
    if let Some(report) = check_nothing_outside(conn, issued, &revoked)? {
        return Ok(report);
    }
    Ok(ChainReport::Intact {
        entries: expected_seq - 1,
        head: prev,
    })
}

/// Reads whatever is stored in a BLOB column: an edit may have turned it into text.
fn raw_bytes(row: &Row<'_>, column: &str) -> StoreResult<Option<Vec<u8>>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(column)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
        ValueRef::Integer(i) => Some(i.to_be_bytes().to_vec()),
        ValueRef::Real(f) => Some(f.to_be_bytes().to_vec()),
    })
}

fn check_issue(row: &Row<'_>, entry: &LedgerRow) -> StoreResult<Option<String>> {
    let id = entry.license_id;
    if row.get::<_, Option<i64>>("c_seq")?.is_none() {
        return Ok(Some(format!("license {id} is missing from the database")));
    }
    let Some(artifact) = raw_bytes(row, "c_artifact")? else {
        return Ok(Some(format!("license {id} has no artifact")));
    };
    let changed = || {
        Ok(Some(format!(
            "license {id} was changed after it was issued"
        )))
    };
    let expected = match entry.format {
        1 => artifact_hash(&artifact),
        _ => match row.get::<_, Option<AccountId>>("c_account_id") {
            Ok(account) => issue_record_hash(&artifact, account),
            Err(_) => return changed(),
        },
    };
    if expected != entry.payload_hash {
        return Ok(Some(format!(
            "license {id} was changed after it was issued (its signed bytes or its account)"
        )));
    }
    // The artifact is what was issued; every other column must say what it says.
    let Ok(stored) = super::licenses::read_row(row, "c_") else {
        return changed();
    };
    let Ok(license) = licensekey::SignedLicense::from_bytes(&artifact) else {
        return changed();
    };
    if let Some(column) = stored.column_differing_from(license.payload()) {
        return Ok(Some(format!(
            "license {id}: its {column} was changed after it was issued"
        )));
    }
    Ok(None)
}

fn check_revoke(row: &Row<'_>, entry: &LedgerRow) -> StoreResult<Option<String>> {
    let id = entry.license_id;
    let Some(file) = row.get::<_, Option<String>>("list_file")? else {
        return Ok(Some(format!(
            "the revocation list published when {id} was revoked is missing"
        )));
    };
    let list_bytes = match licensekey::SignedRevocationList::parse(&file) {
        Ok(list) => list.to_bytes(),
        Err(_) => {
            return Ok(Some(format!(
                "the revocation list published when {id} was revoked is damaged"
            )));
        }
    };
    let (Some(reason), Some(revoked_at)) = (
        row.get::<_, Option<String>>("reason")?,
        row.get::<_, Option<i64>>("revoked_at")?,
    ) else {
        return Ok(Some(format!("the revocation of {id} is missing")));
    };
    let expected = match entry.format {
        1 => artifact_hash(&list_bytes),
        _ => revoke_record_hash(&reason, revoked_at, &list_bytes).map_err(chain_error)?,
    };
    if expected != entry.payload_hash {
        return Ok(Some(format!(
            "the revocation of {id} or the list published with it was changed"
        )));
    }
    Ok(None)
}

/// After the walk: nothing the entries do not account for, and statuses as the entries say.
fn check_nothing_outside(
    conn: &Connection,
    issued: u64,
    revoked: &BTreeSet<LicenseId>,
) -> StoreResult<Option<ChainReport>> {
    let licenses = super::licenses::count(conn)?;
    if licenses != issued {
        let stray: Option<LicenseId> = conn
            .query_row(
                "SELECT c.license_id FROM licenses c WHERE NOT EXISTS
                   (SELECT 1 FROM ledger l WHERE l.action = 'issue' AND l.license_id = c.license_id)
                 LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        return Ok(Some(ChainReport::whole(match stray {
            Some(id) => format!("license {id} is in the database but has no ledger entry"),
            None => format!("{licenses} licenses are stored but {issued} were issued"),
        })));
    }
    let mut stmt = conn.prepare(
        "SELECT license_id, status FROM licenses WHERE status != 'active'
         UNION SELECT license_id, 'revocation' FROM revocations",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: LicenseId = row.get(0)?;
        if !revoked.contains(&id) {
            let status: String = row.get(1)?;
            return Ok(Some(ChainReport::whole(if status == "revocation" {
                format!("license {id} has a revocation that is not in the ledger")
            } else {
                format!("license {id} is marked {status} but the ledger never changed it")
            })));
        }
    }
    drop(rows);
    let mut active = conn.prepare_cached("SELECT status FROM licenses WHERE license_id = ?1")?;
    for id in revoked {
        let status: Option<String> = active.query_row([id], |r| r.get(0)).optional()?;
        if status.as_deref() != Some("revoked") {
            return Ok(Some(ChainReport::whole(format!(
                "license {id} was revoked in the ledger but is marked {}",
                status.as_deref().unwrap_or("missing")
            ))));
        }
    }
    let unlinked: Option<i64> = conn
        .query_row(
            "SELECT sequence FROM revocation_lists WHERE ledger_seq IS NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(sequence) = unlinked {
        return Ok(Some(ChainReport::whole(format!(
            "revocation list {sequence} is not tied to any ledger entry"
        ))));
    }
    Ok(None)
}

/// Walks the chain like [`verify`], then checks it still reaches the signed checkpoint's head:
/// entries cut off the end after the checkpoint was taken are reported as missing. The
/// checkpoint's signature is checked by the caller, against a key kept off this machine.
pub fn verify_against(
    conn: &Connection,
    checkpoint: &crate::domain::checkpoint::Checkpoint,
    progress: impl FnMut(i64),
) -> StoreResult<ChainReport> {
    let report = verify(conn, progress)?;
    let ChainReport::Intact { entries, .. } = &report else {
        return Ok(report);
    };
    let Ok(expected) = i64::try_from(checkpoint.entries) else {
        return Ok(ChainReport::whole(
            "the checkpoint names more entries than can exist",
        ));
    };
    if expected == 0 {
        return Ok(report);
    }
    if *entries < expected {
        let first = entries + 1;
        let missing = if first == expected {
            format!("entry {first} is missing")
        } else {
            format!("entries {first}–{expected} are missing")
        };
        return Ok(ChainReport::at(
            first,
            format!("{missing}: the ledger was cut off after the signed checkpoint"),
        ));
    }
    let hash: Option<Hash32> = conn
        .query_row(
            "SELECT entry_hash FROM ledger WHERE seq = ?1",
            [expected],
            |r| r.get(0),
        )
        .optional()?;
    if hash.map(|h| h.0) != Some(checkpoint.head) {
        return Ok(ChainReport::at(
            expected,
            "it differs from the signed checkpoint (the ledger was rewritten)",
        ));
    }
    Ok(report)
}
