//! The REST API over the service (PROTOCOL.md "Request types and the native REST API"), so
//! far: client authentication, the error format, the user request types under `/api/v1`,
//! and client registration under `/admin/v1`. Handlers only translate: JSON in, a service
//! call, JSON out; every rule is the service's.
//!
//! Errors are `{"error": "<stable code>", "message": "..."}` with the status of
//! [`status_of`] (docs/api.md lists the codes).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64ct::{Base64, Encoding};
use sam_service::{ClientContext, ClientCredentials, ClientSettings, RegisterUser, ServiceError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::server::AppState;

/// The TLS client certificate of the connection a request came on (DER), if it presented
/// one: parsed once per connection by the accept loop.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerCertificate(pub(crate) Option<Arc<Vec<u8>>>);

/// A service error as an HTTP answer.
pub(crate) struct ApiError(ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

fn error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError(ServiceError {
        code,
        message: message.into(),
    })
}

/// The HTTP status of a stable error code.
pub(crate) fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_request"
        | "too_many_hashes"
        | "sad_invalid"
        | "assertion_invalid"
        | "otp_invalid"
        | "code_invalid"
        | "no_profile"
        | "proof_of_possession_failed"
        | "device_not_allowed"
        | "certificate_mismatch"
        | "no_certificate" => StatusCode::BAD_REQUEST,
        "client_authentication_failed"
        | "authentication_failed"
        | "admin_authentication_failed" => StatusCode::UNAUTHORIZED,
        "client_access_denied" | "plan_expired" | "plan_not_started" | "profile_inactive" => {
            StatusCode::FORBIDDEN
        }
        "not_found" => StatusCode::NOT_FOUND,
        "user_exists"
        | "device_exists"
        | "client_exists"
        | "conflict"
        | "device_limit_reached"
        | "request_expired"
        | "request_not_pending"
        | "request_not_authorised"
        | "sad_replayed"
        | "sad_expired"
        | "sad_unknown"
        | "plan_auto_renewed" => StatusCode::CONFLICT,
        "user_locked" => StatusCode::LOCKED,
        "plan_limit_reached" | "plan_request_type_limit_reached" => StatusCode::TOO_MANY_REQUESTS,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "not_supported" => StatusCode::NOT_IMPLEMENTED,
        "not_configured" | "notification_failed" | "output_failed" => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.code);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = self.0.code, message = %self.0.message, "request failed");
        }
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "the server could not complete the request; its log says why".to_owned()
        } else {
            self.0.message
        };
        (
            status,
            Json(serde_json::json!({"error": self.0.code, "message": message})),
        )
            .into_response()
    }
}

/// A JSON body; malformed JSON, unknown fields and a wrong content type are
/// `invalid_request` in the API's error format, a body over the limit `payload_too_large`.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(error(
                    "payload_too_large",
                    "the request body is over the limit",
                ))
            }
            Err(e) => Err(error("invalid_request", e.body_text())),
        }
    }
}

/// HTTP Basic credentials from the `Authorization` header, if well-formed.
fn basic(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = Zeroizing::new(Base64::decode_vec(encoded.trim()).ok()?);
    let text = core::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), Zeroizing::new(secret.to_owned())))
}

/// The authenticated business application (seed 002 *EST client authentication*: the TLS
/// client certificate and/or HTTP Basic, as the service's `authenticate_client` decides).
pub(crate) struct Client(pub(crate) ClientContext);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let certificate = parts
            .extensions
            .get::<PeerCertificate>()
            .and_then(|p| p.0.as_ref())
            .map(|c| c.as_ref().clone());
        let credentials = ClientCredentials {
            tls_certificate: certificate,
            basic: basic(&parts.headers),
        };
        Ok(Self(state.service.authenticate_client(&credentials).await?))
    }
}

/// The operator: `Authorization: Bearer <admin credential>`, checked against its Argon2id
/// hash (docs/configuration.md `[admin]`).
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let refused = || {
            error(
                "admin_authentication_failed",
                "the admin credential is required",
            )
        };
        let phc = state.admin_credential_hash.clone().ok_or_else(refused)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Zeroizing::new(t.trim().to_owned()))
            .ok_or_else(refused)?;
        let matches = tokio::task::spawn_blocking(move || {
            use argon2::password_hash::PasswordVerifier;
            argon2::Argon2::default()
                .verify_password(token.as_bytes(), phc.as_str())
                .is_ok()
        })
        .await
        .unwrap_or(false);
        if matches { Ok(Self) } else { Err(refused()) }
    }
}

/// Register User.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterUserBody {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    password: Option<Zeroizing<String>>,
}

/// Update User.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUserBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
}

/// Get Users paging.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Paging {
    #[serde(default)]
    after: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// Change Password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    #[serde(default)]
    current: Option<Zeroizing<String>>,
    new: Zeroizing<String>,
}

/// Authenticate.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthenticateBody {
    password: Zeroizing<String>,
}

/// Register Client (admin).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientBody {
    client_id: String,
    #[serde(default = "yes")]
    sam_access: bool,
    #[serde(default)]
    selected_profiles: Option<Vec<u32>>,
    #[serde(default)]
    default_profile: Option<u32>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    /// Base64 DER.
    #[serde(default)]
    authorisation_certificate: Option<String>,
    /// Base64 DER certificates.
    #[serde(default)]
    tls_certificates: Vec<String>,
    #[serde(default)]
    basic_with_tls: bool,
}

fn yes() -> bool {
    true
}

/// Set Client Secret (admin).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretBody {
    secret: Zeroizing<String>,
}

fn base64_der(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    Base64::decode_vec(text.trim())
        .map_err(|_| error("invalid_request", format!("{field} is not base64")))
}

type ApiResult = Result<Response, ApiError>;

fn created(value: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

async fn register_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<RegisterUserBody>,
) -> ApiResult {
    let user = state
        .service
        .register_user(
            &ctx,
            RegisterUser {
                user_id: body.user_id,
                email: body.email,
                mobile: body.mobile,
                password: body.password,
            },
        )
        .await?;
    created(user)
}

async fn get_users(
    State(state): State<AppState>,
    Client(ctx): Client,
    Query(paging): Query<Paging>,
) -> ApiResult {
    ok(state
        .service
        .get_users(&ctx, paging.after.as_deref(), paging.limit)
        .await?)
}

async fn get_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
) -> ApiResult {
    ok(state.service.get_user(&ctx, &user).await?)
}

async fn update_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> ApiResult {
    ok(state
        .service
        .update_user(&ctx, &user, body.email.as_deref(), body.mobile.as_deref())
        .await?)
}

async fn delete_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
) -> ApiResult {
    state.service.delete_user(&ctx, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn change_password(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult {
    state
        .service
        .change_password(&ctx, &user, body.current, body.new)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn authenticate(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<AuthenticateBody>,
) -> ApiResult {
    state
        .service
        .authenticate(&ctx, &user, body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn client_settings(body: ClientBody) -> Result<ClientSettings, ApiError> {
    Ok(ClientSettings {
        client_id: body.client_id,
        sam_access: body.sam_access,
        selected_profiles: body.selected_profiles,
        default_profile: body.default_profile,
        email: body.email,
        mobile: body.mobile,
        authorisation_certificate: body
            .authorisation_certificate
            .map(|c| base64_der("authorisation_certificate", &c))
            .transpose()?,
        tls_certificates: body
            .tls_certificates
            .iter()
            .map(|c| base64_der("tls_certificates", c))
            .collect::<Result<_, _>>()?,
        basic_with_tls: body.basic_with_tls,
    })
}

async fn register_client(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<ClientBody>,
) -> ApiResult {
    created(
        state
            .service
            .register_client(&client_settings(body)?)
            .await?,
    )
}

async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.get_client(&client).await?)
}

async fn set_client_secret(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(body): ApiJson<SecretBody>,
) -> ApiResult {
    state
        .service
        .set_client_secret(&client, body.secret)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The routes so far.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/users", post(register_user).get(get_users))
        .route(
            "/api/v1/users/{user_id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/api/v1/users/{user_id}/password", post(change_password))
        .route("/api/v1/users/{user_id}/authenticate", post(authenticate))
        .route("/admin/v1/clients", post(register_client))
        .route("/admin/v1/clients/{client_id}", get(get_client))
        .route(
            "/admin/v1/clients/{client_id}/secret",
            put(set_client_secret),
        )
}
