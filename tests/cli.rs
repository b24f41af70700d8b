//! The `license-desk` binary end to end: each test runs the real executable against its own
//! temporary data directory, with the passphrase in `LICENSE_DESK_PASSPHRASE`.

mod common;

use common::desk::{BIN, Desk, PASSPHRASE, code, s, text};
use license_desk::clock::Clock as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CLUSTER: &str = "123e4567-e89b-12d3-a456-426614174000";

fn verify_code(desk: &Desk, args: &[&str]) -> (i32, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = desk.run(&all);
    (code(&out), text(&out))
}

#[test]
fn keys_are_created_listed_and_exported_in_every_format() {
    let desk = Desk::with_key();
    let listed = desk.ok(&["keys", "list"]);
    assert!(listed.starts_with("KEY ID"), "{listed}");
    let line = listed.lines().nth(1).unwrap();
    assert!(line.contains("ops") && line.contains("active"), "{listed}");
    let key_id = line.split_whitespace().next().unwrap().to_string();
    assert_eq!(key_id.len(), 16);

    let b64 = desk.ok(&["keys", "export", "ops", "--format", "base64"]);
    let pem = desk.ok(&["keys", "export", &key_id, "--format", "pem"]);
    let rust = desk.ok(&["keys", "export", "ops", "--format", "rust"]);
    let sealed = desk.ok(&["keys", "export", "ops", "--format", "encrypted"]);
    let from_b64 = licensekey::parse_public_key(b64.trim()).unwrap();
    let from_pem = licensekey::parse_public_key(&pem).unwrap();
    assert_eq!(from_b64, from_pem);
    assert_eq!(licensekey::KeyId::of(&from_pem).to_string(), key_id);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert!(rust.contains(b64.trim()) || rust.contains("0x"), "{rust}");
    assert!(sealed.contains("ENCRYPTED SIGNING KEY"), "{sealed}");
    assert!(!sealed.contains(PASSPHRASE));

    let file = desk.export("ops", "pem");
    assert_eq!(std::fs::read_to_string(file).unwrap(), pem);

    let dup = desk.run(&["keys", "new", "--name", "ops"]);
    assert_eq!(code(&dup), 1);
    assert!(
        text(&dup).contains("already in the vault"),
        "{}",
        text(&dup)
    );
    let missing = desk.run(&["keys", "export", "nobody", "--format", "pem"]);
    assert!(
        text(&missing).contains("no key named or with id 'nobody'"),
        "{}",
        text(&missing)
    );
}

#[test]
fn an_issued_license_verifies_with_the_exported_public_key() {
    let desk = Desk::with_key();
    let (id, serial, file) = desk.issue(
        "acme.lic",
        &[
            "--seats",
            "5",
            "--feature",
            "snapshots",
            "--feature",
            "Replication",
            "--days",
            "30",
        ],
    );
    assert!(serial.starts_with("LD1-"), "{serial}");
    let pem = desk.export("ops", "pem");
    let b64 = desk.ok(&["keys", "export", "ops"]);

    let (rc, out) = verify_code(&desk, &[s(&file), "--pubkey", s(&pem)]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains(&format!("License id:  {id}")), "{out}");
    assert!(out.contains("Features:    replication, snapshots"), "{out}");
    assert!(out.contains("Seats:       5"), "{out}");
    assert!(out.trim_end().ends_with("VALID"), "{out}");

    let (rc, out) = verify_code(&desk, &[&serial, "--pubkey", b64.trim()]);
    assert_eq!(rc, 0, "{out}");
    // Without --pubkey the vault's keys are used.
    let (rc, out) = verify_code(&desk, &[&serial]);
    assert_eq!(rc, 0, "{out}");

    // 40 days on: expired 10 days ago, inside the 14 grace days.
    let later = (license_desk::clock::SystemClock.now() + chrono::Duration::days(40)).to_rfc3339();
    let (rc, out) = verify_code(&desk, &[&serial, "--at", &later]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("VALID (in grace, 4 days left)"), "{out}");
}

#[test]
fn damaged_licenses_fail_with_distinct_codes() {
    let desk = Desk::with_key();
    let (_, serial, file) = desk.issue("a.lic", &[]);

    // One typed character changed in the serial: the checksum catches it.
    let mut chars: Vec<char> = serial.chars().collect();
    let at = chars.len() / 2 + usize::from(chars[chars.len() / 2] == '-');
    chars[at] = if chars[at] == '7' { '8' } else { '7' };
    let typo: String = chars.into_iter().collect();
    let (rc, out) = verify_code(&desk, &[&typo]);
    assert_eq!(rc, 11, "{out}");

    // One base64 character changed inside the license file's payload.
    let original = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    let mut body: Vec<char> = lines[2].chars().collect();
    body[10] = if body[10] == 'A' { 'B' } else { 'A' };
    lines[2] = body.into_iter().collect();
    let tampered = desk.path("tampered.lic");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let (rc, out) = verify_code(&desk, &[s(&tampered)]);
    assert!(rc == 13 || rc == 10, "{rc}: {out}");

    let (rc, out) = verify_code(&desk, &["not-a-serial"]);
    assert_eq!(rc, 10, "{out}");
    assert!(out.contains("no file named 'not-a-serial'"), "{out}");
}

#[test]
fn a_license_from_another_desk_has_an_unknown_key() {
    let desk = Desk::with_key();
    let other = Desk::with_key();
    let (_, serial, _) = desk.issue("a.lic", &[]);
    let foreign = other.export("ops", "base64");
    let (rc, out) = verify_code(&desk, &[&serial, "--pubkey", s(&foreign)]);
    assert_eq!(rc, 12, "{out}");
    let (rc, out) = verify_code(&other, &[&serial]);
    assert_eq!(rc, 12, "{out}");
}

#[test]
fn time_and_binding_are_checked() {
    let desk = Desk::with_key();
    let (_, serial, _) = desk.issue("a.lic", &["--cluster", CLUSTER, "--ip", "192.0.2.7"]);
    let here = ["--cluster", CLUSTER, "--ip", "192.0.2.7"];
    let check = |extra: &[&str]| {
        let mut args = vec![serial.as_str()];
        args.extend_from_slice(&here);
        args.extend_from_slice(extra);
        verify_code(&desk, &args)
    };
    assert_eq!(check(&[]).0, 0, "{}", check(&[]).1);
    let (rc, out) = check(&["--at", "2100-01-01T00:00:00Z"]);
    assert_eq!(rc, 15, "{out}");
    assert!(
        out.contains("Customer:    Acme") && out.contains("INVALID: expired"),
        "{out}"
    );
    let (rc, out) = check(&["--at", "0"]);
    assert_eq!(rc, 14, "{out}");

    let (rc, out) = verify_code(
        &desk,
        &[
            &serial,
            "--cluster",
            "00000000-0000-0000-0000-000000000001",
            "--ip",
            "192.0.2.7",
        ],
    );
    assert_eq!(rc, 16, "{out}");
    assert!(out.contains(CLUSTER), "{out}");
    let (rc, out) = verify_code(&desk, &[&serial, "--cluster", CLUSTER]);
    assert_eq!(rc, 16, "{out}");

    let bad = desk.run(&["verify", &serial, "--at", "tomorrow"]);
    assert_eq!(code(&bad), 2, "{}", text(&bad));
}

#[test]
fn a_revoked_license_fails_against_the_revocation_list() {
    let desk = Desk::with_key();
    let (id, serial, _) = desk.issue("a.lic", &[]);
    let (_, other_serial, _) = desk.issue("b.lic", &[]);
    let list = desk.path("revoked.txt");
    desk.ok(&["revoke", &id, "--reason", "refunded", "--out", s(&list)]);
    let (rc, out) = verify_code(&desk, &[&serial, "--revocations", s(&list)]);
    assert_eq!(rc, 17, "{out}");
    let (rc, out) = verify_code(&desk, &[&other_serial, "--revocations", s(&list)]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(desk.ledger_count(), 3);

    let again = desk.run(&["revoke", &id]);
    assert_eq!(code(&again), 1);
    assert!(text(&again).contains("already revoked"), "{}", text(&again));
    assert_eq!(desk.ledger_count(), 3);
}

#[test]
fn a_wrong_or_missing_passphrase_issues_nothing() {
    let desk = Desk::with_key();
    desk.issue("a.lic", &[]);
    let before = desk.ledger_count();
    let out = desk
        .command(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "A",
        ])
        .env("LICENSE_DESK_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(text(&out).contains("wrong passphrase"), "{}", text(&out));
    assert!(out.stdout.is_empty());

    let out = desk
        .command(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "A",
        ])
        .env_remove("LICENSE_DESK_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(text(&out).contains("no passphrase"), "{}", text(&out));
    assert_eq!(desk.ledger_count(), before);

    // The passphrase file's first line is the passphrase.
    let file = desk.path("pass.txt");
    std::fs::write(&file, format!("{PASSPHRASE}\nignored\n")).unwrap();
    let out = desk
        .command(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "dev",
            "--customer",
            "A",
            "--passphrase-file",
            s(&file),
        ])
        .env_remove("LICENSE_DESK_PASSPHRASE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(desk.ledger_count(), before + 1);
}

#[test]
fn bad_fields_are_named_like_in_the_form() {
    let desk = Desk::with_key();
    let out = desk.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "pro",
        "--customer",
        "A",
        "--seats",
        "0",
        "--cluster",
        "nope",
    ]);
    assert_eq!(code(&out), 1);
    let all = text(&out);
    assert!(
        all.contains("Seats: must be a whole number from 1 to 1000000"),
        "{all}"
    );
    assert!(all.contains("Cluster UUID: 'nope' is not a UUID"), "{all}");
    let out = desk.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "eval",
        "--customer",
        "A",
        "--perpetual",
    ]);
    assert!(
        text(&out).contains("Validity: Eval licenses last 30 days"),
        "{}",
        text(&out)
    );
    let out = desk.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "gold",
        "--customer",
        "A",
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert_eq!(desk.ledger_count(), 0);
}

#[test]
fn old_licenses_keep_verifying_after_rotation() {
    let desk = Desk::with_key();
    let (_, old_serial, _) = desk.issue("old.lic", &[]);
    let rotated = desk.ok(&["keys", "rotate", "--name", "ops-2"]);
    assert!(rotated.contains("active"), "{rotated}");
    let listed = desk.ok(&["keys", "list"]);
    let ops2 = listed.lines().find(|l| l.contains("ops-2")).unwrap();
    assert!(ops2.contains("active"), "{listed}");
    let ops = listed.lines().find(|l| l.contains("ops ")).unwrap();
    assert!(ops.contains("retired"), "{listed}");

    let (_, new_serial, _) = desk.issue("new.lic", &[]);
    let (rc, out) = verify_code(&desk, &[&old_serial]);
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = verify_code(&desk, &[&new_serial]);
    assert_eq!(rc, 0, "{out}");
    // The old key alone does not trust the new license.
    let old_key = desk.export("ops", "base64");
    assert_eq!(
        verify_code(&desk, &[&new_serial, "--pubkey", s(&old_key)]).0,
        12
    );
}

#[test]
fn an_encrypted_key_moves_to_another_desk_and_signs_there() {
    let office = Desk::with_key();
    let sealed = office.export("ops", "encrypted");
    let air_gapped = Desk::new();
    let imported = air_gapped.ok(&["keys", "import", s(&sealed)]);
    assert!(imported.contains("Imported key ops"), "{imported}");
    let (_, serial, _) = air_gapped.issue("a.lic", &[]);
    let pubkey = office.export("ops", "pem");
    let (rc, out) = verify_code(&office, &[&serial, "--pubkey", s(&pubkey)]);
    assert_eq!(rc, 0, "{out}");
    let again = air_gapped.run(&["keys", "import", s(&sealed)]);
    assert_eq!(code(&again), 1, "{}", text(&again));
}

#[test]
fn a_csv_issues_every_row_and_the_ledger_stays_intact() {
    let desk = Desk::with_key();
    let mut csv = String::from("product,kind,customer,cluster,seats,features,days,perpetual\n");
    for i in 0..50 {
        let kind = ["eval", "dev", "pro"][i % 3];
        let perpetual = if kind == "pro" && i % 2 == 0 {
            "true"
        } else {
            ""
        };
        csv.push_str(&format!(
            "Storage,{kind},Customer {i},{CLUSTER},{},snap;repl,90,{perpetual}\n",
            i + 1
        ));
    }
    let input = desk.path("in.csv");
    std::fs::write(&input, csv).unwrap();
    let output = desk.path("out.csv");
    let stdout = desk.ok(&["issue", "--csv", s(&input), "--out", s(&output)]);
    assert!(stdout.contains("Issued 50 licenses"), "{stdout}");

    let mut reader = csv::Reader::from_path(&output).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["license_id", "customer", "kind", "expires_at", "serial"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 50);
    assert_eq!(&rows[7][1], "Customer 7");
    let (rc, out) = verify_code(&desk, &[&rows[7][4], "--cluster", CLUSTER]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Customer:    Customer 7"), "{out}");

    let report = desk.ok(&["ledger", "verify"]);
    assert!(
        report.starts_with("Ledger intact: 50 entries, head "),
        "{report}"
    );

    let export = desk.path("ledger.csv");
    desk.ok(&["ledger", "export", "--out", s(&export)]);
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.starts_with(
        "seq,recorded_at,format,action,license_id,account_id,status,note,operator,payload_hash,prev_hash,entry_hash\n1,"
    ));
    assert_eq!(exported.lines().count(), 51);
    // The same export to standard output.
    assert_eq!(desk.ok(&["ledger", "export"]), exported);
}

#[test]
fn a_csv_with_a_bad_row_is_refused_whole() {
    let desk = Desk::with_key();
    let input = desk.path("in.csv");
    std::fs::write(
        &input,
        "product,kind,customer,seats\nS,pro,A,1\nS,dev,B,0\nS,eval,C,2\n",
    )
    .unwrap();
    let output = desk.path("out.csv");
    let out = desk.run(&["issue", "--csv", s(&input), "--out", s(&output)]);
    assert_eq!(code(&out), 1);
    let all = text(&out);
    assert!(
        all.contains("row 2: Seats: must be a whole number from 1 to 1000000"),
        "{all}"
    );
    assert!(all.contains("nothing was issued"), "{all}");
    assert!(!all.contains("row 1:") && !all.contains("row 3:"), "{all}");
    assert!(!output.exists());
    assert_eq!(desk.ledger_count(), 0);
}

#[test]
fn ledger_verify_names_an_edited_entry() {
    let desk = Desk::with_key();
    for name in ["a.lic", "b.lic", "c.lic"] {
        desk.issue(name, &[]);
    }
    assert!(
        desk.ok(&["ledger", "verify"])
            .starts_with("Ledger intact: 3 entries")
    );
    let conn = common::raw_connection(&desk.database());
    conn.execute("UPDATE ledger SET operator = 'mallory' WHERE seq = 2", [])
        .unwrap();
    drop(conn);
    let out = desk.run(&["ledger", "verify"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out).contains("Ledger broken at entry 2:"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_signed_checkpoint_catches_a_cut_off_tail_with_the_key_kept_off_the_machine() {
    let desk = Desk::with_key();
    for name in ["a.lic", "b.lic", "c.lic"] {
        desk.issue(name, &[]);
    }
    let checkpoint = desk.path("ledger.ldcp");
    let out = desk.run(&["ledger", "checkpoint", "--out", s(&checkpoint)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("off this machine"), "{}", text(&out));
    let pubkey = desk.export("ops", "pem");
    let check = [
        "ledger",
        "verify",
        "--checkpoint",
        s(&checkpoint),
        "--pubkey",
        s(&pubkey),
    ];
    let ok = desk.ok(&check);
    assert!(ok.starts_with("Ledger intact: 3 entries"), "{ok}");
    assert!(
        ok.contains("reaches the signed checkpoint of 3 entries"),
        "{ok}"
    );
    // A checkpoint needs the public key kept with it: the vault's own keys prove nothing.
    let out = desk.run(&["ledger", "verify", "--checkpoint", s(&checkpoint)]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("--pubkey"), "{}", text(&out));

    let conn = common::raw_connection(&desk.database());
    conn.execute_batch(
        "DELETE FROM licenses WHERE license_id = (SELECT license_id FROM ledger WHERE seq = 3);
         DELETE FROM ledger WHERE seq = 3;",
    )
    .unwrap();
    drop(conn);
    assert!(
        desk.ok(&["ledger", "verify"])
            .starts_with("Ledger intact: 2 entries")
    );
    let out = desk.run(&check);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out).contains("Ledger broken at entry 3: entry 3 is missing"),
        "{}",
        text(&out)
    );

    // A key imported into the same database signs a checkpoint of the rewritten ledger: checked
    // against the key kept off the machine, it is refused.
    let attacker = Desk::new();
    attacker.ok(&["keys", "new", "--name", "mallory"]);
    let forged = attacker.path("forged.ldcp");
    let attacker_key = attacker.export("mallory", "encrypted");
    desk.ok(&["keys", "import", s(&attacker_key), "--activate"]);
    desk.ok(&["ledger", "checkpoint", "--out", s(&forged)]);
    let out = desk.run(&[
        "ledger",
        "verify",
        "--checkpoint",
        s(&forged),
        "--pubkey",
        s(&pubkey),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("not by the public key it was checked against"),
        "{}",
        text(&out)
    );

    for bad in ["not a checkpoint\n", ""] {
        std::fs::write(&checkpoint, bad).unwrap();
        let out = desk.run(&check);
        assert_eq!(code(&out), 1);
        assert!(
            text(&out).contains("checkpoint file is malformed"),
            "{}",
            text(&out)
        );
    }
    let plus = std::fs::read_to_string(&forged)
        .unwrap()
        .replacen("Entries: ", "Entries: +", 1);
    std::fs::write(&checkpoint, plus).unwrap();
    let out = desk.run(&check);
    assert!(
        text(&out).contains("Entries is not a whole number"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_request_binds_the_license_to_the_machine() {
    let customer = Desk::new();
    let request = customer.path("request.txt");
    customer.ok(&["request", "--cluster", CLUSTER, "--out", s(&request)]);
    let printed = customer.ok(&["request"]);
    assert!(printed.starts_with("-----BEGIN"), "{printed}");

    let vendor = Desk::with_key();
    let (_, serial, file) = vendor.issue("bound.lic", &["--request", s(&request)]);
    let pubkey = vendor.export("ops", "base64");
    let (rc, out) = verify_code(
        &customer,
        &[
            s(&file),
            "--pubkey",
            s(&pubkey),
            "--cluster",
            CLUSTER,
            "--this-machine",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains(&format!("cluster {CLUSTER}")), "{out}");
    // Without this machine's fingerprints the binding is not met.
    let (rc, out) = verify_code(
        &customer,
        &[&serial, "--pubkey", s(&pubkey), "--cluster", CLUSTER],
    );
    assert_eq!(rc, 16, "{out}");

    let out = vendor.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "pro",
        "--customer",
        "A",
        "--request",
        s(&request),
        "--cluster",
        "00000000-0000-0000-0000-000000000001",
    ]);
    assert!(
        text(&out).contains("Cluster UUID: differs from the request's cluster"),
        "{}",
        text(&out)
    );
}

/// Runs only where `unshare -rn` works (build.rs probes it); elsewhere it is reported as
/// ignored, by name, never as passed.
#[test]
#[cfg_attr(
    no_unshare,
    ignore = "`unshare -rn` (a network namespace) is not available on this machine"
)]
fn issuing_works_without_any_network() {
    let desk = Desk::new();
    let offline = |args: &[&str]| {
        let mut cmd = Command::new("unshare");
        cmd.args(["-rn", BIN, "--data-dir", s(desk.dir.path())])
            .args(args)
            .env_remove("LICENSE_DESK_DATA")
            .env("LICENSE_DESK_PASSPHRASE", PASSPHRASE)
            .stdin(Stdio::null());
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    // Inside the namespace there is no interface but a down loopback.
    let links = Command::new("unshare")
        .args(["-rn", "cat", "/proc/net/dev"])
        .output()
        .unwrap();
    let interfaces: Vec<String> = String::from_utf8_lossy(&links.stdout)
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "the namespace should have no network interfaces"
    );
    offline(&["keys", "new", "--name", "vault"]);
    let file = desk.path("offline.lic");
    let stdout = offline(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "pro",
        "--customer",
        "A",
        "--out",
        s(&file),
    ]);
    assert!(stdout.contains("Serial:"), "{stdout}");
    offline(&["verify", s(&file)]);
    let (rc, out) = verify_code(&desk, &[s(&file)]);
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn a_license_links_to_an_account_by_wallet_id() {
    let desk = Desk::with_key();
    let mut store = license_desk::store::Store::open(&desk.database()).unwrap();
    let account =
        license_desk::services::accounts::create(&mut store, "Acme Corp", 1_700_000_000).unwrap();
    drop(store);
    let wallet = account.wallet_id.to_string();
    let (id, _, _) = desk.issue("a.lic", &["--account", &wallet]);
    let id: license_desk::domain::ids::LicenseId = id.parse().unwrap();
    let store = license_desk::store::Store::open(&desk.database()).unwrap();
    let linked = license_desk::store::licenses::get(store.conn(), id)
        .unwrap()
        .unwrap()
        .account_id;
    assert_eq!(linked, Some(account.id));

    let out = desk.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "pro",
        "--customer",
        "A",
        "--account",
        "999999",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out).contains("--account: no account has wallet ID 999999"),
        "{}",
        text(&out)
    );
}

#[test]
fn outputs_never_replace_files_unless_forced_and_never_the_database() {
    let desk = Desk::with_key();
    let out = desk.path("a.lic");
    std::fs::write(&out, "keep me").unwrap();
    let args = [
        "issue",
        "--product",
        "S",
        "--kind",
        "dev",
        "--customer",
        "A",
        "--out",
    ];
    let mut refused = args.to_vec();
    refused.push(s(&out));
    let result = desk.run(&refused);
    assert_eq!(code(&result), 1);
    assert!(
        text(&result).contains("already exists"),
        "{}",
        text(&result)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    assert_eq!(desk.ledger_count(), 0, "refused before anything was issued");
    let mut forced = refused.clone();
    forced.push("--force");
    desk.ok(&forced);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("-----BEGIN LICENSE DESK LICENSE-----")
    );

    // The database and its write-ahead log are never an output, however they are named.
    let db = desk.database();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let dotted = desk.dir.path().join(".").join(db.file_name().unwrap());
    for target in [db.clone(), wal, dotted] {
        let result = desk.run(&["keys", "export", "ops", "--out", s(&target), "--force"]);
        assert_eq!(code(&result), 1, "{target:?}");
        assert!(
            text(&result).contains("is License Desk's own database"),
            "{}",
            text(&result)
        );
    }
    assert!(
        desk.ok(&["ledger", "verify"])
            .starts_with("Ledger intact: 1 entries")
    );

    // A link planted where the temporary file would go is not followed: the output is
    // written through a new file with a random name and renamed into place.
    let victim = desk.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    #[cfg(unix)]
    for guess in ["key.pem.tmp", ".key.pem.tmp", "key.pem.part.tmp"] {
        std::os::unix::fs::symlink(&victim, desk.path(guess)).unwrap();
    }
    let key = desk.path("key.pem");
    desk.ok(&["keys", "export", "ops", "--format", "pem", "--out", s(&key)]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // Exported key files are private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let sealed = desk.path("ops.ldkey");
        desk.ok(&[
            "keys",
            "export",
            "ops",
            "--format",
            "encrypted",
            "--out",
            s(&sealed),
        ]);
        let mode = std::fs::metadata(&sealed).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// Runs `args` and returns its output, failing the test if it takes longer than `seconds`.
fn run_within(desk: &Desk, args: &[&str], seconds: u64) -> Output {
    let mut child = desk
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the binary");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().expect("running the binary").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} took longer than {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("running the binary")
}

#[test]
fn hostile_input_files_are_refused_before_they_are_read() {
    let desk = Desk::with_key();
    let huge = desk.path("huge.ldreq");
    std::fs::write(&huge, "\n".repeat(20 * 1024 * 1024)).unwrap();
    let mut cases = vec![
        (
            huge,
            "bytes is more than the 16384 bytes accepted for a license request",
        ),
        (desk.dir.path().to_path_buf(), "not a regular file"),
    ];
    #[cfg(unix)]
    {
        cases.push((PathBuf::from("/dev/zero"), "not a regular file"));
        let fifo = desk.path("fifo.ldreq");
        if Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            cases.push((fifo, "not a regular file"));
        }
    }
    for (path, expected) in cases {
        let out = run_within(
            &desk,
            &[
                "issue",
                "--product",
                "S",
                "--kind",
                "pro",
                "--customer",
                "A",
                "--request",
                s(&path),
            ],
            10,
        );
        assert_eq!(code(&out), 1, "{path:?}");
        assert!(text(&out).contains(expected), "{path:?}: {}", text(&out));
        for command in [vec!["keys", "import", s(&path)], vec!["verify", s(&path)]] {
            let out = run_within(&desk, &command, 10);
            assert_ne!(code(&out), 0, "{command:?}");
        }
    }
    assert_eq!(desk.ledger_count(), 0);
}

#[test]
fn a_closed_standard_output_is_not_a_panic_and_the_license_file_is_written_first() {
    let desk = Desk::with_key();
    let file = desk.path("piped.lic");
    let mut child = desk
        .command(&[
            "issue",
            "--product",
            "S",
            "--kind",
            "pro",
            "--customer",
            "A",
            "--out",
            s(&file),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the command prints anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(stderr.contains("standard output"), "{stderr}");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("-----BEGIN LICENSE DESK LICENSE-----")
    );
    assert!(
        desk.ok(&["ledger", "verify"])
            .starts_with("Ledger intact: 1 entries")
    );
}

#[test]
fn a_key_file_sealed_below_the_floor_is_refused_at_import() {
    let desk = Desk::new();
    let signing = licensekey::SigningKey::from_bytes(&[3; 32]);
    let sealed = keyvault::seal(
        "cheap",
        &signing,
        PASSPHRASE,
        keyvault::KdfParams::TEST_ONLY,
        1,
    )
    .unwrap();
    let file = desk.path("cheap.ldkey");
    std::fs::write(&file, sealed.to_armored()).unwrap();
    let out = desk.run(&["keys", "import", s(&file)]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out).contains("weaker than the argon2id m=65536 t=3 p=1"),
        "{}",
        text(&out)
    );
    let listed = desk.ok(&["keys", "list"]);
    assert!(listed.starts_with("No signing keys yet"), "{listed}");
}

#[test]
fn the_app_and_command_line_write_at_the_same_time_without_locking_errors() {
    use license_desk::jobs::{Command as Job, Message, Worker};
    use license_desk::services::accounts::AccountsCommand;
    let desk = Desk::with_key();
    let worker = Worker::spawn(
        desk.database(),
        std::sync::Arc::new(license_desk::clock::FixedClock::at_unix(1_795_435_200)),
        keyvault::KdfParams::TEST_ONLY,
        Box::new(|| {}),
    );
    let children: Vec<_> = (0..4)
        .map(|i| {
            let out = desk.path(&format!("bulk{i}.csv"));
            let input = desk.path(&format!("in{i}.csv"));
            let mut csv = String::from("product,kind,customer\n");
            for n in 0..200 {
                csv.push_str(&format!("S,dev,C{i}-{n}\n"));
            }
            std::fs::write(&input, csv).unwrap();
            desk.command(&["issue", "--csv", s(&input), "--out", s(&out)])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for n in 0..150 {
        worker.send(Job::Accounts(AccountsCommand::Create {
            name: format!("Account {n}"),
        }));
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    assert!(worker.wait_idle(std::time::Duration::from_secs(120)));
    let failures: Vec<String> = worker
        .poll()
        .into_iter()
        .filter_map(|m| match m {
            Message::Failed { message, .. } => Some(message),
            Message::OpenFailed(failure) => Some(failure.to_string()),
            _ => None,
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    drop(worker);
    assert!(
        desk.ok(&["ledger", "verify"])
            .starts_with("Ledger intact: 800 entries")
    );
}

#[test]
fn verify_checks_the_product_with_its_own_exit_code() {
    let desk = Desk::with_key();
    let (_, serial, _) = desk.issue("a.lic", &[]);
    let (rc, out) = verify_code(&desk, &[&serial, "--product", "Storage"]);
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = verify_code(&desk, &[&serial, "--product", "Backup"]);
    assert_eq!(rc, 18, "{out}");
    assert!(out.contains("Product:     Storage"), "{out}");
    assert!(
        out.contains("INVALID: license is for product 'Storage', not 'Backup'"),
        "{out}"
    );
    let help = desk.ok(&["verify", "--help"]);
    assert!(help.contains("18  wrong product"), "{help}");
}

#[test]
fn badly_encoded_or_oversized_license_files_are_malformed() {
    let desk = Desk::with_key();
    let (_, _, file) = desk.issue("a.lic", &[]);
    let good = std::fs::read(&file).unwrap();
    let cases = [
        ("bom.lic", [b"\xef\xbb\xbf".as_slice(), &good].concat()),
        ("latin1.lic", [good.as_slice(), b"\xe9\n"].concat()),
        (
            "big.lic",
            [
                good.as_slice(),
                &vec![b' '; licensekey::MAX_LICENSE_TEXT_LEN],
            ]
            .concat(),
        ),
    ];
    for (name, bytes) in cases {
        let path = desk.path(name);
        std::fs::write(&path, bytes).unwrap();
        let (rc, out) = verify_code(&desk, &[s(&path)]);
        assert_eq!(rc, 10, "{name}: {out}");
        assert!(out.contains("INVALID: malformed"), "{name}: {out}");
    }
}

#[test]
fn verify_can_be_told_the_revocation_sequence_already_seen() {
    let desk = Desk::with_key();
    let (a, serial_a, _) = desk.issue("a.lic", &[]);
    let (b, _, _) = desk.issue("b.lic", &[]);
    let first = desk.path("first.txt");
    let second = desk.path("second.txt");
    desk.ok(&["revoke", &a, "--out", s(&first)]);
    desk.ok(&["revoke", &b, "--out", s(&second)]);
    let seq = |file: &Path| {
        let text = std::fs::read_to_string(file).unwrap();
        licensekey::SignedRevocationList::parse(&text)
            .unwrap()
            .list()
            .sequence
    };
    let (s1, s2) = (seq(&first), seq(&second));
    assert!(s2 > s1);
    let (rc, out) = verify_code(
        &desk,
        &[
            &serial_a,
            "--revocations",
            s(&first),
            "--seen-sequence",
            &s1.to_string(),
        ],
    );
    assert_eq!(rc, 17, "{out}");
    let (rc, out) = verify_code(
        &desk,
        &[
            &serial_a,
            "--revocations",
            s(&first),
            "--seen-sequence",
            &s2.to_string(),
        ],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("is older than the latest seen"), "{out}");
    let (rc, out) = verify_code(&desk, &[&serial_a, "--seen-sequence", "1"]);
    assert_eq!(rc, 2, "--seen-sequence needs --revocations: {out}");
}

#[test]
fn a_request_carries_its_label_and_no_raw_machine_values() {
    let customer = Desk::new();
    let path = customer.path("request.txt");
    customer.ok(&["request", "--label", "Rack 3 node A", "--out", s(&path)]);
    let file = std::fs::read_to_string(&path).unwrap();
    let request = licensekey::LicenseRequest::parse(&file).unwrap();
    assert_eq!(request.label, "Rack 3 node A");
    let lines: Vec<&str> = file.lines().collect();
    let body = data_encoding_free_base64(&lines[1..lines.len() - 1].concat());
    for raw in [
        std::fs::read_to_string("/etc/machine-id").unwrap_or_default(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
    ] {
        let raw = raw.trim();
        if raw.len() >= 4 {
            assert!(
                !body.windows(raw.len()).any(|w| w == raw.as_bytes()),
                "'{raw}' travels in the request"
            );
        }
    }
    let bad = customer.run(&["request", "--label", "a\u{7}b"]);
    assert_eq!(code(&bad), 1, "{}", text(&bad));
}

#[test]
fn a_request_from_an_older_release_asks_for_a_new_one() {
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/test-vectors.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let old = vectors["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["expected"]["error"] == "OutdatedRequest")
        .unwrap()["file"]
        .as_str()
        .unwrap()
        .to_string();
    let vendor = Desk::with_key();
    let path = vendor.path("old.req");
    std::fs::write(&path, old).unwrap();
    let out = vendor.run(&[
        "issue",
        "--product",
        "S",
        "--kind",
        "pro",
        "--customer",
        "A",
        "--request",
        s(&path),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("make a new request"), "{}", text(&out));
}

/// Standard base64 without a crate (the root package has none as a dependency).
fn data_encoding_free_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("a base32 symbol") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn a_license_signed_here_but_missing_from_the_ledger_is_reported() {
    let desk = Desk::with_key();
    let (id, serial, _) = desk.issue("a.lic", &[]);
    let (rc, out) = verify_code(&desk, &[&serial]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("Ledger:      issued here (entry 1), Active"),
        "{out}"
    );
    // Someone with the database removes the license and its entry (or signed it elsewhere
    // with a leaked copy of the key): the signature still holds, the ledger does not.
    let conn = common::raw_connection(&desk.database());
    conn.execute_batch("DELETE FROM licenses; DELETE FROM ledger; DELETE FROM outbox;")
        .unwrap();
    drop(conn);
    let (rc, out) = verify_code(&desk, &[&serial]);
    assert_eq!(rc, 19, "{out}");
    assert!(out.contains("NOT ISSUED HERE"), "{out}");
    assert!(out.contains(&id), "{out}");
    // With a public key given, verify acts as a product would: no ledger to ask.
    let key = desk.export("ops", "base64");
    let (rc, out) = verify_code(&desk, &[&serial, "--pubkey", s(&key)]);
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn a_fresh_copy_of_the_revocation_list_names_the_same_licenses() {
    let desk = Desk::with_key();
    let (id, serial, _) = desk.issue("a.lic", &[]);
    let first = desk.path("first.ldrl");
    desk.ok(&["revoke", &id, "--reason", "refund", "--out", s(&first)]);
    let fresh = desk.path("fresh.ldrl");
    let out = desk.run(&["revocations", "publish", "--out", s(&fresh)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("names 1 license(s); next update due"),
        "{}",
        text(&out)
    );
    let (rc, out) = verify_code(&desk, &[&serial, "--revocations", s(&fresh)]);
    assert_eq!(rc, 17, "{out}");
    // The fresh list is newer: a product that saw it refuses the first one.
    let key = desk.export("ops", "base64");
    let fresh_text = std::fs::read_to_string(&fresh).unwrap();
    let ring = licensekey::KeyRing::new()
        .with(licensekey::parse_public_key(&std::fs::read_to_string(&key).unwrap()).unwrap())
        .unwrap();
    let seen = licensekey::verify_revocation_list(
        &fresh_text,
        &ring,
        &licensekey::RevocationCheck::at(i64::MAX / 2),
    );
    assert!(
        matches!(seen, Err(licensekey::Error::RevocationListExpired { .. })),
        "{seen:?}"
    );
    let state = licensekey::SignedRevocationList::parse(&fresh_text)
        .unwrap()
        .list()
        .state()
        .unwrap();
    let sequence = state.sequence.to_string();
    let (rc, out) = verify_code(
        &desk,
        &[
            &serial,
            "--revocations",
            s(&first),
            "--seen-sequence",
            &sequence,
        ],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(ledger_intact(&desk), "publishing a copy changes no ledger");
}

fn ledger_intact(desk: &Desk) -> bool {
    desk.ok(&["ledger", "verify"])
        .starts_with("Ledger intact: 2 entries")
}
