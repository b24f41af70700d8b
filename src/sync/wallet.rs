//! Wallet IDs across desks (`docs/sync-protocol.md`, "Wallet IDs"): before its first push a
//! desk asks the portal which blocks it holds. The first desk to ask keeps the block it has
//! numbered from; any other gets a new block, and its accounts numbered from its own block
//! (or provisionally) take numbers from the new one, recorded as changes so they sync.

use super::SyncError;
use crate::domain::ids::AccountId;
use crate::store::{Store, accounts, desk, sync as kept};
use portal::client::PortalClient;
use portal::protocol::{WalletBlock, WalletBlockRequest};

/// Ask for another block when fewer numbers than this are left.
const LOW: i64 = 100;

/// Makes sure the desk numbers accounts from blocks the portal granted; returns how many
/// accounts were renumbered.
pub fn settle(store: &mut Store, client: &PortalClient, now: i64) -> Result<u64, SyncError> {
    let me = desk::desk_id(store.conn())?
        .ok_or_else(|| SyncError::Answer("this desk has no identity yet".into()))?;
    let blocks = desk::wallet_blocks(store.conn())?;
    let held: i64 = blocks
        .iter()
        .filter(|b| b.from_portal)
        .map(|b| b.last_id + 1 - b.next_id)
        .sum();
    let has_portal_block = blocks.iter().any(|b| b.from_portal);
    if has_portal_block && held >= LOW {
        return Ok(0);
    }
    let local_block = blocks.iter().find(|b| !b.from_portal).map(|b| WalletBlock {
        first_id: b.first_id,
        last_id: b.last_id,
    });
    let answer = client.wallet_blocks(&WalletBlockRequest {
        desk_id: me.0,
        local_block,
        another: has_portal_block,
    })?;
    let granted: Vec<(i64, i64)> = answer
        .blocks
        .iter()
        .map(|b| (b.first_id, b.last_id))
        .collect();
    store.write(|tx| {
        let outside = desk::hold_blocks(tx, &granted, now)?;
        let mut renumbered = 0u64;
        for id in outside {
            // Only this desk's own accounts: one pulled from another desk keeps its number.
            if !made_here(tx, me, id)? {
                continue;
            }
            if accounts::renumber(tx, id, now)?.is_some() {
                renumbered += 1;
            }
        }
        Ok::<_, SyncError>(renumbered)
    })
}

/// True when the account was made on this desk (its state comes from a change of this desk,
/// or from before the desk first synced).
fn made_here(
    conn: &rusqlite::Connection,
    me: crate::domain::ids::DeskId,
    id: AccountId,
) -> Result<bool, SyncError> {
    Ok(kept::version(conn, "account", &id.to_string())?.is_none_or(|(_, desk)| desk == me))
}
