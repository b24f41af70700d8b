//! Quotes: a priced offer that freezes when it is sent.
//!
//! A draft quote holds what is being offered and can be edited freely. Opening it prices it
//! (tax point: the day it is opened) and freezes the result — prices, tax, currency, terms and
//! the validity date — as a [`PricedDocument`] snapshot that never changes afterwards. To
//! change an open (or expired) quote, revise it: that makes a new draft version under the same
//! number and cancels the old version. An open quote past its `valid_until` day is expired,
//! whether or not the store has flipped its status yet ([`Quote::status_on`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

use super::catalog::PriceList;
use super::numbering::{DocKind, DocNumber};
use super::pricing::{PricedDocument, PricingError, PricingRequest, price_document};

/// Where a quote stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Draft,
    Open,
    Accepted,
    Expired,
    Cancelled,
}

impl QuoteStatus {
    pub const fn label(self) -> &'static str {
        match self {
            QuoteStatus::Draft => "Draft",
            QuoteStatus::Open => "Open",
            QuoteStatus::Accepted => "Accepted",
            QuoteStatus::Expired => "Expired",
            QuoteStatus::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for QuoteStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A step a quote cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("{number} is not a quote number")]
    NotAQuoteNumber { number: DocNumber },
    #[error("the quote is {status} and frozen; revise it to make a new version", status = status.label().to_lowercase())]
    Frozen { status: QuoteStatus },
    #[error("only a draft quote can be opened (this one is {status})", status = status.label().to_lowercase())]
    NotDraft { status: QuoteStatus },
    #[error("the quote would expire ({valid_until}) before it is opened ({today})")]
    ValidityInPast {
        valid_until: NaiveDate,
        today: NaiveDate,
    },
    #[error("the quote expired on {valid_until}")]
    Expired { valid_until: NaiveDate },
    #[error("only an open quote can be accepted (this one is {status})", status = status.label().to_lowercase())]
    NotOpen { status: QuoteStatus },
    #[error("the quote is {status} and cannot be cancelled", status = status.label().to_lowercase())]
    CannotCancel { status: QuoteStatus },
    #[error("the quote is {status} and cannot be revised", status = status.label().to_lowercase())]
    CannotRevise { status: QuoteStatus },
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

/// One version of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    id: Uuid,
    number: DocNumber,
    version: u32,
    status: QuoteStatus,
    request: PricingRequest,
    opened_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    snapshot: Option<PricedDocument>,
    superseded_by: Option<u32>,
}

impl Quote {
    /// A new draft, version 1.
    pub fn new_draft(
        id: Uuid,
        number: DocNumber,
        request: PricingRequest,
    ) -> Result<Quote, QuoteError> {
        if number.kind != DocKind::Quote {
            return Err(QuoteError::NotAQuoteNumber { number });
        }
        Ok(Quote {
            id,
            number,
            version: 1,
            status: QuoteStatus::Draft,
            request,
            opened_on: None,
            valid_until: None,
            snapshot: None,
            superseded_by: None,
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn number(&self) -> DocNumber {
        self.number
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The stored status (see [`Quote::status_on`] for the status on a given day).
    pub fn status(&self) -> QuoteStatus {
        self.status
    }
    /// What is offered, as edited.
    pub fn request(&self) -> &PricingRequest {
        &self.request
    }
    pub fn opened_on(&self) -> Option<NaiveDate> {
        self.opened_on
    }
    pub fn valid_until(&self) -> Option<NaiveDate> {
        self.valid_until
    }
    /// The frozen prices, once opened.
    pub fn snapshot(&self) -> Option<&PricedDocument> {
        self.snapshot.as_ref()
    }
    /// The version that replaced this one, if revised.
    pub fn superseded_by(&self) -> Option<u32> {
        self.superseded_by
    }

    /// The status on `today`: an open quote past its validity reads as expired.
    pub fn status_on(&self, today: NaiveDate) -> QuoteStatus {
        match (self.status, self.valid_until) {
            (QuoteStatus::Open, Some(until)) if today > until => QuoteStatus::Expired,
            (status, _) => status,
        }
    }

    /// Replaces what is offered; drafts only.
    pub fn edit(&mut self, request: PricingRequest) -> Result<(), QuoteError> {
        if self.status != QuoteStatus::Draft {
            return Err(QuoteError::Frozen {
                status: self.status,
            });
        }
        self.request = request;
        Ok(())
    }

    /// Prices the draft from `list` as of `today`, freezes the result and opens the quote until
    /// `valid_until` (included).
    pub fn open(
        &mut self,
        list: &PriceList,
        today: NaiveDate,
        valid_until: NaiveDate,
    ) -> Result<&PricedDocument, QuoteError> {
        if self.status != QuoteStatus::Draft {
            return Err(QuoteError::NotDraft {
                status: self.status,
            });
        }
        if valid_until < today {
            return Err(QuoteError::ValidityInPast { valid_until, today });
        }
        let mut request = self.request.clone();
        request.tax_point = today;
        let snapshot = price_document(list, &request)?;
        self.request = request;
        self.status = QuoteStatus::Open;
        self.opened_on = Some(today);
        self.valid_until = Some(valid_until);
        Ok(self.snapshot.insert(snapshot))
    }

    /// Accepts the open quote on `today`; gives the frozen document to order and invoice from.
    pub fn accept(&mut self, today: NaiveDate) -> Result<&PricedDocument, QuoteError> {
        match (
            self.status_on(today),
            self.valid_until,
            self.snapshot.as_ref(),
        ) {
            (QuoteStatus::Open, Some(_), Some(_)) => {}
            (QuoteStatus::Expired, Some(valid_until), _) => {
                return Err(QuoteError::Expired { valid_until });
            }
            (status, _, _) => return Err(QuoteError::NotOpen { status }),
        }
        self.status = QuoteStatus::Accepted;
        self.snapshot.as_ref().ok_or(QuoteError::NotOpen {
            status: self.status,
        })
    }

    /// Records expiry when it is due; true when the status changed.
    pub fn expire_if_due(&mut self, today: NaiveDate) -> bool {
        let due = self.status == QuoteStatus::Open && self.status_on(today) == QuoteStatus::Expired;
        if due {
            self.status = QuoteStatus::Expired;
        }
        due
    }

    /// Cancels a draft or open quote.
    pub fn cancel(&mut self) -> Result<(), QuoteError> {
        match self.status {
            QuoteStatus::Draft | QuoteStatus::Open => {
                self.status = QuoteStatus::Cancelled;
                Ok(())
            }
            status => Err(QuoteError::CannotCancel { status }),
        }
    }

    /// Makes the next version, a draft with the same number and offer, from an open or expired
    /// quote; an open one is cancelled as superseded (an expired one stays expired).
    pub fn revise(&mut self, new_id: Uuid, today: NaiveDate) -> Result<Quote, QuoteError> {
        let status = self.status_on(today);
        if !matches!(status, QuoteStatus::Open | QuoteStatus::Expired) {
            return Err(QuoteError::CannotRevise { status });
        }
        let next = Quote {
            id: new_id,
            number: self.number,
            version: self.version + 1,
            status: QuoteStatus::Draft,
            request: self.request.clone(),
            opened_on: None,
            valid_until: None,
            snapshot: None,
            superseded_by: None,
        };
        self.status = if status == QuoteStatus::Open {
            QuoteStatus::Cancelled
        } else {
            status
        };
        self.superseded_by = Some(next.version);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::Product;
    use crate::commerce::catalog::fixtures::*;
    use crate::commerce::pricing::LineSpec;
    use crate::commerce::tax::{Customer, Seller};
    use crate::commerce::terms::Term;

    fn draft() -> Quote {
        let request = PricingRequest {
            seller: Seller {
                country: cc("DE"),
                vat_id: None,
            },
            customer: Customer {
                country: cc("DE"),
                vat_id: None,
                vat_validation: None,
            },
            tax_point: d(2026, 1, 1),
            lines: vec![LineSpec::Catalogue {
                product: Product::ProLicense,
                term: Term::Annual,
                quantity: 2,
                terms: 1,
            }],
        };
        Quote::new_draft(Uuid::nil(), "Q-2026-0001".parse().unwrap(), request).unwrap()
    }

    #[test]
    fn open_freezes_and_accept_hands_over_the_snapshot() {
        let mut quote = draft();
        let frozen = quote
            .open(&price_list(), d(2026, 3, 2), d(2026, 3, 31))
            .unwrap()
            .clone();
        assert_eq!(frozen.tax_point, d(2026, 3, 2));
        assert_eq!(frozen.totals.total, eur(28560));
        // Frozen: editing is refused; a later price change does not touch the snapshot.
        let request = quote.request().clone();
        assert_eq!(
            quote.edit(request).unwrap_err().to_string(),
            "the quote is open and frozen; revise it to make a new version"
        );
        assert_eq!(quote.status_on(d(2026, 3, 31)), QuoteStatus::Open);
        assert_eq!(quote.accept(d(2026, 3, 31)).unwrap(), &frozen);
        assert_eq!(quote.status(), QuoteStatus::Accepted);
        assert!(quote.cancel().is_err());
        assert!(quote.revise(Uuid::max(), d(2026, 4, 1)).is_err());
    }

    #[test]
    fn expiry_is_by_date() {
        let mut quote = draft();
        quote
            .open(&price_list(), d(2026, 3, 2), d(2026, 3, 31))
            .unwrap();
        assert_eq!(quote.status_on(d(2026, 4, 1)), QuoteStatus::Expired);
        assert_eq!(
            quote.clone().accept(d(2026, 4, 1)).unwrap_err().to_string(),
            "the quote expired on 2026-03-31"
        );
        assert!(!quote.expire_if_due(d(2026, 3, 31)));
        assert!(quote.expire_if_due(d(2026, 4, 1)));
        assert_eq!(quote.status(), QuoteStatus::Expired);
        assert!(quote.cancel().is_err());
    }

    #[test]
    fn revising_makes_a_new_version() {
        let mut quote = draft();
        quote
            .open(&price_list(), d(2026, 3, 2), d(2026, 3, 31))
            .unwrap();
        let mut next = quote.revise(Uuid::max(), d(2026, 3, 10)).unwrap();
        assert_eq!(quote.status(), QuoteStatus::Cancelled);
        assert_eq!(quote.superseded_by(), Some(2));
        assert!(
            quote.snapshot().is_some(),
            "the old version keeps its snapshot"
        );
        assert_eq!((next.number(), next.version()), (quote.number(), 2));
        assert_eq!(next.status(), QuoteStatus::Draft);
        assert!(next.snapshot().is_none());
        let mut request = next.request().clone();
        request.lines.push(request.lines[0].clone());
        next.edit(request).unwrap();
        assert_eq!(
            next.open(&price_list(), d(2026, 3, 10), d(2026, 4, 10))
                .unwrap()
                .totals
                .total,
            eur(57120)
        );
        // An expired quote can be revised too, and stays expired.
        let mut old = draft();
        old.open(&price_list(), d(2026, 3, 2), d(2026, 3, 31))
            .unwrap();
        let again = old.revise(Uuid::max(), d(2026, 5, 1)).unwrap();
        assert_eq!(old.status_on(d(2026, 5, 1)), QuoteStatus::Expired);
        assert_eq!(again.version(), 2);
        assert!(draft().revise(Uuid::max(), d(2026, 5, 1)).is_err());
    }

    #[test]
    fn refusals() {
        let mut quote = draft();
        assert_eq!(
            quote
                .open(&price_list(), d(2026, 3, 2), d(2026, 3, 1))
                .unwrap_err(),
            QuoteError::ValidityInPast {
                valid_until: d(2026, 3, 1),
                today: d(2026, 3, 2)
            }
        );
        assert_eq!(
            quote.clone().accept(d(2026, 3, 2)).unwrap_err().to_string(),
            "only an open quote can be accepted (this one is draft)"
        );
        quote
            .open(&price_list(), d(2026, 3, 2), d(2026, 3, 2))
            .unwrap();
        assert!(matches!(
            quote.open(&price_list(), d(2026, 3, 2), d(2026, 3, 2)),
            Err(QuoteError::NotDraft { .. })
        ));
        quote.cancel().unwrap();
        assert_eq!(quote.status(), QuoteStatus::Cancelled);
        assert!(matches!(
            Quote::new_draft(
                Uuid::nil(),
                "INV-2026-0001".parse().unwrap(),
                draft().request().clone()
            ),
            Err(QuoteError::NotAQuoteNumber { .. })
        ));
    }

    #[test]
    fn quotes_round_trip_through_json() {
        let mut quote = draft();
        quote
            .open(&price_list(), d(2026, 3, 2), d(2026, 3, 31))
            .unwrap();
        let json = serde_json::to_string(&quote).unwrap();
        assert_eq!(serde_json::from_str::<Quote>(&json).unwrap(), quote);
    }
}
