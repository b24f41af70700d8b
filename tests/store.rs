//! Store round trips, migrations from older builds, and all-or-nothing writes.
#![allow(clippy::unwrap_used)]

use license_desk::domain::billing::BillingDetails;
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::domain::settings::{Settings, Theme};
use license_desk::store::{self, SCHEMA_VERSION, Store, StoreError};
use rusqlite::Connection;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite3");
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

#[test]
fn opens_with_wal_foreign_keys_and_latest_schema() {
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
}

#[test]
fn database_from_an_older_build_opens_and_upgrades() {
    let (_dir, path) = temp_db();
    {
        // What the first release left behind: schema version 1 with a customer in it.
        let mut conn = Connection::open(&path).unwrap();
        store::migrate_to(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO accounts (id, name, wallet_id, created_at, updated_at)
             VALUES ('0190-old', 'Old Customer', 100, 1, 1)",
            [],
        )
        .unwrap();
        let has_outbox: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'outbox')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!has_outbox);
    }
    let mut store = Store::open(&path).unwrap();
    let version: i64 = store
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let old = store::accounts::get(store.conn(), "0190-old")
        .unwrap()
        .unwrap();
    assert_eq!((old.name.as_str(), old.wallet_id), ("Old Customer", 100));
    // The upgraded database takes new writes, and the next wallet ID follows the old ones.
    let next = store
        .write(|tx| store::accounts::create(tx, "New Customer", 2))
        .unwrap();
    assert_eq!(next.wallet_id, 101);
    assert_eq!(store::outbox::pending_count(store.conn()).unwrap(), 1);
}

#[test]
fn database_from_a_newer_build_is_refused_with_a_message() {
    let (_dir, path) = temp_db();
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { .. }));
    assert!(err.to_string().contains("use a newer License Desk"));
}

#[test]
fn accounts_round_trip_with_sequential_wallet_ids() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = store
        .write(|tx| store::accounts::create(tx, "  Acme   Storage ", 10))
        .unwrap();
    let b = store
        .write(|tx| store::accounts::create(tx, "Globex", 11))
        .unwrap();
    assert_eq!(
        (a.name.as_str(), a.wallet_id, b.wallet_id),
        ("Acme Storage", 100, 101)
    );
    assert_eq!(
        store::accounts::get(store.conn(), &a.id).unwrap(),
        Some(a.clone())
    );

    let dup = store.write(|tx| store::accounts::create(tx, "acme storage", 12));
    assert_eq!(
        dup.err().unwrap().to_string(),
        "Account name: 'acme storage' is already taken"
    );
    let blank = store.write(|tx| store::accounts::create(tx, "  ", 12));
    assert_eq!(
        blank.err().unwrap().to_string(),
        "Account name: is required"
    );

    let found = store::accounts::search(store.conn(), "STOR", Default::default(), 10).unwrap();
    assert_eq!(
        found.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["Acme Storage"]
    );
    let by_wallet = store::accounts::search(store.conn(), "101", Default::default(), 10).unwrap();
    assert_eq!(by_wallet[0].name, "Globex");
    assert_eq!(
        store::accounts::search(store.conn(), "%", Default::default(), 10)
            .unwrap()
            .len(),
        0,
        "LIKE wildcards are literal"
    );

    let by_number = store::accounts::search(
        store.conn(),
        "",
        store::accounts::AccountOrder::WalletId,
        10,
    )
    .unwrap();
    assert_eq!(
        by_number.iter().map(|a| a.wallet_id).collect::<Vec<_>>(),
        [100, 101]
    );
    assert_eq!(
        store::accounts::count_matching(store.conn(), "o").unwrap(),
        2
    );
    assert_eq!(
        store::accounts::count_matching(store.conn(), "glob").unwrap(),
        1
    );
    assert_eq!(
        store::accounts::by_wallet_id(store.conn(), 101)
            .unwrap()
            .map(|a| a.name),
        Some("Globex".into())
    );
    assert_eq!(
        store::accounts::by_wallet_id(store.conn(), 999).unwrap(),
        None
    );

    let renamed = store
        .write(|tx| store::accounts::rename(tx, &a.id, "Acme Cloud", 13))
        .unwrap();
    assert_eq!(renamed.name, "Acme Cloud");
    let clash = store.write(|tx| store::accounts::rename(tx, &a.id, "GLOBEX", 14));
    assert!(matches!(clash, Err(StoreError::Conflict(_))));
}

#[test]
fn billing_details_round_trip_normalized() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = store
        .write(|tx| store::accounts::create(tx, "Acme", 1))
        .unwrap();
    let saved = store
        .write(|tx| store::billing::save(tx, &a.id, &billing(), 2))
        .unwrap();
    assert_eq!(
        (saved.country.as_str(), saved.tax_id.as_str()),
        ("DE", "DE123456789")
    );
    assert_eq!(
        store::billing::get(store.conn(), &a.id).unwrap(),
        Some(saved.clone())
    );

    let mut edited = saved.clone();
    edited.city = "Hamburg".into();
    store
        .write(|tx| store::billing::save(tx, &a.id, &edited, 3))
        .unwrap();
    assert_eq!(
        store::billing::get(store.conn(), &a.id)
            .unwrap()
            .unwrap()
            .city,
        "Hamburg"
    );

    // Invalid input is refused and the saved row is untouched.
    let mut bad = edited.clone();
    bad.email = "nope".into();
    bad.city = "Munich".into();
    let err = store
        .write(|tx| store::billing::save(tx, &a.id, &bad, 4))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Email: 'nope' is not a valid email address"
    );
    assert_eq!(
        store::billing::get(store.conn(), &a.id)
            .unwrap()
            .unwrap()
            .city,
        "Hamburg"
    );

    let missing = store.write(|tx| store::billing::save(tx, "no-such-account", &billing(), 5));
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

#[test]
fn payment_methods_keep_one_default() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = store
        .write(|tx| store::accounts::create(tx, "Acme", 1))
        .unwrap();
    let first = store
        .write(|tx| store::payments::add(tx, &a.id, &card("1111", 2029), false, 2))
        .unwrap();
    assert!(first.is_default, "the first method becomes the default");
    let bank = PaymentDetails::BankTransfer {
        account_holder: "Acme".into(),
        bank_name: "Sparkasse".into(),
    };
    let second = store
        .write(|tx| store::payments::add(tx, &a.id, &bank, false, 3))
        .unwrap();
    assert!(!second.is_default);
    let third = store
        .write(|tx| store::payments::add(tx, &a.id, &card("3333", 2030), true, 4))
        .unwrap();
    let defaults = |store: &Store| {
        store::payments::list(store.conn(), &a.id)
            .unwrap()
            .into_iter()
            .filter(|m| m.is_default)
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(defaults(&store), vec![third.id.clone()]);
    store
        .write(|tx| store::payments::set_default(tx, &first.id, 5))
        .unwrap();
    assert_eq!(defaults(&store), vec![first.id.clone()]);
    store
        .write(|tx| store::payments::delete(tx, &first.id, 6))
        .unwrap();
    assert_eq!(
        defaults(&store),
        vec![third.id.clone()],
        "the newest remaining one takes over"
    );
    assert_eq!(store::payments::list(store.conn(), &a.id).unwrap().len(), 2);

    // Deleting the account takes its methods and billing details with it.
    store
        .write(|tx| store::billing::save(tx, &a.id, &billing(), 7))
        .unwrap();
    store
        .write(|tx| store::accounts::delete(tx, &a.id, 8))
        .unwrap();
    let left: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM payment_methods", [], |r| r.get(0))
        .unwrap();
    let billing_left: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM billing_details", [], |r| r.get(0))
        .unwrap();
    assert_eq!((left, billing_left), (0, 0));
}

#[test]
fn a_full_card_number_cannot_be_stored() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let a = store
        .write(|tx| store::accounts::create(tx, "Acme", 1))
        .unwrap();
    let err = store
        .write(|tx| store::payments::add(tx, &a.id, &card("4242424242424242", 2029), false, 2));
    assert!(err.is_err(), "the schema refuses more than four digits");
    assert!(
        store::payments::list(store.conn(), &a.id)
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
        Err(StoreError::Conflict("something later failed".into()))
    });
    assert!(result.is_err());
    assert_eq!(store::accounts::count(store.conn()).unwrap(), 0);
    assert_eq!(store::outbox::pending_count(store.conn()).unwrap(), before);
}

#[test]
fn settings_round_trip_and_validate() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store::settings::load(store.conn()).unwrap(),
        Settings::default()
    );
    let chosen = Settings {
        theme: Theme::Dark,
        air_gapped: true,
        key_idle_lock_minutes: 5,
        operator: "ada".into(),
    };
    store
        .write(|tx| store::settings::save(tx, &chosen))
        .unwrap();
    assert_eq!(store::settings::load(store.conn()).unwrap(), chosen);
    let bad = Settings {
        key_idle_lock_minutes: 0,
        ..chosen.clone()
    };
    let err = store
        .write(|tx| store::settings::save(tx, &bad))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Lock keys after (minutes): must be from 1 to 1440"
    );
    assert_eq!(store::settings::load(store.conn()).unwrap(), chosen);
}

#[test]
fn reader_connection_sees_committed_writes() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let reader = store::open_read_only(&path).unwrap();
    store
        .write(|tx| store::accounts::create(tx, "Acme", 1))
        .unwrap();
    assert_eq!(store::accounts::count(&reader).unwrap(), 1);
    assert!(
        reader.execute("DELETE FROM accounts", []).is_err(),
        "panels cannot write"
    );
}
