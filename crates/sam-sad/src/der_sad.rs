//! The DER encoding of a SAD (ITU-T X.690), with the ASN.1 module of `docs/sad.md`:
//!
//! ```text
//! SignatureActivationData ::= SEQUENCE {
//!     tbs                 TBSSignatureActivationData,
//!     signatureAlgorithm  AlgorithmIdentifier,
//!     signature           BIT STRING }
//!
//! TBSSignatureActivationData ::= SEQUENCE {
//!     version        INTEGER (1),
//!     sadId          OCTET STRING (SIZE (16)),
//!     requestId      OCTET STRING (SIZE (16)),
//!     issuer         UTF8String,      -- "device:<id>", "client:<id>" or "sam:<id>"
//!     subject        UTF8String,
//!     audience       UTF8String,
//!     keyId          UTF8String,
//!     profileId      INTEGER (1..4294967295),
//!     scal           INTEGER (1 | 2),
//!     hashAlgorithm  AlgorithmIdentifier,
//!     hashes         SEQUENCE SIZE (0..1000) OF OCTET STRING,
//!     numSignatures  INTEGER (1..4294967295),
//!     mode           ENUMERATED { transaction (0), seal (1) },
//!     authMethod     ENUMERATED { device (0), otp (1), pin (2), idp (3), renewal (4) },
//!     assertion      [0] EXPLICIT UTF8String OPTIONAL,
//!     issuedAt       GeneralizedTime,
//!     expiresAt      GeneralizedTime }
//! ```
//!
//! The signature is over the DER of `tbs` exactly as received (RSA and ECDSA over its digest
//! under the SAD hash; ML-DSA over the bytes themselves); ECDSA signatures are DER
//! `ECDSA-Sig-Value`, as in X.509.

use core::time::Duration;

use der::asn1::{AnyRef, BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode, Sequence};
use sam_algorithms::{Digest, HashAlgorithm, SignatureAlgorithm, UnixTime};
use spki::AlgorithmIdentifierOwned;

use crate::error::SadError;
use crate::ids::Id128;
use crate::sad::{AuthMethod, MAX_SAD_LEN, Sad, SadMode, Scal};

const VERSION: u8 = 1;

#[derive(Sequence)]
struct TbsDer {
    version: u8,
    sad_id: OctetString,
    request_id: OctetString,
    issuer: String,
    subject: String,
    audience: String,
    key_id: String,
    profile_id: u32,
    scal: u8,
    hash_algorithm: AlgorithmIdentifierOwned,
    hashes: Vec<OctetString>,
    num_signatures: u32,
    mode: SadMode,
    auth_method: AuthMethod,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    assertion: Option<String>,
    issued_at: GeneralizedTime,
    expires_at: GeneralizedTime,
}

#[derive(Sequence)]
struct SadDer<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn bad(reason: impl ToString) -> SadError {
    SadError::malformed("DER", reason)
}

fn time_to_der(t: UnixTime) -> Result<GeneralizedTime, SadError> {
    let secs = u64::try_from(t.as_secs()).map_err(|_| bad("times before 1970 are not encoded"))?;
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(bad)
}

fn time_from_der(t: &GeneralizedTime) -> Result<UnixTime, SadError> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).map_err(bad)?;
    UnixTime::from_secs(secs).ok_or_else(|| bad("time out of range"))
}

/// The DER of the SAD's `TBSSignatureActivationData`.
pub(crate) fn tbs_der(sad: &Sad) -> Result<Vec<u8>, SadError> {
    sad.check()?;
    let octets = |bytes: &[u8]| OctetString::new(bytes.to_vec()).map_err(bad);
    TbsDer {
        version: VERSION,
        sad_id: octets(sad.sad_id.as_bytes())?,
        request_id: octets(sad.request_id.as_bytes())?,
        issuer: sad.issuer.to_string(),
        subject: sad.subject.to_string(),
        audience: sad.audience.to_string(),
        key_id: sad.key_id.to_string(),
        profile_id: sad.profile_id,
        scal: sad.scal.level(),
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: sad.hash_algorithm.oid(),
            parameters: None,
        },
        hashes: sad
            .hashes
            .iter()
            .map(|h| octets(h.as_bytes()))
            .collect::<Result<_, _>>()?,
        num_signatures: sad.num_signatures,
        mode: sad.mode,
        auth_method: sad.auth_method,
        assertion: sad.assertion.clone(),
        issued_at: time_to_der(sad.issued_at)?,
        expires_at: time_to_der(sad.expires_at)?,
    }
    .to_der()
    .map_err(bad)
}

fn id(octets: &OctetString, field: &'static str) -> Result<Id128, SadError> {
    let bytes: [u8; 16] = octets
        .as_bytes()
        .try_into()
        .map_err(|_| SadError::field(field, "must be 16 bytes"))?;
    Ok(Id128::from_bytes(bytes))
}

/// Decodes and checks a `TBSSignatureActivationData`.
fn sad_from_tbs(tbs: &[u8]) -> Result<Sad, SadError> {
    let t = TbsDer::from_der(tbs).map_err(bad)?;
    if t.version != VERSION {
        return Err(SadError::field("version", format!("expected {VERSION}")));
    }
    if t.hash_algorithm.parameters.is_some() {
        return Err(SadError::field(
            "hash_algorithm",
            "parameters must be absent",
        ));
    }
    let hash_algorithm = HashAlgorithm::from_oid(&t.hash_algorithm.oid)
        .map_err(|e| SadError::field("hash_algorithm", e.to_string()))?;
    let hashes = t
        .hashes
        .iter()
        .map(|h| Digest::new(hash_algorithm, h.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SadError::field("hashes", e.to_string()))?;
    let sad = Sad {
        sad_id: id(&t.sad_id, "sad_id")?,
        request_id: id(&t.request_id, "request_id")?,
        issuer: t.issuer.parse()?,
        subject: t.subject.parse()?,
        audience: t.audience.parse()?,
        key_id: t.key_id.parse()?,
        profile_id: t.profile_id,
        scal: Scal::from_level(t.scal).ok_or_else(|| SadError::field("scal", "expected 1 or 2"))?,
        hash_algorithm,
        hashes,
        num_signatures: t.num_signatures,
        mode: t.mode,
        auth_method: t.auth_method,
        assertion: t.assertion,
        issued_at: time_from_der(&t.issued_at)?,
        expires_at: time_from_der(&t.expires_at)?,
    };
    sad.check()?;
    Ok(sad)
}

/// A DER SAD, parsed but not yet verified.
#[derive(Clone, Debug)]
pub(crate) struct ParsedDer {
    pub(crate) sad: Sad,
    pub(crate) tbs: Vec<u8>,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) signature: Vec<u8>,
}

/// Parses a DER `SignatureActivationData`; any input gives a value or an error.
pub(crate) fn parse(der: &[u8]) -> Result<ParsedDer, SadError> {
    if der.len() > MAX_SAD_LEN {
        return Err(bad(format!("longer than {MAX_SAD_LEN} bytes")));
    }
    let outer = SadDer::from_der(der).map_err(bad)?;
    let tbs = outer.tbs.to_der().map_err(bad)?;
    let algorithm = SignatureAlgorithm::from_algorithm_identifier(&outer.signature_algorithm)
        .map_err(|e| SadError::field("signature_algorithm", e.to_string()))?;
    let signature = outer
        .signature
        .as_bytes()
        .ok_or_else(|| bad("the signature has unused bits"))?
        .to_vec();
    Ok(ParsedDer {
        sad: sad_from_tbs(&tbs)?,
        tbs,
        algorithm,
        signature,
    })
}

/// Assembles a `SignatureActivationData` from its parts.
pub(crate) fn assemble(
    tbs: &[u8],
    algorithm: SignatureAlgorithm,
    signature: &[u8],
) -> Result<Vec<u8>, SadError> {
    SadDer {
        tbs: AnyRef::try_from(tbs).map_err(bad)?,
        signature_algorithm: algorithm
            .algorithm_identifier()
            .map_err(|e| SadError::Signing(e.to_string()))?,
        signature: BitString::from_bytes(signature).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}
