//! What a portal allows, with defaults that suit a few dozen desks; every one is a `serve`
//! flag. `GET /v1/version` publishes the ones a desk must keep to.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body (a push), in bytes: 413 past it.
    pub max_request_bytes: usize,
    /// The most changes in one push: 413 past it.
    pub max_batch: usize,
    /// The largest body of one change: that change is rejected (`body_too_large`).
    pub max_change_body_bytes: usize,
    /// The most changes in one pull page, and the page a pull gets when it names none.
    pub max_page: usize,
    pub default_page: usize,
    /// A pull page stops early once its bodies add up to this many bytes.
    pub max_page_bytes: usize,
    /// How far ahead of the portal's clock a change's HLC may be.
    pub max_clock_ahead: Duration,
    /// A request (reading it, answering it) must finish within this.
    pub request_timeout: Duration,
    /// Per client IP: sustained requests per second and burst; 0 turns the limit off.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Take the client IP for rate limiting from the last `X-Forwarded-For` hop (set only
    /// behind a reverse proxy that writes it: otherwise clients could pick their own IP).
    pub trust_forwarded_for: bool,
    /// Simultaneous connections; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Keep every change whole this many days before compacting (see the sync protocol).
    pub retain_days: u32,
    /// Run compaction this often (None: never in this process).
    pub compact_every: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 16 * 1024 * 1024,
            max_batch: 1000,
            max_change_body_bytes: 1024 * 1024,
            max_page: 10_000,
            default_page: 1000,
            max_page_bytes: 8 * 1024 * 1024,
            max_clock_ahead: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(30),
            rate_per_second: 50,
            rate_burst: 200,
            trust_forwarded_for: false,
            max_connections: 1024,
            retain_days: 30,
            compact_every: Some(Duration::from_secs(3600)),
        }
    }
}

impl Limits {
    /// What `GET /v1/version` tells desks.
    pub fn published(&self) -> crate::protocol::PublishedLimits {
        crate::protocol::PublishedLimits {
            max_request_bytes: self.max_request_bytes,
            max_batch: self.max_batch,
            max_change_body_bytes: self.max_change_body_bytes,
            max_page: self.max_page,
            retain_days: self.retain_days,
        }
    }

    pub fn retain_ms(&self) -> i64 {
        i64::from(self.retain_days) * 24 * 3600 * 1000
    }
}
