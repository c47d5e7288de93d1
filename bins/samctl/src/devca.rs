//! `samctl dev-ca issue`: the development CA that `samd --dev` made (`dev-ca/ca.pem`,
//! `dev-ca/ca.key`, a P-256 key) issues a certificate for a PKCS#10 request (RFC 2986) whose
//! signature it has checked: an end-entity certificate (RFC 5280) with basicConstraints
//! `cA=FALSE`, keyUsage digitalSignature and nonRepudiation (a signing certificate), and key
//! identifiers. For development only: a real deployment gets certificates from its CA.

use std::path::Path;
use std::time::Duration;

use der::{Decode, DecodePem, Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use sam_algorithms::{RsaPadding, SignatureAlgorithm};
use sam_keys::Input;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use zeroize::Zeroizing;

use crate::CliError;

/// An end-entity signing certificate issued by `issuer`.
struct SigningCertificate {
    issuer: Name,
    subject: Name,
    /// The issuer's subject key identifier, which the authority key identifier must repeat
    /// for validators to find the issuer (RFC 5280 §4.2.1.1).
    issuer_key_id: Option<der::asn1::OctetString>,
}

impl BuilderProfile for SigningCertificate {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        extensions.push(
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(subject, &extensions)?,
        );
        extensions.push(
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
                .to_extension(subject, &extensions)?,
        );
        extensions.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(subject, &extensions)?);
        let authority = match &self.issuer_key_id {
            Some(id) => AuthorityKeyIdentifier {
                key_identifier: Some(id.clone()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            None => AuthorityKeyIdentifier::try_from(issuer_spk)?,
        };
        extensions.push(authority.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}

fn file_error(what: &str, path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::File {
        what: what.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Reads a PKCS#10 request, PEM or DER.
fn read_request(path: &Path) -> Result<CertReq, CliError> {
    let bytes = std::fs::read(path).map_err(|e| file_error("certification request", path, e))?;
    if bytes.starts_with(b"-----BEGIN") {
        let text = String::from_utf8_lossy(&bytes);
        CertReq::from_pem(text.as_bytes()).map_err(|e| file_error("certification request", path, e))
    } else {
        CertReq::from_der(&bytes).map_err(|e| file_error("certification request", path, e))
    }
}

/// Checks the request's signature under its own key (proof of possession).
fn check_request(csr: &CertReq) -> Result<(), CliError> {
    let refused = |why: String| CliError::Refused(format!("the certification request: {why}"));
    let info = csr.info.to_der().map_err(|e| refused(e.to_string()))?;
    let spki = csr
        .info
        .public_key
        .to_der()
        .map_err(|e| refused(e.to_string()))?;
    let spec = sam_keys::public_key_spec(&spki).map_err(|e| refused(e.to_string()))?;
    let algorithm = SignatureAlgorithm::from_algorithm_identifier(&csr.algorithm)
        .map_err(|e| refused(e.to_string()))?;
    let padding = match algorithm {
        SignatureAlgorithm::RsaPss(_) => RsaPadding::Pss,
        _ => RsaPadding::Pkcs1v15,
    };
    let input = match algorithm.hash_algorithm() {
        Some(hash) => Input::Digest(hash.digest(&info)),
        None => Input::Message(&info),
    };
    sam_keys::verify(&spki, spec, padding, &input, csr.signature.raw_bytes())
        .map_err(|_| refused("its signature does not verify under its key".into()))
}

/// Issues a certificate for the request in `csr_path`, valid `days` days, by the development
/// CA in `ca_dir`; returns it as PEM.
pub(crate) fn issue(ca_dir: &Path, csr_path: &Path, days: u32) -> Result<String, CliError> {
    let ca_pem_path = ca_dir.join("ca.pem");
    let ca_key_path = ca_dir.join("ca.key");
    let ca_pem =
        std::fs::read(&ca_pem_path).map_err(|e| file_error("CA certificate", &ca_pem_path, e))?;
    let ca = Certificate::from_pem(&ca_pem)
        .map_err(|e| file_error("CA certificate", &ca_pem_path, e))?;
    let key_pem = Zeroizing::new(
        std::fs::read_to_string(&ca_key_path).map_err(|e| file_error("CA key", &ca_key_path, e))?,
    );
    let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes())
        .map_err(|e| file_error("CA key", &ca_key_path, e))?;
    let key_der = Zeroizing::new(key_der);
    let ca_key = SigningKey::from_pkcs8_der(&key_der)
        .map_err(|e| file_error("CA key (a P-256 PKCS#8 key)", &ca_key_path, e))?;

    let csr = read_request(csr_path)?;
    check_request(&csr)?;

    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| CliError::Crypto(format!("random: {e}")))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| CliError::Crypto(e.to_string()))?;
    let validity = Validity::from_now(Duration::from_secs(u64::from(days) * 86_400))
        .map_err(|e| CliError::Crypto(e.to_string()))?;
    let issuer_key_id = ca
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(|e| file_error("CA certificate", &ca_pem_path, e))?
        .map(|(_, ski)| ski.0);
    let profile = SigningCertificate {
        issuer: ca.tbs_certificate().subject().clone(),
        subject: csr.info.subject.clone(),
        issuer_key_id,
    };
    let builder = CertificateBuilder::new(profile, serial, validity, csr.info.public_key.clone())
        .map_err(|e| CliError::Crypto(e.to_string()))?;
    let certificate = builder
        .build::<_, DerSignature>(&ca_key)
        .map_err(|e| CliError::Crypto(e.to_string()))?;
    certificate
        .to_pem(der::pem::LineEnding::LF)
        .map_err(|e| CliError::Crypto(e.to_string()))
}
