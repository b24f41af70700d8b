//! Copies of the database: taken while it is in use, described, checked, and put back.
//!
//! - [`copy_live`] writes a consistent copy with `VACUUM INTO` on its own read connection: one
//!   read transaction, so writers (the app, a bulk issue on the CLI) carry on while it runs and
//!   the copy is the database as of one commit. Progress is the copy's size against the pages in
//!   use; cancelling interrupts SQLite.
//! - [`describe`] opens a copy read-only and says what it holds; [`check`] also runs SQLite's
//!   integrity and foreign key checks and walks the issuance ledger.
//! - [`replace_contents`] writes a checked copy over the live database with SQLite's online
//!   backup API through the writer's connection, so every other connection (the window's
//!   panels) sees the restored data and no file is renamed under them.
//! - The data folder's `backups/` holds automatic copies ([`Kind`]), each with a small
//!   `.json` description beside it, kept [`prune`]d to the newest few.

use super::{SCHEMA_VERSION, StoreError, StoreResult, ledger};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The folder inside the data folder that holds automatic backups.
pub const FOLDER: &str = "backups";

/// Why an automatic copy in `backups/` was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The daily copy.
    Daily,
    /// Taken before the schema was upgraded (at the older schema).
    BeforeMigration,
    /// The database as it was just before a restore or import replaced it: restoring it
    /// undoes that. Never pruned.
    SetAside,
    /// Written by "Back up now" into the backups folder.
    Manual,
}

impl Kind {
    /// The file name prefix.
    fn prefix(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::BeforeMigration => "before-upgrade",
            Kind::SetAside => "set-aside",
            Kind::Manual => "manual",
        }
    }

    /// How the list names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Daily => "Daily",
            Kind::BeforeMigration => "Before upgrade",
            Kind::SetAside => "Set aside by a restore",
            Kind::Manual => "Manual",
        }
    }
}

/// What a database copy holds, as its list entry and restore preview show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    /// The schema version it was written at.
    pub schema: i64,
    /// The desk it belongs to (absent in a desk that never opened).
    pub desk_id: Option<String>,
    pub accounts: u64,
    pub licenses: u64,
    pub invoices: u64,
    pub ledger_entries: i64,
    /// The last ledger entry's hash (hex), empty for an empty ledger.
    pub ledger_head: String,
    /// When the last ledger entry was recorded (unix seconds).
    pub last_entry_at: Option<i64>,
}

/// The outcome of checking a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Integrity, foreign keys and the ledger all hold.
    Verified,
    /// Integrity and foreign keys hold; the ledger was not walked (an older schema, checked
    /// when it is upgraded).
    IntegrityOnly,
    /// Something does not hold: the copy must not be restored.
    Failed(String),
}

impl Verdict {
    /// In words, for the list.
    pub fn label(&self) -> String {
        match self {
            Verdict::Verified => "Verified".into(),
            Verdict::IntegrityOnly => "File checked (ledger checked on restore)".into(),
            Verdict::Failed(why) => format!("FAILED: {why}"),
        }
    }
}

/// The description kept beside an automatic backup (`NAME.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub kind: Kind,
    /// When it was taken (unix seconds).
    pub taken_at: i64,
    /// Size of the file in bytes.
    pub bytes: u64,
    pub contents: Contents,
    pub verdict: Verdict,
    /// Passphrase-encrypted (age): its contents above were read before encryption.
    pub encrypted: bool,
}

/// One file in the backups folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub path: PathBuf,
    /// What its description says; `None` when the description is missing or unreadable.
    pub description: Option<Description>,
}

/// The backups folder of the database at `database`.
pub fn folder(database: &Path) -> PathBuf {
    database
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(FOLDER)
}

/// Makes the backups folder (owner only) when it is not there yet.
pub fn ensure_folder(database: &Path) -> StoreResult<PathBuf> {
    let dir = folder(database);
    if !dir.is_dir() {
        let error = |source| StoreError::DataDir {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(error)?;
        crate::platform::restrict_to_owner(&dir).map_err(error)?;
    }
    Ok(dir)
}

/// A path in `dir` for a new copy of `kind` taken at `at`, not taken by another file (a second
/// copy within the same second gets `-2`, `-3`, …).
pub fn new_path(dir: &Path, kind: Kind, at: DateTime<Utc>, encrypted: bool) -> PathBuf {
    let ext = if encrypted { "sqlite3.age" } else { "sqlite3" };
    let stem = format!("{}-{}", kind.prefix(), at.format("%Y%m%d-%H%M%S"));
    let mut path = dir.join(format!("{stem}.{ext}"));
    let mut n = 2;
    while std::fs::symlink_metadata(&path).is_ok() {
        path = dir.join(format!("{stem}-{n}.{ext}"));
        n += 1;
    }
    path
}

/// The description file beside a backup.
pub fn description_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Writes a backup's description beside it (atomically; owner only).
pub fn write_description(backup: &Path, description: &Description) -> StoreResult<()> {
    let text = serde_json::to_string_pretty(description)?;
    crate::files::write(
        &description_path(backup),
        text.as_bytes(),
        crate::files::Output {
            force: true,
            secret: true,
            database: None,
        },
    )
    .map_err(|e| StoreError::File {
        path: description_path(backup),
        source: std::io::Error::other(e.to_string()),
    })
}

/// The backups in the folder of `database`, newest first (by the time in their description,
/// else their file's modification time).
pub fn list(database: &Path) -> StoreResult<Vec<Listed>> {
    let dir = folder(database);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::DataDir { path: dir, source }),
    };
    let mut found: Vec<(i64, Listed)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_backup = (name.ends_with(".sqlite3") || name.ends_with(".sqlite3.age"))
            && !name.starts_with('.');
        if !is_backup || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let description = crate::files::read_text(&description_path(&path), DESCRIPTION)
            .ok()
            .and_then(|text| serde_json::from_str::<Description>(&text).ok());
        let when = description.as_ref().map(|d| d.taken_at).unwrap_or_else(|| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        });
        found.push((when, Listed { path, description }));
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.path.cmp(&a.1.path)));
    Ok(found.into_iter().map(|(_, listed)| listed).collect())
}

/// A backup's description file (a few hundred bytes).
const DESCRIPTION: crate::files::Limit = crate::files::Limit {
    what: "backup description",
    max_bytes: 64 * 1024,
};

/// Deletes the oldest copies of `kind` beyond the newest `keep` (and their descriptions).
/// Copies set aside by a restore are never deleted. Returns how many were deleted.
pub fn prune(database: &Path, kind: Kind, keep: usize) -> StoreResult<usize> {
    if kind == Kind::SetAside {
        return Ok(0);
    }
    let prefix = format!("{}-", kind.prefix());
    let mut deleted = 0;
    let of_kind = list(database)?.into_iter().filter(|listed| {
        listed
            .path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
    });
    for listed in of_kind.skip(keep) {
        if std::fs::remove_file(&listed.path).is_ok() {
            deleted += 1;
            let _ = std::fs::remove_file(description_path(&listed.path));
        }
    }
    Ok(deleted)
}

/// Opens a database copy for reading: no authorizer (a copy is taken whole, sealed keys
/// included) and no writes.
pub fn open_copy(path: &Path) -> StoreResult<Connection> {
    super::open_reader(path)
}

/// Copies the database at `source` (live: others may write meanwhile) into `dest`, which must
/// not exist or be empty (a fresh scratch file): see the module docs. `tick(done, total)` is
/// told bytes written against the size of the pages in use about twenty times a second; when it
/// returns false the copy is interrupted ([`StoreError::Cancelled`]) and `dest` holds nothing
/// usable.
pub fn copy_live(
    source: &Path,
    dest: &Path,
    tick: &mut dyn FnMut(u64, u64) -> bool,
) -> StoreResult<()> {
    let dest_text = dest.to_str().ok_or_else(|| StoreError::DataDir {
        path: dest.to_path_buf(),
        source: std::io::Error::other("the path is not valid Unicode"),
    })?;
    let conn = open_copy(source)?;
    let total = bytes_in_use(&conn)?;
    let interrupt = conn.get_interrupt_handle();
    let mut stopped = false;
    let copied = std::thread::scope(|scope| {
        let copy = scope.spawn(move || conn.execute("VACUUM INTO ?1", [dest_text]).map(|_| ()));
        while !copy.is_finished() {
            let done = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
            if !stopped && !tick(done.min(total), total) {
                stopped = true;
                interrupt.interrupt();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        copy.join()
    });
    match copied {
        Ok(Ok(())) => {}
        Ok(Err(_)) if stopped => return Err(StoreError::Cancelled),
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(StoreError::Corrupt("the copy stopped unexpectedly".into())),
    }
    tick(total, total);
    Ok(())
}

/// Bytes in the pages that hold data (what a compacted copy will about weigh).
fn bytes_in_use(conn: &Connection) -> StoreResult<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from((pages - free).max(1) * size).unwrap_or(u64::MAX))
}

/// What the database on `conn` holds (any schema from 4 on; older ones report their version
/// and nothing else).
pub fn describe(conn: &Connection) -> StoreResult<Contents> {
    let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mut contents = Contents {
        schema,
        ..Contents::default()
    };
    if schema < 4 {
        return Ok(contents);
    }
    let count = |table: &str| -> StoreResult<u64> {
        let exists: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(0);
        }
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
            r.get(0)
        })?;
        Ok(n.unsigned_abs())
    };
    contents.accounts = count("accounts")?;
    contents.licenses = count("licenses")?;
    contents.invoices = count("invoices")?;
    contents.desk_id = super::desk::desk_id(conn)?.map(|id| id.to_string());
    let head = ledger::head(conn)?;
    contents.ledger_entries = head.seq;
    if head.seq > 0 {
        contents.ledger_head = hex::encode(head.hash);
        contents.last_entry_at = conn.query_row(
            "SELECT recorded_at FROM ledger WHERE seq = ?1",
            [head.seq],
            |r| r.get(0),
        )?;
    }
    Ok(contents)
}

/// Checks a copy: SQLite's integrity check, foreign keys, a schema this build knows, and (at
/// this build's schema) the whole ledger. `progress` hears ledger entries walked.
pub fn check(conn: &Connection, progress: impl FnMut(i64)) -> StoreResult<Verdict> {
    let mut problems: Vec<String> = Vec::new();
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    if !problems.is_empty() {
        return Ok(Verdict::Failed(format!(
            "the file is damaged: {}",
            problems.join("; ")
        )));
    }
    let broken: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Ok(Verdict::Failed(format!(
            "{broken} rows refer to rows that do not exist"
        )));
    }
    let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if schema > SCHEMA_VERSION {
        return Ok(Verdict::Failed(newer_schema(schema)));
    }
    if schema < SCHEMA_VERSION {
        return Ok(Verdict::IntegrityOnly);
    }
    Ok(match ledger::verify(conn, progress)? {
        ledger::ChainReport::Intact { .. } => Verdict::Verified,
        ledger::ChainReport::Broken { at, reason } => Verdict::Failed(match at {
            Some(seq) => format!("the ledger does not verify at entry {seq}: {reason}"),
            None => format!("the ledger does not verify: {reason}"),
        }),
    })
}

/// The message for a database written by a newer License Desk.
pub fn newer_schema(found: i64) -> String {
    format!(
        "it was written by a newer License Desk (database schema {found}; this build reads up to {SCHEMA_VERSION}): open it with that version or newer"
    )
}

/// Brings a copy (a scratch file, never the live database) up to this build's schema.
pub fn upgrade_copy(conn: &mut Connection) -> StoreResult<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        super::migrate(conn, found, &mut |_: super::OpenStep| {})?;
    }
    Ok(())
}

/// Writes the database in `from` over the live one behind `live` (the writer's connection),
/// page by page in one locked pass: readers see the old or the new database, never a mix.
/// `tick(done, total)` hears pages written.
pub fn replace_contents(
    from: &Connection,
    live: &mut Connection,
    tick: &mut dyn FnMut(u64, u64) -> bool,
) -> StoreResult<()> {
    let backup = rusqlite::backup::Backup::new(from, live)?;
    loop {
        let step = backup.step(1024)?;
        let p = backup.progress();
        let total = u64::try_from(p.pagecount).unwrap_or(0);
        let done = total.saturating_sub(u64::try_from(p.remaining).unwrap_or(0));
        // Stopping half-way would leave a mix: once started, the pass runs to its end.
        let _ = tick(done, total);
        match step {
            rusqlite::backup::StepResult::Done => return Ok(()),
            rusqlite::backup::StepResult::More => {}
            rusqlite::backup::StepResult::Busy | rusqlite::backup::StepResult::Locked => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Copies the database at `database` (just opened, at schema `found`, about to be upgraded)
/// into the backups folder, checked and described, before any migration writes to it.
pub(super) fn before_migration(database: &Path, found: i64) -> StoreResult<()> {
    if found == 0 {
        return Ok(()); // Nothing to keep: a file with no schema yet.
    }
    let dir = ensure_folder(database)?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let dest = new_path(&dir, Kind::BeforeMigration, now, false);
    let scratch = scratch_file(&dir)?;
    copy_live(database, scratch.path(), &mut |_, _| true)?;
    let copy = open_copy(scratch.path())?;
    let contents = describe(&copy)?;
    let verdict = check(&copy, |_| {})?;
    drop(copy);
    if let Verdict::Failed(why) = &verdict {
        return Err(StoreError::Damaged {
            problem: format!("the copy taken before upgrading does not check: {why}"),
        });
    }
    let bytes = std::fs::metadata(scratch.path())
        .map(|m| m.len())
        .unwrap_or(0);
    persist(scratch, &dest)?;
    write_description(
        &dest,
        &Description {
            kind: Kind::BeforeMigration,
            taken_at: now.timestamp(),
            bytes,
            contents,
            verdict,
            encrypted: false,
        },
    )?;
    prune(database, Kind::BeforeMigration, KEEP_BEFORE_MIGRATION)?;
    Ok(())
}

/// How many copies taken before upgrades are kept.
pub const KEEP_BEFORE_MIGRATION: usize = 3;

/// Opens a scratch copy for reading and writing (a restore being prepared, an import being
/// loaded): never the live database.
pub fn open_scratch(path: &Path) -> StoreResult<Connection> {
    #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
    let conn = Connection::open(path)?;
    Ok(conn)
}

/// A new empty file, owner only, in `dir`, removed when dropped unless persisted.
pub fn scratch_file(dir: &Path) -> StoreResult<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".partial-").suffix(".sqlite3");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    builder.tempfile_in(dir).map_err(|source| StoreError::File {
        path: dir.join(".partial-*"),
        source,
    })
}

/// Syncs a finished scratch file and renames it to `dest` (never replacing a file there).
pub fn persist(scratch: tempfile::NamedTempFile, dest: &Path) -> StoreResult<()> {
    let io = |source| StoreError::File {
        path: dest.to_path_buf(),
        source,
    };
    std::fs::File::open(scratch.path())
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    scratch.persist_noclobber(dest).map_err(|e| io(e.error))?;
    crate::platform::restrict_to_owner(dest).map_err(io)?;
    Ok(())
}
