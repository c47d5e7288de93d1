//! Object handles found once and used again (seed 001's key handle cache, for PKCS#11).
//!
//! Finding an object is three calls into the module (`C_FindObjectsInit`, `C_FindObjects`,
//! `C_FindObjectsFinal`), and in SoftHSM2 and many HSMs a search walks every object of the
//! token, so its cost grows with the number of keys. A token object's handle stays valid for
//! all sessions of the application while the object exists (PKCS #11 v2.40 §2.4), so the
//! handle found for a key is kept here and used again.
//!
//! A kept handle is never trusted blindly: before each use one `C_GetAttributeValue` reads the
//! object's class and `CKA_ID` (or label) back, and a handle that is gone or now names another
//! object is dropped and the object searched for again. Deleting a key drops its handle; a
//! token found unhealthy drops them all. The cache is bounded ([`MAX_HANDLES`]); when full it
//! is emptied and fills again with the keys in use.

use std::collections::HashMap;
use std::sync::Mutex;

use cryptoki::object::ObjectHandle;
use sam_algorithms::KeyLocation;

/// The most handles kept per token.
pub(crate) const MAX_HANDLES: usize = 4096;

/// What a kept handle was found for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Wanted {
    /// A resident private key, by `CKA_ID`.
    PrivateKey(KeyLocation, Vec<u8>),
    /// The AES wrapping key, by `CKA_LABEL`.
    WrappingKey(KeyLocation, Vec<u8>),
}

/// The handles of one token (see the module documentation); `H` is the module's handle.
#[derive(Debug)]
pub(crate) struct HandleCache<H = ObjectHandle> {
    handles: Mutex<HashMap<Wanted, H>>,
}

impl<H> Default for HandleCache<H> {
    fn default() -> Self {
        Self {
            handles: Mutex::new(HashMap::new()),
        }
    }
}

impl<H: Copy> HandleCache<H> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Wanted, H>> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The handle kept for `wanted`, to be checked before use.
    pub(crate) fn get(&self, wanted: &Wanted) -> Option<H> {
        self.map().get(wanted).copied()
    }

    /// Keeps `handle` for `wanted`.
    pub(crate) fn insert(&self, wanted: Wanted, handle: H) {
        let mut map = self.map();
        if map.len() >= MAX_HANDLES && !map.contains_key(&wanted) {
            map.clear();
        }
        map.insert(wanted, handle);
    }

    /// Drops the handle kept for `wanted`.
    pub(crate) fn forget(&self, wanted: &Wanted) {
        self.map().remove(wanted);
    }

    /// Drops every handle (the token was found unhealthy).
    pub(crate) fn clear(&self) {
        self.map().clear();
    }

    /// How many handles are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in handle: the cache only copies handles, and cryptoki's can only be made by
    /// the module.
    fn handle(n: u64) -> u64 {
        n
    }

    #[test]
    fn a_kept_handle_is_found_by_what_it_was_found_for_only() {
        let cache = HandleCache::<u64>::default();
        let key = Wanted::PrivateKey(KeyLocation::Default, b"alice-1".to_vec());
        cache.insert(key.clone(), handle(7));
        assert_eq!(cache.get(&key), Some(handle(7)));
        assert_eq!(
            cache.get(&Wanted::PrivateKey(
                KeyLocation::Signature,
                b"alice-1".to_vec()
            )),
            None
        );
        assert_eq!(
            cache.get(&Wanted::WrappingKey(
                KeyLocation::Default,
                b"alice-1".to_vec()
            )),
            None
        );
        cache.forget(&key);
        assert_eq!(cache.get(&key), None);
    }

    #[test]
    fn a_full_cache_is_emptied_and_keeps_the_new_handle() {
        let cache = HandleCache::<u64>::default();
        for n in 0..MAX_HANDLES as u64 {
            cache.insert(
                Wanted::PrivateKey(KeyLocation::Default, n.to_be_bytes().to_vec()),
                handle(n),
            );
        }
        assert_eq!(cache.len(), MAX_HANDLES);
        // Replacing a kept entry does not empty it; a new one does.
        cache.insert(
            Wanted::PrivateKey(KeyLocation::Default, 0u64.to_be_bytes().to_vec()),
            handle(1),
        );
        assert_eq!(cache.len(), MAX_HANDLES);
        let new = Wanted::WrappingKey(KeyLocation::Default, b"wrap".to_vec());
        cache.insert(new.clone(), handle(9));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&new), Some(handle(9)));
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
