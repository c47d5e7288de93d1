#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! One enum, [`SigningKey`], over the pinned RustCrypto key types, and one function,
//! [`verify::verify`], over their verifiers; both keyed by `sam_algorithms::KeySpec`. The
//! software token (`sam-token`), the SAD signer and verifier (`sam-sad`) and the CMS verifier
//! (`sam-cms`) all use these, so every software signature in `sam` is made and checked by one
//! piece of code.
#![forbid(unsafe_code)]

mod error;
mod signing_key;
pub mod verify;

pub use error::KeyError;
pub use signing_key::{SigningKey, software_specs};
pub use verify::{public_key_spec, verify, verify_ecdsa_message};

use std::borrow::Cow;

use sam_algorithms::{Digest, HashAlgorithm};

/// What a key signs: a digest (RSA and ECDSA sign it as a prehash; ML-DSA signs its bytes as
/// the message) or, for ML-DSA, a message. The primitive's input; [`ToBeSigned`] is the same
/// with what an authorisation binds.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A digest.
    Digest(Digest),
    /// A message (ML-DSA only).
    Message(&'a [u8]),
}

/// The data to be signed (DTBS/R) as the whole of sam speaks of it: what `sam-cms` prepares,
/// what a SAD or a token's activation authorises by its digest ([`Self::digest`]), and what a
/// token signs ([`Self::key_input`]). One type from preparation to signature, so what was
/// authorised is what is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToBeSigned<'a> {
    /// A digest: RSA and ECDSA sign it as a prehash; an ML-DSA raw signature signs its
    /// bytes.
    Digest(Digest),
    /// A message that ML-DSA signs itself (FIPS 204 pure mode; RFC 9882 §3.3: the DER signed
    /// attributes). An authorisation names it by its digest under `bound_by`.
    Message {
        /// The message.
        data: Cow<'a, [u8]>,
        /// The hash that names the message in an authorisation.
        bound_by: HashAlgorithm,
    },
}

impl ToBeSigned<'_> {
    /// The digest an authorisation (a SAD, a token's activation) binds for this input.
    pub fn digest(&self) -> Digest {
        match self {
            Self::Digest(d) => *d,
            Self::Message { data, bound_by } => bound_by.digest(data),
        }
    }

    /// The input as a key signs it.
    pub fn key_input(&self) -> Input<'_> {
        match self {
            Self::Digest(d) => Input::Digest(*d),
            Self::Message { data, .. } => Input::Message(data),
        }
    }

    /// The same input, owning its message.
    pub fn into_owned(self) -> ToBeSigned<'static> {
        match self {
            Self::Digest(d) => ToBeSigned::Digest(d),
            Self::Message { data, bound_by } => ToBeSigned::Message {
                data: Cow::Owned(data.into_owned()),
                bound_by,
            },
        }
    }
}
