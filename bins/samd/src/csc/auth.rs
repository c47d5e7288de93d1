//! `auth/login` and `auth/revoke` (CSC API 1.0.4.0 §11.2–11.3, 2.2.0.0 §11.2–11.3), and the
//! bearer check of every later call ([`CscUser`]). The tokens are the service's users' access
//! tokens (`sam_service::access_tokens`); this module only reads the CSC forms.
//!
//! `auth/login` accepts exactly three forms (docs/csc.md "Access tokens"):
//!
//! 1. **The user's password**: `Authorization: Basic <user id>:<password>`, on a connection
//!    whose TLS client certificate authenticates the business application by itself (a
//!    client registered with that certificate and without "Basic with TLS"). This is the
//!    CSC form: the user logs in; the certificate says under which client.
//! 2. **The business application for its user**: the client's own credentials as on the
//!    native API (its certificate, its Basic, or both as registered) and the user named in
//!    the body's `userID` (a sam extension). No user password: the application has
//!    authenticated its user, and every signature still needs the user's own SAD.
//! 3. **A refresh token**: `refresh_token` in the body, with the client's own credentials as
//!    in form 2; the user is the token's.

use axum::Extension;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sam_service::{ClientCredentials, IssuedAccessToken, TokenHint, TokenHolder};
use serde::{Deserialize, Serialize};

use super::{CscBody, CscError, body};
use crate::api::{PeerAddress, PeerCertificate, basic, bearer};
use crate::state::AppState;

/// The `auth/login` request.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = CscLoginRequest)]
#[serde(rename_all = "camelCase")]
struct LoginRequest {
    /// Form 3.
    #[serde(default, rename = "refresh_token")]
    refresh_token: Option<String>,
    /// A refresh token as well.
    #[serde(default)]
    remember_me: bool,
    /// Form 2 (sam): the user the business application logs in.
    #[serde(default, rename = "userID")]
    user_id: Option<String>,
    /// Opaque to the service.
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// The `auth/login` answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscLoginResponse)]
struct LoginResponse {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    expires_in: i64,
}

impl From<IssuedAccessToken> for LoginResponse {
    fn from(issued: IssuedAccessToken) -> Self {
        Self {
            access_token: issued.access_token.to_string(),
            refresh_token: issued.refresh_token.map(|t| t.to_string()),
            expires_in: issued.expires_in,
        }
    }
}

/// The `auth/revoke` request.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscRevokeRequest)]
struct RevokeRequest {
    token: String,
    #[serde(default)]
    token_type_hint: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

fn unauthenticated(description: &str) -> CscError {
    CscError {
        status: StatusCode::UNAUTHORIZED,
        error: "access_denied",
        description: description.to_owned(),
    }
}

/// `auth/login`, v1 and v2 alike.
pub(crate) async fn login(
    State(state): State<AppState>,
    certificate: Option<Extension<PeerCertificate>>,
    peer: Option<Extension<PeerAddress>>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: LoginRequest = body(&bytes)?;
    let certificate = certificate.and_then(|Extension(c)| c.0.map(|c| c.as_ref().clone()));
    let peer = peer.map(|Extension(p)| p.0);
    let service = &state.service;
    let client = |basic| async {
        service
            .authenticate_client(&ClientCredentials {
                tls_certificate: certificate.clone(),
                basic,
                peer,
            })
            .await
    };
    let issued = match (request.refresh_token, request.user_id) {
        (Some(_), Some(_)) => {
            return Err(CscError::invalid(
                "refresh_token and userID: a refresh token already names its user",
            ));
        }
        (Some(refresh), None) => {
            let ctx = client(basic(&headers)).await?;
            service.refresh_access_token(&ctx, &refresh).await?
        }
        (None, Some(user)) => {
            let ctx = client(basic(&headers)).await?;
            service
                .issue_access_token(&ctx, &user, request.remember_me)
                .await?
        }
        (None, None) => {
            let (user, password) = basic(&headers).ok_or_else(|| {
                unauthenticated(
                    "auth/login needs the user's id and password as HTTP Basic (or, for a \
                     business application logging in its user, userID in the body)",
                )
            })?;
            if certificate.is_none() {
                return Err(unauthenticated(
                    "a login with the user's password needs the business application's TLS \
                     client certificate; without one, the application logs its user in with \
                     its own credentials and userID (docs/csc.md)",
                ));
            }
            let ctx = client(None).await?;
            service
                .login_user(&ctx, &user, password, request.remember_me)
                .await?
        }
    };
    Ok(axum::Json(LoginResponse::from(issued)).into_response())
}

/// The user an access token speaks for: `Authorization: Bearer <token>` from `auth/login`.
pub(crate) struct CscUser(pub(crate) TokenHolder);

impl FromRequestParts<AppState> for CscUser {
    type Rejection = CscError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            unauthenticated("an access token is required (Authorization: Bearer, from auth/login)")
        })?;
        let holder = state.service.access_token_holder(&token).await?;
        if holder.bound_request.is_some() && !serves_credential_tokens(parts.uri.path()) {
            return Err(unauthenticated(
                "a credential-scope token (OAuth 2.0) authorises signatures/signHash only; use \
                 a service-scope token for this call",
            ));
        }
        Ok(Self(holder))
    }
}

/// The calls a credential-scope token may make: the signature it stands for, and its own
/// revocation.
fn serves_credential_tokens(path: &str) -> bool {
    matches!(
        path,
        "/csc/v2/signatures/signHash" | "/csc/v2/auth/revoke" | "/csc/v1/auth/revoke"
    )
}

/// `auth/revoke`: `204` whether or not the token was the holder's (RFC 7009 section 2.2).
pub(crate) async fn revoke(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: RevokeRequest = body(&bytes)?;
    let hint = match request.token_type_hint.as_deref() {
        None => None,
        Some("access_token") => Some(TokenHint::Access),
        Some("refresh_token") => Some(TokenHint::Refresh),
        Some(other) => {
            return Err(CscError::invalid(format!(
                "token_type_hint {other:?}: access_token or refresh_token"
            )));
        }
    };
    state
        .service
        .revoke_access_token(&holder, &request.token, hint)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<LoginRequest>()
        .schema_from::<LoginResponse>()
        .schema_from::<RevokeRequest>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_scope_token_serves_its_signature_and_its_revocation_only() {
        for path in [
            "/csc/v2/signatures/signHash",
            "/csc/v2/auth/revoke",
            "/csc/v1/auth/revoke",
        ] {
            assert!(serves_credential_tokens(path), "{path}");
        }
        for path in [
            "/csc/v1/signatures/signHash",
            "/csc/v2/credentials/list",
            "/csc/v2/credentials/authorize",
            "/csc/v2/signatures/signDoc",
            "/csc/v2/signatures/signHash/",
            "/csc/v2/signatures/timestamp",
        ] {
            assert!(!serves_credential_tokens(path), "{path}");
        }
    }
}
