//! Issuing, revoking and the ledger's hash chain, through the service layer the GUI worker
//! and the CLI share.
#![allow(clippy::unwrap_used)]

use keyvault::KdfParams;
use license_desk::domain::issue::{IssueDraft, IssueSpec};
use license_desk::error::DeskError;
use license_desk::issuance;
use license_desk::store::ledger::{self, ChainReport};
use license_desk::store::{self, Store};
use license_desk::vault;
use licensekey::{LicenseKind, RevocationCheck, RevocationState, VerifyContext};

const NOW: i64 = 1_795_435_200;
const PASS: &str = "a long enough passphrase";

fn desk() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    (dir, store)
}

fn spec(customer: &str) -> IssueSpec {
    IssueDraft {
        product: "Storage OS".into(),
        customer: customer.into(),
        kind: LicenseKind::Pro,
        ..IssueDraft::default()
    }
    .validate()
    .unwrap()
}

fn key(store: &mut Store, name: &str) -> licensekey::SigningKey {
    let row = vault::generate(store, name, PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    vault::unlock(store.conn(), &row, PASS).unwrap()
}

#[test]
fn issued_licenses_verify_and_chain_in_the_ledger() {
    let (_dir, mut store) = desk();
    let signing = key(&mut store, "main");
    let specs: Vec<_> = (0..25).map(|i| spec(&format!("Customer {i}"))).collect();
    let mut seen = Vec::new();
    let issued = issuance::issue_many(&mut store, &signing, &specs, None, "ada", NOW, |n| {
        seen.push(n);
        true
    })
    .unwrap();
    assert_eq!(issued.len(), 25);
    assert_eq!(seen.last(), Some(&25));
    let ring = vault::keyring(store.conn()).unwrap();
    for license in &issued {
        licensekey::verify(
            &license.to_serial(),
            &ring,
            &VerifyContext::any_product(NOW + 10),
        )
        .unwrap();
    }
    assert_eq!(store::licenses::count(store.conn()).unwrap(), 25);
    let report = ledger::verify(store.conn(), |_| {}).unwrap();
    assert!(
        matches!(report, ChainReport::Intact { entries: 25, .. }),
        "{report:?}"
    );
}

#[test]
fn the_ledger_reports_the_first_broken_link() {
    let (dir, mut store) = desk();
    let signing = key(&mut store, "main");
    for i in 0..5 {
        issuance::issue(
            &mut store,
            &signing,
            &spec(&format!("C{i}")),
            None,
            "ada",
            NOW + i,
        )
        .unwrap();
    }
    let path = dir.path().join("desk.sqlite3");
    let tamper = |sql: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(sql).unwrap();
    };
    let broken_at = |store: &Store| match ledger::verify(store.conn(), |_| {}).unwrap() {
        ChainReport::Broken { seq, reason } => (seq, reason),
        ChainReport::Intact { .. } => panic!("tampering went unnoticed"),
    };

    tamper("UPDATE ledger SET operator = 'mallory' WHERE seq = 3");
    assert_eq!(
        broken_at(&store),
        (3, "its contents were changed (hash does not match)".into())
    );
    tamper("UPDATE ledger SET operator = 'ada' WHERE seq = 3");
    assert!(matches!(
        ledger::verify(store.conn(), |_| {}).unwrap(),
        ChainReport::Intact { .. }
    ));

    let conn = rusqlite::Connection::open(&path).unwrap();
    let original: Vec<u8> = conn
        .query_row(
            "SELECT artifact FROM issued_licenses WHERE seq = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    tamper("UPDATE issued_licenses SET artifact = artifact || x'00' WHERE seq = 2");
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 2);
    assert!(
        reason.ends_with("was changed after it was issued"),
        "{reason}"
    );
    conn.execute(
        "UPDATE issued_licenses SET artifact = ?1 WHERE seq = 2",
        [&original],
    )
    .unwrap();
    assert!(matches!(
        ledger::verify(store.conn(), |_| {}).unwrap(),
        ChainReport::Intact { .. }
    ));

    tamper("DELETE FROM ledger WHERE seq = 4");
    assert_eq!(
        broken_at(&store),
        (4, "entry 4 is missing (next entry is 5)".into())
    );
}

#[test]
fn revoking_publishes_growing_signed_lists() {
    let (_dir, mut store) = desk();
    let signing = key(&mut store, "main");
    let a = issuance::issue(&mut store, &signing, &spec("A"), None, "ada", NOW).unwrap();
    let b = issuance::issue(&mut store, &signing, &spec("B"), None, "ada", NOW).unwrap();
    let id_a = a.payload().license_id.to_string();
    let first = issuance::revoke(&mut store, &signing, &id_a, "refunded", "ada", NOW + 1).unwrap();
    let second = issuance::revoke(
        &mut store,
        &signing,
        &b.payload().license_id.to_string(),
        "",
        "ada",
        NOW + 2,
    )
    .unwrap();
    assert_eq!((first.list().sequence, second.list().sequence), (1, 2));
    assert!(second.list().is_revoked(&a.payload().license_id));

    let ring = vault::keyring(store.conn()).unwrap();
    let after_first = RevocationState::sequence_only(1);
    let check = RevocationCheck::at(NOW + 5).after(&after_first);
    let list = licensekey::verify_revocation_list(&second.to_file(), &ring, &check).unwrap();
    let err = licensekey::verify(
        &a.to_serial(),
        &ring,
        &VerifyContext::any_product(NOW + 5).with_revocations(&list),
    );
    assert_eq!(err.err(), Some(licensekey::Error::Revoked));
    let after_second = list.state().unwrap();
    let check = RevocationCheck::at(NOW + 5).after(&after_second);
    assert!(
        licensekey::verify_revocation_list(&first.to_file(), &ring, &check).is_err(),
        "no replay of an older list"
    );

    let again = issuance::revoke(&mut store, &signing, &id_a, "twice", "ada", NOW + 3);
    assert!(again.err().unwrap().to_string().contains("already revoked"));
    let unknown = issuance::revoke(&mut store, &signing, "not-a-uuid", "", "ada", NOW);
    assert!(unknown.err().unwrap().to_string().contains("is not a UUID"));
    assert!(matches!(
        ledger::verify(store.conn(), |_| {}).unwrap(),
        ChainReport::Intact { entries: 4, .. }
    ));
}

#[test]
fn rotation_retires_the_old_key_which_keeps_verifying_but_no_longer_signs() {
    let (_dir, mut store) = desk();
    let old = key(&mut store, "2026");
    let old_license = issuance::issue(&mut store, &old, &spec("A"), None, "ada", NOW).unwrap();
    let new = key(&mut store, "2027");
    let refused = issuance::issue(&mut store, &old, &spec("B"), None, "ada", NOW);
    assert!(matches!(refused, Err(DeskError::Other(m)) if m.contains("is retired")));
    issuance::issue(&mut store, &new, &spec("B"), None, "ada", NOW).unwrap();
    let ring = vault::keyring(store.conn()).unwrap();
    licensekey::verify(
        &old_license.to_license_file(),
        &ring,
        &VerifyContext::any_product(NOW),
    )
    .unwrap();
    assert_eq!(
        store::licenses::count(store.conn()).unwrap(),
        2,
        "nothing half-written by the refusal"
    );
}

#[test]
fn keys_are_stored_sealed_and_move_between_desks() {
    let (dir, mut store) = desk();
    let row = vault::generate(&mut store, "main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let seed = vault::unlock(store.conn(), &row, PASS).unwrap().to_bytes();
    assert!(matches!(
        vault::unlock(store.conn(), &row, "wrong passphrase"),
        Err(DeskError::Vault(keyvault::VaultError::WrongPassphrase))
    ));
    let weak = vault::generate(
        &mut store,
        "weak",
        "short",
        KdfParams::TEST_ONLY,
        false,
        NOW,
    );
    assert!(matches!(
        weak,
        Err(DeskError::Vault(
            keyvault::VaultError::WeakPassphrase { .. }
        ))
    ));
    let dup = vault::generate(&mut store, "MAIN", PASS, KdfParams::TEST_ONLY, false, NOW);
    assert!(
        dup.err()
            .unwrap()
            .to_string()
            .contains("already in the vault")
    );

    // The seed never appears in the database file in clear.
    drop(store);
    let mut bytes = std::fs::read(dir.path().join("desk.sqlite3")).unwrap();
    bytes.extend(std::fs::read(dir.path().join("desk.sqlite3-wal")).unwrap_or_default());
    assert!(!bytes.windows(32).any(|w| w == seed));

    let store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    let exported = vault::export_encrypted(store.conn(), &row).unwrap();
    let (_other_dir, mut other) = desk();
    let imported = vault::import(&mut other, &exported, false).unwrap();
    assert_eq!(
        (imported.key_id.as_str(), imported.active),
        (row.key_id.as_str(), true)
    );
    assert_eq!(
        vault::unlock(other.conn(), &imported, PASS)
            .unwrap()
            .to_bytes(),
        seed
    );
    assert!(
        vault::import(&mut other, &exported, false).is_err(),
        "importing twice is refused"
    );
    assert!(vault::import(&mut other, "garbage", false).is_err());
}

#[test]
fn a_signed_checkpoint_catches_entries_cut_off_the_end() {
    let (dir, mut store) = desk();
    let signing = key(&mut store, "main");
    for i in 0..5 {
        issuance::issue(
            &mut store,
            &signing,
            &spec(&format!("C{i}")),
            None,
            "ada",
            NOW + i,
        )
        .unwrap();
    }
    let checkpoint = issuance::checkpoint(&store, &signing, NOW + 10).unwrap();
    assert_eq!(checkpoint.entries, 5);
    let reparsed =
        license_desk::domain::checkpoint::Checkpoint::parse(&checkpoint.to_file()).unwrap();
    let report = issuance::verify_ledger(store.conn(), Some(&reparsed), |_| {}).unwrap();
    assert!(
        matches!(report, ChainReport::Intact { entries: 5, .. }),
        "{report:?}"
    );

    // Entries issued after the checkpoint are fine.
    issuance::issue(&mut store, &signing, &spec("later"), None, "ada", NOW + 20).unwrap();
    assert!(matches!(
        issuance::verify_ledger(store.conn(), Some(&reparsed), |_| {}).unwrap(),
        ChainReport::Intact { entries: 6, .. }
    ));

    // Cutting the tail (ledger rows and their licenses) leaves a chain that looks intact on
    // its own, but not against the checkpoint.
    let conn = rusqlite::Connection::open(dir.path().join("desk.sqlite3")).unwrap();
    conn.execute_batch(
        "DELETE FROM issued_licenses WHERE license_id IN (SELECT license_id FROM ledger WHERE seq >= 4);
         DELETE FROM ledger WHERE seq >= 4;",
    )
    .unwrap();
    assert!(matches!(
        ledger::verify(store.conn(), |_| {}).unwrap(),
        ChainReport::Intact { entries: 3, .. }
    ));
    let report = issuance::verify_ledger(store.conn(), Some(&reparsed), |_| {}).unwrap();
    assert_eq!(
        report,
        ChainReport::Broken {
            seq: 4,
            reason: "entries 4–5 are missing: the ledger was cut off after the signed checkpoint"
                .into()
        }
    );

    // An edited checkpoint file is refused.
    let forged = checkpoint.to_file().replace("Entries: 5", "Entries: 3");
    let forged = license_desk::domain::checkpoint::Checkpoint::parse(&forged).unwrap();
    let err = issuance::verify_ledger(store.conn(), Some(&forged), |_| {})
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "checkpoint signature does not verify (the file was changed)"
    );
}
