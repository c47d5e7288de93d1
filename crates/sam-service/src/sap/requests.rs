//! The life of a request between Authorise and Sign: Get Pending Requests (a device's and the
//! client's list), Get SAM Profile, the device's SAD answer, Decline Request and Status.

use crate::ErrorCode;

use sam_algorithms::UnixTime;
use sam_profile::ProfileId;
use sam_sad::VerifiedSad;
use sam_store::{RequestRecord, RequestStatus, Transition};
use serde::Serialize;

use super::{request_id, transition_error};
use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};
use sam_plan::RequestType;

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

/// Where one of a user's authorisation requests stands, for a client waiting for the user's
/// answer on their device (the CSC API's `credentials/authorizeCheck`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorisationState {
    /// The request.
    pub request_id: String,
    /// The key it authorises.
    pub key_id: String,
    /// Where it stands.
    pub status: RequestStatus,
    /// Once authorised: how long its SAD may still be used, in seconds.
    pub sad_expires_in: Option<i64>,
}

impl Service {
    /// The state of the user's request `request`, read without being counted.
    pub(crate) async fn read_authorisation_state(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
    ) -> Result<AuthorisationState, ServiceError> {
        crate::sap::user_id(user)?;
        request_id(request)?;
        let now = self.now();
        let record = self
            .store
            .request(ctx.id(), request, now)
            .await?
            .filter(|r| r.request.user_id == user)
            .ok_or_else(|| ServiceError::not_found("request", request))?;
        let sad_expires_in = match (&record.status, &record.sad_id) {
            (RequestStatus::Authorised, Some(sad_id)) => self
                .store
                .sad_state(sad_id)
                .await?
                .map(|(_, until)| (until.as_secs() - now.as_secs()).max(0)),
            _ => None,
        };
        Ok(AuthorisationState {
            request_id: record.request.request_id,
            key_id: record.request.key_id,
            status: record.status,
            sad_expires_in,
        })
    }

    /// Where the user's request stands (another user's is not found). Counted and audited
    /// as Status.
    pub async fn authorisation_state(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
    ) -> Result<AuthorisationState, ServiceError> {
        self.request(
            ctx,
            RequestType::Status,
            user,
            format!("request={request}"),
            self.read_authorisation_state(ctx, user, request),
        )
        .await
    }

    /// Waits up to `timeout` for the user to answer their pending request on the device,
    /// looking every quarter second, and gives its state once it is no longer pending. A
    /// request still pending at the end is declined — no one is waiting for its SAD any more,
    /// so nothing may approve it unseen — and the answer is `request_timeout`; if the user
    /// answered in that last moment, that answer is given. Part of the call that created the
    /// request (the CSC API 1.0.4.0's `credentials/authorize`), so not counted on its own.
    pub async fn await_authorisation(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        timeout: std::time::Duration,
    ) -> Result<AuthorisationState, ServiceError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = self.read_authorisation_state(ctx, user, request).await?;
            if state.status != RequestStatus::Pending {
                return Ok(state);
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        match self
            .store
            .decline_request(ctx.id(), request, self.now())
            .await?
        {
            Transition::Done => Err(ServiceError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the user did not answer on their device within {} seconds; the request \
                     is withdrawn",
                    timeout.as_secs()
                ),
            )),
            _ => self.read_authorisation_state(ctx, user, request).await,
        }
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
            self.accept_sad(
                ctx,
                &record,
                sad,
                crate::verification::Answerer::Device(device_id),
            )
            .await
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
        let (record, sad) = self
            .store
            .request_with_sad(ctx.id(), request, now)
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
        let (_, encoded, _) =
            sad.ok_or_else(|| ServiceError::internal("the request's SAD is not registered"))?;
        let verified = self.verify_stored_sad(ctx, &record, &encoded, now).await?;
        Ok((record, sad_id, verified))
    }
}
