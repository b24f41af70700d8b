//! The real `license-portal` binary SIGKILLed in the middle of pushes, then restarted on the
//! same database: every acknowledged change is there, nothing is there twice, and the batch
//! that was in flight is all or nothing.

use crate::both;
use crate::common::*;
use portal::client::{ClientOptions, PortalClient};
use portal::protocol::{Envelope, PushStatus};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_license-portal");

/// A `license-portal serve` child process on a free port.
pub struct PortalProcess {
    pub child: Child,
    pub url: String,
}

impl PortalProcess {
    pub fn start(db: &str) -> PortalProcess {
        let mut child = Command::new(BIN)
            .args([
                "--db",
                db,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rate-per-second",
                "0",
                "--compact-every-minutes",
                "0",
            ])
            .env("LICENSE_PORTAL_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("license-portal starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        PortalProcess { child, url }
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `license-portal token create` against the database; prints the token.
pub fn cli_token(db: &str, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["--db", db, "token", "create", "--name", name])
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn killed_mid_push_loses_nothing_and_applies_nothing_twice(kind: Kind) {
    let db = TestDb::new(kind);
    let token = cli_token(&db.text, "crash desk");
    let mut desk = Desk::default();
    let batches: Vec<Vec<Envelope>> = (0..60)
        .map(|b| {
            (0..250)
                .map(|i| {
                    if i % 5 == 0 {
                        desk.ledger(b * 250 + i, "fact")
                    } else {
                        desk.account("x")
                    }
                })
                .collect()
        })
        .collect();
    let mut first = PortalProcess::start(&db.text);
    let client = PortalClient::new(
        &first.url,
        &token,
        ClientOptions {
            timeout: Duration::from_secs(20),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    // Push from another thread; kill the portal once some batches are acknowledged.
    let acked = std::sync::Mutex::new(Vec::<usize>::new());
    std::thread::scope(|scope| {
        let pusher = scope.spawn(|| {
            for (i, batch) in batches.iter().enumerate() {
                match client.push(batch) {
                    Ok(answer) => {
                        assert_eq!(answer.accepted, batch.len());
                        acked.lock().unwrap().push(i);
                    }
                    Err(_) => return i, // the portal is gone: this batch's fate is unknown
                }
            }
            batches.len()
        });
        let start = Instant::now();
        while acked.lock().unwrap().len() < 8 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(2));
        }
        first.child.kill().expect("SIGKILL");
        let in_flight = pusher.join().unwrap();
        assert!(
            in_flight < batches.len(),
            "the kill came before the last batch"
        );
        first.child.wait().unwrap();
        eprintln!(
            "killed with {} batches acknowledged, batch {in_flight} in flight",
            acked.lock().unwrap().len()
        );
    });
    let acked = acked.into_inner().unwrap();
    // Restart on the same database and push everything again, as a desk does with its outbox.
    let second = PortalProcess::start(&db.text);
    let client = PortalClient::new(&second.url, &token, ClientOptions::default()).unwrap();
    for (i, batch) in batches.iter().enumerate() {
        let answer = client.push(batch).unwrap();
        let all_same = answer
            .results
            .iter()
            .all(|r| r.status == answer.results[0].status);
        assert!(
            all_same,
            "batch {i} was half stored: {:?}",
            crate::common::statuses(&answer)
        );
        if acked.contains(&i) {
            assert_eq!(
                answer.duplicate,
                batch.len(),
                "batch {i} was acknowledged, so it is there"
            );
        } else {
            assert_ne!(answer.results[0].status, PushStatus::Rejected);
        }
    }
    let feed = pull_all(&client, 5000);
    let ids: Vec<Uuid> = feed.iter().map(|c| c.change_id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "nothing twice");
    let sent: HashSet<Uuid> = batches.iter().flatten().map(|c| c.change_id).collect();
    assert_eq!(unique, sent, "nothing lost");
}

both!(killed_mid_push_loses_nothing_and_applies_nothing_twice);
