//! The REST API over the service (PROTOCOL.md "Request types and the native REST API"): the
//! 33 request types of seed 002 under `/api/v1`, the device endpoints (device sessions), and
//! the operator's API under `/admin/v1`. Handlers only translate: JSON in, a service call,
//! JSON out; every rule is the service's.
//!
//! Binary values (certificates, keys, signatures, SAD messages) are standard base64 with
//! padding. Errors are `{"error": "<stable code>", "message": "..."}` with the status of
//! [`status_of`] (docs/api.md lists the codes).

mod admin;
mod devices;
mod keys;
mod sap;
mod users;

use sam_service::ErrorCode;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use sam_service::{ClientContext, ClientCredentials, DeviceSession, ServiceError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::state::AppState;

type ApiResult = Result<Response, ApiError>;

fn created(value: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Standard base64 with padding, as every binary value of the API.
fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// A binary field of a request body.
fn from_b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    Base64::decode_vec(text.trim())
        .map_err(|_| error(ErrorCode::InvalidRequest, format!("{field} is not base64")))
}

/// Paging of list endpoints.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Paging {
    /// The `next` of the page before; absent: the first page.
    #[serde(default)]
    pub(crate) after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[serde(default = "default_limit")]
    pub(crate) limit: i64,
}

pub(crate) fn default_limit() -> i64 {
    100
}

/// The TLS client certificate of the connection a request came on (DER), if it presented
/// one: parsed once per connection by the accept loop.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerCertificate(pub(crate) Option<Arc<Vec<u8>>>);

/// The connection's peer address (for the back-off of repeated authentication failures).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PeerAddress(pub(crate) std::net::IpAddr);

pub(crate) fn peer(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<PeerAddress>().map(|p| p.0)
}

/// A service error as an HTTP answer.
pub(crate) struct ApiError(ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError(ServiceError::new(code, message))
}

/// The HTTP status of a stable error code (its kind's, `ErrorCode::http_status`).
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.code);
        let store_down = self.0.code == ErrorCode::StoreUnavailable;
        if status == StatusCode::INTERNAL_SERVER_ERROR || store_down {
            tracing::error!(code = self.0.code.as_str(), message = %self.0.message, "request failed");
        }
        let message = if store_down {
            "the database cannot take writes now (nothing of this request was stored); the \
             server's log says why"
                .to_owned()
        } else if status == StatusCode::INTERNAL_SERVER_ERROR {
            "the server could not complete the request; its log says why".to_owned()
        } else {
            self.0.message
        };
        let mut response = (
            status,
            Json(serde_json::json!({"error": self.0.code.as_str(), "message": message})),
        )
            .into_response();
        if let Some(secs) = self.0.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
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
                    ErrorCode::PayloadTooLarge,
                    "the request body is over the limit",
                ))
            }
            Err(e) => Err(error(ErrorCode::InvalidRequest, e.body_text())),
        }
    }
}

/// A JSON body that may be left out (empty): `None` then.
pub(crate) struct OptionalJson<T>(pub(crate) Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    error(
                        ErrorCode::PayloadTooLarge,
                        "the request body is over the limit",
                    )
                } else {
                    error(ErrorCode::InvalidRequest, e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| Self(Some(v)))
            .map_err(|e| {
                error(
                    ErrorCode::InvalidRequest,
                    format!("malformed JSON body: {e}"),
                )
            })
    }
}

/// Path parameters; a value of the wrong type is `invalid_request` in the API's format.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| error(ErrorCode::InvalidRequest, e.body_text()))
    }
}

/// A query string; unknown or malformed parameters are `invalid_request` in the API's format.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| error(ErrorCode::InvalidRequest, e.body_text()))
    }
}

/// What every request is refused for before it reaches a route: a declared body over the
/// limit (`413 payload_too_large` at once, before any of it is read or any credential is
/// checked) and more than one `Authorization` header (`400 invalid_request`: which one
/// counts would be a guess).
pub(crate) fn edge_refusal(
    request: &axum::extract::Request,
    max_body: usize,
) -> Option<ServiceError> {
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return Some(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over the limit of {max_body} bytes"),
        ));
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Some(ServiceError::new(
            ErrorCode::InvalidRequest,
            "more than one Authorization header",
        ));
    }
    None
}

/// The credentials of an `Authorization` header with `scheme` (RFC 9110 section 11.1: the
/// scheme is case-insensitive; one or more spaces follow it).
fn credentials<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim_matches(' '))
}

/// HTTP Basic credentials from the `Authorization` header, if well-formed.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let encoded = credentials(headers, "Basic")?;
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
            peer: peer(parts),
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
                ErrorCode::AdminAuthenticationFailed,
                "the admin credential is required",
            )
        };
        let phc = state.admin_credential_hash.as_deref().ok_or_else(refused)?;
        let token = bearer(&parts.headers).ok_or_else(refused)?;
        state
            .service
            .authenticate_admin(phc, &token, peer(parts))
            .await?;
        Ok(Self)
    }
}

/// The user's device, by its session token (`Authorization: Bearer <token>`, from
/// `POST /api/v1/device-sessions`).
pub(crate) struct Device(pub(crate) DeviceSession);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            error(
                ErrorCode::DeviceAuthenticationFailed,
                "a device session token is required (Authorization: Bearer)",
            )
        })?;
        Ok(Self(state.service.device_session(&token).await?))
    }
}

/// A device (with a session token) or a client (with its credentials): the SAD answer comes
/// from the user's device (SCAL2) or from the client with its SCAL1 evidence.
pub(crate) enum Caller {
    /// The user's device.
    Device(DeviceSession),
    /// The business application.
    Client(ClientContext),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer(&parts.headers).is_some() {
            let Device(session) = Device::from_request_parts(parts, state).await?;
            Ok(Self::Device(session))
        } else {
            let Client(ctx) = Client::from_request_parts(parts, state).await?;
            Ok(Self::Client(ctx))
        }
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<Zeroizing<String>> {
    credentials(headers, "Bearer").map(|t| Zeroizing::new(t.to_owned()))
}

/// The error format of every failure.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// The stable code (docs/api.md).
    error: String,
    /// What went wrong, for people.
    message: String,
}

/// The error answers every endpoint can give (docs/api.md "Error codes and statuses").
pub(crate) struct ApiErrors;

impl utoipa::IntoResponses for ApiErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use utoipa::openapi::response::ResponseBuilder;
        use utoipa::openapi::{ContentBuilder, Ref};
        [
            (
                "400",
                "Invalid request (also malformed JSON, too many hashes, a SAD or code refused).",
            ),
            ("401", "Authentication failed (client, device or admin)."),
            (
                "403",
                "Access denied, or the plan or profile does not allow the request.",
            ),
            ("404", "Not found (also objects of another client or user)."),
            (
                "409",
                "Conflicts with the current state (exists, expired, replayed, ...).",
            ),
            ("413", "The body is over the limit."),
            ("423", "The user is locked."),
            ("429", "The client's plan limit is reached."),
            ("500", "An internal error; the log says why."),
            ("501", "Not supported."),
            (
                "503",
                "Not configured here, a notification failed, or the request timed out.",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            (status.to_owned(), response.into())
        })
        .collect()
    }
}

/// The document's frame: title, security schemes, the shared schemas.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "sam",
        description = "The sam Signature Activation Module: the request types of seed 002 \
                       (PROTOCOL.md), device sessions, and the operator's API. Errors are \
                       {\"error\", \"message\"}; binary values are base64.",
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub(crate) struct ApiDoc;

/// Client (HTTP Basic, TLS client certificate), device (session token) and admin (bearer).
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some("A TLS client certificate bound to the client".into()),
                deprecated: None,
                extensions: None,
            },
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route of the API, with its OpenAPI description.
pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa::OpenApi as _;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(users::routes())
        .merge(keys::routes())
        .merge(devices::routes())
        .merge(sap::routes())
        .merge(admin::routes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{ErrorCode, status_of};

    /// The `snake_case` words in backticks of a table cell.
    fn codes(cell: &str) -> Vec<&str> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.len() > 2 && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .collect()
    }

    /// docs/api.md's table of codes and statuses.
    fn documented() -> BTreeMap<String, u16> {
        let doc = include_str!("../../../../docs/api.md");
        let section = &doc[doc
            .find("## Error codes and statuses")
            .expect("docs/api.md has its error table")..];
        section
            .lines()
            .skip_while(|l| !l.starts_with("| status"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .flat_map(|line| {
                let cells: Vec<&str> = line.split('|').collect();
                let status: u16 = cells[1].trim().parse().expect("a status");
                codes(cells[2])
                    .into_iter()
                    .map(move |c| (c.to_owned(), status))
            })
            .collect()
    }

    fn sources(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    /// The table in docs/api.md is the one `status_of` applies, and every code the code can
    /// answer is in it: the two cannot drift apart.
    #[test]
    fn every_error_code_is_documented_with_the_status_it_gets() {
        let documented = documented();
        assert!(documented.len() > 40, "{documented:?}");
        // Refused at start, never an HTTP answer (docs/configuration.md).
        const AT_START_ONLY: &[ErrorCode] = &[ErrorCode::KeyMismatch];
        for code in ErrorCode::ALL {
            if AT_START_ONLY.contains(code) {
                assert!(!documented.contains_key(code.as_str()), "{code}");
                continue;
            }
            assert_eq!(
                documented.get(code.as_str()),
                Some(&status_of(*code).as_u16()),
                "docs/api.md should list {code} under {}",
                status_of(*code).as_u16()
            );
        }
        for code in documented.keys() {
            assert!(
                code.parse::<ErrorCode>().is_ok(),
                "docs/api.md lists {code}, which is no ErrorCode"
            );
        }
        // No code is written out as text beside ErrorCode: every error body is rendered from
        // one (the `"error":` of an answer is only written in ApiError's rendering).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut texts = Vec::new();
        for dir in ["crates/sam-service/src", "bins/samd/src"] {
            sources(&root.join(dir), &mut texts);
        }
        for text in &texts {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                assert!(
                    !line.contains(concat!("\"error\"", ": \""))
                        && !line.contains(concat!("ServiceError::new", "(\"")),
                    "an error code written out as text: {line}"
                );
            }
        }
        // docs/service.md explains the service's codes: each is one of these.
        let service_md = include_str!("../../../../docs/service.md");
        let table = &service_md[service_md
            .find("## Error codes so far")
            .expect("docs/service.md has its error table")..];
        for line in table
            .lines()
            .skip_while(|l| !l.starts_with("| code"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
        {
            let first = line.split('|').nth(1).unwrap_or_default();
            for code in codes(first) {
                assert!(
                    code.parse::<ErrorCode>().is_ok(),
                    "docs/service.md explains {code}, which is no ErrorCode"
                );
            }
        }
    }

    /// docs/security.md says how many cargo-fuzz targets there are: as many as `fuzz/` has.
    #[test]
    fn the_security_document_counts_the_fuzz_targets() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let targets = std::fs::read_dir(root.join("fuzz/fuzz_targets"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rs"))
            })
            .count();
        let words = [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ];
        let word = words
            .get(targets)
            .unwrap_or_else(|| panic!("{targets} fuzz targets: extend this test's numbers"));
        let said = format!("cargo-fuzz targets ({word},");
        let security_md = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
        assert!(
            security_md.contains(&said),
            "docs/security.md should say \"{said}\": fuzz/fuzz_targets has {targets}"
        );
    }
}
