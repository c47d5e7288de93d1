//! The `sign_file` example produces a file that `openssl cms -verify` accepts.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding};

use crate::fixtures::{Pki, Signer, run, scratch, write};

/// `cargo test` builds the examples beside the test binaries' `deps` directory.
fn example(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn sign_file_output_is_accepted_by_openssl() {
    for (spec, hash, padding, extra) in [
        (
            KeySpec::Ecdsa(EcCurve::P256),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
            None,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha256,
            RsaPadding::Pss,
            Some("--pss"),
        ),
    ] {
        let signer = Signer::new(spec, hash, padding);
        let dir = scratch("example");
        let pkcs8 = signer.key.to_pkcs8_der().unwrap();
        let key_pem =
            der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8).unwrap();
        let key = write(&dir, "key.pem", key_pem.as_bytes());
        let cert = write(&dir, "cert.pem", signer.cert_pem().as_bytes());
        let input = write(&dir, "contract.txt", b"I agree.\n");
        let output = dir.join("contract.txt.p7s").to_string_lossy().into_owned();
        let mut args = vec![
            "--key",
            &key,
            "--cert",
            &cert,
            "--format",
            "cades-b-b",
            "--in",
            &input,
            "--out",
            &output,
        ];
        args.extend(extra);
        let out = run(&example("sign_file"), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let verified = run(
            "openssl",
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                &output,
                "-content",
                &input,
                "-CAfile",
                &Pki::get().ca_pem,
                "-out",
                "/dev/null",
            ],
        );
        assert!(
            verified.status.success(),
            "{spec}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn sign_file_explains_its_usage_and_refuses_bad_input_clearly() {
    let help = run(&example("sign_file"), &["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("openssl cms -verify"));

    let missing = run(&example("sign_file"), &["--key", "k.pem"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--cert is required"));

    let bad_format = run(&example("sign_file"), &["--format", "pdf"]);
    assert!(String::from_utf8_lossy(&bad_format.stderr).contains("unknown signature format"));

    let dir = scratch("example-bad");
    let cert = write(&dir, "cert.pem", b"not a certificate");
    let out = run(
        &example("sign_file"),
        &[
            "--key",
            &cert,
            "--cert",
            &cert,
            "--in",
            &cert,
            "--out",
            "/dev/null",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a PEM certificate"));
    let _ = std::fs::remove_dir_all(&dir);
}
