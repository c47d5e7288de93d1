//! The module's [`KeySigner`]: a key in `samd`, signing through `sam-client`'s remote signer
//! (docs/remote-token.md) on the module's own runtime, and samd's answers as PKCS#11 return
//! values.
//!
//! | samd or the connection | `CKR_*` |
//! | --- | --- |
//! | the user declined (device, or no PIN) | `CKR_FUNCTION_REJECTED` |
//! | a wrong PIN (`authentication_failed`) | `CKR_PIN_INCORRECT` |
//! | the user is locked out (`user_locked`) | `CKR_PIN_LOCKED` |
//! | the wait for the approval ended, the request expired, the wait was cancelled | `CKR_DEVICE_ERROR` |
//! | samd unreachable, TLS, an unexpected answer, samd's own trouble (`internal_error`, `busy`, `store_unavailable`, `key_unusable`, …) | `CKR_DEVICE_ERROR` |
//! | the client refused (`client_authentication_failed`, `client_access_denied`, a plan limit or its end) | `CKR_FUNCTION_REJECTED` |
//! | anything else samd refuses | `CKR_FUNCTION_FAILED` |
//!
//! The reason is kept in the [`Refusal`] for the operator's log.

use std::sync::Arc;

use sam_algorithms::Digest;
use std::time::Duration;

use sam_client::remote::{Approval, ClientAuthorisation, RemoteSigner, SoleControl};
use sam_client::{Error, ErrorCode, SamClient};
use zeroize::Zeroizing;

use crate::Refusal;
use crate::ck;
use crate::config::TokenConfig;
use crate::mechanism::KeyProfile;
use crate::objects::{KeyDescription, key_objects};
use crate::session::{KeySigner, Token, TokenKey};

/// A key in samd as the module signs with it.
pub struct RemoteKey {
    signer: RemoteSigner,
    runtime: Arc<tokio::runtime::Runtime>,
    authorisation: Option<Arc<ClientAuthorisation>>,
}

impl RemoteKey {
    /// `signer` run on `runtime`; `authorisation` signs SCAL1 SADs (none: SCAL2 only).
    pub fn new(
        signer: RemoteSigner,
        runtime: Arc<tokio::runtime::Runtime>,
        authorisation: Option<Arc<ClientAuthorisation>>,
    ) -> Self {
        Self {
            signer,
            runtime,
            authorisation,
        }
    }
}

impl KeySigner for RemoteKey {
    fn sign(&self, digest: &Digest, pin: Option<&str>) -> Result<Vec<u8>, Refusal> {
        // A SCAL2 key is approved on the device whatever the token's login was.
        let pin = pin.filter(|_| self.signer.scal() == SoleControl::Scal1);
        let signer = match (pin, &self.authorisation) {
            (None, _) => self.signer.clone(),
            (Some(pin), Some(authorisation)) => {
                let pin = Zeroizing::new(pin.to_owned());
                self.signer.clone().with_approval(Approval::Pin {
                    pin: Arc::new(move |_| Some(Zeroizing::new(pin.as_str().to_owned()))),
                    authorisation: authorisation.clone(),
                })
            }
            (Some(_), None) => {
                return Err(Refusal::new(
                    ck::CKR_GENERAL_ERROR,
                    "a SCAL1 key needs the client's authorisation key in the module's \
                     configuration",
                ));
            }
        };
        self.runtime
            .block_on(signer.sign_digest(digest))
            .map_err(|e| refusal(&e))
    }
}

/// The token of `config`'s user: each of their keys (or the ones `config` names) that has
/// a PKCS#11 mechanism, with its objects, signing through `client` on `runtime`; waits for
/// each approval `every` … `within`. A SCAL1 key makes the token log in with the PIN.
pub fn load_token(
    client: &SamClient,
    config: &TokenConfig,
    runtime: &Arc<tokio::runtime::Runtime>,
    authorisation: Option<Arc<ClientAuthorisation>>,
    (every, within): (Duration, Duration),
) -> Result<Token, Refusal> {
    let user = config.user.as_str();
    let mut keys_found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = runtime
            .block_on(client.user_profile(user, None, after.as_deref(), 1000))
            .map_err(|e| refusal(&e))?;
        keys_found.extend(page.keys);
        match page.keys_next {
            Some(next) if Some(&next) != after.as_ref() => after = Some(next),
            _ => break,
        }
        if keys_found.len() > crate::session::MAX_KEYS {
            return Err(Refusal::new(
                ck::CKR_GENERAL_ERROR,
                format!("user {user} has more keys than a token holds"),
            ));
        }
    }
    if let Some(missing) = config
        .keys
        .iter()
        .find(|k| !keys_found.iter().any(|found| &found.key_id == *k))
    {
        return Err(Refusal::new(
            ck::CKR_GENERAL_ERROR,
            format!("user {user} has no key {missing} (the module's configuration names it)"),
        ));
    }
    let mut keys = Vec::new();
    let mut pin_login = false;
    for key in keys_found
        .into_iter()
        .filter(|k| config.keys.is_empty() || config.keys.contains(&k.key_id))
    {
        let key_id = key.key_id.clone();
        let key_id = key_id.as_str();
        let signer = runtime
            .block_on(RemoteSigner::for_key(client.clone(), user, key))
            .map_err(|e| refusal(&e))?
            .with_wait(every, within);
        let profile = KeyProfile {
            spec: signer.key_spec(),
            hash: signer.hash_algorithm(),
            padding: signer.padding(),
        };
        if profile.mechanisms().is_empty() {
            continue; // ML-DSA: no PKCS#11 v2.40 mechanism signs it.
        }
        let objects = key_objects(&KeyDescription {
            key_id,
            label: key_id,
            profile,
            public_key: &signer.key().public_key,
            certificate: signer.certificate().map(|c| c.certificate.as_slice()),
        })
        .map_err(|reason| Refusal::new(ck::CKR_GENERAL_ERROR, reason))?;
        pin_login |= signer.scal() == SoleControl::Scal1;
        keys.push(TokenKey {
            profile,
            objects,
            signer: Arc::new(RemoteKey::new(
                signer,
                runtime.clone(),
                authorisation.clone(),
            )),
        });
    }
    Ok(Token {
        label: config.label().to_owned(),
        pin_login,
        keys,
    })
}

/// The module as `config` describes it: a runtime of its own (one worker thread), the
/// client, and each configured user's token loaded from samd.
pub fn open(
    config: &crate::config::Config,
) -> Result<(Arc<tokio::runtime::Runtime>, crate::session::Module), Refusal> {
    let setup = |reason: String| Refusal::new(ck::CKR_GENERAL_ERROR, reason);
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|e| setup(format!("{what} {}: {e}", path.display())))
    };
    let ca = read(&config.ca, "ca")?;
    let endpoint = match (&config.client.certificate, &config.client.key) {
        (Some(certificate), Some(key)) => sam_client::Endpoint::with_client_certificate(
            &config.server,
            &ca,
            &read(certificate, "[client] certificate")?,
            &read(key, "[client] key")?,
        ),
        _ => sam_client::Endpoint::new(&config.server, &ca),
    }
    .map_err(|e| setup(e.to_string()))?;
    let auth = match &config.client.id {
        Some(id) => sam_client::ClientAuth::Basic {
            client_id: id.clone(),
            secret: std::env::var(&config.client.secret_env)
                .map_err(|_| {
                    setup(format!(
                        "[client] id = {id:?}: its secret is read from the environment \
                         variable {}, which is not set",
                        config.client.secret_env
                    ))
                })?
                .into(),
        },
        None => sam_client::ClientAuth::Certificate,
    };
    let client = SamClient::new(sam_client::Connection::new(endpoint), auth);
    let authorisation = match (&config.authorisation, &config.client.id) {
        (Some(settings), Some(client_id)) => {
            Some(Arc::new(client_authorisation(settings, client_id)?))
        }
        _ => None,
    };
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sam-pkcs11")
            .enable_all()
            .build()
            .map_err(|e| setup(format!("the module's runtime: {e}")))?,
    );
    let wait = (
        Duration::from_millis(config.approval.every_ms),
        Duration::from_secs(config.approval.within_s),
    );
    let tokens = config
        .tokens
        .iter()
        .map(|token| load_token(&client, token, &runtime, authorisation.clone(), wait))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((runtime, crate::session::Module::new(tokens)?))
}

/// The client's authorisation key from `[authorisation]`: the certificate's public key
/// names the key's type, the PKCS#8 key signs.
fn client_authorisation(
    settings: &crate::config::AuthorisationConfig,
    client_id: &str,
) -> Result<ClientAuthorisation, Refusal> {
    use der::{DecodePem, Encode};
    let setup =
        |reason: String| Refusal::new(ck::CKR_GENERAL_ERROR, format!("[authorisation] {reason}"));
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| setup(format!("{}: {e}", path.display())))
    };
    let certificate = x509_cert::Certificate::from_pem(read(&settings.certificate)?)
        .map_err(|e| setup(format!("certificate: {e}")))?;
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| setup(format!("certificate: {e}")))?;
    let spec = sam_keys::public_key_spec(&spki).map_err(|e| setup(format!("certificate: {e}")))?;
    let pem = read(&settings.key)?;
    let (label, der) = der::pem::decode_vec(&pem).map_err(|e| setup(format!("key: {e}")))?;
    if label != "PRIVATE KEY" {
        return Err(setup(format!(
            "key: a PKCS#8 \"PRIVATE KEY\", not {label:?}"
        )));
    }
    let key =
        sam_keys::SigningKey::from_pkcs8_der(spec, &der).map_err(|e| setup(format!("key: {e}")))?;
    let hash = settings
        .sad_hash
        .parse()
        .map_err(|_| setup("sad_hash: not a hash algorithm".into()))?;
    Ok(ClientAuthorisation::new(
        client_id,
        settings.instance_id.clone(),
        sam_sad::SadSigner::new(key, hash, sam_algorithms::RsaPadding::Pkcs1v15),
    ))
}

/// samd's answer, or the connection's failure, as a PKCS#11 return value with its reason.
pub fn refusal(error: &Error) -> Refusal {
    let rv = match error {
        Error::Declined(_) => ck::CKR_FUNCTION_REJECTED,
        Error::TimedOut(_)
        | Error::Cancelled
        | Error::Transport(_)
        | Error::Tls(_)
        | Error::Answer(_) => ck::CKR_DEVICE_ERROR,
        Error::Config(_) => ck::CKR_GENERAL_ERROR,
        Error::Api { code, .. } => match code {
            Some(ErrorCode::AuthenticationFailed) => ck::CKR_PIN_INCORRECT,
            Some(ErrorCode::UserLocked | ErrorCode::AuthenticationThrottled) => ck::CKR_PIN_LOCKED,
            Some(
                ErrorCode::ClientAuthenticationFailed
                | ErrorCode::ClientAccessDenied
                | ErrorCode::PlanExpired
                | ErrorCode::PlanNotStarted
                | ErrorCode::PlanLimitReached
                | ErrorCode::PlanRequestTypeLimitReached
                | ErrorCode::ProfileInactive,
            ) => ck::CKR_FUNCTION_REJECTED,
            Some(
                ErrorCode::RequestExpired
                | ErrorCode::InternalError
                | ErrorCode::Busy
                | ErrorCode::StoreUnavailable
                | ErrorCode::KeyUnusable
                | ErrorCode::RequestTimeout
                | ErrorCode::OutputFailed,
            ) => ck::CKR_DEVICE_ERROR,
            _ => ck::CKR_FUNCTION_FAILED,
        },
        _ => ck::CKR_FUNCTION_FAILED,
    };
    Refusal::new(rv, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: ErrorCode) -> Error {
        Error::Api {
            status: code.http_status(),
            code: Some(code),
            error: code.as_str().to_owned(),
            message: "samd's reason".into(),
            retry_after: None,
        }
    }

    #[test]
    fn samds_answers_map_to_the_return_values_the_module_documents() {
        for (error, rv) in [
            (
                Error::Declined("declined on the device".into()),
                ck::CKR_FUNCTION_REJECTED,
            ),
            (
                Error::TimedOut("no answer in 120 s".into()),
                ck::CKR_DEVICE_ERROR,
            ),
            (Error::Cancelled, ck::CKR_DEVICE_ERROR),
            (
                Error::Transport("connection refused".into()),
                ck::CKR_DEVICE_ERROR,
            ),
            (Error::Tls("unknown issuer".into()), ck::CKR_DEVICE_ERROR),
            (api(ErrorCode::AuthenticationFailed), ck::CKR_PIN_INCORRECT),
            (api(ErrorCode::UserLocked), ck::CKR_PIN_LOCKED),
            (
                api(ErrorCode::ClientAuthenticationFailed),
                ck::CKR_FUNCTION_REJECTED,
            ),
            (api(ErrorCode::PlanLimitReached), ck::CKR_FUNCTION_REJECTED),
            (api(ErrorCode::RequestExpired), ck::CKR_DEVICE_ERROR),
            (api(ErrorCode::Busy), ck::CKR_DEVICE_ERROR),
            (api(ErrorCode::NotFound), ck::CKR_FUNCTION_FAILED),
        ] {
            let refusal = refusal(&error);
            assert_eq!(refusal.rv, rv, "{error}");
            assert_eq!(refusal.reason, error.to_string());
        }
    }
}
