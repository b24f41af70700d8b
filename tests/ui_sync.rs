//! Sync in the window, walked by label against a real portal: Settings → Sync (portal URL,
//! the device token sealed under a signing key, background rounds), "Sync now", the status
//! bar, and the Sync panel's conflicts with both versions, settled by a click.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use license_desk::clock::ManualClock;
use license_desk::domain::billing::BillingDetails;
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::keys;
use license_desk::store::{self, Store};
use license_desk::sync;
use std::sync::Arc;

#[test]
fn a_conflict_is_shown_with_both_versions_and_settled_from_the_panel() {
    let portal_dir = tempfile::tempdir().expect("test setup");
    let (server, token) = common::portal::start(portal_dir.path());
    let client = || common::portal::client(&server.url(), &token);
    let url = server.url();
    let desk = TempDesk::new();
    let other = TempDesk::new();
    let mut a = Store::open(&desk.database()).expect("test setup");
    let mut b = Store::open(&other.database()).expect("test setup");
    let acme = accounts::create(&mut a, "Acme", TEST_NOW).expect("test setup");
    sync::round(&mut a, &client(), &url, TEST_NOW + 1).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 2).expect("test setup");
    rename(&mut a, acme.id, "Acme (this desk)", TEST_NOW + 10);
    rename(&mut b, acme.id, "Acme (other desk)", TEST_NOW + 20);
    sync::round(&mut b, &client(), &url, TEST_NOW + 21).expect("test setup");
    let report = sync::round(&mut a, &client(), &url, TEST_NOW + 22).expect("test setup");
    assert_eq!(report.conflicts, 1);
    drop(a);

    let mut app = harness(&desk);
    open_page(&mut app, "Sync");
    assert!(shows(&app, &format!("Portal: {url}")));
    assert!(shows(&app, "1 conflicts, 0 refused here"));
    assert!(shows(&app, "Other desk's version: upsert"));
    assert!(shows(&app, "Acme (other desk)"));
    assert!(shows(&app, "This desk's version: upsert"));
    assert!(shows(&app, "Acme (this desk)"));
    // The first desk numbers documents in the main series; the other took series B.
    assert!(shows(&app, "Document numbers: the main series (INV-"));

    click(&mut app, "Keep this desk's version");
    settle(&mut app);
    assert!(shows(&app, "0 conflicts, 0 refused here"));
    assert!(!shows(&app, "Keep this desk's version"));
    let a = Store::open(&desk.database()).expect("test setup");
    assert_eq!(
        store::accounts::get(a.conn(), acme.id)
            .expect("read")
            .expect("the account")
            .name,
        "Acme (this desk)"
    );
    drop(b);
    let mut other_app = harness(&other);
    open_page(&mut other_app, "Sync");
    assert!(shows(
        &other_app,
        "Document numbers: this desk's own series B (INV-B-"
    ));
}

#[test]
fn a_conflict_is_merged_field_by_field_and_both_edits_reach_both_desks() {
    let portal_dir = tempfile::tempdir().expect("test setup");
    let (server, token) = common::portal::start(portal_dir.path());
    let client = || common::portal::client(&server.url(), &token);
    let url = server.url();
    let desk = TempDesk::new();
    let other = TempDesk::new();
    let mut a = Store::open(&desk.database()).expect("test setup");
    let mut b = Store::open(&other.database()).expect("test setup");
    let acme = accounts::create(&mut a, "Acme", TEST_NOW).expect("test setup");
    common::shop::billing_and_card(&mut a, acme.id, TEST_NOW);
    sync::round(&mut a, &client(), &url, TEST_NOW + 1).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 2).expect("test setup");
    // Apart, one desk corrects the company, the other the city.
    let edit = |store: &mut Store, at: i64, change: &dyn Fn(&mut BillingDetails)| {
        let mut details = store::billing::get(store.conn(), acme.id)
            .expect("read")
            .expect("billing details");
        change(&mut details);
        accounts::run(
            store,
            at,
            AccountsCommand::SaveBilling {
                account_id: acme.id,
                details,
            },
        )
        .expect("test setup");
    };
    edit(&mut a, TEST_NOW + 10, &|d| {
        d.company = "Acme Storage AG".into()
    });
    edit(&mut b, TEST_NOW + 20, &|d| d.city = "Hamburg".into());
    sync::round(&mut b, &client(), &url, TEST_NOW + 21).expect("test setup");
    let report = sync::round(&mut a, &client(), &url, TEST_NOW + 22).expect("test setup");
    assert_eq!(report.conflicts, 1);
    drop(a);

    let mut app = harness(&desk);
    open_page(&mut app, "Sync");
    app.get_by_label("Merge field by field").click();
    app.run_ok();
    assert!(shows(&app, "details.company"));
    assert!(shows(&app, "details.city"));
    assert!(
        app.get_by_role_and_label(Role::Button, "Keep merged version")
            .accesskit_node()
            .is_disabled(),
        "nothing chosen from the other desk yet"
    );
    app.get_by_label("Other desk: \"Hamburg\"").click();
    app.run_ok();
    click(&mut app, "Keep merged version");
    settle(&mut app);
    assert!(shows(&app, "0 conflicts, 0 refused here"));
    drop(app);

    // Both edits stand here, and reach the other desk as this desk's newest version.
    let mut a = Store::open(&desk.database()).expect("test setup");
    sync::round(&mut a, &client(), &url, TEST_NOW + 30).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 31).expect("test setup");
    for store in [&a, &b] {
        let details = store::billing::get(store.conn(), acme.id)
            .expect("read")
            .expect("billing details");
        assert_eq!(
            (details.company.as_str(), details.city.as_str()),
            ("Acme Storage AG", "Hamburg")
        );
    }
}

const PASS: &str = "operator passphrase";

fn rename(store: &mut Store, id: license_desk::domain::ids::AccountId, name: &str, at: i64) {
    accounts::run(
        store,
        at,
        AccountsCommand::Rename {
            id,
            name: name.into(),
        },
    )
    .expect("test setup");
}

fn account_name(desk: &TempDesk, id: license_desk::domain::ids::AccountId) -> Option<String> {
    let store = Store::open(&desk.database()).expect("test setup");
    store::accounts::get(store.conn(), id)
        .expect("read")
        .map(|a| a.name)
}

/// Every byte the desk keeps on disk: the database file and its write-ahead log.
fn bytes_on_disk(desk: &TempDesk) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(desk.dir.path()).expect("the data folder") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            all.extend(std::fs::read(&path).expect("readable"));
        }
    }
    all
}

#[test]
fn staff_set_up_sync_in_settings_sync_now_settle_a_conflict_and_sync_in_the_background() {
    let portal_dir = tempfile::tempdir().expect("test setup");
    let (server, token) = common::portal::start(portal_dir.path());
    let url = server.url();
    let client = || common::portal::client(&url, &token);
    // The other desk syncs from scripts: Acme is at the portal.
    let other = TempDesk::new();
    let mut b = Store::open(&other.database()).expect("test setup");
    let acme = accounts::create(&mut b, "Acme", TEST_NOW).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 1).expect("test setup");
    // This desk has a signing key, locked.
    let desk = TempDesk::new();
    let mut a = Store::open(&desk.database()).expect("test setup");
    keys::generate(
        &mut a,
        "Main",
        PASS,
        keyvault::KdfParams::IMPORT_FLOOR,
        true,
        TEST_NOW,
    )
    .expect("test setup");
    let clock = Arc::new(ManualClock::at_unix(TEST_NOW + 100));
    let mut config = desk.config(Arc::default());
    config.clock = clock.clone();
    let mut app = harness_from(config);
    assert_eq!(sync_status(&app), "Sync: off");

    // The portal: checked as typed, saved with the settings.
    open_page(&mut app, "Settings");
    assert!(shows(&app, "Save a portal URL in Settings first."));
    type_into(&mut app, "Portal URL", "portal.example");
    assert!(shows(&app, "Portal URL: must start with https://"));
    replace_text(&mut app, "Portal URL", &format!("{url}/"));
    click(&mut app, "Save settings");
    settle(&mut app);
    assert!(shows(&app, "No device token saved"));

    // The token is sealed under the active key, which must be unlocked.
    type_into(&mut app, "New device token", "has a space");
    assert!(shows(
        &app,
        "New device token: must be one line of printable characters"
    ));
    replace_text(&mut app, "New device token", &token);
    click(&mut app, "Seal device token");
    settle(&mut app);
    assert!(
        app.state()
            .toasts()
            .texts()
            .any(|t| t.starts_with("Save device token failed") && t.contains("locked")),
        "sealing needs the key unlocked"
    );
    unlock_key(&mut app, "Main", PASS);
    open_page(&mut app, "Settings");
    type_into(&mut app, "New device token", &token);
    click(&mut app, "Seal device token");
    settle(&mut app);
    assert!(shows(
        &app,
        "A device token is saved, sealed under the signing key 'Main'"
    ));
    let disk = bytes_on_disk(&desk);
    assert!(
        disk.windows(url.len()).any(|w| w == url.as_bytes()),
        "the scan reads what the desk saved (its portal URL)"
    );
    assert!(
        !disk.windows(token.len()).any(|w| w == token.as_bytes()),
        "the device token is never in clear on disk"
    );

    // Sync now brings the other desk's account.
    click(&mut app, "Sync now");
    settle(&mut app);
    assert_eq!(account_name(&desk, acme.id).as_deref(), Some("Acme"));
    assert!(
        sync_status(&app).starts_with("Sync: off (last round"),
        "{}",
        sync_status(&app)
    );

    // Both desks rename Acme before they sync again: a conflict, both versions shown.
    rename(&mut b, acme.id, "Acme (other desk)", TEST_NOW + 200);
    sync::round(&mut b, &client(), &url, TEST_NOW + 201).expect("test setup");
    rename(&mut a, acme.id, "Acme (this desk)", TEST_NOW + 210);
    open_page(&mut app, "Sync");
    assert!(shows(&app, "Background sync: off (turn it on in Settings)"));
    click(&mut app, "Sync now");
    settle(&mut app);
    assert!(shows(&app, "1 conflicts, 0 refused here"));
    assert!(shows(&app, "Acme (other desk)"));
    assert!(shows(&app, "Acme (this desk)"));
    click(&mut app, "Keep the other desk's version");
    settle(&mut app);
    assert!(shows(&app, "0 conflicts, 0 refused here"));
    assert_eq!(
        account_name(&desk, acme.id).as_deref(),
        Some("Acme (other desk)")
    );

    // Background sync: on, a round at once, then one about every interval, with the key
    // locked meanwhile (the token was opened once this session).
    open_page(&mut app, "Settings");
    app.get_by_role_and_label(Role::CheckBox, "Sync in the background")
        .click();
    app.run_ok();
    click(&mut app, "Save settings");
    settle(&mut app);
    settle(&mut app);
    assert!(
        sync_status(&app).starts_with("Sync: last round"),
        "{}",
        sync_status(&app)
    );
    let beta = accounts::create(&mut b, "Beta", TEST_NOW + 300).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 301).expect("test setup");
    clock.advance(chrono::Duration::minutes(5));
    settle(&mut app);
    assert_eq!(
        account_name(&desk, beta.id),
        None,
        "not before the interval"
    );
    clock.advance(chrono::Duration::minutes(12));
    settle(&mut app);
    settle(&mut app);
    assert_eq!(account_name(&desk, beta.id).as_deref(), Some("Beta"));
    open_page(&mut app, "Signing keys");
    assert!(
        app.query_by_label("Locked").is_some(),
        "the key locked itself when idle; sync went on"
    );
}

#[test]
fn a_change_the_portal_refused_is_shown_and_retried_from_the_panel() {
    let portal_dir = tempfile::tempdir().expect("test setup");
    let (server, token) = common::portal::start(portal_dir.path());
    let url = server.url();
    let desk = TempDesk::new();
    let mut a = Store::open(&desk.database()).expect("test setup");
    accounts::create(&mut a, "Acme", TEST_NOW).expect("test setup");
    // A change the portal does not know (as a newer desk might make).
    common::raw_connection(&desk.database())
        .execute(
            "INSERT INTO outbox (change_id, entity, entity_id, op, version, body, created_at, hlc)
             VALUES (randomblob(16), 'gizmo', 'g-1', 'upsert', 1, '{}', ?1,
                     (SELECT hlc FROM outbox ORDER BY seq DESC LIMIT 1))",
            [TEST_NOW],
        )
        .expect("test setup");
    let client = common::portal::client(&url, &token);
    sync::round(&mut a, &client, &url, TEST_NOW + 1).expect("test setup");
    drop(a);

    let mut app = harness(&desk);
    open_page(&mut app, "Sync");
    assert!(shows(&app, "unknown_entity"));
    assert!(shows(&app, "gizmo g-1"));
    assert!(shows(&app, "Changes waiting to go to the portal: 0"));
    click(&mut app, "Retry");
    settle(&mut app);
    assert!(shows(&app, "None: every change sent was taken."));
    assert!(shows(&app, "Changes waiting to go to the portal: 1"));
    assert!(
        app.state()
            .toasts()
            .texts()
            .any(|t| t.contains("goes to the portal again"))
    );
}

#[test]
fn a_portal_ca_certificate_is_chosen_from_a_file_saved_and_removed_in_settings() {
    let desk = TempDesk::new();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a cert");
    let pem_path = desk.dir.path().join("portal-ca.pem");
    std::fs::write(&pem_path, cert.cert.pem()).expect("test setup");
    let junk_path = desk.dir.path().join("junk.pem");
    std::fs::write(&junk_path, "not a certificate").expect("test setup");
    let dialogs = Arc::new(license_desk::app::dialogs::ScriptedDialogs::default());
    let mut app = harness_with(&desk, dialogs.clone());
    open_page(&mut app, "Settings");
    assert!(shows(
        &app,
        "Portal CA certificate: none (the system's trusted CAs)"
    ));

    // A file that is no certificate is named at the field and cannot be saved.
    dialogs.push_open(junk_path);
    click(&mut app, "Choose CA certificate...");
    assert!(shows(
        &app,
        "Portal CA certificate: holds no PEM certificate"
    ));
    click(&mut app, "Remove CA certificate");

    dialogs.push_open(pem_path);
    click(&mut app, "Choose CA certificate...");
    assert!(shows(&app, "trusted besides the system's (SHA-256 "));
    click(&mut app, "Save settings");
    settle(&mut app);
    let saved = |desk: &TempDesk| {
        let store = Store::open(&desk.database()).expect("test setup");
        store::settings::load(store.conn())
            .expect("read")
            .portal_ca_pem
    };
    assert_eq!(saved(&desk), cert.cert.pem());

    click(&mut app, "Remove CA certificate");
    click(&mut app, "Save settings");
    settle(&mut app);
    assert_eq!(saved(&desk), "");
}
