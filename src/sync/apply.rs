//! Applying one pulled change to the local tables, without recording a change of this desk.
//! Each entity this desk applies has one arm here; any other is kept waiting in the inbox
//! (never dropped) until a desk that applies it reads it again.

use crate::commerce::wallet::Wallet;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::ids::{AccountId, PaymentMethodId, WalletEntryId};
use crate::domain::money::Currency;
use crate::domain::payment::PaymentMethod;
use crate::domain::validation::FieldErrors;
use crate::store::wallet::{self, WalletEntryRecord};
use crate::store::{StoreError, accounts, billing, payments};
use rusqlite::Transaction;
use serde::Deserialize;

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// This desk's checks refused it: the reason.
    Refused(String),
    /// This desk does not apply this entity, operation or body version.
    Waiting,
}

/// The entities (and operations) this desk applies.
pub const APPLIES: &[(&str, &str)] = &[
    ("account", "upsert"),
    ("account", "delete"),
    ("billing_details", "upsert"),
    ("payment_method", "upsert"),
    ("payment_method", "delete"),
    ("wallet_entry", "insert"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Gone<T> {
    id: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Billing {
    account_id: AccountId,
    details: BillingDetails,
}

/// Applies `body` of a change to `(entity, op)`, version `version`, inside `tx`. Store
/// errors other than a refusal (a failing disk) are returned: the page is not applied.
pub fn apply(
    tx: &Transaction<'_>,
    entity: &str,
    op: &str,
    version: u32,
    body: &str,
    now: i64,
) -> Result<Outcome, StoreError> {
    if version != 1 || !APPLIES.contains(&(entity, op)) {
        return Ok(Outcome::Waiting);
    }
    let result = match (entity, op) {
        ("account", "upsert") => read::<Account>(body).and_then(|a| {
            checked(crate::domain::account::validate_name(&a.name))?;
            Ok(accounts::put(tx, &a, now))
        }),
        ("account", "delete") => {
            read::<Gone<AccountId>>(body).map(|g| accounts::remove(tx, g.id).map(|_| ()))
        }
        ("billing_details", "upsert") => read::<Billing>(body).and_then(|b| {
            checked(b.details.validate())?;
            Ok(billing::put(tx, b.account_id, &b.details, now))
        }),
        ("payment_method", "upsert") => read::<PaymentMethod>(body).map(|m| payments::put(tx, &m)),
        ("payment_method", "delete") => {
            read::<Gone<PaymentMethodId>>(body).map(|g| payments::remove(tx, g.id).map(|_| ()))
        }
        ("wallet_entry", "insert") => match read::<WalletEntryRecord>(body) {
            Ok(record) => wallet_entry(tx, &record)?.map(Ok),
            Err(unreadable) => Err(unreadable),
        },
        _ => return Ok(Outcome::Waiting),
    };
    match result {
        Err(unreadable) => Ok(Outcome::Refused(unreadable)),
        Ok(Ok(())) => Ok(Outcome::Applied),
        Ok(Err(e)) => refusal(e).map(Outcome::Refused),
    }
}

/// A wallet entry from another desk, an insert-only fact: added once (the same change under
/// the same id again changes nothing; another change under its id is refused). The wallet is checked with it as
/// a booking here would be: an entry that would take a balance below zero after the merge (two
/// desks spending the same money offline) is refused, so it waits for staff in the Sync
/// panel and the balance never goes negative.
fn wallet_entry(
    tx: &Transaction<'_>,
    record: &WalletEntryRecord,
) -> Result<Result<(), String>, StoreError> {
    let account_id = record.account_id;
    let entry = &record.entry;
    if let Some(here) = wallet::get(tx, WalletEntryId(entry.id))? {
        // The same fact again, or booked on two desks at different times (a referral reward's
        // id derives from the referral): nothing to add.
        return Ok(
            if here.account_id == account_id && here.entry.change == entry.change {
                Ok(())
            } else {
                Err(format!(
                    "a different wallet entry {} is here already",
                    entry.id
                ))
            },
        );
    }
    if accounts::get(tx, account_id)?.is_none() {
        return Ok(Err(format!("account {account_id} is not on this desk")));
    }
    let currency = match (
        wallet::currency(tx, account_id)?,
        entry.change.money_delta(),
    ) {
        (Some(currency), _) => currency,
        (None, Some(Ok(delta))) => delta.currency(),
        (None, Some(Err(e))) => return Ok(Err(format!("the amount does not read: {e}"))),
        // Entitlements only: no money is moved, any currency reads the same.
        (None, None) => Currency::EUR,
    };
    let wallet = match Wallet::from_entries(currency, wallet::entries(tx, account_id)?) {
        Ok(wallet) => wallet,
        Err(e) => return Ok(Err(format!("this desk's wallet does not add up: {e}"))),
    };
    if let Err(e) = wallet.check(&entry.change) {
        return Ok(Err(format!(
            "not applied, kept for review: with it the wallet would not hold ({e})"
        )));
    }
    wallet::insert_row(tx, account_id, entry)?;
    Ok(Ok(()))
}

/// The same checks a person's input gets on this desk.
fn checked(errors: FieldErrors) -> Result<(), String> {
    errors.into_result().map_err(|e| e.to_string())
}

fn read<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("the body does not read: {e}"))
}

/// The reason for a store error that is this desk refusing the change (a rule of its schema),
/// or the error itself when it is not.
fn refusal(error: StoreError) -> Result<String, StoreError> {
    match error {
        StoreError::Duplicate { .. } | StoreError::NotFound { .. } => Ok(error.to_string()),
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, message))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(format!(
                "this desk's data does not allow it ({})",
                message.unwrap_or_else(|| "a constraint".into())
            ))
        }
        other => Err(other),
    }
}
