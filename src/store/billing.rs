//! Billing details repository (one row per account).

use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::domain::billing::BillingDetails;
use crate::domain::ids::AccountId;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Saves billing details (already validated and normalised).
pub fn save(
    tx: &Transaction<'_>,
    account_id: AccountId,
    stored: &BillingDetails,
    now: i64,
) -> StoreResult<()> {
    put(tx, account_id, stored, now)?;
    outbox::record(
        tx,
        &Change::Billing {
            account_id,
            details: stored.clone(),
        },
        now,
    )?;
    Ok(())
}

/// Writes billing details without recording a change (what [`save`] stores; a pulled change
/// is applied with it).
pub fn put(
    tx: &Transaction<'_>,
    account_id: AccountId,
    stored: &BillingDetails,
    now: i64,
) -> StoreResult<()> {
    let changed = tx.prepare_cached("INSERT INTO billing_details (account_id, company, contact_name, email, phone,
             address_line1, address_line2, city, postal_code, country, tax_id, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
         WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?1)
         ON CONFLICT (account_id) DO UPDATE SET
             company = excluded.company, contact_name = excluded.contact_name,
             email = excluded.email, phone = excluded.phone,
             address_line1 = excluded.address_line1, address_line2 = excluded.address_line2,
             city = excluded.city, postal_code = excluded.postal_code,
             country = excluded.country, tax_id = excluded.tax_id, updated_at = excluded.updated_at")?
        .execute(params![
            account_id,
            stored.company,
            stored.contact_name,
            stored.email,
            stored.phone,
            stored.address_line1,
            stored.address_line2,
            stored.city,
            stored.postal_code,
            stored.country,
            stored.tax_id,
            now
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "account",
            id: account_id.to_string(),
        });
    }
    Ok(())
}

/// The billing details of an account, if any were saved.
pub fn get(conn: &Connection, account_id: AccountId) -> StoreResult<Option<BillingDetails>> {
    Ok(conn
        .query_row(
            "SELECT company, contact_name, email, phone, address_line1, address_line2, city,
                    postal_code, country, tax_id
             FROM billing_details WHERE account_id = ?1",
            [account_id],
            |r| {
                Ok(BillingDetails {
                    company: r.get(0)?,
                    contact_name: r.get(1)?,
                    email: r.get(2)?,
                    phone: r.get(3)?,
                    address_line1: r.get(4)?,
                    address_line2: r.get(5)?,
                    city: r.get(6)?,
                    postal_code: r.get(7)?,
                    country: r.get(8)?,
                    tax_id: r.get(9)?,
                })
            },
        )
        .optional()?)
}
