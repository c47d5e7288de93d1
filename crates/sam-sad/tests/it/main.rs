//! Integration tests of `sam-sad`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod idp;
mod parsing;
mod request;
mod round_trip;
mod rules;
mod vectors;
