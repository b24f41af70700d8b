//! The clock is injected, never read directly by rules, so tests can fix time.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the wall clock is read.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant (test mode).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    /// A fixed clock at the given unix time in seconds.
    pub fn at_unix(secs: i64) -> Self {
        Self(Utc.timestamp_opt(secs, 0).single().unwrap_or_default())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock that stands still until told to move (tests of time-dependent behaviour, such as
/// keys locking themselves after an idle period).
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock at the given unix time in seconds.
    pub fn at_unix(secs: i64) -> Self {
        Self(std::sync::Mutex::new(FixedClock::at_unix(secs).0))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_default()
    }
}

/// The shared clock handle passed to the worker and the panels.
pub type SharedClock = Arc<dyn Clock>;
