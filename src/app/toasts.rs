//! Toasts: short confirmations and errors in the corner, gone after a few seconds.

use egui::{Align2, Color32, RichText};

const SHOW_SECONDS: f64 = 6.0;

#[derive(Debug, Clone)]
struct Toast {
    text: String,
    error: bool,
    shown_at: Option<f64>,
}

/// The queue of toasts on screen.
#[derive(Debug, Default)]
pub struct Toasts {
    items: Vec<Toast>,
}

impl Toasts {
    /// Shows a confirmation.
    pub fn success(&mut self, text: impl Into<String>) {
        self.items.push(Toast {
            text: text.into(),
            error: false,
            shown_at: None,
        });
    }

    /// Shows an error.
    pub fn error(&mut self, text: impl Into<String>) {
        self.items.push(Toast {
            text: text.into(),
            error: true,
            shown_at: None,
        });
    }

    /// Draws the toasts and drops expired ones.
    pub fn show(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        for toast in &mut self.items {
            toast.shown_at.get_or_insert(now);
        }
        self.items
            .retain(|t| now - t.shown_at.unwrap_or(now) < SHOW_SECONDS);
        if self.items.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::unique("toasts"))
            .anchor(Align2::RIGHT_BOTTOM, [-16.0, -40.0])
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                for toast in &self.items {
                    let (fill, icon) = if toast.error {
                        (
                            Color32::from_rgb(0x8a, 0x12, 0x12),
                            egui_material_icons::icons::ICON_ERROR,
                        )
                    } else {
                        (
                            Color32::from_rgb(0x14, 0x5a, 0x2a),
                            egui_material_icons::icons::ICON_CHECK_CIRCLE,
                        )
                    };
                    egui::Frame::new()
                        .fill(fill)
                        .corner_radius(6.0)
                        .inner_margin(10)
                        .show(ui, |ui| {
                            ui.set_max_width(380.0);
                            ui.horizontal(|ui| {
                                ui.add_space(22.0);
                                let text =
                                    ui.label(RichText::new(&toast.text).color(Color32::WHITE));
                                let pos = egui::pos2(
                                    text.rect.left() - 14.0,
                                    text.rect.top() + text.rect.height().min(20.0) / 2.0,
                                );
                                super::widgets::paint_icon(ui, icon, pos, 16.0, Color32::WHITE);
                            });
                        });
                    ui.add_space(4.0);
                }
            });
        ctx.request_repaint_after(std::time::Duration::from_secs(1));
    }

    /// The texts on screen (newest last).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|t| t.text.as_str())
    }
}
