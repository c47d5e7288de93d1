//! Delegated IdP assertions: a JWT from an OpenID Connect provider, checked against the
//! profile's IdP certificate. The certificate is made by OpenSSL; one token is signed by
//! python `cryptography`, the others by `sam-keys`.

use std::process::Command;

use base64ct::{Base64UrlUnpadded, Encoding};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding, UnixTime};
use sam_keys::{Input, SigningKey};
use sam_sad::{AssertionError, IdpTrust, UserId, UserIdClaim, verify_idp_jwt};
use serde_json::json;

struct Idp {
    key: SigningKey,
    key_pem: String,
    certificate_der: Vec<u8>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An IdP with a P-256 key and a self-signed certificate, made by OpenSSL.
fn idp(tag: &str) -> Idp {
    let dir = std::env::temp_dir().join(format!("sam-idp-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let cert = dir.join("cert.der");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        key.to_str().unwrap(),
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=Example IdP",
        "-days",
        "30",
        "-outform",
        "DER",
        "-out",
        cert.to_str().unwrap(),
    ]);
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let b64: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64ct::Base64::decode_vec(&b64).unwrap();
    let idp = Idp {
        key: SigningKey::from_pkcs8_der(KeySpec::Ecdsa(EcCurve::P256), &der).unwrap(),
        key_pem,
        certificate_der: std::fs::read(&cert).unwrap(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    idp
}

fn b64(v: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(v)
}

/// An ES256 JWT over `claims` with header `header`, signed by `key`.
fn jwt(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let der = key
        .sign(
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(input.as_bytes())),
        )
        .unwrap();
    // DER ECDSA-Sig-Value to r ‖ s.
    let (r, s) = der_to_rs(&der);
    format!("{input}.{}", b64(&[r, s].concat()))
}

fn der_to_rs(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let int = |at: usize| -> (Vec<u8>, usize) {
        let len = der[at + 1] as usize;
        let v = &der[at + 2..at + 2 + len];
        let v = if v.len() > 32 { &v[v.len() - 32..] } else { v };
        let mut out = vec![0u8; 32 - v.len()];
        out.extend_from_slice(v);
        (out, at + 2 + len)
    };
    let (r, next) = int(2);
    let (s, _) = int(next);
    (r, s)
}

fn claims(n: i64) -> serde_json::Value {
    json!({
        "iss": "https://idp.example.org",
        "aud": ["bank-app", "other"],
        "sub": "alice@example.org",
        "email": "alice@example.org",
        "iat": n - 5, "nbf": n - 5, "exp": n + 60,
    })
}

fn trust<'a>(idp: &'a Idp, n: i64, user_id: UserIdClaim<'a>) -> IdpTrust<'a> {
    IdpTrust {
        certificate_der: &idp.certificate_der,
        issuer: "https://idp.example.org",
        audience: "bank-app",
        user_id,
        clock_tolerance_secs: 30,
        now: UnixTime::from_secs(n).unwrap(),
    }
}

fn alice() -> UserId {
    "alice@example.org".parse().unwrap()
}

#[test]
fn a_valid_assertion_names_the_user() {
    let idp = idp("ok");
    let n = now();
    let token = jwt(&idp.key, &json!({"alg": "ES256", "typ": "JWT"}), &claims(n));
    let verified = verify_idp_jwt(&token, &trust(&idp, n, UserIdClaim::Subject), &alice()).unwrap();
    assert_eq!(verified.user_id, alice());
    let by_email = verify_idp_jwt(
        &token,
        &trust(&idp, n, UserIdClaim::Attribute("email")),
        &alice(),
    );
    assert!(by_email.is_ok(), "{by_email:?}");
}

#[test]
fn each_refusal_has_its_own_error() {
    let idp = idp("refusals");
    let other = idp_key_only();
    let n = now();
    let header = json!({"alg": "ES256"});
    let t = |idp_key: &SigningKey, header: &serde_json::Value, c: serde_json::Value| {
        jwt(idp_key, header, &c)
    };
    let check = |token: &str, claim: UserIdClaim<'_>, at: i64| {
        verify_idp_jwt(token, &trust(&idp, at, claim), &alice())
    };

    let mut c = claims(n);
    c["iss"] = json!("https://evil.example.org");
    assert!(matches!(
        check(&t(&idp.key, &header, c), UserIdClaim::Subject, n),
        Err(AssertionError::WrongIssuer { .. })
    ));

    let mut c = claims(n);
    c["aud"] = json!("another-app");
    assert!(matches!(
        check(&t(&idp.key, &header, c), UserIdClaim::Subject, n),
        Err(AssertionError::WrongAudience { .. })
    ));

    // Expired: valid until exp + tolerance (30 s), refused from then on.
    let token = t(&idp.key, &header, claims(n));
    assert!(check(&token, UserIdClaim::Subject, n + 60 + 29).is_ok());
    assert!(matches!(
        check(&token, UserIdClaim::Subject, n + 60 + 30),
        Err(AssertionError::Expired(_))
    ));
    // Not yet valid beyond the tolerance: `nbf` (or `iat`) 30 s ahead is tolerated, 31 s not.
    for (claim, ahead, ok) in [
        ("nbf", 30, true),
        ("nbf", 31, false),
        ("iat", 30, true),
        ("iat", 31, false),
    ] {
        let mut c = claims(n);
        c[claim] = json!(n + ahead);
        let r = check(&t(&idp.key, &header, c), UserIdClaim::Subject, n);
        assert_eq!(r.is_ok(), ok, "{claim} +{ahead}: {r:?}");
        if !ok {
            assert!(matches!(r, Err(AssertionError::NotYetValid(_))), "{r:?}");
        }
    }

    // Signed by another key.
    assert!(matches!(
        check(&t(&other, &header, claims(n)), UserIdClaim::Subject, n),
        Err(AssertionError::BadSignature)
    ));

    // alg none (with or without a signature), HS256 with the public key as secret, another
    // curve's algorithm: refused before any signature check.
    let parts: Vec<String> = token.split('.').map(String::from).collect();
    for alg in ["none", "HS256", "ES384", "RS256", "PS256"] {
        let forged = format!(
            "{}.{}.{}",
            b64(json!({"alg": alg}).to_string().as_bytes()),
            parts[1],
            parts[2]
        );
        assert!(
            matches!(
                check(&forged, UserIdClaim::Subject, n),
                Err(AssertionError::Algorithm(_))
            ),
            "{alg}"
        );
        let unsigned = format!(
            "{}.{}.",
            b64(json!({"alg": alg}).to_string().as_bytes()),
            parts[1]
        );
        assert!(check(&unsigned, UserIdClaim::Subject, n).is_err(), "{alg}");
    }

    // The user id missing from the named attribute, or not a user id.
    assert!(matches!(
        check(&token, UserIdClaim::Attribute("upn"), n),
        Err(AssertionError::UserIdMissing(_))
    ));
    let mut c = claims(n);
    c["email"] = json!("not a user id!");
    assert!(matches!(
        check(&t(&idp.key, &header, c), UserIdClaim::Attribute("email"), n),
        Err(AssertionError::UserIdMissing(_))
    ));
    // Another user than the SAD's subject.
    let mut c = claims(n);
    c["sub"] = json!("mallory");
    assert!(matches!(
        check(&t(&idp.key, &header, c), UserIdClaim::Subject, n),
        Err(AssertionError::OtherUser { .. })
    ));

    // Garbage in every part.
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        &format!("{}.{}.{}", parts[0], "e30", parts[2]),
    ] {
        assert!(check(bad, UserIdClaim::Subject, n).is_err(), "{bad}");
    }
    // An IdP certificate that is not one.
    let broken = IdpTrust {
        certificate_der: b"not a certificate",
        ..trust(&idp, n, UserIdClaim::Subject)
    };
    assert!(matches!(
        verify_idp_jwt(&token, &broken, &alice()),
        Err(AssertionError::Certificate(_))
    ));
}

fn idp_key_only() -> SigningKey {
    SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap()
}

#[test]
fn an_assertion_signed_by_python_cryptography_verifies() {
    let idp = idp("python");
    let n = now();
    let python = std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
key = serialization.load_pem_private_key(sys.argv[1].encode(), password=None)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
claims = b64(sys.argv[2].encode())
r, s = utils.decode_dss_signature(key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
print(f"{header}.{claims}." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
"#;
    let out = Command::new(&python)
        .args(["-c", script, &idp.key_pem, &claims(n).to_string()])
        .output()
        .expect("python with cryptography (scripts/test sets it up)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let verified = verify_idp_jwt(
        token.trim(),
        &trust(&idp, n, UserIdClaim::Subject),
        &alice(),
    )
    .unwrap();
    assert_eq!(verified.user_id, alice());
}

proptest::proptest! {
    /// The fuzz harness of `fuzz/fuzz_targets/idp_jwt.rs`, on stable.
    #[test]
    fn arbitrary_tokens_never_panic(text in "\\PC{0,300}") {
        let trust = IdpTrust {
            certificate_der: b"",
            issuer: "i",
            audience: "a",
            user_id: UserIdClaim::Subject,
            clock_tolerance_secs: 0,
            now: UnixTime::EPOCH,
        };
        let _ = verify_idp_jwt(&text, &trust, &alice());
    }
}
