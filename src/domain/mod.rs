//! Plain types and rules, no I/O: validation of what staff type, accounts, billing details,
//! payment methods and settings. Every rule lives here once; the UI, CLI and store call it.

pub mod account;
pub mod array;
pub mod billing;
pub mod checkpoint;
pub mod country;
pub mod ids;
pub mod issue;
pub mod ledger_chain;
pub mod license_filter;
pub mod license_status;
pub mod money;
pub mod payment;
pub mod referral;
pub mod settings;
pub mod time;
pub mod validation;

pub use validation::FieldErrors;
