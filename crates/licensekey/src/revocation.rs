//! Signed revocation lists.
//!
//! A list revokes license ids and, for a leaked signing key, whole key ids
//! (every license that key signed). Offline lists can be replayed, so each
//! carries a sequence number, its issue time and the time by which the next
//! list is due; the product keeps a small [`RevocationState`] about the last
//! list it accepted and [`verify_revocation_list`] refuses:
//!
//! - a list with a lower sequence (a replay),
//! - a list with the same sequence but other content (two desks that share a
//!   key and picked the same number, or a forgery attempt),
//! - a list signed by a key the last accepted list revoked (a leaked key
//!   cannot publish a list that un-revokes itself),
//! - a list past its next-update time, and, when the product asks for it, a
//!   list older than a number of days.
//!
//! Sequences come from [`SequenceTag::next_sequence`]: unix milliseconds
//! shifted left by [`SEQUENCE_TAG_BITS`] with a random per-desk tag in the low
//! bits, so desks sharing a key never pick the same number.
//!
//! Two versions exist: version 2 (written by this crate) and version 1 (from
//! earlier releases: no next-update time, no revoked keys, sequences that were
//! plain counters), which still verifies.

use std::fmt;
use std::str::FromStr;

use data_encoding::HEXLOWER;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::armor;
use crate::encoding::{Reader, Writer, strictly_ascending};
use crate::error::{Error, Result, malformed};
use crate::keys::{KeyId, KeyRing};
use crate::payload::{LicensePayload, SECONDS_PER_DAY};
use crate::signature::{self, SIGNATURE_LEN};
use crate::text::{MAX_REVOCATION_TEXT_LEN, check_len};

/// Version byte of the revocation lists this crate signs.
pub const REVOCATION_VERSION: u8 = 2;

/// Version byte of the lists earlier releases signed (still verified, never signed).
pub const LEGACY_REVOCATION_VERSION: u8 = 1;

/// Domain-separation context of revocation list signatures (every version).
pub const REVOCATION_CONTEXT: &str = "LicenseDesk/revocation/v1";

/// Armor label of a revocation list file.
pub const REVOCATION_LABEL: &str = "LICENSE DESK REVOCATION LIST";

/// Low bits of a sequence that hold the desk's tag.
pub const SEQUENCE_TAG_BITS: u32 = 20;

/// The content of a revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    version: u8,
    /// Key that signed the list (set by [`SignedRevocationList::sign`]).
    pub key_id: KeyId,
    /// Increases with every list a desk issues (see [`SequenceTag`]); a verifier never goes back.
    pub sequence: u64,
    /// Issue time, unix seconds (UTC).
    pub issued_at: i64,
    /// The time by which the next list is due (unix seconds, UTC), after
    /// `issued_at`; a verifier refuses the list from then on. `None` only in version 1 lists.
    pub next_update: Option<i64>,
    /// Revoked signing keys: every license they signed is revoked. Sorted, unique,
    /// never the key that signs the list. Empty in version 1 lists.
    pub revoked_keys: Vec<KeyId>,
    /// Revoked license ids, sorted ascending, unique, never the nil UUID (version 2).
    pub revoked: Vec<Uuid>,
}

impl RevocationList {
    /// A version 2 list revoking `revoked` license ids (sorted and de-duplicated here).
    pub fn new(sequence: u64, issued_at: i64, next_update: i64, mut revoked: Vec<Uuid>) -> Self {
        revoked.sort();
        revoked.dedup();
        Self {
            version: REVOCATION_VERSION,
            key_id: KeyId([0; 8]),
            sequence,
            issued_at,
            next_update: Some(next_update),
            revoked_keys: Vec::new(),
            revoked,
        }
    }

    /// The format version (2 for lists made here, 1 for old ones decoded).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// True when `license_id` is on the list.
    pub fn is_revoked(&self, license_id: &Uuid) -> bool {
        self.revoked.binary_search(license_id).is_ok()
    }

    /// True when the list revokes this license: its id, or the key that signed it.
    pub fn revokes(&self, license: &LicensePayload) -> bool {
        self.is_revoked(&license.license_id)
            || self.revoked_keys.binary_search(&license.key_id).is_ok()
    }

    /// What a product keeps after accepting this list (see [`RevocationState`]).
    pub fn state(&self) -> Result<RevocationState> {
        Ok(RevocationState {
            sequence: self.sequence,
            digest: Some(Sha256::digest(self.encode()?).into()),
            revoked_keys: self.revoked_keys.clone(),
        })
    }

    /// The first version 2 rule this list breaks, if any.
    fn problem(&self) -> Option<String> {
        if !strictly_ascending(&self.revoked) {
            return Some("revoked ids must be sorted and unique".into());
        }
        if self.version == LEGACY_REVOCATION_VERSION {
            return None;
        }
        if !strictly_ascending(&self.revoked_keys) {
            return Some("revoked keys must be sorted and unique".into());
        }
        if self.revoked.iter().any(Uuid::is_nil) {
            return Some("revoked ids must not be the nil UUID".into());
        }
        if self.revoked_keys.contains(&self.key_id) {
            return Some("a list cannot revoke the key that signs it".into());
        }
        match self.next_update {
            None => Some("next update time is required".into()),
            Some(next) if next <= self.issued_at => {
                Some("next update must be after issued_at".into())
            }
            Some(_) => None,
        }
    }

    /// Canonical bytes (what is signed, after the context string).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if let Some(problem) = self.problem() {
            return Err(Error::Invalid(problem));
        }
        let count = u32::try_from(self.revoked.len())
            .map_err(|_| Error::Invalid("too many revoked ids".into()))?;
        let mut w = Writer::new();
        w.u8(self.version);
        w.fixed(&self.key_id.0);
        w.u64(self.sequence);
        w.i64(self.issued_at);
        match self.version {
            LEGACY_REVOCATION_VERSION => {
                if self.next_update.is_some() || !self.revoked_keys.is_empty() {
                    return Err(Error::Invalid(
                        "version 1 lists have no next update and no revoked keys".into(),
                    ));
                }
            }
            REVOCATION_VERSION => {
                w.i64(self.next_update.unwrap_or_default());
                w.count("revoked keys", self.revoked_keys.len())?;
                for k in &self.revoked_keys {
                    w.fixed(&k.0);
                }
            }
            v => return Err(Error::Invalid(format!("unknown list version {v}"))),
        }
        w.u32(count);
        for id in &self.revoked {
            w.fixed(id.as_bytes());
        }
        Ok(w.into_bytes())
    }

    /// Parses canonical bytes of either version.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("revocation version")?;
        if version != REVOCATION_VERSION && version != LEGACY_REVOCATION_VERSION {
            return Err(malformed(format!(
                "unsupported revocation list version {version}"
            )));
        }
        let key_id = KeyId(r.array("key id")?);
        let sequence = r.u64("sequence")?;
        let issued_at = r.i64("issued at")?;
        let mut next_update = None;
        let mut revoked_keys = Vec::new();
        if version == REVOCATION_VERSION {
            next_update = Some(r.i64("next update")?);
            for _ in 0..r.u16("revoked keys")? {
                revoked_keys.push(KeyId(r.array("revoked key")?));
            }
        }
        let count = r.u32("revoked count")?;
        // Never trust a count for allocation: each id needs 16 bytes of input.
        let mut revoked = Vec::new();
        for _ in 0..count {
            revoked.push(Uuid::from_bytes(r.array("revoked id")?));
        }
        r.finish()?;
        let list = Self {
            version,
            key_id,
            sequence,
            issued_at,
            next_update,
            revoked_keys,
            revoked,
        };
        if let Some(problem) = list.problem() {
            return Err(malformed(problem));
        }
        Ok(list)
    }
}

/// What a product remembers about the last revocation list it accepted.
///
/// Store it (e.g. as its [`Display`](fmt::Display) text) after every accepted
/// list and pass it to the next check. It is not secret and not
/// authenticated: someone who deletes or rewinds it can replay an older list,
/// just as with the [`crate::ClockGuard`] token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationState {
    /// Sequence of the last accepted list: a lower one is a replay.
    pub sequence: u64,
    /// SHA-256 of that list's canonical body; `None` when only the sequence is
    /// known, and then a list with the same sequence is accepted.
    pub digest: Option<[u8; 32]>,
    /// Keys that list revoked: lists they sign are refused.
    pub revoked_keys: Vec<KeyId>,
}

impl RevocationState {
    /// A state that knows only the highest sequence seen.
    pub fn sequence_only(sequence: u64) -> Self {
        Self {
            sequence,
            digest: None,
            revoked_keys: Vec::new(),
        }
    }
}

/// `<sequence> <digest hex or -> <key ids, comma-separated, or ->`, e.g. `7 9f…e2 -`.
impl fmt::Display for RevocationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest = self
            .digest
            .map(|d| HEXLOWER.encode(&d))
            .unwrap_or_else(|| "-".into());
        let keys = if self.revoked_keys.is_empty() {
            "-".to_owned()
        } else {
            self.revoked_keys
                .iter()
                .map(KeyId::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(f, "{} {digest} {keys}", self.sequence)
    }
}

impl FromStr for RevocationState {
    type Err = Error;

    /// Parses exactly what `Display` writes (surrounding ASCII whitespace ignored).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || malformed("revocation state: expected '<sequence> <digest|-> <key ids|->'");
        let parts: Vec<&str> = s.trim_ascii().split(' ').collect();
        let [sequence, digest, keys] = parts[..] else {
            return Err(bad());
        };
        let sequence: u64 = sequence.parse().map_err(|_| bad())?;
        let digest = match digest {
            "-" => None,
            hex => Some(
                HEXLOWER
                    .decode(hex.as_bytes())
                    .ok()
                    .and_then(|d| <[u8; 32]>::try_from(d).ok())
                    .ok_or_else(bad)?,
            ),
        };
        let revoked_keys = match keys {
            "-" => Vec::new(),
            list => list
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<KeyId>>>()?,
        };
        let state = Self {
            sequence,
            digest,
            revoked_keys,
        };
        if state.to_string() != s.trim_ascii() {
            return Err(bad());
        }
        Ok(state)
    }
}

/// A desk's random tag, in the low [`SEQUENCE_TAG_BITS`] bits of every sequence it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceTag(u32);

impl SequenceTag {
    /// A new random tag; a desk makes one once and keeps it.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| Error::Rng(e.to_string()))?;
        Ok(Self(u32::from_be_bytes(bytes) >> (32 - SEQUENCE_TAG_BITS)))
    }

    /// A stored tag; [`Error::Invalid`] unless it is below `2^SEQUENCE_TAG_BITS`.
    pub fn from_u32(tag: u32) -> Result<Self> {
        if tag >> SEQUENCE_TAG_BITS == 0 {
            Ok(Self(tag))
        } else {
            Err(Error::Invalid(format!(
                "sequence tag must be below 2^{SEQUENCE_TAG_BITS}"
            )))
        }
    }

    /// The tag's value, to store.
    pub fn value(self) -> u32 {
        self.0
    }

    /// The sequence of the next list this desk issues.
    ///
    /// `(now_unix_ms << SEQUENCE_TAG_BITS) | tag`, raised past `previous` (this
    /// desk's last sequence, if any) when the clock has not moved on, so
    /// sequences strictly increase per desk and two desks with different tags
    /// never pick the same number. A negative time counts as 0. Fails with
    /// [`Error::Invalid`] only when the sequence space is exhausted.
    pub fn next_sequence(self, previous: Option<u64>, now_unix_ms: i64) -> Result<u64> {
        let exhausted = || Error::Invalid("revocation list sequence space exhausted".into());
        let tag = u64::from(self.0);
        let now = u64::try_from(now_unix_ms.max(0)).unwrap_or(0);
        let floor = match previous {
            Some(p) => (p >> SEQUENCE_TAG_BITS)
                .checked_add(1)
                .ok_or_else(exhausted)?,
            None => 0,
        };
        let high = now.max(floor);
        if high >> (64 - SEQUENCE_TAG_BITS) != 0 {
            return Err(exhausted());
        }
        Ok((high << SEQUENCE_TAG_BITS) | tag)
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
    /// Signs `list` (setting its key id from `key` and sorting its lists).
    ///
    /// Fails with [`Error::Invalid`] for a list that breaks a rule (version
    /// other than 2, next update not after the issue time, a nil id, revoking
    /// its own key) or whose file would exceed [`MAX_REVOCATION_TEXT_LEN`].
    pub fn sign(mut list: RevocationList, key: &SigningKey) -> Result<Self> {
        if list.version != REVOCATION_VERSION {
            return Err(Error::Invalid(format!(
                "only version {REVOCATION_VERSION} lists are signed"
            )));
        }
        list.key_id = KeyId::of(&key.verifying_key());
        list.revoked.sort();
        list.revoked.dedup();
        list.revoked_keys.sort();
        list.revoked_keys.dedup();
        let list_bytes = list.encode()?;
        let signature = signature::sign(REVOCATION_CONTEXT, &list_bytes, key);
        let signed = Self {
            list,
            list_bytes,
            signature,
        };
        let len = signed.to_file().len();
        if len > MAX_REVOCATION_TEXT_LEN {
            return Err(Error::Invalid(format!(
                "revocation list file would be {len} bytes, at most {MAX_REVOCATION_TEXT_LEN} are accepted"
            )));
        }
        Ok(signed)
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
        check_len(text, MAX_REVOCATION_TEXT_LEN, "revocation list")?;
        let blob = armor::decode(REVOCATION_LABEL, text)?;
        Self::from_bytes(&blob)
    }

    /// Parses `list bytes || signature` (what [`Self::to_bytes`] gives) without checking the
    /// signature.
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let (body, signature) = signature::split(blob)?;
        Ok(Self {
            list: RevocationList::decode(body)?,
            list_bytes: body.to_vec(),
            signature,
        })
    }
}

/// What [`verify_revocation_list`] checks besides the signature: the time,
/// the product's freshness requirement and what it accepted before.
#[derive(Debug, Clone, Copy)]
pub struct RevocationCheck<'a> {
    now: i64,
    max_age_days: Option<u32>,
    seen: Option<&'a RevocationState>,
}

impl<'a> RevocationCheck<'a> {
    /// Checks at time `now` (unix seconds), with nothing accepted before and no age limit.
    pub fn at(now: i64) -> Self {
        Self {
            now,
            max_age_days: None,
            seen: None,
        }
    }

    /// Refuses lists issued more than `days` days before `now` ([`Error::RevocationListTooOld`]).
    #[must_use]
    pub fn max_age_days(mut self, days: u32) -> Self {
        self.max_age_days = Some(days);
        self
    }

    /// What the product accepted before (refuses replays, reused sequences, revoked signers).
    #[must_use]
    pub fn after(mut self, seen: &'a RevocationState) -> Self {
        self.seen = Some(seen);
        self
    }
}

/// Verifies an armored revocation list; store [`RevocationList::state`] of the result.
///
/// In order, each failing with its own error: size and armor (`Malformed`),
/// version (`Malformed`), key id (`UnknownKeyId`), signature
/// (`BadSignature`), content (`Malformed`), signed by a key the last accepted
/// list revoked (`RevokedSigningKey`), sequence below the last accepted
/// (`StaleRevocationList`), same sequence with other content
/// (`RevocationSequenceReused`), `now` at or past the next-update time
/// (`RevocationListExpired`), older than the product's maximum age
/// (`RevocationListTooOld`). A list signed by any trusted key revokes licenses
/// regardless of which trusted key signed them.
pub fn verify_revocation_list(
    text: &str,
    keys: &KeyRing,
    check: &RevocationCheck<'_>,
) -> Result<RevocationList> {
    check_len(text, MAX_REVOCATION_TEXT_LEN, "revocation list")?;
    let blob = armor::decode(REVOCATION_LABEL, text)?;
    let (body, sig) = signature::split(&blob)?;
    signature::check(
        REVOCATION_CONTEXT,
        &[LEGACY_REVOCATION_VERSION, REVOCATION_VERSION],
        body,
        &sig,
        keys,
    )?;
    let list = RevocationList::decode(body)?;
    if let Some(seen) = check.seen {
        if seen.revoked_keys.contains(&list.key_id) {
            return Err(Error::RevokedSigningKey(list.key_id));
        }
        if list.sequence < seen.sequence {
            return Err(Error::StaleRevocationList {
                seen: seen.sequence,
                got: list.sequence,
            });
        }
        if list.sequence == seen.sequence
            && let Some(digest) = seen.digest
            && <[u8; 32]>::from(Sha256::digest(body)) != digest
        {
            return Err(Error::RevocationSequenceReused {
                sequence: list.sequence,
            });
        }
    }
    if let Some(next_update) = list.next_update
        && check.now >= next_update
    {
        return Err(Error::RevocationListExpired { next_update });
    }
    if let Some(days) = check.max_age_days
        && i128::from(check.now) - i128::from(list.issued_at)
            > i128::from(days) * i128::from(SECONDS_PER_DAY)
    {
        return Err(Error::RevocationListTooOld {
            issued_at: list.issued_at,
            max_age_days: days,
        });
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sequences_increase_per_desk_and_differ_between_desks() {
        let a = SequenceTag::from_u32(1).unwrap();
        let b = SequenceTag::from_u32(2).unwrap();
        let now = 1_767_225_600_000;
        let s1 = a.next_sequence(None, now).unwrap();
        assert_eq!(s1, ((now as u64) << SEQUENCE_TAG_BITS) | 1);
        // Same millisecond, or a clock turned back: still strictly increasing.
        let s2 = a.next_sequence(Some(s1), now).unwrap();
        let s3 = a.next_sequence(Some(s2), now - 60_000).unwrap();
        assert!(s1 < s2 && s2 < s3);
        assert_eq!(s3 & ((1 << SEQUENCE_TAG_BITS) - 1), 1);
        assert_ne!(b.next_sequence(None, now).unwrap(), s1);
        // Old counter-style sequences (1, 2, 3 ...) are always below new ones.
        assert!(a.next_sequence(Some(3), now).unwrap() > 3);
        assert!(SequenceTag::from_u32(1 << SEQUENCE_TAG_BITS).is_err());
        assert_eq!(SequenceTag::from_u32(0x2f1a3).unwrap().value(), 0x2f1a3);
        assert!(SequenceTag::random().unwrap().value() < 1 << SEQUENCE_TAG_BITS);
        assert!(a.next_sequence(Some(u64::MAX), now).is_err());
        assert_eq!(a.next_sequence(None, -5).unwrap(), 1);
    }

    #[test]
    fn state_text_round_trips() {
        let state = RevocationState {
            sequence: 42,
            digest: Some([0xab; 32]),
            revoked_keys: vec![KeyId([1; 8]), KeyId([2; 8])],
        };
        let text = state.to_string();
        assert_eq!(text.parse::<RevocationState>().unwrap(), state);
        let only = RevocationState::sequence_only(7);
        assert_eq!(only.to_string(), "7 - -");
        assert_eq!("7 - -\n".parse::<RevocationState>().unwrap(), only);
        for bad in [
            "", "7", "07 - -", "7 - - x", "7  - -", "-1 - -", "7 ab -", "7 - 01",
        ] {
            assert!(bad.parse::<RevocationState>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn version_2_rules() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let own = KeyId::of(&key.verifying_key());
        let ok = RevocationList::new(1, 100, 200, vec![Uuid::from_bytes([1; 16])]);
        SignedRevocationList::sign(ok.clone(), &key).unwrap();
        let mut self_revoking = ok.clone();
        self_revoking.revoked_keys = vec![own];
        assert!(matches!(
            SignedRevocationList::sign(self_revoking, &key),
            Err(Error::Invalid(_))
        ));
        let mut nil = ok.clone();
        nil.revoked = vec![Uuid::nil()];
        assert!(SignedRevocationList::sign(nil, &key).is_err());
        let mut early = ok.clone();
        early.next_update = Some(100);
        assert!(SignedRevocationList::sign(early, &key).is_err());
        let mut old = ok.clone();
        old.version = LEGACY_REVOCATION_VERSION;
        old.next_update = None;
        assert!(
            SignedRevocationList::sign(old.clone(), &key).is_err(),
            "v1 is not signed"
        );
        // ... but a version 1 body still decodes, with nil ids as before.
        old.revoked = vec![Uuid::nil()];
        assert_eq!(RevocationList::decode(&old.encode().unwrap()).unwrap(), old);
        // A list whose file would be over the cap is not signed.
        let ids: Vec<Uuid> = (0u128..400_000).map(|i| Uuid::from_u128(i + 1)).collect();
        let huge = RevocationList::new(2, 100, 200, ids);
        assert!(matches!(
            SignedRevocationList::sign(huge, &key),
            Err(Error::Invalid(m)) if m.contains("at most")
        ));
        // Version 1 has no place for a next update or revoked keys.
        let mut with_next = old.clone();
        with_next.next_update = Some(500);
        assert!(matches!(with_next.encode(), Err(Error::Invalid(_))));
        let mut with_keys = old.clone();
        with_keys.revoked_keys = vec![KeyId([1; 8])];
        assert!(matches!(with_keys.encode(), Err(Error::Invalid(_))));
    }
}
