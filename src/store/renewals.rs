//! Renewal settings per license (auto-renew on/off and its period), the renewals made (each a
//! successor license, with the idempotency key of the request that made it), and the "Due for
//! renewal" list read by expiry date (indexed).

use super::StoreResult;
use super::commerce::{from_json, to_json};
use super::licenses::{LicenseRow, aliased_columns, read_row};
use super::outbox::{self, Change};
use crate::commerce::terms::Term;
use crate::domain::ids::{AccountId, IdempotencyKey, LicenseId, RenewalId};
use crate::domain::money::Money;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

/// How a license renews itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalSettingRecord {
    pub license_id: LicenseId,
    pub auto_renew: bool,
    pub term: Term,
}

/// A renewal: the old license superseded by the new one, what it cost and how it was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRecord {
    pub id: RenewalId,
    pub account_id: Option<AccountId>,
    pub old_license_id: LicenseId,
    pub new_license_id: LicenseId,
    pub term: Term,
    pub terms: u32,
    pub total: Money,
    /// "wallet", "order" or "invoice".
    pub pay_by: String,
    /// The order or invoice number it was charged to.
    pub reference: String,
    pub idempotency_key: IdempotencyKey,
    pub at: i64,
}

/// Saves a license's renewal setting.
pub fn save_setting(tx: &Transaction<'_>, s: &RenewalSettingRecord, now: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO renewal_settings (license_id, auto_renew, term, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (license_id) DO UPDATE SET auto_renew = excluded.auto_renew,
             term = excluded.term, updated_at = excluded.updated_at",
        params![s.license_id, s.auto_renew, to_json(&s.term)?, now],
    )?;
    outbox::record(tx, &Change::RenewalSetting(s.clone()), now)?;
    Ok(())
}

/// A license's renewal setting, if one was saved.
pub fn setting(
    conn: &Connection,
    license_id: LicenseId,
) -> StoreResult<Option<RenewalSettingRecord>> {
    let row: Option<(bool, String)> = conn
        .query_row(
            "SELECT auto_renew, term FROM renewal_settings WHERE license_id = ?1",
            [license_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(auto_renew, term)| {
        Ok(RenewalSettingRecord {
            license_id,
            auto_renew,
            term: from_json("renewal term", &term)?,
        })
    })
    .transpose()
}

/// Records a renewal.
pub fn insert(tx: &Transaction<'_>, r: &RenewalRecord, now: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO renewals (id, account_id, old_license_id, new_license_id, term, terms,
             currency, total_minor, pay_by, reference, idempotency_key, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            r.id,
            r.account_id,
            r.old_license_id,
            r.new_license_id,
            to_json(&r.term)?,
            r.terms,
            r.total.currency().code(),
            r.total.minor(),
            r.pay_by,
            r.reference,
            r.idempotency_key,
            r.at
        ],
    )?;
    outbox::record(tx, &Change::Renewal(r.clone()), now)?;
    Ok(())
}

/// The renewal a request with `key` made, if any.
pub fn by_key(
    conn: &Connection,
    key: IdempotencyKey,
) -> StoreResult<Option<(RenewalId, LicenseId, LicenseId)>> {
    Ok(conn
        .query_row(
            "SELECT id, old_license_id, new_license_id FROM renewals WHERE idempotency_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// A license due for renewal, with its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRow {
    pub license: LicenseRow,
    pub setting: Option<RenewalSettingRecord>,
}

/// Active licenses this desk issued (it renews only its own) of `account_id` (or of every
/// account) expiring on or before `until`, soonest first: `limit` after `after` (keyset on
/// expiry, then sequence), or from `offset`.
pub fn due(
    conn: &Connection,
    account_id: Option<AccountId>,
    until: i64,
    after: Option<(i64, i64)>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<DueRow>> {
    let (expiry, seq) = after.unwrap_or((i64::MIN, i64::MIN));
    let offset = if after.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, s.auto_renew AS s_auto, s.term AS s_term
         FROM licenses l LEFT JOIN renewal_settings s ON s.license_id = l.license_id
         WHERE l.expires_at IS NOT NULL AND l.expires_at <= ?1 AND l.status = 'active'
             AND l.origin IS NULL
             AND (?2 IS NULL OR l.account_seq = (SELECT seq FROM accounts WHERE id = ?2))
             AND (l.expires_at, l.seq) > (?3, ?4)
         ORDER BY l.expires_at, l.seq LIMIT ?5 OFFSET ?6",
        aliased_columns("l", "l_")
    ))?;
    let rows = stmt.query_map(
        params![
            until,
            account_id,
            expiry,
            seq,
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        |r| {
            let license = read_row(r, "l_")?;
            let auto: Option<bool> = r.get("s_auto")?;
            let term: Option<String> = r.get("s_term")?;
            Ok((license, auto, term))
        },
    )?;
    rows.map(|row| {
        let (license, auto, term) = row?;
        let setting = match (auto, term) {
            (Some(auto_renew), Some(term)) => Some(RenewalSettingRecord {
                license_id: license.license_id,
                auto_renew,
                term: from_json("renewal term", &term)?,
            }),
            _ => None,
        };
        Ok(DueRow { license, setting })
    })
    .collect()
}

/// How many licenses [`due`] finds, counting no further than `cap`.
pub fn due_count(
    conn: &Connection,
    account_id: Option<AccountId>,
    until: i64,
    cap: u64,
) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM (SELECT 1 FROM licenses
             WHERE expires_at IS NOT NULL AND expires_at <= ?1 AND status = 'active'
                 AND origin IS NULL
                 AND (?2 IS NULL OR account_seq = (SELECT seq FROM accounts WHERE id = ?2))
             LIMIT ?3)",
        params![until, account_id, i64::try_from(cap).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?)
}
