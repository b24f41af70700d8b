//! Commerce: quotes → orders → invoices, credit notes, the wallet ledger, renewals and named
//! seats, as pure functions over domain types (no I/O, no clock: dates come in as arguments).
//!
//! The money rules are written once in docs/billing.md; [`pricing::price_document`] is the one
//! function that turns lines into amounts, and every fraction is rounded by
//! [`crate::domain::money::round_half_up`]. The store keeps these types as rows and JSON
//! snapshots; services call these functions inside their transactions.

pub mod catalog;
pub mod documents;
pub mod numbering;
pub mod pricing;
pub mod quote;
pub mod renewal;
pub mod seats;
pub mod seller;
pub mod tax;
pub mod terms;
pub mod wallet;
