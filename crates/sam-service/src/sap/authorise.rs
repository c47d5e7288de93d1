//! Authorise (seed 002): the request checked against key, user and profile, each document
//! prepared with `sam-cms`, and a pending request stored with the canonical message its SAD
//! answers.

use crate::ErrorCode;

use sam_algorithms::{Digest, HashAlgorithm, SignatureAlgorithm, UnixTime};
use sam_cms::{Content, Format, PreparedState, SignatureRequest};
use sam_profile::{AuthorisationMode, SamProfile};
use sam_sad::{AuthorisationRequest, DocumentToSign, Id128, KeyRef, SadMode};
use sam_store::{NewRequest, StoredKey};
use serde::Serialize;
use x509_cert::Certificate;

use super::{RequestKind, hex, mode_name, user_id};
use crate::ServiceError;
use crate::service::{ClientContext, Service};
use sam_plan::RequestType;

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

/// Length-prefixed prepared states, as stored with the request.
pub(super) fn encode_states(states: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in states {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(s);
    }
    out
}

pub(super) fn decode_states(mut bytes: &[u8]) -> Result<Vec<PreparedState>, ServiceError> {
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

impl Service {
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
                scal: i64::from(profile.settings().signing_key.scal.level()),
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
