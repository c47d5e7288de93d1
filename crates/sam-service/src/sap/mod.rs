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

use sam_cms::Format;
use sam_profile::{ProfileId, SamProfile};
use sam_sad::{Id128, SadFormat, SadMode, UserId};
use sam_store::{RequestStatus, StoredKey, Transition};
use sam_token::{ActivationIssuer, KeyId};

use crate::ServiceError;
use crate::service::{ClientContext, Service};

mod authorise;
mod requests;
mod signing;
mod time_stamps;

pub use authorise::{
    Authorise, AuthoriseResponse, DocumentContent, DocumentInput, MAX_DOCUMENT_DATA,
};
pub(crate) use authorise::{PreparedDocuments, states_of};
pub use requests::{AuthorisationState, PendingRequest, RequestState, RequestsPage};
pub use signing::SignExpectation;
pub(crate) use signing::Spending;

/// What the service needs to verify SADs and activate keys.
pub struct Signing {
    /// The process's activation issuer (`ActivationIssuer::take`).
    pub issuer: Arc<ActivationIssuer>,
    /// This SAM instance: the audience SADs must name.
    pub instance: sam_sad::InstanceId,
    /// The global SAD format (seed 001: JSON or ASN.1).
    pub sad_format: SadFormat,
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

impl Service {
    /// Whether this service makes `format` (B-T needs its time-stamp authority; B-LT also
    /// revocation values) — what Authorise refuses otherwise.
    pub fn produces(&self, format: Format) -> bool {
        self.signing.as_ref().is_some_and(|s| s.supports(format))
    }

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
}

/// The stored name of a SAD mode.
pub(crate) fn mode_name(mode: SadMode) -> &'static str {
    match mode {
        SadMode::Transaction => "transaction",
        SadMode::Seal => "seal",
    }
}
