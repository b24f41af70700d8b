//! Commerce: price lists and the seller, buying capacity (orders placed from the cart), quotes,
//! invoices and credit notes, the wallet, license renewals and named seats.
//!
//! The money rules are pure ([`crate::commerce`], docs/billing.md); this service decides which
//! rows change and runs each command in one `BEGIN IMMEDIATE` transaction that also records
//! the outbox change of every synced row. Amounts are priced by
//! [`crate::commerce::pricing::price_document`] both for the preview a person confirms and
//! inside the transaction that books the charge, and a charge is refused when the two differ.
//! Placements, payments, renewals and seat changes carry a client-made idempotency key: a
//! second request with the same key returns the first result instead of charging again.

mod export;
mod mail;
mod renewals;
mod sales;
mod seats;

pub use export::{invoice_csv, invoice_pdf};
pub use mail::MAIL_FOLDER;
pub(crate) use mail::{
    message as mail_message, notice as mail_notice, write_files as write_mail_files,
};
pub use renewals::{RenewalPreview, preview_renewal, renewal_items};
pub use sales::{Parties, customer_of, parties, price_cart, wallet_of};
pub use seats::{SeatPreview, preview_seat_change};

use crate::commerce::catalog::{CatalogError, PriceList, PriceListRef};
use crate::commerce::documents::{CreditNoteError, DocumentError, LineCredit};
use crate::commerce::numbering::NumberError;
use crate::commerce::pricing::{LineSpec, PricedDocument, PricingError};
use crate::commerce::quote::QuoteError;
use crate::commerce::renewal::RenewalError;
use crate::commerce::seats::SeatError;
use crate::commerce::seller::SellerDetails;
use crate::commerce::tax::{TaxError, VatValidation};
use crate::commerce::terms::{Term, TermError};
use crate::commerce::wallet::{WalletEntry, WalletError};
use crate::domain::FieldErrors;
use crate::domain::ids::{
    AccountId, IdempotencyKey, InvoiceId, LicenseId, OrderId, QuoteId, SeatAssignmentId,
    SeatContractId, WalletEntryId,
};
use crate::domain::money::{Money, MoneyError};
use crate::files::FileError;
use crate::services::keys::{KeyVault, KeysError, Secret};
use crate::services::licensing::LicensingError;
use crate::store::invoices::{CreditNoteRecord, InvoiceRecord};
use crate::store::mail_outbox::MailRow;
use crate::store::orders::OrderRecord;
use crate::store::quotes::QuoteRecord;
use crate::store::renewals::{RenewalRecord, RenewalSettingRecord};
use crate::store::seats::{SeatAssignmentRecord, SeatChangeRecord, SeatContractRecord};
use crate::store::{Store, StoreError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a purchase or renewal is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayBy {
    /// From the account's wallet balance, at once.
    Wallet,
    /// Added to an open order (placed, not yet invoiced), invoiced later with it.
    OpenOrder(OrderId),
    /// A new invoice now; with `pay_now` it is charged to the default payment method at once.
    NewInvoice { pay_now: bool },
}

/// How an unpaid invoice is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayWith {
    Wallet,
    /// The account's default payment method (recorded as charged; no gateway yet).
    Card,
}

/// An order from the cart, as confirmed on the review page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub account_id: AccountId,
    pub price_list: PriceListRef,
    pub lines: Vec<LineSpec>,
    pub pay_by: PayBy,
    pub terms_accepted: bool,
    /// The document the review page showed; the charge is booked only if pricing again gives
    /// exactly this.
    pub confirmed: PricedDocument,
    /// Made when the review page opened.
    pub key: IdempotencyKey,
}

/// What staff can do with money.
#[allow(clippy::large_enum_variant)] // sent once over the worker's channel
#[derive(Debug, Clone)]
pub enum CommerceCommand {
    SaveSeller(SellerDetails),
    /// Saves a new price list version (a new list when its id is new).
    SavePriceList(PriceList),
    /// Checks the account's VAT ID by its check digits (offline) and keeps the result.
    ValidateVatId {
        account_id: AccountId,
    },
    PlaceOrder(Box<Placement>),
    /// Saves the cart as an open quote (or, with `revising`, as that draft version, opened).
    SaveQuote {
        account_id: AccountId,
        price_list: PriceListRef,
        lines: Vec<LineSpec>,
        revising: Option<QuoteId>,
    },
    OpenQuote {
        id: QuoteId,
    },
    ReviseQuote {
        id: QuoteId,
    },
    DuplicateQuote {
        id: QuoteId,
    },
    CancelQuote {
        id: QuoteId,
    },
    ConvertQuote {
        id: QuoteId,
        key: IdempotencyKey,
    },
    ExpireQuotes,
    /// Finalises an invoice for an open order.
    InvoiceOrder {
        order_id: OrderId,
    },
    CancelOrder {
        order_id: OrderId,
    },
    FinaliseInvoice {
        id: InvoiceId,
    },
    DeleteDraftInvoice {
        id: InvoiceId,
    },
    PayInvoice {
        id: InvoiceId,
        with: PayWith,
        key: IdempotencyKey,
    },
    VoidInvoice {
        id: InvoiceId,
    },
    IssueCreditNote {
        invoice_id: InvoiceId,
        credits: Vec<LineCredit>,
        reason: String,
        /// Pay the credit out into the wallet.
        to_wallet: bool,
    },
    TopUp {
        account_id: AccountId,
        amount: Money,
        key: IdempotencyKey,
    },
    Refund {
        account_id: AccountId,
        entry: WalletEntryId,
    },
    Renew {
        license_id: LicenseId,
        term: Term,
        terms: u32,
        pay_by: PayBy,
        /// The total the renewal form showed.
        confirmed_total: Money,
        key: IdempotencyKey,
    },
    SaveRenewalSetting(RenewalSettingRecord),
    CreateSeatContract {
        account_id: AccountId,
        name: String,
        term: Term,
        start: NaiveDate,
        seats: u32,
    },
    ChangeSeats {
        contract_id: SeatContractId,
        new_seats: u32,
        effective: NaiveDate,
        /// The preview the person confirmed (amount before tax and total).
        confirmed: SeatPreview,
        passphrase: Secret,
        key: IdempotencyKey,
    },
    AssignSeat {
        contract_id: SeatContractId,
        user_name: String,
        email: String,
    },
    ReleaseSeat {
        id: SeatAssignmentId,
    },
    ExportInvoicePdf {
        id: InvoiceId,
        path: PathBuf,
    },
    ExportInvoiceCsv {
        id: InvoiceId,
        path: PathBuf,
    },
}

impl CommerceCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            CommerceCommand::SaveSeller(_) => "Save seller details",
            CommerceCommand::SavePriceList(_) => "Save price list",
            CommerceCommand::ValidateVatId { .. } => "Validate VAT ID",
            CommerceCommand::PlaceOrder(_) => "Place order",
            CommerceCommand::SaveQuote { .. } => "Save as quote",
            CommerceCommand::OpenQuote { .. } => "Open quote",
            CommerceCommand::ReviseQuote { .. } => "Revise quote",
            CommerceCommand::DuplicateQuote { .. } => "Duplicate quote",
            CommerceCommand::CancelQuote { .. } => "Cancel quote",
            CommerceCommand::ConvertQuote { .. } => "Convert quote to order",
            CommerceCommand::ExpireQuotes => "Expire quotes",
            CommerceCommand::InvoiceOrder { .. } => "Invoice order",
            CommerceCommand::CancelOrder { .. } => "Cancel order",
            CommerceCommand::FinaliseInvoice { .. } => "Finalise invoice",
            CommerceCommand::DeleteDraftInvoice { .. } => "Delete draft invoice",
            CommerceCommand::PayInvoice { .. } => "Pay invoice",
            CommerceCommand::VoidInvoice { .. } => "Void invoice",
            CommerceCommand::IssueCreditNote { .. } => "Issue credit note",
            CommerceCommand::TopUp { .. } => "Top up wallet",
            CommerceCommand::Refund { .. } => "Refund wallet entry",
            CommerceCommand::Renew { .. } => "Renew license",
            CommerceCommand::SaveRenewalSetting(_) => "Save auto-renewal",
            CommerceCommand::CreateSeatContract { .. } => "Create seat contract",
            CommerceCommand::ChangeSeats { .. } => "Change seats",
            CommerceCommand::AssignSeat { .. } => "Assign seat",
            CommerceCommand::ReleaseSeat { .. } => "Free seat",
            CommerceCommand::ExportInvoicePdf { .. } => "Save invoice PDF",
            CommerceCommand::ExportInvoiceCsv { .. } => "Save invoice CSV",
        }
    }
}

/// What happened.
#[allow(clippy::large_enum_variant)] // sent once over the worker's channel
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommerceEvent {
    SellerSaved(SellerDetails),
    PriceListSaved(PriceList),
    VatValidated {
        account_id: AccountId,
        validation: VatValidation,
    },
    OrderPlaced {
        order: OrderRecord,
        invoice: Option<InvoiceRecord>,
        /// True when lines went into an order that was already open.
        added_to_open_order: bool,
    },
    QuoteSaved(QuoteRecord),
    QuoteChanged(QuoteRecord),
    QuotesExpired {
        count: usize,
    },
    QuoteConverted {
        quote: QuoteRecord,
        order: OrderRecord,
        invoice: InvoiceRecord,
    },
    OrderChanged(OrderRecord),
    InvoiceChanged(InvoiceRecord),
    InvoiceDeleted {
        id: InvoiceId,
    },
    InvoicePaid {
        invoice: InvoiceRecord,
        order: Option<OrderRecord>,
    },
    CreditNoteIssued(CreditNoteRecord),
    WalletChanged {
        account_id: AccountId,
        entry: WalletEntry,
    },
    Renewed {
        renewal: RenewalRecord,
        invoice: Option<InvoiceRecord>,
    },
    RenewalSettingSaved(RenewalSettingRecord),
    SeatContractCreated {
        contract: SeatContractRecord,
        invoice: InvoiceRecord,
    },
    SeatsChanged {
        contract: SeatContractRecord,
        change: SeatChangeRecord,
        invoice: Option<InvoiceRecord>,
    },
    SeatAssigned(SeatAssignmentRecord),
    SeatReleased(SeatAssignmentRecord),
    Exported {
        what: String,
        path: PathBuf,
    },
}

/// Why a commerce command was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum CommerceError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("the account was not found (it may have been deleted)")]
    AccountNotFound,
    #[error(
        "Billing details are missing: add company, email, address and country under Accounts (Edit billing details)"
    )]
    BillingMissing,
    #[error("Seller details are missing: fill them in under Settings, Seller")]
    SellerMissing,
    #[error("no price list yet: add one under Settings, Prices")]
    NoPriceList,
    #[error("price list {0} was not found")]
    PriceListNotFound(String),
    #[error("Terms and Conditions: accept them to place the order")]
    TermsNotAccepted,
    #[error("Payment method: {0}")]
    PaymentMethod(String),
    #[error("the {0} was not found")]
    NotFound(&'static str),
    #[error("Billing country: {0}")]
    Country(TaxError),
    #[error("{0}")]
    Refused(String),
    #[error("Passphrase: {0}")]
    Passphrase(String),
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    CreditNote(#[from] CreditNoteError),
    #[error("Wallet: {0}")]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Seat(#[from] SeatError),
    #[error(transparent)]
    Renewal(#[from] RenewalError),
    #[error(transparent)]
    Term(#[from] TermError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Licensing(#[from] LicensingError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Number(#[from] NumberError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CommerceError {
    fn from(e: rusqlite::Error) -> Self {
        CommerceError::Store(e.into())
    }
}

/// Runs one command; `vault` holds the keys unlocked in this session (renewals sign a new
/// license; a seat change checks the operator's passphrase against the active key).
pub fn run(
    store: &mut Store,
    vault: &mut KeyVault,
    now: i64,
    command: CommerceCommand,
) -> Result<CommerceEvent, CommerceError> {
    let today = crate::domain::time::utc_date(now)
        .ok_or_else(|| CommerceError::Refused(format!("the clock reads {now}, not a date")))?;
    match command {
        CommerceCommand::SaveSeller(details) => sales::save_seller(store, details),
        CommerceCommand::SavePriceList(list) => sales::save_price_list(store, list, now),
        CommerceCommand::ValidateVatId { account_id } => {
            sales::validate_vat_id(store, account_id, now)
        }
        CommerceCommand::PlaceOrder(placement) => mail::deliver(store, |store| {
            sales::place_order(store, &placement, today, now)
        }),
        CommerceCommand::SaveQuote {
            account_id,
            price_list,
            lines,
            revising,
        } => mail::deliver(store, |store| {
            sales::save_quote(store, account_id, price_list, lines, revising, today, now)
        }),
        CommerceCommand::OpenQuote { id } => {
            mail::deliver(store, |store| sales::open_quote(store, id, today, now))
        }
        CommerceCommand::ReviseQuote { id } => sales::revise_quote(store, id, today, now),
        CommerceCommand::DuplicateQuote { id } => sales::duplicate_quote(store, id, today, now),
        CommerceCommand::CancelQuote { id } => sales::cancel_quote(store, id, now),
        CommerceCommand::ConvertQuote { id, key } => mail::deliver(store, |store| {
            sales::convert_quote(store, id, key, today, now)
        }),
        CommerceCommand::ExpireQuotes => sales::expire_quotes(store, today, now),
        CommerceCommand::InvoiceOrder { order_id } => mail::deliver(store, |store| {
            sales::invoice_order(store, order_id, today, now)
        }),
        CommerceCommand::CancelOrder { order_id } => sales::cancel_order(store, order_id, now),
        CommerceCommand::FinaliseInvoice { id } => mail::deliver(store, |store| {
            sales::finalise_invoice(store, id, today, now)
        }),
        CommerceCommand::DeleteDraftInvoice { id } => sales::delete_draft(store, id, now),
        CommerceCommand::PayInvoice { id, with, key } => mail::deliver(store, |store| {
            sales::pay_invoice(store, id, with, key, today, now)
        }),
        CommerceCommand::VoidInvoice { id } => sales::void_invoice(store, id, now),
        CommerceCommand::IssueCreditNote {
            invoice_id,
            credits,
            reason,
            to_wallet,
        } => sales::issue_credit_note(store, invoice_id, credits, &reason, to_wallet, today, now),
        CommerceCommand::TopUp {
            account_id,
            amount,
            key,
        } => sales::top_up(store, account_id, amount, key, now),
        CommerceCommand::Refund { account_id, entry } => {
            sales::refund(store, account_id, entry, now)
        }
        CommerceCommand::Renew {
            license_id,
            term,
            terms,
            pay_by,
            confirmed_total,
            key,
        } => mail::deliver(store, |store| {
            renewals::renew(
                store,
                vault,
                renewals::RenewRequest {
                    license_id,
                    term,
                    terms,
                    pay_by,
                    confirmed_total,
                    key,
                },
                today,
                now,
            )
        }),
        CommerceCommand::SaveRenewalSetting(setting) => renewals::save_setting(store, setting, now),
        CommerceCommand::CreateSeatContract {
            account_id,
            name,
            term,
            start,
            seats,
        } => mail::deliver(store, |store| {
            seats::create_contract(store, account_id, &name, term, start, seats, today, now)
        }),
        CommerceCommand::ChangeSeats {
            contract_id,
            new_seats,
            effective,
            confirmed,
            passphrase,
            key,
        } => mail::deliver(store, |store| {
            seats::change_seats(
                store,
                seats::SeatChangeRequest {
                    contract_id,
                    new_seats,
                    effective,
                    confirmed,
                    passphrase,
                    key,
                },
                today,
                now,
            )
        }),
        CommerceCommand::AssignSeat {
            contract_id,
            user_name,
            email,
        } => seats::assign(store, contract_id, &user_name, &email, now),
        CommerceCommand::ReleaseSeat { id } => seats::release(store, id, now),
        CommerceCommand::ExportInvoicePdf { id, path } => export::save_pdf(store, id, path),
        CommerceCommand::ExportInvoiceCsv { id, path } => export::save_csv(store, id, path),
    }
}

/// Mail queued by a transaction, to be written as files once it commits.
pub(crate) type Outcome = (CommerceEvent, Vec<MailRow>);
