//! The Arrays workflows in the real app, driven by accessible labels as a person would click:
//! new array → paste the cluster UUID (a bad one is named) → Pro and capacity from the wallet
//! → generate the serial → view, save the license file, QR, mail it; Pro with an empty wallet
//! offers Purchase; an Eval is refused for a cluster that had one; a dropped request file fills
//! the form; deleting names the array and gives back what it held.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use license_desk::app::LicenseDeskApp;
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::commerce::catalog::Product;
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::terms::Term;
use license_desk::domain::ids::{AccountId, IdempotencyKey};
use license_desk::services::commerce::{self, CommerceCommand, PayBy, Placement};
use license_desk::services::keys::{self, KeyVault};
use license_desk::store::ledger::ChainReport;
use license_desk::store::{self, Store};
use licensekey::{LicenseRequest, Uuid, VerifyContext};
use std::sync::Arc;

const PASS: &str = "operator passphrase";
const CLUSTER: &str = "123e4567-e89b-12d3-a456-426614174000";

/// A desk with a seller, the starter price list, the account "Acme Storage" (billing
/// details, a card, €1,000 in the wallet) that bought `pro` Pro licenses and `tb` TB for a
/// year, and the signing key "Main" (locked).
fn seeded(desk: &TempDesk, pro: u32, tb: u32) -> AccountId {
    let mut store = Store::open(&desk.database()).unwrap();
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
    );
    let account = shop::customer(&mut store, &mut vault, TEST_NOW, 100_000);
    let mut run = |store: &mut Store, c| commerce::run(store, &mut vault, TEST_NOW, c).unwrap();
    let mut lines = Vec::new();
    for (product, quantity) in [(Product::ProLicense, pro), (Product::CapacityTb, tb)] {
        if quantity > 0 {
            lines.push(LineSpec::Catalogue {
                product,
                term: Term::Annual,
                quantity,
                terms: 1,
            });
        }
    }
    if !lines.is_empty() {
        let list = store::price_lists::all(store.conn()).unwrap()[0].reference();
        let today = license_desk::domain::time::utc_date(TEST_NOW).unwrap();
        let confirmed = commerce::price_cart(store.conn(), account, list, &lines, today).unwrap();
        run(
            &mut store,
            CommerceCommand::PlaceOrder(Box::new(Placement {
                account_id: account,
                price_list: list,
                lines,
                pay_by: PayBy::Wallet,
                terms_accepted: true,
                confirmed,
                key: IdempotencyKey::new(),
            })),
        );
    }
    keys::generate(
        &mut store,
        "Main",
        PASS,
        keyvault::KdfParams::IMPORT_FLOOR,
        true,
        TEST_NOW,
    )
    .unwrap();
    account
}

fn choose_account(harness: &mut Harness<'_, LicenseDeskApp>) {
    open_page(harness, "Accounts");
    harness
        .get_by(|n| n.label().as_deref() == Some("Acme Storage") && n.role() == Role::Button)
        .click();
    harness.run_ok();
}

fn new_array(harness: &mut Harness<'_, LicenseDeskApp>, name: &str) {
    if harness
        .query_by_role_and_label(Role::Button, "Add array")
        .is_some()
    {
        click(harness, "Add array");
    } else {
        click(harness, "New array");
    }
    type_into(harness, "Array name", name);
    click(harness, "Create array");
    settle(harness);
}

#[test]
fn new_array_paste_uuid_pro_from_the_wallet_generate_serial_and_save_the_file() {
    let desk = TempDesk::new();
    let dialogs = Arc::new(ScriptedDialogs::default());
    let account = seeded(&desk, 1, 5);
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    choose_account(&mut harness);
    unlock_key(&mut harness, "Main", PASS);

    open_page(&mut harness, "Arrays");
    assert!(shows(&harness, "No arrays yet."));
    new_array(&mut harness, "Rack A");
    assert!(shows(&harness, "Array 'Rack A' created"), "toast");
    assert!(
        harness.query_all_by_label("Unassigned").next().is_some(),
        "status chip"
    );
    // The same name (any case) is taken.
    new_array(&mut harness, "rack a");
    assert!(shows(
        &harness,
        "Array name: 'rack a' is already taken by another array of this account"
    ));
    assert!(shows(&harness, "To continue, fix: Array name"));
    click(&mut harness, "Cancel");
    harness
        .get_by_role_and_label(Role::Button, "Rack A")
        .click();
    harness.run_ok();

    click(&mut harness, "Edit array");
    assert!(shows(&harness, "Edit array 'Rack A'"));
    type_into(&mut harness, "Cluster UUID", "123e4567-e89b-12d3-a456");
    assert!(shows(
        &harness,
        "Cluster UUID: '123e4567-e89b-12d3-a456' is not a cluster UUID"
    ));
    replace_text(&mut harness, "Cluster UUID", CLUSTER);
    assert!(!shows(&harness, "is not a cluster UUID"));
    harness.get_by_label("Pro (from the wallet)").click();
    harness.run_ok();
    assert!(shows(&harness, "Pro licenses available in the wallet: 1"));
    for _ in 0..5 {
        click(&mut harness, "+1 TB");
    }
    assert!(shows(&harness, "5 TB"));
    assert!(
        harness
            .get_by_role_and_label(Role::Button, "+1 TB")
            .accesskit_node()
            .is_disabled(),
        "no more TB in the wallet"
    );
    assert!(shows(
        &harness,
        "Saving takes 1 Pro license from the wallet, takes 5 TB from the wallet."
    ));
    click(&mut harness, "Save array");
    settle(&mut harness);
    assert!(
        harness.query_all_by_label("Ordered").next().is_some(),
        "Pro, no serial yet"
    );
    {
        let db = Store::open(&desk.database()).unwrap();
        let balances = store::wallet::balances(db.conn(), account).unwrap();
        assert_eq!(balances.entitlements[&Product::ProLicense].available(), 0);
        assert_eq!(balances.entitlements[&Product::CapacityTb].in_use(), 5);
        assert_eq!(
            store::arrays::ordered_count(db.conn(), Some(account)).unwrap(),
            1
        );
    }

    click(&mut harness, "Generate license serial");
    settle(&mut harness);
    assert!(shows(&harness, "Pro serial generated: expires 2027-11-23."));
    assert!(harness.query_all_by_label("Active").next().is_some());
    assert!(shows(&harness, "LD"), "the serial is shown");

    let path = desk.dir.path().join("rack-a.lic");
    dialogs.push_save(path.clone());
    click(&mut harness, "Save license file…");
    settle(&mut harness);
    let text = std::fs::read_to_string(&path).unwrap();
    let db = Store::open(&desk.database()).unwrap();
    let ring = keys::keyring(db.conn()).unwrap();
    let verified = licensekey::verify(
        &text,
        &ring,
        &VerifyContext::for_product("Storage OS", TEST_NOW + 60)
            .with_cluster(Uuid::parse_str(CLUSTER).unwrap()),
    )
    .unwrap();
    assert_eq!(verified.payload.capacity_tb, 5);
    assert_eq!(verified.payload.customer, "Acme Storage");

    click(&mut harness, "Show QR");
    assert!(harness.query_by_label("QR code of the serial").is_some());
    click(&mut harness, "Send to email");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Serial mailed to ada@acme.example (in the mail outbox)."
    ));
    let license = store::licenses::get(
        db.conn(),
        license_desk::domain::ids::LicenseId(verified.payload.license_id),
    )
    .unwrap()
    .unwrap();
    assert_eq!(license.account_id, Some(account), "linked to the wallet");
    assert!(matches!(
        store::ledger::verify(db.conn(), |_| {}).unwrap(),
        ChainReport::Intact { .. }
    ));

    // Giving a TB back withdraws the serial that grants it: asked first, naming it.
    click(&mut harness, "Edit array");
    click(&mut harness, "−1 TB");
    assert!(shows(
        &harness,
        "Saving gives 1 TB back to the wallet, withdraws the current serial"
    ));
    click(&mut harness, "Save array");
    assert!(shows(
        &harness,
        "Save 'Rack A' and withdraw its current Pro serial?"
    ));
    click(&mut harness, "Save and withdraw");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "was withdrawn (put on the revocation list); generate a new one."
    ));
    assert!(harness.query_all_by_label("Ordered").next().is_some());
    let withdrawn = store::licenses::get(db.conn(), license.license_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        withdrawn.status,
        license_desk::domain::license_status::LicenseStatus::Deleted
    );
    assert!(matches!(
        store::ledger::verify(db.conn(), |_| {}).unwrap(),
        ChainReport::Intact { .. }
    ));
}

#[test]
fn pro_with_an_empty_wallet_offers_purchase_and_an_eval_is_once_per_cluster() {
    let desk = TempDesk::new();
    seeded(&desk, 0, 0);
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    unlock_key(&mut harness, "Main", PASS);
    open_page(&mut harness, "Arrays");
    new_array(&mut harness, "Lab");
    click(&mut harness, "Edit array");
    type_into(&mut harness, "Cluster UUID", CLUSTER);
    harness.get_by_label("Eval (30 days, free)").click();
    harness.run_ok();
    click(&mut harness, "Save array");
    settle(&mut harness);
    click(&mut harness, "Generate license serial");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Eval serial generated: expires 2026-12-23."
    ));

    new_array(&mut harness, "Lab 2");
    click(&mut harness, "Edit array");
    type_into(&mut harness, "Cluster UUID", CLUSTER);
    harness.get_by_label("Eval (30 days, free)").click();
    harness.run_ok();
    assert!(shows(
        &harness,
        &format!("Kind: cluster {CLUSTER} already had its Eval license (issued")
    ));
    harness.get_by_label("Pro (from the wallet)").click();
    harness.run_ok();
    assert!(shows(
        &harness,
        "Kind: the wallet of 'Acme Storage' has no Pro license available"
    ));
    assert!(shows(&harness, "To continue, fix: Kind"));
    click(&mut harness, "Purchase Pro licenses");
    assert_eq!(harness.state().page(), license_desk::app::Page::Purchase);
}

#[test]
fn a_dropped_request_file_fills_the_edit_form_and_delete_names_the_array() {
    #[derive(Debug)]
    struct Dropped(std::path::PathBuf);
    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            std::fs::read(&self.0).map_err(|e| e.to_string())
        }
    }

    let desk = TempDesk::new();
    let account = seeded(&desk, 1, 2);
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    unlock_key(&mut harness, "Main", PASS);
    open_page(&mut harness, "Arrays");
    new_array(&mut harness, "Edge");
    click(&mut harness, "Edit array");

    let cluster = Uuid::from_bytes([0x42; 16]);
    let request = LicenseRequest::for_this_machine(Some(cluster), TEST_NOW).unwrap();
    let path = desk.dir.path().join("edge.ldreq");
    std::fs::write(&path, request.to_file().unwrap()).unwrap();
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path)));
    harness.run_ok();
    settle(&mut harness);
    assert_eq!(
        harness.state().page(),
        license_desk::app::Page::Arrays,
        "stays on Arrays"
    );
    let field = harness.get_by_role_and_label(Role::TextInput, "Cluster UUID");
    assert_eq!(field.value(), Some(cluster.to_string()));
    assert!(shows(&harness, "Request file"));
    harness.get_by_label("Pro (from the wallet)").click();
    harness.run_ok();
    click(&mut harness, "+1 TB");
    click(&mut harness, "Save array");
    settle(&mut harness);
    click(&mut harness, "Generate license serial");
    settle(&mut harness);
    assert!(shows(&harness, "Bound to the machine of the request file"));

    click(&mut harness, "Delete array");
    assert!(shows(
        &harness,
        "Delete the array 'Edge'? Its Pro license and 1 TB go back to the wallet of 'Acme Storage'."
    ));
    click(&mut harness, "Delete");
    settle(&mut harness);
    assert!(shows(&harness, "No arrays yet."));
    let db = Store::open(&desk.database()).unwrap();
    let balances = store::wallet::balances(db.conn(), account).unwrap();
    assert_eq!(balances.entitlements[&Product::ProLicense].available(), 1);
    assert_eq!(balances.entitlements[&Product::CapacityTb].available(), 2);
    assert!(matches!(
        store::ledger::verify(db.conn(), |_| {}).unwrap(),
        ChainReport::Intact { .. }
    ));
}
