//! RFC 3161 time-stamping: the request and response types on the `der` 0.8 stack, a client
//! that checks every response (status, imprint, nonce, policy, the token's signature and
//! the TSA certificate's `timeStamping` purpose), and the [`Services`] that
//! [`crate::complete`] uses.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString, Uint};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;

use sam_algorithms::calendar::CivilTime;
use sam_algorithms::{Digest, HashAlgorithm, UnixTime};

use crate::attributes::{hash_from_identifier, hash_identifier};
use crate::signed_data::SignedData;
use crate::{CmsError, oids};

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier,
/// hashedMessage OCTET STRING }` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the time-stamped data.
    pub hashed_message: OctetString,
}

impl MessageImprint {
    /// The imprint of a digest.
    pub fn new(digest: &Digest) -> Result<Self, CmsError> {
        Ok(Self {
            hash_algorithm: hash_identifier(digest.algorithm()),
            hashed_message: crate::prepare::octets(digest.as_bytes().to_vec())?,
        })
    }

    /// Whether the imprint is the digest of `data`.
    pub fn matches(&self, data: &[u8]) -> Result<bool, CmsError> {
        let hash = hash_from_identifier(&self.hash_algorithm)?;
        let expected = hash.digest(data);
        let found = Digest::new(hash, self.hashed_message.as_bytes())?;
        Ok(found == expected)
    }
}

/// `TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint MessageImprint,
/// reqPolicy TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE,
/// extensions [0] IMPLICIT Extensions OPTIONAL }` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Always 1.
    pub version: u8,
    /// What is time-stamped.
    pub message_imprint: MessageImprint,
    /// The policy asked for.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A random number the response must echo.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// Whether the TSA must include its certificate in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Extensions (never written by `sam`).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
/// failInfo PKIFailureInfo OPTIONAL }` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 1 granted with modifications, 2 rejection, 3 waiting, 4 revocation
    /// warning, 5 revocation notification.
    pub status: u8,
    /// Text from the TSA.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Why the request failed, as bits.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken
/// OPTIONAL }` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// The outcome.
    pub status: PkiStatusInfo,
    /// The token, when granted.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// `TSTInfo ::= SEQUENCE { version INTEGER { v1(1) }, policy TSAPolicyId,
/// messageImprint MessageImprint, serialNumber INTEGER, genTime GeneralizedTime,
/// accuracy Accuracy OPTIONAL, ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL,
/// tsa [0] GeneralName OPTIONAL, extensions [1] IMPLICIT Extensions OPTIONAL }`
/// (RFC 3161 §2.4.2). `genTime` is kept as read: TSAs may add fractional seconds, which
/// [`TstInfo::gen_time`] accepts.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// Always 1.
    pub version: u8,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// What was time-stamped.
    pub message_imprint: MessageImprint,
    /// The token's serial number.
    pub serial_number: der::asn1::Int,
    /// The time (GeneralizedTime, possibly with fractional seconds).
    pub gen_time: Any,
    /// The accuracy (kept, not interpreted).
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens of this TSA can be ordered by `genTime` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The nonce of the request.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
/// micros [1] INTEGER (1..999) OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    /// Milliseconds.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

impl TstInfo {
    /// `genTime` as a Unix time (fractional seconds dropped).
    pub fn gen_time(&self) -> Result<UnixTime, CmsError> {
        if self.gen_time.tag() != Tag::GeneralizedTime {
            return Err(CmsError::TimeStamp(
                "genTime is not a GeneralizedTime".into(),
            ));
        }
        parse_generalized_time(self.gen_time.value())
    }
}

/// `YYYYMMDDHHMMSS[.f+]Z` (X.680 §46 as RFC 3161 §2.4.2 restricts it).
fn parse_generalized_time(text: &[u8]) -> Result<UnixTime, CmsError> {
    let bad = || {
        CmsError::TimeStamp(format!(
            "genTime {:?} is not YYYYMMDDHHMMSS[.f]Z",
            String::from_utf8_lossy(text)
        ))
    };
    if text.len() < 15 || text.len() > 40 || text.last() != Some(&b'Z') {
        return Err(bad());
    }
    let digits = &text[..14];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let rest = &text[14..text.len() - 1];
    if !rest.is_empty() {
        // A fraction: '.', at least one digit, no trailing zero (DER).
        let ok = rest.len() >= 2
            && rest[0] == b'.'
            && rest[1..].iter().all(u8::is_ascii_digit)
            && rest.last() != Some(&b'0');
        if !ok {
            return Err(bad());
        }
    }
    let num = |r: core::ops::Range<usize>| -> u32 {
        digits[r]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let civil = CivilTime {
        year: i64::from(num(0..4)),
        month: num(4..6),
        day: num(6..8),
        hour: num(8..10),
        minute: num(10..12),
        second: num(12..14),
    };
    UnixTime::from_civil(civil).map_err(|_| bad())
}

/// A time-stamp token: a `ContentInfo` holding `SignedData` over a `TSTInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampToken {
    content_info: ContentInfo,
    /// The whole `ContentInfo`, as an attribute value.
    value: Any,
    info: TstInfo,
}

impl TimeStampToken {
    /// Reads a token (DER `ContentInfo`) without checking its signature.
    pub fn from_der(der: &[u8]) -> Result<Self, CmsError> {
        let content_info = ContentInfo::from_der(der).map_err(CmsError::der("time-stamp token"))?;
        Self::from_content_info(content_info)
    }

    fn from_content_info(content_info: ContentInfo) -> Result<Self, CmsError> {
        if content_info.content_type != oids::SIGNED_DATA {
            return Err(CmsError::TimeStamp("the token is not SignedData".into()));
        }
        let signed: SignedData = content_info
            .content
            .decode_as()
            .map_err(CmsError::der("time-stamp token"))?;
        let info = tst_info_of(&signed)?;
        let value = Any::encode_from(&content_info).map_err(CmsError::der("time-stamp token"))?;
        Ok(Self {
            content_info,
            value,
            info,
        })
    }

    /// The token as an attribute value.
    pub fn as_any(&self) -> &Any {
        &self.value
    }

    /// The DER encoding of the token.
    pub fn to_der(&self) -> Result<Vec<u8>, CmsError> {
        self.content_info
            .to_der()
            .map_err(CmsError::der("time-stamp token"))
    }

    /// The certificates the token carries (the TSA's, and its chain when the TSA adds it).
    pub fn certificates(&self) -> Result<Vec<Certificate>, CmsError> {
        let signed: SignedData = self
            .content_info
            .content
            .decode_as()
            .map_err(CmsError::der("time-stamp token"))?;
        Ok(signed
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                _ => None,
            })
            .collect())
    }

    /// The `TSTInfo`.
    pub fn info(&self) -> &TstInfo {
        &self.info
    }

    /// Checks the token's signature and its TSA certificate, and that it time-stamps
    /// `data`; returns the TSA certificate.
    pub fn verify_for(&self, data: &[u8]) -> Result<Certificate, CmsError> {
        if !self.info.message_imprint.matches(data)? {
            return Err(CmsError::verification(
                "the time-stamp token's imprint is not the hash of the time-stamped data",
            ));
        }
        self.verify_signature()
    }

    /// Checks the token's signature and that its signer is a time-stamping certificate
    /// (RFC 3161 §2.3), not what it time-stamps; returns the TSA certificate.
    pub fn verify_signature(&self) -> Result<Certificate, CmsError> {
        let signed: SignedData = self
            .content_info
            .content
            .decode_as()
            .map_err(CmsError::der("time-stamp token"))?;
        let checked = crate::verify::check_signed_data(&signed, &crate::verify::Detached::None)?;
        check_time_stamping_purpose(&checked.signer)?;
        Ok(checked.signer)
    }
}

fn tst_info_of(signed: &SignedData) -> Result<TstInfo, CmsError> {
    let encap = &signed.encap_content_info;
    if encap.econtent_type != oids::TST_INFO {
        return Err(CmsError::TimeStamp(format!(
            "the token's content type is {}, not id-ct-TSTInfo",
            encap.econtent_type
        )));
    }
    let econtent = encap
        .econtent
        .as_ref()
        .ok_or_else(|| CmsError::TimeStamp("the token has no TSTInfo".into()))?;
    let octets: OctetString = econtent
        .decode_as()
        .map_err(CmsError::der("TSTInfo content"))?;
    let info = TstInfo::from_der(octets.as_bytes()).map_err(CmsError::der("TSTInfo"))?;
    if info.version != 1 {
        return Err(CmsError::TimeStamp(format!(
            "TSTInfo version {}",
            info.version
        )));
    }
    info.gen_time()?;
    Ok(info)
}

/// RFC 3161 §2.3: the TSA certificate has exactly one extended key usage,
/// `id-kp-timeStamping`, and the extension is critical.
fn check_time_stamping_purpose(cert: &Certificate) -> Result<(), CmsError> {
    use x509_cert::ext::pkix::ExtendedKeyUsage;
    let found = cert
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .map_err(CmsError::der("TSA certificate extended key usage"))?;
    match found {
        Some((true, eku)) if eku.0 == [oids::KP_TIME_STAMPING] => Ok(()),
        Some((false, _)) => Err(CmsError::verification(
            "the TSA certificate's extended key usage is not critical (RFC 3161 §2.3)",
        )),
        _ => Err(CmsError::verification(
            "the TSA certificate is not for time-stamping only (RFC 3161 §2.3)",
        )),
    }
}

/// Where a request goes: the HTTP transport of RFC 3161 §3.4, or anything else.
pub trait Transport: Send + Sync {
    /// POSTs `body` with `content_type` to `url` and returns the response body.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, CmsError>;
    /// GETs `url` (CRLs, RFC 5280 §4.2.1.13).
    fn get(&self, url: &str) -> Result<Vec<u8>, CmsError>;
}

/// The most bytes of a nonce a caller may choose (RFC 3161 leaves the size open; 64 bits is
/// usual, 256 is ample).
pub const MAX_NONCE_LEN: usize = 32;

/// A source of time-stamps.
pub trait TimeStampAuthority: Send + Sync {
    /// A checked token that time-stamps `data` (the signature value, EN 319 122-1 §5.3).
    fn time_stamp(&self, data: &[u8]) -> Result<TimeStampToken, CmsError>;

    /// A checked token whose imprint is `digest`, computed by the caller (a signature
    /// application's hash, CSC API `signatures/timestamp`). `nonce` is the caller's
    /// (big-endian, at most [`MAX_NONCE_LEN`] bytes) and the token must carry it; without
    /// one, a fresh random nonce guards the exchange with the TSA.
    fn time_stamp_digest(
        &self,
        digest: &Digest,
        nonce: Option<&[u8]>,
    ) -> Result<TimeStampToken, CmsError>;
}

/// An RFC 3161 client: builds the request with a fresh nonce, asks for the TSA
/// certificate, and accepts a response only when every check passes.
pub struct TimeStampClient<T> {
    url: String,
    hash: HashAlgorithm,
    policy: Option<ObjectIdentifier>,
    transport: T,
}

impl<T: Transport> TimeStampClient<T> {
    /// A client of the TSA at `url`, hashing with SHA-256 and no policy.
    pub fn new(url: impl Into<String>, transport: T) -> Self {
        Self {
            url: url.into(),
            hash: HashAlgorithm::Sha256,
            policy: None,
            transport,
        }
    }

    /// The hash of the message imprint.
    pub fn with_hash(mut self, hash: HashAlgorithm) -> Self {
        self.hash = hash;
        self
    }

    /// The policy to ask for; the token must carry it.
    pub fn with_policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The request for `data` with `nonce`.
    pub fn request(&self, data: &[u8], nonce: [u8; 8]) -> Result<TimeStampReq, CmsError> {
        self.request_for_digest(&self.hash.digest(data), &nonce)
    }

    /// The request for a digest computed elsewhere, with `nonce` (big-endian, 1 to
    /// [`MAX_NONCE_LEN`] bytes).
    pub fn request_for_digest(
        &self,
        digest: &Digest,
        nonce: &[u8],
    ) -> Result<TimeStampReq, CmsError> {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(CmsError::TimeStamp(format!(
                "a nonce has 1 to {MAX_NONCE_LEN} bytes, not {}",
                nonce.len()
            )));
        }
        Ok(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint::new(digest)?,
            req_policy: self.policy,
            nonce: Some(Uint::new(nonce).map_err(CmsError::der("nonce"))?),
            cert_req: true,
            extensions: None,
        })
    }

    /// Checks a response to `request` for `data`.
    pub fn accept(
        &self,
        request: &TimeStampReq,
        data: &[u8],
        response_der: &[u8],
    ) -> Result<TimeStampToken, CmsError> {
        if !request.message_imprint.matches(data)? {
            return Err(CmsError::TimeStamp(
                "the request's imprint is not the hash of the data".into(),
            ));
        }
        self.accept_response(request, response_der)
    }

    /// Checks a response to `request`: granted, the request's imprint, nonce and policy, a
    /// valid signature by a time-stamping certificate.
    pub fn accept_response(
        &self,
        request: &TimeStampReq,
        response_der: &[u8],
    ) -> Result<TimeStampToken, CmsError> {
        let response = TimeStampResp::from_der(response_der).map_err(|e| {
            CmsError::TimeStamp(format!("the response is not a TimeStampResp: {e}"))
        })?;
        let status = &response.status;
        if status.status > 1 {
            let text = status
                .status_string
                .as_ref()
                .map(|s| s.join("; "))
                .unwrap_or_default();
            return Err(CmsError::TimeStamp(format!(
                "the TSA refused the request (status {}{}{})",
                status.status,
                if text.is_empty() { "" } else { ": " },
                text
            )));
        }
        let token = TimeStampToken::from_content_info(
            response
                .time_stamp_token
                .ok_or_else(|| CmsError::TimeStamp("the response has no token".into()))?,
        )?;
        let info = token.info();
        if info.message_imprint != request.message_imprint {
            return Err(CmsError::TimeStamp(
                "the token's imprint differs from the request's".into(),
            ));
        }
        if info.nonce != request.nonce {
            return Err(CmsError::TimeStamp(
                "the token's nonce differs from the request's".into(),
            ));
        }
        if let Some(policy) = request.req_policy
            && info.policy != policy
        {
            return Err(CmsError::TimeStamp(format!(
                "the token's policy is {}, not the requested {policy}",
                info.policy
            )));
        }
        // The imprint is the request's (checked above), so the signature is what is left.
        token.verify_signature()?;
        Ok(token)
    }

    fn exchange(&self, request: &TimeStampReq) -> Result<TimeStampToken, CmsError> {
        let body = request
            .to_der()
            .map_err(CmsError::der("time-stamp request"))?;
        let response = self
            .transport
            .post(&self.url, "application/timestamp-query", &body)?;
        self.accept_response(request, &response)
    }
}

fn fresh_nonce() -> Result<[u8; 8], CmsError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| CmsError::TimeStamp(format!("nonce: {e}")))?;
    Ok(nonce)
}

impl<T: Transport> TimeStampAuthority for TimeStampClient<T> {
    fn time_stamp(&self, data: &[u8]) -> Result<TimeStampToken, CmsError> {
        self.exchange(&self.request(data, fresh_nonce()?)?)
    }

    fn time_stamp_digest(
        &self,
        digest: &Digest,
        nonce: Option<&[u8]>,
    ) -> Result<TimeStampToken, CmsError> {
        let fresh;
        let nonce = match nonce {
            Some(n) => n,
            None => {
                fresh = fresh_nonce()?;
                &fresh
            }
        };
        self.exchange(&self.request_for_digest(digest, nonce)?)
    }
}

/// What [`crate::complete`] may call out to.
#[derive(Clone, Copy, Default)]
pub struct Services<'a> {
    /// The time-stamp authority for `cades-b-t` and `cades-b-lt`.
    pub time_stamp_authority: Option<&'a dyn TimeStampAuthority>,
    /// The revocation values for `cades-b-lt`.
    pub revocation: Option<&'a dyn crate::revocation::RevocationSource>,
}

impl<'a> Services<'a> {
    /// No services: enough for raw, CMS and CAdES-B-B.
    pub fn none() -> Self {
        Self::default()
    }

    /// With a time-stamp authority.
    pub fn with_time_stamps(tsa: &'a dyn TimeStampAuthority) -> Self {
        Self {
            time_stamp_authority: Some(tsa),
            revocation: None,
        }
    }

    /// With a time-stamp authority and a source of revocation values (for `cades-b-lt`).
    pub fn with_validation_data(
        tsa: &'a dyn TimeStampAuthority,
        revocation: &'a dyn crate::revocation::RevocationSource,
    ) -> Self {
        Self {
            time_stamp_authority: Some(tsa),
            revocation: Some(revocation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_time_with_and_without_fractions() {
        let t = parse_generalized_time(b"20261122103000Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T10:30:00Z");
        let f = parse_generalized_time(b"20261122103000.125Z").unwrap();
        assert_eq!(f, t);
        for bad in [
            &b"20261122103000"[..],
            b"2026112210300Z",
            b"20261122103000.Z",
            b"20261122103000.10Z",
            b"20261322103000Z",
            b"2026112210300aZ",
            b"",
        ] {
            assert!(parse_generalized_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_round_trips_and_omits_default_fields() {
        struct Nowhere;
        impl Transport for Nowhere {
            fn post(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, CmsError> {
                Err(CmsError::Transport("offline".into()))
            }
            fn get(&self, _: &str) -> Result<Vec<u8>, CmsError> {
                Err(CmsError::Transport("offline".into()))
            }
        }
        let client = TimeStampClient::new("http://tsa.invalid", Nowhere);
        let req = client
            .request(b"signature", [0x80, 1, 2, 3, 4, 5, 6, 7])
            .unwrap();
        let der = req.to_der().unwrap();
        assert_eq!(TimeStampReq::from_der(&der).unwrap(), req);
        // A nonce with the top bit set is still a positive INTEGER (leading zero byte).
        assert!(der.windows(3).any(|w| w == [0x02, 0x09, 0x00]));
        assert!(matches!(
            client.time_stamp(b"signature"),
            Err(CmsError::Transport(_))
        ));
    }
}
