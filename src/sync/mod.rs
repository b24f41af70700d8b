//! Sync with a portal (`docs/sync-protocol.md`, "What a desk must do"): the desk's outbox
//! goes to the portal and leaves only when the portal acknowledges it.
//!
//! - [`push`]: the outbox to the portal, in batches; refused changes are parked with their
//!   reason and never hold up the rest.
//! - [`pull`]: the portal's feed into the desk, page by page with its cursor; [`apply`] holds
//!   how each kind of change is applied.
//! - [`wallet`]: the blocks of wallet IDs the portal grants, and renumbering into them.
//! - [`resolve`]: staff keeping one version of a conflict, or merging the two field by field
//!   ([`merge`]).
//! - [`schedule`]: when the app's next background round is due (backoff and jitter).

pub mod apply;
pub mod merge;
pub mod pull;
pub mod push;
pub mod resolve;
pub mod schedule;
pub mod wallet;

use crate::store::StoreError;

/// Why a sync step stopped. Nothing the portal has not acknowledged leaves the outbox.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Portal(#[from] portal::client::ClientError),
    /// The portal answered something that does not fit what was sent.
    #[error("the portal's answer does not fit the push: {0}")]
    Answer(String),
}

/// What one sync round did: wallet blocks, push, pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundReport {
    /// Accounts given numbers from a block the portal granted.
    pub renumbered: u64,
    pub push: push::PushReport,
    pub pull: pull::PullReport,
    /// Waiting for staff after the round: changes the portal refused (parked), pulled
    /// changes in conflict with this desk's, and pulled changes this desk refused.
    pub parked: u64,
    pub conflicts: u64,
    pub refused: u64,
}

impl RoundReport {
    /// True when nothing moved either way.
    pub fn nothing_to_do(&self) -> bool {
        self.renumbered == 0
            && self.push.sent == 0
            && self.pull.applied
                + self.pull.older
                + self.pull.conflicts
                + self.pull.refused
                + self.pull.waiting
                == 0
    }

    /// True when something waits for staff.
    pub fn needs_review(&self) -> bool {
        self.parked + self.conflicts + self.refused > 0
    }
}

/// One round with the portal at `portal_url`: settle wallet ID blocks, pull and apply the
/// feed, then push the whole outbox. Pulling first finds the changes another desk made to
/// what this desk changed and has not pushed yet (conflicts, kept for staff). A failure stops
/// the round; what was done stays done and the rest is safe to do again. A round that finishes
/// notes itself in `sync_state` and, once a day, removes the inbox's old receipts
/// (`store::sync::compact`); a caller notes a failure (`store::sync::note_attempt`).
pub fn round(
    store: &mut crate::store::Store,
    client: &portal::client::PortalClient,
    portal_url: &str,
    now: i64,
) -> Result<RoundReport, SyncError> {
    let renumbered = wallet::settle(store, client, now)?;
    let mut pull = pull::pull(store, client, portal_url, pull::PAGE, now)?;
    let push = push::push(store, client, push::PushLimits::default(), now)?;
    if push.sent > 0 && pull.applied == 0 {
        // What this desk changed since (money in a wallet, an account) may be what a refused
        // change needed. (A pull that applied something took them again already.)
        pull.add_retaken(pull::retake_refused(store, now)?);
    }
    store.write(|tx| {
        crate::store::sync::note_round(tx, portal_url, now)?;
        crate::store::sync::compact(tx, now).map(|_| ())
    })?;
    let conn = store.conn();
    let count = |state| crate::store::sync::count(conn, state, u64::MAX);
    Ok(RoundReport {
        renumbered,
        push,
        pull,
        parked: crate::store::outbox::parked_count(conn, u64::MAX)?,
        conflicts: count(crate::store::sync::InboxState::Conflict)?,
        refused: count(crate::store::sync::InboxState::Refused)?,
    })
}
