//! Accounts: the customer list with search, create, rename and delete; and for the chosen
//! account its wallet ID, billing details and payment methods.

use super::billing_form::BillingForm;
use super::payment_form::PaymentForm;
use crate::app::AppCtx;
use crate::app::toasts::Toasts;
use crate::app::widgets::{self, Confirm, Tone};
use crate::domain::account::{self, Account};
use crate::domain::billing::BillingDetails;
use crate::domain::country;
use crate::domain::payment::PaymentMethod;
use crate::jobs::{Command, Event};
use crate::store;
use crate::store::accounts::AccountOrder;

/// How many accounts the list shows before asking for a narrower search.
const LIST_LIMIT: usize = 100;

#[derive(Default)]
enum Mode {
    #[default]
    Overview,
    EditBilling(BillingForm),
    AddPayment(PaymentForm),
}

/// View state of the Accounts panel.
#[derive(Default)]
pub struct AccountsPanel {
    filter: String,
    order: AccountOrder,
    /// The page of rows on screen and how many match the filter.
    rows: Option<(Vec<Account>, i64)>,
    new_name: Option<String>,
    rename: Option<String>,
    confirm_delete: bool,
    confirm_remove_method: Option<(String, String)>,
    mode: Mode,
    details: Option<AccountDetails>,
    notice: Option<String>,
}

/// The chosen account's billing details and payment methods, read once and kept until a
/// change arrives.
struct AccountDetails {
    account_id: String,
    billing: Option<BillingDetails>,
    methods: Vec<PaymentMethod>,
}

impl AccountsPanel {
    pub fn on_event(&mut self, event: &Event, toasts: &mut Toasts) {
        match event {
            Event::AccountCreated(_) => {
                self.rows = None;
                self.new_name = None;
                self.details = None;
            }
            Event::AccountRenamed(_) => {
                self.rows = None;
                self.rename = None;
            }
            Event::AccountDeleted(_) => {
                self.rows = None;
                self.details = None;
                self.mode = Mode::Overview;
            }
            Event::BillingSaved { .. } => {
                self.details = None;
                if matches!(self.mode, Mode::EditBilling(_)) {
                    self.mode = Mode::Overview;
                }
            }
            Event::PaymentMethodAdded(method) => {
                self.details = None;
                if let Mode::AddPayment(form) = &self.mode {
                    let summary = method.details.summary();
                    let text = if form.full_number_typed() {
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
            Event::PaymentMethodsChanged { .. } => self.details = None,
            _ => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        match &mut self.mode {
            Mode::EditBilling(form) => {
                if let Some(account) = cx.current_account.clone() {
                    if form.ui(ui, cx, &account) {
                        self.mode = Mode::Overview;
                    }
                    return;
                }
                self.mode = Mode::Overview;
            }
            Mode::AddPayment(form) => {
                if let Some(account) = cx.current_account.clone() {
                    if form.ui(ui, cx, &account) {
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
                ui.set_width(300.0);
                self.list_ui(ui, cx);
            });
            ui.separator();
            ui.vertical(|ui| self.details_ui(ui, cx));
        });
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let search = widgets::stacked_text_field(ui, "Search accounts", &mut self.filter, None);
        if search.changed() {
            self.rows = None;
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
                cx.send(Command::CreateAccount { name: name.clone() });
            }
        }
        ui.add_space(6.0);
        if self.rows.is_none() {
            let page = store::accounts::search(cx.db, &self.filter, self.order, LIST_LIMIT);
            let page = cx.or_toast(page, Vec::new());
            let total = store::accounts::count_matching(cx.db, &self.filter);
            let total = cx.or_toast(total, 0);
            self.rows = Some((page, total));
        }
        let Some((rows, total)) = &self.rows else {
            return;
        };
        if rows.is_empty() {
            if self.filter.trim().is_empty() {
                ui.label("No accounts yet — click New account to add your first customer.");
            } else {
                ui.label(format!("No account matches '{}'.", self.filter.trim()));
            }
            return;
        }
        ui.label(format!("{}–{} of {total}", 1, rows.len()));
        let mut order = self.order;
        egui::Grid::new("accounts_list")
            .striped(true)
            .num_columns(2)
            .show(ui, |ui| {
                for (title, column) in [
                    ("Name", AccountOrder::Name),
                    ("Wallet ID", AccountOrder::WalletId),
                ] {
                    ui.horizontal(|ui| {
                        let header = egui::Button::new(egui::RichText::new(title).strong())
                            .frame(false)
                            .selected(order == column);
                        if ui
                            .add(header)
                            .on_hover_text(format!("Sort by {title}"))
                            .clicked()
                        {
                            order = column;
                        }
                        if order == column {
                            ui.label(egui_material_icons::icons::ICON_ARROW_DOWNWARD.rich_text());
                        }
                    });
                }
                ui.end_row();
                for row in rows {
                    let chosen = cx.current_account.as_ref().is_some_and(|a| a.id == row.id);
                    if ui.selectable_label(chosen, &row.name).clicked() {
                        *cx.current_account = Some(row.clone());
                        self.rename = None;
                        self.notice = None;
                    }
                    ui.label(row.wallet_id.to_string());
                    ui.end_row();
                }
            });
        if *total > rows.len() as i64 {
            ui.label(format!(
                "Showing the first {}: refine the search to see others.",
                rows.len()
            ));
        }
        if order != self.order {
            self.order = order;
            self.rows = None;
        }
    }

    fn details_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the list (or in the top bar) to see its details.");
            return;
        };
        ui.heading(&account.name);
        ui.label(egui::RichText::new(format!("Wallet ID: {}", account.wallet_id)).strong());
        ui.add_space(6.0);
        self.rename_ui(ui, cx, &account);
        ui.separator();

        if self
            .details
            .as_ref()
            .is_none_or(|d| d.account_id != account.id)
        {
            let billing = store::billing::get(cx.db, &account.id);
            let billing = cx.or_toast(billing, None);
            let methods = store::payments::list(cx.db, &account.id);
            let methods = cx.or_toast(methods, Vec::new());
            self.details = Some(AccountDetails {
                account_id: account.id.clone(),
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
                    cx.send(Command::SetDefaultPaymentMethod {
                        id: method.id.clone(),
                    });
                }
                if ui.button("Remove").clicked() {
                    self.confirm_remove_method =
                        Some((method.id.clone(), method.details.summary()));
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
                "Delete the account '{}' (Wallet ID: {})? Its billing details and payment methods are deleted with it.",
                account.name, account.wallet_id
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_delete_account",
                "Delete account",
                &body,
                "Delete",
            ) {
                Confirm::Yes => {
                    cx.send(Command::DeleteAccount {
                        id: account.id.clone(),
                    });
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
                    cx.send(Command::DeletePaymentMethod { id });
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
                    cx.send(Command::RenameAccount {
                        id: account.id.clone(),
                        name: name.clone(),
                    });
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
