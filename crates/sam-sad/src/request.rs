//! The authorisation request message: what the user's device is shown, and what the SAD that
//! answers it must repeat (PROTOCOL.md, the flow of one signature, steps 1–2).
//!
//! Its canonical encoding is DER (X.690 distinguished encoding: one value, one byte string),
//! so that `sam`, the device and an auditor compute the same bytes and the same
//! [`AuthorisationRequest::digest`]:
//!
//! ```text
//! AuthorisationRequest ::= SEQUENCE {
//!     version        INTEGER (1),
//!     requestId      OCTET STRING (SIZE (16)),
//!     client         UTF8String,
//!     subject        UTF8String,
//!     keyId          UTF8String,
//!     profileId      INTEGER (1..4294967295),
//!     hashAlgorithm  AlgorithmIdentifier,                -- parameters absent
//!     documents      SEQUENCE SIZE (1..1000) OF DocumentToSign,
//!     numSignatures  INTEGER (1..4294967295),
//!     mode           ENUMERATED { transaction (0), seal (1) },
//!     description    [0] EXPLICIT UTF8String OPTIONAL,
//!     createdAt      GeneralizedTime,
//!     expiresAt      GeneralizedTime }
//!
//! DocumentToSign ::= SEQUENCE {
//!     label  UTF8String (SIZE (1..256)),
//!     hash   OCTET STRING }
//! ```

use core::time::Duration;

use der::asn1::{GeneralizedTime, OctetString};
use der::{Decode, Encode, Sequence};
use sam_algorithms::{Digest, HashAlgorithm, UnixTime};
use spki::AlgorithmIdentifierOwned;

use crate::error::SadError;
use crate::ids::{ClientId, Id128, InstanceId, Issuer, KeyRef, UserId};
use crate::sad::{AuthMethod, MAX_HASHES, Sad, SadMode, Scal};

/// The longest document label, in characters.
pub const MAX_LABEL_CHARS: usize = 256;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The largest encoded request accepted, in bytes.
pub const MAX_REQUEST_LEN: usize = 512 * 1024;

const VERSION: u8 = 1;

/// One document of a request: the label the user sees and the hash that will be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentToSign {
    /// What the device shows (a file name, a title).
    pub label: String,
    /// The DTBS/R hash.
    pub hash: Digest,
}

/// A request for the user's authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorisationRequest {
    /// The request's id.
    pub request_id: Id128,
    /// The business application asking.
    pub client: ClientId,
    /// The user asked.
    pub subject: UserId,
    /// The key to be used.
    pub key_id: KeyRef,
    /// The key's profile.
    pub profile_id: u32,
    /// The algorithm of the documents' hashes.
    pub hash_algorithm: HashAlgorithm,
    /// The documents, 1 to [`MAX_HASHES`].
    pub documents: Vec<DocumentToSign>,
    /// How many signatures the answer allows.
    pub num_signatures: u32,
    /// One use or seal.
    pub mode: SadMode,
    /// A description for the user.
    pub description: Option<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it expires unanswered.
    pub expires_at: UnixTime,
}

#[derive(Sequence)]
struct DocumentDer {
    label: String,
    hash: OctetString,
}

#[derive(Sequence)]
struct RequestDer {
    version: u8,
    request_id: OctetString,
    client: String,
    subject: String,
    key_id: String,
    profile_id: u32,
    hash_algorithm: AlgorithmIdentifierOwned,
    documents: Vec<DocumentDer>,
    num_signatures: u32,
    mode: SadMode,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    description: Option<String>,
    created_at: GeneralizedTime,
    expires_at: GeneralizedTime,
}

fn bad(reason: impl ToString) -> SadError {
    SadError::malformed("DER authorisation request", reason)
}

fn text_ok(text: &str, max: usize, allow_newlines: bool) -> bool {
    !text.trim().is_empty()
        && text.chars().count() <= max
        && !text
            .chars()
            .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
}

impl AuthorisationRequest {
    /// Checks bounds and consistency.
    pub fn check(&self) -> Result<(), SadError> {
        if self.profile_id == 0 {
            return Err(SadError::field("profile_id", "must be at least 1"));
        }
        // A seal authorises a count of signatures over documents not known yet, so it may
        // name none; a transaction names what it signs.
        let least = usize::from(self.mode == SadMode::Transaction);
        if self.documents.len() < least || self.documents.len() > MAX_HASHES {
            return Err(SadError::field(
                "documents",
                format!("{least} to {MAX_HASHES} documents"),
            ));
        }
        for (i, d) in self.documents.iter().enumerate() {
            if !text_ok(&d.label, MAX_LABEL_CHARS, false) {
                return Err(SadError::field(
                    "documents",
                    format!("label {i} must be 1 to {MAX_LABEL_CHARS} characters, one line"),
                ));
            }
            if d.hash.algorithm() != self.hash_algorithm {
                return Err(SadError::field(
                    "documents",
                    format!("hash {i} is not a {} digest", self.hash_algorithm),
                ));
            }
        }
        if let Some(text) = &self.description
            && !text_ok(text, MAX_DESCRIPTION_CHARS, true)
        {
            return Err(SadError::field(
                "description",
                format!("1 to {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if self.num_signatures == 0 {
            return Err(SadError::field("num_signatures", "must be at least 1"));
        }
        if self.created_at.as_secs() < 0 || self.expires_at <= self.created_at {
            return Err(SadError::field(
                "expires_at",
                "must be after created_at (after 1970)",
            ));
        }
        Ok(())
    }

    /// The canonical DER encoding.
    pub fn to_der(&self) -> Result<Vec<u8>, SadError> {
        self.check()?;
        let time = |t: UnixTime| {
            let secs = u64::try_from(t.as_secs()).map_err(bad)?;
            GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(bad)
        };
        RequestDer {
            version: VERSION,
            request_id: OctetString::new(self.request_id.as_bytes().to_vec()).map_err(bad)?,
            client: self.client.to_string(),
            subject: self.subject.to_string(),
            key_id: self.key_id.to_string(),
            profile_id: self.profile_id,
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: self.hash_algorithm.oid(),
                parameters: None,
            },
            documents: self
                .documents
                .iter()
                .map(|d| {
                    Ok(DocumentDer {
                        label: d.label.clone(),
                        hash: OctetString::new(d.hash.as_bytes().to_vec()).map_err(bad)?,
                    })
                })
                .collect::<Result<_, SadError>>()?,
            num_signatures: self.num_signatures,
            mode: self.mode,
            description: self.description.clone(),
            created_at: time(self.created_at)?,
            expires_at: time(self.expires_at)?,
        }
        .to_der()
        .map_err(bad)
    }

    /// Reads a canonical DER encoding; any input gives a request or an error.
    pub fn from_der(der: &[u8]) -> Result<Self, SadError> {
        if der.len() > MAX_REQUEST_LEN {
            return Err(bad(format!("longer than {MAX_REQUEST_LEN} bytes")));
        }
        let r = RequestDer::from_der(der).map_err(bad)?;
        if r.version != VERSION {
            return Err(SadError::field("version", format!("expected {VERSION}")));
        }
        if r.hash_algorithm.parameters.is_some() {
            return Err(SadError::field(
                "hash_algorithm",
                "parameters must be absent",
            ));
        }
        let hash_algorithm = HashAlgorithm::from_oid(&r.hash_algorithm.oid)
            .map_err(|e| SadError::field("hash_algorithm", e.to_string()))?;
        let time = |t: &GeneralizedTime| {
            i64::try_from(t.to_unix_duration().as_secs())
                .ok()
                .and_then(UnixTime::from_secs)
                .ok_or_else(|| bad("time out of range"))
        };
        let request = Self {
            request_id: Id128::from_bytes(
                r.request_id
                    .as_bytes()
                    .try_into()
                    .map_err(|_| SadError::field("request_id", "must be 16 bytes"))?,
            ),
            client: r.client.parse()?,
            subject: r.subject.parse()?,
            key_id: r.key_id.parse()?,
            profile_id: r.profile_id,
            hash_algorithm,
            documents: r
                .documents
                .into_iter()
                .map(|d| {
                    Ok(DocumentToSign {
                        label: d.label,
                        hash: Digest::new(hash_algorithm, d.hash.as_bytes())
                            .map_err(|e| SadError::field("documents", e.to_string()))?,
                    })
                })
                .collect::<Result<_, SadError>>()?,
            num_signatures: r.num_signatures,
            mode: r.mode,
            description: r.description,
            created_at: time(&r.created_at)?,
            expires_at: time(&r.expires_at)?,
        };
        request.check()?;
        // Canonical: re-encoding gives the same bytes (DER admits one encoding per value).
        if request.to_der()? != der {
            return Err(bad("not in canonical form"));
        }
        Ok(request)
    }

    /// The digest of the canonical encoding under `hash`: what a device, `sam` and an auditor
    /// can compare.
    pub fn digest(&self, hash: HashAlgorithm) -> Result<Digest, SadError> {
        Ok(hash.digest(&self.to_der()?))
    }

    /// The SAD a device issues in answer, authorising every document's hash, valid from
    /// `issued_at` for `validity_secs`.
    pub fn answer(
        &self,
        sad_id: Id128,
        device: Issuer,
        audience: InstanceId,
        issued_at: UnixTime,
        validity_secs: i64,
    ) -> Result<Sad, SadError> {
        let expires_at = issued_at
            .checked_add_secs(validity_secs)
            .ok_or_else(|| SadError::field("expires_at", "out of range"))?;
        let sad = Sad {
            sad_id,
            request_id: self.request_id,
            issuer: device,
            subject: self.subject.clone(),
            audience,
            key_id: self.key_id.clone(),
            profile_id: self.profile_id,
            scal: Scal::Scal2,
            hash_algorithm: self.hash_algorithm,
            hashes: self.documents.iter().map(|d| d.hash).collect(),
            num_signatures: self.num_signatures,
            mode: self.mode,
            auth_method: AuthMethod::Device,
            assertion: None,
            issued_at,
            expires_at,
        };
        sad.check()?;
        Ok(sad)
    }
}
