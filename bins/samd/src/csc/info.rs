//! `info` (CSC API 1.0.4.0 §11.1, 2.2.0.0 §11.1): who the service is and what it implements.
//! `methods` is the contract a client reads, so it names exactly the calls `csc` serves;
//! `signAlgorithms` and `supportedHashTypes` are what the configured crypto sources really
//! sign (`Service::signature_algorithms`, `Service::hash_algorithms`), worked out once at start
//! ([`Offer`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{CscBody, Version, body};
use crate::state::AppState;

/// The calls served by both versions, in the spelling of the spec.
pub(crate) const METHODS: &[&str] = &[
    "info",
    "auth/login",
    "auth/revoke",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "credentials/sendOTP",
    "credentials/extendTransaction",
    "signatures/signHash",
];

/// The calls only CSC API 2.2.0.0 defines.
pub(crate) const V2_METHODS: &[&str] = &[
    "credentials/authorizeCheck",
    "signatures/signPolling",
    "signatures/signDoc",
];

/// What `info.methods` lists for `version`, with (`time_stamps`) or without a time-stamp
/// authority (`signatures/timestamp` needs one).
pub(crate) fn methods(version: Version, time_stamps: bool) -> Vec<&'static str> {
    let mut methods = METHODS.to_vec();
    if version == Version::V2 {
        methods.extend_from_slice(V2_METHODS);
    }
    if time_stamps {
        methods.push(super::time_stamp::METHOD);
    }
    methods
}

/// How a client authenticates (`authType`): HTTP Basic (the user's password, or the business
/// application's own credentials) and the TLS client certificate (docs/csc.md); v2 adds
/// `oauth2code` with the OAuth 2.0 authorisation server.
pub(crate) const AUTH_TYPES: &[&str] = &["basic", "TLS"];

/// The request: an optional preferred language. The service answers in its one language
/// (`[csc] lang`), which the spec allows; the field is read so that a malformed one is refused.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = CscInfoRequest)]
struct InfoRequest {
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
}

/// `signAlgorithms` (v2).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscSignAlgorithms)]
struct SignAlgorithms {
    algos: Vec<String>,
}

/// The answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscInfoResponse)]
#[serde(rename_all = "camelCase")]
struct Info {
    specs: &'static str,
    name: String,
    logo: String,
    region: String,
    lang: String,
    description: String,
    auth_type: Vec<&'static str>,
    methods: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asynchronous_operation_mode: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_info: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_algorithms: Option<SignAlgorithms>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supported_hash_types: Option<Vec<String>>,
    /// What `signatures/signDoc` makes: CAdES, detached.
    #[serde(rename = "signature_formats", skip_serializing_if = "Option::is_none")]
    signature_formats: Option<SignatureFormats>,
    #[serde(rename = "conformance_levels", skip_serializing_if = "Option::is_none")]
    conformance_levels: Option<Vec<&'static str>>,
    /// The base URI of the OAuth 2.0 endpoints (2.0.0.2), with `[csc] oauth2_issuer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2: Option<String>,
    /// The authorisation server's issuer identifier (RFC 8414; 2.0.0.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2_issuer: Option<String>,
    /// The authorisation servers' issuer identifiers (2.2.0.0): this service's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2_servers: Option<Vec<String>>,
    /// Whether RAR `authorization_details` are read (2.2.0.0): yes, with OAuth 2.0.
    #[serde(skip_serializing_if = "Option::is_none")]
    supports_rar: Option<bool>,
}

/// `info.signature_formats` (2.2.0.0): the formats, and for each its envelope properties.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscSignatureFormats)]
struct SignatureFormats {
    formats: Vec<&'static str>,
    #[serde(rename = "envelope_properties")]
    envelope_properties: Vec<Vec<&'static str>>,
}

/// What the crypto sources sign, as `info` names it: fixed once the sources are open, so
/// worked out once at start, not on every (unauthenticated) `info` call.
pub(crate) struct Offer {
    algos: Vec<String>,
    hashes: Vec<String>,
    /// Whether a time-stamp authority is configured: B-T is made, and
    /// `signatures/timestamp` served.
    pub(crate) time_stamps: bool,
}

impl Offer {
    /// The offer of `service`'s crypto sources.
    pub(crate) fn of(service: &sam_service::Service) -> Self {
        let mut algos: Vec<String> = service
            .signature_algorithms()
            .into_iter()
            .map(|a| a.oid().to_string())
            .collect();
        // RSASSA-PSS is one identifier whatever its hash (the parameters say which).
        algos.dedup();
        let hashes = service
            .hash_algorithms()
            .into_iter()
            .map(|h| h.oid().to_string())
            .collect();
        Self {
            algos,
            hashes,
            time_stamps: service.produces(sam_cms::Format::CadesBT),
        }
    }
}

fn info(state: &AppState, version: Version) -> Info {
    let csc = &state.csc;
    let (async_mode, validation, algorithms, hashes, formats, levels) = match version {
        Version::V1 => (None, None, None, None, None, None),
        Version::V2 => (
            // signHash with operationMode A, and signPolling.
            Some(true),
            Some(false),
            Some(SignAlgorithms {
                algos: state.csc_offer.algos.clone(),
            }),
            Some(state.csc_offer.hashes.clone()),
            Some(SignatureFormats {
                formats: vec!["C"],
                envelope_properties: vec![vec!["Detached"]],
            }),
            Some(super::sign_doc::conformance_levels(
                state.csc_offer.time_stamps,
            )),
        ),
    };
    let oauth2_issuer = match version {
        Version::V1 => None,
        Version::V2 => csc.oauth2_issuer.clone(),
    };
    let mut auth_type = AUTH_TYPES.to_vec();
    if oauth2_issuer.is_some() {
        auth_type.push("oauth2code");
    }
    Info {
        specs: version.specs(),
        name: csc.name.clone(),
        logo: csc.logo.clone(),
        region: csc.region.clone(),
        lang: csc.lang.clone(),
        description: csc.description.clone(),
        // Basic (a password or client credentials) and the TLS client certificate.
        auth_type,
        methods: methods(version, state.csc_offer.time_stamps),
        asynchronous_operation_mode: async_mode,
        validation_info: validation,
        sign_algorithms: algorithms,
        supported_hash_types: hashes,
        signature_formats: formats,
        conformance_levels: levels,
        oauth2: oauth2_issuer
            .as_ref()
            .map(|i| format!("{i}{}", super::oauth2::BASE_PATH)),
        oauth2_servers: oauth2_issuer.as_ref().map(|i| vec![i.clone()]),
        supports_rar: oauth2_issuer.as_ref().map(|_| true),
        oauth2_issuer,
    }
}

fn answer(state: &AppState, version: Version, bytes: &[u8]) -> Response {
    match body::<InfoRequest>(bytes) {
        Ok(_) => axum::Json(info(state, version)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /csc/v1/info`.
pub(crate) async fn info_v1(
    State(state): State<AppState>,
    body: Result<CscBody, super::CscError>,
) -> Response {
    match body {
        Ok(CscBody(bytes)) => answer(&state, Version::V1, &bytes),
        Err(e) => e.into_response(),
    }
}

/// `GET /csc/v1/info` (some clients use GET).
pub(crate) async fn info_v1_get(State(state): State<AppState>) -> Response {
    answer(&state, Version::V1, b"")
}

/// `POST /csc/v2/info`.
pub(crate) async fn info_v2(
    State(state): State<AppState>,
    body: Result<CscBody, super::CscError>,
) -> Response {
    match body {
        Ok(CscBody(bytes)) => answer(&state, Version::V2, &bytes),
        Err(e) => e.into_response(),
    }
}

/// `GET /csc/v2/info`.
pub(crate) async fn info_v2_get(State(state): State<AppState>) -> Response {
    answer(&state, Version::V2, b"")
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<InfoRequest>()
        .schema_from::<SignAlgorithms>()
        .schema_from::<SignatureFormats>()
        .schema_from::<Info>()
}
