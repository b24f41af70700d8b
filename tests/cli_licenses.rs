//! Offline deactivation and demo data through the real `license-desk` binary: a customer's
//! machine signs a deactivation file with the key its request kept, the desk applies it once
//! and refuses it replayed, forged or for a license bound to no request; `demo-data` fills a
//! database through the services, ledger intact.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::desk::{Desk, code, s, text};

const CLUSTER: &str = "123e4567-e89b-12d3-a456-426614174000";

/// Exit code of `apply-deactivation` when the file is refused.
const REFUSED: i32 = license_desk::cli::EXIT_REFUSED as i32;

#[test]
fn a_deactivation_made_on_the_customer_machine_frees_the_seat_once() {
    let customer = Desk::new();
    let request = customer.path("me.ldreq");
    customer.ok(&[
        "request",
        "--cluster",
        CLUSTER,
        "--label",
        "Rack 3",
        "--out",
        s(&request),
    ]);
    let vendor = Desk::with_key();
    let (id, _, issued) = vendor.issue("acme.lic", &["--request", s(&request)]);
    let license = customer.path("acme.lic");
    std::fs::copy(&issued, &license).unwrap();

    let deactivation = customer.path("acme.deactivation");
    let out = customer.ok(&[
        "deactivate",
        "--license",
        s(&license),
        "--out",
        s(&deactivation),
    ]);
    assert!(out.contains(&id), "{out}");
    // The license and the machine's key are gone: no second file can be made.
    assert!(!license.exists());
    std::fs::copy(&issued, &license).unwrap();
    let again = customer.run(&[
        "deactivate",
        "--license",
        s(&license),
        "--out",
        s(&customer.path("second.deactivation")),
    ]);
    assert_eq!(code(&again), 1, "{}", text(&again));
    assert!(text(&again).contains("no machine key"), "{}", text(&again));

    // A forged file (one byte of its body changed) is refused and changes nothing.
    let genuine = std::fs::read_to_string(&deactivation).unwrap();
    let forged_path = vendor.path("forged.deactivation");
    let mut lines: Vec<String> = genuine.lines().map(str::to_string).collect();
    let body = &mut lines[1];
    let flipped = if body.starts_with('A') { "B" } else { "A" };
    body.replace_range(0..1, flipped);
    std::fs::write(&forged_path, lines.join("\n") + "\n").unwrap();
    let entries = vendor.ledger_count();
    let forged = vendor.run(&["apply-deactivation", s(&forged_path)]);
    assert_ne!(code(&forged), 0, "{}", text(&forged));
    assert_eq!(vendor.ledger_count(), entries);

    let applied = vendor.ok(&["apply-deactivation", s(&deactivation)]);
    assert!(applied.starts_with("Applied: license"), "{applied}");
    assert!(
        applied.contains(&id) && applied.contains("'Rack 3'"),
        "{applied}"
    );
    assert_eq!(vendor.ledger_count(), entries + 1);
    assert!(
        vendor
            .ok(&["ledger", "verify"])
            .starts_with("Ledger intact")
    );

    // Replayed: refused with its own exit code, and nothing is recorded twice.
    let replay = vendor.run(&["apply-deactivation", s(&deactivation)]);
    assert_eq!(code(&replay), REFUSED, "{}", text(&replay));
    assert!(text(&replay).contains("REFUSED"), "{}", text(&replay));
    assert_eq!(vendor.ledger_count(), entries + 1);
}

#[test]
fn a_license_not_made_from_a_request_cannot_be_deactivated_offline() {
    let vendor = Desk::with_key();
    let (id, _, file) = vendor.issue("plain.lic", &[]);
    let out = vendor.run(&[
        "deactivate",
        "--license",
        s(&file),
        "--out",
        s(&vendor.path("plain.deactivation")),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains(&id), "{}", text(&out));
    assert!(
        text(&out).contains("cannot be deactivated offline"),
        "{}",
        text(&out)
    );
    // Nothing was removed or written.
    assert!(file.exists());
    assert!(!vendor.path("plain.deactivation").exists());
}

#[test]
fn demo_data_fills_accounts_and_licenses_with_the_ledger_intact() {
    let desk = Desk::with_key();
    let out = desk.ok(&["demo-data", "--licenses", "400", "--accounts", "25"]);
    assert!(
        out.starts_with("Made 25 accounts and 400 licenses"),
        "{out}"
    );
    let conn = common::raw_connection(&desk.database());
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT count(*) FROM accounts"), 25);
    assert_eq!(count("SELECT count(*) FROM licenses"), 400);
    let dangling: i64 = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count() as i64;
    assert_eq!(dangling, 0);
    drop(conn);
    let verified = desk.ok(&["ledger", "verify"]);
    assert!(verified.starts_with("Ledger intact"), "{verified}");
    assert!(desk.ledger_count() >= 400);
    // A second run adds to what is there; the ledger still holds.
    let again = desk.ok(&[
        "demo-data",
        "--licenses",
        "10",
        "--accounts",
        "2",
        "--seed",
        "2",
    ]);
    assert!(
        again.starts_with("Made 2 accounts and 10 licenses"),
        "{again}"
    );
    let conn = common::raw_connection(&desk.database());
    assert_eq!(
        conn.query_row("SELECT count(*) FROM licenses", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        410
    );
    drop(conn);
    assert!(desk.ok(&["ledger", "verify"]).starts_with("Ledger intact"));
}
