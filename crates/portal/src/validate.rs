//! Checking a pushed batch before anything touches the database: the batch's own shape first
//! (a malformed batch is refused whole), then each change on its own, so one bad change is
//! answered with its reason and never holds up the rest (promise 5).

use crate::entities;
use crate::hlc::Hlc;
use crate::protocol::{Base, ChangeResult, Op, PushStatus, RejectCode, speaks_base};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// The most changes any portal accepts in one push, whatever it is configured to: the batch
/// is counted while it is parsed, so a body of a million tiny items never becomes a million
/// allocations.
pub const HARD_MAX_BATCH: usize = 10_000;

/// What the per-change checks need to know.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub max_change_body_bytes: usize,
    /// How far an HLC may be ahead of the portal's clock.
    pub max_clock_ahead_ms: i64,
    /// The portal's clock now.
    pub now_ms: i64,
    /// The protocol version the request speaks (an envelope's `base` is version 2's).
    pub protocol: u32,
}

/// A change that passed every check, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidChange {
    /// Its place in the pushed batch.
    pub index: usize,
    pub change_id: Uuid,
    pub desk_id: Uuid,
    pub hlc: Hlc,
    pub entity: &'static str,
    pub entity_id: String,
    pub op: Op,
    pub version: u32,
    /// The body's JSON text exactly as the desk sent it.
    pub body: String,
    /// SHA-256 of every field: the same change id must always come with this.
    pub content_hash: [u8; 32],
    /// For an insert: SHA-256 of what makes the fact (entity, id, version, body).
    pub fact_hash: Option<[u8; 32]>,
    /// The version the change was made on (protocol 2; not part of `content_hash`, so a
    /// change pushed again by the same desk after an update is still the same change).
    pub base: Option<Base>,
}

/// Why a batch is refused whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    UnknownField(String),
    #[error("the request body is not a push ({{\"changes\": [...]}}): {0}")]
    NotABatch(String),
    #[error("a push holds at most {max} changes")]
    TooMany { max: usize },
}

/// The batch's changes, each still unparsed.
pub fn parse_batch(bytes: &[u8], max_batch: usize) -> Result<Vec<&RawValue>, BatchError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(borrow)]
        changes: Capped<'a>,
    }
    let batch: Batch<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        if text.starts_with(TOO_MANY) {
            BatchError::TooMany {
                max: max_batch.min(HARD_MAX_BATCH),
            }
        } else if e.is_syntax() || e.is_eof() {
            BatchError::MalformedJson(text)
        } else if text.starts_with("unknown field") {
            BatchError::UnknownField(text)
        } else {
            BatchError::NotABatch(text)
        }
    })?;
    if batch.changes.0.len() > max_batch {
        return Err(BatchError::TooMany { max: max_batch });
    }
    Ok(batch.changes.0)
}

const TOO_MANY: &str = "too many changes";

/// A list of raw changes that stops parsing past [`HARD_MAX_BATCH`].
struct Capped<'a>(Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Capped<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CappedVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for CappedVisitor<'a> {
            type Value = Capped<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of changes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<'a>, A::Error> {
                let mut changes = Vec::new();
                while let Some(change) = seq.next_element::<&'de RawValue>()? {
                    if changes.len() == HARD_MAX_BATCH {
                        return Err(de::Error::custom(TOO_MANY));
                    }
                    changes.push(change);
                }
                Ok(Capped(changes))
            }
        }
        d.deserialize_seq(CappedVisitor(std::marker::PhantomData))
    }
}

/// The envelope with every field still in its raw type, so each check can name what failed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireChange<'a> {
    change_id: String,
    desk_id: String,
    hlc: String,
    entity: String,
    entity_id: String,
    op: String,
    version: u64,
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(default)]
    base: Option<WireBase>,
}

/// An envelope's `base`, its fields still in their raw type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBase {
    hlc: String,
    desk_id: String,
}

/// Checks one change of a batch.
pub fn check_change(
    index: usize,
    raw: &RawValue,
    rules: &Rules,
) -> Result<ValidChange, ChangeResult> {
    let reject = |change_id: Option<Uuid>, code: RejectCode, reason: String| ChangeResult {
        index,
        change_id,
        status: PushStatus::Rejected,
        code: Some(code),
        reason: Some(reason),
    };
    let wire: WireChange<'_> = match serde_json::from_str(raw.get()) {
        Ok(wire) => wire,
        Err(e) => {
            #[derive(Deserialize)]
            struct JustTheId {
                change_id: Option<String>,
            }
            let change_id = serde_json::from_str::<JustTheId>(raw.get())
                .ok()
                .and_then(|j| j.change_id)
                .filter(|t| entities::is_canonical_uuid(t))
                .and_then(|t| Uuid::try_parse(&t).ok());
            let why = e
                .to_string()
                .replace("struct WireChange", "a change object");
            return Err(reject(
                change_id,
                RejectCode::Malformed,
                format!("not a change envelope: {why}"),
            ));
        }
    };
    let Some(change_id) = canonical_uuid(&wire.change_id) else {
        return Err(reject(
            None,
            RejectCode::BadChangeId,
            "change_id is not a lower-case hyphenated UUID".into(),
        ));
    };
    let id = Some(change_id);
    let Some(desk_id) = canonical_uuid(&wire.desk_id) else {
        return Err(reject(
            id,
            RejectCode::BadDeskId,
            "desk_id is not a lower-case hyphenated UUID".into(),
        ));
    };
    let Ok(hlc) = wire.hlc.parse::<Hlc>() else {
        return Err(reject(
            id,
            RejectCode::BadHlc,
            crate::hlc::BadHlc.to_string(),
        ));
    };
    let ahead = i64::try_from(hlc.ms)
        .unwrap_or(i64::MAX)
        .saturating_sub(rules.now_ms);
    if ahead > rules.max_clock_ahead_ms {
        return Err(reject(
            id,
            RejectCode::ClockAhead,
            format!(
                "the change's clock is {} s ahead of the portal's (at most {} s allowed): set the desk's clock right",
                ahead / 1000,
                rules.max_clock_ahead_ms / 1000
            ),
        ));
    }
    let Some(kind) = entities::find(&wire.entity) else {
        return Err(reject(
            id,
            RejectCode::UnknownEntity,
            format!("unknown entity '{}'", cut(&wire.entity)),
        ));
    };
    let op = match Op::parse(&wire.op) {
        Some(op) if kind.ops.contains(&op) => op,
        _ => {
            let allowed: Vec<&str> = kind.ops.iter().map(|o| o.as_str()).collect();
            return Err(reject(
                id,
                RejectCode::OpNotAllowed,
                format!(
                    "{} takes {}, not '{}'",
                    kind.name,
                    allowed.join(" or "),
                    cut(&wire.op)
                ),
            ));
        }
    };
    let version = match u32::try_from(wire.version) {
        Ok(v) if (1..=kind.max_version).contains(&v) => v,
        _ => {
            return Err(reject(
                id,
                RejectCode::UnsupportedVersion,
                format!(
                    "this portal knows {} bodies of version 1 to {}, not {}",
                    kind.name, kind.max_version, wire.version
                ),
            ));
        }
    };
    if !entities::id_fits(kind.id, &wire.entity_id, &desk_id) {
        return Err(reject(
            id,
            RejectCode::BadEntityId,
            format!(
                "'{}' is not a {} id of form {}",
                cut(&wire.entity_id),
                kind.name,
                kind.id.as_str()
            ),
        ));
    }
    let body = wire.body.get();
    if !body.starts_with('{') {
        return Err(reject(
            id,
            RejectCode::BodyNotObject,
            "body is not a JSON object".into(),
        ));
    }
    if body.len() > rules.max_change_body_bytes {
        return Err(reject(
            id,
            RejectCode::BodyTooLarge,
            format!(
                "body is {} bytes; at most {} per change",
                body.len(),
                rules.max_change_body_bytes
            ),
        ));
    }
    let base = match wire.base {
        None => None,
        Some(_) if !speaks_base(rules.protocol) => {
            return Err(reject(
                id,
                RejectCode::Malformed,
                format!(
                    "not a change envelope: base is a field of protocol 2; this request speaks {}",
                    rules.protocol
                ),
            ));
        }
        Some(_) if op == Op::Insert => {
            return Err(reject(
                id,
                RejectCode::Malformed,
                "an insert is a fact and has no base".into(),
            ));
        }
        Some(base) => {
            let Ok(base_hlc) = base.hlc.parse::<Hlc>() else {
                return Err(reject(
                    id,
                    RejectCode::BadHlc,
                    format!("base.hlc: {}", crate::hlc::BadHlc),
                ));
            };
            let Some(desk_id) = canonical_uuid(&base.desk_id) else {
                return Err(reject(
                    id,
                    RejectCode::BadDeskId,
                    "base.desk_id is not a lower-case hyphenated UUID".into(),
                ));
            };
            Some(Base {
                hlc: base_hlc,
                desk_id,
            })
        }
    };
    let hlc_text = hlc.to_string();
    let content_hash = hash_fields(&[
        change_id.as_bytes(),
        desk_id.as_bytes(),
        hlc_text.as_bytes(),
        kind.name.as_bytes(),
        wire.entity_id.as_bytes(),
        op.as_str().as_bytes(),
        &version.to_be_bytes(),
        body.as_bytes(),
    ]);
    let fact_hash = (op == Op::Insert).then(|| {
        hash_fields(&[
            kind.name.as_bytes(),
            wire.entity_id.as_bytes(),
            &version.to_be_bytes(),
            body.as_bytes(),
        ])
    });
    Ok(ValidChange {
        index,
        change_id,
        desk_id,
        hlc,
        entity: kind.name,
        entity_id: wire.entity_id,
        op,
        version,
        body: body.to_string(),
        content_hash,
        fact_hash,
        base,
    })
}

/// SHA-256 over length-prefixed fields, so no two different field lists hash the same bytes.
fn hash_fields(fields: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field);
    }
    hasher.finalize().into()
}

fn canonical_uuid(text: &str) -> Option<Uuid> {
    entities::is_canonical_uuid(text)
        .then(|| Uuid::try_parse(text).ok())
        .flatten()
}

/// Echoes at most 64 characters of what a desk sent.
fn cut(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            max_change_body_bytes: 100,
            max_clock_ahead_ms: 60_000,
            now_ms: 1_000_000,
            protocol: 2,
        }
    }

    fn change(fields: &[(&str, serde_json::Value)]) -> String {
        let desk = "0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e60";
        let mut v = serde_json::json!({
            "change_id": "0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f",
            "desk_id": desk,
            "hlc": "0000000f4240-00000000",
            "entity": "ledger_entry",
            "entity_id": format!("{desk}:1"),
            "op": "insert",
            "version": 1,
            "body": {"seq": 1},
        });
        for (k, value) in fields {
            if value.is_null() {
                v.as_object_mut().unwrap().remove(*k);
            } else {
                v[*k] = value.clone();
            }
        }
        v.to_string()
    }

    fn code_of(text: &str) -> Option<RejectCode> {
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        check_change(0, &raw, &rules()).err().and_then(|r| r.code)
    }

    #[test]
    fn each_check_names_its_reason() {
        use serde_json::json;
        assert_eq!(code_of(&change(&[])), None);
        let table: &[(&[(&str, serde_json::Value)], RejectCode)] = &[
            (&[("extra", json!(1))], RejectCode::Malformed),
            (
                &[("version", serde_json::Value::Null)],
                RejectCode::Malformed,
            ),
            (&[("version", json!("1"))], RejectCode::Malformed),
            (
                &[("change_id", json!("0192F5A0-7C1E-7D3A-9B4F-1A2B3C4D5E6F"))],
                RejectCode::BadChangeId,
            ),
            (&[("desk_id", json!("nope"))], RejectCode::BadDeskId),
            (&[("hlc", json!("1000000-0"))], RejectCode::BadHlc),
            (
                &[("hlc", json!("0000001fffff-00000000"))],
                RejectCode::ClockAhead,
            ),
            (&[("entity", json!("ledger"))], RejectCode::UnknownEntity),
            (&[("op", json!("upsert"))], RejectCode::OpNotAllowed),
            (&[("op", json!("merge"))], RejectCode::OpNotAllowed),
            (&[("version", json!(2))], RejectCode::UnsupportedVersion),
            (&[("version", json!(0))], RejectCode::UnsupportedVersion),
            (
                &[("version", json!(1u64 << 40))],
                RejectCode::UnsupportedVersion,
            ),
            (&[("entity_id", json!("1"))], RejectCode::BadEntityId),
            (&[("body", json!([1]))], RejectCode::BodyNotObject),
            (&[("body", json!("{}"))], RejectCode::BodyNotObject),
            (
                &[("body", json!({"x": "y".repeat(100)}))],
                RejectCode::BodyTooLarge,
            ),
        ];
        for (fields, code) in table {
            assert_eq!(code_of(&change(fields)), Some(*code), "{fields:?}");
        }
    }

    #[test]
    fn a_malformed_change_still_names_its_change_id() {
        let raw: Box<RawValue> =
            serde_json::from_str(&change(&[("version", serde_json::json!("x"))])).unwrap();
        let result = check_change(3, &raw, &rules()).unwrap_err();
        assert_eq!(result.index, 3);
        assert_eq!(
            result.change_id.map(|u| u.to_string()).as_deref(),
            Some("0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f")
        );
    }

    #[test]
    fn hashes_tell_content_apart() {
        let raw: Box<RawValue> = serde_json::from_str(&change(&[])).unwrap();
        let a = check_change(0, &raw, &rules()).unwrap();
        let raw: Box<RawValue> = serde_json::from_str(&change(&[(
            "hlc",
            serde_json::json!("0000000f4240-00000001"),
        )]))
        .unwrap();
        let b = check_change(0, &raw, &rules()).unwrap();
        assert_ne!(a.content_hash, b.content_hash);
        assert_eq!(
            a.fact_hash, b.fact_hash,
            "the fact is the same whoever says it, whenever"
        );
    }

    #[test]
    fn batch_shape_errors_are_told_apart() {
        assert!(matches!(
            parse_batch(b"{", 10),
            Err(BatchError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_batch(b"{\"changes\": [], \"x\": 1}", 10),
            Err(BatchError::UnknownField(_))
        ));
        assert!(matches!(
            parse_batch(b"[]", 10),
            Err(BatchError::NotABatch(_))
        ));
        assert!(matches!(
            parse_batch(b"{\"changes\": 5}", 10),
            Err(BatchError::NotABatch(_))
        ));
        assert!(matches!(
            parse_batch(b"{\"changes\": [1,2,3]}", 2),
            Err(BatchError::TooMany { max: 2 })
        ));
        let huge = format!("{{\"changes\": [{}1]}}", "1,".repeat(HARD_MAX_BATCH));
        assert!(matches!(
            parse_batch(huge.as_bytes(), usize::MAX),
            Err(BatchError::TooMany { .. })
        ));
        assert_eq!(
            parse_batch(b"{\"changes\": [1, {}]}", 2).map(|v| v.len()),
            Ok(2)
        );
    }
}
