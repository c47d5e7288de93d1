//! What `sam` checks before a SAD counts (PROTOCOL.md "Verification rules" 1–4 and "Actors
//! and trust anchors"):
//!
//! - the issuer's registered key: a device of the request's user (SCAL2 default), or the
//!   calling client's *Authorisation Certificate* (seed 002), within its validity;
//! - `sam_sad::verify_sad` against the stored request, this instance and the profile;
//! - the SAD's mode and number of signatures are the request's;
//! - for a client-signed SAD, the evidence of its method: an OTP or PIN that `sam` itself
//!   verified for this request, an IdP assertion that verifies against the profile's IdP, or
//!   (renewal) an unexpired seal SAD of the same user and key that this request renews.
//!
//! Accepting a SAD registers it in the replay registry with its uses (1 for a transaction;
//! the count of a seal) until `min(expires_at + tolerance, accepted + profile SAD expiry)`.

use crate::ErrorCode;
use sam_algorithms::{Digest, HashAlgorithm, RsaPadding, UnixTime};
use sam_profile::{AssertionType, SamProfile, UserIdSource};
use sam_sad::{
    AuthMethod, Expectations, IdpTrust, Issuer, IssuerKey, KeyRef, UserIdClaim, VerifiedSad,
};
use sam_store::{NewSad, RequestRecord, Transition};
use x509_cert::Certificate;

use crate::ServiceError;
use crate::sap::{mode_name, request_id, transition_error, user_id};
use crate::service::{ClientContext, Service};

/// Who hands a SAD to the service.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Answerer<'a> {
    /// This registered device, in its device session.
    Device(&'a str),
    /// The calling client.
    Client,
    /// `sam` itself, after checking the user's PIN or OTP.
    Service,
}

fn sad_invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::SadInvalid, message)
}

/// Whether `now` lies in the certificate's validity, widened by `tolerance` seconds.
fn within_validity(certificate: &Certificate, now: UnixTime, tolerance: u32) -> bool {
    let validity = certificate.tbs_certificate().validity();
    let secs = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let tolerance = i64::from(tolerance);
    now.as_secs() + tolerance >= secs(validity.not_before)
        && now.as_secs() - tolerance <= secs(validity.not_after)
}

impl Service {
    /// The registered key of the SAD's issuer, for `record`.
    async fn issuer_key(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        issuer: &Issuer,
        profile: &SamProfile,
        now: UnixTime,
    ) -> Result<IssuerKey, ServiceError> {
        match issuer {
            Issuer::Device(device_id) => {
                let device = self
                    .store
                    .device(ctx.id(), device_id.as_str())
                    .await?
                    .filter(|d| d.user_id == record.request.user_id)
                    .ok_or_else(|| {
                        sad_invalid("the SAD's device is not a registered device of the user")
                    })?;
                let spec = sam_keys::public_key_spec(&device.public_key)
                    .map_err(|e| ServiceError::internal(format!("stored device key: {e}")))?;
                let padding = if device.algorithm.starts_with("PS") {
                    RsaPadding::Pss
                } else {
                    RsaPadding::Pkcs1v15
                };
                Ok(IssuerKey {
                    issuer: issuer.clone(),
                    spki_der: device.public_key,
                    spec,
                    padding,
                })
            }
            Issuer::Service(instance) => {
                let signing = self.signing()?;
                let key = self
                    .settings
                    .service_sad_key
                    .as_ref()
                    .filter(|_| *instance == signing.instance)
                    .ok_or_else(|| sad_invalid("the SAD is signed by another SAM instance"))?;
                Ok(IssuerKey {
                    issuer: issuer.clone(),
                    spki_der: key.public_key_der().to_vec(),
                    spec: key.spec(),
                    padding: RsaPadding::Pkcs1v15,
                })
            }
            Issuer::Client(client_id) => {
                if client_id.as_str() != ctx.id() {
                    return Err(sad_invalid("the SAD is signed by another client"));
                }
                let der = self
                    .request_client(ctx)
                    .await?
                    .and_then(|c| c.authorisation_certificate.clone())
                    .ok_or_else(|| {
                        sad_invalid(
                            "the client has no authorisation certificate to verify its SADs",
                        )
                    })?;
                let certificate = <Certificate as der::Decode>::from_der(&der).map_err(|e| {
                    ServiceError::internal(format!("stored authorisation certificate: {e}"))
                })?;
                let tolerance = profile.settings().authorisation_key.clock_tolerance_secs;
                if !within_validity(&certificate, now, tolerance) {
                    return Err(sad_invalid(
                        "the client's authorisation certificate is outside its validity",
                    ));
                }
                let spki_der =
                    der::Encode::to_der(certificate.tbs_certificate().subject_public_key_info())
                        .map_err(|e| ServiceError::internal(e.to_string()))?;
                let spec = sam_keys::public_key_spec(&spki_der).map_err(|e| {
                    sad_invalid(format!("the authorisation certificate's key: {e}"))
                })?;
                Ok(IssuerKey {
                    issuer: issuer.clone(),
                    spki_der,
                    spec,
                    // Client keys sign RSA SADs with PKCS#1 v1.5 (RS256/384/512).
                    padding: RsaPadding::Pkcs1v15,
                })
            }
        }
    }

    /// Rules 1–4 for a SAD answering `record`, at `now`, and the SAD's mode and count.
    pub(crate) async fn verify_stored_sad(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        sad: &[u8],
        now: UnixTime,
    ) -> Result<VerifiedSad, ServiceError> {
        let signing = self.signing()?;
        let encoding = signing.sad_format;
        // One code per condition: a SAD past its own `exp` is `sad_expired`, as one past the
        // profile's SAD expiry is (the replay registry's refusal); every other failed rule is
        // `sad_invalid`.
        let refused = |e: sam_sad::SadError| match e {
            sam_sad::SadError::Expired { .. } => {
                ServiceError::new(ErrorCode::SadExpired, e.to_string())
            }
            other => sad_invalid(other.to_string()),
        };
        let profile = self.profile_by_number(record.request.profile_id)?;
        let issuer = sam_sad::peek_issuer(sad, encoding).map_err(refused)?;
        let key = self.issuer_key(ctx, record, &issuer, &profile, now).await?;
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
            scal: profile.settings().signing_key.scal,
            signature_hash: profile.settings().signing_key.sad_hash_algorithm,
            hashes_to_sign: &hashes,
            clock_tolerance_secs: profile.settings().authorisation_key.clock_tolerance_secs,
            now,
        };
        let verified = sam_sad::verify_sad(sad, encoding, &key, &expectations).map_err(refused)?;
        let claims = verified.sad();
        // Rule 4, the hash binding, was checked by `verify_sad` (`Sad::authorises`).
        if mode_name(claims.mode) != record.request.mode {
            return Err(sad_invalid(format!(
                "the SAD is for {} mode; the request is {}",
                mode_name(claims.mode),
                record.request.mode
            )));
        }
        if i64::from(claims.num_signatures) != record.request.num_signatures {
            return Err(sad_invalid(format!(
                "the SAD allows {} signatures; the request asks for {}",
                claims.num_signatures, record.request.num_signatures
            )));
        }
        Ok(verified)
    }

    /// The evidence a client-signed SAD needs for its method.
    async fn check_evidence(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        verified: &VerifiedSad,
        profile: &SamProfile,
        now: UnixTime,
    ) -> Result<(), ServiceError> {
        let claims = verified.sad();
        // Seed 002 *Authorisation Certificate*: a PIN or OTP authorises "in cases involving
        // SCAL1"; under SCAL2 the user's device signs — whoever else would sign for a PIN.
        // sam's own SADs are only `pin` or `otp` (`AuthMethod::allows`), so this holds them too.
        let scal1 = profile.settings().signing_key.scal == sam_algorithms::Scal::Scal1;
        if matches!(claims.auth_method, AuthMethod::Otp | AuthMethod::Pin) && !scal1 {
            return Err(sad_invalid(format!(
                "a {} authorises only under SCAL1; this profile is SCAL2: the user's device \
                 authorises",
                claims.auth_method
            )));
        }
        match claims.auth_method {
            AuthMethod::Device => Ok(()),
            method @ (AuthMethod::Otp | AuthMethod::Pin) => {
                let name = method.to_string();
                if record.user_verified.as_deref() == Some(name.as_str()) {
                    Ok(())
                } else {
                    Err(sad_invalid(format!(
                        "sam has not verified the user's {name} for request {}",
                        record.request.request_id
                    )))
                }
            }
            AuthMethod::Idp => {
                let idp = profile
                    .settings()
                    .delegated_idp
                    .as_ref()
                    .filter(|i| i.enabled)
                    .ok_or_else(|| {
                        sad_invalid("the profile does not delegate user authentication to an IdP")
                    })?;
                if idp.assertion_type != AssertionType::Jwt {
                    return Err(ServiceError::new(
                        ErrorCode::AssertionInvalid,
                        sam_sad::AssertionError::SamlNotSupported.to_string(),
                    ));
                }
                let issuer = idp.issuer.as_deref().ok_or_else(|| {
                    ServiceError::internal("the profile's IdP has no issuer configured")
                })?;
                let trust = IdpTrust {
                    certificate_der: idp.certificate.der(),
                    issuer,
                    audience: idp.audience.as_deref().unwrap_or(ctx.id()),
                    user_id: match &idp.user_id {
                        UserIdSource::Subject => UserIdClaim::Subject,
                        UserIdSource::Attribute(name) => UserIdClaim::Attribute(name.as_str()),
                    },
                    clock_tolerance_secs: idp.clock_tolerance_secs,
                    now,
                };
                let assertion = claims.assertion.as_deref().unwrap_or_default();
                sam_sad::verify_idp_jwt(assertion, &trust, &claims.subject)
                    .map(|_| ())
                    .map_err(|e| ServiceError::new(ErrorCode::AssertionInvalid, e.to_string()))
            }
            AuthMethod::Renewal => {
                let previous_id =
                    record.request.renews.as_deref().ok_or_else(|| {
                        sad_invalid("a renewal SAD answers only a renewal request")
                    })?;
                let previous = self
                    .store
                    .request(ctx.id(), previous_id, now)
                    .await?
                    .filter(|p| {
                        p.request.user_id == record.request.user_id
                            && p.request.key_id == record.request.key_id
                            && p.request.mode == mode_name(sam_sad::SadMode::Seal)
                    })
                    .ok_or_else(|| sad_invalid("the renewed seal request is not found"))?;
                let sad_id = previous
                    .sad_id
                    .ok_or_else(|| sad_invalid("the renewed seal request has no SAD"))?;
                match self.store.sad_state(&sad_id).await? {
                    Some((_, usable_until)) if now < usable_until => Ok(()),
                    _ => Err(sad_invalid(
                        "the renewed seal SAD has expired: the user must authorise again",
                    )),
                }
            }
        }
    }

    /// Verifies a SAD answering the pending `record` (from `answerer`: a device, the client,
    /// or `sam` itself), checks its evidence, registers it and authorises the request.
    pub(crate) async fn accept_sad(
        &self,
        ctx: &ClientContext,
        record: &RequestRecord,
        sad: &[u8],
        answerer: Answerer<'_>,
    ) -> Result<(), ServiceError> {
        let signing = self.signing()?;
        let now = self.now();
        let request = record.request.request_id.as_str();
        let verified = self.verify_stored_sad(ctx, record, sad, now).await?;
        let claims = verified.sad();
        match (answerer, &claims.issuer) {
            (Answerer::Device(device), Issuer::Device(id)) if id.as_str() == device => {}
            (Answerer::Device(_), _) => {
                return Err(sad_invalid("the SAD was signed by another device"));
            }
            (Answerer::Client, Issuer::Client(_)) => {}
            (Answerer::Client, _) => {
                return Err(sad_invalid(
                    "a client submits only SADs signed by its authorisation certificate",
                ));
            }
            (Answerer::Service, Issuer::Service(_)) => {}
            (Answerer::Service, _) => {
                return Err(ServiceError::internal(
                    "sam accepts as its own only the SADs it signed",
                ));
            }
        }
        let profile = self.profile_by_number(record.request.profile_id)?;
        self.check_evidence(ctx, record, &verified, &profile, now)
            .await?;

        // Rule 3 accepts a SAD until its expiry plus the profile's clock tolerance; the
        // replay registry must not end its use earlier, nor later than the profile's SAD
        // expiry allows.
        let tolerance = profile.settings().authorisation_key.clock_tolerance_secs;
        let by_sad = claims
            .expires_at
            .checked_add_secs(i64::from(tolerance))
            .ok_or_else(|| ServiceError::invalid("SAD expiry out of range"))?;
        let by_profile = profile
            .settings()
            .signing_key
            .sad_expiry
            .and_then(|e| e.expires_at(now))
            .or_else(|| now.checked_add_secs(signing.default_request_expiry_secs))
            .ok_or_else(|| ServiceError::internal("SAD expiry out of range"))?;
        let uses = match claims.mode {
            sam_sad::SadMode::Transaction => 1,
            sam_sad::SadMode::Seal => i64::from(claims.num_signatures),
        };
        let sad_id = claims.sad_id.to_string();
        self.store
            .register_sad(&NewSad {
                id: sad_id.clone(),
                client_id: ctx.id().to_owned(),
                user_id: record.request.user_id.clone(),
                key_id: record.request.key_id.clone(),
                uses,
                expires_at: by_sad.min(by_profile),
                created_at: now,
                request_id: request.to_owned(),
                encoded: sad.to_vec(),
                encoding: signing.sad_format.as_str().into(),
            })
            .await
            .map_err(|e| match e {
                sam_store::StoreError::Conflict(_) => {
                    ServiceError::new(ErrorCode::SadReplayed, "this SAD was already presented")
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
}
