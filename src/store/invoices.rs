//! Invoices and credit notes. A draft invoice has no number and may change or be deleted;
//! once finalised (numbered in the same transaction, see [`super::commerce::next_number`]) its
//! document never changes and it is never deleted: triggers refuse both, whatever the caller.
//! Credit notes are only ever added.

use super::commerce::{date_text, from_json, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::documents::{CreditNote, Invoice, InvoiceStatus};
use crate::domain::ids::{AccountId, CreditNoteId, InvoiceId, OrderId};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// An invoice as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub id: InvoiceId,
    pub account_id: AccountId,
    pub order_id: Option<OrderId>,
    pub invoice: Invoice,
}

/// A finalised invoice's payment state, as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceStatusRecord {
    pub id: InvoiceId,
    pub status: String,
    pub paid_on: Option<String>,
}

/// A credit note as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteRecord {
    pub id: CreditNoteId,
    pub account_id: AccountId,
    pub invoice_id: InvoiceId,
    pub note: CreditNote,
}

/// The stored word of a status.
pub fn status_word(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "draft",
        InvoiceStatus::Unpaid => "unpaid",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Void => "void",
    }
}

type Parts = (InvoiceId, AccountId, Option<OrderId>, String);

fn from_row(row: &Row<'_>) -> rusqlite::Result<Parts> {
    Ok((
        row.get("id")?,
        row.get("account_id")?,
        row.get("order_id")?,
        row.get("body")?,
    ))
}

fn record(parts: Parts) -> StoreResult<InvoiceRecord> {
    Ok(InvoiceRecord {
        id: parts.0,
        account_id: parts.1,
        order_id: parts.2,
        invoice: from_json("invoice", &parts.3)?,
    })
}

const COLUMNS: &str = "id, account_id, order_id, body";

fn change_for(record: &InvoiceRecord) -> Change {
    if record.invoice.status() == InvoiceStatus::Draft {
        Change::InvoiceDraft(record.clone())
    } else {
        Change::Invoice(record.clone())
    }
}

/// Saves a new invoice (a draft, or one finalised in the same transaction).
pub fn insert(tx: &Transaction<'_>, record: &InvoiceRecord, now: i64) -> StoreResult<()> {
    let invoice = &record.invoice;
    let number = invoice.number();
    tx.execute(
        "INSERT INTO invoices (id, account_id, number, year, seq, status, order_id, issued_on,
             due_on, paid_on, currency, total_minor, body, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
        params![
            record.id,
            record.account_id,
            number.map(|n| n.to_string()),
            number.map(|n| n.year),
            number.map(|n| n.seq),
            status_word(invoice.status()),
            record.order_id,
            invoice.issued_on().map(date_text),
            invoice.due_on().map(date_text),
            invoice.paid_on().map(date_text),
            invoice.document().currency.code(),
            invoice.total().minor(),
            to_json(invoice)?,
            now
        ],
    )?;
    outbox::record(tx, &change_for(record), now)?;
    Ok(())
}

/// Saves an invoice's new state. Finalising a draft records the numbered invoice as an
/// insert-only fact; paying or voiding one records its status.
pub fn update(tx: &Transaction<'_>, record: &InvoiceRecord, now: i64) -> StoreResult<()> {
    let invoice = &record.invoice;
    let before = get(tx, record.id)?.ok_or_else(|| StoreError::NotFound {
        what: "invoice",
        id: record.id.to_string(),
    })?;
    let number = invoice.number();
    tx.execute(
        "UPDATE invoices SET number = ?2, year = ?3, seq = ?4, status = ?5, issued_on = ?6,
             due_on = ?7, paid_on = ?8, currency = ?9, total_minor = ?10, body = ?11,
             updated_at = ?12
         WHERE id = ?1",
        params![
            record.id,
            number.map(|n| n.to_string()),
            number.map(|n| n.year),
            number.map(|n| n.seq),
            status_word(invoice.status()),
            invoice.issued_on().map(date_text),
            invoice.due_on().map(date_text),
            invoice.paid_on().map(date_text),
            invoice.document().currency.code(),
            invoice.total().minor(),
            to_json(invoice)?,
            now
        ],
    )?;
    let change = if before.invoice.status() == InvoiceStatus::Draft {
        change_for(record)
    } else {
        Change::InvoiceStatus(InvoiceStatusRecord {
            id: record.id,
            status: status_word(invoice.status()).to_string(),
            paid_on: invoice.paid_on().map(date_text),
        })
    };
    outbox::record(tx, &change, now)?;
    Ok(())
}

/// Deletes a draft (the schema refuses any other).
pub fn delete_draft(tx: &Transaction<'_>, id: InvoiceId, now: i64) -> StoreResult<()> {
    tx.execute("DELETE FROM invoices WHERE id = ?1", [id])?;
    outbox::record(tx, &Change::InvoiceDraftDeleted { id }, now)?;
    Ok(())
}

/// One invoice.
pub fn get(conn: &Connection, id: InvoiceId) -> StoreResult<Option<InvoiceRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM invoices WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .map(record)
    .transpose()
}

/// The invoices made for an order, oldest first.
pub fn for_order(conn: &Connection, order_id: OrderId) -> StoreResult<Vec<InvoiceRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE order_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([order_id], from_row)?;
    rows.map(|r| record(r?)).collect()
}

/// The newest invoices of an account first (keyset on creation, then id).
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    after: Option<(i64, InvoiceId)>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<(i64, InvoiceRecord)>> {
    let (created, id) = after.unwrap_or((i64::MAX, InvoiceId(uuid::Uuid::max())));
    let offset = if after.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT created_at, {COLUMNS} FROM invoices
         WHERE account_id = ?1 AND (created_at, id) < (?2, ?3)
         ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            account_id,
            created,
            id,
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        |r| Ok((r.get::<_, i64>("created_at")?, from_row(r)?)),
    )?;
    rows.map(|r| {
        let (created, parts) = r?;
        Ok((created, record(parts)?))
    })
    .collect()
}

/// How many invoices an account has.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM invoices WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

/// Saves a credit note.
pub fn insert_credit_note(
    tx: &Transaction<'_>,
    record: &CreditNoteRecord,
    now: i64,
) -> StoreResult<()> {
    let note = &record.note;
    tx.execute(
        "INSERT INTO credit_notes (id, account_id, invoice_id, number, year, seq, issued_on,
             currency, total_minor, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            record.id,
            record.account_id,
            record.invoice_id,
            note.number.to_string(),
            note.number.year,
            note.number.seq,
            date_text(note.issued_on),
            note.currency.code(),
            note.totals.total.minor(),
            to_json(note)?,
            now
        ],
    )?;
    outbox::record(tx, &Change::CreditNote(record.clone()), now)?;
    Ok(())
}

/// One credit note.
pub fn credit_note(conn: &Connection, id: CreditNoteId) -> StoreResult<Option<CreditNoteRecord>> {
    conn.query_row(
        "SELECT id, account_id, invoice_id, body FROM credit_notes WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, CreditNoteId>(0)?,
                r.get::<_, AccountId>(1)?,
                r.get::<_, InvoiceId>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    )
    .optional()?
    .map(|(id, account_id, invoice_id, body)| {
        Ok(CreditNoteRecord {
            id,
            account_id,
            invoice_id,
            note: from_json("credit note", &body)?,
        })
    })
    .transpose()
}

/// The credit notes issued against an invoice, oldest first.
pub fn credit_notes_for(conn: &Connection, invoice_id: InvoiceId) -> StoreResult<Vec<CreditNote>> {
    let mut stmt = conn
        .prepare_cached("SELECT body FROM credit_notes WHERE invoice_id = ?1 ORDER BY year, seq")?;
    let rows = stmt.query_map([invoice_id], |r| r.get::<_, String>(0))?;
    rows.map(|b| from_json("credit note", &b?)).collect()
}
