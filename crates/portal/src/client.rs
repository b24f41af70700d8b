//! The desk's side of the protocol: a small blocking client (the desk's sync worker is a
//! plain thread). It speaks one request per call with timeouts; retrying, backoff and jitter
//! are the caller's, guided by [`ClientError::retryable`] and `retry_after`.
//!
//! ```no_run
//! # fn main() -> Result<(), portal::client::ClientError> {
//! use portal::client::{ClientOptions, PortalClient};
//! let mut client = PortalClient::new("https://portal.example:8787", "ldp_…", ClientOptions::default())?;
//! client.negotiate()?;                       // picks the protocol version, or says who is too old
//! let page = client.pull(None, 1000)?;        // from the start; then pull(Some(&page.next_cursor), …)
//! # Ok(()) }
//! ```

use crate::protocol::{
    Envelope, ErrorBody, Health, PROTOCOL_HEADER, PullResponse, PushResponse, VersionInfo,
    VersionMismatch, VersionRange, WalletBlockRequest, WalletBlockResponse, speaks_base,
};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use std::time::Duration;

/// How the client connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// For a whole request, answer included (a page of 5,000 changes is a few MB).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// A CA certificate (PEM) to trust besides the system's, for a portal with a private CA
    /// or a self-signed certificate.
    pub extra_root_pem: Option<Vec<u8>>,
    /// The protocol versions this desk speaks.
    pub speaks: VersionRange,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            extra_root_pem: None,
            speaks: VersionRange::THIS_BUILD,
        }
    }
}

/// What went wrong, sorted by what the desk does about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The token is missing, wrong or revoked: ask the operator for a new one.
    #[error("the portal refused the device token (missing, wrong or revoked)")]
    Unauthorized,
    /// Update License Desk; keep the outbox meanwhile.
    #[error("this desk is too old for the portal (the portal speaks protocol {}–{}): update License Desk", supported.min, supported.max)]
    DeskTooOld { supported: VersionRange },
    /// Update the portal; keep the outbox meanwhile.
    #[error("the portal is too old for this desk (it speaks protocol {}–{}): update the portal", supported.min, supported.max)]
    PortalTooOld { supported: VersionRange },
    /// The cursor is older than the portal's retention or from another feed: pull again from
    /// the start (`after = None`), as for a first sync.
    #[error("the portal asks for a full resync ({reason})")]
    ResyncRequired { reason: String },
    /// Too many requests: wait `retry_after`.
    #[error("the portal is rate limiting this desk")]
    RateLimited { retry_after: Option<Duration> },
    /// The portal or its database is down or slow: try again later.
    #[error("the portal is unavailable ({status}): {message}")]
    Unavailable {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The portal refused the request itself (a bug on the desk's side: retrying the same
    /// request will not help).
    #[error("the portal refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// Could not connect, TLS failed, or the request timed out.
    #[error("could not reach the portal: {0}")]
    Transport(#[from] reqwest::Error),
    /// The portal answered something that is not the protocol.
    #[error("the portal's answer is not the protocol: {0}")]
    BadAnswer(String),
}

impl ClientError {
    /// Whether the same request may succeed later (with backoff).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            ClientError::RateLimited { .. }
                | ClientError::Unavailable { .. }
                | ClientError::Transport(_)
        )
    }
}

/// A connection to one portal with one device token.
#[derive(Debug, Clone)]
pub struct PortalClient {
    http: Client,
    base: String,
    token: String,
    speaks: VersionRange,
    /// The version sent with each request (the newest this desk speaks until `negotiate`).
    protocol: u32,
}

impl PortalClient {
    /// `base_url` like `https://portal.example:8787` (no path).
    pub fn new(
        base_url: &str,
        token: &str,
        options: ClientOptions,
    ) -> Result<PortalClient, ClientError> {
        let mut builder = Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("license-desk-sync/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.extra_root_pem {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
        }
        Ok(PortalClient {
            http: builder.build()?,
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            speaks: options.speaks,
            protocol: options.speaks.max,
        })
    }

    /// The protocol version requests carry.
    pub fn protocol(&self) -> u32 {
        self.protocol
    }

    /// Asks the portal which versions it speaks and settles on the newest both speak; fails
    /// with `DeskTooOld` / `PortalTooOld` when there is none.
    pub fn negotiate(&mut self) -> Result<VersionInfo, ClientError> {
        let info = self.version()?;
        self.protocol =
            crate::protocol::negotiate(self.speaks, info.protocol).map_err(|m| match m {
                VersionMismatch::DeskTooOld => ClientError::DeskTooOld {
                    supported: info.protocol,
                },
                VersionMismatch::PortalTooOld => ClientError::PortalTooOld {
                    supported: info.protocol,
                },
            })?;
        Ok(info)
    }

    /// `GET /v1/version`.
    pub fn version(&self) -> Result<VersionInfo, ClientError> {
        json(self.http.get(format!("{}/v1/version", self.base)).send()?)
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> Result<Health, ClientError> {
        json(self.http.get(format!("{}/v1/health", self.base)).send()?)
    }

    fn authed(&self, request: RequestBuilder) -> RequestBuilder {
        request
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, self.protocol)
    }

    /// `POST /v1/changes`: one answer per change, in order. Envelopes go out as the
    /// negotiated protocol has them (no `base` before version 2).
    pub fn push(&self, changes: &[Envelope]) -> Result<PushResponse, ClientError> {
        #[derive(serde::Serialize)]
        struct Borrowed<'a> {
            changes: &'a [Envelope],
        }
        let older: Vec<Envelope>;
        let sent = if !speaks_base(self.protocol) && changes.iter().any(|c| c.base.is_some()) {
            older = changes
                .iter()
                .map(|c| c.clone().for_protocol(self.protocol))
                .collect();
            &older[..]
        } else {
            changes
        };
        let body = serde_json::to_vec(&Borrowed { changes: sent })
            .map_err(|e| ClientError::BadAnswer(e.to_string()))?;
        let response = self
            .authed(self.http.post(format!("{}/v1/changes", self.base)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()?;
        let answer: PushResponse = json(response)?;
        if answer.results.len() != changes.len() {
            return Err(ClientError::BadAnswer(format!(
                "{} answers for {} changes",
                answer.results.len(),
                changes.len()
            )));
        }
        Ok(answer)
    }

    /// `GET /v1/changes`: the page after `after` (None: from the start).
    pub fn pull(&self, after: Option<&str>, limit: usize) -> Result<PullResponse, ClientError> {
        let mut url = format!("{}/v1/changes?limit={limit}", self.base);
        if let Some(cursor) = after {
            // Cursors are base64url with a `c1.` prefix: nothing in them needs escaping.
            if !cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(ClientError::BadAnswer(
                    "a cursor holds only A–Z a–z 0–9 . _ -".into(),
                ));
            }
            url.push_str("&after=");
            url.push_str(cursor);
        }
        json(self.authed(self.http.get(url)).send()?)
    }

    /// `POST /v1/wallet-blocks`.
    pub fn wallet_blocks(
        &self,
        request: &WalletBlockRequest,
    ) -> Result<WalletBlockResponse, ClientError> {
        json(
            self.authed(self.http.post(format!("{}/v1/wallet-blocks", self.base)))
                .json(request)
                .send()?,
        )
    }
}

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Reads a success as `T`, or the error body as the right `ClientError`.
fn json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let status = response.status();
    if status.is_success() {
        let bytes = response.bytes()?;
        return serde_json::from_slice(&bytes).map_err(|e| ClientError::BadAnswer(e.to_string()));
    }
    let wait = retry_after(&response);
    let bytes = response.bytes().unwrap_or_default();
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    let code = body.as_ref().map(|b| b.code.clone()).unwrap_or_default();
    let message = body
        .as_ref()
        .map(|b| b.message.clone())
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let supported = body
        .as_ref()
        .and_then(|b| b.supported)
        .unwrap_or(VersionRange { min: 0, max: 0 });
    Err(match (status, code.as_str()) {
        (StatusCode::UNAUTHORIZED, _) => ClientError::Unauthorized,
        (StatusCode::UPGRADE_REQUIRED, "desk_too_old") => ClientError::DeskTooOld { supported },
        (StatusCode::UPGRADE_REQUIRED, "portal_too_old") => ClientError::PortalTooOld { supported },
        (StatusCode::GONE, _) => ClientError::ResyncRequired {
            reason: body
                .and_then(|b| b.reason)
                .unwrap_or_else(|| "resync_required".into()),
        },
        (StatusCode::TOO_MANY_REQUESTS, _) => ClientError::RateLimited { retry_after: wait },
        (s, _) if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
            ClientError::Unavailable {
                status: s.as_u16(),
                message,
                retry_after: wait,
            }
        }
        (s, _) => ClientError::Refused {
            status: s.as_u16(),
            code,
            message,
        },
    })
}
