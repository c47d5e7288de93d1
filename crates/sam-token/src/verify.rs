//! Verification of what a token signed, with the software verifiers of `sam-keys`.

use sam_algorithms::{KeySpec, RsaPadding};

use crate::error::TokenError;
use crate::token::ToBeSigned;

/// Verifies `signature` over `input` under the public key `spki_der` of `spec`
/// (see [`sam_keys::verify()`]).
pub fn verify(
    spki_der: &[u8],
    spec: KeySpec,
    padding: RsaPadding,
    input: &ToBeSigned<'_>,
    signature: &[u8],
) -> Result<(), TokenError> {
    Ok(sam_keys::verify(
        spki_der,
        spec,
        padding,
        &input.key_input(),
        signature,
    )?)
}
