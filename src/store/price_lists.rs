//! Price list versions, the seller's details and stored VAT ID validations.
//!
//! A price list version is saved once and never changed (a trigger refuses updates); a new
//! version gets the next number. The seller's details live in the settings table under
//! `seller.*` keys. A VAT ID validation is a fact kept for good: reverse charge rests on the
//! latest one for the exact number.

use super::commerce::{date_text, from_json, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::catalog::PriceList;
use crate::commerce::seller::SellerDetails;
use crate::commerce::tax::{VatCheckOutcome, VatId, VatValidation};
use crate::domain::ids::PriceListId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

/// Saves a new price list version (already checked).
pub fn insert(tx: &Transaction<'_>, list: &PriceList, now: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO price_lists (id, version, name, currency, valid_from, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            PriceListId(list.id),
            list.version,
            list.name,
            list.currency.code(),
            date_text(list.valid_from),
            to_json(list)?,
            now
        ],
    )
    .map_err(|e| {
        if super::is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "price list version",
                value: format!("{} v{}", list.name, list.version),
            }
        } else {
            e.into()
        }
    })?;
    outbox::record(tx, &Change::PriceList(list.clone()), now)?;
    Ok(())
}

/// Every version of every list, newest version first within a list (lists are few and small).
pub fn all(conn: &Connection) -> StoreResult<Vec<PriceList>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM price_lists ORDER BY name COLLATE NOCASE, id, version DESC",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|body| from_json("price list", &body?))
        .collect::<StoreResult<Vec<PriceList>>>()
}

/// One version.
pub fn get(conn: &Connection, id: PriceListId, version: u32) -> StoreResult<Option<PriceList>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM price_lists WHERE id = ?1 AND version = ?2",
            params![id, version],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| from_json("price list", &b)).transpose()
}

/// Every version of one list, newest first.
pub fn versions(conn: &Connection, id: PriceListId) -> StoreResult<Vec<PriceList>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM price_lists WHERE id = ?1 ORDER BY version DESC")?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    rows.map(|body| from_json("price list", &body?)).collect()
}

const SELLER_KEYS: [&str; 5] = [
    "seller.company",
    "seller.address",
    "seller.country",
    "seller.vat_id",
    "seller.email",
];

/// The seller's details (blank until saved).
pub fn seller(conn: &Connection) -> StoreResult<SellerDetails> {
    let mut stmt = conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")?;
    let mut read = |key: &str| -> StoreResult<String> {
        Ok(stmt
            .query_row([key], |r| r.get::<_, String>(0))
            .optional()?
            .unwrap_or_default())
    };
    Ok(SellerDetails {
        company: read(SELLER_KEYS[0])?,
        address: read(SELLER_KEYS[1])?,
        country: read(SELLER_KEYS[2])?,
        vat_id: read(SELLER_KEYS[3])?,
        email: read(SELLER_KEYS[4])?,
    })
}

/// Saves the seller's details (already normalised).
pub fn save_seller(tx: &Transaction<'_>, seller: &SellerDetails) -> StoreResult<()> {
    let values = [
        &seller.company,
        &seller.address,
        &seller.country,
        &seller.vat_id,
        &seller.email,
    ];
    let mut stmt = tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in SELLER_KEYS.iter().zip(values) {
        stmt.execute(params![key, value])?;
    }
    Ok(())
}

/// A stored validation, as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatValidationRecord {
    pub seq: i64,
    pub validation: VatValidation,
}

fn outcome_word(outcome: VatCheckOutcome) -> &'static str {
    match outcome {
        VatCheckOutcome::Valid => "valid",
        VatCheckOutcome::Invalid => "invalid",
        VatCheckOutcome::NotCheckable => "not_checkable",
    }
}

/// Keeps a validation result.
pub fn record_validation(
    tx: &Transaction<'_>,
    validation: &VatValidation,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO vat_validations (vat_id, outcome, body, checked_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            validation.vat_id.as_str(),
            outcome_word(validation.outcome),
            to_json(validation)?,
            validation.checked_at
        ],
    )?;
    let record = VatValidationRecord {
        seq: tx.last_insert_rowid(),
        validation: validation.clone(),
    };
    outbox::record(tx, &Change::VatValidation(record), now)?;
    Ok(())
}

/// The latest validation of exactly this VAT ID, if it was ever checked.
pub fn latest_validation(conn: &Connection, vat_id: &VatId) -> StoreResult<Option<VatValidation>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM vat_validations WHERE vat_id = ?1 ORDER BY seq DESC LIMIT 1",
            [vat_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| from_json("VAT validation", &b)).transpose()
}
