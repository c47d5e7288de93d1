//! Any bytes as an IdP JWT against a fixed certificate: an assertion or an error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_algorithms::UnixTime;
use sam_sad::{IdpTrust, UserIdClaim, verify_idp_jwt};

const CERTIFICATE_PEM: &str = include_str!("../../crates/sam-profile/tests/examples/idp-certificate.pem");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let b64: String = CERTIFICATE_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64_decode(&b64);
    let trust = IdpTrust {
        certificate_der: &der,
        issuer: "https://idp.example.org",
        audience: "bank-app",
        user_id: UserIdClaim::Attribute("email"),
        clock_tolerance_secs: 30,
        now: UnixTime::from_secs(1_800_000_000).expect("time"),
    };
    let user = "alice".parse().expect("user id");
    let _ = verify_idp_jwt(text, &trust, &user);
});

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
