//! Integration tests of `sam-service`: every request type through the service API, on SQLite
//! and (when `SAM_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access_tokens;
mod audit;
mod clients;
mod confirmations;
mod credentials;
mod csr;
mod device_sessions;
mod devices;
mod envelope;
mod fixtures;
mod keys;
mod long_term;
mod notify;
mod oauth2;
mod plans;
mod profiles;
mod sap;
mod scal1;
mod seal;
mod threats;
mod users;
