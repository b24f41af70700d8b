//! Staff settling a conflict: keep this desk's version or the other desk's. The kept version
//! becomes the local state and is recorded again as a change of this desk, so it is the newest
//! everywhere once pushed; the conflict is then settled in the inbox.

use super::SyncError;
use super::apply::{self, Outcome};
use crate::domain::ids::ChangeId;
use crate::store::outbox::{self, Recorded};
use crate::store::sync::{self as kept, InboxState};
use crate::store::{Store, StoreError};

/// Which version staff keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// This desk's version.
    Mine,
    /// The version pulled from the other desk.
    Theirs,
}

/// Keeps one version of the conflict `change_id`.
pub fn resolve(
    store: &mut Store,
    change_id: ChangeId,
    keep: Keep,
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
        let (op, body, word) = match (keep, &row.local) {
            (Keep::Theirs, _) => (change.op.as_str(), change.body.as_str(), "theirs"),
            (Keep::Mine, Some(local)) => (local.op.as_str(), local.body.as_str(), "ours"),
            (Keep::Mine, None) => {
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
        let state = match keep {
            Keep::Theirs => InboxState::Applied,
            Keep::Mine => InboxState::Older,
        };
        kept::settle(tx, change_id, state, &format!("staff kept {word}"))?;
        Ok(())
    })
}
