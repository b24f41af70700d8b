//! Orders, invoices and credit notes: what may change, and what never does.
//!
//! Each carries the [`PricedDocument`] it was priced with. An invoice is a draft until it is
//! finalised; from then on (unpaid, paid, void) its document and number never change, and only
//! a draft can be deleted. Money owed back on a finalised invoice goes out as a credit note
//! that references it; all credit notes for one invoice together never total more than the
//! invoice, and never more than a line's net amount on any line.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

use super::numbering::{DocKind, DocNumber};
use super::pricing::{PricedDocument, PricedLine, Totals, totals};
use super::quote::{Quote, QuoteStatus};
use crate::domain::money::{Currency, Money, MoneyError, Percent};

/// A status step a document cannot take, or a number that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("{number} is not {expected} number", expected = expected.with_article())]
    WrongNumberKind {
        number: DocNumber,
        expected: DocKind,
    },
    #[error("{number} belongs to {number_year}, but the document is dated {date}", number_year = number.year)]
    NumberYearMismatch { number: DocNumber, date: NaiveDate },
    #[error("an order can only come from an accepted quote (this one is {status})", status = status.label().to_lowercase())]
    QuoteNotAccepted { status: QuoteStatus },
    #[error("the order is {status}; it cannot be {action}", status = status.label())]
    Order {
        status: OrderStatus,
        action: &'static str,
    },
    #[error("the invoice is {status}; it cannot be {action}", status = status.label())]
    Invoice {
        status: InvoiceStatus,
        action: &'static str,
    },
}

fn check_number(
    number: DocNumber,
    expected: DocKind,
    date: NaiveDate,
) -> Result<(), DocumentError> {
    if number.kind != expected {
        return Err(DocumentError::WrongNumberKind { number, expected });
    }
    if number.year != date.year() {
        return Err(DocumentError::NumberYearMismatch { number, date });
    }
    Ok(())
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, waiting for payment.
    Placed,
    /// Paid, entitlements not yet granted.
    Paid,
    /// Paid and granted.
    Fulfilled,
    /// Withdrawn before payment.
    Cancelled,
}

impl OrderStatus {
    pub const fn label(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// Which quote version an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRef {
    pub number: DocNumber,
    pub version: u32,
}

/// An order: what the customer committed to buy, at frozen prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    id: Uuid,
    number: DocNumber,
    status: OrderStatus,
    placed_on: NaiveDate,
    quote: Option<QuoteRef>,
    document: PricedDocument,
}

impl Order {
    /// Places an order for a priced document (from the cart, after the customer confirmed it).
    pub fn place(
        id: Uuid,
        number: DocNumber,
        placed_on: NaiveDate,
        document: PricedDocument,
    ) -> Result<Order, DocumentError> {
        check_number(number, DocKind::Order, placed_on)?;
        Ok(Order {
            id,
            number,
            status: OrderStatus::Placed,
            placed_on,
            quote: None,
            document,
        })
    }

    /// Places the order for an accepted quote, at the quote's frozen prices.
    pub fn from_quote(
        id: Uuid,
        number: DocNumber,
        placed_on: NaiveDate,
        quote: &Quote,
    ) -> Result<Order, DocumentError> {
        let document = match (quote.status(), quote.snapshot()) {
            (QuoteStatus::Accepted, Some(snapshot)) => snapshot.clone(),
            (status, _) => return Err(DocumentError::QuoteNotAccepted { status }),
        };
        let mut order = Order::place(id, number, placed_on, document)?;
        order.quote = Some(QuoteRef {
            number: quote.number(),
            version: quote.version(),
        });
        Ok(order)
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn number(&self) -> DocNumber {
        self.number
    }
    pub fn status(&self) -> OrderStatus {
        self.status
    }
    pub fn placed_on(&self) -> NaiveDate {
        self.placed_on
    }
    pub fn quote(&self) -> Option<QuoteRef> {
        self.quote
    }
    pub fn document(&self) -> &PricedDocument {
        &self.document
    }
    pub fn total(&self) -> Money {
        self.document.totals.total
    }

    fn step(
        &mut self,
        from: OrderStatus,
        to: OrderStatus,
        action: &'static str,
    ) -> Result<(), DocumentError> {
        if self.status != from {
            return Err(DocumentError::Order {
                status: self.status,
                action,
            });
        }
        self.status = to;
        Ok(())
    }

    /// Replaces the priced document of an order still open (placed, not from a quote): more
    /// lines were added to it before it was invoiced.
    pub fn replace_document(&mut self, document: PricedDocument) -> Result<(), DocumentError> {
        if self.status != OrderStatus::Placed || self.quote.is_some() {
            return Err(DocumentError::Order {
                status: self.status,
                action: "changed",
            });
        }
        self.document = document;
        Ok(())
    }

    /// Placed → paid.
    pub fn mark_paid(&mut self) -> Result<(), DocumentError> {
        self.step(OrderStatus::Placed, OrderStatus::Paid, "marked paid")
    }

    /// Paid → fulfilled (entitlements granted).
    pub fn fulfil(&mut self) -> Result<(), DocumentError> {
        self.step(OrderStatus::Paid, OrderStatus::Fulfilled, "fulfilled")
    }

    /// Placed → cancelled; a paid order is undone with a credit note instead.
    pub fn cancel(&mut self) -> Result<(), DocumentError> {
        self.step(OrderStatus::Placed, OrderStatus::Cancelled, "cancelled")
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Being prepared: may change or be deleted; has no number yet.
    Draft,
    /// Finalised and numbered, not yet paid.
    Unpaid,
    Paid,
    /// Finalised, then cancelled before payment; keeps its number.
    Void,
}

impl InvoiceStatus {
    pub const fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "a draft",
            InvoiceStatus::Unpaid => "unpaid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }

    /// True once the invoice has been finalised (it can never change again).
    pub const fn is_final(self) -> bool {
        !matches!(self, InvoiceStatus::Draft)
    }
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    id: Uuid,
    number: Option<DocNumber>,
    status: InvoiceStatus,
    order: Option<DocNumber>,
    document: PricedDocument,
    issued_on: Option<NaiveDate>,
    due_on: Option<NaiveDate>,
    paid_on: Option<NaiveDate>,
}

impl Invoice {
    /// A draft invoice, optionally for an order.
    pub fn draft(id: Uuid, order: Option<DocNumber>, document: PricedDocument) -> Invoice {
        Invoice {
            id,
            number: None,
            status: InvoiceStatus::Draft,
            order,
            document,
            issued_on: None,
            due_on: None,
            paid_on: None,
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    /// The number, once finalised.
    pub fn number(&self) -> Option<DocNumber> {
        self.number
    }
    pub fn status(&self) -> InvoiceStatus {
        self.status
    }
    pub fn order(&self) -> Option<DocNumber> {
        self.order
    }
    pub fn document(&self) -> &PricedDocument {
        &self.document
    }
    pub fn issued_on(&self) -> Option<NaiveDate> {
        self.issued_on
    }
    pub fn due_on(&self) -> Option<NaiveDate> {
        self.due_on
    }
    pub fn paid_on(&self) -> Option<NaiveDate> {
        self.paid_on
    }
    pub fn total(&self) -> Money {
        self.document.totals.total
    }

    fn refuse(&self, action: &'static str) -> DocumentError {
        DocumentError::Invoice {
            status: self.status,
            action,
        }
    }

    /// Replaces the priced document of a draft.
    pub fn replace_document(&mut self, document: PricedDocument) -> Result<(), DocumentError> {
        if self.status != InvoiceStatus::Draft {
            return Err(self.refuse("changed"));
        }
        self.document = document;
        Ok(())
    }

    /// Finalises a draft with its number (next in the invoice series of `issued_on`'s year).
    /// A due date before the issue date is taken as the issue date.
    pub fn finalise(
        &mut self,
        number: DocNumber,
        issued_on: NaiveDate,
        due_on: NaiveDate,
    ) -> Result<(), DocumentError> {
        if self.status != InvoiceStatus::Draft {
            return Err(self.refuse("finalised again"));
        }
        check_number(number, DocKind::Invoice, issued_on)?;
        self.number = Some(number);
        self.issued_on = Some(issued_on);
        self.due_on = Some(due_on.max(issued_on));
        self.status = InvoiceStatus::Unpaid;
        Ok(())
    }

    /// Unpaid → paid on `paid_on`.
    pub fn mark_paid(&mut self, paid_on: NaiveDate) -> Result<(), DocumentError> {
        if self.status != InvoiceStatus::Unpaid {
            return Err(self.refuse("marked paid"));
        }
        self.status = InvoiceStatus::Paid;
        self.paid_on = Some(paid_on);
        Ok(())
    }

    /// Unpaid → void. A paid invoice is undone with a credit note, a draft is deleted.
    pub fn void(&mut self) -> Result<(), DocumentError> {
        if self.status != InvoiceStatus::Unpaid {
            return Err(self.refuse("voided"));
        }
        self.status = InvoiceStatus::Void;
        Ok(())
    }

    /// Ok when the invoice may be deleted: drafts only.
    pub fn ensure_deletable(&self) -> Result<(), DocumentError> {
        if self.status != InvoiceStatus::Draft {
            return Err(self.refuse("deleted"));
        }
        Ok(())
    }
}

/// An amount to credit on one invoice line (before tax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCredit {
    /// Index of the line on the invoice (0-based).
    pub line: usize,
    /// Net amount credited, positive.
    pub net: Money,
}

/// One credited line: which invoice line, and the credited amounts at its tax rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditedLine {
    pub invoice_line: usize,
    pub line: PricedLine,
}

/// A credit note: money owed back on a finalised invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    pub id: Uuid,
    pub number: DocNumber,
    pub invoice: DocNumber,
    pub issued_on: NaiveDate,
    pub reason: String,
    pub currency: Currency,
    pub lines: Vec<CreditedLine>,
    pub totals: Totals,
}

/// What staff enter to issue a credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteRequest {
    pub id: Uuid,
    pub number: DocNumber,
    pub issued_on: NaiveDate,
    pub reason: String,
    pub credits: Vec<LineCredit>,
}

/// Why a credit note cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditNoteError {
    #[error("only a finalised invoice can be credited (this one is {status})", status = status.label())]
    InvoiceNotCreditable { status: InvoiceStatus },
    #[error("credit note {credit_note} belongs to {other}, not to {invoice}")]
    ForeignCreditNote {
        credit_note: DocNumber,
        other: DocNumber,
        invoice: DocNumber,
    },
    #[error("choose at least one line to credit")]
    NoLines,
    #[error("the invoice has no line {line}")]
    NoSuchLine { line: usize },
    #[error("line {line}: the amount to credit must be more than zero")]
    NotPositive { line: usize },
    #[error(
        "line {line}: {requested} would credit more than the line's {net} ({already} already credited)"
    )]
    LineOverCredited {
        line: usize,
        net: Money,
        already: Money,
        requested: Money,
    },
    #[error(
        "credit notes for {invoice} would total more than its {invoice_total}: {already} already credited, at most {remaining} remains, this one is {requested}"
    )]
    ExceedsInvoice {
        invoice: DocNumber,
        invoice_total: Money,
        already: Money,
        remaining: Money,
        requested: Money,
    },
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The credit note limit: everything credited on an invoice, `new` included, is at most its
/// total. The store calls this with the sum of the stored credit notes inside the transaction
/// that saves a new one.
pub fn check_credit_limit(
    invoice: DocNumber,
    invoice_total: Money,
    already: Money,
    requested: Money,
) -> Result<(), CreditNoteError> {
    let remaining = invoice_total.checked_sub(already)?;
    if remaining.checked_sub(requested)?.is_negative() {
        return Err(CreditNoteError::ExceedsInvoice {
            invoice,
            invoice_total,
            already,
            remaining,
            requested,
        });
    }
    Ok(())
}

/// Issues a credit note against `invoice`, given the credit notes already issued for it.
///
/// Tax is computed once per rate, like on the invoice; the credit note that brings a rate's
/// credited base up to the invoice's base for that rate credits exactly the rest of that
/// rate's tax, so crediting everything (in one note or several) gives back the invoice total
/// to the minor unit.
pub fn issue_credit_note(
    invoice: &Invoice,
    earlier: &[CreditNote],
    request: CreditNoteRequest,
) -> Result<CreditNote, CreditNoteError> {
    let (InvoiceStatus::Unpaid | InvoiceStatus::Paid, Some(invoice_number)) =
        (invoice.status(), invoice.number())
    else {
        return Err(CreditNoteError::InvoiceNotCreditable {
            status: invoice.status(),
        });
    };
    check_number(request.number, DocKind::CreditNote, request.issued_on)?;
    if let Some(foreign) = earlier.iter().find(|c| c.invoice != invoice_number) {
        return Err(CreditNoteError::ForeignCreditNote {
            credit_note: foreign.number,
            other: foreign.invoice,
            invoice: invoice_number,
        });
    }
    if request.credits.is_empty() {
        return Err(CreditNoteError::NoLines);
    }
    let document = invoice.document();
    let currency = document.currency;
    let credited_on_line = |line: usize, notes: &[CreditNote]| {
        Money::sum(
            currency,
            notes
                .iter()
                .flat_map(|c| &c.lines)
                .filter(|l| l.invoice_line == line)
                .map(|l| l.line.net),
        )
    };
    let mut lines: Vec<CreditedLine> = Vec::with_capacity(request.credits.len());
    for credit in &request.credits {
        let shown = credit.line + 1;
        let original = document
            .lines
            .get(credit.line)
            .ok_or(CreditNoteError::NoSuchLine { line: shown })?;
        if !credit.net.is_positive() {
            return Err(CreditNoteError::NotPositive { line: shown });
        }
        let already = credited_on_line(credit.line, earlier)?.checked_add(Money::sum(
            currency,
            lines
                .iter()
                .filter(|l| l.invoice_line == credit.line)
                .map(|l| l.line.net),
        )?)?;
        if already.checked_add(credit.net)?.minor() > original.net.minor() {
            return Err(CreditNoteError::LineOverCredited {
                line: shown,
                net: original.net,
                already,
                requested: credit.net,
            });
        }
        lines.push(CreditedLine {
            invoice_line: credit.line,
            line: PricedLine {
                gross: credit.net,
                discount_percent: Percent::ZERO,
                discount: Money::zero(currency),
                net: credit.net,
                ..original.clone()
            },
        });
    }
    let priced: Vec<PricedLine> = lines.iter().map(|l| l.line.clone()).collect();
    let mut note_totals = totals(currency, &priced)?;
    close_rates(&mut note_totals, &document.totals, earlier)?;
    let already = Money::sum(currency, earlier.iter().map(|c| c.totals.total))?;
    check_credit_limit(invoice_number, invoice.total(), already, note_totals.total)?;
    Ok(CreditNote {
        id: request.id,
        number: request.number,
        invoice: invoice_number,
        issued_on: request.issued_on,
        reason: request.reason,
        currency,
        lines,
        totals: note_totals,
    })
}

/// For each rate this note completes, credit exactly the invoice's remaining tax at that rate.
fn close_rates(
    note: &mut Totals,
    invoice: &Totals,
    earlier: &[CreditNote],
) -> Result<(), MoneyError> {
    let currency = note.total.currency();
    for tax_line in &mut note.taxes {
        let Some(invoiced) = invoice.taxes.iter().find(|t| t.percent == tax_line.percent) else {
            continue;
        };
        let earlier_at_rate = earlier
            .iter()
            .flat_map(|c| c.totals.taxes.iter())
            .filter(|t| t.percent == tax_line.percent);
        let base_before = Money::sum(currency, earlier_at_rate.clone().map(|t| t.base))?;
        let tax_before = Money::sum(currency, earlier_at_rate.map(|t| t.tax))?;
        if base_before.checked_add(tax_line.base)? == invoiced.base {
            tax_line.tax = invoiced.tax.checked_sub(tax_before)?;
        }
    }
    note.tax = Money::sum(currency, note.taxes.iter().map(|t| t.tax))?;
    note.total = note.net.checked_add(note.tax)?;
    Ok(())
}

/// Credits for everything not yet credited on the invoice (a full credit note).
pub fn remaining_credits(
    invoice: &Invoice,
    earlier: &[CreditNote],
) -> Result<Vec<LineCredit>, MoneyError> {
    let currency = invoice.document().currency;
    let mut credits = Vec::new();
    for (index, line) in invoice.document().lines.iter().enumerate() {
        let already = Money::sum(
            currency,
            earlier
                .iter()
                .flat_map(|c| &c.lines)
                .filter(|l| l.invoice_line == index)
                .map(|l| l.line.net),
        )?;
        let left = line.net.checked_sub(already)?;
        if left.is_positive() {
            credits.push(LineCredit {
                line: index,
                net: left,
            });
        }
    }
    Ok(credits)
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::Product;
    use crate::commerce::catalog::fixtures::*;
    use crate::commerce::pricing::{LineSpec, PricingRequest, price_document};
    use crate::commerce::tax::{Customer, Seller};
    use crate::commerce::terms::Term;

    fn number(s: &str) -> DocNumber {
        s.parse().unwrap()
    }

    /// Pro €120 × 1 at 19% and support €2.95 × 3 at 7%: net €128.85, tax €22.80 + €0.62.
    fn document() -> PricedDocument {
        price_document(
            &price_list(),
            &PricingRequest {
                seller: Seller {
                    country: cc("DE"),
                    vat_id: None,
                },
                customer: Customer {
                    country: cc("DE"),
                    vat_id: None,
                    vat_validation: None,
                },
                tax_point: d(2026, 3, 2),
                lines: vec![
                    LineSpec::Catalogue {
                        product: Product::ProLicense,
                        term: Term::Annual,
                        quantity: 1,
                        terms: 1,
                    },
                    LineSpec::Catalogue {
                        product: Product::Support,
                        term: Term::Monthly,
                        quantity: 3,
                        terms: 1,
                    },
                ],
            },
        )
        .unwrap()
    }

    fn finalised() -> Invoice {
        let mut invoice = Invoice::draft(Uuid::nil(), None, document());
        invoice
            .finalise(number("INV-2026-0007"), d(2026, 3, 2), d(2026, 4, 1))
            .unwrap();
        invoice
    }

    fn credit(seq: u32, credits: Vec<LineCredit>) -> CreditNoteRequest {
        CreditNoteRequest {
            id: Uuid::from_u128(u128::from(seq)),
            number: DocNumber {
                kind: DocKind::CreditNote,
                series: crate::commerce::numbering::Series::MAIN,
                year: 2026,
                seq,
            },
            issued_on: d(2026, 3, 20),
            reason: "Goodwill".into(),
            credits,
        }
    }

    #[test]
    fn invoice_status_rules() {
        let mut invoice = Invoice::draft(Uuid::nil(), None, document());
        assert_eq!(invoice.total(), eur(15227));
        invoice.ensure_deletable().unwrap();
        invoice.replace_document(document()).unwrap();
        assert_eq!(
            invoice
                .finalise(number("INV-2025-0001"), d(2026, 3, 2), d(2026, 4, 1))
                .unwrap_err()
                .to_string(),
            "INV-2025-0001 belongs to 2025, but the document is dated 2026-03-02"
        );
        assert_eq!(
            invoice
                .finalise(number("CN-2026-0001"), d(2026, 3, 2), d(2026, 4, 1))
                .unwrap_err()
                .to_string(),
            "CN-2026-0001 is not an invoice number"
        );
        invoice
            .finalise(number("INV-2026-0007"), d(2026, 3, 2), d(2026, 4, 1))
            .unwrap();
        assert_eq!(invoice.status(), InvoiceStatus::Unpaid);
        // Finalised: never changes, never deleted.
        assert_eq!(
            invoice
                .replace_document(document())
                .unwrap_err()
                .to_string(),
            "the invoice is unpaid; it cannot be changed"
        );
        assert_eq!(
            invoice.ensure_deletable().unwrap_err().to_string(),
            "the invoice is unpaid; it cannot be deleted"
        );
        assert!(
            invoice
                .finalise(number("INV-2026-0008"), d(2026, 3, 2), d(2026, 4, 1))
                .is_err()
        );
        let mut voided = invoice.clone();
        voided.void().unwrap();
        assert!(voided.mark_paid(d(2026, 3, 3)).is_err());
        invoice.mark_paid(d(2026, 3, 3)).unwrap();
        assert_eq!(invoice.paid_on(), Some(d(2026, 3, 3)));
        assert_eq!(
            invoice.void().unwrap_err().to_string(),
            "the invoice is paid; it cannot be voided"
        );
        assert!(invoice.ensure_deletable().is_err());
    }

    #[test]
    fn order_status_rules() {
        let mut order = Order::place(
            Uuid::nil(),
            number("ORD-2026-0001"),
            d(2026, 3, 2),
            document(),
        )
        .unwrap();
        assert!(order.fulfil().is_err());
        order.mark_paid().unwrap();
        assert_eq!(
            order.cancel().unwrap_err().to_string(),
            "the order is paid; it cannot be cancelled"
        );
        order.fulfil().unwrap();
        assert_eq!(order.status(), OrderStatus::Fulfilled);
        assert!(
            Order::place(
                Uuid::nil(),
                number("Q-2026-0001"),
                d(2026, 3, 2),
                document()
            )
            .is_err()
        );
    }

    #[test]
    fn an_order_from_a_quote_keeps_the_quoted_prices() {
        let mut quote = Quote::new_draft(
            Uuid::nil(),
            number("Q-2026-0003"),
            PricingRequest {
                seller: document().seller,
                customer: document().customer,
                tax_point: d(2026, 3, 1),
                lines: vec![LineSpec::Catalogue {
                    product: Product::ProLicense,
                    term: Term::Annual,
                    quantity: 1,
                    terms: 1,
                }],
            },
        )
        .unwrap();
        assert!(matches!(
            Order::from_quote(Uuid::nil(), number("ORD-2026-0001"), d(2026, 3, 2), &quote),
            Err(DocumentError::QuoteNotAccepted {
                status: QuoteStatus::Draft
            })
        ));
        quote
            .open(&price_list(), d(2026, 3, 1), d(2026, 3, 31))
            .unwrap();
        let accepted = quote.accept(d(2026, 3, 2)).unwrap().clone();
        let order =
            Order::from_quote(Uuid::nil(), number("ORD-2026-0001"), d(2026, 3, 2), &quote).unwrap();
        assert_eq!(order.document(), &accepted);
        assert_eq!(
            order.quote(),
            Some(QuoteRef {
                number: number("Q-2026-0003"),
                version: 1
            })
        );
    }

    #[test]
    fn credit_notes_never_exceed_their_invoice() {
        let invoice = finalised();
        assert_eq!(invoice.total(), eur(15227));
        // A partial credit of €50 on the license line: 19% of 5000 = 950.
        let first = issue_credit_note(
            &invoice,
            &[],
            credit(
                1,
                vec![LineCredit {
                    line: 0,
                    net: eur(5000),
                }],
            ),
        )
        .unwrap();
        assert_eq!(first.invoice, number("INV-2026-0007"));
        assert_eq!(first.totals.total, eur(5950));
        // Crediting the rest brings the total to the invoice total exactly.
        let rest = remaining_credits(&invoice, std::slice::from_ref(&first)).unwrap();
        assert_eq!(
            rest,
            [
                LineCredit {
                    line: 0,
                    net: eur(7000)
                },
                LineCredit {
                    line: 1,
                    net: eur(885)
                }
            ]
        );
        let second =
            issue_credit_note(&invoice, std::slice::from_ref(&first), credit(2, rest)).unwrap();
        assert_eq!(
            first.totals.total.checked_add(second.totals.total).unwrap(),
            invoice.total()
        );
        // Anything more is refused: per line, and in total.
        let both = [first.clone(), second];
        assert_eq!(
            issue_credit_note(
                &invoice,
                &both,
                credit(
                    3,
                    vec![LineCredit {
                        line: 1,
                        net: eur(1)
                    }]
                )
            )
            .unwrap_err()
            .to_string(),
            "line 2: €0.01 would credit more than the line's €8.85 (€8.85 already credited)"
        );
        assert_eq!(
            issue_credit_note(
                &invoice,
                std::slice::from_ref(&first),
                credit(
                    3,
                    vec![LineCredit {
                        line: 0,
                        net: eur(7001)
                    }]
                )
            )
            .unwrap_err(),
            CreditNoteError::LineOverCredited {
                line: 1,
                net: eur(12000),
                already: eur(5000),
                requested: eur(7001),
            }
        );
        assert_eq!(
            check_credit_limit(number("INV-2026-0007"), eur(15227), eur(5950), eur(9278))
                .unwrap_err()
                .to_string(),
            "credit notes for INV-2026-0007 would total more than its €152.27: €59.50 already credited, at most €92.77 remains, this one is €92.78"
        );
        assert_eq!(
            check_credit_limit(number("INV-2026-0007"), eur(15227), eur(5950), eur(9277)),
            Ok(())
        );
    }

    #[test]
    fn partial_credits_whose_rounding_would_overshoot_are_closed_exactly() {
        // Invoice tax at 7% on €8.85 is 61.95 → 62 cents. Crediting €2.95 three times rounds
        // 20.65 → 21 cents each time; the third note credits only the 20 cents left.
        let invoice = finalised();
        let mut notes: Vec<CreditNote> = Vec::new();
        for seq in 1..=3 {
            let note = issue_credit_note(
                &invoice,
                &notes,
                credit(
                    seq,
                    vec![LineCredit {
                        line: 1,
                        net: eur(295),
                    }],
                ),
            )
            .unwrap();
            notes.push(note);
        }
        let taxes: Vec<_> = notes.iter().map(|n| n.totals.tax).collect();
        assert_eq!(taxes, [eur(21), eur(21), eur(20)]);
    }

    #[test]
    fn credit_note_refusals() {
        let draft = Invoice::draft(Uuid::nil(), None, document());
        let one = || {
            vec![LineCredit {
                line: 0,
                net: eur(100),
            }]
        };
        assert_eq!(
            issue_credit_note(&draft, &[], credit(1, one()))
                .unwrap_err()
                .to_string(),
            "only a finalised invoice can be credited (this one is a draft)"
        );
        let mut voided = finalised();
        voided.void().unwrap();
        assert!(issue_credit_note(&voided, &[], credit(1, one())).is_err());
        let invoice = finalised();
        let cases = [
            (credit(1, vec![]), "choose at least one line to credit"),
            (
                credit(
                    1,
                    vec![LineCredit {
                        line: 5,
                        net: eur(1),
                    }],
                ),
                "the invoice has no line 6",
            ),
            (
                credit(
                    1,
                    vec![LineCredit {
                        line: 0,
                        net: eur(0),
                    }],
                ),
                "line 1: the amount to credit must be more than zero",
            ),
        ];
        for (request, message) in cases {
            assert_eq!(
                issue_credit_note(&invoice, &[], request)
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
        let mut wrong_number = credit(1, one());
        wrong_number.number = number("INV-2026-0001");
        assert!(matches!(
            issue_credit_note(&invoice, &[], wrong_number),
            Err(CreditNoteError::Document(
                DocumentError::WrongNumberKind { .. }
            ))
        ));
        let mut other = issue_credit_note(&invoice, &[], credit(1, one())).unwrap();
        other.invoice = number("INV-2026-0001");
        assert!(matches!(
            issue_credit_note(&invoice, &[other], credit(2, one())),
            Err(CreditNoteError::ForeignCreditNote { .. })
        ));
        let mut yen = credit(1, one());
        yen.credits[0].net = Money::from_minor(100, Currency::JPY);
        assert!(matches!(
            issue_credit_note(&invoice, &[], yen),
            Err(CreditNoteError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
    }
}
