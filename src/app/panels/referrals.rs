//! Referrals: the current account refers friends (a name and an email each; as many rows as
//! wanted with "+"), each invited by email; the list shows where each stands (invited, signed
//! up, became customer) and the reward credited to the account's wallet — once per friend.

use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Tone};
use crate::app::{AppCtx, Page};
use crate::domain::ids::AccountId;
use crate::domain::money::Money;
use crate::domain::referral::{self, FriendDraft, ReferralStatus};
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::referrals::{ReferralsCommand, ReferralsEvent};
use crate::store::referrals::ReferralRow;
use crate::store::{self, StoreResult};
use egui::RichText;
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

/// An account's referrals, newest first.
struct AccountReferrals(AccountId);

impl RowSource for AccountReferrals {
    type Row = ReferralRow;

    fn fetch(
        &self,
        db: &Connection,
        after: Option<&ReferralRow>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<ReferralRow>> {
        store::referrals::page(db, self.0, after.map(|r| r.seq), offset, limit)
    }

    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::referrals::count(db, self.0)
    }
}

/// View state of the Referrals panel.
pub struct ReferralsPanel {
    list: Option<Paged<AccountReferrals>>,
    friends: Vec<FriendDraft>,
    /// Rows whose fields were left once (their messages show from then on).
    touched: Vec<bool>,
    submit_attempted: bool,
    sent: Option<RequestId>,
    failure: Option<String>,
    notice: Option<String>,
    rewards: Option<Vec<Money>>,
}

impl Default for ReferralsPanel {
    fn default() -> Self {
        Self {
            list: None,
            friends: vec![FriendDraft::default()],
            touched: vec![false],
            submit_attempted: false,
            sent: None,
            failure: None,
            notice: None,
            rewards: None,
        }
    }
}

fn status_tone(status: ReferralStatus) -> Tone {
    match status {
        ReferralStatus::Invited => Tone::Neutral,
        ReferralStatus::SignedUp => Tone::Warning,
        ReferralStatus::Customer => Tone::Good,
    }
}

impl ReferralsPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        let Event::Referrals(e) = event else {
            if matches!(event, Event::Accounts(_)) {
                self.list = None;
            }
            return;
        };
        if let Some(list) = &mut self.list {
            list.invalidate();
        }
        self.rewards = None;
        match e {
            ReferralsEvent::Referred { referrals, .. } if self.sent == Some(request) => {
                self.sent = None;
                self.friends = vec![FriendDraft::default()];
                self.touched = vec![false];
                self.submit_attempted = false;
                self.failure = None;
                self.notice = Some(match referrals.as_slice() {
                    [one] => format!("{} invited ({}).", one.name, one.email),
                    many => format!("{} friends invited.", many.len()),
                });
            }
            ReferralsEvent::StatusSet {
                referral, rewarded, ..
            } => {
                self.notice = Some(match rewarded {
                    Some(reward) => format!(
                        "{} became a customer: {} (one free month) credited to the wallet.",
                        referral.name, reward.amount
                    ),
                    None => format!("{} is now '{}'.", referral.name, referral.status.label()),
                });
            }
            ReferralsEvent::Referred { .. } => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.sent == Some(request) {
            self.sent = None;
            self.failure = Some(format!("Not sent: {message}"));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.heading("Referrals");
            ui.label("Customers refer friends here; when a friend becomes a customer, the referring account's wallet gets one free month of the Pro license. Choose the referring account in the top bar, or create one.");
            if ui.button("Go to Accounts").clicked() {
                *cx.navigate = Some(Page::Accounts);
            }
            return;
        };
        if self
            .list
            .as_ref()
            .is_none_or(|l| l.source().0 != account.id)
        {
            self.list = Some(Paged::new(AccountReferrals(account.id)));
            self.rewards = None;
            self.notice = None;
            self.failure = None;
        }
        ui.heading(format!("Referrals of {}", account.name));
        ui.label(format!(
            "Refer friends of {0}: each gets an invitation by email. When a friend becomes a customer, the wallet of {0} is credited one free month of the Pro license — once per friend.",
            account.name
        ));
        if self.rewards.is_none() {
            let read = store::referrals::rewards_of(cx.db, account.id);
            self.rewards = Some(cx.or_toast(read, Vec::new()));
        }
        if let Some(rewards) = self.rewards.as_ref().filter(|r| !r.is_empty()) {
            let sums: Vec<String> = rewards.iter().map(Money::to_string).collect();
            ui.label(RichText::new(format!("Rewards credited: {}", sums.join(", "))).strong());
        }
        if let Some(notice) = &self.notice {
            ui.label(RichText::new(notice).italics());
        }
        ui.add_space(6.0);
        egui::ScrollArea::vertical()
            .id_salt("referrals")
            .show(ui, |ui| {
                self.form_ui(ui, cx, account.id);
                ui.separator();
                self.list_ui(ui, cx);
            });
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: AccountId) {
        ui.heading("Refer friends");
        self.touched.resize(self.friends.len(), false);
        let duplicates = referral::duplicate_rows(&self.friends);
        let mut blockers: Vec<String> = Vec::new();
        let mut remove = None;
        let rows = self.friends.len();
        for (i, friend) in self.friends.iter_mut().enumerate() {
            let n = i + 1;
            let mut errors = referral::validate_friend(friend);
            if duplicates.contains(&i) {
                errors.push("Email", "is already in the list above");
            }
            for e in errors.iter() {
                blockers.push(format!("Friend {n} {}", e.field.to_lowercase()));
            }
            let show = self.touched[i] || self.submit_attempted;
            let name_label = format!("Friend {n} name");
            let email_label = format!("Friend {n} email");
            let name_err = errors
                .get("Name")
                .filter(|_| show || !friend.name.is_empty());
            let name = widgets::text_field(ui, &name_label, &mut friend.name, name_err);
            let email_err = errors
                .get("Email")
                .filter(|_| show || friend.email.contains('@'));
            let email = widgets::text_field(ui, &email_label, &mut friend.email, email_err);
            if name.lost_focus() || email.lost_focus() {
                self.touched[i] = true;
            }
            if rows > 1 {
                widgets::in_field_column(ui, |ui| {
                    if ui.button(format!("Remove friend {n}")).clicked() {
                        remove = Some(i);
                    }
                });
            }
            ui.add_space(4.0);
        }
        if let Some(i) = remove {
            self.friends.remove(i);
            self.touched.remove(i);
        }
        let full = self.friends.len() >= referral::MAX_FRIENDS_AT_ONCE;
        widgets::in_field_column(ui, |ui| {
            if ui
                .add_enabled(!full, egui::Button::new("+ Add another friend"))
                .clicked()
            {
                self.friends.push(FriendDraft::default());
                self.touched.push(false);
            }
        });
        if let Some(failure) = &self.failure {
            widgets::error_text(ui, failure);
        }
        let enter = widgets::enter_pressed(ui);
        let clicked = ui
            .horizontal(|ui| {
                let clicked = ui
                    .add_enabled(
                        blockers.is_empty() && self.sent.is_none(),
                        egui::Button::new("Send invitations"),
                    )
                    .clicked();
                if !blockers.is_empty() {
                    ui.label(
                        RichText::new(format!("To continue, fix: {}", blockers.join(", ")))
                            .color(ui.visuals().weak_text_color()),
                    );
                }
                clicked
            })
            .inner;
        if enter && !blockers.is_empty() {
            self.submit_attempted = true;
        }
        if (clicked || enter) && blockers.is_empty() && self.sent.is_none() {
            self.failure = None;
            self.sent = Some(cx.send(Command::Referrals(ReferralsCommand::Refer {
                account_id: account,
                friends: self.friends.clone(),
            })));
        }
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(list) = &mut self.list else { return };
        let total = list.total(cx.db);
        if let Some(error) = list.error() {
            widgets::error_text(ui, &format!("Could not read referrals: {error}"));
        }
        if total == 0 {
            ui.label("No referrals yet — refer a first friend with the form above.");
            return;
        }
        ui.label(format!("{total} friends referred, newest first"));
        let row_height = ui.spacing().interact_size.y + 4.0;
        let mut set = None;
        TableBuilder::new(ui)
            .id_salt("referrals_table")
            .striped(true)
            .vscroll(false)
            .column(Column::initial(170.0).clip(true))
            .column(Column::initial(210.0).clip(true))
            .column(Column::exact(130.0))
            .column(Column::initial(200.0).clip(true))
            .column(Column::remainder().at_least(260.0))
            .header(row_height, |mut header| {
                for title in ["Friend", "Email", "Status", "Reward", "Set status"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(r) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    let friend = &r.referral;
                    row.col(|ui| {
                        ui.label(&friend.name);
                    });
                    row.col(|ui| {
                        ui.label(&friend.email);
                    });
                    row.col(|ui| {
                        widgets::chip(ui, friend.status.label(), status_tone(friend.status));
                    });
                    row.col(|ui| {
                        match &r.reward {
                            Some(reward) => ui.label(format!(
                                "{} credited {}",
                                reward.amount,
                                time::date(reward.at)
                            )),
                            None => ui.label("—"),
                        };
                    });
                    row.col(|ui| {
                        ui.horizontal(|ui| {
                            for (status, text, spoken) in [
                                (ReferralStatus::SignedUp, "Signed up", "signed up"),
                                (
                                    ReferralStatus::Customer,
                                    "Became customer",
                                    "became a customer",
                                ),
                            ] {
                                if friend.status < status {
                                    let name = format!("Mark {} as {spoken}", friend.name);
                                    let button = ui.button(text);
                                    button.widget_info(|| {
                                        egui::WidgetInfo::labeled(egui::Role::Button, true, &name)
                                    });
                                    if button.on_hover_text(&name).clicked() {
                                        set = Some((friend.id, status));
                                    }
                                }
                            }
                        });
                    });
                });
            });
        if let Some((id, status)) = set {
            cx.send(Command::Referrals(ReferralsCommand::SetStatus {
                id,
                status,
            }));
        }
    }
}
