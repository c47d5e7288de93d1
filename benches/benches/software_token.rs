//! Signatures per second of the software token for each key spec, beside the raw RustCrypto
//! primitive for RSA-2048, P-256 and ML-DSA-65. The token's figure includes everything a
//! signature costs there: the activation check, unwrapping the key (AES-256-GCM, PKCS#8
//! decoding) and signing. `docs/performance.md` records the figures next to `openssl speed`.

// A benchmark fails loudly on any setup error.
#![allow(clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand_core::UnwrapErr;
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding};
use sam_token::{
    ActivationIssuer, CryptoToken, KeyCacheSettings, KeyId, KeyLocation, MasterKey, SoftwareToken,
    ToBeSigned,
};
use signature::hazmat::PrehashSigner;

fn token_signing(c: &mut Criterion) {
    let issuer = ActivationIssuer::take().expect("the benchmark's only issuer");
    // Without the key cache: each signature unwraps and decodes its key (what the table in
    // docs/performance.md measures).
    let token = SoftwareToken::with_key_cache(
        "bench",
        MasterKey::generate().expect("system RNG"),
        KeyCacheSettings::OFF,
    );
    let mut group = c.benchmark_group("software_token_sign");
    group.sample_size(20);
    let cases = [
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            RsaPadding::Pss,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits3072),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits4096),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P256),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P384),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha384,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P521),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha512,
        ),
        (
            KeySpec::Ecdsa(EcCurve::Secp256k1),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::Ecdsa(EcCurve::BrainpoolP384r1),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha384,
        ),
        (
            KeySpec::MlDsa(MlDsaLevel::Level2),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::MlDsa(MlDsaLevel::Level3),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
        (
            KeySpec::MlDsa(MlDsaLevel::Level5),
            RsaPadding::Pkcs1v15,
            HashAlgorithm::Sha256,
        ),
    ];
    for (spec, padding, hash) in cases {
        let key = token
            .generate(
                KeyId::new("bench").expect("valid id"),
                spec,
                KeyLocation::Default,
            )
            .expect("supported spec");
        let digest = hash.digest(b"benchmark document");
        let activation = issuer.activate(key.key_id.clone(), vec![digest]);
        let input = [ToBeSigned::Digest(digest)];
        let label = format!("{spec} {padding}");
        group.bench_function(BenchmarkId::new("sam", label), |b| {
            b.iter(|| {
                token
                    .sign(&key, &activation, padding, &input)
                    .expect("signs")
            })
        });
    }

    // The raw primitives, with keys already in memory.
    let mut rng = UnwrapErr(getrandom::SysRng);
    let digest = HashAlgorithm::Sha256.digest(b"benchmark document");
    let rsa = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key");
    group.bench_function(BenchmarkId::new("raw", "RSA-2048 PKCS1"), |b| {
        b.iter(|| {
            rsa.sign_with_rng(
                &mut rng,
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                digest.as_bytes(),
            )
            .expect("signs")
        })
    });
    let p256_key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("P-256 key");
    group.bench_function(BenchmarkId::new("raw", "ECDSA P-256"), |b| {
        b.iter(|| {
            let sig: p256::ecdsa::Signature =
                p256_key.sign_prehash(digest.as_bytes()).expect("signs");
            sig.to_der()
        })
    });
    let ml = ml_dsa::SigningKey::<ml_dsa::MlDsa65>::from_seed(&[9u8; 32].into());
    group.bench_function(BenchmarkId::new("raw", "ML-DSA-65"), |b| {
        b.iter(|| {
            ml.expanded_key()
                .sign_randomized(digest.as_bytes(), &[], &mut rng)
                .expect("signs")
        })
    });
    group.finish();
}

criterion_group!(benches, token_signing);
criterion_main!(benches);
