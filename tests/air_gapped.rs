//! An air-gapped desk opens no network socket at all: every command of a day's work (a key,
//! an account, licenses one by one and in bulk, checking one, revoking one, a backup, the
//! ledger) runs under `strace` watching the socket system calls, and none asks for an IP
//! socket. Only `license-desk sync`, which a person runs on purpose, talks to a network, and
//! not even it once air-gapped mode is on.
//! Where `strace` cannot run, the test is reported as ignored, by name.

mod common;

use common::desk::{Desk, text};
use std::process::Command;

/// Runs the desk's binary with `args` under strace; returns whether it succeeded and the
/// socket calls it made.
fn socket_calls(desk: &Desk, args: &[&str]) -> (bool, Vec<String>) {
    let log = desk.path("strace.log");
    let inner = desk.command(args);
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
        .arg(&log)
        .arg(inner.get_program())
        .args(inner.get_args())
        .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env_remove("LICENSE_DESK_DATA");
    let out = cmd.output().expect("strace runs");
    let calls = std::fs::read_to_string(&log)
        .expect("the strace log")
        .lines()
        .map(str::to_string)
        .collect();
    if !out.status.success() {
        eprintln!("{args:?}: {}", text(&out));
    }
    (out.status.success(), calls)
}

/// The calls that ask for an IP (or raw packet) socket.
fn network(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| c.contains("AF_INET") || c.contains("AF_PACKET"))
        .collect()
}

#[test]
#[cfg_attr(no_strace, ignore = "strace cannot trace processes on this machine")]
fn a_days_work_opens_no_network_socket() {
    let desk = Desk::new();
    let csv = desk.path("bulk.csv");
    std::fs::write(
        &csv,
        "product,kind,customer\nStorage OS,pro,Acme\nStorage OS,dev,Beta\n",
    )
    .unwrap();
    let one = desk.path("one.lic").display().to_string();
    let bulk_out = desk.path("bulk-out.csv").display().to_string();
    let copy = desk.path("copy.sqlite3").display().to_string();
    let csv = csv.display().to_string();
    let steps: [&[&str]; 7] = [
        &["keys", "new", "--name", "vault"],
        &[
            "issue",
            "--product",
            "Storage OS",
            "--kind",
            "pro",
            "--customer",
            "Acme",
            "--out",
            &one,
        ],
        &["issue", "--csv", &csv, "--out", &bulk_out],
        &["verify", &one, "--product", "Storage OS"],
        &["ledger", "verify"],
        &["backup", &copy],
        &["backups"],
    ];
    for args in steps {
        let (ok, calls) = socket_calls(&desk, args);
        assert!(ok, "{args:?} failed");
        let used = network(&calls);
        assert!(used.is_empty(), "{args:?} opened network sockets: {used:?}");
    }

    // The watch sees a network socket when there is one: `sync`, run on purpose, opens one
    // (to a port where nothing listens, so it fails).
    let token = desk.path("token");
    std::fs::write(&token, "ldp_x\n").unwrap();
    let token = token.display().to_string();
    let sync = [
        "sync",
        "--portal",
        "http://127.0.0.1:9",
        "--token-file",
        &token,
    ];
    let (ok, calls) = socket_calls(&desk, &sync);
    assert!(!ok, "nothing listens there");
    assert!(
        !network(&calls).is_empty(),
        "strace saw no socket of sync: {calls:?}"
    );

    // With air-gapped mode on, even `sync` asked for on purpose opens none.
    common::raw_connection(&desk.database())
        .execute(
            "INSERT INTO settings (key, value) VALUES ('air_gapped', '1')
             ON CONFLICT (key) DO UPDATE SET value = '1'",
            [],
        )
        .unwrap();
    let (ok, calls) = socket_calls(&desk, &sync);
    assert!(!ok, "an air-gapped desk refuses to sync");
    let used = network(&calls);
    assert!(used.is_empty(), "air-gapped sync opened sockets: {used:?}");
}
