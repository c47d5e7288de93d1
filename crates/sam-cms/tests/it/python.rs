//! pyHanko validates CAdES-B-B and B-T (ESS signing-certificate-v2 included) and refuses a
//! wrong ESS hash; python `cryptography` verifies ML-DSA-65 CMS signer infos.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use sam_algorithms::{
    EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding, SignatureAlgorithm,
    UnixTime,
};
use sam_cms::attributes::SigningCertificateV2;
use sam_cms::http::HttpTransport;
use sam_cms::{
    CmsError, Content, Detached, Format, Level, LocalSigner, Services, SignatureRequest,
    TimeStampClient, ToBeSigned, oids, prepare, sign, verify,
};
use sam_keys::SigningKey;

use crate::fixtures::{
    LocalTsa, Pki, Signer, TsaBehaviour, certificate, python, run, scratch, write,
};

const DOCUMENT: &[u8] = b"a document validated by pyHanko";

const PYHANKO: &str = r#"
import sys, asyncio
from asn1crypto import cms, pem, x509
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

def load_cert(path):
    data = open(path, "rb").read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)

sig, content, ca = sys.argv[1:4]
context = ValidationContext(trust_roots=[load_cert(ca)], allow_fetching=False, revocation_mode="soft-fail")
info = cms.ContentInfo.load(open(sig, "rb").read())
try:
    status = asyncio.run(async_validate_detached_cms(
        open(content, "rb").read(), info["content"],
        signer_validation_context=context, ts_validation_context=context))
except Exception as e:
    print("error:", type(e).__name__, e)
    sys.exit(0)
print("intact", status.intact)
print("valid", status.valid)
print("trusted", status.trusted)
ts = status.timestamp_validity
print("timestamp", None if ts is None else bool(ts.intact and ts.valid and ts.trusted))
"#;

fn pyhanko(signature: &[u8], content: &[u8]) -> String {
    let dir = scratch("pyhanko");
    let sig = write(&dir, "sig.p7s", signature);
    let data = write(&dir, "content.bin", content);
    let out = run(&python(), &["-c", PYHANKO, &sig, &data, &Pki::get().ca_pem]);
    assert!(
        out.status.success(),
        "pyHanko is needed (scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn request(signer: &Signer, format: Format) -> SignatureRequest<'static> {
    SignatureRequest::new(
        format,
        signer.algorithm,
        Content::Detached(DOCUMENT),
        vec![signer.certificate.clone()],
        UnixTime::parse_rfc3339("2026-11-22T12:00:00Z").unwrap(),
    )
}

#[test]
fn pyhanko_validates_cades_b_b_and_b_t() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    for (spec, hash, padding) in [
        (
            KeySpec::Ecdsa(EcCurve::P256),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha512,
            RsaPadding::Pkcs1v15,
        ),
    ] {
        let signer = Signer::new(spec, hash, padding);
        let b_b = sign(
            &request(&signer, Format::CadesBB),
            &signer.local(),
            &Services::none(),
        )
        .unwrap();
        let report = pyhanko(&b_b, DOCUMENT);
        assert!(
            report.contains("intact True")
                && report.contains("valid True")
                && report.contains("trusted True")
                && report.contains("timestamp None"),
            "{spec} B-B: {report}"
        );
        let b_t = sign(
            &request(&signer, Format::CadesBT),
            &signer.local(),
            &Services::with_time_stamps(&client),
        )
        .unwrap();
        let report = pyhanko(&b_t, DOCUMENT);
        assert!(
            report.contains("intact True")
                && report.contains("valid True")
                && report.contains("trusted True")
                && report.contains("timestamp True"),
            "{spec} B-T: {report}"
        );
        // The document changed: pyHanko finds it.
        let report = pyhanko(&b_t, b"another document");
        assert!(!report.contains("intact True"), "{spec}: {report}");
    }
}

/// Re-signs `der` after changing the ESS certificate hash: a properly signed signature whose
/// ESS attribute names another certificate (certificate substitution, RFC 5035 §1).
fn with_wrong_ess_hash(der: &[u8], signer: &Signer) -> Vec<u8> {
    let info = ContentInfo::from_der(der).unwrap();
    let mut signed: SignedData = info.content.decode_as().unwrap();
    let mut signer_info = signed.signer_infos.0.iter().next().unwrap().clone();
    let attrs = signer_info.signed_attrs.take().unwrap();
    let mut changed = Vec::new();
    for mut attr in attrs.into_vec() {
        if attr.oid == oids::SIGNING_CERTIFICATE_V2 {
            let mut ess: SigningCertificateV2 =
                attr.values.iter().next().unwrap().decode_as().unwrap();
            let mut hash = ess.certs[0].cert_hash.as_bytes().to_vec();
            hash[0] ^= 0x01;
            ess.certs[0].cert_hash = OctetString::new(hash).unwrap();
            attr.values =
                der::asn1::SetOfVec::try_from(vec![Any::encode_from(&ess).unwrap()]).unwrap();
        }
        changed.push(attr);
    }
    let attrs = der::asn1::SetOfVec::try_from(changed).unwrap();
    let digest = HashAlgorithm::Sha256.digest(&attrs.to_der().unwrap());
    let signature = sam_cms::Signer::sign(&signer.local(), &ToBeSigned::Digest(digest)).unwrap();
    signer_info.signed_attrs = Some(attrs);
    signer_info.signature = OctetString::new(signature).unwrap();
    signed.signer_infos = cms::signed_data::SignerInfos::try_from(vec![signer_info]).unwrap();
    ContentInfo {
        content_type: oids::SIGNED_DATA,
        content: Any::encode_from(&signed).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn a_wrong_ess_hash_is_refused_by_our_verifier_and_by_pyhanko() {
    let signer = Signer::new(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let good = sign(
        &request(&signer, Format::CadesBB),
        &signer.local(),
        &Services::none(),
    )
    .unwrap();
    let bad = with_wrong_ess_hash(&good, &signer);

    // The signature itself is sound (OpenSSL 3.0 does not check ESS and accepts it) ...
    let out = crate::fixtures::openssl_cms_verify(&bad, Some(DOCUMENT));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... but the ESS attribute names another certificate.
    let err = verify(&bad, &Detached::Data(DOCUMENT)).unwrap_err();
    assert!(
        err.to_string().contains("ESS signing-certificate-v2 hash"),
        "{err}"
    );
    let report = pyhanko(&bad, DOCUMENT);
    assert!(
        !report.contains("valid True"),
        "pyHanko accepted a wrong ESS hash: {report}"
    );
    assert!(pyhanko(&good, DOCUMENT).contains("valid True"));
}

const ISSUE_ML_DSA_CERT: &str = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import mldsa
public = serialization.load_der_public_key(open(sys.argv[1], "rb").read())
ca_cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
ca_key = serialization.load_pem_private_key(open(sys.argv[3], "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc)
builder = (x509.CertificateBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sam ML-DSA signer")]))
    .public_key(public).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
    .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True))
if sys.argv[4] == "ec-ca":
    cert = builder.issuer_name(ca_cert.subject).sign(ca_key, hashes.SHA256())
else:
    ml_ca = mldsa.MLDSA65PrivateKey.generate()
    cert = builder.issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ML-DSA CA")])).sign(ml_ca, None)
sys.stdout.buffer.write(cert.public_bytes(serialization.Encoding.DER))
"#;

const VERIFY_ML_DSA_CMS: &str = r#"
import sys
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
info = cms.ContentInfo.load(open(sys.argv[1], "rb").read())
content = open(sys.argv[2], "rb").read()
signed = info["content"]
signer = signed["signer_infos"][0]
assert signer["digest_algorithm"]["algorithm"].dotted == "2.16.840.1.101.3.4.2.3", "SHA-512"
assert signer["digest_algorithm"]["parameters"].native is None
assert signer["signature_algorithm"]["algorithm"].dotted == sys.argv[3], "id-ml-dsa-*"
assert signer["signature_algorithm"]["parameters"].native is None, "RFC 9882: no parameters"
attrs = bytearray(signer["signed_attrs"].dump())
attrs[0] = 0x31  # the DER SET OF, as signed (RFC 5652 5.4)
digest = [a for a in signer["signed_attrs"] if a["type"].dotted == "1.2.840.113549.1.9.4"][0]["values"][0].native
h = hashes.Hash(hashes.SHA512()); h.update(content)
assert digest == h.finalize(), "message digest"
cert = x509.load_der_x509_certificate(signed["certificates"][0].chosen.dump())
cert.public_key().verify(signer["signature"].native, bytes(attrs))
print("verified")
"#;

#[test]
fn python_cryptography_verifies_ml_dsa_65_cms_and_cades_needs_an_rsa_or_ec_ca() {
    ml_dsa_cms_and_cades(MlDsaLevel::Level3);
}

#[test]
fn python_cryptography_verifies_ml_dsa_44_and_87_cms() {
    ml_dsa_cms_and_cades(MlDsaLevel::Level2);
    ml_dsa_cms_and_cades(MlDsaLevel::Level5);
}

/// CMS and CAdES-B-B with an ML-DSA key certified by the EC test CA, verified by python
/// `cryptography`; CAdES refused when the CA itself is ML-DSA.
/// A certificate for `key`, issued by python `cryptography` from the test PKI's EC CA
/// (`mode` `ec-ca`) or from a throwaway ML-DSA CA (`ml-dsa-ca`).
fn ml_dsa_certificate(key: &SigningKey, mode: &str) -> x509_cert::Certificate {
    let pki = Pki::get();
    let dir = scratch("mldsa-cert");
    let public = write(&dir, "public.der", &key.public_key_der().unwrap());
    let out = run(
        &python(),
        &[
            "-c",
            ISSUE_ML_DSA_CERT,
            &public,
            &pki.ca_pem,
            &pki.path("ca.key"),
            mode,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    certificate(&out.stdout)
}

fn ml_dsa_cms_and_cades(level: MlDsaLevel) {
    let key = SigningKey::generate(KeySpec::MlDsa(level)).unwrap();
    let dir = scratch("mldsa");
    let issue = |mode: &str| ml_dsa_certificate(&key, mode);
    let algorithm = SignatureAlgorithm::MlDsa(level);
    let now = UnixTime::parse_rfc3339("2026-11-22T12:00:00Z").unwrap();
    let signer = LocalSigner::new(&key, algorithm);

    let from_ec_ca = issue("ec-ca");
    for format in [Format::Cms, Format::CadesBB] {
        let request = SignatureRequest::new(
            format,
            algorithm,
            Content::Detached(DOCUMENT),
            vec![from_ec_ca.clone()],
            now,
        );
        let prepared = prepare(&request).unwrap();
        assert!(matches!(
            prepared.to_be_signed,
            ToBeSigned::Message {
                bound_by: HashAlgorithm::Sha512,
                ..
            }
        ));
        let der = sign(&request, &signer, &Services::none()).unwrap();
        let sig = write(&dir, "sig.p7s", &der);
        let content = write(&dir, "content.bin", DOCUMENT);
        let oid = algorithm.oid().to_string();
        let out = run(&python(), &["-c", VERIFY_ML_DSA_CMS, &sig, &content, &oid]);
        assert!(
            String::from_utf8_lossy(&out.stdout).trim() == "verified",
            "{format}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let found = verify(&der, &Detached::Data(DOCUMENT)).unwrap();
        assert_eq!(found.algorithm, algorithm);
        let level = if format == Format::Cms {
            Level::Cms
        } else {
            Level::CadesBB
        };
        assert_eq!(found.level, level);
    }

    // Seed 001: CAdES with ML-DSA only when the CA key is RSA/EC; plain CMS is fine.
    let from_ml_dsa_ca = issue("ml-dsa-ca");
    let cades = SignatureRequest::new(
        Format::CadesBB,
        algorithm,
        Content::Detached(DOCUMENT),
        vec![from_ml_dsa_ca.clone()],
        now,
    );
    let err = prepare(&cades).unwrap_err();
    assert!(matches!(err, CmsError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("RSA or EC CA"), "{err}");
    let cms = SignatureRequest {
        format: Format::Cms,
        ..cades
    };
    sign(&cms, &signer, &Services::none()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// What an ML-DSA-65 profile now makes — CAdES over a SHA-384 digest (its default, RFC 9882
/// Table 1), or SHA-512 — is valid for pyHanko. (`sam-profile` refuses ML-DSA-65 with
/// SHA-256 by RFC 9882 itself; pyHanko 0.38's generic CMS validation did not refuse that
/// combination here, so the refusal is not asserted against it.)
#[test]
fn pyhanko_validates_ml_dsa_65_cades_over_sha_384_and_sha_512() {
    let key = SigningKey::generate(KeySpec::MlDsa(MlDsaLevel::Level3)).unwrap();
    let cert = ml_dsa_certificate(&key, "ec-ca");
    let algorithm = SignatureAlgorithm::MlDsa(MlDsaLevel::Level3);
    let signer = LocalSigner::new(&key, algorithm);
    // Within the certificate's validity (issued a day ago for 30 days).
    let now = UnixTime::from_secs(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap(),
    )
    .unwrap();
    for hash in [HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
        let request = SignatureRequest::new(
            Format::CadesBB,
            algorithm,
            Content::DetachedDigest(hash.digest(DOCUMENT)),
            vec![cert.clone()],
            now,
        );
        let der = sign(&request, &signer, &Services::none()).unwrap();
        let report = pyhanko(&der, DOCUMENT);
        assert!(
            report.contains("intact True") && report.contains("valid True"),
            "ML-DSA-65 over {hash}: {report}"
        );
    }
}
