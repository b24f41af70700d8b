//! What is sold and at what price: products, versioned price lists, term discounts.
//!
//! A price list is immutable once used: changing a price makes a new version with its own
//! `valid_from`, and documents keep a [`PriceListRef`] to the version they were priced from.
//! One list holds one currency; every unit price in it is in that currency. Unit prices are per
//! unit per term: a Pro license per license, capacity per TB, support per Pro license it covers
//! (so support for 10 licenses is quantity 10), a named seat per seat.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

use super::tax::{self, CountryCode, TaxError, TaxRate};
use super::terms::Term;
use crate::domain::money::{Currency, Money, Percent};

/// Something on a price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// A Pro license, priced per license.
    ProLicense,
    /// Storage capacity, priced per TB.
    CapacityTb,
    /// The support add-on, priced per Pro license it covers.
    Support,
    /// A named seat (a person), priced per seat; changed mid-term with daily proration.
    NamedSeat,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Product::ProLicense,
        Product::CapacityTb,
        Product::Support,
        Product::NamedSeat,
    ];

    /// The name people see.
    pub const fn label(self) -> &'static str {
        match self {
            Product::ProLicense => "Pro license",
            Product::CapacityTb => "Capacity",
            Product::Support => "Support",
            Product::NamedSeat => "Named seat",
        }
    }

    /// What one unit of quantity is.
    pub const fn unit(self) -> &'static str {
        match self {
            Product::ProLicense => "license",
            Product::CapacityTb => "TB",
            Product::Support => "license covered",
            Product::NamedSeat => "seat",
        }
    }

    /// The tax class its rate is looked up under.
    pub const fn class(self) -> ProductClass {
        match self {
            Product::ProLicense | Product::CapacityTb | Product::NamedSeat => {
                ProductClass::Software
            }
            Product::Support => ProductClass::Support,
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The tax class of a product: rate tables have one row per country and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductClass {
    /// Software and capacity supplied electronically.
    Software,
    /// Support services.
    Support,
}

impl fmt::Display for ProductClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProductClass::Software => "software",
            ProductClass::Support => "support",
        })
    }
}

/// Which price list version a document was priced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PriceListRef {
    pub id: Uuid,
    pub version: u32,
}

/// The price of one unit of `product` for one `term`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitPrice {
    pub product: Product,
    pub term: Term,
    pub price: Money,
}

/// A discount for buying a given term (e.g. 10% off three years), applied to each line's
/// `unit price × quantity × terms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermDiscount {
    pub term: Term,
    pub percent: Percent,
}

/// One version of a price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    pub id: Uuid,
    pub version: u32,
    pub name: String,
    /// The first day this version applies.
    pub valid_from: NaiveDate,
    pub currency: Currency,
    pub prices: Vec<UnitPrice>,
    pub term_discounts: Vec<TermDiscount>,
    pub tax_rates: Vec<TaxRate>,
}

/// A price list that is inconsistent, or that lacks what a document needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("price list version {version} has no {term} price for {product}", term = term.label())]
    NoPrice {
        version: u32,
        product: Product,
        term: Term,
    },
    #[error("the {term} price for {product} is in {found}, but the price list is in {expected}", term = term.label())]
    WrongCurrency {
        product: Product,
        term: Term,
        expected: Currency,
        found: Currency,
    },
    #[error("the {term} price for {product} is negative", term = term.label())]
    NegativePrice { product: Product, term: Term },
    #[error("the {term} price for {product} is listed twice", term = term.label())]
    DuplicatePrice { product: Product, term: Term },
    #[error("the {term} discount is listed twice", term = term.label())]
    DuplicateDiscount { term: Term },
    #[error("price list version {version} applies from {valid_from}, not yet on {date}")]
    NotYetValid {
        version: u32,
        valid_from: NaiveDate,
        date: NaiveDate,
    },
    #[error("price list version must be at least 1")]
    ZeroVersion,
    #[error(transparent)]
    Tax(#[from] TaxError),
}

impl PriceList {
    pub fn reference(&self) -> PriceListRef {
        PriceListRef {
            id: self.id,
            version: self.version,
        }
    }

    /// The price of one unit of `product` for one `term`.
    pub fn unit_price(&self, product: Product, term: Term) -> Result<Money, CatalogError> {
        self.prices
            .iter()
            .find(|p| p.product == product && p.term == term)
            .map(|p| p.price)
            .ok_or(CatalogError::NoPrice {
                version: self.version,
                product,
                term,
            })
    }

    /// The discount for `term` (0% when the list has none).
    pub fn term_discount(&self, term: Term) -> Percent {
        self.term_discounts
            .iter()
            .find(|d| d.term == term)
            .map_or(Percent::ZERO, |d| d.percent)
    }

    /// The tax rate for `class` sales to `country` on the tax point.
    pub fn tax_rate(
        &self,
        country: &CountryCode,
        class: ProductClass,
        tax_point: NaiveDate,
    ) -> Result<&TaxRate, CatalogError> {
        Ok(tax::select_rate(
            &self.tax_rates,
            country,
            class,
            tax_point,
        )?)
    }

    /// Checks the list is consistent before it is saved: every price in the list's currency and
    /// not negative, no price or discount twice, a rate table without overlaps.
    pub fn check(&self) -> Result<(), CatalogError> {
        if self.version == 0 {
            return Err(CatalogError::ZeroVersion);
        }
        for (i, p) in self.prices.iter().enumerate() {
            if p.price.currency() != self.currency {
                return Err(CatalogError::WrongCurrency {
                    product: p.product,
                    term: p.term,
                    expected: self.currency,
                    found: p.price.currency(),
                });
            }
            if p.price.is_negative() {
                return Err(CatalogError::NegativePrice {
                    product: p.product,
                    term: p.term,
                });
            }
            if self.prices[..i]
                .iter()
                .any(|q| q.product == p.product && q.term == p.term)
            {
                return Err(CatalogError::DuplicatePrice {
                    product: p.product,
                    term: p.term,
                });
            }
        }
        for (i, d) in self.term_discounts.iter().enumerate() {
            if self.term_discounts[..i].iter().any(|e| e.term == d.term) {
                return Err(CatalogError::DuplicateDiscount { term: d.term });
            }
        }
        tax::check_rate_table(&self.tax_rates)?;
        Ok(())
    }

    /// Refuses a date before this version applies.
    pub fn ensure_valid_on(&self, date: NaiveDate) -> Result<(), CatalogError> {
        if date < self.valid_from {
            return Err(CatalogError::NotYetValid {
                version: self.version,
                valid_from: self.valid_from,
                date,
            });
        }
        Ok(())
    }
}

/// The version of list `id` that applies on `date`: the latest `valid_from` on or before it
/// (the higher version when two start the same day).
pub fn list_in_force(lists: &[PriceList], id: Uuid, date: NaiveDate) -> Option<&PriceList> {
    lists
        .iter()
        .filter(|l| l.id == id && l.valid_from <= date)
        .max_by_key(|l| (l.valid_from, l.version))
}

/// A starting price list staff can adjust in Settings → Prices: EUR prices for every product
/// and term, 10% off three years, and a few standard VAT rates (check them before use).
pub fn starter(id: Uuid, valid_from: NaiveDate) -> PriceList {
    use Product::*;
    use Term::*;
    let eur = |minor| Money::from_minor(minor, Currency::EUR);
    let mut prices = Vec::new();
    for (product, monthly) in [
        (ProLicense, 1200),
        (CapacityTb, 500),
        (Support, 300),
        (NamedSeat, 1000),
    ] {
        for term in Term::ALL {
            prices.push(UnitPrice {
                product,
                term,
                price: eur(monthly * i64::from(term.months())),
            });
        }
    }
    let mut tax_rates = Vec::new();
    for (country, percent) in [
        ("DE", "19"),
        ("AT", "20"),
        ("FR", "20"),
        ("NL", "21"),
        ("IT", "22"),
        ("ES", "21"),
        ("GB", "20"),
        ("CH", "8.1"),
        ("US", "0"),
    ] {
        for class in [ProductClass::Software, ProductClass::Support] {
            if let (Ok(country), Ok(percent)) =
                (CountryCode::parse(country), Percent::parse(percent))
            {
                tax_rates.push(TaxRate {
                    country,
                    class,
                    percent,
                    valid_from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(valid_from),
                    valid_to: None,
                });
            }
        }
    }
    PriceList {
        id,
        version: 1,
        name: "Standard EUR".into(),
        valid_from,
        currency: Currency::EUR,
        prices,
        term_discounts: vec![
            TermDiscount {
                term: Annual,
                percent: Percent::ZERO,
            },
            TermDiscount {
                term: Triennial,
                percent: Percent::parse("10").unwrap_or(Percent::ZERO),
            },
        ],
        tax_rates,
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    #![allow(clippy::unwrap_used)]
    //! A small EUR price list shared by the commerce tests.
    use super::*;

    pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    pub fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR)
    }

    pub fn cc(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    pub fn pct(s: &str) -> Percent {
        Percent::parse(s).unwrap()
    }

    fn rate(
        country: &str,
        class: ProductClass,
        percent: &str,
        from: NaiveDate,
        to: Option<NaiveDate>,
    ) -> TaxRate {
        TaxRate {
            country: cc(country),
            class,
            percent: pct(percent),
            valid_from: from,
            valid_to: to,
        }
    }

    /// Pro €120.00/year, €12.00/month, €1,080.00/3 years (plus 10% off); capacity €50/TB/year;
    /// support €30/license/year (€2.95/month); seats €120/year. DE 19% (16% in H2 2020),
    /// DE support 7% (a made-up reduced rate to exercise two rates), AT 20%, FR 20%, US 0%.
    pub fn price_list() -> PriceList {
        use Product::*;
        use Term::*;
        let price = |product, term, minor| UnitPrice {
            product,
            term,
            price: eur(minor),
        };
        PriceList {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            version: 3,
            name: "Standard EUR".into(),
            valid_from: d(2020, 1, 1),
            currency: Currency::EUR,
            prices: vec![
                price(ProLicense, Monthly, 1200),
                price(ProLicense, Annual, 12000),
                price(ProLicense, Triennial, 108000),
                price(CapacityTb, Annual, 5000),
                price(Support, Monthly, 295),
                price(Support, Annual, 3000),
                price(NamedSeat, Annual, 12000),
            ],
            term_discounts: vec![TermDiscount {
                term: Triennial,
                percent: pct("10"),
            }],
            tax_rates: vec![
                rate(
                    "DE",
                    ProductClass::Software,
                    "19",
                    d(2007, 1, 1),
                    Some(d(2020, 6, 30)),
                ),
                rate(
                    "DE",
                    ProductClass::Software,
                    "16",
                    d(2020, 7, 1),
                    Some(d(2020, 12, 31)),
                ),
                rate("DE", ProductClass::Software, "19", d(2021, 1, 1), None),
                rate("DE", ProductClass::Support, "7", d(2007, 1, 1), None),
                rate("AT", ProductClass::Software, "20", d(2016, 1, 1), None),
                rate("AT", ProductClass::Support, "20", d(2016, 1, 1), None),
                rate("FR", ProductClass::Software, "20", d(2014, 1, 1), None),
                rate("FR", ProductClass::Support, "20", d(2014, 1, 1), None),
                rate("US", ProductClass::Software, "0", d(2000, 1, 1), None),
                rate("US", ProductClass::Support, "0", d(2000, 1, 1), None),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::fixtures::*;
    use super::*;

    #[test]
    fn prices_and_discounts_come_from_the_list() {
        let list = price_list();
        list.check().unwrap();
        assert_eq!(
            list.unit_price(Product::ProLicense, Term::Annual),
            Ok(eur(12000))
        );
        assert_eq!(
            list.unit_price(Product::CapacityTb, Term::Monthly)
                .unwrap_err()
                .to_string(),
            "price list version 3 has no Monthly price for Capacity"
        );
        assert_eq!(list.term_discount(Term::Triennial), pct("10"));
        assert_eq!(list.term_discount(Term::Annual), Percent::ZERO);
        assert_eq!(
            list.tax_rate(&cc("CH"), ProductClass::Software, d(2026, 1, 1))
                .unwrap_err()
                .to_string(),
            "the price list has no software tax rate for CH on 2026-01-01"
        );
    }

    #[test]
    fn inconsistent_lists_are_refused() {
        type Break = fn(&mut PriceList);
        let cases: &[(Break, &str)] = &[
            (
                |l| l.prices[0].price = Money::from_minor(100, Currency::USD),
                "the Monthly price for Pro license is in USD, but the price list is in EUR",
            ),
            (
                |l| l.prices[0].price = eur(-1),
                "the Monthly price for Pro license is negative",
            ),
            (
                |l| {
                    let again = l.prices[1].clone();
                    l.prices.push(again)
                },
                "the Annual price for Pro license is listed twice",
            ),
            (
                |l| {
                    let again = l.term_discounts[0].clone();
                    l.term_discounts.push(again)
                },
                "the 3 years discount is listed twice",
            ),
            (|l| l.version = 0, "price list version must be at least 1"),
            (
                |l| l.tax_rates[2].valid_from = d(2020, 12, 1),
                "the price list has more than one software tax rate for DE on 2020-12-01",
            ),
        ];
        for (break_it, message) in cases {
            let mut list = price_list();
            break_it(&mut list);
            assert_eq!(list.check().unwrap_err().to_string(), *message);
        }
    }

    #[test]
    fn the_version_in_force_is_the_latest_started() {
        let v3 = price_list();
        let mut v4 = price_list();
        v4.version = 4;
        v4.valid_from = d(2026, 7, 1);
        let lists = [v4.clone(), v3.clone()];
        assert_eq!(
            list_in_force(&lists, v3.id, d(2026, 6, 30)).map(|l| l.version),
            Some(3)
        );
        assert_eq!(
            list_in_force(&lists, v3.id, d(2026, 7, 1)).map(|l| l.version),
            Some(4)
        );
        assert_eq!(list_in_force(&lists, v3.id, d(2019, 1, 1)), None);
        assert_eq!(list_in_force(&lists, Uuid::nil(), d(2026, 7, 1)), None);
        assert!(v4.ensure_valid_on(d(2026, 6, 30)).is_err());
    }
}
