//! Any text as a redirect URI to register: a URI that matches itself (and whose redirect
//! keeps it as a prefix), or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_oauth2::redirect::{RedirectUri, with_params};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(uri) = RedirectUri::parse(text) {
        assert!(uri.matches(text));
        let redirected = with_params(text, &[("code", "c"), ("state", "s")]);
        assert!(redirected.starts_with(text));
        let _ = uri.matches(&redirected);
    }
});
