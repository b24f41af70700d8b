//! Backups, restore, export and import, for the window (Settings → Backups) and the CLI alike.
//! See `docs/backups.md` for what a person sees.
//!
//! - A backup is a checked copy of the whole database ([`store::backup::copy_live`]), plain or
//!   encrypted with a passphrase in the `age` format (so `age -d` opens it too). Encrypted
//!   copies are made from a scratch file in the data folder, never in clear at the destination.
//! - Restore first prepares a scratch copy of the backup (decrypted, upgraded to this build's
//!   schema, integrity and ledger checked) and compares it with the current database. Only then
//!   is the current database copied aside into `backups/` (the undo) and overwritten in place.
//! - Export writes every table as a versioned JSON Lines bundle ([`store::bundle`]); import
//!   loads one into a new desk the same way a restore does.

use super::Progress;
use super::keys::Secret;
use crate::domain::checkpoint::Checkpoint;
use crate::files::{self, FileError, Output};
use crate::store::backup::{self as copies, Contents, Description, Kind, Verdict};
use crate::store::bundle::{self, BundleError, Header, Totals};
use crate::store::{self, SCHEMA_VERSION, Store, StoreError, ledger};
use age::secrecy::SecretString;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// What staff can do with backups.
#[derive(Debug, Clone)]
pub enum BackupCommand {
    /// "Back up now": a checked copy at `dest`, encrypted when a passphrase is given.
    BackUp {
        dest: PathBuf,
        passphrase: Option<Secret>,
        force: bool,
    },
    /// The daily copy in the backups folder, when one is due (or now, when `even_if_recent`).
    Daily { even_if_recent: bool },
    /// Check a backup and compare it with the current database, writing nothing.
    Preview {
        file: PathBuf,
        passphrase: Option<Secret>,
    },
    /// Check a backup again, set the current database aside, and put the backup in its place.
    Restore {
        file: PathBuf,
        passphrase: Option<Secret>,
    },
    /// Every table as a JSON Lines bundle at `dest`.
    Export {
        dest: PathBuf,
        passphrase: Option<Secret>,
        force: bool,
    },
    /// Load a bundle into this desk, which must hold no data yet.
    Import {
        file: PathBuf,
        passphrase: Option<Secret>,
    },
}

impl BackupCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            BackupCommand::BackUp { .. } => "Back up",
            BackupCommand::Daily { .. } => "Daily backup",
            BackupCommand::Preview { .. } => "Check backup",
            BackupCommand::Restore { .. } => "Restore backup",
            BackupCommand::Export { .. } => "Export everything",
            BackupCommand::Import { .. } => "Import export",
        }
    }
}

/// What a backup command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupEvent {
    BackedUp(Written),
    /// The daily copy taken, or `None` when none was due (or daily copies are off).
    Daily(Option<Written>),
    Previewed(Box<Preview>),
    Restored(Box<Restored>),
    Exported {
        path: PathBuf,
        totals: Totals,
    },
    Imported {
        totals: Totals,
        set_aside: PathBuf,
    },
}

/// What went wrong, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{path}: this file is encrypted: give its passphrase")]
    NeedsPassphrase { path: PathBuf },
    #[error("{path}: the passphrase does not open this file")]
    WrongPassphrase { path: PathBuf },
    #[error("{path}: cannot decrypt it: {problem}")]
    Decrypt { path: PathBuf, problem: String },
    #[error("{path}: not a License Desk backup: {problem}")]
    NotBackup { path: PathBuf, problem: String },
    #[error("{path}: cannot be restored: {why}")]
    Refused { path: PathBuf, why: String },
    #[error("the copy of the database does not check, so nothing was written: {0}")]
    CopyFailed(String),
    #[error(
        "this desk already holds data ({0}); an export is imported into a new desk: start License Desk with an empty --data-dir, or restore a backup instead"
    )]
    NotEmpty(String),
    #[error("{path}: cannot write it: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<BackupError> for String {
    fn from(e: BackupError) -> Self {
        e.to_string()
    }
}

/// A backup that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub contents: Contents,
    pub verdict: Verdict,
    pub encrypted: bool,
}

/// Where a backup's ledger stands against the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lineage {
    /// Both ledgers hold the same entries.
    Same,
    /// The backup's ledger is an earlier state of this one: restoring drops the later entries.
    Behind { entries: i64, licenses: u64 },
    /// The backup's ledger continues this one (this database lost entries the backup has).
    Ahead { entries: i64 },
    /// The ledgers differ from entry `at` on: they are not one history.
    Diverged { at: i64 },
}

/// A checked backup and what restoring it would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub file: PathBuf,
    pub encrypted: bool,
    /// What the backup holds (its schema as written).
    pub contents: Contents,
    pub verdict: Verdict,
    /// What the current database holds, when it could be read.
    pub current: Option<Contents>,
    pub lineage: Option<Lineage>,
    /// The backup's ledger against a signed checkpoint, when one was given.
    pub checkpoint: Option<CheckpointFinding>,
}

/// A backup's ledger against a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointFinding {
    /// The ledger reaches the checkpoint's head, entry for entry.
    Reached,
    /// The backup was taken before the checkpoint: it ends `missing` entries short of it.
    EndsBefore { missing: u64 },
    /// The ledger contradicts the checkpoint: the backup was changed.
    Contradicts(String),
}

impl Preview {
    /// What a person must know before restoring, one sentence each.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(current) = &self.current {
            if current.desk_id.is_some() && current.desk_id != self.contents.desk_id {
                out.push(format!(
                    "This backup is of another desk ({}); this desk is {}.",
                    self.contents.desk_id.as_deref().unwrap_or("none"),
                    current.desk_id.as_deref().unwrap_or("none")
                ));
            }
            let fewer = |what: &str, now: u64, then: u64| {
                (now > then).then(|| {
                    format!(
                        "{} {what} in the current database are not in the backup.",
                        now - then
                    )
                })
            };
            out.extend(fewer("accounts", current.accounts, self.contents.accounts));
            out.extend(fewer("invoices", current.invoices, self.contents.invoices));
        }
        match &self.lineage {
            Some(Lineage::Behind { entries, licenses }) => out.push(format!(
                "{licenses} licenses issued after this backup will be missing from the ledger ({entries} ledger entries in all)."
            )),
            Some(Lineage::Diverged { at }) => out.push(format!(
                "The backup's ledger and the current one differ from entry {at} on: they are not one history."
            )),
            _ => {}
        }
        if let Some(CheckpointFinding::EndsBefore { missing }) = &self.checkpoint {
            out.push(format!(
                "The backup ends {missing} ledger entries before the signed checkpoint."
            ));
        }
        out
    }

    /// Why the backup must not be restored, if it must not.
    pub fn refusal(&self) -> Option<String> {
        if let Verdict::Failed(why) = &self.verdict {
            return Some(why.clone());
        }
        if let Some(CheckpointFinding::Contradicts(why)) = &self.checkpoint {
            return Some(format!(
                "its ledger contradicts the signed checkpoint: {why}"
            ));
        }
        None
    }
}

/// A restore that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub preview: Preview,
    /// Where the database it replaced was kept: restoring this file undoes the restore.
    pub set_aside: PathBuf,
}

/// A file size in words ("12.4 MB").
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Runs one backup command (the worker's entry point).
pub fn run(
    store: &mut Store,
    now: DateTime<Utc>,
    command: BackupCommand,
    progress: &mut dyn Progress,
) -> Result<BackupEvent, BackupError> {
    match command {
        BackupCommand::BackUp {
            dest,
            passphrase,
            force,
        } => back_up(store, &dest, passphrase.as_ref(), force, now, progress)
            .map(BackupEvent::BackedUp),
        BackupCommand::Daily { even_if_recent } => {
            daily(store, now, even_if_recent, progress).map(BackupEvent::Daily)
        }
        BackupCommand::Preview { file, passphrase } => {
            let prepared = prepare(
                store.path(),
                Some(store.conn()),
                &file,
                passphrase.as_ref(),
                None,
                progress,
            )?;
            Ok(BackupEvent::Previewed(Box::new(prepared.preview)))
        }
        BackupCommand::Restore { file, passphrase } => {
            restore(store, &file, passphrase.as_ref(), None, now, progress)
                .map(|r| BackupEvent::Restored(Box::new(r)))
        }
        BackupCommand::Export {
            dest,
            passphrase,
            force,
        } => export(store, &dest, passphrase.as_ref(), force, now, progress)
            .map(|totals| BackupEvent::Exported { path: dest, totals }),
        BackupCommand::Import { file, passphrase } => {
            import(store, &file, passphrase.as_ref(), now, progress)
                .map(|(totals, set_aside)| BackupEvent::Imported { totals, set_aside })
        }
    }
}

/// Adapts a job's progress to the store's "tick, and say whether to go on".
fn ticker(progress: &mut dyn Progress) -> impl FnMut(u64, u64) -> bool + '_ {
    move |done, total| {
        progress.report(done, total);
        !progress.cancelled()
    }
}

/// Writes a checked copy of the database to `dest` (see the module docs). It never writes the
/// database itself, never replaces an existing file unless `force`, never follows a link at
/// `dest`, and the file is readable by the owner only.
pub fn back_up(
    store: &Store,
    dest: &Path,
    passphrase: Option<&Secret>,
    force: bool,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<Written, BackupError> {
    let output = Output {
        force,
        secret: true,
        database: Some(store.path()),
    };
    files::check_destination(dest, output)?;
    let scratch_dir = match passphrase {
        // An encrypted backup is never in clear where it is going.
        Some(_) => copies::ensure_folder(store.path())?,
        None => folder_of(dest),
    };
    let scratch = copies::scratch_file(&scratch_dir)?;
    let (contents, verdict) = copy_and_check(store.path(), scratch.path(), progress)?;
    match passphrase {
        None => {
            if force {
                let _ = std::fs::remove_file(dest);
            }
            copies::persist(scratch, dest)?;
        }
        Some(passphrase) => {
            files::write_with(dest, output, |out| {
                encrypt(scratch.path(), passphrase, out).map(|()| true)
            })?;
        }
    }
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    let written = Written {
        path: dest.to_path_buf(),
        bytes,
        contents,
        verdict,
        encrypted: passphrase.is_some(),
    };
    if folder_of(dest) == copies::folder(store.path()) {
        describe(&written, Kind::Manual, now)?;
    }
    Ok(written)
}

/// Takes the daily copy into the backups folder when the last one is a day old or more (or now,
/// when `even_if_recent`), then keeps only the newest the settings ask for. `None` when no copy
/// was due or daily copies are off.
pub fn daily(
    store: &Store,
    now: DateTime<Utc>,
    even_if_recent: bool,
    progress: &mut dyn Progress,
) -> Result<Option<Written>, BackupError> {
    let settings = store::settings::load(store.conn())?;
    if !even_if_recent {
        if !settings.daily_backups {
            return Ok(None);
        }
        if let Some(last) = last_daily(store.path())?
            && now.timestamp() - last < 24 * 3600
        {
            return Ok(None);
        }
    }
    let dir = copies::ensure_folder(store.path())?;
    let dest = copies::new_path(&dir, Kind::Daily, now, false);
    let scratch = copies::scratch_file(&dir)?;
    let (contents, verdict) = copy_and_check(store.path(), scratch.path(), progress)?;
    let bytes = std::fs::metadata(scratch.path())
        .map(|m| m.len())
        .unwrap_or(0);
    copies::persist(scratch, &dest)?;
    let written = Written {
        path: dest,
        bytes,
        contents,
        verdict,
        encrypted: false,
    };
    describe(&written, Kind::Daily, now)?;
    copies::prune(
        store.path(),
        Kind::Daily,
        usize::try_from(settings.backups_kept).unwrap_or(7),
    )?;
    Ok(Some(written))
}

/// When the newest daily copy was taken.
pub fn last_daily(database: &Path) -> Result<Option<i64>, BackupError> {
    Ok(copies::list(database)?
        .iter()
        .filter_map(|listed| listed.description.as_ref())
        .filter(|d| d.kind == Kind::Daily)
        .map(|d| d.taken_at)
        .max())
}

fn describe(written: &Written, kind: Kind, now: DateTime<Utc>) -> Result<(), BackupError> {
    copies::write_description(
        &written.path,
        &Description {
            kind,
            taken_at: now.timestamp(),
            bytes: written.bytes,
            contents: written.contents.clone(),
            verdict: written.verdict.clone(),
            encrypted: written.encrypted,
        },
    )?;
    Ok(())
}

/// Copies the live database into `scratch` and checks the copy; a copy that does not check is
/// an error (the live database has a problem that a backup must not hide).
fn copy_and_check(
    database: &Path,
    scratch: &Path,
    progress: &mut dyn Progress,
) -> Result<(Contents, Verdict), BackupError> {
    copies::copy_live(database, scratch, &mut ticker(progress))?;
    if progress.cancelled() {
        return Err(StoreError::Cancelled.into());
    }
    let copy = copies::open_copy(scratch)?;
    let contents = copies::describe(&copy)?;
    let total = u64::try_from(contents.ledger_entries).unwrap_or(0);
    let verdict = copies::check(&copy, |done| progress.report(done.unsigned_abs(), total))?;
    if let Verdict::Failed(why) = &verdict {
        return Err(BackupError::CopyFailed(why.clone()));
    }
    Ok((contents, verdict))
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What kind of file a backup or export file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Database,
    Encrypted,
    Export,
}

fn sniff(path: &Path) -> Result<FileKind, BackupError> {
    let mut head = [0u8; 40];
    let mut file = files::open_regular(path, "backup")?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(FileError::Read {
                    path: path.to_path_buf(),
                    source,
                }
                .into());
            }
        }
    }
    let head = &head[..read];
    if head.starts_with(b"SQLite format 3\0") {
        Ok(FileKind::Database)
    } else if head.starts_with(b"age-encryption.org/v1")
        || head.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    {
        Ok(FileKind::Encrypted)
    } else if head.starts_with(b"{\"format\":\"license-desk-export\"") {
        Ok(FileKind::Export)
    } else if head.is_empty() {
        Err(BackupError::NotBackup {
            path: path.to_path_buf(),
            problem: "the file is empty".into(),
        })
    } else {
        Err(BackupError::NotBackup {
            path: path.to_path_buf(),
            problem: "it is neither a database, an export nor an age-encrypted file".into(),
        })
    }
}

/// Encrypts the file at `plain` with `passphrase` in the age format into `out`.
fn encrypt(plain: &Path, passphrase: &Secret, out: &mut dyn Write) -> Result<(), BackupError> {
    let recipient = age::scrypt::Recipient::new(secret(passphrase));
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as _)).map_err(|e| {
            BackupError::Decrypt {
                path: plain.to_path_buf(),
                problem: e.to_string(),
            }
        })?;
    let io = |source| BackupError::Write {
        path: plain.to_path_buf(),
        source,
    };
    let mut writer = encryptor.wrap_output(out).map_err(io)?;
    let mut input = files::open_regular(plain, "backup")?;
    std::io::copy(&mut input, &mut writer).map_err(io)?;
    writer.finish().map_err(io)?;
    Ok(())
}

fn secret(passphrase: &Secret) -> SecretString {
    SecretString::from(passphrase.expose().to_owned())
}

/// A reader of the plain contents of `path`: the file itself, or its decryption.
fn open_plain(
    path: &Path,
    passphrase: Option<&Secret>,
) -> Result<(Box<dyn BufRead>, bool), BackupError> {
    let file = BufReader::new(files::open_regular(path, "backup")?);
    if sniff(path)? != FileKind::Encrypted {
        return Ok((Box::new(file), false));
    }
    let passphrase = passphrase.ok_or_else(|| BackupError::NeedsPassphrase {
        path: path.to_path_buf(),
    })?;
    let decrypt_error = |problem: String| BackupError::Decrypt {
        path: path.to_path_buf(),
        problem,
    };
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(file))
        .map_err(|e| decrypt_error(e.to_string()))?;
    if !decryptor.is_scrypt() {
        return Err(decrypt_error(
            "it is encrypted to a key, not a passphrase".into(),
        ));
    }
    let identity = age::scrypt::Identity::new(secret(passphrase));
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                BackupError::WrongPassphrase {
                    path: path.to_path_buf(),
                }
            }
            other => decrypt_error(other.to_string()),
        })?;
    Ok((Box::new(BufReader::new(reader)), true))
}

/// A backup made ready to restore: an upgraded, checked scratch copy and what it holds.
struct Prepared {
    preview: Preview,
    /// The scratch copy (deleted when dropped) and a connection to it.
    scratch: tempfile::NamedTempFile,
    conn: Connection,
}

/// Copies (decrypting) the backup at `file` into a scratch file in the backups folder of
/// `database`, upgrades it to this build's schema, checks it, and compares it with the current
/// database on `current` (when there is one to read).
fn prepare(
    database: &Path,
    current: Option<&Connection>,
    file: &Path,
    passphrase: Option<&Secret>,
    checkpoint: Option<&Checkpoint>,
    progress: &mut dyn Progress,
) -> Result<Prepared, BackupError> {
    let kind = sniff(file)?;
    if kind == FileKind::Export {
        return Err(BackupError::NotBackup {
            path: file.to_path_buf(),
            problem: "it is an export: import it into a new desk instead".into(),
        });
    }
    let dir = copies::ensure_folder(database)?;
    let scratch = copies::scratch_file(&dir)?;
    let (mut plain, encrypted) = open_plain(file, passphrase)?;
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(scratch.path())
            .map_err(|source| BackupError::Write {
                path: scratch.path().to_path_buf(),
                source,
            })?;
        std::io::copy(&mut plain, &mut out).map_err(|e| match encrypted {
            true => BackupError::Decrypt {
                path: file.to_path_buf(),
                problem: format!("the file is damaged or was changed ({e})"),
            },
            false => BackupError::File(FileError::Read {
                path: file.to_path_buf(),
                source: e,
            }),
        })?;
        out.sync_all().map_err(|source| BackupError::Write {
            path: scratch.path().to_path_buf(),
            source,
        })?;
    }
    if let Some(problem) = store::health::inspect(scratch.path())
        .map_err(|source| BackupError::Write {
            path: scratch.path().to_path_buf(),
            source,
        })?
        .problem()
    {
        return Err(BackupError::NotBackup {
            path: file.to_path_buf(),
            problem,
        });
    }
    let refuse = |why: String| BackupError::Refused {
        path: file.to_path_buf(),
        why,
    };
    let refuse_damaged = |e: StoreError| refuse(e.to_string());
    let mut conn = copies::open_scratch(scratch.path()).map_err(refuse_damaged)?;
    let contents = copies::describe(&conn).map_err(refuse_damaged)?;
    if contents.schema > SCHEMA_VERSION {
        return Err(refuse(copies::newer_schema(contents.schema)));
    }
    if contents.schema < 4 {
        return Err(refuse(format!(
            "its schema ({}) is older than any backup this build restores",
            contents.schema
        )));
    }
    if let Verdict::Failed(why) = copies::check(&conn, |_| {}).map_err(refuse_damaged)? {
        return Err(refuse(why));
    }
    copies::upgrade_copy(&mut conn).map_err(refuse_damaged)?;
    let total = u64::try_from(contents.ledger_entries).unwrap_or(0);
    let verdict = copies::check(&conn, |done| progress.report(done.unsigned_abs(), total))
        .map_err(refuse_damaged)?;
    let checkpoint = match checkpoint {
        Some(checkpoint) => Some(against_checkpoint(&conn, checkpoint)?),
        None => None,
    };
    let (current, lineage) = match current {
        Some(live) => {
            let now = copies::describe(live)?;
            let lineage = lineage(live, &conn)?;
            (Some(now), Some(lineage))
        }
        None => (None, None),
    };
    Ok(Prepared {
        preview: Preview {
            file: file.to_path_buf(),
            encrypted,
            contents,
            verdict,
            current,
            lineage,
            checkpoint,
        },
        scratch,
        conn,
    })
}

fn against_checkpoint(
    conn: &Connection,
    checkpoint: &Checkpoint,
) -> Result<CheckpointFinding, BackupError> {
    let entries = ledger::head(conn)?.seq.unsigned_abs();
    if entries < checkpoint.entries {
        // The entries it has must still be the ones the checkpoint's chain passed through:
        // the walk already checked each link, so only the missing tail is reported.
        return Ok(CheckpointFinding::EndsBefore {
            missing: checkpoint.entries - entries,
        });
    }
    Ok(match ledger::verify_against(conn, checkpoint, |_| {})? {
        ledger::ChainReport::Intact { .. } => CheckpointFinding::Reached,
        ledger::ChainReport::Broken { reason, .. } => CheckpointFinding::Contradicts(reason),
    })
}

/// Where the backup's ledger (on `backup`) stands against the live one. Each entry's hash
/// covers every entry before it, so the first entry where they differ is found by bisection.
fn lineage(live: &Connection, backup: &Connection) -> Result<Lineage, BackupError> {
    let ours = ledger::head(backup)?.seq;
    let theirs = ledger::head(live)?.seq;
    let same_at = |seq: i64| -> Result<bool, BackupError> {
        Ok(seq == 0 || ledger::hash_at(live, seq)? == ledger::hash_at(backup, seq)?)
    };
    let shared = ours.min(theirs);
    if !same_at(shared)? {
        let (mut good, mut bad) = (0, shared);
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            if same_at(mid)? {
                good = mid;
            } else {
                bad = mid;
            }
        }
        return Ok(Lineage::Diverged { at: bad });
    }
    Ok(match ours.cmp(&theirs) {
        std::cmp::Ordering::Equal => Lineage::Same,
        std::cmp::Ordering::Greater => Lineage::Ahead {
            entries: ours - theirs,
        },
        std::cmp::Ordering::Less => {
            let licenses: i64 = live
                .query_row(
                    "SELECT count(*) FROM ledger WHERE seq > ?1 AND action = 'issue'",
                    [ours],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            Lineage::Behind {
                entries: theirs - ours,
                licenses: licenses.unsigned_abs(),
            }
        }
    })
}

/// Checks and compares the backup at `file` with the current database, writing nothing but a
/// scratch copy that is deleted again.
pub fn preview(
    store: &Store,
    file: &Path,
    passphrase: Option<&Secret>,
    checkpoint: Option<&Checkpoint>,
    progress: &mut dyn Progress,
) -> Result<Preview, BackupError> {
    Ok(prepare(
        store.path(),
        Some(store.conn()),
        file,
        passphrase,
        checkpoint,
        progress,
    )?
    .preview)
}

/// Restores the backup at `file` over the current database: checks it again, copies the
/// current database aside into the backups folder (restoring that copy undoes this), then
/// writes the backup in place.
pub fn restore(
    store: &mut Store,
    file: &Path,
    passphrase: Option<&Secret>,
    checkpoint: Option<&Checkpoint>,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<Restored, BackupError> {
    let prepared = prepare(
        store.path(),
        Some(store.conn()),
        file,
        passphrase,
        checkpoint,
        progress,
    )?;
    if let Some(why) = prepared.preview.refusal() {
        return Err(BackupError::Refused {
            path: file.to_path_buf(),
            why,
        });
    }
    let set_aside = set_aside(store, now, progress)?;
    store.replace_contents(&prepared.conn, &mut ticker(progress))?;
    drop(prepared.conn);
    drop(prepared.scratch);
    Ok(Restored {
        preview: prepared.preview,
        set_aside,
    })
}

/// Copies the current database into the backups folder as the undo of a restore or import.
fn set_aside(
    store: &Store,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<PathBuf, BackupError> {
    let dir = copies::ensure_folder(store.path())?;
    let dest = copies::new_path(&dir, Kind::SetAside, now, false);
    let scratch = copies::scratch_file(&dir)?;
    copies::copy_live(store.path(), scratch.path(), &mut ticker(progress))?;
    let copy = copies::open_copy(scratch.path())?;
    let contents = copies::describe(&copy)?;
    // Kept whatever it holds: it is what the person had.
    let verdict = copies::check(&copy, |_| {})?;
    drop(copy);
    let bytes = std::fs::metadata(scratch.path())
        .map(|m| m.len())
        .unwrap_or(0);
    copies::persist(scratch, &dest)?;
    copies::write_description(
        &dest,
        &Description {
            kind: Kind::SetAside,
            taken_at: now.timestamp(),
            bytes,
            contents,
            verdict,
            encrypted: false,
        },
    )?;
    Ok(dest)
}

/// Restores a backup in place of a database file that cannot be opened (damaged, not a
/// database): that file and its companions are moved, never deleted, into the data folder's
/// `damaged/`, and the checked backup takes its place. Returns where the damaged file went.
pub fn restore_in_place_of(
    database: &Path,
    file: &Path,
    passphrase: Option<&Secret>,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<Restored, BackupError> {
    let prepared = prepare(database, None, file, passphrase, None, progress)?;
    if let Some(why) = prepared.preview.refusal() {
        return Err(BackupError::Refused {
            path: file.to_path_buf(),
            why,
        });
    }
    drop(prepared.conn);
    let set_aside = move_aside(database, now)?;
    copies::persist(prepared.scratch, database)?;
    Ok(Restored {
        preview: prepared.preview,
        set_aside,
    })
}

/// Moves the database file (and its `-wal`, `-shm`, `-journal`) into `damaged/` beside it.
fn move_aside(database: &Path, now: DateTime<Utc>) -> Result<PathBuf, BackupError> {
    let folder = folder_of(database).join("damaged");
    let io = |source| BackupError::Write {
        path: folder.clone(),
        source,
    };
    std::fs::create_dir_all(&folder).map_err(io)?;
    crate::platform::restrict_to_owner(&folder).map_err(io)?;
    let name = database
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "license-desk.sqlite3".into());
    let dest = folder.join(format!("{}-{name}", now.format("%Y%m%d-%H%M%S")));
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut from = database.as_os_str().to_owned();
        from.push(suffix);
        let mut to = dest.as_os_str().to_owned();
        to.push(suffix);
        let from = PathBuf::from(from);
        if std::fs::symlink_metadata(&from).is_ok() {
            std::fs::rename(&from, PathBuf::from(to)).map_err(io)?;
        }
    }
    Ok(dest)
}

/// Writes every table to `dest` as a JSON Lines bundle, encrypted when a passphrase is given.
pub fn export(
    store: &Store,
    dest: &Path,
    passphrase: Option<&Secret>,
    force: bool,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<Totals, BackupError> {
    let output = Output {
        force,
        secret: true,
        database: Some(store.path()),
    };
    let conn = copies::open_copy(store.path())?;
    let header = Header {
        format: bundle::FORMAT.into(),
        version: bundle::VERSION,
        schema: SCHEMA_VERSION,
        exported_at: now.to_rfc3339(),
        desk_id: store::desk::desk_id(&conn)?.map(|id| id.to_string()),
    };
    let mut totals = Totals::default();
    let written = files::write_with(dest, output, |out| {
        let mut tick = ticker(progress);
        let result = match passphrase {
            None => bundle::export(&conn, &header, out, &mut tick),
            Some(passphrase) => {
                let recipient = age::scrypt::Recipient::new(secret(passphrase));
                let encryptor =
                    age::Encryptor::with_recipients(std::iter::once(&recipient as _))
                        .map_err(|e| BundleError::Write(std::io::Error::other(e.to_string())))?;
                let mut sealed = encryptor.wrap_output(out).map_err(BundleError::Write)?;
                let totals = bundle::export(&conn, &header, &mut sealed, &mut tick)?;
                sealed.finish().map_err(BundleError::Write)?;
                Ok(totals)
            }
        };
        match result {
            Ok(t) => {
                totals = t;
                Ok(true)
            }
            Err(BundleError::Cancelled) => Ok(false),
            Err(e) => Err(BackupError::Bundle(e)),
        }
    })?;
    if !written {
        return Err(StoreError::Cancelled.into());
    }
    Ok(totals)
}

/// Loads the bundle at `file` into this desk, which must hold no accounts, licenses or ledger
/// entries: the rows go into a scratch database at the bundle's schema, which is upgraded and
/// checked like a restored backup before it replaces the (empty) current database.
pub fn import(
    store: &mut Store,
    file: &Path,
    passphrase: Option<&Secret>,
    now: DateTime<Utc>,
    progress: &mut dyn Progress,
) -> Result<(Totals, PathBuf), BackupError> {
    let current = copies::describe(store.conn())?;
    if current.accounts > 0 || current.licenses > 0 || current.ledger_entries > 0 {
        return Err(BackupError::NotEmpty(format!(
            "{} accounts, {} licenses, {} ledger entries",
            current.accounts, current.licenses, current.ledger_entries
        )));
    }
    let (mut input, _) = open_plain(file, passphrase)?;
    let header = bundle::read_header(&mut input)?;
    let dir = copies::ensure_folder(store.path())?;
    let scratch = copies::scratch_file(&dir)?;
    let mut conn = copies::open_scratch(scratch.path())?;
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(StoreError::from)?;
    store::migrate_to(&mut conn, header.schema).map_err(StoreError::from)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let totals = bundle::import_rows(&tx, &mut input, &mut |rows| {
        progress.report(rows, 0);
        !progress.cancelled()
    })
    .map_err(|e| match e {
        BundleError::Bad { line, problem } => BackupError::NotBackup {
            path: file.to_path_buf(),
            problem: format!("line {line}: {problem}"),
        },
        other => other.into(),
    })?;
    tx.commit().map_err(StoreError::from)?;
    copies::upgrade_copy(&mut conn)?;
    if let Verdict::Failed(why) = copies::check(&conn, |_| {})? {
        return Err(BackupError::Refused {
            path: file.to_path_buf(),
            why,
        });
    }
    let set_aside = set_aside(store, now, progress)?;
    store.replace_contents(&conn, &mut ticker(progress))?;
    drop(conn);
    drop(scratch);
    Ok((totals, set_aside))
}
