//! 8-bit scalar-quantised copies of the vectors, for a build: each
//! dimension's range split into 255 steps, one byte per value, a quarter of
//! the f32 bytes. The build is bound by memory (see [`space`](super::space)),
//! so a quarter of the bytes, which also mostly fit the last-level cache,
//! builds faster; the graph is then the graph of the decoded vectors, and
//! the index keeps and searches f32. On pypi-minilm recall at equal ef is
//! the f16 and f32 builds' within run-to-run noise (README, performance).
//!
//! Under cosine a distance is 1 − (a·b)·(1/|a|·1/|b|) over the decoded rows
//! with stored inverse norms, so a copy's distance to itself is ~0 as in
//! f32, and the distance is symmetric to the bit (the build caches
//! d(a, b) and later reads it as d(b, a)). A query made by
//! [`Space::query`] carries its inverse norm as one extra trailing value, so
//! `dist(query(a), b)` runs the same operations as `dist_pair(a, b)`.

use rayon::prelude::*;

use super::graph::Slot;
use super::space::Space;
use super::Hnsw;
use crate::distance::Metric;

/// The codes and how to decode them: value = code · scale + offset.
pub(super) struct Sq8Space {
    codes: Vec<u8>,
    dim: usize,
    scale: Vec<f32>,
    offset: Vec<f32>,
    /// Per row: 1/|decoded row| under cosine, else 1.
    inv_norm: Vec<f32>,
    metric: Metric,
}

impl Sq8Space {
    /// Quantises `index`'s vectors, or `None` without AVX-512 (the decode
    /// would cost more than the bytes it saves).
    pub fn try_new(index: &Hnsw) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(Self::quantise(index));
        }
        let _ = index;
        None
    }

    fn quantise(index: &Hnsw) -> Self {
        let dim = index.dim;
        let (lo, hi) = crate::index::quant::ranges(&index.vectors, dim);
        // A constant dimension decodes to its value exactly (code 0).
        let scale: Vec<f32> = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| if h > l { (h - l) / 255.0 } else { 0.0 })
            .collect();
        let mut codes = vec![0u8; index.vectors.len()];
        codes
            .par_chunks_mut(dim)
            .zip(index.vectors.par_chunks(dim))
            .for_each(|(c, r)| {
                for j in 0..dim {
                    if scale[j] > 0.0 {
                        c[j] = ((r[j] - lo[j]) / scale[j]).round().clamp(0.0, 255.0) as u8;
                    }
                }
            });
        let n = codes.len() / dim.max(1);
        let mut space = Sq8Space {
            codes,
            dim,
            scale,
            offset: lo,
            inv_norm: vec![1.0; n],
            metric: index.metric,
        };
        if space.metric == Metric::Cosine {
            let inv: Vec<f32> = (0..n as u32)
                .into_par_iter()
                .map(Slot)
                .map(|i| {
                    let norm2: f32 = space.decoded(i).map(|v| v * v).sum();
                    if norm2 > 0.0 {
                        1.0 / norm2.sqrt()
                    } else {
                        1.0
                    }
                })
                .collect();
            space.inv_norm = inv;
        }
        space
    }

    #[inline]
    fn row(&self, slot: Slot) -> &[u8] {
        let s = slot.idx() * self.dim;
        &self.codes[s..s + self.dim]
    }

    /// A row's decoded values (before the cosine rescaling).
    fn decoded(&self, slot: Slot) -> impl Iterator<Item = f32> + '_ {
        self.row(slot)
            .iter()
            .zip(self.scale.iter().zip(&self.offset))
            .map(|(&c, (&s, &o))| f32::from(c).mul_add(s, o))
    }

    /// The metric's distance from the raw kernel sum and the left side's
    /// inverse norm.
    #[inline]
    fn finish(&self, raw: f32, inv_a: f32, b: Slot) -> f32 {
        match self.metric {
            Metric::L2 => raw,
            Metric::InnerProduct => -raw,
            Metric::Cosine => 1.0 - raw * (inv_a * self.inv_norm[b.idx()]),
        }
    }

    /// Dot product (squared L2 under l2) of row `b` decoded with either a
    /// query or row `a` decoded, element by element as [`Space::query`]
    /// decodes.
    #[inline]
    fn raw(&self, a: Side<'_>, b: Slot) -> f32 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a space exists only where avx512f was detected.
        unsafe {
            x86::raw(self, a, self.row(b))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (a, b);
            unreachable!("no Sq8Space without AVX-512")
        }
    }
}

/// The left side of a distance.
#[derive(Clone, Copy)]
enum Side<'a> {
    Query(&'a [f32]),
    /// A row's codes.
    Row(&'a [u8]),
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Side, Sq8Space};
    use crate::distance::Metric;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn raw(sp: &Sq8Space, a: Side<'_>, b: &[u8]) -> f32 {
        let n = sp.dim;
        let l2 = sp.metric == Metric::L2;
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): i + 16 <= n, and every slice here has n elements.
        unsafe {
            let (ps, po) = (sp.scale.as_ptr(), sp.offset.as_ptr());
            let decode = |codes: *const u8, i: usize| {
                let c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                    codes.add(i) as *const __m128i
                )));
                _mm512_fmadd_ps(c, _mm512_loadu_ps(ps.add(i)), _mm512_loadu_ps(po.add(i)))
            };
            while i + 16 <= n {
                let x = match a {
                    Side::Query(q) => _mm512_loadu_ps(q.as_ptr().add(i)),
                    Side::Row(codes) => decode(codes.as_ptr(), i),
                };
                let y = decode(b.as_ptr(), i);
                acc = if l2 {
                    let d = _mm512_sub_ps(x, y);
                    _mm512_fmadd_ps(d, d, acc)
                } else {
                    _mm512_fmadd_ps(x, y, acc)
                };
                i += 16;
            }
            let mut sum = _mm512_reduce_add_ps(acc);
            while i < n {
                let x = match a {
                    Side::Query(q) => q[i],
                    Side::Row(codes) => f32::from(codes[i]).mul_add(sp.scale[i], sp.offset[i]),
                };
                let y = f32::from(b[i]).mul_add(sp.scale[i], sp.offset[i]);
                sum += if l2 { (x - y) * (x - y) } else { x * y };
                i += 1;
            }
            sum
        }
    }
}

impl Space for Sq8Space {
    const EXACT: bool = false;

    /// `q` is a query made by [`Space::query`] (a build's only queries):
    /// the decoded row and, last, its inverse norm.
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        let inv_q = q.get(self.dim).copied().unwrap_or(1.0);
        self.finish(self.raw(Side::Query(q), slot), inv_q, slot)
    }

    #[inline]
    fn dist_pair(&self, a: Slot, b: Slot) -> f32 {
        let raw = self.raw(Side::Row(self.row(a)), b);
        self.finish(raw, self.inv_norm[a.idx()], b)
    }

    #[inline(always)]
    fn prefetch(&self, slot: Slot) {
        super::space::prefetch_row(self.row(slot));
    }

    fn query(&self, slot: Slot, out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.decoded(slot));
        out.push(self.inv_norm[slot.idx()]);
    }

    fn copy_tolerance(&self) -> Option<f32> {
        match self.metric {
            // Rescaled to unit length: a copy is within rounding of 0.
            Metric::Cosine => Some(1e-5),
            // Identical codes decode identically: exactly 0.
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

    #[test]
    fn pairs_equal_queries_to_the_bit_and_stay_near_f32() {
        for metric in Metric::ALL {
            let dim = 40;
            let mut data = random_vectors(300, dim, 5);
            // A constant dimension must decode exactly, not divide by zero.
            for row in data.chunks_exact_mut(dim) {
                row[3] = 0.25;
            }
            let ds = crate::dataset::Dataset::from_vec("t", data, dim, metric).expect("dataset");
            let p = super::super::HnswParams {
                storage: crate::index::Storage::EXACT,
                ..Default::default()
            };
            let idx = Hnsw::build(&ds, p, &WorkContext::detached()).expect("build");
            let Some(sq) = Sq8Space::try_new(&idx) else {
                return; // no AVX-512 here
            };
            let mut q = Vec::new();
            for (a, b) in [(0u32, 1u32), (5, 200), (17, 17), (299, 0)] {
                let (a, b) = (Slot(a), Slot(b));
                sq.query(a, &mut q);
                let (pair, single) = (sq.dist_pair(a, b), sq.dist(&q, b));
                assert_eq!(pair.to_bits(), single.to_bits(), "{metric:?} {a}-{b}");
                let back = sq.dist_pair(b, a);
                assert_eq!(
                    pair.to_bits(),
                    back.to_bits(),
                    "symmetric: {metric:?} {a}-{b}"
                );
                let exact = Space::dist_pair(&idx, a, b);
                // 255 steps per dimension: distances within a few percent.
                assert!(
                    (pair - exact).abs() < 0.03 * exact.abs().max(1.0),
                    "{metric:?} {a}-{b}: {pair} vs {exact}"
                );
            }
            for a in (0..300).map(Slot) {
                if let Some(t) = sq.copy_tolerance() {
                    assert!(
                        sq.dist_pair(a, a) <= t,
                        "{metric:?} {a}: {}",
                        sq.dist_pair(a, a)
                    );
                }
            }
        }
    }
}
