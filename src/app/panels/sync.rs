//! Sync: where this desk stands with its portal (which portal, when it last pushed and
//! pulled, how many changes wait to go), the changes the portal refused, and the pulled changes
//! that wait: conflicts (this desk's version beside the other desk's, with "Keep this desk's
//! version" / "Keep the other desk's version"), changes this desk refused, and changes it does
//! not apply yet. A round runs from the command line (`license-desk sync`).

use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::domain::ids::ChangeId;
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::store::outbox::ParkedRow;
use crate::store::sync::{InboxRow, InboxState, LastSync};
use crate::store::{self, StoreResult};
use crate::sync::resolve::Keep;
use egui::RichText;

/// At most this many pulled changes are listed (the rest are counted).
const LISTED: usize = 200;

/// What the panel shows, read from the database.
struct View {
    last: LastSync,
    pending: i64,
    parked: Vec<ParkedRow>,
    open: Vec<InboxRow>,
}

fn read(db: &rusqlite::Connection) -> StoreResult<View> {
    let mut open = store::sync::open_items(db)?;
    open.truncate(LISTED);
    Ok(View {
        last: store::sync::last_sync(db)?,
        pending: store::outbox::pending_count(db)?,
        parked: store::outbox::parked(db)?,
        open,
    })
}

/// The Sync panel.
#[derive(Default)]
pub struct SyncPanel {
    /// A conflict being settled, and its request.
    settling: Option<(RequestId, ChangeId)>,
}

impl SyncPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        if matches!(event, Event::ConflictResolved { .. })
            && self.settling.is_some_and(|(sent, _)| sent == request)
        {
            self.settling = None;
        }
    }

    /// The request failed: the conflict stays, with the toast saying why.
    pub fn on_failed(&mut self, request: RequestId) {
        if self.settling.is_some_and(|(sent, _)| sent == request) {
            self.settling = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Sync");
        let view = match read(cx.db) {
            Ok(view) => view,
            Err(e) => {
                widgets::error_text(ui, &format!("Could not read the sync state: {e}"));
                return;
            }
        };
        status_ui(ui, &view);
        ui.separator();
        parked_ui(ui, &view.parked);
        ui.separator();
        self.inbox_ui(ui, cx, &view.open);
    }

    fn inbox_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, open: &[InboxRow]) {
        let count = |state| open.iter().filter(|i| i.state == state).count();
        ui.label(RichText::new("Pulled from other desks").strong());
        ui.label(format!(
            "{} conflicts, {} refused here, {} waiting for this desk to apply them",
            count(InboxState::Conflict),
            count(InboxState::Refused),
            count(InboxState::Waiting)
        ));
        for item in open.iter().filter(|i| i.state != InboxState::Waiting) {
            let c = &item.change;
            ui.push_id(c.change_id.to_string(), |ui| {
                ui.group(|ui| {
                    ui.horizontal(|ui| {
                        let (word, tone) = match item.state {
                            InboxState::Conflict => ("Conflict", Tone::Warning),
                            _ => ("Refused here", Tone::Bad),
                        };
                        widgets::chip(ui, word, tone);
                        ui.label(format!("{} {}", c.entity, c.entity_id));
                    });
                    if !item.note.is_empty() {
                        ui.label(&item.note);
                    }
                    ui.label(format!("Other desk's version: {} {}", c.op, c.body));
                    if let Some(local) = &item.local {
                        ui.label(format!("This desk's version: {} {}", local.op, local.body));
                    }
                    if item.state == InboxState::Conflict {
                        let busy = self.settling.is_some();
                        ui.horizontal(|ui| {
                            for (keep, text) in [
                                (Keep::Mine, "Keep this desk's version"),
                                (Keep::Theirs, "Keep the other desk's version"),
                            ] {
                                if ui.add_enabled(!busy, egui::Button::new(text)).clicked() {
                                    let request = cx.send(Command::ResolveConflict {
                                        change_id: c.change_id,
                                        keep,
                                    });
                                    self.settling = Some((request, c.change_id));
                                }
                            }
                        });
                    }
                });
            });
        }
    }
}

fn status_ui(ui: &mut egui::Ui, view: &View) {
    let when = |at: Option<i64>| at.map_or_else(|| "never".to_string(), time::date_time);
    match &view.last.portal_url {
        Some(url) => {
            ui.label(format!("Portal: {url}"));
            ui.label(format!(
                "Last pull: {} — last push: {}",
                when(view.last.pulled_at),
                when(view.last.pushed_at)
            ));
        }
        None => {
            ui.label("This desk has not synced: it works entirely on its own (sync is optional).");
        }
    }
    ui.label(format!(
        "Changes waiting to go to the portal: {}",
        view.pending
    ));
    ui.label(
        RichText::new(
            "A round runs from the command line: license-desk sync --portal URL --token-file FILE",
        )
        .weak(),
    );
}

fn parked_ui(ui: &mut egui::Ui, parked: &[ParkedRow]) {
    ui.label(RichText::new("Refused by the portal").strong());
    if parked.is_empty() {
        ui.label("None: every change sent was taken.");
        return;
    }
    for p in parked {
        ui.horizontal_wrapped(|ui| {
            widgets::chip(ui, &p.code, Tone::Bad);
            ui.label(format!(
                "{} {}: {}",
                p.row.entity, p.row.entity_id, p.reason
            ));
        });
    }
}
