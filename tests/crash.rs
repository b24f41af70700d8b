//! Crash safety, proven by killing real processes: each scenario runs the real `license-desk`
//! binary and kills it with SIGKILL at random moments of its run, then checks that the database
//! opens, `integrity_check` is ok, no foreign key dangles, the ledger verifies, nothing the
//! killed process printed is missing, nothing is half-written, and the next run of the same
//! command completes without repair.
//!
//! `cargo test` kills each command 5 times. The full count is a flag:
//! `LICENSE_DESK_CRASH_KILLS=20 LICENSE_DESK_CRASH_ROWS=100000 cargo test --release --test crash
//! -- --nocapture`; the seed is printed and `LICENSE_DESK_CRASH_SEED` replays it. Every kill
//! is printed: what, and after how many milliseconds.
#![cfg(unix)]
// Helpers panic on a broken test setup, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::desk::{Desk, s, text};
use license_desk::store::{SCHEMA_VERSION, Store};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many times each command is killed.
fn kills() -> usize {
    std::env::var("LICENSE_DESK_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// Rows of the bulk issue scenario (`LICENSE_DESK_CRASH_ROWS`; 6,000 by default, 100,000 for
/// the full run).
fn bulk_rows() -> usize {
    std::env::var("LICENSE_DESK_CRASH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6000)
}

/// A small deterministic generator (xorshift), seeded at random unless a seed is given.
struct Rng(u64);

impl Rng {
    fn new(what: &str) -> Self {
        let seed = std::env::var("LICENSE_DESK_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write(what.as_bytes());
                h.finish() | 1
            });
        println!("[{what}] seed {seed} (LICENSE_DESK_CRASH_SEED={seed} replays it)");
        Self(seed)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What a run printed before it ended or was killed.
struct Run {
    killed: bool,
    stdout: String,
    elapsed: Duration,
}

/// Runs `cmd`, killing it with SIGKILL after `after` unless it ends first.
fn run_killed(mut cmd: Command, after: Option<Duration>, out_dir: &Path) -> Run {
    let out_path = out_dir.join(format!("stdout-{}.txt", std::process::id()));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut killed = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if after.is_some_and(|a| started.elapsed() >= a) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    Run {
        killed,
        stdout,
        elapsed,
    }
}

/// What must hold after any kill: the database opens and verifies.
fn check_database(desk: &Desk) {
    let verified = desk.run(&["ledger", "verify"]);
    assert!(
        verified.status.success(),
        "the database does not open or verify after a kill: {}",
        text(&verified)
    );
    let conn = common::raw_connection(&desk.database());
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0, "rows refer to rows that do not exist");
    // Every license has its ledger entry and its outbox row: its own, or (bulk issue) the one
    // change naming the range of ledger entries its batch committed.
    let orphans: i64 = conn
        .query_row(
            "WITH ranges AS (
                 SELECT substr(entity_id, instr(entity_id, ':') + 1) AS r
                 FROM outbox WHERE entity = 'ledger_batch'),
             batches AS (
                 SELECT CAST(substr(r, 1, instr(r, '-') - 1) AS INTEGER) AS lo,
                        CAST(substr(r, instr(r, '-') + 1) AS INTEGER) AS hi
                 FROM ranges),
             own AS (SELECT entity_id FROM outbox WHERE entity = 'license'),
             issued AS (SELECT license_id, seq FROM ledger WHERE action = 'issue')
             SELECT count(*) FROM licenses c LEFT JOIN issued i USING (license_id)
             WHERE i.seq IS NULL
                OR (lower(substr(hex(c.license_id), 1, 8) || '-' || substr(hex(c.license_id), 9, 4)
                    || '-' || substr(hex(c.license_id), 13, 4) || '-'
                    || substr(hex(c.license_id), 17, 4) || '-' || substr(hex(c.license_id), 21))
                   NOT IN own
                   AND NOT EXISTS (SELECT 1 FROM batches b WHERE i.seq BETWEEN b.lo AND b.hi))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        orphans, 0,
        "a license without its ledger entry or outbox row"
    );
}

/// How long one uninterrupted run of `make()` takes, to spread the kills over it.
fn timed(desk: &Desk, make: impl Fn() -> Command) -> Duration {
    let run = run_killed(make(), None, desk.dir.path());
    run.elapsed
}

/// The older schema the migration test starts from: the one before the licenses were rebuilt
/// (schema 8, the heaviest migration), so a kill can land in it or in any migration after it.
const PREVIOUS: i64 = 7;

/// A database of schema [`PREVIOUS`] holding the rows of `current` (a copy of every table the
/// older schema has, with the columns it has), made by the test the way an older License Desk
/// would have left it.
fn previous_schema_copy(current: &Path, dest: &Path) {
    let previous = PREVIOUS;
    let mut conn = common::raw_connection(dest);
    license_desk::store::migrate_to(&mut conn, previous).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA journal_mode = WAL;")
        .unwrap();
    conn.execute("ATTACH DATABASE ?1 AS src", [current.to_str().unwrap()])
        .unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM main.sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'accounts_search%'
             AND name IN (SELECT name FROM src.sqlite_master WHERE type = 'table')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tx = conn.transaction().unwrap();
    for table in tables {
        if table == "licenses" || table == "ledger" {
            // Stored differently since schema 8: copied the way the older schema kept them.
            continue;
        }
        let columns = |schema: &str| -> Vec<String> {
            tx.prepare(&format!("SELECT name FROM {schema}.pragma_table_info(?1)"))
                .unwrap()
                .query_map([&table], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let theirs = columns("src");
        let common: Vec<String> = columns("main")
            .into_iter()
            .filter(|c| theirs.contains(c))
            .map(|c| format!("\"{c}\""))
            .collect();
        let list = common.join(", ");
        tx.execute(&format!("DELETE FROM main.\"{table}\""), [])
            .unwrap();
        tx.execute(
            &format!("INSERT INTO main.\"{table}\" ({list}) SELECT {list} FROM src.\"{table}\""),
            [],
        )
        .unwrap();
    }
    // Licenses: names inline and the signed bytes kept (schema 8 re-encodes a compact row's
    // bytes from its columns and signature; the store reads them back that way).
    tx.execute(
        "INSERT INTO main.licenses (seq, license_id, key_id, account_id, product, kind, customer,
             cluster, ip, capacity_tb, seats, issued_at, expires_at, status, artifact)
         SELECT l.seq, l.license_id, k.key_id,
             (SELECT a.id FROM src.accounts a WHERE a.seq = l.account_seq), p.name, l.kind, c.name,
             l.cluster,
             l.ip, l.capacity_tb, l.seats, l.issued_at, l.expires_at, l.status, x''
         FROM src.licenses l JOIN src.license_names p ON p.id = l.product_id
             JOIN src.license_names c ON c.id = l.customer_id
             JOIN src.license_keys k ON k.id = l.key_ref",
        [],
    )
    .unwrap();
    let reader = license_desk::store::open_read_only(current).unwrap();
    let seqs: Vec<i64> = tx
        .prepare("SELECT seq FROM main.licenses")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for seq in seqs {
        let row = license_desk::store::licenses::by_seq(&reader, seq)
            .unwrap()
            .unwrap();
        tx.execute(
            "UPDATE main.licenses SET artifact = ?1 WHERE seq = ?2",
            rusqlite::params![row.artifact, seq],
        )
        .unwrap();
    }
    // Ledger: an issue entry keeps the hash of the license's bytes, and every entry its own
    // hash, as the older schema did.
    tx.execute(
        "INSERT INTO main.ledger (seq, format, action, license_id, payload_hash, entry_hash,
             operator, recorded_at, account_id, status, note)
         SELECT l.seq, l.format, l.action, l.license_id, COALESCE(l.payload_hash, zeroblob(32)),
             COALESCE(l.entry_hash, zeroblob(32)), l.operator, l.recorded_at,
             (SELECT a.account_id FROM src.ledger_accounts a WHERE a.id = l.account_ref),
             l.status, l.note
         FROM src.ledger l",
        [],
    )
    .unwrap();
    let derived: Vec<i64> = tx
        .prepare("SELECT seq FROM src.ledger WHERE entry_hash IS NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for seq in derived {
        let hash = license_desk::store::ledger::hash_at(&reader, seq).unwrap();
        tx.execute(
            "UPDATE main.ledger SET entry_hash = ?1 WHERE seq = ?2",
            rusqlite::params![hash.as_slice(), seq],
        )
        .unwrap();
    }
    let issues: Vec<(i64, Vec<u8>)> = tx
        .prepare(
            "SELECT l.seq, c.artifact FROM main.ledger l JOIN main.licenses c USING (license_id)
             WHERE l.action = 'issue'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (seq, artifact) in issues {
        let hash = license_desk::domain::ledger_chain::artifact_hash(&artifact);
        tx.execute(
            "UPDATE main.ledger SET payload_hash = ?1 WHERE seq = ?2",
            rusqlite::params![hash.as_slice(), seq],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    conn.execute("DETACH DATABASE src", []).unwrap();
}

fn partial_path(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

fn licenses(database: &Path) -> i64 {
    common::raw_connection(database)
        .query_row("SELECT count(*) FROM licenses", [], |r| r.get(0))
        .unwrap()
}

fn issue_csv(desk: &Desk, rows: usize, name: &str) -> PathBuf {
    let csv = desk.path(name);
    let mut body = String::from("product,kind,customer\n");
    for i in 0..rows {
        body.push_str(&format!("Storage,pro,Customer {i}\n"));
    }
    std::fs::write(&csv, body).unwrap();
    csv
}

#[test]
fn a_migration_killed_anywhere_leaves_a_whole_schema_and_completes_next_time() {
    let source = Desk::with_key();
    let csv = issue_csv(&source, 3000, "seed.csv");
    let out = source.path("seed-out.csv");
    source.ok(&["issue", "--csv", s(&csv), "--out", s(&out)]);
    let desk = Desk::new();
    let pristine = desk.path("previous-schema.sqlite3");
    previous_schema_copy(&source.database(), &pristine);
    let reset = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", desk.database().display()));
        }
        let _ = std::fs::remove_dir_all(desk.dir.path().join("backups"));
        std::fs::copy(&pristine, desk.database()).unwrap();
    };
    reset();
    let make = || desk.command(&["keys", "list"]);
    let span = timed(&desk, make);
    let mut rng = Rng::new("migration");
    let span_ms = u64::try_from(span.as_millis()).unwrap().max(1);
    for n in 1..=kills() {
        reset();
        let at = Duration::from_millis(rng.below(span_ms));
        let run = run_killed(make(), Some(at), desk.dir.path());
        let version: i64 = common::raw_connection(&desk.database())
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        println!(
            "[migration] kill {n}: after {} ms ({}), schema {version}",
            at.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            }
        );
        // Each migration is one transaction: the file is at the old schema, the new one, or
        // one of those between, never half-way through one.
        assert!(
            (PREVIOUS..=SCHEMA_VERSION).contains(&version),
            "schema {version} is not one a whole migration leaves"
        );
        // The next run upgrades (or finds it upgraded) and everything verifies.
        check_database(&desk);
        assert_eq!(licenses(&desk.database()), 3000);
    }
}

/// A desk ready to sell: seller, the starter price list, an account with billing details, a
/// card and money in its wallet, and a seat contract. Returns the wallet id and contract id.
fn commerce_desk() -> (Desk, String, String) {
    use license_desk::clock::Clock as _;
    use license_desk::commerce::catalog::starter;
    use license_desk::commerce::seller::SellerDetails;
    use license_desk::commerce::terms::Term;
    use license_desk::domain::billing::BillingDetails;
    use license_desk::domain::ids::IdempotencyKey;
    use license_desk::domain::money::{Currency, Money};
    use license_desk::services::accounts::{self, AccountsCommand};
    use license_desk::services::commerce::{self, CommerceCommand, CommerceEvent};
    use license_desk::services::keys::KeyVault;
    let desk = Desk::with_key();
    let mut store = Store::open(&desk.database()).unwrap();
    let clock = std::sync::Arc::new(license_desk::clock::SystemClock);
    let now = clock.now().timestamp();
    let today = clock.now().date_naive();
    let mut vault = KeyVault::new(keyvault::KdfParams::IMPORT_FLOOR, 10, clock);
    let mut run = |store: &mut Store, c| commerce::run(store, &mut vault, now, c).unwrap();
    run(
        &mut store,
        CommerceCommand::SaveSeller(SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Friedrichstr. 10\n10117 Berlin".into(),
            country: "DE".into(),
            vat_id: "DE136695976".into(),
            email: "billing@vendor.example".into(),
        }),
    );
    run(
        &mut store,
        CommerceCommand::SavePriceList(starter(
            uuid::Uuid::now_v7(),
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        )),
    );
    let account = accounts::create(&mut store, "Acme Storage", now).unwrap();
    accounts::run(
        &mut store,
        now,
        AccountsCommand::SaveBilling {
            account_id: account.id,
            details: BillingDetails {
                company: "Acme Storage GmbH".into(),
                contact_name: "Ada Lovelace".into(),
                email: "ada@acme.example".into(),
                address_line1: "Hauptstr. 1".into(),
                city: "Berlin".into(),
                postal_code: "10115".into(),
                country: "DE".into(),
                ..BillingDetails::default()
            },
        },
    )
    .unwrap();
    accounts::run(
        &mut store,
        now,
        AccountsCommand::AddPaymentMethod {
            account_id: account.id,
            details: license_desk::domain::payment::PaymentDetails::Card {
                holder: "Ada Lovelace".into(),
                brand: license_desk::domain::payment::CardBrand::Visa,
                last4: "4242".into(),
                exp_month: 8,
                exp_year: 2030,
            },
            make_default: true,
        },
    )
    .unwrap();
    run(
        &mut store,
        CommerceCommand::TopUp {
            account_id: account.id,
            amount: Money::from_minor(100_000_000, Currency::EUR),
            key: IdempotencyKey::new(),
        },
    );
    let CommerceEvent::SeatContractCreated { contract, .. } = run(
        &mut store,
        CommerceCommand::CreateSeatContract {
            account_id: account.id,
            name: "Design team".into(),
            term: Term::Annual,
            start: today,
            seats: 10,
        },
    ) else {
        panic!("no seat contract");
    };
    (desk, account.wallet_id.to_string(), contract.id.to_string())
}

/// Money is never half-booked: order and invoice numbers have no gaps, every order paid by
/// invoice has its invoice, the wallet adds up, and `key` placed at most one order.
fn check_money(desk: &Desk, key: &str) {
    let conn = common::raw_connection(&desk.database());
    let gapless = |table: &str| -> bool {
        conn.query_row(
            &format!(
                "SELECT count(*) = coalesce(max(seq), 0) FROM {table} WHERE number IS NOT NULL"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(gapless("orders"), "order numbers have a gap");
    assert!(gapless("invoices"), "invoice numbers have a gap");
    let key_bytes = uuid::Uuid::parse_str(key).unwrap();
    let placed: i64 = conn
        .query_row(
            "SELECT count(*) FROM orders WHERE idempotency_key = ?1",
            [key_bytes.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(placed <= 1, "one key placed {placed} orders");
    let store = Store::open(&desk.database()).unwrap();
    let account: Vec<u8> = conn
        .query_row("SELECT id FROM accounts LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let account = license_desk::domain::ids::AccountId(uuid::Uuid::from_slice(&account).unwrap());
    license_desk::services::commerce::wallet_of(
        store.conn(),
        account,
        license_desk::domain::money::Currency::EUR,
    )
    .expect("the wallet adds up entry by entry");
}

#[test]
fn an_order_killed_anywhere_is_placed_once_or_not_at_all() {
    let (desk, wallet, _) = commerce_desk();
    let order = |key: &str| {
        desk.command(&[
            "order",
            "--account",
            &wallet,
            "--product",
            "pro",
            "--term",
            "annual",
            "--quantity",
            "3",
            "--pay-by",
            "wallet",
            "--key",
            key,
        ])
    };
    let span = timed(&desk, || order(&uuid::Uuid::new_v4().to_string()));
    let span_ms = u64::try_from(span.as_millis()).unwrap().max(1);
    let mut rng = Rng::new("order");
    for n in 1..=kills() {
        let key = uuid::Uuid::new_v4().to_string();
        let at = Duration::from_millis(rng.below(span_ms));
        let run = run_killed(order(&key), Some(at), desk.dir.path());
        println!(
            "[order] kill {n}: after {} ms of {} ({})",
            at.as_millis(),
            span.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            }
        );
        check_database(&desk);
        check_money(&desk, &key);
        // The same command again completes: it places the order, or finds it placed.
        let again = run_killed(order(&key), None, desk.dir.path());
        assert!(again.stdout.contains("Order:"), "{}", again.stdout);
        check_money(&desk, &key);
    }
}

#[test]
fn a_seat_change_killed_anywhere_is_booked_once_or_not_at_all() {
    let (desk, _, contract) = commerce_desk();
    let seats = |d: &Desk| -> i64 {
        common::raw_connection(&d.database())
            .query_row("SELECT seats FROM seat_contracts", [], |r| r.get(0))
            .unwrap()
    };
    let change = |seats: &str, key: &str| {
        desk.command(&["seats", "change", &contract, "--seats", seats, "--key", key])
    };
    let span = timed(&desk, || change("11", &uuid::Uuid::new_v4().to_string()));
    let span_ms = u64::try_from(span.as_millis()).unwrap().max(1);
    let mut rng = Rng::new("seats");
    for n in 1..=kills() {
        let target = 11 + n as i64;
        let key = uuid::Uuid::new_v4().to_string();
        let target_text = target.to_string();
        let at = Duration::from_millis(rng.below(span_ms));
        let run = run_killed(change(&target_text, &key), Some(at), desk.dir.path());
        let now = seats(&desk);
        println!(
            "[seats] kill {n}: after {} ms of {} ({}), seats {now}",
            at.as_millis(),
            span.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            }
        );
        assert!(now == target - 1 || now == target, "seats {now}");
        check_database(&desk);
        check_money(&desk, &key);
        let again = run_killed(change(&target_text, &key), None, desk.dir.path());
        assert!(again.stdout.contains("Seats:"), "{}", again.stdout);
        assert_eq!(seats(&desk), target);
    }
}

#[test]
fn a_bulk_issue_killed_anywhere_keeps_every_serial_it_printed_and_resumes() {
    let rows = bulk_rows();
    let desk = Desk::with_key();
    let mut rng = Rng::new("issue --csv");
    let mut span = None;
    for n in 1..=kills() {
        // A file of its own each time, so that each kill lands in a run that has work to do.
        let csv = desk.path(&format!("bulk-{n}.csv"));
        let mut body = String::from("product,kind,customer\n");
        for i in 0..rows {
            body.push_str(&format!("Storage,pro,Batch {n} customer {i}\n"));
        }
        std::fs::write(&csv, body).unwrap();
        let out = desk.path(&format!("bulk-{n}-out.csv"));
        let make = || desk.command(&["issue", "--csv", s(&csv), "--out", s(&out)]);
        let span = *span.get_or_insert_with(|| {
            // One uninterrupted run of the same size, on a desk of its own, to time it.
            let probe = Desk::with_key();
            let probe_csv = issue_csv(&probe, rows, "probe.csv");
            let probe_out = probe.path("probe-out.csv");
            timed(&probe, || {
                probe.command(&["issue", "--csv", s(&probe_csv), "--out", s(&probe_out)])
            })
        });
        let at = Duration::from_millis(rng.below(u64::try_from(span.as_millis()).unwrap()));
        let run = run_killed(make(), Some(at), desk.dir.path());
        let committed = licenses_of_batch(&desk, n);
        println!(
            "[issue --csv] kill {n}: after {} ms of {} ({}), {committed} of {rows} rows committed",
            at.as_millis(),
            span.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            }
        );
        check_database(&desk);
        // Every serial already handed out (in the output, or in the rows written as they
        // committed) is in the database, byte for byte.
        let conn = common::raw_connection(&desk.database());
        for file in [out.clone(), partial_path(&out)] {
            let Ok(written) = std::fs::read_to_string(&file) else {
                continue;
            };
            // A line the kill cut off was never handed out whole: only complete lines count.
            let complete = written.split_inclusive('\n').filter(|l| l.ends_with('\n'));
            for line in complete.skip(1).map(str::trim_end) {
                let id = uuid::Uuid::parse_str(line.split(',').next().unwrap()).unwrap();
                let serial = line.rsplit(',').next().unwrap();
                // Read as the store reads it (a compact row's bytes are re-encoded).
                let artifact = license_desk::store::licenses::get(
                    &conn,
                    license_desk::domain::ids::LicenseId(id),
                )
                .unwrap_or_else(|e| panic!("{id} cannot be read: {e}"))
                .unwrap_or_else(|| panic!("{id} was handed out but is not stored"))
                .artifact;
                let stored = licensekey::SignedLicense::from_bytes(&artifact).unwrap();
                assert_eq!(stored.to_serial(), serial, "license {id}");
            }
        }
        // The same command again issues only what is missing and writes the whole output.
        if !out.exists() {
            let resumed = run_killed(make(), None, desk.dir.path());
            assert!(resumed.stdout.contains("Issued"), "{}", resumed.stdout);
        }
        check_database(&desk);
        assert_eq!(licenses_of_batch(&desk, n), rows, "every row issued once");
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            written.lines().count(),
            rows + 1,
            "every row once in the output"
        );
        let customers: std::collections::BTreeSet<&str> = written
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(customers.len(), rows);
        assert!(!partial_path(&out).exists());
    }
}

/// How many licenses of the `n`th bulk file are stored.
fn licenses_of_batch(desk: &Desk, n: usize) -> usize {
    let count: i64 = common::raw_connection(&desk.database())
        .query_row(
            "SELECT count(*) FROM licenses l JOIN license_names n ON n.id = l.customer_id
             WHERE n.name LIKE ?1",
            [format!("Batch {n} customer %")],
            |r| r.get(0),
        )
        .unwrap();
    usize::try_from(count).unwrap()
}

#[test]
fn demo_data_killed_anywhere_leaves_whole_rows_and_runs_again() {
    let demo = |desk: &Desk, seed: usize| {
        desk.command(&[
            "demo-data",
            "--licenses",
            "3000",
            "--accounts",
            "60",
            "--seed",
            &seed.to_string(),
        ])
    };
    let probe = Desk::with_key();
    let span = timed(&probe, || demo(&probe, 1));
    let span_ms = u64::try_from(span.as_millis()).unwrap().max(1);
    let desk = Desk::with_key();
    let mut rng = Rng::new("demo-data");
    for n in 1..=kills() {
        let at = Duration::from_millis(rng.below(span_ms));
        let run = run_killed(demo(&desk, n), Some(at), desk.dir.path());
        println!(
            "[demo-data] kill {n}: after {} ms of {} ({}), {} licenses in the database",
            at.as_millis(),
            span.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            },
            licenses(&desk.database())
        );
        check_database(&desk);
    }
    // The next run completes without any repair.
    let before = licenses(&desk.database());
    let again = run_killed(demo(&desk, kills() + 1), None, desk.dir.path());
    assert!(
        again
            .stdout
            .starts_with("Made 60 accounts and 3000 licenses"),
        "{}",
        again.stdout
    );
    assert_eq!(licenses(&desk.database()), before + 3000);
    check_database(&desk);
}

/// Changes of the feed the sync scenario pulls (`LICENSE_DESK_CRASH_ROWS` / 2 accounts, each
/// with a wallet top-up).
fn feed_accounts() -> usize {
    (bulk_rows() / 2).max(500)
}

/// Applied pulled changes of `entity`, and the rows they made. A fact's receipt is in the
/// inbox; an applied upsert's is the entity's version.
fn applied_and_rows(database: &Path, entity: &str, table: &str) -> (i64, i64) {
    let conn = common::raw_connection(database);
    let applied = conn
        .query_row(
            "SELECT count(*) FROM (
                 SELECT entity_id FROM sync_inbox WHERE entity = ?1 AND state = 'applied'
                 UNION SELECT entity_id FROM sync_versions WHERE entity = ?1)",
            [entity],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let rows = conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap();
    (applied, rows)
}

#[test]
fn a_sync_pull_killed_anywhere_applies_each_change_once_and_resumes() {
    use license_desk::commerce::wallet::{WalletChange, WalletEntry};
    use license_desk::domain::money::{Currency, Money};
    let portal_dir = tempfile::tempdir().unwrap();
    let (server, token) = common::portal::start(portal_dir.path());
    let url = server.url();
    let n = feed_accounts();
    // Another desk made the feed: accounts, each with a top-up.
    {
        let maker = Desk::new();
        let mut store = Store::open(&maker.database()).unwrap();
        store
            .write(|tx| {
                for i in 0..n {
                    let account =
                        license_desk::store::accounts::create(tx, &format!("Customer {i}"), 1)?;
                    let entry = WalletEntry {
                        id: uuid::Uuid::now_v7(),
                        at: 1,
                        change: WalletChange::TopUp {
                            amount: Money::from_major(10, Currency::EUR).unwrap(),
                            reference: format!("transfer {i}"),
                        },
                    };
                    license_desk::store::wallet::append(tx, account.id, &entry, 1)?;
                }
                Ok::<_, license_desk::store::StoreError>(())
            })
            .unwrap();
        let client = common::portal::client(&url, &token);
        license_desk::sync::push::push(&mut store, &client, Default::default(), 2).unwrap();
    }
    let token_file = portal_dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let sync =
        |desk: &Desk| desk.command(&["sync", "--portal", &url, "--token-file", s(&token_file)]);
    // Timed on a desk of its own (a finished pull would leave nothing to kill).
    let fresh = Desk::new();
    let span = run_killed(sync(&fresh), None, fresh.dir.path()).elapsed;
    let span_ms = u64::try_from(span.as_millis()).unwrap().max(1);
    let desk = Desk::new();
    let mut rng = Rng::new("sync pull");
    for k in 1..=kills() {
        let at = Duration::from_millis(rng.below(span_ms));
        let run = run_killed(sync(&desk), Some(at), desk.dir.path());
        println!(
            "[sync pull] kill {k}: after {} ms of {} ({})",
            at.as_millis(),
            span.as_millis(),
            if run.killed {
                "killed"
            } else {
                "it had finished"
            }
        );
        check_database(&desk);
        // Whatever was taken was applied whole and once: a row for each applied change.
        let (accounts_applied, accounts) =
            applied_and_rows(&desk.database(), "account", "accounts");
        assert_eq!(accounts_applied, accounts, "accounts applied vs held");
        let (entries_applied, entries) =
            applied_and_rows(&desk.database(), "wallet_entry", "wallet_entries");
        assert_eq!(entries_applied, entries, "wallet entries applied vs held");
    }
    let last = run_killed(sync(&desk), None, desk.dir.path());
    assert!(!last.killed);
    let want = i64::try_from(n).unwrap();
    assert_eq!(
        applied_and_rows(&desk.database(), "account", "accounts"),
        (want, want)
    );
    assert_eq!(
        applied_and_rows(&desk.database(), "wallet_entry", "wallet_entries"),
        (want, want)
    );
    let quiet = desk.run(&["sync", "--portal", &url, "--token-file", s(&token_file)]);
    assert_eq!(quiet.status.code(), Some(3), "{}", text(&quiet));
}
