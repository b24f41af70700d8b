//! Signed ledger checkpoints. A hash chain cannot show its own tail being cut off, so the head
//! (entry count and last hash) is signed with the active key and kept outside the database;
//! verifying the ledger against a checkpoint catches entries deleted from the end.
//!
//! The file is six lines, each ending in LF, exactly:
//!
//! ```text
//! License Desk ledger checkpoint v1
//! Entries: <decimal, no leading zeros>
//! Head: <64 lower-case hex: entry_hash of entry N>
//! Created: <unix seconds, decimal>
//! Key: <16 lower-case hex: key id>
//! Signature: <128 lower-case hex>
//! ```
//!
//! Numbers are ASCII digits only: no sign, no leading zeros, no spaces.
//!
//! The signature is Ed25519 over `"LicenseDesk/ledger-checkpoint/v1" 0x00 || entries u64 BE ||
//! head (32) || created i64 BE || key id (8)`.

use ed25519_dalek::{Signature, Signer};
use licensekey::{KeyId, KeyRing, SigningKey};

const TITLE: &str = "License Desk ledger checkpoint v1";
const CONTEXT: &[u8] = b"LicenseDesk/ledger-checkpoint/v1\0";

/// A signed statement of the ledger's head at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub entries: u64,
    pub head: [u8; 32],
    pub created_at: i64,
    pub key_id: KeyId,
    signature: [u8; 64],
}

/// Why a checkpoint file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint file is malformed: {0}")]
    Malformed(String),
    #[error("checkpoint is signed by key {0}, not by the public key it was checked against")]
    UnknownKey(KeyId),
    #[error("checkpoint signature does not verify (the file was changed)")]
    BadSignature,
}

fn signed_bytes(entries: u64, head: &[u8; 32], created_at: i64, key_id: &KeyId) -> Vec<u8> {
    let mut bytes = CONTEXT.to_vec();
    bytes.extend(entries.to_be_bytes());
    bytes.extend(head);
    bytes.extend(created_at.to_be_bytes());
    bytes.extend(key_id.0);
    bytes
}

impl Checkpoint {
    /// Signs the head `head` of a ledger with `entries` entries.
    pub fn sign(entries: u64, head: [u8; 32], created_at: i64, key: &SigningKey) -> Checkpoint {
        let key_id = KeyId::of(&key.verifying_key());
        let signature = key
            .sign(&signed_bytes(entries, &head, created_at, &key_id))
            .to_bytes();
        Checkpoint {
            entries,
            head,
            created_at,
            key_id,
            signature,
        }
    }

    /// Checks the signature against the vault's keys.
    pub fn verify(&self, keys: &KeyRing) -> Result<(), CheckpointError> {
        let key = keys
            .get(&self.key_id)
            .ok_or(CheckpointError::UnknownKey(self.key_id))?;
        key.verify_strict(
            &signed_bytes(self.entries, &self.head, self.created_at, &self.key_id),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| CheckpointError::BadSignature)
    }

    /// The file text.
    pub fn to_file(&self) -> String {
        format!(
            "{TITLE}\nEntries: {}\nHead: {}\nCreated: {}\nKey: {}\nSignature: {}\n",
            self.entries,
            hex::encode(self.head),
            self.created_at,
            self.key_id,
            hex::encode(self.signature)
        )
    }

    /// Parses the one accepted form of the file (see the module docs).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(why.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("it must end with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [title, entries, head, created, key, signature] = lines[..] else {
            return Err(bad("it must have exactly six lines"));
        };
        if title != TITLE {
            return Err(bad("the first line is not the checkpoint title"));
        }
        let field = |line: &'_ str, name: &str| -> Result<String, CheckpointError> {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .map(str::to_string)
                .ok_or_else(|| CheckpointError::Malformed(format!("expected the '{name}' line")))
        };
        // Decimal digits only, no sign and no leading zeros ("+7", "07" and " 7" are refused;
        // Rust's own parser would take "+7").
        let canonical_number = |text: &str| {
            text == "0"
                || (text.bytes().all(|b| b.is_ascii_digit())
                    && !text.starts_with('0')
                    && !text.is_empty())
        };
        let entries_text = field(entries, "Entries")?;
        let created_text = field(created, "Created")?;
        let entries: u64 = entries_text
            .parse()
            .ok()
            .filter(|_| canonical_number(&entries_text))
            .ok_or_else(|| bad("Entries is not a whole number"))?;
        let created_at: i64 = created_text
            .parse()
            .ok()
            .filter(|_| canonical_number(&created_text))
            .ok_or_else(|| bad("Created is not unix seconds"))?;
        let hex_field =
            |text: String, len: usize, name: &str| -> Result<Vec<u8>, CheckpointError> {
                if text.len() != len * 2 || text.chars().any(|c| c.is_ascii_uppercase()) {
                    return Err(CheckpointError::Malformed(format!(
                        "{name} must be {} lower-case hex digits",
                        len * 2
                    )));
                }
                hex::decode(&text)
                    .map_err(|_| CheckpointError::Malformed(format!("{name} is not hex")))
            };
        let head: [u8; 32] = hex_field(field(head, "Head")?, 32, "Head")?
            .try_into()
            .map_err(|_| bad("Head has the wrong length"))?;
        let key_id: [u8; 8] = hex_field(field(key, "Key")?, 8, "Key")?
            .try_into()
            .map_err(|_| bad("Key has the wrong length"))?;
        let signature: [u8; 64] = hex_field(field(signature, "Signature")?, 64, "Signature")?
            .try_into()
            .map_err(|_| bad("Signature has the wrong length"))?;
        Ok(Checkpoint {
            entries,
            head,
            created_at,
            key_id: KeyId(key_id),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_any_change() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let keys = KeyRing::new().with(key.verifying_key()).expect("one key");
        let checkpoint = Checkpoint::sign(42, [9; 32], 1_795_435_200, &key);
        let text = checkpoint.to_file();
        let parsed = Checkpoint::parse(&text).expect("parses");
        assert_eq!(parsed, checkpoint);
        parsed.verify(&keys).expect("verifies");

        let edited = text.replace("Entries: 42", "Entries: 41");
        assert_eq!(
            Checkpoint::parse(&edited).expect("parses").verify(&keys),
            Err(CheckpointError::BadSignature)
        );
        for broken in [
            text.replace("Entries: 42", "Entries: 042"),
            text.replace("Entries: 42", "Entries: +42"),
            text.replace("Entries: 42", "Entries:  42"),
            text.replace("Created: ", "Created: +"),
            text.replace("Head: 09", "Head: 0A"),
            text.trim_end().to_string(),
            format!("{text}extra\n"),
            text.replace('\n', "\r\n"),
            String::new(),
        ] {
            assert!(
                matches!(
                    Checkpoint::parse(&broken),
                    Err(CheckpointError::Malformed(_))
                ),
                "{broken:?}"
            );
        }
        let other = KeyRing::new()
            .with(SigningKey::from_bytes(&[8; 32]).verifying_key())
            .expect("one key");
        assert!(matches!(
            parsed.verify(&other),
            Err(CheckpointError::UnknownKey(_))
        ));
    }
}
