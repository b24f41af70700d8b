//! The license list: every license issued here, a million or more, with a filter row (ID,
//! name, IP, software, order period, validity range, status; "Remove filter"), headers that
//! sort by any column, and the actions on the chosen license (edit, renew, enable, disable,
//! delete, transfer) and on a deactivation file from a customer's machine.
//!
//! Reading: one screen of rows at a time through `store::license_list` (indexed, keyset-paged);
//! a large list's exact count and far jumps come from a directory the worker builds once per
//! filter and sort. Writing: commands to the worker; a license a command works on shows
//! "In progress" until it answers.

use super::license_edit::EditForm;
use super::license_transfer::TransferForm;
use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Confirm, Tone};
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::license_filter::LicenseFilter;
use crate::domain::license_status::{LicenseStatus, Shown, StatusChange};
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::commerce::CommerceEvent;
use crate::services::licensing::{LicensingCommand, LicensingEvent};
use crate::store::license_list::{self, Directory, ListQuery, ListRow, NEAR, Sort, SortColumn};
use crate::store::license_settings::{Registration, SettingsView};
use crate::store::{self, StoreResult, deactivations::AppliedDeactivation};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;
use std::collections::HashMap;

/// A list the counts of which are capped until the directory arrives.
const FIRST_COUNT_CAP: u64 = 1_000;

/// The list's rows: a query, and once the worker built it, its directory.
pub(super) struct LicenseSource {
    query: ListQuery,
    directory: Option<Directory>,
}

impl RowSource for LicenseSource {
    type Row = ListRow;

    fn fetch(
        &self,
        db: &Connection,
        after: Option<&ListRow>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<ListRow>> {
        if let Some(row) = after {
            return self.query.read(db, Some(&row.key), 0, limit);
        }
        if let Some(directory) = &self.directory {
            let (key, skip) = directory.start(offset);
            return self.query.read(db, key, skip, limit);
        }
        if offset <= NEAR || self.query.is_short(db)? {
            return self.query.read(db, None, offset, limit);
        }
        // Far down a large list with no directory yet: placeholders until it arrives.
        Ok(Vec::new())
    }

    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        match &self.directory {
            Some(directory) => Ok(directory.total),
            None => self.query.count(db, FIRST_COUNT_CAP + 1),
        }
    }
}

/// The status choices of the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum StatusChoice {
    /// Every state but Deleted.
    #[default]
    Any,
    Ordered,
    Active,
    Suspended,
    InProgress,
    Expired,
    Revoked,
    Superseded,
    Deleted,
}

impl StatusChoice {
    const ALL: [StatusChoice; 9] = [
        StatusChoice::Any,
        StatusChoice::Ordered,
        StatusChoice::Active,
        StatusChoice::Suspended,
        StatusChoice::InProgress,
        StatusChoice::Expired,
        StatusChoice::Revoked,
        StatusChoice::Superseded,
        StatusChoice::Deleted,
    ];

    fn label(self) -> &'static str {
        match self {
            StatusChoice::Any => "Any (not deleted)",
            StatusChoice::Ordered => "Ordered",
            StatusChoice::Active => "Active",
            StatusChoice::Suspended => "Suspended",
            StatusChoice::InProgress => "In progress",
            StatusChoice::Expired => "Expired",
            StatusChoice::Revoked => "Revoked",
            StatusChoice::Superseded => "Superseded",
            StatusChoice::Deleted => "Deleted",
        }
    }
}

/// The filter row as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FilterForm {
    pub id: String,
    pub name: String,
    pub ip: String,
    pub software: String,
    /// "monthly", "quarterly", "annual", "triennial", "none" or "" (any).
    pub order_period: String,
    /// YYYY-MM-DD.
    pub expires_from: String,
    pub expires_until: String,
    pub status: StatusChoice,
    /// Set when the list was opened narrowed (a dashboard card): kept until removed.
    pub account: Option<AccountId>,
    pub unlinked: bool,
}

impl FilterForm {
    /// The filter, or what is wrong with the dates.
    fn filter(&self, now: i64, busy: &[LicenseId]) -> Result<LicenseFilter, FieldErrors> {
        let mut errors = FieldErrors::default();
        let date = |errors: &mut FieldErrors, field: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()),
                Err(_) => {
                    errors.push(field, format!("'{text}' is not a date like 2027-01-31"));
                    None
                }
            }
        };
        let from = date(&mut errors, "Expires from", &self.expires_from);
        // "Until" includes its whole day.
        let until = date(&mut errors, "Expires until", &self.expires_until)
            .map(|t| t.saturating_add(86_400));
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            errors.push("Expires until", "must be after Expires from");
        }
        errors.clone().into_result()?;
        let mut filter = LicenseFilter {
            id: self.id.clone(),
            name: self.name.clone(),
            ip: self.ip.clone(),
            software: self.software.clone(),
            order_period: (!self.order_period.is_empty()).then(|| self.order_period.clone()),
            expires_from: from,
            expires_until: until,
            account: self.account,
            unlinked: self.unlinked,
            ..LicenseFilter::default()
        };
        match self.status {
            StatusChoice::Any => {}
            // No license row is "ordered": those are bought and not generated (see Arrays).
            StatusChoice::Ordered => filter.id = "ordered: none here".into(),
            StatusChoice::Active => filter.statuses = vec![LicenseStatus::Active],
            StatusChoice::Suspended => filter.statuses = vec![LicenseStatus::Suspended],
            StatusChoice::Revoked => filter.statuses = vec![LicenseStatus::Revoked],
            StatusChoice::Superseded => filter.statuses = vec![LicenseStatus::Superseded],
            StatusChoice::Deleted => filter.statuses = vec![LicenseStatus::Deleted],
            StatusChoice::Expired => filter.expired_at = Some(now),
            StatusChoice::InProgress => {
                filter.only = busy.to_vec();
                if busy.is_empty() {
                    filter.id = "in progress: none".into();
                }
            }
        }
        Ok(filter)
    }

    /// The form showing `filter` (from a dashboard card).
    fn from_filter(filter: &LicenseFilter) -> Self {
        let date = |t: Option<i64>| {
            t.and_then(time::utc_date)
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        let status = match (filter.statuses.as_slice(), filter.expired_at) {
            (_, Some(_)) => StatusChoice::Expired,
            ([LicenseStatus::Active], _) => StatusChoice::Active,
            ([LicenseStatus::Suspended], _) => StatusChoice::Suspended,
            ([LicenseStatus::Revoked], _) => StatusChoice::Revoked,
            ([LicenseStatus::Superseded], _) => StatusChoice::Superseded,
            ([LicenseStatus::Deleted], _) => StatusChoice::Deleted,
            _ => StatusChoice::Any,
        };
        FilterForm {
            id: filter.id.clone(),
            name: filter.name.clone(),
            ip: filter.ip.clone(),
            software: filter.software.clone(),
            order_period: filter.order_period.clone().unwrap_or_default(),
            expires_from: date(filter.expires_from),
            // The form's "until" is the last day included.
            expires_until: date(filter.expires_until.map(|t| t - 1)),
            status,
            account: filter.account,
            unlinked: filter.unlinked,
        }
    }
}

/// What the panel shows about the chosen license, read once per choice or change.
struct Details {
    license_id: LicenseId,
    account: Option<(String, i64)>,
    registrations: Vec<Registration>,
    deactivations: Vec<AppliedDeactivation>,
    settings: SettingsView,
    seats: i64,
    /// Why this desk may not change it: another desk issued it.
    issued_elsewhere: Option<String>,
}

/// A destructive action waiting for its confirmation.
#[derive(Debug, Clone)]
enum Pending {
    Change(LicenseId, StatusChange, String),
}

/// The list view of the Licenses panel.
pub(super) struct LicenseTable {
    form: FilterForm,
    sort: Sort,
    list: Paged<LicenseSource>,
    /// The directory request in flight for the current query, by token.
    mapping: Option<u64>,
    next_token: u64,
    /// Licenses a command works on, by request.
    busy: HashMap<RequestId, LicenseId>,
    chosen: Option<ListRow>,
    /// Set when a change may have altered the chosen license: it is read again.
    chosen_stale: bool,
    details: Option<Details>,
    confirm: Option<Pending>,
    edit: Option<EditForm>,
    transfer: Option<TransferForm>,
    deactivation_path: String,
    /// The list-indexing request in flight, if any.
    indexing: Option<RequestId>,
    /// Unlisted licenses seen (read once per change).
    unlisted: Option<u64>,
    visible: Option<(u64, u64)>,
    /// Set to open the renewal form of a license (Purchase → Renewals).
    pub renew: Option<LicenseId>,
    now: i64,
    date_errors: FieldErrors,
}

impl Default for LicenseTable {
    fn default() -> Self {
        Self {
            form: FilterForm::default(),
            sort: Sort::default(),
            list: Paged::new(LicenseSource {
                query: ListQuery::new(LicenseFilter::default(), Sort::default(), 0),
                directory: None,
            }),
            mapping: None,
            next_token: 1,
            busy: HashMap::new(),
            chosen: None,
            chosen_stale: false,
            details: None,
            confirm: None,
            edit: None,
            transfer: None,
            deactivation_path: String::new(),
            indexing: None,
            unlisted: None,
            visible: None,
            renew: None,
            now: 0,
            date_errors: FieldErrors::default(),
        }
    }
}

impl LicenseTable {
    /// Shows the list narrowed to `filter`.
    pub fn open_with(&mut self, filter: &LicenseFilter) {
        self.form = FilterForm::from_filter(filter);
        self.now = 0;
    }

    /// The licenses commands are working on now.
    fn busy_ids(&self) -> Vec<LicenseId> {
        let mut ids: Vec<LicenseId> = self.busy.values().copied().collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn changed(&mut self) {
        self.list.invalidate();
        self.details = None;
        self.chosen_stale = true;
        self.unlisted = None;
        // The directory's positions moved: ask for a new one, keep the old meanwhile.
        self.mapping = None;
    }

    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        self.busy.remove(&request);
        if self.indexing == Some(request) {
            self.indexing = None;
        }
        match event {
            Event::Licensing(e) => match e {
                LicensingEvent::ListMapped { token, directory } if self.mapping == Some(*token) => {
                    let query = self.list.source().query.clone();
                    self.list.set_source(LicenseSource {
                        query,
                        directory: Some((**directory).clone()),
                    });
                }
                LicensingEvent::Issued(_)
                | LicensingEvent::Revoked { .. }
                | LicensingEvent::StatusChanged { .. }
                | LicensingEvent::TransferAccepted(_)
                | LicensingEvent::TransferCancelled(_)
                | LicensingEvent::TransferStarted { .. }
                | LicensingEvent::Deactivated(_)
                | LicensingEvent::ListIndexed { .. } => self.changed(),
                LicensingEvent::Edited { .. } => {
                    self.edit = None;
                    self.changed();
                }
                LicensingEvent::PasswordRevealed {
                    license_id,
                    password,
                } => {
                    if let Some(form) = &mut self.edit
                        && form.license_id() == *license_id
                    {
                        form.revealed(password.clone());
                    }
                }
                _ => {}
            },
            Event::Commerce(CommerceEvent::Renewed { .. }) => self.changed(),
            _ => {}
        }
        if let Some(transfer) = &mut self.transfer {
            transfer.on_event(event);
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        self.busy.remove(&request);
        if self.indexing == Some(request) {
            self.indexing = None;
        }
        if let Some(edit) = &mut self.edit {
            edit.on_failed(request, message);
        }
        if let Some(transfer) = &mut self.transfer {
            transfer.on_failed(request, message);
        }
    }

    /// Sends a command about `license` and shows it "In progress" until it answers.
    fn send_about(&mut self, cx: &AppCtx<'_>, license: LicenseId, command: Command) {
        let request = cx.send(command);
        self.busy.insert(request, license);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let now = cx.clock.now().timestamp();
        self.filter_ui(ui, cx, now);
        self.keep_listed(ui, cx);
        self.deactivation_ui(ui, cx);
        self.chosen_ui(ui, cx, now);
        self.dialogs_ui(ui, cx);
        ui.add_space(4.0);
        self.table_ui(ui, cx, now);
    }

    /// The filter row; rebuilds the query when the filter, the sort or the day changes.
    fn filter_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, now: i64) {
        let before = self.form.clone();
        let errors = self.date_errors.clone();
        ui.horizontal_wrapped(|ui| {
            let f = &mut self.form;
            let id = narrow_field(ui, "ID", &mut f.id, 150.0, None);
            if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::F)) {
                id.request_focus();
            }
            narrow_field(ui, "Name", &mut f.name, 150.0, None);
            narrow_field(ui, "IP", &mut f.ip, 110.0, None);
            narrow_field(ui, "Software", &mut f.software, 130.0, None);
            labelled_combo(ui, "Order period", 110.0, |ui| {
                let label = license_list::order_months(&f.order_period)
                    .map_or("Any".to_string(), license_list::order_period_label);
                egui::ComboBox::from_id_salt("order_period_filter")
                    .selected_text(if f.order_period.is_empty() {
                        "Any".into()
                    } else {
                        label
                    })
                    .show_ui(ui, |ui| {
                        for (value, text) in [
                            ("", "Any"),
                            ("monthly", "Monthly"),
                            ("quarterly", "Quarterly"),
                            ("annual", "Annual"),
                            ("triennial", "3 years"),
                            ("none", "— (none)"),
                        ] {
                            ui.selectable_value(&mut f.order_period, value.to_string(), text);
                        }
                    })
                    .response
            });
            narrow_field(
                ui,
                "Expires from",
                &mut f.expires_from,
                95.0,
                errors.get("Expires from"),
            );
            narrow_field(
                ui,
                "Expires until",
                &mut f.expires_until,
                95.0,
                errors.get("Expires until"),
            );
            labelled_combo(ui, "Status", 130.0, |ui| {
                egui::ComboBox::from_id_salt("status_filter")
                    .selected_text(f.status.label())
                    .show_ui(ui, |ui| {
                        for choice in StatusChoice::ALL {
                            ui.selectable_value(&mut f.status, choice, choice.label());
                        }
                    })
                    .response
            });
            if f.account.is_some() || f.unlinked {
                let what = if f.unlinked {
                    "Unlinked licenses only".to_string()
                } else {
                    "One account's licenses".to_string()
                };
                widgets::chip(ui, &what, Tone::Neutral);
            }
            // A fixed size, so the row wraps before the button instead of squeezing its text.
            ui.allocate_ui(egui::vec2(110.0, 44.0), |ui| {
                ui.vertical(|ui| {
                    ui.label("");
                    if ui
                        .add_enabled(
                            *f != FilterForm::default(),
                            egui::Button::new("Remove filter")
                                .wrap_mode(egui::TextWrapMode::Extend),
                        )
                        .clicked()
                    {
                        *f = FilterForm::default();
                    }
                });
            });
        });
        if self.form.status == StatusChoice::Ordered {
            ui.label("Ordered licenses are bought but not generated yet: they are listed with their array under Arrays, and appear here once generated.");
        }
        let busy = self.busy_ids();
        let needs = before != self.form
            || self.now == 0
            || time::utc_date(now) != time::utc_date(self.now)
            || (self.form.status == StatusChoice::InProgress
                && self.list.source().query.filter.only != busy);
        if needs {
            self.now = now;
            match self.form.filter(now, &busy) {
                Ok(filter) => {
                    self.date_errors = FieldErrors::default();
                    self.set_query(ListQuery::new(filter, self.sort, now));
                }
                Err(errors) => self.date_errors = errors,
            }
        }
        let _ = cx;
    }

    fn set_query(&mut self, query: ListQuery) {
        self.list.set_source(LicenseSource {
            query,
            directory: None,
        });
        self.mapping = None;
        self.visible = None;
    }

    /// Asks the worker to take in licenses a bulk issue left unlisted, and to map a large list.
    fn keep_listed(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        if self.unlisted.is_none() {
            let read = store::licenses::unlisted_count(cx.db);
            self.unlisted = Some(cx.or_toast(read, 0));
        }
        if let Some(n) = self.unlisted.filter(|n| *n > 0) {
            if self.indexing.is_none() {
                self.indexing = Some(cx.send(Command::Licensing(LicensingCommand::IndexList)));
            }
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "{n} licenses just issued are being added to the list…"
                ));
            });
        }
        if self.mapping.is_none() {
            let query = &self.list.source().query;
            let short = query.is_short(cx.db).unwrap_or(true);
            let token = self.next_token;
            self.next_token += 1;
            self.mapping = Some(token);
            if !short {
                cx.send(Command::Licensing(LicensingCommand::MapList {
                    query: Box::new(query.clone()),
                    token,
                }));
            }
        }
    }

    /// "Open deactivation file…": a file from a customer's machine frees a seat.
    fn deactivation_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.collapsing("Offline deactivation", |ui| {
            ui.label("A customer's machine that removed a license (license-desk deactivate) sends a signed deactivation file; applying it frees the license's seat. Licenses issued from a request made before version 3 cannot be deactivated offline.");
            ui.horizontal(|ui| {
                if ui.button("Open deactivation file…").clicked()
                    && let Some(path) = cx.dialogs.open_file(
                        "Open deactivation file",
                        "Deactivation file",
                        &["lddeact", "txt"],
                    )
                {
                    cx.send(Command::Licensing(LicensingCommand::ApplyDeactivation { path }));
                }
            });
            widgets::text_field(
                ui,
                "Deactivation file path",
                &mut self.deactivation_path,
                None,
            );
            if ui
                .add_enabled(
                    !self.deactivation_path.trim().is_empty(),
                    egui::Button::new("Apply deactivation from path"),
                )
                .clicked()
            {
                cx.send(Command::Licensing(LicensingCommand::ApplyDeactivation {
                    path: self.deactivation_path.trim().into(),
                }));
            }
        });
    }

    /// The chosen license: what it is, and the actions on it.
    fn chosen_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, now: i64) {
        if self.chosen_stale {
            self.chosen_stale = false;
            if let Some(row) = &self.chosen {
                self.chosen = reread(cx, row.license_id, now);
            }
        }
        let Some(row) = self.chosen.clone() else {
            ui.label("Choose a license in the list (its ID) to edit, renew, enable, disable, delete or transfer it.");
            return;
        };
        if self
            .details
            .as_ref()
            .is_none_or(|d| d.license_id != row.license_id)
        {
            self.details = read_details(cx, &row);
        }
        let busy = self.busy.values().any(|id| *id == row.license_id);
        ui.group(|ui| {
            ui.horizontal_wrapped(|ui| {
                ui.strong(format!("License {}", row.license_id));
                let shown = if busy {
                    Shown::InProgress
                } else {
                    Shown::at(row.status, row.expires_at, now)
                };
                widgets::status_chip(ui, shown);
                ui.label(format!("{} — {} {}", row.customer, row.kind, row.product));
            });
            if let Some(d) = &self.details {
                ui.horizontal_wrapped(|ui| {
                    match &d.account {
                        Some((name, wallet)) => {
                            ui.label(format!("Account: {name} (wallet ID {wallet})"));
                        }
                        None => {
                            widgets::chip(ui, "Unlinked", Tone::Neutral);
                            ui.label("free-text customer, no account");
                        }
                    }
                    ui.separator();
                    let names: Vec<String> = d
                        .registrations
                        .iter()
                        .map(|r| {
                            if r.label.is_empty() {
                                hex::encode(&r.machine_key[..4])
                            } else {
                                r.label.clone()
                            }
                        })
                        .collect();
                    if names.is_empty() {
                        ui.label(format!(
                            "Registered machines: none — seats in use 0 of {}",
                            d.seats
                        ));
                    } else {
                        ui.label(format!(
                            "Registered machines: {} — seats in use {} of {}",
                            names.join(", "),
                            names.len(),
                            d.seats
                        ));
                    }
                    if let Some(last) = d.deactivations.first() {
                        ui.separator();
                        ui.label(format!(
                            "Deactivated offline {} (the seat is free)",
                            time::date_time(last.applied_at)
                        ));
                    }
                    if d.settings.password_key_id.is_some() {
                        ui.separator();
                        ui.label("Administrator password: set (encrypted)");
                    }
                });
            }
            // Another desk's license is shown, not changed here: its ledger is that desk's.
            let elsewhere = self
                .details
                .as_ref()
                .and_then(|d| d.issued_elsewhere.clone());
            if let Some(why) = &elsewhere {
                ui.horizontal_wrapped(|ui| {
                    widgets::chip(ui, "From another desk", Tone::Neutral);
                    ui.label(format!("{why}."));
                });
            }
            let busy = busy || elsewhere.is_some();
            ui.horizontal_wrapped(|ui| {
                let live = !matches!(row.status, LicenseStatus::Deleted);
                if ui
                    .add_enabled(live && !busy, egui::Button::new("Edit"))
                    .clicked()
                {
                    self.edit = Some(EditForm::open(cx, &row));
                }
                let renewable = row.status == LicenseStatus::Active && row.kind == "Pro";
                if ui
                    .add_enabled(renewable && !busy, egui::Button::new("Renew"))
                    .on_disabled_hover_text("Only an active Pro license is renewed")
                    .clicked()
                {
                    self.renew = Some(row.license_id);
                }
                match row.status {
                    LicenseStatus::Suspended => {
                        if ui.add_enabled(!busy, egui::Button::new("Enable")).clicked() {
                            let command = Command::Licensing(LicensingCommand::ChangeStatus {
                                license_id: row.license_id,
                                change: StatusChange::Enable,
                                reason: "enabled by staff".into(),
                            });
                            self.send_about(cx, row.license_id, command);
                        }
                    }
                    _ => {
                        if ui
                            .add_enabled(
                                row.status == LicenseStatus::Active && !busy,
                                egui::Button::new("Disable"),
                            )
                            .clicked()
                        {
                            self.confirm = Some(Pending::Change(
                                row.license_id,
                                StatusChange::Suspend,
                                describe(&row),
                            ));
                        }
                    }
                }
                if ui
                    .add_enabled(live && !busy, egui::Button::new("Delete"))
                    .clicked()
                {
                    self.confirm = Some(Pending::Change(
                        row.license_id,
                        StatusChange::Delete,
                        describe(&row),
                    ));
                }
                let transferable =
                    matches!(row.status, LicenseStatus::Active | LicenseStatus::Suspended)
                        && row.account_id.is_some();
                if ui
                    .add_enabled(
                        transferable && !busy,
                        egui::Button::new("Transfer to partner"),
                    )
                    .on_disabled_hover_text(
                        "Only an active or suspended license linked to an account is transferred",
                    )
                    .clicked()
                {
                    self.transfer = Some(TransferForm::new(cx, &row));
                }
                if ui.button("Close license").clicked() {
                    self.chosen = None;
                    self.details = None;
                }
            });
        });
    }

    /// Confirmations, the edit form and the transfer dialog.
    fn dialogs_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        if let Some(Pending::Change(id, change, what)) = self.confirm.clone() {
            let (title, body, yes) = match change {
                StatusChange::Delete => (
                    "Delete license",
                    format!(
                        "Delete {what}? It leaves the list, is named on the next revocation list (so it stops working) and cannot be enabled again. Its ledger entries stay."
                    ),
                    "Delete",
                ),
                _ => (
                    "Disable license",
                    format!(
                        "Disable (suspend) {what}? It is named on the next revocation list until it is enabled again."
                    ),
                    "Disable",
                ),
            };
            match widgets::confirm_dialog(ui, "confirm_license_change", title, &body, yes) {
                Confirm::Yes => {
                    let reason = match change {
                        StatusChange::Delete => "deleted by staff",
                        _ => "disabled by staff",
                    };
                    let command = Command::Licensing(LicensingCommand::ChangeStatus {
                        license_id: id,
                        change,
                        reason: reason.into(),
                    });
                    self.send_about(cx, id, command);
                    self.confirm = None;
                }
                Confirm::No => self.confirm = None,
                Confirm::Pending => {}
            }
        }
        if let Some(form) = &mut self.edit {
            if let Some((request, id)) = form.take_sent() {
                self.busy.insert(request, id);
            }
            if form.ui(ui, cx) {
                self.edit = None;
            }
        }
        if let Some(form) = &mut self.transfer {
            if let Some((request, id)) = form.take_sent() {
                self.busy.insert(request, id);
            }
            if form.ui(ui, cx) {
                self.transfer = None;
            }
        }
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, now: i64) {
        let total = self.list.total(cx.db);
        if let Some(error) = self.list.error() {
            widgets::error_text(ui, &format!("Could not read licenses: {error}"));
        }
        let mapped = self.list.source().directory.is_some()
            || self.list.source().query.is_short(cx.db).unwrap_or(true);
        if total == 0 {
            if self.form != FilterForm::default() {
                ui.label("No license matches the filter.");
            } else if crate::store::licenses::any_deleted(cx.db).unwrap_or(false) {
                ui.label(
                    "Every license here is deleted: choose \"Deleted\" under Status to see them.",
                );
            } else {
                ui.label("No licenses yet — issue one under \"Issue a license\", or import many with license-desk issue --csv.");
            }
            return;
        }
        let count = if mapped {
            format!("{total} licenses")
        } else {
            format!("{FIRST_COUNT_CAP}+ licenses (counting…)")
        };
        ui.horizontal(|ui| {
            ui.label(count);
            if let Some((first, last)) = self.visible {
                ui.label(format!("(showing {}–{})", first + 1, last + 1));
            }
        });
        let mut sort = self.sort;
        let row_height = ui.spacing().interact_size.y;
        let busy = self.busy_ids();
        let mut chosen = None;
        let mut visible = (u64::MAX, 0u64);
        let selected = self.chosen.as_ref().map(|r| r.license_id);
        TableBuilder::new(ui)
            .id_salt("licenses_table")
            .striped(true)
            .column(Column::exact(290.0))
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(120.0).clip(true))
            .column(Column::initial(150.0).clip(true))
            .column(Column::exact(95.0))
            .column(Column::exact(95.0))
            .column(Column::remainder().at_least(90.0))
            .min_scrolled_height(200.0)
            .max_scroll_height(f32::INFINITY)
            .header(row_height, |mut header| {
                for column in SortColumn::ALL {
                    header.col(|ui| {
                        let active = sort.column == column;
                        if widgets::sort_header(ui, column.title(), active) {
                            sort = if active {
                                Sort {
                                    column,
                                    descending: !sort.descending,
                                }
                            } else {
                                Sort {
                                    column,
                                    descending: false,
                                }
                            };
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let index = row.index() as u64;
                    visible = (visible.0.min(index), visible.1.max(index));
                    let Some(license) = self.list.get(cx.db, index).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        let text = egui::RichText::new(license.license_id.to_string()).monospace();
                        if ui
                            .selectable_label(selected == Some(license.license_id), text)
                            .clicked()
                        {
                            chosen = Some(license.clone());
                        }
                    });
                    row.col(|ui| {
                        if license.account_id.is_none() {
                            ui.label(format!("{} (unlinked)", license.customer));
                        } else {
                            ui.label(&license.customer);
                        }
                    });
                    row.col(|ui| {
                        ui.label(license.ip.as_deref().unwrap_or("—"));
                    });
                    row.col(|ui| {
                        ui.label(&license.product);
                    });
                    row.col(|ui| {
                        ui.label(license_list::order_period_label(license.order_months));
                    });
                    row.col(|ui| {
                        ui.label(license.expires_at.map_or("never".into(), time::date));
                    });
                    row.col(|ui| {
                        let shown = if busy.contains(&license.license_id) {
                            Shown::InProgress
                        } else {
                            Shown::at(license.status, license.expires_at, now)
                        };
                        widgets::status_chip(ui, shown);
                    });
                });
            });
        let visible = (visible.0 <= visible.1).then_some(visible);
        if visible != self.visible {
            self.visible = visible;
            ui.ctx().request_repaint();
        }
        if let Some(row) = chosen {
            self.chosen = Some(row);
            self.details = None;
        }
        if sort != self.sort {
            self.sort = sort;
            let filter = self.list.source().query.filter.clone();
            self.set_query(ListQuery::new(filter, sort, self.now));
        }
    }
}

/// A license in words, for confirmations: its id, customer, kind and product.
fn describe(row: &ListRow) -> String {
    format!(
        "license {} ({} {} for {})",
        row.license_id, row.kind, row.product, row.customer
    )
}

/// The list row of `license_id` as stored now; `None` once it left the list (deleted).
fn reread(cx: &mut AppCtx<'_>, license_id: LicenseId, now: i64) -> Option<ListRow> {
    let filter = LicenseFilter {
        only: vec![license_id],
        ..LicenseFilter::default()
    };
    let read = ListQuery::new(filter, Sort::default(), now).read(cx.db, None, 0, 1);
    cx.or_toast(read, Vec::new()).into_iter().next()
}

fn read_details(cx: &mut AppCtx<'_>, row: &ListRow) -> Option<Details> {
    let read = (|| -> StoreResult<Details> {
        let account = match row.account_id {
            Some(id) => store::accounts::get(cx.db, id)?.map(|a| (a.name, a.wallet_id)),
            None => None,
        };
        let seats = store::licenses::get(cx.db, row.license_id)?.map_or(0, |l| l.seats);
        Ok(Details {
            license_id: row.license_id,
            account,
            registrations: store::license_settings::registrations(cx.db, row.license_id)?,
            deactivations: store::deactivations::for_license(cx.db, row.license_id)?,
            settings: store::license_settings::view(cx.db, row.license_id)?,
            seats,
            issued_elsewhere: store::licenses::issued_elsewhere(cx.db, row.license_id)?,
        })
    })();
    match read {
        Ok(d) => Some(d),
        Err(e) => {
            cx.toasts.error(format!("Could not read the license: {e}"));
            None
        }
    }
}

/// A filter field with its label above it (and its message under it), `width` wide.
fn narrow_field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    width: f32,
    error: Option<&str>,
) -> egui::Response {
    ui.vertical(|ui| {
        ui.set_width(width);
        widgets::stacked_text_field(ui, label, value, error)
    })
    .inner
}

/// A combo box with its label above it, tied to it for screen readers.
fn labelled_combo(
    ui: &mut egui::Ui,
    label: &str,
    width: f32,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    ui.vertical(|ui| {
        ui.set_width(width);
        let name = ui.label(label);
        add(ui).labelled_by(name.id)
    })
    .inner
}
