//! The background worker: the one owner of the read-write database connection.
//!
//! Panels send it a [`Command`] and get an [`Event`] back; long work reports [`JobProgress`]
//! that the status bar draws as a progress bar. The UI thread never waits on it: it polls
//! events once a frame and the worker asks for a repaint after each one.

use crate::clock::SharedClock;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::payment::{PaymentDetails, PaymentMethod};
use crate::domain::settings::Settings;
use crate::store::{self, Store, StoreResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    pub fn spawn(store: Store, clock: SharedClock, notify: Box<dyn Fn() + Send>) -> Worker {
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
    events: Sender<Event>,
    notify: Box<dyn Fn() + Send>,
    cancel: Arc<AtomicBool>,
}

impl WorkerState {
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Starts progress reporting for a long job of `total` steps.
    #[allow(dead_code)]
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

    fn execute(&mut self, command: Command) -> StoreResult<Event> {
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
                Event::SettingsSaved(settings)
            }
        })
    }
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
    }
}
