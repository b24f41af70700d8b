//! One module per area (accounts, arrays, backup, commerce, keys, licensing,
//! referrals, dashboard, settings, sync, files): each owns its commands,
//! its events and a typed error, and runs each write in one `BEGIN IMMEDIATE` transaction that
//! also records the outbox change. The GUI's worker ([`crate::jobs`]) dispatches commands to
//! them; the CLI calls the same functions directly.

pub mod accounts;
pub mod arrays;
pub mod backup;
pub mod bulk;
pub mod commerce;
pub mod dashboard;
pub mod demo;
pub mod files;
pub mod keys;
pub mod license_admin;
pub mod licensing;
pub mod referrals;
pub mod settings;
pub mod sync;
pub mod transfers;

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

/// A part of a longer job: what it reports is counted after `earlier` steps done before it,
/// out of the whole job's `total`.
pub struct Offset<'a> {
    pub inner: &'a mut dyn Progress,
    pub earlier: u64,
    pub total: u64,
}

impl Progress for Offset<'_> {
    fn report(&mut self, done: u64, _total: u64) {
        self.inner.report(self.earlier + done, self.total);
    }

    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }
}
