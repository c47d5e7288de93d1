//! Any bytes as a DER authorisation request: a request (which re-encodes to the same bytes)
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_sad::AuthorisationRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AuthorisationRequest::from_der(data) {
        assert_eq!(request.to_der().expect("a parsed request encodes"), data);
    }
});
