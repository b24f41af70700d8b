//! Writes the test vectors to stdout:
//! `cargo run -p licensekey --example gen_vectors > docs/test-vectors.json`.
//!
//! Everything is fixed (keys, nonces, times) and Ed25519 signatures are
//! deterministic, so the output is byte-identical on every run.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/json.rs"]
mod json;

use data_encoding::HEXLOWER;
use licensekey::{
    Fingerprint, KeyId, KeyRing, LicenseKind, LicensePayload, LicenseRequest, MachineComponent,
    RevocationList, SignedLicense, SignedRevocationList, SigningKey, Uuid, VerifyContext, verify,
    verify_revocation_list,
};
use serde_json::{Value, json};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn seed(hex: &str) -> [u8; 32] {
    HEXLOWER.decode(hex.as_bytes()).unwrap().try_into().unwrap()
}

fn key_json(name: &str, seed_hex: &str, key: &SigningKey) -> Value {
    let vk = key.verifying_key();
    json!({
        "name": name,
        "seed_hex": seed_hex,
        "public_key_hex": HEXLOWER.encode(vk.as_bytes()),
        "public_key_base64": licensekey::public_key_base64(&vk),
        "public_key_pem": licensekey::public_key_pem(&vk),
        "key_id": KeyId::of(&vk).to_string(),
    })
}

fn license_json(name: &str, l: &SignedLicense) -> Value {
    json!({
        "name": name,
        "payload": json::payload_to_json(l.payload()),
        "payload_hex": HEXLOWER.encode(l.payload_bytes()),
        "signature_hex": HEXLOWER.encode(l.signature()),
        "serial": l.to_serial(),
        "license_file": l.to_license_file(),
    })
}

struct Ctx {
    now: i64,
    cluster: Option<Uuid>,
    ip: Option<&'static str>,
    fingerprints: Vec<Fingerprint>,
    revocation_list: Option<&'static str>,
}

impl Ctx {
    fn at(now: i64) -> Self {
        Self {
            now,
            cluster: None,
            ip: None,
            fingerprints: Vec::new(),
            revocation_list: None,
        }
    }
}

fn main() {
    let primary_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let untrusted_hex = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    let primary = SigningKey::from_bytes(&seed(primary_hex));
    let untrusted = SigningKey::from_bytes(&seed(untrusted_hex));
    let ring = KeyRing::new().with(primary.verifying_key());

    let cluster = Uuid::parse_str("6f1c2a7e-4b3d-4e8a-9c21-0d5e7f9a1b2c").unwrap();
    let other_cluster = Uuid::parse_str("00000000-0000-4000-8000-000000000001").unwrap();
    let fps = [
        Fingerprint::of("machine-id", "4a1f0c3e9b7d4e2a8c6f1b3d5e7a9c0f"),
        Fingerprint::of("hostname", "array-01"),
        Fingerprint::of("cpu", "AMD EPYC 7302 16-Core Processor"),
    ];
    let stranger_fp = Fingerprint::of("machine-id", "ffffffffffffffffffffffffffffffff");

    // A request from the bound machine (fixed nonce so the vector is stable).
    let request = LicenseRequest {
        cluster: Some(cluster),
        hostname: "array-01".into(),
        os: "linux".into(),
        arch: "x86_64".into(),
        components: {
            let mut c: Vec<MachineComponent> = ["cpu", "hostname", "machine-id"]
                .iter()
                .zip([fps[2], fps[1], fps[0]])
                .map(|(n, f)| MachineComponent {
                    name: (*n).into(),
                    fingerprint: f,
                })
                .collect();
            c.sort();
            c
        },
        nonce: [0xa5; 16],
        created_at: T0 - 2 * DAY,
    };
    let request_file = request.to_file().unwrap();

    // Licenses.
    let mut pro = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f").unwrap(),
        "License Desk Storage",
        LicenseKind::Pro,
        "ACME Corp",
        T0,
    );
    pro.binding = request.binding(2);
    pro.binding.ip = Some("192.0.2.10".parse().unwrap());
    pro.capacity_tb = 500;
    pro.seats = 25;
    pro.features = vec!["snapshots".into(), "replication".into(), "dedup".into()];
    pro.expires_at = Some(T0 + 365 * DAY);
    pro.support_until = Some(T0 + 365 * DAY);
    pro.grace_days = 14;
    let pro = SignedLicense::sign(pro, &primary).unwrap();

    let mut eval = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000002").unwrap(),
        "License Desk Storage",
        LicenseKind::Eval,
        "Émile Zoë GmbH",
        T0,
    );
    eval.not_before = T0 + DAY;
    eval.capacity_tb = 10;
    eval.expires_at = Some(T0 + 30 * DAY);
    eval.grace_days = 3;
    let eval = SignedLicense::sign(eval, &primary).unwrap();

    let mut dev = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000003").unwrap(),
        "License Desk Storage",
        LicenseKind::Dev,
        "Dev Team",
        T0,
    );
    dev.binding.ip = Some("2001:db8::7".parse().unwrap());
    dev.features = vec!["api".into()];
    let dev = SignedLicense::sign(dev, &primary).unwrap();

    let foreign = SignedLicense::sign(
        LicensePayload::new(
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000004").unwrap(),
            "License Desk Storage",
            LicenseKind::Pro,
            "Someone",
            T0,
        ),
        &untrusted,
    )
    .unwrap();

    // Revocation lists.
    let revoked = SignedRevocationList::sign(
        RevocationList::new(
            5,
            T0 + 10 * DAY,
            vec![
                eval.payload().license_id,
                Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-0000000000ff").unwrap(),
            ],
        ),
        &primary,
    )
    .unwrap();
    let revoked_file = revoked.to_file();
    let revoked_list = verify_revocation_list(&revoked_file, &ring, None).unwrap();
    let mut rev_blob = revoked.to_bytes();
    let last = rev_blob.len() - 1;
    rev_blob[last] ^= 0x01;
    let rev_flipped = armor(licensekey::REVOCATION_LABEL, &rev_blob);

    // Tampered text forms.
    let pro_serial = pro.to_serial();
    let typo_serial = {
        let mut s = pro_serial.clone();
        let i = s.len() - 20;
        let c = if &s[i..=i] == "7" { "8" } else { "7" };
        s.replace_range(i..=i, c);
        s
    };
    let mut flipped = pro.to_bytes();
    let sig_byte = flipped.len() - 10;
    flipped[sig_byte] ^= 0x40;
    let flipped_serial = serial_of(&flipped);
    let flipped_file = armor(licensekey::LICENSE_LABEL, &flipped);
    let mut flipped_payload = pro.to_bytes();
    flipped_payload[20] ^= 0x01;
    let flipped_payload_file = armor(licensekey::LICENSE_LABEL, &flipped_payload);
    let mut version2 = pro.to_bytes();
    version2[0] = 2;
    let version2_file = armor(licensekey::LICENSE_LABEL, &version2);
    let crlf_file = pro.to_license_file().replace('\n', "\r\n");
    let folded_serial = format!(
        "  ld1-{}\n",
        pro_serial[4..]
            .to_lowercase()
            .replace('0', "o")
            .replace('1', "l")
    );
    let dashless_serial = format!("LD1-{}", pro_serial[4..].replace('-', ""));
    let rewrapped_file = {
        let f = pro.to_license_file();
        let lines: Vec<&str> = f.lines().collect();
        let body: String = lines[1..lines.len() - 1].concat();
        let mut out = format!("{}\n", lines[0]);
        for chunk in body.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(lines[lines.len() - 1]);
        out.push('\n');
        out
    };
    let commented_file = pro
        .to_license_file()
        .replacen('\n', "\nCustomer: ACME Corp\n", 1);

    let bound = |now: i64| Ctx {
        now,
        cluster: Some(cluster),
        ip: Some("192.0.2.10"),
        fingerprints: fps.to_vec(),
        revocation_list: None,
    };
    let mid = T0 + 100 * DAY;
    let cases: Vec<(&str, &str, String, Ctx)> = vec![
        (
            "pro serial, bound machine, valid",
            "pro",
            pro_serial.clone(),
            bound(mid),
        ),
        (
            "pro license file, valid",
            "pro",
            pro.to_license_file(),
            bound(mid),
        ),
        (
            "pro license file with CRLF line ends, valid",
            "pro",
            crlf_file,
            bound(mid),
        ),
        (
            "serial lowercased, O/I/L folded, surrounding whitespace, valid",
            "pro",
            folded_serial,
            bound(mid),
        ),
        (
            "serial without group dashes, valid",
            "pro",
            dashless_serial,
            bound(mid),
        ),
        (
            "two of three fingerprints match (minimum 2), valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                fingerprints: vec![fps[0], fps[2], stranger_fp],
                ..bound(mid)
            },
        ),
        (
            "IPv4-mapped IPv6 address matches the IPv4 binding, valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                ip: Some("::ffff:192.0.2.10"),
                ..bound(mid)
            },
        ),
        (
            "one day after expiry, 14 grace days: in grace",
            "pro",
            pro_serial.clone(),
            bound(T0 + 366 * DAY),
        ),
        (
            "at expiry plus grace: expired",
            "pro",
            pro_serial.clone(),
            bound(T0 + 379 * DAY),
        ),
        (
            "one symbol changed: bad checksum",
            "pro",
            typo_serial,
            bound(mid),
        ),
        (
            "signature byte flipped (serial re-checksummed): bad signature",
            "pro",
            flipped_serial,
            bound(mid),
        ),
        (
            "signature byte flipped in license file: bad signature",
            "pro",
            flipped_file,
            bound(mid),
        ),
        (
            "payload byte flipped in license file: bad signature",
            "pro",
            flipped_payload_file,
            bound(mid),
        ),
        (
            "format version 2: malformed",
            "pro",
            version2_file,
            bound(mid),
        ),
        (
            "body re-wrapped at 76 columns: malformed",
            "pro",
            rewrapped_file,
            bound(mid),
        ),
        (
            "comment line in license file: malformed",
            "pro",
            commented_file,
            bound(mid),
        ),
        (
            "neither serial nor license file: malformed",
            "pro",
            "hello".into(),
            bound(mid),
        ),
        (
            "last three symbols cut off: bad checksum",
            "pro",
            pro_serial[..pro_serial.len() - 3].into(),
            bound(mid),
        ),
        (
            "serial containing U (not in the alphabet): malformed",
            "pro",
            format!("{}U{}", &pro_serial[..10], &pro_serial[11..]),
            bound(mid),
        ),
        (
            "serial with a misplaced dash: malformed",
            "pro",
            format!("{}-{}", &pro_serial[..6], &pro_serial[6..]),
            bound(mid),
        ),
        (
            "other cluster: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                cluster: Some(other_cluster),
                ..bound(mid)
            },
        ),
        (
            "other IP: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                ip: Some("192.0.2.11"),
                ..bound(mid)
            },
        ),
        (
            "one of three fingerprints match (minimum 2): wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                fingerprints: vec![fps[1], stranger_fp],
                ..bound(mid)
            },
        ),
        (
            "no context at all: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx::at(mid),
        ),
        (
            "eval before not-before: not yet valid",
            "eval",
            eval.to_serial(),
            Ctx::at(T0 + 3600),
        ),
        (
            "eval after not-before, valid",
            "eval",
            eval.to_serial(),
            Ctx::at(T0 + 2 * DAY),
        ),
        (
            "eval last grace day: in grace",
            "eval",
            eval.to_serial(),
            Ctx::at(T0 + 33 * DAY - 1),
        ),
        (
            "eval past grace: expired",
            "eval",
            eval.to_serial(),
            Ctx::at(T0 + 40 * DAY),
        ),
        (
            "eval on the revocation list: revoked",
            "eval",
            eval.to_serial(),
            Ctx {
                revocation_list: Some("seq5"),
                ..Ctx::at(T0 + 2 * DAY)
            },
        ),
        (
            "pro not on the revocation list, valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                revocation_list: Some("seq5"),
                ..bound(mid)
            },
        ),
        (
            "perpetual dev license far in the future, valid",
            "dev",
            dev.to_license_file(),
            Ctx {
                ip: Some("2001:db8::7"),
                ..Ctx::at(T0 + 50 * 365 * DAY)
            },
        ),
        (
            "signed by a key not in the ring: unknown key id",
            "foreign",
            foreign.to_serial(),
            Ctx::at(mid),
        ),
    ];

    let cases_json: Vec<Value> = cases
        .iter()
        .map(|(name, license, artifact, c)| {
            let ip = c.ip.map(|s| s.parse().unwrap());
            let mut ctx = VerifyContext::at(c.now);
            ctx.cluster = c.cluster;
            ctx.ip = ip;
            ctx.fingerprints = &c.fingerprints;
            if c.revocation_list.is_some() {
                ctx.revocations = Some(&revoked_list);
            }
            let outcome = json::outcome_to_json(&verify(artifact, &ring, &ctx));
            json!({
                "name": name,
                "license": license,
                "artifact": artifact,
                "context": {
                    "now": c.now,
                    "cluster": c.cluster.map(|u| u.to_string()),
                    "ip": c.ip,
                    "fingerprints": c.fingerprints.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                    "revocation_list": c.revocation_list,
                },
                "expected": outcome,
            })
        })
        .collect();

    let rev_cases: Vec<Value> = [
        (
            "fresh list, nothing seen before",
            revoked_file.clone(),
            None,
        ),
        (
            "same sequence seen before (reload)",
            revoked_file.clone(),
            Some(5u64),
        ),
        (
            "newer list seen before: replay refused",
            revoked_file.clone(),
            Some(6),
        ),
        ("signature byte flipped", rev_flipped, None),
    ]
    .into_iter()
    .map(|(name, file, seen)| {
        let expected = match verify_revocation_list(&file, &ring, seen) {
            Ok(l) => json!({"result": "valid", "sequence": l.sequence}),
            Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
        };
        json!({"name": name, "file": file, "highest_seen_sequence": seen, "expected": expected})
    })
    .collect();

    let damaged_request = {
        let text = request_file.clone();
        let lines: Vec<&str> = text.lines().collect();
        let mut bytes = data_encoding::BASE64
            .decode(lines[1..lines.len() - 1].concat().as_bytes())
            .unwrap();
        bytes[5] ^= 0x01;
        armor(licensekey::REQUEST_LABEL, &bytes)
    };
    let damaged_result = LicenseRequest::parse(&damaged_request)
        .map(|_| ())
        .unwrap_err();

    let doc = json!({
        "description": "License Desk license format test vectors (docs/license-format.md). Generated by `cargo run -p licensekey --example gen_vectors`; checked by crates/licensekey/tests/vectors.rs. Times are unix seconds (UTC).",
        "keys": [key_json("primary", primary_hex, &primary), key_json("untrusted", untrusted_hex, &untrusted)],
        "trusted_keys": ["primary"],
        "primary_public_key_rust_const": licensekey::public_key_rust_const(&primary.verifying_key()),
        "licenses": [
            license_json("pro", &pro),
            license_json("eval", &eval),
            license_json("dev", &dev),
            license_json("foreign", &foreign),
        ],
        "revocation_lists": [{
            "name": "seq5",
            "key_id": revoked.list().key_id.to_string(),
            "sequence": revoked.list().sequence,
            "issued_at": revoked.list().issued_at,
            "revoked": revoked.list().revoked.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            "list_hex": HEXLOWER.encode(&revoked.to_bytes()[..revoked.to_bytes().len() - 64]),
            "file": revoked_file,
        }],
        "fingerprint_examples": [
            {"name": "machine-id", "value": "4a1f0c3e9b7d4e2a8c6f1b3d5e7a9c0f", "fingerprint": fps[0].to_string()},
            {"name": "hostname", "value": "array-01", "fingerprint": fps[1].to_string()},
            {"name": "cpu", "value": "AMD EPYC 7302 16-Core Processor", "fingerprint": fps[2].to_string()},
        ],
        "requests": [
            {
                "name": "array-01",
                "file": request_file,
                "body_hex": HEXLOWER.encode(&request.encode().unwrap()),
                "expected": {
                    "result": "valid",
                    "cluster": request.cluster.map(|u| u.to_string()),
                    "hostname": request.hostname,
                    "os": request.os,
                    "arch": request.arch,
                    "components": request.components.iter().map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()})).collect::<Vec<_>>(),
                    "nonce_hex": HEXLOWER.encode(&request.nonce),
                    "created_at": request.created_at,
                },
            },
            {
                "name": "one body byte changed",
                "file": damaged_request,
                "expected": {"result": "error", "error": json::error_name(&damaged_result)},
            },
        ],
        "cases": cases_json,
        "revocation_cases": rev_cases,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}

/// Serial of arbitrary bytes with a correct checksum (to test the signature behind it).
fn serial_of(blob: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut bytes = blob.to_vec();
    bytes.extend_from_slice(&Sha256::digest(blob)[..4]);
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    let text = spec.encoding().unwrap().encode(&bytes);
    let groups: Vec<&str> = text
        .as_bytes()
        .chunks(5)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect();
    format!("LD1-{}", groups.join("-"))
}

/// Armor of arbitrary bytes, written independently of the crate's encoder.
fn armor(label: &str, bytes: &[u8]) -> String {
    let body = data_encoding::BASE64.encode(bytes);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
