//! SCAL1 authorisation (CEN EN 419 241-1 §5.4.2; seed 002 *Authorisation Certificate*):
//! `sam` authenticates the user itself, by a one-time password it sent (Generate OTP, Verify
//! OTP) or by their PIN, and records that for the request; the client then signs the SAD
//! with its authorisation key ([`Service::submit_client_sad`]), and `sam` accepts it only
//! for a request whose user it verified by that method. A SAD alone, however well signed by
//! the client, never stands in for the user.
//!
//! OTPs are random decimal codes, stored only as HMAC-SHA-256 under the service's code key
//! (bound to purpose and request), with an expiry and a bounded number of attempts, and
//! delivered through the [`Notifier`](crate::Notifier) — never returned to the client.

use crate::ErrorCode;
use std::fmt;
use std::sync::Arc;

use hmac::{KeyInit, Mac};
use sam_algorithms::UnixTime;
use sam_store::{CodeCheck, NewCode, Transition};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::notify::{Channel, Notification, NotificationKind};
use crate::sap::{request_id, transition_error, user_id};
use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};
use sam_plan::RequestType;

/// The key under which one-time codes are hashed. Every node of one deployment needs the
/// same key (a node verifies codes another issued); `samd` derives it from its master key.
#[derive(Clone)]
pub struct CodeKey(Zeroizing<[u8; 32]>);

impl CodeKey {
    /// A key from 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh random key (one node, or tests).
    pub fn random() -> Result<Self, ServiceError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| ServiceError::internal(format!("random: {e}")))?;
        Ok(Self(bytes))
    }

    /// HMAC-SHA-256 over purpose, code id and code, each length-prefixed.
    pub(crate) fn hash(
        &self,
        purpose: &str,
        code_id: &str,
        code: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(self.0.as_ref())
            .map_err(|e| ServiceError::internal(format!("code key: {e}")))?;
        for part in [purpose, code_id, code] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey(<redacted>)")
    }
}

/// The SAM instance's own SAD key: an ML-DSA-65 key (FIPS 204) made from a 32-byte seed. It
/// signs the SADs of SCAL1 authorisations whose PIN or OTP `sam` checked itself
/// ([`Service::authorise_with_secret`]: the CSC API, where the server authenticates the user).
/// ML-DSA because its JWS (`ML-DSA-65`) and DER forms suit every profile's SAD hash. Every node
/// of one deployment needs the same key (a node re-verifies at Sign what another signed);
/// `samd` derives the seed from its master key.
#[derive(Clone)]
pub struct ServiceSadKey {
    seed: Arc<Zeroizing<[u8; 32]>>,
    public_key: Arc<Vec<u8>>,
}

const SERVICE_SAD_KEY: sam_algorithms::MlDsaLevel = sam_algorithms::MlDsaLevel::Level3;

impl ServiceSadKey {
    /// The key of `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, ServiceError> {
        let seed = Arc::new(Zeroizing::new(*seed));
        let public_key = Self::signing_key(&seed)?
            .public_key_der()
            .map_err(|e| ServiceError::internal(format!("service SAD key: {e}")))?;
        Ok(Self {
            seed,
            public_key: Arc::new(public_key),
        })
    }

    fn signing_key(seed: &[u8; 32]) -> Result<sam_keys::SigningKey, ServiceError> {
        sam_keys::SigningKey::from_ml_dsa_seed(SERVICE_SAD_KEY, seed)
            .map_err(|e| ServiceError::internal(format!("service SAD key: {e}")))
    }

    /// Its public key, DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_key
    }

    pub(crate) fn spec(&self) -> sam_algorithms::KeySpec {
        sam_algorithms::KeySpec::MlDsa(SERVICE_SAD_KEY)
    }

    /// A signer of SADs under `hash` (ML-DSA signs the message; the hash names the SAD's).
    pub(crate) fn signer(
        &self,
        hash: sam_algorithms::HashAlgorithm,
    ) -> Result<sam_sad::SadSigner, ServiceError> {
        Ok(sam_sad::SadSigner::new(
            Self::signing_key(&self.seed)?,
            hash,
            sam_algorithms::RsaPadding::Pkcs1v15,
        ))
    }
}

impl fmt::Debug for ServiceSadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceSadKey(<redacted>)")
    }
}

/// What the user tells `sam` to authorise a SCAL1 request that `sam` signs itself.
pub enum UserSecret {
    /// Their PIN: their `sam` password.
    Pin(Zeroizing<String>),
    /// The one-time password `sam` sent them for the request.
    Otp(Zeroizing<String>),
    /// The one-time password `sam` sent them for the request's key
    /// ([`Service::generate_credential_otp`]).
    CredentialOtp(Zeroizing<String>),
    /// Both the PIN and the credential's one-time password, each checked.
    PinAndCredentialOtp {
        /// The PIN.
        pin: Zeroizing<String>,
        /// The one-time password.
        otp: Zeroizing<String>,
    },
}

impl fmt::Debug for UserSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pin(_) => "Pin(<redacted>)",
            Self::Otp(_) => "Otp(<redacted>)",
            Self::CredentialOtp(_) => "CredentialOtp(<redacted>)",
            Self::PinAndCredentialOtp { .. } => "PinAndCredentialOtp(<redacted>)",
        })
    }
}

/// A request [`Service::authorise_by_secret`] authorised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretAuthorisation {
    /// The request.
    pub request_id: String,
    /// How long its SAD may still be used, in seconds.
    pub expires_in: i64,
}

/// Refuses a secret for a key under SCAL2, before anything is checked or stored: there the
/// user's device authorises.
fn only_scal1(profile: &sam_profile::SamProfile) -> Result<(), ServiceError> {
    if profile.settings().signing_key.scal == sam_algorithms::Scal::Scal1 {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::InvalidRequest,
            "this key's profile is SCAL2: the user authorises on their registered device, not \
             by PIN or OTP",
        ))
    }
}

/// A random code of `digits` decimal digits (uniform: rejection sampling).
pub(crate) fn random_code(digits: u32) -> Result<Zeroizing<String>, ServiceError> {
    let modulus = 10u64.pow(digits);
    let zone = u64::MAX - (u64::MAX % modulus);
    loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
        let n = u64::from_be_bytes(bytes);
        if n < zone {
            let width = digits as usize;
            return Ok(Zeroizing::new(format!("{:0width$}", n % modulus)));
        }
    }
}

/// Generate OTP: where the code was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtpSent {
    /// `email` or `sms`.
    pub channel: Channel,
    /// Until when the code may be used (RFC 3339).
    pub expires_at: String,
    /// How many attempts it allows.
    pub attempts: i64,
}

/// The purpose under which OTPs for authorisation requests are stored.
const OTP_PURPOSE: &str = "otp";
/// The purpose under which OTPs for a credential (a key) are stored.
const KEY_OTP_PURPOSE: &str = "otp_key";

impl Service {
    /// Sets the notifier that delivers OTPs and confirmation codes.
    pub fn with_notifier(mut self, notifier: Arc<dyn crate::Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    pub(crate) fn code_key(&self) -> Result<&CodeKey, ServiceError> {
        self.settings.code_key.as_ref().ok_or_else(|| {
            ServiceError::new(
                ErrorCode::NotConfigured,
                "no code key is configured for one-time codes",
            )
        })
    }

    /// Delivers a notification off the async workers (a webhook blocks).
    pub(crate) async fn deliver(&self, notification: Notification) -> Result<(), ServiceError> {
        let notifier = self.notifier.clone().ok_or_else(|| {
            ServiceError::new(
                ErrorCode::NotConfigured,
                "no notifier is configured to deliver codes",
            )
        })?;
        tokio::task::spawn_blocking(move || notifier.notify(&notification))
            .await
            .map_err(|e| ServiceError::internal(format!("notification task: {e}")))?
            .map_err(|e| ServiceError::new(ErrorCode::NotificationFailed, e.to_string()))
    }

    /// Generate OTP: sends a one-time password for the user's pending request by `channel`.
    /// A new OTP replaces the previous one of the request.
    pub async fn generate_otp(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        channel: Channel,
    ) -> Result<OtpSent, ServiceError> {
        self.request(
            ctx,
            RequestType::GenerateOtp,
            user,
            format!("request={request} channel={channel:?}"),
            async {
                user_id(user)?;
                request_id(request)?;
                let record = self.pending_record(ctx, request).await?;
                if record.request.user_id != user {
                    return Err(ServiceError::not_found("request", request));
                }
                let stored = self
                    .store
                    .user(ctx.id(), user)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("user", user))?;
                let recipient = match channel {
                    Channel::Email => stored.user.email,
                    Channel::Sms => stored.user.mobile,
                };
                if recipient.is_empty() {
                    return Err(ServiceError::invalid(format!(
                        "user {user} has no {} to send an OTP to",
                        match channel {
                            Channel::Email => "e-mail address",
                            Channel::Sms => "mobile number",
                        }
                    )));
                }
                let now = self.now();
                let expires_at = now
                    .checked_add_secs(self.settings.otp_validity_secs)
                    .ok_or_else(|| ServiceError::internal("OTP expiry out of range"))?
                    .min(record.request.expires_at);
                let code = random_code(self.settings.otp_digits)?;
                self.store
                    .issue_code(&NewCode {
                        code_id: format!("{OTP_PURPOSE}:{request}"),
                        client_id: ctx.id().to_owned(),
                        user_id: user.to_owned(),
                        purpose: OTP_PURPOSE.into(),
                        code_hash: self.code_key()?.hash(OTP_PURPOSE, request, &code)?,
                        payload: request.to_owned(),
                        attempts: self.settings.code_attempts,
                        created_at: now,
                        expires_at,
                    })
                    .await?;
                self.deliver(Notification {
                    kind: NotificationKind::Otp,
                    channel,
                    recipient,
                    client_id: ctx.id().to_owned(),
                    user_id: Some(user.to_owned()),
                    subject: "Your signing code".into(),
                    text: format!(
                        "Your one-time code to authorise signing request {request}. It expires at \
                     {expires_at}."
                    ),
                    code: Some(code),
                })
                .await?;
                Ok(OtpSent {
                    channel,
                    expires_at: expires_at.to_string(),
                    attempts: self.settings.code_attempts,
                })
            },
        )
        .await
    }

    /// Verify OTP: checks the user's OTP for the request; on success `sam` records that it
    /// verified the user for it, which a client-signed SAD with `auth_method` `otp` needs.
    pub async fn verify_otp(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        otp: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::VerifyOtp,
            user,
            format!("request={request}"),
            async {
                user_id(user)?;
                request_id(request)?;
                let now = self.now();
                self.check_otp(ctx, user, request, OTP_PURPOSE, request, &otp, now)
                    .await
            },
        )
        .await
    }

    /// Generate OTP for a credential rather than a request, for a client that asks for the
    /// code before it knows the hashes (the CSC API's `credentials/sendOTP`): a one-time
    /// password for the user's key `key_id`, sent by text message when the user has a mobile
    /// number, else by e-mail, valid for `otp_validity_secs` and the configured attempts. It
    /// is spent by the authorisation that names it ([`UserSecret::CredentialOtp`]); a new one
    /// replaces the previous. Counted and audited as Generate OTP.
    pub async fn generate_credential_otp(
        &self,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
    ) -> Result<OtpSent, ServiceError> {
        self.request(
            ctx,
            RequestType::GenerateOtp,
            user,
            format!("key={key_id}"),
            async {
                let uid = user_id(user)?;
                self.user_key(ctx, &uid, key_id).await?;
                let stored = self
                    .store
                    .user(ctx.id(), user)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("user", user))?;
                let (channel, recipient) = if !stored.user.mobile.is_empty() {
                    (Channel::Sms, stored.user.mobile)
                } else if !stored.user.email.is_empty() {
                    (Channel::Email, stored.user.email)
                } else {
                    return Err(ServiceError::invalid(format!(
                        "user {user} has no mobile number or e-mail address to send an OTP to"
                    )));
                };
                let now = self.now();
                let expires_at = now
                    .checked_add_secs(self.settings.otp_validity_secs)
                    .ok_or_else(|| ServiceError::internal("OTP expiry out of range"))?;
                let code = random_code(self.settings.otp_digits)?;
                self.store
                    .issue_code(&NewCode {
                        code_id: format!("{KEY_OTP_PURPOSE}:{key_id}"),
                        client_id: ctx.id().to_owned(),
                        user_id: user.to_owned(),
                        purpose: KEY_OTP_PURPOSE.into(),
                        code_hash: self.code_key()?.hash(KEY_OTP_PURPOSE, key_id, &code)?,
                        payload: key_id.to_owned(),
                        attempts: self.settings.code_attempts,
                        created_at: now,
                        expires_at,
                    })
                    .await?;
                self.deliver(Notification {
                    kind: NotificationKind::Otp,
                    channel,
                    recipient,
                    client_id: ctx.id().to_owned(),
                    user_id: Some(user.to_owned()),
                    subject: "Your signing code".into(),
                    text: format!(
                        "Your one-time code to authorise a signature with your key {key_id}. It \
                         expires at {expires_at}."
                    ),
                    code: Some(code),
                })
                .await?;
                Ok(OtpSent {
                    channel,
                    expires_at: expires_at.to_string(),
                    attempts: self.settings.code_attempts,
                })
            },
        )
        .await
    }

    /// Checks the user's credential OTP for the pending request's key and records it for the
    /// request. Counted and audited as Verify OTP.
    async fn verify_credential_otp(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        otp: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::VerifyOtp,
            user,
            format!("request={request} credential"),
            async {
                let record = self.pending_record(ctx, request).await?;
                if record.request.user_id != user {
                    return Err(ServiceError::not_found("request", request));
                }
                let key_id = record.request.key_id.as_str();
                let now = self.now();
                self.check_otp(ctx, user, request, KEY_OTP_PURPOSE, key_id, &otp, now)
                    .await
            },
        )
        .await
    }

    /// Checks `otp` against the code stored under `purpose` for `bound` (a request, or a key),
    /// spending an attempt, and on success records the OTP check for `request`.
    #[allow(clippy::too_many_arguments)]
    async fn check_otp(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        purpose: &str,
        bound: &str,
        otp: &str,
        now: UnixTime,
    ) -> Result<(), ServiceError> {
        let check = self
            .store
            .check_code(
                ctx.id(),
                user,
                &format!("{purpose}:{bound}"),
                purpose,
                &self.code_key()?.hash(purpose, bound, otp)?,
                now,
            )
            .await?;
        match check {
            CodeCheck::Confirmed { .. } => self.record_verified(ctx, request, "otp", now).await,
            CodeCheck::Wrong { attempts_left } => Err(ServiceError::new(
                ErrorCode::OtpInvalid,
                format!("wrong OTP; {attempts_left} attempts left"),
            )),
            CodeCheck::Unusable => Err(ServiceError::new(
                ErrorCode::OtpInvalid,
                if purpose == KEY_OTP_PURPOSE {
                    "no usable OTP for this credential: ask for a new one"
                } else {
                    "no usable OTP for this request: generate a new one"
                },
            )),
        }
    }

    /// Verifies the user's PIN (their `sam` password, with the lock-out of Authenticate) for
    /// a pending request; on success `sam` records it, which a client-signed SAD with
    /// `auth_method` `pin` needs.
    pub async fn verify_pin(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        pin: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authenticate,
            OtherAction::VerifyPin,
            user,
            format!("request={request}"),
            async {
                user_id(user)?;
                request_id(request)?;
                let record = self.pending_record(ctx, request).await?;
                if record.request.user_id != user {
                    return Err(ServiceError::not_found("request", request));
                }
                self.check_password(ctx, user, pin).await?;
                self.record_verified(ctx, request, "pin", self.now()).await
            },
        )
        .await
    }

    async fn record_verified(
        &self,
        ctx: &ClientContext,
        request: &str,
        method: &str,
        now: UnixTime,
    ) -> Result<(), ServiceError> {
        match self
            .store
            .record_user_verification(ctx.id(), request, method, now)
            .await?
        {
            Transition::Done => Ok(()),
            other => Err(transition_error(other, request)),
        }
    }

    /// SCAL1 authorisation by `sam` itself, where the server authenticates the user (the CSC
    /// API): checks the user's PIN (Authenticate's lock-out, as [`Self::verify_pin`]) or OTP
    /// ([`Self::verify_otp`]) for their pending request, then signs the request's SAD with the
    /// instance's own key (issuer `sam:<instance>`, method `pin` or `otp`) and accepts it as a
    /// client's SAD is accepted — verified, with the evidence of that check — so the request
    /// is authorised and Sign re-verifies the SAD like any other. Only for SCAL1 profiles:
    /// under SCAL2 the user's device authorises.
    pub async fn authorise_with_secret(
        &self,
        ctx: &ClientContext,
        user: &str,
        request: &str,
        secret: UserSecret,
    ) -> Result<(), ServiceError> {
        user_id(user)?;
        request_id(request)?;
        let record = self.pending_record(ctx, request).await?;
        if record.request.user_id != user {
            return Err(ServiceError::not_found("request", request));
        }
        let profile = self.profile_by_number(record.request.profile_id)?;
        only_scal1(&profile)?;
        let method = match secret {
            UserSecret::Pin(pin) => {
                self.verify_pin(ctx, user, request, pin).await?;
                sam_sad::AuthMethod::Pin
            }
            UserSecret::Otp(otp) => {
                self.verify_otp(ctx, user, request, otp).await?;
                sam_sad::AuthMethod::Otp
            }
            UserSecret::CredentialOtp(otp) => {
                self.verify_credential_otp(ctx, user, request, otp).await?;
                sam_sad::AuthMethod::Otp
            }
            UserSecret::PinAndCredentialOtp { pin, otp } => {
                self.verify_pin(ctx, user, request, pin).await?;
                self.verify_credential_otp(ctx, user, request, otp).await?;
                sam_sad::AuthMethod::Otp
            }
        };
        let result = async {
            self.ensure_client_access(ctx).await?;
            let record = self.pending_record(ctx, request).await?;
            let sad = self.service_sad(&record, &profile, method)?;
            self.accept_sad(ctx, &record, &sad, crate::verification::Answerer::Service)
                .await
        }
        .await;
        self.audited(
            ctx,
            OtherAction::SubmitSad,
            "sam",
            format!("request={request} method={method}"),
            result,
        )
        .await
    }

    /// Authorise and [`Self::authorise_with_secret`] in one call, for a client that has the
    /// user's PIN or OTP at hand when it asks (the CSC API's `credentials/authorize`): the key
    /// must be under a SCAL1 profile (checked before anything is stored), the request is
    /// created and authorised by `sam`'s own SAD. A refused secret leaves no request waiting:
    /// it is declined, so that no device shows it and nothing can authorise it later. Returns
    /// the request and how long its SAD may be used, in seconds.
    pub async fn authorise_by_secret(
        &self,
        ctx: &ClientContext,
        request: crate::Authorise,
        secret: UserSecret,
    ) -> Result<SecretAuthorisation, ServiceError> {
        let user = user_id(&request.user_id)?;
        let key = self.user_key(ctx, &user, &request.key_id).await?;
        let profile = self.profile_by_number(key.profile_id)?;
        only_scal1(&profile)?;
        let user_text = request.user_id.clone();
        let created = self.authorise(ctx, request).await?;
        let id = created.request_id.as_str();
        if let Err(e) = self
            .authorise_with_secret(ctx, &user_text, id, secret)
            .await
        {
            // Best effort: an undeclined request expires on its own.
            let _ = self.store.decline_request(ctx.id(), id, self.now()).await;
            return Err(e);
        }
        let record = self
            .store
            .request(ctx.id(), id, self.now())
            .await?
            .ok_or_else(|| ServiceError::not_found("request", id))?;
        let sad_id = record
            .sad_id
            .ok_or_else(|| ServiceError::internal("an authorised request without its SAD"))?;
        let (_, usable_until) = self
            .store
            .sad_state(&sad_id)
            .await?
            .ok_or_else(|| ServiceError::internal("an authorised request's SAD is unknown"))?;
        Ok(SecretAuthorisation {
            request_id: created.request_id,
            expires_in: (usable_until.as_secs() - self.now().as_secs()).max(0),
        })
    }

    /// The SAD `sam` signs for `record` after checking the user's secret by `method`.
    fn service_sad(
        &self,
        record: &sam_store::RequestRecord,
        profile: &sam_profile::SamProfile,
        method: sam_sad::AuthMethod,
    ) -> Result<Vec<u8>, ServiceError> {
        let signing = self.signing()?;
        let key = self.settings.service_sad_key.as_ref().ok_or_else(|| {
            ServiceError::new(
                ErrorCode::NotConfigured,
                "no service SAD key is configured to authorise by PIN or OTP",
            )
        })?;
        let message = sam_sad::AuthorisationRequest::from_der(&record.request.message)
            .map_err(|e| ServiceError::internal(format!("stored request message: {e}")))?;
        let now = self.now();
        let settings = &profile.settings().signing_key;
        let expires_at = settings
            .sad_expiry
            .and_then(|e| e.expires_at(now))
            .or_else(|| now.checked_add_secs(signing.default_request_expiry_secs))
            .ok_or_else(|| ServiceError::internal("SAD expiry out of range"))?;
        let sad = sam_sad::Sad {
            sad_id: sam_sad::Id128::random().map_err(|e| ServiceError::internal(e.to_string()))?,
            request_id: message.request_id,
            issuer: sam_sad::Issuer::Service(signing.instance.clone()),
            subject: message.subject,
            audience: signing.instance.clone(),
            key_id: message.key_id,
            profile_id: message.profile_id,
            scal: settings.scal,
            hash_algorithm: message.hash_algorithm,
            hashes: message.documents.iter().map(|d| d.hash).collect(),
            num_signatures: message.num_signatures,
            mode: message.mode,
            auth_method: method,
            assertion: None,
            issued_at: now,
            expires_at,
        };
        let signer = key.signer(settings.sad_hash_algorithm)?;
        let signed = match signing.sad_format {
            sam_sad::SadFormat::Json => signer.sign_jws(&sad).map(String::into_bytes),
            sam_sad::SadFormat::Der => signer.sign_der(&sad),
        };
        signed.map_err(|e| ServiceError::internal(format!("service SAD: {e}")))
    }

    /// The client's answer: a SAD signed by the client's authorisation certificate, with
    /// the evidence of its method (OTP, PIN, IdP assertion, seal renewal).
    pub async fn submit_client_sad(
        &self,
        ctx: &ClientContext,
        request: &str,
        sad: &[u8],
    ) -> Result<(), ServiceError> {
        let result = async {
            // Part of Authorise, not counted on its own; access is checked like any request.
            self.ensure_client_access(ctx).await?;
            request_id(request)?;
            let record = self.pending_record(ctx, request).await?;
            self.accept_sad(ctx, &record, sad, crate::verification::Answerer::Client)
                .await
        }
        .await;
        self.audited(
            ctx,
            OtherAction::SubmitSad,
            "client",
            format!("request={request}"),
            result,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_digits_asked_and_vary() {
        let codes: Vec<_> = (0..64).map(|_| random_code(6).unwrap()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().map(|c| c.as_str()).collect();
        assert!(distinct.len() > 60, "{}", distinct.len());
        assert_eq!(random_code(8).unwrap().len(), 8);
    }

    #[test]
    fn the_code_hash_binds_key_purpose_request_and_code() {
        let key = CodeKey::new([7; 32]);
        let base = key.hash("otp", "r1", "123456").unwrap();
        assert_eq!(base.len(), 32);
        assert_eq!(base, key.hash("otp", "r1", "123456").unwrap());
        assert_ne!(base, key.hash("otp", "r1", "123457").unwrap());
        assert_ne!(base, key.hash("otp", "r2", "123456").unwrap());
        assert_ne!(base, key.hash("change_email", "r1", "123456").unwrap());
        assert_ne!(
            base,
            CodeKey::new([8; 32]).hash("otp", "r1", "123456").unwrap()
        );
        // Length prefixes: moving a character between fields changes the hash.
        assert_ne!(
            key.hash("otp", "r11", "23456").unwrap(),
            key.hash("otp", "r1", "123456").unwrap()
        );
        assert_eq!(format!("{key:?}"), "CodeKey(<redacted>)");
    }
}
