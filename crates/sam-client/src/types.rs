//! The JSON documents of the native API, as docs/api.md gives them: what a call sends and
//! what it answers (answers serialise back to the same JSON, for tools that print them). Binary values are standard base64 on the wire and bytes here. Answers
//! accept fields this version does not know (a newer server may add some); requests carry
//! exactly the documented fields.

use serde::{Deserialize, Serialize};

/// Standard base64 with padding, as every binary value of the API.
pub(crate) mod base64_bytes {
    use base64ct::{Base64, Encoding};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Base64::encode_string(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        Base64::decode_vec(&text).map_err(|_| serde::de::Error::custom("not standard base64"))
    }

    /// A list of base64 values.
    pub(crate) mod list {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(list.iter().map(|b| Base64::encode_string(b)))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<Vec<u8>>, D::Error> {
            Vec::<String>::deserialize(d)?
                .iter()
                .map(|t| {
                    Base64::decode_vec(t)
                        .map_err(|_| serde::de::Error::custom("not standard base64"))
                })
                .collect()
        }
    }
}

/// One page of a list and the cursor of the next (docs/api.md "Paging").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The entries of this page.
    pub items: Vec<T>,
    /// Pass this as `after` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// A user (Register, Get, Update User).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub user_id: String,
    /// The e-mail address, if set.
    pub email: Option<String>,
    /// The mobile number, if set.
    pub mobile: Option<String>,
    /// Whether the user has a password (PIN).
    pub has_password: bool,
    /// Whether failed authentications locked the user.
    pub locked: bool,
    /// When the user was registered (RFC 3339).
    pub created_at: String,
}

/// A user's access token for the CSC API (docs/csc.md). `Debug` shows neither token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The bearer token for the user's calls to `/csc/v1` and `/csc/v2`.
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: i64,
    /// With "remember me": exchanged at `auth/login` for a new access token.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl core::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AccessToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Register User.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NewUser {
    /// The user's id (1–64 of `A-Z a-z 0-9 . _ @ -`).
    pub user_id: String,
    /// The e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The mobile number (E.164).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// The password (PIN), for SCAL1 and Authenticate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A signing key of a user (Key Generation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The key's id.
    pub key_id: String,
    /// Its user.
    pub user_id: String,
    /// The profile it was made under.
    pub profile_id: i64,
    /// What it is (e.g. `ECDSA P-256`).
    pub spec: String,
    /// Its public key, DER `SubjectPublicKeyInfo`.
    #[serde(with = "base64_bytes")]
    pub public_key: Vec<u8>,
    /// Whether it came from a pre-generated pool.
    #[serde(default)]
    pub from_pool: bool,
}

/// A key's certificate and chain (Import, Get Certificate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The key.
    pub key_id: String,
    /// The certificate, DER.
    #[serde(with = "base64_bytes")]
    pub certificate: Vec<u8>,
    /// The chain, DER certificates in order.
    #[serde(with = "base64_bytes::list")]
    pub chain: Vec<Vec<u8>>,
}

/// A user's registered authorisation device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The device's id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// Its JOSE algorithm (`ES256`, `PS256`, `ML-DSA-65`, …).
    pub algorithm: String,
    /// Whether it claims biometric user verification.
    pub biometric: bool,
    /// Whether it claims its key is in a secure element.
    pub secure_element: bool,
    /// When it was registered (RFC 3339).
    pub created_at: String,
}

/// Register Device: the device's public key and its proof of possession (docs/device.md).
#[derive(Clone, Debug, Serialize)]
pub struct NewDevice {
    /// The device's id.
    pub device_id: String,
    /// The profile whose device rules apply (the client's default if none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<u32>,
    /// The public key, DER `SubjectPublicKeyInfo`.
    #[serde(with = "base64_bytes")]
    pub public_key: Vec<u8>,
    /// Its JOSE algorithm.
    pub algorithm: String,
    /// Biometric user verification.
    pub biometric: bool,
    /// A secure element.
    pub secure_element: bool,
    /// The signature of `sam_sad::registration_message` by the device key.
    #[serde(with = "base64_bytes")]
    pub proof: Vec<u8>,
}

/// One document of an authorisation: its label (shown to the user) and its digest, or its
/// data for a profile that hashes at signing time.
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    /// What the user sees.
    pub label: String,
    /// The digest under the request's hash algorithm.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_base64"
    )]
    pub digest: Option<Vec<u8>>,
    /// The document itself (at most 16 MiB).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_base64"
    )]
    pub data: Option<Vec<u8>>,
}

impl Document {
    /// A document given by its digest.
    pub fn digest(label: impl Into<String>, digest: impl Into<Vec<u8>>) -> Self {
        Self {
            label: label.into(),
            digest: Some(digest.into()),
            data: None,
        }
    }

    /// A document given whole (the profile hashes it).
    pub fn data(label: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            label: label.into(),
            digest: None,
            data: Some(data.into()),
        }
    }
}

fn optional_base64<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => base64_bytes::serialize(b, s),
        None => s.serialize_none(),
    }
}

/// Authorise: what the user is asked to approve.
#[derive(Clone, Debug, Serialize)]
pub struct Authorisation {
    /// The user.
    pub user_id: String,
    /// The key that will sign.
    pub key_id: String,
    /// The documents' hash algorithm (`sha-256`, `sha-384`, `sha-512`, `sha3-256`, …).
    pub hash_algorithm: String,
    /// The output: `raw`, `cms`, `cades-b-b`, `cades-b-t`.
    pub format: String,
    /// The documents.
    pub documents: Vec<Document>,
    /// For a seal: how many signatures the authorisation allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<u32>,
}

/// A pending authorisation (Authorise, Get CSR, Renew a seal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorised {
    /// The request's id.
    pub request_id: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The DER `sam-sad` authorisation request a SAD answers (docs/sad.md).
    #[serde(with = "base64_bytes")]
    pub message: Vec<u8>,
}

/// Status: where a request is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStatus {
    /// The request's id.
    pub request_id: String,
    /// `pending`, `authorised`, `signing`, `used`, `declined`, `expired`.
    pub status: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// SADs spent for it without a signature being made.
    pub unsigned_spends: i64,
}

/// A device session challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    /// Its id.
    pub(crate) challenge_id: String,
    /// The challenge, base64url, signed as it is (docs/device.md).
    pub(crate) challenge: String,
    /// When it expires.
    pub(crate) expires_at: String,
}

/// A request waiting for a device's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request's id.
    pub request_id: String,
    /// The DER `sam-sad` authorisation request the SAD answers.
    #[serde(with = "base64_bytes")]
    pub message: Vec<u8>,
    /// What the user is shown: each document's label, digest and DTBS/R (hex).
    pub documents: serde_json::Value,
}

/// A page of a device's pending requests, with what its SADs must say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPage {
    /// The audience every SAD names.
    pub instance_id: String,
    /// The server's SAD format: every SAD the device sends is in it.
    pub sad_format: sam_sad::SadFormat,
    /// The requests, oldest first.
    pub requests: Page<PendingRequest>,
}

/// A registered client (admin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The client's id.
    pub client_id: String,
    /// *Allow this client to access the SAM Service*.
    pub sam_access: bool,
    /// *Selected SAM Profiles*.
    pub selected_profiles: Vec<u32>,
    /// *Default SAM Profile*.
    pub default_profile: Option<u32>,
    /// Where plan alerts go.
    pub email: Option<String>,
    /// Where plan alerts go.
    pub mobile: Option<String>,
    /// The subject of its authorisation certificate, if one is set.
    pub authorisation_certificate: Option<String>,
    /// Whether a secret is set.
    pub has_secret: bool,
    /// SHA-256 fingerprints (hex) of the TLS client certificates bound to it.
    pub tls_certificates: Vec<String>,
    /// Whether a TLS client certificate must come with HTTP Basic.
    pub basic_with_tls: bool,
    /// When it was registered.
    pub created_at: String,
}

/// An OAuth 2.0 client of a sam client (admin; docs/csc.md "OAuth2").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// Its `client_id` at the authorisation server.
    pub oauth_client_id: String,
    /// The sam client it acts for.
    pub client_id: String,
    /// The name the user's pages show.
    pub name: String,
    /// Its redirect URIs (compared exactly).
    pub redirect_uris: Vec<String>,
    /// Whether it authenticates with a secret.
    pub confidential: bool,
    /// The secret of a confidential client: in the answer of its registration only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Register or Edit Client (admin).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientSettings {
    /// The client's id.
    pub client_id: String,
    /// SAM access (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sam_access: Option<bool>,
    /// The profiles it may use (default: every profile that exists now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_profiles: Option<Vec<u32>>,
    /// The profile a request without one uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<u32>,
    /// Alert e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Alert mobile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// The DER certificate of the client's authorisation key (the key its SCAL1 SADs are
    /// signed with).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_base64"
    )]
    pub authorisation_certificate: Option<Vec<u8>>,
    /// DER TLS client certificates that identify it.
    #[serde(skip_serializing_if = "Vec::is_empty", with = "base64_bytes::list")]
    pub tls_certificates: Vec<Vec<u8>>,
    /// Require HTTP Basic as well as the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_with_tls: Option<bool>,
}
