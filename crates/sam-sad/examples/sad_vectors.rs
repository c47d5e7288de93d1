//! Prints the worked test vectors of `docs/sad.md`: three keys (ES256, PS256, ML-DSA-65) as
//! PKCS#8, and the SAD of the tests signed with each, as JWS, plus the ES256 DER SAD.
//!
//! ES256 (RFC 6979) and its DER SAD are deterministic: the test `vectors` re-signs and
//! compares bytes. PS256 and hedged ML-DSA are randomised: their vectors are checked by
//! verification (ours and python `cryptography`). The RSA key is random each run, so the
//! document keeps the one it was generated with.
//!
//! Run: `cargo run -p sam-sad --example sad_vectors`
#![allow(clippy::expect_used, clippy::print_stdout)]

use base64ct::{Base64, Encoding};
use sam_algorithms::{
    EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding, UnixTime,
};
use sam_keys::SigningKey;
use sam_sad::{AuthMethod, Id128, Sad, SadMode, SadSigner, Scal};

/// The SAD of the vectors (the tests' fixture).
fn sad() -> Sad {
    Sad {
        sad_id: Id128::from_bytes([1; 16]),
        request_id: Id128::from_bytes([2; 16]),
        issuer: "device:phone-1".parse().expect("issuer"),
        subject: "alice@example.org".parse().expect("subject"),
        audience: "sam.example.org".parse().expect("audience"),
        key_id: "alice-sign-1".parse().expect("key id"),
        profile_id: 7,
        scal: Scal::Scal2,
        hash_algorithm: HashAlgorithm::Sha256,
        hashes: vec![
            HashAlgorithm::Sha256.digest(b"contract.pdf"),
            HashAlgorithm::Sha256.digest(b"annex.pdf"),
        ],
        num_signatures: 2,
        mode: SadMode::Transaction,
        auth_method: AuthMethod::Device,
        assertion: None,
        issued_at: UnixTime::from_secs(1_795_000_000).expect("time"),
        expires_at: UnixTime::from_secs(1_795_000_300).expect("time"),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----"));
    out
}

fn main() {
    let p256 = {
        // PKCS#8 of a fixed P-256 scalar: SHA-256("sam-sad test vector P-256").
        let scalar = HashAlgorithm::Sha256.digest(b"sam-sad test vector P-256");
        sam_keys::SigningKey::from_p256_scalar(scalar.as_bytes()).expect("valid scalar")
    };
    let ml = {
        let seed = HashAlgorithm::Sha256.digest(b"sam-sad test vector ML-DSA-65");
        SigningKey::from_ml_dsa_seed(MlDsaLevel::Level3, seed.as_bytes()).expect("seed")
    };
    let rsa = SigningKey::generate(KeySpec::Rsa(RsaKeySize::Bits2048)).expect("RSA key");
    for (name, key, padding) in [
        ("es256", p256, RsaPadding::Pkcs1v15),
        ("ps256", rsa, RsaPadding::Pss),
        ("ml-dsa-65", ml, RsaPadding::Pkcs1v15),
    ] {
        let pkcs8 = key.to_pkcs8_der().expect("PKCS#8");
        let spec = key.spec();
        let signer = SadSigner::new(key, HashAlgorithm::Sha256, padding);
        println!(
            "```text {name}-private-key\n{}\n```\n",
            pem("PRIVATE KEY", &pkcs8)
        );
        println!(
            "```text {name}-jws\n{}\n```\n",
            signer.sign_jws(&sad()).expect("JWS")
        );
        if spec == KeySpec::Ecdsa(EcCurve::P256) {
            let der = signer.sign_der(&sad()).expect("DER");
            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
            let lines: Vec<&str> = hex
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).expect("hex"))
                .collect();
            println!("```text {name}-der-hex\n{}\n```\n", lines.join("\n"));
        }
    }
}
