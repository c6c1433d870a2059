//! Exact search screened by 8-bit scores with a proven error bound: the
//! flat index's batch path where AVX-512 VNNI is present.
//!
//! Every query and base row is rounded to bytes on its own scale
//! ([`block8`]); the integer dot products are exact and four times as fast
//! as float ones, and the rounding's effect on each score is bounded
//! (`s_b/2·Σ|a_i| + s_a/2·Σ|b_i| + n·s_a·s_b/4`, widened for the floats
//! that compute it and for the rounding of the exact distance the results
//! are ranked by). So each row gets an interval `[lo, hi]` that holds its
//! exact distance; a row can be among a query's k nearest only if its `lo`
//! is at most the k-th smallest `hi` seen, and only those rows are kept.
//! The caller re-scores them with the exact kernels and keeps the best k:
//! the result is the exact top-k, not an approximation (tests compare with
//! brute force, ties included). On pypi-minilm (cosine, 384 dimensions)
//! about 30 rows per query survive for k = 10 and 260 for k = 100.

use rayon::prelude::*;

use super::filter::AllowList;
use crate::distance::block8::{self, panel_dots, Queries8, Rows8, Scale, MR, NR};
use crate::distance::Metric;
use crate::error::Result;
use crate::progress::WorkContext;

/// Base rows per block: packed, 512 rows of 384 dimensions are 192 KB.
const BLOCK: usize = 512;
/// Above this many dimensions the floats that compute the bound could
/// lose more than its safety factor allows: the float kernel is used.
pub const MAX_DIM: usize = 8192;
/// Every bound is widened by this factor, for the f32 arithmetic that
/// computes it (relative errors of order n·2⁻²⁴ ≤ 5·10⁻⁴ at [`MAX_DIM`]).
const SAFETY: f32 = 1.001;

/// Whether a batch can be screened here: the kernel exists, the
/// dimension is within [`MAX_DIM`], and every query could be rounded.
pub fn usable(dim: usize, queries: &[f32]) -> bool {
    if !block8::available() || dim == 0 || dim > MAX_DIM {
        return false;
    }
    let mut codes = vec![0i8; dim];
    queries
        .chunks_exact(dim)
        .all(|q| block8::quantize(q, &mut codes).usable)
}

/// What one query's bound needs: `E = step_b·x + l1_b·y + norm_b·w` bounds
/// the score's error against row b.
#[derive(Clone, Copy)]
struct QueryBound {
    step: f32,
    x: f32,
    y: f32,
    w: f32,
    /// |a|² (the L2 distance's query term).
    norm_sq: f32,
    /// The exact distance's relative rounding ([`reference_rounding`]).
    rel: f32,
}

impl QueryBound {
    fn new(scale: Scale, dim: usize, norm_sq: f32) -> Self {
        let n = dim as f32;
        // The integer sum's conversion to f32 and two products by the
        // steps: each rounds by at most 2⁻²⁴ of ≤ n·127² steps.
        let conversion = 3.0 * n * 127.0 * 127.0 / (1u32 << 24) as f32;
        // The exact distance the results are ranked by is itself a float
        // sum: its own rounding, against the true value.
        let rel = reference_rounding(dim);
        QueryBound {
            step: scale.step,
            x: SAFETY * (scale.l1 / 2.0 + (n / 4.0 + conversion) * scale.step),
            y: SAFETY * scale.step / 2.0,
            w: SAFETY * rel * scale.norm,
            norm_sq,
            rel,
        }
    }
}

/// Relative rounding of an exact distance over `dim` dimensions (bound on
/// a float sum of n products, doubled, plus the normalisations).
fn reference_rounding(dim: usize) -> f32 {
    8.0 * dim as f32 / (1u32 << 24) as f32 + 1e-6
}

/// One query's candidates: every row whose interval starts at or below the
/// k-th smallest upper end seen so far.
pub struct Candidates {
    k: usize,
    /// (lo, hi, id)
    rows: Vec<(f32, f32, u32)>,
    threshold: f32,
    cap: usize,
    scratch: Vec<f32>,
}

impl Candidates {
    pub fn new(k: usize) -> Self {
        Candidates {
            k,
            rows: Vec::new(),
            threshold: f32::INFINITY,
            cap: (8 * k).max(256),
            scratch: Vec::new(),
        }
    }

    /// The k-th smallest upper end seen so far (an upper bound on the k-th
    /// nearest distance); infinite before k rows.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    #[inline]
    fn push(&mut self, lo: f32, hi: f32, id: u32) {
        self.rows.push((lo, hi, id));
        if self.rows.len() >= self.cap {
            self.prune();
        }
    }

    /// Lowers the threshold to the k-th smallest upper end held and drops
    /// the rows that start above it; grows the room when most stay.
    fn prune(&mut self) {
        if self.k == 0 {
            self.rows.clear();
            return;
        }
        if self.rows.len() >= self.k {
            self.scratch.clear();
            // A NaN end (a row that could not be bounded) counts as infinite.
            self.scratch.extend(self.rows.iter().map(|r| {
                if r.1.is_nan() {
                    f32::INFINITY
                } else {
                    r.1
                }
            }));
            let (_, kth, _) = self
                .scratch
                .select_nth_unstable_by(self.k - 1, f32::total_cmp);
            self.threshold = self.threshold.min(*kth);
        }
        let t = self.threshold;
        self.rows.retain(|r| keeps(r.0, t));
        if self.rows.len() * 2 > self.cap {
            self.cap *= 2;
        }
    }

    /// Takes in another part of the base's candidates for the same query.
    pub fn absorb(&mut self, other: Candidates) {
        self.threshold = self.threshold.min(other.threshold);
        self.rows.extend(other.rows);
        self.prune();
    }

    /// The ids that may be among the k nearest (in no order).
    pub fn into_ids(mut self) -> Vec<u32> {
        self.prune();
        self.rows.into_iter().map(|r| r.2).collect()
    }
}

/// Everything the screening reads of the flat index.
pub struct Base<'a> {
    pub metric: Metric,
    pub dim: usize,
    pub len: usize,
    pub row: &'a (dyn Fn(usize) -> &'a [f32] + Sync),
    /// Per row: 1/|b| under cosine, |b|² under L2, empty under ip.
    pub norms: &'a [f32],
}

/// Candidates for every query of `prepared` (contiguous, as the flat index
/// prepares them; every query [`usable`]) with `norms_sq` their |a|²: the
/// base split among the threads, each rounding and packing its own rows
/// once, merged per query at the end.
pub fn screen(
    base: &Base,
    prepared: &[f32],
    norms_sq: &[f32],
    k: usize,
    filter: Option<&AllowList>,
    ctx: &WorkContext,
) -> Result<Vec<Candidates>> {
    let (n, dim) = (base.len, base.dim);
    let mut queries = Queries8::new();
    queries.pack(norms_sq.len(), dim, |i| &prepared[i * dim..(i + 1) * dim]);
    let bounds: Vec<QueryBound> = queries
        .scales()
        .iter()
        .zip(norms_sq)
        .map(|(&s, &nsq)| QueryBound::new(s, dim, nsq))
        .collect();
    ctx.progress.stage("exact search", n.div_ceil(BLOCK) as u64);
    by_base_parts(
        n,
        BLOCK,
        || bounds.iter().map(|_| Candidates::new(k)).collect(),
        |rows, found| screen_rows(base, &queries, &bounds, rows, filter, found, ctx),
        Candidates::absorb,
    )
}

/// Splits base rows `0..n` among the threads in whole blocks of `block`
/// rows, runs `work` on each part with per-query results of its own from
/// `fresh`, and merges them per query with `merge`: each thread reads (and
/// packs) only its own rows, once.
pub fn by_base_parts<T: Send>(
    n: usize,
    block: usize,
    fresh: impl Fn() -> Vec<T> + Sync,
    work: impl Fn(std::ops::Range<usize>, &mut [T]) -> Result<()> + Sync,
    merge: impl Fn(&mut T, T) + Sync,
) -> Result<Vec<T>> {
    let blocks = n.div_ceil(block);
    let per_thread = blocks.div_ceil(rayon::current_num_threads()).max(1);
    let parts: Vec<Result<Vec<T>>> = (0..blocks.div_ceil(per_thread))
        .into_par_iter()
        .map(|t| {
            let first = t * per_thread;
            let mut found = fresh();
            work(
                first * block..((first + per_thread) * block).min(n),
                &mut found,
            )?;
            Ok(found)
        })
        .collect();
    let mut merged: Option<Vec<T>> = None;
    for part in parts {
        let part = part?;
        match &mut merged {
            None => merged = Some(part),
            Some(all) => all
                .par_iter_mut()
                .zip(part)
                .for_each(|(mine, other)| merge(mine, other)),
        }
    }
    Ok(merged.unwrap_or_else(fresh))
}

fn screen_rows(
    base: &Base,
    queries: &Queries8,
    bounds: &[QueryBound],
    range: std::ops::Range<usize>,
    filter: Option<&AllowList>,
    found: &mut [Candidates],
    ctx: &WorkContext,
) -> Result<()> {
    let mut rows = Rows8::new();
    let ld = BLOCK.div_ceil(NR) * NR;
    let mut dots = vec![0i32; MR * ld];
    let mut meta = RowMeta::default();
    for start in range.clone().step_by(BLOCK) {
        ctx.cancel.check()?;
        let cols = BLOCK.min(range.end - start);
        rows.pack(cols, base.dim, |j| (base.row)(start + j));
        meta.fill(base, rows.scales(), start);
        for qp in 0..queries.panels() {
            panel_dots(queries, qp, &rows, &mut dots, ld);
            for i in 0..MR.min(bounds.len() - qp * MR) {
                let qi = qp * MR + i;
                let scoring = Scoring {
                    metric: base.metric,
                    dots: &dots[i * ld..i * ld + cols],
                    meta: &meta,
                    q: &bounds[qi],
                };
                offer(&scoring, start, filter, &mut found[qi]);
            }
        }
        ctx.progress.add(1);
    }
    Ok(())
}

/// One block's rows, as the bound reads them (structure of arrays, so 16
/// rows are one vector load each).
#[derive(Default)]
struct RowMeta {
    step: Vec<f32>,
    l1: Vec<f32>,
    norm: Vec<f32>,
    /// 128·Σ codes, to take off the offset queries' sums.
    offset: Vec<i32>,
    /// 1/|b| (cosine) or |b|² (L2); unused under ip.
    metric_norm: Vec<f32>,
}

impl RowMeta {
    fn fill(&mut self, base: &Base, scales: &[Scale], start: usize) {
        self.step.clear();
        self.l1.clear();
        self.norm.clear();
        self.offset.clear();
        self.metric_norm.clear();
        for (j, s) in scales.iter().enumerate() {
            self.step.push(s.step);
            // A row that could not be rounded gets an infinite error: it is
            // kept whatever its score.
            self.l1.push(if s.usable { s.l1 } else { f32::INFINITY });
            self.norm.push(s.norm);
            self.offset.push(128 * s.code_sum);
            self.metric_norm
                .push(base.norms.get(start + j).copied().unwrap_or(0.0));
        }
    }
}

/// Whether a lower end `lo` keeps a row under threshold `t` (a row whose
/// bound is not a number is kept).
#[inline(always)]
fn keeps(lo: f32, t: f32) -> bool {
    lo <= t || lo.is_nan()
}

/// One query's integer scores against one block's rows, and what turns
/// them into distance intervals.
struct Scoring<'a> {
    metric: Metric,
    dots: &'a [i32],
    meta: &'a RowMeta,
    q: &'a QueryBound,
}

impl Scoring<'_> {
    /// Row j's interval: its distance estimate ∓ the bound. [`x86::near16`]
    /// does the same operations in the same order, 16 rows at once.
    #[inline(always)]
    fn interval(&self, j: usize) -> (f32, f32) {
        let (m, q) = (self.meta, self.q);
        let s = (self.dots[j] - m.offset[j]) as f32 * q.step * m.step[j];
        let e = m.step[j] * q.x + m.l1[j] * q.y + m.norm[j] * q.w;
        let mn = m.metric_norm[j];
        let (d, e) = match self.metric {
            Metric::Cosine => (1.0 - s * mn, e * mn),
            Metric::InnerProduct => (0.0 - s, e),
            // |a|² + |b|² − 2s, and the squared norms' own rounding.
            Metric::L2 => {
                let norms = q.norm_sq + mn;
                (norms - 2.0 * s, 2.0 * e + q.rel * norms)
            }
        };
        (d - e, d + e)
    }

    /// Bit j: row g + j's lower end keeps it under `t`, for `len` ≤ 16 rows.
    #[inline(always)]
    fn mask(&self, g: usize, len: usize, t: f32) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if len == 16 && block8::available() {
            // SAFETY: AVX-512F is present; rows g..g + 16 lie within
            // `dots` and every array of `meta` (one entry per row).
            return u32::from(unsafe { x86::near16(self, g, t) });
        }
        (0..len).fold(0u32, |m, j| {
            m | (u32::from(keeps(self.interval(g + j).0, t)) << j)
        })
    }
}

/// Offers one query's scores against a block's rows (ids from `start`).
fn offer(scoring: &Scoring, start: usize, filter: Option<&AllowList>, found: &mut Candidates) {
    #[cfg(target_arch = "x86_64")]
    if block8::available() {
        // SAFETY: AVX-512F is present (`available`).
        unsafe { offer_avx512(scoring, start, filter, found) };
        return;
    }
    offer_in(scoring, start, filter, found);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn offer_avx512(
    scoring: &Scoring,
    start: usize,
    filter: Option<&AllowList>,
    found: &mut Candidates,
) {
    offer_in(scoring, start, filter, found);
}

/// 16 rows at a time in registers; only rows kept by the group's mask are
/// looked at one by one.
#[inline(always)]
fn offer_in(scoring: &Scoring, start: usize, filter: Option<&AllowList>, found: &mut Candidates) {
    const L: usize = 16;
    let n = scoring.dots.len();
    let mut t = found.threshold();
    for g in (0..n).step_by(L) {
        let mut mask = scoring.mask(g, L.min(n - g), t);
        while mask != 0 {
            let j = g + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let (lo, hi) = scoring.interval(j);
            let id = (start + j) as u32;
            if keeps(lo, t) && filter.is_none_or(|f| f.contains(id)) {
                found.push(lo, hi, id);
                t = found.threshold();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Scoring;
    use crate::distance::Metric;

    /// Bit j: row g + j's lower end is at most `t` (or not a number), by
    /// the operations of `interval`, in its order, 16 rows at once.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn near16(scoring: &Scoring, g: usize, t: f32) -> u16 {
        let (metric, dots, meta, q) = (scoring.metric, scoring.dots, scoring.meta, scoring.q);
        // SAFETY (all loads): rows g..g + 16 exist in every array (caller).
        unsafe {
            let f = |v: &[f32]| _mm512_loadu_ps(v.as_ptr().add(g));
            let i = |v: &[i32]| _mm512_loadu_si512(v.as_ptr().add(g).cast());
            let set = _mm512_set1_ps;
            let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(i(dots), i(&meta.offset)));
            let step = f(&meta.step);
            let s = _mm512_mul_ps(_mm512_mul_ps(dot, set(q.step)), step);
            let e = _mm512_add_ps(
                _mm512_add_ps(
                    _mm512_mul_ps(step, set(q.x)),
                    _mm512_mul_ps(f(&meta.l1), set(q.y)),
                ),
                _mm512_mul_ps(f(&meta.norm), set(q.w)),
            );
            let mn = f(&meta.metric_norm);
            let (d, e) = match metric {
                Metric::Cosine => (
                    _mm512_sub_ps(set(1.0), _mm512_mul_ps(s, mn)),
                    _mm512_mul_ps(e, mn),
                ),
                Metric::InnerProduct => (_mm512_sub_ps(_mm512_setzero_ps(), s), e),
                Metric::L2 => {
                    let norms = _mm512_add_ps(set(q.norm_sq), mn);
                    (
                        _mm512_sub_ps(norms, _mm512_mul_ps(set(2.0), s)),
                        _mm512_add_ps(_mm512_mul_ps(set(2.0), e), _mm512_mul_ps(set(q.rel), norms)),
                    )
                }
            };
            _mm512_cmp_ps_mask::<_CMP_NGT_UQ>(_mm512_sub_ps(d, e), set(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_keep_every_row_that_may_be_among_the_k_nearest() {
        let mut c = Candidates::new(2);
        // Intervals: [0, 1], [0.5, 0.6], [0.7, 0.8], [0.65, 2.0], [3, 4].
        for (i, &(lo, hi)) in [(0.0, 1.0), (0.5, 0.6), (0.7, 0.8), (0.65, 2.0), (3.0, 4.0)]
            .iter()
            .enumerate()
        {
            c.push(lo, hi, i as u32);
        }
        let mut ids = c.into_ids();
        ids.sort_unstable();
        // The 2nd smallest upper end is 0.8: rows starting above it go.
        assert_eq!(ids, vec![0, 1, 2, 3]);
        // A row that could not be bounded stays.
        let mut c = Candidates::new(1);
        c.push(0.0, 0.1, 0);
        c.push(f32::NAN, f32::NAN, 1);
        c.push(0.5, 0.6, 2);
        let mut ids = c.into_ids();
        ids.sort_unstable();
        assert_eq!(ids, vec![0, 1]);
        assert!(Candidates::new(0).into_ids().is_empty());
    }
}
