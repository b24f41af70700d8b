//! Payment methods repository. Only brand and last four digits of a card reach this module;
//! one method per account is the default.

use super::outbox::{self, Op};
use super::{StoreError, StoreResult, new_id};
use crate::domain::payment::{CardBrand, PaymentDetails, PaymentMethod};
use rusqlite::{Connection, Row, Transaction, params};
use serde_json::json;

fn from_row(row: &Row<'_>) -> rusqlite::Result<PaymentMethod> {
    let kind: String = row.get("kind")?;
    let details = if kind == "card" {
        PaymentDetails::Card {
            holder: row.get("holder")?,
            brand: CardBrand::from_label(&row.get::<_, String>("brand")?),
            last4: row.get("last4")?,
            exp_month: row.get("exp_month")?,
            exp_year: row.get("exp_year")?,
        }
    } else {
        PaymentDetails::BankTransfer {
            account_holder: row.get("holder")?,
            bank_name: row.get("bank_name")?,
        }
    };
    Ok(PaymentMethod {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        details,
        is_default: row.get("is_default")?,
        created_at: row.get("created_at")?,
    })
}

/// Adds a method; the account's first method, or one added with `make_default`, becomes
/// the default.
pub fn add(
    tx: &Transaction<'_>,
    account_id: &str,
    details: &PaymentDetails,
    make_default: bool,
    now: i64,
) -> StoreResult<PaymentMethod> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)",
        [account_id],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(StoreError::NotFound(format!("account {account_id}")));
    }
    let has_default: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM payment_methods WHERE account_id = ?1 AND is_default = 1)",
        [account_id],
        |r| r.get(0),
    )?;
    let is_default = make_default || !has_default;
    if is_default {
        tx.execute(
            "UPDATE payment_methods SET is_default = 0 WHERE account_id = ?1",
            [account_id],
        )?;
    }
    let id = new_id();
    match details {
        PaymentDetails::Card {
            holder,
            brand,
            last4,
            exp_month,
            exp_year,
        } => tx.execute(
            "INSERT INTO payment_methods (id, account_id, kind, holder, brand, last4, exp_month, exp_year, is_default, created_at)
             VALUES (?1, ?2, 'card', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![id, account_id, holder, brand.label(), last4, exp_month, exp_year, is_default, now],
        )?,
        PaymentDetails::BankTransfer {
            account_holder,
            bank_name,
        } => tx.execute(
            "INSERT INTO payment_methods (id, account_id, kind, holder, bank_name, is_default, created_at)
             VALUES (?1, ?2, 'bank_transfer', ?3, ?4, ?5, ?6)",
            params![id, account_id, account_holder, bank_name, is_default, now],
        )?,
    };
    outbox::record(
        tx,
        "payment_method",
        &id,
        Op::Upsert,
        &json!({"account_id": account_id, "details": details, "is_default": is_default}),
        now,
    )?;
    Ok(PaymentMethod {
        id,
        account_id: account_id.to_string(),
        details: details.clone(),
        is_default,
        created_at: now,
    })
}

/// Makes `id` the default method of its account.
pub fn set_default(tx: &Transaction<'_>, id: &str, now: i64) -> StoreResult<()> {
    let account_id = account_of(tx, id)?;
    tx.execute(
        "UPDATE payment_methods SET is_default = 0 WHERE account_id = ?1",
        [&account_id],
    )?;
    tx.execute(
        "UPDATE payment_methods SET is_default = 1 WHERE id = ?1",
        [id],
    )?;
    outbox::record(
        tx,
        "payment_method",
        id,
        Op::Upsert,
        &json!({"is_default": true}),
        now,
    )?;
    Ok(())
}

/// Removes a method; if it was the default, the newest remaining one takes over.
pub fn delete(tx: &Transaction<'_>, id: &str, now: i64) -> StoreResult<()> {
    let account_id = account_of(tx, id)?;
    tx.execute("DELETE FROM payment_methods WHERE id = ?1", [id])?;
    tx.execute(
        "UPDATE payment_methods SET is_default = 1
         WHERE id = (SELECT id FROM payment_methods WHERE account_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM payment_methods WHERE account_id = ?1 AND is_default = 1)",
        [&account_id],
    )?;
    outbox::record(tx, "payment_method", id, Op::Delete, &json!({}), now)?;
    Ok(())
}

fn account_of(conn: &Connection, id: &str) -> StoreResult<String> {
    conn.query_row(
        "SELECT account_id FROM payment_methods WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .map_err(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => {
            StoreError::NotFound(format!("payment method {id}"))
        }
        e => e.into(),
    })
}

/// The methods of an account, default first, then newest first.
pub fn list(conn: &Connection, account_id: &str) -> StoreResult<Vec<PaymentMethod>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM payment_methods WHERE account_id = ?1
         ORDER BY is_default DESC, created_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([account_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
