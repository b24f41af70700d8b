//! The dashboard's numbers, each one indexed query (or a scan of a small table): licenses by
//! state, expiring soon and not linked to an account; arrays by kind and "Ordered"; unpaid
//! invoices; revenue by month; capacity assigned by account. The worker reads them after a
//! change, never the UI on a frame.

use super::StoreResult;
use crate::commerce::catalog::Product;
use crate::domain::ids::AccountId;
use crate::domain::license_status::LicenseStatus;
use crate::domain::money::Money;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

/// Licenses by stored state (a scan of the smallest index led by status when there is one,
/// else of the table: on the worker, never on a frame).
pub fn licenses_by_status(conn: &Connection) -> StoreResult<Vec<(LicenseStatus, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM licenses GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
    let mut counts = Vec::new();
    for row in rows {
        let (word, n) = row?;
        if let Some(status) = LicenseStatus::parse(&word) {
            counts.push((status, n));
        }
    }
    Ok(counts)
}

/// Active licenses whose expiry is in `[from, until)`: one range of the expiry index, or —
/// with an index on (status, kind, expires_at), which the license list wants anyway — three
/// ranges read from the index alone (the `kind IN` lets SQLite use all three columns).
pub fn active_expiring(conn: &Connection, from: i64, until: i64) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM licenses WHERE status = 'active' AND kind IN ('Eval', 'Dev', 'Pro')
         AND expires_at >= ?1 AND expires_at < ?2",
        params![from, until],
        |r| r.get(0),
    )?)
}

/// Licenses linked to no account (a free-text customer only).
pub fn unlinked_licenses(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM licenses WHERE account_seq IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Arrays by license kind ("Eval", "Dev", "Pro", or "" while unassigned).
pub fn arrays_by_kind(conn: &Connection) -> StoreResult<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(kind, ''), count(*) FROM arrays GROUP BY kind ORDER BY kind",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Capacity (TB) assigned to arrays, per account, largest first (at most `limit`).
pub fn capacity_by_account(conn: &Connection, limit: usize) -> StoreResult<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.name, sum(a.capacity_tb) AS tb FROM arrays a JOIN accounts c ON c.id = a.account_id
         GROUP BY a.account_id HAVING tb > 0 ORDER BY tb DESC, c.name LIMIT ?1",
    )?;
    let rows = stmt.query_map([super::limit(limit)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Unpaid (finalised, not paid, not void) invoices: how many, and their sum per currency.
pub fn unpaid_invoices(conn: &Connection) -> StoreResult<(u64, Vec<Money>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT currency, count(*), sum(total_minor) FROM invoices WHERE status = 'unpaid'
         GROUP BY currency ORDER BY currency",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut count = 0;
    let mut sums = Vec::new();
    for row in rows {
        let (code, n, minor) = row?;
        count += n;
        sums.push(super::commerce::money(minor, &code)?);
    }
    Ok((count, sums))
}

/// Revenue of one month in one currency: finalised invoices (unpaid or paid) issued in it,
/// less the credit notes issued in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthRevenue {
    /// "2026-11".
    pub month: String,
    pub amount: Money,
}

/// Revenue by month from `first_day` ("YYYY-MM-DD", the first of a month) on, per currency,
/// in month order.
pub fn revenue_by_month(conn: &Connection, first_day: &str) -> StoreResult<Vec<MonthRevenue>> {
    let mut stmt = conn.prepare_cached(
        "SELECT month, currency, sum(minor) FROM (
             SELECT substr(issued_on, 1, 7) AS month, currency, total_minor AS minor
             FROM invoices WHERE status IN ('unpaid', 'paid') AND issued_on >= ?1
             UNION ALL
             SELECT substr(issued_on, 1, 7), currency, -total_minor
             FROM credit_notes WHERE issued_on >= ?1)
         GROUP BY month, currency ORDER BY month, currency",
    )?;
    let rows = stmt.query_map([first_day], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (month, code, minor) = row?;
        out.push(MonthRevenue {
            month,
            amount: super::commerce::money(minor, &code)?,
        });
    }
    Ok(out)
}

/// An account's wallet at a glance: money and what is free to assign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletGlance {
    pub account_id: AccountId,
    pub account_name: String,
    pub money: Option<Money>,
    pub pro_available: u64,
    pub tb_available: u64,
}

/// The wallet of `account_id` at a glance (None when the account is gone).
pub fn wallet_glance(
    conn: &Connection,
    account_id: AccountId,
) -> StoreResult<Option<WalletGlance>> {
    let Some(account) = super::accounts::get(conn, account_id)? else {
        return Ok(None);
    };
    let balances = super::wallet::balances(conn, account_id)?;
    let available = |p| {
        balances
            .entitlements
            .get(&p)
            .map_or(0, crate::commerce::wallet::EntitlementCount::available)
    };
    Ok(Some(WalletGlance {
        account_id,
        account_name: account.name,
        money: balances.money,
        pro_available: available(Product::ProLicense),
        tb_available: available(Product::CapacityTb),
    }))
}
