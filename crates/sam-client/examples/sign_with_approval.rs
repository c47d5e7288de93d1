//! A business application that signs a file through `samd` once its user approved it on
//! their device: it hashes the file, asks for a CAdES-B-B signature (Authorise), waits for
//! the user's answer, signs, and writes the detached signature beside the file.
//!
//! ```text
//! SAM_SERVER=https://localhost:8443 SAM_CA=sam-data/dev-ca/ca.pem \
//! SAM_CLIENT_ID=shop SAM_CLIENT_SECRET=a-secret-of-the-shop \
//!     cargo run -p sam-client --example sign_with_approval -- alice "$KEY" contract.txt
//! # meanwhile, as alice's phone:
//! samctl device approve --key-file phone.device.json --yes --wait 60
//! openssl cms -verify -binary -inform DER -in contract.txt.p7s -content contract.txt \
//!     -CAfile sam-data/dev-ca/ca.pem -purpose any -out /dev/null
//! ```
//!
//! It prints the request id when the authorisation is pending, and the signature's path when
//! it is written. It exits 1 with samd's reason on any refusal (the request declined or
//! expired, a wrong secret, an unknown key).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use sam_algorithms::HashAlgorithm;
use sam_client::{Authorisation, ClientAuth, Connection, Document, Endpoint, Error, SamClient};

fn setting(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's documentation)"))
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [user, key, file] = args.as_slice() else {
        return Err("usage: sign_with_approval USER KEY_ID FILE".into());
    };
    let ca = setting("SAM_CA")?;
    let ca_pem = std::fs::read(&ca).map_err(|e| format!("{ca}: {e}"))?;
    let endpoint = Endpoint::new(&setting("SAM_SERVER")?, &ca_pem).map_err(|e| e.to_string())?;
    let client = SamClient::new(
        Connection::new(endpoint),
        ClientAuth::Basic {
            client_id: setting("SAM_CLIENT_ID")?,
            secret: setting("SAM_CLIENT_SECRET")?.into(),
        },
    );
    let content = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let digest = HashAlgorithm::Sha256.digest(&content);
    let label = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());

    let failed = |e: Error| e.to_string();
    let authorised = client
        .authorise(&Authorisation {
            user_id: user.clone(),
            key_id: key.clone(),
            hash_algorithm: "sha-256".into(),
            format: "cades-b-b".into(),
            documents: vec![Document::digest(label, digest.as_bytes().to_vec())],
            signatures: None,
        })
        .await
        .map_err(failed)?;
    println!("pending {}", authorised.request_id);
    let answer = client
        .wait_for_answer(
            &authorised.request_id,
            Duration::from_millis(500),
            Duration::from_secs(120),
        )
        .await
        .map_err(failed)?;
    if answer.status != "authorised" {
        return Err(format!(
            "request {} was {}, not authorised",
            answer.request_id, answer.status
        ));
    }
    let mut signatures = client.sign(&authorised.request_id).await.map_err(failed)?;
    let signature = signatures.pop().ok_or("samd answered no signature")?;
    let out = format!("{file}.p7s");
    std::fs::write(&out, &signature).map_err(|e| format!("{out}: {e}"))?;
    println!("signed {out}");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sign_with_approval: {e}");
            ExitCode::FAILURE
        }
    }
}
