//! A guard against the clock being turned back to stretch an expired license.
//!
//! The product stores the latest time it has seen as a short token,
//! authenticated with HMAC-SHA256 under a product secret. On each start it
//! passes the stored token and the current time to [`ClockGuard::check`],
//! which fails when the clock went back further than the tolerance, and
//! stores the token it returns.
//!
//! **What it stops:** setting the system date back (beyond the tolerance)
//! once the product has run at a later time, and editing the time inside the
//! stored token by hand (the MAC no longer matches: [`Error::ClockTampered`]).
//!
//! **What it does not stop:** the secret ships inside the product, so anyone
//! who extracts it can seal any time they like. Without extracting it, a user
//! can still **delete the token** (`check(None, ..)` is a first run and
//! accepts any time) or **put back an older token** saved before (it carries a
//! valid MAC for an earlier time, so the clock can go back to that time minus
//! the tolerance). A product that must resist those keeps the token where the
//! user cannot easily reset it, and treats a missing token after the first
//! run as suspicious; the guard itself cannot tell.

use data_encoding::HEXLOWER;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::armor::is_outer_space;
use crate::encoding::with_context;
use crate::error::{Error, Result};

/// Domain-separation context of the clock token MAC.
pub const CLOCK_CONTEXT: &str = "LicenseDesk/clock/v1";

/// Longest token accepted, surrounding whitespace included (a canonical one is at most 85).
pub const MAX_CLOCK_TOKEN_LEN: usize = 256;

/// Checks and advances the latest time seen.
#[derive(Clone)]
pub struct ClockGuard {
    secret: Vec<u8>,
    tolerance_secs: i64,
}

impl std::fmt::Debug for ClockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockGuard")
            .field("tolerance_secs", &self.tolerance_secs)
            .finish_non_exhaustive()
    }
}

impl ClockGuard {
    /// A guard keyed by `secret` that forgives clock steps back of up to `tolerance_secs`.
    pub fn new(secret: &[u8], tolerance_secs: i64) -> Self {
        Self {
            secret: secret.to_vec(),
            tolerance_secs: tolerance_secs.max(0),
        }
    }

    fn mac(&self, latest_seen: i64) -> Result<[u8; 32]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|_| Error::Invalid("clock guard secret".into()))?;
        mac.update(&with_context(CLOCK_CONTEXT, &latest_seen.to_be_bytes()));
        Ok(mac.finalize().into_bytes().into())
    }

    /// The token recording `latest_seen`: decimal seconds, `.`, 64 hex digits of MAC.
    pub fn seal(&self, latest_seen: i64) -> Result<String> {
        Ok(format!(
            "{latest_seen}.{}",
            HEXLOWER.encode(&self.mac(latest_seen)?)
        ))
    }

    /// Reads a token; [`Error::ClockTampered`] unless it is exactly what [`Self::seal`] wrote
    /// (surrounding whitespace aside): canonical decimal that fits an `i64` (no `+`, no
    /// leading zeros, no `-0`), a dot, 64 lowercase hex digits of a MAC that verifies.
    pub fn open(&self, token: &str) -> Result<i64> {
        if token.len() > MAX_CLOCK_TOKEN_LEN {
            return Err(Error::ClockTampered);
        }
        let (time, mac_hex) = token
            .trim_matches(is_outer_space)
            .split_once('.')
            .ok_or(Error::ClockTampered)?;
        let latest: i64 = time.parse().map_err(|_| Error::ClockTampered)?;
        if latest.to_string() != time {
            return Err(Error::ClockTampered);
        }
        let tag = HEXLOWER
            .decode(mac_hex.as_bytes())
            .map_err(|_| Error::ClockTampered)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|_| Error::Invalid("clock guard secret".into()))?;
        mac.update(&with_context(CLOCK_CONTEXT, &latest.to_be_bytes()));
        mac.verify_slice(&tag).map_err(|_| Error::ClockTampered)?;
        Ok(latest)
    }

    /// Checks `now` against the stored token (`None` on first run) and returns the token to store.
    ///
    /// Fails with [`Error::ClockRollback`] when `now` is more than the
    /// tolerance before the latest time seen, [`Error::ClockTampered`] when the
    /// token was altered. `None` is treated as a first run: any `now` passes
    /// (see the module docs for what that means).
    pub fn check(&self, stored: Option<&str>, now: i64) -> Result<String> {
        let latest_seen = match stored {
            None => now,
            Some(token) => self.open(token)?,
        };
        if now < latest_seen.saturating_sub(self.tolerance_secs) {
            return Err(Error::ClockRollback { latest_seen, now });
        }
        self.seal(latest_seen.max(now))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rollback_and_tamper() {
        let guard = ClockGuard::new(b"product secret", 3600);
        let t0 = 1_700_000_000;
        let token = guard.check(None, t0).unwrap();
        assert_eq!(guard.open(&token).unwrap(), t0);
        // Forward moves advance the token.
        let token = guard.check(Some(&token), t0 + 100).unwrap();
        assert_eq!(guard.open(&token).unwrap(), t0 + 100);
        // Small step back (NTP, time zone mistakes) is tolerated and does not lower the mark.
        let token2 = guard.check(Some(&token), t0 + 100 - 3600).unwrap();
        assert_eq!(guard.open(&token2).unwrap(), t0 + 100);
        // Large rollback fails.
        assert_eq!(
            guard.check(Some(&token), t0 - 86_400),
            Err(Error::ClockRollback {
                latest_seen: t0 + 100,
                now: t0 - 86_400
            })
        );
        // Editing the time, the MAC, or using another secret fails.
        let (_, mac) = token.split_once('.').unwrap();
        assert_eq!(
            guard.open(&format!("{}.{mac}", t0 - 999_999)),
            Err(Error::ClockTampered)
        );
        assert_eq!(
            guard.open(&format!("0{}.{mac}", t0 + 100)),
            Err(Error::ClockTampered)
        );
        assert_eq!(
            guard.open(&token.replace('a', "b")).is_err(),
            token.contains('a')
        );
        assert_eq!(
            ClockGuard::new(b"other", 3600).open(&token),
            Err(Error::ClockTampered)
        );
        assert_eq!(guard.open("garbage"), Err(Error::ClockTampered));
    }

    #[test]
    fn only_the_canonical_token_opens() {
        let guard = ClockGuard::new(b"product secret", 0);
        let mac_of = |t: i64| guard.seal(t).unwrap().split_once('.').unwrap().1.to_owned();
        let zero = mac_of(0);
        assert_eq!(guard.open(&format!("0.{zero}")), Ok(0));
        assert_eq!(guard.open(&format!(" 0.{zero}\n")), Ok(0));
        for bad in [
            format!("-0.{zero}"),
            format!("+0.{zero}"),
            format!("00.{zero}"),
            format!("0.{}", zero.to_uppercase()),
            format!("0 .{zero}"),
            format!("0.{zero}00"),
            format!(".{zero}"),
            "0.".to_owned(),
            format!("0.{zero}.{zero}"),
            // i64::MAX + 1: overflow is not wrapped or clamped.
            format!("9223372036854775808.{zero}"),
            format!("{}.{zero}", "9".repeat(300)),
        ] {
            assert_eq!(guard.open(&bad), Err(Error::ClockTampered), "{bad}");
        }
        // Surrounding whitespace counts toward the 256-byte cap.
        let token = guard.seal(7).unwrap();
        let fits = format!("{token}{}", " ".repeat(MAX_CLOCK_TOKEN_LEN - token.len()));
        assert_eq!(guard.open(&fits), Ok(7));
        assert_eq!(guard.open(&format!("{fits} ")), Err(Error::ClockTampered));
        let debug = format!("{guard:?}");
        assert!(
            debug.contains("ClockGuard") && !debug.contains("secret"),
            "{debug}"
        );
        let min = guard.seal(i64::MIN).unwrap();
        assert_eq!(guard.open(&min), Ok(i64::MIN));
        let max = guard.seal(i64::MAX).unwrap();
        assert_eq!(guard.open(&max), Ok(i64::MAX));
        assert_eq!(max.len(), 19 + 1 + 64);
        assert_eq!(min.len(), 20 + 1 + 64);
    }

    /// What the guard does not stop, shown so nobody relies on it for that.
    #[test]
    fn deleting_or_replaying_the_token_resets_it() {
        let guard = ClockGuard::new(b"product secret", 60);
        let t0 = 1_700_000_000;
        let early = guard.check(None, t0).unwrap();
        let late = guard.check(Some(&early), t0 + 365 * 86_400).unwrap();
        let back = t0 + 86_400;
        assert!(matches!(
            guard.check(Some(&late), back),
            Err(Error::ClockRollback { .. })
        ));
        // Deleted token: a "first run" at the rolled-back time passes.
        assert_eq!(guard.open(&guard.check(None, back).unwrap()), Ok(back));
        // An older token put back: its MAC is genuine, so the rollback passes.
        assert_eq!(
            guard.open(&guard.check(Some(&early), back).unwrap()),
            Ok(back)
        );
    }
}
