//! Authorisation requests and the states of the Signature Activation Protocol:
//! `pending → authorised → signing → used`, or `pending → declined`; a pending request past its
//! expiry reads as `expired` and can no longer change. `authorised → signing` happens in the
//! transaction that spends the request's SAD ([`Store::spend_sad_for_request`]), `signing →
//! used` in the one that records the signature ([`Store::complete_signing`]); a signing that
//! failed or was interrupted goes back to `pending` ([`Store::abandon_signing`],
//! [`Store::interrupted_signings`]) with its count of unsigned spends, so the user may approve
//! it again. Every transition is one conditional update, so each happens at most once,
//! whatever races it.

use core::fmt;
use core::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;

use sam_algorithms::UnixTime;

use crate::audit::{AuditEntry, append_in};
use crate::tx::Tx;
use crate::users::time;
use crate::{Store, StoreError};

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    /// Waiting for the user.
    Pending,
    /// A SAD was accepted for it.
    Authorised,
    /// Its SAD is spent and its signatures are being made.
    Signing,
    /// Its signatures were made.
    Used,
    /// The user declined it.
    Declined,
    /// It expired while pending.
    Expired,
}

impl RequestStatus {
    /// The name stored and shown.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Authorised => "authorised",
            Self::Signing => "signing",
            Self::Used => "used",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RequestStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Pending,
            Self::Authorised,
            Self::Signing,
            Self::Used,
            Self::Declined,
            Self::Expired,
        ]
        .into_iter()
        .find(|v| v.name() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown request status {s:?}")))
    }
}

/// A request as created at Authorise time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// The request's id.
    pub request_id: String,
    /// The client.
    pub client_id: String,
    /// The user who must authorise.
    pub user_id: String,
    /// The key to sign with.
    pub key_id: String,
    /// The profile.
    pub profile_id: i64,
    /// 1 or 2.
    pub scal: i64,
    /// `transaction` or `seal`.
    pub mode: String,
    /// The hash of the DTBS/R (a `sam-algorithms` name).
    pub hash_algorithm: String,
    /// How many signatures the SAD will allow.
    pub num_signatures: i64,
    /// The DTBS/R hashes the SAD must bind, one after another.
    pub dtbsr: Vec<u8>,
    /// What the user is shown (labels and document digests), as JSON.
    pub documents: String,
    /// The prepared signature states (`sam-cms`), for Sign to complete.
    pub prepared: Vec<u8>,
    /// The canonical authorisation request message the device signs (`sam-sad`).
    pub message: Vec<u8>,
    /// When.
    pub created_at: UnixTime,
    /// Until when the user may answer (exclusive).
    pub expires_at: UnixTime,
    /// The seal request whose SAD this (seal) request renews, if it is a renewal.
    pub renews: Option<String>,
    /// What it authorises: `sign` (documents) or `csr` (a certification request).
    pub kind: String,
}

/// A stored request with its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// What was created.
    pub request: NewRequest,
    /// The state at the time asked (a pending request past expiry is `Expired`).
    pub status: RequestStatus,
    /// The accepted SAD, once authorised.
    pub sad_id: Option<String>,
    /// When it was authorised or declined.
    pub decided_at: Option<UnixTime>,
    /// How `sam` itself verified the user for this request (`otp`, `pin`), if it did.
    pub user_verified: Option<String>,
    /// How many of its SADs were spent without a signature being made (a failure while
    /// signing, or a node that died): each time it went back to `pending`.
    pub unsigned_spends: i64,
}

/// The outcome of a transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Done.
    Done,
    /// The client has no such request.
    NotFound,
    /// The request is in another state (expired included), which is returned.
    NotAllowed(RequestStatus),
}

const REQUEST_COLUMNS: &str =
    "request_id, client_id, user_id, key_id, profile_id, status, scal, mode,
    hash_algorithm, num_signatures, dtbsr, documents, prepared, sad_id, created_at, expires_at,
    decided_at, message, renews, user_verified, kind, unsigned_spends";

/// [`REQUEST_COLUMNS`] of the table named `r`.
const REQUEST_COLUMNS_R: &str =
    "r.request_id, r.client_id, r.user_id, r.key_id, r.profile_id, r.status, r.scal, r.mode,
    r.hash_algorithm, r.num_signatures, r.dtbsr, r.documents, r.prepared, r.sad_id,
    r.created_at, r.expires_at, r.decided_at, r.message, r.renews, r.user_verified, r.kind,
    r.unsigned_spends";

/// How many columns [`REQUEST_COLUMNS`] are.
const REQUEST_COLUMN_COUNT: usize = 22;

fn request_from(row: &AnyRow, now: UnixTime) -> Result<RequestRecord, StoreError> {
    let status: String = row.try_get(5)?;
    let stored: RequestStatus = status.parse()?;
    let expires_at = time(row.try_get(15)?)?;
    let decided_at: Option<i64> = row.try_get(16)?;
    let message: Option<Vec<u8>> = row.try_get(17)?;
    Ok(RequestRecord {
        request: NewRequest {
            request_id: row.try_get(0)?,
            client_id: row.try_get(1)?,
            user_id: row.try_get(2)?,
            key_id: row.try_get(3)?,
            profile_id: row.try_get(4)?,
            scal: row.try_get(6)?,
            mode: row.try_get(7)?,
            hash_algorithm: row.try_get(8)?,
            num_signatures: row.try_get(9)?,
            dtbsr: row.try_get(10)?,
            documents: row.try_get(11)?,
            prepared: row.try_get(12)?,
            message: message.unwrap_or_default(),
            created_at: time(row.try_get(14)?)?,
            expires_at,
            renews: row.try_get(18)?,
            kind: row.try_get(20)?,
        },
        status: if stored == RequestStatus::Pending && now >= expires_at {
            RequestStatus::Expired
        } else {
            stored
        },
        sad_id: row.try_get(13)?,
        decided_at: decided_at.map(time).transpose()?,
        user_verified: row.try_get(19)?,
        unsigned_spends: row.try_get(21)?,
    })
}

impl Store {
    /// Stores a new pending request; an existing id is a `Conflict`.
    pub async fn create_request(&self, request: &NewRequest) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO authorisation_requests (request_id, client_id, user_id, key_id,
                 profile_id, status, scal, mode, hash_algorithm, num_signatures, dtbsr, documents,
                 prepared, created_at, expires_at, message, renews, kind)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                 $16, $17)
             ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(&request.request_id)
        .bind(&request.client_id)
        .bind(&request.user_id)
        .bind(&request.key_id)
        .bind(request.profile_id)
        .bind(request.scal)
        .bind(&request.mode)
        .bind(&request.hash_algorithm)
        .bind(request.num_signatures)
        .bind(&request.dtbsr)
        .bind(&request.documents)
        .bind(&request.prepared)
        .bind(request.created_at.as_secs())
        .bind(request.expires_at.as_secs())
        .bind(&request.message)
        .bind(request.renews.as_deref())
        .bind(&request.kind)
        .execute(self.pool()?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "request {} exists",
                request.request_id
            )));
        }
        Ok(())
    }

    /// The request as of `now`, if the client has it.
    pub async fn request(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM authorisation_requests
             WHERE client_id = $1 AND request_id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(request_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(|row| request_from(row, now))
            .transpose()
    }

    /// The request as of `now` with its SAD as received (the request the SAD answers, its
    /// bytes and encoding; `None` without one), in one read: what [`Store::request`] and
    /// [`Store::sad_as_received`] give, for a Sign's one look at both.
    pub async fn request_with_sad(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
    ) -> Result<Option<(RequestRecord, Option<(String, Vec<u8>, String)>)>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS_R}, s.request_id, s.encoded, s.encoding
             FROM authorisation_requests r
             LEFT JOIN sads s ON s.client_id = r.client_id AND s.id = r.sad_id
             WHERE r.client_id = $1 AND r.request_id = $2"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(request_id)
            .fetch_optional(self.reader()?)
            .await?
        else {
            return Ok(None);
        };
        let record = request_from(&row, now)?;
        let sad_request: Option<String> = row.try_get(REQUEST_COLUMN_COUNT)?;
        let sad = match sad_request {
            None => None,
            Some(answers) => {
                let encoded: Option<Vec<u8>> = row.try_get(REQUEST_COLUMN_COUNT + 1)?;
                Some((
                    answers,
                    encoded.unwrap_or_default(),
                    row.try_get(REQUEST_COLUMN_COUNT + 2)?,
                ))
            }
        };
        Ok(Some((record, sad)))
    }

    /// Up to `limit` of the user's pending (unexpired) requests, oldest first, after request
    /// `after` in that order (Get Pending Requests, paged). An `after` that is not one of the
    /// client's requests gives an empty page.
    pub async fn pending_for_user(
        &self,
        client_id: &str,
        user_id: &str,
        now: UnixTime,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM authorisation_requests
             WHERE client_id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3
               AND ($4 = '' OR (created_at, request_id) > (
                   SELECT created_at, request_id FROM authorisation_requests
                   WHERE client_id = $5 AND request_id = $6))
             ORDER BY created_at, request_id LIMIT $7"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(user_id)
            .bind(now.as_secs())
            .bind(after.unwrap_or(""))
            .bind(client_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(|row| request_from(row, now))
            .collect()
    }

    /// Up to `limit` of the client's pending requests after `after` in id order (Get Pending
    /// Requests List).
    pub async fn pending_for_client(
        &self,
        client_id: &str,
        now: UnixTime,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM authorisation_requests
             WHERE client_id = $1 AND status = 'pending' AND expires_at > $2 AND request_id > $3
             ORDER BY request_id LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(now.as_secs())
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(|row| request_from(row, now))
            .collect()
    }

    /// `pending → authorised` with the accepted SAD, if still pending and unexpired at `now`.
    pub async fn authorise_request(
        &self,
        client_id: &str,
        request_id: &str,
        sad_id: &str,
        now: UnixTime,
    ) -> Result<Transition, StoreError> {
        self.decide(
            client_id,
            request_id,
            RequestStatus::Authorised,
            Some(sad_id),
            now,
        )
        .await
    }

    /// Records that `sam` verified the user for a pending, unexpired request by `method`
    /// (`otp`, `pin`): the evidence a client-signed SCAL1 SAD needs (PROTOCOL.md "Actors and
    /// trust anchors").
    pub async fn record_user_verification(
        &self,
        client_id: &str,
        request_id: &str,
        method: &str,
        now: UnixTime,
    ) -> Result<Transition, StoreError> {
        let done = sqlx::query(
            "UPDATE authorisation_requests SET user_verified = $3
             WHERE client_id = $1 AND request_id = $2 AND status = 'pending' AND expires_at > $4
             RETURNING request_id",
        )
        .bind(client_id)
        .bind(request_id)
        .bind(method)
        .bind(now.as_secs())
        .fetch_optional(self.pool()?)
        .await?;
        if done.is_some() {
            return Ok(Transition::Done);
        }
        self.not_done(client_id, request_id, now).await
    }

    /// `pending → declined`, if still pending and unexpired at `now`.
    pub async fn decline_request(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
    ) -> Result<Transition, StoreError> {
        self.decide(client_id, request_id, RequestStatus::Declined, None, now)
            .await
    }

    /// `signing → used` with the audit record of the signatures (`audit`, outcome `ok`), in
    /// one transaction: the record says a signature was produced only if the request says so
    /// too. Anything but `Done` means the signatures must not be handed out (the signing was
    /// given up meanwhile, e.g. by [`Store::interrupted_signings`] after a stall).
    ///
    /// `confirm_hold`, the plan count taken for the request, is confirmed in the same
    /// transaction: the count and the signature's record are one fact.
    pub async fn complete_signing(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
        audit: &AuditEntry,
        confirm_hold: Option<&str>,
    ) -> Result<Transition, StoreError> {
        let audit = AuditEntry {
            outcome: "ok".into(),
            ..audit.clone()
        };
        self.end_signing(
            client_id,
            request_id,
            now,
            "status = 'used', signing_since = NULL",
            &audit,
            confirm_hold,
        )
        .await
    }

    /// `signing → pending`, after the signatures could not be made: the spent SAD is
    /// forgotten by the request (the user may approve it again while it is unexpired), its
    /// unsigned spends count one more, and `audit` (with its outcome, the reason) is recorded
    /// in the same transaction.
    pub async fn abandon_signing(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
        audit: &AuditEntry,
    ) -> Result<Transition, StoreError> {
        self.end_signing(
            client_id,
            request_id,
            now,
            "status = 'pending', sad_id = NULL, signing_since = NULL, \
             unsigned_spends = unsigned_spends + 1",
            audit,
            None,
        )
        .await
    }

    /// Ends a `signing` request with `set` (a constant SET clause), `audit` and, if given,
    /// the plan hold confirmed — all in one transaction whose first statement is the
    /// conditional update, so two enders cannot both succeed.
    async fn end_signing(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
        set: &'static str,
        audit: &AuditEntry,
        confirm_hold: Option<&str>,
    ) -> Result<Transition, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let sql = format!(
            "UPDATE authorisation_requests SET {set}
             WHERE client_id = $1 AND request_id = $2 AND status = 'signing'
             RETURNING request_id"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            tx.rollback().await?;
            return self.not_done(client_id, request_id, now).await;
        }
        append_in(&mut tx, audit).await?;
        if let Some(hold) = confirm_hold {
            sqlx::query("DELETE FROM plan_holds WHERE id = $1")
                .bind(hold)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Transition::Done)
    }

    /// The requests (client and request id) that have been `signing` since before
    /// `started_before`: a node took their SAD and then stopped (killed, crashed) or stalled.
    /// The caller gives each up with [`Store::abandon_signing`].
    pub async fn interrupted_signings(
        &self,
        started_before: UnixTime,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query(
            "SELECT client_id, request_id FROM authorisation_requests
             WHERE status = 'signing' AND signing_since < $1
             ORDER BY signing_since LIMIT $2",
        )
        .bind(started_before.as_secs())
        .bind(limit)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
    }

    /// Why a conditional transition did nothing.
    async fn not_done(
        &self,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
    ) -> Result<Transition, StoreError> {
        Ok(match self.request(client_id, request_id, now).await? {
            None => Transition::NotFound,
            Some(found) => Transition::NotAllowed(found.status),
        })
    }

    /// `pending → to` (`authorised` with the SAD, or `declined`), only before the expiry
    /// (exclusive): the expiry bounds the user's answer.
    async fn decide(
        &self,
        client_id: &str,
        request_id: &str,
        to: RequestStatus,
        sad_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Transition, StoreError> {
        let done = sqlx::query(
            "UPDATE authorisation_requests
             SET status = $3, sad_id = COALESCE($4, sad_id), decided_at = $5
             WHERE client_id = $1 AND request_id = $2 AND status = 'pending'
                 AND expires_at > $5
             RETURNING request_id",
        )
        .bind(client_id)
        .bind(request_id)
        .bind(to.name())
        .bind(sad_id)
        .bind(now.as_secs())
        .fetch_optional(self.pool()?)
        .await?;
        if done.is_some() {
            return Ok(Transition::Done);
        }
        self.not_done(client_id, request_id, now).await
    }
}
