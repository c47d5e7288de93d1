//! The authorisation request (RFC 6749 §4.1.1) as the CSC API 2.2.0.0 defines its parameters
//! (§8.3.2 `oauth2/authorize`):
//!
//! - `scope=service`: access to the user's account (the CSC calls with the user's token);
//! - `scope=credential`: an authorisation of one credential for `numSignatures` signatures
//!   of exactly the `hashes` (base64url, comma-separated) under `hashAlgorithmOID` — the
//!   token the client gets for it stands for the SAD;
//! - or, instead of those, a rich authorisation request (RFC 9396) `authorization_details`
//!   with one object of type `credential`: `credentialID` (or `signatureQualifier`),
//!   `documentDigests[{hash, label}]`, `hashAlgorithmOID`, `locations`;
//! - a pushed request (RFC 9126 §4) is named by `client_id` and `request_uri` alone.
//!
//! PKCE `S256` is required ([`crate::pkce`]). What the request names is checked against what
//! exists (the client, its redirect URIs, the user's credential) by `sam-service`; this module
//! only decides whether the request is well formed. An error about `client_id` or
//! `redirect_uri` must not be sent to the redirect URI (RFC 6749 §4.1.2.1); the caller checks
//! those two first ([`AuthorizationRequest::client_id_of`]).

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
use sam_algorithms::{Digest, HashAlgorithm};
use serde::Deserialize;

use crate::params::Params;
use crate::pkce::CodeChallenge;
use crate::{ErrorCode, OAuthError};

/// The longest `client_id`.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// The longest `state` (opaque to the server, returned as sent).
pub const MAX_STATE_LEN: usize = 1024;
/// The longest `credentialID`.
pub const MAX_CREDENTIAL_ID_LEN: usize = 255;
/// The longest `description` (CSC API 2.2.0.0 §8.3.2: 500 characters).
pub const MAX_DESCRIPTION_LEN: usize = 500;
/// The most documents one request authorises.
pub const MAX_DOCUMENTS: usize = 1000;
/// The longest document `label`.
pub const MAX_LABEL_LEN: usize = 256;
/// The prefix of a pushed request's `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// What an authorisation endpoint request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorize {
    /// The whole request in the query.
    Direct(AuthorizationRequest),
    /// A reference to a request pushed before (RFC 9126 §4).
    Pushed(PushedReference),
}

/// The reference to a pushed request, as the authorisation endpoint receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedReference {
    /// The client that pushed it.
    pub client_id: String,
    /// The `request_uri` the PAR endpoint answered.
    pub request_uri: String,
}

impl PushedReference {
    /// The server's identifier of the pushed request: `request_uri` without its prefix.
    pub fn id(&self) -> &str {
        self.request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .unwrap_or(&self.request_uri)
    }
}

impl Authorize {
    /// Reads an authorisation endpoint request.
    pub fn from_params(params: &Params) -> Result<Self, OAuthError> {
        match Self::pushed(params)? {
            Some(pushed) => Ok(Self::Pushed(pushed)),
            None => AuthorizationRequest::from_params(params).map(Self::Direct),
        }
    }

    /// The reference to a pushed request, if the request is one;
    /// `None` for a direct request, which the caller reads with
    /// [`AuthorizationRequest::client_id_of`] first, then
    /// [`AuthorizationRequest::from_params`].
    pub fn pushed(params: &Params) -> Result<Option<PushedReference>, OAuthError> {
        let Some(request_uri) = params.get("request_uri") else {
            return Ok(None);
        };
        let client_id = client_id(params)?;
        if !request_uri.starts_with(REQUEST_URI_PREFIX) || request_uri.len() > 256 {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequestUri,
                "request_uri is not one this server issued",
            ));
        }
        Ok(Some(PushedReference {
            client_id: client_id.to_owned(),
            request_uri: request_uri.to_owned(),
        }))
    }
}

/// An authorisation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The OAuth client.
    pub client_id: String,
    /// The redirect URI asked for (absent: the client's only registered one).
    pub redirect_uri: Option<String>,
    /// The client's `state`, returned as sent.
    pub state: Option<String>,
    /// The PKCE challenge the code is bound to.
    pub code_challenge: CodeChallenge,
    /// What is authorised.
    pub scope: Scope,
    /// The language the user's pages may use.
    pub lang: Option<String>,
}

/// What a request authorises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `service`: the user's account.
    Service,
    /// `credential`: signatures with one credential.
    Credential(CredentialRequest),
}

/// Which credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSelector {
    /// `credentialID`.
    Id(String),
    /// `signatureQualifier` (e.g. `eu_eidas_qes`): the user's credential of that kind.
    Qualifier(String),
}

/// One document to sign: its digest, and a label the user sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentDigest {
    /// The digest (its algorithm is `hashAlgorithmOID`'s).
    pub digest: Digest,
    /// The label (RAR `documentDigests[].label`).
    pub label: Option<String>,
}

/// A `scope=credential` request, or its RAR form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRequest {
    /// The credential.
    pub credential: CredentialSelector,
    /// How many signatures (with documents: one per document).
    pub num_signatures: u32,
    /// The documents, when the request names them (SCAL2 requires them).
    pub documents: Vec<DocumentDigest>,
    /// What the user is shown.
    pub description: Option<String>,
    /// RAR `locations` (the resource servers the token is for), as given.
    pub locations: Vec<String>,
    /// Whether it came as `authorization_details` (the token response echoes them).
    pub rich: bool,
}

/// The parameters of `scope=credential` in the query form.
const CREDENTIAL_PARAMS: &[&str] = &[
    "credentialID",
    "signatureQualifier",
    "numSignatures",
    "hashes",
    "hashAlgorithmOID",
];

fn printable(name: &str, value: &str, max: usize) -> Result<(), OAuthError> {
    if value.len() > max || value.chars().any(char::is_control) {
        return Err(OAuthError::invalid(format!(
            "{name} has more than {max} bytes or control characters"
        )));
    }
    Ok(())
}

fn client_id(params: &Params) -> Result<&str, OAuthError> {
    let id = params.required("client_id")?;
    if id.len() > MAX_CLIENT_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(OAuthError::invalid(format!(
            "client_id is 1 to {MAX_CLIENT_ID_LEN} visible ASCII characters"
        )));
    }
    Ok(id)
}

impl AuthorizationRequest {
    /// The `client_id` and `redirect_uri` of a request, checked before anything else: until
    /// both are known good, no error may be redirected.
    pub fn client_id_of(params: &Params) -> Result<(&str, Option<&str>), OAuthError> {
        let id = client_id(params)?;
        let redirect = params.get("redirect_uri");
        if let Some(uri) = redirect {
            printable("redirect_uri", uri, crate::redirect::MAX_URI_LEN)?;
        }
        Ok((id, redirect))
    }

    /// Reads a request (the query of `oauth2/authorize`, or a PAR body).
    pub fn from_params(params: &Params) -> Result<Self, OAuthError> {
        let (client_id, redirect_uri) = Self::client_id_of(params)?;
        if params.has("request") {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "request objects (JAR) are not supported; push the request (PAR) instead",
            ));
        }
        if params.has("request_uri") {
            return Err(OAuthError::invalid(
                "request_uri may not be part of a pushed request (RFC 9126 §2.1)",
            ));
        }
        match params.get("response_type") {
            Some("code") => {}
            Some(_) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "response_type must be code",
                ));
            }
            None => return Err(OAuthError::invalid("response_type is missing")),
        }
        let state = params.get("state");
        if let Some(s) = state {
            printable("state", s, MAX_STATE_LEN)?;
        }
        if params.has("account_token") {
            return Err(OAuthError::invalid(
                "account_token is not supported: the user logs in on sam's page",
            ));
        }
        let code_challenge = CodeChallenge::parse(
            params.get("code_challenge"),
            params.get("code_challenge_method"),
        )?;
        let lang = params.bounded("lang", 35)?.map(str::to_owned);
        let description = params.bounded("description", MAX_DESCRIPTION_LEN)?;
        let scope = match (params.get("scope"), params.get("authorization_details")) {
            (scope, Some(details)) => {
                if !matches!(scope, None | Some("credential")) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "authorization_details authorise a credential; scope must be absent \
                         or credential",
                    ));
                }
                if let Some(given) = CREDENTIAL_PARAMS.iter().find(|p| params.has(p)) {
                    return Err(OAuthError::invalid(format!(
                        "{given} and authorization_details both say what is authorised; send \
                         one of them"
                    )));
                }
                let mut request = rich_credential(details)?;
                request.description = description.map(str::to_owned);
                Scope::Credential(request)
            }
            (Some("service"), None) => {
                if let Some(given) = CREDENTIAL_PARAMS.iter().find(|p| params.has(p)) {
                    return Err(OAuthError::invalid(format!(
                        "{given} belongs to scope credential, not service"
                    )));
                }
                Scope::Service
            }
            (Some("credential"), None) => {
                let mut request = query_credential(params)?;
                request.description = description.map(str::to_owned);
                Scope::Credential(request)
            }
            (Some(_), None) => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope is service or credential",
                ));
            }
            (None, None) => {
                return Err(OAuthError::invalid(
                    "scope (service or credential) or authorization_details is missing",
                ));
            }
        };
        Ok(Self {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.map(str::to_owned),
            state: state.map(str::to_owned),
            code_challenge,
            scope,
            lang,
        })
    }
}

fn selector(
    id: Option<&str>,
    qualifier: Option<&str>,
    invalid: fn(String) -> OAuthError,
) -> Result<CredentialSelector, OAuthError> {
    match (id, qualifier) {
        (Some(id), None) => {
            if id.is_empty() || id.len() > MAX_CREDENTIAL_ID_LEN || id.chars().any(char::is_control)
            {
                return Err(invalid(format!(
                    "credentialID has 1 to {MAX_CREDENTIAL_ID_LEN} bytes"
                )));
            }
            Ok(CredentialSelector::Id(id.to_owned()))
        }
        (None, Some(q)) => {
            if q.is_empty() || q.len() > 64 || !q.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid("signatureQualifier is malformed".into()));
            }
            Ok(CredentialSelector::Qualifier(q.to_owned()))
        }
        (Some(_), Some(_)) => Err(invalid(
            "credentialID and signatureQualifier: send one of them".into(),
        )),
        (None, None) => Err(invalid(
            "credentialID (or signatureQualifier) is missing".into(),
        )),
    }
}

fn hash_algorithm(
    oid: Option<&str>,
    invalid: fn(String) -> OAuthError,
) -> Result<HashAlgorithm, OAuthError> {
    let oid = oid.ok_or_else(|| invalid("hashAlgorithmOID is missing".into()))?;
    oid.parse()
        .ok()
        .and_then(|o| HashAlgorithm::from_oid(&o).ok())
        .ok_or_else(|| invalid(format!("hashAlgorithmOID {oid:?} is no digest algorithm")))
}

/// A hash in base64, either alphabet, padded or not (the query form uses base64url; RAR's
/// JSON often carries standard base64).
fn decode_hash(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text)
        .or_else(|_| Base64Url::decode_vec(text))
        .or_else(|_| Base64::decode_vec(text))
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .ok()
}

fn digest(
    algorithm: HashAlgorithm,
    text: &str,
    index: usize,
    invalid: fn(String) -> OAuthError,
) -> Result<Digest, OAuthError> {
    let bytes = decode_hash(text).ok_or_else(|| invalid(format!("hash {index} is not base64")))?;
    Digest::new(algorithm, &bytes).map_err(|_| {
        invalid(format!(
            "hash {index} has {} bytes, {algorithm} {}",
            bytes.len(),
            algorithm.output_len()
        ))
    })
}

fn query_credential(params: &Params) -> Result<CredentialRequest, OAuthError> {
    let credential = selector(
        params.get("credentialID"),
        params.get("signatureQualifier"),
        OAuthError::invalid,
    )?;
    let num_signatures: u32 = params
        .required("numSignatures")?
        .parse()
        .ok()
        .filter(|n| (1..=MAX_DOCUMENTS as u32).contains(n))
        .ok_or_else(|| {
            OAuthError::invalid(format!(
                "numSignatures is a number from 1 to {MAX_DOCUMENTS}"
            ))
        })?;
    let documents = match params.get("hashes") {
        None => {
            if params.has("hashAlgorithmOID") {
                return Err(OAuthError::invalid("hashAlgorithmOID without hashes"));
            }
            Vec::new()
        }
        Some(hashes) => {
            let algorithm = hash_algorithm(params.get("hashAlgorithmOID"), OAuthError::invalid)?;
            let texts: Vec<&str> = hashes.split(',').collect();
            if texts.len() > MAX_DOCUMENTS {
                return Err(OAuthError::invalid(format!(
                    "more than {MAX_DOCUMENTS} hashes"
                )));
            }
            let documents = texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Ok(DocumentDigest {
                        digest: digest(algorithm, t, i, OAuthError::invalid)?,
                        label: None,
                    })
                })
                .collect::<Result<Vec<_>, OAuthError>>()?;
            if documents.len() != num_signatures as usize {
                return Err(OAuthError::invalid(format!(
                    "numSignatures is {num_signatures} for {} hashes: each hash is one \
                     signature",
                    documents.len()
                )));
            }
            documents
        }
    };
    Ok(CredentialRequest {
        credential,
        num_signatures,
        documents,
        description: None,
        locations: Vec::new(),
        rich: false,
    })
}

/// One object of `authorization_details` of type `credential` (CSC API 2.2.0.0 §8.3.2).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RichDetail {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, rename = "credentialID")]
    credential_id: Option<String>,
    #[serde(default, rename = "signatureQualifier")]
    signature_qualifier: Option<String>,
    #[serde(default, rename = "documentDigests")]
    document_digests: Option<Vec<RichDocument>>,
    #[serde(default, rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    #[serde(default)]
    locations: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RichDocument {
    hash: String,
    #[serde(default)]
    label: Option<String>,
}

fn details_error(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidAuthorizationDetails, description)
}

fn rich_credential(json: &str) -> Result<CredentialRequest, OAuthError> {
    let details: Vec<RichDetail> = serde_json::from_str(json).map_err(|e| {
        details_error(format!(
            "authorization_details is not a list of credential objects: {e}"
        ))
    })?;
    let [detail] = <[RichDetail; 1]>::try_from(details).map_err(|all| {
        details_error(format!(
            "authorization_details must hold exactly one object, not {}",
            all.len()
        ))
    })?;
    if detail.kind != "credential" {
        return Err(details_error(format!(
            "authorization_details type {:?} is not supported; only credential",
            detail.kind.chars().take(40).collect::<String>()
        )));
    }
    let credential = selector(
        detail.credential_id.as_deref(),
        detail.signature_qualifier.as_deref(),
        details_error,
    )?;
    let algorithm = hash_algorithm(detail.hash_algorithm_oid.as_deref(), details_error)?;
    let listed = detail
        .document_digests
        .ok_or_else(|| details_error("documentDigests is missing".into()))?;
    if listed.is_empty() || listed.len() > MAX_DOCUMENTS {
        return Err(details_error(format!(
            "documentDigests has 1 to {MAX_DOCUMENTS} documents"
        )));
    }
    let documents = listed
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if let Some(label) = &d.label {
                printable("label", label, MAX_LABEL_LEN)
                    .map_err(|e| details_error(e.description))?;
            }
            Ok(DocumentDigest {
                digest: digest(algorithm, &d.hash, i, details_error)?,
                label: d.label.clone(),
            })
        })
        .collect::<Result<Vec<_>, OAuthError>>()?;
    let locations = detail.locations.unwrap_or_default();
    if locations.len() > 8
        || locations
            .iter()
            .any(|l| l.len() > crate::redirect::MAX_URI_LEN)
    {
        return Err(details_error("locations has at most 8 URIs".into()));
    }
    Ok(CredentialRequest {
        credential,
        num_signatures: documents.len() as u32,
        documents,
        description: None,
        locations,
        rich: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const H1: &str = "sTOgwOm-474gFj0q0x1iSNspKqbcse4IeiqlDg_HWuI";
    const H1_STANDARD: &str = "sTOgwOm+474gFj0q0x1iSNspKqbcse4IeiqlDg/HWuI=";
    const H2: &str = "c1RPZ3dPbSs0NzRnRmowcTB4MWlTTnNwS3FiY3NlNEk";

    fn parse(query: &str) -> Result<AuthorizationRequest, OAuthError> {
        AuthorizationRequest::from_params(&Params::from_form(query.as_bytes()).unwrap())
    }

    fn base() -> String {
        format!(
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb\
             &state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    #[test]
    fn a_service_request_reads() {
        let r = parse(&format!("{}&scope=service&lang=en-US", base())).unwrap();
        assert_eq!(r.client_id, "app");
        assert_eq!(r.redirect_uri.as_deref(), Some("https://app.example/cb"));
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.code_challenge.as_str(), CHALLENGE);
        assert_eq!(r.scope, Scope::Service);
        assert_eq!(r.lang.as_deref(), Some("en-US"));
    }

    #[test]
    fn a_credential_request_names_its_hashes() {
        let r = parse(&format!(
            "{}&scope=credential&credentialID=k1&numSignatures=2&hashes={H1},{H2}\
             &hashAlgorithmOID=2.16.840.1.101.3.4.2.1&description=Two+contracts",
            base()
        ))
        .unwrap();
        let Scope::Credential(c) = r.scope else {
            panic!("credential scope")
        };
        assert_eq!(c.credential, CredentialSelector::Id("k1".into()));
        assert_eq!(c.num_signatures, 2);
        assert_eq!(c.documents.len(), 2);
        assert_eq!(c.documents[0].digest.algorithm(), HashAlgorithm::Sha256);
        assert_eq!(
            c.documents[0].digest.as_bytes(),
            Base64::decode_vec(H1_STANDARD).unwrap()
        );
        assert_eq!(c.description.as_deref(), Some("Two contracts"));
        assert!(!c.rich);

        // SCAL1 may authorise a number of signatures without naming the hashes.
        let r = parse(&format!(
            "{}&scope=credential&signatureQualifier=eu_eidas_qes&numSignatures=1",
            base()
        ))
        .unwrap();
        let Scope::Credential(c) = r.scope else {
            panic!("credential scope")
        };
        assert_eq!(
            c.credential,
            CredentialSelector::Qualifier("eu_eidas_qes".into())
        );
        assert!(c.documents.is_empty());
    }

    #[test]
    fn a_rich_authorisation_request_reads() {
        let details = format!(
            r#"[{{"type":"credential","credentialID":"k1","documentDigests":[{{"hash":"{H1_STANDARD}","label":"Contract"}},{{"hash":"{H2}"}}],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1","locations":["https://sam.example"]}}]"#
        );
        let query = format!(
            "{}&authorization_details={}",
            base(),
            form_urlencoded::byte_serialize(details.as_bytes()).collect::<String>()
        );
        let r = parse(&query).unwrap();
        let Scope::Credential(c) = r.scope else {
            panic!("credential scope")
        };
        assert!(c.rich);
        assert_eq!(c.num_signatures, 2);
        assert_eq!(c.documents[0].label.as_deref(), Some("Contract"));
        assert_eq!(c.documents[1].label, None);
        assert_eq!(c.locations, ["https://sam.example"]);
        assert!(parse(&format!("{query}&scope=credential")).is_ok());
        assert_eq!(
            parse(&format!("{query}&scope=service")).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert!(parse(&format!("{query}&numSignatures=2")).is_err());
    }

    #[test]
    fn malformed_rich_details_are_invalid_authorization_details() {
        for details in [
            "not json",
            "{}",
            "[]",
            r#"[{"type":"payment"}]"#,
            r#"[{"type":"credential","credentialID":"k1","hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}]"#,
            r#"[{"type":"credential","credentialID":"k1","documentDigests":[],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}]"#,
            r#"[{"type":"credential","credentialID":"k1","documentDigests":[{"hash":"AAAA"}],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}]"#,
            r#"[{"type":"credential","documentDigests":[{"hash":"AAAA"}],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}]"#,
            r#"[{"type":"credential","credentialID":"k1","documentDigests":[{"hash":"AAAA"}]}]"#,
            r#"[{"type":"credential","credentialID":"k1","extra":1}]"#,
            r#"[{"type":"credential","credentialID":"k1"},{"type":"credential","credentialID":"k2"}]"#,
        ] {
            let query = format!(
                "{}&authorization_details={}",
                base(),
                form_urlencoded::byte_serialize(details.as_bytes()).collect::<String>()
            );
            assert_eq!(
                parse(&query).unwrap_err().code,
                ErrorCode::InvalidAuthorizationDetails,
                "{details}"
            );
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_their_reason() {
        let b = base();
        for (query, code) in [
            (
                b.replace("response_type=code", "response_type=token") + "&scope=service",
                ErrorCode::UnsupportedResponseType,
            ),
            (
                b.replace("response_type=code&", "") + "&scope=service",
                ErrorCode::InvalidRequest,
            ),
            (
                b.replace("&code_challenge_method=S256", "") + "&scope=service",
                ErrorCode::InvalidRequest,
            ),
            (format!("{b}&scope=openid"), ErrorCode::InvalidScope),
            (b.clone(), ErrorCode::InvalidRequest),
            (
                format!("{b}&scope=service&credentialID=k1"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=credential&numSignatures=1"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=credential&credentialID=k1"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=credential&credentialID=k1&numSignatures=0"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "{b}&scope=credential&credentialID=k1&numSignatures=1&hashes={H1},{H2}\
                     &hashAlgorithmOID=2.16.840.1.101.3.4.2.1"
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=credential&credentialID=k1&numSignatures=1&hashes={H1}"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "{b}&scope=credential&credentialID=k1&numSignatures=1&hashes={H1}\
                     &hashAlgorithmOID=2.16.840.1.101.3.4.2.3"
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=service&account_token=eyJ"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=service&request=eyJ"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{b}&scope=service&description={}", "d".repeat(501)),
                ErrorCode::InvalidRequest,
            ),
            (
                b.replace("state=xyz", "state=a%0Ab") + "&scope=service",
                ErrorCode::InvalidRequest,
            ),
            (
                b.replace("client_id=app", "client_id=a%20b") + "&scope=service",
                ErrorCode::InvalidRequest,
            ),
        ] {
            let e = parse(&query).unwrap_err();
            assert_eq!(e.code, code, "{query}: {e}");
        }
    }

    #[test]
    fn a_pushed_request_is_named_by_client_and_request_uri() {
        let p = Params::from_form(
            b"client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
        )
        .unwrap();
        assert_eq!(
            Authorize::from_params(&p).unwrap(),
            Authorize::Pushed(PushedReference {
                client_id: "app".into(),
                request_uri: "urn:ietf:params:oauth:request_uri:abc".into()
            })
        );
        assert_eq!(
            Authorize::pushed(&p).unwrap().map(|r| r.id().to_owned()),
            Some("abc".to_owned())
        );
        let p =
            Params::from_form(b"client_id=app&request_uri=https%3A%2F%2Fevil.example%2Fr").unwrap();
        assert_eq!(
            Authorize::from_params(&p).unwrap_err().code,
            ErrorCode::InvalidRequestUri
        );
        let p = Params::from_form(b"request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc")
            .unwrap();
        assert!(Authorize::from_params(&p).is_err());
        // Inside a pushed request, request_uri is not allowed.
        let pushed = format!("{}&scope=service&request_uri={REQUEST_URI_PREFIX}x", base());
        let p = Params::from_form(pushed.as_bytes()).unwrap();
        assert!(AuthorizationRequest::from_params(&p).is_err());
    }
}
