//! UI flows of the Accounts panel, driven by label as a person would click.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use license_desk::store::{self, Store};

#[test]
fn navigation_lists_every_panel_and_placeholders_say_what_they_hold() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    for name in [
        "Dashboard",
        "Accounts",
        "Purchase",
        "Quotes & Orders",
        "Invoices",
        "Arrays",
        "Licenses",
        "Seats",
        "Referrals",
        "Signing keys",
        "Ledger",
        "Sync",
        "Settings",
    ] {
        open_page(&mut harness, name);
    }
    open_page(&mut harness, "Seats");
    assert!(shows(&harness, "Named seats on a term"));
    assert!(shows(&harness, "Database: "));
    assert!(shows(&harness, &desk.database().display().to_string()));
}

#[test]
fn create_account_fill_billing_and_add_card() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");
    assert!(shows(&harness, "No accounts yet"));

    click(&mut harness, "New account");
    type_into(&mut harness, "Account name", "Acme Storage");
    click(&mut harness, "Create account");
    settle(&mut harness);
    assert!(shows(&harness, "Wallet ID: 100"));
    assert_eq!(
        harness.state().current_account().unwrap().name,
        "Acme Storage"
    );

    // Billing details: a bad email and an unknown country are refused, naming the field.
    click(&mut harness, "Edit billing details");
    type_into(&mut harness, "Company", "Acme Storage GmbH");
    type_into(&mut harness, "Contact name", "Ada Lovelace");
    type_into(&mut harness, "Email", "ada-at-acme");
    type_into(&mut harness, "Address line 1", "Hauptstr. 1");
    type_into(&mut harness, "City", "Berlin");
    type_into(&mut harness, "Postal code", "10115");
    type_into(&mut harness, "Country", "Narnia");
    assert!(shows(
        &harness,
        "Email: 'ada-at-acme' is not a valid email address"
    ));
    assert!(shows(
        &harness,
        "Country: 'Narnia' is not an ISO 3166 country name or code"
    ));
    assert!(shows(&harness, "To continue, fix: Email, Country"));
    // The disabled Save does nothing.
    click(&mut harness, "Save billing details");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    let account_id = harness.state().current_account().unwrap().id;
    assert_eq!(store::billing::get(db.conn(), account_id).unwrap(), None);

    // Fix both fields: the form saves and returns to the account.
    let email = harness.get_by_role_and_label(Role::TextInput, "Email");
    email.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Email")
        .type_text("ada@acme.example");
    harness.run_ok();
    let country = harness.get_by_role_and_label(Role::TextInput, "Country");
    country.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Country")
        .type_text("Germany");
    harness.run_ok();
    assert!(!shows(&harness, "To continue, fix"));
    click(&mut harness, "Save billing details");
    settle(&mut harness);
    assert!(
        shows(&harness, "Payment methods"),
        "back on the account screen"
    );
    assert!(shows(&harness, "10115 Berlin, Germany"));
    let saved = store::billing::get(db.conn(), account_id).unwrap().unwrap();
    assert_eq!(
        (saved.email.as_str(), saved.country.as_str()),
        ("ada@acme.example", "DE")
    );

    // A full card number is reduced to brand + last four, and the panel says so.
    click(&mut harness, "Add payment method");
    type_into(&mut harness, "Card holder", "Ada Lovelace");
    type_into(&mut harness, "Card number", "4242 4242 4242 4242");
    type_into(&mut harness, "Expiry month", "8");
    type_into(&mut harness, "Expiry year", "2029");
    assert!(shows(
        &harness,
        "Only Visa •••• 4242, expires 08/2029 will be kept"
    ));
    click(&mut harness, "Save payment method");
    settle(&mut harness);
    assert!(shows(&harness, "the full card number was not stored"));
    assert!(shows(&harness, "Visa •••• 4242, expires 08/2029"));
    assert!(harness.query_by_label("Default").is_some());

    let methods = store::payments::list(db.conn(), account_id).unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(
        methods[0].details.summary(),
        "Visa •••• 4242, expires 08/2029"
    );
    // Nowhere in the database file is the full number.
    drop(db);
    drop(harness);
    let bytes = std::fs::read(desk.database()).unwrap();
    let wal = std::fs::read(desk.database().with_extension("sqlite3-wal")).unwrap_or_default();
    for haystack in [&bytes, &wal] {
        assert!(!haystack.windows(16).any(|w| w == b"4242424242424242"));
    }
}

#[test]
fn rename_search_and_delete_with_confirmation() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");
    for name in ["Globex", "Acme Storage"] {
        click(&mut harness, "New account");
        type_into(&mut harness, "Account name", name);
        click(&mut harness, "Create account");
        settle(&mut harness);
    }
    assert!(shows(&harness, "Wallet ID: 101"));

    // Sorted by name, then by wallet ID when that header is clicked.
    assert!(shows(&harness, "1–2 of 2"));
    let globex_first = |h: &egui_kittest::Harness<'_, license_desk::app::LicenseDeskApp>| {
        // The list's row, not the account switcher in the top bar.
        let row = |name: &str| {
            h.get_all_by_role_and_label(Role::Button, name)
                .map(|n| n.rect().top())
                .fold(f32::MIN, f32::max)
        };
        row("Globex") < row("Acme Storage")
    };
    assert!(!globex_first(&harness), "by name: Acme first");
    harness.get_by_label("Wallet ID").click();
    harness.run_ok();
    assert!(globex_first(&harness), "by wallet ID: Globex (100) first");
    harness.get_by_label("Name").click();
    harness.run_ok();
    assert!(!globex_first(&harness));

    type_into(&mut harness, "Search accounts", "acme");
    assert!(shows(&harness, "1–1 of 1"));
    assert_eq!(
        harness.query_all_by_label("Globex").count(),
        0,
        "filtered out"
    );
    harness
        .get_all_by_role_and_label(Role::Button, "Acme Storage")
        .last()
        .unwrap()
        .click();
    harness.run_ok();
    click(&mut harness, "Rename");
    let field = harness.get_by_role_and_label(Role::TextInput, "New name");
    field.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "New name")
        .type_text("Acme Cloud");
    harness.run_ok();
    click(&mut harness, "Save name");
    settle(&mut harness);
    assert_eq!(
        harness.state().current_account().unwrap().name,
        "Acme Cloud"
    );

    // Cancelling the confirmation keeps the account.
    click(&mut harness, "Delete account");
    assert!(shows(
        &harness,
        "Delete the account 'Acme Cloud' (Wallet ID: 101)?"
    ));
    click(&mut harness, "Cancel");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    assert_eq!(store::accounts::total(db.conn()).unwrap(), 2);

    click(&mut harness, "Delete account");
    click(&mut harness, "Delete");
    settle(&mut harness);
    assert_eq!(store::accounts::total(db.conn()).unwrap(), 1);
    assert!(harness.state().current_account().is_none());
    assert!(
        harness
            .state()
            .toasts()
            .texts()
            .any(|t| t == "Account 'Acme Cloud' deleted")
    );
}

#[test]
fn duplicate_account_name_is_refused_with_a_message() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");
    for _ in 0..2 {
        click(&mut harness, "New account");
        type_into(&mut harness, "Account name", "Acme");
        click(&mut harness, "Create account");
        settle(&mut harness);
    }
    assert!(
        harness
            .state()
            .toasts()
            .texts()
            .any(|t| t == "Create account failed: Account name: 'Acme' is already taken")
    );
}
