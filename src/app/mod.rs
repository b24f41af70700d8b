//! The egui shell: left navigation, the account switcher in the top bar, the status bar and
//! toasts. Panels live one per file under `panels/`; they read through a read-only connection
//! and send commands to the worker, never writing SQL themselves.

pub mod dialogs;
pub mod panels;
pub mod toasts;
pub mod widgets;

use crate::clock::{SharedClock, SystemClock};
use crate::domain::account::Account;
use crate::domain::settings::{Settings, Theme};
use crate::jobs::{Command, Event, JobProgress, Worker};
use crate::store::{self, Store};
use chrono::NaiveDate;
use dialogs::{FileDialogs, NativeDialogs};
use keyvault::KdfParams;
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
    pub dialogs: &'a dyn FileDialogs,
    /// Signing keys unlocked in the worker's session (key id -> name).
    pub unlocked_keys: &'a BTreeMap<String, String>,
    /// The renderer drawing the window (Settings → About).
    pub renderer: &'a str,
}

impl AppCtx<'_> {
    /// Queues a command for the worker.
    pub fn send(&self, command: Command) {
        self.worker.send(command);
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

struct Running {
    worker: Worker,
    db: Connection,
}

/// The License Desk window.
pub struct LicenseDeskApp {
    config: AppConfig,
    running: Result<Running, String>,
    page: Page,
    panels: panels::Panels,
    toasts: Toasts,
    current_account: Option<Account>,
    settings: Settings,
    progress: Option<JobProgress>,
    switcher: AccountSwitcher,
    unlocked_keys: BTreeMap<String, String>,
    last_idle_check: f64,
}

impl LicenseDeskApp {
    /// Opens the database (running migrations) and starts the worker. A database that cannot
    /// be opened shows its error in the window instead of panicking.
    pub fn new(ctx: &egui::Context, config: AppConfig) -> Self {
        egui_material_icons::initialize(ctx);
        if config.test_mode {
            ctx.global_style_mut(|s| s.animation_time = 0.0);
        }
        let running = start(ctx, &config).map_err(|e| format!("{e:#}"));
        let settings = running
            .as_ref()
            .ok()
            .and_then(|r| store::settings::load(&r.db).ok())
            .unwrap_or_default();
        apply_theme(ctx, settings.theme);
        Self {
            config,
            running,
            page: Page::Dashboard,
            panels: panels::Panels::new(&settings),
            toasts: Toasts::default(),
            current_account: None,
            settings,
            progress: None,
            switcher: AccountSwitcher::default(),
            unlocked_keys: BTreeMap::new(),
            last_idle_check: 0.0,
        }
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

    /// Blocks until the worker has finished everything queued (tests only).
    pub fn wait_for_worker(&self) -> bool {
        match &self.running {
            Ok(r) => r.worker.wait_idle(std::time::Duration::from_secs(20)),
            Err(_) => true,
        }
    }

    fn handle_events(&mut self, ctx: &egui::Context) {
        let Ok(running) = &self.running else { return };
        for event in running.worker.poll() {
            match &event {
                Event::Failed { action, message } => {
                    self.toasts.error(format!("{action} failed: {message}"));
                }
                Event::Progress(progress) => {
                    self.progress = (!progress.finished).then(|| progress.clone());
                }
                Event::SettingsSaved(settings) => {
                    self.settings = settings.clone();
                    apply_theme(ctx, settings.theme);
                    self.toasts.success("Settings saved");
                }
                Event::AccountCreated(account) => {
                    self.current_account = Some(account.clone());
                    self.toasts.success(format!(
                        "Account '{}' created (Wallet ID: {})",
                        account.name, account.wallet_id
                    ));
                }
                Event::AccountRenamed(account) => {
                    if self
                        .current_account
                        .as_ref()
                        .is_some_and(|a| a.id == account.id)
                    {
                        self.current_account = Some(account.clone());
                    }
                    self.toasts
                        .success(format!("Account renamed to '{}'", account.name));
                }
                Event::AccountDeleted(account) => {
                    if self
                        .current_account
                        .as_ref()
                        .is_some_and(|a| a.id == account.id)
                    {
                        self.current_account = None;
                    }
                    self.toasts
                        .success(format!("Account '{}' deleted", account.name));
                }
                Event::BillingSaved { .. } => self.toasts.success("Billing details saved"),
                Event::PaymentMethodAdded(_) => {}
                Event::PaymentMethodsChanged { message } | Event::KeysChanged { message } => {
                    self.toasts.success(message.clone())
                }
                Event::KeyUnlocked { key_id, name } => {
                    self.unlocked_keys.insert(key_id.clone(), name.clone());
                    self.toasts.success(format!("Key '{name}' unlocked"));
                }
                Event::KeysLocked { key_ids } => {
                    for id in key_ids {
                        self.unlocked_keys.remove(id);
                    }
                    if !key_ids.is_empty() {
                        self.toasts
                            .success(format!("{} signing key(s) locked", key_ids.len()));
                    }
                }
                Event::RequestLoaded { source, .. } => {
                    self.page = Page::Licenses;
                    self.toasts
                        .success(format!("License request opened from {source}"));
                }
                Event::LicenseIssued(issued) => {
                    self.toasts
                        .success(format!("License {} issued", issued.license_id));
                }
                Event::FileSaved { what, path } => {
                    self.toasts
                        .success(format!("{what} saved to {}", path.display()));
                }
                Event::LedgerVerified(_) => {}
            }
            self.switcher.on_event(&event);
            self.panels.on_event(&event, &mut self.toasts);
        }
    }

    fn nav(&mut self, ui: &mut egui::Ui) {
        ui.add_space(8.0);
        ui.heading("License Desk");
        ui.add_space(8.0);
        for page in Page::ALL {
            ui.horizontal(|ui| {
                ui.label(page.icon().rich_text().size(18.0));
                ui.with_layout(egui::Layout::top_down_justified(egui::Align::LEFT), |ui| {
                    if ui
                        .selectable_label(self.page == page, page.name())
                        .clicked()
                    {
                        self.page = page;
                    }
                });
            });
        }
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(format!("Database: {}", self.config.database.display()));
            ui.separator();
            if self.settings.air_gapped {
                widgets::chip(ui, "Air-gapped", widgets::Tone::Warning);
            } else {
                ui.label("Sync: off");
            }
            if let Some(progress) = &self.progress {
                ui.separator();
                ui.label(&progress.label);
                ui.add(
                    egui::ProgressBar::new(progress.fraction())
                        .desired_width(200.0)
                        .text(format!("{} / {}", progress.done, progress.total)),
                );
            }
        });
    }
}

impl LicenseDeskApp {
    /// While keys are unlocked, asks the worker every 30 s to lock the idle ones.
    fn lock_idle_keys(&mut self, ctx: &egui::Context) {
        let Ok(running) = &self.running else { return };
        if self.unlocked_keys.is_empty() {
            return;
        }
        let now = ctx.input(|i| i.time);
        if now - self.last_idle_check >= 30.0 {
            self.last_idle_check = now;
            running.worker.send(Command::LockIdleKeys);
        }
        ctx.request_repaint_after(std::time::Duration::from_secs(30));
    }
}

fn start(ctx: &egui::Context, config: &AppConfig) -> anyhow::Result<Running> {
    use anyhow::Context as _;
    let store = Store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    let db = store::open_read_only(&config.database)
        .with_context(|| format!("opening {} for reading", config.database.display()))?;
    let repaint = ctx.clone();
    let worker = Worker::spawn(
        store,
        Arc::clone(&config.clock),
        config.kdf,
        Box::new(move || repaint.request_repaint()),
    );
    Ok(Running { worker, db })
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
        self.handle_events(&ctx);
        if let Err(message) = &self.running {
            {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.heading("License Desk cannot open its database");
                    widgets::error_text(ui, message);
                    ui.label("Choose another folder with --data-dir DIR (or LICENSE_DESK_DATA), or move the file aside and start again.");
                });
                return;
            }
        }
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("nav")
            .resizable(false)
            .exact_size(190.0)
            .show(ui, |ui| self.nav(ui));
        self.lock_idle_keys(&ctx);
        let Ok(running) = &self.running else { return };
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                self.switcher
                    .ui(ui, &running.db, &mut self.current_account, &mut self.toasts);
                if let Some(account) = &self.current_account {
                    ui.label(format!("Wallet ID: {}", account.wallet_id));
                }
            });
        });
        for dropped in ui.input(|i| i.raw.dropped_files.clone()) {
            running.worker.send(Command::LoadRequest {
                path: dropped.path().to_path_buf(),
            });
        }
        let mut navigate = None;
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                let mut cx = AppCtx {
                    db: &running.db,
                    worker: &running.worker,
                    toasts: &mut self.toasts,
                    current_account: &mut self.current_account,
                    settings: &self.settings,
                    database_path: &self.config.database,
                    clock: &self.config.clock,
                    navigate: &mut navigate,
                    dialogs: self.config.dialogs.as_ref(),
                    unlocked_keys: &self.unlocked_keys,
                    renderer: &self.config.renderer,
                };
                self.panels.ui(self.page, ui, &mut cx);
            });
        });
        if let Some(page) = navigate {
            self.page = page;
        }
        self.toasts.show(&ctx);
    }
}

/// The top bar's combo box of accounts (the current customer).
#[derive(Default)]
struct AccountSwitcher {
    cached: Option<Vec<Account>>,
}

impl AccountSwitcher {
    const LIMIT: usize = 200;

    fn on_event(&mut self, event: &Event) {
        if matches!(
            event,
            Event::AccountCreated(_) | Event::AccountRenamed(_) | Event::AccountDeleted(_)
        ) {
            self.cached = None;
        }
    }

    fn ui(
        &mut self,
        ui: &mut egui::Ui,
        db: &Connection,
        current: &mut Option<Account>,
        toasts: &mut Toasts,
    ) {
        let accounts = self.cached.get_or_insert_with(|| {
            store::accounts::search(db, "", store::accounts::AccountOrder::Name, Self::LIMIT)
                .unwrap_or_else(|err| {
                    toasts.error(format!("Could not read accounts: {err}"));
                    Vec::new()
                })
        });
        let shown = current
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "No account chosen".to_string());
        egui::ComboBox::from_label("Current account")
            .selected_text(shown)
            .width(240.0)
            .show_ui(ui, |ui| {
                if accounts.is_empty() {
                    ui.label("No accounts yet — create one under Accounts");
                }
                for account in accounts.iter() {
                    let selected = current.as_ref().is_some_and(|a| a.id == account.id);
                    if ui.selectable_label(selected, &account.name).clicked() {
                        *current = Some(account.clone());
                    }
                }
            });
    }
}
