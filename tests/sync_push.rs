//! Pushing the outbox to a real portal on 127.0.0.1: every row leaves only once the portal
//! holds it, the feed then holds exactly the envelopes the desk built (a bulk issue's range as
//! its ledger entries and licenses, over several requests); a push the desk did not see
//! answered is safe to repeat; a change the portal refuses is parked with the reason and the
//! rows behind it still go; with no portal, nothing leaves.

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use keyvault::KdfParams;
use license_desk::clock::FixedClock;
use license_desk::domain::issue::IssueDraft;
use license_desk::services::keys::{self, KeyVault};
use license_desk::services::{accounts, licensing};
use license_desk::store::{self, Store, outbox};
use license_desk::sync::SyncError;
use license_desk::sync::push::{PushLimits, PushReport, push};
use licensekey::LicenseKind;
use portal::client::{ClientOptions, PortalClient};
use portal::protocol::Envelope;
use portal::server::BackgroundPortal;
use std::sync::Arc;

const PASS: &str = "a long enough passphrase";
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    portal: BackgroundPortal,
    client: PortalClient,
}

/// A desk with accounts, a card, a price list, one license and a bulk issue of `bulk`
/// licenses; a portal on a fresh SQLite file with a token for the desk.
fn setup(bulk: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    let mut vault = KeyVault::new(KdfParams::TEST_ONLY, 10, Arc::new(FixedClock::at_unix(NOW)));
    let account = common::shop::customer(&mut store, &mut vault, NOW, 10_000);
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    let spec = |customer: String| {
        IssueDraft {
            product: "Storage OS".into(),
            customer,
            kind: LicenseKind::Pro,
            seats: "2".into(),
            days: "365".into(),
            ..IssueDraft::default()
        }
        .validate()
        .unwrap()
    };
    licensing::issue(
        &mut store,
        &key,
        &spec("Acme".into()),
        Some(account),
        "ada",
        NOW,
    )
    .unwrap();
    let specs: Vec<_> = (0..bulk).map(|i| spec(format!("Bulk {i}"))).collect();
    common::issue_all(&mut store, &key, &specs, NOW);
    let (portal, token) = common::portal::start(dir.path());
    let mut client = PortalClient::new(&portal.url(), &token, ClientOptions::default()).unwrap();
    client.negotiate().unwrap();
    Setup {
        _dir: dir,
        store,
        portal,
        client,
    }
}

/// Every envelope the outbox stands for now, as JSON, in outbox order.
fn built(store: &Store) -> Vec<String> {
    let desk = store::desk::desk_id(store.conn()).unwrap().unwrap();
    outbox::pending(store.conn(), 0, 1_000_000)
        .unwrap()
        .iter()
        .flat_map(|row| outbox::envelopes(store.conn(), desk, row).unwrap())
        .map(|e| serde_json::to_string(&e).unwrap())
        .collect()
}

/// The portal's whole feed, as JSON.
fn feed(client: &PortalClient) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client.pull(cursor.as_deref(), 1000).unwrap();
        all.extend(
            page.changes
                .iter()
                .map(|e| serde_json::to_string(e).unwrap()),
        );
        cursor = Some(page.next_cursor);
        if !page.more {
            return all;
        }
    }
}

fn rows_waiting(store: &Store) -> i64 {
    outbox::pending_count(store.conn()).unwrap()
}

#[test]
fn the_outbox_reaches_the_portal_byte_for_byte_and_leaves_only_when_held() {
    let mut s = setup(700);
    let expected = built(&s.store);
    assert!(rows_waiting(&s.store) < 20);
    // The bulk issue's one row stands for 700 ledger entries and 700 licenses.
    assert!(expected.len() > 1_400, "{}", expected.len());

    let report = push(&mut s.store, &s.client, PushLimits { max_batch: 300 }, NOW).unwrap();
    assert_eq!(
        report,
        PushReport {
            acknowledged: expected.len() as u64,
            parked: 0,
            sent: expected.len() as u64,
        }
    );
    assert_eq!(rows_waiting(&s.store), 0);
    assert_eq!(
        feed(&s.client),
        expected,
        "the feed holds what the desk built"
    );

    // Nothing left: a second push sends nothing.
    let again = push(&mut s.store, &s.client, PushLimits::default(), NOW).unwrap();
    assert_eq!(again, PushReport::default());
}

#[test]
fn a_push_the_desk_never_saw_answered_is_safe_to_repeat() {
    let mut s = setup(0);
    // The portal stored the changes, but the desk stopped before its transaction.
    let envelopes: Vec<Envelope> = built(&s.store)
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect();
    s.client.push(&envelopes).unwrap();
    let before = feed(&s.client);

    let report = push(&mut s.store, &s.client, PushLimits::default(), NOW).unwrap();
    assert_eq!(report.parked, 0);
    assert_eq!(rows_waiting(&s.store), 0, "duplicates are acknowledged");
    assert_eq!(feed(&s.client), before, "nothing stored twice");
}

#[test]
fn a_refused_change_is_parked_with_the_reason_and_the_rest_still_goes() {
    let mut s = setup(0);
    // A change the portal does not know, between the others.
    accounts::create(&mut s.store, "Before", NOW).unwrap();
    s.store
        .conn()
        .execute(
            "INSERT INTO outbox (change_id, entity, entity_id, op, version, body, created_at, hlc)
             VALUES (randomblob(16), 'gizmo', 'g-1', 'upsert', 1, '{}', ?1,
                     (SELECT hlc FROM outbox ORDER BY seq DESC LIMIT 1))",
            [NOW],
        )
        .unwrap();
    accounts::create(&mut s.store, "After", NOW).unwrap();
    let rows = rows_waiting(&s.store);

    let report = push(&mut s.store, &s.client, PushLimits::default(), NOW).unwrap();
    assert_eq!(report.parked, 1);
    assert_eq!(report.acknowledged, rows as u64 - 1);
    assert_eq!(rows_waiting(&s.store), 0);
    let parked = outbox::parked(s.store.conn(), 100).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].row.entity, "gizmo");
    assert_eq!(parked[0].code, "unknown_entity");
    assert!(parked[0].reason.contains("gizmo"), "{}", parked[0].reason);
    // The account made after it reached the portal.
    assert!(feed(&s.client).iter().any(|e| e.contains("\"After\"")));

    // Retry puts it back in the outbox, the same change; refused again, it is parked again.
    let change_id = parked[0].row.change_id;
    assert!(s.store.write(|tx| outbox::unpark(tx, change_id)).unwrap());
    assert!(!s.store.write(|tx| outbox::unpark(tx, change_id)).unwrap());
    assert_eq!(rows_waiting(&s.store), 1);
    assert!(outbox::parked(s.store.conn(), 100).unwrap().is_empty());
    let again = push(&mut s.store, &s.client, PushLimits::default(), NOW).unwrap();
    assert_eq!((again.sent, again.parked), (1, 1));
    let parked = outbox::parked(s.store.conn(), 100).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].row.change_id, change_id);
}

#[test]
fn with_no_portal_nothing_leaves_the_outbox() {
    let mut s = setup(0);
    let rows = rows_waiting(&s.store);
    let url = s.portal.url();
    drop(s.portal);
    let client = PortalClient::new(&url, "ldp_x", ClientOptions::default()).unwrap();
    let failed = push(&mut s.store, &client, PushLimits::default(), NOW);
    assert!(matches!(failed, Err(SyncError::Portal(_))), "{failed:?}");
    assert_eq!(rows_waiting(&s.store), rows);
    assert!(outbox::parked(s.store.conn(), 100).unwrap().is_empty());
}

#[test]
fn a_wrong_token_keeps_every_row() {
    let mut s = setup(0);
    let rows = rows_waiting(&s.store);
    let client = PortalClient::new(&s.portal.url(), "ldp_wrong", ClientOptions::default()).unwrap();
    let failed = push(&mut s.store, &client, PushLimits::default(), NOW);
    assert!(
        matches!(
            failed,
            Err(SyncError::Portal(portal::client::ClientError::Unauthorized))
        ),
        "{failed:?}"
    );
    assert_eq!(rows_waiting(&s.store), rows);
}
