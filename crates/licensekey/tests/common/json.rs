//! JSON form of payloads and verification outcomes, shared by
//! `examples/gen_vectors.rs` (which writes `docs/test-vectors.json`) and
//! `tests/vectors.rs` (which checks it).
#![allow(dead_code, clippy::unwrap_used)]

use licensekey::{
    Binding, Error, Fingerprint, KeyId, LicenseKind, LicensePayload, LicenseStatus, Uuid, Verified,
};
use serde_json::{Value, json};

pub fn payload_to_json(p: &LicensePayload) -> Value {
    json!({
        "format_version": licensekey::FORMAT_VERSION,
        "key_id": p.key_id.to_string(),
        "license_id": p.license_id.to_string(),
        "product": p.product,
        "kind": p.kind.name(),
        "customer": p.customer,
        "cluster": p.binding.cluster.map(|c| c.to_string()),
        "ip": p.binding.ip.map(|ip| ip.to_string()),
        "fingerprints": p.binding.fingerprints.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        "min_fingerprint_matches": p.binding.min_fingerprint_matches,
        "capacity_tb": p.capacity_tb,
        "seats": p.seats,
        "features": p.features,
        "issued_at": p.issued_at,
        "not_before": p.not_before,
        "expires_at": p.expires_at,
        "support_until": p.support_until,
        "grace_days": p.grace_days,
    })
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

pub fn payload_from_json(v: &Value) -> LicensePayload {
    assert_eq!(
        v["format_version"].as_u64().unwrap(),
        u64::from(licensekey::FORMAT_VERSION)
    );
    let kind = match v["kind"].as_str().unwrap() {
        "Eval" => LicenseKind::Eval,
        "Dev" => LicenseKind::Dev,
        "Pro" => LicenseKind::Pro,
        other => panic!("unknown kind {other}"),
    };
    LicensePayload {
        key_id: v["key_id"].as_str().unwrap().parse::<KeyId>().unwrap(),
        license_id: Uuid::parse_str(v["license_id"].as_str().unwrap()).unwrap(),
        product: v["product"].as_str().unwrap().to_owned(),
        kind,
        customer: v["customer"].as_str().unwrap().to_owned(),
        binding: Binding {
            cluster: opt_str(&v["cluster"]).map(|s| Uuid::parse_str(s).unwrap()),
            ip: opt_str(&v["ip"]).map(|s| s.parse().unwrap()),
            fingerprints: v["fingerprints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().parse::<Fingerprint>().unwrap())
                .collect(),
            min_fingerprint_matches: v["min_fingerprint_matches"].as_u64().unwrap() as u16,
        },
        capacity_tb: v["capacity_tb"].as_u64().unwrap() as u32,
        seats: v["seats"].as_u64().unwrap() as u32,
        features: v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect(),
        issued_at: v["issued_at"].as_i64().unwrap(),
        not_before: v["not_before"].as_i64().unwrap(),
        expires_at: v["expires_at"].as_i64(),
        support_until: v["support_until"].as_i64(),
        grace_days: v["grace_days"].as_u64().unwrap() as u16,
    }
}

/// The variant name of an error, as written in the vectors.
pub fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Malformed(_) => "Malformed",
        Error::BadChecksum => "BadChecksum",
        Error::UnknownKeyId(_) => "UnknownKeyId",
        Error::BadSignature => "BadSignature",
        Error::Revoked => "Revoked",
        Error::NotYetValid { .. } => "NotYetValid",
        Error::Expired { .. } => "Expired",
        Error::WrongBinding(_) => "WrongBinding",
        Error::StaleRevocationList { .. } => "StaleRevocationList",
        Error::ClockTampered => "ClockTampered",
        Error::ClockRollback { .. } => "ClockRollback",
        Error::Invalid(_) => "Invalid",
        Error::Rng(_) => "Rng",
    }
}

/// `{"result":"valid"}`, `{"result":"in_grace","days_left":n}` or `{"result":"error","error":"Name"}`.
pub fn outcome_to_json(r: &Result<Verified, Error>) -> Value {
    match r {
        Ok(v) => match v.status {
            LicenseStatus::Valid => {
                json!({"result": "valid", "license_id": v.payload.license_id.to_string()})
            }
            LicenseStatus::InGrace { days_left } => {
                json!({"result": "in_grace", "days_left": days_left, "license_id": v.payload.license_id.to_string()})
            }
        },
        Err(e) => json!({"result": "error", "error": error_name(e)}),
    }
}
