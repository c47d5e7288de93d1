//! `sam-pkcs11`: a PKCS#11 module (OASIS PKCS#11 Cryptographic Token Interface Base
//! Specification v2.40; v3.0's `C_GetInterface` is not offered, and v3.0 consumers fall back
//! to `C_GetFunctionList`) whose keys are sam
//! credentials, so that any PKCS#11 consumer — Java's SunPKCS11, OpenSSL through libp11,
//! GnuTLS, NSS, OpenSC's tools — signs with a key that never leaves `samd`, each signature
//! approved by its user (docs/remote-token.md).
//!
//! Its parts:
//!
//! - [`config`]: the module's configuration file (`SAM_PKCS11_CONFIG`): samd's URL and CA,
//!   the client's credentials, the approval wait, and one token per configured user;
//! - [`mechanism`]: the signing mechanisms a key offers under its SAM profile, and the one
//!   digest each mechanism's input becomes (hashing in the module where the mechanism
//!   hashes, the DigestInfo of `CKM_RSA_PKCS` read, the PSS parameters checked against the
//!   profile), and the signature in PKCS#11's encoding (ECDSA as r‖s);
//! - [`objects`]: a key's private key, public key and certificate objects with their real
//!   attributes (`CKA_ID` linking them, no private value), and template matching;
//! - [`session`]: slots, sessions, the token's login (a protected authentication path
//!   under SCAL2, the PIN under SCAL1), object searches and signing operations with
//!   PKCS#11's rules for handles, length queries and short buffers, over a [`session::KeySigner`];
//! - [`remote`]: that signer over `sam-client`'s remote signer, and samd's answers as
//!   `CKR_*` return values;
//! - [`ffi`]: the C ABI — `C_GetFunctionList` and its list; `C_Initialize` loads the tokens
//!   from samd as the configuration says.
//!
//! `unsafe` appears in one module of this crate only, the FFI boundary, each block with the
//! reason it is sound; everything behind it is safe Rust (the crate denies `unsafe_code`
//! elsewhere, and every other crate of sam forbids it).

pub mod config;
#[allow(unsafe_code)]
pub mod ffi;
pub mod mechanism;
pub mod objects;
pub mod remote;
pub mod session;

pub use cryptoki_sys as ck;

/// A PKCS#11 call refused: its return value, and the reason for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The `CKR_*` return value.
    pub rv: ck::CK_RV,
    /// Why, in words.
    pub reason: String,
}

impl Refusal {
    /// `rv`, because of `reason`.
    pub fn new(rv: ck::CK_RV, reason: impl Into<String>) -> Self {
        Self {
            rv,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (CKR 0x{:x})", self.reason, self.rv)
    }
}

impl std::error::Error for Refusal {}
