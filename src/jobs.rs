//! The background worker: the one owner of the read-write database connection.
//!
//! Panels send it a [`Command`] and get an [`Event`] back; long work reports [`JobProgress`]
//! that the status bar draws as a progress bar. The UI thread never waits on it: it polls
//! events once a frame and the worker asks for a repaint after each one.

use crate::clock::SharedClock;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::checkpoint::Checkpoint;
use crate::domain::issue::IssueSpec;
use crate::domain::payment::{PaymentDetails, PaymentMethod};
use crate::domain::settings::Settings;
use crate::error::{DeskError, DeskResult, read_text, write_text};
use crate::store::ledger::ChainReport;
use crate::store::{self, Store};
use keyvault::{KdfParams, Session};
use licensekey::LicenseRequest;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Work for the worker. Each variant is one transaction (or one named long job).
#[derive(Debug, Clone)]
pub enum Command {
    CreateAccount {
        name: String,
    },
    RenameAccount {
        id: String,
        name: String,
    },
    DeleteAccount {
        id: String,
    },
    SaveBilling {
        account_id: String,
        details: BillingDetails,
    },
    AddPaymentMethod {
        account_id: String,
        details: PaymentDetails,
        make_default: bool,
    },
    SetDefaultPaymentMethod {
        id: String,
    },
    DeletePaymentMethod {
        id: String,
    },
    SaveSettings(Settings),
    /// Generate a signing key; with `make_active` it signs from now on (rotation).
    GenerateKey {
        name: String,
        passphrase: Secret,
        make_active: bool,
    },
    ImportKey {
        path: PathBuf,
    },
    ActivateKey {
        key_id: String,
    },
    ExportEncryptedKey {
        key_id: String,
        path: PathBuf,
    },
    UnlockKey {
        key_id: String,
        passphrase: Secret,
    },
    LockKeys,
    /// Lock keys idle longer than the setting allows.
    LockIdleKeys,
    /// Read a license request file (opened or dropped).
    LoadRequest {
        path: PathBuf,
    },
    IssueLicense {
        spec: IssueSpec,
        account_id: Option<String>,
    },
    /// Write a text file (license file, public key, ...) atomically.
    SaveFile {
        path: PathBuf,
        contents: String,
        what: String,
    },
    /// Walk the ledger's chain, and check it against a signed checkpoint file if one is given.
    VerifyLedger {
        checkpoint: Option<PathBuf>,
    },
    /// Sign the ledger's head with the active key and save it.
    SaveCheckpoint {
        path: PathBuf,
    },
    ExportLedger {
        path: PathBuf,
    },
}

/// A passphrase on its way to the worker: wiped when dropped, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a typed passphrase.
    pub fn new(text: &str) -> Self {
        Self(Zeroizing::new(text.to_string()))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A license just issued, as the Licenses panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedView {
    pub license_id: String,
    pub product: String,
    pub customer: String,
    pub kind: String,
    pub expires_at: Option<i64>,
    pub serial: String,
    pub license_file: String,
}

/// What the worker reports back.
#[derive(Debug, Clone)]
pub enum Event {
    AccountCreated(Account),
    AccountRenamed(Account),
    AccountDeleted(Account),
    BillingSaved {
        account_id: String,
        details: BillingDetails,
    },
    PaymentMethodAdded(PaymentMethod),
    PaymentMethodsChanged {
        message: String,
    },
    SettingsSaved(Settings),
    KeysChanged {
        message: String,
    },
    KeyUnlocked {
        key_id: String,
        name: String,
    },
    KeysLocked {
        key_ids: Vec<String>,
    },
    RequestLoaded {
        request: LicenseRequest,
        source: String,
    },
    LicenseIssued(IssuedView),
    FileSaved {
        what: String,
        path: PathBuf,
    },
    LedgerVerified(ChainReport),
    /// A long job moved on.
    Progress(JobProgress),
    /// A command failed; nothing of it was written.
    Failed {
        action: &'static str,
        message: String,
    },
}

/// Progress of the running long job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// What the job is doing ("Issuing licenses").
    pub label: String,
    pub done: u64,
    pub total: u64,
    /// True once the job has ended (successfully or not).
    pub finished: bool,
}

impl JobProgress {
    /// Fraction done, 0.0..=1.0.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32
        }
    }
}

/// Handed to long jobs so they can report progress and notice cancellation.
pub struct Progress<'a> {
    label: String,
    total: u64,
    events: &'a Sender<Event>,
    notify: &'a (dyn Fn() + Send),
    cancel: &'a AtomicBool,
    last_sent: Option<Instant>,
}

impl Progress<'_> {
    /// Reports `done` of the total; throttled to about 30 updates a second.
    pub fn set(&mut self, done: u64) {
        let now = Instant::now();
        let due = self
            .last_sent
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(33));
        if due || done >= self.total {
            self.last_sent = Some(now);
            self.send(done, false);
        }
    }

    /// True when staff asked the job to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn send(&self, done: u64, finished: bool) {
        let _ = self.events.send(Event::Progress(JobProgress {
            label: self.label.clone(),
            done,
            total: self.total,
            finished,
        }));
        (self.notify)();
    }
}

/// The handle the UI keeps: send commands, poll events.
pub struct Worker {
    commands: Option<Sender<Command>>,
    events: Receiver<Event>,
    pending: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker thread owning `store`. `notify` is called after every event (the GUI
    /// passes `ctx.request_repaint`).
    pub fn spawn(
        store: Store,
        clock: SharedClock,
        kdf: KdfParams,
        notify: Box<dyn Fn() + Send>,
    ) -> Worker {
        let (command_tx, command_rx) = mpsc::channel::<Command>();
        let (event_tx, event_rx) = mpsc::channel::<Event>();
        let pending = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let thread = {
            let pending = Arc::clone(&pending);
            let cancel = Arc::clone(&cancel);
            std::thread::Builder::new()
                .name("store-worker".into())
                .spawn(move || {
                    let mut state = WorkerState {
                        store,
                        clock,
                        kdf,
                        session: Session::new(Duration::from_secs(600)),
                        events: event_tx,
                        notify,
                        cancel,
                    };
                    for command in command_rx {
                        state.cancel.store(false, Ordering::Relaxed);
                        let event = state.run(command);
                        let _ = state.events.send(event);
                        pending.fetch_sub(1, Ordering::SeqCst);
                        (state.notify)();
                    }
                })
                .ok()
        };
        Worker {
            commands: Some(command_tx),
            events: event_rx,
            pending,
            cancel,
            thread,
        }
    }

    /// Queues a command; its event arrives through [`Worker::poll`].
    pub fn send(&self, command: Command) {
        if let Some(commands) = &self.commands {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if commands.send(command).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Every event that arrived since the last poll.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// True when no command is queued or running.
    pub fn is_idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }

    /// Asks the running long job to stop at its next check.
    pub fn cancel_running_job(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Blocks until idle or `timeout` (for tests and the CLI; never called from a frame).
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_idle() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct WorkerState {
    store: Store,
    clock: SharedClock,
    kdf: KdfParams,
    /// Keys unlocked this session; zeroized when locked or dropped.
    session: Session,
    events: Sender<Event>,
    notify: Box<dyn Fn() + Send>,
    cancel: Arc<AtomicBool>,
}

impl WorkerState {
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Starts progress reporting for a long job of `total` steps.
    fn progress(&self, label: &str, total: u64) -> Progress<'_> {
        Progress {
            label: label.to_string(),
            total,
            events: &self.events,
            notify: self.notify.as_ref(),
            cancel: &self.cancel,
            last_sent: None,
        }
    }

    fn run(&mut self, command: Command) -> Event {
        let action = action_name(&command);
        match self.execute(command) {
            Ok(event) => event,
            Err(err) => Event::Failed {
                action,
                message: err.to_string(),
            },
        }
    }

    fn execute(&mut self, command: Command) -> DeskResult<Event> {
        let now = self.now();
        let store = &mut self.store;
        Ok(match command {
            Command::CreateAccount { name } => {
                Event::AccountCreated(store.write(|tx| store::accounts::create(tx, &name, now))?)
            }
            Command::RenameAccount { id, name } => Event::AccountRenamed(
                store.write(|tx| store::accounts::rename(tx, &id, &name, now))?,
            ),
            Command::DeleteAccount { id } => {
                Event::AccountDeleted(store.write(|tx| store::accounts::delete(tx, &id, now))?)
            }
            Command::SaveBilling {
                account_id,
                details,
            } => {
                let details =
                    store.write(|tx| store::billing::save(tx, &account_id, &details, now))?;
                Event::BillingSaved {
                    account_id,
                    details,
                }
            }
            Command::AddPaymentMethod {
                account_id,
                details,
                make_default,
            } => {
                Event::PaymentMethodAdded(store.write(|tx| {
                    store::payments::add(tx, &account_id, &details, make_default, now)
                })?)
            }
            Command::SetDefaultPaymentMethod { id } => {
                store.write(|tx| store::payments::set_default(tx, &id, now))?;
                Event::PaymentMethodsChanged {
                    message: "Default payment method changed".into(),
                }
            }
            Command::DeletePaymentMethod { id } => {
                store.write(|tx| store::payments::delete(tx, &id, now))?;
                Event::PaymentMethodsChanged {
                    message: "Payment method removed".into(),
                }
            }
            Command::SaveSettings(settings) => {
                store.write(|tx| store::settings::save(tx, &settings))?;
                self.session
                    .set_idle_timeout(idle_timeout(settings.key_idle_lock_minutes));
                Event::SettingsSaved(settings)
            }
            other => self.execute_licensing(other, now)?,
        })
    }

    fn execute_licensing(&mut self, command: Command, now: i64) -> DeskResult<Event> {
        let store = &mut self.store;
        Ok(match command {
            Command::GenerateKey {
                name,
                passphrase,
                make_active,
            } => {
                let key = crate::vault::generate(
                    store,
                    &name,
                    passphrase.expose(),
                    self.kdf,
                    make_active,
                    now,
                )?;
                let role = if key.active {
                    "active signing key"
                } else {
                    "kept for later"
                };
                Event::KeysChanged {
                    message: format!("Key '{}' ({}) generated, {role}", key.name, key.key_id),
                }
            }
            Command::ImportKey { path } => {
                let key = crate::vault::import(store, &read_text(&path)?, false)?;
                Event::KeysChanged {
                    message: format!("Key '{}' ({}) imported", key.name, key.key_id),
                }
            }
            Command::ActivateKey { key_id } => {
                store.write(|tx| store::keys::activate(tx, &key_id))?;
                Event::KeysChanged {
                    message: format!("Key {key_id} now signs new licenses"),
                }
            }
            Command::ExportEncryptedKey { key_id, path } => {
                let key = crate::vault::find(store.conn(), &key_id)?;
                write_text(&path, &crate::vault::export_encrypted(store.conn(), &key)?)?;
                Event::FileSaved {
                    what: format!("Encrypted key file of '{}'", key.name),
                    path,
                }
            }
            Command::UnlockKey { key_id, passphrase } => {
                let key = crate::vault::find(store.conn(), &key_id)?;
                let signing = crate::vault::unlock(store.conn(), &key, passphrase.expose())?;
                let minutes = store::settings::load(store.conn())?.key_idle_lock_minutes;
                self.session.set_idle_timeout(idle_timeout(minutes));
                self.session.insert(&key.name, signing, Instant::now());
                Event::KeyUnlocked {
                    key_id: key.key_id,
                    name: key.name,
                }
            }
            Command::LockKeys => {
                let key_ids = self.unlocked_ids();
                self.session.lock_all();
                Event::KeysLocked { key_ids }
            }
            Command::LockIdleKeys => {
                let before = self.unlocked_ids();
                let idle = self.session.idle_timeout();
                self.session.lock_if_idle(Instant::now(), idle);
                let after = self.unlocked_ids();
                Event::KeysLocked {
                    key_ids: before.into_iter().filter(|k| !after.contains(k)).collect(),
                }
            }
            Command::LoadRequest { path } => {
                let request = LicenseRequest::parse(&read_text(&path)?)?;
                Event::RequestLoaded {
                    request,
                    source: path.display().to_string(),
                }
            }
            Command::IssueLicense { spec, account_id } => {
                let operator =
                    crate::issuance::operator_name(&store::settings::load(store.conn())?.operator);
                let signing = unlocked_active_key(&mut self.session, store.conn())?;
                let license = crate::issuance::issue(
                    store,
                    signing,
                    &spec,
                    account_id.as_deref(),
                    &operator,
                    now,
                )?;
                let p = license.payload();
                Event::LicenseIssued(IssuedView {
                    license_id: p.license_id.to_string(),
                    product: p.product.clone(),
                    customer: p.customer.clone(),
                    kind: p.kind.name().to_string(),
                    expires_at: p.expires_at,
                    serial: license.to_serial(),
                    license_file: license.to_license_file(),
                })
            }
            Command::SaveFile {
                path,
                contents,
                what,
            } => {
                write_text(&path, &contents)?;
                Event::FileSaved { what, path }
            }
            Command::VerifyLedger { checkpoint } => {
                let checkpoint = match checkpoint {
                    Some(path) => Some(Checkpoint::parse(&read_text(&path)?)?),
                    None => None,
                };
                let total = u64::try_from(store::ledger::count(self.store.conn())?).unwrap_or(0);
                let mut progress = Progress {
                    label: "Verifying ledger".into(),
                    total,
                    events: &self.events,
                    notify: self.notify.as_ref(),
                    cancel: &self.cancel,
                    last_sent: None,
                };
                let report = crate::issuance::verify_ledger(
                    self.store.conn(),
                    checkpoint.as_ref(),
                    |done| {
                        progress.set(u64::try_from(done).unwrap_or(0));
                    },
                )?;
                progress.send(total, true);
                Event::LedgerVerified(report)
            }
            Command::SaveCheckpoint { path } => {
                let signing = unlocked_active_key(&mut self.session, store.conn())?;
                let checkpoint = crate::issuance::checkpoint(store, signing, now)?;
                write_text(&path, &checkpoint.to_file())?;
                Event::FileSaved {
                    what: format!("Signed checkpoint of {} ledger entries", checkpoint.entries),
                    path,
                }
            }
            Command::ExportLedger { path } => self.export_ledger(path)?,
            other => return Err(DeskError::Other(format!("unexpected command {other:?}"))),
        })
    }

    fn unlocked_ids(&self) -> Vec<String> {
        self.session
            .unlocked()
            .into_iter()
            .filter_map(|(public, _)| ed25519_dalek_key_id(&public))
            .collect()
    }

    /// Writes the ledger as CSV with progress; the file appears only when complete.
    fn export_ledger(&mut self, path: PathBuf) -> DeskResult<Event> {
        let conn = self.store.conn();
        let total = u64::try_from(store::ledger::count(conn)?).unwrap_or(0);
        let mut progress = self.progress("Exporting ledger", total);
        let text = store::ledger::export_csv(conn, |done| {
            progress.set(done);
            !progress.cancelled()
        })?;
        progress.send(total, true);
        write_text(&path, &text)?;
        Ok(Event::FileSaved {
            what: format!("Ledger ({total} entries)"),
            path,
        })
    }
}

/// The vault's active key from this session's unlocked keys (refreshing its idle timer).
fn unlocked_active_key<'s>(
    session: &'s mut Session,
    conn: &rusqlite::Connection,
) -> DeskResult<&'s licensekey::SigningKey> {
    let key = crate::vault::active(conn)?;
    let public = licensekey::parse_public_key(&key.public_key)?.to_bytes();
    session
        .signing_key(&public, Instant::now())
        .ok_or_else(|| DeskError::KeyLocked(format!("'{}' ({})", key.name, key.key_id)))
}

fn idle_timeout(minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes.max(1)) * 60)
}

fn ed25519_dalek_key_id(public: &[u8; 32]) -> Option<String> {
    licensekey::VerifyingKey::from_bytes(public)
        .ok()
        .map(|k| licensekey::KeyId::of(&k).to_string())
}

fn action_name(command: &Command) -> &'static str {
    match command {
        Command::CreateAccount { .. } => "Create account",
        Command::RenameAccount { .. } => "Rename account",
        Command::DeleteAccount { .. } => "Delete account",
        Command::SaveBilling { .. } => "Save billing details",
        Command::AddPaymentMethod { .. } => "Add payment method",
        Command::SetDefaultPaymentMethod { .. } => "Set default payment method",
        Command::DeletePaymentMethod { .. } => "Remove payment method",
        Command::SaveSettings(_) => "Save settings",
        Command::GenerateKey { .. } => "Generate key",
        Command::ImportKey { .. } => "Import key",
        Command::ActivateKey { .. } => "Activate key",
        Command::ExportEncryptedKey { .. } => "Export encrypted key",
        Command::UnlockKey { .. } => "Unlock key",
        Command::LockKeys | Command::LockIdleKeys => "Lock keys",
        Command::LoadRequest { .. } => "Open request file",
        Command::IssueLicense { .. } => "Issue license",
        Command::SaveFile { .. } => "Save file",
        Command::VerifyLedger { .. } => "Verify ledger",
        Command::SaveCheckpoint { .. } => "Save checkpoint",
        Command::ExportLedger { .. } => "Export ledger",
    }
}
