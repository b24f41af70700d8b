//! Price lists, the seller, placing orders, quotes, invoices, payments, credit notes and the
//! wallet's money.

use super::mail;
use super::{CommerceError, CommerceEvent, Outcome, PayBy, PayWith, Placement};
use crate::commerce::catalog::{PriceList, PriceListRef};
use crate::commerce::documents::{
    CreditNoteRequest, Invoice, InvoiceStatus, LineCredit, Order, issue_credit_note as credit,
};
use crate::commerce::numbering::DocKind;
use crate::commerce::pricing::{
    LineSpec, PricedDocument, PricingRequest, ensure_unchanged, price_document, totals,
};
use crate::commerce::quote::Quote;
use crate::commerce::seller::SellerDetails;
use crate::commerce::tax::{
    CountryCode, Customer, Seller, TaxTreatment, VatId, check_vat_id_offline,
};
use crate::commerce::wallet::{
    CreditReason, Movement, Reversed, Wallet, WalletChange, WalletEntry,
};
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::ids::{
    AccountId, CreditNoteId, IdempotencyKey, InvoiceId, OrderId, PriceListId, QuoteId,
    WalletEntryId,
};
use crate::domain::money::{Currency, Money};
use crate::store::commerce::{from_json, idempotent_result, next_number, remember_result, to_json};
use crate::store::invoices::{CreditNoteRecord, InvoiceRecord};
use crate::store::orders::OrderRecord;
use crate::store::quotes::QuoteRecord;
use crate::store::{self, Store};
use chrono::{Datelike, Days, NaiveDate};
use rusqlite::{Connection, Transaction};

/// Days an invoice is due after it is issued.
pub const PAYMENT_DAYS: u64 = 14;
/// Days a quote stays open.
pub const QUOTE_VALID_DAYS: u64 = 30;

/// Who buys and who sells.
#[derive(Debug, Clone)]
pub struct Parties {
    pub account: Account,
    pub billing: BillingDetails,
    pub customer: Customer,
    pub seller_details: SellerDetails,
    pub seller: Seller,
}

/// The customer's side of a sale from stored billing details: the billing country, the VAT ID
/// (when the tax ID is one) and its latest stored validation.
pub fn customer_of(conn: &Connection, billing: &BillingDetails) -> Result<Customer, CommerceError> {
    let country = CountryCode::parse(&billing.country).map_err(CommerceError::Country)?;
    let vat_id = VatId::parse(&billing.tax_id).ok();
    let vat_validation = match &vat_id {
        Some(id) => store::price_lists::latest_validation(conn, id)?,
        None => None,
    };
    Ok(Customer {
        country,
        vat_id,
        vat_validation,
    })
}

/// The parties of a sale to `account_id`, or what is missing.
pub fn parties(conn: &Connection, account_id: AccountId) -> Result<Parties, CommerceError> {
    let account = store::accounts::get(conn, account_id)?.ok_or(CommerceError::AccountNotFound)?;
    let billing = store::billing::get(conn, account_id)?.ok_or(CommerceError::BillingMissing)?;
    let customer = customer_of(conn, &billing)?;
    let seller_details = store::price_lists::seller(conn)?;
    let seller = seller_details
        .seller()
        .filter(|_| seller_details.is_set())
        .ok_or(CommerceError::SellerMissing)?;
    Ok(Parties {
        account,
        billing,
        customer,
        seller_details,
        seller,
    })
}

fn price_list(conn: &Connection, list: PriceListRef) -> Result<PriceList, CommerceError> {
    store::price_lists::get(conn, PriceListId(list.id), list.version)?
        .ok_or_else(|| CommerceError::PriceListNotFound(format!("{} v{}", list.id, list.version)))
}

/// Prices a cart for `account_id` on `today` (the tax point): the preview the review page
/// shows and the document the placement books are this one function.
pub fn price_cart(
    conn: &Connection,
    account_id: AccountId,
    list: PriceListRef,
    lines: &[LineSpec],
    today: NaiveDate,
) -> Result<PricedDocument, CommerceError> {
    let parties = parties(conn, account_id)?;
    let list = price_list(conn, list)?;
    Ok(price_document(
        &list,
        &PricingRequest {
            seller: parties.seller,
            customer: parties.customer,
            tax_point: today,
            lines: lines.to_vec(),
        },
    )?)
}

/// The account's wallet, checked entry by entry; an empty wallet takes `currency`.
pub fn wallet_of(
    conn: &Connection,
    account_id: AccountId,
    currency: Currency,
) -> Result<Wallet, CommerceError> {
    let currency = store::wallet::currency(conn, account_id)?.unwrap_or(currency);
    Ok(Wallet::from_entries(
        currency,
        store::wallet::entries(conn, account_id)?,
    )?)
}

/// Checks and books one wallet entry.
pub(super) fn book(
    tx: &Transaction<'_>,
    account_id: AccountId,
    wallet: &mut Wallet,
    change: WalletChange,
    now: i64,
) -> Result<WalletEntry, CommerceError> {
    let entry = WalletEntry {
        id: WalletEntryId::new().0,
        at: now,
        change,
    };
    wallet.append(entry.clone())?;
    store::wallet::append(tx, account_id, &entry, now)?;
    Ok(entry)
}

/// Runs `f` once per `key`: a repeated key returns the first result and books nothing.
pub(super) fn once(
    tx: &Transaction<'_>,
    key: IdempotencyKey,
    action: &str,
    now: i64,
    f: impl FnOnce() -> Result<Outcome, CommerceError>,
) -> Result<Outcome, CommerceError> {
    if let Some(done) = idempotent_result(tx, key)? {
        return Ok((from_json("idempotent result", &done)?, Vec::new()));
    }
    let (event, mails) = f()?;
    remember_result(tx, key, action, &to_json(&event)?, now)?;
    Ok((event, mails))
}

/// Refuses when the account has no usable default payment method.
pub(super) fn ensure_payment_method(
    conn: &Connection,
    account_id: AccountId,
    today: NaiveDate,
) -> Result<String, CommerceError> {
    let methods = store::payments::list(conn, account_id)?;
    let Some(method) = methods.iter().find(|m| m.is_default) else {
        return Err(CommerceError::PaymentMethod(
            "the account has no payment method: add one under Accounts (Add payment method)".into(),
        ));
    };
    if method.details.is_expired(today) {
        return Err(CommerceError::PaymentMethod(format!(
            "{} has expired: add a current one under Accounts",
            method.details.summary()
        )));
    }
    Ok(method.details.summary())
}

pub(super) fn due_on(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_days(Days::new(PAYMENT_DAYS))
        .unwrap_or(today)
}

/// Finalises `record`'s draft invoice with the next number of today's year.
pub(super) fn finalise(
    tx: &Transaction<'_>,
    record: &mut InvoiceRecord,
    today: NaiveDate,
) -> Result<(), CommerceError> {
    let number = next_number(tx, DocKind::Invoice, today.year())?;
    record.invoice.finalise(number, today, due_on(today))?;
    Ok(())
}

/// Marks the invoice (and its order) paid, taking the money from the wallet when asked, and
/// credits the order's entitlements. The caller saves nothing: this saves both.
pub(super) fn settle(
    tx: &Transaction<'_>,
    invoice: &mut InvoiceRecord,
    order: Option<&mut OrderRecord>,
    with: PayWith,
    today: NaiveDate,
    now: i64,
) -> Result<(), CommerceError> {
    let total = invoice.invoice.total();
    let number = invoice
        .invoice
        .number()
        .map(|n| n.to_string())
        .unwrap_or_default();
    match with {
        PayWith::Wallet => {
            let mut wallet = wallet_of(tx, invoice.account_id, total.currency())?;
            if total.is_positive() {
                book(
                    tx,
                    invoice.account_id,
                    &mut wallet,
                    WalletChange::Payment {
                        amount: total,
                        reference: number,
                    },
                    now,
                )?;
            }
        }
        PayWith::Card => {
            ensure_payment_method(tx, invoice.account_id, today)?;
        }
    }
    invoice.invoice.mark_paid(today)?;
    store::invoices::update(tx, invoice, now)?;
    if let Some(order) = order {
        order.order.mark_paid()?;
        fulfil(tx, order, now)?;
        store::orders::update(tx, order, now)?;
    }
    Ok(())
}

/// Credits a paid order's entitlements to the wallet (what arrays will be assigned from).
fn fulfil(tx: &Transaction<'_>, order: &mut OrderRecord, now: i64) -> Result<(), CommerceError> {
    let document = order.order.document().clone();
    let mut wallet = wallet_of(tx, order.account_id, document.currency)?;
    for line in &document.lines {
        book(
            tx,
            order.account_id,
            &mut wallet,
            WalletChange::Entitlement {
                product: line.product,
                movement: Movement::Bought,
                quantity: line.quantity,
                reference: order.order.number().to_string(),
            },
            now,
        )?;
    }
    order.order.fulfil()?;
    Ok(())
}

pub fn save_seller(
    store: &mut Store,
    details: SellerDetails,
) -> Result<CommerceEvent, CommerceError> {
    let details = details.normalized()?;
    store.write(|tx| store::price_lists::save_seller(tx, &details))?;
    Ok(CommerceEvent::SellerSaved(details))
}

pub fn save_price_list(
    store: &mut Store,
    mut list: PriceList,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let latest = store::price_lists::versions(tx, PriceListId(list.id))?
            .first()
            .map_or(0, |l| l.version);
        list.version = latest + 1;
        list.check()?;
        store::price_lists::insert(tx, &list, now)?;
        Ok::<_, CommerceError>(())
    })?;
    Ok(CommerceEvent::PriceListSaved(list))
}

pub fn validate_vat_id(
    store: &mut Store,
    account_id: AccountId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    let billing =
        store::billing::get(store.conn(), account_id)?.ok_or(CommerceError::BillingMissing)?;
    let vat_id = VatId::parse(&billing.tax_id).map_err(|e| {
        let mut errors = crate::domain::FieldErrors::default();
        errors.push("Tax ID", e.to_string());
        CommerceError::Invalid(errors)
    })?;
    let validation = check_vat_id_offline(&vat_id, now);
    store.write(|tx| store::price_lists::record_validation(tx, &validation, now))?;
    Ok(CommerceEvent::VatValidated {
        account_id,
        validation,
    })
}

/// Places an order from the cart, paying it as chosen, in one transaction.
pub fn place_order(
    store: &mut Store,
    placement: &Placement,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        once(tx, placement.key, "place_order", now, || {
            if !placement.terms_accepted {
                return Err(CommerceError::TermsNotAccepted);
            }
            let parties = parties(tx, placement.account_id)?;
            let priced = price_cart(
                tx,
                placement.account_id,
                placement.price_list,
                &placement.lines,
                today,
            )?;
            ensure_unchanged(&placement.confirmed, &priced)?;
            if placement.pay_by != PayBy::Wallet {
                ensure_payment_method(tx, placement.account_id, today)?;
            }
            if let PayBy::OpenOrder(order_id) = placement.pay_by {
                let order = add_to_open_order(tx, placement.account_id, order_id, priced, now)?;
                return Ok((
                    CommerceEvent::OrderPlaced {
                        order,
                        invoice: None,
                        added_to_open_order: true,
                    },
                    Vec::new(),
                ));
            }
            let number = next_number(tx, DocKind::Order, today.year())?;
            let order = Order::place(OrderId::new().0, number, today, priced)?;
            let mut order = store::orders::insert(
                tx,
                placement.account_id,
                &order,
                None,
                Some(placement.key),
                now,
            )?;
            let invoice_id = InvoiceId::new();
            let mut invoice = InvoiceRecord {
                id: invoice_id,
                account_id: placement.account_id,
                order_id: Some(order.id),
                invoice: Invoice::draft(
                    invoice_id.0,
                    Some(order.order.number()),
                    order.order.document().clone(),
                ),
            };
            // Rule 5: a VAT ID nobody has validated yet may still turn into reverse charge, so
            // an invoice that is not paid at once stays a draft until it is validated (or
            // finalised with VAT charged, as the draft says).
            let keep_draft = placement.pay_by == (PayBy::NewInvoice { pay_now: false })
                && matches!(
                    order.order.document().treatment,
                    TaxTreatment::Charged { reason } if reason.validation_would_help()
                );
            if !keep_draft {
                finalise(tx, &mut invoice, today)?;
            }
            store::invoices::insert(tx, &invoice, now)?;
            match placement.pay_by {
                PayBy::Wallet => settle(
                    tx,
                    &mut invoice,
                    Some(&mut order),
                    PayWith::Wallet,
                    today,
                    now,
                )?,
                PayBy::NewInvoice { pay_now: true } => settle(
                    tx,
                    &mut invoice,
                    Some(&mut order),
                    PayWith::Card,
                    today,
                    now,
                )?,
                PayBy::NewInvoice { pay_now: false } | PayBy::OpenOrder(_) => {}
            }
            let mails = vec![mail::order_confirmation(
                tx,
                &parties,
                &order,
                Some(&invoice),
                now,
            )?];
            Ok((
                CommerceEvent::OrderPlaced {
                    order,
                    invoice: Some(invoice),
                    added_to_open_order: false,
                },
                mails,
            ))
        })
    })
}

/// Adds priced lines to an open order (placed, not from a quote, not yet invoiced).
pub(super) fn add_to_open_order(
    tx: &Transaction<'_>,
    account_id: AccountId,
    order_id: OrderId,
    priced: PricedDocument,
    now: i64,
) -> Result<OrderRecord, CommerceError> {
    let mut order = store::orders::get(tx, order_id)?
        .filter(|o| o.account_id == account_id)
        .ok_or(CommerceError::NotFound("open order"))?;
    if !store::invoices::for_order(tx, order_id)?.is_empty() {
        return Err(CommerceError::Refused(format!(
            "{} is already invoiced: choose a new invoice instead",
            order.order.number()
        )));
    }
    let current = order.order.document().clone();
    if current.price_list != priced.price_list || current.treatment != priced.treatment {
        return Err(CommerceError::Refused(format!(
            "{} was priced from another price list version or tax treatment: choose a new invoice instead",
            order.order.number()
        )));
    }
    let mut lines = current.lines.clone();
    lines.extend(priced.lines.iter().cloned());
    let merged = PricedDocument {
        tax_point: priced.tax_point,
        totals: totals(current.currency, &lines)?,
        lines,
        ..current
    };
    order.order.replace_document(merged)?;
    store::orders::update(tx, &order, now)?;
    Ok(order)
}

fn quote_record(tx: &Transaction<'_>, id: QuoteId) -> Result<QuoteRecord, CommerceError> {
    store::quotes::get(tx, id)?.ok_or(CommerceError::NotFound("quote"))
}

fn valid_until(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_days(Days::new(QUOTE_VALID_DAYS))
        .unwrap_or(today)
}

/// Saves the cart as an open quote (frozen at today's prices), or opens a revised draft.
pub fn save_quote(
    store: &mut Store,
    account_id: AccountId,
    list_ref: PriceListRef,
    lines: Vec<LineSpec>,
    revising: Option<QuoteId>,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        let parties = parties(tx, account_id)?;
        let list = price_list(tx, list_ref)?;
        let request = PricingRequest {
            seller: parties.seller.clone(),
            customer: parties.customer.clone(),
            tax_point: today,
            lines,
        };
        let (mut quote, fresh) = match revising {
            Some(id) => {
                let record = quote_record(tx, id)?;
                let mut quote = record.quote;
                quote.edit(request)?;
                (quote, false)
            }
            None => {
                let number = next_number(tx, DocKind::Quote, today.year())?;
                (Quote::new_draft(QuoteId::new().0, number, request)?, true)
            }
        };
        quote.open(&list, today, valid_until(today))?;
        let record = if fresh {
            store::quotes::insert(tx, account_id, &quote, now)?
        } else {
            store::quotes::update(tx, account_id, &quote, now)?
        };
        let mails = vec![mail::quote_sent(tx, &parties, &record, now)?];
        Ok((CommerceEvent::QuoteSaved(record), mails))
    })
}

/// Opens a draft quote at today's prices.
pub fn open_quote(
    store: &mut Store,
    id: QuoteId,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        let record = quote_record(tx, id)?;
        let parties = parties(tx, record.account_id)?;
        let mut quote = record.quote;
        // The offer goes out under the current parties (billing details may have changed).
        let mut request = quote.request().clone();
        request.seller = parties.seller.clone();
        request.customer = parties.customer.clone();
        quote.edit(request)?;
        let list = latest_list_for(tx, &quote)?;
        quote.open(&list, today, valid_until(today))?;
        let record = store::quotes::update(tx, record.account_id, &quote, now)?;
        let mails = vec![mail::quote_sent(tx, &parties, &record, now)?];
        Ok((CommerceEvent::QuoteChanged(record), mails))
    })
}

/// The version in force today of the list the quote was (or will be) priced from.
fn latest_list_for(tx: &Transaction<'_>, quote: &Quote) -> Result<PriceList, CommerceError> {
    let lists = store::price_lists::all(tx)?;
    let id = quote
        .snapshot()
        .map(|s| s.price_list.id)
        .or_else(|| lists.first().map(|l| l.id))
        .ok_or(CommerceError::NoPriceList)?;
    lists
        .into_iter()
        .filter(|l| l.id == id)
        .max_by_key(|l| (l.valid_from, l.version))
        .ok_or(CommerceError::NoPriceList)
}

pub fn revise_quote(
    store: &mut Store,
    id: QuoteId,
    today: NaiveDate,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let record = quote_record(tx, id)?;
        let mut quote = record.quote;
        let next = quote.revise(QuoteId::new().0, today)?;
        store::quotes::update(tx, record.account_id, &quote, now)?;
        let draft = store::quotes::insert(tx, record.account_id, &next, now)?;
        Ok(CommerceEvent::QuoteSaved(draft))
    })
}

pub fn duplicate_quote(
    store: &mut Store,
    id: QuoteId,
    today: NaiveDate,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let record = quote_record(tx, id)?;
        let number = next_number(tx, DocKind::Quote, today.year())?;
        let mut request = record.quote.request().clone();
        request.tax_point = today;
        let copy = Quote::new_draft(QuoteId::new().0, number, request)?;
        let draft = store::quotes::insert(tx, record.account_id, &copy, now)?;
        Ok(CommerceEvent::QuoteSaved(draft))
    })
}

pub fn cancel_quote(
    store: &mut Store,
    id: QuoteId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let record = quote_record(tx, id)?;
        let mut quote = record.quote;
        quote.cancel()?;
        Ok(CommerceEvent::QuoteChanged(store::quotes::update(
            tx,
            record.account_id,
            &quote,
            now,
        )?))
    })
}

/// Accepts an open quote and places its order at the frozen prices, invoiced at once.
pub fn convert_quote(
    store: &mut Store,
    id: QuoteId,
    key: IdempotencyKey,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        once(tx, key, "convert_quote", now, || {
            let record = quote_record(tx, id)?;
            let parties = parties(tx, record.account_id)?;
            let mut quote = record.quote;
            let expired = quote.expire_if_due(today);
            if expired {
                store::quotes::update(tx, record.account_id, &quote, now)?;
            }
            quote.accept(today)?;
            let quote = store::quotes::update(tx, record.account_id, &quote, now)?;
            let number = next_number(tx, DocKind::Order, today.year())?;
            let order = Order::from_quote(OrderId::new().0, number, today, &quote.quote)?;
            let order = store::orders::insert(
                tx,
                record.account_id,
                &order,
                Some(quote.id),
                Some(key),
                now,
            )?;
            let invoice_id = InvoiceId::new();
            let mut invoice = InvoiceRecord {
                id: invoice_id,
                account_id: record.account_id,
                order_id: Some(order.id),
                invoice: Invoice::draft(
                    invoice_id.0,
                    Some(order.order.number()),
                    order.order.document().clone(),
                ),
            };
            finalise(tx, &mut invoice, today)?;
            store::invoices::insert(tx, &invoice, now)?;
            let mails = vec![mail::order_confirmation(
                tx,
                &parties,
                &order,
                Some(&invoice),
                now,
            )?];
            Ok((
                CommerceEvent::QuoteConverted {
                    quote,
                    order,
                    invoice,
                },
                mails,
            ))
        })
    })
}

/// Marks open quotes past their validity as expired.
pub fn expire_quotes(
    store: &mut Store,
    today: NaiveDate,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let due = store::quotes::due_for_expiry(tx, today)?;
        let mut count = 0;
        for record in due {
            let mut quote = record.quote;
            if quote.expire_if_due(today) {
                store::quotes::update(tx, record.account_id, &quote, now)?;
                count += 1;
            }
        }
        Ok(CommerceEvent::QuotesExpired { count })
    })
}

fn order_record(tx: &Transaction<'_>, id: OrderId) -> Result<OrderRecord, CommerceError> {
    store::orders::get(tx, id)?.ok_or(CommerceError::NotFound("order"))
}

/// Finalises the invoice of an open order.
pub fn invoice_order(
    store: &mut Store,
    order_id: OrderId,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        let order = order_record(tx, order_id)?;
        if !store::invoices::for_order(tx, order_id)?.is_empty() {
            return Err(CommerceError::Refused(format!(
                "{} is already invoiced",
                order.order.number()
            )));
        }
        if order.order.status() != crate::commerce::documents::OrderStatus::Placed {
            return Err(CommerceError::Refused(format!(
                "{} is {}; only a placed order is invoiced",
                order.order.number(),
                order.order.status().label()
            )));
        }
        let parties = parties(tx, order.account_id)?;
        let invoice_id = InvoiceId::new();
        let mut invoice = InvoiceRecord {
            id: invoice_id,
            account_id: order.account_id,
            order_id: Some(order.id),
            invoice: Invoice::draft(
                invoice_id.0,
                Some(order.order.number()),
                order.order.document().clone(),
            ),
        };
        finalise(tx, &mut invoice, today)?;
        store::invoices::insert(tx, &invoice, now)?;
        let mails = vec![mail::invoice_issued(tx, &parties, &invoice, now)?];
        Ok((CommerceEvent::InvoiceChanged(invoice), mails))
    })
}

pub fn cancel_order(
    store: &mut Store,
    order_id: OrderId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let mut order = order_record(tx, order_id)?;
        let unvoided = store::invoices::for_order(tx, order_id)?
            .into_iter()
            .any(|i| {
                i.invoice.status() != InvoiceStatus::Void
                    && i.invoice.status() != InvoiceStatus::Draft
            });
        if unvoided {
            return Err(CommerceError::Refused(format!(
                "{} has an invoice: void the invoice first",
                order.order.number()
            )));
        }
        order.order.cancel()?;
        store::orders::update(tx, &order, now)?;
        Ok(CommerceEvent::OrderChanged(order))
    })
}

fn invoice_record(tx: &Transaction<'_>, id: InvoiceId) -> Result<InvoiceRecord, CommerceError> {
    store::invoices::get(tx, id)?.ok_or(CommerceError::NotFound("invoice"))
}

/// The line specs a priced document was made from (to price it again).
fn specs_of(doc: &PricedDocument) -> Vec<LineSpec> {
    doc.lines
        .iter()
        .map(|l| match l.proration {
            Some(p) => LineSpec::Prorated {
                product: l.product,
                term: l.term,
                quantity: l.quantity,
                unit_price: l.unit_price,
                remaining_days: p.remaining_days,
                term_days: p.term_days,
            },
            None => LineSpec::Catalogue {
                product: l.product,
                term: l.term,
                quantity: l.quantity,
                terms: l.terms,
            },
        })
        .collect()
}

/// Finalises a draft invoice. A draft not bound to a quote's frozen prices is priced again
/// first, with today as its tax point and the customer as now stored (a VAT ID validated since
/// the draft was made turns it into reverse charge); its open order follows.
pub fn finalise_invoice(
    store: &mut Store,
    id: InvoiceId,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        let mut invoice = invoice_record(tx, id)?;
        let parties = parties(tx, invoice.account_id)?;
        let mut order = match invoice.order_id {
            Some(order_id) => Some(order_record(tx, order_id)?),
            None => None,
        };
        let frozen = order.as_ref().is_some_and(|o| o.quote_id.is_some());
        if invoice.invoice.status() == InvoiceStatus::Draft && !frozen {
            let doc = invoice.invoice.document();
            let list = price_list(tx, doc.price_list)?;
            let repriced = price_document(
                &list,
                &PricingRequest {
                    seller: parties.seller.clone(),
                    customer: parties.customer.clone(),
                    tax_point: today,
                    lines: specs_of(doc),
                },
            )?;
            invoice.invoice.replace_document(repriced.clone())?;
            if let Some(order) = order.as_mut()
                && order.order.status() == crate::commerce::documents::OrderStatus::Placed
            {
                order.order.replace_document(repriced)?;
                store::orders::update(tx, order, now)?;
            }
        }
        finalise(tx, &mut invoice, today)?;
        store::invoices::update(tx, &invoice, now)?;
        let mails = vec![mail::invoice_issued(tx, &parties, &invoice, now)?];
        Ok((CommerceEvent::InvoiceChanged(invoice), mails))
    })
}

pub fn delete_draft(
    store: &mut Store,
    id: InvoiceId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let invoice = invoice_record(tx, id)?;
        invoice.invoice.ensure_deletable()?;
        store::invoices::delete_draft(tx, id, now)?;
        Ok(CommerceEvent::InvoiceDeleted { id })
    })
}

pub fn pay_invoice(
    store: &mut Store,
    id: InvoiceId,
    with: PayWith,
    key: IdempotencyKey,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    store.write(|tx| {
        once(tx, key, "pay_invoice", now, || {
            let mut invoice = invoice_record(tx, id)?;
            let parties = parties(tx, invoice.account_id)?;
            let mut order = match invoice.order_id {
                Some(order_id) => Some(order_record(tx, order_id)?).filter(|o| {
                    o.order.status() == crate::commerce::documents::OrderStatus::Placed
                }),
                None => None,
            };
            settle(tx, &mut invoice, order.as_mut(), with, today, now)?;
            let mails = vec![mail::payment_received(tx, &parties, &invoice, now)?];
            Ok((CommerceEvent::InvoicePaid { invoice, order }, mails))
        })
    })
}

pub fn void_invoice(
    store: &mut Store,
    id: InvoiceId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let mut invoice = invoice_record(tx, id)?;
        invoice.invoice.void()?;
        store::invoices::update(tx, &invoice, now)?;
        Ok(CommerceEvent::InvoiceChanged(invoice))
    })
}

pub fn issue_credit_note(
    store: &mut Store,
    invoice_id: InvoiceId,
    credits: Vec<LineCredit>,
    reason: &str,
    to_wallet: bool,
    today: NaiveDate,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    let mut errors = crate::domain::FieldErrors::default();
    crate::domain::validation::required_text(&mut errors, "Reason", reason, 500);
    errors.into_result()?;
    store.write(|tx| {
        let invoice = invoice_record(tx, invoice_id)?;
        let earlier = store::invoices::credit_notes_for(tx, invoice_id)?;
        let number = next_number(tx, DocKind::CreditNote, today.year())?;
        let note = credit(
            &invoice.invoice,
            &earlier,
            CreditNoteRequest {
                id: CreditNoteId::new().0,
                number,
                issued_on: today,
                reason: reason.trim().to_string(),
                credits,
            },
        )?;
        let record = CreditNoteRecord {
            id: CreditNoteId(note.id),
            account_id: invoice.account_id,
            invoice_id,
            note,
        };
        store::invoices::insert_credit_note(tx, &record, now)?;
        if to_wallet {
            let total = record.note.totals.total;
            let mut wallet = wallet_of(tx, invoice.account_id, total.currency())?;
            book(
                tx,
                invoice.account_id,
                &mut wallet,
                WalletChange::Credit {
                    amount: total,
                    reason: CreditReason::CreditNote {
                        number: record.note.number.to_string(),
                    },
                },
                now,
            )?;
        }
        Ok(CommerceEvent::CreditNoteIssued(record))
    })
}

pub fn top_up(
    store: &mut Store,
    account_id: AccountId,
    amount: Money,
    key: IdempotencyKey,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    let today = crate::domain::time::utc_date(now).unwrap_or_default();
    store
        .write(|tx| {
            once(tx, key, "top_up", now, || {
                store::accounts::get(tx, account_id)?.ok_or(CommerceError::AccountNotFound)?;
                let card = ensure_payment_method(tx, account_id, today)?;
                let mut wallet = wallet_of(tx, account_id, amount.currency())?;
                let entry = book(
                    tx,
                    account_id,
                    &mut wallet,
                    WalletChange::TopUp {
                        amount,
                        reference: card,
                    },
                    now,
                )?;
                Ok((
                    CommerceEvent::WalletChanged { account_id, entry },
                    Vec::new(),
                ))
            })
        })
        .map(|(event, _)| event)
}

/// Reverses one top-up (money back to the card) or one wallet payment, exactly, once.
pub fn refund(
    store: &mut Store,
    account_id: AccountId,
    entry_id: WalletEntryId,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        let entries = store::wallet::entries(tx, account_id)?;
        let original = entries
            .iter()
            .find(|e| e.id == entry_id.0)
            .ok_or(CommerceError::NotFound("wallet entry"))?;
        let (reverses, amount) = match &original.change {
            WalletChange::TopUp { amount, .. } => (Reversed::TopUp, *amount),
            WalletChange::Payment { amount, .. } => (Reversed::Payment, *amount),
            _ => {
                return Err(CommerceError::Refused(
                    "only a top-up or a payment can be refunded".into(),
                ));
            }
        };
        let mut wallet = wallet_of(tx, account_id, amount.currency())?;
        let entry = book(
            tx,
            account_id,
            &mut wallet,
            WalletChange::Refund {
                of: entry_id.0,
                reverses,
                amount,
            },
            now,
        )?;
        Ok(CommerceEvent::WalletChanged { account_id, entry })
    })
}
