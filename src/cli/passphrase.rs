//! Where a passphrase comes from: `--passphrase-file`, then `LICENSE_DESK_PASSPHRASE`, then a
//! prompt (only when stdin is a terminal, so scripts fail clearly instead of hanging).

use super::PassphraseArgs;
use anyhow::Context as _;
use std::io::IsTerminal as _;
use zeroize::Zeroizing;

/// Environment variable holding the passphrase for scripts.
pub const PASSPHRASE_ENV: &str = "LICENSE_DESK_PASSPHRASE";

/// Whether a new passphrase is being chosen (asked twice) or an existing one entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Sealing a new key: a prompt asks twice.
    New,
    /// Unlocking an existing key.
    Unlock,
}

/// Reads the passphrase for `what` ("the new key 'ops-2026'").
pub fn read(
    args: &PassphraseArgs,
    purpose: Purpose,
    what: &str,
) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = &args.passphrase_file {
        let text = Zeroizing::new(
            crate::files::read_text(path, crate::files::PASSPHRASE)
                .with_context(|| "--passphrase-file".to_string())?,
        );
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            anyhow::bail!(
                "--passphrase-file {}: the first line is empty",
                path.display()
            );
        }
        return Ok(Zeroizing::new(line.to_string()));
    }
    if let Ok(value) = std::env::var(PASSPHRASE_ENV)
        && !value.is_empty()
    {
        return Ok(Zeroizing::new(value));
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "no passphrase for {what}: set {PASSPHRASE_ENV}, pass --passphrase-file FILE, or run in a terminal to be asked"
        );
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("Passphrase for {what}: "))
            .context("reading the passphrase")?,
    );
    if purpose == Purpose::New {
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat the passphrase: ")
                .context("reading the passphrase")?,
        );
        if *first != *again {
            anyhow::bail!("the two passphrases differ; nothing was changed");
        }
    }
    Ok(first)
}
