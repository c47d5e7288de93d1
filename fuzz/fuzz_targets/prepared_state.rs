//! Any bytes as a stored prepared-signature state: a state or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_cms::PreparedState;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = PreparedState::from_der(data) {
        let _ = state.to_be_signed();
        let _ = state.content_digest();
        let _ = state.to_der();
    }
});
