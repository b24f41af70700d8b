//! Transfers of licenses to partner accounts ("import to partner"). The secret the sending
//! staff hand over is never stored: only SHA-256 of a per-transfer salt and the secret. A
//! transfer is pending until the partner enters the secret (accepted: the license moves), it
//! is cancelled, or too many wrong secrets lock it.

use super::outbox::{self, Change, LicenseTransferRecord};
use super::{StoreError, StoreResult};
use crate::domain::ids::{AccountId, LicenseId, TransferId};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStatus {
    Pending,
    Accepted,
    Cancelled,
    /// Too many wrong secrets: it can only be cancelled.
    Locked,
}

impl TransferStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "pending",
            TransferStatus::Accepted => "accepted",
            TransferStatus::Cancelled => "cancelled",
            TransferStatus::Locked => "locked",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Cancelled, Self::Locked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The word people see.
    pub fn label(self) -> &'static str {
        match self {
            TransferStatus::Pending => "Pending import approval",
            TransferStatus::Accepted => "Accepted",
            TransferStatus::Cancelled => "Cancelled",
            TransferStatus::Locked => "Locked after wrong secrets",
        }
    }
}

/// A transfer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: TransferId,
    pub license_id: LicenseId,
    pub from_account: Option<AccountId>,
    pub to_account: AccountId,
    pub salt: [u8; 16],
    pub secret_hash: [u8; 32],
    pub status: TransferStatus,
    pub failed_tries: u32,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

impl TransferRow {
    fn record(&self) -> Change {
        Change::LicenseTransfer(LicenseTransferRecord {
            id: self.id,
            license_id: self.license_id,
            from_account: self.from_account,
            to_account: self.to_account,
            salt: hex::encode(self.salt),
            secret_hash: hex::encode(self.secret_hash),
            status: self.status.as_str().to_string(),
            failed_tries: self.failed_tries,
            created_at: self.created_at,
            decided_at: self.decided_at,
        })
    }
}

const COLUMNS: &str = "id, license_id, from_account, to_account, salt, secret_hash, status, failed_tries, created_at, decided_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<TransferRow> {
    let bad = |i, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("transfer {what} is damaged").into(),
        )
    };
    let salt: Vec<u8> = r.get(4)?;
    let hash: Vec<u8> = r.get(5)?;
    let status: String = r.get(6)?;
    Ok(TransferRow {
        id: r.get(0)?,
        license_id: r.get(1)?,
        from_account: r.get(2)?,
        to_account: r.get(3)?,
        salt: salt.try_into().map_err(|_| bad(4, "salt"))?,
        secret_hash: hash.try_into().map_err(|_| bad(5, "hash"))?,
        status: TransferStatus::parse(&status).ok_or_else(|| bad(6, "status"))?,
        failed_tries: r.get(7)?,
        created_at: r.get(8)?,
        decided_at: r.get(9)?,
    })
}

/// Stores a new pending transfer (with its outbox row). A license has at most one pending
/// transfer.
pub fn insert(tx: &Transaction<'_>, t: &TransferRow, now: i64) -> StoreResult<()> {
    tx.execute(
        &format!("INSERT INTO license_transfers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            t.id,
            t.license_id,
            t.from_account,
            t.to_account,
            &t.salt[..],
            &t.secret_hash[..],
            t.status.as_str(),
            t.failed_tries,
            t.created_at,
            t.decided_at
        ],
    )
    .map_err(|e| {
        if super::is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "pending transfer of license",
                value: t.license_id.to_string(),
            }
        } else {
            e.into()
        }
    })?;
    outbox::record(tx, &t.record(), now)?;
    Ok(())
}

/// Saves a transfer's new status, failed tries and decision time.
pub fn update(tx: &Transaction<'_>, t: &TransferRow, now: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE license_transfers SET status = ?2, failed_tries = ?3, decided_at = ?4
         WHERE id = ?1",
        params![t.id, t.status.as_str(), t.failed_tries, t.decided_at],
    )?;
    outbox::record(tx, &t.record(), now)?;
    Ok(())
}

/// One transfer.
pub fn get(conn: &Connection, id: TransferId) -> StoreResult<Option<TransferRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM license_transfers WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The pending (or locked) transfer of a license, if any.
pub fn open_for_license(
    conn: &Connection,
    license_id: LicenseId,
) -> StoreResult<Option<TransferRow>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM license_transfers
                 WHERE license_id = ?1 AND status IN ('pending', 'locked')
                 ORDER BY created_at DESC LIMIT 1"
            ),
            [license_id],
            from_row,
        )
        .optional()?)
}

/// Transfers waiting for `account` to accept them (pending or locked), oldest first.
pub fn incoming(conn: &Connection, account: AccountId) -> StoreResult<Vec<TransferRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM license_transfers
         WHERE to_account = ?1 AND status IN ('pending', 'locked') ORDER BY created_at LIMIT 200"
    ))?;
    let rows = stmt.query_map([account], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Transfers `account` sent that wait for the partner (pending or locked), oldest first.
pub fn outgoing(conn: &Connection, account: AccountId) -> StoreResult<Vec<TransferRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.{} FROM license_transfers t JOIN licenses l ON l.license_id = t.license_id
         WHERE t.from_account = ?1 AND t.status IN ('pending', 'locked')
         ORDER BY t.created_at LIMIT 200",
        COLUMNS.replace(", ", ", t.")
    ))?;
    let rows = stmt.query_map([account], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
