//! The Dashboard in the real app: a first-use empty state that leads to the first account, then
//! cards counted on the worker (licenses not linked to any account count too) that open the
//! license list narrowed, or their panel; and the two charts, each also readable as a table.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use license_desk::app::{LicenseDeskApp, Page};
use license_desk::commerce::catalog::Product;
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::terms::Term;
use license_desk::domain::array::ArrayEdit;
use license_desk::domain::ids::IdempotencyKey;
use license_desk::domain::issue::IssueDraft;
use license_desk::services::arrays::{self, ArraysCommand, ArraysEvent};
use license_desk::services::commerce::{self, CommerceCommand, PayBy, Placement};
use license_desk::services::keys::{self, KeyVault};
use license_desk::services::licensing;
use license_desk::store::{self, Store};
use licensekey::LicenseKind;
use std::sync::Arc;

const PASS: &str = "operator passphrase";

/// An account that bought 1 Pro license and 5 TB from its wallet (paid) and 1 more Pro
/// license on an invoice (unpaid); an array holding the Pro license and the 5 TB; a license
/// linked to the account expiring in 20 days and one issued to a customer name only.
fn seeded(desk: &TempDesk) {
    let mut store = Store::open(&desk.database()).unwrap();
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
    );
    let account = shop::customer(&mut store, &mut vault, TEST_NOW, 100_000);
    let mut run = |store: &mut Store, c| commerce::run(store, &mut vault, TEST_NOW, c).unwrap();
    let list = store::price_lists::all(store.conn()).unwrap()[0].reference();
    let today = license_desk::domain::time::utc_date(TEST_NOW).unwrap();
    for (lines, pay_by) in [
        (
            vec![(Product::ProLicense, 1), (Product::CapacityTb, 5)],
            PayBy::Wallet,
        ),
        (
            vec![(Product::ProLicense, 1)],
            PayBy::NewInvoice { pay_now: false },
        ),
    ] {
        let lines: Vec<LineSpec> = lines
            .into_iter()
            .map(|(product, quantity)| LineSpec::Catalogue {
                product,
                term: Term::Annual,
                quantity,
                terms: 1,
            })
            .collect();
        let confirmed = commerce::price_cart(store.conn(), account, list, &lines, today).unwrap();
        run(
            &mut store,
            CommerceCommand::PlaceOrder(Box::new(Placement {
                account_id: account,
                price_list: list,
                lines,
                pay_by,
                terms_accepted: true,
                confirmed,
                key: IdempotencyKey::new(),
            })),
        );
    }
    let row = keys::generate(
        &mut store,
        "Main",
        PASS,
        keyvault::KdfParams::IMPORT_FLOOR,
        true,
        TEST_NOW,
    )
    .unwrap();
    let signing = keys::unlock(store.conn(), &row, PASS).unwrap();
    for (customer, days, linked) in [("Acme Storage", "20", true), ("Walk-in Ltd", "400", false)] {
        let spec = IssueDraft {
            product: "Storage OS".into(),
            customer: customer.into(),
            days: days.into(),
            ..IssueDraft::default()
        }
        .validate()
        .unwrap();
        let account = linked.then_some(account);
        licensing::issue(&mut store, &signing, &spec, account, "ada", TEST_NOW).unwrap();
    }
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
    );
    let ArraysEvent::Created(array) = arrays::run(
        &mut store,
        &mut vault,
        TEST_NOW,
        ArraysCommand::Create {
            account_id: account,
            name: "Rack A".into(),
        },
    )
    .unwrap() else {
        panic!()
    };
    arrays::run(
        &mut store,
        &mut vault,
        TEST_NOW,
        ArraysCommand::Save {
            id: array.id,
            edit: Box::new(ArrayEdit {
                name: "Rack A".into(),
                cluster: "123e4567-e89b-12d3-a456-426614174000".into(),
                kind: Some(LicenseKind::Pro),
                capacity_tb: 5,
                ..ArrayEdit::default()
            }),
        },
    )
    .unwrap();
}

fn card<'h>(harness: &'h Harness<'_, LicenseDeskApp>, name: &'h str) -> egui_kittest::Node<'h> {
    harness.get_by_role_and_label(Role::Button, name)
}

#[test]
fn an_empty_desk_leads_to_the_first_account_then_counts_it() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    assert_eq!(harness.state().page(), Page::Dashboard);
    assert!(shows(&harness, "Welcome to License Desk"));
    click(&mut harness, "Add your first account");
    assert_eq!(harness.state().page(), Page::Accounts);
    click(&mut harness, "New account");
    type_into(&mut harness, "Account name", "Acme Storage");
    click(&mut harness, "Create account");
    settle(&mut harness);
    open_page(&mut harness, "Dashboard");
    settle(&mut harness);
    assert!(!shows(&harness, "Welcome to License Desk"));
    card(&harness, "Accounts: 1");
    card(&harness, "Wallet balance: empty");
}

#[test]
fn cards_count_every_license_and_open_the_list_narrowed() {
    let desk = TempDesk::new();
    seeded(&desk);
    let mut harness = harness(&desk);
    settle(&mut harness);
    card(&harness, "Arrays: 1");
    card(&harness, "Ordered: 1");
    // The license issued to a name only counts like the linked one.
    card(&harness, "Licenses issued: 2");
    card(&harness, "Active: 2");
    card(&harness, "Unlinked licenses: 1");
    card(&harness, "Expiring in 30 days: 1");
    card(&harness, "Unpaid invoices: 1");
    card(&harness, "Wallet balance: no account chosen");
    assert!(shows(&harness, "€171.36 owed"), "1 Pro, annual, 19% VAT");
    assert!(
        harness
            .query_by_label("Revenue by month chart, EUR")
            .is_some()
    );
    assert!(
        harness
            .query_by_label("Capacity assigned by account chart")
            .is_some()
    );
    // The charts read as tables too.
    harness
        .get_by_label("Capacity by account as a table")
        .click();
    harness.run_ok();
    assert!(shows(&harness, "5 TB"));
    harness.get_by_label("Revenue by month as a table").click();
    harness.run_ok();
    assert!(shows(&harness, "2026-11"));

    card(&harness, "Expiring in 30 days: 1").click();
    harness.run_ok();
    assert_eq!(harness.state().page(), Page::Licenses);
    open_page(&mut harness, "Dashboard");
    settle(&mut harness);
    card(&harness, "Arrays: 1").click();
    harness.run_ok();
    assert_eq!(harness.state().page(), Page::Arrays);

    // Choosing an account shows its wallet; a change anywhere is counted again.
    open_page(&mut harness, "Accounts");
    harness
        .get_by(|n| n.label().as_deref() == Some("Acme Storage") && n.role() == Role::Button)
        .click();
    harness.run_ok();
    open_page(&mut harness, "Dashboard");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    let account = store::accounts::by_wallet_id(db.conn(), 100)
        .unwrap()
        .unwrap();
    let money = store::wallet::balances(db.conn(), account.id)
        .unwrap()
        .money
        .unwrap();
    card(&harness, &format!("Wallet balance: {money}"));
    assert!(shows(&harness, "Acme Storage: 0 Pro licenses, 0 TB free"));
}
