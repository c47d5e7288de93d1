//! CAdES-B-LT: the signer's and the TSA's chains with revocation values fetched from the
//! certificates' OCSP responder and CRL distribution point (`openssl ocsp`, `openssl ca
//! -gencrl`, served over local HTTP). pyHanko validates with only the embedded values and
//! revocation checking set to hard-fail; OpenSSL checks the embedded CRLs.

use cms::content_info::ContentInfo;
use der::{Any, Decode, Encode};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding, UnixTime};
use sam_cms::http::HttpTransport;
use sam_cms::revocation::{FetchingRevocationSource, RevocationValues, SuppliedRevocation};
use sam_cms::signed_data::{RevocationInfoChoice, SignedData};
use sam_cms::{
    Content, Detached, Format, Level, Services, SignatureRequest, TimeStampClient, oids, sign,
    verify,
};

use crate::fixtures::{
    LocalTsa, Pki, Pointers, Signer, TsaBehaviour, openssl_cms_verify, python, run, scratch, write,
};

const DOCUMENT: &[u8] = b"a long-term document";

fn request(signer: &Signer, chain: bool) -> SignatureRequest<'static> {
    let mut certificates = vec![signer.certificate.clone()];
    if chain {
        certificates.push(Pki::get().ca());
    }
    SignatureRequest::new(
        Format::CadesBLT,
        signer.algorithm,
        Content::Detached(DOCUMENT),
        certificates,
        UnixTime::parse_rfc3339("2026-11-22T15:00:00Z").unwrap(),
    )
}

fn p256(pointers: Pointers) -> Signer {
    Signer::with_pointers(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
        pointers,
    )
}

fn revocation_info(der: &[u8]) -> Vec<RevocationInfoChoice> {
    let info = ContentInfo::from_der(der).unwrap();
    let signed: SignedData = info.content.decode_as().unwrap();
    signed.crls.map(|c| c.into_vec()).unwrap_or_default()
}

const PYHANKO_EMBEDDED_ONLY: &str = r#"
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
info = cms.ContentInfo.load(open(sig, "rb").read())
signed = info["content"]
crls, ocsps = [], []
for choice in signed["crls"] or []:
    if choice.name == "crl":
        crls.append(choice.chosen)
    elif choice.chosen["other_rev_info_format"].native == "ocsp_response":
        ocsps.append(choice.chosen["other_rev_info"])
certs = [c.chosen for c in signed["certificates"]]
context = ValidationContext(trust_roots=[load_cert(ca)], other_certs=certs, crls=crls,
                            ocsps=ocsps, allow_fetching=False, revocation_mode="hard-fail")
try:
    status = asyncio.run(async_validate_detached_cms(
        open(content, "rb").read(), signed,
        signer_validation_context=context, ts_validation_context=context))
except Exception as e:
    print("error:", type(e).__name__, e)
    sys.exit(0)
print("crls", len(crls), "ocsps", len(ocsps))
print("intact", status.intact, "valid", status.valid, "trusted", status.trusted)
ts = status.timestamp_validity
print("timestamp", None if ts is None else bool(ts.intact and ts.valid and ts.trusted))
"#;

fn pyhanko_embedded_only(signature: &[u8]) -> String {
    let dir = scratch("pyhanko-lt");
    let sig = write(&dir, "sig.p7s", signature);
    let data = write(&dir, "content.bin", DOCUMENT);
    let out = run(
        &python(),
        &["-c", PYHANKO_EMBEDDED_ONLY, &sig, &data, &Pki::get().ca_pem],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cades_b_lt_from_ocsp_is_complete_for_our_verifier_and_for_pyhanko_in_hard_fail_mode() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    let fetcher = FetchingRevocationSource::new(HttpTransport::default());
    let signer = p256(Pointers::OcspAndCrl);
    let der = sign(
        &request(&signer, true),
        &signer.local(),
        &Services::with_validation_data(&client, &fetcher),
    )
    .unwrap();

    let found = verify(&der, &Detached::Data(DOCUMENT)).unwrap();
    assert_eq!(found.level, Level::CadesBLT);
    // OCSP first: one response for the signer, one for the TSA; the root needs none.
    let choices = revocation_info(&der);
    assert_eq!(choices.len(), 2, "{choices:?}");
    assert!(choices.iter().all(|c| matches!(c, RevocationInfoChoice::Other(o) if o.other_rev_info_format == oids::RI_OCSP_RESPONSE)));

    let out = openssl_cms_verify(&der, Some(DOCUMENT));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = pyhanko_embedded_only(&der);
    assert!(
        report.contains("ocsps 2")
            && report.contains("intact True valid True trusted True")
            && report.contains("timestamp True"),
        "{report}"
    );
}

#[test]
fn cades_b_lt_from_crls_passes_openssl_crl_checks() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    let fetcher = FetchingRevocationSource::new(HttpTransport::default());
    let signer = p256(Pointers::CrlOnly);
    let der = sign(
        &request(&signer, true),
        &signer.local(),
        &Services::with_validation_data(&client, &fetcher),
    )
    .unwrap();
    assert_eq!(
        verify(&der, &Detached::Data(DOCUMENT)).unwrap().level,
        Level::CadesBLT
    );
    assert!(
        revocation_info(&der)
            .iter()
            .any(|c| matches!(c, RevocationInfoChoice::Crl(_)))
    );

    // OpenSSL takes the CRLs from the signature itself.
    let dir = scratch("crlcheck");
    let sig = write(&dir, "sig.p7s", &der);
    let content = write(&dir, "content.bin", DOCUMENT);
    let out = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &content,
            "-CAfile",
            &Pki::get().ca_pem,
            "-crl_check",
            "-out",
            "/dev/null",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = pyhanko_embedded_only(&der);
    assert!(
        report.contains("intact True valid True trusted True"),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_revoked_signer_gets_no_b_lt_and_revoked_values_inside_a_signature_fail_it() {
    let pki = Pki::get();
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    let fetcher = FetchingRevocationSource::new(HttpTransport::default());
    for pointers in [Pointers::OcspAndCrl, Pointers::CrlOnly] {
        let signer = p256(pointers);
        let services = Services::with_validation_data(&client, &fetcher);
        let before = sign(&request(&signer, true), &signer.local(), &services).unwrap();

        pki.revoke(&signer.certificate);
        let err = sign(&request(&signer, true), &signer.local(), &services).unwrap_err();
        assert!(
            err.to_string().contains("is revoked"),
            "{pointers:?}: {err}"
        );

        // Put today's CRL (which lists the signer) into yesterday's signature: the verifier
        // and OpenSSL's CRL check both refuse it.
        let info = ContentInfo::from_der(&before).unwrap();
        let mut signed: SignedData = info.content.decode_as().unwrap();
        let crl = x509_cert::crl::CertificateList::from_der(&pki.crl()).unwrap();
        signed.crls =
            Some(der::asn1::SetOfVec::try_from(vec![RevocationInfoChoice::Crl(crl)]).unwrap());
        let tampered = ContentInfo {
            content_type: oids::SIGNED_DATA,
            content: Any::encode_from(&signed).unwrap(),
        }
        .to_der()
        .unwrap();
        let err = verify(&tampered, &Detached::Data(DOCUMENT)).unwrap_err();
        assert!(err.to_string().contains("revoked"), "{err}");
        let dir = scratch("revoked");
        let sig = write(&dir, "sig.p7s", &tampered);
        let content = write(&dir, "content.bin", DOCUMENT);
        let out = run(
            "openssl",
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                &sig,
                "-content",
                &content,
                "-CAfile",
                &pki.ca_pem,
                "-crl_check",
                "-out",
                "/dev/null",
            ],
        );
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("revoked"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn supplied_values_incomplete_chains_and_missing_sources_are_handled_clearly() {
    let pki = Pki::get();
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    let signer = p256(Pointers::CrlOnly);

    // The caller's own CRL covers the signer and the TSA.
    let crl = x509_cert::crl::CertificateList::from_der(&pki.crl()).unwrap();
    let supplied = SuppliedRevocation::new(RevocationValues {
        crls: vec![crl],
        ocsp_responses: Vec::new(),
    });
    let der = sign(
        &request(&signer, true),
        &signer.local(),
        &Services::with_validation_data(&client, &supplied),
    )
    .unwrap();
    assert_eq!(
        verify(&der, &Detached::Data(DOCUMENT)).unwrap().level,
        Level::CadesBLT
    );

    let nothing = SuppliedRevocation::new(RevocationValues::default());
    let err = sign(
        &request(&signer, true),
        &signer.local(),
        &Services::with_validation_data(&client, &nothing),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("no supplied CRL or OCSP response covers"),
        "{err}"
    );

    // Without its issuer a certificate's revocation cannot be checked. (In a signature the
    // TSA token usually brings the CA certificate along, so this is shown directly.)
    let err =
        sam_cms::revocation::validation_data(std::slice::from_ref(&signer.certificate), &supplied)
            .unwrap_err();
    assert!(err.to_string().contains("give the whole chain"), "{err}");

    let err = sign(
        &request(&signer, true),
        &signer.local(),
        &Services::with_time_stamps(&client),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("needs a source of revocation values"),
        "{err}"
    );

    // A B-T signature is not reported as B-LT.
    let b_t = SignatureRequest {
        format: Format::CadesBT,
        ..request(&signer, true)
    };
    let der = sign(&b_t, &signer.local(), &Services::with_time_stamps(&client)).unwrap();
    assert_eq!(
        verify(&der, &Detached::Data(DOCUMENT)).unwrap().level,
        Level::CadesBT
    );
    // Without embedded revocation values, pyHanko in hard-fail mode cannot trust it: the
    // B-LT checks above are not vacuous.
    let report = pyhanko_embedded_only(&der);
    assert!(!report.contains("trusted True"), "{report}");
}
