//! Digest throughput of `sam_algorithms::HashAlgorithm` against the raw RustCrypto
//! primitives it wraps, for 1 KiB and 1 MiB inputs. The dispatch through `Hasher` should
//! cost nothing measurable; `docs/performance.md` records the figures next to
//! `openssl speed`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sam_algorithms::HashAlgorithm;
use sha2::Digest as _;

fn raw(alg: HashAlgorithm, data: &[u8]) -> usize {
    match alg {
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).len(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).len(),
        HashAlgorithm::Sha3_256 => sha3::Sha3_256::digest(data).len(),
        _ => 0,
    }
}

fn digests(c: &mut Criterion) {
    let mut group = c.benchmark_group("digest");
    for size in [1024usize, 1 << 20] {
        let data = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha512,
            HashAlgorithm::Sha3_256,
        ] {
            group.bench_with_input(
                BenchmarkId::new(format!("sam/{alg}"), size),
                &data,
                |b, d| b.iter(|| alg.digest(std::hint::black_box(d))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("raw/{alg}"), size),
                &data,
                |b, d| b.iter(|| raw(alg, std::hint::black_box(d))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, digests);
criterion_main!(benches);
