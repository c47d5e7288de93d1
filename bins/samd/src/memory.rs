//! samd's allocator: jemalloc 5.3 (`tikv-jemallocator`), configured to give memory back.
//!
//! glibc's allocator keeps what a burst made it take: the buffers of a flood of requests, and
//! each Argon2 check's 19 MiB block (after the first one is freed, glibc's dynamic mmap
//! threshold rises past it, so later blocks come from its heaps and stay there). samd's RSS
//! after a burst then equals its peak for as long as it runs (docs/performance.md).
//!
//! jemalloc returns unused pages to the kernel after a decay time (`dirty_decay_ms`, 10 s by
//! default, then `muzzy_decay_ms`). Purging normally happens only when the allocator is
//! called, so an idle samd would keep its pages; with jemalloc's background threads enabled
//! (at most one per core, created on demand) the purging happens on time, idle or not.
//!
//! Only samd uses it: the libraries and the PKCS#11 module use their host's allocator, and C
//! code in samd (SQLite) keeps glibc's `malloc` (jemalloc's symbols are prefixed).

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Turns on jemalloc's background purging threads, so memory is given back while samd is idle.
/// Called once at start; a refusal (a platform without them) is logged, and samd goes on.
pub(crate) fn give_back_unused_memory() {
    match tikv_jemalloc_ctl::background_thread::write(true) {
        Ok(()) => tracing::debug!("jemalloc background purging on"),
        Err(e) => {
            tracing::warn!(error = %e, "jemalloc background purging unavailable; memory is given back only on allocation")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn background_purging_is_on_once_asked_for() {
        super::give_back_unused_memory();
        assert!(tikv_jemalloc_ctl::background_thread::read().unwrap());
    }
}
