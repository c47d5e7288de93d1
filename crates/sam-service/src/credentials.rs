//! Credentials: a user's keys with their certificates, described as a signature creation
//! application needs to choose one and to authorise its use — what the CSC API calls
//! `credentials/list` and `credentials/info` (docs/csc.md "Credentials"). Each key is one
//! credential; what it signs, at which SCAL and how its user authorises it follow from the
//! key's SAM profile, the user's registration and what this service is configured with.
//!
//! Listing credentials is counted and audited as Get Certificates, describing one as Get
//! Certificate: they are those request types with the facts a client needs beside the
//! certificate.

use sam_algorithms::{HashAlgorithm, KeySpec, Scal, SignatureAlgorithm};
use sam_plan::RequestType;
use sam_profile::{AuthorisationMode, ProfileStatus, SamProfile};
use sam_sad::UserId;
use sam_store::StoredKey;

use crate::ServiceError;
use crate::keys::{CertificateView, split_chain};
use crate::notify::Channel;
use crate::sap::user_id;
use crate::service::{ClientContext, Service};

/// How the user of a credential can authorise a signature with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredentialAuthorisation {
    /// On their registered device: the user has at least one. Under SCAL2 the only way.
    pub device: bool,
    /// By their PIN (their sam password), checked by sam: SCAL1, and the user has a password.
    pub pin: bool,
    /// By a one-time password sam sends by this channel: SCAL1, a notifier and a code key are
    /// configured, and the user has a mobile number (SMS) or else an e-mail address.
    pub otp: Option<Channel>,
}

/// The longest document label an authorisation of hashes takes from its request.
const MAX_LABEL_CHARS: usize = 200;

impl Credential {
    /// Whether it can make a valid signature now: enabled, with a certificate within its
    /// validity (CSC's `onlyValid`).
    pub fn usable(&self) -> bool {
        self.enabled && self.certificate_validity == Some(CertificateValidity::Valid)
    }

    /// The Authorise of signatures of given digests with this credential for `user_id`, as
    /// the CSC API asks for them (`credentials/authorize`, or an OAuth 2.0 credential scope):
    /// one digest per signature (`num_signatures` of them, within the credential's
    /// multisign), signature by signature (no eSeal), each labelled by its own label or else
    /// by `description` (trimmed, at most 200 characters, on one line; "Signature" without
    /// one), numbered when there are several. The digests are of the credential's hash.
    pub fn authorise_digests(
        &self,
        user_id: &str,
        description: Option<&str>,
        num_signatures: u32,
        digests: Vec<(Option<String>, Vec<u8>)>,
        format: sam_cms::Format,
    ) -> Result<crate::Authorise, ServiceError> {
        use crate::ErrorCode;
        if self.mode == AuthorisationMode::OnceUntilSadExpiry {
            return Err(ServiceError::new(
                ErrorCode::NotSupported,
                "this credential is an eSeal authorised once for many signatures; the CSC API \
                 authorises signatures of given hashes only (docs/csc.md)",
            ));
        }
        if digests.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::InvalidRequest,
                "sam binds every authorisation to the hashes it signs: send them, one per \
                 signature",
            ));
        }
        if num_signatures > self.max_signatures {
            return Err(ServiceError::new(
                ErrorCode::TooManyHashes,
                format!(
                    "Numbers of signatures is too high: this credential's multisign is {}",
                    self.max_signatures
                ),
            ));
        }
        if usize::try_from(num_signatures).ok() != Some(digests.len()) {
            return Err(ServiceError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "numSignatures is {num_signatures} for {} hashes: each hash is one signature",
                    digests.len()
                ),
            ));
        }
        let one_line = |text: &str| {
            text.trim()
                .chars()
                .take(MAX_LABEL_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        };
        let label = description
            .map(one_line)
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "Signature".to_owned());
        let count = digests.len();
        let documents = digests
            .into_iter()
            .enumerate()
            .map(|(i, (own, digest))| {
                let label = match own.as_deref().map(one_line).filter(|l| !l.is_empty()) {
                    Some(own) => own,
                    None if count == 1 => label.clone(),
                    None => format!("{label} ({} of {count})", i + 1),
                };
                crate::DocumentInput::digest(label, digest)
            })
            .collect();
        Ok(crate::Authorise {
            user_id: user_id.to_owned(),
            key_id: self.key_id.clone(),
            hash_algorithm: self.hash_algorithm,
            documents,
            format,
            signatures: None,
        })
    }
}

impl CredentialAuthorisation {
    /// Whether any way is open.
    pub fn any(&self) -> bool {
        self.device || self.pin || self.otp.is_some()
    }
}

/// Where now lies in a certificate's validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateValidity {
    /// Before `notBefore`.
    NotYetValid,
    /// Within it.
    Valid,
    /// After `notAfter`.
    Expired,
}

/// One of a user's keys as a signing credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The key's id: the credential's id.
    pub key_id: String,
    /// The key.
    pub spec: KeySpec,
    /// Its public key (DER SubjectPublicKeyInfo).
    pub public_key: Vec<u8>,
    /// The one signature algorithm it signs with: the key's, under its profile's hash and
    /// RSA padding.
    pub signature_algorithm: SignatureAlgorithm,
    /// The hash of the digests it signs (the profile's).
    pub hash_algorithm: HashAlgorithm,
    /// Its certificate and chain, once imported.
    pub certificate: Option<CertificateView>,
    /// Where now lies in the certificate's validity (sam holds no revocation status).
    pub certificate_validity: Option<CertificateValidity>,
    /// Whether requests may use it now: its profile is active and one of the client's.
    pub enabled: bool,
    /// Its profile's SCAL.
    pub scal: Scal,
    /// Its profile's authorisation mode (a signature per approval, or an eSeal's many).
    pub mode: AuthorisationMode,
    /// The most signatures one authorisation covers in transaction mode (the profile's bulk
    /// limit, within the deployment's).
    pub max_signatures: u32,
    /// How its user can authorise.
    pub authorisation: CredentialAuthorisation,
    /// The profile's description.
    pub description: String,
}

/// One page of a user's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialsPage {
    /// In key id order.
    pub credentials: Vec<Credential>,
    /// The key id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// What every credential of one user shares.
struct UserFacts {
    has_device: bool,
    has_password: bool,
    otp: Option<Channel>,
    selected: Option<Vec<i64>>,
}

impl Service {
    /// A page of at most `limit` (1 to 1000) of the user's credentials, in key id order after
    /// the key id `after`. Counted and audited as Get Certificates.
    pub async fn credentials(
        &self,
        ctx: &ClientContext,
        user: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<CredentialsPage, ServiceError> {
        self.request(
            ctx,
            RequestType::GetCertificates,
            user,
            format!("user={user} credentials"),
            async {
                let user = user_id(user)?;
                let limit = crate::paging::checked_limit(limit)?;
                let facts = self.user_facts(ctx, &user).await?;
                let keys = self
                    .store
                    .keys(ctx.id(), user.as_str(), after, limit)
                    .await?;
                let mut credentials = Vec::with_capacity(keys.len());
                for key in &keys {
                    credentials.push(self.credential_of(ctx, key, &facts).await?);
                }
                let next = crate::paging::next_cursor(&credentials, limit, |c| c.key_id.clone());
                Ok(CredentialsPage { credentials, next })
            },
        )
        .await
    }

    /// The user's credential `key_id`; another user's key is not found. Counted and audited
    /// as Get Certificate.
    pub async fn credential(
        &self,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
    ) -> Result<Credential, ServiceError> {
        self.request(
            ctx,
            RequestType::GetCertificate,
            user,
            format!("key={key_id} credential"),
            async {
                let user = user_id(user)?;
                let key = self.user_key(ctx, &user, key_id).await?;
                let facts = self.user_facts(ctx, &user).await?;
                self.credential_of(ctx, &key, &facts).await
            },
        )
        .await
    }

    /// [`Self::credential`] read without being counted or audited, for a request that needs
    /// the credential's facts before it is admitted as what it is (the CSC API's
    /// `credentials/authorize` and `signatures/signHash`, counted as Authorise and Sign).
    pub async fn credential_facts(
        &self,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
    ) -> Result<Credential, ServiceError> {
        let user = user_id(user)?;
        let key = self.user_key(ctx, &user, key_id).await?;
        let facts = self.user_facts(ctx, &user).await?;
        self.credential_of(ctx, &key, &facts).await
    }

    async fn user_facts(
        &self,
        ctx: &ClientContext,
        user: &UserId,
    ) -> Result<UserFacts, ServiceError> {
        let record = self
            .store
            .user(ctx.id(), user.as_str())
            .await?
            .ok_or_else(|| ServiceError::not_found("user", user.as_str()))?;
        let has_device = !self
            .store
            .devices(ctx.id(), user.as_str(), None, 1)
            .await?
            .is_empty();
        let can_send_otp = self.notifier.is_some() && self.settings.code_key.is_some();
        let otp = if !can_send_otp {
            None
        } else if !record.user.mobile.is_empty() {
            Some(Channel::Sms)
        } else if !record.user.email.is_empty() {
            Some(Channel::Email)
        } else {
            None
        };
        let selected = self
            .request_client(ctx)
            .await?
            .and_then(|c| c.selected_profiles.clone());
        Ok(UserFacts {
            has_device,
            has_password: !record.user.password_hash.is_empty(),
            otp,
            selected,
        })
    }

    fn validity_of(&self, der: &[u8]) -> Result<CertificateValidity, ServiceError> {
        let certificate = <x509_cert::Certificate as der::Decode>::from_der(der)
            .map_err(|e| ServiceError::internal(format!("stored certificate: {e}")))?;
        let validity = certificate.tbs_certificate().validity();
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let now = self.now().as_secs();
        Ok(if now < secs(validity.not_before) {
            CertificateValidity::NotYetValid
        } else if now > secs(validity.not_after) {
            CertificateValidity::Expired
        } else {
            CertificateValidity::Valid
        })
    }

    async fn credential_of(
        &self,
        ctx: &ClientContext,
        key: &StoredKey,
        facts: &UserFacts,
    ) -> Result<Credential, ServiceError> {
        let profile: SamProfile = self.profile_by_number(key.profile_id)?;
        let settings = &profile.settings().signing_key;
        let spec = sam_keys::public_key_spec(&key.public_key)
            .map_err(|e| ServiceError::internal(format!("stored public key: {e}")))?;
        let certificate = match self.store.certificate(ctx.id(), &key.key_id).await? {
            Some(record) => Some(CertificateView {
                chain: split_chain(&record.chain)?,
                key_id: record.key_id,
                certificate: record.certificate,
            }),
            None => None,
        };
        let certificate_validity = match &certificate {
            Some(view) => Some(self.validity_of(&view.certificate)?),
            None => None,
        };
        let enabled = profile.settings().status == ProfileStatus::Active
            && facts
                .selected
                .as_ref()
                .is_none_or(|ids| ids.contains(&key.profile_id));
        let scal = settings.scal;
        let deployment = u32::try_from(self.settings.max_hashes_per_request).unwrap_or(u32::MAX);
        let max_signatures = settings
            .hashes_per_request_limit()
            .map_or(deployment, |n| n.min(deployment));
        Ok(Credential {
            key_id: key.key_id.clone(),
            spec,
            public_key: key.public_key.clone(),
            signature_algorithm: SignatureAlgorithm::for_key(
                spec,
                settings.hash_algorithm,
                settings.padding,
            ),
            hash_algorithm: settings.hash_algorithm,
            certificate,
            certificate_validity,
            enabled,
            scal,
            mode: settings.authorisation_mode,
            max_signatures,
            authorisation: CredentialAuthorisation {
                device: facts.has_device,
                pin: scal == Scal::Scal1 && facts.has_password,
                otp: facts.otp.filter(|_| scal == Scal::Scal1),
            },
            description: profile.settings().description.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn credential(mode: AuthorisationMode, max_signatures: u32) -> Credential {
        Credential {
            key_id: "k1".into(),
            spec: KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
            public_key: vec![],
            signature_algorithm: SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256),
            hash_algorithm: HashAlgorithm::Sha256,
            certificate: None,
            certificate_validity: None,
            enabled: true,
            scal: Scal::Scal2,
            mode,
            max_signatures,
            authorisation: CredentialAuthorisation {
                device: true,
                pin: false,
                otp: None,
            },
            description: String::new(),
        }
    }

    fn digests(labels: &[Option<&str>]) -> Vec<(Option<String>, Vec<u8>)> {
        labels
            .iter()
            .map(|l| (l.map(str::to_owned), vec![7; 32]))
            .collect()
    }

    fn labels(authorise: &crate::Authorise) -> Vec<&str> {
        authorise
            .documents
            .iter()
            .map(|d| d.label.as_str())
            .collect()
    }

    #[test]
    fn an_authorisation_of_digests_keeps_to_the_credential_and_labels_each() {
        let c = credential(AuthorisationMode::EveryTransaction, 3);
        let raw = sam_cms::Format::Raw;
        let one = c
            .authorise_digests(
                "alice",
                Some("  Lease\r\nsigned "),
                1,
                digests(&[None]),
                raw,
            )
            .unwrap();
        assert_eq!(labels(&one), ["Lease  signed"]);
        assert_eq!((one.user_id.as_str(), one.key_id.as_str()), ("alice", "k1"));
        let three = c
            .authorise_digests("alice", None, 3, digests(&[None, Some("Annex"), None]), raw)
            .unwrap();
        assert_eq!(
            labels(&three),
            ["Signature (1 of 3)", "Annex", "Signature (3 of 3)"]
        );
        let long = "x".repeat(500);
        let capped = c
            .authorise_digests("alice", Some(&long), 1, digests(&[None]), raw)
            .unwrap();
        assert_eq!(capped.documents[0].label.chars().count(), MAX_LABEL_CHARS);

        for (credential, count, given, code) in [
            (c.clone(), 4, 4, ErrorCode::TooManyHashes),
            (c.clone(), 2, 1, ErrorCode::InvalidRequest),
            (c.clone(), 0, 0, ErrorCode::InvalidRequest),
            (
                credential(AuthorisationMode::OnceUntilSadExpiry, 3),
                1,
                1,
                ErrorCode::NotSupported,
            ),
        ] {
            let e = credential
                .authorise_digests("alice", None, count, digests(&vec![None; given]), raw)
                .unwrap_err();
            assert_eq!(e.code, code, "{count} of {given}: {e:?}");
        }
    }
}
