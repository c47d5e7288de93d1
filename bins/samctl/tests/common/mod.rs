//! What the end-to-end tests share: samd and samctl started as a user would start them,
//! curl and HTTP Basic requests, and the checks of samd's log. Each test binary uses part of
//! it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub(crate) fn samctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_samctl"))
}

/// The samd under test: the one built beside samctl, or `SAM_TEST_SAMD` (e.g. a release
/// binary, or an older build to show that a test fails without a fix).
pub(crate) fn samd() -> PathBuf {
    let path = std::env::var_os("SAM_TEST_SAMD")
        .map(PathBuf::from)
        .unwrap_or_else(|| samctl().with_file_name("samd"));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p samd` (cargo test --workspace does)",
        path.display()
    );
    path
}

pub(crate) fn scratch(tag: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills samd when the test ends, passed or failed.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) address: String,
    pub(crate) admin_token: String,
    pub(crate) data: PathBuf,
    pub(crate) log: PathBuf,
}

/// samd's log holds none of `secrets`, and every line is a JSON object.
pub(crate) fn assert_no_secret_in_logs(server: &Server, secrets: &[&str]) {
    let text = std::fs::read_to_string(&server.log).unwrap();
    assert!(text.lines().count() > 3, "the log is nearly empty: {text}");
    for line in text.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON log line: {line}"
        );
    }
    for secret in secrets {
        assert!(!text.contains(secret), "a secret is in samd's log");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `samd --dev` in `dir/sam-data` on an ephemeral port (a first start), with `edit` applied
/// to its configuration before it serves when given (then started again with `--config`).
pub(crate) fn start_samd(dir: &Path, edit: Option<&dyn Fn(String) -> String>) -> Server {
    start_samd_with(dir, edit, &[])
}

/// [`start_samd`] with `env` in samd's environment.
pub(crate) fn start_samd_with(
    dir: &Path,
    edit: Option<&dyn Fn(String) -> String>,
    env: &[(&str, &str)],
) -> Server {
    start_samd_listening(dir, edit, env, "127.0.0.1:0")
}

/// [`start_samd`] on a port known before it starts: `edit` is given the configuration and
/// the address (`127.0.0.1:<port>`) samd will listen on — for settings that name samd's own
/// URL, such as `[csc] oauth2_issuer`.
pub(crate) fn start_samd_at(dir: &Path, edit: &dyn Fn(String, &str) -> String) -> Server {
    // A port the system has just given and taken back: free for samd (barring a race).
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .to_string();
    let edit_at = |text: String| edit(text, &address);
    start_samd_listening(dir, Some(&edit_at), &[], &address)
}

fn start_samd_listening(
    dir: &Path,
    edit: Option<&dyn Fn(String) -> String>,
    env: &[(&str, &str)],
    listen: &str,
) -> Server {
    let data = dir.join("sam-data");
    let mut server = spawn(
        env,
        &[
            "--dev",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    if let Some(edit) = edit {
        let _ = server.child.kill();
        let _ = server.child.wait();
        let config = data.join("samd.toml");
        let text = edit(std::fs::read_to_string(&config).unwrap());
        std::fs::write(&config, text).unwrap();
        let token = server.admin_token.clone();
        // A configuration naming another database: first-time setup makes it (samd never
        // makes one otherwise).
        let init = Command::new(samd())
            .args(["--config", config.to_str().unwrap(), "--init"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "samd --init: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut again = spawn(
            env,
            &["--config", config.to_str().unwrap(), "--listen", listen],
        );
        again.admin_token = token;
        again.data = data;
        return again;
    }
    server
}

/// Starts samd; its log (JSON lines, debug level and up, every crate) goes to a file beside
/// the data directory, which [`assert_no_secret_in_logs`] reads.
pub(crate) fn spawn(env: &[(&str, &str)], args: &[&str]) -> Server {
    static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-samd-{}-{n}.log", std::process::id()));
    let mut child = Command::new(samd())
        .args(args)
        .args(["--log-format", "json"])
        .envs(env.iter().copied())
        .env("SAMD_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut admin_token = String::new();
    let mut data = PathBuf::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(token) = line.strip_prefix("samd: export SAM_ADMIN_TOKEN=") {
            admin_token = token.to_owned();
        }
        if let Some(dir) = line.strip_prefix("samd: data directory ") {
            data = PathBuf::from(dir);
        }
        if let Some(address) = line.strip_prefix("samd: listening on https://") {
            return Server {
                address: address.to_owned(),
                child,
                admin_token,
                data,
                log,
            };
        }
    }
    let status = child.wait();
    panic!("samd stopped before listening: {status:?}");
}

/// Runs samctl against `server` in `dir` with `env`.
pub(crate) fn run(server: &Server, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(&samctl(), server, dir, env, args).output().unwrap()
}

/// `program` with `args` in `dir`, set up for `server` as samctl reads it (`SAM_SERVER`,
/// `SAM_CA` the development CA, `SAM_ADMIN_TOKEN`) and `env`: to run in the background.
pub(crate) fn command(
    program: &Path,
    server: &Server,
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .args(args)
        .env("SAM_SERVER", format!("https://{}", server.address))
        .env("SAM_CA", server.data.join("dev-ca/ca.pem"))
        .env("SAM_ADMIN_TOKEN", &server.admin_token)
        .envs(env.iter().copied());
    command
}

pub(crate) fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// curl with the development CA: (HTTP status or 0 if the connection failed, body).
pub(crate) fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// POST `body` (JSON) to `path` as the client `credentials` (`id:secret`, HTTP Basic).
pub(crate) fn post_json(
    server: &Server,
    credentials: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    curl(
        server,
        &[
            "-u",
            credentials,
            "-H",
            "Content-Type: application/json",
            "--data",
            body,
        ],
        path,
    )
}

/// The digest every raw test authorisation signs (SHA-256 of "abc"), base64.
pub(crate) const DIGEST_B64: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

/// Authorise over the API: one document, raw output; the new request's id.
pub(crate) fn authorise_raw(
    server: &Server,
    credentials: &str,
    user: &str,
    key: &str,
    label: &str,
) -> String {
    use base64ct::Encoding;
    let sam = Sam::new(server, credentials);
    sam.run(sam.client.authorise(&sam_client::Authorisation {
        user_id: user.into(),
        key_id: key.into(),
        hash_algorithm: "sha-256".into(),
        format: "raw".into(),
        documents: vec![sam_client::Document::digest(
            label,
            base64ct::Base64::decode_vec(DIGEST_B64).unwrap(),
        )],
        signatures: None,
    }))
    .request_id
}

pub(crate) fn curl(server: &Server, args: &[&str], path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--write-out",
            "\n%{http_code}",
            "--cacert",
        ])
        .arg(server.data.join("dev-ca/ca.pem"))
        .args(args)
        .arg(format!("https://{}{path}", server.address))
        .output()
        .expect("curl (scripts/test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// Writes `profile_toml` to `dir/profile.toml`, creates that SAM profile, and registers the
/// client named by `client`'s `SAM_CLIENT_ID` (its secret in `SAM_CLIENT_SECRET`) with the
/// profile as its only and default one: the profile's id.
pub(crate) fn profile_and_client(
    server: &Server,
    dir: &Path,
    client: &[(&str, &str)],
    profile_toml: &str,
) -> String {
    std::fs::write(dir.join("profile.toml"), profile_toml).unwrap();
    let profile = ok(run(
        server,
        dir,
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
    let name = client
        .iter()
        .find(|(k, _)| *k == "SAM_CLIENT_ID")
        .map(|(_, v)| *v)
        .expect("SAM_CLIENT_ID in the client's environment");
    ok(run(
        server,
        dir,
        client,
        &[
            "admin",
            "client",
            "create",
            name,
            "--secret-env",
            "SAM_CLIENT_SECRET",
            "--profile",
            &profile,
            "--default-profile",
            &profile,
        ],
    ));
    profile
}

/// The shop's user alice with her device (`phone.device.json` in `dir`) and a key, and `n`
/// raw requests of hers, each approved on the device: `n` one-use SADs.
pub(crate) fn approved_requests(server: &Server, dir: &Path, n: usize) -> Vec<String> {
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    ok(run(server, dir, &client, &["user", "create", "alice"]));
    ok(run(
        server,
        dir,
        &client,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = ok(run(
        server,
        dir,
        &client,
        &["key", "generate", "alice", "--field", "key_id"],
    ));
    (0..n)
        .map(|i| {
            let request = authorise_raw(
                server,
                "shop:a-secret-of-the-shop",
                "alice",
                &key,
                &format!("doc-{i}"),
            );
            ok(run(
                server,
                dir,
                &[],
                &[
                    "device",
                    "approve",
                    "--key-file",
                    "phone.device.json",
                    &request,
                    "--yes",
                ],
            ));
            request
        })
        .collect()
}

/// A PostgreSQL database of one test's own on `SAM_TEST_POSTGRES_URL`'s server (scripts/test
/// sets it), made with psql and dropped — connections and all — when the test ends, passed or
/// failed.
pub(crate) struct PostgresDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl PostgresDatabase {
    pub(crate) fn create(prefix: &str) -> Self {
        let admin_url = std::env::var("SAM_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("{prefix}_{}", std::process::id());
        let server = admin_url
            .rsplit_once('/')
            .map(|(server, _)| server.to_owned())
            .unwrap_or_else(|| panic!("SAM_TEST_POSTGRES_URL has no database: {admin_url}"));
        let db = Self {
            url: format!("{server}/{name}"),
            admin_url,
            name,
        };
        db.psql(&format!("DROP DATABASE IF EXISTS {}", db.name));
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// Runs `sql` on the server's admin database; the test fails if it does.
    pub(crate) fn psql(&self, sql: &str) {
        sam_testkit::run_ok(
            "psql",
            &[self.admin_url.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql],
        );
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let _ = sam_testkit::run(
            "psql",
            &[
                self.admin_url.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ],
        );
    }
}

/// The PINs samd reads from its environment for [`softhsm_source`]'s tokens (scripts/test
/// makes them with these).
pub(crate) const SOFTHSM_PINS: [(&str, &str); 2] = [
    ("SAMD_TEST_HSM_PIN", "samd-hsm-pin-4242"),
    ("SAMD_TEST_HSM_SIGN_PIN", "samd-sign-pin-5353"),
];

/// A `[[pkcs11_sources]]` entry named `name` on the SoftHSM tokens scripts/test makes (the
/// default slot and the separate signature slot), to append to samd's configuration.
pub(crate) fn softhsm_source(name: &str) -> String {
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_some(),
        "SOFTHSM2_CONF is not set: run this through scripts/test, which makes the SoftHSM tokens"
    );
    let module = std::env::var("SAM_TEST_SOFTHSM_MODULE").expect("SAM_TEST_SOFTHSM_MODULE");
    format!(
        "\n[[pkcs11_sources]]\nname = \"{name}\"\nmodule = \"{module}\"\n\
         slot_label = \"samd-hsm\"\npin_env = \"{}\"\n\
         signature_slot_label = \"samd-hsm-sign\"\nsign_pin_env = \"{}\"\n\
         model = \"SoftHSM 2\"\n",
        SOFTHSM_PINS[0].0, SOFTHSM_PINS[1].0
    )
}

/// `sam-client` against a test server: the business application `client` (HTTP Basic) and
/// the operator, each call run to its end on a runtime of the test's own.
pub(crate) struct Sam {
    runtime: tokio::runtime::Runtime,
    /// The business application.
    pub(crate) client: sam_client::SamClient,
    /// The operator.
    pub(crate) admin: sam_client::AdminClient,
    /// The connection, for device sessions.
    pub(crate) connection: sam_client::Connection,
}

impl Sam {
    /// Clients of `server` trusting its development CA; the business application is
    /// `credentials` (`id:secret`).
    pub(crate) fn new(server: &Server, credentials: &str) -> Self {
        let (id, secret) = credentials.split_once(':').unwrap();
        Self::over(
            server,
            None,
            sam_client::ClientAuth::Basic {
                client_id: id.to_owned(),
                secret: secret.to_owned().into(),
            },
        )
    }

    /// Clients of `server` over connections that present the TLS client certificate and key
    /// (PEM files) `certificate`, if given; the business application authenticates by `auth`.
    pub(crate) fn over(
        server: &Server,
        certificate: Option<(&Path, &Path)>,
        auth: sam_client::ClientAuth,
    ) -> Self {
        let ca = std::fs::read(server.data.join("dev-ca/ca.pem")).unwrap();
        let url = format!("https://{}", server.address);
        let endpoint = match certificate {
            None => sam_client::Endpoint::new(&url, &ca),
            Some((cert, key)) => sam_client::Endpoint::with_client_certificate(
                &url,
                &ca,
                &std::fs::read(cert).unwrap(),
                &std::fs::read(key).unwrap(),
            ),
        }
        .unwrap();
        let connection = sam_client::Connection::new(endpoint);
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: sam_client::SamClient::new(connection.clone(), auth),
            admin: sam_client::AdminClient::new(connection.clone(), &server.admin_token),
            connection,
        }
    }

    /// Runs `call`; a refusal fails the test with samd's reason.
    pub(crate) fn run<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, sam_client::Error>>,
    ) -> T {
        self.runtime
            .block_on(call)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `call` and gives its outcome, a refusal included.
    pub(crate) fn try_run<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, sam_client::Error>>,
    ) -> Result<T, sam_client::Error> {
        self.runtime.block_on(call)
    }
}

/// A client TLS key and certificate from the development CA (made with openssl).
pub(crate) fn client_certificate(server: &Server, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let cert = dir.join(format!("{name}.pem"));
    let ca = server.data.join("dev-ca");
    // A v3 TLS client certificate (webpki accepts no v1 certificate).
    let extensions = dir.join("client-ext.cnf");
    std::fs::write(
        &extensions,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for args in [
        vec![
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
            "-subj",
            &format!("/CN={name}"),
        ],
        vec![
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            ca.join("ca.pem").to_str().unwrap(),
            "-CAkey",
            ca.join("ca.key").to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            cert.to_str().unwrap(),
            "-extfile",
            extensions.to_str().unwrap(),
        ],
    ] {
        sam_testkit::run_ok("openssl", &args);
    }
    (cert, key)
}

/// schemathesis (from the test venv, beside `SAM_TEST_PYTHON`) over samd's OpenAPI document at
/// `document` (a path), with `args` (authentication, path filters): its report, once it
/// passed — no server error, every answer in its documented status, schema and content type.
pub(crate) fn schemathesis(server: &Server, dir: &Path, document: &str, args: &[&str]) -> String {
    let python = sam_testkit::python();
    let schemathesis = Path::new(&python).with_file_name("schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: scripts/test installs schemathesis into .venv (SAM_TEST_PYTHON)",
        schemathesis.display()
    );
    let out = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("https://{}{document}", server.address))
        .arg("--tls-verify")
        .arg(server.data.join("dev-ca/ca.pem"))
        .args(args)
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "10",
            "--seed",
            "20261122",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-color",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "schemathesis found problems in {document} {args:?}:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
    report
}

/// Runs `tests/<script>` with the test venv's python and `args`; its standard output, once
/// it exited 0 (else the test fails with both outputs).
pub(crate) fn python_script(script: &str, args: &[&std::path::Path]) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let out = std::process::Command::new(sam_testkit::python())
        .arg(&path)
        .args(args)
        .output()
        .expect("python (scripts/test sets up its venv)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
