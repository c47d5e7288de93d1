//! The CSC API's OAuth 2.0 authorisation server (CSC API 2.2.0.0 §8; docs/csc.md "OAuth2"):
//! what happens between a client's authorisation request and the tokens it gets, over the
//! store. The protocol's rules are `sam_oauth2`'s; samd serves the endpoints and the user's
//! pages.
//!
//! - **OAuth clients** are registered by the operator for one sam client, with their redirect
//!   URIs; a confidential one gets a secret, shown once and stored as a keyed hash.
//! - **An authorisation** begins with the request — read from the authorisation endpoint's
//!   query, or pushed before by the client (PAR) — and is bound to the browser that opened it
//!   (a secret cookie, stored as a keyed hash): every later step must come from that browser.
//!   Until the client and its redirect URI are known good nothing is redirected; afterwards
//!   every refusal goes back to the client with its `state` and `iss`.
//! - **The user logs in** on sam's page with their password, checked as Authenticate checks
//!   it (the same lock-out), counted as Authenticate and audited `oauth_login`.
//! - **The code** (`soa1_…`, stored as a keyed hash) lives [`CODE_SECS`] seconds, is bound to
//!   its client, the redirect URI and the PKCE challenge, and is taken once: a second use is
//!   refused and ends the tokens the first gave (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
//! - **`scope=credential`** (or RAR `authorization_details` of type `credential`): after the
//!   login, the named credential must be the user's, and the documents its digests; sam makes
//!   the Authorise of exactly those digests (raw signatures, as `credentials/authorize` does)
//!   and the user approves it on their registered device — the page follows the request
//!   ([`Service::authorization_progress`]) — or, without a device, with their PIN on the page
//!   ([`Service::authorization_pin`], SCAL1). Only an authorised request gives a code; a
//!   decline or expiry goes back to the client as `access_denied`.
//! - **Tokens** for `scope=service` are the user's access token (and refresh token) of the
//!   CSC API, as `auth/login` gives them; for `scope=credential` an access token bound to the
//!   authorised request, which stands for its SAD (`signatures/signHash` without `SAD`), lives
//!   no longer than the SAD and has no refresh token. Both audited `issue_access_token` with
//!   `via=oauth2`.
//!
//! `signatureQualifier` (sam's keys carry none) and `client_credentials` are refused.

use base64ct::Encoding as _;
use sam_oauth2::authorize::{
    AuthorizationRequest, Authorize, CredentialRequest, CredentialSelector, REQUEST_URI_PREFIX,
    Scope,
};
use sam_oauth2::params::Params;
use sam_oauth2::redirect::{self, RedirectUri};
use sam_oauth2::token::{ClientAuthentication, Grant};
use sam_oauth2::{ErrorCode as OAuthCode, OAuthError};
use sam_plan::RequestType;
use sam_store::{NewOAuthAuthorization, OAuthAuthorizationRecord, OAuthClientRecord, OAuthStage};
use zeroize::Zeroizing;

use crate::access_tokens::IssuedAccessToken;
use crate::service::{ClientContext, Service};
use crate::{Authorise, Credential, OtherAction, ServiceError, UserSecret};
use sam_store::RequestStatus;

/// How long an authorisation may take from its request to the code, in seconds.
pub const AUTHORIZATION_SECS: i64 = 600;
/// How long a pushed request's `request_uri` may wait to be opened (RFC 9126 §2.2).
pub const PUSHED_SECS: i64 = 90;
/// How long a code lives, in seconds (RFC 6749 §4.1.2: short; one minute).
pub const CODE_SECS: i64 = 60;
/// The most authorisations in progress per OAuth client.
pub const MAX_LIVE_AUTHORIZATIONS: i64 = 10_000;
/// The most redirect URIs one client registers.
pub const MAX_REDIRECT_URIS: usize = 16;

const CLIENT_SECRET_PREFIX: &str = "soc1_";
const CODE_PREFIX: &str = "soa1_";
const SECRET_PURPOSE: &str = "oauth_client_secret";
const BROWSER_PURPOSE: &str = "oauth_browser";
const CODE_PURPOSE: &str = "oauth_code";

/// Why an OAuth step failed: a refusal of the protocol (its code and description), or the
/// service's own (store, configuration), which the endpoint answers as `server_error` or
/// `temporarily_unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum OAuthFailure {
    /// A refusal of the protocol.
    #[error(transparent)]
    Protocol(#[from] OAuthError),
    /// The service's.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sam_store::StoreError> for OAuthFailure {
    fn from(e: sam_store::StoreError) -> Self {
        Self::Service(e.into())
    }
}

/// A refusal at the authorisation endpoint: where the user's browser goes — back to the
/// client with the error (`redirect`), or, when the client or its redirect URI is not known
/// good, nowhere (the page shows the error).
#[derive(Debug)]
pub struct AuthorizeRefusal {
    /// The refusal.
    pub failure: OAuthFailure,
    /// The client's redirect URI with the error, `state` and `iss`, when it may be used.
    pub redirect: Option<String>,
}

/// An OAuth client as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    /// Its `client_id`.
    pub oauth_client_id: String,
    /// The sam client it acts for.
    pub client_id: String,
    /// The name the user's pages show.
    pub name: String,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Whether it authenticates with a secret (a confidential client).
    pub confidential: bool,
}

/// A newly registered client: its identifier, and its secret (shown this once).
pub struct RegisteredOAuthClient {
    /// The client.
    pub client: OAuthClient,
    /// The secret of a confidential client.
    pub client_secret: Option<Zeroizing<String>>,
}

impl core::fmt::Debug for RegisteredOAuthClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegisteredOAuthClient")
            .field("client", &self.client)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A pushed request's answer (RFC 9126 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRequest {
    /// `urn:ietf:params:oauth:request_uri:…`.
    pub request_uri: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// What the user's page shows of an authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationView {
    /// The authorisation's identifier (the pages' handle).
    pub authorization_id: String,
    /// Where the browser goes back to: the client's redirect URI (its origin is the one a
    /// page's form may lead to, `form-action`).
    pub redirect_uri: String,
    /// The client's name.
    pub client_name: String,
    /// What is asked: `service` or `credential`.
    pub scope: &'static str,
    /// For `credential`: the credential.
    pub credential_id: Option<String>,
    /// For `credential`: the documents, as the user sees them (label, digest in hex).
    pub documents: Vec<(String, String)>,
}

/// What the user's page does after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationStep {
    /// The browser goes to this URL: the client's redirect URI with the code.
    Redirect(String),
    /// The authorisation is refused (a decline, an expiry, a credential that is not the
    /// user's): the page says why, then the browser goes back to the client's redirect URI
    /// with the error.
    Refused {
        /// The client's redirect URI with the error, `state` and `iss`.
        redirect: String,
        /// The refusal.
        error: OAuthError,
    },
    /// The request waits for the user's device; the page follows it
    /// ([`Service::authorization_progress`]).
    AwaitDevice(AuthorizationView),
    /// The page asks for the user's PIN (their sam password) for these documents
    /// ([`Service::authorization_pin`]): a SCAL1 credential of a user without a device.
    AskPin(AuthorizationView),
}

/// An authorisation opened in a browser: the cookie to set, and the page to show.
pub struct BegunAuthorization {
    /// The browser's secret (the cookie's value); only its keyed hash is stored.
    pub browser_secret: Zeroizing<String>,
    /// The page.
    pub view: AuthorizationView,
}

impl core::fmt::Debug for BegunAuthorization {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BegunAuthorization")
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint answers.
#[derive(Debug)]
pub struct OAuthTokens {
    /// The tokens.
    pub issued: IssuedAccessToken,
    /// The scope they carry: `service` or `credential`.
    pub scope: &'static str,
    /// For `credential`: the credential the token authorises.
    pub credential_id: Option<String>,
}

fn random_text(prefix: &str, len: usize) -> Result<Zeroizing<String>, ServiceError> {
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(bytes.as_mut()).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    Ok(Zeroizing::new(format!(
        "{prefix}{}",
        base64ct::Base64UrlUnpadded::encode_string(bytes.as_ref())
    )))
}

/// A presented secret of the given prefix and 32 random bytes, if it has that form (bounded
/// before it is hashed).
fn well_formed<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    (rest.len() == 43
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(text)
}

fn invalid_client() -> OAuthError {
    OAuthError::new(
        OAuthCode::InvalidClient,
        "the client is unknown, or its authentication failed",
    )
}

fn view_of(record: &OAuthClientRecord) -> Result<OAuthClient, ServiceError> {
    let redirect_uris: Vec<String> = serde_json::from_str(&record.redirect_uris)
        .map_err(|e| ServiceError::internal(format!("stored redirect URIs: {e}")))?;
    Ok(OAuthClient {
        oauth_client_id: record.oauth_client_id.clone(),
        client_id: record.client_id.clone(),
        name: record.name.clone(),
        redirect_uris,
        confidential: record.secret_hash.is_some(),
    })
}

/// The redirect URI a request goes back to: the one it names, if registered (exactly); or,
/// when it names none, the client's only one.
fn resolve_redirect(client: &OAuthClient, requested: Option<&str>) -> Result<String, OAuthError> {
    match requested {
        Some(uri) => client
            .redirect_uris
            .iter()
            .filter_map(|r| RedirectUri::parse(r).ok())
            .any(|r| r.matches(uri))
            .then(|| uri.to_owned())
            .ok_or_else(|| {
                OAuthError::invalid(
                    "redirect_uri is not one registered for this client (compared exactly)",
                )
            }),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(OAuthError::invalid(
                "redirect_uri is missing, and this client registered several",
            )),
        },
    }
}

impl Service {
    fn oauth_issuer(&self) -> Result<&str, ServiceError> {
        self.settings.oauth2_issuer.as_deref().ok_or_else(|| {
            ServiceError::new(
                crate::ErrorCode::NotConfigured,
                "the OAuth 2.0 authorisation server is not configured ([csc] oauth2_issuer)",
            )
        })
    }

    fn keyed(&self, purpose: &str, secret: &str) -> Result<Vec<u8>, ServiceError> {
        self.code_key()?.hash(purpose, "", secret)
    }

    /// Admin: registers an OAuth client of the sam client `client_id` — its name (shown to
    /// the user), its redirect URIs ([`sam_oauth2::redirect`]'s rules, 1 to
    /// [`MAX_REDIRECT_URIS`]) and whether it is confidential (then its secret is made and
    /// given this once). Audited `register_oauth_client`.
    pub async fn register_oauth_client(
        &self,
        client_id: &str,
        name: &str,
        redirect_uris: &[String],
        confidential: bool,
    ) -> Result<RegisteredOAuthClient, ServiceError> {
        let result = async {
            if self.store.client(client_id).await?.is_none() {
                return Err(ServiceError::not_found("client", client_id));
            }
            if name.trim().is_empty()
                || name.chars().count() > 100
                || name.chars().any(char::is_control)
            {
                return Err(ServiceError::invalid(
                    "an OAuth client's name has 1 to 100 characters, no control characters",
                ));
            }
            if redirect_uris.is_empty() || redirect_uris.len() > MAX_REDIRECT_URIS {
                return Err(ServiceError::invalid(format!(
                    "an OAuth client registers 1 to {MAX_REDIRECT_URIS} redirect URIs"
                )));
            }
            for uri in redirect_uris {
                RedirectUri::parse(uri).map_err(|e| ServiceError::invalid(e.description))?;
            }
            let oauth_client_id = random_text("", 16)?.to_string();
            let client_secret = if confidential {
                Some(random_text(CLIENT_SECRET_PREFIX, 32)?)
            } else {
                None
            };
            let record = OAuthClientRecord {
                oauth_client_id: oauth_client_id.clone(),
                client_id: client_id.to_owned(),
                name: name.to_owned(),
                redirect_uris: serde_json::to_string(redirect_uris)
                    .map_err(|e| ServiceError::internal(e.to_string()))?,
                secret_hash: client_secret
                    .as_ref()
                    .map(|s| self.keyed(SECRET_PURPOSE, s))
                    .transpose()?,
                created_at: self.now(),
            };
            if !self.store.insert_oauth_client(&record).await? {
                return Err(ServiceError::internal("a random client id was taken"));
            }
            Ok(RegisteredOAuthClient {
                client: view_of(&record)?,
                client_secret,
            })
        }
        .await;
        let detail = match &result {
            Ok(r) => format!(
                "client={client_id} oauth_client={}",
                r.client.oauth_client_id
            ),
            Err(_) => format!("client={client_id}"),
        };
        self.admin_audited(OtherAction::RegisterOAuthClient, detail, result)
            .await
    }

    /// Admin: the sam client's OAuth clients.
    pub async fn oauth_clients(&self, client_id: &str) -> Result<Vec<OAuthClient>, ServiceError> {
        self.store
            .oauth_clients_of(client_id)
            .await?
            .iter()
            .map(view_of)
            .collect()
    }

    /// Admin: deletes the sam client's OAuth client and its authorisations in progress (tokens
    /// it obtained stay the user's until they expire or are revoked). Audited
    /// `delete_oauth_client`.
    pub async fn delete_oauth_client(
        &self,
        client_id: &str,
        oauth_client_id: &str,
    ) -> Result<(), ServiceError> {
        let result = async {
            if self
                .store
                .delete_oauth_client(client_id, oauth_client_id)
                .await?
            {
                Ok(())
            } else {
                Err(ServiceError::not_found("OAuth client", oauth_client_id))
            }
        }
        .await;
        self.admin_audited(
            OtherAction::DeleteOAuthClient,
            format!("client={client_id} oauth_client={oauth_client_id}"),
            result,
        )
        .await
    }

    /// The OAuth client a token or PAR request authenticates as: a confidential client by
    /// its secret (compared as keyed hashes), a public one by its identifier alone (PKCE binds
    /// its codes). A public client that sends a secret, or a confidential one that sends none,
    /// is `invalid_client`, as an unknown one.
    pub async fn authenticate_oauth_client(
        &self,
        authentication: &ClientAuthentication,
    ) -> Result<OAuthClient, OAuthFailure> {
        let Some(record) = self.store.oauth_client(authentication.client_id()).await? else {
            return Err(invalid_client().into());
        };
        match (authentication, &record.secret_hash) {
            (ClientAuthentication::None { .. }, None) => Ok(view_of(&record)?),
            (ClientAuthentication::Secret { client_secret, .. }, Some(stored)) => {
                let matches = well_formed(client_secret, CLIENT_SECRET_PREFIX)
                    .map(|s| self.keyed(SECRET_PURPOSE, s))
                    .transpose()?
                    .is_some_and(|h| {
                        bool::from(subtle::ConstantTimeEq::ct_eq(&h[..], &stored[..]))
                    });
                if matches {
                    Ok(view_of(&record)?)
                } else {
                    Err(invalid_client().into())
                }
            }
            _ => Err(invalid_client().into()),
        }
    }

    /// Checks a request for what this server serves: a credential scope names its
    /// credential by `credentialID` and binds the hashes it signs.
    fn served_scope(request: &AuthorizationRequest) -> Result<(), OAuthError> {
        match &request.scope {
            Scope::Service => Ok(()),
            Scope::Credential(c) => {
                if let CredentialSelector::Qualifier(_) = c.credential {
                    return Err(OAuthError::invalid(
                        "signatureQualifier is not supported: sam's credentials carry none; \
                         name the credentialID (credentials/list)",
                    ));
                }
                if c.documents.is_empty() {
                    return Err(OAuthError::invalid(
                        "sam binds every authorisation to the hashes it signs: send hashes \
                         and hashAlgorithmOID (or authorization_details with documentDigests)",
                    ));
                }
                Ok(())
            }
        }
    }

    /// PAR (RFC 9126): the authenticated client pushes its request; it is checked as the
    /// authorisation endpoint would check it and kept for [`PUSHED_SECS`] seconds under the
    /// `request_uri` answered.
    pub async fn push_authorization(
        &self,
        authentication: &ClientAuthentication,
        params: &Params,
    ) -> Result<PushedRequest, OAuthFailure> {
        self.oauth_issuer()?;
        let client = self.authenticate_oauth_client(authentication).await?;
        let request = AuthorizationRequest::from_params(params)?;
        if request.client_id != client.oauth_client_id {
            return Err(
                OAuthError::invalid("client_id differs from the authenticated client").into(),
            );
        }
        let redirect_uri = resolve_redirect(&client, request.redirect_uri.as_deref())?;
        Self::served_scope(&request)?;
        let id = random_text("", 16)?;
        let now = self.now();
        let stored = self
            .store
            .insert_oauth_authorization(
                &NewOAuthAuthorization {
                    authorization_id: &id,
                    oauth_client_id: &client.oauth_client_id,
                    client_id: &client.client_id,
                    request: &encode(params),
                    redirect_uri: &redirect_uri,
                    stage: OAuthStage::Pushed,
                    browser_hash: None,
                    expires_at: later(now, PUSHED_SECS)?,
                },
                MAX_LIVE_AUTHORIZATIONS,
                now,
            )
            .await?;
        if !stored {
            return Err(busy().into());
        }
        Ok(PushedRequest {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", id.as_str()),
            expires_in: PUSHED_SECS,
        })
    }

    /// The authorisation endpoint (RFC 6749 §4.1.1): reads the request (`query`, or the pushed
    /// one it names), checks the client and redirect URI first, and opens the authorisation in
    /// this browser, for [`AUTHORIZATION_SECS`] seconds.
    pub async fn begin_authorization(
        &self,
        query: &[u8],
    ) -> Result<BegunAuthorization, AuthorizeRefusal> {
        let issuer = self
            .oauth_issuer()
            .map_err(|e| nowhere(e.into()))?
            .to_owned();
        let params = Params::from_form(query).map_err(|e| nowhere(e.into()))?;
        let browser_secret = random_text("", 32).map_err(|e| nowhere(e.into()))?;
        let browser_hash = self
            .keyed(BROWSER_PURPOSE, &browser_secret)
            .map_err(|e| nowhere(e.into()))?;
        let now = self.now();
        // A pushed request is named whole; a direct one is read after its client and
        // redirect URI, so that its other faults can go back to the client.
        match Authorize::pushed(&params).map_err(|e| nowhere(e.into()))? {
            Some(pushed) => {
                let (id, client_id) = (pushed.id(), &pushed.client_id);
                let gone = || {
                    nowhere(
                        OAuthError::new(
                            OAuthCode::InvalidRequestUri,
                            "request_uri is unknown, expired or used",
                        )
                        .into(),
                    )
                };
                // Once opened, a pushed request may take as long as any other.
                let expires_at = later(now, AUTHORIZATION_SECS).map_err(|e| nowhere(e.into()))?;
                let opened = self
                    .store
                    .open_pushed_oauth_authorization(id, client_id, &browser_hash, expires_at, now)
                    .await
                    .map_err(|e| nowhere(e.into()))?;
                if !opened {
                    return Err(gone());
                }
                let record = self
                    .store
                    .oauth_authorization(id, now)
                    .await
                    .map_err(|e| nowhere(e.into()))?
                    .ok_or_else(gone)?;
                let client = self.oauth_client_view(client_id).await.map_err(nowhere)?;
                let request = stored_request(&record.request).map_err(nowhere)?;
                Ok(BegunAuthorization {
                    browser_secret,
                    view: view_for(&record, &client.name, &request),
                })
            }
            None => {
                let (client_id, requested) =
                    AuthorizationRequest::client_id_of(&params).map_err(|e| nowhere(e.into()))?;
                let client = self.oauth_client_view(client_id).await.map_err(nowhere)?;
                let redirect_uri =
                    resolve_redirect(&client, requested).map_err(|e| nowhere(e.into()))?;
                // From here every refusal goes back to the client.
                let state = params.get("state").map(str::to_owned);
                let back = |error: OAuthError| AuthorizeRefusal {
                    redirect: Some(redirect::error_response(
                        &redirect_uri,
                        &error,
                        state.as_deref(),
                        &issuer,
                    )),
                    failure: error.into(),
                };
                let request = AuthorizationRequest::from_params(&params).map_err(back)?;
                Self::served_scope(&request).map_err(back)?;
                let id = random_text("", 16).map_err(|e| nowhere(e.into()))?;
                let stored = self
                    .store
                    .insert_oauth_authorization(
                        &NewOAuthAuthorization {
                            authorization_id: &id,
                            oauth_client_id: &client.oauth_client_id,
                            client_id: &client.client_id,
                            request: &encode(&params),
                            redirect_uri: &redirect_uri,
                            stage: OAuthStage::Started,
                            browser_hash: Some(&browser_hash),
                            expires_at: later(now, AUTHORIZATION_SECS)
                                .map_err(|e| nowhere(e.into()))?,
                        },
                        MAX_LIVE_AUTHORIZATIONS,
                        now,
                    )
                    .await
                    .map_err(|e| nowhere(e.into()))?;
                if !stored {
                    return Err(back(busy()));
                }
                Ok(BegunAuthorization {
                    browser_secret,
                    view: view_for_new(&id, &redirect_uri, &client.name, &request),
                })
            }
        }
    }

    async fn oauth_client_view(&self, oauth_client_id: &str) -> Result<OAuthClient, OAuthFailure> {
        let record = self
            .store
            .oauth_client(oauth_client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid("client_id is not a registered client"))?;
        Ok(view_of(&record)?)
    }

    /// The authorisation open in this browser at `stage` (its record, sam client and request).
    async fn bound(
        &self,
        authorization_id: &str,
        browser_hash: &[u8],
        stage: OAuthStage,
    ) -> Result<
        (
            OAuthAuthorizationRecord,
            ClientContext,
            AuthorizationRequest,
        ),
        AuthorizeRefusal,
    > {
        let record = self
            .store
            .oauth_authorization(authorization_id, self.now())
            .await
            .map_err(|e| nowhere(e.into()))?
            .filter(|r| r.stage == stage && of_browser(r, browser_hash))
            .ok_or_else(not_open)?;
        let ctx = ClientContext::new(&record.client_id).map_err(|e| nowhere(e.into()))?;
        let request = stored_request(&record.request).map_err(nowhere)?;
        Ok((record, ctx, request))
    }

    /// Back to the client with `error` (its `state`, `iss`), the authorisation refused.
    async fn refuse_back(
        &self,
        record: &OAuthAuthorizationRecord,
        request: &AuthorizationRequest,
        browser_hash: &[u8],
        error: OAuthError,
    ) -> Result<AuthorizationStep, AuthorizeRefusal> {
        let issuer = self.oauth_issuer().map_err(|e| nowhere(e.into()))?;
        self.store
            .advance_oauth_authorization(
                &record.authorization_id,
                browser_hash,
                OAuthStage::LoggedIn,
                OAuthStage::Refused,
                None,
                None,
                self.now(),
            )
            .await
            .map_err(|e| nowhere(e.into()))?;
        Ok(AuthorizationStep::Refused {
            redirect: redirect::error_response(
                &record.redirect_uri,
                &error,
                request.state.as_deref(),
                issuer,
            ),
            error,
        })
    }

    /// Issues the code of a logged-in authorisation (its SAP request authorised, for a
    /// credential scope) and answers the redirect to the client.
    async fn code_redirect(
        &self,
        record: &OAuthAuthorizationRecord,
        request: &AuthorizationRequest,
        browser_hash: &[u8],
    ) -> Result<AuthorizationStep, AuthorizeRefusal> {
        let issuer = self.oauth_issuer().map_err(|e| nowhere(e.into()))?;
        let now = self.now();
        let code = random_text(CODE_PREFIX, 32).map_err(|e| nowhere(e.into()))?;
        let code_hash = self
            .keyed(CODE_PURPOSE, &code)
            .map_err(|e| nowhere(e.into()))?;
        let issued = self
            .store
            .issue_oauth_code(
                &record.authorization_id,
                browser_hash,
                &code_hash,
                later(now, CODE_SECS).map_err(|e| nowhere(e.into()))?,
                now,
            )
            .await
            .map_err(|e| nowhere(e.into()))?;
        if !issued {
            return Err(nowhere(
                OAuthError::invalid("this authorisation moved on meanwhile").into(),
            ));
        }
        Ok(AuthorizationStep::Redirect(redirect::code_response(
            &record.redirect_uri,
            &code,
            request.state.as_deref(),
            issuer,
        )))
    }

    /// The user logs in on the authorisation's page: their password is checked as
    /// Authenticate checks it (counted as Authenticate, audited `oauth_login`), in the browser
    /// the authorisation is bound to. For `scope=service` the code is issued at once; for
    /// `scope=credential` sam makes the Authorise of the documents and the page waits for the
    /// user's device, or asks for the PIN. A wrong password keeps the page (the refusal has
    /// no redirect).
    pub async fn authorization_login(
        &self,
        authorization_id: &str,
        browser_secret: &str,
        user_id: &str,
        password: Zeroizing<String>,
    ) -> Result<AuthorizationStep, AuthorizeRefusal> {
        let browser_hash = self.browser_hash(browser_secret)?;
        let (record, ctx, request) = self
            .bound(authorization_id, &browser_hash, OAuthStage::Started)
            .await?;
        self.request_as(
            &ctx,
            RequestType::Authenticate,
            OtherAction::OAuthLogin,
            user_id,
            format!("user={user_id} oauth_client={}", record.oauth_client_id),
            async {
                crate::sap::user_id(user_id)?;
                self.check_password(&ctx, user_id, password).await
            },
        )
        .await
        .map_err(|e| nowhere(e.into()))?;
        let moved = self
            .store
            .advance_oauth_authorization(
                authorization_id,
                &browser_hash,
                OAuthStage::Started,
                OAuthStage::LoggedIn,
                Some(user_id),
                None,
                self.now(),
            )
            .await
            .map_err(|e| nowhere(e.into()))?;
        if !moved {
            return Err(nowhere(
                OAuthError::invalid("this authorisation moved on meanwhile").into(),
            ));
        }
        let Scope::Credential(asked) = &request.scope else {
            return self.code_redirect(&record, &request, &browser_hash).await;
        };
        let (credential, authorise) = match self.credential_authorise(&ctx, user_id, asked).await {
            Ok(found) => found,
            Err(OAuthFailure::Protocol(e)) => {
                return self.refuse_back(&record, &request, &browser_hash, e).await;
            }
            Err(e) => return Err(nowhere(e)),
        };
        let view = view_for(&record, &self.client_name(&record).await, &request);
        if !credential.authorisation.device {
            if credential.authorisation.pin {
                return Ok(AuthorizationStep::AskPin(view));
            }
            return self
                .refuse_back(
                    &record,
                    &request,
                    &browser_hash,
                    OAuthError::new(
                        OAuthCode::AccessDenied,
                        "the user has no registered device and no PIN to authorise with",
                    ),
                )
                .await;
        }
        let created = self
            .authorise(&ctx, authorise)
            .await
            .map_err(|e| nowhere(e.into()))?;
        self.store
            .advance_oauth_authorization(
                authorization_id,
                &browser_hash,
                OAuthStage::LoggedIn,
                OAuthStage::LoggedIn,
                None,
                Some(&created.request_id),
                self.now(),
            )
            .await
            .map_err(|e| nowhere(e.into()))?;
        Ok(AuthorizationStep::AwaitDevice(view))
    }

    /// The keyed hash of a browser's secret, as stored.
    fn browser_hash(&self, browser_secret: &str) -> Result<Vec<u8>, AuthorizeRefusal> {
        self.keyed(BROWSER_PURPOSE, browser_secret)
            .map_err(|e| nowhere(e.into()))
    }

    /// What the page of an authorisation open in this browser shows (to show it again, after
    /// a wrong password or PIN): one started or logged in, live, and this browser's.
    pub async fn authorization_view(
        &self,
        authorization_id: &str,
        browser_secret: &str,
    ) -> Result<AuthorizationView, AuthorizeRefusal> {
        let browser_hash = self.browser_hash(browser_secret)?;
        let record = self
            .store
            .oauth_authorization(authorization_id, self.now())
            .await
            .map_err(|e| nowhere(e.into()))?
            .filter(|r| {
                matches!(r.stage, OAuthStage::Started | OAuthStage::LoggedIn)
                    && of_browser(r, &browser_hash)
            })
            .ok_or_else(not_open)?;
        let request = stored_request(&record.request).map_err(nowhere)?;
        Ok(view_for(
            &record,
            &self.client_name(&record).await,
            &request,
        ))
    }

    async fn client_name(&self, record: &OAuthAuthorizationRecord) -> String {
        match self.store.oauth_client(&record.oauth_client_id).await {
            Ok(Some(client)) => client.name,
            _ => record.oauth_client_id.clone(),
        }
    }

    /// The Authorise a credential scope asks for: the credential must be the user's, usable
    /// signature by signature (no eSeal), of the documents' digest algorithm and within its
    /// multisign; the documents are labelled as the request labels them.
    async fn credential_authorise(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        asked: &CredentialRequest,
    ) -> Result<(Credential, Authorise), OAuthFailure> {
        let CredentialSelector::Id(key_id) = &asked.credential else {
            return Err(OAuthError::invalid("signatureQualifier is not supported").into());
        };
        let credential = match self.credential_facts(ctx, user_id, key_id).await {
            Ok(c) => c,
            Err(e) if e.code == crate::ErrorCode::NotFound => {
                return Err(OAuthError::new(
                    OAuthCode::AccessDenied,
                    "the credential is not one of the logged-in user's",
                )
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        let algorithm = asked
            .documents
            .first()
            .map(|d| d.digest.algorithm())
            .ok_or_else(|| OAuthError::invalid("no documents"))?;
        if algorithm != credential.hash_algorithm {
            return Err(OAuthError::invalid(format!(
                "hashAlgorithmOID names {algorithm}; this credential signs {} digests",
                credential.hash_algorithm
            ))
            .into());
        }
        let digests = asked
            .documents
            .iter()
            .map(|d| (d.label.clone(), d.digest.as_bytes().to_vec()))
            .collect();
        let authorise = credential
            .authorise_digests(
                user_id,
                asked.description.as_deref(),
                asked.num_signatures,
                digests,
                sam_cms::Format::Raw,
            )
            .map_err(|e| OAuthError::invalid(e.message))?;
        Ok((credential, authorise))
    }

    /// Where the user's device is with the authorisation's request (read, not counted: it
    /// is part of the authorisation): still pending — the page waits; approved — the code
    /// and the redirect; declined or expired — back to the client with `access_denied`.
    pub async fn authorization_progress(
        &self,
        authorization_id: &str,
        browser_secret: &str,
    ) -> Result<AuthorizationStep, AuthorizeRefusal> {
        let browser_hash = self.browser_hash(browser_secret)?;
        let (record, ctx, request) = self
            .bound(authorization_id, &browser_hash, OAuthStage::LoggedIn)
            .await?;
        let (Some(user), Some(request_id)) = (&record.user_id, &record.request_id) else {
            return Err(nowhere(
                OAuthError::invalid("this authorisation waits for no device").into(),
            ));
        };
        let state = self
            .read_authorisation_state(&ctx, user, request_id)
            .await
            .map_err(|e| nowhere(e.into()))?;
        let denied = |why: &str| OAuthError::new(OAuthCode::AccessDenied, why);
        match state.status {
            RequestStatus::Pending => Ok(AuthorizationStep::AwaitDevice(view_for(
                &record,
                &self.client_name(&record).await,
                &request,
            ))),
            RequestStatus::Authorised => self.code_redirect(&record, &request, &browser_hash).await,
            RequestStatus::Declined => {
                self.refuse_back(
                    &record,
                    &request,
                    &browser_hash,
                    denied("declined on the user's device"),
                )
                .await
            }
            _ => {
                self.refuse_back(
                    &record,
                    &request,
                    &browser_hash,
                    denied("the request expired before the user's device answered"),
                )
                .await
            }
        }
    }

    /// The user's PIN (their sam password) for a SCAL1 credential of a user without a
    /// device: sam checks it and authorises exactly the documents (Authorise and sam's own
    /// SAD, as `credentials/authorize` with a PIN); then the code and the redirect. A wrong
    /// PIN keeps the page, within the lock-out.
    pub async fn authorization_pin(
        &self,
        authorization_id: &str,
        browser_secret: &str,
        pin: Zeroizing<String>,
    ) -> Result<AuthorizationStep, AuthorizeRefusal> {
        let browser_hash = self.browser_hash(browser_secret)?;
        let (record, ctx, request) = self
            .bound(authorization_id, &browser_hash, OAuthStage::LoggedIn)
            .await?;
        let (Some(user), None, Scope::Credential(asked)) =
            (&record.user_id, &record.request_id, &request.scope)
        else {
            return Err(nowhere(
                OAuthError::invalid("this authorisation asks for no PIN").into(),
            ));
        };
        let (credential, authorise) = self
            .credential_authorise(&ctx, user, asked)
            .await
            .map_err(nowhere)?;
        if credential.authorisation.device || !credential.authorisation.pin {
            return Err(nowhere(
                OAuthError::invalid("this credential is authorised on the user's device").into(),
            ));
        }
        let authorised = self
            .authorise_by_secret(&ctx, authorise, UserSecret::Pin(pin))
            .await
            .map_err(|e| nowhere(e.into()))?;
        self.store
            .advance_oauth_authorization(
                authorization_id,
                &browser_hash,
                OAuthStage::LoggedIn,
                OAuthStage::LoggedIn,
                None,
                Some(&authorised.request_id),
                self.now(),
            )
            .await
            .map_err(|e| nowhere(e.into()))?;
        self.code_redirect(&record, &request, &browser_hash).await
    }

    /// The token endpoint (RFC 6749 §4.1.3, §6): the authenticated client's code — once,
    /// before it expires, with the redirect URI of its request and the PKCE verifier of its
    /// challenge — or refresh token, for the user's tokens. A code presented a second time is
    /// `invalid_grant` and ends the tokens the first presentation gave.
    pub async fn exchange_oauth_grant(
        &self,
        authentication: &ClientAuthentication,
        grant: &Grant,
    ) -> Result<OAuthTokens, OAuthFailure> {
        self.oauth_issuer()?;
        let client = self.authenticate_oauth_client(authentication).await?;
        let ctx = ClientContext::new(&client.client_id)?;
        match grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                let invalid_grant = || {
                    OAuthError::new(
                        OAuthCode::InvalidGrant,
                        "the code is unknown, expired, used, or another client's",
                    )
                };
                let code = well_formed(code, CODE_PREFIX).ok_or_else(invalid_grant)?;
                let code_hash = self.keyed(CODE_PURPOSE, code)?;
                let grant_id = random_text("", 16)?.to_string();
                let Some(record) = self
                    .store
                    .take_oauth_code(&client.oauth_client_id, &code_hash, &grant_id, self.now())
                    .await?
                else {
                    if let Some(given) = self.store.oauth_code_reused(&code_hash).await? {
                        let ended = self.store.end_access_grant(&given).await?;
                        self.audited(
                            &ctx,
                            OtherAction::RevokeAccessToken,
                            "-",
                            format!("reused OAuth code ended={ended}"),
                            Ok(()),
                        )
                        .await?;
                    }
                    return Err(invalid_grant().into());
                };
                let params = Params::from_form(record.request.as_bytes())?;
                let request = AuthorizationRequest::from_params(&params)?;
                // RFC 6749 §4.1.3: the same redirect_uri when the request named one.
                if request.redirect_uri.as_deref() != redirect_uri.as_deref()
                    && request.redirect_uri.is_some()
                {
                    return Err(OAuthError::new(
                        OAuthCode::InvalidGrant,
                        "redirect_uri differs from the authorisation request's",
                    )
                    .into());
                }
                request
                    .code_challenge
                    .verify(code_verifier)
                    .map_err(|e| OAuthError::new(OAuthCode::InvalidGrant, e.description))?;
                let user = record
                    .user_id
                    .ok_or_else(|| ServiceError::internal("an issued code without its user"))?;
                let detail = format!(
                    "user={user} via=oauth2 oauth_client={} scope={}",
                    client.oauth_client_id,
                    match request.scope {
                        Scope::Service => "service",
                        Scope::Credential(_) => "credential",
                    }
                );
                match &request.scope {
                    Scope::Service => {
                        let issued = self
                            .request_as(
                                &ctx,
                                RequestType::Authenticate,
                                OtherAction::IssueAccessToken,
                                &user,
                                detail,
                                self.grant_with_id(&ctx, &user, &grant_id, true),
                            )
                            .await?;
                        Ok(OAuthTokens {
                            issued,
                            scope: "service",
                            credential_id: None,
                        })
                    }
                    Scope::Credential(_) => {
                        let request_id = record.request_id.ok_or_else(|| {
                            ServiceError::internal("a credential code without its request")
                        })?;
                        let (issued, key_id) = self
                            .request_as(
                                &ctx,
                                RequestType::Authenticate,
                                OtherAction::IssueAccessToken,
                                &user,
                                detail,
                                self.credential_grant(&ctx, &user, &grant_id, &request_id),
                            )
                            .await?;
                        Ok(OAuthTokens {
                            issued,
                            scope: "credential",
                            credential_id: Some(key_id),
                        })
                    }
                }
            }
            Grant::RefreshToken { refresh_token } => Ok(OAuthTokens {
                issued: self
                    .refresh_access_token(&ctx, refresh_token)
                    .await
                    .map_err(|e| match e.code {
                        crate::ErrorCode::AccessTokenInvalid => OAuthFailure::Protocol(
                            OAuthError::new(OAuthCode::InvalidGrant, e.message),
                        ),
                        _ => OAuthFailure::Service(e),
                    })?,
                scope: "service",
                credential_id: None,
            }),
            Grant::ClientCredentials { .. } => Err(OAuthError::new(
                OAuthCode::UnauthorizedClient,
                "client_credentials is not served yet; use the authorization code",
            )
            .into()),
        }
    }
}

/// Whether the authorisation is bound to the browser of `browser_hash` (compared in constant
/// time).
fn of_browser(record: &OAuthAuthorizationRecord, browser_hash: &[u8]) -> bool {
    record
        .browser_hash
        .as_deref()
        .is_some_and(|h| bool::from(subtle::ConstantTimeEq::ct_eq(h, browser_hash)))
}

/// The refusal of a step the authorisation is not at, in this browser.
fn not_open() -> AuthorizeRefusal {
    nowhere(
        OAuthError::invalid(
            "this authorisation is not open in this browser at this step (expired, completed, \
             or opened elsewhere); start again from the application",
        )
        .into(),
    )
}

fn nowhere(failure: OAuthFailure) -> AuthorizeRefusal {
    AuthorizeRefusal {
        failure,
        redirect: None,
    }
}

/// A stored request, read again.
fn stored_request(text: &str) -> Result<AuthorizationRequest, OAuthFailure> {
    let params = Params::from_form(text.as_bytes())?;
    Ok(AuthorizationRequest::from_params(&params)?)
}

/// What the user's page shows of the stored authorisation `record`.
fn view_for(
    record: &OAuthAuthorizationRecord,
    client_name: &str,
    request: &AuthorizationRequest,
) -> AuthorizationView {
    view_for_new(
        &record.authorization_id,
        &record.redirect_uri,
        client_name,
        request,
    )
}

/// What the user's page shows of `request`.
fn view_for_new(
    authorization_id: &str,
    redirect_uri: &str,
    client_name: &str,
    request: &AuthorizationRequest,
) -> AuthorizationView {
    let (scope, credential_id, documents) = match &request.scope {
        Scope::Service => ("service", None, Vec::new()),
        Scope::Credential(c) => (
            "credential",
            match &c.credential {
                CredentialSelector::Id(id) => Some(id.clone()),
                CredentialSelector::Qualifier(_) => None,
            },
            c.documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    (
                        d.label
                            .clone()
                            .or_else(|| c.description.clone())
                            .unwrap_or_else(|| format!("Document {}", i + 1)),
                        crate::sap::hex(d.digest.as_bytes()),
                    )
                })
                .collect(),
        ),
    };
    AuthorizationView {
        authorization_id: authorization_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        client_name: client_name.to_owned(),
        scope,
        credential_id,
        documents,
    }
}

fn busy() -> OAuthError {
    OAuthError::new(
        OAuthCode::TemporarilyUnavailable,
        "too many authorisations of this client are in progress; try again later",
    )
}

fn later(
    now: sam_algorithms::UnixTime,
    secs: i64,
) -> Result<sam_algorithms::UnixTime, ServiceError> {
    now.checked_add_secs(secs)
        .ok_or_else(|| ServiceError::internal("time overflow"))
}

/// The parameters, form-encoded again (to be read with `sam_oauth2` when the authorisation
/// moves on).
fn encode(params: &Params) -> String {
    let mut out = form_urlencoded_serializer();
    for name in params.names() {
        if let Some(value) = params.get(name) {
            out.append_pair(name, value);
        }
    }
    out.finish()
}

fn form_urlencoded_serializer() -> form_urlencoded::Serializer<'static, String> {
    form_urlencoded::Serializer::new(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_one_form_and_never_show() {
        let secret = random_text(CODE_PREFIX, 32).unwrap();
        assert!(well_formed(&secret, CODE_PREFIX).is_some());
        assert!(well_formed(&secret, CLIENT_SECRET_PREFIX).is_none());
        assert!(well_formed(&format!("{}x", secret.as_str()), CODE_PREFIX).is_none());
        let registered = RegisteredOAuthClient {
            client: OAuthClient {
                oauth_client_id: "c".into(),
                client_id: "A".into(),
                name: "App".into(),
                redirect_uris: vec![],
                confidential: true,
            },
            client_secret: Some(secret.clone()),
        };
        assert!(!format!("{registered:?}").contains(secret.as_str()));
    }

    #[test]
    fn a_request_goes_back_only_to_a_registered_redirect_uri() {
        let client = OAuthClient {
            oauth_client_id: "c".into(),
            client_id: "A".into(),
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            confidential: false,
        };
        assert_eq!(
            resolve_redirect(&client, None).unwrap(),
            "https://app.example/cb"
        );
        assert!(resolve_redirect(&client, Some("https://app.example/cb2")).is_err());
        let two = OAuthClient {
            redirect_uris: vec!["https://a.example/1".into(), "https://a.example/2".into()],
            ..client
        };
        assert!(resolve_redirect(&two, None).is_err());
        assert_eq!(
            resolve_redirect(&two, Some("https://a.example/2")).unwrap(),
            "https://a.example/2"
        );
    }
}
