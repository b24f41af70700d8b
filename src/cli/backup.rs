//! `license-desk backup`, `backups`, `restore`, `export` and `import`.

use super::passphrase::{self, Purpose};
use super::progress::Bar;
use super::{BackupArgs, ExportArgs, ImportArgs, RestoreArgs, open_store};
use crate::outln;
use crate::services::backup::{self as service, BackupError, Preview, size_text};
use crate::services::keys::Secret;
use crate::services::licensing::{self, CheckpointCheck};
use crate::store::backup::{self as copies, Verdict};
use chrono::{DateTime, Utc};
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

fn now() -> DateTime<Utc> {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now()
}

fn encryption(args: &super::EncryptArgs, what: &str) -> anyhow::Result<Option<Secret>> {
    if !args.encrypt {
        return Ok(None);
    }
    Ok(Some(Secret::from(passphrase::read(
        &args.passphrase,
        Purpose::New,
        what,
    )?)))
}

/// `backup FILE` and `backup --daily`.
pub fn back_up(args: &BackupArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let store = if args.daily {
        open_store(database)?
    } else {
        super::open_for_reading(database)?
    };
    if args.daily {
        let taken = service::daily(&store, now(), false, &mut Bar::percent("Backing up"))?;
        match taken {
            Some(written) => outln!(
                "Daily backup written to {} ({}, verified)",
                written.path.display(),
                size_text(written.bytes)
            ),
            None => outln!("No daily backup due (or daily backups are off in Settings)"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(file) = &args.file else {
        anyhow::bail!("FILE: say where to write the backup (or use --daily)");
    };
    crate::files::check_destination(
        file,
        crate::files::Output {
            force: args.force,
            secret: true,
            database: Some(database),
        },
    )?;
    let passphrase = encryption(&args.encryption, "the backup")?;
    let written = service::back_up(
        &store,
        file,
        passphrase.as_ref(),
        args.force,
        now(),
        &mut Bar::percent("Backing up"),
    )?;
    outln!(
        "Backup written to {} ({}; {} accounts, {} licenses, {} ledger entries; {}{})",
        written.path.display(),
        size_text(written.bytes),
        written.contents.accounts,
        written.contents.licenses,
        written.contents.ledger_entries,
        verdict_text(&written.verdict),
        if written.encrypted { "; encrypted" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Verified => "verified".into(),
        other => other.label(),
    }
}

/// `backups`: the backups folder, newest first.
pub fn list(database: &Path) -> anyhow::Result<ExitCode> {
    let listed = copies::list(database)?;
    if listed.is_empty() {
        outln!("No backups in {} yet", copies::folder(database).display());
        return Ok(ExitCode::SUCCESS);
    }
    outln!("taken_at\tkind\tsize\tlicenses\tlast_ledger_entry\tverified\tfile");
    for item in listed {
        match &item.description {
            Some(d) => outln!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                crate::domain::time::rfc3339(d.taken_at),
                d.kind.label(),
                size_text(d.bytes),
                d.contents.licenses,
                d.contents.ledger_entries,
                verdict_text(&d.verdict),
                item.path.display()
            ),
            None => outln!("?\t?\t?\t?\t?\tnot described\t{}", item.path.display()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `attempt` without a passphrase, and again with one when the file turns out encrypted.
fn with_passphrase<T>(
    args: &super::PassphraseArgs,
    what: &str,
    mut attempt: impl FnMut(Option<&Secret>) -> Result<T, BackupError>,
) -> anyhow::Result<T> {
    match attempt(None) {
        Err(BackupError::NeedsPassphrase { .. }) => {
            let secret = Secret::from(passphrase::read(args, Purpose::Unlock, what)?);
            Ok(attempt(Some(&secret))?)
        }
        other => Ok(other?),
    }
}

/// `restore FILE`: check, show, confirm, restore.
pub fn restore(args: &RestoreArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let checkpoint = match (&args.checkpoint, &args.pubkey) {
        (Some(checkpoint), Some(key)) => Some(licensing::read_checkpoint(&CheckpointCheck {
            checkpoint: checkpoint.clone(),
            public_key: key.clone(),
        })?),
        _ => None,
    };
    let mut store = match crate::store::Store::open(database) {
        Ok(store) => store,
        Err(e @ crate::store::StoreError::Damaged { .. }) => {
            return restore_in_place(args, database, &e);
        }
        Err(e) => return Err(super::open_error(database, &e)),
    };
    let preview = with_passphrase(&args.passphrase, "the backup", |secret| {
        service::preview(
            &store,
            &args.file,
            secret,
            checkpoint.as_ref(),
            &mut Bar::percent("Checking"),
        )
    })?;
    show(&preview)?;
    if let Some(why) = preview.refusal() {
        anyhow::bail!("{}: cannot be restored: {why}", args.file.display());
    }
    if args.dry_run {
        outln!("Dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("add --yes to restore without being asked (nothing was changed)");
        }
        eprint!("Restore this backup over the current database? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            outln!("Nothing was changed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let restored = with_passphrase(&args.passphrase, "the backup", |secret| {
        service::restore(
            &mut store,
            &args.file,
            secret,
            checkpoint.as_ref(),
            now(),
            &mut Bar::percent("Restoring"),
        )
    })?;
    outln!(
        "Restored. The database it replaced is kept at {}; restore that file to undo this.",
        restored.set_aside.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `restore` over a database file that cannot be opened: the backup takes its place and the
/// damaged file is moved into `damaged/`.
fn restore_in_place(
    args: &RestoreArgs,
    database: &Path,
    damage: &crate::store::StoreError,
) -> anyhow::Result<ExitCode> {
    outln!(
        "The current database cannot be opened ({damage}); the backup will take its place and the damaged file will be moved into {}",
        database
            .parent()
            .unwrap_or(Path::new("."))
            .join("damaged")
            .display()
    );
    if args.dry_run {
        outln!("Dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        anyhow::bail!(
            "add --yes to put the backup in place of the damaged file (nothing was changed)"
        );
    }
    let restored = with_passphrase(&args.passphrase, "the backup", |secret| {
        service::restore_in_place_of(
            database,
            &args.file,
            secret,
            now(),
            &mut Bar::percent("Restoring"),
        )
    })?;
    show(&restored.preview)?;
    outln!(
        "Restored. The damaged file was moved to {}",
        restored.set_aside.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(preview: &Preview) -> anyhow::Result<()> {
    let c = &preview.contents;
    outln!(
        "Backup {}: schema {}, {} accounts, {} licenses, {} invoices, {} ledger entries{}",
        preview.file.display(),
        c.schema,
        c.accounts,
        c.licenses,
        c.invoices,
        c.ledger_entries,
        if preview.encrypted {
            " (encrypted)"
        } else {
            ""
        }
    );
    if let Some(now) = &preview.current {
        outln!(
            "Current database: {} accounts, {} licenses, {} invoices, {} ledger entries",
            now.accounts,
            now.licenses,
            now.invoices,
            now.ledger_entries
        );
    }
    outln!("Check: {}", verdict_text(&preview.verdict));
    for warning in preview.warnings() {
        outln!("Warning: {warning}");
    }
    Ok(())
}

/// `export FILE`.
pub fn export(args: &ExportArgs, database: &Path) -> anyhow::Result<ExitCode> {
    crate::files::check_destination(
        &args.file,
        crate::files::Output {
            force: args.force,
            secret: true,
            database: Some(database),
        },
    )?;
    let store = super::open_for_reading(database)?;
    let passphrase = encryption(&args.encryption, "the export")?;
    let totals = service::export(
        &store,
        &args.file,
        passphrase.as_ref(),
        args.force,
        now(),
        &mut Bar::percent("Exporting"),
    )?;
    outln!(
        "Exported {} rows of {} tables to {}",
        totals.rows,
        totals.tables,
        args.file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `import FILE`.
pub fn import(args: &ImportArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let (totals, set_aside) = with_passphrase(&args.passphrase, "the export", |secret| {
        service::import(
            &mut store,
            &args.file,
            secret,
            now(),
            &mut Bar::percent("Importing"),
        )
    })?;
    outln!(
        "Imported {} rows of {} tables from {} (the empty database it replaced is kept at {})",
        totals.rows,
        totals.tables,
        args.file.display(),
        set_aside.display()
    );
    Ok(ExitCode::SUCCESS)
}
