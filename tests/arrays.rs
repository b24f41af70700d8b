//! Arrays through the service the worker and the UI use: a Pro license and capacity taken from
//! the wallet and given back, the serial issued through the license core (ledger intact),
//! Eval once per cluster, names unique per account, serials replaced or withdrawn when the
//! array changes, the serial mailed to the outbox, and the "Ordered" state the license list
//! shows.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::commerce::catalog::Product;
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::terms::Term;
use license_desk::domain::array::{ArrayEdit, SerialState};
use license_desk::domain::ids::{AccountId, ArrayId, IdempotencyKey};
use license_desk::domain::license_status::LicenseStatus;
use license_desk::services::accounts;
use license_desk::services::arrays::{self, ArraysCommand, ArraysError, ArraysEvent};
use license_desk::services::commerce::{self, CommerceCommand, PayBy, Placement};
use license_desk::services::keys::{self, KeyVault, KeysCommand, Secret};
use license_desk::store::ledger::ChainReport;
use license_desk::store::{self, Store};
use licensekey::{LicenseKind, LicenseRequest, Uuid};
use std::sync::Arc;

const PASS: &str = "a long enough passphrase";
const CLUSTER: &str = "123e4567-e89b-12d3-a456-426614174000";
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

struct Desk {
    dir: tempfile::TempDir,
    store: Store,
    vault: KeyVault,
    account: AccountId,
}

impl Desk {
    /// A desk with a seller, the starter price list, an account with billing details and
    /// €5,000 in its wallet, and an unlocked signing key.
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
        let mut vault = KeyVault::new(KdfParams::TEST_ONLY, 10, Arc::new(FixedClock::at_unix(NOW)));
        let account = common::shop::customer(&mut store, &mut vault, NOW, 500_000);
        let key =
            keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
        vault
            .run(
                &mut store,
                NOW,
                KeysCommand::Unlock {
                    key_id: key.key_id,
                    passphrase: Secret::new(PASS),
                },
            )
            .unwrap();
        Desk {
            dir,
            store,
            vault,
            account,
        }
    }

    /// Buys `pro` Pro licenses and `tb` TB for `term`, paid from the wallet.
    fn buy(&mut self, pro: u32, tb: u32, term: Term) {
        let list = store::price_lists::all(self.store.conn()).unwrap()[0].reference();
        let mut lines = Vec::new();
        for (product, quantity) in [(Product::ProLicense, pro), (Product::CapacityTb, tb)] {
            if quantity > 0 {
                lines.push(LineSpec::Catalogue {
                    product,
                    term,
                    quantity,
                    terms: 1,
                });
            }
        }
        let today = license_desk::domain::time::utc_date(NOW).unwrap();
        let confirmed =
            commerce::price_cart(self.store.conn(), self.account, list, &lines, today).unwrap();
        commerce::run(
            &mut self.store,
            &mut self.vault,
            NOW,
            CommerceCommand::PlaceOrder(Box::new(Placement {
                account_id: self.account,
                price_list: list,
                lines,
                pay_by: PayBy::Wallet,
                terms_accepted: true,
                confirmed,
                key: IdempotencyKey::new(),
            })),
        )
        .unwrap();
    }

    fn run(&mut self, command: ArraysCommand) -> Result<ArraysEvent, ArraysError> {
        arrays::run(&mut self.store, &mut self.vault, NOW, command)
    }

    fn create(&mut self, name: &str) -> ArrayId {
        let account_id = self.account;
        match self
            .run(ArraysCommand::Create {
                account_id,
                name: name.into(),
            })
            .unwrap()
        {
            ArraysEvent::Created(array) => array.id,
            other => panic!("{other:?}"),
        }
    }

    fn save(&mut self, id: ArrayId, edit: ArrayEdit) -> Result<ArraysEvent, ArraysError> {
        self.run(ArraysCommand::Save {
            id,
            edit: Box::new(edit),
        })
    }

    fn generate(&mut self, id: ArrayId) -> Result<ArraysEvent, ArraysError> {
        self.run(ArraysCommand::Generate { id })
    }

    /// (in use, available) of a product in the wallet.
    fn units(&self, product: Product) -> (u64, u64) {
        let b = store::wallet::balances(self.store.conn(), self.account).unwrap();
        let c = b.entitlements.get(&product).copied().unwrap_or_default();
        (c.in_use(), c.available())
    }

    fn array(&self, id: ArrayId) -> store::arrays::ArrayRow {
        store::arrays::get(self.store.conn(), id).unwrap().unwrap()
    }

    fn ledger_intact(&self) {
        let report = store::ledger::verify(self.store.conn(), |_| {}).unwrap();
        assert!(matches!(report, ChainReport::Intact { .. }), "{report:?}");
    }

    fn outbox(&self) -> Vec<String> {
        store::outbox::pending(self.store.conn(), 0, 10_000)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}:{}", r.entity, r.op))
            .collect()
    }
}

fn pro(name: &str, tb: u32) -> ArrayEdit {
    ArrayEdit {
        name: name.into(),
        cluster: CLUSTER.into(),
        kind: Some(LicenseKind::Pro),
        capacity_tb: tb,
        ..ArrayEdit::default()
    }
}

#[test]
fn a_pro_array_takes_from_the_wallet_and_its_serial_goes_through_the_license_core() {
    let mut desk = Desk::new();
    desk.buy(2, 10, Term::Annual);
    let id = desk.create("Rack A");
    assert_eq!(
        store::arrays::ordered_count(desk.store.conn(), None).unwrap(),
        0
    );
    let outbox_before = desk.outbox().len();
    let ArraysEvent::Saved { array, withdrawn } = desk.save(id, pro("Rack A", 5)).unwrap() else {
        panic!()
    };
    assert_eq!(withdrawn, None);
    assert_eq!(array.pro_days, Some(365), "the annual term bought");
    assert_eq!(desk.units(Product::ProLicense), (1, 1));
    assert_eq!(desk.units(Product::CapacityTb), (5, 5));
    // Pro taken, no serial yet: the license list's "Ordered".
    assert!(desk.array(id).is_ordered());
    let ordered = store::arrays::ordered_page(desk.store.conn(), None, None, 10).unwrap();
    assert_eq!(ordered.len(), 1);
    assert_eq!(
        (
            ordered[0].array_name.as_str(),
            ordered[0].account_name.as_str()
        ),
        ("Rack A", "Acme Storage")
    );
    assert_eq!(
        arrays::serial_state(&desk.array(id), None, NOW),
        SerialState::Ordered
    );
    // One transaction: the array row and two wallet entries, each with its outbox change.
    let added: Vec<String> = desk.outbox()[outbox_before..].to_vec();
    assert_eq!(
        added,
        ["wallet_entry:insert", "wallet_entry:insert", "array:upsert"]
    );

    let ArraysEvent::Generated {
        array,
        issued,
        replaced,
    } = desk.generate(id).unwrap()
    else {
        panic!()
    };
    assert_eq!(replaced, None);
    assert_eq!(issued.kind, "Pro");
    assert_eq!(issued.expires_at, Some(NOW + 365 * 86_400));
    assert!(issued.serial.starts_with("LD"));
    let license = store::licenses::get(desk.store.conn(), issued.license_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        license.account_id,
        Some(desk.account),
        "linked to the wallet"
    );
    assert_eq!(license.cluster, Some(Uuid::parse_str(CLUSTER).unwrap()));
    assert_eq!(
        (license.capacity_tb, license.customer.as_str()),
        (5, "Acme Storage")
    );
    assert_eq!(array.license_id, Some(issued.license_id));
    assert_eq!(
        store::arrays::ordered_count(desk.store.conn(), None).unwrap(),
        0
    );
    let standing = arrays::standing_license(desk.store.conn(), &array).unwrap();
    assert_eq!(
        arrays::serial_state(&array, standing.as_ref(), NOW),
        SerialState::Active
    );
    desk.ledger_intact();
    for expected in ["license:insert", "ledger_entry:insert"] {
        assert!(desk.outbox().iter().any(|e| e == expected), "{expected}");
    }
    // It verifies on the cluster with nothing but the public key.
    let ring = keys::keyring(desk.store.conn()).unwrap();
    let ctx = licensekey::VerifyContext::for_product("Storage OS", NOW + 60)
        .with_cluster(Uuid::parse_str(CLUSTER).unwrap());
    assert!(licensekey::verify(&issued.serial, &ring, &ctx).is_ok());
}

#[test]
fn pro_needs_a_pro_license_in_the_wallet_and_nothing_is_written_without_one() {
    let mut desk = Desk::new();
    let id = desk.create("Rack A");
    let before = desk.outbox().len();
    let err = desk.save(id, pro("Rack A", 0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kind: the wallet of 'Acme Storage' has no Pro license available: buy one under Purchase first"
    );
    desk.buy(1, 2, Term::Monthly);
    let err = desk.save(id, pro("Rack A", 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Capacity (TB): the wallet of 'Acme Storage' has 2 TB available; 3 more requested: buy capacity under Purchase"
    );
    assert_eq!(desk.units(Product::ProLicense), (0, 1), "nothing was taken");
    desk.save(id, pro("Rack A", 2)).unwrap();
    // A monthly purchase: the serial runs one month (23 Nov to 23 Dec).
    assert_eq!(desk.array(id).pro_days, Some(30));
    assert!(before < desk.outbox().len());
}

#[test]
fn names_are_unique_per_account_and_clusters_are_checked() {
    let mut desk = Desk::new();
    desk.create("Rack A");
    let account_id = desk.account;
    let err = desk
        .run(ArraysCommand::Create {
            account_id,
            name: "  rack   a ".into(),
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Array name: 'rack a' is already taken by another array of this account"
    );
    let other = accounts::create(&mut desk.store, "Globex", NOW).unwrap().id;
    desk.run(ArraysCommand::Create {
        account_id: other,
        name: "Rack A".into(),
    })
    .unwrap();
    let id = desk.create("Rack B");
    let err = desk
        .save(
            id,
            ArrayEdit {
                cluster: "123e4567-e89b-12d3-a456".into(),
                ..pro("Rack B", 0)
            },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Cluster UUID: '123e4567-e89b-12d3-a456' is not a cluster UUID"),
        "{err}"
    );
    let err = desk
        .save(
            id,
            ArrayEdit {
                name: "RACK A".into(),
                ..ArrayEdit::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, ArraysError::NameTaken(_)), "{err}");
}

#[test]
fn an_eval_is_given_once_per_cluster() {
    let mut desk = Desk::new();
    let first = desk.create("Try-out");
    let eval = |name: &str| ArrayEdit {
        name: name.into(),
        cluster: CLUSTER.into(),
        kind: Some(LicenseKind::Eval),
        ..ArrayEdit::default()
    };
    desk.save(first, eval("Try-out")).unwrap();
    let ArraysEvent::Generated { issued, .. } = desk.generate(first).unwrap() else {
        panic!()
    };
    assert_eq!(issued.expires_at, Some(NOW + 30 * 86_400));
    // Saving the same array again (a rename) keeps its Eval.
    desk.save(first, eval("Try-out 2")).unwrap();
    let second = desk.create("Again");
    let err = desk.save(second, eval("Again")).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "Kind: cluster {CLUSTER} already had its Eval license (issued 2026-11-23T12:00:00Z)"
        )),
        "{err}"
    );
    // Generating it again would extend the trial: refused too.
    assert!(matches!(
        desk.generate(first).unwrap_err(),
        ArraysError::EvalUsed { .. }
    ));
    // Dev is free and always allowed.
    desk.save(
        second,
        ArrayEdit {
            kind: Some(LicenseKind::Dev),
            ..eval("Again")
        },
    )
    .unwrap();
    let ArraysEvent::Generated { issued, .. } = desk.generate(second).unwrap() else {
        panic!()
    };
    assert_eq!(issued.kind, "Dev");
    assert_eq!(issued.expires_at, Some(NOW + 365 * 86_400));
    desk.ledger_intact();
}

#[test]
fn more_capacity_replaces_the_serial_keeping_its_term_and_less_withdraws_it() {
    let mut desk = Desk::new();
    desk.buy(1, 10, Term::Triennial);
    let id = desk.create("Rack A");
    desk.save(id, pro("Rack A", 4)).unwrap();
    assert_eq!(
        desk.array(id).pro_days,
        Some(1096),
        "three years from 2026-11-23"
    );
    let ArraysEvent::Generated { issued: first, .. } = desk.generate(id).unwrap() else {
        panic!()
    };
    // More TB: the serial stays until a new one replaces it.
    let ArraysEvent::Saved { array, withdrawn } = desk.save(id, pro("Rack A", 6)).unwrap() else {
        panic!()
    };
    assert_eq!(withdrawn, None);
    let standing = arrays::standing_license(desk.store.conn(), &array).unwrap();
    assert_eq!(
        arrays::serial_state(&array, standing.as_ref(), NOW),
        SerialState::OutOfDate
    );
    assert_eq!(desk.units(Product::CapacityTb), (6, 4));
    let later = NOW + 86_400;
    let ArraysEvent::Generated {
        issued: second,
        replaced,
        ..
    } = arrays::run(
        &mut desk.store,
        &mut desk.vault,
        later,
        ArraysCommand::Generate { id },
    )
    .unwrap()
    else {
        panic!()
    };
    assert_eq!(replaced, Some(first.license_id));
    assert_eq!(
        second.expires_at, first.expires_at,
        "the running term is kept"
    );
    let old = store::licenses::get(desk.store.conn(), first.license_id)
        .unwrap()
        .unwrap();
    assert_eq!(old.status, LicenseStatus::Superseded);

    // Fewer TB go back to the wallet only with the serial that grants them withdrawn.
    let ArraysEvent::Saved { withdrawn, array } = desk.save(id, pro("Rack A", 1)).unwrap() else {
        panic!()
    };
    assert_eq!(withdrawn, Some(second.license_id));
    assert_eq!(array.license_id, None);
    assert!(array.is_ordered());
    assert_eq!(desk.units(Product::CapacityTb), (1, 9));
    let gone = store::licenses::get(desk.store.conn(), second.license_id)
        .unwrap()
        .unwrap();
    assert_eq!(gone.status, LicenseStatus::Deleted);
    assert!(
        store::licenses::listed_as_revoked(desk.store.conn())
            .unwrap()
            .contains(&second.license_id),
        "on the revocation list"
    );
    desk.ledger_intact();
}

#[test]
fn withdrawing_a_serial_needs_the_unlocked_key_and_deleting_gives_everything_back() {
    let mut desk = Desk::new();
    desk.buy(1, 3, Term::Annual);
    let id = desk.create("Rack A");
    desk.save(id, pro("Rack A", 3)).unwrap();
    let ArraysEvent::Generated { issued, .. } = desk.generate(id).unwrap() else {
        panic!()
    };
    desk.vault
        .run(&mut desk.store, NOW, KeysCommand::Lock)
        .unwrap();
    let err = desk.run(ArraysCommand::Delete { id }).unwrap_err();
    assert!(
        err.to_string()
            .contains("the current serial must be withdrawn first")
            && err.to_string().contains("is locked"),
        "{err}"
    );
    assert_eq!(
        desk.units(Product::ProLicense),
        (1, 0),
        "nothing given back"
    );
    // Renaming does not touch the serial, so it needs no key.
    desk.save(id, pro("Rack One", 3)).unwrap();
    let key = store::keys::list(desk.store.conn()).unwrap()[0].key_id;
    desk.vault
        .run(
            &mut desk.store,
            NOW,
            KeysCommand::Unlock {
                key_id: key,
                passphrase: Secret::new(PASS),
            },
        )
        .unwrap();
    let ArraysEvent::Deleted { withdrawn, .. } = desk.run(ArraysCommand::Delete { id }).unwrap()
    else {
        panic!()
    };
    assert_eq!(withdrawn, Some(issued.license_id));
    assert_eq!(desk.units(Product::ProLicense), (0, 1));
    assert_eq!(desk.units(Product::CapacityTb), (0, 3));
    assert!(store::arrays::get(desk.store.conn(), id).unwrap().is_none());
    assert!(desk.outbox().iter().any(|e| e == "array:delete"));
    desk.ledger_intact();
}

#[test]
fn a_request_file_binds_the_serial_to_the_machine_and_the_serial_is_mailed() {
    let mut desk = Desk::new();
    desk.buy(1, 0, Term::Annual);
    let cluster = Uuid::parse_str(CLUSTER).unwrap();
    let request = LicenseRequest::for_this_machine(Some(cluster), NOW).unwrap();
    let path = desk.dir.path().join("rack.ldreq");
    std::fs::write(&path, request.to_file().unwrap()).unwrap();
    let ArraysEvent::RequestRead { request, .. } = desk
        .run(ArraysCommand::ReadRequest { path: path.clone() })
        .unwrap()
    else {
        panic!()
    };
    let id = desk.create("Rack A");
    desk.save(
        id,
        ArrayEdit {
            cluster: request.cluster.unwrap().to_string(),
            request: Some(request),
            ..pro("Rack A", 0)
        },
    )
    .unwrap();
    let ArraysEvent::Generated { issued, .. } = desk.generate(id).unwrap() else {
        panic!()
    };
    let signed = store::licenses::get(desk.store.conn(), issued.license_id)
        .unwrap()
        .unwrap()
        .signed()
        .unwrap();
    assert!(
        signed.payload().binding.machine.is_some(),
        "bound to the machine"
    );

    let ArraysEvent::SerialSent { to, subject, .. } =
        desk.run(ArraysCommand::SendSerial { id }).unwrap()
    else {
        panic!()
    };
    assert_eq!(to, "ada@acme.example");
    assert_eq!(
        subject,
        "Pro license for array 'Rack A' (valid until 2027-11-23T12:00:00Z)"
    );
    let mails = store::mail_outbox::page(desk.store.conn(), None, 0, 10).unwrap();
    assert_eq!(mails[0].subject, subject);
    let eml =
        std::fs::read_to_string(desk.dir.path().join("outbox").join(&mails[0].file_name)).unwrap();
    assert!(eml.contains(&issued.serial), "the serial is in the mail");
    assert!(
        eml.contains("-----BEGIN LICENSE DESK LICENSE-----"),
        "{eml}"
    );
    // A broken request file is refused with its name.
    std::fs::write(&path, "not a request").unwrap();
    let err = desk.run(ArraysCommand::ReadRequest { path }).unwrap_err();
    assert!(err.to_string().contains("rack.ldreq"), "{err}");
}
