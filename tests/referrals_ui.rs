//! The referral workflow in the real app, driven by accessible labels: refer two friends (the
//! second row added with "+"), see them invited, mark one signed up and then a customer with a
//! double click, and see one reward in the list and in the wallet.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use license_desk::app::LicenseDeskApp;
use license_desk::commerce::catalog::starter;
use license_desk::domain::ids::AccountId;
use license_desk::domain::money::{Currency, Money};
use license_desk::services::accounts;
use license_desk::services::commerce::{self, CommerceCommand};
use license_desk::services::keys::KeyVault;
use license_desk::store::{self, Store};
use std::sync::Arc;

fn seeded(desk: &TempDesk) -> AccountId {
    let mut store = Store::open(&desk.database()).unwrap();
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        Arc::new(license_desk::clock::FixedClock::at_unix(TEST_NOW)),
    );
    commerce::run(
        &mut store,
        &mut vault,
        TEST_NOW,
        CommerceCommand::SavePriceList(starter(
            uuid::Uuid::now_v7(),
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        )),
    )
    .unwrap();
    accounts::create(&mut store, "Acme Storage", TEST_NOW)
        .unwrap()
        .id
}

fn choose_account(harness: &mut Harness<'_, LicenseDeskApp>) {
    open_page(harness, "Accounts");
    harness
        .get_by(|n| n.label().as_deref() == Some("Acme Storage") && n.role() == Role::Button)
        .click();
    harness.run_ok();
}

#[test]
fn refer_a_friend_who_becomes_a_customer_and_see_one_reward() {
    let desk = TempDesk::new();
    let account = seeded(&desk);
    let mut harness = harness(&desk);
    open_page(&mut harness, "Referrals");
    assert!(shows(&harness, "Choose the referring account"));
    choose_account(&mut harness);
    open_page(&mut harness, "Referrals");
    assert!(shows(&harness, "No referrals yet"));

    type_into(&mut harness, "Friend 1 name", "Grace Hopper");
    type_into(&mut harness, "Friend 1 email", "grace@navy");
    assert!(shows(&harness, "To continue, fix: Friend 1 email"));
    type_into(&mut harness, "Friend 1 email", ".example");
    click(&mut harness, "+ Add another friend");
    type_into(&mut harness, "Friend 2 name", "Alan Turing");
    type_into(&mut harness, "Friend 2 email", "alan@bletchley.example");
    click(&mut harness, "Send invitations");
    settle(&mut harness);
    assert!(shows(&harness, "2 friends invited."));
    assert!(shows(&harness, "2 friends referred"));
    assert_eq!(
        harness.query_all_by_label("Invited").count(),
        2,
        "a status chip per friend"
    );
    // The form is empty again, for the next friends.
    assert_eq!(
        field(&harness, "Friend 1 name").value().as_deref(),
        Some("")
    );

    click(&mut harness, "Mark Grace Hopper as signed up");
    settle(&mut harness);
    assert!(harness.query_by_label("Signed up").is_some());
    // A double click on "Became customer": two frames in a row, each sending the change.
    harness
        .get_by_role_and_label(Role::Button, "Mark Grace Hopper as became a customer")
        .click();
    harness.step();
    if let Some(again) =
        harness.query_by_role_and_label(Role::Button, "Mark Grace Hopper as became a customer")
    {
        again.click();
        harness.step();
    }
    settle(&mut harness);
    assert!(shows(&harness, "Rewards credited: €12.00"));
    assert!(harness.query_by_label("Became customer").is_some());
    assert!(shows(&harness, "€12.00 credited 2026-11-23"));
    let db = Store::open(&desk.database()).unwrap();
    assert_eq!(
        store::wallet::balances(db.conn(), account).unwrap().money,
        Some(Money::from_minor(1200, Currency::EUR)),
        "one reward"
    );
    // The wallet says where the money came from.
    open_page(&mut harness, "Purchase");
    harness.get_by_label("Wallet").click();
    harness.run_ok();
    assert!(shows(
        &harness,
        "Referral reward: Grace Hopper became a customer"
    ));
    assert!(shows(&harness, "Balance: €12.00"));
}
