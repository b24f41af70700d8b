//! Backups, restore, export and import: through the services and the real binary.
// Helpers panic on a broken test setup, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::desk::{Desk, s, text};
use license_desk::clock::{Clock as _, FixedClock};
use license_desk::services::backup::{self, BackupError, CheckpointFinding, Lineage};
use license_desk::services::keys::Secret;
use license_desk::services::{NoProgress, Progress};
use license_desk::store::accounts::{AccountOrder, AccountQuery, PageStart};
use license_desk::store::backup::{self as copies, Kind, Verdict};
use license_desk::store::{self, SCHEMA_VERSION, Store, StoreError};
use std::path::Path;

const NOW: i64 = 1_795_435_200;

fn now() -> chrono::DateTime<chrono::Utc> {
    FixedClock::at_unix(NOW).now()
}

/// A desk with a key and `n` licenses issued from a CSV through the binary.
fn desk_with_licenses(n: usize) -> Desk {
    let desk = Desk::with_key();
    issue(&desk, n, "batch");
    desk
}

fn issue(desk: &Desk, n: usize, name: &str) {
    let csv = desk.path(&format!("{name}.csv"));
    let mut body = String::from("product,kind,customer\n");
    for i in 0..n {
        body.push_str(&format!("Storage,pro,Customer {i}\n"));
    }
    std::fs::write(&csv, body).unwrap();
    let out = desk.path(&format!("{name}-out.csv"));
    desk.ok(&["issue", "--csv", s(&csv), "--out", s(&out)]);
}

fn licenses(database: &Path) -> i64 {
    common::raw_connection(database)
        .query_row("SELECT count(*) FROM licenses", [], |r| r.get(0))
        .unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_backup_is_a_checked_owner_only_copy_that_never_replaces_what_it_should_not() {
    let desk = desk_with_licenses(20);
    let store = Store::open(&desk.database()).unwrap();
    let dest = desk.path("copy.sqlite3");
    let written = backup::back_up(&store, &dest, None, false, now(), &mut NoProgress).unwrap();
    assert_eq!(written.verdict, Verdict::Verified);
    assert_eq!(written.contents.licenses, 20);
    assert_eq!(written.contents.ledger_entries, 20);
    assert_eq!(licenses(&dest), 20);
    #[cfg(unix)]
    assert_eq!(mode(&dest), 0o600);

    // An existing file is kept unless replacing is asked for.
    let err = backup::back_up(&store, &dest, None, false, now(), &mut NoProgress).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    // The live database and its companions are never a destination, however spelled.
    for live in [
        desk.database(),
        desk.dir.path().join(".").join("license-desk.sqlite3-wal"),
    ] {
        let err = backup::back_up(&store, &live, None, true, now(), &mut NoProgress).unwrap_err();
        assert!(
            err.to_string().contains("License Desk's own database"),
            "{err}"
        );
    }
    assert_eq!(licenses(&desk.database()), 20);

    // A link at the destination is not followed: without --force it is refused, with it the
    // link itself is replaced and its target untouched.
    #[cfg(unix)]
    {
        let target = desk.path("target.txt");
        std::fs::write(&target, "keep me").unwrap();
        let link = desk.path("link.sqlite3");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = backup::back_up(&store, &link, None, false, now(), &mut NoProgress).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        backup::back_up(&store, &link, None, true, now(), &mut NoProgress).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(licenses(&link), 20);
    }
}

/// Stops after the first progress report.
struct CancelAtOnce(bool);

impl Progress for CancelAtOnce {
    fn report(&mut self, _done: u64, _total: u64) {
        self.0 = true;
    }
    fn cancelled(&self) -> bool {
        self.0
    }
}

#[test]
fn a_cancelled_backup_leaves_nothing() {
    let desk = desk_with_licenses(50);
    let store = Store::open(&desk.database()).unwrap();
    let dest = desk.path("cancelled.sqlite3");
    let err =
        backup::back_up(&store, &dest, None, false, now(), &mut CancelAtOnce(false)).unwrap_err();
    assert!(
        matches!(err, BackupError::Store(StoreError::Cancelled)),
        "{err}"
    );
    assert!(!dest.exists());
    let leftovers: Vec<_> = std::fs::read_dir(desk.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_backup_taken_while_another_process_issues_is_consistent() {
    let desk = desk_with_licenses(10);
    let csv = desk.path("more.csv");
    let mut body = String::from("product,kind,customer\n");
    for i in 0..3000 {
        body.push_str(&format!("Storage,dev,Busy {i}\n"));
    }
    std::fs::write(&csv, body).unwrap();
    let out = desk.path("more-out.csv");
    let mut writer = desk
        .command(&["issue", "--csv", s(&csv), "--out", s(&out)])
        .spawn()
        .unwrap();
    let store = Store::open(&desk.database()).unwrap();
    let mut copies_taken = Vec::new();
    for n in 0..3 {
        let dest = desk.path(&format!("during-{n}.sqlite3"));
        let written = backup::back_up(&store, &dest, None, false, now(), &mut NoProgress).unwrap();
        // Every copy is the database as of one commit: its ledger walks and matches its rows.
        assert_eq!(written.verdict, Verdict::Verified);
        assert_eq!(
            written.contents.licenses as i64,
            written.contents.ledger_entries
        );
        copies_taken.push(written.contents.licenses);
    }
    assert!(writer.wait().unwrap().success());
    assert_eq!(licenses(&desk.database()), 3010, "the issue lost nothing");
    assert!(copies_taken.iter().all(|n| (10..=3010).contains(n)));
}

#[test]
fn an_encrypted_backup_reveals_nothing_and_needs_its_passphrase() {
    let desk = desk_with_licenses(5);
    let mut store = Store::open(&desk.database()).unwrap();
    let dest = desk.path("sealed.sqlite3.age");
    let passphrase = Secret::new("a long backup passphrase");
    let written = backup::back_up(
        &store,
        &dest,
        Some(&passphrase),
        false,
        now(),
        &mut NoProgress,
    )
    .unwrap();
    assert!(written.encrypted);
    let bytes = std::fs::read(&dest).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    let plain_customer = b"Customer 3";
    assert!(
        !bytes
            .windows(plain_customer.len())
            .any(|w| w == plain_customer)
    );
    assert!(!bytes.windows(6).any(|w| w == b"SQLite"));
    // No clear copy was left behind anywhere.
    let scratch = std::fs::read_dir(copies::folder(&desk.database()))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
        .count();
    assert_eq!(scratch, 0);

    let err = backup::preview(&store, &dest, None, None, &mut NoProgress).unwrap_err();
    assert!(matches!(err, BackupError::NeedsPassphrase { .. }), "{err}");
    let wrong = Secret::new("not the passphrase");
    let err = backup::preview(&store, &dest, Some(&wrong), None, &mut NoProgress).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: the passphrase does not open this file", dest.display())
    );
    let preview = backup::preview(&store, &dest, Some(&passphrase), None, &mut NoProgress).unwrap();
    assert!(preview.encrypted);
    assert_eq!(preview.contents.licenses, 5);
    assert_eq!(preview.lineage, Some(Lineage::Same));
    let restored = backup::restore(
        &mut store,
        &dest,
        Some(&passphrase),
        None,
        now(),
        &mut NoProgress,
    )
    .unwrap();
    assert!(restored.set_aside.exists());

    // A flipped byte in the ciphertext is caught, not restored.
    let mut tampered = bytes.clone();
    let at = tampered.len() - 40;
    tampered[at] ^= 0x55;
    let bad = desk.path("tampered.age");
    std::fs::write(&bad, tampered).unwrap();
    let err = backup::preview(&store, &bad, Some(&passphrase), None, &mut NoProgress).unwrap_err();
    assert!(err.to_string().contains("damaged or was changed"), "{err}");
}

#[test]
fn daily_backups_are_taken_once_a_day_and_kept_n_deep() {
    let desk = desk_with_licenses(3);
    let mut store = Store::open(&desk.database()).unwrap();
    let mut settings = license_desk::services::settings::load(&store).unwrap();
    settings.backups_kept = 2;
    license_desk::services::settings::save(&mut store, &settings).unwrap();
    let day = |d: i64| FixedClock::at_unix(NOW + d * 86_400).now();

    let first = backup::daily(&store, day(0), false, &mut NoProgress).unwrap();
    let first = first.expect("the first daily backup is due");
    assert!(first.path.starts_with(copies::folder(&desk.database())));
    assert_eq!(
        backup::daily(
            &store,
            FixedClock::at_unix(NOW + 3600).now(),
            false,
            &mut NoProgress
        )
        .unwrap(),
        None,
        "an hour later none is due"
    );
    for d in 1..=3 {
        assert!(
            backup::daily(&store, day(d), false, &mut NoProgress)
                .unwrap()
                .is_some()
        );
    }
    let listed = copies::list(&desk.database()).unwrap();
    let daily: Vec<_> = listed
        .iter()
        .filter_map(|l| l.description.as_ref())
        .filter(|d| d.kind == Kind::Daily)
        .collect();
    assert_eq!(daily.len(), 2, "kept 2 deep");
    assert_eq!(daily[0].taken_at, NOW + 3 * 86_400, "newest first");
    assert_eq!(daily[0].contents.licenses, 3);
    assert_eq!(daily[0].verdict, Verdict::Verified);
    assert!(!first.path.exists(), "the oldest was deleted");

    settings.daily_backups = false;
    license_desk::services::settings::save(&mut store, &settings).unwrap();
    assert_eq!(
        backup::daily(&store, day(9), false, &mut NoProgress).unwrap(),
        None,
        "off in settings"
    );
    assert!(
        backup::daily(&store, day(9), true, &mut NoProgress)
            .unwrap()
            .is_some(),
        "but taken when asked"
    );
}

#[test]
fn restore_shows_what_is_lost_sets_the_current_database_aside_and_can_be_undone() {
    let desk = desk_with_licenses(30);
    let backup_file = desk.path("before.sqlite3");
    desk.ok(&["backup", s(&backup_file)]);
    issue(&desk, 7, "after");
    assert_eq!(licenses(&desk.database()), 37);

    let shown = desk.ok(&["restore", s(&backup_file), "--dry-run"]);
    assert!(
        shown.contains("7 licenses issued after this backup will be missing from the ledger"),
        "{shown}"
    );
    assert!(shown.contains("Dry run: nothing was changed"), "{shown}");
    assert_eq!(licenses(&desk.database()), 37);

    // Without a terminal to ask, --yes is required.
    let refused = desk.run(&["restore", s(&backup_file)]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("add --yes"), "{}", text(&refused));

    let done = desk.ok(&["restore", s(&backup_file), "--yes"]);
    assert_eq!(licenses(&desk.database()), 30);
    desk.ok(&["ledger", "verify"]);
    let set_aside = done
        .lines()
        .find_map(|l| l.strip_prefix("Restored. The database it replaced is kept at "))
        .and_then(|l| l.split(';').next())
        .unwrap_or_else(|| panic!("{done}"))
        .to_string();
    assert!(Path::new(&set_aside).starts_with(copies::folder(&desk.database())));
    assert_eq!(licenses(Path::new(&set_aside)), 37);

    // The list shows both, and restoring the set-aside copy undoes the restore.
    let listed = desk.ok(&["backups"]);
    assert!(listed.contains("Set aside by a restore\t"), "{listed}");
    desk.ok(&["restore", &set_aside, "--yes"]);
    assert_eq!(licenses(&desk.database()), 37);
    desk.ok(&["ledger", "verify"]);
}

#[test]
fn a_backup_from_a_newer_version_or_a_damaged_one_is_refused() {
    let desk = desk_with_licenses(4);
    let good = desk.path("good.sqlite3");
    desk.ok(&["backup", s(&good)]);

    let newer = desk.path("newer.sqlite3");
    std::fs::copy(&good, &newer).unwrap();
    common::raw_connection(&newer)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let out = desk.run(&["restore", s(&newer), "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!(
            "written by a newer License Desk (database schema {}",
            SCHEMA_VERSION + 1
        )),
        "{}",
        text(&out)
    );

    let bytes = std::fs::read(&good).unwrap();
    let truncated = desk.path("truncated.sqlite3");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut scribbled = bytes.clone();
    let middle = scribbled.len() / 2;
    for (i, b) in scribbled[middle..middle + 4096].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let damaged = desk.path("scribbled.sqlite3");
    std::fs::write(&damaged, scribbled).unwrap();
    let text_file = desk.path("notes.txt");
    std::fs::write(&text_file, "just some notes").unwrap();
    for (file, expected) in [
        (&truncated, "cut short"),
        (&damaged, "cannot be restored"),
        (&text_file, "not a License Desk backup"),
    ] {
        let out = desk.run(&["restore", s(file), "--yes"]);
        assert!(!out.status.success(), "{file:?}");
        assert!(text(&out).contains(expected), "{file:?}: {}", text(&out));
    }
    assert_eq!(licenses(&desk.database()), 4, "nothing was replaced");

    // A ledger edited inside the backup does not verify.
    let edited = desk.path("edited.sqlite3");
    std::fs::copy(&good, &edited).unwrap();
    common::raw_connection(&edited)
        .execute("UPDATE ledger SET operator = 'mallory' WHERE seq = 2", [])
        .unwrap();
    let out = desk.run(&["restore", s(&edited), "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ledger does not verify"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_backup_of_an_older_schema_is_upgraded_on_restore() {
    let desk = Desk::new();
    desk.ok(&["where"]);
    let old = desk.path("old.sqlite3");
    {
        let mut conn = common::raw_connection(&old);
        license_desk::store::migrate_to(&mut conn, 4).unwrap();
    }
    let mut store = Store::open(&desk.database()).unwrap();
    let preview = backup::preview(&store, &old, None, None, &mut NoProgress).unwrap();
    assert_eq!(preview.contents.schema, 4);
    assert_eq!(preview.verdict, Verdict::Verified);
    backup::restore(&mut store, &old, None, None, now(), &mut NoProgress).unwrap();
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn restore_checks_the_backup_against_a_signed_checkpoint() {
    let desk = desk_with_licenses(6);
    let early = desk.path("early.sqlite3");
    desk.ok(&["backup", s(&early)]);
    issue(&desk, 2, "later");
    let checkpoint = desk.path("cp.txt");
    desk.ok(&["ledger", "checkpoint", "--out", s(&checkpoint)]);
    let key = desk.export("ops", "base64");
    let shown = desk.ok(&[
        "restore",
        s(&early),
        "--dry-run",
        "--checkpoint",
        s(&checkpoint),
        "--pubkey",
        s(&key),
    ]);
    assert!(
        shown.contains("The backup ends 2 ledger entries before the signed checkpoint."),
        "{shown}"
    );
    let store = Store::open(&desk.database()).unwrap();
    let current = desk.path("current.sqlite3");
    backup::back_up(&store, &current, None, false, now(), &mut NoProgress).unwrap();
    let check = license_desk::services::licensing::CheckpointCheck {
        checkpoint: checkpoint.clone(),
        public_key: s(&key).to_string(),
    };
    let signed = license_desk::services::licensing::read_checkpoint(&check).unwrap();
    let preview = backup::preview(&store, &current, None, Some(&signed), &mut NoProgress).unwrap();
    assert_eq!(preview.checkpoint, Some(CheckpointFinding::Reached));
}

#[test]
fn an_export_moves_a_desk_to_a_new_one_and_nowhere_else() {
    let desk = desk_with_licenses(12);
    Store::open(&desk.database())
        .unwrap()
        .write(|tx| store::accounts::create(tx, "Northwind Storage", NOW))
        .unwrap();
    let bundle = desk.path("everything.jsonl");
    let out = desk.ok(&["export", s(&bundle)]);
    assert!(out.contains("Exported"), "{out}");
    let first = std::fs::read_to_string(&bundle).unwrap();
    let header: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(header["format"], "license-desk-export");
    assert_eq!(header["version"], 1);
    assert_eq!(header["schema"], SCHEMA_VERSION);

    let moved = Desk::new();
    moved.ok(&["import", s(&bundle)]);
    assert_eq!(licenses(&moved.database()), 12);
    let head = |d: &Desk| {
        common::raw_connection(&d.database())
            .query_row(
                "SELECT hex(entry_hash) FROM ledger ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
    };
    assert_eq!(head(&moved), head(&desk), "the same ledger");
    moved.ok(&["ledger", "verify"]);
    // Searches are not in the export: the account name search is built again.
    let query = AccountQuery::new("thwind", AccountOrder::Name);
    let found = store::accounts::page(
        Store::open(&moved.database()).unwrap().conn(),
        &query,
        &PageStart::First,
        10,
    )
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    // The moved desk is the same desk: its signing key still signs.
    let issued = moved.ok(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "dev",
        "--customer",
        "After the move",
    ]);
    assert!(issued.contains("Serial:"), "{issued}");

    // A desk that holds data does not take an import.
    let out = desk.run(&["import", s(&bundle)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("already holds data"), "{}", text(&out));

    // A bundle cut short, or with a row that does not fit, is refused whole.
    let lines: Vec<&str> = first.lines().collect();
    let cut = desk.path("cut.jsonl");
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n")).unwrap();
    let bad_row = desk.path("bad.jsonl");
    let edited = first.replacen(
        "{\"table\":\"licenses\",\"columns\":[\"",
        "{\"table\":\"licenses\",\"columns\":[\"nope\",\"",
        1,
    );
    std::fs::write(&bad_row, edited).unwrap();
    for (file, expected) in [(&cut, "cut short"), (&bad_row, "has no column 'nope'")] {
        let fresh = Desk::new();
        let out = fresh.run(&["import", s(file)]);
        assert!(!out.status.success(), "{file:?}");
        assert!(text(&out).contains(expected), "{file:?}: {}", text(&out));
        assert_eq!(licenses(&fresh.database()), 0);
    }

    // Encrypted with a passphrase, it needs it back.
    let sealed = desk.path("everything.jsonl.age");
    desk.ok(&["export", s(&sealed), "--encrypt"]);
    assert!(
        std::fs::read(&sealed)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    let again = Desk::new();
    again.ok(&["import", s(&sealed)]);
    assert_eq!(licenses(&again.database()), 12);
}
