#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! - [`CryptoToken`] is the one interface every backend implements: capabilities, generate,
//!   sign, delete, health. It is synchronous and object-safe (see [`token`] for why).
//! - Signing takes an [`Activation`]: the key id and exactly the digests it may sign. Only an
//!   [`ActivationIssuer`] can make one, and a process has one issuer, which the server hands to
//!   the SAD verifier (see [`activation`]). Tokens check the activation before touching a key.
//! - [`SoftwareToken`]: RustCrypto keys, wrapped at rest with AES-256-GCM under a
//!   [`MasterKey`] that can be exported and imported under a passphrase.
//! - [`Pkcs11Token`]: keys resident in a PKCS#11 token, with an optional signature slot and
//!   Sign PIN, PIN management and a PIN policy (see [`pkcs11`]).
//! - [`KakGate`]: a decorator that requires a Key Authorisation Key signature for every use of
//!   a key, as CP5-class HSMs do (see [`kak`]).
//! - [`TokenPool`]: several tokens of one kind sharing one key domain, load-balanced with
//!   failover (see [`pool`]).
//! - [`verify`]: signature verification with the same crates, for tests, the KAK gate and
//!   callers that check what a token produced.
#![forbid(unsafe_code)]

pub mod activation;
mod error;
pub mod kak;
mod key;
pub mod pkcs11;
pub mod pool;
pub mod software;
pub mod stored;
pub mod token;
pub mod verify;

pub use activation::{Activation, ActivationIssuer};
pub use error::{ActivationRefusal, TokenError};
pub use kak::{Clock, KakGate, KeyUseAuthorisation, SystemClock};
pub use key::{KakBinding, KeyId, KeyLocation, KeyRecord, KeyReference, MAX_KEY_ID_LEN};
pub use pkcs11::{Pkcs11Config, Pkcs11Token};
pub use pool::{MemberStatus, TokenPool};
pub use software::{KeyCacheSettings, MasterKey, SoftwareToken};
pub use stored::MAX_STORED_RECORD_LEN;
pub use token::{Capabilities, CryptoToken, Health, ToBeSigned, TokenIdentity};
