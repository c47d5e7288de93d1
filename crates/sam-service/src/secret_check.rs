//! Bounded work for secrets: every Argon2id hash and verification (user passwords, client
//! secrets, the operator's credential) runs on a fixed pool of worker threads behind a bounded
//! queue, and repeated failures are slowed per client id and per peer address.
//!
//! A verification with the default parameters (RFC 9106's second recommended option as the
//! `argon2` crate sets it: m = 19 MiB, t = 2, p = 1) costs tens of milliseconds of one core
//! and 19 MiB of memory. Run as one blocking task per attempt, a flood of wrong credentials
//! made as many run at once as there were connections (200 connections: 18.8 GiB). Here:
//!
//! - **Memory is bounded by construction.** Each worker owns its Argon2 memory, allocated once
//!   and reused while checks keep coming (and zeroed after each use); `workers × 19 MiB` is
//!   the most this work ever holds. A worker without a job for [`IDLE_MEMORY_RELEASE`] gives
//!   its memory back, so an idle server does not keep what a burst of checks needed. A stored
//!   hash asking for more than [`MAX_MEMORY_KIB`] is refused, not run.
//! - **The queue is bounded.** A job that finds `queue` jobs waiting is refused at once with
//!   `busy` (HTTP 503, `Retry-After: 1`) instead of waiting without end.
//! - **Failures are slowed** ([`FailureBackoff`]): after `free_failures` failures in a row for
//!   one key (a client id, a peer address), each further attempt within the back-off is
//!   refused with `authentication_throttled` (HTTP 429, `Retry-After`) *before* any Argon2
//!   work; the back-off doubles per failure from 1 s up to `max_backoff`. A slowed key whose
//!   back-off ended has one attempt checked at a time, and a refusal is held for the rest of
//!   the wait (at most a second) before it is answered, so that a flood on kept-alive
//!   connections gets about one answer per connection per second. A success clears the
//!   client id's count; a peer's count ends after `max_backoff` without failures.
//! - A client whose secret was verified recently is not queued at all: the verified-secret
//!   memory (`secret_cache`) answers before this pool is asked.

use crate::ErrorCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ServiceError;

/// The most memory a stored hash may ask for, KiB (256 MiB; the default is 19 MiB).
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// How long a worker keeps its Argon2 memory without a job before giving it back.
pub const IDLE_MEMORY_RELEASE: Duration = Duration::from_secs(10);

/// The longest output a stored hash may have, bytes.
const MAX_OUTPUT: usize = 64;

/// What a worker is asked to do.
enum Job {
    Verify {
        secret: Zeroizing<String>,
        phc: String,
        reply: tokio::sync::oneshot::Sender<Result<bool, String>>,
    },
    Hash {
        secret: Zeroizing<String>,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
}

/// A fixed pool of Argon2id workers with a bounded queue.
pub struct Argon2Pool {
    jobs: SyncSender<Job>,
    workers: usize,
    queue: usize,
    /// The bytes of Argon2 memory the workers hold now.
    held: std::sync::Arc<AtomicUsize>,
}

impl core::fmt::Debug for Argon2Pool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Argon2Pool")
            .field("workers", &self.workers)
            .field("queue", &self.queue)
            .finish()
    }
}

/// The refusal of a job the pool cannot take now.
fn busy() -> ServiceError {
    ServiceError::new(
        ErrorCode::Busy,
        "too many credentials are being checked now; try again in a second",
    )
    .with_retry_after(1)
}

impl Argon2Pool {
    /// Starts `workers` threads (at least one) that take jobs from a queue of at most `queue`
    /// waiting jobs. The threads end when the pool is dropped. A thread the system refuses to
    /// start is left out ([`Self::size`] says how many run); with none, every job is an
    /// `internal_error`.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self::with_idle_release(workers, queue, IDLE_MEMORY_RELEASE)
    }

    /// [`Self::new`], with workers that give their memory back after `idle` without a job.
    pub fn with_idle_release(workers: usize, queue: usize, idle: Duration) -> Self {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        let held = std::sync::Arc::new(AtomicUsize::new(0));
        let mut started = 0;
        for n in 0..workers.max(1) {
            let receiver = receiver.clone();
            let held = held.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sam-argon2-{n}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // One worker waits on the queue at a time; the others wait for the
                        // lock, and all end when the pool (the sender) is gone.
                        let job = match receiver.lock() {
                            Ok(r) => r.recv_timeout(idle),
                            Err(poisoned) => poisoned.into_inner().recv_timeout(idle),
                        };
                        let before = memory_bytes(&memory);
                        match job {
                            Ok(job) => run(job, &mut memory),
                            // Idle: the memory (zeroed after its last use) goes back.
                            Err(RecvTimeoutError::Timeout) => memory = Vec::new(),
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                        let after = memory_bytes(&memory);
                        held.fetch_add(after, Ordering::Relaxed);
                        held.fetch_sub(before, Ordering::Relaxed);
                    }
                });
            started += usize::from(spawned.is_ok());
        }
        Self {
            jobs,
            workers: started,
            queue,
            held,
        }
    }

    /// The bytes of Argon2 memory the workers hold now (at most `workers ×` the largest
    /// check's memory; `0` once they have been idle for their release time).
    pub fn memory_held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// How many workers and queue places it has.
    pub fn size(&self) -> (usize, usize) {
        (self.workers, self.queue)
    }

    fn submit(&self, job: Job) -> Result<(), ServiceError> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(busy()),
            Err(TrySendError::Disconnected(_)) => {
                Err(ServiceError::internal("the Argon2 workers have stopped"))
            }
        }
    }

    /// Whether `secret` matches the PHC string `phc` (an empty `phc` matches nothing, at the
    /// same cost). `busy` when the queue is full.
    pub async fn verify(
        &self,
        secret: Zeroizing<String>,
        phc: String,
    ) -> Result<bool, ServiceError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Verify { secret, phc, reply })?;
        answer
            .await
            .map_err(|_| ServiceError::internal("an Argon2 worker stopped"))?
            .map_err(|e| ServiceError::internal(format!("Argon2id: {e}")))
    }

    /// The Argon2id PHC string of `secret` with a fresh 16-byte salt and the default
    /// parameters. `busy` when the queue is full.
    pub async fn hash(&self, secret: Zeroizing<String>) -> Result<String, ServiceError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Hash { secret, reply })?;
        answer
            .await
            .map_err(|_| ServiceError::internal("an Argon2 worker stopped"))?
            .map_err(|e| ServiceError::internal(format!("Argon2id: {e}")))
    }
}

/// A PHC string that matches no secret, so that an unknown id costs the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FtLWR1bW15LXNhbHQ$dGhpcy1pcy1ub3QtYS1yZWFsLWhhc2gtYXQtYWxsIQ";

fn run(job: Job, memory: &mut Vec<Block>) {
    match job {
        Job::Verify { secret, phc, reply } => {
            let target = if phc.is_empty() { DUMMY_HASH } else { &phc };
            let result =
                verify_with(memory, secret.as_bytes(), target).map(|m| m && !phc.is_empty());
            let _ = reply.send(result);
        }
        Job::Hash { secret, reply } => {
            let _ = reply.send(hash_with(memory, secret.as_bytes()));
        }
    }
}

/// The bytes `memory` holds.
fn memory_bytes(memory: &Vec<Block>) -> usize {
    memory.capacity() * std::mem::size_of::<Block>()
}

/// `memory` grown to `blocks` (not shrunk while jobs keep coming: the worker keeps what it
/// needed once, until it is idle).
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    &mut memory[..blocks]
}

fn wipe(memory: &mut [Block]) {
    for block in memory.iter_mut() {
        *block = Block::new();
    }
}

fn verify_with(memory: &mut Vec<Block>, secret: &[u8], phc: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("a stored hash: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| format!("{e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| format!("{e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| format!("{e}"))?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err(format!(
            "a stored hash asks for {} KiB; at most {MAX_MEMORY_KIB} KiB are allowed",
            params.m_cost()
        ));
    }
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err("a stored hash without its salt or output".into());
    };
    let mut out = Zeroizing::new([0u8; MAX_OUTPUT]);
    let out = out
        .get_mut(..expected.len())
        .ok_or("a stored hash is too long")?;
    let count = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let area = blocks(memory, count);
    let computed = argon.hash_password_into_with_memory(secret, salt.as_ref(), out, &mut *area);
    wipe(area);
    computed.map_err(|e| format!("{e}"))?;
    Ok(bool::from(out.ct_eq(expected.as_bytes())))
}

fn hash_with(memory: &mut Vec<Block>, secret: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("salt: {e}"))?;
    let params = Params::default();
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = Zeroizing::new([0u8; MAX_OUTPUT]);
    let out = out.get_mut(..output_len).ok_or("output length")?;
    let count = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let area = blocks(memory, count);
    let computed = argon.hash_password_into_with_memory(secret, &salt, out, &mut *area);
    wipe(area);
    computed.map_err(|e| format!("{e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| format!("{e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| format!("{e}"))?),
        hash: Some(Output::new(out).map_err(|e| format!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// The state of one key (a client id, a peer address).
#[derive(Clone, Copy, Debug)]
struct Failures {
    /// Failures in a row.
    count: u32,
    /// The last one.
    last: Instant,
    /// Whether an attempt of this slowed key is being checked now: one at a time.
    checking: bool,
}

/// Slows repeated authentication failures per key (see the module documentation).
#[derive(Debug)]
pub struct FailureBackoff {
    free_failures: u32,
    max_backoff: Duration,
    entries: Mutex<HashMap<String, Failures>>,
}

/// The most keys tracked; when full, keys whose back-off has ended are dropped, and if none
/// has, a new key is not tracked (the Argon2 pool still bounds its work).
pub const MAX_TRACKED: usize = 65_536;

impl FailureBackoff {
    /// Slows a key after `free_failures` failures in a row, for at most `max_backoff`.
    pub fn new(free_failures: u32, max_backoff: Duration) -> Self {
        Self {
            free_failures,
            max_backoff,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The back-off after `count` failures in a row: none before `free_failures` failures,
    /// then 1 s, 2 s, 4 s, … up to `max_backoff`.
    pub fn backoff(&self, count: u32) -> Duration {
        if count == 0 || count < self.free_failures || self.max_backoff.is_zero() {
            return Duration::ZERO;
        }
        let doublings = (count - self.free_failures.max(1)).min(30);
        Duration::from_secs(1u64 << doublings).min(self.max_backoff)
    }

    /// How long a key with `f` must still wait at `now`, if it must.
    fn remaining(&self, f: &Failures, now: Instant) -> Option<Duration> {
        let until = f.last + self.backoff(f.count);
        (now < until).then(|| until - now)
    }

    /// How long `key` must wait before its next attempt, if it must.
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        self.remaining(self.lock().get(key)?, now)
    }

    /// Lets one attempt of each key in `keys` be checked now, or says how long to wait: a key
    /// within its back-off waits for it; a slowed key whose back-off has ended lets one
    /// attempt through at a time (the others wait a second), so that the end of a back-off
    /// does not release a burst. Every admitted attempt ends with [`Self::failed`],
    /// [`Self::succeeded`] or [`Self::abandoned`] for each key.
    pub fn admit(&self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let mut entries = self.lock();
        let mut wait = None;
        for key in keys {
            if let Some(f) = entries.get(*key) {
                match self.remaining(f, now) {
                    Some(left) => wait = wait.max(Some(left)),
                    None if f.checking => wait = wait.max(Some(Duration::from_secs(1))),
                    None => {}
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in keys {
            if let Some(f) = entries.get_mut(*key)
                && !self.backoff(f.count).is_zero()
            {
                f.checking = true;
            }
        }
        Ok(())
    }

    /// An admitted attempt of `key` ended without an answer (e.g. `busy`).
    pub fn abandoned(&self, key: &str) {
        if let Some(f) = self.lock().get_mut(key) {
            f.checking = false;
        }
    }

    /// Records a failure of `key` at `now`.
    pub fn failed(&self, key: &str, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= MAX_TRACKED && !entries.contains_key(key) {
            let max = self.max_backoff;
            entries.retain(|_, f| now.saturating_duration_since(f.last) < max);
            if entries.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            checking: false,
        });
        entry.checking = false;
        // A key that stayed quiet for longer than the longest back-off starts again.
        if now.saturating_duration_since(entry.last) > self.max_backoff {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// Forgets `key`'s failures (a success).
    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How long a refusal of a slowed key is held before it is answered: the remaining wait,
    /// at most a second. A flood on kept-alive connections then gets about one answer per
    /// connection per second instead of as many as it can send.
    pub fn hold(wait: Duration) -> Duration {
        wait.min(Duration::from_secs(1))
    }

    /// The refusal of a key that must wait `wait`.
    pub fn refusal(wait: Duration) -> ServiceError {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        ServiceError::new(
            ErrorCode::AuthenticationThrottled,
            format!("too many failed authentications; try again in {secs} s"),
        )
        .with_retry_after(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    fn pool() -> Argon2Pool {
        Argon2Pool::new(2, 4)
    }

    #[tokio::test]
    async fn hashes_verify_with_the_argon2_crate_and_the_other_way_round() {
        let pool = pool();
        let phc = pool
            .hash(Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // The crate's own verifier accepts our hash …
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", phc.as_str())
                .is_ok()
        );
        // … and we accept the crate's, with other parameters too.
        let theirs = argon2::password_hash::PasswordHasher::hash_password_with_salt(
            &Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(8192, 3, 2, Some(32)).unwrap(),
            ),
            b"battery staple",
            b"0123456789abcdef",
        )
        .unwrap()
        .to_string();
        for (secret, phc, expected) in [
            ("correct horse", phc.as_str(), true),
            ("correct horsE", phc.as_str(), false),
            ("", phc.as_str(), false),
            ("battery staple", theirs.as_str(), true),
            ("battery stapler", theirs.as_str(), false),
            ("anything", "", false),
            ("anything", DUMMY_HASH, false),
        ] {
            assert_eq!(
                pool.verify(Zeroizing::new(secret.into()), phc.to_owned())
                    .await
                    .unwrap(),
                expected,
                "{secret:?} against {phc:?}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_or_oversized_stored_hashes_are_errors_not_matches() {
        let pool = pool();
        let huge = "$argon2id$v=19$m=1048576,t=1,p=1$c2FtLWR1bW15LXNhbHQ$dGhpcy1pcy1ub3QtYS1yZWFsLWhhc2gtYXQtYWxsIQ";
        for phc in ["not a hash", "$argon2id$v=19$m=19456", huge, "$pbkdf2$x"] {
            let e = pool
                .verify(Zeroizing::new("x".into()), phc.into())
                .await
                .unwrap_err();
            assert_eq!(e.code, "internal_error", "{phc}: {e}");
        }
    }

    /// Waits (at most 10 s) until `pool` holds memory for which `wanted` is true.
    async fn until_held(pool: &Argon2Pool, wanted: impl Fn(usize) -> bool) -> usize {
        for _ in 0..1000 {
            let held = pool.memory_held();
            if wanted(held) {
                return held;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        pool.memory_held()
    }

    /// A worker keeps its 19 MiB while checks keep coming, and gives them back once idle.
    #[tokio::test]
    async fn an_idle_worker_gives_its_memory_back() {
        let pool = Argon2Pool::with_idle_release(1, 2, Duration::from_millis(300));
        assert_eq!(pool.memory_held(), 0);
        let verified = pool
            .verify(Zeroizing::new("x".into()), DUMMY_HASH.into())
            .await
            .unwrap();
        assert!(!verified);
        let held = until_held(&pool, |held| held > 0).await;
        // The dummy hash's m = 19456 KiB.
        assert_eq!(held, 19456 * 1024, "{held} bytes held after one check");
        let after_idle = until_held(&pool, |held| held == 0).await;
        assert_eq!(after_idle, 0, "still {after_idle} bytes held after idling");
        // And it takes the memory again for the next check.
        pool.verify(Zeroizing::new("x".into()), DUMMY_HASH.into())
            .await
            .unwrap();
        assert_eq!(until_held(&pool, |held| held > 0).await, 19456 * 1024);
    }

    /// Ten checks at once on one worker with two queue places: two or three are taken (two
    /// wait, and one runs if the worker took it before the others came), the others are
    /// refused at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_with_busy() {
        let pool = std::sync::Arc::new(Argon2Pool::new(1, 2));
        let checks: Vec<_> = (0..10)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = pool
                        .verify(Zeroizing::new("x".into()), DUMMY_HASH.into())
                        .await;
                    (result, started.elapsed())
                })
            })
            .collect();
        let (mut taken, mut refused) = (0, 0);
        for check in checks {
            match check.await.unwrap() {
                (Ok(matched), _) => {
                    assert!(!matched);
                    taken += 1;
                }
                (Err(e), took) => {
                    assert_eq!(e.code, "busy", "{e}");
                    assert_eq!(e.retry_after_secs, Some(1));
                    assert!(took < Duration::from_millis(20), "refused after {took:?}");
                    refused += 1;
                }
            }
        }
        assert!(taken >= 2, "{taken} taken");
        assert!(
            refused >= 5,
            "only {refused} of 10 refused with one worker and two places"
        );
    }

    #[test]
    fn failures_are_slowed_after_the_free_ones_doubling_up_to_the_maximum() {
        let b = FailureBackoff::new(3, Duration::from_secs(8));
        let backoffs: Vec<u64> = (0..9).map(|n| b.backoff(n).as_secs()).collect();
        assert_eq!(backoffs, [0, 0, 0, 1, 2, 4, 8, 8, 8]);
        let t0 = Instant::now();
        for n in 1..3 {
            b.failed("client:a", t0);
            assert_eq!(b.wait("client:a", t0), None, "failure {n} is free");
        }
        b.failed("client:a", t0);
        assert_eq!(b.wait("client:a", t0), Some(Duration::from_secs(1)));
        assert_eq!(b.wait("client:a", t0 + Duration::from_secs(1)), None);
        assert_eq!(b.wait("client:b", t0), None, "keys are separate");
        // A success clears the count.
        b.succeeded("client:a");
        b.failed("client:a", t0);
        assert_eq!(b.wait("client:a", t0), None);
        // A key quiet for longer than the longest back-off starts again.
        for _ in 0..6 {
            b.failed("peer:x", t0);
        }
        assert!(b.wait("peer:x", t0).is_some());
        let later = t0 + Duration::from_secs(9);
        b.failed("peer:x", later);
        assert_eq!(b.wait("peer:x", later), None);

        let refusal = FailureBackoff::refusal(Duration::from_millis(1500));
        assert_eq!(refusal.code, "authentication_throttled");
        assert_eq!(refusal.retry_after_secs, Some(2));
    }

    #[test]
    fn a_slowed_key_is_checked_one_attempt_at_a_time_once_its_back_off_ends() {
        let b = FailureBackoff::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        // Keys that have not failed enough are admitted side by side.
        b.failed("peer:x", t0);
        assert_eq!(b.admit(&["peer:x"], t0), Ok(()));
        assert_eq!(b.admit(&["peer:x"], t0), Ok(()));
        b.failed("peer:x", t0);
        assert_eq!(
            b.admit(&["peer:x", "client:a"], t0),
            Err(Duration::from_secs(1))
        );
        let later = t0 + Duration::from_secs(1);
        assert_eq!(b.admit(&["peer:x", "client:a"], later), Ok(()));
        assert_eq!(
            b.admit(&["peer:x"], later),
            Err(Duration::from_secs(1)),
            "one at a time"
        );
        assert_eq!(b.admit(&["client:a"], later), Ok(()), "other keys are free");
        b.abandoned("peer:x");
        assert_eq!(b.admit(&["peer:x"], later), Ok(()));
        b.failed("peer:x", later);
        assert_eq!(b.admit(&["peer:x"], later), Err(Duration::from_secs(2)));
        assert_eq!(
            FailureBackoff::hold(Duration::from_secs(30)),
            Duration::from_secs(1)
        );
        assert_eq!(
            FailureBackoff::hold(Duration::from_millis(300)),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn the_tracked_keys_are_bounded() {
        let b = FailureBackoff::new(0, Duration::from_secs(60));
        let t0 = Instant::now();
        for n in 0..MAX_TRACKED + 10 {
            b.failed(&format!("peer:{n}"), t0);
        }
        assert_eq!(b.lock().len(), MAX_TRACKED);
        // Once their back-offs ended, room is made for new keys.
        let later = t0 + Duration::from_secs(61);
        b.failed("peer:new", later);
        assert!(b.wait("peer:new", later).is_some());
        assert_eq!(b.lock().len(), 1);
    }
}
