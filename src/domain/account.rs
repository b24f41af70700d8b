//! Accounts are the vendor's customers. Each has a short numeric wallet ID people can read
//! out on the phone ("Wallet ID: 168").

use super::validation::{FieldErrors, required_text};

/// The first wallet ID handed out; later ones count up from here.
pub const FIRST_WALLET_ID: i64 = 100;
/// Longest account name accepted.
pub const MAX_NAME_CHARS: usize = 120;

/// A customer account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// UUIDv7, time-ordered.
    pub id: String,
    /// The customer's display name, unique without regard to case.
    pub name: String,
    /// Short number shown on screen.
    pub wallet_id: i64,
    /// Unix seconds.
    pub created_at: i64,
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
