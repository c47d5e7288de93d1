//! Integration tests of `sam-algorithms` against OpenSSL, an independent implementation.
//!
//! They need the `openssl` command (scripts/test installs it where it is missing) and fail,
//! rather than skip, without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod openssl;
