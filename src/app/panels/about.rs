//! Settings → About: what a support person asks for first — the app version, the license
//! format it writes, and the renderer drawing the window (see `platform::renderer`).

/// The app version (from Cargo.toml).
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Draws the About section.
pub fn ui(ui: &mut egui::Ui, renderer: &str) {
    ui.label(egui::RichText::new("About").strong());
    egui::Grid::new("about_grid")
        .num_columns(2)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for (label, value) in rows(renderer) {
                ui.label(label);
                ui.label(value);
                ui.end_row();
            }
        });
}

/// The (label, value) pairs shown, in order.
fn rows(renderer: &str) -> [(&'static str, String); 4] {
    [
        ("Version", format!("License Desk {APP_VERSION}")),
        (
            "License format",
            format!("version {}", licensekey::FORMAT_VERSION),
        ),
        ("Renderer", renderer.to_string()),
        (
            "Platform",
            format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    #[test]
    fn shows_version_format_and_renderer() {
        let harness = Harness::new_ui(|ui| super::ui(ui, "glow (OpenGL 4.5, Mesa)"));
        harness.get_by_label(&format!("License Desk {APP_VERSION}"));
        harness.get_by_label(&format!("version {}", licensekey::FORMAT_VERSION));
        harness.get_by_label("glow (OpenGL 4.5, Mesa)");
        harness.get_by_label("Renderer");
    }
}
