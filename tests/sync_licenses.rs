//! Licensing across two desks and a real portal on 127.0.0.1: licenses one desk issues reach
//! the other with the issuer's public key and ledger, verify there offline with nothing but
//! that key, follow the issuer's later changes, and stay the issuer's to change; each desk's
//! ledger still verifies, accounting for its own licenses only; forged licenses, keys and
//! ledger entries are refused and apply nothing.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use common::portal::TestPortal as Portal;
use keyvault::KdfParams;
use license_desk::domain::ids::{AccountId, LicenseId};
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_status::{LicenseStatus, StatusChange};
use license_desk::services::NoProgress;
use license_desk::services::bulk::{self, BulkItem};
use license_desk::services::keys;
use license_desk::services::licensing;
use license_desk::store::ledger::{self, ChainReport};
use license_desk::store::sync::InboxState;
use license_desk::store::{self, Store};
use license_desk::sync::{self, RoundReport};
use licensekey::{KeyRing, LicenseKind, SignedLicense, SigningKey, VerifyContext};
use portal::protocol::{Envelope, Op};

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;
const PASS: &str = "a long enough passphrase";

/// Pushes one hand-made change as desk `desk`, as someone holding a device token could.
fn push(
    portal: &Portal,
    desk: uuid::Uuid,
    entity: &str,
    entity_id: &str,
    op: Op,
    body: serde_json::Value,
    at: i64,
) {
    let envelope = Envelope {
        change_id: uuid::Uuid::now_v7(),
        desk_id: desk,
        hlc: format!("{:012x}-00000000", at * 1000).parse().unwrap(),
        entity: entity.into(),
        entity_id: entity_id.into(),
        op,
        version: 1,
        body: serde_json::value::to_raw_value(&body).unwrap(),
        base: None,
    };
    let answer = portal.client().push(&[envelope]).unwrap();
    assert_eq!(answer.accepted, 1, "{answer:?}");
}

struct Desk {
    dir: tempfile::TempDir,
    store: Store,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&license_desk::paths::database_path(dir.path())).unwrap();
        Desk { dir, store }
    }

    fn sync(&mut self, portal: &Portal, now: i64) -> RoundReport {
        sync::round(&mut self.store, &portal.client(), &portal.server.url(), now).unwrap()
    }

    fn key(&mut self, name: &str) -> SigningKey {
        let row =
            keys::generate(&mut self.store, name, PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
        keys::unlock(self.store.conn(), &row, PASS).unwrap()
    }

    fn issue(&mut self, key: &SigningKey, account: Option<AccountId>) -> SignedLicense {
        let spec = IssueDraft {
            product: "Storage OS".into(),
            customer: "Acme Storage".into(),
            kind: LicenseKind::Pro,
            seats: "5".into(),
            ..IssueDraft::default()
        }
        .validate()
        .unwrap();
        licensing::issue(&mut self.store, key, &spec, account, "ada", NOW).unwrap()
    }

    fn verify(&self) -> ChainReport {
        ledger::verify(self.store.conn(), |_| {}).unwrap()
    }

    fn refused(&self) -> Vec<store::sync::InboxRow> {
        store::sync::open_items(self.store.conn())
            .unwrap()
            .into_iter()
            .filter(|i| i.state == InboxState::Refused)
            .collect()
    }
}

fn id(license: &SignedLicense) -> LicenseId {
    LicenseId(license.payload().license_id)
}

#[test]
fn licenses_reach_the_other_desk_verify_there_and_stay_the_issuers_to_change() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let key_a = a.key("Desk A key");
    let acme = common::shop::bare_customer(&mut a.store, NOW);
    let first = a.issue(&key_a, Some(acme));
    let second = a.issue(&key_a, None);
    licensing::revoke(
        &mut a.store,
        &key_a,
        id(&second),
        "refunded",
        "ada",
        NOW + 1,
    )
    .unwrap();
    // And a bulk issue, which the outbox keeps as one range of ledger entries.
    let spec = IssueDraft {
        product: "Archive Vault".into(),
        customer: "Hooli".into(),
        kind: LicenseKind::Dev,
        ..IssueDraft::default()
    }
    .validate()
    .unwrap();
    let items: Vec<BulkItem> = (0..40)
        .map(|_| BulkItem {
            spec: spec.clone(),
            account: Some(acme),
            order_months: None,
            issued_at: None,
        })
        .collect();
    let mut bulk_ids = Vec::new();
    bulk::issue(
        &mut a.store,
        &key_a,
        &items[..],
        "ada",
        NOW + 1,
        &mut NoProgress,
        |l| {
            bulk_ids.push(id(l));
            Ok(())
        },
    )
    .unwrap();
    a.sync(&portal, NOW + 2);
    // B has a key and a license of its own.
    let key_b = b.key("Desk B key");
    let own = b.issue(&key_b, None);
    let round = b.sync(&portal, NOW + 3);
    assert_eq!(round.refused + round.pull.waiting, 0, "{round:?}");

    let conn = b.store.conn();
    let here = store::licenses::get(conn, id(&first)).unwrap().unwrap();
    assert_eq!(here.artifact, first.to_bytes(), "the very license A signed");
    assert_eq!(here.account_id, Some(acme));
    assert_eq!(
        store::licenses::get(conn, id(&second))
            .unwrap()
            .unwrap()
            .status,
        LicenseStatus::Revoked
    );
    assert_eq!(
        store::licenses::origin(conn, id(&first)).unwrap(),
        Some(store::desk::desk_id(a.store.conn()).unwrap())
    );
    // It verifies with nothing but A's public key, as a customer's product would check it.
    let peer = store::peers::key(conn, licensekey::KeyId::of(&key_a.verifying_key()))
        .unwrap()
        .unwrap();
    let ring = KeyRing::new()
        .with(licensekey::parse_public_key(&peer.public_key).unwrap())
        .unwrap();
    let serial = here.serial().unwrap();
    licensekey::verify(
        &serial,
        &ring,
        &VerifyContext::for_product("Storage OS", NOW + 60),
    )
    .unwrap();
    // Each ledger accounts for its own licenses: B's for its one, A's for its two.
    assert!(
        matches!(b.verify(), ChainReport::Intact { entries: 1, .. }),
        "{:?}",
        b.verify()
    );
    assert!(
        matches!(a.verify(), ChainReport::Intact { .. }),
        "{:?}",
        a.verify()
    );
    // B's revocation list names only B's licenses; A's own list is here, to hand to A's
    // customers, as A signed it.
    assert!(store::licenses::listed_as_revoked(conn).unwrap().is_empty());
    let lists = store::peers::latest_revocation_lists(conn).unwrap();
    assert_eq!(lists.len(), 1);
    let a_list = store::revocations::latest_list(a.store.conn())
        .unwrap()
        .unwrap();
    assert_eq!(
        (lists[0].sequence, &lists[0].file),
        (a_list.sequence, &a_list.file)
    );
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_license-desk"))
        .arg("--data-dir")
        .arg(b.dir.path())
        .args([
            "revocations",
            "others",
            "--desk",
            &lists[0].desk_id.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        a_list.file.trim()
    );
    for bulk_id in &bulk_ids {
        let row = store::licenses::get(conn, *bulk_id).unwrap().unwrap();
        assert_eq!((row.account_id, row.kind.as_str()), (Some(acme), "Dev"));
    }
    assert_eq!(
        store::licenses::count(conn).unwrap(),
        1,
        "B issued one itself"
    );

    // Only A changes A's licenses: B is told so and nothing changes.
    let err = licensing::change_status(
        &mut b.store,
        &key_b,
        id(&first),
        StatusChange::Suspend,
        "overdue",
        "bob",
        NOW + 4,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("was issued on another desk"),
        "{err}"
    );
    assert_eq!(
        store::licenses::get(b.store.conn(), id(&first))
            .unwrap()
            .unwrap()
            .status,
        LicenseStatus::Active
    );
    // A suspends it; B follows. B's own license went to A the same way.
    licensing::change_status(
        &mut a.store,
        &key_a,
        id(&first),
        StatusChange::Suspend,
        "overdue",
        "ada",
        NOW + 5,
    )
    .unwrap();
    a.sync(&portal, NOW + 6);
    b.sync(&portal, NOW + 7);
    assert_eq!(
        store::licenses::get(b.store.conn(), id(&first))
            .unwrap()
            .unwrap()
            .status,
        LicenseStatus::Suspended
    );
    assert!(
        store::licenses::get(a.store.conn(), id(&own))
            .unwrap()
            .is_some()
    );
    assert!(
        matches!(a.verify(), ChainReport::Intact { .. }),
        "{:?}",
        a.verify()
    );
    assert!(
        matches!(b.verify(), ChainReport::Intact { .. }),
        "{:?}",
        b.verify()
    );
}

#[test]
fn forged_licenses_keys_and_ledger_entries_are_refused_and_apply_nothing() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let key_a = a.key("Desk A key");
    let genuine = a.issue(&key_a, None);
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    let key_b = b.key("Desk B key");
    let own = b.issue(&key_b, None);

    // A license signed by a key no desk published.
    let stranger = licensekey::generate_signing_key().unwrap();
    let spec = IssueDraft {
        product: "Storage OS".into(),
        customer: "Mallory".into(),
        kind: LicenseKind::Pro,
        ..IssueDraft::default()
    }
    .validate()
    .unwrap();
    let forged = SignedLicense::sign(spec.payload(uuid::Uuid::now_v7(), NOW), &stranger).unwrap();
    let mallory = uuid::Uuid::now_v7();
    push(
        &portal,
        mallory,
        "license",
        &id(&forged).to_string(),
        Op::Insert,
        serde_json::json!({
            "license_id": id(&forged), "account_id": null,
            "serial": forged.to_serial(), "status": "active"
        }),
        NOW + 10,
    );
    // A key whose id is not its own.
    push(
        &portal,
        mallory,
        "public_key",
        "0000000000000000",
        Op::Upsert,
        serde_json::json!({
            "key_id": "0000000000000000", "name": "fake",
            "public_key": licensekey::public_key_base64(&stranger.verifying_key()),
            "active": true, "created_at": NOW
        }),
        NOW + 11,
    );
    // A's genuine serial with another status, claimed by a desk that did not issue it; and a
    // change of B's own license from elsewhere.
    for license in [&genuine, &own] {
        push(
            &portal,
            mallory,
            "license",
            &id(license).to_string(),
            Op::Upsert,
            serde_json::json!({
                "license_id": id(license), "account_id": null,
                "serial": license.to_serial(), "status": "deleted"
            }),
            NOW + 12,
        );
    }
    // A ledger entry that does not hash to itself.
    push(
        &portal,
        mallory,
        "ledger_entry",
        &format!("{mallory}:1"),
        Op::Insert,
        serde_json::json!({
            "seq": 1, "format": 2, "action": "issue", "license_id": id(&forged),
            "payload_hash": "00".repeat(32), "prev_hash": "00".repeat(32),
            "entry_hash": "11".repeat(32), "operator": "mallory", "recorded_at": NOW,
            "account_id": null, "status": null, "note": ""
        }),
        NOW + 13,
    );

    // A revocation list signed by a key no desk published.
    let list = licensekey::SignedRevocationList::sign(
        licensekey::RevocationList::new(7, NOW, NOW + 86_400, vec![id(&genuine).0]),
        &stranger,
    )
    .unwrap();
    push(
        &portal,
        mallory,
        "revocation_list",
        &format!("{mallory}:7"),
        Op::Insert,
        serde_json::json!({
            "sequence": 7, "key_id": licensekey::KeyId::of(&stranger.verifying_key()).to_string(),
            "issued_at": NOW, "file": list.to_file()
        }),
        NOW + 14,
    );

    let round = b.sync(&portal, NOW + 20);
    assert_eq!(round.refused, 6, "{round:?} {:#?}", b.refused());
    let notes: Vec<String> = b.refused().into_iter().map(|i| i.note).collect();
    for expected in [
        "which this desk does not know yet",
        "the public key's id is",
        "was issued on another desk: only that desk changes it",
        "was issued on this desk: only this desk changes it",
        "does not hash to its entry hash",
        "which this desk does not know as that desk's",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected} in {notes:#?}"
        );
    }
    let conn = b.store.conn();
    assert!(store::licenses::get(conn, id(&forged)).unwrap().is_none());
    assert!(
        store::peers::latest_revocation_lists(conn)
            .unwrap()
            .is_empty()
    );
    for license in [&genuine, &own] {
        assert_eq!(
            store::licenses::get(conn, id(license))
                .unwrap()
                .unwrap()
                .status,
            LicenseStatus::Active
        );
    }
    assert!(
        matches!(b.verify(), ChainReport::Intact { .. }),
        "{:?}",
        b.verify()
    );
}

#[test]
fn an_array_that_arrives_before_its_license_waits_and_applies_when_it_comes() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let key_a = a.key("Desk A key");
    let acme = common::shop::bare_customer(&mut a.store, NOW);
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    // A licenses a cluster but has not synced since; an array naming that license reaches the
    // portal first (another desk made it).
    let license = a.issue(&key_a, Some(acme));
    let array = uuid::Uuid::now_v7();
    push(
        &portal,
        uuid::Uuid::now_v7(),
        "array",
        &array.to_string(),
        Op::Upsert,
        serde_json::json!({
            "id": array, "account_id": acme, "name": "Rack 9", "product": "Storage OS",
            "cluster": null, "request": null, "kind": "Dev", "pro_days": null,
            "capacity_tb": 0, "license_id": id(&license), "created_at": NOW, "updated_at": NOW
        }),
        NOW + 3,
    );
    let round = b.sync(&portal, NOW + 4);
    assert_eq!((round.pull.waiting, round.refused), (1, 0), "{round:?}");
    let waiting = store::sync::open_items(b.store.conn()).unwrap();
    assert!(
        waiting[0].note.contains("waits for its license"),
        "{}",
        waiting[0].note
    );
    assert!(
        store::arrays::get(b.store.conn(), license_desk::domain::ids::ArrayId(array))
            .unwrap()
            .is_none()
    );
    a.sync(&portal, NOW + 5);
    b.sync(&portal, NOW + 6);
    let here = store::arrays::get(b.store.conn(), license_desk::domain::ids::ArrayId(array))
        .unwrap()
        .unwrap();
    assert_eq!(here.license_id, Some(id(&license)));
    assert!(store::sync::open_items(b.store.conn()).unwrap().is_empty());
}
