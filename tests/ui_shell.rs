//! The shell as a keyboard user and a screen reader meet it: Enter submits, Esc cancels,
//! Ctrl+F searches, navigation entries are named by their words only, keys lock themselves
//! after the idle time, and a list of ten thousand accounts stays a list.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::clock::ManualClock;
use license_desk::store::{self, Store};
use std::sync::Arc;

#[test]
fn navigation_entries_are_named_by_their_words_only() {
    let desk = TempDesk::new();
    let harness = harness(&desk);
    for page in license_desk::app::Page::ALL {
        let node = harness.get_by_role_and_label(Role::Button, page.name());
        assert_eq!(node.accesskit_node().label().as_deref(), Some(page.name()));
    }
    // No node anywhere is named (or read out) as a private-use icon glyph.
    let glyphs: Vec<String> = harness
        .query_all_by(|_| true)
        .flat_map(|n| [n.accesskit_node().label(), n.value()])
        .flatten()
        .filter(|l| l.chars().any(|c| ('\u{e000}'..='\u{f8ff}').contains(&c)))
        .collect();
    assert!(glyphs.is_empty(), "{glyphs:?}");
}

#[test]
fn enter_submits_escape_cancels_and_ctrl_f_searches() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");

    // Esc closes the new-account form without creating anything.
    click(&mut harness, "New account");
    type_into(&mut harness, "Account name", "Never Made");
    harness.key_press(egui::Key::Escape);
    harness.run_ok();
    assert!(harness.query_by_label("Account name").is_none());

    // Enter in the name field creates the account.
    click(&mut harness, "New account");
    type_into(&mut harness, "Account name", "Acme Storage");
    harness.key_press(egui::Key::Enter);
    harness.run_ok();
    settle(&mut harness);
    assert_eq!(
        harness.state().current_account().map(|a| a.name.as_str()),
        Some("Acme Storage")
    );
    click(&mut harness, "New account");
    type_into(&mut harness, "Account name", "Globex");
    harness.key_press(egui::Key::Enter);
    settle(&mut harness);

    // Ctrl+F puts the cursor in the search field; typing filters the list.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    harness.run_ok();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Search accounts")
        .type_text("glob");
    harness.run_ok();
    assert!(shows(&harness, "1 accounts"));
    assert_eq!(harness.query_all_by_label("Acme Storage").count(), 0);
    let db = Store::open(&desk.database()).unwrap();
    assert_eq!(store::accounts::total(db.conn()).unwrap(), 2);
}

#[test]
fn unlocked_keys_lock_themselves_after_the_idle_time() {
    let desk = TempDesk::new();
    let clock = Arc::new(ManualClock::at_unix(TEST_NOW));
    let mut config = desk.config(Arc::new(ScriptedDialogs::default()));
    config.clock = clock.clone();
    let mut harness = harness_from(config);
    open_page(&mut harness, "Settings");
    let minutes = harness.get_by_role_and_label(Role::TextInput, "Lock keys after (minutes)");
    minutes.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Lock keys after (minutes)")
        .type_text("5");
    harness.run_ok();
    click(&mut harness, "Save settings");
    settle(&mut harness);

    open_page(&mut harness, "Signing keys");
    click(&mut harness, "Generate key");
    type_into(&mut harness, "Key name", "Main");
    type_into(&mut harness, "Passphrase", "a long passphrase");
    type_into(&mut harness, "Repeat passphrase", "a long passphrase");
    click(&mut harness, "Create key");
    settle(&mut harness);
    click(&mut harness, "Unlock Main");
    type_into(&mut harness, "Passphrase to unlock", "a long passphrase");
    click(&mut harness, "Unlock");
    settle(&mut harness);
    assert!(harness.query_by_label("Unlocked").is_some());

    // Four minutes idle: still unlocked.
    clock.advance(chrono::Duration::minutes(4));
    settle(&mut harness);
    assert!(harness.query_by_label("Unlocked").is_some());
    // Past five: locked, and issuing says so.
    clock.advance(chrono::Duration::minutes(2));
    settle(&mut harness);
    assert!(harness.query_by_label("Unlocked").is_none());
    assert!(harness.query_by_label("Locked").is_some());
    assert!(
        harness
            .state()
            .toasts()
            .texts()
            .any(|t| t == "1 signing key(s) locked")
    );
    open_page(&mut harness, "Licenses");
    click(&mut harness, "Issue a license");
    assert!(shows(&harness, "Signing key: 'Main' is locked"));
}

#[test]
fn ten_thousand_accounts_stay_a_list() {
    let desk = TempDesk::new();
    {
        let mut db = Store::open(&desk.database()).unwrap();
        db.write(|tx| {
            for i in 0..10_000 {
                store::accounts::create(tx, &format!("Customer {i:05}"), TEST_NOW)?;
            }
            Ok::<_, store::StoreError>(())
        })
        .unwrap();
    }
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");
    assert!(shows(&harness, "10000 accounts"));
    assert!(harness.query_by_label("Customer 00000").is_some());
    // Only what fits on screen is drawn.
    let drawn = harness.query_all_by_label_contains("Customer ").count();
    assert!((10..200).contains(&drawn), "{drawn} rows drawn");

    // Scrolling far down shows rows from there, and the range label follows.
    let table = harness.get_by_label("Customer 00000");
    table.hover();
    harness.run_ok();
    for _ in 0..40 {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Page,
            delta: egui::vec2(0.0, -1.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        harness.run_ok();
    }
    assert!(harness.query_by_label("Customer 00000").is_none());
    let range = harness
        .query_all_by_label_contains(" of 10000)")
        .next()
        .and_then(|n| n.value())
        .unwrap();
    let first: u64 = range
        .trim_start_matches("(showing ")
        .split('–')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(first > 100, "{range}");

    // A search narrows it at once (a number also finds that wallet ID: Customer 07677 has
    // wallet ID 7777); picking a row makes it the current account.
    type_into(&mut harness, "Search accounts", "07777");
    assert!(shows(&harness, "2 accounts"));
    assert!(harness.query_by_label("Customer 07677").is_some());
    harness.get_by_label("Customer 07777").click();
    harness.run_ok();
    assert_eq!(
        harness.state().current_account().map(|a| a.wallet_id),
        Some(100 + 7777)
    );
}
