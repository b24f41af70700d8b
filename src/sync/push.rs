//! Pushing the outbox: the oldest rows first, as envelopes in batches the portal takes; in one
//! transaction per round, rows the portal accepted (or already held) leave the outbox and rows
//! it refused move to the parked changes with its code and reason. A transport error or a
//! refused request keeps every row: pushing again is safe, the portal answers "duplicate" for
//! what it already has.

use super::SyncError;
use crate::store::{Store, desk, outbox};
use portal::client::PortalClient;
use portal::protocol::{Envelope, PushStatus};

/// How much one push request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushLimits {
    /// Changes per request (the portal's `max_batch`, 1000 by default).
    pub max_batch: usize,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits { max_batch: 1000 }
    }
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushReport {
    /// Changes the portal acknowledged (their outbox rows left the outbox).
    pub acknowledged: u64,
    /// Changes the portal refused (their rows parked with the reason).
    pub parked: u64,
    /// Changes sent (a bulk issue's row stands for many).
    pub sent: u64,
}

/// One outbox row's envelopes and what the portal said about them.
struct Pending {
    seq: i64,
    envelopes: Vec<Envelope>,
    refused: Option<(String, String)>,
}

/// Pushes every outbox row, oldest first, until the outbox is empty or a request fails.
pub fn push(
    store: &mut Store,
    client: &PortalClient,
    limits: PushLimits,
    now: i64,
) -> Result<PushReport, SyncError> {
    let max_batch = limits.max_batch.max(1);
    let desk = desk::desk_id(store.conn())?
        .ok_or_else(|| SyncError::Answer("this desk has no identity yet".into()))?;
    let mut report = PushReport::default();
    let mut after = 0i64;
    loop {
        // A round: rows until a request's worth of envelopes (at least one row).
        let mut round: Vec<Pending> = Vec::new();
        let mut count = 0usize;
        for row in outbox::pending(store.conn(), after, max_batch)? {
            if count >= max_batch {
                break;
            }
            after = row.seq;
            let envelopes = outbox::envelopes(store.conn(), desk, &row)?;
            count += envelopes.len();
            round.push(Pending {
                seq: row.seq,
                envelopes,
                refused: None,
            });
        }
        if round.is_empty() {
            return Ok(report);
        }
        send(client, &mut round, max_batch)?;
        report.sent += count as u64;
        store.write(|tx| {
            let held: Vec<i64> = round
                .iter()
                .filter(|p| p.refused.is_none())
                .map(|p| p.seq)
                .collect();
            outbox::acknowledge(tx, &held)?;
            for pending in &round {
                if let Some((code, reason)) = &pending.refused {
                    outbox::park(tx, pending.seq, code, reason, now)?;
                }
            }
            Ok::<_, SyncError>(())
        })?;
        for pending in &round {
            let changes = pending.envelopes.len() as u64;
            match pending.refused {
                None => report.acknowledged += changes,
                Some(_) => report.parked += changes,
            }
        }
    }
}

/// Sends the round's envelopes in requests of at most `max_batch`, noting on each row the
/// first refusal of any of its envelopes.
fn send(client: &PortalClient, round: &mut [Pending], max_batch: usize) -> Result<(), SyncError> {
    let owners: Vec<usize> = round
        .iter()
        .enumerate()
        .flat_map(|(row, p)| std::iter::repeat_n(row, p.envelopes.len()))
        .collect();
    let all: Vec<Envelope> = round
        .iter()
        .flat_map(|p| p.envelopes.iter().cloned())
        .collect();
    for (chunk_index, chunk) in all.chunks(max_batch).enumerate() {
        let answer = client.push(chunk)?;
        for result in answer.results {
            let Some(owner) = result
                .index
                .checked_add(chunk_index * max_batch)
                .and_then(|i| owners.get(i))
            else {
                return Err(SyncError::Answer(format!(
                    "an answer for change {} of {}",
                    result.index,
                    chunk.len()
                )));
            };
            if result.status == PushStatus::Rejected && round[*owner].refused.is_none() {
                round[*owner].refused = Some((
                    result.code.map_or("rejected", |c| c.as_str()).to_string(),
                    result.reason.unwrap_or_default(),
                ));
            }
        }
    }
    Ok(())
}
