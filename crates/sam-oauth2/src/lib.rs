//! The OAuth 2.0 protocol of the CSC API's authorisation server (CSC API 2.2.0.0 §8), as pure
//! logic: what a request says and whether it may be served, never who the user is or what the
//! store holds (that is `sam-service`'s).
//!
//! - [`params`]: `application/x-www-form-urlencoded` parameters, bounded, each at most once
//!   (RFC 6749 §3.1, §3.2);
//! - [`pkce`]: Proof Key for Code Exchange, `S256` only (RFC 7636; RFC 9700 §2.1.1);
//! - [`redirect`]: redirect URIs — what may be registered, the exact match (RFC 9700 §4.1.3,
//!   loopback ports per RFC 8252 §7.3) and the redirect back with `code`, `state` and `iss`
//!   (RFC 9207);
//! - [`authorize`]: the authorisation request (RFC 6749 §4.1.1) with CSC's `scope=service`
//!   and `scope=credential` parameters, rich authorisation requests of type `credential`
//!   (RFC 9396) and pushed requests by `request_uri` (RFC 9126);
//! - [`token`]: token and revocation requests (RFC 6749 §4.1.3, §6, §4.4; RFC 7009);
//! - [`metadata`]: the authorisation server metadata document (RFC 8414);
//! - [`OAuthError`]: the error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 9126 and RFC 9396.
//!
//! Every parser is total and bounded (fuzzed: `fuzz/fuzz_targets/oauth2_*.rs`).
#![forbid(unsafe_code)]

/// The README's example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod authorize;
mod error;
pub mod metadata;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod token;

pub use error::{ErrorCode, OAuthError};
