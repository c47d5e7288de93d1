//! The DER structures a PKCS#11 token needs around its raw outputs.
//!
//! - `DigestInfo` (RFC 8017 §9.2 step 2), with NULL hash parameters, as every PKCS #1 v1.5
//!   verifier reconstructs it.
//! - `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3) from the
//!   `r ‖ s` that `CKM_ECDSA` returns (PKCS #11 v2.40 §2.3.1).
//! - `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) for RSA (`RSAPublicKey`, RFC 8017 App. A.1.1,
//!   under `rsaEncryption` with NULL parameters) and EC (the uncompressed point under
//!   `id-ecPublicKey` with the named curve, RFC 5480 §2).

use der::asn1::{AnyRef, BitString, Null, OctetString, OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use sam_algorithms::signature::{EC_PUBLIC_KEY, RSA_ENCRYPTION};
use sam_algorithms::{Digest, EcCurve};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::TokenError;

fn der_error(what: &'static str) -> impl Fn(der::Error) -> TokenError {
    move |e| TokenError::crypto(what, e)
}

#[derive(Sequence)]
struct DigestInfo<'a> {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: &'a OctetStringRef,
}

/// The DER `DigestInfo` of `digest`.
pub(crate) fn digest_info(digest: &Digest) -> Result<Vec<u8>, TokenError> {
    let fail = der_error("DigestInfo encoding");
    DigestInfo {
        digest_algorithm: AlgorithmIdentifierOwned {
            oid: digest.algorithm().oid(),
            parameters: Some(der::asn1::Any::from(Null)),
        },
        digest: OctetStringRef::new(digest.as_bytes()).map_err(&fail)?,
    }
    .to_der()
    .map_err(fail)
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// The DER `ECDSA-Sig-Value` of a `CKM_ECDSA` output `r ‖ s` (two halves of equal length).
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, TokenError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * 66 {
        return Err(TokenError::crypto(
            "ECDSA signature encoding",
            format!("a raw signature of {} bytes is not r ‖ s", raw.len()),
        ));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let fail = der_error("ECDSA signature encoding");
    EcdsaSigValue {
        r: UintRef::new(r).map_err(&fail)?,
        s: UintRef::new(s).map_err(&fail)?,
    }
    .to_der()
    .map_err(fail)
}

#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The SPKI of an RSA key from its big-endian modulus and exponent.
pub(crate) fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, TokenError> {
    let fail = der_error("RSA public key encoding");
    let pkcs1 = RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(&fail)?,
        public_exponent: UintRef::new(exponent).map_err(&fail)?,
    }
    .to_der()
    .map_err(&fail)?;
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(der::asn1::Any::from(Null)),
        },
        subject_public_key: BitString::from_bytes(&pkcs1).map_err(&fail)?,
    }
    .to_der()
    .map_err(fail)
}

/// The SPKI of an EC key from `CKA_EC_POINT`, which PKCS #11 v2.40 §2.3.3 defines as the DER
/// OCTET STRING of the point (some modules give the bare point; both are accepted).
pub(crate) fn ec_spki(curve: EcCurve, ec_point: &[u8]) -> Result<Vec<u8>, TokenError> {
    let fail = der_error("EC public key encoding");
    let point = match OctetString::from_der(ec_point) {
        Ok(wrapped) if wrapped.as_bytes().first() == Some(&0x04) => wrapped.as_bytes().to_vec(),
        _ if ec_point.first() == Some(&0x04) => ec_point.to_vec(),
        _ => {
            return Err(TokenError::crypto(
                "EC public key encoding",
                "CKA_EC_POINT is not an uncompressed point",
            ));
        }
    };
    let curve_oid = curve.oid().to_der().map_err(&fail)?;
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: EC_PUBLIC_KEY,
            parameters: Some(AnyRef::from_der(&curve_oid).map_err(&fail)?.into()),
        },
        subject_public_key: BitString::from_bytes(&point).map_err(&fail)?,
    }
    .to_der()
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sam_algorithms::HashAlgorithm;

    #[test]
    fn digest_info_matches_rfc_8017_prefixes() {
        // RFC 8017 §9.2 note 1: the SHA-256 DigestInfo prefix.
        let d = HashAlgorithm::Sha256.digest(b"abc");
        let info = digest_info(&d).unwrap();
        assert_eq!(
            &info[..19],
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20
            ]
        );
        assert_eq!(&info[19..], d.as_bytes());
    }

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        // Leading zero bytes are dropped and a high bit gets a 0x00 pad.
        let mut raw = vec![0u8; 64];
        raw[1] = 0x7f;
        raw[32] = 0x80;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 31, 0x7f]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
        assert!(ecdsa_raw_to_der(&[]).is_err());
    }
}
