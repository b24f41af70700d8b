//! Files that come from outside or go out: read with a size cap, written without clobbering.
//!
//! - [`read`] accepts only a regular file no larger than the cap for its kind ([`Limit`]), and
//!   checks that before reading it whole: a FIFO, a device, `/dev/zero` or a huge file is
//!   refused at once instead of hanging or filling memory.
//! - [`write`] writes through a temporary file created exclusively (random name, `O_EXCL`) in
//!   the destination's folder, syncs it, then renames it into place: a crash never leaves half
//!   a file, and a link planted at a predictable temporary name is never followed. It never
//!   replaces an existing file unless asked ([`Output::force`]) and never the database or its
//!   `-wal` / `-shm` companions.
//! - Secrets (key files, backups) are readable by the owner only (`crate::platform`).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The largest file accepted for each kind of input, checked before anything is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What the file is, in messages ("license request").
    pub what: &'static str,
    /// Largest accepted size in bytes.
    pub max_bytes: u64,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// A license request file (the license format's own cap).
pub const REQUEST: Limit = Limit {
    what: "license request",
    max_bytes: licensekey::MAX_REQUEST_TEXT_LEN as u64,
};
/// A license file or a serial key in a file (the license format's own cap).
pub const LICENSE: Limit = Limit {
    what: "license file",
    max_bytes: licensekey::MAX_LICENSE_TEXT_LEN as u64,
};
/// A deactivation file from a customer's machine.
pub const DEACTIVATION: Limit = Limit {
    what: "deactivation file",
    max_bytes: licensekey::MAX_DEACTIVATION_TEXT_LEN as u64,
};

/// A machine key a license request kept (the customer's side).
pub const MACHINE_KEY: Limit = Limit {
    what: "machine key",
    max_bytes: KIB,
};
/// An encrypted signing key file (under 1 KiB in practice).
pub const KEY_FILE: Limit = Limit {
    what: "encrypted key file",
    max_bytes: 16 * KIB,
};
/// A public key, base64 or PEM (the license format's own cap).
pub const PUBLIC_KEY: Limit = Limit {
    what: "public key",
    max_bytes: licensekey::MAX_PUBLIC_KEY_TEXT_LEN as u64,
};
/// A signed revocation list (the license format's own cap).
pub const REVOCATION_LIST: Limit = Limit {
    what: "revocation list",
    max_bytes: licensekey::MAX_REVOCATION_TEXT_LEN as u64,
};
/// A signed ledger checkpoint (six short lines).
pub const CHECKPOINT: Limit = Limit {
    what: "ledger checkpoint",
    max_bytes: 4 * KIB,
};
/// A CSV file for bulk issue (a million rows of typical width).
pub const CSV: Limit = Limit {
    what: "CSV file",
    max_bytes: 512 * MIB,
};
/// A file holding a portal device token on its first line.
pub const DEVICE_TOKEN: Limit = Limit {
    what: "device token file",
    max_bytes: 4 * KIB,
};
/// A CA certificate (PEM) a desk trusts for its portal.
pub const CA_CERTIFICATE: Limit = Limit {
    what: "CA certificate",
    max_bytes: 64 * KIB,
};
/// A file holding a passphrase on its first line.
pub const PASSPHRASE: Limit = Limit {
    what: "passphrase file",
    max_bytes: 4 * KIB,
};

/// What went wrong with a file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a regular file (a folder, device or pipe); refusing to read it as a {what}"
    )]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{path}: {size} bytes is more than the {max} bytes accepted for a {what}")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        size: u64,
        max: u64,
    },
    #[error("{path}: is not UTF-8 text")]
    NotText { path: PathBuf },
    #[error("{path}: already exists; choose another name or allow replacing it (--force)")]
    Exists { path: PathBuf },
    #[error("{path}: is a folder, not a file")]
    IsFolder { path: PathBuf },
    #[error("{path}: is License Desk's own database; choose another file")]
    IsDatabase { path: PathBuf },
    #[error("{path}: the folder {folder} does not exist")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("{path}: cannot write it: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads a whole file of kind `limit`, refusing anything but a regular file within the cap.
pub fn read(path: &Path, limit: Limit) -> Result<Vec<u8>, FileError> {
    let io = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = open_for_reading(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            what: limit.what,
        });
    }
    let too_large = |size| FileError::TooLarge {
        path: path.to_path_buf(),
        what: limit.what,
        size,
        max: limit.max_bytes,
    };
    if meta.len() > limit.max_bytes {
        return Err(too_large(meta.len()));
    }
    // The file may grow while it is read: never take more than the cap (plus one byte to see it).
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit.max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a whole UTF-8 text file of kind `limit` (see [`read`]).
pub fn read_text(path: &Path, limit: Limit) -> Result<String, FileError> {
    String::from_utf8(read(path, limit)?).map_err(|_| FileError::NotText {
        path: path.to_path_buf(),
    })
}

/// Opens a regular file of any size to stream it (a backup, an export), refusing a folder,
/// device or pipe the way [`read`] does.
pub fn open_regular(path: &Path, what: &'static str) -> Result<File, FileError> {
    let io = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = open_for_reading(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            what,
        });
    }
    Ok(file)
}

/// Opens without blocking on a FIFO (its writer may never come); the type is checked after.
#[cfg(unix)]
fn open_for_reading(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_for_reading(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// How [`write`] may write a file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output<'a> {
    /// Replace an existing file (a save dialog already asked; `--force` on the command line).
    pub force: bool,
    /// Readable by the owner only (key files, backups).
    pub secret: bool,
    /// The live database, whose files are never written here.
    pub database: Option<&'a Path>,
}

/// Writes `bytes` to `path` atomically: see the module docs for the rules.
pub fn write(path: &Path, bytes: &[u8], output: Output<'_>) -> Result<(), FileError> {
    write_with(path, output, |out| {
        out.write_all(bytes).map_err(|source| FileError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok::<_, FileError>(true)
    })
    .map(|_| ())
}

/// Writes what `fill` writes to `path` atomically (see the module docs). When `fill` returns
/// `Ok(false)` (the job was cancelled) or an error, nothing appears at `path`. Returns what
/// `fill` returned.
pub fn write_with<E: From<FileError>>(
    path: &Path,
    output: Output<'_>,
    fill: impl FnOnce(&mut dyn Write) -> Result<bool, E>,
) -> Result<bool, E> {
    check_destination(path, output)?;
    let folder = folder_of(path);
    let io = |source| FileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".license-desk-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if output.secret { 0o600 } else { 0o644 };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let tmp = builder.tempfile_in(&folder).map_err(io)?;
    let mut out = std::io::BufWriter::new(tmp);
    if !fill(&mut out)? {
        return Ok(false);
    }
    let tmp = out.into_inner().map_err(|e| io(e.into_error()))?;
    tmp.as_file().sync_all().map_err(io)?;
    if output.force {
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                FileError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                io(e.error)
            }
        })?;
    }
    if output.secret {
        // Unix mode bits were set at creation; elsewhere (a Windows ACL) it is done now.
        crate::platform::restrict_to_owner(path).map_err(io)?;
    }
    sync_folder(&folder);
    Ok(true)
}

/// Refuses a destination before any work is done: a missing folder, a folder, the database,
/// or (without `force`) an existing file.
pub fn check_destination(path: &Path, output: Output<'_>) -> Result<(), FileError> {
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(FileError::NoFolder {
            path: path.to_path_buf(),
            folder,
        });
    }
    if path.is_dir() {
        return Err(FileError::IsFolder {
            path: path.to_path_buf(),
        });
    }
    if let Some(database) = output.database
        && is_database_file(path, database)
    {
        return Err(FileError::IsDatabase {
            path: path.to_path_buf(),
        });
    }
    let exists = std::fs::symlink_metadata(path).is_ok();
    if exists && !output.force {
        return Err(FileError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// True when `path` names the database or one of its companion files (`-wal`, `-shm`,
/// `-journal`), however it is spelled (relative, through links).
pub fn is_database_file(path: &Path, database: &Path) -> bool {
    let Some(target) = resolve(path) else {
        return false;
    };
    let Some(db) = resolve(database) else {
        return false;
    };
    let companions = ["", "-wal", "-shm", "-journal"];
    companions.iter().any(|suffix| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        target.as_os_str() == name
    })
}

/// The canonical form of `path`: of the file if it exists (following links), else of its
/// folder joined with its name.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(full) = path.canonicalize() {
        return Some(full);
    }
    let name = path.file_name()?;
    Some(folder_of(path).canonicalize().ok()?.join(name))
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename durable (the folder entry reaches the disk). Best effort: not every platform
/// can open a folder for syncing.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_regular_files_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("req.txt");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read(&path, REQUEST).unwrap(), b"hello");
        let small = Limit {
            what: "thing",
            max_bytes: 4,
        };
        assert!(matches!(
            read(&path, small),
            Err(FileError::TooLarge {
                size: 5,
                max: 4,
                ..
            })
        ));
        assert!(matches!(
            read(dir.path(), REQUEST),
            Err(FileError::NotRegular { .. }) | Err(FileError::Read { .. })
        ));
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&path, REQUEST),
            Err(FileError::NotText { .. })
        ));
        #[cfg(unix)]
        {
            assert!(matches!(
                read(Path::new("/dev/zero"), REQUEST),
                Err(FileError::NotRegular { .. })
            ));
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                assert!(matches!(
                    read(&fifo, REQUEST),
                    Err(FileError::NotRegular { .. })
                ));
            }
        }
    }

    #[test]
    fn writes_never_clobber_unless_forced_and_never_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.lic");
        write(&out, b"one", Output::default()).unwrap();
        assert!(matches!(
            write(&out, b"two", Output::default()),
            Err(FileError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        let forced = Output {
            force: true,
            ..Output::default()
        };
        write(&out, b"two", forced).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");

        let db = dir.path().join("desk.sqlite3");
        std::fs::write(&db, b"db").unwrap();
        let guarded = Output {
            force: true,
            database: Some(&db),
            ..Output::default()
        };
        for target in [db.clone(), dir.path().join("desk.sqlite3-wal")] {
            assert!(matches!(
                write(&target, b"x", guarded),
                Err(FileError::IsDatabase { .. })
            ));
        }
        let relative = dir.path().join(".").join("desk.sqlite3");
        assert!(is_database_file(&relative, &db));
        assert_eq!(std::fs::read(&db).unwrap(), b"db");
        assert!(matches!(
            write(&dir.path().join("nope").join("x"), b"x", forced),
            Err(FileError::NoFolder { .. })
        ));
        // Only the final file is left: no temporary files behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_private_and_links_are_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.ldkey");
        let secret = Output {
            secret: true,
            ..Output::default()
        };
        write(&key, b"sealed", secret).unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // A link planted at the destination is replaced (with --force), its target untouched.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("link.lic");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(matches!(
            write(&link, b"x", Output::default()),
            Err(FileError::Exists { .. })
        ));
        write(
            &link,
            b"new",
            Output {
                force: true,
                ..Output::default()
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
