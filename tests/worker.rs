//! The background worker: commands answer with events, long jobs report progress, failures
//! come back as messages and the UI thread never waits.
#![allow(clippy::unwrap_used)]

use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::jobs::{Command, Event, Secret, Worker};
use license_desk::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn worker(dir: &std::path::Path) -> (Worker, Arc<AtomicUsize>) {
    let store = Store::open(&dir.join("desk.sqlite3")).unwrap();
    let repaints = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&repaints);
    let worker = Worker::spawn(
        store,
        Arc::new(FixedClock::at_unix(1_795_435_200)),
        KdfParams::TEST_ONLY,
        Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    );
    (worker, repaints)
}

fn drain(worker: &Worker) -> Vec<Event> {
    assert!(worker.wait_idle(Duration::from_secs(30)));
    worker.poll()
}

#[test]
fn commands_answer_with_events_and_failures_with_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (worker, repaints) = worker(dir.path());
    worker.send(Command::CreateAccount {
        name: "Acme".into(),
    });
    worker.send(Command::CreateAccount {
        name: "acme".into(),
    });
    worker.send(Command::IssueLicense {
        spec: license_desk::domain::issue::IssueDraft {
            product: "P".into(),
            customer: "C".into(),
            ..Default::default()
        }
        .validate()
        .unwrap(),
        account_id: None,
    });
    let events = drain(&worker);
    assert!(matches!(&events[0], Event::AccountCreated(a) if a.wallet_id == 100));
    assert!(
        matches!(&events[1], Event::Failed { action: "Create account", message } if message.contains("already taken"))
    );
    assert!(
        matches!(&events[2], Event::Failed { action: "Issue license", message } if message.starts_with("no signing key"))
    );
    assert!(
        repaints.load(Ordering::SeqCst) >= 3,
        "the UI is asked to repaint after each event"
    );
}

#[test]
fn long_jobs_report_progress_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let (worker, _) = worker(dir.path());
    worker.send(Command::GenerateKey {
        name: "main".into(),
        passphrase: Secret::new("a long enough passphrase"),
        make_active: true,
    });
    let events = drain(&worker);
    assert!(
        matches!(&events[0], Event::KeysChanged { .. }),
        "{events:?}"
    );
    let key_id = {
        let store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
        license_desk::vault::active(store.conn()).unwrap().key_id
    };
    worker.send(Command::UnlockKey {
        key_id,
        passphrase: Secret::new("a long enough passphrase"),
    });
    let spec = license_desk::domain::issue::IssueDraft {
        product: "P".into(),
        customer: "C".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    for _ in 0..3 {
        worker.send(Command::IssueLicense {
            spec: spec.clone(),
            account_id: None,
        });
    }
    let out = dir.path().join("ledger.csv");
    worker.send(Command::ExportLedger { path: out.clone() });
    let events = drain(&worker);
    let progress: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let last = progress.last().unwrap();
    assert!(
        last.finished && last.done == 3 && last.total == 3,
        "{progress:?}"
    );
    assert!(matches!(events.last(), Some(Event::FileSaved { .. })));
    let csv = std::fs::read_to_string(out).unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three entries");
    assert!(csv.starts_with("seq,recorded_at,action,license_id,operator"));
}

#[test]
fn passphrases_are_never_printed() {
    let secret = Secret::new("hunter2 hunter2");
    let command = Command::UnlockKey {
        key_id: "k".into(),
        passphrase: secret,
    };
    assert!(!format!("{command:?}").contains("hunter2"));
}
