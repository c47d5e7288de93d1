//! Proof Key for Code Exchange (RFC 7636), `S256` only: RFC 9700 §2.1.1 requires PKCE, and
//! `plain` protects nothing against an attacker who reads the authorisation request. The
//! code is bound to the challenge; the token request must bring the verifier whose
//! `BASE64URL(SHA-256(verifier))` it is (§4.6), compared in constant time.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::OAuthError;

/// A `code_challenge` with method `S256`: 43 base64url characters (a SHA-256 digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// The challenge of an authorisation request (`code_challenge`,
    /// `code_challenge_method`); the method must be `S256` (absent means `plain`, RFC 7636
    /// §4.3, which is refused).
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, OAuthError> {
        let challenge = challenge.ok_or_else(|| {
            OAuthError::invalid("code_challenge is missing: PKCE with S256 is required")
        })?;
        match method {
            Some("S256") => {}
            Some("plain") => {
                return Err(OAuthError::invalid(
                    "code_challenge_method plain is not accepted; use S256",
                ));
            }
            Some(_) => {
                return Err(OAuthError::invalid(
                    "code_challenge_method is unknown; use S256",
                ));
            }
            None => {
                return Err(OAuthError::invalid(
                    "code_challenge_method is missing (it would mean plain); use S256",
                ));
            }
        }
        let decoded = Base64UrlUnpadded::decode_vec(challenge).ok();
        if challenge.len() != 43 || decoded.is_none_or(|d| d.len() != 32) {
            return Err(OAuthError::invalid(
                "code_challenge is not BASE64URL(SHA-256(code_verifier)): 43 characters",
            ));
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The challenge's text, as stored with the code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored challenge, checked again.
    pub fn from_stored(text: &str) -> Result<Self, OAuthError> {
        Self::parse(Some(text), Some("S256"))
    }

    /// The challenge of `verifier` (what a client sends; for tests and clients).
    pub fn of_verifier(verifier: &str) -> Self {
        Self(Base64UrlUnpadded::encode_string(&Sha256::digest(
            verifier.as_bytes(),
        )))
    }

    /// Whether `verifier` (the token request's `code_verifier`) is well formed (RFC 7636
    /// §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`) and
    /// is this challenge's.
    pub fn verify(&self, verifier: &str) -> Result<(), OAuthError> {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !well_formed {
            return Err(OAuthError::invalid(
                "code_verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)",
            ));
        }
        let computed = Self::of_verifier(verifier);
        if bool::from(computed.0.as_bytes().ct_eq(self.0.as_bytes())) {
            Ok(())
        } else {
            Err(OAuthError::new(
                crate::ErrorCode::InvalidGrant,
                "code_verifier does not match the code_challenge",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies_and_nothing_else_does() {
        assert_eq!(CodeChallenge::of_verifier(VERIFIER).as_str(), CHALLENGE);
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        c.verify(VERIFIER).unwrap();
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
        assert_eq!(
            c.verify(other).unwrap_err().code,
            crate::ErrorCode::InvalidGrant
        );
        for malformed in ["short", &"a".repeat(129), &format!("{VERIFIER}+")] {
            assert_eq!(
                c.verify(malformed).unwrap_err().code,
                crate::ErrorCode::InvalidRequest
            );
        }
        assert_eq!(CodeChallenge::from_stored(c.as_str()).unwrap(), c);
    }

    #[test]
    fn only_s256_challenges_of_a_sha_256_digest_are_accepted() {
        for (challenge, method) in [
            (None, Some("S256")),
            (Some(CHALLENGE), None),
            (Some(CHALLENGE), Some("plain")),
            (Some(CHALLENGE), Some("s256")),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"),
                Some("S256"),
            ),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="),
                Some("S256"),
            ),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
            ),
        ] {
            assert!(
                CodeChallenge::parse(challenge, method).is_err(),
                "{challenge:?} {method:?}"
            );
        }
    }
}
