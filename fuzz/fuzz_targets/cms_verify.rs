//! Any bytes as a CMS/CAdES signature: a verification result or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_cms::{Detached, verify};

fuzz_target!(|data: &[u8]| {
    let _ = verify(data, &Detached::None);
    let _ = verify(data, &Detached::Data(b"content"));
});
