//! The wire protocol, shared by the server and the client: versions, headers, request and
//! response bodies, error codes. `docs/sync-protocol.md` explains each; the OpenAPI document
//! at `/v1/openapi.json` is generated from these types.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

/// The protocol version this build speaks best. Version 2 added an envelope's `base`.
pub const PROTOCOL_VERSION: u32 = 2;
/// The oldest protocol version this build still speaks: always the current one or the one
/// before, so a desk and a portal one version apart work together.
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;
/// The request header carrying the protocol version the desk speaks in this request.
pub const PROTOCOL_HEADER: &str = "license-desk-protocol";
/// The response header naming the versions the portal speaks, as `MIN-MAX`.
pub const SUPPORTED_HEADER: &str = "license-desk-protocol-supported";

/// A range of protocol versions, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionRange {
    pub min: u32,
    pub max: u32,
}

impl VersionRange {
    /// The versions this build speaks.
    pub const THIS_BUILD: VersionRange = VersionRange {
        min: OLDEST_PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
    };
}

/// Which side is too old when two version ranges do not meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMismatch {
    /// The desk speaks only versions older than the portal's oldest.
    DeskTooOld,
    /// The desk speaks only versions newer than the portal's newest.
    PortalTooOld,
}

/// The version a desk speaking `desk` and a portal speaking `portal` use: the newest both
/// speak, or which side is too old.
pub fn negotiate(desk: VersionRange, portal: VersionRange) -> Result<u32, VersionMismatch> {
    if desk.max < portal.min {
        Err(VersionMismatch::DeskTooOld)
    } else if desk.min > portal.max {
        Err(VersionMismatch::PortalTooOld)
    } else {
        Ok(desk.max.min(portal.max))
    }
}

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The entity's whole new state; it can change again.
    Upsert,
    /// The entity is gone (a tombstone).
    Delete,
    /// A fact that is only ever added: a second insert with other content is refused.
    Insert,
}

impl Op {
    /// The word on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
            Op::Insert => "insert",
        }
    }

    /// The inverse of [`Op::as_str`].
    pub fn parse(word: &str) -> Option<Op> {
        match word {
            "upsert" => Some(Op::Upsert),
            "delete" => Some(Op::Delete),
            "insert" => Some(Op::Insert),
            _ => None,
        }
    }
}

/// One change as a desk pushes it and as every desk pulls it back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Made by the desk that made the change (UUIDv7); the idempotency key.
    pub change_id: Uuid,
    /// The desk that made the change.
    pub desk_id: Uuid,
    /// The desk's hybrid logical clock when it made the change.
    #[schema(value_type = String, example = "019ad1e2f3a4-00000000")]
    pub hlc: Hlc,
    /// One of the names in the entity table.
    pub entity: String,
    /// The entity's id, in the form the entity table names.
    pub entity_id: String,
    pub op: Op,
    /// The body's version (per entity; see the entity table).
    pub version: u32,
    /// The entity's whole new state (or its id, for a delete): always a JSON object.
    #[schema(value_type = Object)]
    pub body: Box<RawValue>,
    /// Protocol 2, for an upsert or a delete: the version of the entity the desk had when it
    /// made the change (none: the entity was new there). A desk that has changed the entity
    /// since that version knows the two changes were made without seeing each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
}

/// The first protocol version whose envelopes carry a [`Base`].
pub const BASE_SINCE: u32 = 2;

/// True when a request speaking `protocol` sends and reads an envelope's `base`.
pub fn speaks_base(protocol: u32) -> bool {
    protocol >= BASE_SINCE
}

impl Envelope {
    /// The envelope as a desk speaking `protocol` reads it: before [`BASE_SINCE`] there is no
    /// `base`.
    pub fn for_protocol(mut self, protocol: u32) -> Envelope {
        if !speaks_base(protocol) {
            self.base = None;
        }
        self
    }
}

/// A version of an entity: the change that made it, named by its clock reading and desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Base {
    #[schema(value_type = String, example = "019ad1e2f3a4-00000000")]
    pub hlc: Hlc,
    pub desk_id: Uuid,
}

/// `POST /v1/changes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub changes: Vec<Envelope>,
}

/// The answer for one change of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Stored now: the desk may drop it from its outbox.
    Accepted,
    /// The portal already had it (this change id with this content, or this very fact): the
    /// desk may drop it from its outbox.
    Duplicate,
    /// Refused for the reason given; nothing was stored. The desk parks it.
    Rejected,
}

/// Why a change was rejected (stable words a desk can match on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The change is not an envelope: not an object, a field missing, of the wrong type, or
    /// one the protocol does not have.
    Malformed,
    /// `change_id` is not a UUID.
    BadChangeId,
    /// `desk_id` is not a UUID.
    BadDeskId,
    /// `hlc` is not in the fixed text form.
    BadHlc,
    /// `hlc` is further ahead of the portal's clock than the allowed skew.
    ClockAhead,
    /// `entity` is not in the entity table.
    UnknownEntity,
    /// The entity does not take this operation.
    OpNotAllowed,
    /// The portal does not know this body version of the entity.
    UnsupportedVersion,
    /// `entity_id` is not in the entity's id form.
    BadEntityId,
    /// `body` is not a JSON object.
    BodyNotObject,
    /// `body` is larger than the portal's cap for one change.
    BodyTooLarge,
    /// The portal has this change id with other content (a change id is never reused).
    ChangeIdReused,
    /// An insert-only fact with this entity id exists with other content.
    ConflictingFact,
}

impl RejectCode {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Malformed => "malformed",
            RejectCode::BadChangeId => "bad_change_id",
            RejectCode::BadDeskId => "bad_desk_id",
            RejectCode::BadHlc => "bad_hlc",
            RejectCode::ClockAhead => "clock_ahead",
            RejectCode::UnknownEntity => "unknown_entity",
            RejectCode::OpNotAllowed => "op_not_allowed",
            RejectCode::UnsupportedVersion => "unsupported_version",
            RejectCode::BadEntityId => "bad_entity_id",
            RejectCode::BodyNotObject => "body_not_object",
            RejectCode::BodyTooLarge => "body_too_large",
            RejectCode::ChangeIdReused => "change_id_reused",
            RejectCode::ConflictingFact => "conflicting_fact",
        }
    }
}

/// One change's answer, in the order the changes came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChangeResult {
    /// The change's place in the pushed batch (from 0).
    pub index: usize,
    /// The change id, when the change had a readable one.
    pub change_id: Option<Uuid>,
    pub status: PushStatus,
    /// For `rejected`: why, as a stable word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<RejectCode>,
    /// For `rejected`: why, in words for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a push: one result per change, in order, and the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    pub results: Vec<ChangeResult>,
    pub accepted: usize,
    pub duplicate: usize,
    pub rejected: usize,
}

/// One page of the feed: `GET /v1/changes?after=CURSOR&limit=N`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PullResponse {
    /// The changes after the cursor, in feed (commit) order. Includes the pulling desk's own
    /// changes.
    pub changes: Vec<Envelope>,
    /// The cursor of the last change returned (or the one asked with, when none were):
    /// the `after` of the next pull. Opaque.
    pub next_cursor: String,
    /// More changes follow at once; pull again with `next_cursor`.
    pub more: bool,
}

/// `GET /v1/version` (no token needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    /// The portal's program version.
    pub portal: String,
    /// The protocol versions it speaks.
    pub protocol: VersionRange,
    /// Which storage it runs on: `sqlite` or `postgres`.
    pub storage: String,
    /// The limits a desk has to keep to.
    pub limits: PublishedLimits,
}

/// The limits a desk needs to know to make requests that fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedLimits {
    /// The largest request body, in bytes.
    pub max_request_bytes: usize,
    /// The most changes in one push.
    pub max_batch: usize,
    /// The largest body of one change (its JSON text), in bytes.
    pub max_change_body_bytes: usize,
    /// The largest page a pull returns.
    pub max_page: usize,
    /// Changes are kept whole this many days before compaction (see the sync protocol).
    pub retain_days: u32,
}

/// `GET /v1/health` (no token needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer (with status 503).
    pub status: String,
}

/// How many wallet IDs a granted block holds.
pub const WALLET_BLOCK_SIZE: i64 = 10_000;
/// Granted blocks start above every desk's local block (100–99,999); the n-th block granted
/// starts at `FIRST_GRANTED_WALLET_ID + n × WALLET_BLOCK_SIZE`.
pub const FIRST_GRANTED_WALLET_ID: i64 = 100_000;

/// `POST /v1/wallet-blocks`: ask for the wallet-ID blocks this desk may number accounts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBlockRequest {
    pub desk_id: Uuid,
    /// The block the desk has numbered from on its own so far (100–99,999 on a new desk): the
    /// first desk to ask has it confirmed, if nobody holds any of it.
    #[serde(default)]
    pub local_block: Option<WalletBlock>,
    /// Grant one more block even though the desk holds some (its blocks are running out).
    #[serde(default)]
    pub another: bool,
}

/// A range of wallet IDs, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBlock {
    pub first_id: i64,
    pub last_id: i64,
}

/// The blocks the desk holds, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletBlockResponse {
    pub blocks: Vec<WalletBlock>,
}

/// Every error answer: a stable code, words for people, and what the code needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable word: `unauthorized`, `malformed_json`, `unknown_field`, `bad_request`,
    /// `bad_cursor`, `missing_protocol_version`, `desk_too_old`, `portal_too_old`,
    /// `resync_required`, `body_too_large`, `batch_too_large`, `unsupported_media_type`,
    /// `rate_limited`, `timeout`, `not_found`, `method_not_allowed`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// For `desk_too_old` / `portal_too_old`: the versions the portal speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<VersionRange>,
    /// For `resync_required`: `cursor_expired` or `other_feed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: u32, max: u32) -> VersionRange {
        VersionRange { min, max }
    }

    #[test]
    fn one_version_apart_works_either_way_and_further_says_who_is_old() {
        // Each side speaks its version and the one before.
        let portal = range(2, 3);
        assert_eq!(negotiate(range(2, 3), portal), Ok(3));
        assert_eq!(negotiate(range(1, 2), portal), Ok(2), "desk one older");
        assert_eq!(negotiate(range(3, 4), portal), Ok(3), "desk one newer");
        assert_eq!(
            negotiate(range(1, 1), portal),
            Err(VersionMismatch::DeskTooOld)
        );
        assert_eq!(
            negotiate(range(4, 5), portal),
            Err(VersionMismatch::PortalTooOld)
        );
        assert_eq!(
            negotiate(VersionRange::THIS_BUILD, VersionRange::THIS_BUILD),
            Ok(PROTOCOL_VERSION)
        );
    }

    #[test]
    fn envelope_refuses_unknown_fields_and_keeps_the_body_text() {
        let text = r#"{"change_id":"0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e6f","desk_id":"0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e60","hlc":"019ad1e2f3a4-00000000","entity":"account","entity_id":"0192f5a0-7c1e-7d3a-9b4f-1a2b3c4d5e61","op":"upsert","version":1,"body":{"b": 1,  "a":2}}"#;
        let envelope: Envelope = serde_json::from_str(text).unwrap();
        assert_eq!(envelope.body.get(), r#"{"b": 1,  "a":2}"#);
        let extra = text.replacen("\"op\"", "\"extra\":1,\"op\"", 1);
        assert!(serde_json::from_str::<Envelope>(&extra).is_err());
    }
}
