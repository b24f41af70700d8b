//! Sync with a portal (`docs/sync-protocol.md`, "What a desk must do"): the desk's outbox
//! goes to the portal and leaves only when the portal acknowledges it.
//!
//! - [`push`]: the outbox to the portal, in batches; refused changes are parked with their
//!   reason and never hold up the rest.

pub mod push;

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
