//! Re-checks every vector in `docs/test-vectors.json`: payloads re-encode
//! byte for byte, serials and files are what the encoder writes, and each
//! case verifies to its expected result (which must agree with its name).
#![allow(clippy::unwrap_used)]

mod common;

use common::json::{error_name, outcome_to_json, payload_from_json};
use data_encoding::HEXLOWER;
use licensekey::{
    Fingerprint, KeyId, KeyRing, LicenseRequest, SignedLicense, SigningKey, Uuid, VerifyContext,
    verify, verify_revocation_list,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/test-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ring(v: &Value) -> KeyRing {
    let mut ring = KeyRing::new();
    for k in v["keys"].as_array().unwrap() {
        let seed: [u8; 32] = HEXLOWER
            .decode(k["seed_hex"].as_str().unwrap().as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
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
            ring.insert(vk);
        }
    }
    ring
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
        blob.extend(
            HEXLOWER
                .decode(l["signature_hex"].as_str().unwrap().as_bytes())
                .unwrap(),
        );
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
    let rev = &v["revocation_lists"][0];
    let list = verify_revocation_list(rev["file"].as_str().unwrap(), &ring, None).unwrap();
    assert_eq!(list.sequence, rev["sequence"].as_u64().unwrap());
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    for case in cases {
        let c = &case["context"];
        let fps: Vec<Fingerprint> = c["fingerprints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().parse().unwrap())
            .collect();
        let mut ctx = VerifyContext::at(c["now"].as_i64().unwrap()).with_fingerprints(&fps);
        ctx.cluster = c["cluster"].as_str().map(|s| Uuid::parse_str(s).unwrap());
        ctx.ip = c["ip"].as_str().map(|s| s.parse().unwrap());
        if c["revocation_list"].is_string() {
            ctx.revocations = Some(&list);
        }
        let got = outcome_to_json(&verify(case["artifact"].as_str().unwrap(), &ring, &ctx));
        let name = case["name"].as_str().unwrap();
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
fn revocation_and_request_vectors() {
    let v = vectors();
    let ring = ring(&v);
    let rev = &v["revocation_lists"][0];
    let signed = licensekey::SignedRevocationList::parse(rev["file"].as_str().unwrap()).unwrap();
    assert_eq!(
        HEXLOWER.encode(&signed.list().encode().unwrap()),
        rev["list_hex"].as_str().unwrap()
    );
    for case in v["revocation_cases"].as_array().unwrap() {
        let got = verify_revocation_list(
            case["file"].as_str().unwrap(),
            &ring,
            case["highest_seen_sequence"].as_u64(),
        );
        match got {
            Ok(l) => assert_eq!(case["expected"]["sequence"].as_u64(), Some(l.sequence)),
            Err(e) => assert_eq!(case["expected"]["error"].as_str(), Some(error_name(&e))),
        }
    }
    for fp in v["fingerprint_examples"].as_array().unwrap() {
        let f = Fingerprint::of(fp["name"].as_str().unwrap(), fp["value"].as_str().unwrap());
        assert_eq!(f.to_string(), fp["fingerprint"].as_str().unwrap());
    }
    for r in v["requests"].as_array().unwrap() {
        let parsed = LicenseRequest::parse(r["file"].as_str().unwrap());
        let e = &r["expected"];
        match parsed {
            Ok(req) => {
                assert_eq!(e["result"], "valid");
                assert_eq!(
                    HEXLOWER.encode(&req.encode().unwrap()),
                    r["body_hex"].as_str().unwrap()
                );
                assert_eq!(req.hostname, e["hostname"].as_str().unwrap());
                assert_eq!(
                    HEXLOWER.encode(&req.nonce),
                    e["nonce_hex"].as_str().unwrap()
                );
                assert_eq!(req.created_at, e["created_at"].as_i64().unwrap());
                assert_eq!(req.to_file().unwrap(), r["file"].as_str().unwrap());
            }
            Err(err) => assert_eq!(e["error"].as_str(), Some(error_name(&err))),
        }
    }
    let rust = v["primary_public_key_rust_const"].as_str().unwrap();
    assert!(rust.contains("pub const LICENSE_PUBLIC_KEY: [u8; 32]"));
}
