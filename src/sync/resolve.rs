//! Staff settling a conflict: keep this desk's version, the other desk's, or this desk's with
//! chosen fields taken from the other's (`sync::merge`). The kept version becomes the local
//! state and is recorded again as a change of this desk, so it is the newest everywhere once
//! pushed; the conflict is then settled in the inbox.

use super::SyncError;
use super::apply::{self, Outcome};
use crate::domain::ids::ChangeId;
use crate::store::outbox::{self, Recorded};
use crate::store::sync::{self as kept, InboxState};
use crate::store::{Store, StoreError};

/// Which version staff keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// This desk's version.
    Mine,
    /// The version pulled from the other desk.
    Theirs,
    /// This desk's version with these fields (paths, see `sync::merge`) as the other desk's
    /// version has them.
    Merged { from_theirs: Vec<String> },
}

/// Keeps one version of the conflict `change_id`.
pub fn resolve(
    store: &mut Store,
    change_id: ChangeId,
    keep: &Keep,
    now: i64,
) -> Result<(), SyncError> {
    store.write(|tx| {
        let row = kept::item(tx, change_id)?
            .filter(|row| row.state == InboxState::Conflict)
            .ok_or_else(|| StoreError::NotFound {
                what: "conflict",
                id: change_id.to_string(),
            })?;
        let change = &row.change;
        let merged;
        let (op, body, word) = match (keep, &row.local) {
            (Keep::Theirs, _) => (change.op.as_str(), change.body.as_str(), "theirs"),
            (Keep::Mine, Some(local)) => (local.op.as_str(), local.body.as_str(), "ours"),
            (Keep::Merged { from_theirs }, Some(local))
                if local.op == "upsert" && change.op == "upsert" =>
            {
                merged = super::merge::merged(&local.body, &change.body, from_theirs)
                    .map_err(|e| SyncError::Answer(format!("cannot merge: {e}")))?;
                ("upsert", merged.as_str(), "the merged version")
            }
            (Keep::Merged { .. }, Some(_)) => {
                return Err(SyncError::Answer(
                    "only two versions of an entity's state merge field by field (a deletion does not)"
                        .into(),
                ));
            }
            (_, None) => {
                return Err(SyncError::Answer(
                    "this conflict holds no version of this desk".into(),
                ));
            }
        };
        let applied = apply::apply(
            tx,
            apply::Pulled {
                entity: &change.entity,
                entity_id: &change.entity_id,
                op,
                version: change.version,
                from: change.desk_id,
            },
            body,
            now,
        )?;
        match applied {
            Outcome::Applied => {}
            Outcome::Refused(why) => {
                return Err(SyncError::Answer(format!("cannot keep {word}: {why}")));
            }
            Outcome::Waiting(why) => {
                return Err(SyncError::Answer(format!("cannot keep {word}: {why}")));
            }
        }
        outbox::record_body(
            tx,
            &Recorded {
                entity: &change.entity,
                entity_id: &change.entity_id,
                op,
                version: change.version,
                body,
            },
            now,
        )?;
        let (state, note) = match keep {
            Keep::Theirs => (InboxState::Applied, "staff kept theirs".to_string()),
            Keep::Mine => (InboxState::Older, "staff kept ours".to_string()),
            Keep::Merged { from_theirs } => (
                InboxState::Applied,
                format!(
                    "staff merged: ours with {} from theirs",
                    from_theirs.join(", ")
                ),
            ),
        };
        kept::settle(tx, change_id, state, &note)?;
        Ok(())
    })
}
