//! The raw in-process P-256 sign + verify rate on every core: the yardstick `scripts/load-sign`
//! measures `samd` against in the same run (docs/performance.md "End to end").
//!
//! ```sh
//! cargo run --release -p sam-benches --bin raw-rate -- [SECONDS] [THREADS]
//! ```
//!
//! Each thread signs a SHA-256 digest with a P-256 key held in memory (RustCrypto, RFC 6979)
//! and verifies the signature, over and over, for SECONDS (default 3); THREADS defaults to the
//! cores available. It prints one line: `raw: N/s on T threads (M µs per sign + verify per
//! thread)`.

// A command-line tool: its output is its answer.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use sam_algorithms::HashAlgorithm;
use signature::hazmat::{PrehashSigner, PrehashVerifier};

fn usage() -> ! {
    eprintln!("usage: raw-rate [SECONDS] [THREADS]");
    std::process::exit(2)
}

fn one_thread(seconds: f64) -> Result<u64, String> {
    let digest = HashAlgorithm::Sha256.digest(b"the document");
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("system RNG: {e}"))?;
    seed[0] = 1; // a valid scalar whatever the rest
    let key = p256::ecdsa::SigningKey::from_slice(&seed).map_err(|e| format!("key: {e}"))?;
    let verifying = *key.verifying_key();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut done = 0u64;
    while Instant::now() < until {
        for _ in 0..16 {
            let signature: p256::ecdsa::Signature = key
                .sign_prehash(digest.as_bytes())
                .map_err(|e| format!("sign: {e}"))?;
            verifying
                .verify_prehash(digest.as_bytes(), &signature)
                .map_err(|e| format!("verify: {e}"))?;
            done += 1;
        }
    }
    Ok(done)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = match args.next() {
        None => 3.0,
        Some(s) => s
            .parse()
            .ok()
            .filter(|s| *s > 0.0)
            .unwrap_or_else(|| usage()),
    };
    let threads: usize = match args.next() {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(t) => t.parse().ok().filter(|t| *t > 0).unwrap_or_else(|| usage()),
    };
    if args.next().is_some() {
        usage();
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || one_thread(seconds)))
        .collect();
    let mut total = 0u64;
    for worker in workers {
        match worker.join() {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => {
                eprintln!("raw-rate: {e}");
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!("raw-rate: a thread panicked");
                std::process::exit(1);
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = total as f64 / elapsed;
    println!(
        "raw: {rate:.0}/s on {threads} threads ({:.0} µs per sign + verify per thread)",
        threads as f64 / rate * 1e6
    );
}
