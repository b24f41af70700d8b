//! Where the feed lives: an SQLite file (the default: embedded, nothing to install) or a
//! PostgreSQL database shared by several stateless portals. Both keep the same tables and
//! answer every question the same way; the integration tests run each case against both.
//!
//! Tables (schemas in `sqlite.rs` and `postgres.rs`):
//! - `feed`: this feed's id (made when the database is) and the compaction horizon.
//! - `changes`: every stored envelope, as it came, at its feed position (its `base` in
//!   `base_hlc` and `base_desk_id`, both null when it had none).
//! - `receipts`: every change id ever accepted with the hash of its content, kept forever,
//!   so a replay is answered `duplicate` even after compaction removed the change itself.
//! - `facts`: every insert-only fact (entity, entity id) with the hash of its content.
//! - `tokens`: device tokens (name, SHA-256 of the secret, revoked or not).
//! - `wallet_blocks`: which desk holds which range of wallet IDs.

pub mod postgres;
pub mod sqlite;

use crate::cursor::Position;
use crate::protocol::{Base, RejectCode, WalletBlock};
use crate::validate::ValidChange;
use std::path::PathBuf;
use uuid::Uuid;

/// Where the database is, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A file path (created with its tables if missing); `sqlite:PATH` works too.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (or a `host=… dbname=…` string after `postgres:`).
    Postgres(String),
}

impl DbUrl {
    /// Reads `--db`.
    pub fn parse(text: &str) -> DbUrl {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            DbUrl::Postgres(text.to_string())
        } else if let Some(conninfo) = text.strip_prefix("postgres:") {
            DbUrl::Postgres(conninfo.to_string())
        } else {
            DbUrl::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text)))
        }
    }
}

/// What went wrong below the protocol. Messages go to the log, never to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error("the database holds something this portal cannot read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the database task stopped: {0}")]
    Task(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What became of one valid change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Rejected(RejectCode, String),
}

/// One stored change as the feed hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    pub position: Position,
    pub change_id: Uuid,
    pub desk_id: Uuid,
    pub hlc: String,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub version: u32,
    pub body: String,
    /// The version the change was made on (protocol 2), when its desk said.
    pub base: Option<Base>,
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub changes: Vec<StoredChange>,
    /// Whether more committed changes follow this page.
    pub more: bool,
}

/// Why a pull cannot be answered with changes.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The cursor is older than what compaction removed: the desk must resync from the start.
    #[error("the cursor is older than the feed's retention; resync from the start")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A device token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// What one compaction run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompactReport {
    pub removed: u64,
    /// The newest position removed so far (cursors before it must resync).
    pub horizon: Position,
}

pub use crate::protocol::{FIRST_GRANTED_WALLET_ID, WALLET_BLOCK_SIZE};

/// The storage, whichever it is.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(url: &DbUrl) -> StoreResult<Store> {
        Ok(match url {
            DbUrl::Sqlite(path) => Store::Sqlite(sqlite::SqliteStore::open(path.clone()).await?),
            DbUrl::Postgres(conninfo) => Store::Postgres(postgres::PgStore::open(conninfo).await?),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// This feed's id (cursors carry it).
    pub fn feed_id(&self) -> Uuid {
        match self {
            Store::Sqlite(s) => s.feed_id(),
            Store::Postgres(s) => s.feed_id(),
        }
    }

    /// Whether the database answers.
    pub async fn health(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(s) => s.health().await,
            Store::Postgres(s) => s.health().await,
        }
    }

    /// Stores a batch of valid changes in one transaction; the outcomes are in the batch's
    /// order. Repeats inside the batch are answered as if pushed one after the other.
    pub async fn push(&self, changes: Vec<ValidChange>, now_ms: i64) -> StoreResult<Vec<Outcome>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Store::Sqlite(s) => s.push(changes, now_ms).await,
            Store::Postgres(s) => s.push(changes, now_ms).await,
        }
    }

    /// Up to `limit` changes after `after`, in feed order.
    /// The page stops early once the bodies add up to `max_bytes` (always at least one change).
    pub async fn pull(
        &self,
        after: Position,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, PullError> {
        match self {
            Store::Sqlite(s) => s.pull(after, limit, max_bytes).await,
            Store::Postgres(s) => s.pull(after, limit, max_bytes).await,
        }
    }

    /// Whether a token with this hash exists and is not revoked.
    pub async fn token_valid(&self, hash: [u8; 32]) -> StoreResult<bool> {
        match self {
            Store::Sqlite(s) => s.token_valid(hash).await,
            Store::Postgres(s) => s.token_valid(hash).await,
        }
    }

    /// Stores a new token under a unique name.
    pub async fn create_token(
        &self,
        name: &str,
        hash: [u8; 32],
        now_ms: i64,
    ) -> StoreResult<TokenInfo> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(
                "a token name is 1 to 100 characters, no control characters".into(),
            ));
        }
        let info = TokenInfo {
            id: Uuid::now_v7(),
            name: name.to_string(),
            created_at: now_ms,
            revoked_at: None,
        };
        match self {
            Store::Sqlite(s) => s.create_token(info, hash).await,
            Store::Postgres(s) => s.create_token(info, hash).await,
        }
    }

    /// Every token, oldest first.
    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        match self {
            Store::Sqlite(s) => s.list_tokens().await,
            Store::Postgres(s) => s.list_tokens().await,
        }
    }

    /// Revokes the token with this id or name; `None` when there is none.
    pub async fn revoke_token(
        &self,
        id_or_name: &str,
        now_ms: i64,
    ) -> StoreResult<Option<TokenInfo>> {
        let tokens = self.list_tokens().await?;
        let Some(token) = tokens
            .into_iter()
            .find(|t| t.id.to_string() == id_or_name.trim() || t.name == id_or_name.trim())
        else {
            return Ok(None);
        };
        match self {
            Store::Sqlite(s) => s.revoke_token(token.id, now_ms).await?,
            Store::Postgres(s) => s.revoke_token(token.id, now_ms).await?,
        }
        Ok(Some(TokenInfo {
            revoked_at: Some(token.revoked_at.unwrap_or(now_ms)),
            ..token
        }))
    }

    /// The wallet-ID blocks `desk_id` holds, granting one when it holds none (confirming
    /// `local_block` if it is the first desk and nobody holds any of it) or when it asks for
    /// `another`.
    pub async fn claim_wallet_blocks(
        &self,
        desk_id: Uuid,
        local_block: Option<WalletBlock>,
        another: bool,
        now_ms: i64,
    ) -> StoreResult<Vec<WalletBlock>> {
        if let Some(block) = local_block
            && (block.first_id < 1
                || block.last_id < block.first_id
                || block.last_id >= FIRST_GRANTED_WALLET_ID)
        {
            return Err(StoreError::Invalid(format!(
                "a local wallet block lies within 1–{} with first_id ≤ last_id",
                FIRST_GRANTED_WALLET_ID - 1
            )));
        }
        match self {
            Store::Sqlite(s) => {
                s.claim_wallet_blocks(desk_id, local_block, another, now_ms)
                    .await
            }
            Store::Postgres(s) => {
                s.claim_wallet_blocks(desk_id, local_block, another, now_ms)
                    .await
            }
        }
    }

    /// Applies the retention rules (docs/sync-protocol.md, "Retention and compaction") to
    /// everything received before `now_ms - retain_ms`.
    pub async fn compact(&self, now_ms: i64, retain_ms: i64) -> StoreResult<CompactReport> {
        let cutoff = now_ms.saturating_sub(retain_ms);
        match self {
            Store::Sqlite(s) => s.compact(cutoff).await,
            Store::Postgres(s) => s.compact(cutoff).await,
        }
    }
}

/// A stored change's base from its two columns (both null: none).
pub(crate) fn base_of(hlc: Option<String>, desk_id: Option<Uuid>) -> StoreResult<Option<Base>> {
    match (hlc, desk_id) {
        (None, None) => Ok(None),
        (Some(hlc), Some(desk_id)) => Ok(Some(Base {
            hlc: hlc
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("a change's base clock '{hlc}'")))?,
            desk_id,
        })),
        _ => Err(StoreError::Corrupt("a change with half a base".into())),
    }
}

/// The wallet-block decision, shared by both stores: given the blocks that exist, what to
/// grant `desk_id` (nothing, its local block, or a new block after every other).
pub(crate) fn wallet_grant(
    all_blocks: &[(WalletBlock, Uuid)],
    desk_id: Uuid,
    local_block: Option<WalletBlock>,
    another: bool,
) -> Option<WalletBlock> {
    let holds_some = all_blocks.iter().any(|(_, d)| *d == desk_id);
    if holds_some && !another {
        return None;
    }
    // The first desk to join keeps numbering from the block it used alone.
    if all_blocks.is_empty()
        && let Some(local) = local_block
    {
        return Some(local);
    }
    let next = all_blocks
        .iter()
        .map(|(b, _)| b.last_id + 1)
        .max()
        .unwrap_or(FIRST_GRANTED_WALLET_ID)
        .max(FIRST_GRANTED_WALLET_ID);
    Some(WalletBlock {
        first_id: next,
        last_id: next + WALLET_BLOCK_SIZE - 1,
    })
}

/// Splits a batch into rounds in which no change id and no fact repeats; round k holds the
/// k-th occurrences. Processing the rounds one after the other in one transaction answers
/// repeats inside a batch exactly as if they had come in separate pushes.
pub(crate) fn rounds(changes: &[ValidChange]) -> Vec<Vec<usize>> {
    use std::collections::HashMap;
    let mut seen_ids: HashMap<Uuid, usize> = HashMap::new();
    let mut seen_facts: HashMap<(&str, &str), usize> = HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let by_id = seen_ids.entry(c.change_id).or_insert(0);
        let mut round = *by_id;
        *by_id += 1;
        if c.fact_hash.is_some() {
            let by_fact = seen_facts
                .entry((c.entity, c.entity_id.as_str()))
                .or_insert(0);
            round = round.max(*by_fact);
            *by_fact = round + 1;
        }
        if rounds.len() <= round {
            rounds.resize_with(round + 1, Vec::new);
        }
        rounds[round].push(i);
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls() {
        assert_eq!(DbUrl::parse("portal.db"), DbUrl::Sqlite("portal.db".into()));
        assert_eq!(
            DbUrl::parse("sqlite:/x/p.db"),
            DbUrl::Sqlite("/x/p.db".into())
        );
        assert_eq!(
            DbUrl::parse("postgres://u@h/db"),
            DbUrl::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            DbUrl::parse("postgres:host=/var/run/postgresql dbname=p"),
            DbUrl::Postgres("host=/var/run/postgresql dbname=p".into())
        );
    }

    #[test]
    fn wallet_blocks_first_desk_keeps_its_local_block_others_get_new_ones() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let local = WalletBlock {
            first_id: 100,
            last_id: 99_999,
        };
        let first = wallet_grant(&[], a, Some(local), false);
        assert_eq!(first, Some(local));
        let all = vec![(local, a)];
        assert_eq!(
            wallet_grant(&all, a, Some(local), false),
            None,
            "already holds one"
        );
        let second = wallet_grant(&all, b, Some(local), false).unwrap();
        assert_eq!(
            second,
            WalletBlock {
                first_id: 100_000,
                last_id: 109_999
            }
        );
        let all = vec![(local, a), (second, b)];
        assert_eq!(
            wallet_grant(&all, a, None, true),
            Some(WalletBlock {
                first_id: 110_000,
                last_id: 119_999
            })
        );
    }
}
