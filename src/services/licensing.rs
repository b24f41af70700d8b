//! Issuing and revoking licenses, and the ledger that records them: sign with the active key,
//! store the license and append its ledger entry in one transaction, so a license is never
//! issued without its entry.

use super::Progress;
use super::keys::{self, KeysError};
use super::license_admin::{self, LicenseEdit, OneTimeSecret};
use super::transfers::{self, Acceptance, TransferView};
use crate::domain::FieldErrors;
use crate::domain::checkpoint::{Checkpoint, CheckpointError};
use crate::domain::ids::TransferId;
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::issue::IssueSpec;
use crate::domain::license_status::{LicenseStatus, StatusChange, TransitionError};
use crate::files::{self, FileError, Output};
use crate::store::ledger::{self, ChainReport, ExportEnd, ExportError, Record};
use crate::store::license_list::{Directory, ListQuery};
use crate::store::licenses;
use crate::store::revocations::{self, StoredList};
use crate::store::{Store, StoreError};
use licensekey::{KeyId, KeyRing, LicenseRequest, RevocationList, SignedLicense, SigningKey, Uuid};
use rusqlite::{Connection, OptionalExtension};
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
    /// Save the edit form of a license.
    Edit(Box<LicenseEdit>),
    /// Decrypt a license's administrator password to show it (the sealing key must be
    /// unlocked).
    RevealPassword {
        license_id: LicenseId,
    },
    /// Apply a deactivation file from a customer's machine: its seat is freed.
    ApplyDeactivation {
        path: PathBuf,
    },
    /// Transfer a license to the account with this wallet ID (the partner ID).
    StartTransfer {
        license_id: LicenseId,
        partner_wallet: String,
    },
    /// The partner types the transfer's secret.
    AcceptTransfer {
        transfer_id: TransferId,
        secret: OneTimeSecret,
    },
    CancelTransfer {
        transfer_id: TransferId,
    },
    /// Take licenses a bulk issue committed into the list's indexes.
    IndexList,
    /// Walk a large list once for its exact count and the keys a far jump starts from.
    MapList {
        query: Box<ListQuery>,
        token: u64,
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
            LicensingCommand::Edit(_) => "Save license",
            LicensingCommand::RevealPassword { .. } => "Show password",
            LicensingCommand::ApplyDeactivation { .. } => "Apply deactivation file",
            LicensingCommand::StartTransfer { .. } => "Transfer license",
            LicensingCommand::AcceptTransfer { .. } => "Accept transfer",
            LicensingCommand::CancelTransfer { .. } => "Cancel transfer",
            LicensingCommand::IndexList => "Index licenses for the list",
            LicensingCommand::MapList { .. } => "Count licenses",
        }
    }

    /// True for work that can take long enough to want a progress bar and a Cancel button.
    pub fn is_long(&self) -> bool {
        matches!(
            self,
            LicensingCommand::VerifyLedger { .. }
                | LicensingCommand::ExportLedger { .. }
                | LicensingCommand::IndexList
        )
    }

    /// The license this command works on, if it is about one (the list shows it "In
    /// progress" meanwhile).
    pub fn license(&self) -> Option<LicenseId> {
        match self {
            LicensingCommand::Revoke { license_id, .. }
            | LicensingCommand::ChangeStatus { license_id, .. }
            | LicensingCommand::RevealPassword { license_id }
            | LicensingCommand::StartTransfer { license_id, .. } => Some(*license_id),
            LicensingCommand::Edit(edit) => Some(edit.license_id),
            _ => None,
        }
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
    Edited {
        license_id: LicenseId,
        /// What changed, in words.
        changes: String,
    },
    PasswordRevealed {
        license_id: LicenseId,
        password: Option<OneTimeSecret>,
    },
    Deactivated(license_admin::Deactivated),
    /// A transfer waits for the partner; the secret is shown once.
    TransferStarted {
        transfer: TransferView,
        secret: OneTimeSecret,
    },
    TransferAccepted(TransferView),
    /// A wrong secret was typed (and counted).
    TransferSecretRefused {
        transfer_id: TransferId,
        tries_left: u32,
    },
    TransferCancelled(TransferView),
    ListIndexed {
        listed: u64,
    },
    ListMapped {
        token: u64,
        directory: Box<Directory>,
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
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Refused, with the reason in words.
    #[error("{0}")]
    Refused(String),
    /// Where committed licenses are written as they commit could not be written; what was
    /// committed stays, and a new run resumes.
    #[error("the output could not be written: {0}")]
    Output(String),
}

impl From<rusqlite::Error> for LicensingError {
    fn from(e: rusqlite::Error) -> Self {
        LicensingError::Store(e.into())
    }
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
        LicensingCommand::Edit(edit) => {
            let operator = operator(store)?;
            let changes = license_admin::edit(store, vault, &edit, &operator, now)?;
            Ok(LicensingEvent::Edited {
                license_id: edit.license_id,
                changes,
            })
        }
        LicensingCommand::RevealPassword { license_id } => {
            let password = license_admin::reveal_password(store, vault, license_id)?;
            Ok(LicensingEvent::PasswordRevealed {
                license_id,
                password,
            })
        }
        LicensingCommand::ApplyDeactivation { path } => {
            let operator = operator(store)?;
            let done = license_admin::apply_deactivation_file(store, &path, &operator, now)?;
            Ok(LicensingEvent::Deactivated(done))
        }
        LicensingCommand::StartTransfer {
            license_id,
            partner_wallet,
        } => {
            let (transfer, secret) = transfers::start(store, license_id, &partner_wallet, now)?;
            Ok(LicensingEvent::TransferStarted { transfer, secret })
        }
        LicensingCommand::AcceptTransfer {
            transfer_id,
            secret,
        } => {
            let operator = operator(store)?;
            match transfers::accept(store, transfer_id, secret.expose(), &operator, now)? {
                Acceptance::Accepted(view) => Ok(LicensingEvent::TransferAccepted(view)),
                Acceptance::WrongSecret { tries_left } => {
                    Ok(LicensingEvent::TransferSecretRefused {
                        transfer_id,
                        tries_left,
                    })
                }
            }
        }
        LicensingCommand::CancelTransfer { transfer_id } => Ok(LicensingEvent::TransferCancelled(
            transfers::cancel(store, transfer_id, now)?,
        )),
        LicensingCommand::IndexList => {
            let listed = index_list(store, progress)?;
            Ok(LicensingEvent::ListIndexed { listed })
        }
        LicensingCommand::MapList { query, token } => {
            match query.directory(store.conn(), |_| !progress.cancelled())? {
                Some(directory) => Ok(LicensingEvent::ListMapped {
                    token,
                    directory: Box::new(directory),
                }),
                None => Ok(LicensingEvent::Cancelled {
                    action: "Count licenses",
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

/// Signs one license and records it (row + ledger entry, and the machine of its request
/// registered to it) in one transaction.
pub fn issue(
    store: &mut Store,
    key: &SigningKey,
    spec: &IssueSpec,
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
) -> Result<SignedLicense, LicensingError> {
    keys::ensure_active(store.conn(), key)?;
    let license = SignedLicense::sign(spec.payload(Uuid::now_v7(), now), key)?;
    store.write(|tx| {
        let machine = spec
            .machine_key
            .as_ref()
            .map(|k| (k, spec.machine_label.as_str()));
        record_issued_with(
            tx,
            ledger::head(tx)?,
            &license,
            account_id,
            None,
            machine,
            operator,
            now,
        )
    })?;
    Ok(license)
}

/// Signs and records many licenses for one account, on every core, committing every
/// [`BULK_COMMIT_EVERY`]; each committed license is handed to `committed` (in order) right
/// after its transaction commits. Stops at the next commit when `progress` says so; what was
/// committed stays, with its ledger entries. Returns how many were issued. The licenses join
/// the list when [`index_list`] takes them in.
#[allow(clippy::too_many_arguments)]
pub fn issue_many(
    store: &mut Store,
    key: &SigningKey,
    specs: &[IssueSpec],
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    committed: impl FnMut(&SignedLicense) -> Result<(), LicensingError>,
) -> Result<u64, LicensingError> {
    super::bulk::issue(
        store,
        key,
        &super::bulk::ForAccount {
            specs,
            account: account_id,
        },
        operator,
        now,
        progress,
        committed,
    )
}

/// Takes licenses a bulk issue committed into the list's indexes and search, in
/// transactions of 20,000; stops between them when asked. Returns how many were listed.
pub fn index_list(store: &mut Store, progress: &mut dyn Progress) -> Result<u64, LicensingError> {
    let total = licenses::unlisted_count(store.conn())?;
    let mut done = 0u64;
    while !progress.cancelled() {
        let listed = store.write(|tx| licenses::list_pending(tx, 20_000))?;
        if listed == 0 {
            break;
        }
        done += listed;
        progress.report(done.min(total), total);
    }
    Ok(done)
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

/// Issues the rows of `batch` not issued yet, on every core with one writer (see
/// [`super::bulk`]), committing every [`BULK_COMMIT_EVERY`]; each license is recorded with its
/// row in the same transaction, and each committed chunk (row numbers and licenses, in row
/// order) is handed to `committed` right after its transaction commits. Stops at the next
/// commit when `progress` says so; what was committed stays, and the next run goes on from
/// there. The licenses join the list when [`index_list`] takes them in.
#[allow(clippy::too_many_arguments)]
pub fn issue_batch(
    store: &mut Store,
    key: &SigningKey,
    batch: &Batch<'_>,
    account_id: Option<AccountId>,
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
    committed: impl FnMut(&[(u32, SignedLicense)]) -> Result<(), LicensingError>,
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
    progress.report(earlier, total);
    let mut progress = super::Offset {
        inner: progress,
        earlier,
        total,
    };
    let issued = super::bulk::issue_rows(
        store,
        key,
        &super::bulk::Rows {
            rows: &pending,
            account: account_id,
        },
        batch.id.as_ref(),
        operator,
        now,
        &mut progress,
        committed,
    )?;
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
    record_issued_with(tx, head, license, account_id, None, None, operator, now)
}

/// [`record_issued`] with the purchase term behind the license (months) and the machine
/// registered to it (its public key and label, from a version 3 request).
#[allow(clippy::too_many_arguments)]
pub fn record_issued_with(
    tx: &rusqlite::Transaction<'_>,
    head: ledger::Head,
    license: &SignedLicense,
    account_id: Option<AccountId>,
    order_months: Option<u32>,
    machine: Option<(&[u8; 32], &str)>,
    operator: &str,
    now: i64,
) -> Result<ledger::Head, LicensingError> {
    let row = licenses::insert(tx, license, account_id, order_months, now)?;
    if let Some((key, label)) = machine {
        crate::store::license_settings::register(tx, row.license_id, key, label, now)?;
    }
    Ok(ledger::append(
        tx,
        head,
        row.license_id,
        Record::Issue {
            artifact_hash: crate::domain::ledger_chain::artifact_hash(&row.artifact),
            account: account_id,
            machine: machine.map(|(key, _)| key),
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

/// The license, or why this desk cannot change it (unknown here, or issued on another desk).
pub(crate) fn issued_license(
    conn: &rusqlite::Connection,
    license_id: LicenseId,
) -> Result<licenses::LicenseRow, LicensingError> {
    if let Some(why) = licenses::issued_elsewhere(conn, license_id)? {
        return Err(LicensingError::Refused(why));
    }
    licenses::get(conn, license_id)?.ok_or(LicensingError::UnknownLicense(license_id))
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

/// One change of many: the license, the change and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkChange {
    pub license_id: LicenseId,
    pub change: StatusChange,
    pub reason: String,
}

/// Applies many state changes (for demo data and imports), as the state machine allows,
/// committing every [`BULK_COMMIT_EVERY`]: each is a `status` ledger entry (a revocation too,
/// with its reason in the entry), the transaction's entries enter the outbox as one range,
/// and each transaction publishes one revocation list, tied to its last entry, when its
/// changes moved a license on or off the list. Stops between transactions when asked.
/// Returns how many changes were applied.
pub fn change_status_many(
    store: &mut Store,
    key: &SigningKey,
    changes: &[BulkChange],
    operator: &str,
    now: i64,
    progress: &mut dyn Progress,
) -> Result<u64, LicensingError> {
    let signer = keys::ensure_active(store.conn(), key)?;
    let total = changes.len() as u64;
    let mut done = 0u64;
    for chunk in changes.chunks(BULK_COMMIT_EVERY) {
        if progress.cancelled() {
            break;
        }
        store.write(|tx| {
            let head = ledger::head(tx)?;
            let mut moved_list = false;
            let mut applied = Vec::with_capacity(chunk.len());
            for c in chunk {
                let reason = valid_reason(&c.reason)?;
                if let Some(why) = licenses::issued_elsewhere(tx, c.license_id)? {
                    return Err(LicensingError::Refused(why));
                }
                let status: Option<String> = tx
                    .prepare_cached("SELECT status FROM licenses WHERE license_id = ?1")?
                    .query_row([c.license_id], |r| r.get(0))
                    .optional()?;
                let from = status
                    .as_deref()
                    .and_then(LicenseStatus::parse)
                    .ok_or(LicensingError::UnknownLicense(c.license_id))?;
                let to = from.apply(c.change)?;
                tx.prepare_cached("UPDATE licenses SET status = ?2 WHERE license_id = ?1")?
                    .execute(rusqlite::params![c.license_id, to.as_str()])?;
                moved_list |= from.is_listed_as_revoked() != to.is_listed_as_revoked();
                applied.push((c.license_id, to, reason));
            }
            let list = if moved_list {
                Some(next_list(tx, key, now)?)
            } else {
                None
            };
            let mut last = head;
            let count = applied.len();
            for (i, (license_id, to, reason)) in applied.into_iter().enumerate() {
                let publish = if i + 1 == count {
                    list.as_ref().map(|(l, _)| l.to_bytes())
                } else {
                    None
                };
                last = ledger::append_in_batch(
                    tx,
                    last,
                    license_id,
                    Record::Status {
                        to,
                        reason,
                        list: publish.as_deref(),
                    },
                    operator,
                    now,
                )?;
            }
            if let Some((list, sequence)) = &list {
                keep_list(tx, list, *sequence, signer.key_id, last.seq, now)?;
            }
            ledger::close_batch(tx, head, last, now)?;
            Ok::<_, LicensingError>(())
        })?;
        done += chunk.len() as u64;
        progress.report(done, total);
    }
    Ok(done)
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
    store.write(|tx| move_to_account_in(tx, license_id, account, reason, operator, now))
}

/// [`move_to_account`] inside the caller's transaction (an accepted transfer moves the
/// license in the transaction that marks the transfer accepted).
pub fn move_to_account_in(
    tx: &rusqlite::Transaction<'_>,
    license_id: LicenseId,
    account: Option<AccountId>,
    reason: &str,
    operator: &str,
    now: i64,
) -> Result<(), LicensingError> {
    let reason = valid_reason(reason)?;
    {
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
    }
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
