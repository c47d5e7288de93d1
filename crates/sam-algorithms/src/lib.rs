#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! Every later `sam` crate speaks this vocabulary, so it is small, pure (no I/O) and total:
//! every constructor and parser returns a typed [`Error`] instead of panicking.
//!
//! - [`key`]: key algorithms, curve families, curves and the [`KeySpec`] (seed 001).
//! - [`hash`]: SHA-2/SHA-3 with OIDs and streaming digests.
//! - [`signature`]: RSA paddings, signature algorithm identifiers (RFC 4055, RFC 5758,
//!   RFC 9881) and JOSE names (RFC 7518, RFC 8812).
//! - [`calendar`]: UTC instants, RFC 3339 text and calendar periods (seconds to years), which
//!   SAD expiry, authorisation request expiry and service plans all count in.
//! - [`terms`]: the SAM's shared terms — [`Scal`], [`KeyLocation`], [`SadFormat`] — which
//!   profiles configure, SADs carry, tokens open and the service compares.
#![forbid(unsafe_code)]

pub mod calendar;
mod error;
pub mod hash;
pub mod key;
pub mod signature;
pub mod terms;

pub use calendar::{Period, PeriodUnit, UnixTime};
pub use error::Error;
pub use hash::{Digest, HashAlgorithm, Hasher};
pub use key::{CurveFamily, EcCurve, KeyAlgorithm, KeySpec, MlDsaLevel, RsaKeySize};
pub use signature::{JwsAlgorithm, RsaPadding, SignatureAlgorithm};
pub use terms::{KeyLocation, SadFormat, Scal};

/// Object identifiers, re-exported so callers need not depend on `const-oid` themselves.
pub use const_oid::ObjectIdentifier;
