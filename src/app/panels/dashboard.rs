//! Dashboard: what is in the desk at a glance, and the first step on an empty one.
//!
//! Cards count arrays, licenses by state (licenses linked to no account count too), the
//! current account's wallet, unpaid invoices and licenses expiring within 30 days; clicking a
//! card opens the license list narrowed to it, or the panel it is about. Two charts (egui_plot)
//! show revenue by month and the capacity assigned to arrays by account, each also as a table
//! a screen reader can read. The numbers are counted on the worker after each change (a count
//! over a million licenses is not a frame's work) and kept until the next one.

use crate::app::{AppCtx, Page};
use crate::domain::ids::AccountId;
use crate::domain::license_filter::LicenseFilter;
use crate::domain::license_status::LicenseStatus;
use crate::domain::money::Money;
use crate::jobs::{Command, Event, RequestId};
use crate::services::dashboard::{DashboardCommand, DashboardSummary, EXPIRING_DAYS};
use egui::RichText;
use egui_plot::{AxisHints, Bar, BarChart, GridMark, Plot};

/// View state: the last summary and whether a change made it stale.
#[derive(Default)]
pub struct DashboardPanel {
    summary: Option<DashboardSummary>,
    /// The account whose wallet the summary shows.
    summary_for: Option<AccountId>,
    stale: bool,
    asked: Option<RequestId>,
    error: Option<String>,
}

/// Where clicking a card leads.
enum Target {
    Licenses(Box<LicenseFilter>),
    Page(Page),
}

impl DashboardPanel {
    /// Any change may move a number: count again the next time the dashboard is drawn.
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        match event {
            Event::Dashboard(summary) if self.asked == Some(request) => {
                self.asked = None;
                self.error = None;
                self.summary = Some((**summary).clone());
            }
            other if counts_change(other) => self.stale = true,
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.asked == Some(request) {
            self.asked = None;
            self.error = Some(message.to_string());
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Dashboard");
        ui.add_space(8.0);
        let account = cx.current_account.as_ref().map(|a| a.id);
        let outdated = self.summary.is_none() || self.stale || self.summary_for != account;
        if outdated && self.asked.is_none() && self.error.is_none() {
            self.stale = false;
            self.summary_for = account;
            self.asked = Some(cx.send(Command::Dashboard(DashboardCommand::Refresh {
                account_id: account,
            })));
        }
        if let Some(error) = &self.error {
            crate::app::widgets::error_text(ui, &format!("Could not count: {error}"));
            if ui.button("Try again").clicked() {
                self.error = None;
            }
        }
        let Some(summary) = self.summary.clone() else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Counting…");
            });
            return;
        };
        if summary.accounts == 0 && summary.licenses == 0 {
            first_use(ui, cx);
            return;
        }
        let licenses = |filter: LicenseFilter| Target::Licenses(Box::new(filter));
        let kinds: Vec<String> = summary
            .arrays_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let mut first = vec![
            Card::new(
                "Arrays",
                summary.arrays,
                kinds.join(" · "),
                Target::Page(Page::Arrays),
            ),
            Card::new(
                "Ordered",
                summary.ordered,
                "Pro from the wallet, serial not generated",
                Target::Page(Page::Arrays),
            ),
            Card::new(
                "Licenses issued",
                summary.licenses,
                "all of them, linked to an account or not",
                licenses(LicenseFilter::default()),
            ),
        ];
        for (title, status, note) in [
            ("Active", LicenseStatus::Active, "working, not expired"),
            (
                "Suspended",
                LicenseStatus::Suspended,
                "on the revocation list for now",
            ),
            ("Revoked", LicenseStatus::Revoked, "disabled for good"),
        ] {
            first.push(Card::new(
                title,
                summary.count(status),
                note,
                licenses(LicenseFilter::with_status(status)),
            ));
        }
        first.extend([
            Card::new(
                "Expired",
                summary.expired,
                "active, past their expiry",
                licenses(LicenseFilter {
                    expired_at: Some(summary.at),
                    ..LicenseFilter::default()
                }),
            ),
            Card::new(
                &format!("Expiring in {EXPIRING_DAYS} days"),
                summary.expiring_soon,
                "active licenses to renew",
                licenses(LicenseFilter::expiring_within(summary.at, EXPIRING_DAYS)),
            ),
            Card::new(
                "Unlinked licenses",
                summary.unlinked,
                "a customer name only, no account",
                licenses(LicenseFilter {
                    unlinked: true,
                    ..LicenseFilter::default()
                }),
            ),
        ]);
        let wallet = match &summary.wallet {
            Some(w) => Card {
                title: "Wallet balance".into(),
                value: w
                    .money
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "empty".into()),
                detail: format!(
                    "{}: {} Pro licenses, {} TB free",
                    w.account_name, w.pro_available, w.tb_available
                ),
                target: Target::Page(Page::Purchase),
            },
            None => Card {
                title: "Wallet balance".into(),
                value: "no account chosen".into(),
                detail: "choose an account in the top bar".into(),
                target: Target::Page(Page::Accounts),
            },
        };
        let owed: Vec<String> = summary.unpaid_total.iter().map(Money::to_string).collect();
        let owed = if owed.is_empty() {
            "nothing owed".to_string()
        } else {
            format!("{} owed", owed.join(" + "))
        };
        let money = vec![
            wallet,
            Card::new(
                "Unpaid invoices",
                summary.unpaid_invoices,
                owed,
                Target::Page(Page::Invoices),
            ),
            Card::new(
                "Accounts",
                summary.accounts,
                "customers",
                Target::Page(Page::Accounts),
            ),
        ];
        let mut target = None;
        ui.label(RichText::new("Arrays and licenses").strong());
        target = card_rows(ui, first).or(target);
        ui.add_space(6.0);
        ui.label(RichText::new("Money").strong());
        target = card_rows(ui, money).or(target);
        ui.add_space(10.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(520.0);
                revenue_chart(ui, &summary);
            });
            ui.add_space(16.0);
            ui.vertical(|ui| {
                ui.set_width(420.0);
                capacity_chart(ui, &summary);
            });
        });
        match target {
            Some(Target::Licenses(filter)) => *cx.open_licenses = Some(*filter),
            Some(Target::Page(page)) => *cx.navigate = Some(page),
            None => {}
        }
    }
}

/// Whether `event` may move a number the dashboard shows (keys locking, files saved, a
/// ledger check or a request file read change none, so they cost no recount).
fn counts_change(event: &Event) -> bool {
    use crate::services::arrays::ArraysEvent;
    use crate::services::licensing::LicensingEvent;
    match event {
        // Keeping a version of a conflict can rename an account or change its details.
        Event::Accounts(_)
        | Event::Commerce(_)
        | Event::Referrals(_)
        | Event::ConflictResolved { .. } => true,
        // A round may apply changes pulled from other desks.
        Event::Sync(e) => matches!(e, crate::services::sync::SyncEvent::Synced(_)),
        Event::Arrays(e) => !matches!(
            e,
            ArraysEvent::RequestRead { .. } | ArraysEvent::SerialSent { .. }
        ),
        Event::Licensing(e) => matches!(
            e,
            LicensingEvent::Issued(_)
                | LicensingEvent::Revoked { .. }
                | LicensingEvent::StatusChanged { .. }
                | LicensingEvent::Cancelled { .. }
        ),
        // A restore or an import replaces every number.
        Event::Backup(e) => matches!(
            e,
            crate::services::backup::BackupEvent::Restored(_)
                | crate::services::backup::BackupEvent::Imported { .. }
        ),
        Event::Keys(_)
        | Event::Dashboard(_)
        | Event::SettingsSaved(_)
        | Event::TextSaved { .. } => false,
    }
}

fn first_use(ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
    ui.label(RichText::new("Welcome to License Desk").size(20.0).strong());
    ui.label("License Desk keeps your customers (accounts with billing details, payment methods and a prepaid wallet), their arrays and the licenses you issue to them — all in a local database that works without a network.");
    ui.add_space(6.0);
    ui.label("Start with the first customer account. Then buy Pro licenses and capacity into its wallet (Purchase), add its arrays and generate their serials (Arrays).");
    ui.add_space(8.0);
    if ui.button("Add your first account").clicked() {
        *cx.navigate = Some(Page::Accounts);
    }
}

/// One card: a title, a large value, a line under it, and where clicking it leads.
struct Card {
    title: String,
    value: String,
    detail: String,
    target: Target,
}

impl Card {
    fn new(title: &str, count: u64, detail: impl Into<String>, target: Target) -> Card {
        Card {
            title: title.into(),
            value: count.to_string(),
            detail: detail.into(),
            target,
        }
    }
}

/// Width of a card's content.
const CARD_WIDTH: f32 = 190.0;

/// Lays cards out in rows that fit the width (a frame's size is known only after it is drawn,
/// so wrapping is worked out here); returns where the clicked one leads.
fn card_rows(ui: &mut egui::Ui, cards: Vec<Card>) -> Option<Target> {
    let spacing = ui.spacing().item_spacing.x;
    let outer = CARD_WIDTH + 2.0 * 12.0 + 2.0 + spacing;
    let per_row = ((ui.available_width() + spacing) / outer).floor().max(1.0) as usize;
    let mut clicked = None;
    let mut cards = cards.into_iter().peekable();
    while cards.peek().is_some() {
        ui.horizontal(|ui| {
            for card in cards.by_ref().take(per_row) {
                if card_ui(ui, &card.title, &card.value, &card.detail) {
                    clicked = Some(card.target);
                }
            }
        });
    }
    clicked
}

/// A card: a title, a large value and a line under it; the whole card is one button whose
/// name a screen reader hears is "title: value".
fn card_ui(ui: &mut egui::Ui, title: &str, value: &str, detail: &str) -> bool {
    let frame = egui::Frame::group(ui.style())
        .inner_margin(12)
        .show(ui, |ui| {
            // The card is one button: its texts must not take the click for text selection.
            ui.style_mut().interaction.selectable_labels = false;
            ui.set_width(CARD_WIDTH);
            ui.vertical(|ui| {
                ui.label(RichText::new(title).weak());
                ui.label(RichText::new(value).size(22.0).strong());
                ui.add(egui::Label::new(RichText::new(detail).small()).truncate());
            });
        });
    let response = ui.interact(
        frame.response.rect,
        ui.make_persistent_id(("dashboard_card", title)),
        egui::Sense::click(),
    );
    let name = format!("{title}: {value}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
    if response.hovered() || response.has_focus() {
        ui.painter().rect_stroke(
            frame.response.rect,
            6.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Inside,
        );
    }
    response
        .on_hover_cursor(egui::CursorIcon::PointingHand)
        .clicked()
}

/// Tick labels at whole positions only (bars stand at 0, 1, 2, …).
fn label_at(labels: &[String], mark: GridMark) -> String {
    let index = mark.value.round();
    if (mark.value - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    labels.get(index as usize).cloned().unwrap_or_default()
}

fn whole_marks(count: usize) -> impl Fn(egui_plot::GridInput) -> Vec<GridMark> {
    move |_| {
        (0..count)
            .map(|i| GridMark {
                value: i as f64,
                step_size: 1.0,
            })
            .collect()
    }
}

/// Revenue by month in the currency with the most of it; the amounts are integer sums, and
/// the bars' heights (plot geometry, f64) only draw them.
fn revenue_chart(ui: &mut egui::Ui, summary: &DashboardSummary) {
    ui.label(RichText::new("Revenue by month (last 12 months)").strong());
    let months = summary.months();
    let mut currencies: Vec<_> = summary
        .revenue
        .iter()
        .map(|r| r.amount.currency())
        .collect();
    currencies.sort_by_key(|c| c.code());
    currencies.dedup();
    let Some(currency) = currencies.iter().copied().max_by_key(|c| {
        summary
            .revenue
            .iter()
            .filter(|r| r.amount.currency() == *c)
            .map(|r| r.amount.minor())
            .sum::<i64>()
    }) else {
        ui.label("No invoices in the last 12 months yet.");
        return;
    };
    let amounts: Vec<Money> = months
        .iter()
        .map(|m| {
            summary
                .revenue
                .iter()
                .find(|r| r.month == *m && r.amount.currency() == currency)
                .map_or(Money::zero(currency), |r| r.amount)
        })
        .collect();
    let bars: Vec<Bar> = amounts
        .iter()
        .zip(&months)
        .enumerate()
        .map(|(i, (amount, month))| {
            Bar::new(i as f64, amount.minor() as f64)
                .name(format!("{month}: {amount}"))
                .width(0.7)
        })
        .collect();
    // "2026-11" is shown as "Nov" under its bar (the table below has the years).
    let labels: Vec<String> = (0..months.len())
        .filter_map(|i| {
            let day = summary
                .revenue_from
                .checked_add_months(chrono::Months::new(u32::try_from(i).ok()?))?;
            Some(day.format("%b").to_string())
        })
        .collect();
    let per_major = currency.minor_per_major() as f64;
    let response = Plot::new("revenue_by_month")
        .height(200.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .sense(egui::Sense::hover())
        .show_x(false)
        .show_y(false)
        .include_y(0.0)
        .x_grid_spacer(whole_marks(months.len()))
        .custom_x_axes(vec![
            AxisHints::new_x()
                .label_spacing(24.0..=30.0)
                .formatter(move |mark, _| label_at(&labels, mark)),
        ])
        .y_axis_label(currency.code())
        .y_axis_formatter(move |mark, _| format!("{:.0}", mark.value / per_major))
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new("Revenue", bars).color(egui::Color32::from_rgb(0x3a, 0x7b, 0xd5)),
            );
        });
    let name = format!("Revenue by month chart, {}", currency.code());
    response
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
    let others: Vec<&str> = currencies
        .iter()
        .filter(|c| **c != currency)
        .map(|c| c.code())
        .collect();
    if !others.is_empty() {
        ui.label(format!(
            "Shown in {}; invoices in {} too (see the table).",
            currency.code(),
            others.join(", ")
        ));
    }
    egui::CollapsingHeader::new("Revenue by month as a table")
        .id_salt("revenue_table")
        .show(ui, |ui| {
            egui::Grid::new("revenue_rows")
                .striped(true)
                .show(ui, |ui| {
                    for r in &summary.revenue {
                        ui.label(&r.month);
                        ui.label(r.amount.to_string());
                        ui.end_row();
                    }
                });
        });
}

fn capacity_chart(ui: &mut egui::Ui, summary: &DashboardSummary) {
    ui.label(RichText::new("Capacity assigned by account (TB)").strong());
    if summary.capacity_by_account.is_empty() {
        ui.label("No capacity assigned to arrays yet.");
        return;
    }
    let names: Vec<String> = summary
        .capacity_by_account
        .iter()
        .map(|(name, _)| name.chars().take(14).collect())
        .collect();
    let bars: Vec<Bar> = summary
        .capacity_by_account
        .iter()
        .enumerate()
        .map(|(i, (name, tb))| {
            Bar::new(i as f64, *tb as f64)
                .name(format!("{name}: {tb} TB"))
                .width(0.6)
        })
        .collect();
    let response = Plot::new("capacity_by_account")
        .height(200.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .sense(egui::Sense::hover())
        .show_x(false)
        .show_y(false)
        .include_y(0.0)
        .x_grid_spacer(whole_marks(names.len()))
        .custom_x_axes(vec![
            AxisHints::new_x()
                .label_spacing(24.0..=30.0)
                .formatter(move |mark, _| label_at(&names, mark)),
        ])
        .y_axis_label("TB")
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new("Capacity", bars).color(egui::Color32::from_rgb(0x2e, 0x9e, 0x6a)),
            );
        });
    response.response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            "Capacity assigned by account chart",
        )
    });
    egui::CollapsingHeader::new("Capacity by account as a table")
        .id_salt("capacity_table")
        .show(ui, |ui| {
            egui::Grid::new("capacity_rows")
                .striped(true)
                .show(ui, |ui| {
                    for (name, tb) in &summary.capacity_by_account {
                        ui.label(name);
                        ui.label(format!("{tb} TB"));
                        ui.end_row();
                    }
                });
        });
}
