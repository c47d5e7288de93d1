//! A signing server that uses `samd` as its crypto token (seed 000): it builds a CAdES-B-B
//! signature of a file itself, with `sam-cms`, while the key stays in `samd` and the user
//! approves the one digest it signs — on their device (SCAL2), or with their PIN (SCAL1).
//!
//! ```text
//! SAM_SERVER=https://localhost:8443 SAM_CA=sam-data/dev-ca/ca.pem \
//! SAM_CLIENT_ID=shop SAM_CLIENT_SECRET=a-secret-of-the-shop \
//!     cargo run -p sam-client --example cades_remote -- alice "$KEY" contract.txt
//! # meanwhile, as alice's phone:
//! samctl device approve --key-file phone.device.json --yes --wait 60
//! openssl cms -verify -binary -inform DER -in contract.txt.p7s -content contract.txt \
//!     -CAfile sam-data/dev-ca/ca.pem -purpose any -out /dev/null
//! ```
//!
//! The client authenticates with its TLS certificate when `SAM_CLIENT_CERT` and
//! `SAM_CLIENT_KEY` (PEM files) are set, with HTTP Basic when `SAM_CLIENT_ID` and
//! `SAM_CLIENT_SECRET` are, or with both (a client registered with `--basic-with-tls`).
//!
//! Under a SCAL1 profile, also set `SAM_AUTHORISATION_KEY` (the client's authorisation key,
//! PKCS#8 PEM), `SAM_AUTHORISATION_CERT` (its certificate, PEM, as registered with the
//! client) and `SAM_INSTANCE_ID` (samd's `instance_id`); the example then reads the user's PIN
//! from its standard input, samd checks it, and the authorisation key signs the SAD.
//!
//! The key's certificate (Import Certificate) names the signer; the signature algorithm
//! follows from its public key and the key's profile (hash, padding). It prints `pending
//! <request id>` once the user is asked, and `signed <file>.p7s` when the signature is written.
//! It exits 1 with the reason on any refusal (declined, expired, a wrong PIN), writing nothing.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{DecodePem, Encode};
use sam_algorithms::{RsaPadding, UnixTime};
use sam_client::remote::{Approval, BlockingRemoteSigner, ClientAuthorisation, PinPrompt};
use sam_client::{ClientAuth, Connection, Endpoint, SamClient};
use sam_cms::{Content, Format, Services, SignatureRequest};
use sam_keys::SigningKey;
use sam_sad::SadSigner;
use zeroize::Zeroizing;

fn setting(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's documentation)"))
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

/// The client's authorisation key from `SAM_AUTHORISATION_KEY` and `SAM_AUTHORISATION_CERT`,
/// signing SADs under the key's profile's SAD hash (`SAM_SAD_HASH`, default SHA-256).
fn client_authorisation(client_id: &str) -> Result<ClientAuthorisation, String> {
    if client_id.is_empty() {
        return Err("set SAM_CLIENT_ID: the SAD names the client whose key signs it".into());
    }
    let certificate = sam_cms::Certificate::from_pem(read(&setting("SAM_AUTHORISATION_CERT")?)?)
        .map_err(|e| format!("SAM_AUTHORISATION_CERT: {e}"))?;
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    let spec = sam_keys::public_key_spec(&spki).map_err(|e| e.to_string())?;
    let pem = String::from_utf8(read(&setting("SAM_AUTHORISATION_KEY")?)?)
        .map_err(|_| "SAM_AUTHORISATION_KEY: not PEM text")?;
    let (label, der) =
        der::pem::decode_vec(pem.as_bytes()).map_err(|e| format!("SAM_AUTHORISATION_KEY: {e}"))?;
    if label != "PRIVATE KEY" {
        return Err(format!(
            "SAM_AUTHORISATION_KEY: a PKCS#8 \"PRIVATE KEY\", not {label:?}"
        ));
    }
    let key = SigningKey::from_pkcs8_der(spec, &der).map_err(|e| e.to_string())?;
    let hash = std::env::var("SAM_SAD_HASH")
        .unwrap_or_else(|_| "sha256".into())
        .parse()
        .map_err(|_| "SAM_SAD_HASH: not a hash algorithm")?;
    Ok(ClientAuthorisation::new(
        client_id,
        setting("SAM_INSTANCE_ID")?,
        SadSigner::new(key, hash, RsaPadding::Pkcs1v15),
    ))
}

/// Asks for the PIN on standard error and reads one line of standard input; end of input
/// is "no PIN".
fn pin_from_stdin(prompt: &PinPrompt<'_>) -> Option<Zeroizing<String>> {
    eprintln!(
        "PIN of {} to sign {:?} (request {}):",
        prompt.user_id, prompt.label, prompt.request_id
    );
    let mut line = Zeroizing::new(String::new());
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(Zeroizing::new(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        )),
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [user, key, file] = args.as_slice() else {
        return Err("usage: cades_remote USER KEY_ID FILE".into());
    };
    let ca = read(&setting("SAM_CA")?)?;
    let server = setting("SAM_SERVER")?;
    // mTLS when a client certificate is given, HTTP Basic when a secret is (both, if samd
    // asks for both: seed 002's "Basic with TLS").
    let endpoint = match (
        std::env::var("SAM_CLIENT_CERT"),
        std::env::var("SAM_CLIENT_KEY"),
    ) {
        (Ok(cert), Ok(key)) => {
            Endpoint::with_client_certificate(&server, &ca, &read(&cert)?, &read(&key)?)
        }
        (Err(_), Err(_)) => Endpoint::new(&server, &ca),
        _ => return Err("set both SAM_CLIENT_CERT and SAM_CLIENT_KEY, or neither".into()),
    }
    .map_err(|e| e.to_string())?;
    let client_id = std::env::var("SAM_CLIENT_ID").unwrap_or_default();
    let auth = match std::env::var("SAM_CLIENT_SECRET") {
        Ok(secret) if !client_id.is_empty() => ClientAuth::Basic {
            client_id: client_id.clone(),
            secret: secret.into(),
        },
        Ok(_) => return Err("SAM_CLIENT_SECRET needs SAM_CLIENT_ID".into()),
        Err(_) if std::env::var_os("SAM_CLIENT_CERT").is_some() => ClientAuth::Certificate,
        Err(_) => {
            return Err(
                "set SAM_CLIENT_CERT and SAM_CLIENT_KEY (mTLS), or SAM_CLIENT_ID and \
                 SAM_CLIENT_SECRET (HTTP Basic)"
                    .into(),
            );
        }
    };
    let client = SamClient::new(Connection::new(endpoint), auth);
    let mut signer = BlockingRemoteSigner::open(client, user, key).map_err(|e| e.to_string())?;
    let label = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    let approval = if std::env::var_os("SAM_AUTHORISATION_KEY").is_some() {
        Approval::Pin {
            pin: Arc::new(pin_from_stdin),
            authorisation: Arc::new(client_authorisation(&client_id)?),
        }
    } else {
        Approval::Device
    };
    let configured = signer
        .signer()
        .clone()
        .with_label(label)
        .with_approval(approval)
        .with_wait(Duration::from_millis(500), Duration::from_secs(120))
        .on_pending(|authorised| println!("pending {}", authorised.request_id));
    *signer.signer_mut() = configured;

    let content = read(file)?;
    let certificates = signer.certificates().map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let signing_time = i64::try_from(now)
        .ok()
        .and_then(UnixTime::from_secs)
        .ok_or("the clock is out of range")?;
    let request = SignatureRequest::new(
        Format::CadesBB,
        signer.signer().signature_algorithm(),
        Content::Detached(&content),
        certificates,
        signing_time,
    );
    let signature =
        sam_cms::sign(&request, &signer, &Services::none()).map_err(|e| e.to_string())?;
    let out = format!("{file}.p7s");
    std::fs::write(&out, &signature).map_err(|e| format!("{out}: {e}"))?;
    println!("signed {out}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cades_remote: {e}");
            ExitCode::FAILURE
        }
    }
}
