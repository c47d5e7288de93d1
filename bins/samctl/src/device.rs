//! A software authorisation device: the role of the user's phone app (PROTOCOL.md "Actors and
//! trust anchors"). Its authorisation key lives in a file (mode 600) beside what it needs to
//! reach its `sam`; it registers the key with proof of possession, opens device sessions by
//! signing challenges, shows pending requests, and answers them with a SAD or declines them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use sam_algorithms::{EcCurve, HashAlgorithm, JwsAlgorithm, KeySpec, MlDsaLevel, RsaPadding};
use sam_client::{DeviceSession, NewDevice, PendingRequest, SadFormat, SamClient, all_pages};
use sam_keys::{Input, SigningKey};
use sam_sad::{AuthorisationRequest, DeviceId, Id128, InstanceId, Issuer, SadSigner};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::out::json;
use crate::remote::Remote;
use crate::{CliError, Out, now};

/// What the device keeps in its key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceFile {
    /// The client the device is registered with.
    pub(crate) client_id: String,
    /// Its user.
    pub(crate) user_id: String,
    /// Its id.
    pub(crate) device_id: String,
    /// Its JOSE algorithm.
    pub(crate) algorithm: String,
    /// Its authorisation key, PKCS#8 DER, base64.
    pub(crate) private_key: String,
}

/// The key of a JOSE algorithm a software device can hold.
fn key_spec(algorithm: JwsAlgorithm) -> Result<KeySpec, CliError> {
    Ok(match algorithm.name() {
        "ES256" => KeySpec::Ecdsa(EcCurve::P256),
        "ES384" => KeySpec::Ecdsa(EcCurve::P384),
        "ES512" => KeySpec::Ecdsa(EcCurve::P521),
        "ML-DSA-44" => KeySpec::MlDsa(MlDsaLevel::Level2),
        "ML-DSA-65" => KeySpec::MlDsa(MlDsaLevel::Level3),
        "ML-DSA-87" => KeySpec::MlDsa(MlDsaLevel::Level5),
        other => {
            return Err(CliError::Usage(format!(
                "the software device holds ES256, ES384, ES512 or ML-DSA-44/65/87 keys, not {other}"
            )));
        }
    })
}

fn crypto(e: impl std::fmt::Display) -> CliError {
    CliError::Crypto(e.to_string())
}

/// Signs a device message: the hash under the algorithm's hash for ECDSA, the message for
/// ML-DSA.
fn sign_message(
    key: &SigningKey,
    algorithm: JwsAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CliError> {
    let input = match algorithm.signature_algorithm().hash_algorithm() {
        Some(hash) => Input::Digest(hash.digest(message)),
        None => Input::Message(message),
    };
    key.sign(RsaPadding::Pkcs1v15, &input).map_err(crypto)
}

impl DeviceFile {
    /// Reads a device file.
    pub(crate) fn load(path: &Path) -> Result<Self, CliError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| CliError::File {
            what: "device key file".into(),
            path: path.to_owned(),
            message: e.to_string(),
        })?);
        serde_json::from_str(&text).map_err(|e| CliError::File {
            what: "device key file".into(),
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn algorithm(&self) -> Result<JwsAlgorithm, CliError> {
        self.algorithm
            .parse()
            .map_err(|_| CliError::Usage(format!("unknown algorithm {}", self.algorithm)))
    }

    fn key(&self) -> Result<SigningKey, CliError> {
        let der = Zeroizing::new(
            Base64::decode_vec(&self.private_key)
                .map_err(|_| CliError::Crypto("the device key is not base64".into()))?,
        );
        SigningKey::from_pkcs8_der(key_spec(self.algorithm()?)?, &der).map_err(crypto)
    }

    /// Opens a device session: signs a fresh challenge.
    fn session(&self, remote: &Remote) -> Result<DeviceSession, CliError> {
        let key = self.key()?;
        let algorithm = self.algorithm()?;
        remote.run(DeviceSession::open(
            remote.connection(),
            &self.client_id,
            &self.device_id,
            |message| sign_message(&key, algorithm, message),
        ))
    }
}

/// Writes `bytes` to a new file with mode 600 (refusing to overwrite).
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::File {
            what: "device key file".into(),
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    file.write_all(bytes).map_err(|e| CliError::File {
        what: "device key file".into(),
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// What `samctl device enroll` registers.
pub(crate) struct Enrolment<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) user: &'a str,
    pub(crate) device: &'a str,
    pub(crate) algorithm: &'a str,
    pub(crate) profile: Option<u32>,
    pub(crate) key_file: &'a Path,
    /// What the device claims about itself (a profile may require it).
    pub(crate) claims: DeviceClaims,
}

/// A device's claims at registration (docs/api.md, Register Device).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeviceClaims {
    /// The user unlocks the key with a biometric.
    pub(crate) biometric: bool,
    /// The key is in a secure element.
    pub(crate) secure_element: bool,
}

/// `samctl device enroll`: makes the key, registers it with proof of possession, and writes
/// the key file only once the server accepted it.
pub(crate) fn enroll(
    remote: &Remote,
    client: &SamClient,
    enrolment: &Enrolment<'_>,
    out: &Out,
) -> Result<(), CliError> {
    let Enrolment {
        client_id,
        user,
        device,
        algorithm,
        profile,
        key_file,
        claims,
    } = *enrolment;
    if key_file.exists() {
        return Err(CliError::Usage(format!(
            "{} exists; choose another --key-file (a device file is never overwritten)",
            key_file.display()
        )));
    }
    let algorithm: JwsAlgorithm = algorithm
        .parse()
        .map_err(|_| CliError::Usage(format!("unknown JOSE algorithm {algorithm}")))?;
    let key = SigningKey::generate(key_spec(algorithm)?).map_err(crypto)?;
    let spki = key.public_key_der().map_err(crypto)?;
    let message = sam_sad::registration_message(client_id, user, device, &spki);
    let proof = sign_message(&key, algorithm, &message)?;
    let answer = remote.run(client.register_device(
        user,
        &NewDevice {
            device_id: device.to_owned(),
            profile_id: profile,
            public_key: spki,
            algorithm: algorithm.name().to_owned(),
            biometric: claims.biometric,
            secure_element: claims.secure_element,
            proof,
        },
    ))?;
    let file = DeviceFile {
        client_id: client_id.to_owned(),
        user_id: user.to_owned(),
        device_id: device.to_owned(),
        algorithm: algorithm.name().to_owned(),
        private_key: Base64::encode_string(&key.to_pkcs8_der().map_err(crypto)?),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&file).map_err(|e| CliError::Usage(e.to_string()))?,
    );
    write_secret(key_file, text.as_bytes())?;
    out.show(&json(&answer), || {
        format!(
            "device {device} enrolled for {user} ({}); its key is in {} (keep it private)",
            algorithm.name(),
            key_file.display()
        )
    });
    Ok(())
}

/// What a device is asked to approve: the audience and format of its SADs, and every
/// pending request (every page, docs/api.md).
struct Pending {
    instance_id: String,
    sad_format: SadFormat,
    requests: Vec<PendingRequest>,
}

impl Pending {
    /// As samctl shows it (the server's page, all pages in one).
    fn to_json(&self) -> Value {
        json!({
            "instance_id": self.instance_id,
            "sad_format": self.sad_format,
            "requests": self.requests.iter().map(json).collect::<Vec<_>>(),
            "next": null,
        })
    }
}

/// The device's pending requests, in `session`.
fn pending(remote: &Remote, session: &DeviceSession) -> Result<Pending, CliError> {
    let first = remote.run(session.pending(None, 1000))?;
    let mut requests = first.requests.items;
    if let Some(next) = first.requests.next {
        let more = remote.run(all_pages(|after| {
            let after = after.unwrap_or_else(|| next.clone());
            async move {
                session
                    .pending(Some(&after), 1000)
                    .await
                    .map(|p| p.requests)
            }
        }))?;
        requests.extend(more);
    }
    Ok(Pending {
        instance_id: first.instance_id,
        sad_format: first.sad_format,
        requests,
    })
}

/// What the user is shown of one request.
fn describe(request: &PendingRequest) -> String {
    let mut text = format!("request {}\n", request.request_id);
    if let Some(documents) = request.documents.as_array() {
        for d in documents {
            let label = d.get("label").and_then(Value::as_str).unwrap_or("?");
            match d.get("document_digest").and_then(Value::as_str) {
                Some(digest) => text.push_str(&format!("  {label}  document digest {digest}\n")),
                None => text.push_str(&format!(
                    "  {label}  to be signed {}\n",
                    d.get("dtbsr").and_then(Value::as_str).unwrap_or("?")
                )),
            }
        }
    }
    text
}

/// `samctl device session`.
pub(crate) fn open_session(remote: &Remote, key_file: &Path, out: &Out) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let session = file.session(remote)?;
    let token = session.bearer_token();
    out.show(
        &json!({"token": token, "expires_at": session.expires_at()}),
        || token.to_owned(),
    );
    Ok(())
}

/// `samctl device pending`.
pub(crate) fn list_pending(remote: &Remote, key_file: &Path, out: &Out) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let list = pending(remote, &file.session(remote)?)?;
    out.show(&list.to_json(), || {
        if list.requests.is_empty() {
            "no pending requests".to_owned()
        } else {
            list.requests
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join("")
        }
    });
    Ok(())
}

#[allow(clippy::print_stderr)]
fn confirm(prompt: &str) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "not a terminal: pass --yes to approve without asking".into(),
        ));
    }
    eprint!("{prompt} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// `samctl device approve`: answers the named request (or every pending one) with a SAD, after
/// showing what is signed.
pub(crate) fn approve(
    remote: &Remote,
    key_file: &Path,
    request: Option<&str>,
    yes: bool,
    wait: std::time::Duration,
    out: &Out,
) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let started = std::time::Instant::now();
    let session = file.session(remote)?;
    let wanted = |r: &PendingRequest| request.is_none_or(|id| r.request_id == id);
    let list = loop {
        let list = pending(remote, &session)?;
        if list.requests.iter().any(wanted) || started.elapsed() >= wait {
            break list;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let instance = InstanceId::new(&list.instance_id).map_err(crypto)?;
    let format = list.sad_format;
    let chosen: Vec<&PendingRequest> = list.requests.iter().filter(|r| wanted(r)).collect();
    if chosen.is_empty() {
        return Err(CliError::Refused(match request {
            Some(id) => format!("request {id} is not pending for this device"),
            None => "no pending requests".into(),
        }));
    }
    let key = file.key()?;
    let algorithm = file.algorithm()?;
    let signer = SadSigner::new(
        key,
        algorithm
            .signature_algorithm()
            .hash_algorithm()
            .unwrap_or(HashAlgorithm::Sha256),
        RsaPadding::Pkcs1v15,
    );
    let mut approved = Vec::new();
    for r in chosen {
        let id = r.request_id.as_str();
        out.note(&describe(r));
        if !yes && !confirm(&format!("approve request {id}?"))? {
            out.note(&format!("request {id} left pending"));
            continue;
        }
        let shown = AuthorisationRequest::from_der(&r.message).map_err(crypto)?;
        if shown.request_id.to_string() != id {
            return Err(CliError::Protocol(format!(
                "request {id} carries the message of request {}",
                shown.request_id
            )));
        }
        let now = now()?;
        let validity = (shown.expires_at.as_secs() - now.as_secs()).max(1);
        let sad = shown
            .answer(
                Id128::random().map_err(crypto)?,
                Issuer::Device(DeviceId::new(&file.device_id).map_err(crypto)?),
                instance.clone(),
                now,
                validity,
            )
            .map_err(crypto)?;
        let signed = match format {
            SadFormat::Der => signer.sign_der(&sad).map_err(crypto)?,
            SadFormat::Json => signer.sign_jws(&sad).map_err(crypto)?.into_bytes(),
        };
        remote.run(session.submit_sad(id, &signed, format))?;
        approved.push(id.to_owned());
    }
    let answer = json!({ "approved": approved });
    out.show(&answer, || {
        if approved.is_empty() {
            "nothing approved".to_owned()
        } else {
            format!("approved {}", approved.join(", "))
        }
    });
    Ok(())
}

/// `samctl device decline`.
pub(crate) fn decline(
    remote: &Remote,
    key_file: &Path,
    request: &str,
    out: &Out,
) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let session = file.session(remote)?;
    remote.run(session.decline(request))?;
    out.show(&json!({"declined": request}), || {
        format!("request {request} declined")
    });
    Ok(())
}

/// The default key file of a device.
pub(crate) fn default_key_file(device: &str) -> PathBuf {
    PathBuf::from(format!("{device}.device.json"))
}
