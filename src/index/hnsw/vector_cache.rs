//! Weaviate's vector cache for vectors that live on disk: at most
//! `capacity` full vectors are kept in RAM, filled as they are read; when
//! it is full, the whole cache is dropped and filling starts again
//! (Weaviate's `vectorCacheMaxObjects` policy: no eviction order, one
//! drop-all). Hits, misses and drops are counted so a run can report what
//! a cache smaller than the collection did.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Hits, misses and drop-alls so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
    pub drops: u64,
}

impl CacheCounters {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: CacheCounters) -> CacheCounters {
        CacheCounters {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            drops: self.drops.saturating_sub(earlier.drops),
        }
    }
}

pub(super) struct VectorCache {
    capacity: usize,
    rows: Mutex<HashMap<u32, Box<[f32]>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    drops: AtomicU64,
}

impl VectorCache {
    pub fn new(capacity: usize) -> Self {
        VectorCache {
            capacity: capacity.max(1),
            rows: Mutex::new(HashMap::with_capacity(capacity.clamp(1, 1 << 20))),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            drops: AtomicU64::new(0),
        }
    }

    /// `f` applied to row `i`: from the cache, or read by `read` and kept.
    pub fn with_row<R>(
        &self,
        i: u32,
        read: impl FnOnce() -> Box<[f32]>,
        f: impl FnOnce(&[f32]) -> R,
    ) -> R {
        // A poisoned lock only means a reader panicked: the map is intact.
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(row) = rows.get(&i) {
            self.hits.fetch_add(1, Relaxed);
            return f(row);
        }
        self.misses.fetch_add(1, Relaxed);
        if rows.len() >= self.capacity {
            rows.clear();
            self.drops.fetch_add(1, Relaxed);
        }
        let row = read();
        let out = f(&row);
        rows.insert(i, row);
        out
    }

    pub fn counters(&self) -> CacheCounters {
        CacheCounters {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            drops: self.drops.load(Relaxed),
        }
    }

    /// Empties the cache (a cold run starts from nothing); counters stay.
    pub fn clear(&self) {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Bytes the cached rows hold now.
    pub fn bytes(&self, dim: usize) -> usize {
        let n = self.rows.lock().map_or(0, |r| r.len());
        n * (dim * 4 + 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_as_read_and_drops_everything_when_full() {
        let cache = VectorCache::new(3);
        let read = |i: u32| move || vec![i as f32; 2].into_boxed_slice();
        for i in [1, 2, 1, 3] {
            assert_eq!(cache.with_row(i, read(i), |r| r[0]), i as f32);
        }
        assert_eq!(
            cache.counters(),
            CacheCounters {
                hits: 1,
                misses: 3,
                drops: 0
            }
        );
        // A fourth distinct row: the three go, the fourth stays.
        cache.with_row(4, read(4), |_| ());
        cache.with_row(1, read(1), |_| ());
        assert_eq!(cache.counters().drops, 1);
        assert_eq!(cache.counters().misses, 5, "1 was dropped with the rest");
        cache.with_row(4, read(4), |_| ());
        assert_eq!(cache.counters().hits, 2);
    }
}
