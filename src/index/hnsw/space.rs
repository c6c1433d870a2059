//! Where the distances of a graph walk come from: the stored f32 vectors,
//! half-precision copies ([`HalfSpace`], here), or 8-bit codes
//! ([`Sq8Space`](super::sq8::Sq8Space)). A build reads what
//! `build_precision` names (sq8 by default); searches walk what
//! `search_precision` names (f16 by default) and then re-score their final
//! candidates from f32, so results and distances are exact.
//!
//! Why: HNSW is bound by memory, not arithmetic. Inserting one of 100k
//! 384-d vectors at efConstruction 200 computes a few thousand distances to
//! vectors scattered over 150 MB, and each one waits for its 1.5 KB row to
//! arrive from DRAM; a query at ef 64 waits for about a thousand. A packed
//! f16 row is half the bytes, a code row a quarter. The graph is then the
//! graph of the rounded vectors (f16 keeps about 3 significant digits, far
//! below the gaps that order neighbours of real embeddings); the README
//! compares recall at equal ef with the f32 build and walk and hnswlib's.
//!
//! The f16 space exists only where the hardware converts in bulk (AVX-512)
//! and the values fit its range; otherwise f32 is read. The 8-bit space is
//! compared by integer kernels everywhere (see [`sq8`](super::sq8)), and
//! falls back to f16 where one shared step would not hold the data.

use rayon::prelude::*;

use super::graph::Slot;
use super::Hnsw;
use crate::distance::Metric;
use crate::index::f16;

/// Distances between a query and stored nodes, or between two nodes.
pub(super) trait Space: Sync {
    /// Whether distances are exact (else a search re-scores its results).
    const EXACT: bool;
    /// Distance from a prepared query to `slot`.
    fn dist(&self, q: &[f32], slot: Slot) -> f32;
    /// Distance between two stored nodes; equal to `dist` with `a`'s
    /// [`query`](Space::query) as the query.
    fn dist_pair(&self, a: Slot, b: Slot) -> f32;
    /// Hints the CPU to start loading `slot`'s vector.
    fn prefetch(&self, slot: Slot);
    /// `slot`'s vector as this space sees it, as a query (into `out`).
    fn query(&self, slot: Slot, out: &mut Vec<f32>);
    /// Distances at or below this between two nodes mean the vectors are
    /// copies of one another (the rounding of the space, and none for inner
    /// product, where a copy's distance says nothing).
    fn copy_tolerance(&self) -> Option<f32>;
    /// The query a walk in this space reads, from one prepared as the
    /// index prepares queries: itself, or (quantized codes) `out` filled.
    #[inline]
    fn for_walk<'a>(&self, q: &'a [f32], out: &'a mut Vec<f32>) -> &'a [f32] {
        let _ = out;
        q
    }
}

/// Quantized codes: what a search walks when the index has a quantizer.
/// Only searches walk codes (a build links on `build_precision`'s space),
/// so the pair distances below decode a row first and are slow.
impl Space for crate::index::quant::Codes {
    const EXACT: bool = false;
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        self.estimate(q, slot.idx())
    }
    fn dist_pair(&self, a: Slot, b: Slot) -> f32 {
        let mut q = Vec::new();
        self.query(a, &mut q);
        self.estimate(&q, b.idx())
    }
    #[inline(always)]
    fn prefetch(&self, slot: Slot) {
        prefetch_row(self.row(slot.idx()));
    }
    fn query(&self, slot: Slot, out: &mut Vec<f32>) {
        self.prepare(&self.decode(slot.idx()), out);
    }
    fn copy_tolerance(&self) -> Option<f32> {
        None
    }
    #[inline]
    fn for_walk<'a>(&self, q: &'a [f32], out: &'a mut Vec<f32>) -> &'a [f32] {
        self.prepare(q, out);
        out
    }
}

/// Hints the CPU to start loading every cache line of `row`.
#[inline(always)]
pub(super) fn prefetch_row<T>(row: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = row.as_ptr().cast::<i8>();
        // SAFETY: a prefetch never faults; every address hinted lies in the row.
        unsafe {
            let mut off = 0;
            while off < std::mem::size_of_val(row) {
                _mm_prefetch(p.wrapping_add(off), _MM_HINT_T0);
                off += 64;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// The stored f32 vectors.
impl Space for Hnsw {
    const EXACT: bool = true;
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        Hnsw::dist(self, q, slot)
    }
    #[inline]
    fn dist_pair(&self, a: Slot, b: Slot) -> f32 {
        Hnsw::dist(self, self.vector(a), b)
    }
    #[inline(always)]
    fn prefetch(&self, slot: Slot) {
        self.prefetch_vector(slot);
    }
    fn query(&self, slot: Slot, out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(self.vector(slot));
    }
    fn copy_tolerance(&self) -> Option<f32> {
        match self.metric {
            // 1 − x·x of a unit f32 vector is within a few ulps of 0.
            Metric::Cosine => Some(1e-6),
            Metric::L2 => Some(0.0),
            Metric::InnerProduct => None,
        }
    }
}

/// Half-precision copies of the stored vectors: what an f16 build reads
/// and what an f16 search walks.
pub(super) struct HalfSpace {
    words: Vec<u32>,
    words_per_row: usize,
    dim: usize,
    metric: Metric,
    single: f16::Kernel,
    pair: f16::PairKernel,
}

/// Largest magnitude packed: f16's maximum is 65,504.
const HALF_MAX: f32 = 60_000.0;
/// Smallest largest-magnitude packed: below it most values would be f16
/// subnormals and lose their digits.
const HALF_MIN_SCALE: f32 = 1e-2;

impl HalfSpace {
    /// Packs `index`'s vectors, or `None` where halves would be slower
    /// (no hardware conversion) or inexact (values out of f16's range).
    pub fn try_new(index: &Hnsw) -> Option<Self> {
        let (single, pair) = f16::fast_kernels(index.metric)?;
        let max = index
            .vectors
            .par_iter()
            .map(|v| v.abs())
            .reduce(|| 0.0, f32::max);
        if !(HALF_MIN_SCALE..=HALF_MAX).contains(&max) {
            return None;
        }
        let dim = index.dim;
        let words_per_row = f16::words_for(dim);
        let mut words = vec![0u32; index.vectors.len() / dim.max(1) * words_per_row];
        words
            .par_chunks_mut(words_per_row * 1024)
            .zip(index.vectors.par_chunks(dim * 1024))
            .for_each(|(out, rows)| {
                for (o, r) in out
                    .chunks_exact_mut(words_per_row)
                    .zip(rows.chunks_exact(dim))
                {
                    f16::pack(r, o);
                }
            });
        Some(HalfSpace {
            words,
            words_per_row,
            dim,
            metric: index.metric,
            single,
            pair,
        })
    }

    #[inline]
    fn row(&self, slot: Slot) -> &[u32] {
        let s = slot.idx() * self.words_per_row;
        &self.words[s..s + self.words_per_row]
    }

    /// Stores `vector` (prepared) at `slot`, growing by one row when `slot`
    /// is the next new one. `false` if a value is out of f16's range: the
    /// copy can then no longer stand for the vectors.
    pub fn set_row(&mut self, slot: Slot, vector: &[f32]) -> bool {
        if vector.iter().any(|v| v.abs() > HALF_MAX) {
            return false;
        }
        let s = slot.idx() * self.words_per_row;
        if s == self.words.len() {
            self.words.resize(s + self.words_per_row, 0);
        }
        f16::pack(vector, &mut self.words[s..s + self.words_per_row]);
        true
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * 4
    }
}

impl Space for HalfSpace {
    const EXACT: bool = false;
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        (self.single)(q, self.row(slot))
    }
    #[inline]
    fn dist_pair(&self, a: Slot, b: Slot) -> f32 {
        (self.pair)(self.row(a), self.row(b), self.dim)
    }
    #[inline(always)]
    fn prefetch(&self, slot: Slot) {
        prefetch_row(self.row(slot));
    }
    fn query(&self, slot: Slot, out: &mut Vec<f32>) {
        f16::unpack_into(self.row(slot), self.dim, out);
    }
    fn copy_tolerance(&self) -> Option<f32> {
        match self.metric {
            // A unit vector rounded to f16 has |x|² within 2·2⁻¹¹ of 1.
            Metric::Cosine => Some(1e-3),
            // Both sides rounded alike: a copy's difference is exactly 0.
            Metric::L2 => Some(0.0),
            Metric::InnerProduct => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::WorkContext;
    use crate::testutil::random_vectors;

    fn index(metric: Metric, scale: f32) -> Hnsw {
        let dim = 40;
        let data: Vec<f32> = random_vectors(300, dim, 3)
            .iter()
            .map(|v| v * scale)
            .collect();
        let ds = crate::dataset::Dataset::from_vec("t", data, dim, metric).expect("dataset");
        let mut p = super::super::HnswParams::default();
        p.storage.build = super::super::BuildPrecision::F32;
        Hnsw::build(&ds, p, &WorkContext::detached()).expect("build")
    }

    #[test]
    fn half_space_pairs_equal_queries_and_stay_near_f32() {
        for metric in Metric::ALL {
            let idx = index(metric, 1.0);
            let Some(half) = HalfSpace::try_new(&idx) else {
                return; // no hardware halves on this machine
            };
            let mut q = Vec::new();
            for (a, b) in [(0u32, 1u32), (5, 200), (17, 17), (299, 0)] {
                let (a, b) = (Slot(a), Slot(b));
                half.query(a, &mut q);
                let (pair, single) = (half.dist_pair(a, b), half.dist(&q, b));
                assert_eq!(pair.to_bits(), single.to_bits(), "{metric:?} {a}-{b}");
                let exact = Space::dist_pair(&idx, a, b);
                assert!(
                    (pair - exact).abs() < 2e-3 * exact.abs().max(1.0),
                    "{metric:?}: {pair} vs {exact}"
                );
            }
            // A vector is its own copy within the tolerance.
            for a in (0..300).map(Slot) {
                if let Some(t) = half.copy_tolerance() {
                    assert!(
                        half.dist_pair(a, a) <= t,
                        "{metric:?} {a}: {}",
                        half.dist_pair(a, a)
                    );
                }
                if let Some(t) = Space::copy_tolerance(&idx) {
                    let d = Space::dist_pair(&idx, a, a);
                    assert!(d <= t, "{metric:?} f32 {a}: {d}");
                }
            }
        }
    }

    #[test]
    fn values_out_of_half_range_build_from_f32() {
        assert!(HalfSpace::try_new(&index(Metric::L2, 1e6)).is_none());
        assert!(HalfSpace::try_new(&index(Metric::L2, 1e-5)).is_none());
    }
}
