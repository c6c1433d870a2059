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

use super::process::{CpuCounters, CpuWindow, IoCounters};
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
    /// Every run's QPS and p99 latency, in the order run (the kept run is
    /// the fastest): their range is the measurement's spread.
    pub run_qps: Vec<f64>,
    pub run_p99_us: Vec<f64>,
    /// What other processes used of the CPU while the runs went on.
    pub cpu: Option<CpuWindow>,
    pub results: Vec<Neighbors>,
}

impl Measurement {
    /// Folds in another measurement of the same setting (runs interleaved
    /// with other settings' runs): the faster run's timings and results are
    /// kept, every run's figures and the CPU windows add up.
    pub fn absorb(&mut self, other: Measurement) {
        let mut run_qps = std::mem::take(&mut self.run_qps);
        let mut run_p99 = std::mem::take(&mut self.run_p99_us);
        run_qps.extend_from_slice(&other.run_qps);
        run_p99.extend_from_slice(&other.run_p99_us);
        let cpu = match (self.cpu, other.cpu) {
            (Some(a), Some(b)) => Some(a.plus(b)),
            (a, b) => a.or(b),
        };
        if other.qps > self.qps {
            *self = other;
        }
        self.run_qps = run_qps;
        self.run_p99_us = run_p99;
        self.cpu = cpu;
    }

    /// The runs' QPS and p99 latency, each as a median with its interval,
    /// when there was more than one run.
    pub fn spreads(&self) -> Option<(Spread, Spread)> {
        Some((Spread::of(&self.run_qps)?, Spread::of(&self.run_p99_us)?))
    }
}

/// How far repeated runs of one setting can be trusted: their median and
/// a distribution-free interval for it (order statistics of the runs, at
/// least 90% coverage where the run count allows; with under five runs,
/// their whole range). Other processes, the app's own painting, a noisy
/// neighbour on a shared machine move single runs by 10–25% here; the
/// median of several runs moves by a few percent. A setting is faster than
/// another only when the intervals do not overlap
/// ([`Spread::clearly_above`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(into = "[f64; 2]")]
pub struct Spread {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
}

impl From<Spread> for [f64; 2] {
    fn from(s: Spread) -> Self {
        [s.lo, s.hi]
    }
}

impl Spread {
    /// Coverage the interval aims for.
    pub const COVERAGE: f64 = 0.9;

    /// The median of `runs` and its interval; None for fewer than two runs
    /// (one run has no spread) or any value that is not a number.
    pub fn of(runs: &[f64]) -> Option<Spread> {
        if runs.len() < 2 || runs.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut v = runs.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        // [x(j), x(n+1-j)] covers the median with probability
        // 1 − 2·P(Binomial(n, ½) < j): the largest j that keeps COVERAGE.
        let coverage = |j: usize| 1.0 - 2.0 * binomial_half_cdf(n, j);
        let mut j = 1;
        while j < n / 2 && coverage(j + 1) >= Self::COVERAGE {
            j += 1;
        }
        Some(Spread {
            median,
            lo: v[j - 1],
            hi: v[n - j],
        })
    }
    /// Width relative to the median.
    pub fn relative_width(self) -> f64 {
        (self.hi - self.lo) / self.median.abs().max(1e-12)
    }
    /// Whether every value of this interval is above every value of `other`.
    pub fn clearly_above(self, other: Spread) -> bool {
        self.lo > other.hi
    }
}

/// P(Binomial(n, ½) ≤ j − 1), i.e. below `j`.
fn binomial_half_cdf(n: usize, j: usize) -> f64 {
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n
    let mut sum = 0.0;
    for i in 0..j {
        sum += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    sum
}

/// How [`measure`] runs the queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// One query at a time, or the whole set in one call.
    pub mode: QueryMode,
    /// Threads the queries are spread over.
    pub threads: usize,
    /// Passes over the queries; the fastest is kept.
    pub runs: usize,
    /// Whether the vectors' pages are dropped from the cache before each
    /// pass (an index reading its vectors from disk).
    pub cold: bool,
}

impl RunOptions {
    /// One query at a time, one thread, one warm pass: how the tuner probes.
    pub const ONE_PASS: RunOptions = RunOptions {
        mode: QueryMode::Single,
        threads: 1,
        runs: 1,
        cold: false,
    };

    /// The same with `runs` passes.
    pub const fn passes(self, runs: usize) -> RunOptions {
        RunOptions { runs, ..self }
    }
}

/// Runs every query through `index` as `run` says (keeping the fastest
/// pass), and scores the results against `gt`: with the returned ids'
/// distances recomputed from `base`, or, without a local base (an engine's
/// collection), the distances the index reported.
pub fn measure(
    index: &dyn AnnIndex,
    base: Option<&Dataset>,
    queries: &Vectors,
    gt: &GroundTruth,
    params: &SearchParams,
    run: RunOptions,
) -> Result<Measurement> {
    let RunOptions {
        mode,
        threads,
        runs,
        cold,
    } = run;
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
    let (mut run_qps, mut run_p99_us) = (Vec::new(), Vec::new());
    let cpu_before = CpuCounters::now();
    for run in 0..runs.max(1) {
        if cold && run > 0 {
            drop_pages()?;
        }
        let (before, cache_before) = (IoCounters::now(), index.vector_cache());
        let (wall, times, results) = crate::job::with_threads(Some(threads.max(1)), || {
            timed_run(index, queries, params, mode)
        })??;
        let io = IoCounters::now().since(before);
        run_qps.push(nq as f64 / wall.max(1e-12));
        run_p99_us.push(LatencyStats::from_micros(&times).p99_us);
        let cache = index
            .vector_cache()
            .zip(cache_before)
            .map(|(after, before)| after.since(before));
        if best.as_ref().is_none_or(|(w, _, _, _, _)| wall < *w) {
            best = Some((wall, times, results, io, cache));
        }
    }
    let cpu = CpuCounters::now().others_since(cpu_before);
    let (wall, times, results, io, cache) = best.ok_or_else(|| Error::Internal("no run".into()))?;
    let mut m = summarize(results, &times, wall, gt, params.k, base, queries);
    m.run_qps = run_qps;
    m.run_p99_us = run_p99_us;
    m.cpu = cpu;
    let per_query = |v: Option<u64>| v.map(|v| v as f64 / nq as f64);
    m.major_faults = per_query(io.major_faults);
    m.read_bytes = per_query(io.read_bytes);
    m.cold = cold;
    m.vector_cache = cache;
    Ok(m)
}

/// One timed run of at least `min_secs`: the queries are passed through
/// `index` one at a time on the calling thread, again and again until the
/// time is up, and the run's QPS and latency cover every pass (a pass of a
/// few hundred queries takes a tenth of a second, too short to time
/// steadily). Recall is scored on the first pass.
pub fn measure_for(
    index: &dyn AnnIndex,
    base: &Dataset,
    queries: &Vectors,
    gt: &GroundTruth,
    params: &SearchParams,
    min_secs: f64,
) -> Result<Measurement> {
    if queries.is_empty() || gt.n_queries() != queries.len() {
        return Err(Error::Mismatch(format!(
            "{} queries, ground truth for {}",
            queries.len(),
            gt.n_queries()
        )));
    }
    let cpu_before = CpuCounters::now();
    let (mut wall, mut times, results) = crate::job::with_threads(Some(1), || {
        timed_run(index, queries, params, QueryMode::Single)
    })??;
    while wall < min_secs {
        let (w, t, _) = crate::job::with_threads(Some(1), || {
            timed_run(index, queries, params, QueryMode::Single)
        })??;
        wall += w;
        times.extend(t);
    }
    let mut m = summarize(results, &times, wall, gt, params.k, Some(base), queries);
    m.qps = times.len() as f64 / wall.max(1e-12);
    m.run_qps = vec![m.qps];
    m.run_p99_us = vec![m.latency.p99_us];
    m.cpu = CpuCounters::now().others_since(cpu_before);
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
        run_qps: Vec::new(),
        run_p99_us: Vec::new(),
        cpu: None,
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
    let cpu_before = CpuCounters::now();
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
    let mut m = summarize(results, &times, wall, gt, params.k, Some(base), queries);
    m.run_qps = vec![m.qps];
    m.run_p99_us = vec![m.latency.p99_us];
    m.cpu = CpuCounters::now().others_since(cpu_before);
    Ok(m)
}

impl Measurement {
    /// The figures a tuner and the app go by: QPS and p99 latency of the
    /// median run (with several runs), not the fastest one `bench` keeps.
    pub fn use_medians(&mut self) {
        if let Some((q, p)) = self.spreads() {
            self.qps = q.median;
            self.latency.p99_us = p.median;
        }
    }
}

/// One pass over the queries: wall seconds, per-query microseconds, results.
pub(crate) fn timed_run(
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
    /// With several runs: the median run's QPS with an interval for it,
    /// the same for p99 latency (`bench` keeps `qps` and `p99_us` from the
    /// fastest run; `tune` reports the medians there), how many runs, and
    /// the CPU other processes used meanwhile, in cores: a busy machine
    /// shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qps_median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qps_spread: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_spread: Option<Spread>,
    pub runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_cpu_cores: Option<f64>,
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
        let spreads = m.spreads();
        OperatingPoint {
            qps_median: spreads.map(|s| s.0.median),
            qps_spread: spreads.map(|s| s.0),
            p99_spread: spreads.map(|s| s.1),
            runs: m.run_qps.len().max(1),
            other_cpu_cores: m.cpu.map(|c| (c.other_cores() * 1000.0).round() / 1000.0),
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

#[cfg(test)]
mod spread_tests {
    use super::*;

    #[test]
    fn the_interval_is_an_order_statistic_interval_of_the_median() {
        // Nine runs: [x(2), x(8)] covers the median with 96% probability
        // ([x(3), x(7)] only 82%).
        let runs = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0];
        let s = Spread::of(&runs).unwrap();
        assert_eq!((s.median, s.lo, s.hi), (5.0, 2.0, 8.0));
        // Four runs: nothing narrower than the range keeps 90%.
        let s = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.lo, s.hi), (2.5, 1.0, 4.0));
        assert!(Spread::of(&[1.0]).is_none());
        assert!(Spread::of(&[1.0, f64::NAN]).is_none());
        assert!((binomial_half_cdf(9, 2) - 10.0 / 512.0).abs() < 1e-12);
    }

    /// Synthetic timings: a true speed of 1000 QPS, each run slowed by
    /// interference only (never sped up), one run in five badly (up to
    /// 30%). The median's interval from nine runs covers the median of a
    /// second batch of nine in nearly every trial; a setting 25% faster is
    /// told apart almost always, one 1% faster almost never. (A 10% gap is
    /// told apart in about 60% of trials under this much interference: the
    /// tuner then calls them tied and takes the cheaper.)
    #[test]
    fn spreads_of_noisy_timings_cover_repeats_and_separate_real_gaps() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        let runs = |speed: f64, rng: &mut StdRng| -> Vec<f64> {
            (0..9)
                .map(|_| {
                    let slow = if rng.random_bool(0.2) {
                        rng.random_range(0.0..0.3)
                    } else {
                        rng.random_range(0.0..0.04)
                    };
                    speed * (1.0 - slow)
                })
                .collect()
        };
        let (mut covered, mut apart, mut told_1pct) = (0, 0, 0);
        let trials = 400;
        for _ in 0..trials {
            let a = Spread::of(&runs(1000.0, &mut rng)).unwrap();
            let again = Spread::of(&runs(1000.0, &mut rng)).unwrap();
            if again.median >= a.lo && again.median <= a.hi {
                covered += 1;
            }
            let faster = Spread::of(&runs(1250.0, &mut rng)).unwrap();
            if faster.clearly_above(a) {
                apart += 1;
            }
            let barely = Spread::of(&runs(1010.0, &mut rng)).unwrap();
            if barely.clearly_above(a) {
                told_1pct += 1;
            }
        }
        assert!(
            covered as f64 / trials as f64 >= 0.85,
            "covered {covered}/{trials}"
        );
        assert!(
            apart as f64 / trials as f64 >= 0.8,
            "told 10% apart {apart}/{trials}"
        );
        assert!(
            told_1pct as f64 / trials as f64 <= 0.05,
            "1% called faster {told_1pct}/{trials}"
        );
    }
}
