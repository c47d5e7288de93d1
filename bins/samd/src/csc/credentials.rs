//! `credentials/list` and `credentials/info` (CSC API 1.0.4.0 §11.4–11.5, 2.2.0.0
//! §11.4–11.5): the access token's user's credentials — sam keys with their certificates
//! (`sam_service::credentials`) — and nobody else's. A `userID` naming anyone but the token's
//! user is refused, not answered with that user's keys.
//!
//! How each sam fact reads in CSC (docs/csc.md "Credentials"):
//!
//! - `key.algo`: the key's algorithm (its SubjectPublicKeyInfo OID: `rsaEncryption` only
//!   under PKCS#1 v1.5, where `signHash` takes it with a hash algorithm) and the one
//!   signature algorithm its profile signs with; `key.len` the modulus or curve size, for
//!   ML-DSA the public key's size in bits; `key.curve` the curve's OID.
//! - `key.status`: `enabled` while its profile is active and one of the client's.
//! - `cert`: absent while the key has no certificate. `cert.status`: `valid` within the certificate's validity, `expired` after it; sam has
//!   no revocation status to give, and gives none before the validity starts.
//! - `SCAL`: the profile's. `multisign`: how many hashes one authorisation covers.
//! - v1 `authMode` / v2 `auth`: `PIN` (the user's sam password) and `OTP` (sent by sam)
//!   under SCAL1; otherwise the user's device approves, which v1 calls `implicit` and v2
//!   `explicit` with no objects (an `authorize` without `authData`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use der::Decode;
use sam_algorithms::{KeySpec, Scal, SignatureAlgorithm, UnixTime};
use sam_service::{CertificateValidity, Channel, Credential};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::auth::CscUser;
use super::{CscBody, CscError, Version, body};
use crate::state::AppState;

/// `maxResults` when the request gives none.
pub(crate) const DEFAULT_MAX_RESULTS: i64 = 100;

/// Which certificates to return (`certificates`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[schema(as = CscCertificatesChoice)]
#[serde(rename_all = "lowercase")]
enum Certificates {
    None,
    #[default]
    Single,
    Chain,
}

/// `credentials/list`. The v2 fields are read in v1 requests as unknown extensions: ignored.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = CscCredentialsListRequest)]
#[serde(rename_all = "camelCase")]
struct ListRequest {
    #[serde(default, rename = "userID")]
    user_id: Option<String>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    credential_info: bool,
    #[serde(default)]
    certificates: Certificates,
    #[serde(default)]
    cert_info: bool,
    #[serde(default)]
    auth_info: bool,
    #[serde(default)]
    only_valid: bool,
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// `credentials/info`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscCredentialsInfoRequest)]
#[serde(rename_all = "camelCase")]
struct InfoRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(default)]
    certificates: Certificates,
    #[serde(default)]
    cert_info: bool,
    #[serde(default)]
    auth_info: bool,
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscCredentialsListResponse)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(rename = "credentialIDs")]
    credential_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_infos: Option<Vec<InfoResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    only_valid: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscKeyInfo)]
struct KeyInfo {
    status: &'static str,
    algo: Vec<String>,
    len: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    curve: Option<String>,
}

#[derive(Serialize, Default, utoipa::ToSchema)]
#[schema(as = CscCertInfo)]
#[serde(rename_all = "camelCase")]
struct CertInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificates: Option<Vec<String>>,
    #[serde(rename = "issuerDN", skip_serializing_if = "Option::is_none")]
    issuer_dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    #[serde(rename = "subjectDN", skip_serializing_if = "Option::is_none")]
    subject_dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
}

/// v1 `PIN`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscPinInfo)]
struct PinInfo {
    presence: &'static str,
    format: &'static str,
    label: &'static str,
    description: &'static str,
}

/// v1 `OTP`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscOtpInfo)]
#[serde(rename_all = "camelCase")]
struct OtpInfo {
    presence: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    format: &'static str,
    label: &'static str,
    description: String,
    #[serde(rename = "ID")]
    id: &'static str,
    provider: &'static str,
}

/// v2 `auth.objects[]`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscAuthObject)]
struct AuthObject {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'static str,
    format: &'static str,
    label: &'static str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    generator: Option<&'static str>,
}

/// v2 `auth`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscAuthInfo)]
struct AuthInfo {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<Vec<AuthObject>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscCredentialInfo)]
#[serde(rename_all = "camelCase")]
struct InfoResponse {
    #[serde(rename = "credentialID", skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    key: KeyInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert: Option<CertInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_mode: Option<&'static str>,
    #[serde(rename = "PIN", skip_serializing_if = "Option::is_none")]
    pin: Option<PinInfo>,
    #[serde(rename = "OTP", skip_serializing_if = "Option::is_none")]
    otp: Option<OtpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthInfo>,
    #[serde(rename = "SCAL")]
    scal: &'static str,
    multisign: u32,
    lang: String,
}

/// What of a credential to describe.
#[derive(Clone, Copy)]
struct Detail {
    certificates: Certificates,
    cert_info: bool,
    auth_info: bool,
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// RFC 5280 GeneralizedTime as CSC writes it: `YYYYMMDDHHMMSSZ`.
fn generalized_time(t: UnixTime) -> String {
    let c = t.civil();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

fn secs(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The OIDs of `key.algo`: the key algorithm where `signHash` may name it with a separate
/// hash (not for PSS, whose identifier is the signature's), then the signature algorithm.
pub(crate) fn algorithms(credential: &Credential) -> Result<Vec<String>, CscError> {
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&credential.public_key)
        .map_err(|e| internal(format!("stored public key: {e}")))?;
    let mut algo = Vec::with_capacity(2);
    if !matches!(
        credential.signature_algorithm,
        SignatureAlgorithm::RsaPss(_)
    ) {
        algo.push(spki.algorithm.oid.to_string());
    }
    let signature = credential.signature_algorithm.oid().to_string();
    if !algo.contains(&signature) {
        algo.push(signature);
    }
    Ok(algo)
}

fn internal(message: String) -> CscError {
    CscError::from(sam_service::ServiceError::new(
        sam_service::ErrorCode::InternalError,
        message,
    ))
}

fn key_info(credential: &Credential) -> Result<KeyInfo, CscError> {
    let (len, curve) = match credential.spec {
        KeySpec::Ecdsa(curve) => (curve.bits(), Some(curve.oid().to_string())),
        spec => (
            spec.key_length().unwrap_or_else(|| {
                // ML-DSA: the public key's size (FIPS 204 Table 2), from its BIT STRING.
                x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&credential.public_key)
                    .ok()
                    .and_then(|s| u32::try_from(s.subject_public_key.raw_bytes().len()).ok())
                    .map_or(0, |bytes| bytes * 8)
            }),
            None,
        ),
    };
    Ok(KeyInfo {
        status: if credential.enabled {
            "enabled"
        } else {
            "disabled"
        },
        algo: algorithms(credential)?,
        len,
        curve,
    })
}

fn cert_info(credential: &Credential, detail: Detail) -> Result<CertInfo, CscError> {
    let Some(view) = &credential.certificate else {
        return Err(internal("no certificate to describe".into()));
    };
    let certificate = Certificate::from_der(&view.certificate)
        .map_err(|e| internal(format!("stored certificate: {e}")))?;
    let tbs = certificate.tbs_certificate();
    let validity = tbs.validity();
    let (from, to) = (secs(validity.not_before), secs(validity.not_after));
    let status = match credential.certificate_validity {
        Some(CertificateValidity::Valid) => Some("valid"),
        Some(CertificateValidity::Expired) => Some("expired"),
        Some(CertificateValidity::NotYetValid) | None => None,
    };
    let base64 = |der: &[u8]| <base64ct::Base64 as base64ct::Encoding>::encode_string(der);
    let certificates = match detail.certificates {
        Certificates::None => None,
        Certificates::Single => Some(vec![base64(&view.certificate)]),
        Certificates::Chain => Some(
            std::iter::once(&view.certificate)
                .chain(&view.chain)
                .map(|der| base64(der))
                .collect(),
        ),
    };
    let mut info = CertInfo {
        status,
        certificates,
        ..CertInfo::default()
    };
    if detail.cert_info {
        // The serial's magnitude: the DER INTEGER without its sign octet.
        let serial = tbs.serial_number().as_bytes();
        let serial = match serial {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        let time = |s: i64| UnixTime::from_secs(s).map(generalized_time);
        info.issuer_dn = Some(tbs.issuer().to_string());
        info.subject_dn = Some(tbs.subject().to_string());
        info.serial_number = Some(upper_hex(serial));
        info.valid_from = time(from);
        info.valid_to = time(to);
    }
    Ok(info)
}

const PIN_DESCRIPTION: &str = "The user's sam password";

fn otp_description(channel: Channel) -> String {
    format!(
        "A one-time password sam sends by {}: ask for it with credentials/sendOTP",
        match channel {
            Channel::Sms => "text message",
            Channel::Email => "e-mail",
        }
    )
}

/// The SCAL1 factors, as v2's expression joins them.
fn expression(credential: &Credential) -> Option<String> {
    let a = &credential.authorisation;
    match (a.pin, a.otp.is_some()) {
        (true, true) => Some("PIN OR OTP".into()),
        (true, false) => Some("PIN".into()),
        (false, true) => Some("OTP".into()),
        (false, false) => None,
    }
}

fn describe(
    state: &AppState,
    version: Version,
    credential: &Credential,
    detail: Detail,
    with_id: bool,
) -> Result<InfoResponse, CscError> {
    let a = credential.authorisation;
    let explicit = a.pin || a.otp.is_some();
    // Either factor suffices (both are checked when both are sent), so each is optional
    // when both are offered.
    let presence = if a.pin && a.otp.is_some() {
        "optional"
    } else {
        "true"
    };
    let mut info = InfoResponse {
        credential_id: with_id.then(|| credential.key_id.clone()),
        description: credential.description.clone(),
        key: key_info(credential)?,
        // A key without a certificate yet (Import Certificate comes after Key Generation).
        cert: match credential.certificate {
            Some(_) => Some(cert_info(credential, detail)?),
            None => None,
        },
        auth_mode: None,
        pin: None,
        otp: None,
        auth: None,
        scal: match credential.scal {
            Scal::Scal1 => "1",
            Scal::Scal2 => "2",
        },
        multisign: credential.max_signatures,
        lang: state.csc.lang.clone(),
    };
    match version {
        Version::V1 => {
            info.auth_mode = Some(if explicit { "explicit" } else { "implicit" });
            if detail.auth_info {
                info.pin = a.pin.then_some(PinInfo {
                    presence,
                    format: "A",
                    label: "PIN",
                    description: PIN_DESCRIPTION,
                });
                info.otp = a.otp.map(|channel| OtpInfo {
                    presence,
                    kind: "online",
                    format: "N",
                    label: "OTP",
                    description: otp_description(channel),
                    id: "sam-otp",
                    provider: "sam",
                });
            }
        }
        Version::V2 => {
            let mut auth = AuthInfo {
                mode: "explicit",
                expression: None,
                objects: None,
            };
            if detail.auth_info {
                let mut objects = Vec::new();
                if a.pin {
                    objects.push(AuthObject {
                        kind: "Password",
                        id: "PIN",
                        format: "A",
                        label: "PIN",
                        description: PIN_DESCRIPTION.into(),
                        generator: None,
                    });
                }
                if let Some(channel) = a.otp {
                    objects.push(AuthObject {
                        kind: "Password",
                        id: "OTP",
                        format: "N",
                        label: "OTP",
                        description: otp_description(channel),
                        generator: Some("sam"),
                    });
                }
                auth.expression = Some(expression(credential).unwrap_or_default());
                auth.objects = Some(objects);
            }
            info.auth = Some(auth);
        }
    }
    Ok(info)
}

/// The holder's own user: a `userID` naming another is refused.
fn same_user(holder: &sam_service::TokenHolder, named: Option<&str>) -> Result<(), CscError> {
    match named {
        Some(user) if user != holder.user_id => Err(CscError::invalid(
            "userID names another user than the access token's: a token lists only its own \
             user's credentials",
        )),
        _ => Ok(()),
    }
}

async fn list(
    state: AppState,
    version: Version,
    CscUser(holder): CscUser,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: ListRequest = body(&bytes)?;
    same_user(&holder, request.user_id.as_deref())?;
    let limit = request.max_results.unwrap_or(DEFAULT_MAX_RESULTS);
    let page = state
        .service
        .credentials(
            &holder.client,
            &holder.user_id,
            request.page_token.as_deref(),
            limit,
        )
        .await?;
    let v2 = version == Version::V2;
    let chosen: Vec<&Credential> = page
        .credentials
        .iter()
        .filter(|c| !(v2 && request.only_valid) || c.usable())
        .collect();
    let detail = Detail {
        certificates: request.certificates,
        cert_info: request.cert_info,
        auth_info: request.auth_info,
    };
    let credential_infos = if v2 && request.credential_info {
        Some(
            chosen
                .iter()
                .map(|c| describe(&state, version, c, detail, true))
                .collect::<Result<Vec<_>, _>>()?,
        )
    } else {
        None
    };
    Ok(axum::Json(ListResponse {
        credential_ids: chosen.iter().map(|c| c.key_id.clone()).collect(),
        credential_infos,
        next_page_token: page.next,
        only_valid: v2.then_some(request.only_valid),
    })
    .into_response())
}

async fn info(
    state: AppState,
    version: Version,
    CscUser(holder): CscUser,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: InfoRequest = body(&bytes)?;
    let credential = state
        .service
        .credential(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    let detail = Detail {
        certificates: request.certificates,
        cert_info: request.cert_info,
        auth_info: request.auth_info,
    };
    Ok(axum::Json(describe(&state, version, &credential, detail, false)?).into_response())
}

pub(crate) async fn list_v1(
    State(state): State<AppState>,
    user: CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    list(state, Version::V1, user, bytes).await
}

pub(crate) async fn list_v2(
    State(state): State<AppState>,
    user: CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    list(state, Version::V2, user, bytes).await
}

pub(crate) async fn info_v1(
    State(state): State<AppState>,
    user: CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    info(state, Version::V1, user, bytes).await
}

pub(crate) async fn info_v2(
    State(state): State<AppState>,
    user: CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    info(state, Version::V2, user, bytes).await
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<Certificates>()
        .schema_from::<ListRequest>()
        .schema_from::<InfoRequest>()
        .schema_from::<ListResponse>()
        .schema_from::<KeyInfo>()
        .schema_from::<CertInfo>()
        .schema_from::<PinInfo>()
        .schema_from::<OtpInfo>()
        .schema_from::<AuthObject>()
        .schema_from::<AuthInfo>()
        .schema_from::<InfoResponse>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_generalized_time() {
        let t = UnixTime::parse_rfc3339("2026-12-02T09:05:07Z").unwrap();
        assert_eq!(generalized_time(t), "20261202090507Z");
        assert_eq!(upper_hex(&[0x0a, 0xff]), "0AFF");
    }

    #[test]
    fn certificates_option_reads_the_three_spellings_only() {
        for (text, want) in [
            ("none", Certificates::None),
            ("single", Certificates::Single),
            ("chain", Certificates::Chain),
        ] {
            let got: Certificates = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(got, want);
        }
        assert!(serde_json::from_value::<Certificates>(serde_json::json!("all")).is_err());
        let request: ListRequest = body(b"{}").unwrap();
        assert_eq!(request.certificates, Certificates::Single);
    }
}
