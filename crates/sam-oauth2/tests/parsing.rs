//! The parsers are total: any bytes give a request or an error, never a panic (the harness of
//! `fuzz/fuzz_targets/oauth2_request.rs` and `oauth2_redirect_uri.rs`, on stable).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sam_oauth2::authorize::Authorize;
use sam_oauth2::params::Params;
use sam_oauth2::redirect::{RedirectUri, with_params};
use sam_oauth2::token::{ClientAuthentication, Grant, Revocation};

fn every_request(bytes: &[u8]) {
    let Ok(params) = Params::from_form(bytes) else {
        return;
    };
    let _ = Authorize::from_params(&params);
    let _ = Grant::from_params(&params);
    let _ = Revocation::from_params(&params);
    let _ = ClientAuthentication::from_params(&params, None);
}

fn every_uri(text: &str) {
    if let Ok(uri) = RedirectUri::parse(text) {
        assert!(uri.matches(text), "a registered URI matches itself: {text}");
        let redirected = with_params(text, &[("code", "c"), ("state", "s")]);
        assert!(redirected.starts_with(text));
        let _ = uri.matches(&redirected);
    }
}

proptest! {
    #[test]
    fn any_bytes_give_a_request_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        every_request(&bytes);
    }

    #[test]
    fn any_parameter_soup_gives_a_request_or_an_error(
        pairs in proptest::collection::vec(
            (
                prop::sample::select(vec![
                    "response_type", "client_id", "redirect_uri", "scope", "state",
                    "code_challenge", "code_challenge_method", "credentialID",
                    "signatureQualifier", "numSignatures", "hashes", "hashAlgorithmOID",
                    "authorization_details", "request_uri", "grant_type", "code",
                    "code_verifier", "refresh_token", "token", "token_type_hint",
                    "client_secret", "description", "lang",
                ]),
                "[ -~]{0,60}",
            ),
            0..12,
        )
    ) {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &pairs {
            query.append_pair(name, value);
        }
        every_request(query.finish().as_bytes());
    }

    #[test]
    fn any_text_is_a_redirect_uri_or_an_error(text in "(https?://)?[ -~]{0,80}") {
        every_uri(&text);
    }
}
