//! The store through the services that write it: round trips, every migration from every earlier
//! schema, the typed outbox, wallet ID blocks, indexed search and paging, and all-or-nothing
//! writes.

mod common;

use license_desk::domain::billing::BillingDetails;
use license_desk::domain::ids::AccountId;
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::domain::settings::{Settings, Theme};
use license_desk::services::accounts::{self, AccountsCommand, AccountsError, AccountsEvent};
use license_desk::store::accounts::{AccountOrder, AccountQuery, PageStart};
use license_desk::store::{self, SCHEMA_VERSION, Store, StoreError};
use serde_json::Value;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("test setup");
    let path = dir.path().join("desk").join("desk.sqlite3");
    (dir, path)
}

fn billing() -> BillingDetails {
    BillingDetails {
        company: "Acme Storage GmbH".into(),
        contact_name: "Ada Lovelace".into(),
        email: "ada@acme.example".into(),
        phone: "+49 30 1234567".into(),
        address_line1: "Hauptstr. 1".into(),
        address_line2: "Hof 2".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        country: "germany".into(),
        tax_id: "DE 123 456 789".into(),
    }
}

fn card(last4: &str, exp_year: i32) -> PaymentDetails {
    PaymentDetails::Card {
        holder: "Ada".into(),
        brand: CardBrand::Visa,
        last4: last4.into(),
        exp_month: 8,
        exp_year,
    }
}

fn create(store: &mut Store, name: &str) -> license_desk::domain::account::Account {
    accounts::create(store, name, 1_000).expect("test setup")
}

fn run(store: &mut Store, command: AccountsCommand) -> Result<AccountsEvent, AccountsError> {
    accounts::run(store, 2_000, command)
}

/// The outbox rows as (entity, entity_id, op, version, body).
fn outbox(store: &Store) -> Vec<(String, String, String, u32, Value)> {
    store::outbox::pending(store.conn(), 0, 10_000)
        .expect("test setup")
        .into_iter()
        .map(|r| {
            (
                r.entity,
                r.entity_id,
                r.op,
                r.version,
                serde_json::from_str(&r.body).expect("test setup"),
            )
        })
        .collect()
}

#[test]
fn opens_with_wal_foreign_keys_private_files_and_latest_schema() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let conn = store.conn();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let fk: i64 = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), fk, version), ("wal", 1, SCHEMA_VERSION));
    assert!(store::desk::desk_id(conn).unwrap().is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.parent().unwrap()), 0o700, "data folder");
        assert_eq!(mode(&path), 0o600, "database");
        let wal = path.with_file_name("desk.sqlite3-wal");
        assert_eq!(mode(&wal), 0o600, "write-ahead log");
    }
}

#[test]
fn database_from_a_newer_build_is_refused_with_a_message() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = common::raw_connection(&path);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { .. }));
    assert!(err.to_string().contains("use a newer License Desk"));
}

#[test]
fn accounts_round_trip_with_wallet_ids_from_the_desk_block() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = create(&mut store, "  Acme   Storage ");
    let b = create(&mut store, "Globex");
    assert_eq!(
        (a.name.as_str(), a.wallet_id, b.wallet_id),
        ("Acme Storage", 100, 101)
    );
    assert!(a.wallet_id_final && b.wallet_id_final);
    assert_eq!(
        store::accounts::get(store.conn(), a.id).unwrap(),
        Some(a.clone())
    );

    let dup = accounts::create(&mut store, "acme storage", 12);
    assert_eq!(
        dup.err().unwrap().to_string(),
        "Account name: 'acme storage' is already taken"
    );
    let blank = accounts::create(&mut store, "  ", 12);
    assert_eq!(
        blank.err().unwrap().to_string(),
        "Account name: is required"
    );

    let renamed = run(
        &mut store,
        AccountsCommand::Rename {
            id: a.id,
            name: "Acme Cloud".into(),
        },
    )
    .unwrap();
    assert!(matches!(renamed, AccountsEvent::Renamed(ref r) if r.name == "Acme Cloud"));
    let clash = run(
        &mut store,
        AccountsCommand::Rename {
            id: a.id,
            name: "GLOBEX".into(),
        },
    );
    assert!(matches!(clash, Err(AccountsError::NameTaken(_))));
    let gone = run(
        &mut store,
        AccountsCommand::Rename {
            id: AccountId::new(),
            name: "Nobody".into(),
        },
    );
    assert!(matches!(gone, Err(AccountsError::AccountNotFound)));

    // A deleted account's wallet ID is never handed out again.
    run(&mut store, AccountsCommand::Delete { id: b.id }).unwrap();
    let c = create(&mut store, "Initech");
    assert_eq!(c.wallet_id, 102);
}

#[test]
fn when_the_block_is_used_up_wallet_ids_are_provisional() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    store
        .conn()
        .execute("UPDATE wallet_blocks SET next_id = last_id", [])
        .unwrap();
    let last = create(&mut store, "Last In Block");
    assert_eq!((last.wallet_id, last.wallet_id_final), (99_999, true));
    let over = create(&mut store, "Over The Edge");
    assert_eq!((over.wallet_id, over.wallet_id_final), (100_000, false));
    assert_eq!(over.wallet_label(), "Wallet ID: 100000 (provisional)");
    let again = create(&mut store, "Further Still");
    assert_eq!((again.wallet_id, again.wallet_id_final), (100_001, false));
}

#[test]
fn search_uses_indexes_and_pages_by_keyset() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    for name in [
        "Acme Storage",
        "Globex",
        "Storage Partners",
        "Initrode",
        "Acmeville",
    ] {
        create(&mut store, name);
    }
    let names = |store: &Store, search: &str, order: AccountOrder| {
        let query = AccountQuery::new(search, order);
        store::accounts::page(store.conn(), &query, &PageStart::First, 50)
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
    };
    // Three characters or more: anywhere in the name, any case (trigram index).
    assert_eq!(
        names(&store, "STOR", AccountOrder::Name),
        ["Acme Storage", "Storage Partners"]
    );
    assert_eq!(names(&store, "rod", AccountOrder::Name), ["Initrode"]);
    // Fewer: names that start with it.
    assert_eq!(
        names(&store, "ac", AccountOrder::Name),
        ["Acme Storage", "Acmeville"]
    );
    assert_eq!(names(&store, "g", AccountOrder::Name), ["Globex"]);
    // A number also finds the wallet ID; LIKE wildcards are literal.
    assert_eq!(names(&store, "101", AccountOrder::Name), ["Globex"]);
    assert!(names(&store, "%", AccountOrder::Name).is_empty());
    assert!(names(&store, "a_m", AccountOrder::Name).is_empty());
    assert_eq!(
        names(&store, "", AccountOrder::WalletId),
        [
            "Acme Storage",
            "Globex",
            "Storage Partners",
            "Initrode",
            "Acmeville"
        ]
    );
    let query = AccountQuery::new("stor", AccountOrder::Name);
    assert_eq!(
        store::accounts::count(store.conn(), &query, 100).unwrap(),
        2
    );
    assert_eq!(
        store::accounts::count(store.conn(), &query, 1).unwrap(),
        1,
        "capped"
    );

    // The index follows renames and deletes.
    let acme = store::accounts::by_wallet_id(store.conn(), 100)
        .unwrap()
        .unwrap();
    run(
        &mut store,
        AccountsCommand::Rename {
            id: acme.id,
            name: "Acme Cloud".into(),
        },
    )
    .unwrap();
    assert_eq!(
        names(&store, "stor", AccountOrder::Name),
        ["Storage Partners"]
    );
    assert_eq!(names(&store, "cloud", AccountOrder::Name), ["Acme Cloud"]);

    // Keyset pages after a row give the same rows as one long page.
    for order in [AccountOrder::Name, AccountOrder::WalletId] {
        let query = AccountQuery::new(String::new(), order);
        let all = store::accounts::page(store.conn(), &query, &PageStart::First, 50).unwrap();
        let mut paged = Vec::new();
        let mut start = PageStart::First;
        loop {
            let page = store::accounts::page(store.conn(), &query, &start, 2).unwrap();
            let Some(last) = page.last().cloned() else {
                break;
            };
            paged.extend(page);
            start = PageStart::After(last);
        }
        assert_eq!(paged, all, "{order:?}");
        let jumped =
            store::accounts::page(store.conn(), &query, &PageStart::Offset(3), 50).unwrap();
        assert_eq!(jumped, all[3..]);
    }
}

/// The name search is kept by the writers, caught up before each commit: also when one
/// transaction adds, renames and removes the same accounts, as a pull does.
#[test]
fn the_name_search_follows_every_writer_within_one_transaction() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let kept = create(&mut store, "Umbrella Storage");
    let gone = create(&mut store, "Vandelay Imports");
    let pulled = license_desk::domain::account::Account {
        id: AccountId::new(),
        name: "Wayne Enterprises".into(),
        wallet_id: 5_000,
        wallet_id_final: true,
        created_at: 1,
    };
    store
        .write(|tx| {
            store::accounts::put(tx, &pulled, 2)?;
            let renamed = license_desk::domain::account::Account {
                name: "Wayne Storage".into(),
                ..pulled.clone()
            };
            store::accounts::put(tx, &renamed, 3)?;
            store::accounts::rename(tx, kept.id, "Umbrella Holdings", 3)?;
            store::accounts::rename(tx, kept.id, "Umbrella Archive", 4)?;
            store::accounts::remove(tx, gone.id)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let names = |search: &str| {
        let query = AccountQuery::new(search, AccountOrder::Name);
        store::accounts::page(store.conn(), &query, &PageStart::First, 50)
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("storage"), ["Wayne Storage"]);
    assert_eq!(names("rchiv"), ["Umbrella Archive"]);
    for stale in ["enterprises", "holdings", "vandelay"] {
        assert!(names(stale).is_empty(), "{stale}: {:?}", names(stale));
    }
    // Nothing is left to catch up on, and the index holds exactly the names here.
    let conn = common::raw_connection(&path);
    let pending: i64 = conn
        .query_row("SELECT count(*) FROM accounts_search_pending", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(pending, 0);
    conn.execute(
        "INSERT INTO accounts_search (accounts_search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
}

#[test]
fn billing_details_round_trip_normalized_and_enter_the_outbox() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = create(&mut store, "Acme");
    let saved = run(
        &mut store,
        AccountsCommand::SaveBilling {
            account_id: a.id,
            details: billing(),
        },
    )
    .unwrap();
    let AccountsEvent::BillingSaved { details, .. } = saved else {
        panic!("{saved:?}")
    };
    assert_eq!(
        (details.country.as_str(), details.tax_id.as_str()),
        ("DE", "DE123456789")
    );
    assert_eq!(
        store::billing::get(store.conn(), a.id).unwrap(),
        Some(details.clone())
    );
    let rows = outbox(&store);
    let (entity, id, op, version, body) = rows.last().unwrap();
    assert_eq!(
        (entity.as_str(), id.as_str(), op.as_str(), *version),
        ("billing_details", a.id.to_string().as_str(), "upsert", 1)
    );
    assert_eq!(body["details"]["country"], "DE");
    assert_eq!(body["details"]["company"], "Acme Storage GmbH");

    // Invalid input is refused and the saved row is untouched.
    let mut bad = details.clone();
    bad.email = "nope".into();
    bad.city = "Munich".into();
    let err = run(
        &mut store,
        AccountsCommand::SaveBilling {
            account_id: a.id,
            details: bad,
        },
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "Email: 'nope' is not a valid email address"
    );
    assert_eq!(
        store::billing::get(store.conn(), a.id)
            .unwrap()
            .unwrap()
            .city,
        "Berlin"
    );
    let missing = run(
        &mut store,
        AccountsCommand::SaveBilling {
            account_id: AccountId::new(),
            details: billing(),
        },
    );
    assert!(matches!(missing, Err(AccountsError::AccountNotFound)));
}

#[test]
fn payment_methods_keep_one_default_and_every_flag_change_is_recorded() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = create(&mut store, "Acme");
    let add = |store: &mut Store, details: PaymentDetails, make_default: bool| match run(
        store,
        AccountsCommand::AddPaymentMethod {
            account_id: a.id,
            details,
            make_default,
        },
    )
    .unwrap()
    {
        AccountsEvent::PaymentMethodAdded(m) => m,
        other => panic!("{other:?}"),
    };
    let first = add(&mut store, card("1111", 2029), false);
    assert!(first.is_default, "the first method becomes the default");
    let bank = PaymentDetails::BankTransfer {
        account_holder: "Acme".into(),
        bank_name: "Sparkasse".into(),
    };
    let second = add(&mut store, bank, false);
    assert!(!second.is_default);
    let before = outbox(&store).len();
    let third = add(&mut store, card("3333", 2030), true);
    // The new default and the method that lost the flag both enter the outbox.
    let changes: Vec<_> = outbox(&store).into_iter().skip(before).collect();
    let flags: Vec<(String, bool)> = changes
        .iter()
        .map(|(entity, id, _, _, body)| {
            assert_eq!(entity, "payment_method");
            (id.clone(), body["is_default"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(
        flags,
        [(first.id.to_string(), false), (third.id.to_string(), true)]
    );
    assert_eq!(changes[1].4["details"]["Card"]["last4"], "3333");

    let defaults = |store: &Store| {
        store::payments::list(store.conn(), a.id)
            .unwrap()
            .into_iter()
            .filter(|m| m.is_default)
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(defaults(&store), vec![third.id]);
    run(
        &mut store,
        AccountsCommand::SetDefaultPaymentMethod { id: first.id },
    )
    .unwrap();
    assert_eq!(defaults(&store), vec![first.id]);

    // Removing the default promotes the newest remaining one, recorded too.
    let before = outbox(&store).len();
    run(
        &mut store,
        AccountsCommand::RemovePaymentMethod { id: first.id },
    )
    .unwrap();
    assert_eq!(
        defaults(&store),
        vec![third.id],
        "the newest remaining one takes over"
    );
    let changes: Vec<_> = outbox(&store).into_iter().skip(before).collect();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.0.as_str(), c.1.clone(), c.2.as_str()))
            .collect::<Vec<_>>(),
        [
            ("payment_method", first.id.to_string(), "delete"),
            ("payment_method", third.id.to_string(), "upsert"),
        ]
    );
    assert_eq!(changes[1].4["is_default"], true);

    // Deleting the account takes its methods and billing details with it.
    run(
        &mut store,
        AccountsCommand::SaveBilling {
            account_id: a.id,
            details: billing(),
        },
    )
    .unwrap();
    run(&mut store, AccountsCommand::Delete { id: a.id }).unwrap();
    let left: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM payment_methods", [], |r| r.get(0))
        .unwrap();
    let billing_left: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM billing_details", [], |r| r.get(0))
        .unwrap();
    assert_eq!((left, billing_left), (0, 0));
    let last = outbox(&store).pop().unwrap();
    assert_eq!((last.0.as_str(), last.2.as_str()), ("account", "delete"));
    assert_eq!(last.4["id"], a.id.to_string());
}

#[test]
fn a_full_card_number_cannot_be_stored() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = create(&mut store, "Acme");
    let err = run(
        &mut store,
        AccountsCommand::AddPaymentMethod {
            account_id: a.id,
            details: card("4242424242424242", 2029),
            make_default: false,
        },
    );
    assert!(err.is_err(), "the schema refuses more than four digits");
    assert!(
        store::payments::list(store.conn(), a.id)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let before = store::outbox::pending_count(store.conn()).unwrap();
    let result: Result<(), StoreError> = store.write(|tx| {
        store::accounts::create(tx, "Half Written", 1)?;
        Err(StoreError::Corrupt("something later failed".into()))
    });
    assert!(result.is_err());
    assert_eq!(store::accounts::total(store.conn()).unwrap(), 0);
    assert_eq!(store::outbox::pending_count(store.conn()).unwrap(), before);
    // The wallet ID taken inside the failed transaction was given back with it.
    assert_eq!(create(&mut store, "Whole").wallet_id, 100);
}

#[test]
fn every_account_change_enters_the_outbox_with_its_whole_state() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = create(&mut store, "Acme");
    run(
        &mut store,
        AccountsCommand::Rename {
            id: a.id,
            name: "Acme Cloud".into(),
        },
    )
    .unwrap();
    let rows = outbox(&store);
    assert_eq!(rows.len(), 2);
    for (entity, id, op, version, _) in &rows {
        assert_eq!(
            (entity.as_str(), id.as_str(), op.as_str(), *version),
            ("account", a.id.to_string().as_str(), "upsert", 1)
        );
    }
    assert_eq!(rows[0].4["name"], "Acme");
    assert_eq!(rows[1].4["name"], "Acme Cloud");
    assert_eq!(
        rows[1].4["wallet_id"], 100,
        "the whole state, not only what changed"
    );
    assert_eq!(rows[1].4["wallet_id_final"], true);
    let change_ids: std::collections::HashSet<_> = store::outbox::pending(store.conn(), 0, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.change_id)
        .collect();
    assert_eq!(change_ids.len(), 2, "every change has its own id");
}

#[test]
fn settings_round_trip_and_validate() {
    use license_desk::services::settings;
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    assert_eq!(settings::load(&store).unwrap(), Settings::default());
    let chosen = Settings {
        theme: Theme::Dark,
        air_gapped: true,
        key_idle_lock_minutes: 5,
        operator: " ada ".into(),
        daily_backups: false,
        backups_kept: 30,
        sync_enabled: false,
        portal_url: " https://portal.example:8787/ ".into(),
        sync_interval_minutes: 5,
        portal_ca_pem: rcgen::generate_simple_self_signed(vec!["portal.example".into()])
            .unwrap()
            .cert
            .pem(),
    };
    let saved = settings::save(&mut store, &chosen).unwrap();
    assert_eq!(saved.operator, "ada");
    assert_eq!(saved.portal_url, "https://portal.example:8787");
    assert_eq!(settings::load(&store).unwrap(), saved);
    let bad = Settings {
        key_idle_lock_minutes: 0,
        ..chosen.clone()
    };
    let err = settings::save(&mut store, &bad).err().unwrap();
    assert_eq!(
        err.to_string(),
        "Lock keys after (minutes): must be from 1 to 1440"
    );
    let bad = Settings {
        backups_kept: 0,
        ..chosen.clone()
    };
    let err = settings::save(&mut store, &bad).err().unwrap();
    assert_eq!(err.to_string(), "Daily backups kept: must be from 1 to 365");
    assert_eq!(settings::load(&store).unwrap(), saved);
}

#[test]
fn reader_connection_sees_writes_but_cannot_write_or_read_secrets() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let reader = store::open_read_only(&path).unwrap();
    create(&mut store, "Acme");
    assert_eq!(store::accounts::total(&reader).unwrap(), 1);
    assert!(
        reader.execute("DELETE FROM accounts", []).is_err(),
        "panels cannot write"
    );
    license_desk::services::keys::generate(
        &mut store,
        "main",
        "correct horse battery staple",
        keyvault::KdfParams::TEST_ONLY,
        true,
        1,
    )
    .unwrap();
    assert_eq!(
        store::keys::list(&reader).unwrap().len(),
        1,
        "public columns"
    );
    for sql in [
        "SELECT sealed FROM signing_keys",
        "SELECT * FROM signing_keys",
        "SELECT length(sealed) FROM signing_keys",
        "SELECT sealed FROM sync_token",
        "SELECT * FROM sync_token",
    ] {
        assert!(reader.prepare(sql).is_err(), "{sql} must be refused");
    }
    let key = store::keys::list(&reader).unwrap().remove(0);
    assert!(store::keys::sealed(&reader, key.key_id).is_err());
    assert!(
        store::keys::sealed(store.conn(), key.key_id).is_ok(),
        "the writer can"
    );
    assert!(store::sync::sealed_token(&reader).is_err());
    assert_eq!(
        store::sync::token_info(&reader).unwrap(),
        None,
        "which key sealed the token is no secret"
    );
}
