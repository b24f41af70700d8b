//! SQLite storage: opening the file, numbered migrations, and one repository module per
//! aggregate. Repository functions take a `&Connection` (reads) or a `&Transaction` (writes) so
//! that every change and its outbox row commit together; they hold no business rules (those are
//! in `domain` and `services`).
//!
//! Two kinds of connection exist: the one read-write [`Store`] (owned by the background worker,
//! or by a CLI command) whose writes are `BEGIN IMMEDIATE` transactions, and read-only
//! connections for panels ([`open_read_only`]), which can never read secret columns.

pub mod accounts;
pub mod arrays;
pub mod backup;
pub mod billing;
pub mod bulk;
pub mod bundle;
pub mod commerce;
pub mod dashboard;
pub mod deactivations;
pub mod desk;
pub mod health;
pub mod invoices;
pub mod keys;
pub mod ledger;
pub mod license_list;
pub mod license_settings;
pub mod licenses;
pub mod mail_outbox;
mod migrations;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod peers;
pub mod price_lists;
pub mod quotes;
pub mod referrals;
pub mod renewals;
pub mod revocations;
pub mod seats;
pub mod settings;
mod sql;
pub mod sync;
pub mod transfers;
pub mod wallet;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use migrations::{SCHEMA_VERSION, migrate_to};

/// How long a writer waits for another writer (the app beside a CLI command) before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong in the store, with enough context to show a person.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed for a reason not listed below.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The disk holding the database is full; nothing of the change was written.
    #[error(
        "the disk holding the database is full: free some space and try again (nothing was written)"
    )]
    DiskFull,
    /// The database (or its folder) cannot be written: a read-only file, folder or drive.
    #[error("the database cannot be written (the file, its folder or the drive is read-only)")]
    ReadOnly,
    /// Another program holds the database's write lock and did not let go in time.
    #[error("another program is writing to the database and did not finish in time; try again")]
    Locked,
    /// The file is not a healthy database; it is not written to.
    #[error("the database file is damaged: {problem}")]
    Damaged { problem: String },
    /// The drive holding the database failed or went away.
    #[error("the disk holding the database could not be read or written ({0})")]
    Unavailable(rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("could not upgrade the database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The database was written by a newer License Desk.
    #[error(
        "the database is at schema version {found}, newer than this build knows ({known}); use a newer License Desk"
    )]
    TooNew { found: i64, known: i64 },
    /// A database opened read-only must already be at this build's schema.
    #[error(
        "the database is at schema version {found}; this build reads version {known} without upgrading"
    )]
    VersionMismatch { found: i64, known: i64 },
    /// The person stopped a long copy; nothing of it remains.
    #[error("cancelled; nothing was written")]
    Cancelled,
    /// A row that was asked for does not exist.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A value that must be unique is taken.
    #[error("{what} '{value}' already exists")]
    Duplicate { what: &'static str, value: String },
    /// A stored value does not parse (the file was edited or damaged).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// An outbox body could not be serialised; the whole change is refused.
    #[error("could not record the change for sync: {0}")]
    Outbox(#[from] serde_json::Error),
    /// A file beside the database (a backup, a scratch copy) could not be written.
    #[error("cannot write {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The data directory could not be created or protected.
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    /// Names the conditions a person can act on (a full disk, a read-only file, a lock, a
    /// damaged file, a drive gone); everything else stays an SQLite error.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(DiskFull) => StoreError::DiskFull,
            Some(ReadOnly) => StoreError::ReadOnly,
            Some(DatabaseBusy | DatabaseLocked) => StoreError::Locked,
            Some(DatabaseCorrupt | NotADatabase) => StoreError::Damaged {
                problem: e.to_string(),
            },
            Some(SystemIoFailure | CannotOpen) => StoreError::Unavailable(e),
            _ => StoreError::Sqlite(e),
        }
    }
}

/// What opening a database is busy with, reported to the window while it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenStep {
    /// The last session did not close the database cleanly: checking it before use.
    Checking,
    /// Another program holds the write lock: waiting, attempt `attempt` of `of`.
    WaitingForLock { attempt: u32, of: u32 },
    /// Copying the database aside before upgrading it from schema `from`.
    BackingUp { from: i64 },
    /// Applying migration `applying` (of `from`+1..=`to`).
    Migrating { from: i64, applying: i64, to: i64 },
    /// Putting a backup in place of a file that could not be opened.
    Restoring,
}

/// How many times opening retries a database another program holds locked (one second each),
/// unless `LICENSE_DESK_LOCK_WAIT` says how many seconds to wait.
const OPEN_LOCK_ATTEMPTS: u32 = 30;

/// The environment variable that sets how many seconds opening waits for a lock.
pub const LOCK_WAIT_ENV: &str = "LICENSE_DESK_LOCK_WAIT";

/// Databases smaller than this are checked (`PRAGMA quick_check`) every time they are opened;
/// larger ones when the last session did not close them, and by the window at every start.
pub const CHECK_BELOW_BYTES: u64 = 256 * 1024 * 1024;

fn lock_attempts() -> u32 {
    std::env::var(LOCK_WAIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(OPEN_LOCK_ATTEMPTS, |n| n.clamp(1, 3600))
}

/// The read-write database. One owner at a time: the background worker or a CLI command.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the database at `path` (see [`Store::open_with_progress`]).
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with_progress(path, |_| {})
    }

    /// Opens the database at `path`, making a new one when there is no file: folder readable
    /// by the owner only, WAL, foreign keys, every pending migration (after a backup of the
    /// older file), and this desk's identity. A file that is not a healthy database is never
    /// written to and never replaced ([`health`]); `progress` hears each slow step. A file
    /// left by a process that did not close it, or smaller than [`CHECK_BELOW_BYTES`], is
    /// checked with `PRAGMA quick_check` first.
    pub fn open_with_progress(path: &Path, progress: impl FnMut(OpenStep)) -> StoreResult<Store> {
        Self::open_inner(path, false, progress).map_err(|e| on_disk(e, path))
    }

    /// Like [`Store::open_with_progress`], always checking the whole file first (the window
    /// does, once per start, with progress on screen).
    pub fn open_checked(path: &Path, progress: impl FnMut(OpenStep)) -> StoreResult<Store> {
        Self::open_inner(path, true, progress).map_err(|e| on_disk(e, path))
    }

    fn open_inner(
        path: &Path,
        always_check: bool,
        mut progress: impl FnMut(OpenStep),
    ) -> StoreResult<Store> {
        prepare_folder(path)?;
        let io = |source| StoreError::DataDir {
            path: path.to_path_buf(),
            source,
        };
        match health::inspect(path).map_err(io)? {
            health::FileState::Missing => create_new(path)?,
            health::FileState::Sqlite => {}
            bad => {
                return Err(StoreError::Damaged {
                    problem: bad.problem().unwrap_or_default(),
                });
            }
        }
        ensure_writable(path)?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let check = always_check || size < CHECK_BELOW_BYTES || health::has_write_ahead_log(path);
        #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        conn.busy_timeout(Duration::from_secs(1))?;
        if check {
            progress(OpenStep::Checking);
            with_lock_retries(&mut progress, || quick_check(&conn))?;
        }
        let found = with_lock_retries(&mut progress, || {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?)
        })?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            progress(OpenStep::BackingUp { from: found });
            backup::before_migration(path, found)?;
            migrate(&mut conn, found, &mut progress)?;
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        with_lock_retries(&mut progress, || {
            store.write(|tx| desk::ensure(tx).map(|_| ()))
        })?;
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        protect_companions(path);
        Ok(store)
    }

    /// Opens an existing database for reading only (the window's "Open read-only" for a file
    /// it may not write): no migration, no desk identity; every write fails as read-only.
    pub fn open_read_only_store(path: &Path) -> StoreResult<Store> {
        if let Some(problem) = health::inspect(path)
            .map_err(|source| StoreError::DataDir {
                path: path.to_path_buf(),
                source,
            })?
            .problem()
        {
            return Err(StoreError::Damaged { problem });
        }
        let conn = open_reader(path)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::VersionMismatch {
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read access on the writer's connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: all of it commits, or none of it. Taking
    /// the write lock up front means a second writer (a CLI command beside the app) waits for
    /// its turn instead of failing with a stale snapshot half-way.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(on_disk(e.into(), path)))?;
        let value = f(&tx)?;
        accounts::catch_up_search(&tx).map_err(|e| E::from(on_disk(e, path)))?;
        tx.commit().map_err(|e| E::from(on_disk(e.into(), path)))?;
        Ok(value)
    }

    /// Replaces the whole database with the one on `from` (a checked restore or import), in
    /// one locked pass that every other connection sees at once ([`backup::replace_contents`]).
    pub fn replace_contents(
        &mut self,
        from: &Connection,
        tick: &mut dyn FnMut(u64, u64) -> bool,
    ) -> StoreResult<()> {
        backup::replace_contents(from, &mut self.conn, tick)?;
        self.write(|tx| desk::ensure(tx).map(|_| ()))
    }
}

/// An I/O error on a disk with no room left is a full disk, said as such.
fn on_disk(error: StoreError, path: &Path) -> StoreError {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match error {
        StoreError::Unavailable(_) | StoreError::Sqlite(_) if health::disk_is_full(folder) => {
            StoreError::DiskFull
        }
        other => other,
    }
}

/// Creates the data folder (owner only) when it does not exist but the folder that holds it
/// does. When neither exists (a removed drive, a typo), nothing is created: a new empty
/// database somewhere unexpected would hide the real one.
fn prepare_folder(path: &Path) -> StoreResult<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let error = |source| StoreError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir())
    {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "neither the folder nor the one that would hold it is there (is its drive connected?)",
        )));
    }
    std::fs::create_dir(dir).map_err(error)?;
    crate::platform::restrict_to_owner(dir).map_err(error)?;
    Ok(())
}

/// Makes a new database beside `path` (owner only from the first byte), brings it to the
/// current schema, and renames it into place: a file at `path` is therefore never an empty
/// database of ours, and an empty or foreign file found there is reported, not used.
fn create_new(path: &Path) -> StoreResult<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |source| StoreError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".license-desk-new-").suffix(".sqlite3");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let tmp = builder.tempfile_in(&folder).map_err(io)?;
    {
        #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
        let mut conn = Connection::open(tmp.path())?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        migrate_to(&mut conn, SCHEMA_VERSION)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Closing the only connection folds the write-ahead log into the file.
    }
    tmp.persist_noclobber(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Runs `PRAGMA quick_check`; anything but "ok" is a damaged file.
fn quick_check(conn: &Connection) -> StoreResult<()> {
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(StoreError::Damaged { problem: verdict })
    }
}

/// Runs `attempt` again while another program holds the write lock, telling `progress`.
fn with_lock_retries<T>(
    progress: &mut impl FnMut(OpenStep),
    mut attempt: impl FnMut() -> StoreResult<T>,
) -> StoreResult<T> {
    let of = lock_attempts();
    for n in 1..=of {
        match attempt() {
            Err(StoreError::Locked) if n < of => {
                progress(OpenStep::WaitingForLock { attempt: n, of })
            }
            other => return other,
        }
    }
    Err(StoreError::Locked)
}

/// Applies every migration after `found`, with foreign keys off while tables are rebuilt
/// (SQLite's documented procedure) and checked as a whole afterwards.
fn migrate(
    conn: &mut Connection,
    found: i64,
    progress: &mut impl FnMut(OpenStep),
) -> StoreResult<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    for version in found + 1..=SCHEMA_VERSION {
        progress(OpenStep::Migrating {
            from: found,
            applying: version,
            to: SCHEMA_VERSION,
        });
        migrate_to(conn, version)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let broken: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(StoreError::Corrupt(format!(
            "{broken} rows refer to rows that do not exist"
        )));
    }
    Ok(())
}

/// The WAL and shared-memory files take the database's mode when SQLite makes them; an older
/// database may predate that, so they are tightened too (best effort).
fn protect_companions(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        if file.exists() {
            let _ = crate::platform::restrict_to_owner(&file);
        }
    }
}

/// Columns a read-only (panel) connection may never read: private keys stay on the writer.
const SECRET_COLUMNS: &[(&str, &str)] = &[
    ("signing_keys", "sealed"),
    ("license_settings", "admin_password"),
    ("sync_token", "sealed"),
];

/// Opens a read-only connection for a panel's reads (WAL lets it run beside the writer). It
/// cannot read secret columns: SQLite's authorizer refuses the statement.
pub fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let conn = open_reader(path)?;
    conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Read {
            table_name,
            column_name,
        } if SECRET_COLUMNS
            .iter()
            .any(|(t, c)| *t == table_name && *c == column_name) =>
        {
            Authorization::Deny
        }
        _ => Authorization::Allow,
    }))?;
    Ok(conn)
}

/// A read-only connection. On a read-only folder or drive, where SQLite cannot make the
/// shared-memory file a WAL database needs, the file is opened as immutable instead (nothing
/// else can be writing to it there).
pub(crate) fn open_reader(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
    let conn = Connection::open_with_flags(path, flags)?;
    let probe: Result<i64, _> = conn.query_row("PRAGMA user_version", [], |r| r.get(0));
    match probe {
        Ok(_) => {
            configure(&conn)?;
            Ok(conn)
        }
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
            ) && !folder_writable(path) =>
        {
            drop(conn);
            #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
            let conn = Connection::open_with_flags(
                immutable_uri(path),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn)?;
            Ok(conn)
        }
        Err(e) => Err(e.into()),
    }
}

/// `file:` URI of `path` with `immutable=1` (reserved characters escaped).
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'%' | b'?' | b'#' => uri.push_str(&format!("%{byte:02X}")),
            _ => uri.push(byte as char),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// True when a file can be made in the folder holding `path`.
fn folder_writable(path: &Path) -> bool {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::tempfile_in(folder).is_ok()
}

/// Refuses before opening when the database file or its folder cannot be written: SQLite would
/// otherwise open it read-only in silence and fail later, or fail to make its WAL files.
fn ensure_writable(path: &Path) -> StoreResult<()> {
    let denied = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    };
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(path)
        && denied(&e)
    {
        return Err(StoreError::ReadOnly);
    }
    if !folder_writable(path) {
        return Err(StoreError::ReadOnly);
    }
    Ok(())
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every statement a long write repeats (a pull applies thousands of changes, each through
    // a dozen statements) stays prepared.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // `rarray(?)`: the license list binds sets of ids as one parameter.
    rusqlite::vtab::array::load_module(conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// True when an SQLite error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// A LIMIT value from a count of rows.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
