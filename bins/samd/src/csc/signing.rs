//! `credentials/authorize` and `signatures/signHash` (CSC API 1.0.4.0 §11.6 and §11.9, 2.2.0.0
//! §11.6 and §11.11), mapped onto the Signature Activation Protocol (docs/csc.md "Authorising
//! and signing"):
//!
//! - `credentials/authorize` is Authorise of the hashes as raw signatures; with the user's PIN
//!   or OTP (v1 `PIN`/`OTP`, v2 `authData` `PIN`/`OTP`) on a SCAL1 credential `sam` checks it
//!   and signs the SAD itself ([`sam_service::Service::authorise_by_secret`]); the OTP is the
//!   one `credentials/sendOTP` had sent for the credential. The CSC `SAD` handed back is a
//!   reference to that one authorised request, bound to the client, the user and the
//!   credential ([`sam_service::ReferencePurpose::Sad`]); the SAD proper stays in the store.
//! - `signatures/signHash` opens that reference for the bearer's client and user and the named
//!   credential, checks the signature algorithm against the credential, and signs exactly the
//!   authorised hashes, once ([`sam_service::Service::sign_expected`]).
//!
//! A field of the other version (v1 `PIN`, `OTP`, `hash`, `hashAlgo` in a v2 request; v2
//! `authData`, `hashes`, `hashAlgorithmOID` in a v1 request) is refused, never taken for the
//! field it resembles: a v2 client sending `PIN` must not start an authorisation on the device
//! instead.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use der::asn1::ObjectIdentifier;
use sam_algorithms::{Digest, HashAlgorithm, SignatureAlgorithm};
use sam_cms::Format;
use sam_profile::AuthorisationMode;
use sam_service::{
    AuthorisationState, Authorise, Credential, DeferredResult, ErrorCode, ReferencePurpose,
    ServiceError, SignExpectation, TokenHolder, UserSecret,
};
use sam_store::RequestStatus;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::CscUser;
use super::credentials::algorithms;
use super::{CscBody, CscError, Version, body};
use crate::state::AppState;

/// The longest `description` (CSC v2: 500 characters).
const MAX_DESCRIPTION_CHARS: usize = 500;

/// `credentials/authorize`, both versions' fields; each handler refuses the other's.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscAuthorizeRequest)]
#[serde(rename_all = "camelCase")]
struct AuthorizeRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    num_signatures: u32,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
    // v1
    #[serde(default)]
    hash: Option<Vec<String>>,
    #[serde(default, rename = "PIN")]
    #[schema(value_type = Option<String>)]
    pin: Option<Zeroizing<String>>,
    #[serde(default, rename = "OTP")]
    #[schema(value_type = Option<String>)]
    otp: Option<Zeroizing<String>>,
    // v2
    #[serde(default)]
    hashes: Option<Vec<String>>,
    #[serde(default, rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    #[serde(default)]
    auth_data: Option<Vec<AuthDatum>>,
    /// sam's extension for `signatures/signDoc` (v2): the signature format the hashes — then
    /// the documents' digests — are to be signed in (`C`, CAdES), fixed when the user
    /// authorises, because the user authorises the signed attributes made from them.
    #[serde(default, rename = "signature_format")]
    signature_format: Option<String>,
    /// With `signature_format`: `Ades-B-B` (the default) or `Ades-B-T`.
    #[serde(default, rename = "conformance_level")]
    conformance_level: Option<String>,
}

/// One v2 `authData` entry: an authentication object's id (`PIN`, `OTP`) and value.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscAuthDatum)]
struct AuthDatum {
    id: String,
    #[schema(value_type = String)]
    value: Zeroizing<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscAuthorizeResponse)]
#[serde(rename_all = "camelCase")]
struct AuthorizeResponse {
    #[serde(rename = "SAD")]
    sad: String,
    expires_in: i64,
}

/// `signatures/signHash`, both versions' fields.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscSignHashRequest)]
#[serde(rename_all = "camelCase")]
struct SignHashRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    /// The SAD; omitted with a credential-scope access token (OAuth 2.0), which stands for it.
    #[serde(default, rename = "SAD")]
    sad: Option<String>,
    sign_algo: String,
    #[serde(default)]
    sign_algo_params: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
    // v1
    #[serde(default)]
    hash: Option<Vec<String>>,
    #[serde(default)]
    hash_algo: Option<String>,
    // v2
    #[serde(default)]
    hashes: Option<Vec<String>>,
    #[serde(default, rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    #[serde(default)]
    operation_mode: Option<String>,
    /// Milliseconds the outcome of an asynchronous call is kept.
    #[serde(default, rename = "validity_period")]
    validity_period: Option<i64>,
    #[serde(default, rename = "response_uri")]
    #[schema(value_type = Option<String>)]
    response_uri: Option<IgnoredAny>,
}

/// How long an asynchronous `signHash`'s outcome is kept when the request does not say, in
/// milliseconds (10 minutes).
const DEFAULT_VALIDITY_PERIOD_MS: i64 = 600_000;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscSignHashResponse)]
struct SignHashResponse {
    signatures: Vec<String>,
}

/// Refuses a field of the other version.
pub(super) fn foreign(version: Version, field: &str, ours: &str) -> CscError {
    let (other, this) = match version {
        Version::V1 => ("2.2.0.0", "1.0.4.0"),
        Version::V2 => ("1.0.4.0", "2.2.0.0"),
    };
    CscError::invalid(format!(
        "{field} is a field of CSC API {other}; under {this} send {ours}"
    ))
}

/// The hashes (base64 digests) as `algorithm` digests, in order.
pub(super) fn digests(
    hashes: &[String],
    algorithm: HashAlgorithm,
) -> Result<Vec<Digest>, CscError> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let bytes = Base64::decode_vec(text)
                .map_err(|_| CscError::invalid(format!("hash {i} is not base64")))?;
            Digest::new(algorithm, &bytes).map_err(|_| {
                CscError::invalid(format!(
                    "Invalid digest value length: hash {i} has {} bytes, {algorithm} {}",
                    bytes.len(),
                    algorithm.output_len()
                ))
            })
        })
        .collect()
}

/// The digest algorithm named by an OID, which must be the credential's.
pub(super) fn named_hash(
    credential: &Credential,
    oid: Option<&str>,
    field: &str,
) -> Result<(), CscError> {
    let Some(text) = oid else {
        return Ok(());
    };
    let named = ObjectIdentifier::new(text)
        .ok()
        .and_then(|oid| HashAlgorithm::from_oid(&oid).ok())
        .ok_or_else(|| CscError::invalid(format!("{field} {text:?} is no digest algorithm")))?;
    if named == credential.hash_algorithm {
        Ok(())
    } else {
        Err(CscError::invalid(format!(
            "{field} names {named}; this credential signs {} digests",
            credential.hash_algorithm
        )))
    }
}

fn refusal_of_secret(e: ServiceError) -> CscError {
    // CSC's own names for a wrong PIN or OTP; the sam code still heads the description.
    match e.code {
        ErrorCode::AuthenticationFailed => CscError::from(e).named("invalid_pin"),
        ErrorCode::OtpInvalid => CscError::from(e).named("invalid_otp"),
        _ => CscError::from(e),
    }
}

async fn authorize(
    state: AppState,
    version: Version,
    holder: TokenHolder,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: AuthorizeRequest = body(&bytes)?;
    let (hashes, secret) = match version {
        Version::V1 => {
            if request.hashes.is_some() {
                return Err(foreign(version, "hashes", "hash"));
            }
            if request.hash_algorithm_oid.is_some() {
                return Err(foreign(
                    version,
                    "hashAlgorithmOID",
                    "hashes of the credential's digest algorithm",
                ));
            }
            if request.auth_data.is_some() {
                return Err(foreign(version, "authData", "PIN or OTP"));
            }
            if request.signature_format.is_some() || request.conformance_level.is_some() {
                return Err(CscError::invalid(
                    "signature_format and conformance_level authorise signatures/signDoc, a \
                     call of CSC API 2.2.0.0 that 1.0.4.0 lacks",
                ));
            }
            (request.hash.unwrap_or_default(), (request.pin, request.otp))
        }
        Version::V2 => {
            if request.hash.is_some() {
                return Err(foreign(version, "hash", "hashes"));
            }
            if request.pin.is_some() || request.otp.is_some() {
                return Err(foreign(version, "PIN and OTP", "authData"));
            }
            let mut pin = None;
            let mut otp = None;
            for datum in request.auth_data.unwrap_or_default() {
                let slot = match datum.id.as_str() {
                    "PIN" => &mut pin,
                    "OTP" => &mut otp,
                    other => {
                        return Err(CscError::invalid(format!(
                            "authData {other:?}: this service's authentication objects are PIN \
                             and OTP (credentials/info)"
                        )));
                    }
                };
                if slot.replace(datum.value).is_some() {
                    return Err(CscError::invalid(format!("authData {} twice", datum.id)));
                }
            }
            (request.hashes.unwrap_or_default(), (pin, otp))
        }
    };
    if let Some(description) = &request.description
        && description.chars().count() > MAX_DESCRIPTION_CHARS
    {
        return Err(CscError::invalid(format!(
            "description is at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    let credential = state
        .service
        .credential_facts(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    named_hash(
        &credential,
        request.hash_algorithm_oid.as_deref(),
        "hashAlgorithmOID",
    )?;
    if credential.mode == AuthorisationMode::OnceUntilSadExpiry {
        // Before the hashes are read: the refusal says what is wrong with the credential.
        return Err(CscError::from(ServiceError::new(
            ErrorCode::NotSupported,
            "this credential is an eSeal authorised once for many signatures; the CSC API \
             facade authorises signatures of given hashes only (docs/csc.md)",
        )));
    }
    let format = match (&request.signature_format, &request.conformance_level) {
        (None, None) => Format::Raw,
        (format, level) => {
            super::sign_doc::cades_format(format.as_deref().unwrap_or(""), level.as_deref())?
        }
    };
    let digests = digests(&hashes, credential.hash_algorithm)?
        .iter()
        .map(|d| (None, d.as_bytes().to_vec()))
        .collect();
    let authorise = credential.authorise_digests(
        &holder.user_id,
        request.description.as_deref(),
        request.num_signatures,
        digests,
        format,
    )?;
    let secret = match secret {
        (Some(pin), None) => UserSecret::Pin(pin),
        (None, Some(otp)) => UserSecret::CredentialOtp(otp),
        (Some(pin), Some(otp)) => UserSecret::PinAndCredentialOtp { pin, otp },
        (None, None) => return on_device(state, version, holder, &credential, authorise).await,
    };
    let authorised = state
        .service
        .authorise_by_secret(&holder.client, authorise, secret)
        .await
        .map_err(refusal_of_secret)?;
    sad_answer(
        &state,
        &holder,
        &credential.key_id,
        &authorised.request_id,
        authorised.expires_in,
    )
}

/// `{"SAD", "expiresIn"}` for the authorised request.
fn sad_answer(
    state: &AppState,
    holder: &TokenHolder,
    key_id: &str,
    request: &str,
    expires_in: i64,
) -> Result<Response, CscError> {
    let sad = state.service.request_reference(
        ReferencePurpose::Sad,
        &holder.client,
        &holder.user_id,
        key_id,
        request,
    )?;
    Ok(axum::Json(AuthorizeResponse { sad, expires_in }).into_response())
}

/// The answer for a request the user decided otherwise than by approving it.
fn not_authorised(state: &AuthorisationState) -> CscError {
    match state.status {
        RequestStatus::Declined => CscError::from(ServiceError::new(
            ErrorCode::RequestNotPending,
            format!(
                "request {} was declined on the user's device",
                state.request_id
            ),
        ))
        .named("access_denied"),
        RequestStatus::Expired => CscError::from(ServiceError::new(
            ErrorCode::RequestExpired,
            format!(
                "request {} expired before the user answered",
                state.request_id
            ),
        )),
        other => CscError::from(ServiceError::new(
            ErrorCode::RequestNotPending,
            format!(
                "request {} is {other}: its SAD was already used",
                state.request_id
            ),
        )),
    }
}

/// The user's device authorises: Authorise, then v2 answers `202 {handle}` at once, v1 waits
/// up to `[csc] authorize_wait_secs` for the answer.
async fn on_device(
    state: AppState,
    version: Version,
    holder: TokenHolder,
    credential: &Credential,
    authorise: Authorise,
) -> Result<Response, CscError> {
    if !credential.authorisation.device {
        return Err(CscError::invalid(
            if credential.authorisation.pin || credential.authorisation.otp.is_some() {
                "this credential's user has no registered device: authorise with the PIN or an \
                 OTP (credentials/info)"
            } else {
                "this credential's user has no registered device to authorise on"
            },
        ));
    }
    let created = state.service.authorise(&holder.client, authorise).await?;
    match version {
        Version::V2 => {
            let handle = state.service.request_reference(
                ReferencePurpose::Handle,
                &holder.client,
                &holder.user_id,
                HANDLE_KEY,
                &created.request_id,
            )?;
            Ok((StatusCode::ACCEPTED, axum::Json(HandleResponse { handle })).into_response())
        }
        Version::V1 => {
            let wait = std::time::Duration::from_secs(state.csc.authorize_wait_secs);
            let answered = state
                .service
                .await_authorisation(&holder.client, &holder.user_id, &created.request_id, wait)
                .await?;
            match (answered.status, answered.sad_expires_in) {
                (RequestStatus::Authorised, Some(expires_in)) => sad_answer(
                    &state,
                    &holder,
                    &answered.key_id,
                    &answered.request_id,
                    expires_in,
                ),
                _ => Err(not_authorised(&answered)),
            }
        }
    }
}

/// A handle binds client, user and request; the credential is the request's own.
const HANDLE_KEY: &str = "-";

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscHandleResponse)]
struct HandleResponse {
    handle: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscAuthorizeCheckRequest)]
struct AuthorizeCheckRequest {
    handle: String,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// `credentials/authorizeCheck` (2.2.0.0): `200 {SAD, expiresIn}` once the device approved,
/// `202 {handle}` while it has not answered, the decline or expiry as an error. Counted and
/// audited as Status.
pub(crate) async fn authorize_check(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: AuthorizeCheckRequest = body(&bytes)?;
    let request_id = state.service.open_request_reference(
        ReferencePurpose::Handle,
        &holder.client,
        &holder.user_id,
        HANDLE_KEY,
        &request.handle,
    )?;
    let answered = state
        .service
        .authorisation_state(&holder.client, &holder.user_id, &request_id)
        .await?;
    match (answered.status, answered.sad_expires_in) {
        (RequestStatus::Pending, _) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(HandleResponse {
                handle: request.handle,
            }),
        )
            .into_response()),
        (RequestStatus::Authorised, Some(expires_in)) => sad_answer(
            &state,
            &holder,
            &answered.key_id,
            &answered.request_id,
            expires_in,
        ),
        _ => Err(not_authorised(&answered)),
    }
}

/// Checks `signAlgo` (and its parameters) against what the credential signs.
pub(super) fn check_sign_algo(
    credential: &Credential,
    sign_algo: &str,
    params: Option<&str>,
) -> Result<(), CscError> {
    let offered = algorithms(credential)?;
    if !offered.iter().any(|a| a == sign_algo) {
        return Err(CscError::invalid(format!(
            "signAlgo {sign_algo} is not one this credential signs with: {} \
             (credentials/info key.algo)",
            offered.join(", ")
        )));
    }
    if let SignatureAlgorithm::RsaPss(_) = credential.signature_algorithm {
        // RSASSA-PSS-params (RFC 4055 §3.1): MGF1 with the message hash, salt its length.
        let ours = credential
            .signature_algorithm
            .algorithm_identifier()
            .ok()
            .and_then(|id| id.parameters)
            .and_then(|p| der::Encode::to_der(&p).ok())
            .ok_or_else(|| {
                CscError::from(ServiceError::new(
                    ErrorCode::InternalError,
                    "RSASSA-PSS parameters",
                ))
            })?;
        let given = params
            .ok_or_else(|| {
                CscError::invalid(
                    "RSASSA-PSS needs signAlgoParams: the base64 DER RSASSA-PSS-params (the \
                     credential's hash, MGF1 with it, a salt of its length)",
                )
            })
            .and_then(|p| {
                Base64::decode_vec(p).map_err(|_| CscError::invalid("signAlgoParams is not base64"))
            })?;
        if given != ours {
            return Err(CscError::invalid(format!(
                "signAlgoParams are not this credential's RSASSA-PSS parameters: {} with \
                 MGF1-{0} and a salt of {} bytes",
                credential.hash_algorithm,
                credential.hash_algorithm.output_len()
            )));
        }
    }
    Ok(())
}

async fn sign_hash(
    state: AppState,
    version: Version,
    holder: TokenHolder,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: SignHashRequest = body(&bytes)?;
    let (hashes, hash_oid, hash_field, asynchronous) = match version {
        Version::V1 => {
            if request.hashes.is_some() {
                return Err(foreign(version, "hashes", "hash"));
            }
            if request.hash_algorithm_oid.is_some() {
                return Err(foreign(version, "hashAlgorithmOID", "hashAlgo"));
            }
            if request.operation_mode.is_some()
                || request.validity_period.is_some()
                || request.response_uri.is_some()
            {
                return Err(foreign(
                    version,
                    "operationMode (and validity_period, response_uri)",
                    "a synchronous call",
                ));
            }
            (request.hash, request.hash_algo, "hashAlgo", false)
        }
        Version::V2 => {
            if request.hash.is_some() {
                return Err(foreign(version, "hash", "hashes"));
            }
            if request.hash_algo.is_some() {
                return Err(foreign(version, "hashAlgo", "hashAlgorithmOID"));
            }
            let asynchronous = match request.operation_mode.as_deref() {
                None | Some("S") => false,
                Some("A") => true,
                Some(other) => {
                    return Err(CscError::invalid(format!(
                        "operationMode {other:?}: S or A"
                    )));
                }
            };
            if !asynchronous
                && (request.validity_period.is_some() || request.response_uri.is_some())
            {
                return Err(CscError::invalid(
                    "validity_period and response_uri are for operationMode A only",
                ));
            }
            if request.response_uri.is_some() {
                // The server calling a URI the client names is a request forgery waiting to
                // happen; the outcome is polled instead.
                return Err(CscError::from(ServiceError::new(
                    ErrorCode::NotSupported,
                    "response_uri: this service does not call back; poll \
                     signatures/signPolling with the responseID",
                )));
            }
            (
                request.hashes,
                request.hash_algorithm_oid,
                "hashAlgorithmOID",
                asynchronous,
            )
        }
    };
    let hashes = hashes
        .filter(|h| !h.is_empty())
        .ok_or_else(|| CscError::invalid("no hashes to sign"))?;
    let credential = state
        .service
        .credential_facts(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    named_hash(&credential, hash_oid.as_deref(), hash_field)?;
    check_sign_algo(
        &credential,
        &request.sign_algo,
        request.sign_algo_params.as_deref(),
    )?;
    let digests = digests(&hashes, credential.hash_algorithm)?;
    let request_id = match (&request.sad, &holder.bound_request) {
        (Some(sad), _) => state.service.open_request_reference(
            ReferencePurpose::Sad,
            &holder.client,
            &holder.user_id,
            &credential.key_id,
            sad,
        )?,
        // A credential-scope token stands for its request's SAD; the credential and the
        // hashes are still compared with what the user authorised.
        (None, Some(bound)) => bound.clone(),
        (None, None) => {
            return Err(CscError::invalid(
                "SAD is missing (credentials/authorize answers it; a credential-scope OAuth \
                 token stands for it)",
            ));
        }
    };
    if asynchronous {
        let millis = request
            .validity_period
            .unwrap_or(DEFAULT_VALIDITY_PERIOD_MS);
        let max_ms = sam_service::deferred::MAX_DEFERRED_SECS * 1000;
        if !(1..=max_ms).contains(&millis) {
            return Err(CscError::invalid(format!(
                "validity_period is 1 to {max_ms} milliseconds"
            )));
        }
        // What can be refused now is (a spent SAD, other hashes); what fails while signing
        // is the outcome signPolling gives.
        state
            .service
            .check_sign_expected(
                &holder.client,
                &request_id,
                &SignExpectation {
                    user_id: &holder.user_id,
                    key_id: &credential.key_id,
                    format: Some(Format::Raw),
                    hashes: &digests,
                },
            )
            .await?;
        let response_id = state
            .service
            .begin_deferred(&holder.client, &holder.user_id, (millis + 999) / 1000)
            .await?;
        let service = state.service.clone();
        let (ctx, user, key, response) = (
            holder.client.clone(),
            holder.user_id.clone(),
            credential.key_id.clone(),
            response_id.clone(),
        );
        tokio::spawn(async move {
            let expected = SignExpectation {
                user_id: &user,
                key_id: &key,
                format: Some(Format::Raw),
                hashes: &digests,
            };
            let result = service.sign_expected(&ctx, &request_id, &expected).await;
            if let Err(e) = service.finish_deferred(&ctx, &response, &result).await {
                tracing::error!(response = %response, code = %e.code, message = %e.message,
                    "the outcome of an asynchronous signHash could not be recorded");
            }
        });
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(ResponseIdAnswer { response_id }),
        )
            .into_response());
    }
    let signatures = state
        .service
        .sign_expected(
            &holder.client,
            &request_id,
            &SignExpectation {
                user_id: &holder.user_id,
                key_id: &credential.key_id,
                format: Some(Format::Raw),
                hashes: &digests,
            },
        )
        .await?;
    Ok(signatures_answer(&signatures))
}

fn signatures_answer(signatures: &[Vec<u8>]) -> Response {
    axum::Json(SignHashResponse {
        signatures: signatures
            .iter()
            .map(|s| Base64::encode_string(s))
            .collect(),
    })
    .into_response()
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscResponseIdResponse)]
struct ResponseIdAnswer {
    #[serde(rename = "responseID")]
    response_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscSignPollingRequest)]
struct SignPollingRequest {
    #[serde(rename = "responseID")]
    response_id: String,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// `signatures/signPolling` (2.2.0.0): `200 {signatures}` once an asynchronous `signHash` is
/// done, `202 {responseID}` while it is being made, its refusal as the error it was. Counted
/// and audited as Status.
pub(crate) async fn sign_polling(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: SignPollingRequest = body(&bytes)?;
    match state
        .service
        .deferred_result(&holder.client, &holder.user_id, &request.response_id)
        .await?
    {
        DeferredResult::Pending => Ok((
            StatusCode::ACCEPTED,
            axum::Json(ResponseIdAnswer {
                response_id: request.response_id,
            }),
        )
            .into_response()),
        DeferredResult::Done(signatures) => Ok(signatures_answer(&signatures)),
        DeferredResult::Failed(e) => Err(CscError::from(e)),
    }
}

pub(crate) async fn authorize_v1(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    authorize(state, Version::V1, holder, bytes).await
}

pub(crate) async fn authorize_v2(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    authorize(state, Version::V2, holder, bytes).await
}

pub(crate) async fn sign_hash_v1(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    sign_hash(state, Version::V1, holder, bytes).await
}

pub(crate) async fn sign_hash_v2(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    sign_hash(state, Version::V2, holder, bytes).await
}

/// `credentials/sendOTP`: `{credentialID, clientData}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscSendOtpRequest)]
struct SendOtpRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// `credentials/sendOTP` (1.0.4.0 §11.8, 2.2.0.0 §11.8): a one-time password for the
/// credential, sent to the user by sam (text message, else e-mail); `204`. Only for SCAL1
/// credentials whose user can receive one (`credentials/info` lists `OTP`).
pub(crate) async fn send_otp(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: SendOtpRequest = body(&bytes)?;
    let credential = state
        .service
        .credential_facts(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    if credential.authorisation.otp.is_none() {
        return Err(CscError::invalid(
            "this credential is not authorised by OTP (credentials/info lists no OTP): under \
             SCAL2 the user's device authorises, and a SCAL1 user needs a mobile number or an \
             e-mail address",
        ));
    }
    state
        .service
        .generate_credential_otp(&holder.client, &holder.user_id, &credential.key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `credentials/extendTransaction`, both versions' fields.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscExtendTransactionRequest)]
#[serde(rename_all = "camelCase")]
struct ExtendRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(rename = "SAD")]
    sad: String,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
    // v1
    #[serde(default)]
    hash: Option<Vec<String>>,
    // v2
    #[serde(default)]
    hashes: Option<Vec<String>>,
    #[serde(default, rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
}

/// `credentials/extendTransaction` (1.0.4.0 §11.7, 2.2.0.0 §11.7). sam cannot extend what
/// the user authorised — the SAD's lifetime is the one the device (or sam, after the PIN)
/// signed — so this confirms that the SAD still stands, for these hashes when they are
/// given, and answers it again with the time it has left: `{SAD, expiresIn}`. A spent,
/// expired or foreign SAD is refused as `signHash` would refuse it. Counted and audited as
/// Status.
async fn extend(
    state: AppState,
    version: Version,
    holder: TokenHolder,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: ExtendRequest = body(&bytes)?;
    let hashes = match version {
        Version::V1 => {
            if request.hashes.is_some() || request.hash_algorithm_oid.is_some() {
                return Err(foreign(version, "hashes and hashAlgorithmOID", "hash"));
            }
            request.hash
        }
        Version::V2 => {
            if request.hash.is_some() {
                return Err(foreign(version, "hash", "hashes"));
            }
            request.hashes
        }
    };
    let credential = state
        .service
        .credential_facts(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    named_hash(
        &credential,
        request.hash_algorithm_oid.as_deref(),
        "hashAlgorithmOID",
    )?;
    let request_id = state.service.open_request_reference(
        ReferencePurpose::Sad,
        &holder.client,
        &holder.user_id,
        &credential.key_id,
        &request.sad,
    )?;
    let answered = state
        .service
        .authorisation_state(&holder.client, &holder.user_id, &request_id)
        .await?;
    let Some(expires_in) = answered
        .sad_expires_in
        .filter(|_| answered.status == RequestStatus::Authorised)
    else {
        return Err(not_authorised(&answered));
    };
    if let Some(hashes) = hashes.filter(|h| !h.is_empty()) {
        let digests = digests(&hashes, credential.hash_algorithm)?;
        state
            .service
            .check_sign_expected(
                &holder.client,
                &request_id,
                &SignExpectation {
                    user_id: &holder.user_id,
                    key_id: &credential.key_id,
                    format: None,
                    hashes: &digests,
                },
            )
            .await?;
    }
    sad_answer(&state, &holder, &credential.key_id, &request_id, expires_in)
}

pub(crate) async fn extend_v1(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    extend(state, Version::V1, holder, bytes).await
}

pub(crate) async fn extend_v2(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    extend(state, Version::V2, holder, bytes).await
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<AuthorizeRequest>()
        .schema_from::<AuthDatum>()
        .schema_from::<AuthorizeResponse>()
        .schema_from::<SignHashRequest>()
        .schema_from::<SignHashResponse>()
        .schema_from::<HandleResponse>()
        .schema_from::<AuthorizeCheckRequest>()
        .schema_from::<ResponseIdAnswer>()
        .schema_from::<SignPollingRequest>()
        .schema_from::<SendOtpRequest>()
        .schema_from::<ExtendRequest>()
}
