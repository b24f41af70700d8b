//! A priced document on screen: its lines, subtotal, discount, tax per rate, total, and why
//! tax is charged (or reverse-charged). The same view shows a cart, a quote and an invoice.

use crate::commerce::pricing::PricedDocument;

/// Draws the lines and totals of `doc`.
pub fn document(ui: &mut egui::Ui, id: &str, doc: &PricedDocument) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            for head in ["Item", "Quantity", "Unit price", "Net", "VAT"] {
                ui.label(egui::RichText::new(head).strong());
            }
            ui.end_row();
            for line in &doc.lines {
                let what = match line.proration {
                    Some(p) => format!(
                        "{}, {} ({} of {} days)",
                        line.product.label(),
                        line.term.label(),
                        p.remaining_days,
                        p.term_days
                    ),
                    None if line.terms > 1 => format!(
                        "{}, {} × {}",
                        line.product.label(),
                        line.terms,
                        line.term.label()
                    ),
                    None => format!("{}, {}", line.product.label(), line.term.label()),
                };
                ui.label(what);
                ui.label(format!("{} {}", line.quantity, line.product.unit()));
                ui.label(line.unit_price.to_string());
                ui.label(line.net.to_string());
                ui.label(line.tax_percent.to_string());
                ui.end_row();
            }
        });
    let t = &doc.totals;
    egui::Grid::new((id, "totals"))
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Subtotal");
            ui.label(t.subtotal.to_string());
            ui.end_row();
            ui.label("Discount");
            ui.label(format!("-{}", t.discount));
            ui.end_row();
            for tax in &t.taxes {
                ui.label(format!("Tax {} on {}", tax.percent, tax.base));
                ui.label(tax.tax.to_string());
                ui.end_row();
            }
            ui.label(egui::RichText::new("Total").strong());
            ui.label(egui::RichText::new(format!("Total {}", t.total)).strong());
            ui.end_row();
        });
    ui.label(egui::RichText::new(doc.treatment.explanation()).italics());
}
