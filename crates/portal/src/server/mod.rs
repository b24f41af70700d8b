//! The portal's HTTP side: the axum application with its limits (body size, batch size,
//! per-IP request rate, timeouts), and the listener that serves it over plain TCP or TLS.

pub mod error;
pub mod handlers;
pub mod limits;
pub mod listen;

use crate::store::Store;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use error::ApiError;
pub use limits::Limits;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub limits: Arc<Limits>,
}

/// The application: routes, authentication, protocol check and limits.
pub fn app(store: Store, limits: Limits) -> Router {
    let limits = Arc::new(limits);
    let state = AppState {
        store,
        limits: limits.clone(),
    };
    let protected = Router::new()
        .route("/v1/changes", post(handlers::push).get(handlers::pull))
        .route("/v1/wallet-blocks", post(handlers::wallet_blocks))
        .route_layer(axum::middleware::from_fn(handlers::require_protocol))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handlers::require_token,
        ));
    let router = Router::new()
        .route("/v1/health", get(handlers::health))
        .route("/v1/version", get(handlers::version))
        .route("/v1/openapi.json", get(handlers::openapi))
        .merge(protected)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.max_request_bytes))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.request_timeout,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "timeout",
                        "the request took too long; try again",
                    )
                }))
                .timeout(limits.request_timeout),
        )
        .layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                let (name, value) = error::supported_header();
                response.headers_mut().insert(name, value);
                response
            },
        ));
    if limits.rate_per_second == 0 {
        return router;
    }
    let per_request = std::time::Duration::from_secs(1) / limits.rate_per_second;
    let config = GovernorConfigBuilder::default()
        .period(per_request)
        .burst_size(limits.rate_burst.max(1))
        .key_extractor(ClientIp {
            trust_forwarded_for: limits.trust_forwarded_for,
        })
        .finish();
    match config {
        Some(config) => {
            let limiter = config.limiter().clone();
            // Forget idle clients now and then, so the table of IPs stays small.
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    every.tick().await;
                    limiter.retain_recent();
                }
            });
            router.layer(GovernorLayer::new(config).error_handler(rate_limited))
        }
        None => router,
    }
}

fn rate_limited(error: GovernorError) -> axum::response::Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; wait {wait_time} s"),
            );
            e.retry_after_seconds = Some(wait_time.max(1));
            e.into_response()
        }
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            other.to_string(),
        )
        .into_response(),
    }
}

/// The client's IP: the peer's, or behind a trusted reverse proxy the last
/// `X-Forwarded-For` hop (the one the proxy itself appended).
#[derive(Debug, Clone, Copy)]
struct ClientIp {
    trust_forwarded_for: bool,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        if self.trust_forwarded_for
            && let Some(ip) = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(ip);
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// Runs compaction every `limits.compact_every`, logging what it removed.
pub fn spawn_compaction(store: Store, limits: &Limits) {
    let Some(every) = limits.compact_every else {
        return;
    };
    let retain_ms = limits.retain_ms();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            match store.compact(crate::clock::now_ms(), retain_ms).await {
                Ok(report) if report.removed > 0 => {
                    tracing::info!("compaction removed {} superseded changes", report.removed)
                }
                Ok(_) => {}
                Err(e) => tracing::error!("compaction: {e}"),
            }
        }
    });
}

/// A portal running on its own thread and runtime, for tests and benchmarks: it stops when
/// dropped.
pub struct BackgroundPortal {
    pub addr: SocketAddr,
    https: bool,
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundPortal {
    /// Opens the database and serves it on 127.0.0.1 at a free port.
    pub fn start(db: &crate::store::DbUrl, limits: Limits) -> anyhow::Result<BackgroundPortal> {
        Self::start_with(db, limits, None)
    }

    /// The same over TLS with `tls` (a certificate for `localhost`, see [`Self::url`]).
    pub fn start_with(
        db: &crate::store::DbUrl,
        limits: Limits,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<BackgroundPortal> {
        let https = tls.is_some();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (store, listener) = runtime.block_on(async {
            let store = Store::open(db).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            anyhow::Ok((store, listener))
        })?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = store.clone();
        let thread = std::thread::Builder::new()
            .name(format!("portal-{addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let connection_limit = limits.max_connections;
                    let router = app(served, limits);
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    if let Err(e) =
                        listen::serve(listener, router, tls, connection_limit, shutdown).await
                    {
                        tracing::error!("portal stopped: {e}");
                    }
                });
            })?;
        Ok(BackgroundPortal {
            addr,
            https,
            store,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, or over TLS `https://localhost:PORT`.
    pub fn url(&self) -> String {
        if self.https {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Makes a device token named `name`, as `license-portal token create` does, and returns
    /// it (the portal keeps only its hash).
    pub fn create_token(&self, name: &str) -> anyhow::Result<String> {
        let token = crate::token::generate()?;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(self.store.create_token(
                name,
                crate::token::hash(&token),
                crate::clock::now_ms(),
            ))?;
        Ok(token)
    }
}

impl Drop for BackgroundPortal {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
