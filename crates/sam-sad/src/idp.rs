//! Delegated user authentication (seed 001 *Delegated user authentication via external IdP*):
//! the business application has the user authenticated by an OpenID Connect provider and puts
//! the provider's JWT (RFC 7519) into the SAD; `sam` verifies it against the profile's IdP
//! certificate before the SAD counts.
//!
//! Checks, each with its own [`AssertionError`]: the JWS (RFC 7515) parses within
//! [`MAX_ASSERTION_LEN`]; its `alg` fits the certificate's key (so `none`, HMAC and any other
//! algorithm family are refused: the key decides, RFC 8725 §3.1); the signature verifies; the
//! certificate is within its validity; `iss` and `aud` are the expected ones; `exp`, `nbf` and
//! `iat` hold with the profile's clock tolerance; and the user id is read from `sub` or from
//! the named claim.
//!
//! SAML assertions are not supported by this build: verifying XML signatures safely against
//! signature wrapping needs an XML security stack `sam` does not carry. Profiles that ask for
//! SAML get [`AssertionError::SamlNotSupported`].

use base64ct::{Base64UrlUnpadded, Encoding};
use der::{Decode, Encode};
use sam_algorithms::{JwsAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm, UnixTime};
use serde_json::{Map, Value};
use x509_cert::Certificate;

use crate::ids::UserId;
use crate::sad::MAX_ASSERTION_LEN;
use crate::signer::signed_input;

/// Why an IdP assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Not a JWT of the accepted form.
    #[error("malformed IdP assertion: {0}")]
    Malformed(String),
    /// The IdP certificate cannot be used.
    #[error("IdP certificate: {0}")]
    Certificate(String),
    /// The `alg` is not one the certificate's key can have produced (`none`, HMAC, another
    /// key type or curve).
    #[error("IdP assertion algorithm {0:?} does not fit the IdP certificate's key")]
    Algorithm(String),
    /// The signature does not verify under the certificate's key.
    #[error("the IdP assertion is not signed by the IdP certificate's key")]
    BadSignature,
    /// `iss` is not the expected issuer.
    #[error("the IdP assertion is issued by {found:?}, not {expected:?}")]
    WrongIssuer {
        /// The token's `iss`.
        found: String,
        /// The expected issuer.
        expected: String,
    },
    /// `aud` does not include the expected audience.
    #[error("the IdP assertion is not meant for {expected:?}")]
    WrongAudience {
        /// The expected audience.
        expected: String,
    },
    /// `exp` has passed, beyond the tolerance.
    #[error("the IdP assertion expired at {0}")]
    Expired(String),
    /// `nbf` or `iat` lies in the future, beyond the tolerance.
    #[error("the IdP assertion is not valid yet ({0})")]
    NotYetValid(String),
    /// The claim that should carry the user id is absent or not a user id.
    #[error("the IdP assertion has no usable user id in {0:?}")]
    UserIdMissing(String),
    /// The assertion is for another user than the SAD's subject.
    #[error("the IdP assertion is for user {found}, not {expected}")]
    OtherUser {
        /// The user the assertion names.
        found: String,
        /// The SAD's subject.
        expected: String,
    },
    /// SAML assertions are not supported by this build.
    #[error(
        "SAML assertions are not supported by this build of sam; use a JWT (OpenID Connect) IdP"
    )]
    SamlNotSupported,
}

/// Where the user id is in the assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserIdClaim<'a> {
    /// The `sub` claim.
    Subject,
    /// A named claim (an attribute such as `email`).
    Attribute(&'a str),
}

/// What an IdP assertion is checked against: the profile's IdP settings and the instance's
/// expectations.
#[derive(Clone, Copy, Debug)]
pub struct IdpTrust<'a> {
    /// The profile's IdP certificate, DER.
    pub certificate_der: &'a [u8],
    /// The expected `iss`.
    pub issuer: &'a str,
    /// The audience the assertion must name (e.g. the client id registered at the IdP).
    pub audience: &'a str,
    /// Where the user id is.
    pub user_id: UserIdClaim<'a>,
    /// The profile's IdP clock tolerance, in seconds.
    pub clock_tolerance_secs: u32,
    /// Now, from the caller's clock.
    pub now: UnixTime,
}

/// An assertion that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The authenticated user.
    pub user_id: UserId,
    /// When the assertion expires.
    pub expires_at: UnixTime,
}

fn malformed(reason: impl Into<String>) -> AssertionError {
    AssertionError::Malformed(reason.into())
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| malformed(format!("{name} is not a number"))),
    }
}

/// Verifies a JWT assertion of an external IdP against `trust`; the user id it carries must
/// be `expected_user` (the SAD's subject).
pub fn verify_idp_jwt(
    token: &str,
    trust: &IdpTrust<'_>,
    expected_user: &UserId,
) -> Result<VerifiedAssertion, AssertionError> {
    if token.len() > MAX_ASSERTION_LEN {
        return Err(malformed(format!("longer than {MAX_ASSERTION_LEN} bytes")));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three '.'-separated parts"));
    };
    let decode =
        |part: &str| Base64UrlUnpadded::decode_vec(part).map_err(|_| malformed("not base64url"));
    let header: Map<String, Value> =
        serde_json::from_slice(&decode(h)?).map_err(|e| malformed(format!("header: {e}")))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&decode(p)?).map_err(|e| malformed(format!("claims: {e}")))?;
    let signature = decode(s)?;
    if header.contains_key("crit") {
        return Err(malformed("critical header parameters are not supported"));
    }
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no alg"))?;

    // The certificate, and the key it certifies, decide the algorithm family.
    let certificate = Certificate::from_der(trust.certificate_der)
        .map_err(|e| AssertionError::Certificate(e.to_string()))?;
    let tolerance = i64::from(trust.clock_tolerance_secs);
    let now = trust.now.as_secs();
    let validity = certificate.tbs_certificate().validity();
    let not_before =
        i64::try_from(validity.not_before.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let not_after =
        i64::try_from(validity.not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    if now + tolerance < not_before || now - tolerance > not_after {
        return Err(AssertionError::Certificate(
            "outside its validity period".into(),
        ));
    }
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| AssertionError::Certificate(e.to_string()))?;
    let spec =
        sam_keys::public_key_spec(&spki).map_err(|e| AssertionError::Certificate(e.to_string()))?;
    let alg: JwsAlgorithm = alg_name
        .parse()
        .map_err(|_| AssertionError::Algorithm(alg_name.chars().take(32).collect()))?;
    if !alg.fits_key(spec) {
        return Err(AssertionError::Algorithm(alg.to_string()));
    }
    let signature_algorithm = alg.signature_algorithm();
    let padding = match signature_algorithm {
        SignatureAlgorithm::RsaPss(_) => RsaPadding::Pss,
        _ => RsaPadding::Pkcs1v15,
    };
    let signature = match spec {
        KeySpec::Ecdsa(curve) => {
            crate::jws::ecdsa_raw_to_der(&signature, curve).ok_or(AssertionError::BadSignature)?
        }
        _ => signature,
    };
    let hash = signature_algorithm
        .hash_algorithm()
        .unwrap_or(sam_algorithms::HashAlgorithm::Sha256);
    let signing_input = format!("{h}.{p}");
    sam_keys::verify(
        &spki,
        spec,
        padding,
        &signed_input(spec, hash, signing_input.as_bytes()),
        &signature,
    )
    .map_err(|_| AssertionError::BadSignature)?;

    // Issuer and audience.
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != trust.issuer {
        return Err(AssertionError::WrongIssuer {
            found: iss.chars().take(256).collect(),
            expected: trust.issuer.to_owned(),
        });
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == trust.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(trust.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(AssertionError::WrongAudience {
            expected: trust.audience.to_owned(),
        });
    }

    // Times, with the tolerance.
    let exp = number(&claims, "exp")?.ok_or_else(|| malformed("no exp"))?;
    if now >= exp.saturating_add(tolerance) {
        return Err(AssertionError::Expired(exp.to_string()));
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = number(&claims, name)?
            && now < t.saturating_sub(tolerance)
        {
            return Err(AssertionError::NotYetValid(format!("{name} {t}")));
        }
    }

    // The user.
    let (claim_name, value) = match trust.user_id {
        UserIdClaim::Subject => ("sub", claims.get("sub")),
        UserIdClaim::Attribute(name) => (name, claims.get(name)),
    };
    let user_id = value
        .and_then(Value::as_str)
        .and_then(|v| v.parse::<UserId>().ok())
        .ok_or_else(|| AssertionError::UserIdMissing(claim_name.to_owned()))?;
    if user_id != *expected_user {
        return Err(AssertionError::OtherUser {
            found: user_id.to_string(),
            expected: expected_user.to_string(),
        });
    }
    Ok(VerifiedAssertion {
        user_id,
        expires_at: UnixTime::from_secs(exp).unwrap_or(UnixTime::MAX),
    })
}
