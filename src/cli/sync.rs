//! `license-desk sync`: one round with a portal for scripts, with an exit code that says how
//! it went.

use super::{KeepArg, SyncArgs, SyncSetupArgs, now, open_for_reading, open_store, output};
use crate::domain::settings::check_portal_url;
use crate::services::{self, sync::SyncServiceError};
use crate::sync::{self, RoundReport};
use anyhow::Context;
use portal::client::{ClientOptions, PortalClient};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// The exit codes, shown by `sync --help`.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  synced: changes went to the portal or came from it
  1  failed: the portal could not be reached, refused the token, or the desk failed
  3  nothing to do: the desk and the portal already agreed
  4  synced, and changes wait for staff in the Sync panel (refused, in conflict)";

/// Runs one round and prints what moved.
pub fn run(args: &SyncArgs, database: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let settings = crate::store::settings::load(store.conn())?;
    if settings.air_gapped {
        anyhow::bail!("{}", SyncServiceError::AirGapped);
    }
    let url = match &args.portal {
        Some(url) => {
            check_portal_url(url).map_err(|problem| anyhow::anyhow!("--portal: {problem}"))?;
            crate::domain::settings::portal_address(url).to_string()
        }
        None => services::sync::portal_of(&settings).map_err(|_| {
            anyhow::anyhow!("--portal: not given, and no portal URL is saved under Settings → Sync")
        })?,
    };
    let token = match &args.token_file {
        Some(path) => token_from_file(path)?,
        None => sealed_token(&store, &args.passphrase)?,
    };
    let extra_root_pem = match &args.ca_cert {
        Some(path) => {
            Some(crate::files::read_text(path, crate::files::CA_CERTIFICATE)?.into_bytes())
        }
        None => settings.portal_ca().map(|pem| pem.as_bytes().to_vec()),
    };
    let options = ClientOptions {
        extra_root_pem,
        ..ClientOptions::default()
    };
    let now = now();
    let outcome = PortalClient::new(&url, &token, options)
        .and_then(|mut client| client.negotiate().map(|_| client))
        .map_err(sync::SyncError::from)
        .and_then(|client| sync::round(&mut store, &client, &url, now));
    if let Err(e) = &outcome {
        let error = e.to_string();
        store.write(|tx| crate::store::sync::note_attempt(tx, &url, now, Some(&error)))?;
    }
    let report = outcome.with_context(|| format!("portal {url}"))?;
    print(&report)?;
    Ok(ExitCode::from(exit_code(&report)))
}

/// Saves the portal and background settings and seals the device token (as Settings → Sync
/// does), all or nothing: every value is checked before anything is written.
pub fn setup(args: &SyncSetupArgs, database: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let saved = crate::store::settings::load(store.conn())?;
    let portal_ca_pem = match &args.ca_cert {
        Some(path) => crate::files::read_text(path, crate::files::CA_CERTIFICATE)?,
        None => saved.portal_ca_pem.clone(),
    };
    let settings = crate::domain::settings::Settings {
        portal_url: args.portal.clone(),
        sync_enabled: args.background,
        sync_interval_minutes: args.every,
        portal_ca_pem,
        ..saved
    };
    let problems = settings.validate();
    if !problems.is_empty() {
        anyhow::bail!("{problems}");
    }
    let token = token_from_file(&args.token_file)?;
    let (row, key, _) = super::issue::unlock_active(&store, &args.passphrase)?;
    let sealed = services::sync::seal(&key, row.key_id, &token)?;
    let now = now();
    store.write(|tx| {
        crate::store::settings::save(tx, &settings)?;
        crate::store::sync::set_token(tx, &sealed, now)
    })?;
    output::text(&format!(
        "Portal: {}; device token sealed under the signing key '{}'; background sync {}",
        settings.portal(),
        row.name,
        if settings.sync_enabled {
            format!(
                "every {}",
                crate::domain::settings::every(settings.sync_interval_minutes)
            )
        } else {
            "off".to_string()
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The first line of a token file.
fn token_from_file(path: &std::path::Path) -> anyhow::Result<Zeroizing<String>> {
    let text = Zeroizing::new(crate::files::read_text(path, crate::files::DEVICE_TOKEN)?);
    let token = Zeroizing::new(text.lines().next().unwrap_or_default().trim().to_string());
    if token.is_empty() {
        anyhow::bail!("{}: the device token file is empty", path.display());
    }
    services::sync::check_token(&token).with_context(|| path.display().to_string())?;
    Ok(token)
}

/// The token sealed under Settings → Sync, opened with its signing key.
fn sealed_token(
    store: &crate::store::Store,
    passphrase: &super::PassphraseArgs,
) -> anyhow::Result<Zeroizing<String>> {
    let Some(sealed) = crate::store::sync::sealed_token(store.conn())? else {
        anyhow::bail!(
            "--token-file: not given, and no device token is sealed under Settings → Sync"
        );
    };
    let row = services::keys::get(store.conn(), sealed.key_id)?;
    let key = super::issue::unlock(store, &row, passphrase, " (it seals the device token)")?;
    Ok(services::sync::open_with(&key, &sealed)?)
}

/// The exit code for a round that finished.
pub fn exit_code(report: &RoundReport) -> u8 {
    if report.needs_review() {
        4
    } else if report.nothing_to_do() {
        3
    } else {
        0
    }
}

fn print(report: &RoundReport) -> anyhow::Result<()> {
    let push = &report.push;
    let pull = &report.pull;
    if report.renumbered > 0 {
        output::text(&format!(
            "Wallet IDs: {} accounts renumbered into the portal's block",
            report.renumbered
        ))?;
    }
    output::text(&format!(
        "Pushed: {} changes ({} acknowledged, {} refused by the portal)",
        push.sent, push.acknowledged, push.parked
    ))?;
    output::text(&format!(
        "Pulled: {} changes ({} applied, {} older than here, {} in conflict, {} refused here, {} waiting){}",
        pull.received,
        pull.applied,
        pull.older,
        pull.conflicts,
        pull.refused,
        pull.waiting,
        if pull.resynced {
            "; read again from the start"
        } else {
            ""
        }
    ))?;
    if report.needs_review() {
        output::text(&format!(
            "Waiting for staff: {} refused by the portal, {} conflicts, {} refused here",
            report.parked, report.conflicts, report.refused
        ))?;
    }
    Ok(())
}

/// Lists the pulled changes waiting for staff (the first 1,000) and counts those waiting for
/// this desk.
pub fn conflicts(database: &std::path::Path) -> anyhow::Result<ExitCode> {
    use crate::store::sync::{self as kept, InboxState};
    let store = open_for_reading(database)?;
    let conn = store.conn();
    let items = kept::for_staff(conn, 1_000)?;
    let waiting = kept::count(conn, InboxState::Waiting, u64::MAX)?;
    if items.is_empty() {
        output::text("Nothing waits for staff: no conflict, nothing refused here.")?;
    }
    for item in &items {
        let c = &item.change;
        output::text(&format!(
            "{}  {}  {} {} from desk {}{}",
            c.change_id,
            item.state.as_str(),
            c.entity,
            c.entity_id,
            c.desk_id,
            if item.note.is_empty() {
                String::new()
            } else {
                format!(": {}", item.note)
            }
        ))?;
        if let Some(local) = &item.local {
            output::text(&format!("    theirs: {} {}", c.op, c.body))?;
            output::text(&format!("    mine:   {} {}", local.op, local.body))?;
            if let Ok(fields) = sync::merge::differing(&local.body, &c.body) {
                for f in fields {
                    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
                    output::text(&format!(
                        "    field {}: mine {} | theirs {}",
                        f.path,
                        shown(&f.mine),
                        shown(&f.theirs)
                    ))?;
                }
            }
        }
    }
    if waiting > 0 {
        output::text(&format!(
            "{waiting} pulled changes wait for a desk that applies their kind (kept, not lost)"
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps one version of a conflict, or merges the two field by field.
pub fn resolve(
    change_id: &str,
    keep: KeepArg,
    theirs: Vec<String>,
    database: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let id: crate::domain::ids::ChangeId = change_id
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("CHANGE_ID: '{change_id}' is not a change id (a UUID)"))?;
    let keep = match (keep, theirs.is_empty()) {
        (KeepArg::Mine, true) => sync::resolve::Keep::Mine,
        (KeepArg::Theirs, true) => sync::resolve::Keep::Theirs,
        (KeepArg::Merged, false) => sync::resolve::Keep::Merged {
            from_theirs: theirs,
        },
        (KeepArg::Merged, true) => {
            anyhow::bail!("--theirs: name at least one field to take from the other desk's version")
        }
        (_, false) => anyhow::bail!("--theirs: only with --keep merged"),
    };
    let mut store = open_store(database)?;
    sync::resolve::resolve(&mut store, id, &keep, now())?;
    output::text(&format!(
        "Kept {} for {change_id}; it syncs as a change of this desk.",
        match &keep {
            sync::resolve::Keep::Mine => "this desk's version".to_string(),
            sync::resolve::Keep::Theirs => "the other desk's version".to_string(),
            sync::resolve::Keep::Merged { from_theirs } => format!(
                "this desk's version with {} from the other desk's",
                from_theirs.join(", ")
            ),
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}
