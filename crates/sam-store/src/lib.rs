#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! - One [`Store`] over an `sqlx::AnyPool`; SQL is written once with `$N` parameters (SQLite
//!   accepts them) and `RETURNING`/`ON CONFLICT`, which both backends support. Times are Unix
//!   seconds in `BIGINT`, hashes are `BLOB`/`BYTEA` (the only per-backend difference, in the
//!   migrations).
//! - Every write that must be exact is a transaction whose first statement is the conditional
//!   write (see [`sads`]); audit records are appended in the same transaction ([`audit`]).
//! - Migrations are SQL files compiled into the binary, applied in order, each in its own
//!   transaction, with their SHA-256 recorded and checked on every start; on PostgreSQL a
//!   table lock keeps two nodes from migrating at once. (`sqlx::migrate!` would need the
//!   `macros` feature and its compile time for this.)
#![forbid(unsafe_code)]

pub mod access_tokens;
pub mod audit;
pub mod clients;
pub mod codes;
pub mod deferred;
pub mod devices;
mod error;
pub mod key_domains;
pub mod key_pool;
pub mod keys;
pub mod oauth;
pub mod plans;
pub mod profiles;
pub mod requests;
pub mod sads;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;
pub mod users;

pub use access_tokens::{NewAccessToken, Revoked, StoredAccessToken, TokenKind};
pub use audit::{AuditEntry, AuditRecord, ChainReport};
pub use clients::ClientRecord;
pub use codes::{CodeCheck, NewCode};
pub use deferred::DeferredOutcome;
pub use devices::{DeviceAdd, StoredDevice};
pub use error::StoreError;
pub use key_pool::PooledKey;
pub use keys::{CertificateRecord, StoredKey};
pub use oauth::{NewOAuthAuthorization, OAuthAuthorizationRecord, OAuthClientRecord, OAuthStage};
pub use plans::{AlertRecord, PeriodRecord, PlanCount, PlanHold, PlanRecord, StoredPeriod};
pub use profiles::ProfileRecord;
pub use requests::{NewRequest, RequestRecord, RequestStatus, Transition};
pub use sads::{NewSad, Spend, SpendRefusal};
pub use store::{Backend, OpenOptions, Store, redact_url};
pub use tx::GroupCommits;
pub use users::{NewUser, UserRecord};
