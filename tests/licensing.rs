//! Issuing, revoking, keys and the ledger, through the services the GUI worker and the CLI
//! share; and an attacker with write access to the database (but not the passphrase) trying to
//! change what was issued without the ledger noticing.

mod common;

use keyvault::KdfParams;
use license_desk::domain::checkpoint::Checkpoint;
use license_desk::domain::ids::LicenseId;
use license_desk::domain::issue::{IssueDraft, IssueSpec};
use license_desk::services::keys::{self, KeysError};
use license_desk::services::licensing::{self, LicensingError};
use license_desk::services::{NoProgress, Progress};
use license_desk::store::ledger::{self, ChainReport};
use license_desk::store::{self, Store};
use licensekey::{KeyRing, LicenseKind, SignedLicense, VerifyContext};
use std::path::PathBuf;

const NOW: i64 = 1_795_435_200;
const PASS: &str = "a long enough passphrase";

struct Desk {
    dir: tempfile::TempDir,
    store: Store,
}

impl Desk {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("test setup");
        let store = Store::open(&dir.path().join("desk.sqlite3")).expect("test setup");
        Self { dir, store }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("desk.sqlite3")
    }

    /// Runs SQL as someone who can write the file.
    fn tamper(&self, sql: &str) {
        common::raw_connection(&self.path())
            .execute_batch(sql)
            .expect("test setup");
    }

    fn key(&mut self, name: &str) -> licensekey::SigningKey {
        let row = keys::generate(&mut self.store, name, PASS, KdfParams::TEST_ONLY, true, NOW)
            .expect("test setup");
        keys::unlock(self.store.conn(), &row, PASS).expect("test setup")
    }

    fn issue(&mut self, signing: &licensekey::SigningKey, customer: &str) -> SignedLicense {
        licensing::issue(&mut self.store, signing, &spec(customer), None, "ada", NOW)
            .expect("test setup")
    }

    /// A desk with a signing key and the accounts "Acme" and "Other".
    fn with_two_accounts() -> (
        Self,
        licensekey::SigningKey,
        license_desk::domain::account::Account,
        license_desk::domain::account::Account,
    ) {
        let mut desk = Desk::new();
        let signing = desk.key("main");
        let mut account = |name: &str| {
            license_desk::services::accounts::create(&mut desk.store, name, NOW)
                .expect("test setup")
        };
        let (acme, other) = (account("Acme"), account("Other"));
        (desk, signing, acme, other)
    }

    fn verify(&self) -> ChainReport {
        ledger::verify(self.store.conn(), |_| {}).expect("test setup")
    }

    fn broken(&self) -> (Option<i64>, String) {
        match self.verify() {
            ChainReport::Broken { at, reason } => (at, reason),
            ChainReport::Intact { .. } => panic!("tampering went unnoticed"),
        }
    }
}

fn spec(customer: &str) -> IssueSpec {
    IssueDraft {
        product: "Storage OS".into(),
        customer: customer.into(),
        kind: LicenseKind::Pro,
        cluster: "123e4567-e89b-12d3-a456-426614174000".into(),
        ip: "192.0.2.7".into(),
        seats: "5".into(),
        features: "snapshots".into(),
        ..IssueDraft::default()
    }
    .validate()
    .expect("test setup")
}

struct Counting(Vec<u64>);

impl Progress for Counting {
    fn report(&mut self, done: u64, _total: u64) {
        self.0.push(done);
    }
}

#[test]
fn issued_licenses_verify_and_chain_in_the_ledger() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let specs: Vec<_> = (0..25).map(|i| spec(&format!("Customer {i}"))).collect();
    let mut progress = Counting(Vec::new());
    let mut issued = Vec::new();
    let count = licensing::issue_many(
        &mut desk.store,
        &signing,
        &specs,
        None,
        "ada",
        NOW,
        &mut progress,
        |license| {
            issued.push(license.clone());
            Ok(())
        },
    )
    .unwrap();
    assert_eq!((count, issued.len()), (25, 25));
    assert_eq!(progress.0.last(), Some(&25));
    let ring = keys::keyring(desk.store.conn()).unwrap();
    for license in &issued {
        let verified = licensekey::verify(
            &license.to_serial(),
            &ring,
            &VerifyContext::for_product("Storage OS", NOW + 10),
        )
        .err();
        // Bound to a cluster and IP this context does not supply: the signature held.
        assert!(matches!(verified, Some(licensekey::Error::WrongBinding(_))));
        assert!(licensing::issued_here(desk.store.conn(), license).unwrap());
    }
    assert_eq!(store::licenses::count(desk.store.conn()).unwrap(), 25);
    assert!(matches!(
        desk.verify(),
        ChainReport::Intact { entries: 25, .. }
    ));
    // The bulk issue entered the outbox as one change naming its range of ledger entries;
    // expanded, it is every entry and every license, typed, as a single issue records them.
    let rows = store::outbox::pending(desk.store.conn(), 0, 1_000).unwrap();
    let batches: Vec<_> = rows.iter().filter(|r| r.entity == "ledger_batch").collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].op, "insert");
    let expanded = store::outbox::expand(desk.store.conn(), batches[0]).unwrap();
    let bodies: Vec<(String, serde_json::Value)> = expanded
        .iter()
        .map(|c| {
            (
                c.entity().to_string(),
                serde_json::from_str(&c.body().unwrap()).unwrap(),
            )
        })
        .collect();
    let licenses: Vec<_> = bodies.iter().filter(|(e, _)| e == "license").collect();
    let entries: Vec<_> = bodies.iter().filter(|(e, _)| e == "ledger_entry").collect();
    assert_eq!((licenses.len(), entries.len()), (25, 25));
    let body = &licenses[0].1;
    assert_eq!(body["serial"], issued[0].to_serial());
    assert_eq!(body["status"], "active");
    let entry = &entries[24].1;
    assert_eq!(entry["seq"], 25);
    assert_eq!(entry["action"], "issue");
    assert_eq!(entries[1].1["prev_hash"], entries[0].1["entry_hash"]);
    assert_eq!(
        entries[0].1["payload_hash"],
        hex::encode(license_desk::domain::ledger_chain::artifact_hash(
            &issued[0].to_bytes()
        ))
    );
    assert!(rows.iter().any(|r| r.entity == "public_key"), "the key too");
}

#[test]
fn a_cancelled_bulk_issue_keeps_what_it_committed() {
    struct StopAfterFirst(u64);
    impl Progress for StopAfterFirst {
        fn report(&mut self, done: u64, _total: u64) {
            self.0 = done;
        }
        fn cancelled(&self) -> bool {
            self.0 > 0
        }
    }
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let specs: Vec<_> = (0..licensing::BULK_COMMIT_EVERY + 5)
        .map(|i| spec(&format!("C{i}")))
        .collect();
    let done = licensing::issue_many(
        &mut desk.store,
        &signing,
        &specs,
        None,
        "ada",
        NOW,
        &mut StopAfterFirst(0),
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(done, licensing::BULK_COMMIT_EVERY as u64);
    assert_eq!(store::licenses::count(desk.store.conn()).unwrap(), done);
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
}

#[test]
fn an_edited_entry_or_a_missing_one_is_named() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    for i in 0..5 {
        desk.issue(&signing, &format!("C{i}"));
    }
    desk.tamper("UPDATE ledger SET operator = 'mallory' WHERE seq = 3");
    assert_eq!(
        desk.broken(),
        (
            Some(3),
            "its contents were changed (hash does not match)".into()
        )
    );
    desk.tamper("UPDATE ledger SET operator = 'ada' WHERE seq = 3");
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    desk.tamper("DELETE FROM ledger WHERE seq = 4");
    assert_eq!(
        desk.broken(),
        (Some(4), "entry 4 is missing (next entry is 5)".into())
    );
}

/// A batch keeps every 64th entry's hash and its last one; the hashes between are derived
/// along the chain, so an edit in between is found at the next kept hash, and the end of the
/// ledger cannot be left without one.
#[test]
fn a_batch_keeps_some_hashes_and_an_edit_between_them_is_still_found() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    desk.issue(&signing, "A");
    let specs: Vec<IssueSpec> = (0..150).map(|i| spec(&format!("C{i}"))).collect();
    common::issue_all(&mut desk.store, &signing, &specs, NOW);
    let conn = desk.store.conn();
    let kept: Vec<i64> = conn
        .prepare("SELECT seq FROM ledger WHERE entry_hash IS NOT NULL ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept, [1, 64, 128, 151]);

    // Every hash read is the chain's: each entry's recomputes from the one before it.
    let records = ledger::records(conn, 1, 151).unwrap();
    let mut prev = license_desk::domain::ledger_chain::GENESIS_HASH;
    for record in &records {
        assert_eq!(record.prev_hash, hex::encode(prev), "entry {}", record.seq);
        let hash = ledger::hash_at(conn, record.seq).unwrap();
        assert_eq!(record.entry_hash, hex::encode(hash), "entry {}", record.seq);
        prev = hash;
    }
    let page = ledger::page(conn, None, 0, 20).unwrap();
    assert_eq!(page[0].seq, 151);
    for row in &page {
        assert_eq!(row.entry_hash, ledger::hash_at(conn, row.seq).unwrap());
    }
    assert_eq!(ledger::head(conn).unwrap().hash, prev);
    assert_eq!(
        desk.verify(),
        ChainReport::Intact {
            entries: 151,
            head: prev
        }
    );

    // An entry edited between two kept hashes: the range up to the next kept one is named.
    desk.tamper("UPDATE ledger SET operator = 'mallory' WHERE seq = 100");
    assert_eq!(
        desk.broken(),
        (
            Some(65),
            "entries 65–128 were changed: they no longer hash to the hash kept at entry 128".into()
        )
    );
    desk.tamper("UPDATE ledger SET operator = 'ada' WHERE seq = 100");
    // A license issued in the batch and changed since is named, as when its entry keeps a hash.
    desk.tamper("UPDATE licenses SET seats = 500 WHERE seq = 70");
    let (at, reason) = desk.broken();
    assert_eq!(at, Some(70), "{reason}");
    assert!(
        reason.contains("was changed after it was issued"),
        "{reason}"
    );
    desk.tamper("UPDATE licenses SET seats = 5 WHERE seq = 70");
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    // The last entry's hash taken away, and an entry after the last kept one edited.
    desk.tamper(
        "UPDATE ledger SET entry_hash = NULL WHERE seq = 151;
         UPDATE ledger SET operator = 'mallory' WHERE seq = 140",
    );
    assert_eq!(
        desk.broken(),
        (
            Some(129),
            "entries 129–151 keep no hash to check them against (the last entry always keeps \
             its own): the ledger's end was changed"
                .into()
        )
    );
}

#[test]
fn every_column_of_an_issued_license_is_covered() {
    // A license is stored as the columns of its payload and its signature: its bytes (which
    // its ledger entry hashes) are re-encoded from them, so an edit to any of them changes the
    // bytes, and the signature no longer holds either.
    let edits = [
        (
            "customer_id = (SELECT id FROM license_names WHERE name = 'A')",
            "was changed after it was issued",
        ),
        (
            "expires_at = expires_at + 86400000",
            "was changed after it was issued",
        ),
        ("seats = 500", "was changed after it was issued"),
        (
            "product_id = customer_id",
            "was changed after it was issued",
        ),
        ("kind = 'Dev'", "was changed after it was issued"),
        ("ip = '10.0.0.1'", "was changed after it was issued"),
        ("cluster = NULL", "was changed after it was issued"),
        ("capacity_tb = 99", "was changed after it was issued"),
        ("issued_at = 1", "was changed after it was issued"),
        ("grace_days = 99", "was changed after it was issued"),
        ("features_id = NULL", "was changed after it was issued"),
        ("key_ref = key_ref + 1", "was changed after it was issued"),
        (
            "signature = zeroblob(64)",
            "was changed after it was issued",
        ),
        (
            "status = 'revoked'",
            "marked revoked but the ledger says active",
        ),
        (
            "status = 'suspended'",
            "marked suspended but the ledger says active",
        ),
    ];
    for (edit, expected) in edits {
        let mut desk = Desk::new();
        let signing = desk.key("main");
        desk.issue(&signing, "A");
        let license = desk.issue(&signing, "B");
        desk.tamper(&format!("UPDATE licenses SET {edit} WHERE seq = 2"));
        let (_, reason) = desk.broken();
        assert!(reason.contains(expected), "{edit}: {reason}");
        assert!(
            reason.contains(&license.payload().license_id.to_string()),
            "{edit}: names the license: {reason}"
        );
    }
    // A features list or key id all licenses share, edited where it is kept once: the first
    // license naming it is found changed.
    for edit in [
        "UPDATE license_features SET features = 'snapshots,unlimited'",
        "UPDATE license_keys SET key_id = zeroblob(8)",
    ] {
        let mut desk = Desk::new();
        let signing = desk.key("main");
        let first = desk.issue(&signing, "A");
        desk.issue(&signing, "B");
        desk.tamper(edit);
        let (at, reason) = desk.broken();
        assert_eq!(at, Some(1), "{edit}: {reason}");
        assert!(
            reason.contains(&format!(
                "license {} was changed after it was issued",
                first.payload().license_id
            )),
            "{edit}: {reason}"
        );
    }
    // A ledger entry edited while the license stays as issued is named as the entry.
    let mut desk = Desk::new();
    let signing = desk.key("main");
    desk.issue(&signing, "A");
    desk.tamper("UPDATE ledger SET operator = 'mallory' WHERE seq = 1");
    let (at, reason) = desk.broken();
    assert_eq!(at, Some(1));
    assert!(reason.contains("its contents were changed"), "{reason}");
}

/// A license stored as its bytes (an earlier release's, or one its columns cannot hold) keeps
/// every column checked against them, by name.
#[test]
fn a_license_kept_as_bytes_has_each_column_checked() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let machine =
        licensekey::MachineInfo::from_values([("machine-id", "abc"), ("cpu", "x")]).unwrap();
    let request = licensekey::LicenseRequest::new(&machine, None, NOW).unwrap();
    let mut draft = IssueDraft::from_request(request);
    draft.product = "Storage OS".into();
    draft.customer = "Bound".into();
    let spec = draft.validate().unwrap();
    let bound = licensing::issue(&mut desk.store, &signing, &spec, None, "ada", NOW).unwrap();
    let row = store::licenses::get(desk.store.conn(), LicenseId(bound.payload().license_id))
        .unwrap()
        .unwrap();
    assert!(!row.compact, "a machine binding is kept as bytes");
    assert_eq!(row.artifact, bound.to_bytes());
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    for (edit, column) in [
        ("seats = 9", "seats"),
        ("kind = 'Eval'", "kind"),
        ("customer_id = product_id", "customer"),
    ] {
        desk.tamper(&format!("UPDATE licenses SET {edit}"));
        let (_, reason) = desk.broken();
        assert!(
            reason.contains(&format!("its {column} was changed")),
            "{edit}: {reason}"
        );
        desk.tamper(&format!(
            "UPDATE licenses SET seats = {}, kind = 'Pro', customer_id = (SELECT id FROM license_names WHERE name = 'Bound')",
            row.seats
        ));
    }
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
}

#[test]
fn moving_a_license_to_another_account_is_noticed() {
    let (mut desk, signing, acme, other) = Desk::with_two_accounts();
    licensing::issue(
        &mut desk.store,
        &signing,
        &spec("Acme"),
        Some(acme.id),
        "ada",
        NOW,
    )
    .unwrap();
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    let conn = common::raw_connection(&desk.path());
    let seq_of = "(SELECT seq FROM accounts WHERE id = ?1)";
    conn.execute(
        &format!("UPDATE licenses SET account_seq = {seq_of}"),
        [other.id],
    )
    .unwrap();
    let (at, reason) = desk.broken();
    assert_eq!(at, None);
    assert!(
        reason.contains("was moved to another account without a ledger entry"),
        "{reason}"
    );
    conn.execute("UPDATE licenses SET account_seq = NULL", [])
        .unwrap();
    assert!(
        desk.broken().1.contains("moved to another account"),
        "unlinking too"
    );

    // Moved through the service, the same change is recorded and checks out.
    conn.execute(
        &format!("UPDATE licenses SET account_seq = {seq_of}"),
        [acme.id],
    )
    .unwrap();
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    let id = store::licenses::recent(desk.store.conn(), None, 0, 1).unwrap()[0].license_id;
    licensing::move_to_account(&mut desk.store, id, Some(other.id), "reseller", "ada", NOW)
        .unwrap();
    assert!(matches!(
        desk.verify(),
        ChainReport::Intact { entries: 2, .. }
    ));
    assert_eq!(
        store::licenses::get(desk.store.conn(), id)
            .unwrap()
            .unwrap()
            .account_id,
        Some(other.id)
    );
}

#[test]
fn licenses_and_revocations_outside_the_ledger_are_noticed() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    desk.issue(&signing, "A");
    // A license row copied in without a ledger entry.
    desk.tamper(
        "INSERT INTO licenses (license_id, key_ref, account_seq, product_id, kind, customer_id,
             cluster, ip, capacity_tb, seats, issued_at, expires_at, status, listed, grace_days,
             features_id, signature)
         SELECT randomblob(16), key_ref, account_seq, product_id, kind, customer_id, cluster, ip,
                capacity_tb, seats, issued_at, expires_at, status, listed, grace_days,
                features_id, signature FROM licenses",
    );
    let (at, reason) = desk.broken();
    assert_eq!(at, None);
    assert!(reason.contains("has no ledger entry"), "{reason}");
}

#[test]
fn revoking_publishes_growing_signed_lists_tied_to_the_ledger() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let a = desk.issue(&signing, "A");
    let b = desk.issue(&signing, "B");
    let id_a = LicenseId(a.payload().license_id);
    let id_b = LicenseId(b.payload().license_id);
    let first =
        licensing::revoke(&mut desk.store, &signing, id_a, "refunded", "ada", NOW + 1).unwrap();
    let second = licensing::revoke(&mut desk.store, &signing, id_b, "", "ada", NOW + 2).unwrap();
    assert!(
        first.list().sequence < second.list().sequence,
        "sequences grow"
    );
    assert!(second.list().is_revoked(&a.payload().license_id));
    assert_eq!(
        store::licenses::get(desk.store.conn(), id_a)
            .unwrap()
            .unwrap()
            .status,
        license_desk::domain::license_status::LicenseStatus::Revoked
    );

    let ring = keys::keyring(desk.store.conn()).unwrap();
    let first_state = first.list().state().unwrap();
    let list = licensekey::verify_revocation_list(
        &second.to_file(),
        &ring,
        &licensekey::RevocationCheck::at(NOW + 2).after(&first_state),
    )
    .unwrap();
    let err = licensekey::verify(
        &a.to_serial(),
        &ring,
        &VerifyContext::for_product("Storage OS", NOW + 5).with_revocations(&list),
    );
    assert_eq!(err.err(), Some(licensekey::Error::Revoked));

    let again = licensing::revoke(&mut desk.store, &signing, id_a, "twice", "ada", NOW + 3);
    assert!(matches!(again, Err(LicensingError::AlreadyRevoked(_))));
    let unknown = licensing::revoke(&mut desk.store, &signing, LicenseId::new(), "", "ada", NOW);
    assert!(matches!(unknown, Err(LicensingError::UnknownLicense(_))));
    let control = licensing::revoke(&mut desk.store, &signing, id_b, "a\u{7}b", "ada", NOW);
    assert!(matches!(control, Err(LicensingError::Reason(_))));
    assert!(matches!(
        desk.verify(),
        ChainReport::Intact { entries: 4, .. }
    ));

    // Swapping a stored list, or editing a revocation's reason, breaks the chain.
    desk.tamper(
        "UPDATE revocation_lists SET file = (SELECT file FROM revocation_lists ORDER BY sequence LIMIT 1)
         WHERE sequence = (SELECT max(sequence) FROM revocation_lists)",
    );
    let (at, reason) = desk.broken();
    assert_eq!(at, Some(4));
    assert!(
        reason.contains("list published with the change"),
        "{reason}"
    );
    // The second list is kept as what changed since the first: changing that breaks it too.
    desk.tamper(
        "UPDATE revocation_lists SET file = NULL
         WHERE sequence = (SELECT max(sequence) FROM revocation_lists)",
    );
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    assert_eq!(
        store::revocations::latest_list(desk.store.conn())
            .unwrap()
            .unwrap()
            .file,
        second.to_file()
    );
    let path = desk.path();
    let kept = || -> Vec<rusqlite::types::Value> {
        common::raw_connection(&path)
            .query_row(
                "SELECT base_sequence, prefix, added, removed, signature FROM revocation_lists
                 WHERE sequence = (SELECT max(sequence) FROM revocation_lists)",
                [],
                |r| (0..5).map(|i| r.get(i)).collect(),
            )
            .unwrap()
    };
    let as_kept = kept();
    assert!(!matches!(as_kept[0], rusqlite::types::Value::Null));
    for edit in [
        "added = x''",
        "removed = zeroblob(16)",
        "prefix = zeroblob(40)",
        "signature = zeroblob(64)",
        "base_sequence = base_sequence - 1",
    ] {
        desk.tamper(&format!(
            "UPDATE revocation_lists SET {edit}
             WHERE sequence = (SELECT max(sequence) FROM revocation_lists)"
        ));
        let (at, reason) = desk.broken();
        assert_eq!(at, Some(4), "{edit}: {reason}");
        assert!(
            reason.contains("list published with the change"),
            "{edit}: {reason}"
        );
        common::raw_connection(&path)
            .execute(
                "UPDATE revocation_lists SET base_sequence = ?1, prefix = ?2, added = ?3,
                     removed = ?4, signature = ?5
                 WHERE sequence = (SELECT max(sequence) FROM revocation_lists)",
                rusqlite::params_from_iter(&as_kept),
            )
            .unwrap();
        assert!(
            matches!(desk.verify(), ChainReport::Intact { .. }),
            "{edit}"
        );
    }
    desk.tamper("UPDATE revocations SET reason = 'innocent' WHERE reason = 'refunded'");
    assert_eq!(desk.broken().0, Some(3));
    desk.tamper("UPDATE revocations SET reason = 'refunded' WHERE reason = 'innocent'");
    desk.tamper("UPDATE licenses SET status = 'active'");
    let (_, reason) = desk.broken();
    assert!(
        reason.contains("is marked active but the ledger says revoked"),
        "{reason}"
    );
}

#[test]
fn rotation_retires_the_old_key_which_keeps_verifying_but_no_longer_signs() {
    let mut desk = Desk::new();
    let old = desk.key("2026");
    let old_license = desk.issue(&old, "A");
    let new = desk.key("2027");
    let refused = licensing::issue(&mut desk.store, &old, &spec("B"), None, "ada", NOW);
    assert!(matches!(
        refused,
        Err(LicensingError::Keys(KeysError::Retired { .. }))
    ));
    desk.issue(&new, "B");
    let ring = keys::keyring(desk.store.conn()).unwrap();
    let err = licensekey::verify(
        &old_license.to_license_file(),
        &ring,
        &VerifyContext::for_product("Storage OS", NOW),
    );
    assert!(
        matches!(err, Err(licensekey::Error::WrongBinding(_))),
        "signature holds"
    );
    assert_eq!(
        store::licenses::count(desk.store.conn()).unwrap(),
        2,
        "nothing half-written by the refusal"
    );
}

#[test]
fn keys_are_stored_sealed_and_move_between_desks_only_with_their_passphrase() {
    let mut desk = Desk::new();
    let row = keys::generate(
        &mut desk.store,
        "main",
        PASS,
        KdfParams::IMPORT_FLOOR,
        true,
        NOW,
    )
    .unwrap();
    let seed = keys::unlock(desk.store.conn(), &row, PASS)
        .unwrap()
        .to_bytes();
    assert!(matches!(
        keys::unlock(desk.store.conn(), &row, "wrong passphrase"),
        Err(KeysError::Vault(keyvault::VaultError::WrongPassphrase))
    ));
    let weak = keys::generate(
        &mut desk.store,
        "weak",
        "short",
        KdfParams::TEST_ONLY,
        false,
        NOW,
    );
    assert!(
        weak.err()
            .unwrap()
            .to_string()
            .contains("Passphrase: needs at least")
    );
    let dup = keys::generate(
        &mut desk.store,
        "MAIN",
        PASS,
        KdfParams::TEST_ONLY,
        false,
        NOW,
    );
    assert!(matches!(dup, Err(KeysError::NameTaken(_))));

    // The seed never appears in the database file in clear.
    let path = desk.path();
    let database = desk.path();
    let file = desk.dir.path().join("main.ldkey");
    keys::export_encrypted(desk.store.conn(), &row, &file, false, &database).unwrap();
    drop(desk.store);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    bytes.extend(std::fs::read(&file).unwrap());
    assert!(!bytes.windows(32).any(|w| w == seed));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an exported key file is private");
    }

    let mut other = Desk::new();
    let wrong = keys::import(&mut other.store, &file, "wrong passphrase", false, NOW);
    assert!(matches!(
        wrong,
        Err(KeysError::Vault(keyvault::VaultError::WrongPassphrase))
    ));
    assert!(
        store::keys::list(other.store.conn()).unwrap().is_empty(),
        "nothing imported"
    );
    let imported = keys::import(&mut other.store, &file, PASS, false, NOW).unwrap();
    assert_eq!((imported.key_id, imported.active), (row.key_id, true));
    assert_eq!(
        keys::unlock(other.store.conn(), &imported, PASS)
            .unwrap()
            .to_bytes(),
        seed
    );
    assert!(matches!(
        keys::import(&mut other.store, &file, PASS, false, NOW),
        Err(KeysError::AlreadyImported(_))
    ));
}

#[test]
fn a_key_file_sealed_below_the_floor_is_refused() {
    let mut desk = Desk::new();
    let row = keys::generate(
        &mut desk.store,
        "cheap",
        PASS,
        KdfParams::TEST_ONLY,
        true,
        NOW,
    )
    .unwrap();
    let file = desk.dir.path().join("cheap.ldkey");
    let database = desk.path();
    keys::export_encrypted(desk.store.conn(), &row, &file, false, &database).unwrap();
    let mut other = Desk::new();
    let err = keys::import(&mut other.store, &file, PASS, false, NOW)
        .err()
        .unwrap();
    assert!(matches!(err, KeysError::WeakKdf { .. }), "{err}");
    assert!(err.to_string().contains("m=8192 t=1"), "{err}");
    // Files that are not regular files or are too large are refused before they are read.
    for bad in [PathBuf::from("/dev/zero"), desk.dir.path().to_path_buf()] {
        assert!(matches!(
            keys::import(&mut other.store, &bad, PASS, false, NOW),
            Err(KeysError::File(_))
        ));
    }
}

#[test]
fn a_checkpoint_is_checked_against_the_key_kept_with_it() {
    let mut desk = Desk::new();
    let signing = desk.key("main");
    for i in 0..5 {
        desk.issue(&signing, &format!("C{i}"));
    }
    let checkpoint = licensing::checkpoint(desk.store.conn(), &signing, NOW + 10).unwrap();
    assert_eq!(checkpoint.entries, 5);
    let pinned = KeyRing::new().with(signing.verifying_key()).unwrap();
    let reparsed = Checkpoint::parse(&checkpoint.to_file()).unwrap();
    reparsed.verify(&pinned).unwrap();
    let report =
        licensing::verify_ledger(desk.store.conn(), Some(&reparsed), &mut NoProgress).unwrap();
    assert!(
        matches!(report, ChainReport::Intact { entries: 5, .. }),
        "{report:?}"
    );

    // Entries issued after the checkpoint are fine.
    desk.issue(&signing, "later");
    assert!(matches!(
        licensing::verify_ledger(desk.store.conn(), Some(&reparsed), &mut NoProgress).unwrap(),
        ChainReport::Intact { entries: 6, .. }
    ));

    // Cutting the tail leaves a chain that looks intact on its own, but not against the
    // checkpoint.
    desk.tamper(
        "DELETE FROM licenses WHERE license_id IN (SELECT license_id FROM ledger WHERE seq >= 4);
         DELETE FROM ledger WHERE seq >= 4;",
    );
    assert!(matches!(
        desk.verify(),
        ChainReport::Intact { entries: 3, .. }
    ));
    let report =
        licensing::verify_ledger(desk.store.conn(), Some(&reparsed), &mut NoProgress).unwrap();
    assert_eq!(
        report,
        ChainReport::Broken {
            at: Some(4),
            reason: "entries 4–5 are missing: the ledger was cut off after the signed checkpoint"
                .into()
        }
    );

    // An attacker who imports a key of their own into the database and signs a checkpoint of
    // the rewritten ledger gets nowhere: the check uses the key kept off the machine.
    let attacker = licensekey::SigningKey::from_bytes(&[66; 32]);
    let head = ledger::head(desk.store.conn()).unwrap();
    let forged = Checkpoint::sign(3, head.hash, NOW + 30, &attacker);
    assert!(forged.verify(&pinned).is_err());
    let text_file = desk.dir.path().join("forged.ldcp");
    std::fs::write(&text_file, forged.to_file()).unwrap();
    let pub_file = desk.dir.path().join("main.pub");
    std::fs::write(
        &pub_file,
        licensekey::public_key_base64(&signing.verifying_key()),
    )
    .unwrap();
    let check = licensing::CheckpointCheck {
        checkpoint: text_file,
        public_key: pub_file.display().to_string(),
    };
    let err = licensing::read_checkpoint(&check).err().unwrap();
    assert!(
        err.to_string()
            .contains("not by the public key it was checked against"),
        "{err}"
    );
    // The real checkpoint file passes the same way.
    let real = desk.dir.path().join("real.ldcp");
    std::fs::write(&real, checkpoint.to_file()).unwrap();
    let check = licensing::CheckpointCheck {
        checkpoint: real,
        public_key: licensekey::public_key_base64(&signing.verifying_key()),
    };
    assert_eq!(licensing::read_checkpoint(&check).unwrap(), checkpoint);
}

#[test]
fn state_changes_follow_the_machine_and_the_list_follows_them() {
    use license_desk::domain::license_status::{LicenseStatus, StatusChange};
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let a = desk.issue(&signing, "A");
    let id = LicenseId(a.payload().license_id);
    let change = |desk: &mut Desk, change| {
        licensing::change_status(&mut desk.store, &signing, id, change, "", "ada", NOW)
    };
    let lists = |desk: &Desk| -> i64 {
        desk.store
            .conn()
            .query_row("SELECT count(*) FROM revocation_lists", [], |r| r.get(0))
            .unwrap()
    };

    // Suspending puts it on a new list; enabling takes it off with another.
    assert_eq!(
        change(&mut desk, StatusChange::Suspend).unwrap(),
        LicenseStatus::Suspended
    );
    assert_eq!(lists(&desk), 1);
    let latest = store::revocations::latest_list(desk.store.conn())
        .unwrap()
        .unwrap();
    let ring = keys::keyring(desk.store.conn()).unwrap();
    let list = licensekey::verify_revocation_list(
        &latest.file,
        &ring,
        &licensekey::RevocationCheck::at(NOW),
    )
    .unwrap();
    assert!(list.is_revoked(&a.payload().license_id));
    let again = change(&mut desk, StatusChange::Suspend).unwrap_err();
    assert_eq!(
        again.to_string(),
        "cannot suspend a license that is suspended: it is already suspended"
    );
    assert_eq!(
        change(&mut desk, StatusChange::Enable).unwrap(),
        LicenseStatus::Active
    );
    assert_eq!(lists(&desk), 2);
    let latest = store::revocations::latest_list(desk.store.conn())
        .unwrap()
        .unwrap();
    let list = licensekey::verify_revocation_list(
        &latest.file,
        &ring,
        &licensekey::RevocationCheck::at(NOW),
    )
    .unwrap();
    assert!(!list.is_revoked(&a.payload().license_id));

    // Superseding (a renewal) leaves the list alone; a superseded license cannot come back.
    assert_eq!(
        change(&mut desk, StatusChange::Supersede).unwrap(),
        LicenseStatus::Superseded
    );
    assert_eq!(lists(&desk), 2);
    assert!(change(&mut desk, StatusChange::Enable).is_err());
    assert_eq!(
        change(&mut desk, StatusChange::Delete).unwrap(),
        LicenseStatus::Deleted
    );
    assert_eq!(lists(&desk), 3, "deleting a working license lists it");
    assert!(change(&mut desk, StatusChange::Delete).is_err());
    assert!(matches!(
        desk.verify(),
        ChainReport::Intact { entries: 5, .. }
    ));

    // Changing a state behind the ledger's back, or an entry's state, is noticed.
    desk.tamper("UPDATE licenses SET status = 'active'");
    assert!(
        desk.broken()
            .1
            .contains("is marked active but the ledger says deleted")
    );
    desk.tamper("UPDATE licenses SET status = 'deleted'");
    desk.tamper("UPDATE ledger SET status = 'active' WHERE seq = 4");
    assert_eq!(desk.broken().0, Some(4));
}

/// Every list published is read back as it was published, though most are kept as what
/// changed since the one before (and one in every 33 whole).
#[test]
fn lists_kept_as_changes_read_back_as_published() {
    use license_desk::domain::license_status::StatusChange;
    use std::collections::BTreeSet;
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let ids: Vec<LicenseId> = (0..6)
        .map(|i| LicenseId(desk.issue(&signing, &format!("C{i}")).payload().license_id))
        .collect();
    let mut suspended = BTreeSet::new();
    let mut published = Vec::new();
    for step in 0..70u64 {
        // Suspends and enables in an order that both adds serials and takes them off.
        let id = ids[usize::try_from(step * 5 % 6).unwrap()];
        let change = if suspended.insert(id) {
            StatusChange::Suspend
        } else {
            suspended.remove(&id);
            StatusChange::Enable
        };
        let at = NOW + i64::try_from(step).unwrap();
        licensing::change_status(&mut desk.store, &signing, id, change, "", "ada", at).unwrap();
        let list = store::revocations::latest_list(desk.store.conn())
            .unwrap()
            .unwrap();
        let parsed = licensekey::SignedRevocationList::parse(&list.file).unwrap();
        let named: BTreeSet<LicenseId> = parsed
            .list()
            .revoked
            .iter()
            .map(|u| LicenseId(*u))
            .collect();
        assert_eq!(named, suspended, "list after step {step}");
        published.push((list.sequence, list.file));
    }
    for (sequence, file) in &published {
        let read = store::revocations::list(desk.store.conn(), *sequence)
            .unwrap()
            .unwrap();
        assert_eq!(&read.file, file, "list {sequence}");
    }
    let whole: Vec<bool> = desk
        .store
        .conn()
        .prepare("SELECT file IS NOT NULL FROM revocation_lists ORDER BY sequence")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<bool> = (0..70).map(|i| i % 33 == 0).collect();
    assert_eq!(whole, expected);
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
}

/// A list published after one whose stored changes were damaged is kept whole: suspending
/// still works, the new list reads back as published, and `verify` still finds the damage.
#[test]
fn a_list_after_a_damaged_one_is_kept_whole() {
    use license_desk::domain::license_status::StatusChange;
    let mut desk = Desk::new();
    let signing = desk.key("main");
    let ids: Vec<LicenseId> = ["A", "B", "C"]
        .iter()
        .map(|c| LicenseId(desk.issue(&signing, c).payload().license_id))
        .collect();
    let suspend = |desk: &mut Desk, id: LicenseId, at: i64| {
        licensing::change_status(
            &mut desk.store,
            &signing,
            id,
            StatusChange::Suspend,
            "",
            "ada",
            at,
        )
        .unwrap();
        store::revocations::latest_list(desk.store.conn())
            .unwrap()
            .unwrap()
    };
    suspend(&mut desk, ids[0], NOW + 1);
    let second = suspend(&mut desk, ids[1], NOW + 2);
    desk.tamper(&format!(
        "UPDATE revocation_lists SET removed = zeroblob(16) WHERE sequence = {}",
        second.sequence
    ));
    let third = suspend(&mut desk, ids[2], NOW + 3);
    let named: Vec<LicenseId> = licensekey::SignedRevocationList::parse(&third.file)
        .unwrap()
        .list()
        .revoked
        .iter()
        .map(|u| LicenseId(*u))
        .collect();
    assert_eq!(
        named.len(),
        3,
        "the third list names every suspended license"
    );
    assert!(ids.iter().all(|id| named.contains(id)));
    let whole: bool = common::raw_connection(&desk.path())
        .query_row(
            "SELECT file IS NOT NULL FROM revocation_lists WHERE sequence = ?1",
            [i64::try_from(third.sequence).unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(whole, "kept whole");
    let read = store::revocations::list(desk.store.conn(), third.sequence)
        .unwrap()
        .unwrap();
    assert_eq!(read.file, third.file);
    let (_, reason) = desk.broken();
    assert!(
        reason.contains("list published with the change"),
        "{reason}"
    );
}

/// A ledger entry names its account by number: each account is kept once, every entry reads
/// back with its account, and an entry pointed at another account is found changed.
#[test]
fn ledger_entries_name_their_accounts_by_number() {
    let (mut desk, signing, acme, other) = Desk::with_two_accounts();
    for (customer, account) in [("Acme", acme.id), ("Other", other.id), ("Acme", acme.id)] {
        licensing::issue(
            &mut desk.store,
            &signing,
            &spec(customer),
            Some(account),
            "ada",
            NOW,
        )
        .unwrap();
    }
    desk.issue(&signing, "Walk-in");
    let conn = desk.store.conn();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM ledger_accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 2);
    let accounts: Vec<_> = ledger::page(conn, None, 0, 10)
        .unwrap()
        .into_iter()
        .rev()
        .map(|row| row.account_id)
        .collect();
    assert_eq!(
        accounts,
        [Some(acme.id), Some(other.id), Some(acme.id), None]
    );
    assert!(matches!(desk.verify(), ChainReport::Intact { .. }));
    desk.tamper("UPDATE ledger SET account_ref = 2 WHERE seq = 1");
    assert_eq!(
        desk.broken(),
        (
            Some(1),
            "its contents were changed (hash does not match)".into()
        )
    );
}
