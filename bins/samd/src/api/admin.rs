//! The operator's API under `/admin/v1` (PROTOCOL.md): profiles (create, edit, copy,
//! activate/deactivate, sort, advanced search, usage map), clients (access, selected and
//! default profiles, authorisation certificate, credentials, TLS certificate binding), service
//! plans (set, renew, status, alerts), crypto sources (list, health) and the audit log (export,
//! verify the chain). Every call needs the admin credential.

use axum::extract::State;
use sam_plan::PlanSettings;
use sam_profile::{Description, ProfileQuery, ProfileSettings, ProfileStatus, SortKey, SortOrder};
use sam_service::ClientSettings;
use sam_service::ErrorCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{
    Admin, ApiError, ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Paging, created,
    error, from_b64, no_content, ok,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Register or update a client.
#[derive(Deserialize, utoipa::ToSchema)]
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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretBody {
    #[schema(value_type = String)]
    secret: Zeroizing<String>,
}

/// Sorting of the profile table.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SortQuery {
    /// `id`, `name`, `created-at` or `status`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    sort: Option<SortKey>,
    /// `ascending` or `descending`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    order: Option<SortOrder>,
    /// The `next` of the page before (a profile id); absent: the first page.
    #[serde(default)]
    after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[serde(default = "crate::api::default_limit")]
    limit: i64,
}

/// *Make a Copy*.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// Activate or deactivate.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `active` or `inactive`.
    #[schema(value_type = String)]
    status: ProfileStatus,
}

/// A page of the audit log.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[derive(Serialize, utoipa::ToSchema)]
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

#[utoipa::path(post, path = "/admin/v1/clients", tag = "admin: clients", request_body = ClientBody, responses((status = 201, description = "The client.", body = sam_service::ClientView), crate::api::ApiErrors), security(("admin" = [])))]
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

#[utoipa::path(get, path = "/admin/v1/clients", tag = "admin: clients", params(Paging), responses((status = 200, description = "A page of the clients.", body = sam_service::ClientsPage), crate::api::ApiErrors), security(("admin" = [])))]
async fn clients(
    State(state): State<AppState>,
    _admin: Admin,
    Query(paging): Query<Paging>,
) -> ApiResult {
    ok(state
        .service
        .clients(paging.after.as_deref(), paging.limit)
        .await?)
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "admin: clients", params(("client_id" = String, Path, description = "The client.")), responses((status = 200, description = "The client.", body = sam_service::ClientView), crate::api::ApiErrors), security(("admin" = [])))]
async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.get_client(&client).await?)
}

#[utoipa::path(put, path = "/admin/v1/clients/{client_id}", tag = "admin: clients", request_body = ClientBody, params(("client_id" = String, Path, description = "The client.")), responses((status = 200, description = "The client.", body = sam_service::ClientView), crate::api::ApiErrors), security(("admin" = [])))]
async fn update_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(body): ApiJson<ClientBody>,
) -> ApiResult {
    if body.client_id != client {
        return Err(error(
            ErrorCode::InvalidRequest,
            "client_id in the body differs from the one in the path",
        ));
    }
    ok(state.service.update_client(&client_settings(body)?).await?)
}

#[utoipa::path(put, path = "/admin/v1/clients/{client_id}/secret", tag = "admin: clients", request_body = SecretBody, params(("client_id" = String, Path, description = "The client.")), responses((status = 204, description = "Set."), crate::api::ApiErrors), security(("admin" = [])))]
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

/// Register an OAuth 2.0 client of a sam client (docs/csc.md "OAuth2").
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthClientBody {
    /// The name the user's pages show (1 to 100 characters).
    name: String,
    /// Its redirect URIs: `https://`, or `http://` to a loopback IP; compared exactly (1 to
    /// 16).
    redirect_uris: Vec<String>,
    /// Whether it authenticates with a secret (made by sam, shown once). A public client
    /// (an app on the user's device) has none; PKCE binds its codes.
    #[serde(default = "yes")]
    confidential: bool,
}

/// An OAuth 2.0 client.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OAuthClientView {
    /// Its `client_id`.
    oauth_client_id: String,
    /// The sam client it acts for.
    client_id: String,
    /// The name the user's pages show.
    name: String,
    /// Its redirect URIs.
    redirect_uris: Vec<String>,
    /// Whether it authenticates with a secret.
    confidential: bool,
    /// The secret of a confidential client, in the answer of its registration only.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl OAuthClientView {
    fn of(client: sam_service::oauth2::OAuthClient, secret: Option<String>) -> Self {
        Self {
            oauth_client_id: client.oauth_client_id,
            client_id: client.client_id,
            name: client.name,
            redirect_uris: client.redirect_uris,
            confidential: client.confidential,
            client_secret: secret,
        }
    }
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/oauth-clients", tag = "admin: clients", request_body = OAuthClientBody, params(("client_id" = String, Path, description = "The sam client.")), responses((status = 201, description = "The OAuth client, with its secret (shown this once) when confidential.", body = OAuthClientView), crate::api::ApiErrors), security(("admin" = [])))]
async fn register_oauth_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(body): ApiJson<OAuthClientBody>,
) -> ApiResult {
    let registered = state
        .service
        .register_oauth_client(&client, &body.name, &body.redirect_uris, body.confidential)
        .await?;
    created(OAuthClientView::of(
        registered.client,
        registered.client_secret.map(|s| s.to_string()),
    ))
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/oauth-clients", tag = "admin: clients", params(("client_id" = String, Path, description = "The sam client.")), responses((status = 200, description = "The client's OAuth clients (no secrets).", body = [OAuthClientView]), crate::api::ApiErrors), security(("admin" = [])))]
async fn oauth_clients(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    let clients = state.service.oauth_clients(&client).await?;
    ok(clients
        .into_iter()
        .map(|c| OAuthClientView::of(c, None))
        .collect::<Vec<_>>())
}

#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}/oauth-clients/{oauth_client_id}", tag = "admin: clients", params(("client_id" = String, Path, description = "The sam client."), ("oauth_client_id" = String, Path, description = "The OAuth client.")), responses((status = 204, description = "Deleted, with its authorisations in progress."), crate::api::ApiErrors), security(("admin" = [])))]
async fn delete_oauth_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path((client, oauth_client)): Path<(String, String)>,
) -> ApiResult {
    state
        .service
        .delete_oauth_client(&client, &oauth_client)
        .await?;
    no_content()
}

#[utoipa::path(post, path = "/admin/v1/profiles", tag = "admin: profiles", request_body = serde_json::Value, responses((status = 201, description = "The profile: id, created_at, settings.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn create_profile(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(settings): ApiJson<ProfileSettings>,
) -> ApiResult {
    created(state.service.create_profile(settings).await?)
}

#[utoipa::path(get, path = "/admin/v1/profiles", tag = "admin: profiles", params(SortQuery), responses((status = 200, description = "A page of the profiles, sorted: {\"profiles\", \"next\"}.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn profiles(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<SortQuery>,
) -> ApiResult {
    ok(state.service.sorted_profiles(
        query.sort.unwrap_or(SortKey::Id),
        query.order.unwrap_or_default(),
        query.after.as_deref(),
        query.limit,
    )?)
}

#[utoipa::path(post, path = "/admin/v1/profiles/search", tag = "admin: profiles", request_body = serde_json::Value, params(Paging), responses((status = 200, description = "A page of the matching profiles: {\"profiles\", \"next\"}.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn search_profiles(
    State(state): State<AppState>,
    _admin: Admin,
    Query(paging): Query<Paging>,
    ApiJson(query): ApiJson<ProfileQuery>,
) -> ApiResult {
    ok(state
        .service
        .search_profiles(&query, paging.after.as_deref(), paging.limit)?)
}

#[utoipa::path(get, path = "/admin/v1/profiles/{profile_id}", tag = "admin: profiles", params(("profile_id" = u32, Path, description = "The profile.")), responses((status = 200, description = "The profile.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
) -> ApiResult {
    ok(state.service.profile(id)?)
}

#[utoipa::path(put, path = "/admin/v1/profiles/{profile_id}", tag = "admin: profiles", request_body = serde_json::Value, params(("profile_id" = u32, Path, description = "The profile.")), responses((status = 200, description = "The profile.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn edit_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(settings): ApiJson<ProfileSettings>,
) -> ApiResult {
    ok(state.service.edit_profile(id, settings).await?)
}

#[utoipa::path(post, path = "/admin/v1/profiles/{profile_id}/copy", tag = "admin: profiles", request_body = CopyBody, params(("profile_id" = u32, Path, description = "The profile.")), responses((status = 201, description = "The new profile.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn copy_profile(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(body): ApiJson<CopyBody>,
) -> ApiResult {
    let name = body
        .name
        .parse()
        .map_err(|e| error(ErrorCode::InvalidRequest, format!("name: {e}")))?;
    let description: Description = match body.description {
        Some(d) => d
            .parse()
            .map_err(|e| error(ErrorCode::InvalidRequest, format!("description: {e}")))?,
        None => Description::default(),
    };
    created(state.service.copy_profile(id, name, description).await?)
}

#[utoipa::path(put, path = "/admin/v1/profiles/{profile_id}/status", tag = "admin: profiles", request_body = StatusBody, params(("profile_id" = u32, Path, description = "The profile.")), responses((status = 200, description = "The profile.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn set_profile_status(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<u32>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult {
    ok(state.service.set_profile_status(id, body.status).await?)
}

#[utoipa::path(get, path = "/admin/v1/profiles/usage", tag = "admin: profiles", params(Paging), responses((status = 200, description = "Every profile id to those of a page of clients that may use it; the pages merged give the whole map.", body = sam_service::UsageMapPage), crate::api::ApiErrors), security(("admin" = [])))]
async fn usage_map(
    State(state): State<AppState>,
    _admin: Admin,
    Query(paging): Query<Paging>,
) -> ApiResult {
    ok(state
        .service
        .profile_usage_map(paging.after.as_deref(), paging.limit)
        .await?)
}

#[utoipa::path(put, path = "/admin/v1/clients/{client_id}/plan", tag = "admin: plans", request_body = serde_json::Value, params(("client_id" = String, Path, description = "The client.")), responses((status = 200, description = "The current period.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn set_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    ApiJson(settings): ApiJson<PlanSettings>,
) -> ApiResult {
    ok(state.service.set_plan(&client, &settings).await?)
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/plan", tag = "admin: plans", params(("client_id" = String, Path, description = "The client.")), responses((status = 200, description = "Settings, period, usage, renewal, alerts.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn plan_status(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.plan_status(&client).await?)
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/plan/renew", tag = "admin: plans", params(("client_id" = String, Path, description = "The client.")), responses((status = 200, description = "The new period.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn renew_plan(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
) -> ApiResult {
    ok(state.service.renew_plan(&client).await?)
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/plan/alerts", tag = "admin: plans", params(("client_id" = String, Path, description = "The client."), Paging), responses((status = 200, description = "A page of the alerts sent, by period and kind.", body = sam_service::AlertsPage), crate::api::ApiErrors), security(("admin" = [])))]
async fn plan_alerts(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client): Path<String>,
    Query(paging): Query<Paging>,
) -> ApiResult {
    ok(state
        .service
        .plan_alerts(&client, paging.after.as_deref(), paging.limit)
        .await?)
}

#[utoipa::path(get, path = "/admin/v1/crypto-sources", tag = "admin: crypto sources", responses((status = 200, description = "Every crypto source.", body = Vec<sam_service::CryptoSourceStatus>), crate::api::ApiErrors), security(("admin" = [])))]
async fn crypto_sources(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    ok(state.service.crypto_sources())
}

#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin: audit", params(AuditQuery), responses((status = 200, description = "Audit records.", body = Vec<AuditBody>), crate::api::ApiErrors), security(("admin" = [])))]
async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<AuditQuery>,
) -> ApiResult {
    let records = state.service.audit_export(query.from, query.limit).await?;
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

#[utoipa::path(get, path = "/admin/v1/audit/verify", tag = "admin: audit", responses((status = 200, description = "Whether the hash chain is intact, or where it breaks.", body = serde_json::Value), crate::api::ApiErrors), security(("admin" = [])))]
async fn verify_audit(State(state): State<AppState>, _admin: Admin) -> ApiResult {
    let report = state.service.audit_verify().await?;
    ok(match report {
        sam_store::ChainReport::Intact { records } => {
            serde_json::json!({"intact": true, "records": records})
        }
        sam_store::ChainReport::Broken { seq, reason } => {
            serde_json::json!({"intact": false, "seq": seq, "reason": reason})
        }
    })
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_client, clients))
        .routes(routes!(get_client, update_client))
        .routes(routes!(set_client_secret))
        .routes(routes!(register_oauth_client, oauth_clients))
        .routes(routes!(delete_oauth_client))
        .routes(routes!(create_profile, profiles))
        .routes(routes!(search_profiles))
        .routes(routes!(get_profile, edit_profile))
        .routes(routes!(copy_profile))
        .routes(routes!(set_profile_status))
        .routes(routes!(usage_map))
        .routes(routes!(set_plan, plan_status))
        .routes(routes!(renew_plan))
        .routes(routes!(plan_alerts))
        .routes(routes!(crypto_sources))
        .routes(routes!(audit))
        .routes(routes!(verify_audit))
}
