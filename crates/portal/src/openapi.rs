//! The OpenAPI document served at `/v1/openapi.json`, generated from the handlers' and the
//! protocol types' annotations, so it cannot drift from the code.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "License Desk sync portal", description = "Push and pull desk changes. See docs/sync-protocol.md."),
    paths(
        crate::server::handlers::health,
        crate::server::handlers::version,
        crate::server::handlers::openapi,
        crate::server::handlers::push,
        crate::server::handlers::pull,
        crate::server::handlers::wallet_blocks,
    ),
    components(schemas(
        crate::protocol::Envelope,
        crate::protocol::Base,
        crate::protocol::PushRequest,
        crate::protocol::PushResponse,
        crate::protocol::ChangeResult,
        crate::protocol::PushStatus,
        crate::protocol::RejectCode,
        crate::protocol::Op,
        crate::protocol::PullResponse,
        crate::protocol::VersionInfo,
        crate::protocol::VersionRange,
        crate::protocol::PublishedLimits,
        crate::protocol::Health,
        crate::protocol::ErrorBody,
        crate::protocol::WalletBlockRequest,
        crate::protocol::WalletBlock,
        crate::protocol::WalletBlockResponse,
    )),
    modifiers(&DeviceToken),
    tags((name = "sync", description = "Pushing and pulling changes"), (name = "meta", description = "Health, version, this document"))
)]
pub struct PortalApi;

struct DeviceToken;

impl Modify for DeviceToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "device_token",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The document as JSON text (built once).
pub fn document_json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc = PortalApi::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc.to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}
