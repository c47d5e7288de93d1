//! The Cloud Signature Consortium API facade of a real `samd` (docs/csc.md), as a CSC client
//! sees it over HTTPS (curl): `info` for both versions, by POST and by GET, saying what the
//! configuration says and listing exactly the methods served and the algorithms the crypto
//! sources sign; refusals in CSC's `{"error", "error_description"}` form; access tokens from
//! `auth/login` in each of its three forms and from the native call, bound to their user and
//! client, and ended by `auth/revoke`; `credentials/list` and `credentials/info` showing a
//! token's user's keys, certificates and ways to authorise, and nobody else's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    Sam, assert_no_secret_in_logs, client_certificate, curl, ok, python_script, run, schemathesis,
    scratch, start_samd,
};
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
        // Exactly what is served, spelt as the spec spells it; authorizeCheck and signPolling
        // are v2's only.
        let mut methods = vec![
            "info",
            "auth/login",
            "auth/revoke",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "credentials/sendOTP",
            "credentials/extendTransaction",
            "signatures/signHash",
        ];
        if version == "v2" {
            methods.extend([
                "credentials/authorizeCheck",
                "signatures/signPolling",
                "signatures/signDoc",
            ]);
        }
        assert_eq!(posted["methods"], serde_json::json!(methods), "{posted}");
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
    assert_eq!(v2["asynchronousOperationMode"], true);
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

    // Refusals in CSC's form, those made before a call runs included: a body over the limit
    // (4 MiB), declared or found only by reading a chunked one.
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 5 * 1024 * 1024]).unwrap();
    let big_arg = format!("@{}", big.display());
    for chunked in [false, true] {
        let mut args = vec!["-X", "POST", "--data-binary", big_arg.as_str()];
        if chunked {
            args.extend(["-H", "Transfer-Encoding: chunked"]);
        }
        let (status, text) = curl(&server, &args, "/csc/v1/info");
        let refused: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(status, 413, "{refused}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap()
                .starts_with("payload_too_large"),
            "chunked {chunked}: {refused}"
        );
        assert!(refused["error"].is_string(), "{refused}");
    }
    let (status, refused) = call(&server, "POST", "/csc/v2/info", Some("{"));
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].as_str().is_some());
    // A method not implemented, and one not served without a time-stamp authority.
    for method in [
        "/csc/v2/credentials/getChallenge",
        "/csc/v1/signatures/timestamp",
    ] {
        let (status, refused) = call(&server, "POST", method, Some("{}"));
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

/// `openssl` in `dir`; its standard output.
fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What follows `name=` in openssl's output.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .trim()
        .to_owned()
}

/// A certificate for the public key `spki_der` from the development CA (OpenSSL), written to
/// `dir/<name>.pem`, serial `0x00C0FFEE42`: (certificate DER, CA certificate DER).
fn issue(
    server: &common::Server,
    dir: &std::path::Path,
    name: &str,
    spki_der: &[u8],
    subject: &str,
) -> (Vec<u8>, Vec<u8>) {
    let spki = format!("{name}.spki.der");
    let public = format!("{name}.pub.pem");
    let pem = format!("{name}.pem");
    let extensions = format!("{name}.ext");
    // A v3 signing certificate: what a PDF validator checks the key usage of.
    std::fs::write(
        dir.join(&extensions),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    std::fs::write(dir.join(&spki), spki_der).unwrap();
    openssl(
        dir,
        &[
            "pkey", "-pubin", "-inform", "DER", "-in", &spki, "-out", &public,
        ],
    );
    let ca = server.data.join("dev-ca");
    let (ca_pem, ca_key) = (ca.join("ca.pem"), ca.join("ca.key"));
    openssl(
        dir,
        &[
            "x509",
            "-new",
            "-force_pubkey",
            &public,
            "-subj",
            subject,
            "-CA",
            ca_pem.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-set_serial",
            "0x00C0FFEE42",
            "-days",
            "30",
            "-extfile",
            &extensions,
            "-out",
            &pem,
        ],
    );
    let der = |pem: &std::path::Path, out: &str| {
        openssl(
            dir,
            &[
                "x509",
                "-in",
                pem.to_str().unwrap(),
                "-outform",
                "DER",
                "-out",
                out,
            ],
        );
        std::fs::read(dir.join(out)).unwrap()
    };
    (
        der(&dir.join(&pem), &format!("{name}.der")),
        der(&ca_pem, "ca.der"),
    )
}

#[test]
fn credentials_are_the_token_users_own() {
    use base64ct::{Base64, Encoding};
    let dir = scratch("csc-credentials");
    let server = start_samd(&dir, None);
    // A SCAL1 ECDSA profile that signs up to five hashes at once, and a SCAL2 RSA-PSS one.
    let profile = |file: &str, text: &str| -> u32 {
        std::fs::write(dir.join(file), text).unwrap();
        ok(run(
            &server,
            &dir,
            &[],
            &["admin", "profile", "create", file, "--field", "id"],
        ))
        .parse()
        .unwrap()
    };
    let scal1 = profile(
        "scal1.toml",
        "name = \"CSC SCAL1\"\ndescription = \"Advanced signatures by PIN or OTP\"\n\
         [signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 5\nscal = \"scal1\"\n",
    );
    let scal2 = profile(
        "scal2.toml",
        "name = \"CSC SCAL2\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"rsa\", key_length = 2048 }\npadding = \"pss\"\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    let other = Sam::new(&server, "other:other-secret-1234");
    for (sam, id) in [(&shop, "shop"), (&other, "other")] {
        sam.run(sam.admin.register_client(&ClientSettings {
            client_id: id.into(),
            selected_profiles: Some(vec![scal1, scal2]),
            default_profile: Some(scal1),
            ..ClientSettings::default()
        }));
        sam.run(
            sam.admin
                .set_client_secret(id, &format!("{id}-secret-1234")),
        );
    }
    // Alice can get OTPs by text message; bob has only his password. The other client has
    // a user of the same id, with a key of her own.
    shop.run(shop.client.register_user(&NewUser {
        user_id: "alice".into(),
        password: Some("alice password 1".into()),
        mobile: Some("+31600000001".into()),
        ..NewUser::default()
    }));
    for sam in [&shop, &other] {
        sam.run(
            sam.client.register_user(&NewUser {
                user_id: if std::ptr::eq(sam, &shop) {
                    "bob"
                } else {
                    "alice"
                }
                .into(),
                password: Some("a password 1".into()),
                ..NewUser::default()
            }),
        );
    }
    let ec = shop.run(shop.client.generate_key("alice", Some(scal1)));
    let rsa = shop.run(shop.client.generate_key("alice", Some(scal2)));
    let others = other.run(other.client.generate_key("alice", Some(scal1)));
    assert!(ec.key_id != rsa.key_id);

    // The EC key's certificate, issued by the development CA with OpenSSL.
    let (cert_der, ca_der) = issue(
        &server,
        &dir,
        "ec",
        &ec.public_key,
        "/C=NL/O=Example, Inc./CN=Alice Example",
    );
    shop.run(
        shop.client
            .import_certificate(&ec.key_id, &cert_der, std::slice::from_ref(&ca_der)),
    );
    let facts = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "ec.pem",
            "-noout",
            "-serial",
            "-issuer",
            "-subject",
            "-nameopt",
            "RFC2253",
            "-startdate",
            "-enddate",
            "-dateopt",
            "iso_8601",
        ],
    );
    let generalized = |iso: String| iso.replace(['-', ' ', ':'], "");

    let alice = shop
        .run(shop.client.access_token("alice", false))
        .access_token;
    let bob = shop
        .run(shop.client.access_token("bob", false))
        .access_token;
    let other_alice = other
        .run(other.client.access_token("alice", false))
        .access_token;
    let csc = |token: &str, path: &str, body: &str| {
        let bearer = format!("Authorization: Bearer {token}");
        call_as(&server, &["-H", &bearer], path, body)
    };

    // list: the token's user's keys in id order, paged; nobody else's.
    let mut ids = vec![ec.key_id.clone(), rsa.key_id.clone()];
    ids.sort();
    for version in ["v1", "v2"] {
        let path = format!("/csc/{version}/credentials/list");
        let (status, listed) = csc(&alice, &path, "{}");
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["credentialIDs"], serde_json::json!(ids), "{listed}");
        assert!(listed.get("nextPageToken").is_none(), "{listed}");
        let (_, first) = csc(&alice, &path, r#"{"maxResults":1}"#);
        assert_eq!(first["credentialIDs"], serde_json::json!([ids[0]]));
        let token = first["nextPageToken"].as_str().unwrap();
        let (_, second) = csc(
            &alice,
            &path,
            &format!(r#"{{"maxResults":1,"pageToken":"{token}"}}"#),
        );
        assert_eq!(second["credentialIDs"], serde_json::json!([ids[1]]));
        // Naming her own id is allowed; naming another user is refused, not answered.
        let (status, _) = csc(&alice, &path, r#"{"userID":"alice"}"#);
        assert_eq!(status, 200);
        let (status, refused) = csc(&alice, &path, r#"{"userID":"bob"}"#);
        assert_eq!(
            (status, refused["error"].as_str()),
            (400, Some("invalid_request")),
            "{refused}"
        );
        let (_, listed) = csc(&bob, &path, "{}");
        assert_eq!(listed["credentialIDs"], serde_json::json!([]), "{listed}");
        // The other client's alice is another person: she sees her own key only.
        let (_, listed) = csc(&other_alice, &path, "{}");
        assert_eq!(
            listed["credentialIDs"],
            serde_json::json!([others.key_id]),
            "{listed}"
        );
        let (status, refused) = csc("sat1_nothing", &path, "{}");
        assert_eq!(
            (status, refused["error"].as_str()),
            (401, Some("invalid_token"))
        );
        let (status, refused) = csc(&alice, &path, r#"{"maxResults":0}"#);
        assert_eq!(status, 400, "{refused}");

        // info of another user's or client's key: not found, as a missing one.
        let info = format!("/csc/{version}/credentials/info");
        for (token, key) in [
            (&bob, &ec.key_id),
            (&other_alice, &ec.key_id),
            (&alice, &others.key_id),
        ] {
            let (status, refused) = csc(token, &info, &format!(r#"{{"credentialID":"{key}"}}"#));
            assert_eq!(
                (status, refused["error"].as_str()),
                (404, Some("invalid_request")),
                "{refused}"
            );
        }
        let (status, _) = csc(&alice, &info, "{}");
        assert_eq!(status, 400, "credentialID is required");
        let (status, _) = csc(
            &alice,
            &info,
            &format!(r#"{{"credentialID":"{}","certificates":"all"}}"#, ec.key_id),
        );
        assert_eq!(status, 400, "certificates is none, single or chain");
    }

    // info of the EC key, everything asked: the certificate as OpenSSL reads it.
    let ask = |version: &str, key: &str, extra: &str| {
        let (status, info) = csc(
            &alice,
            &format!("/csc/{version}/credentials/info"),
            &format!(r#"{{"credentialID":"{key}"{extra}}}"#),
        );
        assert_eq!(status, 200, "{info}");
        info
    };
    let all = r#","certificates":"chain","certInfo":true,"authInfo":true"#;
    let v1 = ask("v1", &ec.key_id, all);
    assert_eq!(v1["key"]["status"], "enabled");
    assert_eq!(
        v1["key"]["algo"],
        serde_json::json!(["1.2.840.10045.2.1", "1.2.840.10045.4.3.2"]),
        "id-ecPublicKey and ecdsa-with-SHA256"
    );
    assert_eq!(v1["key"]["len"], 256);
    assert_eq!(v1["key"]["curve"], "1.2.840.10045.3.1.7", "P-256");
    let cert = &v1["cert"];
    assert_eq!(cert["status"], "valid");
    let chain: Vec<Vec<u8>> = cert["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Base64::decode_vec(c.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(chain, vec![cert_der.clone(), ca_der.clone()]);
    assert_eq!(cert["serialNumber"], field(&facts, "serial"));
    assert_eq!(cert["serialNumber"], "C0FFEE42");
    assert_eq!(cert["issuerDN"], field(&facts, "issuer"));
    assert_eq!(cert["subjectDN"], field(&facts, "subject"));
    assert_eq!(cert["subjectDN"], "CN=Alice Example,O=Example\\, Inc.,C=NL");
    assert_eq!(cert["validFrom"], generalized(field(&facts, "notBefore")));
    assert_eq!(cert["validTo"], generalized(field(&facts, "notAfter")));
    assert_eq!(v1["SCAL"], "1");
    assert_eq!(v1["multisign"], 5);
    assert_eq!(v1["lang"], "en-US");
    assert_eq!(v1["description"], "Advanced signatures by PIN or OTP");
    assert_eq!(v1["authMode"], "explicit");
    assert_eq!(v1["PIN"]["presence"], "optional", "{v1}");
    assert_eq!(v1["PIN"]["format"], "A");
    assert_eq!(v1["OTP"]["presence"], "optional");
    assert_eq!(v1["OTP"]["type"], "online");
    assert!(v1.get("auth").is_none(), "v1 has no auth object: {v1}");
    // Less asked, less told.
    let v1 = ask("v1", &ec.key_id, "");
    assert_eq!(v1["cert"]["certificates"].as_array().unwrap().len(), 1);
    assert!(v1["cert"].get("subjectDN").is_none(), "{v1}");
    assert!(
        v1.get("PIN").is_none() && v1["authMode"] == "explicit",
        "{v1}"
    );
    let v1 = ask("v1", &ec.key_id, r#","certificates":"none""#);
    assert!(v1["cert"].get("certificates").is_none(), "{v1}");

    let v2 = ask("v2", &ec.key_id, all);
    assert_eq!(v2["auth"]["mode"], "explicit");
    assert_eq!(v2["auth"]["expression"], "PIN OR OTP");
    let objects: Vec<&str> = v2["auth"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["PIN", "OTP"]);
    assert!(
        v2.get("authMode").is_none() && v2.get("PIN").is_none(),
        "{v2}"
    );
    assert_eq!(v2["SCAL"], "1");
    let v2 = ask("v2", &ec.key_id, "");
    assert!(v2["auth"].get("objects").is_none(), "{v2}");

    // The SCAL2 RSA-PSS key: the user's device approves; it has no certificate yet.
    let v1 = ask("v1", &rsa.key_id, all);
    assert_eq!(
        v1["key"]["algo"],
        serde_json::json!(["1.2.840.113549.1.1.10"]),
        "RSASSA-PSS only: {v1}"
    );
    assert_eq!(v1["key"]["len"], 2048);
    assert!(v1["key"].get("curve").is_none());
    assert!(v1.get("cert").is_none(), "no certificate: {v1}");
    assert_eq!((&v1["SCAL"], &v1["multisign"]), (&"2".into(), &1.into()));
    assert_eq!(v1["authMode"], "implicit");
    assert!(v1.get("PIN").is_none() && v1.get("OTP").is_none(), "{v1}");
    let v2 = ask("v2", &rsa.key_id, all);
    assert_eq!(
        v2["auth"],
        serde_json::json!({"mode": "explicit", "expression": "", "objects": []})
    );

    // v2 list with the credentials' information, only the valid ones: the EC key alone.
    let (_, listed) = csc(
        &alice,
        "/csc/v2/credentials/list",
        r#"{"credentialInfo":true,"certInfo":true,"onlyValid":true}"#,
    );
    assert_eq!(
        listed["credentialIDs"],
        serde_json::json!([ec.key_id]),
        "{listed}"
    );
    assert_eq!(listed["onlyValid"], true);
    let infos = listed["credentialInfos"].as_array().unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0]["credentialID"], ec.key_id.as_str());
    assert_eq!(infos[0]["cert"]["subjectDN"], field(&facts, "subject"));
    // v1 knows none of these: its answer is the ids.
    let (_, listed) = csc(
        &alice,
        "/csc/v1/credentials/list",
        r#"{"credentialInfo":true,"onlyValid":true}"#,
    );
    assert_eq!(listed["credentialIDs"], serde_json::json!(ids));
    assert!(
        listed.get("credentialInfos").is_none() && listed.get("onlyValid").is_none(),
        "{listed}"
    );

    // A key whose profile the client no longer has is listed, disabled.
    shop.run(shop.admin.edit_client(&ClientSettings {
        client_id: "shop".into(),
        selected_profiles: Some(vec![scal1]),
        default_profile: Some(scal1),
        ..ClientSettings::default()
    }));
    let v2 = ask("v2", &rsa.key_id, "");
    assert_eq!(v2["key"]["status"], "disabled", "{v2}");

    // Each call is audited as its sam request type, for its user: a list as Get
    // Certificates, an info as Get Certificate, refusals included.
    let audit = shop.run(shop.admin.audit(1, 10000));
    let count = |action: &str, outcome: &str| {
        audit
            .iter()
            .filter(|r| {
                r.client_id == "shop"
                    && r.actor == "alice"
                    && r.action == action
                    && r.outcome == outcome
                    && r.detail.contains("credential")
            })
            .count()
    };
    assert!(count("get_certificates", "ok") >= 10, "{audit:?}");
    assert!(count("get_certificate", "ok") >= 8, "{audit:?}");
    assert!(count("get_certificate", "not_found") >= 2, "{audit:?}");
}

/// Registers the client `id` (secret `<id>-secret-1234`) with `profiles`, the first its
/// default.
fn register_client(sam: &Sam, id: &str, profiles: &[u32]) {
    sam.run(sam.admin.register_client(&ClientSettings {
        client_id: id.into(),
        selected_profiles: Some(profiles.to_vec()),
        default_profile: profiles.first().copied(),
        ..ClientSettings::default()
    }));
    sam.run(
        sam.admin
            .set_client_secret(id, &format!("{id}-secret-1234")),
    );
}

/// Creates the SAM profile `text` (TOML, written to `dir/file`): its id.
fn create_profile(server: &common::Server, dir: &std::path::Path, file: &str, text: &str) -> u32 {
    std::fs::write(dir.join(file), text).unwrap();
    ok(run(
        server,
        dir,
        &[],
        &["admin", "profile", "create", file, "--field", "id"],
    ))
    .parse()
    .unwrap()
}

#[test]
fn a_csc_client_signs_by_pin_and_otp_on_both_versions() {
    let dir = scratch("csc-pin");
    let server = start_samd(&dir, None);
    let ec_profile = create_profile(
        &server,
        &dir,
        "ec.toml",
        "name = \"SCAL1 ECDSA\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 5\nscal = \"scal1\"\n",
    );
    let pss_profile = create_profile(
        &server,
        &dir,
        "pss.toml",
        "name = \"SCAL1 RSA-PSS\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"rsa\", key_length = 2048 }\npadding = \"pss\"\n\
         bulk_signing = true\nmax_hashes_per_request = 5\nscal = \"scal1\"\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    register_client(&shop, "shop", &[ec_profile, pss_profile]);
    let pin = "alice pin 4711";
    for (user, password) in [("alice", pin), ("bob", "bob pin 0815")] {
        shop.run(shop.client.register_user(&NewUser {
            user_id: user.into(),
            password: Some(password.into()),
            // Alice's OTPs go by text message (to the development mailbox).
            mobile: (user == "alice").then(|| "+31600000042".into()),
            ..NewUser::default()
        }));
    }
    let ec = shop.run(shop.client.generate_key("alice", Some(ec_profile)));
    let pss = shop.run(shop.client.generate_key("alice", Some(pss_profile)));
    let bobs = shop.run(shop.client.generate_key("bob", Some(ec_profile)));
    for (key, name) in [(&ec, "ec"), (&pss, "pss"), (&bobs, "bob")] {
        let (cert, ca) = issue(&server, &dir, name, &key.public_key, &format!("/CN={name}"));
        shop.run(
            shop.client
                .import_certificate(&key.key_id, &cert, std::slice::from_ref(&ca)),
        );
    }
    let alice = shop
        .run(shop.client.access_token("alice", false))
        .access_token;
    let bob = shop
        .run(shop.client.access_token("bob", false))
        .access_token;
    let config = serde_json::json!({
        "server": server.address,
        "ca": server.data.join("dev-ca/ca.pem"),
        "pin": pin,
        "mailbox": server.data.join("notifications.jsonl"),
        "alice": alice,
        "bob": bob,
        "ec": ec.key_id,
        "pss": pss.key_id,
        "other_ec": bobs.key_id,
    });
    let config_file = dir.join("csc-client.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let stdout = python_script("csc_client.py", &[&config_file]);
    assert!(
        stdout.contains("v1: ok") && stdout.contains("v2: ok"),
        "{stdout}"
    );

    // Every signature was counted and audited as a Sign; the PIN is in no log.
    let audit = shop.run(shop.admin.audit(1, 10000));
    let signs = audit
        .iter()
        .filter(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "alice")
        .count();
    assert_eq!(signs, 7, "three Signs per version and one asynchronous");
    assert!(
        audit.iter().any(|r| r.action == "submit_sad"
            && r.actor == "sam"
            && r.detail.contains("method=pin")),
        "sam signed the SADs itself"
    );
    assert_no_secret_in_logs(&server, &[pin, &alice, &bob]);
}

#[test]
fn a_csc_client_signs_after_the_users_device_approves() {
    let dir = scratch("csc-device");
    // A short bound for CSC 1.0.4.0's wait, so that its timeout is quick to see.
    let wait = |text: String| format!("{text}\n[csc]\nauthorize_wait_secs = 3\n");
    let server = start_samd(&dir, Some(&wait));
    let scal2 = create_profile(
        &server,
        &dir,
        "scal2.toml",
        "name = \"SCAL2 ECDSA\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 5\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    register_client(&shop, "shop", &[scal2]);
    let pin = "alice pin 4711";
    for (user, password) in [("alice", pin), ("bob", "bob pin 0815")] {
        shop.run(shop.client.register_user(&NewUser {
            user_id: user.into(),
            password: Some(password.into()),
            ..NewUser::default()
        }));
    }
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "shop-secret-1234"),
    ];
    ok(run(
        &server,
        &dir,
        &client,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = shop.run(shop.client.generate_key("alice", Some(scal2)));
    let (cert, ca) = issue(&server, &dir, "alice", &key.public_key, "/CN=alice");
    shop.run(
        shop.client
            .import_certificate(&key.key_id, &cert, std::slice::from_ref(&ca)),
    );
    let alice = shop
        .run(shop.client.access_token("alice", false))
        .access_token;
    let bob = shop
        .run(shop.client.access_token("bob", false))
        .access_token;
    let config = serde_json::json!({
        "server": server.address,
        "ca": server.data.join("dev-ca/ca.pem"),
        "pin": pin,
        "alice": alice,
        "bob": bob,
        "device": {
            "credential": key.key_id,
            "samctl": common::samctl(),
            "key_file": "phone.device.json",
            "cwd": dir,
            "env": {
                "SAM_SERVER": format!("https://{}", server.address),
                "SAM_CA": server.data.join("dev-ca/ca.pem"),
            },
        },
    });
    let config_file = dir.join("csc-device.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let stdout = python_script("csc_client.py", &[&config_file]);
    assert!(
        stdout.contains("v1 device: ok") && stdout.contains("v2 device: ok"),
        "{stdout}"
    );
    // The SADs came from the device; every signature is a Sign of alice's.
    let audit = shop.run(shop.admin.audit(1, 10000));
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "alice")
            .count(),
        2
    );
    assert!(
        !audit
            .iter()
            .any(|r| r.action == "submit_sad" && r.actor == "sam"),
        "sam signs no SAD under SCAL2"
    );
}

#[test]
fn a_csc_client_signs_cades_documents_with_sign_doc() {
    let dir = scratch("csc-sign-doc");
    // samd with a time-stamp authority (openssl ts behind a local HTTP server), for B-T.
    let tsa = sam_testkit::LocalTsa::start(sam_testkit::TsaBehaviour::Honest);
    let url = tsa.url.clone();
    let with_tsa = move |text: String| {
        assert!(text.contains("[signing]\n"), "{text}");
        text.replacen(
            "[signing]\n",
            &format!("[signing]\ntsa_url = \"{url}\"\n"),
            1,
        )
    };
    let server = start_samd(&dir, Some(&with_tsa));
    let profile = create_profile(
        &server,
        &dir,
        "cades.toml",
        "name = \"SCAL1 CAdES\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 5\nscal = \"scal1\"\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    register_client(&shop, "shop", &[profile]);
    let pin = "alice pin 4711";
    for (user, password) in [("alice", pin), ("bob", "bob pin 0815")] {
        shop.run(shop.client.register_user(&NewUser {
            user_id: user.into(),
            password: Some(password.into()),
            ..NewUser::default()
        }));
    }
    let key = shop.run(shop.client.generate_key("alice", Some(profile)));
    let (cert, ca) = issue(&server, &dir, "alice", &key.public_key, "/CN=alice");
    shop.run(
        shop.client
            .import_certificate(&key.key_id, &cert, std::slice::from_ref(&ca)),
    );
    let token = |user: &str| shop.run(shop.client.access_token(user, false)).access_token;
    let pki = sam_testkit::Pki::get();
    let config = serde_json::json!({
        "server": server.address,
        "ca": server.data.join("dev-ca/ca.pem"),
        "pin": pin,
        "alice": token("alice"),
        "bob": token("bob"),
        "ec": key.key_id,
        "dir": dir,
        "tsa_ca": pki.ca_pem,
        "tsa_pem": pki.tsa_pem,
    });
    let config_file = dir.join("csc-sign-doc.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let stdout = python_script("csc_sign_doc.py", &[&config_file]);
    assert!(stdout.contains("signDoc: ok"), "{stdout}");
    // The B-T SAD signed two documents: two time-stamps, each over its signature value.
    assert_eq!(
        *tsa.requests.lock().unwrap(),
        2,
        "one time-stamp per B-T signature"
    );

    // Each signDoc that signed was one Sign of alice's key, after sam checked her PIN.
    let audit = shop.run(shop.admin.audit(1, 10000));
    let signs = audit
        .iter()
        .filter(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "alice")
        .count();
    assert_eq!(
        signs, 5,
        "B-B twice, B-T, the reordered documents, the last"
    );

    time_stamps_through_csc(&server, &dir, &token("alice"));
    assert_eq!(
        *tsa.requests.lock().unwrap(),
        2 + 2,
        "one TSA call per token"
    );
    let audit = shop.run(shop.admin.audit(1, 10000));
    let stamps: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| r.action == "time_stamp")
        .map(|r| (r.actor.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        stamps,
        [("alice", "ok"), ("alice", "ok")],
        "refusals of malformed bodies come before the service"
    );
}

/// `signatures/timestamp` on both versions of a samd with a TSA: listed in `info`, a token
/// over the hash the client sent, with its nonce, that `openssl ts -verify` accepts for the
/// document; each version's field names only.
fn time_stamps_through_csc(server: &common::Server, dir: &std::path::Path, token: &str) {
    use base64ct::{Base64, Encoding};
    use sam_algorithms::HashAlgorithm;

    for version in ["v1", "v2"] {
        let (_, info) = call(server, "POST", &format!("/csc/{version}/info"), None);
        assert!(
            info["methods"]
                .as_array()
                .unwrap()
                .contains(&Value::from("signatures/timestamp")),
            "{info}"
        );
    }
    let bearer = format!("Authorization: Bearer {token}");
    let document = b"a document the signature application hashed itself";
    for (path, body, nonce) in [
        (
            "/csc/v1/signatures/timestamp",
            serde_json::json!({
                "hash": Base64::encode_string(HashAlgorithm::Sha256.digest(document).as_bytes()),
                "hashAlgo": "2.16.840.1.101.3.4.2.1",
                "nonce": "c0ffee0123456789ab",
                "clientData": "12345678",
            }),
            Some("0xC0FFEE0123456789AB"),
        ),
        (
            "/csc/v2/signatures/timestamp",
            serde_json::json!({
                "hash": Base64::encode_string(HashAlgorithm::Sha512.digest(document).as_bytes()),
                "hashAlgorithmOID": "2.16.840.1.101.3.4.2.3",
            }),
            None,
        ),
    ] {
        let (status, answer) = call_as(server, &["-H", &bearer], path, &body.to_string());
        assert_eq!(status, 200, "{path}: {answer}");
        let der = Base64::decode_vec(answer["timestamp"].as_str().unwrap()).unwrap();
        let out = sam_testkit::openssl_ts_verify(&der, document);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{path}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.join("csc-token.der");
        std::fs::write(&file, &der).unwrap();
        let text = openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-in",
                file.to_str().unwrap(),
                "-token_in",
                "-token_out",
                "-text",
            ],
        );
        if let Some(nonce) = nonce {
            assert!(text.contains(&format!("Nonce: {nonce}")), "{text}");
        }
    }
    let sha256 = Base64::encode_string(HashAlgorithm::Sha256.digest(document).as_bytes());
    for (path, body, why) in [
        (
            "/csc/v1/signatures/timestamp",
            serde_json::json!({"hash": sha256, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}),
            "hashAlgorithmOID is a field of CSC API 2.2.0.0",
        ),
        (
            "/csc/v2/signatures/timestamp",
            serde_json::json!({"hash": sha256, "hashAlgo": "2.16.840.1.101.3.4.2.1"}),
            "hashAlgo is a field of CSC API 1.0.4.0",
        ),
        (
            "/csc/v2/signatures/timestamp",
            serde_json::json!({"hash": sha256, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.3"}),
            "Invalid digest value length",
        ),
        (
            "/csc/v2/signatures/timestamp",
            serde_json::json!({"hash": sha256, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                               "nonce": "0x12"}),
            "Invalid parameter nonce",
        ),
    ] {
        let (status, refused) = call_as(server, &["-H", &bearer], path, &body.to_string());
        assert_eq!(
            (status, refused["error"].as_str()),
            (400, Some("invalid_request"))
        );
        assert!(
            refused["error_description"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }
    let (status, refused) = call_as(
        server,
        &[],
        "/csc/v2/signatures/timestamp",
        &serde_json::json!({"hash": sha256, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"})
            .to_string(),
    );
    assert_eq!(status, 401, "{refused}");
}

#[test]
fn a_pdf_signer_from_pypi_signs_through_csc_v1() {
    let dir = scratch("csc-pdf");
    let server = start_samd(&dir, None);
    let profile = create_profile(
        &server,
        &dir,
        "pdf.toml",
        "name = \"SCAL1 PDF\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         scal = \"scal1\"\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    register_client(&shop, "shop", &[profile]);
    let pin = "carol pin 2718";
    shop.run(shop.client.register_user(&NewUser {
        user_id: "carol".into(),
        password: Some(pin.into()),
        ..NewUser::default()
    }));
    let key = shop.run(shop.client.generate_key("carol", Some(profile)));
    let (cert, ca) = issue(&server, &dir, "pdf", &key.public_key, "/O=Example/CN=pdf");
    shop.run(
        shop.client
            .import_certificate(&key.key_id, &cert, std::slice::from_ref(&ca)),
    );
    let token = shop
        .run(shop.client.access_token("carol", false))
        .access_token;
    let config = serde_json::json!({
        "server": server.address,
        "ca": server.data.join("dev-ca/ca.pem"),
        "token": token,
        "credential": key.key_id,
        "pin": pin,
    });
    let config_file = dir.join("csc-pdf.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let signed = dir.join("signed.pdf");
    let stdout = python_script("csc_pdf.py", &[&config_file, &signed]);
    assert!(stdout.contains("signed and validated"), "{stdout}");

    // poppler's pdfsig, an independent validator (NSS underneath): the signature is valid and
    // covers the whole document. It does not know the development CA, so it may say the
    // issuer is not trusted; that is not what is checked here.
    let pdfsig = std::process::Command::new("pdfsig")
        .arg(&signed)
        .output()
        .expect("pdfsig (poppler-utils; scripts/test installs it)");
    let report = String::from_utf8_lossy(&pdfsig.stdout);
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "pdfsig: {report}\n{}",
        String::from_utf8_lossy(&pdfsig.stderr)
    );
    assert!(
        report.contains("The signature form field is signed by the whole document")
            || report.contains("Total document signed"),
        "{report}"
    );
    // The one signature was a Sign of carol's key, authorised by sam after her PIN.
    let audit = shop.run(shop.admin.audit(1, 10000));
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "carol")
            .count(),
        1
    );
    assert_no_secret_in_logs(&server, &[pin, &token]);
}

#[test]
fn the_csc_api_keeps_to_its_openapi_document() {
    let dir = scratch("csc-openapi");
    let server = start_samd(&dir, None);
    let profile = create_profile(
        &server,
        &dir,
        "scal1.toml",
        "name = \"SCAL1\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         scal = \"scal1\"\n",
    );
    let shop = Sam::new(&server, "shop:shop-secret-1234");
    register_client(&shop, "shop", &[profile]);
    shop.run(shop.client.register_user(&NewUser {
        user_id: "alice".into(),
        password: Some("alice pin 4711".into()),
        mobile: Some("+31600000042".into()),
        ..NewUser::default()
    }));
    let key = shop.run(shop.client.generate_key("alice", Some(profile)));
    let (cert, ca) = issue(&server, &dir, "alice", &key.public_key, "/CN=alice");
    shop.run(
        shop.client
            .import_certificate(&key.key_id, &cert, std::slice::from_ref(&ca)),
    );
    let token = shop
        .run(shop.client.access_token("alice", false))
        .access_token;
    let (status, document) = curl(&server, &[], "/csc/openapi.json");
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&document).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/csc/v2/signatures/signHash"]["post"].is_object());
    let bearer = format!("Authorization: Bearer {token}");
    // auth/login and auth/revoke would log the fuzzer out of its own token.
    schemathesis(
        &server,
        &dir,
        "/csc/openapi.json",
        &["--header", &bearer, "--exclude-path-regex", "auth/"],
    );
}
