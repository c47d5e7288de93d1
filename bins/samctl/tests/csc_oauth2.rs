//! The CSC API's OAuth 2.0 authorisation server of a real `samd` (docs/csc.md "OAuth2"), as
//! a client and a browser without script see it over HTTPS (curl with a cookie jar): the
//! metadata document and `info`; OAuth clients registered with samctl; the code flow with
//! PKCE for `scope=service` (directly and pushed) and `scope=credential` — the page lists the
//! documents, the user's device approves in the background, the token signs exactly those
//! hashes once with `signatures/signHash` and no SAD, and the signature verifies with
//! OpenSSL; and each refusal: a wrong password (the page again), a reused code (its tokens
//! end), a wrong PKCE verifier, a mismatched or unregistered redirect URI (shown, never
//! followed), an unknown client, a form posted from another site, a token for other hashes,
//! another user's credential, a decline on the device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64ct::Encoding as _;
use common::{Sam, Server, ok, run, scratch};
use sam_client::{ClientSettings, NewUser};
use serde_json::Value;

const CALLBACK: &str = "https://app.example/callback";
/// RFC 7636 appendix B's verifier and its S256 challenge (computed there, not by sam).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// An answer: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The value of the page's hidden `authorization_id`.
    fn authorization_id(&self) -> String {
        let (_, rest) = self
            .body
            .split_once("name=\"authorization_id\" value=\"")
            .unwrap_or_else(|| panic!("no authorization_id in {}", self.body));
        rest.split('"').next().unwrap().to_owned()
    }
}

/// curl with the development CA and the cookie jar `jar` (a browser without script).
fn browse(server: &Server, jar: &Path, args: &[&str], path: &str) -> Reply {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--include", "--cacert"])
        .arg(server.data.join("dev-ca/ca.pem"))
        .arg("--cookie")
        .arg(jar)
        .arg("--cookie-jar")
        .arg(jar)
        .args(args)
        .arg(format!("https://{}{path}", server.address))
        .output()
        .expect("curl (scripts/test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{path}: no answer: {text} {}", common::stderr(&out)));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn enc(text: &str) -> String {
    // The characters a query value may keep; everything else percent-encoded.
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The authorisation request's query.
fn authorize_query(client_id: &str, state: &str, scope: &str) -> String {
    format!(
        "/csc/v2/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
         &state={state}&code_challenge={CHALLENGE}&code_challenge_method=S256&{scope}",
        enc(CALLBACK)
    )
}

/// `scope=credential` for `key` and the SHA-256 digests of `documents` (base64url, as CSC's
/// OAuth parameters carry them).
fn credential_scope(key: &str, documents: &[&[u8]]) -> String {
    let hashes: Vec<String> = documents
        .iter()
        .map(|d| base64ct::Base64UrlUnpadded::encode_string(&sha256(d)))
        .collect();
    format!(
        "scope=credential&credentialID={key}&numSignatures={}&hashes={}\
         &hashAlgorithmOID={SHA256}&description=Contract",
        documents.len(),
        hashes.join(",")
    )
}

fn sha256(data: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir();
    let file = dir.join(format!("sam-oauth2-{}.bin", std::process::id()));
    std::fs::write(&file, data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A client's form post (the token, PAR and revocation endpoints).
fn client_post(server: &Server, jar: &Path, basic: &str, path: &str, form: &str) -> Reply {
    browse(server, jar, &["-u", basic, "--data", form], path)
}

/// A JSON call of the CSC API with a bearer token.
fn csc(server: &Server, jar: &Path, token: &str, path: &str, body: &Value) -> Reply {
    let auth = format!("Authorization: Bearer {token}");
    let body = body.to_string();
    browse(
        server,
        jar,
        &[
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "--data",
            &body,
        ],
        path,
    )
}

/// Opens an authorisation and logs in as `user`: the answer to the login.
fn open_and_log_in(
    server: &Server,
    jar: &Path,
    client_id: &str,
    scope: &str,
    user: &str,
    password: &str,
) -> Reply {
    let page = browse(server, jar, &[], &authorize_query(client_id, "s1", scope));
    assert_eq!(page.status, 200, "{}", page.body);
    log_in(server, jar, &page.authorization_id(), user, password)
}

fn log_in(server: &Server, jar: &Path, id: &str, user: &str, password: &str) -> Reply {
    let form = format!(
        "authorization_id={id}&user_id={user}&password={}",
        enc(password)
    );
    browse(
        server,
        jar,
        &["--data", &form],
        "/csc/v2/oauth2/authorize/login",
    )
}

/// The code of a redirect to the client, checked for `state` and `iss`.
fn code_of(reply: &Reply, issuer: &str) -> String {
    assert_eq!(reply.status, 303, "{}", reply.body);
    let to = reply.header("location").unwrap();
    assert!(to.starts_with(&format!("{CALLBACK}?")), "{to}");
    assert_eq!(param(to, "state").as_deref(), Some("s1"), "{to}");
    assert_eq!(param(to, "iss").as_deref(), Some(issuer), "{to}");
    param(to, "code").unwrap_or_else(|| panic!("no code: {to}"))
}

fn exchange(server: &Server, jar: &Path, basic: &str, code: &str, verifier: &str) -> Reply {
    client_post(
        server,
        jar,
        basic,
        "/csc/v2/oauth2/token",
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            enc(CALLBACK)
        ),
    )
}

/// The device (samctl's software device) answering the user's pending request.
fn device(server: &Server, dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["device"];
    all.extend_from_slice(args);
    all.extend(["--key-file", "phone.device.json"]);
    ok(run(server, dir, &[], &all))
}

fn pending_request(server: &Server, dir: &Path) -> String {
    let list: Value = serde_json::from_str(&device(server, dir, &["pending", "--json"])).unwrap();
    list["requests"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|r| r["request_id"].as_str())
        .unwrap_or_else(|| panic!("a pending request: {list}"))
        .to_owned()
}

/// Verifies the DER ECDSA `signature` of `digest` with the public key `spki` (OpenSSL).
fn openssl_verifies(dir: &Path, spki: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let key = write("oauth-key.der", spki);
    let digest = write("oauth-digest.bin", digest);
    let signature = write("oauth-signature.der", signature);
    Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&digest)
        .arg("-sigfile")
        .arg(&signature)
        .output()
        .unwrap()
        .status
        .success()
}

/// A SCAL2 profile, the shop (secret `shop-secret-1234`), alice (password
/// `alice password 1`) with her device `phone.device.json` and a P-256 key, and bob
/// (`bob password 1`): the shop's handle and alice's key.
fn set_up(server: &Server, dir: &Path) -> (Sam, sam_client::Key) {
    // The setup: a SCAL2 profile, the shop, alice with her device and a key, bob.
    std::fs::write(
        dir.join("scal2.toml"),
        "name = \"SCAL2 ECDSA\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         bulk_signing = true\nmax_hashes_per_request = 5\n",
    )
    .unwrap();
    let profile: u32 = ok(run(
        server,
        dir,
        &[],
        &["admin", "profile", "create", "scal2.toml", "--field", "id"],
    ))
    .parse()
    .unwrap();
    let shop = Sam::new(server, "shop:shop-secret-1234");
    shop.run(shop.admin.register_client(&ClientSettings {
        client_id: "shop".into(),
        selected_profiles: Some(vec![profile]),
        default_profile: Some(profile),
        ..ClientSettings::default()
    }));
    shop.run(shop.admin.set_client_secret("shop", "shop-secret-1234"));
    for (user, password) in [("alice", "alice password 1"), ("bob", "bob password 1")] {
        shop.run(shop.client.register_user(&NewUser {
            user_id: user.into(),
            password: Some(password.into()),
            ..NewUser::default()
        }));
    }
    let shop_env = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "shop-secret-1234"),
    ];
    ok(run(
        server,
        dir,
        &shop_env,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = shop.run(shop.client.generate_key("alice", Some(profile)));

    (shop, key)
}

#[test]
fn a_client_gets_tokens_through_the_pages_and_signs_with_a_credential_scope_token() {
    let dir = scratch("csc-oauth2");
    let server = common::start_samd_at(&dir, &|text, address| {
        format!("{text}\n[csc]\noauth2_issuer = \"https://{address}\"\n")
    });
    let issuer = format!("https://{}", server.address);
    let jar = dir.join("cookies.txt");

    // The metadata document, and info (v2 only).
    let metadata = browse(
        &server,
        &jar,
        &[],
        "/.well-known/oauth-authorization-server",
    );
    assert_eq!(metadata.status, 200);
    let metadata = metadata.json();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(
        metadata["token_endpoint"],
        format!("{issuer}/csc/v2/oauth2/token")
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let info = browse(&server, &jar, &[], "/csc/v2/info").json();
    assert_eq!(info["oauth2"], format!("{issuer}/csc/v2/oauth2"));
    assert_eq!(info["oauth2Issuer"], issuer.as_str());
    assert_eq!(info["supportsRar"], true);
    assert!(
        info["authType"]
            .as_array()
            .unwrap()
            .contains(&Value::from("oauth2code")),
        "{info}"
    );
    let v1 = browse(&server, &jar, &[], "/csc/v1/info").json();
    assert!(v1.get("oauth2").is_none(), "{v1}");

    let (shop, key) = set_up(&server, &dir);

    // The OAuth client, registered with samctl; its secret shown once.
    let created: Value = serde_json::from_str(&ok(run(
        &server,
        &dir,
        &[],
        &[
            "admin",
            "oauth-client",
            "create",
            "shop",
            "--name",
            "Example Shop",
            "--redirect-uri",
            CALLBACK,
            "--json",
        ],
    )))
    .unwrap();
    let client_id = created["oauth_client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let basic = format!("{client_id}:{secret}");
    let listed = ok(run(
        &server,
        &dir,
        &[],
        &["admin", "oauth-client", "list", "shop", "--json"],
    ));
    assert!(
        listed.contains(&client_id) && !listed.contains(&secret),
        "{listed}"
    );

    // scope=service: the login page, with its headers.
    let page = browse(
        &server,
        &jar,
        &[],
        &authorize_query(&client_id, "s1", "scope=service"),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self' https://app.example",
    ] {
        assert!(csp.contains(directive), "{directive}: {csp}");
    }
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let cookie = page.header("set-cookie").unwrap();
    for attribute in ["__Host-sam_oauth_", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(page.body.contains("Example Shop"), "{}", page.body);
    let id = page.authorization_id();

    // A wrong password: the page again, with the reason; a form from another site: refused.
    let wrong = log_in(&server, &jar, &id, "alice", "not her password");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("role=\"alert\""), "{}", wrong.body);
    assert_eq!(wrong.authorization_id(), id);
    let cross = browse(
        &server,
        &jar,
        &[
            "-H",
            "Origin: https://evil.example",
            "--data",
            &format!("authorization_id={id}&user_id=alice&password=alice+password+1"),
        ],
        "/csc/v2/oauth2/authorize/login",
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    // Without the browser's cookie: not open in this browser.
    let stranger = browse(
        &server,
        &dir.join("other-jar.txt"),
        &[
            "--data",
            &format!("authorization_id={id}&user_id=alice&password=alice+password+1"),
        ],
        "/csc/v2/oauth2/authorize/login",
    );
    assert_eq!(stranger.status, 400, "{}", stranger.body);

    let code = code_of(
        &log_in(&server, &jar, &id, "alice", "alice password 1"),
        &issuer,
    );
    // The code and its verifier: the tokens.
    let tokens = exchange(&server, &jar, &basic, &code, VERIFIER);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    let tokens = tokens.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "service");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let list = csc(
        &server,
        &jar,
        &access,
        "/csc/v2/credentials/list",
        &serde_json::json!({}),
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&key.key_id), "{}", list.body);
    // The code again: invalid_grant, and the tokens it gave end.
    let again = exchange(&server, &jar, &basic, &code, VERIFIER);
    assert_eq!(
        (again.status, again.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let ended = csc(
        &server,
        &jar,
        &access,
        "/csc/v2/credentials/list",
        &serde_json::json!({}),
    );
    assert_eq!(ended.status, 401, "{}", ended.body);

    // PAR: the request pushed by the client, then opened by its request_uri; a wrong verifier
    // is refused.
    let pushed = client_post(
        &server,
        &jar,
        &basic,
        "/csc/v2/oauth2/pushed_authorize",
        &format!(
            "response_type=code&client_id={client_id}&redirect_uri={}&state=s1\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&scope=service",
            enc(CALLBACK)
        ),
    );
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    let page = browse(
        &server,
        &jar,
        &[],
        &format!(
            "/csc/v2/oauth2/authorize?client_id={client_id}&request_uri={}",
            enc(&request_uri)
        ),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let code = code_of(
        &log_in(
            &server,
            &jar,
            &page.authorization_id(),
            "alice",
            "alice password 1",
        ),
        &issuer,
    );
    let wrong = exchange(
        &server,
        &jar,
        &basic,
        &code,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(
        (wrong.status, wrong.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let bad_secret = exchange(
        &server,
        &jar,
        &format!("{client_id}:soc1_not-the-secret"),
        &code,
        VERIFIER,
    );
    assert_eq!(bad_secret.status, 401, "{}", bad_secret.body);
    assert!(bad_secret.header("www-authenticate").is_some());

    // A redirect URI not registered, or an unknown client: shown, never followed.
    for query in [
        authorize_query(&client_id, "s1", "scope=service")
            .replace(&enc(CALLBACK), &enc("https://evil.example/callback")),
        authorize_query("no-such-client", "s1", "scope=service"),
    ] {
        let refused = browse(&server, &jar, &[], &query);
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.header("location").is_none());
        assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    }
    // Other faults go back to the client with the error and the state.
    let back = browse(
        &server,
        &jar,
        &[],
        &authorize_query(&client_id, "s1", "scope=nonsense"),
    );
    assert_eq!(back.status, 303, "{}", back.body);
    let to = back.header("location").unwrap();
    assert_eq!(param(to, "error").as_deref(), Some("invalid_scope"), "{to}");
    assert_eq!(param(to, "state").as_deref(), Some("s1"));

    // scope=credential: the page lists the document, the device approves, the token signs
    // exactly that hash, once.
    let document: &[u8] = b"the contract alice signs";
    let digest = sha256(document);
    let scope = credential_scope(&key.key_id, &[document]);
    let waiting = open_and_log_in(
        &server,
        &jar,
        &client_id,
        &scope,
        "alice",
        "alice password 1",
    );
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert!(
        waiting.body.contains("Approve on your device"),
        "{}",
        waiting.body
    );
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(waiting.body.contains(&hex), "{}", waiting.body);
    assert!(waiting.body.contains("Contract"), "{}", waiting.body);
    let id = waiting.authorization_id();
    let progress = |id: &str| {
        browse(
            &server,
            &jar,
            &[],
            &format!("/csc/v2/oauth2/authorize/progress?authorization_id={id}"),
        )
        .json()
    };
    assert_eq!(progress(&id)["status"], "pending");
    let shown = device(&server, &dir, &["pending", "--json"]);
    assert!(shown.contains("Contract"), "{shown}");
    device(&server, &dir, &["approve", "--yes"]);
    let approved = progress(&id);
    assert_eq!(approved["status"], "approved", "{approved}");
    let redirect = approved["redirect"].as_str().unwrap();
    assert_eq!(param(redirect, "iss").as_deref(), Some(issuer.as_str()));
    let code = param(redirect, "code").unwrap();
    let tokens = exchange(&server, &jar, &basic, &code, VERIFIER).json();
    assert_eq!(tokens["scope"], "credential", "{tokens}");
    assert_eq!(tokens["credentialID"], key.key_id.as_str());
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let bound = tokens["access_token"].as_str().unwrap().to_owned();

    let sign_hash = |hash: &[u8]| {
        csc(
            &server,
            &jar,
            &bound,
            "/csc/v2/signatures/signHash",
            &serde_json::json!({
                "credentialID": key.key_id,
                "hashes": [base64ct::Base64::encode_string(hash)],
                "hashAlgorithmOID": SHA256,
                "signAlgo": "1.2.840.10045.4.3.2",
            }),
        )
    };
    // A token for other hashes signs nothing; it serves no other call.
    let other = sign_hash(&sha256(b"another document"));
    assert!(
        (400..500).contains(&other.status),
        "{} {}",
        other.status,
        other.body
    );
    let list = csc(
        &server,
        &jar,
        &bound,
        "/csc/v2/credentials/list",
        &serde_json::json!({}),
    );
    assert_eq!(list.status, 401, "{}", list.body);
    let signed = sign_hash(&digest);
    assert_eq!(signed.status, 200, "{}", signed.body);
    let signature = base64ct::Base64::decode_vec(
        signed.json()["signatures"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{}", signed.body)),
    )
    .unwrap();
    assert!(
        openssl_verifies(&dir, &key.public_key, &digest, &signature),
        "OpenSSL verifies the signature with alice's public key"
    );
    let twice = sign_hash(&digest);
    assert!(
        (400..500).contains(&twice.status),
        "once: {} {}",
        twice.status,
        twice.body
    );

    // Another user's credential: the page says so and leads back with access_denied.
    let foreign = open_and_log_in(&server, &jar, &client_id, &scope, "bob", "bob password 1");
    assert_eq!(foreign.status, 200, "{}", foreign.body);
    assert!(foreign.body.contains("Not authorised"), "{}", foreign.body);
    assert!(
        foreign.body.contains("error=access_denied"),
        "{}",
        foreign.body
    );

    // A decline on the device: the progress says so, with the way back.
    let waiting = open_and_log_in(
        &server,
        &jar,
        &client_id,
        &scope,
        "alice",
        "alice password 1",
    );
    let id = waiting.authorization_id();
    let request = pending_request(&server, &dir);
    device(&server, &dir, &["decline", &request]);
    let declined = progress(&id);
    assert_eq!(declined["status"], "refused", "{declined}");
    assert!(
        declined["message"].as_str().unwrap().contains("declined"),
        "{declined}"
    );
    assert_eq!(
        param(declined["redirect"].as_str().unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // Revocation (RFC 7009): 200, and the token ends.
    let page = browse(
        &server,
        &jar,
        &[],
        &authorize_query(&client_id, "s1", "scope=service"),
    );
    let code = code_of(
        &log_in(
            &server,
            &jar,
            &page.authorization_id(),
            "alice",
            "alice password 1",
        ),
        &issuer,
    );
    let access = exchange(&server, &jar, &basic, &code, VERIFIER).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = client_post(
        &server,
        &jar,
        &basic,
        "/csc/v2/oauth2/revoke",
        &format!("token={access}&token_type_hint=access_token"),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let ended = csc(
        &server,
        &jar,
        &access,
        "/csc/v2/credentials/list",
        &serde_json::json!({}),
    );
    assert_eq!(ended.status, 401, "{}", ended.body);

    // The audit: the page logins, and the tokens via oauth2.
    let audit = shop.run(shop.admin.audit(1, 10000));
    assert!(
        audit
            .iter()
            .any(|r| r.action == "oauth_login" && r.outcome == "authentication_failed")
    );
    assert!(
        audit
            .iter()
            .any(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "alice")
    );
    common::assert_no_secret_in_logs(&server, &[&secret, &bound, "alice password 1"]);
}

/// The pages in headless Chromium, driven by Selenium (`oauth2_browser.py`): the whole code
/// flow with PKCE from the client's redirect to the token, the device approving in the
/// background while the page waits, `signHash` with the token and the signature verified by
/// python `cryptography`; a decline and an expiry shown on the page; replays refused; axe-core
/// finds no serious violation. With `SAM_SCREENSHOTS` set, the pages' screenshots are written
/// there (docs/csc.md shows them).
#[test]
fn the_oauth2_pages_work_in_a_real_browser() {
    const EXPIRY_SECS: u64 = 20;
    let dir = scratch("csc-oauth2-browser");
    let server = common::start_samd_at(&dir, &|text, address| {
        format!(
            "{}\n[csc]\noauth2_issuer = \"https://{address}\"\n",
            text.replace(
                "[signing]\n",
                &format!("[signing]\nrequest_expiry_secs = {EXPIRY_SECS}\n")
            )
        )
    });
    let (shop, key) = set_up(&server, &dir);
    let callback_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let registered = shop.run(shop.admin.register_oauth_client(
        "shop",
        "Example Shop",
        &[format!("http://127.0.0.1:{callback_port}/callback")],
        true,
    ));
    let axe = std::env::var("SAM_TEST_AXE")
        .expect("SAM_TEST_AXE: axe.min.js of axe-core (scripts/test installs it)");
    let config = serde_json::json!({
        "server": server.address,
        "ca": server.data.join("dev-ca/ca.pem"),
        "client_id": registered.oauth_client_id,
        "client_secret": registered.client_secret,
        "callback_port": callback_port,
        "credential": key.key_id,
        "public_key": base64ct::Base64::encode_string(&key.public_key),
        "user": "alice",
        "password": "alice password 1",
        "request_expiry_secs": EXPIRY_SECS,
        "axe": axe,
        "screenshots": std::env::var("SAM_SCREENSHOTS").ok(),
        "device": {
            "samctl": common::samctl(),
            "key_file": "phone.device.json",
            "cwd": dir,
            "env": {
                "SAM_SERVER": format!("https://{}", server.address),
                "SAM_CA": server.data.join("dev-ca/ca.pem"),
            },
        },
    });
    let config_file = dir.join("oauth2-browser.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let stdout = common::python_script("oauth2_browser.py", &[&config_file]);
    for step in [
        "approved on the device, signed, verified by python cryptography",
        "replayed code and replayed login refused",
        "decline shown, back to the client with access_denied",
        "expiry shown",
        "done",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    // The signature was a Sign of alice's, authorised on her device.
    let audit = shop.run(shop.admin.audit(1, 10000));
    assert!(
        audit
            .iter()
            .any(|r| r.action == "sign" && r.outcome == "ok" && r.actor == "alice")
    );
}
