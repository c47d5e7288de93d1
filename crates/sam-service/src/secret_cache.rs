//! A short memory of client secrets verified recently, so that a client sending HTTP Basic on
//! every request pays the Argon2id verification (tens of milliseconds of CPU) once per
//! [`ServiceSettings::verified_secret_cache_secs`](crate::ServiceSettings) rather than per
//! request.
//!
//! An entry is `HMAC-SHA-256(k, stored PHC hash ‖ 0x00 ‖ secret)` under a random key `k` that
//! lives only in this process, with its expiry. The stored hash is part of what is MACed, so a
//! changed or removed secret never matches an old entry: the client record is still read on
//! every request, only the Argon2id work is remembered. Neither the secret nor anything that
//! could be checked against it without `k` is kept. Only successes are remembered; a wrong
//! secret costs its full verification every time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// The most entries kept; when full, expired entries are dropped, and if none expired, all.
const MAX_ENTRIES: usize = 10_000;

pub(crate) struct VerifiedSecrets {
    key: Zeroizing<[u8; 32]>,
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl VerifiedSecrets {
    /// A cache keeping entries for `ttl` (zero: nothing is kept).
    pub(crate) fn new(ttl: Duration) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // Without randomness the cache stays empty (every check verifies in full).
        let usable = getrandom::fill(key.as_mut()).is_ok();
        Self {
            key,
            ttl: if usable { ttl } else { Duration::ZERO },
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, phc: &str, secret: &str) -> Option<[u8; 32]> {
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(self.key.as_ref()).ok()?;
        mac.update(phc.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// Whether `secret` was verified against `phc` within the last `ttl`.
    pub(crate) fn contains(&self, phc: &str, secret: &str) -> bool {
        if self.ttl.is_zero() || phc.is_empty() {
            return false;
        }
        let Some(tag) = self.tag(phc, secret) else {
            return false;
        };
        let entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries
            .get(&tag)
            .is_some_and(|until| Instant::now() < *until)
    }

    /// Remembers that `secret` matches `phc`.
    pub(crate) fn insert(&self, phc: &str, secret: &str) {
        if self.ttl.is_zero() || phc.is_empty() {
            return;
        }
        let Some(tag) = self.tag(phc, secret) else {
            return;
        };
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, until| now < *until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(tag, now + self.ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_under_the_same_hash_matches_until_expiry() {
        let cache = VerifiedSecrets::new(Duration::from_millis(200));
        assert!(!cache.contains("$argon2id$a", "secret"));
        cache.insert("$argon2id$a", "secret");
        assert!(cache.contains("$argon2id$a", "secret"));
        // Another secret, or the same secret under a changed hash (a new secret was set).
        assert!(!cache.contains("$argon2id$a", "secreT"));
        assert!(!cache.contains("$argon2id$b", "secret"));
        // No stored hash never matches.
        cache.insert("", "secret");
        assert!(!cache.contains("", "secret"));
        std::thread::sleep(Duration::from_millis(250));
        assert!(!cache.contains("$argon2id$a", "secret"));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = VerifiedSecrets::new(Duration::ZERO);
        cache.insert("$argon2id$a", "secret");
        assert!(!cache.contains("$argon2id$a", "secret"));
    }

    #[test]
    fn a_full_cache_makes_room() {
        let cache = VerifiedSecrets::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            cache.insert("$argon2id$a", &i.to_string());
        }
        assert!(cache.contains("$argon2id$a", &(MAX_ENTRIES + 4).to_string()));
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= MAX_ENTRIES, "{len}");
    }
}
