//! `license-portal`: serve the sync portal, and manage its device tokens.

use anyhow::Context;
use clap::{Parser, Subcommand};
use portal::server::{self, Limits};
use portal::store::{DbUrl, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "license-portal",
    version,
    about = "The License Desk sync portal"
)]
struct Cli {
    /// The database: an SQLite file (created if missing) or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "LICENSE_PORTAL_DB",
        default_value = "license-portal.db"
    )]
    db: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal until stopped (Ctrl+C or SIGTERM).
    Serve(ServeArgs),
    /// Device tokens: one per desk.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Apply the retention rules now (serve also does it every --compact-every-minutes).
    Compact {
        #[arg(long, default_value_t = 30)]
        retain_days: u32,
    },
    /// Create or upgrade the database's tables, then exit (serve does this too).
    Migrate,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token and print it once: only its hash is kept.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id or name: refused from its next request on.
    Revoke { id_or_name: String },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Behind a reverse proxy: rate-limit by the client IP the proxy appends to
    /// X-Forwarded-For (only with a proxy that sets it, or clients choose their own).
    #[arg(long)]
    behind_proxy: bool,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = Limits::default().max_request_bytes)]
    max_request_bytes: usize,
    /// Most changes in one push (1 to 10,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    max_batch: u16,
    /// Largest body of one change in bytes.
    #[arg(long, default_value_t = Limits::default().max_change_body_bytes)]
    max_change_body_bytes: usize,
    /// Largest pull page.
    #[arg(long, default_value_t = Limits::default().max_page)]
    max_page: usize,
    /// Requests per second per client IP (0: no limit).
    #[arg(long, default_value_t = Limits::default().rate_per_second)]
    rate_per_second: u32,
    /// Requests a client may burst above the rate.
    #[arg(long, default_value_t = Limits::default().rate_burst)]
    rate_burst: u32,
    /// Seconds a request may take.
    #[arg(long, default_value_t = 30)]
    request_timeout_secs: u64,
    /// Keep every change this many days before compacting.
    #[arg(long, default_value_t = 30)]
    retain_days: u32,
    /// Compact every this many minutes (0: never in this process).
    #[arg(long, default_value_t = 60)]
    compact_every_minutes: u64,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LICENSE_PORTAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("license-portal: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let db = DbUrl::parse(&cli.db);
    runtime.block_on(async move {
        let store = Store::open(&db)
            .await
            .with_context(|| format!("opening the database {}", describe(&db)))?;
        match cli.command {
            Command::Serve(args) => serve(store, &db, args).await,
            Command::Token(TokenCommand::Create { name }) => {
                let token = portal::token::generate()?;
                let info = store
                    .create_token(&name, portal::token::hash(&token), portal::clock::now_ms())
                    .await?;
                println!("{token}");
                eprintln!(
                    "token '{}' ({}) made: give it to the desk now, it is not shown again",
                    info.name, info.id
                );
                Ok(())
            }
            Command::Token(TokenCommand::List) => {
                let tokens = store.list_tokens().await?;
                if tokens.is_empty() {
                    println!("no tokens yet: license-portal token create --name NAME");
                }
                for t in tokens {
                    let state = match t.revoked_at {
                        Some(at) => format!("revoked {}", rfc3339(at)),
                        None => "active".into(),
                    };
                    println!(
                        "{}  {:<30}  created {}  {state}",
                        t.id,
                        t.name,
                        rfc3339(t.created_at)
                    );
                }
                Ok(())
            }
            Command::Token(TokenCommand::Revoke { id_or_name }) => {
                match store
                    .revoke_token(&id_or_name, portal::clock::now_ms())
                    .await?
                {
                    Some(t) => {
                        println!("revoked token '{}' ({})", t.name, t.id);
                        Ok(())
                    }
                    None => anyhow::bail!(
                        "no token with id or name '{id_or_name}' (license-portal token list)"
                    ),
                }
            }
            Command::Compact { retain_days } => {
                let retain_ms = i64::from(retain_days) * 24 * 3600 * 1000;
                let report = store.compact(portal::clock::now_ms(), retain_ms).await?;
                println!("removed {} superseded changes", report.removed);
                Ok(())
            }
            Command::Migrate => {
                println!(
                    "database {} is ready (feed {})",
                    describe(&db),
                    store.feed_id()
                );
                Ok(())
            }
        }
    })
}

async fn serve(store: Store, db: &DbUrl, args: ServeArgs) -> anyhow::Result<()> {
    let limits = Limits {
        max_request_bytes: args.max_request_bytes,
        max_batch: usize::from(args.max_batch),
        max_change_body_bytes: args.max_change_body_bytes,
        max_page: args.max_page,
        default_page: Limits::default().default_page.min(args.max_page),
        rate_per_second: args.rate_per_second,
        rate_burst: args.rate_burst,
        trust_forwarded_for: args.behind_proxy,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        retain_days: args.retain_days,
        compact_every: (args.compact_every_minutes > 0)
            .then(|| Duration::from_secs(args.compact_every_minutes * 60)),
        ..Limits::default()
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::listen::tls_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on {addr}: tokens cross the network in clear; use --tls-cert/--tls-key or a TLS reverse proxy"
        );
    }
    server::spawn_compaction(store.clone(), &limits);
    let max_connections = limits.max_connections;
    let app = server::app(store, limits);
    // Tests and scripts read this line to learn the port.
    println!(
        "license-portal {} listening on {scheme}://{addr} ({})",
        env!("CARGO_PKG_VERSION"),
        describe(db)
    );
    server::listen::serve(listener, app, tls, max_connections, shutdown_signal()).await?;
    eprintln!("license-portal stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The database for messages, without a password.
fn describe(db: &DbUrl) -> String {
    match db {
        DbUrl::Sqlite(path) => format!("sqlite {}", path.display()),
        DbUrl::Postgres(url) => match url.split_once('@') {
            Some((_, host)) => format!("postgres …@{host}"),
            None => "postgres".into(),
        },
    }
}

fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
