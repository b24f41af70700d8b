//! Arrays: the current account's storage clusters. New array (name unique per account); the
//! array's details; "Edit array" (cluster UUID pasted, or the request file made on it opened or
//! dropped; Eval, Dev or Pro from the wallet; capacity from the wallet with + / −); "Generate
//! license serial", then view and copy it, save the license file, show it as a QR code, or mail
//! it to the account's billing email.

use super::renewals::tail;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Confirm, Tone};
use crate::app::{AppCtx, Page};
use crate::commerce::catalog::Product;
use crate::domain::FieldErrors;
use crate::domain::array::{self, ArrayEdit, Holding, SerialState, WalletMoves};
use crate::domain::ids::{AccountId, ArrayId, LicenseId};
use crate::domain::license_status::LicenseStatus;
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::arrays::{self as service, ArraysCommand, ArraysEvent};
use crate::services::commerce::CommerceEvent;
use crate::services::files::Saved;
use crate::services::keys::KeysEvent;
use crate::services::licensing::LicensingEvent;
use crate::store::arrays::ArrayRow;
use crate::store::keys::KeyRow;
use crate::store::licenses::LicenseRow;
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use licensekey::{LicenseKind, LicenseRequest, Uuid};
use rusqlite::Connection;

/// One row of the list: the array and where its serial stands.
#[derive(Clone)]
struct Listed {
    array: ArrayRow,
    state: SerialState,
}

/// The arrays of one account, by name.
struct AccountArrays {
    account: AccountId,
    now: i64,
}

impl RowSource for AccountArrays {
    type Row = Listed;

    fn fetch(
        &self,
        db: &Connection,
        after: Option<&Listed>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Listed>> {
        let rows = store::arrays::page(
            db,
            self.account,
            after.map(|l| l.array.name.as_str()),
            offset,
            limit,
        )?;
        rows.into_iter()
            .map(|array| {
                let standing = service::standing_license(db, &array)?;
                let state = service::serial_state(&array, standing.as_ref(), self.now);
                Ok(Listed { array, state })
            })
            .collect()
    }

    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::arrays::count(db, self.account)
    }
}

/// The chosen array as shown: read once, again after a change.
struct Details {
    array: ArrayRow,
    state: SerialState,
    standing: Option<LicenseRow>,
    /// The last serial's state when it no longer stands (revoked or deleted elsewhere).
    fallen: Option<LicenseStatus>,
    serial: Option<String>,
    license_file: Option<String>,
}

/// What the wallet can give, read when the form opens and after wallet changes.
#[derive(Debug, Clone, Copy, Default)]
struct Available {
    pro: u64,
    tb: u64,
}

/// The "Edit array" form.
struct EditForm {
    id: ArrayId,
    original_name: String,
    /// The kind and cluster saved: an Eval the array already has is not refused again.
    original: (Option<LicenseKind>, Option<Uuid>),
    edit: ArrayEdit,
    /// What the array holds from the wallet now (given back when the form gives it up).
    held: Holding,
    /// What its standing serial says, to warn when saving withdraws it.
    licensed: Option<array::Licensed>,
    request_path: String,
    request_summary: Option<String>,
    /// The Eval already issued for the typed cluster: (cluster, issued at).
    eval_used: Option<(Uuid, Option<i64>)>,
    /// Whether another array of the account has the typed name: (name checked, taken).
    name_taken: Option<(String, bool)>,
    sent: Option<RequestId>,
    failure: Option<String>,
    /// Saving withdraws the serial: asked first, naming it.
    confirm_withdraw: bool,
}

#[derive(Default)]
enum Mode {
    #[default]
    Overview,
    Edit(Box<EditForm>),
}

/// View state of the Arrays panel.
pub struct ArraysPanel {
    list: Option<Paged<AccountArrays>>,
    selected: Option<ArrayId>,
    details: Option<Details>,
    new_name: Option<String>,
    new_name_taken: Option<(String, bool)>,
    /// Set when the new-array field opens, so it takes the keyboard once.
    focus_new_name: bool,
    creating: Option<RequestId>,
    mode: Mode,
    available: Option<(AccountId, Available)>,
    active_key: Option<Option<KeyRow>>,
    show_serial: bool,
    show_qr: bool,
    qr: Option<(String, egui::TextureHandle)>,
    confirm_delete: bool,
    /// The generate/send/delete request in flight and what it was, for the answer in place.
    acting: Option<(RequestId, &'static str)>,
    notice: Option<String>,
}

impl Default for ArraysPanel {
    fn default() -> Self {
        Self {
            list: None,
            selected: None,
            details: None,
            new_name: None,
            new_name_taken: None,
            focus_new_name: false,
            creating: None,
            mode: Mode::Overview,
            available: None,
            active_key: None,
            show_serial: false,
            show_qr: false,
            qr: None,
            confirm_delete: false,
            acting: None,
            notice: None,
        }
    }
}

fn summary_of(request: &LicenseRequest, source: &str) -> String {
    format!(
        "Request file {source}: cluster {}, {} strong machine identifiers (made {})",
        request
            .cluster
            .map(|c| c.to_string())
            .unwrap_or_else(|| "not named".into()),
        request.strong.len(),
        time::date_time(request.created_at)
    )
}

fn kind_tone(state: SerialState) -> Tone {
    match state {
        SerialState::Active => Tone::Good,
        SerialState::Ordered | SerialState::OutOfDate | SerialState::NotGenerated => Tone::Warning,
        SerialState::Expired => Tone::Bad,
        SerialState::Unassigned => Tone::Neutral,
    }
}

impl ArraysPanel {
    fn invalidate(&mut self) {
        if let Some(list) = &mut self.list {
            list.invalidate();
        }
        self.details = None;
        self.available = None;
    }

    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        match event {
            Event::Arrays(e) => {
                self.invalidate();
                match e {
                    ArraysEvent::Created(array) => {
                        if self.creating == Some(request) {
                            self.creating = None;
                            self.new_name = None;
                            self.selected = Some(array.id);
                            self.notice = None;
                        }
                    }
                    ArraysEvent::Saved { array, withdrawn } => {
                        if let Mode::Edit(form) = &self.mode
                            && form.sent == Some(request)
                        {
                            self.mode = Mode::Overview;
                            self.notice = Some(match withdrawn {
                                Some(id) => format!(
                                    "Saved. The serial {} was withdrawn (put on the revocation list); generate a new one.",
                                    tail(&id.0)
                                ),
                                None => format!("Array '{}' saved.", array.name),
                            });
                        }
                    }
                    ArraysEvent::Generated { issued, .. } => {
                        if self.acting.is_some_and(|(r, _)| r == request) {
                            self.acting = None;
                            self.show_serial = true;
                            self.notice = Some(format!(
                                "{} serial generated: {}.",
                                issued.kind,
                                issued
                                    .expires_at
                                    .map(|t| format!("expires {}", time::date(t)))
                                    .unwrap_or_else(|| "never expires".into())
                            ));
                        }
                    }
                    ArraysEvent::SerialSent { to, .. } => {
                        if self.acting.is_some_and(|(r, _)| r == request) {
                            self.acting = None;
                            self.notice =
                                Some(format!("Serial mailed to {to} (in the mail outbox)."));
                        }
                    }
                    ArraysEvent::Deleted { array, .. } => {
                        if self.selected == Some(array.id) {
                            self.selected = None;
                        }
                        self.acting = None;
                        self.notice = Some(format!("Array '{}' deleted.", array.name));
                    }
                    ArraysEvent::RequestRead { request, source } => {
                        self.request_read(request, &source.display().to_string());
                    }
                }
            }
            Event::Commerce(
                CommerceEvent::WalletChanged { .. } | CommerceEvent::OrderPlaced { .. },
            )
            | Event::Commerce(CommerceEvent::InvoicePaid { .. }) => self.available = None,
            Event::Licensing(
                LicensingEvent::Revoked { .. } | LicensingEvent::StatusChanged { .. },
            )
            | Event::Commerce(CommerceEvent::Renewed { .. }) => self.invalidate(),
            Event::Keys(
                KeysEvent::Generated(_) | KeysEvent::Activated(_) | KeysEvent::Imported(_),
            ) => self.active_key = None,
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if let Mode::Edit(form) = &mut self.mode
            && form.sent == Some(request)
        {
            form.sent = None;
            form.failure = Some(format!("Not saved: {message}"));
        }
        if let Some((sent, what)) = self.acting
            && sent == request
        {
            self.acting = None;
            self.notice = Some(format!("{what} failed: {message}"));
        }
        if self.creating == Some(request) {
            self.creating = None;
        }
    }

    /// A request file was read: it fills the form that is open, or opens the chosen array's.
    fn request_read(&mut self, request: &LicenseRequest, source: &str) {
        if let Mode::Edit(form) = &mut self.mode {
            if let Some(cluster) = request.cluster {
                form.edit.cluster = cluster.to_string();
            }
            form.edit.request = Some(request.clone());
            form.request_summary = Some(summary_of(request, source));
            form.eval_used = None;
        } else {
            self.notice = Some(
                "To use a request file, open an array's Edit array form first, then open or drop the file."
                    .into(),
            );
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.heading("Arrays");
            ui.label("Arrays are a customer's storage clusters, each known by its cluster UUID and licensed Eval, Dev or Pro from the customer's wallet. They belong to an account: choose one in the top bar, or create one.");
            if ui.button("Go to Accounts").clicked() {
                *cx.navigate = Some(Page::Accounts);
            }
            return;
        };
        let now = cx.clock.now().timestamp();
        if self
            .list
            .as_ref()
            .is_none_or(|l| l.source().account != account.id)
        {
            self.list = Some(Paged::new(AccountArrays {
                account: account.id,
                now,
            }));
            self.selected = None;
            self.details = None;
            self.mode = Mode::Overview;
            self.new_name = None;
            self.notice = None;
        }
        if matches!(self.mode, Mode::Edit(_)) {
            let available = self.available_for(cx, account.id);
            let Mode::Edit(form) = &mut self.mode else {
                return;
            };
            let leave = egui::ScrollArea::vertical()
                .id_salt("array_edit")
                .show(ui, |ui| edit_ui(ui, cx, form, &account, available))
                .inner;
            if leave {
                self.mode = Mode::Overview;
            }
            return;
        }
        ui.heading(format!("Arrays of {}", account.name));
        if let Some(notice) = &self.notice {
            ui.label(egui::RichText::new(notice).italics());
        }
        ui.add_space(6.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(470.0);
                self.list_ui(ui, cx, account.id);
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .id_salt("array_details")
                .show(ui, |ui| ui.vertical(|ui| self.details_ui(ui, cx, &account)));
        });
    }

    fn available_for(&mut self, cx: &mut AppCtx<'_>, account: AccountId) -> Available {
        if let Some((for_account, available)) = self.available
            && for_account == account
        {
            return available;
        }
        let read = store::wallet::balances(cx.db, account);
        let balances = cx.or_toast(read, Default::default());
        let units = |p| {
            balances
                .entitlements
                .get(&p)
                .map_or(0, crate::commerce::wallet::EntitlementCount::available)
        };
        let available = Available {
            pro: units(Product::ProLicense),
            tb: units(Product::CapacityTb),
        };
        self.available = Some((account, available));
        available
    }

    fn new_array_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: AccountId) {
        let Some(name) = &mut self.new_name else {
            return;
        };
        let mut problems = array::validate_name(name);
        let normalized = array::normalize_name(name);
        if problems.is_empty() {
            if self
                .new_name_taken
                .as_ref()
                .is_none_or(|(checked, _)| *checked != normalized)
            {
                let taken = store::arrays::name_taken(cx.db, account, &normalized, None);
                let taken = cx.or_toast(taken, false);
                self.new_name_taken = Some((normalized.clone(), taken));
            }
            if self.new_name_taken.as_ref().is_some_and(|(_, t)| *t) {
                problems.push(
                    "Array name",
                    format!("'{normalized}' is already taken by another array of this account"),
                );
            }
        }
        let typed = !name.is_empty();
        let field = widgets::stacked_text_field(
            ui,
            "Array name",
            name,
            problems.get("Array name").filter(|_| typed),
        );
        if std::mem::take(&mut self.focus_new_name) {
            field.request_focus();
        }
        let mut submit = field.lost_focus() && widgets::enter_pressed(ui) && problems.is_empty();
        let mut cancel = false;
        ui.horizontal(|ui| {
            submit |= widgets::submit_button(ui, "Create array", &problems);
            cancel = ui.button("Cancel").clicked() || widgets::escape_pressed(ui);
        });
        if cancel {
            self.new_name = None;
        } else if submit && self.creating.is_none() {
            self.creating = Some(cx.send(Command::Arrays(ArraysCommand::Create {
                account_id: account,
                name: normalized,
            })));
        }
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: AccountId) {
        let Some(list) = &mut self.list else { return };
        let total = list.total(cx.db);
        if let Some(error) = list.error() {
            widgets::error_text(ui, &format!("Could not read arrays: {error}"));
        }
        if self.new_name.is_none() {
            if total == 0 {
                ui.label("No arrays yet. An array is a customer's storage cluster, known by its cluster UUID: give it an Eval, Dev or Pro license from the wallet and generate its serial.");
                if ui.button("Add array").clicked() {
                    self.new_name = Some(String::new());
                    self.focus_new_name = true;
                }
                return;
            }
            if ui.button("New array").clicked() {
                self.new_name = Some(String::new());
                self.focus_new_name = true;
            }
        }
        self.new_array_ui(ui, cx, account);
        let Some(list) = &mut self.list else { return };
        if total == 0 {
            return;
        }
        ui.add_space(6.0);
        ui.label(format!("{total} arrays"));
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        TableBuilder::new(ui)
            .id_salt("arrays_table")
            .striped(true)
            .column(Column::remainder().at_least(140.0).clip(true))
            .column(Column::exact(70.0))
            .column(Column::exact(130.0))
            .column(Column::exact(70.0))
            .min_scrolled_height(200.0)
            .max_scroll_height(f32::INFINITY)
            .header(row_height, |mut header| {
                for title in ["Name", "License", "Serial", "Capacity"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(listed) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    let array = &listed.array;
                    row.col(|ui| {
                        let selected = self.selected == Some(array.id);
                        if ui.selectable_label(selected, &array.name).clicked() {
                            chosen = Some(array.id);
                        }
                    });
                    row.col(|ui| {
                        ui.label(array::kind_label(array.kind));
                    });
                    row.col(|ui| {
                        widgets::chip(ui, listed.state.label(), kind_tone(listed.state));
                    });
                    row.col(|ui| {
                        ui.label(format!("{} TB", array.capacity_tb));
                    });
                });
            });
        if let Some(id) = chosen {
            self.selected = Some(id);
            self.details = None;
            self.show_serial = false;
            self.show_qr = false;
            self.confirm_delete = false;
            self.notice = None;
        }
    }

    fn load_details(&mut self, cx: &mut AppCtx<'_>, id: ArrayId) {
        let now = cx.clock.now().timestamp();
        let read = (|| -> StoreResult<Option<Details>> {
            let Some(array) = store::arrays::get(cx.db, id)? else {
                return Ok(None);
            };
            let standing = service::standing_license(cx.db, &array)?;
            let fallen = match (&standing, array.license_id) {
                (None, Some(license)) => {
                    store::arrays::current_license(cx.db, license)?.map(|l| l.status)
                }
                _ => None,
            };
            let signed = standing.as_ref().and_then(LicenseRow::signed);
            Ok(Some(Details {
                state: service::serial_state(&array, standing.as_ref(), now),
                serial: signed.as_ref().map(|s| s.to_serial()),
                license_file: signed.as_ref().map(|s| s.to_license_file()),
                array,
                standing,
                fallen,
            }))
        })();
        self.details = cx.or_toast(read, None);
        if self.details.is_none() {
            self.selected = None;
        }
    }

    fn details_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        account: &crate::domain::account::Account,
    ) {
        let Some(id) = self.selected else {
            ui.label("Choose an array in the list to see its license and serial.");
            return;
        };
        if self.details.as_ref().is_none_or(|d| d.array.id != id) {
            self.load_details(cx, id);
        }
        let Some(details) = &self.details else { return };
        let array = details.array.clone();
        let state = details.state;
        let standing = details.standing.clone();
        let fallen = details.fallen;
        ui.horizontal(|ui| {
            ui.heading(&array.name);
            widgets::chip(ui, array::kind_label(array.kind), Tone::Neutral);
            widgets::chip(ui, state.label(), kind_tone(state));
        });
        let cluster = array
            .cluster
            .map(|c| c.to_string())
            .unwrap_or_else(|| "not set yet".into());
        ui.label(format!("Cluster UUID: {cluster}"));
        if array.request.is_some() {
            ui.label("Bound to the machine of the request file made on the cluster.");
        }
        ui.label(format!("Product: {}", array.product));
        match array.kind {
            Some(LicenseKind::Pro) => {
                ui.label(format!(
                    "Pro license from the wallet ({} days); capacity from the wallet: {} TB",
                    array.pro_days.unwrap_or(array::PRO_DEFAULT_DAYS),
                    array.capacity_tb
                ));
            }
            Some(LicenseKind::Eval) => {
                ui.label("Eval license: 30 days, free, once per cluster.");
            }
            Some(LicenseKind::Dev) => {
                ui.label("Dev license: free, for development and testing; valid a year.");
            }
            None => {
                ui.label("Unassigned: no license yet. Assign it a Pro license and capacity from the wallet, or choose Eval or Dev.");
            }
        }
        if let Some(status) = fallen {
            widgets::error_text(
                ui,
                &format!(
                    "Its last serial is {}: generate a new one.",
                    status.label().to_lowercase()
                ),
            );
        }
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            if array.kind.is_none() && ui.button("Assign Pro license…").clicked() {
                self.open_edit(&array, Some(LicenseKind::Pro));
            }
            if ui.button("Edit array").clicked() {
                self.open_edit(&array, array.kind);
            }
        });
        ui.separator();
        self.serial_ui(ui, cx, &array, state);
        ui.separator();
        if ui.button("Delete array").clicked() {
            self.confirm_delete = true;
        }
        if self.confirm_delete {
            let mut gives = Vec::new();
            if array.kind == Some(LicenseKind::Pro) {
                gives.push("its Pro license".to_string());
            }
            if array.capacity_tb > 0 {
                gives.push(format!("{} TB", array.capacity_tb));
            }
            let mut body = format!("Delete the array '{}'?", array.name);
            if !gives.is_empty() {
                let gives = gives.join(" and ");
                let (first, rest) = gives.split_at(1);
                body.push_str(&format!(
                    " {}{rest} go back to the wallet of '{}'.",
                    first.to_uppercase(),
                    account.name
                ));
            }
            if let Some(license) = &standing {
                body.push_str(&format!(
                    " Its serial {} is withdrawn (put on the revocation list).",
                    tail(&license.license_id.0)
                ));
            }
            match widgets::confirm_dialog(
                ui,
                "confirm_delete_array",
                "Delete array",
                &body,
                "Delete",
            ) {
                Confirm::Yes => {
                    let request = cx.send(Command::Arrays(ArraysCommand::Delete { id: array.id }));
                    self.acting = Some((request, "Delete array"));
                    self.confirm_delete = false;
                }
                Confirm::No => self.confirm_delete = false,
                Confirm::Pending => {}
            }
        }
    }

    fn serial_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        array: &ArrayRow,
        state: SerialState,
    ) {
        let Some(details) = &self.details else { return };
        ui.heading("License serial");
        match &details.standing {
            Some(license) => {
                let expiry = license
                    .expires_at
                    .map(|t| format!("expires {}", time::date(t)))
                    .unwrap_or_else(|| "never expires".into());
                ui.label(format!(
                    "{} serial {} — {expiry}",
                    license.kind,
                    tail(&license.license_id.0)
                ));
                if state == SerialState::OutOfDate {
                    ui.label("The array changed since: generate a new serial (a Pro serial keeps its running term).");
                }
            }
            None => {
                ui.label(match state {
                    SerialState::Ordered => "Ordered: a Pro license is taken from the wallet; generate the serial to deliver it.",
                    SerialState::Unassigned => "No serial: the array has no license yet.",
                    _ => "No serial generated yet.",
                });
            }
        }
        // Whether a serial can be generated, and why not.
        if self.active_key.is_none() {
            let read = store::keys::active(cx.db);
            self.active_key = Some(cx.or_toast(read, None));
        }
        let mut blockers = FieldErrors::default();
        if array.kind.is_none() {
            blockers.push("License kind", "choose Eval, Dev or Pro under Edit array");
        }
        if array.cluster.is_none() {
            blockers.push("Cluster UUID", "paste it under Edit array");
        }
        match self.active_key.clone().flatten() {
            None => blockers.push("Signing key", "none yet: generate one under Signing keys"),
            Some(k) if !cx.unlocked_keys.contains_key(&k.key_id) => blockers.push(
                "Signing key",
                format!("'{}' is locked: unlock it under Signing keys", k.name),
            ),
            Some(_) => {}
        }
        // Prerequisites of a new serial, not errors: said plainly beside the disabled button.
        for problem in blockers.iter() {
            ui.label(format!("{}: {}", problem.field, problem.message));
        }
        let text = if details.standing.is_some() {
            "Generate new serial"
        } else {
            "Generate license serial"
        };
        let busy = self.acting.is_some();
        if widgets::submit_button(ui, text, &blockers) && !busy {
            let request = cx.send(Command::Arrays(ArraysCommand::Generate { id: array.id }));
            self.acting = Some((request, "Generate license serial"));
        }
        let (Some(serial), Some(file), Some(license)) = (
            details.serial.clone(),
            details.license_file.clone(),
            details.standing.as_ref().map(|l| l.license_id),
        ) else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            let view = if self.show_serial {
                "Hide serial"
            } else {
                "View serial"
            };
            if ui.button(view).clicked() {
                self.show_serial = !self.show_serial;
            }
            if ui.button("Save license file…").clicked() {
                save_license_file(cx, license, &file);
            }
            let qr = if self.show_qr { "Hide QR" } else { "Show QR" };
            if ui.button(qr).clicked() {
                self.show_qr = !self.show_qr;
            }
            if ui.button("Send to email").clicked() && !busy {
                let request = cx.send(Command::Arrays(ArraysCommand::SendSerial { id: array.id }));
                self.acting = Some((request, "Send to email"));
            }
        });
        if self.show_serial {
            ui.label("Serial:");
            ui.add(egui::Label::new(egui::RichText::new(&serial).monospace()).wrap());
            if ui.button("Copy serial").clicked() {
                ui.ctx().copy_text(serial.clone());
                cx.toasts.success("Serial copied");
            }
        }
        if self.show_qr {
            if self.qr.as_ref().is_none_or(|(s, _)| *s != serial) {
                self.qr = qr_texture(ui.ctx(), &serial).map(|t| (serial.clone(), t));
            }
            match &self.qr {
                Some((_, texture)) => {
                    ui.add(
                        egui::Image::new(texture)
                            .fit_to_exact_size(egui::vec2(260.0, 260.0))
                            .alt_text("QR code of the serial"),
                    );
                }
                None => {
                    ui.label(
                        "The serial is too long for a QR code; send the license file instead.",
                    );
                }
            }
        }
    }

    fn open_edit(&mut self, array: &ArrayRow, kind: Option<LicenseKind>) {
        let standing = self.details.as_ref().and_then(|d| d.standing.clone());
        let request = array.parsed_request();
        let request_summary = request
            .as_ref()
            .map(|r| summary_of(r, "kept with the array"));
        self.available = None;
        self.mode = Mode::Edit(Box::new(EditForm {
            id: array.id,
            original_name: array.name.clone(),
            original: (array.kind, array.cluster),
            edit: ArrayEdit {
                name: array.name.clone(),
                product: array.product.clone(),
                cluster: array.cluster.map(|c| c.to_string()).unwrap_or_default(),
                request,
                kind,
                capacity_tb: array.capacity_tb,
            },
            held: Holding::of(array.kind, array.capacity_tb),
            licensed: standing.as_ref().and_then(service::licensed),
            request_path: String::new(),
            request_summary,
            eval_used: None,
            name_taken: None,
            sent: None,
            failure: None,
            confirm_withdraw: false,
        }));
    }
}

fn save_license_file(cx: &mut AppCtx<'_>, license: LicenseId, file: &str) {
    let name = format!("license-{}.lic", tail(&license.0));
    if let Some(path) = cx.dialogs.save_file("Save license file", &name) {
        cx.send(Command::SaveText {
            path,
            contents: file.to_string(),
            what: Saved::LicenseFile,
        });
    }
}

/// Draws the "Edit array" form; true when it should close.
fn edit_ui(
    ui: &mut egui::Ui,
    cx: &mut AppCtx<'_>,
    form: &mut EditForm,
    account: &crate::domain::account::Account,
    available: Available,
) -> bool {
    ui.heading(format!("Edit array '{}'", form.original_name));
    ui.label(format!(
        "Account: {} · {}",
        account.name,
        account.wallet_label()
    ));
    ui.add_space(6.0);
    let result = form.edit.validate();
    let mut problems = result.as_ref().err().cloned().unwrap_or_default();

    // The name is unique per account: asked once per typed name.
    let name = array::normalize_name(&form.edit.name);
    if problems.get("Array name").is_none() && name != form.original_name {
        if form
            .name_taken
            .as_ref()
            .is_none_or(|(checked, _)| *checked != name)
        {
            let taken = store::arrays::name_taken(cx.db, account.id, &name, Some(form.id));
            let taken = cx.or_toast(taken, false);
            form.name_taken = Some((name.clone(), taken));
        }
        if form.name_taken.as_ref().is_some_and(|(_, t)| *t) {
            problems.push(
                "Array name",
                format!("'{name}' is already taken by another array of this account"),
            );
        }
    }
    // Eval is given once per cluster (this array's own Eval does not count against it).
    let cluster = array::parse_cluster(&form.edit.cluster).ok().flatten();
    if form.edit.kind == Some(LicenseKind::Eval)
        && let Some(cluster) = cluster
    {
        if form.eval_used.is_none_or(|(c, _)| c != cluster) {
            let used = store::arrays::eval_license_for(cx.db, cluster);
            let used = cx.or_toast(used, None);
            form.eval_used = Some((cluster, used.map(|(_, at)| at)));
        }
        let own = form.original == (Some(LicenseKind::Eval), Some(cluster));
        if let Some((_, Some(issued))) = form.eval_used
            && !own
        {
            problems.push(
                "Kind",
                format!(
                    "cluster {cluster} already had its Eval license (issued {}): an Eval is given once per cluster; choose Dev or Pro",
                    time::date(issued)
                ),
            );
        }
    }
    // What the wallet can give: what is free plus what the array holds already.
    let after = Holding::of(form.edit.kind, form.edit.capacity_tb);
    let pro_free = available.pro + u64::from(form.held.pro);
    let tb_free = available.tb + u64::from(form.held.capacity_tb);
    let mut no_pro = false;
    if after.pro && pro_free == 0 {
        no_pro = true;
        problems.push(
            "Kind",
            format!(
                "the wallet of '{}' has no Pro license available",
                account.name
            ),
        );
    }
    if u64::from(form.edit.capacity_tb) > tb_free {
        problems.push(
            "Capacity (TB)",
            format!("the wallet holds {tb_free} TB for this array"),
        );
    }
    let typed = |text: &str| !text.trim().is_empty();

    let e = &mut form.edit;
    let err = problems.get("Array name").filter(|_| typed(&e.name));
    widgets::text_field(ui, "Array name", &mut e.name, err);
    let err = problems.get("Product").filter(|_| typed(&e.product));
    widgets::text_field(ui, "Product", &mut e.product, err);
    let err = problems
        .get("Cluster UUID")
        .filter(|_| typed(&e.cluster) || e.kind.is_some());
    let cluster_field = widgets::text_field(ui, "Cluster UUID", &mut e.cluster, err);
    if cluster_field.changed() {
        form.eval_used = None;
    }
    widgets::in_field_column(ui, |ui| {
        ui.label("Paste the UUID the cluster shows, or open (or drop here) the license request file made on it.");
    });
    let mut open_path = None;
    widgets::in_field_column(ui, |ui| {
        if ui.button("Open request file…").clicked() {
            open_path =
                cx.dialogs
                    .open_file("Open license request", "License request", &["ldreq", "txt"]);
        }
    });
    widgets::text_field(ui, "Request file path", &mut form.request_path, None);
    widgets::in_field_column(ui, |ui| {
        if ui
            .add_enabled(
                !form.request_path.trim().is_empty(),
                egui::Button::new("Load request from path"),
            )
            .clicked()
        {
            open_path = Some(form.request_path.trim().into());
        }
    });
    if let Some(path) = open_path {
        cx.send(Command::Arrays(ArraysCommand::ReadRequest { path }));
    }
    if let Some(summary) = &form.request_summary {
        widgets::in_field_column(ui, |ui| {
            ui.label(egui::RichText::new(summary).italics());
        });
        let mut remove = false;
        widgets::in_field_column(ui, |ui| {
            remove = ui.button("Remove machine binding").clicked();
        });
        if remove {
            form.edit.request = None;
            form.request_summary = None;
        }
    }

    let e = &mut form.edit;
    let before_kind = e.kind;
    widgets::field_with(ui, "Kind", problems.get("Kind"), |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.radio_value(&mut e.kind, None, "No license yet");
            ui.radio_value(&mut e.kind, Some(LicenseKind::Eval), "Eval (30 days, free)");
            ui.radio_value(&mut e.kind, Some(LicenseKind::Dev), "Dev (free)");
            ui.radio_value(&mut e.kind, Some(LicenseKind::Pro), "Pro (from the wallet)");
        })
        .response
    });
    if e.kind != before_kind && e.kind != Some(LicenseKind::Pro) {
        e.capacity_tb = 0;
    }
    let mut purchase = false;
    if e.kind == Some(LicenseKind::Pro) {
        widgets::in_field_column(ui, |ui| {
            ui.label(format!("Pro licenses available in the wallet: {pro_free}"));
            if no_pro {
                purchase = ui.button("Purchase Pro licenses").clicked();
            }
        });
        let err = problems.get("Capacity (TB)");
        let tb = e.capacity_tb;
        widgets::field_with(ui, "Capacity (TB)", err, |ui| {
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(tb > 0, egui::Button::new("−1 TB"))
                    .on_hover_text("Give 1 TB back to the wallet")
                    .clicked()
                {
                    e.capacity_tb -= 1;
                }
                ui.label(format!("{tb} TB"));
                if ui
                    .add_enabled(u64::from(tb) < tb_free, egui::Button::new("+1 TB"))
                    .on_hover_text("Take 1 TB from the wallet")
                    .clicked()
                {
                    e.capacity_tb += 1;
                }
            })
            .response
        });
        widgets::in_field_column(ui, |ui| {
            ui.label(format!(
                "TB available in the wallet for this array: {tb_free}"
            ));
        });
    }
    if purchase {
        *cx.navigate = Some(Page::Purchase);
    }
    // Say what saving does to the wallet and to the serial, before it is done.
    let moves = WalletMoves::between(
        form.held,
        Holding::of(form.edit.kind, form.edit.capacity_tb),
    );
    let mut effects = Vec::new();
    if moves.pro > 0 {
        effects.push("takes 1 Pro license from the wallet".to_string());
    }
    if moves.pro < 0 {
        effects.push("gives its Pro license back to the wallet".to_string());
    }
    if moves.capacity_tb > 0 {
        effects.push(format!("takes {} TB from the wallet", moves.capacity_tb));
    }
    if moves.capacity_tb < 0 {
        effects.push(format!(
            "gives {} TB back to the wallet",
            -moves.capacity_tb
        ));
    }
    let withdraws = matches!(
        (&form.licensed, &result),
        (Some(current), Ok(spec)) if array::withdraws(moves, current, spec)
    );
    if withdraws {
        effects.push("withdraws the current serial (it goes on the revocation list; the signing key must be unlocked)".to_string());
    }
    if !effects.is_empty() {
        ui.label(format!("Saving {}.", effects.join(", ")));
    }
    if let Some(failure) = &form.failure {
        widgets::error_text(ui, failure);
    }
    let mut close = false;
    let mut save = false;
    let dialog_open = form.confirm_withdraw;
    let enter = !dialog_open && widgets::enter_pressed(ui) && problems.is_empty();
    ui.horizontal(|ui| {
        let clicked = widgets::submit_button(ui, "Save array", &problems);
        if (clicked || enter) && form.sent.is_none() && problems.is_empty() {
            if withdraws {
                form.confirm_withdraw = true;
            } else {
                save = true;
            }
        }
        if ui.button("Cancel").clicked() || (!dialog_open && widgets::escape_pressed(ui)) {
            close = true;
        }
    });
    if form.confirm_withdraw {
        let serial = form
            .licensed
            .as_ref()
            .map(|l| format!("{} serial", l.kind.name()))
            .unwrap_or_else(|| "serial".into());
        let body = format!(
            "Save '{}' and withdraw its current {serial}? It goes on the revocation list and stops working once the array sees the list; generate a new serial afterwards.",
            form.original_name
        );
        match widgets::confirm_dialog(
            ui,
            "confirm_withdraw_serial",
            "Withdraw serial",
            &body,
            "Save and withdraw",
        ) {
            Confirm::Yes => {
                form.confirm_withdraw = false;
                save = true;
            }
            Confirm::No => form.confirm_withdraw = false,
            Confirm::Pending => {}
        }
    }
    if save {
        form.failure = None;
        form.sent = Some(cx.send(Command::Arrays(ArraysCommand::Save {
            id: form.id,
            edit: Box::new(form.edit.clone()),
        })));
    }
    close
}

/// Renders `text` as a QR code texture (black modules on white, 4-module quiet zone).
fn qr_texture(ctx: &egui::Context, text: &str) -> Option<egui::TextureHandle> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let quiet = 4;
    let side = width + 2 * quiet;
    let mut pixels = vec![egui::Color32::WHITE; side * side];
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            pixels[y * side + x] = egui::Color32::BLACK;
        }
    }
    let image = egui::ColorImage::new([side, side], pixels);
    Some(ctx.load_texture("array_serial_qr", image, egui::TextureOptions::NEAREST))
}
