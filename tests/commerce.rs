//! Commerce through the service the worker and the UI use: placing orders (idempotent, all or
//! nothing, blocked with a reason), gapless invoice numbers with two writers, invoices that
//! never change once final, credit notes, the wallet, quotes, renewals, seat changes whose
//! booked charge equals the preview, and invoice PDF/CSV and confirmation mail.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::commerce::catalog::{PriceList, PriceListRef, Product, starter};
use license_desk::commerce::documents::{InvoiceStatus, LineCredit, OrderStatus};
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::quote::QuoteStatus;
use license_desk::commerce::seats::SeatAdjustment;
use license_desk::commerce::seller::SellerDetails;
use license_desk::commerce::terms::Term;
use license_desk::domain::billing::BillingDetails;
use license_desk::domain::ids::{AccountId, IdempotencyKey, LicenseId};
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_status::LicenseStatus;
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::commerce::{
    self, CommerceCommand, CommerceError, CommerceEvent, PayBy, PayWith, Placement,
};
use license_desk::services::keys::{self, KeyVault, KeysCommand, Secret};
use license_desk::services::licensing;
use license_desk::store::{self, Store};
use licensekey::LicenseKind;
use std::sync::Arc;

const PASS: &str = "a long enough passphrase";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn at(date: NaiveDate) -> i64 {
    date.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

struct Desk {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Store,
    vault: KeyVault,
    account: AccountId,
    list: PriceList,
    now: i64,
}

fn billing(country: &str, tax_id: &str) -> BillingDetails {
    BillingDetails {
        company: "Acme Storage GmbH".into(),
        contact_name: "Ada Lovelace".into(),
        email: "ada@acme.example".into(),
        phone: String::new(),
        address_line1: "Hauptstr. 1".into(),
        address_line2: String::new(),
        city: "Wien".into(),
        postal_code: "1010".into(),
        country: country.into(),
        tax_id: tax_id.into(),
    }
}

impl Desk {
    /// A desk on `today` with a German seller, the starter price list, an account with billing
    /// details in `country` and a card that expires in 2030.
    fn new(today: NaiveDate, country: &str, tax_id: &str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.sqlite3");
        let mut store = Store::open(&path).unwrap();
        let now = at(today);
        let vault = KeyVault::new(KdfParams::TEST_ONLY, 10, Arc::new(FixedClock::at_unix(now)));
        let account = accounts::create(&mut store, "Acme Storage", now)
            .unwrap()
            .id;
        accounts::run(
            &mut store,
            now,
            AccountsCommand::SaveBilling {
                account_id: account,
                details: billing(country, tax_id),
            },
        )
        .unwrap();
        accounts::run(
            &mut store,
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
        .unwrap();
        let mut desk = Desk {
            _dir: dir,
            path,
            store,
            vault,
            account,
            list: starter(uuid::Uuid::now_v7(), d(2020, 1, 1)),
            now,
        };
        desk.run(CommerceCommand::SaveSeller(SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Friedrichstr. 10\n10117 Berlin".into(),
            country: "DE".into(),
            vat_id: "DE136695976".into(),
            email: "billing@vendor.example".into(),
        }))
        .unwrap();
        let saved = desk
            .run(CommerceCommand::SavePriceList(desk.list.clone()))
            .unwrap();
        let CommerceEvent::PriceListSaved(list) = saved else {
            panic!("{saved:?}")
        };
        desk.list = list;
        desk
    }

    fn run(&mut self, command: CommerceCommand) -> Result<CommerceEvent, CommerceError> {
        commerce::run(&mut self.store, &mut self.vault, self.now, command)
    }

    fn list_ref(&self) -> PriceListRef {
        self.list.reference()
    }

    fn today(&self) -> NaiveDate {
        license_desk::domain::time::utc_date(self.now).unwrap()
    }

    fn placement(&self, lines: Vec<LineSpec>, pay_by: PayBy) -> Placement {
        let confirmed = commerce::price_cart(
            self.store.conn(),
            self.account,
            self.list_ref(),
            &lines,
            self.today(),
        )
        .unwrap();
        Placement {
            account_id: self.account,
            price_list: self.list_ref(),
            lines,
            pay_by,
            terms_accepted: true,
            confirmed,
            key: IdempotencyKey::new(),
        }
    }

    fn top_up(&mut self, minor: i64) {
        let account_id = self.account;
        self.run(CommerceCommand::TopUp {
            account_id,
            amount: eur(minor),
            key: IdempotencyKey::new(),
        })
        .unwrap();
    }

    fn balances(&self) -> store::wallet::Balances {
        store::wallet::balances(self.store.conn(), self.account).unwrap()
    }

    fn count(&self, table: &str) -> i64 {
        self.store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

fn cart() -> Vec<LineSpec> {
    let line = |product, quantity| LineSpec::Catalogue {
        product,
        term: Term::Annual,
        quantity,
        terms: 1,
    };
    vec![
        line(Product::ProLicense, 2),
        line(Product::CapacityTb, 5),
        line(Product::Support, 2),
    ]
}

#[test]
fn paying_by_wallet_credits_entitlements_once_even_when_placed_twice() {
    let mut desk = Desk::new(d(2026, 11, 23), "DE", "");
    desk.top_up(200_000);
    let placement = desk.placement(cart(), PayBy::Wallet);
    // 2 × 144.00 + 5 × 60.00 + 2 × 36.00 = 660.00, 19% = 125.40
    assert_eq!(placement.confirmed.totals.total, eur(78_540));
    let first = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement.clone())))
        .unwrap();
    let again = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement)))
        .unwrap();
    assert_eq!(first, again, "a double click returns the first result");
    let CommerceEvent::OrderPlaced { order, invoice, .. } = first else {
        panic!()
    };
    assert_eq!(order.order.status(), OrderStatus::Fulfilled);
    let invoice = invoice.unwrap();
    assert_eq!(invoice.invoice.status(), InvoiceStatus::Paid);
    assert_eq!(
        invoice.invoice.number().unwrap().to_string(),
        "INV-2026-0001"
    );
    assert_eq!((desk.count("orders"), desk.count("invoices")), (1, 1));
    let balances = desk.balances();
    assert_eq!(balances.money, Some(eur(200_000 - 78_540)));
    let units = |p| balances.entitlements.get(&p).map(|c| c.available());
    assert_eq!(units(Product::ProLicense), Some(2));
    assert_eq!(units(Product::CapacityTb), Some(5));
    assert_eq!(units(Product::Support), Some(2));
    // Every synced row went to the outbox in the same transactions.
    let entities: Vec<String> = store::outbox::pending(desk.store.conn(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|r| format!("{}:{}", r.entity, r.op))
        .collect();
    for expected in [
        "order:upsert",
        "invoice:insert",
        "invoice_status:upsert",
        "wallet_entry:insert",
    ] {
        assert!(
            entities.iter().any(|e| e == expected),
            "{expected} in {entities:?}"
        );
    }
    // A confirmation mail was queued and written as an .eml file.
    let mails = store::mail_outbox::page(desk.store.conn(), None, 0, 10).unwrap();
    assert_eq!(mails[0].subject, "Order ORD-2026-0001 confirmed");
    let file = desk
        .path
        .parent()
        .unwrap()
        .join("outbox")
        .join(&mails[0].file_name);
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.starts_with("From: billing@vendor.example\r\nTo: ada@acme.example\r\n"));
    assert!(text.contains("Total: €785.40"));
}

#[test]
fn bad_placements_are_refused_with_their_reason_and_write_nothing() {
    let mut desk = Desk::new(d(2026, 11, 23), "DE", "");
    let mut placement = desk.placement(cart(), PayBy::Wallet);
    let err = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement.clone())))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Wallet: the wallet holds €0.00; €785.40 is needed"
    );
    placement.key = IdempotencyKey::new();
    placement.terms_accepted = false;
    let err = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement.clone())))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Terms and Conditions: accept them to place the order"
    );
    // A price confirmed at another amount is not charged.
    placement.terms_accepted = true;
    placement.pay_by = PayBy::NewInvoice { pay_now: false };
    placement.confirmed.totals.total = eur(1);
    let err = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement)))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the price changed since it was confirmed")
    );
    assert_eq!((desk.count("orders"), desk.count("invoices")), (0, 0));
    assert_eq!(
        store::commerce::last_seq(
            desk.store.conn(),
            license_desk::commerce::numbering::DocKind::Invoice,
            2026
        )
        .unwrap(),
        0,
        "no number was used up"
    );

    // An expired card blocks a placement that is charged to it.
    let mut later = Desk::new(d(2031, 1, 5), "DE", "");
    let placement = later.placement(cart(), PayBy::NewInvoice { pay_now: true });
    let err = later
        .run(CommerceCommand::PlaceOrder(Box::new(placement)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Payment method: Visa •••• 4242, expires 08/2030 has expired: add a current one under Accounts"
    );

    // Missing billing details are named.
    let other = accounts::create(&mut desk.store, "No Billing Ltd", desk.now).unwrap();
    let err = commerce::price_cart(
        desk.store.conn(),
        other.id,
        desk.list_ref(),
        &cart(),
        desk.today(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("Billing details are missing"));
    // A price list with no rate for the customer's country names it.
    let mut swiss = Desk::new(d(2026, 11, 23), "JP", "");
    let err = commerce::price_cart(
        swiss.store.conn(),
        swiss.account,
        swiss.list_ref(),
        &cart(),
        swiss.today(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1: the price list has no software tax rate for JP on 2026-11-23"
    );
    let _ = swiss.run(CommerceCommand::ExpireQuotes);
}

#[test]
fn invoice_numbers_are_gapless_with_two_writers() {
    let desk = Desk::new(d(2026, 11, 23), "DE", "");
    let path = desk.path.clone();
    let account = desk.account;
    let list = desk.list_ref();
    let today = desk.today();
    let now = desk.now;
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                let mut vault =
                    KeyVault::new(KdfParams::TEST_ONLY, 10, Arc::new(FixedClock::at_unix(now)));
                let mut numbers = Vec::new();
                for _ in 0..15 {
                    let lines = cart();
                    let confirmed =
                        commerce::price_cart(store.conn(), account, list, &lines, today).unwrap();
                    let placement = Placement {
                        account_id: account,
                        price_list: list,
                        lines,
                        pay_by: PayBy::NewInvoice { pay_now: false },
                        terms_accepted: true,
                        confirmed,
                        key: IdempotencyKey::new(),
                    };
                    let event = commerce::run(
                        &mut store,
                        &mut vault,
                        now,
                        CommerceCommand::PlaceOrder(Box::new(placement)),
                    )
                    .unwrap();
                    let CommerceEvent::OrderPlaced { invoice, .. } = event else {
                        panic!()
                    };
                    numbers.push(invoice.unwrap().invoice.number().unwrap().seq);
                }
                numbers
            })
        })
        .collect();
    let mut all: Vec<u32> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=30).collect::<Vec<_>>(), "no gap, no duplicate");
}

#[test]
fn finalised_invoices_never_change_drafts_wait_for_a_vat_check_and_credit_notes_stay_within() {
    // An Austrian business whose VAT ID nobody has validated yet: VAT is charged and the
    // invoice stays a draft, saying why.
    let mut desk = Desk::new(d(2026, 11, 23), "AT", "ATU13585627");
    let placement = desk.placement(cart(), PayBy::NewInvoice { pay_now: false });
    assert_eq!(placement.confirmed.totals.tax, eur(13_200));
    assert!(
        placement
            .confirmed
            .treatment
            .explanation()
            .contains("has not been validated")
    );
    let CommerceEvent::OrderPlaced { invoice, .. } = desk
        .run(CommerceCommand::PlaceOrder(Box::new(placement)))
        .unwrap()
    else {
        panic!()
    };
    let draft = invoice.unwrap();
    assert_eq!(draft.invoice.status(), InvoiceStatus::Draft);
    // Validating the VAT ID and finalising turns it into reverse charge.
    let account_id = desk.account;
    desk.run(CommerceCommand::ValidateVatId { account_id })
        .unwrap();
    let CommerceEvent::InvoiceChanged(invoice) = desk
        .run(CommerceCommand::FinaliseInvoice { id: draft.id })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        invoice.invoice.number().unwrap().to_string(),
        "INV-2026-0001"
    );
    assert!(invoice.invoice.document().treatment.is_reverse_charge());
    assert_eq!(invoice.invoice.total(), eur(66_000));

    // The schema itself refuses to change or delete a finalised invoice.
    let raw = common::raw_connection(&desk.path);
    let err = raw
        .execute("UPDATE invoices SET total_minor = 1", [])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("a finalised invoice never changes")
    );
    assert!(raw.execute("DELETE FROM invoices", []).is_err());
    assert!(
        desk.run(CommerceCommand::DeleteDraftInvoice { id: invoice.id })
            .is_err()
    );

    // PDF and CSV carry the number, both VAT IDs and the reverse charge note.
    let seller = store::price_lists::seller(desk.store.conn()).unwrap();
    let pdf = commerce::invoice_pdf(&invoice, &seller, &billing("AT", "ATU13585627")).unwrap();
    let text = pdf_text(&pdf);
    for needle in [
        "INVOICE INV-2026-0001",
        "DE136695976",
        "ATU13585627",
        "Reverse charge",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let csv = String::from_utf8(commerce::invoice_csv(&invoice).unwrap()).unwrap();
    assert!(csv.contains("INV-2026-0001,2026-11-23,total,"), "{csv}");
    assert!(csv.lines().last().unwrap().ends_with(",660.00"));

    // Credit notes: one for 100.00, then one beyond what is left is refused.
    let credit = |net| LineCredit {
        line: 0,
        net: eur(net),
    };
    let event = desk
        .run(CommerceCommand::IssueCreditNote {
            invoice_id: invoice.id,
            credits: vec![credit(10_000)],
            reason: "goodwill".into(),
            to_wallet: true,
        })
        .unwrap();
    let CommerceEvent::CreditNoteIssued(note) = event else {
        panic!()
    };
    assert_eq!(note.note.number.to_string(), "CN-2026-0001");
    assert_eq!(desk.balances().money, Some(eur(10_000)));
    let err = desk
        .run(CommerceCommand::IssueCreditNote {
            invoice_id: invoice.id,
            credits: vec![credit(18_801)],
            reason: "too much".into(),
            to_wallet: false,
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("would credit more than the line's €288.00"),
        "{err}"
    );
}

#[test]
fn quotes_freeze_convert_revise_and_expire() {
    let mut desk = Desk::new(d(2026, 11, 23), "DE", "");
    let account_id = desk.account;
    let event = desk
        .run(CommerceCommand::SaveQuote {
            account_id,
            price_list: desk.list_ref(),
            lines: cart(),
            revising: None,
        })
        .unwrap();
    let CommerceEvent::QuoteSaved(quote) = event else {
        panic!()
    };
    assert_eq!(quote.quote.number().to_string(), "Q-2026-0001");
    assert_eq!(quote.quote.status(), QuoteStatus::Open);
    assert_eq!(quote.quote.valid_until(), Some(d(2026, 12, 23)));
    // A new price list version does not touch the open quote.
    let mut dearer = desk.list.clone();
    for p in &mut dearer.prices {
        p.price = p.price.checked_mul(2).unwrap();
    }
    desk.run(CommerceCommand::SavePriceList(dearer)).unwrap();
    let key = IdempotencyKey::new();
    let converted = desk
        .run(CommerceCommand::ConvertQuote { id: quote.id, key })
        .unwrap();
    assert_eq!(
        converted,
        desk.run(CommerceCommand::ConvertQuote { id: quote.id, key })
            .unwrap()
    );
    let CommerceEvent::QuoteConverted {
        order,
        invoice,
        quote: accepted,
    } = converted
    else {
        panic!()
    };
    assert_eq!(accepted.quote.status(), QuoteStatus::Accepted);
    assert_eq!(order.order.total(), eur(78_540));
    assert_eq!(invoice.invoice.total(), eur(78_540));
    assert_eq!(invoice.invoice.status(), InvoiceStatus::Unpaid);
    // Paying the invoice from the wallet fulfils the order.
    desk.top_up(100_000);
    let CommerceEvent::InvoicePaid { order, .. } = desk
        .run(CommerceCommand::PayInvoice {
            id: invoice.id,
            with: PayWith::Wallet,
            key: IdempotencyKey::new(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(order.unwrap().order.status(), OrderStatus::Fulfilled);

    // A second quote: revising makes version 2 as a draft and cancels version 1.
    let CommerceEvent::QuoteSaved(second) = desk
        .run(CommerceCommand::SaveQuote {
            account_id,
            price_list: desk.list_ref(),
            lines: cart(),
            revising: None,
        })
        .unwrap()
    else {
        panic!()
    };
    let CommerceEvent::QuoteSaved(v2) = desk
        .run(CommerceCommand::ReviseQuote { id: second.id })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (v2.quote.number(), v2.quote.version()),
        (second.quote.number(), 2)
    );
    assert_eq!(v2.quote.status(), QuoteStatus::Draft);
    let v1 = store::quotes::get(desk.store.conn(), second.id)
        .unwrap()
        .unwrap();
    assert_eq!(v1.quote.status(), QuoteStatus::Cancelled);
    desk.run(CommerceCommand::OpenQuote { id: v2.id }).unwrap();
    // 31 days later it has expired by itself and cannot be converted.
    desk.now += 31 * 86_400;
    let CommerceEvent::QuotesExpired { count } = desk.run(CommerceCommand::ExpireQuotes).unwrap()
    else {
        panic!()
    };
    assert_eq!(count, 1);
    let err = desk
        .run(CommerceCommand::ConvertQuote {
            id: v2.id,
            key: IdempotencyKey::new(),
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "the quote expired on 2026-12-23");
    // Every confirmation is a file of its own, even several in the same second.
    let files = std::fs::read_dir(desk.path.parent().unwrap().join("outbox"))
        .unwrap()
        .count();
    let queued = store::mail_outbox::count(desk.store.conn()).unwrap();
    assert!(queued >= 5, "{queued}");
    assert_eq!(files as u64, queued);
}

#[test]
fn a_seat_increase_books_exactly_the_previewed_charge_and_a_decrease_credits_the_wallet() {
    let mut desk = Desk::new(d(2025, 7, 20), "DE", "");
    keys::generate(
        &mut desk.store,
        "Main",
        PASS,
        KdfParams::TEST_ONLY,
        true,
        desk.now,
    )
    .unwrap();
    let account_id = desk.account;
    let CommerceEvent::SeatContractCreated { contract, invoice } = desk
        .run(CommerceCommand::CreateSeatContract {
            account_id,
            name: "Design team".into(),
            term: Term::Annual,
            start: d(2025, 1, 1),
            seats: 10,
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(invoice.invoice.total(), eur(142_800));
    // The golden case: 3 seats at €120.00/year added on 20 Jul 2025 → €162.74 (+19% VAT).
    let preview = commerce::preview_seat_change(
        desk.store.conn(),
        contract.id,
        13,
        desk.today(),
        desk.today(),
    )
    .unwrap();
    assert!(matches!(
        preview.adjustment,
        SeatAdjustment::Charge { amount, remaining_days: 165, term_days: 365, .. } if amount == eur(16_274)
    ));
    let previewed = preview.document.as_ref().unwrap().totals.total;
    assert_eq!(previewed, eur(19_366));
    let change = |desk: &mut Desk, seats, preview, pass: &str, key| {
        desk.run(CommerceCommand::ChangeSeats {
            contract_id: contract.id,
            new_seats: seats,
            effective: desk.today(),
            confirmed: preview,
            passphrase: Secret::new(pass),
            key,
        })
    };
    let key = IdempotencyKey::new();
    let err = change(&mut desk, 13, preview.clone(), "wrong passphrase", key).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Passphrase: it does not unlock the active signing key 'Main'")
    );
    let CommerceEvent::SeatsChanged {
        contract: after,
        invoice,
        ..
    } = change(&mut desk, 13, preview.clone(), PASS, key).unwrap()
    else {
        panic!()
    };
    assert_eq!(after.seats, 13);
    assert_eq!(
        invoice.unwrap().invoice.total(),
        previewed,
        "booked = previewed, to the cent"
    );
    // Retrying the same confirmation books nothing more.
    change(&mut desk, 13, preview, PASS, key).unwrap();
    assert_eq!(desk.count("seat_changes"), 1);
    // Down to 11 on the same day: 2 × 12000 × 165 / 365 = 10849.32 → €108.49 of wallet credit.
    let down = commerce::preview_seat_change(
        desk.store.conn(),
        contract.id,
        11,
        desk.today(),
        desk.today(),
    )
    .unwrap();
    change(&mut desk, 11, down, PASS, IdempotencyKey::new()).unwrap();
    assert_eq!(desk.balances().money, Some(eur(10_849)));
    // A date in the past is refused at the field.
    let err = commerce::preview_seat_change(
        desk.store.conn(),
        contract.id,
        12,
        d(2025, 7, 19),
        desk.today(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the change date 2025-07-19 is in the past (today is 2025-07-20)"
    );
    // Seats go to named users and come back when a user is removed.
    desk.run(CommerceCommand::AssignSeat {
        contract_id: contract.id,
        user_name: "Grace Hopper".into(),
        email: "grace@acme.example".into(),
    })
    .unwrap();
    let err = desk
        .run(CommerceCommand::AssignSeat {
            contract_id: contract.id,
            user_name: "Grace again".into(),
            email: "GRACE@acme.example".into(),
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "User email: GRACE@acme.example already holds a seat"
    );
    let held = store::seats::assigned(desk.store.conn(), contract.id).unwrap();
    desk.run(CommerceCommand::ReleaseSeat { id: held[0].id })
        .unwrap();
    assert_eq!(
        store::seats::assigned_count(desk.store.conn(), contract.id).unwrap(),
        0
    );
}

#[test]
fn renewing_from_the_wallet_issues_a_successor_and_supersedes_the_old_license() {
    let mut desk = Desk::new(d(2026, 11, 23), "DE", "");
    let row = keys::generate(
        &mut desk.store,
        "Main",
        PASS,
        KdfParams::TEST_ONLY,
        true,
        desk.now,
    )
    .unwrap();
    let signing = keys::unlock(desk.store.conn(), &row, PASS).unwrap();
    let spec = IssueDraft {
        product: "Storage OS".into(),
        customer: "Acme Storage".into(),
        kind: LicenseKind::Pro,
        capacity_tb: "5".into(),
        days: "30".into(),
        ..IssueDraft::default()
    }
    .validate()
    .unwrap();
    let old = licensing::issue(
        &mut desk.store,
        &signing,
        &spec,
        Some(desk.account),
        "ada",
        desk.now,
    )
    .unwrap();
    let old_id = LicenseId(old.payload().license_id);
    let preview =
        commerce::preview_renewal(desk.store.conn(), old_id, Term::Annual, 1, desk.now).unwrap();
    // 1 Pro license €144.00 + 5 TB × €60.00 = €444.00, 19% → €528.36
    assert_eq!(preview.document.totals.total, eur(52_836));
    assert_eq!(
        preview.new_expires_at,
        old.payload().expires_at.unwrap() + 365 * 86_400
    );
    let renew = |desk: &mut Desk, key| {
        desk.run(CommerceCommand::Renew {
            license_id: old_id,
            term: Term::Annual,
            terms: 1,
            pay_by: PayBy::Wallet,
            confirmed_total: preview.document.totals.total,
            key,
        })
    };
    // Locked key: the renewal says so and nothing is charged.
    desk.top_up(60_000);
    let err = renew(&mut desk, IdempotencyKey::new()).unwrap_err();
    assert!(err.to_string().contains("is locked: unlock it"), "{err}");
    desk.vault
        .run(
            &mut desk.store,
            desk.now,
            KeysCommand::Unlock {
                key_id: row.key_id,
                passphrase: Secret::new(PASS),
            },
        )
        .unwrap();
    let key = IdempotencyKey::new();
    let CommerceEvent::Renewed { renewal, invoice } = renew(&mut desk, key).unwrap() else {
        panic!()
    };
    renew(&mut desk, key).unwrap();
    assert_eq!(desk.count("renewals"), 1);
    assert_eq!(invoice.unwrap().invoice.status(), InvoiceStatus::Paid);
    assert_eq!(desk.balances().money, Some(eur(60_000 - 52_836)));
    let new = store::licenses::get(desk.store.conn(), renewal.new_license_id)
        .unwrap()
        .unwrap();
    assert_eq!(new.expires_at, Some(preview.new_expires_at));
    assert_eq!(
        (new.capacity_tb, new.customer.as_str()),
        (5, "Acme Storage")
    );
    let old_row = store::licenses::get(desk.store.conn(), old_id)
        .unwrap()
        .unwrap();
    assert_eq!(old_row.status, LicenseStatus::Superseded);
    let report = store::ledger::verify(desk.store.conn(), |_| {}).unwrap();
    assert!(
        matches!(report, store::ledger::ChainReport::Intact { .. }),
        "{report:?}"
    );
}

/// The text drawn in an (uncompressed) PDF: glyph ids in the text blocks mapped back through
/// the font's ToUnicode map.
fn pdf_text(pdf: &[u8]) -> String {
    let raw = String::from_utf8_lossy(pdf);
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let tokens = |block: &str| -> Vec<String> {
        block
            .split('<')
            .skip(1)
            .filter_map(|t| t.split('>').next())
            .map(str::to_string)
            .collect()
    };
    let mut map = std::collections::HashMap::new();
    for block in raw.split("beginbfchar").skip(1) {
        let body = block.split("endbfchar").next().unwrap_or("");
        let t = tokens(body);
        for pair in t.chunks(2) {
            if let [src, dst] = pair
                && let (Some(src), Some(dst)) = (hex(src), hex(dst))
            {
                map.insert(src, char::from_u32(dst).unwrap_or('?'));
            }
        }
    }
    for block in raw.split("beginbfrange").skip(1) {
        let body = block.split("endbfrange").next().unwrap_or("");
        let t = tokens(body);
        for triple in t.chunks(3) {
            if let [lo, hi, dst] = triple
                && let (Some(lo), Some(hi), Some(dst)) = (hex(lo), hex(hi), hex(dst))
            {
                for (i, cid) in (lo..=hi).enumerate() {
                    map.insert(cid, char::from_u32(dst + i as u32).unwrap_or('?'));
                }
            }
        }
    }
    let mut text = String::new();
    for block in raw.split("BT").skip(1) {
        let body = block.split("ET").next().unwrap_or("");
        let bytes = literal_bytes(body);
        for pair in bytes.chunks(2) {
            if let [hi, lo] = pair
                && let Some(c) = map.get(&(u32::from(*hi) << 8 | u32::from(*lo)))
            {
                text.push(*c);
            }
        }
        text.push('\n');
    }
    text
}

/// The bytes of the literal strings `(…)` in a content-stream fragment.
fn literal_bytes(body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    let mut depth = 0;
    while let Some(c) = chars.next() {
        match (c, depth) {
            ('(', 0) => depth = 1,
            (')', 1) => depth = 0,
            ('\\', 1) => match chars.next() {
                Some(d @ '0'..='7') => {
                    let mut value = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek() {
                            Some(n @ '0'..='7') => {
                                value = value * 8 + n.to_digit(8).unwrap_or(0);
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    out.push(value as u8);
                }
                Some('n') => out.push(b'\n'),
                Some('r') => out.push(b'\r'),
                Some('t') => out.push(b'\t'),
                Some('b') => out.push(8),
                Some('f') => out.push(12),
                Some(other) => out.push(other as u8),
                None => {}
            },
            (c, 1) => out.push(c as u8),
            _ => {}
        }
    }
    out
}
