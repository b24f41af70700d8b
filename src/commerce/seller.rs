//! The vendor's own details, printed on every invoice: company, address, country and VAT ID.
//!
//! Staff keep them in Settings → Seller. The country decides between domestic VAT, reverse
//! charge and sales outside the EU ([`super::tax::tax_treatment`]); an EU invoice must carry
//! the seller's VAT ID, so an EU seller without one cannot finalise invoices.

use serde::{Deserialize, Serialize};

use super::tax::{CountryCode, Seller, VatId};
use crate::domain::validation::{FieldErrors, optional_text, required_text};

/// The seller as typed in Settings and as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerDetails {
    pub company: String,
    /// Street, postal code and city, one line each.
    pub address: String,
    /// ISO 3166 alpha-2 code (or a name, as typed; normalised on save).
    pub country: String,
    pub vat_id: String,
    pub email: String,
}

impl SellerDetails {
    /// Every problem, each naming its field.
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        required_text(&mut errors, "Seller company", &self.company, 200);
        let address = self.address.replace(['\n', '\r'], " ");
        required_text(&mut errors, "Seller address", &address, 400);
        let country = crate::domain::country::resolve(&self.country);
        match &country {
            None if self.country.trim().is_empty() => errors.push("Seller country", "is required"),
            None => errors.push(
                "Seller country",
                format!(
                    "'{}' is not an ISO 3166 country name or code",
                    self.country.trim()
                ),
            ),
            Some(_) => {}
        }
        if !self.vat_id.trim().is_empty() {
            match VatId::parse(&self.vat_id) {
                Err(e) => errors.push("Seller VAT ID", e.to_string()),
                Ok(id) => {
                    if let Some(c) = &country
                        && id.country().map(|v| v.as_str().to_string()) != Some(c.code.to_string())
                    {
                        errors.push(
                            "Seller VAT ID",
                            format!(
                                "its prefix {} is not the seller country {}",
                                id.prefix(),
                                c.code
                            ),
                        );
                    }
                }
            }
        } else if country
            .as_ref()
            .and_then(|c| CountryCode::parse(c.code).ok())
            .is_some_and(|c| c.is_eu())
        {
            errors.push("Seller VAT ID", "is required for a seller in the EU");
        }
        if !self.email.trim().is_empty()
            && !email_address::EmailAddress::is_valid(self.email.trim())
        {
            errors.push(
                "Seller email",
                format!("'{}' is not a valid email address", self.email.trim()),
            );
        }
        optional_text(&mut errors, "Seller email", &self.email, 200);
        errors
    }

    /// The details as stored: trimmed, country as its code, VAT ID compact.
    pub fn normalized(&self) -> Result<SellerDetails, FieldErrors> {
        self.validate().into_result()?;
        Ok(SellerDetails {
            company: self.company.trim().to_string(),
            address: self.address.trim().to_string(),
            country: crate::domain::country::resolve(&self.country)
                .map(|c| c.code.to_string())
                .unwrap_or_default(),
            vat_id: VatId::parse(&self.vat_id)
                .map(|v| v.as_str().to_string())
                .unwrap_or_default(),
            email: self.email.trim().to_string(),
        })
    }

    /// True once the seller has been saved (invoices need it).
    pub fn is_set(&self) -> bool {
        !self.company.trim().is_empty() && !self.country.trim().is_empty()
    }

    /// The seller's side of a sale, for pricing and tax.
    pub fn seller(&self) -> Option<Seller> {
        Some(Seller {
            country: CountryCode::parse(&self.country).ok()?,
            vat_id: VatId::parse(&self.vat_id).ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eu_seller_needs_a_vat_id_of_its_country() {
        let mut seller = SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Hauptstr. 1\n10115 Berlin".into(),
            country: "Germany".into(),
            vat_id: String::new(),
            email: "billing@vendor.example".into(),
        };
        assert_eq!(
            seller.validate().get("Seller VAT ID"),
            Some("is required for a seller in the EU")
        );
        seller.vat_id = "ATU13585627".into();
        assert_eq!(
            seller.validate().get("Seller VAT ID"),
            Some("its prefix AT is not the seller country DE")
        );
        seller.vat_id = "de 136 695 976".into();
        let stored = seller.normalized().expect("valid");
        assert_eq!(
            (stored.country.as_str(), stored.vat_id.as_str()),
            ("DE", "DE136695976")
        );
        assert!(stored.seller().expect("seller").vat_id.is_some());
        seller.country = "Narnia".into();
        assert!(seller.validate().get("Seller country").is_some());
    }
}
