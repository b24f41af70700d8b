//! Accounts repository.

use super::outbox::{self, Op};
use super::{StoreError, StoreResult, is_unique_violation, new_id};
use crate::domain::account::{self, Account, FIRST_WALLET_ID};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::json;

fn from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get("id")?,
        name: row.get("name")?,
        wallet_id: row.get("wallet_id")?,
        created_at: row.get("created_at")?,
    })
}

fn duplicate(name: &str) -> StoreError {
    StoreError::Conflict(format!("Account name: '{name}' is already taken"))
}

/// Creates an account with the next wallet ID.
pub fn create(tx: &Transaction<'_>, name: &str, now: i64) -> StoreResult<Account> {
    account::validate_name(name).into_result()?;
    let name = account::normalize_name(name);
    let wallet_id: i64 = tx.query_row(
        "SELECT coalesce(max(wallet_id) + 1, ?1) FROM accounts",
        [FIRST_WALLET_ID],
        |r| r.get(0),
    )?;
    let created = Account {
        id: new_id(),
        name,
        wallet_id,
        created_at: now,
    };
    tx.execute(
        "INSERT INTO accounts (id, name, wallet_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![created.id, created.name, created.wallet_id, now],
    )
    .map_err(|e| if is_unique_violation(&e) { duplicate(&created.name) } else { e.into() })?;
    outbox::record(
        tx,
        "account",
        &created.id,
        Op::Upsert,
        &json!({"name": created.name, "wallet_id": wallet_id}),
        now,
    )?;
    Ok(created)
}

/// Renames an account.
pub fn rename(tx: &Transaction<'_>, id: &str, name: &str, now: i64) -> StoreResult<Account> {
    account::validate_name(name).into_result()?;
    let name = account::normalize_name(name);
    let changed = tx
        .execute(
            "UPDATE accounts SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, name, now],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                duplicate(&name)
            } else {
                e.into()
            }
        })?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    outbox::record(tx, "account", id, Op::Upsert, &json!({"name": name}), now)?;
    get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))
}

/// Deletes an account with its billing details and payment methods.
pub fn delete(tx: &Transaction<'_>, id: &str, now: i64) -> StoreResult<Account> {
    let gone = get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
    tx.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
    outbox::record(tx, "account", id, Op::Delete, &json!({}), now)?;
    Ok(gone)
}

/// One account by id.
pub fn get(conn: &Connection, id: &str) -> StoreResult<Option<Account>> {
    Ok(conn
        .query_row(
            "SELECT id, name, wallet_id, created_at FROM accounts WHERE id = ?1",
            [id],
            from_row,
        )
        .optional()?)
}

/// How account lists are sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccountOrder {
    #[default]
    Name,
    WalletId,
}

/// The WHERE clause of a search: name contains ?2 (any case) or wallet ID is ?3.
const MATCHES: &str = "(?1 = '' OR name LIKE ?2 ESCAPE '\\' OR wallet_id = ?3)";

fn search_params(filter: &str) -> (String, String, Option<i64>) {
    let filter = filter.trim();
    let pattern = format!(
        "%{}%",
        filter
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    (filter.to_string(), pattern, filter.parse().ok())
}

/// Accounts whose name contains `filter` (any case) or whose wallet ID is `filter`.
pub fn search(
    conn: &Connection,
    filter: &str,
    order: AccountOrder,
    limit: usize,
) -> StoreResult<Vec<Account>> {
    let (filter, pattern, wallet) = search_params(filter);
    let order_by = match order {
        AccountOrder::Name => "name, wallet_id",
        AccountOrder::WalletId => "wallet_id",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, name, wallet_id, created_at FROM accounts WHERE {MATCHES} ORDER BY {order_by} LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            filter,
            pattern,
            wallet,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many accounts [`search`] would find without a limit.
pub fn count_matching(conn: &Connection, filter: &str) -> StoreResult<i64> {
    let (filter, pattern, wallet) = search_params(filter);
    let mut stmt =
        conn.prepare_cached(&format!("SELECT count(*) FROM accounts WHERE {MATCHES}"))?;
    Ok(stmt.query_row(params![filter, pattern, wallet], |r| r.get(0))?)
}

/// The account with this wallet ID.
pub fn by_wallet_id(conn: &Connection, wallet_id: i64) -> StoreResult<Option<Account>> {
    Ok(conn
        .query_row(
            "SELECT id, name, wallet_id, created_at FROM accounts WHERE wallet_id = ?1",
            [wallet_id],
            from_row,
        )
        .optional()?)
}

/// Total number of accounts.
pub fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?)
}
