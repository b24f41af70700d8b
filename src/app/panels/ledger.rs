//! Ledger: the hash-chained log of every license issued or revoked, newest first, with a
//! chain check and CSV export (both on the worker, with progress).

use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::jobs::{Command, Event};
use crate::store::ledger::{self, ChainReport, LedgerRow};

const PAGE: usize = 50;

/// View state: the page on screen and the last chain check.
#[derive(Default)]
pub struct LedgerPanel {
    rows: Option<Vec<LedgerRow>>,
    /// Keyset cursors of the pages before this one (for "Newer").
    cursors: Vec<Option<i64>>,
    cursor: Option<i64>,
    report: Option<ChainReport>,
    total: i64,
}

impl LedgerPanel {
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::LedgerVerified(report) => self.report = Some(report.clone()),
            Event::LicenseIssued(_) => {
                self.rows = None;
                self.report = None;
            }
            _ => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Ledger");
        ui.label("Every license issued or revoked is appended here; each entry carries the hash of the one before it, so an edited or deleted entry breaks the chain. Keep a signed checkpoint outside this machine to notice entries cut off the end.");
        ui.add_space(6.0);
        if self.rows.is_none() {
            let total = ledger::count(cx.db);
            self.total = cx.or_toast(total, 0);
            let page = ledger::page(cx.db, self.cursor, PAGE);
            self.rows = Some(cx.or_toast(page, Vec::new()));
        }
        ui.horizontal(|ui| {
            if ui.button("Verify chain").clicked() {
                self.report = None;
                cx.send(Command::VerifyLedger { checkpoint: None });
            }
            if ui.button("Verify against checkpoint…").clicked()
                && let Some(path) = cx.dialogs.open_file(
                    "Open signed checkpoint",
                    "Ledger checkpoint",
                    &["ldcp", "txt"],
                )
            {
                self.report = None;
                cx.send(Command::VerifyLedger {
                    checkpoint: Some(path),
                });
            }
            if ui.button("Save signed checkpoint…").clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Save signed checkpoint", "ledger.ldcp")
            {
                cx.send(Command::SaveCheckpoint { path });
            }
            if ui.button("Export CSV…").clicked()
                && let Some(path) = cx.dialogs.save_file("Export ledger", "ledger.csv")
            {
                cx.send(Command::ExportLedger { path });
            }
            if ui.button("Refresh").clicked() {
                self.rows = None;
            }
            match &self.report {
                Some(ChainReport::Intact { entries, head }) => {
                    widgets::chip(ui, &format!("Chain intact: {entries} entries"), Tone::Good);
                    ui.monospace(format!("head {}", &head[..16.min(head.len())]));
                }
                Some(ChainReport::Broken { seq, reason }) => {
                    widgets::chip(
                        ui,
                        &format!("Chain broken at entry {seq}: {reason}"),
                        Tone::Bad,
                    );
                }
                None => {}
            }
        });
        let rows = self.rows.clone().unwrap_or_default();
        if rows.is_empty() {
            ui.label("No entries yet — licenses you issue appear here.");
            return;
        }
        let first = rows.first().map(|r| r.seq).unwrap_or(0);
        let last = rows.last().map(|r| r.seq).unwrap_or(0);
        ui.label(format!("Entries {last}–{first} of {}", self.total));
        egui::Grid::new("ledger_rows")
            .striped(true)
            .num_columns(6)
            .show(ui, |ui| {
                for title in [
                    "Seq",
                    "Time (UTC)",
                    "Action",
                    "License",
                    "Operator",
                    "Entry hash",
                ] {
                    ui.strong(title);
                }
                ui.end_row();
                for row in &rows {
                    ui.label(row.seq.to_string());
                    ui.label(
                        chrono::DateTime::from_timestamp(row.recorded_at, 0)
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default(),
                    );
                    ui.label(&row.action);
                    ui.monospace(&row.license_id);
                    ui.label(&row.operator);
                    ui.monospace(&row.entry_hash[..16.min(row.entry_hash.len())]);
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.cursors.is_empty(), egui::Button::new("Newer"))
                .clicked()
            {
                self.cursor = self.cursors.pop().flatten();
                self.rows = None;
            }
            if ui
                .add_enabled(last > 1, egui::Button::new("Older"))
                .clicked()
            {
                self.cursors.push(self.cursor);
                self.cursor = Some(last);
                self.rows = None;
            }
        });
    }
}
