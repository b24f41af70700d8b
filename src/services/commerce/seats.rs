//! Named-seat contracts: a number of seats on a term at an agreed price per seat, changed with
//! daily proration (an increase is invoiced at once, a decrease becomes wallet credit), and
//! seats given to named users and freed when they leave. A change is confirmed with the
//! operator's passphrase, checked against the active signing key's sealed file.

use super::renewals::current_list;
use super::sales::{self, book, once};
use super::{CommerceError, CommerceEvent, Outcome, mail};
use crate::commerce::catalog::{PriceList, Product, list_in_force};
use crate::commerce::documents::Invoice;
use crate::commerce::pricing::{
    LineSpec, PricedDocument, PricingError, PricingRequest, price_document,
};
use crate::commerce::seats::{SeatAdjustment, SeatChange};
use crate::commerce::terms::{Term, TermPeriod};
use crate::commerce::wallet::{CreditReason, WalletChange};
use crate::domain::FieldErrors;
use crate::domain::ids::{
    AccountId, IdempotencyKey, InvoiceId, SeatAssignmentId, SeatChangeId, SeatContractId,
    WalletEntryId,
};
use crate::services::keys::{self, Secret};
use crate::store::invoices::InvoiceRecord;
use crate::store::seats::{SeatAssignmentRecord, SeatChangeRecord, SeatContractRecord};
use crate::store::{self, Store, StoreError};
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// Most seats one contract may hold.
pub const MAX_SEATS: u32 = 100_000;

/// What a seat change will cost or give back, shown before it is confirmed; the booking
/// computes it again with the same function and refuses if it differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPreview {
    pub period: TermPeriod,
    pub adjustment: SeatAdjustment,
    /// The invoice document of an increase (prorated line and tax); None for a decrease.
    pub document: Option<PricedDocument>,
}

fn contract(conn: &Connection, id: SeatContractId) -> Result<SeatContractRecord, CommerceError> {
    store::seats::get_contract(conn, id)?.ok_or(CommerceError::NotFound("seat contract"))
}

fn list_for(
    conn: &Connection,
    c: &SeatContractRecord,
    today: NaiveDate,
) -> Result<PriceList, CommerceError> {
    let lists = store::price_lists::all(conn)?;
    list_in_force(&lists, c.price_list_id.0, today)
        .cloned()
        .ok_or(CommerceError::NoPriceList)
}

/// The term of `c` that covers `date` (terms counted from the anchor).
fn period_on(c: &SeatContractRecord, date: NaiveDate) -> Result<TermPeriod, CommerceError> {
    if date < c.anchor {
        return Err(CommerceError::Refused(format!(
            "Effective date: {date} is before the contract starts ({})",
            c.anchor
        )));
    }
    for n in 1..=10_000 {
        let period = c.term.nth_period(c.anchor, n)?;
        if period.contains(date) {
            return Ok(period);
        }
    }
    Err(CommerceError::Refused(format!(
        "Effective date: {date} is too far ahead"
    )))
}

/// Prices changing contract `id` to `new_seats` from `effective`.
pub fn preview_seat_change(
    conn: &Connection,
    id: SeatContractId,
    new_seats: u32,
    effective: NaiveDate,
    today: NaiveDate,
) -> Result<SeatPreview, CommerceError> {
    let c = contract(conn, id)?;
    if new_seats > MAX_SEATS {
        let mut errors = FieldErrors::default();
        errors.push(
            "New number of seats",
            format!("must be at most {MAX_SEATS}"),
        );
        return Err(errors.into());
    }
    let period = period_on(&c, effective)?;
    let change = SeatChange {
        term: c.term,
        period,
        unit_price: c.unit_price,
        current_seats: c.seats,
        new_seats,
        effective,
    };
    let adjustment = change.adjustment(today)?;
    let document = match change.charge_line(today)? {
        None => None,
        Some(line) => {
            let parties = sales::parties(conn, c.account_id)?;
            let list = list_for(conn, &c, today)?;
            Some(price_document(
                &list,
                &PricingRequest {
                    seller: parties.seller,
                    customer: parties.customer,
                    tax_point: today,
                    lines: vec![line],
                },
            )?)
        }
    };
    Ok(SeatPreview {
        period,
        adjustment,
        document,
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn create_contract(
    store: &mut Store,
    account_id: AccountId,
    name: &str,
    term: Term,
    start: NaiveDate,
    seats: u32,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    let mut errors = FieldErrors::default();
    crate::domain::validation::required_text(&mut errors, "Contract name", name, 120);
    if !(1..=MAX_SEATS).contains(&seats) {
        errors.push(
            "Seats",
            format!("must be a whole number from 1 to {MAX_SEATS}"),
        );
    }
    errors.into_result()?;
    store.write(|tx| {
        let parties = sales::parties(tx, account_id)?;
        let list = current_list(tx, today)?;
        let unit_price = list.unit_price(Product::NamedSeat, term)?;
        let document = price_document(
            &list,
            &PricingRequest {
                seller: parties.seller.clone(),
                customer: parties.customer.clone(),
                tax_point: today,
                lines: vec![LineSpec::Catalogue {
                    product: Product::NamedSeat,
                    term,
                    quantity: seats,
                    terms: 1,
                }],
            },
        )?;
        let contract = SeatContractRecord {
            id: SeatContractId::new(),
            account_id,
            name: name.trim().to_string(),
            term,
            anchor: start,
            unit_price,
            seats,
            price_list_id: crate::domain::ids::PriceListId(list.id),
            created_at: now,
        };
        store::seats::insert_contract(tx, &contract, now)?;
        let id = InvoiceId::new();
        let mut invoice = InvoiceRecord {
            id,
            account_id,
            order_id: None,
            invoice: Invoice::draft(id.0, None, document),
        };
        sales::finalise(tx, &mut invoice, today)?;
        store::invoices::insert(tx, &invoice, now)?;
        let text = format!(
            "your seat contract '{}' starts on {start} with {seats} named seats ({} per seat per {} term). Invoice {} follows.\n",
            contract.name,
            unit_price,
            term.label().to_lowercase(),
            invoice.invoice.number().map(|n| n.to_string()).unwrap_or_default()
        );
        let mails = vec![mail::notice(tx, &parties, format!("Seat contract {}", contract.name), &text, now)?];
        Ok((CommerceEvent::SeatContractCreated { contract, invoice }, mails))
    })
}

pub(super) struct SeatChangeRequest {
    pub contract_id: SeatContractId,
    pub new_seats: u32,
    pub effective: NaiveDate,
    pub confirmed: SeatPreview,
    pub passphrase: Secret,
    pub key: IdempotencyKey,
}

fn amount(adjustment: &SeatAdjustment) -> crate::domain::money::Money {
    match adjustment {
        SeatAdjustment::Charge { amount, .. } | SeatAdjustment::WalletCredit { amount, .. } => {
            *amount
        }
    }
}

pub(super) fn change_seats(
    store: &mut Store,
    request: SeatChangeRequest,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    let active = keys::active(store.conn())?;
    keys::unlock(store.conn(), &active, request.passphrase.expose()).map_err(|_| {
        CommerceError::Passphrase(format!(
            "it does not unlock the active signing key '{}'; the seats were not changed",
            active.name
        ))
    })?;
    store.write(|tx| {
        once(tx, request.key, "change_seats", now, || {
            let preview = preview_seat_change(
                tx,
                request.contract_id,
                request.new_seats,
                request.effective,
                today,
            )?;
            if preview != request.confirmed {
                let total = |p: &SeatPreview| {
                    p.document
                        .as_ref()
                        .map_or(amount(&p.adjustment), |d| d.totals.total)
                };
                return Err(PricingError::Changed {
                    confirmed: total(&request.confirmed),
                    now: total(&preview),
                }
                .into());
            }
            let c = contract(tx, request.contract_id)?;
            let parties = sales::parties(tx, c.account_id)?;
            let held = store::seats::assigned_count(tx, c.id)?;
            if request.new_seats < held {
                return Err(CommerceError::Refused(format!(
                    "{held} seats are assigned to users; free {} of them before going down to {}",
                    held - request.new_seats,
                    request.new_seats
                )));
            }
            let (invoice, wallet_entry_id) = match (&preview.adjustment, &preview.document) {
                (SeatAdjustment::Charge { .. }, Some(document)) => {
                    let id = InvoiceId::new();
                    let mut invoice = InvoiceRecord {
                        id,
                        account_id: c.account_id,
                        order_id: None,
                        invoice: Invoice::draft(id.0, None, document.clone()),
                    };
                    sales::finalise(tx, &mut invoice, today)?;
                    store::invoices::insert(tx, &invoice, now)?;
                    (Some(invoice), None)
                }
                (SeatAdjustment::WalletCredit { amount, .. }, _) => {
                    let mut wallet = sales::wallet_of(tx, c.account_id, amount.currency())?;
                    let entry = book(
                        tx,
                        c.account_id,
                        &mut wallet,
                        WalletChange::Credit {
                            amount: *amount,
                            reason: CreditReason::SeatDecrease,
                        },
                        now,
                    )?;
                    (None, Some(WalletEntryId(entry.id)))
                }
                (SeatAdjustment::Charge { .. }, None) => {
                    return Err(
                        StoreError::Corrupt("a seat charge without its invoice".into()).into(),
                    );
                }
            };
            let change = SeatChangeRecord {
                id: SeatChangeId::new(),
                contract_id: c.id,
                from_seats: c.seats,
                to_seats: request.new_seats,
                effective: request.effective,
                adjustment: preview.adjustment.clone(),
                invoice_id: invoice.as_ref().map(|i| i.id),
                wallet_entry_id,
                idempotency_key: request.key,
                at: now,
            };
            store::seats::insert_change(tx, &change, now)?;
            let contract = store::seats::set_seats(tx, c.id, request.new_seats, now)?;
            let text = match &invoice {
                Some(invoice) => format!(
                    "the seats of '{}' go from {} to {} on {}: {} is invoiced on {}.\n",
                    c.name,
                    c.seats,
                    request.new_seats,
                    request.effective,
                    invoice.invoice.total(),
                    invoice
                        .invoice
                        .number()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ),
                None => format!(
                    "the seats of '{}' go from {} to {} on {}: {} is credited to your wallet.\n",
                    c.name,
                    c.seats,
                    request.new_seats,
                    request.effective,
                    amount(&preview.adjustment)
                ),
            };
            let mails = vec![mail::notice(
                tx,
                &parties,
                format!("Seats of {} changed", c.name),
                &text,
                now,
            )?];
            Ok((
                CommerceEvent::SeatsChanged {
                    contract,
                    change,
                    invoice,
                },
                mails,
            ))
        })
    })
}

pub(super) fn assign(
    store: &mut Store,
    contract_id: SeatContractId,
    user_name: &str,
    email: &str,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    let mut errors = FieldErrors::default();
    crate::domain::validation::required_text(&mut errors, "User name", user_name, 120);
    if !email_address::EmailAddress::is_valid(email.trim()) {
        errors.push(
            "User email",
            format!("'{}' is not a valid email address", email.trim()),
        );
    }
    errors.into_result()?;
    store.write(|tx| {
        let c = contract(tx, contract_id)?;
        let held = store::seats::assigned_count(tx, contract_id)?;
        if held >= c.seats {
            return Err(CommerceError::Refused(format!(
                "all {} seats of '{}' are taken: add seats first",
                c.seats, c.name
            )));
        }
        let record = SeatAssignmentRecord {
            id: SeatAssignmentId::new(),
            contract_id,
            user_name: user_name.trim().to_string(),
            email: email.trim().to_string(),
            assigned_at: now,
            released_at: None,
        };
        store::seats::assign(tx, &record, now).map_err(|e| match e {
            StoreError::Duplicate { value, .. } => {
                let mut errors = FieldErrors::default();
                errors.push("User email", format!("{value} already holds a seat"));
                CommerceError::Invalid(errors)
            }
            e => e.into(),
        })?;
        Ok(CommerceEvent::SeatAssigned(record))
    })
}

pub(super) fn release(
    store: &mut Store,
    id: SeatAssignmentId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        Ok(CommerceEvent::SeatReleased(store::seats::release(
            tx, id, now,
        )?))
    })
}
