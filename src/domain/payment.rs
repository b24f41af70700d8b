//! Payment methods: cards (only brand and last four digits are ever kept) and bank transfer.

use super::ids::{AccountId, PaymentMethodId};
use super::validation::{FieldErrors, required_text};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Card networks people pick from when they type only the last four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    DinersClub,
    Jcb,
    UnionPay,
    Maestro,
    Other,
}

impl CardBrand {
    /// Every brand, in the order the picker shows them.
    pub const ALL: [CardBrand; 9] = [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Discover,
        CardBrand::DinersClub,
        CardBrand::Jcb,
        CardBrand::UnionPay,
        CardBrand::Maestro,
        CardBrand::Other,
    ];

    /// The name shown on screen and stored in the database.
    pub fn label(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
            CardBrand::DinersClub => "Diners Club",
            CardBrand::Jcb => "JCB",
            CardBrand::UnionPay => "UnionPay",
            CardBrand::Maestro => "Maestro",
            CardBrand::Other => "Other card",
        }
    }

    /// Parses a stored label back.
    pub fn from_label(label: &str) -> CardBrand {
        CardBrand::ALL
            .into_iter()
            .find(|b| b.label() == label)
            .unwrap_or(CardBrand::Other)
    }

    fn from_network(card_type: card_validate::Type) -> CardBrand {
        use card_validate::Type;
        match card_type {
            Type::Visa | Type::VisaElectron => CardBrand::Visa,
            Type::MasterCard => CardBrand::Mastercard,
            Type::Amex => CardBrand::Amex,
            Type::Discover => CardBrand::Discover,
            Type::DinersClub => CardBrand::DinersClub,
            Type::JCB => CardBrand::Jcb,
            Type::UnionPay => CardBrand::UnionPay,
            Type::Maestro => CardBrand::Maestro,
            _ => CardBrand::Other,
        }
    }
}

impl fmt::Display for CardBrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a stored payment method is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentDetails {
    /// A card: never more than brand and last four digits.
    Card {
        holder: String,
        brand: CardBrand,
        last4: String,
        exp_month: u32,
        exp_year: i32,
    },
    /// Payment by bank transfer against invoices.
    BankTransfer {
        account_holder: String,
        bank_name: String,
    },
}

impl PaymentDetails {
    /// One line for lists: "Visa •••• 4242, expires 08/2029".
    pub fn summary(&self) -> String {
        match self {
            PaymentDetails::Card {
                brand,
                last4,
                exp_month,
                exp_year,
                ..
            } => format!("{brand} •••• {last4}, expires {exp_month:02}/{exp_year}"),
            PaymentDetails::BankTransfer { bank_name, .. } => {
                format!("Bank transfer via {bank_name}")
            }
        }
    }

    /// True for a card past the last day of its expiry month.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        match self {
            PaymentDetails::Card {
                exp_month,
                exp_year,
                ..
            } => card_expired(*exp_month, *exp_year, today),
            PaymentDetails::BankTransfer { .. } => false,
        }
    }
}

/// A card is valid through the end of its expiry month.
pub fn card_expired(exp_month: u32, exp_year: i32, today: NaiveDate) -> bool {
    (today.year(), today.month()) > (exp_year, exp_month)
}

/// A stored payment method of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: PaymentMethodId,
    pub account_id: AccountId,
    pub details: PaymentDetails,
    pub is_default: bool,
    pub created_at: i64,
}

/// Which kind of method the form is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DraftKind {
    #[default]
    Card,
    BankTransfer,
}

/// The "Add payment method" form as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodDraft {
    pub kind: DraftKind,
    pub holder: String,
    /// The full card number or only its last four digits.
    pub card_number: String,
    /// Used when only the last four digits are typed.
    pub brand: CardBrand,
    pub exp_month: String,
    pub exp_year: String,
    pub bank_name: String,
}

impl Default for PaymentMethodDraft {
    fn default() -> Self {
        Self {
            kind: DraftKind::Card,
            holder: String::new(),
            card_number: String::new(),
            brand: CardBrand::Visa,
            exp_month: String::new(),
            exp_year: String::new(),
            bank_name: String::new(),
        }
    }
}

/// A validated payment method, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPaymentMethod {
    pub details: PaymentDetails,
    /// True when a full card number was typed and everything but brand and last four was
    /// thrown away: the UI says so.
    pub full_number_discarded: bool,
}

impl PaymentMethodDraft {
    /// Validates the form; on success returns only what may be stored.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidPaymentMethod, FieldErrors> {
        let mut errors = FieldErrors::default();
        match self.kind {
            DraftKind::BankTransfer => {
                required_text(&mut errors, "Account holder", &self.holder, 120);
                required_text(&mut errors, "Bank name", &self.bank_name, 120);
                errors.into_result()?;
                Ok(ValidPaymentMethod {
                    details: PaymentDetails::BankTransfer {
                        account_holder: self.holder.trim().to_string(),
                        bank_name: self.bank_name.trim().to_string(),
                    },
                    full_number_discarded: false,
                })
            }
            DraftKind::Card => {
                required_text(&mut errors, "Card holder", &self.holder, 120);
                let card = read_card_number(&mut errors, &self.card_number, self.brand);
                let expiry = read_expiry(&mut errors, &self.exp_month, &self.exp_year, today);
                errors.into_result()?;
                let (Some((brand, last4, full)), Some((exp_month, exp_year))) = (card, expiry)
                else {
                    return Err(FieldErrors::default());
                };
                Ok(ValidPaymentMethod {
                    details: PaymentDetails::Card {
                        holder: self.holder.trim().to_string(),
                        brand,
                        last4,
                        exp_month,
                        exp_year,
                    },
                    full_number_discarded: full,
                })
            }
        }
    }
}

/// Returns (brand, last four, whether a full number was typed).
fn read_card_number(
    errors: &mut FieldErrors,
    typed: &str,
    chosen_brand: CardBrand,
) -> Option<(CardBrand, String, bool)> {
    const FIELD: &str = "Card number";
    let compact: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.is_empty() {
        errors.push(
            FIELD,
            "is required (the full number or its last four digits)",
        );
        return None;
    }
    if !compact.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FIELD, "may hold only digits, spaces and dashes");
        return None;
    }
    let last4 = compact[compact.len().saturating_sub(4)..].to_string();
    match compact.len() {
        4 => Some((chosen_brand, last4, false)),
        12..=19 => match card_validate::Validate::from(&compact) {
            Ok(valid) => Some((CardBrand::from_network(valid.card_type), last4, true)),
            Err(card_validate::ValidateError::InvalidLuhn) => {
                errors.push(
                    FIELD,
                    "is not a valid card number (check digit does not match)",
                );
                None
            }
            Err(_) => {
                errors.push(FIELD, "is not a card number of a known network");
                None
            }
        },
        n => {
            errors.push(
                FIELD,
                format!("has {n} digits: type the full number or only the last four"),
            );
            None
        }
    }
}

fn read_expiry(
    errors: &mut FieldErrors,
    month: &str,
    year: &str,
    today: NaiveDate,
) -> Option<(u32, i32)> {
    let month = match month.trim().parse::<u32>() {
        Ok(m) if (1..=12).contains(&m) => Some(m),
        _ => {
            errors.push("Expiry month", "must be a number from 1 to 12");
            None
        }
    };
    let year = match year.trim().parse::<i32>() {
        Ok(y) if (0..100).contains(&y) && year.trim().len() == 2 => Some(2000 + y),
        Ok(y) if (2000..=2100).contains(&y) => Some(y),
        _ => {
            errors.push("Expiry year", "must be a year such as 2029 or 29");
            None
        }
    };
    let (month, year) = (month?, year?);
    if card_expired(month, year, today) {
        errors.push(
            "Expiry year",
            format!("the card expired at the end of {month:02}/{year}"),
        );
        return None;
    }
    if year > today.year() + 20 {
        errors.push("Expiry year", "is more than 20 years ahead");
        return None;
    }
    Some((month, year))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn card(number: &str) -> PaymentMethodDraft {
        PaymentMethodDraft {
            holder: "Ada Lovelace".into(),
            card_number: number.into(),
            exp_month: "8".into(),
            exp_year: "2029".into(),
            ..Default::default()
        }
    }

    #[test]
    fn full_number_keeps_only_brand_and_last_four() {
        let valid = card("4242 4242 4242 4242")
            .validate(today())
            .expect("valid");
        assert!(valid.full_number_discarded);
        let PaymentDetails::Card { brand, last4, .. } = &valid.details else {
            panic!("card expected")
        };
        assert_eq!((*brand, last4.as_str()), (CardBrand::Visa, "4242"));
        assert!(!format!("{valid:?}").contains("42424242"));
        let amex = card("3782-822463-10005").validate(today()).expect("valid");
        assert_eq!(
            amex.details.summary(),
            "American Express •••• 0005, expires 08/2029"
        );
    }

    #[test]
    fn last_four_uses_the_chosen_brand() {
        let mut draft = card("1234");
        draft.brand = CardBrand::Mastercard;
        let valid = draft.validate(today()).expect("valid");
        assert!(!valid.full_number_discarded);
        assert_eq!(
            valid.details.summary(),
            "Mastercard •••• 1234, expires 08/2029"
        );
    }

    #[test]
    fn bad_cards_name_the_field() {
        let cases = [
            (
                card("4242 4242 4242 4241"),
                "Card number",
                "is not a valid card number (check digit does not match)",
            ),
            (
                card("424242"),
                "Card number",
                "has 6 digits: type the full number or only the last four",
            ),
            (
                card("4242x"),
                "Card number",
                "may hold only digits, spaces and dashes",
            ),
            (
                card(""),
                "Card number",
                "is required (the full number or its last four digits)",
            ),
            (
                PaymentMethodDraft {
                    exp_month: "13".into(),
                    ..card("4242")
                },
                "Expiry month",
                "must be a number from 1 to 12",
            ),
            (
                PaymentMethodDraft {
                    exp_year: "soon".into(),
                    ..card("4242")
                },
                "Expiry year",
                "must be a year such as 2029 or 29",
            ),
            (
                PaymentMethodDraft {
                    exp_month: "10".into(),
                    exp_year: "2026".into(),
                    ..card("4242")
                },
                "Expiry year",
                "the card expired at the end of 10/2026",
            ),
            (
                PaymentMethodDraft {
                    holder: " ".into(),
                    ..card("4242")
                },
                "Card holder",
                "is required",
            ),
        ];
        for (draft, field, message) in cases {
            let errors = draft.validate(today()).expect_err(field);
            assert_eq!(errors.get(field), Some(message), "{field}: {errors}");
        }
    }

    #[test]
    fn expiry_runs_to_the_end_of_the_month() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert!(!card_expired(11, 2026, day(2026, 11, 30)));
        assert!(card_expired(11, 2026, day(2026, 12, 1)));
        assert!(card_expired(12, 2025, day(2026, 1, 1)));
        let two_digit = PaymentMethodDraft {
            exp_year: "29".into(),
            ..card("4242")
        };
        assert!(matches!(
            two_digit.validate(today()).expect("valid").details,
            PaymentDetails::Card { exp_year: 2029, .. }
        ));
    }

    #[test]
    fn bank_transfer_needs_holder_and_bank() {
        let draft = PaymentMethodDraft {
            kind: DraftKind::BankTransfer,
            holder: "Acme GmbH".into(),
            bank_name: String::new(),
            ..Default::default()
        };
        assert_eq!(
            draft.validate(today()).expect_err("bank").get("Bank name"),
            Some("is required")
        );
        let ok = PaymentMethodDraft {
            bank_name: "Sparkasse".into(),
            ..draft
        };
        assert_eq!(
            ok.validate(today()).expect("ok").details.summary(),
            "Bank transfer via Sparkasse"
        );
    }
}
