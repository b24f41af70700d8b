//! Sync portal figures (BENCHMARKS.md, "Sync portal"): push and pull of 100,000 changes over
//! loopback, and 50 simulated desks syncing at once, over SQLite and PostgreSQL, one portal and
//! two. A plain binary (`harness = false`), run by `cargo bench -p portal --bench sync`, never
//! by `cargo test`. Every request goes to 127.0.0.1 and every loop is bounded.
//!
//! PostgreSQL runs are skipped (and say so) when no server answers on /var/run/postgresql.

use portal::client::{ClientOptions, PortalClient};
use portal::hlc::HlcClock;
use portal::protocol::{Envelope, Op};
use portal::server::{BackgroundPortal, Limits};
use portal::store::DbUrl;
use serde_json::value::RawValue;
use std::time::{Duration, Instant};
use uuid::Uuid;

const TOTAL: usize = 100_000;
const PUSH_BATCH: usize = 1000;
const PAGE: usize = 5000;
const DESKS: usize = 50;
const DESK_SECONDS: u64 = 10;

fn limits() -> Limits {
    Limits {
        rate_per_second: 0,
        compact_every: None,
        max_page: 10_000,
        ..Limits::default()
    }
}

/// About 300 bytes of JSON, like an account with its billing details.
fn change(clock: &mut HlcClock, desk: Uuid, i: usize) -> Envelope {
    let id = Uuid::now_v7().to_string();
    let body = format!(
        r#"{{"id":"{id}","name":"Korasol Networks GmbH {i}","wallet_id":{w},"email":"billing{i}@korasol.example","address":"Hauptstrasse {i}","city":"Berlin","postal_code":"10115","country":"DE","tax_id":"DE123456789","created_at":1764460800}}"#,
        w = 100 + i
    );
    let now = u64::try_from(portal::clock::now_ms()).unwrap_or(0);
    Envelope {
        change_id: Uuid::now_v7(),
        desk_id: desk,
        hlc: clock.tick(now),
        entity: "account".into(),
        entity_id: id,
        op: Op::Upsert,
        version: 1,
        body: RawValue::from_string(body).expect("json"),
        base: None,
    }
}

fn client(url: &str, token: &str) -> PortalClient {
    PortalClient::new(url, token, ClientOptions::default()).expect("client")
}

fn token(portal: &BackgroundPortal, name: &str) -> String {
    let token = portal::token::generate().expect("token");
    runtime()
        .block_on(portal.store.create_token(
            name,
            portal::token::hash(&token),
            portal::clock::now_ms(),
        ))
        .expect("create token");
    token
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A fresh database of each kind; PostgreSQL only where a server answers.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    fn url(&self) -> DbUrl {
        match self {
            Db::Sqlite(dir) => DbUrl::Sqlite(dir.path().join("portal.db")),
            Db::Postgres(name) => DbUrl::parse(&format!("postgres:{} dbname={name}", pg_base())),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres(name) = self {
            let _ = pg_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn pg_base() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    format!("host=/var/run/postgresql user={user}")
}

fn pg_admin(sql: &str) -> Result<(), tokio_postgres::Error> {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(
            &format!("{} dbname=postgres", pg_base()),
            tokio_postgres::NoTls,
        )
        .await?;
        tokio::spawn(conn);
        client.batch_execute(sql).await
    })
}

fn fresh(postgres: bool) -> Option<Db> {
    if !postgres {
        return Some(Db::Sqlite(tempfile::tempdir().expect("tempdir")));
    }
    let name = format!("portal_bench_{}", Uuid::new_v4().simple());
    match pg_admin(&format!("CREATE DATABASE {name}")) {
        Ok(()) => Some(Db::Postgres(name)),
        Err(e) => {
            println!("PostgreSQL skipped: {e}");
            None
        }
    }
}

/// Push 100,000 changes in batches of 1,000, then pull them all in pages of 5,000 (decoded),
/// then again applying each page to a desk-like SQLite table in one transaction per page.
fn push_and_pull(kind: &str, db: &Db) {
    let portal = BackgroundPortal::start(&db.url(), limits()).expect("portal");
    let token = token(&portal, "bench");
    let client = client(&portal.url(), &token);
    let desk = Uuid::now_v7();
    let mut clock = HlcClock::default();
    let changes: Vec<Envelope> = (0..TOTAL).map(|i| change(&mut clock, desk, i)).collect();
    let started = Instant::now();
    for batch in changes.chunks(PUSH_BATCH) {
        let answer = client.push(batch).expect("push");
        assert_eq!(answer.accepted, batch.len());
    }
    let push = started.elapsed();
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut got = 0;
    loop {
        let page = client.pull(cursor.as_deref(), PAGE).expect("pull");
        got += page.changes.len();
        cursor = Some(page.next_cursor);
        if !page.more {
            break;
        }
    }
    assert_eq!(got, TOTAL);
    let pull = started.elapsed();
    let applied = pull_into_desk(&client);
    println!(
        "| {kind} | push {TOTAL} ({PUSH_BATCH}/request) | {:.2} s | {:.0} changes/s |",
        push.as_secs_f64(),
        TOTAL as f64 / push.as_secs_f64()
    );
    println!(
        "| {kind} | pull {TOTAL} (page {PAGE}), decoded | {:.2} s | {:.0} changes/s |",
        pull.as_secs_f64(),
        TOTAL as f64 / pull.as_secs_f64()
    );
    println!(
        "| {kind} | pull {TOTAL} (page {PAGE}) into a desk's SQLite (UUIDv7 BLOB keys) | {:.2} s | {:.0} changes/s |",
        applied.as_secs_f64(),
        TOTAL as f64 / applied.as_secs_f64()
    );
}

/// What a desk does with a pull: each page in one transaction, keyed by the change's UUIDv7.
fn pull_into_desk(client: &PortalClient) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    #[allow(clippy::disallowed_methods)] // a stand-in for the desk's database, not the portal's
    let mut desk = rusqlite::Connection::open(dir.path().join("desk.db")).expect("desk db");
    desk.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE synced (change_id BLOB PRIMARY KEY, entity TEXT NOT NULL, entity_id TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE cursor (singleton INTEGER PRIMARY KEY, value TEXT NOT NULL);",
    )
    .expect("schema");
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    loop {
        let page = client.pull(cursor.as_deref(), PAGE).expect("pull");
        let tx = desk.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO synced (change_id, entity, entity_id, body) VALUES (?1, ?2, ?3, ?4)")
                .expect("prepare");
            for c in &page.changes {
                insert
                    .execute(rusqlite::params![
                        c.change_id.as_bytes().to_vec(),
                        c.entity,
                        c.entity_id,
                        c.body.get()
                    ])
                    .expect("insert");
            }
            tx.execute(
                "INSERT OR REPLACE INTO cursor (singleton, value) VALUES (1, ?1)",
                [&page.next_cursor],
            )
            .expect("cursor");
        }
        tx.commit().expect("commit");
        cursor = Some(page.next_cursor);
        if !page.more {
            break;
        }
    }
    started.elapsed()
}

/// 50 desks, each a thread with its own token and connection: push 10 changes, pull what is
/// new, again, for 10 s; the desks spread over `portals`.
fn desks(kind: &str, db: &Db, portals: usize) {
    let running: Vec<BackgroundPortal> = (0..portals)
        .map(|_| BackgroundPortal::start(&db.url(), limits()).expect("portal"))
        .collect();
    let tokens: Vec<String> = (0..DESKS)
        .map(|d| token(&running[0], &format!("desk {d}")))
        .collect();
    let until = Instant::now() + Duration::from_secs(DESK_SECONDS);
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(d, token)| {
                let url = running[d % portals].url();
                scope.spawn(move || {
                    let client = client(&url, token);
                    let desk = Uuid::now_v7();
                    let mut clock = HlcClock::default();
                    let mut cursor: Option<String> = None;
                    let mut times = Vec::new();
                    let mut i = 0;
                    while Instant::now() < until {
                        let batch: Vec<Envelope> = (0..10)
                            .map(|_| {
                                i += 1;
                                change(&mut clock, desk, i)
                            })
                            .collect();
                        let t = Instant::now();
                        client.push(&batch).expect("push");
                        times.push(t.elapsed());
                        loop {
                            let t = Instant::now();
                            let page = client.pull(cursor.as_deref(), 1000).expect("pull");
                            times.push(t.elapsed());
                            cursor = Some(page.next_cursor);
                            if !page.more || Instant::now() >= until {
                                break;
                            }
                        }
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("desk"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "| {kind}, {portals} portal{} | {DESKS} desks, push 10 + pull, {DESK_SECONDS} s | {:.0} requests/s | p50 {:.1} ms, p99 {:.1} ms |",
        if portals == 1 { "" } else { "s" },
        all.len() as f64 / elapsed.as_secs_f64(),
        p(0.50).as_secs_f64() * 1000.0,
        p(0.99).as_secs_f64() * 1000.0
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument picks runs by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    println!("| storage | what | time / rate | latency |");
    println!("|---|---|---|---|");
    if wanted("sqlite") {
        let db = fresh(false).expect("sqlite");
        push_and_pull("SQLite", &db);
        let db = fresh(false).expect("sqlite");
        desks("SQLite", &db, 1);
    }
    if wanted("postgres") {
        if let Some(db) = fresh(true) {
            push_and_pull("PostgreSQL", &db);
        }
        if let Some(db) = fresh(true) {
            desks("PostgreSQL", &db, 1);
        }
        if let Some(db) = fresh(true) {
            desks("PostgreSQL", &db, 2);
        }
    }
}
