//! Accounts repository: rows, keyset-paged and indexed lists, and the trigram search index.

use super::outbox::{self, Change};
use super::{StoreError, StoreResult, desk, is_unique_violation};
use crate::domain::account::Account;
use crate::domain::ids::AccountId;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

const COLUMNS: &str = "seq, id, name, wallet_id, wallet_final, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get("id")?,
        name: row.get("name")?,
        wallet_id: row.get("wallet_id")?,
        wallet_id_final: row.get("wallet_final")?,
        created_at: row.get("created_at")?,
    })
}

fn duplicate(name: &str) -> StoreError {
    StoreError::Duplicate {
        what: "account name",
        value: name.to_string(),
    }
}

/// Creates an account named `name` (already validated and normalised) with the next wallet ID
/// from this desk's blocks, or a provisional one when the blocks are used up.
pub fn create(tx: &Transaction<'_>, name: &str, now: i64) -> StoreResult<Account> {
    let (wallet_id, wallet_id_final) = loop {
        match desk::take_wallet_id(tx)? {
            // An account pulled from another desk may hold it (one numbered before that desk
            // first synced, until it renumbers): the number is skipped, never shared.
            Some(id) if by_wallet_id(tx, id)?.is_some() => continue,
            Some(id) => break (id, true),
            None => break (desk::provisional_wallet_id(tx)?, false),
        }
    };
    let created = Account {
        id: AccountId::new(),
        name: name.to_string(),
        wallet_id,
        wallet_id_final,
        created_at: now,
    };
    tx.prepare_cached(
        "INSERT INTO accounts (id, name, wallet_id, wallet_final, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        created.id,
        created.name,
        created.wallet_id,
        created.wallet_id_final,
        now
    ])
    .map_err(|e| {
        if is_unique_violation(&e) {
            duplicate(&created.name)
        } else {
            e.into()
        }
    })?;
    search_stale(tx, tx.last_insert_rowid(), None)?;
    outbox::record(tx, &Change::Account(created.clone()), now)?;
    Ok(created)
}

/// Renames an account (name already validated and normalised).
pub fn rename(tx: &Transaction<'_>, id: AccountId, name: &str, now: i64) -> StoreResult<Account> {
    let (seq, was) = indexed(tx, id)?.ok_or_else(|| not_found(id))?;
    tx.prepare_cached("UPDATE accounts SET name = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, name, now])
        .map_err(|e| {
            if is_unique_violation(&e) {
                duplicate(name)
            } else {
                e.into()
            }
        })?;
    if was != name {
        search_stale(tx, seq, Some(&was))?;
    }
    let renamed = get(tx, id)?.ok_or_else(|| not_found(id))?;
    outbox::record(tx, &Change::Account(renamed.clone()), now)?;
    Ok(renamed)
}

/// Deletes an account with its billing details and payment methods (the caller checked it has
/// no licenses: the schema refuses otherwise).
pub fn delete(tx: &Transaction<'_>, id: AccountId, now: i64) -> StoreResult<Account> {
    let gone = get(tx, id)?.ok_or_else(|| not_found(id))?;
    remove(tx, id)?;
    outbox::record(tx, &Change::AccountDeleted { id }, now)?;
    Ok(gone)
}

/// Gives an account numbered outside this desk's blocks (provisional, or from a block the
/// portal did not confirm) the next number from a held block, and records the change so the
/// new number syncs. Returns the account as renumbered, or None when no block has room.
pub fn renumber(tx: &Transaction<'_>, id: AccountId, now: i64) -> StoreResult<Option<Account>> {
    let Some(wallet_id) = desk::take_wallet_id(tx)? else {
        return Ok(None);
    };
    tx.prepare_cached(
        "UPDATE accounts SET wallet_id = ?2, wallet_final = 1, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, wallet_id, now])?;
    let renumbered = get(tx, id)?.ok_or_else(|| not_found(id))?;
    outbox::record(tx, &Change::Account(renumbered.clone()), now)?;
    Ok(Some(renumbered))
}

/// Writes an account as another desk has it (a pulled change): added, or its name and wallet
/// ID brought up to date. Records no outbox change.
pub fn put(tx: &Transaction<'_>, account: &Account, now: i64) -> StoreResult<()> {
    let duplicate = |e: rusqlite::Error| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "account name or wallet ID",
                value: format!("{} / {}", account.name, account.wallet_id),
            }
        } else {
            StoreError::from(e)
        }
    };
    // Most accounts a pull writes are new: one statement for them.
    let added = tx
        .prepare_cached(
            "INSERT INTO accounts (id, name, wallet_id, wallet_final, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            account.id,
            account.name,
            account.wallet_id,
            account.wallet_id_final,
            account.created_at,
            now
        ])
        .map_err(duplicate)?;
    if added > 0 {
        return search_stale(tx, tx.last_insert_rowid(), None);
    }
    let (seq, was) = indexed(tx, account.id)?.ok_or_else(|| not_found(account.id))?;
    tx.prepare_cached(
        "UPDATE accounts SET name = ?2, wallet_id = ?3, wallet_final = ?4, updated_at = ?5
         WHERE seq = ?1",
    )?
    .execute(params![
        seq,
        account.name,
        account.wallet_id,
        account.wallet_id_final,
        now
    ])
    .map_err(duplicate)?;
    if was != account.name {
        search_stale(tx, seq, Some(&was))?;
    }
    Ok(())
}

/// Removes an account as another desk did (a pulled change), with its billing details and
/// payment methods; records no outbox change. False when it was not here.
pub fn remove(tx: &Transaction<'_>, id: AccountId) -> StoreResult<bool> {
    let Some((seq, was)) = indexed(tx, id)? else {
        return Ok(false);
    };
    tx.prepare_cached("DELETE FROM accounts WHERE seq = ?1")?
        .execute([seq])?;
    search_stale(tx, seq, Some(&was))?;
    Ok(true)
}

/// An account's row number and name: what the name search holds for it.
fn indexed(tx: &Transaction<'_>, id: AccountId) -> StoreResult<Option<(i64, String)>> {
    Ok(tx
        .prepare_cached("SELECT seq, name FROM accounts WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn not_found(id: AccountId) -> StoreError {
    StoreError::NotFound {
        what: "account",
        id: id.to_string(),
    }
}

/// Notes that the name search must catch up on account `seq`, whose name the search holds as
/// `indexed_name` (None: not indexed yet). The first note in a transaction is kept: it is
/// what the search still holds. Every writer of `accounts` calls it; [`catch_up_search`]
/// indexes the noted accounts before the transaction commits.
fn search_stale(tx: &Transaction<'_>, seq: i64, indexed_name: Option<&str>) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO accounts_search_pending (seq, indexed_name) VALUES (?1, ?2)",
    )?
    .execute(params![seq, indexed_name])?;
    Ok(())
}

/// Brings the name search up to date with the accounts changed in this transaction, in three
/// statements however many changed (FTS5 writes an index segment at the end of every
/// statement that touches it). `Store::write` calls it before every commit.
pub fn catch_up_search(tx: &Transaction<'_>) -> StoreResult<()> {
    let stale: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts_search_pending)")?
        .query_row([], |r| r.get(0))?;
    if !stale {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO accounts_search (accounts_search, rowid, name)
         SELECT 'delete', seq, indexed_name FROM accounts_search_pending
         WHERE indexed_name IS NOT NULL",
    )?
    .execute([])?;
    tx.prepare_cached(INDEX_PENDING)?.execute([])?;
    tx.prepare_cached("DELETE FROM accounts_search_pending")?
        .execute([])?;
    Ok(())
}

/// Indexes the names of the accounts noted as changed. `CROSS JOIN` keeps the noted accounts
/// the outer loop: left to itself, the planner walks every account and looks each up among the
/// noted ones, a walk of the whole table on every write that changes an account.
const INDEX_PENDING: &str = "INSERT INTO accounts_search (rowid, name)
    SELECT a.seq, a.name FROM accounts_search_pending p CROSS JOIN accounts a ON a.seq = p.seq";

/// Builds the name search again from every account (rows written in bulk, not through the
/// writers above: an imported export).
pub fn rebuild_search(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO accounts_search (accounts_search) VALUES ('rebuild')",
        [],
    )?;
    Ok(())
}

/// One account by id.
pub fn get(conn: &Connection, id: AccountId) -> StoreResult<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The account with this wallet ID.
pub fn by_wallet_id(conn: &Connection, wallet_id: i64) -> StoreResult<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE wallet_id = ?1"),
            [wallet_id],
            from_row,
        )
        .optional()?)
}

/// A search with more trigram matches than this is treated as common (see
/// [`AccountQuery`]).
const SEARCH_PROBE: i64 = 1_000;
/// The most accounts a substring search lists; more ask for a narrower search.
pub const SEARCH_LIMIT: u64 = SEARCH_PROBE as u64;

/// How account lists are sorted (each order has an index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccountOrder {
    #[default]
    Name,
    WalletId,
}

/// What an accounts list shows: every account, or those matching a search.
///
/// A search of three characters or more finds the text anywhere in the name (trigram index); a
/// shorter one finds names starting with it (the name index); a number also finds the account
/// with that wallet ID.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    pub search: String,
    pub order: AccountOrder,
    /// What the trigram index said about `search`, kept so that counting and each page of the
    /// same list ask it once.
    probed: std::cell::RefCell<Option<(String, Probe)>>,
}

/// How many trigram matches a search has, as far as the list needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    /// These rows, and no others.
    Few(Vec<i64>),
    /// More than [`SEARCH_PROBE`].
    Common,
}

impl PartialEq for AccountQuery {
    fn eq(&self, other: &Self) -> bool {
        self.search == other.search && self.order == other.order
    }
}

impl Eq for AccountQuery {}

impl AccountQuery {
    /// A list of the accounts matching `search` (empty: all), in `order`.
    pub fn new(search: impl Into<String>, order: AccountOrder) -> Self {
        Self {
            search: search.into(),
            order,
            probed: Default::default(),
        }
    }

    fn probe(&self, conn: &Connection, text: &str) -> StoreResult<Probe> {
        if let Some((probed, probe)) = self.probed.borrow().as_ref()
            && probed == text
        {
            return Ok(probe.clone());
        }
        let mut stmt =
            conn.prepare_cached("SELECT rowid FROM accounts_search WHERE name LIKE ?1 LIMIT ?2")?;
        let rows: Vec<i64> = stmt
            .query_map(params![format!("%{text}%"), SEARCH_PROBE + 1], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let probe = if rows.len() as i64 > SEARCH_PROBE {
            Probe::Common
        } else {
            Probe::Few(rows)
        };
        *self.probed.borrow_mut() = Some((text.to_string(), probe.clone()));
        Ok(probe)
    }
}

impl AccountQuery {
    /// The WHERE clause and its arguments. A search of three characters or more first asks
    /// the trigram index for up to [`SEARCH_PROBE`] matches: when there are that few, the
    /// page is read from exactly those rows; when there are more, the match is common, so
    /// walking the name (or wallet ID) index with the same test finds a page at once.
    fn filter(&self, conn: &Connection) -> StoreResult<(String, Vec<rusqlite::types::Value>)> {
        use rusqlite::types::Value;
        let text = self.search.trim();
        if text.is_empty() {
            return Ok(("1".into(), Vec::new()));
        }
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let mut args = Vec::new();
        let mut clause = if text.chars().count() < 3 {
            args.push(Value::Text(format!("{escaped}%")));
            "(name LIKE ?1 ESCAPE '\\'".to_string()
        } else if escaped != text {
            // The trigram index answers LIKE only without an ESCAPE clause; a search holding a
            // wildcard character (rare) is tested row by row.
            args.push(Value::Text(format!("%{escaped}%")));
            "(name LIKE ?1 ESCAPE '\\'".to_string()
        } else {
            match self.probe(conn, text)? {
                Probe::Common => {
                    args.push(Value::Text(format!("%{text}%")));
                    "(name LIKE ?1".to_string()
                }
                Probe::Few(rows) => {
                    // Row numbers from the index itself: safe to write into the statement.
                    let list = rows
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",");
                    args.push(Value::Null);
                    format!("(?1 IS NULL AND seq IN ({list})")
                }
            }
        };
        if let Ok(wallet) = text.parse::<i64>() {
            args.push(Value::Integer(wallet));
            clause.push_str(" OR wallet_id = ?2");
        }
        clause.push(')');
        Ok((clause, args))
    }

    /// Both orders are unique (names are unique without regard to case), so a page can start
    /// right after the last row of the one before.
    fn order_by(&self) -> &'static str {
        match self.order {
            AccountOrder::Name => "name",
            AccountOrder::WalletId => "wallet_id",
        }
    }
}

/// Where a page starts: after this row in the list's order (keyset paging), or at an offset
/// (only for a jump to a far position).
#[derive(Debug, Clone)]
pub enum PageStart {
    First,
    After(Account),
    Offset(u64),
}

/// A page of `limit` accounts of `query`, starting at `start`.
pub fn page(
    conn: &Connection,
    query: &AccountQuery,
    start: &PageStart,
    limit: usize,
) -> StoreResult<Vec<Account>> {
    use rusqlite::types::Value;
    let (filter, mut args) = query.filter(conn)?;
    let mut sql = format!("SELECT {COLUMNS} FROM accounts WHERE {filter}");
    let n = args.len();
    match start {
        PageStart::First | PageStart::Offset(_) => {}
        PageStart::After(last) => match query.order {
            AccountOrder::Name => {
                // The column's NOCASE collation applies, as in the index.
                sql.push_str(&format!(" AND name > ?{}", n + 1));
                args.push(Value::Text(last.name.clone()));
            }
            AccountOrder::WalletId => {
                sql.push_str(&format!(" AND wallet_id > ?{}", n + 1));
                args.push(Value::Integer(last.wallet_id));
            }
        },
    }
    sql.push_str(&format!(
        " ORDER BY {} LIMIT {}",
        query.order_by(),
        super::limit(limit)
    ));
    if let PageStart::Offset(offset) = start {
        sql.push_str(&format!(" OFFSET {offset}"));
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many accounts `query` finds, counting no further than `cap` (a count past it is shown
/// as "cap+" instead of scanning a large match); a substring matching more than
/// [`SEARCH_LIMIT`] accounts counts as `SEARCH_LIMIT + 1`.
pub fn count(conn: &Connection, query: &AccountQuery, cap: u64) -> StoreResult<u64> {
    let (filter, args) = query.filter(conn)?;
    // A common substring has more matches than a list shows; counting them all would read the
    // whole table to say "refine the search".
    if let Some((_, Probe::Common)) = query.probed.borrow().as_ref() {
        return Ok(cap.min(SEARCH_PROBE.unsigned_abs() + 1));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM accounts WHERE {filter} LIMIT {})",
        cap.min(i64::MAX as u64)
    ))?;
    Ok(stmt.query_row(rusqlite::params_from_iter(args), |r| r.get(0))?)
}

/// Total number of accounts.
pub fn total(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?)
}

/// Number of licenses linked to an account.
pub fn license_count(conn: &Connection, id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM licenses
         WHERE account_seq = (SELECT seq FROM accounts WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The search catches up by looking up each noted account, never by walking them all.
    #[test]
    fn the_search_catches_up_from_the_noted_accounts_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&crate::paths::database_path(dir.path())).unwrap();
        let plan: Vec<String> = store
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {INDEX_PENDING}"))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step == "SCAN p"), "{plan:?}");
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH a USING INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
    }
}
