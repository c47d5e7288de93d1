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
pub use verify::{public_key_spec, verify};

use sam_algorithms::Digest;

/// What a key signs: a digest (RSA and ECDSA sign it as a prehash; ML-DSA signs its bytes as
/// the message) or, for ML-DSA, a message.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A digest.
    Digest(Digest),
    /// A message (ML-DSA only).
    Message(&'a [u8]),
}
