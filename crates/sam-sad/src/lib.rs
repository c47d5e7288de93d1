#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! - [`AuthorisationRequest`]: what the device is shown, with one canonical DER encoding
//!   ([`request`]), and [`AuthorisationRequest::answer`] to make the SAD that answers it.
//! - [`Sad`]: the Signature Activation Data of PROTOCOL.md, one type for both encodings, with
//!   bounded identifiers ([`ids`]) and a structural check ([`Sad::check`]).
//! - [`jws`]: the JSON encoding (JWS compact, `typ` `sad+jwt`); [`der_sad`]: the DER encoding
//!   and its ASN.1 module.
//! - [`SadSigner`]: what a device or a client signs SADs with (`sam-keys` software keys).
//! - [`verify_sad`]: rules 1–4 of PROTOCOL.md and seed 001's JSON rules, producing a
//!   [`VerifiedSad`] that nothing else can make. The algorithm comes from the issuer's
//!   registered key, never from the SAD alone; `alg: none` cannot even be parsed.
//!
//! - [`verify_idp_jwt`]: delegated IdP assertions (JWT) against the profile's IdP
//!   certificate ([`idp`]).
//!
//! Every parser is total and bounded ([`sad::MAX_SAD_LEN`], [`sad::MAX_HASHES`],
//! [`sad::MAX_ASSERTION_LEN`], identifier grammars).
#![forbid(unsafe_code)]

pub mod der_sad;
pub mod device;
mod error;
pub mod idp;
pub mod ids;
pub mod jws;
pub mod request;
pub mod sad;
mod signer;
mod verify;

pub use device::{registration_message, session_message};
pub use error::SadError;
pub use idp::{AssertionError, IdpTrust, UserIdClaim, VerifiedAssertion, verify_idp_jwt};
pub use ids::{ClientId, DeviceId, Id128, InstanceId, Issuer, KeyRef, UserId};
pub use request::{AuthorisationRequest, DocumentToSign};
pub use sad::{AuthMethod, Sad, SadMode, Scal};
pub use signer::SadSigner;
pub use verify::{Expectations, IssuerKey, SadFormat, VerifiedSad, peek_issuer, verify_sad};
