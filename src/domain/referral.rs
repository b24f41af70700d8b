//! Referrals: friends an account refers (a name and an email), who move from invited to signed
//! up to customer. The status only moves forward; a friend who became a customer stays one, and
//! that move is what earns the referring account its reward (see docs/billing.md, §15).

use super::validation::{FieldErrors, required_text};
use serde::{Deserialize, Serialize};

/// Longest friend's name accepted.
pub const MAX_NAME_CHARS: usize = 120;
/// Most friends referred in one go.
pub const MAX_FRIENDS_AT_ONCE: usize = 100;

/// Where a referred friend stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    Invited,
    SignedUp,
    /// Became a customer: the referring account's wallet got its reward.
    Customer,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 3] = [
        ReferralStatus::Invited,
        ReferralStatus::SignedUp,
        ReferralStatus::Customer,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Invited => "invited",
            ReferralStatus::SignedUp => "signed_up",
            ReferralStatus::Customer => "customer",
        }
    }

    /// Parses a stored word.
    pub fn parse(word: &str) -> Option<ReferralStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// The word people see.
    pub fn label(self) -> &'static str {
        match self {
            ReferralStatus::Invited => "Invited",
            ReferralStatus::SignedUp => "Signed up",
            ReferralStatus::Customer => "Became customer",
        }
    }

    /// Whether moving to `next` changes anything: `Ok(false)` for the status it already has (a
    /// second click, a change that arrived twice), `Ok(true)` for a later one, and an error
    /// for going back.
    pub fn advance_to(self, next: ReferralStatus) -> Result<bool, String> {
        if next == self {
            Ok(false)
        } else if next > self {
            Ok(true)
        } else {
            Err(format!(
                "a friend who is '{}' cannot go back to '{}'",
                self.label(),
                next.label()
            ))
        }
    }
}

/// One friend as typed in the "Refer friends" form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FriendDraft {
    pub name: String,
    pub email: String,
}

/// A friend's problems, by field ("Name", "Email").
pub fn validate_friend(friend: &FriendDraft) -> FieldErrors {
    let mut errors = FieldErrors::default();
    required_text(&mut errors, "Name", &friend.name, MAX_NAME_CHARS);
    let email = friend.email.trim();
    if email.is_empty() {
        errors.push("Email", "is required");
    } else if !email_address::EmailAddress::is_valid(email) || !email.contains('.') {
        errors.push("Email", format!("'{email}' is not a valid email address"));
    }
    errors
}

/// The friend as stored: name with single spaces, email trimmed.
pub fn normalize(friend: &FriendDraft) -> FriendDraft {
    FriendDraft {
        name: friend.name.split_whitespace().collect::<Vec<_>>().join(" "),
        email: friend.email.trim().to_string(),
    }
}

/// For each row of the form, its problems; plus the rows whose email repeats an earlier row's
/// (without regard to case).
pub fn duplicate_rows(friends: &[FriendDraft]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    friends
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.email.trim().is_empty())
        .filter(|(_, f)| !seen.insert(f.email.trim().to_lowercase()))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use ReferralStatus::*;
        assert_eq!(Invited.advance_to(SignedUp), Ok(true));
        assert_eq!(Invited.advance_to(Customer), Ok(true));
        assert_eq!(Customer.advance_to(Customer), Ok(false), "set twice");
        assert_eq!(
            Customer.advance_to(Invited),
            Err("a friend who is 'Became customer' cannot go back to 'Invited'".into())
        );
        for s in ReferralStatus::ALL {
            assert_eq!(ReferralStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReferralStatus::parse("gold"), None);
    }

    #[test]
    fn friends_need_a_name_and_an_email() {
        let ok = FriendDraft {
            name: " Grace   Hopper ".into(),
            email: " grace@navy.example ".into(),
        };
        assert!(validate_friend(&ok).is_empty());
        assert_eq!(normalize(&ok).name, "Grace Hopper");
        assert_eq!(normalize(&ok).email, "grace@navy.example");
        let bad = FriendDraft {
            name: String::new(),
            email: "grace@".into(),
        };
        let errors = validate_friend(&bad);
        assert_eq!(errors.get("Name"), Some("is required"));
        assert_eq!(
            errors.get("Email"),
            Some("'grace@' is not a valid email address")
        );
        let rows = [ok.clone(), bad, ok.clone()];
        assert_eq!(duplicate_rows(&rows), vec![2]);
    }
}
