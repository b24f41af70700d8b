//! Signed revocation lists.
//!
//! Offline lists can be replayed (an old list that does not yet name a
//! revoked license), so each list carries a sequence number and issue time,
//! and [`verify_revocation_list`] refuses a list older than the newest one the
//! product has already accepted.

use ed25519_dalek::SigningKey;
use uuid::Uuid;

use crate::armor;
use crate::encoding::{Reader, Writer, strictly_ascending};
use crate::error::{Error, Result, malformed};
use crate::keys::{KeyId, KeyRing};
use crate::signature::{self, SIGNATURE_LEN};

/// Version byte of a revocation list body.
pub const REVOCATION_VERSION: u8 = 1;

/// Domain-separation context of revocation list signatures.
pub const REVOCATION_CONTEXT: &str = "LicenseDesk/revocation/v1";

/// Armor label of a revocation list file.
pub const REVOCATION_LABEL: &str = "LICENSE DESK REVOCATION LIST";

/// The content of a revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// Key that signed the list (set by [`SignedRevocationList::sign`]).
    pub key_id: KeyId,
    /// Increases with every list issued; a verifier never goes back.
    pub sequence: u64,
    /// Issue time, unix seconds (UTC).
    pub issued_at: i64,
    /// Revoked license ids, sorted ascending, unique.
    pub revoked: Vec<Uuid>,
}

impl RevocationList {
    /// A list with `revoked` sorted and de-duplicated.
    pub fn new(sequence: u64, issued_at: i64, mut revoked: Vec<Uuid>) -> Self {
        revoked.sort();
        revoked.dedup();
        Self {
            key_id: KeyId([0; 8]),
            sequence,
            issued_at,
            revoked,
        }
    }

    /// True when `license_id` is on the list.
    pub fn is_revoked(&self, license_id: &Uuid) -> bool {
        self.revoked.binary_search(license_id).is_ok()
    }

    /// Canonical bytes (what is signed, after the context string).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if !strictly_ascending(&self.revoked) {
            return Err(Error::Invalid(
                "revoked ids must be sorted and unique".into(),
            ));
        }
        let count = u32::try_from(self.revoked.len())
            .map_err(|_| Error::Invalid("too many revoked ids".into()))?;
        let mut w = Writer::new();
        w.u8(REVOCATION_VERSION);
        w.fixed(&self.key_id.0);
        w.u64(self.sequence);
        w.i64(self.issued_at);
        w.u32(count);
        for id in &self.revoked {
            w.fixed(id.as_bytes());
        }
        Ok(w.into_bytes())
    }

    /// Parses canonical bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("revocation version")?;
        if version != REVOCATION_VERSION {
            return Err(malformed(format!(
                "unsupported revocation list version {version}"
            )));
        }
        let key_id = KeyId(r.array("key id")?);
        let sequence = r.u64("sequence")?;
        let issued_at = r.i64("issued at")?;
        let count = r.u32("revoked count")?;
        let mut revoked = Vec::new();
        for _ in 0..count {
            revoked.push(Uuid::from_bytes(r.array("revoked id")?));
        }
        if !strictly_ascending(&revoked) {
            return Err(malformed("revoked ids: not strictly ascending"));
        }
        r.finish()?;
        Ok(Self {
            key_id,
            sequence,
            issued_at,
            revoked,
        })
    }
}

/// A revocation list with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRevocationList {
    list: RevocationList,
    list_bytes: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl SignedRevocationList {
    /// Signs `list` (setting its key id from `key`).
    pub fn sign(mut list: RevocationList, key: &SigningKey) -> Result<Self> {
        list.key_id = KeyId::of(&key.verifying_key());
        list.revoked.sort();
        list.revoked.dedup();
        let list_bytes = list.encode()?;
        let signature = signature::sign(REVOCATION_CONTEXT, &list_bytes, key);
        Ok(Self {
            list,
            list_bytes,
            signature,
        })
    }

    /// The list content (unverified if this came from [`Self::parse`]).
    pub fn list(&self) -> &RevocationList {
        &self.list
    }

    /// `list bytes || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.list_bytes.clone();
        out.extend_from_slice(&self.signature);
        out
    }

    /// The armored file.
    pub fn to_file(&self) -> String {
        armor::encode(REVOCATION_LABEL, &self.to_bytes())
    }

    /// Parses the armored file without checking the signature.
    pub fn parse(text: &str) -> Result<Self> {
        let blob = armor::decode(REVOCATION_LABEL, text)?;
        let (body, signature) = signature::split(&blob)?;
        Ok(Self {
            list: RevocationList::decode(body)?,
            list_bytes: body.to_vec(),
            signature,
        })
    }
}

/// Verifies an armored revocation list.
///
/// `highest_seen_sequence` is the sequence of the newest list accepted before
/// (stored by the product); a list with a lower sequence is
/// [`Error::StaleRevocationList`]. An equal sequence is accepted (reloading the same list).
pub fn verify_revocation_list(
    text: &str,
    keys: &KeyRing,
    highest_seen_sequence: Option<u64>,
) -> Result<RevocationList> {
    let blob = armor::decode(REVOCATION_LABEL, text)?;
    let (body, sig) = signature::split(&blob)?;
    signature::check(REVOCATION_CONTEXT, REVOCATION_VERSION, body, &sig, keys)?;
    let list = RevocationList::decode(body)?;
    if let Some(seen) = highest_seen_sequence
        && list.sequence < seen
    {
        return Err(Error::StaleRevocationList {
            seen,
            got: list.sequence,
        });
    }
    Ok(list)
}
