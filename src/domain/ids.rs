//! Identifiers as types: an account id cannot be passed where a license id is expected.
//!
//! Every id is a UUID (UUIDv7 for the ones this desk makes, so they sort by creation time and
//! keep inserts local in the index). The store keeps them as 16-byte BLOBs; people see the
//! hyphenated text form, or a short prefix of it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a {what} (a UUID like 0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f)")]
pub struct BadId {
    /// What kind of id was expected ("license id").
    pub what: &'static str,
    /// The text as given (cut to 80 characters).
    pub text: String,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// What people call this id, in messages.
            pub const WHAT: &'static str = $what;

            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The 16 bytes of the id.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// The first eight hex digits, for file names and compact lists.
            pub fn short(&self) -> String {
                let mut text = self.0.simple().to_string();
                text.truncate(8);
                text
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = BadId;

            /// Accepts the hyphenated form in any case, with surrounding spaces.
            fn from_str(text: &str) -> Result<Self, BadId> {
                parse_uuid(text, $what).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

uuid_id!(
    /// A customer account.
    AccountId,
    "account id"
);
uuid_id!(
    /// A payment method of an account.
    PaymentMethodId,
    "payment method id"
);
uuid_id!(
    /// An issued license (the id inside the signed payload).
    LicenseId,
    "license id"
);
uuid_id!(
    /// One change in the sync outbox (made by the desk that made the change).
    ChangeId,
    "change id"
);
uuid_id!(
    /// This desk (one installation's database).
    DeskId,
    "desk id"
);

uuid_id!(
    /// One version line of a price list (all versions of a list share it).
    PriceListId,
    "price list id"
);
uuid_id!(
    /// One version of a quote.
    QuoteId,
    "quote id"
);
uuid_id!(
    /// An order.
    OrderId,
    "order id"
);
uuid_id!(
    /// An invoice (a draft has an id before it has a number).
    InvoiceId,
    "invoice id"
);
uuid_id!(
    /// A credit note.
    CreditNoteId,
    "credit note id"
);
uuid_id!(
    /// One wallet ledger entry.
    WalletEntryId,
    "wallet entry id"
);
uuid_id!(
    /// A named-seat contract.
    SeatContractId,
    "seat contract id"
);
uuid_id!(
    /// One booked change of a seat contract's count.
    SeatChangeId,
    "seat change id"
);
uuid_id!(
    /// A seat given to a named user.
    SeatAssignmentId,
    "seat assignment id"
);
uuid_id!(
    /// A license renewal.
    RenewalId,
    "renewal id"
);
uuid_id!(
    /// A transfer of a license to a partner account.
    TransferId,
    "transfer id"
);
uuid_id!(
    /// A confirmation message in the mail outbox.
    MailId,
    "mail id"
);
uuid_id!(
    /// A customer's storage array (a cluster known by its UUID).
    ArrayId,
    "array id"
);
uuid_id!(
    /// A friend referred by an account.
    ReferralId,
    "referral id"
);
uuid_id!(
    /// A client-made key that makes a placement or payment happen at most once: the review
    /// page makes one when it opens, and a second request with it returns the first result.
    IdempotencyKey,
    "idempotency key"
);

/// Parses the hyphenated UUID form only: one text per id.
fn parse_uuid(text: &str, what: &'static str) -> Result<Uuid, BadId> {
    let trimmed = text.trim();
    let bad = || BadId {
        what,
        text: trimmed.chars().take(80).collect(),
    };
    if trimmed.len() != 36 {
        return Err(bad());
    }
    Uuid::try_parse(trimmed).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_their_text_and_nothing_else() {
        let id = LicenseId::new();
        assert_eq!(id.to_string().parse::<LicenseId>(), Ok(id));
        assert_eq!(
            format!("  {}  ", id.to_string().to_uppercase()).parse::<LicenseId>(),
            Ok(id)
        );
        assert_eq!(id.short().len(), 8);
        for bad in [
            "",
            "nope",
            "0192f5a07c1e7d3a9b4f1a2b3c4d5e6f",
            "{0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f}",
        ] {
            let err = bad.parse::<AccountId>().expect_err(bad);
            assert_eq!(err.what, "account id");
        }
        assert!(AccountId::new() < AccountId::new(), "time-ordered");
    }
}
