//! Billing details of an account: who pays and where invoices go.

use super::country;
use super::validation::{FieldErrors, optional_text, required_text};
use serde::{Deserialize, Serialize};

/// Billing details as typed and as stored (country holds the alpha-2 code once saved).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingDetails {
    pub company: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub postal_code: String,
    /// A country name or ISO code as typed; normalized to alpha-2 by [`BillingDetails::normalized`].
    pub country: String,
    pub tax_id: String,
}

impl BillingDetails {
    /// Every problem with the form, each naming its field.
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        required_text(&mut errors, "Company", &self.company, 200);
        required_text(&mut errors, "Contact name", &self.contact_name, 120);
        validate_email(&mut errors, &self.email);
        validate_phone(&mut errors, &self.phone);
        required_text(&mut errors, "Address line 1", &self.address_line1, 200);
        optional_text(&mut errors, "Address line 2", &self.address_line2, 200);
        required_text(&mut errors, "City", &self.city, 120);
        validate_postal_code(&mut errors, &self.postal_code);
        validate_country(&mut errors, &self.country);
        validate_tax_id(&mut errors, &self.tax_id);
        errors
    }

    /// The details as they are stored: trimmed, country as its alpha-2 code, tax ID upper case
    /// without spaces. Fails with the same messages as [`BillingDetails::validate`].
    pub fn normalized(&self) -> Result<BillingDetails, FieldErrors> {
        self.validate().into_result()?;
        let country = country::resolve(&self.country)
            .map(|c| c.code.to_string())
            .unwrap_or_default();
        Ok(BillingDetails {
            company: self.company.trim().to_string(),
            contact_name: self.contact_name.trim().to_string(),
            email: self.email.trim().to_string(),
            phone: self.phone.trim().to_string(),
            address_line1: self.address_line1.trim().to_string(),
            address_line2: self.address_line2.trim().to_string(),
            city: self.city.trim().to_string(),
            postal_code: self.postal_code.trim().to_uppercase(),
            country,
            tax_id: self
                .tax_id
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase(),
        })
    }
}

fn validate_email(errors: &mut FieldErrors, email: &str) {
    let email = email.trim();
    if email.is_empty() {
        errors.push("Email", "is required");
    } else if !email_address::EmailAddress::is_valid(email) || !email.contains('.') {
        errors.push("Email", format!("'{email}' is not a valid email address"));
    }
}

fn validate_phone(errors: &mut FieldErrors, phone: &str) {
    let phone = phone.trim();
    if phone.is_empty() {
        return;
    }
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.chars().all(allowed) {
        errors.push("Phone", "may hold only digits, spaces and + - ( ) .");
    } else if !(6..=15).contains(&digits) {
        errors.push("Phone", format!("needs 6 to 15 digits, has {digits}"));
    }
}

fn validate_postal_code(errors: &mut FieldErrors, code: &str) {
    let code = code.trim();
    if code.is_empty() {
        errors.push("Postal code", "is required");
    } else if code.len() > 12
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        errors.push(
            "Postal code",
            "may hold up to 12 letters, digits, spaces or dashes",
        );
    }
}

fn validate_country(errors: &mut FieldErrors, typed: &str) {
    if typed.trim().is_empty() {
        errors.push("Country", "is required");
    } else if country::resolve(typed).is_none() {
        errors.push(
            "Country",
            format!("'{}' is not an ISO 3166 country name or code", typed.trim()),
        );
    }
}

fn validate_tax_id(errors: &mut FieldErrors, tax_id: &str) {
    let compact: String = tax_id.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return;
    }
    if !(4..=20).contains(&compact.len())
        || !compact
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        errors.push("Tax ID", "must be 4 to 20 letters, digits, dashes or dots");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> BillingDetails {
        BillingDetails {
            company: "Acme Storage GmbH".into(),
            contact_name: "Ada Lovelace".into(),
            email: "ada@acme.example".into(),
            phone: "+49 30 1234567".into(),
            address_line1: "Hauptstr. 1".into(),
            address_line2: String::new(),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "Germany".into(),
            tax_id: "de 123456789".into(),
        }
    }

    #[test]
    fn valid_details_normalize() {
        let stored = valid().normalized().expect("valid");
        assert_eq!(stored.country, "DE");
        assert_eq!(stored.tax_id, "DE123456789");
    }

    #[test]
    fn each_bad_field_is_named() {
        type BreakField = fn(&mut BillingDetails);
        let cases: &[(&str, BreakField, &str)] = &[
            ("Company", |b| b.company.clear(), "is required"),
            (
                "Contact name",
                |b| b.contact_name = " ".into(),
                "is required",
            ),
            ("Email", |b| b.email.clear(), "is required"),
            (
                "Email",
                |b| b.email = "ada-at-acme".into(),
                "'ada-at-acme' is not a valid email address",
            ),
            (
                "Email",
                |b| b.email = "ada@localhost".into(),
                "'ada@localhost' is not a valid email address",
            ),
            (
                "Phone",
                |b| b.phone = "call me".into(),
                "may hold only digits, spaces and + - ( ) .",
            ),
            (
                "Phone",
                |b| b.phone = "+1 23".into(),
                "needs 6 to 15 digits, has 3",
            ),
            ("Address line 1", |b| b.address_line1.clear(), "is required"),
            ("City", |b| b.city.clear(), "is required"),
            (
                "Postal code",
                |b| b.postal_code = "1234567890123".into(),
                "may hold up to 12 letters, digits, spaces or dashes",
            ),
            ("Country", |b| b.country.clear(), "is required"),
            (
                "Country",
                |b| b.country = "Narnia".into(),
                "'Narnia' is not an ISO 3166 country name or code",
            ),
            (
                "Tax ID",
                |b| b.tax_id = "DE#1".into(),
                "must be 4 to 20 letters, digits, dashes or dots",
            ),
        ];
        for (field, break_it, message) in cases {
            let mut details = valid();
            break_it(&mut details);
            let errors = details.validate();
            assert_eq!(errors.get(field), Some(*message), "{field}");
            assert_eq!(errors.iter().count(), 1, "only {field} is wrong: {errors}");
            assert!(details.normalized().is_err());
        }
    }

    #[test]
    fn optional_fields_may_be_blank() {
        let mut details = valid();
        details.phone.clear();
        details.tax_id.clear();
        details.address_line2.clear();
        assert!(details.validate().is_empty());
    }
}
