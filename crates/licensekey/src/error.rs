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
    /// The license id is on the revocation list.
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
