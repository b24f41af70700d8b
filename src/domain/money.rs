//! Money: whole minor units of one ISO 4217 currency, exact and checked.
//!
//! Every amount the desk stores, shows or books is a [`Money`]: an `i64` count of the
//! currency's minor unit (cents for EUR, yen for JPY, fils for KWD) and the currency whose
//! exponent (from `iso_currency`) says how many minor units make one major unit. There is no
//! floating point: sums are integer sums, and every result that is not a whole number of minor
//! units (a discount, a tax, a prorated charge) is computed exactly with `rust_decimal` and then
//! rounded by [`round_half_up`], the one rounding rule of the application (half away from zero;
//! see docs/billing.md). Overflow, and adding two currencies, are errors, never a wrap or panic.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::validation::FieldErrors;

/// The rounding strategy of every fractional money result: ties go away from zero
/// (0.5 → 1, −0.5 → −1, 2.345 → 2.35), which is what people call "half up".
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// A problem with money arithmetic or with a currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Two amounts of different currencies were combined.
    #[error("cannot combine {left} with {right}: the currencies differ")]
    CurrencyMismatch { left: Currency, right: Currency },
    /// The result does not fit in the amount type (about ±92 quadrillion major units of EUR).
    #[error("the amount is too large: {operation} overflowed")]
    Overflow { operation: &'static str },
    /// A code that is not an ISO 4217 currency.
    #[error("'{code}' is not an ISO 4217 currency code")]
    UnknownCurrency { code: String },
    /// An ISO 4217 entry such as gold (XAU) that has no minor unit and is no money to bill in.
    #[error("{code} has no minor unit and cannot be used for billing")]
    NoMinorUnit { code: String },
    /// A ratio whose denominator is zero or negative (a term of zero days, for instance).
    #[error("cannot divide an amount by {denominator}: the divisor must be positive")]
    BadDivisor { denominator: Decimal },
}

/// An ISO 4217 currency that has a minor unit (so it can carry money).
///
/// Serialized as its three-letter code ("EUR").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    pub const GBP: Currency = Currency(iso_currency::Currency::GBP);
    pub const CHF: Currency = Currency(iso_currency::Currency::CHF);
    pub const JPY: Currency = Currency(iso_currency::Currency::JPY);
    pub const KWD: Currency = Currency(iso_currency::Currency::KWD);

    /// Looks up an ISO 4217 code ("eur" and " EUR " are accepted).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let code = code.trim().to_ascii_uppercase();
        let currency = iso_currency::Currency::from_code(&code)
            .ok_or_else(|| MoneyError::UnknownCurrency { code: code.clone() })?;
        if currency.exponent().is_none() {
            return Err(MoneyError::NoMinorUnit { code });
        }
        Ok(Currency(currency))
    }

    /// The three-letter code ("EUR").
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: EUR 2, JPY 0, KWD 3.
    pub fn exponent(self) -> u32 {
        // Construction guarantees an exponent; 0 is never reached for a constructed value.
        self.0.exponent().map_or(0, u32::from)
    }

    /// Minor units in one major unit: 100 for EUR, 1 for JPY, 1000 for KWD.
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }

    /// The sign written before amounts, with a trailing space when it is a code.
    ///
    /// Only symbols that name one currency unambiguously for our users are used (€ $ £ ¥);
    /// every other currency is written with its code ("CHF 12.00", "KWD 1.234").
    fn prefix(self) -> &'static str {
        match self.0 {
            iso_currency::Currency::EUR => "€",
            iso_currency::Currency::USD => "$",
            iso_currency::Currency::GBP => "£",
            iso_currency::Currency::JPY => "¥",
            _ => "",
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// The one rounding rule: `numerator / denominator` (an exact value in minor units) rounded to a
/// whole minor unit, ties away from zero.
///
/// Every fractional money result goes through here exactly once. The division is carried out
/// exactly: the integer part comes from an exact remainder, and only the remainder's fraction
/// (a value below one, known to 28 digits) is rounded, so no intermediate rounding can push a
/// value across a half.
pub fn round_half_up(numerator: Decimal, denominator: Decimal) -> Result<i64, MoneyError> {
    if denominator <= Decimal::ZERO {
        return Err(MoneyError::BadDivisor { denominator });
    }
    let overflow = MoneyError::Overflow {
        operation: "rounding",
    };
    let remainder = numerator
        .checked_rem(denominator)
        .ok_or_else(|| overflow.clone())?;
    // `numerator - remainder` is an exact multiple of the denominator, so this quotient is a
    // whole number and exact.
    let whole = numerator
        .checked_sub(remainder)
        .and_then(|n| n.checked_div(denominator))
        .ok_or_else(|| overflow.clone())?
        .trunc();
    // The remainder has the numerator's sign and |fraction| < 1: rounding the fraction away
    // from zero and adding it to the whole part equals rounding the exact value.
    let fraction = remainder
        .checked_div(denominator)
        .ok_or_else(|| overflow.clone())?
        .round_dp_with_strategy(0, ROUNDING);
    whole
        .checked_add(fraction)
        .and_then(|d| d.to_i64())
        .ok_or(overflow)
}

/// An amount of money: whole minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for EUR). Negative for credits and refunds.
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` minor units of `currency`.
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// `major` whole units (e.g. €120): `major × 10^exponent` minor units.
    pub fn from_major(major: i64, currency: Currency) -> Result<Money, MoneyError> {
        major
            .checked_mul(currency.minor_per_major())
            .map(|minor| Money::from_minor(minor, currency))
            .ok_or(MoneyError::Overflow {
                operation: "conversion to minor units",
            })
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub const fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// The amount in major units as an exact decimal (16274 cents → 162.74).
    pub fn to_major(self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`; both must be in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "addition",
            })
    }

    /// `self − other`; both must be in the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "subtraction",
            })
    }

    /// `−self`.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.minor
            .checked_neg()
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "negation",
            })
    }

    /// `self × factor` for a whole factor (a quantity, a number of terms): exact, no rounding.
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(factor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "multiplication",
            })
    }

    /// `self × numerator / denominator`, rounded once by [`round_half_up`].
    ///
    /// This is how every fraction of an amount is taken: a percentage (`pct / 100`), a
    /// proration (`quantity × remaining_days / term_days`). The product is exact; only the final
    /// result is rounded. Callers pass whole numbers or a [`Percent`] (at most four decimals),
    /// for which the product always fits `rust_decimal` exactly; a product too large for it is
    /// an overflow error.
    pub fn mul_ratio(self, numerator: Decimal, denominator: Decimal) -> Result<Money, MoneyError> {
        let exact =
            Decimal::from(self.minor)
                .checked_mul(numerator)
                .ok_or(MoneyError::Overflow {
                    operation: "multiplication",
                })?;
        round_half_up(exact, denominator).map(|minor| Money::from_minor(minor, self.currency))
    }

    /// `self × percent / 100`, rounded once (a discount or a tax amount).
    pub fn percent_of(self, percent: Percent) -> Result<Money, MoneyError> {
        self.mul_ratio(percent.value(), Decimal::ONE_HUNDRED)
    }

    /// The sum of `amounts`, all in `currency` (zero when there are none).
    pub fn sum<I>(currency: Currency, amounts: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator<Item = Money>,
    {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Parses a typed amount in `currency`: digits, an optional leading minus, commas only as
    /// thousands separators in groups of three, a dot before at most `exponent` decimals.
    /// "162.74", "1,234.5", "-3" and ".5" are amounts; "12,34", "1.234" in EUR and "1e3" are
    /// not. `field` is the form label named in the error.
    pub fn parse(
        field: &'static str,
        input: &str,
        currency: Currency,
    ) -> Result<Money, ParseAmountError> {
        parse_minor(input, currency)
            .map(|minor| Money::from_minor(minor, currency))
            .map_err(|problem| ParseAmountError { field, problem })
    }

    /// Like [`Money::parse`], but a negative amount is refused (prices, top-ups).
    pub fn parse_non_negative(
        field: &'static str,
        input: &str,
        currency: Currency,
    ) -> Result<Money, ParseAmountError> {
        let money = Money::parse(field, input, currency)?;
        if money.is_negative() {
            return Err(ParseAmountError {
                field,
                problem: AmountProblem::Negative,
            });
        }
        Ok(money)
    }

    /// The amount without currency or grouping, as typed into a form field ("1234.50", "-3", "1200").
    pub fn to_plain_string(self) -> String {
        let mut out = String::new();
        if self.minor < 0 {
            out.push('-');
        }
        let (whole, fraction) = self.split();
        out.push_str(&whole.to_string());
        if let Some(fraction) = fraction {
            out.push('.');
            out.push_str(&fraction);
        }
        out
    }

    /// Whole major units and the zero-padded minor digits (None for zero-exponent currencies).
    fn split(self) -> (u64, Option<String>) {
        let exponent = self.currency.exponent();
        let abs = self.minor.unsigned_abs();
        let per = 10_u64.pow(exponent);
        let fraction = (exponent > 0).then(|| {
            format!(
                "{:0width$}",
                abs % per,
                width = usize::try_from(exponent).unwrap_or(0)
            )
        });
        (abs / per, fraction)
    }
}

/// For people: sign, currency, grouped major units, the currency's decimals:
/// "€162.74", "-€5.00", "¥1,200", "KWD 1.234", "CHF 1,234,567.00".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minor < 0 {
            f.write_str("-")?;
        }
        let prefix = self.currency.prefix();
        if prefix.is_empty() {
            write!(f, "{} ", self.currency.code())?;
        } else {
            f.write_str(prefix)?;
        }
        let (whole, fraction) = self.split();
        f.write_str(&group_thousands(whole))?;
        if let Some(fraction) = fraction {
            write!(f, ".{fraction}")?;
        }
        Ok(())
    }
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What is wrong with a typed amount (shown after the field's label).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountProblem {
    #[error("is required")]
    Empty,
    #[error("'{input}' is not an amount (write it like 1,234.56)")]
    NotAnAmount { input: String },
    #[error("has {found} decimal places; {currency} allows at most {allowed}")]
    TooManyDecimals {
        currency: Currency,
        allowed: u32,
        found: usize,
    },
    #[error("is too large")]
    TooLarge,
    #[error("must not be negative")]
    Negative,
}

/// A typed amount that is not valid, naming the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ParseAmountError {
    pub field: &'static str,
    pub problem: AmountProblem,
}

impl ParseAmountError {
    /// Adds this problem under its field, for a form's [`FieldErrors`].
    pub fn push_into(&self, errors: &mut FieldErrors) {
        errors.push(self.field, self.problem.to_string());
    }
}

impl From<ParseAmountError> for FieldErrors {
    fn from(error: ParseAmountError) -> FieldErrors {
        let mut errors = FieldErrors::default();
        error.push_into(&mut errors);
        errors
    }
}

fn parse_minor(input: &str, currency: Currency) -> Result<i64, AmountProblem> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(AmountProblem::Empty);
    }
    let not_an_amount = || AmountProblem::NotAnAmount {
        input: trimmed.to_string(),
    };
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let whole_digits = whole_part_digits(whole).ok_or_else(not_an_amount)?;
    let fraction = fraction.unwrap_or("");
    if !fraction.chars().all(|c| c.is_ascii_digit())
        || (whole_digits.is_empty() && fraction.is_empty())
    {
        return Err(not_an_amount());
    }
    let exponent = currency.exponent();
    if fraction.len() > usize::try_from(exponent).unwrap_or(usize::MAX) {
        return Err(AmountProblem::TooManyDecimals {
            currency,
            allowed: exponent,
            found: fraction.len(),
        });
    }
    let padded = format!(
        "{whole_digits}{fraction:0<width$}",
        width = usize::try_from(exponent).unwrap_or(0)
    );
    let magnitude: i64 = padded.trim_start_matches('0').parse::<i64>().or_else(|_| {
        if padded.trim_start_matches('0').is_empty() {
            Ok(0)
        } else {
            Err(AmountProblem::TooLarge)
        }
    })?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// The digits of a whole part, checking that commas group thousands ("1,234,567" or "1234567").
fn whole_part_digits(whole: &str) -> Option<String> {
    if !whole.chars().all(|c| c.is_ascii_digit() || c == ',') {
        return None;
    }
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next()?;
        if first.is_empty() || first.len() > 3 {
            return None;
        }
        if groups.any(|g| g.len() != 3) {
            return None;
        }
    }
    Some(whole.replace(',', ""))
}

/// A percentage (a tax rate, a discount) as an exact decimal from 0 to 100, at most four
/// decimal places ("19", "7.7", "12.5"). Serialized as a string ("19.5").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Percent(Decimal);

/// A percentage that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("is required")]
    Empty,
    #[error("'{input}' is not a percentage (write it like 19 or 7.5)")]
    NotANumber { input: String },
    #[error("must be from 0 to 100, not {value}")]
    OutOfRange { value: Decimal },
    #[error("has {found} decimal places; at most 4 are allowed")]
    TooPrecise { found: u32 },
}

impl Percent {
    /// No percent.
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    /// The maximum decimal places: enough for any real tax rate, and small enough that an
    /// amount times a percentage is always exact.
    pub const MAX_DECIMALS: u32 = 4;

    /// A percentage from an exact decimal.
    pub fn new(value: Decimal) -> Result<Percent, PercentError> {
        let value = value.normalize();
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(PercentError::OutOfRange { value });
        }
        if value.scale() > Self::MAX_DECIMALS {
            return Err(PercentError::TooPrecise {
                found: value.scale(),
            });
        }
        Ok(Percent(value))
    }

    /// Parses "19", "7.7" or "12.5 %" (a trailing percent sign is allowed).
    pub fn parse(input: &str) -> Result<Percent, PercentError> {
        let trimmed = input.trim().trim_end_matches('%').trim_end();
        if trimmed.is_empty() {
            return Err(PercentError::Empty);
        }
        let plain = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
        let value = Decimal::from_str_exact(trimmed)
            .ok()
            .filter(|_| plain)
            .ok_or_else(|| PercentError::NotANumber {
                input: trimmed.to_string(),
            })?;
        Percent::new(value)
    }

    /// Parses a form field, adding any problem under `field`.
    pub fn parse_field(
        errors: &mut FieldErrors,
        field: &'static str,
        input: &str,
    ) -> Option<Percent> {
        Percent::parse(input)
            .map_err(|e| errors.push(field, e.to_string()))
            .ok()
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl TryFrom<String> for Percent {
    type Error = PercentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Percent::parse(&value)
    }
}

impl From<Percent> for String {
    fn from(value: Percent) -> String {
        value.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR)
    }

    fn pct(s: &str) -> Percent {
        Percent::parse(s).unwrap()
    }

    #[test]
    fn exponents_come_from_iso_4217() {
        for (code, exponent, per) in [("EUR", 2, 100), ("JPY", 0, 1), ("KWD", 3, 1000)] {
            let currency = Currency::from_code(code).unwrap();
            assert_eq!(currency.exponent(), exponent, "{code}");
            assert_eq!(currency.minor_per_major(), per, "{code}");
        }
        assert_eq!(Currency::from_code(" eur ").unwrap(), Currency::EUR);
        assert_eq!(
            Currency::from_code("XXQ"),
            Err(MoneyError::UnknownCurrency { code: "XXQ".into() })
        );
        assert_eq!(
            Currency::from_code("XAU"),
            Err(MoneyError::NoMinorUnit { code: "XAU".into() })
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero_exactly_once() {
        // (numerator, denominator, expected)
        let cases: &[(&str, &str, i64)] = &[
            ("0.5", "1", 1),
            ("-0.5", "1", -1),
            ("1.4999", "1", 1),
            ("2.5", "1", 3),
            ("-2.5", "1", -3),
            ("16274.5", "1", 16275),
            // the seat example: 36000 × 165 / 365 = 16273.97…
            ("5940000", "365", 16274),
            // a third is never a tie
            ("1", "3", 0),
            ("2", "3", 1),
            ("-2", "3", -1),
            // x.xx5 of a currency unit, in cents: 234.5 cents → 235
            ("23450", "100", 235),
            ("-23450", "100", -235),
            // a huge whole part keeps an exact fraction
            ("9000000000000000001.5", "1", 9_000_000_000_000_000_002),
            ("27000000000000000003", "6", 4_500_000_000_000_000_001),
        ];
        for (numerator, denominator, expected) in cases {
            let n = Decimal::from_str_exact(numerator).unwrap();
            let d = Decimal::from_str_exact(denominator).unwrap();
            assert_eq!(
                round_half_up(n, d),
                Ok(*expected),
                "{numerator}/{denominator}"
            );
        }
        assert!(matches!(
            round_half_up(Decimal::ONE, Decimal::ZERO),
            Err(MoneyError::BadDivisor { .. })
        ));
        assert!(matches!(
            round_half_up(Decimal::from(i64::MAX) + Decimal::ONE, Decimal::ONE),
            Err(MoneyError::Overflow { .. })
        ));
    }

    #[test]
    fn half_cent_ties_round_away_from_zero() {
        // 10% of €1.25 is 12.5 cents → 13; of −€1.25 → −13; 19% of €0.50 is 9.5 → 10.
        assert_eq!(eur(125).percent_of(pct("10")).unwrap(), eur(13));
        assert_eq!(eur(-125).percent_of(pct("10")).unwrap(), eur(-13));
        assert_eq!(eur(50).percent_of(pct("19")).unwrap(), eur(10));
        // €2.345 arises as 50% of 469 cents: 234.5 → 235.
        assert_eq!(eur(469).percent_of(pct("50")).unwrap(), eur(235));
        // Just under a tie goes down.
        assert_eq!(eur(468).percent_of(pct("50")).unwrap(), eur(234));
        // KWD ties at the third decimal: 50% of 0.003 = 0.0015 → 0.002
        let kwd = |m| Money::from_minor(m, Currency::KWD);
        assert_eq!(kwd(3).percent_of(pct("50")).unwrap(), kwd(2));
        // JPY: 8% of ¥1,006 = ¥80.48 → ¥80; 10% of ¥1,005 = 100.5 → ¥101
        let jpy = |m| Money::from_minor(m, Currency::JPY);
        assert_eq!(jpy(1006).percent_of(pct("8")).unwrap(), jpy(80));
        assert_eq!(jpy(1005).percent_of(pct("10")).unwrap(), jpy(101));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(eur(150).checked_add(eur(-50)), Ok(eur(100)));
        assert_eq!(eur(150).checked_sub(eur(200)), Ok(eur(-50)));
        assert_eq!(eur(150).checked_mul(3), Ok(eur(450)));
        assert_eq!(eur(150).checked_neg(), Ok(eur(-150)));
        assert_eq!(
            Money::sum(Currency::EUR, [eur(1), eur(2), eur(3)]),
            Ok(eur(6))
        );
        assert_eq!(Money::sum(Currency::EUR, []), Ok(eur(0)));
        assert_eq!(Money::from_major(120, Currency::EUR), Ok(eur(12000)));
        assert_eq!(
            Money::from_major(1, Currency::KWD),
            Ok(Money::from_minor(1000, Currency::KWD))
        );
    }

    #[test]
    fn mixed_currencies_are_refused() {
        let yen = Money::from_minor(100, Currency::JPY);
        let mismatch = MoneyError::CurrencyMismatch {
            left: Currency::EUR,
            right: Currency::JPY,
        };
        let expected = Err(mismatch.clone());
        assert_eq!(eur(100).checked_add(yen), expected);
        assert_eq!(eur(100).checked_sub(yen), expected);
        assert_eq!(Money::sum(Currency::EUR, [eur(1), yen]), expected);
        assert_eq!(
            mismatch.to_string(),
            "cannot combine EUR with JPY: the currencies differ"
        );
    }

    #[test]
    fn overflow_is_refused_never_wrapped() {
        let max = eur(i64::MAX);
        let overflow = |operation| Err(MoneyError::Overflow { operation });
        assert_eq!(max.checked_add(eur(1)), overflow("addition"));
        assert_eq!(eur(i64::MIN).checked_sub(eur(1)), overflow("subtraction"));
        assert_eq!(eur(i64::MIN).checked_neg(), overflow("negation"));
        assert_eq!(max.checked_mul(2), overflow("multiplication"));
        assert_eq!(
            Money::from_major(i64::MAX / 10, Currency::EUR),
            overflow("conversion to minor units")
        );
        // A ratio whose exact product is fine but whose result is not: rounding overflows.
        assert_eq!(
            max.mul_ratio(Decimal::from(3), Decimal::from(2)),
            overflow("rounding")
        );
        // A product beyond rust_decimal's 96 bits.
        assert_eq!(
            max.mul_ratio(Decimal::from(i64::MAX), Decimal::ONE),
            overflow("multiplication")
        );
        assert!(Money::sum(Currency::EUR, [max, eur(1)]).is_err());
    }

    #[test]
    fn typed_amounts_parse() {
        let ok: &[(&str, Currency, i64)] = &[
            ("162.74", Currency::EUR, 16274),
            ("1,234.5", Currency::EUR, 123450),
            ("1,234,567", Currency::EUR, 123456700),
            (" 7 ", Currency::EUR, 700),
            ("-3.1", Currency::EUR, -310),
            (".5", Currency::EUR, 50),
            ("5.", Currency::EUR, 500),
            ("0", Currency::EUR, 0),
            ("1,200", Currency::JPY, 1200),
            ("1.234", Currency::KWD, 1234),
            ("0.001", Currency::KWD, 1),
        ];
        for (input, currency, minor) in ok {
            assert_eq!(
                Money::parse("Amount", input, *currency),
                Ok(Money::from_minor(*minor, *currency)),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_amounts_name_the_field() {
        let err = |input: &str, currency| Money::parse("Unit price", input, currency).unwrap_err();
        assert_eq!(
            err("1.234", Currency::EUR).to_string(),
            "Unit price: has 3 decimal places; EUR allows at most 2"
        );
        assert_eq!(
            err("1.5", Currency::JPY).to_string(),
            "Unit price: has 1 decimal places; JPY allows at most 0"
        );
        assert_eq!(err("  ", Currency::EUR).problem, AmountProblem::Empty);
        for bad in [
            "12,34", "1,2345", ",123", "1e3", "€5", "--1", "1.2.3", ".", "-", "1 000",
        ] {
            assert_eq!(
                err(bad, Currency::EUR).problem,
                AmountProblem::NotAnAmount {
                    input: bad.trim().to_string()
                },
                "{bad}"
            );
        }
        assert_eq!(
            err("99999999999999999999", Currency::EUR).problem,
            AmountProblem::TooLarge
        );
        assert_eq!(
            Money::parse_non_negative("Top-up", "-1", Currency::EUR)
                .unwrap_err()
                .to_string(),
            "Top-up: must not be negative"
        );
        let errors: FieldErrors = err("1.234", Currency::EUR).into();
        assert_eq!(
            errors.get("Unit price"),
            Some("has 3 decimal places; EUR allows at most 2")
        );
    }

    #[test]
    fn amounts_format_for_people() {
        let cases: &[(i64, Currency, &str, &str)] = &[
            (16274, Currency::EUR, "€162.74", "162.74"),
            (-500, Currency::EUR, "-€5.00", "-5.00"),
            (5, Currency::EUR, "€0.05", "0.05"),
            (123456789, Currency::EUR, "€1,234,567.89", "1234567.89"),
            (1200, Currency::JPY, "¥1,200", "1200"),
            (-1200, Currency::JPY, "-¥1,200", "-1200"),
            (1234, Currency::KWD, "KWD 1.234", "1.234"),
            (-1, Currency::KWD, "-KWD 0.001", "-0.001"),
            (100000, Currency::CHF, "CHF 1,000.00", "1000.00"),
            (999, Currency::USD, "$9.99", "9.99"),
            (0, Currency::GBP, "£0.00", "0.00"),
            (
                i64::MIN,
                Currency::JPY,
                "-¥9,223,372,036,854,775,808",
                "-9223372036854775808",
            ),
        ];
        for (minor, currency, shown, plain) in cases {
            let money = Money::from_minor(*minor, *currency);
            assert_eq!(money.to_string(), *shown);
            assert_eq!(money.to_plain_string(), *plain);
            if *minor != i64::MIN {
                // What is shown plainly parses back to the same amount.
                assert_eq!(Money::parse("Amount", plain, *currency), Ok(money));
            }
        }
        assert_eq!(eur(16274).to_major().to_string(), "162.74");
    }

    #[test]
    fn percentages_are_exact_and_bounded() {
        assert_eq!(pct("19").value(), Decimal::from(19));
        assert_eq!(pct("7.70 %").to_string(), "7.7%");
        assert_eq!(pct("0").value(), Decimal::ZERO);
        assert_eq!(pct("100").value(), Decimal::ONE_HUNDRED);
        assert!(matches!(
            Percent::parse("100.01"),
            Err(PercentError::OutOfRange { .. })
        ));
        assert!(matches!(
            Percent::parse("-1"),
            Err(PercentError::OutOfRange { .. })
        ));
        assert_eq!(
            Percent::parse("1.23456"),
            Err(PercentError::TooPrecise { found: 5 })
        );
        assert!(matches!(
            Percent::parse("1e2"),
            Err(PercentError::NotANumber { .. })
        ));
        let mut errors = FieldErrors::default();
        assert_eq!(Percent::parse_field(&mut errors, "Discount", "abc"), None);
        assert_eq!(
            errors.to_string(),
            "Discount: 'abc' is not a percentage (write it like 19 or 7.5)"
        );
    }

    #[test]
    fn money_and_percent_round_trip_through_json() {
        let money = eur(-16274);
        let json = serde_json::to_string(&money).unwrap();
        assert_eq!(json, r#"{"minor":-16274,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
        assert!(serde_json::from_str::<Money>(r#"{"minor":1,"currency":"XAU"}"#).is_err());
        let rate = pct("7.7");
        assert_eq!(serde_json::to_string(&rate).unwrap(), r#""7.7""#);
        assert_eq!(serde_json::from_str::<Percent>(r#""7.7""#).unwrap(), rate);
        assert!(serde_json::from_str::<Percent>(r#""170""#).is_err());
    }
}
