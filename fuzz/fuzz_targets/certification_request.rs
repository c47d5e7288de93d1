//! Any bytes as a PKCS#10 request: verified or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sam_cms::csr::verify_csr(data);
});
