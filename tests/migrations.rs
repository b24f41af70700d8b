//! A database left by every earlier release opens, upgrades and keeps its data, including a
//! ledger whose chain still verifies afterwards.

mod common;

use license_desk::domain::ids::{AccountId, LicenseId};
use license_desk::domain::ledger_chain::{Action, ChainEntry, GENESIS_HASH, artifact_hash};
use license_desk::domain::license_status::LicenseStatus;
use license_desk::services::accounts;
use license_desk::store::ledger::ChainReport;
use license_desk::store::{self, SCHEMA_VERSION, Store};
use licensekey::{
    KeyId, LicenseKind, LicensePayload, RevocationList, SignedLicense, SignedRevocationList,
    SigningKey, Uuid,
};
use rusqlite::{Connection, params};

const ACCOUNT: &str = "0192f5a0-7c1e-7d3a-9b4f-000000000001";
const CARD: &str = "0192f5a0-7c1e-7d3a-9b4f-000000000002";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// Fills a database at schema `version` the way that release wrote it.
fn fill(conn: &Connection, version: i64) -> Option<[u8; 32]> {
    conn.execute(
        "INSERT INTO accounts (id, name, wallet_id, created_at, updated_at)
         VALUES (?1, 'Old Customer', 100, 1, 1)",
        [ACCOUNT],
    )
    .expect("test setup");
    conn.execute(
        "INSERT INTO billing_details VALUES (?1, 'Old GmbH', 'Ada', 'ada@old.example', '',
             'Str. 1', '', 'Berlin', '10115', 'DE', '', 1)",
        [ACCOUNT],
    )
    .expect("test setup");
    conn.execute(
        "INSERT INTO payment_methods (id, account_id, kind, holder, brand, last4, exp_month,
             exp_year, is_default, created_at)
         VALUES (?1, ?2, 'card', 'Ada', 'Visa', '1111', 8, 2029, 1, 1)",
        [CARD, ACCOUNT],
    )
    .expect("test setup");
    conn.execute("INSERT INTO settings VALUES ('operator', 'ada')", [])
        .expect("test setup");
    if version >= 2 {
        conn.execute(
            "INSERT INTO outbox (change_id, entity, entity_id, op, body, created_at)
             VALUES ('c1', 'account', ?1, 'upsert', '{\"name\":\"Old Customer\"}', 1)",
            [ACCOUNT],
        )
        .expect("test setup");
    }
    if version < 3 {
        return None;
    }
    let signing = key();
    let sealed = keyvault::seal(
        "old key",
        &signing,
        "correct horse battery",
        keyvault::KdfParams::TEST_ONLY,
        1,
    )
    .expect("test setup");
    let key_id = KeyId::of(&signing.verifying_key()).to_string();
    conn.execute(
        "INSERT INTO signing_keys VALUES (?1, 'old key', ?2, ?3, 'active', 1)",
        params![
            key_id,
            licensekey::public_key_base64(&signing.verifying_key()),
            sealed.to_armored()
        ],
    )
    .expect("test setup");
    // Two licenses, the second revoked, chained with the format-1 hashes of that release.
    let mut prev = GENESIS_HASH;
    let mut seq = 0;
    let mut append = |conn: &Connection, action: Action, id: Uuid, payload_hash: [u8; 32]| {
        seq += 1;
        let entry = ChainEntry {
            format: 1,
            seq,
            action,
            license_id: LicenseId(id),
            payload_hash,
            prev_hash: prev,
            operator: "ada",
            recorded_at: 10 + seq,
            account: None,
            status: None,
            note: "",
        };
        let hash = entry.hash().expect("test setup");
        conn.execute(
            "INSERT INTO ledger VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ada', ?7)",
            params![
                seq,
                action.as_str(),
                id.to_string(),
                hex::encode(payload_hash),
                hex::encode(prev),
                hex::encode(hash),
                10 + seq
            ],
        )
        .expect("test setup");
        prev = hash;
    };
    let mut ids = Vec::new();
    for (n, account) in [(1u8, Some(ACCOUNT)), (2, None)] {
        let id = Uuid::from_bytes([n; 16]);
        let mut payload = LicensePayload::new(id, "Storage", LicenseKind::Pro, "Old Customer", 10);
        payload.binding.cluster = Some(Uuid::from_bytes([9; 16]));
        payload.expires_at = Some(10_000);
        let license = SignedLicense::sign(payload, &signing).expect("test setup");
        conn.execute(
            "INSERT INTO issued_licenses (license_id, key_id, account_id, product, kind, customer,
                 cluster, ip, capacity_tb, seats, issued_at, expires_at, artifact)
             VALUES (?1, ?2, ?3, 'Storage', 'Pro', 'Old Customer', ?4, NULL, 0, 1, 10, 10000, ?5)",
            params![
                id.to_string(),
                key_id,
                account,
                Uuid::from_bytes([9; 16]).to_string(),
                license.to_bytes()
            ],
        )
        .expect("test setup");
        append(conn, Action::Issue, id, artifact_hash(&license.to_bytes()));
        ids.push(id);
    }
    let list = SignedRevocationList::sign(RevocationList::new(1, 20, 30, vec![ids[1]]), &signing)
        .expect("test setup");
    conn.execute(
        "INSERT INTO revocations VALUES (?1, 'leaked', 20)",
        [ids[1].to_string()],
    )
    .expect("test setup");
    conn.execute(
        "INSERT INTO revocation_lists VALUES (1, ?1, 20, ?2)",
        params![key_id, list.to_file()],
    )
    .expect("test setup");
    append(
        conn,
        Action::Revoke,
        ids[1],
        artifact_hash(&list.to_bytes()),
    );
    Some(prev)
}

#[test]
fn every_earlier_schema_upgrades_with_its_data() {
    for version in 1..SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.sqlite3");
        let head = {
            let mut conn = common::raw_connection(&path);
            // `fill` writes the formats of versions 1–3; a later version gets that data
            // through the real migrations, as a desk upgraded step by step would hold it.
            let filled_at = version.min(3);
            store::migrate_to(&mut conn, filled_at).unwrap();
            let head = fill(&conn, filled_at);
            conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
            store::migrate_to(&mut conn, version).unwrap();
            head
        };
        let mut steps = Vec::new();
        let mut store = Store::open_with_progress(&path, |step| {
            if let store::OpenStep::Migrating { applying, .. } = step {
                steps.push(applying);
            }
        })
        .unwrap();
        assert_eq!(
            steps,
            (version + 1..=SCHEMA_VERSION).collect::<Vec<_>>(),
            "each step is reported"
        );
        let conn = store.conn();
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(found, SCHEMA_VERSION, "from version {version}");

        let account_id: AccountId = ACCOUNT.parse().unwrap();
        let account = store::accounts::get(conn, account_id).unwrap().unwrap();
        assert_eq!(
            (account.name.as_str(), account.wallet_id),
            ("Old Customer", 100)
        );
        assert!(account.wallet_id_final);
        let billing = store::billing::get(conn, account_id).unwrap().unwrap();
        assert_eq!(billing.company, "Old GmbH");
        let methods = store::payments::list(conn, account_id).unwrap();
        assert_eq!(methods.len(), 1);
        assert_eq!(methods[0].id.to_string(), CARD);
        assert!(methods[0].is_default);
        assert_eq!(store::settings::load(conn).unwrap().operator, "ada");
        // The untyped outbox rows of earlier releases are gone; the desk has an identity.
        assert_eq!(store::outbox::pending_count(conn).unwrap(), 0);
        assert!(store::desk::desk_id(conn).unwrap().is_some());

        if let Some(head) = head {
            let keys = store::keys::list(conn).unwrap();
            assert_eq!(keys[0].key_id, KeyId::of(&key().verifying_key()));
            assert!(keys[0].active);
            let first = store::licenses::get(conn, LicenseId(Uuid::from_bytes([1; 16])))
                .unwrap()
                .unwrap();
            assert_eq!(first.account_id, Some(account_id));
            assert_eq!(first.status, LicenseStatus::Active);
            let second = store::licenses::get(conn, LicenseId(Uuid::from_bytes([2; 16])))
                .unwrap()
                .unwrap();
            assert_eq!(
                (second.account_id, second.status.as_str()),
                (None, "revoked")
            );
            assert_eq!(first.cluster, Some(Uuid::from_bytes([9; 16])));
            // The chain made by the old release still verifies, to the same head.
            assert_eq!(
                store::ledger::verify(conn, |_| {}).unwrap(),
                ChainReport::Intact { entries: 3, head }
            );
            let list = store::revocations::latest_list(conn).unwrap().unwrap();
            assert_eq!((list.sequence, list.ledger_seq), (1, Some(3)));
        }

        // The upgraded database takes new writes; the next wallet ID follows the old ones.
        let next = accounts::create(&mut store, "New Customer", 2).unwrap();
        assert_eq!(next.wallet_id, 101);
        assert_eq!(store::outbox::pending_count(store.conn()).unwrap(), 1);
        // Opening again changes nothing.
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store::accounts::total(store.conn()).unwrap(), 2);
    }
}

/// Schema 8 rebuilds the licenses table on a database that already has arrays (which refer to
/// licenses), referrals and bulk rows: every reference still holds and is still enforced.
#[test]
fn the_licenses_rebuild_keeps_the_arrays_and_bulk_rows_that_refer_to_licenses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
    let first = Uuid::from_bytes([1; 16]);
    {
        let mut conn = common::raw_connection(&path);
        store::migrate_to(&mut conn, 3).unwrap();
        fill(&conn, 3).expect("licenses at version 3");
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        store::migrate_to(&mut conn, 7).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute(
            "INSERT INTO arrays (id, account_id, name, product, kind, pro_days, capacity_tb,
                 license_id, created_at, updated_at)
             VALUES (?1, (SELECT id FROM accounts), 'Rack 1', 'Storage OS', 'Pro', 365, 10, ?2,
                 1, 1)",
            params![
                Uuid::from_bytes([5; 16]).as_bytes().as_slice(),
                first.as_bytes().as_slice()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO referrals (id, account_id, name, email, status, created_at, updated_at)
             VALUES (?1, (SELECT id FROM accounts), 'Bob', 'bob@example.com', 'invited', 1, 1)",
            [Uuid::from_bytes([6; 16]).as_bytes().as_slice()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO bulk_rows (batch, row, license_id) VALUES (?1, 1, ?2)",
            params![[3u8; 32].as_slice(), first.as_bytes().as_slice()],
        )
        .unwrap();
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0, "the version 7 database is sound");
    }

    let store = Store::open(&path).unwrap();
    let conn = store.conn();
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0, "every reference to a license still holds");
    let linked: Vec<u8> = conn
        .query_row("SELECT license_id FROM arrays", [], |r| r.get(0))
        .unwrap();
    assert_eq!(linked, first.as_bytes());
    assert!(
        store::licenses::get(conn, LicenseId(first))
            .unwrap()
            .is_some()
    );
    // The references are enforced against the rebuilt table.
    let dangling = conn.execute(
        "UPDATE arrays SET license_id = ?1",
        [Uuid::from_bytes([8; 16]).as_bytes().as_slice()],
    );
    assert!(
        dangling.is_err(),
        "an array cannot name a license that does not exist"
    );
    // The index schema 7 made on licenses was made again on the rebuilt table.
    let index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index'
             AND name = 'licenses_eval_by_cluster' AND tbl_name = 'licenses'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
    // A bulk batch recorded before the rebuild still lists its license's bytes.
    let issued = store::bulk::issued(conn, &[3u8; 32]).unwrap();
    assert_eq!(issued.len(), 1);
    let license = SignedLicense::from_bytes(&issued[0].1).unwrap();
    assert_eq!(license.payload().license_id, first);
    assert!(matches!(
        store::ledger::verify(conn, |_| {}).unwrap(),
        ChainReport::Intact { entries: 3, .. }
    ));
}

/// Schema 16 counts document numbers per desk series: the counters of an upgraded desk carry
/// on in the main series, with no gap and no number taken twice.
#[test]
fn document_counters_carry_on_in_the_main_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
    {
        let mut conn = common::raw_connection(&path);
        store::migrate_to(&mut conn, 15).unwrap();
        conn.execute(
            "INSERT INTO doc_counters (kind, year, last_seq) VALUES ('invoice', 2026, 41)",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let number = store
        .write(|tx| {
            store::commerce::next_number(
                tx,
                license_desk::commerce::numbering::DocKind::Invoice,
                2026,
            )
        })
        .unwrap();
    assert_eq!(number.to_string(), "INV-2026-0042");
    assert_eq!(
        store::commerce::last_seq(
            store.conn(),
            license_desk::commerce::numbering::DocKind::Invoice,
            2026
        )
        .unwrap(),
        42
    );
}
