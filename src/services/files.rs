//! Saving texts the app made (a license file, a public key) where staff chose.

use crate::files::{self, FileError, Output};
use std::path::{Path, PathBuf};

/// What is being saved, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    LicenseFile,
    PublicKey,
}

impl Saved {
    /// The word people see ("License file").
    pub fn label(self) -> &'static str {
        match self {
            Saved::LicenseFile => "License file",
            Saved::PublicKey => "Public key",
        }
    }
}

/// Writes `contents` to `path` (chosen in a save dialog, which already asked before replacing a
/// file), never over the database.
pub fn save_text(path: &Path, contents: &str, database: &Path) -> Result<PathBuf, FileError> {
    files::write(
        path,
        contents.as_bytes(),
        Output {
            force: true,
            secret: false,
            database: Some(database),
        },
    )?;
    Ok(path.to_path_buf())
}
