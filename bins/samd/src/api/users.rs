//! Seed 002's user request types: Register User, Get Users, Get User, Update User, Delete
//! User, Change Password, Authenticate, Get User Profile, Recover Password, Change Email,
//! Change Mobile and their confirmations.

use axum::extract::State;
use axum::routing::{get, post};
use sam_service::{Channel, RegisterUser};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Client, Paging, created, no_content, ok,
};
use crate::server::AppState;

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

/// Recover Password: where the code goes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoverBody {
    channel: Channel,
}

/// Confirm Recover Password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmRecoverBody {
    code: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

/// Change Email.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    email: String,
}

/// Change Mobile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MobileBody {
    mobile: String,
}

/// Confirm Change Email / Mobile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    code: Zeroizing<String>,
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
    no_content()
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
    no_content()
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
    no_content()
}

async fn user_profile(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
) -> ApiResult {
    ok(state.service.get_user_profile(&ctx, &user).await?)
}

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

async fn change_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult {
    ok(state.service.change_email(&ctx, &user, &body.email).await?)
}

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

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/users", post(register_user).get(get_users))
        .route(
            "/api/v1/users/{user_id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/api/v1/users/{user_id}/password", post(change_password))
        .route("/api/v1/users/{user_id}/authenticate", post(authenticate))
        .route("/api/v1/users/{user_id}/profile", get(user_profile))
        .route(
            "/api/v1/users/{user_id}/password/recover",
            post(recover_password),
        )
        .route(
            "/api/v1/users/{user_id}/password/recover/confirm",
            post(confirm_recover_password),
        )
        .route("/api/v1/users/{user_id}/email", post(change_email))
        .route(
            "/api/v1/users/{user_id}/email/confirm",
            post(confirm_change_email),
        )
        .route("/api/v1/users/{user_id}/mobile", post(change_mobile))
        .route(
            "/api/v1/users/{user_id}/mobile/confirm",
            post(confirm_change_mobile),
        )
}
