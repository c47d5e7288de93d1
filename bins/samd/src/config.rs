//! `samd`'s configuration: one TOML file (docs/configuration.md lists every key). Reading is
//! strict — an unknown key is an error, and every error names the key — and relative paths are
//! taken from the data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or a key is unknown or of the wrong type.
    #[error("configuration {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key and the line.
        message: String,
    },
    /// A value breaks a rule.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// The key, dotted.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Where the database (by default), keys and certificates live.
    pub(crate) data_dir: PathBuf,
    /// The HTTPS listen address.
    #[serde(default = "default_listen")]
    pub(crate) listen: SocketAddr,
    /// This SAM instance's id: the audience SADs must name.
    #[serde(default = "default_instance")]
    pub(crate) instance_id: String,
    /// TLS.
    pub(crate) tls: TlsConfig,
    /// The database.
    #[serde(default)]
    pub(crate) database: DatabaseConfig,
    /// SADs and signing.
    #[serde(default)]
    pub(crate) signing: SigningConfig,
    /// The software crypto source.
    pub(crate) software_source: SoftwareSourceConfig,
    /// PKCS#11 crypto sources (HSMs).
    #[serde(default)]
    pub(crate) pkcs11_sources: Vec<Pkcs11SourceConfig>,
    /// Pools of pre-generated keys (Key Generation then answers at once).
    #[serde(default)]
    pub(crate) key_pools: Vec<KeyPoolConfig>,
    /// Where notifications (OTPs, codes, alerts) go.
    #[serde(default)]
    pub(crate) notifier: NotifierConfig,
    /// Request limits.
    #[serde(default)]
    pub(crate) limits: LimitsConfig,
    /// The admin API.
    #[serde(default)]
    pub(crate) admin: AdminConfig,
    /// The profile catalogue.
    #[serde(default)]
    pub(crate) profiles: ProfilesConfig,
    /// How the Cloud Signature Consortium API facade presents the service (`info`).
    #[serde(default)]
    pub(crate) csc: CscConfig,
}

/// `[csc]`: what the CSC API's `info` says of this service (docs/csc.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CscConfig {
    /// The service's name (at most 255 characters).
    #[serde(default = "default_csc_name")]
    pub(crate) name: String,
    /// The URI of the service's logo image (`https://`; empty: none).
    #[serde(default)]
    pub(crate) logo: String,
    /// The ISO 3166-1 alpha-2 code of the country whose rules the service follows (e.g.
    /// `NL`).
    #[serde(default = "default_csc_region")]
    pub(crate) region: String,
    /// The language of the service's texts (RFC 5646, e.g. `en-US`).
    #[serde(default = "default_csc_lang")]
    pub(crate) lang: String,
    /// A description of the service (at most 255 characters).
    #[serde(default = "default_csc_description")]
    pub(crate) description: String,
    /// How long a user's access token (`auth/login`) lives, seconds (60 to 86400).
    #[serde(default = "default_access_token_secs")]
    pub(crate) access_token_secs: i64,
    /// How long a refresh token (`auth/login` with `rememberMe`) lives, seconds (0: none are
    /// issued; at most 90 days).
    #[serde(default = "default_refresh_token_secs")]
    pub(crate) refresh_token_secs: i64,
    /// How long a CSC 1.0.4.0 `credentials/authorize` waits for the user's device before it
    /// answers (v1 has no handle to come back with), seconds (1 to 300).
    #[serde(default = "default_authorize_wait_secs")]
    pub(crate) authorize_wait_secs: u64,
    /// The OAuth 2.0 authorisation server's issuer identifier (RFC 8414 §2): the `https://`
    /// origin users' browsers reach samd at, e.g. `https://sign.example.eu` (no path, no
    /// trailing slash). Set, samd serves `/csc/v2/oauth2/*`, the user's pages and
    /// `/.well-known/oauth-authorization-server`; unset (the default), none of them.
    #[serde(default)]
    pub(crate) oauth2_issuer: Option<String>,
}

fn default_authorize_wait_secs() -> u64 {
    25
}

/// How much sooner than the request timeout a CSC 1.0.4.0 `authorize` stops waiting, seconds:
/// time to withdraw the request and answer before the timeout cuts the call off.
pub(crate) const AUTHORIZE_WAIT_MARGIN_SECS: u64 = 5;

fn default_access_token_secs() -> i64 {
    3600
}

fn default_refresh_token_secs() -> i64 {
    7 * 24 * 3600
}

fn default_csc_name() -> String {
    "sam".into()
}

fn default_csc_region() -> String {
    "EU".into()
}

fn default_csc_lang() -> String {
    "en-US".into()
}

fn default_csc_description() -> String {
    "Remote signing with sole control: each signature authorised by its signer".into()
}

impl Default for CscConfig {
    fn default() -> Self {
        Self {
            name: default_csc_name(),
            logo: String::new(),
            region: default_csc_region(),
            lang: default_csc_lang(),
            description: default_csc_description(),
            access_token_secs: default_access_token_secs(),
            refresh_token_secs: default_refresh_token_secs(),
            authorize_wait_secs: default_authorize_wait_secs(),
            oauth2_issuer: None,
        }
    }
}

impl CscConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let short = |key: &'static str, text: &str| {
            if text.is_empty() || text.chars().count() > 255 || text.chars().any(char::is_control) {
                Err(invalid(key, "1 to 255 characters, no control characters"))
            } else {
                Ok(())
            }
        };
        short("csc.name", &self.name)?;
        short("csc.description", &self.description)?;
        if !self.logo.is_empty()
            && (!self.logo.starts_with("https://")
                || self.logo.len() > 2048
                || self
                    .logo
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid("csc.logo", "an https:// URI, or empty"));
        }
        if !(self.region.len() == 2 && self.region.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(invalid(
                "csc.region",
                "two capital letters (ISO 3166-1 alpha-2, e.g. NL; EU for the Union)",
            ));
        }
        let tag_ok = !self.lang.is_empty()
            && self.lang.len() <= 35
            && self.lang.split('-').all(|part| {
                (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !tag_ok {
            return Err(invalid("csc.lang", "a language tag (RFC 5646), e.g. en-US"));
        }
        if !(60..=86_400).contains(&self.access_token_secs) {
            return Err(invalid("csc.access_token_secs", "60 to 86400 seconds"));
        }
        if !(1..=300).contains(&self.authorize_wait_secs) {
            return Err(invalid("csc.authorize_wait_secs", "1 to 300 seconds"));
        }
        if !(0..=90 * 86_400).contains(&self.refresh_token_secs) {
            return Err(invalid(
                "csc.refresh_token_secs",
                "0 (no refresh tokens) to 7776000 seconds (90 days)",
            ));
        }
        if let Some(issuer) = &self.oauth2_issuer
            && !issuer_ok(issuer)
        {
            return Err(invalid(
                "csc.oauth2_issuer",
                "an https:// origin without path, query or trailing slash, e.g. \
                 https://sign.example.eu (RFC 8414 section 2)",
            ));
        }
        Ok(())
    }
}

/// Whether `issuer` is an `https://` origin — host and optional port only (RFC 8414 §2: no
/// query or fragment; sam serves its endpoints under fixed paths, so no path either).
fn issuer_ok(issuer: &str) -> bool {
    let Some(authority) = issuer.strip_prefix("https://") else {
        return false;
    };
    let (host, port) = if authority.starts_with('[') {
        match authority.split_once(']') {
            Some((ip, "")) => (ip, None),
            Some((ip, rest)) => match rest.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return false,
            },
            None => return false,
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = match host.strip_prefix('[') {
        Some(ip) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && !host.starts_with(['.', '-'])
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    host_ok && port_ok
}

/// `[profiles]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilesConfig {
    /// How often the stored profiles are read again (changes made through other nodes),
    /// seconds.
    #[serde(default = "default_reload")]
    pub(crate) reload_secs: u64,
}

fn default_reload() -> u64 {
    30
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        Self {
            reload_secs: default_reload(),
        }
    }
}

/// `[admin]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminConfig {
    /// A file holding the Argon2id PHC string of the admin credential (sent as `Authorization:
    /// Bearer <credential>`); absent: the admin API is closed.
    #[serde(default)]
    pub(crate) credential_file: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_instance() -> String {
    "sam".into()
}

/// `[tls]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsConfig {
    /// The server certificate chain, PEM.
    pub(crate) certificate: PathBuf,
    /// Its private key, PEM (PKCS#8).
    pub(crate) key: PathBuf,
    /// CA certificates (PEM) that issue client certificates; absent: no client certificates.
    #[serde(default)]
    pub(crate) client_ca: Option<PathBuf>,
    /// Whether every connection must present a client certificate.
    #[serde(default)]
    pub(crate) require_client_certificate: bool,
}

/// `[database]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://…`; absent: `sqlite:<data_dir>/sam.db`.
    #[serde(default)]
    pub(crate) url: Option<String>,
    /// Pool size for PostgreSQL (SQLite uses one connection).
    #[serde(default = "default_connections")]
    pub(crate) max_connections: u32,
    /// How long connecting to the database at start may take before samd stops with the
    /// reason (refused, unknown host, authentication, missing database, no answer), seconds.
    #[serde(default = "default_connect_timeout")]
    pub(crate) connect_timeout_secs: u64,
}

fn default_connections() -> u32 {
    10
}

fn default_connect_timeout() -> u64 {
    5
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: default_connections(),
            connect_timeout_secs: default_connect_timeout(),
        }
    }
}

/// `[signing]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigningConfig {
    /// The SAD format (seed 001 `SAD_FORMAT`): `json` or `der` (anything else is refused
    /// as the file is read, naming the line).
    #[serde(default)]
    pub(crate) sad_format: sam_profile::SadFormat,
    /// `SAM_REQUEST_EXPIRY_PERIOD`: request and SAD expiry when a profile sets none, seconds.
    #[serde(default = "default_expiry")]
    pub(crate) request_expiry_secs: i64,
    /// Seed 001's eSeal licence: whether profiles may use authorisation once until SAD expiry.
    #[serde(default)]
    pub(crate) eseals_enabled: bool,
    /// The RFC 3161 time-stamp authority for `cades-b-t` and the CSC API's
    /// `signatures/timestamp` (an `http://` URL); absent: B-T is refused and
    /// `signatures/timestamp` not served.
    #[serde(default)]
    pub(crate) tsa_url: Option<String>,
    /// How long a signing may take after its SAD was spent before it is given up (the node
    /// died or stalled) and its request goes back to `pending` for the user, seconds.
    #[serde(default = "default_signing_lease")]
    pub(crate) signing_lease_secs: i64,
}

fn default_signing_lease() -> i64 {
    120
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            sad_format: sam_profile::SadFormat::default(),
            request_expiry_secs: default_expiry(),
            eseals_enabled: false,
            tsa_url: None,
            signing_lease_secs: default_signing_lease(),
        }
    }
}

fn default_expiry() -> i64 {
    300
}

/// `[software_source]`: keys generated in software and stored wrapped.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SoftwareSourceConfig {
    /// The crypto source's name, as profiles select it.
    #[serde(default = "default_source")]
    pub(crate) name: String,
    /// A file holding the 256-bit master key in hex (mode 600).
    pub(crate) master_key_file: PathBuf,
    /// The most opened keys kept between signatures (0: none, every signature unwraps and
    /// decodes its key).
    #[serde(default = "default_key_cache_entries")]
    pub(crate) key_cache_entries: usize,
    /// How long an opened key is kept after its last use.
    #[serde(default = "default_key_cache_idle")]
    pub(crate) key_cache_idle_secs: u64,
}

fn default_key_cache_entries() -> usize {
    sam_token::KeyCacheSettings::default().entries
}

fn default_key_cache_idle() -> u64 {
    sam_token::KeyCacheSettings::default().idle.as_secs()
}

impl SoftwareSourceConfig {
    /// The key cache these settings describe.
    pub(crate) fn key_cache(&self) -> sam_token::KeyCacheSettings {
        sam_token::KeyCacheSettings {
            entries: self.key_cache_entries,
            idle: std::time::Duration::from_secs(self.key_cache_idle_secs),
        }
    }
}

fn default_source() -> String {
    "software".into()
}

/// `[[pkcs11_sources]]`: an HSM reached through a PKCS#11 module (seed 004).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pkcs11SourceConfig {
    /// The crypto source's name, as profiles select it.
    pub(crate) name: String,
    /// The PKCS#11 module (a shared library).
    pub(crate) module: PathBuf,
    /// The default slot: its token label (`slot_label`) or its slot id (`slot_id`).
    #[serde(default)]
    pub(crate) slot_label: Option<String>,
    /// The default slot by PKCS#11 slot id.
    #[serde(default)]
    pub(crate) slot_id: Option<u64>,
    /// The environment variable holding the user PIN.
    #[serde(default)]
    pub(crate) pin_env: Option<String>,
    /// A file (mode 600) whose first line is the user PIN.
    #[serde(default)]
    pub(crate) pin_file: Option<PathBuf>,
    /// The separate signature slot (seed 004 `Location`), by token label.
    #[serde(default)]
    pub(crate) signature_slot_label: Option<String>,
    /// The environment variable holding the Sign PIN of the signature slot.
    #[serde(default)]
    pub(crate) sign_pin_env: Option<String>,
    /// A file whose first line is the Sign PIN.
    #[serde(default)]
    pub(crate) sign_pin_file: Option<PathBuf>,
    /// The regular expression new PINs must match in full (seed 004), e.g. `[0-9]{4,}`.
    #[serde(default)]
    pub(crate) pin_policy: Option<String>,
    /// `resident` (keys are token objects) or `wrapped` (keys wrapped under `wrapping_key`
    /// and stored in the database).
    #[serde(default = "default_storage")]
    pub(crate) storage: String,
    /// The label of the AES-256 wrapping key, with `storage = "wrapped"`.
    #[serde(default)]
    pub(crate) wrapping_key: Option<String>,
    /// The device type, for profile validation (e.g. `SoftHSM 2.6`).
    #[serde(default = "default_model")]
    pub(crate) model: String,
    /// Whether the HSM is Common Criteria certified.
    #[serde(default)]
    pub(crate) common_criteria: bool,
}

fn default_storage() -> String {
    "resident".into()
}

fn default_model() -> String {
    "PKCS#11".into()
}

/// `[[key_pools]]`: keys of one spec generated ahead in one crypto source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyPoolConfig {
    /// The crypto source.
    pub(crate) source: String,
    /// The key spec, as in a profile: `{ algorithm = "ecdsa", curve_type = "nist-p",
    /// key_length = 256 }`.
    pub(crate) key: sam_algorithms::KeySpec,
    /// How many keys to keep ready, 1 to 10,000.
    pub(crate) size: i64,
    /// How often the pool is checked and refilled, seconds.
    #[serde(default = "default_refill")]
    pub(crate) refill_secs: u64,
}

fn default_refill() -> u64 {
    10
}

/// `[notifier]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifierConfig {
    /// A file that receives every notification as a JSON line (development).
    #[serde(default)]
    pub(crate) mailbox: Option<PathBuf>,
    /// An `http://` endpoint that receives e-mail notifications as JSON (a mail relay).
    #[serde(default)]
    pub(crate) email_webhook: Option<String>,
    /// An `http://` endpoint that receives text-message notifications as JSON (an SMS relay).
    #[serde(default)]
    pub(crate) sms_webhook: Option<String>,
    /// The environment variable holding a bearer token sent to the webhooks.
    #[serde(default)]
    pub(crate) webhook_token_env: Option<String>,
}

/// `[limits]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsConfig {
    /// The largest request body, bytes.
    #[serde(default = "default_body")]
    pub(crate) max_body_bytes: usize,
    /// How long a request may take, seconds.
    #[serde(default = "default_timeout")]
    pub(crate) request_timeout_secs: u64,
    /// The most documents (hashes) one Authorise or seal batch may carry; a profile may allow
    /// fewer.
    #[serde(default = "default_hashes")]
    pub(crate) max_hashes_per_request: usize,
    /// The most connections served at once; more wait in the kernel's backlog.
    #[serde(default = "default_http_connections")]
    pub(crate) max_connections: usize,
    /// Threads that run Argon2id checks (0: one per core but one, at least one).
    #[serde(default)]
    pub(crate) secret_check_workers: usize,
    /// Checks that may wait for a worker (absent: four per worker); one more is `503 busy`.
    #[serde(default)]
    pub(crate) secret_check_queue: Option<usize>,
    /// Failed authentications in a row per client id or peer address that are not slowed.
    #[serde(default = "default_free_failures")]
    pub(crate) auth_free_failures: u32,
    /// The longest back-off after repeated failures, seconds (0: never slowed).
    #[serde(default = "default_max_backoff")]
    pub(crate) auth_max_backoff_secs: u64,
}

fn default_http_connections() -> usize {
    1024
}

fn default_free_failures() -> u32 {
    5
}

fn default_max_backoff() -> u64 {
    60
}

impl LimitsConfig {
    /// The Argon2id workers and queue places these limits give.
    pub(crate) fn secret_check(&self) -> (usize, usize) {
        let workers = match self.secret_check_workers {
            0 => sam_service::default_secret_check_workers(),
            n => n,
        };
        (workers, self.secret_check_queue.unwrap_or(4 * workers))
    }
}

/// A SAD and the authorisation request message name at most this many hashes
/// (docs/sad.md): the most one request may carry.
const MAX_HASHES: usize = sam_sad::sad::MAX_HASHES;

fn default_hashes() -> usize {
    MAX_HASHES
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: default_body(),
            request_timeout_secs: default_timeout(),
            max_hashes_per_request: default_hashes(),
            max_connections: default_http_connections(),
            secret_check_workers: 0,
            secret_check_queue: None,
            auth_free_failures: default_free_failures(),
            auth_max_backoff_secs: default_max_backoff(),
        }
    }
}

fn default_body() -> usize {
    4 * 1024 * 1024
}

fn default_timeout() -> u64 {
    30
}

impl Config {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// The rules between values.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        sam_sad::InstanceId::new(&self.instance_id)
            .map_err(|e| invalid("instance_id", e.to_string()))?;
        self.csc.check()?;
        // A wait cut off by the request timeout would leave its request pending and answer
        // in the native form: the wait ends first, with time to withdraw the request.
        if self.csc.authorize_wait_secs + AUTHORIZE_WAIT_MARGIN_SECS
            > self.limits.request_timeout_secs
        {
            return Err(invalid(
                "csc.authorize_wait_secs",
                format!(
                    "at most limits.request_timeout_secs ({}) minus {AUTHORIZE_WAIT_MARGIN_SECS} \
                     seconds",
                    self.limits.request_timeout_secs
                ),
            ));
        }
        if !(1..=7 * 86_400).contains(&self.signing.request_expiry_secs) {
            return Err(invalid(
                "signing.request_expiry_secs",
                "1 to 604800 seconds (a week)",
            ));
        }
        if !(1..=3600).contains(&self.signing.signing_lease_secs) {
            return Err(invalid(
                "signing.signing_lease_secs",
                "1 to 3600 seconds (more than a request may take)",
            ));
        }
        if self.tls.require_client_certificate && self.tls.client_ca.is_none() {
            return Err(invalid(
                "tls.require_client_certificate",
                "needs tls.client_ca: the CAs whose client certificates are accepted",
            ));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            return Err(invalid("database.max_connections", "1 to 1000"));
        }
        if !(1..=300).contains(&self.database.connect_timeout_secs) {
            return Err(invalid("database.connect_timeout_secs", "1 to 300 seconds"));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres://"))
        {
            return Err(invalid(
                "database.url",
                "`sqlite:PATH` or `postgres://USER@HOST/DB`",
            ));
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.limits.max_body_bytes) {
            return Err(invalid("limits.max_body_bytes", "1 KiB to 1 GiB"));
        }
        if !(1..=3600).contains(&self.limits.request_timeout_secs) {
            return Err(invalid("limits.request_timeout_secs", "1 to 3600 seconds"));
        }
        if !(1..=MAX_HASHES).contains(&self.limits.max_hashes_per_request) {
            return Err(invalid(
                "limits.max_hashes_per_request",
                "1 to 1000 (a SAD names at most 1000 hashes)",
            ));
        }
        if !(1..=1_000_000).contains(&self.limits.max_connections) {
            return Err(invalid("limits.max_connections", "1 to 1000000"));
        }
        if self.limits.secret_check_workers > 256 {
            return Err(invalid(
                "limits.secret_check_workers",
                "0 (one per core) to 256",
            ));
        }
        if self.limits.secret_check_queue.is_some_and(|q| q > 100_000) {
            return Err(invalid("limits.secret_check_queue", "0 to 100000"));
        }
        if self.limits.auth_free_failures > 1000 {
            return Err(invalid("limits.auth_free_failures", "0 to 1000"));
        }
        if self.limits.auth_max_backoff_secs > 3600 {
            return Err(invalid("limits.auth_max_backoff_secs", "0 to 3600 seconds"));
        }
        if !(1..=86_400).contains(&self.profiles.reload_secs) {
            return Err(invalid("profiles.reload_secs", "1 to 86400 seconds"));
        }
        if let Some(url) = &self.signing.tsa_url
            && !url.starts_with("http://")
        {
            return Err(invalid(
                "signing.tsa_url",
                "an http:// URL (time-stamp tokens are signed and checked; RFC 3161 §3.4)",
            ));
        }
        let webhooks = [
            ("notifier.email_webhook", &self.notifier.email_webhook),
            ("notifier.sms_webhook", &self.notifier.sms_webhook),
        ];
        for (key, url) in webhooks {
            if let Some(url) = url {
                if !url.starts_with("http://") {
                    return Err(invalid(
                        key,
                        "an http:// URL (put a TLS-terminating relay in front of remote endpoints)",
                    ));
                }
                if self.notifier.mailbox.is_some() {
                    return Err(invalid(
                        "notifier.mailbox",
                        "a mailbox takes every notification: leave out the webhooks, or the mailbox",
                    ));
                }
            }
        }
        let mut names = vec![self.software_source.name.as_str()];
        for source in &self.pkcs11_sources {
            if source.name.is_empty() || names.contains(&source.name.as_str()) {
                return Err(invalid(
                    "pkcs11_sources.name",
                    format!("{:?}: every crypto source needs its own name", source.name),
                ));
            }
            names.push(&source.name);
            if source.slot_label.is_some() == source.slot_id.is_some() {
                return Err(invalid(
                    "pkcs11_sources.slot_label",
                    format!("{}: give slot_label or slot_id (one of them)", source.name),
                ));
            }
            if source.pin_env.is_some() == source.pin_file.is_some() {
                return Err(invalid(
                    "pkcs11_sources.pin_env",
                    format!("{}: give pin_env or pin_file (one of them)", source.name),
                ));
            }
            if source.signature_slot_label.is_some()
                && source.sign_pin_env.is_some() == source.sign_pin_file.is_some()
            {
                return Err(invalid(
                    "pkcs11_sources.sign_pin_env",
                    format!(
                        "{}: a signature slot needs sign_pin_env or sign_pin_file (one of them)",
                        source.name
                    ),
                ));
            }
            match (source.storage.as_str(), &source.wrapping_key) {
                ("resident", None) | ("wrapped", Some(_)) => {}
                _ => {
                    return Err(invalid(
                        "pkcs11_sources.storage",
                        format!(
                            "{}: `resident`, or `wrapped` with wrapping_key",
                            source.name
                        ),
                    ));
                }
            }
        }
        for pool in &self.key_pools {
            if !names.contains(&pool.source.as_str()) {
                return Err(invalid(
                    "key_pools.source",
                    format!("{:?} is not a configured crypto source", pool.source),
                ));
            }
            if !(1..=10_000).contains(&pool.size) {
                return Err(invalid("key_pools.size", "1 to 10000 keys"));
            }
            if !(1..=86_400).contains(&pool.refill_secs) {
                return Err(invalid("key_pools.refill_secs", "1 to 86400 seconds"));
            }
        }
        if self.software_source.name.is_empty() {
            return Err(invalid("software_source.name", "must not be empty"));
        }
        if self.software_source.key_cache_entries > 1_000_000 {
            return Err(invalid(
                "software_source.key_cache_entries",
                "0 to 1000000 keys",
            ));
        }
        if !(1..=86_400).contains(&self.software_source.key_cache_idle_secs) {
            return Err(invalid(
                "software_source.key_cache_idle_secs",
                "1 to 86400 seconds",
            ));
        }
        Ok(())
    }

    /// `path` taken from the data directory when relative.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.data_dir.join(path)
        }
    }

    /// The database URL (default: SQLite in the data directory).
    pub(crate) fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("sam.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
data_dir = "/tmp/sam"
[tls]
certificate = "tls/cert.pem"
key = "tls/key.pem"
[software_source]
master_key_file = "keys/master.key"
"#;

    fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn a_minimal_file_takes_the_documented_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(c.database_url(), "sqlite:/tmp/sam/sam.db");
        assert_eq!(c.signing.sad_format, sam_profile::SadFormat::Json);
        assert_eq!(c.signing.request_expiry_secs, 300);
        assert_eq!(c.limits.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(c.software_source.name, "software");
        assert_eq!(
            c.resolve(Path::new("keys/master.key")),
            PathBuf::from("/tmp/sam/keys/master.key")
        );
        assert_eq!(c.resolve(Path::new("/etc/k")), PathBuf::from("/etc/k"));
    }

    #[test]
    fn the_software_key_cache_is_configured_and_bounded() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(
            c.software_source.key_cache(),
            sam_token::KeyCacheSettings::default()
        );
        let with = |extra: &str| {
            MINIMAL.replace(
                "master_key_file = \"keys/master.key\"",
                &format!("master_key_file = \"keys/master.key\"\n{extra}"),
            )
        };
        let off = parse(&with("key_cache_entries = 0")).unwrap();
        assert_eq!(off.software_source.key_cache().entries, 0);
        let set = parse(&with("key_cache_entries = 10\nkey_cache_idle_secs = 30")).unwrap();
        assert_eq!(
            set.software_source.key_cache(),
            sam_token::KeyCacheSettings {
                entries: 10,
                idle: std::time::Duration::from_secs(30)
            }
        );
        for (extra, key) in [
            (
                "key_cache_entries = 1000001",
                "software_source.key_cache_entries",
            ),
            (
                "key_cache_idle_secs = 0",
                "software_source.key_cache_idle_secs",
            ),
            (
                "key_cache_idle_secs = 86401",
                "software_source.key_cache_idle_secs",
            ),
        ] {
            let e = parse(&with(extra)).unwrap_err();
            assert!(e.contains(key), "{extra}: {e}");
        }
    }

    #[test]
    fn an_issuer_is_an_https_origin() {
        for good in [
            "https://sign.example.eu",
            "https://sign.example.eu:8443",
            "https://127.0.0.1:8443",
            "https://[::1]:8443",
            "https://[::1]",
        ] {
            assert!(issuer_ok(good), "{good}");
        }
        for bad in [
            "http://sign.example.eu",
            "https://",
            "https://sign.example.eu/",
            "https://sign.example.eu/oauth",
            "https://sign.example.eu?x=1",
            "https://sign.example.eu#f",
            "https://user@sign.example.eu",
            "https://sign.example.eu:",
            "https://sign.example.eu:99999",
            "https://[::1",
            "https://[::1]x",
            "https://[zz]:1",
            "https://.example",
        ] {
            assert!(!issuer_ok(bad), "{bad}");
        }
    }

    #[test]
    fn each_bad_value_names_its_key() {
        for (extra, key) in [
            // Read as the file is parsed: the error shows the line and what is allowed.
            ("[signing]\nsad_format = \"xml\"\n", "sad_format = \"xml\""),
            (
                "[signing]\nrequest_expiry_secs = 0\n",
                "signing.request_expiry_secs",
            ),
            ("[limits]\nmax_body_bytes = 10\n", "limits.max_body_bytes"),
            (
                "[limits]\nrequest_timeout_secs = 0\n",
                "limits.request_timeout_secs",
            ),
            ("[database]\nurl = \"mysql://x\"\n", "database.url"),
            (
                "[database]\nmax_connections = 0\n",
                "database.max_connections",
            ),
            ("instance_id = \"a b\"\n", "instance_id"),
            (
                "[limits]\nmax_hashes_per_request = 0\n",
                "limits.max_hashes_per_request",
            ),
            ("[profiles]\nreload_secs = 0\n", "profiles.reload_secs"),
            ("[csc]\nregion = \"Netherlands\"\n", "csc.region"),
            ("[csc]\nlang = \"en US\"\n", "csc.lang"),
            ("[csc]\naccess_token_secs = 59\n", "csc.access_token_secs"),
            ("[csc]\nrefresh_token_secs = -1\n", "csc.refresh_token_secs"),
            (
                "[csc]\noauth2_issuer = \"http://sign.example\"\n",
                "csc.oauth2_issuer",
            ),
            (
                "[csc]\noauth2_issuer = \"https://sign.example/\"\n",
                "csc.oauth2_issuer",
            ),
            (
                "[csc]\noauth2_issuer = \"https://sign.example/csc\"\n",
                "csc.oauth2_issuer",
            ),
            (
                "[csc]\noauth2_issuer = \"https://sign.example:0\"\n",
                "csc.oauth2_issuer",
            ),
            (
                "[csc]\nauthorize_wait_secs = 0\n",
                "csc.authorize_wait_secs",
            ),
            (
                "[csc]\nlogo = \"http://tsp.example/logo.png\"\n",
                "csc.logo",
            ),
            ("[csc]\nname = \"\"\n", "csc.name"),
            ("[limits]\nmax_connections = 0\n", "limits.max_connections"),
            (
                "[limits]\nsecret_check_workers = 1000\n",
                "limits.secret_check_workers",
            ),
            (
                "[limits]\nauth_max_backoff_secs = 86400\n",
                "limits.auth_max_backoff_secs",
            ),
            (
                "[signing]\ntsa_url = \"https://tsa.example\"\n",
                "signing.tsa_url",
            ),
            (
                "[[pkcs11_sources]]\nname = \"hsm\"\nmodule = \"/x.so\"\npin_env = \"P\"\n",
                "pkcs11_sources.slot_label",
            ),
            (
                "[notifier]\nemail_webhook = \"https://mail.example\"\n",
                "notifier.email_webhook",
            ),
            (
                "[[key_pools]]\nsource = \"hsm-9\"\nsize = 5\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
                "key_pools.source",
            ),
            (
                "[[key_pools]]\nsource = \"software\"\nsize = 0\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
                "key_pools.size",
            ),
            (
                "[notifier]\nmailbox = \"m\"\nsms_webhook = \"http://sms.example\"\n",
                "notifier.mailbox",
            ),
            (
                "[[pkcs11_sources]]\nname = \"software\"\nmodule = \"/x.so\"\nslot_id = 1\npin_env = \"P\"\n",
                "pkcs11_sources.name",
            ),
            (
                "[[pkcs11_sources]]\nname = \"hsm\"\nmodule = \"/x.so\"\nslot_id = 1\npin_env = \"P\"\npin_file = \"f\"\n",
                "pkcs11_sources.pin_env",
            ),
            (
                "[[pkcs11_sources]]\nname = \"hsm\"\nmodule = \"/x.so\"\nslot_id = 1\npin_env = \"P\"\nstorage = \"wrapped\"\n",
                "pkcs11_sources.storage",
            ),
        ] {
            // Top-level keys must come before the tables.
            let text = if extra.starts_with('[') {
                format!("{MINIMAL}{extra}")
            } else {
                format!("{extra}{MINIMAL}")
            };
            let e = parse(&text).unwrap_err();
            assert!(e.contains(key), "{key}: {e}");
        }
        let e = parse(&MINIMAL.replace(
            "key = \"tls/key.pem\"",
            "key = \"tls/key.pem\"\nrequire_client_certificate = true",
        ))
        .unwrap_err();
        assert!(e.contains("tls.require_client_certificate"), "{e}");
        // Unknown keys and wrong types are refused by the parser, naming the key.
        let e = parse(&format!("{MINIMAL}colour = \"blue\"\n")).unwrap_err();
        assert!(e.contains("colour"), "{e}");
        let e = parse(&MINIMAL.replace("\"/tmp/sam\"", "42")).unwrap_err();
        assert!(e.contains("data_dir"), "{e}");
    }
}
