//! The commerce workflows in the real app, driven by accessible labels as a person would click:
//! buy capacity and pay from the wallet (double-clicking Place order), save a quote and convert
//! it, be sent to fix missing billing details, renew a license from the wallet, raise seats
//! mid-term with the booked charge equal to the preview, and keep prices and the seller.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::shop::{self, eur};
use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use license_desk::app::LicenseDeskApp;
use license_desk::commerce::documents::OrderStatus;
use license_desk::commerce::terms::Term;
use license_desk::domain::ids::AccountId;
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_status::LicenseStatus;
use license_desk::services::commerce::{self, CommerceCommand};
use license_desk::services::keys::{self, KeyVault};
use license_desk::services::licensing;
use license_desk::store::{self, Store};
use std::sync::Arc;

const PASS: &str = "operator passphrase";

/// A desk with a German seller, the starter price list and the account "Acme Storage" (with
/// billing details and a card unless `bare`), topped up with `wallet` cents.
fn seeded(desk: &TempDesk, bare: bool, wallet: i64) -> AccountId {
    let mut store = Store::open(&desk.database()).unwrap();
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
    );
    if bare {
        let account = shop::bare_customer(&mut store, TEST_NOW);
        shop::open_shop(&mut store, &mut vault, TEST_NOW);
        account
    } else {
        shop::customer(&mut store, &mut vault, TEST_NOW, wallet)
    }
}

fn choose_account(harness: &mut Harness<'_, LicenseDeskApp>) {
    open_page(harness, "Accounts");
    harness
        .get_by(|n| n.label().as_deref() == Some("Acme Storage") && n.role() == Role::Button)
        .click();
    harness.run_ok();
}

fn click_far(harness: &mut Harness<'_, LicenseDeskApp>, label: &str) {
    harness
        .get_by_role_and_label(Role::Button, label)
        .scroll_to_me();
    harness.run_ok();
    click(harness, label);
}

fn fill_cart(harness: &mut Harness<'_, LicenseDeskApp>) {
    open_page(harness, "Purchase");
    click(harness, "+1 Pro");
    click(harness, "+1 Pro");
    replace_text(harness, "Capacity (TB)", "5");
    harness
        .get_by_label("Support add-on (per Pro license)")
        .click();
    harness.run_ok();
    harness.get_by_label("Annual").click();
    harness.run_ok();
    assert!(shows(harness, "Runs 2026-11-23 to 2027-11-23 (365 days)"));
    click(harness, "Calculate total and tax");
    // 2 × €144.00 + 5 × €60.00 + 2 × €36.00 = €660.00; 19% VAT €125.40.
    assert!(shows(harness, "Subtotal"), "{:?}", dump(harness));
    assert!(
        shows(harness, "Tax 19% on €660.00"),
        "{:?}",
        harness
            .query_all_by_label_contains("Tax")
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
    );
    assert!(shows(harness, "Total €785.40"));
}

#[test]
fn buy_licenses_capacity_and_support_review_and_pay_from_the_wallet() {
    let desk = TempDesk::new();
    let account = seeded(&desk, false, 100_000);
    let mut harness = harness(&desk);
    choose_account(&mut harness);

    // Bad input is named at its field and keeps the button disabled.
    open_page(&mut harness, "Purchase");
    replace_text(&mut harness, "Pro licenses", "-3");
    assert!(shows(&harness, "Pro licenses: must be from 0 to 100000"));
    assert!(shows(&harness, "To continue, fix: Pro licenses"));
    replace_text(&mut harness, "Pro licenses", "0");
    fill_cart(&mut harness);

    click(&mut harness, "Proceed to review order");
    assert!(shows(&harness, "Review order"));
    assert!(shows(&harness, "To continue, fix: Terms and Conditions"));
    harness
        .get_by_label("Wallet balance (€1,000.00 available)")
        .click();
    harness.run_ok();
    harness
        .get_by_label("I accept the Terms and Conditions")
        .click();
    harness.run_ok();
    // A double click: two frames in a row, each sending the placement with the review page's
    // key (unless the first answer already closed the page); it is charged once.
    harness
        .get_by_role_and_label(Role::Button, "Place order")
        .click();
    harness.step();
    if let Some(again) = harness.query_by_role_and_label(Role::Button, "Place order") {
        again.click();
        harness.step();
    }
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Order ORD-2026-0001 placed for €785.40; invoice INV-2026-0001 is paid."
    ));

    let answers = harness
        .state()
        .toasts()
        .texts()
        .filter(|t| t.starts_with("Order ORD-2026-0001 placed"))
        .count();
    assert!(
        (1..=2).contains(&answers),
        "one answer per click, the same order"
    );
    let db = Store::open(&desk.database()).unwrap();
    assert_eq!(store::orders::count(db.conn(), account).unwrap(), 1);
    harness.get_by_label("Wallet").click();
    harness.run_ok();
    assert!(shows(&harness, "Balance: €214.60"));
    assert!(shows(&harness, "2 available"), "Pro licenses and support");
    assert!(shows(&harness, "5 available"), "capacity");
    assert!(shows(&harness, "Payment of INV-2026-0001"));
}

#[test]
fn save_as_quote_find_it_in_quotes_and_convert_it() {
    let desk = TempDesk::new();
    let account = seeded(&desk, false, 0);
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    fill_cart(&mut harness);
    click(&mut harness, "Proceed to review order");
    click(&mut harness, "Save as quote");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Quote Q-2026-0001 saved, valid until 2026-12-23"
    ));

    open_page(&mut harness, "Quotes & Orders");
    settle(&mut harness);
    assert!(harness.query_by_label("Open").is_some(), "status chip");
    click(&mut harness, "Q-2026-0001 v1");
    assert!(shows(&harness, "Total €785.40"));
    click(&mut harness, "Convert to order");
    settle(&mut harness);
    assert!(harness.query_by_label("Accepted").is_some());
    harness.get_by_label("Orders").click();
    harness.run_ok();
    assert!(shows(&harness, "ORD-2026-0001"));
    let db = Store::open(&desk.database()).unwrap();
    let orders = store::orders::page(db.conn(), account, None, 0, 10).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order.total(), eur(78_540));
    assert_eq!(orders[0].order.status(), OrderStatus::Placed);

    // The invoice is unpaid; it can be paid now with the card, and saved as CSV.
    open_page(&mut harness, "Invoices");
    click(&mut harness, "INV-2026-0001");
    click(&mut harness, "Pay now with card");
    settle(&mut harness);
    assert!(harness.query_by_label("Paid").is_some());
    // Confirmations wait in the outbox.
    open_page(&mut harness, "Quotes & Orders");
    harness.get_by_label("Confirmations").click();
    harness.run_ok();
    assert!(shows(&harness, "Order ORD-2026-0001 confirmed"));
    assert!(shows(&harness, "Quote Q-2026-0001"));
}

#[test]
fn missing_billing_details_block_the_order_with_a_link_to_fix_them() {
    let desk = TempDesk::new();
    seeded(&desk, true, 0);
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    open_page(&mut harness, "Purchase");
    click(&mut harness, "+1 Pro");
    click(&mut harness, "Calculate total and tax");
    assert!(shows(&harness, "Billing details are missing"));
    click(&mut harness, "Edit billing details");
    assert_eq!(harness.state().page(), license_desk::app::Page::Accounts);
}

#[test]
fn renew_a_license_paying_from_the_wallet() {
    let desk = TempDesk::new();
    let account = seeded(&desk, false, 100_000);
    let old = {
        let mut store = Store::open(&desk.database()).unwrap();
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
        let spec = IssueDraft {
            product: "Storage OS".into(),
            customer: "Acme Storage".into(),
            capacity_tb: "2".into(),
            days: "20".into(),
            ..IssueDraft::default()
        }
        .validate()
        .unwrap();
        licensing::issue(&mut store, &signing, &spec, Some(account), "ada", TEST_NOW).unwrap()
    };
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    open_page(&mut harness, "Signing keys");
    click(&mut harness, "Unlock Main");
    type_into(&mut harness, "Passphrase to unlock", PASS);
    click(&mut harness, "Unlock");
    settle(&mut harness);

    open_page(&mut harness, "Purchase");
    harness.get_by_label("Renewals").click();
    harness.run_ok();
    assert!(shows(&harness, "1 license(s) due"));
    let id = old.payload().license_id.simple().to_string();
    let short = &id[24..];
    click(&mut harness, &format!("Renew {short}"));
    // €144.00 + 2 TB × €60.00 = €264.00, 19% → €314.16 per year.
    assert!(shows(&harness, "Cost per period (Annual): €314.16"));
    harness
        .get_by_label("Wallet balance (€1,000.00 available)")
        .click();
    harness.run_ok();
    click(&mut harness, "Renew license");
    settle(&mut harness);
    assert!(
        shows(&harness, "Renewed: license"),
        "{:?}",
        harness.state().toasts().texts().collect::<Vec<_>>()
    );
    let db = Store::open(&desk.database()).unwrap();
    let old_row = store::licenses::get(
        db.conn(),
        license_desk::domain::ids::LicenseId(old.payload().license_id),
    )
    .unwrap()
    .unwrap();
    assert_eq!(old_row.status, LicenseStatus::Superseded);
    assert_eq!(
        store::wallet::balances(db.conn(), account).unwrap().money,
        Some(eur(100_000 - 31_416))
    );
    // Auto-renewal is kept per license.
    let _ = Term::Annual;
}

#[test]
fn raise_seats_mid_term_and_the_booked_charge_equals_the_preview() {
    let desk = TempDesk::new();
    let account = seeded(&desk, false, 0);
    {
        let mut store = Store::open(&desk.database()).unwrap();
        keys::generate(
            &mut store,
            "Main",
            PASS,
            keyvault::KdfParams::IMPORT_FLOOR,
            true,
            TEST_NOW,
        )
        .unwrap();
        let mut vault = KeyVault::new(
            keyvault::KdfParams::TEST_ONLY,
            10,
            Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
        );
        commerce::run(
            &mut store,
            &mut vault,
            TEST_NOW,
            CommerceCommand::CreateSeatContract {
                account_id: account,
                name: "Design team".into(),
                term: Term::Annual,
                start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                seats: 10,
            },
        )
        .unwrap();
    }
    let mut harness = harness(&desk);
    choose_account(&mut harness);
    open_page(&mut harness, "Seats");
    assert!(shows(&harness, "Design team — 10 seats"));
    for _ in 0..3 {
        click(&mut harness, "+1 seat");
    }
    // 3 × €120.00 × 39 / 365 days (23 Nov 2026 to 1 Jan 2027) = €38.47; with 19% VAT €45.78.
    assert!(shows(
        &harness,
        "Prorated charge: €38.47 for 3 seat(s) × 39 of 365 days"
    ));
    assert!(shows(&harness, "Invoiced at once: €7.31 tax, total €45.78"));
    click(&mut harness, "Change seats…");
    type_into(&mut harness, "Operator passphrase", "not the passphrase");
    click(&mut harness, "Confirm seat change");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Seats not changed: Passphrase: it does not unlock"
    ));
    click(&mut harness, "Change seats…");
    type_into(&mut harness, "Operator passphrase", PASS);
    click(&mut harness, "Confirm seat change");
    settle(&mut harness);
    assert!(shows(
        &harness,
        "'Design team' now has 13 seats from 2026-11-23: invoiced €45.78 on INV-2026-0002."
    ));
    let db = Store::open(&desk.database()).unwrap();
    let invoices = store::invoices::page(db.conn(), account, None, 0, 10).unwrap();
    assert_eq!(
        invoices[0].1.invoice.total(),
        eur(4_578),
        "booked = previewed, to the cent"
    );

    // Seats go to named users, and come back when a user is removed.
    type_into(&mut harness, "User name", "Grace Hopper");
    type_into(&mut harness, "User email", "grace@acme.example");
    click(&mut harness, "Assign seat");
    settle(&mut harness);
    assert!(shows(&harness, "Users (1 of 13 seats taken)"));
    click(&mut harness, "Remove Grace Hopper");
    click(&mut harness, "Remove user");
    settle(&mut harness);
    assert!(shows(&harness, "Users (0 of 13 seats taken)"));
}

#[test]
fn settings_keep_a_price_list_version_and_the_seller() {
    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    open_page(&mut harness, "Settings");
    harness.get_by_label("Prices").click();
    harness.run_ok();
    click(&mut harness, "Start from the standard price list");
    replace_text(&mut harness, "Pro license, Annual", "12,34");
    assert!(shows(&harness, "Pro license, Annual:"));
    replace_text(&mut harness, "Pro license, Annual", "150.00");
    click_far(&mut harness, "Save price list version");
    settle(&mut harness);
    assert!(
        shows(&harness, "EUR · version 1"),
        "{:?} {:?}",
        harness.state().toasts().texts().collect::<Vec<_>>(),
        harness.query_all_by_label_contains("To continue").count()
    );
    harness.get_by_label("Seller").click();
    harness.run_ok();
    type_into(&mut harness, "Seller company", "Desk Vendor GmbH");
    field(&harness, "Seller address").focus();
    harness.run_ok();
    field(&harness, "Seller address").type_text("Friedrichstr. 10, 10117 Berlin");
    harness.run_ok();
    type_into(&mut harness, "Seller country", "Germany");
    assert!(shows(
        &harness,
        "Seller VAT ID: is required for a seller in the EU"
    ));
    type_into(&mut harness, "Seller VAT ID", "DE136695976");
    click(&mut harness, "Save seller details");
    settle(&mut harness);
    let db = Store::open(&desk.database()).unwrap();
    assert_eq!(
        store::price_lists::seller(db.conn()).unwrap().vat_id,
        "DE136695976"
    );
    let lists = store::price_lists::all(db.conn()).unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(
        lists[0].unit_price(
            license_desk::commerce::catalog::Product::ProLicense,
            Term::Annual
        ),
        Ok(eur(15_000))
    );
}

#[allow(dead_code)]
fn dump(harness: &Harness<'_, LicenseDeskApp>) -> Vec<String> {
    use egui_kittest::kittest::NodeT;
    harness
        .query_all_by_label_contains("")
        .filter_map(|n| n.accesskit_node().label().map(|s| s.to_string()))
        .collect()
}
