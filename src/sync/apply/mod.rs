//! Applying one pulled change to the local tables, without recording a change of this desk
//! (`store::outbox::ApplyingPulled`). Each entity this desk applies has one arm here, grouped
//! by what it belongs to ([`licensing`]: public keys, ledger entries, licenses; [`documents`]:
//! price lists, quotes, orders, invoices, credit notes; [`customers`]: arrays, seats,
//! referrals); any other is kept waiting in the inbox (never dropped) and taken again by a
//! build that applies it ([`APPLIES_VERSION`]).

mod customers;
mod documents;
mod licensing;

use crate::commerce::wallet::Wallet;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::ids::{AccountId, DeskId, PaymentMethodId, WalletEntryId};
use crate::domain::money::Currency;
use crate::domain::payment::PaymentMethod;
use crate::domain::validation::FieldErrors;
use crate::store::wallet::{self, WalletEntryRecord};
use crate::store::{StoreError, StoreResult, accounts, billing, payments};
use rusqlite::Transaction;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// This desk's checks refused it: the reason.
    Refused(String),
    /// Kept until this desk can apply it: why (an entity, operation or body version it does
    /// not apply, or something the change needs that is not here yet).
    Waiting(String),
}

/// The entities (and operations) this desk applies.
pub const APPLIES: &[(&str, &str)] = &[
    ("account", "upsert"),
    ("account", "delete"),
    ("billing_details", "upsert"),
    ("payment_method", "upsert"),
    ("payment_method", "delete"),
    ("wallet_entry", "insert"),
    ("public_key", "upsert"),
    ("ledger_entry", "insert"),
    ("license", "insert"),
    ("license", "upsert"),
    ("revocation_list", "insert"),
    ("price_list", "insert"),
    ("quote", "upsert"),
    ("order", "upsert"),
    ("invoice_draft", "upsert"),
    ("invoice_draft", "delete"),
    ("invoice", "insert"),
    ("invoice_status", "upsert"),
    ("credit_note", "insert"),
    ("array", "upsert"),
    ("array", "delete"),
    ("seat_contract", "upsert"),
    ("seat_change", "insert"),
    ("seat_assignment", "upsert"),
    ("referral", "upsert"),
    ("referral_reward", "insert"),
];

/// Grows whenever [`APPLIES`] does (or an arm learns to apply what it kept waiting): a desk
/// whose inbox was last taken by a lower version takes its waiting changes again, in feed
/// order, before its next pull.
pub const APPLIES_VERSION: i64 = 2;

/// What an arm decided: applied, or refused with the reason (nothing of it is kept).
type Verdict = Result<(), String>;

/// A store result as a verdict: a rule of this desk's schema refusing the change is a
/// refusal; anything else (a failing disk) is an error, and the page is not applied.
fn verdict(result: StoreResult<()>) -> Result<Verdict, StoreError> {
    match result {
        Ok(()) => Ok(Ok(())),
        Err(e) => refusal(e).map(Err),
    }
}

/// Refuses a change whose body is about another entity than its envelope names.
fn same_id(entity_id: &str, body_id: impl std::fmt::Display) -> Verdict {
    let body_id = body_id.to_string();
    if body_id == entity_id {
        Ok(())
    } else {
        Err(format!(
            "the change is for {entity_id} but its body is for {body_id}"
        ))
    }
}

/// Reads `body` as the entity's record, checks it is about `entity_id` (`id` names the
/// entity it is about), and applies it with `then`; a body that does not read or is about
/// another entity is refused.
fn with<T: DeserializeOwned, I: std::fmt::Display>(
    entity_id: &str,
    body: &str,
    id: impl FnOnce(&T) -> I,
    then: impl FnOnce(T) -> Result<Verdict, StoreError>,
) -> Result<Verdict, StoreError> {
    let record = match read::<T>(body) {
        Ok(record) => record,
        Err(why) => return Ok(Err(why)),
    };
    match same_id(entity_id, id(&record)) {
        Ok(()) => then(record),
        Err(why) => Ok(Err(why)),
    }
}

/// An insert-only fact: the same one again changes nothing, a different one under its id is
/// refused (naming `what`), a new one is added by `add`.
fn fact<T: PartialEq>(
    here: Option<T>,
    new: &T,
    what: impl std::fmt::Display,
    add: impl FnOnce() -> Result<Verdict, StoreError>,
) -> Result<Verdict, StoreError> {
    match here {
        Some(here) if here == *new => Ok(Ok(())),
        Some(_) => Ok(Err(format!("a different {what} is here already"))),
        None => add(),
    }
}

/// Refuses a change that names an account this desk does not have.
fn account_here(tx: &Transaction<'_>, id: AccountId) -> Result<Verdict, StoreError> {
    Ok(match accounts::get(tx, id)? {
        Some(_) => Ok(()),
        None => Err(format!("account {id} is not on this desk")),
    })
}

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

/// What a pulled change is: its entity, id and operation, its body's version, and the desk
/// that made it.
#[derive(Debug, Clone, Copy)]
pub struct Pulled<'a> {
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub op: &'a str,
    pub version: u32,
    pub from: DeskId,
}

/// Applies `body` of a change inside `tx`. Store errors other than a refusal (a failing disk)
/// are returned: the page is not applied.
pub fn apply(
    tx: &Transaction<'_>,
    change: Pulled<'_>,
    body: &str,
    now: i64,
) -> Result<Outcome, StoreError> {
    let Pulled {
        entity,
        entity_id,
        op,
        version,
        from,
    } = change;
    if version != 1 || !APPLIES.contains(&(entity, op)) {
        return Ok(Outcome::Waiting(
            "this desk does not apply this kind of change yet".into(),
        ));
    }
    let _quiet = crate::store::outbox::ApplyingPulled::start();
    let verdict = match (entity, op) {
        ("account", "upsert") => with(
            entity_id,
            body,
            |a: &Account| a.id,
            |a| match checked(crate::domain::account::validate_name(&a.name)) {
                Ok(()) => verdict(accounts::put(tx, &a, now)),
                Err(why) => Ok(Err(why)),
            },
        )?,
        ("account", "delete") => with(
            entity_id,
            body,
            |g: &Gone<AccountId>| g.id,
            |g| verdict(accounts::remove(tx, g.id).map(|_| ())),
        )?,
        ("billing_details", "upsert") => with(
            entity_id,
            body,
            |b: &Billing| b.account_id,
            |b| match checked(b.details.validate()) {
                Ok(()) => verdict(billing::put(tx, b.account_id, &b.details, now)),
                Err(why) => Ok(Err(why)),
            },
        )?,
        ("payment_method", "upsert") => with(
            entity_id,
            body,
            |m: &PaymentMethod| m.id,
            |m| verdict(payments::put(tx, &m)),
        )?,
        ("payment_method", "delete") => with(
            entity_id,
            body,
            |g: &Gone<PaymentMethodId>| g.id,
            |g| verdict(payments::remove(tx, g.id).map(|_| ())),
        )?,
        ("wallet_entry", "insert") => with(
            entity_id,
            body,
            |r: &WalletEntryRecord| r.entry.id,
            |r| wallet_entry(tx, &r),
        )?,
        ("public_key", "upsert") => licensing::public_key(tx, entity_id, body, from)?,
        ("ledger_entry", "insert") => licensing::ledger_entry(tx, entity_id, body, from)?,
        ("license", "insert") => licensing::license_issued(tx, entity_id, body, from)?,
        ("license", "upsert") => licensing::license(tx, entity_id, body, from, now)?,
        ("revocation_list", "insert") => licensing::revocation_list(tx, entity_id, body, from)?,
        ("price_list", "insert") => documents::price_list(tx, entity_id, body, now)?,
        ("quote", "upsert") => documents::quote(tx, entity_id, body, now)?,
        ("order", "upsert") => documents::order(tx, entity_id, body, now)?,
        ("invoice_draft", "upsert") => documents::invoice_draft(tx, entity_id, body, now)?,
        ("invoice_draft", "delete") => documents::invoice_draft_deleted(tx, entity_id, body, now)?,
        ("invoice", "insert") => documents::invoice(tx, entity_id, body, now)?,
        ("invoice_status", "upsert") => documents::invoice_status(tx, entity_id, body, now)?,
        ("credit_note", "insert") => documents::credit_note(tx, entity_id, body, now)?,
        ("array", "upsert") => return customers::array(tx, entity_id, body, now),
        ("array", "delete") => customers::array_deleted(tx, entity_id, body, now)?,
        ("seat_contract", "upsert") => customers::seat_contract(tx, entity_id, body, now)?,
        ("seat_change", "insert") => customers::seat_change(tx, entity_id, body, now)?,
        ("seat_assignment", "upsert") => customers::seat_assignment(tx, entity_id, body, now)?,
        ("referral", "upsert") => customers::referral(tx, entity_id, body)?,
        ("referral_reward", "insert") => customers::referral_reward(tx, entity_id, body, now)?,
        _ => {
            return Ok(Outcome::Waiting(
                "this desk does not apply this kind of change yet".into(),
            ));
        }
    };
    Ok(match verdict {
        Ok(()) => Outcome::Applied,
        Err(why) => Outcome::Refused(why),
    })
}

/// A wallet entry from another desk, an insert-only fact: added once (the same change under
/// the same id again changes nothing; another change under its id is refused). The wallet is checked with it as
/// a booking here would be: an entry that would take a balance below zero after the merge (two
/// desks spending the same money offline) is refused, so it waits for staff in the Sync
/// panel and the balance never goes negative.
fn wallet_entry(tx: &Transaction<'_>, record: &WalletEntryRecord) -> Result<Verdict, StoreError> {
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
    if let Err(why) = account_here(tx, account_id)? {
        return Ok(Err(why));
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

/// Reads a body as the entity's record; a body that does not read is refused, with why.
fn read<T: DeserializeOwned>(body: &str) -> Result<T, String> {
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
