//! Confirmations as RFC 5322 messages: queued in the transaction of what they confirm (the
//! text is kept in the database, so none is lost), then written as `.eml` files into
//! `<data dir>/outbox/` once that transaction has committed. Sending comes later.

use super::export::document_text;
use super::sales::Parties;
use super::{CommerceError, CommerceEvent, Outcome};
use crate::domain::ids::MailId;
use crate::files::{self, Output};
use crate::store::Store;
use crate::store::invoices::InvoiceRecord;
use crate::store::mail_outbox::{self, MailRow};
use crate::store::orders::OrderRecord;
use crate::store::quotes::QuoteRecord;
use rusqlite::Transaction;

/// The folder beside the database that holds the `.eml` files.
pub const MAIL_FOLDER: &str = "outbox";

/// Runs `f` (one committed transaction), then writes the messages it queued as files. A file
/// that cannot be written leaves its message in the app's outbox list (its text is stored).
pub(super) fn deliver(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<Outcome, CommerceError>,
) -> Result<CommerceEvent, CommerceError> {
    let (event, mails) = f(store)?;
    write_files(store, &mails);
    Ok(event)
}

/// Writes queued messages as `.eml` files beside the database (after their transaction
/// committed). A file that cannot be written leaves its message in the app's outbox list.
pub(crate) fn write_files(store: &Store, mails: &[MailRow]) {
    if let Some(folder) = store.path().parent().map(|p| p.join(MAIL_FOLDER))
        && std::fs::create_dir_all(&folder).is_ok()
    {
        let _ = crate::platform::restrict_to_owner(&folder);
        for mail in mails {
            let _ = files::write(
                &folder.join(&mail.file_name),
                mail.message.as_bytes(),
                Output {
                    force: false,
                    secret: true,
                    database: Some(store.path()),
                },
            );
        }
    }
}

/// A header value on one line (no CR/LF can start another header).
fn header(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Builds the RFC 5322 text of a plain-text message.
pub fn message(from: &str, to: &str, subject: &str, id: MailId, at: i64, body: &str) -> String {
    let date = chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default();
    let subject = header(subject);
    let subject = if subject.is_ascii() {
        subject
    } else {
        // RFC 2047: a non-ASCII subject travels as an encoded word.
        format!("=?utf-8?Q?{}?=", q_encode(&subject))
    };
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@license-desk>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        header(from),
        header(to),
    )
}

fn q_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            b' ' => "_".to_string(),
            _ => format!("={b:02X}"),
        })
        .collect()
}

fn queue(
    tx: &Transaction<'_>,
    parties: &Parties,
    subject: String,
    body: String,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let id = MailId::new();
    let from = if parties.seller_details.email.is_empty() {
        "billing@license-desk.invalid".to_string()
    } else {
        parties.seller_details.email.clone()
    };
    let to = parties.billing.email.clone();
    let mut row = MailRow {
        seq: 0,
        id,
        account_id: Some(parties.account.id),
        message: message(&from, &to, &subject, id, now, &body),
        to,
        subject,
        file_name: format!(
            "{}-{}.eml",
            crate::domain::time::rfc3339(now).replace(':', ""),
            id.0.simple()
        ),
        created_at: now,
    };
    row.seq = mail_outbox::insert(tx, &row)?;
    Ok(row)
}

fn greeting(parties: &Parties) -> String {
    format!("Dear {},\n\n", parties.billing.contact_name)
}

fn signature(parties: &Parties) -> String {
    format!("\nKind regards,\n{}\n", parties.seller_details.company)
}

pub(super) fn order_confirmation(
    tx: &Transaction<'_>,
    parties: &Parties,
    order: &OrderRecord,
    invoice: Option<&InvoiceRecord>,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let number = order.order.number();
    let mut body = greeting(parties);
    body.push_str(&format!("thank you for your order {number}.\n\n"));
    body.push_str(&document_text(order.order.document()));
    if let Some(invoice) = invoice {
        let number = invoice
            .invoice
            .number()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "(draft)".into());
        body.push_str(&format!(
            "\nInvoice {number}: {}.\n",
            invoice.invoice.status().label()
        ));
    }
    body.push_str(&signature(parties));
    queue(tx, parties, format!("Order {number} confirmed"), body, now)
}

pub(super) fn quote_sent(
    tx: &Transaction<'_>,
    parties: &Parties,
    quote: &QuoteRecord,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let q = &quote.quote;
    let mut body = greeting(parties);
    body.push_str(&format!(
        "please find our quote {} (version {}), valid until {}.\n\n",
        q.number(),
        q.version(),
        q.valid_until().map(|d| d.to_string()).unwrap_or_default()
    ));
    if let Some(snapshot) = q.snapshot() {
        body.push_str(&document_text(snapshot));
    }
    body.push_str(&signature(parties));
    queue(tx, parties, format!("Quote {}", q.number()), body, now)
}

pub(super) fn invoice_issued(
    tx: &Transaction<'_>,
    parties: &Parties,
    invoice: &InvoiceRecord,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let number = invoice
        .invoice
        .number()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let mut body = greeting(parties);
    body.push_str(&format!(
        "please find invoice {number}, due on {}.\n\n",
        invoice
            .invoice
            .due_on()
            .map(|d| d.to_string())
            .unwrap_or_default()
    ));
    body.push_str(&document_text(invoice.invoice.document()));
    body.push_str(&signature(parties));
    queue(tx, parties, format!("Invoice {number}"), body, now)
}

pub(super) fn payment_received(
    tx: &Transaction<'_>,
    parties: &Parties,
    invoice: &InvoiceRecord,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let number = invoice
        .invoice
        .number()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let mut body = greeting(parties);
    body.push_str(&format!(
        "we received your payment of {} for invoice {number}. Thank you.\n",
        invoice.invoice.total()
    ));
    body.push_str(&signature(parties));
    queue(
        tx,
        parties,
        format!("Payment received for {number}"),
        body,
        now,
    )
}

/// A confirmation with a free text (renewals, seat changes, an array's license serial).
pub(crate) fn notice(
    tx: &Transaction<'_>,
    parties: &Parties,
    subject: String,
    text: &str,
    now: i64,
) -> Result<MailRow, CommerceError> {
    let mut body = greeting(parties);
    body.push_str(text);
    body.push_str(&signature(parties));
    queue(tx, parties, subject, body, now)
}
