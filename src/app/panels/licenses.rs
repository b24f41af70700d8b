//! Licenses: the list of every license issued (filter, sort, edit, renew, enable, disable,
//! delete, transfer, offline deactivation: `license_table`), issuing a license (also offline,
//! from a customer's license request file: copy its serial, save its license file, or show
//! the serial as a QR code), and the transfers waiting for the chosen account's approval.

use super::license_table::LicenseTable;
use super::license_transfer::PendingImports;
use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::issue::IssueDraft;
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::files::Saved;
use crate::services::keys::KeysEvent;
use crate::services::licensing::{IssuedView, LicensingCommand, LicensingEvent};
use crate::store;
use crate::store::keys::KeyRow;
use licensekey::LicenseKind;

/// View state of the Licenses panel.
pub struct LicensesPanel {
    draft: IssueDraft,
    /// The account whose name was last filled in as customer.
    prefilled_for: Option<AccountId>,
    request_summary: Option<String>,
    request_path: String,
    issued: Option<IssuedView>,
    qr: Option<(String, egui::TextureHandle)>,
    table: LicenseTable,
    pending: PendingImports,
    /// The vault's active key, read once and again when keys change.
    active_key: Option<Option<KeyRow>>,
    submit_attempted: bool,
    view: View,
}

/// What the panel shows: the list, the issue form, or the transfers waiting for approval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum View {
    #[default]
    List,
    Issue,
    Pending,
}

impl Default for LicensesPanel {
    fn default() -> Self {
        Self {
            draft: IssueDraft::default(),
            prefilled_for: None,
            request_summary: None,
            request_path: String::new(),
            issued: None,
            qr: None,
            table: LicenseTable::default(),
            pending: PendingImports::default(),
            active_key: None,
            submit_attempted: false,
            view: View::List,
        }
    }
}

impl LicensesPanel {
    /// Opens the list of issued licenses narrowed to `filter`.
    pub fn open_with(&mut self, filter: crate::domain::license_filter::LicenseFilter) {
        self.table.open_with(&filter);
        self.view = View::List;
    }

    /// A license whose renewal form was asked for (Purchase → Renewals), taken once.
    pub fn take_renew(&mut self) -> Option<LicenseId> {
        self.table.renew.take()
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        self.table.on_failed(request, message);
    }

    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        self.table.on_event(request, event);
        self.pending.on_event(event);
        match event {
            Event::Licensing(LicensingEvent::RequestLoaded { request, source }) => {
                let keep = std::mem::take(&mut self.draft);
                self.draft = IssueDraft {
                    product: keep.product,
                    kind: keep.kind,
                    customer: keep.customer,
                    ..IssueDraft::from_request(request.clone())
                };
                self.view = View::Issue;
                let created = time::date_time(request.created_at);
                self.request_summary = Some(format!(
                    "Request from '{}', cluster {}, {} strong and {} weak machine identifiers, made {created} — {}",
                    request.label,
                    request
                        .cluster
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "none".into()),
                    request.strong.len(),
                    request.weak.len(),
                    source.display(),
                ));
                self.issued = None;
            }
            Event::Keys(
                KeysEvent::Generated(_) | KeysEvent::Activated(_) | KeysEvent::Imported(_),
            ) => self.active_key = None,
            Event::Licensing(LicensingEvent::Issued(view)) => {
                self.issued = Some(view.clone());
                self.submit_attempted = false;
            }
            _ => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        if let Some(account) = cx.current_account.as_ref()
            && self.prefilled_for != Some(account.id)
        {
            self.prefilled_for = Some(account.id);
            self.draft.customer = account.name.clone();
        }
        ui.heading("Licenses");
        let waiting = self.pending.waiting(cx);
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.view, View::List, "License list");
            ui.selectable_value(&mut self.view, View::Issue, "Issue a license");
            let pending = if waiting > 0 {
                format!("Pending import approval ({waiting})")
            } else {
                "Pending import approval".to_string()
            };
            ui.selectable_value(&mut self.view, View::Pending, pending);
        });
        ui.separator();
        match self.view {
            View::Issue => {
                egui::ScrollArea::vertical()
                    .id_salt("licenses_form")
                    .show(ui, |ui| {
                        if let Some(issued) = self.issued.clone() {
                            self.issued_ui(ui, cx, &issued);
                            ui.separator();
                        }
                        self.request_ui(ui, cx);
                        ui.add_space(6.0);
                        self.form_ui(ui, cx);
                    });
            }
            View::List => self.table.ui(ui, cx),
            View::Pending => {
                egui::ScrollArea::vertical()
                    .id_salt("pending_imports")
                    .show(ui, |ui| self.pending.ui(ui, cx));
            }
        }
    }

    fn request_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label("Offline (air-gapped) issue: open the license request file the customer's machine made, or drop it on this window.");
        ui.horizontal(|ui| {
            if ui.button("Open request file…").clicked()
                && let Some(path) = cx.dialogs.open_file(
                    "Open license request",
                    "License request",
                    &["ldreq", "txt"],
                )
            {
                cx.send(Command::Licensing(LicensingCommand::LoadRequest { path }));
            }
        });
        widgets::text_field(ui, "Request file path", &mut self.request_path, None);
        if ui
            .add_enabled(
                !self.request_path.trim().is_empty(),
                egui::Button::new("Load request from path"),
            )
            .clicked()
        {
            cx.send(Command::Licensing(LicensingCommand::LoadRequest {
                path: self.request_path.trim().into(),
            }));
        }
        if let Some(summary) = &self.request_summary {
            ui.label(egui::RichText::new(summary).italics());
        }
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let result = self.draft.validate();
        let problems = result.as_ref().err().cloned().unwrap_or_default();
        let attempted = self.submit_attempted;
        let d = &mut self.draft;
        let show = |field: &str, value: &str| {
            problems
                .get(field)
                .filter(|_| attempted || !value.trim().is_empty())
                .map(str::to_owned)
        };
        let err = show("Product", &d.product);
        widgets::text_field(ui, "Product", &mut d.product, err.as_deref());
        widgets::field_with(ui, "Kind", None, |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut d.kind, LicenseKind::Eval, "Eval (30 days)");
                ui.radio_value(&mut d.kind, LicenseKind::Dev, "Dev (free)");
                ui.radio_value(&mut d.kind, LicenseKind::Pro, "Pro");
            })
            .response
        });
        let err = show("Customer", &d.customer);
        widgets::text_field(ui, "Customer", &mut d.customer, err.as_deref());
        let err = show("Cluster UUID", &d.cluster);
        widgets::text_field(ui, "Cluster UUID", &mut d.cluster, err.as_deref());
        let err = show("IP address", &d.ip);
        widgets::text_field(ui, "IP address", &mut d.ip, err.as_deref());
        let err = show("Capacity (TB)", &d.capacity_tb);
        widgets::text_field(ui, "Capacity (TB)", &mut d.capacity_tb, err.as_deref());
        let err = show("Seats", &d.seats);
        widgets::text_field(ui, "Seats", &mut d.seats, err.as_deref());
        let err = show("Features", &d.features);
        widgets::text_field(ui, "Features", &mut d.features, err.as_deref());
        if d.kind != LicenseKind::Eval {
            widgets::in_field_column(ui, |ui| {
                ui.checkbox(&mut d.perpetual, "Perpetual (never expires)")
            });
            if !d.perpetual {
                let err = show("Validity (days)", &d.days);
                widgets::text_field(ui, "Validity (days)", &mut d.days, err.as_deref());
            }
        }
        let err = show("Support (days)", &d.support_days);
        widgets::text_field(ui, "Support (days)", &mut d.support_days, err.as_deref());
        let err = show("Grace (days)", &d.grace_days);
        widgets::text_field(ui, "Grace (days)", &mut d.grace_days, err.as_deref());
        if let Some(request) = &d.request {
            let err = show("Fingerprints that must match", &d.min_matches);
            widgets::text_field(
                ui,
                "Fingerprints that must match",
                &mut d.min_matches,
                err.as_deref(),
            );
            ui.label(format!(
                "Bound to this machine: {} strong identifiers (blank: all must match) and {} weak parts (one may differ).",
                request.strong.len(),
                request.weak.len()
            ));
            if ui.button("Remove machine binding").clicked() {
                d.request = None;
                self.request_summary = None;
            }
        }

        if self.active_key.is_none() {
            let read = store::keys::active(cx.db);
            self.active_key = Some(cx.or_toast(read, None));
        }
        let key = self.active_key.clone().flatten();
        let mut blockers = problems.clone();
        match &key {
            None => blockers.push("Signing key", "none yet: generate one under Signing keys"),
            Some(k) if !cx.unlocked_keys.contains_key(&k.key_id) => blockers.push(
                "Signing key",
                format!("'{}' is locked: unlock it under Signing keys", k.name),
            ),
            Some(k) => {
                ui.horizontal(|ui| {
                    ui.label(format!("Signing with '{}' ({})", k.name, k.key_id));
                    widgets::chip(ui, "Unlocked", Tone::Warning);
                });
            }
        }
        if let Some(message) = blockers.get("Signing key") {
            widgets::error_text(ui, &format!("Signing key: {message}"));
        }
        if widgets::submit_button(ui, "Issue license", &blockers) {
            match result {
                Ok(spec) => {
                    cx.send(Command::Licensing(LicensingCommand::Issue {
                        spec: Box::new(spec),
                        account_id: cx.current_account.as_ref().map(|a| a.id),
                    }));
                }
                Err(_) => self.submit_attempted = true,
            }
        }
    }

    fn issued_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, issued: &IssuedView) {
        ui.horizontal(|ui| {
            widgets::chip(ui, "Issued", Tone::Good);
            ui.strong(format!(
                "{} {} for {}",
                issued.kind, issued.product, issued.customer
            ));
        });
        ui.label(format!("License ID: {}", issued.license_id));
        let expiry = issued
            .expires_at
            .map(|t| format!("Expires {}", time::date(t)))
            .unwrap_or_else(|| "Perpetual (never expires)".into());
        ui.label(expiry);
        ui.label("Serial:");
        ui.add(egui::Label::new(egui::RichText::new(&issued.serial).monospace()).wrap());
        ui.horizontal(|ui| {
            if ui.button("Copy serial").clicked() {
                ui.ctx().copy_text(issued.serial.clone());
                cx.toasts.success("Serial copied");
            }
            if ui.button("Save license file…").clicked() {
                let name = format!("license-{}.lic", issued.license_id.short());
                if let Some(path) = cx.dialogs.save_file("Save license file", &name) {
                    cx.send(Command::SaveText {
                        path,
                        contents: issued.license_file.clone(),
                        what: Saved::LicenseFile,
                    });
                }
            }
            if ui.button("Close").clicked() {
                self.issued = None;
                self.qr = None;
            }
        });
        if self
            .qr
            .as_ref()
            .is_none_or(|(serial, _)| *serial != issued.serial)
        {
            self.qr = qr_texture(ui.ctx(), &issued.serial).map(|t| (issued.serial.clone(), t));
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
                ui.label("The serial is too long for a QR code; send the license file instead.");
            }
        }
    }
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
    Some(ctx.load_texture("serial_qr", image, egui::TextureOptions::NEAREST))
}
