//! Renewals: the licenses due for renewal (soonest expiry first, read by the expiry index),
//! renewing one for a chosen number of periods with the cost per period shown and the same
//! "Pay by" choices as an order, and auto-renewal per license (on/off and its period).

use super::pay_by::PayByState;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets;
use crate::app::{AppCtx, Page};
use crate::commerce::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, IdempotencyKey, LicenseId};
use crate::jobs::{Command, Event, RequestId};
use crate::services::commerce::{self, CommerceCommand, CommerceEvent, RenewalPreview};
use crate::store::renewals::{DueRow, RenewalSettingRecord};
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

struct Due {
    account: Option<AccountId>,
    until: i64,
}

impl RowSource for Due {
    type Row = DueRow;
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&DueRow>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<DueRow>> {
        let after = after.map(|r| (r.license.expires_at.unwrap_or(i64::MIN), r.license.seq));
        store::renewals::due(db, self.account, self.until, after, offset, limit)
    }
    fn count(&self, db: &Connection, cap: u64) -> StoreResult<u64> {
        store::renewals::due_count(db, self.account, self.until, cap)
    }
}

/// The renewal priced for one period and for all of them.
type Previews = (RenewalPreview, RenewalPreview);

struct RenewForm {
    license_id: LicenseId,
    term: Term,
    periods: String,
    preview: Option<(Term, u32, Result<Previews, String>)>,
    pay_by: PayByState,
    key: IdempotencyKey,
    auto_renew: bool,
    auto_term: Term,
}

/// The Renewals tab of Purchase.
pub struct RenewalsView {
    days: String,
    list: Option<(Option<AccountId>, i64, Paged<Due>)>,
    form: Option<RenewForm>,
    sent: Option<RequestId>,
    notice: Option<String>,
}

impl Default for RenewalsView {
    fn default() -> Self {
        Self {
            days: "60".into(),
            list: None,
            form: None,
            sent: None,
            notice: None,
        }
    }
}

impl RenewalsView {
    /// Opens the renewal form of `license_id`, as if it had been chosen in the due list.
    pub fn open(&mut self, license_id: LicenseId) {
        self.form = Some(RenewForm {
            license_id,
            term: Term::Annual,
            periods: "1".into(),
            preview: None,
            pay_by: PayByState::default(),
            key: IdempotencyKey::new(),
            auto_renew: false,
            auto_term: Term::Annual,
        });
        self.notice = None;
    }

    pub fn on_event(&mut self, event: &Event) {
        let Event::Commerce(event) = event else {
            return;
        };
        match event {
            CommerceEvent::Renewed { renewal, .. } => {
                self.list = None;
                self.form = None;
                self.sent = None;
                self.notice = Some(format!(
                    "Renewed: license {} replaces {} ({}, charged to {}).",
                    renewal.new_license_id,
                    renewal.old_license_id,
                    renewal.total,
                    renewal.reference
                ));
            }
            CommerceEvent::RenewalSettingSaved(_) => self.list = None,
            CommerceEvent::WalletChanged { .. } | CommerceEvent::OrderPlaced { .. } => {
                if let Some(form) = &mut self.form {
                    form.pay_by.refresh();
                }
            }
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.sent == Some(request) {
            self.sent = None;
            self.notice = Some(format!("Not renewed: {message}"));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let account = cx.current_account.as_ref().map(|a| a.id);
        ui.label(match cx.current_account.as_ref() {
            Some(a) => format!("Licenses of {} due for renewal", a.name),
            None => "Licenses of every account due for renewal".into(),
        });
        let mut problems = FieldErrors::default();
        let days = match self.days.trim().parse::<i64>() {
            Ok(d) if (0..=3650).contains(&d) => d,
            _ => {
                problems.push("Due within (days)", "must be a whole number from 0 to 3650");
                60
            }
        };
        widgets::text_field(
            ui,
            "Due within (days)",
            &mut self.days,
            problems.get("Due within (days)"),
        );
        let until = cx.clock.now().timestamp() + days * 86_400;
        if self
            .list
            .as_ref()
            .is_none_or(|(a, u, _)| *a != account || *u != until)
        {
            self.list = Some((account, until, Paged::new(Due { account, until })));
        }
        if let Some(notice) = &self.notice {
            ui.label(egui::RichText::new(notice).strong());
        }
        let Some((_, _, list)) = &mut self.list else {
            return;
        };
        let total = list.total(cx.db);
        let mut chosen = None;
        if total == 0 {
            ui.label(format!("No license expires within {days} days."));
        } else {
            ui.label(format!("{total} license(s) due"));
            let row_height = ui.spacing().interact_size.y;
            let selected = self.form.as_ref().map(|f| f.license_id);
            TableBuilder::new(ui)
                .id_salt("due_renewals")
                .striped(true)
                .column(Column::exact(110.0))
                .column(Column::remainder().at_least(160.0).clip(true))
                .column(Column::exact(120.0))
                .column(Column::exact(130.0))
                .min_scrolled_height(120.0)
                .max_scroll_height(240.0)
                .header(row_height, |mut h| {
                    for title in ["License", "Customer", "Expires", "Auto-renewal"] {
                        h.col(|ui| {
                            ui.strong(title);
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, total as usize, |mut row| {
                        let Some(due) = list.get(cx.db, row.index() as u64).cloned() else {
                            row.col(|ui| {
                                ui.label("…");
                            });
                            return;
                        };
                        let l = &due.license;
                        row.col(|ui| {
                            if ui
                                .selectable_label(
                                    selected == Some(l.license_id),
                                    format!("Renew {}", tail(&l.license_id.0)),
                                )
                                .clicked()
                            {
                                chosen = Some(due.clone());
                            }
                        });
                        row.col(|ui| {
                            ui.label(format!("{} — {} {}", l.customer, l.kind, l.product));
                        });
                        row.col(|ui| {
                            ui.label(
                                l.expires_at
                                    .map(crate::domain::time::date)
                                    .unwrap_or_default(),
                            );
                        });
                        row.col(|ui| match &due.setting {
                            Some(s) if s.auto_renew => {
                                widgets::chip(
                                    ui,
                                    &format!("Auto: {}", s.term.label()),
                                    widgets::Tone::Good,
                                );
                            }
                            _ => {
                                widgets::chip(ui, "Manual", widgets::Tone::Neutral);
                            }
                        });
                    });
                });
        }
        if let Some(due) = chosen {
            self.form = Some(RenewForm {
                license_id: due.license.license_id,
                term: due.setting.as_ref().map_or(Term::Annual, |s| s.term),
                periods: "1".into(),
                preview: None,
                pay_by: PayByState::default(),
                key: IdempotencyKey::new(),
                auto_renew: due.setting.as_ref().is_some_and(|s| s.auto_renew),
                auto_term: due.setting.as_ref().map_or(Term::Annual, |s| s.term),
            });
            self.notice = None;
        }
        self.form_ui(ui, cx);
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(form) = &mut self.form else { return };
        ui.separator();
        ui.heading(format!("Renew license {}", form.license_id));
        widgets::field_with(ui, "Renewal period", None, |ui| {
            ui.horizontal(|ui| {
                for term in Term::ALL {
                    ui.radio_value(&mut form.term, term, term.label());
                }
            })
            .response
        });
        let mut problems = FieldErrors::default();
        let periods = match form.periods.trim().parse::<u32>() {
            Ok(n) if (1..=10).contains(&n) => n,
            _ => {
                problems.push("Periods", "must be a whole number from 1 to 10");
                1
            }
        };
        widgets::text_field(ui, "Periods", &mut form.periods, problems.get("Periods"));
        let now = cx.clock.now().timestamp();
        if form
            .preview
            .as_ref()
            .is_none_or(|(t, n, _)| *t != form.term || *n != periods)
        {
            let one = commerce::preview_renewal(cx.db, form.license_id, form.term, 1, now);
            let all = commerce::preview_renewal(cx.db, form.license_id, form.term, periods, now);
            form.preview = Some((
                form.term,
                periods,
                one.and_then(|one| all.map(|all| (one, all)))
                    .map_err(|e| e.to_string()),
            ));
        }
        let Some((_, _, preview)) = &form.preview else {
            return;
        };
        let (one, all) = match preview {
            Ok(p) => p.clone(),
            Err(message) => {
                widgets::error_text(ui, message);
                return;
            }
        };
        ui.label(format!(
            "Cost per period ({}): {}",
            form.term.label(),
            one.document.totals.total
        ));
        ui.label(format!(
            "Renewal for {periods} period(s): {} — the new license expires {}",
            all.document.totals.total,
            crate::domain::time::date(all.new_expires_at)
        ));
        ui.label(egui::RichText::new(all.document.treatment.explanation()).italics());
        let mut blocked = form
            .pay_by
            .ui(ui, cx, all.account_id, all.document.totals.total);
        if cx.unlocked_keys.is_empty() {
            blocked.push(
                "Signing key",
                "renewing signs a new license: unlock the active key first",
            );
            if ui.button("Unlock the key under Signing keys").clicked() {
                *cx.navigate = Some(Page::SigningKeys);
            }
        }
        for p in problems.iter() {
            blocked.push(p.field, p.message.clone());
        }
        if widgets::submit_button(ui, "Renew license", &blocked) {
            self.sent = Some(cx.send(Command::Commerce(CommerceCommand::Renew {
                license_id: form.license_id,
                term: form.term,
                terms: periods,
                pay_by: form.pay_by.pay_by(),
                confirmed_total: all.document.totals.total,
                key: form.key,
            })));
        }
        ui.separator();
        ui.checkbox(&mut form.auto_renew, "Renew automatically");
        widgets::field_with(ui, "Auto-renewal period", None, |ui| {
            ui.horizontal(|ui| {
                for term in Term::ALL {
                    ui.radio_value(&mut form.auto_term, term, format!("Auto {}", term.label()));
                }
            })
            .response
        });
        if ui.button("Save auto-renewal").clicked() {
            cx.send(Command::Commerce(CommerceCommand::SaveRenewalSetting(
                RenewalSettingRecord {
                    license_id: form.license_id,
                    auto_renew: form.auto_renew,
                    term: form.auto_term,
                },
            )));
        }
    }
}

/// The last eight hex digits of an id: ids made in the same minute share their first ones
/// (UUIDv7 starts with the time), so lists name them by the end.
pub(crate) fn tail(id: &uuid::Uuid) -> String {
    let text = id.simple().to_string();
    text[text.len() - 8..].to_string()
}
