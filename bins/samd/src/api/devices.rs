//! Seed 002's device request types (Register Device, Get Devices, Get Device, Delete Device),
//! device sessions, and what a device does in a session: Get Pending Requests, answer with the
//! SAD, Decline Request.

use axum::extract::State;
use sam_service::ErrorCode;
use sam_service::RegisterDevice;
use serde::{Deserialize, Serialize};

use super::{
    ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Client, Device, Paging, created, error,
    from_b64, no_content, ok,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Register Device.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterDeviceBody {
    device_id: String,
    #[serde(default)]
    profile_id: Option<u32>,
    /// The authorisation key, DER SubjectPublicKeyInfo, base64.
    public_key: String,
    /// The JOSE algorithm the device signs with (`ES256`, `ML-DSA-65`, ...).
    algorithm: String,
    #[serde(default)]
    biometric: bool,
    #[serde(default)]
    secure_element: bool,
    /// The signature over the registration message (docs/api.md), base64.
    proof: String,
}

/// A challenge request: which device wants a session.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChallengeBody {
    client_id: String,
    device_id: String,
}

/// The signed challenge.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    client_id: String,
    device_id: String,
    challenge_id: String,
    challenge: String,
    /// The signature over the session message (docs/api.md), base64.
    signature: String,
}

/// A pending request as a device sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PendingBody {
    request_id: String,
    /// The DER `sam-sad` authorisation request the SAD answers, base64.
    message: String,
    /// What the user is shown: each document's label, digest and DTBS/R.
    documents: serde_json::Value,
}

/// Everything a device needs to answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PendingList {
    /// The audience its SADs must name.
    instance_id: String,
    /// `json` (JWS) or `der`.
    sad_format: String,
    /// Oldest first, at most `limit` (default 100, at most 1000).
    requests: Vec<PendingBody>,
    /// The `after` of the next page, when this one is full.
    next: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/devices", tag = "devices", request_body = RegisterDeviceBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 201, description = "The device.", body = sam_service::DeviceView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn register_device(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<RegisterDeviceBody>,
) -> ApiResult {
    let device = state
        .service
        .register_device(
            &ctx,
            RegisterDevice {
                user_id: user,
                device_id: body.device_id,
                profile_id: body.profile_id,
                public_key: from_b64("public_key", &body.public_key)?,
                algorithm: body.algorithm,
                biometric: body.biometric,
                secure_element: body.secure_element,
                proof: from_b64("proof", &body.proof)?,
            },
        )
        .await?;
    created(device)
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}/devices", tag = "devices", params(("user_id" = String, Path, description = "The user."), crate::api::Paging), responses((status = 200, description = "A page of the user's devices.", body = sam_service::DevicesPage), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn get_devices(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    Query(paging): Query<Paging>,
) -> ApiResult {
    ok(state
        .service
        .get_devices(&ctx, &user, paging.after.as_deref(), paging.limit)
        .await?)
}

#[utoipa::path(get, path = "/api/v1/devices/{device_id}", tag = "devices", params(("device_id" = String, Path, description = "The device.")), responses((status = 200, description = "The device.", body = sam_service::DeviceView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn get_device(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(device): Path<String>,
) -> ApiResult {
    ok(state.service.get_device(&ctx, &device).await?)
}

#[utoipa::path(delete, path = "/api/v1/devices/{device_id}", tag = "devices", params(("device_id" = String, Path, description = "The device.")), responses((status = 204, description = "Deleted."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn delete_device(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(device): Path<String>,
) -> ApiResult {
    state.service.delete_device(&ctx, &device).await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/device-sessions/challenge", tag = "device sessions", request_body = ChallengeBody, responses((status = 201, description = "A challenge to sign.", body = sam_service::DeviceChallenge), crate::api::ApiErrors), security(()))]
async fn challenge(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ChallengeBody>,
) -> ApiResult {
    created(
        state
            .service
            .device_challenge(&body.client_id, &body.device_id)
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/device-sessions", tag = "device sessions", request_body = SessionBody, responses((status = 201, description = "A session token.", body = sam_service::DeviceSessionToken), crate::api::ApiErrors), security(()))]
async fn open_session(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult {
    let signature = from_b64("signature", &body.signature)?;
    created(
        state
            .service
            .open_device_session(
                &body.client_id,
                &body.device_id,
                &body.challenge_id,
                &body.challenge,
                &signature,
            )
            .await?,
    )
}

#[utoipa::path(get, path = "/api/v1/devices/{device_id}/pending", tag = "device sessions", params(("device_id" = String, Path, description = "The device."), crate::api::Paging), responses((status = 200, description = "The device's pending requests.", body = PendingList), crate::api::ApiErrors), security(("device" = [])))]
async fn pending(
    State(state): State<AppState>,
    Device(session): Device,
    Path(device): Path<String>,
    Query(paging): Query<Paging>,
) -> ApiResult {
    if device != session.device_id {
        // A session acts only as its own device.
        return Err(error(
            ErrorCode::NotFound,
            format!("device {device} does not exist"),
        ));
    }
    let requests = state
        .service
        .pending_requests(
            &session.client,
            &session.device_id,
            paging.after.as_deref(),
            paging.limit,
        )
        .await?;
    let full = i64::try_from(requests.len()).is_ok_and(|n| n == paging.limit);
    let next = if full {
        requests.last().map(|r| r.request_id.clone())
    } else {
        None
    };
    ok(PendingList {
        next,
        instance_id: state.instance_id.clone(),
        sad_format: state.sad_format.as_str().to_owned(),
        requests: requests
            .into_iter()
            .map(|r| PendingBody {
                request_id: r.request_id,
                message: super::b64(&r.message),
                documents: serde_json::from_str(&r.documents)
                    .unwrap_or(serde_json::Value::String(r.documents)),
            })
            .collect(),
    })
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_device, get_devices))
        .routes(routes!(get_device, delete_device))
        .routes(routes!(challenge))
        .routes(routes!(open_session))
        .routes(routes!(pending))
}
