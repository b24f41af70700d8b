//! Settings → Prices and Settings → Seller: price list versions (prices per product and term,
//! term discounts, tax rates per country and product class with their validity) and the
//! vendor's own details printed on invoices. Saving a price list always makes a new version:
//! documents keep the version they were priced with.

use crate::app::AppCtx;
use crate::app::widgets;
use crate::commerce::catalog::{
    PriceList, Product, ProductClass, TermDiscount, UnitPrice, starter,
};
use crate::commerce::seller::SellerDetails;
use crate::commerce::tax::{CountryCode, TaxRate};
use crate::commerce::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::money::{Currency, Money, Percent};
use crate::jobs::{Command, Event};
use crate::services::commerce::{CommerceCommand, CommerceEvent};
use crate::store;
use chrono::NaiveDate;

/// The label of each price field, by product then term (labels must be `'static`).
const PRICE_FIELDS: [[&str; 4]; 4] = [
    [
        "Pro license, Monthly",
        "Pro license, Quarterly",
        "Pro license, Annual",
        "Pro license, 3 years",
    ],
    [
        "Capacity per TB, Monthly",
        "Capacity per TB, Quarterly",
        "Capacity per TB, Annual",
        "Capacity per TB, 3 years",
    ],
    [
        "Support, Monthly",
        "Support, Quarterly",
        "Support, Annual",
        "Support, 3 years",
    ],
    [
        "Named seat, Monthly",
        "Named seat, Quarterly",
        "Named seat, Annual",
        "Named seat, 3 years",
    ],
];
const DISCOUNT_FIELDS: [&str; 4] = [
    "Discount, Monthly (%)",
    "Discount, Quarterly (%)",
    "Discount, Annual (%)",
    "Discount, 3 years (%)",
];

struct RateDraft {
    country: String,
    class: ProductClass,
    percent: String,
    from: String,
    to: String,
}

/// A price list as typed.
struct ListDraft {
    id: uuid::Uuid,
    name: String,
    currency: String,
    valid_from: String,
    prices: [[String; 4]; 4],
    discounts: [String; 4],
    rates: Vec<RateDraft>,
}

fn date(errors: &mut FieldErrors, field: &'static str, text: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(
                field,
                format!("'{}' is not a date like 2026-01-31", text.trim()),
            );
            None
        }
    }
}

impl ListDraft {
    fn from_list(list: &PriceList) -> ListDraft {
        let mut prices: [[String; 4]; 4] = Default::default();
        for (p, product) in Product::ALL.iter().enumerate() {
            for (t, term) in Term::ALL.iter().enumerate() {
                prices[p][t] = list
                    .unit_price(*product, *term)
                    .map(Money::to_plain_string)
                    .unwrap_or_default();
            }
        }
        let discounts = Term::ALL.map(|t| {
            let d = list.term_discount(t);
            if d.is_zero() {
                String::new()
            } else {
                d.to_string()
            }
        });
        ListDraft {
            id: list.id,
            name: list.name.clone(),
            currency: list.currency.code().to_string(),
            valid_from: list.valid_from.to_string(),
            prices,
            discounts,
            rates: list
                .tax_rates
                .iter()
                .map(|r| RateDraft {
                    country: r.country.to_string(),
                    class: r.class,
                    percent: r.percent.to_string(),
                    from: r.valid_from.to_string(),
                    to: r.valid_to.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// The list to save (its version is set by the service), or every problem.
    fn validate(&self) -> Result<PriceList, FieldErrors> {
        let mut errors = FieldErrors::default();
        crate::domain::validation::required_text(&mut errors, "Price list name", &self.name, 80);
        let currency = Currency::from_code(self.currency.trim())
            .map_err(|e| errors.push("Currency", e.to_string()))
            .ok();
        let valid_from = date(&mut errors, "Valid from", &self.valid_from);
        let mut prices = Vec::new();
        if let Some(currency) = currency {
            for (p, product) in Product::ALL.iter().enumerate() {
                for (t, term) in Term::ALL.iter().enumerate() {
                    let text = &self.prices[p][t];
                    if text.trim().is_empty() {
                        continue;
                    }
                    match Money::parse_non_negative(PRICE_FIELDS[p][t], text, currency) {
                        Ok(price) => prices.push(UnitPrice {
                            product: *product,
                            term: *term,
                            price,
                        }),
                        Err(e) => e.push_into(&mut errors),
                    }
                }
            }
        }
        let mut term_discounts = Vec::new();
        for (t, term) in Term::ALL.iter().enumerate() {
            if self.discounts[t].trim().is_empty() {
                continue;
            }
            if let Some(percent) =
                Percent::parse_field(&mut errors, DISCOUNT_FIELDS[t], &self.discounts[t])
            {
                term_discounts.push(TermDiscount {
                    term: *term,
                    percent,
                });
            }
        }
        let mut tax_rates = Vec::new();
        for (i, r) in self.rates.iter().enumerate() {
            let row = i + 1;
            let country = CountryCode::parse(&r.country)
                .map_err(|e| errors.push("Tax rates", format!("row {row}: {e}")))
                .ok();
            let percent = Percent::parse(&r.percent)
                .map_err(|e| errors.push("Tax rates", format!("row {row}: rate {e}")))
                .ok();
            let mut dates = FieldErrors::default();
            let from = date(&mut dates, "Tax rates", &r.from);
            let to = if r.to.trim().is_empty() {
                Some(None)
            } else {
                date(&mut dates, "Tax rates", &r.to).map(Some)
            };
            for e in dates.iter() {
                errors.push("Tax rates", format!("row {row}: {}", e.message));
            }
            if let (Some(country), Some(percent), Some(valid_from), Some(valid_to)) =
                (country, percent, from, to)
            {
                tax_rates.push(TaxRate {
                    country,
                    class: r.class,
                    percent,
                    valid_from,
                    valid_to,
                });
            }
        }
        errors.clone().into_result()?;
        let (Some(currency), Some(valid_from)) = (currency, valid_from) else {
            return Err(errors);
        };
        let list = PriceList {
            id: self.id,
            version: 1,
            name: self.name.trim().to_string(),
            valid_from,
            currency,
            prices,
            term_discounts,
            tax_rates,
        };
        if let Err(e) = list.check() {
            errors.push("Price list", e.to_string());
            return Err(errors);
        }
        Ok(list)
    }
}

/// Which part of Settings is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SettingsTab {
    #[default]
    General,
    Prices,
    Seller,
    Backups,
}

/// Settings → Prices and Seller.
#[derive(Default)]
pub struct PricesPanel {
    pub tab: SettingsTab,
    lists: Option<Vec<PriceList>>,
    draft: Option<ListDraft>,
    seller: Option<SellerDetails>,
    seller_touched: bool,
}

impl PricesPanel {
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Commerce(CommerceEvent::PriceListSaved(_)) => {
                self.lists = None;
                self.draft = None;
            }
            Event::Commerce(CommerceEvent::SellerSaved(saved)) => {
                self.seller = Some(saved.clone());
                self.seller_touched = false;
            }
            _ => {}
        }
    }

    /// The tab bar above Settings.
    pub fn tabs(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for (tab, name) in [
                (SettingsTab::General, "General"),
                (SettingsTab::Prices, "Prices"),
                (SettingsTab::Seller, "Seller"),
                (SettingsTab::Backups, "Backups"),
            ] {
                if ui.selectable_label(self.tab == tab, name).clicked() {
                    self.tab = tab;
                }
            }
        });
        ui.separator();
    }

    pub fn prices_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Prices");
        ui.label("Prices per product and term, term discounts and tax rates. Saving makes a new version; quotes and invoices keep the version they were priced with.");
        ui.add_space(6.0);
        if self.draft.is_none() {
            let lists = match &self.lists {
                Some(lists) => lists.clone(),
                None => {
                    let read = store::price_lists::all(cx.db);
                    let lists = cx.or_toast(read, Vec::new());
                    self.lists = Some(lists.clone());
                    lists
                }
            };
            if lists.is_empty() {
                ui.label("No price list yet — start from the standard one and adjust it.");
                if ui.button("Start from the standard price list").clicked() {
                    self.draft = Some(ListDraft::from_list(&starter(
                        uuid::Uuid::now_v7(),
                        cx.today(),
                    )));
                }
                return;
            }
            let mut seen = Vec::new();
            for list in &lists {
                if seen.contains(&list.id) {
                    continue;
                }
                seen.push(list.id);
                let versions = lists.iter().filter(|l| l.id == list.id).count();
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&list.name).strong());
                    ui.label(format!(
                        "{} · version {} · valid from {} · {} version(s)",
                        list.currency, list.version, list.valid_from, versions
                    ));
                    if ui.button(format!("New version of {}", list.name)).clicked() {
                        let mut draft = ListDraft::from_list(list);
                        draft.valid_from = cx.today().to_string();
                        self.draft = Some(draft);
                    }
                });
            }
            return;
        }
        let Some(draft) = &mut self.draft else { return };
        let result = draft.validate();
        let problems = result.as_ref().err().cloned().unwrap_or_default();
        widgets::text_field(
            ui,
            "Price list name",
            &mut draft.name,
            problems.get("Price list name"),
        );
        widgets::text_field(
            ui,
            "Currency",
            &mut draft.currency,
            problems.get("Currency"),
        );
        widgets::text_field(
            ui,
            "Valid from",
            &mut draft.valid_from,
            problems.get("Valid from"),
        );
        ui.label(
            egui::RichText::new("Unit prices (per license, TB, covered license or seat, per term)")
                .strong(),
        );
        for (p, row) in draft.prices.iter_mut().enumerate() {
            for (t, value) in row.iter_mut().enumerate() {
                let field = PRICE_FIELDS[p][t];
                widgets::text_field(ui, field, value, problems.get(field));
            }
        }
        ui.label(egui::RichText::new("Term discounts").strong());
        for (t, value) in draft.discounts.iter_mut().enumerate() {
            let field = DISCOUNT_FIELDS[t];
            widgets::text_field(ui, field, value, problems.get(field));
        }
        ui.label(egui::RichText::new("Tax rates (by the tax point date)").strong());
        let mut remove = None;
        for (i, rate) in draft.rates.iter_mut().enumerate() {
            let row = i + 1;
            ui.horizontal(|ui| {
                ui.label(format!("Rate {row}"));
                let country = ui.label("Country");
                ui.add(egui::TextEdit::singleline(&mut rate.country).desired_width(40.0))
                    .labelled_by(country.id);
                let class = ui.label("Class");
                egui::ComboBox::from_id_salt(("rate_class", i))
                    .selected_text(rate.class.to_string())
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut rate.class, ProductClass::Software, "software");
                        ui.selectable_value(&mut rate.class, ProductClass::Support, "support");
                    })
                    .response
                    .labelled_by(class.id);
                let percent = ui.label("%");
                ui.add(egui::TextEdit::singleline(&mut rate.percent).desired_width(50.0))
                    .labelled_by(percent.id);
                let from = ui.label("from");
                ui.add(egui::TextEdit::singleline(&mut rate.from).desired_width(90.0))
                    .labelled_by(from.id);
                let to = ui.label("to");
                ui.add(egui::TextEdit::singleline(&mut rate.to).desired_width(90.0))
                    .labelled_by(to.id);
                if ui.button(format!("Remove rate {row}")).clicked() {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            draft.rates.remove(i);
        }
        if let Some(message) = problems.get("Tax rates") {
            widgets::error_text(ui, &format!("Tax rates: {message}"));
        }
        if ui.button("Add tax rate").clicked() {
            draft.rates.push(RateDraft {
                country: String::new(),
                class: ProductClass::Software,
                percent: String::new(),
                from: cx.today().to_string(),
                to: String::new(),
            });
        }
        if let Some(message) = problems.get("Price list") {
            widgets::error_text(ui, &format!("Price list: {message}"));
        }
        ui.add_space(8.0);
        let mut save = false;
        let mut cancel = false;
        ui.horizontal(|ui| {
            save = widgets::submit_button(ui, "Save price list version", &problems);
            cancel = ui.button("Cancel").clicked() || widgets::escape_pressed(ui);
        });
        if let (true, Ok(list)) = (save, result) {
            cx.send(Command::Commerce(CommerceCommand::SavePriceList(list)));
        }
        if cancel {
            self.draft = None;
        }
    }

    pub fn seller_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Seller");
        ui.label("Your company as it appears on every invoice. An EU seller needs its VAT ID.");
        ui.add_space(6.0);
        let seller = self
            .seller
            .get_or_insert_with(|| store::price_lists::seller(cx.db).unwrap_or_default());
        let problems = seller.validate();
        let show = self.seller_touched || seller.is_set();
        let msg = |f: &str| if show { problems.get(f) } else { None };
        let mut changed = false;
        changed |= widgets::text_field(
            ui,
            "Seller company",
            &mut seller.company,
            msg("Seller company"),
        )
        .changed();
        changed |= widgets::field_with(ui, "Seller address", msg("Seller address"), |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut seller.address)
                    .desired_rows(3)
                    .desired_width(320.0),
            )
        })
        .changed();
        changed |= widgets::text_field(
            ui,
            "Seller country",
            &mut seller.country,
            msg("Seller country"),
        )
        .changed();
        changed |= widgets::text_field(
            ui,
            "Seller VAT ID",
            &mut seller.vat_id,
            msg("Seller VAT ID"),
        )
        .changed();
        changed |= widgets::text_field(ui, "Seller email", &mut seller.email, msg("Seller email"))
            .changed();
        self.seller_touched |= changed;
        if widgets::submit_button(ui, "Save seller details", &problems) {
            cx.send(Command::Commerce(CommerceCommand::SaveSeller(
                seller.clone(),
            )));
        }
    }
}
