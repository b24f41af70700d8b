//! The dashboard's summary: counted on the worker (a count over a million licenses is not a
//! frame's work), after a change, and handed to the Dashboard panel, which keeps it until the
//! next change. Licenses linked to no account count like any other.

use crate::domain::ids::AccountId;
use crate::domain::license_status::LicenseStatus;
use crate::domain::money::Money;
use crate::store::dashboard::{MonthRevenue, WalletGlance};
use crate::store::{self, Store, StoreError};
use chrono::{Datelike, Months, NaiveDate};

/// How far ahead "expiring soon" looks.
pub const EXPIRING_DAYS: i64 = 30;
/// Months of revenue in the chart (this one included).
pub const REVENUE_MONTHS: u32 = 12;
/// Accounts in the capacity chart.
pub const CAPACITY_ACCOUNTS: usize = 10;

/// What the dashboard asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashboardCommand {
    /// Count everything again; with the wallet of `account_id` (the current account).
    Refresh { account_id: Option<AccountId> },
}

impl DashboardCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        "Read dashboard"
    }
}

/// Everything the dashboard shows, counted at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSummary {
    pub at: i64,
    pub accounts: u64,
    /// Every license issued, linked or not.
    pub licenses: u64,
    /// Licenses by stored state; active ones past their expiry are in `expired` instead.
    pub by_status: Vec<(LicenseStatus, u64)>,
    /// Active licenses already past their expiry ("Expired").
    pub expired: u64,
    /// Active licenses expiring within [`EXPIRING_DAYS`].
    pub expiring_soon: u64,
    /// Licenses linked to no account.
    pub unlinked: u64,
    pub arrays: u64,
    /// Arrays by license kind ("Eval", "Dev", "Pro", "Unassigned").
    pub arrays_by_kind: Vec<(String, u64)>,
    /// Arrays holding a Pro license with no serial yet.
    pub ordered: u64,
    pub wallet: Option<WalletGlance>,
    pub unpaid_invoices: u64,
    pub unpaid_total: Vec<Money>,
    /// The first day of the revenue chart's first month.
    pub revenue_from: NaiveDate,
    pub revenue: Vec<MonthRevenue>,
    pub capacity_by_account: Vec<(String, u64)>,
}

impl DashboardSummary {
    /// How many licenses are in `status` (Active without the expired ones).
    pub fn count(&self, status: LicenseStatus) -> u64 {
        let n = self
            .by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        if status == LicenseStatus::Active {
            n.saturating_sub(self.expired)
        } else {
            n
        }
    }

    /// The months of the revenue chart, oldest first ("2025-12" … "2026-11").
    pub fn months(&self) -> Vec<String> {
        (0..REVENUE_MONTHS)
            .filter_map(|i| self.revenue_from.checked_add_months(Months::new(i)))
            .map(|d| format!("{:04}-{:02}", d.year(), d.month()))
            .collect()
    }
}

/// The first day of the month `months - 1` months before `today`'s.
pub fn first_month(today: NaiveDate, months: u32) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first
        .checked_sub_months(Months::new(months.saturating_sub(1)))
        .unwrap_or(first)
}

/// Counts everything.
pub fn summary(
    store: &Store,
    now: i64,
    account_id: Option<AccountId>,
) -> Result<DashboardSummary, StoreError> {
    let conn = store.conn();
    let today = crate::domain::time::utc_date(now).unwrap_or_default();
    let by_status = store::dashboard::licenses_by_status(conn)?;
    let arrays_by_kind = store::dashboard::arrays_by_kind(conn)?
        .into_iter()
        .map(|(k, n)| (if k.is_empty() { "Unassigned".into() } else { k }, n))
        .collect::<Vec<_>>();
    let revenue_from = first_month(today, REVENUE_MONTHS);
    let (unpaid_invoices, unpaid_total) = store::dashboard::unpaid_invoices(conn)?;
    Ok(DashboardSummary {
        at: now,
        accounts: store::accounts::total(conn)?,
        licenses: by_status.iter().map(|(_, n)| n).sum(),
        expired: store::dashboard::active_expiring(conn, i64::MIN, now)?,
        expiring_soon: store::dashboard::active_expiring(
            conn,
            now,
            now.saturating_add(EXPIRING_DAYS * 86_400),
        )?,
        by_status,
        unlinked: store::dashboard::unlinked_licenses(conn)?,
        arrays: arrays_by_kind.iter().map(|(_, n)| n).sum(),
        arrays_by_kind,
        ordered: store::arrays::ordered_count(conn, None)?,
        wallet: match account_id {
            Some(id) => store::dashboard::wallet_glance(conn, id)?,
            None => None,
        },
        unpaid_invoices,
        unpaid_total,
        revenue_from,
        revenue: store::dashboard::revenue_by_month(
            conn,
            &store::commerce::date_text(revenue_from),
        )?,
        capacity_by_account: store::dashboard::capacity_by_account(conn, CAPACITY_ACCOUNTS)?,
    })
}

/// Runs one command (reads only).
pub fn run(
    store: &Store,
    now: i64,
    command: DashboardCommand,
) -> Result<DashboardSummary, StoreError> {
    match command {
        DashboardCommand::Refresh { account_id } => summary(store, now, account_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revenue_chart_covers_twelve_months_up_to_this_one() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(first_month(d(2026, 11, 23), 12), d(2025, 12, 1));
        assert_eq!(first_month(d(2026, 1, 31), 1), d(2026, 1, 1));
    }
}
