//! `sam-client`'s runnable example, `sign_with_approval` (a business application written on
//! the client crate), against a `samd --dev`: it asks for a CAdES-B-B signature of a file,
//! `samctl device approve` plays the user's phone, and OpenSSL verifies what it wrote. Also
//! that it names samd's reason when the user declines.
//!
//! And the remote signer's example, `cades_remote` (seed 000: a signing server with samd as
//! its crypto token): it builds the CAdES-B-B itself with `sam-cms`, authenticated to samd by
//! its TLS client certificate, while the key stays in samd and each digest is approved on the
//! device; and under SCAL1 with the user's PIN from its callback, the SAD signed by the
//! client's authorisation key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Server, command, ok, profile_and_client, run, scratch, start_samd};

const CLIENT: [(&str, &str); 2] = [
    ("SAM_CLIENT_ID", "shop"),
    ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
];

/// sam-client's example `name`, built beside samctl (`cargo test --workspace` builds every
/// example).
fn example(name: &str) -> PathBuf {
    let path = common::samctl().with_file_name("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p sam-client --examples` (cargo test \
         --workspace does)",
        path.display()
    );
    path
}

/// The quickstart's SCAL2 profile: P-256 keys in the software source, approved on a device.
const PROFILE: &str = "name = \"Example\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
     key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
     [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n";

/// The quickstart's setup (README.md): a profile, the client, alice with her phone and a
/// certified P-256 key. Her key's id.
fn alice(server: &Server, dir: &std::path::Path) -> String {
    profile_and_client(server, dir, &CLIENT, PROFILE);
    alice_of(server, dir, &CLIENT)
}

/// alice, her phone and her certified key, registered by the client that `client` (samctl's
/// environment) authenticates. Her key's id.
fn alice_of(server: &Server, dir: &std::path::Path, client: &[(&str, &str)]) -> String {
    ok(run(server, dir, client, &["user", "create", "alice"]));
    ok(run(
        server,
        dir,
        client,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = ok(run(
        server,
        dir,
        client,
        &["key", "generate", "alice", "--field", "key_id"],
    ));
    let csr = command(
        &common::samctl(),
        server,
        dir,
        client,
        &[
            "key",
            "csr",
            &key,
            "--user",
            "alice",
            "--subject",
            "CN=Alice Example,O=Example,C=NL",
            "--out",
            "alice.csr",
        ],
    )
    .spawn()
    .unwrap();
    approve(server, dir);
    assert!(csr.wait_with_output().unwrap().status.success());
    ok(run(
        server,
        dir,
        &[],
        &["dev-ca", "issue", "alice.csr", "--out", "alice.pem"],
    ));
    let ca = server.data.join("dev-ca/ca.pem");
    ok(run(
        server,
        dir,
        client,
        &[
            "key",
            "import-cert",
            &key,
            "alice.pem",
            "--chain",
            ca.to_str().unwrap(),
        ],
    ));
    key
}

/// `openssl dgst -sha256 -verify` of the signature file `signature` over `data` under the
/// public key of the certificate `certificate` (PEM; files in `dir`), with `sigopts`
/// (`rsa_padding_mode:pss`, …).
fn openssl_verifies(
    dir: &std::path::Path,
    certificate: &str,
    signature: &str,
    data: &str,
    sigopts: &[&str],
) {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let public_key = format!("{certificate}.pub.pem");
    sam_testkit::run_ok(
        "openssl",
        &[
            "x509",
            "-in",
            &path(certificate),
            "-pubkey",
            "-noout",
            "-out",
            &path(&public_key),
        ],
    );
    let mut args = vec!["dgst".to_owned(), "-sha256".to_owned()];
    for option in sigopts {
        args.extend(["-sigopt".to_owned(), (*option).to_owned()]);
    }
    args.extend([
        "-verify".to_owned(),
        path(&public_key),
        "-signature".to_owned(),
        path(signature),
        path(data),
    ]);
    sam_testkit::run_ok(
        "openssl",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// The phone declines `request`.
fn decline(server: &Server, dir: &std::path::Path, request: &str) {
    ok(run(
        server,
        dir,
        &[],
        &[
            "device",
            "decline",
            "--key-file",
            "phone.device.json",
            request,
        ],
    ));
}

/// `openssl cms -verify` of the detached DER signature `p7s` of `content` (files in `dir`),
/// trusting `ca`.
fn cms_verify(
    dir: &std::path::Path,
    p7s: &str,
    content: &str,
    ca: impl AsRef<std::ffi::OsStr>,
) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in", p7s])
        .args([
            "-content",
            content,
            "-purpose",
            "any",
            "-out",
            "/dev/null",
            "-CAfile",
        ])
        .arg(ca)
        .output()
        .expect("openssl (scripts/test installs it)")
}

/// The phone approves what is pending (waiting for it up to 30 s).
fn approve(server: &Server, dir: &std::path::Path) {
    ok(run(
        server,
        dir,
        &[],
        &[
            "device",
            "approve",
            "--key-file",
            "phone.device.json",
            "--yes",
            "--wait",
            "30",
        ],
    ));
}

#[test]
fn the_client_crates_example_signs_a_file_once_its_user_approved_it() {
    let dir = scratch("client-example");
    let server = start_samd(&dir, None);
    let key = alice(&server, &dir);
    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();

    let signer = command(
        &example("sign_with_approval"),
        &server,
        &dir,
        &CLIENT,
        &["alice", &key, "contract.txt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    approve(&server, &dir);
    let out = signer.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the example failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("pending "), "{stdout}");
    assert!(stdout.contains("signed contract.txt.p7s"), "{stdout}");

    let verified = cms_verify(
        &dir,
        "contract.txt.p7s",
        "contract.txt",
        server.data.join("dev-ca/ca.pem"),
    );
    assert!(
        verified.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // Declined on the phone: the example says so and writes nothing.
    std::fs::write(dir.join("other.txt"), b"Something else.\n").unwrap();
    let mut signer = command(
        &example("sign_with_approval"),
        &server,
        &dir,
        &CLIENT,
        &["alice", &key, "other.txt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (request, _stdout) = pending_request(&mut signer);
    decline(&server, &dir, &request);
    let out = signer.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("request {request} was declined, not authorised")),
        "{stderr}"
    );
    assert!(!dir.join("other.txt.p7s").exists());
}

/// The first line of a background example: `pending <request id>`; the id, and the rest of
/// its standard output to read on.
fn pending_request(
    child: &mut std::process::Child,
) -> (String, BufReader<std::process::ChildStdout>) {
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    if let Some(request) = first.trim().strip_prefix("pending ") {
        return (request.to_owned(), stdout);
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    panic!("the example's first line: {first:?}; its errors: {stderr}")
}

#[test]
fn the_remote_signer_builds_cades_locally_with_the_key_in_samd() {
    let dir = scratch("remote-signer");
    let server = start_samd(&dir, None);
    // The signing server "bookshop" is known to samd by its TLS client certificate alone.
    let (cert, key) = common::client_certificate(&server, &dir, "bookshop");
    std::fs::write(dir.join("profile.toml"), PROFILE).unwrap();
    let profile = ok(run(
        &server,
        &dir,
        &[],
        &[
            "admin",
            "profile",
            "create",
            "profile.toml",
            "--field",
            "id",
        ],
    ));
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "admin",
            "client",
            "create",
            "bookshop",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--profile",
            &profile,
            "--default-profile",
            &profile,
        ],
    ));
    let tls = [
        ("SAM_CLIENT_ID", "bookshop"),
        ("SAM_CLIENT_CERT", cert.to_str().unwrap()),
        ("SAM_CLIENT_KEY", key.to_str().unwrap()),
    ];
    let key_id = alice_of(&server, &dir, &tls);
    // Get User Profile lists her key with its public key in standard base64, as Key
    // Generation gives it (it once came as hex, which no client could read).
    let shown = ok(run(
        &server,
        &dir,
        &tls,
        &["user", "show", "alice", "--json"],
    ));
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["keys"][0]["key_id"], key_id.as_str(), "{shown}");
    let public_key = shown["keys"][0]["public_key"].as_str().unwrap();
    assert!(
        public_key.starts_with("MFkw"),
        "a P-256 SPKI in base64: {public_key}"
    );
    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();

    let mut signer = command(
        &example("cades_remote"),
        &server,
        &dir,
        &tls,
        &["alice", &key_id, "contract.txt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (request, mut stdout) = pending_request(&mut signer);
    // What the phone is shown is the one digest the remote signer asked for, labelled.
    let pending = ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "pending",
            "--key-file",
            "phone.device.json",
            "--json",
        ],
    ));
    assert!(pending.contains(&request), "{pending}");
    assert!(pending.contains("contract.txt"), "{pending}");
    approve(&server, &dir);
    let out = signer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cades_remote failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "signed contract.txt.p7s\n");

    let ca = server.data.join("dev-ca/ca.pem");
    let verified = cms_verify(&dir, "contract.txt.p7s", "contract.txt", &ca);
    assert!(
        verified.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // CAdES-B-B: the signer's certificate is bound by signing-certificate-v2 (ETSI EN 319
    // 122-1 5.2.2), which OpenSSL prints by name.
    let printed = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "contract.txt.p7s",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("signingCertificateV2"), "{printed}");

    // A tampered file does not verify against that signature.
    std::fs::write(dir.join("contract.txt"), b"I agree to other terms.\n").unwrap();
    let tampered = cms_verify(&dir, "contract.txt.p7s", "contract.txt", &ca);
    assert!(!tampered.status.success());

    // Declined on the phone: the remote signer says so and nothing is written.
    std::fs::write(dir.join("other.txt"), b"Something else.\n").unwrap();
    let mut signer = command(
        &example("cades_remote"),
        &server,
        &dir,
        &tls,
        &["alice", &key_id, "other.txt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (request, _stdout) = pending_request(&mut signer);
    decline(&server, &dir, &request);
    let out = signer.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("declined"), "{stderr}");
    assert!(!dir.join("other.txt.p7s").exists());

    // A client samd does not know (no certificate, no secret) is told how to authenticate.
    let out = command(
        &example("cades_remote"),
        &server,
        &dir,
        &[],
        &["alice", &key_id, "other.txt"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SAM_CLIENT_CERT"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SCAL1 profile: P-256 keys in the software source, approved with the user's PIN.
const PIN_PROFILE: &str = "name = \"With a PIN\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
     key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\nscal = \"scal1\"\n\
     [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n";

#[test]
fn the_remote_signer_takes_the_pin_from_its_callback_under_scal1() {
    use sam_client::remote::{Approval, ClientAuthorisation, RemoteSigner};
    use sam_client::{ClientSettings, NewUser};

    let dir = scratch("remote-signer-pin");
    let server = start_samd(&dir, None);
    // The shop's authorisation key (seed 002's Authorisation Certificate): a self-signed
    // P-256 certificate, registered with the client; the key (PKCS#8 PEM) signs SCAL1 SADs.
    sam_testkit::run_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=shop authorisation",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-keyout",
            dir.join("authorisation.key").to_str().unwrap(),
            "-out",
            dir.join("authorisation.pem").to_str().unwrap(),
        ],
    );
    let authorisation_pem = std::fs::read(dir.join("authorisation.pem")).unwrap();
    let authorisation_der = {
        use der::{DecodePem, Encode};
        sam_cms::Certificate::from_pem(&authorisation_pem)
            .unwrap()
            .to_der()
            .unwrap()
    };
    std::fs::write(dir.join("profile.toml"), PIN_PROFILE).unwrap();
    let profile: u32 = ok(run(
        &server,
        &dir,
        &[],
        &[
            "admin",
            "profile",
            "create",
            "profile.toml",
            "--field",
            "id",
        ],
    ))
    .parse()
    .unwrap();
    let sam = common::Sam::new(&server, "shop:a-secret-of-the-shop");
    sam.run(sam.admin.register_client(&ClientSettings {
        client_id: "shop".into(),
        selected_profiles: Some(vec![profile]),
        default_profile: Some(profile),
        authorisation_certificate: Some(authorisation_der),
        ..ClientSettings::default()
    }));
    sam.run(sam.admin.set_client_secret("shop", "a-secret-of-the-shop"));
    sam.run(sam.client.register_user(&NewUser {
        user_id: "alice".into(),
        email: None,
        mobile: None,
        password: Some("alice's PIN 4711".into()),
    }));
    let key_id = ok(run(
        &server,
        &dir,
        &CLIENT,
        &["key", "generate", "alice", "--field", "key_id"],
    ));

    // The operator's side, in process: a CSR the user approves with her PIN, the development
    // CA's certificate imported through the signer.
    let signer = sam.run(RemoteSigner::open(sam.client.clone(), "alice", &key_id));
    let key = sam_keys::SigningKey::from_pkcs8_der(
        sam_algorithms::KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
        &{
            let pem = std::fs::read_to_string(dir.join("authorisation.key")).unwrap();
            der::pem::decode_vec(pem.as_bytes()).unwrap().1
        },
    )
    .unwrap();
    let authorisation = std::sync::Arc::new(ClientAuthorisation::new(
        "shop",
        "sam-dev",
        sam_sad::SadSigner::new(
            key,
            sam_algorithms::HashAlgorithm::Sha256,
            sam_algorithms::RsaPadding::Pkcs1v15,
        ),
    ));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let mut signer = signer
        .with_label("alice's certificate")
        .with_approval(Approval::Pin {
            pin: std::sync::Arc::new(move |prompt| {
                log.lock().unwrap().push(prompt.label.to_owned());
                Some("alice's PIN 4711".to_owned().into())
            }),
            authorisation,
        });
    assert_eq!(signer.scal(), sam_client::remote::SoleControl::Scal1);
    let csr = sam.run(signer.request_csr("CN=Alice Example,O=Example,C=NL"));
    assert_eq!(*asked.lock().unwrap(), ["alice's certificate"]);
    std::fs::write(dir.join("alice.csr"), csr).unwrap();
    ok(run(
        &server,
        &dir,
        &[],
        &["dev-ca", "issue", "alice.csr", "--out", "alice.pem"],
    ));
    let certificate = {
        use der::{DecodePem, Encode};
        let pem = std::fs::read(dir.join("alice.pem")).unwrap();
        sam_cms::Certificate::from_pem(&pem)
            .unwrap()
            .to_der()
            .unwrap()
    };
    sam.run(signer.import_certificate(&certificate, &[]));
    assert!(signer.certificate().is_some());

    // The example, with the PIN on its standard input.
    let example_with_pin = |file: &str, pin: &str| {
        std::fs::write(dir.join(file), format!("{file}: I agree.\n")).unwrap();
        let key_path = dir.join("authorisation.key");
        let cert_path = dir.join("authorisation.pem");
        let mut env = CLIENT.to_vec();
        env.extend([
            ("SAM_AUTHORISATION_KEY", key_path.to_str().unwrap()),
            ("SAM_AUTHORISATION_CERT", cert_path.to_str().unwrap()),
            ("SAM_INSTANCE_ID", "sam-dev"),
        ]);
        let mut child = command(
            &example("cades_remote"),
            &server,
            &dir,
            &env,
            &["alice", &key_id, file],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), pin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = example_with_pin("order.txt", "alice's PIN 4711\n");
    assert!(
        out.status.success(),
        "cades_remote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified = cms_verify(
        &dir,
        "order.txt.p7s",
        "order.txt",
        server.data.join("dev-ca/ca.pem"),
    );
    assert!(
        verified.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // A wrong PIN: samd refuses it, the example says so and writes nothing; no PIN at all
    // (end of input) is the user's refusal.
    let out = example_with_pin("wrong.txt", "1234\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication_failed"), "{stderr}");
    assert!(!dir.join("wrong.txt.p7s").exists());
    let out = example_with_pin("none.txt", "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("declined"), "{stderr}");
    assert!(!dir.join("none.txt.p7s").exists());

    // The PKCS#11 module with the client's authorisation key: the token logs in with the
    // PIN (no protected path), each signature is checked by samd against it.
    write_pkcs11_config(
        &server,
        &dir,
        &format!(
            "[authorisation]\nkey = \"{}\"\ncertificate = \"{}\"\ninstance_id = \"sam-dev\"\n",
            dir.join("authorisation.key").display(),
            dir.join("authorisation.pem").display()
        ),
    );
    let slots = pkcs11_tool_as_configured(&dir, &["--list-slots"])
        .output()
        .unwrap();
    let text = output_text(&slots);
    assert!(slots.status.success(), "{text}");
    assert!(
        !text.contains("PIN pad present"),
        "SCAL1: the PIN is given: {text}"
    );
    let id_hex: String = key_id.bytes().map(|b| format!("{b:02x}")).collect();
    let sign = |pin: &str, out: &str| {
        pkcs11_tool_as_configured(
            &dir,
            &[
                "--login",
                "--pin",
                pin,
                "--sign",
                "--mechanism",
                "ECDSA-SHA256",
                "--id",
                &id_hex,
                "--signature-format",
                "openssl",
                "--input-file",
                "order.txt",
                "--output-file",
                out,
            ],
        )
        .output()
        .unwrap()
    };
    let signed = sign("alice's PIN 4711", "order.sig");
    assert!(signed.status.success(), "{}", output_text(&signed));
    openssl_verifies(&dir, "alice.pem", "order.sig", "order.txt", &[]);
    // A wrong PIN: CKR_PIN_INCORRECT (0xa0) at the signature, nothing written.
    let refused = sign("1234", "wrong.sig");
    let text = output_text(&refused);
    assert!(!refused.status.success(), "{text}");
    assert!(
        text.contains("CKR_PIN_INCORRECT") || text.contains("(0xa0)"),
        "{text}"
    );
}

/// A PKCS#11 r‖s ECDSA signature as DER (RFC 3279 `Ecdsa-Sig-Value`), for OpenSSL.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::new();
    for half in [r, s] {
        let start = half.iter().position(|b| *b != 0).unwrap_or(half.len() - 1);
        let mut int = half[start..].to_vec();
        if int[0] & 0x80 != 0 {
            int.insert(0, 0);
        }
        body.push(0x02);
        body.push(u8::try_from(int.len()).unwrap());
        body.extend(int);
    }
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
    der.extend(body);
    der
}

#[test]
fn the_pkcs11_modules_core_signs_through_samd_once_the_device_approved() {
    use sam_pkcs11::ck;
    use sam_pkcs11::objects::Lookup;
    use sam_pkcs11::session::{Module, SignOutcome};
    use std::time::Duration;

    let dir = scratch("pkcs11-core");
    let server = start_samd(&dir, None);
    let key_id = alice(&server, &dir);
    let sam = common::Sam::new(&server, "shop:a-secret-of-the-shop");
    let runtime = std::sync::Arc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    let config = sam_pkcs11::config::TokenConfig {
        user: "alice".into(),
        label: None,
        keys: Vec::new(),
    };
    let wait = (Duration::from_millis(200), Duration::from_secs(30));
    let token = sam_pkcs11::remote::load_token(&sam.client, &config, &runtime, None, wait).unwrap();
    assert!(!token.pin_login, "SCAL2: the device is the protected path");
    assert_eq!(token.label, "alice");
    let mut module = Module::new(vec![token]).unwrap();
    let session = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
    module.login(session, ck::CKU_USER, None).unwrap();

    // The key's three objects, linked by CKA_ID; the certificate is the imported one.
    let find = |module: &mut Module, class: ck::CK_OBJECT_CLASS| {
        module
            .find_init(
                session,
                &[
                    (ck::CKA_CLASS, class.to_ne_bytes().to_vec()),
                    (ck::CKA_ID, key_id.as_bytes().to_vec()),
                ],
            )
            .unwrap();
        let found = module.find(session, 10).unwrap();
        module.find_final(session).unwrap();
        assert_eq!(found.len(), 1, "class {class}");
        found[0]
    };
    let private = find(&mut module, ck::CKO_PRIVATE_KEY);
    let public = find(&mut module, ck::CKO_PUBLIC_KEY);
    let certificate = find(&mut module, ck::CKO_CERTIFICATE);
    let value = |module: &Module, object, attribute| match module
        .object(session, object)
        .unwrap()
        .lookup(attribute)
    {
        Lookup::Value(v) => v,
        other => panic!("0x{attribute:x}: {other:?}"),
    };
    let issued = std::fs::read_to_string(dir.join("alice.pem")).unwrap();
    let issued = der::pem::decode_vec(issued.as_bytes()).unwrap().1;
    assert_eq!(value(&module, certificate, ck::CKA_VALUE), issued);
    let spki = value(&module, public, ck::CKA_PUBLIC_KEY_INFO);
    std::fs::write(dir.join("alice.spki.der"), &spki).unwrap();
    assert_eq!(
        module
            .object(session, private)
            .unwrap()
            .lookup(ck::CKA_VALUE),
        Lookup::Sensitive
    );

    // CKM_ECDSA_SHA256: the module hashes, samd signs after the phone approved.
    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();
    module
        .sign_init(session, ck::CKM_ECDSA_SHA256, None, private)
        .unwrap();
    assert_eq!(
        module
            .sign(session, Some(b"I agree to the terms.\n"), None)
            .unwrap(),
        SignOutcome::Length(64)
    );
    let outcome = std::thread::scope(|scope| {
        let phone = scope.spawn(|| approve(&server, &dir));
        let outcome = module
            .sign(session, Some(b"I agree to the terms.\n"), Some(64))
            .unwrap();
        phone.join().unwrap();
        outcome
    });
    let SignOutcome::Signature(raw) = outcome else {
        panic!("{outcome:?}")
    };
    std::fs::write(dir.join("contract.sig"), ecdsa_der(&raw)).unwrap();
    sam_testkit::run_ok(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            dir.join("alice.spki.der").to_str().unwrap(),
            "-keyform",
            "DER",
            "-signature",
            dir.join("contract.sig").to_str().unwrap(),
            dir.join("contract.txt").to_str().unwrap(),
        ],
    );

    // Declined on the phone: CKR_FUNCTION_REJECTED, and the operation is over.
    module
        .sign_init(session, ck::CKM_ECDSA_SHA256, None, private)
        .unwrap();
    let refused = std::thread::scope(|scope| {
        let phone = scope.spawn(|| {
            for _ in 0..300 {
                let pending = run(
                    &server,
                    &dir,
                    &[],
                    &[
                        "device",
                        "pending",
                        "--key-file",
                        "phone.device.json",
                        "--json",
                    ],
                );
                let pending: serde_json::Value =
                    serde_json::from_slice(&pending.stdout).unwrap_or_default();
                if let Some(request) = pending["requests"][0]["request_id"].as_str() {
                    decline(&server, &dir, request);
                    return true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            false
        });
        let refused = module
            .sign(session, Some(b"Something else.\n"), Some(64))
            .unwrap_err();
        assert!(phone.join().unwrap(), "the phone declined");
        refused
    });
    assert_eq!(refused.rv, ck::CKR_FUNCTION_REJECTED, "{refused}");
    assert!(refused.reason.contains("declined"), "{refused}");
    assert_eq!(
        module
            .sign(session, Some(b"Something else.\n"), Some(64))
            .unwrap_err()
            .rv,
        ck::CKR_OPERATION_NOT_INITIALIZED
    );
}

/// Runs `consumer` while the phone declines every request it is shown (a consumer may try
/// again, as pkcs11-tool does in parts after C_Sign); at least one must have come.
fn while_declining<T>(server: &Server, dir: &std::path::Path, consumer: impl FnOnce() -> T) -> T {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let phone = scope.spawn(|| {
            let mut declined = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let pending = run(
                    server,
                    dir,
                    &[],
                    &[
                        "device",
                        "pending",
                        "--key-file",
                        "phone.device.json",
                        "--json",
                    ],
                );
                let pending: serde_json::Value =
                    serde_json::from_slice(&pending.stdout).unwrap_or_default();
                if let Some(request) = pending["requests"][0]["request_id"].as_str() {
                    decline(server, dir, request);
                    declined += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            declined
        });
        let outcome = consumer();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(phone.join().unwrap() >= 1, "the phone declined nothing");
        outcome
    })
}

/// sam-pkcs11's module (the cdylib `cargo test --workspace` builds beside the tests).
fn pkcs11_module() -> PathBuf {
    let debug = common::samctl().parent().unwrap().to_owned();
    // `cargo build` puts it in target/debug, `cargo test` in target/debug/deps: the newer.
    [
        debug.join("libsam_pkcs11.so"),
        debug.join("deps/libsam_pkcs11.so"),
    ]
    .into_iter()
    .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
    .max()
    .map(|(_, p)| p)
    .unwrap_or_else(|| {
        panic!(
            "libsam_pkcs11.so is missing under {}: build it with `cargo build -p \
                 sam-pkcs11` (cargo test --workspace does)",
            debug.display()
        )
    })
}

/// Writes the module's configuration for `server`'s shop and alice (`extra` settings
/// before the token).
fn write_pkcs11_config(server: &Server, dir: &std::path::Path, extra: &str) {
    std::fs::write(
        dir.join("sam-pkcs11.toml"),
        format!(
            "server = \"https://{}\"\nca = \"{}\"\n[client]\nid = \"shop\"\n\
             [approval]\nevery_ms = 200\nwithin_s = 30\n{extra}[[token]]\nuser = \"alice\"\n",
            server.address,
            server.data.join("dev-ca/ca.pem").display()
        ),
    )
    .unwrap();
}

/// `pkcs11-tool` (OpenSC) over the module configured for `server`'s shop and alice.
fn pkcs11_tool(server: &Server, dir: &std::path::Path, args: &[&str]) -> Command {
    write_pkcs11_config(server, dir, "");
    pkcs11_tool_as_configured(dir, args)
}

/// `pkcs11-tool` over the module as `dir/sam-pkcs11.toml` configures it.
fn pkcs11_tool_as_configured(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new("pkcs11-tool");
    command
        .current_dir(dir)
        .env("SAM_PKCS11_CONFIG", dir.join("sam-pkcs11.toml"))
        .env("SAM_PKCS11_LOG", dir.join("sam-pkcs11.log"))
        .env("SAM_CLIENT_SECRET", CLIENT[1].1)
        .arg("--module")
        .arg(pkcs11_module())
        .args(args);
    command
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn opensc_pkcs11_tool_lists_and_signs_with_a_key_in_samd_after_the_device_approved() {
    let dir = scratch("pkcs11-tool");
    let server = start_samd(&dir, None);
    let key_id = alice(&server, &dir);
    let id_hex: String = key_id.bytes().map(|b| format!("{b:02x}")).collect();

    let slots = pkcs11_tool(&server, &dir, &["--list-slots"])
        .output()
        .unwrap();
    let text = output_text(&slots);
    assert!(slots.status.success(), "{text}");
    assert!(text.contains("alice"), "{text}");
    assert!(
        text.contains("PIN pad present"),
        "the device is the protected path: {text}"
    );

    let mechanisms = pkcs11_tool(&server, &dir, &["--list-mechanisms"])
        .output()
        .unwrap();
    let text = output_text(&mechanisms);
    assert!(mechanisms.status.success(), "{text}");
    assert!(text.contains("ECDSA-SHA256"), "{text}");
    assert_eq!(
        text.matches("ECDSA").count(),
        2,
        "CKM_ECDSA and CKM_ECDSA_SHA256 only: {text}"
    );

    let objects = pkcs11_tool(&server, &dir, &["--login", "--list-objects"])
        .output()
        .unwrap();
    let text = output_text(&objects);
    assert!(objects.status.success(), "{text}");
    for wanted in [
        "Private Key Object",
        "Public Key Object",
        "Certificate Object",
        &id_hex,
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert!(text.contains("CN=Alice Example"), "{text}");

    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();
    let sign = |file: &str, out: &str| {
        pkcs11_tool(
            &server,
            &dir,
            &[
                "--login",
                "--sign",
                "--mechanism",
                "ECDSA-SHA256",
                "--id",
                &id_hex,
                "--signature-format",
                "openssl",
                "--input-file",
                file,
                "--output-file",
                out,
            ],
        )
        .output()
        .unwrap()
    };
    let signed = std::thread::scope(|scope| {
        let phone = scope.spawn(|| approve(&server, &dir));
        let signed = sign("contract.txt", "contract.sig");
        phone.join().unwrap();
        signed
    });
    assert!(signed.status.success(), "{}", output_text(&signed));
    openssl_verifies(&dir, "alice.pem", "contract.sig", "contract.txt", &[]);

    // Declined on the phone: pkcs11-tool fails with CKR_FUNCTION_REJECTED, writes nothing,
    // and the operator's log says why. (pkcs11-tool tries C_Sign, then again in parts:
    // the phone declines each request it is shown until pkcs11-tool ends.)
    let declined = while_declining(&server, &dir, || sign("contract.txt", "declined.sig"));
    let text = output_text(&declined);
    assert!(!declined.status.success(), "{text}");
    // CKR_FUNCTION_REJECTED, 0x200 (this OpenSC has no name for it).
    assert!(text.contains("(0x200)"), "{text}");
    assert!(
        std::fs::metadata(dir.join("declined.sig")).map_or(true, |m| m.len() == 0),
        "no signature written"
    );
    let log = std::fs::read_to_string(dir.join("sam-pkcs11.log")).unwrap();
    assert!(log.contains("C_Sign") && log.contains("declined"), "{log}");
}

#[test]
fn every_function_of_the_module_survives_invalid_arguments_from_c() {
    let dir = scratch("pkcs11-smoke");
    let server = start_samd(&dir, None);
    alice(&server, &dir);
    // The smoke test is C, built here with the system's compiler.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pkcs11_smoke.c");
    let binary = dir.join("pkcs11_smoke");
    sam_testkit::run_ok(
        "cc",
        &[
            "-Wall",
            "-o",
            binary.to_str().unwrap(),
            source.to_str().unwrap(),
            "-ldl",
        ],
    );
    pkcs11_tool(&server, &dir, &["--show-info"])
        .output()
        .unwrap(); // writes the configuration
    let out = Command::new(&binary)
        .current_dir(&dir)
        .env("SAM_PKCS11_CONFIG", dir.join("sam-pkcs11.toml"))
        .env("SAM_CLIENT_SECRET", CLIENT[1].1)
        .arg(pkcs11_module())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
}

/// GnuTLS's `p11tool` over the module (the configuration `pkcs11_tool` wrote).
fn p11tool(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("p11tool")
        .current_dir(dir)
        .env("SAM_PKCS11_CONFIG", dir.join("sam-pkcs11.toml"))
        .env("SAM_CLIENT_SECRET", CLIENT[1].1)
        .arg("--provider")
        .arg(pkcs11_module())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("p11tool (gnutls-bin; scripts/test installs it)")
}

#[test]
fn gnutls_p11tool_finds_the_token_and_its_objects_by_pkcs11_uri() {
    let dir = scratch("p11tool");
    let server = start_samd(&dir, None);
    alice(&server, &dir);
    pkcs11_tool(&server, &dir, &["--show-info"])
        .output()
        .unwrap(); // writes the configuration

    let tokens = p11tool(&dir, &["--list-tokens"]);
    let text = output_text(&tokens);
    assert!(tokens.status.success(), "{text}");
    assert!(
        text.contains("pkcs11:model=remote%20signer;manufacturer=sam"),
        "{text}"
    );
    assert!(text.contains("token=alice"), "{text}");

    // Without a login: the public key and the certificate, found by URI.
    let objects = p11tool(&dir, &["--list-all", "pkcs11:token=alice"]);
    let text = output_text(&objects);
    assert!(objects.status.success(), "{text}");
    assert!(text.contains("Type: Public key"), "{text}");
    assert!(text.contains("Type: X.509 Certificate"), "{text}");
    assert!(
        !text.contains("Type: Private key"),
        "private objects need a login: {text}"
    );

    let certificates = p11tool(&dir, &["--list-all-certs", "pkcs11:token=alice"]);
    let text = output_text(&certificates);
    assert!(text.contains("type=cert"), "{text}");
    assert!(
        text.contains("Type: X.509 Certificate (EC/ECDSA-SECP256R1)"),
        "{text}"
    );
}

#[test]
fn openssl_through_libp11_makes_a_cms_signature_with_the_key_in_samd() {
    let dir = scratch("libp11");
    let server = start_samd(&dir, None);
    alice(&server, &dir);
    pkcs11_tool(&server, &dir, &["--show-info"])
        .output()
        .unwrap(); // writes the configuration
    let engine = [
        "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so",
        "/usr/lib/engines-3/pkcs11.so",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libp11's engine (libengine-pkcs11-openssl; scripts/test installs it)");
    let conf = dir.join("openssl-pkcs11.cnf");
    std::fs::write(
        &conf,
        format!(
            "openssl_conf = openssl_init\n[openssl_init]\nengines = engines\n\
             [engines]\npkcs11 = pkcs11\n[pkcs11]\nengine_id = pkcs11\n\
             dynamic_path = {engine}\nMODULE_PATH = {}\ninit = 0\n",
            pkcs11_module().display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();
    let sign = |out: &str| {
        Command::new("openssl")
            .current_dir(&dir)
            .env("OPENSSL_CONF", &conf)
            .env("SAM_PKCS11_CONFIG", dir.join("sam-pkcs11.toml"))
            .env("SAM_PKCS11_LOG", dir.join("sam-pkcs11.log"))
            .env("SAM_CLIENT_SECRET", CLIENT[1].1)
            .args([
                "cms",
                "-sign",
                "-binary",
                "-md",
                "sha256",
                "-engine",
                "pkcs11",
                "-keyform",
                "engine",
                "-inkey",
                "pkcs11:token=alice;type=private",
                "-signer",
                "alice.pem",
                "-in",
                "contract.txt",
                "-outform",
                "DER",
                "-out",
                out,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let signed = std::thread::scope(|scope| {
        let phone = scope.spawn(|| approve(&server, &dir));
        let signed = sign("contract.p7s");
        phone.join().unwrap();
        signed
    });
    assert!(signed.status.success(), "{}", output_text(&signed));
    let verified = cms_verify(
        &dir,
        "contract.p7s",
        "contract.txt",
        server.data.join("dev-ca/ca.pem"),
    );
    assert!(verified.status.success(), "{}", output_text(&verified));
}

#[test]
fn opensc_pkcs11_tool_signs_rsa_pss_with_a_key_in_samd() {
    let dir = scratch("pkcs11-tool-pss");
    let server = start_samd(&dir, None);
    profile_and_client(
        &server,
        &dir,
        &CLIENT,
        "name = \"RSA-PSS\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"rsa\", key_length = 2048 }\npadding = \"pss\"\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    let key_id = alice_of(&server, &dir, &CLIENT);
    let id_hex: String = key_id.bytes().map(|b| format!("{b:02x}")).collect();

    let mechanisms = pkcs11_tool(&server, &dir, &["--list-mechanisms"])
        .output()
        .unwrap();
    let text = output_text(&mechanisms);
    assert!(text.contains("SHA256-RSA-PKCS-PSS"), "{text}");
    assert!(
        !text.contains("SHA256-RSA-PKCS,"),
        "no PKCS#1 v1.5 under a PSS profile: {text}"
    );

    std::fs::write(dir.join("contract.txt"), b"I agree to the terms.\n").unwrap();
    let signed = std::thread::scope(|scope| {
        let phone = scope.spawn(|| approve(&server, &dir));
        let signed = pkcs11_tool(
            &server,
            &dir,
            &[
                "--login",
                "--sign",
                "--mechanism",
                "SHA256-RSA-PKCS-PSS",
                "--id",
                &id_hex,
                "--input-file",
                "contract.txt",
                "--output-file",
                "contract.sig",
            ],
        )
        .output()
        .unwrap();
        phone.join().unwrap();
        signed
    });
    assert!(signed.status.success(), "{}", output_text(&signed));
    openssl_verifies(
        &dir,
        "alice.pem",
        "contract.sig",
        "contract.txt",
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:32"],
    );
}
