//! The SQLite store: one file, one writer connection (SQLite serialises writers anyway) and a
//! few reader connections beside it (WAL). Because every write transaction is
//! `BEGIN IMMEDIATE`, positions (`INTEGER PRIMARY KEY AUTOINCREMENT`) are handed out and
//! committed in the same order, also when several portal processes share the file: a reader
//! never sees position n+1 before n, so `pos > cursor` is a commit-ordered feed here.
//! AUTOINCREMENT keeps a removed position from ever being handed out again.
//!
//! This is the one place the portal opens SQLite connections.

use super::{
    CompactReport, Outcome, Page, PullError, StoreError, StoreResult, StoredChange, TokenInfo,
};
use crate::cursor::Position;
use crate::protocol::{RejectCode, WalletBlock};
use crate::validate::ValidChange;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Numbered migrations; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE feed (
        singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
        feed_id      BLOB NOT NULL CHECK (length(feed_id) = 16),
        created_at   INTEGER NOT NULL,
        horizon_pos  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
        pos          INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id    BLOB NOT NULL CHECK (length(change_id) = 16),
        desk_id      BLOB NOT NULL CHECK (length(desk_id) = 16),
        hlc          TEXT NOT NULL,
        entity       TEXT NOT NULL,
        entity_id    TEXT NOT NULL,
        op           TEXT NOT NULL CHECK (op IN ('upsert', 'delete', 'insert')),
        version      INTEGER NOT NULL CHECK (version >= 1),
        body         TEXT NOT NULL,
        received_at  INTEGER NOT NULL
    );
    -- Compaction asks "is there a later change of this entity?"
    CREATE INDEX changes_by_entity ON changes (entity, entity_id, hlc, desk_id);
    CREATE TABLE receipts (
        change_id     BLOB PRIMARY KEY,
        content_hash  BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE facts (
        entity     TEXT NOT NULL,
        entity_id  TEXT NOT NULL,
        fact_hash  BLOB NOT NULL,
        change_id  BLOB NOT NULL,
        PRIMARY KEY (entity, entity_id)
    ) WITHOUT ROWID;
    CREATE TABLE tokens (
        id           BLOB PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        secret_hash  BLOB NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        revoked_at   INTEGER
    );
    CREATE TABLE wallet_blocks (
        first_id    INTEGER PRIMARY KEY,
        last_id     INTEGER NOT NULL CHECK (last_id >= first_id),
        desk_id     BLOB NOT NULL,
        granted_at  INTEGER NOT NULL
    );
"#,
    // 2: the version a change was made on (protocol 2).
    r#"
    ALTER TABLE changes ADD COLUMN base_hlc TEXT;
    ALTER TABLE changes ADD COLUMN base_desk_id BLOB CHECK (length(base_desk_id) = 16);
"#,
];

/// How many reader connections stay open beside the writer.
const READERS: usize = 4;

/// The SQLite store (cheap to clone: the connections are shared).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    feed_id: Uuid,
}

/// Opens a connection with the portal's settings. The one place connections are opened.
#[allow(clippy::disallowed_methods)] // this module owns the portal's SQLite connections
fn connect(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    // An acknowledged change must survive a crash: WAL + FULL syncs every commit.
    conn.execute_batch(
        "PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    if !read_only {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    }
    Ok(conn)
}

/// The token hashes are secrets of a kind: the database file is the owner's only.
fn create_private(path: &Path) -> StoreResult<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<Uuid> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema {done}, newer than this portal ({}): run a newer portal",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    let existing: Option<Vec<u8>> = tx
        .query_row("SELECT feed_id FROM feed WHERE singleton = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let feed_id = match existing {
        Some(bytes) => Uuid::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        None => {
            let id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO feed (singleton, feed_id, created_at) VALUES (1, ?1, ?2)",
                params![id.as_bytes().to_vec(), crate::clock::now_ms()],
            )?;
            id
        }
    };
    tx.commit()?;
    Ok(feed_id)
}

fn uuid_col(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes: Vec<u8> = row.get(i)?;
    Uuid::from_slice(&bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
    })
}

impl SqliteStore {
    /// Opens (creating) the file and runs the migrations.
    pub async fn open(path: PathBuf) -> StoreResult<SqliteStore> {
        tokio::task::spawn_blocking(move || {
            create_private(&path)?;
            let mut writer = connect(&path, false)?;
            let feed_id = migrate(&mut writer)?;
            Ok(SqliteStore {
                inner: Arc::new(Inner {
                    path,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                    feed_id,
                }),
            })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub fn feed_id(&self) -> Uuid {
        self.inner.feed_id
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| StoreError::Task("writer lock poisoned".into()))?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, PullError> + Send + 'static,
    ) -> Result<T, PullError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path, true)?,
            };
            let result = work(&conn);
            if let Ok(mut readers) = inner.readers.lock()
                && readers.len() < READERS
            {
                readers.push(conn);
            }
            result
        })
        .await
        .map_err(|e| PullError::Store(StoreError::Task(e.to_string())))?
    }

    async fn read_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.read(move |conn| work(conn).map_err(PullError::Store))
            .await
            .map_err(|e| match e {
                PullError::Store(e) => e,
                PullError::Expired => StoreError::Task("unexpected".into()),
            })
    }

    pub async fn health(&self) -> StoreResult<()> {
        self.read_store(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    pub async fn push(&self, changes: Vec<ValidChange>, now_ms: i64) -> StoreResult<Vec<Outcome>> {
        self.write(move |tx| {
            let mut receipt = tx.prepare_cached("SELECT content_hash FROM receipts WHERE change_id = ?1")?;
            let mut fact = tx.prepare_cached("SELECT fact_hash FROM facts WHERE entity = ?1 AND entity_id = ?2")?;
            let mut add_receipt = tx.prepare_cached("INSERT INTO receipts (change_id, content_hash) VALUES (?1, ?2)")?;
            let mut add_fact = tx.prepare_cached(
                "INSERT INTO facts (entity, entity_id, fact_hash, change_id) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut add_change = tx.prepare_cached(
                "INSERT INTO changes (change_id, desk_id, hlc, entity, entity_id, op, version, body, received_at,
                                      base_hlc, base_desk_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut outcomes = Vec::with_capacity(changes.len());
            // One at a time: each sees the ones before it, so repeats inside the batch are
            // answered as if pushed separately.
            for c in &changes {
                let id = c.change_id.as_bytes().to_vec();
                let known: Option<Vec<u8>> = receipt.query_row([&id], |r| r.get(0)).optional()?;
                if let Some(hash) = known {
                    outcomes.push(if hash == c.content_hash {
                        Outcome::Duplicate
                    } else {
                        Outcome::Rejected(RejectCode::ChangeIdReused, REUSED.into())
                    });
                    continue;
                }
                if let Some(fact_hash) = c.fact_hash {
                    let existing: Option<Vec<u8>> =
                        fact.query_row(params![c.entity, c.entity_id], |r| r.get(0)).optional()?;
                    match existing {
                        Some(hash) if hash == fact_hash => {
                            outcomes.push(Outcome::Duplicate);
                            continue;
                        }
                        Some(_) => {
                            outcomes.push(Outcome::Rejected(RejectCode::ConflictingFact, conflicting(c)));
                            continue;
                        }
                        None => {
                            add_fact.execute(params![c.entity, c.entity_id, fact_hash.to_vec(), id])?;
                        }
                    }
                }
                add_receipt.execute(params![id, c.content_hash.to_vec()])?;
                add_change.execute(params![
                    id,
                    c.desk_id.as_bytes().to_vec(),
                    c.hlc.to_string(),
                    c.entity,
                    c.entity_id,
                    c.op.as_str(),
                    c.version,
                    c.body,
                    now_ms,
                    c.base.map(|b| b.hlc.to_string()),
                    c.base.map(|b| b.desk_id.as_bytes().to_vec()),
                ])?;
                outcomes.push(Outcome::Accepted);
            }
            Ok(outcomes)
        })
        .await
    }

    pub async fn pull(
        &self,
        after: Position,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, PullError> {
        self.read(move |conn| {
            let horizon: i64 = conn
                .query_row(
                    "SELECT horizon_pos FROM feed WHERE singleton = 1",
                    [],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            if after != Position::START && after.pos < horizon {
                return Err(PullError::Expired);
            }
            let mut stmt = conn
                .prepare_cached(
                    "SELECT pos, change_id, desk_id, hlc, entity, entity_id, op, version, body,
                            base_hlc, base_desk_id
                     FROM changes WHERE pos > ?1 ORDER BY pos LIMIT ?2",
                )
                .map_err(StoreError::from)?;
            let mut rows = stmt
                .query(params![
                    after.pos,
                    i64::try_from(limit + 1).unwrap_or(i64::MAX)
                ])
                .map_err(StoreError::from)?;
            let mut changes = Vec::with_capacity(limit.min(1024));
            let mut bytes = 0usize;
            let mut more = false;
            while let Some(r) = rows.next().map_err(StoreError::from)? {
                if changes.len() == limit || (bytes >= max_bytes && !changes.is_empty()) {
                    more = true;
                    break;
                }
                let change = StoredChange {
                    position: Position {
                        xid: 0,
                        pos: r.get(0).map_err(StoreError::from)?,
                    },
                    change_id: uuid_col(r, 1).map_err(StoreError::from)?,
                    desk_id: uuid_col(r, 2).map_err(StoreError::from)?,
                    hlc: r.get(3).map_err(StoreError::from)?,
                    entity: r.get(4).map_err(StoreError::from)?,
                    entity_id: r.get(5).map_err(StoreError::from)?,
                    op: r.get(6).map_err(StoreError::from)?,
                    version: r.get(7).map_err(StoreError::from)?,
                    body: r.get(8).map_err(StoreError::from)?,
                    base: super::base_of(
                        r.get(9).map_err(StoreError::from)?,
                        r.get::<_, Option<Vec<u8>>>(10)
                            .map_err(StoreError::from)?
                            .map(|bytes| Uuid::from_slice(&bytes))
                            .transpose()
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )?,
                };
                bytes += change.body.len();
                changes.push(change);
            }
            Ok(Page { changes, more })
        })
        .await
    }

    pub async fn token_valid(&self, hash: [u8; 32]) -> StoreResult<bool> {
        self.read_store(move |conn| {
            let found: Option<bool> = conn
                .prepare_cached("SELECT revoked_at IS NULL FROM tokens WHERE secret_hash = ?1")?
                .query_row([hash.to_vec()], |r| r.get(0))
                .optional()?;
            Ok(found == Some(true))
        })
        .await
    }

    pub async fn create_token(&self, info: TokenInfo, hash: [u8; 32]) -> StoreResult<TokenInfo> {
        self.write(move |tx| {
            let taken: bool = tx.query_row(
                "SELECT count(*) > 0 FROM tokens WHERE name = ?1",
                [&info.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::Invalid(format!(
                    "a token named '{}' exists already",
                    info.name
                )));
            }
            tx.execute(
                "INSERT INTO tokens (id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    info.id.as_bytes().to_vec(),
                    info.name,
                    hash.to_vec(),
                    info.created_at
                ],
            )?;
            Ok(info)
        })
        .await
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        self.read_store(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, name, created_at, revoked_at FROM tokens ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(TokenInfo {
                    id: uuid_col(r, 0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    revoked_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn revoke_token(&self, id: Uuid, now_ms: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.as_bytes().to_vec(), now_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn claim_wallet_blocks(
        &self,
        desk_id: Uuid,
        local_block: Option<WalletBlock>,
        another: bool,
        now_ms: i64,
    ) -> StoreResult<Vec<WalletBlock>> {
        self.write(move |tx| {
            let mut stmt = tx.prepare("SELECT first_id, last_id, desk_id FROM wallet_blocks ORDER BY first_id")?;
            let all = stmt
                .query_map([], |r| Ok((WalletBlock { first_id: r.get(0)?, last_id: r.get(1)? }, uuid_col(r, 2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut held: Vec<WalletBlock> = all.iter().filter(|(_, d)| *d == desk_id).map(|(b, _)| *b).collect();
            if let Some(grant) = super::wallet_grant(&all, desk_id, local_block, another) {
                tx.execute(
                    "INSERT INTO wallet_blocks (first_id, last_id, desk_id, granted_at) VALUES (?1, ?2, ?3, ?4)",
                    params![grant.first_id, grant.last_id, desk_id.as_bytes().to_vec(), now_ms],
                )?;
                held.push(grant);
            }
            Ok(held)
        })
        .await
    }

    pub async fn compact(&self, cutoff_ms: i64) -> StoreResult<CompactReport> {
        self.write(move |tx| {
            let mut stmt = tx.prepare(
                "DELETE FROM changes WHERE received_at < ?1 AND op <> 'insert' AND EXISTS (
                     SELECT 1 FROM changes later
                     WHERE later.entity = changes.entity AND later.entity_id = changes.entity_id
                       AND (later.hlc, later.desk_id) > (changes.hlc, changes.desk_id))
                 RETURNING pos",
            )?;
            let removed: Vec<i64> = stmt
                .query_map([cutoff_ms], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if let Some(newest) = removed.iter().max() {
                tx.execute(
                    "UPDATE feed SET horizon_pos = max(horizon_pos, ?1)",
                    [newest],
                )?;
            }
            let horizon: i64 = tx.query_row("SELECT horizon_pos FROM feed", [], |r| r.get(0))?;
            Ok(CompactReport {
                removed: removed.len() as u64,
                horizon: Position {
                    xid: 0,
                    pos: horizon,
                },
            })
        })
        .await
    }
}

const REUSED: &str =
    "this change id was pushed before with other content; a change id is never reused";

fn conflicting(c: &ValidChange) -> String {
    format!(
        "{} {} is an insert-only fact the portal already holds with other content",
        c.entity, c.entity_id
    )
}

pub(crate) fn conflicting_fact_reason(c: &ValidChange) -> String {
    conflicting(c)
}

pub(crate) const REUSED_REASON: &str = REUSED;
