//! Quotes: one row per version, with the whole [`Quote`] (offer, status, frozen snapshot) as
//! its JSON body and the columns lists sort and filter on.

use super::commerce::{date_text, from_json, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::quote::{Quote, QuoteStatus};
use crate::domain::ids::{AccountId, QuoteId};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// A quote version as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRecord {
    pub id: QuoteId,
    pub account_id: AccountId,
    pub quote: Quote,
}

/// The stored word of a status.
pub fn status_word(status: QuoteStatus) -> &'static str {
    match status {
        QuoteStatus::Draft => "draft",
        QuoteStatus::Open => "open",
        QuoteStatus::Accepted => "accepted",
        QuoteStatus::Expired => "expired",
        QuoteStatus::Cancelled => "cancelled",
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<(QuoteId, AccountId, String)> {
    Ok((row.get("id")?, row.get("account_id")?, row.get("body")?))
}

fn record(parts: (QuoteId, AccountId, String)) -> StoreResult<QuoteRecord> {
    Ok(QuoteRecord {
        id: parts.0,
        account_id: parts.1,
        quote: from_json("quote", &parts.2)?,
    })
}

/// Saves a new quote version.
pub fn insert(
    tx: &Transaction<'_>,
    account_id: AccountId,
    quote: &Quote,
    now: i64,
) -> StoreResult<QuoteRecord> {
    let number = quote.number();
    tx.execute(
        "INSERT INTO quotes (id, account_id, number, year, seq, version, status, opened_on,
             valid_until, currency, total_minor, body, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        params![
            QuoteId(quote.id()),
            account_id,
            number.to_string(),
            number.year,
            number.seq,
            quote.version(),
            status_word(quote.status()),
            quote.opened_on().map(date_text),
            quote.valid_until().map(date_text),
            quote.snapshot().map(|s| s.currency.code()),
            quote.snapshot().map(|s| s.totals.total.minor()),
            to_json(quote)?,
            now
        ],
    )?;
    let record = QuoteRecord {
        id: QuoteId(quote.id()),
        account_id,
        quote: quote.clone(),
    };
    outbox::record(tx, &Change::Quote(record.clone()), now)?;
    Ok(record)
}

/// Saves a quote version's new state.
pub fn update(
    tx: &Transaction<'_>,
    account_id: AccountId,
    quote: &Quote,
    now: i64,
) -> StoreResult<QuoteRecord> {
    let changed = tx.execute(
        "UPDATE quotes SET status = ?2, opened_on = ?3, valid_until = ?4, currency = ?5,
             total_minor = ?6, body = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            QuoteId(quote.id()),
            status_word(quote.status()),
            quote.opened_on().map(date_text),
            quote.valid_until().map(date_text),
            quote.snapshot().map(|s| s.currency.code()),
            quote.snapshot().map(|s| s.totals.total.minor()),
            to_json(quote)?,
            now
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "quote",
            id: quote.id().to_string(),
        });
    }
    let record = QuoteRecord {
        id: QuoteId(quote.id()),
        account_id,
        quote: quote.clone(),
    };
    outbox::record(tx, &Change::Quote(record.clone()), now)?;
    Ok(record)
}

/// One quote version.
pub fn get(conn: &Connection, id: QuoteId) -> StoreResult<Option<QuoteRecord>> {
    conn.query_row(
        "SELECT id, account_id, body FROM quotes WHERE id = ?1",
        [id],
        from_row,
    )
    .optional()?
    .map(record)
    .transpose()
}

/// The newest quote versions of an account first: `limit` after `after` (keyset), or from
/// `offset`.
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    after: Option<&QuoteRecord>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<QuoteRecord>> {
    let (year, seq, version) = after
        .map(|q| {
            (
                q.quote.number().year,
                q.quote.number().seq,
                q.quote.version(),
            )
        })
        .unwrap_or((i32::MAX, u32::MAX, u32::MAX));
    let offset = if after.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(
        "SELECT id, account_id, body FROM quotes
         WHERE account_id = ?1 AND (year, seq, version) < (?2, ?3, ?4)
         ORDER BY year DESC, seq DESC, version DESC LIMIT ?5 OFFSET ?6",
    )?;
    let rows = stmt.query_map(
        params![
            account_id,
            year,
            seq,
            version,
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    rows.map(|r| record(r?)).collect()
}

/// How many quote versions an account has.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM quotes WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

/// Open quotes whose validity ended before `today`.
pub fn due_for_expiry(conn: &Connection, today: NaiveDate) -> StoreResult<Vec<QuoteRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, account_id, body FROM quotes WHERE status = 'open' AND valid_until < ?1",
    )?;
    let rows = stmt.query_map([date_text(today)], from_row)?;
    rows.map(|r| record(r?)).collect()
}
