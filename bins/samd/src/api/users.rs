//! Seed 002's user request types: Register User, Get Users, Get User, Update User, Delete
//! User, Change Password, Authenticate, Get User Profile, Recover Password, Change Email,
//! Change Mobile and their confirmations.

use axum::extract::State;
use sam_service::{Channel, RegisterUser};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Client, OptionalJson, Paging, created,
    no_content, ok,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Register User.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterUserBody {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    password: Option<Zeroizing<String>>,
}

/// Update User.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUserBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
}

/// Change Password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    current: Option<Zeroizing<String>>,
    #[schema(value_type = String)]
    new: Zeroizing<String>,
}

/// Authenticate.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthenticateBody {
    #[schema(value_type = String)]
    password: Zeroizing<String>,
}

/// A CSC access token for the user: whether to add a refresh token.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessTokenBody {
    /// Also a refresh token (`[csc] refresh_token_secs`; none when that is 0).
    #[serde(default)]
    remember_me: bool,
}

/// A user's CSC access token.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct AccessTokenView {
    /// The bearer token for the user's calls to `/csc/v1` and `/csc/v2` (docs/csc.md).
    access_token: String,
    /// Its lifetime, seconds.
    expires_in: i64,
    /// With `remember_me`: for `auth/login`'s `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl From<sam_service::IssuedAccessToken> for AccessTokenView {
    fn from(issued: sam_service::IssuedAccessToken) -> Self {
        Self {
            access_token: issued.access_token.to_string(),
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.map(|t| t.to_string()),
        }
    }
}

/// Recover Password: where the code goes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoverBody {
    channel: Channel,
}

/// Confirm Recover Password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmRecoverBody {
    #[schema(value_type = String)]
    code: Zeroizing<String>,
    #[schema(value_type = String)]
    new_password: Zeroizing<String>,
}

/// Change Email.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    email: String,
}

/// Change Mobile.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MobileBody {
    mobile: String,
}

/// Confirm Change Email / Mobile.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    #[schema(value_type = String)]
    code: Zeroizing<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = RegisterUserBody, responses((status = 201, description = "The user.", body = sam_service::UserView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
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

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(crate::api::Paging), responses((status = 200, description = "A page of users.", body = sam_service::UsersPage), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
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

#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "The user.", body = sam_service::UserView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn get_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
) -> ApiResult {
    ok(state.service.get_user(&ctx, &user).await?)
}

#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", request_body = UpdateUserBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "The user.", body = sam_service::UserView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
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

#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "The user.")), responses((status = 204, description = "Deleted."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn delete_user(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
) -> ApiResult {
    state.service.delete_user(&ctx, &user).await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/password", tag = "users", request_body = PasswordBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 204, description = "Changed."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
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
    no_content()
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/authenticate", tag = "users", request_body = AuthenticateBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 204, description = "The password is right."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
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
    no_content()
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/access-tokens", tag = "users", request_body(content = AccessTokenBody, description = "Optional; no body: no refresh token."), params(("user_id" = String, Path, description = "The user.")), responses((status = 201, description = "A CSC access token for the user (docs/csc.md); counted as Authenticate.", body = AccessTokenView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn issue_access_token(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    OptionalJson(body): OptionalJson<AccessTokenBody>,
) -> ApiResult {
    let body = body.unwrap_or_default();
    let issued = state
        .service
        .issue_access_token(&ctx, &user, body.remember_me)
        .await?;
    created(AccessTokenView::from(issued))
}

/// Which page of the devices and keys Get User Profile gives.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilePaging {
    /// The `devices_next` of the answer before; absent: the first devices.
    #[serde(default)]
    devices_after: Option<String>,
    /// The `keys_next` of the answer before; absent: the first keys.
    #[serde(default)]
    keys_after: Option<String>,
    /// At most this many devices and this many keys (1 to 1000, default 100).
    #[serde(default = "crate::api::default_limit")]
    limit: i64,
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}/profile", tag = "users", params(("user_id" = String, Path, description = "The user."), ProfilePaging), responses((status = 200, description = "The user, a page of their devices and a page of their keys.", body = sam_service::UserProfile), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn user_profile(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    Query(paging): Query<ProfilePaging>,
) -> ApiResult {
    let paging = sam_service::UserProfilePaging {
        devices_after: paging.devices_after.as_deref(),
        keys_after: paging.keys_after.as_deref(),
        limit: paging.limit,
    };
    ok(state.service.get_user_profile(&ctx, &user, paging).await?)
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/password/recover", tag = "users", request_body = RecoverBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "A code was sent.", body = sam_service::CodeSent), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn recover_password(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<RecoverBody>,
) -> ApiResult {
    ok(state
        .service
        .recover_password(&ctx, &user, body.channel)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/password/recover/confirm", tag = "users", request_body = ConfirmRecoverBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 204, description = "The password is set."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn confirm_recover_password(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<ConfirmRecoverBody>,
) -> ApiResult {
    state
        .service
        .confirm_recover_password(&ctx, &user, body.code, body.new_password)
        .await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/email", tag = "users", request_body = EmailBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "A code was sent to the new address.", body = sam_service::CodeSent), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn change_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult {
    ok(state.service.change_email(&ctx, &user, &body.email).await?)
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/email/confirm", tag = "users", request_body = CodeBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "The user.", body = sam_service::UserView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn confirm_change_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult {
    ok(state
        .service
        .confirm_change_email(&ctx, &user, body.code)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/mobile", tag = "users", request_body = MobileBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "A code was sent to the new number.", body = sam_service::CodeSent), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn change_mobile(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<MobileBody>,
) -> ApiResult {
    ok(state
        .service
        .change_mobile(&ctx, &user, &body.mobile)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/mobile/confirm", tag = "users", request_body = CodeBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 200, description = "The user.", body = sam_service::UserView), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn confirm_change_mobile(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult {
    ok(state
        .service
        .confirm_change_mobile(&ctx, &user, body.code)
        .await?)
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_user, get_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(change_password))
        .routes(routes!(authenticate))
        .routes(routes!(issue_access_token))
        .routes(routes!(user_profile))
        .routes(routes!(recover_password))
        .routes(routes!(confirm_recover_password))
        .routes(routes!(change_email))
        .routes(routes!(confirm_change_email))
        .routes(routes!(change_mobile))
        .routes(routes!(confirm_change_mobile))
}
