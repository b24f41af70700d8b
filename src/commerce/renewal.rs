//! Renewing a subscription for a chosen number of terms.
//!
//! A renewal starts where the current period ends and runs for `terms` consecutive terms
//! counted from that date. Its cost is the price list's price for each renewed item over
//! those terms, less the list's term discount, priced by the same function as every other
//! document (so the renewal preview is the renewal invoice).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalog::{PriceList, Product};
use super::pricing::{LineSpec, PricedDocument, PricingError, PricingRequest, price_document};
use super::tax::{Customer, Seller};
use super::terms::{Term, TermError, TermPeriod};

/// One thing to renew and how many units of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalItem {
    pub product: Product,
    pub quantity: u32,
}

/// A renewal that cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenewalError {
    #[error("choose at least one item to renew")]
    NothingToRenew,
    #[error(transparent)]
    Term(#[from] TermError),
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

/// The new period and its priced document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalQuote {
    pub period: TermPeriod,
    pub document: PricedDocument,
}

/// The period a renewal of `terms` terms covers, starting at `current_end`.
pub fn renewal_period(
    term: Term,
    terms: u32,
    current_end: NaiveDate,
) -> Result<TermPeriod, TermError> {
    TermPeriod::new(current_end, term.end_after(current_end, terms)?)
}

/// The lines for renewing `items` for `terms` terms of `term`.
pub fn renewal_lines(items: &[RenewalItem], term: Term, terms: u32) -> Vec<LineSpec> {
    items
        .iter()
        .map(|item| LineSpec::Catalogue {
            product: item.product,
            term,
            quantity: item.quantity,
            terms,
        })
        .collect()
}

/// What to renew: the parties, the items, the term and how many terms, where the current
/// period ends, and the tax point (the renewal invoice's date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRequest {
    pub seller: Seller,
    pub customer: Customer,
    pub items: Vec<RenewalItem>,
    pub term: Term,
    pub terms: u32,
    pub current_end: NaiveDate,
    pub tax_point: NaiveDate,
}

/// Prices a renewal: the new period and its document.
pub fn renewal_cost(
    list: &PriceList,
    request: &RenewalRequest,
) -> Result<RenewalQuote, RenewalError> {
    if request.items.is_empty() {
        return Err(RenewalError::NothingToRenew);
    }
    let period = renewal_period(request.term, request.terms, request.current_end)?;
    let document = price_document(
        list,
        &PricingRequest {
            seller: request.seller.clone(),
            customer: request.customer.clone(),
            tax_point: request.tax_point,
            lines: renewal_lines(&request.items, request.term, request.terms),
        },
    )?;
    Ok(RenewalQuote { period, document })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::fixtures::*;

    fn request(items: &[RenewalItem], term: Term, terms: u32) -> RenewalRequest {
        RenewalRequest {
            seller: Seller {
                country: cc("DE"),
                vat_id: None,
            },
            customer: Customer {
                country: cc("US"),
                vat_id: None,
                vat_validation: None,
            },
            items: items.to_vec(),
            term,
            terms,
            current_end: d(2026, 1, 1),
            tax_point: d(2026, 1, 1),
        }
    }

    #[test]
    fn renewing_for_several_terms() {
        let items = [
            RenewalItem {
                product: Product::ProLicense,
                quantity: 10,
            },
            RenewalItem {
                product: Product::Support,
                quantity: 10,
            },
        ];
        let cases = [
            // (term, terms, period end, total): 10 × (€120 + €30) a year, US 0% tax
            (Term::Annual, 1, d(2027, 1, 1), 150000),
            (Term::Annual, 3, d(2029, 1, 1), 450000),
            // 10 × (€12.00 + €2.95) × 2 months
            (Term::Monthly, 2, d(2026, 3, 1), 29900),
        ];
        for (term, terms, end, total) in cases {
            let renewal = renewal_cost(&price_list(), &request(&items, term, terms)).unwrap();
            assert_eq!(renewal.period.start, d(2026, 1, 1));
            assert_eq!(renewal.period.end, end, "{term:?} × {terms}");
            assert_eq!(
                renewal.document.totals.total,
                eur(total),
                "{term:?} × {terms}"
            );
        }
        // 10 × €1,080 less the 10% three-year discount; 1096 days (29 Feb 2028 inside)
        let triennial =
            renewal_cost(&price_list(), &request(&items[..1], Term::Triennial, 1)).unwrap();
        assert_eq!(triennial.period.days(), 1096);
        assert_eq!(triennial.document.totals.total, eur(972000));
        // support has no three-year price
        assert!(matches!(
            renewal_cost(&price_list(), &request(&items, Term::Triennial, 1)),
            Err(RenewalError::Pricing(PricingError::Catalog { line: 2, .. }))
        ));
        assert_eq!(
            renewal_cost(&price_list(), &request(&[], Term::Annual, 1)),
            Err(RenewalError::NothingToRenew)
        );
        assert!(matches!(
            renewal_cost(&price_list(), &request(&items, Term::Annual, 0)),
            Err(RenewalError::Term(TermError::ZeroTerms))
        ));
    }
}
