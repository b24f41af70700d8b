//! The export bundle: every table of the database as JSON Lines, the documented way out of
//! License Desk and onto another machine (`docs/export-format.md`).
//!
//! ```text
//! {"format":"license-desk-export","version":1,"schema":5,"exported_at":…,"desk_id":…}
//! {"table":"accounts","columns":["id","name",…],"rows":2}
//! [ … one JSON array per row, values in column order … ]
//! {"end":{"tables":31,"rows":1234}}
//! ```
//!
//! Integers and reals are JSON numbers, text is a string, NULL is null and a BLOB is
//! `{"hex":"…"}`. The end line carries the totals, so a file cut short is refused. Full-text
//! indexes are not exported: they are rebuilt from the rows on import.

use super::{SCHEMA_VERSION, StoreError, StoreResult};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::io::{BufRead, Write};

/// The `format` field of the first line.
pub const FORMAT: &str = "license-desk-export";
/// The bundle format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The longest line accepted on import (a row with a large license file or PDF is far below).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The database schema version the rows are in.
    pub schema: i64,
    /// When it was exported (RFC 3339).
    pub exported_at: String,
    pub desk_id: Option<String>,
}

/// The line that opens a table's rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TableLine {
    table: String,
    columns: Vec<String>,
    rows: u64,
}

/// The totals on the last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub tables: u64,
    pub rows: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct EndLine {
    end: Totals,
}

/// What went wrong reading or writing a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not write the export: {0}")]
    Write(std::io::Error),
    #[error("line {line}: {problem}")]
    Bad { line: u64, problem: String },
    #[error("the export is cut short after line {line}: its last line (the totals) is missing")]
    CutShort { line: u64 },
    #[error("cancelled; nothing was written")]
    Cancelled,
}

impl From<rusqlite::Error> for BundleError {
    fn from(e: rusqlite::Error) -> Self {
        BundleError::Store(e.into())
    }
}

/// Whether the database has a table (or virtual table) named `name`.
fn has_table(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// The tables a bundle carries, in creation order: every ordinary table but SQLite's own and
/// full-text indexes (and their shadow tables).
fn tables(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY rowid",
    )?;
    let all: Vec<(String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?
        .collect::<Result<_, _>>()?;
    let virtual_tables: Vec<&str> = all
        .iter()
        .filter(|(_, sql)| sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE"))
        .map(|(name, _)| name.as_str())
        .collect();
    Ok(all
        .iter()
        .filter(|(name, _)| {
            !virtual_tables
                .iter()
                .any(|v| name == v || name.starts_with(&format!("{v}_")))
        })
        .map(|(name, _)| name.clone())
        .collect())
}

fn columns(conn: &Connection, table: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let names = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn to_json(value: ValueRef<'_>) -> Json {
    match value {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => serde_json::json!({ "hex": hex::encode(b) }),
    }
}

fn from_json(value: &Json) -> Result<Value, String> {
    Ok(match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(i64::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().ok_or("a number out of range")?),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(map) => match (map.len(), map.get("hex")) {
            (1, Some(Json::String(h))) => {
                Value::Blob(hex::decode(h).map_err(|e| format!("a BLOB that is not hex: {e}"))?)
            }
            _ => return Err("an object that is not {\"hex\": …}".into()),
        },
        Json::Array(_) => return Err("a nested array".into()),
    })
}

/// Writes every table of the database on `conn` to `out`, in one read transaction (the bundle
/// is the database as of one commit). `tick(done, total)` hears rows; when it returns false the
/// export stops with [`BundleError::Cancelled`].
pub fn export(
    conn: &Connection,
    header: &Header,
    out: &mut dyn Write,
    tick: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Totals, BundleError> {
    conn.execute_batch("BEGIN")?;
    let written = export_in_snapshot(conn, header, out, tick);
    conn.execute_batch("COMMIT")?;
    written
}

fn export_in_snapshot(
    conn: &Connection,
    header: &Header,
    out: &mut dyn Write,
    tick: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Totals, BundleError> {
    let mut line = |value: &dyn erased::Line| -> Result<(), BundleError> {
        value.write_to(&mut *out).map_err(BundleError::Write)?;
        out.write_all(b"\n").map_err(BundleError::Write)
    };
    line(header)?;
    let tables = tables(conn)?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in &tables {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {}", quoted(table)),
            [],
            |r| r.get(0),
        )?;
        counts.push(n.unsigned_abs());
    }
    let total: u64 = counts.iter().sum();
    let mut totals = Totals::default();
    for (table, rows) in tables.iter().zip(counts) {
        let columns = columns(conn, table)?;
        line(&TableLine {
            table: table.clone(),
            columns: columns.clone(),
            rows,
        })?;
        let list = columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!("SELECT {list} FROM {}", quoted(table)))?;
        let mut cursor = stmt.query([])?;
        while let Some(row) = cursor.next()? {
            let values = (0..columns.len())
                .map(|i| row.get_ref(i).map(to_json))
                .collect::<Result<Vec<_>, _>>()?;
            line(&Json::Array(values))?;
            totals.rows += 1;
            if totals.rows.is_multiple_of(2_000) && !tick(totals.rows, total) {
                return Err(BundleError::Cancelled);
            }
        }
        totals.tables += 1;
    }
    line(&EndLine { end: totals })?;
    tick(totals.rows, total);
    Ok(totals)
}

/// Reads a bundle's first line.
pub fn read_header(input: &mut dyn BufRead) -> Result<Header, BundleError> {
    let text = next_line(input, 1)?.ok_or(BundleError::Bad {
        line: 1,
        problem: "the file is empty".into(),
    })?;
    let header: Header = serde_json::from_str(&text).map_err(|_| BundleError::Bad {
        line: 1,
        problem: "this is not a License Desk export (its first line is not the export header)"
            .into(),
    })?;
    if header.format != FORMAT {
        return Err(BundleError::Bad {
            line: 1,
            problem: format!("the format is '{}', not '{FORMAT}'", header.format),
        });
    }
    if header.version != VERSION {
        return Err(BundleError::Bad {
            line: 1,
            problem: format!(
                "export format version {} is not one this build reads (version {VERSION})",
                header.version
            ),
        });
    }
    if header.schema > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: header.schema,
            known: SCHEMA_VERSION,
        }
        .into());
    }
    if header.schema < 4 {
        return Err(BundleError::Bad {
            line: 1,
            problem: format!("schema {} is older than any export", header.schema),
        });
    }
    Ok(header)
}

/// Inserts the rows that follow the header into `tx`, a new database at the header's schema
/// (rows a migration put there are replaced). Every table must exist with every column named,
/// every row must have one value per column, and the totals must match: anything else is
/// refused with the line it is on. `tick(rows)` hears rows read; when it returns false the
/// import stops with [`BundleError::Cancelled`].
pub fn import_rows(
    tx: &Transaction<'_>,
    input: &mut dyn BufRead,
    tick: &mut dyn FnMut(u64) -> bool,
) -> Result<Totals, BundleError> {
    let known = tables(tx)?;
    let mut line_no = 1u64;
    let mut totals = Totals::default();
    loop {
        line_no += 1;
        let Some(text) = next_line(input, line_no)? else {
            return Err(BundleError::CutShort { line: line_no - 1 });
        };
        let bad = |problem: String| BundleError::Bad {
            line: line_no,
            problem,
        };
        if let Ok(end) = serde_json::from_str::<EndLine>(&text) {
            if end.end != totals {
                return Err(bad(format!(
                    "the totals say {} tables and {} rows, but {} and {} were read",
                    end.end.tables, end.end.rows, totals.tables, totals.rows
                )));
            }
            if next_line(input, line_no + 1)?.is_some() {
                return Err(bad("lines follow the totals line".into()));
            }
            // Searches are not exported: the ones the store keeps itself are built again.
            if known.iter().any(|t| t == "accounts") && has_table(tx, "accounts_search")? {
                super::accounts::rebuild_search(tx)?;
            }
            return Ok(totals);
        }
        let table: TableLine = serde_json::from_str(&text)
            .map_err(|_| bad("expected a table line or the totals line".into()))?;
        if !known.contains(&table.table) {
            return Err(bad(format!(
                "table '{}' does not exist in schema this export names",
                table.table
            )));
        }
        let have = columns(tx, &table.table)?;
        if let Some(missing) = table.columns.iter().find(|c| !have.contains(c)) {
            return Err(bad(format!(
                "table '{}' has no column '{missing}'",
                table.table
            )));
        }
        tx.execute(&format!("DELETE FROM {}", quoted(&table.table)), [])?;
        let list = table
            .columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = vec!["?"; table.columns.len()].join(", ");
        let mut insert = tx.prepare(&format!(
            "INSERT INTO {} ({list}) VALUES ({marks})",
            quoted(&table.table)
        ))?;
        for _ in 0..table.rows {
            line_no += 1;
            let bad = |problem: String| BundleError::Bad {
                line: line_no,
                problem,
            };
            let Some(text) = next_line(input, line_no)? else {
                return Err(BundleError::CutShort { line: line_no - 1 });
            };
            let values: Vec<Json> = serde_json::from_str(&text)
                .map_err(|_| bad(format!("expected a row of table '{}'", table.table)))?;
            if values.len() != table.columns.len() {
                return Err(bad(format!(
                    "the row has {} values for {} columns",
                    values.len(),
                    table.columns.len()
                )));
            }
            let values = values
                .iter()
                .map(from_json)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|p| bad(format!("a value is {p}")))?;
            insert
                .execute(rusqlite::params_from_iter(values))
                .map_err(|e| bad(format!("table '{}': {e}", table.table)))?;
            totals.rows += 1;
            if totals.rows.is_multiple_of(2_000) && !tick(totals.rows) {
                return Err(BundleError::Cancelled);
            }
        }
        totals.tables += 1;
    }
}

/// The next line without its newline, refusing one longer than [`MAX_LINE`]; `None` at the end.
fn next_line(input: &mut dyn BufRead, line: u64) -> Result<Option<String>, BundleError> {
    let mut bytes = Vec::new();
    let read = std::io::Read::take(&mut *input, MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| BundleError::Bad {
            line,
            problem: format!("cannot read it: {e}"),
        })?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.len() > MAX_LINE {
        return Err(BundleError::Bad {
            line,
            problem: format!("longer than {MAX_LINE} bytes"),
        });
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| BundleError::Bad {
            line,
            problem: "not UTF-8 text".into(),
        })
}

/// Lines of different types written the same way.
mod erased {
    pub trait Line {
        fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Line for T {
        fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(out, self).map_err(std::io::Error::other)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_the_round_trip() {
        for value in [
            Value::Null,
            Value::Integer(-7),
            Value::Integer(i64::MAX),
            Value::Real(2.5),
            Value::Text("naïve \"quoted\"\n".into()),
            Value::Blob(vec![0, 1, 254, 255]),
        ] {
            let json = to_json(ValueRef::from(&value));
            assert_eq!(from_json(&json).unwrap(), value);
        }
        assert!(from_json(&serde_json::json!({"hex": "zz"})).is_err());
        assert!(from_json(&serde_json::json!({"other": 1})).is_err());
        assert!(from_json(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn an_overlong_line_is_refused() {
        let long = vec![b'x'; MAX_LINE + 10];
        let mut input = std::io::Cursor::new(long);
        assert!(matches!(
            next_line(&mut input, 3),
            Err(BundleError::Bad { line: 3, .. })
        ));
    }
}
