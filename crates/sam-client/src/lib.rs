//! A typed async client of `samd`'s native API (docs/api.md): what a business application, a
//! device app written in Rust, an operator's tool, a remote signer or a PKCS#11 module builds
//! on instead of writing paths and JSON by hand.
//!
//! - [`Endpoint`]: where `samd` is, the CA its certificate must chain to, and optionally a TLS
//!   client certificate (rustls, ring). [`Connection`]: the kept-alive connections to it,
//!   shared by every role, each call bounded in time ([`DEFAULT_TIMEOUT`]) and size.
//! - [`SamClient`]: the business application (HTTP Basic and/or its client certificate) —
//!   users, keys, certificates, devices, Authorise, Status, Sign, seals, SCAL1 evidence.
//! - [`DeviceSession`]: the user's authorisation device (docs/device.md) — a session opened
//!   by signing a challenge, then its pending requests, SADs and declines.
//! - [`AdminClient`]: the operator — clients, secrets, plans, profiles, crypto sources, the
//!   audit log.
//! - [`remote::RemoteSigner`]: a user's key in `samd` as a signing token for an application
//!   that prepares and completes its signatures itself (seed 000's "SAM crypto token"):
//!   Authorise, the user's approval (device, or PIN under SCAL1), Sign;
//!   [`remote::BlockingRemoteSigner`] is a `sam_cms::Signer` (feature `cms`, on by default).
//! - Every refusal is an [`Error::Api`] with its stable [`ErrorCode`] (`sam-api`, the list
//!   `samd` renders from); lists come a [`Page`] at a time, and [`all_pages`] reads them all.
//!
//! The example `examples/sign_with_approval.rs` is a business application that signs a file
//! as CAdES-B-B once its user approved it on their device; the test suite runs it against a
//! `samd --dev` with `samctl device approve` as the phone. Its core:
//!
//! ```no_run
//! use std::time::Duration;
//! use sam_client::{Authorisation, ClientAuth, Connection, Document, Endpoint, SamClient};
//!
//! # async fn sign(ca_pem: &[u8], digest: Vec<u8>) -> Result<Vec<u8>, sam_client::Error> {
//! let endpoint = Endpoint::new("https://localhost:8443", ca_pem)?;
//! let client = SamClient::new(
//!     Connection::new(endpoint),
//!     ClientAuth::Basic { client_id: "shop".into(), secret: "a-secret-of-the-shop".to_owned().into() },
//! );
//! let authorised = client
//!     .authorise(&Authorisation {
//!         user_id: "alice".into(),
//!         key_id: "k0123…".into(),
//!         hash_algorithm: "sha-256".into(),
//!         format: "cades-b-b".into(),
//!         documents: vec![Document::digest("contract.pdf", digest)],
//!         signatures: None,
//!     })
//!     .await?;
//! // Alice sees "contract.pdf" on her phone and approves it.
//! let answer = client
//!     .wait_for_answer(&authorised.request_id, Duration::from_secs(1), Duration::from_secs(300))
//!     .await?;
//! assert_eq!(answer.status, "authorised");
//! let mut signatures = client.sign(&authorised.request_id).await?;
//! Ok(signatures.remove(0))
//! # }
//! ```

mod admin;
mod client;
mod connection;
mod device;
mod error;
pub mod remote;
mod transport;
mod types;

pub use admin::{AdminClient, AuditRecord, CryptoSource, UsagePage};
pub use client::{Channel, ClientAuth, CodeSent, SadFormat, SamClient, UserProfile};
pub use connection::{Connection, DEFAULT_TIMEOUT, all_pages};
pub use device::DeviceSession;
pub use error::{Error, ErrorCode, ErrorKind};
pub use transport::{Endpoint, MAX_RESPONSE_BYTES};
pub use types::{
    AccessToken, Authorisation, Authorised, Certificate, Client, ClientSettings, Device, Document,
    Key, NewDevice, NewUser, OAuthClient, Page, PendingPage, PendingRequest, RequestStatus, User,
};
