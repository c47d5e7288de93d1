//! The process's activation issuer, and the independent validators.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use sam_algorithms::{KeySpec, RsaPadding};
use sam_token::{ActivationIssuer, KeyRecord, ToBeSigned};

/// The one issuer of this test binary (as the server hands its one issuer to the SAD
/// verifier).
pub(crate) fn issuer() -> &'static ActivationIssuer {
    static ISSUER: OnceLock<ActivationIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| ActivationIssuer::take().expect("first take in this process"))
}

pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sam-token-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    pub(crate) fn file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/test installs it): {e}"))
}

fn openssl_digest_name(input: &ToBeSigned<'_>) -> &'static str {
    let ToBeSigned::Digest(d) = input else {
        panic!("openssl checks digests")
    };
    match d.algorithm().name() {
        "sha224" => "sha224",
        "sha256" => "sha256",
        "sha384" => "sha384",
        "sha512" => "sha512",
        "sha3-224" => "sha3-224",
        "sha3-256" => "sha3-256",
        "sha3-384" => "sha3-384",
        _ => "sha3-512",
    }
}

/// Verifies an RSA or ECDSA signature over a digest with `openssl pkeyutl -verify`.
pub(crate) fn openssl_verify(
    key: &KeyRecord,
    padding: RsaPadding,
    input: &ToBeSigned<'_>,
    sig: &[u8],
) -> bool {
    let ToBeSigned::Digest(digest) = input else {
        panic!("openssl checks digests")
    };
    let dir = TempDir::new("openssl");
    let public = dir.file("public.der", &key.public_key_der);
    let digest_file = dir.file("digest.bin", digest.as_bytes());
    let sig_file = dir.file("sig.bin", sig);
    let mut args = vec![
        "pkeyutl",
        "-verify",
        "-pubin",
        "-keyform",
        "DER",
        "-inkey",
        &public,
        "-in",
        &digest_file,
        "-sigfile",
        &sig_file,
    ];
    let digest_opt = format!("digest:{}", openssl_digest_name(input));
    if let KeySpec::Rsa(_) = key.spec {
        args.extend(["-pkeyopt", &digest_opt]);
        if padding == RsaPadding::Pss {
            args.extend([
                "-pkeyopt",
                "rsa_padding_mode:pss",
                "-pkeyopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
    }
    let out = run("openssl", &args);
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("Signature Verified Successfully")
}

/// The python interpreter with the `cryptography` package (scripts/test sets it up).
fn python() -> String {
    std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Verifies an ML-DSA signature over `message` with python `cryptography`.
pub(crate) fn python_verify_ml_dsa(key: &KeyRecord, message: &[u8], sig: &[u8]) -> bool {
    let dir = TempDir::new("python");
    let public = dir.file("public.der", &key.public_key_der);
    let msg = dir.file("message.bin", message);
    let sig_file = dir.file("sig.bin", sig);
    let script = r#"
import sys
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.exceptions import InvalidSignature
key = load_der_public_key(open(sys.argv[1], "rb").read())
try:
    key.verify(open(sys.argv[3], "rb").read(), open(sys.argv[2], "rb").read())
    print("valid")
except InvalidSignature:
    print("invalid")
"#;
    let out = run(&python(), &["-c", script, &public, &msg, &sig_file]);
    assert!(
        out.status.success(),
        "python cryptography (>= 48, with ML-DSA) is needed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim() == "valid"
}

/// Serialises the tests that use SoftHSM: SoftHSM 2.6.1 can fail a token-object operation with
/// `CKR_GENERAL_ERROR` when other sessions of the process create objects in the same token at
/// the same moment (STACK.md), which made `concurrent_requests_get_sessions_of_their_own` flaky
/// in CI. Concurrency *within* a test (what that test is about) is unaffected.
pub(crate) fn hsm_lock() -> std::sync::MutexGuard<'static, ()> {
    static HSM: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HSM.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
