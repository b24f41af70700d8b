//! The life of an issued license, as one written state machine.
//!
//! ```text
//!             suspend              revoke
//!   Active ─────────────▶ Suspended ──────▶ Revoked
//!     ▲  ◀───────────────    │                 │
//!     │        enable        │ supersede       │ delete
//!     │ supersede            ▼                 ▼
//!     └──────────────▶ Superseded ──delete──▶ Deleted
//!   Active ──revoke──▶ Revoked;  any state but Deleted ──delete──▶ Deleted
//! ```
//!
//! - **Active**: issued and working.
//! - **Suspended**: disabled for now; it is on the published revocation list until enabled.
//! - **Revoked**: disabled for good; on every revocation list from then on.
//! - **Superseded**: replaced by a renewal (a new license with a later expiry); it keeps
//!   working until its own expiry.
//! - **Deleted**: removed from the lists staff see; if it was still working it is revoked too.
//!
//! *Expired* is not a stored state: it is shown for an Active license past its expiry (see
//! [`Shown`]). Every change is a ledger entry; a change the machine does not allow is refused
//! with the reason.

use serde::{Deserialize, Serialize};

/// A license's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    Active,
    Suspended,
    Revoked,
    Superseded,
    Deleted,
}

/// A change staff (or a renewal) can ask for. Revoking has its own path because it always
/// publishes a revocation list with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    Suspend,
    Enable,
    Revoke,
    Supersede,
    Delete,
}

/// Why a change is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {change} a license that is {from}: {why}")]
pub struct TransitionError {
    pub change: &'static str,
    pub from: &'static str,
    pub why: &'static str,
}

impl LicenseStatus {
    /// Every state, in list order.
    pub const ALL: [LicenseStatus; 5] = [
        LicenseStatus::Active,
        LicenseStatus::Suspended,
        LicenseStatus::Revoked,
        LicenseStatus::Superseded,
        LicenseStatus::Deleted,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Active => "active",
            LicenseStatus::Suspended => "suspended",
            LicenseStatus::Revoked => "revoked",
            LicenseStatus::Superseded => "superseded",
            LicenseStatus::Deleted => "deleted",
        }
    }

    /// The state for a stored word.
    pub fn parse(text: &str) -> Option<LicenseStatus> {
        LicenseStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The word people see.
    pub fn label(self) -> &'static str {
        match self {
            LicenseStatus::Active => "Active",
            LicenseStatus::Suspended => "Suspended",
            LicenseStatus::Revoked => "Revoked",
            LicenseStatus::Superseded => "Superseded",
            LicenseStatus::Deleted => "Deleted",
        }
    }

    /// Whether the license is on the published revocation list in this state.
    pub fn is_listed_as_revoked(self) -> bool {
        matches!(
            self,
            LicenseStatus::Suspended | LicenseStatus::Revoked | LicenseStatus::Deleted
        )
    }

    /// The state after `change`, or why it is not allowed.
    pub fn apply(self, change: StatusChange) -> Result<LicenseStatus, TransitionError> {
        use LicenseStatus::*;
        use StatusChange::*;
        let refuse = |why| {
            Err(TransitionError {
                change: change.verb(),
                from: self.as_str(),
                why,
            })
        };
        match (self, change) {
            (Deleted, _) => refuse("it is deleted"),
            (Active, Suspend) => Ok(Suspended),
            (Suspended, Enable) => Ok(Active),
            (Active | Suspended, Revoke) => Ok(Revoked),
            (Active | Suspended, Supersede) => Ok(Superseded),
            (_, Delete) => Ok(Deleted),
            (Suspended, Suspend) => refuse("it is already suspended"),
            (Active, Enable) => refuse("it is already active"),
            (Revoked, _) => refuse("a revoked license stays revoked"),
            (Superseded, _) => refuse("it was replaced by its renewal"),
        }
    }
}

impl StatusChange {
    /// The verb people read ("suspend").
    pub fn verb(self) -> &'static str {
        match self {
            StatusChange::Suspend => "suspend",
            StatusChange::Enable => "enable",
            StatusChange::Revoke => "revoke",
            StatusChange::Supersede => "supersede",
            StatusChange::Delete => "delete",
        }
    }
}

/// What a list shows for a license: its state, or Expired for an active one past its expiry,
/// In progress while a job works on it, Ordered for one bought and not generated yet (the
/// arrays' ordered Pro licenses: no license row exists for it until it is generated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shown {
    Status(LicenseStatus),
    Expired,
    InProgress,
    Ordered,
}

impl Shown {
    /// The state shown at `now` (unix seconds).
    pub fn at(status: LicenseStatus, expires_at: Option<i64>, now: i64) -> Shown {
        match (status, expires_at) {
            (LicenseStatus::Active, Some(end)) if now >= end => Shown::Expired,
            (status, _) => Shown::Status(status),
        }
    }

    /// The word people see.
    pub fn label(self) -> &'static str {
        match self {
            Shown::Status(s) => s.label(),
            Shown::Expired => "Expired",
            Shown::InProgress => "In progress",
            Shown::Ordered => "Ordered",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LicenseStatus::*;
    use super::StatusChange::*;
    use super::*;

    #[test]
    fn every_transition_is_written_down() {
        let table = [
            (Active, Suspend, Ok(Suspended)),
            (Active, Enable, Err("it is already active")),
            (Active, Revoke, Ok(Revoked)),
            (Active, Supersede, Ok(Superseded)),
            (Active, Delete, Ok(Deleted)),
            (Suspended, Suspend, Err("it is already suspended")),
            (Suspended, Enable, Ok(Active)),
            (Suspended, Revoke, Ok(Revoked)),
            (Suspended, Supersede, Ok(Superseded)),
            (Suspended, Delete, Ok(Deleted)),
            (Revoked, Suspend, Err("a revoked license stays revoked")),
            (Revoked, Enable, Err("a revoked license stays revoked")),
            (Revoked, Revoke, Err("a revoked license stays revoked")),
            (Revoked, Supersede, Err("a revoked license stays revoked")),
            (Revoked, Delete, Ok(Deleted)),
            (Superseded, Enable, Err("it was replaced by its renewal")),
            (Superseded, Revoke, Err("it was replaced by its renewal")),
            (Superseded, Delete, Ok(Deleted)),
            (Deleted, Enable, Err("it is deleted")),
            (Deleted, Delete, Err("it is deleted")),
        ];
        for (from, change, expected) in table {
            let got = from.apply(change).map_err(|e| e.why);
            assert_eq!(got, expected, "{from:?} + {change:?}");
        }
        let err = Revoked.apply(Enable).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot enable a license that is revoked: a revoked license stays revoked"
        );
        for status in LicenseStatus::ALL {
            assert_eq!(LicenseStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn expired_is_shown_not_stored() {
        assert_eq!(Shown::at(Active, Some(10), 10), Shown::Expired);
        assert_eq!(Shown::at(Active, Some(10), 9), Shown::Status(Active));
        assert_eq!(Shown::at(Suspended, Some(10), 20), Shown::Status(Suspended));
        assert_eq!(Shown::at(Active, None, i64::MAX).label(), "Active");
        assert!(Suspended.is_listed_as_revoked() && !Superseded.is_listed_as_revoked());
    }
}
