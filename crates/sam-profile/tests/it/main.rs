//! Integration tests of `sam-profile`: one binary, one module per concern.
// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalogue;
mod examples;
mod fixtures;
mod parsing;
mod round_trip;
mod rules;
