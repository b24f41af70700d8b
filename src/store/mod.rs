//! SQLite storage: opening the file, numbered migrations, and one repository module per
//! aggregate. Repository functions take a `&Connection` (reads) or a `&Transaction` (writes)
//! so that every change and its outbox row commit together.

pub mod accounts;
pub mod billing;
pub mod keys;
pub mod ledger;
pub mod licenses;
mod migrations;
pub mod outbox;
pub mod payments;
pub mod revocations;
pub mod settings;

use crate::domain::FieldErrors;
use rusqlite::{Connection, OpenFlags, Transaction};
use std::path::{Path, PathBuf};

pub use migrations::{SCHEMA_VERSION, migrate_to};

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
    /// Input that fails a domain rule.
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    /// A row that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change clashes with existing data (a duplicate name, say).
    #[error("{0}")]
    Conflict(String),
    /// An export could not be written.
    #[error("export failed: {0}")]
    Export(String),
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// The read-write database. One owner: the background worker.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, sets WAL and foreign keys, and runs
    /// every pending migration.
    pub fn open(path: &Path) -> StoreResult<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A folder made here holds secrets: only its owner may read it (0700 / an ACL).
            // A folder the user chose and made already is left as it is.
            let created = !dir.exists();
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    if created {
                        crate::platform::restrict_to_owner(dir)
                    } else {
                        Ok(())
                    }
                })
                .map_err(|source| StoreError::DataDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
        }
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
        migrate_to(&mut conn, SCHEMA_VERSION)?;
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

    /// Runs `f` in one transaction: all of it commits, or none of it.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let tx = self.conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// Opens a read-only connection for a panel's reads (WAL lets it run beside the writer).
pub fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// A new time-ordered identifier (UUIDv7).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when an SQLite error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}
