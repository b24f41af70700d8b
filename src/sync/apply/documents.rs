//! Commerce documents from other desks: price list versions, quotes, orders, invoices and
//! credit notes. Numbers stay unique: a document that would take a number a different one
//! holds here (two desks numbering in one series, see `docs/sync-protocol.md`, "Document
//! series") is refused and kept for review, never renumbered. Finalised invoices and credit
//! notes are facts: added once, never replaced.

use super::{Gone, Verdict, account_here, fact, verdict, with};
use crate::commerce::catalog::PriceList;
use crate::commerce::documents::{InvoiceStatus, check_credit_limit};
use crate::commerce::numbering::{DocKind, DocNumber};
use crate::domain::ids::InvoiceId;
use crate::domain::money::Money;
use crate::store::commerce::{number_holder, parse_date};
use crate::store::invoices::{CreditNoteRecord, InvoiceRecord, InvoiceStatusRecord};
use crate::store::orders::OrderRecord;
use crate::store::quotes::QuoteRecord;
use crate::store::{StoreError, invoices, orders, price_lists, quotes};
use rusqlite::Transaction;

/// Refuses a number of the wrong kind, or one a different document holds here.
fn number_free(
    tx: &Transaction<'_>,
    kind: DocKind,
    number: DocNumber,
    version: u32,
    id: uuid::Uuid,
) -> Result<Verdict, StoreError> {
    if number.kind != kind {
        return Ok(Err(format!(
            "{number} is not {} number",
            kind.with_article()
        )));
    }
    Ok(match number_holder(tx, number, version)? {
        Some(holder) if holder != id => Err(format!(
            "{number} is another {}'s number here (two desks numbered in one series): \
             not applied, kept for review",
            kind.label()
        )),
        _ => Ok(()),
    })
}

/// Runs the checks in order and stops at the first refusal.
fn all(
    checks: impl IntoIterator<Item = Result<Verdict, StoreError>>,
) -> Result<Verdict, StoreError> {
    for check in checks {
        if let Err(why) = check? {
            return Ok(Err(why));
        }
    }
    Ok(Ok(()))
}

/// A price list version: a fact, added once.
pub(super) fn price_list(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    let id_of = |l: &PriceList| format!("{}/{}", l.id, l.version);
    with(entity_id, body, id_of, |list| {
        if let Err(e) = list.check() {
            return Ok(Err(format!("the price list does not hold: {e}")));
        }
        let id = crate::domain::ids::PriceListId(list.id);
        let here = price_lists::get(tx, id, list.version)?;
        let what = format!("version {} of price list {}", list.version, list.id);
        fact(here, &list, what, || {
            verdict(price_lists::insert(tx, &list, now))
        })
    })
}

/// A quote version's whole state.
pub(super) fn quote(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &QuoteRecord| r.id,
        |r| {
            let quote = &r.quote;
            let checks = all([
                Ok(same_body_id(r.id.0, quote.id())),
                account_here(tx, r.account_id),
                number_free(tx, DocKind::Quote, quote.number(), quote.version(), r.id.0),
            ])?;
            if checks.is_err() {
                return Ok(checks);
            }
            match quotes::get(tx, r.id)? {
                None => verdict(quotes::insert(tx, r.account_id, quote, now).map(|_| ())),
                Some(here)
                    if here.account_id != r.account_id
                        || here.quote.number() != quote.number()
                        || here.quote.version() != quote.version() =>
                {
                    Ok(Err(format!(
                        "quote {} is {} version {} of another account here",
                        r.id,
                        here.quote.number(),
                        here.quote.version()
                    )))
                }
                Some(_) => verdict(quotes::update(tx, r.account_id, quote, now).map(|_| ())),
            }
        },
    )
}

/// An order's whole state.
pub(super) fn order(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &OrderRecord| r.id,
        |r| {
            let order = &r.order;
            let quote_here = match r.quote_id {
                Some(q) if quotes::get(tx, q)?.is_none() => {
                    Err(format!("quote {q} is not on this desk"))
                }
                _ => Ok(()),
            };
            let checks = all([
                Ok(same_body_id(r.id.0, order.id())),
                account_here(tx, r.account_id),
                Ok(quote_here),
                number_free(tx, DocKind::Order, order.number(), 1, r.id.0),
            ])?;
            if checks.is_err() {
                return Ok(checks);
            }
            match orders::get(tx, r.id)? {
                None => verdict(
                    orders::insert(tx, r.account_id, order, r.quote_id, None, now).map(|_| ()),
                ),
                Some(here)
                    if here.account_id != r.account_id || here.order.number() != order.number() =>
                {
                    Ok(Err(format!(
                        "order {} is {} of another account here",
                        r.id,
                        here.order.number()
                    )))
                }
                Some(_) => verdict(orders::update(tx, &r, now)),
            }
        },
    )
}

/// Checks an invoice's account and order are here and its id is its body's.
fn invoice_belongs(tx: &Transaction<'_>, r: &InvoiceRecord) -> Result<Verdict, StoreError> {
    let order_here = match r.order_id {
        Some(o) if orders::get(tx, o)?.is_none() => Err(format!("order {o} is not on this desk")),
        _ => Ok(()),
    };
    all([
        Ok(same_body_id(r.id.0, r.invoice.id())),
        account_here(tx, r.account_id),
        Ok(order_here),
    ])
}

/// A draft invoice's whole state; a draft finalised here already is not reopened.
pub(super) fn invoice_draft(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &InvoiceRecord| r.id,
        |r| {
            if r.invoice.status() != InvoiceStatus::Draft {
                return Ok(Err(format!("invoice {} is not a draft", r.id)));
            }
            let checks = invoice_belongs(tx, &r)?;
            if checks.is_err() {
                return Ok(checks);
            }
            match invoices::get(tx, r.id)? {
                None => verdict(invoices::insert(tx, &r, now)),
                Some(here) if here.invoice.status() != InvoiceStatus::Draft => {
                    Ok(Err(final_here(&here)))
                }
                Some(here) if here.account_id != r.account_id => Ok(Err(format!(
                    "invoice {} belongs to another account here",
                    r.id
                ))),
                Some(_) => verdict(invoices::update(tx, &r, now)),
            }
        },
    )
}

fn final_here(here: &InvoiceRecord) -> String {
    format!(
        "invoice {} is final here ({}): a change to its draft no longer applies",
        here.id,
        here.invoice
            .number()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )
}

/// A draft deleted on another desk; one finalised here stays.
pub(super) fn invoice_draft_deleted(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |g: &Gone<InvoiceId>| g.id,
        |g| match invoices::get(tx, g.id)? {
            None => Ok(Ok(())),
            Some(here) if here.invoice.status() != InvoiceStatus::Draft => {
                Ok(Err(final_here(&here)))
            }
            Some(_) => verdict(invoices::delete_draft(tx, g.id, now)),
        },
    )
}

/// A finalised invoice: a fact. It finalises the draft here, or is added; one finalised here
/// with another number or document is kept and this one refused.
pub(super) fn invoice(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &InvoiceRecord| r.id,
        |r| {
            let Some(number) = r
                .invoice
                .number()
                .filter(|_| r.invoice.status() != InvoiceStatus::Draft)
            else {
                return Ok(Err(format!("invoice {} is not final", r.id)));
            };
            let checks = all([
                number_free(tx, DocKind::Invoice, number, 1, r.id.0),
                invoice_belongs(tx, &r),
            ])?;
            if checks.is_err() {
                return Ok(checks);
            }
            match invoices::get(tx, r.id)? {
                None => verdict(invoices::insert(tx, &r, now)),
                Some(here) if here.account_id != r.account_id => Ok(Err(format!(
                    "invoice {} belongs to another account here",
                    r.id
                ))),
                Some(here) if here.invoice.status() == InvoiceStatus::Draft => {
                    verdict(invoices::update(tx, &r, now))
                }
                Some(here)
                    if here.invoice.number() == Some(number)
                        && here.invoice.document() == r.invoice.document() =>
                {
                    Ok(Ok(()))
                }
                Some(_) => Ok(Err(format!(
                    "a different final invoice {} is here already",
                    r.id
                ))),
            }
        },
    )
}

/// A finalised invoice paid or voided on another desk.
pub(super) fn invoice_status(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &InvoiceStatusRecord| r.id,
        |r| {
            let Some(mut here) = invoices::get(tx, r.id)? else {
                return Ok(Err(format!("invoice {} is not on this desk", r.id)));
            };
            let now_status = here.invoice.status();
            let moved = match (r.status.as_str(), now_status) {
                (_, InvoiceStatus::Draft) => Err(format!("invoice {} is not final here", r.id)),
                ("paid", InvoiceStatus::Paid) | ("void", InvoiceStatus::Void) => return Ok(Ok(())),
                ("unpaid", InvoiceStatus::Unpaid) => return Ok(Ok(())),
                ("paid", _) => match r.paid_on.as_deref().map(parse_date) {
                    Some(Ok(on)) => here.invoice.mark_paid(on).map_err(|e| e.to_string()),
                    Some(Err(e)) => Err(format!("the payment date does not read: {e}")),
                    None => Err("a paid invoice needs its payment date".to_string()),
                },
                ("void", _) => here.invoice.void().map_err(|e| e.to_string()),
                (other, status) => Err(format!(
                    "invoice {} cannot go from {status} to '{other}'",
                    r.id
                )),
            };
            match moved {
                Ok(()) => verdict(invoices::update(tx, &here, now)),
                Err(why) => Ok(Err(why)),
            }
        },
    )
}

/// A credit note: a fact, added once, and only while everything credited on its invoice stays
/// within the invoice's total (two desks crediting one invoice apart could go past it: the
/// second is kept for review).
pub(super) fn credit_note(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &CreditNoteRecord| r.id,
        |r| {
            if let Some(here) = invoices::credit_note(tx, r.id)? {
                return fact(Some(here), &r, format!("credit note {}", r.id), || {
                    Ok(Ok(()))
                });
            }
            let note = &r.note;
            let checks = all([
                Ok(same_body_id(r.id.0, note.id)),
                account_here(tx, r.account_id),
                number_free(tx, DocKind::CreditNote, note.number, 1, r.id.0),
            ])?;
            if checks.is_err() {
                return Ok(checks);
            }
            let Some(invoice) = invoices::get(tx, r.invoice_id)? else {
                return Ok(Err(format!("invoice {} is not on this desk", r.invoice_id)));
            };
            if invoice.account_id != r.account_id || invoice.invoice.number() != Some(note.invoice)
            {
                return Ok(Err(format!(
                    "credit note {} does not fit invoice {} here",
                    note.number, r.invoice_id
                )));
            }
            let earlier = invoices::credit_notes_for(tx, r.invoice_id)?;
            let currency = invoice.invoice.document().currency;
            let limit = Money::sum(currency, earlier.iter().map(|c| c.totals.total))
                .map_err(|e| e.to_string())
                .and_then(|already| {
                    check_credit_limit(
                        note.invoice,
                        invoice.invoice.total(),
                        already,
                        note.totals.total,
                    )
                    .map_err(|e| format!("not applied, kept for review: {e}"))
                });
            match limit {
                Ok(()) => verdict(invoices::insert_credit_note(tx, &r, now)),
                Err(why) => Ok(Err(why)),
            }
        },
    )
}

/// Refuses a record whose id and its document's id differ.
fn same_body_id(record: uuid::Uuid, document: uuid::Uuid) -> Verdict {
    if record == document {
        Ok(())
    } else {
        Err(format!("record {record} holds document {document}"))
    }
}
