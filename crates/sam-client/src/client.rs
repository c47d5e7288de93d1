//! The business application's side of the native API (`/api/v1`, docs/api.md "Client
//! endpoints"): users, keys and certificates, devices, authorisations and signatures, SCAL1
//! evidence, seals.

use std::time::Duration;

use base64ct::{Base64, Encoding};
use hyper::Method;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::connection::{query, segment};
use crate::types::base64_bytes;
use crate::{
    Authorisation, Authorised, Certificate, Connection, Device, Document, Error, Key, NewDevice,
    NewUser, Page, RequestStatus, User,
};

/// How a business application authenticates (seed 002 *EST client authentication*).
#[derive(Clone)]
pub enum ClientAuth {
    /// Only the TLS client certificate of the connection (an [`crate::Endpoint`] made with
    /// `with_client_certificate`).
    Certificate,
    /// HTTP Basic with the client id and secret (with or without a client certificate).
    Basic {
        /// The client id.
        client_id: String,
        /// Its secret.
        secret: Zeroizing<String>,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate => f.write_str("Certificate"),
            Self::Basic { client_id, .. } => f
                .debug_struct("Basic")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// A delivery channel for a one-time code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// To the user's e-mail address.
    Email,
    /// To the user's mobile number.
    Sms,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// Where a code went (Generate OTP, Recover Password, Change Email or Mobile); never the
/// code itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct CodeSent {
    /// `email` or `sms`.
    pub channel: String,
    /// When the code expires.
    pub expires_at: String,
    /// How many checks it allows.
    pub attempts: i64,
}

/// A user with a page of their devices and keys (Get User Profile).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct UserProfile {
    /// The user.
    pub user: User,
    /// A page of their devices.
    pub devices: Vec<Device>,
    /// The cursor of the next page of devices.
    pub devices_next: Option<String>,
    /// A page of their keys.
    pub keys: Vec<Key>,
    /// The cursor of the next page of keys.
    pub keys_next: Option<String>,
}

/// The SAD formats (`sam_sad::SadFormat`): a SAD is sent in the server's format, a JSON SAD
/// as its JWS.
pub use sam_sad::SadFormat;

/// The body of a SAD submission: a JWS as its text (`encoding` `jws`), DER as base64.
pub(crate) fn sad_body(sad: &[u8], format: SadFormat) -> Result<serde_json::Value, Error> {
    Ok(match format {
        SadFormat::Json => json!({
            "sad": std::str::from_utf8(sad)
                .map_err(|_| Error::Config("a JWS SAD is text".into()))?,
            "encoding": "jws",
        }),
        SadFormat::Der => json!({"sad": Base64::encode_string(sad), "encoding": "der"}),
    })
}

/// A business application's client of `samd`.
#[derive(Clone, Debug)]
pub struct SamClient {
    connection: Connection,
    authorization: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct Users {
    users: Vec<User>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Devices {
    devices: Vec<Device>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Certificates {
    certificates: Vec<Certificate>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Requests {
    requests: Vec<RequestStatus>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Signatures {
    #[serde(with = "base64_bytes::list")]
    signatures: Vec<Vec<u8>>,
}

#[derive(Deserialize)]
struct Csr {
    #[serde(with = "base64_bytes")]
    csr: Vec<u8>,
}

fn limit_text(limit: u32) -> String {
    limit.to_string()
}

impl SamClient {
    /// A client over `connection`, authenticating with `auth`.
    pub fn new(connection: Connection, auth: ClientAuth) -> Self {
        let authorization = match auth {
            ClientAuth::Certificate => None,
            ClientAuth::Basic { client_id, secret } => {
                let pair = Zeroizing::new(format!("{client_id}:{}", secret.as_str()));
                Some(Zeroizing::new(format!(
                    "Basic {}",
                    Base64::encode_string(pair.as_bytes())
                )))
            }
        };
        Self {
            connection,
            authorization,
        }
    }

    /// The connection (to open a device session or an operator's client on the same samd).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, Error> {
        self.connection
            .call(
                method,
                path,
                self.authorization.as_ref().map(|a| a.as_str()),
                body,
            )
            .await
    }

    // --- users (seed 002 user management) ---

    /// Register User.
    pub async fn register_user(&self, user: &NewUser) -> Result<User, Error> {
        let body = serde_json::to_value(user).map_err(|e| Error::Config(e.to_string()))?;
        self.call(Method::POST, "/api/v1/users", Some(&body)).await
    }

    /// Get User.
    pub async fn user(&self, user_id: &str) -> Result<User, Error> {
        self.call(
            Method::GET,
            &format!("/api/v1/users{}", segment(user_id)),
            None,
        )
        .await
    }

    /// Get Users: a page of at most `limit` (1–1000) after `after`, in id order.
    pub async fn users(&self, after: Option<&str>, limit: u32) -> Result<Page<User>, Error> {
        let path = format!(
            "/api/v1/users{}",
            query(&[("after", after), ("limit", Some(&limit_text(limit)))])
        );
        let page: Users = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.users,
            next: page.next,
        })
    }

    /// Update User: the e-mail address and/or mobile number.
    pub async fn update_user(
        &self,
        user_id: &str,
        email: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<User, Error> {
        let mut body = serde_json::Map::new();
        if let Some(email) = email {
            body.insert("email".into(), email.into());
        }
        if let Some(mobile) = mobile {
            body.insert("mobile".into(), mobile.into());
        }
        self.call(
            Method::PATCH,
            &format!("/api/v1/users{}", segment(user_id)),
            Some(&body.into()),
        )
        .await
    }

    /// Delete User.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            &format!("/api/v1/users{}", segment(user_id)),
            None,
        )
        .await
    }

    /// Change Password (`current` unless the user has none).
    pub async fn change_password(
        &self,
        user_id: &str,
        current: Option<&str>,
        new: &str,
    ) -> Result<(), Error> {
        let mut body = json!({"new": new});
        if let Some(current) = current {
            body["current"] = current.into();
        }
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/password", segment(user_id)),
            Some(&body),
        )
        .await
    }

    /// Authenticate: checks the user's password.
    pub async fn authenticate(&self, user_id: &str, password: &str) -> Result<(), Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/authenticate", segment(user_id)),
            Some(&json!({"password": password})),
        )
        .await
    }

    /// A CSC access token for the user (`POST /api/v1/users/{user_id}/access-tokens`): the
    /// business application acting for its user on the CSC API; `remember_me` adds a refresh
    /// token. Counted as Authenticate.
    pub async fn access_token(
        &self,
        user_id: &str,
        remember_me: bool,
    ) -> Result<crate::AccessToken, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/access-tokens", segment(user_id)),
            Some(&json!({"remember_me": remember_me})),
        )
        .await
    }

    /// Get User Profile: the user and a page of at most `limit` of their devices and keys.
    pub async fn user_profile(
        &self,
        user_id: &str,
        devices_after: Option<&str>,
        keys_after: Option<&str>,
        limit: u32,
    ) -> Result<UserProfile, Error> {
        let path = format!(
            "/api/v1/users{}/profile{}",
            segment(user_id),
            query(&[
                ("devices_after", devices_after),
                ("keys_after", keys_after),
                ("limit", Some(&limit_text(limit))),
            ])
        );
        self.call(Method::GET, &path, None).await
    }

    /// Recover Password: a code goes to the user by `channel`.
    pub async fn recover_password(
        &self,
        user_id: &str,
        channel: Channel,
    ) -> Result<CodeSent, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/password/recover", segment(user_id)),
            Some(&json!({"channel": channel.as_str()})),
        )
        .await
    }

    /// Confirm Recover Password with the code the user received.
    pub async fn confirm_recover_password(
        &self,
        user_id: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/password/recover/confirm", segment(user_id)),
            Some(&json!({"code": code, "new_password": new_password})),
        )
        .await
    }

    /// Change Email: a code goes to the new address.
    pub async fn change_email(&self, user_id: &str, email: &str) -> Result<CodeSent, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/email", segment(user_id)),
            Some(&json!({"email": email})),
        )
        .await
    }

    /// Confirm Change Email.
    pub async fn confirm_change_email(&self, user_id: &str, code: &str) -> Result<User, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/email/confirm", segment(user_id)),
            Some(&json!({"code": code})),
        )
        .await
    }

    /// Change Mobile: a code goes to the new number.
    pub async fn change_mobile(&self, user_id: &str, mobile: &str) -> Result<CodeSent, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/mobile", segment(user_id)),
            Some(&json!({"mobile": mobile})),
        )
        .await
    }

    /// Confirm Change Mobile.
    pub async fn confirm_change_mobile(&self, user_id: &str, code: &str) -> Result<User, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/mobile/confirm", segment(user_id)),
            Some(&json!({"code": code})),
        )
        .await
    }

    // --- keys and certificates ---

    /// Key Generation, under `profile_id` (the client's default profile if none).
    pub async fn generate_key(&self, user_id: &str, profile_id: Option<u32>) -> Result<Key, Error> {
        let body = match profile_id {
            Some(id) => json!({"profile_id": id}),
            None => json!({}),
        };
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/keys", segment(user_id)),
            Some(&body),
        )
        .await
    }

    /// Key Delete.
    pub async fn delete_key(&self, key_id: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            &format!("/api/v1/keys{}", segment(key_id)),
            None,
        )
        .await
    }

    /// Import Certificate: the key's certificate (DER) and its chain.
    pub async fn import_certificate(
        &self,
        key_id: &str,
        certificate: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<Certificate, Error> {
        let body = json!({
            "certificate": Base64::encode_string(certificate),
            "chain": chain.iter().map(|c| Base64::encode_string(c)).collect::<Vec<_>>(),
        });
        self.call(
            Method::PUT,
            &format!("/api/v1/keys{}/certificate", segment(key_id)),
            Some(&body),
        )
        .await
    }

    /// Get Certificate.
    pub async fn certificate(&self, key_id: &str) -> Result<Certificate, Error> {
        self.call(
            Method::GET,
            &format!("/api/v1/keys{}/certificate", segment(key_id)),
            None,
        )
        .await
    }

    /// Get Certificates: a page of the user's keys that have a certificate.
    pub async fn certificates(
        &self,
        user_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Certificate>, Error> {
        let path = format!(
            "/api/v1/users{}/certificates{}",
            segment(user_id),
            query(&[("after", after), ("limit", Some(&limit_text(limit)))])
        );
        let page: Certificates = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.certificates,
            next: page.next,
        })
    }

    /// Get CSR, first half: asks the user to authorise a PKCS#10 request for `subject` (an
    /// RFC 4514 name) with their key.
    pub async fn authorise_csr(
        &self,
        key_id: &str,
        user_id: &str,
        subject: &str,
    ) -> Result<Authorised, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/keys{}/csr", segment(key_id)),
            Some(&json!({"user_id": user_id, "subject": subject})),
        )
        .await
    }

    /// Get CSR, second half: the PKCS#10 request (DER) once the user authorised it.
    pub async fn get_csr(&self, key_id: &str, request_id: &str) -> Result<Vec<u8>, Error> {
        let csr: Csr = self
            .call(
                Method::POST,
                &format!("/api/v1/keys{}/csr", segment(key_id)),
                Some(&json!({"request_id": request_id})),
            )
            .await?;
        Ok(csr.csr)
    }

    // --- devices ---

    /// Register Device for a user (docs/device.md: the proof signs
    /// `sam_sad::registration_message`).
    pub async fn register_device(
        &self,
        user_id: &str,
        device: &NewDevice,
    ) -> Result<Device, Error> {
        let body = serde_json::to_value(device).map_err(|e| Error::Config(e.to_string()))?;
        self.call(
            Method::POST,
            &format!("/api/v1/users{}/devices", segment(user_id)),
            Some(&body),
        )
        .await
    }

    /// Get Devices: a page of the user's devices.
    pub async fn devices(
        &self,
        user_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Device>, Error> {
        let path = format!(
            "/api/v1/users{}/devices{}",
            segment(user_id),
            query(&[("after", after), ("limit", Some(&limit_text(limit)))])
        );
        let page: Devices = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.devices,
            next: page.next,
        })
    }

    /// Get Device.
    pub async fn device(&self, device_id: &str) -> Result<Device, Error> {
        self.call(
            Method::GET,
            &format!("/api/v1/devices{}", segment(device_id)),
            None,
        )
        .await
    }

    /// Delete Device.
    pub async fn delete_device(&self, device_id: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            &format!("/api/v1/devices{}", segment(device_id)),
            None,
        )
        .await
    }

    // --- authorisations and signatures (the Signature Activation Protocol) ---

    /// Authorise: asks the user to approve exactly these documents.
    pub async fn authorise(&self, authorisation: &Authorisation) -> Result<Authorised, Error> {
        let body = serde_json::to_value(authorisation).map_err(|e| Error::Config(e.to_string()))?;
        self.call(Method::POST, "/api/v1/authorisations", Some(&body))
            .await
    }

    /// Status of a request.
    pub async fn status(&self, request_id: &str) -> Result<RequestStatus, Error> {
        self.call(
            Method::GET,
            &format!("/api/v1/authorisations{}", segment(request_id)),
            None,
        )
        .await
    }

    /// Get Pending Requests List: a page of the client's pending requests.
    pub async fn pending_requests(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<RequestStatus>, Error> {
        let path = format!(
            "/api/v1/authorisations{}",
            query(&[
                ("status", Some("pending")),
                ("after", after),
                ("limit", Some(&limit_text(limit))),
            ])
        );
        let page: Requests = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.requests,
            next: page.next,
        })
    }

    /// Waits until the user has answered request `request_id` or it expired, asking for
    /// its status every `every`, for at most `within`: the last status (`authorised`,
    /// `declined`, `expired`, or another that is not `pending`). Dropping the future stops
    /// the wait; nothing is left behind on the server.
    pub async fn wait_for_answer(
        &self,
        request_id: &str,
        every: Duration,
        within: Duration,
    ) -> Result<RequestStatus, Error> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let status = self.status(request_id).await?;
            if status.status != "pending" {
                return Ok(status);
            }
            if tokio::time::Instant::now() + every > deadline {
                return Err(Error::TimedOut(format!(
                    "request {request_id} was still pending after {} s",
                    within.as_secs()
                )));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// A SAD with SCAL1 evidence, signed by the client's authorisation key.
    pub async fn submit_sad(
        &self,
        request_id: &str,
        sad: &[u8],
        format: SadFormat,
    ) -> Result<(), Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/authorisations{}/sad", segment(request_id)),
            Some(&sad_body(sad, format)?),
        )
        .await
    }

    /// Sign: the outputs of an authorised request, in document order.
    pub async fn sign(&self, request_id: &str) -> Result<Vec<Vec<u8>>, Error> {
        let signed: Signatures = self
            .call(
                Method::POST,
                "/api/v1/sign",
                Some(&json!({"request_id": request_id})),
            )
            .await?;
        Ok(signed.signatures)
    }

    /// Sign under a seal: a batch of documents under an authorised seal request.
    pub async fn seal_sign(
        &self,
        request_id: &str,
        hash_algorithm: &str,
        format: &str,
        documents: &[Document],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let body = json!({
            "request_id": request_id,
            "hash_algorithm": hash_algorithm,
            "format": format,
            "documents": documents,
        });
        let signed: Signatures = self
            .call(Method::POST, "/api/v1/seal/sign", Some(&body))
            .await?;
        Ok(signed.signatures)
    }

    /// Renew a seal while its SAD is unexpired: a new request to authorise.
    pub async fn renew_seal(&self, request_id: &str) -> Result<Authorised, Error> {
        self.call(
            Method::POST,
            &format!("/api/v1/authorisations{}/renew", segment(request_id)),
            None,
        )
        .await
    }

    // --- SCAL1 evidence ---

    /// Generate OTP for a request: the code goes to the user by `channel`.
    pub async fn generate_otp(
        &self,
        user_id: &str,
        request_id: &str,
        channel: Channel,
    ) -> Result<CodeSent, Error> {
        self.call(
            Method::POST,
            "/api/v1/otp",
            Some(
                &json!({"user_id": user_id, "request_id": request_id, "channel": channel.as_str()}),
            ),
        )
        .await
    }

    /// Verify OTP: the code the user gives.
    pub async fn verify_otp(
        &self,
        user_id: &str,
        request_id: &str,
        otp: &str,
    ) -> Result<(), Error> {
        self.call(
            Method::POST,
            "/api/v1/otp/verify",
            Some(&json!({"user_id": user_id, "request_id": request_id, "otp": otp})),
        )
        .await
    }

    /// Verify PIN (SCAL1 `pin`).
    pub async fn verify_pin(
        &self,
        user_id: &str,
        request_id: &str,
        pin: &str,
    ) -> Result<(), Error> {
        self.call(
            Method::POST,
            "/api/v1/pin/verify",
            Some(&json!({"user_id": user_id, "request_id": request_id, "pin": pin})),
        )
        .await
    }

    /// Get SAM Profile: the profile's settings (docs/profiles.md, as JSON).
    pub async fn sam_profile(&self, profile_id: u32) -> Result<serde_json::Value, Error> {
        self.call(Method::GET, &format!("/api/v1/profiles/{profile_id}"), None)
            .await
    }
}
