//! Arrays repository: one row per array with what it holds from its account's wallet and its
//! current serial; lists by account (keyset-paged by name), the Eval-once-per-cluster lookup,
//! and the "Ordered" arrays (Pro taken from the wallet, no serial yet) that the license list
//! shows beside issued licenses.

use super::outbox::{self, Change};
use super::{StoreError, StoreResult, is_unique_violation};
use crate::domain::ids::{AccountId, ArrayId, LicenseId};
use crate::domain::issue::parse_kind;
use licensekey::{LicenseKind, LicenseRequest, Uuid};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// An array as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayRow {
    pub seq: i64,
    pub id: ArrayId,
    pub account_id: AccountId,
    pub name: String,
    pub product: String,
    pub cluster: Option<Uuid>,
    /// The license request file made on the cluster (armored text), if one was opened.
    pub request: Option<String>,
    /// The license kind chosen; `None` while unassigned.
    pub kind: Option<LicenseKind>,
    /// Term in days of the Pro license it holds from the wallet (Pro only).
    pub pro_days: Option<u32>,
    /// Capacity it holds from the wallet.
    pub capacity_tb: u32,
    /// The serial generated for it last, while that serial stands for it.
    pub license_id: Option<LicenseId>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ArrayRow {
    /// The request file, parsed (a stored one always parses; damage reads as none).
    pub fn parsed_request(&self) -> Option<LicenseRequest> {
        self.request
            .as_deref()
            .and_then(|t| LicenseRequest::parse(t).ok())
    }

    /// True when a Pro license was taken from the wallet and no serial is generated yet.
    pub fn is_ordered(&self) -> bool {
        self.kind == Some(LicenseKind::Pro) && self.license_id.is_none()
    }

    /// The row as it syncs.
    pub fn record(&self) -> ArrayRecord {
        ArrayRecord {
            id: self.id,
            account_id: self.account_id,
            name: self.name.clone(),
            product: self.product.clone(),
            cluster: self.cluster,
            request: self.request.clone(),
            kind: self.kind.map(|k| k.name().to_string()),
            pro_days: self.pro_days,
            capacity_tb: self.capacity_tb,
            license_id: self.license_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An array as it syncs: its whole state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayRecord {
    pub id: ArrayId,
    pub account_id: AccountId,
    pub name: String,
    pub product: String,
    pub cluster: Option<Uuid>,
    pub request: Option<String>,
    /// "Eval", "Dev" or "Pro"; none while unassigned.
    pub kind: Option<String>,
    pub pro_days: Option<u32>,
    pub capacity_tb: u32,
    pub license_id: Option<LicenseId>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "seq, id, account_id, name, product, cluster, request, kind, pro_days, \
                       capacity_tb, license_id, created_at, updated_at";

fn uuid_of(bytes: Option<Vec<u8>>, column: usize) -> rusqlite::Result<Option<Uuid>> {
    bytes
        .map(|b| {
            Uuid::from_slice(&b).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    column,
                    rusqlite::types::Type::Blob,
                    Box::new(e),
                )
            })
        })
        .transpose()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ArrayRow> {
    let kind: Option<String> = row.get("kind")?;
    let kind = match kind {
        None => None,
        Some(word) => Some(parse_kind(&word).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                7,
                rusqlite::types::Type::Text,
                format!("unknown license kind '{word}'").into(),
            )
        })?),
    };
    let count = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    Ok(ArrayRow {
        seq: row.get("seq")?,
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        product: row.get("product")?,
        cluster: uuid_of(row.get("cluster")?, 5)?,
        request: row.get("request")?,
        kind,
        pro_days: count(row.get("pro_days")?),
        capacity_tb: count(row.get("capacity_tb")?).unwrap_or(0),
        license_id: row.get("license_id")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn duplicate(name: &str) -> StoreError {
    StoreError::Duplicate {
        what: "array name",
        value: name.to_string(),
    }
}

fn not_found(id: ArrayId) -> StoreError {
    StoreError::NotFound {
        what: "array",
        id: id.to_string(),
    }
}

/// Stores a new array (and its outbox row); returns it with its sequence number.
pub fn insert(tx: &Transaction<'_>, array: &ArrayRow, now: i64) -> StoreResult<ArrayRow> {
    tx.execute(
        "INSERT INTO arrays (id, account_id, name, product, cluster, request, kind, pro_days,
             capacity_tb, license_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            array.id,
            array.account_id,
            array.name,
            array.product,
            array.cluster.map(|c| c.as_bytes().to_vec()),
            array.request,
            array.kind.map(LicenseKind::name),
            array.pro_days,
            array.capacity_tb,
            array.license_id,
            array.created_at,
            array.updated_at,
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            duplicate(&array.name)
        } else {
            e.into()
        }
    })?;
    let stored = ArrayRow {
        seq: tx.last_insert_rowid(),
        ..array.clone()
    };
    outbox::record(tx, &Change::Array(stored.record()), now)?;
    Ok(stored)
}

/// Saves every changeable column of `array` (and its outbox row).
pub fn update(tx: &Transaction<'_>, array: &ArrayRow, now: i64) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE arrays SET name = ?2, product = ?3, cluster = ?4, request = ?5, kind = ?6,
                 pro_days = ?7, capacity_tb = ?8, license_id = ?9, updated_at = ?10
             WHERE id = ?1",
            params![
                array.id,
                array.name,
                array.product,
                array.cluster.map(|c| c.as_bytes().to_vec()),
                array.request,
                array.kind.map(LicenseKind::name),
                array.pro_days,
                array.capacity_tb,
                array.license_id,
                array.updated_at,
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                duplicate(&array.name)
            } else {
                e.into()
            }
        })?;
    if changed == 0 {
        return Err(not_found(array.id));
    }
    outbox::record(tx, &Change::Array(array.record()), now)?;
    Ok(())
}

/// Deletes an array (the caller gave back what it held and withdrew its serial).
pub fn delete(tx: &Transaction<'_>, id: ArrayId, now: i64) -> StoreResult<()> {
    if tx.execute("DELETE FROM arrays WHERE id = ?1", [id])? == 0 {
        return Err(not_found(id));
    }
    outbox::record(tx, &Change::ArrayDeleted { id }, now)?;
    Ok(())
}

/// One array by id.
pub fn get(conn: &Connection, id: ArrayId) -> StoreResult<Option<ArrayRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM arrays WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// True when another array of `account_id` (not `except`) has this name, without regard to case.
pub fn name_taken(
    conn: &Connection,
    account_id: AccountId,
    name: &str,
    except: Option<ArrayId>,
) -> StoreResult<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM arrays WHERE account_id = ?1 AND name = ?2 COLLATE NOCASE",
    )?;
    let found: Option<ArrayId> = stmt
        .query_row(params![account_id, name.trim()], |r| r.get(0))
        .optional()?;
    Ok(found.is_some_and(|id| Some(id) != except))
}

/// A page of `account_id`'s arrays by name: `limit` after `after_name` (keyset; names are
/// unique per account), or from `offset`.
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    after_name: Option<&str>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<ArrayRow>> {
    let rows = match after_name {
        Some(after) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM arrays WHERE account_id = ?1 AND name > ?2
                 ORDER BY name LIMIT ?3"
            ))?;
            stmt.query_map(params![account_id, after, super::limit(limit)], from_row)?
                .collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM arrays WHERE account_id = ?1 ORDER BY name LIMIT ?2 OFFSET ?3"
            ))?;
            stmt.query_map(
                params![
                    account_id,
                    super::limit(limit),
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
                from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(rows)
}

/// How many arrays `account_id` has.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM arrays WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

/// The array whose current serial is `license_id`, if any.
pub fn by_license(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<ArrayRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM arrays WHERE license_id = ?1"),
            [license_id],
            from_row,
        )
        .optional()?)
}

/// The first Eval license ever issued for `cluster` (an Eval is given once per cluster), with
/// its issue time.
pub fn eval_license_for(conn: &Connection, cluster: Uuid) -> StoreResult<Option<(LicenseId, i64)>> {
    Ok(conn
        .query_row(
            "SELECT license_id, issued_at FROM licenses WHERE cluster = ?1 AND kind = 'Eval'
             ORDER BY issued_at LIMIT 1",
            [cluster.as_bytes().as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The serial that stands for `license_id` now: the license itself, or the successor a
/// renewal issued for it (renewals supersede the old license with a new one).
pub fn current_license(
    conn: &Connection,
    license_id: LicenseId,
) -> StoreResult<Option<super::licenses::LicenseRow>> {
    let mut id = license_id;
    // A chain of renewals is short; the bound only guards against a damaged table.
    for _ in 0..64 {
        let next: Option<LicenseId> = conn
            .query_row(
                "SELECT new_license_id FROM renewals WHERE old_license_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match next {
            Some(next) => id = next,
            None => break,
        }
    }
    super::licenses::get(conn, id)
}

/// The term, in days from `today`, of the Pro licenses last bought into `account_id`'s wallet:
/// the Pro line of the order its latest "bought" entry came from. `None` when that is not
/// known (no Pro bought, or bought by another way than an order of this desk).
pub fn latest_pro_term_days(
    conn: &Connection,
    account_id: AccountId,
    today: chrono::NaiveDate,
) -> StoreResult<Option<u32>> {
    let reference: Option<String> = conn
        .query_row(
            "SELECT reference FROM wallet_entries
             WHERE account_id = ?1 AND kind = 'entitlement' AND product = 'pro_license'
               AND movement = 'bought'
             ORDER BY seq DESC LIMIT 1",
            [account_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(reference) = reference else {
        return Ok(None);
    };
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM orders WHERE number = ?1 AND account_id = ?2",
            params![reference, account_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(body) = body else {
        return Ok(None);
    };
    let order: crate::commerce::documents::Order = super::commerce::from_json("order", &body)?;
    let line = order
        .document()
        .lines
        .iter()
        .find(|l| l.product == crate::commerce::catalog::Product::ProLicense);
    Ok(line.and_then(|l| {
        let end = l.term.end_after(today, l.terms.max(1)).ok()?;
        u32::try_from((end - today).num_days()).ok()
    }))
}

/// An array that holds a Pro license from its wallet but has no serial yet: the license
/// list's "Ordered" state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedArray {
    pub seq: i64,
    pub array_id: ArrayId,
    pub account_id: AccountId,
    pub account_name: String,
    pub array_name: String,
    pub product: String,
    pub cluster: Option<Uuid>,
    pub capacity_tb: u32,
    /// The term the serial will have, in days.
    pub pro_days: Option<u32>,
    /// When the Pro license was taken from the wallet (the array's last change).
    pub since: i64,
}

/// How many arrays are "Ordered" (of one account, or of all). Reads the partial index
/// `arrays_ordered` only.
pub fn ordered_count(conn: &Connection, account_id: Option<AccountId>) -> StoreResult<u64> {
    Ok(match account_id {
        Some(account) => conn.query_row(
            "SELECT count(*) FROM arrays WHERE account_id = ?1 AND kind = 'Pro'
             AND license_id IS NULL",
            [account],
            |r| r.get(0),
        )?,
        None => conn.query_row(
            "SELECT count(*) FROM arrays WHERE kind = 'Pro' AND license_id IS NULL",
            [],
            |r| r.get(0),
        )?,
    })
}

/// "Ordered" arrays (of one account, or of all) in the order they were created: `limit` after
/// the one with sequence `after_seq` (keyset).
pub fn ordered_page(
    conn: &Connection,
    account_id: Option<AccountId>,
    after_seq: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<OrderedArray>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.seq, a.id, a.account_id, c.name, a.name, a.product, a.cluster, a.capacity_tb,
                a.pro_days, a.updated_at
         FROM arrays a JOIN accounts c ON c.id = a.account_id
         WHERE a.kind = 'Pro' AND a.license_id IS NULL AND a.seq > ?1
           AND (?2 IS NULL OR a.account_id = ?2)
         ORDER BY a.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![after_seq.unwrap_or(0), account_id, super::limit(limit)],
        |r| {
            Ok(OrderedArray {
                seq: r.get(0)?,
                array_id: r.get(1)?,
                account_id: r.get(2)?,
                account_name: r.get(3)?,
                array_name: r.get(4)?,
                product: r.get(5)?,
                cluster: uuid_of(r.get(6)?, 6)?,
                capacity_tb: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
                pro_days: r
                    .get::<_, Option<i64>>(8)?
                    .and_then(|d| u32::try_from(d).ok()),
                since: r.get(9)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
