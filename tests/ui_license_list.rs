//! UI flows of the license list, driven by label as a person would: filtering by each field,
//! suspending and enabling (and seeing both in the ledger), a transfer to a partner with a
//! wrong and then the right secret, and an offline deactivation freeing the seat.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use keyvault::KdfParams;
use license_desk::app::LicenseDeskApp;
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::domain::account::Account;
use license_desk::domain::ids::{AccountId, LicenseId};
use license_desk::domain::issue::{IssueDraft, IssueSpec};
use license_desk::domain::license_status::{LicenseStatus, StatusChange};
use license_desk::services::bulk::{self, BulkItem};
use license_desk::services::{NoProgress, accounts, keys, licensing};
use license_desk::store::{self, Store};
use licensekey::{LicenseKind, LicenseRequest, SignedDeactivation, SigningKey, Uuid};
use std::sync::Arc;

const PASSPHRASE: &str = "a long enough passphrase";
const KEY_NAME: &str = "Main";

type App = Harness<'static, LicenseDeskApp>;

/// A desk with a signing key (locked again once the store closes) and what the test adds.
struct Seeded {
    desk: TempDesk,
    store: Store,
    signing: SigningKey,
}

impl Seeded {
    fn new() -> Self {
        let desk = TempDesk::new();
        let mut store = Store::open(&desk.database()).expect("test setup");
        let row = keys::generate(
            &mut store,
            KEY_NAME,
            PASSPHRASE,
            KdfParams::IMPORT_FLOOR,
            true,
            TEST_NOW,
        )
        .expect("test setup");
        let signing = keys::unlock(store.conn(), &row, PASSPHRASE).expect("test setup");
        Self {
            desk,
            store,
            signing,
        }
    }

    fn account(&mut self, name: &str) -> Account {
        accounts::create(&mut self.store, name, TEST_NOW).expect("test setup")
    }

    fn issue(&mut self, spec: &IssueSpec, account: Option<AccountId>) -> LicenseId {
        let license = licensing::issue(
            &mut self.store,
            &self.signing,
            spec,
            account,
            "ada",
            TEST_NOW,
        )
        .expect("test setup");
        LicenseId(license.payload().license_id)
    }

    /// The app over this desk (the test's store closes first).
    fn open(self, dialogs: Arc<ScriptedDialogs>) -> (TempDesk, App) {
        drop(self.store);
        let harness = harness_with(&self.desk, dialogs);
        (self.desk, harness)
    }
}

fn spec(customer: &str, product: &str, ip: &str, kind: LicenseKind, days: &str) -> IssueSpec {
    IssueDraft {
        product: product.into(),
        customer: customer.into(),
        kind,
        ip: ip.into(),
        seats: "5".into(),
        days: days.into(),
        perpetual: days.is_empty() && kind != LicenseKind::Eval,
        ..IssueDraft::default()
    }
    .validate()
    .expect("test setup")
}

/// Unlocks the desk's signing key under Signing keys.
fn unlock_key(harness: &mut App) {
    open_page(harness, "Signing keys");
    click(harness, &format!("Unlock {KEY_NAME}"));
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock")
        .focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Passphrase to unlock")
        .type_text(PASSPHRASE);
    harness.run_ok();
    click(harness, "Unlock");
    settle(harness);
    assert!(harness.query_by_label("Unlocked").is_some());
}

/// Which of `names` the list shows now.
fn listed<'a>(harness: &App, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| shows(harness, name))
        .collect()
}

/// Picks `choice` in the combo box labelled `combo`.
fn choose(harness: &mut App, combo: &str, choice: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run_ok();
    harness
        .query_all_by_role_and_label(Role::Button, choice)
        .last()
        .expect("the choice is shown")
        .click();
    harness.run_ok();
    settle(harness);
}

/// Clicks the last button labelled `label` (a dialog's, drawn over the page's own).
fn click_last(harness: &mut App, label: &str) {
    harness
        .query_all_by_role_and_label(Role::Button, label)
        .last()
        .expect("the button is shown")
        .click();
    harness.run_ok();
}

/// Chooses the license in the list by its ID.
fn choose_license(harness: &mut App, id: LicenseId) {
    harness.get_by_label(&id.to_string()).click();
    harness.run_ok();
}

#[test]
fn the_list_filters_by_each_field_and_the_filter_can_be_removed() {
    let mut seeded = Seeded::new();
    let item = |spec: IssueSpec, order_months| BulkItem {
        spec,
        account: None,
        order_months,
        issued_at: None,
    };
    // Expiries: Eval 2026-12-23, Pro 90 days 2027-02-21, Pro 365 days 2027-11-23, perpetual.
    let items = [
        item(
            spec(
                "Initech",
                "Storage OS",
                "192.0.2.7",
                LicenseKind::Pro,
                "365",
            ),
            Some(12),
        ),
        item(
            spec("Globex", "Backup Suite", "10.1.2.3", LicenseKind::Pro, "90"),
            Some(3),
        ),
        item(
            spec(
                "Umbrella",
                "Storage OS",
                "198.51.100.4",
                LicenseKind::Eval,
                "",
            ),
            Some(1),
        ),
        item(
            spec("Hooli", "Archive Vault", "", LicenseKind::Dev, ""),
            None,
        ),
    ];
    let mut ids = Vec::new();
    bulk::issue(
        &mut seeded.store,
        &seeded.signing,
        &items[..],
        "ada",
        TEST_NOW,
        &mut NoProgress,
        |l| {
            ids.push(LicenseId(l.payload().license_id));
            Ok(())
        },
    )
    .expect("test setup");
    licensing::change_status(
        &mut seeded.store,
        &seeded.signing,
        ids[1],
        StatusChange::Suspend,
        "",
        "ada",
        TEST_NOW,
    )
    .expect("test setup");
    let (_desk, mut harness) = seeded.open(Arc::new(ScriptedDialogs::default()));
    let all = ["Initech", "Globex", "Umbrella", "Hooli"];

    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    assert_eq!(listed(&harness, &all), all, "every license is listed");
    assert!(shows(&harness, "4 licenses"));
    for column in [
        "ID",
        "Name",
        "IP",
        "Software",
        "Order period",
        "Expiry",
        "Status",
    ] {
        assert!(
            harness.query_all_by_label_contains(column).next().is_some(),
            "column {column}"
        );
    }

    let by_text = |harness: &mut App, field: &str, text: &str, expect: &[&str]| {
        type_into(harness, field, text);
        settle(harness);
        assert_eq!(listed(harness, &all), expect, "{field} = {text}");
        click(harness, "Remove filter");
        settle(harness);
        assert_eq!(listed(harness, &all), all, "after removing {field}");
    };
    // ID: a part of it, from its middle.
    let initech_id = ids[0].to_string();
    by_text(&mut harness, "ID", &initech_id[24..32], &["Initech"]);
    by_text(&mut harness, "Name", "glob", &["Globex"]);
    by_text(&mut harness, "IP", "198.51", &["Umbrella"]);
    by_text(
        &mut harness,
        "Software",
        "Storage",
        &["Initech", "Umbrella"],
    );
    by_text(
        &mut harness,
        "Expires from",
        "2027-01-01",
        &["Initech", "Globex"],
    );
    by_text(&mut harness, "Expires until", "2027-01-01", &["Umbrella"]);

    choose(&mut harness, "Order period", "Quarterly");
    assert_eq!(listed(&harness, &all), ["Globex"]);
    click(&mut harness, "Remove filter");
    settle(&mut harness);
    choose(&mut harness, "Order period", "— (none)");
    assert_eq!(listed(&harness, &all), ["Hooli"]);
    click(&mut harness, "Remove filter");
    settle(&mut harness);

    choose(&mut harness, "Status", "Suspended");
    assert_eq!(listed(&harness, &all), ["Globex"]);
    choose(&mut harness, "Status", "Active");
    assert_eq!(listed(&harness, &all), ["Initech", "Umbrella", "Hooli"]);
    click(&mut harness, "Remove filter");
    settle(&mut harness);

    // Fields combine; a bad date is named under its field and filters nothing.
    type_into(&mut harness, "Software", "Storage");
    type_into(&mut harness, "Name", "umb");
    settle(&mut harness);
    assert_eq!(listed(&harness, &all), ["Umbrella"]);
    type_into(&mut harness, "Expires from", "tomorrow");
    assert!(shows(&harness, "'tomorrow' is not a date like 2027-01-31"));
    click(&mut harness, "Remove filter");
    settle(&mut harness);
    assert_eq!(listed(&harness, &all), all);

    // Any header sorts; a second click reverses.
    click(&mut harness, "Name");
    settle(&mut harness);
    click(&mut harness, "Name");
    settle(&mut harness);
    assert_eq!(listed(&harness, &all), all);
}

#[test]
fn suspend_and_enable_again_and_the_ledger_shows_both() {
    let mut seeded = Seeded::new();
    let account = seeded.account("Acme Storage");
    let id = seeded.issue(
        &spec(
            "Acme Storage",
            "Storage OS",
            "192.0.2.7",
            LicenseKind::Pro,
            "365",
        ),
        Some(account.id),
    );
    let (desk, mut harness) = seeded.open(Arc::new(ScriptedDialogs::default()));
    unlock_key(&mut harness);

    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    choose_license(&mut harness, id);
    assert!(shows(&harness, &format!("License {id}")));
    assert!(shows(&harness, "Account: Acme Storage"));

    // Disable asks first, naming the license; cancelling changes nothing.
    click(&mut harness, "Disable");
    assert!(shows(
        &harness,
        &format!("Disable (suspend) license {id} (Pro Storage OS for Acme Storage)?")
    ));
    click_last(&mut harness, "Cancel");
    settle(&mut harness);
    let status = |desk: &TempDesk| {
        let db = Store::open(&desk.database()).unwrap();
        store::licenses::get(db.conn(), id).unwrap().unwrap().status
    };
    assert_eq!(status(&desk), LicenseStatus::Active);

    click(&mut harness, "Disable");
    click_last(&mut harness, "Disable");
    settle(&mut harness);
    assert_eq!(status(&desk), LicenseStatus::Suspended);
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Enable")
            .is_some()
    );
    assert!(harness.query_all_by_label("Suspended").next().is_some());

    click(&mut harness, "Enable");
    settle(&mut harness);
    assert_eq!(status(&desk), LicenseStatus::Active);
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Disable")
            .is_some()
    );

    open_page(&mut harness, "Ledger");
    settle(&mut harness);
    assert!(shows(&harness, "3 entries"));
    for action in ["issue", "status: suspended", "status: active"] {
        assert!(harness.query_by_label(action).is_some(), "{action}");
    }
    click(&mut harness, "Verify chain");
    settle(&mut harness);
    assert!(shows(&harness, "Chain intact: 3 entries"));
}

#[test]
fn a_transfer_is_refused_with_a_wrong_secret_and_accepted_with_the_right_one() {
    let mut seeded = Seeded::new();
    let sender = seeded.account("Acme Storage");
    let partner = seeded.account("Partner Reseller");
    let id = seeded.issue(
        &spec(
            "Acme Storage",
            "Storage OS",
            "192.0.2.7",
            LicenseKind::Pro,
            "365",
        ),
        Some(sender.id),
    );
    let (desk, mut harness) = seeded.open(Arc::new(ScriptedDialogs::default()));

    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    choose_license(&mut harness, id);
    click(&mut harness, "Transfer to partner");
    assert!(shows(&harness, &format!("Wallet ID {}", sender.wallet_id)));
    type_into(&mut harness, "Partner ID", &partner.wallet_id.to_string());
    click(&mut harness, "Start transfer");
    settle(&mut harness);

    // The secret is shown once; nothing moved yet.
    let secret = harness
        .query_all_by_label_contains("-")
        .filter_map(|n| n.accesskit_node().value())
        .find(|l| l.len() == 39 && l.chars().filter(|c| *c == '-').count() == 7)
        .expect("the secret is shown");
    assert!(shows(&harness, "Copy secret key"));
    let owner = |desk: &TempDesk| {
        let db = Store::open(&desk.database()).unwrap();
        store::licenses::get(db.conn(), id)
            .unwrap()
            .unwrap()
            .account_id
    };
    assert_eq!(owner(&desk), Some(sender.id));
    click_last(&mut harness, "Close");

    // The partner account sees it waiting for approval.
    harness
        .get_by(|n| {
            n.label().as_deref() == Some("Current account")
                && !matches!(n.role(), Role::Label | Role::TextInput)
        })
        .click();
    harness.run_ok();
    harness.get_by_label("Partner Reseller").click();
    harness.run_ok();
    settle(&mut harness);
    open_page(&mut harness, "Licenses");
    click(&mut harness, "Pending import approval (1)");
    settle(&mut harness);
    assert!(shows(
        &harness,
        &format!("License {id} from wallet {}", sender.wallet_id)
    ));
    let secret_field = format!("Secret key for license {id}");
    let accept = format!("Accept import of {id}");

    type_into(&mut harness, &secret_field, "WRNG-SECR-ETKE-Y000");
    click(&mut harness, &accept);
    settle(&mut harness);
    assert!(shows(&harness, "Wrong secret key: refused (4 tries left)"));
    assert_eq!(owner(&desk), Some(sender.id), "nothing moved");

    // Typed in lower case without dashes, as people do.
    let typed: String = secret
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_lowercase();
    type_into(&mut harness, &secret_field, &typed);
    click(&mut harness, &accept);
    settle(&mut harness);
    assert!(shows(
        &harness,
        &format!(
            "Imported: license {id} is now in wallet {}",
            partner.wallet_id
        )
    ));
    assert_eq!(owner(&desk), Some(partner.id));
    assert!(shows(&harness, "Pending import approval"));
    assert!(harness.query_by_label(&accept).is_none());
}

#[test]
fn an_offline_deactivation_frees_the_seat_once() {
    let mut seeded = Seeded::new();
    // The customer's machine made a request carrying its own public key.
    let machine = SigningKey::from_bytes(&[7; 32]);
    let cluster = Uuid::from_bytes([0x42; 16]);
    let request = LicenseRequest::for_this_machine(Some(cluster), TEST_NOW)
        .unwrap()
        .with_machine_key(machine.verifying_key());
    let mut draft = IssueDraft::from_request(request);
    draft.product = "Storage OS".into();
    draft.customer = "Acme Storage".into();
    draft.seats = "5".into();
    let spec = draft.validate().expect("test setup");
    let license = licensing::issue(
        &mut seeded.store,
        &seeded.signing,
        &spec,
        None,
        "ada",
        TEST_NOW,
    )
    .expect("test setup");
    let id = LicenseId(license.payload().license_id);

    // There, the license is removed and the machine signs that it was.
    let deactivation =
        licensekey::Deactivation::new(&license, machine.verifying_key(), TEST_NOW + 60).unwrap();
    let signed = SignedDeactivation::sign(deactivation, &machine).unwrap();
    let path = seeded.desk.dir.path().join("acme.lddeact");
    std::fs::write(&path, signed.to_file()).unwrap();
    // A file made by another machine with the same license is a forgery.
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let forged = SignedDeactivation::sign(
        licensekey::Deactivation::new(&license, stranger.verifying_key(), TEST_NOW + 60).unwrap(),
        &stranger,
    )
    .unwrap();
    let forged_path = seeded.desk.dir.path().join("forged.lddeact");
    std::fs::write(&forged_path, forged.to_file()).unwrap();

    let dialogs = Arc::new(ScriptedDialogs::default());
    let (desk, mut harness) = seeded.open(Arc::clone(&dialogs));
    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    choose_license(&mut harness, id);
    assert!(shows(&harness, "seats in use 1 of 5"));

    harness.get_by_label("Offline deactivation").click();
    harness.run_ok();
    let toasts = |harness: &App| -> Vec<String> {
        harness.state().toasts().texts().map(String::from).collect()
    };

    dialogs.push_open(forged_path);
    click(&mut harness, "Open deactivation file…");
    settle(&mut harness);
    assert!(
        toasts(&harness).iter().any(|t| t.contains("forged")),
        "{:?}",
        toasts(&harness)
    );
    assert!(shows(&harness, "seats in use 1 of 5"));

    dialogs.push_open(path.clone());
    click(&mut harness, "Open deactivation file…");
    settle(&mut harness);
    assert!(
        shows(&harness, "Registered machines: none — seats in use 0 of 5"),
        "{:?}",
        toasts(&harness)
    );
    assert!(shows(&harness, "Deactivated offline"));

    // The same file again is a replay: refused, and nothing changes.
    type_into(
        &mut harness,
        "Deactivation file path",
        &path.display().to_string(),
    );
    click(&mut harness, "Apply deactivation from path");
    settle(&mut harness);
    assert!(
        toasts(&harness).iter().any(|t| t.contains("replayed")),
        "{:?}",
        toasts(&harness)
    );

    let db = Store::open(&desk.database()).unwrap();
    assert!(
        store::license_settings::registrations(db.conn(), id)
            .unwrap()
            .is_empty()
    );
    open_page(&mut harness, "Ledger");
    settle(&mut harness);
    assert!(harness.query_by_label("deactivate").is_some());
}

#[test]
fn edit_keeps_the_password_masked_and_delete_names_what_goes() {
    let mut seeded = Seeded::new();
    let machine = SigningKey::from_bytes(&[5; 32]);
    let request = LicenseRequest::for_this_machine(None, TEST_NOW)
        .unwrap()
        .with_machine_key(machine.verifying_key());
    let mut draft = IssueDraft::from_request(request);
    draft.product = "Storage OS".into();
    draft.customer = "Acme Storage".into();
    draft.kind = LicenseKind::Pro;
    draft.seats = "5".into();
    let account = seeded.account("Acme Storage");
    let spec = draft.validate().expect("test setup");
    let id = seeded.issue(&spec, Some(account.id));
    let (desk, mut harness) = seeded.open(Arc::new(ScriptedDialogs::default()));
    unlock_key(&mut harness);

    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    choose_license(&mut harness, id);
    assert!(shows(&harness, "seats in use 1 of 5"));
    click(&mut harness, "Edit");
    assert!(shows(&harness, &format!("Edit license {id}")));
    type_into(&mut harness, "Registration key", "ACME-0001");
    // The password field is a password input: screen readers and screens see no characters.
    harness
        .get_by_role_and_label(Role::PasswordInput, "Administrator password")
        .focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Administrator password")
        .type_text("s3cret-admin");
    harness.run_ok();
    assert!(!shows(&harness, "s3cret-admin"));
    harness
        .get_by_label_contains("Delete all existing registrations (1 machine(s)")
        .click();
    harness.run_ok();
    harness.get_by_label("Renew automatically").click();
    harness.run_ok();
    click(&mut harness, "Save license");
    settle(&mut harness);
    assert!(
        !shows(&harness, &format!("Edit license {id}")),
        "the form closed"
    );
    assert!(shows(
        &harness,
        "Registered machines: none — seats in use 0 of 5"
    ));
    assert!(shows(&harness, "Administrator password: set (encrypted)"));
    {
        let db = Store::open(&desk.database()).unwrap();
        let settings = store::license_settings::view(db.conn(), id).unwrap();
        assert_eq!(settings.registration_key, "ACME-0001");
        assert!(settings.password_key_id.is_some());
        assert!(
            store::renewals::setting(db.conn(), id)
                .unwrap()
                .is_some_and(|r| r.auto_renew)
        );
        // Kept encrypted: the typed text is nowhere in the database file.
        drop(db);
        let wal = desk.database().with_extension("sqlite3-wal");
        for file in [desk.database(), wal] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(!bytes.windows(12).any(|w| w == b"s3cret-admin"), "{file:?}");
        }
    }

    // Delete asks first, naming the license; then it leaves the list.
    click(&mut harness, "Delete");
    assert!(shows(
        &harness,
        &format!("Delete license {id} (Pro Storage OS for Acme Storage)?")
    ));
    click_last(&mut harness, "Delete");
    settle(&mut harness);
    assert!(harness.query_by_label(&id.to_string()).is_none());
    // The desk is not empty: the list says where the deleted license is.
    assert!(!shows(&harness, "No licenses yet"));
    assert!(shows(
        &harness,
        "Every license here is deleted: choose \"Deleted\" under Status to see them."
    ));
    choose(&mut harness, "Status", "Deleted");
    assert!(harness.query_by_label(&id.to_string()).is_some());
}

#[test]
fn a_license_from_another_desk_is_shown_but_changed_only_there() {
    let mut seeded = Seeded::new();
    let account = seeded.account("Acme Storage");
    let id = seeded.issue(
        &spec(
            "Acme Storage",
            "Storage OS",
            "192.0.2.7",
            LicenseKind::Pro,
            "365",
        ),
        Some(account.id),
    );
    // As a pull from the desk that issued it would have stored it.
    seeded
        .store
        .conn()
        .execute(
            "UPDATE licenses SET origin = x'0192f5a07c1e7d3a9b4f000000000009' WHERE license_id = ?1",
            [id],
        )
        .expect("test setup");
    let (_desk, mut harness) = seeded.open(Arc::new(ScriptedDialogs::default()));
    unlock_key(&mut harness);
    open_page(&mut harness, "Licenses");
    settle(&mut harness);
    choose_license(&mut harness, id);
    assert!(shows(&harness, "From another desk"));
    assert!(shows(&harness, "was issued on another desk"));
    for action in ["Edit", "Renew", "Disable", "Delete", "Transfer to partner"] {
        assert!(
            harness
                .get_by_role_and_label(Role::Button, action)
                .accesskit_node()
                .is_disabled(),
            "{action} is not offered for another desk's license"
        );
    }
}
