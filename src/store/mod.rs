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
pub mod billing;
pub mod commerce;
pub mod dashboard;
pub mod desk;
pub mod invoices;
pub mod keys;
pub mod ledger;
pub mod licenses;
pub mod mail_outbox;
mod migrations;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod price_lists;
pub mod quotes;
pub mod referrals;
pub mod renewals;
pub mod revocations;
pub mod seats;
pub mod settings;
mod sql;
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
    /// SQLite refused or failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("could not upgrade the database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The database was written by a newer License Desk.
    #[error(
        "the database is at schema version {found}, newer than this build knows ({known}); use a newer License Desk"
    )]
    TooNew { found: i64, known: i64 },
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
    /// The data directory could not be created or protected.
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// One step of opening a database, reported while migrations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenProgress {
    /// Schema version found in the file.
    pub from: i64,
    /// Version being applied now (0 before the first step).
    pub applying: i64,
    /// The version this build writes.
    pub to: i64,
}

/// The read-write database. One owner at a time: the background worker or a CLI command.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`: folder readable by the owner only,
    /// WAL, foreign keys, every pending migration, and this desk's identity.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with_progress(path, |_| {})
    }

    /// Like [`Store::open`], telling `progress` about each migration step (a large database may
    /// take a while to upgrade; the app shows it).
    pub fn open_with_progress(
        path: &Path,
        mut progress: impl FnMut(OpenProgress),
    ) -> StoreResult<Store> {
        prepare_files(path)?;
        #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            // Table rebuilds need foreign keys off (SQLite's documented procedure); they are
            // checked as a whole afterwards and switched back on.
            conn.pragma_update(None, "foreign_keys", "OFF")?;
            for version in found + 1..=SCHEMA_VERSION {
                progress(OpenProgress {
                    from: found,
                    applying: version,
                    to: SCHEMA_VERSION,
                });
                migrate_to(&mut conn, version)?;
            }
            conn.pragma_update(None, "foreign_keys", "ON")?;
            let broken: i64 =
                conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                return Err(StoreError::Corrupt(format!(
                    "{broken} rows refer to rows that do not exist"
                )));
            }
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.write(|tx| desk::ensure(tx).map(|_| ()))?;
        protect_companions(path);
        Ok(store)
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(e.into()))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(e.into()))?;
        Ok(value)
    }
}

/// Creates the folder (owner only) and the database file (owner only) before SQLite does, so
/// neither is ever readable by other users, not even for a moment.
fn prepare_files(path: &Path) -> StoreResult<()> {
    let dir_error = |dir: &Path, source| StoreError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|e| dir_error(dir, e))?;
        crate::platform::restrict_to_owner(dir).map_err(|e| dir_error(dir, e))?;
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(dir_error(path, e)),
        }
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
const SECRET_COLUMNS: &[(&str, &str)] = &[("signing_keys", "sealed")];

/// Opens a read-only connection for a panel's reads (WAL lets it run beside the writer). It
/// cannot read secret columns: SQLite's authorizer refuses the statement.
pub fn open_read_only(path: &Path) -> StoreResult<Connection> {
    #[allow(clippy::disallowed_methods)] // The store is the owner of connections.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
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

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

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
