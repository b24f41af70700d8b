//! How domain types become SQLite values: ids are 16-byte BLOBs, key ids 8-byte BLOBs, hashes
//! 32-byte BLOBs. A value of the wrong shape in the file is reported as damaged data, never
//! turned into a default.

use crate::domain::ids::{
    AccountId, ArrayId, ChangeId, CreditNoteId, DeskId, IdempotencyKey, InvoiceId, LicenseId,
    MailId, OrderId, PaymentMethodId, PriceListId, QuoteId, ReferralId, RenewalId,
    SeatAssignmentId, SeatChangeId, SeatContractId, TransferId, WalletEntryId,
};
use licensekey::KeyId;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

fn fixed<const N: usize>(value: ValueRef<'_>) -> FromSqlResult<[u8; N]> {
    match value {
        ValueRef::Blob(bytes) => {
            <[u8; N]>::try_from(bytes).map_err(|_| FromSqlError::InvalidBlobSize {
                expected_size: N,
                blob_size: bytes.len(),
            })
        }
        _ => Err(FromSqlError::InvalidType),
    }
}

macro_rules! uuid_sql {
    ($($name:ty),*) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::Borrowed(ValueRef::Blob(self.as_bytes())))
            }
        }
        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                Ok(Self(uuid::Uuid::from_bytes(fixed::<16>(value)?)))
            }
        }
    )*};
}

uuid_sql!(
    AccountId,
    PaymentMethodId,
    LicenseId,
    ChangeId,
    DeskId,
    PriceListId,
    QuoteId,
    OrderId,
    InvoiceId,
    CreditNoteId,
    WalletEntryId,
    SeatContractId,
    SeatChangeId,
    SeatAssignmentId,
    RenewalId,
    TransferId,
    MailId,
    IdempotencyKey,
    ArrayId,
    ReferralId
);

/// A signing key's id as stored (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlKeyId(pub KeyId);

impl ToSql for SqlKeyId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(&self.0.0)))
    }
}

impl FromSql for SqlKeyId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(Self(KeyId(fixed::<8>(value)?)))
    }
}

/// A SHA-256 hash as stored (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hash32(pub [u8; 32]);

impl ToSql for Hash32 {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(&self.0)))
    }
}

impl FromSql for Hash32 {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(Self(fixed::<32>(value)?))
    }
}
