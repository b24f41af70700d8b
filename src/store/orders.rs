//! Orders: the whole [`Order`] (status and frozen priced document) as JSON, with the columns
//! lists sort on, and the idempotency key of the placement that made it (UNIQUE, so a second
//! placement with the same key finds the first order instead of charging again).

use super::commerce::{date_text, from_json, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::documents::{Order, OrderStatus};
use crate::domain::ids::{AccountId, IdempotencyKey, OrderId, QuoteId};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// An order as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub id: OrderId,
    pub account_id: AccountId,
    pub quote_id: Option<QuoteId>,
    pub order: Order,
}

/// The stored word of a status.
pub fn status_word(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "placed",
        OrderStatus::Paid => "paid",
        OrderStatus::Fulfilled => "fulfilled",
        OrderStatus::Cancelled => "cancelled",
    }
}

type Parts = (OrderId, AccountId, Option<QuoteId>, String);

fn from_row(row: &Row<'_>) -> rusqlite::Result<Parts> {
    Ok((
        row.get("id")?,
        row.get("account_id")?,
        row.get("quote_id")?,
        row.get("body")?,
    ))
}

fn record(parts: Parts) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: parts.0,
        account_id: parts.1,
        quote_id: parts.2,
        order: from_json("order", &parts.3)?,
    })
}

const COLUMNS: &str = "id, account_id, quote_id, body";

/// Saves a newly placed order.
pub fn insert(
    tx: &Transaction<'_>,
    account_id: AccountId,
    order: &Order,
    quote_id: Option<QuoteId>,
    key: Option<IdempotencyKey>,
    now: i64,
) -> StoreResult<OrderRecord> {
    let number = order.number();
    tx.execute(
        "INSERT INTO orders (id, account_id, number, year, seq, status, placed_on, currency,
             total_minor, quote_id, idempotency_key, body, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        params![
            OrderId(order.id()),
            account_id,
            number.to_string(),
            number.year,
            number.seq,
            status_word(order.status()),
            date_text(order.placed_on()),
            order.document().currency.code(),
            order.total().minor(),
            quote_id,
            key,
            to_json(order)?,
            now
        ],
    )?;
    let record = OrderRecord {
        id: OrderId(order.id()),
        account_id,
        quote_id,
        order: order.clone(),
    };
    outbox::record(tx, &Change::Order(record.clone()), now)?;
    Ok(record)
}

/// Saves an order's new state (status, or lines added while it is open).
pub fn update(tx: &Transaction<'_>, record: &OrderRecord, now: i64) -> StoreResult<()> {
    let order = &record.order;
    let changed = tx.execute(
        "UPDATE orders SET status = ?2, total_minor = ?3, body = ?4, updated_at = ?5 WHERE id = ?1",
        params![
            record.id,
            status_word(order.status()),
            order.total().minor(),
            to_json(order)?,
            now
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "order",
            id: record.id.to_string(),
        });
    }
    outbox::record(tx, &Change::Order(record.clone()), now)?;
    Ok(())
}

/// One order.
pub fn get(conn: &Connection, id: OrderId) -> StoreResult<Option<OrderRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM orders WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .map(record)
    .transpose()
}

/// The order a placement with `key` made, if any.
pub fn by_key(conn: &Connection, key: IdempotencyKey) -> StoreResult<Option<OrderRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM orders WHERE idempotency_key = ?1"),
        [key],
        from_row,
    )
    .optional()?
    .map(record)
    .transpose()
}

/// The newest orders of an account first (keyset after `after`, or from `offset`).
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    after: Option<&OrderRecord>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<OrderRecord>> {
    let (year, seq) = after
        .map(|o| (o.order.number().year, o.order.number().seq))
        .unwrap_or((i32::MAX, u32::MAX));
    let offset = if after.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM orders WHERE account_id = ?1 AND (year, seq) < (?2, ?3)
         ORDER BY year DESC, seq DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            account_id,
            year,
            seq,
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    rows.map(|r| record(r?)).collect()
}

/// How many orders an account has.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM orders WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

/// The account's open orders: placed, not from a quote, not yet invoiced; newest first.
pub fn open_orders(conn: &Connection, account_id: AccountId) -> StoreResult<Vec<OrderRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM orders o WHERE account_id = ?1 AND status = 'placed'
             AND quote_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id)
         ORDER BY year DESC, seq DESC LIMIT 50"
    ))?;
    let rows = stmt.query_map([account_id], from_row)?;
    rows.map(|r| record(r?)).collect()
}
