//! Issued licenses repository: one row per signed license with its canonical artifact bytes
//! (the serial and license file are derived from them).

use super::StoreResult;
use licensekey::SignedLicense;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// An issued license as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRow {
    pub seq: i64,
    pub license_id: String,
    pub key_id: String,
    pub account_id: Option<String>,
    pub product: String,
    pub kind: String,
    pub customer: String,
    pub cluster: Option<String>,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    /// Canonical bytes of the signed license.
    pub artifact: Vec<u8>,
}

impl IssuedRow {
    /// The signed license, parsed back from its stored bytes.
    pub fn signed(&self) -> Option<SignedLicense> {
        SignedLicense::from_bytes(&self.artifact).ok()
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<IssuedRow> {
    Ok(IssuedRow {
        seq: row.get("seq")?,
        license_id: row.get("license_id")?,
        key_id: row.get("key_id")?,
        account_id: row.get("account_id")?,
        product: row.get("product")?,
        kind: row.get("kind")?,
        customer: row.get("customer")?,
        cluster: row.get("cluster")?,
        issued_at: row.get("issued_at")?,
        expires_at: row.get("expires_at")?,
        artifact: row.get("artifact")?,
    })
}

/// Stores a freshly signed license.
pub fn insert(
    tx: &Transaction<'_>,
    license: &SignedLicense,
    account_id: Option<&str>,
) -> StoreResult<i64> {
    let p = license.payload();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO issued_licenses (license_id, key_id, account_id, product, kind, customer,
             cluster, ip, capacity_tb, seats, issued_at, expires_at, artifact)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    stmt.execute(params![
        p.license_id.to_string(),
        p.key_id.to_string(),
        account_id,
        p.product,
        p.kind.name(),
        p.customer,
        p.binding.cluster.map(|c| c.to_string()),
        p.binding.ip.map(|ip| ip.to_string()),
        p.capacity_tb,
        p.seats,
        p.issued_at,
        p.expires_at,
        license.to_bytes(),
    ])?;
    Ok(tx.last_insert_rowid())
}

/// One license by id.
pub fn get(conn: &Connection, license_id: &str) -> StoreResult<Option<IssuedRow>> {
    Ok(conn
        .query_row(
            "SELECT * FROM issued_licenses WHERE license_id = ?1",
            [license_id.trim()],
            from_row,
        )
        .optional()?)
}

/// The newest licenses, a page of `limit` before `before_seq` (keyset paging).
pub fn recent(
    conn: &Connection,
    before_seq: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<IssuedRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM issued_licenses WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![
            before_seq.unwrap_or(i64::MAX),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of issued licenses.
pub fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM issued_licenses", [], |r| r.get(0))?)
}
