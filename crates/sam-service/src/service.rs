//! The service object, the calling client, and the audit of every request.

use crate::ErrorCode;
use std::collections::HashMap;
use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_profile::ProfileCatalogue;
use sam_sad::ClientId;
use sam_store::{AuditEntry, ClientRecord, Store};
use sam_token::{Clock, CryptoToken};

use crate::{AuditAction, ServiceError};

/// The business application a request comes from, as the transport authenticated it. Two
/// contexts are equal when they name the same client.
#[derive(Clone, Debug)]
pub struct ClientContext {
    /// The client's id.
    pub client_id: ClientId,
    /// The client's record as its authentication read it: the rest of the request reads it
    /// from here instead of the store (one read per request).
    record: Option<Arc<ClientRecord>>,
}

impl PartialEq for ClientContext {
    fn eq(&self, other: &Self) -> bool {
        self.client_id == other.client_id
    }
}

impl Eq for ClientContext {}

impl ClientContext {
    /// The context of client `id` (checked against the id grammar); its record is read from
    /// the store when the request needs it.
    pub fn new(id: &str) -> Result<Self, ServiceError> {
        Ok(Self {
            client_id: ClientId::new(id).map_err(|e| ServiceError::invalid(e.to_string()))?,
            record: None,
        })
    }

    /// The context of the client whose `record` its authentication read.
    pub(crate) fn authenticated(record: ClientRecord) -> Result<Self, ServiceError> {
        let mut ctx = Self::new(&record.client_id)?;
        ctx.record = Some(Arc::new(record));
        Ok(ctx)
    }

    pub(crate) fn id(&self) -> &str {
        self.client_id.as_str()
    }
}

/// A crypto source and its health.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CryptoSourceStatus {
    /// The name profiles select it by.
    pub name: String,
    /// Whether it can serve now.
    pub available: bool,
    /// Why not, when it cannot.
    pub reason: Option<String>,
}

/// Settings of the service that are not per profile.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// Failed authentications in a row that lock a user (seed 002 Authenticate).
    pub max_failed_authentications: i64,
    /// How long a lock lasts, in seconds.
    pub lock_secs: i64,
    /// The key one-time codes are hashed under; the same on every node. Without it, Generate
    /// OTP and the confirmation codes answer `not_configured`.
    pub code_key: Option<crate::scal1::CodeKey>,
    /// The instance's own SAD key, for SCAL1 authorisations `sam` checks itself (the CSC
    /// API's PIN and OTP); the same on every node. Without it they answer `not_configured`.
    pub service_sad_key: Option<crate::scal1::ServiceSadKey>,
    /// Decimal digits of an OTP or confirmation code.
    pub otp_digits: u32,
    /// How long an OTP is valid, in seconds (never beyond its request's expiry).
    pub otp_validity_secs: i64,
    /// How long a confirmation code (recover password, change e-mail or mobile) is valid.
    pub confirmation_validity_secs: i64,
    /// How many checks a code allows.
    pub code_attempts: i64,
    /// How long a client secret verified with Argon2id is remembered, in seconds (0: never;
    /// see the `secret_cache` module). A changed secret is never matched by an old entry.
    pub verified_secret_cache_secs: u64,
    /// How long a plan count taken before its effect is held for its request (seconds): a
    /// node that dies between the count and the effect leaves a hold that any node gives back
    /// after this (`Service::recover_interrupted_signings`). Longer than any request may take.
    pub plan_hold_secs: i64,
    /// Threads that run Argon2id (every password, client secret and admin credential check and
    /// hash; `secret_check`): each holds 19 MiB while it works. Default: one per core but
    /// one ([`default_secret_check_workers`]).
    pub secret_check_workers: usize,
    /// Checks that may wait for a worker; one more is refused at once with `busy`. Default:
    /// four per worker.
    pub secret_check_queue: usize,
    /// Failed authentications in a row per client id or peer address that are not slowed.
    pub auth_free_failures: u32,
    /// The longest back-off after repeated failures, seconds (0: never slowed).
    pub auth_max_backoff_secs: u64,
    /// The most documents (hashes) one Authorise or seal batch may carry on this
    /// deployment, 1 to `sam_sad::sad::MAX_HASHES` (a profile may allow fewer).
    pub max_hashes_per_request: usize,
    /// How long a user's access token (CSC API) lives, in seconds.
    pub access_token_secs: i64,
    /// How long a refresh token ("remember me") lives, in seconds (0: none are issued).
    pub refresh_token_secs: i64,
    /// The issuer identifier of the CSC API's OAuth 2.0 authorisation server (RFC 8414: the
    /// `https` URL of this service, the `iss` of every authorisation response); `None`: it is
    /// not served.
    pub oauth2_issuer: Option<String>,
}

/// The default Argon2id workers: one per core but one, which is kept for everything else (a
/// flood of wrong credentials must not take the cores a Sign needs), and at least one.
pub fn default_secret_check_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .saturating_sub(1)
        .max(1)
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            max_failed_authentications: 5,
            lock_secs: 15 * 60,
            code_key: None,
            service_sad_key: None,
            otp_digits: 6,
            otp_validity_secs: 5 * 60,
            confirmation_validity_secs: 30 * 60,
            code_attempts: 3,
            verified_secret_cache_secs: 300,
            plan_hold_secs: 240,
            secret_check_workers: default_secret_check_workers(),
            secret_check_queue: 4 * default_secret_check_workers(),
            auth_free_failures: 5,
            auth_max_backoff_secs: 60,
            max_hashes_per_request: sam_sad::sad::MAX_HASHES,
            access_token_secs: 3600,
            refresh_token_secs: 7 * 24 * 3600,
            oauth2_issuer: None,
        }
    }
}

/// The SAM service: the request types of seed 002 over the store, the profiles and the
/// tokens. Every request is audited, success or refusal with its code.
pub struct Service {
    pub(crate) store: Store,
    /// The profiles served, replaced whole when an admin changes one or a reload finds a
    /// change made through another node (readers keep the snapshot they took).
    pub(crate) profiles: std::sync::RwLock<Arc<ProfileCatalogue>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: ServiceSettings,
    pub(crate) tokens: HashMap<String, Arc<dyn CryptoToken>>,
    pub(crate) signing: Option<crate::sap::Signing>,
    pub(crate) notifier: Option<Arc<dyn crate::Notifier>>,
    pub(crate) profile_rules: Option<crate::profiles::ProfileRules>,
    /// Serialises profile changes on this node.
    pub(crate) profile_changes: tokio::sync::Mutex<()>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) verified_secrets: crate::secret_cache::VerifiedSecrets,
    /// Where every Argon2id hash and verification runs.
    pub(crate) secrets: crate::secret_check::Argon2Pool,
    /// The back-off of repeated authentication failures.
    pub(crate) failures: crate::secret_check::FailureBackoff,
}

/// The refusal of a crypto source whose key is not the one its stored keys were made under.
fn key_mismatch(name: &str, domain: &str, recorded: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::KeyMismatch,
        format!(
            "crypto source {name}: its key ({domain}) is not the one the keys in this database \
             were made under ({recorded}). Is the master key file (or wrapping key) the right \
             one? samd does not start with it: keys made now would be unusable with the right \
             one, and signatures would fail."
        ),
    )
}

/// A request past the first half of its envelope ([`Service::admit`]): admitted, counted,
/// not yet recorded. What its record will say can be refined while it runs ([`Self::describe`]).
#[must_use = "an admitted request ends in Service::finish or Service::finished_in_store"]
pub(crate) struct Admitted {
    counted: Option<crate::plans::Counted>,
    action: AuditAction,
    actor: String,
    detail: String,
}

impl Admitted {
    /// The action its record names.
    pub(crate) fn action(&self) -> AuditAction {
        self.action
    }

    /// Its record's actor and detail, once the request knows them (the user whose SAD it
    /// spends, what it signs).
    pub(crate) fn describe(&mut self, actor: &str, detail: &str) {
        actor.clone_into(&mut self.actor);
        detail.clone_into(&mut self.detail);
    }

    /// The plan hold its count is kept under, for a store transaction that confirms it with
    /// the effect (none: the client has no plan).
    pub(crate) fn hold(&self) -> Option<&str> {
        self.counted.as_ref().map(|c| c.hold.as_str())
    }
}

/// Sees what the service does, for metrics: the outcome of every audited request and every
/// signature made. Called inline: keep it cheap and never block.
pub trait Observer: Send + Sync {
    /// A request of `action` ended with `outcome` (`ok` or the stable error code).
    fn outcome(&self, action: AuditAction, outcome: &str) {
        let _ = (action, outcome);
    }

    /// A token made `count` signatures with a key of `key_spec` (e.g. `ECDSA P-256`).
    fn signed(&self, key_spec: &str, count: usize) {
        let _ = (key_spec, count);
    }
}

impl Service {
    /// A service over `store` with the profiles in `profiles`.
    pub fn new(
        store: Store,
        profiles: ProfileCatalogue,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
    ) -> Self {
        let verified_secrets = crate::secret_cache::VerifiedSecrets::new(
            std::time::Duration::from_secs(settings.verified_secret_cache_secs),
        );
        let secrets = crate::secret_check::Argon2Pool::new(
            settings.secret_check_workers,
            settings.secret_check_queue,
        );
        let failures = crate::secret_check::FailureBackoff::new(
            settings.auth_free_failures,
            std::time::Duration::from_secs(settings.auth_max_backoff_secs),
        );
        Self {
            secrets,
            failures,
            store,
            profiles: std::sync::RwLock::new(Arc::new(profiles)),
            clock,
            settings,
            tokens: HashMap::new(),
            signing: None,
            notifier: None,
            profile_rules: None,
            profile_changes: tokio::sync::Mutex::new(()),
            observer: None,
            verified_secrets,
        }
    }

    /// Sets up SAD verification and key activation (required for the signing request types).
    pub fn with_signing(mut self, signing: crate::sap::Signing) -> Self {
        self.signing = Some(signing);
        self
    }

    /// Reports outcomes and signatures to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Serves the crypto source a profile names `token.name()` with `token` (a single token
    /// or a `TokenPool`).
    pub fn with_token(mut self, token: Arc<dyn CryptoToken>) -> Self {
        self.tokens.insert(token.name().to_owned(), token);
        self
    }

    pub(crate) fn token(&self, name: &str) -> Result<&Arc<dyn CryptoToken>, ServiceError> {
        self.tokens.get(name).ok_or_else(|| {
            ServiceError::internal(format!("crypto source {name} is not configured"))
        })
    }

    /// Every configured crypto source and whether it can serve now (admin *crypto sources*,
    /// and the token health metric).
    pub fn crypto_sources(&self) -> Vec<CryptoSourceStatus> {
        let mut sources: Vec<_> = self
            .tokens
            .iter()
            .map(|(name, token)| {
                let (available, reason) = match token.health() {
                    sam_token::Health::Healthy => (true, None),
                    sam_token::Health::Unavailable(why) => (false, Some(why)),
                };
                CryptoSourceStatus {
                    name: name.clone(),
                    available,
                    reason,
                }
            })
            .collect();
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        sources
    }

    /// How many keys each crypto source keeps open between signatures now
    /// (`CryptoToken::open_keys`), by name.
    pub fn open_keys(&self) -> Vec<(String, usize)> {
        let mut open: Vec<_> = self
            .tokens
            .iter()
            .map(|(name, token)| (name.clone(), token.open_keys()))
            .collect();
        open.sort();
        open
    }

    /// The signature algorithms this service can sign with end to end: for every configured
    /// crypto source, each key spec it holds that `sam-keys` verifies (every signature is
    /// checked before it is handed out), with each hash it signs (SHA-3 only where it signs
    /// SHA-3 prehashes) and each RSA padding it offers; once each, ordered by object
    /// identifier. What a CSC `info` lists in `signAlgorithms`.
    pub fn signature_algorithms(&self) -> Vec<sam_algorithms::SignatureAlgorithm> {
        let verifiable = sam_keys::software_specs();
        let mut algorithms = Vec::new();
        for token in self.tokens.values() {
            let capabilities = token.capabilities();
            for spec in capabilities
                .key_specs
                .iter()
                .filter(|s| verifiable.contains(s))
            {
                for &hash in capabilities
                    .hashes
                    .iter()
                    .filter(|h| capabilities.sha3_prehash || !h.is_sha3())
                {
                    for &padding in &capabilities.paddings {
                        let algorithm =
                            sam_algorithms::SignatureAlgorithm::for_key(*spec, hash, padding);
                        if !algorithms.contains(&algorithm) {
                            algorithms.push(algorithm);
                        }
                    }
                }
            }
        }
        algorithms.sort_by_key(|a| a.oid().to_string());
        algorithms
    }

    /// The hash algorithms of digests this service signs: those of at least one configured
    /// crypto source (SHA-3 only where it signs SHA-3 prehashes), in `HashAlgorithm::ALL`'s
    /// order.
    pub fn hash_algorithms(&self) -> Vec<sam_algorithms::HashAlgorithm> {
        sam_algorithms::HashAlgorithm::ALL
            .into_iter()
            .filter(|hash| {
                self.tokens.values().any(|token| {
                    let capabilities = token.capabilities();
                    capabilities.hashes.contains(hash)
                        && (capabilities.sha3_prehash || !hash.is_sha3())
                })
            })
            .collect()
    }

    /// Checks every crypto source's key against the database (SECURITY.md threats: a wrong
    /// master key): a source whose key domain (`CryptoToken::identity`) differs from the one
    /// recorded for it is refused, naming both. A source with none recorded yet is recorded —
    /// after its key has opened one of the keys already stored for it, if there are any (a
    /// database older than the record). `samd` calls this at start and stops on an error, so
    /// that no SAD is spent and no key made with a key that cannot open the stored ones.
    pub async fn check_key_domains(&self) -> Result<(), ServiceError> {
        let mut names: Vec<&String> = self.tokens.keys().collect();
        names.sort();
        // Every source is checked before any is recorded: a start refused for one source
        // records nothing for the others.
        let mut to_record = Vec::new();
        for name in names {
            let token = &self.tokens[name];
            let Some(domain) = token.identity().key_domain else {
                continue;
            };
            match self.store.key_domain(name).await? {
                Some(recorded) if recorded == domain => {}
                Some(recorded) => return Err(key_mismatch(name, &domain, &recorded)),
                None => {
                    if let Some(reference) = self.store.some_key_of_token(name).await? {
                        let record = sam_token::KeyRecord::from_der(&reference).map_err(|e| {
                            ServiceError::internal(format!("a stored key of {name}: {e}"))
                        })?;
                        token.check_key(&record).map_err(|e| {
                            key_mismatch(
                                name,
                                &domain,
                                &format!("a stored key does not open under it: {e}"),
                            )
                        })?;
                    }
                    to_record.push((name, domain));
                }
            }
        }
        for (name, domain) in to_record {
            let recorded = self
                .store
                .record_key_domain(name, &domain, self.now())
                .await?;
            if recorded != domain {
                return Err(key_mismatch(name, &domain, &recorded));
            }
        }
        Ok(())
    }

    /// The Argon2id workers that started and the queue places (`secret_check`).
    pub fn secret_check_size(&self) -> (usize, usize) {
        self.secrets.size()
    }

    /// The store (for the admin side and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The client's record: the one its authentication read, or else from the store.
    pub(crate) async fn request_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Option<Arc<ClientRecord>>, ServiceError> {
        match &ctx.record {
            Some(record) => Ok(Some(record.clone())),
            None => Ok(self.store.client(ctx.id()).await?.map(Arc::new)),
        }
    }

    /// Whether the client may use profile `id` (seed 002 *Selected SAM Profiles*): a client
    /// with a stored selection may use only those; a client without a stored record or
    /// selection, every profile. A profile it was not given is `not_found`, as an unknown
    /// one is (SECURITY.md invariant 5).
    pub(crate) async fn ensure_profile_selected(
        &self,
        ctx: &ClientContext,
        id: i64,
    ) -> Result<(), ServiceError> {
        let selected = self
            .request_client(ctx)
            .await?
            .and_then(|c| c.selected_profiles.clone());
        match selected {
            Some(ids) if !ids.contains(&id) => {
                Err(ServiceError::not_found("profile", &id.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// The active profile `id`, if the client may use it; `not_found` otherwise.
    pub(crate) async fn client_profile(
        &self,
        ctx: &ClientContext,
        id: u32,
    ) -> Result<sam_profile::SamProfile, ServiceError> {
        let catalogue = self.catalogue();
        let profile = sam_profile::ProfileId::new(id)
            .ok()
            .and_then(|pid| catalogue.active_profile(pid).ok())
            .cloned()
            .ok_or_else(|| ServiceError::not_found("profile", &id.to_string()))?;
        self.ensure_profile_selected(ctx, i64::from(id)).await?;
        Ok(profile)
    }

    /// The catalogue as it is now (a snapshot).
    pub(crate) fn catalogue(&self) -> Arc<ProfileCatalogue> {
        match self.profiles.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the catalogue.
    pub(crate) fn replace_catalogue(&self, catalogue: ProfileCatalogue) {
        let fresh = Arc::new(catalogue);
        match self.profiles.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Records the outcome of a request in the audit log and returns it. The actor and
    /// detail carry ids and facts, never secrets.
    pub(crate) async fn audited<T>(
        &self,
        ctx: &ClientContext,
        action: impl Into<AuditAction>,
        actor: &str,
        detail: String,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.record(ctx.id(), action.into(), actor, detail, result)
            .await
    }

    /// Audits an operator's action (no client; actor `admin`).
    pub(crate) async fn admin_audited<T>(
        &self,
        action: crate::OtherAction,
        detail: String,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.record("", action.into(), "admin", detail, result)
            .await
    }

    /// The envelope of a request type: the client's access and plan first (counted before the
    /// effect, given back if it fails), then exactly one audit record whose action is the
    /// request type, with `actor`, `detail` and the outcome.
    pub(crate) async fn request<T>(
        &self,
        ctx: &ClientContext,
        request_type: sam_plan::RequestType,
        actor: &str,
        detail: String,
        effect: impl std::future::Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        self.request_as(ctx, request_type, request_type, actor, detail, effect)
            .await
    }

    /// [`Self::request`] for a step counted as `request_type` whose audit record names another
    /// action (a CSR authorisation counted as Authorise, a PIN check as Authenticate).
    pub(crate) async fn request_as<T>(
        &self,
        ctx: &ClientContext,
        request_type: sam_plan::RequestType,
        action: impl Into<AuditAction>,
        actor: &str,
        detail: String,
        effect: impl std::future::Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let admitted = self
            .admit(ctx, request_type, action, actor.to_owned(), detail)
            .await?;
        let result = effect.await;
        self.finish(ctx, admitted, result).await
    }

    /// The first half of the envelope: checks the client's access and counts one request of
    /// `request_type` against its plan (held until the request ends). A refusal here is the
    /// request's one audit record. Every [`Admitted`] ends in [`Self::finish`] or
    /// [`Self::finished_in_store`].
    pub(crate) async fn admit(
        &self,
        ctx: &ClientContext,
        request_type: sam_plan::RequestType,
        action: impl Into<AuditAction>,
        actor: String,
        detail: String,
    ) -> Result<Admitted, ServiceError> {
        let action = action.into();
        match self.plan_count(ctx, request_type).await {
            Ok(counted) => Ok(Admitted {
                counted,
                action,
                actor,
                detail,
            }),
            Err(e) => self.audited(ctx, action, &actor, detail, Err(e)).await,
        }
    }

    /// The second half of the envelope: the request's one audit record with its outcome, then
    /// its plan count kept if it succeeded and was recorded, given back otherwise.
    pub(crate) async fn finish<T>(
        &self,
        ctx: &ClientContext,
        admitted: Admitted,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let Admitted {
            counted,
            action,
            actor,
            detail,
        } = admitted;
        let recorded = self.audited(ctx, action, &actor, detail, result).await;
        if recorded.is_ok() {
            self.plan_confirm(counted).await;
        } else {
            self.plan_uncount(ctx, counted).await;
        }
        recorded
    }

    /// Ends a request whose audit record the store wrote in the transaction of its effect (a
    /// signature's completion, its abandonment, a seal batch's uses given back): reports the
    /// outcome; the plan count is given back unless `kept` (a count the store confirmed in
    /// that transaction, under [`Admitted::hold`], stays confirmed).
    pub(crate) async fn finished_in_store(
        &self,
        ctx: &ClientContext,
        admitted: Admitted,
        outcome: &str,
        kept: bool,
    ) {
        if let Some(observer) = &self.observer {
            observer.outcome(admitted.action, outcome);
        }
        if !kept {
            self.plan_uncount(ctx, admitted.counted).await;
        }
    }

    /// [`Self::audited`] for any client id (empty for the operator's actions).
    pub(crate) async fn record<T>(
        &self,
        client_id: &str,
        action: AuditAction,
        actor: &str,
        detail: String,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.code.as_str().to_owned(),
        };
        if let Some(observer) = &self.observer {
            observer.outcome(action, &outcome);
        }
        self.store
            .append_audit(&AuditEntry {
                at: self.now(),
                client_id: client_id.to_owned(),
                actor: actor.to_owned(),
                action: action.code().to_owned(),
                outcome,
                detail,
            })
            .await?;
        result
    }
}
