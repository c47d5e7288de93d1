//! Seed 002's key request types: Key Generation, Get Certificates, Key Delete, Get CSR (under
//! a SAD: the user authorises the certification request like a signature), Import Certificate
//! and Get Certificate.

use axum::extract::State;
use sam_service::ErrorCode;
use sam_service::{CertificateView, KeyView};
use serde::{Deserialize, Serialize};

use super::{
    ApiJson, ApiPath as Path, ApiQuery as Query, ApiResult, Client, OptionalJson, Paging, b64,
    created, error, from_b64, no_content, ok,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A key as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct KeyBody {
    key_id: String,
    user_id: String,
    profile_id: i64,
    /// E.g. `ECDSA P-256`, `RSA-3072`, `ML-DSA-65`.
    spec: String,
    /// DER SubjectPublicKeyInfo, base64.
    public_key: String,
    /// Whether it came from a pool of keys generated ahead.
    from_pool: bool,
}

impl From<KeyView> for KeyBody {
    fn from(k: KeyView) -> Self {
        Self {
            key_id: k.key_id,
            user_id: k.user_id,
            profile_id: k.profile_id,
            spec: k.spec,
            public_key: b64(&k.public_key),
            from_pool: k.from_pool,
        }
    }
}

/// A key's certificate as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CertificateBody {
    key_id: String,
    /// DER, base64.
    certificate: String,
    /// The issuing chain, DER, base64, issuer first.
    chain: Vec<String>,
}

impl From<CertificateView> for CertificateBody {
    fn from(c: CertificateView) -> Self {
        Self {
            key_id: c.key_id,
            certificate: b64(&c.certificate),
            chain: c.chain.iter().map(|c| b64(c)).collect(),
        }
    }
}

/// One page of Get Certificates.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CertificatesBody {
    /// In key id order.
    certificates: Vec<CertificateBody>,
    /// The key id to pass as `after` for the next page, when there may be one.
    next: Option<String>,
}

/// A certification request.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CsrAnswer {
    key_id: String,
    /// PKCS#10, DER, base64.
    csr: String,
}

/// Key Generation.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateBody {
    /// The profile (absent: the client's default profile).
    #[serde(default)]
    profile_id: Option<u32>,
}

/// Get CSR: start with `user_id` and `subject` (an authorisation request for the user's
/// device), then fetch the request with `request_id` once it is authorised.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CsrBody {
    #[serde(default)]
    user_id: Option<String>,
    /// The subject DN, RFC 4514 (e.g. `CN=Alice Example,O=Example,C=NL`).
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// Import Certificate.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBody {
    /// DER, base64.
    certificate: String,
    /// The issuing chain, DER, base64, issuer first.
    #[serde(default)]
    chain: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/keys", tag = "keys", request_body = GenerateBody, params(("user_id" = String, Path, description = "The user.")), responses((status = 201, description = "The key.", body = KeyBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn generate_key(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    OptionalJson(body): OptionalJson<GenerateBody>,
) -> ApiResult {
    let body = body.unwrap_or_default();
    let key = state
        .service
        .generate_key(&ctx, &user, body.profile_id)
        .await?;
    created(KeyBody::from(key))
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}/certificates", tag = "keys", params(("user_id" = String, Path, description = "The user."), crate::api::Paging), responses((status = 200, description = "A page of the certificates of the user's keys.", body = CertificatesBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn get_certificates(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(user): Path<String>,
    Query(paging): Query<Paging>,
) -> ApiResult {
    let page = state
        .service
        .get_certificates(&ctx, &user, paging.after.as_deref(), paging.limit)
        .await?;
    ok(CertificatesBody {
        certificates: page
            .certificates
            .into_iter()
            .map(CertificateBody::from)
            .collect(),
        next: page.next,
    })
}

#[utoipa::path(delete, path = "/api/v1/keys/{key_id}", tag = "keys", params(("key_id" = String, Path, description = "The key.")), responses((status = 204, description = "Deleted."), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn delete_key(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(key): Path<String>,
) -> ApiResult {
    state.service.delete_key(&ctx, &key).await?;
    no_content()
}

#[utoipa::path(post, path = "/api/v1/keys/{key_id}/csr", tag = "keys", request_body = CsrBody, params(("key_id" = String, Path, description = "The key.")), responses((status = 201, description = "The request the user must approve.", body = crate::api::sap::AuthorisedBody), (status = 200, description = "The certification request.", body = CsrAnswer), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn csr(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<CsrBody>,
) -> ApiResult {
    match body {
        CsrBody {
            user_id: Some(user),
            subject: Some(subject),
            request_id: None,
        } => created(crate::api::sap::AuthorisedBody::from(
            state
                .service
                .authorise_csr(&ctx, &user, &key, &subject)
                .await?,
        )),
        CsrBody {
            user_id: None,
            subject: None,
            request_id: Some(request),
        } => {
            let csr = state.service.get_csr(&ctx, &request).await?;
            if csr.key_id != key {
                return Err(error(
                    ErrorCode::InvalidRequest,
                    format!("request {request} is for another key"),
                ));
            }
            ok(CsrAnswer {
                key_id: csr.key_id,
                csr: b64(&csr.csr),
            })
        }
        _ => Err(error(
            ErrorCode::InvalidRequest,
            "give user_id and subject to ask for the user's authorisation, or request_id to \
             get the authorised request",
        )),
    }
}

#[utoipa::path(put, path = "/api/v1/keys/{key_id}/certificate", tag = "keys", request_body = ImportBody, params(("key_id" = String, Path, description = "The key.")), responses((status = 200, description = "The certificate.", body = CertificateBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn import_certificate(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ImportBody>,
) -> ApiResult {
    let certificate = from_b64("certificate", &body.certificate)?;
    let chain = body
        .chain
        .iter()
        .map(|c| from_b64("chain", c))
        .collect::<Result<Vec<_>, _>>()?;
    let view = state
        .service
        .import_certificate(&ctx, &key, &certificate, &chain)
        .await?;
    ok(CertificateBody::from(view))
}

#[utoipa::path(get, path = "/api/v1/keys/{key_id}/certificate", tag = "keys", params(("key_id" = String, Path, description = "The key.")), responses((status = 200, description = "The certificate.", body = CertificateBody), crate::api::ApiErrors), security(("client_basic" = []), ("client_certificate" = [])))]
async fn get_certificate(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(key): Path<String>,
) -> ApiResult {
    ok(CertificateBody::from(
        state.service.get_certificate(&ctx, &key).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_key))
        .routes(routes!(get_certificates))
        .routes(routes!(delete_key))
        .routes(routes!(csr))
        .routes(routes!(import_certificate, get_certificate))
}
