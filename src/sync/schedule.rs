//! When the app runs its next background round: every interval after a round that finished,
//! sooner after a failure and then backing off, with jitter so that many desks started
//! together (after an outage, at nine in the morning) do not reach the portal in step.
//!
//! The rule, in seconds:
//! - after a round that finished: `interval × (0.9 + 0.2 × jitter)`;
//! - after the n-th failure in a row: `min(interval, 30 × 2^(n−1)) × (0.5 + 0.5 × jitter)`
//!   ("equal jitter"), never under 5 s;
//! - `jitter` is uniform in [0, 1), drawn for each round.

/// First wait after a failure, before jitter (seconds).
pub const FIRST_RETRY: i64 = 30;
/// No wait is shorter than this (seconds).
pub const SHORTEST: i64 = 5;

/// The background schedule: when the next round is due and how many rounds failed in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    /// Unix seconds when the next round is due; `None`: at once (nothing ran yet).
    next_at: Option<i64>,
    failures: u32,
}

impl Schedule {
    /// True when a round should start at `now`.
    pub fn due(&self, now: i64) -> bool {
        self.next_at.is_none_or(|at| now >= at)
    }

    /// When the next round is due (`None`: at once).
    pub fn next_at(&self) -> Option<i64> {
        self.next_at
    }

    /// Rounds that failed in a row since the last that finished.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A round finished at `now`: the next one comes about an interval later.
    pub fn finished(&mut self, now: i64, interval_secs: i64, jitter: f64) {
        self.failures = 0;
        let wait = interval_secs.max(SHORTEST) as f64 * (0.9 + 0.2 * unit(jitter));
        self.next_at = Some(now + (wait as i64).max(SHORTEST));
    }

    /// A round failed at `now`: the next one comes sooner than an interval, and later after
    /// each failure in a row, up to the interval.
    pub fn failed(&mut self, now: i64, interval_secs: i64, jitter: f64) {
        self.failures = self.failures.saturating_add(1);
        let doubled = FIRST_RETRY.saturating_mul(1_i64 << (self.failures - 1).min(20));
        let ceiling = doubled.min(interval_secs.max(SHORTEST)) as f64;
        let wait = ceiling * (0.5 + 0.5 * unit(jitter));
        self.next_at = Some(now + (wait as i64).max(SHORTEST));
    }

    /// Starts over (settings changed, or staff asked for a round): due at once.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// `jitter` held in [0, 1).
fn unit(jitter: f64) -> f64 {
    if jitter.is_finite() {
        jitter.clamp(0.0, 0.999_999)
    } else {
        0.5
    }
}

/// A fresh jitter draw in [0, 1) from the system's random source (0.5 if it fails).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    #[test]
    fn due_at_once_then_about_an_interval_after_a_round() {
        let mut s = Schedule::default();
        assert!(s.due(0));
        s.finished(1000, 900, 0.0);
        assert_eq!(s.next_at(), Some(1000 + 810));
        assert!(!s.due(1809));
        assert!(s.due(1810));
        s.finished(1000, 900, 0.999);
        assert!(
            s.next_at()
                .is_some_and(|at| at > 1000 + 980 && at <= 1000 + 990)
        );
    }

    #[test]
    fn failures_back_off_up_to_the_interval_with_jitter() {
        let mut s = Schedule::default();
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            s.failed(0, HOUR, 0.999_999);
            ceilings.push(s.next_at().unwrap_or_default());
        }
        assert_eq!(&ceilings[..4], &[29, 59, 119, 239]);
        assert!(ceilings.windows(2).all(|w| w[0] <= w[1]), "{ceilings:?}");
        assert_eq!(*ceilings.last().unwrap_or(&0), HOUR - 1);
        assert_eq!(s.failures(), 10);
        // The smallest draw waits half the ceiling; a success clears the count.
        s.failed(0, HOUR, 0.0);
        assert_eq!(s.next_at(), Some(HOUR / 2));
        s.finished(0, HOUR, 0.5);
        assert_eq!(s.failures(), 0);
        s.failed(0, HOUR, 0.0);
        assert_eq!(s.next_at(), Some(15));
    }

    #[test]
    fn never_sooner_than_the_floor_and_never_overflows() {
        let mut s = Schedule::default();
        s.failed(0, 1, 0.0);
        assert_eq!(s.next_at(), Some(SHORTEST));
        for _ in 0..200 {
            s.failed(0, i64::from(u32::MAX), f64::NAN);
        }
        assert!(s.next_at().is_some_and(|at| at > 0));
        s.reset();
        assert!(s.due(i64::MIN));
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let draws: Vec<f64> = (0..64).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(draws.iter().any(|j| (j - draws[0]).abs() > 1e-9));
    }
}
