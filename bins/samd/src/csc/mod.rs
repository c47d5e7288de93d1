//! The Cloud Signature Consortium API facade (docs/csc.md): `/csc/v1/*` with CSC API 1.0.4.0
//! field names and `/csc/v2/*` for CSC API 2.2.0.0, over the same `Service` as the native API
//! — no CSC rule below this module. Errors are CSC's `{"error", "error_description"}`,
//! rendered from the typed error codes; bodies that do not read are `400 invalid_request`.
//!
//! - [`info`]: `info` (POST, the spec's method, and GET for the clients that use it);
//! - [`auth`]: `auth/login`, `auth/revoke`, and the bearer check of every other call;
//! - [`credentials`]: `credentials/list`, `credentials/info`;
//! - [`signing`]: `credentials/authorize` (PIN, OTP, the device), `authorizeCheck`, `sendOTP`,
//!   `extendTransaction`, `signatures/signHash` (synchronous and asynchronous), `signPolling`;
//! - [`sign_doc`]: `signatures/signDoc` (CAdES, 2.2.0.0);
//! - [`time_stamp`]: `signatures/timestamp` (with a time-stamp authority configured);
//! - [`oauth2`]: the OAuth 2.0 authorisation server and the user's pages (with
//!   `[csc] oauth2_issuer`);
//! - [`openapi`]: `GET /csc/openapi.json`.
//!
//! The `methods` `info` lists are exactly the calls this module serves (a test holds the
//! OpenAPI document to them).

mod auth;
mod credentials;
mod info;
mod oauth2;
mod openapi;
mod sign_doc;
mod signing;
mod time_stamp;

pub(crate) use info::Offer;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use sam_service::{ErrorCode, ErrorKind, ServiceError};

use crate::state::AppState;

/// The two versions of the CSC API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// CSC API 1.0.4.0 (`/csc/v1`).
    V1,
    /// CSC API 2.2.0.0 (`/csc/v2`).
    V2,
}

impl Version {
    /// What `info.specs` says.
    pub(crate) const fn specs(self) -> &'static str {
        match self {
            Self::V1 => "1.0.4.0",
            Self::V2 => "2.2.0.0",
        }
    }
}

/// The CSC routes; `signatures/timestamp` only with a time-stamp authority (`time_stamps`),
/// as `info` lists it — without one it is answered as any call not implemented; the OAuth 2.0
/// authorisation server and its pages only with `[csc] oauth2_issuer` (`oauth2`).
pub(crate) fn routes(time_stamps: bool, oauth2: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/csc/openapi.json", axum::routing::get(openapi::serve))
        .route("/csc/v1/info", post(info::info_v1).get(info::info_v1_get))
        .route("/csc/v2/info", post(info::info_v2).get(info::info_v2_get))
        .route("/csc/v1/auth/login", post(auth::login))
        .route("/csc/v2/auth/login", post(auth::login))
        .route("/csc/v1/auth/revoke", post(auth::revoke))
        .route("/csc/v2/auth/revoke", post(auth::revoke))
        .route("/csc/v1/credentials/list", post(credentials::list_v1))
        .route("/csc/v2/credentials/list", post(credentials::list_v2))
        .route("/csc/v1/credentials/info", post(credentials::info_v1))
        .route("/csc/v2/credentials/info", post(credentials::info_v2))
        .route("/csc/v1/credentials/authorize", post(signing::authorize_v1))
        .route("/csc/v2/credentials/authorize", post(signing::authorize_v2))
        .route(
            "/csc/v2/credentials/authorizeCheck",
            post(signing::authorize_check),
        )
        .route(
            "/csc/v1/credentials/extendTransaction",
            post(signing::extend_v1),
        )
        .route(
            "/csc/v2/credentials/extendTransaction",
            post(signing::extend_v2),
        )
        .route("/csc/v1/credentials/sendOTP", post(signing::send_otp))
        .route("/csc/v2/credentials/sendOTP", post(signing::send_otp))
        .route("/csc/v1/signatures/signHash", post(signing::sign_hash_v1))
        .route("/csc/v2/signatures/signHash", post(signing::sign_hash_v2))
        .route(
            "/csc/v2/signatures/signPolling",
            post(signing::sign_polling),
        )
        .route("/csc/v2/signatures/signDoc", post(sign_doc::sign_doc));
    let router = if time_stamps {
        router
            .route(
                "/csc/v1/signatures/timestamp",
                post(time_stamp::time_stamp_v1),
            )
            .route(
                "/csc/v2/signatures/timestamp",
                post(time_stamp::time_stamp_v2),
            )
    } else {
        router
    };
    let router = if oauth2 {
        router.merge(oauth2::routes())
    } else {
        router
    };
    router
        .route("/csc/v1/{*method}", any(unknown_method))
        .route("/csc/v2/{*method}", any(unknown_method))
}

/// A call this facade does not serve: CSC's form, pointing at `info`.
async fn unknown_method(axum::extract::Path(method): axum::extract::Path<String>) -> CscError {
    CscError {
        status: StatusCode::NOT_FOUND,
        error: "invalid_request",
        description: format!(
            "{method:?} is not a method this service implements; info lists those it does"
        ),
    }
}

/// A refusal in CSC's form.
#[derive(Debug)]
pub(crate) struct CscError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl CscError {
    /// CSC's `error` name.
    #[cfg(test)]
    pub(crate) fn error(&self) -> &'static str {
        self.error
    }

    /// The same refusal under CSC's more specific `error` name.
    pub(crate) fn named(mut self, error: &'static str) -> Self {
        self.error = error;
        self
    }

    /// A malformed request: `400 invalid_request` with what is wrong.
    pub(crate) fn invalid(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }
}

/// The CSC error string of a sam error code: CSC names few errors (`invalid_request`,
/// `invalid_grant`, `invalid_otp`, `invalid_pin`, `expired_token`, `access_denied`); the
/// others follow the kind of the refusal. The sam code is kept at the head of
/// `error_description`, so nothing of the reason is lost.
fn csc_error(code: ErrorCode) -> &'static str {
    if code == ErrorCode::AccessTokenInvalid {
        // RFC 6750 section 3.1, which CSC's bearer tokens follow.
        return "invalid_token";
    }
    match code.kind() {
        ErrorKind::Unauthenticated | ErrorKind::Forbidden => "access_denied",
        ErrorKind::Internal => "server_error",
        ErrorKind::Unavailable => "temporarily_unavailable",
        ErrorKind::NotSupported => "unsupported_operation",
        _ => "invalid_request",
    }
}

impl From<ServiceError> for CscError {
    fn from(e: ServiceError) -> Self {
        let status =
            StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let description = if e.code.kind() == ErrorKind::Internal {
            tracing::error!(code = %e.code, message = %e.message, "CSC request failed");
            format!("{}: see the service's log", e.code)
        } else {
            format!("{}: {}", e.code, e.message)
        };
        Self {
            status,
            error: csc_error(e.code),
            description,
        }
    }
}

/// CSC's error body.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = CscErrorResponse)]
struct ErrorBody<'a> {
    /// CSC's error name (`invalid_request`, `invalid_token`, `access_denied`,
    /// `invalid_pin`, `invalid_otp`, `server_error`, `temporarily_unavailable`,
    /// `unsupported_operation`).
    error: &'a str,
    /// Why: sam's error code first (docs/api.md), then the reason.
    error_description: &'a str,
}

impl IntoResponse for CscError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(ErrorBody {
                error: self.error,
                error_description: &self.description,
            }),
        )
            .into_response()
    }
}

/// The schemas of every request and answer, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    let components = components.schema_from::<ErrorBody<'static>>();
    let components = info::schemas(components);
    let components = auth::schemas(components);
    let components = credentials::schemas(components);
    let components = signing::schemas(components);
    let components = sign_doc::schemas(components);
    time_stamp::schemas(components)
}

/// Whether `path` is the CSC API's (its refusals take CSC's form).
pub(crate) fn is_csc_path(path: &str) -> bool {
    path.starts_with("/csc/")
}

/// A CSC request's body, its bytes: one over the body limit (sent without a length, so that
/// only reading finds it) is refused in CSC's form, `413`.
pub(crate) struct CscBody(pub(crate) axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CscBody {
    type Rejection = CscError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, CscError> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    CscError::from(ServiceError::new(
                        ErrorCode::PayloadTooLarge,
                        "the request body is over the limit",
                    ))
                } else {
                    CscError::invalid(format!("the body: {}", e.body_text()))
                }
            })
    }
}

/// A CSC request body: JSON that reads as `T`, or `400 invalid_request` naming what is wrong.
/// An empty body reads as `{}` (a lenient `info` call sends none). Fields a version does not
/// define are ignored, as CSC clients send their own extensions.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CscError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| CscError::invalid(format!("the body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_csc_error_and_keeps_its_sam_code() {
        for code in ErrorCode::ALL {
            let e = CscError::from(ServiceError::new(*code, "why"));
            assert_eq!(e.status.as_u16(), code.http_status(), "{code}");
            assert!(
                e.description.starts_with(code.as_str()),
                "{code}: {}",
                e.description
            );
            if code.kind() == ErrorKind::Internal {
                assert!(
                    !e.description.contains("why"),
                    "an internal reason stays in the log"
                );
            }
        }
        assert_eq!(csc_error(ErrorCode::InvalidRequest), "invalid_request");
        assert_eq!(
            csc_error(ErrorCode::ClientAuthenticationFailed),
            "access_denied"
        );
        assert!(body::<serde_json::Value>(b"").is_ok());
        assert!(body::<serde_json::Value>(b"{").is_err());
    }
}
