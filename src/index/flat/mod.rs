//! The flat (exact) index: every query compared with every vector. It is the
//! recall oracle for every other index and the engine of ground truth.
//!
//! One query scans the rows with the SIMD kernels. A batch is a blocked
//! matrix product (queries × base block), followed by a top-k pass over
//! each block of scores: the product reuses each loaded vector across many
//! queries, which is what makes FAISS's flat search fast, and so ours. With
//! AVX-512 VNNI the product is on 8-bit copies with a proven error bound,
//! and only the rows it cannot rule out are scored exactly
//! ([`flat_screen`]: exact results at a quarter of the float product's
//! work); with AVX-512 alone it is annscope's own float block kernel
//! ([`block`](crate::distance::block)), elsewhere the `gemm` crate's.

pub mod family;
pub mod live;

use std::sync::Arc;

use rayon::prelude::*;

use super::filter::AllowList;
use super::flat_screen;
use super::quant::{Codes, Quantizer};
use super::topk::{Reservoir, TopK};
use super::{
    check_query_dim, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, Rescoring,
    SearchParams, SearchStats,
};
use crate::dataset::{Dataset, Vectors};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// Most queries per block of the batched product: large blocks amortise the
/// packing of each base block over many queries (FAISS uses 4096).
const MAX_QUERY_BLOCK: usize = 512;
/// Base rows per block of the batched product (a 512 × 1024 score block is 2 MB).
const BASE_BLOCK: usize = 1024;

/// Base rows per block of the block kernel's path: packed, 512 rows of 384
/// dimensions are 768 KB, which stay in L2 while every query panel passes.
const KERNEL_BLOCK: usize = 512;

/// Exact search over a dataset, or a scan of quantized codes whose best
/// candidates are re-scored exactly.
pub struct FlatIndex {
    dataset: Arc<Dataset>,
    metric: Metric,
    /// Per base row: 1/|b| under cosine, |b|² under L2, nothing under ip.
    norms: Vec<f32>,
    /// Codes a search scans instead of the vectors (then only the best
    /// `oversample × k` rows are read).
    codes: Option<Codes>,
}

impl FlatIndex {
    /// Prepares the per-row norms (in parallel); the vectors stay where they are.
    pub fn build(dataset: Arc<Dataset>, ctx: &WorkContext) -> Result<Self> {
        let metric = dataset.metric();
        let n = dataset.len();
        ctx.progress.stage("computing norms", n as u64);
        let norms = match metric {
            Metric::InnerProduct => Vec::new(),
            Metric::Cosine | Metric::L2 => {
                let mut v = vec![0.0f32; n];
                v.par_chunks_mut(8192)
                    .enumerate()
                    .try_for_each(|(c, out)| {
                        ctx.cancel.check()?;
                        for (j, o) in out.iter_mut().enumerate() {
                            let sq = distance::norm_squared(dataset.row(c * 8192 + j));
                            *o = if metric == Metric::Cosine {
                                if sq > 0.0 {
                                    1.0 / sq.sqrt()
                                } else {
                                    0.0
                                }
                            } else {
                                sq
                            };
                        }
                        ctx.progress.add(out.len() as u64);
                        Ok::<_, crate::error::Error>(())
                    })?;
                v
            }
        };
        Ok(FlatIndex {
            dataset,
            metric,
            norms,
            codes: None,
        })
    }

    /// A flat index that scans `quantizer`'s codes (trained with `seed`)
    /// and re-scores its best candidates from the vectors, which stay where
    /// the dataset keeps them (the mapped file, for .fvecs and f32 .npy).
    pub fn build_quantized(
        dataset: Arc<Dataset>,
        quantizer: Quantizer,
        seed: u64,
        ctx: &WorkContext,
    ) -> Result<Self> {
        let mut index = Self::build(dataset, ctx)?;
        let (n, dim) = (index.len(), index.dim());
        ctx.progress
            .stage(&format!("training and encoding {quantizer} codes"), 0);
        // The codes are of the vectors as a search compares them: unit
        // length under cosine.
        let mut rows = vec![0f32; n * dim];
        rows.par_chunks_mut(dim).enumerate().for_each(|(i, r)| {
            r.copy_from_slice(index.dataset.row(i));
            if index.metric == Metric::Cosine {
                distance::normalize(r);
            }
        });
        ctx.cancel.check()?;
        index.codes = Some(Codes::train(quantizer, &rows, dim, index.metric, seed)?);
        Ok(index)
    }

    /// The exact distance from a prepared query to row `id`.
    #[inline]
    fn exact(&self, q: &[f32], id: usize) -> f32 {
        let row = self.dataset.row(id);
        match self.metric {
            Metric::Cosine => 1.0 - distance::dot(q, row) * self.norms[id],
            Metric::InnerProduct => -distance::dot(q, row),
            Metric::L2 => distance::l2_squared(q, row),
        }
    }

    /// Scans the codes for the best `oversample × k` estimates, then
    /// re-scores them (unless `rescore` is off).
    fn search_codes(&self, codes: &Codes, q: &[f32], params: &SearchParams) -> Neighbors {
        let rescoring = params.rescoring.unwrap_or(Rescoring::DEFAULT);
        let k = params.k.min(self.len());
        let keep = rescoring.candidates(k);
        let mut coded = Vec::new();
        codes.prepare(q, &mut coded);
        let mut top = TopK::new(keep);
        let mut thr = f32::INFINITY;
        for i in 0..self.len() {
            let d = codes.estimate(&coded, i);
            if d < thr {
                top.push(d, i as u32);
                thr = top.threshold();
            }
        }
        let (rows, estimates) = top.into_sorted();
        let mut found: Vec<(f32, u32)> = estimates.into_iter().zip(rows).collect();
        let mut rescored = 0;
        if rescoring.rescore {
            (found, rescored) = crate::index::quant::rescore(codes, &coded, found, k, |i| {
                self.exact(q, i as usize)
            });
        }
        found.truncate(k);
        Neighbors {
            ids: found.iter().map(|c| c.1).collect(),
            distances: found.iter().map(|c| c.0).collect(),
            stats: SearchStats {
                dist_comps: self.len() as u64 + rescored,
                hops: 0,
                rescored,
            },
        }
    }

    /// The dataset searched.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// The query as the scoring expects it: unit length under cosine.
    fn prepare_query(&self, query: &[f32]) -> Vec<f32> {
        let mut q = query.to_vec();
        if self.metric == Metric::Cosine {
            distance::normalize(&mut q);
        }
        q
    }

    /// Offers one query's scores against base rows `start..` to its top-k.
    /// 16 at a time, the scores' distances are computed in registers and
    /// checked against the k-th distance so far; only a group holding a
    /// nearer one is looked at one by one (after the first few blocks
    /// nearly every group is passed over with one comparison, and no
    /// distance is written).
    #[inline]
    fn select(
        &self,
        scores: &[f32],
        query_norm_sq: f32,
        start: usize,
        filter: Option<&AllowList>,
        top: &mut Reservoir,
    ) {
        #[cfg(target_arch = "x86_64")]
        if distance::block::available() {
            // SAFETY: AVX-512F is present (`available`).
            unsafe { self.select_avx512(scores, query_norm_sq, start, filter, top) };
            return;
        }
        self.select_in(scores, query_norm_sq, start, filter, top);
    }

    /// [`select`](Self::select) compiled for AVX-512: the group check
    /// becomes one 16-lane comparison into a mask register (the baseline
    /// build's SSE2 needed some 20 instructions per group for the mask).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn select_avx512(
        &self,
        scores: &[f32],
        query_norm_sq: f32,
        start: usize,
        filter: Option<&AllowList>,
        top: &mut Reservoir,
    ) {
        self.select_in(scores, query_norm_sq, start, filter, top);
    }

    #[inline(always)]
    fn select_in(
        &self,
        scores: &[f32],
        query_norm_sq: f32,
        start: usize,
        filter: Option<&AllowList>,
        top: &mut Reservoir,
    ) {
        let n = scores.len();
        match self.metric {
            Metric::Cosine => offer_all(
                scores,
                &self.norms[start..start + n],
                |s, inv| 1.0 - s * inv,
                start,
                filter,
                top,
            ),
            // No norms: the scores stand in for them, unread.
            Metric::InnerProduct => offer_all(scores, scores, |s, _| -s, start, filter, top),
            Metric::L2 => offer_all(
                scores,
                &self.norms[start..start + n],
                |s, bn| (query_norm_sq + bn - 2.0 * s).max(0.0),
                start,
                filter,
                top,
            ),
        }
    }

    /// Offers every base row's score for each query of `qblock` (prepared,
    /// contiguous) to its top-k, by the `gemm` crate's product of each base
    /// block with the whole query block.
    fn top_k_by_gemm(
        &self,
        qblock: &[f32],
        qnorms: &[f32],
        filter: Option<&AllowList>,
        tops: &mut [Reservoir],
        ctx: &WorkContext,
    ) -> Result<()> {
        let (n, dim, m) = (self.len(), self.dim(), qnorms.len());
        let (base, offset, stride) = self.dataset.vectors().strided();
        let mut scores = vec![0.0f32; m * BASE_BLOCK];
        for b in 0..n.div_ceil(BASE_BLOCK) {
            ctx.cancel.check()?;
            let start = b * BASE_BLOCK;
            let cols = BASE_BLOCK.min(n - start);
            let bptr = &base[offset + start * stride..];
            debug_assert!((cols - 1) * stride + dim <= bptr.len());
            // SAFETY: A is m×dim with row stride dim inside `qblock`;
            // B is dim×cols, element (r, j) at bptr[j * stride + r], inside
            // `bptr` (checked above); C is m×cols with row stride cols
            // inside `scores`. The three do not overlap.
            unsafe {
                gemm::gemm(
                    m,
                    cols,
                    dim,
                    scores.as_mut_ptr(),
                    1,
                    cols as isize,
                    false,
                    qblock.as_ptr(),
                    1,
                    dim as isize,
                    bptr.as_ptr(),
                    stride as isize,
                    1,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            for (qi, top) in tops.iter_mut().enumerate() {
                let row = &scores[qi * cols..(qi + 1) * cols];
                self.select(row, qnorms[qi], start, filter, top);
            }
            ctx.progress.add(1);
        }
        Ok(())
    }

    /// As [`top_k_by_gemm`](Self::top_k_by_gemm) over the base rows in
    /// `rows_range`, by the block kernel: each base block is packed once,
    /// then every panel of queries scores it and offers the scores at once,
    /// while they are in L1.
    fn top_k_by_kernel(
        &self,
        qblock: &[f32],
        qnorms: &[f32],
        rows_range: std::ops::Range<usize>,
        filter: Option<&AllowList>,
        tops: &mut [Reservoir],
        ctx: &WorkContext,
    ) -> Result<()> {
        use distance::block::{panel_scores, Packed, MR, NR};
        let (dim, m) = (self.dim(), qnorms.len());
        let mut queries = Packed::<MR>::new();
        queries.pack(m, dim, |i| &qblock[i * dim..(i + 1) * dim]);
        let mut rows = Packed::<NR>::new();
        let ld = KERNEL_BLOCK.div_ceil(NR) * NR;
        let mut scores = vec![0.0f32; MR * ld];
        for start in rows_range.clone().step_by(KERNEL_BLOCK) {
            ctx.cancel.check()?;
            let cols = KERNEL_BLOCK.min(rows_range.end - start);
            rows.pack(cols, dim, |j| self.dataset.row(start + j));
            for qp in 0..queries.panels() {
                panel_scores(&queries, qp, &rows, &mut scores, ld);
                for i in 0..MR.min(m - qp * MR) {
                    let qi = qp * MR + i;
                    let row = &scores[i * ld..i * ld + cols];
                    self.select(row, qnorms[qi], start, filter, &mut tops[qi]);
                }
            }
            ctx.progress.add(1);
        }
        Ok(())
    }

    /// Exact top-k for a batch, reporting progress and checking `ctx.cancel`.
    pub fn search_batch_with(
        &self,
        queries: &Vectors,
        k: usize,
        filter: Option<&AllowList>,
        ctx: &WorkContext,
    ) -> Result<Vec<Neighbors>> {
        if !queries.is_empty() && queries.dim() != self.dim() {
            return Err(Error::Mismatch(format!(
                "queries have dimension {}, the index has {}",
                queries.dim(),
                self.dim()
            )));
        }
        let (n, nq, dim) = (self.len(), queries.len(), self.dim());
        let k = k.min(n);
        // Prepared queries, contiguous.
        let mut prepared = Vec::with_capacity(nq * dim);
        let mut qnorms = Vec::with_capacity(nq);
        for q in queries.rows() {
            let p = self.prepare_query(q);
            qnorms.push(distance::norm_squared(&p));
            prepared.extend_from_slice(&p);
        }
        let candidates: Vec<Vec<u32>> = if flat_screen::usable(dim, &prepared) {
            let row = |i: usize| self.dataset.row(i);
            let base = flat_screen::Base {
                metric: self.metric,
                dim,
                len: n,
                row: &row,
                norms: &self.norms,
            };
            flat_screen::screen(&base, &prepared, &qnorms, k, filter, ctx)?
                .into_par_iter()
                .map(flat_screen::Candidates::into_ids)
                .collect()
        } else {
            let tops = if distance::block::available() {
                self.tops_by_kernel(&prepared, &qnorms, k, filter, ctx)?
            } else {
                self.tops_by_gemm(&prepared, &qnorms, k, filter, ctx)?
            };
            tops.into_par_iter().map(|t| t.into_sorted().0).collect()
        };
        Ok(candidates
            .into_par_iter()
            .enumerate()
            .map(|(qi, ids)| {
                // Recompute the kept distances with the kernels: the
                // product's expansion loses precision for close pairs.
                let q = queries.row(qi);
                let mut pairs: Vec<(f32, u32)> = ids
                    .iter()
                    .map(|&id| (self.metric.distance(q, self.dataset.row(id as usize)), id))
                    .collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                pairs.truncate(k);
                Neighbors {
                    ids: pairs.iter().map(|p| p.1).collect(),
                    distances: pairs.iter().map(|p| p.0).collect(),
                    stats: SearchStats {
                        dist_comps: n as u64,
                        hops: 0,
                        rescored: 0,
                    },
                }
            })
            .collect())
    }

    /// Every query's top-k by the `gemm` crate: the queries split among
    /// the threads in blocks, each block multiplied with every base block.
    fn tops_by_gemm(
        &self,
        prepared: &[f32],
        qnorms: &[f32],
        k: usize,
        filter: Option<&AllowList>,
        ctx: &WorkContext,
    ) -> Result<Vec<Reservoir>> {
        let (n, nq, dim) = (self.len(), qnorms.len(), self.dim());
        // One block per thread when there are few queries, so all cores work.
        let query_block = nq
            .div_ceil(rayon::current_num_threads())
            .clamp(16, MAX_QUERY_BLOCK);
        ctx.progress.stage(
            "exact search",
            (nq.div_ceil(query_block) * n.div_ceil(BASE_BLOCK)) as u64,
        );
        let chunks: Vec<Result<Vec<Reservoir>>> = prepared
            .par_chunks(query_block * dim)
            .enumerate()
            .map(|(c, qblock)| {
                let q0 = c * query_block;
                let qnorms = &qnorms[q0..q0 + qblock.len() / dim];
                let mut tops: Vec<Reservoir> = qnorms.iter().map(|_| Reservoir::new(k)).collect();
                self.top_k_by_gemm(qblock, qnorms, filter, &mut tops, ctx)?;
                Ok(tops)
            })
            .collect();
        let mut tops = Vec::with_capacity(nq);
        for c in chunks {
            tops.extend(c?);
        }
        Ok(tops)
    }

    /// Every query's top-k by the block kernel: the base split among the
    /// threads (each packs only its own rows, once, and scores them against
    /// every query), the threads' top-k merged per query at the end.
    fn tops_by_kernel(
        &self,
        prepared: &[f32],
        qnorms: &[f32],
        k: usize,
        filter: Option<&AllowList>,
        ctx: &WorkContext,
    ) -> Result<Vec<Reservoir>> {
        let n = self.len();
        let blocks = n.div_ceil(KERNEL_BLOCK);
        ctx.progress.stage("exact search", blocks as u64);
        flat_screen::by_base_parts(
            n,
            KERNEL_BLOCK,
            || qnorms.iter().map(|_| Reservoir::new(k)).collect(),
            |rows, tops| self.top_k_by_kernel(prepared, qnorms, rows, filter, tops, ctx),
            Reservoir::absorb,
        )
    }
}

/// [`FlatIndex::select`]'s loop, for one metric's `distance(score, norm)`.
#[inline(always)]
fn offer_all(
    scores: &[f32],
    norms: &[f32],
    distance: impl Fn(f32, f32) -> f32,
    start: usize,
    filter: Option<&AllowList>,
    top: &mut Reservoir,
) {
    let mut thr = top.threshold();
    for (g, (sg, ng)) in scores.chunks(16).zip(norms.chunks(16)).enumerate() {
        // One bit per row nearer than the k-th so far: a vector comparison
        // (no early exit), then only the set bits are visited; for k = 100
        // most groups hold one, and visiting all 16 rows was 11% of the time.
        let mut mask = 0u32;
        for (j, (&s, &x)) in sg.iter().zip(ng).enumerate() {
            mask |= u32::from(distance(s, x) < thr) << j;
        }
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let d = distance(sg[j], ng[j]);
            let id = start + g * 16 + j;
            if d < thr && filter.is_none_or(|f| f.contains(id as u32)) {
                top.push(d, id as u32);
                thr = top.threshold();
            }
        }
    }
}

impl AnnIndex for FlatIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::Flat
    }
    fn len(&self) -> usize {
        self.dataset.len()
    }
    fn dim(&self) -> usize {
        self.dataset.dim()
    }
    fn metric(&self) -> Metric {
        self.metric
    }

    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        check_query_dim(self.dim(), query)?;
        let q = self.prepare_query(query);
        if let (Some(codes), None) = (&self.codes, &params.filter) {
            return Ok(self.search_codes(codes, &q, params));
        }
        let mut top = TopK::new(params.k.min(self.len()));
        let mut thr = f32::INFINITY;
        let mut offer = |id: usize| {
            let d = self.exact(&q, id);
            if d < thr {
                top.push(d, id as u32);
                thr = top.threshold();
            }
        };
        let dist_comps = match &params.filter {
            // A filter scans only the allowed rows.
            Some(f) => {
                f.ids()
                    .filter(|&id| (id as usize) < self.len())
                    .for_each(|id| offer(id as usize));
                f.count() as u64
            }
            None => {
                (0..self.len()).for_each(&mut offer);
                self.len() as u64
            }
        };
        let (ids, distances) = top.into_sorted();
        Ok(Neighbors {
            ids,
            distances,
            stats: SearchStats {
                dist_comps,
                hops: 0,
                rescored: 0,
            },
        })
    }

    fn search_batch(&self, queries: &Vectors, params: &SearchParams) -> Result<Vec<Neighbors>> {
        if self.codes.is_some() {
            return (0..queries.len())
                .into_par_iter()
                .map(|i| self.search(queries.row(i), params))
                .collect();
        }
        self.search_batch_with(
            queries,
            params.k,
            params.filter.as_deref(),
            &WorkContext::detached(),
        )
    }

    fn memory(&self) -> MemoryUsage {
        let vectors = (self.len() * self.dim() * 4) as u64;
        let norms = (self.norms.capacity() * 4) as u64;
        match &self.codes {
            // Scanning codes reads the vectors only to re-score: a mapped
            // file is then on disk, not part of what the index holds.
            Some(codes) if self.dataset.vectors().is_mapped() => MemoryUsage {
                ram_bytes: codes.bytes() as u64 + norms,
                disk_bytes: vectors,
                mapped_resident_bytes: None,
            },
            codes => MemoryUsage {
                ram_bytes: vectors + norms + codes.as_ref().map_or(0, |c| c.bytes() as u64),
                disk_bytes: 0,
                mapped_resident_bytes: None,
            },
        }
    }

    fn params(&self) -> ParamMap {
        let mut p = ParamMap::new();
        if let Some(codes) = &self.codes {
            p.insert("quantizer".into(), codes.quantizer().to_string().into());
            p.insert("code_bytes_per_vector".into(), codes.bytes_per_row().into());
        }
        p
    }
}

#[cfg(test)]
mod tests;
