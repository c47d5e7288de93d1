//! `SignedData` as RFC 5652 §5.1 defines it, with `RevocationInfoChoices` as RFC 5652 §10.2.1
//! defines them. The `cms` crate (0.3.0-rc.0) models `OtherRevocationInfoFormat` with an
//! `AlgorithmIdentifier` where the standard has a bare `OBJECT IDENTIFIER`, so an OCSP
//! response in `crls` (RFC 5940) would be written wrongly and a standard one could not be
//! read; this wire type fixes that and otherwise reuses the `cms` types.

use core::cmp::Ordering;

use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignerInfos};
use const_oid::ObjectIdentifier;
use der::asn1::SetOfVec;
use der::{Any, Choice, DerOrd, Encode, Sequence, ValueOrd};
use spki::AlgorithmIdentifierOwned;
use x509_cert::crl::CertificateList;

/// `SignedData ::= SEQUENCE { version CMSVersion, digestAlgorithms DigestAlgorithmIdentifiers,
/// encapContentInfo EncapsulatedContentInfo, certificates [0] IMPLICIT CertificateSet
/// OPTIONAL, crls [1] IMPLICIT RevocationInfoChoices OPTIONAL, signerInfos SignerInfos }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignedData {
    /// The syntax version.
    pub version: CmsVersion,
    /// Every digest algorithm a signer uses.
    pub digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    /// The content (or its type only, when detached).
    pub encap_content_info: EncapsulatedContentInfo,
    /// Certificates.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub certificates: Option<CertificateSet>,
    /// CRLs and other revocation information.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub crls: Option<SetOfVec<RevocationInfoChoice>>,
    /// The signers.
    pub signer_infos: SignerInfos,
}

/// `RevocationInfoChoice ::= CHOICE { crl CertificateList, other [1] IMPLICIT
/// OtherRevocationInfoFormat }`.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum RevocationInfoChoice {
    /// A CRL.
    Crl(CertificateList),
    /// Another format, e.g. an OCSP response (RFC 5940 §3).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Other(OtherRevocationInfoFormat),
}

impl ValueOrd for RevocationInfoChoice {
    fn value_cmp(&self, other: &Self) -> der::Result<Ordering> {
        self.to_der()?.der_cmp(&other.to_der()?)
    }
}

/// `OtherRevocationInfoFormat ::= SEQUENCE { otherRevInfoFormat OBJECT IDENTIFIER,
/// otherRevInfo ANY DEFINED BY otherRevInfoFormat }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OtherRevocationInfoFormat {
    /// The format, e.g. `id-ri-ocsp-response`.
    pub other_rev_info_format: ObjectIdentifier,
    /// The value, e.g. a DER `OCSPResponse`.
    pub other_rev_info: Any,
}
