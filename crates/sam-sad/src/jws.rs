//! The JSON encoding of a SAD: a JWS compact serialisation (RFC 7515 §7.1) with
//! `typ` `sad+jwt` and the claims below; algorithms of RFC 7518 §3 (RS*, PS*, ES* with the
//! raw `r ‖ s` signature of §3.4), RFC 8812 (ES256K) and ML-DSA.
//!
//! Claims: `jti` (SAD id), `request_id`, `iss`, `sub`, `aud`, `key_id`, `profile_id`, `scal`,
//! `hash_algorithm` (dotted OID), `hashes` (base64url, no padding), `num_signatures`, `mode`,
//! `auth_method`, `assertion` (IdP only), `iat`, `exp` (seconds since the epoch). Unknown
//! claims and header parameters are refused: a SAD means exactly what it says.

use base64ct::{Base64UrlUnpadded, Encoding};
use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use sam_algorithms::{Digest, EcCurve, HashAlgorithm, JwsAlgorithm, KeySpec, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::SadError;
use crate::ids::{Id128, InstanceId, Issuer, KeyRef, UserId};
use crate::sad::{AuthMethod, MAX_SAD_LEN, Sad, SadMode, Scal};

/// The `scal` claim: the level's number (1 or 2), nothing else.
mod scal_level {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Scal;

    pub(super) fn serialize<S: Serializer>(scal: &Scal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(scal.level())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scal, D::Error> {
        let n = u8::deserialize(d)?;
        Scal::from_level(n).ok_or_else(|| serde::de::Error::custom("scal: expected 1 or 2"))
    }
}

/// The `typ` header of a JSON SAD.
pub const SAD_JWT_TYPE: &str = "sad+jwt";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: JwsAlgorithm,
    typ: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    jti: Id128,
    request_id: Id128,
    iss: Issuer,
    sub: UserId,
    aud: InstanceId,
    key_id: KeyRef,
    profile_id: u32,
    #[serde(with = "scal_level")]
    scal: Scal,
    hash_algorithm: String,
    hashes: Vec<String>,
    num_signatures: u32,
    mode: SadMode,
    auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assertion: Option<String>,
    iat: i64,
    exp: i64,
}

fn bad(reason: impl ToString) -> SadError {
    SadError::malformed("JWS", reason)
}

fn claims(sad: &Sad) -> Claims {
    Claims {
        jti: sad.sad_id,
        request_id: sad.request_id,
        iss: sad.issuer.clone(),
        sub: sad.subject.clone(),
        aud: sad.audience.clone(),
        key_id: sad.key_id.clone(),
        profile_id: sad.profile_id,
        scal: sad.scal,
        hash_algorithm: sad.hash_algorithm.oid().to_string(),
        hashes: sad
            .hashes
            .iter()
            .map(|h| Base64UrlUnpadded::encode_string(h.as_bytes()))
            .collect(),
        num_signatures: sad.num_signatures,
        mode: sad.mode,
        auth_method: sad.auth_method,
        assertion: sad.assertion.clone(),
        iat: sad.issued_at.as_secs(),
        exp: sad.expires_at.as_secs(),
    }
}

fn sad_from_claims(c: Claims) -> Result<Sad, SadError> {
    let oid = c
        .hash_algorithm
        .parse()
        .map_err(|_| SadError::field("hash_algorithm", "not an object identifier"))?;
    let hash_algorithm = HashAlgorithm::from_oid(&oid)
        .map_err(|e| SadError::field("hash_algorithm", e.to_string()))?;
    let hashes = c
        .hashes
        .iter()
        .map(|h| {
            let bytes = Base64UrlUnpadded::decode_vec(h)
                .map_err(|_| SadError::field("hashes", "not base64url without padding"))?;
            Digest::new(hash_algorithm, &bytes)
                .map_err(|e| SadError::field("hashes", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let time = |field: &'static str, secs: i64| {
        UnixTime::from_secs(secs).ok_or_else(|| SadError::field(field, "out of range"))
    };
    let sad = Sad {
        sad_id: c.jti,
        request_id: c.request_id,
        issuer: c.iss,
        subject: c.sub,
        audience: c.aud,
        key_id: c.key_id,
        profile_id: c.profile_id,
        scal: c.scal,
        hash_algorithm,
        hashes,
        num_signatures: c.num_signatures,
        mode: c.mode,
        auth_method: c.auth_method,
        assertion: c.assertion,
        issued_at: time("iat", c.iat)?,
        expires_at: time("exp", c.exp)?,
    };
    sad.check()?;
    Ok(sad)
}

/// The JWS signing input (`BASE64URL(header) '.' BASE64URL(payload)`) of `sad` under `alg`.
pub(crate) fn signing_input(sad: &Sad, alg: JwsAlgorithm) -> Result<String, SadError> {
    sad.check()?;
    let header = serde_json::to_vec(&Header {
        alg,
        typ: SAD_JWT_TYPE.into(),
    })
    .map_err(bad)?;
    let payload = serde_json::to_vec(&claims(sad)).map_err(bad)?;
    Ok(format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(&header),
        Base64UrlUnpadded::encode_string(&payload)
    ))
}

/// A JWS SAD, parsed but not yet verified.
#[derive(Clone, Debug)]
pub(crate) struct ParsedJws {
    pub(crate) sad: Sad,
    pub(crate) alg: JwsAlgorithm,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

/// Parses a compact JWS SAD; any input gives a value or an error.
pub(crate) fn parse(text: &str) -> Result<ParsedJws, SadError> {
    if text.len() > MAX_SAD_LEN {
        return Err(bad(format!("longer than {MAX_SAD_LEN} bytes")));
    }
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected three '.'-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        Base64UrlUnpadded::decode_vec(part)
            .map_err(|_| bad(format!("the {what} is not base64url without padding")))
    };
    let header: Header =
        serde_json::from_slice(&decode(h, "header")?).map_err(|e| bad(format!("header: {e}")))?;
    if header.typ != SAD_JWT_TYPE {
        return Err(bad(format!("typ is not {SAD_JWT_TYPE}")));
    }
    let claims: Claims =
        serde_json::from_slice(&decode(p, "payload")?).map_err(|e| bad(format!("payload: {e}")))?;
    Ok(ParsedJws {
        sad: sad_from_claims(claims)?,
        alg: header.alg,
        signing_input: format!("{h}.{p}"),
        signature: decode(s, "signature")?,
    })
}

/// Completes a JWS from its signing input and signature.
pub(crate) fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!(
        "{signing_input}.{}",
        Base64UrlUnpadded::encode_string(signature)
    )
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// The size in bytes of each of `r` and `s` for a curve (RFC 7518 §3.4).
pub(crate) fn ecdsa_field_len(curve: EcCurve) -> usize {
    (curve.bits() as usize).div_ceil(8)
}

/// DER `ECDSA-Sig-Value` to JWS `r ‖ s`.
pub(crate) fn ecdsa_der_to_raw(der: &[u8], spec: KeySpec) -> Result<Vec<u8>, SadError> {
    let KeySpec::Ecdsa(curve) = spec else {
        return Ok(der.to_vec());
    };
    let n = ecdsa_field_len(curve);
    let sig = EcdsaSigValue::from_der(der).map_err(|e| SadError::Signing(e.to_string()))?;
    let mut out = vec![0u8; 2 * n];
    for (i, part) in [sig.r.as_bytes(), sig.s.as_bytes()].into_iter().enumerate() {
        if part.len() > n {
            return Err(SadError::Signing(
                "ECDSA value longer than the curve".into(),
            ));
        }
        out[(i + 1) * n - part.len()..(i + 1) * n].copy_from_slice(part);
    }
    Ok(out)
}

/// JWS `r ‖ s` to DER `ECDSA-Sig-Value`; `None` if the length is not the curve's.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8], curve: EcCurve) -> Option<Vec<u8>> {
    let n = ecdsa_field_len(curve);
    if raw.len() != 2 * n {
        return None;
    }
    let (r, s) = raw.split_at(n);
    EcdsaSigValue {
        r: UintRef::new(r).ok()?,
        s: UintRef::new(s).ok()?,
    }
    .to_der()
    .ok()
}
