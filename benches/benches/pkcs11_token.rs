//! Signatures per second of a resident P-256 key in a PKCS#11 token (SoftHSM2), with other keys
//! beside it in the token: what the object handle cache (`sam-token`'s `pkcs11::handles`)
//! saves is the search for the key, whose cost in SoftHSM2 grows with the token's objects.
//!
//! Needs a SoftHSM2 token: `scripts/bench-pkcs11` makes one in a temporary directory and runs
//! this with `SOFTHSM2_CONF` set (token `sam-bench`, PIN `123456`); `SAM_BENCH_OTHER_KEYS`
//! (default 200) is how many other keys it holds.

// A benchmark fails loudly on any setup error.
#![allow(clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_token::pkcs11::{KeyStorage, PinSource, SlotSelector};
use sam_token::{
    ActivationIssuer, CryptoToken, KeyId, KeyLocation, Pkcs11Config, Pkcs11Token, ToBeSigned,
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn pkcs11_signing(c: &mut Criterion) {
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_some(),
        "SOFTHSM2_CONF is not set: run this benchmark through scripts/bench-pkcs11"
    );
    let token = Pkcs11Token::open(Pkcs11Config {
        name: "bench".into(),
        module: env_or("SAM_BENCH_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so").into(),
        slot: SlotSelector::Label(env_or("SAM_BENCH_TOKEN", "sam-bench")),
        pin: PinSource::Value(env_or("SAM_BENCH_PIN", "123456").into()),
        signature_slot: None,
        pin_policy: None,
        storage: KeyStorage::Resident,
    })
    .expect("the benchmark token (scripts/bench-pkcs11 makes it)");
    let others: usize = env_or("SAM_BENCH_OTHER_KEYS", "200")
        .parse()
        .expect("SAM_BENCH_OTHER_KEYS is a number");
    let spec = KeySpec::Ecdsa(EcCurve::P256);
    let id = |tag: &str| KeyId::new(format!("bench-{}-{tag}", std::process::id())).expect("id");
    let mut made = Vec::new();
    for n in 0..others {
        made.push(
            token
                .generate(id(&n.to_string()), spec, KeyLocation::Default)
                .expect("another key"),
        );
    }
    let key = token
        .generate(id("signer"), spec, KeyLocation::Default)
        .expect("the signing key");
    let issuer = ActivationIssuer::take().expect("the benchmark's only issuer");
    let digest = HashAlgorithm::Sha256.digest(b"benchmark document");
    let activation = issuer.activate(key.key_id.clone(), vec![digest]);
    let input = [ToBeSigned::Digest(digest)];
    let mut group = c.benchmark_group("pkcs11_token_sign");
    group.bench_function(
        BenchmarkId::new("sam", format!("ECDSA P-256 resident, {others} other keys")),
        |b| {
            b.iter(|| {
                token
                    .sign(&key, &activation, RsaPadding::Pkcs1v15, &input)
                    .expect("signs")
            })
        },
    );
    group.finish();
    for record in made.iter().chain([&key]) {
        token
            .delete(record)
            .expect("the benchmark's keys are removed");
    }
}

criterion_group!(benches, pkcs11_signing);
criterion_main!(benches);
