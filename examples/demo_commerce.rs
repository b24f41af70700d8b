//! Fills a data directory with a small commerce demo (for screenshots and trying the app):
//! a seller, the starter price list, the account "Acme Storage" with billing details, a card
//! and €1,000 in its wallet, a placed order, a quote, and a seat contract.
//!
//! `cargo run --release --example demo_commerce -- /tmp/desk-demo`, then
//! `license-desk --data-dir /tmp/desk-demo`.

use chrono::{Datelike, NaiveDate};
use license_desk::clock::{Clock, SystemClock};
use license_desk::commerce::catalog::{Product, starter};
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::seller::SellerDetails;
use license_desk::commerce::terms::Term;
use license_desk::domain::billing::BillingDetails;
use license_desk::domain::ids::IdempotencyKey;
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::commerce::{self, CommerceCommand, CommerceEvent, PayBy, Placement};
use license_desk::services::keys::KeyVault;
use license_desk::store::Store;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: demo_commerce DATA_DIR"))?;
    let path = license_desk::paths::database_path(std::path::Path::new(&dir));
    let mut store = Store::open(&path)?;
    let clock = Arc::new(SystemClock);
    let now = clock.now().timestamp();
    let today = clock.now().date_naive();
    let mut vault = KeyVault::new(keyvault::KdfParams::INTERACTIVE, 10, clock);
    let mut run = |store: &mut Store, c| commerce::run(store, &mut vault, now, c);
    run(
        &mut store,
        CommerceCommand::SaveSeller(SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Friedrichstr. 10\n10117 Berlin".into(),
            country: "DE".into(),
            vat_id: "DE136695976".into(),
            email: "billing@vendor.example".into(),
        }),
    )?;
    let CommerceEvent::PriceListSaved(list) = run(
        &mut store,
        CommerceCommand::SavePriceList(starter(
            uuid::Uuid::now_v7(),
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(today),
        )),
    )?
    else {
        anyhow::bail!("the price list was not saved");
    };
    let account = accounts::create(&mut store, "Acme Storage", now)?.id;
    accounts::run(
        &mut store,
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
    )?;
    accounts::run(
        &mut store,
        now,
        AccountsCommand::AddPaymentMethod {
            account_id: account,
            details: PaymentDetails::Card {
                holder: "Ada Lovelace".into(),
                brand: CardBrand::Visa,
                last4: "4242".into(),
                exp_month: 8,
                exp_year: 2030,
            },
            make_default: true,
        },
    )?;
    run(
        &mut store,
        CommerceCommand::TopUp {
            account_id: account,
            amount: Money::from_minor(100_000, Currency::EUR),
            key: IdempotencyKey::new(),
        },
    )?;
    let lines = vec![LineSpec::Catalogue {
        product: Product::ProLicense,
        term: Term::Annual,
        quantity: 1,
        terms: 1,
    }];
    let confirmed = commerce::price_cart(store.conn(), account, list.reference(), &lines, today)?;
    run(
        &mut store,
        CommerceCommand::PlaceOrder(Box::new(Placement {
            account_id: account,
            price_list: list.reference(),
            lines: lines.clone(),
            pay_by: PayBy::Wallet,
            terms_accepted: true,
            confirmed,
            key: IdempotencyKey::new(),
        })),
    )?;
    run(
        &mut store,
        CommerceCommand::SaveQuote {
            account_id: account,
            price_list: list.reference(),
            lines,
            revising: None,
        },
    )?;
    let start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    run(
        &mut store,
        CommerceCommand::CreateSeatContract {
            account_id: account,
            name: "Design team".into(),
            term: Term::Annual,
            start,
            seats: 10,
        },
    )?;
    println!("demo data written to {}", path.display());
    Ok(())
}
