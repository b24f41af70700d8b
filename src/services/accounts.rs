//! Accounts, their billing details and payment methods.

use crate::domain::FieldErrors;
use crate::domain::account::{self, Account};
use crate::domain::billing::BillingDetails;
use crate::domain::ids::{AccountId, PaymentMethodId};
use crate::domain::payment::{PaymentDetails, PaymentMethod};
use crate::store::{self, Store, StoreError};

/// What staff can do to accounts.
#[derive(Debug, Clone)]
pub enum AccountsCommand {
    Create {
        name: String,
    },
    Rename {
        id: AccountId,
        name: String,
    },
    Delete {
        id: AccountId,
    },
    SaveBilling {
        account_id: AccountId,
        details: BillingDetails,
    },
    AddPaymentMethod {
        account_id: AccountId,
        details: PaymentDetails,
        make_default: bool,
    },
    SetDefaultPaymentMethod {
        id: PaymentMethodId,
    },
    RemovePaymentMethod {
        id: PaymentMethodId,
    },
}

impl AccountsCommand {
    /// What the command does, in words ("Create account"), for messages.
    pub fn action(&self) -> &'static str {
        match self {
            AccountsCommand::Create { .. } => "Create account",
            AccountsCommand::Rename { .. } => "Rename account",
            AccountsCommand::Delete { .. } => "Delete account",
            AccountsCommand::SaveBilling { .. } => "Save billing details",
            AccountsCommand::AddPaymentMethod { .. } => "Add payment method",
            AccountsCommand::SetDefaultPaymentMethod { .. } => "Set default payment method",
            AccountsCommand::RemovePaymentMethod { .. } => "Remove payment method",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsEvent {
    Created(Account),
    Renamed(Account),
    Deleted(Account),
    BillingSaved {
        account_id: AccountId,
        details: BillingDetails,
    },
    PaymentMethodAdded(PaymentMethod),
    DefaultPaymentMethodSet(PaymentMethod),
    PaymentMethodRemoved(PaymentMethod),
}

/// Why an accounts command was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("Account name: '{0}' is already taken")]
    NameTaken(String),
    #[error("the account was not found (it may have been deleted)")]
    AccountNotFound,
    #[error("the payment method was not found (it may have been removed)")]
    PaymentMethodNotFound,
    #[error(
        "'{name}' has {count} license(s) issued to it; licenses stay with their account for the ledger, so it cannot be deleted"
    )]
    HasLicenses { name: String, count: u64 },
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound {
                what: "payment method",
                ..
            } => AccountsError::PaymentMethodNotFound,
            StoreError::NotFound {
                what: "account", ..
            } => AccountsError::AccountNotFound,
            StoreError::Duplicate {
                what: "account name",
                value,
            } => AccountsError::NameTaken(value),
            e => AccountsError::Store(e),
        }
    }
}

/// Runs one command in one transaction.
pub fn run(
    store: &mut Store,
    now: i64,
    command: AccountsCommand,
) -> Result<AccountsEvent, AccountsError> {
    match command {
        AccountsCommand::Create { name } => create(store, &name, now).map(AccountsEvent::Created),
        AccountsCommand::Rename { id, name } => {
            let name = valid_name(&name)?;
            store
                .write(|tx| store::accounts::rename(tx, id, &name, now))
                .map(AccountsEvent::Renamed)
                .map_err(Into::into)
        }
        AccountsCommand::Delete { id } => store
            .write(|tx| {
                let account =
                    store::accounts::get(tx, id)?.ok_or(AccountsError::AccountNotFound)?;
                let count = store::accounts::license_count(tx, id)?;
                if count > 0 {
                    return Err(AccountsError::HasLicenses {
                        name: account.name,
                        count,
                    });
                }
                Ok(store::accounts::delete(tx, id, now)?)
            })
            .map(AccountsEvent::Deleted),
        AccountsCommand::SaveBilling {
            account_id,
            details,
        } => {
            let details = details.normalized()?;
            store.write(|tx| store::billing::save(tx, account_id, &details, now))?;
            Ok(AccountsEvent::BillingSaved {
                account_id,
                details,
            })
        }
        AccountsCommand::AddPaymentMethod {
            account_id,
            details,
            make_default,
        } => store
            .write(|tx| store::payments::add(tx, account_id, &details, make_default, now))
            .map(AccountsEvent::PaymentMethodAdded)
            .map_err(Into::into),
        AccountsCommand::SetDefaultPaymentMethod { id } => store
            .write(|tx| store::payments::set_default(tx, id, now))
            .map(AccountsEvent::DefaultPaymentMethodSet)
            .map_err(Into::into),
        AccountsCommand::RemovePaymentMethod { id } => store
            .write(|tx| store::payments::delete(tx, id, now))
            .map(AccountsEvent::PaymentMethodRemoved)
            .map_err(Into::into),
    }
}

fn valid_name(name: &str) -> Result<String, AccountsError> {
    account::validate_name(name).into_result()?;
    Ok(account::normalize_name(name))
}

/// Creates an account with the next wallet ID.
pub fn create(store: &mut Store, name: &str, now: i64) -> Result<Account, AccountsError> {
    let name = valid_name(name)?;
    Ok(store.write(|tx| store::accounts::create(tx, &name, now))?)
}

/// The account for a wallet ID typed on the command line (`--account 168`).
pub fn by_wallet_id(store: &Store, text: &str) -> Result<Account, WalletLookupError> {
    let text = text.trim();
    let number: i64 = text
        .parse()
        .map_err(|_| WalletLookupError::NotANumber(text.chars().take(40).collect()))?;
    store::accounts::by_wallet_id(store.conn(), number)?.ok_or(WalletLookupError::Unknown(number))
}

/// Why a wallet ID did not lead to an account.
#[derive(Debug, thiserror::Error)]
pub enum WalletLookupError {
    #[error("'{0}' is not a wallet ID (a whole number)")]
    NotANumber(String),
    #[error("no account has wallet ID {0}")]
    Unknown(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}
