//! Sync: where this desk stands with its portal (which portal, when it last pushed and
//! pulled, how many changes wait to go), the changes the portal refused, and the pulled changes
//! that wait: conflicts (this desk's version beside the other desk's, with "Keep this desk's
//! version" / "Keep the other desk's version"), changes this desk refused, and changes it does
//! not apply yet. "Sync now" runs a round through the worker; Settings → Sync sets the
//! portal, the sealed device token and background sync.

use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::domain::ids::ChangeId;
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::sync::SyncCommand;
use crate::store::outbox::ParkedRow;
use crate::store::sync::{InboxRow, InboxState, LastSync};
use crate::store::{self, StoreResult};
use crate::sync::merge::FieldChoice;
use crate::sync::resolve::Keep;
use egui::RichText;

/// At most this many refused or conflicting changes are listed (the rest are counted).
const LISTED: usize = 200;
/// Counts stop here ("10000+"): a desk may hold a great many changes waiting.
const COUNT_CAP: u64 = 10_000;
/// The view is read again at most this often (seconds), and after each settled conflict.
const REFRESH: f64 = 1.0;

/// What the panel shows, read from the database.
struct View {
    last: LastSync,
    pending: u64,
    parked: Vec<ParkedRow>,
    parked_count: u64,
    for_staff: Vec<InboxRow>,
    conflicts: u64,
    refused: u64,
    waiting: u64,
    series: crate::commerce::numbering::Series,
    /// For each conflict of two versions of an entity's state: the fields they differ in.
    fields: std::collections::HashMap<ChangeId, Vec<FieldChoice>>,
}

fn read(db: &rusqlite::Connection) -> StoreResult<View> {
    let count = |state| store::sync::count(db, state, COUNT_CAP);
    let for_staff = store::sync::for_staff(db, LISTED)?;
    let fields = for_staff
        .iter()
        .filter(|item| item.state == InboxState::Conflict && item.change.op == "upsert")
        .filter_map(|item| {
            let local = item.local.as_ref().filter(|l| l.op == "upsert")?;
            let fields = crate::sync::merge::differing(&local.body, &item.change.body).ok()?;
            Some((item.change.change_id, fields))
        })
        .collect();
    Ok(View {
        last: store::sync::last_sync(db)?,
        pending: store::outbox::pending_count_capped(db, COUNT_CAP)?,
        parked: store::outbox::parked(db, LISTED)?,
        parked_count: store::outbox::parked_count(db, COUNT_CAP)?,
        for_staff,
        fields,
        conflicts: count(InboxState::Conflict)?,
        refused: count(InboxState::Refused)?,
        waiting: count(InboxState::Waiting)?,
        series: store::desk::series(db)?,
    })
}

/// A count as shown: "10000+" at the cap.
fn shown(count: u64) -> String {
    if count >= COUNT_CAP {
        format!("{COUNT_CAP}+")
    } else {
        count.to_string()
    }
}

/// The "Sync now" button: one round with the saved portal, through the worker; disabled
/// while that round runs (the Sync panel and Settings → Sync each have one).
#[derive(Default)]
pub struct SyncNow {
    running: Option<RequestId>,
}

impl SyncNow {
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let why_not = if cx.settings.air_gapped {
            Some("Air-gapped mode is on: this desk never syncs.")
        } else if cx.settings.portal().is_empty() {
            Some("Save a portal URL in Settings first.")
        } else {
            None
        };
        ui.horizontal(|ui| {
            let ready = why_not.is_none() && self.running.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Sync now"))
                .clicked()
            {
                self.running = Some(cx.send(Command::Sync(SyncCommand::Round)));
            }
            if self.running.is_some() {
                ui.spinner();
                ui.label("Syncing…");
            } else if let Some(why) = why_not {
                ui.label(why);
            }
        });
    }

    /// The round ended (either way).
    pub fn on_ended(&mut self, request: RequestId) {
        self.running.take_if(|r| *r == request);
    }
}

/// The Sync panel.
#[derive(Default)]
pub struct SyncPanel {
    /// A conflict being settled, and its request.
    settling: Option<(RequestId, ChangeId)>,
    /// For each conflict being merged: the fields staff take from the other desk's version.
    from_theirs: std::collections::HashMap<ChangeId, std::collections::BTreeSet<String>>,
    /// The last view read and when (egui's clock, seconds).
    view: Option<(f64, View)>,
    sync_now: SyncNow,
}

impl SyncPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        self.sync_now.on_ended(request);
        if matches!(event, Event::ConflictResolved { .. } | Event::Sync(_)) {
            self.view = None;
            if self.settling.is_some_and(|(sent, _)| sent == request) {
                self.settling = None;
            }
        }
    }

    /// The request failed: the conflict stays, with the toast saying why.
    pub fn on_failed(&mut self, request: RequestId) {
        self.sync_now.on_ended(request);
        self.view = None;
        if self.settling.is_some_and(|(sent, _)| sent == request) {
            self.settling = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Sync");
        let now = ui.input(|i| i.time);
        if self.view.as_ref().is_none_or(|(at, _)| now - at >= REFRESH) {
            match read(cx.db) {
                Ok(view) => self.view = Some((now, view)),
                Err(e) => {
                    widgets::error_text(ui, &format!("Could not read the sync state: {e}"));
                    return;
                }
            }
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(REFRESH));
        // Taken for the frame (the panel sends commands while drawing it), then put back.
        let Some((now, view)) = self.view.take() else {
            return;
        };
        status_ui(ui, cx, &view);
        self.sync_now.ui(ui, cx);
        ui.separator();
        parked_ui(ui, cx, &view);
        ui.separator();
        self.inbox_ui(ui, cx, &view);
        self.view = Some((now, view));
    }

    fn inbox_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, view: &View) {
        ui.label(RichText::new("Pulled from other desks").strong());
        ui.label(format!(
            "{} conflicts, {} refused here, {} waiting for this desk to apply them",
            shown(view.conflicts),
            shown(view.refused),
            shown(view.waiting)
        ));
        for item in &view.for_staff {
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
                                    self.settle(cx, c.change_id, keep);
                                }
                            }
                        });
                        if let Some(fields) = view.fields.get(&c.change_id) {
                            self.merge_ui(ui, cx, c.change_id, fields, busy);
                        }
                    }
                });
            });
        }
    }
}

impl SyncPanel {
    fn settle(&mut self, cx: &mut AppCtx<'_>, change_id: ChangeId, keep: Keep) {
        let request = cx.send(Command::ResolveConflict { change_id, keep });
        self.settling = Some((request, change_id));
        self.from_theirs.remove(&change_id);
    }

    /// Field by field: for each field the versions differ in, which side's value to keep
    /// (this desk's unless chosen), then "Keep merged version".
    fn merge_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        change_id: ChangeId,
        fields: &[FieldChoice],
        busy: bool,
    ) {
        ui.collapsing("Merge field by field", |ui| {
            let chosen = self.from_theirs.entry(change_id).or_default();
            let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
            egui::Grid::new("merge").num_columns(3).show(ui, |ui| {
                for f in fields {
                    ui.label(&f.path);
                    let theirs = chosen.contains(&f.path);
                    if ui
                        .radio(!theirs, format!("This desk: {}", shown(&f.mine)))
                        .clicked()
                    {
                        chosen.remove(&f.path);
                    }
                    if ui
                        .radio(theirs, format!("Other desk: {}", shown(&f.theirs)))
                        .clicked()
                    {
                        chosen.insert(f.path.clone());
                    }
                    ui.end_row();
                }
            });
            let from_theirs: Vec<String> = chosen.iter().cloned().collect();
            if ui
                .add_enabled(
                    !busy && !from_theirs.is_empty(),
                    egui::Button::new("Keep merged version"),
                )
                .on_disabled_hover_text("Choose at least one field of the other desk's version")
                .clicked()
            {
                self.settle(cx, change_id, Keep::Merged { from_theirs });
            }
        });
    }
}

fn status_ui(ui: &mut egui::Ui, cx: &AppCtx<'_>, view: &View) {
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
    if let (Some(at), Some(error)) = (view.last.attempted_at, &view.last.error) {
        widgets::error_text(
            ui,
            &format!("Last round, {}, failed: {error}", time::date_time(at)),
        );
    }
    let s = cx.settings;
    ui.label(if s.air_gapped {
        "Background sync: never (air-gapped mode)".to_string()
    } else if s.sync_enabled {
        format!(
            "Background sync: on, every {} with {}",
            crate::domain::settings::every(s.sync_interval_minutes),
            s.portal()
        )
    } else {
        "Background sync: off (turn it on in Settings)".to_string()
    });
    ui.label(format!(
        "Changes waiting to go to the portal: {}",
        shown(view.pending)
    ));
    let first = crate::commerce::numbering::DocNumber {
        kind: crate::commerce::numbering::DocKind::Invoice,
        series: view.series,
        year: chrono::Datelike::year(&cx.clock.now()),
        seq: 1,
    };
    ui.label(if view.series.is_main() {
        format!("Document numbers: the main series ({first}, ...)")
    } else {
        format!(
            "Document numbers: this desk's own series {} ({first}, ...)",
            view.series
        )
    });
}

fn parked_ui(ui: &mut egui::Ui, cx: &AppCtx<'_>, view: &View) {
    ui.label(RichText::new("Refused by the portal").strong());
    if view.parked.is_empty() {
        ui.label("None: every change sent was taken.");
        return;
    }
    ui.label(format!(
        "{} changes (Retry offers one again with the next round)",
        shown(view.parked_count)
    ));
    for p in &view.parked {
        ui.push_id(p.row.change_id.to_string(), |ui| {
            ui.horizontal_wrapped(|ui| {
                widgets::chip(ui, &p.code, Tone::Bad);
                ui.label(format!(
                    "{} {}: {}",
                    p.row.sent_as(),
                    p.row.entity_id,
                    p.reason
                ));
                if ui.button("Retry").clicked() {
                    cx.send(Command::Sync(SyncCommand::RetryParked {
                        change_id: p.row.change_id,
                    }));
                }
            });
        });
    }
}
