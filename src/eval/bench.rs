//! Operating points: one measured search setting of one built index, as the
//! CLI's `bench` prints them (one JSON object per line) and the app plots them.
//!
//! Like ann-benchmarks, queries run one at a time by default, each timed on
//! its own; `Batch` hands the whole set to the index at once (as FAISS's
//! batched search does), and then every query's latency is the batch time
//! divided by the count. With several runs, the fastest run is kept.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::process::IoCounters;
use super::{recall_at_k, GroundTruth, LatencyStats};
use crate::dataset::{Dataset, Vectors};
use crate::error::{Error, Result};
use crate::index::{AnnIndex, Neighbors, ParamMap, SearchParams};

/// How queries are handed to the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum QueryMode {
    /// One query at a time, each timed (ann-benchmarks' default).
    #[default]
    Single,
    /// The whole set in one call.
    Batch,
}

/// What one search setting achieved.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub recall: f64,
    pub per_query_recall: Vec<f32>,
    pub qps: f64,
    pub latency: LatencyStats,
    /// Mean distance computations per query, if the index counts them.
    pub dist_comps: Option<f64>,
    /// Mean graph hops per query, if the index counts them.
    pub hops: Option<f64>,
    /// Mean candidates re-scored from the f32 vectors per query (a walk
    /// over quantized codes).
    pub rescored: Option<f64>,
    /// Per query during the kept run: page faults that read storage, and
    /// bytes read from storage (Linux).
    pub major_faults: Option<f64>,
    pub read_bytes: Option<f64>,
    /// Whether the files the index reads were dropped from the page cache
    /// before each run.
    pub cold: bool,
    /// The vector cache's hits, misses and drop-alls during the kept run.
    pub vector_cache: Option<crate::index::hnsw::CacheCounters>,
    pub results: Vec<Neighbors>,
}

/// Runs every query through `index` `runs` times (keeping the fastest run)
/// on `threads` threads, and scores the results against `gt`: with the
/// returned ids' distances recomputed from `base`, or, without a local base
/// (an engine's collection), the distances the index reported.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    index: &dyn AnnIndex,
    base: Option<&Dataset>,
    queries: &Vectors,
    gt: &GroundTruth,
    params: &SearchParams,
    mode: QueryMode,
    threads: usize,
    runs: usize,
    cold: bool,
) -> Result<Measurement> {
    let nq = queries.len();
    if nq == 0 {
        return Err(Error::InvalidParameter("no queries to measure".into()));
    }
    if gt.n_queries() != nq {
        return Err(Error::Mismatch(format!(
            "ground truth covers {} queries, there are {nq}",
            gt.n_queries()
        )));
    }
    if params.k > gt.k() {
        return Err(Error::Mismatch(format!(
            "k = {} is deeper than the ground truth ({} neighbours per query)",
            params.k,
            gt.k()
        )));
    }
    // The base's own map (the caller's) holds pages of the same file: they
    // are released first, or the kernel would keep them cached.
    let drop_pages = || {
        if let Some(b) = base {
            b.vectors().release_mapped_pages();
        }
        index.drop_cached_pages()
    };
    if cold && !drop_pages()? {
        return Err(Error::InvalidParameter(
            "a cold-cache run needs an index that reads its vectors from disk (--vectors disk)"
                .into(),
        ));
    }
    type Run = (
        f64,
        Vec<f64>,
        Vec<Neighbors>,
        IoCounters,
        Option<crate::index::hnsw::CacheCounters>,
    );
    let mut best: Option<Run> = None;
    for run in 0..runs.max(1) {
        if cold && run > 0 {
            drop_pages()?;
        }
        let (before, cache_before) = (IoCounters::now(), index.vector_cache());
        let (wall, times, results) = crate::job::with_threads(Some(threads.max(1)), || {
            timed_run(index, queries, params, mode)
        })??;
        let io = IoCounters::now().since(before);
        let cache = index
            .vector_cache()
            .zip(cache_before)
            .map(|(after, before)| after.since(before));
        if best.as_ref().is_none_or(|(w, _, _, _, _)| wall < *w) {
            best = Some((wall, times, results, io, cache));
        }
    }
    let (wall, times, results, io, cache) = best.ok_or_else(|| Error::Internal("no run".into()))?;
    let mut m = summarize(results, &times, wall, gt, params.k, base, queries);
    let per_query = |v: Option<u64>| v.map(|v| v as f64 / nq as f64);
    m.major_faults = per_query(io.major_faults);
    m.read_bytes = per_query(io.read_bytes);
    m.cold = cold;
    m.vector_cache = cache;
    Ok(m)
}

/// Scores one run's results and summarises its timings.
fn summarize(
    results: Vec<Neighbors>,
    times_us: &[f64],
    wall_secs: f64,
    gt: &GroundTruth,
    k: usize,
    base: Option<&Dataset>,
    queries: &Vectors,
) -> Measurement {
    let nq = results.len().max(1);
    let (recall, per_query_recall) = match base {
        Some(base) => recall_at_k(gt, k, &results, base, queries),
        None => super::recall_from_reported(gt, k, &results),
    };
    let mean = |f: fn(&Neighbors) -> u64| {
        let total: u64 = results.iter().map(f).sum();
        (total > 0).then(|| total as f64 / nq as f64)
    };
    Measurement {
        recall,
        per_query_recall,
        qps: nq as f64 / wall_secs.max(1e-12),
        latency: LatencyStats::from_micros(times_us),
        dist_comps: mean(|r| r.stats.dist_comps),
        hops: mean(|r| r.stats.hops),
        rescored: mean(|r| r.stats.rescored),
        major_faults: None,
        read_bytes: None,
        cold: false,
        vector_cache: None,
        results,
    }
}

/// Measures the first `limit` queries one at a time on the calling thread,
/// checking `ctx.cancel` as it goes: the app's progressive evaluation (a
/// quick estimate from a prefix, then all queries).
#[allow(clippy::too_many_arguments)]
pub fn measure_prefix(
    index: &dyn AnnIndex,
    base: &Dataset,
    queries: &Vectors,
    gt: &GroundTruth,
    params: &SearchParams,
    limit: usize,
    ctx: &crate::progress::WorkContext,
) -> Result<Measurement> {
    let nq = limit.min(queries.len()).min(gt.n_queries());
    if nq == 0 {
        return Err(Error::InvalidParameter("no queries to measure".into()));
    }
    if params.k > gt.k() {
        return Err(Error::Mismatch(format!(
            "k = {} is deeper than the ground truth ({})",
            params.k,
            gt.k()
        )));
    }
    ctx.progress.stage("evaluating", nq as u64);
    let mut times = Vec::with_capacity(nq);
    let mut results = Vec::with_capacity(nq);
    let start = Instant::now();
    for i in 0..nq {
        if i % 16 == 0 {
            ctx.cancel.check()?;
            ctx.progress.set(i as u64);
        }
        let t = Instant::now();
        results.push(index.search(queries.row(i), params)?);
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let wall = start.elapsed().as_secs_f64();
    Ok(summarize(
        results,
        &times,
        wall,
        gt,
        params.k,
        Some(base),
        queries,
    ))
}

/// One pass over the queries: wall seconds, per-query microseconds, results.
fn timed_run(
    index: &dyn AnnIndex,
    queries: &Vectors,
    params: &SearchParams,
    mode: QueryMode,
) -> Result<(f64, Vec<f64>, Vec<Neighbors>)> {
    let nq = queries.len();
    let start = Instant::now();
    match mode {
        QueryMode::Batch => {
            let results = index.search_batch(queries, params)?;
            let wall = start.elapsed().as_secs_f64();
            Ok((wall, vec![wall * 1e6 / nq as f64; nq], results))
        }
        QueryMode::Single => {
            let timed: Vec<(f64, Neighbors)> = if rayon::current_num_threads() == 1 {
                queries
                    .rows()
                    .map(|q| {
                        let t = Instant::now();
                        let r = index.search(q, params)?;
                        Ok((t.elapsed().as_secs_f64() * 1e6, r))
                    })
                    .collect::<Result<_>>()?
            } else {
                (0..nq)
                    .into_par_iter()
                    .map(|i| {
                        let t = Instant::now();
                        let r = index.search(queries.row(i), params)?;
                        Ok((t.elapsed().as_secs_f64() * 1e6, r))
                    })
                    .collect::<Result<_>>()?
            };
            let wall = start.elapsed().as_secs_f64();
            let (times, results) = timed.into_iter().unzip();
            Ok((wall, times, results))
        }
    }
}

/// One line of `annscope bench --format json`: a stable contract that other
/// tools read. Field names never change; new fields may be added.
#[derive(Clone, Debug, Serialize)]
pub struct OperatingPoint {
    pub index: String,
    pub params: ParamMap,
    pub k: usize,
    pub queries: usize,
    pub recall: f64,
    pub qps: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub build_s: f64,
    /// What the index holds resident itself (graph, codes, resident
    /// vectors), excluding the pages of files it maps.
    pub index_bytes: u64,
    /// What it reads from files on disk.
    pub disk_bytes: u64,
    pub dist_comps: Option<f64>,
    /// Of `disk_bytes`, resident in memory after the run (mincore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped_resident_bytes: Option<u64>,
    /// The whole process's resident set after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// Mean candidates re-scored from the f32 vectors per query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rescored: Option<f64>,
    /// Per query: page faults that read storage, bytes read from storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_faults_per_query: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_bytes_per_query: Option<f64>,
    /// The mapped files were dropped from the page cache before each run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cold: bool,
    /// The vector cache during the run: hits, misses, drop-alls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_cache_hits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_cache_misses: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_cache_drops: Option<u64>,
    pub mean_us: f64,
    pub hops: Option<f64>,
    pub mode: QueryMode,
    pub threads: usize,
    pub metric: String,
    pub dataset: String,
}

impl OperatingPoint {
    /// The fields the contract promises (the list); tests of every
    /// writer of this format check them.
    pub const CONTRACT_FIELDS: [&'static str; 13] = [
        "index",
        "params",
        "k",
        "queries",
        "recall",
        "qps",
        "p50_us",
        "p95_us",
        "p99_us",
        "build_s",
        "index_bytes",
        "disk_bytes",
        "dist_comps",
    ];

    /// Assembles a point from a built index and what one setting measured.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: &dyn AnnIndex,
        search_params: ParamMap,
        k: usize,
        m: &Measurement,
        build_s: f64,
        mode: QueryMode,
        threads: usize,
        dataset: &str,
    ) -> Self {
        let mut params = index.params();
        params.extend(search_params);
        let mem = index.memory();
        OperatingPoint {
            index: index.kind().name().to_string(),
            params,
            k,
            queries: m.per_query_recall.len(),
            recall: m.recall,
            qps: m.qps,
            p50_us: m.latency.p50_us,
            p95_us: m.latency.p95_us,
            p99_us: m.latency.p99_us,
            build_s,
            index_bytes: mem.ram_bytes,
            disk_bytes: mem.disk_bytes,
            dist_comps: m.dist_comps,
            mapped_resident_bytes: mem.mapped_resident_bytes,
            rss_bytes: super::process::rss_bytes(),
            rescored: m.rescored,
            major_faults_per_query: m.major_faults,
            read_bytes_per_query: m.read_bytes,
            cold: m.cold,
            vector_cache_hits: m.vector_cache.map(|c| c.hits),
            vector_cache_misses: m.vector_cache.map(|c| c.misses),
            vector_cache_drops: m.vector_cache.map(|c| c.drops),
            mean_us: m.latency.mean_us,
            hops: m.hops,
            mode,
            threads,
            metric: index.metric().name().to_string(),
            dataset: dataset.to_string(),
        }
    }
}
