//! A guard against the clock being turned back to stretch an expired license.
//!
//! The product stores the latest time it has seen as a short token,
//! authenticated with HMAC-SHA256 under a product secret. On each start it
//! passes the stored token and the current time to [`ClockGuard::check`],
//! which fails when the clock went back further than the tolerance, and
//! stores the token it returns. This does not stop a determined attacker
//! who deletes the token (the product should treat a missing token after
//! first run as suspicious) but it stops the common "set the date back" trick.

use data_encoding::HEXLOWER;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::armor::is_outer_space;
use crate::encoding::with_context;
use crate::error::{Error, Result};

/// Domain-separation context of the clock token MAC.
pub const CLOCK_CONTEXT: &str = "LicenseDesk/clock/v1";

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

    /// Reads a token; [`Error::ClockTampered`] unless it is exactly what [`Self::seal`] wrote.
    pub fn open(&self, token: &str) -> Result<i64> {
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
    /// token was altered.
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
}
