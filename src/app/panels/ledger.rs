//! Ledger: the hash-chained log of every license issued or revoked, newest first (a list of any
//! length), with a check of the chain and everything it records, a check against a signed
//! checkpoint kept off this machine (with its public key), and CSV export. Checks and export
//! run on the worker, with progress and Cancel.

use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Tone};
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::licensing::{CheckpointCheck, LicensingCommand, LicensingEvent};
use crate::store::StoreResult;
use crate::store::ledger::{self, ChainReport, LedgerRow};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

/// The ledger's rows, newest first.
struct Entries;

impl RowSource for Entries {
    type Row = LedgerRow;

    fn fetch(
        &self,
        db: &Connection,
        after: Option<&LedgerRow>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<LedgerRow>> {
        ledger::page(db, after.map(|r| r.seq), offset, limit)
    }

    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        ledger::count(db)
    }
}

/// The "Verify against checkpoint" form.
#[derive(Default)]
struct CheckpointForm {
    checkpoint: String,
    public_key: String,
}

/// View state: the entries and the last check.
pub struct LedgerPanel {
    list: Paged<Entries>,
    report: Option<ChainReport>,
    checking: Option<RequestId>,
    checkpoint: Option<CheckpointForm>,
}

impl Default for LedgerPanel {
    fn default() -> Self {
        Self {
            list: Paged::new(Entries),
            report: None,
            checking: None,
            checkpoint: None,
        }
    }
}

impl LedgerPanel {
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Licensing(LicensingEvent::LedgerVerified(report)) => {
                self.report = Some(report.clone());
                self.checking = None;
            }
            Event::Licensing(
                LicensingEvent::Issued(_)
                | LicensingEvent::Revoked { .. }
                | LicensingEvent::StatusChanged { .. },
            ) => {
                self.list.invalidate();
                self.report = None;
            }
            _ => {}
        }
    }

    /// A check that failed (an unreadable checkpoint, say) is no longer running.
    pub fn on_failed(&mut self, request: RequestId) {
        if self.checking == Some(request) {
            self.checking = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Ledger");
        ui.label("Every license issued or revoked is appended here; each entry carries the hash of the one before it and of what it records, so an edited or deleted entry, license or revocation breaks the chain. Keep a signed checkpoint and its public key off this machine to notice entries cut off the end.");
        ui.add_space(6.0);
        self.actions_ui(ui, cx);
        self.checkpoint_ui(ui, cx);
        self.report_ui(ui);
        ui.add_space(6.0);
        self.table_ui(ui, cx);
    }

    fn actions_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.horizontal_wrapped(|ui| {
            let idle = self.checking.is_none();
            if ui
                .add_enabled(idle, egui::Button::new("Verify chain"))
                .clicked()
            {
                self.report = None;
                self.checking = Some(cx.send(Command::Licensing(LicensingCommand::VerifyLedger {
                    checkpoint: None,
                })));
            }
            if ui.button("Verify against checkpoint…").clicked() {
                self.checkpoint.get_or_insert_with(CheckpointForm::default);
            }
            if ui.button("Save signed checkpoint…").clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Save signed checkpoint", "ledger.ldcp")
            {
                cx.send(Command::Licensing(LicensingCommand::SaveCheckpoint {
                    path,
                }));
            }
            if ui.button("Export CSV…").clicked()
                && let Some(path) = cx.dialogs.save_file("Export ledger", "ledger.csv")
            {
                cx.send(Command::Licensing(LicensingCommand::ExportLedger { path }));
            }
            if ui.button("Refresh").clicked() {
                self.list.invalidate();
            }
        });
    }

    fn checkpoint_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(form) = &mut self.checkpoint else {
            return;
        };
        let checking = &mut self.checking;
        let report = &mut self.report;
        let close = ui.group(|ui| {
            ui.label("Check the ledger against a signed checkpoint, with the public key you kept with it (a key stored in this database proves nothing to whoever can change it).");
            ui.horizontal(|ui| {
                if ui.button("Choose checkpoint file…").clicked()
                    && let Some(path) = cx.dialogs.open_file(
                        "Open signed checkpoint",
                        "Ledger checkpoint",
                        &["ldcp", "txt"],
                    )
                {
                    form.checkpoint = path.display().to_string();
                }
                if ui.button("Choose public key file…").clicked()
                    && let Some(path) =
                        cx.dialogs
                            .open_file("Open public key", "Public key", &["pem", "b64", "pub", "txt"])
                {
                    form.public_key = path.display().to_string();
                }
            });
            widgets::text_field(ui, "Checkpoint file", &mut form.checkpoint, None);
            widgets::text_field(
                ui,
                "Public key (file or base64)",
                &mut form.public_key,
                None,
            );
            let ready = !form.checkpoint.trim().is_empty() && !form.public_key.trim().is_empty();
            let mut close = false;
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(
                        ready && checking.is_none(),
                        egui::Button::new("Verify against checkpoint"),
                    )
                    .clicked()
                {
                    *report = None;
                    *checking = Some(cx.send(Command::Licensing(
                        LicensingCommand::VerifyLedger {
                            checkpoint: Some(CheckpointCheck {
                                checkpoint: form.checkpoint.trim().into(),
                                public_key: form.public_key.trim().to_string(),
                            }),
                        },
                    )));
                }
                close = ui.button("Close").clicked() || widgets::escape_pressed(ui);
            });
            close
        });
        if close.inner {
            self.checkpoint = None;
        }
    }

    fn report_ui(&self, ui: &mut egui::Ui) {
        if self.checking.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking the ledger…");
            });
        }
        match &self.report {
            Some(ChainReport::Intact { entries, head }) => {
                ui.horizontal(|ui| {
                    widgets::chip(ui, &format!("Chain intact: {entries} entries"), Tone::Good);
                    ui.monospace(format!("head {}", short_hash(head)));
                });
            }
            Some(ChainReport::Broken { at, reason }) => {
                let text = match at {
                    Some(seq) => format!("Chain broken at entry {seq}: {reason}"),
                    None => format!("Chain broken: {reason}"),
                };
                widgets::chip(ui, &text, Tone::Bad);
            }
            None => {}
        }
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let total = self.list.total(cx.db);
        if let Some(error) = self.list.error() {
            widgets::error_text(ui, &format!("Could not read the ledger: {error}"));
        }
        if total == 0 {
            ui.label("No entries yet — licenses you issue appear here.");
            return;
        }
        ui.label(format!("{total} entries, newest first"));
        let row_height = ui.spacing().interact_size.y;
        TableBuilder::new(ui)
            .id_salt("ledger_table")
            .striped(true)
            .column(Column::exact(70.0))
            .column(Column::exact(130.0))
            .column(Column::exact(130.0))
            .column(Column::exact(300.0))
            .column(Column::initial(120.0).clip(true))
            .column(Column::remainder().clip(true))
            .max_scroll_height(f32::INFINITY)
            .header(row_height, |mut header| {
                for title in ["Seq", "Time", "Action", "License", "Operator", "Entry hash"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(entry) = self.list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        ui.label(entry.seq.to_string());
                    });
                    row.col(|ui| {
                        ui.label(time::date_time(entry.recorded_at));
                    });
                    row.col(|ui| {
                        ui.label(action_text(&entry));
                    });
                    row.col(|ui| {
                        ui.monospace(entry.license_id.to_string());
                    });
                    row.col(|ui| {
                        ui.label(&entry.operator);
                    });
                    row.col(|ui| {
                        ui.monospace(short_hash(&entry.entry_hash));
                    });
                });
            });
    }
}

/// What an entry records, as read in the list: a status entry names the state it moved to
/// ("status: suspended"), so a suspension and the enabling after it are told apart.
fn action_text(entry: &crate::store::ledger::LedgerRow) -> String {
    match (entry.action.as_str(), &entry.status) {
        ("status", Some(status)) => format!("status: {status}"),
        (action, _) => action.to_string(),
    }
}

/// The first 16 hex digits of a hash, for a column.
fn short_hash(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..8])
}
