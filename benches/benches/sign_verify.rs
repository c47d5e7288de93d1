//! The in-process baseline for `samd`'s end-to-end sign rate (docs/performance.md "End to
//! end"): one ECDSA P-256 signature over a SHA-256 digest and its verification, with the raw
//! RustCrypto primitive (key in memory) and through `sam-token`'s software token (activation,
//! unwrapping the key) plus `sam-keys` verification — what one Sign request must at least
//! cost before HTTP, TLS, the database and the SAD checks.

// A benchmark fails loudly on any setup error.
#![allow(clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_token::{
    ActivationIssuer, CryptoToken, KeyCacheSettings, KeyId, KeyLocation, MasterKey, SoftwareToken,
    ToBeSigned,
};
use signature::hazmat::{PrehashSigner, PrehashVerifier};

fn sign_and_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("p256_sign_verify");
    group.sample_size(30);
    let digest = HashAlgorithm::Sha256.digest(b"the document");

    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("system RNG");
    seed[0] = 1; // a valid scalar whatever the rest
    let key = p256::ecdsa::SigningKey::from_slice(&seed).expect("P-256 key");
    let verifying = *key.verifying_key();
    group.bench_function("raw_rustcrypto", |b| {
        b.iter(|| {
            let signature: p256::ecdsa::Signature =
                key.sign_prehash(digest.as_bytes()).expect("sign");
            verifying
                .verify_prehash(digest.as_bytes(), &signature)
                .expect("verify");
        });
    });

    let issuer = ActivationIssuer::take().expect("the benchmark's only issuer");
    let spec = KeySpec::Ecdsa(EcCurve::P256);
    // Without the key cache (each signature unwraps and decodes its key), and with it (the
    // key stays open after the first signature, as in samd by default).
    for (name, cache) in [
        ("sam_token_and_sam_keys", KeyCacheSettings::OFF),
        ("sam_token_cached_and_sam_keys", KeyCacheSettings::default()),
    ] {
        let token = SoftwareToken::with_key_cache(
            "bench",
            MasterKey::generate().expect("system RNG"),
            cache,
        );
        let record = token
            .generate(
                KeyId::new("bench-p256").expect("id"),
                spec,
                KeyLocation::Default,
            )
            .expect("generate");
        group.bench_function(name, |b| {
            b.iter(|| {
                let activation = issuer.activate(record.key_id.clone(), vec![digest]);
                let signature = token
                    .sign(
                        &record,
                        &activation,
                        RsaPadding::Pkcs1v15,
                        &[ToBeSigned::Digest(digest)],
                    )
                    .expect("sign");
                sam_keys::verify(
                    &record.public_key_der,
                    spec,
                    RsaPadding::Pkcs1v15,
                    &sam_keys::Input::Digest(digest),
                    &signature[0],
                )
                .expect("verify");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, sign_and_verify);
criterion_main!(benches);
