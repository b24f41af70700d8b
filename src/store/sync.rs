//! What sync keeps on the desk: where the pull of a portal's feed stands, every change pulled
//! from other desks (as received, with what became of it), and the version — the (HLC, desk)
//! of the change it came from — that each synced entity's local state is at.

use super::StoreResult;
use super::sql::SqlKeyId;
use crate::domain::ids::{ChangeId, DeskId};
use licensekey::KeyId;
use rusqlite::{Connection, OptionalExtension, Statement, Transaction, params};

/// The cursor after the last page applied from `portal_url` (None: from the start, also when
/// the desk last pulled from another portal).
pub fn cursor(conn: &Connection, portal_url: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM sync_state WHERE singleton = 1 AND portal_url = ?1",
            [portal_url],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Saves the cursor after a page, in the transaction that applied it.
pub fn save_cursor(
    tx: &Transaction<'_>,
    portal_url: &str,
    cursor: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO sync_state (singleton, portal_url, cursor, pulled_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET
             portal_url = excluded.portal_url, cursor = excluded.cursor,
             pulled_at = excluded.pulled_at,
             pushed_at = CASE WHEN portal_url = excluded.portal_url THEN pushed_at END",
    )?
    .execute(params![portal_url, cursor, now])?;
    Ok(())
}

/// Notes a round with `portal_url` that finished: the outbox emptied into it, its feed read
/// to the end, nothing went wrong.
pub fn note_round(tx: &Transaction<'_>, portal_url: &str, now: i64) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO sync_state (singleton, portal_url, pushed_at, pulled_at, attempted_at)
         VALUES (1, ?1, ?2, ?2, ?2)
         ON CONFLICT (singleton) DO UPDATE SET
             cursor = CASE WHEN portal_url = excluded.portal_url THEN cursor END,
             portal_url = excluded.portal_url, pushed_at = excluded.pushed_at,
             pulled_at = excluded.pulled_at, attempted_at = excluded.attempted_at, error = NULL",
    )?
    .execute(params![portal_url, now])?;
    Ok(())
}

/// How long a receipt (a pulled change applied, or older than what is here) stays in the
/// inbox: well past the portal's retention (30 days by default), after which the portal
/// hands a change out again only in a full resync, where the version rule and the facts'
/// own checks make taking it again harmless.
pub const RECEIPTS_KEPT_DAYS: i64 = 90;

/// Removes the receipts received more than [`RECEIPTS_KEPT_DAYS`] before `now`, at most once a
/// day (the last time is kept in `sync_state`); what waits for staff or for this desk stays
/// until settled. Returns how many were removed.
pub fn compact(tx: &Transaction<'_>, now: i64) -> StoreResult<u64> {
    let last: Option<i64> = tx
        .query_row(
            "SELECT compacted_at FROM sync_state WHERE singleton = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if last.is_some_and(|at| now - at < 86_400) {
        return Ok(0);
    }
    let removed = tx.execute(
        "DELETE FROM sync_inbox
         WHERE (state = 'applied' OR state = 'older') AND received_at < ?1",
        [now - RECEIPTS_KEPT_DAYS * 86_400],
    )?;
    tx.execute(
        "UPDATE sync_state SET compacted_at = ?1 WHERE singleton = 1",
        [now],
    )?;
    Ok(u64::try_from(removed).unwrap_or(0))
}

/// Notes that a round was tried at `now`, and how it ended: `error` is why it stopped, or
/// `None` when it finished. A first attempt names the portal; a later one keeps the portal
/// (and cursor) of the last pull until a pull from the new portal succeeds.
pub fn note_attempt(
    tx: &Transaction<'_>,
    portal_url: &str,
    now: i64,
    error: Option<&str>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO sync_state (singleton, portal_url, attempted_at, error) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET
             attempted_at = excluded.attempted_at, error = excluded.error",
    )?
    .execute(params![portal_url, now, error])?;
    Ok(())
}

/// When the desk last pushed to and pulled from its portal (Unix seconds), and how its last
/// round ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastSync {
    pub portal_url: Option<String>,
    pub pushed_at: Option<i64>,
    pub pulled_at: Option<i64>,
    /// When a round was last tried (by the app or `license-desk sync`).
    pub attempted_at: Option<i64>,
    /// Why the last round stopped; `None` when it finished.
    pub error: Option<String>,
}

/// The portal the desk syncs with and when it last did.
pub fn last_sync(conn: &Connection) -> StoreResult<LastSync> {
    Ok(conn
        .query_row(
            "SELECT portal_url, pushed_at, pulled_at, attempted_at, error
             FROM sync_state WHERE singleton = 1",
            [],
            |r| {
                Ok(LastSync {
                    portal_url: r.get(0)?,
                    pushed_at: r.get(1)?,
                    pulled_at: r.get(2)?,
                    attempted_at: r.get(3)?,
                    error: r.get(4)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// The device token, sealed (`keyvault::seal_secret`) under the signing key `key_id`.
pub struct SealedToken {
    pub key_id: KeyId,
    pub sealed: Vec<u8>,
}

/// Which key sealed the device token and when it was set: what a panel may read (its
/// connection cannot read the sealed bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    pub key_id: KeyId,
    pub set_at: i64,
}

/// Keeps the sealed device token in place of any earlier one.
pub fn set_token(tx: &Transaction<'_>, token: &SealedToken, now: i64) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO sync_token (singleton, key_id, sealed, set_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET
             key_id = excluded.key_id, sealed = excluded.sealed, set_at = excluded.set_at",
    )?
    .execute(params![SqlKeyId(token.key_id), token.sealed, now])?;
    Ok(())
}

/// Forgets the device token; true when there was one.
pub fn forget_token(tx: &Transaction<'_>) -> StoreResult<bool> {
    Ok(tx.prepare_cached("DELETE FROM sync_token")?.execute([])? > 0)
}

/// The sealed device token (the writer's connection only).
pub fn sealed_token(conn: &Connection) -> StoreResult<Option<SealedToken>> {
    Ok(conn
        .query_row(
            "SELECT key_id, sealed FROM sync_token WHERE singleton = 1",
            [],
            |r| {
                Ok(SealedToken {
                    key_id: r.get::<_, SqlKeyId>(0)?.0,
                    sealed: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// Which key sealed the device token, if one is kept.
pub fn token_info(conn: &Connection) -> StoreResult<Option<TokenInfo>> {
    Ok(conn
        .query_row(
            "SELECT key_id, set_at FROM sync_token WHERE singleton = 1",
            [],
            |r| {
                Ok(TokenInfo {
                    key_id: r.get::<_, SqlKeyId>(0)?.0,
                    set_at: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// The version the local state of `(entity, entity_id)` is at: the HLC text and the desk of
/// the change it came from.
pub fn version(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
) -> StoreResult<Option<(String, DeskId)>> {
    version_by(&mut *conn.prepare_cached(VERSION)?, entity, entity_id)
}

const VERSION: &str = "SELECT hlc, desk_id FROM sync_versions WHERE entity = ?1 AND entity_id = ?2";

fn version_by(
    stmt: &mut Statement<'_>,
    entity: &str,
    entity_id: &str,
) -> StoreResult<Option<(String, DeskId)>> {
    Ok(stmt
        .query_row([entity, entity_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Sets the version of `(entity, entity_id)`.
pub fn set_version(
    tx: &Transaction<'_>,
    entity: &str,
    entity_id: &str,
    hlc: &str,
    desk: DeskId,
) -> StoreResult<()> {
    set_version_by(
        &mut *tx.prepare_cached(SET_VERSION)?,
        entity,
        entity_id,
        hlc,
        desk,
    )
}

fn set_version_by(
    stmt: &mut Statement<'_>,
    entity: &str,
    entity_id: &str,
    hlc: &str,
    desk: DeskId,
) -> StoreResult<()> {
    stmt.execute(params![entity, entity_id, hlc, desk])?;
    Ok(())
}

const SET_VERSION: &str =
    "INSERT INTO sync_versions (entity, entity_id, hlc, desk_id) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (entity, entity_id) DO UPDATE SET hlc = excluded.hlc, desk_id = excluded.desk_id";

/// What became of a pulled change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxState {
    /// Its state is the local state now.
    Applied,
    /// The local state is newer (by HLC, then desk id): kept.
    Older,
    /// This desk changed the same entity and has not pushed it yet, or pushed it and the
    /// other desk's newer change was made without having seen it: both versions are kept for
    /// staff to choose; the newer one is the local state meanwhile.
    Conflict,
    /// This desk's checks refused it (the reason is in the note); nothing of it applied.
    Refused,
    /// This desk cannot apply it yet (an entity or body version it does not apply).
    Waiting,
}

impl InboxState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Applied => "applied",
            InboxState::Older => "older",
            InboxState::Conflict => "conflict",
            InboxState::Refused => "refused",
            InboxState::Waiting => "waiting",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [
            InboxState::Applied,
            InboxState::Older,
            InboxState::Conflict,
            InboxState::Refused,
            InboxState::Waiting,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }
}

/// A change pulled from another desk, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub change_id: ChangeId,
    pub desk_id: DeskId,
    pub hlc: String,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub version: u32,
    pub body: String,
    /// The version of the entity the other desk made the change on (protocol 2), if it said.
    pub base: Option<(String, DeskId)>,
}

/// This desk's own version of an entity, from its change not pushed yet (or the last one it
/// pushed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVersion {
    pub op: String,
    pub body: String,
}

/// A pulled change and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub change: Received,
    pub state: InboxState,
    pub note: String,
    /// For a conflict: this desk's version.
    pub local: Option<LocalVersion>,
    pub received_at: i64,
}

/// Which of `change_ids` are already in the inbox (a page pulled again), in one statement.
pub fn received_among(
    conn: &Connection,
    change_ids: &[ChangeId],
) -> StoreResult<std::collections::HashSet<ChangeId>> {
    let ids: Vec<rusqlite::types::Value> = change_ids
        .iter()
        .map(|id| rusqlite::types::Value::Blob(id.0.as_bytes().to_vec()))
        .collect();
    let mut stmt =
        conn.prepare_cached("SELECT change_id FROM sync_inbox WHERE change_id IN rarray(?1)")?;
    let found = stmt
        .query_map([std::rc::Rc::new(ids)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(found)
}

/// Marks refused changes of `(entity, entity_id)` older than `hlc` as older: a newer version
/// of the entity was applied, so they no longer wait for anyone.
pub fn settle_refused(
    tx: &Transaction<'_>,
    entity: &str,
    entity_id: &str,
    hlc: &str,
) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE sync_inbox SET state = 'older', note = 'a newer version was applied'
         WHERE entity = ?1 AND entity_id = ?2 AND state = 'refused' AND hlc < ?3",
    )?
    .execute(params![entity, entity_id, hlc])?;
    Ok(())
}

const KEEP: &str = "INSERT INTO sync_inbox (change_id, desk_id, hlc, entity, entity_id, op,
                                             version, body, received_at, state, note, local_op,
                                             local_body, base_hlc, base_desk_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// The statements taking pulled changes runs for each change, prepared once for a page of
/// them (the prepared-statement cache costs a lookup and a copy of the text at each use).
pub struct Inbox<'c> {
    version: Statement<'c>,
    set_version: Statement<'c>,
    keep: Statement<'c>,
}

impl<'c> Inbox<'c> {
    pub fn new(conn: &'c Connection) -> StoreResult<Self> {
        Ok(Inbox {
            version: conn.prepare(VERSION)?,
            set_version: conn.prepare(SET_VERSION)?,
            keep: conn.prepare(KEEP)?,
        })
    }

    /// As [`version`].
    pub fn version(
        &mut self,
        entity: &str,
        entity_id: &str,
    ) -> StoreResult<Option<(String, DeskId)>> {
        version_by(&mut self.version, entity, entity_id)
    }

    /// As [`set_version`].
    pub fn set_version(
        &mut self,
        entity: &str,
        entity_id: &str,
        hlc: &str,
        desk: DeskId,
    ) -> StoreResult<()> {
        set_version_by(&mut self.set_version, entity, entity_id, hlc, desk)
    }

    /// Keeps a pulled change with what became of it. An applied change (a fact: an applied
    /// upsert or delete is kept as the entity's version instead) is kept as a receipt,
    /// without its body: its content is the desk's state now (and the portal's copy); every
    /// other keeps its body for staff or for a later take ([`retaken`]).
    pub fn keep(&mut self, row: &InboxRow) -> StoreResult<()> {
        let c = &row.change;
        let k = Kept::of(row);
        self.keep.execute(params![
            c.change_id,
            c.desk_id,
            c.hlc,
            c.entity,
            c.entity_id,
            c.op,
            c.version,
            k.body,
            row.received_at,
            row.state.as_str(),
            row.note,
            k.local_op,
            k.local_body,
            k.base_hlc,
            k.base_desk
        ])?;
        Ok(())
    }
}

/// Notes what became of a kept change taken again.
pub fn retaken(tx: &Transaction<'_>, row: &InboxRow) -> StoreResult<()> {
    let k = Kept::of(row);
    tx.prepare_cached(
        "UPDATE sync_inbox SET state = ?2, note = ?3, body = ?4, local_op = ?5, local_body = ?6,
                               base_hlc = ?7, base_desk_id = ?8
         WHERE change_id = ?1",
    )?
    .execute(params![
        row.change.change_id,
        row.state.as_str(),
        row.note,
        k.body,
        k.local_op,
        k.local_body,
        k.base_hlc,
        k.base_desk
    ])?;
    Ok(())
}

/// What a kept change keeps beside its state: its body and base (none for a receipt, an
/// applied change), and this desk's version it is in conflict with.
struct Kept<'a> {
    body: &'a str,
    local_op: Option<&'a str>,
    local_body: Option<&'a str>,
    base_hlc: Option<&'a str>,
    base_desk: Option<DeskId>,
}

impl<'a> Kept<'a> {
    fn of(row: &'a InboxRow) -> Self {
        let receipt = row.state == InboxState::Applied;
        let base = row.change.base.as_ref().filter(|_| !receipt);
        Kept {
            body: if receipt { "" } else { &row.change.body },
            local_op: row.local.as_ref().map(|l| l.op.as_str()),
            local_body: row.local.as_ref().map(|l| l.body.as_str()),
            base_hlc: base.map(|(hlc, _)| hlc.as_str()),
            base_desk: base.map(|(_, desk)| *desk),
        }
    }
}

/// The body this desk last pushed of `(entity, entity_id)`, if the entity's state here is
/// still that change (its clock reading `hlc`).
pub fn sent(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
    hlc: &str,
) -> StoreResult<Option<LocalVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT op, body FROM sync_sent WHERE entity = ?1 AND entity_id = ?2 AND hlc = ?3",
        )?
        .query_row([entity, entity_id, hlc], |r| {
            Ok(LocalVersion {
                op: r.get(0)?,
                body: r.get(1)?,
            })
        })
        .optional()?)
}

/// Forgets the body this desk last pushed of `(entity, entity_id)`: the entity's state here
/// is another desk's change now.
pub fn forget_sent(tx: &Transaction<'_>, entity: &str, entity_id: &str) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM sync_sent WHERE entity = ?1 AND entity_id = ?2")?
        .execute([entity, entity_id])?;
    Ok(())
}

/// This desk's newest change of `(entity, entity_id)` not pushed yet, if any.
pub fn unpushed(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
) -> StoreResult<Option<LocalVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT op, body FROM outbox WHERE entity = ?1 AND entity_id = ?2
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([entity, entity_id], |r| {
            Ok(LocalVersion {
                op: r.get(0)?,
                body: r.get(1)?,
            })
        })
        .optional()?)
}

/// The condition of the `sync_inbox_open` index: a query must spell it exactly for SQLite to
/// read through that index.
const OPEN: &str = "(state = 'conflict' OR state = 'refused' OR state = 'waiting')";

const INBOX_COLUMNS: &str = "change_id, desk_id, hlc, entity, entity_id, op, version, body,
    state, note, local_op, local_body, received_at, base_hlc, base_desk_id";

fn inbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InboxRow> {
    let word: String = r.get(8)?;
    let state = InboxState::parse(&word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            8,
            rusqlite::types::Type::Text,
            format!("unknown inbox state '{word}'").into(),
        )
    })?;
    let local = match (
        r.get::<_, Option<String>>(10)?,
        r.get::<_, Option<String>>(11)?,
    ) {
        (Some(op), Some(body)) => Some(LocalVersion { op, body }),
        _ => None,
    };
    Ok(InboxRow {
        change: Received {
            change_id: r.get(0)?,
            desk_id: r.get(1)?,
            hlc: r.get(2)?,
            entity: r.get(3)?,
            entity_id: r.get(4)?,
            op: r.get(5)?,
            version: r.get(6)?,
            body: r.get(7)?,
            base: match (r.get(13)?, r.get(14)?) {
                (Some(hlc), Some(desk)) => Some((hlc, desk)),
                _ => None,
            },
        },
        state,
        note: r.get(9)?,
        local,
        received_at: r.get(12)?,
    })
}

/// The oldest `limit` pulled changes that wait for staff: conflicts and changes refused here.
pub fn for_staff(conn: &Connection, limit: usize) -> StoreResult<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INBOX_COLUMNS} FROM sync_inbox
         WHERE {OPEN} AND state IN ('conflict', 'refused') ORDER BY received_at, hlc LIMIT ?1"
    ))?;
    let rows = stmt.query_map([super::limit(limit)], inbox_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` pulled changes in `state` (waiting or refused) of one of `entities`, in
/// (HLC, change id) order after `after`, to be taken again.
pub fn to_retake(
    conn: &Connection,
    state: InboxState,
    entities: &[&str],
    after: Option<&(String, ChangeId)>,
    limit: usize,
) -> StoreResult<Vec<InboxRow>> {
    let (hlc, change_id) = after
        .cloned()
        .unwrap_or_else(|| (String::new(), ChangeId(uuid::Uuid::nil())));
    let kinds =
        serde_json::to_string(entities).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INBOX_COLUMNS} FROM sync_inbox
         WHERE {OPEN} AND state = ?5
           AND entity IN (SELECT value FROM json_each(?1)) AND (hlc, change_id) > (?2, ?3)
         ORDER BY hlc, change_id LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![kinds, hlc, change_id, super::limit(limit), state.as_str()],
        inbox_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many pulled changes are in `state`, counting no further than `cap` (a desk may hold a
/// great many waiting ones).
pub fn count(conn: &Connection, state: InboxState, cap: u64) -> StoreResult<u64> {
    let open = matches!(
        state,
        InboxState::Conflict | InboxState::Refused | InboxState::Waiting
    );
    let sql = if open {
        // Spelled as the index's own condition, so the planner reads the few open changes
        // through it instead of every change ever pulled.
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM sync_inbox WHERE {OPEN} AND state = ?1 LIMIT ?2)"
        )
    } else {
        "SELECT count(*) FROM (SELECT 1 FROM sync_inbox WHERE state = ?1 LIMIT ?2)".to_string()
    };
    Ok(conn.prepare_cached(&sql)?.query_row(
        params![state.as_str(), i64::try_from(cap).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?)
}

/// Every pulled change that waits for staff or for this desk: conflicts, refused, waiting;
/// oldest first (all of them: for a few).
pub fn open_items(conn: &Connection) -> StoreResult<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INBOX_COLUMNS} FROM sync_inbox WHERE {OPEN} ORDER BY received_at, hlc"
    ))?;
    let rows = stmt.query_map([], inbox_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One pulled change by its change id.
pub fn item(conn: &Connection, change_id: ChangeId) -> StoreResult<Option<InboxRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {INBOX_COLUMNS} FROM sync_inbox WHERE change_id = ?1"
        ))?
        .query_row([change_id], inbox_row)
        .optional()?)
}

/// Settles a pulled change: its new state and why.
pub fn settle(
    tx: &Transaction<'_>,
    change_id: ChangeId,
    state: InboxState,
    note: &str,
) -> StoreResult<()> {
    tx.prepare_cached("UPDATE sync_inbox SET state = ?2, note = ?3 WHERE change_id = ?1")?
        .execute(params![change_id, state.as_str(), note])?;
    Ok(())
}
