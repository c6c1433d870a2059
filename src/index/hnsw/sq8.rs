//! 8-bit scalar-quantised copies of the vectors, for a build: one byte per
//! value, a quarter of the f32 bytes, compared by integer dot products. The
//! build is bound by distance computations (and, at large sizes, by memory;
//! see [`space`](super::space)): a quarter of the bytes, compared 64 codes
//! per instruction with AVX-512 VNNI ([`int8`](crate::distance::int8)),
//! builds faster; the graph is then the graph of the decoded vectors, and
//! the index keeps and searches f32.
//!
//! Every dimension shares one step `s` (the widest dimension's range over
//! 255) around its own centre `m_j`: value ≈ `m_j + s · (c_j − 128)`. One
//! shared step is what lets the sum stay integer: with `u_j = c_j − 128`,
//! `a·b = s²·Σ u_a u_b + s·(r_a + r_b) + Σ m_j²`, where `r = Σ m_j u_j` is
//! kept per row, and `|a − b|² = s²·Σ (c_a − c_b)²` exactly. (Per-dimension
//! steps would weigh each product by its own `s_j²`.) On pypi-minilm the
//! widest dimension spans 1.22× the median one, and the shared step's error
//! in a dot product is 0.0008 rms against 0.0006 for per-dimension steps;
//! where the widest dimension spans more than [`MAX_RANGE_RATIO`] times the
//! median the other dimensions would lose too much, and the build reads
//! half-precision copies instead.
//!
//! The integer part is exact, so a distance is symmetric to the bit (the
//! build caches d(a, b) and later reads it as d(b, a)), and a copy's
//! distance to itself is ~0 under cosine (1 − (a·a)·(1/|a|)²) and exactly 0
//! under l2. A build's queries are always its own rows: [`Space::query`]
//! hands over the row's slot, and `dist(query(a), b)` is `dist_pair(a, b)`.

use rayon::prelude::*;

use super::graph::Slot;
use super::space::Space;
use super::Hnsw;
use crate::distance::int8;
use crate::distance::Metric;

/// The widest dimension's range over the median dimension's beyond which
/// one shared step would leave the median dimension with fewer than 128 of
/// its 256 levels: such data is built from half-precision copies.
pub(super) const MAX_RANGE_RATIO: f32 = 2.0;

/// Bytes of a row's record before its codes: [`RowMeta`]'s four values.
const META: usize = 16;

/// What a distance needs of a row besides its codes, stored just before
/// them (one region of memory per row: a separate array per value cost a
/// cache miss each, a fifth of a 50k build's time).
#[derive(Clone, Copy, Debug, PartialEq)]
struct RowMeta {
    /// Σ (code − 128), to turn the kernel's Σ a·(b − 128) into
    /// Σ (a − 128)·(b − 128).
    sum: i32,
    /// Σ (code − 128)², for l2.
    sq: i32,
    /// Σ centre · (code − 128).
    centre: f32,
    /// 1/|decoded row| under cosine, else 1.
    inv_norm: f32,
}

impl RowMeta {
    #[inline(always)]
    fn read(record: &[u8]) -> Self {
        let word = |i: usize| -> [u8; 4] {
            let mut w = [0u8; 4];
            w.copy_from_slice(&record[4 * i..4 * i + 4]);
            w
        };
        RowMeta {
            sum: i32::from_le_bytes(word(0)),
            sq: i32::from_le_bytes(word(1)),
            centre: f32::from_le_bytes(word(2)),
            inv_norm: f32::from_le_bytes(word(3)),
        }
    }

    fn write(self, record: &mut [u8]) {
        record[0..4].copy_from_slice(&self.sum.to_le_bytes());
        record[4..8].copy_from_slice(&self.sq.to_le_bytes());
        record[8..12].copy_from_slice(&self.centre.to_le_bytes());
        record[12..16].copy_from_slice(&self.inv_norm.to_le_bytes());
    }
}

/// The codes and how to decode them: value = centre + step · (code − 128).
pub(super) struct Sq8Space {
    /// Per row: its [`RowMeta`], then its `dim` codes.
    records: Vec<u8>,
    dim: usize,
    step: f64,
    /// Σ centre², the constant term of every dot product.
    centre_sq: f64,
    metric: Metric,
    kernel: int8::Kernel,
}

/// Longest rows: Σ (code − 128)² must fit 32 bits (128² per code).
const MAX_DIM: usize = (i32::MAX as usize) / (128 * 128);

impl Sq8Space {
    /// Quantises `index`'s vectors, or `None` where one shared step would
    /// lose too much (see [`MAX_RANGE_RATIO`]) or rows are too long for
    /// 32-bit sums.
    pub fn try_new(index: &Hnsw) -> Option<Self> {
        let dim = index.dim;
        if dim == 0 || dim > MAX_DIM.min(int8::MAX_LEN) {
            return None;
        }
        let (lo, hi) = crate::index::quant::ranges(&index.vectors, dim);
        let step = shared_step(&lo, &hi)?;
        let centre: Vec<f32> = lo.iter().zip(&hi).map(|(l, h)| 0.5 * (l + h)).collect();
        let stride = META + dim;
        let n = index.vectors.len() / dim;
        let mut records = vec![0u8; n * stride];
        records
            .par_chunks_mut(stride)
            .zip(index.vectors.par_chunks(dim))
            .for_each(|(rec, r)| {
                let (meta, codes) = rec.split_at_mut(META);
                let (mut sum, mut sq, mut cen) = (0i32, 0i32, 0f64);
                for j in 0..dim {
                    let u = if step > 0.0 {
                        ((r[j] - centre[j]) / step).round()
                    } else {
                        0.0
                    };
                    codes[j] = (u + 128.0).clamp(0.0, 255.0) as u8;
                    let u = i32::from(codes[j]) - 128;
                    sum += u;
                    sq += u * u;
                    cen += f64::from(centre[j]) * f64::from(u);
                }
                RowMeta {
                    sum,
                    sq,
                    centre: cen as f32,
                    inv_norm: 1.0,
                }
                .write(meta);
            });
        let mut space = Sq8Space {
            records,
            dim,
            step: f64::from(step),
            centre_sq: centre.iter().map(|&m| f64::from(m) * f64::from(m)).sum(),
            metric: index.metric,
            kernel: int8::kernel(),
        };
        if space.metric == Metric::Cosine {
            let inv: Vec<f32> = (0..n as u32)
                .into_par_iter()
                .map(|i| {
                    let norm2 = space.dot(Slot(i), Slot(i));
                    if norm2 > 0.0 {
                        (1.0 / norm2.sqrt()) as f32
                    } else {
                        1.0
                    }
                })
                .collect();
            for (rec, inv) in space.records.chunks_exact_mut(stride).zip(inv) {
                let mut meta = RowMeta::read(rec);
                meta.inv_norm = inv;
                meta.write(rec);
            }
        }
        Some(space)
    }

    /// A row's record: its meta, then its codes.
    #[inline(always)]
    fn record(&self, slot: Slot) -> &[u8] {
        let stride = META + self.dim;
        let s = slot.idx() * stride;
        &self.records[s..s + stride]
    }

    /// The raw products of two rows and their metas: Σ (a − 128)·(b − 128)
    /// exactly, and each row's meta.
    #[inline(always)]
    fn centred(&self, a: Slot, b: Slot) -> (i64, RowMeta, RowMeta) {
        let (ra, rb) = (self.record(a), self.record(b));
        let raw = (self.kernel)(&ra[META..], &rb[META..]);
        let (ma, mb) = (RowMeta::read(ra), RowMeta::read(rb));
        (i64::from(raw) - 128 * i64::from(mb.sum), ma, mb)
    }

    /// The decoded rows' dot product from [`centred`](Self::centred)'s
    /// parts (symmetric to the bit).
    #[inline(always)]
    fn dot_of(&self, i: i64, ma: RowMeta, mb: RowMeta) -> f64 {
        self.step * self.step * i as f64
            + self.step * (f64::from(ma.centre) + f64::from(mb.centre))
            + self.centre_sq
    }

    fn dot(&self, a: Slot, b: Slot) -> f64 {
        let (i, ma, mb) = self.centred(a, b);
        self.dot_of(i, ma, mb)
    }

    /// A row decoded (for tests).
    #[cfg(test)]
    fn decoded(&self, slot: Slot, centre: &[f32]) -> Vec<f64> {
        self.record(slot)[META..]
            .iter()
            .zip(centre)
            .map(|(&c, &m)| f64::from(m) + self.step * f64::from(i32::from(c) - 128))
            .collect()
    }
}

/// The one step every dimension shares: the widest range over 255, or
/// `None` if the widest is more than [`MAX_RANGE_RATIO`] times the median
/// of the dimensions that vary. `Some(0.0)` when no dimension varies.
fn shared_step(lo: &[f32], hi: &[f32]) -> Option<f32> {
    let mut ranges: Vec<f32> = lo
        .iter()
        .zip(hi)
        .map(|(l, h)| h - l)
        .filter(|r| *r > 0.0)
        .collect();
    if ranges.is_empty() {
        return Some(0.0);
    }
    ranges.sort_unstable_by(f32::total_cmp);
    let (median, widest) = (ranges[ranges.len() / 2], ranges[ranges.len() - 1]);
    if !widest.is_finite() || widest > MAX_RANGE_RATIO * median {
        return None;
    }
    Some(widest / 255.0)
}

impl Space for Sq8Space {
    const EXACT: bool = false;

    /// `q` is a query made by [`Space::query`] (a build's only queries):
    /// the slot of the row it stands for.
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        let row = q[0] as u32 | (q[1] as u32) << 16;
        self.dist_pair(Slot(row), slot)
    }

    #[inline]
    fn dist_pair(&self, a: Slot, b: Slot) -> f32 {
        let (i, ma, mb) = self.centred(a, b);
        match self.metric {
            Metric::L2 => {
                let d = i64::from(ma.sq) + i64::from(mb.sq) - 2 * i;
                (self.step * self.step * d as f64) as f32
            }
            Metric::InnerProduct => -self.dot_of(i, ma, mb) as f32,
            Metric::Cosine => {
                let inv = f64::from(ma.inv_norm) * f64::from(mb.inv_norm);
                (1.0 - self.dot_of(i, ma, mb) * inv) as f32
            }
        }
    }

    #[inline(always)]
    fn prefetch(&self, slot: Slot) {
        super::space::prefetch_row(self.record(slot));
    }

    /// The slot in two halves of 16 bits, each an exact f32.
    fn query(&self, slot: Slot, out: &mut Vec<f32>) {
        out.clear();
        out.push((slot.0 & 0xffff) as f32);
        out.push((slot.0 >> 16) as f32);
    }

    fn copy_tolerance(&self) -> Option<f32> {
        match self.metric {
            // Rescaled to unit length: a copy is within rounding of 0.
            Metric::Cosine => Some(1e-5),
            // Identical codes: exactly 0.
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
            let sq = Sq8Space::try_new(&idx).expect("ranges within the ratio");
            // The integer formula is the decoded rows' dot product.
            let (lo, hi) = crate::index::quant::ranges(&idx.vectors, dim);
            let centre: Vec<f32> = lo.iter().zip(&hi).map(|(l, h)| 0.5 * (l + h)).collect();
            let decoded = |s: Slot| sq.decoded(s, &centre);
            for (a, b) in [(0u32, 1u32), (7, 7), (120, 33)] {
                let (a, b) = (Slot(a), Slot(b));
                let want: f64 = decoded(a).iter().zip(decoded(b)).map(|(x, y)| x * y).sum();
                // The per-row centre term is kept in f32.
                let got = sq.dot(a, b);
                assert!(
                    (got - want).abs() < 1e-6 * want.abs().max(1.0),
                    "{metric:?} {a}-{b}: {got} vs {want}"
                );
            }
            // The constant dimension decodes to its value.
            assert!((decoded(Slot(9))[3] - 0.25).abs() < 1e-6 || metric == Metric::Cosine);
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

    #[test]
    fn one_dimension_far_wider_than_the_rest_builds_from_half_precision() {
        let dim = 16;
        let mut data = random_vectors(400, dim, 9);
        for row in data.chunks_exact_mut(dim) {
            row[0] *= 10.0;
        }
        let ds =
            crate::dataset::Dataset::from_vec("t", data.clone(), dim, Metric::L2).expect("dataset");
        let idx = Hnsw::build(&ds, Default::default(), &WorkContext::detached()).expect("build");
        assert!(Sq8Space::try_new(&idx).is_none());
        // Half precision needs AVX-512's bulk conversions; without them the
        // build reads f32 (and says so).
        let fallback = if crate::index::f16::fast_kernels(Metric::L2).is_some() {
            super::super::BuildPrecision::F16
        } else {
            super::super::BuildPrecision::F32
        };
        assert_eq!(
            idx.params.storage.build, fallback,
            "the build records what it read"
        );
        // Within the ratio: 8-bit copies.
        for row in data.chunks_exact_mut(dim) {
            row[0] /= 10.0;
        }
        let ds = crate::dataset::Dataset::from_vec("t", data, dim, Metric::L2).expect("dataset");
        let idx = Hnsw::build(&ds, Default::default(), &WorkContext::detached()).expect("build");
        assert_eq!(idx.params.storage.build, super::super::BuildPrecision::Sq8);
    }

    #[test]
    fn the_shared_step_ignores_constant_dimensions_and_refuses_uneven_ranges() {
        assert_eq!(shared_step(&[0.0, 1.0, 0.0], &[2.55, 1.0, 2.0]), Some(0.01));
        assert_eq!(shared_step(&[1.0, 1.0], &[1.0, 1.0]), Some(0.0));
        assert_eq!(shared_step(&[0.0, 0.0, 0.0], &[1.0, 1.0, 2.5]), None);
    }
}
