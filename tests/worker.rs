//! The background worker: it opens the database itself, commands answer with events carrying
//! their request id, long jobs report progress and stop when cancelled, failures come back as
//! messages, and a database that cannot be opened is reported instead of hanging.

use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::domain::issue::{IssueDraft, IssueSpec};
use license_desk::jobs::{Command, Event, Message, RequestId, Worker};
use license_desk::services::accounts::{AccountsCommand, AccountsEvent};
use license_desk::services::keys::{KeysCommand, KeysEvent, Secret};
use license_desk::services::licensing::{LicensingCommand, LicensingEvent};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn worker(database: &Path) -> (Worker, Arc<AtomicUsize>) {
    let repaints = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&repaints);
    let worker = Worker::spawn(
        database.to_path_buf(),
        Arc::new(FixedClock::at_unix(1_795_435_200)),
        KdfParams::TEST_ONLY,
        Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    );
    (worker, repaints)
}

fn drain(worker: &Worker) -> Vec<Message> {
    assert!(worker.wait_idle(Duration::from_secs(60)));
    worker.poll()
}

/// The outcome of `request`: its event, or its failure message.
fn outcome(messages: &[Message], request: RequestId) -> Result<Event, String> {
    for message in messages {
        match message {
            Message::Done { request: r, event } if *r == request => return Ok((**event).clone()),
            Message::Failed {
                request: r,
                message,
                ..
            } if *r == request => return Err(message.clone()),
            _ => {}
        }
    }
    panic!("no answer for request {request}: {messages:?}")
}

fn spec() -> IssueSpec {
    IssueDraft {
        product: "P".into(),
        customer: "C".into(),
        ..Default::default()
    }
    .validate()
    .expect("test setup")
}

#[test]
fn commands_answer_with_events_and_failures_with_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (worker, repaints) = worker(&dir.path().join("desk.sqlite3"));
    let first = worker.send(Command::Accounts(AccountsCommand::Create {
        name: "Acme".into(),
    }));
    let second = worker.send(Command::Accounts(AccountsCommand::Create {
        name: "acme".into(),
    }));
    let third = worker.send(Command::Licensing(LicensingCommand::Issue {
        spec: Box::new(spec()),
        account_id: None,
    }));
    assert!(first < second && second < third, "request ids grow");
    let messages = drain(&worker);
    // A new database is made at the latest schema beside its place and renamed into it: it is
    // checked (the window checks at every start), there is nothing to upgrade, and it is ready.
    assert!(
        matches!(
            &messages[..2],
            [
                Message::Opening(license_desk::store::OpenStep::Checking),
                Message::Ready
            ]
        ),
        "{messages:?}"
    );
    assert!(matches!(
        outcome(&messages, first),
        Ok(Event::Accounts(AccountsEvent::Created(a))) if a.wallet_id == 100
    ));
    assert!(
        outcome(&messages, second)
            .unwrap_err()
            .contains("already taken")
    );
    assert!(
        outcome(&messages, third)
            .unwrap_err()
            .starts_with("no signing key")
    );
    let failed_action = messages.iter().find_map(|m| match m {
        Message::Failed {
            request, action, ..
        } if *request == second => Some(*action),
        _ => None,
    });
    assert_eq!(failed_action, Some("Create account"));
    assert!(
        repaints.load(Ordering::SeqCst) >= 4,
        "the UI is asked to repaint after each message"
    );
}

#[test]
fn long_jobs_report_progress_to_the_end_and_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (worker, _) = worker(&dir.path().join("desk.sqlite3"));
    let generated = worker.send(Command::Keys(KeysCommand::Generate {
        name: "main".into(),
        passphrase: Secret::new("a long enough passphrase"),
        make_active: true,
    }));
    let messages = drain(&worker);
    let Ok(Event::Keys(KeysEvent::Generated(key))) = outcome(&messages, generated) else {
        panic!("{messages:?}")
    };
    let locked = worker.send(Command::Licensing(LicensingCommand::Issue {
        spec: Box::new(spec()),
        account_id: None,
    }));
    let messages = drain(&worker);
    assert!(
        outcome(&messages, locked)
            .unwrap_err()
            .contains("is locked")
    );
    worker.send(Command::Keys(KeysCommand::Unlock {
        key_id: key.key_id,
        passphrase: Secret::new("a long enough passphrase"),
    }));
    for _ in 0..3 {
        worker.send(Command::Licensing(LicensingCommand::Issue {
            spec: Box::new(spec()),
            account_id: None,
        }));
    }
    let out = dir.path().join("ledger.csv");
    let export = worker.send(Command::Licensing(LicensingCommand::ExportLedger {
        path: out.clone(),
    }));
    let messages = drain(&worker);
    let progress: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Progress { request, progress } if *request == export => Some(progress.clone()),
            _ => None,
        })
        .collect();
    let last = progress.last().unwrap();
    assert!(
        last.finished && last.done == 3 && last.total == 3,
        "{progress:?}"
    );
    assert!(matches!(
        outcome(&messages, export),
        Ok(Event::Licensing(LicensingEvent::LedgerExported {
            entries: 3,
            ..
        }))
    ));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three entries");
    assert!(csv.starts_with("seq,recorded_at,format,action,license_id,account_id"));

    // A cancelled command that has not started is skipped; nothing is written.
    let gate = worker.send(Command::Keys(KeysCommand::Generate {
        name: "second".into(),
        passphrase: Secret::new("a long enough passphrase"),
        make_active: false,
    }));
    let cancelled = worker.send(Command::Licensing(LicensingCommand::ExportLedger {
        path: dir.path().join("never.csv"),
    }));
    worker.cancel(cancelled);
    let messages = drain(&worker);
    assert!(outcome(&messages, gate).is_ok());
    assert!(
        outcome(&messages, cancelled)
            .unwrap_err()
            .contains("cancelled")
    );
    assert!(!dir.path().join("never.csv").exists());
}

#[test]
fn a_database_that_cannot_be_opened_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
    std::fs::write(&path, b"this is not an SQLite database, just text").unwrap();
    let (worker, _) = worker(&path);
    let messages = drain(&worker);
    assert!(
        matches!(messages.last(), Some(Message::OpenFailed(f))
            if f.database == path && f.problem == license_desk::jobs::OpenProblem::Damaged),
        "{messages:?}"
    );
    // Commands sent now are answered, not lost in a hang.
    let request = worker.send(Command::Accounts(AccountsCommand::Create {
        name: "X".into(),
    }));
    let messages = drain(&worker);
    assert_eq!(
        outcome(&messages, request).unwrap_err(),
        "the database is not open"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not an SQLite database, just text"
    );
}

#[test]
fn dropping_the_worker_does_not_wait_for_a_long_job() {
    let dir = tempfile::tempdir().unwrap();
    let (worker, _) = worker(&dir.path().join("desk.sqlite3"));
    assert!(worker.wait_idle(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    drop(worker);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn passphrases_are_never_printed() {
    let command = Command::Keys(KeysCommand::Unlock {
        key_id: licensekey::KeyId([1; 8]),
        passphrase: Secret::new("hunter2 hunter2"),
    });
    assert!(!format!("{command:?}").contains("hunter2"));
}
