//! The operator's API under `/admin/v1` (PROTOCOL.md): profiles (create, edit, copy,
//! activate/deactivate, sort, advanced search, usage map), clients (access, selected and
//! default profiles, authorisation certificate, credentials, TLS certificate binding), service
//! plans (set, renew, status, alerts), crypto sources (list, health) and the audit log (export,
//! verify the chain). Every call needs the admin credential.

use axum::extract::State;
use axum::routing::{get, post, put};
use sam_plan::PlanSettings;
use sam_profile::{Description, ProfileQuery, ProfileSettings, ProfileStatus, SortKey, SortOrder};
use sam_service::ClientSettings;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{
    Admin, ApiError, ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, created, error,
    from_b64, no_content, ok,
};
use crate::server::AppState;

/// Register or update a client.
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
    /// DER, base64.
    #[serde(default)]
    authorisation_certificate: Option<String>,
    /// DER certificates, base64.
    #[serde(default)]
    tls_certificates: Vec<String>,
    #[serde(default)]
    basic_with_tls: bool,
}

fn yes() -> bool {
    true
}

/// Set Client Secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretBody {
    secret: Zeroizing<String>,
}

/// Sorting of the profile table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SortQuery {
    #[serde(default)]
    sort: Option<SortKey>,
    #[serde(default)]
    order: Option<SortOrder>,
}

/// *Make a Copy*.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// Activate or deactivate.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    status: ProfileStatus,
}

/// A page of the audit log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default = "one")]
    from: i64,
    #[serde(default = "thousand")]
    limit: i64,
}

fn one() -> i64 {
    1
}

fn thousand() -> i64 {
    1000
}

/// An audit record as exported.
#[derive(Serialize)]
pub(crate) struct AuditBody {
    seq: i64,
    /// RFC 3339.
    at: String,
    client_id: String,
    actor: String,
    action: String,
    outcome: String,
    detail: String,
    /// Hex.
    prev_hash: String,
    /// Hex.
    hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
            .map(|c| from_b64("authorisation_certificate", &c))
            .transpose()?,
        tls_certificates: body
            .tls_certificates
            .iter()
            .map(|c| from_b64("tls_certificates", c))
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

async fn clients(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    ok(state.service.clients().await?)
}

async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.get_client(&client).await?)
}

async fn update_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(body): ApiJson<ClientBody>,
) -> ApiResult {
    if body.client_id != client {
        return Err(error(
            "invalid_request",
            "client_id in the body differs from the one in the path",
        ));
    }
    ok(state.service.update_client(&client_settings(body)?).await?)
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
    no_content()
}

async fn create_profile(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(settings): ApiJson<ProfileSettings>,
) -> ApiResult {
    created(state.service.create_profile(settings).await?)
}

async fn profiles(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<SortQuery>,
) -> ApiResult {
    ok(state.service.sorted_profiles(
        query.sort.unwrap_or(SortKey::Id),
        query.order.unwrap_or_default(),
    ))
}

async fn search_profiles(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(query): ApiJson<ProfileQuery>,
) -> ApiResult {
    ok(state.service.search_profiles(&query)?)
}

async fn get_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
) -> ApiResult {
    ok(state.service.profile(id)?)
}

async fn edit_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(settings): ApiJson<ProfileSettings>,
) -> ApiResult {
    ok(state.service.edit_profile(id, settings).await?)
}

async fn copy_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(body): ApiJson<CopyBody>,
) -> ApiResult {
    let name = body
        .name
        .parse()
        .map_err(|e| error("invalid_request", format!("name: {e}")))?;
    let description: Description = match body.description {
        Some(d) => d
            .parse()
            .map_err(|e| error("invalid_request", format!("description: {e}")))?,
        None => Description::default(),
    };
    created(state.service.copy_profile(id, name, description).await?)
}

async fn set_profile_status(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult {
    ok(state.service.set_profile_status(id, body.status).await?)
}

async fn usage_map(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    ok(state.service.profile_usage_map().await?)
}

async fn set_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(settings): ApiJson<PlanSettings>,
) -> ApiResult {
    ok(state.service.set_plan(&client, &settings).await?)
}

async fn plan_status(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.plan_status(&client).await?)
}

async fn renew_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.renew_plan(&client).await?)
}

async fn plan_alerts(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    let alerts = state.service.plan_alerts(&client).await?;
    ok(alerts
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "period_number": a.period_number,
                "kind": a.kind,
                "sent_at": a.sent_at.to_string(),
                "detail": a.detail,
            })
        })
        .collect::<Vec<_>>())
}

async fn crypto_sources(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    ok(state.service.crypto_sources())
}

async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<AuditQuery>,
) -> ApiResult {
    if !(1..=10_000).contains(&query.limit) || query.from < 1 {
        return Err(error(
            "invalid_request",
            "from is 1 or more; limit is 1 to 10000",
        ));
    }
    let records = state
        .service
        .store()
        .audit_records(query.from, query.limit)
        .await
        .map_err(sam_service::ServiceError::from)?;
    ok(records
        .into_iter()
        .map(|r| AuditBody {
            seq: r.seq,
            at: r.entry.at.to_string(),
            client_id: r.entry.client_id,
            actor: r.entry.actor,
            action: r.entry.action,
            outcome: r.entry.outcome,
            detail: r.entry.detail,
            prev_hash: hex(&r.prev_hash),
            hash: hex(&r.hash),
        })
        .collect::<Vec<_>>())
}

async fn verify_audit(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    let report = state
        .service
        .store()
        .verify_audit_chain()
        .await
        .map_err(sam_service::ServiceError::from)?;
    ok(match report {
        sam_store::ChainReport::Intact { records } => {
            serde_json::json!({"intact": true, "records": records})
        }
        sam_store::ChainReport::Broken { seq, reason } => {
            serde_json::json!({"intact": false, "seq": seq, "reason": reason})
        }
    })
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/v1/clients", post(register_client).get(clients))
        .route(
            "/admin/v1/clients/{client_id}",
            get(get_client).put(update_client),
        )
        .route(
            "/admin/v1/clients/{client_id}/secret",
            put(set_client_secret),
        )
        .route(
            "/admin/v1/clients/{client_id}/plan",
            get(plan_status).put(set_plan),
        )
        .route("/admin/v1/clients/{client_id}/plan/renew", post(renew_plan))
        .route(
            "/admin/v1/clients/{client_id}/plan/alerts",
            get(plan_alerts),
        )
        .route("/admin/v1/profiles", post(create_profile).get(profiles))
        .route("/admin/v1/profiles/search", post(search_profiles))
        .route("/admin/v1/profiles/usage", get(usage_map))
        .route(
            "/admin/v1/profiles/{profile_id}",
            get(get_profile).put(edit_profile),
        )
        .route("/admin/v1/profiles/{profile_id}/copy", post(copy_profile))
        .route(
            "/admin/v1/profiles/{profile_id}/status",
            put(set_profile_status),
        )
        .route("/admin/v1/crypto-sources", get(crypto_sources))
        .route("/admin/v1/audit", get(audit))
        .route("/admin/v1/audit/verify", get(verify_audit))
}
