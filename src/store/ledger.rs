//! The issuance ledger: an append-only, hash-chained log of every license issued, revoked,
//! changed in state or moved between accounts (`docs/ledger.md`). [`verify`] walks the chain
//! and everything it records and reports the first thing that does not hold.

use super::outbox::{self, Change, LedgerRecord};
use super::sql::Hash32;
use super::{StoreError, StoreResult};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::ledger_chain::{
    self, Action, CURRENT_FORMAT, ChainEntry, GENESIS_HASH, NOTHING_PUBLISHED, artifact_hash,
};
use crate::domain::license_status::{LicenseStatus, StatusChange};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;

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
    pub account_id: Option<AccountId>,
    /// The stored word of the state a status entry moves to.
    pub status: Option<String>,
    pub note: String,
}

const COLUMNS: &str = "seq, format, action, license_id, payload_hash, entry_hash, operator, recorded_at, account_id, status, note";

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
        account_id: row.get("account_id")?,
        status: row.get("status")?,
        note: row.get("note")?,
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
    /// A license was revoked for `reason`; `list` is the revocation list published with it.
    Revoke { reason: &'a str, list: &'a [u8] },
    /// A license moved to state `to`; `list` is the revocation list published with the change,
    /// when it changed what the list holds.
    Status {
        to: LicenseStatus,
        reason: &'a str,
        list: Option<&'a [u8]>,
    },
    /// A license moved to another account (or to none).
    Link {
        account: Option<AccountId>,
        reason: &'a str,
    },
}

impl Record<'_> {
    fn parts(
        &self,
    ) -> (
        Action,
        [u8; 32],
        Option<AccountId>,
        Option<LicenseStatus>,
        &str,
    ) {
        match *self {
            Record::Issue { artifact, account } => {
                (Action::Issue, artifact_hash(artifact), account, None, "")
            }
            Record::Revoke { reason, list } => (
                Action::Revoke,
                artifact_hash(list),
                None,
                Some(LicenseStatus::Revoked),
                reason,
            ),
            Record::Status { to, reason, list } => (
                Action::Status,
                list.map_or(NOTHING_PUBLISHED, artifact_hash),
                None,
                Some(to),
                reason,
            ),
            Record::Link { account, reason } => {
                (Action::Link, NOTHING_PUBLISHED, account, None, reason)
            }
        }
    }
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
    let (action, payload_hash, account, status, note) = record.parts();
    let entry = ChainEntry {
        format: CURRENT_FORMAT,
        seq,
        action,
        license_id,
        payload_hash,
        prev_hash: head.hash,
        operator,
        recorded_at,
        account,
        status,
        note,
    };
    let hash = entry.hash().map_err(chain_error)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ledger (seq, format, action, license_id, payload_hash, entry_hash, operator,
                             recorded_at, account_id, status, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let status = status.map(LicenseStatus::as_str);
    stmt.execute(params![
        seq,
        CURRENT_FORMAT,
        action.as_str(),
        license_id,
        Hash32(payload_hash),
        Hash32(hash),
        operator,
        recorded_at,
        account,
        status,
        note
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
            account_id: account,
            status: status.map(str::to_string),
            note: note.to_string(),
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
pub const CSV_HEADER: [&str; 12] = [
    "seq",
    "recorded_at",
    "format",
    "action",
    "license_id",
    "account_id",
    "status",
    "note",
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
            entry.account_id.map(|a| a.to_string()).unwrap_or_default(),
            entry.status.clone().unwrap_or_default(),
            entry.note.clone(),
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

/// What the entries say a license's account and state are, for the licenses whose row could
/// not be confirmed when they were issued (they changed later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Replayed {
    account: Option<AccountId>,
    status: LicenseStatus,
}

/// Walks the whole ledger (see `docs/ledger.md`, "Verifying"): sequence numbers without gaps;
/// each entry's hash recomputed from its fields and the previous entry's hash; each issue
/// entry's artifact compared with the license row it issued, and every column of that row
/// with the signed artifact; each revocation against its row and the list published with it;
/// each state change allowed by the state machine; and afterwards, that no license,
/// revocation or list exists without its entry and that every license's account and state are
/// what the entries say. `progress` is called with the number of entries checked.
pub fn verify(conn: &Connection, mut progress: impl FnMut(i64)) -> StoreResult<ChainReport> {
    let mut stmt = conn.prepare(&format!(
        "SELECT l.seq, l.format, l.action, l.license_id, l.payload_hash, l.entry_hash,
                l.operator, l.recorded_at, l.account_id, l.status, l.note, {license},
                r.reason AS reason, r.revoked_at AS revoked_at, rl.file AS list_file
         FROM ledger l
         LEFT JOIN licenses c ON l.action = 'issue' AND c.license_id = l.license_id
         LEFT JOIN revocations r ON l.action = 'revoke' AND r.license_id = l.license_id
         LEFT JOIN revocation_lists rl ON rl.ledger_seq = l.seq
         ORDER BY l.seq",
        license = super::licenses::aliased_columns("c", "c_")
    ))?;
    let mut rows = stmt.query([])?;
    let mut walk = Walk {
        conn,
        expected_seq: 1,
        prev: GENESIS_HASH,
        issued: 0,
        revocations: 0,
        lists: 0,
        replayed: HashMap::new(),
    };
    while let Some(row) = rows.next()? {
        if let Some(report) = walk.step(row)? {
            return Ok(report);
        }
        if walk.expected_seq % 1000 == 0 {
            progress(walk.expected_seq - 1);
        }
    }
    drop(rows);
    progress(walk.expected_seq - 1);
    if let Some(report) = walk.finish()? {
        return Ok(report);
    }
    Ok(ChainReport::Intact {
        entries: walk.expected_seq - 1,
        head: walk.prev,
    })
}

/// The state of one walk along the chain.
struct Walk<'c> {
    conn: &'c Connection,
    expected_seq: i64,
    prev: [u8; 32],
    issued: u64,
    revocations: u64,
    lists: u64,
    replayed: HashMap<LicenseId, Replayed>,
}

impl Walk<'_> {
    /// Checks one entry; `Some` is the first problem found.
    fn step(&mut self, row: &Row<'_>) -> StoreResult<Option<ChainReport>> {
        let seq: i64 = row.get("seq")?;
        if seq != self.expected_seq {
            let expected = self.expected_seq;
            return Ok(Some(ChainReport::at(
                expected,
                format!("entry {expected} is missing (next entry is {seq})"),
            )));
        }
        let Ok(entry) = from_row(row) else {
            return Ok(Some(ChainReport::at(
                seq,
                "the entry's fields are malformed",
            )));
        };
        let Some(action) = Action::parse(&entry.action) else {
            return Ok(Some(ChainReport::at(
                seq,
                format!("unknown action '{}'", entry.action),
            )));
        };
        let status = match entry.status.as_deref().map(LicenseStatus::parse) {
            None => None,
            Some(Some(status)) => Some(status),
            Some(None) => return Ok(Some(ChainReport::at(seq, "its state is unknown"))),
        };
        let chain = ChainEntry {
            format: entry.format,
            seq,
            action,
            license_id: entry.license_id,
            payload_hash: entry.payload_hash,
            prev_hash: self.prev,
            operator: &entry.operator,
            recorded_at: entry.recorded_at,
            account: entry.account_id,
            status,
            note: &entry.note,
        };
        match chain.hash() {
            Ok(hash) if hash == entry.entry_hash => self.prev = hash,
            Ok(_) => {
                return Ok(Some(ChainReport::at(
                    seq,
                    "its contents were changed (hash does not match)",
                )));
            }
            Err(e) => return Ok(Some(ChainReport::at(seq, e.to_string()))),
        }
        let problem = match action {
            Action::Issue => self.check_issue(row, &entry)?,
            Action::Revoke => self.check_revoke(row, &entry)?,
            Action::Status => self.check_status(row, &entry, status)?,
            Action::Link => self.change(&entry, |state| {
                state.account = entry.account_id;
                Ok(())
            })?,
        };
        self.expected_seq += 1;
        Ok(problem.map(|reason| ChainReport::at(seq, reason)))
    }

    fn check_issue(&mut self, row: &Row<'_>, entry: &LedgerRow) -> StoreResult<Option<String>> {
        self.issued += 1;
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
        if artifact_hash(&artifact) != entry.payload_hash {
            return changed();
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
        // Account and state as issued; a license changed later is settled after the walk.
        let issued = Replayed {
            account: entry.account_id,
            status: LicenseStatus::Active,
        };
        if entry.format == 1 {
            // Format 1 did not record the account: take the row's.
            self.replayed.remove(&id);
            if stored.status != LicenseStatus::Active {
                self.replayed.insert(
                    id,
                    Replayed {
                        account: stored.account_id,
                        status: LicenseStatus::Active,
                    },
                );
            }
        } else if stored.account_id != issued.account || stored.status != issued.status {
            self.replayed.insert(id, issued);
        }
        Ok(None)
    }

    fn check_revoke(&mut self, row: &Row<'_>, entry: &LedgerRow) -> StoreResult<Option<String>> {
        self.revocations += 1;
        let id = entry.license_id;
        let (Some(reason), Some(revoked_at)) = (
            row.get::<_, Option<String>>("reason")?,
            row.get::<_, Option<i64>>("revoked_at")?,
        ) else {
            return Ok(Some(format!("the revocation of {id} is missing")));
        };
        if entry.format != 1 && (reason != entry.note || revoked_at != entry.recorded_at) {
            return Ok(Some(format!(
                "the revocation of {id} was changed (its reason or time)"
            )));
        }
        if let Some(problem) = self.check_list(row, entry, true)? {
            return Ok(Some(problem));
        }
        self.change(entry, |state| {
            state.status = state.status.apply(StatusChange::Revoke)?;
            Ok(())
        })
    }

    fn check_status(
        &mut self,
        row: &Row<'_>,
        entry: &LedgerRow,
        to: Option<LicenseStatus>,
    ) -> StoreResult<Option<String>> {
        let Some(to) = to else {
            return Ok(Some("a state change without a state".into()));
        };
        let published = entry.payload_hash != NOTHING_PUBLISHED;
        if let Some(problem) = self.check_list(row, entry, published)? {
            return Ok(Some(problem));
        }
        self.change(entry, |state| {
            let change = match (state.status, to) {
                (LicenseStatus::Active, LicenseStatus::Suspended) => StatusChange::Suspend,
                (LicenseStatus::Suspended, LicenseStatus::Active) => StatusChange::Enable,
                (_, LicenseStatus::Superseded) => StatusChange::Supersede,
                (_, LicenseStatus::Deleted) => StatusChange::Delete,
                (_, LicenseStatus::Revoked) => StatusChange::Revoke,
                (from, to) => {
                    return Err(crate::domain::license_status::TransitionError {
                        change: "move",
                        from: from.as_str(),
                        why: if to == from {
                            "it is already in that state"
                        } else {
                            "that change is not in the state machine"
                        },
                    });
                }
            };
            state.status = state.status.apply(change)?;
            Ok(())
        })
    }

    /// Checks the revocation list tied to this entry, if it published one.
    fn check_list(
        &mut self,
        row: &Row<'_>,
        entry: &LedgerRow,
        published: bool,
    ) -> StoreResult<Option<String>> {
        let id = entry.license_id;
        let file = row.get::<_, Option<String>>("list_file")?;
        match (published, file) {
            (false, None) => Ok(None),
            (false, Some(_)) => Ok(Some(format!(
                "a revocation list is tied to an entry about {id} that published none"
            ))),
            (true, None) => Ok(Some(format!(
                "the revocation list published with the change to {id} is missing"
            ))),
            (true, Some(file)) => {
                self.lists += 1;
                let bytes = licensekey::SignedRevocationList::parse(&file)
                    .map(|l| l.to_bytes())
                    .ok();
                if bytes.is_some_and(|b| artifact_hash(&b) == entry.payload_hash) {
                    Ok(None)
                } else {
                    Ok(Some(format!(
                        "the revocation list published with the change to {id} was changed"
                    )))
                }
            }
        }
    }

    /// Applies a later entry to a license's replayed account and state.
    fn change(
        &mut self,
        entry: &LedgerRow,
        apply: impl FnOnce(&mut Replayed) -> Result<(), crate::domain::license_status::TransitionError>,
    ) -> StoreResult<Option<String>> {
        let id = entry.license_id;
        let state = match self.replayed.get(&id) {
            Some(state) => *state,
            None => {
                // Not replayed yet: its row matched what it was issued with, so the row's
                // account and state are where the entries left it before this one.
                match super::licenses::get(self.conn, id)? {
                    Some(row) => Replayed {
                        account: row.account_id,
                        status: LicenseStatus::Active,
                    },
                    None => {
                        return Ok(Some(format!(
                            "an entry changes license {id}, which was never issued here"
                        )));
                    }
                }
            }
        };
        let mut next = state;
        if let Err(refused) = apply(&mut next) {
            return Ok(Some(format!("license {id}: {refused}")));
        }
        self.replayed.insert(id, next);
        Ok(None)
    }

    /// After the walk: nothing the entries do not account for, and every license changed later
    /// ends where the entries say.
    fn finish(&self) -> StoreResult<Option<ChainReport>> {
        let licenses = super::licenses::count(self.conn)?;
        if licenses != self.issued {
            let stray: Option<LicenseId> = self
                .conn
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
                None => format!(
                    "{licenses} licenses are stored but {} were issued",
                    self.issued
                ),
            })));
        }
        let revocations: u64 =
            self.conn
                .query_row("SELECT count(*) FROM revocations", [], |r| r.get(0))?;
        if revocations != self.revocations {
            return Ok(Some(ChainReport::whole(format!(
                "{revocations} revocations are stored but the ledger records {}",
                self.revocations
            ))));
        }
        let lists: u64 = self
            .conn
            .query_row("SELECT count(*) FROM revocation_lists", [], |r| r.get(0))?;
        if lists != self.lists {
            let stray: Option<i64> = self
                .conn
                .query_row(
                    "SELECT sequence FROM revocation_lists WHERE ledger_seq IS NULL
                        OR ledger_seq NOT IN (SELECT seq FROM ledger) LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            return Ok(Some(ChainReport::whole(match stray {
                Some(sequence) => {
                    format!("revocation list {sequence} is not tied to any ledger entry")
                }
                None => format!(
                    "{lists} revocation lists are stored but {} were published",
                    self.lists
                ),
            })));
        }
        // Licenses no later entry changed must still be as issued.
        let mut unchanged = self
            .conn
            .prepare("SELECT license_id, status FROM licenses WHERE status != 'active'")?;
        let mut rows = unchanged.query([])?;
        while let Some(row) = rows.next()? {
            let id: LicenseId = row.get(0)?;
            if !self.replayed.contains_key(&id) {
                let status: String = row.get(1)?;
                return Ok(Some(ChainReport::whole(format!(
                    "license {id} is marked {status} but the ledger never changed it"
                ))));
            }
        }
        drop(rows);
        for (id, expected) in &self.replayed {
            let Some(row) = super::licenses::get(self.conn, *id)? else {
                continue;
            };
            if row.status != expected.status {
                return Ok(Some(ChainReport::whole(format!(
                    "license {id} is marked {} but the ledger says {}",
                    row.status.as_str(),
                    expected.status.as_str()
                ))));
            }
            if row.account_id != expected.account {
                return Ok(Some(ChainReport::whole(format!(
                    "license {id} was moved to another account without a ledger entry"
                ))));
            }
        }
        Ok(None)
    }
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
