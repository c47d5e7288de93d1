//! `signatures/timestamp` (CSC API 1.0.4.0 §11.10, 2.2.0.0 §11.13): an RFC 3161 time-stamp
//! token for a hash the signature application computed, from the time-stamp authority samd
//! is configured with (`[signing] tsa_url`) — for an application that completes its own
//! signatures (PAdES-B-T, CAdES-B-T over `signHash`) and wants the TSA its signing service
//! trusts. Routed, and listed in `info.methods`, only when a TSA is configured; otherwise
//! it is answered as any call not implemented (`404 invalid_request`).
//!
//! In: `hash` (base64), the digest algorithm (`hashAlgo` under 1.0.4.0, `hashAlgorithmOID`
//! under 2.2.0.0), `nonce` (optional, hexadecimal: the RFC 3161 nonce INTEGER, 1 to 64
//! digits; the token carries it), `clientData`. Out: `{"timestamp": base64 DER
//! TimeStampToken}`. samd checks the token before giving it (imprint, nonce, the TSA's
//! signature and its `timeStamping` certificate); each is counted as a Sign and audited as
//! `time_stamp` (docs/csc.md "signatures/timestamp").

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use der::asn1::ObjectIdentifier;
use sam_algorithms::{Digest, HashAlgorithm};
use serde::{Deserialize, Serialize};

use super::auth::CscUser;
use super::signing::foreign;
use super::{CscBody, CscError, Version, body};
use crate::state::AppState;

/// The method's name, as `info.methods` lists it.
pub(crate) const METHOD: &str = "signatures/timestamp";

/// The request, both versions' fields.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscTimestampRequest)]
struct TimestampRequest {
    /// The digest to time-stamp, base64.
    hash: String,
    /// 1.0.4.0: the digest algorithm's OID.
    #[serde(default, rename = "hashAlgo")]
    hash_algo: Option<String>,
    /// 2.2.0.0: the digest algorithm's OID.
    #[serde(default, rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    /// The RFC 3161 nonce, hexadecimal (1 to 64 digits).
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// The answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscTimestampResponse)]
struct TimestampResponse {
    /// The DER `TimeStampToken` (RFC 3161 §2.4.2, as updated by RFC 5816), base64.
    timestamp: String,
}

/// The nonce's bytes from its hexadecimal text (an odd count of digits has a leading zero
/// nibble).
pub(crate) fn nonce_bytes(text: &str) -> Result<Vec<u8>, CscError> {
    let max_digits = 2 * sam_cms::timestamp::MAX_NONCE_LEN;
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CscError::invalid(format!(
            "Invalid parameter nonce: 1 to {max_digits} hexadecimal digits (the RFC 3161 nonce \
             INTEGER)"
        )));
    }
    let padded = if text.len() % 2 == 1 {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    Ok(padded
        .as_bytes()
        .chunks(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect())
}

/// The value of an ASCII hexadecimal digit (checked by the caller).
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit
            .to_ascii_lowercase()
            .wrapping_sub(b'a')
            .wrapping_add(10),
    }
}

/// The digest the request names: its algorithm from the version's field, its value from
/// `hash`.
fn requested_digest(version: Version, request: &TimestampRequest) -> Result<Digest, CscError> {
    let (oid, field) = match version {
        Version::V1 => {
            if request.hash_algorithm_oid.is_some() {
                return Err(foreign(version, "hashAlgorithmOID", "hashAlgo"));
            }
            (request.hash_algo.as_deref(), "hashAlgo")
        }
        Version::V2 => {
            if request.hash_algo.is_some() {
                return Err(foreign(version, "hashAlgo", "hashAlgorithmOID"));
            }
            (request.hash_algorithm_oid.as_deref(), "hashAlgorithmOID")
        }
    };
    let text = oid.ok_or_else(|| CscError::invalid(format!("Missing parameter {field}")))?;
    let algorithm = ObjectIdentifier::new(text)
        .ok()
        .and_then(|oid| HashAlgorithm::from_oid(&oid).ok())
        .ok_or_else(|| {
            CscError::invalid(format!(
                "Invalid parameter {field}: {text:?} is no digest algorithm"
            ))
        })?;
    let bytes = Base64::decode_vec(&request.hash)
        .map_err(|_| CscError::invalid("Invalid parameter hash: not base64"))?;
    Digest::new(algorithm, &bytes).map_err(|_| {
        CscError::invalid(format!(
            "Invalid digest value length: hash has {} bytes, {algorithm} {}",
            bytes.len(),
            algorithm.output_len()
        ))
    })
}

async fn time_stamp(
    state: AppState,
    version: Version,
    holder: sam_service::TokenHolder,
    bytes: axum::body::Bytes,
) -> Result<Response, CscError> {
    let request: TimestampRequest = body(&bytes)?;
    let digest = requested_digest(version, &request)?;
    let nonce = request.nonce.as_deref().map(nonce_bytes).transpose()?;
    let token = state
        .service
        .time_stamp_digest(&holder.client, &holder.user_id, digest, nonce)
        .await?;
    Ok(axum::Json(TimestampResponse {
        timestamp: Base64::encode_string(&token),
    })
    .into_response())
}

pub(crate) async fn time_stamp_v1(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    time_stamp(state, Version::V1, holder, bytes).await
}

pub(crate) async fn time_stamp_v2(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    time_stamp(state, Version::V2, holder, bytes).await
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<TimestampRequest>()
        .schema_from::<TimestampResponse>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_hexadecimal_of_bounded_length() {
        assert_eq!(nonce_bytes("0a1B").unwrap(), [0x0a, 0x1b]);
        assert_eq!(nonce_bytes("abc").unwrap(), [0x0a, 0xbc]);
        assert_eq!(nonce_bytes("7").unwrap(), [0x07]);
        assert_eq!(nonce_bytes(&"f".repeat(64)).unwrap(), [0xff; 32]);
        for bad in ["", "0x12", "12 34", "zz", "-1", &"1".repeat(65)] {
            let err = nonce_bytes(bad).unwrap_err();
            assert_eq!(err.error(), "invalid_request", "{bad:?}");
        }
    }

    fn request(json: &str) -> TimestampRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn each_version_names_the_digest_algorithm_in_its_own_field() {
        let sha256 = Base64::encode_string(&[7u8; 32]);
        let v1 = request(&format!(
            r#"{{"hash":"{sha256}","hashAlgo":"2.16.840.1.101.3.4.2.1"}}"#
        ));
        let v2 = request(&format!(
            r#"{{"hash":"{sha256}","hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}}"#
        ));
        for (version, ok, other) in [(Version::V1, &v1, &v2), (Version::V2, &v2, &v1)] {
            let digest = requested_digest(version, ok).unwrap();
            assert_eq!(digest.algorithm(), HashAlgorithm::Sha256);
            assert_eq!(digest.as_bytes(), [7u8; 32]);
            let err = requested_digest(version, other).unwrap_err();
            assert_eq!(err.error(), "invalid_request");
        }
        for bad in [
            format!(r#"{{"hash":"{sha256}"}}"#),
            format!(r#"{{"hash":"{sha256}","hashAlgorithmOID":"1.2.3"}}"#),
            format!(r#"{{"hash":"{sha256}","hashAlgorithmOID":"2.16.840.1.101.3.4.2.2"}}"#),
            r#"{"hash":"not base64!","hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}"#.to_owned(),
        ] {
            let err = requested_digest(Version::V2, &request(&bad)).unwrap_err();
            assert_eq!(err.error(), "invalid_request", "{bad}");
        }
    }
}
