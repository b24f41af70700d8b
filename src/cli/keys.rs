//! `license-desk keys ...`: signing keys in the vault. Private keys leave only sealed.

use super::passphrase::{self, Purpose};
use super::{ExportFormat, KeysCommand, OutArg, emit, now, open_store};
use crate::domain::time::date;
use crate::outln;
use crate::services::keys::{self, PublicKeyFormat};
use anyhow::Context as _;
use keyvault::KdfParams;
use std::path::Path;
use std::process::ExitCode;

pub fn run(command: KeysCommand, database: &Path) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::New { name, passphrase } => create(database, &name, &passphrase, false),
        KeysCommand::Rotate { name, passphrase } => create(database, &name, &passphrase, true),
        KeysCommand::List => list(database),
        KeysCommand::Export {
            key,
            format,
            out,
            force,
        } => export(database, &key, format, OutArg::new(out.as_deref(), force)),
        KeysCommand::Import {
            file,
            activate,
            passphrase,
        } => import(database, &file, activate, &passphrase),
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
    let key = keys::generate(
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
    outln!("Created key {} ({}), {role}", key.name, key.key_id);
    if rotate {
        outln!("Licenses signed by earlier keys keep verifying with the vault's keys.");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(database: &Path) -> anyhow::Result<ExitCode> {
    let store = super::open_for_reading(database)?;
    let keys = crate::store::keys::list(store.conn())?;
    if keys.is_empty() {
        outln!("No signing keys yet: create one with `license-desk keys new --name NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    let name_width = keys
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    outln!(
        "{:<16}  {:<name_width$}  {:<7}  CREATED",
        "KEY ID",
        "NAME",
        "STATUS"
    );
    for key in &keys {
        let status = if key.active { "active" } else { "retired" };
        outln!(
            "{:<16}  {:<name_width$}  {:<7}  {}",
            key.key_id.to_string(),
            key.name,
            status,
            date(key.created_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(
    database: &Path,
    key: &str,
    format: ExportFormat,
    out: OutArg<'_>,
) -> anyhow::Result<ExitCode> {
    out.check(database)?;
    let store = super::open_for_reading(database)?;
    let row = keys::find(store.conn(), key)?;
    let (text, secret) = match format {
        ExportFormat::Base64 => (keys::export_public(&row, PublicKeyFormat::Base64)?, false),
        ExportFormat::Pem => (keys::export_public(&row, PublicKeyFormat::Pem)?, false),
        ExportFormat::Rust => (keys::export_public(&row, PublicKeyFormat::Rust)?, false),
        ExportFormat::Encrypted => (keys::encrypted_text(store.conn(), &row)?, true),
    };
    emit(out, database, &text, secret)?;
    Ok(ExitCode::SUCCESS)
}

fn import(
    database: &Path,
    file: &Path,
    activate: bool,
    args: &super::PassphraseArgs,
) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let pass = passphrase::read(
        args,
        Purpose::Unlock,
        &format!("the key file {}", file.display()),
    )?;
    let key = keys::import(&mut store, file, &pass, activate, now())
        .with_context(|| format!("importing the key file {}", file.display()))?;
    let role = if key.active {
        "active: it signs new licenses"
    } else {
        "retired: it verifies only"
    };
    outln!("Imported key {} ({}), {role}", key.name, key.key_id);
    Ok(ExitCode::SUCCESS)
}
