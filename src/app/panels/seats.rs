//! Seats: named-seat contracts of the account. Change the number of seats with − / + or typed
//! entry from an effective date (today or later, so a future change can be priced); the
//! prorated charge or credit is shown before confirming, and confirming asks for the
//! operator's passphrase. Seats are given to named users and freed when a user is removed.

use crate::app::AppCtx;
use crate::app::widgets::{self, Confirm, SecretText};
use crate::commerce::seats::SeatAdjustment;
use crate::commerce::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::ids::{IdempotencyKey, SeatContractId};
use crate::jobs::{Command, Event, RequestId};
use crate::services::commerce::{self, CommerceCommand, CommerceEvent, SeatPreview};
use crate::services::keys::Secret;
use crate::store;
use crate::store::seats::{SeatAssignmentRecord, SeatContractRecord};
use chrono::{Datelike, NaiveDate};

fn to_jiff(d: NaiveDate) -> jiff::civil::Date {
    jiff::civil::Date::new(
        i16::try_from(d.year()).unwrap_or(2026),
        i8::try_from(d.month()).unwrap_or(1),
        i8::try_from(d.day()).unwrap_or(1),
    )
    .unwrap_or(jiff::civil::date(2026, 1, 1))
}

fn from_jiff(d: jiff::civil::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::try_from(d.month()).ok()?,
        u32::try_from(d.day()).ok()?,
    )
}

struct NewContract {
    name: String,
    term: Term,
    start: jiff::civil::Date,
    seats: String,
}

struct Change {
    contract: SeatContractId,
    seats: String,
    effective: jiff::civil::Date,
    preview: Option<((u32, NaiveDate), Result<SeatPreview, String>)>,
    key: IdempotencyKey,
    confirming: bool,
    passphrase: SecretText,
}

/// The Seats panel.
#[derive(Default)]
pub struct SeatsPanel {
    contracts: Option<(crate::domain::ids::AccountId, Vec<SeatContractRecord>)>,
    selected: Option<SeatContractId>,
    users: Option<Vec<SeatAssignmentRecord>>,
    new_contract: Option<NewContract>,
    change: Option<Change>,
    user_name: String,
    user_email: String,
    remove: Option<SeatAssignmentRecord>,
    sent: Option<RequestId>,
    notice: Option<String>,
}

impl SeatsPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        let Event::Commerce(event) = event else {
            return;
        };
        match event {
            CommerceEvent::SeatContractCreated { contract, .. } => {
                self.contracts = None;
                self.new_contract = None;
                self.selected = Some(contract.id);
            }
            CommerceEvent::SeatsChanged {
                contract,
                change,
                invoice,
            } => {
                self.contracts = None;
                if self.sent == Some(request) {
                    self.change = None;
                    self.sent = None;
                }
                let booked = match (&change.adjustment, invoice) {
                    (_, Some(i)) => format!(
                        "invoiced {} on {}",
                        i.invoice.total(),
                        i.invoice
                            .number()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ),
                    (SeatAdjustment::WalletCredit { amount, .. }, None) => {
                        format!("{amount} credited to the wallet")
                    }
                    (SeatAdjustment::Charge { amount, .. }, None) => format!("{amount} charged"),
                };
                self.notice = Some(format!(
                    "'{}' now has {} seats from {}: {booked}.",
                    contract.name, contract.seats, change.effective
                ));
            }
            CommerceEvent::SeatAssigned(_) | CommerceEvent::SeatReleased(_) => {
                self.users = None;
                self.user_name.clear();
                self.user_email.clear();
            }
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.sent == Some(request) {
            self.sent = None;
            self.notice = Some(format!("Seats not changed: {message}"));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Seats");
        ui.label(
            "Named seats on a term: change the number of users with the price prorated by the day.",
        );
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the top bar to see its seat contracts.");
            return;
        };
        if self
            .contracts
            .as_ref()
            .is_none_or(|(id, _)| *id != account.id)
        {
            let read = store::seats::contracts(cx.db, account.id);
            let list = cx.or_toast(read, Vec::new());
            if self
                .selected
                .is_none_or(|s| !list.iter().any(|c| c.id == s))
            {
                self.selected = list.first().map(|c| c.id);
                self.users = None;
            }
            self.contracts = Some((account.id, list));
        }
        if let Some(notice) = &self.notice {
            ui.label(egui::RichText::new(notice).strong());
        }
        let contracts = self
            .contracts
            .as_ref()
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        if contracts.is_empty() && self.new_contract.is_none() {
            ui.label("No seat contracts yet — New seat contract.");
        }
        for c in &contracts {
            ui.horizontal(|ui| {
                if ui
                    .selectable_label(self.selected == Some(c.id), format!("Manage {}", c.name))
                    .clicked()
                {
                    self.selected = Some(c.id);
                    self.users = None;
                    self.change = None;
                }
                ui.label(format!(
                    "{} seats · {} per seat per {} term · from {}",
                    c.seats,
                    c.unit_price,
                    c.term.label().to_lowercase(),
                    c.anchor
                ));
            });
        }
        if self.new_contract.is_none() && ui.button("New seat contract").clicked() {
            self.new_contract = Some(NewContract {
                name: String::new(),
                term: Term::Annual,
                start: to_jiff(cx.today()),
                seats: "1".into(),
            });
        }
        self.new_contract_ui(ui, cx, account.id);
        let Some(contract) = contracts
            .iter()
            .find(|c| Some(c.id) == self.selected)
            .cloned()
        else {
            return;
        };
        ui.separator();
        self.change_ui(ui, cx, &contract);
        ui.separator();
        self.users_ui(ui, cx, &contract);
    }

    fn new_contract_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        account_id: crate::domain::ids::AccountId,
    ) {
        let Some(form) = &mut self.new_contract else {
            return;
        };
        ui.separator();
        let mut problems = FieldErrors::default();
        crate::domain::validation::required_text(&mut problems, "Contract name", &form.name, 120);
        let seats = form
            .seats
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100_000).contains(n));
        if seats.is_none() {
            problems.push("Seats", "must be a whole number from 1 to 100000");
        }
        let shown = problems
            .get("Contract name")
            .filter(|_| !form.name.is_empty())
            .map(str::to_owned);
        widgets::text_field(ui, "Contract name", &mut form.name, shown.as_deref());
        widgets::field_with(ui, "Contract term", None, |ui| {
            ui.horizontal(|ui| {
                for term in Term::ALL {
                    ui.radio_value(&mut form.term, term, term.label());
                }
            })
            .response
        });
        widgets::field_with(ui, "Contract start", None, |ui| {
            ui.add(
                egui_extras::DatePickerButton::new(&mut form.start)
                    .id_salt("contract_start")
                    .show_icon(false)
                    .format("%Y-%m-%d"),
            )
        });
        widgets::text_field(ui, "Seats", &mut form.seats, problems.get("Seats"));
        let mut cancel = false;
        ui.horizontal(|ui| {
            if widgets::submit_button(ui, "Create seat contract", &problems)
                && let (Some(seats), Some(start)) = (seats, from_jiff(form.start))
            {
                cx.send(Command::Commerce(CommerceCommand::CreateSeatContract {
                    account_id,
                    name: form.name.clone(),
                    term: form.term,
                    start,
                    seats,
                }));
            }
            cancel = ui.button("Cancel").clicked() || widgets::escape_pressed(ui);
        });
        if cancel {
            self.new_contract = None;
        }
    }

    fn change_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, c: &SeatContractRecord) {
        ui.heading(format!("{} — {} seats", c.name, c.seats));
        let today = cx.today();
        let change = self.change.get_or_insert_with(|| Change {
            contract: c.id,
            seats: c.seats.to_string(),
            effective: to_jiff(today),
            preview: None,
            key: IdempotencyKey::new(),
            confirming: false,
            passphrase: SecretText::default(),
        });
        if change.contract != c.id {
            self.change = None;
            return;
        }
        let mut problems = FieldErrors::default();
        let seats = match change.seats.trim().parse::<i64>() {
            Ok(n) if (0..=100_000).contains(&n) => Some(n as u32),
            Ok(_) => {
                problems.push("New number of seats", "must be from 0 to 100000");
                None
            }
            Err(_) => {
                problems.push(
                    "New number of seats",
                    format!("'{}' is not a whole number", change.seats.trim()),
                );
                None
            }
        };
        widgets::field_with(
            ui,
            "New number of seats",
            problems.get("New number of seats"),
            |ui| {
                ui.horizontal(|ui| {
                    let current = change.seats.trim().parse::<i64>().ok();
                    if ui.button("−1 seat").clicked() {
                        change.seats = current.map_or(0, |n| (n - 1).max(0)).to_string();
                    }
                    let field =
                        ui.add(egui::TextEdit::singleline(&mut change.seats).desired_width(80.0));
                    if ui.button("+1 seat").clicked() {
                        change.seats = current.map_or(1, |n| n + 1).to_string();
                    }
                    field
                })
                .inner
            },
        );
        widgets::field_with(ui, "Effective date", None, |ui| {
            ui.add(
                egui_extras::DatePickerButton::new(&mut change.effective)
                    .id_salt("seat_effective")
                    .show_icon(false)
                    .format("%Y-%m-%d"),
            )
        });
        let effective = from_jiff(change.effective).unwrap_or(today);
        if let Some(seats) = seats.filter(|s| *s != c.seats) {
            if change
                .preview
                .as_ref()
                .is_none_or(|(k, _)| *k != (seats, effective))
            {
                let preview = commerce::preview_seat_change(cx.db, c.id, seats, effective, today)
                    .map_err(|e| e.to_string());
                change.preview = Some(((seats, effective), preview));
                change.key = IdempotencyKey::new();
            }
        } else {
            change.preview = None;
        }
        if seats == Some(c.seats) {
            problems.push(
                "New number of seats",
                format!("is the current one ({})", c.seats),
            );
            change.preview = None;
        }
        let preview = match &change.preview {
            Some((_, Ok(p))) => Some(p.clone()),
            Some((_, Err(message))) => {
                if seats != Some(c.seats) {
                    widgets::error_text(ui, message);
                }
                problems.push("Seat change", message.clone());
                None
            }
            None => None,
        };
        if let Some(p) = &preview {
            ui.label(format!(
                "Current term {} to {} ({} days)",
                p.period.start,
                p.period.end,
                p.period.days()
            ));
            match &p.adjustment {
                SeatAdjustment::Charge {
                    added,
                    remaining_days,
                    term_days,
                    amount,
                } => {
                    ui.label(egui::RichText::new(format!(
                        "Prorated charge: {amount} for {added} seat(s) × {remaining_days} of {term_days} days"
                    )).strong());
                    if let Some(doc) = &p.document {
                        ui.label(format!(
                            "Invoiced at once: {} tax, total {}",
                            doc.totals.tax, doc.totals.total
                        ));
                    }
                }
                SeatAdjustment::WalletCredit {
                    removed,
                    remaining_days,
                    term_days,
                    amount,
                } => {
                    ui.label(egui::RichText::new(format!(
                        "Wallet credit: {amount} for {removed} seat(s) × {remaining_days} of {term_days} days"
                    )).strong());
                }
            }
        }
        if widgets::submit_button(ui, "Change seats…", &problems) {
            change.confirming = true;
        }
        if change.confirming
            && let Some(p) = preview
        {
            let what = match &p.adjustment {
                SeatAdjustment::Charge { amount, .. } => format!(
                    "Invoice {} ({} with tax) now",
                    amount,
                    p.document
                        .as_ref()
                        .map(|d| d.totals.total.to_string())
                        .unwrap_or_default()
                ),
                SeatAdjustment::WalletCredit { amount, .. } => {
                    format!("Credit {amount} to the wallet")
                }
            };
            let mut close = false;
            egui::Modal::new(egui::Id::unique("confirm_seats")).show(ui.ctx(), |ui| {
                ui.heading("Confirm seat change");
                ui.label(format!(
                    "Change '{}' from {} to {} seats on {}. {what}.",
                    c.name,
                    c.seats,
                    seats.unwrap_or(c.seats),
                    effective
                ));
                widgets::password_field(ui, "Operator passphrase", &mut change.passphrase, None);
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(
                            !change.passphrase.is_empty(),
                            egui::Button::new("Confirm seat change"),
                        )
                        .clicked()
                    {
                        self.sent =
                            Some(cx.send(Command::Commerce(CommerceCommand::ChangeSeats {
                                contract_id: c.id,
                                new_seats: seats.unwrap_or(c.seats),
                                effective,
                                confirmed: p.clone(),
                                passphrase: Secret::new(change.passphrase.as_str()),
                                key: change.key,
                            })));
                        close = true;
                    }
                    if ui.button("Cancel").clicked() || widgets::escape_pressed(ui) {
                        close = true;
                    }
                });
            });
            if close {
                change.confirming = false;
                change.passphrase.clear(ui.ctx());
            }
        }
    }

    fn users_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, c: &SeatContractRecord) {
        let users = self
            .users
            .get_or_insert_with(|| store::seats::assigned(cx.db, c.id).unwrap_or_default());
        ui.label(
            egui::RichText::new(format!(
                "Users ({} of {} seats taken)",
                users.len(),
                c.seats
            ))
            .strong(),
        );
        for user in users.iter() {
            ui.horizontal(|ui| {
                ui.label(format!("{} <{}>", user.user_name, user.email));
                if ui.button(format!("Remove {}", user.user_name)).clicked() {
                    self.remove = Some(user.clone());
                }
            });
        }
        let mut problems = FieldErrors::default();
        crate::domain::validation::required_text(&mut problems, "User name", &self.user_name, 120);
        if !email_address::EmailAddress::is_valid(self.user_email.trim()) {
            problems.push("User email", "is not a valid email address");
        }
        let typed = |s: &str| !s.trim().is_empty();
        let m = problems
            .get("User name")
            .filter(|_| typed(&self.user_name))
            .map(str::to_owned);
        widgets::text_field(ui, "User name", &mut self.user_name, m.as_deref());
        let m = problems
            .get("User email")
            .filter(|_| typed(&self.user_email))
            .map(str::to_owned);
        widgets::text_field(ui, "User email", &mut self.user_email, m.as_deref());
        if widgets::submit_button(ui, "Assign seat", &problems) {
            cx.send(Command::Commerce(CommerceCommand::AssignSeat {
                contract_id: c.id,
                user_name: self.user_name.clone(),
                email: self.user_email.clone(),
            }));
        }
        if let Some(user) = self.remove.clone() {
            let body = format!(
                "Remove {} <{}> from '{}'? The seat becomes free.",
                user.user_name, user.email, c.name
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_remove_user",
                "Remove user",
                &body,
                "Remove user",
            ) {
                Confirm::Yes => {
                    cx.send(Command::Commerce(CommerceCommand::ReleaseSeat {
                        id: user.id,
                    }));
                    self.remove = None;
                }
                Confirm::No => self.remove = None,
                Confirm::Pending => {}
            }
        }
    }
}
