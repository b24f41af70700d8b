//! Named seats changed mid-term, with daily proration.
//!
//! A change takes effect on a date (today or later, never in the past). It is priced for the
//! whole days left in the running term, the day of the change counted, over the real length
//! of that term: `unit price × Δseats × remaining_days / days_in_term`, rounded once, half-up.
//! Adding seats is a charge, invoiced at once; removing seats gives the same prorated amount
//! back as wallet credit, never as a refund to a card.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::Product;
use super::pricing::LineSpec;
use super::terms::{Term, TermError, TermPeriod};
use crate::domain::money::{Money, MoneyError};

/// `unit_price × quantity × remaining_days / term_days`, rounded once (the proration rule).
pub fn prorate(
    unit_price: Money,
    quantity: u32,
    remaining_days: u32,
    term_days: u32,
) -> Result<Money, MoneyError> {
    let numerator = Decimal::from(quantity)
        .checked_mul(Decimal::from(remaining_days))
        .ok_or(MoneyError::Overflow {
            operation: "multiplication",
        })?;
    unit_price.mul_ratio(numerator, Decimal::from(term_days))
}

/// A requested change of the number of named seats on a running subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatChange {
    pub term: Term,
    /// The running term the change falls in.
    pub period: TermPeriod,
    /// The subscription's agreed price of one seat for one term.
    pub unit_price: Money,
    pub current_seats: u32,
    pub new_seats: u32,
    /// The first day the new count applies (counted in the proration).
    pub effective: NaiveDate,
}

/// What a seat change costs or gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeatAdjustment {
    /// More seats: invoice `amount` (before tax) now.
    Charge {
        added: u32,
        remaining_days: u32,
        term_days: u32,
        amount: Money,
    },
    /// Fewer seats: put `amount` in the wallet as credit.
    WalletCredit {
        removed: u32,
        remaining_days: u32,
        term_days: u32,
        amount: Money,
    },
}

/// A seat change that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    #[error("the change date {effective} is in the past (today is {today})")]
    EffectiveInPast {
        effective: NaiveDate,
        today: NaiveDate,
    },
    #[error("the new number of seats is the current one ({seats})")]
    NoChange { seats: u32 },
    #[error(transparent)]
    Term(#[from] TermError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl SeatChange {
    /// Prices the change; `today` is passed in (the rules never read the clock).
    pub fn adjustment(&self, today: NaiveDate) -> Result<SeatAdjustment, SeatError> {
        if self.effective < today {
            return Err(SeatError::EffectiveInPast {
                effective: self.effective,
                today,
            });
        }
        if self.new_seats == self.current_seats {
            return Err(SeatError::NoChange {
                seats: self.new_seats,
            });
        }
        let remaining_days = self.period.remaining_days_from(self.effective)?;
        let term_days = self.period.days();
        let delta = self.new_seats.abs_diff(self.current_seats);
        let amount = prorate(self.unit_price, delta, remaining_days, term_days)?;
        Ok(if self.new_seats > self.current_seats {
            SeatAdjustment::Charge {
                added: delta,
                remaining_days,
                term_days,
                amount,
            }
        } else {
            SeatAdjustment::WalletCredit {
                removed: delta,
                remaining_days,
                term_days,
                amount,
            }
        })
    }

    /// The invoice line for an increase (priced by `price_document` to the same amount, with
    /// tax); None for a decrease.
    pub fn charge_line(&self, today: NaiveDate) -> Result<Option<LineSpec>, SeatError> {
        Ok(match self.adjustment(today)? {
            SeatAdjustment::Charge {
                added,
                remaining_days,
                term_days,
                ..
            } => Some(LineSpec::Prorated {
                product: Product::NamedSeat,
                term: self.term,
                quantity: added,
                unit_price: self.unit_price,
                remaining_days,
                term_days,
            }),
            SeatAdjustment::WalletCredit { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::fixtures::*;
    use crate::commerce::pricing::{PricingRequest, price_document};
    use crate::commerce::tax::{Customer, Seller};

    fn change(current: u32, new: u32, effective: NaiveDate) -> SeatChange {
        SeatChange {
            term: Term::Annual,
            period: Term::Annual.period(d(2025, 1, 1)).unwrap(),
            unit_price: eur(12000),
            current_seats: current,
            new_seats: new,
            effective,
        }
    }

    #[test]
    fn golden_three_seats_added_on_20_july() {
        // 3 × €120.00 × 165 / 365 = 36000 × 165 / 365 = 16273.97 cents → €162.74
        let adjustment = change(5, 8, d(2025, 7, 20))
            .adjustment(d(2025, 7, 20))
            .unwrap();
        assert_eq!(
            adjustment,
            SeatAdjustment::Charge {
                added: 3,
                remaining_days: 165,
                term_days: 365,
                amount: eur(16274),
            }
        );
        assert_eq!(eur(16274).to_string(), "€162.74");
    }

    #[test]
    fn the_invoice_line_books_the_previewed_amount() {
        let seat_change = change(5, 8, d(2025, 7, 20));
        let line = seat_change.charge_line(d(2025, 7, 1)).unwrap().unwrap();
        let doc = price_document(
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
                tax_point: d(2025, 7, 20),
                lines: vec![line],
            },
        )
        .unwrap();
        assert_eq!(doc.lines[0].net, eur(16274));
        // 19% of €162.74 = €30.9206 → €30.92
        assert_eq!(doc.totals.tax, eur(3092));
        assert_eq!(doc.totals.total, eur(19366));
    }

    #[test]
    fn proration_table() {
        let cases: &[(u32, u32, NaiveDate, SeatAdjustment)] = &[
            // the whole term: no rounding at all
            (
                1,
                2,
                d(2025, 1, 1),
                SeatAdjustment::Charge {
                    added: 1,
                    remaining_days: 365,
                    term_days: 365,
                    amount: eur(12000),
                },
            ),
            // the last day: 12000 / 365 = 32.88 → 33 cents
            (
                1,
                2,
                d(2025, 12, 31),
                SeatAdjustment::Charge {
                    added: 1,
                    remaining_days: 1,
                    term_days: 365,
                    amount: eur(33),
                },
            ),
            // a decrease is the same amount as wallet credit
            (
                8,
                5,
                d(2025, 7, 20),
                SeatAdjustment::WalletCredit {
                    removed: 3,
                    remaining_days: 165,
                    term_days: 365,
                    amount: eur(16274),
                },
            ),
        ];
        for (current, new, effective, expected) in cases {
            let got = change(*current, *new, *effective)
                .adjustment(d(2025, 1, 1))
                .unwrap();
            assert_eq!(got, *expected, "{current}→{new} on {effective}");
        }
        assert_eq!(
            change(8, 5, d(2025, 7, 20)).charge_line(d(2025, 1, 1)),
            Ok(None)
        );
    }

    #[test]
    fn a_leap_year_term_divides_by_366() {
        let mut leap = change(0, 1, d(2028, 7, 20));
        leap.period = Term::Annual.period(d(2028, 1, 1)).unwrap();
        // 12000 × 165 / 366 = 5409.84 → 5410
        assert!(matches!(
            leap.adjustment(d(2028, 7, 20)),
            Ok(SeatAdjustment::Charge { remaining_days: 165, term_days: 366, amount, .. }) if amount == eur(5410)
        ));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            change(5, 8, d(2025, 7, 19))
                .adjustment(d(2025, 7, 20))
                .unwrap_err()
                .to_string(),
            "the change date 2025-07-19 is in the past (today is 2025-07-20)"
        );
        assert_eq!(
            change(5, 5, d(2025, 7, 20)).adjustment(d(2025, 7, 20)),
            Err(SeatError::NoChange { seats: 5 })
        );
        assert!(matches!(
            change(5, 6, d(2026, 1, 1)).adjustment(d(2025, 7, 20)),
            Err(SeatError::Term(TermError::OutsidePeriod { .. }))
        ));
        let mut huge = change(0, u32::MAX, d(2025, 7, 20));
        huge.unit_price = eur(i64::MAX);
        assert!(matches!(
            huge.adjustment(d(2025, 7, 20)),
            Err(SeatError::Money(MoneyError::Overflow { .. }))
        ));
    }
}
