//! Seed 002's key request types: Key Generation, Key Delete, Import Certificate, Get
//! Certificate, Get Certificates; and the pool of pre-generated keys that keeps Key Generation
//! from waiting for prime generation.
//!
//! Key Generation uses the profile's key spec, crypto source and slot. It first takes a
//! pre-generated key of that spec from the store's key pool (handed out at most once, wrapped
//! at rest like any key) and generates one only when the pool is empty;
//! [`Service::refill_key_pool`] tops the pool up and is what a server runs in the background.

use crate::ErrorCode;
use der::{Decode, Encode};
use sam_algorithms::KeySpec;
use sam_profile::ProfileId;
use sam_sad::UserId;
use sam_store::{CertificateRecord, PooledKey, StoredKey};
use sam_token::{KeyId, KeyRecord};
use serde::Serialize;
use x509_cert::Certificate;

use crate::ServiceError;
use crate::service::{ClientContext, Service};
use sam_plan::RequestType;

/// The most certificates a chain may hold at Import Certificate.
pub const MAX_CHAIN: usize = 10;

/// A key as the API shows one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    /// The key's id.
    pub key_id: String,
    /// Its owner.
    pub user_id: String,
    /// The profile it was generated under.
    pub profile_id: i64,
    /// Its spec, e.g. `ECDSA P-256`.
    pub spec: String,
    /// Its public key, DER SubjectPublicKeyInfo (standard base64 in JSON, as everywhere in
    /// the API).
    #[serde(serialize_with = "base64_bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: Vec<u8>,
    /// Whether it came from the pool of pre-generated keys.
    pub from_pool: bool,
}

/// One page of Get Certificates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificatesPage {
    /// The certificates of the user's keys that have one, in key id order.
    pub certificates: Vec<CertificateView>,
    /// The key id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// A certificate as the API gives it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    /// The key.
    pub key_id: String,
    /// The DER certificate (standard base64 in JSON).
    #[serde(serialize_with = "base64_bytes")]
    pub certificate: Vec<u8>,
    /// The chain, DER certificates in order (each standard base64 in JSON).
    #[serde(serialize_with = "base64_list")]
    pub chain: Vec<Vec<u8>>,
}

/// Binary values in the API's JSON: standard base64 (docs/api.md), so a view serialised as
/// it is reads like the samd body made from it (Get User Profile serialises `KeyView`s).
fn base64_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64ct::Encoding;
    s.serialize_str(&base64ct::Base64::encode_string(bytes))
}

fn base64_list<S: serde::Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    use base64ct::Encoding;
    s.collect_seq(list.iter().map(|b| base64ct::Base64::encode_string(b)))
}

fn new_key_id() -> Result<KeyId, ServiceError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(format!("key id: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    KeyId::new(format!("k{hex}")).map_err(|e| ServiceError::internal(e.to_string()))
}

pub(crate) fn view(key: &StoredKey, from_pool: bool) -> KeyView {
    KeyView {
        key_id: key.key_id.clone(),
        user_id: key.user_id.clone(),
        profile_id: key.profile_id,
        spec: key.spec.clone(),
        public_key: key.public_key.clone(),
        from_pool,
    }
}

/// Splits the stored chain: DER certificates one after another, as Import Certificate wrote
/// them (canonical DER, so each one's re-encoding is exactly the bytes it took).
pub(crate) fn split_chain(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, ServiceError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut reader = der::SliceReader::new(bytes)
            .map_err(|e| ServiceError::internal(format!("stored chain: {e}")))?;
        let cert = <Certificate as der::Decode>::decode(&mut reader)
            .map_err(|e| ServiceError::internal(format!("stored chain: {e}")))?;
        let der = cert
            .to_der()
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        bytes = bytes
            .get(der.len()..)
            .ok_or_else(|| ServiceError::internal("stored chain: truncated"))?;
        out.push(der);
    }
    Ok(out)
}

impl Service {
    /// Key Generation for a user under a profile (`None`: the client's default profile).
    pub async fn generate_key(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        profile_id: impl Into<Option<u32>>,
    ) -> Result<KeyView, ServiceError> {
        let named: Option<u32> = profile_id.into();
        let detail = format!("user={user_id} profile={named:?}");
        self.request(ctx, RequestType::KeyGeneration, user_id, detail, async {
            UserId::new(user_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
            let profile_id = self.requested_profile(ctx, named).await?;
            ProfileId::new(profile_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
            let profile = self.client_profile(ctx, profile_id).await?;
            if self.store.user(ctx.id(), user_id).await?.is_none() {
                return Err(ServiceError::not_found("user", user_id));
            }
            let signing = &profile.settings().signing_key;
            let token_name = signing
                .crypto_profiles
                .first()
                .ok_or_else(|| ServiceError::internal("the profile names no crypto source"))?
                .as_str()
                .to_owned();
            let token = self.token(&token_name)?.clone();
            let spec = signing.key;
            // Profile validation refuses these now; a profile stored before it did is
            // refused here, before any key is made, rather than failing inside the token.
            if !token.capabilities().supports(spec) || !sam_keys::software_specs().contains(&spec) {
                return Err(ServiceError::new(
                    ErrorCode::NotSupported,
                    format!(
                        "crypto source {token_name} cannot make {spec} keys that sam can \
                             sign with; edit the profile to a key spec the source holds"
                    ),
                ));
            }
            let location = signing.location;

            // Pooled keys are generated in the default location: a profile that keeps its
            // keys in the signature slot (seed 004) never gets one.
            let pooled = if location == sam_token::KeyLocation::Default {
                self.store
                    .take_pooled_key(&token_name, &spec.to_string())
                    .await?
            } else {
                None
            };
            let (record, from_pool) = match pooled {
                Some(der) => (
                    KeyRecord::from_der(&der)
                        .map_err(|e| ServiceError::internal(format!("pooled key: {e}")))?,
                    true,
                ),
                None => {
                    let key_id = new_key_id()?;
                    let record =
                        tokio::task::spawn_blocking(move || token.generate(key_id, spec, location))
                            .await
                            .map_err(|e| {
                                ServiceError::internal(format!("key generation task: {e}"))
                            })?
                            .map_err(|e| ServiceError::internal(format!("key generation: {e}")))?;
                    (record, false)
                }
            };
            let key = StoredKey {
                key_id: record.key_id.as_str().to_owned(),
                client_id: ctx.id().to_owned(),
                user_id: user_id.to_owned(),
                profile_id: i64::from(profile_id),
                token: token_name,
                spec: spec.to_string(),
                reference: record
                    .to_der()
                    .map_err(|e| ServiceError::internal(e.to_string()))?,
                public_key: record.public_key_der.clone(),
                created_at: self.now(),
            };
            self.store.add_key(&key).await?;
            Ok(view(&key, from_pool))
        })
        .await
    }

    /// Generates keys of `spec` in `token` until the pool holds `target` of them; returns how
    /// many it made. A server runs this in the background for the specs it serves.
    pub async fn refill_key_pool(
        &self,
        token_name: &str,
        spec: KeySpec,
        target: i64,
    ) -> Result<i64, ServiceError> {
        let token = self.token(token_name)?.clone();
        let mut made = 0;
        while self
            .store
            .pooled_key_count(token_name, &spec.to_string())
            .await?
            < target
        {
            let key_id = new_key_id()?;
            let generator = token.clone();
            let record = tokio::task::spawn_blocking(move || {
                generator.generate(key_id, spec, sam_token::KeyLocation::Default)
            })
            .await
            .map_err(|e| ServiceError::internal(format!("key generation task: {e}")))?
            .map_err(|e| ServiceError::internal(format!("key generation: {e}")))?;
            self.store
                .put_pooled_key(&PooledKey {
                    entry_id: record.key_id.as_str().to_owned(),
                    token: token_name.to_owned(),
                    spec: spec.to_string(),
                    record: record
                        .to_der()
                        .map_err(|e| ServiceError::internal(e.to_string()))?,
                    created_at: self.now(),
                })
                .await?;
            made += 1;
        }
        Ok(made)
    }

    /// Key Delete: removes the key from its token and from the store.
    pub async fn delete_key(&self, ctx: &ClientContext, key_id: &str) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::KeyDelete,
            "-",
            format!("key={key_id}"),
            async {
                KeyId::new(key_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                let (record, token) = self.key_and_token(ctx, key_id).await?;
                tokio::task::spawn_blocking(move || token.delete(&record))
                    .await
                    .map_err(|e| ServiceError::internal(format!("key deletion task: {e}")))?
                    .map_err(|e| ServiceError::internal(format!("key deletion: {e}")))?;
                self.store.delete_key(ctx.id(), key_id).await?;
                Ok(())
            },
        )
        .await
    }

    /// Import Certificate: the certificate must certify the key's public key; the chain (up
    /// to [`MAX_CHAIN`] DER certificates) is kept to go into signatures.
    pub async fn import_certificate(
        &self,
        ctx: &ClientContext,
        key_id: &str,
        certificate: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<CertificateView, ServiceError> {
        self.request(
            ctx,
            RequestType::ImportCertificate,
            "-",
            format!("key={key_id}"),
            async {
                KeyId::new(key_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                if chain.len() > MAX_CHAIN {
                    return Err(ServiceError::invalid(format!(
                        "a chain has at most {MAX_CHAIN} certificates"
                    )));
                }
                let key = self
                    .store
                    .key(ctx.id(), key_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("key", key_id))?;
                let cert = Certificate::from_der(certificate)
                    .map_err(|e| ServiceError::invalid(format!("certificate: {e}")))?;
                let spki = cert
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .map_err(|e| ServiceError::invalid(format!("certificate: {e}")))?;
                if spki != key.public_key {
                    return Err(ServiceError::new(
                        ErrorCode::CertificateMismatch,
                        "the certificate does not certify this key's public key",
                    ));
                }
                let mut chain_der = Vec::new();
                for (i, c) in chain.iter().enumerate() {
                    let parsed = Certificate::from_der(c).map_err(|e| {
                        ServiceError::invalid(format!("chain certificate {i}: {e}"))
                    })?;
                    chain_der.extend(
                        parsed
                            .to_der()
                            .map_err(|e| ServiceError::invalid(e.to_string()))?,
                    );
                }
                let record = CertificateRecord {
                    key_id: key_id.to_owned(),
                    certificate: certificate.to_vec(),
                    chain: chain_der,
                    imported_at: self.now(),
                };
                if !self.store.set_certificate(ctx.id(), &record).await? {
                    return Err(ServiceError::not_found("key", key_id));
                }
                Ok(CertificateView {
                    key_id: key_id.to_owned(),
                    certificate: record.certificate,
                    chain: chain.to_vec(),
                })
            },
        )
        .await
    }

    /// Get Certificate of a key.
    pub async fn get_certificate(
        &self,
        ctx: &ClientContext,
        key_id: &str,
    ) -> Result<CertificateView, ServiceError> {
        self.request(
            ctx,
            RequestType::GetCertificate,
            "-",
            format!("key={key_id}"),
            async {
                KeyId::new(key_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                let record = self
                    .store
                    .certificate(ctx.id(), key_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("certificate of key", key_id))?;
                Ok(CertificateView {
                    key_id: record.key_id,
                    certificate: record.certificate,
                    chain: split_chain(&record.chain)?,
                })
            },
        )
        .await
    }

    /// Get Certificates of a user: a page of at most `limit` (1 to 1000), one per key that has
    /// one, in key id order after the key id `after`.
    pub async fn get_certificates(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<CertificatesPage, ServiceError> {
        self.request(
            ctx,
            RequestType::GetCertificates,
            user_id,
            format!("user={user_id}"),
            async {
                UserId::new(user_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                let limit = crate::paging::checked_limit(limit)?;
                if self.store.user(ctx.id(), user_id).await?.is_none() {
                    return Err(ServiceError::not_found("user", user_id));
                }
                let certificates = self
                    .store
                    .certificates(ctx.id(), user_id, after, limit)
                    .await?
                    .into_iter()
                    .map(|record| {
                        Ok(CertificateView {
                            chain: split_chain(&record.chain)?,
                            key_id: record.key_id,
                            certificate: record.certificate,
                        })
                    })
                    .collect::<Result<Vec<_>, ServiceError>>()?;
                let next = crate::paging::next_cursor(&certificates, limit, |c| c.key_id.clone());
                Ok(CertificatesPage { certificates, next })
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_serialise_binary_values_as_standard_base64_like_every_api_body() {
        let key = KeyView {
            key_id: "k1".into(),
            user_id: "alice".into(),
            profile_id: 1,
            spec: "ECDSA P-256".into(),
            public_key: vec![0x30, 0xfb, 0xff],
            from_pool: false,
        };
        let json = serde_json::to_value(&key).unwrap();
        assert_eq!(json["public_key"], "MPv/");
        let certificate = CertificateView {
            key_id: "k1".into(),
            certificate: vec![0x30, 0xfb, 0xff],
            chain: vec![vec![0xff], vec![0x30, 0x00]],
        };
        let json = serde_json::to_value(&certificate).unwrap();
        assert_eq!(json["certificate"], "MPv/");
        assert_eq!(json["chain"], serde_json::json!(["/w==", "MAA="]));
    }
}
