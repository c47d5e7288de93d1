//! `signatures/signDoc` (CSC API 2.2.0.0 §11.10): CAdES signatures (`signature_format` `C`)
//! of documents given by their digests (`documentDigests`) or whole (`documents`), detached
//! (`signed_envelope_property` `Detached`), at `conformance_level` `Ades-B-B` or, with a
//! time-stamp authority configured, `Ades-B-T`.
//!
//! The user authorises the DTBS/R — for CAdES the digest of the signed attributes, which
//! carry the document's digest and the signing time — so the signed attributes are made when
//! the request is authorised: `credentials/authorize` names the format with sam's extension
//! fields `signature_format` and `conformance_level`, and its `hashes` are the documents'
//! digests. `signDoc` then signs exactly those documents, in that format, once
//! ([`sam_service::Service::sign_expected`] compares the documents' digests with the
//! `message-digest` the authorised signed attributes carry), and answers the CMS
//! `SignedData` of each as `SignatureObject`, in the order of the request (docs/csc.md
//! "signatures/signDoc").

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use sam_algorithms::Digest;
use sam_cms::Format;
use sam_service::{ReferencePurpose, SignExpectation};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::auth::CscUser;
use super::signing::{check_sign_algo, digests, named_hash};
use super::{CscBody, CscError, body};
use crate::state::AppState;

/// The conformance levels a service with (`true`) or without a time-stamp authority makes, as
/// `info.conformance_levels` lists them.
pub(crate) fn conformance_levels(time_stamps: bool) -> Vec<&'static str> {
    if time_stamps {
        vec!["Ades-B-B", "Ades-B-T"]
    } else {
        vec!["Ades-B-B"]
    }
}

/// The sam format of a CSC `signature_format` and `conformance_level` (absent: `Ades-B-B`,
/// the spec's default). Levels are compared without regard to case (`AdES-B-T` is common).
pub(crate) fn cades_format(
    signature_format: &str,
    level: Option<&str>,
) -> Result<Format, CscError> {
    if signature_format != "C" {
        return Err(CscError::invalid(format!(
            "Invalid parameter signature_format: {signature_format:?}; this service signs \
             CAdES (C) only — no XAdES, PAdES or JAdES (info.signature_formats)"
        )));
    }
    match level {
        None => Ok(Format::CadesBB),
        Some(l) if l.eq_ignore_ascii_case("Ades-B-B") => Ok(Format::CadesBB),
        Some(l) if l.eq_ignore_ascii_case("Ades-B-T") => Ok(Format::CadesBT),
        Some(other) => Err(CscError::invalid(format!(
            "Invalid parameter conformance_level: {other:?}; this service makes Ades-B-B and, \
             with a time-stamp authority, Ades-B-T (info.conformance_levels)"
        ))),
    }
}

/// `signatures/signDoc`'s request (2.2.0.0).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscSignDocRequest)]
struct SignDocRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(default, rename = "signatureQualifier")]
    signature_qualifier: Option<String>,
    #[serde(rename = "SAD")]
    sad: String,
    #[serde(default, rename = "documentDigests")]
    document_digests: Option<Vec<DocumentDigests>>,
    #[serde(default)]
    documents: Option<Vec<WholeDocument>>,
    #[serde(default, rename = "operationMode")]
    operation_mode: Option<String>,
    #[serde(default, rename = "validity_period")]
    validity_period: Option<i64>,
    #[serde(default, rename = "response_uri")]
    #[schema(value_type = Option<String>)]
    response_uri: Option<IgnoredAny>,
    #[serde(default, rename = "returnValidationInformation")]
    return_validation_information: Option<bool>,
    #[serde(default, rename = "clientData")]
    _client_data: Option<String>,
}

/// How the documents of one `documentDigests` or `documents` entry are signed.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscSignatureParameters)]
struct Parameters {
    #[serde(rename = "signature_format")]
    signature_format: String,
    #[serde(default, rename = "conformance_level")]
    conformance_level: Option<String>,
    #[serde(rename = "signAlgo")]
    sign_algo: String,
    #[serde(default, rename = "signAlgoParams")]
    sign_algo_params: Option<String>,
    #[serde(default, rename = "signed_props")]
    #[schema(value_type = Option<Vec<Object>>)]
    signed_props: Option<Vec<IgnoredAny>>,
    #[serde(default, rename = "signed_envelope_property")]
    signed_envelope_property: Option<String>,
}

/// One `documentDigests` entry: documents by their digests, and how to sign them.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscDocumentDigests)]
struct DocumentDigests {
    hashes: Vec<String>,
    #[serde(rename = "hashAlgorithmOID")]
    hash_algorithm_oid: String,
    #[serde(flatten)]
    parameters: Parameters,
}

/// One `documents` entry: a document (base64), and how to sign it.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CscDocument)]
struct WholeDocument {
    document: String,
    #[serde(flatten)]
    parameters: Parameters,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CscSignDocResponse)]
struct SignDocResponse {
    /// The detached CAdES signatures (CMS `SignedData`, base64 DER), in the request's order:
    /// `documentDigests`' hashes first, then `documents`.
    #[serde(rename = "SignatureObject")]
    signature_object: Vec<String>,
}

/// The format one entry asks for, after checking what this service cannot do for it.
fn entry_format(
    parameters: &Parameters,
    credential: &sam_service::Credential,
    whole: bool,
) -> Result<Format, CscError> {
    let format = cades_format(
        &parameters.signature_format,
        parameters.conformance_level.as_deref(),
    )?;
    match parameters.signed_envelope_property.as_deref() {
        Some("Detached") => {}
        // A document given by its digest can only be signed detached.
        None if !whole => {}
        None => {
            return Err(CscError::invalid(
                "signed_envelope_property: this service makes detached CAdES signatures; send \
                 Detached (the spec's default for CAdES, Attached, is not served)",
            ));
        }
        Some(other) => {
            return Err(CscError::invalid(format!(
                "Invalid parameter signed_envelope_property: {other:?}; this service makes \
                 detached CAdES signatures (Detached)"
            )));
        }
    }
    if parameters
        .signed_props
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(CscError::invalid(
            "signed_props: the signed attributes are made when the user authorises \
             (content-type, message-digest, signing-time, signing-certificate-v2) and \
             cannot be added to afterwards",
        ));
    }
    check_sign_algo(
        credential,
        &parameters.sign_algo,
        parameters.sign_algo_params.as_deref(),
    )?;
    Ok(format)
}

/// `signatures/signDoc` (2.2.0.0). Counted and audited as Sign.
pub(crate) async fn sign_doc(
    State(state): State<AppState>,
    CscUser(holder): CscUser,
    CscBody(bytes): CscBody,
) -> Result<Response, CscError> {
    let request: SignDocRequest = body(&bytes)?;
    match request.operation_mode.as_deref() {
        None | Some("S") => {}
        Some("A") => {
            return Err(CscError::invalid(
                "operationMode A: signDoc answers synchronously here (signatures/signHash \
                 offers operationMode A)",
            ));
        }
        Some(other) => {
            return Err(CscError::invalid(format!(
                "operationMode {other:?}: S or A"
            )));
        }
    }
    if request.validity_period.is_some() || request.response_uri.is_some() {
        return Err(CscError::invalid(
            "validity_period and response_uri are for operationMode A only",
        ));
    }
    if request.signature_qualifier.is_some() {
        return Err(CscError::invalid(
            "signatureQualifier: this service selects credentials by credentialID only",
        ));
    }
    if request.return_validation_information == Some(true) {
        return Err(CscError::invalid(
            "returnValidationInformation: this service returns no validation information \
             (info.validationInfo is false)",
        ));
    }
    let by_digest = request.document_digests.unwrap_or_default();
    let whole = request.documents.unwrap_or_default();
    if by_digest.iter().all(|d| d.hashes.is_empty()) && whole.is_empty() {
        return Err(CscError::invalid(
            "no documents to sign: send documentDigests or documents",
        ));
    }
    let credential = state
        .service
        .credential_facts(&holder.client, &holder.user_id, &request.credential_id)
        .await?;
    let mut format = None;
    let mut same_format = |f: Format| match format.replace(f) {
        Some(before) if before != f => Err(CscError::invalid(
            "every document of one SAD is signed in the format it was authorised for: one \
             conformance_level for all",
        )),
        _ => Ok(()),
    };
    let mut documents: Vec<Digest> = Vec::new();
    for entry in &by_digest {
        same_format(entry_format(&entry.parameters, &credential, false)?)?;
        named_hash(
            &credential,
            Some(&entry.hash_algorithm_oid),
            "hashAlgorithmOID",
        )?;
        documents.extend(digests(&entry.hashes, credential.hash_algorithm)?);
    }
    for (i, entry) in whole.iter().enumerate() {
        same_format(entry_format(&entry.parameters, &credential, true)?)?;
        let data = Base64::decode_vec(&entry.document)
            .map_err(|_| CscError::invalid(format!("documents {i}: document is not base64")))?;
        documents.push(credential.hash_algorithm.digest(&data));
    }
    let format = format.ok_or_else(|| CscError::invalid("no documents to sign"))?;
    let request_id = state.service.open_request_reference(
        ReferencePurpose::Sad,
        &holder.client,
        &holder.user_id,
        &credential.key_id,
        &request.sad,
    )?;
    let signatures = state
        .service
        .sign_expected(
            &holder.client,
            &request_id,
            &SignExpectation {
                user_id: &holder.user_id,
                key_id: &credential.key_id,
                format: Some(format),
                hashes: &documents,
            },
        )
        .await?;
    Ok(axum::Json(SignDocResponse {
        signature_object: signatures
            .iter()
            .map(|s| Base64::encode_string(s))
            .collect(),
    })
    .into_response())
}

/// This module's schemas, for the OpenAPI document.
pub(crate) fn schemas(
    components: utoipa::openapi::ComponentsBuilder,
) -> utoipa::openapi::ComponentsBuilder {
    components
        .schema_from::<SignDocRequest>()
        .schema_from::<Parameters>()
        .schema_from::<DocumentDigests>()
        .schema_from::<WholeDocument>()
        .schema_from::<SignDocResponse>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cades_at_the_levels_made_here_is_a_format() {
        assert_eq!(cades_format("C", None).unwrap(), Format::CadesBB);
        assert_eq!(
            cades_format("C", Some("Ades-B-B")).unwrap(),
            Format::CadesBB
        );
        assert_eq!(
            cades_format("C", Some("AdES-B-T")).unwrap(),
            Format::CadesBT
        );
        for (format, level) in [
            ("X", None),
            ("P", Some("Ades-B-B")),
            ("J", None),
            ("", None),
            ("c", None),
            ("C", Some("Ades-B-LT")),
            ("C", Some("Ades-B-LTA")),
            ("C", Some("Ades-T")),
            ("C", Some("")),
        ] {
            let e = cades_format(format, level).unwrap_err();
            assert_eq!(e.error(), "invalid_request", "{format} {level:?}");
        }
        assert_eq!(conformance_levels(false), ["Ades-B-B"]);
        assert_eq!(conformance_levels(true), ["Ades-B-B", "Ades-B-T"]);
    }
}
