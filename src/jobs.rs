//! The background worker: opens (and upgrades) the database, then owns the one read-write
//! connection and dispatches every [`Command`] to its service.
//!
//! The UI thread never waits on it: it sends a command (getting a [`RequestId`] back), polls
//! [`Message`]s once a frame, and the worker asks for a repaint after each one. Long jobs
//! report progress (the status bar draws it) and stop when cancelled; closing the window
//! cancels the running job and does not wait for it longer than a moment.

use crate::clock::SharedClock;
use crate::domain::settings::Settings;
use crate::services::accounts::{self, AccountsCommand, AccountsEvent};
use crate::services::arrays::{self, ArraysCommand, ArraysEvent};
use crate::services::backup::{self, BackupCommand, BackupEvent};
use crate::services::commerce::{self, CommerceCommand, CommerceEvent};
use crate::services::dashboard::{self, DashboardCommand, DashboardSummary};
use crate::services::files::Saved;
use crate::services::keys::{KeyVault, KeysCommand, KeysEvent};
use crate::services::licensing::{self, LicensingCommand, LicensingEvent};
use crate::services::referrals::{self, ReferralsCommand, ReferralsEvent};
use crate::services::{self, Progress};
use crate::store::{OpenStep, Store, StoreError};
use keyvault::KdfParams;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Identifies one command sent to the worker; every message about it carries it.
pub type RequestId = u64;

/// Work for the worker: one command of one service, each one transaction (or one named long
/// job).
// Commands and events cross a channel once each; their size costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Command {
    Accounts(AccountsCommand),
    Keys(KeysCommand),
    Licensing(LicensingCommand),
    Commerce(CommerceCommand),
    Backup(BackupCommand),
    Arrays(ArraysCommand),
    Referrals(ReferralsCommand),
    /// Count the dashboard's numbers again (reads only).
    Dashboard(DashboardCommand),
    SaveSettings(Settings),
    /// The device token, or a round with the portal.
    Sync(crate::services::sync::SyncCommand),
    /// Keep one version of a sync conflict (`sync::resolve`).
    ResolveConflict {
        change_id: crate::domain::ids::ChangeId,
        keep: crate::sync::resolve::Keep,
    },
    /// Write a text the app made (license file, public key) where staff chose.
    SaveText {
        path: PathBuf,
        contents: String,
        what: Saved,
    },
}

impl Command {
    /// What the command does, in words ("Issue license"), for messages.
    pub fn action(&self) -> &'static str {
        match self {
            Command::Accounts(c) => c.action(),
            Command::Keys(c) => c.action(),
            Command::Licensing(c) => c.action(),
            Command::Commerce(c) => c.action(),
            Command::Backup(c) => c.action(),
            Command::Arrays(c) => c.action(),
            Command::Referrals(c) => c.action(),
            Command::Dashboard(c) => c.action(),
            Command::SaveSettings(_) => "Save settings",
            Command::Sync(c) => c.action(),
            Command::ResolveConflict { .. } => "Resolve conflict",
            Command::SaveText { .. } => "Save file",
        }
    }
}

/// What a command did.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Accounts(AccountsEvent),
    Keys(KeysEvent),
    Licensing(LicensingEvent),
    Commerce(CommerceEvent),
    Backup(BackupEvent),
    Arrays(ArraysEvent),
    Referrals(ReferralsEvent),
    Dashboard(Box<DashboardSummary>),
    SettingsSaved(Settings),
    Sync(crate::services::sync::SyncEvent),
    TextSaved {
        what: Saved,
        path: PathBuf,
    },
    ConflictResolved {
        change_id: crate::domain::ids::ChangeId,
        keep: crate::sync::resolve::Keep,
    },
}

/// Progress of a long job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// What the job is doing ("Verify ledger").
    pub label: &'static str,
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

/// How the worker opens the database.
#[derive(Debug, Clone, Default)]
pub enum OpenMode {
    /// Read and write, upgrading the schema when needed (the normal start).
    #[default]
    ReadWrite,
    /// Read only: nothing is written, not even an upgrade; every change is refused.
    ReadOnly,
    /// Put a backup in place of a database file that cannot be opened (moving that file aside
    /// into `damaged/`), then open it.
    RestoreFirst {
        backup: PathBuf,
        passphrase: Option<crate::services::keys::Secret>,
    },
}

/// What kind of problem kept the database from opening, which decides the ways forward the
/// window offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenProblem {
    /// Not a healthy database (truncated, damaged, empty, not SQLite): restore a backup.
    Damaged,
    /// Written by a newer License Desk: never written to, never migrated down.
    TooNew,
    /// Another program held the write lock through every retry.
    Locked,
    /// The file, its folder or the drive cannot be written.
    ReadOnly,
    /// The data folder or the drive is not there.
    Unavailable,
    /// Another License Desk window has this data folder open.
    InUse,
    /// Anything else.
    Other,
}

/// The database could not be opened: which file, why, and what kind of problem it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFailure {
    pub database: PathBuf,
    pub problem: OpenProblem,
    pub message: String,
}

impl OpenFailure {
    /// Classifies a store error met while opening `database`.
    pub fn from_store(database: &std::path::Path, error: &StoreError) -> Self {
        let problem = match error {
            StoreError::Damaged { .. } | StoreError::Corrupt(_) => OpenProblem::Damaged,
            StoreError::TooNew { .. } | StoreError::VersionMismatch { .. } => OpenProblem::TooNew,
            StoreError::Locked => OpenProblem::Locked,
            StoreError::ReadOnly => OpenProblem::ReadOnly,
            StoreError::Unavailable(_) => OpenProblem::Unavailable,
            StoreError::DataDir { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                OpenProblem::Unavailable
            }
            StoreError::DataDir { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                OpenProblem::ReadOnly
            }
            _ => OpenProblem::Other,
        };
        Self {
            database: database.to_path_buf(),
            problem,
            message: error.to_string(),
        }
    }
}

impl OpenProblem {
    /// The way forward on the command line.
    pub fn cli_hint(self) -> &'static str {
        match self {
            OpenProblem::Damaged => {
                "nothing was written to it: put a backup in its place with `license-desk restore BACKUP` (the damaged file is moved to damaged/, not deleted), or choose another folder with --data-dir"
            }
            OpenProblem::TooNew => {
                "this version will not write to it or convert it back: use the newer License Desk"
            }
            OpenProblem::Locked => {
                "try again when the other program has finished (LICENSE_DESK_LOCK_WAIT sets how many seconds to wait)"
            }
            OpenProblem::ReadOnly => {
                "make the file and its folder writable, or choose another folder with --data-dir"
            }
            OpenProblem::Unavailable => {
                "is its drive connected? Choose another folder with --data-dir"
            }
            OpenProblem::InUse | OpenProblem::Other => "choose another folder with --data-dir",
        }
    }
}

impl std::fmt::Display for OpenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.database.display(), self.message)
    }
}

/// What the worker tells the UI.
#[derive(Debug, Clone)]
pub enum Message {
    /// The database is being opened and upgraded (a large one may take a while).
    Opening(OpenStep),
    /// The database is open: panels may read it.
    Ready,
    /// The database could not be opened (or the worker could not start); nothing more follows.
    OpenFailed(OpenFailure),
    Done {
        request: RequestId,
        event: Box<Event>,
    },
    /// The command failed; nothing of it was written.
    Failed {
        request: RequestId,
        action: &'static str,
        message: String,
    },
    Progress {
        request: RequestId,
        progress: JobProgress,
    },
}

type Queue = (RequestId, Command);

/// The handle the UI keeps: send commands, poll messages, cancel.
pub struct Worker {
    commands: Option<Sender<Queue>>,
    messages: Receiver<Message>,
    /// Commands queued or running, plus one until the database is opened (or failed to).
    pending: Arc<AtomicUsize>,
    running: Arc<AtomicU64>,
    cancelled: Arc<Mutex<HashSet<RequestId>>>,
    next_request: AtomicU64,
    thread: Option<JoinHandle<()>>,
    stopped: Receiver<()>,
}

impl Worker {
    /// Starts the worker thread, which opens the database at `database` and then runs
    /// commands. `notify` is called after every message (the GUI passes a repaint request).
    pub fn spawn(
        database: PathBuf,
        clock: SharedClock,
        kdf: KdfParams,
        notify: Box<dyn Fn() + Send>,
    ) -> Worker {
        Self::spawn_with(database, OpenMode::ReadWrite, clock, kdf, notify)
    }

    /// Like [`Worker::spawn`], opening the database the way `mode` says.
    pub fn spawn_with(
        database: PathBuf,
        mode: OpenMode,
        clock: SharedClock,
        kdf: KdfParams,
        notify: Box<dyn Fn() + Send>,
    ) -> Worker {
        let (command_tx, command_rx) = mpsc::channel::<Queue>();
        let (message_tx, message_rx) = mpsc::channel::<Message>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let pending = Arc::new(AtomicUsize::new(1));
        let running = Arc::new(AtomicU64::new(0));
        let cancelled = Arc::new(Mutex::new(HashSet::new()));
        let shared = Shared {
            messages: message_tx.clone(),
            notify,
            running: Arc::clone(&running),
            cancelled: Arc::clone(&cancelled),
        };
        let thread = {
            let pending = Arc::clone(&pending);
            std::thread::Builder::new()
                .name("store-worker".into())
                .spawn(move || {
                    let mut opened = WorkerState::open(database, mode, clock, kdf, &shared);
                    pending.fetch_sub(1, Ordering::SeqCst);
                    (shared.notify)();
                    for (request, command) in command_rx {
                        match &mut opened {
                            Some(state) => state.handle(request, command, &shared),
                            // Every command still gets an answer: none is lost in silence.
                            None => shared.send(Message::Failed {
                                request,
                                action: command.action(),
                                message: "the database is not open".into(),
                            }),
                        }
                        pending.fetch_sub(1, Ordering::SeqCst);
                        (shared.notify)();
                    }
                    let _ = stopped_tx.send(());
                })
        };
        let thread = match thread {
            Ok(handle) => Some(handle),
            Err(e) => {
                let _ = message_tx.send(Message::OpenFailed(OpenFailure {
                    database: PathBuf::new(),
                    problem: OpenProblem::Other,
                    message: format!("the background worker could not start: {e}"),
                }));
                pending.store(0, Ordering::SeqCst);
                None
            }
        };
        Worker {
            commands: thread.as_ref().map(|_| command_tx),
            messages: message_rx,
            pending,
            running,
            cancelled,
            next_request: AtomicU64::new(1),
            thread,
            stopped: stopped_rx,
        }
    }

    /// A worker with no thread and no database (the window before it may open one): commands
    /// sent to it are dropped, and it is always idle.
    pub fn not_started() -> Worker {
        let (_, messages) = mpsc::channel::<Message>();
        let (_, stopped) = mpsc::channel::<()>();
        Worker {
            commands: None,
            messages,
            pending: Arc::new(AtomicUsize::new(0)),
            running: Arc::new(AtomicU64::new(0)),
            cancelled: Arc::new(Mutex::new(HashSet::new())),
            next_request: AtomicU64::new(1),
            thread: None,
            stopped,
        }
    }

    /// Queues a command; its messages carry the returned id.
    pub fn send(&self, command: Command) -> RequestId {
        let request = self.next_request.fetch_add(1, Ordering::SeqCst);
        if let Some(commands) = &self.commands {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if commands.send((request, command)).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
        request
    }

    /// Every message that arrived since the last poll.
    pub fn poll(&self) -> Vec<Message> {
        self.messages.try_iter().collect()
    }

    /// True when the database is open (or failed to open) and no command is queued or running.
    pub fn is_idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }

    /// Asks `request` to stop: a queued one is skipped, a running long job stops at its next
    /// safe point (keeping what it committed).
    pub fn cancel(&self, request: RequestId) {
        if let Ok(mut set) = self.cancelled.lock() {
            set.insert(request);
        }
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
    /// Cancels the running job and stops the worker; waits a moment for it to reach a safe
    /// point, but never blocks the closing window for long (an unfinished transaction is rolled
    /// back by SQLite, so nothing half-written remains).
    fn drop(&mut self) {
        let running = self.running.load(Ordering::SeqCst);
        if running != 0 {
            self.cancel(running);
        }
        self.commands = None;
        if self.stopped.recv_timeout(Duration::from_secs(2)).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// What the worker thread shares with the handle.
struct Shared {
    messages: Sender<Message>,
    notify: Box<dyn Fn() + Send>,
    running: Arc<AtomicU64>,
    cancelled: Arc<Mutex<HashSet<RequestId>>>,
}

impl Shared {
    fn send(&self, message: Message) {
        let _ = self.messages.send(message);
        (self.notify)();
    }

    fn is_cancelled(&self, request: RequestId) -> bool {
        self.cancelled
            .lock()
            .map(|set| set.contains(&request))
            .unwrap_or(false)
    }
}

/// The thread's state: the store, the clock and the keys unlocked in this session.
struct WorkerState {
    store: Store,
    clock: SharedClock,
    vault: KeyVault,
    sync: crate::services::sync::SyncSession,
}

impl WorkerState {
    fn open(
        database: PathBuf,
        mode: OpenMode,
        clock: SharedClock,
        kdf: KdfParams,
        shared: &Shared,
    ) -> Option<WorkerState> {
        let failure = |e: &StoreError| OpenFailure::from_store(&database, e);
        if let OpenMode::RestoreFirst { backup, passphrase } = &mode {
            shared.send(Message::Opening(OpenStep::Restoring));
            if let Err(e) = backup::restore_in_place_of(
                &database,
                backup,
                passphrase.as_ref(),
                clock.now(),
                &mut services::NoProgress,
            ) {
                shared.send(Message::OpenFailed(OpenFailure {
                    database: database.clone(),
                    problem: OpenProblem::Damaged,
                    message: format!("the backup was not restored: {e}"),
                }));
                return None;
            }
        }
        let opened = match mode {
            OpenMode::ReadOnly => Store::open_read_only_store(&database),
            _ => Store::open_checked(&database, |step| {
                shared.send(Message::Opening(step));
            }),
        }
        .map_err(|e| failure(&e))
        .and_then(|store| {
            let settings = crate::store::settings::load(store.conn()).map_err(|e| failure(&e))?;
            Ok((store, settings))
        });
        match opened {
            Ok((store, settings)) => {
                shared.send(Message::Ready);
                Some(WorkerState {
                    store,
                    vault: KeyVault::new(kdf, settings.key_idle_lock_minutes, Arc::clone(&clock)),
                    clock,
                    sync: Default::default(),
                })
            }
            Err(message) => {
                shared.send(Message::OpenFailed(message));
                None
            }
        }
    }

    fn handle(&mut self, request: RequestId, command: Command, shared: &Shared) {
        let action = command.action();
        if shared.is_cancelled(request) {
            shared.send(Message::Failed {
                request,
                action,
                message: "cancelled before it started".into(),
            });
            return;
        }
        shared.running.store(request, Ordering::SeqCst);
        let mut progress = Reporter {
            request,
            label: action,
            shared,
            last_sent: None,
        };
        let outcome = self.execute(command, &mut progress);
        progress.finish();
        shared.running.store(0, Ordering::SeqCst);
        if let Ok(mut set) = shared.cancelled.lock() {
            set.remove(&request);
        }
        shared.send(match outcome {
            Ok(event) => Message::Done {
                request,
                event: Box::new(event),
            },
            Err(message) => Message::Failed {
                request,
                action,
                message,
            },
        });
    }

    /// Runs one command with the service that owns it. The match is exhaustive: a new command
    /// does not compile until it is dispatched.
    fn execute(&mut self, command: Command, progress: &mut Reporter<'_>) -> Result<Event, String> {
        let now = self.clock.now().timestamp();
        let store = &mut self.store;
        match command {
            Command::Accounts(c) => accounts::run(store, now, c)
                .map(Event::Accounts)
                .map_err(|e| e.to_string()),
            Command::Keys(c) => self
                .vault
                .run(store, now, c)
                .map(Event::Keys)
                .map_err(|e| e.to_string()),
            Command::Licensing(c) => licensing::run(store, &mut self.vault, now, c, progress)
                .map(Event::Licensing)
                .map_err(|e| e.to_string()),
            Command::Commerce(c) => commerce::run(store, &mut self.vault, now, c)
                .map(Event::Commerce)
                .map_err(|e| e.to_string()),
            Command::Backup(c) => backup::run(store, self.clock.now(), c, progress)
                .map(Event::Backup)
                .map_err(|e| e.to_string()),
            Command::Arrays(c) => arrays::run(store, &mut self.vault, now, c)
                .map(Event::Arrays)
                .map_err(|e| e.to_string()),
            Command::Referrals(c) => referrals::run(store, now, c)
                .map(Event::Referrals)
                .map_err(|e| e.to_string()),
            Command::Dashboard(c) => dashboard::run(store, now, c)
                .map(|s| Event::Dashboard(Box::new(s)))
                .map_err(|e| e.to_string()),
            Command::SaveSettings(settings) => {
                let saved =
                    services::settings::save(store, &settings).map_err(|e| e.to_string())?;
                self.vault.set_idle_minutes(saved.key_idle_lock_minutes);
                Ok(Event::SettingsSaved(saved))
            }
            Command::Sync(c) => self
                .sync
                .run(store, &mut self.vault, now, c)
                .map(Event::Sync)
                .map_err(|e| e.to_string()),
            Command::ResolveConflict { change_id, keep } => {
                crate::sync::resolve::resolve(store, change_id, &keep, now)
                    .map(|()| Event::ConflictResolved { change_id, keep })
                    .map_err(|e| e.to_string())
            }
            Command::SaveText {
                path,
                contents,
                what,
            } => services::files::save_text(&path, &contents, store.path())
                .map(|path| Event::TextSaved { what, path })
                .map_err(|e| e.to_string()),
        }
    }
}

/// Sends a long job's progress to the UI, about 30 times a second at most.
struct Reporter<'a> {
    request: RequestId,
    label: &'static str,
    shared: &'a Shared,
    last_sent: Option<(Instant, u64)>,
}

impl Reporter<'_> {
    fn finish(&mut self) {
        if let Some((_, total)) = self.last_sent {
            self.shared.send(Message::Progress {
                request: self.request,
                progress: JobProgress {
                    label: self.label,
                    done: total,
                    total,
                    finished: true,
                },
            });
        }
    }
}

impl Progress for Reporter<'_> {
    fn report(&mut self, done: u64, total: u64) {
        let now = Instant::now();
        let due = self
            .last_sent
            .is_none_or(|(t, _)| now.duration_since(t) >= Duration::from_millis(33));
        if due || done >= total {
            self.last_sent = Some((now, total));
            self.shared.send(Message::Progress {
                request: self.request,
                progress: JobProgress {
                    label: self.label,
                    done,
                    total,
                    finished: false,
                },
            });
        }
    }

    fn cancelled(&self) -> bool {
        self.shared.is_cancelled(self.request)
    }
}
