//! The issuance ledger's hash chain: how one entry's hash is computed from its fields and the
//! previous entry's hash. Editing or deleting any entry breaks every link after it.
//!
//! `entry_hash = SHA-256("LicenseDesk/ledger/v1" 0x00 || seq u64 BE || action length u8 ||
//! action || license id (16 bytes) || payload_hash (32) || prev_hash (32) || operator length
//! u16 BE || operator UTF-8 || recorded_at i64 BE)`; the first entry's `prev_hash` is 32 zero
//! bytes. Hashes are stored as lower-case hex.

use sha2::{Digest, Sha256};

/// Domain separation for ledger hashes.
pub const LEDGER_CONTEXT: &[u8] = b"LicenseDesk/ledger/v1\0";
/// `prev_hash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The fields of one ledger entry that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry<'a> {
    pub seq: u64,
    pub action: &'a str,
    pub license_id: [u8; 16],
    pub payload_hash: [u8; 32],
    pub prev_hash: [u8; 32],
    pub operator: &'a str,
    pub recorded_at: i64,
}

impl ChainEntry<'_> {
    /// The entry's hash.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(LEDGER_CONTEXT);
        h.update(self.seq.to_be_bytes());
        h.update([u8::try_from(self.action.len()).unwrap_or(u8::MAX)]);
        h.update(self.action.as_bytes());
        h.update(self.license_id);
        h.update(self.payload_hash);
        h.update(self.prev_hash);
        let operator = &self.operator.as_bytes()[..self.operator.len().min(u16::MAX as usize)];
        h.update(
            u16::try_from(operator.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        h.update(operator);
        h.update(self.recorded_at.to_be_bytes());
        h.finalize().into()
    }
}

/// SHA-256 of an artifact's bytes (what a ledger entry's `payload_hash` is).
pub fn payload_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Parses a stored 64-character hex hash.
pub fn parse_hash(hex_text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(hex_text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ChainEntry<'static> {
        ChainEntry {
            seq: 1,
            action: "issue",
            license_id: [7; 16],
            payload_hash: [1; 32],
            prev_hash: GENESIS_HASH,
            operator: "ada",
            recorded_at: 1_700_000_000,
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = entry().hash();
        let variants = [
            ChainEntry { seq: 2, ..entry() },
            ChainEntry {
                action: "revoke",
                ..entry()
            },
            ChainEntry {
                license_id: [8; 16],
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
            assert_ne!(v.hash(), base, "{v:?}");
        }
        assert_eq!(entry().hash(), base, "deterministic");
        assert_eq!(parse_hash(&hex::encode(base)), Some(base));
        assert_eq!(parse_hash("zz"), None);
    }
}
