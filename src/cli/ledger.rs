//! `license-desk revoke` and `license-desk ledger ...`: the audit side of issuance.

use super::{EXIT_LEDGER_BROKEN, LedgerCommand, OutArg, RevokeArgs, emit, now, open_store, output};
use crate::domain::ids::LicenseId;
use crate::outln;
use crate::services::NoProgress;
use crate::services::licensing::{self, CheckpointCheck};
use crate::store::ledger::{ChainReport, ExportEnd};
use std::path::Path;
use std::process::ExitCode;

pub fn revoke(args: &RevokeArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let out = OutArg::new(args.out.as_deref(), args.force);
    out.check(database)?;
    let license_id: LicenseId = args
        .license_id
        .parse()
        .map_err(|e| anyhow::anyhow!("LICENSE_ID: {e}"))?;
    let mut store = open_store(database)?;
    if crate::store::licenses::get(store.conn(), license_id)?.is_none() {
        anyhow::bail!("LICENSE_ID: no license {license_id} was issued from this desk");
    }
    let (_, key, operator) = super::issue::unlock_active(&store, &args.passphrase)?;
    let list = licensing::revoke(&mut store, &key, license_id, &args.reason, &operator, now())?;
    output::note(&format!(
        "Revoked {license_id}; revocation list {} now names {} license(s)",
        list.list().sequence,
        list.list().revoked.len()
    ));
    emit(out, database, &list.to_file(), false)?;
    Ok(ExitCode::SUCCESS)
}

pub fn publish_list(
    out: OutArg<'_>,
    passphrase: &super::PassphraseArgs,
    database: &Path,
) -> anyhow::Result<ExitCode> {
    out.check(database)?;
    let store = open_store(database)?;
    let (_, key, _) = super::issue::unlock_active(&store, passphrase)?;
    let list = licensing::republish_list(&store, &key, now())?;
    let l = list.list();
    let next = l
        .next_update
        .map_or_else(|| "not set".to_string(), crate::domain::time::rfc3339);
    output::note(&format!(
        "Revocation list {} names {} license(s); next update due {next}",
        l.sequence,
        l.revoked.len(),
    ));
    emit(out, database, &list.to_file(), false)?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the newest revocation list of each other desk, or writes `desk`'s.
pub fn other_desks_lists(
    desk: Option<&str>,
    out: OutArg<'_>,
    database: &Path,
) -> anyhow::Result<ExitCode> {
    let store = super::open_for_reading(database)?;
    let lists = crate::store::peers::latest_revocation_lists(store.conn())?;
    let Some(desk) = desk else {
        if lists.is_empty() {
            output::text("No other desk's revocation list has arrived (sync brings them).")?;
        }
        for l in &lists {
            output::text(&format!(
                "desk {}: list {} signed by key {}, issued {}",
                l.desk_id,
                l.sequence,
                l.key_id,
                crate::domain::time::rfc3339(l.issued_at)
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    out.check(database)?;
    let Some(list) = lists.iter().find(|l| l.desk_id.to_string() == desk.trim()) else {
        anyhow::bail!("--desk: no revocation list of desk '{desk}' is here");
    };
    emit(out, database, &list.file, false)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(command: LedgerCommand, database: &Path) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Verify { checkpoint, pubkey } => {
            let check = checkpoint
                .zip(pubkey)
                .map(|(checkpoint, public_key)| CheckpointCheck {
                    checkpoint,
                    public_key,
                });
            verify(database, check.as_ref())
        }
        LedgerCommand::Checkpoint {
            out,
            force,
            passphrase,
        } => checkpoint(database, OutArg::new(out.as_deref(), force), &passphrase),
        LedgerCommand::Export { out, force } => {
            export(database, OutArg::new(out.as_deref(), force))
        }
    }
}

fn verify(database: &Path, check: Option<&CheckpointCheck>) -> anyhow::Result<ExitCode> {
    let store = super::open_for_reading(database)?;
    let checkpoint = match check {
        Some(check) => Some(
            licensing::read_checkpoint(check)
                .map_err(|e| anyhow::anyhow!("--checkpoint {}: {e}", check.checkpoint.display()))?,
        ),
        None => None,
    };
    match licensing::verify_ledger(store.conn(), checkpoint.as_ref(), &mut NoProgress)? {
        ChainReport::Intact { entries, head } => {
            outln!(
                "Ledger intact: {entries} entries, head {}",
                hex::encode(head)
            );
            if let Some(checkpoint) = &checkpoint {
                outln!(
                    "It reaches the signed checkpoint of {} entries (key {}).",
                    checkpoint.entries,
                    checkpoint.key_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ChainReport::Broken { at, reason } => {
            match at {
                Some(seq) => outln!("Ledger broken at entry {seq}: {reason}"),
                None => outln!("Ledger broken: {reason}"),
            }
            Ok(ExitCode::from(EXIT_LEDGER_BROKEN))
        }
    }
}

fn checkpoint(
    database: &Path,
    out: OutArg<'_>,
    passphrase: &super::PassphraseArgs,
) -> anyhow::Result<ExitCode> {
    out.check(database)?;
    let store = open_store(database)?;
    let (row, key, _) = super::issue::unlock_active(&store, passphrase)?;
    let checkpoint = licensing::checkpoint(store.conn(), &key, now())?;
    output::note(&format!(
        "Signed checkpoint of {} ledger entries with key {}; keep it, and the public key \
         (`license-desk keys export {}`), off this machine",
        checkpoint.entries, row.key_id, row.key_id
    ));
    emit(out, database, &checkpoint.to_file(), false)?;
    Ok(ExitCode::SUCCESS)
}

fn export(database: &Path, out: OutArg<'_>) -> anyhow::Result<ExitCode> {
    out.check(database)?;
    let store = super::open_for_reading(database)?;
    match out.path {
        Some(path) => {
            if let ExportEnd::Complete { written } =
                licensing::export_ledger(&store, path, out.force, &mut NoProgress)?
            {
                output::note(&format!("Wrote {written} entries to {}", path.display()));
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            crate::store::ledger::export_csv(store.conn(), &mut stdout, |_| true)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
