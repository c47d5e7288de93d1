//! The cost of CMS and CAdES-B-B assembly beside the raw signature it wraps: for P-256 and
//! RSA-2048 PKCS#1 v1.5, the raw `sam-keys` signature over a SHA-256 digest, then the whole
//! one-call `sam_cms::sign` (prepare: signed attributes incl. ESS; sign; complete: the
//! signature is verified once, then SignedData is written), and `prepare`/`complete` alone.
//! `docs/performance.md` records the figures.

// A benchmark fails loudly on any setup error.
#![allow(clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use der::DecodePem;
use sam_algorithms::{HashAlgorithm, RsaPadding, SignatureAlgorithm, UnixTime};
use sam_cms::{
    Certificate, Content, Format, LocalSigner, Services, SignatureRequest, Signer, complete,
    prepare, sign,
};
use sam_keys::{Input, SigningKey};

struct Case {
    name: &'static str,
    key: SigningKey,
    certificate: Certificate,
    algorithm: SignatureAlgorithm,
}

fn case(name: &'static str, key_pem: &str, cert_pem: &str) -> Case {
    let certificate = Certificate::from_pem(cert_pem).expect("benchmark certificate");
    let spki = der::Encode::to_der(certificate.tbs_certificate().subject_public_key_info())
        .expect("public key");
    let spec = sam_keys::public_key_spec(&spki).expect("key spec");
    let (_, der) = der::pem::decode_vec(key_pem.as_bytes()).expect("PEM key");
    let key = SigningKey::from_pkcs8_der(spec, &der).expect("PKCS#8 key");
    let algorithm = SignatureAlgorithm::for_key(spec, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15);
    Case {
        name,
        key,
        certificate,
        algorithm,
    }
}

fn cms_assembly(c: &mut Criterion) {
    let cases = [
        case(
            "P-256",
            include_str!("../data/p256-key.pem"),
            include_str!("../data/p256-cert.pem"),
        ),
        case(
            "RSA-2048",
            include_str!("../data/rsa2048-key.pem"),
            include_str!("../data/rsa2048-cert.pem"),
        ),
    ];
    let document = HashAlgorithm::Sha256.digest(b"the document");
    let now = UnixTime::parse_rfc3339("2026-11-22T12:00:00Z").expect("time");
    let mut group = c.benchmark_group("cms");
    group.sample_size(30);
    for case in &cases {
        let signer = LocalSigner::new(&case.key, case.algorithm);
        group.bench_function(BenchmarkId::new("raw_signature", case.name), |b| {
            b.iter(|| {
                case.key
                    .sign(RsaPadding::Pkcs1v15, &Input::Digest(document))
                    .expect("sign")
            })
        });
        for format in [Format::Cms, Format::CadesBB] {
            let request = SignatureRequest::new(
                format,
                case.algorithm,
                Content::DetachedDigest(document),
                vec![case.certificate.clone()],
                now,
            );
            group.bench_function(
                BenchmarkId::new(format!("{format}_one_call"), case.name),
                |b| b.iter(|| sign(&request, &signer, &Services::none()).expect("sign")),
            );
            group.bench_function(
                BenchmarkId::new(format!("{format}_prepare"), case.name),
                |b| b.iter(|| prepare(&request).expect("prepare")),
            );
            let prepared = prepare(&request).expect("prepare");
            let signature = signer.sign(&prepared.to_be_signed).expect("sign");
            group.bench_function(
                BenchmarkId::new(format!("{format}_complete"), case.name),
                |b| {
                    b.iter(|| {
                        complete(&prepared.state, &signature, &Services::none()).expect("complete")
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, cms_assembly);
criterion_main!(benches);
