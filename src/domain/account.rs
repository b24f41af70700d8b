//! Accounts are the vendor's customers. Each has a short numeric wallet ID people can read
//! out on the phone ("Wallet ID: 168").

use super::ids::AccountId;
use super::validation::{FieldErrors, required_text};
use serde::{Deserialize, Serialize};

/// Longest account name accepted.
pub const MAX_NAME_CHARS: usize = 120;

/// A customer account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    /// The customer's display name, unique without regard to case.
    pub name: String,
    /// Short number shown on screen.
    pub wallet_id: i64,
    /// False while the wallet ID is provisional (not from a block this desk holds).
    pub wallet_id_final: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl Account {
    /// "Wallet ID: 168", or "Wallet ID: 100231 (provisional)".
    pub fn wallet_label(&self) -> String {
        if self.wallet_id_final {
            format!("Wallet ID: {}", self.wallet_id)
        } else {
            format!("Wallet ID: {} (provisional)", self.wallet_id)
        }
    }
}

/// Validates an account name as typed.
pub fn validate_name(name: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    required_text(&mut errors, "Account name", name, MAX_NAME_CHARS);
    errors
}

/// The name as it is stored: trimmed, inner runs of whitespace folded to one space.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_required_and_normalized() {
        assert_eq!(validate_name(" ").get("Account name"), Some("is required"));
        assert!(validate_name("Acme Storage").is_empty());
        assert!(!validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_empty());
        assert_eq!(normalize_name("  Acme   Storage  Inc "), "Acme Storage Inc");
    }
}
