//! A software authorisation device: the role of the user's phone app (PROTOCOL.md "Actors and
//! trust anchors"). Its authorisation key lives in a file (mode 600) beside what it needs to
//! reach its `sam`; it registers the key with proof of possession, opens device sessions by
//! signing challenges, shows pending requests, and answers them with a SAD or declines them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use sam_algorithms::{EcCurve, HashAlgorithm, JwsAlgorithm, KeySpec, MlDsaLevel, RsaPadding};
use sam_keys::{Input, SigningKey};
use sam_sad::{AuthorisationRequest, DeviceId, Id128, InstanceId, Issuer, SadSigner};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::http::{Api, Auth, field_str};
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
    fn session(&self, api: &Api) -> Result<Auth, CliError> {
        let challenge = api.call(
            &Auth::None,
            "POST",
            "/api/v1/device-sessions/challenge",
            Some(&json!({"client_id": self.client_id, "device_id": self.device_id})),
        )?;
        let id = field_str(&challenge, "challenge_id")?;
        let bytes = field_str(&challenge, "challenge")?;
        let message = sam_sad::session_message(&self.client_id, &self.device_id, id, bytes);
        let signature = sign_message(&self.key()?, self.algorithm()?, &message)?;
        let session = api.call(
            &Auth::None,
            "POST",
            "/api/v1/device-sessions",
            Some(&json!({
                "client_id": self.client_id,
                "device_id": self.device_id,
                "challenge_id": id,
                "challenge": bytes,
                "signature": Base64::encode_string(&signature),
            })),
        )?;
        Ok(Auth::Device(Zeroizing::new(
            field_str(&session, "token")?.to_owned(),
        )))
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
    api: &Api,
    client: &Auth,
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
    let mut body = json!({
        "device_id": device,
        "public_key": Base64::encode_string(&spki),
        "algorithm": algorithm.name(),
        "proof": Base64::encode_string(&proof),
        "biometric": claims.biometric,
        "secure_element": claims.secure_element,
    });
    if let Some(p) = profile {
        body["profile_id"] = json!(p);
    }
    let answer = api.call(
        client,
        "POST",
        &format!("/api/v1/users/{user}/devices"),
        Some(&body),
    )?;
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
    out.show(&answer, || {
        format!(
            "device {device} enrolled for {user} ({}); its key is in {} (keep it private)",
            algorithm.name(),
            key_file.display()
        )
    });
    Ok(())
}

/// The device's pending requests, in `session`: every page (docs/api.md), in one list.
fn pending(api: &Api, file: &DeviceFile, session: &Auth) -> Result<Value, CliError> {
    const PAGE: usize = 1000;
    let path = |after: Option<&str>| {
        let base = format!("/api/v1/devices/{}/pending?limit={PAGE}", file.device_id);
        match after {
            Some(id) => format!("{base}&after={id}"),
            None => base,
        }
    };
    let mut list = api.call(session, "GET", &path(None), None)?;
    let mut next = list.get("next").and_then(Value::as_str).map(str::to_owned);
    while let Some(after) = next {
        let page = api.call(session, "GET", &path(Some(&after)), None)?;
        next = page.get("next").and_then(Value::as_str).map(str::to_owned);
        let more = page
            .get("requests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if more.is_empty() {
            break;
        }
        if let Some(all) = list.get_mut("requests").and_then(Value::as_array_mut) {
            all.extend(more);
        }
    }
    Ok(list)
}

fn requests(list: &Value) -> &[Value] {
    list.get("requests")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// What the user is shown of one request.
fn describe(request: &Value) -> String {
    let mut text = format!(
        "request {}\n",
        request
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or("?")
    );
    if let Some(documents) = request.get("documents").and_then(Value::as_array) {
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
pub(crate) fn open_session(api: &Api, key_file: &Path, out: &Out) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let Auth::Device(token) = file.session(api)? else {
        return Err(CliError::Protocol("no session token".into()));
    };
    out.show(&json!({"token": token.as_str()}), || {
        token.as_str().to_owned()
    });
    Ok(())
}

/// `samctl device pending`.
pub(crate) fn list_pending(api: &Api, key_file: &Path, out: &Out) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let list = pending(api, &file, &file.session(api)?)?;
    out.show(&list, || {
        let requests = requests(&list);
        if requests.is_empty() {
            "no pending requests".to_owned()
        } else {
            requests.iter().map(describe).collect::<Vec<_>>().join("")
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
    api: &Api,
    key_file: &Path,
    request: Option<&str>,
    yes: bool,
    wait: std::time::Duration,
    out: &Out,
) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let started = std::time::Instant::now();
    let session = file.session(api)?;
    let list = loop {
        let list = pending(api, &file, &session)?;
        let arrived = requests(&list).iter().any(|r| {
            request.is_none_or(|id| r.get("request_id").and_then(Value::as_str) == Some(id))
        });
        if arrived || started.elapsed() >= wait {
            break list;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let instance = InstanceId::new(field_str(&list, "instance_id")?).map_err(crypto)?;
    let der_format = field_str(&list, "sad_format")? == "der";
    let chosen: Vec<&Value> = requests(&list)
        .iter()
        .filter(|r| {
            request.is_none_or(|id| r.get("request_id").and_then(Value::as_str) == Some(id))
        })
        .collect();
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
        let id = field_str(r, "request_id")?;
        out.note(&describe(r));
        if !yes && !confirm(&format!("approve request {id}?"))? {
            out.note(&format!("request {id} left pending"));
            continue;
        }
        let message = crate::http::field_b64(r, "message")?;
        let shown = AuthorisationRequest::from_der(&message).map_err(crypto)?;
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
        let body = if der_format {
            json!({"sad": Base64::encode_string(&signer.sign_der(&sad).map_err(crypto)?), "encoding": "der"})
        } else {
            json!({"sad": signer.sign_jws(&sad).map_err(crypto)?})
        };
        api.call(
            &session,
            "POST",
            &format!("/api/v1/authorisations/{id}/sad"),
            Some(&body),
        )?;
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
    api: &Api,
    key_file: &Path,
    request: &str,
    out: &Out,
) -> Result<(), CliError> {
    let file = DeviceFile::load(key_file)?;
    let session = file.session(api)?;
    api.call(
        &session,
        "POST",
        &format!("/api/v1/authorisations/{request}/decline"),
        None,
    )?;
    out.show(&json!({"declined": request}), || {
        format!("request {request} declined")
    });
    Ok(())
}

/// The default key file of a device.
pub(crate) fn default_key_file(device: &str) -> PathBuf {
    PathBuf::from(format!("{device}.device.json"))
}
