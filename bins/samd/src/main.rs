//! `samd`: the sam server. `samd --dev` makes (or reuses) a development setup in a directory and
//! serves it on `https://127.0.0.1:8443`; `samd --config FILE` serves a configuration
//! (docs/configuration.md). All the logic is in the library crates; this is transport,
//! configuration and start-up.
#![forbid(unsafe_code)]

mod api;
mod config;
mod csc;
mod dev;
mod memory;
mod metrics;
mod server;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

/// The log line format.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The sam server: a Signature Activation Module and remote signing service.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\n  \
        samd --dev                              development setup in ./sam-data, https://127.0.0.1:8443\n  \
        samd --dev --data-dir /tmp/sam --listen 127.0.0.1:9443\n  \
        samd --config /etc/sam/samd.toml --init    first-time setup: make the database, then exit\n  \
        samd --config /etc/sam/samd.toml --log-format json\n\n\
        Every configuration key is described in docs/configuration.md."
)]
struct Cli {
    /// Make (on first start) or reuse a development setup: a SQLite database, a software
    /// master key, a development CA and TLS certificate, and an admin credential shown once.
    /// Not for production.
    #[arg(long, conflicts_with = "config")]
    dev: bool,
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// First-time setup of --config: make the database (SQLite file, or sam's schema in an
    /// existing empty PostgreSQL database), record each crypto source's key check value, and
    /// exit. samd never makes a database otherwise: a missing one stops it with the reason.
    /// Harmless on a database that is set up already.
    #[arg(long, requires = "config")]
    init: bool,
    /// With --dev: where the development setup lives.
    #[arg(long, value_name = "DIR", default_value = "sam-data", requires = "dev")]
    data_dir: PathBuf,
    /// Listen on this address instead of the configured one (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The format of log lines on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAMD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Says something to the person at the terminal (stdout): where the server is, the
/// development notice and credential.
#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}

#[allow(clippy::print_stderr)]
fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("samd: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    memory::give_back_unused_memory();

    let mut create = cli.init;
    let config_path = if cli.dev {
        match dev::prepare(&cli.data_dir) {
            Ok(setup) => {
                say(
                    "samd: DEVELOPMENT SETUP — not for production (keys and the CA key are plain files).",
                );
                say(&format!("samd: data directory {}", cli.data_dir.display()));
                if let Some(secret) = &setup.admin_credential {
                    say(&format!(
                        "samd: admin credential (shown once, stored only as a hash): {}",
                        secret.as_str()
                    ));
                    say(&format!("samd: export SAM_ADMIN_TOKEN={}", secret.as_str()));
                }
                say(&format!(
                    "samd: clients trust {}",
                    cli.data_dir.join("dev-ca/ca.pem").display()
                ));
                create = setup.fresh;
                setup.config
            }
            Err(e) => return fail(format_args!("cannot make the development setup: {e}")),
        }
    } else if let Some(path) = cli.config {
        path
    } else {
        return fail("give --config FILE, or --dev for a development setup (see --help)");
    };

    let mut config = match config::Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some(listen) = cli.listen {
        config.listen = listen;
    }
    let tls = match server::tls_config(&config) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let metrics = std::sync::Arc::new(metrics::Metrics::new());
    let service = match server::build_service(&config, metrics.clone(), create).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if cli.init {
        say(&format!(
            "samd: the database {} is set up; start samd without --init to serve it",
            sam_store::redact_url(&config.database_url())
        ));
        service.store().close().await;
        return ExitCode::SUCCESS;
    }
    let listener = match server::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let address = listener.local_addr().map_or(config.listen, |a| a);
    let admin_credential_hash = match server::admin_credential_hash(&config) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let service = std::sync::Arc::new(service);
    server::reload_profiles_every(service.clone(), config.profiles.reload_secs);
    server::recover_interrupted_signings(service.clone(), config.signing.signing_lease_secs);
    server::refill_key_pools(service.clone(), &config);
    let router = server::router(
        state::AppState::new(service, metrics, admin_credential_hash, &config),
        &config,
    );
    say(&format!("samd: listening on https://{address}"));
    tracing::info!(%address, "serving");
    server::serve(
        listener,
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls)),
        router,
        config.limits.max_connections,
        shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
