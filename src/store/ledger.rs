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

/// The columns of an entry as [`from_row_stored`] reads them; the account is kept in
/// `ledger_accounts`, once for every entry naming it.
const COLUMNS: &str = "seq, format, action, license_id, payload_hash, entry_hash, operator, \
    recorded_at, (SELECT la.account_id FROM ledger_accounts la WHERE la.id = account_ref) \
    AS account_id, status, note";

/// The note an issue entry carries when the license was issued from a request with a machine
/// key: this prefix, then the key in lower-case hex. The machine is registered to the license.
pub const REGISTERED_MACHINE: &str = "registered machine ";

/// An entry keeps its own hash when its sequence number is a multiple of this, or when it is
/// the last one its write added (the head as committed, see [`close_batch`]); the hash of an
/// entry between is derived along the chain from the last one kept, when read (at most this
/// many entries hashed again).
pub const HASH_KEPT_EVERY: i64 = 64;

/// A row as stored: `payload_hash` is all zeros when the entry keeps none (an issue entry
/// written from schema 6 on: its hash is that of the license's bytes) and `entry_hash` all
/// zeros when it keeps none (an entry a batch wrote from schema 24 on, see
/// [`HASH_KEPT_EVERY`]).
struct StoredRow {
    row: LedgerRow,
    payload_kept: bool,
    hash_kept: bool,
}

fn from_row_stored(row: &Row<'_>) -> rusqlite::Result<StoredRow> {
    let payload_hash: Option<Hash32> = row.get("payload_hash")?;
    let entry_hash: Option<Hash32> = row.get("entry_hash")?;
    Ok(StoredRow {
        row: LedgerRow {
            seq: row.get("seq")?,
            format: row.get("format")?,
            action: row.get("action")?,
            license_id: row.get("license_id")?,
            payload_hash: payload_hash.map_or([0; 32], |h| h.0),
            entry_hash: entry_hash.map_or([0; 32], |h| h.0),
            operator: row.get("operator")?,
            recorded_at: row.get("recorded_at")?,
            account_id: row.get("account_id")?,
            status: row.get("status")?,
            note: row.get("note")?,
        },
        payload_kept: payload_hash.is_some(),
        hash_kept: entry_hash.is_some(),
    })
}

/// The entry with its payload hash filled in: an issue entry that keeps none takes the hash
/// of the license's bytes (all zeros when the license is gone). Its entry hash is filled in
/// by [`chained`].
fn completed(conn: &Connection, stored: &mut StoredRow) -> StoreResult<()> {
    if !stored.payload_kept
        && let Some(license) = super::licenses::get(conn, stored.row.license_id)?
    {
        stored.row.payload_hash = artifact_hash(&license.artifact);
    }
    Ok(())
}

/// Entries read in ascending order, completed: each payload hash as [`completed`] fills it,
/// and each entry hash not kept derived from the entry before (`before`: the sequence number
/// and hash of the entry before the first, when the caller knows them).
fn chained(
    conn: &Connection,
    rows: Vec<StoredRow>,
    mut before: Option<(i64, [u8; 32])>,
) -> StoreResult<Vec<LedgerRow>> {
    let mut out: Vec<LedgerRow> = Vec::with_capacity(rows.len());
    for mut stored in rows {
        completed(conn, &mut stored)?;
        if !stored.hash_kept {
            let prev = match before {
                Some((seq, hash)) if seq + 1 == stored.row.seq => hash,
                _ => hash_at(conn, stored.row.seq - 1)?,
            };
            stored.row.entry_hash = chain_hash(&stored.row, prev)?;
        }
        before = Some((stored.row.seq, stored.row.entry_hash));
        out.push(stored.row);
    }
    Ok(out)
}

/// The hash of entry `seq` (the genesis hash for 0): kept on the entry, or derived from the
/// last entry before it that keeps one.
pub fn hash_at(conn: &Connection, seq: i64) -> StoreResult<[u8; 32]> {
    if seq <= 0 {
        return Ok(GENESIS_HASH);
    }
    let kept: Option<(i64, Hash32)> = conn
        .prepare_cached(
            "SELECT seq, entry_hash FROM ledger WHERE seq <= ?1 AND entry_hash IS NOT NULL
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (from, mut hash) = kept.map_or((0, GENESIS_HASH), |(at, hash)| (at, hash.0));
    if from == seq {
        return Ok(hash);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ledger WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([from, seq], from_row_stored)?
        .collect::<Result<Vec<_>, _>>()?;
    // No entry after `from` keeps its hash: each is derived from the one before.
    if let Some(last) = chained(conn, rows, Some((from, hash)))?.pop() {
        hash = last.entry_hash;
    }
    Ok(hash)
}

/// The hash of `row` following `prev`.
fn chain_hash(row: &LedgerRow, prev: [u8; 32]) -> StoreResult<[u8; 32]> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("ledger entry {}: {what}", row.seq));
    let action = Action::parse(&row.action).ok_or_else(|| corrupt("unknown action"))?;
    let status = match row.status.as_deref() {
        None => None,
        Some(word) => Some(LicenseStatus::parse(word).ok_or_else(|| corrupt("unknown state"))?),
    };
    chain_entry(row, action, status, prev)
        .hash()
        .map_err(chain_error)
}

/// What the chain hashes of `row` (its action and state read already), following `prev`.
fn chain_entry(
    row: &LedgerRow,
    action: Action,
    status: Option<LicenseStatus>,
    prev: [u8; 32],
) -> ChainEntry<'_> {
    ChainEntry {
        format: row.format,
        seq: row.seq,
        action,
        license_id: row.license_id,
        payload_hash: row.payload_hash,
        prev_hash: prev,
        operator: &row.operator,
        recorded_at: row.recorded_at,
        account: row.account_id,
        status,
        note: &row.note,
    }
}

/// The head of the chain: the last sequence number and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
}

/// The current head (sequence 0 and the genesis hash when empty).
pub fn head(conn: &Connection) -> StoreResult<Head> {
    let last: Option<(i64, Option<Hash32>)> = conn
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
        Some((seq, Some(hash))) => Head { seq, hash: hash.0 },
        Some((seq, None)) => Head {
            seq,
            hash: hash_at(conn, seq)?,
        },
    })
}

/// What a new entry records.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A license was issued: the hash of its signed bytes (not stored: it is derived from
    /// the license), the account it belongs to, and the machine registered to it (the key
    /// from its version 3 request), if any.
    Issue {
        artifact_hash: [u8; 32],
        account: Option<AccountId>,
        machine: Option<&'a [u8; 32]>,
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
    /// A license's settings changed; `settings` is the hash of their new state
    /// (`store::license_settings::state_hash`) and `note` says what changed, in words.
    Edit { settings: [u8; 32], note: &'a str },
    /// Every machine registered to the license was removed.
    Unregister { reason: &'a str },
    /// A deactivation file (`body || signature`) was applied: its machine is no longer
    /// registered.
    Deactivate { file: &'a [u8], note: &'a str },
}

impl Record<'_> {
    /// Action, payload hash, whether the hash is stored, account, state and note.
    fn parts(
        &self,
    ) -> (
        Action,
        [u8; 32],
        bool,
        Option<AccountId>,
        Option<LicenseStatus>,
        String,
    ) {
        match *self {
            Record::Issue {
                artifact_hash,
                account,
                machine,
            } => (
                Action::Issue,
                artifact_hash,
                false,
                account,
                None,
                machine
                    .map(|key| format!("{REGISTERED_MACHINE}{}", hex::encode(key)))
                    .unwrap_or_default(),
            ),
            Record::Revoke { reason, list } => (
                Action::Revoke,
                artifact_hash(list),
                true,
                None,
                Some(LicenseStatus::Revoked),
                reason.to_string(),
            ),
            Record::Status { to, reason, list } => (
                Action::Status,
                list.map_or(NOTHING_PUBLISHED, artifact_hash),
                true,
                None,
                Some(to),
                reason.to_string(),
            ),
            Record::Link { account, reason } => (
                Action::Link,
                NOTHING_PUBLISHED,
                true,
                account,
                None,
                reason.to_string(),
            ),
            Record::Edit { settings, note } => {
                (Action::Edit, settings, true, None, None, note.to_string())
            }
            Record::Unregister { reason } => (
                Action::Unregister,
                NOTHING_PUBLISHED,
                true,
                None,
                None,
                reason.to_string(),
            ),
            Record::Deactivate { file, note } => (
                Action::Deactivate,
                artifact_hash(file),
                true,
                None,
                None,
                note.to_string(),
            ),
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
    append_entry(tx, head, license_id, record, operator, recorded_at, true)
}

/// [`append`] without the entry's own outbox row, and keeping the entry's hash only every
/// [`HASH_KEPT_EVERY`] entries: a batch ends with [`close_batch`], which keeps the last
/// entry's hash and records one change for the whole range (`outbox::Change::LedgerBatch`).
pub fn append_in_batch(
    tx: &Transaction<'_>,
    head: Head,
    license_id: LicenseId,
    record: Record<'_>,
    operator: &str,
    recorded_at: i64,
) -> StoreResult<Head> {
    append_entry(tx, head, license_id, record, operator, recorded_at, false)
}

fn append_entry(
    tx: &Transaction<'_>,
    head: Head,
    license_id: LicenseId,
    record: Record<'_>,
    operator: &str,
    recorded_at: i64,
    with_outbox: bool,
) -> StoreResult<Head> {
    let seq = head
        .seq
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("the ledger's sequence is exhausted".into()))?;
    let (action, payload_hash, store_hash, account, status, note) = record.parts();
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
        note: &note,
    };
    let hash = entry.hash().map_err(chain_error)?;
    let account_ref = match account {
        Some(account) => Some(account_ref(tx, account)?),
        None => None,
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ledger (seq, format, action, license_id, payload_hash, entry_hash, operator,
                             recorded_at, account_ref, status, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let status = status.map(LicenseStatus::as_str);
    stmt.execute(params![
        seq,
        CURRENT_FORMAT,
        action.as_str(),
        license_id,
        store_hash.then_some(Hash32(payload_hash)),
        (with_outbox || seq % HASH_KEPT_EVERY == 0).then_some(Hash32(hash)),
        operator,
        recorded_at,
        account_ref,
        status,
        note
    ])?;
    if with_outbox {
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
                note,
            }),
            recorded_at,
        )?;
    }
    Ok(Head { seq, hash })
}

/// The number `account` has in `ledger_accounts` (where an entry names it), adding it when
/// an entry names it for the first time.
fn account_ref(tx: &Transaction<'_>, account: AccountId) -> StoreResult<i64> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM ledger_accounts WHERE account_id = ?1")?
        .query_row([account], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO ledger_accounts (account_id) VALUES (?1)")?
        .execute([account])?;
    Ok(tx.last_insert_rowid())
}

/// Ends a batch of [`append_in_batch`] entries that began after `first` and ended at `last`:
/// the last entry keeps its hash (so the chain's head is always kept as committed), and the
/// outbox gets one change for the range.
pub fn close_batch(tx: &Transaction<'_>, first: Head, last: Head, now: i64) -> StoreResult<()> {
    if last.seq == first.seq {
        return Ok(());
    }
    tx.prepare_cached("UPDATE ledger SET entry_hash = ?2 WHERE seq = ?1 AND entry_hash IS NULL")?
        .execute(params![last.seq, Hash32(last.hash)])?;
    outbox::record(
        tx,
        &Change::LedgerBatch(outbox::LedgerBatchRecord {
            from_seq: first.seq + 1,
            to_seq: last.seq,
        }),
        now,
    )?;
    Ok(())
}

/// Every entry of `from_seq..=to_seq` as its outbox record (what a `ledger_batch` change
/// stands for), with the previous entry's hash filled in.
pub fn records(conn: &Connection, from_seq: i64, to_seq: i64) -> StoreResult<Vec<LedgerRecord>> {
    let mut prev = hash_at(conn, from_seq - 1)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM ledger WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([from_seq, to_seq], from_row_stored)?
        .collect::<Result<Vec<_>, _>>()?;
    let rows = chained(conn, rows, Some((from_seq - 1, prev)))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(LedgerRecord {
            seq: row.seq,
            format: row.format,
            action: row.action.clone(),
            license_id: row.license_id,
            payload_hash: hex::encode(row.payload_hash),
            prev_hash: hex::encode(prev),
            entry_hash: hex::encode(row.entry_hash),
            operator: row.operator.clone(),
            recorded_at: row.recorded_at,
            account_id: row.account_id,
            status: row.status.clone(),
            note: row.note.clone(),
        });
        prev = row.entry_hash;
    }
    Ok(out)
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
    let mut rows = stmt
        .query_map(
            params![
                before_seq.unwrap_or(i64::MAX),
                super::limit(limit),
                i64::try_from(offset).unwrap_or(i64::MAX)
            ],
            from_row_stored,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.reverse();
    let mut rows = chained(conn, rows, None)?;
    rows.reverse();
    Ok(rows)
}

/// Number of entries.
pub fn count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))?)
}

/// The entry that issued `license_id`, if this desk issued it.
pub fn issue_entry(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<LedgerRow>> {
    let stored = conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM ledger WHERE action = 'issue' AND license_id = ?1 LIMIT 1"
            ),
            [license_id],
            from_row_stored,
        )
        .optional()?;
    Ok(stored
        .map(|stored| chained(conn, vec![stored], None))
        .transpose()?
        .and_then(|mut rows| rows.pop()))
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
        let mut stored = from_row_stored(row)?;
        completed(conn, &mut stored)?;
        if !stored.hash_kept {
            stored.row.entry_hash = chain_hash(&stored.row, prev)?;
        }
        let entry = stored.row;
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
/// each entry's hash recomputed from its fields and the previous entry's hash (an issue
/// entry's payload hash is that of the license's stored bytes); each stored license whose
/// bytes are kept beside its columns compared column by column; each revocation against its
/// row and the list published with it; each state change allowed by the state machine; each
/// applied deactivation file against its row, its signature and the machine registered to
/// the license; and afterwards, that no license, revocation, list or deactivation exists
/// without its entry, that every license's account and state are what the entries say, that
/// the machines registered to each license are those its entries leave, and that each
/// license's settings hash to its last edit entry. `progress` is called with the number of
/// entries checked.
pub fn verify(conn: &Connection, mut progress: impl FnMut(i64)) -> StoreResult<ChainReport> {
    let mut stmt = conn.prepare(&format!(
        "SELECT l.seq, l.format, l.action, l.license_id, l.payload_hash, l.entry_hash,
                l.operator, l.recorded_at,
                (SELECT la.account_id FROM ledger_accounts la WHERE la.id = l.account_ref)
                    AS account_id,
                l.status, l.note, {license},
                r.reason AS reason, r.revoked_at AS revoked_at, rl.sequence AS list_sequence,
                d.file AS d_file, d.license_id AS d_license, d.machine_key AS d_key
         FROM ledger l
         LEFT JOIN licenses c ON l.action = 'issue' AND c.license_id = l.license_id
         LEFT JOIN revocations r ON l.action = 'revoke' AND r.license_id = l.license_id
         LEFT JOIN revocation_lists rl ON rl.ledger_seq = l.seq
         LEFT JOIN deactivations d ON d.ledger_seq = l.seq
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
        deactivations: 0,
        replayed: HashMap::new(),
        registered: HashMap::new(),
        last_edit: HashMap::new(),
        ring: None,
        unconfirmed: None,
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
    deactivations: u64,
    replayed: HashMap<LicenseId, Replayed>,
    /// The machines the entries leave registered to each license that ever had one.
    registered: HashMap<LicenseId, std::collections::BTreeSet<[u8; 32]>>,
    /// The settings hash of each license's last edit entry.
    last_edit: HashMap<LicenseId, [u8; 32]>,
    /// The desk's public keys, read when first needed (to tell an edited license from an
    /// edited entry).
    ring: Option<licensekey::KeyRing>,
    /// Entries since the last that keeps its hash: checked when the chain reaches the next.
    unconfirmed: Option<Unconfirmed>,
}

/// Entries whose hashes are derived, not kept, waiting for the next kept hash to check them.
struct Unconfirmed {
    /// The first of them.
    from: i64,
    /// Their issue entries that keep no payload hash, with the license each issued (to name
    /// one changed after it was issued).
    issued: Vec<(i64, LicenseId)>,
}

/// The license an issue entry issued, as far as it could be read.
enum Issued {
    Missing,
    Unreadable,
    Found(Box<super::licenses::LicenseRow>),
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
        let Ok(StoredRow {
            row: mut entry,
            payload_kept: stored_hash,
            hash_kept,
        }) = from_row_stored(row)
        else {
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
        let id = entry.license_id;
        let issued = if action == Action::Issue {
            if row.get::<_, Option<i64>>("c_seq")?.is_none() {
                Issued::Missing
            } else {
                match super::licenses::read_row(row, "c_") {
                    Ok(license) => Issued::Found(Box::new(license)),
                    Err(_) => Issued::Unreadable,
                }
            }
        } else {
            Issued::Missing
        };
        if action == Action::Issue && !stored_hash {
            // The entry keeps no copy of the license's hash: it is the hash of its bytes.
            match &issued {
                Issued::Missing => {
                    return Ok(Some(ChainReport::at(
                        seq,
                        format!("license {id} is missing from the database"),
                    )));
                }
                Issued::Unreadable => {
                    return Ok(Some(ChainReport::at(
                        seq,
                        format!("license {id} was changed after it was issued"),
                    )));
                }
                Issued::Found(license) => entry.payload_hash = artifact_hash(&license.artifact),
            }
        }
        match chain_entry(&entry, action, status, self.prev).hash() {
            // Kept by a later entry: checked when the chain reaches it.
            Ok(hash) if !hash_kept => {
                self.prev = hash;
                let unconfirmed = self.unconfirmed.get_or_insert_with(|| Unconfirmed {
                    from: seq,
                    issued: Vec::new(),
                });
                if let (false, Issued::Found(_)) = (stored_hash, &issued) {
                    unconfirmed.issued.push((seq, id));
                }
            }
            Ok(hash) if hash == entry.entry_hash => {
                self.prev = hash;
                self.unconfirmed = None;
            }
            Ok(_) => {
                let unconfirmed = self.unconfirmed.take();
                if let Some(Unconfirmed { issued, .. }) = &unconfirmed {
                    for (at, id) in issued {
                        if let Some(license) = super::licenses::get(self.conn, *id)?
                            && !self.signature_holds(&license)?
                        {
                            return Ok(Some(ChainReport::at(
                                *at,
                                format!("license {id} was changed after it was issued"),
                            )));
                        }
                    }
                }
                if let (false, Issued::Found(license)) = (stored_hash, &issued)
                    && !self.signature_holds(license)?
                {
                    return Ok(Some(ChainReport::at(
                        seq,
                        format!("license {id} was changed after it was issued"),
                    )));
                }
                return Ok(Some(match unconfirmed {
                    Some(Unconfirmed { from, .. }) => ChainReport::at(
                        from,
                        format!(
                            "entries {from}–{seq} were changed: they no longer hash to the \
                             hash kept at entry {seq}"
                        ),
                    ),
                    None => ChainReport::at(seq, "its contents were changed (hash does not match)"),
                }));
            }
            Err(e) => return Ok(Some(ChainReport::at(seq, e.to_string()))),
        }
        let problem = match action {
            Action::Issue => self.check_issue(issued, &entry)?,
            Action::Revoke => self.check_revoke(row, &entry)?,
            Action::Status => self.check_status(row, &entry, status)?,
            Action::Link => self.change(&entry, |state| {
                state.account = entry.account_id;
                Ok(())
            })?,
            Action::Edit => {
                self.last_edit.insert(id, entry.payload_hash);
                self.known(&entry)?
            }
            Action::Unregister => {
                self.registered.insert(id, Default::default());
                self.known(&entry)?
            }
            Action::Deactivate => self.check_deactivate(row, &entry)?,
        };
        self.expected_seq += 1;
        Ok(problem.map(|reason| ChainReport::at(seq, reason)))
    }

    /// True when the license's bytes carry a valid signature by one of this desk's keys.
    fn signature_holds(&mut self, license: &super::licenses::LicenseRow) -> StoreResult<bool> {
        if self.ring.is_none() {
            let mut ring = licensekey::KeyRing::new();
            for key in super::keys::list(self.conn)? {
                if let Ok(public) = licensekey::parse_public_key(&key.public_key) {
                    let _ = ring.insert(public);
                }
            }
            self.ring = Some(ring);
        }
        let Some(signed) = license.signed() else {
            return Ok(false);
        };
        let Some(key) = self
            .ring
            .as_ref()
            .and_then(|ring| ring.get(&signed.payload().key_id))
        else {
            return Ok(false);
        };
        let context = licensekey::LICENSE_CONTEXT.as_bytes();
        let mut message = Vec::with_capacity(1 + context.len() + signed.payload_bytes().len());
        message.push(context.len() as u8);
        message.extend_from_slice(context);
        message.extend_from_slice(signed.payload_bytes());
        let signature = ed25519_dalek::Signature::from_bytes(signed.signature());
        Ok(key.verify_strict(&message, &signature).is_ok())
    }

    fn check_issue(&mut self, issued: Issued, entry: &LedgerRow) -> StoreResult<Option<String>> {
        self.issued += 1;
        let id = entry.license_id;
        let stored = match issued {
            Issued::Missing => {
                return Ok(Some(format!("license {id} is missing from the database")));
            }
            Issued::Unreadable => {
                return Ok(Some(format!(
                    "license {id} was changed after it was issued"
                )));
            }
            Issued::Found(license) => license,
        };
        if artifact_hash(&stored.artifact) != entry.payload_hash {
            return Ok(Some(format!(
                "license {id} was changed after it was issued"
            )));
        }
        if !stored.compact {
            // The bytes are what was issued; every column beside them must say what they say.
            let Some(license) = stored.signed() else {
                return Ok(Some(format!(
                    "license {id} was changed after it was issued"
                )));
            };
            if let Some(column) = stored.column_differing_from(license.payload()) {
                return Ok(Some(format!(
                    "license {id}: its {column} was changed after it was issued"
                )));
            }
        }
        if let Some(key) = entry.note.strip_prefix(REGISTERED_MACHINE) {
            let Some(key) = hex::decode(key)
                .ok()
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
            else {
                return Ok(Some(format!(
                    "the machine registered to license {id} is not a key"
                )));
            };
            self.registered.insert(id, [key].into_iter().collect());
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

    /// A deactivation: its file is stored, hashes to the entry, is for this license, is
    /// signed by the machine it names, and that machine was registered to the license.
    fn check_deactivate(
        &mut self,
        row: &Row<'_>,
        entry: &LedgerRow,
    ) -> StoreResult<Option<String>> {
        let id = entry.license_id;
        let Some(file) = raw_bytes(row, "d_file")? else {
            return Ok(Some(format!(
                "the deactivation file applied to license {id} is missing"
            )));
        };
        self.deactivations += 1;
        let license: Option<LicenseId> = row.get("d_license").ok().flatten();
        if artifact_hash(&file) != entry.payload_hash || license != Some(id) {
            return Ok(Some(format!(
                "the deactivation file applied to license {id} was changed"
            )));
        }
        let Ok(signed) = licensekey::SignedDeactivation::from_bytes(&file) else {
            return Ok(Some(format!(
                "the deactivation file applied to license {id} does not parse"
            )));
        };
        let Ok(deactivation) = signed.verify() else {
            return Ok(Some(format!(
                "the deactivation file applied to license {id} is not signed by its machine"
            )));
        };
        let key = *deactivation.machine_key.as_bytes();
        let stored_key = raw_bytes(row, "d_key")?;
        if deactivation.license_id != id.0 || stored_key.as_deref() != Some(&key[..]) {
            return Ok(Some(format!(
                "the deactivation file applied to license {id} names another license or machine"
            )));
        }
        let registered = self.registered.entry(id).or_default();
        if !registered.remove(&key) {
            return Ok(Some(format!(
                "a deactivation of license {id} by a machine that was not registered to it"
            )));
        }
        self.known(entry)
    }

    /// Checks the revocation list tied to this entry, if it published one.
    fn check_list(
        &mut self,
        row: &Row<'_>,
        entry: &LedgerRow,
        published: bool,
    ) -> StoreResult<Option<String>> {
        let id = entry.license_id;
        let list = row.get::<_, Option<i64>>("list_sequence")?;
        match (published, list) {
            (false, None) => Ok(None),
            (false, Some(_)) => Ok(Some(format!(
                "a revocation list is tied to an entry about {id} that published none"
            ))),
            (true, None) => Ok(Some(format!(
                "the revocation list published with the change to {id} is missing"
            ))),
            (true, Some(sequence)) => {
                self.lists += 1;
                // A list kept as changes that no longer fit together was changed too.
                let file = match super::revocations::file_of(self.conn, sequence) {
                    Err(StoreError::Corrupt(_)) => None,
                    other => other?,
                };
                let bytes = file
                    .and_then(|file| licensekey::SignedRevocationList::parse(&file).ok())
                    .map(|l| l.to_bytes());
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

    /// An entry about a license that must have been issued here.
    fn known(&mut self, entry: &LedgerRow) -> StoreResult<Option<String>> {
        self.change(entry, |_| Ok(()))
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
        if let Some(Unconfirmed { from, .. }) = &self.unconfirmed {
            let last = self.expected_seq - 1;
            return Ok(Some(ChainReport::at(
                *from,
                format!(
                    "entries {from}–{last} keep no hash to check them against (the last entry \
                     always keeps its own): the ledger's end was changed"
                ),
            )));
        }
        let licenses = super::licenses::count(self.conn)?;
        if licenses != self.issued {
            let stray: Option<LicenseId> = self
                .conn
                .query_row(
                    "SELECT c.license_id FROM licenses c WHERE c.origin IS NULL AND NOT EXISTS
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
        let deactivations: u64 =
            self.conn
                .query_row("SELECT count(*) FROM deactivations", [], |r| r.get(0))?;
        if deactivations != self.deactivations {
            return Ok(Some(ChainReport::whole(format!(
                "{deactivations} deactivations are stored but the ledger records {}",
                self.deactivations
            ))));
        }
        if let Some(problem) = self.registrations_match()? {
            return Ok(Some(ChainReport::whole(problem)));
        }
        if let Some(problem) = self.settings_match()? {
            return Ok(Some(ChainReport::whole(problem)));
        }
        // Licenses no later entry changed must still be as issued.
        let mut unchanged = self.conn.prepare(
            "SELECT license_id, status FROM licenses WHERE status <> 'active' AND origin IS NULL",
        )?;
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

    /// The machines registered to each license are exactly those its entries leave.
    fn registrations_match(&self) -> StoreResult<Option<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT license_id, machine_key FROM license_registrations")?;
        let mut rows = stmt.query([])?;
        let mut stored = 0usize;
        while let Some(row) = rows.next()? {
            stored += 1;
            let id: LicenseId = row.get(0)?;
            let key = raw_bytes(row, "machine_key")?.unwrap_or_default();
            let known = self
                .registered
                .get(&id)
                .is_some_and(|keys| keys.iter().any(|k| k[..] == key[..]));
            if !known {
                return Ok(Some(format!(
                    "a machine is registered to license {id} without a ledger entry"
                )));
            }
        }
        let expected: usize = self.registered.values().map(|keys| keys.len()).sum();
        if stored != expected {
            let gone = self
                .registered
                .iter()
                .find(|(_, keys)| !keys.is_empty())
                .map(|(id, _)| *id);
            return Ok(Some(match gone {
                Some(id) => format!(
                    "a machine registered to license {id} was removed without a ledger entry"
                ),
                None => "registrations were removed without a ledger entry".into(),
            }));
        }
        Ok(None)
    }

    /// Each license's settings hash to its last edit entry, and none exist without one.
    fn settings_match(&self) -> StoreResult<Option<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT license_id, registration_key, admin_password, password_key_id
             FROM license_settings",
        )?;
        let mut rows = stmt.query([])?;
        let mut stored = 0usize;
        while let Some(row) = rows.next()? {
            stored += 1;
            let id: LicenseId = row.get(0)?;
            let registration_key: String = row.get(1)?;
            let sealed = raw_bytes(row, "admin_password")?;
            let key_id = raw_bytes(row, "password_key_id")?;
            let hash = super::license_settings::state_hash(
                id,
                &registration_key,
                sealed.as_deref().zip(key_id.as_deref()),
            );
            if self.last_edit.get(&id) != Some(&hash) {
                return Ok(Some(format!(
                    "the settings of license {id} were changed without a ledger entry"
                )));
            }
        }
        if stored != self.last_edit.len() {
            return Ok(Some(
                "the settings of a license were removed without a ledger entry".into(),
            ));
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
    if hash_at(conn, expected)? != checkpoint.head {
        return Ok(ChainReport::at(
            expected,
            "it differs from the signed checkpoint (the ledger was rewritten)",
        ));
    }
    Ok(report)
}
