//! [`Session`]: the holder of unlocked signing keys, with idle auto-lock on an injected clock.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use ed25519_dalek::SigningKey;

use crate::{SealedKey, VaultError};

struct Unlocked {
    name: String,
    /// Boxed so the secret stays at one heap address while the map rehashes; `SigningKey`
    /// zeroizes itself when the box is dropped (on lock or when the session is dropped).
    key: Box<SigningKey>,
    last_used: Instant,
}

/// Unlocked signing keys, identified by their 32-byte Ed25519 public key.
///
/// The clock is injected: every call that needs the time takes `now`. A key idle for at least
/// the session's idle timeout is refused (and locked) by [`Session::signing_key`] even if the
/// application missed a [`Session::lock_if_idle`] tick. Dropping the session locks everything.
pub struct Session {
    idle_timeout: Duration,
    keys: HashMap<[u8; 32], Unlocked>,
}

impl Session {
    /// An empty session whose keys lock after `idle_timeout` without use.
    #[must_use]
    pub fn new(idle_timeout: Duration) -> Self {
        Session {
            idle_timeout,
            keys: HashMap::new(),
        }
    }

    /// The idle timeout enforced by [`Session::signing_key`].
    #[must_use]
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Changes the idle timeout (e.g. the user changed the setting).
    pub fn set_idle_timeout(&mut self, idle_timeout: Duration) {
        self.idle_timeout = idle_timeout;
    }

    /// Opens `sealed` with `passphrase` (runs Argon2: call it off the UI thread) and keeps the
    /// key unlocked, last used at `now`. Unlocking an already unlocked key refreshes it.
    /// Returns the key's public key.
    ///
    /// # Errors
    /// Any error of [`SealedKey::open`]; the session is unchanged on error.
    pub fn unlock(
        &mut self,
        sealed: &SealedKey,
        passphrase: &str,
        now: Instant,
    ) -> Result<[u8; 32], VaultError> {
        let key = sealed.open(passphrase)?;
        Ok(self.insert(sealed.name(), key, now))
    }

    /// Adds a key that was opened elsewhere (e.g. [`SealedKey::open`] on a worker thread).
    /// Returns its public key.
    pub fn insert(&mut self, name: &str, key: SigningKey, now: Instant) -> [u8; 32] {
        let public_key = key.verifying_key().to_bytes();
        self.keys.insert(
            public_key,
            Unlocked {
                name: name.to_owned(),
                key: Box::new(key),
                last_used: now,
            },
        );
        public_key
    }

    /// The unlocked key for `public_key`, marking it used at `now`. `None` if it is locked, or
    /// if it has been idle for at least the idle timeout (it is then locked).
    pub fn signing_key(&mut self, public_key: &[u8; 32], now: Instant) -> Option<&SigningKey> {
        let idle_timeout = self.idle_timeout;
        let expired = {
            let entry = self.keys.get(public_key)?;
            now.saturating_duration_since(entry.last_used) >= idle_timeout
        };
        if expired {
            self.keys.remove(public_key);
            return None;
        }
        let entry = self.keys.get_mut(public_key)?;
        if now > entry.last_used {
            entry.last_used = now;
        }
        Some(&*entry.key)
    }

    /// Whether `public_key` is currently unlocked (does not refresh or check idleness).
    #[must_use]
    pub fn is_unlocked(&self, public_key: &[u8; 32]) -> bool {
        self.keys.contains_key(public_key)
    }

    /// Public keys and names of the unlocked keys, sorted by public key.
    #[must_use]
    pub fn unlocked(&self) -> Vec<([u8; 32], String)> {
        let mut out: Vec<_> = self
            .keys
            .iter()
            .map(|(pk, u)| (*pk, u.name.clone()))
            .collect();
        out.sort();
        out
    }

    /// Number of unlocked keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is unlocked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Locks (and zeroizes) one key. Returns whether it was unlocked.
    pub fn lock(&mut self, public_key: &[u8; 32]) -> bool {
        self.keys.remove(public_key).is_some()
    }

    /// Locks (and zeroizes) every key. Returns how many were unlocked.
    pub fn lock_all(&mut self) -> usize {
        let n = self.keys.len();
        self.keys.clear();
        n
    }

    /// Locks every key unused for at least `idle` as of `now`. Returns how many were locked.
    pub fn lock_if_idle(&mut self, now: Instant, idle: Duration) -> usize {
        let before = self.keys.len();
        self.keys
            .retain(|_, u| now.saturating_duration_since(u.last_used) < idle);
        before - self.keys.len()
    }
}

impl fmt::Debug for Session {
    /// Public keys, names and last use only; never secret bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self
            .keys
            .iter()
            .map(|(pk, u)| (BASE64.encode(pk), u.name.as_str(), u.last_used))
            .collect();
        keys.sort();
        f.debug_struct("Session")
            .field("idle_timeout", &self.idle_timeout)
            .field("unlocked", &keys)
            .finish()
    }
}
