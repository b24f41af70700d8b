//! The license list over a million rows: every filter and sort of the Licenses panel as an
//! indexed query, keyset-paged, with a position directory for jumps far down the list.
//!
//! How a page is read:
//!
//! - Each sort is a short list of *segments*, each walked by one index in one order (a sort
//!   by IP lists the licenses with an IP by the IP index, then those without one by row
//!   number). A page continues from the last row it showed (keyset), crossing into the next
//!   segment when one ends.
//! - A filter that can narrow the list to a few rows is *probed* first, once per query: the
//!   trigram search of ids, IP addresses and names (product, customer), or the index of an
//!   order period, a state, an expiry range or an account, each asked for at most
//!   [`FEW`] + 1 rows. When one finds at most [`FEW`], the page is read from exactly those
//!   rows (sorted by their keys alone, a few thousand at most, then only the page's rows
//!   read whole); otherwise the filter is common, and walking the sort's index with every
//!   filter as a row test fills a page at once.
//!   Filter tests are written `+column` so SQLite never trades the sort's index for a
//!   filter's index (which would sort a large match).
//! - A jump far down a large list needs the row at a position: the worker builds a
//!   [`Directory`] (the key of every [`STRIDE`]th row, and the exact count) once per query;
//!   until it arrives, the list shows placeholders there rather than scanning from the top.

use super::StoreResult;
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::license_filter::LicenseFilter;
use crate::domain::license_status::LicenseStatus;
use rusqlite::types::Value;
use rusqlite::vtab::array::Array;
use rusqlite::{Connection, Row};
use std::cell::RefCell;
use std::rc::Rc;

/// A probe that finds at most this many rows makes them the list's source.
pub const FEW: usize = 3_000;
/// The directory keeps the key of every this-many-th row.
pub const STRIDE: u64 = 256;
/// How far down a list is read by plain OFFSET when there is no directory yet.
pub const NEAR: u64 = 4_000;

/// The columns of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortColumn {
    /// The license id; UUIDv7 ids sort by issue time.
    #[default]
    Id,
    Name,
    Ip,
    Software,
    OrderPeriod,
    Expiry,
    Status,
}

impl SortColumn {
    /// Every column, in the list's order.
    pub const ALL: [SortColumn; 7] = [
        SortColumn::Id,
        SortColumn::Name,
        SortColumn::Ip,
        SortColumn::Software,
        SortColumn::OrderPeriod,
        SortColumn::Expiry,
        SortColumn::Status,
    ];

    /// The column's title.
    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Id => "ID",
            SortColumn::Name => "Name",
            SortColumn::Ip => "IP",
            SortColumn::Software => "Software",
            SortColumn::OrderPeriod => "Order period",
            SortColumn::Expiry => "Expiry",
            SortColumn::Status => "Status",
        }
    }
}

/// A sort: a column and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first (ids are time-ordered).
    fn default() -> Self {
        Sort {
            column: SortColumn::Id,
            descending: true,
        }
    }
}

/// Where a row sits in its sort: the segment and the values compared there.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub segment: usize,
    pub values: Vec<Value>,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRow {
    pub seq: i64,
    pub license_id: LicenseId,
    pub customer: String,
    pub product: String,
    pub ip: Option<String>,
    pub kind: String,
    pub order_months: Option<u32>,
    pub expires_at: Option<i64>,
    pub status: LicenseStatus,
    pub account_id: Option<AccountId>,
    pub key: Key,
}

/// Order periods as filters name them.
pub fn order_months(period: &str) -> Option<Option<u32>> {
    match period.trim().to_ascii_lowercase().as_str() {
        "monthly" => Some(Some(1)),
        "quarterly" => Some(Some(3)),
        "annual" => Some(Some(12)),
        "triennial" | "3 years" => Some(Some(36)),
        "none" | "—" => Some(None),
        _ => None,
    }
}

/// How an order period is shown ("—" for none).
pub fn order_period_label(months: Option<u32>) -> String {
    match months {
        None => "—".into(),
        Some(1) => "Monthly".into(),
        Some(3) => "Quarterly".into(),
        Some(12) => "Annual".into(),
        Some(36) => "3 years".into(),
        Some(m) => format!("{m} months"),
    }
}

/// How a segment's rows are ordered and which rows it holds.
struct Segment {
    /// Extra FROM (a join) and WHERE for this segment.
    join: &'static str,
    filter: String,
    /// Ordering expressions, ascending, without the direction; unique together.
    order: Vec<&'static str>,
}

fn segments(sort: SortColumn) -> Vec<Segment> {
    let seg = |join: &'static str, filter: &str, order: &[&'static str]| Segment {
        join,
        filter: filter.to_string(),
        order: order.to_vec(),
    };
    match sort {
        SortColumn::Id => vec![seg("", "1", &["l.license_id"])],
        SortColumn::Name => vec![seg(
            "JOIN license_names sk ON sk.id = l.customer_id",
            "1",
            &["sk.name COLLATE NOCASE", "sk.id", "l.seq"],
        )],
        SortColumn::Software => vec![seg(
            "JOIN license_names sk ON sk.id = l.product_id",
            "1",
            &["sk.name COLLATE NOCASE", "sk.id", "l.seq"],
        )],
        SortColumn::Ip => vec![
            seg("", "l.ip IS NOT NULL", &["l.ip", "l.seq"]),
            seg("", "l.ip IS NULL", &["l.seq"]),
        ],
        SortColumn::OrderPeriod => vec![
            seg(
                "",
                "l.order_months IS NOT NULL",
                &["l.order_months", "l.seq"],
            ),
            seg("", "l.order_months IS NULL", &["l.seq"]),
        ],
        SortColumn::Expiry => vec![
            seg("", "l.expires_at IS NOT NULL", &["l.expires_at", "l.seq"]),
            seg("", "l.expires_at IS NULL", &["l.seq"]),
        ],
        // Within a state, by row number; the states other than Active have their own index.
        SortColumn::Status => STATUS_ORDER
            .iter()
            .map(|s| match s {
                LicenseStatus::Active => seg("", "l.status = 'active'", &["l.seq"]),
                other => seg(
                    "",
                    &format!("l.status <> 'active' AND l.status = '{}'", other.as_str()),
                    &["l.seq"],
                ),
            })
            .collect(),
    }
}

/// The order of states in a sort by status.
const STATUS_ORDER: [LicenseStatus; 5] = [
    LicenseStatus::Active,
    LicenseStatus::Suspended,
    LicenseStatus::Revoked,
    LicenseStatus::Superseded,
    LicenseStatus::Deleted,
];

/// A filter's rows when a probe found few of them.
#[derive(Debug, Clone, PartialEq)]
enum Probed {
    /// No filter could narrow the list to a few rows.
    Common,
    /// These rows (row numbers) hold every match.
    Few(Vec<i64>),
}

/// A bound value of a list query: a plain value, or a list of integers for `rarray(?)`.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Value(Value),
    Ids(Vec<i64>),
}

/// An [`Arg`] ready to bind (a list becomes the array `rarray` reads).
enum Bound {
    Value(Value),
    Array(Array),
}

impl rusqlite::ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Bound::Value(v) => v.to_sql(),
            Bound::Array(a) => a.to_sql(),
        }
    }
}

fn bind(args: &[Arg]) -> Vec<Bound> {
    args.iter()
        .map(|a| match a {
            Arg::Value(v) => Bound::Value(v.clone()),
            Arg::Ids(ids) => {
                Bound::Array(Rc::new(ids.iter().copied().map(Value::Integer).collect()))
            }
        })
        .collect()
}

/// A list: a filter, a sort, and the time "Expired" is judged at.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: LicenseFilter,
    pub sort: Sort,
    pub now: i64,
    /// What probing found, kept so every page and the count ask once.
    plan: RefCell<Option<Plan>>,
}

impl PartialEq for ListQuery {
    fn eq(&self, other: &Self) -> bool {
        self.filter == other.filter && self.sort == other.sort && self.now == other.now
    }
}

/// The query's filters as SQL, and what probing found.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// Row tests over alias `l` (always `l.listed = 1`), joined with AND.
    terms: Vec<String>,
    args: Vec<Arg>,
    driver: Probed,
    /// When the list is long: a filter's own indexed query (it yields row numbers as `hit`,
    /// a superset of the list's rows), which a capped count walks instead of every license.
    counter: Option<Source>,
    /// A filter matches nothing (an id with a non-hex character): the list is empty.
    empty: bool,
}

/// The key of every [`STRIDE`]th row of a list, and its exact length: a jump to any position
/// reads at most `STRIDE` rows past a known key.
#[derive(Debug, Clone, PartialEq)]
pub struct Directory {
    pub total: u64,
    /// `keys[k]` is the key of the row at position `(k + 1) * STRIDE - 1`.
    keys: Vec<Key>,
}

// Keys hold integers, text and blobs only (never floats).
impl Eq for Directory {}

impl Directory {
    /// Where to start reading for the row at `position`: after this key, skipping this many.
    pub fn start(&self, position: u64) -> (Option<&Key>, u64) {
        let k = position / STRIDE;
        match k
            .checked_sub(1)
            .and_then(|i| self.keys.get(usize::try_from(i).ok()?))
        {
            Some(key) => (Some(key), position - k * STRIDE),
            None => (None, position),
        }
    }
}

impl ListQuery {
    /// A list of the licenses `filter` lets through, in `sort`, judged at `now`.
    pub fn new(filter: LicenseFilter, sort: Sort, now: i64) -> Self {
        Self {
            filter,
            sort,
            now,
            plan: RefCell::new(None),
        }
    }

    fn plan(&self, conn: &Connection) -> StoreResult<Plan> {
        if let Some(plan) = self.plan.borrow().as_ref() {
            return Ok(plan.clone());
        }
        let plan = self.make_plan(conn)?;
        *self.plan.borrow_mut() = Some(plan.clone());
        Ok(plan)
    }

    /// True when probing found the list short (at most [`FEW`] rows): it is read and counted
    /// exactly, and needs no directory.
    pub fn is_short(&self, conn: &Connection) -> StoreResult<bool> {
        let plan = self.plan(conn)?;
        Ok(plan.empty || matches!(plan.driver, Probed::Few(_)))
    }

    fn make_plan(&self, conn: &Connection) -> StoreResult<Plan> {
        let f = &self.filter;
        let mut terms = vec!["l.listed = 1".to_string()];
        let mut args: Vec<Arg> = Vec::new();
        let mut empty = false;
        let mut smallest: Option<Vec<i64>> = None;
        let mut counter: Option<Source> = None;
        let mut offer = |probed: Probe| match probed {
            Probe::Few(rows) => {
                if smallest.as_ref().is_none_or(|s| rows.len() < s.len()) {
                    smallest = Some(rows);
                }
            }
            Probe::Many(source) => {
                counter.get_or_insert(source);
            }
        };
        let arg = |args: &mut Vec<Arg>, v: Arg| {
            args.push(v);
            format!("?{}", args.len())
        };

        // States: deleted licenses are shown only when asked for.
        if f.statuses.is_empty() {
            terms.push("+l.status <> 'deleted'".into());
        } else {
            let words = f
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            terms.push(format!("+l.status IN ({words})"));
            if !f.statuses.contains(&LicenseStatus::Active) {
                offer(probe(
                    conn,
                    &format!(
                        "SELECT seq AS hit FROM licenses WHERE status <> 'active' AND status IN ({words})"
                    ),
                    &[],
                )?);
            }
        }
        if let Some(at) = f.expired_at {
            let p = arg(&mut args, Arg::Value(Value::Integer(at)));
            terms.push(format!("+l.status = 'active' AND +l.expires_at <= {p}"));
        }
        if let Some(from) = f.expires_from {
            let p = arg(&mut args, Arg::Value(Value::Integer(from)));
            terms.push(format!("+l.expires_at >= {p}"));
        }
        if let Some(until) = f.expires_until {
            let p = arg(&mut args, Arg::Value(Value::Integer(until)));
            terms.push(format!("+l.expires_at < {p}"));
        }
        if f.expires_from.is_some() || f.expires_until.is_some() || f.expired_at.is_some() {
            let until = match (f.expires_until, f.expired_at) {
                (Some(u), Some(e)) => u.min(e.saturating_add(1)),
                (Some(u), None) => u,
                (None, Some(e)) => e.saturating_add(1),
                (None, None) => i64::MAX,
            };
            offer(probe(
                conn,
                "SELECT seq AS hit FROM licenses WHERE expires_at >= ?1 AND expires_at < ?2",
                &[
                    Arg::Value(Value::Integer(f.expires_from.unwrap_or(i64::MIN))),
                    Arg::Value(Value::Integer(until)),
                ],
            )?);
        }
        if let Some(period) = f.order_period.as_deref().filter(|p| !p.trim().is_empty()) {
            match order_months(period) {
                Some(Some(m)) => {
                    let p = arg(&mut args, Arg::Value(Value::Integer(i64::from(m))));
                    terms.push(format!("+l.order_months = {p}"));
                    offer(probe(
                        conn,
                        "SELECT seq AS hit FROM licenses WHERE order_months = ?1 AND listed = 1",
                        &[Arg::Value(Value::Integer(i64::from(m)))],
                    )?);
                }
                Some(None) => terms.push("+l.order_months IS NULL".into()),
                None => empty = true,
            }
        }
        if let Some(account) = f.account {
            // An account that is not here has no licenses.
            let seq = match super::licenses::account_seq(conn, account) {
                Err(super::StoreError::NotFound { .. }) => -1,
                found => found?,
            };
            let seq = Arg::Value(Value::Integer(seq));
            let p = arg(&mut args, seq.clone());
            terms.push(format!("+l.account_seq = {p}"));
            offer(probe(
                conn,
                "SELECT seq AS hit FROM licenses WHERE account_seq = ?1",
                &[seq],
            )?);
        }
        if f.unlinked {
            terms.push("+l.account_seq IS NULL".into());
        }
        if !f.only.is_empty() {
            let ids: Vec<i64> = f
                .only
                .iter()
                .filter_map(|id| super::licenses::seq_of(conn, *id).transpose())
                .collect::<Result<_, _>>()?;
            let p = arg(&mut args, Arg::Ids(ids.clone()));
            terms.push(format!("+l.seq IN rarray({p})"));
            offer(Probe::Few(ids));
        }

        // The license id: hex digits, with or without dashes.
        let id: String =
            f.id.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect::<String>()
                .to_ascii_lowercase();
        if !id.is_empty() {
            if !id.chars().all(|c| c.is_ascii_hexdigit()) || id.len() > 32 {
                empty = true;
            } else if id.len() == 32 {
                let bytes = Arg::Value(Value::Blob(hex::decode(&id).unwrap_or_default()));
                let p = arg(&mut args, bytes.clone());
                terms.push(format!("l.license_id = {p}"));
                offer(probe(
                    conn,
                    "SELECT seq AS hit FROM licenses WHERE license_id = ?1",
                    &[bytes],
                )?);
            } else {
                let p = arg(&mut args, Arg::Value(Value::Text(id.clone())));
                terms.push(format!("instr(lower(hex(l.license_id)), {p}) > 0"));
                if id.len() >= 3 {
                    offer(probe(
                        conn,
                        "SELECT rowid AS hit FROM licenses_id_search WHERE id_hex LIKE ?1",
                        &[Arg::Value(Value::Text(format!("%{id}%")))],
                    )?);
                }
            }
        }
        // The IP address: any part of its text.
        let ip = f.ip.trim();
        if !ip.is_empty() {
            let p = arg(&mut args, Arg::Value(Value::Text(ip.to_string())));
            terms.push(format!("instr(l.ip, {p}) > 0"));
            if ip.chars().count() >= 3 && !has_wildcard(ip) {
                offer(probe(
                    conn,
                    "SELECT rowid AS hit FROM licenses_ip_search WHERE ip LIKE ?1",
                    &[Arg::Value(Value::Text(format!("%{ip}%")))],
                )?);
            }
        }
        // Customer and product names: any part, without regard to case. The row test reads
        // the row's name; the probe walks the matching names (their search streams, so a
        // common text stops after a few hundred names) and each name's licenses.
        for (text, column) in [(&f.name, "customer_id"), (&f.software, "product_id")] {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let matching = NameMatch::new(text);
            let p = arg(&mut args, Arg::Value(Value::Text(matching.pattern.clone())));
            terms.push(format!(
                "(SELECT ln.name FROM license_names ln WHERE ln.id = l.{column}) \
                 LIKE {p} ESCAPE '\\'"
            ));
            offer(probe(
                conn,
                &format!(
                    "SELECT l.seq AS hit FROM {} CROSS JOIN licenses l ON l.{column} = n.rowid
                     WHERE {} AND l.listed = 1",
                    matching.names, matching.test
                ),
                &[Arg::Value(Value::Text(matching.search))],
            )?);
        }
        let driver = match smallest {
            Some(rows) => Probed::Few(rows),
            None => Probed::Common,
        };
        Ok(Plan {
            terms,
            args,
            driver,
            counter,
            empty,
        })
    }

    /// The segments in reading order (reversed when descending).
    fn ordered_segments(&self) -> Vec<Segment> {
        let mut segments = segments(self.sort.column);
        if self.sort.descending {
            segments.reverse();
        }
        segments
    }

    /// Up to `limit` rows: after `start` (keyset) or from the top, skipping `skip` rows first.
    pub fn read(
        &self,
        conn: &Connection,
        start: Option<&Key>,
        skip: u64,
        limit: usize,
    ) -> StoreResult<Vec<ListRow>> {
        let plan = self.plan(conn)?;
        let mut out = Vec::with_capacity(limit);
        if plan.empty || limit == 0 {
            return Ok(out);
        }
        let segments = self.ordered_segments();
        let first = start.map_or(0, |k| k.segment);
        let mut skip = skip;
        for (index, segment) in segments.iter().enumerate().skip(first) {
            let after = start.filter(|k| k.segment == index);
            let want = limit - out.len();
            let page = Shape::Rows { limit: want, skip };
            let (sql, args) = self.segment_sql(&plan, segment, after, page);
            let bound = bind(&args);
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(bound.iter()), |r| {
                    read_row(r, index, segment.order.len())
                })?
                .collect::<Result<Vec<_>, _>>()?;
            if rows.is_empty() && skip > 0 {
                // The skip went past this segment's end: it still counts the segment's rows.
                skip -= self.count_segment(conn, &plan, segment, after, skip)?;
                continue;
            }
            skip = 0;
            out.extend(rows);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Rows of a segment after `after`, counting no further than `cap`.
    fn count_segment(
        &self,
        conn: &Connection,
        plan: &Plan,
        segment: &Segment,
        after: Option<&Key>,
        cap: u64,
    ) -> StoreResult<u64> {
        let (sql, args) = self.segment_sql(plan, segment, after, Shape::Exists);
        let sql = format!(
            "SELECT count(*) FROM ({sql} LIMIT {})",
            i64::try_from(cap).unwrap_or(i64::MAX)
        );
        let bound = bind(&args);
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(bound.iter()), |r| r.get(0))?)
    }

    /// How many rows the list has, counting no further than `cap` (a short list is counted
    /// exactly).
    pub fn count(&self, conn: &Connection, cap: u64) -> StoreResult<u64> {
        let plan = self.plan(conn)?;
        if plan.empty {
            return Ok(0);
        }
        let (from, args, cap) = match (&plan.driver, &plan.counter) {
            (Probed::Few(_), _) => {
                let (from, args) = from_clause(&plan, "");
                (from, args, i64::MAX)
            }
            // A long list is counted along a filter's own index, not by testing every license.
            (Probed::Common, Some(source)) => {
                let mut args = plan.args.clone();
                let sql = renumber(&source.sql, args.len());
                args.extend(source.args.iter().cloned());
                (
                    format!("({sql}) d CROSS JOIN licenses l ON l.seq = d.hit"),
                    args,
                    i64::try_from(cap).unwrap_or(i64::MAX),
                )
            }
            (Probed::Common, None) => {
                let (from, args) = from_clause(&plan, "");
                (from, args, i64::try_from(cap).unwrap_or(i64::MAX))
            }
        };
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {} LIMIT {cap})",
            plan.terms.join(" AND ")
        );
        let bound = bind(&args);
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(bound.iter()), |r| r.get(0))?)
    }

    /// Walks the whole list once, keeping every [`STRIDE`]th key and the exact count.
    /// `progress` gets the rows walked so far and returns false to stop (then `None`).
    pub fn directory(
        &self,
        conn: &Connection,
        mut progress: impl FnMut(u64) -> bool,
    ) -> StoreResult<Option<Directory>> {
        let plan = self.plan(conn)?;
        let mut directory = Directory {
            total: 0,
            keys: Vec::new(),
        };
        if plan.empty {
            return Ok(Some(directory));
        }
        for (index, segment) in self.ordered_segments().iter().enumerate() {
            let (sql, args) = self.segment_sql(&plan, segment, None, Shape::Keys);
            let bound = bind(&args);
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(bound.iter()))?;
            while let Some(row) = rows.next()? {
                directory.total += 1;
                if directory.total.is_multiple_of(STRIDE) {
                    let values = (0..segment.order.len())
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<Result<Vec<_>, _>>()?;
                    directory.keys.push(Key {
                        segment: index,
                        values,
                    });
                }
                if directory.total.is_multiple_of(16_384) && !progress(directory.total) {
                    return Ok(None);
                }
            }
        }
        progress(directory.total);
        Ok(Some(directory))
    }

    /// The SQL of one segment: its rows in order from after `after` (or only its keys, or
    /// only whether rows exist, for counting).
    fn segment_sql(
        &self,
        plan: &Plan,
        segment: &Segment,
        after: Option<&Key>,
        shape: Shape,
    ) -> (String, Vec<Arg>) {
        let (from, mut args) = from_clause(plan, segment.join);
        let mut terms = plan.terms.clone();
        terms.push(segment.filter.clone());
        let dir = if self.sort.descending { "DESC" } else { "ASC" };
        if let Some(key) = after {
            let mut params = Vec::new();
            for value in &key.values {
                args.push(Arg::Value(value.clone()));
                params.push(format!("?{}", args.len()));
            }
            let op = if self.sort.descending { "<" } else { ">" };
            terms.push(format!(
                "({}) {op} ({})",
                segment.order.join(", "),
                params.join(", ")
            ));
        }
        let keys = segment
            .order
            .iter()
            .map(|e| e.replace(" COLLATE NOCASE", ""))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = format!(
            "l.seq, l.license_id,
             (SELECT ln.name FROM license_names ln WHERE ln.id = l.customer_id),
             (SELECT ln.name FROM license_names ln WHERE ln.id = l.product_id),
             l.ip, l.kind, l.order_months, l.expires_at, l.status,
             (SELECT ac.id FROM accounts ac WHERE ac.seq = l.account_seq), {keys}"
        );
        let order = segment
            .order
            .iter()
            .map(|e| format!("{e} {dir}"))
            .collect::<Vec<_>>()
            .join(", ");
        let select = |columns: &str| {
            format!(
                "SELECT {columns} FROM {from} WHERE {} ORDER BY {order}",
                terms.join(" AND ")
            )
        };
        let sql = match (shape, &plan.driver) {
            // The few rows are sorted by their keys alone, and only the page's rows read
            // whole (SQLite would read every row's names before sorting them).
            (Shape::Rows { limit, skip }, Probed::Few(_)) => format!(
                "SELECT {rows} FROM ({} LIMIT {} OFFSET {skip}) p
                 CROSS JOIN licenses l ON l.seq = p.seq {} ORDER BY {order}",
                select("l.seq"),
                super::limit(limit),
                segment.join
            ),
            (Shape::Rows { limit, skip }, Probed::Common) => {
                format!(
                    "{} LIMIT {} OFFSET {skip}",
                    select(&rows),
                    super::limit(limit)
                )
            }
            (Shape::Keys, _) => select(&keys),
            (Shape::Exists, _) => {
                format!("SELECT 1 FROM {from} WHERE {}", terms.join(" AND "))
            }
        };
        (sql, args)
    }
}

/// What a segment query selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A page of whole rows: at most `limit`, after skipping `skip`.
    Rows {
        limit: usize,
        skip: u64,
    },
    Keys,
    Exists,
}

/// The FROM clause of a plan (the few probed rows first, when there are few) and its args.
fn from_clause(plan: &Plan, join: &str) -> (String, Vec<Arg>) {
    let mut args = plan.args.clone();
    let from = match &plan.driver {
        Probed::Few(rows) => {
            args.push(Arg::Ids(rows.clone()));
            format!(
                "rarray(?{}) d CROSS JOIN licenses l ON l.seq = d.value {join}",
                args.len()
            )
        }
        Probed::Common => match join.strip_prefix("JOIN license_names sk ON ") {
            // A sort by a name walks the names in their index's order and each name's licenses
            // by theirs, so a page is read without sorting every license first (SQLite, left
            // to choose, scanned the licenses and sorted them: 0.9 s at a million).
            Some(on) => format!("license_names sk CROSS JOIN licenses l ON {on}"),
            None => format!("licenses l {join}"),
        },
    };
    (from, args)
}

fn read_row(r: &Row<'_>, segment: usize, keys: usize) -> rusqlite::Result<ListRow> {
    let status: String = r.get(8)?;
    let status = LicenseStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            8,
            rusqlite::types::Type::Text,
            format!("unknown license status '{status}'").into(),
        )
    })?;
    let order_months: Option<i64> = r.get(6)?;
    Ok(ListRow {
        seq: r.get(0)?,
        license_id: r.get(1)?,
        customer: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        product: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        ip: r.get(4)?,
        kind: r.get(5)?,
        order_months: order_months.and_then(|m| u32::try_from(m).ok()),
        expires_at: r.get(7)?,
        status,
        account_id: r.get(9)?,
        key: Key {
            segment,
            values: (0..keys)
                .map(|i| r.get::<_, Value>(10 + i))
                .collect::<Result<_, _>>()?,
        },
    })
}

/// What a filter's probe found.
enum Probe {
    /// Every row the filter lets through: at most [`FEW`].
    Few(Vec<i64>),
    /// More than [`FEW`]: the probe's query, to walk when counting.
    Many(Source),
}

/// A query yielding row numbers as `hit`, with its args.
#[derive(Debug, Clone, PartialEq)]
struct Source {
    sql: String,
    args: Vec<Arg>,
}

/// `sql` with its parameters `?1`, `?2`, … moved up by `by` (to follow another query's).
fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '?' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            digits.push(d);
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// Runs a filter's indexed query for at most [`FEW`] + 1 rows.
fn probe(conn: &Connection, sql: &str, args: &[Arg]) -> StoreResult<Probe> {
    let limited = format!("{sql} LIMIT {}", FEW + 1);
    let bound = bind(args);
    let mut stmt = conn.prepare_cached(&limited)?;
    let rows: Vec<i64> = stmt
        .query_map(rusqlite::params_from_iter(bound.iter()), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(if rows.len() <= FEW {
        Probe::Few(rows)
    } else {
        Probe::Many(Source {
            sql: sql.to_string(),
            args: args.to_vec(),
        })
    })
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['%', '_'])
}

/// How a name filter finds names (products and customers) holding a text, without regard to
/// case: from three characters by the names' trigram search, below that by names starting
/// with it; a text with `%` or `_` reads the names row by row (the trigram search answers
/// LIKE only without ESCAPE).
struct NameMatch {
    /// The row test's LIKE pattern (with `\` as escape).
    pattern: String,
    /// The names' table (alias `n`, with `rowid`), its test on `?1`, and the value bound.
    names: &'static str,
    test: &'static str,
    search: String,
}

impl NameMatch {
    fn new(text: &str) -> Self {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let short = text.chars().count() < 3;
        let pattern = if short {
            format!("{escaped}%")
        } else {
            format!("%{escaped}%")
        };
        if short || has_wildcard(text) {
            NameMatch {
                search: pattern.clone(),
                pattern,
                names: "license_names n",
                test: "n.name LIKE ?1 ESCAPE '\\'",
            }
        } else {
            NameMatch {
                pattern,
                names: "license_names_search n",
                test: "n.name LIKE ?1",
                search: format!("%{text}%"),
            }
        }
    }
}
