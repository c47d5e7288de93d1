//! Two-phase signature assembly: [`prepare`] computes the exact data to be signed
//! (DTBS/R) and a storable [`PreparedState`]; [`complete`] takes that state and the signature
//! value and writes the output. Under SCAL2 the user authorises the hash that is actually
//! signed, so for CMS and CAdES that is the digest of the DER signed attributes
//! (RFC 5652 §5.4), not the document digest.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use sam_algorithms::{Digest, HashAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm, UnixTime};

use crate::attributes::{
    CommitmentTypeIndicationValue, ContentHintsValue, EssCertIdV2, IssuerSerial,
    OtherHashAlgAndValue, SigPolicyQualifierInfo, SignaturePolicyId,
    SignaturePolicyIdentifierValue, SigningCertificateV2, hash_identifier,
};
use crate::format::Format;
use crate::signed_data::SignedData;
use crate::timestamp::Services;
use crate::{CmsError, ToBeSigned, oids};

/// How the content travels with a CMS or CAdES signature.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// The content is embedded in the signature (`eContent` present).
    Attached(&'a [u8]),
    /// The content stays outside the signature; it is hashed here.
    Detached(&'a [u8]),
    /// The content stays outside the signature and only its digest is known (the remote
    /// signing case: the business application sends the document hash).
    DetachedDigest(Digest),
}

/// A commitment type of EN 319 122-1 §5.2.3 (`id-cti-ets-*`, RFC 5126 §5.11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitmentType {
    /// `proofOfOrigin` (1).
    ProofOfOrigin,
    /// `proofOfReceipt` (2).
    ProofOfReceipt,
    /// `proofOfDelivery` (3).
    ProofOfDelivery,
    /// `proofOfSender` (4).
    ProofOfSender,
    /// `proofOfApproval` (5).
    ProofOfApproval,
    /// `proofOfCreation` (6).
    ProofOfCreation,
}

impl CommitmentType {
    /// All commitment types, in arc order.
    pub const ALL: [Self; 6] = [
        Self::ProofOfOrigin,
        Self::ProofOfReceipt,
        Self::ProofOfDelivery,
        Self::ProofOfSender,
        Self::ProofOfApproval,
        Self::ProofOfCreation,
    ];

    /// The object identifier, `1.2.840.113549.1.9.16.6.N` (RFC 5126 §5.11.1).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::ProofOfOrigin => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.1"),
            Self::ProofOfReceipt => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.2"),
            Self::ProofOfDelivery => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.3"),
            Self::ProofOfSender => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.4"),
            Self::ProofOfApproval => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.5"),
            Self::ProofOfCreation => ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.6.6"),
        }
    }

    /// The commitment type an object identifier names.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }
}

/// The content-hints attribute (RFC 2634 §2.9): what the content is, for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHints {
    /// A description, e.g. a file name; at least one character when present.
    pub description: Option<String>,
    /// The content type the hint names (usually `id-data`).
    pub content_type: ObjectIdentifier,
}

/// An explicit signature policy (CAdES extended, EPES; EN 319 122-2 §5.2, EN 319 122-1
/// §5.2.9): its identifier, the hash of the policy document and, optionally, its URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// The policy's object identifier.
    pub id: ObjectIdentifier,
    /// The digest of the policy document.
    pub hash: Digest,
    /// Where the policy document can be read.
    pub uri: Option<String>,
}

/// Everything [`prepare`] needs.
#[derive(Clone, Debug)]
pub struct SignatureRequest<'a> {
    /// The output format.
    pub format: Format,
    /// The signature algorithm (the key's algorithm with its hash and padding).
    pub algorithm: SignatureAlgorithm,
    /// The content or its digest.
    pub content: Content<'a>,
    /// The signer's certificate first, then the chain to include. A raw signature may
    /// give none and name the public key in [`Self::public_key`] instead.
    pub certificates: Vec<Certificate>,
    /// The signer's public key (DER SubjectPublicKeyInfo), when no certificate is given.
    pub public_key: Option<Vec<u8>>,
    /// The signing time: from the caller's clock, so that tests and two-phase signing are
    /// reproducible.
    pub signing_time: UnixTime,
    /// The type of the encapsulated content (default `id-data`).
    pub content_type: ObjectIdentifier,
    /// The commitment-type-indication attribute (CAdES).
    pub commitment_type: Option<CommitmentType>,
    /// The content-hints attribute (CAdES).
    pub content_hints: Option<ContentHints>,
    /// The signature-policy-identifier attribute: makes the signature CAdES extended
    /// (EPES). CAdES formats only.
    pub policy: Option<SignaturePolicy>,
}

impl<'a> SignatureRequest<'a> {
    /// A request with `id-data` content and no optional attributes.
    pub fn new(
        format: Format,
        algorithm: SignatureAlgorithm,
        content: Content<'a>,
        certificates: Vec<Certificate>,
        signing_time: UnixTime,
    ) -> Self {
        Self {
            format,
            algorithm,
            content,
            certificates,
            public_key: None,
            signing_time,
            content_type: oids::DATA,
            commitment_type: None,
            content_hints: None,
            policy: None,
        }
    }
}

/// What [`prepare`] returns: the data the key must sign and the state [`complete`] needs.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The DTBS/R: what the signer signs (and what a SAD must authorise).
    pub to_be_signed: ToBeSigned<'static>,
    /// The state to keep until the signature value arrives.
    pub state: PreparedState,
}

/// The stored half of a prepared signature. [`PreparedState::to_der`] and
/// [`PreparedState::from_der`] move it through a database; the encoding is versioned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedState(StateDer);

/// `PreparedState ::= SEQUENCE { version INTEGER (1), format UTF8String,
/// signatureAlgorithm AlgorithmIdentifier, digestAlgorithm AlgorithmIdentifier,
/// contentType OBJECT IDENTIFIER, publicKey SubjectPublicKeyInfo,
/// toBeSigned OCTET STRING, certificates SEQUENCE OF Certificate,
/// content [0] EXPLICIT OCTET STRING OPTIONAL }` — `toBeSigned` is the DER signed
/// attributes for CMS/CAdES and the document digest for raw output.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct StateDer {
    version: u8,
    format: String,
    signature_algorithm: AlgorithmIdentifierOwned,
    digest_algorithm: AlgorithmIdentifierOwned,
    content_type: ObjectIdentifier,
    public_key: SubjectPublicKeyInfoOwned,
    to_be_signed: OctetString,
    certificates: Vec<Certificate>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    content: Option<OctetString>,
}

const STATE_VERSION: u8 = 1;

impl PreparedState {
    /// The DER encoding.
    pub fn to_der(&self) -> Result<Vec<u8>, CmsError> {
        self.0.to_der().map_err(CmsError::der("prepared state"))
    }

    /// Reads a state written by [`Self::to_der`].
    pub fn from_der(der: &[u8]) -> Result<Self, CmsError> {
        let state = StateDer::from_der(der).map_err(|e| CmsError::State(e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(CmsError::State(format!(
                "version {} is not supported (expected {STATE_VERSION})",
                state.version
            )));
        }
        let this = Self(state);
        // Every field must be usable now, not at `complete`.
        this.format()?;
        this.algorithm()?;
        this.to_be_signed()?;
        Ok(this)
    }

    /// The output format.
    pub fn format(&self) -> Result<Format, CmsError> {
        self.0
            .format
            .parse()
            .map_err(|_| CmsError::State(format!("unknown format {:?}", self.0.format)))
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Result<SignatureAlgorithm, CmsError> {
        Ok(SignatureAlgorithm::from_algorithm_identifier(
            &self.0.signature_algorithm,
        )?)
    }

    fn digest_algorithm(&self) -> Result<HashAlgorithm, CmsError> {
        crate::attributes::hash_from_identifier(&self.0.digest_algorithm)
    }

    /// The digest of the document this state signs: for raw output the prepared digest
    /// itself, for CMS and CAdES the value of the `message-digest` signed attribute (RFC 5652
    /// §11.2). What a caller compares with the document digests a user authorised, where
    /// the DTBS/R is the digest of the signed attributes instead.
    pub fn content_digest(&self) -> Result<Digest, CmsError> {
        let digest_algorithm = self.digest_algorithm()?;
        let bytes = self.0.to_be_signed.as_bytes();
        if self.format()? == Format::Raw {
            return Ok(Digest::new(digest_algorithm, bytes)?);
        }
        let attributes = Attributes::from_der(bytes)
            .map_err(|e| CmsError::State(format!("signed attributes: {e}")))?;
        let mut found = attributes.iter().filter(|a| a.oid == oids::MESSAGE_DIGEST);
        let (Some(attribute), None) = (found.next(), found.next()) else {
            return Err(CmsError::State(
                "the signed attributes have no single message-digest".into(),
            ));
        };
        let mut values = attribute.values.iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(CmsError::State(
                "the message-digest attribute has no single value".into(),
            ));
        };
        let octets = value
            .decode_as::<OctetString>()
            .map_err(|e| CmsError::State(format!("message-digest: {e}")))?;
        Ok(Digest::new(digest_algorithm, octets.as_bytes())?)
    }

    /// The DTBS/R this state was prepared for.
    pub fn to_be_signed(&self) -> Result<ToBeSigned<'static>, CmsError> {
        let algorithm = self.algorithm()?;
        let digest_algorithm = self.digest_algorithm()?;
        let bytes = self.0.to_be_signed.as_bytes();
        if self.format()? == Format::Raw {
            return Ok(ToBeSigned::Digest(Digest::new(digest_algorithm, bytes)?));
        }
        Ok(match algorithm {
            SignatureAlgorithm::MlDsa(_) => ToBeSigned::Message {
                data: bytes.to_vec().into(),
                bound_by: digest_algorithm,
            },
            _ => ToBeSigned::Digest(digest_algorithm.digest(bytes)),
        })
    }
}

/// Computes the DTBS/R and the state for `request`.
pub fn prepare(request: &SignatureRequest<'_>) -> Result<Prepared, CmsError> {
    let algorithm = request.algorithm;
    let public_key = signer_public_key(request)?;
    let key_spec = sam_keys::public_key_spec(
        &public_key
            .to_der()
            .map_err(CmsError::der("signer public key"))?,
    )?;
    if key_spec.algorithm() != algorithm.key_algorithm() {
        return Err(CmsError::Input(format!(
            "the signer's key is {key_spec}, which cannot make {algorithm} signatures"
        )));
    }
    check_key_fits(key_spec, algorithm)?;
    let digest_algorithm = digest_algorithm(request)?;
    let format = request.format;

    if format.is_cades() {
        check_cades_certificate(request, key_spec)?;
    } else if request.policy.is_some()
        || request.commitment_type.is_some()
        || request.content_hints.is_some()
    {
        return Err(CmsError::Input(format!(
            "{format} output carries no CAdES attributes (policy, commitment type, content \
             hints)"
        )));
    }

    let (content_digest, attached) = match request.content {
        Content::Attached(data) => (digest_algorithm.digest(data), Some(data)),
        Content::Detached(data) => (digest_algorithm.digest(data), None),
        Content::DetachedDigest(d) => (d, None),
    };
    if format == Format::Raw && attached.is_some() {
        return Err(CmsError::Input(
            "a raw signature cannot carry its content; use Content::Detached".into(),
        ));
    }

    let to_be_signed_bytes = if format == Format::Raw {
        content_digest.as_bytes().to_vec()
    } else {
        signed_attributes(request, &content_digest)?
            .to_der()
            .map_err(CmsError::der("signed attributes"))?
    };
    let state = PreparedState(StateDer {
        version: STATE_VERSION,
        format: format.to_string(),
        signature_algorithm: algorithm.algorithm_identifier()?,
        digest_algorithm: hash_identifier(digest_algorithm),
        content_type: request.content_type,
        public_key,
        to_be_signed: octets(to_be_signed_bytes)?,
        certificates: request.certificates.clone(),
        content: attached.map(|c| octets(c.to_vec())).transpose()?,
    });
    Ok(Prepared {
        to_be_signed: state.to_be_signed()?,
        state,
    })
}

/// Assembles the output from a prepared state and the signature value over its DTBS/R.
///
/// The signature value is verified against the signer's public key first, so that a
/// wrong value from an external signer is reported here and never written out. For
/// `cades-b-t` and above, `services` must provide a time-stamp authority.
pub fn complete(
    state: &PreparedState,
    signature: &[u8],
    services: &Services<'_>,
) -> Result<Vec<u8>, CmsError> {
    let algorithm = state.algorithm()?;
    let to_be_signed = state.to_be_signed()?;
    let spki = state
        .0
        .public_key
        .to_der()
        .map_err(CmsError::der("signer public key"))?;
    let spec = sam_keys::public_key_spec(&spki)?;
    sam_keys::verify(
        &spki,
        spec,
        padding_of(algorithm),
        &to_be_signed.key_input(),
        signature,
    )
    .map_err(|e| CmsError::Signer(format!("the signature value does not verify: {e}")))?;

    let format = state.format()?;
    if format == Format::Raw {
        return Ok(signature.to_vec());
    }

    let signed_attrs = Attributes::from_der(state.0.to_be_signed.as_bytes())
        .map_err(CmsError::der("signed attributes"))?;
    let signer = state
        .0
        .certificates
        .first()
        .ok_or_else(|| CmsError::State("no signer certificate".into()))?;
    let tbs = signer.tbs_certificate();
    // The stored certificate must still be the one prepared for.
    if tbs.subject_public_key_info() != &state.0.public_key {
        return Err(CmsError::State(
            "the signer certificate does not hold the prepared public key".into(),
        ));
    }
    if let Some(ess) = signed_attrs
        .iter()
        .find(|a| a.oid == oids::SIGNING_CERTIFICATE_V2)
        .and_then(|a| a.values.iter().next())
    {
        crate::verify::check_signing_certificate(ess, signer)
            .map_err(|e| CmsError::State(e.to_string()))?;
    }

    let mut unsigned = Vec::new();
    let mut all_certificates = state.0.certificates.clone();
    let mut crls = None;
    if format.has_validation_data() && services.revocation.is_none() {
        return Err(CmsError::Input(format!(
            "{format} needs a source of revocation values"
        )));
    }
    if format.has_time_stamp() {
        let tsa = services
            .time_stamp_authority
            .ok_or_else(|| CmsError::Input(format!("{format} needs a time-stamp authority")))?;
        let token = tsa.time_stamp(signature)?;
        unsigned.push(attribute(
            oids::SIGNATURE_TIME_STAMP,
            token.as_any().clone(),
        )?);
        if let Some(source) = services.revocation.filter(|_| format.has_validation_data()) {
            for cert in token.certificates()? {
                if !all_certificates.contains(&cert) {
                    all_certificates.push(cert);
                }
            }
            let values = crate::revocation::validation_data(&all_certificates, source)?;
            crls = Some(crate::revocation::to_revocation_info(values)?);
        }
    }

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: state.0.digest_algorithm.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: state.0.signature_algorithm.clone(),
        signature: octets(signature.to_vec())?,
        unsigned_attrs: if unsigned.is_empty() {
            None
        } else {
            Some(SetOfVec::try_from(unsigned).map_err(CmsError::der("unsigned attributes"))?)
        },
    };

    let mut certificates = Vec::new();
    for cert in &all_certificates {
        certificates.push(cms::cert::CertificateChoices::Certificate(cert.clone()));
    }
    let econtent = state
        .0
        .content
        .as_ref()
        .map(Any::encode_from)
        .transpose()
        .map_err(CmsError::der("content"))?;
    // RFC 5652 §5.1: version 1 when every SignerInfo is version 1, the content is id-data
    // and there are no attribute certificates; otherwise 3.
    let version = if state.0.content_type == oids::DATA {
        CmsVersion::V1
    } else {
        CmsVersion::V3
    };
    let signed_data = SignedData {
        version,
        digest_algorithms: SetOfVec::try_from(vec![state.0.digest_algorithm.clone()])
            .map_err(CmsError::der("digest algorithms"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: state.0.content_type,
            econtent,
        },
        certificates: Some(
            CertificateSet::try_from(certificates).map_err(CmsError::der("certificates"))?,
        ),
        crls,
        signer_infos: SignerInfos::try_from(vec![signer_info])
            .map_err(CmsError::der("signer infos"))?,
    };
    ContentInfo {
        content_type: oids::SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(CmsError::der("signed data"))?,
    }
    .to_der()
    .map_err(CmsError::der("content info"))
}

/// The RSA padding a signature algorithm implies (ignored for other keys).
pub fn padding_of(algorithm: SignatureAlgorithm) -> RsaPadding {
    match algorithm {
        SignatureAlgorithm::RsaPss(_) => RsaPadding::Pss,
        _ => RsaPadding::Pkcs1v15,
    }
}

fn signer_public_key(
    request: &SignatureRequest<'_>,
) -> Result<SubjectPublicKeyInfoOwned, CmsError> {
    if let Some(cert) = request.certificates.first() {
        let from_cert = cert.tbs_certificate().subject_public_key_info().clone();
        if let Some(given) = &request.public_key {
            let cert_der = from_cert
                .to_der()
                .map_err(CmsError::der("certificate public key"))?;
            if &cert_der != given {
                return Err(CmsError::Input(
                    "the public key does not match the signer certificate".into(),
                ));
            }
        }
        return Ok(from_cert);
    }
    if request.format != Format::Raw {
        return Err(CmsError::Input(format!(
            "{} output needs the signer certificate",
            request.format
        )));
    }
    let der = request.public_key.as_ref().ok_or_else(|| {
        CmsError::Input("a raw signature needs the signer certificate or public key".into())
    })?;
    SubjectPublicKeyInfoOwned::from_der(der).map_err(CmsError::der("signer public key"))
}

fn check_key_fits(spec: KeySpec, algorithm: SignatureAlgorithm) -> Result<(), CmsError> {
    if let (KeySpec::MlDsa(have), SignatureAlgorithm::MlDsa(want)) = (spec, algorithm)
        && have != want
    {
        return Err(CmsError::Input(format!(
            "the signer's key is {spec}, which cannot make {algorithm} signatures"
        )));
    }
    Ok(())
}

/// The CMS digest algorithm: the signature's hash for RSA and ECDSA; for ML-DSA the hash of
/// the given digest, or SHA-512 (RFC 9882 §3.3: SHA-512 MUST be supported).
fn digest_algorithm(request: &SignatureRequest<'_>) -> Result<HashAlgorithm, CmsError> {
    let given = match request.content {
        Content::DetachedDigest(d) => Some(d.algorithm()),
        _ => None,
    };
    match (request.algorithm.hash_algorithm(), given) {
        (Some(h), Some(g)) if h != g => Err(CmsError::Input(format!(
            "the document digest is {g}, but {} signs {h} digests",
            request.algorithm
        ))),
        (Some(h), _) => Ok(h),
        (None, Some(g)) => Ok(g),
        (None, None) => Ok(HashAlgorithm::Sha512),
    }
}

/// Seed 001: CAdES with an ML-DSA key only when the certificate's issuer (CA) signs with
/// RSA or ECDSA.
fn check_cades_certificate(request: &SignatureRequest<'_>, spec: KeySpec) -> Result<(), CmsError> {
    let Some(cert) = request.certificates.first() else {
        return Err(CmsError::Input("CAdES needs the signer certificate".into()));
    };
    if let KeySpec::MlDsa(_) = spec {
        let ca = SignatureAlgorithm::from_algorithm_identifier(cert.signature_algorithm());
        match ca {
            Ok(SignatureAlgorithm::RsaPkcs1v15(_))
            | Ok(SignatureAlgorithm::RsaPss(_))
            | Ok(SignatureAlgorithm::Ecdsa(_)) => {}
            Ok(other) => {
                return Err(CmsError::Unsupported(format!(
                    "CAdES with an ML-DSA key needs a certificate from an RSA or EC CA; this \
                     one is signed with {other}"
                )));
            }
            Err(_) => {
                return Err(CmsError::Unsupported(format!(
                    "CAdES with an ML-DSA key needs a certificate from an RSA or EC CA; this \
                     one is signed with {}",
                    cert.signature_algorithm().oid
                )));
            }
        }
    }
    Ok(())
}

fn signed_attributes(
    request: &SignatureRequest<'_>,
    content_digest: &Digest,
) -> Result<Attributes, CmsError> {
    let mut attrs = vec![
        attribute(
            oids::CONTENT_TYPE,
            Any::encode_from(&request.content_type).map_err(CmsError::der("content type"))?,
        )?,
        attribute(
            oids::MESSAGE_DIGEST,
            Any::encode_from(&octets(content_digest.as_bytes().to_vec())?)
                .map_err(CmsError::der("message digest"))?,
        )?,
        attribute(
            oids::SIGNING_TIME,
            Any::encode_from(&signing_time(request.signing_time)?)
                .map_err(CmsError::der("signing time"))?,
        )?,
    ];
    if request.format.is_cades() {
        let signer = request
            .certificates
            .first()
            .ok_or_else(|| CmsError::Input("CAdES needs the signer certificate".into()))?;
        let ess_hash = content_digest.algorithm();
        attrs.push(attribute(
            oids::SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate_v2(signer, ess_hash)?)
                .map_err(CmsError::der("signing-certificate-v2"))?,
        )?);
        if let Some(commitment) = request.commitment_type {
            let value = CommitmentTypeIndicationValue {
                commitment_type_id: commitment.oid(),
                commitment_type_qualifier: None,
            };
            attrs.push(attribute(
                oids::COMMITMENT_TYPE_INDICATION,
                Any::encode_from(&value).map_err(CmsError::der("commitment type"))?,
            )?);
        }
        if let Some(hints) = &request.content_hints {
            if hints.description.as_deref() == Some("") {
                return Err(CmsError::Input(
                    "a content-hints description must not be empty".into(),
                ));
            }
            let description = hints
                .description
                .as_deref()
                .map(der::asn1::Utf8StringRef::new)
                .transpose()
                .map_err(CmsError::der("content hints"))?;
            let value = ContentHintsValue {
                content_description: description,
                content_type: hints.content_type,
            };
            attrs.push(attribute(
                oids::CONTENT_HINTS,
                Any::encode_from(&value).map_err(CmsError::der("content hints"))?,
            )?);
        }
        if let Some(policy) = &request.policy {
            attrs.push(attribute(
                oids::SIGNATURE_POLICY_IDENTIFIER,
                Any::encode_from(&policy_value(policy)?)
                    .map_err(CmsError::der("signature policy"))?,
            )?);
        }
    }
    SetOfVec::try_from(attrs).map_err(CmsError::der("signed attributes"))
}

/// The ESS signing-certificate-v2 value for `cert` under `hash` (RFC 5035 §3, with the
/// issuer and serial number, as EN 319 122-1 §5.2.2.3 recommends).
pub fn signing_certificate_v2(
    cert: &Certificate,
    hash: HashAlgorithm,
) -> Result<SigningCertificateV2, CmsError> {
    let der = cert.to_der().map_err(CmsError::der("signer certificate"))?;
    let tbs = cert.tbs_certificate();
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: EssCertIdV2::hash_identifier_for(hash),
            cert_hash: octets(hash.digest(&der).as_bytes().to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
        policies: None,
    })
}

fn policy_value(policy: &SignaturePolicy) -> Result<SignaturePolicyIdentifierValue, CmsError> {
    let qualifiers = policy
        .uri
        .as_deref()
        .map(|uri| {
            SigPolicyQualifierInfo::uri(uri)
                .map(|q| vec![q])
                .map_err(|e| CmsError::Input(format!("signature policy URI {uri:?}: {e}")))
        })
        .transpose()?;
    Ok(SignaturePolicyIdentifierValue::SignaturePolicyId(
        SignaturePolicyId {
            sig_policy_id: policy.id,
            sig_policy_hash: OtherHashAlgAndValue {
                hash_algorithm: hash_identifier(policy.hash.algorithm()),
                hash_value: octets(policy.hash.as_bytes().to_vec())?,
            },
            sig_policy_qualifiers: qualifiers,
        },
    ))
}

/// RFC 5652 §11.3: UTCTime from 1950 to 2049, GeneralizedTime otherwise.
fn signing_time(at: UnixTime) -> Result<Time, CmsError> {
    let secs = u64::try_from(at.as_secs())
        .map_err(|_| CmsError::Input(format!("signing time {at} is before 1970")))?;
    let duration = core::time::Duration::from_secs(secs);
    if at.civil().year < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(duration).map_err(CmsError::der("signing time"))?,
        ))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(duration)
                .map_err(CmsError::der("signing time"))?,
        ))
    }
}

pub(crate) fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(CmsError::der("attribute"))?,
    })
}

pub(crate) fn octets(bytes: Vec<u8>) -> Result<OctetString, CmsError> {
    OctetString::new(bytes).map_err(CmsError::der("octet string"))
}
