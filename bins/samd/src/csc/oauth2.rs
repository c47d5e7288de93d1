//! The CSC API's OAuth 2.0 authorisation server over HTTP (CSC API 2.2.0.0 §8; docs/csc.md
//! "OAuth2"), served when `[csc] oauth2_issuer` is set. What each step means is
//! `sam_service::oauth2`'s; the protocol's parameters are `sam_oauth2`'s; this module reads
//! requests, renders the user's pages and writes answers.
//!
//! - **Endpoints for clients** (JSON answers, `Cache-Control: no-store`):
//!   `POST /csc/v2/oauth2/pushed_authorize` (RFC 9126), `POST /csc/v2/oauth2/token`
//!   (RFC 6749 §4.1.3, §6), `POST /csc/v2/oauth2/revoke` (RFC 7009), and
//!   `GET /.well-known/oauth-authorization-server` (RFC 8414). Their bodies are
//!   `application/x-www-form-urlencoded`; clients authenticate with HTTP Basic or
//!   `client_secret` (confidential) or name their `client_id` (public, PKCE binds the code).
//! - **The user's pages** (server-rendered HTML, no external assets):
//!   `GET /csc/v2/oauth2/authorize` opens the authorisation in this browser (a
//!   `__Host-` cookie per authorisation: `Secure`, `HttpOnly`, `SameSite=Strict`) and shows
//!   the login; `POST …/authorize/login` checks the password; for a credential the page then
//!   waits for the device — `pages.js` polls `GET …/authorize/progress` (JSON), and without
//!   script a button posts `…/authorize/progress` — or asks for the PIN
//!   (`POST …/authorize/pin`). The browser leaves by a `303` to the client's redirect URI.
//!
//! Every page answer carries a strict Content-Security-Policy (scripts, styles and requests
//! of this origin only; forms to this origin and the client's redirect origin; no framing),
//! `X-Frame-Options: DENY`, `Referrer-Policy: same-origin` and `Cache-Control: no-store`.
//! A form post whose `Origin` (or `Sec-Fetch-Site`) says another site is refused (CSRF),
//! besides the `SameSite=Strict` cookie that binds every step to the browser that began it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sam_oauth2::params::Params;
use sam_oauth2::token::{ClientAuthentication, Grant, Revocation};
use sam_oauth2::{ErrorCode as OAuthCode, OAuthError};
use sam_service::oauth2::{
    AuthorizationStep, AuthorizationView, AuthorizeRefusal, OAuthFailure, OAuthTokens,
};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{CscBody, CscError};
use crate::api::basic;
use crate::state::AppState;

/// Where the endpoints live, below the issuer.
pub(crate) const BASE_PATH: &str = "/csc/v2/oauth2";
/// The cookie that binds an authorisation to a browser: this prefix, then its id.
const COOKIE_PREFIX: &str = "__Host-sam_oauth_";
/// How long the cookie lives, seconds (as long as the authorisation may).
const COOKIE_SECS: i64 = sam_service::oauth2::AUTHORIZATION_SECS;

const PAGES_JS: &str = include_str!("oauth2/pages.js");
const PAGES_CSS: &str = include_str!("oauth2/pages.css");

/// The routes of the authorisation server.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/csc/v2/oauth2/pushed_authorize", post(pushed_authorize))
        .route("/csc/v2/oauth2/token", post(token))
        .route("/csc/v2/oauth2/revoke", post(revoke))
        .route("/csc/v2/oauth2/authorize", get(authorize))
        .route("/csc/v2/oauth2/authorize/login", post(login))
        .route(
            "/csc/v2/oauth2/authorize/progress",
            get(progress).post(progress_form),
        )
        .route("/csc/v2/oauth2/authorize/pin", post(pin))
        .route("/csc/v2/oauth2/assets/pages.js", get(pages_js))
        .route("/csc/v2/oauth2/assets/pages.css", get(pages_css))
}

// ---------------------------------------------------------------------------------------
// The endpoints for clients.

/// An OAuth refusal: RFC 6749 §5.2's body, with the status of its code.
struct OAuthReply(OAuthError);

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (
            status,
            no_store(),
            axum::Json(ErrorBody {
                error: self.0.code.as_str(),
                error_description: &self.0.description,
            }),
        )
            .into_response();
        if self.0.code == OAuthCode::InvalidClient {
            // RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sam\""),
            );
        }
        response
    }
}

/// The answer of a failed step: the protocol's refusal, or the service's in CSC's form
/// (`server_error`, `temporarily_unavailable`, … with sam's code first).
fn failed(failure: OAuthFailure) -> Response {
    match failure {
        OAuthFailure::Protocol(e) => OAuthReply(e).into_response(),
        OAuthFailure::Service(e) => CscError::from(e).into_response(),
    }
}

/// RFC 6749 §5.1: token answers are not cached.
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// A client's form body, read: `application/x-www-form-urlencoded` (RFC 6749 §3.2), at most
/// once per parameter.
fn form(headers: &HeaderMap, bytes: &[u8]) -> Result<Params, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid(
            "the body must be application/x-www-form-urlencoded (RFC 6749 section 3.2)",
        ));
    }
    Params::from_form(bytes)
}

/// A client's request, read by `read`, and the client's authentication.
fn client_request<T>(
    headers: &HeaderMap,
    bytes: &[u8],
    read: impl FnOnce(&Params) -> Result<T, OAuthError>,
) -> Result<(T, ClientAuthentication), OAuthError> {
    let params = form(headers, bytes)?;
    let authentication = ClientAuthentication::from_params(&params, basic(headers))?;
    Ok((read(&params)?, authentication))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).
async fn metadata(State(state): State<AppState>) -> Response {
    let Some(issuer) = state.csc.oauth2_issuer.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    axum::Json(sam_oauth2::metadata::Metadata::new(
        issuer,
        &format!("{issuer}{BASE_PATH}"),
    ))
    .into_response()
}

/// The PAR answer (RFC 9126 §2.2).
#[derive(Serialize)]
struct PushedBody {
    request_uri: String,
    expires_in: i64,
}

/// `POST /csc/v2/oauth2/pushed_authorize`.
async fn pushed_authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let (params, authentication) = match client_request(&headers, &bytes, |p| Ok(p.clone())) {
        Ok(read) => read,
        Err(e) => return OAuthReply(e).into_response(),
    };
    match state
        .service
        .push_authorization(&authentication, &params)
        .await
    {
        Ok(pushed) => (
            StatusCode::CREATED,
            no_store(),
            axum::Json(PushedBody {
                request_uri: pushed.request_uri,
                expires_in: pushed.expires_in,
            }),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

/// The token answer (RFC 6749 §5.1; CSC API 2.2.0.0 §8.3.3: `credentialID` for a
/// credential-scope token).
#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: &'static str,
    #[serde(rename = "credentialID", skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
}

impl From<OAuthTokens> for TokenBody {
    fn from(tokens: OAuthTokens) -> Self {
        Self {
            access_token: tokens.issued.access_token.to_string(),
            token_type: "Bearer",
            expires_in: tokens.issued.expires_in,
            refresh_token: tokens.issued.refresh_token.map(|t| t.to_string()),
            scope: tokens.scope,
            credential_id: tokens.credential_id,
        }
    }
}

/// `POST /csc/v2/oauth2/token`.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let (grant, authentication) = match client_request(&headers, &bytes, Grant::from_params) {
        Ok(read) => read,
        Err(e) => return OAuthReply(e).into_response(),
    };
    match state
        .service
        .exchange_oauth_grant(&authentication, &grant)
        .await
    {
        Ok(tokens) => (no_store(), axum::Json(TokenBody::from(tokens))).into_response(),
        Err(e) => failed(e),
    }
}

/// `POST /csc/v2/oauth2/revoke`: `200` whether or not the token was known (RFC 7009 §2.2).
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let (revocation, authentication) =
        match client_request(&headers, &bytes, Revocation::from_params) {
            Ok(read) => read,
            Err(e) => return OAuthReply(e).into_response(),
        };
    match state
        .service
        .revoke_oauth_token(&authentication, &revocation)
        .await
    {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => failed(e),
    }
}

// ---------------------------------------------------------------------------------------
// The user's pages.

/// `GET /csc/v2/oauth2/authorize`: opens the authorisation and shows the login; a request
/// that cannot go on goes back to the client (`303`) or, when the client or its redirect
/// URI is not known good, is shown here.
async fn authorize(State(state): State<AppState>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or("");
    match state.service.begin_authorization(query.as_bytes()).await {
        Ok(begun) => {
            let cookie = format!(
                "{COOKIE_PREFIX}{}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={COOKIE_SECS}",
                begun.view.authorization_id,
                begun.browser_secret.as_str()
            );
            let mut response = login_page(&state, &begun.view, StatusCode::OK, None);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(refusal) => refusal_page(&state, refusal),
    }
}

/// A page's form, read: the authorisation it is for and the browser's secret for it (its
/// cookie), from a post of this site.
struct PageForm {
    params: Params,
    authorization_id: String,
    browser_secret: Zeroizing<String>,
}

/// Why a page's form post is not read: shown on a page of its own.
struct FormRefusal {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl FormRefusal {
    fn page(&self, state: &AppState) -> Response {
        message_page(state, self.status, self.title, &self.message)
    }
}

/// Reads a page's form post.
fn page_form(state: &AppState, headers: &HeaderMap, bytes: &[u8]) -> Result<PageForm, FormRefusal> {
    if let Some(why) = cross_site(state, headers) {
        return Err(FormRefusal {
            status: StatusCode::FORBIDDEN,
            title: "This request was refused",
            message: why.into(),
        });
    }
    let params = form(headers, bytes).map_err(|e| FormRefusal {
        status: StatusCode::BAD_REQUEST,
        title: "This request was refused",
        message: e.description,
    })?;
    let authorization_id = params.get("authorization_id").unwrap_or("").to_owned();
    let browser_secret = cookie(headers, &authorization_id).ok_or_else(|| FormRefusal {
        status: StatusCode::BAD_REQUEST,
        title: "This sign-in is not open in this browser",
        message: "It expired, or it was opened in another browser. Start again from the \
                  application."
            .into(),
    })?;
    Ok(PageForm {
        params,
        authorization_id,
        browser_secret,
    })
}

/// Why a form post comes from another site, if it does: its `Origin` is not the issuer's,
/// or the browser says (`Sec-Fetch-Site`) it is cross-site.
fn cross_site(state: &AppState, headers: &HeaderMap) -> Option<&'static str> {
    cross_site_of(state.csc.oauth2_issuer.as_deref().unwrap_or(""), headers)
}

fn cross_site_of(issuer: &str, headers: &HeaderMap) -> Option<&'static str> {
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != issuer.as_bytes()
    {
        return Some("The form was posted from another site.");
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin") | Some("none") => None,
        Some(_) => Some("The form was posted from another site."),
    }
}

/// The browser's secret for `authorization_id`: its cookie.
fn cookie(headers: &HeaderMap, authorization_id: &str) -> Option<Zeroizing<String>> {
    if authorization_id.is_empty() || authorization_id.len() > 64 {
        return None;
    }
    let name = format!("{COOKIE_PREFIX}{authorization_id}");
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| Zeroizing::new(value.trim_matches('"').to_owned()))
}

/// `POST /csc/v2/oauth2/authorize/login`: `authorization_id`, `user_id`, `password`.
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let form = match page_form(&state, &headers, &bytes) {
        Ok(form) => form,
        Err(refusal) => return refusal.page(&state),
    };
    let user = form.params.get("user_id").unwrap_or("").trim().to_owned();
    let password = Zeroizing::new(form.params.get("password").unwrap_or("").to_owned());
    let step = state
        .service
        .authorization_login(
            &form.authorization_id,
            &form.browser_secret,
            &user,
            password,
        )
        .await;
    match step {
        Ok(step) => step_page(&state, step),
        Err(refusal) => match again(&state, &form, &refusal).await {
            Some(view) => login_page(
                &state,
                &view,
                status_of(&refusal.failure),
                Some(&reason(&refusal.failure)),
            ),
            None => refusal_page(&state, refusal),
        },
    }
}

/// `POST /csc/v2/oauth2/authorize/pin`: `authorization_id`, `pin`.
async fn pin(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let form = match page_form(&state, &headers, &bytes) {
        Ok(form) => form,
        Err(refusal) => return refusal.page(&state),
    };
    let pin = Zeroizing::new(form.params.get("pin").unwrap_or("").to_owned());
    match state
        .service
        .authorization_pin(&form.authorization_id, &form.browser_secret, pin)
        .await
    {
        Ok(step) => step_page(&state, step),
        Err(refusal) => match again(&state, &form, &refusal).await {
            Some(view) => pin_page(
                &state,
                &view,
                status_of(&refusal.failure),
                Some(&reason(&refusal.failure)),
            ),
            None => refusal_page(&state, refusal),
        },
    }
}

/// The page again after a refusal the user can mend (a wrong password or PIN, within the
/// lock-out): the view of the authorisation, when it is still open in this browser.
async fn again(
    state: &AppState,
    form: &PageForm,
    refusal: &AuthorizeRefusal,
) -> Option<AuthorizationView> {
    let OAuthFailure::Service(e) = &refusal.failure else {
        return None;
    };
    if !matches!(
        e.code,
        sam_service::ErrorCode::AuthenticationFailed
            | sam_service::ErrorCode::AuthenticationThrottled
            | sam_service::ErrorCode::UserLocked
            | sam_service::ErrorCode::InvalidRequest
    ) {
        return None;
    }
    state
        .service
        .authorization_view(&form.authorization_id, &form.browser_secret)
        .await
        .ok()
}

/// The progress the page's script reads.
#[derive(Serialize)]
struct ProgressBody {
    /// `pending`, `approved` (go to `redirect`), `refused` (show `message`, then offer
    /// `redirect`), or `closed` (show `message`; nowhere to go).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// `GET /csc/v2/oauth2/authorize/progress?authorization_id=…` (JSON, for `pages.js`).
async fn progress(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let id = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "authorization_id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let body = match cookie(&headers, &id) {
        None => ProgressBody {
            status: "closed",
            redirect: None,
            message: Some(
                "This sign-in is not open in this browser: it expired, or it was opened in \
                 another browser. Start again from the application."
                    .into(),
            ),
        },
        Some(secret) => match state.service.authorization_progress(&id, &secret).await {
            Ok(AuthorizationStep::Redirect(to)) => ProgressBody {
                status: "approved",
                redirect: Some(to),
                message: Some("Approved. Returning to the application…".into()),
            },
            Ok(AuthorizationStep::Refused { redirect, error }) => ProgressBody {
                status: "refused",
                redirect: Some(redirect),
                message: Some(refused_text(&error)),
            },
            Ok(AuthorizationStep::AwaitDevice(_) | AuthorizationStep::AskPin(_)) => ProgressBody {
                status: "pending",
                redirect: None,
                message: None,
            },
            Err(refusal) => ProgressBody {
                status: "closed",
                redirect: None,
                message: Some(reason(&refusal.failure)),
            },
        },
    };
    let mut response = (no_store(), axum::Json(body)).into_response();
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `POST /csc/v2/oauth2/authorize/progress`: the waiting page's button, without script.
async fn progress_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    CscBody(bytes): CscBody,
) -> Response {
    let form = match page_form(&state, &headers, &bytes) {
        Ok(form) => form,
        Err(refusal) => return refusal.page(&state),
    };
    match state
        .service
        .authorization_progress(&form.authorization_id, &form.browser_secret)
        .await
    {
        Ok(step) => step_page(&state, step),
        Err(refusal) => refusal_page(&state, refusal),
    }
}

/// The page (or redirect) of a step.
fn step_page(state: &AppState, step: AuthorizationStep) -> Response {
    match step {
        AuthorizationStep::Redirect(to) => see_other(&to),
        AuthorizationStep::Refused { redirect, error } => refused_page(state, &redirect, &error),
        AuthorizationStep::AwaitDevice(view) => device_page(state, &view),
        AuthorizationStep::AskPin(view) => pin_page(state, &view, StatusCode::OK, None),
    }
}

/// A refusal: back to the client when it may be, else shown.
fn refusal_page(state: &AppState, refusal: AuthorizeRefusal) -> Response {
    match refusal.redirect {
        Some(to) => see_other(&to),
        None => message_page(
            state,
            status_of(&refusal.failure),
            "This sign-in cannot go on",
            &reason(&refusal.failure),
        ),
    }
}

/// `303 See Other` to `to` (the client's registered redirect URI, with the code or error).
fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut response = (StatusCode::SEE_OTHER, no_store()).into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => {
            tracing::error!("a redirect URI that is not a header value");
            (
                StatusCode::BAD_REQUEST,
                "the redirect URI cannot be followed",
            )
                .into_response()
        }
    }
}

/// The HTTP status a refusal is shown with.
fn status_of(failure: &OAuthFailure) -> StatusCode {
    let code = match failure {
        OAuthFailure::Protocol(e) => e.code.http_status(),
        OAuthFailure::Service(e) => e.code.http_status(),
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// What the user reads of a refusal. An internal fault is in the log, not on the page.
fn reason(failure: &OAuthFailure) -> String {
    match failure {
        OAuthFailure::Protocol(e) => e.description.clone(),
        OAuthFailure::Service(e) => match e.code {
            sam_service::ErrorCode::AuthenticationFailed => {
                "The user id or password is not right.".into()
            }
            sam_service::ErrorCode::AuthenticationThrottled
            | sam_service::ErrorCode::UserLocked => {
                format!("Too many wrong attempts: {}", e.message)
            }
            code if code.kind() == sam_service::ErrorKind::Internal => {
                tracing::error!(code = %e.code, message = %e.message, "OAuth page failed");
                format!("The service failed ({code}); try again later.")
            }
            _ => e.message.clone(),
        },
    }
}

/// What a refused authorisation says to the user.
fn refused_text(error: &OAuthError) -> String {
    format!("The authorisation was refused: {}.", error.description)
}

// ---------------------------------------------------------------------------------------
// Rendering.

/// `text` escaped for HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin (`scheme://host[:port]`) of a registered redirect URI, for `form-action`:
/// only when it is made of the characters an origin has (nothing that could end the
/// directive).
fn origin_of(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = &uri[..scheme.len() + 3 + end];
    let authority = &rest[..end];
    (!authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)))
    .then_some(origin)
}

/// A page: the layout around `body`, with the headers every page carries; its forms may
/// lead to this origin and to `form_target` (the client's redirect origin).
fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    body: &str,
    form_target: Option<&str>,
) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – {service}</title>\n\
         <link rel=\"stylesheet\" href=\"{BASE_PATH}/assets/pages.css\">\n\
         <script src=\"{BASE_PATH}/assets/pages.js\" defer></script>\n</head>\n<body>\n\
         <header><p class=\"service\">{service}</p></header>\n{body}\n</body>\n</html>\n",
        lang = esc(&state.csc.lang),
        title = esc(title),
        service = esc(&state.csc.name),
    );
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        form_target
            .and_then(origin_of)
            .map(|o| format!(" {o}"))
            .unwrap_or_default()
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What is asked, and the documents of a credential scope.
fn asked(view: &AuthorizationView) -> String {
    let client = esc(&view.client_name);
    if view.scope != "credential" {
        return format!("<p><strong>{client}</strong> asks to use your signing account.</p>");
    }
    let credential = esc(view.credential_id.as_deref().unwrap_or(""));
    let rows: String = view
        .documents
        .iter()
        .map(|(label, digest)| {
            format!(
                "<tr><th scope=\"row\">{}</th><td><code>{}</code></td></tr>",
                esc(label),
                esc(digest)
            )
        })
        .collect();
    let count = view.documents.len();
    format!(
        "<p><strong>{client}</strong> asks you to sign {count} {noun} with your key \
         <code>{credential}</code>.</p>\n<table>\n<caption>What will be signed</caption>\n\
         <thead><tr><th scope=\"col\">Document</th><th scope=\"col\">Digest (hexadecimal)</th>\
         </tr></thead>\n<tbody>{rows}</tbody>\n</table>",
        noun = if count == 1 { "document" } else { "documents" },
    )
}

fn alert(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default()
}

fn hidden_id(view: &AuthorizationView) -> String {
    format!(
        "<input type=\"hidden\" name=\"authorization_id\" value=\"{}\">",
        esc(&view.authorization_id)
    )
}

/// The login page.
fn login_page(
    state: &AppState,
    view: &AuthorizationView,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let body = format!(
        "<main>\n<h1>Log in to authorise</h1>\n{asked}\n{alert}\n\
         <form method=\"post\" action=\"{BASE_PATH}/authorize/login\">\n{id}\n\
         <p><label for=\"user_id\">User id</label>\n\
         <input id=\"user_id\" name=\"user_id\" autocomplete=\"username\" required \
         autocapitalize=\"none\" spellcheck=\"false\"></p>\n\
         <p><label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\">Log in</button></p>\n</form>\n</main>",
        asked = asked(view),
        alert = alert(error),
        id = hidden_id(view),
    );
    page(
        state,
        status,
        "Log in to authorise",
        &body,
        Some(&view.redirect_uri),
    )
}

/// The page that waits for the user's device.
fn device_page(state: &AppState, view: &AuthorizationView) -> Response {
    let body = format!(
        "<main data-authorization=\"{id_value}\">\n<h1>Approve on your device</h1>\n{asked}\n\
         <p>Open the signing app on your registered device and approve this request. It shows \
         the same documents.</p>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\">Waiting for your device…</p>\n\
         <p id=\"back\" hidden><a id=\"back-link\" href=\"#\">Return to {client}</a></p>\n\
         <form id=\"continue\" method=\"post\" action=\"{BASE_PATH}/authorize/progress\">\n{id}\n\
         <p><button type=\"submit\">I have answered on my device — continue</button></p>\n\
         </form>\n</main>",
        id_value = esc(&view.authorization_id),
        asked = asked(view),
        client = esc(&view.client_name),
        id = hidden_id(view),
    );
    page(
        state,
        StatusCode::OK,
        "Approve on your device",
        &body,
        Some(&view.redirect_uri),
    )
}

/// The page that asks for the PIN (SCAL1).
fn pin_page(
    state: &AppState,
    view: &AuthorizationView,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let body = format!(
        "<main>\n<h1>Authorise with your PIN</h1>\n{asked}\n{alert}\n\
         <form method=\"post\" action=\"{BASE_PATH}/authorize/pin\">\n{id}\n\
         <p><label for=\"pin\">PIN</label>\n\
         <input id=\"pin\" name=\"pin\" type=\"password\" autocomplete=\"off\" required></p>\n\
         <p><button type=\"submit\">Authorise</button></p>\n</form>\n</main>",
        asked = asked(view),
        alert = alert(error),
        id = hidden_id(view),
    );
    page(
        state,
        status,
        "Authorise with your PIN",
        &body,
        Some(&view.redirect_uri),
    )
}

/// A refused authorisation: why, and the way back to the client (with the error).
fn refused_page(state: &AppState, redirect: &str, error: &OAuthError) -> Response {
    let body = format!(
        "<main>\n<h1>Not authorised</h1>\n<p role=\"alert\">{}</p>\n\
         <p><a id=\"back-link\" href=\"{}\">Return to the application</a></p>\n</main>",
        esc(&refused_text(error)),
        esc(redirect),
    );
    page(state, StatusCode::OK, "Not authorised", &body, None)
}

/// A page with a message and nowhere to go.
fn message_page(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<main>\n<h1>{}</h1>\n<p role=\"alert\">{}</p>\n</main>",
        esc(title),
        esc(message)
    );
    page(state, status, title, &body, None)
}

async fn pages_js() -> Response {
    asset("text/javascript; charset=utf-8", PAGES_JS)
}

async fn pages_css() -> Response {
    asset("text/css; charset=utf-8", PAGES_CSS)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_form_may_lead_only_to_a_clean_origin() {
        assert_eq!(
            origin_of("https://app.example:8443/cb?x=1"),
            Some("https://app.example:8443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9/cb"),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(origin_of("http://[::1]/cb"), Some("http://[::1]"));
        assert_eq!(origin_of("https://a.example;script-src *"), None);
        assert_eq!(origin_of("https:///cb"), None);
        assert_eq!(origin_of("no-scheme"), None);
    }

    #[test]
    fn the_cookie_of_one_authorisation_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-sam_oauth_abc=s1"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-sam_oauth_def=s2"),
        );
        assert_eq!(
            cookie(&headers, "abc").as_deref().map(String::as_str),
            Some("s1")
        );
        assert_eq!(
            cookie(&headers, "def").as_deref().map(String::as_str),
            Some("s2")
        );
        assert!(cookie(&headers, "ab").is_none());
        assert!(cookie(&headers, "").is_none());
    }

    #[test]
    fn only_a_form_of_this_site_or_of_no_site_is_read() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let issuer = "https://sam.test";
        let check = |h: &HeaderMap| cross_site_of(issuer, h);
        assert!(check(&headers(&[])).is_none());
        assert!(check(&headers(&[("origin", "https://sam.test")])).is_none());
        assert!(check(&headers(&[("origin", "https://evil.test")])).is_some());
        assert!(check(&headers(&[("origin", "null")])).is_some());
        assert!(check(&headers(&[("sec-fetch-site", "same-origin")])).is_none());
        assert!(check(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(check(&headers(&[("sec-fetch-site", "same-site")])).is_some());
    }
}
