//! Any bytes as a JWS SAD: an issuer or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_sad::{SadFormat, peek_issuer};

fuzz_target!(|data: &[u8]| {
    let _ = peek_issuer(data, SadFormat::Json);
});
