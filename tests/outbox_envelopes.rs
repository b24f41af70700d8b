//! The outbox is ready for a portal: every change a desk records, turned into the envelope it
//! will be pushed as, passes the portal's own envelope checks (known entity, allowed
//! operation, id form, clock); clock readings only go forward, also when the wall clock is
//! set back and across a reopen; a bulk issue's range expands into the same envelopes every
//! time; and a database from before the clock was kept gets its rows stamped and its per-desk
//! ids qualified by the migration.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_status::StatusChange;
use license_desk::services::keys::{self, KeyVault};
use license_desk::services::licensing;
use license_desk::store::{self, Store, outbox};
use licensekey::LicenseKind;
use portal::hlc::Hlc;
use portal::validate::{Rules, check_change};
use serde_json::value::RawValue;
use std::collections::BTreeSet;
use std::sync::Arc;

const PASS: &str = "a long enough passphrase";
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

fn spec(customer: &str) -> license_desk::domain::issue::IssueSpec {
    IssueDraft {
        product: "Storage OS".into(),
        customer: customer.into(),
        kind: LicenseKind::Pro,
        seats: "3".into(),
        days: "365".into(),
        ..IssueDraft::default()
    }
    .validate()
    .unwrap()
}

/// Every outbox row of the desk, oldest first.
fn rows(store: &Store) -> Vec<outbox::OutboxRow> {
    outbox::pending(store.conn(), 0, 100_000).unwrap()
}

/// The envelopes of every outbox row, in order, as JSON.
fn all_envelopes(store: &Store) -> Vec<String> {
    let desk = store::desk::desk_id(store.conn()).unwrap().unwrap();
    rows(store)
        .iter()
        .flat_map(|row| outbox::envelopes(store.conn(), desk, row).unwrap())
        .map(|envelope| serde_json::to_string(&envelope).unwrap())
        .collect()
}

#[test]
fn every_recorded_change_is_an_envelope_the_portal_accepts_in_clock_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    let mut vault = KeyVault::new(KdfParams::TEST_ONLY, 10, Arc::new(FixedClock::at_unix(NOW)));
    // Accounts, billing details, a card, the seller's price list, a wallet top-up.
    let account = common::shop::customer(&mut store, &mut vault, NOW, 50_000);
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    // One license issued, then suspended; another revoked (a revocation list); a bulk issue.
    let one = licensing::issue(&mut store, &key, &spec("Acme"), Some(account), "ada", NOW)
        .unwrap()
        .payload()
        .license_id;
    // The wall clock set back an hour: the desk's clock still goes forward.
    let earlier = NOW - 3_600;
    licensing::change_status(
        &mut store,
        &key,
        license_desk::domain::ids::LicenseId(one),
        StatusChange::Suspend,
        "unpaid",
        "ada",
        earlier,
    )
    .unwrap();
    let two = licensing::issue(&mut store, &key, &spec("Beta"), None, "ada", NOW)
        .unwrap()
        .payload()
        .license_id;
    licensing::revoke(
        &mut store,
        &key,
        license_desk::domain::ids::LicenseId(two),
        "key leaked",
        "ada",
        NOW + 1,
    )
    .unwrap();
    let specs: Vec<_> = (0..30).map(|i| spec(&format!("Bulk {i}"))).collect();
    common::issue_all(&mut store, &key, &specs, NOW + 2);

    let desk = store::desk::desk_id(store.conn()).unwrap().unwrap();
    let recorded = rows(&store);
    // Clock readings strictly increase in outbox order, whatever the wall clock said.
    let clocks: Vec<Hlc> = recorded.iter().map(|r| r.hlc.parse().unwrap()).collect();
    assert!(clocks.windows(2).all(|w| w[0] < w[1]), "{clocks:?}");

    let rules = Rules {
        max_change_body_bytes: 1 << 20,
        max_clock_ahead_ms: 24 * 3_600_000,
        now_ms: (NOW + 10) * 1000,
        protocol: portal::protocol::PROTOCOL_VERSION,
    };
    let envelopes = all_envelopes(&store);
    let mut seen = BTreeSet::new();
    let mut change_ids = BTreeSet::new();
    for (index, text) in envelopes.iter().enumerate() {
        let raw = RawValue::from_string(text.clone()).unwrap();
        let valid = check_change(index, &raw, &rules)
            .unwrap_or_else(|refused| panic!("the portal refuses {text}: {refused:?}"));
        assert_eq!(valid.desk_id.to_string(), desk.to_string());
        assert!(
            change_ids.insert(valid.change_id),
            "a change id twice: {text}"
        );
        seen.insert((valid.entity, valid.op.as_str()));
    }
    for expected in [
        ("account", "upsert"),
        ("billing_details", "upsert"),
        ("payment_method", "upsert"),
        ("price_list", "insert"),
        ("wallet_entry", "insert"),
        ("public_key", "upsert"),
        ("license", "insert"),
        ("license", "upsert"),
        ("ledger_entry", "insert"),
        ("revocation_list", "insert"),
    ] {
        assert!(seen.contains(&expected), "{expected:?} among {seen:?}");
    }
    // The bulk issue's range is one outbox row, expanded into 30 ledger entries and 30
    // licenses; never sent as such.
    assert_eq!(
        recorded
            .iter()
            .filter(|r| r.entity == "ledger_batch")
            .count(),
        1
    );
    assert!(!seen.iter().any(|(entity, _)| *entity == "ledger_batch"));
    // A retried push sends exactly the same envelopes.
    assert_eq!(all_envelopes(&store), envelopes);

    // The clock survives a reopen: the next change comes after every earlier one.
    drop(store);
    let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    license_desk::services::accounts::create(&mut store, "Gamma", NOW - 86_400).unwrap();
    let last: Hlc = rows(&store).last().unwrap().hlc.parse().unwrap();
    assert!(last > *clocks.last().unwrap());
}

#[test]
fn the_migration_stamps_old_rows_in_order_and_qualifies_per_desk_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
    drop(Store::open(&path).unwrap());
    back_to_schema_24(&path);
    {
        // Back to schema 9 by hand: no clock column, bare per-desk numbers, no sync tables.
        let conn = common::raw_connection(&path);
        conn.execute_batch(
            "DROP TABLE peer_revocation_lists;
             DROP INDEX licenses_from_other_desks;
             ALTER TABLE licenses DROP COLUMN origin;
             DROP TABLE peer_keys;
             DROP TABLE peer_ledger;
             ALTER TABLE desk DROP COLUMN series;
             ALTER TABLE desk DROP COLUMN applies_version;
             CREATE TABLE doc_counters_old (
                 kind      TEXT NOT NULL CHECK (kind IN ('quote', 'order', 'invoice', 'credit_note')),
                 year      INTEGER NOT NULL,
                 last_seq  INTEGER NOT NULL CHECK (last_seq >= 1),
                 PRIMARY KEY (kind, year)
             );
             DROP TABLE doc_counters;
             ALTER TABLE doc_counters_old RENAME TO doc_counters;
             DROP TABLE sync_token;
             DROP INDEX outbox_entity;
             DROP TABLE accounts_search_pending;
             CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
                 INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
             END;
             CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
                 INSERT INTO accounts_search (accounts_search, rowid, name)
                 VALUES ('delete', old.seq, old.name);
             END;
             CREATE TRIGGER accounts_search_update AFTER UPDATE OF name ON accounts BEGIN
                 INSERT INTO accounts_search (accounts_search, rowid, name)
                 VALUES ('delete', old.seq, old.name);
                 INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
             END;
             ALTER TABLE outbox DROP COLUMN base_hlc;
             ALTER TABLE outbox DROP COLUMN base_desk_id;
             DROP TABLE sync_sent;
             DROP TABLE sync_parked;
             DROP TABLE sync_state;
             DROP TABLE sync_inbox;
             DROP TABLE sync_versions;
             ALTER TABLE outbox DROP COLUMN hlc;
             ALTER TABLE desk DROP COLUMN hlc;
             DELETE FROM outbox;
             PRAGMA user_version = 9;",
        )
        .unwrap();
        for (seq, entity, entity_id, created_at) in [
            (1, "ledger_entry", "1", NOW),
            (
                2,
                "account",
                "0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e61",
                NOW - 50,
            ),
            (3, "revocation_list", "4", NOW + 5),
            (4, "ledger_batch", "2-9", NOW + 5),
        ] {
            conn.execute(
                "INSERT INTO outbox (seq, change_id, entity, entity_id, op, version, body, created_at)
                 VALUES (?1, randomblob(16), ?2, ?3, 'insert', 1, '{}', ?4)",
                rusqlite::params![seq, entity, entity_id, created_at],
            )
            .unwrap();
        }
    }
    let store = Store::open(&path).unwrap();
    let desk = store::desk::desk_id(store.conn()).unwrap().unwrap();
    let migrated = rows(&store);
    let ids: Vec<&str> = migrated.iter().map(|r| r.entity_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("{desk}:1"),
            "0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e61".to_string(),
            format!("{desk}:4"),
            format!("{desk}:2-9"),
        ]
    );
    let clocks: Vec<Hlc> = migrated.iter().map(|r| r.hlc.parse().unwrap()).collect();
    assert!(clocks.windows(2).all(|w| w[0] < w[1]), "{clocks:?}");
    // A row recorded at an earlier wall time than the one before it keeps the later time.
    assert_eq!(clocks[1].ms, (NOW * 1000) as u64);
    assert_eq!(clocks[2].ms, ((NOW + 5) * 1000) as u64);
}

/// A published revocation list sits in the outbox by its number only, and goes out whole; a
/// row that held the whole list (before schema 22) is turned into the number by the
/// migration and goes out exactly as before.
#[test]
fn a_revocation_list_waits_in_the_outbox_by_its_number_and_goes_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    for customer in ["Acme", "Beta"] {
        let issued = licensing::issue(&mut store, &key, &spec(customer), None, "ada", NOW)
            .unwrap()
            .payload()
            .license_id;
        let id = license_desk::domain::ids::LicenseId(issued);
        licensing::revoke(&mut store, &key, id, "key leaked", "ada", NOW + 1).unwrap();
    }
    let lists: Vec<outbox::OutboxRow> = rows(&store)
        .into_iter()
        .filter(|r| r.sent_as() == "revocation_list")
        .collect();
    assert_eq!(lists.len(), 2);
    let desk = store::desk::desk_id(store.conn()).unwrap().unwrap();
    let latest = store::revocations::latest_list(store.conn())
        .unwrap()
        .unwrap();
    let last = lists.last().unwrap();
    assert_eq!(last.body, format!("{{\"sequence\":{}}}", latest.sequence));
    let sent = outbox::envelopes(store.conn(), desk, last).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].change_id, last.change_id.0);
    assert_eq!(sent[0].entity, "revocation_list");
    assert_eq!(sent[0].entity_id, format!("{desk}:{}", latest.sequence));
    let body: serde_json::Value = serde_json::from_str(sent[0].body.get()).unwrap();
    assert_eq!(body["file"], latest.file.as_str());
    let before: Vec<String> = all_envelopes(&store);
    drop(store);
    back_to_schema_24(&path);

    // Back to schema 21: the rows held the whole lists.
    {
        let conn = common::raw_connection(&path);
        conn.execute_batch(
            "UPDATE outbox SET entity = 'revocation_list',
                 body = (SELECT json_object('sequence', r.sequence, 'key_id', lower(hex(r.key_id)),
                                            'issued_at', r.issued_at, 'file', r.file)
                         FROM revocation_lists r
                         WHERE r.sequence = json_extract(outbox.body, '$.sequence'))
             WHERE entity = 'revocation_list_ref';
             ALTER TABLE outbox DROP COLUMN base_hlc;
             ALTER TABLE outbox DROP COLUMN base_desk_id;
             DROP TABLE sync_sent;
             ALTER TABLE sync_parked DROP COLUMN base_hlc;
             ALTER TABLE sync_parked DROP COLUMN base_desk_id;
             ALTER TABLE sync_inbox DROP COLUMN base_hlc;
             ALTER TABLE sync_inbox DROP COLUMN base_desk_id;
             PRAGMA user_version = 21;",
        )
        .unwrap();
        let whole: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE entity = 'revocation_list'
                 AND json_extract(body, '$.file') IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(whole, 2);
    }
    let store = Store::open(&path).unwrap();
    assert!(
        rows(&store)
            .iter()
            .all(|r| r.entity != "revocation_list" && !r.body.contains("file"))
    );
    assert_eq!(all_envelopes(&store), before);
}

/// Undoes schemas 28 to 25 by hand: each ledger entry's and license's account id, and each
/// license's features and key id, in its row again; every revocation list kept whole again;
/// the names' search with column sizes.
fn back_to_schema_24(path: &std::path::Path) {
    let store = Store::open(path).unwrap();
    let sequences: Vec<u64> = store
        .conn()
        .prepare("SELECT sequence FROM revocation_lists")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let files: Vec<(u64, String)> = sequences
        .into_iter()
        .map(|sequence| {
            let list = license_desk::store::revocations::list(store.conn(), sequence);
            (sequence, list.unwrap().unwrap().file)
        })
        .collect();
    drop(store);
    let conn = common::raw_connection(path);
    for (sequence, file) in files {
        conn.execute(
            "UPDATE revocation_lists SET file = ?2 WHERE sequence = ?1",
            rusqlite::params![sequence, file],
        )
        .unwrap();
    }
    // The account's row number loses its reference first: SQLite drops no column a foreign
    // key names.
    let version: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema
             SET sql = replace(sql, 'account_seq INTEGER REFERENCES accounts(seq)', 'account_seq INTEGER')
             WHERE name = 'licenses';
         PRAGMA writable_schema = OFF;
         PRAGMA schema_version = {};",
        version + 1
    ))
    .unwrap();
    drop(conn);
    let conn = common::raw_connection(path);
    conn.execute_batch(
        "ALTER TABLE ledger ADD COLUMN account_id BLOB;
         UPDATE ledger SET account_id =
             (SELECT account_id FROM ledger_accounts WHERE id = account_ref);
         ALTER TABLE ledger DROP COLUMN account_ref;
         DROP TABLE ledger_accounts;
         DROP TABLE license_names_search;
         CREATE VIRTUAL TABLE license_names_search USING fts5(
             name, content = 'license_names', content_rowid = 'id', tokenize = 'trigram',
             detail = 'none'
         );
         INSERT INTO license_names_search (license_names_search) VALUES ('rebuild');
         ALTER TABLE licenses ADD COLUMN account_id BLOB REFERENCES accounts(id);
         UPDATE licenses SET account_id = (SELECT id FROM accounts WHERE seq = account_seq);
         DROP INDEX licenses_by_account;
         ALTER TABLE licenses DROP COLUMN account_seq;
         CREATE INDEX licenses_by_account ON licenses(account_id, seq);
         ALTER TABLE licenses ADD COLUMN features TEXT;
         ALTER TABLE licenses ADD COLUMN key_id BLOB;
         UPDATE licenses SET
             features = (SELECT features FROM license_features WHERE id = features_id),
             key_id = (SELECT key_id FROM license_keys WHERE id = key_ref);
         ALTER TABLE licenses DROP COLUMN features_id;
         ALTER TABLE licenses DROP COLUMN key_ref;
         DROP TABLE license_features;
         DROP TABLE license_keys;
         ALTER TABLE revocation_lists DROP COLUMN base_sequence;
         ALTER TABLE revocation_lists DROP COLUMN prefix;
         ALTER TABLE revocation_lists DROP COLUMN added;
         ALTER TABLE revocation_lists DROP COLUMN removed;
         ALTER TABLE revocation_lists DROP COLUMN signature;",
    )
    .unwrap();
}
