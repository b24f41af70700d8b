//! Accounts at scale (issue #12): with 100,000 accounts the Accounts panel opens, scrolls and
//! searches without a visible stall. Measured: the first page of a search (prefix, substring,
//! wallet ID) with its capped count; one UI frame of the Accounts panel while scrolling and on
//! random jumps (kittest, CPU time of the UI logic); the app's first frame on that database.
//!
//! Run: `cargo bench --bench accounts`. The database is made once under target/bench-data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::app::{AppConfig, LicenseDeskApp};
use license_desk::clock::FixedClock;
use license_desk::store::accounts::{AccountOrder, AccountQuery, PageStart};
use license_desk::store::{self, Store};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const ACCOUNTS: usize = 100_000;
/// Bump to rebuild the bench database when the generator changes.
const DATA_VERSION: &str = "accounts-100k-v2";

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ra", "ten", "vex", "dor", "lin", "qua", "zor", "bel", "tri", "nov", "sol",
    "mar", "cor", "pen", "dal", "fin", "gra", "hel", "jun", "ost", "wey",
];
const TRADE: [&str; 12] = [
    "Storage",
    "Systems",
    "Data",
    "Cloud",
    "Networks",
    "Labs",
    "Analytics",
    "Media",
    "Logistics",
    "Robotics",
    "Energy",
    "Health",
];
const SUFFIX: [&str; 6] = ["GmbH", "Ltd", "Inc", "SA", "BV", "AB"];

/// A company name like "Korasol Networks GmbH", from a seeded generator: many distinct words,
/// as a real customer base has, with some trades shared by many.
fn company(seed: &mut u64) -> String {
    let mut next = |n: usize| {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((*seed >> 33) as usize) % n
    };
    let syllables = 2 + next(2);
    let mut word: String = (0..syllables)
        .map(|_| SYLLABLES[next(SYLLABLES.len())])
        .collect();
    if let Some(first) = word.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!(
        "{word} {} {}",
        TRADE[next(TRADE.len())],
        SUFFIX[next(SUFFIX.len())]
    )
}

/// The database with `ACCOUNTS` accounts, made once.
fn database() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(DATA_VERSION);
    let path = license_desk::paths::database_path(&dir);
    let mut store = Store::open(&path).unwrap();
    if store::accounts::total(store.conn()).unwrap() < ACCOUNTS as u64 {
        let mut seed = 7;
        store
            .write(|tx| {
                for i in 0..ACCOUNTS {
                    // The number keeps names unique, as the schema requires.
                    let name = format!("{} {i}", company(&mut seed));
                    store::accounts::create(tx, &name, 1_795_435_200)?;
                }
                Ok::<_, store::StoreError>(())
            })
            .unwrap();
    }
    path
}

fn search(c: &mut Criterion) {
    let path = database();
    let db = store::open_read_only(&path).unwrap();
    let mut group = c.benchmark_group("accounts_search_first_page_100k");
    for (name, text) in [
        ("prefix_2_chars", "Ko"),
        ("substring_word", "ralin"),
        ("substring_rare", "Penvex Health"),
        ("substring_common", "Storage"),
        ("wallet_id", "54321"),
        ("no_match", "zzzqqq"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                // A new query each time: its index probe is part of the cost.
                let query = AccountQuery::new(text, AccountOrder::Name);
                let count = store::accounts::count(&db, &query, 1_001).unwrap();
                let page = store::accounts::page(&db, &query, &PageStart::First, 100).unwrap();
                black_box((page, count))
            })
        });
    }
    group.finish();
}

fn harness(path: PathBuf) -> Harness<'static, LicenseDeskApp> {
    let config = AppConfig {
        database: path,
        clock: Arc::new(FixedClock::at_unix(1_795_435_200)),
        test_mode: true,
        kdf: keyvault::KdfParams::TEST_ONLY,
        dialogs: Arc::new(ScriptedDialogs::default()),
        renderer: "bench harness".to_string(),
    };
    Harness::builder()
        .with_size([1600.0, 900.0])
        .build_eframe(move |cc| LicenseDeskApp::new(&cc.egui_ctx, config))
}

fn open_accounts(harness: &mut Harness<'static, LicenseDeskApp>) {
    while harness.state().is_opening() || !harness.state().wait_for_worker() {
        harness.step();
    }
    harness.run_ok();
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Accounts")
        .click();
    harness.run_ok();
}

fn scroll(harness: &mut Harness<'static, LicenseDeskApp>, pages: f32) {
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Page,
        delta: egui::vec2(0.0, -pages),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
}

fn frames(c: &mut Criterion) {
    let path = database();
    let mut group = c.benchmark_group("accounts_panel_frame_100k");
    let mut app = harness(path.clone());
    open_accounts(&mut app);
    app.get_by_label("Name").hover();
    app.run_ok();
    group.bench_function("scrolling", |b| {
        b.iter(|| {
            scroll(&mut app, 0.2);
            app.step();
        })
    });
    let mut jumps = 0u64;
    group.bench_function("random_jump", |b| {
        b.iter(|| {
            // A pseudo-random distance, up and down, so each frame lands somewhere new.
            jumps = jumps
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pages = ((jumps >> 33) % 400) as f32 - 200.0;
            scroll(&mut app, pages);
            app.step();
        })
    });
    group.finish();

    let mut group = c.benchmark_group("startup_100k");
    group.sample_size(10);
    group.bench_function("first_frame", |b| {
        b.iter(|| {
            let mut app = harness(path.clone());
            app.step();
            black_box(app.state().is_opening());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = search, frames
}
criterion_main!(benches);
