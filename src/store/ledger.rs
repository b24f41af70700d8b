//! The issuance ledger: an append-only, hash-chained log of every license issued or revoked.
//! [`verify`] walks the chain and reports the first broken link.

use super::{StoreError, StoreResult};
use crate::domain::ledger_chain::{ChainEntry, GENESIS_HASH, parse_hash, payload_hash};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Issue,
    Revoke,
}

impl Action {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Issue => "issue",
            Action::Revoke => "revoke",
        }
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub seq: i64,
    pub action: String,
    pub license_id: String,
    pub payload_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub operator: String,
    pub recorded_at: i64,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<LedgerRow> {
    Ok(LedgerRow {
        seq: row.get("seq")?,
        action: row.get("action")?,
        license_id: row.get("license_id")?,
        payload_hash: row.get("payload_hash")?,
        prev_hash: row.get("prev_hash")?,
        entry_hash: row.get("entry_hash")?,
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
    let last: Option<(i64, String)> = conn
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
        Some((seq, hash)) => Head {
            seq,
            hash: parse_hash(&hash).ok_or_else(|| {
                StoreError::Conflict(format!("ledger entry {seq} has a malformed hash"))
            })?,
        },
    })
}

/// Appends an entry after `head` and returns the new head. Callers that append many entries
/// keep the head themselves instead of reading it back each time.
pub fn append(
    tx: &Transaction<'_>,
    head: Head,
    action: Action,
    license_id: &licensekey::Uuid,
    artifact: &[u8],
    operator: &str,
    recorded_at: i64,
) -> StoreResult<Head> {
    let seq = head.seq + 1;
    let entry = ChainEntry {
        seq: u64::try_from(seq).unwrap_or(0),
        action: action.as_str(),
        license_id: *license_id.as_bytes(),
        payload_hash: payload_hash(artifact),
        prev_hash: head.hash,
        operator,
        recorded_at,
    };
    let hash = entry.hash();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ledger (seq, action, license_id, payload_hash, prev_hash, entry_hash, operator, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        seq,
        action.as_str(),
        license_id.to_string(),
        hex::encode(entry.payload_hash),
        hex::encode(head.hash),
        hex::encode(hash),
        operator,
        recorded_at
    ])?;
    Ok(Head { seq, hash })
}

/// A page of entries, newest first, before `before_seq` (keyset paging).
pub fn page(
    conn: &Connection,
    before_seq: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<LedgerRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT * FROM ledger WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2")?;
    let rows = stmt.query_map(
        params![
            before_seq.unwrap_or(i64::MAX),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every entry in order, handed to `each` (for export), without loading them all at once.
pub fn for_each(
    conn: &Connection,
    mut each: impl FnMut(&LedgerRow) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare("SELECT * FROM ledger ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        each(&from_row(row)?)?;
    }
    Ok(())
}

/// Walks the chain like [`verify`], then checks it still reaches the signed checkpoint's head:
/// entries cut off the end after the checkpoint was taken are reported as missing. The
/// checkpoint's signature is checked by the caller.
pub fn verify_against(
    conn: &Connection,
    checkpoint: &crate::domain::checkpoint::Checkpoint,
    progress: impl FnMut(i64),
) -> StoreResult<ChainReport> {
    let report = verify(conn, progress)?;
    let ChainReport::Intact { entries, .. } = &report else {
        return Ok(report);
    };
    let expected = i64::try_from(checkpoint.entries).unwrap_or(i64::MAX);
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
        return Ok(ChainReport::Broken {
            seq: first,
            reason: format!("{missing}: the ledger was cut off after the signed checkpoint"),
        });
    }
    let hash: Option<String> = conn
        .query_row(
            "SELECT entry_hash FROM ledger WHERE seq = ?1",
            [expected],
            |r| r.get(0),
        )
        .optional()?;
    if hash.as_deref().and_then(parse_hash) != Some(checkpoint.head) {
        return Ok(ChainReport::Broken {
            seq: expected,
            reason: "it differs from the signed checkpoint (the ledger was rewritten)".into(),
        });
    }
    Ok(report)
}

/// Columns of the CSV export, in order.
pub const CSV_HEADER: [&str; 8] = [
    "seq",
    "recorded_at",
    "action",
    "license_id",
    "operator",
    "payload_hash",
    "prev_hash",
    "entry_hash",
];

/// Writes every entry as CSV (header first, times in RFC 3339 UTC) and returns the text.
/// `progress` gets the count written so far and returns false to stop the export.
pub fn export_csv(conn: &Connection, mut progress: impl FnMut(u64) -> bool) -> StoreResult<String> {
    let csv_error = |e: csv::Error| StoreError::Export(e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER).map_err(csv_error)?;
    let mut done = 0u64;
    for_each(conn, |row| {
        let time = chrono::DateTime::from_timestamp(row.recorded_at, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| row.recorded_at.to_string());
        out.write_record([
            row.seq.to_string(),
            time,
            row.action.clone(),
            row.license_id.clone(),
            row.operator.clone(),
            row.payload_hash.clone(),
            row.prev_hash.clone(),
            row.entry_hash.clone(),
        ])
        .map_err(csv_error)?;
        done += 1;
        if progress(done) {
            Ok(())
        } else {
            Err(StoreError::Export("cancelled".into()))
        }
    })?;
    let bytes = out
        .into_inner()
        .map_err(|e| StoreError::Export(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Export(e.to_string()))
}

/// Number of entries.
pub fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))?)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every link holds.
    Intact { entries: i64, head: String },
    /// The first broken link and why.
    Broken { seq: i64, reason: String },
}

/// Walks the whole chain: sequence numbers without gaps, each `prev_hash` equal to the
/// previous entry's hash, each `entry_hash` recomputed, and each issued license's stored bytes
/// still hashing to the entry's `payload_hash`. `progress` is called with entries checked.
pub fn verify(conn: &Connection, mut progress: impl FnMut(i64)) -> StoreResult<ChainReport> {
    let mut stmt = conn.prepare(
        "SELECT l.*, i.artifact AS artifact, r.license_id AS revoked
         FROM ledger l
         LEFT JOIN issued_licenses i ON l.action = 'issue' AND i.license_id = l.license_id
         LEFT JOIN revocations r ON l.action = 'revoke' AND r.license_id = l.license_id
         ORDER BY l.seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH;
    let mut head = hex::encode(GENESIS_HASH);
    while let Some(row) = rows.next()? {
        let entry = from_row(row)?;
        let broken = |reason: String| {
            Ok(ChainReport::Broken {
                seq: entry.seq,
                reason,
            })
        };
        if entry.seq != expected_seq {
            return Ok(ChainReport::Broken {
                seq: expected_seq,
                reason: format!(
                    "entry {expected_seq} is missing (next entry is {})",
                    entry.seq
                ),
            });
        }
        if parse_hash(&entry.prev_hash) != Some(prev) {
            return broken("its previous-hash does not match the entry before it".into());
        }
        let (Some(payload), Ok(license_id)) = (
            parse_hash(&entry.payload_hash),
            licensekey::Uuid::parse_str(&entry.license_id),
        ) else {
            return broken("its payload hash or license id is malformed".into());
        };
        let chain = ChainEntry {
            seq: u64::try_from(entry.seq).unwrap_or(0),
            action: &entry.action,
            license_id: *license_id.as_bytes(),
            payload_hash: payload,
            prev_hash: prev,
            operator: &entry.operator,
            recorded_at: entry.recorded_at,
        };
        let hash = chain.hash();
        if parse_hash(&entry.entry_hash) != Some(hash) {
            return broken("its contents were changed (hash does not match)".into());
        }
        if entry.action == "issue" {
            // Read whatever is stored: an edit may have turned the blob into text.
            let stored: Option<Vec<u8>> = match row.get_ref("artifact")? {
                rusqlite::types::ValueRef::Null => None,
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                    Some(b.to_vec())
                }
                other => Some(format!("{other:?}").into_bytes()),
            };
            match stored {
                None => {
                    return broken(format!(
                        "license {} is missing from the database",
                        entry.license_id
                    ));
                }
                Some(bytes) if payload_hash(&bytes) != payload => {
                    return broken(format!(
                        "license {} was changed after it was issued",
                        entry.license_id
                    ));
                }
                Some(_) => {}
            }
        } else if row.get::<_, Option<String>>("revoked")?.is_none() {
            return broken(format!("the revocation of {} is missing", entry.license_id));
        }
        prev = hash;
        head = entry.entry_hash.clone();
        expected_seq += 1;
        if expected_seq % 1000 == 0 {
            progress(expected_seq - 1);
        }
    }
    progress(expected_seq - 1);
    Ok(ChainReport::Intact {
        entries: expected_seq - 1,
        head,
    })
}
