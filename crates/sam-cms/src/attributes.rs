//! The ASN.1 types of the CAdES signed attributes that the `cms` crate does not define:
//! ESS signing-certificate-v2 (RFC 5035 §3), content-hints (RFC 2634 §2.9),
//! commitment-type-indication and signature-policy-identifier (ETSI EN 319 122-1 §5.2.3,
//! §5.2.9; the ASN.1 module of EN 319 122-1 Annex A).

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Any, Choice, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

use sam_algorithms::HashAlgorithm;

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
/// policies SEQUENCE OF PolicyInformation OPTIONAL }` (RFC 5035 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first, then optionally others.
    pub certs: Vec<EssCertIdV2>,
    /// Certificate policies (never written by `sam`; kept when read).
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
/// certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }` (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// The hash of the certificate; absent means SHA-256 (the DEFAULT, which DER omits):
    /// see [`EssCertIdV2::hash`] and [`EssCertIdV2::hash_identifier_for`].
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole DER certificate.
    pub cert_hash: OctetString,
    /// The certificate's issuer and serial number.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

impl EssCertIdV2 {
    /// The hash algorithm, with the DEFAULT applied.
    pub fn hash(&self) -> Result<HashAlgorithm, crate::CmsError> {
        self.hash_algorithm
            .as_ref()
            .map_or(Ok(HashAlgorithm::Sha256), hash_from_identifier)
    }

    /// The field's value for `hash`: absent for SHA-256 (DER, X.690 §11.5).
    pub fn hash_identifier_for(hash: HashAlgorithm) -> Option<AlgorithmIdentifierOwned> {
        (hash != HashAlgorithm::Sha256).then(|| hash_identifier(hash))
    }
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
/// (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer, as a directory name.
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// The `AlgorithmIdentifier` of a hash, with absent parameters (RFC 5754 §2, RFC 8702 §2).
pub fn hash_identifier(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: None,
    }
}

/// The hash an `AlgorithmIdentifier` names; parameters must be absent or NULL.
pub fn hash_from_identifier(
    id: &AlgorithmIdentifierOwned,
) -> Result<HashAlgorithm, crate::CmsError> {
    if let Some(p) = &id.parameters
        && !p.is_null()
    {
        return Err(crate::CmsError::Input(format!(
            "hash algorithm {} carries parameters",
            id.oid
        )));
    }
    Ok(HashAlgorithm::from_oid(&id.oid)?)
}

/// `ContentHints ::= SEQUENCE { contentDescription UTF8String (SIZE (1..MAX)) OPTIONAL,
/// contentType ContentType }` (RFC 2634 §2.9).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ContentHintsValue<'a> {
    /// A description of the content, for a person.
    #[asn1(optional = "true")]
    pub content_description: Option<Utf8StringRef<'a>>,
    /// The type of the content.
    pub content_type: ObjectIdentifier,
}

/// `CommitmentTypeIndication ::= SEQUENCE { commitmentTypeId CommitmentTypeIdentifier,
/// commitmentTypeQualifier SEQUENCE SIZE (1..MAX) OF CommitmentTypeQualifier OPTIONAL }`
/// (EN 319 122-1 §5.2.3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CommitmentTypeIndicationValue {
    /// The commitment type.
    pub commitment_type_id: ObjectIdentifier,
    /// Qualifiers (never written by `sam`; kept when read).
    #[asn1(optional = "true")]
    pub commitment_type_qualifier: Option<Vec<Any>>,
}

/// `SignaturePolicyIdentifier ::= CHOICE { signaturePolicyId SignaturePolicyId,
/// signaturePolicyImplied NULL }` (EN 319 122-1 §5.2.9.1).
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum SignaturePolicyIdentifierValue {
    /// An explicit policy.
    SignaturePolicyId(SignaturePolicyId),
    /// The policy is implied by the context.
    SignaturePolicyImplied(der::asn1::Null),
}

/// `SignaturePolicyId ::= SEQUENCE { sigPolicyId SigPolicyId, sigPolicyHash SigPolicyHash,
/// sigPolicyQualifiers SEQUENCE SIZE (1..MAX) OF SigPolicyQualifierInfo OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignaturePolicyId {
    /// The policy's object identifier.
    pub sig_policy_id: ObjectIdentifier,
    /// The hash of the policy document.
    pub sig_policy_hash: OtherHashAlgAndValue,
    /// Qualifiers; `sam` writes the policy's URI (`id-spq-ets-uri`) when one is given.
    #[asn1(optional = "true")]
    pub sig_policy_qualifiers: Option<Vec<SigPolicyQualifierInfo>>,
}

/// `OtherHashAlgAndValue ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier,
/// hashValue OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OtherHashAlgAndValue {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash value.
    pub hash_value: OctetString,
}

/// `SigPolicyQualifierInfo ::= SEQUENCE { sigPolicyQualifierId OBJECT IDENTIFIER,
/// sigQualifier ANY DEFINED BY sigPolicyQualifierId }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigPolicyQualifierInfo {
    /// The qualifier's type.
    pub sig_policy_qualifier_id: ObjectIdentifier,
    /// The qualifier (an `IA5String` URI for `id-spq-ets-uri`).
    pub sig_qualifier: Any,
}

impl SigPolicyQualifierInfo {
    /// The `id-spq-ets-uri` qualifier.
    pub fn uri(uri: &str) -> Result<Self, der::Error> {
        Ok(Self {
            sig_policy_qualifier_id: crate::oids::SPQ_ETS_URI,
            sig_qualifier: Any::encode_from(&Ia5String::new(uri)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode, Tagged};

    use super::*;

    fn cert_id(hash: HashAlgorithm) -> EssCertIdV2 {
        EssCertIdV2 {
            hash_algorithm: EssCertIdV2::hash_identifier_for(hash),
            cert_hash: OctetString::new(hash.digest(b"certificate").as_bytes()).unwrap(),
            issuer_serial: None,
        }
    }

    #[test]
    fn sha256_is_the_default_and_der_omits_it() {
        let der = cert_id(HashAlgorithm::Sha256).to_der().unwrap();
        // SEQUENCE { OCTET STRING (32) } only.
        assert_eq!(der[..4], [0x30, 34, 0x04, 32]);
        let back = EssCertIdV2::from_der(&der).unwrap();
        assert_eq!(back.hash().unwrap(), HashAlgorithm::Sha256);

        let der = cert_id(HashAlgorithm::Sha384).to_der().unwrap();
        let back = EssCertIdV2::from_der(&der).unwrap();
        assert_eq!(back.hash().unwrap(), HashAlgorithm::Sha384);
        assert!(back.hash_algorithm.is_some());
    }

    #[test]
    fn hash_identifiers_take_absent_or_null_parameters_only() {
        let mut id = hash_identifier(HashAlgorithm::Sha512);
        assert_eq!(hash_from_identifier(&id).unwrap(), HashAlgorithm::Sha512);
        id.parameters = Some(Any::null());
        assert_eq!(hash_from_identifier(&id).unwrap(), HashAlgorithm::Sha512);
        id.parameters = Some(Any::encode_from(&1u8).unwrap());
        assert!(hash_from_identifier(&id).is_err());
        id.oid = crate::oids::DATA;
        id.parameters = None;
        assert!(hash_from_identifier(&id).is_err());
    }

    #[test]
    fn policy_uri_qualifier_is_an_ia5_string() {
        let q = SigPolicyQualifierInfo::uri("http://policy.example/p.pdf").unwrap();
        assert_eq!(q.sig_policy_qualifier_id, crate::oids::SPQ_ETS_URI);
        assert_eq!(q.sig_qualifier.tag(), der::Tag::Ia5String);
        assert!(SigPolicyQualifierInfo::uri("http://é.example").is_err());
    }
}
