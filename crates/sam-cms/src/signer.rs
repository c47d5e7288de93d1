//! What is signed ([`ToBeSigned`]) and who signs it ([`Signer`]). `sam-cms` does not know
//! where a signature comes from: a local key, a token behind a SAD, or a device.

use sam_algorithms::SignatureAlgorithm;
use sam_keys::SigningKey;

use crate::CmsError;
use crate::prepare::{PreparedState, SignatureRequest, complete, padding_of, prepare};
use crate::timestamp::Services;

/// The data to be signed (DTBS/R): one type from preparation to signature (`sam-keys`).
pub use sam_keys::ToBeSigned;

/// Something that signs a DTBS/R: a local key, or a bridge to a token or a remote party.
pub trait Signer {
    /// Signs `input` and returns the signature value in the algorithm's standard encoding
    /// (ECDSA as DER `Ecdsa-Sig-Value`).
    fn sign(&self, input: &ToBeSigned<'_>) -> Result<Vec<u8>, CmsError>;
}

/// A software key held by the caller, for local signing (the `sign_file` example, tests).
pub struct LocalSigner<'a> {
    key: &'a SigningKey,
    algorithm: SignatureAlgorithm,
}

impl<'a> LocalSigner<'a> {
    /// Signs with `key` under `algorithm` (its padding for RSA).
    pub fn new(key: &'a SigningKey, algorithm: SignatureAlgorithm) -> Self {
        Self { key, algorithm }
    }
}

impl Signer for LocalSigner<'_> {
    fn sign(&self, input: &ToBeSigned<'_>) -> Result<Vec<u8>, CmsError> {
        Ok(self
            .key
            .sign(padding_of(self.algorithm), &input.key_input())?)
    }
}

/// The one-call API: [`prepare`], sign with `signer`, [`complete`].
pub fn sign(
    request: &SignatureRequest<'_>,
    signer: &dyn Signer,
    services: &Services<'_>,
) -> Result<Vec<u8>, CmsError> {
    let prepared = prepare(request)?;
    let signature = signer.sign(&prepared.to_be_signed)?;
    complete(&prepared.state, &signature, services)
}

/// Signs a prepared state with `signer` and completes it (for callers that keep the state).
pub fn sign_prepared(
    state: &PreparedState,
    signer: &dyn Signer,
    services: &Services<'_>,
) -> Result<Vec<u8>, CmsError> {
    let signature = signer.sign(&state.to_be_signed()?)?;
    complete(state, &signature, services)
}
