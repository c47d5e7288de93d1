//! The client manager (seed 002): which business applications may use the SAM service, with
//! which profiles, how they authenticate, and where their alerts go.
//!
//! - **Access.** Every request of a client passes the request envelope's access check first
//!   (`Service::admit`):
//!   an unregistered client, or one without *Allow this client to access the SAM Service*,
//!   gets `client_access_denied` and nothing happens (the refusal is audited).
//! - **Profiles.** *Selected SAM Profiles* are, by default, every profile that exists when the
//!   client is registered (profiles created later are not added by themselves); a request may
//!   use only those (`not_found` otherwise, as for a profile that does not exist). A request
//!   that names no profile uses the *Default SAM Profile*, which must be one of the selected;
//!   with neither, `no_profile`.
//! - **Credentials.** A client secret is stored as an Argon2id PHC string. TLS client
//!   certificates are bound by their SHA-256 fingerprint. [`Service::authenticate_client`]
//!   applies seed 002's *EST client authentication* rule: with a TLS client certificate, the
//!   certificate identifies the client, and with *Require HTTP Basic Authentication with TLS
//!   Client Authentication* the Basic credentials must name the same client and verify too;
//!   without TLS client authentication the option is disregarded and HTTP Basic alone
//!   authenticates. Every failure is the same `client_authentication_failed`.

use crate::ErrorCode;
use std::collections::BTreeMap;

use sam_algorithms::HashAlgorithm;
use sam_sad::ClientId;
use sam_store::ClientRecord;
use serde::Serialize;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::service::{ClientContext, Service};
use crate::users::{email, mobile};
use crate::{OtherAction, ServiceError};

/// A client as an operator registers or edits it.
#[derive(Clone, Debug, Default)]
pub struct ClientSettings {
    /// The client id (1 to 64 of `a-zA-Z0-9_.-`).
    pub client_id: String,
    /// *Allow this client to access the SAM Service*.
    pub sam_access: bool,
    /// *Selected SAM Profiles*; `None` at registration: every existing profile.
    pub selected_profiles: Option<Vec<u32>>,
    /// *Default SAM Profile*, one of the selected.
    pub default_profile: Option<u32>,
    /// Where plan alerts go by e-mail.
    pub email: Option<String>,
    /// Where plan alerts go by SMS (E.164).
    pub mobile: Option<String>,
    /// The *Authorisation Certificate*, DER.
    pub authorisation_certificate: Option<Vec<u8>>,
    /// TLS client certificates bound to the client, DER.
    pub tls_certificates: Vec<Vec<u8>>,
    /// *Require HTTP Basic Authentication with TLS Client Authentication*.
    pub basic_with_tls: bool,
}

/// One page of List Clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientsPage {
    /// The clients, in id order.
    pub clients: Vec<ClientView>,
    /// The id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// One page of the Profile Usage Map: every profile id to those of its clients that are in
/// this page of clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageMapPage {
    /// Profile id to client ids.
    pub usage: BTreeMap<u32, Vec<String>>,
    /// The client id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// A client as the admin API shows it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientView {
    /// The id.
    pub client_id: String,
    /// Whether it may use the SAM service.
    pub sam_access: bool,
    /// The profiles it may use.
    pub selected_profiles: Vec<u32>,
    /// Its default profile.
    pub default_profile: Option<u32>,
    /// Alert e-mail.
    pub email: Option<String>,
    /// Alert mobile.
    pub mobile: Option<String>,
    /// The authorisation certificate's subject, if one is set.
    pub authorisation_certificate: Option<String>,
    /// Whether a client secret is set.
    pub has_secret: bool,
    /// SHA-256 fingerprints of the bound TLS client certificates.
    pub tls_certificates: Vec<String>,
    /// Whether HTTP Basic is required with TLS client authentication.
    pub basic_with_tls: bool,
    /// When it was registered (RFC 3339).
    pub created_at: String,
}

/// What the transport saw of a client: a TLS client certificate and/or HTTP Basic
/// credentials.
#[derive(Clone, Default)]
pub struct ClientCredentials {
    /// The peer's TLS client certificate, DER, when the connection used mutual TLS.
    pub tls_certificate: Option<Vec<u8>>,
    /// HTTP Basic: client id and secret.
    pub basic: Option<(String, Zeroizing<String>)>,
    /// The peer's address, for the back-off of repeated failures (`secret_check`).
    pub peer: Option<std::net::IpAddr>,
}

impl core::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field(
                "tls_certificate",
                &self.tls_certificate.as_ref().map(Vec::len),
            )
            .field(
                "basic",
                &self.basic.as_ref().map(|(id, _)| (id, "<redacted>")),
            )
            .field("peer", &self.peer)
            .finish()
    }
}

/// The SHA-256 fingerprint (lowercase hex) of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    crate::sap::hex(HashAlgorithm::Sha256.digest(der).as_bytes())
}

/// A peer address for an audit record (`-` when the transport gave none).
fn peer_text(peer: Option<std::net::IpAddr>) -> String {
    peer.map_or_else(|| "-".to_owned(), |p| p.to_string())
}

fn authentication_failed() -> ServiceError {
    ServiceError::new(
        ErrorCode::ClientAuthenticationFailed,
        "the client could not be authenticated",
    )
}

fn to_ids(ids: &[i64]) -> Vec<u32> {
    ids.iter()
        .filter_map(|id| u32::try_from(*id).ok())
        .collect()
}

fn view(record: &ClientRecord, all: &[u32]) -> ClientView {
    ClientView {
        client_id: record.client_id.clone(),
        sam_access: record.sam_access,
        selected_profiles: record
            .selected_profiles
            .as_deref()
            .map_or_else(|| all.to_vec(), to_ids),
        default_profile: record.default_profile.and_then(|p| u32::try_from(p).ok()),
        email: record.email.clone(),
        mobile: record.mobile.clone(),
        authorisation_certificate: record.authorisation_certificate.as_deref().and_then(|der| {
            <Certificate as der::Decode>::from_der(der)
                .ok()
                .map(|c| c.tbs_certificate().subject().to_string())
        }),
        has_secret: record.secret_hash.is_some(),
        tls_certificates: record.tls_certificates.clone(),
        basic_with_tls: record.basic_with_tls,
        created_at: record.created_at.to_string(),
    }
}

impl Service {
    fn all_profile_ids(&self) -> Vec<u32> {
        self.catalogue().iter().map(|p| p.id().get()).collect()
    }

    /// Checks `settings` and makes the record to store (keeping `existing`'s secret).
    fn client_record(
        &self,
        settings: &ClientSettings,
        existing: Option<&ClientRecord>,
    ) -> Result<ClientRecord, ServiceError> {
        ClientId::new(&settings.client_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let all = self.all_profile_ids();
        let selected = match (&settings.selected_profiles, existing) {
            (Some(ids), _) => ids.clone(),
            (None, Some(e)) => e
                .selected_profiles
                .as_deref()
                .map_or_else(|| all.clone(), to_ids),
            (None, None) => all.clone(),
        };
        if let Some(unknown) = selected.iter().find(|id| !all.contains(id)) {
            return Err(ServiceError::invalid(format!(
                "profile {unknown} does not exist"
            )));
        }
        if let Some(default) = settings.default_profile
            && !selected.contains(&default)
        {
            return Err(ServiceError::invalid(format!(
                "the default profile {default} is not among the selected profiles"
            )));
        }
        let email = settings.email.as_deref().map(email).transpose()?;
        let mobile = settings.mobile.as_deref().map(mobile).transpose()?;
        if let Some(der) = &settings.authorisation_certificate {
            let certificate = <Certificate as der::Decode>::from_der(der).map_err(|e| {
                ServiceError::invalid(format!("the authorisation certificate: {e}"))
            })?;
            let spki = der::Encode::to_der(certificate.tbs_certificate().subject_public_key_info())
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            sam_keys::public_key_spec(&spki).map_err(|e| {
                ServiceError::invalid(format!("the authorisation certificate's key: {e}"))
            })?;
        }
        let mut tls = Vec::new();
        for der in &settings.tls_certificates {
            <Certificate as der::Decode>::from_der(der)
                .map_err(|e| ServiceError::invalid(format!("a TLS client certificate: {e}")))?;
            tls.push(fingerprint(der));
        }
        let now = self.now();
        Ok(ClientRecord {
            client_id: settings.client_id.clone(),
            sam_access: settings.sam_access,
            selected_profiles: Some(selected.iter().map(|id| i64::from(*id)).collect()),
            default_profile: settings.default_profile.map(i64::from),
            email,
            mobile,
            authorisation_certificate: settings.authorisation_certificate.clone(),
            secret_hash: existing.and_then(|e| e.secret_hash.clone()),
            tls_certificates: tls,
            basic_with_tls: settings.basic_with_tls,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
    }

    /// Admin: registers a client (`client_exists` if the id is taken).
    pub async fn register_client(
        &self,
        settings: &ClientSettings,
    ) -> Result<ClientView, ServiceError> {
        let result = async {
            if self.store.client(&settings.client_id).await?.is_some() {
                return Err(ServiceError::new(
                    ErrorCode::ClientExists,
                    format!("client {} exists", settings.client_id),
                ));
            }
            let record = self.client_record(settings, None)?;
            self.store.put_client(&record).await?;
            Ok(view(&record, &self.all_profile_ids()))
        }
        .await;
        let detail = format!("client={}", settings.client_id);
        self.admin_audited(OtherAction::RegisterClient, detail, result)
            .await
    }

    /// Admin: edits a client (its secret stays).
    pub async fn update_client(
        &self,
        settings: &ClientSettings,
    ) -> Result<ClientView, ServiceError> {
        let result = async {
            let existing = self
                .store
                .client(&settings.client_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("client", &settings.client_id))?;
            let record = self.client_record(settings, Some(&existing))?;
            self.store.put_client(&record).await?;
            Ok(view(&record, &self.all_profile_ids()))
        }
        .await;
        let detail = format!("client={}", settings.client_id);
        self.admin_audited(OtherAction::EditClient, detail, result)
            .await
    }

    /// Admin: sets the client's secret (HTTP Basic), stored as Argon2id.
    pub async fn set_client_secret(
        &self,
        client: &str,
        secret: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        let result = async {
            if secret.chars().count() < 16 || secret.len() > 1024 {
                return Err(ServiceError::invalid(
                    "a client secret has 16 to 1024 characters",
                ));
            }
            let mut record = self
                .store
                .client(client)
                .await?
                .ok_or_else(|| ServiceError::not_found("client", client))?;
            record.secret_hash = Some(self.secrets.hash(secret).await?);
            record.updated_at = self.now();
            self.store.put_client(&record).await?;
            Ok(())
        }
        .await;
        self.admin_audited(
            OtherAction::SetClientSecret,
            format!("client={client}"),
            result,
        )
        .await
    }

    /// Admin: one client.
    pub async fn get_client(&self, client: &str) -> Result<ClientView, ServiceError> {
        let record = self
            .store
            .client(client)
            .await?
            .ok_or_else(|| ServiceError::not_found("client", client))?;
        Ok(view(&record, &self.all_profile_ids()))
    }

    /// Admin: a page of at most `limit` (1 to 1000) clients in id order after the client id
    /// `after`.
    pub async fn clients(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ClientsPage, ServiceError> {
        let limit = crate::paging::checked_limit(limit)?;
        let all = self.all_profile_ids();
        let clients: Vec<ClientView> = self
            .store
            .clients(after, limit)
            .await?
            .iter()
            .map(|r| view(r, &all))
            .collect();
        let next = crate::paging::next_cursor(&clients, limit, |c| c.client_id.clone());
        Ok(ClientsPage { clients, next })
    }

    /// Admin: *Profile Usage Map* — for every profile, the clients that may use it, over one
    /// page of clients (at most `limit`, in id order after `after`): every profile is a key
    /// of every page, and the pages merged give the whole map.
    pub async fn profile_usage_map(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<UsageMapPage, ServiceError> {
        let mut usage: BTreeMap<u32, Vec<String>> = self
            .all_profile_ids()
            .into_iter()
            .map(|id| (id, Vec::new()))
            .collect();
        let page = self.clients(after, limit).await?;
        for client in page.clients {
            for id in client.selected_profiles {
                usage.entry(id).or_default().push(client.client_id.clone());
            }
        }
        Ok(UsageMapPage {
            usage,
            next: page.next,
        })
    }

    /// Identifies the client of a connection (seed 002 *EST client authentication*; see the
    /// module documentation). The answer for any failure is `client_authentication_failed`.
    ///
    /// A refusal after a client secret was checked and did not match is audited
    /// (`client_authentication`, under the client id claimed if it is one, with the peer and
    /// the method). Refusals that cost no check — no credentials, an unknown certificate, a
    /// certificate without the Basic it needs, an attempt turned away by the back-off or a
    /// full queue (`authentication_throttled`, `busy`) — are not: the audit log grows at most
    /// as fast as the bounded secret checks run, whatever a flood sends.
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<ClientContext, ServiceError> {
        let mut secret_checked = false;
        let result = self
            .check_client_credentials(credentials, &mut secret_checked)
            .await;
        match result {
            Err(e) if secret_checked && e.code == ErrorCode::ClientAuthenticationFailed => {
                let claimed = credentials
                    .basic
                    .as_ref()
                    .map(|(id, _)| id.as_str())
                    .filter(|id| ClientId::new(*id).is_ok())
                    .unwrap_or("");
                let method = match (&credentials.tls_certificate, &credentials.basic) {
                    (Some(der), Some(_)) => format!("certificate={} and basic", fingerprint(der)),
                    (Some(der), None) => format!("certificate={}", fingerprint(der)),
                    (None, Some(_)) => "basic".to_owned(),
                    (None, None) => "none".to_owned(),
                };
                let detail = format!("peer={} method={method}", peer_text(credentials.peer));
                self.record(
                    claimed,
                    OtherAction::ClientAuthentication.into(),
                    "-",
                    detail,
                    Err(e),
                )
                .await
            }
            other => other,
        }
    }

    /// The client the credentials prove; `secret_checked` is set once a secret check has
    /// answered (its refusal is worth a record; the others cost nothing to send).
    async fn check_client_credentials(
        &self,
        credentials: &ClientCredentials,
        secret_checked: &mut bool,
    ) -> Result<ClientContext, ServiceError> {
        let record = match &credentials.tls_certificate {
            Some(der) => {
                let print = fingerprint(der);
                let record = self
                    .store
                    .client_by_certificate(&print)
                    .await?
                    .ok_or_else(authentication_failed)?;
                let basic_ok = match &credentials.basic {
                    Some((id, secret)) if *id == record.client_id => {
                        let matches = self
                            .secret_matches(Some(&record), id, secret, credentials.peer)
                            .await?;
                        *secret_checked = true;
                        matches
                    }
                    Some(_) => false,
                    None => !record.basic_with_tls,
                };
                if !basic_ok {
                    return Err(authentication_failed());
                }
                record
            }
            None => {
                let (id, secret) = credentials
                    .basic
                    .as_ref()
                    .ok_or_else(authentication_failed)?;
                let record = self.store.client(id).await?;
                let matches = self
                    .secret_matches(record.as_ref(), id, secret, credentials.peer)
                    .await?;
                *secret_checked = true;
                if !matches {
                    return Err(authentication_failed());
                }
                record.ok_or_else(authentication_failed)?
            }
        };
        ClientContext::authenticated(record)
    }

    /// Whether `secret` is the secret of client `id` (`record`; `None`: an unknown id, at the
    /// same Argon2id cost). A secret verified recently answers at once; otherwise the check
    /// waits for the back-off of the client id and of the peer, and runs on the bounded pool.
    async fn secret_matches(
        &self,
        record: Option<&ClientRecord>,
        id: &str,
        secret: &Zeroizing<String>,
        peer: Option<std::net::IpAddr>,
    ) -> Result<bool, ServiceError> {
        let phc = record
            .and_then(|r| r.secret_hash.clone())
            .unwrap_or_default();
        if self.verified_secrets.contains(&phc, secret) {
            return Ok(true);
        }
        let id_key = format!("client:{id}");
        let peer_key = peer.map(|p| format!("client-peer:{p}"));
        self.checked_secret(Some(&id_key), peer_key.as_deref(), secret, phc)
            .await
    }

    /// The operator's credential (`Authorization: Bearer` on the admin API) against its
    /// Argon2id hash `phc`: remembered like a client secret once verified, slowed per peer
    /// after repeated failures, on the bounded pool. `admin_authentication_failed` when wrong.
    pub async fn authenticate_admin(
        &self,
        phc: &str,
        token: &Zeroizing<String>,
        peer: Option<std::net::IpAddr>,
    ) -> Result<(), ServiceError> {
        let refused = || {
            ServiceError::new(
                ErrorCode::AdminAuthenticationFailed,
                "the admin credential is required",
            )
        };
        if phc.is_empty() {
            return Err(refused());
        }
        if self.verified_secrets.contains(phc, token) {
            return Ok(());
        }
        let peer_key = peer.map(|p| format!("admin-peer:{p}"));
        if self
            .checked_secret(None, peer_key.as_deref(), token, phc.to_owned())
            .await?
        {
            Ok(())
        } else {
            // Checked and refused: audited (a throttled or queued-out attempt returned above).
            self.record(
                "",
                OtherAction::AdminAuthentication.into(),
                "-",
                format!("peer={}", peer_text(peer)),
                Err(refused()),
            )
            .await
        }
    }

    /// Checks `secret` against `phc` on the bounded pool, first refusing an attempt whose
    /// client id (`id_key`) or peer (`peer_key`) must still wait (`authentication_throttled`,
    /// held up to a second before it is answered); records the outcome for each (a success
    /// clears the client id; a peer's count only ends with time) and remembers a match.
    async fn checked_secret(
        &self,
        id_key: Option<&str>,
        peer_key: Option<&str>,
        secret: &Zeroizing<String>,
        phc: String,
    ) -> Result<bool, ServiceError> {
        use crate::secret_check::FailureBackoff;
        let keys: Vec<&str> = id_key.into_iter().chain(peer_key).collect();
        if let Err(wait) = self.failures.admit(&keys, std::time::Instant::now()) {
            let hold = FailureBackoff::hold(wait);
            tokio::time::sleep(hold).await;
            return Err(FailureBackoff::refusal(wait.saturating_sub(hold)));
        }
        let matches = match self.secrets.verify(secret.clone(), phc.clone()).await {
            Ok(m) => m,
            Err(e) => {
                keys.iter().for_each(|key| self.failures.abandoned(key));
                return Err(e);
            }
        };
        if matches {
            self.verified_secrets.insert(&phc, secret);
            if let Some(id) = id_key {
                self.failures.succeeded(id);
            }
            if let Some(peer) = peer_key {
                self.failures.abandoned(peer);
            }
        } else {
            let now = std::time::Instant::now();
            keys.iter().for_each(|key| self.failures.failed(key, now));
        }
        Ok(matches)
    }

    /// The access check every request passes first: a registered client with SAM access.
    pub(crate) async fn ensure_client_access(
        &self,
        ctx: &ClientContext,
    ) -> Result<(), ServiceError> {
        match self.request_client(ctx).await? {
            Some(c) if c.sam_access => Ok(()),
            Some(_) => Err(ServiceError::new(
                ErrorCode::ClientAccessDenied,
                format!(
                    "client {} is not allowed to access the SAM service",
                    ctx.id()
                ),
            )),
            None => Err(ServiceError::new(
                ErrorCode::ClientAccessDenied,
                format!("client {} is not registered for the SAM service", ctx.id()),
            )),
        }
    }

    /// The profile a request uses: the one it names, or the client's default profile
    /// (`no_profile` when it names none and the client has no default).
    pub(crate) async fn requested_profile(
        &self,
        ctx: &ClientContext,
        named: Option<u32>,
    ) -> Result<u32, ServiceError> {
        if let Some(id) = named {
            return Ok(id);
        }
        self.request_client(ctx)
            .await?
            .and_then(|c| c.default_profile)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::NoProfile,
                    "the request names no SAM profile and the client has no default profile",
                )
            })
    }
}
