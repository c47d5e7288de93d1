//! The HTTPS server: the service built from the configuration, a rustls accept loop of our
//! own (a handshake timeout; each connection's client certificate is taken once and handed to
//! the handlers as a request extension, STACK.md), axum routes, and a graceful shutdown that
//! lets in-flight requests finish (30 s at most).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use hmac::{KeyInit, Mac};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use sam_profile::CryptoSourceDescriptor;
use sam_service::{
    CodeKey, FileMailbox, ProfileRules, Router as NotifyRouter, Service, ServiceSadKey,
    ServiceSettings, Signing, Webhook,
};
use sam_store::Store;
use sam_token::{ActivationIssuer, MasterKey, SoftwareToken, SystemClock};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::state::AppState;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerError {
    /// A file named by the configuration is unusable.
    #[error("{what} {path}: {message}")]
    File {
        /// What the file is.
        what: &'static str,
        /// Where.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The database cannot be opened.
    #[error("database: {0}")]
    Store(#[from] sam_store::StoreError),
    /// The service cannot be built.
    #[error("service: {0}")]
    Service(#[from] sam_service::ServiceError),
    /// TLS cannot be set up.
    #[error("TLS: {0}")]
    Tls(String),
    /// Something else the service needs cannot be set up.
    #[error("{0}")]
    Setup(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

fn file_error(what: &'static str, path: &std::path::Path, message: impl ToString) -> ServerError {
    ServerError::File {
        what,
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads the master key file (hex).
fn master_key(config: &Config) -> Result<MasterKey, ServerError> {
    let path = config.resolve(&config.software_source.master_key_file);
    let text = Zeroizing::new(
        std::fs::read_to_string(&path).map_err(|e| file_error("master key", &path, e))?,
    );
    MasterKey::from_hex(text.trim()).map_err(|e| file_error("master key", &path, e))
}

/// 32 bytes derived from the master key for one purpose, so that every node of a deployment
/// derives the same: HMAC-SHA-256(master key, `label`).
fn derived_key(master: &MasterKey, label: &[u8]) -> Result<Zeroizing<[u8; 32]>, ServerError> {
    let hex = master.to_hex();
    let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(
        (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect(),
    );
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&bytes)
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    mac.update(label);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&mac.finalize().into_bytes());
    Ok(key)
}

/// The key one-time codes (and access tokens) are hashed under: HMAC-SHA-256(master key,
/// "sam one-time code key v1").
fn code_key(master: &MasterKey) -> Result<CodeKey, ServerError> {
    Ok(CodeKey::new(*derived_key(
        master,
        b"sam one-time code key v1",
    )?))
}

/// The seed of the instance's own SAD key (SCAL1 by PIN or OTP through the CSC API):
/// HMAC-SHA-256(master key, "sam service SAD key v1").
fn service_sad_key(master: &MasterKey) -> Result<ServiceSadKey, ServerError> {
    let seed = derived_key(master, b"sam service SAD key v1")?;
    ServiceSadKey::from_seed(&seed).map_err(|e| ServerError::Setup(e.to_string()))
}

/// Builds the SAM service the configuration describes. Only first-time setup (`create`:
/// `samd --init`, or `samd --dev` making a new setup) may make the database; otherwise a
/// missing one stops samd. Every crypto source's key is checked against the database
/// (`Service::check_key_domains`) before anything is served.
pub(crate) async fn build_service(
    config: &Config,
    metrics: Arc<crate::metrics::Metrics>,
    create: bool,
) -> Result<Service, ServerError> {
    let options = sam_store::OpenOptions {
        max_connections: config.database.max_connections,
        create,
        connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
        ..sam_store::OpenOptions::existing(config.database.max_connections)
    };
    let store = Store::open_with(&config.database_url(), &options).await?;
    let master = master_key(config)?;
    let (secret_check_workers, secret_check_queue) = config.limits.secret_check();
    let settings = ServiceSettings {
        code_key: Some(code_key(&master)?),
        service_sad_key: Some(service_sad_key(&master)?),
        // A hold outlives the signing lease, so a Sign in time confirms its count with its
        // record, and one given up is counted back after it.
        plan_hold_secs: config.signing.signing_lease_secs * 2,
        secret_check_workers,
        secret_check_queue,
        auth_free_failures: config.limits.auth_free_failures,
        auth_max_backoff_secs: config.limits.auth_max_backoff_secs,
        max_hashes_per_request: config.limits.max_hashes_per_request,
        access_token_secs: config.csc.access_token_secs,
        refresh_token_secs: config.csc.refresh_token_secs,
        oauth2_issuer: config.csc.oauth2_issuer.clone(),
        ..ServiceSettings::default()
    };
    let issuer = ActivationIssuer::take()
        .ok_or_else(|| ServerError::Setup("the activation issuer was taken already".into()))?;
    let mut service = Service::from_store(store, Arc::new(SystemClock), settings)
        .await?
        .with_token(Arc::new(SoftwareToken::with_key_cache(
            &config.software_source.name,
            master,
            config.software_source.key_cache(),
        )))
        .with_signing(Signing {
            issuer: Arc::new(issuer),
            instance: sam_sad::InstanceId::new(&config.instance_id)
                .map_err(|e| ServerError::Setup(e.to_string()))?,
            sad_format: config.signing.sad_format,
            default_request_expiry_secs: config.signing.request_expiry_secs,
            time_stamp_authority: config.signing.tsa_url.as_ref().map(|url| {
                Arc::new(sam_cms::TimeStampClient::new(
                    url.clone(),
                    sam_cms::http::HttpTransport::new(Duration::from_secs(10)),
                )) as Arc<dyn sam_cms::TimeStampAuthority>
            }),
            revocation: None,
        })
        .with_profile_rules(ProfileRules {
            crypto_sources: descriptors(config)?,
            sad_format: config.signing.sad_format,
            eseals_enabled: config.signing.eseals_enabled,
        });
    for source in &config.pkcs11_sources {
        let token = open_pkcs11(config, source)?;
        service = service.with_token(Arc::new(token));
    }
    service = service.with_observer(metrics);
    let (workers, queue) = service.secret_check_size();
    if workers == 0 {
        return Err(ServerError::Setup(
            "no Argon2id worker thread could be started (the system refused new threads): \
             no credential could be checked"
                .into(),
        ));
    }
    tracing::info!(
        workers,
        queue,
        "credential checks: Argon2id workers and queue"
    );
    service.check_key_domains().await?;
    if let Some(mailbox) = &config.notifier.mailbox {
        service = service.with_notifier(Arc::new(FileMailbox::new(config.resolve(mailbox))));
    } else if config.notifier.email_webhook.is_some() || config.notifier.sms_webhook.is_some() {
        let token = match &config.notifier.webhook_token_env {
            Some(name) => Some(std::env::var(name).map_err(|_| {
                ServerError::Setup(format!(
                    "notifier.webhook_token_env: the environment variable {name} is not set"
                ))
            })?),
            None => None,
        };
        let webhook = |url: &String| -> Result<Webhook, ServerError> {
            let hook = Webhook::new(url.clone(), Duration::from_secs(10))
                .map_err(|e| ServerError::Setup(format!("notifier: {e}")))?;
            Ok(match &token {
                Some(t) => hook.with_bearer_token(t.clone()),
                None => hook,
            })
        };
        let mut router = NotifyRouter::new();
        if let Some(url) = &config.notifier.email_webhook {
            router = router.email(webhook(url)?);
        }
        if let Some(url) = &config.notifier.sms_webhook {
            router = router.sms(webhook(url)?);
        }
        service = service.with_notifier(Arc::new(router));
    }
    Ok(service)
}

/// The crypto sources as profile validation sees them.
fn descriptors(config: &Config) -> Result<Vec<CryptoSourceDescriptor>, ServerError> {
    let name = |text: &str, key: &str| {
        text.parse()
            .map_err(|e| ServerError::Setup(format!("{key} {text:?}: {e}")))
    };
    let mut all = vec![CryptoSourceDescriptor::software(name(
        &config.software_source.name,
        "software_source.name",
    )?)];
    for source in &config.pkcs11_sources {
        let mut d = CryptoSourceDescriptor::software(name(&source.name, "pkcs11_sources.name")?);
        d.kind = sam_profile::CryptoSourceKind::Hsm;
        d.model.clone_from(&source.model);
        d.common_criteria = source.common_criteria;
        d.slot_id = source.slot_id;
        d.has_signature_slot = source.signature_slot_label.is_some();
        all.push(d);
    }
    Ok(all)
}

/// Opens a PKCS#11 source: loads the module, finds the slots, logs in.
fn open_pkcs11(
    config: &Config,
    source: &crate::config::Pkcs11SourceConfig,
) -> Result<sam_token::Pkcs11Token, ServerError> {
    use sam_token::pkcs11::{KeyStorage, PinPolicy, PinSource, SignatureSlotConfig, SlotSelector};
    let pin = |env: &Option<String>, file: &Option<std::path::PathBuf>| match (env, file) {
        (Some(name), _) => PinSource::Env(name.clone()),
        (None, Some(path)) => PinSource::File(config.resolve(path)),
        (None, None) => PinSource::Env(String::new()),
    };
    let slot = match (&source.slot_label, source.slot_id) {
        (Some(label), _) => SlotSelector::Label(label.clone()),
        (None, Some(id)) => SlotSelector::Id(id),
        (None, None) => SlotSelector::Index(0),
    };
    let pkcs11 = sam_token::Pkcs11Config {
        name: source.name.clone(),
        module: config.resolve(&source.module),
        slot,
        pin: pin(&source.pin_env, &source.pin_file),
        signature_slot: source
            .signature_slot_label
            .as_ref()
            .map(|label| SignatureSlotConfig {
                slot: SlotSelector::Label(label.clone()),
                sign_pin: pin(&source.sign_pin_env, &source.sign_pin_file),
            }),
        pin_policy: source
            .pin_policy
            .as_deref()
            .map(PinPolicy::new)
            .transpose()
            .map_err(|e| ServerError::Setup(format!("pkcs11_sources.pin_policy: {e}")))?,
        storage: match &source.wrapping_key {
            Some(label) => KeyStorage::Wrapped {
                wrapping_key: label.clone(),
            },
            None => KeyStorage::Resident,
        },
    };
    sam_token::Pkcs11Token::open(pkcs11)
        .map_err(|e| ServerError::Setup(format!("crypto source {}: {e}", source.name)))
}

/// The rustls server configuration: the server's chain and key, and the client CAs.
pub(crate) fn tls_config(config: &Config) -> Result<rustls::ServerConfig, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert_path = config.resolve(&config.tls.certificate);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| file_error("TLS certificate", &cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error("TLS certificate", &cert_path, e))?;
    if chain.is_empty() {
        return Err(file_error(
            "TLS certificate",
            &cert_path,
            "no certificate in it",
        ));
    }
    let key_path = config.resolve(&config.tls.key);
    let key =
        PrivateKeyDer::from_pem_file(&key_path).map_err(|e| file_error("TLS key", &key_path, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    let builder = match &config.tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let ca_path = config.resolve(ca);
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca_path)
                .map_err(|e| file_error("client CA", &ca_path, e))?
            {
                roots
                    .add(cert.map_err(|e| file_error("client CA", &ca_path, e))?)
                    .map_err(|e| file_error("client CA", &ca_path, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if config.tls.require_client_certificate {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| ServerError::Tls(e.to_string()))?,
            )
        }
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
    // HTTP/2 and HTTP/1.1 (RFC 7301), HTTP/2 preferred. An answer given before the request's
    // body was read reaches both whole: see `answer_before_body`.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(server)
}

/// The routes.
pub(crate) fn router(state: AppState, config: &Config) -> Router {
    let timeout = Duration::from_secs(config.limits.request_timeout_secs);
    let max_body = config.limits.max_body_bytes;
    let (api, openapi) = crate::api::routes().split_for_parts();
    let openapi = Arc::new(openapi.to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document cannot be written");
        "{}".to_owned()
    }));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route(
            "/openapi.json",
            get(move || {
                let document = openapi.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document.as_ref().clone(),
                    )
                }
            }),
        )
        .merge(api)
        .merge(crate::csc::routes(
            state.csc_offer.time_stamps,
            state.csc.oauth2_issuer.is_some(),
        ))
        .layer(DefaultBodyLimit::max(config.limits.max_body_bytes))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                within(timeout, request, next).await
            },
        ))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let csc = crate::csc::is_csc_path(request.uri().path());
                let version = request.version();
                if let Some(refusal) = crate::api::edge_refusal(&request, max_body) {
                    let answer = refusal_in_form(csc, refusal);
                    return answer_before_body(version, answer, request.into_body(), max_body)
                        .await;
                }
                // The body is read here, within the request timeout, so that one over the
                // limit found only by reading (chunked, or HTTP/2 without content-length) is
                // refused like a declared one; what is passed on is the whole body, as the
                // handlers would have read it.
                let (parts, mut body) = request.into_parts();
                let refusal =
                    match tokio::time::timeout(timeout, read_bounded(&mut body, max_body)).await {
                        Ok(Ok(bytes)) => {
                            let request = axum::extract::Request::from_parts(
                                parts,
                                axum::body::Body::from(bytes),
                            );
                            return next.run(request).await;
                        }
                        Ok(Err(refusal)) => refusal,
                        Err(_) => sam_service::ServiceError::new(
                            sam_service::ErrorCode::RequestTimeout,
                            format!(
                                "the request body took longer than {} s to arrive",
                                timeout.as_secs()
                            ),
                        ),
                    };
                answer_before_body(version, refusal_in_form(csc, refusal), body, max_body).await
            },
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::observe,
        ))
        .with_state(state)
}

/// How much of a body over the limit is read and thrown away before the refusal, as a
/// multiple of the limit, and for how long (in all, and without any data arriving): a
/// connection closed with unread data is reset (RFC 9112 §9.6), and the client would lose the
/// answer. A client that declares more than it sends waits the idle second, not the request
/// timeout; nothing of it is kept, so memory stays bounded by the limit.
const DRAIN_FACTOR: usize = 4;
const DRAIN_SECS: u64 = 5;
const DRAIN_IDLE_SECS: u64 = 1;

/// Reads and discards what the client still sends of a refused body, within the bounds above.
async fn drain(mut body: axum::body::Body, max_body: usize) {
    use http_body_util::BodyExt as _;
    let cap = max_body.saturating_mul(DRAIN_FACTOR);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(DRAIN_SECS);
    let mut seen = 0usize;
    while seen <= cap && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(DRAIN_IDLE_SECS), body.frame()).await {
            Ok(Some(Ok(frame))) => {
                seen = seen.saturating_add(frame.data_ref().map_or(0, bytes::Bytes::len));
            }
            _ => return,
        }
    }
}

/// The whole body if it has at most `max_body` bytes; otherwise `413 payload_too_large`,
/// with the rest of the body left unread in `body`. A body that cannot be read (the client
/// went away) is `400`.
async fn read_bounded(
    body: &mut axum::body::Body,
    max_body: usize,
) -> Result<bytes::Bytes, sam_service::ServiceError> {
    use http_body_util::BodyExt as _;
    let mut whole = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            sam_service::ServiceError::new(
                sam_service::ErrorCode::InvalidRequest,
                format!("the request body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if whole.len().saturating_add(data.len()) > max_body {
            return Err(sam_service::ServiceError::new(
                sam_service::ErrorCode::PayloadTooLarge,
                format!("the request body is over the limit of {max_body} bytes"),
            ));
        }
        whole.extend_from_slice(&data);
    }
    Ok(whole.freeze())
}

/// Gives `answer` to a request whose `body` was not read to its end, so that the client
/// receives the answer whole rather than a reset.
///
/// - HTTP/1.1: what the client still sends is drained first (within the bounds of
///   [`DRAIN_FACTOR`]), since a connection closed with unread data is reset (RFC 9112
///   §9.6) and the client would lose the answer.
/// - HTTP/2: the answer goes at once, and the unread body is drained, within the same
///   bounds, from when the answer's last frame has been handed to the connection. A client
///   that sends the rest ends its stream normally; one still sending when the bounds are
///   reached gets `RST_STREAM(NO_ERROR)` (RFC 9113 §8.1: "stop sending, the answer is
///   complete") well after its answer. Letting the body go as soon as the answer is queued
///   would reset the stream while the answer's DATA may still wait in h2's queue, and the
///   client would see a reset instead of the answer.
async fn answer_before_body(
    version: axum::http::Version,
    answer: axum::response::Response,
    body: axum::body::Body,
    max_body: usize,
) -> axum::response::Response {
    if version == axum::http::Version::HTTP_2 {
        answer.map(|answer| {
            axum::body::Body::new(AnswerThenDrain {
                answer,
                unread: Some(body),
                max_body,
            })
        })
    } else {
        drain(body, max_body).await;
        answer
    }
}

/// An answer's body that holds the request's unread body until the answer's body is dropped
/// (by hyper, after its last frame is sent), then drains it; see [`answer_before_body`].
struct AnswerThenDrain {
    answer: axum::body::Body,
    unread: Option<axum::body::Body>,
    max_body: usize,
}

impl Drop for AnswerThenDrain {
    fn drop(&mut self) {
        if let (Some(unread), Ok(runtime)) =
            (self.unread.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(drain(unread, self.max_body));
        }
    }
}

impl http_body::Body for AnswerThenDrain {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().answer).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.answer.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.answer.size_hint()
    }
}

/// Answers `503 request_timeout` when a request takes longer than `limit`. The request's work
/// stops where it is, as if the node had stopped: store transactions roll back whole, and a
/// SAD spent just before the stop stays spent (the user authorises again), never used twice.
async fn within(
    limit: Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let csc = crate::csc::is_csc_path(request.uri().path());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            refusal_in_form(
                csc,
                sam_service::ServiceError::new(
                    sam_service::ErrorCode::RequestTimeout,
                    format!("the request took longer than {} s", limit.as_secs()),
                ),
            )
        }
    }
}

/// A refusal made around the routes, in the form of the API the request was for: CSC's
/// `{error, error_description}` under `/csc/`, the native one elsewhere.
fn refusal_in_form(csc: bool, refusal: sam_service::ServiceError) -> axum::response::Response {
    use axum::response::IntoResponse;
    if csc {
        crate::csc::CscError::from(refusal).into_response()
    } else {
        crate::api::ApiError::from(refusal).into_response()
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether the last readiness probe found the store writable (to log each change once).
static STORE_WRITABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Ready when the database takes a durable write now (`Store::probe_write`): a full disk, a
/// read-only or replaced database file, or a lost PostgreSQL make samd unready with the cause
/// (SECURITY.md invariant 8), logged once at ERROR when it starts and at INFO when it ends.
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    use std::sync::atomic::Ordering;
    match state.service.store().probe_write().await {
        Ok(()) => {
            if !STORE_WRITABLE.swap(true, Ordering::Relaxed) {
                tracing::info!("the database takes writes again: ready");
            }
            (StatusCode::OK, "ready\n".to_owned())
        }
        Err(e) => {
            if STORE_WRITABLE.swap(false, Ordering::Relaxed) {
                tracing::error!(error = %e, "the database cannot take writes: not ready");
            }
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n"))
        }
    }
}

/// The accept loop's pause after a failed accept, logged once per episode.
#[derive(Default)]
struct AcceptBackoff {
    /// Failures in a row.
    failures: u32,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const LONGEST: Duration = Duration::from_secs(1);

    /// Records a failed accept and returns how long to wait before the next.
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        if self.failures == 0 {
            tracing::error!(
                error = %error,
                "cannot accept connections (out of file descriptors? see `ulimit -n` and \
                 [limits] max_connections); retrying with a pause until it works again"
            );
        }
        self.failures = self.failures.saturating_add(1);
        Self::FIRST
            .saturating_mul(1 << (self.failures - 1).min(7))
            .min(Self::LONGEST)
    }

    /// Records an accepted connection (and logs the end of an episode of failures).
    fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                failed_accepts = self.failures,
                "accepting connections again"
            );
            self.failures = 0;
        }
    }
}

/// How many requests one HTTP/2 connection may have in flight at once (RFC 9113 §5.1.2).
pub(crate) const HTTP2_STREAMS: u32 = 64;

/// How long a connection may stay open without a request: for HTTP/1.1 the time allowed for
/// the next request's headers, for HTTP/2 the time without a request in flight.
pub(crate) const IDLE_CONNECTION: Duration = Duration::from_secs(10);

/// How long an idle HTTP/2 connection, sent GOAWAY, has to acknowledge it before it is dropped.
pub(crate) const IDLE_GOAWAY_GRACE: Duration = Duration::from_secs(5);

/// Sleeps until `at`, or forever when there is none.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The requests in flight on one connection, and when the last one ended.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last_ended: std::sync::Mutex<tokio::time::Instant>,
}

/// One request in flight on a connection ([`Activity::busy`]).
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self
            .0
            .last_ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tokio::time::Instant::now();
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last_ended: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Counts a request in flight until the guard is dropped.
    fn busy(self: &Arc<Self>) -> Busy {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Completes once the connection has had no request in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let since = *self
                .last_ended
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let busy = self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0;
            let idle_until = since + limit;
            if !busy && tokio::time::Instant::now() >= idle_until {
                return;
            }
            // Busy: look again a whole `limit` later; idle: when the limit would be reached.
            let wake = if busy {
                tokio::time::Instant::now() + limit
            } else {
                idle_until
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (at most 30 s). At most `max_connections` are served at once.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    // Every connection holds a receiver; a change asks it to finish gracefully, and the
    // sender's `closed()` is when every connection has ended.
    let (stop, stop_watch) = tokio::sync::watch::channel(());
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A client has 10 s to send a request's headers (slow clients hold no connection open).
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(IDLE_CONNECTION);
    // HTTP/2: a connection carries at most `HTTP2_STREAMS` requests at once (each connection
    // is one of `max_connections`), and one whose peer stops answering pings is closed.
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(HTTP2_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let builder = Arc::new(builder);
    let connections = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let mut accept_failures = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        // A connection over the limit waits in the kernel's backlog until one ends.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                accept_failures.succeeded();
                accepted
            }
            Err(e) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: the waiting connection stays
                // in the backlog, and accepting again at once would spin. Wait, longer each
                // time (10 ms doubling to 1 s), until a descriptor frees.
                let pause = accept_failures.failed(&e);
                tokio::select! {
                    () = tokio::time::sleep(pause) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = builder.clone();
        let mut stop_watch = stop_watch.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            let tls = match handshake.await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            // The client certificate, parsed once per connection, for every request on it.
            let peer_certificate = crate::api::PeerCertificate(
                tls.get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|c| Arc::new(c.as_ref().to_vec())),
            );
            let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
            let activity = Arc::new(Activity::new());
            let tracked = activity.clone();
            let service = router
                .layer(axum::Extension(peer_certificate))
                .layer(axum::Extension(crate::api::PeerAddress(peer.ip())))
                .layer(axum::middleware::from_fn(
                    move |request: axum::extract::Request, next: axum::middleware::Next| {
                        let busy = tracked.busy();
                        async move {
                            let answer = next.run(request).await;
                            drop(busy);
                            answer
                        }
                    },
                ));
            let connection = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(tls),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            tokio::pin!(connection);
            let mut closing = false;
            // An idle HTTP/2 connection's graceful close waits for the client to acknowledge
            // a PING (RFC 9113 §6.8); one that never does is dropped `IDLE_GOAWAY_GRACE` later.
            let mut drop_at: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop_watch.changed(), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    // HTTP/2 has no header timeout between requests: an HTTP/2 connection
                    // without a request in flight for `IDLE_CONNECTION` is closed (GOAWAY), as
                    // an idle HTTP/1.1 one is by its header timeout.
                    () = activity.idle_for(IDLE_CONNECTION), if http2 && !closing => {
                        tracing::debug!(%peer, "idle HTTP/2 connection closed");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                        drop_at = Some(tokio::time::Instant::now() + IDLE_GOAWAY_GRACE);
                    }
                    () = sleep_until_some(drop_at) => {
                        tracing::debug!(%peer, "idle HTTP/2 connection dropped: GOAWAY not acknowledged");
                        break;
                    }
                }
            }
        });
    }
    drop(stop_watch);
    let _ = stop.send(());
    tokio::select! {
        () = stop.closed() => tracing::info!("every connection finished"),
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("30 s passed with connections still open; stopping anyway");
        }
    }
}

/// Reads the admin credential's hash, if the configuration names one.
pub(crate) fn admin_credential_hash(config: &Config) -> Result<Option<String>, ServerError> {
    let Some(file) = &config.admin.credential_file else {
        return Ok(None);
    };
    let path = config.resolve(file);
    let text =
        std::fs::read_to_string(&path).map_err(|e| file_error("admin credential", &path, e))?;
    let phc = text.trim().to_owned();
    if !phc.starts_with("$argon2id$") {
        return Err(file_error(
            "admin credential",
            &path,
            "not an Argon2id PHC string",
        ));
    }
    Ok(Some(phc))
}

/// Binds `address`.
pub(crate) async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Listen {
            address: address.to_string(),
            source,
        })
}

/// Reloads the stored profiles every `secs` seconds, so that this node serves what was
/// changed through another node of the deployment.
pub(crate) fn reload_profiles_every(service: Arc<Service>, secs: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = service.reload_profiles().await {
                tracing::warn!(error = %e, "reloading the profiles failed; serving the last ones");
            }
        }
    });
}

/// Gives up signings whose node died or stalled after spending their SAD
/// (`Service::recover_interrupted_signings`): once at start, then every quarter of the lease,
/// so a user can approve such a request again within about 1.25 leases.
pub(crate) fn recover_interrupted_signings(service: Arc<Service>, lease_secs: i64) {
    tokio::spawn(async move {
        let period = u64::try_from(lease_secs / 4).unwrap_or(1).max(1);
        let mut tick = tokio::time::interval(Duration::from_secs(period));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match service.recover_interrupted_signings(lease_secs).await {
                Ok((0, 0)) => {}
                Ok((signings, plan_counts)) => tracing::warn!(
                    signings,
                    plan_counts,
                    "gave up work a stopped node left: signings interrupted after their SAD \
                     was spent (their users may approve them again), and plan counts taken \
                     for requests that never finished"
                ),
                Err(e) => tracing::warn!(error = %e, "looking for interrupted signings failed"),
            }
        }
    });
}

/// Keeps each configured key pool filled, checking every `refill_secs`.
pub(crate) fn refill_key_pools(service: Arc<Service>, config: &Config) {
    for pool in config.key_pools.clone() {
        let service = service.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(pool.refill_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match service
                    .refill_key_pool(&pool.source, pool.key, pool.size)
                    .await
                {
                    Ok(0) => {}
                    Ok(made) => {
                        tracing::info!(source = %pool.source, key = %pool.key, made, "key pool refilled")
                    }
                    Err(e) => {
                        tracing::warn!(source = %pool.source, key = %pool.key, error = %e, "refilling the key pool failed")
                    }
                }
            }
        });
    }
}
