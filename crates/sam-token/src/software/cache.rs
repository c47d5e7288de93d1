//! A bounded cache of opened software keys (seed 001's key handle cache): a signature with a
//! key used recently does not unwrap (AES-256-GCM) and decode (PKCS #8, and for ECDSA and
//! ML-DSA re-deriving the public key) it again.
//!
//! An entry is found by the key's id *and* the SHA-256 of its wrapped blob, so a record that
//! changed (a key replaced under the same id) never finds the old key. Entries unused for the
//! idle time are dropped; when the cache is full the least recently used entry is dropped.
//! A dropped key is zeroized (every `sam_keys::SigningKey` zeroizes its secret on drop) as soon
//! as no signature still uses it. [`SoftwareToken::forget_key`](crate::CryptoToken::forget_key)
//! drops one key at once (profiles that remove keys after signing; deleted keys).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sam_algorithms::KeySpec;
use sam_keys::SigningKey;
use sha2::{Digest as _, Sha256};

/// How many opened keys the software token keeps, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCacheSettings {
    /// The most keys kept open; `0` turns the cache off (every signature opens its key).
    pub entries: usize,
    /// How long a key is kept after its last use.
    pub idle: Duration,
}

impl KeyCacheSettings {
    /// No cache: every signature unwraps and decodes its key.
    pub const OFF: Self = Self {
        entries: 0,
        idle: Duration::ZERO,
    };
}

impl Default for KeyCacheSettings {
    /// 1,024 keys, 5 minutes.
    fn default() -> Self {
        Self {
            entries: 1024,
            idle: Duration::from_secs(300),
        }
    }
}

/// What finds an entry: the key's id, and the digest of its spec and wrapped blob.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    key_id: String,
    blob: [u8; 32],
}

impl CacheKey {
    pub(crate) fn new(key_id: &str, spec: KeySpec, blob: &[u8]) -> Self {
        let mut digest = Sha256::new();
        digest.update(spec.to_string().as_bytes());
        digest.update([0]);
        digest.update(blob);
        Self {
            key_id: key_id.to_owned(),
            blob: digest.finalize().into(),
        }
    }
}

struct Entry {
    key: Arc<SigningKey>,
    last_used: Instant,
}

/// The cache (see the module documentation).
pub(crate) struct KeyCache {
    settings: KeyCacheSettings,
    entries: Mutex<HashMap<CacheKey, Entry>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("settings", &self.settings)
            .field("entries", &self.len())
            .finish()
    }
}

impl KeyCache {
    pub(crate) fn new(settings: KeyCacheSettings) -> Self {
        Self {
            settings,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Entry>> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.settings.entries > 0
    }

    /// The key, if it is cached and was used within the idle time (which it now was).
    pub(crate) fn get(&self, id: &CacheKey, now: Instant) -> Option<Arc<SigningKey>> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.lock();
        let fresh = entries
            .get(id)
            .is_some_and(|e| now.saturating_duration_since(e.last_used) <= self.settings.idle);
        if !fresh {
            entries.remove(id);
            return None;
        }
        entries.get_mut(id).map(|e| {
            e.last_used = now;
            e.key.clone()
        })
    }

    /// Keeps `key`: drops the idle entries, then the least recently used one if still full.
    pub(crate) fn insert(&self, id: CacheKey, key: Arc<SigningKey>, now: Instant) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.settings.entries && !entries.contains_key(&id) {
            let idle = self.settings.idle;
            entries.retain(|_, e| now.saturating_duration_since(e.last_used) <= idle);
            if entries.len() >= self.settings.entries
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            id,
            Entry {
                key,
                last_used: now,
            },
        );
    }

    /// Drops every entry of the key `key_id` (whatever its blob).
    pub(crate) fn forget(&self, key_id: &str) {
        self.lock().retain(|k, _| k.key_id != key_id);
    }

    /// How many keys it holds.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sam_algorithms::EcCurve;

    const SPEC: KeySpec = KeySpec::Ecdsa(EcCurve::P256);

    fn key() -> Arc<SigningKey> {
        Arc::new(SigningKey::generate(SPEC).unwrap())
    }

    fn settings(entries: usize, idle_secs: u64) -> KeyCacheSettings {
        KeyCacheSettings {
            entries,
            idle: Duration::from_secs(idle_secs),
        }
    }

    #[test]
    fn a_cached_key_is_found_by_its_id_and_blob_only() {
        let cache = KeyCache::new(settings(4, 60));
        let now = Instant::now();
        let k = key();
        cache.insert(CacheKey::new("alice-1", SPEC, b"blob"), k.clone(), now);
        let found = cache
            .get(&CacheKey::new("alice-1", SPEC, b"blob"), now)
            .unwrap();
        assert!(Arc::ptr_eq(&found, &k));
        assert!(
            cache
                .get(&CacheKey::new("alice-1", SPEC, b"other blob"), now)
                .is_none()
        );
        assert!(
            cache
                .get(&CacheKey::new("alice-2", SPEC, b"blob"), now)
                .is_none()
        );
    }

    #[test]
    fn an_idle_key_is_dropped() {
        let cache = KeyCache::new(settings(4, 60));
        let now = Instant::now();
        let id = CacheKey::new("alice-1", SPEC, b"blob");
        cache.insert(id.clone(), key(), now);
        assert!(cache.get(&id, now + Duration::from_secs(60)).is_some());
        // Used at +60 s: idle until +120 s.
        assert!(cache.get(&id, now + Duration::from_secs(121)).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used_key() {
        let cache = KeyCache::new(settings(2, 600));
        let now = Instant::now();
        let (a, b, c) = (
            CacheKey::new("a", SPEC, b"1"),
            CacheKey::new("b", SPEC, b"1"),
            CacheKey::new("c", SPEC, b"1"),
        );
        cache.insert(a.clone(), key(), now);
        cache.insert(b.clone(), key(), now + Duration::from_secs(1));
        // `a` is used again: `b` is now the least recently used.
        assert!(cache.get(&a, now + Duration::from_secs(2)).is_some());
        cache.insert(c.clone(), key(), now + Duration::from_secs(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b, now + Duration::from_secs(4)).is_none());
        assert!(cache.get(&a, now + Duration::from_secs(4)).is_some());
        assert!(cache.get(&c, now + Duration::from_secs(4)).is_some());
    }

    #[test]
    fn forgetting_a_key_drops_it_and_an_off_cache_keeps_nothing() {
        let cache = KeyCache::new(settings(4, 60));
        let now = Instant::now();
        cache.insert(CacheKey::new("a", SPEC, b"1"), key(), now);
        cache.insert(CacheKey::new("a", SPEC, b"2"), key(), now);
        cache.insert(CacheKey::new("b", SPEC, b"1"), key(), now);
        cache.forget("a");
        assert_eq!(cache.len(), 1);

        let off = KeyCache::new(KeyCacheSettings::OFF);
        off.insert(CacheKey::new("a", SPEC, b"1"), key(), now);
        assert_eq!(off.len(), 0);
        assert!(off.get(&CacheKey::new("a", SPEC, b"1"), now).is_none());
    }
}
