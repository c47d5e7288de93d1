//! Device sessions (PROTOCOL.md "Actors and trust anchors"): the user's authorisation app
//! proves it holds its registered authorisation key by signing a fresh server challenge, and
//! gets a short-lived session token for the device request types (Get Pending Requests, the
//! SAD answer, Decline Request).
//!
//! 1. [`Service::device_challenge`] issues 32 random bytes for a device, stored only as a
//!    keyed hash (the one-time code table), valid [`CHALLENGE_VALIDITY_SECS`], one check.
//! 2. The device signs [`session_message`] — `"sam-device-session-v1" 0x00 client 0x00 device
//!    0x00 challenge-id 0x00 challenge` — with its authorisation key, as at registration (RSA
//!    and ECDSA sign the message's hash under the JOSE algorithm's hash; ML-DSA the message).
//! 3. [`Service::open_device_session`] spends the challenge (a challenge opens at most one
//!    session, whatever the signature), verifies the signature under the registered key, and
//!    returns a token: `v1~<client>~<device>~<expiry>~<MAC>` (`~` is in no id's grammar) with an HMAC-SHA-256 under the
//!    deployment's code key, so every node accepts it without a lookup of the token.
//! 4. [`Service::device_session`] checks a token on each request: the MAC, the expiry, and
//!    that the device is still registered (deleting a device ends its sessions at once).
//!
//! A session acts only as its device: the service's device request types check that the
//! request belongs to the device's user, so a session never sees another user's requests.

use crate::ErrorCode;
use sam_algorithms::{JwsAlgorithm, UnixTime};
use sam_sad::DeviceId;
use sam_store::{CodeCheck, NewCode};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};

/// How long a challenge can be answered, in seconds.
pub const CHALLENGE_VALIDITY_SECS: i64 = 60;
/// How long a device session lasts, in seconds.
pub const SESSION_VALIDITY_SECS: i64 = 300;

const CHALLENGE_PURPOSE: &str = "device_session";
const TOKEN_PURPOSE: &str = "device_session_token";

/// A challenge for a device to sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceChallenge {
    /// Names the challenge when it is answered.
    pub challenge_id: String,
    /// The bytes to sign, base64url without padding (as they enter [`session_message`]).
    pub challenge: String,
    /// Until when it can be answered (RFC 3339).
    pub expires_at: String,
}

/// An open device session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceSessionToken {
    /// The bearer token for the device endpoints.
    pub token: String,
    /// Until when it is valid (RFC 3339).
    pub expires_at: String,
}

/// Who a valid session token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSession {
    /// The client the device is registered with.
    pub client: ClientContext,
    /// The device.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
}

pub use sam_sad::session_message;

fn refused() -> ServiceError {
    ServiceError::new(
        ErrorCode::DeviceAuthenticationFailed,
        "the device session could not be opened or is not valid",
    )
}

fn random_b64(bytes: usize) -> Result<String, ServiceError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    Ok(base64ct::Base64UrlUnpadded::encode_string(&buf))
}

use base64ct::Encoding as _;

impl Service {
    /// Issues a challenge for device `device_id` of `client_id`. The answer is the same
    /// whether or not the device exists (nothing is learnt from it); an unknown device simply
    /// cannot answer.
    pub async fn device_challenge(
        &self,
        client_id: &str,
        device_id: &str,
    ) -> Result<DeviceChallenge, ServiceError> {
        let ctx = ClientContext::new(client_id)?;
        DeviceId::new(device_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let challenge_id = random_b64(16)?;
        let challenge = random_b64(32)?;
        let now = self.now();
        let expires_at = now
            .checked_add_secs(CHALLENGE_VALIDITY_SECS)
            .ok_or_else(|| ServiceError::internal("time overflow"))?;
        self.store
            .issue_code(&NewCode {
                code_id: challenge_id.clone(),
                client_id: ctx.id().to_owned(),
                user_id: device_id.to_owned(),
                purpose: CHALLENGE_PURPOSE.to_owned(),
                code_hash: self
                    .code_key()?
                    .hash(CHALLENGE_PURPOSE, &challenge_id, &challenge)?,
                payload: String::new(),
                attempts: 1,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(DeviceChallenge {
            challenge_id,
            challenge,
            expires_at: expires_at.to_string(),
        })
    }

    /// Opens a session for the device that signed the challenge. Every failure is the one
    /// `device_authentication_failed`, audited with its reason.
    pub async fn open_device_session(
        &self,
        client_id: &str,
        device_id: &str,
        challenge_id: &str,
        challenge: &str,
        signature: &[u8],
    ) -> Result<DeviceSessionToken, ServiceError> {
        let ctx = ClientContext::new(client_id)?;
        let now = self.now();
        let result = async {
            let candidate = self
                .code_key()?
                .hash(CHALLENGE_PURPOSE, challenge_id, challenge)?;
            match self
                .store
                .check_code(
                    ctx.id(),
                    device_id,
                    challenge_id,
                    CHALLENGE_PURPOSE,
                    &candidate,
                    now,
                )
                .await?
            {
                CodeCheck::Confirmed { .. } => {}
                _ => {
                    return Err(ServiceError::new(
                        ErrorCode::DeviceAuthenticationFailed,
                        "unknown, used or expired challenge",
                    ));
                }
            }
            let device = self
                .store
                .device(ctx.id(), device_id)
                .await?
                .ok_or_else(|| {
                    ServiceError::new(ErrorCode::DeviceAuthenticationFailed, "unknown device")
                })?;
            let algorithm: JwsAlgorithm = device
                .algorithm
                .parse()
                .map_err(|_| ServiceError::internal("stored device algorithm"))?;
            let spec = sam_keys::public_key_spec(&device.public_key)
                .map_err(|e| ServiceError::internal(format!("stored device key: {e}")))?;
            let message = session_message(ctx.id(), device_id, challenge_id, challenge);
            crate::devices::check_proof(algorithm, spec, &device.public_key, &message, signature)
                .map_err(|_| {
                ServiceError::new(
                    ErrorCode::DeviceAuthenticationFailed,
                    "the signature does not verify under the device's key",
                )
            })?;
            let expires_at = now
                .checked_add_secs(SESSION_VALIDITY_SECS)
                .ok_or_else(|| ServiceError::internal("time overflow"))?;
            let body = format!("v1~{}~{}~{}", ctx.id(), device_id, expires_at.as_secs());
            let mac = self.code_key()?.hash(TOKEN_PURPOSE, "", &body)?;
            Ok(DeviceSessionToken {
                token: format!(
                    "{body}~{}",
                    base64ct::Base64UrlUnpadded::encode_string(&mac)
                ),
                expires_at: expires_at.to_string(),
            })
        }
        .await;
        let result = self
            .audited(
                &ctx,
                OtherAction::OpenDeviceSession,
                device_id,
                format!("device={device_id}"),
                result,
            )
            .await;
        // One answer for every refusal; the audit keeps the reason.
        result.map_err(|e| {
            if e.code == crate::ErrorCode::DeviceAuthenticationFailed {
                refused()
            } else {
                e
            }
        })
    }

    /// The session a token stands for, if it is valid now and its device still exists.
    pub async fn device_session(&self, token: &str) -> Result<DeviceSession, ServiceError> {
        let (body, mac) = token.rsplit_once('~').ok_or_else(refused)?;
        let expected = self.code_key()?.hash(TOKEN_PURPOSE, "", body)?;
        let given = base64ct::Base64UrlUnpadded::decode_vec(mac).map_err(|_| refused())?;
        if !bool::from(expected.ct_eq(&given)) {
            return Err(refused());
        }
        let mut parts = body.split('~');
        let (Some("v1"), Some(client), Some(device), Some(expiry), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(refused());
        };
        let expiry = expiry
            .parse::<i64>()
            .ok()
            .and_then(UnixTime::from_secs)
            .ok_or_else(refused)?;
        if self.now() >= expiry {
            return Err(refused());
        }
        let ctx = ClientContext::new(client).map_err(|_| refused())?;
        let record = self
            .store
            .device(ctx.id(), device)
            .await?
            .ok_or_else(refused)?;
        Ok(DeviceSession {
            client: ctx,
            device_id: record.device_id,
            user_id: record.user_id,
        })
    }
}
