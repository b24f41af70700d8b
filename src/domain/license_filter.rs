//! What the license list can be narrowed to, as staff (or a dashboard card) ask for it. The
//! store turns it into indexed SQL; the Licenses panel shows it as its filter row.

use crate::domain::ids::AccountId;
use crate::domain::license_status::LicenseStatus;

/// A filter over issued licenses. Every field that is set must hold; an empty filter lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseFilter {
    /// Part of the license id (hex, with or without dashes).
    pub id: String,
    /// Part of the customer name.
    pub name: String,
    /// Part of the bound IP address.
    pub ip: String,
    /// Part of the product (software) name.
    pub software: String,
    /// The order period (term) the license was bought for: "monthly", "annual", ….
    pub order_period: Option<String>,
    /// Expiring on or after this time (unix seconds).
    pub expires_from: Option<i64>,
    /// Expiring before this time (unix seconds).
    pub expires_until: Option<i64>,
    /// Only these states (empty: any). "Expired" is asked with `expired_at`.
    pub statuses: Vec<LicenseStatus>,
    /// Only active licenses already past their expiry at this time (the "Expired" chip).
    pub expired_at: Option<i64>,
    /// Only licenses of this account.
    pub account: Option<AccountId>,
    /// Only licenses linked to no account.
    pub unlinked: bool,
    /// Only these licenses (empty: any), e.g. those a running job works on ("In progress").
    pub only: Vec<crate::domain::ids::LicenseId>,
}

impl LicenseFilter {
    /// True when nothing narrows the list.
    pub fn is_empty(&self) -> bool {
        *self == LicenseFilter::default()
    }

    /// Active licenses expiring within `days` days of `now` (a dashboard card).
    pub fn expiring_within(now: i64, days: i64) -> Self {
        LicenseFilter {
            statuses: vec![LicenseStatus::Active],
            expires_from: Some(now),
            expires_until: Some(now.saturating_add(days.saturating_mul(86_400))),
            ..LicenseFilter::default()
        }
    }

    /// Licenses in one state (a dashboard card).
    pub fn with_status(status: LicenseStatus) -> Self {
        LicenseFilter {
            statuses: vec![status],
            ..LicenseFilter::default()
        }
    }
}
