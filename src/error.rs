//! The error of operations that span the store, the key vault and license artifacts.

use crate::domain::FieldErrors;
use crate::store::StoreError;
use std::path::PathBuf;

/// What can go wrong in key, issuance and file operations, with context for a person.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("key vault: {0}")]
    Vault(#[from] keyvault::VaultError),
    #[error("license: {0}")]
    License(#[from] licensekey::Error),
    #[error(transparent)]
    Checkpoint(#[from] crate::domain::checkpoint::CheckpointError),
    #[error("no signing key: generate one under Signing keys (or `license-desk keys new`)")]
    NoActiveKey,
    #[error("the signing key {0} is locked: unlock it with its passphrase first")]
    KeyLocked(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Result of desk operations.
pub type DeskResult<T> = Result<T, DeskError>;

/// Reads a text file with the path in the error.
pub fn read_text(path: &std::path::Path) -> DeskResult<String> {
    std::fs::read_to_string(path).map_err(|source| DeskError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a text file atomically (a temporary file beside it, then a rename), with the path
/// in the error: a crash never leaves half a license file.
pub fn write_text(path: &std::path::Path, contents: &str) -> DeskResult<()> {
    let io = |source| DeskError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("part")
    ));
    std::fs::write(&tmp, contents).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
