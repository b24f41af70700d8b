//! Bulk issue on every core: signing threads prepare licenses (sign, encode, hash) in
//! batches and hand them over a bounded channel to the one writer (the caller's thread, which
//! owns the store). The writer puts batches back in order (a reorder buffer), so ledger
//! sequence follows the order of the input, and commits every
//! [`super::licensing::BULK_COMMIT_EVERY`] licenses in one transaction: the rows, their
//! ledger entries, the range left for the list to take in, and one outbox change naming the
//! range. Cancellation is checked between commits; what was committed stays.
//!
//! The writer is kept lean on purpose (the row, its ledger entry and three indexes): on two
//! cores it takes its time from the signers, so every microsecond it spends per license is
//! signing not done. The list's indexes and trigram search are filled after the issue
//! ([`crate::store::licenses::list_pending`]).

use super::Progress;
use super::licensing::{BULK_COMMIT_EVERY, LicensingError};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::issue::IssueSpec;
use crate::store::bulk::BatchId;
use crate::store::ledger::{self, Record};
use crate::store::licenses::{self, Prepared, SharedValues};
use crate::store::{Store, StoreError};
use licensekey::{SignedLicense, SigningKey, Uuid};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Licenses one signing thread prepares before handing them over.
const SIGN_BATCH: usize = 500;

/// One license to issue in bulk.
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub spec: IssueSpec,
    pub account: Option<AccountId>,
    /// Months of the purchase term behind it, if any.
    pub order_months: Option<u32>,
    /// When it counts as issued (its `issued_at`); `None`: now.
    pub issued_at: Option<i64>,
}

/// What the input of a bulk issue is: plain specs for one account, or items of their own.
pub trait Items: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn spec(&self, i: usize) -> &IssueSpec;
    fn account(&self, i: usize) -> Option<AccountId>;
    fn order_months(&self, i: usize) -> Option<u32>;
    fn issued_at(&self, i: usize) -> Option<i64>;
    /// The item's row number in its batch (recorded with its license when the batch has an id).
    fn row(&self, i: usize) -> u32 {
        u32::try_from(i + 1).unwrap_or(u32::MAX)
    }
}

/// Rows of a batch (row number and spec), all issued to one account.
pub struct Rows<'a> {
    pub rows: &'a [&'a (u32, IssueSpec)],
    pub account: Option<AccountId>,
}

impl Items for Rows<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn spec(&self, i: usize) -> &IssueSpec {
        &self.rows[i].1
    }
    fn account(&self, _i: usize) -> Option<AccountId> {
        self.account
    }
    fn order_months(&self, _i: usize) -> Option<u32> {
        None
    }
    fn issued_at(&self, _i: usize) -> Option<i64> {
        None
    }
    fn row(&self, i: usize) -> u32 {
        self.rows[i].0
    }
}

/// Specs all issued to one account.
pub struct ForAccount<'a> {
    pub specs: &'a [IssueSpec],
    pub account: Option<AccountId>,
}

impl Items for ForAccount<'_> {
    fn len(&self) -> usize {
        self.specs.len()
    }
    fn spec(&self, i: usize) -> &IssueSpec {
        &self.specs[i]
    }
    fn account(&self, _i: usize) -> Option<AccountId> {
        self.account
    }
    fn order_months(&self, _i: usize) -> Option<u32> {
        None
    }
    fn issued_at(&self, _i: usize) -> Option<i64> {
        None
    }
}

impl Items for [BulkItem] {
    fn len(&self) -> usize {
        <[BulkItem]>::len(self)
    }
    fn spec(&self, i: usize) -> &IssueSpec {
        &self[i].spec
    }
    fn account(&self, i: usize) -> Option<AccountId> {
        self[i].account
    }
    fn order_months(&self, i: usize) -> Option<u32> {
        self[i].order_months
    }
    fn issued_at(&self, i: usize) -> Option<i64> {
        self[i].issued_at
    }
}

/// Threads that sign: one per core.
pub fn signing_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 32)
}

/// Signs and records `items` (see the module docs); each committed license is handed to
/// `committed`, in input order, right after its transaction commits. Returns how many were
/// issued.
#[allow(clippy::too_many_arguments)]
pub fn issue<I: Items + ?Sized>(
    store: &mut Store,
    key: &SigningKey,
    items: &I,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    mut committed: impl FnMut(&SignedLicense) -> Result<(), LicensingError>,
) -> Result<u64, LicensingError> {
    issue_rows(store, key, items, None, operator, now, progress, |chunk| {
        chunk.iter().try_for_each(|(_, license)| committed(license))
    })
}

/// [`issue`], recording each item's row of `batch` with its license in the same transaction
/// (so a stopped batch resumes without issuing a row twice), and handing each committed chunk
/// (row numbers and licenses, in input order) to `committed`.
#[allow(clippy::too_many_arguments)]
pub fn issue_rows<I: Items + ?Sized>(
    store: &mut Store,
    key: &SigningKey,
    items: &I,
    batch: Option<&BatchId>,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    mut committed: impl FnMut(&[(u32, SignedLicense)]) -> Result<(), LicensingError>,
) -> Result<u64, LicensingError> {
    super::keys::ensure_active(store.conn(), key)?;
    let total = items.len();
    if total == 0 {
        return Ok(0);
    }
    // Ids are made here, in input order: UUIDv7 ids then grow with the ledger's sequence, and
    // the id index is appended to rather than split.
    let ids: Vec<Uuid> = (0..total).map(|_| Uuid::now_v7()).collect();
    let batches = total.div_ceil(SIGN_BATCH);
    let threads = signing_threads().min(batches);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (send, receive) =
        mpsc::sync_channel::<(usize, Result<Vec<Prepared>, licensekey::Error>)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let send = send.clone();
            let (next, stop, ids) = (&next, &stop, &ids);
            scope.spawn(move || {
                loop {
                    let batch = next.fetch_add(1, Ordering::SeqCst);
                    if batch >= batches || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let range = batch * SIGN_BATCH..((batch + 1) * SIGN_BATCH).min(total);
                    let prepared = range
                        .map(|i| {
                            let at = items.issued_at(i).unwrap_or(now);
                            SignedLicense::sign(items.spec(i).payload(ids[i], at), key)
                                .map(Prepared::new)
                        })
                        .collect::<Result<Vec<_>, _>>();
                    if send.send((batch, prepared)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(send);
        let outcome = write(
            store,
            items,
            batch,
            receive,
            batches,
            operator,
            now,
            progress,
            &mut committed,
        );
        // Signers still running stop at their next batch; the channel is drained by dropping.
        stop.store(true, Ordering::SeqCst);
        outcome
    })
}

/// The writer: takes batches in order and commits them.
#[allow(clippy::too_many_arguments)]
fn write<I: Items + ?Sized>(
    store: &mut Store,
    items: &I,
    batch: Option<&BatchId>,
    receive: mpsc::Receiver<(usize, Result<Vec<Prepared>, licensekey::Error>)>,
    batches: usize,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    committed: &mut impl FnMut(&[(u32, SignedLicense)]) -> Result<(), LicensingError>,
) -> Result<u64, LicensingError> {
    let total = items.len() as u64;
    let mut waiting: BTreeMap<usize, Vec<Prepared>> = BTreeMap::new();
    let mut next_batch = 0usize;
    let mut pending: Vec<Prepared> = Vec::with_capacity(BULK_COMMIT_EVERY);
    let mut names = SharedValues::default();
    let mut done = 0u64;
    let mut received_all = false;
    while next_batch < batches || !pending.is_empty() {
        // Gather the next batches, in order, until a commit's worth is pending.
        while pending.len() < BULK_COMMIT_EVERY && next_batch < batches {
            if let Some(batch) = waiting.remove(&next_batch) {
                pending.extend(batch);
                next_batch += 1;
                continue;
            }
            if received_all {
                return Err(StoreError::Corrupt("a signing thread stopped early".into()).into());
            }
            match receive.recv() {
                Ok((index, prepared)) => {
                    waiting.insert(index, prepared?);
                }
                Err(_) => received_all = true,
            }
        }
        if pending.is_empty() {
            break;
        }
        let take = pending.len().min(BULK_COMMIT_EVERY);
        let chunk: Vec<Prepared> = pending.drain(..take).collect();
        let first = done as usize;
        store.write(|tx| {
            let head = ledger::head(tx)?;
            let mut last = head;
            let mut seqs = (i64::MAX, i64::MIN);
            for (offset, prepared) in chunk.iter().enumerate() {
                let i = first + offset;
                let account = items.account(i);
                let seq = licenses::insert_prepared(
                    tx,
                    &mut names,
                    prepared,
                    account,
                    items.order_months(i),
                    false,
                )?;
                seqs = (seqs.0.min(seq), seqs.1.max(seq));
                let license_id = LicenseId(prepared.license.payload().license_id);
                if let Some(batch) = batch {
                    crate::store::bulk::insert(tx, batch, items.row(i), license_id)?;
                }
                last = ledger::append_in_batch(
                    tx,
                    last,
                    license_id,
                    Record::Issue {
                        artifact_hash: prepared.hash,
                        account,
                        machine: None,
                    },
                    operator,
                    now,
                )?;
            }
            names.index_new(tx)?;
            licenses::mark_unlisted(tx, seqs.0, seqs.1)?;
            ledger::close_batch(tx, head, last, now)?;
            Ok::<_, LicensingError>(())
        })?;
        let count = chunk.len();
        let licenses: Vec<(u32, SignedLicense)> = chunk
            .into_iter()
            .enumerate()
            .map(|(offset, prepared)| (items.row(first + offset), prepared.license))
            .collect();
        committed(&licenses)?;
        done += count as u64;
        progress.report(done, total);
        if progress.cancelled() {
            break;
        }
    }
    Ok(done)
}
