//! Deactivation files applied on this desk, each tied to its ledger entry. Their ids are kept
//! for good, so a file (or a copy of it) is applied once only; rows never change.

use super::StoreResult;
use super::outbox::{self, Change, DeactivationRecord};
use crate::domain::ids::LicenseId;
use rusqlite::{Connection, Transaction, params};

/// An applied deactivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedDeactivation {
    pub id: uuid::Uuid,
    pub license_id: LicenseId,
    pub machine_key: [u8; 32],
    pub deactivated_at: i64,
    pub applied_at: i64,
    pub ledger_seq: i64,
}

/// True when a deactivation with this id was applied before.
pub fn is_applied(conn: &Connection, id: uuid::Uuid) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM deactivations WHERE id = ?1)",
        [&id.as_bytes()[..]],
        |r| r.get(0),
    )?)
}

/// Keeps an applied deactivation (`file` = body || signature) with its ledger entry.
pub fn insert(
    tx: &Transaction<'_>,
    d: &licensekey::SignedDeactivation,
    ledger_seq: i64,
    now: i64,
) -> StoreResult<()> {
    let x = d.deactivation();
    tx.execute(
        "INSERT INTO deactivations (id, license_id, machine_key, file, deactivated_at,
             applied_at, ledger_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &x.id.as_bytes()[..],
            LicenseId(x.license_id),
            &x.machine_key.as_bytes()[..],
            d.to_bytes(),
            x.deactivated_at,
            now,
            ledger_seq
        ],
    )?;
    outbox::record(
        tx,
        &Change::Deactivation(DeactivationRecord {
            id: x.id.to_string(),
            license_id: LicenseId(x.license_id),
            file: d.to_file(),
            applied_at: now,
        }),
        now,
    )?;
    Ok(())
}

/// The deactivations applied to a license, newest first.
pub fn for_license(
    conn: &Connection,
    license_id: LicenseId,
) -> StoreResult<Vec<AppliedDeactivation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, machine_key, deactivated_at, applied_at, ledger_seq FROM deactivations
         WHERE license_id = ?1 ORDER BY applied_at DESC, ledger_seq DESC",
    )?;
    let rows = stmt.query_map([license_id], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, key, deactivated_at, applied_at, ledger_seq) = row?;
        let damaged = || super::StoreError::Corrupt("a stored deactivation is damaged".into());
        out.push(AppliedDeactivation {
            id: uuid::Uuid::from_slice(&id).map_err(|_| damaged())?,
            license_id,
            machine_key: key.try_into().map_err(|_| damaged())?,
            deactivated_at,
            applied_at,
            ledger_seq,
        });
    }
    Ok(out)
}
