//! The Cloud Signature Consortium API facade of a real `samd` (docs/csc.md), as a CSC client
//! sees it over HTTPS (curl): `info` for both versions, by POST and by GET, saying what the
//! configuration says and listing exactly the methods served and the algorithms the crypto
//! sources sign; refusals in CSC's `{"error", "error_description"}` form; access tokens from
//! `auth/login` in each of its three forms and from the native call, bound to their user and
//! client, and ended by `auth/revoke`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sam, assert_no_secret_in_logs, client_certificate, curl, scratch, start_samd};
use sam_client::{ClientSettings, NewUser};
use serde_json::Value;

fn call(server: &common::Server, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut args = vec!["-X", method];
    if let Some(body) = body {
        args.extend(["-H", "Content-Type: application/json", "--data", body]);
    }
    let (status, text) = curl(server, &args, path);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, value)
}

#[test]
fn info_tells_each_version_what_is_served() {
    let dir = scratch("csc-info");
    let named = |text: String| {
        format!(
            "{text}\n[csc]\nname = \"Example Trust Services\"\nregion = \"NL\"\n\
             logo = \"https://tsp.example/logo.png\"\n"
        )
    };
    let server = start_samd(&dir, Some(&named));

    for version in ["v1", "v2"] {
        let path = format!("/csc/{version}/info");
        let (status, posted) = call(&server, "POST", &path, Some(r#"{"lang":"en-US"}"#));
        assert_eq!(status, 200, "{posted}");
        // GET, for the clients that use it, and POST without a body answer the same.
        let (status, got) = call(&server, "GET", &path, None);
        assert_eq!((status, &got), (200, &posted));
        let (status, bare) = call(&server, "POST", &path, None);
        assert_eq!((status, &bare), (200, &posted));

        assert_eq!(posted["name"], "Example Trust Services");
        assert_eq!(posted["region"], "NL");
        assert_eq!(posted["lang"], "en-US");
        assert_eq!(posted["logo"], "https://tsp.example/logo.png");
        assert!(
            posted["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        // Exactly what is served, spelt as the spec spells it.
        assert_eq!(
            posted["methods"],
            serde_json::json!(["info", "auth/login", "auth/revoke"]),
            "{posted}"
        );
        assert_eq!(
            posted["authType"],
            serde_json::json!(["basic", "TLS"]),
            "{posted}"
        );
    }

    let (_, v1) = call(&server, "POST", "/csc/v1/info", Some("{}"));
    assert_eq!(v1["specs"], "1.0.4.0");
    assert!(v1.get("signAlgorithms").is_none(), "{v1}");

    let (_, v2) = call(&server, "POST", "/csc/v2/info", Some("{}"));
    assert_eq!(
        v2["specs"], "2.2.0.0",
        "the newest clients want exactly this"
    );
    assert_eq!(v2["asynchronousOperationMode"], false);
    let algos: Vec<&str> = v2["signAlgorithms"]["algos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The development setup's software source: RSA (PKCS#1 v1.5 and PSS), ECDSA, ML-DSA.
    for oid in [
        "1.2.840.113549.1.1.11",   // sha256WithRSAEncryption
        "1.2.840.113549.1.1.10",   // RSASSA-PSS
        "1.2.840.10045.4.3.2",     // ecdsa-with-SHA256
        "2.16.840.1.101.3.4.3.18", // ML-DSA-65
    ] {
        assert!(algos.contains(&oid), "{oid} missing from {algos:?}");
    }
    let mut unique = algos.clone();
    unique.dedup();
    assert_eq!(unique.len(), algos.len(), "each algorithm once: {algos:?}");
    let hashes = v2["supportedHashTypes"].as_array().unwrap();
    assert!(
        hashes.contains(&Value::from("2.16.840.1.101.3.4.2.1")),
        "SHA-256: {hashes:?}"
    );

    // Refusals in CSC's form.
    let (status, refused) = call(&server, "POST", "/csc/v2/info", Some("{"));
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].as_str().is_some());
    let (status, refused) = call(&server, "POST", "/csc/v2/credentials/list", Some("{}"));
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("info lists"),
        "{refused}"
    );
}

/// `call` with extra curl arguments (credentials, a client certificate).
fn call_as(server: &common::Server, auth: &[&str], path: &str, body: &str) -> (u16, Value) {
    let mut args = auth.to_vec();
    args.extend(["-H", "Content-Type: application/json", "--data", body]);
    let (status, text) = curl(server, &args, path);
    if text.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, value)
}

#[test]
fn access_tokens_speak_for_one_user_of_one_client() {
    let dir = scratch("csc-auth");
    // A lifetime of its own, to show the setting is the one applied.
    let lifetime = |text: String| format!("{text}\n[csc]\naccess_token_secs = 900\n");
    let server = start_samd(&dir, Some(&lifetime));
    let (cert, key) = client_certificate(&server, &dir, "shop");
    let cert_der = sam_testkit::run_ok(
        "openssl",
        &["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"],
    )
    .stdout;
    // "shop" is known by its certificate alone, and has a secret for Basic without it.
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    shop.run(shop.admin.register_client(&ClientSettings {
        client_id: "shop".into(),
        tls_certificates: vec![cert_der],
        basic_with_tls: Some(false),
        ..ClientSettings::default()
    }));
    shop.run(shop.admin.set_client_secret("shop", "shop-secret-1234"));
    let other = Sam::new(&server, "other:other-secret-1234");
    other.run(other.admin.register_client(&ClientSettings {
        client_id: "other".into(),
        ..ClientSettings::default()
    }));
    other.run(other.admin.set_client_secret("other", "other-secret-1234"));
    for user in ["alice", "bob"] {
        shop.run(shop.client.register_user(&NewUser {
            user_id: user.into(),
            password: Some(format!("{user} password 1")),
            ..NewUser::default()
        }));
    }
    let with_cert = [
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    let login = |auth: &[&str], version: &str, body: &str| {
        call_as(&server, auth, &format!("/csc/{version}/auth/login"), body)
    };
    let revoke = |token: &str, version: &str, body: &str| {
        let bearer = format!("Authorization: Bearer {token}");
        call_as(
            &server,
            &["-H", &bearer],
            &format!("/csc/{version}/auth/revoke"),
            body,
        )
    };
    // Whether `token` is live: revoking a token that is not the holder's ends nothing.
    let live = |token: &str| {
        let (status, answer) = revoke(token, "v2", r#"{"token":"sat1_not-a-token"}"#);
        match status {
            204 => true,
            401 => {
                assert_eq!(answer["error"], "invalid_token", "{answer}");
                false
            }
            other => panic!("{other}: {answer}"),
        }
    };

    // Form 1: the user's password, under the client's certificate; v1 and v2 alike.
    let mut alice = [&with_cert[..], &["-u", "alice:alice password 1"]].concat();
    let (status, v1) = login(&alice, "v1", "{}");
    assert_eq!(status, 200, "{v1}");
    assert_eq!(v1["expires_in"], 900);
    assert!(v1.get("refresh_token").is_none(), "{v1}");
    let (status, v2) = login(&alice, "v2", r#"{"rememberMe":true}"#);
    assert_eq!(status, 200, "{v2}");
    let refresh = v2["refresh_token"].as_str().unwrap().to_owned();
    let alice_token = v1["access_token"].as_str().unwrap().to_owned();
    assert!(live(&alice_token) && live(v2["access_token"].as_str().unwrap()));
    // A wrong password, no certificate, no credentials: refused in CSC's form.
    alice[with_cert.len() + 1] = "alice:wrong";
    let (status, refused) = login(&alice, "v1", "{}");
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("access_denied")),
        "{refused}"
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .starts_with("authentication_failed")
    );
    let (status, refused) = login(&["-u", "alice:alice password 1"], "v1", "{}");
    assert_eq!(status, 401, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{refused}"
    );
    let (status, _) = login(&with_cert, "v1", "{}");
    assert_eq!(status, 401);

    // Form 2: the business application's own Basic, naming its user.
    let shop_basic = ["-u", "shop:shop-secret-1234"];
    let (status, bob) = login(&shop_basic, "v2", r#"{"userID":"bob","rememberMe":true}"#);
    assert_eq!(status, 200, "{bob}");
    let bob_token = bob["access_token"].as_str().unwrap().to_owned();
    // Another client cannot log in shop's user, nor use shop's refresh token.
    let other_basic = ["-u", "other:other-secret-1234"];
    let (status, refused) = login(&other_basic, "v2", r#"{"userID":"bob"}"#);
    assert_eq!(status, 404, "{refused}");
    let (status, refused) = login(
        &other_basic,
        "v2",
        &format!(r#"{{"refresh_token":"{refresh}"}}"#),
    );
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_token")),
        "{refused}"
    );

    // Form 3: the refresh token, with the client's credentials (here its certificate).
    let (status, renewed) = login(
        &with_cert,
        "v1",
        &format!(r#"{{"refresh_token":"{refresh}"}}"#),
    );
    assert_eq!(status, 200, "{renewed}");
    assert!(
        !live(v2["access_token"].as_str().unwrap()),
        "refreshing replaces the access token"
    );
    assert!(live(renewed["access_token"].as_str().unwrap()));

    // The native call: the application obtains a token for its user.
    let native = shop.run(shop.client.access_token("alice", false));
    assert_eq!(native.expires_in, 900);
    assert!(live(&native.access_token));
    assert!(
        other
            .try_run(other.client.access_token("alice", false))
            .is_err()
    );

    // Revocation: alice cannot end bob's token; her own ends, and then speaks for nobody.
    let (status, _) = revoke(&alice_token, "v1", &format!(r#"{{"token":"{bob_token}"}}"#));
    assert_eq!(status, 204);
    assert!(live(&bob_token));
    let (status, _) = revoke(
        &alice_token,
        "v1",
        &format!(r#"{{"token":"{alice_token}","token_type_hint":"access_token"}}"#),
    );
    assert_eq!(status, 204);
    assert!(!live(&alice_token));
    let (status, refused) = revoke(
        &native.access_token,
        "v2",
        r#"{"token":"x","token_type_hint":"id_token"}"#,
    );
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_request")),
        "{refused}"
    );
    let (status, refused) = revoke("", "v2", r#"{"token":"x"}"#);
    assert_eq!(status, 401, "{refused}");
    // Revoking the refresh token ends its login.
    let (status, _) = revoke(
        renewed["access_token"].as_str().unwrap(),
        "v2",
        &format!(r#"{{"token":"{refresh}","token_type_hint":"refresh_token"}}"#),
    );
    assert_eq!(status, 204);
    assert!(!live(renewed["access_token"].as_str().unwrap()));

    // No token and no password reaches the log, and no token is stored as it is (the
    // database and its write-ahead log keep only keyed hashes).
    let secrets = [
        alice_token.as_str(),
        bob_token.as_str(),
        refresh.as_str(),
        native.access_token.as_str(),
    ];
    assert_no_secret_in_logs(&server, &[&secrets[..], &["alice password 1"]].concat());
    let mut read = 0;
    for file in ["sam.db", "sam.db-wal"] {
        let Ok(bytes) = std::fs::read(server.data.join(file)) else {
            continue;
        };
        read += bytes.len();
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a token in {file}"
            );
        }
    }
    assert!(read > 0, "the database files were read");
}
