//! Deciding whether a license may run here, now.
//!
//! Rules take the time as an argument and never read the clock themselves, so
//! they are testable and can be combined with the [`crate::ClockGuard`];
//! [`VerifyContext::now`] is the convenience that reads the system clock.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::license::{LICENSE_CONTEXT, decode_text};
use crate::machine::Fingerprint;
use crate::payload::{FORMAT_VERSION, LicensePayload, SECONDS_PER_DAY};
use crate::revocation::RevocationList;
use crate::signature;

/// What the running product knows about where and when it runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyContext<'a> {
    /// Current time, unix seconds (UTC).
    pub now: i64,
    /// UUID of the cluster this runs on, if known.
    pub cluster: Option<Uuid>,
    /// IP address of this cluster/machine, if known.
    pub ip: Option<IpAddr>,
    /// Component fingerprints of this machine (see [`crate::MachineInfo::fingerprints`]).
    pub fingerprints: &'a [Fingerprint],
    /// A revocation list already verified with [`crate::verify_revocation_list`].
    pub revocations: Option<&'a RevocationList>,
}

impl<'a> VerifyContext<'a> {
    /// A context at time `now` with nothing else known.
    pub fn at(now: i64) -> Self {
        Self {
            now,
            ..Self::default()
        }
    }

    /// A context at the system clock's current time.
    pub fn now() -> Self {
        Self::at(unix_now())
    }

    /// Sets the cluster UUID.
    #[must_use]
    pub fn with_cluster(mut self, cluster: Uuid) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Sets the IP address.
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets this machine's fingerprints.
    #[must_use]
    pub fn with_fingerprints(mut self, fingerprints: &'a [Fingerprint]) -> Self {
        self.fingerprints = fingerprints;
        self
    }

    /// Sets the revocation list.
    #[must_use]
    pub fn with_revocations(mut self, list: &'a RevocationList) -> Self {
        self.revocations = Some(list);
        self
    }
}

/// Unix seconds from the system clock (0 if the clock is before 1970).
#[allow(clippy::disallowed_methods)] // The embedding product's one convenience for "now".
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether a verified license is fully valid or running on its grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseStatus {
    /// Within its validity period (or perpetual).
    Valid,
    /// Past `expires_at` but within the grace days; the product should warn.
    InGrace {
        /// Whole days left, rounded up (1 on the last day).
        days_left: u32,
    },
}

/// A license that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed content.
    pub payload: LicensePayload,
    /// Valid or in grace.
    pub status: LicenseStatus,
}

/// Verifies a serial key or license file (told apart automatically).
///
/// Checks, in order, each failing with its own error: text form
/// (`Malformed`, `BadChecksum` for serials), format version (`Malformed`),
/// key id (`UnknownKeyId`), signature (`BadSignature`), payload fields
/// (`Malformed`), revocation (`Revoked`), not-before (`NotYetValid`), expiry
/// past grace (`Expired`), binding (`WrongBinding`).
pub fn verify(text: &str, keys: &KeyRing, ctx: &VerifyContext<'_>) -> Result<Verified> {
    let blob = decode_text(text)?;
    let (body, sig) = signature::split(&blob)?;
    signature::check(LICENSE_CONTEXT, FORMAT_VERSION, body, &sig, keys)?;
    let payload = LicensePayload::decode(body)?;
    check_rules(payload, ctx)
}

/// The checks after the signature: revocation, time, binding.
pub(crate) fn check_rules(payload: LicensePayload, ctx: &VerifyContext<'_>) -> Result<Verified> {
    if ctx
        .revocations
        .is_some_and(|list| list.is_revoked(&payload.license_id))
    {
        return Err(Error::Revoked);
    }
    if ctx.now < payload.not_before {
        return Err(Error::NotYetValid {
            not_before: payload.not_before,
        });
    }
    let status = match payload.expires_at {
        None => LicenseStatus::Valid,
        Some(expires_at) if ctx.now < expires_at => LicenseStatus::Valid,
        Some(expires_at) => {
            let grace_ended_at =
                expires_at.saturating_add(i64::from(payload.grace_days) * SECONDS_PER_DAY);
            if ctx.now >= grace_ended_at {
                return Err(Error::Expired {
                    expires_at,
                    grace_ended_at,
                });
            }
            let left = (i128::from(grace_ended_at) - i128::from(ctx.now)
                + i128::from(SECONDS_PER_DAY)
                - 1)
                / i128::from(SECONDS_PER_DAY);
            LicenseStatus::InGrace {
                days_left: u32::try_from(left).unwrap_or(u32::MAX),
            }
        }
    };
    check_binding(&payload, ctx)?;
    Ok(Verified { payload, status })
}

fn check_binding(payload: &LicensePayload, ctx: &VerifyContext<'_>) -> Result<()> {
    let b = &payload.binding;
    if let Some(cluster) = b.cluster
        && ctx.cluster != Some(cluster)
    {
        return Err(Error::WrongBinding(format!(
            "licensed for cluster {cluster}"
        )));
    }
    if let Some(ip) = b.ip
        && ctx.ip.map(|x| x.to_canonical()) != Some(ip.to_canonical())
    {
        return Err(Error::WrongBinding(format!("licensed for IP address {ip}")));
    }
    if !b.fingerprints.is_empty() {
        let matches = b
            .fingerprints
            .iter()
            .filter(|f| ctx.fingerprints.contains(f))
            .count();
        if matches < usize::from(b.min_fingerprint_matches) {
            return Err(Error::WrongBinding(format!(
                "{matches} of {} machine fingerprints match, {} required",
                b.fingerprints.len(),
                b.min_fingerprint_matches
            )));
        }
    }
    Ok(())
}
