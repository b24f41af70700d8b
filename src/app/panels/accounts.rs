//! Accounts: the customer list (virtualised, searchable, sortable) with create, rename and
//! delete; and for the chosen account its wallet ID, billing details and payment methods.

use super::billing_form::BillingForm;
use super::payment_form::PaymentForm;
use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::toasts::Toasts;
use crate::app::widgets::{self, Confirm, Tone};
use crate::domain::account::{self, Account};
use crate::domain::billing::BillingDetails;
use crate::domain::country;
use crate::domain::ids::{AccountId, PaymentMethodId};
use crate::domain::payment::PaymentMethod;
use crate::jobs::{Command, Event, RequestId};
use crate::services::accounts::{AccountsCommand, AccountsEvent};
use crate::store::accounts::{AccountOrder, AccountQuery, PageStart};
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

/// The accounts list's rows.
struct Accounts(AccountQuery);

impl RowSource for Accounts {
    type Row = Account;

    fn fetch(
        &self,
        db: &Connection,
        after: Option<&Account>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Account>> {
        let start = match after {
            Some(last) => PageStart::After(last.clone()),
            None if offset == 0 => PageStart::First,
            None => PageStart::Offset(offset),
        };
        store::accounts::page(db, &self.0, &start, limit)
    }

    fn count(&self, db: &Connection, cap: u64) -> StoreResult<u64> {
        if self.0.search.trim().is_empty() {
            store::accounts::total(db)
        } else {
            store::accounts::count(db, &self.0, cap)
        }
    }

    /// Every account unfiltered; a search lists at most [`store::accounts::SEARCH_LIMIT`].
    fn cap(&self) -> u64 {
        if self.0.search.trim().is_empty() {
            u64::MAX
        } else {
            store::accounts::SEARCH_LIMIT
        }
    }
}

#[derive(Default)]
enum Mode {
    #[default]
    Overview,
    EditBilling(BillingForm),
    AddPayment(PaymentForm),
}

/// View state of the Accounts panel.
pub struct AccountsPanel {
    filter: String,
    list: Paged<Accounts>,
    new_name: Option<String>,
    rename: Option<String>,
    confirm_delete: bool,
    confirm_remove_method: Option<(PaymentMethodId, String)>,
    mode: Mode,
    details: Option<AccountDetails>,
    notice: Option<String>,
    /// The add-payment request in flight, to say what was kept of a typed card number.
    adding_payment: Option<(RequestId, bool)>,
    /// The rows on screen in the last frame (first, last), for "1–40 of 10000".
    visible: Option<(u64, u64)>,
}

impl Default for AccountsPanel {
    fn default() -> Self {
        Self {
            filter: String::new(),
            list: Paged::new(Accounts(AccountQuery::default())),
            new_name: None,
            rename: None,
            confirm_delete: false,
            confirm_remove_method: None,
            mode: Mode::Overview,
            details: None,
            notice: None,
            adding_payment: None,
            visible: None,
        }
    }
}

/// The chosen account's billing details and payment methods, read once and kept until a
/// change arrives.
struct AccountDetails {
    account_id: AccountId,
    billing: Option<BillingDetails>,
    methods: Vec<PaymentMethod>,
}

impl AccountsPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event, toasts: &mut Toasts) {
        let Event::Accounts(event) = event else {
            return;
        };
        match event {
            AccountsEvent::Created(_) => {
                self.list.invalidate();
                self.new_name = None;
                self.details = None;
            }
            AccountsEvent::Renamed(_) => {
                self.list.invalidate();
                self.rename = None;
            }
            AccountsEvent::Deleted(_) => {
                self.list.invalidate();
                self.details = None;
                self.mode = Mode::Overview;
            }
            AccountsEvent::BillingSaved { .. } => {
                self.details = None;
                if matches!(self.mode, Mode::EditBilling(_)) {
                    self.mode = Mode::Overview;
                }
            }
            AccountsEvent::PaymentMethodAdded(method) => {
                self.details = None;
                if let Some((sent, full_number)) = self.adding_payment
                    && sent == request
                {
                    self.adding_payment = None;
                    let summary = method.details.summary();
                    let text = if full_number {
                        format!(
                            "Payment method added: {summary}. Only the brand and last four digits were kept; the full card number was not stored."
                        )
                    } else {
                        format!("Payment method added: {summary}")
                    };
                    toasts.success(text.clone());
                    self.notice = Some(text);
                    self.mode = Mode::Overview;
                }
            }
            AccountsEvent::DefaultPaymentMethodSet(_) | AccountsEvent::PaymentMethodRemoved(_) => {
                self.details = None
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        match &mut self.mode {
            Mode::EditBilling(form) => {
                if let Some(account) = cx.current_account.clone() {
                    let leave = egui::ScrollArea::vertical()
                        .show(ui, |ui| form.ui(ui, cx, &account))
                        .inner;
                    if leave {
                        self.mode = Mode::Overview;
                    }
                    return;
                }
                self.mode = Mode::Overview;
            }
            Mode::AddPayment(form) => {
                if let Some(account) = cx.current_account.clone() {
                    let leave = egui::ScrollArea::vertical()
                        .show(ui, |ui| form.ui(ui, cx, &account))
                        .inner;
                    if let Some(sent) = form.take_sent() {
                        self.adding_payment = Some(sent);
                    }
                    if leave {
                        self.mode = Mode::Overview;
                    }
                    return;
                }
                self.mode = Mode::Overview;
            }
            Mode::Overview => {}
        }
        ui.heading("Accounts");
        ui.add_space(6.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(340.0);
                self.list_ui(ui, cx);
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .id_salt("account_details")
                .show(ui, |ui| ui.vertical(|ui| self.details_ui(ui, cx)));
        });
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let search = widgets::stacked_text_field(ui, "Search accounts", &mut self.filter, None);
        if search.changed() {
            let order = self.list.source().0.order;
            self.list
                .set_source(Accounts(AccountQuery::new(self.filter.clone(), order)));
        }
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::F)) {
            search.request_focus();
        }
        if self.new_name.is_none() && ui.button("New account").clicked() {
            self.new_name = Some(String::new());
        }
        if let Some(name) = &mut self.new_name {
            let problems = account::validate_name(name);
            let typed = !name.is_empty();
            let field = widgets::stacked_text_field(
                ui,
                "Account name",
                name,
                problems.get("Account name").filter(|_| typed),
            );
            let mut submit =
                field.lost_focus() && widgets::enter_pressed(ui) && problems.is_empty();
            ui.horizontal(|ui| {
                submit |= ui
                    .add_enabled(problems.is_empty(), egui::Button::new("Create account"))
                    .clicked();
                if ui.button("Cancel").clicked() || widgets::escape_pressed(ui) {
                    self.new_name = None;
                }
            });
            if let (true, Some(name)) = (submit, &self.new_name) {
                cx.send(Command::Accounts(AccountsCommand::Create {
                    name: name.clone(),
                }));
            }
        }
        ui.add_space(6.0);
        let total = self.list.total(cx.db);
        if let Some(error) = self.list.error() {
            widgets::error_text(ui, &format!("Could not read accounts: {error}"));
        }
        if total == 0 {
            if self.filter.trim().is_empty() {
                ui.label("No accounts yet — click New account to add your first customer.");
            } else {
                ui.label(format!("No account matches '{}'.", self.filter.trim()));
            }
            return;
        }
        let count = if self.list.is_capped() {
            format!("{total}+ accounts: refine the search to see others")
        } else {
            format!("{total} accounts")
        };
        ui.horizontal(|ui| {
            ui.label(count);
            if let Some((first, last)) = self.visible.filter(|(_, last)| *last < total) {
                ui.label(format!("(showing {}–{} of {total})", first + 1, last + 1));
            }
        });
        let mut order = self.list.source().0.order;
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        let mut visible = (u64::MAX, 0u64);
        let current = cx.current_account.as_ref().map(|a| a.id);
        TableBuilder::new(ui)
            .id_salt("accounts_table")
            .striped(true)
            .column(Column::remainder().at_least(160.0).clip(true))
            .column(Column::exact(90.0))
            .min_scrolled_height(200.0)
            .max_scroll_height(f32::INFINITY)
            .header(row_height, |mut header| {
                header.col(|ui| {
                    if widgets::sort_header(ui, "Name", order == AccountOrder::Name) {
                        order = AccountOrder::Name;
                    }
                });
                header.col(|ui| {
                    if widgets::sort_header(ui, "Wallet ID", order == AccountOrder::WalletId) {
                        order = AccountOrder::WalletId;
                    }
                });
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let index = row.index() as u64;
                    visible = (visible.0.min(index), visible.1.max(index));
                    let Some(account) = self.list.get(cx.db, index).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        let selected = current == Some(account.id);
                        if ui.selectable_label(selected, &account.name).clicked() {
                            chosen = Some(account.clone());
                        }
                    });
                    row.col(|ui| {
                        let text = if account.wallet_id_final {
                            account.wallet_id.to_string()
                        } else {
                            format!("{} (provisional)", account.wallet_id)
                        };
                        ui.label(text);
                    });
                });
            });
        let visible = (visible.0 <= visible.1).then_some(visible);
        if visible != self.visible {
            self.visible = visible;
            ui.ctx().request_repaint();
        }
        if let Some(account) = chosen {
            *cx.current_account = Some(account);
            self.rename = None;
            self.notice = None;
        }
        if order != self.list.source().0.order {
            self.list
                .set_source(Accounts(AccountQuery::new(self.filter.clone(), order)));
        }
    }

    fn details_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the list (or in the top bar) to see its details.");
            return;
        };
        ui.heading(&account.name);
        ui.label(egui::RichText::new(account.wallet_label()).strong());
        ui.add_space(6.0);
        self.rename_ui(ui, cx, &account);
        ui.separator();

        if self
            .details
            .as_ref()
            .is_none_or(|d| d.account_id != account.id)
        {
            let billing = store::billing::get(cx.db, account.id);
            let billing = cx.or_toast(billing, None);
            let methods = store::payments::list(cx.db, account.id);
            let methods = cx.or_toast(methods, Vec::new());
            self.details = Some(AccountDetails {
                account_id: account.id,
                billing,
                methods,
            });
        }
        let Some(details) = &self.details else { return };

        ui.heading("Billing details");
        match &details.billing {
            Some(billing) => billing_summary(ui, billing),
            None => {
                ui.label(
                    "No billing details yet: invoices need a company, a contact and an address.",
                );
            }
        }
        if ui.button("Edit billing details").clicked() {
            self.notice = None;
            self.mode = Mode::EditBilling(BillingForm::new(
                details.billing.clone().unwrap_or_default(),
            ));
        }
        ui.separator();

        ui.heading("Payment methods");
        if let Some(notice) = &self.notice {
            ui.label(egui::RichText::new(notice).italics());
        }
        if details.methods.is_empty() {
            ui.label("No payment methods yet.");
        }
        let today = cx.today();
        for method in &details.methods {
            ui.horizontal(|ui| {
                ui.label(method.details.summary());
                if method.is_default {
                    widgets::chip(ui, "Default", Tone::Good);
                }
                if method.details.is_expired(today) {
                    widgets::chip(ui, "Expired", Tone::Bad);
                }
                if !method.is_default && ui.button("Make default").clicked() {
                    cx.send(Command::Accounts(
                        AccountsCommand::SetDefaultPaymentMethod { id: method.id },
                    ));
                }
                if ui.button("Remove").clicked() {
                    self.confirm_remove_method = Some((method.id, method.details.summary()));
                }
            });
        }
        if ui.button("Add payment method").clicked() {
            self.notice = None;
            self.mode = Mode::AddPayment(PaymentForm::default());
        }
        ui.separator();
        if ui.button("Delete account").clicked() {
            self.confirm_delete = true;
        }

        if self.confirm_delete {
            let body = format!(
                "Delete the account '{}' ({})? Its billing details and payment methods are deleted with it.",
                account.name,
                account.wallet_label()
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_delete_account",
                "Delete account",
                &body,
                "Delete",
            ) {
                Confirm::Yes => {
                    cx.send(Command::Accounts(AccountsCommand::Delete {
                        id: account.id,
                    }));
                    self.confirm_delete = false;
                }
                Confirm::No => self.confirm_delete = false,
                Confirm::Pending => {}
            }
        }
        if let Some((id, summary)) = self.confirm_remove_method.clone() {
            let body = format!(
                "Remove the payment method {summary} from '{}'?",
                account.name
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_remove_method",
                "Remove payment method",
                &body,
                "Remove",
            ) {
                Confirm::Yes => {
                    cx.send(Command::Accounts(AccountsCommand::RemovePaymentMethod {
                        id,
                    }));
                    self.confirm_remove_method = None;
                }
                Confirm::No => self.confirm_remove_method = None,
                Confirm::Pending => {}
            }
        }
    }

    fn rename_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: &Account) {
        match &mut self.rename {
            None => {
                if ui.button("Rename").clicked() {
                    self.rename = Some(account.name.clone());
                }
            }
            Some(name) => {
                let problems = account::validate_name(name);
                widgets::text_field(ui, "New name", name, problems.get("Account name"));
                let (mut save, mut cancel) = (false, false);
                ui.horizontal(|ui| {
                    save = ui
                        .add_enabled(problems.is_empty(), egui::Button::new("Save name"))
                        .clicked();
                    cancel = ui.button("Cancel rename").clicked();
                });
                if save {
                    cx.send(Command::Accounts(AccountsCommand::Rename {
                        id: account.id,
                        name: name.clone(),
                    }));
                }
                if cancel {
                    self.rename = None;
                }
            }
        }
    }
}

fn billing_summary(ui: &mut egui::Ui, b: &BillingDetails) {
    let country = country::resolve(&b.country)
        .map(|c| c.name)
        .unwrap_or(&b.country);
    ui.label(format!("{} — {}", b.company, b.contact_name));
    ui.label(format!("{} {}", b.email, b.phone).trim_end().to_string());
    let mut address = b.address_line1.clone();
    if !b.address_line2.is_empty() {
        address.push_str(", ");
        address.push_str(&b.address_line2);
    }
    ui.label(address);
    ui.label(format!("{} {}, {}", b.postal_code, b.city, country));
    if !b.tax_id.is_empty() {
        ui.label(format!("Tax ID: {}", b.tax_id));
    }
}
