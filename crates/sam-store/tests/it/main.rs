//! The storage conformance suite: the same tests on SQLite and, when `SAM_TEST_POSTGRES_URL`
//! is set (`scripts/test` and `.ci/run` set it), on PostgreSQL, each in a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The suite says on stderr when it skips PostgreSQL.
#![allow(clippy::print_stderr)]

mod access_tokens;
mod audit_chain;
mod backends;
mod codes;
mod deferred;
mod faults;
mod key_pool;
mod oauth;
mod plans;
mod records;
mod sads;
