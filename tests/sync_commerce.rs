//! Commerce across two desks and a real portal on 127.0.0.1: price lists, quotes, orders,
//! invoices (draft, final, paid), credit notes, seat contracts with their users, arrays and
//! referrals made on one desk reach the other; each desk numbers documents in its own series,
//! so numbers stay unique and gapless per series; a number two desks took in one series before
//! they first synced is kept for review on both, never renumbered; a change whose body is
//! about another entity than its envelope names is refused; and changes an older build kept
//! waiting are applied by a build that applies them.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::portal::TestPortal as Portal;
use license_desk::commerce::catalog::PriceList;
use license_desk::commerce::documents::{InvoiceStatus, LineCredit};
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::terms::Term;
use license_desk::domain::ids::{AccountId, IdempotencyKey};
use license_desk::domain::referral::{FriendDraft, ReferralStatus};
use license_desk::services::arrays::{self, ArraysCommand, ArraysEvent};
use license_desk::services::commerce::{
    self, CommerceCommand, CommerceEvent, PayBy, PayWith, Placement,
};
use license_desk::services::keys::KeyVault;
use license_desk::services::referrals::{self, ReferralsCommand, ReferralsEvent};
use license_desk::store::invoices::InvoiceRecord;
use license_desk::store::sync::InboxState;
use license_desk::store::{self, Store};
use license_desk::sync::{self, RoundReport};

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

struct Desk {
    _dir: tempfile::TempDir,
    store: Store,
    vault: KeyVault,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&license_desk::paths::database_path(dir.path())).unwrap();
        let vault = KeyVault::new(
            keyvault::KdfParams::TEST_ONLY,
            10,
            std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(NOW)),
        );
        Desk {
            _dir: dir,
            store,
            vault,
        }
    }

    fn sync(&mut self, portal: &Portal, now: i64) -> RoundReport {
        sync::round(&mut self.store, &portal.client(), &portal.server.url(), now).unwrap()
    }

    fn run(&mut self, command: CommerceCommand) -> CommerceEvent {
        commerce::run(&mut self.store, &mut self.vault, NOW, command).unwrap()
    }

    /// The newest version of the price list this desk holds.
    fn price_list(&self) -> PriceList {
        store::price_lists::all(self.store.conn())
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    }

    /// Places an order for two Pro licenses with an invoice to pay later.
    fn order(&mut self, account: AccountId) -> (String, InvoiceRecord) {
        let list = self.price_list().reference();
        let lines = vec![LineSpec::Catalogue {
            product: license_desk::commerce::catalog::Product::ProLicense,
            term: Term::Annual,
            quantity: 2,
            terms: 1,
        }];
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let confirmed =
            commerce::price_cart(self.store.conn(), account, list, &lines, today).unwrap();
        let placement = Placement {
            account_id: account,
            price_list: list,
            lines,
            pay_by: PayBy::NewInvoice { pay_now: false },
            terms_accepted: true,
            confirmed,
            key: IdempotencyKey::new(),
        };
        let CommerceEvent::OrderPlaced { order, invoice, .. } =
            self.run(CommerceCommand::PlaceOrder(Box::new(placement)))
        else {
            panic!("not placed")
        };
        (order.order.number().to_string(), invoice.unwrap())
    }

    fn invoice(&self, number: &str) -> Option<InvoiceRecord> {
        let id: Option<license_desk::domain::ids::InvoiceId> = self
            .store
            .conn()
            .query_row("SELECT id FROM invoices WHERE number = ?1", [number], |r| {
                r.get(0)
            })
            .ok();
        id.and_then(|id| store::invoices::get(self.store.conn(), id).unwrap())
    }

    fn numbers(&self, table: &str) -> Vec<String> {
        let mut stmt = self
            .store
            .conn()
            .prepare(&format!(
                "SELECT number FROM {table} WHERE number IS NOT NULL ORDER BY number"
            ))
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn inbox(&self) -> Vec<store::sync::InboxRow> {
        store::sync::open_items(self.store.conn()).unwrap()
    }
}

#[test]
fn documents_reach_the_other_desk_each_numbered_in_its_own_series() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = common::shop::customer(&mut a.store, &mut a.vault, NOW, 100_000);
    let (a_order, a_invoice) = a.order(acme);
    assert_eq!(a_order, "ORD-2026-0001");
    let CommerceEvent::QuoteSaved(quote) = a.run(CommerceCommand::SaveQuote {
        account_id: acme,
        price_list: a.price_list().reference(),
        lines: vec![LineSpec::Catalogue {
            product: license_desk::commerce::catalog::Product::Support,
            term: Term::Annual,
            quantity: 1,
            terms: 1,
        }],
        revising: None,
    }) else {
        panic!()
    };
    a.sync(&portal, NOW + 1);

    // B opens its shop with the seller only, and sells from the price list A made.
    let first = b.sync(&portal, NOW + 2);
    assert_eq!(first.refused + first.pull.waiting, 0, "{first:?}");
    assert_eq!(b.price_list(), a.price_list());
    assert_eq!(
        store::quotes::get(b.store.conn(), quote.id)
            .unwrap()
            .unwrap(),
        quote
    );
    let on_b = b.invoice("INV-2026-0001").unwrap();
    assert_eq!(on_b, a_invoice, "the final invoice arrived whole");
    assert_eq!(
        store::desk::series(b.store.conn()).unwrap().as_str(),
        "B",
        "the second desk numbers in a series of its own"
    );
    common::shop::run(
        &mut b.store,
        &mut b.vault,
        NOW,
        CommerceCommand::SaveSeller(store::price_lists::seller(a.store.conn()).unwrap()),
    );
    let (b_order, b_invoice) = b.order(acme);
    assert_eq!(b_order, "ORD-B-2026-0001");
    assert_eq!(
        b_invoice.invoice.number().unwrap().to_string(),
        "INV-B-2026-0001"
    );
    // A pays its invoice from the wallet and credits part of it.
    a.run(CommerceCommand::PayInvoice {
        id: a_invoice.id,
        with: PayWith::Wallet,
        key: IdempotencyKey::new(),
    });
    let CommerceEvent::CreditNoteIssued(note) = a.run(CommerceCommand::IssueCreditNote {
        invoice_id: a_invoice.id,
        credits: vec![LineCredit {
            line: 0,
            net: common::shop::eur(1_000),
        }],
        reason: "goodwill".into(),
        to_wallet: true,
    }) else {
        panic!()
    };
    b.sync(&portal, NOW + 3);
    let round = a.sync(&portal, NOW + 4);
    assert!(!round.needs_review(), "{round:?}");
    b.sync(&portal, NOW + 5);

    for desk in [&a, &b] {
        assert_eq!(
            desk.numbers("invoices"),
            ["INV-2026-0001", "INV-B-2026-0001"]
        );
        assert_eq!(desk.numbers("orders"), ["ORD-2026-0001", "ORD-B-2026-0001"]);
        assert_eq!(desk.numbers("credit_notes"), ["CN-2026-0001"]);
        let paid = desk.invoice("INV-2026-0001").unwrap();
        assert_eq!(paid.invoice.status(), InvoiceStatus::Paid);
        assert_eq!(
            store::invoices::credit_note(desk.store.conn(), note.id)
                .unwrap()
                .unwrap(),
            note
        );
        assert_eq!(
            store::wallet::balances(desk.store.conn(), acme).unwrap(),
            store::wallet::balances(a.store.conn(), acme).unwrap(),
            "the wallet agrees"
        );
    }
    // Pulled documents never move a desk's own counters: each goes on gaplessly.
    let (next_a, _) = a.order(acme);
    let (next_b, _) = b.order(acme);
    assert_eq!(
        (next_a.as_str(), next_b.as_str()),
        ("ORD-2026-0002", "ORD-B-2026-0002")
    );
}

#[test]
fn a_number_two_desks_took_before_they_first_synced_is_kept_for_review_on_both() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = common::shop::customer(&mut a.store, &mut a.vault, NOW, 0);
    let beta = license_desk::services::accounts::create(&mut b.store, "Beta Systems", NOW)
        .unwrap()
        .id;
    common::shop::open_shop(&mut b.store, &mut b.vault, NOW);
    common::shop::billing_and_card(&mut b.store, beta, NOW);
    let (_, a_invoice) = a.order(acme);
    let (_, b_invoice) = b.order(beta);
    for invoice in [&a_invoice, &b_invoice] {
        assert_eq!(
            invoice.invoice.number().unwrap().to_string(),
            "INV-2026-0001"
        );
    }
    a.sync(&portal, NOW + 1);
    let b_round = b.sync(&portal, NOW + 2);
    let a_round = a.sync(&portal, NOW + 3);
    for (desk, round, theirs) in [(&a, a_round, &b_invoice), (&b, b_round, &a_invoice)] {
        assert!(round.needs_review(), "{round:?}");
        let refused: Vec<_> = desk
            .inbox()
            .into_iter()
            .filter(|i| i.state == InboxState::Refused)
            .collect();
        let invoice = refused
            .iter()
            .find(|i| i.change.entity == "invoice")
            .expect("the other desk's invoice waits for review");
        assert_eq!(invoice.change.entity_id, theirs.id.to_string());
        assert!(
            invoice
                .note
                .contains("INV-2026-0001 is another invoice's number here"),
            "{}",
            invoice.note
        );
        // This desk's own invoice stands; the other's order (ORD-2026-0001 on both) waits too.
        assert_eq!(desk.numbers("invoices"), ["INV-2026-0001"]);
        assert_eq!(desk.numbers("orders"), ["ORD-2026-0001"]);
        assert!(refused.iter().any(|i| {
            i.change.entity == "order"
                && i.note
                    .contains("ORD-2026-0001 is another order's number here")
        }));
    }
    // From now on B numbers in its own series.
    let (_, next) = b.order(beta);
    assert_eq!(
        next.invoice.number().unwrap().to_string(),
        "INV-B-2026-0001"
    );
}

#[test]
fn seats_arrays_and_referrals_reach_the_other_desk() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = common::shop::customer(&mut a.store, &mut a.vault, NOW, 0);
    let CommerceEvent::SeatContractCreated { contract, .. } =
        a.run(CommerceCommand::CreateSeatContract {
            account_id: acme,
            name: "Design team".into(),
            term: Term::Annual,
            start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            seats: 5,
        })
    else {
        panic!()
    };
    for (name, email) in [
        ("Grace Hopper", "grace@acme.example"),
        ("Alan Turing", "alan@acme.example"),
    ] {
        a.run(CommerceCommand::AssignSeat {
            contract_id: contract.id,
            user_name: name.into(),
            email: email.into(),
        });
    }
    let ArraysEvent::Created(array) = arrays::run(
        &mut a.store,
        &mut a.vault,
        NOW,
        ArraysCommand::Create {
            account_id: acme,
            name: "Rack 7".into(),
        },
    )
    .unwrap() else {
        panic!()
    };
    let ReferralsEvent::Referred {
        referrals: friends, ..
    } = referrals::run(
        &mut a.store,
        NOW,
        ReferralsCommand::Refer {
            account_id: acme,
            friends: vec![FriendDraft {
                name: "Beta Systems".into(),
                email: "it@beta.example".into(),
            }],
        },
    )
    .unwrap()
    else {
        panic!()
    };
    referrals::run(
        &mut a.store,
        NOW,
        ReferralsCommand::SetStatus {
            id: friends[0].id,
            status: ReferralStatus::Customer,
        },
    )
    .unwrap();
    a.sync(&portal, NOW + 1);
    let round = b.sync(&portal, NOW + 2);
    assert_eq!(round.refused + round.conflicts, 0, "{:?}", b.inbox());

    let contract_b = store::seats::get_contract(b.store.conn(), contract.id)
        .unwrap()
        .unwrap();
    assert_eq!(contract_b, contract);
    assert_eq!(
        store::seats::assigned_count(b.store.conn(), contract.id).unwrap(),
        2
    );
    let array_b = store::arrays::get(b.store.conn(), array.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        (array_b.name.as_str(), array_b.account_id),
        ("Rack 7", acme)
    );
    let friend = store::referrals::get(b.store.conn(), friends[0].id)
        .unwrap()
        .unwrap();
    assert_eq!(friend.referral.status, ReferralStatus::Customer);
    assert!(friend.reward.is_some(), "the reward arrived as a fact");
    assert_eq!(
        store::wallet::balances(b.store.conn(), acme).unwrap(),
        store::wallet::balances(a.store.conn(), acme).unwrap(),
        "the reward was credited once"
    );

    // B frees a seat and renames the array; A sees both. Nothing came back as B's own change
    // of what it pulled: only its two edits went out.
    let held = store::seats::assigned(b.store.conn(), contract.id).unwrap();
    common::shop::run(
        &mut b.store,
        &mut b.vault,
        NOW,
        CommerceCommand::ReleaseSeat { id: held[0].id },
    );
    let edit = license_desk::domain::array::ArrayEdit {
        name: "Rack 8".into(),
        product: array_b.product.clone(),
        ..Default::default()
    };
    arrays::run(
        &mut b.store,
        &mut b.vault,
        NOW,
        ArraysCommand::Save {
            id: array.id,
            edit: Box::new(edit),
        },
    )
    .unwrap();
    let pushed = b.sync(&portal, NOW + 3);
    assert_eq!(pushed.push.sent, 2, "{pushed:?}");
    a.sync(&portal, NOW + 4);
    assert_eq!(
        store::seats::assigned_count(a.store.conn(), contract.id).unwrap(),
        1
    );
    assert_eq!(
        store::arrays::get(a.store.conn(), array.id)
            .unwrap()
            .unwrap()
            .name,
        "Rack 8"
    );
}

#[test]
fn a_change_about_another_entity_than_its_envelope_names_is_refused() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = common::shop::bare_customer(&mut a.store, NOW);
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    // A forged rename: the envelope names Acme, the body another account.
    let other = AccountId(uuid::Uuid::now_v7());
    let body = serde_json::json!({
        "id": other, "name": "Forged", "wallet_id": 100_500, "wallet_id_final": true,
        "created_at": NOW, "updated_at": NOW
    });
    let envelope = portal::protocol::Envelope {
        change_id: uuid::Uuid::now_v7(),
        desk_id: uuid::Uuid::now_v7(),
        hlc: format!("{:012x}-00000000", (NOW + 100) * 1000)
            .parse()
            .unwrap(),
        entity: "account".into(),
        entity_id: acme.to_string(),
        op: portal::protocol::Op::Upsert,
        version: 1,
        body: serde_json::value::to_raw_value(&body).unwrap(),
        base: None,
    };
    let answer = portal.client().push(&[envelope]).unwrap();
    assert_eq!(answer.accepted, 1);
    let round = b.sync(&portal, NOW + 3);
    assert_eq!(round.refused, 1, "{round:?}");
    let refused = b
        .inbox()
        .into_iter()
        .find(|i| i.state == InboxState::Refused)
        .unwrap();
    assert!(refused.note.contains("its body is for"), "{}", refused.note);
    assert_eq!(
        store::accounts::get(b.store.conn(), acme)
            .unwrap()
            .unwrap()
            .name,
        "Acme Storage"
    );
    assert!(
        store::accounts::get(b.store.conn(), other)
            .unwrap()
            .is_none()
    );
}

#[test]
fn changes_an_older_build_kept_waiting_are_applied_by_one_that_applies_them() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = common::shop::customer(&mut a.store, &mut a.vault, NOW, 0);
    let CommerceEvent::QuoteSaved(quote) = a.run(CommerceCommand::SaveQuote {
        account_id: acme,
        price_list: a.price_list().reference(),
        lines: vec![LineSpec::Catalogue {
            product: license_desk::commerce::catalog::Product::Support,
            term: Term::Annual,
            quantity: 1,
            terms: 1,
        }],
        revising: None,
    }) else {
        panic!()
    };
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    // As a build that did not apply quotes would have left B: the quote kept waiting, whole
    // (an applied upsert keeps no inbox row, its version is its receipt: the body comes from
    // the portal's feed), and not in its tables.
    let feed = portal.client().pull(None, 1000).unwrap();
    let pulled = feed.changes.iter().find(|c| c.entity == "quote").unwrap();
    let kept_waiting = b
        .store
        .conn()
        .execute(
            "INSERT INTO sync_inbox (change_id, desk_id, hlc, entity, entity_id, op, version,
                                     body, received_at, state, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'waiting',
                     'this desk does not apply this kind of change yet')",
            rusqlite::params![
                pulled.change_id.as_bytes().to_vec(),
                pulled.desk_id.as_bytes().to_vec(),
                pulled.hlc.to_string(),
                pulled.entity,
                pulled.entity_id,
                pulled.op.as_str(),
                pulled.version,
                pulled.body.get(),
                NOW + 2
            ],
        )
        .unwrap();
    assert_eq!(kept_waiting, 1);
    b.store
        .conn()
        .execute_batch(
            "DELETE FROM quotes;
             DELETE FROM sync_versions WHERE entity = 'quote';
             UPDATE desk SET applies_version = 1;",
        )
        .unwrap();
    let round = b.sync(&portal, NOW + 3);
    assert_eq!(
        (round.pull.applied, round.pull.waiting),
        (1, 0),
        "{round:?}"
    );
    assert_eq!(
        store::quotes::get(b.store.conn(), quote.id)
            .unwrap()
            .unwrap(),
        quote
    );
    assert!(b.inbox().is_empty(), "{:?}", b.inbox());
    // Taken once: the next round has nothing to take again.
    let again = b.sync(&portal, NOW + 4);
    assert!(again.nothing_to_do(), "{again:?}");
}
