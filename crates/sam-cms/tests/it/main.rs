//! Integration tests of `sam-cms` against independent validators: OpenSSL (`cms -verify`,
//! `ts -reply`, `ts -verify`, `req -verify`), pyHanko and python `cryptography`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod example;
mod fixtures;
mod long_term;
mod openssl;
mod parsers;
mod python;
mod time_stamps;
mod two_phase;
mod verifier;
