//! JSON form of payloads and verification outcomes, shared by
//! `examples/gen_vectors.rs` (which writes `docs/test-vectors.json`) and
//! `tests/vectors.rs` (which checks it).
#![allow(dead_code, clippy::unwrap_used)]

use data_encoding::HEXLOWER;
use licensekey::{
    Binding, Error, Fingerprint, KeyId, LicenseKind, LicensePayload, LicenseStatus, MachineBinding,
    MachineComponent, Uuid, Verified,
};
use serde_json::{Value, json};

fn components_to_json(list: &[MachineComponent]) -> Value {
    list.iter()
        .map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()}))
        .collect()
}

fn components_from_json(v: &Value) -> Vec<MachineComponent> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| MachineComponent {
            name: c["name"].as_str().unwrap().to_owned(),
            fingerprint: c["fingerprint"].as_str().unwrap().parse().unwrap(),
        })
        .collect()
}

pub fn payload_to_json(p: &LicensePayload) -> Value {
    let mut v = json!({
        "format_version": p.format_version,
        "key_id": p.key_id.to_string(),
        "license_id": p.license_id.to_string(),
        "product": p.product,
        "kind": p.kind.name(),
        "customer": p.customer,
        "cluster": p.binding.cluster.map(|c| c.to_string()),
        "ip": p.binding.ip.map(|ip| ip.to_string()),
        "capacity_tb": p.capacity_tb,
        "seats": p.seats,
        "features": p.features,
        "issued_at": p.issued_at,
        "not_before": p.not_before,
        "expires_at": p.expires_at,
        "support_until": p.support_until,
        "grace_days": p.grace_days,
    });
    if p.format_version == licensekey::LEGACY_FORMAT_VERSION {
        v["fingerprints"] = p
            .binding
            .legacy_fingerprints
            .iter()
            .map(|f| f.to_string())
            .collect();
        v["min_fingerprint_matches"] = json!(p.binding.legacy_min_matches);
    } else {
        v["machine"] = match &p.binding.machine {
            None => Value::Null,
            Some(m) => json!({
                "salt": HEXLOWER.encode(&m.salt),
                "strong": components_to_json(&m.strong),
                "min_strong_matches": m.min_strong_matches,
                "weak": components_to_json(&m.weak),
            }),
        };
    }
    v
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

pub fn payload_from_json(v: &Value) -> LicensePayload {
    let kind = match v["kind"].as_str().unwrap() {
        "Eval" => LicenseKind::Eval,
        "Dev" => LicenseKind::Dev,
        "Pro" => LicenseKind::Pro,
        other => panic!("unknown kind {other}"),
    };
    let format_version = v["format_version"].as_u64().unwrap() as u8;
    let mut binding = Binding {
        cluster: opt_str(&v["cluster"]).map(|s| Uuid::parse_str(s).unwrap()),
        ip: opt_str(&v["ip"]).map(|s| s.parse().unwrap()),
        ..Binding::default()
    };
    if format_version == licensekey::LEGACY_FORMAT_VERSION {
        binding.legacy_fingerprints = v["fingerprints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().parse::<Fingerprint>().unwrap())
            .collect();
        binding.legacy_min_matches = v["min_fingerprint_matches"].as_u64().unwrap() as u16;
    } else if v["machine"].is_object() {
        let m = &v["machine"];
        binding.machine = Some(MachineBinding {
            salt: HEXLOWER
                .decode(m["salt"].as_str().unwrap().as_bytes())
                .unwrap()
                .try_into()
                .unwrap(),
            strong: components_from_json(&m["strong"]),
            min_strong_matches: m["min_strong_matches"].as_u64().unwrap() as u16,
            weak: components_from_json(&m["weak"]),
        });
    }
    LicensePayload {
        format_version,
        key_id: v["key_id"].as_str().unwrap().parse::<KeyId>().unwrap(),
        license_id: Uuid::parse_str(v["license_id"].as_str().unwrap()).unwrap(),
        product: v["product"].as_str().unwrap().to_owned(),
        kind,
        customer: v["customer"].as_str().unwrap().to_owned(),
        binding,
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
        Error::WrongProduct { .. } => "WrongProduct",
        Error::Revoked => "Revoked",
        Error::NotYetValid { .. } => "NotYetValid",
        Error::Expired { .. } => "Expired",
        Error::WrongBinding(_) => "WrongBinding",
        Error::StaleRevocationList { .. } => "StaleRevocationList",
        Error::RevocationSequenceReused { .. } => "RevocationSequenceReused",
        Error::RevokedSigningKey(_) => "RevokedSigningKey",
        Error::RevocationListExpired { .. } => "RevocationListExpired",
        Error::RevocationListTooOld { .. } => "RevocationListTooOld",
        Error::ClockTampered => "ClockTampered",
        Error::ClockRollback { .. } => "ClockRollback",
        Error::OutdatedRequest { .. } => "OutdatedRequest",
        Error::OtherLicense(_) => "OtherLicense",
        Error::DuplicateKeyId(_) => "DuplicateKeyId",
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
