//! Pulling the portal's feed: pages after the saved cursor, each applied in one transaction
//! that also saves the page's cursor, so a page is applied once even if the desk stops at any
//! moment. Every change from another desk is kept in the inbox with what became of it; for
//! state that changes (upserts and deletes) the newer version by (HLC, desk id) wins, and a
//! change of an entity this desk changed too and has not pushed yet, or pushed without the
//! other desk having seen it (the change's base), is a conflict kept for staff
//! (`docs/sync-protocol.md`, "What a desk must do").

use super::SyncError;
use super::apply::{self, Outcome};
use crate::domain::ids::{ChangeId, DeskId};
use crate::store::sync::{InboxRow, InboxState, Received};
use crate::store::{Store, StoreError, desk, outbox, sync as kept};
use portal::client::{ClientError, PortalClient};
use portal::protocol::{Envelope, Op};
use rusqlite::Transaction;

/// How many changes a round asks the portal for at a time (the portal may send fewer: it
/// caps a page by its bytes too). Each page is one transaction on the desk.
pub const PAGE: usize = 5_000;

/// What a pull did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PullReport {
    /// Changes read from the feed (this desk's own included).
    pub received: u64,
    pub applied: u64,
    /// Older than what is here: kept, not applied.
    pub older: u64,
    pub conflicts: u64,
    pub refused: u64,
    /// Kept for a desk that applies them.
    pub waiting: u64,
    /// The portal asked for a full resync (the cursor was too old or from another feed).
    pub resynced: bool,
}

impl PullReport {
    /// Adds what taking refused changes again settled (those still refused are not counted
    /// twice).
    pub fn add_retaken(&mut self, again: PullReport) {
        self.applied += again.applied;
        self.older += again.older;
        self.conflicts += again.conflicts;
    }

    fn count(&mut self, state: InboxState) {
        match state {
            InboxState::Applied => self.applied += 1,
            InboxState::Older => self.older += 1,
            InboxState::Conflict => self.conflicts += 1,
            InboxState::Refused => self.refused += 1,
            InboxState::Waiting => self.waiting += 1,
        }
    }
}

/// Pulls every page after the saved cursor and applies it. The next page is read while one
/// applies (a thread of its own, one page ahead), so the network and the database take turns
/// less.
pub fn pull(
    store: &mut Store,
    client: &PortalClient,
    portal_url: &str,
    page_size: usize,
    now: i64,
) -> Result<PullReport, SyncError> {
    let me = desk::desk_id(store.conn())?
        .ok_or_else(|| SyncError::Answer("this desk has no identity yet".into()))?;
    let mut report = retake_waiting(store, now)?;
    let start = kept::cursor(store.conn(), portal_url)?;
    std::thread::scope(|scope| {
        let (send, pages) = std::sync::mpsc::sync_channel(1);
        let from = start.clone();
        scope.spawn(move || read_pages(client, from, page_size.max(1), &send));
        apply_pages(store, me, portal_url, start, &pages, &mut report, now)
    })?;
    finish(store, report, now)
}

/// What the page reader hands over.
enum Fetched {
    Page(portal::protocol::PullResponse),
    /// The portal asked for a full resync: the pages that follow start from the beginning.
    Resync,
    Failed(ClientError),
}

/// Reads the feed's pages in order until the last one, handing each over as it arrives; stops
/// when the receiver is gone (the pull ended early).
fn read_pages(
    client: &PortalClient,
    mut cursor: Option<String>,
    page_size: usize,
    out: &std::sync::mpsc::SyncSender<Fetched>,
) {
    loop {
        let page = match client.pull(cursor.as_deref(), page_size) {
            Ok(page) => page,
            // Read everything again from the start: what is here already is recognised by
            // change id, and the version rule makes applying a change twice harmless.
            Err(ClientError::ResyncRequired { .. }) if cursor.is_some() => {
                cursor = None;
                if out.send(Fetched::Resync).is_err() {
                    return;
                }
                continue;
            }
            Err(e) => {
                let _ = out.send(Fetched::Failed(e));
                return;
            }
        };
        let last = !page.more
            || (page.changes.is_empty() && cursor.as_deref() == Some(page.next_cursor.as_str()));
        cursor = Some(page.next_cursor.clone());
        if out.send(Fetched::Page(page)).is_err() || last {
            return;
        }
    }
}

/// Applies the pages the reader hands over, each in one transaction with its cursor.
fn apply_pages(
    store: &mut Store,
    me: DeskId,
    portal_url: &str,
    mut cursor: Option<String>,
    pages: &std::sync::mpsc::Receiver<Fetched>,
    report: &mut PullReport,
    now: i64,
) -> Result<(), SyncError> {
    for fetched in pages {
        let page = match fetched {
            Fetched::Page(page) => page,
            Fetched::Resync => {
                report.resynced = true;
                cursor = None;
                continue;
            }
            Fetched::Failed(e) => return Err(e.into()),
        };
        if page.changes.is_empty() && cursor.as_deref() == Some(page.next_cursor.as_str()) {
            // Nothing new: nothing to write (the round notes when it last pulled).
            return Ok(());
        }
        // Each change applies on its own savepoint only in a page that needs it: the page
        // is first taken without (a savepoint costs every full-text index a flush), and
        // taken again with one per change when a change is refused, so a refusal leaves
        // nothing of it behind either way.
        let taken = match take_page(store, me, &page, portal_url, Care::Fast, now) {
            Err(PageError::NeedsCare) => {
                take_page(store, me, &page, portal_url, Care::PerChange, now)
            }
            fast => fast,
        };
        for state in taken? {
            report.received += 1;
            if let Some(state) = state {
                report.count(state);
            }
        }
        cursor = Some(page.next_cursor);
        if !page.more {
            return Ok(());
        }
    }
    Err(SyncError::Answer(
        "the feed's pages stopped before the last one".into(),
    ))
}

/// After the last page: when something was applied, what was refused before may apply now.
fn finish(store: &mut Store, mut report: PullReport, now: i64) -> Result<PullReport, SyncError> {
    if report.applied > 0 {
        report.add_retaken(retake_refused(store, now)?);
    }
    Ok(report)
}

/// Whether each change of a page applies on a savepoint of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Care {
    /// No savepoints: a refusal aborts the whole page's transaction.
    Fast,
    PerChange,
}

/// Why a page's transaction was rolled back.
enum PageError {
    /// A change was refused on the fast path: take the page again with care.
    NeedsCare,
    Failed(SyncError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Failed(e.into())
    }
}

impl From<PageError> for SyncError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Failed(e) => e,
            // Only the fast path asks for care, and it is always taken again with care.
            PageError::NeedsCare => SyncError::Answer("a page could not be applied".into()),
        }
    }
}

impl From<SyncError> for PageError {
    fn from(e: SyncError) -> Self {
        PageError::Failed(e)
    }
}

/// Takes one page in one transaction with its cursor; what became of each change (None: its
/// own or one taken before).
fn take_page(
    store: &mut Store,
    me: DeskId,
    page: &portal::protocol::PullResponse,
    portal_url: &str,
    care: Care,
    now: i64,
) -> Result<Vec<Option<InboxState>>, PageError> {
    store.write(|tx| {
        // The desk's clock moves past the newest change of the page, once.
        if let Some(newest) = page.changes.iter().map(|c| c.hlc).max() {
            outbox::observe(tx, newest)?;
        }
        let taking = Taking {
            me,
            care,
            // Refusals a newer version may settle: those kept from before, or (taken with
            // care) one of this page.
            refusals: care == Care::PerChange || kept::count(tx, InboxState::Refused, 1)? > 0,
            // Applying pulled changes records none, so an empty outbox stays empty.
            unpushed: outbox::pending_count_capped(tx, 1)? > 0,
        };
        let ids: Vec<ChangeId> = page.changes.iter().map(|c| ChangeId(c.change_id)).collect();
        let mut taken = kept::received_among(tx, &ids)?;
        let mut inbox = kept::Inbox::new(tx)?;
        let mut states = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            states.push(take(tx, &mut inbox, change, &mut taken, taking, now)?);
        }
        kept::save_cursor(tx, portal_url, Some(&page.next_cursor), now)?;
        Ok(states)
    })
}

/// Takes one change of the feed into the desk; None when there is nothing to do (its own
/// change, or one already taken: in the inbox before, or earlier in the page).
fn take(
    tx: &Transaction<'_>,
    inbox: &mut kept::Inbox<'_>,
    change: &Envelope,
    taken: &mut std::collections::HashSet<ChangeId>,
    taking: Taking,
    now: i64,
) -> Result<Option<InboxState>, PageError> {
    let change_id = ChangeId(change.change_id);
    if change.desk_id == taking.me.0 || !taken.insert(change_id) {
        return Ok(None);
    }
    let received = Received {
        change_id,
        desk_id: DeskId(change.desk_id),
        hlc: change.hlc.to_string(),
        entity: change.entity.clone(),
        entity_id: change.entity_id.clone(),
        op: change.op.as_str().to_string(),
        version: change.version,
        body: change.body.get().to_string(),
        base: change
            .base
            .map(|base| (base.hlc.to_string(), DeskId(base.desk_id))),
    };
    settle(tx, inbox, received, taking, Taken::First(now), now)
}

/// What holds for every change taken in one transaction, found once before.
#[derive(Debug, Clone, Copy)]
struct Taking {
    /// This desk.
    me: DeskId,
    care: Care,
    /// Whether refused changes are kept that a newer version may settle.
    refusals: bool,
    /// Whether this desk has changes not pushed yet (a pulled change may conflict with one).
    unpushed: bool,
}

impl Taking {
    /// Taking changes again: each on its own savepoint, every check made.
    fn again(me: DeskId) -> Taking {
        Taking {
            me,
            care: Care::PerChange,
            refusals: true,
            unpushed: true,
        }
    }
}

/// Whether a change is taken for the first time (received at the time given) or again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    First(i64),
    Again(i64),
}

/// Applies a change from another desk (or decides it is older, in conflict, refused or
/// waiting) and keeps it in the inbox with what became of it. An upsert or delete taken for
/// the first time and applied keeps no row there: the entity's version, which names it by
/// (HLC, desk), is its receipt. None: the change is that version already (pulled again).
fn settle(
    tx: &Transaction<'_>,
    inbox: &mut kept::Inbox<'_>,
    change: Received,
    taking: Taking,
    taken: Taken,
    now: i64,
) -> Result<Option<InboxState>, PageError> {
    let care = taking.care;
    let mut local = None;
    let (state, note) = if change.op == Op::Insert.as_str() {
        // A fact: added when missing (applying one that is here changes nothing).
        apply_one(tx, &change, care, now)?
    } else {
        let here = inbox.version(&change.entity, &change.entity_id)?;
        if matches!(taken, Taken::First(_))
            && here
                .as_ref()
                .is_some_and(|(hlc, desk)| *hlc == change.hlc && *desk == change.desk_id)
        {
            return Ok(None);
        }
        let newer = here.as_ref().is_none_or(|(stored_hlc, stored_desk)| {
            (change.hlc.as_str(), change.desk_id.0) > (stored_hlc.as_str(), stored_desk.0)
        });
        let mine_here = here.as_ref().filter(|(_, desk)| *desk == taking.me);
        if taking.unpushed {
            local = kept::unpushed(tx, &change.entity, &change.entity_id)?;
        }
        // This desk's pushed version, which the other desk had not seen when it made the
        // change (its base is another version): about to be overwritten, so kept beside it.
        let mut unseen = false;
        if let (None, true, Some((hlc, _)), Some(base)) = (&local, newer, mine_here, &change.base)
            && here.as_ref() != Some(base)
        {
            local = kept::sent(tx, &change.entity, &change.entity_id, hlc)?;
            unseen = local.is_some();
        }
        let (state, note) = if newer {
            apply_one(tx, &change, care, now)?
        } else {
            (InboxState::Older, String::new())
        };
        if state == InboxState::Applied {
            inbox.set_version(
                &change.entity,
                &change.entity_id,
                &change.hlc,
                change.desk_id,
            )?;
            if mine_here.is_some() {
                kept::forget_sent(tx, &change.entity, &change.entity_id)?;
            }
            if taking.refusals {
                kept::settle_refused(tx, &change.entity, &change.entity_id, &change.hlc)?;
            }
        }
        if local.is_some() && !unseen && matches!(state, InboxState::Applied | InboxState::Older) {
            // The conflict is kept here: this desk's changes waiting to go out are made on
            // the other version too, so the other desk does not find it again.
            outbox::rebase(
                tx,
                &change.entity,
                &change.entity_id,
                &change.hlc,
                change.desk_id,
            )?;
        }
        match (&local, state) {
            (Some(_), InboxState::Applied) if unseen => (
                InboxState::Conflict,
                "changed here too and pushed before this change was made there: theirs is newer and shown meanwhile"
                    .to_string(),
            ),
            (Some(_), InboxState::Applied) => (
                InboxState::Conflict,
                "changed here too and not pushed yet: theirs is newer and shown meanwhile"
                    .to_string(),
            ),
            (Some(_), InboxState::Older) => (
                InboxState::Conflict,
                "changed here too and not pushed yet: ours is newer and kept meanwhile".to_string(),
            ),
            _ => (state, note),
        }
    };
    let (Taken::First(received_at) | Taken::Again(received_at)) = taken;
    let row = InboxRow {
        change,
        state,
        note,
        local,
        received_at,
    };
    match taken {
        // Its receipt is the version just set.
        Taken::First(_) if state == InboxState::Applied && row.change.op != Op::Insert.as_str() => {
        }
        Taken::First(_) => inbox.keep(&row)?,
        Taken::Again(_) => kept::retaken(tx, &row)?,
    }
    Ok(Some(state))
}

/// Takes again, in HLC order, the changes kept waiting by a build that applied fewer kinds
/// (`apply::APPLIES_VERSION`), once per new version: what this build applies is applied now,
/// the rest keeps waiting. Runs before a pull, so newer changes in the feed find them applied.
pub fn retake_waiting(store: &mut Store, now: i64) -> Result<PullReport, SyncError> {
    if desk::applies_version(store.conn())? >= apply::APPLIES_VERSION {
        return Ok(PullReport::default());
    }
    let (report, _) = retake(store, InboxState::Waiting, now)?;
    store.write(|tx| desk::set_applies_version(tx, apply::APPLIES_VERSION))?;
    Ok(report)
}

/// Takes again, in HLC order, the changes refused here, after a pull applied something or this
/// desk changed something: one refused for want of what has arrived since (an account that
/// took a new wallet ID, the document it belongs to, money in the wallet) applies now, the
/// rest stays refused with its reason. Repeats while a pass applies something, as one may be
/// what the next needs. Nothing to do when nothing is refused.
pub fn retake_refused(store: &mut Store, now: i64) -> Result<PullReport, SyncError> {
    let mut report = PullReport::default();
    if kept::count(store.conn(), InboxState::Refused, 1)? == 0
        && kept::count(store.conn(), InboxState::Waiting, 1)? == 0
    {
        return Ok(report);
    }
    loop {
        let (refused, settled) = retake(store, InboxState::Refused, now)?;
        // And what waits for something that may have arrived (an array for its license).
        let (waiting, arrived) = retake(store, InboxState::Waiting, now)?;
        report.add_retaken(refused);
        report.add_retaken(waiting);
        if settled + arrived == 0 {
            return Ok(report);
        }
    }
}

/// Takes every pulled change in `state` again; returns what became of them and how many
/// left that state.
fn retake(store: &mut Store, state: InboxState, now: i64) -> Result<(PullReport, u64), SyncError> {
    let mut report = PullReport::default();
    let mut left = 0;
    let entities: Vec<&str> = apply::APPLIES.iter().map(|(entity, _)| *entity).collect();
    let mut after = None;
    loop {
        let rows = kept::to_retake(store.conn(), state, &entities, after.as_ref(), 500)?;
        let Some(last) = rows.last() else { break };
        after = Some((last.change.hlc.clone(), last.change.change_id));
        store.write(|tx| {
            let again = Taking::again(desk::ensure(tx)?);
            let mut inbox = kept::Inbox::new(tx)?;
            for row in rows {
                let taken = Taken::Again(row.received_at);
                let Some(became) = settle(tx, &mut inbox, row.change, again, taken, now)? else {
                    continue;
                };
                if became != state {
                    left += 1;
                }
                report.count(became);
            }
            Ok::<_, SyncError>(())
        })?;
    }
    Ok((report, left))
}

/// Applies a change: with care, on its own savepoint, so a refusal leaves nothing of it
/// behind; fast, with none, so a refusal asks for the page to be taken again with care.
/// Returns what became of it and, for a refusal or a wait, why.
fn apply_one(
    tx: &Transaction<'_>,
    change: &Received,
    care: Care,
    now: i64,
) -> Result<(InboxState, String), PageError> {
    let sql = |text: &str| {
        tx.prepare_cached(text)
            .and_then(|mut statement| statement.execute([]))
            .map_err(StoreError::from)
    };
    if care == Care::PerChange {
        sql("SAVEPOINT apply_change")?;
    }
    let outcome = apply::apply(
        tx,
        apply::Pulled {
            entity: &change.entity,
            entity_id: &change.entity_id,
            op: &change.op,
            version: change.version,
            from: change.desk_id,
        },
        &change.body,
        now,
    );
    let keep = matches!(outcome, Ok(Outcome::Applied | Outcome::Waiting(_)));
    if care == Care::Fast {
        if !keep {
            return Err(PageError::NeedsCare);
        }
    } else {
        if !keep {
            sql("ROLLBACK TO apply_change")?;
        }
        sql("RELEASE apply_change")?;
    }
    Ok(match outcome? {
        Outcome::Applied => (InboxState::Applied, String::new()),
        Outcome::Waiting(why) => (InboxState::Waiting, why),
        Outcome::Refused(why) => (InboxState::Refused, why),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::account::Account;
    use crate::domain::ids::AccountId;
    use portal::hlc::Hlc;
    use portal::protocol::PullResponse;
    use serde_json::value::RawValue;

    const NOW: i64 = 1_795_435_200;

    /// A page holding one change twice (a portal gone wrong) takes it once, and so does the
    /// same page pulled again: one account, and its version as the receipt (no inbox row).
    #[test]
    fn a_change_twice_in_one_page_or_pulled_again_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&crate::paths::database_path(dir.path())).unwrap();
        let me = store.write(desk::ensure).unwrap();
        let account = Account {
            id: AccountId::new(),
            name: "Acme Storage".into(),
            wallet_id: 7_000,
            wallet_id_final: true,
            created_at: NOW,
        };
        let change = Envelope {
            change_id: uuid::Uuid::now_v7(),
            desk_id: uuid::Uuid::now_v7(),
            hlc: Hlc {
                ms: 1_795_435_200_000,
                counter: 0,
            },
            entity: "account".into(),
            entity_id: account.id.to_string(),
            op: Op::Upsert,
            version: 1,
            body: RawValue::from_string(serde_json::to_string(&account).unwrap()).unwrap(),
            base: None,
        };
        let page = PullResponse {
            changes: vec![change.clone(), change],
            next_cursor: "c1.next".into(),
            more: false,
        };
        let mut take = |care| {
            let Ok(states) = take_page(&mut store, me, &page, "https://portal.test", care, NOW)
            else {
                panic!("the page was not taken");
            };
            states
        };
        assert_eq!(take(Care::Fast), [Some(InboxState::Applied), None]);
        assert_eq!(take(Care::Fast), [None, None]);
        assert_eq!(take(Care::PerChange), [None, None]);
        let count = |table: &str| -> i64 {
            store
                .conn()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(
            (
                count("accounts"),
                count("sync_versions"),
                count("sync_inbox")
            ),
            (1, 1, 0)
        );
    }
}
