//! The issuance ledger's hash chain: how one entry's hash is computed from its fields and the
//! previous entry's hash, and what each entry's record hash covers. Editing or deleting any
//! entry, or any column of what an entry records, breaks the chain. `docs/ledger.md` is the
//! specification; this module is its one implementation.
//!
//! Two formats exist. Format 1 (entries made before schema 4) hashes only the artifact: the
//! signed license's bytes, or the revocation list published with a revocation. Format 2 hashes a
//! *record* of everything the entry asserts: for an issue, the artifact and the account the
//! license belongs to; for a revocation, the license, the reason, the time and the list.

use crate::domain::ids::{AccountId, LicenseId};
use sha2::{Digest, Sha256};

/// Domain separation of format 1 entry hashes.
pub const CONTEXT_V1: &[u8] = b"LicenseDesk/ledger/v1\0";
/// Domain separation of format 2 entry hashes.
pub const CONTEXT_V2: &[u8] = b"LicenseDesk/ledger/v2\0";
/// Domain separation of format 2 issue records.
pub const ISSUE_RECORD_CONTEXT: &[u8] = b"LicenseDesk/ledger/issue/v2\0";
/// Domain separation of format 2 revocation records.
pub const REVOKE_RECORD_CONTEXT: &[u8] = b"LicenseDesk/ledger/revoke/v2\0";
/// `prev_hash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The format entries are written in now.
pub const CURRENT_FORMAT: u8 = 2;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Issue,
    Revoke,
}

impl Action {
    /// The stored word (hashed into the entry).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Issue => "issue",
            Action::Revoke => "revoke",
        }
    }

    /// The action for a stored word.
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "issue" => Some(Action::Issue),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }
}

/// A value that cannot be put into an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("ledger entry {0}: unknown format")]
    UnknownFormat(u8),
    #[error("ledger sequence number {0} is out of range")]
    Sequence(i64),
    #[error("operator name is longer than 65535 bytes")]
    OperatorTooLong,
    #[error("a recorded text is longer than 65535 bytes")]
    TextTooLong,
}

/// The fields of one ledger entry that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry<'a> {
    pub format: u8,
    pub seq: i64,
    pub action: Action,
    pub license_id: LicenseId,
    /// Format 1: SHA-256 of the artifact. Format 2: the record hash.
    pub payload_hash: [u8; 32],
    pub prev_hash: [u8; 32],
    pub operator: &'a str,
    pub recorded_at: i64,
}

impl ChainEntry<'_> {
    /// The entry's hash; fails for values the layout cannot carry (never clamps them).
    pub fn hash(&self) -> Result<[u8; 32], ChainError> {
        let context = match self.format {
            1 => CONTEXT_V1,
            2 => CONTEXT_V2,
            other => return Err(ChainError::UnknownFormat(other)),
        };
        let seq = u64::try_from(self.seq).map_err(|_| ChainError::Sequence(self.seq))?;
        let action = self.action.as_str().as_bytes();
        let operator = self.operator.as_bytes();
        let operator_len =
            u16::try_from(operator.len()).map_err(|_| ChainError::OperatorTooLong)?;
        let mut h = Sha256::new();
        h.update(context);
        h.update(seq.to_be_bytes());
        // Actions are short constants: their length always fits one byte.
        h.update([action.len() as u8]);
        h.update(action);
        h.update(self.license_id.as_bytes());
        h.update(self.payload_hash);
        h.update(self.prev_hash);
        h.update(operator_len.to_be_bytes());
        h.update(operator);
        h.update(self.recorded_at.to_be_bytes());
        Ok(h.finalize().into())
    }
}

/// Format 1 payload hash: SHA-256 of an artifact's bytes.
pub fn artifact_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn put_bytes(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn put_text(h: &mut Sha256, text: &str) -> Result<(), ChainError> {
    let len = u16::try_from(text.len()).map_err(|_| ChainError::TextTooLong)?;
    h.update(len.to_be_bytes());
    h.update(text.as_bytes());
    Ok(())
}

/// Format 2 record of an issue: the signed license's bytes and the account it belongs to.
pub fn issue_record_hash(artifact: &[u8], account: Option<AccountId>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ISSUE_RECORD_CONTEXT);
    put_bytes(&mut h, artifact);
    match account {
        None => h.update([0]),
        Some(id) => {
            h.update([1]);
            h.update(id.as_bytes());
        }
    }
    h.finalize().into()
}

/// Format 2 record of a revocation: the reason and time as stored, and the signed list that
/// was published with it.
pub fn revoke_record_hash(
    reason: &str,
    revoked_at: i64,
    list_bytes: &[u8],
) -> Result<[u8; 32], ChainError> {
    let mut h = Sha256::new();
    h.update(REVOKE_RECORD_CONTEXT);
    put_text(&mut h, reason)?;
    h.update(revoked_at.to_be_bytes());
    put_bytes(&mut h, list_bytes);
    Ok(h.finalize().into())
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
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = entry().hash().unwrap();
        let variants = [
            ChainEntry { seq: 2, ..entry() },
            ChainEntry {
                format: 1,
                ..entry()
            },
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
        ];
        for v in variants {
            assert_ne!(v.hash().unwrap(), base, "{v:?}");
        }
        assert_eq!(entry().hash().unwrap(), base, "deterministic");
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
            Err(ChainError::OperatorTooLong)
        );
        assert_eq!(
            ChainEntry {
                format: 9,
                ..entry()
            }
            .hash(),
            Err(ChainError::UnknownFormat(9))
        );
        assert!(revoke_record_hash(&long, 0, b"list").is_err());
    }

    #[test]
    fn records_cover_what_they_assert() {
        let account = AccountId(uuid::Uuid::from_bytes([5; 16]));
        let base = issue_record_hash(b"license", Some(account));
        assert_ne!(issue_record_hash(b"license", None), base);
        assert_ne!(issue_record_hash(b"licensf", Some(account)), base);
        assert_ne!(
            issue_record_hash(b"license", Some(AccountId(uuid::Uuid::from_bytes([6; 16])))),
            base
        );
        let r = revoke_record_hash("leaked", 10, b"list").unwrap();
        assert_ne!(revoke_record_hash("leakeD", 10, b"list").unwrap(), r);
        assert_ne!(revoke_record_hash("leaked", 11, b"list").unwrap(), r);
        assert_ne!(revoke_record_hash("leaked", 10, b"lisT").unwrap(), r);
    }
}
