//! A remote signer: sam as another signing server's crypto token (seed 000, "SAM Crypto
//! Token"; CEN EN 419 241-1 section 5, the Server Signing Application that prepares the DTBS/R
//! and completes the output while the SAM and the QSCD hold the key).
//!
//! The application prepares the data to be signed itself (for CMS/CAdES with `sam-cms`:
//! [`sam_cms::prepare`](https://docs.rs/sam-cms)), and [`RemoteSigner`] turns its digest into
//! a signature value made in `samd`:
//!
//! 1. **Authorise** a `raw` signature of that one digest, for the user and key it was
//!    opened with, labelled for the user (`with_label`);
//! 2. **approval**, as the key's profile asks:
//!    - SCAL2 ([`Approval::Device`]): the user's registered device approves; the signer asks
//!      for the request's status every `every` for at most `within` ([`RemoteSigner::with_wait`])
//!      and can be cancelled ([`Cancel`]);
//!    - SCAL1 ([`Approval::Pin`]): the PIN comes from a callback, `samd` checks it (Verify
//!      PIN, with the user's lock-out), and the business application's authorisation key
//!      signs the SAD (seed 002, *Authorisation Certificate*: "when a PIN or OTP is used to
//!      authorize the request in cases involving SCAL1");
//! 3. **Sign**: the value (RSA PKCS#1 v1.5 or PSS as the profile says, ECDSA as DER
//!    `ECDSA-Sig-Value`), which the application completes.
//!
//! With the `cms` feature (on by default), [`BlockingRemoteSigner`] is a `sam_cms::Signer`,
//! the same interface as a local key, so `sam_cms::sign` builds CMS/CAdES with a key that
//! never leaves `samd`. The example `examples/cades_remote.rs` does exactly that.
//!
//! What it does not do: ML-DSA with signed attributes (CMS signs the attributes themselves,
//! FIPS 204 pure mode, and the native API's `raw` format signs a digest), refused with
//! [`Error::Config`] before anything is asked of the user.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sam_algorithms::{Digest, HashAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm, UnixTime};
use sam_sad::{
    AuthMethod, AuthorisationRequest, ClientId, Id128, InstanceId, Issuer, Sad, SadFormat,
    SadSigner, Scal,
};
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::{Authorisation, Authorised, Certificate, Document, Error, ErrorCode, Key, SamClient};

/// The level of sole control of a key's profile.
pub use sam_sad::Scal as SoleControl;

/// What the PIN callback is told: whose PIN, for which request, and what it authorises.
#[derive(Clone, Debug)]
pub struct PinPrompt<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The pending request.
    pub request_id: &'a str,
    /// What the user is asked to sign (the label given to the signer).
    pub label: &'a str,
}

/// Gives the user's PIN for a prompt, or `None` when the user cancels (the signature is then
/// [`Error::Declined`]). It is called on the signing task: a callback that waits for a person
/// should be used from [`BlockingRemoteSigner`] or a blocking thread.
pub type PinCallback = Arc<dyn Fn(&PinPrompt<'_>) -> Option<Zeroizing<String>> + Send + Sync>;

/// The business application's authorisation key (seed 002 *Authorisation Certificate*),
/// which signs SCAL1 SADs after `samd` checked the user's PIN.
pub struct ClientAuthorisation {
    /// The client id: the SAD's issuer is `client:<id>`.
    pub client_id: String,
    /// `samd`'s `instance_id` (its configuration): the SAD's audience.
    pub instance_id: String,
    /// The key, with the profile's *Hash Algorithm for SAD* (`sad_hash_algorithm`) and, for
    /// RSA, its padding.
    pub signer: SadSigner,
    /// The server's SAD format (`[sad] format`; JSON, a JWS, by default).
    pub format: SadFormat,
    /// How long a SAD it signs is valid (at most what the profile allows; 5 minutes by
    /// default in [`ClientAuthorisation::new`]).
    pub validity: Duration,
}

impl ClientAuthorisation {
    /// `client_id`'s key `signer`, for `samd` instance `instance_id`, JWS SADs valid 5 minutes.
    pub fn new(
        client_id: impl Into<String>,
        instance_id: impl Into<String>,
        signer: SadSigner,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            instance_id: instance_id.into(),
            signer,
            format: SadFormat::Json,
            validity: Duration::from_secs(300),
        }
    }
}

impl std::fmt::Debug for ClientAuthorisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuthorisation")
            .field("client_id", &self.client_id)
            .field("instance_id", &self.instance_id)
            .field("format", &self.format)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

/// How the user approves each signature.
#[derive(Clone)]
pub enum Approval {
    /// SCAL2: on the user's registered device.
    Device,
    /// SCAL1: the user's PIN from `pin`, checked by `samd`; the SAD signed by `authorisation`.
    Pin {
        /// Asks for the PIN.
        pin: PinCallback,
        /// Signs the SAD.
        authorisation: Arc<ClientAuthorisation>,
    },
}

impl std::fmt::Debug for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Device => f.write_str("Device"),
            Self::Pin { authorisation, .. } => f
                .debug_struct("Pin")
                .field("authorisation", authorisation)
                .finish_non_exhaustive(),
        }
    }
}

/// Stops a signer's wait for an approval from another thread or task: the wait ends with
/// [`Error::Cancelled`]. The request stays pending in `samd` until it expires (only the
/// user's device can decline it), and no signature is made for it.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Cancels the current and every later wait of the signer, until [`Cancel::reset`].
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Lets the signer wait again.
    pub fn reset(&self) {
        self.inner.cancelled.store(false, Ordering::SeqCst);
    }

    /// Whether [`Cancel::cancel`] was called (and not reset).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Sleeps `duration`, or less if cancelled: `Err(Cancelled)` then.
    async fn sleep(&self, duration: Duration) -> Result<(), Error> {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a cancel between the two is not missed.
        notified.as_mut().enable();
        if self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            () = notified => Err(Error::Cancelled),
        }
    }
}

/// Called with each request as soon as it is pending (to tell the user to look at their
/// phone, or to log the request id).
pub type PendingCallback = Arc<dyn Fn(&Authorised) + Send + Sync>;

/// A key of a user in `samd`, used as a signing token by an application that prepares and
/// completes its signatures itself (the module documentation says how).
#[derive(Clone)]
pub struct RemoteSigner {
    client: SamClient,
    user_id: String,
    key: Key,
    certificate: Option<Certificate>,
    spec: KeySpec,
    hash: HashAlgorithm,
    padding: RsaPadding,
    scal: Scal,
    label: String,
    approval: Approval,
    every: Duration,
    within: Duration,
    cancel: Cancel,
    on_pending: Option<PendingCallback>,
}

impl std::fmt::Debug for RemoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSigner")
            .field("user_id", &self.user_id)
            .field("key_id", &self.key.key_id)
            .field("spec", &self.spec)
            .field("hash", &self.hash)
            .field("scal", &self.scal)
            .field("approval", &self.approval)
            .finish_non_exhaustive()
    }
}

/// The signing settings of a profile as Get SAM Profile gives them (docs/profiles.md).
#[derive(serde::Deserialize)]
struct ProfileSettings {
    signing_key: SigningKeySettings,
}

#[derive(serde::Deserialize)]
struct SigningKeySettings {
    #[serde(default = "default_hash")]
    hash_algorithm: String,
    #[serde(default = "default_padding")]
    padding: String,
    #[serde(default = "default_scal")]
    scal: String,
}

fn default_hash() -> String {
    "sha256".into()
}
fn default_padding() -> String {
    "pkcs1".into()
}
fn default_scal() -> String {
    "scal2".into()
}

impl RemoteSigner {
    /// The signer of `user_id`'s key `key_id`: reads the key, its certificate (if one was
    /// imported) and its profile (hash, padding, SCAL). Under SCAL2 it approves on the device;
    /// under SCAL1 give [`Approval::Pin`] with [`RemoteSigner::with_approval`].
    pub async fn open(client: SamClient, user_id: &str, key_id: &str) -> Result<Self, Error> {
        let key = find_key(&client, user_id, key_id).await?;
        Self::for_key(client, user_id, key).await
    }

    /// [`Self::open`] for a key already read (from a page of Get User Profile): reads only
    /// its certificate and its profile.
    pub async fn for_key(client: SamClient, user_id: &str, key: Key) -> Result<Self, Error> {
        let key_id = key.key_id.clone();
        let certificate = match client.certificate(&key_id).await {
            Ok(c) => Some(c),
            Err(e) if e.code() == Some(ErrorCode::NotFound) => None,
            Err(e) => return Err(e),
        };
        let profile_id = u32::try_from(key.profile_id)
            .map_err(|_| Error::Answer(format!("profile id {} out of range", key.profile_id)))?;
        let settings: ProfileSettings =
            serde_json::from_value(client.sam_profile(profile_id).await?)
                .map_err(|e| Error::Answer(format!("profile {profile_id}: {e}")))?;
        let settings = settings.signing_key;
        let hash: HashAlgorithm = settings.hash_algorithm.parse().map_err(|_| {
            Error::Answer(format!(
                "profile {profile_id}: hash {:?}",
                settings.hash_algorithm
            ))
        })?;
        let padding = match settings.padding.as_str() {
            "pkcs1" => RsaPadding::Pkcs1v15,
            "pss" => RsaPadding::Pss,
            other => {
                return Err(Error::Answer(format!(
                    "profile {profile_id}: padding {other:?}"
                )));
            }
        };
        let scal = match settings.scal.as_str() {
            "scal1" => Scal::Scal1,
            "scal2" => Scal::Scal2,
            other => {
                return Err(Error::Answer(format!(
                    "profile {profile_id}: scal {other:?}"
                )));
            }
        };
        let spec = sam_keys::public_key_spec(&key.public_key)
            .map_err(|e| Error::Answer(format!("key {key_id}: public key: {e}")))?;
        Ok(Self {
            client,
            user_id: user_id.to_owned(),
            key,
            certificate,
            spec,
            hash,
            padding,
            scal,
            label: "signature".into(),
            approval: Approval::Device,
            every: Duration::from_secs(1),
            within: Duration::from_secs(300),
            cancel: Cancel::default(),
            on_pending: None,
        })
    }

    /// Labels the next authorisations: what the user sees on the device (one line, 1–256
    /// characters; e.g. the document's name).
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the label of the next authorisations (as [`Self::with_label`]).
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
    }

    /// How the user approves.
    #[must_use]
    pub fn with_approval(mut self, approval: Approval) -> Self {
        self.approval = approval;
        self
    }

    /// Asks for a device's answer every `every` (at least 100 ms), for at most `within`
    /// (default: every second for 5 minutes).
    #[must_use]
    pub fn with_wait(mut self, every: Duration, within: Duration) -> Self {
        self.every = every.max(Duration::from_millis(100));
        self.within = within;
        self
    }

    /// Calls `callback` with each request once it is pending.
    #[must_use]
    pub fn on_pending(mut self, callback: impl Fn(&Authorised) + Send + Sync + 'static) -> Self {
        self.on_pending = Some(Arc::new(callback));
        self
    }

    /// The handle that cancels this signer's waits.
    pub fn canceller(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The key as Key Generation gave it (id, spec, public key, profile).
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The key's certificate and chain, if one was imported.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// The key's algorithm and size (from its public key).
    pub fn key_spec(&self) -> KeySpec {
        self.spec
    }

    /// The profile's hash: every digest given to [`Self::sign_digest`] is under it.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// The profile's level of sole control.
    pub fn scal(&self) -> Scal {
        self.scal
    }

    /// For RSA keys, the profile's padding.
    pub fn padding(&self) -> RsaPadding {
        self.padding
    }

    /// The user whose key it is.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The signature algorithm of the values it returns: the key with the profile's hash
    /// and padding (what a CMS `SignerInfo` names).
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::for_key(self.spec, self.hash, self.padding)
    }

    /// The client it signs through (for the operator functions: Key Generation, Import
    /// Certificate, …).
    pub fn client(&self) -> &SamClient {
        &self.client
    }

    /// Signs `digest` (under [`Self::hash_algorithm`]) once the user approved it: the
    /// signature value, checked here against the key's public key before it is returned.
    pub async fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        if matches!(self.spec, KeySpec::MlDsa(_)) {
            return Err(Error::Config(
                "an ML-DSA key signs messages, not digests: the remote signer cannot sign with it"
                    .into(),
            ));
        }
        if digest.algorithm() != self.hash {
            return Err(Error::Config(format!(
                "the key's profile signs {} digests, not {}",
                self.hash,
                digest.algorithm()
            )));
        }
        let authorised = self
            .client
            .authorise(&Authorisation {
                user_id: self.user_id.clone(),
                key_id: self.key.key_id.clone(),
                hash_algorithm: self.hash.name().into(),
                format: "raw".into(),
                documents: vec![Document::digest(
                    self.label.clone(),
                    digest.as_bytes().to_vec(),
                )],
                signatures: None,
            })
            .await?;
        self.approve(&authorised).await?;
        let mut signatures = self.client.sign(&authorised.request_id).await?;
        let signature = match (signatures.pop(), signatures.is_empty()) {
            (Some(s), true) => s,
            _ => return Err(Error::Answer("Sign gave other than one signature".into())),
        };
        sam_keys::verify(
            &self.key.public_key,
            self.spec,
            self.padding,
            &sam_keys::Input::Digest(*digest),
            &signature,
        )
        .map_err(|e| Error::Answer(format!("the signature from samd does not verify: {e}")))?;
        Ok(signature)
    }

    /// Get CSR: a PKCS#10 request (DER) for `subject` (an RFC 4514 name) signed by the key,
    /// once the user approved it as a signature.
    pub async fn request_csr(&self, subject: &str) -> Result<Vec<u8>, Error> {
        let authorised = self
            .client
            .authorise_csr(&self.key.key_id, &self.user_id, subject)
            .await?;
        self.approve(&authorised).await?;
        self.client
            .get_csr(&self.key.key_id, &authorised.request_id)
            .await
    }

    /// Import Certificate: stores the key's certificate and chain (DER) in `samd` and uses
    /// them from now on.
    pub async fn import_certificate(
        &mut self,
        certificate: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<&Certificate, Error> {
        let stored = self
            .client
            .import_certificate(&self.key.key_id, certificate, chain)
            .await?;
        Ok(self.certificate.insert(stored))
    }

    /// Gets `authorised` approved as [`Self::with_approval`] says.
    async fn approve(&self, authorised: &Authorised) -> Result<(), Error> {
        if let Some(callback) = &self.on_pending {
            callback(authorised);
        }
        let request_id = authorised.request_id.as_str();
        match &self.approval {
            Approval::Device => self.wait_for_device(request_id).await,
            Approval::Pin { pin, authorisation } => {
                let prompt = PinPrompt {
                    user_id: &self.user_id,
                    request_id,
                    label: &self.label,
                };
                let Some(pin) = pin(&prompt) else {
                    return Err(Error::Declined(format!(
                        "request {request_id} was declined: the user gave no PIN"
                    )));
                };
                self.client
                    .verify_pin(&self.user_id, request_id, &pin)
                    .await?;
                let sad = client_sad(authorisation, &authorised.message)?;
                self.client
                    .submit_sad(request_id, &sad, authorisation.format)
                    .await
            }
        }
    }

    async fn wait_for_device(&self, request_id: &str) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + self.within;
        loop {
            let status = self.client.status(request_id).await?;
            match status.status.as_str() {
                "authorised" => return Ok(()),
                "pending" => {}
                "declined" => {
                    return Err(Error::Declined(format!(
                        "request {request_id} was declined on the device"
                    )));
                }
                "expired" => {
                    return Err(Error::TimedOut(format!(
                        "request {request_id} expired before the user answered"
                    )));
                }
                other => {
                    return Err(Error::Answer(format!(
                        "request {request_id} is {other}, not authorised"
                    )));
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::TimedOut(format!(
                    "request {request_id} was still pending after {} s",
                    self.within.as_secs()
                )));
            }
            self.cancel.sleep(self.every.min(deadline - now)).await?;
        }
    }
}

/// Finds `key_id` among `user_id`'s keys (Get User Profile, a page at a time).
async fn find_key(client: &SamClient, user_id: &str, key_id: &str) -> Result<Key, Error> {
    let mut after: Option<String> = None;
    loop {
        let profile = client
            .user_profile(user_id, None, after.as_deref(), 1000)
            .await?;
        if let Some(key) = profile.keys.into_iter().find(|k| k.key_id == key_id) {
            return Ok(key);
        }
        match profile.keys_next {
            Some(next) if Some(&next) != after.as_ref() => after = Some(next),
            _ => {
                return Err(Error::Config(format!("user {user_id} has no key {key_id}")));
            }
        }
    }
}

/// The SCAL1 SAD for the authorisation request `message` (DER, docs/sad.md): every document's
/// hash, method `pin`, issued now by `client:<id>` for `samd`'s instance.
fn client_sad(authorisation: &ClientAuthorisation, message: &[u8]) -> Result<Vec<u8>, Error> {
    let sad_error = |e: sam_sad::SadError| Error::Config(format!("SCAL1 SAD: {e}"));
    let request = AuthorisationRequest::from_der(message)
        .map_err(|e| Error::Answer(format!("the authorisation request: {e}")))?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| Error::Config("the clock is before 1970".into()))?
        .as_secs();
    let now = i64::try_from(now)
        .ok()
        .and_then(UnixTime::from_secs)
        .ok_or_else(|| Error::Config("the clock is out of range".into()))?;
    let validity = i64::try_from(authorisation.validity.as_secs()).unwrap_or(i64::MAX);
    let sad = Sad {
        sad_id: Id128::random().map_err(sad_error)?,
        request_id: request.request_id,
        issuer: Issuer::Client(ClientId::new(authorisation.client_id.as_str()).map_err(sad_error)?),
        subject: request.subject.clone(),
        audience: InstanceId::new(authorisation.instance_id.as_str()).map_err(sad_error)?,
        key_id: request.key_id.clone(),
        profile_id: request.profile_id,
        scal: Scal::Scal1,
        hash_algorithm: request.hash_algorithm,
        hashes: request.documents.iter().map(|d| d.hash).collect(),
        num_signatures: request.num_signatures,
        mode: request.mode,
        auth_method: AuthMethod::Pin,
        assertion: None,
        issued_at: now,
        expires_at: now
            .checked_add_secs(validity)
            .ok_or_else(|| Error::Config("SAD validity out of range".into()))?,
    };
    match authorisation.format {
        SadFormat::Json => authorisation
            .signer
            .sign_jws(&sad)
            .map(String::into_bytes)
            .map_err(sad_error),
        SadFormat::Der => authorisation.signer.sign_der(&sad).map_err(sad_error),
    }
}

/// A [`RemoteSigner`] for synchronous code, with its own single-threaded runtime: a
/// `sam_cms::Signer`, so `sam_cms::sign` and `sam_cms::sign_prepared` build CMS/CAdES with
/// the key in `samd`. Not for use inside an async runtime (its calls block the thread); use
/// [`RemoteSigner`] there.
#[cfg(feature = "cms")]
pub struct BlockingRemoteSigner {
    signer: RemoteSigner,
    runtime: tokio::runtime::Runtime,
}

#[cfg(feature = "cms")]
impl BlockingRemoteSigner {
    /// As [`RemoteSigner::open`], blocking.
    pub fn open(client: SamClient, user_id: &str, key_id: &str) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("a runtime for the remote signer: {e}")))?;
        let signer = runtime.block_on(RemoteSigner::open(client, user_id, key_id))?;
        Ok(Self { signer, runtime })
    }

    /// Wraps `signer`.
    pub fn new(signer: RemoteSigner) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("a runtime for the remote signer: {e}")))?;
        Ok(Self { signer, runtime })
    }

    /// The signer, to read or configure.
    pub fn signer(&self) -> &RemoteSigner {
        &self.signer
    }

    /// The signer, to configure (label, approval, wait).
    pub fn signer_mut(&mut self) -> &mut RemoteSigner {
        &mut self.signer
    }

    /// Runs `future` (e.g. a call of [`RemoteSigner::client`]) to its end.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// As [`RemoteSigner::sign_digest`], blocking.
    pub fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        self.runtime.block_on(self.signer.sign_digest(digest))
    }

    /// The key's certificate and the rest of its chain, parsed for `sam_cms`
    /// (`SignatureRequest::certificates`): signer first.
    pub fn certificates(&self) -> Result<Vec<sam_cms::Certificate>, Error> {
        use der::Decode;
        let stored = self.signer.certificate().ok_or_else(|| {
            Error::Config(format!("key {} has no certificate", self.signer.key.key_id))
        })?;
        std::iter::once(&stored.certificate)
            .chain(&stored.chain)
            .map(|der| {
                sam_cms::Certificate::from_der(der)
                    .map_err(|e| Error::Answer(format!("the key's certificate: {e}")))
            })
            .collect()
    }
}

#[cfg(feature = "cms")]
impl std::fmt::Debug for BlockingRemoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BlockingRemoteSigner")
            .field(&self.signer)
            .finish()
    }
}

#[cfg(feature = "cms")]
impl sam_cms::Signer for BlockingRemoteSigner {
    fn sign(&self, input: &sam_cms::ToBeSigned<'_>) -> Result<Vec<u8>, sam_cms::CmsError> {
        match input {
            sam_cms::ToBeSigned::Digest(digest) => self
                .sign_digest(digest)
                .map_err(|e| sam_cms::CmsError::Signer(e.to_string())),
            sam_cms::ToBeSigned::Message { .. } => Err(sam_cms::CmsError::Unsupported(
                "the remote signer signs digests; ML-DSA signs the signed attributes themselves"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_ends_a_sleep_at_once_and_holds_until_reset() {
        let cancel = Cancel::default();
        let waiting = {
            let cancel = cancel.clone();
            tokio::spawn(async move { cancel.sleep(Duration::from_secs(3600)).await })
        };
        tokio::task::yield_now().await;
        cancel.cancel();
        assert!(matches!(waiting.await.unwrap(), Err(Error::Cancelled)));
        // Cancelled before the wait began: it does not start.
        assert!(matches!(
            cancel.sleep(Duration::from_secs(3600)).await,
            Err(Error::Cancelled)
        ));
        cancel.reset();
        assert!(cancel.sleep(Duration::from_millis(1)).await.is_ok());
    }

    #[test]
    fn a_scal1_sad_answers_its_request_and_names_the_client() {
        use sam_algorithms::EcCurve;
        use sam_sad::{DocumentToSign, KeyRef, SadMode, UserId};
        let key = sam_keys::SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        let public_key = key.public_key_der().unwrap();
        let digest = HashAlgorithm::Sha256.digest(b"contract");
        let request = AuthorisationRequest {
            request_id: Id128::random().unwrap(),
            client: ClientId::new("shop").unwrap(),
            subject: UserId::new("alice").unwrap(),
            key_id: KeyRef::new("k1").unwrap(),
            profile_id: 7,
            hash_algorithm: HashAlgorithm::Sha256,
            documents: vec![DocumentToSign {
                label: "contract.pdf".into(),
                hash: digest,
            }],
            num_signatures: 1,
            mode: SadMode::Transaction,
            description: None,
            created_at: UnixTime::from_secs(1_700_000_000).unwrap(),
            expires_at: UnixTime::from_secs(4_000_000_000).unwrap(),
        };
        let authorisation = ClientAuthorisation::new(
            "shop",
            "sam-dev",
            SadSigner::new(key, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15),
        );
        let jws = client_sad(&authorisation, &request.to_der().unwrap()).unwrap();
        let issuer = sam_sad::peek_issuer(&jws, SadFormat::Json).unwrap();
        assert_eq!(issuer.to_string(), "client:shop");
        let issuer_key = sam_sad::IssuerKey {
            issuer,
            spki_der: public_key,
            spec: KeySpec::Ecdsa(EcCurve::P256),
            padding: RsaPadding::Pkcs1v15,
        };
        let now = UnixTime::from_secs(
            i64::try_from(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            )
            .unwrap(),
        )
        .unwrap();
        let verified = sam_sad::verify_sad(
            &jws,
            SadFormat::Json,
            &issuer_key,
            &sam_sad::Expectations {
                audience: &InstanceId::new("sam-dev").unwrap(),
                request_id: request.request_id,
                subject: &request.subject,
                key_id: &request.key_id,
                profile_id: 7,
                scal: Scal::Scal1,
                signature_hash: HashAlgorithm::Sha256,
                hashes_to_sign: &[digest],
                clock_tolerance_secs: 5,
                now,
            },
        )
        .unwrap();
        assert_eq!(verified.sad().auth_method, AuthMethod::Pin);
        assert_eq!(verified.sad().hashes, vec![digest]);
        // The message must be the canonical DER a device gets; anything else is refused.
        assert!(matches!(
            client_sad(&authorisation, b"\x30\x00"),
            Err(Error::Answer(_))
        ));
    }
}
