#![doc = include_str!("../README.md")]
//!
//! # Standards
//!
//! | module | implements |
//! | --- | --- |
//! | [`prepare`] | RFC 5652 §5 (SignedData), EN 319 122-1 §5.2 and §6.3 (CAdES-B-B/B-T signed attributes), RFC 9882 §3 (ML-DSA in CMS) |
//! | [`attributes`] | RFC 5035 (ESS signing-certificate-v2), RFC 2634 §2.9 (content-hints), EN 319 122-1 §5.2.3, §5.2.9 (commitment type, signature policy) |
//! | [`timestamp`] | RFC 3161 (TSP request, response, TSTInfo; HTTP transport §3.4) |
//! | [`verify`] | RFC 5652 §5.6 (signature verification), RFC 5035 §5.4 (ESS check) |
//! | [`csr`] | RFC 2986 (PKCS#10) |
//! | [`revocation`] | EN 319 122-1 §5.5.1 (CAdES-B-LT validation data), RFC 5940 (OCSP in CMS), RFC 5280 §4.2.1.13, §4.2.2.1 (where to fetch) |
//! | [`ocsp`] | RFC 6960 (request, response, checks), RFC 8954 (nonce) |
//! | [`signed_data`] | RFC 5652 §5.1, §10.2.1 (`SignedData` with standard `RevocationInfoChoices`) |
#![forbid(unsafe_code)]

pub mod attributes;
pub mod csr;
mod error;
mod format;
#[cfg(feature = "http")]
pub mod http;
pub mod ocsp;
pub mod oids;
pub mod prepare;
pub mod revocation;
pub mod signed_data;
mod signer;
pub mod timestamp;
pub mod verify;

pub use error::CmsError;
pub use format::{Format, UnknownFormat};
pub use prepare::{
    CommitmentType, Content, ContentHints, Prepared, PreparedState, SignaturePolicy,
    SignatureRequest, complete, prepare,
};
pub use signer::{LocalSigner, Signer, ToBeSigned, sign, sign_prepared};
pub use timestamp::{Services, TimeStampAuthority, TimeStampClient, TimeStampToken, Transport};
pub use verify::{Detached, Level, VerifiedSignature, verify};

/// Re-exported so that callers name certificates with the same types.
pub use x509_cert::Certificate;
