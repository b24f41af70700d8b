//! Issued licenses repository: one row per signed license with its canonical artifact bytes
//! (the serial and license file are derived from them). The other columns repeat what the
//! artifact says, for lists and filters; the ledger check compares them with the artifact.

use super::StoreResult;
use super::outbox::{self, Change, LicenseRecord};
use super::sql::SqlKeyId;
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::license_status::LicenseStatus;
use licensekey::{KeyId, LicensePayload, SignedLicense};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// An issued license as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRow {
    pub seq: i64,
    pub license_id: LicenseId,
    pub key_id: KeyId,
    pub account_id: Option<AccountId>,
    pub product: String,
    pub kind: String,
    pub customer: String,
    pub cluster: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub capacity_tb: i64,
    pub seats: i64,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub status: LicenseStatus,
    /// Canonical bytes of the signed license.
    pub artifact: Vec<u8>,
}

impl LicenseRow {
    /// The signed license, parsed back from its stored bytes.
    pub fn signed(&self) -> Option<SignedLicense> {
        SignedLicense::from_bytes(&self.artifact).ok()
    }

    /// The first column that differs from what the signed payload says, if any.
    pub fn column_differing_from(&self, p: &LicensePayload) -> Option<&'static str> {
        let checks = [
            ("license_id", self.license_id.0 == p.license_id),
            ("key_id", self.key_id == p.key_id),
            ("product", self.product == p.product),
            ("kind", self.kind == p.kind.name()),
            ("customer", self.customer == p.customer),
            ("cluster", self.cluster == p.binding.cluster),
            ("ip", self.ip == p.binding.ip.map(|ip| ip.to_string())),
            ("capacity_tb", self.capacity_tb == i64::from(p.capacity_tb)),
            ("seats", self.seats == i64::from(p.seats)),
            ("issued_at", self.issued_at == p.issued_at),
            ("expires_at", self.expires_at == p.expires_at),
        ];
        checks.into_iter().find(|(_, same)| !same).map(|(c, _)| c)
    }

    fn record(&self, serial: String) -> Change {
        Change::License(LicenseRecord {
            license_id: self.license_id,
            account_id: self.account_id,
            serial,
            status: self.status.as_str().to_string(),
        })
    }
}

const COLUMNS: &str = "seq, license_id, key_id, account_id, product, kind, customer, cluster, ip, capacity_tb, seats, issued_at, expires_at, status, artifact";

fn from_row(row: &Row<'_>) -> rusqlite::Result<LicenseRow> {
    read_row(row, "")
}

/// Reads a license whose columns carry `prefix` (as aliased in a join).
pub(super) fn read_row(row: &Row<'_>, prefix: &str) -> rusqlite::Result<LicenseRow> {
    let col = |name: &str| format!("{prefix}{name}");
    let cluster: Option<Vec<u8>> = row.get(col("cluster").as_str())?;
    let cluster = match cluster {
        None => None,
        Some(bytes) => Some(uuid::Uuid::from_slice(&bytes).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Blob, Box::new(e))
        })?),
    };
    Ok(LicenseRow {
        seq: row.get(col("seq").as_str())?,
        license_id: row.get(col("license_id").as_str())?,
        key_id: row.get::<_, SqlKeyId>(col("key_id").as_str())?.0,
        account_id: row.get(col("account_id").as_str())?,
        product: row.get(col("product").as_str())?,
        kind: row.get(col("kind").as_str())?,
        customer: row.get(col("customer").as_str())?,
        cluster,
        ip: row.get(col("ip").as_str())?,
        capacity_tb: row.get(col("capacity_tb").as_str())?,
        seats: row.get(col("seats").as_str())?,
        issued_at: row.get(col("issued_at").as_str())?,
        expires_at: row.get(col("expires_at").as_str())?,
        status: {
            let word: String = row.get(col("status").as_str())?;
            LicenseStatus::parse(&word).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    13,
                    rusqlite::types::Type::Text,
                    format!("unknown license status '{word}'").into(),
                )
            })?
        },
        artifact: row.get(col("artifact").as_str())?,
    })
}

/// The license columns aliased with `prefix`, for a join (`c.seq AS c_seq, ...`).
pub(super) fn aliased_columns(table: &str, prefix: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stores a freshly signed license (and its outbox row); returns the stored row.
pub fn insert(
    tx: &Transaction<'_>,
    license: &SignedLicense,
    account_id: Option<AccountId>,
    now: i64,
) -> StoreResult<LicenseRow> {
    let p = license.payload();
    let row = LicenseRow {
        seq: 0,
        license_id: LicenseId(p.license_id),
        key_id: p.key_id,
        account_id,
        product: p.product.clone(),
        kind: p.kind.name().to_string(),
        customer: p.customer.clone(),
        cluster: p.binding.cluster,
        ip: p.binding.ip.map(|ip| ip.to_string()),
        capacity_tb: i64::from(p.capacity_tb),
        seats: i64::from(p.seats),
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        status: LicenseStatus::Active,
        artifact: license.to_bytes(),
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO licenses (license_id, key_id, account_id, product, kind, customer,
             cluster, ip, capacity_tb, seats, issued_at, expires_at, status, artifact)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    stmt.execute(params![
        row.license_id,
        SqlKeyId(row.key_id),
        row.account_id,
        row.product,
        row.kind,
        row.customer,
        row.cluster.map(|c| c.as_bytes().to_vec()),
        row.ip,
        row.capacity_tb,
        row.seats,
        row.issued_at,
        row.expires_at,
        row.status.as_str(),
        row.artifact,
    ])?;
    let row = LicenseRow {
        seq: tx.last_insert_rowid(),
        ..row
    };
    outbox::record(tx, &row.record(license.to_serial()), now)?;
    Ok(row)
}

/// Changes a license's status (the caller checked the state machine and appends the ledger
/// entry that says so).
pub fn set_status(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    status: LicenseStatus,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE licenses SET status = ?2 WHERE license_id = ?1",
        params![license_id, status.as_str()],
    )?;
    let row = get(tx, license_id)?.ok_or_else(|| super::StoreError::NotFound {
        what: "license",
        id: license_id.to_string(),
    })?;
    let serial = row
        .signed()
        .ok_or_else(|| {
            super::StoreError::Corrupt(format!(
                "the stored bytes of license {license_id} do not parse"
            ))
        })?
        .to_serial();
    outbox::record(tx, &row.record(serial), now)?;
    Ok(())
}

/// One license by id.
pub fn get(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<LicenseRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM licenses WHERE license_id = ?1"),
            [license_id],
            from_row,
        )
        .optional()?)
}

/// The newest licenses first: a page of `limit` before `before_seq` (keyset paging), or
/// skipping `offset` from the newest (a jump far down the list).
pub fn recent(
    conn: &Connection,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<LicenseRow>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM licenses WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
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

/// Moves a license to another account (or to none); the caller appends the ledger entry.
pub fn set_account(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    account_id: Option<AccountId>,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE licenses SET account_id = ?2 WHERE license_id = ?1",
        params![license_id, account_id],
    )?;
    let row = get(tx, license_id)?.ok_or_else(|| super::StoreError::NotFound {
        what: "license",
        id: license_id.to_string(),
    })?;
    let serial = row
        .signed()
        .ok_or_else(|| {
            super::StoreError::Corrupt(format!(
                "the stored bytes of license {license_id} do not parse"
            ))
        })?
        .to_serial();
    outbox::record(tx, &row.record(serial), now)?;
    Ok(())
}

/// Ids of every license the published revocation list must name (suspended, revoked or
/// deleted), ascending.
pub fn listed_as_revoked(conn: &Connection) -> StoreResult<Vec<LicenseId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT license_id FROM licenses WHERE status IN ('suspended', 'revoked', 'deleted')
         ORDER BY license_id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of issued licenses.
pub fn count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM licenses", [], |r| r.get(0))?)
}
