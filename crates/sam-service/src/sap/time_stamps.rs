//! Time-stamps of digests a signature application computed (the CSC API's
//! `signatures/timestamp`, 1.0.4.0 §11.10, 2.2.0.0 §11.13): the configured RFC 3161
//! time-stamp authority stamps the digest, carrying the caller's nonce, and the token is
//! checked (imprint, nonce, signature, the TSA certificate's purpose) before it is given.
//!
//! No key of the user's is used and nothing is authorised: a time-stamp proves when a hash
//! existed, not who approved it. It is counted as a Sign — every token is a signature the
//! trust service provider's TSA makes, and a plan that bounds signatures bounds these — and
//! audited as `time_stamp`, naming the user, the digest algorithm and the digest.

use sam_algorithms::Digest;
use sam_plan::RequestType;

use super::{hex, user_id};
use crate::service::{ClientContext, Service};
use crate::{ErrorCode, OtherAction, ServiceError};

impl Service {
    /// Whether [`Service::time_stamp_digest`] can be served (a time-stamp authority is
    /// configured).
    pub fn time_stamps_digests(&self) -> bool {
        self.signing
            .as_ref()
            .is_some_and(|s| s.time_stamp_authority.is_some())
    }

    /// A time-stamp token (`TimeStampToken`, a DER `ContentInfo`, RFC 3161 §2.4.2) over
    /// `digest` for `user`'s signature application, with the
    /// caller's `nonce` in it when given (1 to [`sam_cms::timestamp::MAX_NONCE_LEN`]
    /// bytes). Refused with `not_configured` without a time-stamp authority, and with
    /// `output_failed` when the TSA fails or answers a token that does not check. Counted
    /// as Sign, audited as `time_stamp`.
    pub async fn time_stamp_digest(
        &self,
        ctx: &ClientContext,
        user: &str,
        digest: Digest,
        nonce: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Sign,
            OtherAction::TimeStamp,
            user,
            format!(
                "hash={} digest={}",
                digest.algorithm(),
                hex(digest.as_bytes())
            ),
            async {
                let uid = user_id(user)?;
                self.store
                    .user(ctx.id(), uid.as_str())
                    .await?
                    .ok_or_else(|| ServiceError::not_found("user", user))?;
                if let Some(n) = &nonce
                    && (n.is_empty() || n.len() > sam_cms::timestamp::MAX_NONCE_LEN)
                {
                    return Err(ServiceError::invalid(format!(
                        "a nonce has 1 to {} bytes, not {}",
                        sam_cms::timestamp::MAX_NONCE_LEN,
                        n.len()
                    )));
                }
                let tsa = self
                    .signing
                    .as_ref()
                    .and_then(|s| s.time_stamp_authority.clone())
                    .ok_or_else(|| {
                        ServiceError::new(
                            ErrorCode::NotConfigured,
                            "no time-stamp authority is configured ([signing] tsa_url)",
                        )
                    })?;
                // The TSA is called over the network: off the async threads.
                tokio::task::spawn_blocking(move || {
                    let token = tsa
                        .time_stamp_digest(&digest, nonce.as_deref())
                        .map_err(|e| {
                            ServiceError::new(
                                ErrorCode::OutputFailed,
                                format!("time-stamping the hash: {e}"),
                            )
                        })?;
                    token
                        .to_der()
                        .map_err(|e| ServiceError::internal(format!("time-stamp token: {e}")))
                })
                .await
                .map_err(|e| ServiceError::internal(format!("time-stamp task: {e}")))?
            },
        )
        .await
    }
}
