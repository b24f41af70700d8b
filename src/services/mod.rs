//! One module per area (accounts, arrays, backup, commerce, keys, licensing, referrals, dashboard, settings, files): each owns its commands,
//! its events and a typed error, and runs each write in one `BEGIN IMMEDIATE` transaction that
//! also records the outbox change. The GUI's worker ([`crate::jobs`]) dispatches commands to
//! them; the CLI calls the same functions directly.

pub mod accounts;
pub mod arrays;
pub mod backup;
pub mod commerce;
pub mod dashboard;
pub mod files;
pub mod keys;
pub mod licensing;
pub mod referrals;
pub mod settings;

/// How a long job reports how far it is and learns that it should stop.
pub trait Progress {
    /// `done` of `total` steps are finished.
    fn report(&mut self, done: u64, total: u64);

    /// True when the person asked the job to stop; the job stops at its next safe point and
    /// keeps what it committed.
    fn cancelled(&self) -> bool {
        false
    }
}

/// For callers that do not show progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&mut self, _done: u64, _total: u64) {}
}
