//! PKCS#10 certification requests (RFC 2986) for a key held anywhere: the request info is
//! built here, the signer signs its DTBS/R, [`PreparedCsr::complete`] checks and assembles.
//!
//! # Does a CSR need a SAD?
//!
//! Building and checking a request here needs none: `sam-cms` is a library and does not know
//! where a signature comes from. In the SAM service, **yes**: the signature over the
//! `CertificationRequestInfo` is a use of the user's key, and SECURITY.md invariant 1 allows
//! no use of a user key without a verified SAD for that key, that user and that hash. So Get
//! CSR runs through the same authorisation as any signature, with the digest of the request
//! info as the DTBS/R (the device shows "certificate request for <subject>"). What makes this
//! cheap to accept for the user is that `sam` builds the request info itself from the key's
//! own public key and the subject, so the client cannot choose the signed bytes, and a DER
//! `SEQUENCE` cannot be mistaken for CMS signed attributes (a `SET`) or a SAD.

use core::str::FromStr;

use der::asn1::BitString;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use sam_algorithms::{HashAlgorithm, SignatureAlgorithm};

use crate::prepare::padding_of;
use crate::{CmsError, Signer, ToBeSigned};

/// A request info waiting for its signature.
#[derive(Clone, Debug)]
pub struct PreparedCsr {
    info: CertReqInfo,
    info_der: Vec<u8>,
    algorithm: SignatureAlgorithm,
    to_be_signed: ToBeSigned<'static>,
}

/// Builds the request info for `subject` (an RFC 4514 string such as
/// `CN=Alice Example,O=Example,C=BE`) and the DER SubjectPublicKeyInfo `public_key`.
pub fn prepare_csr(
    subject: &str,
    public_key: &[u8],
    algorithm: SignatureAlgorithm,
) -> Result<PreparedCsr, CmsError> {
    let subject = Name::from_str(subject).map_err(|e| {
        CmsError::Input(format!("subject {subject:?} is not an RFC 4514 name: {e}"))
    })?;
    let public_key =
        SubjectPublicKeyInfoOwned::from_der(public_key).map_err(CmsError::der("public key"))?;
    let spec = sam_keys::public_key_spec(
        public_key
            .to_der()
            .map_err(CmsError::der("public key"))?
            .as_slice(),
    )?;
    if spec.algorithm() != algorithm.key_algorithm() {
        return Err(CmsError::Input(format!(
            "the key is {spec}, which cannot make {algorithm} signatures"
        )));
    }
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key,
        attributes: Default::default(),
    };
    let info_der = info
        .to_der()
        .map_err(CmsError::der("certification request info"))?;
    let to_be_signed = to_be_signed(algorithm, &info_der);
    Ok(PreparedCsr {
        info,
        info_der,
        algorithm,
        to_be_signed,
    })
}

fn to_be_signed(algorithm: SignatureAlgorithm, info_der: &[u8]) -> ToBeSigned<'static> {
    match algorithm.hash_algorithm() {
        Some(h) => ToBeSigned::Digest(h.digest(info_der)),
        None => ToBeSigned::Message {
            data: info_der.to_vec().into(),
            bound_by: HashAlgorithm::Sha512,
        },
    }
}

impl PreparedCsr {
    /// What the key must sign.
    pub fn to_be_signed(&self) -> &ToBeSigned<'static> {
        &self.to_be_signed
    }

    /// The DER request, after checking `signature` against the request's public key.
    pub fn complete(self, signature: &[u8]) -> Result<Vec<u8>, CmsError> {
        let spki = self
            .info
            .public_key
            .to_der()
            .map_err(CmsError::der("public key"))?;
        let spec = sam_keys::public_key_spec(&spki)?;
        sam_keys::verify(
            &spki,
            spec,
            padding_of(self.algorithm),
            &self.to_be_signed.key_input(),
            signature,
        )
        .map_err(|e| CmsError::Signer(format!("the signature value does not verify: {e}")))?;
        CertReq {
            info: self.info,
            algorithm: self.algorithm.algorithm_identifier()?,
            signature: BitString::from_bytes(signature).map_err(CmsError::der("signature"))?,
        }
        .to_der()
        .map_err(CmsError::der("certification request"))
    }

    /// The DER `CertificationRequestInfo`.
    pub fn info_der(&self) -> &[u8] {
        &self.info_der
    }
}

/// The one-call form: prepare, sign with `signer`, complete.
pub fn certification_request(
    subject: &str,
    public_key: &[u8],
    algorithm: SignatureAlgorithm,
    signer: &dyn Signer,
) -> Result<Vec<u8>, CmsError> {
    let prepared = prepare_csr(subject, public_key, algorithm)?;
    let signature = signer.sign(prepared.to_be_signed())?;
    prepared.complete(&signature)
}

/// Reads a DER request and checks its self-signature; returns it.
pub fn verify_csr(der: &[u8]) -> Result<CertReq, CmsError> {
    let req = CertReq::from_der(der).map_err(CmsError::der("certification request"))?;
    let algorithm = SignatureAlgorithm::from_algorithm_identifier(&req.algorithm)?;
    let info_der = req
        .info
        .to_der()
        .map_err(CmsError::der("certification request info"))?;
    let spki = req
        .info
        .public_key
        .to_der()
        .map_err(CmsError::der("public key"))?;
    let spec = sam_keys::public_key_spec(&spki)?;
    let signature = req
        .signature
        .as_bytes()
        .ok_or_else(|| CmsError::verification("the request's signature has unused bits"))?;
    sam_keys::verify(
        &spki,
        spec,
        padding_of(algorithm),
        &to_be_signed(algorithm, &info_der).key_input(),
        signature,
    )
    .map_err(|e| CmsError::verification(format!("the request's signature does not verify: {e}")))?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use sam_algorithms::{EcCurve, KeySpec, MlDsaLevel};
    use sam_keys::SigningKey;

    use super::*;
    use crate::LocalSigner;

    #[test]
    fn requests_for_ecdsa_and_ml_dsa_keys_verify_and_name_the_subject() {
        for (spec, algorithm) in [
            (
                KeySpec::Ecdsa(EcCurve::P384),
                SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
            ),
            (
                KeySpec::MlDsa(MlDsaLevel::Level2),
                SignatureAlgorithm::MlDsa(MlDsaLevel::Level2),
            ),
        ] {
            let key = SigningKey::generate(spec).unwrap();
            let der = certification_request(
                "CN=Alice Example,O=Example,C=BE",
                &key.public_key_der().unwrap(),
                algorithm,
                &LocalSigner::new(&key, algorithm),
            )
            .unwrap();
            let req = verify_csr(&der).unwrap();
            assert_eq!(
                req.info.subject.to_string(),
                "CN=Alice Example,O=Example,C=BE"
            );
            assert_eq!(
                req.info.public_key.to_der().unwrap(),
                key.public_key_der().unwrap()
            );
            // One changed byte of the request info: refused.
            let mut changed = der.clone();
            let at = changed.len() / 3;
            changed[at] ^= 0x20;
            assert!(verify_csr(&changed).is_err());
        }
    }

    #[test]
    fn bad_subjects_wrong_algorithms_and_foreign_signatures_are_refused() {
        let key = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        let public = key.public_key_der().unwrap();
        let ecdsa = SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256);
        assert!(prepare_csr("not a name", &public, ecdsa).is_err());
        let rsa = SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256);
        assert!(
            prepare_csr("CN=x", &public, rsa)
                .unwrap_err()
                .to_string()
                .contains("cannot make")
        );
        let other = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        let prepared = prepare_csr("CN=x", &public, ecdsa).unwrap();
        let foreign = LocalSigner::new(&other, ecdsa)
            .sign(prepared.to_be_signed())
            .unwrap();
        assert!(matches!(
            prepared.complete(&foreign),
            Err(CmsError::Signer(_))
        ));
    }
}
