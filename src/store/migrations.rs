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
    // 4: ids and hashes as 16/32-byte blobs; desk identity and wallet id blocks; license status;
    // ledger entries carry their format, the account, state and note they record (and no
    // longer a copy of the previous entry's hash); revocation lists point at their ledger entry; a typed
    // outbox; a trigram index for account search. The untyped outbox rows of versions 2–3 were
    // never sent anywhere (no sync existed): every desk uploads its whole state when it first
    // joins a portal, so they are dropped rather than guessed into the new shape.
    r#"
    CREATE TABLE desk (
        singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
        desk_id         BLOB NOT NULL CHECK (length(desk_id) = 16),
        revocation_tag  INTEGER NOT NULL CHECK (revocation_tag BETWEEN 0 AND 1048575),
        created_at      INTEGER NOT NULL
    );
    CREATE TABLE wallet_blocks (
        first_id     INTEGER PRIMARY KEY,
        last_id      INTEGER NOT NULL CHECK (last_id >= first_id),
        next_id      INTEGER NOT NULL CHECK (next_id BETWEEN first_id AND last_id + 1),
        source       TEXT NOT NULL CHECK (source IN ('local', 'portal')),
        assigned_at  INTEGER NOT NULL
    );
    INSERT INTO wallet_blocks (first_id, last_id, next_id, source, assigned_at)
        SELECT 100, max(99999, coalesce((SELECT max(wallet_id) FROM accounts), 0)),
               coalesce((SELECT max(wallet_id) FROM accounts), 99) + 1, 'local',
               CAST(strftime('%s', 'now') AS INTEGER);

    CREATE TABLE accounts_v4 (
        seq           INTEGER PRIMARY KEY,
        id            BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        name          TEXT NOT NULL COLLATE NOCASE UNIQUE,
        wallet_id     INTEGER NOT NULL UNIQUE,
        wallet_final  INTEGER NOT NULL DEFAULT 1 CHECK (wallet_final IN (0, 1)),
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    INSERT INTO accounts_v4 (id, name, wallet_id, wallet_final, created_at, updated_at)
        SELECT unhex(replace(id, '-', '')), name, wallet_id, 1, created_at, updated_at
        FROM accounts ORDER BY created_at, id;

    CREATE TABLE billing_details_v4 (
        account_id    BLOB PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
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
    INSERT INTO billing_details_v4
        SELECT unhex(replace(account_id, '-', '')), company, contact_name, email, phone,
               address_line1, address_line2, city, postal_code, country, tax_id, updated_at
        FROM billing_details;

    CREATE TABLE payment_methods_v4 (
        id          BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id  BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
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
    INSERT INTO payment_methods_v4
        SELECT unhex(replace(id, '-', '')), unhex(replace(account_id, '-', '')), kind, holder,
               brand, last4, exp_month, exp_year, bank_name, is_default, created_at
        FROM payment_methods;

    CREATE TABLE signing_keys_v4 (
        key_id      BLOB PRIMARY KEY CHECK (length(key_id) = 8),
        name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
        public_key  TEXT NOT NULL UNIQUE,
        sealed      TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at  INTEGER NOT NULL
    );
    INSERT INTO signing_keys_v4
        SELECT unhex(key_id), name, public_key, sealed, status, created_at FROM signing_keys;

    CREATE TABLE licenses (
        seq          INTEGER PRIMARY KEY,
        license_id   BLOB NOT NULL UNIQUE CHECK (length(license_id) = 16),
        key_id       BLOB NOT NULL REFERENCES signing_keys(key_id),
        account_id   BLOB REFERENCES accounts(id),
        product      TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('Eval', 'Dev', 'Pro')),
        customer     TEXT NOT NULL,
        cluster      BLOB CHECK (cluster IS NULL OR length(cluster) = 16),
        ip           TEXT,
        capacity_tb  INTEGER NOT NULL,
        seats        INTEGER NOT NULL,
        issued_at    INTEGER NOT NULL,
        expires_at   INTEGER,
        status       TEXT NOT NULL
                     CHECK (status IN ('active', 'suspended', 'revoked', 'superseded', 'deleted')),
        artifact     BLOB NOT NULL
    );
    INSERT INTO licenses
        SELECT i.seq, unhex(replace(i.license_id, '-', '')), unhex(i.key_id),
               unhex(replace(i.account_id, '-', '')), i.product, i.kind, i.customer,
               unhex(replace(i.cluster, '-', '')), i.ip, i.capacity_tb, i.seats, i.issued_at,
               i.expires_at,
               CASE WHEN EXISTS (SELECT 1 FROM revocations r WHERE r.license_id = i.license_id)
                    THEN 'revoked' ELSE 'active' END,
               i.artifact
        FROM issued_licenses i;

    CREATE TABLE ledger_v4 (
        seq           INTEGER PRIMARY KEY,
        format        INTEGER NOT NULL CHECK (format IN (1, 2)),
        action        TEXT NOT NULL,
        license_id    BLOB NOT NULL CHECK (length(license_id) = 16),
        payload_hash  BLOB NOT NULL CHECK (length(payload_hash) = 32),
        entry_hash    BLOB NOT NULL CHECK (length(entry_hash) = 32),
        operator      TEXT NOT NULL,
        recorded_at   INTEGER NOT NULL,
        account_id    BLOB CHECK (account_id IS NULL OR length(account_id) = 16),
        status        TEXT,
        note          TEXT NOT NULL DEFAULT ''
    );
    -- prev_hash is the entry_hash of the entry before: kept once, checked by the chain walk.
    INSERT INTO ledger_v4 (seq, format, action, license_id, payload_hash, entry_hash, operator,
                           recorded_at)
        SELECT seq, 1, action, unhex(replace(license_id, '-', '')), unhex(payload_hash),
               unhex(entry_hash), operator, recorded_at
        FROM ledger;

    CREATE TABLE revocations_v4 (
        license_id  BLOB PRIMARY KEY REFERENCES licenses(license_id),
        reason      TEXT NOT NULL,
        revoked_at  INTEGER NOT NULL
    );
    INSERT INTO revocations_v4
        SELECT unhex(replace(license_id, '-', '')), reason, revoked_at FROM revocations;

    -- Each list was published in the transaction of one revoke entry, in the same order.
    CREATE TABLE revocation_lists_v4 (
        sequence    INTEGER PRIMARY KEY,
        key_id      BLOB NOT NULL CHECK (length(key_id) = 8),
        issued_at   INTEGER NOT NULL,
        file        TEXT NOT NULL,
        ledger_seq  INTEGER UNIQUE REFERENCES ledger(seq)
    );
    INSERT INTO revocation_lists_v4
        SELECT l.sequence, unhex(l.key_id), l.issued_at, l.file, e.seq
        FROM (SELECT *, row_number() OVER (ORDER BY sequence) AS n FROM revocation_lists) l
        LEFT JOIN (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM ledger
                   WHERE action = 'revoke') e ON e.n = l.n;

    CREATE TABLE outbox_v4 (
        seq         INTEGER PRIMARY KEY,
        change_id   BLOB NOT NULL UNIQUE CHECK (length(change_id) = 16),
        entity      TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        op          TEXT NOT NULL CHECK (op IN ('upsert', 'delete', 'insert')),
        version     INTEGER NOT NULL CHECK (version >= 1),
        body        TEXT NOT NULL CHECK (json_valid(body)),
        created_at  INTEGER NOT NULL
    );

    DROP TABLE outbox;
    DROP TABLE revocation_lists;
    DROP TABLE revocations;
    DROP TABLE ledger;
    DROP TABLE issued_licenses;
    DROP TABLE signing_keys;
    DROP TABLE payment_methods;
    DROP TABLE billing_details;
    DROP TABLE accounts;
    ALTER TABLE accounts_v4 RENAME TO accounts;
    ALTER TABLE billing_details_v4 RENAME TO billing_details;
    ALTER TABLE payment_methods_v4 RENAME TO payment_methods;
    ALTER TABLE signing_keys_v4 RENAME TO signing_keys;
    ALTER TABLE ledger_v4 RENAME TO ledger;
    ALTER TABLE revocations_v4 RENAME TO revocations;
    ALTER TABLE revocation_lists_v4 RENAME TO revocation_lists;
    ALTER TABLE outbox_v4 RENAME TO outbox;

    CREATE INDEX payment_methods_by_account ON payment_methods(account_id, created_at);
    CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(account_id) WHERE is_default = 1;
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(status) WHERE status = 'active';
    CREATE INDEX licenses_by_account ON licenses(account_id, seq);

    CREATE VIRTUAL TABLE accounts_search USING fts5(
        name, content = 'accounts', content_rowid = 'seq', tokenize = 'trigram', detail = 'none'
    );
    INSERT INTO accounts_search (accounts_search) VALUES ('rebuild');
    CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
        INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
    END;
    CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
        INSERT INTO accounts_search (accounts_search, rowid, name) VALUES ('delete', old.seq, old.name);
    END;
    CREATE TRIGGER accounts_search_update AFTER UPDATE OF name ON accounts BEGIN
        INSERT INTO accounts_search (accounts_search, rowid, name) VALUES ('delete', old.seq, old.name);
        INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
    END;
    "#,
    // 5: commerce. Price list versions (insert-only), VAT ID validation results, gapless
    // document counters, quotes (one row per version), orders, invoices and credit notes
    // (finalised ones never change, only drafts are deleted: triggers refuse the rest), the
    // append-only wallet ledger, named-seat contracts with their booked changes and assigned
    // users, renewal settings and renewals of licenses, and the confirmation mail outbox. Money
    // is integer minor units beside its ISO 4217 code; dates are ISO 'YYYY-MM-DD' text; each
    // document keeps its whole priced snapshot as JSON in `body`.
    r#"
    CREATE TABLE price_lists (
        id          BLOB NOT NULL CHECK (length(id) = 16),
        version     INTEGER NOT NULL CHECK (version >= 1),
        name        TEXT NOT NULL,
        currency    TEXT NOT NULL CHECK (length(currency) = 3),
        valid_from  TEXT NOT NULL,
        body        TEXT NOT NULL CHECK (json_valid(body)),
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (id, version)
    );
    CREATE TRIGGER price_lists_never_change BEFORE UPDATE ON price_lists BEGIN
        SELECT RAISE(ABORT, 'a price list version never changes: save a new version');
    END;

    CREATE TABLE vat_validations (
        seq         INTEGER PRIMARY KEY,
        vat_id      TEXT NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome IN ('valid', 'invalid', 'not_checkable')),
        body        TEXT NOT NULL CHECK (json_valid(body)),
        checked_at  INTEGER NOT NULL
    );
    CREATE INDEX vat_validations_by_vat_id ON vat_validations(vat_id, seq);

    CREATE TABLE doc_counters (
        kind      TEXT NOT NULL CHECK (kind IN ('quote', 'order', 'invoice', 'credit_note')),
        year      INTEGER NOT NULL,
        last_seq  INTEGER NOT NULL CHECK (last_seq >= 1),
        PRIMARY KEY (kind, year)
    );

    CREATE TABLE quotes (
        id           BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id   BLOB NOT NULL REFERENCES accounts(id),
        number       TEXT NOT NULL,
        year         INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        version      INTEGER NOT NULL CHECK (version >= 1),
        status       TEXT NOT NULL
                     CHECK (status IN ('draft', 'open', 'accepted', 'expired', 'cancelled')),
        opened_on    TEXT,
        valid_until  TEXT,
        currency     TEXT,
        total_minor  INTEGER,
        body         TEXT NOT NULL CHECK (json_valid(body)),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (number, version)
    );
    CREATE INDEX quotes_by_account ON quotes(account_id, year, seq, version);
    CREATE INDEX quotes_open_by_validity ON quotes(valid_until) WHERE status = 'open';

    CREATE TABLE orders (
        id               BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id       BLOB NOT NULL REFERENCES accounts(id),
        number           TEXT NOT NULL UNIQUE,
        year             INTEGER NOT NULL,
        seq              INTEGER NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('placed', 'paid', 'fulfilled', 'cancelled')),
        placed_on        TEXT NOT NULL,
        currency         TEXT NOT NULL,
        total_minor      INTEGER NOT NULL,
        quote_id         BLOB REFERENCES quotes(id),
        idempotency_key  BLOB UNIQUE CHECK (idempotency_key IS NULL OR length(idempotency_key) = 16),
        body             TEXT NOT NULL CHECK (json_valid(body)),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX orders_by_account ON orders(account_id, year, seq);

    CREATE TABLE invoices (
        id           BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id   BLOB NOT NULL REFERENCES accounts(id),
        number       TEXT UNIQUE,
        year         INTEGER,
        seq          INTEGER,
        status       TEXT NOT NULL CHECK (status IN ('draft', 'unpaid', 'paid', 'void')),
        order_id     BLOB REFERENCES orders(id),
        issued_on    TEXT,
        due_on       TEXT,
        paid_on      TEXT,
        currency     TEXT NOT NULL,
        total_minor  INTEGER NOT NULL,
        body         TEXT NOT NULL CHECK (json_valid(body)),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        CHECK ((status = 'draft') = (number IS NULL))
    );
    CREATE INDEX invoices_by_account ON invoices(account_id, created_at);
    CREATE INDEX invoices_by_order ON invoices(order_id);
    CREATE TRIGGER invoices_final_never_change BEFORE UPDATE ON invoices
    WHEN old.status <> 'draft' AND (
        new.status = 'draft' OR new.number IS NOT old.number OR new.account_id IS NOT old.account_id
        OR new.total_minor IS NOT old.total_minor OR new.currency IS NOT old.currency
        OR new.issued_on IS NOT old.issued_on
        OR json_extract(new.body, '$.document') IS NOT json_extract(old.body, '$.document'))
    BEGIN
        SELECT RAISE(ABORT, 'a finalised invoice never changes');
    END;
    CREATE TRIGGER invoices_only_drafts_deleted BEFORE DELETE ON invoices
    WHEN old.status <> 'draft' BEGIN
        SELECT RAISE(ABORT, 'only draft invoices can be deleted');
    END;

    CREATE TABLE credit_notes (
        id           BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id   BLOB NOT NULL REFERENCES accounts(id),
        invoice_id   BLOB NOT NULL REFERENCES invoices(id),
        number       TEXT NOT NULL UNIQUE,
        year         INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        issued_on    TEXT NOT NULL,
        currency     TEXT NOT NULL,
        total_minor  INTEGER NOT NULL CHECK (total_minor > 0),
        body         TEXT NOT NULL CHECK (json_valid(body)),
        created_at   INTEGER NOT NULL
    );
    CREATE INDEX credit_notes_by_invoice ON credit_notes(invoice_id);
    CREATE TRIGGER credit_notes_never_change BEFORE UPDATE ON credit_notes BEGIN
        SELECT RAISE(ABORT, 'a credit note never changes');
    END;
    CREATE TRIGGER credit_notes_never_deleted BEFORE DELETE ON credit_notes BEGIN
        SELECT RAISE(ABORT, 'a credit note is never deleted');
    END;

    CREATE TABLE wallet_entries (
        seq           INTEGER PRIMARY KEY,
        id            BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        account_id    BLOB NOT NULL REFERENCES accounts(id),
        kind          TEXT NOT NULL
                      CHECK (kind IN ('top_up', 'payment', 'credit', 'refund', 'entitlement')),
        currency      TEXT,
        amount_minor  INTEGER,
        product       TEXT,
        movement      TEXT CHECK (movement IS NULL OR movement IN ('bought', 'assigned', 'released')),
        quantity      INTEGER CHECK (quantity IS NULL OR quantity >= 1),
        reference     TEXT NOT NULL,
        body          TEXT NOT NULL CHECK (json_valid(body)),
        at            INTEGER NOT NULL,
        CHECK ((kind = 'entitlement') = (amount_minor IS NULL))
    );
    CREATE INDEX wallet_entries_by_account ON wallet_entries(account_id, seq);
    CREATE TRIGGER wallet_entries_never_change BEFORE UPDATE ON wallet_entries BEGIN
        SELECT RAISE(ABORT, 'wallet entries are append-only');
    END;
    CREATE TRIGGER wallet_entries_never_deleted BEFORE DELETE ON wallet_entries BEGIN
        SELECT RAISE(ABORT, 'wallet entries are append-only');
    END;

    CREATE TABLE seat_contracts (
        id                BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id        BLOB NOT NULL REFERENCES accounts(id),
        name              TEXT NOT NULL,
        term              TEXT NOT NULL,
        anchor            TEXT NOT NULL,
        currency          TEXT NOT NULL,
        unit_price_minor  INTEGER NOT NULL CHECK (unit_price_minor >= 0),
        seats             INTEGER NOT NULL CHECK (seats >= 0),
        price_list_id     BLOB NOT NULL,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
    );
    CREATE INDEX seat_contracts_by_account ON seat_contracts(account_id, created_at);
    CREATE TABLE seat_changes (
        seq              INTEGER PRIMARY KEY,
        id               BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        contract_id      BLOB NOT NULL REFERENCES seat_contracts(id),
        from_seats       INTEGER NOT NULL,
        to_seats         INTEGER NOT NULL,
        effective        TEXT NOT NULL,
        amount_minor     INTEGER NOT NULL,
        invoice_id       BLOB REFERENCES invoices(id),
        wallet_entry_id  BLOB,
        idempotency_key  BLOB NOT NULL UNIQUE,
        body             TEXT NOT NULL CHECK (json_valid(body)),
        at               INTEGER NOT NULL
    );
    CREATE INDEX seat_changes_by_contract ON seat_changes(contract_id, seq);
    CREATE TABLE seat_assignments (
        id           BLOB PRIMARY KEY CHECK (length(id) = 16),
        contract_id  BLOB NOT NULL REFERENCES seat_contracts(id),
        user_name    TEXT NOT NULL,
        email        TEXT NOT NULL,
        assigned_at  INTEGER NOT NULL,
        released_at  INTEGER
    );
    CREATE UNIQUE INDEX seat_assignments_one_per_user
        ON seat_assignments(contract_id, email COLLATE NOCASE) WHERE released_at IS NULL;

    CREATE TABLE renewal_settings (
        license_id  BLOB PRIMARY KEY REFERENCES licenses(license_id),
        auto_renew  INTEGER NOT NULL CHECK (auto_renew IN (0, 1)),
        term        TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE renewals (
        id               BLOB PRIMARY KEY CHECK (length(id) = 16),
        account_id       BLOB REFERENCES accounts(id),
        old_license_id   BLOB NOT NULL UNIQUE REFERENCES licenses(license_id),
        new_license_id   BLOB NOT NULL UNIQUE REFERENCES licenses(license_id),
        term             TEXT NOT NULL,
        terms            INTEGER NOT NULL CHECK (terms >= 1),
        currency         TEXT NOT NULL,
        total_minor      INTEGER NOT NULL,
        pay_by           TEXT NOT NULL,
        reference        TEXT NOT NULL,
        idempotency_key  BLOB NOT NULL UNIQUE,
        at               INTEGER NOT NULL
    );
    CREATE INDEX licenses_by_expiry ON licenses(expires_at, seq);

    CREATE TABLE idempotency_keys (
        key     BLOB PRIMARY KEY CHECK (length(key) = 16),
        action  TEXT NOT NULL,
        result  TEXT NOT NULL CHECK (json_valid(result)),
        at      INTEGER NOT NULL
    );

    CREATE TABLE mail_outbox (
        seq         INTEGER PRIMARY KEY,
        id          BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        account_id  BLOB REFERENCES accounts(id),
        to_addr     TEXT NOT NULL,
        subject     TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        message     TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    "#,
    // 6: the rows of bulk issues, so a run that was stopped resumes where it stopped: a batch
    // is the hash of its input file, a row its number in it. No foreign key: a license deleted
    // later stays issued for its row.
    r#"
    CREATE TABLE bulk_rows (
        batch       BLOB NOT NULL CHECK (length(batch) = 32),
        row         INTEGER NOT NULL CHECK (row >= 1),
        license_id  BLOB NOT NULL UNIQUE,
        PRIMARY KEY (batch, row)
    ) WITHOUT ROWID;
    "#,
    // 7: arrays and referrals. An array is an account's storage cluster (name unique per
    // account without regard to case) with the license kind chosen for it, the capacity it
    // holds from the wallet, the term (days) of the Pro license it holds, the request file
    // made on the cluster (its machine binding) and its current serial. A Pro array with no
    // serial is "Ordered" (partial index). Eval licenses are looked up by cluster (once per
    // cluster). Referrals are friends an account referred; a reward row, keyed by the
    // referral, makes the reward credited at most once (its wallet entry id is derived from
    // the referral id, so the same reward arriving by sync is the same entry).
    r#"
    CREATE TABLE arrays (
        seq          INTEGER PRIMARY KEY,
        id           BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        account_id   BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name         TEXT NOT NULL COLLATE NOCASE,
        product      TEXT NOT NULL,
        cluster      BLOB CHECK (cluster IS NULL OR length(cluster) = 16),
        request      TEXT,
        kind         TEXT CHECK (kind IS NULL OR kind IN ('Eval', 'Dev', 'Pro')),
        pro_days     INTEGER CHECK (pro_days IS NULL OR pro_days >= 1),
        capacity_tb  INTEGER NOT NULL DEFAULT 0 CHECK (capacity_tb >= 0),
        license_id   BLOB REFERENCES licenses(license_id),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (account_id, name),
        CHECK (capacity_tb = 0 OR kind = 'Pro'),
        CHECK ((kind IS 'Pro') = (pro_days IS NOT NULL))
    );
    CREATE INDEX arrays_by_cluster ON arrays(cluster) WHERE cluster IS NOT NULL;
    CREATE INDEX arrays_by_license ON arrays(license_id) WHERE license_id IS NOT NULL;
    CREATE INDEX arrays_ordered ON arrays(account_id, seq) WHERE kind = 'Pro' AND license_id IS NULL;
    CREATE INDEX licenses_eval_by_cluster ON licenses(cluster) WHERE kind = 'Eval';

    CREATE TABLE referrals (
        seq         INTEGER PRIMARY KEY,
        id          BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        account_id  BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        email       TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('invited', 'signed_up', 'customer')),
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX referrals_one_per_friend ON referrals(account_id, email COLLATE NOCASE);
    CREATE INDEX referrals_by_account ON referrals(account_id, seq);

    CREATE TABLE referral_rewards (
        referral_id      BLOB PRIMARY KEY REFERENCES referrals(id) ON DELETE CASCADE,
        account_id       BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        wallet_entry_id  BLOB NOT NULL UNIQUE CHECK (length(wallet_entry_id) = 16),
        currency         TEXT NOT NULL CHECK (length(currency) = 3),
        amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
        at               INTEGER NOT NULL
    );
    CREATE INDEX referral_rewards_by_account ON referral_rewards(account_id);
    "#,
    // 8: licenses at a million rows (issue #14). The licenses table is rebuilt: a license
    // issued from now on is stored as the columns of its signed payload plus its signature
    // (its canonical bytes are re-encoded from them), not as a copy of the bytes beside
    // copies of the columns; licenses stored before keep their bytes in `artifact`, their
    // columns filled from what the old columns said. Product and customer names are kept
    // once in `license_names`. The list's indexes (and its trigram search) cover only rows
    // marked `listed`: a bulk issue commits licenses unlisted and lists them right after, so
    // the signing loop writes only the row, its ledger entry and three indexes. A ledger
    // issue entry written from now on keeps no copy of the license's hash (payload_hash is
    // NULL: it is the SHA-256 of the license's bytes). New tables: staff settings of a
    // license (registration key, the administrator password encrypted under the signing
    // key), the machines registered to it, applied deactivation files, and transfers to a
    // partner account.
    r#"
    CREATE TABLE license_names (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE
    );
    CREATE INDEX license_names_by_name ON license_names(name COLLATE NOCASE);
    INSERT INTO license_names (name)
        SELECT product FROM licenses UNION SELECT customer FROM licenses;

    CREATE TABLE licenses_v6 (
        seq            INTEGER PRIMARY KEY,
        license_id     BLOB NOT NULL UNIQUE CHECK (length(license_id) = 16),
        account_id     BLOB REFERENCES accounts(id),
        status         TEXT NOT NULL
                       CHECK (status IN ('active', 'suspended', 'revoked', 'superseded', 'deleted')),
        expires_at     INTEGER,
        order_months   INTEGER CHECK (order_months IS NULL OR order_months BETWEEN 1 AND 120),
        listed         INTEGER CHECK (listed IS NULL OR listed = 1),
        product_id     INTEGER NOT NULL,
        customer_id    INTEGER NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('Eval', 'Dev', 'Pro')),
        cluster        BLOB CHECK (cluster IS NULL OR length(cluster) = 16),
        ip             TEXT,
        key_id         BLOB NOT NULL CHECK (length(key_id) = 8),
        capacity_tb    INTEGER NOT NULL,
        seats          INTEGER NOT NULL,
        issued_at      INTEGER NOT NULL,
        not_before     INTEGER,
        support_until  INTEGER,
        grace_days     INTEGER,
        features       TEXT,
        signature      BLOB CHECK (signature IS NULL OR length(signature) = 64),
        artifact       BLOB,
        CHECK ((artifact IS NULL) <> (signature IS NULL))
    );
    INSERT INTO licenses_v6 (seq, license_id, account_id, status, expires_at, order_months,
                             listed, product_id, customer_id, kind, cluster, ip, key_id,
                             capacity_tb, seats, issued_at, artifact)
        SELECT l.seq, l.license_id, l.account_id, l.status, l.expires_at,
               (SELECT CASE r.term WHEN '"monthly"' THEN 1 WHEN '"quarterly"' THEN 3
                                   WHEN '"annual"' THEN 12 WHEN '"triennial"' THEN 36 END
                FROM renewals r WHERE r.new_license_id = l.license_id),
               1,
               (SELECT id FROM license_names WHERE name = l.product),
               (SELECT id FROM license_names WHERE name = l.customer),
               l.kind, l.cluster, l.ip, l.key_id, l.capacity_tb, l.seats, l.issued_at,
               l.artifact
        FROM licenses l;

    CREATE TABLE ledger_v6 (
        seq           INTEGER PRIMARY KEY,
        format        INTEGER NOT NULL CHECK (format IN (1, 2)),
        action        TEXT NOT NULL,
        license_id    BLOB NOT NULL CHECK (length(license_id) = 16),
        payload_hash  BLOB CHECK (payload_hash IS NULL OR length(payload_hash) = 32),
        entry_hash    BLOB NOT NULL CHECK (length(entry_hash) = 32),
        operator      TEXT NOT NULL,
        recorded_at   INTEGER NOT NULL,
        account_id    BLOB CHECK (account_id IS NULL OR length(account_id) = 16),
        status        TEXT,
        note          TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO ledger_v6
        SELECT seq, format, action, license_id, payload_hash, entry_hash, operator, recorded_at,
               account_id, status, note
        FROM ledger;

    DROP TABLE ledger;
    DROP TABLE licenses;
    ALTER TABLE licenses_v6 RENAME TO licenses;
    ALTER TABLE ledger_v6 RENAME TO ledger;

    CREATE INDEX licenses_by_account ON licenses(account_id, seq);
    CREATE INDEX licenses_by_expiry ON licenses(expires_at, seq);
    CREATE INDEX licenses_not_active ON licenses(status) WHERE status <> 'active';
    CREATE INDEX licenses_list_customer ON licenses(customer_id) WHERE listed = 1;
    CREATE INDEX licenses_list_product ON licenses(product_id) WHERE listed = 1;
    CREATE INDEX licenses_list_ip ON licenses(ip) WHERE listed = 1;
    CREATE INDEX licenses_list_order ON licenses(order_months) WHERE listed = 1;
    -- Kept from schema 7 (the rebuild dropped it with the old table): Eval licenses by cluster.
    CREATE INDEX licenses_eval_by_cluster ON licenses(cluster) WHERE kind = 'Eval';
    -- Rows a bulk issue committed and the list has not taken in yet (one row per batch).
    CREATE TABLE licenses_unlisted (
        from_seq  INTEGER PRIMARY KEY,
        to_seq    INTEGER NOT NULL CHECK (to_seq >= from_seq)
    );

    CREATE VIEW licenses_id_text AS SELECT seq, lower(hex(license_id)) AS id_hex FROM licenses;
    CREATE VIRTUAL TABLE licenses_id_search USING fts5(
        id_hex, content = 'licenses_id_text', content_rowid = 'seq', tokenize = 'trigram',
        detail = 'none', columnsize = 0
    );
    CREATE VIRTUAL TABLE licenses_ip_search USING fts5(
        ip, content = 'licenses', content_rowid = 'seq', tokenize = 'trigram', detail = 'none',
        columnsize = 0
    );
    INSERT INTO licenses_id_search (rowid, id_hex)
        SELECT v.seq, v.id_hex FROM licenses_id_text v JOIN licenses l ON l.seq = v.seq
        WHERE l.listed = 1;
    INSERT INTO licenses_ip_search (rowid, ip)
        SELECT seq, ip FROM licenses WHERE listed = 1 AND ip IS NOT NULL;

    CREATE VIRTUAL TABLE license_names_search USING fts5(
        name, content = 'license_names', content_rowid = 'id', tokenize = 'trigram',
        detail = 'none'
    );
    INSERT INTO license_names_search (license_names_search) VALUES ('rebuild');
    CREATE TRIGGER license_names_search_insert AFTER INSERT ON license_names BEGIN
        INSERT INTO license_names_search (rowid, name) VALUES (new.id, new.name);
    END;

    CREATE TABLE license_settings (
        license_id        BLOB PRIMARY KEY REFERENCES licenses(license_id),
        registration_key  TEXT NOT NULL DEFAULT '',
        admin_password    BLOB,
        password_key_id   BLOB CHECK (password_key_id IS NULL OR length(password_key_id) = 8),
        updated_at        INTEGER NOT NULL,
        CHECK ((admin_password IS NULL) = (password_key_id IS NULL))
    );

    CREATE TABLE license_registrations (
        license_id     BLOB NOT NULL REFERENCES licenses(license_id),
        machine_key    BLOB NOT NULL CHECK (length(machine_key) = 32),
        label          TEXT NOT NULL DEFAULT '',
        registered_at  INTEGER NOT NULL,
        PRIMARY KEY (license_id, machine_key)
    ) WITHOUT ROWID;

    CREATE TABLE deactivations (
        id              BLOB PRIMARY KEY CHECK (length(id) = 16),
        license_id      BLOB NOT NULL REFERENCES licenses(license_id),
        machine_key     BLOB NOT NULL CHECK (length(machine_key) = 32),
        file            BLOB NOT NULL,
        deactivated_at  INTEGER NOT NULL,
        applied_at      INTEGER NOT NULL,
        ledger_seq      INTEGER NOT NULL UNIQUE REFERENCES ledger(seq)
    );
    CREATE TRIGGER deactivations_never_change BEFORE UPDATE ON deactivations BEGIN
        SELECT RAISE(ABORT, 'an applied deactivation never changes');
    END;

    CREATE TABLE license_transfers (
        id            BLOB PRIMARY KEY CHECK (length(id) = 16),
        license_id    BLOB NOT NULL REFERENCES licenses(license_id),
        from_account  BLOB REFERENCES accounts(id),
        to_account    BLOB NOT NULL REFERENCES accounts(id),
        salt          BLOB NOT NULL CHECK (length(salt) = 16),
        secret_hash   BLOB NOT NULL CHECK (length(secret_hash) = 32),
        status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'cancelled', 'locked')),
        failed_tries  INTEGER NOT NULL DEFAULT 0 CHECK (failed_tries >= 0),
        created_at    INTEGER NOT NULL,
        decided_at    INTEGER
    );
    CREATE UNIQUE INDEX license_transfers_one_pending ON license_transfers(license_id)
        WHERE status = 'pending';
    CREATE INDEX license_transfers_to ON license_transfers(to_account, status, created_at);
    "#,
    // 9: names join their search once per transaction (`licenses::SharedValues::index_new`),
    // not by a trigger per name: FTS5 flushes its pending terms at every statement that touches it.
    r#"
    DROP TRIGGER license_names_search_insert;
    "#,
    // 10: the outbox ready for sync (docs/sync-protocol.md, "What a desk must do"). Each row
    // carries the desk's hybrid logical clock reading when it was recorded, and the desk row
    // the clock's last value. Rows recorded before are stamped in outbox order: the latest
    // recording time so far, and the row number as the counter (strictly increasing). Per-desk
    // counters (ledger entries, revocation lists, VAT validations, bulk ledger ranges) are
    // qualified by the desk id, as `<desk id>:<n>`.
    r#"
    ALTER TABLE outbox ADD COLUMN hlc TEXT CHECK (hlc IS NULL OR length(hlc) = 21);
    UPDATE outbox SET hlc = (
        SELECT printf('%012x-%08x', m.ms, outbox.seq)
        FROM (SELECT seq, max(created_at) OVER (ORDER BY seq) * 1000 AS ms FROM outbox) m
        WHERE m.seq = outbox.seq
    );
    ALTER TABLE desk ADD COLUMN hlc TEXT CHECK (hlc IS NULL OR length(hlc) = 21);
    UPDATE desk SET hlc = (SELECT max(hlc) FROM outbox);
    UPDATE outbox SET entity_id = (
        SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-'
                     || substr(h, 17, 4) || '-' || substr(h, 21, 12))
        FROM (SELECT hex(desk_id) AS h FROM desk WHERE singleton = 1)
    ) || ':' || entity_id
    WHERE entity IN ('ledger_entry', 'revocation_list', 'vat_validation', 'ledger_batch')
      AND entity_id NOT LIKE '%:%'
      AND EXISTS (SELECT 1 FROM desk);
    "#,
    // 11: changes the portal refused, parked with its reason (never in the way of the rest of
    // the outbox, never dropped): the outbox row as it was, plus the answer.
    r#"
    CREATE TABLE sync_parked (
        seq         INTEGER PRIMARY KEY,
        change_id   BLOB NOT NULL UNIQUE CHECK (length(change_id) = 16),
        entity      TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        op          TEXT NOT NULL,
        version     INTEGER NOT NULL,
        body        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        hlc         TEXT NOT NULL CHECK (length(hlc) = 21),
        code        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        parked_at   INTEGER NOT NULL
    );
    "#,
    // 12: pulling from a portal. Where the pull stands (the portal and its cursor), every
    // change pulled from another desk as received (never dropped: applied, older than what
    // is here, a conflict with a change of this desk not pushed yet, refused by this desk's
    // checks, or waiting for a desk that can apply it), and the version (HLC, desk) the local
    // state of each synced entity is at.
    r#"
    CREATE TABLE sync_state (
        singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
        portal_url    TEXT NOT NULL,
        cursor        TEXT,
        pushed_at     INTEGER,
        pulled_at     INTEGER
    );
    CREATE TABLE sync_inbox (
        change_id    BLOB PRIMARY KEY CHECK (length(change_id) = 16),
        desk_id      BLOB NOT NULL CHECK (length(desk_id) = 16),
        hlc          TEXT NOT NULL CHECK (length(hlc) = 21),
        entity       TEXT NOT NULL,
        entity_id    TEXT NOT NULL,
        op           TEXT NOT NULL,
        version      INTEGER NOT NULL,
        body         TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        state        TEXT NOT NULL
                     CHECK (state IN ('applied', 'older', 'conflict', 'refused', 'waiting')),
        note         TEXT NOT NULL DEFAULT '',
        local_op     TEXT,
        local_body   TEXT,
        CHECK ((local_op IS NULL) = (local_body IS NULL))
    ) WITHOUT ROWID;
    CREATE INDEX sync_inbox_open ON sync_inbox(state, received_at)
        WHERE state IN ('conflict', 'refused', 'waiting');
    CREATE TABLE sync_versions (
        entity     TEXT NOT NULL,
        entity_id  TEXT NOT NULL,
        hlc        TEXT NOT NULL CHECK (length(hlc) = 21),
        desk_id    BLOB NOT NULL CHECK (length(desk_id) = 16),
        PRIMARY KEY (entity, entity_id)
    ) WITHOUT ROWID;
    "#,
    // 13: the device token, sealed under a signing key of the vault (never in clear), and
    // the last round's attempt and error, so the status shown is what happened.
    r#"
    CREATE TABLE sync_token (
        singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
        key_id     BLOB NOT NULL CHECK (length(key_id) = 8),
        sealed     BLOB NOT NULL CHECK (length(sealed) BETWEEN 41 AND 1064),
        set_at     INTEGER NOT NULL
    );
    ALTER TABLE sync_state ADD COLUMN attempted_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN error TEXT;
    "#,
    // 14: what a pull asks of each change it takes, by index: this desk's unpushed change of
    // the same entity, and the refusals a newer version settles (each was a scan per change).
    r#"
    CREATE INDEX outbox_entity ON outbox(entity, entity_id);
    CREATE INDEX sync_inbox_refused ON sync_inbox(entity, entity_id) WHERE state = 'refused';
    "#,
    // 15: the account name search can be brought up to date once per transaction: while
    // `accounts_search_deferred` holds its row, the triggers only note which accounts changed
    // (with the name the search holds for them), and `accounts::index_deferred` indexes them in
    // two statements (FTS5 writes a segment at the end of every statement that touches it).
    r#"
    CREATE TABLE accounts_search_deferred (singleton INTEGER PRIMARY KEY CHECK (singleton = 1));
    CREATE TABLE accounts_search_pending (seq INTEGER PRIMARY KEY, indexed_name TEXT);
    DROP TRIGGER accounts_search_insert;
    DROP TRIGGER accounts_search_delete;
    DROP TRIGGER accounts_search_update;
    CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts
    WHEN NOT EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
    END;
    CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts
    WHEN NOT EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT INTO accounts_search (accounts_search, rowid, name) VALUES ('delete', old.seq, old.name);
    END;
    CREATE TRIGGER accounts_search_update AFTER UPDATE OF name ON accounts
    WHEN NOT EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT INTO accounts_search (accounts_search, rowid, name) VALUES ('delete', old.seq, old.name);
        INSERT INTO accounts_search (rowid, name) VALUES (new.seq, new.name);
    END;
    CREATE TRIGGER accounts_search_insert_deferred AFTER INSERT ON accounts
    WHEN EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT OR IGNORE INTO accounts_search_pending (seq, indexed_name) VALUES (new.seq, NULL);
    END;
    CREATE TRIGGER accounts_search_delete_deferred AFTER DELETE ON accounts
    WHEN EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT OR IGNORE INTO accounts_search_pending (seq, indexed_name) VALUES (old.seq, old.name);
    END;
    CREATE TRIGGER accounts_search_update_deferred AFTER UPDATE OF name ON accounts
    WHEN EXISTS (SELECT 1 FROM accounts_search_deferred) BEGIN
        INSERT OR IGNORE INTO accounts_search_pending (seq, indexed_name) VALUES (old.seq, old.name);
    END;
    "#,
    // 16: document series per desk (docs/sync-protocol.md, "Document series"). The desk's
    // series (NULL: the main series) is set when it first holds a wallet block from a portal;
    // numbers are counted per kind, series and year, so documents pulled from other desks never
    // move this desk's counters. `applies_version`: the build that last took the pulled
    // changes kept waiting (a newer one applies more kinds and takes them again).
    r#"
    ALTER TABLE desk ADD COLUMN applies_version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE desk ADD COLUMN series TEXT
        CHECK (series IS NULL OR (length(series) BETWEEN 1 AND 3 AND series NOT GLOB '*[^A-Z]*'));
    CREATE TABLE doc_counters_by_series (
        kind      TEXT NOT NULL CHECK (kind IN ('quote', 'order', 'invoice', 'credit_note')),
        series    TEXT NOT NULL DEFAULT '',
        year      INTEGER NOT NULL,
        last_seq  INTEGER NOT NULL CHECK (last_seq >= 1),
        PRIMARY KEY (kind, series, year)
    );
    INSERT INTO doc_counters_by_series (kind, series, year, last_seq)
        SELECT kind, '', year, last_seq FROM doc_counters;
    DROP TABLE doc_counters;
    ALTER TABLE doc_counters_by_series RENAME TO doc_counters;
    "#,
    // 17: licenses from other desks (docs/sync-protocol.md, "Licenses from other desks"). A
    // license row pulled from another desk names that desk in `origin` (NULL: issued here, in
    // this desk's ledger); this desk's ledger accounts for its own licenses only. Other desks'
    // public keys (to check the licenses they signed) and their ledger entries (each desk's
    // chain, checked link by link as it arrives; the entries themselves stay in the inbox).
    r#"
    ALTER TABLE licenses ADD COLUMN origin BLOB CHECK (origin IS NULL OR length(origin) = 16);
    CREATE INDEX licenses_from_other_desks ON licenses(origin) WHERE origin IS NOT NULL;
    CREATE TABLE peer_keys (
        key_id      BLOB PRIMARY KEY CHECK (length(key_id) = 8),
        desk_id     BLOB NOT NULL CHECK (length(desk_id) = 16),
        name        TEXT NOT NULL,
        public_key  TEXT NOT NULL,
        active      INTEGER NOT NULL CHECK (active IN (0, 1)),
        created_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE peer_ledger (
        desk_id     BLOB NOT NULL CHECK (length(desk_id) = 16),
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        action      TEXT NOT NULL,
        license_id  BLOB NOT NULL CHECK (length(license_id) = 16),
        entry_hash  BLOB NOT NULL CHECK (length(entry_hash) = 32),
        PRIMARY KEY (desk_id, seq)
    ) WITHOUT ROWID;
    "#,
    // 18: SQLite checks `x IN ('a', 'b', 'c')` against a scratch table it builds for each row
    // written (a list of more than two values): three to four times the cost of the insert
    // itself. Every such CHECK becomes `(x = 'a' OR x = 'b' OR x = 'c')`, which means the
    // same (`in_lists_spelled_out`, run after this SQL), and so does the inbox's open index.
    r#"
    DROP INDEX sync_inbox_open;
    CREATE INDEX sync_inbox_open ON sync_inbox(state, received_at)
        WHERE (state = 'conflict' OR state = 'refused' OR state = 'waiting');
    "#,
    // 19: when the inbox's old receipts were last removed (`store::sync::compact`).
    r#"
    ALTER TABLE sync_state ADD COLUMN compacted_at INTEGER;
    "#,
    // 20: the revocation lists other desks published (signed by their keys), to hand to the
    // customers of the licenses those desks issued.
    r#"
    CREATE TABLE peer_revocation_lists (
        desk_id    BLOB NOT NULL CHECK (length(desk_id) = 16),
        sequence   INTEGER NOT NULL,
        key_id     BLOB NOT NULL CHECK (length(key_id) = 8),
        issued_at  INTEGER NOT NULL,
        file       TEXT NOT NULL,
        PRIMARY KEY (desk_id, sequence)
    ) WITHOUT ROWID;
    "#,
    // 21: the account name search is kept by the store's account writers, not by triggers:
    // a trigger makes each write to `accounts` keep a statement journal and run a program per
    // trigger (a pull applying 100,000 accounts spent a quarter of its time there). Writers
    // note the accounts whose name the search must catch up on in `accounts_search_pending`;
    // `Store::write` indexes them before it commits. The search keeps no column sizes: it is
    // only asked LIKE, never ranked.
    r#"
    DROP TRIGGER accounts_search_insert;
    DROP TRIGGER accounts_search_delete;
    DROP TRIGGER accounts_search_update;
    DROP TRIGGER accounts_search_insert_deferred;
    DROP TRIGGER accounts_search_delete_deferred;
    DROP TRIGGER accounts_search_update_deferred;
    DROP TABLE accounts_search_deferred;
    DELETE FROM accounts_search_pending;
    DROP TABLE accounts_search;
    CREATE VIRTUAL TABLE accounts_search USING fts5(
        name, content = 'accounts', content_rowid = 'seq', tokenize = 'trigram', detail = 'none',
        columnsize = 0
    );
    INSERT INTO accounts_search (accounts_search) VALUES ('rebuild');
    "#,
    // 22: the outbox holds a published revocation list by its number, not a second copy of
    // the whole list (`store::outbox::expand` reads it when it is pushed): every list holds
    // every revoked serial, so a desk that never syncs kept them all twice.
    r#"
    UPDATE outbox
    SET entity = 'revocation_list_ref',
        body = json_object('sequence', json_extract(body, '$.sequence'))
    WHERE entity = 'revocation_list'
      AND json_extract(body, '$.sequence') IN (SELECT sequence FROM revocation_lists);
    "#,
    // 23: protocol 2. A change waiting to be pushed keeps the version of the entity it was
    // made on (`base_hlc`, `base_desk_id`: none when the entity was new here), and the desk
    // keeps the body it last pushed of an entity while that is still the entity's state here
    // (`sync_sent`), so a change another desk made without seeing it is found and both
    // versions kept. A pulled change kept for later keeps its base too.
    r#"
    ALTER TABLE outbox ADD COLUMN base_hlc TEXT CHECK (length(base_hlc) = 21);
    ALTER TABLE outbox ADD COLUMN base_desk_id BLOB CHECK (length(base_desk_id) = 16);
    ALTER TABLE sync_parked ADD COLUMN base_hlc TEXT;
    ALTER TABLE sync_parked ADD COLUMN base_desk_id BLOB;
    ALTER TABLE sync_inbox ADD COLUMN base_hlc TEXT;
    ALTER TABLE sync_inbox ADD COLUMN base_desk_id BLOB;
    CREATE TABLE sync_sent (
        entity     TEXT NOT NULL,
        entity_id  TEXT NOT NULL,
        hlc        TEXT NOT NULL CHECK (length(hlc) = 21),
        op         TEXT NOT NULL,
        version    INTEGER NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (entity, entity_id)
    ) WITHOUT ROWID;
    "#,
    // 24: a ledger entry written in a batch keeps its own hash only every 64 entries and at
    // the batch's end (`store::ledger::HASH_KEPT_EVERY`); the hashes between are derived
    // along the chain when read. The column may be NULL from now on (the hook below rewrites
    // the table's text); every entry written before keeps its hash.
    "-- entry_hash NULL allowed: see `entry_hash_optional`",
    // 25: a revocation list is kept as what changed since the list before it: the serials
    // added and removed, its bytes before the serials and its signature (`base_sequence` names
    // that list), and whole (`file`, which may be NULL from now on) once every 32 lists
    // (`store::revocations`). Lists kept before stay whole.
    r#"
    ALTER TABLE revocation_lists ADD COLUMN base_sequence INTEGER
        CHECK (base_sequence < sequence);
    ALTER TABLE revocation_lists ADD COLUMN prefix BLOB;
    ALTER TABLE revocation_lists ADD COLUMN added BLOB CHECK (length(added) % 16 = 0);
    ALTER TABLE revocation_lists ADD COLUMN removed BLOB CHECK (length(removed) % 16 = 0);
    ALTER TABLE revocation_lists ADD COLUMN signature BLOB CHECK (length(signature) = 64);
    "#,
    // 26: the features and signing key id of a license are kept once for all licenses that
    // share them (`license_features`, `license_keys`: a few rows each, never removed) and
    // named by number in the row (`features_id`, `key_ref`), like the product and customer
    // names (schema 8): 23 bytes a license fewer.
    r#"
    CREATE TABLE license_features (
        id        INTEGER PRIMARY KEY,
        features  TEXT NOT NULL UNIQUE
    );
    CREATE TABLE license_keys (
        id      INTEGER PRIMARY KEY,
        key_id  BLOB NOT NULL UNIQUE CHECK (length(key_id) = 8)
    );
    INSERT INTO license_features (features)
        SELECT DISTINCT features FROM licenses WHERE features IS NOT NULL ORDER BY features;
    INSERT INTO license_keys (key_id) SELECT DISTINCT key_id FROM licenses ORDER BY key_id;
    ALTER TABLE licenses ADD COLUMN features_id INTEGER;
    ALTER TABLE licenses ADD COLUMN key_ref INTEGER;
    UPDATE licenses SET
        features_id = (SELECT f.id FROM license_features f WHERE f.features = licenses.features),
        key_ref = (SELECT k.id FROM license_keys k WHERE k.key_id = licenses.key_id);
    ALTER TABLE licenses DROP COLUMN features;
    ALTER TABLE licenses DROP COLUMN key_id;
    "#,
    // 27: a license names its account by the account's row number (`account_seq`, a few
    // bytes) instead of its 16-byte id, in the row and in the index of an account's licenses.
    // The hook below takes the old column's reference off (SQLite drops no column a foreign
    // key names) and drops it.
    r#"
    ALTER TABLE licenses ADD COLUMN account_seq INTEGER REFERENCES accounts(seq);
    UPDATE licenses SET account_seq = (SELECT a.seq FROM accounts a WHERE a.id = licenses.account_id)
        WHERE account_id IS NOT NULL;
    DROP INDEX licenses_by_account;
    "#,
    // 28: a ledger entry names its account by number (`account_ref`) in `ledger_accounts`,
    // which keeps each account id once and is never pruned (an entry outlives the account it
    // names); and the names' search keeps no column sizes (it is only asked LIKE).
    r#"
    CREATE TABLE ledger_accounts (
        id          INTEGER PRIMARY KEY,
        account_id  BLOB NOT NULL UNIQUE CHECK (length(account_id) = 16)
    );
    INSERT INTO ledger_accounts (account_id)
        SELECT account_id FROM ledger WHERE account_id IS NOT NULL
        GROUP BY account_id ORDER BY min(seq);
    ALTER TABLE ledger ADD COLUMN account_ref INTEGER;
    UPDATE ledger SET account_ref =
        (SELECT la.id FROM ledger_accounts la WHERE la.account_id = ledger.account_id)
        WHERE account_id IS NOT NULL;
    ALTER TABLE ledger DROP COLUMN account_id;

    DROP TABLE license_names_search;
    CREATE VIRTUAL TABLE license_names_search USING fts5(
        name, content = 'license_names', content_rowid = 'id', tokenize = 'trigram',
        detail = 'none', columnsize = 0
    );
    INSERT INTO license_names_search (license_names_search) VALUES ('rebuild');
    "#,
];

/// The migration (by index) whose SQL is followed by [`in_lists_spelled_out`].
const SPELL_OUT_IN_LISTS: usize = 17;

/// The migration (by index) whose SQL is followed by [`entry_hash_optional`].
const ENTRY_HASH_OPTIONAL: usize = 23;

/// The migration (by index) whose SQL is followed by [`list_file_optional`].
const LIST_FILE_OPTIONAL: usize = 24;

/// The migration (by index) whose SQL is followed by [`account_id_dropped`].
const ACCOUNT_ID_DROPPED: usize = 26;

/// Rewrites each table's CHECK constraints from value lists to comparisons (migration 18),
/// the way SQLite documents for changing a CHECK constraint (ALTER TABLE, "making other
/// kinds of table schema changes"): the table's text in `sqlite_schema`, then a new schema
/// version. The constraints mean the same, so every stored row still meets them.
fn in_lists_spelled_out(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    let tables: Vec<(String, String)> = tx
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql LIKE '% IN (''%'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let rewritten = tables
        .into_iter()
        .map(|(name, sql)| (name, spell_out_in_lists(&sql)))
        .collect();
    rewrite_tables(tx, rewritten)
}

/// Lets `ledger.entry_hash` be NULL (migration 24).
fn entry_hash_optional(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    column_rewritten(
        tx,
        "ledger",
        "entry_hash    BLOB NOT NULL CHECK (length(entry_hash) = 32)",
        "entry_hash    BLOB CHECK (entry_hash IS NULL OR length(entry_hash) = 32)",
    )
}

/// Lets `revocation_lists.file` be NULL (migration 25).
fn list_file_optional(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    column_rewritten(
        tx,
        "revocation_lists",
        "file        TEXT NOT NULL,",
        "file        TEXT,",
    )
}

/// Drops `licenses.account_id` (migration 27) once its reference to `accounts` is taken off
/// (dropping a FOREIGN KEY constraint leaves every stored row valid), and indexes the
/// licenses of an account by `account_seq`.
fn account_id_dropped(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    column_rewritten(tx, "licenses", "BLOB REFERENCES accounts(id)", "BLOB")?;
    tx.execute_batch(
        "ALTER TABLE licenses DROP COLUMN account_id;
         CREATE INDEX licenses_by_account ON licenses(account_seq, seq);",
    )?;
    Ok(())
}

/// Rewrites one column of `table` from `was` to `now` the way [`in_lists_spelled_out`]
/// changes a table: only for a change that leaves every stored row valid (dropping a NOT NULL
/// constraint). A table whose text holds `now` already is left as it is; one whose text does
/// not hold `was` exactly once fails the migration.
fn column_rewritten(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    was: &str,
    now: &str,
) -> rusqlite_migration::HookResult {
    let sql: String = tx.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if sql.contains(now) && !sql.contains(was) {
        return Ok(());
    }
    if sql.matches(was).count() != 1 {
        return Err(rusqlite_migration::HookError::Hook(format!(
            "the {table} table is not as the schema before left it"
        )));
    }
    rewrite_tables(tx, vec![(table.into(), sql.replace(was, now))])
}

/// Replaces the text of each table `(name, sql)` in `sqlite_schema` and moves the schema
/// version on (ALTER TABLE, "making other kinds of table schema changes"), then reads the
/// schema back so a text that does not parse fails the migration.
fn rewrite_tables(
    tx: &rusqlite::Transaction<'_>,
    tables: Vec<(String, String)>,
) -> rusqlite_migration::HookResult {
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", true)?;
    for (name, sql) in tables {
        tx.execute(
            "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = ?2 AND sql <> ?1",
            [&sql, &name],
        )?;
    }
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", false)?;
    // Read back: the rewritten schema must parse.
    tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(())
}

/// `name IN ('a', 'b', 'c')` (three values or more, each a quoted word) as
/// `(name = 'a' OR name = 'b' OR name = 'c')`; everything else as it is.
fn spell_out_in_lists(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find(" IN (") {
        let (before, after) = rest.split_at(at);
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &before[name_start..];
        let list_start = &after[" IN (".len()..];
        let values = list_start.find(')').map(|end| {
            let items: Vec<&str> = list_start[..end].split(',').map(str::trim).collect();
            let quoted = items.iter().all(|v| {
                v.len() >= 2
                    && v.starts_with('\'')
                    && v.ends_with('\'')
                    && !v[1..v.len() - 1].contains('\'')
            });
            (quoted && items.len() >= 3 && !name.is_empty()).then_some((items, end))
        });
        match values.flatten() {
            Some((items, end)) => {
                out.push_str(&before[..name_start]);
                let terms: Vec<String> = items.iter().map(|v| format!("{name} = {v}")).collect();
                out.push('(');
                out.push_str(&terms.join(" OR "));
                out.push(')');
                rest = &list_start[end + 1..];
            }
            None => {
                out.push_str(before);
                out.push_str(" IN (");
                rest = list_start;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .enumerate()
            .map(|(i, sql)| match i {
                SPELL_OUT_IN_LISTS => M::up_with_hook(sql, in_lists_spelled_out),
                ENTRY_HASH_OPTIONAL => M::up_with_hook(sql, entry_hash_optional),
                LIST_FILE_OPTIONAL => M::up_with_hook(sql, list_file_optional),
                ACCOUNT_ID_DROPPED => M::up_with_hook(sql, account_id_dropped),
                _ => M::up(sql),
            })
            .collect(),
    )
}

/// Brings `conn` to schema `version` (what an older build would have left, in tests). Table
/// rebuilds expect foreign keys off while they run (`Store::open` does that).
pub fn migrate_to(conn: &mut Connection, version: i64) -> Result<(), rusqlite_migration::Error> {
    let version = usize::try_from(version.clamp(0, SCHEMA_VERSION)).unwrap_or(0);
    migrations().to_version(conn, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn value_lists_are_spelled_out_as_comparisons() {
        assert_eq!(
            spell_out_in_lists(
                "a TEXT CHECK (state IN ('x', 'y', 'z')), b TEXT CHECK (b IS NULL OR b IN ('p','q','r')), c CHECK (c IN ('one', 'two')), d CHECK (d IN (1, 2, 3))"
            ),
            "a TEXT CHECK ((state = 'x' OR state = 'y' OR state = 'z')), b TEXT CHECK (b IS NULL OR (b = 'p' OR b = 'q' OR b = 'r')), c CHECK (c IN ('one', 'two')), d CHECK (d IN (1, 2, 3))"
        );
    }

    #[test]
    fn no_table_checks_a_value_list_and_the_checks_still_hold() {
        let mut conn = Connection::open_in_memory().expect("memory");
        migrations().to_latest(&mut conn).expect("migrated");
        let schema: Vec<(String, String)> = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("read");
        let listed: Vec<&String> = schema
            .iter()
            .filter(|(_, sql)| spell_out_in_lists(sql) != *sql)
            .map(|(name, _)| name)
            .collect();
        assert!(listed.is_empty(), "{listed:?}");
        assert!(
            schema.iter().any(|(name, sql)| name == "licenses"
                && sql.contains("(status = 'active' OR status = 'suspended'")),
            "the licenses table was spelled out"
        );
        conn.execute(
            "INSERT INTO doc_counters (kind, series, year, last_seq) VALUES ('invoice', '', 2026, 1)",
            [],
        )
        .expect("a value the check allows");
        let refused = conn.execute(
            "INSERT INTO doc_counters (kind, series, year, last_seq) VALUES ('receipt', '', 2026, 1)",
            [],
        );
        assert!(refused.is_err(), "a value the check never allowed");
    }
}
