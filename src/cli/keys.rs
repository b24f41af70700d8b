//! `license-desk keys ...`: signing keys in the vault. Private keys leave only sealed.

use super::passphrase::{self, Purpose};
use super::{ExportFormat, KeysCommand, emit, now, open_store, rfc3339};
use crate::vault::{self, PublicKeyFormat};
use keyvault::KdfParams;
use std::path::Path;
use std::process::ExitCode;

pub fn run(command: KeysCommand, database: &Path) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::New { name, passphrase } => create(database, &name, &passphrase, false),
        KeysCommand::Rotate { name, passphrase } => create(database, &name, &passphrase, true),
        KeysCommand::List => list(database),
        KeysCommand::Export { key, format, out } => export(database, &key, format, out.as_deref()),
        KeysCommand::Import { file, activate } => import(database, &file, activate),
    }
}

fn create(
    database: &Path,
    name: &str,
    args: &super::PassphraseArgs,
    rotate: bool,
) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    if name.trim().is_empty() {
        anyhow::bail!("--name: is required");
    }
    // Refuse a duplicate before asking for a passphrase nobody will use.
    if crate::store::keys::find(store.conn(), name)?.is_some() {
        anyhow::bail!(
            "--name: a key named '{}' is already in the vault",
            name.trim()
        );
    }
    let pass = passphrase::read(
        args,
        Purpose::New,
        &format!("the new key '{}'", name.trim()),
    )?;
    let key = vault::generate(
        &mut store,
        name,
        &pass,
        KdfParams::INTERACTIVE,
        rotate,
        now(),
    )?;
    let role = if key.active {
        "active: it signs new licenses"
    } else {
        "retired"
    };
    println!("Created key {} ({}), {role}", key.name, key.key_id);
    if rotate {
        println!("Licenses signed by earlier keys keep verifying with the vault's keys.");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(database: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(database)?;
    let keys = crate::store::keys::list(store.conn())?;
    if keys.is_empty() {
        println!("No signing keys yet: create one with `license-desk keys new --name NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    let name_width = keys
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<16}  {:<name_width$}  {:<7}  CREATED",
        "KEY ID", "NAME", "STATUS"
    );
    for key in &keys {
        let status = if key.active { "active" } else { "retired" };
        let created = rfc3339(key.created_at);
        let date = created.get(..10).unwrap_or(&created);
        println!(
            "{:<16}  {:<name_width$}  {:<7}  {date}",
            key.key_id, key.name, status
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(
    database: &Path,
    key: &str,
    format: ExportFormat,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(database)?;
    let row = vault::find(store.conn(), key)?;
    let text = match format {
        ExportFormat::Base64 => vault::export_public(&row, PublicKeyFormat::Base64)?,
        ExportFormat::Pem => vault::export_public(&row, PublicKeyFormat::Pem)?,
        ExportFormat::Rust => vault::export_public(&row, PublicKeyFormat::Rust)?,
        ExportFormat::Encrypted => vault::export_encrypted(store.conn(), &row)?,
    };
    emit(out, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn import(database: &Path, file: &Path, activate: bool) -> anyhow::Result<ExitCode> {
    let armored = crate::error::read_text(file)?;
    let mut store = open_store(database)?;
    let key = vault::import(&mut store, &armored, activate)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let role = if key.active {
        "active: it signs new licenses"
    } else {
        "retired: it verifies only"
    };
    println!("Imported key {} ({}), {role}", key.name, key.key_id);
    Ok(ExitCode::SUCCESS)
}
