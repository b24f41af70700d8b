//! Re-checks every vector in `docs/test-vectors.json`: payloads re-encode
//! byte for byte, serials and files are what the encoder writes, and each
//! case verifies to its expected result (which must agree with its name).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::json::{error_name, outcome_to_json, payload_from_json};
use data_encoding::HEXLOWER;
use licensekey::{
    ClockGuard, Fingerprint, KeyId, KeyRing, LicenseRequest, MachineInfo, RevocationCheck,
    RevocationList, RevocationState, SignedLicense, SignedRevocationList, SigningKey, Uuid,
    VerifyContext, verify, verify_revocation_list,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/test-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    HEXLOWER.decode(v.as_str().unwrap().as_bytes()).unwrap()
}

fn ring(v: &Value) -> KeyRing {
    let mut ring = KeyRing::new();
    for k in v["keys"].as_array().unwrap() {
        let seed: [u8; 32] = hex(&k["seed_hex"]).try_into().unwrap();
        let vk = SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(
            HEXLOWER.encode(vk.as_bytes()),
            k["public_key_hex"].as_str().unwrap()
        );
        assert_eq!(KeyId::of(&vk).to_string(), k["key_id"].as_str().unwrap());
        assert_eq!(
            licensekey::parse_public_key(k["public_key_pem"].as_str().unwrap()).unwrap(),
            vk
        );
        assert_eq!(
            licensekey::parse_public_key(k["public_key_base64"].as_str().unwrap()).unwrap(),
            vk
        );
        let trusted = v["trusted_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == &k["name"]);
        if trusted {
            ring.insert(vk).unwrap();
        }
    }
    ring
}

fn machines(v: &Value) -> BTreeMap<String, MachineInfo> {
    v["machines"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, values)| {
            let pairs = values
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_owned()));
            (name.clone(), MachineInfo::from_values(pairs).unwrap())
        })
        .collect()
}

fn lists(v: &Value, ring: &KeyRing) -> BTreeMap<String, RevocationList> {
    v["revocation_lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let check = RevocationCheck::at(l["issued_at"].as_i64().unwrap());
            let list = verify_revocation_list(l["file"].as_str().unwrap(), ring, &check).unwrap();
            assert_eq!(list.sequence, l["sequence"].as_u64().unwrap());
            assert_eq!(u64::from(list.version()), l["version"].as_u64().unwrap());
            assert_eq!(
                HEXLOWER.encode(&list.encode().unwrap()),
                l["list_hex"].as_str().unwrap()
            );
            assert_eq!(
                HEXLOWER.encode(&list.state().unwrap().digest.unwrap()),
                l["digest_hex"].as_str().unwrap()
            );
            (l["name"].as_str().unwrap().to_owned(), list)
        })
        .collect()
}

#[test]
fn licenses_re_encode_byte_for_byte() {
    let v = vectors();
    for l in v["licenses"].as_array().unwrap() {
        let payload = payload_from_json(&l["payload"]);
        let bytes = payload.encode().unwrap();
        assert_eq!(
            HEXLOWER.encode(&bytes),
            l["payload_hex"].as_str().unwrap(),
            "{}",
            l["name"]
        );
        let mut blob = bytes;
        blob.extend(hex(&l["signature_hex"]));
        let signed = SignedLicense::from_bytes(&blob).unwrap();
        assert_eq!(signed.payload(), &payload);
        assert_eq!(signed.to_serial(), l["serial"].as_str().unwrap());
        assert_eq!(
            signed.to_license_file(),
            l["license_file"].as_str().unwrap()
        );
        assert_eq!(
            SignedLicense::parse_serial(l["serial"].as_str().unwrap()).unwrap(),
            signed
        );
        assert_eq!(
            SignedLicense::parse_license_file(l["license_file"].as_str().unwrap()).unwrap(),
            signed
        );
    }
}

/// What a case's name promises, so a regenerated file cannot silently change meaning.
fn promised(name: &str) -> &'static str {
    let table = [
        (", valid", "valid"),
        ("in grace", "in_grace"),
        ("bad checksum", "BadChecksum"),
        ("bad signature", "BadSignature"),
        ("unknown key id", "UnknownKeyId"),
        ("wrong product", "WrongProduct"),
        ("not yet valid", "NotYetValid"),
        ("expired", "Expired"),
        ("wrong binding", "WrongBinding"),
        ("revoked", "Revoked"),
        ("malformed", "Malformed"),
    ];
    table
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("case name does not say its result: {name}"))
}

#[test]
fn cases_verify_as_expected() {
    let v = vectors();
    let ring = ring(&v);
    let machines = machines(&v);
    let lists = lists(&v, &ring);
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 60);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let c = &case["context"];
        let now = c["now"].as_i64().unwrap();
        let mut ctx = match c["product"].as_str() {
            Some(p) => VerifyContext::for_product(p, now),
            None => VerifyContext::any_product(now),
        };
        if let Some(cluster) = c["cluster"].as_str() {
            ctx = ctx.with_cluster(Uuid::parse_str(cluster).unwrap());
        }
        if let Some(ip) = c["ip"].as_str() {
            ctx = ctx.with_ip(ip.parse().unwrap());
        }
        if let Some(m) = c["machine"].as_str() {
            ctx = ctx.with_machine(&machines[m]);
        }
        if let Some(l) = c["revocation_list"].as_str() {
            ctx = ctx.with_revocations(&lists[l]);
        }
        let outcome = if let Some(bytes) = case.get("artifact_bytes_hex") {
            let bytes = hex(bytes);
            licensekey::text_from_bytes(&bytes).and_then(|t| verify(t, &ring, &ctx))
        } else {
            let mut text = case["artifact"].as_str().unwrap().to_owned();
            if let Some(n) = case.get("pad_with_spaces") {
                text.push_str(&" ".repeat(n.as_u64().unwrap() as usize));
            }
            verify(&text, &ring, &ctx)
        };
        let got = outcome_to_json(&outcome);
        assert_eq!(got, case["expected"], "{name}");
        let expected = &case["expected"];
        let result = if expected["result"] == "error" {
            expected["error"].as_str().unwrap()
        } else {
            expected["result"].as_str().unwrap()
        };
        assert_eq!(result, promised(name), "{name}");
    }
}

#[test]
fn revocation_vectors() {
    let v = vectors();
    let ring = ring(&v);
    for case in v["revocation_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let seen = case["seen"].as_object().map(|s| RevocationState {
            sequence: s["sequence"].as_u64().unwrap(),
            digest: s["digest_hex"]
                .as_str()
                .map(|h| HEXLOWER.decode(h.as_bytes()).unwrap().try_into().unwrap()),
            revoked_keys: s["revoked_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().parse().unwrap())
                .collect(),
        });
        let mut check = RevocationCheck::at(case["now"].as_i64().unwrap());
        if let Some(days) = case["max_age_days"].as_u64() {
            check = check.max_age_days(days as u32);
        }
        if let Some(s) = &seen {
            check = check.after(s);
        }
        match verify_revocation_list(case["file"].as_str().unwrap(), &ring, &check) {
            Ok(l) => {
                assert_eq!(case["expected"]["result"], "valid", "{name}");
                assert_eq!(
                    case["expected"]["sequence"].as_u64(),
                    Some(l.sequence),
                    "{name}"
                );
            }
            Err(e) => assert_eq!(
                case["expected"]["error"].as_str(),
                Some(error_name(&e)),
                "{name}"
            ),
        }
    }
    let names: Vec<&str> = v["revocation_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["expected"]["error"].as_str().unwrap_or("valid"))
        .collect();
    for needed in [
        "valid",
        "RevocationSequenceReused",
        "StaleRevocationList",
        "RevokedSigningKey",
        "RevocationListExpired",
        "RevocationListTooOld",
        "Malformed",
        "BadSignature",
    ] {
        assert!(names.contains(&needed), "no revocation vector for {needed}");
    }
    let signed =
        SignedRevocationList::parse(v["revocation_lists"][1]["file"].as_str().unwrap()).unwrap();
    assert_eq!(signed.list().version(), 2);
}

#[test]
fn request_and_fingerprint_vectors() {
    let v = vectors();
    for fp in v["fingerprint_examples"].as_array().unwrap() {
        let (name, value) = (fp["name"].as_str().unwrap(), fp["value"].as_str().unwrap());
        let f = match fp["version"].as_u64().unwrap() {
            1 => Fingerprint::legacy(name, value),
            _ => Fingerprint::salted(&hex(&fp["salt_hex"]).try_into().unwrap(), name, value),
        };
        assert_eq!(f.to_string(), fp["fingerprint"].as_str().unwrap());
    }
    for r in v["requests"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let parsed = LicenseRequest::parse(r["file"].as_str().unwrap());
        let e = &r["expected"];
        match parsed {
            Ok(req) => {
                assert_eq!(e["result"], "valid", "{name}");
                if let Some(body) = r["body_hex"].as_str() {
                    assert_eq!(HEXLOWER.encode(&req.encode().unwrap()), body);
                    assert_eq!(req.label, e["label"].as_str().unwrap());
                    assert_eq!(HEXLOWER.encode(&req.salt), e["salt_hex"].as_str().unwrap());
                    assert_eq!(req.created_at, e["created_at"].as_i64().unwrap());
                    assert_eq!(req.strong.len(), e["strong"].as_array().unwrap().len());
                    assert_eq!(req.to_file().unwrap(), r["file"].as_str().unwrap());
                    assert_eq!(
                        req.machine_key.map(|k| HEXLOWER.encode(k.as_bytes())),
                        e["machine_key_hex"].as_str().map(str::to_owned),
                        "{name}"
                    );
                }
            }
            Err(err) => assert_eq!(e["error"].as_str(), Some(error_name(&err)), "{name}"),
        }
    }
    let outdated = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["expected"]["error"] == "OutdatedRequest")
        .count();
    assert_eq!(outdated, 1);
    let rust = v["primary_public_key_rust_const"].as_str().unwrap();
    assert!(rust.contains("pub const LICENSE_PUBLIC_KEY: [u8; 32]"));
}

#[test]
fn public_key_and_clock_vectors() {
    let v = vectors();
    for case in v["public_key_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        match licensekey::parse_public_key(case["text"].as_str().unwrap()) {
            Ok(k) => assert_eq!(
                case["expected"]["public_key_hex"].as_str(),
                Some(HEXLOWER.encode(k.as_bytes()).as_str()),
                "{name}"
            ),
            Err(e) => assert_eq!(
                case["expected"]["error"].as_str(),
                Some(error_name(&e)),
                "{name}"
            ),
        }
    }
    let clock = &v["clock_guard"];
    let guard = ClockGuard::new(
        clock["secret_utf8"].as_str().unwrap().as_bytes(),
        clock["tolerance_secs"].as_i64().unwrap(),
    );
    for case in clock["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let got = guard.check(case["token"].as_str(), case["now"].as_i64().unwrap());
        match got {
            Ok(token) => assert_eq!(
                case["expected"]["stored"].as_i64(),
                Some(guard.open(&token).unwrap()),
                "{name}"
            ),
            Err(e) => assert_eq!(
                case["expected"]["error"].as_str(),
                Some(error_name(&e)),
                "{name}"
            ),
        }
    }
}

/// The ledger checkpoint framing the spec documents (signed by the desk, not by this crate).
#[test]
fn checkpoint_vector_follows_the_documented_framing() {
    use ed25519_dalek::Verifier;
    let v = vectors();
    let c = &v["ledger_checkpoint"];
    let mut msg = b"LicenseDesk/ledger-checkpoint/v1\0".to_vec();
    msg.extend(c["entries"].as_u64().unwrap().to_be_bytes());
    msg.extend(hex(&c["head_hex"]));
    msg.extend(c["created_at"].as_i64().unwrap().to_be_bytes());
    msg.extend(hex(&Value::from(c["key_id"].as_str().unwrap())));
    assert_eq!(HEXLOWER.encode(&msg), c["message_hex"].as_str().unwrap());
    let seed: [u8; 32] = hex(&v["keys"][0]["seed_hex"]).try_into().unwrap();
    let key = SigningKey::from_bytes(&seed).verifying_key();
    let sig = ed25519_dalek::Signature::from_bytes(&hex(&c["signature_hex"]).try_into().unwrap());
    key.verify(&msg, &sig).unwrap();
}

/// The version 1 vectors are the ones earlier releases published, unchanged:
/// Ed25519 is deterministic, so the same signature means the same bytes.
#[test]
fn version_1_vectors_are_unchanged() {
    let v = vectors();
    let published = [
        (
            "pro-v1",
            "20f7830adbc6201b639cf2053dcaf24c7cd83ffda38a7f80e182fcbcb819af9ff26b6315ca4d77db728fe1ad2a61fabd0661f022a0db56d970a258c7a58ba502",
        ),
        (
            "eval-v1",
            "d9efff6db1e7713723efa0117993292e3338fb2a750502b0ecd72b6a76aca03f70990ffe4af32446cafb4cafd222145853ea025e4b4f53ad37562e1db896780c",
        ),
        (
            "dev-v1",
            "2256f8fca7e32ca97ecdc96bf9588b2a94cf95b84512b049e0351c6a7cea6502d4d826c6d8675cc509610b91923efc237c3b34703538cf3bb817e60c15b6990a",
        ),
        (
            "foreign-v1",
            "78ddc4af0f769f23c68f8d2b2df063a465f86e4b3f0a09fc2eddff67277e5c81196666df418968e5d92c4da14689f90fb48f313bdd8efea21f34b10af4830303",
        ),
    ];
    for (name, signature) in published {
        let l = v["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap();
        assert_eq!(l["payload"]["format_version"], 1, "{name}");
        assert_eq!(l["signature_hex"].as_str(), Some(signature), "{name}");
    }
    let seq5 = &v["revocation_lists"][0];
    assert_eq!(seq5["file"].as_str(), Some(V1_LIST));
    let outdated = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["expected"]["error"] == "OutdatedRequest")
        .unwrap();
    assert_eq!(outdated["file"].as_str(), Some(V1_REQUEST));
}

const V1_LIST: &str = "-----BEGIN LICENSE DESK REVOCATION LIST-----\nASH+Md+hVKJhAAAAAAAAAAUAAAAAaWLoAAAAAAIBkvWgfB59OptPAAAAAAACAZL1\noHwefTqbTwAAAAAA/+CRQHFJ0HHeL3Rzuc4fVZiDClw2pCho9WNbgC2h1GzBFRHM\nghEEjU3T2d1y5WMSi2/8UrsjK3qewErFMJcBxQc=\n-----END LICENSE DESK REVOCATION LIST-----\n";

const V1_REQUEST: &str = "-----BEGIN LICENSE DESK LICENSE REQUEST-----\nAQFvHCp+Sz1OipwhDV5/mhssAAhhcnJheS0wMQAFbGludXgABng4Nl82NAADAANj\ncHVvoqPceJdcCgRsoo2l0oVuAAhob3N0bmFtZd1Aa6DRhzx0Tp4SE69pyJoACm1h\nY2hpbmUtaWRlB4dSbxBwHI675IwghfLhpaWlpaWlpaWlpaWlpaWlpQAAAABpUxYA\naQxUQ4y3GxNC2l0LJiFA5a7ugB6rPcgk9xTf+Bn9vy0=\n-----END LICENSE DESK LICENSE REQUEST-----\n";

#[test]
fn deactivation_vectors() {
    let v = vectors();
    let d = &v["deactivations"];
    let machine =
        licensekey::SigningKey::from_bytes(&hex(&d["machine_seed_hex"]).try_into().unwrap());
    assert_eq!(
        HEXLOWER.encode(machine.verifying_key().as_bytes()),
        d["machine_key_hex"].as_str().unwrap()
    );
    let license = |name: &str| {
        let l = v["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap();
        licensekey::SignedLicense::parse(l["serial"].as_str().unwrap()).unwrap()
    };
    let mut seen_errors = std::collections::BTreeSet::new();
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let lic = license(case["license"].as_str().unwrap());
        let outcome = licensekey::SignedDeactivation::parse(case["file"].as_str().unwrap())
            .and_then(|s| s.verify().cloned())
            .and_then(|x| x.check_license(&lic).map(|()| x));
        let e = &case["expected"];
        match outcome {
            Ok(x) => {
                assert_eq!(e["result"], "valid", "{name}");
                assert_eq!(x.id.to_string(), e["id"].as_str().unwrap());
                assert_eq!(
                    HEXLOWER.encode(&x.encode().unwrap()),
                    d["body_hex"].as_str().unwrap()
                );
                // The same deactivation, signed again, is the same file (Ed25519 is deterministic).
                let again = licensekey::SignedDeactivation::sign(x, &machine).unwrap();
                assert_eq!(again.to_file(), case["file"].as_str().unwrap());
            }
            Err(err) => {
                assert_eq!(e["error"].as_str(), Some(error_name(&err)), "{name}");
                seen_errors.insert(error_name(&err));
            }
        }
    }
    for promised in ["BadSignature", "OtherLicense", "Malformed"] {
        assert!(
            seen_errors.contains(promised),
            "a negative vector for {promised}"
        );
    }
}
