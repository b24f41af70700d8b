//! `license-desk verify` (what a product does, from the command line) and `license-desk
//! request` (what a customer's machine does). Each failure has its own exit code.

use super::{OutArg, RequestArgs, VerifyArgs, emit, now};
use crate::cli::output::OutputError;
use crate::domain::time::rfc3339;
use crate::files;
use crate::outln;
use anyhow::Context as _;
use licensekey::{
    Error, KeyRing, LicensePayload, LicenseStatus, MachineBinding, RevocationCheck,
    RevocationState, SignedLicense, VerifyContext,
};
use std::path::Path;
use std::process::ExitCode;

/// The exit-code table, shown by `verify --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  valid (also while in the grace period after expiry)
   1  other error (file not readable, bad revocation list, no keys, ...)
   2  usage error (bad flags)
  10  malformed: not a license file or serial key (also: not UTF-8, a BOM, too large)
  11  bad checksum: a typo or a damaged copy of a serial key
  12  unknown key id: signed by a key that is not trusted here
  13  bad signature: the license was altered or forged
  14  not yet valid
  15  expired (grace period over)
  16  wrong binding: another cluster, IP address or machine
  17  revoked (the license, or the key that signed it)
  18  wrong product: a genuine license for another product (--product)
  19  not issued here: signed by a key of this desk's vault (no --pubkey) but missing from its
      ledger";

/// The exit code for a license error (1 for errors that are not about the license).
pub fn exit_code_for(error: &Error) -> u8 {
    match error {
        Error::Malformed(_) => 10,
        Error::BadChecksum => 11,
        Error::UnknownKeyId(_) => 12,
        Error::BadSignature => 13,
        Error::NotYetValid { .. } => 14,
        Error::Expired { .. } => 15,
        Error::WrongBinding(_) => 16,
        Error::Revoked => 17,
        Error::WrongProduct { .. } => 18,
        _ => 1,
    }
}

/// Reads an artifact file as text: only a regular file within the format's cap for its kind,
/// and only UTF-8 without a byte order mark. An oversized or undecodable file is a malformed
/// artifact (`Ok(Err(..))`, its own exit code); one that cannot be read at all is an error.
fn read_artifact(path: &Path, limit: files::Limit) -> anyhow::Result<licensekey::Result<String>> {
    let bytes = match files::read(path, limit) {
        Ok(bytes) => bytes,
        Err(files::FileError::TooLarge { size, max, .. }) => {
            return Ok(Err(Error::Malformed(format!(
                "{} is {size} bytes; at most {max} are accepted",
                path.display()
            ))));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(licensekey::text_from_bytes(&bytes).map(str::to_owned))
}

/// The trusted keys: each `--pubkey` (a file or inline text), else the local vault's keys.
fn key_ring(pubkeys: &[String], database: &Path) -> anyhow::Result<KeyRing> {
    let mut ring = KeyRing::new();
    if pubkeys.is_empty() {
        if !database.exists() {
            anyhow::bail!(
                "no --pubkey given and no vault at {} to take keys from",
                database.display()
            );
        }
        let store = super::open_for_reading(database)?;
        ring = crate::services::keys::keyring(store.conn())?;
        if ring.key_ids().next().is_none() {
            anyhow::bail!(
                "no --pubkey given and the vault at {} has no keys",
                database.display()
            );
        }
        return Ok(ring);
    }
    for arg in pubkeys {
        let path = Path::new(arg);
        let (text, origin) = if path.is_file() {
            (
                files::read_text(path, files::PUBLIC_KEY)?,
                format!("--pubkey {}", path.display()),
            )
        } else {
            (arg.clone(), format!("--pubkey '{arg}'"))
        };
        let key = licensekey::parse_public_key(&text).map_err(|e| {
            anyhow::anyhow!("{origin}: not a public key in base64 or PEM (and no such file): {e}")
        })?;
        ring.insert(key)
            .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    }
    Ok(ring)
}

pub fn run(args: &VerifyArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let path = Path::new(&args.license);
    let from_file = path.is_file();
    let text = if from_file {
        match read_artifact(path, files::LICENSE)? {
            Ok(text) => text,
            Err(error) => return Ok(refuse(&error, None)?),
        }
    } else {
        args.license.clone()
    };
    let ring = key_ring(&args.pubkeys, database)?;
    let now = args.at.unwrap_or_else(now);
    let revocations = match &args.revocations {
        Some(file) => {
            let fail = |e: Error| anyhow::anyhow!("--revocations {}: {e}", file.display());
            let list_text = read_artifact(file, files::REVOCATION_LIST)?.map_err(fail)?;
            let seen = args.seen_sequence.map(RevocationState::sequence_only);
            let mut check = RevocationCheck::at(now);
            if let Some(seen) = &seen {
                check = check.after(seen);
            }
            if let Some(days) = args.max_list_age {
                check = check.max_age_days(days);
            }
            let list =
                licensekey::verify_revocation_list(&list_text, &ring, &check).map_err(fail)?;
            Some(list)
        }
        None => None,
    };
    let machine = args.this_machine.then(licensekey::MachineInfo::collect);
    let mut ctx = match &args.product {
        Some(product) => VerifyContext::for_product(product, now),
        None => VerifyContext::any_product(now),
    };
    if let Some(machine) = &machine {
        ctx = ctx.with_machine(machine);
    }
    if let Some(cluster) = args.cluster {
        ctx = ctx.with_cluster(cluster);
    }
    if let Some(ip) = args.ip {
        ctx = ctx.with_ip(ip);
    }
    if let Some(list) = &revocations {
        ctx = ctx.with_revocations(list);
    }
    // With the vault's own keys, the desk can also say whether it issued the license: a valid
    // signature by one of its keys with no ledger entry means the database was tampered with
    // (or the key leaked).
    let desk = args.pubkeys.is_empty();
    match licensekey::verify(&text, &ring, &ctx) {
        Ok(verified) => {
            print_summary(&verified.payload)?;
            let issued_here = !desk || ledger_line(database, &text)?;
            match verified.status {
                LicenseStatus::Valid => outln!("VALID"),
                LicenseStatus::InGrace { days_left } => {
                    let s = if days_left == 1 { "" } else { "s" };
                    outln!("VALID (in grace, {days_left} day{s} left)");
                }
            }
            if issued_here {
                Ok(ExitCode::SUCCESS)
            } else {
                outln!("NOT ISSUED HERE: signed by a key of this desk, but not in its ledger");
                Ok(ExitCode::from(EXIT_NOT_ISSUED_HERE))
            }
        }
        Err(error) => {
            let mut hint = None;
            if matches!(error, Error::Malformed(_)) && !from_file {
                hint = Some(format!(" (and there is no file named '{}')", args.license));
            }
            // Rule failures come after the signature check: the content is genuine, show it.
            if matches!(exit_code_for(&error), 14..=18)
                && let Ok(license) = SignedLicense::parse(&text)
            {
                print_summary(license.payload())?;
                if desk {
                    ledger_line(database, &text)?;
                }
            }
            Ok(refuse(&error, hint)?)
        }
    }
}

/// Exit code of `verify` for a license signed by a key of this desk but missing from its
/// ledger (checked only with the vault's keys, not with `--pubkey`).
pub const EXIT_NOT_ISSUED_HERE: u8 = 19;

/// Prints whether this desk's ledger holds the license, and returns whether it does.
fn ledger_line(database: &Path, text: &str) -> anyhow::Result<bool> {
    let store = super::open_for_reading(database)?;
    let license = SignedLicense::parse(text)?;
    let id = crate::domain::ids::LicenseId(license.payload().license_id);
    if !crate::services::licensing::issued_here(store.conn(), &license)? {
        outln!("Ledger:      no entry in this desk's ledger");
        return Ok(false);
    }
    let status = crate::store::licenses::get(store.conn(), id)?
        .map(|row| row.status.label())
        .unwrap_or("unknown");
    let entry = crate::store::ledger::issue_entry(store.conn(), id)?
        .map(|e| e.seq.to_string())
        .unwrap_or_default();
    outln!("Ledger:      issued here (entry {entry}), {status} in this desk");
    Ok(true)
}

/// Prints why the license is refused and returns its exit code.
fn refuse(error: &Error, hint: Option<String>) -> Result<ExitCode, OutputError> {
    let mut reason = describe(error);
    reason.push_str(&hint.unwrap_or_default());
    outln!("INVALID: {reason}");
    Ok(ExitCode::from(exit_code_for(error)))
}

/// The error in words, with times as dates rather than unix seconds.
fn describe(error: &Error) -> String {
    match error {
        Error::NotYetValid { not_before } => format!("not valid before {}", rfc3339(*not_before)),
        Error::Expired {
            expires_at,
            grace_ended_at,
        } => format!(
            "expired at {}, grace period ended at {}",
            rfc3339(*expires_at),
            rfc3339(*grace_ended_at)
        ),
        other => other.to_string(),
    }
}

fn print_summary(p: &LicensePayload) -> Result<(), OutputError> {
    outln!("Product:     {}", p.product);
    outln!("Kind:        {}", p.kind.name());
    outln!("Customer:    {}", p.customer);
    outln!("License id:  {}", p.license_id);
    outln!("Key id:      {}", p.key_id);
    outln!("Issued:      {}", rfc3339(p.issued_at));
    match p.expires_at {
        Some(at) => outln!("Expires:     {} (grace {} days)", rfc3339(at), p.grace_days),
        None => outln!("Expires:     never (perpetual)"),
    }
    if let Some(until) = p.support_until {
        outln!("Support:     until {}", rfc3339(until));
    }
    outln!("Capacity:    {} TB", p.capacity_tb);
    outln!("Seats:       {}", p.seats);
    let b = &p.binding;
    let mut binding = Vec::new();
    if let Some(cluster) = b.cluster {
        binding.push(format!("cluster {cluster}"));
    }
    if let Some(ip) = b.ip {
        binding.push(format!("IP {ip}"));
    }
    if let Some(MachineBinding {
        strong,
        min_strong_matches,
        weak,
        ..
    }) = &b.machine
    {
        let names = |list: &[licensekey::MachineComponent]| {
            list.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        binding.push(format!(
            "machine: {min_strong_matches} of {} strong identifiers ({}), at most one of {} weak parts may differ ({})",
            strong.len(),
            names(strong),
            weak.len(),
            names(weak)
        ));
    }
    if !b.legacy_fingerprints.is_empty() {
        binding.push(format!(
            "{} of {} machine fingerprints (version 1)",
            b.legacy_min_matches,
            b.legacy_fingerprints.len()
        ));
    }
    if binding.is_empty() {
        outln!("Binding:     none");
    } else {
        outln!("Binding:     {}", binding.join(", "));
    }
    if p.features.is_empty() {
        outln!("Features:    none");
    } else {
        outln!("Features:    {}", p.features.join(", "));
    }
    Ok(())
}

/// `license-desk request`: a license request for this machine.
pub fn request(args: &RequestArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let out = OutArg::new(args.out.as_deref(), args.force);
    out.check(database)?;
    let mut request = licensekey::LicenseRequest::for_this_machine(args.cluster, now())
        .context("collecting this machine's identifiers")?;
    request.label.clone_from(&args.label);
    // The machine's own key: its public half travels in the request (version 3), the private
    // half stays here to sign a deactivation file when the license is removed.
    let machine_key = super::licenses::new_machine_key(database, &request.salt)?;
    let request = request.with_machine_key(machine_key);
    let file = request.to_file().context("encoding the request")?;
    emit(out, database, &file, false)?;
    if request.strong.is_empty() {
        super::output::note(
            "Warning: no strong machine identifier (machine-id, DMI UUID, MachineGuid, \
             IOPlatformUUID) was found here, so the license cannot be bound to this machine.",
        );
    }
    if args.out.is_some() {
        super::output::note(&format!(
            "Send it to your vendor; it carries salted fingerprints of {} strong and {} weak \
             machine identifiers{} (no raw values){}.",
            request.strong.len(),
            request.weak.len(),
            args.cluster
                .map(|c| format!(" and cluster {c}"))
                .unwrap_or_default(),
            if request.label.is_empty() {
                String::new()
            } else {
                format!(", labelled '{}'", request.label)
            }
        ));
    }
    Ok(ExitCode::SUCCESS)
}
