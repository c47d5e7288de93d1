//! The OCSP types `sam-cms` needs (RFC 6960 §4.1, §4.2 on the `der` 0.8 stack; the
//! `x509-ocsp` crate is still on `der` 0.7): a request for one certificate with a nonce
//! (RFC 8954), and the checks of a response.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::serial_number::SerialNumber;

use sam_algorithms::HashAlgorithm;

use crate::CmsError;
use crate::attributes::{hash_from_identifier, hash_identifier};
use crate::prepare::octets;

/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
pub const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// `id-pkix-ocsp-nonce` (RFC 8954 §2.1).
pub const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// `id-kp-OCSPSigning` (RFC 6960 §4.2.2.2).
pub const KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// `id-ad-ocsp` (RFC 5280 §4.2.2.1).
pub const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");

/// `CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
/// issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    /// The hash of the two issuer hashes.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the issuer's DER name.
    pub issuer_name_hash: OctetString,
    /// The hash of the issuer's public key (the BIT STRING's value).
    pub issuer_key_hash: OctetString,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

impl CertId {
    /// The identifier of `cert` issued by `issuer`, hashed with `hash`.
    pub fn new(
        cert: &Certificate,
        issuer: &Certificate,
        hash: HashAlgorithm,
    ) -> Result<Self, CmsError> {
        let name = issuer
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(CmsError::der("issuer name"))?;
        let key = issuer
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        Ok(Self {
            hash_algorithm: hash_identifier(hash),
            issuer_name_hash: octets(hash.digest(&name).as_bytes().to_vec())?,
            issuer_key_hash: octets(hash.digest(key).as_bytes().to_vec())?,
            serial_number: cert.tbs_certificate().serial_number().clone(),
        })
    }

    /// Whether this identifier names `cert` issued by `issuer` (under its own hash).
    pub fn names(&self, cert: &Certificate, issuer: &Certificate) -> bool {
        hash_from_identifier(&self.hash_algorithm)
            .and_then(|h| Self::new(cert, issuer, h))
            .is_ok_and(|own| own == *self)
    }
}

/// `OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT
/// Signature OPTIONAL }` (never signed by `sam`).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspRequest {
    /// The request.
    pub tbs_request: TbsRequest,
}

/// `TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1]
/// EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2]
/// EXPLICIT Extensions OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsRequest {
    /// The certificates asked about.
    pub request_list: Vec<Request>,
    /// The nonce extension.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub request_extensions: Option<Extensions>,
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions
/// OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Request {
    /// The certificate asked about.
    pub req_cert: CertId,
}

/// `OCSPResponseStatus ::= ENUMERATED` (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[repr(u32)]
#[allow(missing_docs)]
pub enum OcspResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// `OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus, responseBytes [0]
/// EXPLICIT ResponseBytes OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspResponse {
    /// The status.
    pub response_status: OcspResponseStatus,
    /// The response, when successful.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub response_bytes: Option<ResponseBytes>,
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseBytes {
    /// `id-pkix-ocsp-basic`.
    pub response_type: ObjectIdentifier,
    /// The DER `BasicOCSPResponse`.
    pub response: OctetString,
}

/// `BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm
/// AlgorithmIdentifier, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate
/// OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct BasicOcspResponse {
    /// What is signed.
    pub tbs_response_data: ResponseData,
    /// The signature algorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature.
    pub signature: BitString,
    /// The responder's certificate, for a delegated responder.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

/// `ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID
/// ResponderID, producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
/// responseExtensions [1] EXPLICIT Extensions OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseData {
    /// v1 (0) when present.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub version: Option<u8>,
    /// The responder: `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }`, kept
    /// as read (the signature check identifies the responder by its key).
    pub responder_id: der::Any,
    /// When the response was signed.
    pub produced_at: GeneralizedTime,
    /// One status per certificate asked about.
    pub responses: Vec<SingleResponse>,
    /// The nonce, echoed.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub response_extensions: Option<Extensions>,
}

/// `SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate
/// GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1]
/// EXPLICIT Extensions OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SingleResponse {
    /// The certificate.
    pub cert_id: CertId,
    /// Its status.
    pub cert_status: CertStatus,
    /// When the status was known to be correct.
    pub this_update: GeneralizedTime,
    /// When newer information will be available.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub single_extensions: Option<Extensions>,
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
/// unknown [2] IMPLICIT UnknownInfo }`.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum CertStatus {
    /// Not revoked.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    /// Revoked.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    /// Not known to the responder.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0]
/// EXPLICIT CRLReason OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevokedInfo {
    /// When.
    pub revocation_time: GeneralizedTime,
    /// Why (kept, not interpreted).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub revocation_reason: Option<der::Any>,
}

/// A request for the status of `cert` with a 16-byte `nonce`.
pub fn request(
    cert: &Certificate,
    issuer: &Certificate,
    nonce: [u8; 16],
) -> Result<Vec<u8>, CmsError> {
    let nonce_value = octets(
        octets(nonce.to_vec())?
            .to_der()
            .map_err(CmsError::der("OCSP nonce"))?,
    )?;
    OcspRequest {
        tbs_request: TbsRequest {
            request_list: vec![Request {
                req_cert: CertId::new(cert, issuer, HashAlgorithm::Sha256)?,
            }],
            request_extensions: Some(vec![x509_cert::ext::Extension {
                extn_id: OCSP_NONCE,
                critical: false,
                extn_value: nonce_value,
            }]),
        },
    }
    .to_der()
    .map_err(CmsError::der("OCSP request"))
}

/// The status a checked OCSP response gives a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Good at the response's time.
    Good,
    /// Revoked.
    Revoked,
    /// The responder does not know it.
    Unknown,
}

/// Checks a DER `OCSPResponse` about `cert` issued by `issuer`: successful, basic, signed by
/// the issuer or by a responder the issuer delegated to (`id-kp-OCSPSigning`), with a single
/// response for this certificate; the nonce, when given, must be echoed.
pub fn check_response(
    response_der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<[u8; 16]>,
) -> Result<Status, CmsError> {
    let response = OcspResponse::from_der(response_der)
        .map_err(|e| CmsError::Revocation(format!("not an OCSP response: {e}")))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(CmsError::Revocation(format!(
            "the OCSP responder answered {:?}",
            response.response_status
        )));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| CmsError::Revocation("the OCSP response is empty".into()))?;
    if bytes.response_type != OCSP_BASIC {
        return Err(CmsError::Revocation(format!(
            "OCSP response type {} is not supported",
            bytes.response_type
        )));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| CmsError::Revocation(format!("not a basic OCSP response: {e}")))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(CmsError::der("OCSP response data"))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| CmsError::Revocation("the OCSP signature has unused bits".into()))?;
    let signed_by_issuer =
        crate::verify::check_signature_by(&tbs, &basic.signature_algorithm, signature, issuer)
            .is_ok();
    if !signed_by_issuer {
        let delegated = basic.certs.iter().flatten().find(|responder| {
            is_delegated_responder(responder, issuer)
                && crate::verify::check_signature_by(
                    &tbs,
                    &basic.signature_algorithm,
                    signature,
                    responder,
                )
                .is_ok()
        });
        if delegated.is_none() {
            return Err(CmsError::Revocation(
                "the OCSP response is not signed by the issuer or a responder it delegated to"
                    .into(),
            ));
        }
    }
    if let Some(nonce) = nonce
        && let Some(extensions) = &basic.tbs_response_data.response_extensions
        && let Some(echo) = extensions.iter().find(|e| e.extn_id == OCSP_NONCE)
    {
        let expected = octets(nonce.to_vec())?
            .to_der()
            .map_err(CmsError::der("OCSP nonce"))?;
        if echo.extn_value.as_bytes() != expected.as_slice() {
            return Err(CmsError::Revocation(
                "the OCSP response's nonce differs from the request's".into(),
            ));
        }
    }
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| r.cert_id.names(cert, issuer))
        .ok_or_else(|| {
            CmsError::Revocation("the OCSP response does not name the certificate".into())
        })?;
    Ok(match single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(_) => Status::Revoked,
        CertStatus::Unknown(_) => Status::Unknown,
    })
}

/// RFC 6960 §4.2.2.2: issued (and signed) by the CA, and for OCSP signing.
fn is_delegated_responder(responder: &Certificate, issuer: &Certificate) -> bool {
    let tbs = responder.tbs_certificate();
    if tbs.issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    let for_ocsp = matches!(
        tbs.get_extension::<ExtendedKeyUsage>(),
        Ok(Some((_, eku))) if eku.0.contains(&KP_OCSP_SIGNING)
    );
    let signed = tbs
        .to_der()
        .ok()
        .zip(responder.signature().as_bytes())
        .is_some_and(|(tbs_der, signature)| {
            crate::verify::check_signature_by(
                &tbs_der,
                responder.signature_algorithm(),
                signature,
                issuer,
            )
            .is_ok()
        });
    for_ocsp && signed
}
