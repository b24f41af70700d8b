//! Writes the test vectors to stdout:
//! `cargo run -p licensekey --example gen_vectors > docs/test-vectors.json`.
//!
//! Everything is fixed (keys, salts, times) and Ed25519 signatures are
//! deterministic, so the output is byte-identical on every run.
//!
//! Artifacts that break a format rule cannot come from the crate (it refuses
//! to sign them), so this file has its own small encoder written from
//! `docs/license-format.md`; for valid artifacts it is checked against the
//! crate's encoder byte for byte, which also tests the spec. Version 1
//! artifacts (which the crate no longer signs) are made the same way and are
//! identical to the vectors earlier releases published.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/json.rs"]
mod json;

use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::Signer;
use licensekey::{
    ClockGuard, Fingerprint, KeyId, KeyRing, LicenseKind, LicensePayload, LicenseRequest,
    MachineBinding, MachineComponent, MachineInfo, RevocationCheck, RevocationList,
    RevocationState, SequenceTag, SignedLicense, SigningKey, Uuid, VerifyContext, verify,
    verify_revocation_list,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;
const PRODUCT: &str = "License Desk Storage";

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

// ---------------------------------------------------------------------------
// An independent encoder, from the spec.

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend(v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend(v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend(v.to_be_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.extend(v);
    }
    fn str(&mut self, s: &str) {
        self.u16(s.len() as u16);
        self.bytes(s.as_bytes());
    }
    fn opt_uuid(&mut self, v: Option<Uuid>) {
        match v {
            None => self.u8(0),
            Some(u) => {
                self.u8(1);
                self.bytes(u.as_bytes());
            }
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(t) => {
                self.u8(1);
                self.i64(t);
            }
        }
    }
    fn components(&mut self, list: &[MachineComponent]) {
        self.u16(list.len() as u16);
        for c in list {
            self.str(&c.name);
            self.bytes(&c.fingerprint.0);
        }
    }
}

/// The payload bytes per the spec, without checking any rule.
fn payload_bytes(p: &LicensePayload) -> Vec<u8> {
    let mut w = W::default();
    w.u8(p.format_version);
    w.bytes(&p.key_id.0);
    w.bytes(p.license_id.as_bytes());
    w.str(&p.product);
    w.u8(p.kind.code());
    w.str(&p.customer);
    w.opt_uuid(p.binding.cluster);
    match p.binding.ip {
        None => w.u8(0),
        Some(std::net::IpAddr::V4(a)) => {
            w.u8(4);
            w.bytes(&a.octets());
        }
        Some(std::net::IpAddr::V6(a)) => {
            w.u8(6);
            w.bytes(&a.octets());
        }
    }
    if p.format_version == 1 {
        w.u16(p.binding.legacy_fingerprints.len() as u16);
        for f in &p.binding.legacy_fingerprints {
            w.bytes(&f.0);
        }
        w.u16(p.binding.legacy_min_matches);
    } else {
        match &p.binding.machine {
            None => w.u8(0),
            Some(m) => {
                w.u8(1);
                w.bytes(&m.salt);
                w.components(&m.strong);
                w.u16(m.min_strong_matches);
                w.components(&m.weak);
            }
        }
    }
    w.u32(p.capacity_tb);
    w.u32(p.seats);
    w.u16(p.features.len() as u16);
    for f in &p.features {
        w.str(f);
    }
    w.i64(p.issued_at);
    w.i64(p.not_before);
    w.opt_i64(p.expires_at);
    w.opt_i64(p.support_until);
    w.u16(p.grace_days);
    w.0
}

/// The fields of a revocation list, for the independent encoder.
struct ListFields {
    version: u8,
    key: SigningKey,
    sequence: u64,
    issued_at: i64,
    next_update: i64,
    revoked_keys: Vec<KeyId>,
    revoked: Vec<Uuid>,
}

fn list_bytes(l: &ListFields) -> Vec<u8> {
    let mut w = W::default();
    w.u8(l.version);
    w.bytes(&KeyId::of(&l.key.verifying_key()).0);
    w.u64(l.sequence);
    w.i64(l.issued_at);
    if l.version == 2 {
        w.i64(l.next_update);
        w.u16(l.revoked_keys.len() as u16);
        for k in &l.revoked_keys {
            w.bytes(&k.0);
        }
    }
    w.u32(l.revoked.len() as u32);
    for id in &l.revoked {
        w.bytes(id.as_bytes());
    }
    w.0
}

/// `body || Ed25519(u8 len(context) || context || body)`.
fn sign_raw(context: &str, body: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut msg = vec![context.len() as u8];
    msg.extend(context.as_bytes());
    msg.extend(body);
    let mut blob = body.to_vec();
    blob.extend(key.sign(&msg).to_bytes());
    blob
}

fn signed_list(l: &ListFields) -> Vec<u8> {
    sign_raw(licensekey::REVOCATION_CONTEXT, &list_bytes(l), &l.key)
}

/// A request file per the spec: body || SHA-256(0x16 || "LicenseDesk/request/v1" || body), armored.
fn request_file(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut msg = vec![licensekey::REQUEST_CONTEXT.len() as u8];
    msg.extend(licensekey::REQUEST_CONTEXT.as_bytes());
    msg.extend(body);
    let mut bytes = body.to_vec();
    bytes.extend(Sha256::digest(&msg));
    armor(licensekey::REQUEST_LABEL, &bytes)
}

fn request_bytes(r: &LicenseRequest) -> Vec<u8> {
    let mut w = W::default();
    w.u8(if r.machine_key.is_some() { 3 } else { 2 });
    w.opt_uuid(r.cluster);
    w.str(&r.label);
    w.bytes(&r.salt);
    w.components(&r.strong);
    w.components(&r.weak);
    w.i64(r.created_at);
    if let Some(key) = &r.machine_key {
        w.bytes(key.as_bytes());
    }
    w.0
}

/// A deactivation body per the spec.
fn deactivation_bytes(id: Uuid, license: &[u8], machine: &SigningKey, at: i64) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let license_id = &license[9..25];
    let mut w = W::default();
    w.u8(1);
    w.bytes(id.as_bytes());
    w.bytes(license_id);
    w.bytes(&Sha256::digest(license));
    w.bytes(machine.verifying_key().as_bytes());
    w.i64(at);
    w.0
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

/// Armor of a given base64 body, wrapped at 64 columns.
fn armor_body(label: &str, body: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Armor of arbitrary bytes, written independently of the crate's encoder.
fn armor(label: &str, bytes: &[u8]) -> String {
    armor_body(label, &BASE64.encode(bytes))
}

/// The same bytes as padded base64 pieces of `size` bytes glued together.
fn glued(label: &str, bytes: &[u8], size: usize) -> String {
    armor_body(
        label,
        &bytes
            .chunks(size)
            .map(|c| BASE64.encode(c))
            .collect::<String>(),
    )
}

fn file_bytes(file: &str) -> Vec<u8> {
    let lines: Vec<&str> = file.lines().collect();
    BASE64
        .decode(lines[1..lines.len() - 1].concat().as_bytes())
        .unwrap()
}

fn license_json(name: &str, blob: &[u8]) -> Value {
    let l = SignedLicense::from_bytes(blob).unwrap();
    // The independent encoder and the crate agree on every valid payload.
    assert_eq!(payload_bytes(l.payload()), l.payload_bytes(), "{name}");
    json!({
        "name": name,
        "payload": json::payload_to_json(l.payload()),
        "payload_hex": HEXLOWER.encode(l.payload_bytes()),
        "signature_hex": HEXLOWER.encode(l.signature()),
        "serial": l.to_serial(),
        "license_file": l.to_license_file(),
    })
}

fn component(salt: &[u8; 16], name: &str, value: &str) -> MachineComponent {
    MachineComponent {
        name: name.into(),
        fingerprint: Fingerprint::salted(salt, name, value),
    }
}

// ---------------------------------------------------------------------------
// Cases.

struct Ctx {
    now: i64,
    product: Option<&'static str>,
    cluster: Option<Uuid>,
    ip: Option<&'static str>,
    machine: Option<&'static str>,
    revocation_list: Option<&'static str>,
}

impl Ctx {
    fn at(now: i64) -> Self {
        Self {
            now,
            product: Some(PRODUCT),
            cluster: None,
            ip: None,
            machine: None,
            revocation_list: None,
        }
    }
}

/// The text a case hands to the verifier.
enum Artifact {
    Text(String),
    /// Text followed by this many spaces (keeps the file small).
    Padded(String, usize),
    /// Raw file bytes, to go through the UTF-8 rules first.
    Bytes(Vec<u8>),
}

struct Case {
    name: &'static str,
    license: &'static str,
    artifact: Artifact,
    ctx: Ctx,
}

fn case(name: &'static str, license: &'static str, artifact: String, ctx: Ctx) -> Case {
    Case {
        name,
        license,
        artifact: Artifact::Text(artifact),
        ctx,
    }
}

fn main() {
    let primary_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let untrusted_hex = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    let retired_hex = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
    let primary = SigningKey::from_bytes(&seed(primary_hex));
    let untrusted = SigningKey::from_bytes(&seed(untrusted_hex));
    let retired = SigningKey::from_bytes(&seed(retired_hex));
    let retired_id = KeyId::of(&retired.verifying_key());
    let ring = KeyRing::new()
        .with(primary.verifying_key())
        .unwrap()
        .with(retired.verifying_key())
        .unwrap();

    let cluster = Uuid::parse_str("6f1c2a7e-4b3d-4e8a-9c21-0d5e7f9a1b2c").unwrap();
    let other_cluster = Uuid::parse_str("00000000-0000-4000-8000-000000000001").unwrap();

    // Machines, by raw values (what `MachineInfo` holds on the running machine).
    let machine_id = "4a1f0c3e9b7d4e2a8c6f1b3d5e7a9c0f";
    let dmi = "8d6e4b2a-1c3f-4e5d-9a7b-0c1d2e3f4a5b";
    let cpu = "AMD EPYC 7302 16-Core Processor";
    let machines: BTreeMap<&str, Vec<(&str, &str)>> = [
        (
            "array-01",
            vec![
                ("machine-id", machine_id),
                ("dmi-product-uuid", dmi),
                ("hostname", "array-01"),
                ("cpu", cpu),
            ],
        ),
        (
            "array-01 with a new CPU",
            vec![
                ("machine-id", machine_id),
                ("dmi-product-uuid", dmi),
                ("hostname", "array-01"),
                ("cpu", "AMD EPYC 9354 32-Core Processor"),
            ],
        ),
        (
            "array-01 renamed, with a new CPU",
            vec![
                ("machine-id", machine_id),
                ("dmi-product-uuid", dmi),
                ("hostname", "array-02"),
                ("cpu", "AMD EPYC 9354 32-Core Processor"),
            ],
        ),
        (
            "clone of array-01",
            vec![
                ("machine-id", "ffffffffffffffffffffffffffffffff"),
                ("dmi-product-uuid", "11111111-2222-4333-8444-555555555555"),
                ("hostname", "array-01"),
                ("cpu", cpu),
            ],
        ),
        (
            "array-01 reinstalled",
            vec![
                ("machine-id", "0b7f3c9d2e4a4c6b8d1e3f5a7c9e1b3d"),
                ("dmi-product-uuid", dmi),
                ("hostname", "array-01"),
                ("cpu", cpu),
            ],
        ),
        (
            "array-01 without DMI access",
            vec![
                ("machine-id", machine_id),
                ("hostname", "array-01"),
                ("cpu", cpu),
            ],
        ),
        (
            "version 1: two of three",
            vec![
                ("machine-id", machine_id),
                ("hostname", "array-99"),
                ("cpu", cpu),
            ],
        ),
        (
            "version 1: one of three",
            vec![
                ("machine-id", "ffffffffffffffffffffffffffffffff"),
                ("hostname", "array-01"),
            ],
        ),
    ]
    .into_iter()
    .collect();
    let machine_infos: BTreeMap<&str, MachineInfo> = machines
        .iter()
        .map(|(n, v)| (*n, MachineInfo::from_values(v.iter().copied()).unwrap()))
        .collect();

    // ---- Requests.
    let salt = [0xa5u8; 16];
    let request = LicenseRequest {
        cluster: Some(cluster),
        label: "Rack 3 node A".into(),
        salt,
        strong: vec![
            component(&salt, "dmi-product-uuid", dmi),
            component(&salt, "machine-id", machine_id),
        ],
        weak: vec![
            component(&salt, "cpu", cpu),
            component(&salt, "hostname", "array-01"),
        ],
        created_at: T0 - 2 * DAY,
        machine_key: None,
    };
    assert_eq!(request_bytes(&request), request.encode().unwrap());
    // The same machine's version 3 request, with the machine key it made (seed 0x4d x 32).
    let machine_signer = SigningKey::from_bytes(&[0x4d; 32]);
    let request_v3 = request
        .clone()
        .with_machine_key(machine_signer.verifying_key());
    assert_eq!(request_bytes(&request_v3), request_v3.encode().unwrap());
    let request_text = request.to_file().unwrap();
    assert_eq!(request_text, request_file(&request_bytes(&request)));

    // The version 1 request earlier releases made (unsalted, raw host name).
    let legacy_fps = [
        Fingerprint::legacy("machine-id", machine_id),
        Fingerprint::legacy("hostname", "array-01"),
        Fingerprint::legacy("cpu", cpu),
    ];
    let legacy_request_text = {
        let mut w = W::default();
        w.u8(1);
        w.opt_uuid(Some(cluster));
        w.str("array-01");
        w.str("linux");
        w.str("x86_64");
        w.u16(3);
        for (name, fp) in [
            ("cpu", legacy_fps[2]),
            ("hostname", legacy_fps[1]),
            ("machine-id", legacy_fps[0]),
        ] {
            w.str(name);
            w.bytes(&fp.0);
        }
        w.bytes(&[0xa5; 16]);
        w.i64(T0 - 2 * DAY);
        request_file(&w.0)
    };

    // ---- Version 2 licenses.
    let sign = |p: LicensePayload, key: &SigningKey| {
        let l = SignedLicense::sign(p, key).unwrap();
        assert_eq!(payload_bytes(l.payload()), l.payload_bytes());
        l.to_bytes()
    };
    let mut pro = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f").unwrap(),
        PRODUCT,
        LicenseKind::Pro,
        "ACME Corp",
        T0,
    );
    pro.binding = request.binding(None).unwrap();
    pro.binding.ip = Some("192.0.2.10".parse().unwrap());
    pro.capacity_tb = 500;
    pro.seats = 25;
    pro.features = vec!["snapshots".into(), "replication".into(), "dedup".into()];
    pro.expires_at = Some(T0 + 365 * DAY);
    pro.support_until = Some(T0 + 365 * DAY);
    pro.grace_days = 14;
    pro.normalize();
    let pro_v2 = sign(pro.clone(), &primary);

    let mut lenient = pro.clone();
    lenient.license_id = Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000005").unwrap();
    lenient.binding = request.binding(Some(1)).unwrap();
    let lenient_v2 = sign(lenient, &primary);

    let mut eval = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000002").unwrap(),
        PRODUCT,
        LicenseKind::Eval,
        "Émile Zoë GmbH",
        T0,
    );
    eval.not_before = T0 + DAY;
    eval.capacity_tb = 10;
    eval.expires_at = Some(T0 + 30 * DAY);
    eval.grace_days = 3;
    let eval_v2 = sign(eval.clone(), &primary);

    let mut dev = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000003").unwrap(),
        PRODUCT,
        LicenseKind::Dev,
        "Dev Team",
        T0,
    );
    dev.binding.ip = Some("2001:db8::7".parse().unwrap());
    dev.features = vec!["api".into()];
    let dev_v2 = sign(dev.clone(), &primary);

    let foreign_payload = LicensePayload::new(
        Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000004").unwrap(),
        PRODUCT,
        LicenseKind::Pro,
        "Someone",
        T0,
    );
    let foreign_v2 = sign(foreign_payload.clone(), &untrusted);

    let leaked = sign(
        LicensePayload::new(
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000006").unwrap(),
            PRODUCT,
            LicenseKind::Pro,
            "Signed by the retired key",
            T0,
        ),
        &retired,
    );

    // ---- Version 1 licenses, exactly as earlier releases issued them.
    let legacy = |mut p: LicensePayload, fps: Vec<Fingerprint>, min: u16, key: &SigningKey| {
        p.format_version = 1;
        p.key_id = KeyId::of(&key.verifying_key());
        p.binding.machine = None;
        p.binding.legacy_fingerprints = fps;
        p.binding.legacy_min_matches = min;
        p.normalize();
        let body = payload_bytes(&p);
        assert_eq!(p.encode().unwrap(), body);
        sign_raw(licensekey::LICENSE_CONTEXT, &body, key)
    };
    let pro_v1 = legacy(pro.clone(), legacy_fps.to_vec(), 2, &primary);
    let eval_v1 = legacy(eval.clone(), Vec::new(), 0, &primary);
    let dev_v1 = legacy(dev.clone(), Vec::new(), 0, &primary);
    let foreign_v1 = legacy(foreign_payload, Vec::new(), 0, &untrusted);

    // ---- Version 2 payloads that break one content rule each, signed anyway.
    let broken = |edit: &dyn Fn(&mut LicensePayload)| {
        let mut p = pro.clone();
        p.key_id = KeyId::of(&primary.verifying_key());
        edit(&mut p);
        let blob = sign_raw(licensekey::LICENSE_CONTEXT, &payload_bytes(&p), &primary);
        armor(licensekey::LICENSE_LABEL, &blob)
    };
    let machine_edit = |edit: &dyn Fn(&mut MachineBinding)| {
        broken(&|p: &mut LicensePayload| edit(p.binding.machine.as_mut().unwrap()))
    };

    // ---- Revocation lists.
    let legacy_list = ListFields {
        version: 1,
        key: primary.clone(),
        sequence: 5,
        issued_at: T0 + 10 * DAY,
        next_update: 0,
        revoked_keys: Vec::new(),
        revoked: vec![
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000002").unwrap(),
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-0000000000ff").unwrap(),
        ],
    };
    let tag = SequenceTag::from_u32(0x2f1a3).unwrap();
    let desk_a_seq = tag.next_sequence(None, (T0 + 10 * DAY) * 1000).unwrap();
    let desk_a = ListFields {
        version: 2,
        key: primary.clone(),
        sequence: desk_a_seq,
        issued_at: T0 + 10 * DAY,
        next_update: T0 + 40 * DAY,
        revoked_keys: vec![retired_id],
        revoked: vec![
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000002").unwrap(),
            Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-0000000000ff").unwrap(),
        ],
    };
    let same_sequence = ListFields {
        revoked: vec![Uuid::parse_str("0192f5a0-7c1e-7d3a-9b4f-000000000003").unwrap()],
        revoked_keys: Vec::new(),
        ..clone_fields(&desk_a)
    };
    let by_retired = ListFields {
        key: retired.clone(),
        sequence: tag
            .next_sequence(Some(desk_a_seq), (T0 + 11 * DAY) * 1000)
            .unwrap(),
        issued_at: T0 + 11 * DAY,
        next_update: T0 + 41 * DAY,
        revoked_keys: Vec::new(),
        revoked: Vec::new(),
        ..clone_fields(&desk_a)
    };
    let self_revoking = ListFields {
        revoked_keys: vec![KeyId::of(&primary.verifying_key())],
        ..clone_fields(&desk_a)
    };
    let nil_revoked = ListFields {
        revoked: vec![Uuid::nil()],
        ..clone_fields(&desk_a)
    };
    let next_update_first = ListFields {
        next_update: T0 + 10 * DAY,
        ..clone_fields(&desk_a)
    };
    let desk_a_file = armor(licensekey::REVOCATION_LABEL, &signed_list(&desk_a));
    let legacy_list_file = armor(licensekey::REVOCATION_LABEL, &signed_list(&legacy_list));
    {
        // The crate writes the same bytes for valid version 2 lists.
        let mut l = RevocationList::new(
            desk_a.sequence,
            desk_a.issued_at,
            desk_a.next_update,
            desk_a.revoked.clone(),
        );
        l.revoked_keys = desk_a.revoked_keys.clone();
        let signed = licensekey::SignedRevocationList::sign(l, &primary).unwrap();
        assert_eq!(signed.to_file(), desk_a_file);
    }
    let named_lists: BTreeMap<&str, RevocationList> =
        [("seq5", &legacy_list_file), ("desk-a", &desk_a_file)]
            .into_iter()
            .map(|(n, f)| {
                let l = licensekey::SignedRevocationList::parse(f)
                    .unwrap()
                    .list()
                    .clone();
                (n, l)
            })
            .collect();

    // ---- Tampered text forms of the version 2 pro license.
    let pro_v2_file = armor(licensekey::LICENSE_LABEL, &pro_v2);
    let pro_serial = serial_of(&pro_v2);
    let typo_serial = {
        let mut s = pro_serial.clone();
        let i = s.len() - 20;
        let c = if &s[i..=i] == "7" { "8" } else { "7" };
        s.replace_range(i..=i, c);
        s
    };
    let mut flipped = pro_v2.clone();
    let sig_byte = flipped.len() - 10;
    flipped[sig_byte] ^= 0x40;
    let mut flipped_payload = pro_v2.clone();
    flipped_payload[20] ^= 0x01;
    let mut version3 = pro_v2.clone();
    version3[0] = 3;
    let crlf_file = pro_v2_file.replace('\n', "\r\n");
    let folded_serial = format!(
        "  ld1-{}\n",
        pro_serial[4..]
            .to_lowercase()
            .replace('0', "o")
            .replace('1', "l")
    );
    let dashless_serial = format!("LD1-{}", pro_serial[4..].replace('-', ""));
    let rewrapped_file = {
        let body = BASE64.encode(&pro_v2);
        let mut out = format!("-----BEGIN {}-----\n", licensekey::LICENSE_LABEL);
        for chunk in body.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {}-----\n", licensekey::LICENSE_LABEL));
        out
    };
    let commented_file = pro_v2_file.replacen('\n', "\nCustomer: ACME Corp\n", 1);
    let cut = pro_v2.len() / 3 * 3 - 2;
    let glued_once = armor_body(
        licensekey::LICENSE_LABEL,
        &format!(
            "{}{}",
            BASE64.encode(&pro_v2[..cut]),
            BASE64.encode(&pro_v2[cut..])
        ),
    );

    // The shortest cut whose length still makes whole bytes: the checksum catches it.
    let cut_serial = (1..8)
        .map(|k| {
            pro_serial[..pro_serial.len() - k]
                .trim_end_matches('-')
                .to_owned()
        })
        .find(|s| {
            matches!(
                SignedLicense::parse_serial(s),
                Err(licensekey::Error::BadChecksum)
            )
        })
        .unwrap();
    let bound = |now: i64| Ctx {
        now,
        product: Some(PRODUCT),
        cluster: Some(cluster),
        ip: Some("192.0.2.10"),
        machine: Some("array-01"),
        revocation_list: None,
    };
    let mid = T0 + 100 * DAY;
    let v1_serial = serial_of(&pro_v1);
    let cases: Vec<Case> = vec![
        // Version 2: what verifies.
        case(
            "pro serial, bound machine, valid",
            "pro",
            pro_serial.clone(),
            bound(mid),
        ),
        case(
            "pro license file, valid",
            "pro",
            pro_v2_file.clone(),
            bound(mid),
        ),
        case(
            "pro license file with CRLF line ends, valid",
            "pro",
            crlf_file,
            bound(mid),
        ),
        case(
            "serial lowercased, O/I/L folded, surrounding whitespace, valid",
            "pro",
            folded_serial,
            bound(mid),
        ),
        case(
            "serial without group dashes, valid",
            "pro",
            dashless_serial,
            bound(mid),
        ),
        case(
            "IPv4-mapped IPv6 address matches the IPv4 binding, valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                ip: Some("::ffff:192.0.2.10"),
                ..bound(mid)
            },
        ),
        case(
            "new CPU (one weak part differs), valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: Some("array-01 with a new CPU"),
                ..bound(mid)
            },
        ),
        case(
            "vendor tool checking any product, valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                product: None,
                ..bound(mid)
            },
        ),
        case(
            "strong minimum lowered to 1, OS reinstalled, valid",
            "pro-lenient",
            serial_of(&lenient_v2),
            Ctx {
                machine: Some("array-01 reinstalled"),
                ..bound(mid)
            },
        ),
        case(
            "strong minimum lowered to 1, DMI unreadable, valid",
            "pro-lenient",
            serial_of(&lenient_v2),
            Ctx {
                machine: Some("array-01 without DMI access"),
                ..bound(mid)
            },
        ),
        case(
            "one day after expiry, 14 grace days: in grace",
            "pro",
            pro_serial.clone(),
            bound(T0 + 366 * DAY),
        ),
        case(
            "at expiry plus grace: expired",
            "pro",
            pro_serial.clone(),
            bound(T0 + 379 * DAY),
        ),
        // Version 2: text form.
        case(
            "one symbol changed: bad checksum",
            "pro",
            typo_serial,
            bound(mid),
        ),
        case(
            "signature byte flipped (serial re-checksummed): bad signature",
            "pro",
            serial_of(&flipped),
            bound(mid),
        ),
        case(
            "signature byte flipped in license file: bad signature",
            "pro",
            armor(licensekey::LICENSE_LABEL, &flipped),
            bound(mid),
        ),
        case(
            "payload byte flipped in license file: bad signature",
            "pro",
            armor(licensekey::LICENSE_LABEL, &flipped_payload),
            bound(mid),
        ),
        case(
            "format version 3: malformed",
            "pro",
            armor(licensekey::LICENSE_LABEL, &version3),
            bound(mid),
        ),
        case(
            "body re-wrapped at 76 columns: malformed",
            "pro",
            rewrapped_file,
            bound(mid),
        ),
        case(
            "comment line in license file: malformed",
            "pro",
            commented_file,
            bound(mid),
        ),
        case(
            "padded base64 pieces glued together (xQ==Bw==): malformed",
            "pro",
            glued_once,
            bound(mid),
        ),
        case(
            "every byte its own padded base64 block: malformed",
            "pro",
            glued(licensekey::LICENSE_LABEL, &pro_v2, 1),
            bound(mid),
        ),
        case(
            "every two bytes their own padded base64 block: malformed",
            "pro",
            glued(licensekey::LICENSE_LABEL, &pro_v2, 2),
            bound(mid),
        ),
        case(
            "neither serial nor license file: malformed",
            "pro",
            "hello".into(),
            bound(mid),
        ),
        case(
            "symbols cut off the end: bad checksum",
            "pro",
            cut_serial,
            bound(mid),
        ),
        case(
            "serial containing U (not in the alphabet): malformed",
            "pro",
            format!("{}U{}", &pro_serial[..10], &pro_serial[11..]),
            bound(mid),
        ),
        case(
            "serial with a misplaced dash: malformed",
            "pro",
            format!("{}-{}", &pro_serial[..6], &pro_serial[6..]),
            bound(mid),
        ),
        Case {
            name: "license file padded with spaces to exactly the size cap, valid",
            license: "pro",
            artifact: Artifact::Padded(
                pro_v2_file.clone(),
                licensekey::MAX_LICENSE_TEXT_LEN - pro_v2_file.len(),
            ),
            ctx: bound(mid),
        },
        Case {
            name: "license file one byte over the size cap: malformed",
            license: "pro",
            artifact: Artifact::Padded(
                pro_v2_file.clone(),
                licensekey::MAX_LICENSE_TEXT_LEN - pro_v2_file.len() + 1,
            ),
            ctx: bound(mid),
        },
        Case {
            name: "license file bytes starting with a UTF-8 BOM: malformed",
            license: "pro",
            artifact: Artifact::Bytes(
                [b"\xef\xbb\xbf".as_slice(), pro_v2_file.as_bytes()].concat(),
            ),
            ctx: bound(mid),
        },
        Case {
            name: "license file bytes with invalid UTF-8 after the END line: malformed",
            license: "pro",
            artifact: Artifact::Bytes([pro_v2_file.as_bytes(), b"\xe9\n".as_slice()].concat()),
            ctx: bound(mid),
        },
        Case {
            name: "UTF-8 BOM given as text before a serial: malformed",
            license: "pro",
            artifact: Artifact::Text(format!("\u{feff}{pro_serial}")),
            ctx: bound(mid),
        },
        // Version 2: product, binding, revocation.
        case(
            "license for another product: wrong product",
            "pro",
            pro_serial.clone(),
            Ctx {
                product: Some("License Desk Backup"),
                ..bound(mid)
            },
        ),
        case(
            "product name differing only in case: wrong product",
            "pro",
            pro_serial.clone(),
            Ctx {
                product: Some("license desk storage"),
                ..bound(mid)
            },
        ),
        case(
            "other cluster: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                cluster: Some(other_cluster),
                ..bound(mid)
            },
        ),
        case(
            "other IP: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                ip: Some("192.0.2.11"),
                ..bound(mid)
            },
        ),
        case(
            "clone with other strong identifiers, same host name and CPU: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: Some("clone of array-01"),
                ..bound(mid)
            },
        ),
        case(
            "host renamed and new CPU (two weak parts differ): wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: Some("array-01 renamed, with a new CPU"),
                ..bound(mid)
            },
        ),
        case(
            "OS reinstalled, all strong identifiers required: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: Some("array-01 reinstalled"),
                ..bound(mid)
            },
        ),
        case(
            "DMI unreadable, all strong identifiers required: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: Some("array-01 without DMI access"),
                ..bound(mid)
            },
        ),
        case(
            "no machine given: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx {
                machine: None,
                ..bound(mid)
            },
        ),
        case(
            "no context at all: wrong binding",
            "pro",
            pro_serial.clone(),
            Ctx::at(mid),
        ),
        case(
            "eval before not-before: not yet valid",
            "eval",
            serial_of(&eval_v2),
            Ctx::at(T0 + 3600),
        ),
        case(
            "eval after not-before, valid",
            "eval",
            serial_of(&eval_v2),
            Ctx::at(T0 + 2 * DAY),
        ),
        case(
            "eval last grace day: in grace",
            "eval",
            serial_of(&eval_v2),
            Ctx::at(T0 + 33 * DAY - 1),
        ),
        case(
            "eval past grace: expired",
            "eval",
            serial_of(&eval_v2),
            Ctx::at(T0 + 40 * DAY),
        ),
        case(
            "eval on the revocation list: revoked",
            "eval",
            serial_of(&eval_v2),
            Ctx {
                revocation_list: Some("desk-a"),
                ..Ctx::at(T0 + 2 * DAY)
            },
        ),
        case(
            "pro not on the revocation list, valid",
            "pro",
            pro_serial.clone(),
            Ctx {
                revocation_list: Some("desk-a"),
                ..bound(mid)
            },
        ),
        case(
            "signed by a key the list revokes: revoked",
            "leaked",
            serial_of(&leaked),
            Ctx {
                revocation_list: Some("desk-a"),
                ..Ctx::at(mid)
            },
        ),
        case(
            "signed by the retired key, no list given, valid",
            "leaked",
            serial_of(&leaked),
            Ctx::at(mid),
        ),
        case(
            "perpetual dev license far in the future, valid",
            "dev",
            armor(licensekey::LICENSE_LABEL, &dev_v2),
            Ctx {
                ip: Some("2001:db8::7"),
                ..Ctx::at(T0 + 50 * 365 * DAY)
            },
        ),
        case(
            "signed by a key not in the ring: unknown key id",
            "foreign",
            serial_of(&foreign_v2),
            Ctx::at(mid),
        ),
        // Version 2: one content rule broken each (signed anyway).
        case(
            "nil license id: malformed",
            "pro",
            broken(&|p| p.license_id = Uuid::nil()),
            bound(mid),
        ),
        case(
            "nil cluster UUID: malformed",
            "pro",
            broken(&|p| p.binding.cluster = Some(Uuid::nil())),
            bound(mid),
        ),
        case(
            "empty product name: malformed",
            "pro",
            broken(&|p| p.product.clear()),
            bound(mid),
        ),
        case(
            "IPv4-mapped IPv6 address in the license: malformed",
            "pro",
            broken(&|p| p.binding.ip = Some("::ffff:192.0.2.10".parse().unwrap())),
            bound(mid),
        ),
        case(
            "issued after not-before: malformed",
            "pro",
            broken(&|p| p.issued_at = p.not_before + 1),
            bound(mid),
        ),
        case(
            "expires at not-before: malformed",
            "pro",
            broken(&|p| p.expires_at = Some(p.not_before)),
            bound(mid),
        ),
        case(
            "support ends before issue: malformed",
            "pro",
            broken(&|p| p.support_until = Some(p.issued_at - 1)),
            bound(mid),
        ),
        case(
            "machine binding without strong identifiers: malformed",
            "pro",
            machine_edit(&|m| m.strong.clear()),
            bound(mid),
        ),
        case(
            "strong minimum 0: malformed",
            "pro",
            machine_edit(&|m| m.min_strong_matches = 0),
            bound(mid),
        ),
        case(
            "strong minimum above the strong count: malformed",
            "pro",
            machine_edit(&|m| m.min_strong_matches = 3),
            bound(mid),
        ),
        case(
            "strong identifiers not in ascending order: malformed",
            "pro",
            machine_edit(&|m| m.strong.reverse()),
            bound(mid),
        ),
        case(
            "host name listed as a strong identifier: malformed",
            "pro",
            machine_edit(&|m| {
                let h = m.weak.pop().unwrap();
                m.strong.push(h);
                m.strong.sort();
            }),
            bound(mid),
        ),
        case(
            "unknown component name: malformed",
            "pro",
            machine_edit(&|m| m.weak[1].name = "serial-number".into()),
            bound(mid),
        ),
        // Version 1: issued by earlier releases, still verified exactly as before.
        case(
            "version 1 pro serial, bound machine, valid",
            "pro-v1",
            v1_serial.clone(),
            bound(mid),
        ),
        case(
            "version 1 pro license file, valid",
            "pro-v1",
            armor(licensekey::LICENSE_LABEL, &pro_v1),
            bound(mid),
        ),
        case(
            "version 1: two of three fingerprints match (minimum 2), valid",
            "pro-v1",
            v1_serial.clone(),
            Ctx {
                machine: Some("version 1: two of three"),
                ..bound(mid)
            },
        ),
        case(
            "version 1: one of three fingerprints match (minimum 2): wrong binding",
            "pro-v1",
            v1_serial.clone(),
            Ctx {
                machine: Some("version 1: one of three"),
                ..bound(mid)
            },
        ),
        case(
            "version 1 for another product: wrong product",
            "pro-v1",
            v1_serial.clone(),
            Ctx {
                product: Some("License Desk Backup"),
                ..bound(mid)
            },
        ),
        case(
            "version 1 at expiry plus grace: expired",
            "pro-v1",
            v1_serial.clone(),
            bound(T0 + 379 * DAY),
        ),
        case(
            "version 1 eval on the version 1 revocation list: revoked",
            "eval-v1",
            serial_of(&eval_v1),
            Ctx {
                revocation_list: Some("seq5"),
                ..Ctx::at(T0 + 2 * DAY)
            },
        ),
        case(
            "version 1 perpetual dev license, valid",
            "dev-v1",
            armor(licensekey::LICENSE_LABEL, &dev_v1),
            Ctx {
                ip: Some("2001:db8::7"),
                ..Ctx::at(T0 + 50 * 365 * DAY)
            },
        ),
        case(
            "version 1 signed by a key not in the ring: unknown key id",
            "foreign-v1",
            serial_of(&foreign_v1),
            Ctx::at(mid),
        ),
    ];

    let cases_json: Vec<Value> = cases
        .iter()
        .map(|c| {
            let ip = c.ctx.ip.map(|s| s.parse().unwrap());
            let mut ctx = match c.ctx.product {
                Some(p) => VerifyContext::for_product(p, c.ctx.now),
                None => VerifyContext::any_product(c.ctx.now),
            };
            if let Some(cl) = c.ctx.cluster {
                ctx = ctx.with_cluster(cl);
            }
            if let Some(ip) = ip {
                ctx = ctx.with_ip(ip);
            }
            if let Some(m) = c.ctx.machine {
                ctx = ctx.with_machine(&machine_infos[m]);
            }
            if let Some(l) = c.ctx.revocation_list {
                ctx = ctx.with_revocations(&named_lists[l]);
            }
            let (artifact, pad, bytes_hex) = match &c.artifact {
                Artifact::Text(t) => (Some(t.clone()), None, None),
                Artifact::Padded(t, n) => (Some(t.clone()), Some(*n), None),
                Artifact::Bytes(b) => (None, None, Some(HEXLOWER.encode(b))),
            };
            let outcome = match &c.artifact {
                Artifact::Text(t) => verify(t, &ring, &ctx),
                Artifact::Padded(t, n) => verify(&format!("{t}{}", " ".repeat(*n)), &ring, &ctx),
                Artifact::Bytes(b) => {
                    licensekey::text_from_bytes(b).and_then(|t| verify(t, &ring, &ctx))
                }
            };
            let mut v = json!({
                "name": c.name,
                "license": c.license,
                "artifact": artifact,
                "context": {
                    "now": c.ctx.now,
                    "product": c.ctx.product,
                    "cluster": c.ctx.cluster.map(|u| u.to_string()),
                    "ip": c.ctx.ip,
                    "machine": c.ctx.machine,
                    "revocation_list": c.ctx.revocation_list,
                },
                "expected": json::outcome_to_json(&outcome),
            });
            if let Some(n) = pad {
                v["pad_with_spaces"] = json!(n);
            }
            if let Some(h) = bytes_hex {
                v["artifact_bytes_hex"] = json!(h);
            }
            v
        })
        .collect();

    // ---- Revocation cases.
    let desk_a_state = named_lists["desk-a"].state().unwrap();
    let legacy_state = |seq: u64| RevocationState::sequence_only(seq);
    type RevCase<'a> = (
        &'static str,
        String,
        i64,
        Option<u32>,
        Option<RevocationState>,
    );
    let at_a = T0 + 10 * DAY + 60;
    let rev_cases: Vec<RevCase> = vec![
        (
            "version 2 list, nothing seen before",
            desk_a_file.clone(),
            at_a,
            None,
            None,
        ),
        (
            "the same list again (same sequence and digest)",
            desk_a_file.clone(),
            at_a,
            None,
            Some(desk_a_state.clone()),
        ),
        (
            "another list with the same sequence: reused sequence",
            armor(licensekey::REVOCATION_LABEL, &signed_list(&same_sequence)),
            at_a,
            None,
            Some(desk_a_state.clone()),
        ),
        (
            "a newer list seen before: replay refused",
            desk_a_file.clone(),
            at_a,
            None,
            Some(legacy_state(desk_a_seq + 1)),
        ),
        (
            "signed by a key the last list revoked: refused",
            armor(licensekey::REVOCATION_LABEL, &signed_list(&by_retired)),
            T0 + 11 * DAY,
            None,
            Some(desk_a_state.clone()),
        ),
        (
            "signed by that key, nothing seen before",
            armor(licensekey::REVOCATION_LABEL, &signed_list(&by_retired)),
            T0 + 11 * DAY,
            None,
            None,
        ),
        (
            "at its next-update time: out of date",
            desk_a_file.clone(),
            T0 + 40 * DAY,
            None,
            None,
        ),
        (
            "older than the product's 7 days: too old",
            desk_a_file.clone(),
            T0 + 17 * DAY + 1,
            Some(7),
            None,
        ),
        (
            "exactly 7 days old, limit 7 days",
            desk_a_file.clone(),
            T0 + 17 * DAY,
            Some(7),
            None,
        ),
        (
            "list revoking its own signing key: malformed",
            armor(licensekey::REVOCATION_LABEL, &signed_list(&self_revoking)),
            at_a,
            None,
            None,
        ),
        (
            "nil license id in a version 2 list: malformed",
            armor(licensekey::REVOCATION_LABEL, &signed_list(&nil_revoked)),
            at_a,
            None,
            None,
        ),
        (
            "next update not after the issue time: malformed",
            armor(
                licensekey::REVOCATION_LABEL,
                &signed_list(&next_update_first),
            ),
            at_a,
            None,
            None,
        ),
        (
            "padded base64 pieces glued together: malformed",
            glued(licensekey::REVOCATION_LABEL, &signed_list(&desk_a), 1),
            at_a,
            None,
            None,
        ),
        (
            "version 1 list, nothing seen before",
            legacy_list_file.clone(),
            T0 + 20 * DAY,
            None,
            None,
        ),
        (
            "version 1 list, same sequence seen before (reload)",
            legacy_list_file.clone(),
            T0 + 20 * DAY,
            None,
            Some(legacy_state(5)),
        ),
        (
            "version 1 list, newer list seen before: replay refused",
            legacy_list_file.clone(),
            T0 + 20 * DAY,
            None,
            Some(legacy_state(6)),
        ),
        (
            "version 1 list, signature byte flipped",
            {
                let mut blob = signed_list(&legacy_list);
                let last = blob.len() - 1;
                blob[last] ^= 0x01;
                armor(licensekey::REVOCATION_LABEL, &blob)
            },
            T0 + 20 * DAY,
            None,
            None,
        ),
    ];
    let rev_cases_json: Vec<Value> = rev_cases
        .into_iter()
        .map(|(name, file, now, max_age, seen)| {
            let mut check = RevocationCheck::at(now);
            if let Some(days) = max_age {
                check = check.max_age_days(days);
            }
            if let Some(s) = &seen {
                check = check.after(s);
            }
            let expected = match verify_revocation_list(&file, &ring, &check) {
                Ok(l) => json!({"result": "valid", "sequence": l.sequence}),
                Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
            };
            json!({
                "name": name,
                "file": file,
                "now": now,
                "max_age_days": max_age,
                "seen": seen.map(|s| json!({
                    "sequence": s.sequence,
                    "digest_hex": s.digest.map(|d| HEXLOWER.encode(&d)),
                    "revoked_keys": s.revoked_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                })),
                "expected": expected,
            })
        })
        .collect();

    // ---- Request cases.
    let request_case = |name: &str, file: String| {
        let expected = match LicenseRequest::parse(&file) {
            Ok(_) => json!({"result": "valid"}),
            Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
        };
        json!({"name": name, "file": file, "expected": expected})
    };
    let with_request = |edit: &dyn Fn(&mut LicenseRequest)| {
        let mut r = request.clone();
        edit(&mut r);
        request_file(&request_bytes(&r))
    };
    let damaged_request = {
        let mut bytes = file_bytes(&request_text);
        bytes[5] ^= 0x01;
        armor(licensekey::REQUEST_LABEL, &bytes)
    };
    let mut requests = vec![json!({
        "name": "array-01",
        "file": request_text,
        "body_hex": HEXLOWER.encode(&request.encode().unwrap()),
        "expected": {
            "result": "valid",
            "cluster": request.cluster.map(|u| u.to_string()),
            "label": request.label,
            "salt_hex": HEXLOWER.encode(&request.salt),
            "strong": request.strong.iter().map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()})).collect::<Vec<_>>(),
            "weak": request.weak.iter().map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()})).collect::<Vec<_>>(),
            "created_at": request.created_at,
        },
    })];
    let request_v3_text = request_v3.to_file().unwrap();
    assert_eq!(request_v3_text, request_file(&request_bytes(&request_v3)));
    requests.push(json!({
        "name": "array-01, version 3 with its machine key",
        "file": request_v3_text,
        "body_hex": HEXLOWER.encode(&request_v3.encode().unwrap()),
        "expected": {
            "result": "valid",
            "cluster": request_v3.cluster.map(|u| u.to_string()),
            "label": request_v3.label,
            "salt_hex": HEXLOWER.encode(&request_v3.salt),
            "strong": request_v3.strong.iter().map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()})).collect::<Vec<_>>(),
            "weak": request_v3.weak.iter().map(|c| json!({"name": c.name, "fingerprint": c.fingerprint.to_string()})).collect::<Vec<_>>(),
            "created_at": request_v3.created_at,
            "machine_key_hex": HEXLOWER.encode(machine_signer.verifying_key().as_bytes()),
        },
    }));
    requests.extend([
        request_case(
            "version 3 without its machine key: malformed",
            request_file(&{
                let mut b = request_bytes(&request);
                b[0] = 3;
                b
            }),
        ),
        request_case(
            "version 3 with a small-order machine key: malformed",
            request_file(&{
                let mut b = request_bytes(&request);
                b[0] = 3;
                let mut identity = [0u8; 32];
                identity[0] = 1;
                b.extend(identity);
                b
            }),
        ),
        request_case("one body byte changed: bad checksum", damaged_request),
        request_case(
            "version 1 request from an earlier release: outdated request",
            legacy_request_text,
        ),
        request_case(
            "padded base64 pieces glued together: malformed",
            glued(
                licensekey::REQUEST_LABEL,
                &file_bytes(&request.to_file().unwrap()),
                2,
            ),
        ),
        request_case(
            "label with a control character: malformed",
            with_request(&|r| r.label = "node\u{1b}[2J".into()),
        ),
        request_case(
            "label over 128 bytes: malformed",
            with_request(&|r| r.label = "x".repeat(129)),
        ),
        request_case(
            "host name listed as a strong identifier: malformed",
            with_request(&|r| {
                let h = r.weak.pop().unwrap();
                r.strong.push(h);
                r.strong.sort();
            }),
        ),
        request_case(
            "unknown component name: malformed",
            with_request(&|r| r.weak[1].name = "serial-number".into()),
        ),
        request_case(
            "nil cluster UUID: malformed",
            with_request(&|r| r.cluster = Some(Uuid::nil())),
        ),
    ]);

    // ---- Deactivations: the machine of `request_v3` removes license "pro".
    let deactivation_id = Uuid::from_bytes([
        0x6f, 0x1d, 0x2c, 0x3b, 0x4a, 0x59, 0x48, 0x37, 0x86, 0x95, 0xa4, 0xb3, 0xc2, 0xd1, 0xe0,
        0xf7,
    ]);
    let deactivated_at = T0 + 40 * DAY;
    let deactivation_body =
        deactivation_bytes(deactivation_id, &pro_v2, &machine_signer, deactivated_at);
    let deactivation_file = armor(
        licensekey::DEACTIVATION_LABEL,
        &sign_raw(
            licensekey::DEACTIVATION_CONTEXT,
            &deactivation_body,
            &machine_signer,
        ),
    );
    {
        let license = SignedLicense::from_bytes(&pro_v2).unwrap();
        let d = licensekey::Deactivation {
            id: deactivation_id,
            license_id: license.payload().license_id,
            license_digest: licensekey::license_digest(&license),
            machine_key: machine_signer.verifying_key(),
            deactivated_at,
        };
        assert_eq!(d.encode().unwrap(), deactivation_body);
        let signed = licensekey::SignedDeactivation::sign(d, &machine_signer).unwrap();
        assert_eq!(signed.to_file(), deactivation_file);
    }
    let other_machine = SigningKey::from_bytes(&[0x4e; 32]);
    let deactivation_case = |name: &str, file: String, license: &str| {
        let license_bytes = match license {
            "pro" => &pro_v2,
            _ => &eval_v2,
        };
        let signed = SignedLicense::from_bytes(license_bytes).unwrap();
        let expected = match licensekey::SignedDeactivation::parse(&file)
            .and_then(|d| d.verify().cloned())
            .and_then(|d| d.check_license(&signed).map(|()| d))
        {
            Ok(d) => {
                json!({"result": "valid", "id": d.id.to_string(), "license_id": d.license_id.to_string(), "deactivated_at": d.deactivated_at})
            }
            Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
        };
        json!({"name": name, "file": file, "license": license, "expected": expected})
    };
    let deactivations = vec![
        deactivation_case(
            "machine of the version 3 request removes pro",
            deactivation_file.clone(),
            "pro",
        ),
        deactivation_case(
            "signed by another machine's key but naming this one: bad signature (forged)",
            armor(licensekey::DEACTIVATION_LABEL, &{
                let mut blob = sign_raw(
                    licensekey::DEACTIVATION_CONTEXT,
                    &deactivation_body,
                    &other_machine,
                );
                blob.truncate(deactivation_body.len());
                blob.extend(
                    other_machine
                        .sign(&{
                            let mut m = vec![licensekey::DEACTIVATION_CONTEXT.len() as u8];
                            m.extend(licensekey::DEACTIVATION_CONTEXT.as_bytes());
                            m.extend(&deactivation_body);
                            m
                        })
                        .to_bytes(),
                );
                blob
            }),
            "pro",
        ),
        deactivation_case(
            "time changed after signing: bad signature",
            armor(licensekey::DEACTIVATION_LABEL, &{
                let mut blob = sign_raw(
                    licensekey::DEACTIVATION_CONTEXT,
                    &deactivation_body,
                    &machine_signer,
                );
                blob[104] ^= 1;
                blob
            }),
            "pro",
        ),
        deactivation_case(
            "signed with the license context: bad signature",
            armor(
                licensekey::DEACTIVATION_LABEL,
                &sign_raw(
                    licensekey::LICENSE_CONTEXT,
                    &deactivation_body,
                    &machine_signer,
                ),
            ),
            "pro",
        ),
        deactivation_case(
            "applied to another license: other license",
            deactivation_file.clone(),
            "eval",
        ),
        deactivation_case(
            "version 2 body: malformed",
            armor(licensekey::DEACTIVATION_LABEL, &{
                let mut body = deactivation_body.clone();
                body[0] = 2;
                sign_raw(licensekey::DEACTIVATION_CONTEXT, &body, &machine_signer)
            }),
            "pro",
        ),
        deactivation_case(
            "one trailing byte: malformed",
            armor(licensekey::DEACTIVATION_LABEL, &{
                let mut blob = sign_raw(
                    licensekey::DEACTIVATION_CONTEXT,
                    &deactivation_body,
                    &machine_signer,
                );
                blob.push(0);
                blob
            }),
            "pro",
        ),
        deactivation_case(
            "padded base64 pieces glued together: malformed",
            glued(
                licensekey::DEACTIVATION_LABEL,
                &file_bytes(&deactivation_file),
                2,
            ),
            "pro",
        ),
    ];

    // ---- Public key cases.
    let pk = primary.verifying_key();
    let pk_bytes = *pk.as_bytes();
    let non_canonical = {
        // y = p + k for the first k that decodes to a point of large order.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        (0u8..19)
            .map(|k| {
                let mut y = p;
                y[0] += k;
                y
            })
            .find(|y| licensekey::VerifyingKey::from_bytes(y).is_ok_and(|k| !k.is_weak()))
            .unwrap()
    };
    let key_case = |name: &str, text: String| {
        let expected = match licensekey::parse_public_key(&text) {
            Ok(k) => json!({"result": "valid", "public_key_hex": HEXLOWER.encode(k.as_bytes())}),
            Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
        };
        json!({"name": name, "text": text, "expected": expected})
    };
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend(pk_bytes);
    let key_cases = vec![
        key_case("base64, valid", licensekey::public_key_base64(&pk)),
        key_case(
            "base64 with surrounding whitespace, valid",
            format!("  {}\r\n", licensekey::public_key_base64(&pk)),
        ),
        key_case("PEM, valid", licensekey::public_key_pem(&pk)),
        key_case(
            "base64 cut to 43 characters: malformed",
            licensekey::public_key_base64(&pk)[..43].into(),
        ),
        key_case(
            "base64 of 31 + 1 bytes glued (xx..=xx==): malformed",
            format!(
                "{}{}",
                BASE64.encode(&pk_bytes[..31]),
                BASE64.encode(&pk_bytes[31..])
            ),
        ),
        key_case(
            "base64 with every byte its own block: malformed",
            pk_bytes.iter().map(|b| BASE64.encode(&[*b])).collect(),
        ),
        key_case(
            "PEM body as glued padded blocks: malformed",
            glued("PUBLIC KEY", &spki, 1),
        ),
        key_case(
            "y coordinate at or above the field prime: malformed",
            BASE64.encode(&non_canonical),
        ),
        key_case("small-order point: malformed", BASE64.encode(&[0u8; 32])),
    ];

    // ---- Clock guard cases.
    let secret = b"example product secret";
    let guard = ClockGuard::new(secret, 3600);
    let mac_of = |t: i64| guard.seal(t).unwrap().split_once('.').unwrap().1.to_owned();
    let clock_case = |name: &str, token: Option<String>, now: i64| {
        let expected = match guard.check(token.as_deref(), now) {
            Ok(t) => json!({"result": "valid", "stored": guard.open(&t).unwrap()}),
            Err(e) => json!({"result": "error", "error": json::error_name(&e)}),
        };
        json!({"name": name, "token": token, "now": now, "expected": expected})
    };
    let later = T0 + 100 * DAY;
    let clock_cases = vec![
        clock_case("first run (no token)", None, T0),
        clock_case("forward in time", Some(guard.seal(T0).unwrap()), later),
        clock_case(
            "back within the tolerance",
            Some(guard.seal(later).unwrap()),
            later - 3600,
        ),
        clock_case(
            "back beyond the tolerance: rollback",
            Some(guard.seal(later).unwrap()),
            later - 3601,
        ),
        clock_case(
            "token deleted, clock set back: accepted (not caught)",
            None,
            T0,
        ),
        clock_case(
            "older token put back, clock set back: accepted (not caught)",
            Some(guard.seal(T0).unwrap()),
            T0 + 1,
        ),
        clock_case(
            "time edited: tampered",
            Some(format!("{}.{}", later, mac_of(T0))),
            later,
        ),
        clock_case("-0: tampered", Some(format!("-0.{}", mac_of(0))), T0),
        clock_case(
            "leading +: tampered",
            Some(format!("+{}.{}", T0, mac_of(T0))),
            T0,
        ),
        clock_case(
            "leading zero: tampered",
            Some(format!("0{}.{}", T0, mac_of(T0))),
            T0,
        ),
        clock_case(
            "one past i64::MAX: tampered",
            Some(format!("9223372036854775808.{}", mac_of(i64::MAX))),
            T0,
        ),
        clock_case(
            "uppercase MAC: tampered",
            Some(format!("{}.{}", T0, mac_of(T0).to_uppercase())),
            T0,
        ),
        clock_case("i64::MIN, valid", Some(guard.seal(i64::MIN).unwrap()), T0),
    ];

    // ---- The ledger checkpoint (signed by the desk; framing in the spec).
    let checkpoint = {
        let entries: u64 = 42;
        let head = [0x5cu8; 32];
        let created = T0 + 5 * DAY;
        let key_id = KeyId::of(&pk);
        let mut msg = b"LicenseDesk/ledger-checkpoint/v1\0".to_vec();
        msg.extend(entries.to_be_bytes());
        msg.extend(head);
        msg.extend(created.to_be_bytes());
        msg.extend(key_id.0);
        json!({
            "entries": entries,
            "head_hex": HEXLOWER.encode(&head),
            "created_at": created,
            "key_id": key_id.to_string(),
            "message_hex": HEXLOWER.encode(&msg),
            "signature_hex": HEXLOWER.encode(&primary.sign(&msg).to_bytes()),
        })
    };

    let doc = json!({
        "description": "License Desk license format test vectors (docs/license-format.md). Generated by `cargo run -p licensekey --example gen_vectors`; checked by crates/licensekey/tests/vectors.rs. Times are unix seconds (UTC).",
        "keys": [
            key_json("primary", primary_hex, &primary),
            key_json("untrusted", untrusted_hex, &untrusted),
            key_json("retired", retired_hex, &retired),
        ],
        "trusted_keys": ["primary", "retired"],
        "primary_public_key_rust_const": licensekey::public_key_rust_const(&pk),
        "machines": machines
            .iter()
            .map(|(n, v)| {
                let values = v.iter().map(|(k, x)| (k.to_string(), json!(x))).collect();
                (n.to_string(), Value::Object(values))
            })
            .collect::<serde_json::Map<_, _>>(),
        "licenses": [
            license_json("pro", &pro_v2),
            license_json("pro-lenient", &lenient_v2),
            license_json("eval", &eval_v2),
            license_json("dev", &dev_v2),
            license_json("foreign", &foreign_v2),
            license_json("leaked", &leaked),
            license_json("pro-v1", &pro_v1),
            license_json("eval-v1", &eval_v1),
            license_json("dev-v1", &dev_v1),
            license_json("foreign-v1", &foreign_v1),
        ],
        "revocation_lists": [
            list_json("seq5", &legacy_list_file),
            list_json("desk-a", &desk_a_file),
        ],
        "fingerprint_examples": [
            {"version": 1, "name": "machine-id", "value": machine_id, "fingerprint": legacy_fps[0].to_string()},
            {"version": 1, "name": "hostname", "value": "array-01", "fingerprint": legacy_fps[1].to_string()},
            {"version": 1, "name": "cpu", "value": cpu, "fingerprint": legacy_fps[2].to_string()},
            {"version": 2, "salt_hex": HEXLOWER.encode(&salt), "name": "machine-id", "value": machine_id, "fingerprint": Fingerprint::salted(&salt, "machine-id", machine_id).to_string()},
            {"version": 2, "salt_hex": HEXLOWER.encode(&salt), "name": "hostname", "value": "array-01", "fingerprint": Fingerprint::salted(&salt, "hostname", "array-01").to_string()},
        ],
        "requests": requests,
        "deactivations": {
            "machine_seed_hex": HEXLOWER.encode(&[0x4d; 32]),
            "machine_key_hex": HEXLOWER.encode(machine_signer.verifying_key().as_bytes()),
            "body_hex": HEXLOWER.encode(&deactivation_body),
            "replay": "a desk that applied id 6f1d2c3b-4a59-4837-8695-a4b3c2d1e0f7 refuses the same file again (and any file with that id): it keeps the ids it applied",
            "cases": deactivations,
        },
        "cases": cases_json,
        "revocation_cases": rev_cases_json,
        "public_key_cases": key_cases,
        "clock_guard": {"secret_utf8": "example product secret", "tolerance_secs": 3600, "cases": clock_cases},
        "ledger_checkpoint": checkpoint,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}

fn clone_fields(l: &ListFields) -> ListFields {
    ListFields {
        version: l.version,
        key: l.key.clone(),
        sequence: l.sequence,
        issued_at: l.issued_at,
        next_update: l.next_update,
        revoked_keys: l.revoked_keys.clone(),
        revoked: l.revoked.clone(),
    }
}

fn list_json(name: &str, file: &str) -> Value {
    let signed = licensekey::SignedRevocationList::parse(file).unwrap();
    let l = signed.list();
    let bytes = signed.to_bytes();
    json!({
        "name": name,
        "version": l.version(),
        "key_id": l.key_id.to_string(),
        "sequence": l.sequence,
        "issued_at": l.issued_at,
        "next_update": l.next_update,
        "revoked_keys": l.revoked_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "revoked": l.revoked.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        "list_hex": HEXLOWER.encode(&bytes[..bytes.len() - 64]),
        "digest_hex": HEXLOWER.encode(&l.state().unwrap().digest.unwrap()),
        "file": file,
    })
}
