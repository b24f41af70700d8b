//! Where the database lives: `--data-dir`, then `LICENSE_DESK_DATA`, then the platform's
//! data directory from `directories` (never a hard-coded Unix path).

use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "LICENSE_DESK_DATA";
/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "license-desk.sqlite3";

/// Resolves the data directory: an explicit choice wins, then the environment, then the
/// platform default (`~/.local/share/license-desk`, `%APPDATA%\LicenseDesk\...`, ...).
pub fn data_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("com", "LicenseDesk", "license-desk")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            anyhow::anyhow!("no home directory found: pass --data-dir DIR or set {DATA_DIR_ENV}")
        })
}

/// Creates the platform's default data directory (and the folders above it) when it is not
/// there yet. A folder chosen with `--data-dir` or the environment is not created this way:
/// the store makes only its last level, so a missing drive is reported, not papered over.
pub fn prepare_default(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
        })?;
        crate::platform::restrict_to_owner(dir).map_err(|e| {
            anyhow::anyhow!("cannot protect the data directory {}: {e}", dir.display())
        })?;
    }
    Ok(())
}

/// True when the data directory is the platform default (no `--data-dir`, no environment).
pub fn is_default(explicit: Option<&Path>) -> bool {
    explicit.is_none() && std::env::var_os(DATA_DIR_ENV).is_none_or(|v| v.is_empty())
}

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins() {
        let dir = Path::new("some").join("where");
        assert_eq!(data_dir(Some(&dir)).ok(), Some(dir.clone()));
        assert_eq!(database_path(&dir), dir.join(DATABASE_FILE));
    }
}
