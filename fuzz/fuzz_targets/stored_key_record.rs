//! Any bytes as a stored key record: a record or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_token::KeyRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = KeyRecord::from_der(data) {
        let _ = record.to_der();
    }
});
