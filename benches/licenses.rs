//! Licenses at scale (issue #14): a bulk issue against raw signing on one core and against the
//! Python peer script, and the license list's first page for every filter and sort over a
//! million licenses. Figures and the machine go in BENCHMARKS.md.
//!
//! The Licenses panel over that list, in the app driven by egui_kittest (CPU time of the UI
//! logic, no rendering): one frame while scrolling, one frame jumping to a random place (the
//! median and 95th percentile are printed), the app's first frame, and the memory the app
//! holds with the list open against an empty desk.
//!
//! `LICENSE_DESK_BENCH_BULK` (default 100,000) sets the bulk issue's size and
//! `LICENSE_DESK_BENCH_LIST` (default 1,000,000) the list's; the list's database is made once
//! (demo data: accounts, licenses of every kind and term, suspended and deleted ones) under
//! `target/bench-data/`.

// A bench stops at the first thing that goes wrong, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use keyvault::KdfParams;
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::app::{AppConfig, LicenseDeskApp};
use license_desk::clock::FixedClock;
use license_desk::domain::issue::{IssueDraft, IssueSpec};
use license_desk::domain::license_filter::LicenseFilter;
use license_desk::domain::license_status::LicenseStatus;
use license_desk::services::demo::{self, DemoSize};
use license_desk::services::{Progress, keys, licensing};
use license_desk::store::license_list::{ListQuery, Sort, SortColumn};
use license_desk::store::{self, Store};
use licensekey::{LicenseKind, SignedLicense, SigningKey, Uuid};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: i64 = 1_795_435_200;
const PASS: &str = "bench passphrase, long enough";
/// Bump when the bench data's shape changes, so an old copy is not reused.
const DATA_VERSION: &str = "licenses-v2";
const DAY: i64 = 86_400;

struct Quiet;

impl Progress for Quiet {
    fn report(&mut self, _done: u64, _total: u64) {}
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spec(i: u64) -> IssueSpec {
    IssueDraft {
        product: ["Storage OS", "Backup Suite", "Archive Vault"][(i % 3) as usize].into(),
        customer: format!("Customer {i}"),
        kind: LicenseKind::Pro,
        cluster: format!("c0ffee00-0000-4000-8000-{i:012x}"),
        ip: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
        capacity_tb: "5".into(),
        seats: "5".into(),
        days: "365".into(),
        ..IssueDraft::default()
    }
    .validate()
    .expect("a valid license")
}

fn new_store(dir: &std::path::Path) -> (Store, SigningKey) {
    let mut store = Store::open(&dir.join("desk.sqlite3")).unwrap();
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    (store, key)
}

/// Runs the peer script once with `n` licenses and prints what it says.
fn peer(n: u64) {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/python_bulk_issue.py");
    let db = std::env::temp_dir().join(format!("peer-bulk-{}.db", std::process::id()));
    match std::process::Command::new("python3")
        .arg(&script)
        .arg(n.to_string())
        .arg(&db)
        .output()
    {
        Ok(out) if out.status.success() => {
            eprintln!(
                "peer {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(out) => eprintln!(
            "peer {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => eprintln!("peer {} not run: {e}", script.display()),
    }
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    let _ = std::fs::remove_file(db.with_extension("db-shm"));
}

fn bulk(c: &mut Criterion) {
    let n = env_count("LICENSE_DESK_BENCH_BULK", 100_000);
    let specs: Vec<IssueSpec> = (0..n).map(spec).collect();
    peer(n);

    let mut group = c.benchmark_group("bulk issue");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    {
        let dir = tempfile::tempdir().unwrap();
        let (_store, key) = new_store(dir.path());
        let one = specs[0].clone();
        group.bench_function("sign one license, one core (raw ed25519 + encoding)", |b| {
            b.iter(|| black_box(SignedLicense::sign(one.payload(Uuid::now_v7(), NOW), &key)))
        });
    }
    group.bench_function(
        format!("issue {n} licenses into SQLite (every core, one writer)"),
        |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let (store, key) = new_store(dir.path());
                    (dir, store, key)
                },
                |(dir, mut store, key)| {
                    let issued = licensing::issue_many(
                        &mut store,
                        &key,
                        &specs,
                        None,
                        "bench",
                        NOW,
                        &mut Quiet,
                        |_| Ok(()),
                    )
                    .unwrap();
                    assert_eq!(issued, n);
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        },
    );
    group.finish();

    // Once: what taking those licenses into the list's indexes costs afterwards.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, key) = new_store(dir.path());
    let started = Instant::now();
    licensing::issue_many(
        &mut store,
        &key,
        &specs,
        None,
        "bench",
        NOW,
        &mut Quiet,
        |_| Ok(()),
    )
    .unwrap();
    let issued = started.elapsed();
    let started = Instant::now();
    let listed = licensing::index_list(&mut store, &mut Quiet).unwrap();
    eprintln!(
        "one run: issued {n} in {issued:.2?} ({:.0}/s), then listed {listed} in {:.2?}",
        n as f64 / issued.as_secs_f64(),
        started.elapsed()
    );
}

/// The list's bench database (made once) and its size in bytes.
fn list_database(count: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("../bench-data")
        .join(format!("{DATA_VERSION}-{count}"));
    let path = dir.join("desk.sqlite3");
    let ready = dir.join("ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (mut store, key) = new_store(&dir);
        let started = Instant::now();
        let size = DemoSize {
            licenses: count,
            accounts: (count / 100).max(10),
            seed: 1,
        };
        let summary = demo::fill(&mut store, &key, size, NOW, &mut |_| {}, &mut Quiet).unwrap();
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
            .unwrap();
        eprintln!(
            "made {summary:?} in {:.0?} ({} MB)",
            started.elapsed(),
            std::fs::metadata(&path).unwrap().len() / 1_000_000
        );
        std::fs::write(&ready, b"").unwrap();
    }
    path
}

/// Something `rows` has, as a filter would be typed: the middle of a text.
fn middle(text: &str, len: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = chars.len().saturating_sub(len) / 2;
    chars[start..(start + len).min(chars.len())]
        .iter()
        .collect()
}

fn list(c: &mut Criterion) {
    let count = env_count("LICENSE_DESK_BENCH_LIST", 1_000_000);
    let path = list_database(count);
    eprintln!(
        "list database: {count} licenses, {} MB",
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
    let conn = store::open_read_only(&path).unwrap();
    // Values the filters look for, taken from a row in the middle of the data.
    let sample = ListQuery::new(LicenseFilter::default(), Sort::default(), NOW)
        .read(&conn, None, 0, 1)
        .unwrap()
        .pop()
        .expect("the bench data has licenses");
    let ip = conn
        .query_row(
            "SELECT ip FROM licenses WHERE ip IS NOT NULL AND seq > ?1 LIMIT 1",
            [count as i64 / 2],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    let filters: Vec<(String, LicenseFilter)> = vec![
        (
            "ID (8 hex digits from the middle)".into(),
            LicenseFilter {
                id: middle(&sample.license_id.to_string().replace('-', ""), 8),
                ..LicenseFilter::default()
            },
        ),
        (
            format!("name substring '{}'", middle(&sample.customer, 5)),
            LicenseFilter {
                name: middle(&sample.customer, 5),
                ..LicenseFilter::default()
            },
        ),
        (
            format!("IP substring '{}'", middle(&ip, 6)),
            LicenseFilter {
                ip: middle(&ip, 6),
                ..LicenseFilter::default()
            },
        ),
        (
            format!("software substring '{}'", middle(&sample.product, 5)),
            LicenseFilter {
                software: middle(&sample.product, 5),
                ..LicenseFilter::default()
            },
        ),
        (
            "order period quarterly".into(),
            LicenseFilter {
                order_period: Some("quarterly".into()),
                ..LicenseFilter::default()
            },
        ),
        (
            "expiring in 30–60 days".into(),
            LicenseFilter {
                expires_from: Some(NOW + 30 * DAY),
                expires_until: Some(NOW + 60 * DAY),
                ..LicenseFilter::default()
            },
        ),
        (
            "status suspended".into(),
            LicenseFilter::with_status(LicenseStatus::Suspended),
        ),
        (
            "status expired".into(),
            LicenseFilter {
                expired_at: Some(NOW),
                ..LicenseFilter::default()
            },
        ),
    ];

    let mut group = c.benchmark_group(format!("license list, {count} licenses"));
    group.sample_size(30);
    // What the panel reads when a filter or sort changes: the first chunk of rows and a
    // count capped at 1,001 (the exact count comes later, from the worker).
    for (what, filter) in &filters {
        let query = ListQuery::new(filter.clone(), Sort::default(), NOW);
        let rows = query.read(&conn, None, 0, 100).unwrap().len();
        eprintln!("filter {what}: first page {rows} rows");
        group.bench_function(format!("first page, filter {what}"), |b| {
            b.iter(|| {
                let query = ListQuery::new(filter.clone(), Sort::default(), NOW);
                let rows = query.read(&conn, None, 0, 100).unwrap();
                let count = query.count(&conn, 1_001).unwrap();
                black_box((rows, count))
            })
        });
    }
    for column in SortColumn::ALL {
        for descending in [false, true] {
            let sort = Sort { column, descending };
            let order = if descending {
                "descending"
            } else {
                "ascending"
            };
            group.bench_function(
                format!("first page, sort by {} {order}", column.title()),
                |b| {
                    b.iter(|| {
                        let query = ListQuery::new(LicenseFilter::default(), sort, NOW);
                        black_box(query.read(&conn, None, 0, 100).unwrap())
                    })
                },
            );
        }
    }
    // The next page from the last row of a page (scrolling).
    let query = ListQuery::new(LicenseFilter::default(), Sort::default(), NOW);
    let page = query.read(&conn, None, 0, 100).unwrap();
    let after = page.last().unwrap().key.clone();
    group.bench_function("next page by keyset (scrolling)", |b| {
        b.iter(|| black_box(query.read(&conn, Some(&after), 0, 100).unwrap()))
    });
    group.finish();
}

/// The app, 1600×900, over the database at `path`.
fn harness(path: PathBuf) -> Harness<'static, LicenseDeskApp> {
    let config = AppConfig {
        database: path,
        clock: Arc::new(FixedClock::at_unix(NOW)),
        test_mode: true,
        kdf: KdfParams::TEST_ONLY,
        dialogs: Arc::new(ScriptedDialogs::default()),
        renderer: "bench harness".to_string(),
    };
    Harness::builder()
        .with_size([1600.0, 900.0])
        .build_eframe(move |cc| LicenseDeskApp::new(&cc.egui_ctx, config))
}

/// Steps until the database is open and the worker has nothing left to do.
fn settle(app: &mut Harness<'static, LicenseDeskApp>) {
    while app.state().is_opening() || !app.state().wait_for_worker() {
        app.step();
    }
    app.run_ok();
}

fn wheel(app: &mut Harness<'static, LicenseDeskApp>, pages: f32) {
    app.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Page,
        delta: egui::vec2(0.0, -pages),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
}

/// The resident memory of this process, in bytes (Linux).
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn frames(c: &mut Criterion) {
    let count = env_count("LICENSE_DESK_BENCH_LIST", 1_000_000);
    let path = list_database(count);
    // Brings an older bench database to this build's schema once, outside any timing.
    drop(Store::open(&path).unwrap());

    // The empty app's memory first, then the app over the list with the panel open.
    let empty_dir = tempfile::tempdir().unwrap();
    let mut empty = harness(empty_dir.path().join("desk.sqlite3"));
    settle(&mut empty);
    empty
        .get_by_role_and_label(Role::Button, "Licenses")
        .click();
    settle(&mut empty);
    let empty_memory = resident();
    drop(empty);

    let mut app = harness(path.clone());
    settle(&mut app);
    app.get_by_role_and_label(Role::Button, "Licenses").click();
    settle(&mut app);
    // The pointer rests on a row of the list (the wheel scrolls what is under it).
    app.get_all_by(|n| {
        n.label()
            .is_some_and(|l| l.len() == 36 && l.chars().filter(|c| *c == '-').count() == 4)
    })
    .nth(5)
    .expect("the list shows licenses")
    .hover();
    app.run_ok();
    // The wheel moves the list: what it shows after fifty pages differs.
    let shown = |app: &Harness<'static, LicenseDeskApp>| -> Vec<String> {
        app.query_all_by(|_| true)
            .filter_map(|n| n.accesskit_node().label())
            .collect()
    };
    let before = shown(&app);
    wheel(&mut app, 50.0);
    settle(&mut app);
    assert_ne!(before, shown(&app), "the wheel scrolls the license list");

    let mut group = c.benchmark_group(format!("licenses panel, {count} licenses"));
    group.bench_function("one frame while scrolling", |b| {
        b.iter(|| {
            wheel(&mut app, 0.2);
            app.step();
        })
    });
    // Random jumps: each frame lands somewhere new, up or down.
    let mut seed = 1u64;
    let mut jump = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % 4_000) as f32 - 2_000.0
    };
    group.bench_function("one frame jumping to a random place", |b| {
        b.iter(|| {
            wheel(&mut app, jump());
            app.step();
        })
    });
    group.finish();
    let mut times: Vec<Duration> = (0..400)
        .map(|_| {
            wheel(&mut app, jump());
            let started = Instant::now();
            app.step();
            started.elapsed()
        })
        .collect();
    times.sort();
    settle(&mut app);
    let list_memory = resident();
    eprintln!(
        "random jumps, 400 frames: median {:.2?}, 95th percentile {:.2?}, slowest {:.2?}",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
    eprintln!(
        "memory: empty app {} MB, with {count} licenses listed {} MB (+{} MB)",
        empty_memory / 1_000_000,
        list_memory / 1_000_000,
        list_memory.saturating_sub(empty_memory) / 1_000_000
    );
    drop(app);

    let mut group = c.benchmark_group(format!("startup, {count} licenses"));
    group.sample_size(10);
    // Closing the app (its worker may still be opening the database) is not timed.
    group.bench_function("first frame of the app", |b| {
        b.iter_with_large_drop(|| {
            let mut app = harness(path.clone());
            app.step();
            black_box(app.state().is_opening());
            app
        })
    });
    group.finish();
}

criterion_group!(benches, bulk, list, frames);
criterion_main!(benches);
