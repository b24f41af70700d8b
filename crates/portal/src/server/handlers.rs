//! The endpoints. Each answers JSON; errors are `ApiError`s.

use super::AppState;
use super::error::ApiError;
use crate::cursor::{Cursor, Position};
use crate::protocol::{
    ChangeResult, Health, PROTOCOL_HEADER, PushResponse, PushStatus, VersionInfo, VersionMismatch,
    VersionRange, WalletBlockRequest, WalletBlockResponse, speaks_base,
};
use crate::store::{Outcome, PullError, StoreError};
use crate::validate::{self, BatchError, Rules};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Extension, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Health of the portal and its database (no token needed).
#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(app): State<AppState>) -> Response {
    match app.store.health().await {
        Ok(()) => axum::Json(Health {
            status: "ok".into(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!("health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "unavailable".into(),
                }),
            )
                .into_response()
        }
    }
}

/// The portal's version, the protocol versions it speaks and its limits (no token needed).
#[utoipa::path(get, path = "/v1/version", tag = "meta", responses((status = 200, body = VersionInfo)))]
pub async fn version(State(app): State<AppState>) -> axum::Json<VersionInfo> {
    axum::Json(VersionInfo {
        portal: env!("CARGO_PKG_VERSION").into(),
        protocol: VersionRange::THIS_BUILD,
        storage: app.store.kind().into(),
        limits: app.limits.published(),
    })
}

/// This document (no token needed).
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
        .into_response()
}

/// Checks the device token: one answer (401) for none, a malformed one, an unknown one and a
/// revoked one. Looked up on every request, so a revocation holds from the next request on,
/// on every portal sharing the database.
pub async fn require_token(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token.filter(|t| crate::token::well_formed(t)) else {
        return ApiError::unauthorized().into_response();
    };
    match app.store.token_valid(crate::token::hash(token)).await {
        Ok(true) => next.run(request).await,
        Ok(false) => ApiError::unauthorized().into_response(),
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

/// Checks the protocol version the desk speaks in this request.
pub async fn require_protocol(mut request: Request, next: Next) -> Response {
    match check_protocol(request.headers()) {
        Ok(version) => {
            request.extensions_mut().insert(Speaks(version));
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// The protocol version a request speaks (checked by [`require_protocol`]).
#[derive(Debug, Clone, Copy)]
pub struct Speaks(pub u32);

fn check_protocol(headers: &HeaderMap) -> Result<u32, ApiError> {
    let Some(value) = headers.get(PROTOCOL_HEADER) else {
        return Err(ApiError::bad_request(
            "missing_protocol_version",
            format!(
                "say which protocol version this request speaks in the {PROTOCOL_HEADER} header"
            ),
        ));
    };
    let version: u32 = value
        .to_str()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_protocol_version",
                format!("{PROTOCOL_HEADER} is a whole number"),
            )
        })?;
    let this = VersionRange::THIS_BUILD;
    match crate::protocol::negotiate(
        VersionRange {
            min: version,
            max: version,
        },
        this,
    ) {
        Ok(_) => Ok(version),
        Err(VersionMismatch::DeskTooOld) => Err(ApiError::version(
            "desk_too_old",
            format!(
                "this portal speaks protocol {}–{}; the desk speaks {version}: update License Desk (its outbox is kept meanwhile)",
                this.min, this.max
            ),
        )),
        Err(VersionMismatch::PortalTooOld) => Err(ApiError::version(
            "portal_too_old",
            format!(
                "this portal speaks protocol {}–{}; the desk speaks {version}: update the portal (the desk keeps its outbox meanwhile)",
                this.min, this.max
            ),
        )),
    }
}

/// Reads a request body, answering an oversized one with 413.
fn body_bytes(
    body: Result<Bytes, BytesRejection>,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ));
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("a request body is at most {limit} bytes"),
            )
        } else {
            ApiError::bad_request(
                "bad_request",
                format!("the request body could not be read: {rejection}"),
            )
        }
    })
}

/// Push a batch of changes. Every change gets its own answer, in order: `accepted` (stored
/// now), `duplicate` (the portal had it) or `rejected` with a code and reason. A rejected
/// change never holds up the others; the batch is stored in one transaction.
#[utoipa::path(post, path = "/v1/changes", tag = "sync",
    request_body = crate::protocol::PushRequest,
    params(("license-desk-protocol" = u32, Header, description = "The protocol version the desk speaks")),
    responses(
        (status = 200, body = PushResponse),
        (status = 400, body = crate::protocol::ErrorBody, description = "malformed_json, unknown_field, bad_request, missing_protocol_version"),
        (status = 401, body = crate::protocol::ErrorBody),
        (status = 413, body = crate::protocol::ErrorBody, description = "body_too_large, batch_too_large"),
        (status = 415, body = crate::protocol::ErrorBody),
        (status = 426, body = crate::protocol::ErrorBody, description = "desk_too_old, portal_too_old"),
        (status = 429, body = crate::protocol::ErrorBody),
        (status = 503, body = crate::protocol::ErrorBody)),
    security(("device_token" = [])))]
pub async fn push(
    State(app): State<AppState>,
    Extension(Speaks(protocol)): Extension<Speaks>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(body, &headers, app.limits.max_request_bytes)?;
    let raws = validate::parse_batch(&bytes, app.limits.max_batch).map_err(|e| match e {
        BatchError::MalformedJson(_) => ApiError::bad_request("malformed_json", e.to_string()),
        BatchError::UnknownField(_) => ApiError::bad_request("unknown_field", e.to_string()),
        BatchError::NotABatch(_) => ApiError::bad_request("bad_request", e.to_string()),
        BatchError::TooMany { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            e.to_string(),
        ),
    })?;
    let now_ms = crate::clock::now_ms();
    let rules = Rules {
        max_change_body_bytes: app.limits.max_change_body_bytes,
        max_clock_ahead_ms: i64::try_from(app.limits.max_clock_ahead.as_millis())
            .unwrap_or(i64::MAX),
        now_ms,
        protocol,
    };
    let mut results: Vec<Option<ChangeResult>> = vec![None; raws.len()];
    let mut valid = Vec::with_capacity(raws.len());
    for (index, raw) in raws.iter().enumerate() {
        match validate::check_change(index, raw, &rules) {
            Ok(change) => valid.push(change),
            Err(rejected) => results[index] = Some(rejected),
        }
    }
    let ids: Vec<(usize, uuid::Uuid)> = valid.iter().map(|c| (c.index, c.change_id)).collect();
    let outcomes = app
        .store
        .push(valid, now_ms)
        .await
        .map_err(|e| store_error(&e))?;
    for ((index, change_id), outcome) in ids.into_iter().zip(outcomes) {
        let (status, code, reason) = match outcome {
            Outcome::Accepted => (PushStatus::Accepted, None, None),
            Outcome::Duplicate => (PushStatus::Duplicate, None, None),
            Outcome::Rejected(code, reason) => (PushStatus::Rejected, Some(code), Some(reason)),
        };
        results[index] = Some(ChangeResult {
            index,
            change_id: Some(change_id),
            status,
            code,
            reason,
        });
    }
    let results: Vec<ChangeResult> = results.into_iter().flatten().collect();
    let count = |s: PushStatus| results.iter().filter(|r| r.status == s).count();
    let response = PushResponse {
        accepted: count(PushStatus::Accepted),
        duplicate: count(PushStatus::Duplicate),
        rejected: count(PushStatus::Rejected),
        results,
    };
    Ok(axum::Json(response).into_response())
}

fn store_error(e: &StoreError) -> ApiError {
    match e {
        StoreError::Invalid(message) => ApiError::bad_request("bad_request", message.clone()),
        other => ApiError::unavailable(other),
    }
}

/// `GET /v1/changes` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PullParams {
    /// The `next_cursor` of the previous pull; none to read the feed from its start.
    pub after: Option<String>,
    /// Page size (default 1000, at most the portal's `max_page`).
    pub limit: Option<usize>,
}

/// Pull the changes after a cursor, in commit order, a page at a time (including the pulling
/// desk's own). 410 `resync_required` when the cursor is older than the feed's retention or
/// from another feed: the desk must pull again from the start.
#[utoipa::path(get, path = "/v1/changes", tag = "sync",
    params(PullParams, ("license-desk-protocol" = u32, Header, description = "The protocol version the desk speaks")),
    responses(
        (status = 200, body = crate::protocol::PullResponse),
        (status = 400, body = crate::protocol::ErrorBody, description = "bad_cursor, bad_request"),
        (status = 401, body = crate::protocol::ErrorBody),
        (status = 410, body = crate::protocol::ErrorBody, description = "resync_required"),
        (status = 426, body = crate::protocol::ErrorBody)),
    security(("device_token" = [])))]
pub async fn pull(
    State(app): State<AppState>,
    Extension(Speaks(protocol)): Extension<Speaks>,
    params: Result<Query<PullParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("bad_request", e.body_text()))?;
    let feed_id = app.store.feed_id();
    let after = match params.after.as_deref() {
        None | Some("") => Position::START,
        Some(text) => {
            let cursor = Cursor::decode(text)
                .map_err(|e| ApiError::bad_request("bad_cursor", e.to_string()))?;
            if cursor.feed_id != feed_id {
                return Err(ApiError::resync(
                    "other_feed",
                    "this cursor is from another portal database: pull again from the start (no after)",
                ));
            }
            cursor.position
        }
    };
    let limit = params.limit.unwrap_or(app.limits.default_page);
    if limit == 0 || limit > app.limits.max_page {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("limit is 1 to {}", app.limits.max_page),
        ));
    }
    let page = app.store.pull(after, limit, app.limits.max_page_bytes).await.map_err(|e| match e {
        PullError::Expired => ApiError::resync(
            "cursor_expired",
            "this cursor is older than the portal's retention: pull again from the start (no after)",
        ),
        PullError::Store(e) => store_error(&e),
    })?;
    let last = page.changes.last().map_or(after, |c| c.position);
    let next_cursor = Cursor {
        feed_id,
        position: last,
    }
    .encode();
    Ok(pull_json(&page, &next_cursor, protocol))
}

/// The pull answer written by hand: bodies go out as the exact text the desk pushed, with no
/// parse and re-serialise per change; a `base` only to a desk speaking protocol 2 or later.
fn pull_json(page: &crate::store::Page, next_cursor: &str, protocol: u32) -> Response {
    let size: usize = page
        .changes
        .iter()
        .map(|c| c.body.len() + c.entity_id.len() + 200)
        .sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(b"{\"changes\":[");
    for (i, c) in page.changes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"change_id\":");
        json_uuid(&mut out, c.change_id);
        out.extend_from_slice(b",\"desk_id\":");
        json_uuid(&mut out, c.desk_id);
        out.extend_from_slice(b",\"hlc\":");
        json_string(&mut out, &c.hlc);
        out.extend_from_slice(b",\"entity\":");
        json_string(&mut out, &c.entity);
        out.extend_from_slice(b",\"entity_id\":");
        json_string(&mut out, &c.entity_id);
        out.extend_from_slice(b",\"op\":");
        json_string(&mut out, &c.op);
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(c.version.to_string().as_bytes());
        out.extend_from_slice(b",\"body\":");
        out.extend_from_slice(c.body.as_bytes());
        if let Some(base) = c.base.filter(|_| speaks_base(protocol)) {
            out.extend_from_slice(b",\"base\":{\"hlc\":");
            json_string(&mut out, &base.hlc.to_string());
            out.extend_from_slice(b",\"desk_id\":");
            json_uuid(&mut out, base.desk_id);
            out.push(b'}');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    json_string(&mut out, next_cursor);
    out.extend_from_slice(if page.more {
        b",\"more\":true}"
    } else {
        b",\"more\":false}"
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(out),
    )
        .into_response()
}

/// A UUID as a JSON string, lower-case hyphenated.
fn json_uuid(out: &mut Vec<u8>, id: uuid::Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

fn json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Ask for the wallet-ID blocks this desk numbers accounts from (see "Wallet IDs" in the
/// sync protocol). Answers every block the desk holds, oldest first.
#[utoipa::path(post, path = "/v1/wallet-blocks", tag = "sync",
    request_body = WalletBlockRequest,
    params(("license-desk-protocol" = u32, Header, description = "The protocol version the desk speaks")),
    responses((status = 200, body = WalletBlockResponse), (status = 400, body = crate::protocol::ErrorBody), (status = 401, body = crate::protocol::ErrorBody)),
    security(("device_token" = [])))]
pub async fn wallet_blocks(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(body, &headers, app.limits.max_request_bytes)?;
    let request: WalletBlockRequest = serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("malformed_json", e.to_string())
        } else if e.to_string().starts_with("unknown field") {
            ApiError::bad_request("unknown_field", e.to_string())
        } else {
            ApiError::bad_request("bad_request", e.to_string())
        }
    })?;
    let blocks = app
        .store
        .claim_wallet_blocks(
            request.desk_id,
            request.local_block,
            request.another,
            crate::clock::now_ms(),
        )
        .await
        .map_err(|e| store_error(&e))?;
    Ok(axum::Json(WalletBlockResponse { blocks }).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint (see /v1/openapi.json)",
    )
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /v1/openapi.json)",
    )
}
