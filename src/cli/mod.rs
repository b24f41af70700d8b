//! Command-line interface (clap). With no sub-command the GUI opens; every sub-command runs
//! without a window, so License Desk also works on a headless or air-gapped machine.
//!
//! This is the binary's edge: errors are `anyhow` here; the rules, messages and every write
//! come from `domain` and `services`, shared with the GUI. Output goes through [`output`], so a
//! closed pipe (`license-desk issue … | head -0`) ends the command with a message, not a panic.

mod backup;
mod commerce;
mod issue;
mod keys;
mod ledger;
mod licenses;
pub mod output;
mod passphrase;
mod progress;
mod sync;
mod verify;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use passphrase::PASSPHRASE_ENV;
pub use verify::exit_code_for;

/// Exit code of `ledger verify` when the chain is broken.
pub const EXIT_LEDGER_BROKEN: u8 = 3;
/// Exit code of `apply-deactivation` when the file is refused (forged, replayed, another
/// license, a license that cannot be deactivated offline).
pub const EXIT_REFUSED: u8 = 4;

/// License Desk: customers, billing and offline-signed licenses.
///
/// Run without a sub-command to open the window.
#[derive(Debug, Parser)]
#[command(name = "license-desk", version, about)]
pub struct Cli {
    /// Folder holding the database (default: the platform's data directory).
    #[arg(long, global = true, env = crate::paths::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Graphics for the window: wgpu, falling back to glow (OpenGL) when it cannot start.
    #[arg(long, value_enum, default_value_t, value_name = "RENDERER")]
    pub renderer: crate::platform::renderer::RendererChoice,

    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// Sub-commands that run without a window.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Print where the database is.
    Where,
    /// Manage signing keys: create, rotate, list, export, import.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Issue one license from flags, or many from a CSV file (--csv).
    Issue(Box<IssueArgs>),
    /// Check a license file or serial key: signature, time, binding, revocation.
    #[command(after_help = verify::EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Make a license request file for this machine (what a customer's machine sends).
    Request(RequestArgs),
    /// Revoke a license and publish the new signed revocation list.
    Revoke(RevokeArgs),
    /// Revocation lists: sign a fresh copy of the current list.
    #[command(subcommand)]
    Revocations(RevocationsCommand),
    /// The hash-chained issuance ledger: verify it or export it.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Write a checked copy of the database to FILE (while the app and other writers run),
    /// or take the daily copy into the data folder's backups/ (--daily).
    Backup(BackupArgs),
    /// List the backups in the data folder's backups/: date, size, licenses, last ledger
    /// entry, and whether each was verified.
    Backups,
    /// Check a backup, show what it holds and what the current database has that it lacks,
    /// then put it in place (the current database is kept in backups/, never deleted).
    Restore(RestoreArgs),
    /// Write every table as a versioned JSON Lines bundle (docs/export-format.md).
    Export(ExportArgs),
    /// Load an export into this desk, which must hold no data yet (a new --data-dir).
    Import(ImportArgs),
    /// Place an order for an account, priced with the current price list (as Buy more does).
    Order(OrderArgs),
    /// Named seat contracts: change the number of seats (prorated by the day).
    #[command(subcommand)]
    Seats(SeatsCommand),
    /// Fill the database with realistic demo accounts and licenses (through the same
    /// services as real work: ledger, outbox, revocation lists).
    DemoData(DemoDataArgs),
    /// On the customer's machine: sign a deactivation file for a license issued from this
    /// machine's request, and remove the license here.
    Deactivate(DeactivateArgs),
    /// On the desk: apply a deactivation file from a customer's machine (frees the seat).
    ApplyDeactivation {
        /// The deactivation file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// One sync round with a portal: wallet ID blocks, pull and apply, push the outbox.
    #[command(after_help = sync::EXIT_CODES_HELP)]
    Sync(SyncArgs),
    /// Settings → Sync from the command line: save the portal, seal the device token under
    /// the active signing key, turn background rounds on or off.
    SyncSetup(SyncSetupArgs),
    /// Pulled changes waiting for staff: conflicts (with both versions), and changes this desk
    /// refused or does not apply yet.
    Conflicts,
    /// Keep one version of a conflict (its change id is listed by `conflicts`).
    Resolve {
        /// The pulled change's id.
        #[arg(value_name = "CHANGE_ID")]
        change_id: String,
        /// Which version to keep.
        #[arg(long, value_enum)]
        keep: KeepArg,
        /// With `--keep merged`: a field to take from the other desk's version (a path such as
        /// `details.city`, as `license-desk conflicts` lists them); repeat for more.
        #[arg(long = "theirs", value_name = "FIELD")]
        theirs: Vec<String>,
    },
}

/// Which version of a conflict to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeepArg {
    /// This desk's version.
    Mine,
    /// The other desk's version.
    Theirs,
    /// This desk's version with the fields named by `--theirs` from the other desk's.
    Merged,
}

/// `sync ...`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The portal's address, e.g. https://portal.example:8787 (default: the one saved under
    /// Settings → Sync).
    #[arg(long, value_name = "URL")]
    pub portal: Option<String>,
    /// A file holding the desk's device token on its first line (from `license-portal token
    /// create`); never the token itself on the command line. Default: the token sealed under
    /// Settings → Sync, opened with its signing key's passphrase.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// A CA certificate (PEM) to trust besides the system's, for a portal with a private CA.
    /// Default: the one saved under Settings → Sync, if any.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `sync-setup ...`
#[derive(Debug, Args)]
pub struct SyncSetupArgs {
    /// The portal's address, e.g. https://portal.example:8787.
    #[arg(long, value_name = "URL")]
    pub portal: String,
    /// A file holding the device token on its first line (from `license-portal token create`);
    /// it is sealed under the active signing key, whose passphrase is asked for.
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// Sync in the background while the window is open.
    #[arg(long)]
    pub background: bool,
    /// Minutes between background rounds (1 to 1440).
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    pub every: u32,
    /// A CA certificate (PEM) to trust for the portal besides the system's (a private CA or a
    /// self-signed certificate); saved with the settings.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `demo-data ...`
#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// How many licenses to issue.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub licenses: u64,
    /// How many customer accounts to create.
    #[arg(long, value_name = "M", default_value_t = 1_000)]
    pub accounts: u64,
    /// Seed of the generator (the same seed gives the same customers and mix).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The signing key's passphrase (a key named "Demo key" is created when there is none).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `deactivate ...`
#[derive(Debug, Args)]
pub struct DeactivateArgs {
    /// The license file to remove from this machine.
    #[arg(long, value_name = "FILE")]
    pub license: PathBuf,
    /// Where to write the deactivation file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// What an order line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProductArg {
    /// Pro licenses, per license.
    Pro,
    /// Storage capacity, per TB.
    Capacity,
    /// The support add-on, per Pro license.
    Support,
    /// Named seats, per person.
    Seat,
}

/// A billing term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TermArg {
    Monthly,
    Quarterly,
    Annual,
    Triennial,
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayByArg {
    /// From the account's wallet, at once.
    Wallet,
    /// A new invoice, paid later.
    Invoice,
    /// A new invoice charged to the default payment method now.
    Card,
}

/// `order ...`
#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The account's wallet id.
    #[arg(long, value_name = "WALLET_ID")]
    pub account: String,
    #[arg(long, value_enum)]
    pub product: ProductArg,
    #[arg(long, value_enum)]
    pub term: TermArg,
    /// How many licenses, TB or seats.
    #[arg(long, default_value_t = 1)]
    pub quantity: u32,
    /// How many consecutive terms.
    #[arg(long, default_value_t = 1)]
    pub terms: u32,
    #[arg(long, value_enum, default_value_t = PayByArg::Invoice)]
    pub pay_by: PayByArg,
    /// The price list by name (default: the first one).
    #[arg(long, value_name = "NAME")]
    pub price_list: Option<String>,
    /// Idempotency key: the same key places the order at most once (printed by every run).
    #[arg(long, value_name = "UUID")]
    pub key: Option<String>,
}

/// `seats ...`
#[derive(Debug, Subcommand)]
pub enum SeatsCommand {
    /// Change a contract's number of seats from a date; the prorated charge or credit is
    /// booked, confirmed with the active key's passphrase.
    Change(SeatsChangeArgs),
}

/// `seats change ...`
#[derive(Debug, Args)]
pub struct SeatsChangeArgs {
    /// The seat contract's id.
    #[arg(value_name = "CONTRACT")]
    pub contract: String,
    /// The new number of seats.
    #[arg(long)]
    pub seats: u32,
    /// When the change takes effect (YYYY-MM-DD; default today).
    #[arg(long, value_name = "DATE")]
    pub effective: Option<chrono::NaiveDate>,
    /// Idempotency key: the same key makes the change at most once (printed by every run).
    #[arg(long, value_name = "UUID")]
    pub key: Option<String>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Encrypting a backup or export with a passphrase (age format).
#[derive(Debug, Clone, Args)]
pub struct EncryptArgs {
    /// Encrypt with a passphrase in the age format (`age -d` opens it too).
    #[arg(long)]
    pub encrypt: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `backup ...`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup.
    #[arg(
        value_name = "FILE",
        required_unless_present = "daily",
        conflicts_with = "daily"
    )]
    pub file: Option<PathBuf>,
    /// Take the daily copy into the data folder's backups/ when one is due (for a scheduler).
    #[arg(long)]
    pub daily: bool,
    /// Replace FILE if it exists (never the database itself).
    #[arg(long, requires = "file")]
    pub force: bool,
    #[command(flatten)]
    pub encryption: EncryptArgs,
}

/// `restore ...`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup: a database copy, or one encrypted with a passphrase (.age).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Restore without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only check the backup and show what restoring it would change.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Also check the backup's ledger against this signed checkpoint. Needs --pubkey.
    #[arg(long, value_name = "FILE", requires = "pubkey")]
    pub checkpoint: Option<PathBuf>,
    /// The public key the checkpoint was signed with, kept off this machine.
    #[arg(long, value_name = "FILE|BASE64", requires = "checkpoint")]
    pub pubkey: Option<String>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `export ...`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write the bundle.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub encryption: EncryptArgs,
}

/// `import ...`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle written by `export` (encrypted or not).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Where a passphrase comes from, for commands that seal or unlock a key.
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from the first line of FILE (otherwise the LICENSE_DESK_PASSPHRASE
    /// environment variable, otherwise a prompt when run in a terminal).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a signing key, sealed under a passphrase (the first key becomes active).
    New {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Generate a key and make it the active signing key; older keys keep verifying.
    Rotate {
        /// A name to recognise the new key by.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// List the keys in the vault.
    List,
    /// Export a public key, or the encrypted key file to carry to an air-gapped machine.
    Export {
        /// Key id or key name.
        #[arg(value_name = "KEY")]
        key: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Base64)]
        format: ExportFormat,
        /// Write to FILE instead of printing.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Import an encrypted key file (as written by `keys export --format encrypted`); its
    /// passphrase is asked for, to prove the file opens.
    Import {
        /// The encrypted key file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Make the imported key the active signing key.
        #[arg(long)]
        activate: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
}

/// Formats of `keys export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The public key, raw 32 bytes in standard base64.
    Base64,
    /// The public key as SubjectPublicKeyInfo PEM.
    Pem,
    /// The public key as a Rust constant to paste into a product.
    Rust,
    /// The sealed (passphrase-encrypted) private key file.
    Encrypted,
}

/// License kinds on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Eval,
    Dev,
    Pro,
}

impl From<KindArg> for licensekey::LicenseKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Eval => Self::Eval,
            KindArg::Dev => Self::Dev,
            KindArg::Pro => Self::Pro,
        }
    }
}

/// `issue ...`. Numbers are taken as text and checked by the same rules as the GUI form, so
/// the messages match ("Seats: must be a whole number from 1 to 1000000").
#[derive(Debug, Args)]
#[command(after_help = issue::CSV_HELP)]
pub struct IssueArgs {
    /// Product name.
    #[arg(long, required_unless_present = "csv")]
    pub product: Option<String>,
    /// License kind (Eval licenses always last 30 days).
    #[arg(long, value_enum, required_unless_present = "csv")]
    pub kind: Option<KindArg>,
    /// Customer name.
    #[arg(long, required_unless_present = "csv")]
    pub customer: Option<String>,
    /// Bind to a cluster UUID.
    #[arg(long, value_name = "UUID")]
    pub cluster: Option<String>,
    /// Bind to an IPv4 or IPv6 address.
    #[arg(long)]
    pub ip: Option<String>,
    /// Licensed capacity in TB [default: 0].
    #[arg(long, value_name = "N")]
    pub capacity_tb: Option<String>,
    /// Seats [default: 1].
    #[arg(long, value_name = "N")]
    pub seats: Option<String>,
    /// A feature name (repeat for more).
    #[arg(long = "feature", value_name = "F")]
    pub features: Vec<String>,
    /// Validity in days [default: 365].
    #[arg(long, value_name = "N", conflicts_with = "perpetual")]
    pub days: Option<String>,
    /// Never expires (not for Eval).
    #[arg(long)]
    pub perpetual: bool,
    /// Support period in days.
    #[arg(long, value_name = "N")]
    pub support_days: Option<String>,
    /// Days the license keeps working after expiry [default: 14].
    #[arg(long, value_name = "N")]
    pub grace_days: Option<String>,
    /// A license request file: prefills the cluster and binds the license to that machine.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// How many of the request's strong machine identifiers must match [default: all].
    #[arg(long, value_name = "N", requires = "request")]
    pub min_matches: Option<String>,
    /// Link the license(s) to the account with this wallet id.
    #[arg(long, value_name = "WALLET_ID")]
    pub account: Option<String>,
    /// Single: write the license file here. With --csv: the output CSV (required).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Issue one license per row of this CSV file (see below).
    #[arg(
        long,
        value_name = "FILE",
        requires = "out",
        conflicts_with_all = [
            "product", "kind", "customer", "cluster", "ip", "capacity_tb", "seats", "features",
            "days", "perpetual", "support_days", "grace_days", "request", "min_matches",
        ]
    )]
    pub csv: Option<PathBuf>,
    /// With --csv: issue every row again, even those an earlier run of the same file issued.
    #[arg(long, requires = "csv")]
    pub new_batch: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `verify ...`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A license file, or the serial key text (used as a path when such a file exists).
    #[arg(value_name = "FILE|SERIAL")]
    pub license: String,
    /// Trusted public key: a file or base64 text, base64 or PEM (repeatable). Without it, the
    /// keys of the local vault.
    #[arg(long = "pubkey", value_name = "FILE|BASE64")]
    pub pubkeys: Vec<String>,
    /// The cluster UUID this runs on.
    #[arg(long, value_name = "UUID")]
    pub cluster: Option<licensekey::Uuid>,
    /// The IP address this runs on.
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// Check a machine binding against this machine's fingerprints (as a product would).
    #[arg(long)]
    pub this_machine: bool,
    /// The product this license must be for (as the product itself checks). Without it, a
    /// license for any product is accepted.
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// A signed revocation list file to check against.
    #[arg(long, value_name = "FILE")]
    pub revocations: Option<PathBuf>,
    /// The highest revocation list sequence accepted before: an older list is refused.
    #[arg(long, value_name = "N", requires = "revocations")]
    pub seen_sequence: Option<u64>,
    /// Refuse a revocation list issued more than this many days ago.
    #[arg(long, value_name = "DAYS", requires = "revocations")]
    pub max_list_age: Option<u32>,
    /// Check as of this time (RFC 3339 or unix seconds) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<i64>,
}

/// `request ...`
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The cluster UUID to ask a license for.
    #[arg(long, value_name = "UUID")]
    pub cluster: Option<licensekey::Uuid>,
    /// A name for this machine that the vendor will see, e.g. "Rack 3 node A" (sent in
    /// clear; the machine's own identifiers are sent only as salted fingerprints).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub label: String,
    /// Write the request file here instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// `revoke ...`
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The license id (UUID) to revoke.
    #[arg(value_name = "LICENSE_ID")]
    pub license_id: String,
    /// Why it is revoked (kept in the desk).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Write the new signed revocation list here instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `revocations ...`
#[derive(Debug, Subcommand)]
pub enum RevocationsCommand {
    /// Sign a fresh copy of the current revocation list (every suspended, revoked or deleted
    /// license), for products that require a recent list: same names, a new sequence, issue
    /// time and next-update time.
    Publish {
        /// Write the list here instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// The newest revocation list each other desk published (received by sync), for the
    /// customers of the licenses that desk issued; with --desk, that desk's list file.
    Others {
        /// The desk (its id, as listed) whose list to write.
        #[arg(long, value_name = "DESK_ID")]
        desk: Option<String>,
        /// Write the list here instead of printing it.
        #[arg(long, value_name = "FILE", requires = "desk")]
        out: Option<PathBuf>,
        /// Replace the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

/// `ledger ...`
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Walk the hash chain and what it records; exit 0 when intact, 3 when something was
    /// edited or removed.
    Verify {
        /// Also check the chain still reaches this signed checkpoint (catches entries cut
        /// off the end after it was taken). Needs --pubkey.
        #[arg(long, value_name = "FILE", requires = "pubkey")]
        checkpoint: Option<PathBuf>,
        /// The public key the checkpoint was signed with, kept off this machine (a file or
        /// base64 text): a key stored in this database proves nothing to whoever can write it.
        #[arg(long, value_name = "FILE|BASE64", requires = "checkpoint")]
        pubkey: Option<String>,
    },
    /// Sign the ledger's current head with the active key; keep the file off this machine,
    /// with the public key (`keys export`).
    Checkpoint {
        /// Write the checkpoint here instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Export every entry as CSV.
    Export {
        /// Write the CSV here instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

/// Parses `--at`: RFC 3339 ("2027-01-31T12:00:00Z") or unix seconds.
fn parse_time(text: &str) -> Result<i64, String> {
    crate::domain::time::parse(text)
}

/// The clock at the CLI edge; rules take the time as a parameter.
fn now() -> i64 {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now().timestamp()
}

/// Where `--out` goes, and whether it may replace a file.
#[derive(Debug, Clone, Copy)]
struct OutArg<'a> {
    path: Option<&'a Path>,
    force: bool,
}

impl<'a> OutArg<'a> {
    fn new(path: Option<&'a Path>, force: bool) -> Self {
        Self { path, force }
    }

    fn output(self, database: &'a Path, secret: bool) -> crate::files::Output<'a> {
        crate::files::Output {
            force: self.force,
            secret,
            database: Some(database),
        }
    }

    /// Refuses a bad destination before any work is done.
    fn check(self, database: &Path) -> anyhow::Result<()> {
        if let Some(path) = self.path {
            crate::files::check_destination(path, self.output(database, false))
                .map_err(|e| anyhow::anyhow!("--out {e}"))?;
        }
        Ok(())
    }
}

/// Prints `text`, or writes it atomically to `--out` and says so on stderr.
fn emit(out: OutArg<'_>, database: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    match out.path {
        Some(path) => {
            crate::files::write(path, text.as_bytes(), out.output(database, secret))
                .map_err(|e| anyhow::anyhow!("--out {e}"))?;
            output::note(&format!("Wrote {}", path.display()));
        }
        None => output::text(text)?,
    }
    Ok(())
}

/// Opens the database, saying on stderr what a slow open is waiting for.
fn open_store(database: &Path) -> anyhow::Result<crate::store::Store> {
    use crate::store::OpenStep;
    crate::store::Store::open_with_progress(database, |step| match step {
        OpenStep::WaitingForLock { attempt, of } => output::note(&format!(
            "Another program is writing to the database; waiting (try {attempt} of {of})…"
        )),
        OpenStep::BackingUp { from } => output::note(&format!(
            "Copying the database (schema {from}) into backups/ before upgrading it…"
        )),
        OpenStep::Migrating { applying, to, .. } => {
            output::note(&format!("Upgrading the database: step {applying} of {to}…"))
        }
        OpenStep::Checking | OpenStep::Restoring => {}
    })
    .map_err(|e| open_error(database, &e))
}

/// Opens the database for a command that only reads: read-write when it can be written, else
/// read-only (a read-only file, folder or drive), saying so.
fn open_for_reading(database: &Path) -> anyhow::Result<crate::store::Store> {
    match open_store(database) {
        Ok(store) => Ok(store),
        Err(e) if e.downcast_ref::<ReadOnlyOpen>().is_some() => {
            let store = crate::store::Store::open_read_only_store(database)
                .map_err(|e| open_error(database, &e))?;
            output::note("The database cannot be written: opened read-only");
            Ok(store)
        }
        Err(e) => Err(e),
    }
}

/// Marks an open that failed only because the database cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReadOnlyOpen(String);

/// A store error met while opening, with the way forward.
fn open_error(database: &Path, error: &crate::store::StoreError) -> anyhow::Error {
    let failure = crate::jobs::OpenFailure::from_store(database, error);
    let text = format!(
        "cannot open the database {}: {error}; {}",
        database.display(),
        failure.problem.cli_hint()
    );
    if failure.problem == crate::jobs::OpenProblem::ReadOnly {
        anyhow::Error::new(ReadOnlyOpen(text))
    } else {
        anyhow::anyhow!(text)
    }
}

/// Runs a sub-command against the database at `database`; the exit code is the command's.
pub fn run(command: CliCommand, database: &Path) -> anyhow::Result<ExitCode> {
    match command {
        CliCommand::Where => {
            output::line(&database.display().to_string())?;
            // On stderr, so scripts that read the path are unaffected.
            if let Some(dir) = database.parent().filter(|d| d.is_dir()) {
                output::note(
                    match crate::platform::is_owner_only(dir) {
                        Ok(true) => "Data folder: readable by the current user only".to_string(),
                        Ok(false) => "Data folder: other users may be able to read it".to_string(),
                        Err(err) => format!("Data folder: access could not be checked ({err})"),
                    }
                    .as_str(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Keys(cmd) => keys::run(cmd, database),
        CliCommand::Issue(args) => issue::run(&args, database),
        CliCommand::Verify(args) => verify::run(&args, database),
        CliCommand::Request(args) => verify::request(&args, database),
        CliCommand::Revoke(args) => ledger::revoke(&args, database),
        CliCommand::Revocations(RevocationsCommand::Publish {
            out,
            force,
            passphrase,
        }) => ledger::publish_list(OutArg::new(out.as_deref(), force), &passphrase, database),
        CliCommand::Revocations(RevocationsCommand::Others { desk, out, force }) => {
            ledger::other_desks_lists(
                desk.as_deref(),
                OutArg::new(out.as_deref(), force),
                database,
            )
        }
        CliCommand::Ledger(cmd) => ledger::run(cmd, database),
        CliCommand::Backup(args) => backup::back_up(&args, database),
        CliCommand::Backups => backup::list(database),
        CliCommand::Restore(args) => backup::restore(&args, database),
        CliCommand::Export(args) => backup::export(&args, database),
        CliCommand::Import(args) => backup::import(&args, database),
        CliCommand::Order(args) => commerce::place(&args, database),
        CliCommand::Seats(SeatsCommand::Change(args)) => commerce::change(&args, database),
        CliCommand::DemoData(args) => licenses::demo_data(&args, database),
        CliCommand::Deactivate(args) => licenses::deactivate(&args, database),
        CliCommand::ApplyDeactivation { file } => licenses::apply_deactivation(&file, database),
        CliCommand::Sync(args) => sync::run(&args, database),
        CliCommand::SyncSetup(args) => sync::setup(&args, database),
        CliCommand::Conflicts => sync::conflicts(database),
        CliCommand::Resolve {
            change_id,
            keep,
            theirs,
        } => sync::resolve(&change_id, keep, theirs, database),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn times_parse_as_rfc3339_or_seconds() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("2027-01-31T12:00:00Z"), Ok(1_801_396_800));
        assert!(parse_time("tomorrow").is_err());
    }
}
