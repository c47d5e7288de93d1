//! Verifying SADs: rules 1–4 of PROTOCOL.md ("Verification rules") and seed 001's rules for
//! JSON SADs. Rules 5–7 (use counts, profile, plan) are the service's, which gets what it
//! needs from the [`VerifiedSad`].

use sam_algorithms::{
    Digest, HashAlgorithm, JwsAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm, UnixTime,
};
use subtle::ConstantTimeEq;

use crate::der_sad;
use crate::error::SadError;
use crate::ids::{Id128, InstanceId, Issuer, KeyRef, UserId};
use crate::jws;
use crate::sad::{Sad, Scal};
use crate::signer::signed_input;

pub use sam_algorithms::SadFormat;

/// The registered key of the SAD's issuer, as the caller found it from [`peek_issuer`].
#[derive(Clone, Debug)]
pub struct IssuerKey {
    /// Whose key it is.
    pub issuer: Issuer,
    /// The public key, DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// Its spec.
    pub spec: KeySpec,
    /// The padding its RSA signatures use.
    pub padding: RsaPadding,
}

/// What the SAD must match: the stored authorisation request, this instance, and the profile.
#[derive(Clone, Debug)]
pub struct Expectations<'a> {
    /// This SAM instance.
    pub audience: &'a InstanceId,
    /// The authorisation request the SAD answers.
    pub request_id: Id128,
    /// The request's user.
    pub subject: &'a UserId,
    /// The request's key (which belongs to that user, of that client).
    pub key_id: &'a KeyRef,
    /// The key's profile.
    pub profile_id: u32,
    /// The profile's SCAL.
    pub scal: Scal,
    /// The profile's *Hash Algorithm for SAD*: the hash of the SAD's signature.
    pub signature_hash: HashAlgorithm,
    /// The hashes about to be signed; under SCAL2 each must be in the SAD.
    pub hashes_to_sign: &'a [Digest],
    /// The profile's clock tolerance, in seconds.
    pub clock_tolerance_secs: u32,
    /// Now, from the caller's clock.
    pub now: UnixTime,
}

/// A SAD whose every check passed. Only [`verify_sad`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSad {
    sad: Sad,
}

impl VerifiedSad {
    /// The verified SAD.
    pub fn sad(&self) -> &Sad {
        &self.sad
    }
}

fn parse(encoded: &[u8], encoding: SadFormat) -> Result<Parsed, SadError> {
    Ok(match encoding {
        SadFormat::Json => {
            let text = core::str::from_utf8(encoded)
                .map_err(|_| SadError::malformed("JWS", "not UTF-8"))?;
            Parsed::Jws(jws::parse(text)?)
        }
        SadFormat::Der => Parsed::Der(der_sad::parse(encoded)?),
    })
}

enum Parsed {
    Jws(jws::ParsedJws),
    Der(der_sad::ParsedDer),
}

impl Parsed {
    fn sad(&self) -> &Sad {
        match self {
            Self::Jws(p) => &p.sad,
            Self::Der(p) => &p.sad,
        }
    }
}

/// The issuer an encoded SAD names, *unverified*: for looking up the key to verify it with.
pub fn peek_issuer(encoded: &[u8], encoding: SadFormat) -> Result<Issuer, SadError> {
    Ok(parse(encoded, encoding)?.sad().issuer.clone())
}

fn mismatch(field: &'static str, found: impl ToString, expected: impl ToString) -> SadError {
    SadError::Mismatch {
        field,
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

/// Rule 1: the signature under the issuer's key, with the algorithm the key fixes.
/// Verifies the issuer's `signature` over `data` signed with `hash` (ECDSA over the message,
/// so that ES256 and ES384 take `sam_keys::verify_ecdsa_message`'s fast path).
fn verify_signed(
    key: &IssuerKey,
    hash: HashAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> Result<(), SadError> {
    match key.spec {
        KeySpec::Ecdsa(curve) => {
            sam_keys::verify_ecdsa_message(&key.spki_der, curve, hash, data, signature)
        }
        _ => sam_keys::verify(
            &key.spki_der,
            key.spec,
            key.padding,
            &signed_input(key.spec, hash, data),
            signature,
        ),
    }
    .map_err(|_| SadError::BadSignature)
}

fn check_signature(parsed: &Parsed, key: &IssuerKey, hash: HashAlgorithm) -> Result<(), SadError> {
    match parsed {
        Parsed::Jws(p) => {
            let expected = JwsAlgorithm::for_key(key.spec, hash, key.padding).ok_or_else(|| {
                SadError::JsonRule(format!(
                    "JOSE has no algorithm for {} keys with {hash}",
                    key.spec
                ))
            })?;
            if p.alg != expected {
                return Err(SadError::AlgorithmMismatch {
                    found: p.alg.to_string(),
                    expected: expected.to_string(),
                });
            }
            let signature = match key.spec {
                KeySpec::Ecdsa(curve) => {
                    jws::ecdsa_raw_to_der(&p.signature, curve).ok_or(SadError::BadSignature)?
                }
                _ => p.signature.clone(),
            };
            verify_signed(key, hash, p.signing_input.as_bytes(), &signature)
        }
        Parsed::Der(p) => {
            let expected = SignatureAlgorithm::for_key(key.spec, hash, key.padding);
            if p.algorithm != expected {
                return Err(SadError::AlgorithmMismatch {
                    found: p.algorithm.to_string(),
                    expected: expected.to_string(),
                });
            }
            verify_signed(key, hash, &p.tbs, &p.signature)
        }
    }
}

/// Seed 001's rules for JSON SADs: SAD hash at least SHA-256, and an ECDSA issuer key whose
/// curve matches the hash.
fn check_json_rules(key: &IssuerKey, hash: HashAlgorithm) -> Result<(), SadError> {
    if hash.output_bits() < 256 || hash.is_sha3() {
        return Err(SadError::JsonRule(format!(
            "the SAD hash must be SHA-256 or stronger SHA-2, not {hash}"
        )));
    }
    if let KeySpec::Ecdsa(curve) = key.spec
        && curve.matching_hash() != Some(hash)
    {
        return Err(SadError::JsonRule(format!(
            "{curve} keys sign JSON SADs with the hash of their size, not {hash}"
        )));
    }
    Ok(())
}

/// Verifies an encoded SAD against the issuer's key and the expectations; on success, the
/// [`VerifiedSad`] that activation needs.
pub fn verify_sad(
    encoded: &[u8],
    encoding: SadFormat,
    key: &IssuerKey,
    expect: &Expectations<'_>,
) -> Result<VerifiedSad, SadError> {
    let parsed = parse(encoded, encoding)?;
    if encoding == SadFormat::Json {
        check_json_rules(key, expect.signature_hash)?;
    }
    // Rule 1.
    check_signature(&parsed, key, expect.signature_hash)?;
    let sad = parsed.sad();
    if sad.issuer != key.issuer {
        return Err(SadError::OtherIssuer {
            found: sad.issuer.to_string(),
            expected: key.issuer.to_string(),
        });
    }
    if !sad.auth_method.allows(&sad.issuer) {
        return Err(SadError::IssuerNotAllowed {
            issuer: sad.issuer.to_string(),
            method: sad.auth_method.to_string(),
        });
    }
    // Rule 2.
    if sad.audience != *expect.audience {
        return Err(mismatch("audience", &sad.audience, expect.audience));
    }
    if sad.request_id != expect.request_id {
        return Err(mismatch("request_id", sad.request_id, expect.request_id));
    }
    if sad.subject != *expect.subject {
        return Err(mismatch("subject", &sad.subject, expect.subject));
    }
    if sad.key_id != *expect.key_id {
        return Err(mismatch("key_id", &sad.key_id, expect.key_id));
    }
    if sad.profile_id != expect.profile_id {
        return Err(mismatch("profile_id", sad.profile_id, expect.profile_id));
    }
    if sad.scal != expect.scal {
        return Err(mismatch("scal", sad.scal.level(), expect.scal.level()));
    }
    // Rule 3: issued_at - tolerance <= now < expires_at + tolerance.
    let tolerance = i64::from(expect.clock_tolerance_secs);
    let now = expect.now.as_secs();
    if now < sad.issued_at.as_secs() - tolerance {
        return Err(SadError::NotYetValid {
            issued_at: sad.issued_at.to_string(),
            tolerance_secs: expect.clock_tolerance_secs,
        });
    }
    if now >= sad.expires_at.as_secs() + tolerance {
        return Err(SadError::Expired {
            expires_at: sad.expires_at.to_string(),
            tolerance_secs: expect.clock_tolerance_secs,
        });
    }
    sad.authorises(expect.hashes_to_sign)?;
    Ok(VerifiedSad { sad: sad.clone() })
}

impl Sad {
    /// Rule 4, the one home of the hash binding: under SCAL2 — and whenever the SAD names
    /// hashes at all, so that a SCAL1 SAD cannot name something else — every one of `hashes`
    /// is one the SAD names (constant-time comparisons, every named hash compared whatever
    /// matches). A SCAL1 SAD that names none (a seal, an IdP or PIN authorisation of the
    /// request as a whole) binds no hash here.
    pub fn authorises(&self, hashes: &[Digest]) -> Result<(), SadError> {
        if self.scal != Scal::Scal2 && self.hashes.is_empty() {
            return Ok(());
        }
        for (index, wanted) in hashes.iter().enumerate() {
            let found = self
                .hashes
                .iter()
                .fold(subtle::Choice::from(0), |acc, h| acc | h.ct_eq(wanted));
            if !bool::from(found) {
                return Err(SadError::HashNotAuthorised { index });
            }
        }
        Ok(())
    }
}
