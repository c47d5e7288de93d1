//! `samctl sign FILE...` and `samctl verify`: the client side of a signature. Files are hashed
//! here (only digests leave the machine), one authorisation covers all of them (bulk), the
//! user approves on their device, and each signature is written beside its file as
//! `FILE.p7s`. `verify` checks a signature with `sam-cms`'s verifier and, given the CA, the
//! signer's certificate against it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sam_algorithms::{Digest, HashAlgorithm, RsaPadding, SignatureAlgorithm};
use sam_client::{Authorisation, Authorised, Document, SamClient};
use sam_cms::Detached;
use serde_json::json;

use crate::out::json;
use crate::remote::Remote;
use crate::{CliError, Out};

fn file_error(what: &str, path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::File {
        what: what.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Hashes `files` with a progress bar over their bytes.
fn hash_files(files: &[PathBuf], hash: HashAlgorithm, out: &Out) -> Result<Vec<Digest>, CliError> {
    let mut total = 0u64;
    for f in files {
        total += std::fs::metadata(f)
            .map_err(|e| file_error("document", f, e))?
            .len();
    }
    let bar = out.progress(total, "hashing");
    let mut digests = Vec::with_capacity(files.len());
    let mut buffer = vec![0u8; 1 << 16];
    for f in files {
        let mut file = std::fs::File::open(f).map_err(|e| file_error("document", f, e))?;
        let mut hasher = hash.hasher();
        loop {
            let n = file
                .read(&mut buffer)
                .map_err(|e| file_error("document", f, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bar.inc(n as u64);
        }
        digests.push(hasher.finalize());
    }
    bar.finish_and_clear();
    Ok(digests)
}

/// Waits until request `id` is authorised; declined, expired or failed requests end the wait.
pub(crate) fn wait_for_approval(
    remote: &Remote,
    client: &SamClient,
    id: &str,
    timeout: Duration,
    out: &Out,
) -> Result<(), CliError> {
    let spinner = out.spinner(&format!(
        "waiting for the user's approval of request {id} on their device (samctl device approve)"
    ));
    let started = Instant::now();
    loop {
        let state = match remote.run(client.status(id)) {
            Ok(state) => state,
            Err(e) => {
                spinner.finish_and_clear();
                return Err(e);
            }
        };
        match state.status.as_str() {
            "authorised" => {
                spinner.finish_and_clear();
                return Ok(());
            }
            "pending" => {}
            other => {
                spinner.finish_and_clear();
                return Err(CliError::Refused(format!("request {id} is {other}")));
            }
        }
        if started.elapsed() >= timeout {
            spinner.finish_and_clear();
            return Err(CliError::Refused(format!(
                "request {id} was not approved within {} s; it stays pending until it expires",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What `samctl sign` and `samctl authorise` need.
pub(crate) struct SignJob<'a> {
    pub(crate) user: &'a str,
    pub(crate) key: &'a str,
    pub(crate) format: &'a str,
    pub(crate) hash: HashAlgorithm,
    pub(crate) files: &'a [PathBuf],
    pub(crate) wait: Duration,
    pub(crate) overwrite: bool,
}

/// `FILE.p7s` for each file, refusing to replace existing ones unless asked.
fn outputs(files: &[PathBuf], overwrite: bool) -> Result<Vec<PathBuf>, CliError> {
    if files.is_empty() {
        return Err(CliError::Usage("name at least one file to sign".into()));
    }
    let outputs: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let mut name = f.as_os_str().to_owned();
            name.push(".p7s");
            PathBuf::from(name)
        })
        .collect();
    if !overwrite && let Some(existing) = outputs.iter().find(|o| o.exists()) {
        return Err(CliError::Usage(format!(
            "{} exists; pass --overwrite to replace it",
            existing.display()
        )));
    }
    Ok(outputs)
}

/// Hashes the files and asks for one authorisation of all of them.
fn authorise_files(
    remote: &Remote,
    client: &SamClient,
    job: &SignJob<'_>,
    out: &Out,
) -> Result<Authorised, CliError> {
    let digests = hash_files(job.files, job.hash, out)?;
    let documents: Vec<Document> = job
        .files
        .iter()
        .zip(&digests)
        .map(|(f, d)| {
            Document::digest(
                f.file_name().map_or_else(
                    || f.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                d.as_bytes().to_vec(),
            )
        })
        .collect();
    let authorised = remote.run(client.authorise(&Authorisation {
        user_id: job.user.to_owned(),
        key_id: job.key.to_owned(),
        hash_algorithm: job.hash.name().to_owned(),
        format: job.format.to_owned(),
        documents,
        signatures: None,
    }))?;
    out.note(&format!(
        "request {}: {} document(s) to approve on the user's device",
        authorised.request_id,
        job.files.len()
    ));
    Ok(authorised)
}

/// `samctl authorise`: the authorisation only; `samctl sign --request` finishes it.
pub(crate) fn authorise(
    remote: &Remote,
    client: &SamClient,
    job: &SignJob<'_>,
    out: &Out,
) -> Result<(), CliError> {
    outputs(job.files, job.overwrite)?;
    let authorised = authorise_files(remote, client, job, out)?;
    out.show(&json(&authorised), || authorised.request_id.clone());
    Ok(())
}

/// `samctl sign`: authorises (or, with `request`, takes an earlier authorisation of the same
/// files), waits for the approval, signs, checks each CMS/CAdES output against its file, and
/// writes FILE.p7s.
pub(crate) fn sign(
    remote: &Remote,
    client: &SamClient,
    job: &SignJob<'_>,
    request: Option<&str>,
    out: &Out,
) -> Result<(), CliError> {
    let outputs = outputs(job.files, job.overwrite)?;
    let id = match request {
        Some(id) => id.to_owned(),
        None => authorise_files(remote, client, job, out)?.request_id,
    };
    wait_for_approval(remote, client, &id, job.wait, out)?;
    let signatures = remote.run(client.sign(&id))?;
    if signatures.len() != outputs.len() {
        return Err(CliError::Usage(format!(
            "request {id} signed {} documents, and {} files were named: name the files of the \
             request, in its order",
            signatures.len(),
            outputs.len()
        )));
    }
    let bar = out.progress(outputs.len() as u64, "writing");
    for ((file, path), bytes) in job.files.iter().zip(&outputs).zip(signatures) {
        // A CMS or CAdES signature must be of this file (with --request, the files named may
        // not be the ones authorised); a raw signature value carries nothing to compare.
        if job.format != "raw" {
            let content = std::fs::read(file).map_err(|e| file_error("document", file, e))?;
            sam_cms::verify(&bytes, &Detached::Data(&content)).map_err(|e| {
                CliError::Refused(format!(
                    "the signature for {} does not verify over it: {e}",
                    file.display()
                ))
            })?;
        }
        std::fs::write(path, bytes).map_err(|e| file_error("signature", path, e))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let written: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
    out.show(&json!({"request_id": id, "written": written}), || {
        format!("signed {} file(s): {}", written.len(), written.join(", "))
    });
    Ok(())
}

/// Checks that `certificate` was issued by `ca` (its signature under the CA's key, the names)
/// and is valid now.
fn check_issued_by(
    certificate: &x509_cert::Certificate,
    ca: &x509_cert::Certificate,
) -> Result<(), CliError> {
    use der::Encode;
    let refused = |why: String| CliError::Refused(format!("the signer's certificate: {why}"));
    if certificate.tbs_certificate().issuer() != ca.tbs_certificate().subject() {
        return Err(refused(
            "not issued by the given CA (issuer name differs)".into(),
        ));
    }
    let tbs = certificate
        .tbs_certificate()
        .to_der()
        .map_err(|e| refused(e.to_string()))?;
    let ca_spki = ca
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| refused(e.to_string()))?;
    let spec = sam_keys::public_key_spec(&ca_spki).map_err(|e| refused(e.to_string()))?;
    let algorithm =
        SignatureAlgorithm::from_algorithm_identifier(certificate.signature_algorithm())
            .map_err(|e| refused(e.to_string()))?;
    let padding = match algorithm {
        SignatureAlgorithm::RsaPss(_) => RsaPadding::Pss,
        _ => RsaPadding::Pkcs1v15,
    };
    let input = match algorithm.hash_algorithm() {
        Some(h) => sam_keys::Input::Digest(h.digest(&tbs)),
        None => sam_keys::Input::Message(&tbs),
    };
    sam_keys::verify(
        &ca_spki,
        spec,
        padding,
        &input,
        certificate.signature().raw_bytes(),
    )
    .map_err(|_| refused("its signature does not verify under the CA's key".into()))?;
    let now = std::time::SystemTime::now();
    let validity = certificate.tbs_certificate().validity();
    if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
        return Err(refused("not valid now".into()));
    }
    Ok(())
}

/// `samctl verify`.
pub(crate) fn verify(
    signature: &Path,
    content: Option<&Path>,
    ca: Option<&Path>,
    out: &Out,
) -> Result<(), CliError> {
    let der = std::fs::read(signature).map_err(|e| file_error("signature", signature, e))?;
    let data = content
        .map(|c| std::fs::read(c).map_err(|e| file_error("content", c, e)))
        .transpose()?;
    let detached = match &data {
        Some(d) => Detached::Data(d),
        None => Detached::None,
    };
    let verified = sam_cms::verify(&der, &detached)
        .map_err(|e| CliError::Refused(format!("{}: {e}", signature.display())))?;
    if let Some(ca_path) = ca {
        use der::DecodePem;
        let pem = std::fs::read(ca_path).map_err(|e| file_error("CA certificate", ca_path, e))?;
        let ca_cert = x509_cert::Certificate::from_pem(&pem)
            .map_err(|e| file_error("CA certificate", ca_path, e))?;
        check_issued_by(&verified.signer, &ca_cert)?;
    }
    let signer = verified.signer.tbs_certificate().subject().to_string();
    let answer = json!({
        "valid": true,
        "level": verified.level.to_string(),
        "algorithm": verified.algorithm.to_string(),
        "signer": signer,
        "signing_time": verified.signing_time.map(|t| t.to_string()),
        "trusted_by": ca.map(|c| c.display().to_string()),
    });
    out.show(&answer, || {
        let mut text = format!(
            "{}: valid {} signature ({}) by {signer}",
            signature.display(),
            verified.level,
            verified.algorithm
        );
        if let Some(t) = verified.signing_time {
            text.push_str(&format!(", signed at {t}"));
        }
        if let Some(c) = ca {
            text.push_str(&format!(", certificate issued by {}", c.display()));
        } else {
            text.push_str(" (certificate not checked against a CA: pass --ca)");
        }
        text
    });
    Ok(())
}

/// A spinner or bar style.
pub(crate) fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A progress bar that draws nothing.
pub(crate) fn hidden() -> ProgressBar {
    ProgressBar::hidden()
}
