//! The worked test vectors of `docs/sad.md`: reproduced byte for byte where signing is
//! deterministic, verified by `verify_sad`, and verified by python `cryptography`.

use std::process::Command;

use base64ct::{Base64, Encoding};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding};
use sam_keys::SigningKey;
use sam_sad::{IssuerKey, SadFormat, SadSigner, verify_sad};

use crate::fixtures::{Expected, sad};

const SAD_MD: &str = include_str!("../../../../docs/sad.md");

/// The body of the fenced block ```` ```text <name> ````.
fn block(name: &str) -> String {
    let start = format!("```text {name}\n");
    let at = SAD_MD
        .find(&start)
        .unwrap_or_else(|| panic!("docs/sad.md has no block {name}"));
    let body = &SAD_MD[at + start.len()..];
    body[..body.find("\n```").unwrap()].to_owned()
}

fn private_key(name: &str, spec: KeySpec) -> SigningKey {
    let pem = block(&format!("{name}-private-key"));
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    SigningKey::from_pkcs8_der(spec, &Base64::decode_vec(&b64).unwrap()).unwrap()
}

fn vectors() -> [(&'static str, KeySpec, RsaPadding); 3] {
    [
        ("es256", KeySpec::Ecdsa(EcCurve::P256), RsaPadding::Pkcs1v15),
        ("ps256", KeySpec::Rsa(RsaKeySize::Bits2048), RsaPadding::Pss),
        (
            "ml-dsa-65",
            KeySpec::MlDsa(MlDsaLevel::Level3),
            RsaPadding::Pkcs1v15,
        ),
    ]
}

#[test]
fn every_vector_verifies_and_es256_is_reproduced_byte_for_byte() {
    for (name, spec, padding) in vectors() {
        let key = private_key(name, spec);
        let spki = key.public_key_der().unwrap();
        let jws = block(&format!("{name}-jws"));
        let issuer = IssuerKey {
            issuer: "device:phone-1".parse().unwrap(),
            spki_der: spki,
            spec,
            padding,
        };
        let verified = verify_sad(
            jws.as_bytes(),
            SadFormat::Json,
            &issuer,
            &Expected::new().get(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.sad(), &sad(), "{name}");
        if name == "es256" {
            let signer = SadSigner::new(key, HashAlgorithm::Sha256, padding);
            assert_eq!(signer.sign_jws(&sad()).unwrap(), jws, "ES256 JWS bytes");
            let hex: String = block("es256-der-hex").lines().collect();
            let der: String = signer
                .sign_der(&sad())
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(der, hex, "ES256 DER bytes");
        }
    }
    // The seeded keys are what the document says they are.
    let scalar = HashAlgorithm::Sha256.digest(b"sam-sad test vector P-256");
    let p256 = SigningKey::from_p256_scalar(scalar.as_bytes()).unwrap();
    assert_eq!(
        p256.to_pkcs8_der().unwrap().as_slice(),
        private_key("es256", KeySpec::Ecdsa(EcCurve::P256))
            .to_pkcs8_der()
            .unwrap()
            .as_slice()
    );
    let seed = HashAlgorithm::Sha256.digest(b"sam-sad test vector ML-DSA-65");
    let ml = SigningKey::from_ml_dsa_seed(MlDsaLevel::Level3, seed.as_bytes()).unwrap();
    assert_eq!(
        ml.public_key_der().unwrap(),
        private_key("ml-dsa-65", KeySpec::MlDsa(MlDsaLevel::Level3))
            .public_key_der()
            .unwrap()
    );
}

#[test]
fn python_cryptography_verifies_the_es256_ps256_and_ml_dsa_65_vectors() {
    let python = std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import base64, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.serialization import load_der_public_key

def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

name, spki_hex, jws = sys.argv[1], sys.argv[2], sys.argv[3]
key = load_der_public_key(bytes.fromhex(spki_hex))
head, payload, sig = jws.split(".")
data, sig = (head + "." + payload).encode(), b64u(sig)
try:
    if name == "es256":
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    elif name == "ps256":
        key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    else:
        key.verify(sig, data)
    print("valid")
except InvalidSignature:
    print("invalid")
"#;
    for (name, spec, _) in vectors() {
        let spki: String = private_key(name, spec)
            .public_key_der()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let jws = block(&format!("{name}-jws"));
        let run = |token: &str| {
            let out = Command::new(&python)
                .args(["-c", script, name, &spki, token])
                .output()
                .expect("python with cryptography >= 48 (scripts/test sets it up)");
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        assert_eq!(run(&jws), "valid", "{name}");
        // A changed claim fails for python too.
        let mut parts: Vec<String> = jws.split('.').map(String::from).collect();
        parts[1] = parts[1].replacen('e', "f", 1);
        assert_eq!(run(&parts.join(".")), "invalid", "{name}");
    }
}
