//! Transfer to a partner ("import to partner"): the sender's dialog (your ID, the partner ID,
//! the generated secret shown once, cancel while it waits) and the partner's "Pending import
//! approval" list, where the secret is typed. A wrong secret is refused (and counted); nothing
//! moves until the right one is entered.

use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, LicenseId, TransferId};
use crate::jobs::{Command, Event, RequestId};
use crate::services::license_admin::OneTimeSecret;
use crate::services::licensing::{LicensingCommand, LicensingEvent};
use crate::services::transfers::{self, TransferView};
use crate::store::license_list::ListRow;
use crate::store::{self, StoreResult};
use std::collections::HashMap;

/// The sender's dialog for one license.
pub(super) struct TransferForm {
    license_id: LicenseId,
    title: String,
    your_wallet: Option<i64>,
    partner: String,
    /// The transfer waiting for this license, if any.
    waiting: Option<TransferView>,
    /// The secret of the transfer just started: shown once.
    secret: Option<OneTimeSecret>,
    sent: Option<(RequestId, LicenseId)>,
    starting: Option<RequestId>,
    message: Option<String>,
}

impl TransferForm {
    pub fn new(cx: &mut AppCtx<'_>, row: &ListRow) -> Self {
        let read = (|| -> StoreResult<_> {
            let wallet = match row.account_id {
                Some(id) => store::accounts::get(cx.db, id)?.map(|a| a.wallet_id),
                None => None,
            };
            let waiting = store::transfers::open_for_license(cx.db, row.license_id)?;
            Ok((wallet, waiting))
        })();
        let (your_wallet, waiting) = cx.or_toast(read, (None, None));
        let waiting = waiting.and_then(|t| transfers::view(cx.db, &t).ok());
        Self {
            license_id: row.license_id,
            title: format!(
                "Transfer license {} ({} {} for {}) to a partner",
                row.license_id, row.kind, row.product, row.customer
            ),
            your_wallet,
            partner: String::new(),
            waiting,
            secret: None,
            sent: None,
            starting: None,
            message: None,
        }
    }

    /// The request just sent (taken once).
    pub fn take_sent(&mut self) -> Option<(RequestId, LicenseId)> {
        self.sent.take()
    }

    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Licensing(LicensingEvent::TransferStarted { transfer, secret })
                if transfer.license_id == self.license_id =>
            {
                self.starting = None;
                self.secret = Some(secret.clone());
                self.waiting = Some(transfer.clone());
            }
            Event::Licensing(LicensingEvent::TransferCancelled(t))
                if t.license_id == self.license_id =>
            {
                self.waiting = None;
                self.secret = None;
                self.message = Some("Transfer cancelled: the license stays where it was.".into());
            }
            Event::Licensing(LicensingEvent::TransferAccepted(t))
                if t.license_id == self.license_id =>
            {
                self.waiting = None;
                self.message = Some(format!("The partner (wallet {}) accepted it.", t.to_wallet));
            }
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.starting == Some(request) {
            self.starting = None;
            self.message = Some(format!("Not started: {message}"));
        }
    }

    /// Draws the dialog; true when it closes.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) -> bool {
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique(("transfer_license", self.license_id))).show(
            ui.ctx(),
            |ui| {
                ui.set_max_width(560.0);
                ui.heading(&self.title);
                close = self.body_ui(ui, cx);
            },
        );
        close || modal.should_close()
    }

    fn body_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) -> bool {
        let mut close = false;
        widgets::field_with(ui, "Your ID", None, |ui| {
            ui.label(
                self.your_wallet
                    .map_or("—".to_string(), |w| format!("Wallet ID {w}")),
            )
        });
        if let Some(waiting) = self.waiting.clone() {
            ui.horizontal_wrapped(|ui| {
                widgets::chip(ui, waiting.status.label(), Tone::Warning);
                ui.label(format!(
                    "to wallet {} ({}); {} tries left",
                    waiting.to_wallet, waiting.to_name, waiting.tries_left
                ));
            });
            if let Some(secret) = &self.secret {
                ui.label("Secret key (shown once: give it to the partner, who enters it under Pending import approval):");
                let text = egui::RichText::new(secret.expose()).monospace().strong();
                ui.add(egui::Label::new(text).selectable(true));
                if ui.button("Copy secret key").clicked() {
                    ui.ctx().copy_text(secret.expose().to_string());
                    cx.toasts.success("Secret key copied");
                }
            }
            if ui.button("Cancel transfer").clicked() {
                cx.send(Command::Licensing(LicensingCommand::CancelTransfer {
                    transfer_id: waiting.id,
                }));
            }
        } else {
            let mut problems = FieldErrors::default();
            let partner = self.partner.trim();
            match partner.parse::<i64>() {
                Ok(w) if Some(w) == self.your_wallet => {
                    problems.push("Partner ID", "is your own wallet ID")
                }
                Ok(w) if w > 0 => {}
                _ if partner.is_empty() => problems.push("Partner ID", "is required"),
                _ => problems.push("Partner ID", "must be a wallet ID (a whole number)"),
            }
            let shown = problems
                .get("Partner ID")
                .filter(|_| !partner.is_empty())
                .map(str::to_owned);
            let field = widgets::text_field(ui, "Partner ID", &mut self.partner, shown.as_deref());
            ui.label("A secret key is generated; the partner account must enter it to import the license. Nothing moves until then, and you can cancel meanwhile.");
            let submit = widgets::submit_button(ui, "Start transfer", &problems)
                || (field.lost_focus() && widgets::enter_pressed(ui) && problems.is_empty());
            if submit && self.starting.is_none() {
                let request = cx.send(Command::Licensing(LicensingCommand::StartTransfer {
                    license_id: self.license_id,
                    partner_wallet: self.partner.trim().to_string(),
                }));
                self.starting = Some(request);
                self.sent = Some((request, self.license_id));
                self.message = None;
            }
        }
        if let Some(message) = &self.message {
            ui.label(message);
        }
        if ui.button("Close").clicked() || widgets::escape_pressed(ui) {
            close = true;
        }
        close
    }
}

/// The "Pending import approval" view: transfers waiting for the account in the top bar.
#[derive(Default)]
pub(super) struct PendingImports {
    /// The account and its transfers, read once per change.
    read: Option<(AccountId, Vec<TransferView>, Vec<TransferView>)>,
    secrets: HashMap<TransferId, String>,
    messages: HashMap<TransferId, String>,
}

impl PendingImports {
    /// How many transfers wait for `account` (for the tab's name), read when needed.
    pub fn waiting(&mut self, cx: &mut AppCtx<'_>) -> usize {
        self.refresh(cx);
        self.read
            .as_ref()
            .map_or(0, |(_, incoming, _)| incoming.len())
    }

    fn refresh(&mut self, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.as_ref().map(|a| a.id) else {
            self.read = None;
            return;
        };
        if self.read.as_ref().is_some_and(|(a, _, _)| *a == account) {
            return;
        }
        let incoming = transfers::incoming(cx.db, account).map_err(|e| e.to_string());
        let outgoing = transfers::outgoing(cx.db, account).map_err(|e| e.to_string());
        match (incoming, outgoing) {
            (Ok(incoming), Ok(outgoing)) => self.read = Some((account, incoming, outgoing)),
            (Err(e), _) | (_, Err(e)) => {
                cx.toasts.error(format!("Could not read transfers: {e}"));
                self.read = Some((account, Vec::new(), Vec::new()));
            }
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        let Event::Licensing(e) = event else { return };
        match e {
            LicensingEvent::TransferSecretRefused {
                transfer_id,
                tries_left,
            } => {
                self.read = None;
                self.messages.insert(
                    *transfer_id,
                    if *tries_left == 0 {
                        "Wrong secret key: refused, and the transfer is now locked (the sender must cancel it)".into()
                    } else {
                        format!("Wrong secret key: refused ({tries_left} tries left)")
                    },
                );
            }
            LicensingEvent::TransferAccepted(t) => {
                self.read = None;
                self.secrets.remove(&t.id);
                self.messages.insert(
                    t.id,
                    format!(
                        "Imported: license {} is now in wallet {}",
                        t.license_id, t.to_wallet
                    ),
                );
            }
            LicensingEvent::TransferStarted { .. } | LicensingEvent::TransferCancelled(_) => {
                self.read = None;
            }
            _ => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Pending import approval");
        self.refresh(cx);
        let Some((_, incoming, outgoing)) = self.read.clone() else {
            ui.label(
                "Choose the partner account in the top bar to see the licenses transferred to it.",
            );
            return;
        };
        for message in self.messages.values() {
            ui.label(egui::RichText::new(message).strong());
        }
        if incoming.is_empty() {
            ui.label("No license waits for this account's approval.");
        }
        for t in &incoming {
            ui.group(|ui| {
                ui.horizontal_wrapped(|ui| {
                    widgets::chip(ui, t.status.label(), Tone::Warning);
                    ui.label(format!(
                        "License {} from wallet {}",
                        t.license_id,
                        t.from_wallet.map_or("—".to_string(), |w| w.to_string())
                    ));
                });
                let label = format!("Secret key for license {}", t.license_id);
                let secret = self.secrets.entry(t.id).or_default();
                let field = widgets::text_field(ui, &label, secret, None);
                let typed = !secret.trim().is_empty();
                let mut accept = false;
                ui.horizontal(|ui| {
                    accept = ui
                        .add_enabled(
                            typed && t.tries_left > 0,
                            egui::Button::new(format!("Accept import of {}", t.license_id)),
                        )
                        .clicked();
                });
                accept |= field.lost_focus() && widgets::enter_pressed(ui) && typed;
                if accept {
                    cx.send(Command::Licensing(LicensingCommand::AcceptTransfer {
                        transfer_id: t.id,
                        secret: OneTimeSecret::new(secret.trim()),
                    }));
                    secret.clear();
                    self.messages.remove(&t.id);
                }
            });
        }
        if !outgoing.is_empty() {
            ui.separator();
            ui.strong("Sent by this account, waiting for the partner");
            for t in &outgoing {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "License {} to wallet {} ({}) — {}",
                        t.license_id,
                        t.to_wallet,
                        t.to_name,
                        t.status.label()
                    ));
                    if ui
                        .button(format!("Cancel transfer of {}", t.license_id))
                        .clicked()
                    {
                        cx.send(Command::Licensing(LicensingCommand::CancelTransfer {
                            transfer_id: t.id,
                        }));
                    }
                });
            }
        }
    }
}
