//! What state a database file is in, before anything writes to it.
//!
//! A license desk's whole history lives in one file, so a file that looks damaged is never
//! written to, and never silently replaced by a new empty database: the header is read first
//! (an SQLite file starts with a fixed magic string and records its own page count), and a
//! file left by a process that did not close cleanly (its write-ahead log is still there) is
//! checked with `PRAGMA quick_check` before use.

use std::io::Read;
use std::path::Path;

/// What the file at a database path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// No file: a new database may be made there.
    Missing,
    /// A file of 0 bytes (License Desk never leaves one: it makes new databases elsewhere and
    /// renames them into place).
    Empty,
    /// Not an SQLite database at all.
    NotSqlite,
    /// Shorter than its own header says: cut off by a copy, a full disk or a failing drive.
    Truncated { expected: u64, actual: u64 },
    /// An SQLite database whose header is consistent.
    Sqlite,
}

impl FileState {
    /// The problem in words, for a state that is a problem.
    pub fn problem(&self) -> Option<String> {
        match self {
            FileState::Missing | FileState::Sqlite => None,
            FileState::Empty => Some("the file is empty (0 bytes)".into()),
            FileState::NotSqlite => Some("it is not a License Desk database (not SQLite)".into()),
            FileState::Truncated { expected, actual } => Some(format!(
                "the file is cut short: {actual} bytes where its header says {expected}"
            )),
        }
    }
}

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Reads the file's header (100 bytes) and size.
pub fn inspect(path: &Path) -> std::io::Result<FileState> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(FileState::Empty);
    }
    let mut header = [0u8; 100];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..])? {
            0 => break,
            n => read += n,
        }
    }
    if read < header.len() || &header[..16] != MAGIC {
        return Ok(FileState::NotSqlite);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
        return Ok(FileState::NotSqlite);
    }
    // The in-header page count is only meaningful when the change counter matches the
    // "version valid for" field (SQLite file format, section 1.3.7).
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if change_counter == valid_for && pages > 0 {
        let expected = pages * page_size;
        if len < expected {
            return Ok(FileState::Truncated {
                expected,
                actual: len,
            });
        }
    }
    Ok(FileState::Sqlite)
}

/// True when the database's write-ahead log is still there: the last process using it did not
/// close it (it was killed, or is still running).
pub fn has_write_ahead_log(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(std::path::PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// True when the disk holding `folder` has no room left: a small file cannot be written there.
/// SQLite reports a full disk as a plain I/O error when it cannot even make the shared-memory
/// file a WAL database needs; this tells the two apart.
pub fn disk_is_full(folder: &Path) -> bool {
    use std::io::Write as _;
    let Ok(mut probe) = tempfile::tempfile_in(folder) else {
        return false;
    };
    let written = probe
        .write_all(&[0u8; 64 * 1024])
        .and_then(|()| probe.sync_all());
    matches!(written, Err(e) if matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert_eq!(inspect(&path).unwrap(), FileState::Missing);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(inspect(&path).unwrap(), FileState::Empty);
        std::fs::write(
            &path,
            b"just some text that is long enough to have a header of sorts, \
            but it is not a database file at all and never was one in its life",
        )
        .unwrap();
        assert_eq!(inspect(&path).unwrap(), FileState::NotSqlite);

        std::fs::remove_file(&path).unwrap();
        #[allow(clippy::disallowed_methods)]
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));")
            .unwrap();
        drop(conn);
        assert_eq!(inspect(&path).unwrap(), FileState::Sqlite);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() / 2]).unwrap();
        assert!(matches!(
            inspect(&path).unwrap(),
            FileState::Truncated { actual, expected } if actual < expected
        ));
        assert!(
            inspect(&path)
                .unwrap()
                .problem()
                .unwrap()
                .contains("cut short")
        );
    }
}
