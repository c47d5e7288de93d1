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

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use sam_algorithms::{HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_keys::{Input, SigningKey};
use sam_sad::{
    AuthMethod, AuthorisationRequest, ClientId, Id128, InstanceId, Issuer, Sad, SadSigner, Scal,
};

use common::*;

const PROFILES_MD: &str = include_str!("../../../docs/profiles.md");
const CLIENT: &str = "tsp:a-secret-of-the-tsp";
const USER: &str = "erin@example.com";
const PASSWORD: &str = "erin's password 4242";

/// The TOML blocks of docs/profiles.md that start with `name = `: the example profiles.
fn examples() -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for line in PROFILES_MD.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```toml") => block = Some(String::new()),
            (Some(b), "```") => {
                if b.starts_with("name = ") {
                    out.push(std::mem::take(b));
                }
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
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

/// `method path` with the admin credential and a JSON body.
fn admin(server: &Server, method: &str, path: &str, body: &str) -> (u16, String) {
    let bearer = format!("Authorization: Bearer {}", server.admin_token.as_str());
    curl(
        server,
        &[
            "-X",
            method,
            "-H",
            &bearer,
            "-H",
            "Content-Type: application/json",
            "--data",
            body,
        ],
        path,
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn post(server: &Server, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let (status, text) = post_json(server, CLIENT, path, &body.to_string());
    assert!((200..300).contains(&status), "{path}: {status} {text}");
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        json(&text)
    }
}

/// Key Generation under `profile`: the key id and its public key (SPKI DER).
fn generate(server: &Server, profile: &str) -> (String, Vec<u8>) {
    let key = post(
        server,
        &format!("/api/v1/users/{USER}/keys"),
        &serde_json::json!({ "profile_id": profile.parse::<u32>().unwrap() }),
    );
    (
        key["key_id"].as_str().unwrap().to_owned(),
        Base64::decode_vec(key["public_key"].as_str().unwrap()).unwrap(),
    )
}

/// Authorise: the request id and its message (the DER authorisation request).
fn authorise(server: &Server, body: serde_json::Value) -> (String, Vec<u8>) {
    let answer = post(server, "/api/v1/authorisations", &body);
    (
        answer["request_id"].as_str().unwrap().to_owned(),
        Base64::decode_vec(answer["message"].as_str().unwrap()).unwrap(),
    )
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

/// The signatures of a Sign answer.
fn signatures(answer: &serde_json::Value) -> Vec<Vec<u8>> {
    answer["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Base64::decode_vec(s.as_str().unwrap()).unwrap())
        .collect()
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
    let (status, text) = admin(
        &server,
        "POST",
        "/admin/v1/clients",
        &serde_json::json!({
            "client_id": "tsp",
            "selected_profiles": ids.iter().map(|id| id.parse::<u32>().unwrap()).collect::<Vec<_>>(),
            "default_profile": rsa.parse::<u32>().unwrap(),
            "authorisation_certificate": Base64::encode_string(&client_cert),
        })
        .to_string(),
    );
    assert_eq!(status, 201, "{text}");
    let (status, text) = admin(
        &server,
        "PUT",
        "/admin/v1/clients/tsp/secret",
        r#"{"secret":"a-secret-of-the-tsp"}"#,
    );
    assert_eq!(status, 204, "{text}");
    post(
        &server,
        "/api/v1/users",
        &serde_json::json!({ "user_id": USER, "email": USER, "password": PASSWORD }),
    );
    // The lists come in pages (docs/api.md, Paging); samctl follows them.
    let (status, text) = admin(&server, "GET", "/admin/v1/profiles?limit=3&sort=name", "");
    assert_eq!(status, 200, "{text}");
    let page = json(&text);
    assert_eq!(page["profiles"].as_array().unwrap().len(), 3, "{page}");
    let next = page["next"].as_str().unwrap().to_owned();
    let (_, text) = admin(
        &server,
        "GET",
        &format!("/admin/v1/profiles?limit=3&sort=name&after={next}"),
        "",
    );
    let rest = json(&text);
    assert_eq!(rest["profiles"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next"].is_null(), "{rest}");
    let listed = ok(run(&server, &dir, &[], &["admin", "profile", "list"]));
    assert_eq!(listed.lines().count(), 4, "{listed}");
    let (status, text) = curl(&server, &["-u", CLIENT], "/api/v1/users?limit=0");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_request"), "{text}");
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
    let sign = |request: &str| {
        post(
            &server,
            "/api/v1/sign",
            &serde_json::json!({ "request_id": request }),
        )
    };

    // 1. RSA-3072 PSS in hsm-a's signature slot, approved on the phone.
    let digest = HashAlgorithm::Sha256.digest(b"a qualified contract");
    let (key, public_key) = generate(&server, rsa);
    let (request, _) = authorise(
        &server,
        serde_json::json!({
            "user_id": USER, "key_id": key, "hash_algorithm": "sha-256", "format": "raw",
            "documents": [{ "label": "contract.pdf", "digest": Base64::encode_string(digest.as_bytes()) }],
        }),
    );
    approve(&request);
    let signature = &signatures(&sign(&request))[0];
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
    let (key, public_key) = generate(&server, idp);
    let (request, message) = authorise(
        &server,
        serde_json::json!({
            "user_id": USER, "key_id": key, "hash_algorithm": "sha-256", "format": "raw",
            "documents": [{ "label": "offer.txt", "data": Base64::encode_string(document) }],
        }),
    );
    let sad = client_sad(
        &client_key,
        HashAlgorithm::Sha256,
        &message,
        AuthMethod::Idp,
        Some(id_token(&idp_key)),
    );
    post(
        &server,
        &format!("/api/v1/authorisations/{request}/sad"),
        &serde_json::json!({ "sad": sad }),
    );
    let signature = &signatures(&sign(&request))[0];
    openssl_verifies(
        &dir,
        &public_key,
        HashAlgorithm::Sha256.digest(document).as_bytes(),
        signature,
        &[],
    );

    // 3. ML-DSA-65 in software; the profile's default hash follows the level (SHA-384).
    let (key, public_key) = generate(&server, ml_dsa);
    let digest = HashAlgorithm::Sha384.digest(b"a post-quantum document");
    let (request, _) = authorise(
        &server,
        serde_json::json!({
            "user_id": USER, "key_id": key, "hash_algorithm": "sha-384", "format": "raw",
            "documents": [{ "label": "report.pdf", "digest": Base64::encode_string(digest.as_bytes()) }],
        }),
    );
    approve(&request);
    let signature = &signatures(&sign(&request))[0];
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
    let (key, public_key) = generate(&server, seal);
    let (request, message) = authorise(
        &server,
        serde_json::json!({
            "user_id": USER, "key_id": key, "hash_algorithm": "sha-384", "format": "raw",
            "signatures": 3,
        }),
    );
    post(
        &server,
        "/api/v1/pin/verify",
        &serde_json::json!({ "user_id": USER, "request_id": request, "pin": PASSWORD }),
    );
    let sad = client_sad(
        &client_key,
        HashAlgorithm::Sha384,
        &message,
        AuthMethod::Pin,
        None,
    );
    post(
        &server,
        &format!("/api/v1/authorisations/{request}/sad"),
        &serde_json::json!({ "sad": sad }),
    );
    for invoice in ["invoice 1", "invoice 2"] {
        let digest = HashAlgorithm::Sha384.digest(invoice.as_bytes());
        let answer = post(
            &server,
            "/api/v1/seal/sign",
            &serde_json::json!({
                "request_id": request, "hash_algorithm": "sha-384", "format": "raw",
                "documents": [{ "label": invoice, "digest": Base64::encode_string(digest.as_bytes()) }],
            }),
        );
        openssl_verifies(
            &dir,
            &public_key,
            digest.as_bytes(),
            &signatures(&answer)[0],
            &[],
        );
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
