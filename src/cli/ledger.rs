//! `license-desk revoke` and `license-desk ledger ...`: the audit side of issuance.

use super::{EXIT_LEDGER_BROKEN, LedgerCommand, RevokeArgs, check_out_path, emit, now, open_store};
use crate::domain::checkpoint::Checkpoint;
use crate::error::read_text;
use crate::issuance;
use crate::store::ledger::{self, ChainReport};
use anyhow::Context as _;
use std::path::Path;
use std::process::ExitCode;

pub fn revoke(args: &RevokeArgs, database: &Path) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        check_out_path("--out", out)?;
    }
    let mut store = open_store(database)?;
    if crate::store::licenses::get(store.conn(), &args.license_id)?.is_none() {
        anyhow::bail!(
            "LICENSE_ID: no license {} was issued from this desk",
            args.license_id.trim()
        );
    }
    let (key, operator) = super::issue::unlock_active(&store, &args.passphrase)?;
    let list = issuance::revoke(
        &mut store,
        &key,
        &args.license_id,
        &args.reason,
        &operator,
        now(),
    )?;
    eprintln!(
        "Revoked {}; revocation list {} now holds {} license(s)",
        args.license_id.trim(),
        list.list().sequence,
        list.list().revoked.len()
    );
    emit(args.out.as_deref(), &list.to_file())?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(command: LedgerCommand, database: &Path) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Verify { checkpoint } => verify(database, checkpoint.as_deref()),
        LedgerCommand::Checkpoint { out, passphrase } => {
            checkpoint(database, out.as_deref(), &passphrase)
        }
        LedgerCommand::Export { out } => export(database, out.as_deref()),
    }
}

fn verify(database: &Path, checkpoint: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = open_store(database)?;
    let checkpoint = match checkpoint {
        Some(path) => Some(
            Checkpoint::parse(&read_text(path)?)
                .with_context(|| format!("--checkpoint {}", path.display()))?,
        ),
        None => None,
    };
    match issuance::verify_ledger(store.conn(), checkpoint.as_ref(), |_| {})? {
        ChainReport::Intact { entries, head } => {
            println!("Ledger intact: {entries} entries, head {head}");
            Ok(ExitCode::SUCCESS)
        }
        ChainReport::Broken { seq, reason } => {
            println!("Ledger broken at entry {seq}: {reason}");
            Ok(ExitCode::from(EXIT_LEDGER_BROKEN))
        }
    }
}

fn checkpoint(
    database: &Path,
    out: Option<&Path>,
    passphrase: &super::PassphraseArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(out) = out {
        check_out_path("--out", out)?;
    }
    let store = open_store(database)?;
    let (key, _) = super::issue::unlock_active(&store, passphrase)?;
    let checkpoint = issuance::checkpoint(&store, &key, now())?;
    eprintln!("Signed checkpoint of {} ledger entries", checkpoint.entries);
    emit(out, &checkpoint.to_file())?;
    Ok(ExitCode::SUCCESS)
}

fn export(database: &Path, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(out) = out {
        check_out_path("--out", out)?;
    }
    let store = open_store(database)?;
    let text = ledger::export_csv(store.conn(), |_| true)?;
    emit(out, &text)?;
    Ok(ExitCode::SUCCESS)
}
