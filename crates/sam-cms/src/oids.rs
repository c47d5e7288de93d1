//! Object identifiers used by CMS (RFC 5652), ESS (RFC 2634, RFC 5035), CAdES
//! (ETSI EN 319 122-1/-2), time-stamping (RFC 3161) and revocation data (RFC 5940, RFC 6960).

use const_oid::ObjectIdentifier as Oid;

/// `id-data` (RFC 5652 §4).
pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// `id-signedData` (RFC 5652 §5.1).
pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// `id-contentType` (RFC 5652 §11.1).
pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` (RFC 5652 §11.2).
pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// `id-signingTime` (RFC 5652 §11.3).
pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// `id-aa-contentHint` (RFC 2634 §2.9).
pub const CONTENT_HINTS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.4");
/// `id-aa-signatureTimeStampToken` (RFC 3161 Appendix A; EN 319 122-1 §5.3).
pub const SIGNATURE_TIME_STAMP: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// `id-aa-ets-sigPolicyId` (EN 319 122-1 §5.2.9).
pub const SIGNATURE_POLICY_IDENTIFIER: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.15");
/// `id-aa-ets-commitmentType` (EN 319 122-1 §5.2.3).
pub const COMMITMENT_TYPE_INDICATION: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.16");
/// `id-aa-signingCertificateV2` (RFC 5035 §3).
pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// `id-aa-signingCertificate` (RFC 2634 §5.4, SHA-1 only; recognised, never written).
pub const SIGNING_CERTIFICATE_V1: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// `id-ct-TSTInfo` (RFC 3161 §2.4.2).
pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-spq-ets-uri`: a signature policy qualifier giving the policy's URI (EN 319 122-1 §5.2.9).
pub const SPQ_ETS_URI: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.5.1");
/// `id-ri-ocsp-response`: an OCSP response as other revocation information (RFC 5940 §3).
pub const RI_OCSP_RESPONSE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.16.2");
/// `id-kp-timeStamping` (RFC 3161 §2.3).
pub const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
