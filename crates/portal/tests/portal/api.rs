//! The protocol's promises, over HTTP, against both stores.

use crate::both;
use crate::common::*;
use portal::client::{ClientError, ClientOptions, PortalClient};
use portal::cursor::Cursor;
use portal::protocol::{Op, PushStatus, WalletBlock, WalletBlockRequest};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

both!(
    push_then_pull_pages_through_everything_in_order,
    replaying_a_batch_changes_nothing_and_a_reused_change_id_is_rejected,
    a_fact_is_never_overwritten,
    a_rejected_change_never_blocks_the_rest,
    tokens_missing_wrong_or_revoked_get_the_same_401,
    hostile_requests_get_a_clear_4xx_and_nothing_is_applied,
    protocol_versions_one_apart_work_and_further_says_who_is_old,
    a_base_is_kept_and_handed_only_to_desks_speaking_protocol_2,
    an_expired_or_foreign_cursor_asks_for_a_full_resync,
    wallet_blocks_are_handed_out_once,
);

fn push_then_pull_pages_through_everything_in_order(kind: Kind) {
    let fx = Fixture::new(kind);
    let client = fx.client();
    let mut desk = Desk::default();
    let sent: Vec<_> = (0..250)
        .map(|i| desk.account(&format!("Acme {i}")))
        .collect();
    for batch in sent.chunks(100) {
        let answer = client.push(batch).unwrap();
        assert_eq!(answer.accepted, batch.len());
    }
    let mut cursor: Option<String> = None;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.pull(cursor.as_deref(), 40).unwrap();
        pages += 1;
        assert!(page.changes.len() <= 40);
        got.extend(page.changes);
        cursor = Some(page.next_cursor);
        if !page.more {
            break;
        }
    }
    assert_eq!(pages, 7);
    let ids: Vec<Uuid> = got.iter().map(|c| c.change_id).collect();
    assert_eq!(
        ids,
        sent.iter().map(|c| c.change_id).collect::<Vec<_>>(),
        "feed order is push order here"
    );
    assert_eq!(
        got[7].body.get(),
        sent[7].body.get(),
        "bodies come back byte for byte"
    );
    // Nothing new: the same cursor again, an empty page.
    let again = client.pull(cursor.as_deref(), 40).unwrap();
    assert!(again.changes.is_empty() && !again.more);
    assert_eq!(Some(again.next_cursor), cursor);
}

fn replaying_a_batch_changes_nothing_and_a_reused_change_id_is_rejected(kind: Kind) {
    let fx = Fixture::new(kind);
    let client = fx.client();
    let mut desk = Desk::default();
    let batch: Vec<_> = (0..20).map(|i| desk.account(&format!("A{i}"))).collect();
    assert_eq!(client.push(&batch).unwrap().accepted, 20);
    let replay = client.push(&batch).unwrap();
    assert_eq!((replay.accepted, replay.duplicate), (0, 20));
    assert_eq!(fx.pull_all(1000).len(), 20);
    // The same change id with other content: rejected, the first kept.
    let mut reused = batch[3].clone();
    reused.body = serde_json::value::RawValue::from_string(r#"{"name":"other"}"#.into()).unwrap();
    let answer = client.push(std::slice::from_ref(&reused)).unwrap();
    assert_eq!(statuses(&answer), ["change_id_reused"]);
    // Repeats inside one batch are answered as if pushed one after the other.
    let fresh = desk.account("B");
    let answer = client
        .push(&[fresh.clone(), fresh.clone(), reused])
        .unwrap();
    assert_eq!(
        statuses(&answer),
        ["accepted", "duplicate", "change_id_reused"]
    );
    let all = fx.pull_all(1000);
    assert_eq!(all.len(), 21);
    assert_eq!(all[3].body.get(), batch[3].body.get());
}

fn a_fact_is_never_overwritten(kind: Kind) {
    let fx = Fixture::new(kind);
    let client = fx.client();
    let mut desk = Desk::default();
    let first = desk.ledger(1, "issued");
    assert_eq!(
        statuses(&client.push(std::slice::from_ref(&first)).unwrap()),
        ["accepted"]
    );
    // The same fact under a new change id (a desk resending after a resync): a duplicate.
    let mut same = desk.ledger(1, "issued");
    same.hlc = desk
        .change(
            "account",
            &Uuid::now_v7().to_string(),
            Op::Upsert,
            json!({}),
        )
        .hlc;
    // Another version of the fact: refused, never last-writer-wins.
    let other = desk.ledger(1, "edited");
    // And both kinds of repeat inside one batch, beside a new fact.
    let second = desk.ledger(2, "issued");
    let second_edit = desk.ledger(2, "edited");
    let answer = client.push(&[same, other, second, second_edit]).unwrap();
    assert_eq!(
        statuses(&answer),
        [
            "duplicate",
            "conflicting_fact",
            "accepted",
            "conflicting_fact"
        ]
    );
    let facts: Vec<String> = fx
        .pull_all(100)
        .iter()
        .map(|c| c.body.get().to_string())
        .collect();
    assert_eq!(
        facts,
        [
            r#"{"note":"issued","seq":1}"#,
            r#"{"note":"issued","seq":2}"#
        ]
    );
    // A license is a fact when issued and state afterwards: its status upserts all go through.
    let license = Uuid::now_v7().to_string();
    let issued = desk.change(
        "license",
        &license,
        Op::Insert,
        json!({"serial": "X", "status": "active"}),
    );
    let revoked = desk.change(
        "license",
        &license,
        Op::Upsert,
        json!({"serial": "X", "status": "revoked"}),
    );
    let enabled = desk.change(
        "license",
        &license,
        Op::Upsert,
        json!({"serial": "X", "status": "active"}),
    );
    let reissued = desk.change(
        "license",
        &license,
        Op::Insert,
        json!({"serial": "Y", "status": "active"}),
    );
    assert_eq!(
        statuses(&client.push(&[issued, revoked, enabled, reissued]).unwrap()),
        ["accepted", "accepted", "accepted", "conflicting_fact"]
    );
}

fn a_rejected_change_never_blocks_the_rest(kind: Kind) {
    let mut limits = test_limits();
    limits.max_change_body_bytes = 1024;
    let fx = Fixture::with_limits(kind, limits);
    let mut desk = Desk::default();
    let good = |d: &mut Desk| serde_json::to_value(d.account("ok")).unwrap();
    let mut changes = vec![good(&mut desk)];
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("entity", json!("spaceship")),
        ("version", json!(99)),
        ("body", json!([1, 2])),
        ("body", json!({"big": "x".repeat(2048)})),
        ("entity_id", json!("not-a-uuid")),
        ("change_id", json!("12345")),
        ("desk_id", json!(7)),
        ("op", json!("insert")),
        ("hlc", json!("yesterday")),
        ("surprise", json!(true)),
    ];
    for (field, value) in &edits {
        let mut change = good(&mut desk);
        change[*field] = value.clone();
        changes.push(change);
        changes.push(good(&mut desk));
    }
    changes.push(json!("not even an object"));
    let answer: portal::protocol::PushResponse = raw()
        .post(format!("{}/v1/changes", fx.portal.url()))
        .bearer_auth(&fx.token)
        .header("license-desk-protocol", "1")
        .json(&json!({ "changes": changes }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let words = statuses(&answer);
    assert_eq!(
        words
            .iter()
            .skip(1)
            .step_by(2)
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "unknown_entity",
            "unsupported_version",
            "body_not_object",
            "body_too_large",
            "bad_entity_id",
            "bad_change_id",
            "malformed",
            "op_not_allowed",
            "bad_hlc",
            "malformed",
            "malformed"
        ]
    );
    assert!(
        words.iter().step_by(2).all(|w| w == "accepted"),
        "{words:?}"
    );
    assert_eq!(answer.accepted, 11);
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.status != PushStatus::Rejected
                || r.reason.as_ref().is_some_and(|w| !w.is_empty()))
    );
    assert_eq!(
        answer.results[1].change_id,
        Some(serde_json::from_value(changes[1]["change_id"].clone()).unwrap())
    );
    assert_eq!(fx.pull_all(100).len(), 11);
}

fn tokens_missing_wrong_or_revoked_get_the_same_401(kind: Kind) {
    let fx = Fixture::new(kind);
    let url = format!("{}/v1/changes", fx.portal.url());
    let mut desk = Desk::default();
    let body = json!({ "changes": [desk.account("x")] });
    let other = portal::token::generate().unwrap();
    let revoked = make_token(&fx.portal.store, "old laptop");
    assert!(fx.client().pull(None, 10).is_ok());
    let with_revoked =
        PortalClient::new(&fx.portal.url(), &revoked, ClientOptions::default()).unwrap();
    assert!(with_revoked.pull(None, 10).is_ok(), "works until revoked");
    let gone = block_on(
        fx.portal
            .store
            .revoke_token("old laptop", portal::clock::now_ms()),
    )
    .unwrap();
    assert!(gone.is_some());
    let mut bodies = HashSet::new();
    for auth in [
        None,
        Some(format!("Bearer {other}")),
        Some(format!("Bearer {revoked}")),
        Some("Bearer ldp_short".into()),
        Some(format!("Basic {}", fx.token)),
        Some(format!("Bearer {}x", fx.token)),
        Some("Bearer ".into()),
    ] {
        for post in [true, false] {
            let mut request = if post {
                raw().post(&url).json(&body)
            } else {
                raw().get(&url)
            };
            request = request.header("license-desk-protocol", "1");
            if let Some(auth) = &auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            bodies.insert(response.text().unwrap());
        }
    }
    assert_eq!(
        bodies.len(),
        1,
        "one answer, no hint which part was wrong: {bodies:?}"
    );
    assert!(matches!(
        with_revoked.pull(None, 10),
        Err(ClientError::Unauthorized)
    ));
    assert!(fx.pull_all(10).is_empty(), "nothing applied");
}

fn hostile_requests_get_a_clear_4xx_and_nothing_is_applied(kind: Kind) {
    let mut limits = test_limits();
    limits.max_request_bytes = 64 * 1024;
    limits.max_batch = 50;
    let fx = Fixture::with_limits(kind, limits);
    let url = format!("{}/v1/changes", fx.portal.url());
    let mut desk = Desk::default();
    let one = serde_json::to_value(desk.account("x")).unwrap();
    let post = |body: Vec<u8>| {
        raw()
            .post(&url)
            .bearer_auth(&fx.token)
            .header("license-desk-protocol", "1")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    let code = |response: reqwest::blocking::Response| -> (u16, String) {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().expect("every error is JSON");
        (
            status,
            body["code"].as_str().unwrap_or_default().to_string(),
        )
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed JSON",
            b"{\"changes\": [".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "not JSON at all",
            b"\xff\xfe garbage".to_vec(),
            400,
            "malformed_json",
        ),
        ("empty body", Vec::new(), 400, "malformed_json"),
        (
            "unknown field",
            serde_json::to_vec(&json!({"changes": [one], "force": true})).unwrap(),
            400,
            "unknown_field",
        ),
        ("no changes field", b"{}".to_vec(), 400, "bad_request"),
        ("a list, not a push", b"[]".to_vec(), 400, "bad_request"),
        (
            "too many changes",
            serde_json::to_vec(&json!({"changes": vec![one.clone(); 51]})).unwrap(),
            413,
            "batch_too_large",
        ),
        (
            "oversized body",
            serde_json::to_vec(&json!({"changes": [], "pad": "x".repeat(70_000)})).unwrap(),
            413,
            "body_too_large",
        ),
    ];
    for (what, body, status, expected) in cases {
        assert_eq!(code(post(body)), (status, expected.to_string()), "{what}");
    }
    let wrong_type = raw()
        .post(&url)
        .bearer_auth(&fx.token)
        .header("license-desk-protocol", "1")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(code(wrong_type), (415, "unsupported_media_type".into()));
    let no_version = raw().get(&url).bearer_auth(&fx.token).send().unwrap();
    assert_eq!(code(no_version), (400, "missing_protocol_version".into()));
    for bad in ["abc", "-1", "1.0", "99999999999"] {
        let r = raw()
            .get(&url)
            .bearer_auth(&fx.token)
            .header("license-desk-protocol", bad)
            .send()
            .unwrap();
        assert_eq!(code(r), (400, "bad_protocol_version".into()), "{bad}");
    }
    let get = |query: &str| {
        raw()
            .get(format!("{url}?{query}"))
            .bearer_auth(&fx.token)
            .header("license-desk-protocol", "1")
            .send()
            .unwrap()
    };
    assert_eq!(code(get("after=c1.nope")), (400, "bad_cursor".into()));
    assert_eq!(code(get("limit=0")), (400, "bad_request".into()));
    assert_eq!(code(get("limit=100000")), (400, "bad_request".into()));
    assert_eq!(code(get("limit=ten")), (400, "bad_request".into()));
    assert_eq!(code(get("since=1")), (400, "bad_request".into()));
    let nowhere = raw()
        .get(format!("{}/v2/changes", fx.portal.url()))
        .send()
        .unwrap();
    assert_eq!(code(nowhere), (404, "not_found".into()));
    let wrong_method = raw().delete(&url).send().unwrap();
    assert_eq!(code(wrong_method), (405, "method_not_allowed".into()));

    // Thousands of garbage requests, from several threads: each a 4xx, the portal keeps serving.
    let garbage: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"null".to_vec(),
        b"{\"changes\": {\"a\": 1}}".to_vec(),
        b"{\"changes\": [[[[[[[[[[[[[[[[[[[[".to_vec(),
        "{\"changes\": [\"\u{0}\"]}".as_bytes().to_vec(),
        vec![b'['; 10_000],
        b"{\"changes\": [], \"changes\": []}".to_vec(),
    ];
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let garbage = &garbage;
            let url = &url;
            let token = &fx.token;
            scope.spawn(move || {
                let http = raw();
                for i in 0..600 {
                    let body = garbage[(i + worker) % garbage.len()].clone();
                    let request = match i % 3 {
                        0 => http
                            .post(url)
                            .bearer_auth(token)
                            .header("license-desk-protocol", "1")
                            .header("content-type", "application/json")
                            .body(body),
                        1 => http
                            .post(url)
                            .header("content-type", "application/json")
                            .body(body),
                        _ => http
                            .get(format!("{url}?after={}", i))
                            .bearer_auth(token)
                            .header("license-desk-protocol", "1"),
                    };
                    let response = request.send().expect("the portal answers");
                    let status = response.status();
                    assert!(status.is_client_error(), "request {i}: {status}");
                }
            });
        }
    });
    let health: portal::protocol::Health = raw()
        .get(format!("{}/v1/health", fx.portal.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health.status, "ok");
    assert!(fx.pull_all(100).is_empty(), "nothing applied");
    assert_eq!(
        fx.client()
            .push(&[desk.account("still works")])
            .unwrap()
            .accepted,
        1
    );
}

fn protocol_versions_one_apart_work_and_further_says_who_is_old(kind: Kind) {
    use portal::protocol::VersionRange;
    let fx = Fixture::new(kind);
    let this = VersionRange::THIS_BUILD;
    let desk_with = |speaks: VersionRange| {
        PortalClient::new(
            &fx.portal.url(),
            &fx.token,
            ClientOptions {
                speaks,
                ..ClientOptions::default()
            },
        )
        .unwrap()
    };
    // A desk one version newer (speaking this one and its own) works, at this portal's version.
    let mut newer = desk_with(VersionRange {
        min: this.max,
        max: this.max + 1,
    });
    newer.negotiate().unwrap();
    assert_eq!(newer.protocol(), this.max);
    assert!(newer.pull(None, 1).is_ok());
    // Two ahead: the portal is too old; two behind: the desk is.
    let mut ahead = desk_with(VersionRange {
        min: this.max + 1,
        max: this.max + 2,
    });
    assert!(
        matches!(ahead.negotiate(), Err(ClientError::PortalTooOld { supported }) if supported == this)
    );
    assert!(
        matches!(ahead.pull(None, 1), Err(ClientError::PortalTooOld { .. })),
        "also when it sends anyway"
    );
    let behind = desk_with(VersionRange {
        min: 0,
        max: this.min - 1,
    });
    assert!(
        matches!(behind.pull(None, 1), Err(ClientError::DeskTooOld { supported }) if supported == this)
    );
    let mut desk = Desk::default();
    assert!(matches!(
        behind.push(&[desk.account("kept in the outbox")]),
        Err(ClientError::DeskTooOld { .. })
    ));
    assert!(fx.pull_all(10).is_empty());
    let response = raw()
        .get(format!("{}/v1/version", fx.portal.url()))
        .send()
        .unwrap();
    assert_eq!(
        response.headers()["license-desk-protocol-supported"],
        format!("{}-{}", this.min, this.max)
    );
}

fn a_base_is_kept_and_handed_only_to_desks_speaking_protocol_2(kind: Kind) {
    use portal::protocol::{Base, VersionRange};
    let fx = Fixture::new(kind);
    let speaking = |version: u32| {
        PortalClient::new(
            &fx.portal.url(),
            &fx.token,
            ClientOptions {
                speaks: VersionRange {
                    min: version,
                    max: version,
                },
                ..ClientOptions::default()
            },
        )
        .unwrap()
    };
    let (v1, v2) = (speaking(1), speaking(2));
    let mut desk = Desk::default();
    let account = Uuid::now_v7().to_string();
    let first = desk.change("account", &account, Op::Upsert, json!({"name": "first"}));
    let base = Base {
        hlc: first.hlc,
        desk_id: desk.id,
    };
    let second = portal::protocol::Envelope {
        base: Some(base),
        ..desk.change("account", &account, Op::Upsert, json!({"name": "second"}))
    };
    let third = portal::protocol::Envelope {
        base: Some(base),
        ..desk.change("account", &account, Op::Upsert, json!({"name": "third"}))
    };
    assert_eq!(v2.push(&[first, second.clone()]).unwrap().accepted, 2);
    // A desk speaking protocol 1 sends no base (its client leaves it out).
    assert_eq!(v1.push(std::slice::from_ref(&third)).unwrap().accepted, 1);
    let bases = |client: &PortalClient| -> Vec<Option<Base>> {
        pull_all(client, 10).iter().map(|c| c.base).collect()
    };
    assert_eq!(bases(&v2), [None, Some(base), None]);
    assert_eq!(bases(&v1), [None, None, None], "protocol 1 has no base");
    // The base is not the change's content: the same change again, without it, is a duplicate.
    let again = portal::protocol::Envelope {
        base: None,
        ..second.clone()
    };
    assert_eq!(statuses(&v2.push(&[again]).unwrap()), ["duplicate"]);

    // Sent by hand: a base in a protocol 1 request, on a fact, or malformed is refused.
    let push_as = |version: &str, change: serde_json::Value| -> Vec<String> {
        let answer: portal::protocol::PushResponse = raw()
            .post(format!("{}/v1/changes", fx.portal.url()))
            .bearer_auth(&fx.token)
            .header("license-desk-protocol", version)
            .json(&json!({ "changes": [change] }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        statuses(&answer)
    };
    let with_base = |desk: &mut Desk, base: serde_json::Value| {
        let mut change =
            serde_json::to_value(desk.change("account", &account, Op::Upsert, json!({}))).unwrap();
        change["base"] = base;
        change
    };
    let good_base = json!({"hlc": base.hlc.to_string(), "desk_id": desk.id.to_string()});
    assert_eq!(
        push_as("1", with_base(&mut desk, good_base.clone())),
        ["malformed"]
    );
    let mut fact = serde_json::to_value(desk.ledger(1, "a fact")).unwrap();
    fact["base"] = good_base.clone();
    assert_eq!(push_as("2", fact), ["malformed"]);
    let bad_clock = json!({"hlc": "yesterday", "desk_id": desk.id.to_string()});
    assert_eq!(push_as("2", with_base(&mut desk, bad_clock)), ["bad_hlc"]);
    let bad_desk = json!({"hlc": base.hlc.to_string(), "desk_id": "desk A"});
    assert_eq!(
        push_as("2", with_base(&mut desk, bad_desk)),
        ["bad_desk_id"]
    );
    let extra = json!({"hlc": base.hlc.to_string(), "desk_id": desk.id.to_string(), "x": 1});
    assert_eq!(push_as("2", with_base(&mut desk, extra)), ["malformed"]);
    assert_eq!(push_as("2", with_base(&mut desk, good_base)), ["accepted"]);
    assert_eq!(pull_all(&v2, 10).len(), 4, "only the good one was stored");
}

fn an_expired_or_foreign_cursor_asks_for_a_full_resync(kind: Kind) {
    let fx = Fixture::new(kind);
    let client = fx.client();
    let mut desk = Desk::default();
    let account = Uuid::now_v7().to_string();
    let v1 = desk.change("account", &account, Op::Upsert, json!({"name": "v1"}));
    let v2 = desk.change("account", &account, Op::Upsert, json!({"name": "v2"}));
    let fact = desk.ledger(1, "kept forever");
    let gone = Uuid::now_v7().to_string();
    let made = desk.change("account", &gone, Op::Upsert, json!({"name": "short-lived"}));
    let deleted = desk.change("account", &gone, Op::Delete, json!({"id": gone}));
    client.push(std::slice::from_ref(&v1)).unwrap();
    let early = client.pull(None, 100).unwrap().next_cursor;
    client
        .push(&[v2.clone(), fact.clone(), made, deleted.clone()])
        .unwrap();
    let late = client.pull(None, 100).unwrap().next_cursor;
    // Nothing is old enough yet: compaction keeps everything.
    let store = &fx.portal.store;
    let report = block_on(store.compact(portal::clock::now_ms(), 30 * 86_400_000)).unwrap();
    assert_eq!(report.removed, 0);
    assert!(client.pull(Some(&early), 100).is_ok());
    // A day later with one day of retention: superseded changes go, the latest of each
    // entity, the tombstone and the fact stay.
    let report = block_on(store.compact(portal::clock::now_ms() + 86_400_001, 86_400_000)).unwrap();
    assert_eq!(report.removed, 2);
    let left: Vec<Uuid> = fx.pull_all(100).iter().map(|c| c.change_id).collect();
    assert_eq!(left, [v2.change_id, fact.change_id, deleted.change_id]);
    // A desk that read past the removed changes carries on; one that did not must resync.
    assert!(client.pull(Some(&late), 100).unwrap().changes.is_empty());
    assert!(
        matches!(client.pull(Some(&early), 100), Err(ClientError::ResyncRequired { reason }) if reason == "cursor_expired")
    );
    let mut foreign = Cursor::decode(&late).unwrap();
    foreign.feed_id = Uuid::now_v7();
    assert!(
        matches!(client.pull(Some(&foreign.encode()), 100), Err(ClientError::ResyncRequired { reason }) if reason == "other_feed")
    );
    // Replays stay duplicates after compaction (receipts are kept).
    assert_eq!(statuses(&client.push(&[v1]).unwrap()), ["duplicate"]);
}

fn wallet_blocks_are_handed_out_once(kind: Kind) {
    let fx = Fixture::new(kind);
    let client = fx.client();
    let local = WalletBlock {
        first_id: 100,
        last_id: 99_999,
    };
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let ask = |desk_id, another| {
        client
            .wallet_blocks(&WalletBlockRequest {
                desk_id,
                local_block: Some(local),
                another,
            })
            .unwrap()
            .blocks
    };
    assert_eq!(ask(a, false), [local], "the first desk keeps its own block");
    assert_eq!(ask(a, false), [local], "asking again grants nothing new");
    let theirs = ask(b, false);
    assert_eq!(
        theirs,
        [WalletBlock {
            first_id: 100_000,
            last_id: 109_999
        }]
    );
    assert_eq!(
        ask(a, true),
        [
            local,
            WalletBlock {
                first_id: 110_000,
                last_id: 119_999
            }
        ]
    );
    let bad = client.wallet_blocks(&WalletBlockRequest {
        desk_id: a,
        local_block: Some(WalletBlock {
            first_id: 5,
            last_id: 1,
        }),
        another: false,
    });
    assert!(matches!(bad, Err(ClientError::Refused { status: 400, .. })));
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let mut limits = test_limits();
    limits.rate_per_second = 1;
    limits.rate_burst = 5;
    let fx = Fixture::with_limits(Kind::Sqlite, limits);
    let url = format!("{}/v1/version", fx.portal.url());
    let statuses: Vec<u16> = (0..8)
        .map(|_| raw().get(&url).send().unwrap().status().as_u16())
        .collect();
    assert_eq!(&statuses[..5], [200; 5]);
    let limited = raw().get(&url).send().unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(matches!(
        fx.client().pull(None, 1),
        Err(ClientError::RateLimited {
            retry_after: Some(_)
        })
    ));
}

#[test]
fn openapi_document_names_every_endpoint() {
    let fx = Fixture::new(Kind::Sqlite);
    let doc: serde_json::Value = raw()
        .get(format!("{}/v1/openapi.json", fx.portal.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/changes",
        "/v1/health",
        "/v1/version",
        "/v1/openapi.json",
        "/v1/wallet-blocks",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["components"]["schemas"].get("Envelope").is_some());
    assert!(
        doc["components"]["securitySchemes"]
            .get("device_token")
            .is_some()
    );
    let version = fx.client().version().unwrap();
    assert_eq!(version.storage, "sqlite");
    assert_eq!(fx.client().health().unwrap().status, "ok");
}

#[test]
fn tls_with_a_certificate_and_key() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let db = TestDb::new(Kind::Sqlite);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (store, listener) = runtime.block_on(async {
        (
            portal::store::Store::open(&db.url).await.unwrap(),
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        )
    });
    let port = listener.local_addr().unwrap().port();
    let token = make_token(&store, "tls desk");
    let tls = portal::server::listen::tls_config(&cert_path, &key_path).unwrap();
    let app = portal::server::app(store, test_limits());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        runtime.block_on(portal::server::listen::serve(
            listener,
            app,
            Some(tls),
            16,
            async {
                let _ = stopped.await;
            },
        ))
    });
    let options = ClientOptions {
        extra_root_pem: Some(cert.cert.pem().into_bytes()),
        ..ClientOptions::default()
    };
    let client = PortalClient::new(&format!("https://localhost:{port}"), &token, options).unwrap();
    let mut desk = Desk::default();
    assert_eq!(
        client.push(&[desk.account("over TLS")]).unwrap().accepted,
        1
    );
    assert_eq!(pull_all(&client, 10).len(), 1);
    // A client that does not trust the certificate does not get in; plain HTTP is not served.
    let untrusting = PortalClient::new(
        &format!("https://localhost:{port}"),
        &token,
        ClientOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        untrusting.health(),
        Err(ClientError::Transport(_))
    ));
    let plain = PortalClient::new(
        &format!("http://localhost:{port}"),
        &token,
        ClientOptions::default(),
    )
    .unwrap();
    assert!(plain.health().is_err());
    stop.send(()).unwrap();
    server.join().unwrap().unwrap();
    // A key that is not the certificate's is refused at start.
    let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
    std::fs::write(&key_path, other.signing_key.serialize_pem()).unwrap();
    assert!(portal::server::listen::tls_config(&cert_path, &key_path).is_err());
}
