//! What differs between operating systems, behind one function each, so the rest of the app
//! never writes `cfg(windows)`.
//!
//! - [`restrict_to_owner`]: make a folder or file readable by the current user only. On Unix
//!   that is the mode bits (0700 / 0600); on Windows mode bits do not exist and the same
//!   promise is an ACL (see `windows.rs`).
//! - [`renderer`]: which graphics backend draws the window, and the fallback between them.
//!
//! Console text needs no code here: on Windows, Rust's stdout writes to a console with
//! WriteConsoleW (UTF-16), so "Müller Ærøskøbing 東京" shows whatever the console code page;
//! to a pipe or file it writes the UTF-8 bytes unchanged (PowerShell 5 decodes a pipe with
//! `[Console]::OutputEncoding`, which must then be UTF-8). `.ci/windows-cli.sh` checks both
//! under Wine.

pub mod renderer;
#[cfg(windows)]
mod windows;

use std::io;
use std::path::Path;

/// Makes `path` (a folder or a file) readable and writable by the current user only.
///
/// - Unix: folders become 0700, files 0600 (the owner keeps what the owner already is).
/// - Windows: the object's DACL is replaced by one entry granting the current user (the SID
///   of this process's token) full control, marked *protected* so nothing is inherited from
///   the parent folder. For a folder the entry is inherited by everything created inside it
///   later (files and sub-folders), so new files there are private without another call.
///   Administrators and SYSTEM get no entry: an administrator can still take ownership, as
///   on any Windows file, but no other account can read the data. (Under Wine, which keeps no
///   ACLs, the same call turns into Unix mode 0770.)
///
/// Call it right after creating the object, before writing anything secret into it.
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = if std::fs::metadata(path)?.is_dir() {
            0o700
        } else {
            0o600
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(windows)]
    {
        windows::restrict_to_owner(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(())
    }
}

/// Whether only the current user can read `path`: on Unix no group or other permission bits;
/// on Windows a DACL whose every "allow" entry is for the current user, SYSTEM or the
/// Administrators (who can take ownership of any file regardless).
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 == 0)
    }
    #[cfg(windows)]
    {
        windows::is_owner_only(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn folders_become_0700_and_files_0600() -> io::Result<()> {
        let root = tempfile::tempdir()?;
        let dir = root.path().join("data");
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let file = dir.join("key.ldkey");
        std::fs::write(&file, "secret")?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
        assert!(!is_owner_only(&dir)?);
        assert!(!is_owner_only(&file)?);

        restrict_to_owner(&dir)?;
        restrict_to_owner(&file)?;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert!(is_owner_only(&dir)?);
        assert!(is_owner_only(&file)?);
        // The owner can still use both.
        assert_eq!(std::fs::read_to_string(&file)?, "secret");
        std::fs::write(dir.join("more"), "x")?;
        Ok(())
    }

    #[test]
    fn a_missing_path_is_an_error_not_a_panic() {
        let root = tempfile::tempdir().ok();
        let missing = root.as_ref().map(|r| r.path().join("nope"));
        let missing = missing
            .as_deref()
            .unwrap_or(Path::new("/nonexistent/license-desk"));
        assert!(restrict_to_owner(missing).is_err());
        assert!(is_owner_only(missing).is_err());
    }
}
