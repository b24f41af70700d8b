//! Lines and totals of carts, quotes, orders and invoices: the one pricing function.
//!
//! [`price_document`] turns what is being bought ([`LineSpec`]s) into a [`PricedDocument`]
//! with every amount fixed. The cart preview, the quote, the order confirmation and the
//! invoice all call it, and a charge is only booked when a fresh call gives exactly the
//! document the customer confirmed ([`ensure_unchanged`]), so the amount confirmed is the
//! amount booked, to the minor unit.
//!
//! The rules (docs/billing.md says them in words):
//! - a line is `unit price × quantity × terms − discount`; the product is exact, the discount
//!   (the list's term discount) is rounded once, half-up; a prorated line is rounded once by
//!   the proration instead and has no further discount;
//! - tax is computed once per rate per document: lines are grouped by tax percentage, and each
//!   group's tax is `round(sum of net lines × rate)`, never a sum of per-line taxes;
//! - total = net + tax of every rate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalog::{CatalogError, PriceList, PriceListRef, Product};
use super::seats::prorate;
use super::tax::{Customer, Seller, TaxTreatment, tax_treatment};
use super::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::money::{Currency, Money, MoneyError, Percent};

/// One thing being bought, before pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineSpec {
    /// `quantity` units of `product` for `terms` consecutive terms, at the list price less the
    /// list's term discount.
    Catalogue {
        product: Product,
        term: Term,
        quantity: u32,
        terms: u32,
    },
    /// `quantity` more units for the rest of a running term, at the subscription's agreed
    /// `unit_price` per term: `unit × quantity × remaining_days / term_days`, rounded once.
    Prorated {
        product: Product,
        term: Term,
        quantity: u32,
        unit_price: Money,
        remaining_days: u32,
        term_days: u32,
    },
}

/// How a prorated line was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proration {
    pub remaining_days: u32,
    pub term_days: u32,
}

/// A priced line, every amount fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub product: Product,
    pub term: Term,
    pub quantity: u32,
    /// Consecutive terms bought (1 for a prorated line).
    pub terms: u32,
    /// Price of one unit for one term.
    pub unit_price: Money,
    pub proration: Option<Proration>,
    /// `unit × quantity × terms` (or the prorated amount).
    pub gross: Money,
    pub discount_percent: Percent,
    pub discount: Money,
    /// `gross − discount`: what the line costs before tax.
    pub net: Money,
    /// The rate the line is taxed at (0 under reverse charge).
    pub tax_percent: Percent,
}

/// The tax of one rate: its base (the sum of the net lines at that rate) and the tax on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub percent: Percent,
    pub base: Money,
    pub tax: Money,
}

/// A document's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of gross line amounts.
    pub subtotal: Money,
    /// Sum of line discounts.
    pub discount: Money,
    /// `subtotal − discount`.
    pub net: Money,
    /// One entry per tax rate, highest rate first.
    pub taxes: Vec<TaxLine>,
    /// Sum of the per-rate taxes.
    pub tax: Money,
    /// `net + tax`: what the customer pays.
    pub total: Money,
}

/// What to price: who sells to whom, the tax point, and the lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingRequest {
    pub seller: Seller,
    pub customer: Customer,
    /// The date the sale is taxed on; chooses the tax rate (and must fall in the list's validity).
    pub tax_point: NaiveDate,
    pub lines: Vec<LineSpec>,
}

/// A fully priced document: the snapshot stored as JSON in a quote, order or invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedDocument {
    pub price_list: PriceListRef,
    pub currency: Currency,
    pub tax_point: NaiveDate,
    pub seller: Seller,
    pub customer: Customer,
    pub treatment: TaxTreatment,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

/// Why a document cannot be priced, or why a charge is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("add at least one line")]
    NoLines,
    #[error("line {line}: quantity must be at least 1")]
    ZeroQuantity { line: usize },
    #[error("line {line}: the number of terms must be at least 1")]
    ZeroTerms { line: usize },
    #[error("line {line}: {remaining_days} remaining days do not fit a term of {term_days} days")]
    BadProration {
        line: usize,
        remaining_days: u32,
        term_days: u32,
    },
    #[error("line {line}: the unit price is in {found}, but the price list is in {expected}")]
    WrongCurrency {
        line: usize,
        expected: Currency,
        found: Currency,
    },
    #[error("line {line}: {source}")]
    Catalog { line: usize, source: CatalogError },
    #[error(transparent)]
    List(CatalogError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(
        "the price changed since it was confirmed ({confirmed} then, {now} now): confirm again"
    )]
    Changed { confirmed: Money, now: Money },
}

/// Prices a document from one price list version. The only way amounts are computed.
pub fn price_document(
    list: &PriceList,
    request: &PricingRequest,
) -> Result<PricedDocument, PricingError> {
    list.ensure_valid_on(request.tax_point)
        .map_err(PricingError::List)?;
    if request.lines.is_empty() {
        return Err(PricingError::NoLines);
    }
    let treatment = tax_treatment(&request.seller, &request.customer);
    let lines = request
        .lines
        .iter()
        .enumerate()
        .map(|(i, spec)| price_line(list, request, &treatment, i + 1, spec))
        .collect::<Result<Vec<_>, _>>()?;
    let totals = totals(list.currency, &lines)?;
    Ok(PricedDocument {
        price_list: list.reference(),
        currency: list.currency,
        tax_point: request.tax_point,
        seller: request.seller.clone(),
        customer: request.customer.clone(),
        treatment,
        lines,
        totals,
    })
}

fn price_line(
    list: &PriceList,
    request: &PricingRequest,
    treatment: &TaxTreatment,
    line: usize,
    spec: &LineSpec,
) -> Result<PricedLine, PricingError> {
    let catalog = |source| PricingError::Catalog { line, source };
    let (product, term) = match spec {
        LineSpec::Catalogue { product, term, .. } | LineSpec::Prorated { product, term, .. } => {
            (*product, *term)
        }
    };
    let tax_percent = if treatment.is_reverse_charge() {
        Percent::ZERO
    } else {
        list.tax_rate(
            &request.customer.country,
            product.class(),
            request.tax_point,
        )
        .map_err(catalog)?
        .percent
    };
    let priced = match *spec {
        LineSpec::Catalogue {
            quantity, terms, ..
        } => {
            if quantity == 0 {
                return Err(PricingError::ZeroQuantity { line });
            }
            if terms == 0 {
                return Err(PricingError::ZeroTerms { line });
            }
            let unit_price = list.unit_price(product, term).map_err(catalog)?;
            let gross = unit_price
                .checked_mul(i64::from(quantity))?
                .checked_mul(i64::from(terms))?;
            let discount_percent = list.term_discount(term);
            let discount = gross.percent_of(discount_percent)?;
            PricedLine {
                product,
                term,
                quantity,
                terms,
                unit_price,
                proration: None,
                gross,
                discount_percent,
                discount,
                net: gross.checked_sub(discount)?,
                tax_percent,
            }
        }
        LineSpec::Prorated {
            quantity,
            unit_price,
            remaining_days,
            term_days,
            ..
        } => {
            if quantity == 0 {
                return Err(PricingError::ZeroQuantity { line });
            }
            if remaining_days == 0 || remaining_days > term_days {
                return Err(PricingError::BadProration {
                    line,
                    remaining_days,
                    term_days,
                });
            }
            if unit_price.currency() != list.currency {
                return Err(PricingError::WrongCurrency {
                    line,
                    expected: list.currency,
                    found: unit_price.currency(),
                });
            }
            let gross = prorate(unit_price, quantity, remaining_days, term_days)?;
            PricedLine {
                product,
                term,
                quantity,
                terms: 1,
                unit_price,
                proration: Some(Proration {
                    remaining_days,
                    term_days,
                }),
                gross,
                discount_percent: Percent::ZERO,
                discount: Money::zero(list.currency),
                net: gross,
                tax_percent,
            }
        }
    };
    Ok(priced)
}

/// Totals of priced lines: sums, then tax once per rate. Also used for credit notes.
pub fn totals(currency: Currency, lines: &[PricedLine]) -> Result<Totals, MoneyError> {
    let subtotal = Money::sum(currency, lines.iter().map(|l| l.gross))?;
    let discount = Money::sum(currency, lines.iter().map(|l| l.discount))?;
    let net = Money::sum(currency, lines.iter().map(|l| l.net))?;
    let mut percents: Vec<Percent> = lines.iter().map(|l| l.tax_percent).collect();
    percents.sort_unstable_by(|a, b| b.cmp(a));
    percents.dedup();
    let taxes = percents
        .into_iter()
        .map(|percent| {
            let base = Money::sum(
                currency,
                lines
                    .iter()
                    .filter(|l| l.tax_percent == percent)
                    .map(|l| l.net),
            )?;
            Ok(TaxLine {
                percent,
                base,
                tax: base.percent_of(percent)?,
            })
        })
        .collect::<Result<Vec<_>, MoneyError>>()?;
    let tax = Money::sum(currency, taxes.iter().map(|t| t.tax))?;
    Ok(Totals {
        subtotal,
        discount,
        net,
        taxes,
        tax,
        total: net.checked_add(tax)?,
    })
}

/// Refuses to book a charge when pricing again does not give exactly what was confirmed.
pub fn ensure_unchanged(
    confirmed: &PricedDocument,
    recomputed: &PricedDocument,
) -> Result<(), PricingError> {
    if confirmed == recomputed {
        Ok(())
    } else {
        Err(PricingError::Changed {
            confirmed: confirmed.totals.total,
            now: recomputed.totals.total,
        })
    }
}

/// Parses a typed quantity (a whole number from 1 up), adding any problem under `field`.
pub fn parse_quantity(errors: &mut FieldErrors, field: &'static str, input: &str) -> Option<u32> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        errors.push(field, "is required");
        return None;
    }
    match trimmed.parse::<u32>() {
        Ok(0) => errors.push(field, "must be at least 1"),
        Ok(n) if trimmed.chars().all(|c| c.is_ascii_digit()) => return Some(n),
        _ if trimmed.chars().all(|c| c.is_ascii_digit()) => {
            errors.push(field, format!("must be at most {}", u32::MAX));
        }
        _ => errors.push(field, format!("'{trimmed}' is not a whole number")),
    }
    None
}

/// A cart line as typed in a form: product and term picked, numbers as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDraft {
    pub product: Product,
    pub term: Term,
    pub quantity: String,
    pub terms: String,
}

impl LineDraft {
    /// The line to price, or every problem under its field ("Quantity", "Terms").
    pub fn to_spec(&self) -> Result<LineSpec, FieldErrors> {
        let mut errors = FieldErrors::default();
        let quantity = parse_quantity(&mut errors, "Quantity", &self.quantity);
        let terms = parse_quantity(&mut errors, "Terms", &self.terms);
        match (quantity, terms) {
            (Some(quantity), Some(terms)) => Ok(LineSpec::Catalogue {
                product: self.product,
                term: self.term,
                quantity,
                terms,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::fixtures::*;
    use crate::commerce::tax::{CountryCode, VatId, check_vat_id_offline};

    fn seller() -> Seller {
        Seller {
            country: cc("DE"),
            vat_id: Some(VatId::parse("DE136695976").unwrap()),
        }
    }

    fn consumer(country: &str) -> Customer {
        Customer {
            country: cc(country),
            vat_id: None,
            vat_validation: None,
        }
    }

    fn catalogue(product: Product, term: Term, quantity: u32, terms: u32) -> LineSpec {
        LineSpec::Catalogue {
            product,
            term,
            quantity,
            terms,
        }
    }

    fn request(customer: Customer, tax_point: NaiveDate, lines: Vec<LineSpec>) -> PricingRequest {
        PricingRequest {
            seller: seller(),
            customer,
            tax_point,
            lines,
        }
    }

    #[test]
    fn lines_and_totals_for_a_german_customer() {
        let doc = price_document(
            &price_list(),
            &request(
                consumer("DE"),
                d(2026, 3, 1),
                vec![
                    catalogue(Product::ProLicense, Term::Triennial, 3, 1),
                    catalogue(Product::CapacityTb, Term::Annual, 7, 2),
                    catalogue(Product::Support, Term::Monthly, 3, 1),
                ],
            ),
        )
        .unwrap();
        let nets: Vec<_> = doc
            .lines
            .iter()
            .map(|l| (l.gross, l.discount, l.net))
            .collect();
        assert_eq!(
            nets,
            [
                // 3 × €1,080 = €3,240, 10% off = €324
                (eur(324000), eur(32400), eur(291600)),
                // 7 TB × €50 × 2 years
                (eur(70000), eur(0), eur(70000)),
                // 3 × €2.95
                (eur(885), eur(0), eur(885)),
            ]
        );
        let t = &doc.totals;
        assert_eq!(t.subtotal, eur(394885));
        assert_eq!(t.discount, eur(32400));
        assert_eq!(t.net, eur(362485));
        // 19% of €3,616.00 = €687.04; 7% of €8.85 = €0.6195 → €0.62
        assert_eq!(
            t.taxes,
            [
                TaxLine {
                    percent: pct("19"),
                    base: eur(361600),
                    tax: eur(68704),
                },
                TaxLine {
                    percent: pct("7"),
                    base: eur(885),
                    tax: eur(62),
                },
            ]
        );
        assert_eq!(t.tax, eur(68766));
        assert_eq!(t.total, eur(431251));
        assert_eq!(
            doc.treatment.explanation(),
            "VAT charged: the customer is in the seller's country."
        );
        assert_eq!(doc.price_list, price_list().reference());
    }

    #[test]
    fn tax_is_rounded_once_per_rate_not_per_line() {
        // Three lines of €2.95 at 7%: per line 20.65 cents → 21 each = 63; per rate
        // 7% of 885 = 61.95 → 62.
        let doc = price_document(
            &price_list(),
            &request(
                consumer("DE"),
                d(2026, 3, 1),
                vec![
                    catalogue(Product::Support, Term::Monthly, 1, 1),
                    catalogue(Product::Support, Term::Monthly, 1, 1),
                    catalogue(Product::Support, Term::Monthly, 1, 1),
                ],
            ),
        )
        .unwrap();
        assert_eq!(doc.totals.taxes.len(), 1);
        assert_eq!(doc.totals.tax, eur(62));
        assert_eq!(doc.totals.total, eur(947));
    }

    #[test]
    fn the_rate_follows_the_tax_point_when_it_changes() {
        let lines = vec![catalogue(Product::ProLicense, Term::Annual, 1, 1)];
        let cases = [
            (d(2020, 6, 30), "19", 2280),
            (d(2020, 7, 1), "16", 1920),
            (d(2020, 12, 31), "16", 1920),
            (d(2021, 1, 1), "19", 2280),
        ];
        for (tax_point, percent, tax) in cases {
            let doc = price_document(
                &price_list(),
                &request(consumer("DE"), tax_point, lines.clone()),
            )
            .unwrap();
            assert_eq!(doc.lines[0].tax_percent, pct(percent), "{tax_point}");
            assert_eq!(doc.totals.tax, eur(tax), "{tax_point}");
        }
    }

    #[test]
    fn reverse_charge_only_with_a_valid_stored_validation() {
        let at_id = VatId::parse("ATU13585627").unwrap();
        let lines = vec![catalogue(Product::ProLicense, Term::Annual, 1, 1)];
        let mut customer = Customer {
            country: cc("AT"),
            vat_id: Some(at_id.clone()),
            vat_validation: None,
        };
        let unvalidated = price_document(
            &price_list(),
            &request(customer.clone(), d(2026, 3, 1), lines.clone()),
        )
        .unwrap();
        assert_eq!(unvalidated.totals.tax, eur(2400));
        assert!(matches!(
            unvalidated.treatment,
            TaxTreatment::Charged { reason } if reason.validation_would_help()
        ));
        customer.vat_validation = Some(check_vat_id_offline(&at_id, 1_772_323_200));
        let reverse =
            price_document(&price_list(), &request(customer, d(2026, 3, 1), lines)).unwrap();
        assert!(reverse.treatment.is_reverse_charge());
        assert_eq!(reverse.totals.tax, eur(0));
        assert_eq!(reverse.totals.total, eur(12000));
        assert_eq!(reverse.totals.taxes[0].percent, Percent::ZERO);
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let list = price_list();
        let price = |customer, tax_point, lines| {
            price_document(&list, &request(customer, tax_point, lines))
                .unwrap_err()
                .to_string()
        };
        let pro = |q, t| catalogue(Product::ProLicense, Term::Annual, q, t);
        assert_eq!(
            price(consumer("DE"), d(2026, 1, 1), vec![]),
            "add at least one line"
        );
        assert_eq!(
            price(consumer("DE"), d(2026, 1, 1), vec![pro(1, 1), pro(0, 1)]),
            "line 2: quantity must be at least 1"
        );
        assert_eq!(
            price(consumer("DE"), d(2026, 1, 1), vec![pro(1, 0)]),
            "line 1: the number of terms must be at least 1"
        );
        assert_eq!(
            price(consumer("CH"), d(2026, 1, 1), vec![pro(1, 1)]),
            "line 1: the price list has no software tax rate for CH on 2026-01-01"
        );
        assert_eq!(
            price(
                consumer("DE"),
                d(2026, 1, 1),
                vec![catalogue(Product::CapacityTb, Term::Quarterly, 1, 1)]
            ),
            "line 1: price list version 3 has no Quarterly price for Capacity"
        );
        assert_eq!(
            price(consumer("DE"), d(2019, 12, 31), vec![pro(1, 1)]),
            "price list version 3 applies from 2020-01-01, not yet on 2019-12-31"
        );
        assert_eq!(
            price(
                consumer("DE"),
                d(2026, 1, 1),
                vec![LineSpec::Prorated {
                    product: Product::NamedSeat,
                    term: Term::Annual,
                    quantity: 1,
                    unit_price: Money::from_minor(1, Currency::JPY),
                    remaining_days: 10,
                    term_days: 365,
                }]
            ),
            "line 1: the unit price is in JPY, but the price list is in EUR"
        );
        assert!(matches!(
            price_document(
                &list,
                &request(
                    consumer("DE"),
                    d(2026, 1, 1),
                    vec![pro(u32::MAX, u32::MAX), pro(u32::MAX, u32::MAX)]
                )
            ),
            Err(PricingError::Money(MoneyError::Overflow { .. }))
        ));
    }

    #[test]
    fn the_charge_must_match_the_confirmed_preview() {
        let req = request(
            consumer("DE"),
            d(2026, 3, 1),
            vec![catalogue(Product::ProLicense, Term::Annual, 2, 1)],
        );
        let preview = price_document(&price_list(), &req).unwrap();
        let charge = price_document(&price_list(), &req).unwrap();
        assert_eq!(ensure_unchanged(&preview, &charge), Ok(()));
        let mut dearer = price_list();
        dearer.prices[1].price = eur(13000);
        let charge = price_document(&dearer, &req).unwrap();
        assert_eq!(
            ensure_unchanged(&preview, &charge).unwrap_err().to_string(),
            "the price changed since it was confirmed (€285.60 then, €309.40 now): confirm again"
        );
    }

    #[test]
    fn priced_documents_round_trip_through_json() {
        let doc = price_document(
            &price_list(),
            &request(
                consumer("US"),
                d(2026, 3, 1),
                vec![catalogue(Product::ProLicense, Term::Monthly, 1, 1)],
            ),
        )
        .unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<PricedDocument>(&json).unwrap(), doc);
        assert!(
            json.contains(r#""treatment":{"treatment":"charged","reason":"outside_eu"}"#),
            "{json}"
        );
        let _ = CountryCode::parse("US").unwrap();
    }

    #[test]
    fn line_drafts_validate_as_typed() {
        let draft = LineDraft {
            product: Product::ProLicense,
            term: Term::Annual,
            quantity: "3".into(),
            terms: "2".into(),
        };
        assert_eq!(
            draft.to_spec(),
            Ok(catalogue(Product::ProLicense, Term::Annual, 3, 2))
        );
        let bad = LineDraft {
            quantity: "0".into(),
            terms: "x".into(),
            ..draft
        };
        assert_eq!(
            bad.to_spec().unwrap_err().to_string(),
            "Quantity: must be at least 1; Terms: 'x' is not a whole number"
        );
    }

    #[test]
    fn typed_quantities() {
        let cases = [
            ("3", Some(3), None),
            (" 12 ", Some(12), None),
            ("", None, Some("is required")),
            ("0", None, Some("must be at least 1")),
            ("-1", None, Some("'-1' is not a whole number")),
            ("+1", None, Some("'+1' is not a whole number")),
            ("1.5", None, Some("'1.5' is not a whole number")),
            ("99999999999", None, Some("must be at most 4294967295")),
        ];
        for (input, parsed, message) in cases {
            let mut errors = FieldErrors::default();
            assert_eq!(
                parse_quantity(&mut errors, "Quantity", input),
                parsed,
                "{input}"
            );
            assert_eq!(errors.get("Quantity"), message, "{input}");
        }
    }
}
