//! Numbered schema migrations. Append new ones at the end; never edit a released one, so a
//! database made by any earlier build opens and upgrades.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[&str] = &[
    // 1: accounts, billing details, payment methods, settings.
    r#"
    CREATE TABLE accounts (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
        wallet_id   INTEGER NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE billing_details (
        account_id    TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        company       TEXT NOT NULL,
        contact_name  TEXT NOT NULL,
        email         TEXT NOT NULL,
        phone         TEXT NOT NULL,
        address_line1 TEXT NOT NULL,
        address_line2 TEXT NOT NULL,
        city          TEXT NOT NULL,
        postal_code   TEXT NOT NULL,
        country       TEXT NOT NULL CHECK (length(country) = 2),
        tax_id        TEXT NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE payment_methods (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL CHECK (kind IN ('card', 'bank_transfer')),
        holder      TEXT NOT NULL,
        brand       TEXT,
        last4       TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        exp_month   INTEGER CHECK (exp_month IS NULL OR exp_month BETWEEN 1 AND 12),
        exp_year    INTEGER,
        bank_name   TEXT,
        is_default  INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL
    );
    CREATE INDEX payment_methods_by_account ON payment_methods(account_id, created_at);
    CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(account_id) WHERE is_default = 1;
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: the sync outbox; every synced edit writes a row here in its own transaction.
    r#"
    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY,
        change_id   TEXT NOT NULL UNIQUE,
        entity      TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        op          TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
        body        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Brings `conn` to schema `version` (what an older build would have left, in tests).
pub fn migrate_to(conn: &mut Connection, version: i64) -> Result<(), rusqlite_migration::Error> {
    let version = usize::try_from(version).unwrap_or(0);
    migrations().to_version(conn, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }
}
