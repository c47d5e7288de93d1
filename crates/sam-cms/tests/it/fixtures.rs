//! The signers of the tests: keys whose certificates the shared test PKI
//! (`sam_testkit::Pki`) issues from our own PKCS#10 requests.

use der::EncodePem;
use sam_algorithms::{HashAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm};
use sam_cms::csr::certification_request;
use sam_cms::{Certificate, LocalSigner};
use sam_keys::SigningKey;
pub(crate) use sam_testkit::{
    LocalTsa, Pki, Pointers, TsaBehaviour, certificate, openssl_cms_verify, openssl_ts_verify,
    python, run, run_ok, scratch, write,
};

/// A signing key with a certificate from the test CA.
pub(crate) struct Signer {
    pub(crate) key: SigningKey,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) certificate: Certificate,
}

impl Signer {
    /// A key of `spec`, certified through our CSR and `openssl x509 -req`.
    pub(crate) fn new(spec: KeySpec, hash: HashAlgorithm, padding: RsaPadding) -> Signer {
        Self::with_pointers(spec, hash, padding, Pointers::OcspAndCrl)
    }

    /// As [`Self::new`], with the given revocation pointers in the certificate.
    pub(crate) fn with_pointers(
        spec: KeySpec,
        hash: HashAlgorithm,
        padding: RsaPadding,
        pointers: Pointers,
    ) -> Signer {
        let key = SigningKey::generate(spec).unwrap();
        let algorithm = SignatureAlgorithm::for_key(spec, hash, padding);
        let csr = certification_request(
            &format!("CN=sam signer {spec},O=sam"),
            &key.public_key_der().unwrap(),
            algorithm,
            &LocalSigner::new(&key, algorithm),
        )
        .unwrap();
        let certificate = Pki::get().issue(&csr, pointers);
        Signer {
            key,
            algorithm,
            certificate,
        }
    }

    pub(crate) fn local(&self) -> LocalSigner<'_> {
        LocalSigner::new(&self.key, self.algorithm)
    }

    pub(crate) fn cert_pem(&self) -> String {
        self.certificate.to_pem(der::pem::LineEnding::LF).unwrap()
    }
}
