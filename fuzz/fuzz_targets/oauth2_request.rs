//! Any bytes as OAuth 2.0 form parameters, read as an authorisation, token and revocation
//! request and as a client's authentication: each a request or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_oauth2::authorize::Authorize;
use sam_oauth2::params::Params;
use sam_oauth2::token::{ClientAuthentication, Grant, Revocation};

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::from_form(data) else { return };
    let _ = Authorize::from_params(&params);
    let _ = Grant::from_params(&params);
    let _ = Revocation::from_params(&params);
    let _ = ClientAuthentication::from_params(&params, None);
});
