//! Small shared widgets: labelled form fields with their message underneath, status chips,
//! navigation entries, sortable headers and the confirmation dialog. Every control gets an
//! accessible name (tests use the same); icon glyphs are painted, never announced.

use egui::{Color32, RichText, Ui};
use egui_material_icons::MaterialIcon;

/// Paints `icon` centred at `pos`. Painting (rather than a label) keeps the private-use glyph
/// out of the accessibility tree: a screen reader hears the control's name, not "\u{e9b2}".
pub fn paint_icon(ui: &Ui, icon: MaterialIcon, pos: egui::Pos2, size: f32, color: Color32) {
    ui.painter().text(
        pos,
        egui::Align2::CENTER_CENTER,
        icon.codepoint,
        egui::FontId::new(size, icon.font_family()),
        color,
    );
}

/// One navigation entry: the icon painted beside a selectable button named only by `name`.
pub fn nav_item(ui: &mut Ui, icon: MaterialIcon, name: &str, selected: bool) -> egui::Response {
    const ICON_COLUMN: f32 = 28.0;
    let response = ui
        .horizontal(|ui| {
            ui.add_space(ICON_COLUMN);
            ui.with_layout(egui::Layout::top_down_justified(egui::Align::LEFT), |ui| {
                ui.selectable_label(selected, name)
            })
            .inner
        })
        .inner;
    let color = if selected {
        ui.visuals().strong_text_color()
    } else {
        ui.visuals().text_color()
    };
    let centre = egui::pos2(
        response.rect.left() - ICON_COLUMN / 2.0,
        response.rect.center().y,
    );
    paint_icon(ui, icon, centre, 18.0, color);
    response
}

/// A column header that sorts by its column when clicked; the active one shows an arrow
/// (painted) and says "sorted" in its name.
pub fn sort_header(ui: &mut Ui, title: &str, active: bool) -> bool {
    let text = RichText::new(title).strong();
    let response = ui
        .add(egui::Button::new(text).frame(false).selected(active))
        .on_hover_text(format!("Sort by {title}"));
    if active {
        let pos = egui::pos2(response.rect.right() + 8.0, response.rect.center().y);
        paint_icon(
            ui,
            egui_material_icons::icons::ICON_ARROW_DOWNWARD,
            pos,
            14.0,
            ui.visuals().text_color(),
        );
    }
    response.clicked()
}

/// A labelled single-line text field with its validation message under it.
pub fn text_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    error: Option<&str>,
) -> egui::Response {
    field_with(ui, label, error, |ui| {
        ui.add(egui::TextEdit::singleline(value).desired_width(320.0))
    })
}

/// A text field with its label above it, for narrow columns (list filters).
pub fn stacked_text_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    error: Option<&str>,
) -> egui::Response {
    ui.vertical(|ui| {
        let label_response = ui.label(label);
        let response = ui
            .add(egui::TextEdit::singleline(value).desired_width(f32::INFINITY))
            .labelled_by(label_response.id);
        field_message(ui, label, error);
        ui.add_space(4.0);
        response
    })
    .inner
}

/// A passphrase as typed into a form: wiped from memory when cleared or dropped.
#[derive(Default)]
pub struct SecretText {
    text: zeroize::Zeroizing<String>,
    /// The field's widget id, to forget egui's copy of its state (cursor, undo history).
    field: Option<egui::Id>,
}

impl SecretText {
    /// The text typed so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Wipes the text, and the copies egui keeps for undo.
    pub fn clear(&mut self, ctx: &egui::Context) {
        zeroize::Zeroize::zeroize(&mut *self.text);
        if let Some(id) = self.field {
            egui::TextEdit::store_state(ctx, id, egui::text_edit::TextEditState::default());
        }
    }
}

/// A labelled password field (characters hidden) over a [`SecretText`].
pub fn password_field(
    ui: &mut Ui,
    label: &str,
    value: &mut SecretText,
    error: Option<&str>,
) -> egui::Response {
    let response = field_with(ui, label, error, |ui| {
        ui.add(
            egui::TextEdit::singleline(&mut *value.text)
                .password(true)
                .desired_width(320.0),
        )
    });
    value.field = Some(response.id);
    response
}

/// Width of the label column of forms.
const LABEL_WIDTH: f32 = 190.0;

/// A label, any widget tied to it for screen readers, and the field's message under it. Labels
/// sit in a column of their own, so a form reads as two aligned columns.
pub fn field_with(
    ui: &mut Ui,
    label: &str,
    error: Option<&str>,
    add: impl FnOnce(&mut Ui) -> egui::Response,
) -> egui::Response {
    ui.horizontal_top(|ui| {
        let label_response = ui
            .allocate_ui_with_layout(
                egui::vec2(LABEL_WIDTH, ui.spacing().interact_size.y),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_width(LABEL_WIDTH);
                    ui.label(label)
                },
            )
            .inner;
        ui.vertical(|ui| {
            let response = add(ui).labelled_by(label_response.id);
            field_message(ui, label, error);
            ui.add_space(2.0);
            response
        })
        .inner
    })
    .inner
}

/// Lays out `add` in the field column of a form (for checkboxes that carry their own label).
pub fn in_field_column<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    ui.horizontal(|ui| {
        ui.add_space(LABEL_WIDTH + ui.spacing().item_spacing.x);
        add(ui)
    })
    .inner
}

/// The message under a field, naming it ("Email: … is not a valid email address").
fn field_message(ui: &mut Ui, label: &str, error: Option<&str>) {
    if let Some(error) = error {
        error_text(ui, &format!("{label}: {error}"));
    }
}

/// Red text for a problem.
pub fn error_text(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).color(ui.visuals().error_fg_color));
}

/// How a status chip is coloured; the word is always shown too.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Warning,
    Bad,
    Neutral,
}

/// A coloured chip with a word ("Default", "Expired").
pub fn chip(ui: &mut Ui, text: &str, tone: Tone) -> egui::Response {
    let dark = ui.visuals().dark_mode;
    let (fill, fg) = match (tone, dark) {
        (Tone::Good, false) => (
            Color32::from_rgb(0xd7, 0xf2, 0xdd),
            Color32::from_rgb(0x14, 0x5a, 0x2a),
        ),
        (Tone::Good, true) => (
            Color32::from_rgb(0x1e, 0x4d, 0x2b),
            Color32::from_rgb(0xc8, 0xf0, 0xd2),
        ),
        (Tone::Warning, false) => (
            Color32::from_rgb(0xfb, 0xec, 0xc6),
            Color32::from_rgb(0x6b, 0x4a, 0x00),
        ),
        (Tone::Warning, true) => (
            Color32::from_rgb(0x5a, 0x45, 0x10),
            Color32::from_rgb(0xfb, 0xe6, 0xb0),
        ),
        (Tone::Bad, false) => (
            Color32::from_rgb(0xfa, 0xd4, 0xd4),
            Color32::from_rgb(0x8a, 0x12, 0x12),
        ),
        (Tone::Bad, true) => (
            Color32::from_rgb(0x64, 0x1e, 0x1e),
            Color32::from_rgb(0xff, 0xd0, 0xd0),
        ),
        (Tone::Neutral, false) => (Color32::from_gray(225), Color32::from_gray(40)),
        (Tone::Neutral, true) => (Color32::from_gray(70), Color32::from_gray(230)),
    };
    egui::Frame::new()
        .fill(fill)
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| ui.label(RichText::new(text).color(fg).small()))
        .inner
}

/// A license's state as a chip: the word, coloured by how it stands.
pub fn status_chip(ui: &mut Ui, shown: crate::domain::license_status::Shown) -> egui::Response {
    use crate::domain::license_status::{LicenseStatus, Shown};
    let tone = match shown {
        Shown::Status(LicenseStatus::Active) => Tone::Good,
        Shown::Status(LicenseStatus::Suspended) => Tone::Warning,
        Shown::Status(LicenseStatus::Revoked) | Shown::Expired => Tone::Bad,
        Shown::Status(LicenseStatus::Superseded | LicenseStatus::Deleted) => Tone::Neutral,
        Shown::InProgress | Shown::Ordered => Tone::Warning,
    };
    chip(ui, shown.label(), tone)
}

/// What a confirmation dialog returned this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Pending,
    Yes,
    No,
}

/// A modal asking to confirm a destructive action; Esc or "Cancel" says no.
pub fn confirm_dialog(ui: &mut Ui, id: &str, title: &str, body: &str, yes: &str) -> Confirm {
    let mut answer = Confirm::Pending;
    let modal = egui::Modal::new(egui::Id::unique(id)).show(ui.ctx(), |ui| {
        ui.set_max_width(420.0);
        ui.heading(title);
        ui.label(body);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(yes).clicked() {
                answer = Confirm::Yes;
            }
            if ui.button("Cancel").clicked() {
                answer = Confirm::No;
            }
        });
    });
    if answer == Confirm::Pending && modal.should_close() {
        answer = Confirm::No;
    }
    answer
}

/// The Save button of a form: disabled, with the reason beside it, until the form is valid.
pub fn submit_button(ui: &mut Ui, text: &str, problems: &crate::domain::FieldErrors) -> bool {
    ui.horizontal(|ui| {
        let clicked = ui
            .add_enabled(problems.is_empty(), egui::Button::new(text))
            .clicked();
        if !problems.is_empty() {
            let fields: Vec<_> = problems.iter().map(|e| e.field).collect();
            ui.label(
                RichText::new(format!("To continue, fix: {}", fields.join(", ")))
                    .color(ui.visuals().weak_text_color()),
            );
        }
        clicked
    })
    .inner
}

/// True when Enter was pressed this frame (forms submit on it).
pub fn enter_pressed(ui: &Ui) -> bool {
    ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// True when Esc was pressed this frame (forms and dialogs close on it).
pub fn escape_pressed(ui: &Ui) -> bool {
    ui.input(|i| i.key_pressed(egui::Key::Escape))
}
