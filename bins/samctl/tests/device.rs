//! A device written from the docs alone (`outside_device.py`: pyca `cryptography` and
//! `asn1crypto`, no sam code) enrols, opens a session, decodes the DER request, signs a SAD in
//! the server's format and answers it, and the business application's raw signature verifies
//! — for P-256, RSA-PSS and ML-DSA-65 device keys, against a samd with JSON SADs and one with
//! DER SADs (docs/device.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The profile of a device kind: a P-256 signing key, the kind's authorisation key.
fn profile(kind: &str) -> String {
    let device_key = match kind {
        "es256" => r#"{ algorithm = "ecdsa", curve_type = "nist-p", key_length = 256 }"#,
        "ps256" => r#"{ algorithm = "rsa", key_length = 2048 }"#,
        "ml-dsa-65" => r#"{ algorithm = "ml-dsa", security_level = 3 }"#,
        other => panic!("kind {other}"),
    };
    format!(
        "name = \"Device {kind}\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = {{ algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }}\n\
         [authorisation_key]\nkey = {device_key}\n"
    )
}

fn outside_device(server: &Server, dir: &Path, sad_format: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside_device.py");
    for kind in ["es256", "ps256", "ml-dsa-65"] {
        let client_id = format!("app-{kind}");
        let secret = format!("a-secret-of-{kind}-apps");
        let env = [
            ("SAM_CLIENT_ID", client_id.as_str()),
            ("SAM_CLIENT_SECRET", secret.as_str()),
        ];
        let profile_id = profile_and_client(server, dir, &env, &profile(kind));
        let out = Command::new(sam_testkit::python())
            .arg(&script)
            .arg(format!("https://{}", server.address))
            .arg(server.data.join("dev-ca/ca.pem"))
            .args([&client_id, &secret, &profile_id, kind])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{kind}, {sad_format} SADs: the device from the docs failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!(
                "{kind} {sad_format}: enrolled, approved, signed and verified"
            )),
            "{said}"
        );
    }
}

#[test]
fn a_device_written_from_the_docs_enrols_and_approves() {
    let dir = scratch("outside-device-json");
    let server = start_samd(&dir, None);
    outside_device(&server, &dir, "json");

    let dir = scratch("outside-device-der");
    let der = |config: String| config.replace("[signing]\n", "[signing]\nsad_format = \"der\"\n");
    let server = start_samd(&dir, Some(&der));
    outside_device(&server, &dir, "der");
}
