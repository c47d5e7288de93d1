//! Signing SADs: what a device app does with its authorisation key, and what a client does
//! with its authorisation certificate's key (SCAL1, IdP, eSeal renewal).

use sam_algorithms::{HashAlgorithm, JwsAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm};
use sam_keys::{Input, SigningKey};

use crate::der_sad;
use crate::error::SadError;
use crate::jws;
use crate::sad::Sad;

/// A key that signs SADs, with the SAD hash (the profile's *Hash Algorithm for SAD*) and, for
/// RSA keys, the padding.
#[derive(Debug)]
pub struct SadSigner {
    key: SigningKey,
    hash: HashAlgorithm,
    padding: RsaPadding,
}

/// What a key signs: for RSA and ECDSA the digest of `data` under `hash`, for ML-DSA `data`.
pub(crate) fn signed_input(spec: KeySpec, hash: HashAlgorithm, data: &[u8]) -> Input<'_> {
    match spec {
        KeySpec::MlDsa(_) => Input::Message(data),
        _ => Input::Digest(hash.digest(data)),
    }
}

impl SadSigner {
    /// A signer with `key`, hashing with `hash`, padding RSA signatures with `padding`.
    pub fn new(key: SigningKey, hash: HashAlgorithm, padding: RsaPadding) -> Self {
        Self { key, hash, padding }
    }

    /// The public key, DER `SubjectPublicKeyInfo`: what the device registers.
    pub fn public_key_der(&self) -> Result<Vec<u8>, SadError> {
        self.key
            .public_key_der()
            .map_err(|e| SadError::Signing(e.to_string()))
    }

    /// The JWS algorithm this signer uses, if JOSE has one for its key and hash.
    pub fn jws_algorithm(&self) -> Option<JwsAlgorithm> {
        JwsAlgorithm::for_key(self.key.spec(), self.hash, self.padding)
    }

    /// The SAD as a compact JWS.
    pub fn sign_jws(&self, sad: &Sad) -> Result<String, SadError> {
        let spec = self.key.spec();
        let alg = self.jws_algorithm().ok_or_else(|| {
            SadError::Signing(format!(
                "JOSE has no algorithm for {spec} keys with {}; use a DER SAD",
                self.hash
            ))
        })?;
        let input = jws::signing_input(sad, alg)?;
        // The JWS algorithm fixes the hash (ES256 is SHA-256, ...).
        let hash = alg
            .signature_algorithm()
            .hash_algorithm()
            .unwrap_or(self.hash);
        let signature = self
            .key
            .sign(self.padding, &signed_input(spec, hash, input.as_bytes()))
            .map_err(|e| SadError::Signing(e.to_string()))?;
        Ok(jws::assemble(
            &input,
            &jws::ecdsa_der_to_raw(&signature, spec)?,
        ))
    }

    /// The SAD as DER `SignatureActivationData`.
    pub fn sign_der(&self, sad: &Sad) -> Result<Vec<u8>, SadError> {
        let spec = self.key.spec();
        let tbs = der_sad::tbs_der(sad)?;
        let algorithm = SignatureAlgorithm::for_key(spec, self.hash, self.padding);
        let signature = self
            .key
            .sign(self.padding, &signed_input(spec, self.hash, &tbs))
            .map_err(|e| SadError::Signing(e.to_string()))?;
        der_sad::assemble(&tbs, algorithm, &signature)
    }
}
