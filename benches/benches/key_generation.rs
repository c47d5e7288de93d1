//! Key Generation through the service (seed 002): an RSA-2048 user key with an empty key pool
//! (the client waits for prime generation) and with a filled pool (a pre-generated key is
//! taken), beside the raw primitive (`sam_keys::SigningKey::generate`, RustCrypto `rsa`).
//!
//! Criterion times each case; every call's own latency is also recorded, and the p50 and p95
//! over all measured calls are printed at the end (docs/performance.md): what a client waits.
#![allow(clippy::expect_used, clippy::print_stderr)]

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use sam_algorithms::{KeySpec, RsaKeySize};
use sam_keys::SigningKey;
use sam_profile::{
    CryptoSourceDescriptor, ProfileCatalogue, ProfileSettings, SadFormat, ValidationContext,
};
use sam_service::{ClientContext, RegisterUser, Service, ServiceSettings};
use sam_store::Store;
use sam_token::{MasterKey, SoftwareToken, SystemClock};

const RSA_2048: KeySpec = KeySpec::Rsa(RsaKeySize::Bits2048);

/// A service over a fresh SQLite database with one profile of the seed's defaults
/// (RSA-2048 keys in the software token) and one user.
fn service(runtime: &tokio::runtime::Runtime) -> (Service, ClientContext) {
    let dir = std::env::temp_dir().join(format!("sam-bench-keygen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("sam.db").display());
    runtime.block_on(async {
        let store = Store::create(&url, 1).await.expect("store");
        let sources = [CryptoSourceDescriptor::software(
            "software".parse().expect("name"),
        )];
        let ctx = ValidationContext {
            crypto_sources: &sources,
            sad_format: SadFormat::Json,
            eseals_enabled: false,
            now: sam_token::Clock::now(&SystemClock),
        };
        let mut catalogue = ProfileCatalogue::new();
        catalogue
            .create(
                ProfileSettings::with_defaults(
                    "RSA".parse().expect("name"),
                    "software".parse().expect("name"),
                ),
                &ctx,
            )
            .expect("profile");
        let master = MasterKey::generate().expect("system RNG");
        let service = Service::new(
            store,
            catalogue,
            Arc::new(SystemClock),
            ServiceSettings::default(),
        )
        .with_token(Arc::new(SoftwareToken::new("software", master)));
        let client = ClientContext::new("bench").expect("client id");
        service
            .store()
            .put_client(&sam_store::ClientRecord::new(
                "bench",
                sam_token::Clock::now(&SystemClock),
            ))
            .await
            .expect("client");
        service
            .register_user(
                &client,
                RegisterUser {
                    user_id: "alice".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("user");
        (service, client)
    })
}

/// Per-call latencies of one case.
#[derive(Default)]
struct Latencies(RefCell<Vec<Duration>>);

impl Latencies {
    /// Times `f`, keeping the call's latency; returns it for criterion.
    fn time<T>(&self, f: impl FnOnce() -> T) -> Duration {
        let start = Instant::now();
        std::hint::black_box(f());
        let spent = start.elapsed();
        self.0.borrow_mut().push(spent);
        spent
    }

    /// p50 and p95 (nearest rank) of the recorded calls, and how many.
    fn report(&self, name: &str) {
        let mut calls = self.0.borrow().clone();
        calls.sort();
        let rank = |p: usize| calls[(calls.len() * p).div_ceil(100).max(1) - 1];
        if !calls.is_empty() {
            eprintln!(
                "{name}: n={} p50={:.2} ms p95={:.2} ms",
                calls.len(),
                rank(50).as_secs_f64() * 1e3,
                rank(95).as_secs_f64() * 1e3
            );
        }
    }
}

fn key_generation(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let (service, client) = service(&runtime);
    let mut group = c.benchmark_group("key_generation");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(30);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));

    let raw = Latencies::default();
    group.bench_function("raw RSA-2048 generate", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| raw.time(|| SigningKey::generate(RSA_2048).expect("key")))
                .sum()
        });
    });
    let empty = Latencies::default();
    group.bench_function("service RSA-2048, empty pool", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    empty.time(|| {
                        runtime
                            .block_on(service.generate_key(&client, "alice", 1))
                            .expect("key")
                    })
                })
                .sum()
        });
    });
    // A take costs about a millisecond, the untimed refill behind it a whole generation:
    // a short measurement of 100 one-take samples keeps the run to about a minute.
    group.sample_size(100);
    group.warm_up_time(Duration::from_millis(50));
    group.measurement_time(Duration::from_millis(300));
    let pooled = Latencies::default();
    group.bench_function("service RSA-2048, filled pool", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // The background refill, not timed: the client only sees the take.
                runtime
                    .block_on(service.refill_key_pool("software", RSA_2048, 1))
                    .expect("refill");
                spent += pooled.time(|| {
                    let key = runtime
                        .block_on(service.generate_key(&client, "alice", 1))
                        .expect("key");
                    assert!(key.from_pool, "the key came from the pool");
                });
            }
            spent
        });
    });
    group.finish();
    raw.report("raw RSA-2048 generate");
    empty.report("service RSA-2048, empty pool");
    pooled.report("service RSA-2048, filled pool");
}

criterion_group!(benches, key_generation);
criterion_main!(benches);
