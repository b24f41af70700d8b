//! Tax rates, VAT IDs and the decision between charging VAT and reverse charge.
//!
//! Rates live in the price list, one row per country (ISO 3166 alpha-2), product class and
//! validity span. The rate for a document is the one valid on its tax point (the date the
//! supply is taxed: the invoice date, or the quote date for a quote), never "today": the same
//! document priced again later gets the same rate. A list with no rate for the customer's
//! country is an error naming the country, so a sale can never go out untaxed by omission.
//!
//! Reverse charge (no VAT on the invoice, the customer accounts for it) applies only when the
//! seller and the customer are in two different EU member states and the customer's VAT ID has
//! a stored validation result that says valid — from the offline check-digit test or from the
//! EU's VIES service. In every other case VAT is charged at the customer's country's rate and
//! the document carries the reason as data ([`ChargeReason`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::catalog::ProductClass;
use crate::domain::money::Percent;

/// An ISO 3166-1 alpha-2 country code, upper case ("DE"). Serialized as the code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    /// Accepts an alpha-2 code in any case ("de" → "DE"); Greece's VAT prefix "EL" is GR.
    pub fn parse(input: &str) -> Result<CountryCode, TaxError> {
        let code = input.trim().to_ascii_uppercase();
        let code = if code == "EL" { "GR".to_string() } else { code };
        if code.len() == 2 && celes::Country::from_alpha2(&code).is_ok() {
            Ok(CountryCode(code))
        } else {
            Err(TaxError::UnknownCountry {
                input: input.trim().to_string(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the 27 EU member states (as of 2026).
    pub fn is_eu(&self) -> bool {
        EU_MEMBERS.contains(&self.0.as_str())
    }
}

/// EU member states by ISO alpha-2 code (Greece is GR here; its VAT IDs start with EL).
pub const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = TaxError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> String {
        value.0
    }
}

/// A problem finding or checking tax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("'{input}' is not an ISO 3166 alpha-2 country code")]
    UnknownCountry { input: String },
    #[error("the price list has no {class} tax rate for {country} on {tax_point}")]
    NoRate {
        country: CountryCode,
        class: ProductClass,
        tax_point: NaiveDate,
    },
    #[error("the price list has more than one {class} tax rate for {country} on {tax_point}")]
    AmbiguousRate {
        country: CountryCode,
        class: ProductClass,
        tax_point: NaiveDate,
    },
    #[error("the {class} tax rate for {country} ends ({valid_to}) before it starts ({valid_from})")]
    BackwardsRate {
        country: CountryCode,
        class: ProductClass,
        valid_from: NaiveDate,
        valid_to: NaiveDate,
    },
    #[error("'{input}' is not a VAT ID (two letters then 2 to 13 letters or digits)")]
    MalformedVatId { input: String },
}

/// One row of a rate table: `percent` applies to `class` sales to `country` from `valid_from`
/// through `valid_to` (both included; open-ended when `valid_to` is None).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub country: CountryCode,
    pub class: ProductClass,
    pub percent: Percent,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl TaxRate {
    /// True when this row applies to `class` sales to `country` on `date`.
    pub fn applies(&self, country: &CountryCode, class: ProductClass, date: NaiveDate) -> bool {
        self.country == *country
            && self.class == class
            && self.valid_from <= date
            && self.valid_to.is_none_or(|to| date <= to)
    }

    fn overlaps(&self, other: &TaxRate) -> bool {
        let ends_before = |a: &TaxRate, b: &TaxRate| a.valid_to.is_some_and(|to| to < b.valid_from);
        self.country == other.country
            && self.class == other.class
            && !ends_before(self, other)
            && !ends_before(other, self)
    }
}

/// The rate for `class` sales to `country` on the tax point.
pub fn select_rate<'a>(
    rates: &'a [TaxRate],
    country: &CountryCode,
    class: ProductClass,
    tax_point: NaiveDate,
) -> Result<&'a TaxRate, TaxError> {
    let mut matching = rates
        .iter()
        .filter(|r| r.applies(country, class, tax_point));
    let rate = matching.next().ok_or_else(|| TaxError::NoRate {
        country: country.clone(),
        class,
        tax_point,
    })?;
    if matching.next().is_some() {
        return Err(TaxError::AmbiguousRate {
            country: country.clone(),
            class,
            tax_point,
        });
    }
    Ok(rate)
}

/// Checks a rate table: no row ends before it starts, no two rows for the same country and
/// class overlap (so [`select_rate`] never meets two).
pub fn check_rate_table(rates: &[TaxRate]) -> Result<(), TaxError> {
    for (i, rate) in rates.iter().enumerate() {
        if let Some(valid_to) = rate.valid_to.filter(|to| *to < rate.valid_from) {
            return Err(TaxError::BackwardsRate {
                country: rate.country.clone(),
                class: rate.class,
                valid_from: rate.valid_from,
                valid_to,
            });
        }
        if let Some(other) = rates[i + 1..].iter().find(|o| rate.overlaps(o)) {
            return Err(TaxError::AmbiguousRate {
                country: rate.country.clone(),
                class: rate.class,
                tax_point: rate.valid_from.max(other.valid_from),
            });
        }
    }
    Ok(())
}

/// A VAT ID as stored: upper case, no spaces or punctuation, starting with its two-letter
/// prefix ("DE123456789", "EL094259216").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatId(String);

impl VatId {
    /// Normalizes and checks the shape (not the check digits: see [`check_vat_id_offline`]).
    pub fn parse(input: &str) -> Result<VatId, TaxError> {
        let compact = vat_id_validator::remove_extra_chars(input);
        let malformed = || TaxError::MalformedVatId {
            input: input.trim().to_string(),
        };
        let (prefix, rest) = compact.split_at_checked(2).ok_or_else(malformed)?;
        if !prefix.chars().all(|c| c.is_ascii_uppercase())
            || !(2..=13).contains(&rest.len())
            || !rest.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(malformed());
        }
        Ok(VatId(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter prefix ("DE", "EL" for Greece, "XI" for Northern Ireland).
    pub fn prefix(&self) -> &str {
        self.0.get(..2).unwrap_or("")
    }

    /// The country the prefix names (EL → GR, XI → GB), if it is one.
    pub fn country(&self) -> Option<CountryCode> {
        match self.prefix() {
            "XI" => CountryCode::parse("GB").ok(),
            prefix => CountryCode::parse(prefix).ok(),
        }
    }
}

impl fmt::Display for VatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for VatId {
    type Error = TaxError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        VatId::parse(&value)
    }
}

impl From<VatId> for String {
    fn from(value: VatId) -> String {
        value.0
    }
}

/// How a VAT ID was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum VatCheckMethod {
    /// The check digits, offline (`vat_id_validator`). Proves the number is well formed, not
    /// that it is registered.
    OfflineCheckDigits,
    /// The EU's VIES service answered; its consultation number is kept when one was given.
    Vies { consultation_number: Option<String> },
}

/// What a check said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatCheckOutcome {
    Valid,
    Invalid,
    /// The method cannot judge this kind of number (an offline check of a country the check
    /// digit rules do not cover, such as Northern Ireland's XI).
    NotCheckable,
}

/// A stored VAT ID validation result: which number, which method, when, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatValidation {
    pub vat_id: VatId,
    pub method: VatCheckMethod,
    /// When the check ran, unix seconds (passed in: rules never read the clock).
    pub checked_at: i64,
    pub outcome: VatCheckOutcome,
}

impl VatValidation {
    /// Records what VIES answered for `vat_id` at `checked_at`.
    pub fn from_vies(
        vat_id: VatId,
        valid: bool,
        consultation_number: Option<String>,
        checked_at: i64,
    ) -> VatValidation {
        VatValidation {
            vat_id,
            method: VatCheckMethod::Vies {
                consultation_number,
            },
            checked_at,
            outcome: if valid {
                VatCheckOutcome::Valid
            } else {
                VatCheckOutcome::Invalid
            },
        }
    }
}

/// Checks a VAT ID's check digits offline and records the result as of `checked_at`.
pub fn check_vat_id_offline(vat_id: &VatId, checked_at: i64) -> VatValidation {
    let result = vat_id_validator::check_vat_by_country(vat_id.as_str(), vat_id.prefix());
    let outcome = if !result.is_supported_country {
        VatCheckOutcome::NotCheckable
    } else if result.is_valid {
        VatCheckOutcome::Valid
    } else {
        VatCheckOutcome::Invalid
    };
    VatValidation {
        vat_id: vat_id.clone(),
        method: VatCheckMethod::OfflineCheckDigits,
        checked_at,
        outcome,
    }
}

/// The seller's side of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub country: CountryCode,
    pub vat_id: Option<VatId>,
}

/// The customer's side of a sale: billing country, VAT ID and its stored validation, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub country: CountryCode,
    pub vat_id: Option<VatId>,
    pub vat_validation: Option<VatValidation>,
}

/// Why VAT is charged on a document rather than reverse-charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeReason {
    /// Seller and customer are in the same country.
    Domestic,
    /// Seller or customer is outside the EU: the customer country's rate row applies (0% where
    /// the sale is outside the scope of VAT).
    OutsideEu,
    /// The customer has no VAT ID (a consumer, or not yet given).
    NoVatId,
    /// The VAT ID has no stored validation result yet.
    VatIdNotValidated,
    /// The stored validation said the VAT ID is invalid.
    VatIdInvalid,
    /// The offline check cannot judge this VAT ID and VIES has not been asked.
    VatIdNotCheckable,
    /// The VAT ID's prefix is not the customer's billing country.
    VatIdCountryDiffers,
}

impl ChargeReason {
    /// The sentence shown on the document and beside the totals.
    pub const fn explanation(self) -> &'static str {
        match self {
            ChargeReason::Domestic => "VAT charged: the customer is in the seller's country.",
            ChargeReason::OutsideEu => {
                "Tax charged at the customer country's rate (sale outside the EU VAT area)."
            }
            ChargeReason::NoVatId => "VAT charged: the customer has no VAT ID.",
            ChargeReason::VatIdNotValidated => {
                "VAT charged: the customer's VAT ID has not been validated. Validate it \
                 (offline check digits or VIES) to apply reverse charge."
            }
            ChargeReason::VatIdInvalid => "VAT charged: the customer's VAT ID was found invalid.",
            ChargeReason::VatIdNotCheckable => {
                "VAT charged: this VAT ID cannot be checked offline; validate it with VIES to \
                 apply reverse charge."
            }
            ChargeReason::VatIdCountryDiffers => {
                "VAT charged: the VAT ID's country is not the customer's billing country."
            }
        }
    }

    /// True when validating the VAT ID could still turn this sale into reverse charge (the UI
    /// offers "Validate VAT ID", and a service may keep the document a draft until then).
    pub const fn validation_would_help(self) -> bool {
        matches!(
            self,
            ChargeReason::VatIdNotValidated | ChargeReason::VatIdNotCheckable
        )
    }
}

/// How tax is handled on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "treatment", rename_all = "snake_case")]
pub enum TaxTreatment {
    /// VAT at the rate for the customer's country, and why.
    Charged { reason: ChargeReason },
    /// No VAT: the customer accounts for it. The validation it rests on is kept.
    ReverseCharge { validation: VatValidation },
}

impl TaxTreatment {
    /// The note printed on the document.
    pub fn explanation(&self) -> &'static str {
        match self {
            TaxTreatment::Charged { reason } => reason.explanation(),
            TaxTreatment::ReverseCharge { .. } => {
                "Reverse charge: VAT to be accounted for by the recipient (Article 196, \
                 Council Directive 2006/112/EC)."
            }
        }
    }

    pub fn is_reverse_charge(&self) -> bool {
        matches!(self, TaxTreatment::ReverseCharge { .. })
    }
}

/// Decides between charging VAT and reverse charge for a sale from `seller` to `customer`.
pub fn tax_treatment(seller: &Seller, customer: &Customer) -> TaxTreatment {
    let charged = |reason| TaxTreatment::Charged { reason };
    if seller.country == customer.country {
        return charged(ChargeReason::Domestic);
    }
    if !seller.country.is_eu() || !customer.country.is_eu() {
        return charged(ChargeReason::OutsideEu);
    }
    let Some(vat_id) = &customer.vat_id else {
        return charged(ChargeReason::NoVatId);
    };
    if vat_id.country().as_ref() != Some(&customer.country) {
        return charged(ChargeReason::VatIdCountryDiffers);
    }
    // A validation of some other number (the VAT ID was edited since) does not count.
    let Some(validation) = customer
        .vat_validation
        .as_ref()
        .filter(|v| v.vat_id == *vat_id)
    else {
        return charged(ChargeReason::VatIdNotValidated);
    };
    match validation.outcome {
        VatCheckOutcome::Valid => TaxTreatment::ReverseCharge {
            validation: validation.clone(),
        },
        VatCheckOutcome::Invalid => charged(ChargeReason::VatIdInvalid),
        VatCheckOutcome::NotCheckable => charged(ChargeReason::VatIdNotCheckable),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cc(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    fn rate(country: &str, pct: &str, from: NaiveDate, to: Option<NaiveDate>) -> TaxRate {
        TaxRate {
            country: cc(country),
            class: ProductClass::Software,
            percent: Percent::parse(pct).unwrap(),
            valid_from: from,
            valid_to: to,
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(cc("de").as_str(), "DE");
        assert_eq!(cc("EL").as_str(), "GR");
        assert!(cc("FR").is_eu());
        assert!(!cc("CH").is_eu());
        assert!(!cc("GB").is_eu());
        assert_eq!(
            CountryCode::parse("XX"),
            Err(TaxError::UnknownCountry { input: "XX".into() })
        );
        assert!(CountryCode::parse("DEU").is_err());
        assert!(serde_json::from_str::<CountryCode>(r#""ZZ""#).is_err());
    }

    #[test]
    fn the_rate_is_chosen_by_tax_point_date() {
        // Germany lowered VAT to 16% for the second half of 2020.
        let rates = [
            rate("DE", "19", d(2007, 1, 1), Some(d(2020, 6, 30))),
            rate("DE", "16", d(2020, 7, 1), Some(d(2020, 12, 31))),
            rate("DE", "19", d(2021, 1, 1), None),
            rate("FR", "20", d(2014, 1, 1), None),
        ];
        check_rate_table(&rates).unwrap();
        let cases = [
            (d(2020, 6, 30), "19"),
            (d(2020, 7, 1), "16"),
            (d(2020, 12, 31), "16"),
            (d(2021, 1, 1), "19"),
            (d(2026, 5, 1), "19"),
        ];
        for (tax_point, expected) in cases {
            let found = select_rate(&rates, &cc("DE"), ProductClass::Software, tax_point).unwrap();
            assert_eq!(
                found.percent.to_string(),
                format!("{expected}%"),
                "{tax_point}"
            );
        }
    }

    #[test]
    fn a_missing_rate_names_the_country() {
        let rates = [rate("DE", "19", d(2021, 1, 1), None)];
        let err =
            select_rate(&rates, &cc("AT"), ProductClass::Software, d(2026, 1, 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the price list has no software tax rate for AT on 2026-01-01"
        );
        // Before the first row there is no rate either, and another class is another row.
        assert!(select_rate(&rates, &cc("DE"), ProductClass::Software, d(2020, 1, 1)).is_err());
        assert!(select_rate(&rates, &cc("DE"), ProductClass::Support, d(2026, 1, 1)).is_err());
    }

    #[test]
    fn overlapping_or_backwards_rows_are_refused() {
        let overlapping = [
            rate("DE", "19", d(2021, 1, 1), None),
            rate("DE", "16", d(2025, 1, 1), Some(d(2025, 12, 31))),
        ];
        assert!(matches!(
            check_rate_table(&overlapping),
            Err(TaxError::AmbiguousRate { .. })
        ));
        assert!(matches!(
            select_rate(
                &overlapping,
                &cc("DE"),
                ProductClass::Software,
                d(2025, 6, 1)
            ),
            Err(TaxError::AmbiguousRate { .. })
        ));
        let backwards = [rate("DE", "19", d(2021, 1, 1), Some(d(2020, 1, 1)))];
        assert!(matches!(
            check_rate_table(&backwards),
            Err(TaxError::BackwardsRate { .. })
        ));
    }

    #[test]
    fn vat_ids_normalize_and_check_offline() {
        let id = VatId::parse("de 136.695.976").unwrap();
        assert_eq!(id.as_str(), "DE136695976");
        assert_eq!(id.country(), Some(cc("DE")));
        assert_eq!(
            VatId::parse("EL094259216").unwrap().country(),
            Some(cc("GR"))
        );
        assert!(VatId::parse("12").is_err());
        assert!(VatId::parse("DE#1234").is_err());
        let cases = [
            ("DE136695976", VatCheckOutcome::Valid),
            ("DE136695977", VatCheckOutcome::Invalid),
            ("ATU13585627", VatCheckOutcome::Valid),
            ("FR40303265045", VatCheckOutcome::Valid),
            ("XI123456789", VatCheckOutcome::NotCheckable),
        ];
        for (input, outcome) in cases {
            let checked = check_vat_id_offline(&VatId::parse(input).unwrap(), 1_767_225_600);
            assert_eq!(checked.outcome, outcome, "{input}");
            assert_eq!(checked.method, VatCheckMethod::OfflineCheckDigits);
            assert_eq!(checked.checked_at, 1_767_225_600);
        }
    }

    #[test]
    fn reverse_charge_needs_a_valid_stored_validation_across_an_eu_border() {
        let seller = Seller {
            country: cc("DE"),
            vat_id: Some(VatId::parse("DE136695976").unwrap()),
        };
        let at_id = VatId::parse("ATU13585627").unwrap();
        let valid = check_vat_id_offline(&at_id, 100);
        let invalid = VatValidation::from_vies(at_id.clone(), false, None, 200);
        let other = check_vat_id_offline(&VatId::parse("FR40303265045").unwrap(), 100);
        let customer =
            |country: &str, vat: Option<&VatId>, validation: Option<&VatValidation>| Customer {
                country: cc(country),
                vat_id: vat.cloned(),
                vat_validation: validation.cloned(),
            };
        let charged = |reason| TaxTreatment::Charged { reason };
        let cases = [
            (customer("DE", None, None), charged(ChargeReason::Domestic)),
            (customer("US", None, None), charged(ChargeReason::OutsideEu)),
            (customer("AT", None, None), charged(ChargeReason::NoVatId)),
            (
                customer("AT", Some(&at_id), None),
                charged(ChargeReason::VatIdNotValidated),
            ),
            (
                customer("AT", Some(&at_id), Some(&other)),
                charged(ChargeReason::VatIdNotValidated),
            ),
            (
                customer("AT", Some(&at_id), Some(&invalid)),
                charged(ChargeReason::VatIdInvalid),
            ),
            (
                customer("FR", Some(&at_id), Some(&valid)),
                charged(ChargeReason::VatIdCountryDiffers),
            ),
            (
                customer("AT", Some(&at_id), Some(&valid)),
                TaxTreatment::ReverseCharge {
                    validation: valid.clone(),
                },
            ),
        ];
        for (customer, expected) in cases {
            assert_eq!(tax_treatment(&seller, &customer), expected, "{customer:?}");
        }
        // A VIES answer counts like the offline check.
        let vies = VatValidation::from_vies(at_id.clone(), true, Some("WAPIAAAAX".into()), 300);
        assert!(
            tax_treatment(&seller, &customer("AT", Some(&at_id), Some(&vies))).is_reverse_charge()
        );
        assert!(ChargeReason::VatIdNotValidated.validation_would_help());
        assert!(!ChargeReason::Domestic.validation_would_help());
    }

    #[test]
    fn validation_results_serialize_for_snapshots() {
        let validation = VatValidation::from_vies(
            VatId::parse("ATU13585627").unwrap(),
            true,
            Some("WAPI1".into()),
            1_767_225_600,
        );
        let json = serde_json::to_string(&validation).unwrap();
        assert_eq!(
            json,
            r#"{"vat_id":"ATU13585627","method":{"method":"vies","consultation_number":"WAPI1"},"checked_at":1767225600,"outcome":"valid"}"#
        );
        assert_eq!(
            serde_json::from_str::<VatValidation>(&json).unwrap(),
            validation
        );
    }
}
