//! Two desks and a real portal on 127.0.0.1: accounts, billing details and payment methods
//! made on one desk reach the other; the newer version of an account wins on both, whichever
//! desk pulls first; a change made on both desks before either pushed is kept as a conflict
//! with both versions; a change this desk's rules refuse is kept refused and applies nothing;
//! kinds of change this desk does not apply yet wait in the inbox; pulling again applies
//! nothing twice; wallet IDs never collide; and `license-desk sync` says how a round went in
//! its exit code; staff keep either version of a conflict, in code or from the CLI.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use common::portal::TestPortal as Portal;
use license_desk::commerce::wallet::{WalletChange, WalletEntry};
use license_desk::domain::account::Account;
use license_desk::domain::ids::AccountId;
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::settings::Settings;
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::keys::{KeyVault, KeysCommand, Secret};
use license_desk::services::sync::{SyncCommand, SyncServiceError, SyncSession};
use license_desk::store::sync::InboxState;
use license_desk::store::{self, Store};
use license_desk::sync::{self, RoundReport};
use std::process::Command;

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

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

    fn create(&mut self, name: &str, now: i64) -> Account {
        accounts::create(&mut self.store, name, now).unwrap()
    }

    fn rename(&mut self, id: AccountId, name: &str, now: i64) {
        accounts::run(
            &mut self.store,
            now,
            AccountsCommand::Rename {
                id,
                name: name.into(),
            },
        )
        .unwrap();
    }

    fn account(&self, id: AccountId) -> Option<Account> {
        store::accounts::get(self.store.conn(), id).unwrap()
    }

    fn inbox(&self) -> Vec<store::sync::InboxRow> {
        store::sync::open_items(self.store.conn()).unwrap()
    }
}

/// A portal and two desks that both hold the account "Acme" (made on the first, synced).
fn two_desks_with_acme() -> (Portal, Desk, Desk, Account) {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = a.create("Acme", NOW);
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    (portal, a, b, acme)
}

/// Rounds that interleave at `now`: both desks pull (and find nothing new), then both push
/// their one change.
fn interleaved_rounds(portal: &Portal, desks: [&mut Desk; 2], now: i64) {
    let (url, client) = (portal.server.url(), portal.client());
    let [a, b] = desks;
    for desk in [&mut *a, &mut *b] {
        let pulled = sync::pull::pull(&mut desk.store, &client, &url, 100, now).unwrap();
        assert_eq!(pulled.applied + pulled.conflicts, 0, "{pulled:?}");
    }
    for desk in [a, b] {
        let pushed = sync::push::push(&mut desk.store, &client, Default::default(), now).unwrap();
        assert_eq!(pushed.acknowledged, 1, "{pushed:?}");
    }
}

#[test]
fn accounts_billing_and_cards_reach_the_other_desk_and_the_newer_version_wins() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = a.create("Acme Storage", NOW);
    common::shop::billing_and_card(&mut a.store, acme.id, NOW);
    let beta = b.create("Beta Systems", NOW);

    let first = a.sync(&portal, NOW + 1);
    assert_eq!(first.push.parked, 0);
    let second = b.sync(&portal, NOW + 2);
    assert_eq!(second.pull.applied, 3, "{second:?}"); // account, billing details, card
    assert_eq!(
        second.renumbered, 1,
        "Beta took a number from the portal's block"
    );
    a.sync(&portal, NOW + 3);

    // Both desks hold both accounts, with the same wallet IDs and no collision.
    for desk in [&a, &b] {
        let here_acme = desk.account(acme.id).unwrap();
        let here_beta = desk.account(beta.id).unwrap();
        assert_eq!(here_acme.name, "Acme Storage");
        assert_ne!(here_acme.wallet_id, here_beta.wallet_id);
        assert!(here_beta.wallet_id >= 100_000, "{here_beta:?}");
        let billing = store::billing::get(desk.store.conn(), acme.id)
            .unwrap()
            .unwrap();
        assert_eq!(billing.company, "Acme Storage GmbH");
        let cards = store::payments::list(desk.store.conn(), acme.id).unwrap();
        assert_eq!(cards.len(), 1);
        assert!(cards[0].is_default);
    }
    assert_eq!(
        a.account(beta.id).unwrap().wallet_id,
        b.account(beta.id).unwrap().wallet_id
    );

    // A later rename on B reaches A; an older one arriving after it changes nothing.
    b.rename(acme.id, "Acme Storage Europe", NOW + 10);
    b.sync(&portal, NOW + 11);
    let report = a.sync(&portal, NOW + 12);
    assert_eq!(report.pull.applied, 1);
    assert_eq!(a.account(acme.id).unwrap().name, "Acme Storage Europe");

    // Nothing new: a round moves nothing, and pulling the whole feed again applies nothing.
    let idle = a.sync(&portal, NOW + 13);
    assert!(idle.nothing_to_do(), "{idle:?}");
    a.store
        .conn()
        .execute("UPDATE sync_state SET cursor = NULL", [])
        .unwrap();
    let again = a.sync(&portal, NOW + 14);
    assert_eq!(again.pull.applied, 0, "{again:?}");
    assert_eq!(a.account(acme.id).unwrap().name, "Acme Storage Europe");
}

#[test]
fn the_same_account_changed_on_both_desks_keeps_both_versions_for_staff() {
    let (portal, mut a, mut b, acme) = two_desks_with_acme();

    // Both rename before either pushes; B's rename is the later one.
    a.rename(acme.id, "Acme (A)", NOW + 10);
    b.rename(acme.id, "Acme (B)", NOW + 20);
    b.sync(&portal, NOW + 21);
    let report = a.sync(&portal, NOW + 22);
    assert_eq!(report.conflicts, 1, "{report:?}");
    let conflict = &a.inbox()[0];
    assert_eq!(conflict.state, InboxState::Conflict);
    assert!(conflict.change.body.contains("Acme (B)"));
    assert!(conflict.local.as_ref().unwrap().body.contains("Acme (A)"));
    // The newer version is the state meanwhile, on both desks once B pulls A's.
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (B)");
    let report = b.sync(&portal, NOW + 23);
    assert_eq!(report.pull.older, 1, "{report:?}");
    assert_eq!(b.account(acme.id).unwrap().name, "Acme (B)");

    // Staff on A keep A's version: it is the state on A, and on B once both have synced.
    let id = conflict.change.change_id;
    sync::resolve::resolve(&mut a.store, id, &sync::resolve::Keep::Mine, NOW + 30).unwrap();
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (A)");
    assert!(a.inbox().is_empty(), "the conflict is settled");
    a.sync(&portal, NOW + 31);
    b.sync(&portal, NOW + 32);
    assert_eq!(b.account(acme.id).unwrap().name, "Acme (A)");
    // A settled conflict is not settled twice.
    assert!(
        sync::resolve::resolve(&mut a.store, id, &sync::resolve::Keep::Theirs, NOW + 33).is_err()
    );
}

/// Rounds that interleave: both desks pull (nothing new), then both push their renames. The
/// desk whose pushed version the other's newer change overwrites finds the conflict, from the
/// change's base (protocol 2) and the body it last pushed; the other desk keeps the newer
/// version and finds none, so the conflict is shown once.
#[test]
fn changes_pushed_by_interleaved_rounds_are_a_conflict_on_the_desk_they_overwrite() {
    let (portal, mut a, mut b, acme) = two_desks_with_acme();

    a.rename(acme.id, "Acme (A)", NOW + 10);
    b.rename(acme.id, "Acme (B)", NOW + 20);
    interleaved_rounds(&portal, [&mut a, &mut b], NOW + 21);

    let report = a.sync(&portal, NOW + 23);
    assert_eq!(report.conflicts, 1, "{report:?}");
    let conflict = &a.inbox()[0];
    assert_eq!(conflict.state, InboxState::Conflict);
    assert!(conflict.change.body.contains("Acme (B)"));
    assert!(
        conflict.local.as_ref().unwrap().body.contains("Acme (A)"),
        "the version A pushed is kept beside it"
    );
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (B)");
    let report = b.sync(&portal, NOW + 24);
    assert_eq!((report.pull.older, report.conflicts), (1, 0), "{report:?}");
    assert_eq!(b.account(acme.id).unwrap().name, "Acme (B)");

    // Staff on A keep A's version; it reaches B as a change made on B's version: no conflict.
    let id = conflict.change.change_id;
    sync::resolve::resolve(&mut a.store, id, &sync::resolve::Keep::Mine, NOW + 30).unwrap();
    a.sync(&portal, NOW + 31);
    let report = b.sync(&portal, NOW + 32);
    assert_eq!(
        (report.pull.applied, report.conflicts),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(b.account(acme.id).unwrap().name, "Acme (A)");
    assert_eq!(a.sync(&portal, NOW + 33).conflicts, 0);
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (A)");

    // A rename made on what the other desk pushed is no conflict: B renames after seeing A's.
    b.rename(acme.id, "Acme (B2)", NOW + 40);
    b.sync(&portal, NOW + 41);
    let report = a.sync(&portal, NOW + 42);
    assert_eq!(
        (report.pull.applied, report.conflicts),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (B2)");
    // A pushed body is kept only while it is the entity's state: on B, not on A any more.
    let sent = |desk: &Desk| -> Vec<String> {
        let path = license_desk::paths::database_path(desk.dir.path());
        let conn = common::raw_connection(&path);
        let mut stmt = conn
            .prepare("SELECT body FROM sync_sent WHERE entity = 'account' AND entity_id = ?1")
            .unwrap();
        stmt.query_map([acme.id.to_string()], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(sent(&a).is_empty(), "{:?}", sent(&a));
    let on_b = sent(&b);
    assert!(on_b.len() == 1 && on_b[0].contains("Acme (B2)"), "{on_b:?}");
}

/// A deletion pushed by one desk and a rename the other desk made without having seen it: the
/// deleting desk finds the conflict (the rename is newer and brings the account back
/// meanwhile), and keeping its own version deletes the account on both desks.
#[test]
fn a_deletion_and_a_rename_from_interleaved_rounds_are_a_conflict_staff_settle() {
    let (portal, mut a, mut b, acme) = two_desks_with_acme();
    accounts::run(
        &mut a.store,
        NOW + 10,
        AccountsCommand::Delete { id: acme.id },
    )
    .unwrap();
    b.rename(acme.id, "Acme (B)", NOW + 20);
    interleaved_rounds(&portal, [&mut a, &mut b], NOW + 21);
    assert_eq!(a.sync(&portal, NOW + 23).conflicts, 1);
    let conflict = &a.inbox()[0];
    assert_eq!(conflict.local.as_ref().unwrap().op, "delete");
    assert_eq!(
        a.account(acme.id).unwrap().name,
        "Acme (B)",
        "the newer version"
    );
    assert_eq!(b.sync(&portal, NOW + 24).conflicts, 0);

    let id = conflict.change.change_id;
    sync::resolve::resolve(&mut a.store, id, &sync::resolve::Keep::Mine, NOW + 30).unwrap();
    assert!(a.account(acme.id).is_none());
    a.sync(&portal, NOW + 31);
    let report = b.sync(&portal, NOW + 32);
    assert_eq!(
        (report.pull.applied, report.conflicts),
        (1, 0),
        "{report:?}"
    );
    assert!(b.account(acme.id).is_none());
}

/// A conflict a desk finds before pushing is kept there only: its change goes out made on the
/// version it conflicted with, so the other desk, whose version it overwrites, finds no
/// conflict again.
#[test]
fn a_conflict_found_before_pushing_is_not_found_again_by_the_other_desk() {
    let (portal, mut a, mut b, acme) = two_desks_with_acme();

    b.rename(acme.id, "Acme (B)", NOW + 10);
    b.sync(&portal, NOW + 11);
    a.rename(acme.id, "Acme (A)", NOW + 20);
    let report = a.sync(&portal, NOW + 21);
    assert_eq!(report.conflicts, 1, "{report:?}");
    assert!(a.inbox()[0].note.contains("ours is newer"));
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (A)");
    let report = b.sync(&portal, NOW + 22);
    assert_eq!(
        (report.pull.applied, report.conflicts),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(b.account(acme.id).unwrap().name, "Acme (A)");
}

#[test]
fn staff_keep_the_other_desks_version_from_the_cli_field_by_field() {
    let (portal, mut a, mut b, acme) = two_desks_with_acme();
    // B's rename is the older one: A keeps its own meanwhile.
    b.rename(acme.id, "Acme (B)", NOW + 10);
    a.rename(acme.id, "Acme (A)", NOW + 20);
    b.sync(&portal, NOW + 21);
    assert_eq!(a.sync(&portal, NOW + 22).conflicts, 1);
    assert_eq!(a.account(acme.id).unwrap().name, "Acme (A)");
    let id = a.inbox()[0].change.change_id.to_string();
    let data = a.dir.path().to_path_buf();
    drop(a.store);
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_license-desk"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    };
    let listed = cli(&["conflicts"]);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed_text.contains(&id), "{listed_text}");
    assert!(listed_text.contains("theirs: upsert") && listed_text.contains("Acme (B)"));
    assert!(listed_text.contains("mine:   upsert") && listed_text.contains("Acme (A)"));
    assert!(
        listed_text.contains(r#"field name: mine "Acme (A)" | theirs "Acme (B)""#),
        "{listed_text}"
    );
    // A merge names the fields it takes from theirs, each one they differ in.
    let stderr = |args: &[&str]| String::from_utf8_lossy(&cli(args).stderr).to_string();
    assert!(
        stderr(&["resolve", &id, "--keep", "merged"]).contains("--theirs: name at least one field")
    );
    assert!(
        stderr(&["resolve", &id, "--keep", "mine", "--theirs", "name"])
            .contains("only with --keep merged")
    );
    assert!(
        stderr(&["resolve", &id, "--keep", "merged", "--theirs", "wallet_id"])
            .contains("'wallet_id' is not a field in which the two versions differ")
    );
    let kept = cli(&["resolve", &id, "--keep", "merged", "--theirs", "name"]);
    assert!(kept.status.success(), "{kept:?}");
    let again = cli(&["resolve", &id, "--keep", "theirs"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let bad = cli(&["resolve", "not-an-id", "--keep", "mine"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("CHANGE_ID"),
        "{bad:?}"
    );
    let store = Store::open(&license_desk::paths::database_path(&data)).unwrap();
    assert_eq!(
        store::accounts::get(store.conn(), acme.id)
            .unwrap()
            .unwrap()
            .name,
        "Acme (B)"
    );
}

#[test]
fn a_change_this_desk_refuses_applies_nothing_and_waits_with_the_reason() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    // Two accounts of the same name made apart: names are unique on a desk.
    a.create("Zeta", NOW);
    a.sync(&portal, NOW + 1);
    let other = b.create("zeta", NOW + 2);
    let report = b.sync(&portal, NOW + 3);
    assert_eq!(report.refused, 1, "{report:?}");
    let refused = &b.inbox()[0];
    assert_eq!(refused.state, InboxState::Refused);
    assert!(refused.note.contains("already exists"), "{}", refused.note);
    // B keeps its own account; A refuses B's the same way (as made, and as renumbered).
    assert_eq!(b.account(other.id).unwrap().name, "zeta");
    let report = a.sync(&portal, NOW + 4);
    assert_eq!(report.refused, 2, "{report:?}");
    assert!(a.account(other.id).is_none(), "nothing of it applied");
}

#[test]
fn kinds_of_change_this_desk_does_not_apply_yet_wait_and_are_kept() {
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    // A VAT ID check is kept by the desk that made it: another desk keeps it waiting.
    let mut vault = license_desk::services::keys::KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(NOW)),
    );
    let acme = common::shop::customer(&mut a.store, &mut vault, NOW, 0);
    let mut details = store::billing::get(a.store.conn(), acme).unwrap().unwrap();
    details.tax_id = "DE136695976".into();
    accounts::run(
        &mut a.store,
        NOW,
        AccountsCommand::SaveBilling {
            account_id: acme,
            details,
        },
    )
    .unwrap();
    common::shop::run(
        &mut a.store,
        &mut vault,
        NOW,
        license_desk::services::commerce::CommerceCommand::ValidateVatId { account_id: acme },
    );
    a.sync(&portal, NOW + 1);
    let report = b.sync(&portal, NOW + 2);
    assert!(report.pull.waiting > 0, "{report:?}");
    assert!(
        b.inbox()
            .iter()
            .any(|i| i.change.entity == "vat_validation" && i.state == InboxState::Waiting)
    );
    assert!(
        !report.needs_review(),
        "waiting changes are not staff's to resolve"
    );
}

#[test]
fn the_cli_round_says_how_it_went_in_its_exit_code() {
    let portal = Portal::start();
    let mut desk = Desk::new();
    desk.create("Acme", NOW);
    let data = desk.dir.path().to_path_buf();
    drop(desk.store);
    let token_file = data.join("token");
    std::fs::write(&token_file, format!("{}\n", portal.token)).unwrap();
    let run = |token: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_license-desk"))
            .arg("--data-dir")
            .arg(&data)
            .args(["sync", "--portal", &portal.server.url(), "--token-file"])
            .arg(token)
            .output()
            .unwrap()
    };
    let first = run(&token_file);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("Pushed: "));
    let second = run(&token_file);
    assert_eq!(second.status.code(), Some(3), "{second:?}");

    let wrong = data.join("wrong");
    std::fs::write(&wrong, "ldp_not_a_token\n").unwrap();
    let refused = run(&wrong);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("device token"),
        "{refused:?}"
    );
}

#[test]
fn the_cli_syncs_with_the_saved_portal_and_sealed_token_and_never_when_air_gapped() {
    use license_desk::domain::settings::Settings;
    use license_desk::services::keys::{KeyVault, KeysCommand, Secret};
    use license_desk::services::{keys, settings, sync as service};
    const PASS: &str = "operator passphrase";
    let portal = Portal::start();
    let mut desk = Desk::new();
    let clock = std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(NOW));
    let key = keys::generate(
        &mut desk.store,
        "Main",
        PASS,
        keyvault::KdfParams::IMPORT_FLOOR,
        true,
        NOW,
    )
    .unwrap();
    let mut vault = KeyVault::new(keyvault::KdfParams::IMPORT_FLOOR, 10, clock);
    let token = Secret::new(&portal.token);
    let locked = service::save_token(&mut desk.store, &mut vault, &token, NOW).unwrap_err();
    assert!(locked.to_string().contains("locked"), "{locked}");
    vault
        .run(
            &mut desk.store,
            NOW,
            KeysCommand::Unlock {
                key_id: key.key_id,
                passphrase: Secret::new(PASS),
            },
        )
        .unwrap();
    service::save_token(&mut desk.store, &mut vault, &token, NOW).unwrap();
    let saved = Settings {
        portal_url: portal.server.url(),
        ..Settings::default()
    };
    settings::save(&mut desk.store, &saved).unwrap();
    desk.create("Acme", NOW);
    let data = desk.dir.path().to_path_buf();
    let database = desk.store.path().to_path_buf();
    drop(desk.store);

    let run = |passphrase: &str| {
        Command::new(env!("CARGO_BIN_EXE_license-desk"))
            .arg("--data-dir")
            .arg(&data)
            .arg("sync")
            .env("LICENSE_DESK_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    };
    let wrong = run("not the passphrase");
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("unlocking the signing key 'Main'"),
        "{wrong:?}"
    );
    let synced = run(PASS);
    assert_eq!(synced.status.code(), Some(0), "{synced:?}");
    let said = String::from_utf8_lossy(&synced.stdout);
    assert!(
        said.contains("Pushed: ") && !said.contains("Pushed: 0 changes"),
        "{said}"
    );
    let last = store::sync::last_sync(&common::raw_connection(&database)).unwrap();
    assert_eq!(
        last.portal_url.as_deref(),
        Some(portal.server.url().as_str())
    );
    assert_eq!(last.error, None);
    assert!(last.attempted_at.is_some());

    // Air-gapped: refused before any connection, and the saved state says nothing new.
    let mut store = Store::open(&database).unwrap();
    settings::save(
        &mut store,
        &Settings {
            air_gapped: true,
            ..saved
        },
    )
    .unwrap();
    drop(store);
    let gapped = run(PASS);
    assert_eq!(gapped.status.code(), Some(1), "{gapped:?}");
    assert!(
        String::from_utf8_lossy(&gapped.stderr).contains("air-gapped mode is on"),
        "{gapped:?}"
    );
    assert_eq!(
        store::sync::last_sync(&common::raw_connection(&database)).unwrap(),
        last
    );
}

#[test]
fn a_failed_cli_round_is_noted_with_its_reason() {
    let portal = Portal::start();
    let desk = Desk::new();
    let data = desk.dir.path().to_path_buf();
    let database = desk.store.path().to_path_buf();
    drop(desk.store);
    let wrong = data.join("wrong");
    std::fs::write(&wrong, "ldp_not_a_token\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_license-desk"))
        .arg("--data-dir")
        .arg(&data)
        .args(["sync", "--portal", &portal.server.url(), "--token-file"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let last = store::sync::last_sync(&common::raw_connection(&database)).unwrap();
    assert!(
        last.error
            .as_deref()
            .is_some_and(|e| e.contains("refused the device token")),
        "{last:?}"
    );
    assert_eq!(last.pushed_at, None);
}

/// Books a wallet entry on `desk` as its own (the commerce services check it the same way).
fn book(desk: &mut Desk, account: AccountId, change: WalletChange, at: i64) {
    let entry = WalletEntry {
        id: uuid::Uuid::now_v7(),
        at,
        change,
    };
    desk.store
        .write(|tx| store::wallet::append(tx, account, &entry, at))
        .unwrap();
}

fn money_of(desk: &Desk, account: AccountId) -> Option<Money> {
    store::wallet::balances(desk.store.conn(), account)
        .unwrap()
        .money
}

#[test]
fn wallet_entries_are_facts_added_once_and_an_overdraft_at_merge_waits_for_the_money() {
    let portal = Portal::start();
    let mut a = Desk::new();
    let mut b = Desk::new();
    let acme = a.create("Acme", NOW);
    let eur = |major| Money::from_major(major, Currency::EUR).unwrap();
    book(
        &mut a,
        acme.id,
        WalletChange::TopUp {
            amount: eur(100),
            reference: "bank transfer 1".into(),
        },
        NOW,
    );
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    assert_eq!(money_of(&b, acme.id), Some(eur(100)));

    // Offline, each desk spends from the same 100.
    let pay = |amount, reference: &str| WalletChange::Payment {
        amount,
        reference: reference.into(),
    };
    book(&mut a, acme.id, pay(eur(80), "INV-A"), NOW + 10);
    book(&mut b, acme.id, pay(eur(50), "INV-B"), NOW + 11);
    b.sync(&portal, NOW + 20);
    let report = a.sync(&portal, NOW + 21);
    assert_eq!(report.refused, 1, "{report:?}");
    let report = b.sync(&portal, NOW + 22);
    assert_eq!(report.refused, 1, "{report:?}");
    // Neither wallet went below zero; each desk shows the other's payment for review.
    assert_eq!(money_of(&a, acme.id), Some(eur(20)));
    assert_eq!(money_of(&b, acme.id), Some(eur(50)));
    for desk in [&a, &b] {
        let refused: Vec<_> = desk
            .inbox()
            .into_iter()
            .filter(|i| i.state == InboxState::Refused)
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].change.entity, "wallet_entry");
        assert!(
            refused[0].note.contains("kept for review"),
            "{}",
            refused[0].note
        );
    }

    // A top-up on A makes room: each desk applies the payment it kept for review as soon as
    // the money is there, and both end where every booking is applied, each once.
    book(
        &mut a,
        acme.id,
        WalletChange::TopUp {
            amount: eur(30),
            reference: "bank transfer 2".into(),
        },
        NOW + 30,
    );
    let report = a.sync(&portal, NOW + 31);
    assert_eq!((report.pull.applied, report.refused), (1, 0), "{report:?}");
    let report = b.sync(&portal, NOW + 32);
    assert_eq!(report.refused, 0, "{report:?}");
    for desk in [&a, &b] {
        assert_eq!(money_of(desk, acme.id), Some(eur(0)));
        assert!(desk.inbox().is_empty(), "{:?}", desk.inbox());
    }
    b.store
        .write(|tx| {
            tx.execute("UPDATE sync_state SET cursor = NULL", [])
                .map_err(store::StoreError::from)
        })
        .unwrap();
    let again = b.sync(&portal, NOW + 40);
    assert_eq!(again.pull.applied, 0, "{again:?}");
    assert_eq!(money_of(&b, acme.id), Some(eur(0)));
}

#[test]
fn a_wallet_id_held_by_a_pulled_account_is_skipped_not_shared() {
    let portal = Portal::start();
    let mut a = Desk::new();
    let mut b = Desk::new();
    // Both desks number from their own first block before they ever sync.
    let first = a.create("Acme", NOW);
    sync::push::push(&mut a.store, &portal.client(), Default::default(), NOW + 1).unwrap();
    sync::pull::pull(
        &mut b.store,
        &portal.client(),
        &portal.server.url(),
        100,
        NOW + 2,
    )
    .unwrap();
    assert_eq!(b.account(first.id).unwrap().wallet_id, first.wallet_id);
    let made = b.create("Beta", NOW + 3);
    assert_ne!(made.wallet_id, first.wallet_id);
    assert!(
        store::accounts::by_wallet_id(b.store.conn(), made.wallet_id)
            .unwrap()
            .is_some_and(|held| held.id == made.id)
    );
}

#[test]
fn sync_setup_saves_the_portal_and_seals_the_token_from_the_command_line() {
    let portal = Portal::start();
    let desk = common::desk::Desk::with_key();
    let token_file = desk.path("token");
    std::fs::write(&token_file, format!("{}\n", portal.token)).unwrap();
    let token = common::desk::s(&token_file);
    let bad = desk.run(&[
        "sync-setup",
        "--portal",
        "portal.example",
        "--token-file",
        token,
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        common::desk::text(&bad).contains("Portal URL: must start with https://"),
        "{}",
        common::desk::text(&bad)
    );
    let said = desk.ok(&[
        "sync-setup",
        "--portal",
        &portal.server.url(),
        "--token-file",
        token,
        "--background",
        "--every",
        "5",
    ]);
    assert!(
        said.contains("sealed under the signing key 'ops'"),
        "{said}"
    );
    assert!(said.contains("every 5 minutes"), "{said}");
    let saved = store::settings::load(&common::raw_connection(&desk.database())).unwrap();
    assert!(saved.sync_enabled);
    assert_eq!(saved.sync_interval_minutes, 5);
    let disk = std::fs::read(desk.database()).unwrap();
    assert!(
        !disk
            .windows(portal.token.len())
            .any(|w| w == portal.token.as_bytes())
    );
    // The saved portal and sealed token are enough for a round.
    let round = desk.run(&["sync"]);
    assert_eq!(
        round.status.code(),
        Some(0),
        "{}",
        common::desk::text(&round)
    );
    // A CA certificate to trust is saved with the rest; a file that is none is refused.
    let not_pem = desk.path("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let refused = desk.run(&[
        "sync-setup",
        "--portal",
        &portal.server.url(),
        "--token-file",
        token,
        "--ca-cert",
        common::desk::s(&not_pem),
    ]);
    assert!(
        common::desk::text(&refused).contains("Portal CA certificate: holds no PEM certificate"),
        "{}",
        common::desk::text(&refused)
    );
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = desk.path("ca.pem");
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    desk.ok(&[
        "sync-setup",
        "--portal",
        &portal.server.url(),
        "--token-file",
        token,
        "--ca-cert",
        common::desk::s(&pem),
    ]);
    let saved = store::settings::load(&common::raw_connection(&desk.database())).unwrap();
    assert_eq!(saved.portal_ca_pem, cert.cert.pem());
}

/// A desk as the window runs it: a signing key unlocked in its vault, `portal_url` saved.
fn window_desk(portal_url: &str) -> (Desk, KeyVault, store::keys::KeyRow) {
    let mut desk = Desk::new();
    let mut vault = KeyVault::new(
        keyvault::KdfParams::TEST_ONLY,
        10,
        std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(NOW)),
    );
    let row = license_desk::services::keys::generate(
        &mut desk.store,
        "Main",
        WINDOW_PASS,
        keyvault::KdfParams::TEST_ONLY,
        true,
        NOW,
    )
    .unwrap();
    vault
        .run(
            &mut desk.store,
            NOW,
            KeysCommand::Unlock {
                key_id: row.key_id,
                passphrase: Secret::new(WINDOW_PASS),
            },
        )
        .unwrap();
    save_settings(&mut desk, |s| s.portal_url = portal_url.to_string());
    (desk, vault, row)
}

const WINDOW_PASS: &str = "a long enough passphrase";

fn save_settings(desk: &mut Desk, change: impl FnOnce(&mut Settings)) {
    let mut settings = store::settings::load(desk.store.conn()).unwrap();
    change(&mut settings);
    assert!(settings.validate().is_empty(), "{}", settings.validate());
    desk.store
        .write(|tx| store::settings::save(tx, &settings))
        .unwrap();
}

#[test]
fn a_refused_token_is_read_again_so_one_sealed_meanwhile_is_used_without_a_restart() {
    let portal = Portal::start();
    let (mut desk, mut vault, row) = window_desk(&portal.server.url());
    let mut session = SyncSession::default();
    let mut run = |desk: &mut Desk, command| session.run(&mut desk.store, &mut vault, NOW, command);
    // A token the portal never made: refused.
    run(
        &mut desk,
        SyncCommand::SaveToken {
            token: Secret::new("ldp_not-a-token-this-portal-made"),
        },
    )
    .unwrap();
    let refused = run(&mut desk, SyncCommand::Round).unwrap_err();
    assert!(
        matches!(refused, SyncServiceError::Sync { .. })
            && refused.to_string().contains("refused the device token"),
        "{refused}"
    );
    // The right one is sealed by another way in (as `license-desk sync-setup` does): the next
    // round reads the vault again and syncs.
    let signing =
        license_desk::services::keys::unlock(desk.store.conn(), &row, WINDOW_PASS).unwrap();
    let sealed = license_desk::services::sync::seal(&signing, row.key_id, &portal.token).unwrap();
    desk.store
        .write(|tx| store::sync::set_token(tx, &sealed, NOW))
        .unwrap();
    run(&mut desk, SyncCommand::Round).unwrap();
}

#[test]
fn a_portal_with_a_private_ca_syncs_once_its_certificate_is_saved() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls = portal::server::listen::tls_config(&cert_path, &key_path).unwrap();
    let server = portal::server::BackgroundPortal::start_with(
        &portal::store::DbUrl::Sqlite(dir.path().join("portal.db")),
        portal::server::Limits {
            rate_per_second: 0,
            compact_every: None,
            ..portal::server::Limits::default()
        },
        Some(tls),
    )
    .unwrap();
    let token = server.create_token("desks").unwrap();
    assert!(server.url().starts_with("https://"));
    let (mut desk, mut vault, _) = window_desk(&server.url());
    let mut session = SyncSession::default();
    let mut run = |desk: &mut Desk, command| session.run(&mut desk.store, &mut vault, NOW, command);
    run(
        &mut desk,
        SyncCommand::SaveToken {
            token: Secret::new(&token),
        },
    )
    .unwrap();
    // Not trusted by the system: the round fails, saying it could not reach the portal.
    let untrusted = run(&mut desk, SyncCommand::Round).unwrap_err();
    assert!(
        untrusted.to_string().contains("could not reach the portal"),
        "{untrusted}"
    );
    // Anything but a PEM certificate is refused at the field.
    let mut bad = store::settings::load(desk.store.conn()).unwrap();
    bad.portal_ca_pem =
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into();
    assert_eq!(
        bad.validate().get("Portal CA certificate"),
        Some("is not a readable PEM certificate")
    );
    bad.portal_ca_pem = "just text".into();
    assert!(bad.validate().get("Portal CA certificate").is_some());
    // Its certificate saved, the next round syncs.
    save_settings(&mut desk, |s| s.portal_ca_pem = cert.cert.pem());
    run(&mut desk, SyncCommand::Round).unwrap();
    assert_eq!(
        store::settings::load(desk.store.conn())
            .unwrap()
            .portal_ca_pem,
        cert.cert.pem()
    );
}

#[test]
fn old_receipts_are_removed_and_a_resync_afterwards_applies_nothing_twice() {
    let eur = |major| Money::from_major(major, Currency::EUR).unwrap();
    let portal = Portal::start();
    let (mut a, mut b) = (Desk::new(), Desk::new());
    let acme = a.create("Acme", NOW);
    book(
        &mut a,
        acme.id,
        WalletChange::TopUp {
            amount: eur(100),
            reference: "bank transfer".into(),
        },
        NOW,
    );
    a.sync(&portal, NOW + 1);
    b.sync(&portal, NOW + 2);
    let receipts = |desk: &Desk| -> i64 {
        desk.store
            .conn()
            .query_row("SELECT count(*) FROM sync_inbox", [], |r| r.get(0))
            .unwrap()
    };
    // The account's receipt is its version.
    assert_eq!(receipts(&b), 1, "the wallet entry");
    // A day later the receipts are young: kept. Past 90 days: gone, once.
    b.sync(&portal, NOW + 86_400 + 3);
    assert_eq!(receipts(&b), 1);
    let later = NOW + store::sync::RECEIPTS_KEPT_DAYS * 86_400 + 86_400 * 2;
    b.sync(&portal, later);
    assert_eq!(receipts(&b), 0);
    // Read again from the start: nothing is applied twice.
    b.store
        .write(|tx| {
            tx.execute("UPDATE sync_state SET cursor = NULL", [])
                .map_err(store::StoreError::from)
        })
        .unwrap();
    b.sync(&portal, later + 1);
    // The wallet entry's receipt again; the account is its version already: nothing kept.
    assert_eq!(receipts(&b), 1);
    assert_eq!(money_of(&b, acme.id), Some(eur(100)));
    assert_eq!(b.account(acme.id).unwrap().name, "Acme");
    assert_eq!(
        store::wallet::entries(b.store.conn(), acme.id)
            .unwrap()
            .len(),
        1
    );
}
