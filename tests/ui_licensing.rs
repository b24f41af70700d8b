//! UI flows of signing keys, offline issue from a request file, and the ledger.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::store::{self, Store};
use licensekey::{LicenseRequest, LicenseStatus, MachineInfo, Uuid, VerifyContext};
use std::sync::Arc;

const PASSPHRASE: &str = "correct horse battery";

fn generate_and_unlock_key(
    harness: &mut egui_kittest::Harness<'_, license_desk::app::LicenseDeskApp>,
) {
    open_page(harness, "Signing keys");
    assert!(shows(harness, "No signing keys yet"));
    click(harness, "Generate key");
    type_into(harness, "Key name", "Main 2026");
    type_into(harness, "Passphrase", "short");
    assert!(shows(harness, "Passphrase: needs at least 10 characters"));
    let field = harness.get_by_role_and_label(Role::PasswordInput, "Passphrase");
    field.focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase")
        .type_text(" enough now");
    harness.run_ok();
    type_into(harness, "Repeat passphrase", "short enough now");
    click(harness, "Create key");
    settle(harness);
    assert!(harness.query_by_label("Active").is_some());
    assert!(harness.query_by_label("Locked").is_some());

    click(harness, "Unlock Main 2026");
    let field = harness.get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock");
    field.focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock")
        .type_text("wrong passphrase");
    harness.run_ok();
    click(harness, "Unlock");
    settle(harness);
    assert!(
        harness.query_by_label("Locked").is_some(),
        "a wrong passphrase unlocks nothing"
    );
    assert!(
        harness
            .state()
            .toasts()
            .texts()
            .any(|t| t.starts_with("Unlock key failed"))
    );

    click(harness, "Unlock Main 2026");
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock")
        .focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock")
        .type_text("short enough now");
    harness.run_ok();
    click(harness, "Unlock");
    settle(harness);
    assert!(harness.query_by_label("Unlocked").is_some());
}

#[test]
fn issue_offline_from_a_request_file_save_the_license_and_verify_the_ledger() {
    let desk = TempDesk::new();
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    let _ = PASSPHRASE;
    generate_and_unlock_key(&mut harness);

    // The customer's machine made this request file.
    let cluster = Uuid::parse_str("123e4567-e89b-12d3-a456-426614174000").unwrap();
    let request = LicenseRequest::for_this_machine(Some(cluster), TEST_NOW).unwrap();
    let request_path = desk.dir.path().join("cluster.ldreq");
    std::fs::write(&request_path, request.to_file().unwrap()).unwrap();
    dialogs.push_open(request_path);

    open_page(&mut harness, "Licenses");
    click(&mut harness, "Issue a license");
    click(&mut harness, "Open request file…");
    settle(&mut harness);
    assert!(shows(&harness, "Request from"));
    let cluster_field = harness.get_by_role_and_label(Role::TextInput, "Cluster UUID");
    assert_eq!(
        cluster_field.value().as_deref(),
        Some("123e4567-e89b-12d3-a456-426614174000")
    );

    type_into(&mut harness, "Product", "Storage OS");
    type_into(&mut harness, "Customer", "Acme Storage");
    type_into(&mut harness, "Features", "snapshots, replication");
    click(&mut harness, "Issue license");
    settle(&mut harness);
    let toasts: Vec<String> = harness.state().toasts().texts().map(String::from).collect();
    assert!(shows(&harness, "License ID: "), "{toasts:?}");
    assert!(shows(&harness, "Expires 2027-11-23"));
    assert!(harness.query_by_label("QR code of the serial").is_some());
    assert!(shows(&harness, "LD1-"));

    let license_path = desk.dir.path().join("acme.lic");
    dialogs.push_save(license_path.clone());
    click(&mut harness, "Save license file…");
    settle(&mut harness);

    // The saved file verifies with nothing but the public key, on the customer's machine.
    let db = Store::open(&desk.database()).unwrap();
    let keys = license_desk::services::keys::keyring(db.conn()).unwrap();
    let text = std::fs::read_to_string(&license_path).unwrap();
    let machine = MachineInfo::collect();
    let ctx = VerifyContext::for_product("Storage OS", TEST_NOW + 3600)
        .with_cluster(cluster)
        .with_machine(&machine);
    let verified = licensekey::verify(&text, &keys, &ctx).unwrap();
    assert_eq!(verified.status, LicenseStatus::Valid);
    assert_eq!(verified.payload.product, "Storage OS");
    assert_eq!(verified.payload.features, ["replication", "snapshots"]);
    let other = Uuid::from_bytes([1; 16]);
    assert!(
        licensekey::verify(
            &text,
            &keys,
            &VerifyContext::for_product("Storage OS", TEST_NOW)
                .with_cluster(other)
                .with_machine(&machine)
        )
        .is_err()
    );
    assert_eq!(store::licenses::count(db.conn()).unwrap(), 1);

    open_page(&mut harness, "Ledger");
    click(&mut harness, "Verify chain");
    settle(&mut harness);
    assert!(shows(&harness, "Chain intact: 1 entries"));
    assert!(harness.query_by_label("issue").is_some());

    // A signed checkpoint kept elsewhere catches the newest entry being cut off.
    let checkpoint = desk.dir.path().join("ledger.ldcp");
    dialogs.push_save(checkpoint.clone());
    click(&mut harness, "Save signed checkpoint…");
    settle(&mut harness);
    assert!(
        std::fs::read_to_string(&checkpoint)
            .unwrap()
            .starts_with("License Desk ledger checkpoint v1\nEntries: 1\n")
    );
    // The public key kept with it, off this machine (here: read before the tampering).
    let public_key = {
        let reader = license_desk::store::open_read_only(&desk.database()).unwrap();
        license_desk::store::keys::list(&reader).unwrap()[0]
            .public_key
            .clone()
    };
    let raw = raw_connection(&desk.database());
    raw.execute_batch("DELETE FROM licenses; DELETE FROM ledger;")
        .unwrap();
    click(&mut harness, "Verify against checkpoint…");
    dialogs.push_open(checkpoint);
    click(&mut harness, "Choose checkpoint file…");
    type_into(&mut harness, "Public key (file or base64)", &public_key);
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Verify against checkpoint")
        .click();
    harness.run_ok();
    settle(&mut harness);
    assert!(shows(
        &harness,
        "Chain broken at entry 1: entry 1 is missing: the ledger was cut off after the signed checkpoint"
    ));
}

#[test]
fn a_dropped_request_file_opens_the_prefilled_form() {
    #[derive(Debug)]
    struct Dropped(std::path::PathBuf);
    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            std::fs::read(&self.0).map_err(|e| e.to_string())
        }
    }

    let desk = TempDesk::new();
    let mut harness = harness(&desk);
    let cluster = Uuid::from_bytes([0x42; 16]);
    let request = LicenseRequest::for_this_machine(Some(cluster), TEST_NOW).unwrap();
    let path = desk.dir.path().join("dropped.ldreq");
    std::fs::write(&path, request.to_file().unwrap()).unwrap();
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path)));
    harness.run_ok();
    settle(&mut harness);
    assert_eq!(harness.state().page(), license_desk::app::Page::Licenses);
    let field = harness.get_by_role_and_label(Role::TextInput, "Cluster UUID");
    assert_eq!(field.value(), Some(cluster.to_string()));
    // No key yet: the form says why it cannot issue.
    assert!(shows(
        &harness,
        "Signing key: none yet: generate one under Signing keys"
    ));
}

#[test]
fn a_broken_request_file_is_refused_with_a_message() {
    let desk = TempDesk::new();
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    let path = desk.dir.path().join("broken.ldreq");
    std::fs::write(
        &path,
        "-----BEGIN LICENSE DESK LICENSE REQUEST-----\nAAAA\n",
    )
    .unwrap();
    dialogs.push_open(path);
    open_page(&mut harness, "Licenses");
    click(&mut harness, "Issue a license");
    click(&mut harness, "Open request file…");
    settle(&mut harness);
    let toasts: Vec<String> = harness.state().toasts().texts().map(String::from).collect();
    assert!(
        toasts
            .iter()
            .any(|t| t.starts_with("Open request file failed: ")
                && t.contains("broken.ldreq")
                && t.contains("malformed")),
        "{toasts:?}"
    );
    assert!(!shows(&harness, "Request from"));
}

#[test]
fn rotating_keeps_old_keys_verifying_and_exports_public_keys() {
    let desk = TempDesk::new();
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut harness = harness_with(&desk, Arc::clone(&dialogs));
    generate_and_unlock_key(&mut harness);
    click(&mut harness, "Public key (pem)");
    let shown = field(&harness, "Public key (pem)")
        .value()
        .unwrap_or_default();
    assert!(shown.starts_with("-----BEGIN PUBLIC KEY-----"), "{shown}");
    let pem_path = desk.dir.path().join("main.pem");
    dialogs.push_save(pem_path.clone());
    click(&mut harness, "Save public key…");
    settle(&mut harness);
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    let first = licensekey::parse_public_key(&pem).unwrap();

    click(&mut harness, "Rotate: generate a new key");
    type_into(&mut harness, "Key name", "Next 2027");
    type_into(&mut harness, "Passphrase", "another long passphrase");
    type_into(&mut harness, "Repeat passphrase", "another long passphrase");
    click(&mut harness, "Create key");
    settle(&mut harness);
    assert!(harness.query_by_label("Retired").is_some());
    let db = Store::open(&desk.database()).unwrap();
    let keys = store::keys::list(db.conn()).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].name, "Next 2027");
    assert!(keys[0].active && !keys[1].active);
    let ring = license_desk::services::keys::keyring(db.conn()).unwrap();
    assert!(
        ring.get(&licensekey::KeyId::of(&first)).is_some(),
        "the retired key still verifies"
    );

    // The encrypted key file moves a key to another desk.
    let key_file = desk.dir.path().join("next.ldkey");
    dialogs.push_save(key_file.clone());
    click(&mut harness, "Export encrypted key file of Next 2027");
    settle(&mut harness);
    let sealed = std::fs::read_to_string(&key_file).unwrap();
    assert!(sealed.starts_with("-----BEGIN LICENSE DESK ENCRYPTED SIGNING KEY-----"));

    let other = TempDesk::new();
    let other_dialogs = Arc::new(ScriptedDialogs::default());
    let mut other_harness = harness_with(&other, Arc::clone(&other_dialogs));
    other_dialogs.push_open(key_file);
    open_page(&mut other_harness, "Signing keys");
    click(&mut other_harness, "Choose encrypted key file…");
    // A wrong passphrase is refused under the field, and nothing is imported.
    type_into(
        &mut other_harness,
        "Passphrase of the key file",
        "not the passphrase",
    );
    click(&mut other_harness, "Import key");
    settle(&mut other_harness);
    assert!(shows(
        &other_harness,
        "Passphrase of the key file: key vault: wrong passphrase"
    ));
    assert!(other_harness.query_by_label("Next 2027").is_none());
    type_into(
        &mut other_harness,
        "Passphrase of the key file",
        "another long passphrase",
    );
    click(&mut other_harness, "Import key");
    settle(&mut other_harness);
    assert!(other_harness.query_by_label("Next 2027").is_some());
}
