//! The wallet ledger: append-only entries per account (a trigger refuses updates and deletes).
//! Each row keeps the whole [`WalletEntry`] as JSON and, for sums, its signed money change or
//! its entitlement movement; balances are sums of rows, never a stored number.

use super::commerce::{from_json, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::catalog::Product;
use crate::commerce::wallet::{EntitlementCount, Movement, WalletChange, WalletEntry};
use crate::domain::ids::{AccountId, WalletEntryId};
use crate::domain::money::{Currency, Money};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A wallet entry as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletEntryRecord {
    pub account_id: AccountId,
    pub entry: WalletEntry,
}

fn kind_word(change: &WalletChange) -> &'static str {
    match change {
        WalletChange::TopUp { .. } => "top_up",
        WalletChange::Payment { .. } => "payment",
        WalletChange::Credit { .. } => "credit",
        WalletChange::Refund { .. } => "refund",
        WalletChange::Entitlement { .. } => "entitlement",
    }
}

/// The stored word of a product.
pub fn product_word(product: Product) -> &'static str {
    match product {
        Product::ProLicense => "pro_license",
        Product::CapacityTb => "capacity_tb",
        Product::Support => "support",
        Product::NamedSeat => "named_seat",
    }
}

fn movement_word(movement: Movement) -> &'static str {
    match movement {
        Movement::Bought => "bought",
        Movement::Assigned => "assigned",
        Movement::Released => "released",
    }
}

/// Appends an entry (the caller checked it against the balances), with its outbox change.
pub fn append(
    tx: &Transaction<'_>,
    account_id: AccountId,
    entry: &WalletEntry,
    now: i64,
) -> StoreResult<()> {
    insert_row(tx, account_id, entry)?;
    outbox::record(
        tx,
        &Change::WalletEntry(WalletEntryRecord {
            account_id,
            entry: entry.clone(),
        }),
        now,
    )?;
    Ok(())
}

/// The entry with this id and its account, if this desk has it.
pub fn get(conn: &Connection, id: WalletEntryId) -> StoreResult<Option<WalletEntryRecord>> {
    let row: Option<(AccountId, String)> = conn
        .prepare_cached("SELECT account_id, body FROM wallet_entries WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(account_id, body)| {
        Ok(WalletEntryRecord {
            account_id,
            entry: from_json("wallet entry", &body)?,
        })
    })
    .transpose()
}

/// Stores an entry (one booked here, or one pulled from another desk).
pub fn insert_row(
    tx: &Transaction<'_>,
    account_id: AccountId,
    entry: &WalletEntry,
) -> StoreResult<()> {
    let delta = entry
        .change
        .money_delta()
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (product, movement, quantity, reference) = match &entry.change {
        WalletChange::Entitlement {
            product,
            movement,
            quantity,
            reference,
        } => (
            Some(product_word(*product)),
            Some(movement_word(*movement)),
            Some(*quantity),
            reference.clone(),
        ),
        WalletChange::TopUp { reference, .. } | WalletChange::Payment { reference, .. } => {
            (None, None, None, reference.clone())
        }
        WalletChange::Credit { reason, .. } => (None, None, None, format!("{reason:?}")),
        WalletChange::Refund { of, .. } => (None, None, None, of.to_string()),
    };
    tx.prepare_cached(
        "INSERT INTO wallet_entries (id, account_id, kind, currency, amount_minor, product,
             movement, quantity, reference, body, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        WalletEntryId(entry.id),
        account_id,
        kind_word(&entry.change),
        delta.map(|d| d.currency().code()),
        delta.map(Money::minor),
        product,
        movement,
        quantity,
        reference,
        to_json(entry)?,
        entry.at
    ])?;
    Ok(())
}

/// Every entry of an account, in booking order (to check a new one against).
pub fn entries(conn: &Connection, account_id: AccountId) -> StoreResult<Vec<WalletEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM wallet_entries WHERE account_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([account_id], |r| r.get::<_, String>(0))?;
    rows.map(|b| from_json("wallet entry", &b?)).collect()
}

/// The wallet's currency: that of its first money entry, if it has one.
pub fn currency(conn: &Connection, account_id: AccountId) -> StoreResult<Option<Currency>> {
    let code: Option<String> = conn
        .query_row(
            "SELECT currency FROM wallet_entries WHERE account_id = ?1 AND currency IS NOT NULL
             ORDER BY seq LIMIT 1",
            [account_id],
            |r| r.get(0),
        )
        .optional()?;
    code.map(|c| {
        Currency::from_code(&c).map_err(|e| StoreError::Corrupt(format!("currency '{c}': {e}")))
    })
    .transpose()
}

/// Balances as sums of the rows: money (None while no money entry exists) and entitlements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances {
    pub money: Option<Money>,
    pub entitlements: BTreeMap<Product, EntitlementCount>,
}

/// Sums an account's entries.
pub fn balances(conn: &Connection, account_id: AccountId) -> StoreResult<Balances> {
    let money = match currency(conn, account_id)? {
        None => None,
        Some(currency) => {
            let minor: i64 = conn.query_row(
                "SELECT coalesce(sum(amount_minor), 0) FROM wallet_entries WHERE account_id = ?1",
                [account_id],
                |r| r.get(0),
            )?;
            Some(Money::from_minor(minor, currency))
        }
    };
    let mut stmt = conn.prepare_cached(
        "SELECT product, movement, sum(quantity) FROM wallet_entries
         WHERE account_id = ?1 AND kind = 'entitlement' GROUP BY product, movement",
    )?;
    let mut entitlements: BTreeMap<Product, EntitlementCount> = BTreeMap::new();
    let rows = stmt.query_map([account_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (product, movement, quantity) = row?;
        let Some(product) = Product::ALL
            .into_iter()
            .find(|p| product_word(*p) == product)
        else {
            return Err(StoreError::Corrupt(format!("unknown product '{product}'")));
        };
        let quantity = u64::try_from(quantity).unwrap_or(0);
        let count = entitlements.entry(product).or_default();
        match movement.as_str() {
            "bought" => count.bought += quantity,
            "assigned" => count.assigned += quantity,
            "released" => count.released += quantity,
            other => return Err(StoreError::Corrupt(format!("unknown movement '{other}'"))),
        }
    }
    Ok(Balances {
        money,
        entitlements,
    })
}

/// The newest entries first: `limit` before `before_seq` (keyset), or from `offset`.
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<(i64, WalletEntry)>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(
        "SELECT seq, body FROM wallet_entries WHERE account_id = ?1 AND seq < ?2
         ORDER BY seq DESC LIMIT ?3 OFFSET ?4",
    )?;
    let rows = stmt.query_map(
        params![
            account_id,
            before_seq.unwrap_or(i64::MAX),
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.map(|r| {
        let (seq, body) = r?;
        Ok((seq, from_json("wallet entry", &body)?))
    })
    .collect()
}

/// How many entries an account's wallet has.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM wallet_entries WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}
