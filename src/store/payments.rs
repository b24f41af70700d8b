//! Payment methods repository. Only brand and last four digits of a card reach this module;
//! one method per account is the default. Every method whose default flag changes gets its own
//! outbox row, so a desk that syncs never keeps two defaults.

use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::domain::ids::{AccountId, PaymentMethodId};
use crate::domain::payment::{CardBrand, PaymentDetails, PaymentMethod};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

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

const COLUMNS: &str = "id, account_id, kind, holder, brand, last4, exp_month, exp_year, bank_name, is_default, created_at";

/// Adds a method; the account's first method, or one added with `make_default`, becomes the
/// default.
pub fn add(
    tx: &Transaction<'_>,
    account_id: AccountId,
    details: &PaymentDetails,
    make_default: bool,
    now: i64,
) -> StoreResult<PaymentMethod> {
    if super::accounts::get(tx, account_id)?.is_none() {
        return Err(StoreError::NotFound {
            what: "account",
            id: account_id.to_string(),
        });
    }
    let has_default: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM payment_methods WHERE account_id = ?1 AND is_default = 1)",
        [account_id],
        |r| r.get(0),
    )?;
    let is_default = make_default || !has_default;
    if is_default {
        clear_default(tx, account_id, now)?;
    }
    let id = PaymentMethodId::new();
    put(
        tx,
        &PaymentMethod {
            id,
            account_id,
            details: details.clone(),
            is_default,
            created_at: now,
        },
    )?;
    let added = get(tx, id)?;
    outbox::record(tx, &Change::PaymentMethod(added.clone()), now)?;
    Ok(added)
}

/// Clears the account's default flag, recording the method that loses it.
fn clear_default(tx: &Transaction<'_>, account_id: AccountId, now: i64) -> StoreResult<()> {
    let previous: Option<PaymentMethodId> = tx
        .query_row(
            "SELECT id FROM payment_methods WHERE account_id = ?1 AND is_default = 1",
            [account_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(previous) = previous {
        tx.prepare_cached("UPDATE payment_methods SET is_default = 0 WHERE id = ?1")?
            .execute([previous])?;
        outbox::record(tx, &Change::PaymentMethod(get(tx, previous)?), now)?;
    }
    Ok(())
}

/// Makes `id` the default method of its account. Returns it.
pub fn set_default(
    tx: &Transaction<'_>,
    id: PaymentMethodId,
    now: i64,
) -> StoreResult<PaymentMethod> {
    let method = get(tx, id)?;
    if method.is_default {
        return Ok(method);
    }
    clear_default(tx, method.account_id, now)?;
    tx.prepare_cached("UPDATE payment_methods SET is_default = 1 WHERE id = ?1")?
        .execute([id])?;
    let method = get(tx, id)?;
    outbox::record(tx, &Change::PaymentMethod(method.clone()), now)?;
    Ok(method)
}

/// Removes a method; if it was the default, the newest remaining one takes over (and is
/// recorded). Returns the removed method.
pub fn delete(tx: &Transaction<'_>, id: PaymentMethodId, now: i64) -> StoreResult<PaymentMethod> {
    let gone = get(tx, id)?;
    tx.prepare_cached("DELETE FROM payment_methods WHERE id = ?1")?
        .execute([id])?;
    outbox::record(tx, &Change::PaymentMethodDeleted { id }, now)?;
    if gone.is_default {
        let next: Option<PaymentMethodId> = tx
            .query_row(
                "SELECT id FROM payment_methods WHERE account_id = ?1
                 ORDER BY created_at DESC, id DESC LIMIT 1",
                [gone.account_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(next) = next {
            tx.prepare_cached("UPDATE payment_methods SET is_default = 1 WHERE id = ?1")?
                .execute([next])?;
            outbox::record(tx, &Change::PaymentMethod(get(tx, next)?), now)?;
        }
    }
    Ok(gone)
}

/// Writes a method without recording a change (what [`add`] stores; a pulled change is
/// applied with it): a default method takes the flag from the account's other methods.
pub fn put(tx: &Transaction<'_>, method: &PaymentMethod) -> StoreResult<()> {
    if method.is_default {
        tx.prepare_cached(
            "UPDATE payment_methods SET is_default = 0
             WHERE account_id = ?1 AND is_default = 1 AND id <> ?2",
        )?
        .execute(params![method.account_id, method.id])?;
    }
    let (kind, holder, brand, last4, exp_month, exp_year, bank_name) = match &method.details {
        PaymentDetails::Card {
            holder,
            brand,
            last4,
            exp_month,
            exp_year,
        } => (
            "card",
            holder,
            Some(brand.label()),
            Some(last4),
            Some(exp_month),
            Some(exp_year),
            None,
        ),
        PaymentDetails::BankTransfer {
            account_holder,
            bank_name,
        } => (
            "bank_transfer",
            account_holder,
            None,
            None,
            None,
            None,
            Some(bank_name),
        ),
    };
    tx.prepare_cached(
        "INSERT INTO payment_methods (id, account_id, kind, holder, brand, last4, exp_month,
                                      exp_year, bank_name, is_default, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, kind = excluded.kind,
             holder = excluded.holder, brand = excluded.brand, last4 = excluded.last4,
             exp_month = excluded.exp_month, exp_year = excluded.exp_year,
             bank_name = excluded.bank_name, is_default = excluded.is_default",
    )?
    .execute(params![
        method.id,
        method.account_id,
        kind,
        holder,
        brand,
        last4,
        exp_month,
        exp_year,
        bank_name,
        method.is_default,
        method.created_at
    ])?;
    Ok(())
}

/// Removes a method as another desk did (a pulled change), without recording a change.
pub fn remove(tx: &Transaction<'_>, id: PaymentMethodId) -> StoreResult<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM payment_methods WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// One method by id.
pub fn get(conn: &Connection, id: PaymentMethodId) -> StoreResult<PaymentMethod> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM payment_methods WHERE id = ?1"),
        [id],
        from_row,
    )
    .map_err(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
            what: "payment method",
            id: id.to_string(),
        },
        e => e.into(),
    })
}

/// The methods of an account, default first, then newest first.
pub fn list(conn: &Connection, account_id: AccountId) -> StoreResult<Vec<PaymentMethod>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payment_methods WHERE account_id = ?1
         ORDER BY is_default DESC, created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([account_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
