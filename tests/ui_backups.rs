//! Backups and bad database files in the real window, driven by label as a person would.

// Helpers panic on a broken test setup, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::desk::{Desk, s};
use common::{TempDesk, click, harness_from, harness_with, shows, type_into};
use egui_kittest::kittest::Queryable;
use license_desk::app::dialogs::ScriptedDialogs;
use std::path::Path;
use std::sync::Arc;

/// A desk with a key and `n` licenses, made through the binary, as a [`TempDesk`] for the app.
fn desk_with_licenses(n: usize) -> TempDesk {
    let desk = Desk::with_key();
    for i in 0..n {
        desk.ok(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            &format!("Customer {i}"),
        ]);
    }
    TempDesk { dir: desk.dir }
}

fn licenses(database: &Path) -> i64 {
    common::raw_connection(database)
        .query_row("SELECT count(*) FROM licenses", [], |r| r.get(0))
        .unwrap()
}

fn toast(
    harness: &egui_kittest::Harness<'_, license_desk::app::LicenseDeskApp>,
    text: &str,
) -> bool {
    harness.state().toasts().texts().any(|t| t.contains(text))
}

fn open_backups(harness: &mut egui_kittest::Harness<'_, license_desk::app::LicenseDeskApp>) {
    common::open_page(harness, "Settings");
    harness.get_by_label("Backups").click();
    harness.run_ok();
}

#[test]
fn back_up_now_then_restore_from_the_list_and_undo_it() {
    let desk = desk_with_licenses(3);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let saved = desk.dir.path().join("from-window.sqlite3");
    dialogs.push_save(saved.clone());
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    open_backups(&mut harness);
    click(&mut harness, "Back up now…");
    common::settle(&mut harness);
    assert!(
        toast(&harness, "Backup written to"),
        "{:?}",
        harness.state().toasts().texts().collect::<Vec<_>>()
    );
    assert_eq!(licenses(&saved), 3);

    // The daily copy appears in the list with its figures and check.
    click(&mut harness, "Take a daily backup now");
    common::settle(&mut harness);
    assert!(shows(&harness, "Daily"));
    assert!(shows(&harness, "Verified"));

    // More licenses, then restore the daily copy from the list.
    let extra = std::process::Command::new(common::desk::BIN)
        .arg("--data-dir")
        .arg(desk.dir.path())
        .args([
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "Later",
        ])
        .env("LICENSE_DESK_PASSPHRASE", common::desk::PASSPHRASE)
        .env_remove("LICENSE_DESK_DATA")
        .output()
        .unwrap();
    assert!(extra.status.success());
    assert_eq!(licenses(&desk.database()), 4);
    // Newest first: the copy just taken (the window also took one when it opened).
    harness.get_all_by_label("Restore…").next().unwrap().click();
    harness.run_ok();
    common::settle(&mut harness);
    assert!(
        shows(
            &harness,
            "1 licenses issued after this backup will be missing from the ledger"
        ),
        "the preview says what is lost"
    );
    click(&mut harness, "Restore this backup");
    click(&mut harness, "Yes, restore");
    common::settle(&mut harness);
    assert!(toast(
        &harness,
        "Backup restored. The database it replaced is kept at"
    ));
    assert_eq!(licenses(&desk.database()), 3);

    // The set-aside copy is in the list; restoring it undoes the restore.
    open_backups(&mut harness);
    assert!(shows(&harness, "Set aside by a restore"));
    // Newest first: the set-aside copy is at the top.
    harness.get_all_by_label("Restore…").next().unwrap().click();
    harness.run_ok();
    common::settle(&mut harness);
    click(&mut harness, "Restore this backup");
    click(&mut harness, "Yes, restore");
    common::settle(&mut harness);
    assert_eq!(licenses(&desk.database()), 4);
}

#[test]
fn an_encrypted_backup_from_the_window_needs_its_passphrase_to_restore() {
    let desk = desk_with_licenses(2);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let sealed = desk.dir.path().join("sealed.sqlite3.age");
    dialogs.push_save(sealed.clone());
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    open_backups(&mut harness);
    harness
        .get_by_label(
            "Encrypt with a passphrase (age format: the backup reveals nothing without it)",
        )
        .click();
    harness.run_ok();
    type_into(&mut harness, "Backup passphrase", "short");
    assert!(shows(&harness, "must be at least 8 characters"));
    type_into(&mut harness, "Backup passphrase", " but longer now");
    type_into(&mut harness, "Repeat passphrase", "short but longer now");
    click(&mut harness, "Back up now…");
    common::settle(&mut harness);
    assert!(
        std::fs::read(&sealed)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );

    type_into(&mut harness, "Backup to restore", s(&sealed));
    click(&mut harness, "Check backup");
    common::settle(&mut harness);
    assert!(shows(
        &harness,
        "this file is encrypted: give its passphrase"
    ));
    type_into(
        &mut harness,
        "Passphrase of an encrypted backup",
        "short but longer now",
    );
    click(&mut harness, "Check backup");
    common::settle(&mut harness);
    assert!(shows(&harness, "Backup") && shows(&harness, "(encrypted)"));
    assert!(shows(&harness, "Restore this backup"));
}

#[test]
fn a_damaged_database_gets_a_page_with_a_way_forward() {
    let source = desk_with_licenses(2);
    let backup = source.dir.path().join("good.sqlite3");
    let copy = std::process::Command::new(common::desk::BIN)
        .arg("--data-dir")
        .arg(source.dir.path())
        .args(["backup", s(&backup)])
        .env_remove("LICENSE_DESK_DATA")
        .output()
        .unwrap();
    assert!(copy.status.success());

    let desk = TempDesk::new();
    std::fs::write(
        desk.database(),
        b"SQLite format 3\0 but then nothing like a database",
    )
    .unwrap();
    let before = std::fs::read(desk.database()).unwrap();
    let mut harness = harness_with(&desk, Arc::new(ScriptedDialogs::default()));
    assert!(shows(&harness, "The database file is damaged"));
    assert!(shows(&harness, s(&desk.database())));
    assert!(shows(&harness, "Nothing was written to it."));
    assert!(
        harness.query_by_label("Open read-only").is_none(),
        "not offered for a damaged file"
    );
    assert_eq!(std::fs::read(desk.database()).unwrap(), before);

    type_into(&mut harness, "Backup file", s(&backup));
    click(&mut harness, "Restore this backup");
    common::settle(&mut harness);
    assert!(!harness.state().is_opening());
    assert!(shows(&harness, "Dashboard"), "the app opened");
    assert_eq!(licenses(&desk.database()), 2);
    let damaged: Vec<_> = std::fs::read_dir(desk.dir.path().join("damaged"))
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(damaged.len(), 1);
    assert_eq!(std::fs::read(damaged[0].path()).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_version_is_not_opened() {
    let desk = desk_with_licenses(1);
    common::raw_connection(&desk.database())
        .pragma_update(
            None,
            "user_version",
            license_desk::store::SCHEMA_VERSION + 1,
        )
        .unwrap();
    let harness = harness_with(&desk, Arc::new(ScriptedDialogs::default()));
    assert!(shows(&harness, "The database is from a newer License Desk"));
    assert!(shows(&harness, "newer than this build knows"));
    assert!(harness.query_by_label("Open read-only").is_none());
    assert!(harness.query_by_label("Quit").is_some());
}

#[test]
fn a_second_window_on_the_same_folder_offers_read_only_and_the_cli_keeps_working() {
    let desk = desk_with_licenses(1);
    let first = harness_with(&desk, Arc::new(ScriptedDialogs::default()));
    assert!(!first.state().is_read_only());
    let mut second = harness_with(&desk, Arc::new(ScriptedDialogs::default()));
    assert!(shows(
        &second,
        "License Desk is already open on this data folder"
    ));
    click(&mut second, "Open read-only");
    common::settle(&mut second);
    assert!(second.state().is_read_only());
    assert!(shows(&second, "Opened read-only: changes cannot be saved."));

    // A change in the read-only window is refused with the reason.
    common::open_page(&mut second, "Accounts");
    click(&mut second, "New account");
    type_into(&mut second, "Account name", "Refused Ltd");
    click(&mut second, "Create account");
    common::settle(&mut second);
    assert!(
        second
            .state()
            .toasts()
            .texts()
            .any(|t| t.contains("cannot be written")),
        "{:?}",
        second.state().toasts().texts().collect::<Vec<_>>()
    );

    // The command line writes beside the open window.
    let out = std::process::Command::new(common::desk::BIN)
        .arg("--data-dir")
        .arg(desk.dir.path())
        .args([
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "Beside",
        ])
        .env("LICENSE_DESK_PASSPHRASE", common::desk::PASSPHRASE)
        .env_remove("LICENSE_DESK_DATA")
        .output()
        .unwrap();
    assert!(out.status.success());
    drop(first);
    assert_eq!(licenses(&desk.database()), 2);
}

#[test]
fn a_missing_data_folder_offers_another_folder() {
    let parent = tempfile::tempdir().unwrap();
    let gone = parent.path().join("stick").join("desk");
    let dialogs = Arc::new(ScriptedDialogs::default());
    let elsewhere = tempfile::tempdir().unwrap();
    dialogs.push_folder(elsewhere.path().to_path_buf());
    let mut config = TempDesk::new().config(Arc::clone(&dialogs));
    config.database = license_desk::paths::database_path(&gone);
    let mut harness = harness_from(config);
    assert!(shows(&harness, "The data folder is not there"));
    assert!(shows(&harness, "is its drive connected?"));
    assert!(!gone.exists());
    click(&mut harness, "Use another folder…");
    common::settle(&mut harness);
    assert_eq!(
        harness.state().database(),
        license_desk::paths::database_path(elsewhere.path())
    );
    assert!(elsewhere.path().join("license-desk.sqlite3").is_file());
}
