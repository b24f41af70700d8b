//! Background sync in the window: asks the worker for a round when the schedule
//! ([`crate::sync::schedule`]) says one is due, learns from every round's outcome (whoever
//! asked for it), and says in the status bar what is true: off, air-gapped, syncing, the last
//! round and when the next is due, or why the last one failed.

use crate::domain::settings::Settings;
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId, Worker};
use crate::services::sync::{SyncCommand, SyncEvent};
use crate::sync::schedule::{self, Schedule};

/// How the last round this window saw ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Last {
    Finished { at: i64 },
    Failed { at: i64, reason: String },
}

/// The window's background sync.
#[derive(Debug, Default)]
pub struct BackgroundSync {
    schedule: Schedule,
    /// The round this driver asked for, while it runs.
    running: Option<RequestId>,
    last: Option<Last>,
    /// The settings the schedule was made for (a change starts it over).
    made_for: Option<(bool, String, u32)>,
}

impl BackgroundSync {
    /// Asks for a round when background sync is on and one is due (never in air-gapped mode or
    /// on a database opened read-only, never two at once).
    pub fn tick(&mut self, worker: &Worker, settings: &Settings, read_only: bool, now: i64) {
        let made_for = (
            settings.sync_enabled,
            settings.portal().to_string(),
            settings.sync_interval_minutes,
        );
        if self.made_for.as_ref() != Some(&made_for) {
            self.made_for = Some(made_for);
            self.schedule.reset();
        }
        if !settings.sync_enabled || settings.air_gapped || read_only || self.running.is_some() {
            return;
        }
        if self.schedule.due(now) {
            self.running = Some(worker.send(Command::Sync(SyncCommand::Round)));
        }
    }

    /// A signing key was unlocked: when the last round failed (most often because the device
    /// token sealed under that key could not open), the next one is due at once rather than
    /// after the backoff.
    pub fn key_unlocked(&mut self) {
        if matches!(self.last, Some(Last::Failed { .. })) {
            self.schedule.reset();
        }
    }

    /// Seconds until the next background round is due (for the repaint timer).
    pub fn wait(&self, settings: &Settings, now: i64) -> Option<i64> {
        if !settings.sync_enabled || settings.air_gapped {
            return None;
        }
        Some(self.schedule.next_at().map_or(0, |at| (at - now).max(0)))
    }

    /// A round ended (asked by this driver or by staff): plan the next. Returns true when
    /// the round was a background one (its outcome needs no toast: the status bar shows it).
    pub fn on_done(
        &mut self,
        request: RequestId,
        event: &Event,
        settings: &Settings,
        now: i64,
    ) -> bool {
        if !matches!(event, Event::Sync(SyncEvent::Synced(_))) {
            return false;
        }
        self.schedule
            .finished(now, interval(settings), schedule::jitter());
        self.last = Some(Last::Finished { at: now });
        self.running.take_if(|r| *r == request).is_some()
    }

    /// A command failed: when it was a round, back off. Returns true when it was a
    /// background round (no toast: the status bar shows the reason until the next try).
    pub fn on_failed(
        &mut self,
        request: RequestId,
        action: &str,
        reason: &str,
        settings: &Settings,
        now: i64,
    ) -> bool {
        let background = self.running.take_if(|r| *r == request).is_some();
        if background || action == SyncCommand::Round.action() {
            self.schedule
                .failed(now, interval(settings), schedule::jitter());
            self.last = Some(Last::Failed {
                at: now,
                reason: reason.to_string(),
            });
        }
        background
    }

    /// The status bar's words.
    pub fn status(&self, settings: &Settings, now: i64) -> String {
        if !settings.sync_enabled {
            return match &self.last {
                Some(Last::Finished { at }) => {
                    format!("Sync: off (last round {})", time::date_time(*at))
                }
                _ => "Sync: off".into(),
            };
        }
        if self.running.is_some() {
            return "Sync: syncing…".into();
        }
        let next = match self.schedule.next_at() {
            Some(at) if at > now => format!("next in {}", span(at - now)),
            _ => "next now".into(),
        };
        match &self.last {
            None => format!(
                "Sync: every {} · {next}",
                crate::domain::settings::every(settings.sync_interval_minutes)
            ),
            Some(Last::Finished { at }) => {
                format!("Sync: last round {} · {next}", time::date_time(*at))
            }
            Some(Last::Failed { at, reason }) => format!(
                "Sync failed {}: {} · {next}",
                time::date_time(*at),
                short(reason)
            ),
        }
    }
}

fn interval(settings: &Settings) -> i64 {
    i64::from(settings.sync_interval_minutes) * 60
}

/// "45 s", "3 min", "2 h".
fn span(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs} s"),
        60..7200 => format!("{} min", (secs + 59) / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// A reason cut to fit the status bar (the Sync panel shows it whole).
fn short(reason: &str) -> String {
    const MAX: usize = 90;
    if reason.chars().count() <= MAX {
        reason.to_string()
    } else {
        let cut: String = reason.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Settings {
        Settings {
            sync_enabled: true,
            portal_url: "https://portal.example".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn asks_once_when_due_and_not_when_off_gapped_or_read_only() {
        let worker = Worker::not_started();
        let mut sync = BackgroundSync::default();
        sync.tick(&worker, &Settings::default(), false, 100);
        assert_eq!(sync.running, None);
        sync.tick(&worker, &on(), true, 100);
        assert_eq!(sync.running, None);
        let gapped = Settings {
            air_gapped: true,
            ..on()
        };
        sync.tick(&worker, &gapped, false, 100);
        assert_eq!(sync.running, None);
        sync.tick(&worker, &on(), false, 100);
        let asked = sync.running.expect("a round was asked for");
        sync.tick(&worker, &on(), false, 100);
        assert_eq!(sync.running, Some(asked), "never two at once");
        assert_eq!(sync.status(&on(), 100), "Sync: syncing…");

        // It fails: backed off, the reason shown, no toast.
        assert!(sync.on_failed(asked, "Sync", "portal down", &on(), 100));
        assert!(sync.status(&on(), 100).contains("portal down"));
        sync.tick(&worker, &on(), false, 101);
        assert_eq!(sync.running, None, "not before the backoff");
        let wait = sync.wait(&on(), 100).expect("on");
        assert!((5..=30).contains(&wait), "{wait}");
        sync.tick(&worker, &on(), false, 100 + wait);
        let again = sync.running.expect("retried");
        let done = Event::Sync(SyncEvent::Synced(Default::default()));
        assert!(sync.on_done(again, &done, &on(), 200));
        assert!(sync.status(&on(), 200).starts_with("Sync: last round"));
        let wait = sync.wait(&on(), 200).expect("on");
        assert!((810..=990).contains(&wait), "{wait}");
    }

    #[test]
    fn a_round_staff_asked_for_is_learnt_from_and_toasted() {
        let mut sync = BackgroundSync::default();
        let done = Event::Sync(SyncEvent::Synced(Default::default()));
        assert!(!sync.on_done(7, &done, &on(), 50));
        assert!(!sync.on_failed(8, "Sync", "refused", &on(), 60));
        assert!(sync.status(&on(), 60).contains("refused"));
        assert!(!sync.on_failed(9, "Save settings", "bad", &on(), 70));
        assert!(sync.status(&on(), 70).contains("refused"));
        // Settings changing starts the schedule over.
        let worker = Worker::not_started();
        let other = Settings {
            sync_interval_minutes: 5,
            ..on()
        };
        sync.tick(&worker, &other, false, 61);
        assert!(sync.running.is_some());
    }

    #[test]
    fn unlocking_a_key_retries_a_round_that_needed_it_at_once() {
        let worker = Worker::not_started();
        let mut sync = BackgroundSync::default();
        sync.tick(&worker, &on(), false, 100);
        let asked = sync.running.expect("asked");
        let locked = "the device token is sealed under the signing key 'ops': unlock it";
        sync.on_failed(asked, "Sync", locked, &on(), 100);
        sync.tick(&worker, &on(), false, 101);
        assert_eq!(sync.running, None, "backing off");
        sync.key_unlocked();
        sync.tick(&worker, &on(), false, 101);
        assert!(sync.running.is_some(), "tried again at once");
        // After a round that finished, an unlock changes nothing.
        let asked = sync.running.expect("asked");
        let done = Event::Sync(SyncEvent::Synced(Default::default()));
        sync.on_done(asked, &done, &on(), 102);
        sync.key_unlocked();
        sync.tick(&worker, &on(), false, 103);
        assert_eq!(sync.running, None);
    }

    #[test]
    fn spans_and_reasons_fit() {
        assert_eq!(span(45), "45 s");
        assert_eq!(span(61), "2 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(short(&"x".repeat(200)).chars().count(), 90);
        assert_eq!(
            BackgroundSync::default().status(&Settings::default(), 0),
            "Sync: off"
        );
    }
}
