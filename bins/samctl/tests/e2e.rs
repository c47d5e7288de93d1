//! `samd` and `samctl` end to end, over real HTTPS on loopback: the README's quickstart as
//! written; client authentication (mutual TLS required and missing, HTTP Basic right and
//! wrong, both when seed 002's option is on); device sessions that cannot see another user's
//! requests; the hash-count limit.
//!
//! `samd` is the binary beside `samctl` in the target directory (`cargo test --workspace`
//! builds both). `curl` and `openssl` come from `scripts/test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;
use sam_client::{ClientAuth, ClientSettings, ErrorCode, NewUser};

#[test]
fn the_readme_quickstart_works_as_written() {
    let readme = include_str!("../../../README.md");
    let begin = readme.find("<!-- quickstart: begin -->").unwrap();
    let end = readme.find("<!-- quickstart: end -->").unwrap();
    let block = &readme[begin..end];
    let script = block
        .split_once("```sh\n")
        .unwrap()
        .1
        .rsplit_once("```")
        .unwrap()
        .0;
    // The two changes for a test: an ephemeral port instead of 8443, and the binaries under
    // test first on the PATH (the README builds them into target/release).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(script.contains("samd --dev > samd.log &"));
    let script = script.replace(
        "samd --dev > samd.log &",
        &format!("samd --dev --listen 127.0.0.1:{port} > samd.log &"),
    );
    let dir = scratch("quickstart");
    let path = format!(
        "{}:{}",
        samd().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("PATH", path)
        .env("SAM_SERVER", format!("https://127.0.0.1:{port}"))
        .env("SAMD_LOG", "warn")
        .env_remove("SAM_CA")
        .env_remove("SAM_CLIENT_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // If the script failed half-way, the server may still run: stop it.
    if !out.status.success() {
        let _ = Command::new("pkill")
            .args(["-f", &format!("127.0.0.1:{port}")])
            .status();
    }
    assert!(
        out.status.success(),
        "the quickstart failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("valid CAdES-B-B signature"),
        "samctl verify: {stdout}"
    );
    assert!(
        stderr.contains("CMS Verification successful"),
        "openssl cms -verify: {stderr}"
    );
    let signature = std::fs::read(dir.join("contract.txt.p7s")).unwrap();
    assert!(signature.len() > 500);
}

#[test]
fn clients_authenticate_with_certificates_and_basic_as_configured() {
    let dir = scratch("auth");
    // Client certificates are required at the handshake.
    let require = |text: String| {
        text.replace(
            "client_ca = \"dev-ca/ca.pem\"",
            "client_ca = \"dev-ca/ca.pem\"\nrequire_client_certificate = true",
        )
    };
    let server = start_samd(&dir, Some(&require));
    let (cert, key) = client_certificate(&server, &dir, "shop");
    let (other_cert, other_key) = client_certificate(&server, &dir, "stranger");
    let admin = [
        "-H",
        &format!("Authorization: Bearer {}", server.admin_token),
    ];

    // No certificate: no connection at all, not even to the admin API.
    let (status, _) = curl(&server, &admin, "/admin/v1/clients");
    assert_eq!(
        status, 0,
        "a connection without a client certificate must fail"
    );

    // The same through sam-client: without a certificate the handshake fails, and the call
    // says it was the connection, not a refusal.
    let bare = Sam::over(&server, None, ClientAuth::Certificate);
    let e = bare.try_run(bare.admin.clients(None, 10)).unwrap_err();
    assert!(
        matches!(
            e,
            sam_client::Error::Tls(_) | sam_client::Error::Transport(_)
        ),
        "{e}"
    );

    // Register "shop" bound to its certificate (the operator's calls need one too here).
    let cert_der = {
        let out = Command::new("openssl")
            .args(["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"])
            .output()
            .unwrap();
        out.stdout
    };
    let shop = Sam::over(&server, Some((&cert, &key)), ClientAuth::Certificate);
    let mut settings = ClientSettings {
        client_id: "shop".into(),
        tls_certificates: vec![cert_der],
        basic_with_tls: Some(false),
        ..ClientSettings::default()
    };
    shop.run(shop.admin.register_client(&settings));

    // The certificate alone authenticates shop.
    shop.run(shop.client.register_user(&NewUser {
        user_id: "alice".into(),
        ..NewUser::default()
    }));
    // Another certificate of the same CA is not a registered client (curl, as any client).
    let stranger = [
        "--cert",
        other_cert.to_str().unwrap(),
        "--key",
        other_key.to_str().unwrap(),
    ];
    let (status, text) = curl(&server, &stranger, "/api/v1/users/alice");
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("client_authentication_failed"), "{text}");

    // Seed 002's option: with the certificate, HTTP Basic is required too.
    settings.basic_with_tls = Some(true);
    shop.run(shop.admin.edit_client(&settings));
    shop.run(shop.admin.set_client_secret("shop", "right-secret-1234"));
    let refused = |sam: &Sam, why: &str| {
        let e = sam.try_run(sam.client.user("alice")).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (Some(401), Some(ErrorCode::ClientAuthenticationFailed)),
            "{why}: {e}"
        );
    };
    refused(&shop, "certificate without Basic");
    let basic = |secret: &str| ClientAuth::Basic {
        client_id: "shop".into(),
        secret: secret.to_owned().into(),
    };
    let wrong = Sam::over(&server, Some((&cert, &key)), basic("wrong-secret"));
    refused(&wrong, "certificate with a wrong secret");
    let right = Sam::over(&server, Some((&cert, &key)), basic("right-secret-1234"));
    assert_eq!(right.run(right.client.user("alice")).user_id, "alice");
    // Basic with the stranger's certificate is not shop either.
    let stranger = Sam::over(
        &server,
        Some((&other_cert, &other_key)),
        basic("right-secret-1234"),
    );
    refused(&stranger, "another client's certificate");
}

#[test]
fn basic_authentication_and_device_sessions_over_https() {
    let dir = scratch("devices");
    let server = start_samd(&dir, None);
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    profile_and_client(
        &server,
        &dir,
        &client,
        "name = \"Devices\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 0\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );

    // HTTP Basic: a wrong secret is refused, the right one accepted.
    let wrong = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "not-the-secret"),
    ];
    let out = run(&server, &dir, &wrong, &["user", "create", "alice"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("client_authentication_failed"),
        "{}",
        stderr(&out)
    );
    for user in ["alice", "bob"] {
        ok(run(&server, &dir, &client, &["user", "create", user]));
        ok(run(
            &server,
            &dir,
            &client,
            &[
                "device",
                "enroll",
                "--user",
                user,
                "--device",
                &format!("{user}-phone"),
            ],
        ));
    }
    let key = ok(run(
        &server,
        &dir,
        &client,
        &["key", "generate", "alice", "--field", "key_id"],
    ));

    // An authorisation for alice (without certificate the key cannot sign; enough here).
    let request = authorise_raw(&server, "shop:a-secret-of-the-shop", "alice", &key, "a.txt");

    // Alice's device sees it; bob's device does not, cannot read alice's device's list, and
    // cannot decline it.
    let alice_pending = ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "pending",
            "--key-file",
            "alice-phone.device.json",
            "--json",
        ],
    ));
    assert!(alice_pending.contains(&request), "{alice_pending}");
    let bob_pending = ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "pending",
            "--key-file",
            "bob-phone.device.json",
            "--json",
        ],
    ));
    assert!(!bob_pending.contains(&request), "{bob_pending}");
    let bob_token = ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "session",
            "--key-file",
            "bob-phone.device.json",
            "--field",
            "token",
        ],
    ));
    let bearer = format!("Authorization: Bearer {bob_token}");
    let (status, text) = curl(
        &server,
        &["-H", &bearer],
        "/api/v1/devices/alice-phone/pending",
    );
    assert_eq!(status, 404, "{text}");
    assert!(!text.contains(&request));
    let (status, text) = curl(
        &server,
        &["-H", &bearer, "-X", "POST"],
        &format!("/api/v1/authorisations/{request}/decline"),
    );
    assert_eq!(status, 404, "{text}");
    let out = run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "bob-phone.device.json",
            &request,
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // A forged or absent token is refused.
    let (status, text) = curl(
        &server,
        &[
            "-H",
            "Authorization: Bearer v1~shop~bob-phone~99999999999~AAAA",
        ],
        "/api/v1/devices/bob-phone/pending",
    );
    assert_eq!(status, 401, "{text}");
    // Still pending for alice, who can decline it.
    let status_now = ok(run(
        &server,
        &dir,
        &client,
        &["status", &request, "--field", "status"],
    ));
    assert_eq!(status_now, "pending");
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "decline",
            "--key-file",
            "alice-phone.device.json",
            &request,
        ],
    ));
    let status_now = ok(run(
        &server,
        &dir,
        &client,
        &["status", &request, "--field", "status"],
    ));
    assert_eq!(status_now, "declined");

    // A raw signature approved on alice's device; a second Sign of it is a replay.
    let signed = authorise_raw(&server, "shop:a-secret-of-the-shop", "alice", &key, "b.txt");
    // A SAD that is not one is refused, and the request stays pending for the real answer.
    let alice_token = ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "session",
            "--key-file",
            "alice-phone.device.json",
            "--field",
            "token",
        ],
    ));
    let (status, text) = curl(
        &server,
        &[
            "-H",
            &format!("Authorization: Bearer {alice_token}"),
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"sad":"eyJhbGciOiJFUzI1NiJ9.e30.AAAA"}"#,
        ],
        &format!("/api/v1/authorisations/{signed}/sad"),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("sad_invalid"), "{text}");
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "alice-phone.device.json",
            &signed,
            "--yes",
        ],
    ));
    let sign_body = format!(r#"{{"request_id":"{signed}"}}"#);
    let sign_args = [
        "-u",
        "shop:a-secret-of-the-shop",
        "-H",
        "Content-Type: application/json",
        "--data",
        sign_body.as_str(),
    ];
    let (status, text) = curl(&server, &sign_args, "/api/v1/sign");
    assert_eq!(status, 200, "{text}");
    let (status, text) = curl(&server, &sign_args, "/api/v1/sign");
    assert_eq!(status, 409, "{text}");
    assert!(
        text.contains("request_not_authorised"),
        "signed once: {text}"
    );

    // Authorise now, sign later: two files under one request, finished with --request.
    std::fs::write(dir.join("one.txt"), "one").unwrap();
    std::fs::write(dir.join("two.txt"), "two").unwrap();
    let later = ok(run(
        &server,
        &dir,
        &client,
        &[
            "authorise",
            "--user",
            "alice",
            "--key",
            &key,
            "--format",
            "raw",
            "one.txt",
            "two.txt",
        ],
    ));
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "alice-phone.device.json",
            &later,
            "--yes",
        ],
    ));
    ok(run(
        &server,
        &dir,
        &client,
        &[
            "sign",
            "--request",
            &later,
            "--format",
            "raw",
            "one.txt",
            "two.txt",
        ],
    ));
    assert!(dir.join("one.txt.p7s").exists() && dir.join("two.txt.p7s").exists());

    // The metrics saw all of it.
    let (status, metrics) = curl(&server, &[], "/metrics");
    assert_eq!(status, 200);
    for line in [
        r#"sam_http_requests_total{method="POST",route="/api/v1/authorisations",status="201"} 3"#,
        r#"sam_http_requests_total{method="POST",route="/api/v1/sign",status="409"} 1"#,
        r#"sam_requests_total{action="decline_request",outcome="ok"} 1"#,
        r#"sam_signatures_total{key_spec="ECDSA P-256"} 3"#,
        r#"sam_sad_failures_total{reason="sad_invalid"} 1"#,
        r#"sam_requests_total{action="sign",outcome="ok"} 2"#,
        r#"sam_crypto_source_available{source="software"} 1"#,
        r#"sam_http_request_duration_seconds_count{method="POST",route="/api/v1/sign"} 3"#,
        // The software source keeps alice's key open (its key cache, on by default).
        r#"sam_crypto_source_open_keys{source="software"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    // SQLite's group commit committed every write transaction, each group holding one or more.
    let gauge = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} not in\n{metrics}"))
    };
    let (groups, grouped) = (
        gauge("sam_store_commit_groups"),
        gauge("sam_store_grouped_transactions"),
    );
    assert!(
        groups > 0 && grouped >= groups,
        "{groups} groups of {grouped}"
    );

    // 1,001 hashes (a SAD names at most 1,000): a clear error, and no request is made.
    let documents: Vec<String> = (0..1_001)
        .map(|i| format!(r#"{{"label":"d{i}","digest":"{DIGEST_B64}"}}"#))
        .collect();
    let body = format!(
        r#"{{"user_id":"alice","key_id":"{key}","hash_algorithm":"sha-256","format":"raw","documents":[{}]}}"#,
        documents.join(",")
    );
    let body_file = dir.join("big.json");
    std::fs::write(&body_file, body).unwrap();
    let (status, text) = curl(
        &server,
        &[
            "-u",
            "shop:a-secret-of-the-shop",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", body_file.display()),
        ],
        "/api/v1/authorisations",
    );
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("too_many_hashes") && text.contains("at most 1000"),
        "{text}"
    );
    let (status, text) = curl(
        &server,
        &["-u", "shop:a-secret-of-the-shop"],
        "/api/v1/authorisations?status=pending",
    );
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"requests":[],"next":null}"#)
    );
    // …and the refusal is in the audit log (SECURITY.md invariant 7).
    let audit = ok(run(
        &server,
        &dir,
        &[],
        &["admin", "audit", "export", "--limit", "10000", "--json"],
    ));
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "authorise"
                && r["outcome"] == "too_many_hashes"
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(" documents=1001 "))),
        "no audit record of the refusal"
    );
    assert_no_secret_in_logs(
        &server,
        &[
            "a-secret-of-the-shop",
            "not-the-secret",
            server.admin_token.as_str(),
            &bob_token,
            &alice_token,
        ],
    );
}

/// schemathesis (from the test venv) against `/openapi.json`: for every operation, generated
/// requests (bounded) get no 5xx and answers that match the documented statuses, content
/// types and schemas — once as a client with HTTP Basic, once as the operator.
/// `[software_source] key_cache_entries = 0`: every signature opens its key and none is kept
/// open — the setting reaches the software source (with the default, alice's key stays open:
/// `basic_authentication_and_device_sessions_over_https`).
#[test]
fn a_software_source_without_a_key_cache_keeps_no_key_open() {
    let dir = scratch("no-key-cache");
    let server = start_samd(
        &dir,
        Some(&|text: String| {
            text.replace(
                "[software_source]\n",
                "[software_source]\nkey_cache_entries = 0\n",
            )
        }),
    );
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    profile_and_client(
        &server,
        &dir,
        &client,
        "name = \"No cache\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    for request in approved_requests(&server, &dir, 2) {
        let (status, body) = post_json(
            &server,
            "shop:a-secret-of-the-shop",
            "/api/v1/sign",
            &format!(r#"{{"request_id":"{request}"}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, metrics) = curl(&server, &[], "/metrics");
    assert_eq!(status, 200);
    for line in [
        r#"sam_signatures_total{key_spec="ECDSA P-256"} 2"#,
        r#"sam_crypto_source_open_keys{source="software"} 0"#,
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
}

#[test]
fn the_api_keeps_to_its_openapi_document() {
    let dir = scratch("openapi");
    let server = start_samd(&dir, None);
    let sam = Sam::new(&server, "shop:shop-secret-12345678");
    sam.run(sam.admin.register_client(&ClientSettings {
        client_id: "shop".into(),
        ..ClientSettings::default()
    }));
    sam.run(sam.admin.set_client_secret("shop", "shop-secret-12345678"));
    let admin = format!("Authorization: Bearer {}", server.admin_token);
    let (status, document) = curl(&server, &[], "/openapi.json");
    assert_eq!(status, 200);
    let document: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/api/v1/sign"]["post"].is_object());
    for (paths, auth) in [
        ("^/api/v1", vec!["--auth", "shop:shop-secret-12345678"]),
        ("^/admin/v1", vec!["--header", admin.as_str()]),
    ] {
        let args = [&auth[..], &["--include-path-regex", paths]].concat();
        schemathesis(&server, &dir, "/openapi.json", &args);
    }
}

/// A PKCS#11 crypto source configured in samd (SoftHSM, from scripts/test): a profile on it
/// with keys in the separate signature slot, a key generated there, a raw signature approved
/// on the device, and `openssl pkeyutl -verify` accepting it under the key's public key.
#[test]
fn an_hsm_source_signs_in_its_signature_slot() {
    let source = softhsm_source("hsm");
    let dir = scratch("hsm");
    let hsm = move |text: String| {
        format!(
            "{text}{source}\n[[key_pools]]\nsource = \"hsm\"\nsize = 2\nrefill_secs = 1\n\
             key = {{ algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }}\n"
        )
    };
    let server = start_samd_with(&dir, Some(&hsm), &SOFTHSM_PINS);
    let client = [
        ("SAM_CLIENT_ID", "bank"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-bank"),
    ];
    profile_and_client(
        &server,
        &dir,
        &client,
        "name = \"HSM\"\n[signing_key]\ncrypto_profiles = [\"hsm\"]\nlocation = \"signature\"\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    let sources = ok(run(&server, &dir, &[], &["admin", "crypto-sources"]));
    assert!(sources.contains("hsm  available"), "{sources}");
    ok(run(&server, &dir, &client, &["user", "create", "carol"]));
    ok(run(
        &server,
        &dir,
        &client,
        &[
            "device",
            "enroll",
            "--user",
            "carol",
            "--device",
            "carol-phone",
        ],
    ));
    let key: serde_json::Value = serde_json::from_str(&ok(run(
        &server,
        &dir,
        &client,
        &["key", "generate", "carol", "--json"],
    )))
    .unwrap();
    let key_id = key["key_id"].as_str().unwrap();
    // The pool holds default-slot keys: a signature-slot profile never takes one.
    assert_eq!(key["from_pool"], false, "{key}");
    let request = authorise_raw(
        &server,
        "bank:a-secret-of-the-bank",
        "carol",
        key_id,
        "hsm.txt",
    );
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "carol-phone.device.json",
            &request,
            "--yes",
        ],
    ));
    let bank = Sam::new(&server, "bank:a-secret-of-the-bank");
    let signature = bank.run(bank.client.sign(&request)).remove(0);
    use base64ct::Encoding;
    let public_key = base64ct::Base64::decode_vec(key["public_key"].as_str().unwrap()).unwrap();
    std::fs::write(dir.join("sig.der"), &signature).unwrap();
    std::fs::write(dir.join("key.der"), &public_key).unwrap();
    std::fs::write(
        dir.join("digest.bin"),
        base64ct::Base64::decode_vec(DIGEST_B64).unwrap(),
    )
    .unwrap();
    let out = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            "key.der",
            "-in",
            "digest.bin",
            "-sigfile",
            "sig.der",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl pkeyutl -verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    // A profile keeping its keys in the default slot takes the pooled ones.
    std::fs::write(
        dir.join("pooled.toml"),
        "name = \"HSM pooled\"\n[signing_key]\ncrypto_profiles = [\"hsm\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    )
    .unwrap();
    let pooled_profile = ok(run(
        &server,
        &dir,
        &[],
        &["admin", "profile", "create", "pooled.toml", "--field", "id"],
    ));
    let pooled = [
        ("SAM_CLIENT_ID", "pooled"),
        ("SAM_CLIENT_SECRET", "a-secret-of-pooled"),
    ];
    ok(run(
        &server,
        &dir,
        &pooled,
        &[
            "admin",
            "client",
            "create",
            "pooled",
            "--profile",
            &pooled_profile,
            "--default-profile",
            &pooled_profile,
            "--secret-env",
            "SAM_CLIENT_SECRET",
        ],
    ));
    ok(run(&server, &dir, &pooled, &["user", "create", "dave"]));
    // The pool refills every second; it had time to fill while the rest ran.
    let mut from_pool = false;
    for _ in 0..50 {
        let key = ok(run(
            &server,
            &dir,
            &pooled,
            &["key", "generate", "dave", "--field", "from_pool"],
        ));
        if key == "true" {
            from_pool = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(from_pool, "no key came from the pool");
    assert_no_secret_in_logs(
        &server,
        &[
            SOFTHSM_PINS[0].1,
            SOFTHSM_PINS[1].1,
            "a-secret-of-the-bank",
            server.admin_token.as_str(),
        ],
    );
}

/// Two `samd` nodes on one PostgreSQL database (the scale-out of ARCHITECTURE.md): a profile
/// created through one node is served by the other after its reload; a request authorised
/// through one node, approved through the other, is signed once and only once.
#[test]
fn two_nodes_on_postgresql_share_profiles_and_spend_each_sad_once() {
    let database = PostgresDatabase::create("samd_e2e");
    let url = database.url.clone();
    let url_of_test = url.clone();
    let dir = scratch("nodes");
    let shared = move |text: String| {
        format!("{text}\n[database]\nurl = \"{url}\"\n\n[profiles]\nreload_secs = 1\n")
    };
    let one = start_samd(&dir, Some(&shared));
    // The second node: the same configuration (database, master key, instance), another port.
    let mut two = spawn(
        &[],
        &[
            "--config",
            one.data.join("samd.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    two.admin_token = one.admin_token.clone();
    two.data = one.data.clone();

    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    let profile = profile_and_client(
        &one,
        &dir,
        &client,
        "name = \"Nodes\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    // Node two serves the profile once it has reloaded (every second here).
    let (on_one, on_two) = (
        Sam::new(&one, "shop:a-secret-of-the-shop"),
        Sam::new(&two, "shop:a-secret-of-the-shop"),
    );
    let profile_id: u32 = profile.parse().unwrap();
    let mut served = false;
    for _ in 0..50 {
        if on_two
            .try_run(on_two.client.sam_profile(profile_id))
            .is_ok()
        {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(served, "node two never served profile {profile}");

    // Authorise on one, approve on two, sign on one; a second Sign on two is refused.
    ok(run(&one, &dir, &client, &["user", "create", "erin"]));
    ok(run(
        &two,
        &dir,
        &client,
        &[
            "device",
            "enroll",
            "--user",
            "erin",
            "--device",
            "erin-phone",
        ],
    ));
    let key = ok(run(
        &two,
        &dir,
        &client,
        &["key", "generate", "erin", "--field", "key_id"],
    ));
    std::fs::write(dir.join("n.txt"), "nodes").unwrap();
    let request = ok(run(
        &one,
        &dir,
        &client,
        &[
            "authorise",
            "--user",
            "erin",
            "--key",
            &key,
            "--format",
            "raw",
            "n.txt",
        ],
    ));
    ok(run(
        &two,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "erin-phone.device.json",
            &request,
            "--yes",
        ],
    ));
    assert_eq!(on_one.run(on_one.client.sign(&request)).len(), 1);
    let replayed = on_two.try_run(on_two.client.sign(&request)).unwrap_err();
    assert_eq!(replayed.status(), Some(409), "{replayed}");

    // The CSC API across the nodes: authorise on one, the device approves on two, the SAD
    // comes from two, an asynchronous signHash starts on one and its outcome is polled on two.
    let token = on_one
        .run(on_one.client.access_token("erin", false))
        .access_token;
    let bearer = format!("Authorization: Bearer {token}");
    let csc = |node: &Server, path: &str, body: &serde_json::Value| {
        let (status, text) = curl(
            node,
            &[
                "-X",
                "POST",
                "-H",
                &bearer,
                "-H",
                "Content-Type: application/json",
                "--data",
                &body.to_string(),
            ],
            path,
        );
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, value)
    };
    let hash = {
        use base64ct::Encoding as _;
        base64ct::Base64::encode_string(
            sam_algorithms::HashAlgorithm::Sha256
                .digest(b"a contract of two nodes")
                .as_bytes(),
        )
    };
    let (status, answer) = csc(
        &one,
        "/csc/v2/credentials/authorize",
        &serde_json::json!({"credentialID": key, "numSignatures": 1, "hashes": [hash]}),
    );
    assert_eq!(status, 202, "{answer}");
    let handle = answer["handle"].as_str().unwrap().to_owned();
    ok(run(
        &two,
        &dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "erin-phone.device.json",
            "--yes",
        ],
    ));
    let (status, answer) = csc(
        &two,
        "/csc/v2/credentials/authorizeCheck",
        &serde_json::json!({"handle": handle}),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = csc(
        &one,
        "/csc/v2/signatures/signHash",
        &serde_json::json!({
            "credentialID": key, "SAD": answer["SAD"], "hashes": [hash],
            "signAlgo": "1.2.840.10045.4.3.2", "operationMode": "A",
        }),
    );
    assert_eq!(status, 202, "{answer}");
    let response = serde_json::json!({"responseID": answer["responseID"]});
    let mut polled = None;
    for _ in 0..100 {
        let (status, answer) = csc(&two, "/csc/v2/signatures/signPolling", &response);
        match status {
            202 => std::thread::sleep(std::time::Duration::from_millis(100)),
            200 => {
                polled = Some(answer);
                break;
            }
            other => panic!("{other}: {answer}"),
        }
    }
    let polled = polled.expect("the outcome reached node two");
    assert_eq!(
        polled["signatures"].as_array().unwrap().len(),
        1,
        "{polled}"
    );
    // Both nodes wrote one audit chain, and it holds.
    let report = ok(run(
        &two,
        &dir,
        &[],
        &["admin", "audit", "verify", "--json"],
    ));
    assert!(report.contains("\"intact\": true"), "{report}");
    // An edited record is found and named (SECURITY.md invariant 6).
    sam_testkit::run_ok(
        "psql",
        &[
            url_of_test.as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            "UPDATE audit_records SET detail = 'edited' WHERE seq = 3",
        ],
    );
    let out = run(&one, &dir, &[], &["admin", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("record 3"),
        "the broken record is named: {}",
        stderr(&out)
    );
    drop(one);
    drop(two);
}
