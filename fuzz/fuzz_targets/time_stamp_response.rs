//! Any bytes as an RFC 3161 response or token: parsed or refused, never a panic.
#![no_main]

use der::Decode;
use libfuzzer_sys::fuzz_target;
use sam_cms::TimeStampToken;
use sam_cms::timestamp::TimeStampResp;

fuzz_target!(|data: &[u8]| {
    let _ = TimeStampResp::from_der(data);
    if let Ok(token) = TimeStampToken::from_der(data) {
        let _ = token.info().gen_time();
        let _ = token.verify_for(b"signature");
    }
});
