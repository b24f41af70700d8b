//! One error type for every artifact, so the app can show a precise reason
//! ("typo in the serial" vs. "signed by a key we do not trust" vs. "expired")
//! without string matching.

use crate::keys::KeyId;

/// Everything that can go wrong while building, parsing or verifying an artifact.
///
/// The verification variants are listed in the order `verify` checks them
/// (see `docs/license-format.md`, "Verification order").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text or bytes do not follow the format; the string says where.
    #[error("malformed artifact: {0}")]
    Malformed(String),
    /// The checksum (serial key) or digest (request file) does not match: a typo or a damaged copy.
    #[error("checksum mismatch (typo or damaged copy)")]
    BadChecksum,
    /// Signed by a key that is not in the key ring.
    #[error("signed by unknown key id {0}")]
    UnknownKeyId(KeyId),
    /// The Ed25519 signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A genuine license, but for another product than the one verifying it.
    #[error("license is for product '{found}', not '{expected}'")]
    WrongProduct {
        /// The product the verifying program is.
        expected: String,
        /// The product named in the license.
        found: String,
    },
    /// The license id, or the key that signed the license, is on the revocation list.
    #[error("license has been revoked")]
    Revoked,
    /// `now` is before the license's not-before time.
    #[error("license not valid before {not_before} (unix seconds)")]
    NotYetValid {
        /// Unix seconds from which the license is valid.
        not_before: i64,
    },
    /// `now` is past the expiry time and past the grace period.
    #[error("license expired at {expires_at}, grace ended at {grace_ended_at} (unix seconds)")]
    Expired {
        /// Unix seconds at which the license expired.
        expires_at: i64,
        /// Unix seconds at which the grace period ended.
        grace_ended_at: i64,
    },
    /// The license is bound to another cluster, IP address or machine.
    #[error("license is bound elsewhere: {0}")]
    WrongBinding(String),
    /// A revocation list older than one already seen (replay).
    #[error("revocation list sequence {got} is older than the latest seen ({seen})")]
    StaleRevocationList {
        /// Highest sequence number seen before.
        seen: u64,
        /// Sequence number of the offered list.
        got: u64,
    },
    /// A revocation list with the sequence of the last accepted list but other content.
    #[error("revocation list sequence {sequence} was already used by a list with other content")]
    RevocationSequenceReused {
        /// The sequence both lists carry.
        sequence: u64,
    },
    /// A revocation list signed by a key that the last accepted list revoked.
    #[error("revocation list is signed by key {0}, which has been revoked")]
    RevokedSigningKey(KeyId),
    /// `now` is at or past the revocation list's next-update time: a newer list should exist.
    #[error("revocation list is out of date: a newer one was due at {next_update} (unix seconds)")]
    RevocationListExpired {
        /// Unix seconds by which the issuer promised the next list.
        next_update: i64,
    },
    /// The revocation list was issued longer ago than the product accepts.
    #[error(
        "revocation list issued at {issued_at} (unix seconds) is older than {max_age_days} days"
    )]
    RevocationListTooOld {
        /// Unix seconds at which the list was issued.
        issued_at: i64,
        /// The largest age the product accepts.
        max_age_days: u32,
    },
    /// The stored clock-guard record was altered (its MAC does not verify).
    #[error("clock guard record was tampered with")]
    ClockTampered,
    /// The clock was turned back further than the tolerance allows.
    #[error("clock rolled back: now {now} is before last seen {latest_seen} (unix seconds)")]
    ClockRollback {
        /// Latest time seen before (unix seconds).
        latest_seen: i64,
        /// The time offered now (unix seconds).
        now: i64,
    },
    /// A license request from an older release, which this release no longer accepts.
    #[error(
        "license request version {version} is no longer accepted: ask the customer to make a new request \
         with a current release (`license-desk request`)"
    )]
    OutdatedRequest {
        /// The request's version byte.
        version: u8,
    },
    /// A deactivation file that names another license (or another copy of it) than the one
    /// it is applied to.
    #[error("the deactivation file is for another license: {0}")]
    OtherLicense(String),
    /// Two different public keys with the same key id cannot both be trusted.
    #[error("another key with key id {0} is already trusted")]
    DuplicateKeyId(KeyId),
    /// A value cannot be encoded (string too long, unsorted list, bad minimum match, ...).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Rng(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed(reason.into())
}
