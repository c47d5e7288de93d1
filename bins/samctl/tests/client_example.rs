//! `sam-client`'s runnable example, `sign_with_approval` (a business application written on
//! the client crate), against a `samd --dev`: it asks for a CAdES-B-B signature of a file,
//! `samctl device approve` plays the user's phone, and OpenSSL verifies what it wrote. Also
//! that it names samd's reason when the user declines.
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

/// The example, built beside samctl (`cargo test --workspace` builds every example).
fn example() -> PathBuf {
    let path = common::samctl()
        .with_file_name("examples")
        .join("sign_with_approval");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p sam-client --examples` (cargo test \
         --workspace does)",
        path.display()
    );
    path
}

/// The quickstart's setup (README.md): a profile, the client, alice with her phone and a
/// certified P-256 key. Her key's id.
fn alice(server: &Server, dir: &std::path::Path) -> String {
    profile_and_client(
        server,
        dir,
        &CLIENT,
        "name = \"Example\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    ok(run(server, dir, &CLIENT, &["user", "create", "alice"]));
    ok(run(
        server,
        dir,
        &CLIENT,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = ok(run(
        server,
        dir,
        &CLIENT,
        &["key", "generate", "alice", "--field", "key_id"],
    ));
    let csr = command(
        &common::samctl(),
        server,
        dir,
        &CLIENT,
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
        &CLIENT,
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
        &example(),
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

    let verified = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "contract.txt.p7s",
            "-content",
            "contract.txt",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
            "-CAfile",
        ])
        .arg(server.data.join("dev-ca/ca.pem"))
        .output()
        .expect("openssl (scripts/test installs it)");
    assert!(
        verified.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // Declined on the phone: the example says so and writes nothing.
    std::fs::write(dir.join("other.txt"), b"Something else.\n").unwrap();
    let mut signer = command(
        &example(),
        &server,
        &dir,
        &CLIENT,
        &["alice", &key, "other.txt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(signer.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let request = first
        .trim()
        .strip_prefix("pending ")
        .unwrap_or_else(|| panic!("the example's first line: {first:?}"))
        .to_owned();
    ok(run(
        &server,
        &dir,
        &[],
        &[
            "device",
            "decline",
            "--key-file",
            "phone.device.json",
            &request,
        ],
    ));
    let out = signer.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("request {request} was declined, not authorised")),
        "{stderr}"
    );
    assert!(!dir.join("other.txt.p7s").exists());
}
