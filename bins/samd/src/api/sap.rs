//! The Signature Activation Protocol over HTTP: Authorise, Get Pending Requests List, Status,
//! the SAD answer (from the device, or from the client with its SCAL1 evidence), Decline
//! Request, Sign, the eSeal batch and renewal, Generate/Verify OTP, the PIN check, and Get SAM
//! Profile.

use axum::extract::State;
use sam_algorithms::{HashAlgorithm, SadFormat};
use sam_cms::Format;
use sam_service::ErrorCode;
use sam_service::{Authorise, Channel, DocumentInput, SealSign};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    ApiError, ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Caller, Client, Device, b64,
    created, error, from_b64, no_content, ok,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One document: its digest under the request's hash algorithm, or (profiles with *Compute
/// hash at signing time*) its data; both base64.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentBody {
    label: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

/// Authorise.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthoriseBody {
    user_id: String,
    key_id: String,
    /// `sha-256`, `sha-384`, `sha-512`, `sha3-256`, ...
    hash_algorithm: String,
    /// `raw`, `cms`, `cades-b-b`, `cades-b-t`, `cades-b-lt`.
    format: String,
    /// The documents; none for a seal authorisation.
    #[serde(default)]
    documents: Vec<DocumentBody>,
    /// For a seal authorisation: how many signatures the SAD allows.
    #[serde(default)]
    signatures: Option<u32>,
}

/// Get Pending Requests List.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only `pending` is listed.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default = "hundred")]
    limit: i64,
}

fn hundred() -> i64 {
    100
}

/// The SAD answer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SadBody {
    /// The SAD in the server's `sad_format`: a JWS compact serialization (`json`), or the DER
    /// SAD in base64 (`der`).
    sad: String,
    /// `jws` or `der`: how `sad` is written; absent, the server's format. Another than the
    /// server's format is refused (`invalid_request`).
    #[serde(default)]
    encoding: Option<String>,
}

/// Sign.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignBody {
    request_id: String,
}

/// A batch under a seal authorisation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SealSignBody {
    request_id: String,
    hash_algorithm: String,
    format: String,
    documents: Vec<DocumentBody>,
}

/// Generate OTP.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtpBody {
    user_id: String,
    request_id: String,
    channel: Channel,
}

/// Verify OTP.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyOtpBody {
    user_id: String,
    request_id: String,
    #[schema(value_type = String)]
    otp: Zeroizing<String>,
}

/// The PIN check of SCAL1 `pin` (the user's password, for one request).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyPinBody {
    user_id: String,
    request_id: String,
    #[schema(value_type = String)]
    pin: Zeroizing<String>,
}

/// A pending authorisation request.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct AuthorisedBody {
    request_id: String,
    /// Until when the user may answer (RFC 3339).
    expires_at: String,
    /// The DER `sam-sad` authorisation request a SAD answers (for SCAL1 clients), base64.
    message: String,
}

impl From<sam_service::AuthoriseResponse> for AuthorisedBody {
    fn from(r: sam_service::AuthoriseResponse) -> Self {
        Self {
            request_id: r.request_id,
            expires_at: r.expires_at,
            message: b64(&r.message),
        }
    }
}

/// Signatures, in document order.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SignaturesBody {
    /// DER (CMS, CAdES) or the raw signature value, base64.
    signatures: Vec<String>,
}

fn hash_algorithm(text: &str) -> Result<HashAlgorithm, ApiError> {
    text.parse().map_err(|_| {
        error(
            ErrorCode::InvalidRequest,
            format!("unknown hash_algorithm {text:?}"),
        )
    })
}

fn format(text: &str) -> Result<Format, ApiError> {
    text.parse().map_err(|_| {
        error(
            ErrorCode::InvalidRequest,
            format!("unknown format {text:?}"),
        )
    })
}

/// The documents as the service takes them (the deployment's and the profile's limits on
/// hashes per request are the service's to check).
fn documents(bodies: Vec<DocumentBody>) -> Result<Vec<DocumentInput>, ApiError> {
    bodies
        .into_iter()
        .map(|d| match (d.digest, d.data) {
            (Some(digest), None) => Ok(DocumentInput::digest(
                d.label,
                from_b64("documents.digest", &digest)?,
            )),
            (None, Some(data)) => Ok(DocumentInput::data(
                d.label,
                from_b64("documents.data", &data)?,
            )),
            _ => Err(error(
                ErrorCode::InvalidRequest,
                "each document has either digest or data",
            )),
        })
        .collect()
}

fn signatures(outputs: Vec<Vec<u8>>) -> ApiResult {
    ok(SignaturesBody {
        signatures: outputs.iter().map(|s| b64(s)).collect(),
    })
}

#[utoipa::path(post, path = "/api/v1/authorisations", tag = "authorisations", request_body = AuthoriseBody, responses((status = 201, description = "The pending request.", body = AuthorisedBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn authorise(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<AuthoriseBody>,
) -> ApiResult {
    let request = Authorise {
        user_id: body.user_id,
        key_id: body.key_id,
        hash_algorithm: hash_algorithm(&body.hash_algorithm)?,
        format: format(&body.format)?,
        documents: documents(body.documents)?,
        signatures: body.signatures,
    };
    created(AuthorisedBody::from(
        state.service.authorise(&ctx, request).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/authorisations", tag = "authorisations", params(ListQuery), responses((status = 200, description = "A page of the client's pending requests.", body = sam_service::RequestsPage), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn list(
    State(state): State<AppState>,
    Client(ctx): Client,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    if query.status.as_deref().is_some_and(|s| s != "pending") {
        return Err(error(
            ErrorCode::InvalidRequest,
            "only status=pending can be listed; ask for one request by its id",
        ));
    }
    ok(state
        .service
        .pending_requests_list(&ctx, query.after.as_deref(), query.limit)
        .await?)
}

#[utoipa::path(get, path = "/api/v1/authorisations/{request_id}", tag = "authorisations", params(("request_id" = String, Path, description = "The authorisation request.")), responses((status = 200, description = "The request's state.", body = sam_service::RequestState), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn status(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(request): Path<String>,
) -> ApiResult {
    ok(state.service.status(&ctx, &request).await?)
}

#[utoipa::path(post, path = "/api/v1/authorisations/{request_id}/sad", tag = "authorisations", request_body = SadBody, params(("request_id" = String, Path, description = "The authorisation request.")), responses((status = 204, description = "Authorised."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = []), ("device" = [])))]
async fn submit_sad(
    State(state): State<AppState>,
    caller: Caller,
    Path(request): Path<String>,
    ApiJson(body): ApiJson<SadBody>,
) -> ApiResult {
    // `encoding` says how `sad` is written (JWS text, or DER in base64); the SAD itself must be
    // in this server's `sad_format`. Absent, it is the server's format.
    // The API names a JSON SAD by its encoding, a JWS.
    let server_encoding = match state.sad_format {
        SadFormat::Der => "der",
        SadFormat::Json => "jws",
    };
    let sad = match body.encoding.as_deref().unwrap_or(server_encoding) {
        given @ ("jws" | "der") if given != server_encoding => {
            return Err(error(
                ErrorCode::InvalidRequest,
                format!(
                    "this server takes {server_encoding} SADs (sad_format {}), not {given}",
                    state.sad_format.as_str()
                ),
            ));
        }
        "jws" => body.sad.into_bytes(),
        "der" => from_b64("sad", &body.sad)?,
        other => {
            return Err(error(
                ErrorCode::InvalidRequest,
                format!("encoding {other:?}: `jws` or `der`"),
            ));
        }
    };
    match caller {
        Caller::Device(session) => {
            state
                .service
                .submit_sad(&session.client, &session.device_id, &request, &sad)
                .await?;
        }
        Caller::Client(ctx) => {
            state
                .service
                .submit_client_sad(&ctx, &request, &sad)
                .await?;
        }
    }
    no_content()
}

#[utoipa::path(post, path = "/api/v1/authorisations/{request_id}/decline", tag = "device sessions", params(("request_id" = String, Path, description = "The authorisation request.")), responses((status = 204, description = "Declined."), crate::api::ApiErrors), security(("device" = [])))]
async fn decline(
    State(state): State<AppState>,
    Device(session): Device,
    Path(request): Path<String>,
) -> ApiResult {
    state
        .service
        .decline(&session.client, &session.device_id, &request)
        .await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/sign", tag = "signing", request_body = SignBody, responses((status = 200, description = "The signatures, in document order.", body = SignaturesBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn sign(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<SignBody>,
) -> ApiResult {
    signatures(state.service.sign(&ctx, &body.request_id).await?)
}

#[utoipa::path(post, path = "/api/v1/seal/sign", tag = "signing", request_body = SealSignBody, responses((status = 200, description = "The signatures, in document order.", body = SignaturesBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn seal_sign(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<SealSignBody>,
) -> ApiResult {
    let batch = SealSign {
        request_id: body.request_id,
        hash_algorithm: hash_algorithm(&body.hash_algorithm)?,
        format: format(&body.format)?,
        documents: documents(body.documents)?,
    };
    signatures(state.service.seal_sign(&ctx, batch).await?)
}

#[utoipa::path(post, path = "/api/v1/authorisations/{request_id}/renew", tag = "authorisations", params(("request_id" = String, Path, description = "The authorisation request.")), responses((status = 201, description = "The renewal request.", body = AuthorisedBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn renew_seal(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(request): Path<String>,
) -> ApiResult {
    created(AuthorisedBody::from(
        state.service.renew_seal(&ctx, &request).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/otp", tag = "authorisations", request_body = OtpBody, responses((status = 200, description = "The OTP was sent.", body = sam_service::OtpSent), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn generate_otp(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<OtpBody>,
) -> ApiResult {
    ok(state
        .service
        .generate_otp(&ctx, &body.user_id, &body.request_id, body.channel)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/otp/verify", tag = "authorisations", request_body = VerifyOtpBody, responses((status = 204, description = "Verified."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn verify_otp(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<VerifyOtpBody>,
) -> ApiResult {
    state
        .service
        .verify_otp(&ctx, &body.user_id, &body.request_id, body.otp)
        .await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/pin/verify", tag = "authorisations", request_body = VerifyPinBody, responses((status = 204, description = "Verified."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn verify_pin(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<VerifyPinBody>,
) -> ApiResult {
    state
        .service
        .verify_pin(&ctx, &body.user_id, &body.request_id, body.pin)
        .await?;
    no_content()
}

#[utoipa::path(get, path = "/api/v1/profiles/{profile_id}", tag = "profiles", params(("profile_id" = u32, Path, description = "The profile.")), responses((status = 200, description = "The profile's settings (docs/profiles.md).", body = serde_json::Value), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn sam_profile(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(id): Path<u32>,
) -> ApiResult {
    let json = state.service.get_sam_profile(&ctx, id).await?;
    let value: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| error(ErrorCode::InternalError, format!("profile document: {e}")))?;
    ok(value)
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorise, list))
        .routes(routes!(status))
        .routes(routes!(submit_sad))
        .routes(routes!(decline))
        .routes(routes!(renew_seal))
        .routes(routes!(sign))
        .routes(routes!(seal_sign))
        .routes(routes!(generate_otp))
        .routes(routes!(verify_otp))
        .routes(routes!(verify_pin))
        .routes(routes!(sam_profile))
}
