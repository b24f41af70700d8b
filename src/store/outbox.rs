//! The sync outbox. Each synced edit writes a row here inside the edit's own transaction, so
//! sync can never miss a change; a row leaves only when the portal acknowledges its change id.

use super::{StoreResult, new_id};
use rusqlite::{Connection, Transaction, params};
use serde::Serialize;

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upsert,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
        }
    }
}

/// Appends one change to the outbox inside `tx`.
pub fn record(
    tx: &Transaction<'_>,
    entity: &str,
    entity_id: &str,
    op: Op,
    body: &impl Serialize,
    now: i64,
) -> StoreResult<()> {
    let body = serde_json::to_string(body).unwrap_or_else(|_| "null".to_string());
    tx.execute(
        "INSERT INTO outbox (change_id, entity, entity_id, op, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![new_id(), entity, entity_id, op.as_str(), body, now],
    )?;
    Ok(())
}

/// How many changes wait to be pushed.
pub fn pending_count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
}
