//! The signing pipeline every signing request type shares (Sign, seal batches, Get CSR): the
//! request admitted by the envelope, the SAD re-verified and spent (rule 5), the key activated
//! for exactly the authorised DTBS/R, and the output recorded before it is handed out.

use crate::ErrorCode;
use std::sync::Arc;

use sam_algorithms::{Digest, RsaPadding, SignatureAlgorithm, UnixTime};
use sam_cms::{PreparedState, Services};
use sam_sad::{SadMode, VerifiedSad};
use sam_store::{Spend, Transition};
use sam_token::{CryptoToken, KeyRecord, ToBeSigned};

use super::authorise::decode_states;
use super::{RequestKind, mode_name, request_id, transition_error};
use crate::service::{ClientContext, Service};
use crate::{AuditAction, OtherAction, ServiceError};
use sam_plan::RequestType;

/// What a client expects a Sign to sign (the CSC API's `signHash` and `signDoc` name it): the
/// request is this user's, for this key, in this format, and the documents it signs are
/// exactly these digests, in any order. For raw output a document's digest is its DTBS/R;
/// for CMS and CAdES it is the `message-digest` the signed attributes carry
/// ([`PreparedState::content_digest`]), while the user authorised the signed attributes'
/// digest — made from it when the request was authorised.
#[derive(Clone, Copy, Debug)]
pub struct SignExpectation<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The key.
    pub key_id: &'a str,
    /// The output format the request was authorised for; `None` for any (a check that the
    /// SAD still stands for these documents, whatever it makes of them).
    pub format: Option<sam_cms::Format>,
    /// The documents' digests.
    pub hashes: &'a [Digest],
}

fn not_expected(why: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::SadInvalid,
        format!("Hash is not authorized by the SAD: {why}"),
    )
}

/// Where each expected digest is among the documents of the request's prepared `states`, if
/// they are the same digests in the expected format: a permutation.
fn expected_order(
    expected: &SignExpectation<'_>,
    states: &[PreparedState],
) -> Result<Vec<usize>, ServiceError> {
    let mut stored = Vec::with_capacity(states.len());
    for state in states {
        let format = state
            .format()
            .map_err(|e| ServiceError::internal(format!("stored prepared state: {e}")))?;
        if let Some(wanted) = expected.format
            && format != wanted
        {
            return Err(not_expected(&format!(
                "the SAD authorised {format} output, not {wanted}"
            )));
        }
        stored.push(
            state
                .content_digest()
                .map_err(|e| ServiceError::internal(format!("stored prepared state: {e}")))?,
        );
    }
    if expected.hashes.len() != stored.len()
        || expected
            .hashes
            .iter()
            .zip(&stored)
            .any(|(d, s)| d.algorithm() != s.algorithm())
    {
        return Err(not_expected("the hashes must be exactly those authorised"));
    }
    let mut taken = vec![false; stored.len()];
    let mut order = Vec::with_capacity(stored.len());
    for digest in expected.hashes {
        let at = stored
            .iter()
            .enumerate()
            .position(|(i, s)| {
                !taken[i]
                    && bool::from(subtle::ConstantTimeEq::ct_eq(
                        s.as_bytes(),
                        digest.as_bytes(),
                    ))
            })
            .ok_or_else(|| not_expected("the hashes must be exactly those authorised"))?;
        taken[at] = true;
        order.push(at);
    }
    Ok(order)
}

/// The order of `expected`'s digests among `record`'s, if the record is what is expected.
fn expected_of(
    record: &sam_store::RequestRecord,
    expected: &SignExpectation<'_>,
) -> Result<Vec<usize>, ServiceError> {
    if record.request.user_id != expected.user_id || record.request.key_id != expected.key_id {
        return Err(ServiceError::new(
            ErrorCode::SadInvalid,
            "the SAD authorises another user's or another credential's signature",
        ));
    }
    expected_order(expected, &decode_states(&record.request.prepared)?)
}

impl Service {
    /// Whether [`Self::sign_expected`] would sign now — the request authorised, its SAD
    /// verifying, the expectation met — without signing or spending anything and without
    /// being counted: for a caller that answers before it signs (the CSC API's asynchronous
    /// `signHash`), so that what can be refused at once is.
    pub async fn check_sign_expected(
        &self,
        ctx: &ClientContext,
        request: &str,
        expected: &SignExpectation<'_>,
    ) -> Result<(), ServiceError> {
        self.signing()?;
        request_id(request)?;
        let (record, _, _) = self.authorised_record(ctx, request, self.now()).await?;
        expected_of(&record, expected).map(|_| ())
    }

    /// Sign: the outputs of an authorised transaction-mode request, in the order of its
    /// documents.
    pub async fn sign(
        &self,
        ctx: &ClientContext,
        request: &str,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        self.sign_checked(ctx, request, None).await
    }

    /// Sign, refused unless the request is what the client expects (its user, key and
    /// digests, checked before the SAD is spent); the outputs in the order of
    /// `expected.hashes`.
    pub async fn sign_expected(
        &self,
        ctx: &ClientContext,
        request: &str,
        expected: &SignExpectation<'_>,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        self.sign_checked(ctx, request, Some(expected)).await
    }

    async fn sign_checked(
        &self,
        ctx: &ClientContext,
        request: &str,
        expected: Option<&SignExpectation<'_>>,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let now = self.now();
        let prelude = async {
            self.signing()?;
            request_id(request)?;
            let (record, sad_id, verified) = self.authorised_record(ctx, request, now).await?;
            let order = match expected {
                None => None,
                Some(expected) => Some(expected_of(&record, expected)?),
            };
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
            Ok((spending, (record, verified, order)))
        };
        self.signing_request(
            ctx,
            RequestType::Sign,
            request,
            now,
            prelude,
            |(record, verified, order), key| async move {
                let states = decode_states(&record.request.prepared)?;
                let outputs = self.sign_states(key, &states, &verified).await?;
                Ok(match order {
                    None => outputs,
                    Some(order) => order
                        .iter()
                        .map(|&i| {
                            outputs.get(i).cloned().ok_or_else(|| {
                                ServiceError::internal("fewer outputs than documents")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                })
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
        let mut admitted = self
            .admit(
                ctx,
                request_type,
                request_type,
                "-".to_owned(),
                format!("request={request}"),
            )
            .await?;
        let (spending, prepared) = match prelude.await {
            Ok(v) => v,
            Err(e) => return self.finish(ctx, admitted, Err(e)).await,
        };
        // A key that cannot sign (a wrong master key, a damaged record) must not cost the
        // user their approval: it is checked before the SAD is spent.
        let key = match self.check_key_usable(ctx, &spending.key_id).await {
            Ok(key) => key,
            Err(e) => return self.finish(ctx, admitted, Err(e)).await,
        };
        if let Err(e) = self.spend(ctx, &spending, admitted.action(), now).await {
            // The store recorded the refusal with the spend's own record.
            self.finished_in_store(ctx, admitted, e.code.as_str(), false)
                .await;
            return Err(e);
        }
        admitted.describe(&spending.actor, &spending.detail);
        let signed = sign(prepared, key).await;
        let action = admitted.action().code();
        let entry = |outcome: &str| sam_store::AuditEntry {
            at: self.now(),
            client_id: ctx.id().to_owned(),
            actor: spending.actor.clone(),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            detail: spending.detail.clone(),
        };
        match (signed, &spending.request) {
            (Ok(output), Some(request_id)) => {
                let completed = self
                    .store
                    .complete_signing(
                        ctx.id(),
                        request_id,
                        self.now(),
                        &entry("ok"),
                        admitted.hold(),
                    )
                    .await;
                match completed {
                    // The record and the plan count are committed with the request `used`.
                    Ok(Transition::Done) => {
                        self.finished_in_store(ctx, admitted, "ok", true).await;
                        Ok(output)
                    }
                    // Given up meanwhile (it outlasted the signing lease): not handed out.
                    Ok(other) => {
                        let e = transition_error(other, request_id);
                        self.finished_in_store(ctx, admitted, e.code.as_str(), false)
                            .await;
                        Err(e)
                    }
                    // Not recorded, so not handed out; the request stays `signing` until
                    // `recover_interrupted_signings` gives it up (and the plan hold's
                    // deadline gives its count back).
                    Err(e) => {
                        let e = ServiceError::from(e);
                        self.finished_in_store(ctx, admitted, e.code.as_str(), true)
                            .await;
                        Err(e)
                    }
                }
            }
            // A seal batch: its record is the acknowledgement.
            (Ok(output), None) => self.finish(ctx, admitted, Ok(output)).await,
            (Err(e), Some(request_id)) => {
                // Best effort: if this cannot be written, the lease gives the request up.
                let _ = self
                    .store
                    .abandon_signing(ctx.id(), request_id, self.now(), &entry(e.code.as_str()))
                    .await;
                self.finished_in_store(ctx, admitted, e.code.as_str(), false)
                    .await;
                Err(e)
            }
            (Err(e), None) => {
                let _ = self
                    .store
                    .give_back_sad_uses(&spending.sad_id, spending.uses, &entry(e.code.as_str()))
                    .await;
                self.finished_in_store(ctx, admitted, e.code.as_str(), false)
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
                    crate::error::spend_refusal_code(refusal),
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
    /// completes the outputs — signing and completing in one task off the async threads (one
    /// hand-over there and back per request).
    pub(crate) async fn sign_states(
        &self,
        key: UsableKey,
        states: &[PreparedState],
        verified: &VerifiedSad,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let inputs: Vec<ToBeSigned<'static>> = states
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
        let signing = self.signing()?;
        let job = SigningJob::new(signing, key, inputs, padding, verified)?;
        let (key_spec, count) = (job.key.record.spec, job.inputs.len());
        // Completing may call the TSA and revocation services: off the async threads too.
        let tsa = signing.time_stamp_authority.clone();
        let revocation = signing.revocation.clone();
        let states = states.to_vec();
        let outputs = tokio::task::spawn_blocking(move || {
            let signatures = job.run().map_err(token_error)?;
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
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ServiceError::internal(format!("signing task: {e}")))??;
        if let Some(observer) = &self.observer {
            observer.signed(&key_spec.to_string(), count);
        }
        Ok(outputs)
    }

    /// Activates the key for exactly `inputs` and lets its token sign them. Under SCAL2 (and
    /// whenever a SAD names hashes) every input must be one the verified SAD authorised.
    pub(crate) async fn token_sign(
        &self,
        key: UsableKey,
        inputs: Vec<ToBeSigned<'static>>,
        padding: RsaPadding,
        verified: &VerifiedSad,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let job = SigningJob::new(self.signing()?, key, inputs, padding, verified)?;
        let (key_spec, count) = (job.key.record.spec, job.inputs.len());
        let signatures = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| ServiceError::internal(format!("signing task: {e}")))?
            .map_err(token_error)?;
        if let Some(observer) = &self.observer {
            observer.signed(&key_spec.to_string(), count);
        }
        Ok(signatures)
    }
}

fn token_error(e: sam_token::TokenError) -> ServiceError {
    ServiceError::internal(format!("token: {e}"))
}

/// One signing, ready to run off the async threads: the key, its activation for exactly the
/// inputs (which the SAD authorised), the inputs and the padding.
struct SigningJob {
    key: UsableKey,
    activation: sam_token::Activation,
    inputs: Vec<ToBeSigned<'static>>,
    padding: RsaPadding,
}

impl SigningJob {
    /// Checks that the verified SAD authorises every input, and activates the key for them.
    fn new(
        signing: &crate::Signing,
        key: UsableKey,
        inputs: Vec<ToBeSigned<'static>>,
        padding: RsaPadding,
        verified: &VerifiedSad,
    ) -> Result<Self, ServiceError> {
        let digests: Vec<Digest> = inputs.iter().map(ToBeSigned::digest).collect();
        verified.sad().authorises(&digests).map_err(|e| {
            ServiceError::new(
                ErrorCode::SadInvalid,
                format!("the SAD does not authorise every hash to sign: {e}"),
            )
        })?;
        let activation = signing.issuer.activate(key.record.key_id.clone(), digests);
        Ok(Self {
            key,
            activation,
            inputs,
            padding,
        })
    }

    /// Signs (blocking): a KAK-gated token first authorises exactly this activation.
    fn run(self) -> Result<Vec<Vec<u8>>, sam_token::TokenError> {
        let Self {
            key: UsableKey { record, token },
            mut activation,
            inputs,
            padding,
        } = self;
        if let Some(authorisation) = token.authorise_key_use(&record, &activation)? {
            activation.attach_kak_authorisation(authorisation);
        }
        token.sign(&record, &activation, padding, &inputs)
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
