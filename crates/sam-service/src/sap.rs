//! The Signature Activation Protocol (SCAL2, device-authorised), seed 002's Authorise, Get
//! Pending Requests, the device's SAD answer, Decline Request, Status and Sign, following the
//! verification rules of PROTOCOL.md:
//!
//! 1. **Authorise** checks key, user and profile, prepares each output with `sam-cms` (for
//!    CMS/CAdES the DTBS/R is the digest of the DER signed attributes), and stores a pending
//!    request with the canonical `sam-sad` request message the device signs.
//! 2. The device fetches it (**Get Pending Requests**) and answers with a SAD signed by its
//!    registered key; `sam` verifies it (rules 1–4) against the stored request and the
//!    device's key, registers it in the replay registry, and marks the request authorised —
//!    or the user **declines**.
//! 3. **Sign** verifies the stored SAD again at that moment, spends its use in the same
//!    transaction as the audit record (rule 5; a second Sign finds it spent), activates the key
//!    for exactly the authorised DTBS/R, lets the token sign, and completes the prepared
//!    outputs. Nothing can be added to what is signed after the user approved it.

use std::sync::Arc;

use sam_algorithms::{Digest, HashAlgorithm, RsaPadding, SignatureAlgorithm};
use sam_cms::{Content, Format, PreparedState, Services, SignatureRequest};
use sam_profile::{AuthorisationMode, ProfileId, SamProfile};
use sam_sad::{
    AuthorisationRequest, DocumentToSign, Expectations, Id128, Issuer, IssuerKey, KeyRef,
    SadEncoding, SadMode, Scal, UserId, VerifiedSad,
};
use sam_store::{NewRequest, NewSad, RequestRecord, RequestStatus, Spend, Transition};
use sam_token::{ActivationIssuer, KeyId, KeyRecord};
use serde::Serialize;
use x509_cert::Certificate;

use crate::ServiceError;
use crate::service::{ClientContext, Service};

/// What the service needs to verify SADs and activate keys.
pub struct Signing {
    /// The process's activation issuer (`ActivationIssuer::take`).
    pub issuer: Arc<ActivationIssuer>,
    /// This SAM instance: the audience SADs must name.
    pub instance: sam_sad::InstanceId,
    /// The global SAD format (seed 001: JSON or ASN.1).
    pub sad_encoding: SadEncoding,
    /// Request expiry when the profile sets none (`SAM_REQUEST_EXPIRY_PERIOD`), seconds.
    pub default_request_expiry_secs: i64,
}

/// One document of an Authorise request.
#[derive(Clone, Debug)]
pub struct DocumentInput {
    /// What the user sees (a file name, a title).
    pub label: String,
    /// The document's digest, under the request's hash algorithm.
    pub digest: Vec<u8>,
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
    /// The documents; more than one needs the profile's bulk signing.
    pub documents: Vec<DocumentInput>,
    /// The output: `raw`, `cms` or `cades-b-b`.
    pub format: Format,
}

/// The answer to Authorise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthoriseResponse {
    /// The request's id.
    pub request_id: String,
    /// Until when the user may answer (RFC 3339).
    pub expires_at: String,
}

/// A pending request as a device gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    /// The request's id.
    pub request_id: String,
    /// The canonical request message (`sam_sad::AuthorisationRequest` DER) the SAD answers.
    pub message: Vec<u8>,
    /// The documents with labels and document digests, as JSON, for display.
    pub documents: String,
}

/// A request's state for Status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestState {
    /// The request's id.
    pub request_id: String,
    /// `pending`, `authorised`, `used`, `declined` or `expired`.
    pub status: String,
    /// Until when the user may answer (RFC 3339).
    pub expires_at: String,
}

fn user_id(text: &str) -> Result<UserId, ServiceError> {
    UserId::new(text).map_err(|e| ServiceError::invalid(e.to_string()))
}

fn request_id(text: &str) -> Result<Id128, ServiceError> {
    text.parse()
        .map_err(|_| ServiceError::invalid(format!("{text:?} is not a request id")))
}

fn hex(bytes: &[u8]) -> String {
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

fn transition_error(t: Transition, id: &str) -> ServiceError {
    match t {
        Transition::Done => ServiceError::internal("unexpected transition"),
        Transition::NotFound => ServiceError::not_found("request", id),
        Transition::NotAllowed(RequestStatus::Expired) => {
            ServiceError::new("request_expired", format!("request {id} has expired"))
        }
        Transition::NotAllowed(status) => {
            ServiceError::new("request_not_pending", format!("request {id} is {status}"))
        }
    }
}

impl Service {
    fn signing(&self) -> Result<&Signing, ServiceError> {
        self.signing
            .as_ref()
            .ok_or_else(|| ServiceError::internal("this service is not set up for signing"))
    }

    fn profile_by_number(&self, id: i64) -> Result<&SamProfile, ServiceError> {
        let number = u32::try_from(id).map_err(|_| ServiceError::internal("stored profile id"))?;
        let profile_id =
            ProfileId::new(number).map_err(|e| ServiceError::internal(e.to_string()))?;
        self.profiles.active_profile(profile_id).map_err(|_| {
            ServiceError::new("profile_inactive", format!("profile {id} is not active"))
        })
    }

    /// Authorise: stores a pending request for the user's device.
    pub async fn authorise(
        &self,
        ctx: &ClientContext,
        request: Authorise,
    ) -> Result<AuthoriseResponse, ServiceError> {
        let detail = format!(
            "user={} key={} documents={} format={}",
            request.user_id,
            request.key_id,
            request.documents.len(),
            request.format
        );
        let actor = request.user_id.clone();
        let result = self.authorise_inner(ctx, request).await;
        self.audited(ctx, "authorise", &actor, detail, result).await
    }

    async fn authorise_inner(
        &self,
        ctx: &ClientContext,
        request: Authorise,
    ) -> Result<AuthoriseResponse, ServiceError> {
        let signing = self.signing()?;
        let user = user_id(&request.user_id)?;
        KeyId::new(&request.key_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let key = self
            .store
            .key(ctx.id(), &request.key_id)
            .await?
            .filter(|k| k.user_id == user.as_str())
            .ok_or_else(|| ServiceError::not_found("key", &request.key_id))?;
        let profile = self.profile_by_number(key.profile_id)?;
        let settings = &profile.settings().signing_key;
        if profile.settings().signing_key.scal != sam_profile::Scal::Scal2 {
            return Err(ServiceError::new(
                "not_supported",
                "SCAL1 authorisation (OTP, PIN, IdP) is not available yet; this profile is SCAL1",
            ));
        }
        if settings.authorisation_mode != AuthorisationMode::EveryTransaction {
            return Err(ServiceError::new(
                "not_supported",
                "eSeal (once until SAD expiry) authorisation is not available yet",
            ));
        }
        if !matches!(request.format, Format::Raw | Format::Cms | Format::CadesBB) {
            return Err(ServiceError::new(
                "not_supported",
                format!(
                    "{} needs a time-stamp authority, which this service has not been given",
                    request.format
                ),
            ));
        }
        let count = request.documents.len();
        if count == 0 {
            return Err(ServiceError::invalid("no documents to sign"));
        }
        if let Some(limit) = settings.hashes_per_request_limit()
            && count > limit as usize
        {
            return Err(ServiceError::new(
                "too_many_hashes",
                format!("the profile allows {limit} hashes per request"),
            ));
        }
        let spec = sam_keys::public_key_spec(&key.public_key)
            .map_err(|e| ServiceError::internal(format!("stored public key: {e}")))?;
        let algorithm = SignatureAlgorithm::for_key(spec, request.hash_algorithm, settings.padding);
        let certificates = if request.format == Format::Raw {
            Vec::new()
        } else {
            let record = self
                .store
                .certificate(ctx.id(), &key.key_id)
                .await?
                .ok_or_else(|| {
                    ServiceError::new(
                        "no_certificate",
                        format!("{} output needs the key's certificate", request.format),
                    )
                })?;
            let mut certs = vec![Certificate::from_der_checked(&record.certificate)?];
            let mut rest = record.chain.as_slice();
            while !rest.is_empty() {
                let (cert, tail) = Certificate::split_der(rest)?;
                certs.push(cert);
                rest = tail;
            }
            certs
        };

        let now = self.now();
        let mut states = Vec::with_capacity(count);
        let mut documents = Vec::with_capacity(count);
        let mut display = Vec::with_capacity(count);
        let mut dtbsr = Vec::new();
        for doc in &request.documents {
            let digest = Digest::new(request.hash_algorithm, &doc.digest).map_err(|_| {
                ServiceError::invalid(format!(
                    "document {:?}: a {} digest has {} bytes",
                    doc.label,
                    request.hash_algorithm,
                    request.hash_algorithm.output_len()
                ))
            })?;
            let mut cms_request = SignatureRequest::new(
                request.format,
                algorithm,
                Content::DetachedDigest(digest),
                certificates.clone(),
                now,
            );
            if request.format == Format::Raw {
                cms_request.public_key = Some(key.public_key.clone());
            }
            let prepared = sam_cms::prepare(&cms_request)
                .map_err(|e| ServiceError::invalid(format!("document {:?}: {e}", doc.label)))?;
            let bound = prepared.to_be_signed.digest();
            dtbsr.extend_from_slice(bound.as_bytes());
            documents.push(DocumentToSign {
                label: doc.label.clone(),
                hash: bound,
            });
            display.push(serde_json::json!({
                "label": doc.label,
                "document_digest": hex(&doc.digest),
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
            .map_or(request.hash_algorithm, |d| d.hash.algorithm());
        let expires_at = settings
            .authorisation_request_expiry
            .and_then(|e| e.expires_at(now))
            .or_else(|| now.checked_add_secs(signing.default_request_expiry_secs))
            .ok_or_else(|| ServiceError::internal("request expiry out of range"))?;
        let id = Id128::random().map_err(|e| ServiceError::internal(e.to_string()))?;
        let message = AuthorisationRequest {
            request_id: id,
            client: ctx.client_id.clone(),
            subject: user.clone(),
            key_id: KeyRef::new(&key.key_id).map_err(|e| ServiceError::internal(e.to_string()))?,
            profile_id: u32::try_from(key.profile_id)
                .map_err(|_| ServiceError::internal("profile id"))?,
            hash_algorithm: bound_hash,
            documents,
            num_signatures: u32::try_from(count)
                .map_err(|_| ServiceError::invalid("too many documents"))?,
            mode: SadMode::Transaction,
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
                scal: 2,
                mode: "transaction".into(),
                hash_algorithm: bound_hash.name().to_owned(),
                num_signatures: count as i64,
                dtbsr,
                documents: serde_json::Value::Array(display).to_string(),
                prepared: encode_states(&states),
                message: message_der,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(AuthoriseResponse {
            request_id: id.to_string(),
            expires_at: expires_at.to_string(),
        })
    }

    /// Get Pending Requests, for a device: its user's unexpired pending requests.
    pub async fn pending_requests(
        &self,
        ctx: &ClientContext,
        device_id: &str,
    ) -> Result<Vec<PendingRequest>, ServiceError> {
        let result = async {
            let device = self
                .store
                .device(ctx.id(), device_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("device", device_id))?;
            Ok(self
                .store
                .pending_for_user(ctx.id(), &device.user_id, self.now())
                .await?
                .into_iter()
                .map(|r| PendingRequest {
                    request_id: r.request.request_id,
                    message: r.request.message,
                    documents: r.request.documents,
                })
                .collect())
        }
        .await;
        self.audited(
            ctx,
            "get_pending_requests",
            device_id,
            format!("device={device_id}"),
            result,
        )
        .await
    }

    /// The verification of PROTOCOL.md rules 1–4 for a SAD answering `record`: the issuer is
    /// a registered device of the request's user, the signature verifies under its key, and
    /// the SAD binds this instance, request, user, key, profile, SCAL, time and every hash.
    async fn verify_answer(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        sad: &[u8],
        encoding: SadEncoding,
    ) -> Result<VerifiedSad, ServiceError> {
        let signing = self.signing()?;
        let refused = |e: sam_sad::SadError| ServiceError::new("sad_invalid", e.to_string());
        let issuer = sam_sad::peek_issuer(sad, encoding).map_err(refused)?;
        let Issuer::Device(device_id) = &issuer else {
            return Err(ServiceError::new(
                "sad_invalid",
                "SCAL2 SADs are signed by the user's device",
            ));
        };
        let device = self
            .store
            .device(ctx.id(), device_id.as_str())
            .await?
            .filter(|d| d.user_id == record.request.user_id)
            .ok_or_else(|| {
                ServiceError::new(
                    "sad_invalid",
                    "the SAD's device is not a registered device of the user",
                )
            })?;
        let spec = sam_keys::public_key_spec(&device.public_key)
            .map_err(|e| ServiceError::internal(format!("stored device key: {e}")))?;
        let padding = if device.algorithm.starts_with("PS") {
            RsaPadding::Pss
        } else {
            RsaPadding::Pkcs1v15
        };
        let key = IssuerKey {
            issuer: issuer.clone(),
            spki_der: device.public_key,
            spec,
            padding,
        };
        let profile = self.profile_by_number(record.request.profile_id)?;
        let hash: HashAlgorithm = record
            .request
            .hash_algorithm
            .parse()
            .map_err(|_| ServiceError::internal("stored hash algorithm"))?;
        let hashes: Vec<Digest> = record
            .request
            .dtbsr
            .chunks(hash.output_len())
            .map(|c| Digest::new(hash, c))
            .collect::<Result<_, _>>()
            .map_err(|e| ServiceError::internal(format!("stored hashes: {e}")))?;
        let subject = user_id(&record.request.user_id)?;
        let key_ref = KeyRef::new(&record.request.key_id)
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        let expectations = Expectations {
            audience: &signing.instance,
            request_id: request_id(&record.request.request_id)?,
            subject: &subject,
            key_id: &key_ref,
            profile_id: u32::try_from(record.request.profile_id)
                .map_err(|_| ServiceError::internal("profile id"))?,
            scal: Scal::Scal2,
            signature_hash: profile.settings().signing_key.sad_hash_algorithm,
            hashes_to_sign: &hashes,
            clock_tolerance_secs: profile.settings().authorisation_key.clock_tolerance_secs,
            now: self.now(),
        };
        sam_sad::verify_sad(sad, encoding, &key, &expectations).map_err(refused)
    }

    /// Get Pending Requests List, for the client: up to `limit` (1 to 1000) of its pending
    /// requests after `after`, in id order.
    pub async fn pending_requests_list(
        &self,
        ctx: &ClientContext,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RequestState>, ServiceError> {
        let result = async {
            if !(1..=crate::users::MAX_PAGE).contains(&limit) {
                return Err(ServiceError::invalid(format!(
                    "limit must be 1 to {}",
                    crate::users::MAX_PAGE
                )));
            }
            Ok(self
                .store
                .pending_for_client(ctx.id(), self.now(), after, limit)
                .await?
                .into_iter()
                .map(|r| RequestState {
                    request_id: r.request.request_id,
                    status: r.status.to_string(),
                    expires_at: r.request.expires_at.to_string(),
                })
                .collect())
        }
        .await;
        self.audited(
            ctx,
            "get_pending_requests_list",
            "-",
            format!("limit={limit}"),
            result,
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
        let result = async {
            let profile_id =
                ProfileId::new(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
            let profile = self
                .profiles
                .active_profile(profile_id)
                .map_err(|_| ServiceError::not_found("profile", &id.to_string()))?;
            profile
                .settings()
                .to_json()
                .map_err(|e| ServiceError::internal(e.to_string()))
        }
        .await;
        self.audited(ctx, "get_sam_profile", "-", format!("profile={id}"), result)
            .await
    }

    /// The device's answer: verifies the SAD for the pending request and authorises it.
    pub async fn submit_sad(
        &self,
        ctx: &ClientContext,
        device_id: &str,
        request: &str,
        sad: &[u8],
    ) -> Result<(), ServiceError> {
        let result = async {
            let signing = self.signing()?;
            request_id(request)?;
            let now = self.now();
            let record = self
                .store
                .request(ctx.id(), request, now)
                .await?
                .ok_or_else(|| ServiceError::not_found("request", request))?;
            let device = self
                .store
                .device(ctx.id(), device_id)
                .await?
                .filter(|d| d.user_id == record.request.user_id)
                .ok_or_else(|| ServiceError::not_found("request", request))?;
            match record.status {
                RequestStatus::Pending => {}
                RequestStatus::Expired => {
                    return Err(transition_error(
                        Transition::NotAllowed(RequestStatus::Expired),
                        request,
                    ));
                }
                other => return Err(transition_error(Transition::NotAllowed(other), request)),
            }
            let verified = self
                .verify_answer(ctx, &record, sad, signing.sad_encoding)
                .await?;
            let claims = verified.sad();
            if claims.issuer
                != Issuer::Device(
                    sam_sad::DeviceId::new(&device.device_id)
                        .map_err(|e| ServiceError::internal(e.to_string()))?,
                )
            {
                return Err(ServiceError::new(
                    "sad_invalid",
                    "the SAD was signed by another device",
                ));
            }
            let sad_id = claims.sad_id.to_string();
            // Rule 3 accepts a SAD until its expiry plus the profile's clock tolerance; the
            // replay registry must not end its use earlier.
            let tolerance = self
                .profile_by_number(record.request.profile_id)?
                .settings()
                .authorisation_key
                .clock_tolerance_secs;
            let usable_until = claims
                .expires_at
                .checked_add_secs(i64::from(tolerance))
                .ok_or_else(|| ServiceError::invalid("SAD expiry out of range"))?;
            self.store
                .register_sad(&NewSad {
                    id: sad_id.clone(),
                    client_id: ctx.id().to_owned(),
                    user_id: record.request.user_id.clone(),
                    key_id: record.request.key_id.clone(),
                    // Transaction mode: one Sign of all the request's hashes.
                    uses: 1,
                    expires_at: usable_until,
                    created_at: now,
                    request_id: request.to_owned(),
                    encoded: sad.to_vec(),
                    encoding: match signing.sad_encoding {
                        SadEncoding::Json => "json".into(),
                        SadEncoding::Der => "der".into(),
                    },
                })
                .await
                .map_err(|e| match e {
                    sam_store::StoreError::Conflict(_) => {
                        ServiceError::new("sad_replayed", "this SAD was already presented")
                    }
                    other => other.into(),
                })?;
            match self
                .store
                .authorise_request(ctx.id(), request, &sad_id, now)
                .await?
            {
                Transition::Done => Ok(()),
                other => Err(transition_error(other, request)),
            }
        }
        .await;
        self.audited(
            ctx,
            "submit_sad",
            device_id,
            format!("request={request}"),
            result,
        )
        .await
    }

    /// Decline Request, by the user's device.
    pub async fn decline(
        &self,
        ctx: &ClientContext,
        device_id: &str,
        request: &str,
    ) -> Result<(), ServiceError> {
        let result = async {
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
        }
        .await;
        self.audited(
            ctx,
            "decline_request",
            device_id,
            format!("request={request}"),
            result,
        )
        .await
    }

    /// Status of a request.
    pub async fn status(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<RequestState, ServiceError> {
        let result = async {
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
            })
        }
        .await;
        self.audited(ctx, "status", "-", format!("request={request}"), result)
            .await
    }

    /// Sign: the outputs of an authorised request, in the order of its documents.
    pub async fn sign(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let signing = self.signing()?;
        request_id(request)?;
        let now = self.now();
        let prelude = async {
            let record = self
                .store
                .request(ctx.id(), request, now)
                .await?
                .ok_or_else(|| ServiceError::not_found("request", request))?;
            if record.status != RequestStatus::Authorised {
                return Err(ServiceError::new(
                    "request_not_authorised",
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
            // Rules 1–4 again, now: the SAD may have expired, its device may be gone.
            let verified = self
                .verify_answer(ctx, &record, &encoded, signing.sad_encoding)
                .await?;
            Ok((record, sad_id, verified))
        }
        .await;
        let (record, sad_id, verified) = match prelude {
            Ok(v) => v,
            Err(e) => {
                return self
                    .audited(ctx, "sign", "-", format!("request={request}"), Err(e))
                    .await;
            }
        };

        // Rule 5: spend the use and record it in one transaction.
        let entry = sam_store::AuditEntry {
            at: now,
            client_id: ctx.id().to_owned(),
            actor: record.request.user_id.clone(),
            action: "sign".into(),
            outcome: String::new(),
            detail: format!(
                "request={request} sad={sad_id} key={}",
                record.request.key_id
            ),
        };
        match self.store.spend_sad_use(&sad_id, now, &entry).await? {
            Spend::Spent { .. } => {}
            Spend::Refused(refusal) => {
                return Err(ServiceError::new(
                    refusal.code(),
                    format!("the request's SAD cannot be used: {}", refusal.code()),
                ));
            }
        }

        let outcome = self.sign_authorised(ctx, &record, &verified).await;
        match outcome {
            Ok(outputs) => {
                self.store.mark_request_used(ctx.id(), request, now).await?;
                Ok(outputs)
            }
            Err(e) => {
                self.audited(
                    ctx,
                    "sign_failed",
                    "-",
                    format!("request={request}"),
                    Err(e),
                )
                .await
            }
        }
    }

    async fn sign_authorised(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        verified: &VerifiedSad,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let signing = self.signing()?;
        let key = self
            .store
            .key(ctx.id(), &record.request.key_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("key", &record.request.key_id))?;
        let key_record = KeyRecord::from_der(&key.reference)
            .map_err(|e| ServiceError::internal(format!("stored key: {e}")))?;
        let states = decode_states(&record.request.prepared)?;
        let inputs: Vec<sam_cms::ToBeSigned> = states
            .iter()
            .map(|s| s.to_be_signed())
            .collect::<Result<_, _>>()
            .map_err(|e| ServiceError::internal(format!("prepared state: {e}")))?;
        // The activation covers exactly what the verified SAD authorised for this request.
        let digests: Vec<Digest> = inputs.iter().map(sam_cms::ToBeSigned::digest).collect();
        if !digests.iter().all(|d| verified.sad().hashes.contains(d)) {
            return Err(ServiceError::new(
                "sad_invalid",
                "the SAD does not authorise every hash to sign",
            ));
        }
        let activation = signing.issuer.activate(key_record.key_id.clone(), digests);
        let padding = match states
            .first()
            .map(PreparedState::algorithm)
            .transpose()
            .map_err(|e| ServiceError::internal(e.to_string()))?
        {
            Some(SignatureAlgorithm::RsaPss(_)) => RsaPadding::Pss,
            _ => RsaPadding::Pkcs1v15,
        };
        let token = self.token(&key.token)?.clone();
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
            token.sign(&key_record, &activation, padding, &token_inputs)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("signing task: {e}")))?
        .map_err(|e| ServiceError::internal(format!("token: {e}")))?;
        states
            .iter()
            .zip(signatures)
            .map(|(state, signature)| {
                sam_cms::complete(state, &signature, &Services::none())
                    .map_err(|e| ServiceError::internal(format!("output: {e}")))
            })
            .collect()
    }
}

trait CertificateDer: Sized {
    fn from_der_checked(der: &[u8]) -> Result<Self, ServiceError>;
    fn split_der(bytes: &[u8]) -> Result<(Self, &[u8]), ServiceError>;
}

impl CertificateDer for Certificate {
    fn from_der_checked(der: &[u8]) -> Result<Self, ServiceError> {
        <Certificate as der::Decode>::from_der(der)
            .map_err(|e| ServiceError::internal(format!("stored certificate: {e}")))
    }

    fn split_der(bytes: &[u8]) -> Result<(Self, &[u8]), ServiceError> {
        let mut reader =
            der::SliceReader::new(bytes).map_err(|e| ServiceError::internal(e.to_string()))?;
        let cert = <Certificate as der::Decode>::decode(&mut reader)
            .map_err(|e| ServiceError::internal(format!("stored chain: {e}")))?;
        let len = der::Encode::to_der(&cert)
            .map_err(|e| ServiceError::internal(e.to_string()))?
            .len();
        Ok((cert, bytes.get(len..).unwrap_or_default()))
    }
}
