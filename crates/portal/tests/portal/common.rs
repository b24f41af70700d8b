//! Helpers: a fresh database of either kind, a portal on 127.0.0.1 with a token, envelopes.

use portal::client::{ClientOptions, PortalClient};
use portal::hlc::HlcClock;
use portal::protocol::{Envelope, Op};
use portal::server::{BackgroundPortal, Limits};
use portal::store::{DbUrl, Store};
use serde_json::value::RawValue;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Runs a case against both stores: `mod NAME { sqlite, postgres }`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::common::Kind::Sqlite)
            }
            #[test]
            #[cfg_attr(no_postgres, ignore = "no PostgreSQL on /var/run/postgresql (bash .ci/postgres.sh starts it)")]
            fn postgres() {
                super::$name($crate::common::Kind::Postgres)
            }
        }
    )*};
}

/// The base connection string for the test server (without a database name).
pub fn pg_base() -> String {
    std::env::var("LICENSE_PORTAL_TEST_PG").unwrap_or_else(|_| {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "root".into());
        format!("host=/var/run/postgresql user={user}")
    })
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: DbUrl,
    pub text: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("portal.db");
                let text = path.display().to_string();
                TestDb {
                    url: DbUrl::Sqlite(path),
                    text,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Kind::Postgres => {
                let name = format!("portal_test_{}", Uuid::new_v4().simple());
                block_on(async {
                    let (client, conn) = tokio_postgres::connect(
                        &format!("{} dbname=postgres", pg_base()),
                        tokio_postgres::NoTls,
                    )
                    .await
                    .expect("PostgreSQL must answer for this test (bash .ci/postgres.sh)");
                    tokio::spawn(conn);
                    client
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .await
                        .expect("create database");
                });
                let text = format!("postgres:{} dbname={name}", pg_base());
                TestDb {
                    url: DbUrl::parse(&text),
                    text,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// A direct connection (PostgreSQL only), for what no endpoint does.
    pub async fn pg_connect(&self) -> tokio_postgres::Client {
        let name = self.pg_name.as_deref().expect("a PostgreSQL test database");
        let (client, conn) = tokio_postgres::connect(
            &format!("{} dbname={name}", pg_base()),
            tokio_postgres::NoTls,
        )
        .await
        .expect("connect");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(
                    &format!("{} dbname=postgres", pg_base()),
                    tokio_postgres::NoTls,
                )
                .await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        }
    }
}

/// Limits for tests: no rate limit unless a test sets one.
pub fn test_limits() -> Limits {
    Limits {
        rate_per_second: 0,
        compact_every: None,
        ..Limits::default()
    }
}

/// Makes a token straight in the database.
pub fn make_token(store: &Store, name: &str) -> String {
    let token = portal::token::generate().expect("token");
    block_on(store.create_token(name, portal::token::hash(&token), portal::clock::now_ms()))
        .expect("create token");
    token
}

/// A portal on a fresh database, with one token.
pub struct Fixture {
    pub db: TestDb,
    pub portal: BackgroundPortal,
    pub token: String,
}

impl Fixture {
    pub fn new(kind: Kind) -> Fixture {
        Fixture::with_limits(kind, test_limits())
    }

    pub fn with_limits(kind: Kind, limits: Limits) -> Fixture {
        let db = TestDb::new(kind);
        let portal = BackgroundPortal::start(&db.url, limits).expect("portal starts");
        let token = make_token(&portal.store, "desk-1");
        Fixture { db, portal, token }
    }

    pub fn client(&self) -> PortalClient {
        PortalClient::new(&self.portal.url(), &self.token, ClientOptions::default())
            .expect("client")
    }

    /// Every change of the feed, paging with `page`.
    pub fn pull_all(&self, page: usize) -> Vec<Envelope> {
        pull_all(&self.client(), page)
    }
}

pub fn pull_all(client: &PortalClient, page: usize) -> Vec<Envelope> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let answer = client.pull(cursor.as_deref(), page).expect("pull");
        all.extend(answer.changes);
        cursor = Some(answer.next_cursor);
        if !answer.more {
            return all;
        }
    }
}

/// A desk making changes: its id and its clock.
pub struct Desk {
    pub id: Uuid,
    clock: HlcClock,
}

impl Default for Desk {
    fn default() -> Self {
        Desk {
            id: Uuid::now_v7(),
            clock: HlcClock::default(),
        }
    }
}

impl Desk {
    pub fn change(
        &mut self,
        entity: &str,
        entity_id: &str,
        op: Op,
        body: serde_json::Value,
    ) -> Envelope {
        let now = u64::try_from(portal::clock::now_ms()).unwrap_or(0);
        Envelope {
            change_id: Uuid::now_v7(),
            desk_id: self.id,
            hlc: self.clock.tick(now),
            entity: entity.into(),
            entity_id: entity_id.into(),
            op,
            version: 1,
            body: RawValue::from_string(body.to_string()).expect("json"),
            base: None,
        }
    }

    /// An account upsert with a new id.
    pub fn account(&mut self, name: &str) -> Envelope {
        let id = Uuid::now_v7().to_string();
        self.change(
            "account",
            &id,
            Op::Upsert,
            serde_json::json!({ "id": id, "name": name }),
        )
    }

    /// A ledger entry (an insert-only fact) numbered `seq` on this desk.
    pub fn ledger(&mut self, seq: u64, note: &str) -> Envelope {
        let id = format!("{}:{seq}", self.id);
        self.change(
            "ledger_entry",
            &id,
            Op::Insert,
            serde_json::json!({ "seq": seq, "note": note }),
        )
    }
}

/// The statuses of a push, as words.
pub fn statuses(answer: &portal::protocol::PushResponse) -> Vec<String> {
    answer
        .results
        .iter()
        .map(|r| match r.code {
            Some(code) => code.as_str().to_string(),
            None => serde_json::to_value(r.status)
                .expect("json")
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// A plain HTTP client for requests the portal client would never make.
pub fn raw() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}
