//! The four example profiles of docs/profiles.md, copied as written (only the IdP's
//! certificate replaced by the test IdP's, as an operator puts in their own), created through
//! samd with the crypto sources the page assumes (`software`, and `hsm-a` on SoftHSM with its
//! signature slot), each then used the way its text says: a key generated, a request
//! authorised and approved (on the device, or by the business application's SCAL1 SAD with
//! the IdP's ID token, or with the user's PIN for the seal), and every signature checked by
//! OpenSSL or pyca `cryptography` under the key's public key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};
use sam_algorithms::{HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_keys::{Input, SigningKey};
use sam_sad::{
    AuthMethod, AuthorisationRequest, ClientId, Id128, InstanceId, Issuer, Sad, SadSigner, Scal,
};

use common::*;
use sam_client::{Authorisation, ClientSettings, Document, ErrorCode, NewUser, SadFormat};

const PROFILES_MD: &str = include_str!("../../../docs/profiles.md");
const CLIENT: &str = "tsp:a-secret-of-the-tsp";
const USER: &str = "erin@example.com";
const PASSWORD: &str = "erin's password 4242";

/// The TOML blocks of docs/profiles.md that start with `name = `: the example profiles.
fn examples() -> Vec<String> {
    sam_testkit::code_blocks(PROFILES_MD, "toml")
        .into_iter()
        .filter(|block| block.starts_with("name = "))
        .collect()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate and its key (PKCS#8 DER) made by OpenSSL: `(key, cert PEM,
/// cert DER)`.
fn certified(dir: &Path, name: &str, key: &[&str]) -> (Vec<u8>, String, Vec<u8>) {
    let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj"];
    let subject = format!("/CN={name}");
    args.push(&subject);
    args.extend(key);
    let key_pem = format!("{name}.key.pem");
    let cert_pem = format!("{name}.cert.pem");
    args.extend(["-keyout", &key_pem, "-out", &cert_pem]);
    openssl(dir, &args);
    let key_der = format!("{name}.key.der");
    let cert_der = format!("{name}.cert.der");
    openssl(
        dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", &key_pem, "-outform", "DER", "-out", &key_der,
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-in", &cert_pem, "-outform", "DER", "-out", &cert_der,
        ],
    );
    (
        std::fs::read(dir.join(key_der)).unwrap(),
        std::fs::read_to_string(dir.join(cert_pem)).unwrap(),
        std::fs::read(dir.join(cert_der)).unwrap(),
    )
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Key Generation under `profile`: the key id and its public key (SPKI DER).
fn generate(sam: &Sam, profile: &str) -> (String, Vec<u8>) {
    let key = sam.run(
        sam.client
            .generate_key(USER, Some(profile.parse::<u32>().unwrap())),
    );
    (key.key_id, key.public_key)
}

/// Authorise `documents` (or a seal of `signatures`): the request id and its message (the
/// DER authorisation request).
fn authorise(
    sam: &Sam,
    key: &str,
    hash: &str,
    documents: Vec<Document>,
    signatures: Option<u32>,
) -> (String, Vec<u8>) {
    let answer = sam.run(sam.client.authorise(&Authorisation {
        user_id: USER.into(),
        key_id: key.into(),
        hash_algorithm: hash.into(),
        format: "raw".into(),
        documents,
        signatures,
    }));
    (answer.request_id, answer.message)
}

/// The business application's SCAL1 SAD for `message` (its authorisation key signs it, a JWS
/// under the profile's SAD hash).
fn client_sad(
    key: &[u8],
    sad_hash: HashAlgorithm,
    message: &[u8],
    method: AuthMethod,
    assertion: Option<String>,
) -> String {
    let request = AuthorisationRequest::from_der(message).unwrap();
    let now = now();
    let sad = Sad {
        sad_id: Id128::random().unwrap(),
        request_id: request.request_id,
        issuer: Issuer::Client(ClientId::new("tsp").unwrap()),
        subject: request.subject.clone(),
        audience: InstanceId::new("sam-dev").unwrap(),
        key_id: request.key_id.clone(),
        profile_id: request.profile_id,
        scal: Scal::Scal1,
        hash_algorithm: request.hash_algorithm,
        hashes: request.documents.iter().map(|d| d.hash).collect(),
        num_signatures: request.num_signatures,
        mode: request.mode,
        auth_method: method,
        assertion,
        issued_at: UnixTime::from_secs(now).unwrap(),
        expires_at: UnixTime::from_secs(now + 300).unwrap(),
    };
    let key = SigningKey::from_pkcs8_der(KeySpec::Rsa(RsaKeySize::Bits2048), key).unwrap();
    SadSigner::new(key, sad_hash, RsaPadding::Pkcs1v15)
        .sign_jws(&sad)
        .unwrap()
}

/// The IdP's ID token for the user (RS256), issued to the business application.
fn id_token(idp_key: &[u8]) -> String {
    let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
    let claims = serde_json::json!({
        "iss": "https://idp.example.com",
        "sub": "erin-at-the-idp",
        // The page's example names no audience: the submitting client's id is expected.
        "aud": "tsp",
        "email": USER,
        "iat": now(),
        "exp": now() + 300,
    });
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let key = SigningKey::from_pkcs8_der(KeySpec::Rsa(RsaKeySize::Bits2048), idp_key).unwrap();
    let signature = key
        .sign(
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(input.as_bytes())),
        )
        .unwrap();
    format!("{input}.{}", b64(&signature))
}

/// `openssl pkeyutl -verify` of `signature` over `digest` under `public_key`, with `options`.
fn openssl_verifies(
    dir: &Path,
    public_key: &[u8],
    digest: &[u8],
    signature: &[u8],
    options: &[&str],
) {
    std::fs::write(dir.join("verify.key.der"), public_key).unwrap();
    std::fs::write(dir.join("verify.digest"), digest).unwrap();
    std::fs::write(dir.join("verify.sig"), signature).unwrap();
    let mut args = vec![
        "pkeyutl",
        "-verify",
        "-pubin",
        "-keyform",
        "DER",
        "-inkey",
        "verify.key.der",
        "-in",
        "verify.digest",
        "-sigfile",
        "verify.sig",
    ];
    args.extend(options);
    openssl(dir, &args);
}

#[test]
fn the_documented_profiles_sign_as_written() {
    let source = softhsm_source("hsm-a");
    let dir = scratch("documented-profiles");
    // The business application's authorisation key (RSA: a JWS under any SAD hash) and the
    // IdP's, each with a self-signed certificate.
    let (client_key, _, client_cert) =
        certified(&dir, "tsp-authorisation", &["-newkey", "rsa:2048"]);
    let (idp_key, idp_pem, _) = certified(&dir, "example-idp", &["-newkey", "rsa:2048"]);

    // The page's crypto sources: the software one, and hsm-a with its signature slot.
    let hsm = move |text: String| format!("{text}{source}");
    let server = start_samd_with(&dir, Some(&hsm), &SOFTHSM_PINS);

    let examples = examples();
    assert_eq!(
        examples.len(),
        4,
        "docs/profiles.md's four example profiles"
    );
    let mut ids = Vec::new();
    for (n, text) in examples.iter().enumerate() {
        let text = match text.split_once("certificate = '''\n") {
            // The IdP's certificate is the operator's own: the test IdP's here.
            Some((head, rest)) => {
                let (_, tail) = rest.split_once("'''\n").unwrap();
                format!("{head}certificate = '''\n{idp_pem}'''\n{tail}")
            }
            None => text.clone(),
        };
        let file = format!("example-{}.toml", n + 1);
        std::fs::write(dir.join(&file), &text).unwrap();
        ids.push(ok(run(
            &server,
            &dir,
            &[],
            &["admin", "profile", "create", &file, "--field", "id"],
        )));
    }
    let [rsa, idp, ml_dsa, seal] = &ids[..] else {
        unreachable!()
    };

    // The business application, with its authorisation certificate, may use all four.
    let sam = Sam::new(&server, CLIENT);
    sam.run(sam.admin.register_client(&ClientSettings {
        client_id: "tsp".into(),
        selected_profiles: Some(ids.iter().map(|id| id.parse::<u32>().unwrap()).collect()),
        default_profile: Some(rsa.parse::<u32>().unwrap()),
        authorisation_certificate: Some(client_cert),
        ..ClientSettings::default()
    }));
    sam.run(sam.admin.set_client_secret("tsp", "a-secret-of-the-tsp"));
    sam.run(sam.client.register_user(&NewUser {
        user_id: USER.into(),
        email: Some(USER.into()),
        mobile: None,
        password: Some(PASSWORD.into()),
    }));
    // The lists come in pages (docs/api.md, Paging); samctl follows them.
    let page = sam.run(sam.admin.profiles(Some("name"), None, None, 3));
    assert_eq!(page.items.len(), 3, "{page:?}");
    let rest = sam.run(
        sam.admin
            .profiles(Some("name"), None, page.next.as_deref(), 3),
    );
    assert_eq!(rest.items.len(), 1, "{rest:?}");
    assert!(rest.next.is_none(), "{rest:?}");
    let listed = ok(run(&server, &dir, &[], &["admin", "profile", "list"]));
    assert_eq!(listed.lines().count(), 4, "{listed}");
    // Seed 001's advanced search, each of its seven fields through samctl: the names found.
    let search = |options: &[&str]| -> Vec<String> {
        let mut args = vec!["admin", "profile", "search"];
        args.extend(options);
        let found = ok(run(&server, &dir, &[], &args));
        // Each line: id, status, name; `(none)` when nothing matches.
        let mut names: Vec<String> = found
            .lines()
            .filter(|line| *line != "(none)")
            .map(|line| {
                line.split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(search(&["--status", "active"]).len(), 4);
    assert!(search(&["--status", "inactive"]).is_empty());
    assert_eq!(search(&["--id", ml_dsa]), ["ML-DSA-65 documents"]);
    assert_eq!(search(&["--name", "ESEAL"]), ["Corporate eSeal"]);
    assert_eq!(
        search(&["--key-algorithm", "ecdsa"]),
        ["Advanced ECDSA via OIDC", "Corporate eSeal"]
    );
    assert_eq!(
        search(&["--key-algorithm", "ecdsa", "--key-length", "384"]),
        ["Corporate eSeal"]
    );
    assert_eq!(
        search(&["--key-algorithm", "ml-dsa", "--security-level", "3"]),
        ["ML-DSA-65 documents"]
    );
    assert!(search(&["--key-algorithm", "ml-dsa", "--security-level", "5"]).is_empty());
    assert_eq!(
        search(&["--crypto-profile", "hsm-a"]),
        ["Corporate eSeal", "Qualified RSA-3072 PSS"]
    );
    // A level without ML-DSA is refused with the reason, not answered with nothing.
    let refused = run(
        &server,
        &dir,
        &[],
        &["admin", "profile", "search", "--security-level", "3"],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("security_level is only available with key_algorithm ml-dsa"),
        "{said}"
    );
    let refused = sam.try_run(sam.client.users(None, 0)).unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(400), Some(ErrorCode::InvalidRequest)),
        "{refused}"
    );
    // Her phone: a secure element and a biometric, as example 1 requires.
    let client_env = [
        ("SAM_CLIENT_ID", "tsp"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-tsp"),
    ];
    ok(run(
        &server,
        &dir,
        &client_env,
        &[
            "device",
            "enroll",
            "--user",
            USER,
            "--device",
            "erin-phone",
            "--profile",
            rsa,
            "--claim-biometric",
            "--claim-secure-element",
        ],
    ));
    let approve = |request: &str| {
        ok(run(
            &server,
            &dir,
            &[],
            &[
                "device",
                "approve",
                "--key-file",
                "erin-phone.device.json",
                request,
                "--yes",
            ],
        ));
    };
    let sign = |request: &str| sam.run(sam.client.sign(request));

    // 1. RSA-3072 PSS in hsm-a's signature slot, approved on the phone.
    let digest = HashAlgorithm::Sha256.digest(b"a qualified contract");
    let (key, public_key) = generate(&sam, rsa);
    let (request, _) = authorise(
        &sam,
        &key,
        "sha-256",
        vec![Document::digest("contract.pdf", digest.as_bytes().to_vec())],
        None,
    );
    approve(&request);
    let signature = &sign(&request)[0];
    assert_eq!(signature.len(), 384, "an RSA-3072 signature");
    openssl_verifies(
        &dir,
        &public_key,
        digest.as_bytes(),
        signature,
        &[
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "digest:sha256",
            "-pkeyopt",
            "rsa_pss_saltlen:auto",
        ],
    );

    // 2. ECDSA P-256 in software, SCAL1: the application hands in the IdP's ID token in its
    // SAD; sam hashes the document itself.
    let document = b"an advanced contract";
    let (key, public_key) = generate(&sam, idp);
    let (request, message) = authorise(
        &sam,
        &key,
        "sha-256",
        vec![Document::data("offer.txt", document.to_vec())],
        None,
    );
    let sad = client_sad(
        &client_key,
        HashAlgorithm::Sha256,
        &message,
        AuthMethod::Idp,
        Some(id_token(&idp_key)),
    );
    sam.run(
        sam.client
            .submit_sad(&request, sad.as_bytes(), SadFormat::Json),
    );
    let signature = &sign(&request)[0];
    openssl_verifies(
        &dir,
        &public_key,
        HashAlgorithm::Sha256.digest(document).as_bytes(),
        signature,
        &[],
    );

    // 3. ML-DSA-65 in software; the profile's default hash follows the level (SHA-384).
    let (key, public_key) = generate(&sam, ml_dsa);
    let digest = HashAlgorithm::Sha384.digest(b"a post-quantum document");
    let (request, _) = authorise(
        &sam,
        &key,
        "sha-384",
        vec![Document::digest("report.pdf", digest.as_bytes().to_vec())],
        None,
    );
    approve(&request);
    let signature = &sign(&request)[0];
    std::fs::write(dir.join("ml-dsa.key.der"), &public_key).unwrap();
    std::fs::write(dir.join("ml-dsa.sig"), signature).unwrap();
    std::fs::write(dir.join("ml-dsa.msg"), digest.as_bytes()).unwrap();
    let out = Command::new(sam_testkit::python())
        .current_dir(&dir)
        .args([
            "-c",
            "from cryptography.hazmat.primitives import serialization\n\
             key = serialization.load_der_public_key(open('ml-dsa.key.der', 'rb').read())\n\
             key.verify(open('ml-dsa.sig', 'rb').read(), open('ml-dsa.msg', 'rb').read())\n\
             print(type(key).__name__)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyca cryptography: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MLDSA65"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // 4. The eSeal: one authorisation (the user's PIN, the application's SAD) for several
    // signatures, by a P-384 key in hsm-a.
    let (key, public_key) = generate(&sam, seal);
    let (request, message) = authorise(&sam, &key, "sha-384", Vec::new(), Some(3));
    sam.run(sam.client.verify_pin(USER, &request, PASSWORD));
    let sad = client_sad(
        &client_key,
        HashAlgorithm::Sha384,
        &message,
        AuthMethod::Pin,
        None,
    );
    sam.run(
        sam.client
            .submit_sad(&request, sad.as_bytes(), SadFormat::Json),
    );
    for invoice in ["invoice 1", "invoice 2"] {
        let digest = HashAlgorithm::Sha384.digest(invoice.as_bytes());
        let signatures = sam.run(sam.client.seal_sign(
            &request,
            "sha-384",
            "raw",
            &[Document::digest(invoice, digest.as_bytes().to_vec())],
        ));
        openssl_verifies(&dir, &public_key, digest.as_bytes(), &signatures[0], &[]);
    }
    assert_no_secret_in_logs(
        &server,
        &[
            SOFTHSM_PINS[0].1,
            SOFTHSM_PINS[1].1,
            "a-secret-of-the-tsp",
            PASSWORD,
        ],
    );
}
