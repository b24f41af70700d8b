//! `license-desk demo-data`, `deactivate` (on the customer's machine) and
//! `apply-deactivation` (on the desk), and the machine keys a license request keeps.

use super::passphrase::{self, Purpose};
use super::progress::{self, Bar};
use super::{DeactivateArgs, DemoDataArgs, OutArg, now, open_store};
use crate::files;
use crate::outln;
use crate::services::{self, demo, keys, license_admin};
use anyhow::Context as _;
use licensekey::{Deactivation, SignedDeactivation, SignedLicense, SigningKey};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// First line of a machine key file.
const MACHINE_KEY_HEADER: &str = "License Desk machine key v1";

/// Where this machine keeps the private key of a request with this salt.
pub fn machine_key_path(database: &Path, salt: &[u8; 16]) -> PathBuf {
    database
        .parent()
        .unwrap_or(Path::new("."))
        .join("machine-keys")
        .join(format!("{}.key", hex::encode(salt)))
}

/// Makes this machine's key pair for a request with `salt` and keeps the private key in the
/// data folder, readable by the owner only. Returns the public key.
pub fn new_machine_key(
    database: &Path,
    salt: &[u8; 16],
) -> anyhow::Result<licensekey::VerifyingKey> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut seed[..]).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let path = machine_key_path(database, salt);
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        crate::platform::restrict_to_owner(dir)
            .with_context(|| format!("protecting {}", dir.display()))?;
    }
    let text = zeroize::Zeroizing::new(format!(
        "{MACHINE_KEY_HEADER}\n{}\n",
        hex::encode(&seed[..])
    ));
    files::write(
        &path,
        text.as_bytes(),
        files::Output {
            force: false,
            secret: true,
            database: Some(database),
        },
    )
    .with_context(|| format!("keeping the machine key in {}", path.display()))?;
    Ok(key.verifying_key())
}

fn read_machine_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = zeroize::Zeroizing::new(files::read_text(path, files::MACHINE_KEY)?);
    let mut lines = text.lines();
    let (Some(MACHINE_KEY_HEADER), Some(seed), None) = (lines.next(), lines.next(), lines.next())
    else {
        anyhow::bail!("{}: not a machine key file", path.display());
    };
    let seed = zeroize::Zeroizing::new(
        hex::decode(seed).map_err(|_| anyhow::anyhow!("{}: damaged", path.display()))?,
    );
    let seed: [u8; 32] = seed[..]
        .try_into()
        .map_err(|_| anyhow::anyhow!("{}: damaged", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// `deactivate --license FILE --out FILE`: on the customer's machine, signs a deactivation
/// file with the key its request kept, then removes the license and the key from this
/// machine (so the file is the proof, and no second one can be made).
pub fn deactivate(args: &DeactivateArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let out = OutArg::new(Some(&args.out), args.force);
    out.check(database)?;
    let text = files::read_text(&args.license, files::LICENSE)
        .map_err(|e| anyhow::anyhow!("--license {e}"))?;
    let license = SignedLicense::parse(&text)
        .map_err(|e| anyhow::anyhow!("--license {}: {e}", args.license.display()))?;
    let payload = license.payload();
    let Some(machine) = &payload.binding.machine else {
        anyhow::bail!(
            "license {} is not bound to a machine from a license request: it cannot be deactivated offline (ask your vendor to free its seat)",
            payload.license_id
        );
    };
    let key_path = machine_key_path(database, &machine.salt);
    if !key_path.exists() {
        anyhow::bail!(
            "no machine key for license {} on this machine ({}): it was issued from a request made elsewhere, or from a request older than version 3, and cannot be deactivated offline",
            payload.license_id,
            key_path.display()
        );
    }
    let key = read_machine_key(&key_path)?;
    let deactivation = Deactivation::new(&license, key.verifying_key(), now())?;
    let signed = SignedDeactivation::sign(deactivation, &key)?;
    files::write(
        &args.out,
        signed.to_file().as_bytes(),
        out.output(database, false),
    )
    .map_err(|e| anyhow::anyhow!("--out {e}"))?;
    drop(key);
    std::fs::remove_file(&key_path)
        .with_context(|| format!("removing the machine key {}", key_path.display()))?;
    std::fs::remove_file(&args.license)
        .with_context(|| format!("removing the license file {}", args.license.display()))?;
    outln!("Deactivated license {}", payload.license_id);
    outln!("Deactivation file: {}", args.out.display());
    super::output::note(
        "The license and this machine's key for it were removed. Send the deactivation file to your vendor: it frees the seat.",
    );
    Ok(ExitCode::SUCCESS)
}

/// `apply-deactivation FILE`: on the desk, checks and applies a deactivation file.
pub fn apply_deactivation(file: &Path, database: &Path) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let operator = services::licensing::operator(&store)?;
    match license_admin::apply_deactivation_file(&mut store, file, &operator, now()) {
        Ok(done) => {
            outln!(
                "Applied: license {} left the customer's machine{}; its seat is free ({} machine(s) still registered)",
                done.license_id,
                if done.machine.is_empty() {
                    String::new()
                } else {
                    format!(" '{}'", done.machine)
                },
                done.still_registered
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            outln!("REFUSED: {e}");
            Ok(ExitCode::from(super::EXIT_REFUSED))
        }
    }
}

/// `demo-data --licenses N --accounts M`.
pub fn demo_data(args: &DemoDataArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let mut store = open_store(database)?;
    let key = match keys::active(store.conn()) {
        Ok(row) => {
            let pass = passphrase::read(
                &args.passphrase,
                Purpose::Unlock,
                &format!("the signing key '{}'", row.name),
            )?;
            keys::unlock(store.conn(), &row, &pass)
                .with_context(|| format!("unlocking the signing key '{}'", row.name))?
        }
        Err(keys::KeysError::NoActiveKey) => {
            let pass = passphrase::read(&args.passphrase, Purpose::New, "the new key 'Demo key'")?;
            let row = keys::generate(
                &mut store,
                "Demo key",
                &pass,
                keyvault::KdfParams::INTERACTIVE,
                true,
                now(),
            )?;
            super::output::note(&format!("Created signing key 'Demo key' ({})", row.key_id));
            keys::unlock(store.conn(), &row, &pass)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut bar = Bar::counting("");
    let shown = bar.handle();
    let started = std::time::Instant::now();
    let summary = demo::fill(
        &mut store,
        &key,
        demo::DemoSize {
            licenses: args.licenses,
            accounts: args.accounts,
            seed: args.seed,
        },
        now(),
        &mut |message| progress::phase(&shown, message),
        &mut bar,
    )?;
    drop(bar);
    outln!(
        "Made {} accounts and {} licenses ({} state changes) in {:.1} s; {} licenses listed",
        summary.accounts,
        summary.licenses,
        summary.changes,
        started.elapsed().as_secs_f64(),
        summary.listed
    );
    Ok(ExitCode::SUCCESS)
}
