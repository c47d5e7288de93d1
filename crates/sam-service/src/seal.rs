//! eSeals (seed 001 *Require user authorisation only once until SAD expiry time*; seed 002
//! *Authorisation Certificate*, third case):
//!
//! - Authorise on a seal profile names no documents but a number of signatures; the user
//!   authorises it once (device, OTP/PIN, or IdP), and the accepted SAD is registered with
//!   that many uses until its expiry (capped by the profile's *SAD Expiry*).
//! - [`Service::seal_sign`] signs a batch of documents under it: the SAD is verified again,
//!   the batch spends as many uses as it has documents — all or none, in the same transaction
//!   as its audit record, so racing batches on any number of nodes never exceed the count —
//!   then the key signs exactly the batch's DTBS/R.
//! - [`Service::renew_seal`] starts a renewal: a new seal request for the same user, key and
//!   count, which the client answers with a SAD it signs itself (`auth_method` `renewal`).
//!   `sam` accepts it only while the renewed SAD is unexpired (its uses may be spent): a
//!   lapsed seal needs the user again.
//!
//! Seal mode is for SCAL1 profiles: the hashes of later batches are unknown when the user
//! authorises, which SCAL2 (EN 419 241-1 §5.4.3, the SAD linked to the DTBS/R) rules out;
//! `sam-profile` refuses a SCAL2 profile in seal mode.

use sam_algorithms::HashAlgorithm;
use sam_cms::Format;
use sam_sad::SadMode;

use crate::sap::{
    AuthoriseResponse, DocumentInput, PreparedDocuments, RequestKind, Spending, mode_name,
    request_id, states_of,
};
use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};
use sam_plan::RequestType;

/// A batch of documents to seal under an authorised seal request.
#[derive(Clone, Debug)]
pub struct SealSign {
    /// The authorised seal request.
    pub request_id: String,
    /// The hash of the document digests.
    pub hash_algorithm: HashAlgorithm,
    /// The documents; more than one needs the profile's bulk signing.
    pub documents: Vec<DocumentInput>,
    /// The output: `raw`, `cms` or `cades-b-b`.
    pub format: Format,
}

impl Service {
    /// Sign, for a seal request: signs `batch` now, spending one use per document.
    pub async fn seal_sign(
        &self,
        ctx: &ClientContext,
        batch: SealSign,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let request = batch.request_id.clone();
        let now = self.now();
        let prelude = async {
            request_id(&request)?;
            let (record, sad_id, verified) = self.authorised_record(ctx, &request, now).await?;
            if record.request.mode != mode_name(SadMode::Seal) {
                return Err(ServiceError::invalid(format!(
                    "request {request} authorises one transaction: sign it with sign"
                )));
            }
            let key = self
                .store
                .key(ctx.id(), &record.request.key_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("key", &record.request.key_id))?;
            let profile = self.profile_by_number(record.request.profile_id)?;
            let prepared: PreparedDocuments = self
                .prepare_documents(
                    ctx,
                    &key,
                    &profile,
                    batch.hash_algorithm,
                    &batch.documents,
                    batch.format,
                    now,
                )
                .await?;
            let uses = i64::try_from(prepared.states.len()).unwrap_or(i64::MAX);
            let spending = Spending {
                request: None,
                actor: record.request.user_id.clone(),
                key_id: record.request.key_id.clone(),
                detail: format!(
                    "request={request} sad={sad_id} key={} seal_batch={uses}",
                    record.request.key_id
                ),
                sad_id,
                uses,
            };
            Ok((spending, (verified, prepared)))
        };
        self.signing_request(
            ctx,
            RequestType::Sign,
            &request,
            now,
            prelude,
            |(verified, prepared), key| async move {
                let states = states_of(&prepared)?;
                self.sign_states(key, &states, &verified).await
            },
        )
        .await
    }

    /// Starts the renewal of seal request `previous`: a new pending seal request for the same
    /// user, key and count, to be answered by a client-signed SAD with `auth_method`
    /// `renewal` while the previous SAD is unexpired.
    pub async fn renew_seal(
        &self,
        ctx: &ClientContext,
        previous: &str,
    ) -> Result<AuthoriseResponse, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authorise,
            OtherAction::RenewSeal,
            "client",
            format!("renews={previous}"),
            async {
                request_id(previous)?;
                let now = self.now();
                let record = self
                    .store
                    .request(ctx.id(), previous, now)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("request", previous))?;
                if record.request.mode != mode_name(SadMode::Seal) || record.sad_id.is_none() {
                    return Err(ServiceError::invalid(format!(
                        "request {previous} is not an authorised seal request"
                    )));
                }
                let key = self
                    .store
                    .key(ctx.id(), &record.request.key_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("key", &record.request.key_id))?;
                let profile = self.profile_by_number(record.request.profile_id)?;
                let count = u32::try_from(record.request.num_signatures)
                    .map_err(|_| ServiceError::internal("stored signature count"))?;
                let hash: HashAlgorithm = record
                    .request
                    .hash_algorithm
                    .parse()
                    .map_err(|_| ServiceError::internal("stored hash algorithm"))?;
                let prepared = PreparedDocuments {
                    states: Vec::new(),
                    documents: Vec::new(),
                    display: serde_json::Value::Array(Vec::new()),
                    bound_hash: hash,
                };
                self.create_pending(
                    ctx,
                    &key,
                    &profile,
                    prepared,
                    count,
                    SadMode::Seal,
                    Some(previous.to_owned()),
                    RequestKind::Sign,
                )
                .await
            },
        )
        .await
    }
}
