//! The verifier for everything `sam-cms` writes: CMS `SignedData` (RFC 5652 §5.6) and the
//! CAdES baseline and extended attributes (ETSI EN 319 122-1/-2).
//!
//! It checks the signature over the DER signed attributes, the message-digest against the
//! content or its digest, the content-type, the ESS signing-certificate-v2 hash and issuer
//! serial against the included signer certificate (OpenSSL 3.0 does not), and every
//! signature time-stamp (imprint, signature, TSA purpose); it reports the level found.
//!
//! It does **not** build or validate certificate paths, nor check revocation: a relying
//! party does that with its own trust anchors (`openssl cms -verify -CAfile`, pyHanko).
//! It accepts DER only: signed attributes are re-encoded to be checked, so a BER input
//! whose attributes are not in DER order fails.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use sam_algorithms::signature::RSA_ENCRYPTION;
use sam_algorithms::{Digest, HashAlgorithm, SignatureAlgorithm, UnixTime};

use crate::attributes::{
    CommitmentTypeIndicationValue, SignaturePolicyIdentifierValue, SigningCertificateV2,
    hash_from_identifier,
};
use crate::prepare::{CommitmentType, SignaturePolicy, padding_of};
use crate::signed_data::SignedData;
use crate::timestamp::TimeStampToken;
use crate::{CmsError, oids};

/// The content of a detached signature, as the relying party has it.
#[derive(Clone, Copy, Debug)]
pub enum Detached<'a> {
    /// No detached content: the signature must be attached.
    None,
    /// The content.
    Data(&'a [u8]),
    /// Only the content's digest (it must use the signature's digest algorithm).
    Digest(Digest),
}

/// The CAdES level (EN 319 122-1 §6) a signature reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Level {
    /// CMS only: no ESS signing-certificate-v2 or no signing-time.
    Cms,
    /// CAdES-B-B.
    CadesBB,
    /// CAdES-B-T: B-B with a valid signature time-stamp.
    CadesBT,
    /// CAdES-B-LT: B-T whose signer and TSA chains are all included, each certificate
    /// shown unrevoked by an included CRL or OCSP response of its issuer.
    CadesBLT,
}

impl core::fmt::Display for Level {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Cms => "CMS",
            Self::CadesBB => "CAdES-B-B",
            Self::CadesBT => "CAdES-B-T",
            Self::CadesBLT => "CAdES-B-LT",
        })
    }
}

/// A checked signature time-stamp.
#[derive(Clone, Debug)]
pub struct VerifiedTimeStamp {
    /// The time the TSA asserts.
    pub time: UnixTime,
    /// The TSA's certificate.
    pub tsa: Certificate,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// The token (DER `ContentInfo`), for other validators.
    pub token: Vec<u8>,
}

/// What a successful verification found.
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    /// The level reached.
    pub level: Level,
    /// Whether a signature policy makes it CAdES extended (EPES, EN 319 122-2).
    pub extended: bool,
    /// The signature algorithm.
    pub algorithm: SignatureAlgorithm,
    /// The signer's certificate.
    pub signer: Certificate,
    /// The signature value of the signer info (what a signature time-stamp covers).
    pub signature_value: Vec<u8>,
    /// Every certificate in the signature.
    pub certificates: Vec<Certificate>,
    /// The claimed signing time.
    pub signing_time: Option<UnixTime>,
    /// The signature time-stamps, checked.
    pub time_stamps: Vec<VerifiedTimeStamp>,
    /// The attached content, when there is one.
    pub content: Option<Vec<u8>>,
    /// The commitment type, when indicated.
    pub commitment_type: Option<ObjectIdentifier>,
    /// The signature policy, when one is named.
    pub policy: Option<SignaturePolicy>,
}

/// Verifies a DER `ContentInfo` holding CMS `SignedData` with one signer.
pub fn verify(der: &[u8], detached: &Detached<'_>) -> Result<VerifiedSignature, CmsError> {
    let content_info = ContentInfo::from_der(der).map_err(CmsError::der("ContentInfo"))?;
    if content_info.content_type != oids::SIGNED_DATA {
        return Err(CmsError::verification(format!(
            "the content type is {}, not signed data",
            content_info.content_type
        )));
    }
    let signed: SignedData = content_info
        .content
        .decode_as()
        .map_err(CmsError::der("SignedData"))?;
    let checked = check_signed_data(&signed, detached)?;

    let attrs = &checked.signed_attributes;
    let signing_time = attrs
        .single(oids::SIGNING_TIME)?
        .map(|v| {
            v.decode_as::<Time>()
                .map_err(CmsError::der("signing-time"))
                .and_then(|t| time_to_unix(&t))
        })
        .transpose()?;
    let ess = attrs.single(oids::SIGNING_CERTIFICATE_V2)?;
    if let Some(ess) = ess {
        check_signing_certificate(ess, &checked.signer)?;
    }
    let commitment_type = attrs
        .single(oids::COMMITMENT_TYPE_INDICATION)?
        .map(|v| {
            v.decode_as::<CommitmentTypeIndicationValue>()
                .map(|c| c.commitment_type_id)
                .map_err(CmsError::der("commitment-type-indication"))
        })
        .transpose()?;
    let policy = attrs
        .single(oids::SIGNATURE_POLICY_IDENTIFIER)?
        .map(read_policy)
        .transpose()?
        .flatten();
    let extended = attrs.single(oids::SIGNATURE_POLICY_IDENTIFIER)?.is_some();

    let mut time_stamps = Vec::new();
    let mut pool = checked.certificates.clone();
    let mut leaves = vec![checked.signer.clone()];
    if let Some(unsigned) = &checked.signer_info.unsigned_attrs {
        for attr in unsigned
            .iter()
            .filter(|a| a.oid == oids::SIGNATURE_TIME_STAMP)
        {
            for value in attr.values.iter() {
                let token_der = value.to_der().map_err(CmsError::der("time-stamp token"))?;
                let token = TimeStampToken::from_der(&token_der)?;
                let tsa = token.verify_for(checked.signer_info.signature.as_bytes())?;
                for cert in token.certificates()? {
                    if !pool.contains(&cert) {
                        pool.push(cert);
                    }
                }
                leaves.push(tsa.clone());
                time_stamps.push(VerifiedTimeStamp {
                    time: token.info().gen_time()?,
                    tsa,
                    policy: token.info().policy,
                    token: token_der,
                });
            }
        }
    }

    let revocation = signed
        .crls
        .as_ref()
        .map(crate::revocation::from_revocation_info)
        .transpose()?
        .unwrap_or_default();
    // A revoked signer or TSA is an error whatever the level; full coverage makes B-LT.
    let mut covered = !revocation.is_empty();
    for leaf in &leaves {
        covered &= chain_covered(leaf, &pool, &revocation)?;
    }

    let level = if ess.is_none() || signing_time.is_none() {
        Level::Cms
    } else if time_stamps.is_empty() {
        Level::CadesBB
    } else if covered {
        Level::CadesBLT
    } else {
        Level::CadesBT
    };
    Ok(VerifiedSignature {
        level,
        extended,
        algorithm: checked.algorithm,
        signature_value: checked.signer_info.signature.as_bytes().to_vec(),
        signer: checked.signer,
        certificates: checked.certificates,
        signing_time,
        time_stamps,
        content: checked.content,
        commitment_type,
        policy,
    })
}

/// The signed attributes, indexed; each attribute type may appear once (RFC 5652 §5.3).
pub(crate) struct SignedAttributes(Vec<(ObjectIdentifier, Vec<Any>)>);

impl SignedAttributes {
    fn read(info: &SignerInfo) -> Result<Self, CmsError> {
        let attrs = info
            .signed_attrs
            .as_ref()
            .ok_or_else(|| CmsError::verification("the signer info has no signed attributes"))?;
        let mut out: Vec<(ObjectIdentifier, Vec<Any>)> = Vec::new();
        for attr in attrs.iter() {
            if out.iter().any(|(oid, _)| *oid == attr.oid) {
                return Err(CmsError::verification(format!(
                    "the signed attribute {} appears twice",
                    attr.oid
                )));
            }
            out.push((attr.oid, attr.values.iter().cloned().collect()));
        }
        Ok(Self(out))
    }

    /// The value of a single-valued attribute, if present.
    fn single(&self, oid: ObjectIdentifier) -> Result<Option<&Any>, CmsError> {
        match self.0.iter().find(|(o, _)| *o == oid) {
            None => Ok(None),
            Some((_, values)) if values.len() == 1 => Ok(values.first()),
            Some(_) => Err(CmsError::verification(format!(
                "the signed attribute {oid} must have exactly one value"
            ))),
        }
    }
}

/// A signer whose signature, content type and message digest verified.
pub(crate) struct CheckedSigner {
    pub(crate) signer: Certificate,
    pub(crate) signer_info: SignerInfo,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) signed_attributes: SignedAttributes,
}

/// RFC 5652 §5.6 for the single signer of `signed`.
pub(crate) fn check_signed_data(
    signed: &SignedData,
    detached: &Detached<'_>,
) -> Result<CheckedSigner, CmsError> {
    let mut infos = signed.signer_infos.0.iter();
    let (Some(info), None) = (infos.next(), infos.next()) else {
        return Err(CmsError::verification(
            "exactly one signer info is expected",
        ));
    };
    let certificates: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let signer = find_signer(&certificates, &info.sid)?.clone();

    let digest_algorithm = hash_from_identifier(&info.digest_alg)?;
    if !signed
        .digest_algorithms
        .iter()
        .any(|a| a.oid == info.digest_alg.oid)
    {
        return Err(CmsError::verification(
            "the signer's digest algorithm is not listed in SignedData.digestAlgorithms",
        ));
    }

    let encap = &signed.encap_content_info;
    let attached = encap
        .econtent
        .as_ref()
        .map(|c| c.decode_as::<OctetString>().map(|o| o.as_bytes().to_vec()))
        .transpose()
        .map_err(CmsError::der("encapsulated content"))?;
    let content_digest = match (&attached, detached) {
        (Some(content), Detached::None) => digest_algorithm.digest(content),
        (Some(_), _) => {
            return Err(CmsError::verification(
                "the signature is attached; no detached content is expected",
            ));
        }
        (None, Detached::None) => {
            return Err(CmsError::verification(
                "the signature is detached; give the content or its digest",
            ));
        }
        (None, Detached::Data(data)) => digest_algorithm.digest(data),
        (None, Detached::Digest(d)) => {
            if d.algorithm() != digest_algorithm {
                return Err(CmsError::verification(format!(
                    "the content digest is {}, the signature uses {digest_algorithm}",
                    d.algorithm()
                )));
            }
            *d
        }
    };

    let attrs = SignedAttributes::read(info)?;
    let content_type = attrs
        .single(oids::CONTENT_TYPE)?
        .ok_or_else(|| CmsError::verification("the content-type attribute is missing"))?
        .decode_as::<ObjectIdentifier>()
        .map_err(CmsError::der("content-type"))?;
    if content_type != encap.econtent_type {
        return Err(CmsError::verification(
            "the content-type attribute differs from the encapsulated content type",
        ));
    }
    let message_digest = attrs
        .single(oids::MESSAGE_DIGEST)?
        .ok_or_else(|| CmsError::verification("the message-digest attribute is missing"))?
        .decode_as::<OctetString>()
        .map_err(CmsError::der("message-digest"))?;
    let claimed = Digest::new(digest_algorithm, message_digest.as_bytes())
        .map_err(|_| CmsError::verification("the message-digest has the wrong length"))?;
    if claimed != content_digest {
        return Err(CmsError::verification(
            "the message digest does not match the content",
        ));
    }

    let algorithm = signature_algorithm(info, digest_algorithm)?;
    let spki = signer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(CmsError::der("signer public key"))?;
    let spec = sam_keys::public_key_spec(&spki)?;
    if spec.algorithm() != algorithm.key_algorithm() {
        return Err(CmsError::verification(format!(
            "the signer's key is {spec}, the signature is {algorithm}"
        )));
    }
    let signed_bytes = info
        .signed_attrs
        .as_ref()
        .map(Encode::to_der)
        .transpose()
        .map_err(CmsError::der("signed attributes"))?
        .unwrap_or_default();
    let input = match algorithm {
        SignatureAlgorithm::MlDsa(_) => sam_keys::Input::Message(&signed_bytes),
        _ => sam_keys::Input::Digest(digest_algorithm.digest(&signed_bytes)),
    };
    sam_keys::verify(
        &spki,
        spec,
        padding_of(algorithm),
        &input,
        info.signature.as_bytes(),
    )
    .map_err(|e| CmsError::verification(format!("the signature does not verify: {e}")))?;

    Ok(CheckedSigner {
        signer,
        signer_info: info.clone(),
        algorithm,
        certificates,
        content: attached,
        signed_attributes: attrs,
    })
}

/// The signature algorithm of a signer info. OpenSSL names PKCS#1 v1.5 signatures by the key
/// algorithm (`rsaEncryption`, RFC 5754 §3.2 allows it); the hash then is the digest
/// algorithm. Otherwise the signature's hash must be the digest algorithm.
fn signature_algorithm(
    info: &SignerInfo,
    digest_algorithm: HashAlgorithm,
) -> Result<SignatureAlgorithm, CmsError> {
    if info.signature_algorithm.oid == RSA_ENCRYPTION {
        return Ok(SignatureAlgorithm::RsaPkcs1v15(digest_algorithm));
    }
    let algorithm = SignatureAlgorithm::from_algorithm_identifier(&info.signature_algorithm)?;
    if let Some(h) = algorithm.hash_algorithm()
        && h != digest_algorithm
    {
        return Err(CmsError::verification(format!(
            "the signature algorithm hashes with {h}, the digest algorithm is {digest_algorithm}"
        )));
    }
    Ok(algorithm)
}

fn find_signer<'c>(
    certificates: &'c [Certificate],
    sid: &SignerIdentifier,
) -> Result<&'c Certificate, CmsError> {
    let found = certificates.iter().find(|cert| {
        let tbs = cert.tbs_certificate();
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                matches!(tbs.get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
            }
        }
    });
    found.ok_or_else(|| CmsError::verification("the signer's certificate is not included"))
}

/// RFC 5035 §5.4 (as updated): the first ESSCertIDv2 is the signer's certificate.
pub(crate) fn check_signing_certificate(value: &Any, signer: &Certificate) -> Result<(), CmsError> {
    let ess: SigningCertificateV2 = value
        .decode_as()
        .map_err(CmsError::der("signing-certificate-v2"))?;
    let first = ess.certs.first().ok_or_else(|| {
        CmsError::verification("the signing-certificate-v2 attribute names no certificate")
    })?;
    let hash = first.hash()?;
    let der = signer
        .to_der()
        .map_err(CmsError::der("signer certificate"))?;
    let expected = hash.digest(&der);
    let claimed = Digest::new(hash, first.cert_hash.as_bytes()).map_err(|_| {
        CmsError::verification("the signing-certificate-v2 hash has the wrong length")
    })?;
    if claimed != expected {
        return Err(CmsError::verification(
            "the ESS signing-certificate-v2 hash does not match the signer certificate",
        ));
    }
    if let Some(issuer_serial) = &first.issuer_serial {
        let tbs = signer.tbs_certificate();
        let issuer_named = issuer_serial
            .issuer
            .iter()
            .any(|n| matches!(n, GeneralName::DirectoryName(name) if name == tbs.issuer()));
        if !issuer_named || issuer_serial.serial_number != *tbs.serial_number() {
            return Err(CmsError::verification(
                "the ESS signing-certificate-v2 issuer and serial do not match the signer \
                 certificate",
            ));
        }
    }
    Ok(())
}

fn read_policy(value: &Any) -> Result<Option<SignaturePolicy>, CmsError> {
    let policy: SignaturePolicyIdentifierValue = value
        .decode_as()
        .map_err(CmsError::der("signature-policy-identifier"))?;
    let SignaturePolicyIdentifierValue::SignaturePolicyId(id) = policy else {
        return Ok(None);
    };
    let hash = hash_from_identifier(&id.sig_policy_hash.hash_algorithm)?;
    let uri = id
        .sig_policy_qualifiers
        .iter()
        .flatten()
        .find(|q| q.sig_policy_qualifier_id == oids::SPQ_ETS_URI)
        .map(|q| {
            q.sig_qualifier
                .decode_as::<der::asn1::Ia5String>()
                .map(|s| s.to_string())
                .map_err(CmsError::der("signature policy URI"))
        })
        .transpose()?;
    Ok(Some(SignaturePolicy {
        id: id.sig_policy_id,
        hash: Digest::new(hash, id.sig_policy_hash.hash_value.as_bytes())?,
        uri,
    }))
}

fn time_to_unix(t: &Time) -> Result<UnixTime, CmsError> {
    let secs = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| CmsError::verification("the signing time is out of range"))?;
    UnixTime::from_secs(secs)
        .ok_or_else(|| CmsError::verification("the signing time is out of range"))
}

/// The commitment type a verified signature indicates, if `sam` knows it.
pub fn known_commitment_type(found: &VerifiedSignature) -> Option<CommitmentType> {
    found
        .commitment_type
        .as_ref()
        .and_then(CommitmentType::from_oid)
}

/// Checks a signature over `tbs` (a certificate, CRL or OCSP response body) under
/// `signer`'s public key, with the algorithm `algorithm` names.
pub(crate) fn check_signature_by(
    tbs: &[u8],
    algorithm: &spki::AlgorithmIdentifierOwned,
    signature: &[u8],
    signer: &Certificate,
) -> Result<(), CmsError> {
    let algorithm = SignatureAlgorithm::from_algorithm_identifier(algorithm)?;
    let spki = signer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(CmsError::der("public key"))?;
    let spec = sam_keys::public_key_spec(&spki)?;
    if spec.algorithm() != algorithm.key_algorithm() {
        return Err(CmsError::verification(format!(
            "a {spec} key cannot have made a {algorithm} signature"
        )));
    }
    let input = match algorithm.hash_algorithm() {
        Some(h) => sam_keys::Input::Digest(h.digest(tbs)),
        None => sam_keys::Input::Message(tbs),
    };
    sam_keys::verify(&spki, spec, padding_of(algorithm), &input, signature)
        .map_err(|e| CmsError::verification(format!("signature: {e}")))
}

/// Whether `subject` was issued by `issuer`: names chain and `issuer`'s key signed it.
pub(crate) fn issued_by(subject: &Certificate, issuer: &Certificate) -> bool {
    let tbs = subject.tbs_certificate();
    tbs.issuer() == issuer.tbs_certificate().subject()
        && tbs
            .to_der()
            .ok()
            .zip(subject.signature().as_bytes())
            .is_some_and(|(der, sig)| {
                check_signature_by(&der, subject.signature_algorithm(), sig, issuer).is_ok()
            })
}

/// Whether a certificate is self-issued and self-signed (a trust anchor candidate).
pub(crate) fn is_self_signed(cert: &Certificate) -> bool {
    issued_by(cert, cert)
}

/// Whether every certificate from `leaf` up to a self-signed root is in `pool` and shown
/// unrevoked by `values`; a revoked one is an error.
fn chain_covered(
    leaf: &Certificate,
    pool: &[Certificate],
    values: &crate::revocation::RevocationValues,
) -> Result<bool, CmsError> {
    use crate::revocation::{Coverage, coverage, issuer_of, subject};
    let mut cert = leaf;
    // RFC 5280 paths are short; a bound keeps a hostile certificate loop finite.
    for _ in 0..16 {
        if is_self_signed(cert) {
            return Ok(true);
        }
        let Some(issuer) = issuer_of(cert, pool) else {
            return Ok(false);
        };
        match coverage(cert, issuer, values) {
            Coverage::Revoked => {
                return Err(CmsError::verification(format!(
                    "the included revocation values show {} revoked",
                    subject(cert)
                )));
            }
            Coverage::NotCovered => return Ok(false),
            Coverage::Good => cert = issuer,
        }
    }
    Ok(false)
}
