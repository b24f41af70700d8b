//! The PostgreSQL store, for several stateless portals over one database.
//!
//! The feed must follow commit order, not sequence order: a sequence value taken early can
//! commit late, and a reader that has moved past it with `pos > cursor` never sees it. So each
//! change carries the id of the transaction that wrote it (`txid xid8`, the column's default
//! `pg_current_xact_id()`), the feed is ordered by `(txid, pos)`, and a pull returns only rows
//! whose `txid` is below the oldest transaction of this database still running at its
//! snapshot. Every transaction below that has finished, so nothing can still appear before the
//! cursor a pull hands out: a late commit is held back from every reader until it and everything before it
//! are visible, then read in order. Writers never wait for each other (only for the same
//! change id or fact). The price: while a write transaction is open in this database, pulls
//! show nothing newer than it; push transactions last milliseconds, and portal sessions end
//! idle transactions after a minute.

use super::{
    CompactReport, Outcome, Page, PullError, StoreError, StoreResult, StoredChange, TokenInfo,
};
use crate::cursor::Position;
use crate::protocol::{RejectCode, WalletBlock};
use crate::validate::ValidChange;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// Numbered migrations, applied under an advisory lock (several portals may start at once).
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE feed (
        singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        feed_id      uuid NOT NULL,
        created_at   bigint NOT NULL,
        horizon_xid  xid8 NOT NULL DEFAULT '0',
        horizon_pos  bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
        txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
        pos          bigint GENERATED ALWAYS AS IDENTITY,
        change_id    uuid NOT NULL,
        desk_id      uuid NOT NULL,
        hlc          text COLLATE "C" NOT NULL,
        entity       text COLLATE "C" NOT NULL,
        entity_id    text COLLATE "C" NOT NULL,
        op           text NOT NULL CHECK (op IN ('upsert', 'delete', 'insert')),
        version      integer NOT NULL CHECK (version >= 1),
        body         text NOT NULL,
        received_at  bigint NOT NULL,
        PRIMARY KEY (txid, pos)
    );
    CREATE INDEX changes_by_entity ON changes (entity, entity_id, hlc, desk_id);
    CREATE TABLE receipts (
        change_id     uuid PRIMARY KEY,
        content_hash  bytea NOT NULL
    );
    CREATE TABLE facts (
        entity     text COLLATE "C" NOT NULL,
        entity_id  text COLLATE "C" NOT NULL,
        fact_hash  bytea NOT NULL,
        change_id  uuid NOT NULL,
        PRIMARY KEY (entity, entity_id)
    );
    CREATE TABLE tokens (
        id           uuid PRIMARY KEY,
        name         text NOT NULL UNIQUE,
        secret_hash  bytea NOT NULL UNIQUE,
        created_at   bigint NOT NULL,
        revoked_at   bigint
    );
    CREATE TABLE wallet_blocks (
        first_id    bigint PRIMARY KEY,
        last_id     bigint NOT NULL CHECK (last_id >= first_id),
        desk_id     uuid NOT NULL,
        granted_at  bigint NOT NULL
    );
"#,
    // 2: the version a change was made on (protocol 2).
    r#"
    ALTER TABLE changes ADD COLUMN base_hlc text COLLATE "C";
    ALTER TABLE changes ADD COLUMN base_desk_id uuid;
    ALTER TABLE changes ADD CHECK ((base_hlc IS NULL) = (base_desk_id IS NULL));
"#,
];

/// Advisory lock keys (arbitrary, fixed): migrations, compaction, wallet blocks.
const MIGRATION_LOCK: i64 = 0x4c44_5031; // "LDP1"
const COMPACTION_LOCK: i64 = 0x4c44_5032;
const WALLET_LOCK: i64 = 0x4c44_5033;

/// Connections per portal process.
const POOL_SIZE: usize = 16;

/// The PostgreSQL store (cheap to clone: the pool is shared).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    feed_id: Uuid,
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

/// Whether a failed transaction is worth running again (PostgreSQL chose it as a victim).
fn retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Postgres(pg) if pg.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
        || pg.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
}

fn xid_of(text: &str) -> StoreResult<u64> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("'{text}' is not a transaction id")))
}

impl PgStore {
    /// Connects, migrates and reads the feed id.
    pub async fn open(conninfo: &str) -> StoreResult<PgStore> {
        let mut config = tokio_postgres::Config::from_str(conninfo)?;
        // An abandoned transaction would hold every pull back (see the module docs); no
        // statement may run away either.
        config.options("-c idle_in_transaction_session_timeout=60000 -c statement_timeout=60000");
        if config.get_application_name().is_none() {
            config.application_name("license-portal");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(pool_err)?;
        let mut client = pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS portal_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)")
            .await?;
        let done: i64 = tx
            .query_one("SELECT count(*) FROM portal_migrations", &[])
            .await?
            .get(0);
        let done = usize::try_from(done).unwrap_or(usize::MAX);
        if done > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema {done}, newer than this portal ({}): run a newer portal",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.batch_execute(sql).await?;
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO portal_migrations (version, applied_at) VALUES ($1, $2)",
                &[&version, &crate::clock::now_ms()],
            )
            .await?;
        }
        let feed_id = match tx.query_opt("SELECT feed_id FROM feed", &[]).await? {
            Some(row) => row.get(0),
            None => {
                let id = Uuid::now_v7();
                tx.execute(
                    "INSERT INTO feed (feed_id, created_at) VALUES ($1, $2)",
                    &[&id, &crate::clock::now_ms()],
                )
                .await?;
                id
            }
        };
        tx.commit().await?;
        Ok(PgStore { pool, feed_id })
    }

    pub fn feed_id(&self) -> Uuid {
        self.feed_id
    }

    pub async fn health(&self) -> StoreResult<()> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    pub async fn push(&self, changes: Vec<ValidChange>, now_ms: i64) -> StoreResult<Vec<Outcome>> {
        let mut attempt = 0;
        loop {
            match self.push_once(&changes, now_ms).await {
                Err(e) if retryable(&e) && attempt < 5 => attempt += 1,
                other => return other,
            }
        }
    }

    /// One try at a batch: round by round (see `store::rounds`), each in a handful of
    /// set-based statements. Unique-key inserts go in sorted order so two portals pushing
    /// overlapping batches wait for each other instead of deadlocking.
    async fn push_once(&self, changes: &[ValidChange], now_ms: i64) -> StoreResult<Vec<Outcome>> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        let mut outcomes: Vec<Option<Outcome>> = vec![None; changes.len()];
        for round in super::rounds(changes) {
            // 1. Receipts: a change id seen before is a duplicate or a reuse.
            let mut by_id: Vec<usize> = round.clone();
            by_id.sort_by_key(|&i| changes[i].change_id);
            let ids: Vec<Uuid> = by_id.iter().map(|&i| changes[i].change_id).collect();
            let hashes: Vec<Vec<u8>> = by_id
                .iter()
                .map(|&i| changes[i].content_hash.to_vec())
                .collect();
            let fresh: HashSet<Uuid> = tx
                .query(
                    "INSERT INTO receipts (change_id, content_hash)
                     SELECT * FROM unnest($1::uuid[], $2::bytea[])
                     ON CONFLICT DO NOTHING RETURNING change_id",
                    &[&ids, &hashes],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let seen: Vec<Uuid> = ids
                .iter()
                .filter(|id| !fresh.contains(id))
                .copied()
                .collect();
            if !seen.is_empty() {
                let known: HashMap<Uuid, Vec<u8>> = tx
                    .query(
                        "SELECT change_id, content_hash FROM receipts WHERE change_id = ANY($1)",
                        &[&seen],
                    )
                    .await?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                for &i in &round {
                    let c = &changes[i];
                    if fresh.contains(&c.change_id) {
                        continue;
                    }
                    outcomes[i] = Some(match known.get(&c.change_id) {
                        Some(hash) if hash[..] == c.content_hash[..] => Outcome::Duplicate,
                        _ => Outcome::Rejected(
                            RejectCode::ChangeIdReused,
                            super::sqlite::REUSED_REASON.into(),
                        ),
                    });
                }
            }
            // 2. Facts: a second insert of an entity id is the same fact or a conflict.
            let mut facts: Vec<usize> = round
                .iter()
                .copied()
                .filter(|&i| outcomes[i].is_none() && changes[i].fact_hash.is_some())
                .collect();
            if !facts.is_empty() {
                facts.sort_by(|&a, &b| {
                    (changes[a].entity, &changes[a].entity_id)
                        .cmp(&(changes[b].entity, &changes[b].entity_id))
                });
                let entities: Vec<&str> = facts.iter().map(|&i| changes[i].entity).collect();
                let entity_ids: Vec<&str> = facts
                    .iter()
                    .map(|&i| changes[i].entity_id.as_str())
                    .collect();
                let fact_hashes: Vec<Vec<u8>> = facts
                    .iter()
                    .map(|&i| changes[i].fact_hash.map(|h| h.to_vec()).unwrap_or_default())
                    .collect();
                let fact_ids: Vec<Uuid> = facts.iter().map(|&i| changes[i].change_id).collect();
                let stored: HashSet<Uuid> = tx
                    .query(
                        "INSERT INTO facts (entity, entity_id, fact_hash, change_id)
                         SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[])
                         ON CONFLICT DO NOTHING RETURNING change_id",
                        &[&entities, &entity_ids, &fact_hashes, &fact_ids],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let clashing: Vec<usize> = facts
                    .iter()
                    .copied()
                    .filter(|&i| !stored.contains(&changes[i].change_id))
                    .collect();
                if !clashing.is_empty() {
                    let e: Vec<&str> = clashing.iter().map(|&i| changes[i].entity).collect();
                    let ei: Vec<&str> = clashing
                        .iter()
                        .map(|&i| changes[i].entity_id.as_str())
                        .collect();
                    let held: HashMap<(String, String), Vec<u8>> = tx
                        .query(
                            "SELECT f.entity, f.entity_id, f.fact_hash FROM facts f
                             JOIN unnest($1::text[], $2::text[]) AS k(entity, entity_id)
                               ON f.entity = k.entity AND f.entity_id = k.entity_id",
                            &[&e, &ei],
                        )
                        .await?
                        .iter()
                        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
                        .collect();
                    let mut unreceipt = Vec::new();
                    for &i in &clashing {
                        let c = &changes[i];
                        let same = held
                            .get(&(c.entity.to_string(), c.entity_id.clone()))
                            .zip(c.fact_hash)
                            .is_some_and(|(h, mine)| h[..] == mine[..]);
                        outcomes[i] = Some(if same {
                            Outcome::Duplicate
                        } else {
                            Outcome::Rejected(
                                RejectCode::ConflictingFact,
                                super::sqlite::conflicting_fact_reason(c),
                            )
                        });
                        unreceipt.push(c.change_id);
                    }
                    tx.execute(
                        "DELETE FROM receipts WHERE change_id = ANY($1)",
                        &[&unreceipt],
                    )
                    .await?;
                }
            }
            // 3. The rest joins the feed, in batch order.
            let mut new: Vec<usize> = round
                .iter()
                .copied()
                .filter(|&i| outcomes[i].is_none())
                .collect();
            new.sort_unstable();
            if !new.is_empty() {
                let col = |f: &dyn Fn(&ValidChange) -> String| -> Vec<String> {
                    new.iter().map(|&i| f(&changes[i])).collect()
                };
                let change_ids: Vec<Uuid> = new.iter().map(|&i| changes[i].change_id).collect();
                let desk_ids: Vec<Uuid> = new.iter().map(|&i| changes[i].desk_id).collect();
                let hlcs = col(&|c| c.hlc.to_string());
                let entities = col(&|c| c.entity.to_string());
                let entity_ids = col(&|c| c.entity_id.clone());
                let ops = col(&|c| c.op.as_str().to_string());
                let versions: Vec<i32> = new
                    .iter()
                    .map(|&i| i32::try_from(changes[i].version).unwrap_or(i32::MAX))
                    .collect();
                let bodies = col(&|c| c.body.clone());
                let base_hlcs: Vec<Option<String>> = new
                    .iter()
                    .map(|&i| changes[i].base.map(|b| b.hlc.to_string()))
                    .collect();
                let base_desks: Vec<Option<Uuid>> = new
                    .iter()
                    .map(|&i| changes[i].base.map(|b| b.desk_id))
                    .collect();
                tx.execute(
                    "INSERT INTO changes (change_id, desk_id, hlc, entity, entity_id, op, version, body, received_at,
                                          base_hlc, base_desk_id)
                     SELECT c, d, h, e, ei, o, v, b, $9, bh, bd
                     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
                                 $10::text[], $11::uuid[])
                          WITH ORDINALITY AS t(c, d, h, e, ei, o, v, b, bh, bd, n)
                     ORDER BY n",
                    &[&change_ids, &desk_ids, &hlcs, &entities, &entity_ids, &ops, &versions, &bodies, &now_ms,
                      &base_hlcs, &base_desks],
                )
                .await?;
                for &i in &new {
                    outcomes[i] = Some(Outcome::Accepted);
                }
            }
        }
        tx.commit().await?;
        outcomes
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| StoreError::Task("a change was left without an answer".into()))
            })
            .collect()
    }

    pub async fn pull(
        &self,
        after: Position,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, PullError> {
        use futures_util::TryStreamExt;
        let client = self.pool.get().await.map_err(pool_err)?;
        let horizon = client
            .query_one("SELECT horizon_xid::text, horizon_pos FROM feed", &[])
            .await
            .map_err(StoreError::from)?;
        let horizon = Position {
            xid: xid_of(horizon.get(0))?,
            pos: horizon.get(1),
        };
        if after != Position::START && after < horizon {
            return Err(PullError::Expired);
        }
        // The fence: only rows below the oldest transaction that was still running when this
        // statement's snapshot was taken (`pg_current_snapshot()` is the statement's own), so
        // nothing can still commit before the cursor handed out. Transactions ids are
        // cluster-wide: a running transaction seen (afterwards, still running) in another
        // database cannot write this feed and does not hold it back; one that cannot be placed
        // (finished since, a prepared transaction, hidden by privileges) does.
        let stmt = client
            .prepare_cached(
                // Ordered by the xid8 column itself: `txid::text` in the select list must
                // not be what ORDER BY sees (text order puts 1000 before 999).
                "SELECT c.txid::text AS txid_text, c.pos, c.change_id, c.desk_id, c.hlc, c.entity, c.entity_id,
                        c.op, c.version, c.body, c.base_hlc, c.base_desk_id
                 FROM changes c
                 WHERE (c.txid, c.pos) > ($1::text::xid8, $2)
                   AND c.txid < (SELECT coalesce(
                           (SELECT x FROM pg_snapshot_xip(s) AS x
                            WHERE NOT EXISTS (
                                SELECT 1 FROM pg_stat_activity a
                                WHERE a.backend_xid = x::xid AND a.datname <> current_database())
                            ORDER BY x LIMIT 1),
                           pg_snapshot_xmax(s))
                       FROM pg_current_snapshot() AS s)
                 ORDER BY c.txid, c.pos
                 LIMIT $3",
            )
            .await
            .map_err(StoreError::from)?;
        let xid = after.xid.to_string();
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&xid, &after.pos, &fetch];
        let rows = client
            .query_raw(&stmt, params)
            .await
            .map_err(StoreError::from)?;
        futures_util::pin_mut!(rows);
        let mut changes = Vec::with_capacity(limit.min(1024));
        let mut bytes = 0usize;
        let mut more = false;
        // Rows past the page are read off the wire and dropped (at most one page's worth).
        while let Some(r) = rows.try_next().await.map_err(StoreError::from)? {
            if more {
                continue;
            }
            if changes.len() == limit || (bytes >= max_bytes && !changes.is_empty()) {
                more = true;
                continue;
            }
            let version: i32 = r.get(8);
            let change = StoredChange {
                position: Position {
                    xid: xid_of(r.get(0))?,
                    pos: r.get(1),
                },
                change_id: r.get(2),
                desk_id: r.get(3),
                hlc: r.get(4),
                entity: r.get(5),
                entity_id: r.get(6),
                op: r.get(7),
                version: u32::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                body: r.get(9),
                base: super::base_of(r.get(10), r.get(11))?,
            };
            bytes += change.body.len();
            changes.push(change);
        }
        Ok(Page { changes, more })
    }

    pub async fn token_valid(&self, hash: [u8; 32]) -> StoreResult<bool> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let stmt = client
            .prepare_cached("SELECT revoked_at IS NULL FROM tokens WHERE secret_hash = $1")
            .await?;
        let row = client.query_opt(&stmt, &[&hash.to_vec()]).await?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    pub async fn create_token(&self, info: TokenInfo, hash: [u8; 32]) -> StoreResult<TokenInfo> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let inserted = client
            .execute(
                "INSERT INTO tokens (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[&info.id, &info.name, &hash.to_vec(), &info.created_at],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Invalid(format!(
                "a token named '{}' exists already",
                info.name
            )));
        }
        Ok(info)
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(
                "SELECT id, name, created_at, revoked_at FROM tokens ORDER BY created_at, id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                id: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
            })
            .collect())
    }

    pub async fn revoke_token(&self, id: Uuid, now_ms: i64) -> StoreResult<()> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now_ms],
            )
            .await?;
        Ok(())
    }

    pub async fn claim_wallet_blocks(
        &self,
        desk_id: Uuid,
        local_block: Option<WalletBlock>,
        another: bool,
        now_ms: i64,
    ) -> StoreResult<Vec<WalletBlock>> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WALLET_LOCK])
            .await?;
        let all: Vec<(WalletBlock, Uuid)> = tx
            .query(
                "SELECT first_id, last_id, desk_id FROM wallet_blocks ORDER BY first_id",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                (
                    WalletBlock {
                        first_id: r.get(0),
                        last_id: r.get(1),
                    },
                    r.get(2),
                )
            })
            .collect();
        let mut held: Vec<WalletBlock> = all
            .iter()
            .filter(|(_, d)| *d == desk_id)
            .map(|(b, _)| *b)
            .collect();
        if let Some(grant) = super::wallet_grant(&all, desk_id, local_block, another) {
            tx.execute(
                "INSERT INTO wallet_blocks (first_id, last_id, desk_id, granted_at) VALUES ($1, $2, $3, $4)",
                &[&grant.first_id, &grant.last_id, &desk_id, &now_ms],
            )
            .await?;
            held.push(grant);
        }
        tx.commit().await?;
        Ok(held)
    }

    pub async fn compact(&self, cutoff_ms: i64) -> StoreResult<CompactReport> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        // One compactor at a time; another portal already at it is enough.
        let got: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&COMPACTION_LOCK])
            .await?
            .get(0);
        let mut removed = 0u64;
        if got {
            let rows = tx
                .query(
                    "DELETE FROM changes c WHERE c.received_at < $1 AND c.op <> 'insert' AND EXISTS (
                         SELECT 1 FROM changes later
                         WHERE later.entity = c.entity AND later.entity_id = c.entity_id
                           AND (later.hlc, later.desk_id) > (c.hlc, c.desk_id))
                     RETURNING txid::text, pos",
                    &[&cutoff_ms],
                )
                .await?;
            removed = rows.len() as u64;
            let mut newest: Option<Position> = None;
            for r in &rows {
                let p = Position {
                    xid: xid_of(r.get(0))?,
                    pos: r.get(1),
                };
                newest = newest.max(Some(p));
            }
            if let Some(p) = newest {
                tx.execute(
                    "UPDATE feed SET horizon_xid = $1::text::xid8, horizon_pos = $2
                     WHERE (horizon_xid, horizon_pos) < ($1::text::xid8, $2)",
                    &[&p.xid.to_string(), &p.pos],
                )
                .await?;
            }
        }
        let row = tx
            .query_one("SELECT horizon_xid::text, horizon_pos FROM feed", &[])
            .await?;
        let horizon = Position {
            xid: xid_of(row.get(0))?,
            pos: row.get(1),
        };
        tx.commit().await?;
        Ok(CompactReport { removed, horizon })
    }
}
