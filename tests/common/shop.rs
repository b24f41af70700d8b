//! A shop ready to sell: the seller, the starter price list, and the customer "Acme Storage"
//! with billing details, a card and money in its wallet.

use chrono::NaiveDate;
use license_desk::commerce::catalog::starter;
use license_desk::commerce::seller::SellerDetails;
use license_desk::domain::billing::BillingDetails;
use license_desk::domain::ids::{AccountId, IdempotencyKey};
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::commerce::{self, CommerceCommand};
use license_desk::services::keys::KeyVault;
use license_desk::store::Store;

/// Euros in cents.
pub fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

/// Runs a commerce command that must succeed.
pub fn run(store: &mut Store, vault: &mut KeyVault, now: i64, command: CommerceCommand) {
    commerce::run(store, vault, now, command).expect("commerce command");
}

/// The seller "Desk Vendor GmbH" (Germany) and the starter price list valid from 2020.
pub fn open_shop(store: &mut Store, vault: &mut KeyVault, now: i64) {
    run(
        store,
        vault,
        now,
        CommerceCommand::SaveSeller(SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Friedrichstr. 10\n10117 Berlin".into(),
            country: "DE".into(),
            vat_id: "DE136695976".into(),
            email: "billing@vendor.example".into(),
        }),
    );
    let from = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
    run(
        store,
        vault,
        now,
        CommerceCommand::SavePriceList(starter(uuid::Uuid::now_v7(), from)),
    );
}

/// The account "Acme Storage" without billing details.
pub fn bare_customer(store: &mut Store, now: i64) -> AccountId {
    accounts::create(store, "Acme Storage", now)
        .expect("account")
        .id
}

/// German billing details (Acme Storage GmbH, Ada Lovelace) and a default Visa card.
pub fn billing_and_card(store: &mut Store, account: AccountId, now: i64) {
    accounts::run(
        store,
        now,
        AccountsCommand::SaveBilling {
            account_id: account,
            details: BillingDetails {
                company: "Acme Storage GmbH".into(),
                contact_name: "Ada Lovelace".into(),
                email: "ada@acme.example".into(),
                address_line1: "Hauptstr. 1".into(),
                city: "Berlin".into(),
                postal_code: "10115".into(),
                country: "DE".into(),
                ..BillingDetails::default()
            },
        },
    )
    .expect("billing details");
    accounts::run(
        store,
        now,
        AccountsCommand::AddPaymentMethod {
            account_id: account,
            details: PaymentDetails::Card {
                holder: "Ada".into(),
                brand: CardBrand::Visa,
                last4: "4242".into(),
                exp_month: 8,
                exp_year: 2030,
            },
            make_default: true,
        },
    )
    .expect("card");
}

/// Puts `minor` cents into the account's wallet.
pub fn top_up(store: &mut Store, vault: &mut KeyVault, now: i64, account: AccountId, minor: i64) {
    run(
        store,
        vault,
        now,
        CommerceCommand::TopUp {
            account_id: account,
            amount: eur(minor),
            key: IdempotencyKey::new(),
        },
    );
}

/// The shop open and "Acme Storage" ready to buy: billing details, a card, and `wallet`
/// cents in its wallet.
pub fn customer(store: &mut Store, vault: &mut KeyVault, now: i64, wallet: i64) -> AccountId {
    let account = bare_customer(store, now);
    open_shop(store, vault, now);
    billing_and_card(store, account, now);
    if wallet > 0 {
        top_up(store, vault, now, account, wallet);
    }
    account
}
