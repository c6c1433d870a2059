//! Weaviate's vector cache for vectors that live on disk: at most
//! `capacity` full vectors are kept in RAM, filled as they are read; when
//! it is full, the whole cache is dropped and filling starts again
//! (Weaviate's `vectorCacheMaxObjects` policy: no eviction order, one
//! drop-all). Hits, misses and drops are counted so a run can report what
//! a cache smaller than the collection did.
//!
//! The cached rows sit in one slab in fill order, found through a table
//! with one entry per row of the base (4 bytes each): a hit is an index
//! and a read of contiguous floats under a shared lock, a miss copies the
//! row in, and a drop-all resets the table entries of the rows it held.
//! (A first version kept a hash map of boxed rows behind a mutex: a warm
//! cache holding every row answered 0.62× the queries per second of no
//! cache at all; see README's vector cache table for this one.)

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::RwLock;

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

const ABSENT: u32 = u32::MAX;

struct Slab {
    /// Row of the base → its place in the slab (`ABSENT`: not cached).
    place: Vec<u32>,
    /// The cached rows' ids in fill order (what a drop-all resets).
    ids: Vec<u32>,
    /// The cached rows, `dim` floats each, in fill order.
    data: Vec<f32>,
}

pub(super) struct VectorCache {
    capacity: usize,
    dim: usize,
    slab: RwLock<Slab>,
    hits: AtomicU64,
    misses: AtomicU64,
    drops: AtomicU64,
}

impl VectorCache {
    /// A cache of at most `capacity` rows of `dim` floats over a base of
    /// `rows` rows.
    pub fn new(capacity: usize, rows: usize, dim: usize) -> Self {
        VectorCache {
            capacity: capacity.clamp(1, (ABSENT - 1) as usize),
            dim,
            slab: RwLock::new(Slab {
                place: vec![ABSENT; rows],
                ids: Vec::new(),
                data: Vec::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            drops: AtomicU64::new(0),
        }
    }

    /// `f` applied to row `i`: from the cache, or read by `read` (a row of
    /// `dim` floats) and copied in.
    pub fn with_row<'a, R>(
        &self,
        i: u32,
        read: impl FnOnce() -> &'a [f32],
        f: impl FnOnce(&[f32]) -> R,
    ) -> R {
        let dim = self.dim;
        {
            // A poisoned lock only means a reader panicked: the slab is intact.
            let slab = self.slab.read().unwrap_or_else(|p| p.into_inner());
            let at = slab.place.get(i as usize).copied().unwrap_or(ABSENT);
            if at != ABSENT {
                self.hits.fetch_add(1, Relaxed);
                let start = at as usize * dim;
                return f(&slab.data[start..start + dim]);
            }
        }
        let mut slab = self.slab.write().unwrap_or_else(|p| p.into_inner());
        let at = slab.place.get(i as usize).copied().unwrap_or(ABSENT);
        if at != ABSENT {
            // Filled by another thread in between.
            self.hits.fetch_add(1, Relaxed);
            let start = at as usize * dim;
            return f(&slab.data[start..start + dim]);
        }
        self.misses.fetch_add(1, Relaxed);
        let row = read();
        if (i as usize) >= slab.place.len() {
            // Not a row of the base the cache was made for: not kept.
            return f(row);
        }
        if slab.ids.len() >= self.capacity {
            let Slab { place, ids, data } = &mut *slab;
            for &id in ids.iter() {
                place[id as usize] = ABSENT;
            }
            ids.clear();
            data.clear();
            self.drops.fetch_add(1, Relaxed);
        }
        if slab.data.capacity() == 0 {
            let rows = self.capacity.min(slab.place.len());
            slab.data.reserve_exact(rows * dim);
        }
        let at = slab.ids.len();
        slab.place[i as usize] = at as u32;
        slab.ids.push(i);
        slab.data.extend_from_slice(&row[..dim]);
        f(&slab.data[at * dim..(at + 1) * dim])
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
        let mut slab = self.slab.write().unwrap_or_else(|p| p.into_inner());
        let Slab { place, ids, data } = &mut *slab;
        for &id in ids.iter() {
            place[id as usize] = ABSENT;
        }
        ids.clear();
        data.clear();
    }

    /// Bytes the cache holds now: the slab as allocated and the table.
    pub fn bytes(&self) -> usize {
        self.slab.read().map_or(0, |s| {
            (s.data.capacity() + s.place.capacity() + s.ids.capacity()) * 4
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_as_read_and_drops_everything_when_full() {
        let cache = VectorCache::new(3, 10, 2);
        let rows: Vec<[f32; 2]> = (0..10).map(|i| [i as f32; 2]).collect();
        let read = |i: u32| {
            let row: &[f32] = &rows[i as usize];
            move || row
        };
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

    #[test]
    fn threads_reading_through_a_small_cache_always_get_their_own_row() {
        use rayon::prelude::*;
        let (n, dim) = (500usize, 8usize);
        let rows: Vec<f32> = (0..n * dim).map(|x| x as f32).collect();
        let cache = VectorCache::new(37, n, dim);
        let calls = 20_000u64;
        let wrong = (0..calls)
            .into_par_iter()
            .filter(|&c| {
                let i = ((c * 7919) % n as u64) as usize;
                let got =
                    cache.with_row(i as u32, || &rows[i * dim..(i + 1) * dim], |r| r.to_vec());
                got != rows[i * dim..(i + 1) * dim]
            })
            .count();
        assert_eq!(wrong, 0);
        let c = cache.counters();
        assert_eq!(c.hits + c.misses, calls);
        assert!(c.drops >= c.misses / 38, "{c:?}");
        // Never more than the capacity held.
        assert!(
            cache.bytes() <= (37 * dim + n + 64) * 4,
            "{}",
            cache.bytes()
        );
    }
}
