//! Get CSR (seed 002): a PKCS#10 certification request (RFC 2986) signed by the user's key.
//!
//! The request's signature is a use of the user's key, so SECURITY.md invariant 1 applies as
//! to any signature (docs/cms.md, `sam_cms::csr`): [`Service::authorise_csr`] builds the
//! `CertificationRequestInfo` from the key's own public key and the subject, and stores a
//! transaction-mode request whose one DTBS/R is its digest (shown to the user as "certificate
//! request for <subject>"); once a SAD authorises it, [`Service::get_csr`] verifies the SAD
//! again, spends its use with the audit record, rebuilds the same request info, checks it
//! gives the authorised DTBS/R, lets the token sign it, and returns the DER request.
//! The client cannot choose the signed bytes: only the subject.

use sam_algorithms::{RsaPadding, SignatureAlgorithm};
use sam_cms::csr::{PreparedCsr, prepare_csr};
use sam_sad::{DocumentToSign, SadMode};
use serde::Serialize;

use crate::sap::{
    AuthoriseResponse, PreparedDocuments, RequestKind, Spending, request_id, user_id,
};
use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};
use sam_plan::RequestType;

/// The longest subject name accepted, in bytes.
pub const MAX_SUBJECT_LEN: usize = 1024;

/// Get CSR's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CsrView {
    /// The key.
    pub key_id: String,
    /// The DER `CertificationRequest`.
    pub csr: Vec<u8>,
}

impl Service {
    fn prepare_key_csr(
        &self,
        key: &sam_store::StoredKey,
        subject: &str,
    ) -> Result<PreparedCsr, ServiceError> {
        let profile = self.profile_by_number(key.profile_id)?;
        let settings = &profile.settings().signing_key;
        let spec = sam_keys::public_key_spec(&key.public_key)
            .map_err(|e| ServiceError::internal(format!("stored public key: {e}")))?;
        let algorithm =
            SignatureAlgorithm::for_key(spec, settings.hash_algorithm, settings.padding);
        prepare_csr(subject, &key.public_key, algorithm)
            .map_err(|e| ServiceError::invalid(e.to_string()))
    }

    /// Authorise a certification request for the user's key with `subject` (RFC 4514, e.g.
    /// `CN=Alice Example,O=Example,C=BE`): a pending request the user (or the client's
    /// SCAL1 evidence) answers like any other.
    pub async fn authorise_csr(
        &self,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
        subject: &str,
    ) -> Result<AuthoriseResponse, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authorise,
            OtherAction::AuthoriseCsr,
            user,
            format!("user={user} key={key_id}"),
            async {
                let user = user_id(user)?;
                if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
                    return Err(ServiceError::invalid(format!(
                        "a subject has 1 to {MAX_SUBJECT_LEN} bytes"
                    )));
                }
                let key = self.user_key(ctx, &user, key_id).await?;
                self.ensure_profile_selected(ctx, key.profile_id).await?;
                let profile = self.profile_by_number(key.profile_id)?;
                let prepared = self.prepare_key_csr(&key, subject)?;
                let dtbsr = prepared.to_be_signed().digest();
                let label = format!("Certificate request for {subject}");
                let label: String = label.chars().take(256).collect();
                let documents = PreparedDocuments {
                    states: Vec::new(),
                    display: serde_json::json!([{
                        "label": label,
                        "subject": subject,
                        "dtbsr": crate::sap::hex(dtbsr.as_bytes()),
                    }]),
                    bound_hash: dtbsr.algorithm(),
                    documents: vec![DocumentToSign { label, hash: dtbsr }],
                };
                self.create_pending(
                    ctx,
                    &key,
                    &profile,
                    documents,
                    1,
                    SadMode::Transaction,
                    None,
                    RequestKind::Csr(subject.to_owned()),
                )
                .await
            },
        )
        .await
    }

    /// Get CSR: the certification request of an authorised `authorise_csr` request.
    pub async fn get_csr(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<CsrView, ServiceError> {
        let now = self.now();
        let prelude = async {
            request_id(request)?;
            let (record, sad_id, verified) = self.authorised_record(ctx, request, now).await?;
            if record.request.kind != RequestKind::CSR {
                return Err(ServiceError::invalid(format!(
                    "request {request} authorises signatures, not a certification request"
                )));
            }
            let key = self
                .store
                .key(ctx.id(), &record.request.key_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("key", &record.request.key_id))?;
            let subject = String::from_utf8(record.request.prepared.clone())
                .map_err(|_| ServiceError::internal("stored subject"))?;
            let prepared = self.prepare_key_csr(&key, &subject)?;
            // The same request info as authorised, or nothing.
            if prepared.to_be_signed().digest().as_bytes() != record.request.dtbsr.as_slice() {
                return Err(ServiceError::internal(
                    "the rebuilt certification request differs from the authorised one",
                ));
            }
            let spending = Spending {
                request: Some(request.to_owned()),
                actor: record.request.user_id.clone(),
                key_id: record.request.key_id.clone(),
                detail: format!(
                    "request={request} sad={sad_id} key={} csr",
                    record.request.key_id
                ),
                sad_id,
                uses: 1,
            };
            Ok((spending, (record, verified, prepared)))
        };
        self.signing_request(
            ctx,
            RequestType::GetCsr,
            request,
            now,
            prelude,
            |(record, verified, prepared), key| async move {
                let padding = self
                    .profile_by_number(record.request.profile_id)
                    .map(|p| p.settings().signing_key.padding)
                    .unwrap_or(RsaPadding::Pkcs1v15);
                let signatures = self
                    .token_sign(
                        key,
                        vec![prepared.to_be_signed().clone()],
                        padding,
                        &verified,
                    )
                    .await?;
                let signature = signatures
                    .into_iter()
                    .next()
                    .ok_or_else(|| ServiceError::internal("the token returned no signature"))?;
                let csr = prepared
                    .complete(&signature)
                    .map_err(|e| ServiceError::internal(format!("certification request: {e}")))?;
                Ok(CsrView {
                    key_id: record.request.key_id,
                    csr,
                })
            },
        )
        .await
    }
}
