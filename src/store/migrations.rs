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
    // 3: signing keys (sealed), issued licenses, the hash-chained issuance ledger, revocations.
    r#"
    CREATE TABLE signing_keys (
        key_id      TEXT PRIMARY KEY,
        name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
        public_key  TEXT NOT NULL UNIQUE,
        sealed      TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(status) WHERE status = 'active';
    CREATE TABLE issued_licenses (
        seq          INTEGER PRIMARY KEY,
        license_id   TEXT NOT NULL UNIQUE,
        key_id       TEXT NOT NULL REFERENCES signing_keys(key_id),
        account_id   TEXT REFERENCES accounts(id) ON DELETE SET NULL,
        product      TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('Eval', 'Dev', 'Pro')),
        customer     TEXT NOT NULL,
        cluster      TEXT,
        ip           TEXT,
        capacity_tb  INTEGER NOT NULL,
        seats        INTEGER NOT NULL,
        issued_at    INTEGER NOT NULL,
        expires_at   INTEGER,
        artifact     BLOB NOT NULL
    );
    CREATE INDEX issued_licenses_by_account ON issued_licenses(account_id, seq);
    CREATE TABLE ledger (
        seq           INTEGER PRIMARY KEY,
        action        TEXT NOT NULL CHECK (action IN ('issue', 'revoke')),
        license_id    TEXT NOT NULL,
        payload_hash  TEXT NOT NULL,
        prev_hash     TEXT NOT NULL,
        entry_hash    TEXT NOT NULL,
        operator      TEXT NOT NULL,
        recorded_at   INTEGER NOT NULL
    );
    CREATE TABLE revocations (
        license_id  TEXT PRIMARY KEY,
        reason      TEXT NOT NULL,
        revoked_at  INTEGER NOT NULL
    );
    CREATE TABLE revocation_lists (
        sequence   INTEGER PRIMARY KEY,
        key_id     TEXT NOT NULL,
        issued_at  INTEGER NOT NULL,
        file       TEXT NOT NULL
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
