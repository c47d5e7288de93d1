//! The Signature Activation Protocol: seed 002's Authorise, Get Pending Requests, the SAD
//! answer, Decline Request, Status and Sign, following the verification rules of PROTOCOL.md:
//!
//! 1. **Authorise** checks key, user and profile, prepares each output with `sam-cms` (for
//!    CMS/CAdES the DTBS/R is the digest of the DER signed attributes), and stores a pending
//!    request with the canonical `sam-sad` request message the SAD answers.
//! 2. The SAD comes from the user's device (SCAL2, [`Service::submit_sad`]) or, with its
//!    evidence, from the client's authorisation key ([`Service::submit_client_sad`]: an OTP or
//!    PIN `sam` verified for the request, an IdP assertion, or a seal renewal).
//!    [`crate::verification`] checks it (rules 1–4 and the evidence), registers it in the
//!    replay registry with its uses, and marks the request authorised — or the user
//!    **declines**.
//! 3. **Sign** verifies the stored SAD again at that moment, spends its use in the same
//!    transaction as the audit record (rule 5; a second Sign finds it spent), activates the key
//!    for exactly the authorised DTBS/R, lets the token sign, and completes the prepared
//!    outputs. Nothing can be added to what is signed after the user approved it.
//! 4. **eSeals** ([`crate::seal`]): a seal request names no documents; its SAD allows a number
//!    of signatures until it expires, each batch spending as many uses as it has hashes.

use crate::ErrorCode;
use std::sync::Arc;

use sam_algorithms::{Digest, HashAlgorithm, RsaPadding, SignatureAlgorithm, UnixTime};
use sam_cms::{Content, Format, PreparedState, Services, SignatureRequest};
use sam_profile::{AuthorisationMode, ProfileId, SamProfile};
use sam_sad::{
    AuthorisationRequest, DocumentToSign, Id128, KeyRef, SadEncoding, SadMode, UserId, VerifiedSad,
};
use sam_store::{NewRequest, RequestRecord, RequestStatus, Spend, StoredKey, Transition};
use sam_token::{ActivationIssuer, CryptoToken, KeyId, KeyRecord};
use serde::Serialize;
use x509_cert::Certificate;

use crate::service::{ClientContext, Service};
use crate::{AuditAction, OtherAction, ServiceError};
use sam_plan::RequestType;

/// What the service needs to verify SADs and activate keys.
pub struct Signing {
    /// The process's activation issuer (`ActivationIssuer::take`).
    pub issuer: Arc<ActivationIssuer>,
    /// This SAM instance: the audience SADs must name.
    pub instance: sam_sad::InstanceId,
    /// The global SAD format (seed 001: JSON or ASN.1).
    pub sad_encoding: SadEncoding,
    /// Request and SAD expiry when the profile sets none (`SAM_REQUEST_EXPIRY_PERIOD`),
    /// seconds.
    pub default_request_expiry_secs: i64,
    /// The time-stamp authority for `cades-b-t` and `cades-b-lt` output, if configured.
    pub time_stamp_authority: Option<Arc<dyn sam_cms::TimeStampAuthority>>,
    /// Where revocation values for `cades-b-lt` come from, if configured.
    pub revocation: Option<Arc<dyn sam_cms::revocation::RevocationSource>>,
}

impl Signing {
    /// Whether this service can produce `format` (B-T needs a TSA; B-LT also revocation
    /// values).
    pub fn supports(&self, format: Format) -> bool {
        (!format.has_time_stamp() || self.time_stamp_authority.is_some())
            && (!format.has_validation_data() || self.revocation.is_some())
    }
}

/// The largest document `sam` hashes itself (*Compute hash at signing time*), in bytes;
/// larger documents are hashed by the client.
pub const MAX_DOCUMENT_DATA: usize = 16 * 1024 * 1024;

/// What the client sends of one document.
#[derive(Clone)]
pub enum DocumentContent {
    /// The document's digest, under the request's hash algorithm.
    Digest(Vec<u8>),
    /// The document itself, for a profile with *Compute hash at signing time*: `sam` hashes
    /// it with the profile's *Hashing Algorithm*.
    Data(Vec<u8>),
}

impl core::fmt::Debug for DocumentContent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Digest(d) => write!(f, "Digest({})", hex(d)),
            Self::Data(d) => write!(f, "Data(<{} bytes>)", d.len()),
        }
    }
}

/// One document of an Authorise request.
#[derive(Clone, Debug)]
pub struct DocumentInput {
    /// What the user sees (a file name, a title).
    pub label: String,
    /// Its digest or, with *Compute hash at signing time*, its data.
    pub content: DocumentContent,
}

impl DocumentInput {
    /// A document given by its digest.
    pub fn digest(label: impl Into<String>, digest: impl Into<Vec<u8>>) -> Self {
        Self {
            label: label.into(),
            content: DocumentContent::Digest(digest.into()),
        }
    }

    /// A document given by its data (profiles with *Compute hash at signing time*).
    pub fn data(label: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            label: label.into(),
            content: DocumentContent::Data(data.into()),
        }
    }
}

/// Authorise.
#[derive(Clone, Debug)]
pub struct Authorise {
    /// The user who must authorise.
    pub user_id: String,
    /// The key to sign with.
    pub key_id: String,
    /// The hash of the document digests (for RSA and ECDSA also the signature's hash).
    pub hash_algorithm: HashAlgorithm,
    /// The documents; more than one needs the profile's bulk signing. A seal authorisation
    /// names none: its documents come with each [`Service::seal_sign`].
    pub documents: Vec<DocumentInput>,
    /// The output: `raw`, `cms` or `cades-b-b`.
    pub format: Format,
    /// For a seal authorisation (profile mode *once until SAD expiry*): how many signatures
    /// the SAD allows. Must be absent otherwise.
    pub signatures: Option<u32>,
}

/// The answer to Authorise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthoriseResponse {
    /// The request's id.
    pub request_id: String,
    /// Until when the user may answer (RFC 3339).
    pub expires_at: String,
    /// The canonical request message (`sam_sad::AuthorisationRequest` DER): what a SAD
    /// answering it must name. A SCAL1 client builds its SAD from it; the transport encodes
    /// it (base64) itself.
    #[serde(skip)]
    pub message: Vec<u8>,
}

/// A pending request as a device (or the client, for SCAL1) gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    /// The request's id.
    pub request_id: String,
    /// The canonical request message (`sam_sad::AuthorisationRequest` DER) the SAD answers.
    pub message: Vec<u8>,
    /// The documents with labels and document digests, as JSON, for display.
    pub documents: String,
}

/// One page of Get Pending Requests List.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestsPage {
    /// The client's pending requests, in id order.
    pub requests: Vec<RequestState>,
    /// The id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// A request's state for Status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestState {
    /// The request's id.
    pub request_id: String,
    /// `pending`, `authorised`, `signing`, `used`, `declined` or `expired`.
    pub status: String,
    /// Until when the user may answer (RFC 3339).
    pub expires_at: String,
    /// How many times a SAD of this request was spent without a signature being made (a
    /// failure while signing, or a node that stopped): each time it went back to `pending`,
    /// to be approved again.
    pub unsigned_spends: i64,
}

pub(crate) fn user_id(text: &str) -> Result<UserId, ServiceError> {
    UserId::new(text).map_err(|e| ServiceError::invalid(e.to_string()))
}

pub(crate) fn request_id(text: &str) -> Result<Id128, ServiceError> {
    text.parse()
        .map_err(|_| ServiceError::invalid(format!("{text:?} is not a request id")))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Length-prefixed prepared states, as stored with the request.
fn encode_states(states: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in states {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(s);
    }
    out
}

fn decode_states(mut bytes: &[u8]) -> Result<Vec<PreparedState>, ServiceError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| ServiceError::internal("stored prepared states are truncated"))?;
        let len = u32::from_be_bytes(*len) as usize;
        let state = rest
            .get(..len)
            .ok_or_else(|| ServiceError::internal("stored prepared states are truncated"))?;
        out.push(
            PreparedState::from_der(state)
                .map_err(|e| ServiceError::internal(format!("stored prepared state: {e}")))?,
        );
        bytes = &rest[len..];
    }
    Ok(out)
}

pub(crate) fn transition_error(t: Transition, id: &str) -> ServiceError {
    match t {
        Transition::Done => ServiceError::internal("unexpected transition"),
        Transition::NotFound => ServiceError::not_found("request", id),
        Transition::NotAllowed(RequestStatus::Expired) => ServiceError::new(
            ErrorCode::RequestExpired,
            format!("request {id} has expired"),
        ),
        Transition::NotAllowed(status) => ServiceError::new(
            ErrorCode::RequestNotPending,
            format!("request {id} is {status}"),
        ),
    }
}

/// Documents prepared for signing: what is stored, shown and bound.
pub(crate) struct PreparedDocuments {
    /// The prepared states (DER), one per document.
    pub states: Vec<Vec<u8>>,
    /// The DTBS/R of each document, as the SAD binds it.
    pub documents: Vec<DocumentToSign>,
    /// The display JSON (label, document digest, DTBS/R).
    pub display: serde_json::Value,
    /// The hash of the DTBS/R.
    pub bound_hash: HashAlgorithm,
}

/// What a request authorises.
pub(crate) enum RequestKind {
    /// Signatures over documents (the prepared states are stored).
    Sign,
    /// A PKCS#10 certification request for this subject (stored; the request info is
    /// rebuilt from it and the key at Get CSR, and must give the same DTBS/R).
    Csr(String),
}

impl RequestKind {
    pub(crate) const SIGN: &'static str = "sign";
    pub(crate) const CSR: &'static str = "csr";
}

/// A profile's SCAL in `sam-sad`'s terms.
pub(crate) fn sad_scal(profile: &SamProfile) -> sam_sad::Scal {
    match profile.settings().signing_key.scal {
        sam_profile::Scal::Scal1 => sam_sad::Scal::Scal1,
        sam_profile::Scal::Scal2 => sam_sad::Scal::Scal2,
    }
}

impl Service {
    pub(crate) fn signing(&self) -> Result<&Signing, ServiceError> {
        self.signing
            .as_ref()
            .ok_or_else(|| ServiceError::internal("this service is not set up for signing"))
    }

    pub(crate) fn profile_by_number(&self, id: i64) -> Result<SamProfile, ServiceError> {
        let number = u32::try_from(id).map_err(|_| ServiceError::internal("stored profile id"))?;
        let profile_id =
            ProfileId::new(number).map_err(|e| ServiceError::internal(e.to_string()))?;
        self.catalogue()
            .active_profile(profile_id)
            .cloned()
            .map_err(|_| {
                ServiceError::new(
                    ErrorCode::ProfileInactive,
                    format!("profile {id} is not active"),
                )
            })
    }

    /// The user's key, or `not_found` (also for another user's or client's key).
    pub(crate) async fn user_key(
        &self,
        ctx: &ClientContext,
        user: &UserId,
        key_id: &str,
    ) -> Result<StoredKey, ServiceError> {
        KeyId::new(key_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        self.store
            .key(ctx.id(), key_id)
            .await?
            .filter(|k| k.user_id == user.as_str())
            .ok_or_else(|| ServiceError::not_found("key", key_id))
    }

    /// Authorise: stores a pending request for the user's device (SCAL2) or for the
    /// client's SCAL1 evidence.
    pub async fn authorise(
        &self,
        ctx: &ClientContext,
        request: Authorise,
    ) -> Result<AuthoriseResponse, ServiceError> {
        let detail = format!(
            "user={} key={} documents={} format={} signatures={:?}",
            request.user_id,
            request.key_id,
            request.documents.len(),
            request.format,
            request.signatures
        );
        let actor = request.user_id.clone();
        self.request(
            ctx,
            RequestType::Authorise,
            &actor,
            detail,
            self.authorise_inner(ctx, request),
        )
        .await
    }

    async fn authorise_inner(
        &self,
        ctx: &ClientContext,
        request: Authorise,
    ) -> Result<AuthoriseResponse, ServiceError> {
        let user = user_id(&request.user_id)?;
        let key = self.user_key(ctx, &user, &request.key_id).await?;
        self.ensure_profile_selected(ctx, key.profile_id).await?;
        let profile = self.profile_by_number(key.profile_id)?;
        let now = self.now();
        match profile.settings().signing_key.authorisation_mode {
            AuthorisationMode::EveryTransaction => {
                if request.signatures.is_some() {
                    return Err(ServiceError::invalid(
                        "signatures is only for seal authorisations; this profile authorises \
                         every transaction",
                    ));
                }
                let prepared = self
                    .prepare_documents(
                        ctx,
                        &key,
                        &profile,
                        request.hash_algorithm,
                        &request.documents,
                        request.format,
                        now,
                    )
                    .await?;
                let count = u32::try_from(request.documents.len())
                    .map_err(|_| ServiceError::invalid("too many documents"))?;
                self.create_pending(
                    ctx,
                    &key,
                    &profile,
                    prepared,
                    count,
                    SadMode::Transaction,
                    None,
                    RequestKind::Sign,
                )
                .await
            }
            AuthorisationMode::OnceUntilSadExpiry => {
                if !request.documents.is_empty() {
                    return Err(ServiceError::invalid(
                        "a seal authorisation names no documents: sign them with seal_sign \
                         once its SAD is accepted",
                    ));
                }
                let count = request.signatures.filter(|n| *n >= 1).ok_or_else(|| {
                    ServiceError::invalid(
                        "a seal authorisation needs signatures: how many the SAD allows (at \
                         least 1)",
                    )
                })?;
                let prepared = PreparedDocuments {
                    states: Vec::new(),
                    documents: Vec::new(),
                    display: serde_json::Value::Array(Vec::new()),
                    bound_hash: request.hash_algorithm,
                };
                self.create_pending(
                    ctx,
                    &key,
                    &profile,
                    prepared,
                    count,
                    SadMode::Seal,
                    None,
                    RequestKind::Sign,
                )
                .await
            }
        }
    }

    /// Stores a pending request with its canonical message.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_pending(
        &self,
        ctx: &ClientContext,
        key: &StoredKey,
        profile: &SamProfile,
        prepared: PreparedDocuments,
        num_signatures: u32,
        mode: SadMode,
        renews: Option<String>,
        kind: RequestKind,
    ) -> Result<AuthoriseResponse, ServiceError> {
        let signing = self.signing()?;
        let now = self.now();
        let user = user_id(&key.user_id)?;
        let expires_at = profile
            .settings()
            .signing_key
            .authorisation_request_expiry
            .and_then(|e| e.expires_at(now))
            .or_else(|| now.checked_add_secs(signing.default_request_expiry_secs))
            .ok_or_else(|| ServiceError::internal("request expiry out of range"))?;
        let id = Id128::random().map_err(|e| ServiceError::internal(e.to_string()))?;
        let dtbsr: Vec<u8> = prepared
            .documents
            .iter()
            .flat_map(|d| d.hash.as_bytes().to_vec())
            .collect();
        let message = AuthorisationRequest {
            request_id: id,
            client: ctx.client_id.clone(),
            subject: user.clone(),
            key_id: KeyRef::new(&key.key_id).map_err(|e| ServiceError::internal(e.to_string()))?,
            profile_id: u32::try_from(key.profile_id)
                .map_err(|_| ServiceError::internal("profile id"))?,
            hash_algorithm: prepared.bound_hash,
            documents: prepared.documents,
            num_signatures,
            mode,
            description: None,
            created_at: now,
            expires_at,
        };
        let message_der = message
            .to_der()
            .map_err(|e| ServiceError::invalid(format!("authorisation request: {e}")))?;
        self.store
            .create_request(&NewRequest {
                request_id: id.to_string(),
                client_id: ctx.id().to_owned(),
                user_id: user.as_str().to_owned(),
                key_id: key.key_id.clone(),
                profile_id: key.profile_id,
                scal: i64::from(u8::from(sad_scal(profile))),
                mode: mode_name(mode).into(),
                hash_algorithm: prepared.bound_hash.name().to_owned(),
                num_signatures: i64::from(num_signatures),
                dtbsr,
                documents: prepared.display.to_string(),
                prepared: match &kind {
                    RequestKind::Sign => encode_states(&prepared.states),
                    RequestKind::Csr(subject) => subject.as_bytes().to_vec(),
                },
                message: message_der.clone(),
                created_at: now,
                expires_at,
                renews,
                kind: match kind {
                    RequestKind::Sign => RequestKind::SIGN,
                    RequestKind::Csr(_) => RequestKind::CSR,
                }
                .into(),
            })
            .await?;
        Ok(AuthoriseResponse {
            request_id: id.to_string(),
            expires_at: expires_at.to_string(),
            message: message_der,
        })
    }

    /// Checks the documents against the profile and prepares each output with `sam-cms`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn prepare_documents(
        &self,
        ctx: &ClientContext,
        key: &StoredKey,
        profile: &SamProfile,
        hash_algorithm: HashAlgorithm,
        input: &[DocumentInput],
        format: Format,
        now: UnixTime,
    ) -> Result<PreparedDocuments, ServiceError> {
        let settings = &profile.settings().signing_key;
        // The one home of the hash-count limits: this deployment's, then the profile's.
        let deployment_limit = self.settings.max_hashes_per_request;
        if input.len() > deployment_limit {
            return Err(ServiceError::new(
                ErrorCode::TooManyHashes,
                format!(
                    "{} documents in one request; this server takes at most {deployment_limit}",
                    input.len()
                ),
            ));
        }
        if !self.signing()?.supports(format) {
            return Err(ServiceError::new(
                ErrorCode::NotSupported,
                format!(
                    "{format} needs a time-stamp authority{}, which this service is not \
                     configured with",
                    if format.has_validation_data() {
                        " and revocation sources"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let count = input.len();
        if count == 0 {
            return Err(ServiceError::invalid("no documents to sign"));
        }
        if let Some(limit) = settings.hashes_per_request_limit()
            && count > limit as usize
        {
            return Err(ServiceError::new(
                ErrorCode::TooManyHashes,
                format!("the profile allows {limit} hashes per request"),
            ));
        }
        let spec = sam_keys::public_key_spec(&key.public_key)
            .map_err(|e| ServiceError::internal(format!("stored public key: {e}")))?;
        let algorithm = SignatureAlgorithm::for_key(spec, hash_algorithm, settings.padding);
        let certificates = if format == Format::Raw {
            Vec::new()
        } else {
            let record = self
                .store
                .certificate(ctx.id(), &key.key_id)
                .await?
                .ok_or_else(|| {
                    ServiceError::new(
                        ErrorCode::NoCertificate,
                        format!("{format} output needs the key's certificate"),
                    )
                })?;
            std::iter::once(record.certificate)
                .chain(crate::keys::split_chain(&record.chain)?)
                .map(|der| {
                    <Certificate as der::Decode>::from_der(&der)
                        .map_err(|e| ServiceError::internal(format!("stored certificate: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?
        };

        let mut states = Vec::with_capacity(count);
        let mut documents = Vec::with_capacity(count);
        let mut display = Vec::with_capacity(count);
        let compute = settings.compute_hash_at_signing;
        // The profile's hash algorithm is the one its signatures use, for digests sent as for
        // data hashed here: another (weaker, or outside the source's rules such as SHA-3 on a
        // source without it) is refused before anything is stored.
        if hash_algorithm != settings.hash_algorithm {
            return Err(ServiceError::invalid(format!(
                "this profile signs {} digests, not {hash_algorithm}",
                settings.hash_algorithm
            )));
        }
        for doc in input {
            let digest = match (&doc.content, compute) {
                (DocumentContent::Digest(bytes), false) => Digest::new(hash_algorithm, bytes)
                    .map_err(|_| {
                        ServiceError::invalid(format!(
                            "document {:?}: a {} digest has {} bytes",
                            doc.label,
                            hash_algorithm,
                            hash_algorithm.output_len()
                        ))
                    })?,
                (DocumentContent::Data(data), true) => {
                    if data.len() > MAX_DOCUMENT_DATA {
                        return Err(ServiceError::invalid(format!(
                            "document {:?} has more than {MAX_DOCUMENT_DATA} bytes: send its \
                             digest from a profile that signs hashes",
                            doc.label
                        )));
                    }
                    hash_algorithm.digest(data)
                }
                (DocumentContent::Digest(_), true) => {
                    return Err(ServiceError::invalid(format!(
                        "document {:?}: this profile computes the hash at signing time; send \
                         the document's data",
                        doc.label
                    )));
                }
                (DocumentContent::Data(_), false) => {
                    return Err(ServiceError::invalid(format!(
                        "document {:?}: this profile signs hashes; send the document's digest",
                        doc.label
                    )));
                }
            };
            let mut cms_request = SignatureRequest::new(
                format,
                algorithm,
                Content::DetachedDigest(digest),
                certificates.clone(),
                now,
            );
            if format == Format::Raw {
                cms_request.public_key = Some(key.public_key.clone());
            }
            let prepared = sam_cms::prepare(&cms_request)
                .map_err(|e| ServiceError::invalid(format!("document {:?}: {e}", doc.label)))?;
            let bound = prepared.to_be_signed.digest();
            documents.push(DocumentToSign {
                label: doc.label.clone(),
                hash: bound,
            });
            display.push(serde_json::json!({
                "label": doc.label,
                "document_digest": hex(digest.as_bytes()),
                "dtbsr": hex(bound.as_bytes()),
            }));
            states.push(
                prepared
                    .state
                    .to_der()
                    .map_err(|e| ServiceError::internal(e.to_string()))?,
            );
        }
        let bound_hash = documents
            .first()
            .map_or(hash_algorithm, |d| d.hash.algorithm());
        Ok(PreparedDocuments {
            states,
            documents,
            display: serde_json::Value::Array(display),
            bound_hash,
        })
    }

    /// Get Pending Requests, for a device: up to `limit` (1 to 1000) of its user's unexpired
    /// pending requests, oldest first, after request `after`.
    pub async fn pending_requests(
        &self,
        ctx: &ClientContext,
        device_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PendingRequest>, ServiceError> {
        self.request(
            ctx,
            RequestType::GetPendingRequests,
            device_id,
            format!("device={device_id}"),
            async {
                let limit = crate::paging::checked_limit(limit)?;
                let device = self
                    .store
                    .device(ctx.id(), device_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("device", device_id))?;
                Ok(self
                    .store
                    .pending_for_user(ctx.id(), &device.user_id, self.now(), after, limit)
                    .await?
                    .into_iter()
                    .map(|r| PendingRequest {
                        request_id: r.request.request_id,
                        message: r.request.message,
                        documents: r.request.documents,
                    })
                    .collect())
            },
        )
        .await
    }

    /// Get Pending Requests List, for the client: up to `limit` (1 to 1000) of its pending
    /// requests after `after`, in id order.
    pub async fn pending_requests_list(
        &self,
        ctx: &ClientContext,
        after: Option<&str>,
        limit: i64,
    ) -> Result<RequestsPage, ServiceError> {
        self.request(
            ctx,
            RequestType::GetPendingRequestsList,
            "-",
            format!("limit={limit}"),
            async {
                let limit = crate::paging::checked_limit(limit)?;
                let requests: Vec<RequestState> = self
                    .store
                    .pending_for_client(ctx.id(), self.now(), after, limit)
                    .await?
                    .into_iter()
                    .map(|r| RequestState {
                        request_id: r.request.request_id,
                        status: r.status.to_string(),
                        expires_at: r.request.expires_at.to_string(),
                        unsigned_spends: r.unsigned_spends,
                    })
                    .collect();
                let next = crate::paging::next_cursor(&requests, limit, |r| r.request_id.clone());
                Ok(RequestsPage { requests, next })
            },
        )
        .await
    }

    /// Get SAM Profile: the settings of an active profile, as the JSON document the admin
    /// API reads and writes.
    pub async fn get_sam_profile(
        &self,
        ctx: &ClientContext,
        id: u32,
    ) -> Result<String, ServiceError> {
        self.request(
            ctx,
            RequestType::GetSamProfile,
            "-",
            format!("profile={id}"),
            async {
                ProfileId::new(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                let profile = self.client_profile(ctx, id).await?;
                profile
                    .settings()
                    .to_json()
                    .map_err(|e| ServiceError::internal(e.to_string()))
            },
        )
        .await
    }

    /// The device's answer: verifies the SAD (signed by device `device_id` of the request's
    /// user) for the pending request and authorises it.
    pub async fn submit_sad(
        &self,
        ctx: &ClientContext,
        device_id: &str,
        request: &str,
        sad: &[u8],
    ) -> Result<(), ServiceError> {
        let result = async {
            // Part of Authorise, not counted on its own; access is checked like any request.
            self.ensure_client_access(ctx).await?;
            request_id(request)?;
            let record = self.pending_record(ctx, request).await?;
            self.store
                .device(ctx.id(), device_id)
                .await?
                .filter(|d| d.user_id == record.request.user_id)
                .ok_or_else(|| ServiceError::not_found("request", request))?;
            self.accept_sad(ctx, &record, sad, Some(device_id)).await
        }
        .await;
        self.audited(
            ctx,
            OtherAction::SubmitSad,
            device_id,
            format!("request={request}"),
            result,
        )
        .await
    }

    /// The request, if the client has it and it is still pending.
    pub(crate) async fn pending_record(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let record = self
            .store
            .request(ctx.id(), request, self.now())
            .await?
            .ok_or_else(|| ServiceError::not_found("request", request))?;
        match record.status {
            RequestStatus::Pending => Ok(record),
            other => Err(transition_error(Transition::NotAllowed(other), request)),
        }
    }

    /// Decline Request, by the user's device.
    pub async fn decline(
        &self,
        ctx: &ClientContext,
        device_id: &str,
        request: &str,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::DeclineRequest,
            device_id,
            format!("request={request}"),
            async {
                request_id(request)?;
                let now = self.now();
                let record = self
                    .store
                    .request(ctx.id(), request, now)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("request", request))?;
                self.store
                    .device(ctx.id(), device_id)
                    .await?
                    .filter(|d| d.user_id == record.request.user_id)
                    .ok_or_else(|| ServiceError::not_found("request", request))?;
                match self.store.decline_request(ctx.id(), request, now).await? {
                    Transition::Done => Ok(()),
                    other => Err(transition_error(other, request)),
                }
            },
        )
        .await
    }

    /// Status of a request.
    pub async fn status(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<RequestState, ServiceError> {
        self.request(
            ctx,
            RequestType::Status,
            "-",
            format!("request={request}"),
            async {
                request_id(request)?;
                let record = self
                    .store
                    .request(ctx.id(), request, self.now())
                    .await?
                    .ok_or_else(|| ServiceError::not_found("request", request))?;
                Ok(RequestState {
                    request_id: record.request.request_id,
                    status: record.status.to_string(),
                    expires_at: record.request.expires_at.to_string(),
                    unsigned_spends: record.unsigned_spends,
                })
            },
        )
        .await
    }

    /// The authorised request and its SAD, verified again now (rules 1–4: the SAD may have
    /// expired, its device may be gone).
    pub(crate) async fn authorised_record(
        &self,
        ctx: &ClientContext,
        request: &str,
        now: UnixTime,
    ) -> Result<(RequestRecord, String, VerifiedSad), ServiceError> {
        let record = self
            .store
            .request(ctx.id(), request, now)
            .await?
            .ok_or_else(|| ServiceError::not_found("request", request))?;
        if record.status != RequestStatus::Authorised {
            return Err(ServiceError::new(
                ErrorCode::RequestNotAuthorised,
                format!("request {request} is {}", record.status),
            ));
        }
        let sad_id = record
            .sad_id
            .clone()
            .ok_or_else(|| ServiceError::internal("an authorised request without a SAD"))?;
        let (_, encoded, _) = self
            .store
            .sad_as_received(ctx.id(), &sad_id)
            .await?
            .ok_or_else(|| ServiceError::internal("the request's SAD is not registered"))?;
        let verified = self.verify_stored_sad(ctx, &record, &encoded, now).await?;
        Ok((record, sad_id, verified))
    }

    /// Sign: the outputs of an authorised transaction-mode request, in the order of its
    /// documents.
    pub async fn sign(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let now = self.now();
        let prelude = async {
            self.signing()?;
            request_id(request)?;
            let (record, sad_id, verified) = self.authorised_record(ctx, request, now).await?;
            if record.request.kind != RequestKind::SIGN {
                return Err(ServiceError::invalid(format!(
                    "request {request} authorises a certification request: get it with get_csr"
                )));
            }
            if record.request.mode != mode_name(SadMode::Transaction) {
                return Err(ServiceError::invalid(format!(
                    "request {request} is a seal authorisation: sign documents under it with \
                     seal_sign"
                )));
            }
            let spending = Spending {
                request: Some(request.to_owned()),
                actor: record.request.user_id.clone(),
                key_id: record.request.key_id.clone(),
                detail: format!(
                    "request={request} sad={sad_id} key={}",
                    record.request.key_id
                ),
                sad_id,
                uses: 1,
            };
            Ok((spending, (record, verified)))
        };
        self.signing_request(
            ctx,
            RequestType::Sign,
            request,
            now,
            prelude,
            |(record, verified), key| async move {
                let states = decode_states(&record.request.prepared)?;
                self.sign_states(key, &states, &verified).await
            },
        )
        .await
    }

    /// What every signing request type shares (Sign, a seal batch, Get CSR): it is counted
    /// against the plan first; `prelude` finds and checks what to sign; the key is checked;
    /// rule 5 spends the SAD's uses, recorded as `sad_spent` in that transaction (which also
    /// moves a transaction-mode request `authorised → signing`); then `sign` makes the output,
    /// and only once it is made is `action ok` recorded — with the request marked `used` in
    /// the same transaction (SECURITY.md invariant 9). A failure after the spend is recorded
    /// as `action` with its code and undone: the request goes back to `pending` (the user may
    /// approve it again), a seal batch's uses are given back. Every failure gives the plan
    /// count back. An output is handed out only after its record is committed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn signing_request<P, T, F>(
        &self,
        ctx: &ClientContext,
        request_type: RequestType,
        request: &str,
        now: UnixTime,
        prelude: impl Future<Output = Result<(Spending, P), ServiceError>>,
        sign: impl FnOnce(P, UsableKey) -> F,
    ) -> Result<T, ServiceError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        let action = AuditAction::from(request_type);
        let detail = || format!("request={request}");
        let counted = match self.plan_count(ctx, request_type).await {
            Ok(c) => c,
            Err(e) => return self.audited(ctx, action, "-", detail(), Err(e)).await,
        };
        let (spending, prepared) = match prelude.await {
            Ok(v) => v,
            Err(e) => {
                self.plan_uncount(ctx, counted).await;
                return self.audited(ctx, action, "-", detail(), Err(e)).await;
            }
        };
        // A key that cannot sign (a wrong master key, a damaged record) must not cost the
        // user their approval: it is checked before the SAD is spent.
        let key = match self.check_key_usable(ctx, &spending.key_id).await {
            Ok(key) => key,
            Err(e) => {
                self.plan_uncount(ctx, counted).await;
                return self.audited(ctx, action, "-", detail(), Err(e)).await;
            }
        };
        if let Err(e) = self.spend(ctx, &spending, action, now).await {
            self.plan_uncount(ctx, counted).await;
            return Err(e);
        }
        let signed = sign(prepared, key).await;
        let entry = |outcome: &str| sam_store::AuditEntry {
            at: self.now(),
            client_id: ctx.id().to_owned(),
            actor: spending.actor.clone(),
            action: action.code().to_owned(),
            outcome: outcome.to_owned(),
            detail: spending.detail.clone(),
        };
        let observe = |outcome: &str| {
            if let Some(observer) = &self.observer {
                observer.outcome(action, outcome);
            }
        };
        match (signed, &spending.request) {
            (Ok(output), Some(request_id)) => {
                let hold = counted.as_ref().map(|c| c.hold.as_str());
                let completed = self
                    .store
                    .complete_signing(ctx.id(), request_id, self.now(), &entry("ok"), hold)
                    .await;
                match completed {
                    Ok(Transition::Done) => {
                        observe("ok");
                        Ok(output)
                    }
                    // Given up meanwhile (it outlasted the signing lease): not handed out.
                    Ok(other) => {
                        self.plan_uncount(ctx, counted).await;
                        let e = transition_error(other, request_id);
                        observe(e.code.as_str());
                        Err(e)
                    }
                    // Not recorded, so not handed out; the request stays `signing` until
                    // `recover_interrupted_signings` gives it up.
                    Err(e) => {
                        let e = ServiceError::from(e);
                        observe(e.code.as_str());
                        Err(e)
                    }
                }
            }
            (Ok(output), None) => {
                // A seal batch: its record is the acknowledgement.
                let recorded = self
                    .audited(
                        ctx,
                        action,
                        &spending.actor,
                        spending.detail.clone(),
                        Ok(output),
                    )
                    .await;
                if recorded.is_ok() {
                    self.plan_confirm(counted).await;
                }
                recorded
            }
            (Err(e), Some(request_id)) => {
                self.plan_uncount(ctx, counted).await;
                observe(e.code.as_str());
                // Best effort: if this cannot be written, the lease gives the request up.
                let _ = self
                    .store
                    .abandon_signing(ctx.id(), request_id, self.now(), &entry(e.code.as_str()))
                    .await;
                Err(e)
            }
            (Err(e), None) => {
                self.plan_uncount(ctx, counted).await;
                observe(e.code.as_str());
                let _ = self
                    .store
                    .give_back_sad_uses(&spending.sad_id, spending.uses, &entry(e.code.as_str()))
                    .await;
                Err(e)
            }
        }
    }

    /// Rule 5: spends the SAD's uses with its `sad_spent` audit record (detail: what it was
    /// spent for) in one transaction — for a transaction-mode request also `authorised →
    /// signing`; a refusal is audited by the store.
    pub(crate) async fn spend(
        &self,
        ctx: &ClientContext,
        spending: &Spending,
        action: AuditAction,
        now: UnixTime,
    ) -> Result<(), ServiceError> {
        let entry = sam_store::AuditEntry {
            at: now,
            client_id: ctx.id().to_owned(),
            actor: spending.actor.clone(),
            action: OtherAction::SadSpent.code().into(),
            outcome: String::new(),
            detail: format!("{} for={action}", spending.detail),
        };
        let spent = match &spending.request {
            Some(request_id) => {
                self.store
                    .spend_sad_for_request(&spending.sad_id, ctx.id(), request_id, now, &entry)
                    .await?
            }
            None => {
                self.store
                    .spend_sad_uses(&spending.sad_id, spending.uses, now, &entry)
                    .await?
            }
        };
        match spent {
            Spend::Spent { .. } => {
                if let Some(observer) = &self.observer {
                    observer.outcome(OtherAction::SadSpent.into(), "ok");
                }
                Ok(())
            }
            Spend::Refused(refusal) => {
                if let Some(observer) = &self.observer {
                    observer.outcome(OtherAction::SadSpent.into(), refusal.code());
                }
                Err(ServiceError::new(
                    refusal.into(),
                    format!("the request's SAD cannot be used: {}", refusal.code()),
                ))
            }
        }
    }

    /// Gives up the signings that have been under way for longer than `lease_secs` — their
    /// node took the SAD and then died or stalled — so their users may approve them again:
    /// each goes back to `pending` with `signature_not_made` (outcome `interrupted`) in the
    /// audit log. A node finishing one of them later finds it given up and hands nothing out.
    /// `samd` runs this at start and then periodically. It also gives back the plan counts
    /// whose holds outlived their deadline (`ServiceSettings::plan_hold_secs`: their node died
    /// between the count and the effect). Returns how many signings and plan counts.
    pub async fn recover_interrupted_signings(
        &self,
        lease_secs: i64,
    ) -> Result<(usize, usize), ServiceError> {
        let now = self.now();
        let before = now
            .checked_add_secs(lease_secs.checked_neg().unwrap_or(i64::MIN))
            .ok_or_else(|| ServiceError::invalid("signing lease out of range"))?;
        let mut given_up = 0;
        for (client_id, request_id) in self.store.interrupted_signings(before, 1000).await? {
            let entry = sam_store::AuditEntry {
                at: now,
                client_id: client_id.clone(),
                actor: "system".into(),
                action: OtherAction::SignatureNotMade.code().into(),
                outcome: "interrupted".into(),
                detail: format!(
                    "request={request_id} its SAD was spent more than {lease_secs} s ago and no \
                     signature was recorded; back to pending"
                ),
            };
            if self
                .store
                .abandon_signing(&client_id, &request_id, now, &entry)
                .await?
                == Transition::Done
            {
                given_up += 1;
            }
        }
        let released = self.store.release_expired_plan_holds(now).await?;
        Ok((given_up, released))
    }

    /// The client's key `key_id` as its token's record, and that token (`not_found` also for
    /// another client's key).
    pub(crate) async fn key_and_token(
        &self,
        ctx: &ClientContext,
        key_id: &str,
    ) -> Result<(KeyRecord, Arc<dyn CryptoToken>), ServiceError> {
        let key = self
            .store
            .key(ctx.id(), key_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("key", key_id))?;
        let record = KeyRecord::from_der(&key.reference)
            .map_err(|e| ServiceError::internal(format!("stored key {key_id}: {e}")))?;
        Ok((record, self.token(&key.token)?.clone()))
    }

    /// The key, once its token has shown it can use it (`CryptoToken::check_key`), without
    /// signing: what the signing step then signs with.
    pub(crate) async fn check_key_usable(
        &self,
        ctx: &ClientContext,
        key_id: &str,
    ) -> Result<UsableKey, ServiceError> {
        let (record, token) = self.key_and_token(ctx, key_id).await?;
        let checked = token.clone();
        tokio::task::spawn_blocking(move || checked.check_key(&record).map(|()| record))
            .await
            .map_err(|e| ServiceError::internal(format!("key check task: {e}")))?
            .map(|record| UsableKey { record, token })
            .map_err(|e| {
                ServiceError::new(
                    ErrorCode::KeyUnusable,
                    format!("key {key_id} cannot sign now ({e}); the SAD was not spent"),
                )
            })
    }

    /// Activates the key for exactly the DTBS/R of `states`, lets the token sign them, and
    /// completes the outputs.
    pub(crate) async fn sign_states(
        &self,
        key: UsableKey,
        states: &[PreparedState],
        verified: &VerifiedSad,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let inputs: Vec<sam_cms::ToBeSigned> = states
            .iter()
            .map(|s| s.to_be_signed())
            .collect::<Result<_, _>>()
            .map_err(|e| ServiceError::internal(format!("prepared state: {e}")))?;
        let padding = match states
            .first()
            .map(PreparedState::algorithm)
            .transpose()
            .map_err(|e| ServiceError::internal(e.to_string()))?
        {
            Some(SignatureAlgorithm::RsaPss(_)) => RsaPadding::Pss,
            _ => RsaPadding::Pkcs1v15,
        };
        let signatures = self.token_sign(key, inputs, padding, verified).await?;
        // Completing may call the TSA and revocation services: off the async threads.
        let signing = self.signing()?;
        let tsa = signing.time_stamp_authority.clone();
        let revocation = signing.revocation.clone();
        let states = states.to_vec();
        tokio::task::spawn_blocking(move || {
            let services = Services {
                time_stamp_authority: tsa.as_deref(),
                revocation: revocation.as_deref(),
            };
            states
                .iter()
                .zip(signatures)
                .map(|(state, signature)| {
                    sam_cms::complete(state, &signature, &services).map_err(|e| {
                        ServiceError::new(
                            ErrorCode::OutputFailed,
                            format!("completing the output: {e}"),
                        )
                    })
                })
                .collect()
        })
        .await
        .map_err(|e| ServiceError::internal(format!("output task: {e}")))?
    }

    /// Activates the key for exactly `inputs` and lets its token sign them. Under SCAL2 (and
    /// whenever a SAD names hashes) every input must be one the verified SAD authorised.
    pub(crate) async fn token_sign(
        &self,
        key: UsableKey,
        inputs: Vec<sam_cms::ToBeSigned>,
        padding: RsaPadding,
        verified: &VerifiedSad,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let signing = self.signing()?;
        let UsableKey {
            record: key_record,
            token,
        } = key;
        let digests: Vec<Digest> = inputs.iter().map(sam_cms::ToBeSigned::digest).collect();
        verified.sad().authorises(&digests).map_err(|e| {
            ServiceError::new(
                ErrorCode::SadInvalid,
                format!("the SAD does not authorise every hash to sign: {e}"),
            )
        })?;
        let activation = signing.issuer.activate(key_record.key_id.clone(), digests);
        let key_spec = key_record.spec;
        let count = inputs.len();
        let signatures = tokio::task::spawn_blocking(move || {
            let token_inputs: Vec<sam_token::ToBeSigned<'_>> = inputs
                .iter()
                .map(|i| match i {
                    sam_cms::ToBeSigned::Digest(d) => sam_token::ToBeSigned::Digest(*d),
                    sam_cms::ToBeSigned::Message { data, bound_by } => {
                        sam_token::ToBeSigned::Message {
                            data,
                            bound_by: *bound_by,
                        }
                    }
                })
                .collect();
            // A KAK-gated token wants the KAK's authorisation of exactly this activation.
            let mut activation = activation;
            if let Some(authorisation) = token.authorise_key_use(&key_record, &activation)? {
                activation.attach_kak_authorisation(authorisation);
            }
            token.sign(&key_record, &activation, padding, &token_inputs)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("signing task: {e}")))?
        .map_err(|e| ServiceError::internal(format!("token: {e}")))?;
        if let Some(observer) = &self.observer {
            observer.signed(&key_spec.to_string(), count);
        }
        Ok(signatures)
    }
}

/// A key whose token showed it can use it, checked before the SAD was spent.
pub(crate) struct UsableKey {
    record: KeyRecord,
    token: Arc<dyn CryptoToken>,
}

/// The use of a SAD a signing request spends (rule 5), and what its audit record says.
pub(crate) struct Spending {
    /// The transaction-mode request whose one use this is (Sign, Get CSR), which moves
    /// `authorised → signing → used`; `None` for a seal batch.
    pub(crate) request: Option<String>,
    /// The user whose key signs.
    pub(crate) actor: String,
    /// The key that will sign: checked before the SAD is spent.
    pub(crate) key_id: String,
    /// The SAD.
    pub(crate) sad_id: String,
    /// How many uses (1, or the documents of a seal batch).
    pub(crate) uses: i64,
    /// The audit record's detail.
    pub(crate) detail: String,
}

/// The stored name of a SAD mode.
pub(crate) fn mode_name(mode: SadMode) -> &'static str {
    match mode {
        SadMode::Transaction => "transaction",
        SadMode::Seal => "seal",
    }
}

/// The prepared states of stored documents, for [`crate::seal`].
pub(crate) fn states_of(prepared: &PreparedDocuments) -> Result<Vec<PreparedState>, ServiceError> {
    prepared
        .states
        .iter()
        .map(|der| {
            PreparedState::from_der(der)
                .map_err(|e| ServiceError::internal(format!("prepared state: {e}")))
        })
        .collect()
}
