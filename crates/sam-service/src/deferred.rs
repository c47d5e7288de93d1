//! Deferred results: a signature made after the answer (the CSC API's asynchronous
//! `signHash` and `signPolling`, docs/csc.md). The caller takes a response id
//! ([`Service::begin_deferred`]), makes the signatures in the background and records their
//! outcome ([`Service::finish_deferred`]); the user's client reads it on any node
//! ([`Service::deferred_result`], counted as Status) until it expires. The Sign itself is
//! counted, audited and spent as every Sign is.

use sam_plan::RequestType;
use sam_store::DeferredOutcome;

use crate::sap::user_id;
use crate::service::{ClientContext, Service};
use crate::{ErrorCode, ServiceError};

/// Where a deferred result stands, as its client reads it.
#[derive(Debug)]
pub enum DeferredResult {
    /// Still being made.
    Pending,
    /// Made: the outputs, in order.
    Done(Vec<Vec<u8>>),
    /// Refused, as the signing was.
    Failed(ServiceError),
}

/// The longest a deferred result is kept, seconds (a day).
pub const MAX_DEFERRED_SECS: i64 = 86_400;

impl Service {
    /// A new pending result for the user, kept `validity_secs` (1 to a day): its response id
    /// (128 random bits, hex).
    pub async fn begin_deferred(
        &self,
        ctx: &ClientContext,
        user: &str,
        validity_secs: i64,
    ) -> Result<String, ServiceError> {
        user_id(user)?;
        if !(1..=MAX_DEFERRED_SECS).contains(&validity_secs) {
            return Err(ServiceError::invalid(format!(
                "a deferred result is kept 1 to {MAX_DEFERRED_SECS} seconds"
            )));
        }
        let id = sam_sad::Id128::random()
            .map_err(|e| ServiceError::internal(e.to_string()))?
            .to_string();
        let now = self.now();
        let until = now
            .checked_add_secs(validity_secs)
            .ok_or_else(|| ServiceError::internal("time overflow"))?;
        self.store
            .begin_deferred(ctx.id(), user, &id, now, until)
            .await?;
        Ok(id)
    }

    /// Records the outcome of the signing for `response_id`: its outputs, or the code and
    /// message of its refusal (an internal one without its detail, which is in the log).
    pub async fn finish_deferred(
        &self,
        ctx: &ClientContext,
        response_id: &str,
        result: &Result<Vec<Vec<u8>>, ServiceError>,
    ) -> Result<(), ServiceError> {
        let outcome = match result {
            Ok(outputs) => DeferredOutcome::Done(outputs.clone()),
            Err(e) => DeferredOutcome::Failed {
                code: e.code.as_str().to_owned(),
                message: if e.code.kind() == crate::ErrorKind::Internal {
                    "see the service's log".to_owned()
                } else {
                    e.message.clone()
                },
            },
        };
        self.store
            .finish_deferred(ctx.id(), response_id, &outcome)
            .await?;
        Ok(())
    }

    /// The user's result `response_id`: pending, the outputs, or the refusal it was. Another
    /// user's, another client's, an expired or an unknown one is `not_found`. Counted and
    /// audited as Status.
    pub async fn deferred_result(
        &self,
        ctx: &ClientContext,
        user: &str,
        response_id: &str,
    ) -> Result<DeferredResult, ServiceError> {
        self.request(
            ctx,
            RequestType::Status,
            user,
            format!("response={response_id}"),
            async {
                user_id(user)?;
                let found = self
                    .store
                    .deferred(ctx.id(), user, response_id, self.now())
                    .await?
                    .ok_or_else(|| ServiceError::not_found("response", response_id))?;
                Ok(match found {
                    DeferredOutcome::Pending => DeferredResult::Pending,
                    DeferredOutcome::Done(outputs) => DeferredResult::Done(outputs),
                    DeferredOutcome::Failed { code, message } => {
                        DeferredResult::Failed(ServiceError::new(
                            code.parse().unwrap_or(ErrorCode::InternalError),
                            message,
                        ))
                    }
                })
            },
        )
        .await
    }
}
