//! The user's authorisation device (docs/device.md): a session opened by signing a fresh
//! challenge with the device key, then the device's pending requests, its SAD answers and
//! its declines. What a phone app does; here for device apps written in Rust, and for tests.

use base64ct::{Base64, Encoding};
use hyper::Method;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::client::{SadFormat, sad_body};
use crate::connection::{query, segment};
use crate::types::Challenge;
use crate::{Connection, Error, Page, PendingPage, PendingRequest};

/// A device session (valid for five minutes; open another when it ends).
pub struct DeviceSession {
    connection: Connection,
    device_id: String,
    authorization: Zeroizing<String>,
    expires_at: String,
}

impl std::fmt::Debug for DeviceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSession")
            .field("device_id", &self.device_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Token {
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct Pending {
    instance_id: String,
    sad_format: SadFormat,
    requests: Vec<PendingRequest>,
    next: Option<String>,
}

impl DeviceSession {
    /// Opens a session for device `device_id` of client `client_id`: asks for a challenge,
    /// has `sign` sign `sam_sad::session_message` for it with the device key (as the
    /// device's JOSE algorithm signs: RSA and ECDSA over the message's hash, ML-DSA over the
    /// message), and exchanges the signature for the session's token.
    pub async fn open<E: std::fmt::Display>(
        connection: &Connection,
        client_id: &str,
        device_id: &str,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Self, Error> {
        let challenge: Challenge = connection
            .call(
                Method::POST,
                "/api/v1/device-sessions/challenge",
                None,
                Some(&json!({"client_id": client_id, "device_id": device_id})),
            )
            .await?;
        let message = sam_sad::session_message(
            client_id,
            device_id,
            &challenge.challenge_id,
            &challenge.challenge,
        );
        let signature =
            sign(&message).map_err(|e| Error::Config(format!("the device key: {e}")))?;
        let token: Token = connection
            .call(
                Method::POST,
                "/api/v1/device-sessions",
                None,
                Some(&json!({
                    "client_id": client_id,
                    "device_id": device_id,
                    "challenge_id": challenge.challenge_id,
                    "challenge": challenge.challenge,
                    "signature": Base64::encode_string(&signature),
                })),
            )
            .await?;
        Ok(Self {
            connection: connection.clone(),
            device_id: device_id.to_owned(),
            authorization: Zeroizing::new(format!("Bearer {}", token.token)),
            expires_at: token.expires_at,
        })
    }

    /// The session's bearer token (a secret until it expires: for scripts that call the
    /// device endpoints themselves).
    pub fn bearer_token(&self) -> &str {
        self.authorization
            .strip_prefix("Bearer ")
            .unwrap_or(self.authorization.as_str())
    }

    /// When the session ends (RFC 3339).
    pub fn expires_at(&self) -> &str {
        &self.expires_at
    }

    /// Get Pending Requests: a page of the requests waiting for this device's answer,
    /// oldest first, with the audience and format its SADs must have.
    pub async fn pending(&self, after: Option<&str>, limit: u32) -> Result<PendingPage, Error> {
        let path = format!(
            "/api/v1/devices{}/pending{}",
            segment(&self.device_id),
            query(&[("after", after), ("limit", Some(&limit.to_string()))])
        );
        let page: Pending = self
            .connection
            .call(
                Method::GET,
                &path,
                Some(self.authorization.as_str()),
                None::<&()>,
            )
            .await?;
        Ok(PendingPage {
            instance_id: page.instance_id,
            sad_format: page.sad_format,
            requests: Page {
                items: page.requests,
                next: page.next,
            },
        })
    }

    /// Answers request `request_id` with the SAD the device signed.
    pub async fn submit_sad(
        &self,
        request_id: &str,
        sad: &[u8],
        format: SadFormat,
    ) -> Result<(), Error> {
        self.connection
            .call(
                Method::POST,
                &format!("/api/v1/authorisations{}/sad", segment(request_id)),
                Some(self.authorization.as_str()),
                Some(&sad_body(sad, format)?),
            )
            .await
    }

    /// Decline Request: the user refuses it.
    pub async fn decline(&self, request_id: &str) -> Result<(), Error> {
        self.connection
            .call(
                Method::POST,
                &format!("/api/v1/authorisations{}/decline", segment(request_id)),
                Some(self.authorization.as_str()),
                None::<&()>,
            )
            .await
    }
}
