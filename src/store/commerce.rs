//! What the commerce tables share: dates as ISO text, JSON bodies, money columns, and the
//! gapless document counters.
//!
//! Numbers come from one counter row per series (kind + year), advanced inside the caller's
//! `BEGIN IMMEDIATE` transaction: a second writer waits for the lock, so two desks' windows
//! (or the app and the CLI) never take the same number, and a rolled-back transaction gives
//! its number back with everything else, so the series has no gap.

use super::{StoreError, StoreResult};
use crate::commerce::numbering::{DocKind, DocNumber};
use crate::domain::money::{Currency, Money};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A date as stored ("2026-11-23").
pub fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A stored date.
pub fn parse_date(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("'{text}' is not a stored date")))
}

/// A row body as JSON; a value that cannot be written fails the transaction.
pub fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot write a row: {e}")))
}

/// A stored JSON body.
pub fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A stored amount.
pub fn money(minor: i64, code: &str) -> StoreResult<Money> {
    let currency = Currency::from_code(code)
        .map_err(|e| StoreError::Corrupt(format!("currency '{code}': {e}")))?;
    Ok(Money::from_minor(minor, currency))
}

/// The word a series is stored under.
pub fn kind_word(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Quote => "quote",
        DocKind::Order => "order",
        DocKind::Invoice => "invoice",
        DocKind::CreditNote => "credit_note",
    }
}

/// Takes the next number of `kind` for `year` in this desk's series, inside the caller's
/// transaction.
pub fn next_number(tx: &Transaction<'_>, kind: DocKind, year: i32) -> StoreResult<DocNumber> {
    let series = super::desk::series(tx)?;
    DocNumber::first(kind, series, year).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq: i64 = tx.query_row(
        "INSERT INTO doc_counters (kind, series, year, last_seq) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (kind, series, year) DO UPDATE SET last_seq = last_seq + 1
         RETURNING last_seq",
        params![kind_word(kind), series.as_str(), year],
        |r| r.get(0),
    )?;
    let seq = u32::try_from(seq).map_err(|_| {
        StoreError::Corrupt(format!("the {} series for {year} is full", kind.label()))
    })?;
    Ok(DocNumber {
        kind,
        series,
        year,
        seq,
    })
}

/// The last number taken of `kind` in `year` in this desk's series (0 when none).
pub fn last_seq(conn: &Connection, kind: DocKind, year: i32) -> StoreResult<u32> {
    let series = super::desk::series(conn)?;
    let seq: Option<i64> = conn
        .query_row(
            "SELECT last_seq FROM doc_counters WHERE kind = ?1 AND series = ?2 AND year = ?3",
            params![kind_word(kind), series.as_str(), year],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.and_then(|s| u32::try_from(s).ok()).unwrap_or(0))
}

/// The id of the document that holds `number` here (for a quote, its version `version`), if
/// any: a document pulled from another desk must not take a number a different one holds.
pub fn number_holder(
    conn: &Connection,
    number: DocNumber,
    version: u32,
) -> StoreResult<Option<uuid::Uuid>> {
    // Quotes share a number across their versions; other documents have one each.
    let table = match number.kind {
        DocKind::Quote => "quotes",
        DocKind::Order => "orders",
        DocKind::Invoice => "invoices",
        DocKind::CreditNote => "credit_notes",
    };
    let versioned = number.kind == DocKind::Quote;
    let sql = format!(
        "SELECT id FROM {table} WHERE number = ?1{}",
        if versioned { " AND version = ?2" } else { "" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let text = number.to_string();
    let id: Option<Vec<u8>> = if versioned {
        stmt.query_row(params![text, version], |r| r.get(0))
    } else {
        stmt.query_row([text], |r| r.get(0))
    }
    .optional()?;
    id.map(|bytes| {
        uuid::Uuid::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("the id of {number} does not read: {e}")))
    })
    .transpose()
}

/// The result a request with `key` already produced, if any (a double click, or a retry after
/// the answer was lost, gets the first result instead of a second charge).
pub fn idempotent_result(
    conn: &Connection,
    key: crate::domain::ids::IdempotencyKey,
) -> StoreResult<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT result FROM idempotency_keys WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records what a request with `key` produced, in its own transaction; a second request with
/// the same key fails on the primary key, so at most one of them commits.
pub fn remember_result(
    tx: &Transaction<'_>,
    key: crate::domain::ids::IdempotencyKey,
    action: &str,
    result: &str,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO idempotency_keys (key, action, result, at) VALUES (?1, ?2, ?3, ?4)",
        params![key, action, result, now],
    )?;
    Ok(())
}
