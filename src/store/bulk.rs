//! Bulk issue rows: which row of which input file each license was issued for, recorded in the
//! same transaction as the license, so a stopped bulk issue resumes without issuing a row twice.

use super::StoreResult;
use crate::domain::ids::LicenseId;
use rusqlite::{Connection, Transaction, params};
use std::collections::HashSet;

/// A batch's identity: the SHA-256 of its input file (or a fresh random value to issue a file
/// again on purpose).
pub type BatchId = [u8; 32];

/// A batch id of its own (random), for a batch that is not an input file.
pub fn new_batch_id() -> BatchId {
    let mut id = [0u8; 32];
    id[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    id[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    id
}

/// Records that `row` of `batch` was issued as `license_id`.
pub fn insert(
    tx: &Transaction<'_>,
    batch: &BatchId,
    row: u32,
    license_id: LicenseId,
) -> StoreResult<()> {
    tx.prepare_cached("INSERT INTO bulk_rows (batch, row, license_id) VALUES (?1, ?2, ?3)")?
        .execute(params![batch.as_slice(), row, license_id])?;
    Ok(())
}

/// The rows of `batch` already issued.
pub fn done(conn: &Connection, batch: &BatchId) -> StoreResult<HashSet<u32>> {
    let mut stmt = conn.prepare("SELECT row FROM bulk_rows WHERE batch = ?1")?;
    let rows = stmt
        .query_map([batch.as_slice()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The licenses of `batch` in row order, as stored (their signed artifacts: the bytes kept, or
/// those re-encoded from a compact row's columns and signature).
pub fn issued(conn: &Connection, batch: &BatchId) -> StoreResult<Vec<(u32, Vec<u8>)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT b.row AS bulk_row, {} FROM bulk_rows b JOIN licenses l USING (license_id)
         WHERE b.batch = ?1 ORDER BY b.row",
        super::licenses::aliased_columns("l", "")
    ))?;
    let rows = stmt
        .query_map([batch.as_slice()], |r| {
            Ok((
                r.get("bulk_row")?,
                super::licenses::read_row(r, "")?.artifact,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
