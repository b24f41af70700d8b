//! Issuing and revoking licenses, and the ledger that records them: sign with the active key,
//! store the license and append its ledger entry in one transaction, so a license is never
//! issued without its entry.

use super::Progress;
use super::keys::{self, KeysError};
use crate::domain::checkpoint::{Checkpoint, CheckpointError};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::issue::IssueSpec;
use crate::domain::license_status::{LicenseStatus, StatusChange, TransitionError};
use crate::files::{self, FileError, Output};
use crate::store::ledger::{self, ChainReport, ExportEnd, ExportError, Record};
use crate::store::licenses;
use crate::store::revocations::{self, StoredList};
use crate::store::{Store, StoreError};
use licensekey::{KeyId, KeyRing, LicenseRequest, RevocationList, SignedLicense, SigningKey, Uuid};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Licenses are committed in transactions of this many during bulk issue.
pub const BULK_COMMIT_EVERY: usize = 2_000;

/// Where a checkpoint is checked against: the checkpoint file and the public key kept with it,
/// off this machine (a key in this database proves nothing to whoever can write it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointCheck {
    pub checkpoint: PathBuf,
    /// A public key file (base64 or PEM), or the key's text itself.
    pub public_key: String,
}

/// What staff can do with licenses and the ledger.
#[derive(Debug, Clone)]
pub enum LicensingCommand {
    /// Read a license request file (opened or dropped).
    LoadRequest {
        path: PathBuf,
    },
    Issue {
        spec: Box<IssueSpec>,
        account_id: Option<AccountId>,
    },
    Revoke {
        license_id: LicenseId,
        reason: String,
    },
    /// Suspend, enable, supersede or delete (or revoke) a license, as the state machine allows.
    ChangeStatus {
        license_id: LicenseId,
        change: StatusChange,
        reason: String,
    },
    /// Walk the ledger, and check it against a signed checkpoint if one is given.
    VerifyLedger {
        checkpoint: Option<CheckpointCheck>,
    },
    /// Sign the ledger's head with the active key and save it.
    SaveCheckpoint {
        path: PathBuf,
    },
    ExportLedger {
        path: PathBuf,
    },
}

impl LicensingCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            LicensingCommand::LoadRequest { .. } => "Open request file",
            LicensingCommand::Issue { .. } => "Issue license",
            LicensingCommand::Revoke { .. } => "Revoke license",
            LicensingCommand::ChangeStatus { change, .. } => match change {
                StatusChange::Suspend => "Suspend license",
                StatusChange::Enable => "Enable license",
                StatusChange::Revoke => "Revoke license",
                StatusChange::Supersede => "Replace license",
                StatusChange::Delete => "Delete license",
            },
            LicensingCommand::VerifyLedger { .. } => "Verify ledger",
            LicensingCommand::SaveCheckpoint { .. } => "Save checkpoint",
            LicensingCommand::ExportLedger { .. } => "Export ledger",
        }
    }

    /// True for work that can take long enough to want a progress bar and a Cancel button.
    pub fn is_long(&self) -> bool {
        matches!(
            self,
            LicensingCommand::VerifyLedger { .. } | LicensingCommand::ExportLedger { .. }
        )
    }
}

/// A license just issued, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedView {
    pub license_id: LicenseId,
    pub product: String,
    pub customer: String,
    pub kind: String,
    pub expires_at: Option<i64>,
    pub serial: String,
    pub license_file: String,
}

impl From<&SignedLicense> for IssuedView {
    fn from(license: &SignedLicense) -> Self {
        let p = license.payload();
        IssuedView {
            license_id: LicenseId(p.license_id),
            product: p.product.clone(),
            customer: p.customer.clone(),
            kind: p.kind.name().to_string(),
            expires_at: p.expires_at,
            serial: license.to_serial(),
            license_file: license.to_license_file(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicensingEvent {
    RequestLoaded {
        request: LicenseRequest,
        source: PathBuf,
    },
    Issued(IssuedView),
    Revoked {
        license_id: LicenseId,
        sequence: u64,
    },
    StatusChanged {
        license_id: LicenseId,
        status: LicenseStatus,
    },
    LedgerVerified(ChainReport),
    CheckpointSaved {
        entries: u64,
        path: PathBuf,
    },
    LedgerExported {
        entries: u64,
        path: PathBuf,
    },
    /// A long job stopped when asked; what it committed stays.
    Cancelled {
        action: &'static str,
    },
}

/// Why a licensing command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LicensingError {
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error("license: {0}")]
    License(#[from] licensekey::Error),
    #[error("{path}: {error}")]
    Request {
        path: PathBuf,
        error: licensekey::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("public key of the checkpoint: {0}")]
    PinnedKey(licensekey::Error),
    #[error("no license {0} was issued from this desk")]
    UnknownLicense(LicenseId),
    #[error("license {0} is already revoked")]
    AlreadyRevoked(LicenseId),
    #[error("Reason: {0}")]
    Reason(String),
    #[error("{0}")]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Where committed licenses are written as they commit could not be written; what was
    /// committed stays, and a new run resumes.
    #[error("the output could not be written: {0}")]
    Output(String),
}

/// Runs one command; `vault` holds the keys unlocked in this session.
pub fn run(
    store: &mut Store,
    vault: &mut keys::KeyVault,
    now: i64,
    command: LicensingCommand,
    progress: &mut dyn Progress,
) -> Result<LicensingEvent, LicensingError> {
    match command {
        LicensingCommand::LoadRequest { path } => {
            let request = load_request(&path)?;
            Ok(LicensingEvent::RequestLoaded {
                request,
                source: path,
            })
        }
        LicensingCommand::Issue { spec, account_id } => {
            let operator = operator(store)?;
            let (_, signing) = vault.active_signing_key(store.conn())?;
            let signing = signing.clone();
            let license = issue(store, &signing, &spec, account_id, &operator, now)?;
            Ok(LicensingEvent::Issued(IssuedView::from(&license)))
        }
        LicensingCommand::Revoke { license_id, reason } => {
            let operator = operator(store)?;
            let (_, signing) = vault.active_signing_key(store.conn())?;
            let signing = signing.clone();
            let list = revoke(store, &signing, license_id, &reason, &operator, now)?;
            Ok(LicensingEvent::Revoked {
                license_id,
                sequence: list.list().sequence,
            })
        }
        LicensingCommand::ChangeStatus {
            license_id,
            change,
            reason,
        } => {
            let operator = operator(store)?;
            let (_, signing) = vault.active_signing_key(store.conn())?;
            let signing = signing.clone();
            let status =
                change_status(store, &signing, license_id, change, &reason, &operator, now)?;
            Ok(LicensingEvent::StatusChanged { license_id, status })
        }
        LicensingCommand::VerifyLedger { checkpoint } => {
            let checkpoint = match &checkpoint {
                Some(check) => Some(read_checkpoint(check)?),
                None => None,
            };
            let report = verify_ledger(store.conn(), checkpoint.as_ref(), progress)?;
            Ok(LicensingEvent::LedgerVerified(report))
        }
        LicensingCommand::SaveCheckpoint { path } => {
            let (_, signing) = vault.active_signing_key(store.conn())?;
            let checkpoint = checkpoint(store.conn(), signing, now)?;
            files::write(
                &path,
                checkpoint.to_file().as_bytes(),
                Output {
                    force: true,
                    secret: false,
                    database: Some(store.path()),
                },
            )?;
            Ok(LicensingEvent::CheckpointSaved {
                entries: checkpoint.entries,
                path,
            })
        }
        LicensingCommand::ExportLedger { path } => {
            match export_ledger(store, &path, true, progress)? {
                ExportEnd::Complete { written } => Ok(LicensingEvent::LedgerExported {
                    entries: written,
                    path,
                }),
                ExportEnd::Cancelled { .. } => Ok(LicensingEvent::Cancelled {
                    action: "Export ledger",
                }),
            }
        }
    }
}

/// Reads and parses a license request file (size-capped, regular files only).
pub fn load_request(path: &Path) -> Result<LicenseRequest, LicensingError> {
    let text = files::read_text(path, files::REQUEST)?;
    LicenseRequest::parse(&text).map_err(|error| LicensingError::Request {
        path: path.to_path_buf(),
        error,
    })
}

/// The name recorded as operator: the one set in Settings, else the OS user.
pub fn operator(store: &Store) -> Result<String, StoreError> {
    let configured = crate::store::settings::load(store.conn())?.operator;
    Ok(operator_name(&configured))
}

/// The operator from a configured name, else the OS user, else "unknown".
pub fn operator_name(configured: &str) -> String {
    let configured = configured.trim();
    if !configured.is_empty() {
        return configured.to_string();
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .map(|name| name.trim().chars().take(80).collect::<String>())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Signs one license and records it (row + ledger entry) in one transaction.
pub fn issue(
    store: &mut Store,
    key: &SigningKey,
    spec: &IssueSpec,
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
) -> Result<SignedLicense, LicensingError> {
    let mut issued = Vec::with_capacity(1);
    issue_many(
        store,
        key,
        std::slice::from_ref(spec),
        account_id,
        operator,
        now,
        &mut super::NoProgress,
        |license| {
            issued.push(license.clone());
            Ok(())
        },
    )?;
    issued
        .pop()
        .ok_or_else(|| StoreError::Corrupt("the license was not stored".into()).into())
}

/// Signs and records many licenses as a new batch (see [`issue_batch`]); each committed
/// license is handed to `committed` right after its transaction commits. Returns how many were
/// issued.
#[allow(clippy::too_many_arguments)]
pub fn issue_many(
    store: &mut Store,
    key: &SigningKey,
    specs: &[IssueSpec],
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    mut committed: impl FnMut(&SignedLicense) -> Result<(), LicensingError>,
) -> Result<u64, LicensingError> {
    let rows: Vec<(u32, IssueSpec)> = (1..).zip(specs.iter().cloned()).collect();
    let batch = Batch {
        id: None,
        rows: &rows,
    };
    let outcome = issue_batch(
        store,
        key,
        &batch,
        account_id,
        operator,
        now,
        progress,
        |chunk| chunk.iter().try_for_each(|(_, license)| committed(license)),
    )?;
    Ok(outcome.issued)
}

/// A bulk issue's rows, each known by its row number within the batch. With an id, each row's
/// license is recorded (see [`crate::store::bulk`]) and issuing it again issues only the rows
/// not issued yet; without one, nothing is recorded.
pub struct Batch<'a> {
    pub id: Option<crate::store::bulk::BatchId>,
    pub rows: &'a [(u32, IssueSpec)],
}

/// What a batch issue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows issued by this run.
    pub issued: u64,
    /// Rows an earlier run had already issued (skipped).
    pub earlier: u64,
}

/// Issues the rows of `batch` not issued yet, committing every [`BULK_COMMIT_EVERY`]; each
/// license is recorded with its row in the same transaction, and each committed chunk (row
/// numbers and licenses) is handed to `committed` right after its transaction commits. Stops at the next commit when
/// `progress` says so; what was committed stays, and the next run goes on from there.
#[allow(clippy::too_many_arguments)]
pub fn issue_batch(
    store: &mut Store,
    key: &SigningKey,
    batch: &Batch<'_>,
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    mut committed: impl FnMut(&[(u32, SignedLicense)]) -> Result<(), LicensingError>,
) -> Result<BatchOutcome, LicensingError> {
    keys::ensure_active(store.conn(), key)?;
    let done = match &batch.id {
        Some(id) => crate::store::bulk::done(store.conn(), id)?,
        None => Default::default(),
    };
    let pending: Vec<&(u32, IssueSpec)> = batch
        .rows
        .iter()
        .filter(|(row, _)| !done.contains(row))
        .collect();
    let total = batch.rows.len() as u64;
    let earlier = total - pending.len() as u64;
    let mut issued = 0u64;
    progress.report(earlier, total);
    for chunk in pending.chunks(BULK_COMMIT_EVERY) {
        if progress.cancelled() {
            break;
        }
        let signed = chunk
            .iter()
            .map(|(row, spec)| {
                SignedLicense::sign(spec.payload(Uuid::now_v7(), now), key).map(|l| (*row, l))
            })
            .collect::<Result<Vec<_>, _>>()?;
        store.write(|tx| {
            let mut head = ledger::head(tx)?;
            for (row, license) in &signed {
                head = record_issued(tx, head, license, account_id, operator, now)?;
                if let Some(batch_id) = &batch.id {
                    let id = crate::domain::ids::LicenseId(license.payload().license_id);
                    crate::store::bulk::insert(tx, batch_id, *row, id)?;
                }
            }
            Ok::<_, LicensingError>(())
        })?;
        committed(&signed)?;
        issued += signed.len() as u64;
        progress.report(earlier + issued, total);
    }
    Ok(BatchOutcome { issued, earlier })
}

/// Stores a freshly signed license and appends its ledger entry after `head`, inside the
/// caller's transaction (a renewal charges and issues in one); returns the new head.
pub fn record_issued(
    tx: &rusqlite::Transaction<'_>,
    head: ledger::Head,
    license: &SignedLicense,
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
) -> Result<ledger::Head, LicensingError> {
    let row = licenses::insert(tx, license, account_id, now)?;
    Ok(ledger::append(
        tx,
        head,
        row.license_id,
        Record::Issue {
            artifact: &row.artifact,
            account: account_id,
        },
        operator,
        now,
    )?)
}

/// Checks a reason typed for a revocation or a state change.
fn valid_reason(reason: &str) -> Result<&str, LicensingError> {
    let reason = reason.trim();
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(LicensingError::Reason(
            "at most 500 characters, no control characters".into(),
        ));
    }
    Ok(reason)
}

/// How long a published revocation list says it stays current: its next-update time is this
/// many days after it is signed. A product that requires a fresh list then wants a newer one;
/// `license-desk revocations publish` signs a fresh copy of the current list at any time.
pub const LIST_VALIDITY_DAYS: i64 = 30;

/// Signs the next revocation list, naming every license that is suspended, revoked or deleted
/// now. Its sequence comes from the time and this desk's tag (see [`licensekey::SequenceTag`]):
/// it only grows, so an old list cannot be replayed, and never equals another desk's.
fn next_list(
    conn: &rusqlite::Connection,
    key: &SigningKey,
    now: i64,
) -> Result<(licensekey::SignedRevocationList, u64), LicensingError> {
    let listed = licenses::listed_as_revoked(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect();
    let tag = crate::store::desk::revocation_tag(conn)?;
    let previous = revocations::last_own_sequence(conn, tag)?;
    let sequence = tag.next_sequence(previous, now.saturating_mul(1000))?;
    let next_update = now.saturating_add(LIST_VALIDITY_DAYS * licensekey::SECONDS_PER_DAY);
    let list = licensekey::SignedRevocationList::sign(
        RevocationList::new(sequence, now, next_update, listed),
        key,
    )?;
    Ok((list, sequence))
}

/// A freshly signed copy of the current revocation list (for products that require a recent
/// one); nothing is stored, the list names exactly what the last stored list names.
pub fn republish_list(
    store: &Store,
    key: &SigningKey,
    now: i64,
) -> Result<licensekey::SignedRevocationList, LicensingError> {
    keys::ensure_active(store.conn(), key)?;
    Ok(next_list(store.conn(), key, now)?.0)
}

/// Keeps a published list, tied to the ledger entry that published it.
fn keep_list(
    tx: &rusqlite::Transaction<'_>,
    list: &licensekey::SignedRevocationList,
    sequence: u64,
    signer: KeyId,
    ledger_seq: i64,
    now: i64,
) -> Result<(), LicensingError> {
    revocations::save_list(
        tx,
        &StoredList {
            sequence,
            key_id: signer,
            issued_at: now,
            file: list.to_file(),
            ledger_seq: Some(ledger_seq),
        },
        now,
    )?;
    Ok(())
}

/// The license, or why it cannot be changed.
fn issued_license(
    tx: &rusqlite::Transaction<'_>,
    license_id: LicenseId,
) -> Result<licenses::LicenseRow, LicensingError> {
    licenses::get(tx, license_id)?.ok_or(LicensingError::UnknownLicense(license_id))
}

/// Revokes a license for `reason`: the revocation, the ledger entry and the next signed
/// revocation list, in one transaction. Returns the list to hand to customers' products.
pub fn revoke(
    store: &mut Store,
    key: &SigningKey,
    license_id: LicenseId,
    reason: &str,
    operator: &str,
    now: i64,
) -> Result<licensekey::SignedRevocationList, LicensingError> {
    let reason = valid_reason(reason)?;
    let signer = keys::ensure_active(store.conn(), key)?;
    store.write(|tx| {
        let license = issued_license(tx, license_id)?;
        if license.status == LicenseStatus::Revoked {
            return Err(LicensingError::AlreadyRevoked(license_id));
        }
        let revoked = license.status.apply(StatusChange::Revoke)?;
        revocations::insert(tx, license_id, reason, now)?;
        licenses::set_status(tx, license_id, revoked, now)?;
        let (list, sequence) = next_list(tx, key, now)?;
        let head = ledger::append(
            tx,
            ledger::head(tx)?,
            license_id,
            Record::Revoke {
                reason,
                list: &list.to_bytes(),
            },
            operator,
            now,
        )?;
        keep_list(tx, &list, sequence, signer.key_id, head.seq, now)?;
        Ok(list)
    })
}

/// Suspends, enables, supersedes or deletes a license (revoking goes through [`revoke`]), as
/// the state machine allows; publishes the next revocation list when the change moves the
/// license on or off it. Returns the new state.
#[allow(clippy::too_many_arguments)]
pub fn change_status(
    store: &mut Store,
    key: &SigningKey,
    license_id: LicenseId,
    change: StatusChange,
    reason: &str,
    operator: &str,
    now: i64,
) -> Result<LicenseStatus, LicensingError> {
    if change == StatusChange::Revoke {
        revoke(store, key, license_id, reason, operator, now)?;
        return Ok(LicenseStatus::Revoked);
    }
    let signer = keys::ensure_active(store.conn(), key)?;
    store.write(|tx| {
        change_status_in(
            tx,
            key,
            signer.key_id,
            license_id,
            change,
            reason,
            operator,
            now,
        )
    })
}

/// [`change_status`] inside the caller's transaction (a renewal supersedes the old license in
/// the transaction that issues the new one); `signer` is the id of `key`, already checked to
/// be the active key.
#[allow(clippy::too_many_arguments)]
pub fn change_status_in(
    tx: &rusqlite::Transaction<'_>,
    key: &SigningKey,
    signer: KeyId,
    license_id: LicenseId,
    change: StatusChange,
    reason: &str,
    operator: &str,
    now: i64,
) -> Result<LicenseStatus, LicensingError> {
    let reason = valid_reason(reason)?;
    if change == StatusChange::Revoke {
        return Err(LicensingError::Reason(
            "a revocation goes through revoke(), which records its reason".into(),
        ));
    }
    let license = issued_license(tx, license_id)?;
    let next = license.status.apply(change)?;
    licenses::set_status(tx, license_id, next, now)?;
    let head = ledger::head(tx)?;
    if license.status.is_listed_as_revoked() == next.is_listed_as_revoked() {
        ledger::append(
            tx,
            head,
            license_id,
            Record::Status {
                to: next,
                reason,
                list: None,
            },
            operator,
            now,
        )?;
    } else {
        let (list, sequence) = next_list(tx, key, now)?;
        let head = ledger::append(
            tx,
            head,
            license_id,
            Record::Status {
                to: next,
                reason,
                list: Some(&list.to_bytes()),
            },
            operator,
            now,
        )?;
        keep_list(tx, &list, sequence, signer, head.seq, now)?;
    }
    Ok(next)
}

/// Moves a license to another account (or to none), with its ledger entry.
pub fn move_to_account(
    store: &mut Store,
    license_id: LicenseId,
    account: Option<AccountId>,
    reason: &str,
    operator: &str,
    now: i64,
) -> Result<(), LicensingError> {
    let reason = valid_reason(reason)?;
    store.write(|tx| {
        let license = issued_license(tx, license_id)?;
        if license.status == LicenseStatus::Deleted {
            return Err(LicensingError::Transition(TransitionError {
                change: "move",
                from: license.status.as_str(),
                why: "it is deleted",
            }));
        }
        if let Some(account) = account
            && crate::store::accounts::get(tx, account)?.is_none()
        {
            return Err(StoreError::NotFound {
                what: "account",
                id: account.to_string(),
            }
            .into());
        }
        licenses::set_account(tx, license_id, account, now)?;
        ledger::append(
            tx,
            ledger::head(tx)?,
            license_id,
            Record::Link { account, reason },
            operator,
            now,
        )?;
        Ok(())
    })
}

/// Signs the ledger's current head: keep the file (and the public key) off this machine, so
/// entries cut off its end are noticed.
pub fn checkpoint(
    conn: &Connection,
    key: &SigningKey,
    now: i64,
) -> Result<Checkpoint, LicensingError> {
    keys::ensure_active(conn, key)?;
    let head = ledger::head(conn)?;
    let entries = u64::try_from(head.seq)
        .map_err(|_| StoreError::Corrupt(format!("ledger head {} is negative", head.seq)))?;
    Ok(Checkpoint::sign(entries, head.hash, now, key))
}

/// Reads a checkpoint file and checks its signature against the pinned public key.
pub fn read_checkpoint(check: &CheckpointCheck) -> Result<Checkpoint, LicensingError> {
    let pinned = pinned_key(&check.public_key)?;
    let text = files::read_text(&check.checkpoint, files::CHECKPOINT)?;
    let checkpoint = Checkpoint::parse(&text)?;
    let mut ring = KeyRing::new();
    ring.insert(pinned).map_err(LicensingError::PinnedKey)?;
    checkpoint.verify(&ring)?;
    Ok(checkpoint)
}

/// A public key given as a file path or as its text (base64 or PEM).
pub fn pinned_key(given: &str) -> Result<licensekey::VerifyingKey, LicensingError> {
    let path = Path::new(given.trim());
    let text = if !given.trim().is_empty() && path.is_file() {
        files::read_text(path, files::PUBLIC_KEY)?
    } else {
        given.to_string()
    };
    licensekey::parse_public_key(&text).map_err(LicensingError::PinnedKey)
}

/// Walks the ledger's chain and records and, given a checkpoint already checked against its
/// pinned key, checks the chain still reaches it.
pub fn verify_ledger(
    conn: &Connection,
    checkpoint: Option<&Checkpoint>,
    progress: &mut dyn Progress,
) -> Result<ChainReport, LicensingError> {
    let total = ledger::count(conn)?;
    let mut report = |done: i64| progress.report(done.unsigned_abs(), total);
    Ok(match checkpoint {
        None => ledger::verify(conn, &mut report)?,
        Some(checkpoint) => ledger::verify_against(conn, checkpoint, &mut report)?,
    })
}

/// Writes the ledger as CSV through a temporary file: the file appears only when complete.
pub fn export_ledger(
    store: &Store,
    path: &Path,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<ExportEnd, LicensingError> {
    let total = ledger::count(store.conn())?;
    let mut end = ExportEnd::Complete { written: 0 };
    files::write_with(
        path,
        Output {
            force,
            secret: false,
            database: Some(store.path()),
        },
        |out| {
            end = ledger::export_csv(store.conn(), out, |done| {
                progress.report(done, total);
                !progress.cancelled()
            })?;
            Ok::<_, LicensingError>(matches!(end, ExportEnd::Complete { .. }))
        },
    )?;
    Ok(end)
}

/// Whether a license verified against this desk's keys was issued here: the ledger holds an
/// issue entry for its id and the stored bytes are exactly these.
pub fn issued_here(conn: &Connection, license: &SignedLicense) -> Result<bool, LicensingError> {
    let id = LicenseId(license.payload().license_id);
    let Some(row) = licenses::get(conn, id)? else {
        return Ok(false);
    };
    Ok(row.artifact == license.to_bytes() && ledger::issue_entry(conn, id)?.is_some())
}

/// The key ids of the vault (for messages).
pub fn vault_key_ids(conn: &Connection) -> Result<Vec<KeyId>, LicensingError> {
    Ok(crate::store::keys::list(conn)?
        .into_iter()
        .map(|k| k.key_id)
        .collect())
}
