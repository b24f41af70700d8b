//! Invoices as PDF and CSV, and documents as plain text (for confirmation mail).
//!
//! The PDF is laid out as lines of a monospaced font shipped with the app
//! (`assets/fonts/Hack-Regular.ttf`, embedded and subset), so it looks the same on every
//! machine. It carries what an EU invoice needs: the sequential number, issue date and tax
//! point, both parties with their VAT IDs, each line, the taxable amount and the tax per rate,
//! the total, and the tax note ("Reverse charge: …" where it applies).

use super::{CommerceError, CommerceEvent};
use crate::commerce::pricing::PricedDocument;
use crate::commerce::seller::SellerDetails;
use crate::domain::billing::BillingDetails;
use crate::domain::ids::InvoiceId;
use crate::files::{self, Output};
use crate::store::invoices::InvoiceRecord;
use crate::store::{self, Store};
use std::path::PathBuf;

/// The font embedded in every PDF.
pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/Hack-Regular.ttf");

fn line_description(line: &crate::commerce::pricing::PricedLine) -> String {
    let unit = line.product.unit();
    match line.proration {
        Some(p) => format!(
            "{} × {} {unit}, {} days of {} ({})",
            line.product.label(),
            line.quantity,
            p.remaining_days,
            p.term_days,
            line.term.label()
        ),
        None => format!(
            "{} × {} {unit}, {} × {}",
            line.product.label(),
            line.quantity,
            line.terms,
            line.term.label()
        ),
    }
}

/// A document's lines and totals as text, one item per line.
pub fn document_text(doc: &PricedDocument) -> String {
    let mut out = String::new();
    for (i, line) in doc.lines.iter().enumerate() {
        out.push_str(&format!(
            "{}. {}: {} at {} each",
            i + 1,
            line_description(line),
            line.gross,
            line.unit_price
        ));
        if line.discount.is_positive() {
            out.push_str(&format!(
                ", less {} = {}",
                line.discount_percent, line.discount
            ));
        }
        out.push_str(&format!(", net {} (VAT {})\n", line.net, line.tax_percent));
    }
    let t = &doc.totals;
    out.push_str(&format!("\nSubtotal: {}\n", t.subtotal));
    if t.discount.is_positive() {
        out.push_str(&format!("Discount: -{}\n", t.discount));
    }
    for tax in &t.taxes {
        out.push_str(&format!(
            "Tax {} on {}: {}\n",
            tax.percent, tax.base, tax.tax
        ));
    }
    out.push_str(&format!("Total: {}\n", t.total));
    out.push_str(&format!("{}\n", doc.treatment.explanation()));
    out
}

fn invoice_lines(
    invoice: &InvoiceRecord,
    seller: &SellerDetails,
    buyer: &BillingDetails,
) -> Vec<String> {
    let inv = &invoice.invoice;
    let doc = inv.document();
    let mut lines = Vec::new();
    let number = inv
        .number()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "DRAFT (not a valid invoice)".into());
    lines.push(format!("INVOICE {number}"));
    lines.push(String::new());
    lines.push(format!(
        "Issue date: {}    Tax point: {}    Due: {}",
        inv.issued_on()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        doc.tax_point,
        inv.due_on()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
    ));
    if let Some(order) = inv.order() {
        lines.push(format!("Order: {order}"));
    }
    lines.push(format!("Status: {}", inv.status().label()));
    lines.push(String::new());
    lines.push("Seller".into());
    lines.push(format!("  {}", seller.company));
    for part in seller.address.lines() {
        lines.push(format!("  {}", part.trim()));
    }
    lines.push(format!("  Country: {}", seller.country));
    lines.push(format!(
        "  VAT ID: {}",
        doc.seller
            .vat_id
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into())
    ));
    lines.push(String::new());
    lines.push("Customer".into());
    lines.push(format!("  {}", buyer.company));
    lines.push(format!("  {}", buyer.contact_name));
    lines.push(format!("  {}", buyer.address_line1));
    if !buyer.address_line2.is_empty() {
        lines.push(format!("  {}", buyer.address_line2));
    }
    lines.push(format!("  {} {}", buyer.postal_code, buyer.city));
    lines.push(format!("  Country: {}", doc.customer.country));
    lines.push(format!(
        "  VAT ID: {}",
        doc.customer
            .vat_id
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into())
    ));
    lines.push(String::new());
    lines.push(format!("Amounts in {}", doc.currency));
    for (i, line) in doc.lines.iter().enumerate() {
        lines.push(format!("{:>2}. {}", i + 1, line_description(line)));
        let mut detail = format!("    unit {}  gross {}", line.unit_price, line.gross);
        if line.discount.is_positive() {
            detail.push_str(&format!(
                "  discount {} -{}",
                line.discount_percent, line.discount
            ));
        }
        detail.push_str(&format!("  net {}  VAT {}", line.net, line.tax_percent));
        lines.push(detail);
    }
    let t = &doc.totals;
    lines.push(String::new());
    lines.push(format!("Subtotal:            {}", t.subtotal));
    if t.discount.is_positive() {
        lines.push(format!("Discount:           -{}", t.discount));
    }
    lines.push(format!("Net:                 {}", t.net));
    for tax in &t.taxes {
        lines.push(format!(
            "Taxable at {}: {}   tax {}",
            tax.percent, tax.base, tax.tax
        ));
    }
    lines.push(format!("Total tax:           {}", t.tax));
    lines.push(format!("TOTAL:               {}", t.total));
    lines.push(String::new());
    // Long notes wrap at 90 characters.
    let mut note = String::new();
    for word in doc.treatment.explanation().split(' ') {
        if note.len() + word.len() > 90 {
            lines.push(std::mem::take(&mut note));
        }
        if !note.is_empty() {
            note.push(' ');
        }
        note.push_str(word);
    }
    lines.push(note);
    if let Some(paid) = inv.paid_on() {
        lines.push(format!("Paid on {paid}."));
    }
    lines
}

/// The invoice as a PDF document.
pub fn invoice_pdf(
    invoice: &InvoiceRecord,
    seller: &SellerDetails,
    buyer: &BillingDetails,
) -> Result<Vec<u8>, CommerceError> {
    use krilla::geom::Point;
    use krilla::page::PageSettings;
    use krilla::text::{Font, TextDirection};
    let font = Font::new(krilla::Data::from(FONT), 0)
        .ok_or_else(|| CommerceError::Refused("the embedded font does not load".into()))?;
    let settings = krilla::SerializeSettings {
        compress_content_streams: false,
        ascii_compatible: true,
        ..krilla::SerializeSettings::default()
    };
    let mut document = krilla::Document::new_with(settings);
    const PER_PAGE: usize = 52;
    let lines = invoice_lines(invoice, seller, buyer);
    for chunk in lines.chunks(PER_PAGE) {
        let size = krilla::geom::Size::from_wh(595.0, 842.0)
            .ok_or_else(|| CommerceError::Refused("bad page size".into()))?;
        let mut page = document.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        for (i, text) in chunk.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let y = 60.0 + 14.0 * i as f32;
            let size = if i == 0 && text.starts_with("INVOICE") {
                14.0
            } else {
                9.0
            };
            surface.draw_text(
                Point::from_xy(50.0, y),
                font.clone(),
                size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| CommerceError::Refused(format!("the PDF could not be written: {e:?}")))
}

/// The invoice as CSV: one row per line, per tax rate and for the total.
pub fn invoice_csv(invoice: &InvoiceRecord) -> Result<Vec<u8>, CommerceError> {
    let inv = &invoice.invoice;
    let doc = inv.document();
    let number = inv
        .number()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "DRAFT".into());
    let issued = inv.issued_on().map(|d| d.to_string()).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| CommerceError::Refused(format!("CSV: {e}"));
    out.write_record([
        "invoice",
        "issued_on",
        "row",
        "product",
        "term",
        "quantity",
        "terms",
        "currency",
        "unit_price",
        "gross",
        "discount",
        "net",
        "tax_percent",
        "tax",
    ])
    .map_err(csv_error)?;
    for (i, l) in doc.lines.iter().enumerate() {
        out.write_record([
            number.clone(),
            issued.clone(),
            format!("line {}", i + 1),
            l.product.label().to_string(),
            l.term.label().to_string(),
            l.quantity.to_string(),
            l.terms.to_string(),
            doc.currency.code().to_string(),
            l.unit_price.to_plain_string(),
            l.gross.to_plain_string(),
            l.discount.to_plain_string(),
            l.net.to_plain_string(),
            l.tax_percent.to_string(),
            String::new(),
        ])
        .map_err(csv_error)?;
    }
    for t in &doc.totals.taxes {
        out.write_record([
            number.clone(),
            issued.clone(),
            "tax".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            doc.currency.code().to_string(),
            String::new(),
            String::new(),
            String::new(),
            t.base.to_plain_string(),
            t.percent.to_string(),
            t.tax.to_plain_string(),
        ])
        .map_err(csv_error)?;
    }
    let t = &doc.totals;
    out.write_record([
        number.clone(),
        issued,
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        doc.currency.code().to_string(),
        String::new(),
        t.subtotal.to_plain_string(),
        t.discount.to_plain_string(),
        t.net.to_plain_string(),
        String::new(),
        t.total.to_plain_string(),
    ])
    .map_err(csv_error)?;
    out.into_inner()
        .map_err(|e| CommerceError::Refused(format!("CSV: {e}")))
}

fn parts(
    store: &Store,
    id: InvoiceId,
) -> Result<(InvoiceRecord, SellerDetails, BillingDetails), CommerceError> {
    let invoice =
        store::invoices::get(store.conn(), id)?.ok_or(CommerceError::NotFound("invoice"))?;
    let seller = store::price_lists::seller(store.conn())?;
    let buyer = store::billing::get(store.conn(), invoice.account_id)?.unwrap_or_default();
    Ok((invoice, seller, buyer))
}

fn save(
    store: &Store,
    path: PathBuf,
    bytes: &[u8],
    what: &str,
) -> Result<CommerceEvent, CommerceError> {
    files::write(
        &path,
        bytes,
        Output {
            force: true,
            secret: false,
            database: Some(store.path()),
        },
    )?;
    Ok(CommerceEvent::Exported {
        what: what.to_string(),
        path,
    })
}

pub(super) fn save_pdf(
    store: &mut Store,
    id: InvoiceId,
    path: PathBuf,
) -> Result<CommerceEvent, CommerceError> {
    let (invoice, seller, buyer) = parts(store, id)?;
    let bytes = invoice_pdf(&invoice, &seller, &buyer)?;
    save(store, path, &bytes, "Invoice PDF")
}

pub(super) fn save_csv(
    store: &mut Store,
    id: InvoiceId,
    path: PathBuf,
) -> Result<CommerceEvent, CommerceError> {
    let (invoice, _, _) = parts(store, id)?;
    let bytes = invoice_csv(&invoice)?;
    save(store, path, &bytes, "Invoice CSV")
}
