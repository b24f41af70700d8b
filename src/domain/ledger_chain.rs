//! The issuance ledger's hash chain: how one entry's hash is computed from its fields and the
//! previous entry's hash. Editing or deleting any entry breaks every link after it.
//! `docs/ledger.md` is the specification; this module is its one implementation.
//!
//! Two formats exist. Format 1 (entries made before schema 4) covers the action, the license
//! and the hash of the artifact. Format 2 also covers what the entry did to the license: the
//! account it puts the license in, the state it moves it to, and a note (a reason). In both,
//! `payload_hash` is the SHA-256 of the artifact the entry published: the signed license for
//! an issue, the signed revocation list for a revocation or a status change that changed the
//! list, 32 zero bytes when nothing was published.

use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::license_status::LicenseStatus;
use sha2::{Digest, Sha256};

/// Domain separation of format 1 entry hashes.
pub const CONTEXT_V1: &[u8] = b"LicenseDesk/ledger/v1\0";
/// Domain separation of format 2 entry hashes.
pub const CONTEXT_V2: &[u8] = b"LicenseDesk/ledger/v2\0";
/// `prev_hash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];
/// `payload_hash` of an entry that published no artifact.
pub const NOTHING_PUBLISHED: [u8; 32] = [0; 32];

/// The format entries are written in now.
pub const CURRENT_FORMAT: u8 = 2;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A license was signed and stored.
    Issue,
    /// A license was revoked (a revocation list was published).
    Revoke,
    /// A license changed state (suspended, enabled, superseded, deleted).
    Status,
    /// A license moved to another account (or to none).
    Link,
    /// Staff changed a license's settings (registration key, administrator password).
    Edit,
    /// Every machine registered to a license was removed (their seats freed).
    Unregister,
    /// A machine's signed deactivation file was applied: its seat is free.
    Deactivate,
}

impl Action {
    /// The stored word (hashed into the entry).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Issue => "issue",
            Action::Revoke => "revoke",
            Action::Status => "status",
            Action::Link => "link",
            Action::Edit => "edit",
            Action::Unregister => "unregister",
            Action::Deactivate => "deactivate",
        }
    }

    /// Every action, in the order they were introduced.
    pub const ALL: [Action; 7] = [
        Action::Issue,
        Action::Revoke,
        Action::Status,
        Action::Link,
        Action::Edit,
        Action::Unregister,
        Action::Deactivate,
    ];

    /// The action for a stored word.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A value that cannot be put into an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("ledger entry format {0} is unknown")]
    UnknownFormat(u8),
    #[error("ledger sequence number {0} is out of range")]
    Sequence(i64),
    #[error("a recorded text (operator, note) is longer than 65535 bytes")]
    TextTooLong,
    #[error("a format 1 entry cannot record an account, a state or a note")]
    NotInFormat1,
}

/// The fields of one ledger entry that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry<'a> {
    pub format: u8,
    pub seq: i64,
    pub action: Action,
    pub license_id: LicenseId,
    /// SHA-256 of the artifact the entry published, or [`NOTHING_PUBLISHED`].
    pub payload_hash: [u8; 32],
    pub prev_hash: [u8; 32],
    pub operator: &'a str,
    pub recorded_at: i64,
    /// Format 2: the account the entry puts the license in (issue, link).
    pub account: Option<AccountId>,
    /// Format 2: the state the entry moves the license to (status).
    pub status: Option<LicenseStatus>,
    /// Format 2: why (a revocation's or a status change's reason).
    pub note: &'a str,
}

fn put_text(h: &mut Sha256, text: &str) -> Result<(), ChainError> {
    let len = u16::try_from(text.len()).map_err(|_| ChainError::TextTooLong)?;
    h.update(len.to_be_bytes());
    h.update(text.as_bytes());
    Ok(())
}

impl ChainEntry<'_> {
    /// The entry's hash; fails for values the layout cannot carry (never clamps them).
    pub fn hash(&self) -> Result<[u8; 32], ChainError> {
        let context = match self.format {
            1 if self.account.is_some() || self.status.is_some() || !self.note.is_empty() => {
                return Err(ChainError::NotInFormat1);
            }
            1 => CONTEXT_V1,
            2 => CONTEXT_V2,
            other => return Err(ChainError::UnknownFormat(other)),
        };
        let seq = u64::try_from(self.seq).map_err(|_| ChainError::Sequence(self.seq))?;
        let action = self.action.as_str().as_bytes();
        let mut h = Sha256::new();
        h.update(context);
        h.update(seq.to_be_bytes());
        // Actions are short constants: their length always fits one byte.
        h.update([action.len() as u8]);
        h.update(action);
        h.update(self.license_id.as_bytes());
        h.update(self.payload_hash);
        h.update(self.prev_hash);
        put_text(&mut h, self.operator)?;
        h.update(self.recorded_at.to_be_bytes());
        if self.format == 2 {
            match self.account {
                None => h.update([0]),
                Some(id) => {
                    h.update([1]);
                    h.update(id.as_bytes());
                }
            }
            put_text(&mut h, self.status.map_or("", LicenseStatus::as_str))?;
            put_text(&mut h, self.note)?;
        }
        Ok(h.finalize().into())
    }
}

/// SHA-256 of an artifact's bytes (what `payload_hash` holds).
pub fn artifact_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ChainEntry<'static> {
        ChainEntry {
            format: 2,
            seq: 1,
            action: Action::Issue,
            license_id: LicenseId(uuid::Uuid::from_bytes([7; 16])),
            payload_hash: [1; 32],
            prev_hash: GENESIS_HASH,
            operator: "ada",
            recorded_at: 1_700_000_000,
            account: Some(AccountId(uuid::Uuid::from_bytes([5; 16]))),
            status: None,
            note: "",
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = entry().hash().unwrap();
        let variants = [
            ChainEntry { seq: 2, ..entry() },
            ChainEntry {
                action: Action::Revoke,
                ..entry()
            },
            ChainEntry {
                license_id: LicenseId(uuid::Uuid::from_bytes([8; 16])),
                ..entry()
            },
            ChainEntry {
                payload_hash: [2; 32],
                ..entry()
            },
            ChainEntry {
                prev_hash: [3; 32],
                ..entry()
            },
            ChainEntry {
                operator: "bob",
                ..entry()
            },
            ChainEntry {
                recorded_at: 1_700_000_001,
                ..entry()
            },
            ChainEntry {
                account: None,
                ..entry()
            },
            ChainEntry {
                account: Some(AccountId(uuid::Uuid::from_bytes([6; 16]))),
                ..entry()
            },
            ChainEntry {
                status: Some(LicenseStatus::Suspended),
                ..entry()
            },
            ChainEntry {
                note: "why",
                ..entry()
            },
        ];
        for v in variants {
            assert_ne!(v.hash().unwrap(), base, "{v:?}");
        }
        assert_eq!(entry().hash().unwrap(), base, "deterministic");
        let v1 = ChainEntry {
            format: 1,
            account: None,
            ..entry()
        };
        assert_ne!(
            v1.hash().unwrap(),
            ChainEntry {
                account: None,
                ..entry()
            }
            .hash()
            .unwrap()
        );
    }

    #[test]
    fn values_that_do_not_fit_are_refused_not_clamped() {
        assert_eq!(
            ChainEntry { seq: -1, ..entry() }.hash(),
            Err(ChainError::Sequence(-1))
        );
        let long = "x".repeat(70_000);
        assert_eq!(
            ChainEntry {
                operator: &long,
                ..entry()
            }
            .hash(),
            Err(ChainError::TextTooLong)
        );
        assert_eq!(
            ChainEntry {
                note: &long,
                ..entry()
            }
            .hash(),
            Err(ChainError::TextTooLong)
        );
        assert_eq!(
            ChainEntry {
                format: 9,
                ..entry()
            }
            .hash(),
            Err(ChainError::UnknownFormat(9))
        );
        assert_eq!(
            ChainEntry {
                format: 1,
                ..entry()
            }
            .hash(),
            Err(ChainError::NotInFormat1)
        );
        for action in ["issue", "revoke", "status", "link"] {
            assert_eq!(Action::parse(action).map(Action::as_str), Some(action));
        }
        assert_eq!(Action::parse("delete"), None);
    }
}
