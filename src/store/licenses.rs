//! Issued licenses repository.
//!
//! A license is stored as the columns of its signed payload plus its 64-byte signature: its
//! canonical bytes (what the serial and the license file carry, and what the ledger hashes)
//! are re-encoded from them, so nothing is kept twice. A license whose payload the columns
//! cannot hold exactly (version 1 licenses, a machine binding, features with a comma) keeps
//! its bytes in `artifact` instead, beside columns that repeat what they say; the ledger check
//! compares the two. Product and customer names are kept once in `license_names`.
//!
//! The list's indexes and its trigram search cover only rows marked `listed`. A single
//! license is listed in the transaction that stores it; a bulk issue stores its licenses
//! unlisted (so the signing loop pays for the row, its ledger entry and three indexes only),
//! records each committed range in `licenses_unlisted`, and [`list_pending`] lists them right
//! after, in transactions of their own.

use super::outbox::{self, Change, LicenseRecord};
use super::sql::SqlKeyId;
use super::{StoreError, StoreResult};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::license_status::LicenseStatus;
use licensekey::{KeyId, LicenseKind, LicensePayload, SignedLicense};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;
use std::net::IpAddr;

/// An issued license as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRow {
    pub seq: i64,
    pub license_id: LicenseId,
    pub key_id: KeyId,
    pub account_id: Option<AccountId>,
    pub product: String,
    pub kind: String,
    pub customer: String,
    pub cluster: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub capacity_tb: i64,
    pub seats: i64,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub status: LicenseStatus,
    /// Months of the purchase term behind the license (a renewal or an order), if any.
    pub order_months: Option<u32>,
    /// True once the license is in the list's indexes.
    pub listed: bool,
    /// True when the columns hold the whole payload (the bytes below are re-encoded from
    /// them); false when the signed bytes are stored as they are.
    pub compact: bool,
    /// Canonical bytes of the signed license.
    pub artifact: Vec<u8>,
}

impl LicenseRow {
    /// The signed license, parsed back from its bytes.
    pub fn signed(&self) -> Option<SignedLicense> {
        SignedLicense::from_bytes(&self.artifact).ok()
    }

    /// The first column that differs from what the signed payload says, if any. (For a
    /// compact row the bytes are made from the columns, so they always agree; an edited
    /// column shows as a changed license instead.)
    pub fn column_differing_from(&self, p: &LicensePayload) -> Option<&'static str> {
        let checks = [
            ("license_id", self.license_id.0 == p.license_id),
            ("key_id", self.key_id == p.key_id),
            ("product", self.product == p.product),
            ("kind", self.kind == p.kind.name()),
            ("customer", self.customer == p.customer),
            ("cluster", self.cluster == p.binding.cluster),
            ("ip", self.ip == p.binding.ip.map(|ip| ip.to_string())),
            ("capacity_tb", self.capacity_tb == i64::from(p.capacity_tb)),
            ("seats", self.seats == i64::from(p.seats)),
            ("issued_at", self.issued_at == p.issued_at),
            ("expires_at", self.expires_at == p.expires_at),
        ];
        checks.into_iter().find(|(_, same)| !same).map(|(c, _)| c)
    }

    /// The serial key (the canonical text form of the signed bytes).
    pub fn serial(&self) -> StoreResult<String> {
        self.signed().map(|l| l.to_serial()).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the stored bytes of license {} do not parse",
                self.license_id
            ))
        })
    }

    fn sync_record(&self) -> StoreResult<LicenseRecord> {
        Ok(LicenseRecord {
            license_id: self.license_id,
            account_id: self.account_id,
            serial: self.serial()?,
            status: self.status.as_str().to_string(),
        })
    }

    /// The change a later state of the license syncs as.
    fn record(&self) -> StoreResult<Change> {
        Ok(Change::License(self.sync_record()?))
    }
}

/// Every column a license row is read with: `(name, expression over alias "l")`.
const COLUMNS: [(&str, &str); 22] = [
    ("seq", "l.seq"),
    ("license_id", "l.license_id"),
    (
        "account_id",
        "(SELECT ac.id FROM accounts ac WHERE ac.seq = l.account_seq)",
    ),
    ("status", "l.status"),
    ("expires_at", "l.expires_at"),
    ("order_months", "l.order_months"),
    ("listed", "l.listed"),
    (
        "product",
        "(SELECT ln.name FROM license_names ln WHERE ln.id = l.product_id)",
    ),
    (
        "customer",
        "(SELECT ln.name FROM license_names ln WHERE ln.id = l.customer_id)",
    ),
    ("kind", "l.kind"),
    ("cluster", "l.cluster"),
    ("ip", "l.ip"),
    (
        "key_id",
        "(SELECT lk.key_id FROM license_keys lk WHERE lk.id = l.key_ref)",
    ),
    ("capacity_tb", "l.capacity_tb"),
    ("seats", "l.seats"),
    ("issued_at", "l.issued_at"),
    ("not_before", "l.not_before"),
    ("support_until", "l.support_until"),
    ("grace_days", "l.grace_days"),
    (
        "features",
        "(SELECT lf.features FROM license_features lf WHERE lf.id = l.features_id)",
    ),
    ("signature", "l.signature"),
    ("artifact", "l.artifact"),
];

/// The license columns of the table aliased `table`, named with `prefix` (`c.seq AS c_seq,
/// ...`), for a join; read them back with [`read_row`].
pub(super) fn aliased_columns(table: &str, prefix: &str) -> String {
    COLUMNS
        .iter()
        .map(|(name, expr)| {
            // Only the license columns are qualified with "l."; the name lookups use "ln".
            let expr = expr.replace("l.", &format!("{table}."));
            format!("{expr} AS {prefix}{name}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn select() -> String {
    format!("SELECT {} FROM licenses l", aliased_columns("l", ""))
}

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Blob, message.into())
}

/// Reads a license whose columns carry `prefix` (as named by [`aliased_columns`]).
pub(super) fn read_row(row: &Row<'_>, prefix: &str) -> rusqlite::Result<LicenseRow> {
    let get = |name: &str| format!("{prefix}{name}");
    let cluster: Option<Vec<u8>> = row.get(get("cluster").as_str())?;
    let cluster = match cluster {
        None => None,
        Some(bytes) => {
            Some(uuid::Uuid::from_slice(&bytes).map_err(|e| conversion(10, e.to_string()))?)
        }
    };
    let status: String = row.get(get("status").as_str())?;
    let status = LicenseStatus::parse(&status)
        .ok_or_else(|| conversion(3, format!("unknown license status '{status}'")))?;
    let order_months: Option<i64> = row.get(get("order_months").as_str())?;
    let mut license = LicenseRow {
        seq: row.get(get("seq").as_str())?,
        license_id: row.get(get("license_id").as_str())?,
        key_id: row.get::<_, SqlKeyId>(get("key_id").as_str())?.0,
        account_id: row.get(get("account_id").as_str())?,
        product: row
            .get::<_, Option<String>>(get("product").as_str())?
            .ok_or_else(|| conversion(7, "the product name is missing".into()))?,
        kind: row.get(get("kind").as_str())?,
        customer: row
            .get::<_, Option<String>>(get("customer").as_str())?
            .ok_or_else(|| conversion(8, "the customer name is missing".into()))?,
        cluster,
        ip: row.get(get("ip").as_str())?,
        capacity_tb: row.get(get("capacity_tb").as_str())?,
        seats: row.get(get("seats").as_str())?,
        issued_at: row.get(get("issued_at").as_str())?,
        expires_at: row.get(get("expires_at").as_str())?,
        status,
        order_months: order_months.and_then(|m| u32::try_from(m).ok()),
        listed: row.get::<_, Option<i64>>(get("listed").as_str())?.is_some(),
        compact: false,
        artifact: Vec::new(),
    };
    let artifact: Option<Vec<u8>> = row.get(get("artifact").as_str())?;
    match artifact {
        Some(bytes) => license.artifact = bytes,
        None => {
            let signature: Vec<u8> = row.get(get("signature").as_str())?;
            let signature: [u8; 64] = signature
                .try_into()
                .map_err(|_| conversion(20, "the signature is not 64 bytes".into()))?;
            let rest = Rest {
                not_before: row.get(get("not_before").as_str())?,
                support_until: row.get(get("support_until").as_str())?,
                grace_days: row.get(get("grace_days").as_str())?,
                features: row.get(get("features").as_str())?,
            };
            license.artifact = reconstruct(&license, &rest, &signature)
                .map_err(|e| conversion(20, format!("the license cannot be re-encoded: {e}")))?;
            license.compact = true;
        }
    }
    Ok(license)
}

/// The payload columns a compact row holds beyond those of [`LicenseRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rest {
    /// `None`: the same as `issued_at`.
    not_before: Option<i64>,
    support_until: Option<i64>,
    grace_days: Option<i64>,
    /// Comma-separated, as signed (sorted); `None` when there are none.
    features: Option<String>,
}

/// The canonical bytes of a compact license: its payload encoded from the columns, then the
/// signature.
fn reconstruct(row: &LicenseRow, rest: &Rest, signature: &[u8; 64]) -> Result<Vec<u8>, String> {
    let kind = match row.kind.as_str() {
        "Eval" => LicenseKind::Eval,
        "Dev" => LicenseKind::Dev,
        "Pro" => LicenseKind::Pro,
        other => return Err(format!("unknown kind '{other}'")),
    };
    let mut p = LicensePayload::new(
        row.license_id.0,
        row.product.clone(),
        kind,
        row.customer.clone(),
        row.issued_at,
    );
    p.key_id = row.key_id;
    p.binding.cluster = row.cluster;
    p.binding.ip = match &row.ip {
        None => None,
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| format!("'{text}' is not an IP address"))?,
        ),
    };
    p.capacity_tb = u32::try_from(row.capacity_tb).map_err(|_| "capacity out of range")?;
    p.seats = u32::try_from(row.seats).map_err(|_| "seats out of range")?;
    p.features = rest
        .features
        .as_deref()
        .map(|f| f.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    p.not_before = rest.not_before.unwrap_or(row.issued_at);
    p.expires_at = row.expires_at;
    p.support_until = rest.support_until;
    p.grace_days = u16::try_from(rest.grace_days.unwrap_or(0)).map_err(|_| "grace out of range")?;
    let mut bytes = p.encode().map_err(|e| e.to_string())?;
    bytes.extend_from_slice(signature);
    Ok(bytes)
}

/// What licenses share, each kept once and named by number in their rows: product and
/// customer names, features lists, signing key ids, and the row numbers of their accounts.
/// Remembers the numbers it has seen. Names it adds join the names' trigram search when
/// [`SharedValues::index_new`] runs, once per transaction: an FTS5 table flushes its pending
/// terms at every statement that touches it, so one insert per name (a trigger) made a bulk
/// issue of new customers write and merge a segment per license.
#[derive(Debug, Default)]
pub struct SharedValues {
    seen: HashMap<String, i64>,
    added: Vec<i64>,
    features: HashMap<String, i64>,
    keys: HashMap<KeyId, i64>,
    accounts: HashMap<AccountId, i64>,
}

impl SharedValues {
    /// The row number of an account (licenses name their account by it); an account that is
    /// not here is refused.
    fn account_seq(
        &mut self,
        tx: &Transaction<'_>,
        account: Option<AccountId>,
    ) -> StoreResult<Option<i64>> {
        let Some(account) = account else {
            return Ok(None);
        };
        if let Some(seq) = self.accounts.get(&account) {
            return Ok(Some(*seq));
        }
        let seq = account_seq(tx, account)?;
        self.accounts.insert(account, seq);
        Ok(Some(seq))
    }

    /// The id of a features list in `license_features`, adding it when new.
    fn features_id(&mut self, tx: &Transaction<'_>, features: &str) -> StoreResult<i64> {
        if let Some(id) = self.features.get(features) {
            return Ok(*id);
        }
        let id = shared_value(tx, "license_features", "features", &features)?;
        self.features.insert(features.to_string(), id);
        Ok(id)
    }

    /// The id of a signing key id in `license_keys`, adding it when new.
    fn key_ref(&mut self, tx: &Transaction<'_>, key: KeyId) -> StoreResult<i64> {
        if let Some(id) = self.keys.get(&key) {
            return Ok(*id);
        }
        let id = shared_value(tx, "license_keys", "key_id", &SqlKeyId(key))?;
        self.keys.insert(key, id);
        Ok(id)
    }

    /// The id of `name`, adding it when new.
    pub fn name_id(&mut self, tx: &Transaction<'_>, name: &str) -> StoreResult<i64> {
        if let Some(id) = self.seen.get(name) {
            return Ok(*id);
        }
        let found: Option<i64> = tx
            .prepare_cached("SELECT id FROM license_names WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                tx.prepare_cached("INSERT INTO license_names (name) VALUES (?1)")?
                    .execute([name])?;
                let id = tx.last_insert_rowid();
                self.added.push(id);
                id
            }
        };
        if self.seen.len() > 200_000 {
            self.seen.clear();
        }
        self.seen.insert(name.to_string(), id);
        Ok(id)
    }

    /// Adds the names added since the last call to the names' search, in one statement; runs
    /// in the transaction that added them, before it commits.
    pub fn index_new(&mut self, tx: &Transaction<'_>) -> StoreResult<()> {
        if self.added.is_empty() {
            return Ok(());
        }
        let ids: Vec<rusqlite::types::Value> = self
            .added
            .drain(..)
            .map(rusqlite::types::Value::Integer)
            .collect();
        tx.prepare_cached(
            "INSERT INTO license_names_search (rowid, name)
             SELECT id, name FROM license_names WHERE id IN rarray(?1)",
        )?
        .execute([std::rc::Rc::new(ids)])?;
        Ok(())
    }
}

/// A signed license made ready to store: its bytes, their hash and whether its columns can
/// hold it. Made where it was signed (bulk issue prepares on the signing threads, so the
/// writer only binds values).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub license: SignedLicense,
    /// `payload || signature`.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes` (what the ledger's issue entry covers).
    pub hash: [u8; 32],
    rest: Option<Rest>,
}

impl Prepared {
    /// Prepares `license`: hashes its bytes and checks that re-encoding its columns gives
    /// them back byte for byte (else it will be stored as bytes).
    pub fn new(license: SignedLicense) -> Self {
        let bytes = license.to_bytes();
        let hash = crate::domain::ledger_chain::artifact_hash(&bytes);
        let rest = compact_rest(&license, &bytes);
        Prepared {
            license,
            bytes,
            hash,
            rest,
        }
    }
}

fn row_of(license: &SignedLicense, account_id: Option<AccountId>) -> LicenseRow {
    let p = license.payload();
    LicenseRow {
        seq: 0,
        license_id: LicenseId(p.license_id),
        key_id: p.key_id,
        account_id,
        product: p.product.clone(),
        kind: p.kind.name().to_string(),
        customer: p.customer.clone(),
        cluster: p.binding.cluster,
        ip: p.binding.ip.map(|ip| ip.to_string()),
        capacity_tb: i64::from(p.capacity_tb),
        seats: i64::from(p.seats),
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        status: LicenseStatus::Active,
        order_months: None,
        listed: false,
        compact: false,
        artifact: Vec::new(),
    }
}

/// The compact columns of `license`, if they re-encode to exactly `bytes`.
fn compact_rest(license: &SignedLicense, bytes: &[u8]) -> Option<Rest> {
    let p = license.payload();
    if p.format_version != licensekey::FORMAT_VERSION
        || p.binding.machine.is_some()
        || !p.binding.legacy_fingerprints.is_empty()
        || p.features.iter().any(|f| f.is_empty() || f.contains(','))
    {
        return None;
    }
    let rest = Rest {
        not_before: (p.not_before != p.issued_at).then_some(p.not_before),
        support_until: p.support_until,
        grace_days: (p.grace_days != 0).then_some(i64::from(p.grace_days)),
        features: (!p.features.is_empty()).then(|| p.features.join(",")),
    };
    let row = row_of(license, None);
    let signature = license.signature();
    (reconstruct(&row, &rest, signature).ok()? == bytes).then_some(rest)
}

/// Stores a prepared license (no outbox row: the caller records one for the batch, or
/// [`insert`] for a single license). `listed` puts it in the list's indexes at once. The
/// caller calls [`SharedValues::index_new`] before its transaction commits.
pub fn insert_prepared(
    tx: &Transaction<'_>,
    names: &mut SharedValues,
    prepared: &Prepared,
    account_id: Option<AccountId>,
    order_months: Option<u32>,
    listed: bool,
) -> StoreResult<i64> {
    let p = prepared.license.payload();
    let product = names.name_id(tx, &p.product)?;
    let customer = names.name_id(tx, &p.customer)?;
    let key_ref = names.key_ref(tx, p.key_id)?;
    let account_seq = names.account_seq(tx, account_id)?;
    let (rest, signature, artifact) = match &prepared.rest {
        Some(rest) => (rest.clone(), Some(&prepared.license.signature()[..]), None),
        None => (
            Rest {
                not_before: None,
                support_until: None,
                grace_days: None,
                features: None,
            },
            None,
            Some(&prepared.bytes[..]),
        ),
    };
    let features_id = match &rest.features {
        Some(features) => Some(names.features_id(tx, features)?),
        None => None,
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO licenses (license_id, account_seq, status, expires_at, order_months, listed,
             product_id, customer_id, kind, cluster, ip, key_ref, capacity_tb, seats, issued_at,
             not_before, support_until, grace_days, features_id, signature, artifact)
         VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
             ?17, ?18, ?19, ?20)",
    )?;
    stmt.execute(params![
        LicenseId(p.license_id),
        account_seq,
        p.expires_at,
        order_months,
        listed.then_some(1),
        product,
        customer,
        p.kind.name(),
        p.binding.cluster.map(|c| c.as_bytes().to_vec()),
        p.binding.ip.map(|ip| ip.to_string()),
        key_ref,
        i64::from(p.capacity_tb),
        i64::from(p.seats),
        p.issued_at,
        rest.not_before,
        rest.support_until,
        rest.grace_days,
        features_id,
        signature,
        artifact,
    ])?;
    let seq = tx.last_insert_rowid();
    if listed {
        index_search(tx, seq, LicenseId(p.license_id), p.binding.ip)?;
    }
    Ok(seq)
}

/// The row number of `account`, which licenses name it by; NotFound when it is not here.
pub(super) fn account_seq(conn: &Connection, account: AccountId) -> StoreResult<i64> {
    conn.prepare_cached("SELECT seq FROM accounts WHERE id = ?1")?
        .query_row([account], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "account",
            id: account.to_string(),
        })
}

/// The id of `value` in `table` (a table of values licenses share, `id` and `column`), adding
/// it when new.
fn shared_value(
    tx: &Transaction<'_>,
    table: &str,
    column: &str,
    value: &dyn rusqlite::ToSql,
) -> StoreResult<i64> {
    let found: Option<i64> = tx
        .prepare_cached(&format!("SELECT id FROM {table} WHERE {column} = ?1"))?
        .query_row([value], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached(&format!("INSERT INTO {table} ({column}) VALUES (?1)"))?
        .execute([value])?;
    Ok(tx.last_insert_rowid())
}

/// Adds one listed license to the trigram search of ids and IP addresses.
fn index_search(
    tx: &Transaction<'_>,
    seq: i64,
    license_id: LicenseId,
    ip: Option<IpAddr>,
) -> StoreResult<()> {
    tx.prepare_cached("INSERT INTO licenses_id_search (rowid, id_hex) VALUES (?1, ?2)")?
        .execute(params![seq, license_id.0.simple().to_string()])?;
    if let Some(ip) = ip {
        tx.prepare_cached("INSERT INTO licenses_ip_search (rowid, ip) VALUES (?1, ?2)")?
            .execute(params![seq, ip.to_string()])?;
    }
    Ok(())
}

/// Stores a freshly signed license, listed, with its outbox row; returns the stored row.
pub fn insert(
    tx: &Transaction<'_>,
    license: &SignedLicense,
    account_id: Option<AccountId>,
    order_months: Option<u32>,
    now: i64,
) -> StoreResult<LicenseRow> {
    let prepared = Prepared::new(license.clone());
    let mut names = SharedValues::default();
    let seq = insert_prepared(tx, &mut names, &prepared, account_id, order_months, true)?;
    names.index_new(tx)?;
    let row = LicenseRow {
        seq,
        order_months,
        listed: true,
        compact: prepared.rest.is_some(),
        artifact: prepared.bytes,
        ..row_of(license, account_id)
    };
    outbox::record(tx, &Change::LicenseIssued(row.sync_record()?), now)?;
    Ok(row)
}

/// Stores a license another desk issued (sync), listed, in `status`, naming that desk as its
/// origin; no outbox row and no ledger entry here: it is in the issuing desk's ledger.
pub fn insert_pulled(
    tx: &Transaction<'_>,
    license: &SignedLicense,
    account_id: Option<AccountId>,
    status: LicenseStatus,
    origin: crate::domain::ids::DeskId,
) -> StoreResult<()> {
    let prepared = Prepared::new(license.clone());
    let mut names = SharedValues::default();
    let seq = insert_prepared(tx, &mut names, &prepared, account_id, None, true)?;
    names.index_new(tx)?;
    tx.prepare_cached("UPDATE licenses SET status = ?2, origin = ?3 WHERE seq = ?1")?
        .execute(params![seq, status.as_str(), origin])?;
    Ok(())
}

/// The desk that issued a license: `Some(None)` for this desk, `Some(Some(desk))` for another
/// desk's, `None` when the license is not here.
pub fn origin(
    conn: &Connection,
    license_id: LicenseId,
) -> StoreResult<Option<Option<crate::domain::ids::DeskId>>> {
    Ok(conn
        .prepare_cached("SELECT origin FROM licenses WHERE license_id = ?1")?
        .query_row([license_id], |r| r.get(0))
        .optional()?)
}

/// Why this desk may not change a license, when another desk issued it (only the issuing
/// desk changes a license: its ledger holds the license's history); None for its own.
pub fn issued_elsewhere(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<String>> {
    Ok(match origin(conn, license_id)? {
        Some(Some(desk)) => Some(format!(
            "license {license_id} was issued on another desk ({desk}): only that desk changes it"
        )),
        _ => None,
    })
}

/// Records that the rows `from_seq..=to_seq` (one bulk transaction's) wait to be listed.
pub fn mark_unlisted(tx: &Transaction<'_>, from_seq: i64, to_seq: i64) -> StoreResult<()> {
    tx.prepare_cached("INSERT INTO licenses_unlisted (from_seq, to_seq) VALUES (?1, ?2)")?
        .execute(params![from_seq, to_seq])?;
    Ok(())
}

/// True when the desk holds a deleted license (the list hides them unless asked).
pub fn any_deleted(conn: &Connection) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM licenses WHERE status <> 'active' AND status = 'deleted')",
        [],
        |r| r.get(0),
    )?)
}

/// How many committed licenses the list has not taken in yet.
pub fn unlisted_count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(to_seq - from_seq + 1), 0) FROM licenses_unlisted",
        [],
        |r| r.get(0),
    )?)
}

/// Lists up to `max` waiting licenses (oldest first) in the caller's transaction: marks
/// them listed (which puts them in the list's indexes) and adds them to the trigram search.
/// Returns how many were listed.
pub fn list_pending(tx: &Transaction<'_>, max: u64) -> StoreResult<u64> {
    let mut done = 0u64;
    while done < max {
        let range: Option<(i64, i64)> = tx
            .query_row(
                "SELECT from_seq, to_seq FROM licenses_unlisted ORDER BY from_seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((from, to)) = range else { break };
        let room = i64::try_from(max - done).unwrap_or(i64::MAX);
        let last = to.min(from.saturating_add(room - 1));
        tx.execute(
            "UPDATE licenses SET listed = 1 WHERE seq BETWEEN ?1 AND ?2 AND listed IS NULL",
            params![from, last],
        )?;
        tx.execute(
            "INSERT INTO licenses_id_search (rowid, id_hex)
             SELECT seq, lower(hex(license_id)) FROM licenses WHERE seq BETWEEN ?1 AND ?2",
            params![from, last],
        )?;
        tx.execute(
            "INSERT INTO licenses_ip_search (rowid, ip)
             SELECT seq, ip FROM licenses WHERE seq BETWEEN ?1 AND ?2 AND ip IS NOT NULL",
            params![from, last],
        )?;
        tx.execute("DELETE FROM licenses_unlisted WHERE from_seq = ?1", [from])?;
        if last < to {
            mark_unlisted(tx, last + 1, to)?;
        }
        done += u64::try_from(last - from + 1).unwrap_or(0);
    }
    Ok(done)
}

/// Changes a license's status (the caller checked the state machine and appends the ledger
/// entry that says so).
pub fn set_status(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    status: LicenseStatus,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE licenses SET status = ?2 WHERE license_id = ?1",
        params![license_id, status.as_str()],
    )?;
    let row = get(tx, license_id)?.ok_or_else(|| not_found(license_id))?;
    outbox::record(tx, &row.record()?, now)?;
    Ok(())
}

/// Sets the months of the purchase term behind a license (a renewal or an order).
pub fn set_order_months(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    months: Option<u32>,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE licenses SET order_months = ?2 WHERE license_id = ?1",
        params![license_id, months],
    )?;
    Ok(())
}

fn not_found(license_id: LicenseId) -> StoreError {
    StoreError::NotFound {
        what: "license",
        id: license_id.to_string(),
    }
}

/// One license by id.
pub fn get(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<LicenseRow>> {
    Ok(conn
        .prepare_cached(&format!("{} WHERE l.license_id = ?1", select()))?
        .query_row([license_id], |r| read_row(r, ""))
        .optional()?)
}

/// One license by its row number.
pub fn by_seq(conn: &Connection, seq: i64) -> StoreResult<Option<LicenseRow>> {
    Ok(conn
        .prepare_cached(&format!("{} WHERE l.seq = ?1", select()))?
        .query_row([seq], |r| read_row(r, ""))
        .optional()?)
}

/// The newest licenses first: a page of `limit` before `before_seq` (keyset paging), or
/// skipping `offset` from the newest (a jump far down the list).
pub fn recent(
    conn: &Connection,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<LicenseRow>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE l.seq < ?1 ORDER BY l.seq DESC LIMIT ?2 OFFSET ?3",
        select()
    ))?;
    let rows = stmt.query_map(
        params![
            before_seq.unwrap_or(i64::MAX),
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        |r| read_row(r, ""),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves a license to another account (or to none); the caller appends the ledger entry.
pub fn set_account(
    tx: &Transaction<'_>,
    license_id: LicenseId,
    account_id: Option<AccountId>,
    now: i64,
) -> StoreResult<()> {
    let account_seq = match account_id {
        Some(account) => Some(account_seq(tx, account)?),
        None => None,
    };
    tx.execute(
        "UPDATE licenses SET account_seq = ?2 WHERE license_id = ?1",
        params![license_id, account_seq],
    )?;
    let row = get(tx, license_id)?.ok_or_else(|| not_found(license_id))?;
    outbox::record(tx, &row.record()?, now)?;
    Ok(())
}

/// Ids of every license this desk issued that its published revocation list must name
/// (suspended, revoked or deleted), ascending. (Another desk's licenses are on that desk's
/// lists, signed by its keys.)
pub fn listed_as_revoked(conn: &Connection) -> StoreResult<Vec<LicenseId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT license_id FROM licenses
         WHERE status <> 'active' AND status IN ('suspended', 'revoked', 'deleted')
           AND origin IS NULL
         ORDER BY license_id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of licenses this desk issued (those in its ledger).
pub fn count(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM licenses)
              - (SELECT count(*) FROM licenses WHERE origin IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// The row number a license id has, if it was issued here.
pub fn seq_of(conn: &Connection, license_id: LicenseId) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM licenses WHERE license_id = ?1")?
        .query_row([license_id], |r| r.get(0))
        .optional()?)
}
