//! The scale-out with real desks: two portals over one PostgreSQL database, three desks (two
//! on one portal, one on the other) each creating, renaming and topping up accounts while they
//! sync in a loop, all at once. Afterwards every desk equals the portal's feed, account for
//! account (the newest change by HLC, then desk) and wallet entry for wallet entry (each once),
//! and the desks equal each other row for row.
//!
//! Needs PostgreSQL on /var/run/postgresql (`bash .ci/postgres.sh`); without it the test is
//! reported as ignored, by name; with `CI=true` it runs and fails.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use license_desk::commerce::wallet::{WalletChange, WalletEntry};
use license_desk::domain::account::Account;
use license_desk::domain::ids::AccountId;
use license_desk::domain::money::{Currency, Money};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::store::{self, Store};
use license_desk::sync;
use portal::protocol::{Envelope, Op};
use portal::server::{BackgroundPortal, Limits};
use portal::store::DbUrl;
use std::collections::{BTreeMap, BTreeSet};

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;
/// Edits each desk makes; it syncs after every few.
const EDITS: usize = 60;

/// The test server's base connection string (as the portal's own tests take it).
fn pg_base() -> String {
    std::env::var("LICENSE_PORTAL_TEST_PG").unwrap_or_else(|_| {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "root".into());
        format!("host=/var/run/postgresql user={user}")
    })
}

/// Runs `sql` on the server's `postgres` database.
fn admin(sql: &str) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (client, conn) = tokio_postgres::connect(
                &format!("{} dbname=postgres", pg_base()),
                tokio_postgres::NoTls,
            )
            .await
            .expect("PostgreSQL must answer for this test (bash .ci/postgres.sh)");
            tokio::spawn(conn);
            client.batch_execute(sql).await.unwrap();
        });
}

/// A database that exists for this test only.
struct PgDb(String);

impl PgDb {
    fn new() -> PgDb {
        let name = format!("desk_scale_out_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {name}"));
        PgDb(name)
    }

    fn url(&self) -> DbUrl {
        DbUrl::parse(&format!("postgres:{} dbname={}", pg_base(), self.0))
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

/// What a desk holds that sync carries here: accounts (id → name, wallet ID) and wallet
/// entry ids.
fn held(store: &Store) -> (BTreeMap<AccountId, (String, i64)>, Vec<String>) {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT id, name, wallet_id FROM accounts ORDER BY id")
        .unwrap();
    let accounts = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT lower(hex(id)) FROM wallet_entries ORDER BY id")
        .unwrap();
    let entries = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .into_iter()
        .map(|hex| uuid::Uuid::parse_str(&hex).unwrap().to_string())
        .collect();
    (accounts, entries)
}

/// One desk's part: create, rename and top up its own accounts, syncing every few edits
/// through `portal`.
fn work(desk: usize, portal: &BackgroundPortal, token: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&license_desk::paths::database_path(dir.path())).unwrap();
    let client = common::portal::client(&portal.url(), token);
    let mut mine: Vec<AccountId> = Vec::new();
    for edit in 0..EDITS {
        let now = NOW + i64::try_from(edit).unwrap();
        match (edit % 3, mine.last()) {
            (1, Some(&id)) => {
                accounts::run(
                    &mut store,
                    now,
                    AccountsCommand::Rename {
                        id,
                        name: format!("Desk {desk} account {edit} renamed"),
                    },
                )
                .unwrap();
            }
            (2, Some(&id)) => {
                let entry = WalletEntry {
                    id: uuid::Uuid::now_v7(),
                    at: now,
                    change: WalletChange::TopUp {
                        amount: Money::from_minor(100, Currency::EUR),
                        reference: format!("desk {desk} edit {edit}"),
                    },
                };
                store
                    .write(|tx| store::wallet::append(tx, id, &entry, now))
                    .unwrap();
            }
            _ => {
                let account =
                    accounts::create(&mut store, &format!("Desk {desk} account {edit}"), now)
                        .unwrap();
                mine.push(account.id);
            }
        }
        if edit % 4 == 3 {
            sync::round(&mut store, &client, &portal.url(), now).unwrap();
        }
    }
    sync::round(&mut store, &client, &portal.url(), NOW + 1000).unwrap();
    dir
}

#[test]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL on /var/run/postgresql (bash .ci/postgres.sh starts it)"
)]
fn desks_syncing_through_two_portals_over_one_postgresql_end_equal() {
    let db = PgDb::new();
    let limits = || Limits {
        rate_per_second: 0,
        compact_every: None,
        ..Limits::default()
    };
    let first = BackgroundPortal::start(&db.url(), limits()).unwrap();
    let second = BackgroundPortal::start(&db.url(), limits()).unwrap();
    // Tokens live in the database: one made on the first portal works on the second.
    let token = first.create_token("desks").unwrap();
    let dirs: Vec<tempfile::TempDir> = std::thread::scope(|scope| {
        let workers: Vec<_> = [&first, &first, &second]
            .into_iter()
            .enumerate()
            .map(|(desk, portal)| {
                let token = token.clone();
                scope.spawn(move || work(desk, portal, &token))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // Everyone pulls what the others pushed last.
    let mut stores: Vec<Store> = dirs
        .iter()
        .map(|d| Store::open(&license_desk::paths::database_path(d.path())).unwrap())
        .collect();
    for (n, store) in stores.iter_mut().enumerate() {
        let portal = if n == 2 { &second } else { &first };
        let client = common::portal::client(&portal.url(), &token);
        let report = sync::round(store, &client, &portal.url(), NOW + 2000).unwrap();
        assert!(!report.needs_review(), "desk {n}: {report:?}");
    }

    // The feed, read through the second portal, says what every desk must hold.
    let client = common::portal::client(&second.url(), &token);
    let mut feed: Vec<Envelope> = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.pull(cursor.as_deref(), 1000).unwrap();
        feed.extend(page.changes);
        cursor = Some(page.next_cursor);
        if !page.more {
            break;
        }
    }
    let ids: BTreeSet<String> = feed.iter().map(|c| c.change_id.to_string()).collect();
    assert_eq!(ids.len(), feed.len(), "a change twice in the feed");
    let mut newest: BTreeMap<String, &Envelope> = BTreeMap::new();
    for change in feed.iter().filter(|c| c.entity == "account") {
        let slot = newest.entry(change.entity_id.clone()).or_insert(change);
        if (change.hlc, change.desk_id) > (slot.hlc, slot.desk_id) {
            *slot = change;
        }
    }
    let expected: BTreeMap<AccountId, (String, i64)> = newest
        .values()
        .filter(|c| c.op != Op::Delete)
        .map(|c| {
            let account: Account = serde_json::from_str(c.body.get()).unwrap();
            (account.id, (account.name, account.wallet_id))
        })
        .collect();
    let mut facts: Vec<String> = feed
        .iter()
        .filter(|c| c.entity == "wallet_entry")
        .map(|c| c.entity_id.clone())
        .collect();
    facts.sort();
    assert_eq!(
        expected.len(),
        3 * EDITS / 3,
        "every account made reached the portal"
    );

    let first_desk = held(&stores[0]);
    for (n, store) in stores.iter().enumerate() {
        let (accounts, entries) = held(store);
        assert_eq!(accounts, expected, "desk {n} equals the portal");
        assert_eq!(entries, facts, "desk {n} holds each wallet entry once");
        assert_eq!((accounts, entries), first_desk, "desk {n} equals desk 0");
    }
}
