//! Integration tests of `sam-token`: real keys, real signatures, and validators we did not
//! write (the `openssl` command for RSA and ECDSA, python `cryptography` for ML-DSA).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod kak;
mod pkcs11;
mod pool;
mod refusals;
mod software;
