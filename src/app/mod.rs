//! The egui shell: left navigation, the account switcher in the top bar, the status bar and
//! toasts. Panels live one per file under `panels/`; they read through a read-only connection
//! and send commands to the worker, never writing SQL themselves.
//!
//! The database is opened by the worker, so the first frame never waits for it: until it is
//! ready (a large database may be upgraded first) the window says so, with progress.

mod background_sync;
pub mod dialogs;
mod messages;
pub mod paged;
pub mod panels;
pub mod startup;
mod switcher;
pub mod toasts;
pub mod widgets;

use crate::clock::{SharedClock, SystemClock};
use crate::domain::account::Account;
use crate::domain::settings::{Settings, Theme};
use crate::jobs::{Command, Event, JobProgress, Message, OpenFailure, OpenMode, RequestId, Worker};
use crate::services::keys::KeysEvent;
use crate::store::{self, OpenStep};
use chrono::NaiveDate;
use dialogs::{FileDialogs, NativeDialogs};
use keyvault::KdfParams;
use licensekey::KeyId;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use toasts::Toasts;

/// Every panel of the product, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    Dashboard,
    Accounts,
    Purchase,
    QuotesOrders,
    Invoices,
    Arrays,
    Licenses,
    Seats,
    Referrals,
    SigningKeys,
    Ledger,
    Sync,
    Settings,
}

impl Page {
    /// Navigation order.
    pub const ALL: [Page; 13] = [
        Page::Dashboard,
        Page::Accounts,
        Page::Purchase,
        Page::QuotesOrders,
        Page::Invoices,
        Page::Arrays,
        Page::Licenses,
        Page::Seats,
        Page::Referrals,
        Page::SigningKeys,
        Page::Ledger,
        Page::Sync,
        Page::Settings,
    ];

    /// The name in the navigation (and its accessible name).
    pub fn name(self) -> &'static str {
        match self {
            Page::Dashboard => "Dashboard",
            Page::Accounts => "Accounts",
            Page::Purchase => "Purchase",
            Page::QuotesOrders => "Quotes & Orders",
            Page::Invoices => "Invoices",
            Page::Arrays => "Arrays",
            Page::Licenses => "Licenses",
            Page::Seats => "Seats",
            Page::Referrals => "Referrals",
            Page::SigningKeys => "Signing keys",
            Page::Ledger => "Ledger",
            Page::Sync => "Sync",
            Page::Settings => "Settings",
        }
    }

    fn icon(self) -> egui_material_icons::MaterialIcon {
        use egui_material_icons::icons::*;
        match self {
            Page::Dashboard => ICON_HOME,
            Page::Accounts => ICON_GROUP,
            Page::Purchase => ICON_SHOPPING_CART,
            Page::QuotesOrders => ICON_REQUEST_QUOTE,
            Page::Invoices => ICON_RECEIPT_LONG,
            Page::Arrays => ICON_DNS,
            Page::Licenses => ICON_CONFIRMATION_NUMBER,
            Page::Seats => ICON_EVENT_SEAT,
            Page::Referrals => ICON_GROUP_ADD,
            Page::SigningKeys => ICON_KEY,
            Page::Ledger => ICON_HISTORY_EDU,
            Page::Sync => ICON_SYNC,
            Page::Settings => ICON_SETTINGS,
        }
    }
}

/// How the app is started: where the database is, which clock it reads.
#[derive(Clone)]
pub struct AppConfig {
    pub database: PathBuf,
    pub clock: SharedClock,
    /// Deterministic mode for UI tests: no animations.
    pub test_mode: bool,
    /// Argon2id cost of new signing keys.
    pub kdf: KdfParams,
    /// File dialogs (scripted in tests).
    pub dialogs: Arc<dyn FileDialogs>,
    /// The renderer drawing the window, shown in Settings → About.
    pub renderer: String,
}

impl AppConfig {
    /// A normal start on the wall clock.
    pub fn new(database: PathBuf) -> Self {
        Self {
            database,
            clock: Arc::new(SystemClock),
            test_mode: false,
            kdf: KdfParams::INTERACTIVE,
            dialogs: Arc::new(NativeDialogs),
            renderer: "none".to_string(),
        }
    }
}

/// What a panel can use while drawing: reads, the worker, toasts and shared selections.
pub struct AppCtx<'a> {
    /// Read-only connection for one screen of rows.
    pub db: &'a Connection,
    pub worker: &'a Worker,
    pub toasts: &'a mut Toasts,
    /// The customer chosen in the top bar.
    pub current_account: &'a mut Option<Account>,
    pub settings: &'a Settings,
    pub database_path: &'a std::path::Path,
    pub clock: &'a SharedClock,
    /// Set to move to another panel after this frame.
    pub navigate: &'a mut Option<Page>,
    /// Set to open the Licenses panel narrowed to this filter after this frame (a dashboard
    /// card, an account's "Licenses" link).
    pub open_licenses: &'a mut Option<crate::domain::license_filter::LicenseFilter>,
    pub dialogs: &'a dyn FileDialogs,
    /// Signing keys unlocked in the worker's session (key id -> name).
    pub unlocked_keys: &'a BTreeMap<KeyId, String>,
    /// The renderer drawing the window (Settings → About).
    pub renderer: &'a str,
}

impl AppCtx<'_> {
    /// Queues a command for the worker.
    pub fn send(&self, command: Command) -> RequestId {
        self.worker.send(command)
    }

    /// Today's date from the injected clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// Shows a store read error as a toast and returns the fallback.
    pub fn or_toast<T>(&mut self, result: store::StoreResult<T>, fallback: T) -> T {
        match result {
            Ok(value) => value,
            Err(err) => {
                self.toasts
                    .error(format!("Could not read the database: {err}"));
                fallback
            }
        }
    }
}

/// Where the app is in its life.
enum Phase {
    /// The worker is opening (maybe upgrading) the database.
    Opening(Option<OpenStep>),
    /// Ready: panels read through `db`.
    Ready { db: Connection },
    /// The database could not be opened: the page says why and offers ways forward.
    Failed(OpenFailure),
}

/// The License Desk window.
pub struct LicenseDeskApp {
    config: AppConfig,
    worker: Worker,
    phase: Phase,
    page: Page,
    panels: panels::Panels,
    toasts: Toasts,
    current_account: Option<Account>,
    settings: Settings,
    /// The running long job and its progress.
    progress: Option<(RequestId, JobProgress)>,
    switcher: switcher::AccountSwitcher,
    unlocked_keys: BTreeMap<KeyId, String>,
    /// When the worker was last asked to lock idle keys (the injected clock's time).
    last_idle_check: i64,
    /// Held while this window has the data folder open (read-write).
    instance: Option<startup::InstanceLock>,
    /// Opened read-only: every change is refused, and the top bar says so.
    read_only: bool,
    failure_page: startup::FailurePage,
    /// When the daily backup was last asked for (the injected clock's time).
    last_backup_check: i64,
    background_sync: background_sync::BackgroundSync,
}

impl LicenseDeskApp {
    /// Starts the worker, which opens the database (running migrations) in the background; the
    /// window shows progress meanwhile, and the error if it cannot be opened.
    pub fn new(ctx: &egui::Context, config: AppConfig) -> Self {
        egui_material_icons::initialize(ctx);
        if config.test_mode {
            ctx.global_style_mut(|s| s.animation_time = 0.0);
        }
        let settings = Settings::default();
        let mut app = Self {
            config,
            worker: Worker::not_started(),
            phase: Phase::Opening(None),
            page: Page::Dashboard,
            panels: panels::Panels::new(&settings),
            toasts: Toasts::default(),
            current_account: None,
            settings,
            progress: None,
            switcher: switcher::AccountSwitcher::default(),
            unlocked_keys: BTreeMap::new(),
            last_idle_check: 0,
            instance: None,
            read_only: false,
            failure_page: startup::FailurePage::default(),
            last_backup_check: 0,
            background_sync: Default::default(),
        };
        app.start(ctx, OpenMode::ReadWrite);
        app
    }

    /// (Re)starts the worker on the configured database: read-write only when no other window
    /// has it open.
    fn start(&mut self, ctx: &egui::Context, mode: OpenMode) {
        self.instance = None;
        self.read_only = matches!(mode, OpenMode::ReadOnly);
        self.phase = Phase::Opening(None);
        self.unlocked_keys.clear();
        self.progress = None;
        if !self.read_only {
            match startup::claim(&self.config.database) {
                Ok(lock) => self.instance = lock,
                Err(failure) => {
                    self.worker = Worker::not_started();
                    self.phase = Phase::Failed(failure);
                    return;
                }
            }
        }
        let repaint = ctx.clone();
        self.worker = Worker::spawn_with(
            self.config.database.clone(),
            mode,
            Arc::clone(&self.config.clock),
            self.config.kdf,
            Box::new(move || repaint.request_repaint()),
        );
    }

    /// Acts on a way forward chosen on the failure page.
    fn choose(&mut self, ctx: &egui::Context, choice: startup::Choice) {
        use startup::Choice;
        match choice {
            Choice::Retry => self.start(ctx, OpenMode::ReadWrite),
            Choice::ReadOnly => self.start(ctx, OpenMode::ReadOnly),
            Choice::OpenFile(file) => {
                self.config.database = file;
                self.start(ctx, OpenMode::ReadWrite);
            }
            Choice::UseFolder(folder) => {
                self.config.database = crate::paths::database_path(&folder);
                self.start(ctx, OpenMode::ReadWrite);
            }
            Choice::Restore { backup, passphrase } => {
                self.start(ctx, OpenMode::RestoreFirst { backup, passphrase })
            }
            Choice::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    /// True when the database was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The database file in use.
    pub fn database(&self) -> &std::path::Path {
        &self.config.database
    }

    /// The page on screen.
    pub fn page(&self) -> Page {
        self.page
    }

    /// The account chosen in the top bar.
    pub fn current_account(&self) -> Option<&Account> {
        self.current_account.as_ref()
    }

    /// The toasts on screen.
    pub fn toasts(&self) -> &Toasts {
        &self.toasts
    }

    /// True while the database is still being opened.
    pub fn is_opening(&self) -> bool {
        matches!(self.phase, Phase::Opening(_))
    }

    /// Blocks until the worker has opened the database and finished everything queued (tests
    /// only; never called from a frame).
    pub fn wait_for_worker(&self) -> bool {
        self.worker.wait_idle(std::time::Duration::from_secs(30))
    }

    fn handle_messages(&mut self, ctx: &egui::Context) {
        for message in self.worker.poll() {
            match message {
                Message::Opening(step) => self.phase = Phase::Opening(Some(step)),
                Message::Ready => self.on_ready(ctx),
                Message::OpenFailed(error) => self.phase = Phase::Failed(error),
                Message::Progress { request, progress } => {
                    self.progress = (!progress.finished).then_some((request, progress));
                }
                Message::Failed {
                    request,
                    action,
                    message,
                } => {
                    let now = self.config.clock.now().timestamp();
                    let quiet = self.background_sync.on_failed(
                        request,
                        action,
                        &message,
                        &self.settings,
                        now,
                    );
                    if !quiet {
                        self.toasts.error(format!("{action} failed: {message}"));
                    }
                    self.panels.on_failed(request, &message);
                }
                Message::Done { request, event } => self.on_event(ctx, request, &event),
            }
        }
    }

    fn on_ready(&mut self, ctx: &egui::Context) {
        let opened = store::open_read_only(&self.config.database).and_then(|db| {
            let settings = store::settings::load(&db)?;
            Ok((db, settings))
        });
        match opened {
            Ok((db, settings)) => {
                apply_theme(ctx, settings.theme);
                self.panels = panels::Panels::new(&settings);
                self.settings = settings;
                self.phase = Phase::Ready { db };
            }
            Err(e) => {
                let mut failure = OpenFailure::from_store(&self.config.database, &e);
                failure.message = format!("cannot open it for reading: {}", failure.message);
                self.phase = Phase::Failed(failure);
            }
        }
    }

    fn on_event(&mut self, ctx: &egui::Context, request: RequestId, event: &Event) {
        use crate::services::accounts::AccountsEvent;
        match event {
            Event::SettingsSaved(settings) => {
                self.settings = settings.clone();
                apply_theme(ctx, settings.theme);
            }
            Event::Accounts(AccountsEvent::Created(account)) => {
                self.current_account = Some(account.clone());
            }
            Event::Accounts(AccountsEvent::Renamed(account))
                if self
                    .current_account
                    .as_ref()
                    .is_some_and(|a| a.id == account.id) =>
            {
                self.current_account = Some(account.clone());
            }
            Event::Accounts(AccountsEvent::Deleted(account))
                if self
                    .current_account
                    .as_ref()
                    .is_some_and(|a| a.id == account.id) =>
            {
                self.current_account = None;
            }
            Event::Keys(KeysEvent::Unlocked(key)) => {
                self.unlocked_keys.insert(key.key_id, key.name.clone());
                self.background_sync.key_unlocked();
            }
            Event::Keys(KeysEvent::Locked { key_ids }) => {
                for id in key_ids {
                    self.unlocked_keys.remove(id);
                }
            }
            Event::Licensing(crate::services::licensing::LicensingEvent::RequestLoaded {
                ..
            }) => self.page = Page::Licenses,
            Event::Backup(
                crate::services::backup::BackupEvent::Restored(_)
                | crate::services::backup::BackupEvent::Imported { .. },
            ) => self.reload(ctx),
            _ => {}
        }
        let now = self.config.clock.now().timestamp();
        let background = self
            .background_sync
            .on_done(request, event, &self.settings, now);
        if let Some(text) = messages::toast_for(event).filter(|_| !background) {
            self.toasts.success(text);
        }
        self.switcher.on_event(event);
        self.panels.on_event(request, event, &mut self.toasts);
    }

    /// After a restore or import replaced the database: keys unlocked from the old one are
    /// locked, and every panel and the settings are read afresh.
    fn reload(&mut self, ctx: &egui::Context) {
        self.worker
            .send(Command::Keys(crate::services::keys::KeysCommand::Lock));
        self.current_account = None;
        if let Phase::Ready { db } = &self.phase {
            match store::settings::load(db) {
                Ok(settings) => {
                    apply_theme(ctx, settings.theme);
                    self.settings = settings;
                }
                Err(e) => self
                    .toasts
                    .error(format!("Could not read the settings: {e}")),
            }
        }
        self.panels = panels::Panels::new(&self.settings);
    }

    fn nav(&mut self, ui: &mut egui::Ui) {
        ui.add_space(8.0);
        ui.heading("License Desk");
        ui.add_space(8.0);
        for page in Page::ALL {
            if widgets::nav_item(ui, page.icon(), page.name(), self.page == page).clicked() {
                self.page = page;
            }
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(format!("Database: {}", self.config.database.display()));
            ui.separator();
            if self.settings.air_gapped {
                widgets::chip(ui, "Air-gapped", widgets::Tone::Warning);
            } else {
                let now = self.config.clock.now().timestamp();
                ui.label(self.background_sync.status(&self.settings, now));
            }
            if let Some((request, progress)) = &self.progress {
                ui.separator();
                ui.label(progress.label);
                ui.add(
                    egui::ProgressBar::new(progress.fraction())
                        .desired_width(200.0)
                        .text(format!("{} / {}", progress.done, progress.total)),
                );
                if ui.button(format!("Cancel {}", progress.label)).clicked() {
                    self.worker.cancel(*request);
                }
            }
        });
    }

    /// Asks the worker for the daily backup once an hour (it takes one when the last is a day
    /// old); never for a database opened read-only.
    fn take_daily_backup(&mut self) {
        if self.read_only || !self.settings.daily_backups {
            return;
        }
        let now = self.config.clock.now().timestamp();
        if self.last_backup_check == 0 || now - self.last_backup_check >= 3600 {
            self.last_backup_check = now;
            self.worker.send(Command::Backup(
                crate::services::backup::BackupCommand::Daily {
                    even_if_recent: false,
                },
            ));
        }
    }

    /// Asks the worker for a background round when one is due, and wakes the window for the
    /// next (an idle window draws no frames of its own).
    fn sync_when_due(&mut self, ctx: &egui::Context) {
        let now = self.config.clock.now().timestamp();
        self.background_sync
            .tick(&self.worker, &self.settings, self.read_only, now);
        if let Some(wait) = self.background_sync.wait(&self.settings, now) {
            let wait = u64::try_from(wait).unwrap_or(0).clamp(1, 60);
            ctx.request_repaint_after(std::time::Duration::from_secs(wait));
        }
    }

    /// While keys are unlocked, asks the worker every 30 s to lock the idle ones.
    fn lock_idle_keys(&mut self, ctx: &egui::Context) {
        if self.unlocked_keys.is_empty() {
            return;
        }
        let now = self.config.clock.now().timestamp();
        if now - self.last_idle_check >= 30 {
            self.last_idle_check = now;
            self.worker
                .send(Command::Keys(crate::services::keys::KeysCommand::LockIdle));
        }
        ctx.request_repaint_after(std::time::Duration::from_secs(30));
    }
}

fn apply_theme(ctx: &egui::Context, theme: Theme) {
    ctx.set_theme(match theme {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    });
}

impl eframe::App for LicenseDeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.handle_messages(&ctx);
        match &self.phase {
            Phase::Opening(step) => {
                startup::opening_ui(ui, step.as_ref(), &self.config.database);
                return;
            }
            Phase::Failed(failure) => {
                let failure = failure.clone();
                let dialogs = Arc::clone(&self.config.dialogs);
                if let Some(choice) = self.failure_page.ui(ui, &failure, dialogs.as_ref()) {
                    self.choose(&ctx, choice);
                }
                return;
            }
            Phase::Ready { .. } => {}
        }
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("nav")
            .resizable(false)
            .exact_size(190.0)
            .show(ui, |ui| self.nav(ui));
        self.lock_idle_keys(&ctx);
        self.take_daily_backup();
        self.sync_when_due(&ctx);
        let Phase::Ready { db } = &self.phase else {
            return;
        };
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                self.switcher
                    .ui(ui, db, &mut self.current_account, &mut self.toasts);
                if let Some(account) = &self.current_account {
                    ui.label(account.wallet_label());
                }
                if self.read_only {
                    widgets::chip(ui, "Read-only", widgets::Tone::Warning);
                    ui.label("Opened read-only: changes cannot be saved.");
                }
            });
        });
        for dropped in ui.input(|i| i.raw.dropped_files.clone()) {
            let path = dropped.path().to_path_buf();
            // A request file dropped on Arrays is for the array being edited there.
            self.worker.send(if self.page == Page::Arrays {
                Command::Arrays(crate::services::arrays::ArraysCommand::ReadRequest { path })
            } else {
                Command::Licensing(crate::services::licensing::LicensingCommand::LoadRequest {
                    path,
                })
            });
        }
        let mut navigate = None;
        let mut open_licenses = None;
        egui::CentralPanel::default().show(ui, |ui| {
            let mut cx = AppCtx {
                db,
                worker: &self.worker,
                toasts: &mut self.toasts,
                current_account: &mut self.current_account,
                settings: &self.settings,
                database_path: &self.config.database,
                clock: &self.config.clock,
                navigate: &mut navigate,
                open_licenses: &mut open_licenses,
                dialogs: self.config.dialogs.as_ref(),
                unlocked_keys: &self.unlocked_keys,
                renderer: &self.config.renderer,
            };
            self.panels.ui(self.page, ui, &mut cx);
        });
        if let Some(page) = navigate {
            self.page = page;
        }
        if let Some(filter) = open_licenses {
            self.panels.open_licenses(filter);
            self.page = Page::Licenses;
        }
        self.toasts.show(&ctx);
    }
}
