//! What `sam-algorithms` computes and encodes, compared with what OpenSSL computes and writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::{Decode, Encode};
use sam_algorithms::{EcCurve, HashAlgorithm, SignatureAlgorithm};
use x509_cert::Certificate;

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command is needed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sam-algorithms-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl_name(alg: HashAlgorithm) -> &'static str {
    match alg {
        HashAlgorithm::Sha224 => "sha224",
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
        HashAlgorithm::Sha3_224 => "sha3-224",
        HashAlgorithm::Sha3_256 => "sha3-256",
        HashAlgorithm::Sha3_384 => "sha3-384",
        HashAlgorithm::Sha3_512 => "sha3-512",
        _ => unreachable!("every algorithm is listed"),
    }
}

#[test]
fn digests_match_openssl_for_all_eight_hashes() {
    let dir = TempDir::new("digest");
    // 1 MiB + 7 bytes of a simple pseudo-random sequence: many blocks and a ragged tail.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..(1 << 20) + 7)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let file = dir.path("data.bin");
    std::fs::write(&file, &data).unwrap();
    for alg in HashAlgorithm::ALL {
        let flag = format!("-{}", openssl_name(alg));
        let expected = openssl(&["dgst", &flag, "-binary", &file]);
        let mut hasher = alg.hasher();
        for chunk in data.chunks(4093) {
            hasher.update(chunk);
        }
        assert_eq!(hasher.finalize().as_bytes(), &expected[..], "{alg}");
    }
}

/// The `signatureAlgorithm` DER of a certificate OpenSSL signs with `key` and `args`.
fn openssl_signature_algorithm(dir: &TempDir, key: &str, args: &[&str]) -> Vec<u8> {
    let cert = dir.path("cert.der");
    let mut all = vec![
        "req",
        "-x509",
        "-new",
        "-key",
        key,
        "-subj",
        "/CN=sam test",
        "-days",
        "1",
    ];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-outform", "DER", "-out", &cert]);
    openssl(&all);
    let der = std::fs::read(&cert).unwrap();
    Certificate::from_der(&der)
        .unwrap()
        .signature_algorithm()
        .to_der()
        .unwrap()
}

fn key(dir: &TempDir, name: &str, args: &[&str]) -> String {
    let path = dir.path(name);
    let mut all = vec!["genpkey"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-out", &path]);
    openssl(&all);
    path
}

#[test]
fn signature_algorithm_identifiers_match_what_openssl_writes() {
    let dir = TempDir::new("sigalg");
    let rsa = key(
        &dir,
        "rsa.pem",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let ec = key(
        &dir,
        "ec.pem",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
    );
    for hash in HashAlgorithm::ALL {
        let digest = format!("-{}", openssl_name(hash));

        // RSA PKCS#1 v1.5. OpenSSL 3.0 writes NULL parameters for SHA-3 too, where RFC 9688
        // has them absent: `sam` writes the RFC's form and reads both.
        let theirs = openssl_signature_algorithm(&dir, &rsa, &[&digest]);
        let ours = SignatureAlgorithm::RsaPkcs1v15(hash);
        assert_eq!(
            SignatureAlgorithm::from_der(&theirs).unwrap(),
            ours,
            "{ours}"
        );
        if !hash.is_sha3() {
            assert_eq!(ours.to_der().unwrap(), theirs, "{ours}");
        }

        // ECDSA: parameters absent everywhere.
        let theirs = openssl_signature_algorithm(&dir, &ec, &[&digest]);
        let ours = SignatureAlgorithm::Ecdsa(hash);
        assert_eq!(
            SignatureAlgorithm::from_der(&theirs).unwrap(),
            ours,
            "{ours}"
        );
        assert_eq!(ours.to_der().unwrap(), theirs, "{ours}");
    }
    // RSASSA-PSS with salt = hash length (the form every `sam` signer uses).
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        let digest = format!("-{}", openssl_name(hash));
        let theirs = openssl_signature_algorithm(
            &dir,
            &rsa,
            &[
                &digest,
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ],
        );
        let ours = SignatureAlgorithm::RsaPss(hash);
        assert_eq!(
            SignatureAlgorithm::from_der(&theirs).unwrap(),
            ours,
            "{ours}"
        );
        assert_eq!(ours.to_der().unwrap(), theirs, "{ours}");
    }
    // PSS with OpenSSL's other salt choice is refused, not misread.
    let theirs = openssl_signature_algorithm(
        &dir,
        &rsa,
        &[
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:max",
        ],
    );
    assert!(SignatureAlgorithm::from_der(&theirs).is_err());
}

#[test]
fn curve_oids_match_openssl() {
    let dir = TempDir::new("curves");
    for curve in EcCurve::ALL {
        let name = match curve {
            EcCurve::P224 => "secp224r1",
            EcCurve::P256 => "prime256v1",
            EcCurve::P384 => "secp384r1",
            EcCurve::P521 => "secp521r1",
            other => other.name(),
        };
        let out = dir.path("params.der");
        openssl(&["ecparam", "-name", name, "-outform", "DER", "-out", &out]);
        let theirs = std::fs::read(Path::new(&out)).unwrap();
        assert_eq!(curve.oid().to_der().unwrap(), theirs, "{curve}");
    }
}

#[test]
fn hash_oids_match_openssl() {
    for alg in HashAlgorithm::ALL {
        let theirs = openssl(&[
            "asn1parse",
            "-genstr",
            &format!("OID:{}", openssl_name(alg).to_uppercase()),
            "-noout",
            "-out",
            "/dev/stdout",
        ]);
        assert_eq!(alg.oid().to_der().unwrap(), theirs, "{alg}");
    }
}
