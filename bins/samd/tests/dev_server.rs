//! The `samd` binary end to end: `samd --dev` makes a development setup, serves HTTPS that a
//! client trusting the development CA reaches (`curl`), stops gracefully on SIGTERM, and a
//! second start reuses the setup; a bad configuration fails at start naming the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn scratch(tag: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("samd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts samd with `args`; returns the child, its stdout lines up to the listening line, and
/// the address.
fn start(args: &[&str]) -> (Running, Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_samd"))
        .args(args)
        .env("SAMD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("samd: listening on https://");
        lines.push(line);
        if done {
            let address = lines
                .last()
                .unwrap()
                .trim_start_matches("samd: listening on https://")
                .to_owned();
            return (Running(Some(child)), lines, address);
        }
    }
    let _ = child.kill();
    let status = child.wait();
    panic!("samd stopped before listening ({status:?}): {lines:?}");
}

fn curl(ca: &Path, url: &str) -> (bool, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .expect("curl (scripts/test installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Kills samd if a test fails before stopping it (so no server outlives its test).
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn stop(mut running: Running) {
    let mut child = running.0.take().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "samd exited with {exit}");
}

#[test]
fn dev_setup_serves_https_stops_gracefully_and_is_reused() {
    let dir = scratch("dev");
    let data = dir.join("sam-data");
    let data_arg = data.to_str().unwrap();
    let (child, lines, address) =
        start(&["--dev", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    let text = lines.join("\n");
    assert!(text.contains("DEVELOPMENT SETUP"), "{text}");
    let credential_line = lines
        .iter()
        .find(|l| l.contains("admin credential"))
        .expect("the admin credential is shown on first start");
    let credential = credential_line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(credential.len(), 48);
    // Stored only as an Argon2id hash; secrets are private files.
    let phc = std::fs::read_to_string(data.join("admin.phc")).unwrap();
    assert!(phc.starts_with("$argon2id$") && !phc.contains(&credential));
    for secret in [
        "admin.phc",
        "keys/master.key",
        "tls/key.pem",
        "dev-ca/ca.key",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }

    let ca = data.join("dev-ca/ca.pem");
    let (ok, body) = curl(&ca, &format!("https://{address}/healthz"));
    assert!(ok, "{body}");
    assert_eq!(body, "ok\n");
    let (ok, body) = curl(&ca, &format!("https://{address}/readyz"));
    assert!(ok && body == "ready\n", "{body}");
    // A client that does not trust the development CA is refused at the handshake.
    let (ok, _) = curl(
        Path::new("/etc/ssl/certs/ca-certificates.crt"),
        &format!("https://{address}/healthz"),
    );
    assert!(!ok);
    let first_ca = std::fs::read(&ca).unwrap();
    stop(child);

    // The second start reuses everything and shows no credential.
    let (child, lines, address) =
        start(&["--dev", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    assert!(
        !lines.iter().any(|l| l.contains("admin credential")),
        "{lines:?}"
    );
    assert_eq!(std::fs::read(&ca).unwrap(), first_ca);
    let (ok, body) = curl(&ca, &format!("https://{address}/healthz"));
    assert!(ok, "{body}");
    stop(child);

    // The written configuration serves as a plain --config too.
    let config = data.join("samd.toml");
    let (child, _, address) = start(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let (ok, _) = curl(&ca, &format!("https://{address}/readyz"));
    assert!(ok);
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_configuration_fails_at_start_naming_the_key() {
    let dir = scratch("badconfig");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let base = format!(
        "data_dir = {:?}\n[tls]\ncertificate = \"cert.pem\"\nkey = \"key.pem\"\n\
         [software_source]\nmaster_key_file = \"master.key\"\n",
        dir.display().to_string()
    );
    for (name, text, expected) in [
        (
            "unknown.toml",
            format!("{base}colour = \"blue\"\n"),
            "colour",
        ),
        (
            "format.toml",
            format!("{base}[signing]\nsad_format = \"xml\"\n"),
            // Refused by the parser: the line, the value and what is allowed.
            "unknown variant `xml`, expected `json` or `der`",
        ),
        ("missing-files.toml", base.clone(), "TLS certificate"),
    ] {
        let path = write(name, &text);
        let out = Command::new(env!("CARGO_BIN_EXE_samd"))
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    // Neither --config nor --dev: a pointer to --help.
    let out = Command::new(env!("CARGO_BIN_EXE_samd")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dev"));
    // --help teaches by example.
    let out = Command::new(env!("CARGO_BIN_EXE_samd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("samd --dev"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One HTTPS request with curl: (status, body).
fn http(ca: &Path, method: &str, url: &str, headers: &[&str], body: Option<&str>) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--show-error", "--cacert"])
        .arg(ca)
        .args(["-X", method, "-w", "\n%{http_code}"]);
    for h in headers {
        command.args(["-H", h]);
    }
    if let Some(body) = body {
        command.args([
            "-H",
            "content-type: application/json",
            "--data-binary",
            body,
        ]);
    }
    let out = command.arg(url).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let status: u16 = status.parse().unwrap();
    if status == 0 {
        // No answer: say why (curl's own message).
        return (0, String::from_utf8_lossy(&out.stderr).into_owned());
    }
    (status, body.to_owned())
}

fn basic(id: &str, secret: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("base64")
        .args(["-w", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{id}:{secret}").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "authorization: Basic {}",
        String::from_utf8(out.stdout).unwrap()
    )
}

#[test]
fn clients_register_with_the_admin_credential_and_manage_users_over_https() {
    let dir = scratch("api");
    let data = dir.join("sam-data");
    let (child, lines, address) = start(&[
        "--dev",
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let admin = lines
        .iter()
        .find(|l| l.contains("admin credential"))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let ca = data.join("dev-ca/ca.pem");
    let url = |path: &str| format!("https://{address}{path}");
    let bearer = format!("authorization: Bearer {admin}");

    // The admin API needs the admin credential.
    let client = r#"{"client_id": "portal"}"#;
    let (status, body) = http(&ca, "POST", &url("/admin/v1/clients"), &[], Some(client));
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("\"error\":\"admin_authentication_failed\""),
        "{body}"
    );
    let (status, _) = http(
        &ca,
        "POST",
        &url("/admin/v1/clients"),
        &["authorization: Bearer not-the-credential"],
        Some(client),
    );
    assert_eq!(status, 401);
    let (status, body) = http(
        &ca,
        "POST",
        &url("/admin/v1/clients"),
        &[&bearer],
        Some(client),
    );
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"client_id\":\"portal\""), "{body}");
    let (status, _) = http(
        &ca,
        "POST",
        &url("/admin/v1/clients"),
        &[&bearer],
        Some(client),
    );
    assert_eq!(status, 409);
    let secret = "correct horse battery staple";
    let (status, body) = http(
        &ca,
        "PUT",
        &url("/admin/v1/clients/portal/secret"),
        &[&bearer],
        Some(&format!("{{\"secret\": \"{secret}\"}}")),
    );
    assert_eq!(status, 204, "{body}");

    // The client API with HTTP Basic.
    let portal = basic("portal", secret);
    let alice = r#"{"user_id": "alice", "email": "alice@example.com"}"#;
    for auth in [
        vec![],
        vec![basic("portal", "wrong secret wrong secret")],
        vec![basic("nobody", secret)],
    ] {
        let headers: Vec<&str> = auth.iter().map(String::as_str).collect();
        let (status, body) = http(&ca, "POST", &url("/api/v1/users"), &headers, Some(alice));
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("client_authentication_failed"), "{body}");
    }
    let (status, body) = http(&ca, "POST", &url("/api/v1/users"), &[&portal], Some(alice));
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(&ca, "GET", &url("/api/v1/users/alice"), &[&portal], None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"email\":\"alice@example.com\""), "{body}");
    let (status, body) = http(&ca, "GET", &url("/api/v1/users/nobody"), &[&portal], None);
    assert_eq!((status, body.contains("not_found")), (404, true), "{body}");

    // Bad input: a clear error in the API's format, and nothing changes.
    for bad in [
        r#"{"user_id": "bob""#,
        r#"{"user_id": "bob", "colour": 1}"#,
        r#"{"user_id": "../x"}"#,
    ] {
        let (status, body) = http(&ca, "POST", &url("/api/v1/users"), &[&portal], Some(bad));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("\"error\":\"invalid_request\""), "{body}");
    }
    let big = format!(r#"{{"user_id": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
    let big_file = dir.join("big.json");
    std::fs::write(&big_file, big).unwrap();
    // Over the body limit (4 MiB): 413 in the API's format.
    let out = Command::new("curl")
        .args(["--silent", "--cacert"])
        .arg(&ca)
        .args([
            "-H",
            &portal,
            "-H",
            "content-type: application/json",
            "-H",
            "expect:",
        ])
        .args(["-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", big_file.display()))
        .arg(url("/api/v1/users"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("\n413") && text.contains("\"error\":\"payload_too_large\""),
        "{text}"
    );
    let (status, body) = http(&ca, "GET", &url("/api/v1/users?limit=10"), &[&portal], None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"user_id\":\"alice\"") && !body.contains("bob"),
        "{body}"
    );
    let (status, _) = http(&ca, "DELETE", &url("/api/v1/users/alice"), &[&portal], None);
    assert_eq!(status, 204);
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
