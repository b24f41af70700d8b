//! The confirmation mail outbox: one row per message (the text itself, so the app can show
//! it), written in the transaction of what it confirms; the `.eml` file beside the database is
//! written once that transaction commits. Sending comes later.

use super::StoreResult;
use crate::domain::ids::{AccountId, MailId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRow {
    pub seq: i64,
    pub id: MailId,
    pub account_id: Option<AccountId>,
    pub to: String,
    pub subject: String,
    /// The `.eml` file's name in `<data dir>/outbox/`.
    pub file_name: String,
    /// The whole RFC 5322 message.
    pub message: String,
    pub created_at: i64,
}

const COLUMNS: &str = "seq, id, account_id, to_addr, subject, file_name, message, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MailRow> {
    Ok(MailRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        account_id: r.get(2)?,
        to: r.get(3)?,
        subject: r.get(4)?,
        file_name: r.get(5)?,
        message: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Queues a message.
pub fn insert(tx: &Transaction<'_>, mail: &MailRow) -> StoreResult<i64> {
    tx.execute(
        "INSERT INTO mail_outbox (id, account_id, to_addr, subject, file_name, message, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            mail.id,
            mail.account_id,
            mail.to,
            mail.subject,
            mail.file_name,
            mail.message,
            mail.created_at
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// One message.
pub fn get(conn: &Connection, id: MailId) -> StoreResult<Option<MailRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM mail_outbox WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The newest messages first: `limit` before `before_seq` (keyset), or from `offset`.
pub fn page(
    conn: &Connection,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<MailRow>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
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

/// How many messages wait.
pub fn count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM mail_outbox", [], |r| r.get(0))?)
}
