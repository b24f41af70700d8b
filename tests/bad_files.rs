//! Every bad database file on the command line: a message naming the file and the problem, a
//! way forward, and never a write to it or a new empty database in its place. Tests that need
//! a small or read-only file system mount one in a mount namespace of their own (`unshare`);
//! where that is not possible they are reported as ignored, by name.
// Helpers panic on a broken test setup, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::desk::{BIN, Desk, PASSPHRASE, s, text};
use std::path::Path;
use std::process::{Command, Stdio};

fn hash(path: &Path) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// A healthy database with a key and a few licenses, as bytes.
fn healthy_database() -> (Desk, Vec<u8>) {
    let desk = Desk::with_key();
    for customer in ["A", "B", "C"] {
        desk.ok(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            customer,
        ]);
    }
    let bytes = std::fs::read(desk.database()).unwrap();
    (desk, bytes)
}

#[test]
fn a_damaged_file_is_named_never_written_and_can_be_replaced_by_a_backup() {
    let (source, bytes) = healthy_database();
    let backup = source.path("good.sqlite3");
    source.ok(&["backup", s(&backup)]);
    let mut scribbled = bytes.clone();
    let middle = scribbled.len() / 2 / 4096 * 4096;
    for (i, b) in scribbled[middle..middle + 4096].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("zero length", Vec::new(), "the file is empty"),
        (
            "truncated",
            bytes[..bytes.len() / 3].to_vec(),
            "the file is cut short",
        ),
        (
            "random bytes in the middle",
            scribbled,
            "the database file is damaged",
        ),
        (
            "not SQLite",
            b"name,notes\nthis is a spreadsheet someone saved over the database\n".to_vec(),
            "not a License Desk database",
        ),
    ];
    for (what, contents, problem) in cases {
        let desk = Desk::new();
        std::fs::write(desk.database(), &contents).unwrap();
        let before = hash(&desk.database());
        for args in [&["keys", "list"][..], &["ledger", "verify"][..]] {
            let out = desk.run(args);
            assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out));
            let message = text(&out);
            assert!(message.contains(s(&desk.database())), "{what}: {message}");
            assert!(message.contains(problem), "{what}: {message}");
            assert!(
                message.contains("license-desk restore BACKUP"),
                "{what}: {message}"
            );
        }
        assert_eq!(
            hash(&desk.database()),
            before,
            "{what}: the file was written"
        );

        // The way forward: the backup takes its place, the damaged file is kept aside.
        let refused = desk.run(&["restore", s(&backup)]);
        assert!(!refused.status.success(), "{what}");
        assert!(text(&refused).contains("add --yes"), "{what}");
        let out = desk.ok(&["restore", s(&backup), "--yes"]);
        let moved = out
            .lines()
            .find_map(|l| l.strip_prefix("Restored. The damaged file was moved to "))
            .unwrap_or_else(|| panic!("{what}: {out}"));
        assert!(Path::new(moved).starts_with(desk.dir.path().join("damaged")));
        assert_eq!(hash(Path::new(moved)), before, "{what}: kept as it was");
        let verified = desk.ok(&["ledger", "verify"]);
        assert!(
            verified.contains("Ledger intact: 3 entries"),
            "{what}: {verified}"
        );
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_alone() {
    let (desk, _) = healthy_database();
    let newer = license_desk::store::SCHEMA_VERSION + 1;
    common::raw_connection(&desk.database())
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let before = hash(&desk.database());
    for args in [
        &["keys", "list"][..],
        &[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "D",
        ][..],
    ] {
        let out = desk.run(args);
        assert!(!out.status.success());
        let message = text(&out);
        assert!(
            message.contains(&format!(
                "the database is at schema version {newer}, newer than this build knows"
            )),
            "{message}"
        );
        assert!(message.contains("use the newer License Desk"), "{message}");
    }
    assert_eq!(hash(&desk.database()), before);
}

#[test]
fn a_locked_database_is_waited_for_visibly_then_reported() {
    let (desk, _) = healthy_database();
    let holder = common::raw_connection(&desk.database());
    holder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('x', 'y');")
        .unwrap();
    let issue = [
        "issue",
        "--product",
        "S",
        "--kind",
        "dev",
        "--customer",
        "D",
    ];
    let out = desk
        .command(&issue)
        .env(license_desk::store::LOCK_WAIT_ENV, "2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = text(&out);
    assert!(
        message.contains("Another program is writing to the database; waiting (try 1 of 2)"),
        "{message}"
    );
    assert!(
        message.contains("another program is writing to the database and did not finish in time"),
        "{message}"
    );

    // Released while the command waits, it goes ahead.
    let child = desk
        .command(&issue)
        .env(license_desk::store::LOCK_WAIT_ENV, "20")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    holder.execute_batch("ROLLBACK").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Serial:"));
}

#[test]
fn a_data_folder_that_has_gone_is_reported_not_recreated() {
    let parent = tempfile::tempdir().unwrap();
    let gone = parent.path().join("usb-stick").join("license-desk");
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(&gone)
        .args(["keys", "list"])
        .env_remove("LICENSE_DESK_DATA")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = text(&out);
    assert!(message.contains(s(&gone)), "{message}");
    assert!(message.contains("is its drive connected?"), "{message}");
    assert!(
        !parent.path().join("usb-stick").exists(),
        "nothing was made"
    );

    // One missing level (a new desk in a new folder) is made, owner only.
    let new = parent.path().join("new-desk");
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(&new)
        .args(["keys", "list"])
        .env_remove("LICENSE_DESK_DATA")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(new.join("license-desk.sqlite3").is_file());
}

/// Runs `script` (sh) in a mount namespace where `dir` is a fresh tmpfs of `size`; `$BIN` is
/// the binary and `$DIR` the folder.
fn in_small_file_system(dir: &Path, size: &str, script: &str) -> std::process::Output {
    Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            &format!("mount -t tmpfs -o size={size} tmpfs \"$DIR\" && {script}"),
        ])
        .env("DIR", dir)
        .env("BIN", BIN)
        .env("LICENSE_DESK_PASSPHRASE", PASSPHRASE)
        .env_remove("LICENSE_DESK_DATA")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(
    no_mount_namespace,
    ignore = "`unshare -rm` with a tmpfs mount is not available on this machine"
)]
fn a_read_only_drive_opens_read_only_for_reading_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = in_small_file_system(
        dir.path(),
        "32m",
        r#"set -e
        "$BIN" --data-dir "$DIR" keys new --name ops >/dev/null
        "$BIN" --data-dir "$DIR" issue --product S --kind dev --customer A >/dev/null
        mount -o remount,ro "$DIR"
        "$BIN" --data-dir "$DIR" ledger verify
        "$BIN" --data-dir "$DIR" backup "$DIR/../copy-$$.sqlite3" 2>&1 | tail -1 || true
        rm -f "$DIR/../copy-$$.sqlite3"
        if "$BIN" --data-dir "$DIR" issue --product S --kind dev --customer B; then
            echo "UNEXPECTED: a write succeeded"
        fi
        ls -a "$DIR"
        "#,
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("The database cannot be written: opened read-only"),
        "{all}"
    );
    assert!(all.contains("Ledger intact: 1 entries"), "{all}");
    assert!(
        all.contains(
            "the database cannot be written (the file, its folder or the drive is read-only)"
        ),
        "{all}"
    );
    assert!(!all.contains("UNEXPECTED"), "{all}");
}

#[test]
#[cfg_attr(
    no_mount_namespace,
    ignore = "`unshare -rm` with a tmpfs mount is not available on this machine"
)]
fn a_full_disk_keeps_every_committed_row_and_the_same_command_works_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let out = in_small_file_system(
        dir.path(),
        "4m",
        r#"set -e
        issue() { "$BIN" --data-dir "$DIR" issue --product S --kind pro --customer "$1"; }
        "$BIN" --data-dir "$DIR" keys new --name ops >/dev/null
        issue First >/dev/null
        dd if=/dev/zero of="$DIR/filler" bs=16k 2>/dev/null || true
        if issue Second; then echo "UNEXPECTED: issued on a full disk"; fi
        rm "$DIR/filler"
        issue Second | grep -c Serial:
        "$BIN" --data-dir "$DIR" ledger verify
        "#,
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("UNEXPECTED"), "{all}");
    assert!(
        all.contains("the disk holding the database is full: free some space and try again (nothing was written)"),
        "{all}"
    );
    assert!(all.contains("Ledger intact: 2 entries"), "{all}");
}

/// The worker (the window's writer) meets a full disk, says so, keeps running, and the same
/// command succeeds once space is freed. The test runs itself again inside a mount namespace
/// with a small tmpfs.
#[test]
#[cfg_attr(
    no_mount_namespace,
    ignore = "`unshare -rm` with a tmpfs mount is not available on this machine"
)]
fn the_window_keeps_running_on_a_full_disk() {
    const INSIDE: &str = "LICENSE_DESK_TEST_SMALL_DISK";
    if let Some(dir) = std::env::var_os(INSIDE) {
        return full_disk_in_worker(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let me = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=4m tmpfs \"$DIR\" && exec \"$ME\" --exact the_window_keeps_running_on_a_full_disk --include-ignored --nocapture --test-threads 1",
        ])
        .env("DIR", dir.path())
        .env("ME", &me)
        .env(INSIDE, dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("1 passed"),
        "the test did not run inside: {all}"
    );
}

fn full_disk_in_worker(dir: &Path) {
    use license_desk::jobs::{Command as Job, Event, Message, Worker};
    use license_desk::services::accounts::{AccountsCommand, AccountsEvent};
    let worker = Worker::spawn(
        license_desk::paths::database_path(dir),
        std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(1_795_435_200)),
        keyvault::KdfParams::IMPORT_FLOOR,
        Box::new(|| {}),
    );
    let create = |name: &str| {
        let request = worker.send(Job::Accounts(AccountsCommand::Create { name: name.into() }));
        assert!(worker.wait_idle(std::time::Duration::from_secs(60)));
        worker
            .poll()
            .into_iter()
            .find_map(|m| match m {
                Message::Done { request: r, event } if r == request => Some(Ok(*event)),
                Message::Failed {
                    request: r,
                    message,
                    ..
                } if r == request => Some(Err(message)),
                _ => None,
            })
            .expect("every command is answered")
    };
    assert!(matches!(
        create("Before"),
        Ok(Event::Accounts(AccountsEvent::Created(_)))
    ));
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 16 * 1024];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let mut failed = None;
    for n in 0..200 {
        match create(&format!("Account made on a full disk, number {n}")) {
            Ok(_) => continue,
            Err(message) => {
                failed = Some(message);
                break;
            }
        }
    }
    let message = failed.expect("a write failed on the full disk");
    assert!(
        message.contains("the disk holding the database is full"),
        "{message}"
    );
    std::fs::remove_file(&filler).unwrap();
    assert!(matches!(
        create("After"),
        Ok(Event::Accounts(AccountsEvent::Created(_)))
    ));
    drop(worker);
    let conn = common::raw_connection(&license_desk::paths::database_path(dir));
    let names: Vec<String> = conn
        .prepare("SELECT name FROM accounts WHERE name IN ('Before', 'After') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["After", "Before"]);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
