//! Settings and payment-method details driven through the UI.

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::domain::settings::Theme;
use license_desk::store::{self, Store};

#[test]
fn settings_show_the_data_directory_and_save_theme_and_air_gapped_mode() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Settings");
    assert!(shows(
        &harness,
        &format!("Data directory: {}", desk.dir.path().display())
    ));
    assert!(shows(&harness, "No unsaved changes."));
    harness.get_by_label("Dark").click();
    harness.run_ok();
    harness
        .get_by_label("Air-gapped mode (no network code runs)")
        .click();
    harness.run_ok();
    click(&mut harness, "Save settings");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    let saved = store::settings::load(db.conn()).unwrap();
    assert_eq!((saved.theme, saved.air_gapped), (Theme::Dark, true));
    assert!(
        harness.query_by_label("Air-gapped").is_some(),
        "the status bar says so"
    );
    assert_eq!(harness.ctx.theme(), egui::Theme::Dark);

    // A bad number is named and not saved.
    let minutes = field(&harness, "Lock keys after (minutes)");
    minutes.focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    field(&harness, "Lock keys after (minutes)").type_text("forever");
    harness.run_ok();
    assert!(shows(
        &harness,
        "Lock keys after (minutes): must be a whole number of minutes"
    ));
    click(&mut harness, "Save settings");
    settle(&mut harness);
    assert_eq!(
        store::settings::load(db.conn())
            .unwrap()
            .key_idle_lock_minutes,
        10
    );

    // Settings survive a restart.
    drop(harness);
    let harness = common::harness(&desk);
    assert!(harness.query_by_label("Air-gapped").is_some());
}

#[test]
fn expired_cards_are_flagged_and_bank_transfer_can_be_added() {
    let desk = TempDesk::new();
    let account_id = {
        let mut db = Store::open(&desk.database()).unwrap();
        let account = db
            .write(|tx| store::accounts::create(tx, "Acme", 1))
            .unwrap();
        let expired = PaymentDetails::Card {
            holder: "Ada".into(),
            brand: CardBrand::Mastercard,
            last4: "5454".into(),
            exp_month: 3,
            exp_year: 2025,
        };
        db.write(|tx| store::payments::add(tx, account.id, &expired, false, 1))
            .unwrap();
        account.id
    };
    let mut harness = harness(&desk);
    open_page(&mut harness, "Accounts");
    harness.get_by_label("Acme").click();
    harness.run_ok();
    assert!(shows(&harness, "Mastercard •••• 5454, expires 03/2025"));
    assert!(harness.query_by_label("Expired").is_some());

    click(&mut harness, "Add payment method");
    harness.get_by_label("Bank transfer").click();
    harness.run_ok();
    type_into(&mut harness, "Account holder", "Acme GmbH");
    type_into(&mut harness, "Bank name", "Sparkasse");
    harness.get_by_label("Make this the default method").click();
    harness.run_ok();
    click(&mut harness, "Save payment method");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    let methods = store::payments::list(db.conn(), account_id).unwrap();
    assert_eq!(methods[0].details.summary(), "Bank transfer via Sparkasse");
    assert!(methods[0].is_default && !methods[1].is_default);

    // The expired card can be removed after a confirmation naming it.
    let remove = harness.get_all_by_label("Remove").last().unwrap();
    remove.click();
    harness.run_ok();
    assert!(shows(
        &harness,
        "Remove the payment method Mastercard •••• 5454, expires 03/2025 from 'Acme'?"
    ));
    harness.get_all_by_label("Remove").last().unwrap().click();
    settle(&mut harness);
    assert_eq!(
        store::payments::list(db.conn(), account_id).unwrap().len(),
        1
    );
}
