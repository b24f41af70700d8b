//! Deciding whether a license may run here, now.
//!
//! Rules take the time as an argument and never read the clock themselves, so
//! they are testable and can be combined with the [`crate::ClockGuard`];
//! [`unix_now`] is the convenience that reads the system clock.
//!
//! A license names its product, and a product verifies with a context that
//! names itself ([`VerifyContext::for_product`]): one vendor key may sign
//! licenses for several products without one unlocking another.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::license::{LICENSE_CONTEXT, LICENSE_VERSIONS, decode_text};
use crate::machine::{Fingerprint, MachineInfo};
use crate::payload::{LicensePayload, SECONDS_PER_DAY};
use crate::revocation::RevocationList;
use crate::signature;

/// What the running product knows about itself: which product it is, where and when it runs.
///
/// Built with [`VerifyContext::for_product`] (what a product uses) or
/// [`VerifyContext::any_product`] (a vendor tool that inspects licenses of
/// every product), then the `with_*` methods.
#[derive(Debug, Clone, Copy)]
pub struct VerifyContext<'a> {
    now: i64,
    product: Option<&'a str>,
    cluster: Option<Uuid>,
    ip: Option<IpAddr>,
    machine: Option<&'a MachineInfo>,
    revocations: Option<&'a RevocationList>,
}

impl<'a> VerifyContext<'a> {
    /// The context of the product named `product` at time `now` (unix seconds):
    /// a license for any other product fails with [`Error::WrongProduct`].
    ///
    /// `product` is compared byte for byte with the license's product name (no
    /// trimming, no case folding).
    pub fn for_product(product: &'a str, now: i64) -> Self {
        Self {
            product: Some(product),
            ..Self::any_product(now)
        }
    }

    /// A context that accepts a license for any product, at time `now`.
    ///
    /// For the vendor's own tools (the desk's `verify` command without
    /// `--product`); a product must use [`Self::for_product`], or a license
    /// for another product signed by the same key would unlock it.
    pub fn any_product(now: i64) -> Self {
        Self {
            now,
            product: None,
            cluster: None,
            ip: None,
            machine: None,
            revocations: None,
        }
    }

    /// Sets the cluster UUID this runs on.
    #[must_use]
    pub fn with_cluster(mut self, cluster: Uuid) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Sets the IP address this runs on.
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets this machine's identifiers (see [`MachineInfo::collect`]).
    #[must_use]
    pub fn with_machine(mut self, machine: &'a MachineInfo) -> Self {
        self.machine = Some(machine);
        self
    }

    /// Sets the revocation list, already verified with [`crate::verify_revocation_list`].
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
/// Checks, in order, each failing with its own error: size and text form
/// (`Malformed`, `BadChecksum` for serials), format version (`Malformed`),
/// key id (`UnknownKeyId`), signature (`BadSignature`), payload fields
/// (`Malformed`), product (`WrongProduct`), revocation of the license or its
/// key (`Revoked`), not-before (`NotYetValid`), expiry past grace
/// (`Expired`), binding (`WrongBinding`). Licenses of version 1 and 2 verify.
pub fn verify(text: &str, keys: &KeyRing, ctx: &VerifyContext<'_>) -> Result<Verified> {
    let blob = decode_text(text)?;
    let (body, sig) = signature::split(&blob)?;
    signature::check(LICENSE_CONTEXT, &LICENSE_VERSIONS, body, &sig, keys)?;
    let payload = LicensePayload::decode(body)?;
    check_rules(payload, ctx)
}

/// The checks after the signature: product, revocation, time, binding.
pub(crate) fn check_rules(payload: LicensePayload, ctx: &VerifyContext<'_>) -> Result<Verified> {
    if let Some(expected) = ctx.product
        && payload.product != expected
    {
        return Err(Error::WrongProduct {
            expected: expected.to_owned(),
            found: payload.product,
        });
    }
    if ctx.revocations.is_some_and(|list| list.revokes(&payload)) {
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
    if let Some(machine) = &b.machine {
        machine.check(ctx.machine).map_err(Error::WrongBinding)?;
    }
    if !b.legacy_fingerprints.is_empty() {
        // Version 1: any `legacy_min_matches` of the unsalted fingerprints.
        let here: Vec<Fingerprint> = ctx
            .machine
            .map(MachineInfo::legacy_fingerprints)
            .unwrap_or_default();
        let matches = b
            .legacy_fingerprints
            .iter()
            .filter(|f| here.contains(f))
            .count();
        if matches < usize::from(b.legacy_min_matches) {
            return Err(Error::WrongBinding(format!(
                "{matches} of {} machine fingerprints match, {} required",
                b.legacy_fingerprints.len(),
                b.legacy_min_matches
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // Checks the convenience that reads the clock.
    #[test]
    fn unix_now_reads_the_system_clock() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let now = unix_now();
        assert!(now >= i64::try_from(before).unwrap_or(i64::MAX));
        assert!(now > 1_767_225_600, "after 2026-01-01");
    }
}
