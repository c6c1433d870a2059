//! Runs a checked runbook against one index kind: writes as the steps say,
//! maintenance as the policy says (tombstone cleanup on an interval, or a
//! rebuild from scratch as Deep Lake does it), and at every search step
//! each knob's answers timed and scored against that step's exact ground
//! truth over the live tags.
//!
//! Writes are synchronous unless the plan asks for Weaviate's asynchronous
//! indexing ([`super::queue`]): then a write is acknowledged into a queue,
//! each line says the queue's length and INDEXING or READY, and the
//! summary gives the freshness delay (acknowledged → indexed). A
//! synchronous write is indexed when acknowledged: freshness 0.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::runbook::{Op, Runbook};
use super::state::LiveRows;
use super::truth::StepTruth;
use crate::dataset::{Dataset, IdRows};
use crate::error::{Error, Result};
use crate::eval::bench::{timed_run, QueryMode};
use crate::eval::LatencyStats;
use crate::index::live::{LiveIndex, Rows};
use crate::index::{local_family, IndexSpec, Neighbors, SearchKnob, SearchParams};
use crate::progress::WorkContext;

/// When tombstone cleanup runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interval {
    /// After every N rows written (reproducible).
    Ops(usize),
    /// When this many seconds passed since the last cycle (checked after
    /// each write step).
    Seconds(f64),
}

impl std::str::FromStr for Interval {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParameter(format!(
                "--cleanup-interval {s}: give seconds (30s) or rows written (5000ops)"
            ))
        };
        if let Some(n) = s.strip_suffix("ops") {
            let n: usize = n.parse().map_err(|_| bad())?;
            return if n == 0 {
                Err(bad())
            } else {
                Ok(Interval::Ops(n))
            };
        }
        let secs: f64 = s
            .strip_suffix('s')
            .unwrap_or(s)
            .parse()
            .map_err(|_| bad())?;
        if secs.is_finite() && secs >= 0.0 {
            Ok(Interval::Seconds(secs))
        } else {
            Err(bad())
        }
    }
}

/// What keeps an index healthy under deletes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Maintenance {
    /// Nothing: tombstones stay.
    None,
    /// Weaviate's tombstone cleanup on an interval.
    Cleanup(Interval),
    /// A fresh build over the live rows after every N rows written.
    RebuildEvery(usize),
    /// A fresh build once this share of the rows built on was deleted or
    /// replaced.
    RebuildAt(f64),
}

impl Maintenance {
    /// Parses `--maintenance`, with `--cleanup-interval` for `cleanup`.
    pub fn parse(s: &str, interval: Interval) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidParameter(format!(
                "--maintenance {s}: {why} (none, cleanup, rebuild-every:N, rebuild-at:SHARE)"
            ))
        };
        match s.split_once(':') {
            None if s == "none" => Ok(Maintenance::None),
            None if s == "cleanup" => Ok(Maintenance::Cleanup(interval)),
            Some(("rebuild-every", n)) => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Maintenance::RebuildEvery(n)),
                _ => Err(bad("N is a count of rows written, at least 1")),
            },
            Some(("rebuild-at", f)) => match f.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(Maintenance::RebuildAt(f)),
                _ => Err(bad("SHARE is above 0 and at most 1")),
            },
            _ => Err(bad("unknown policy")),
        }
    }
}

/// Everything a run needs, checked by the caller.
pub struct Plan<'a> {
    pub book: &'a Runbook,
    /// Runbook position → base row.
    pub order: Vec<u32>,
    pub base: Arc<Dataset>,
    pub queries: Option<&'a Dataset>,
    pub truth: &'a StepTruth,
    pub spec: IndexSpec,
    pub k: usize,
    pub knobs: Vec<SearchKnob>,
    /// Threads the queries of a search step are spread over.
    pub search_threads: usize,
    pub maintenance: Maintenance,
    /// Where each search step's answers go as `.ivecs`.
    pub results_dir: Option<PathBuf>,
    /// Weaviate's asynchronous indexing, or writes indexed when made.
    pub async_indexing: Option<super::queue::AsyncConfig>,
    /// After the runbook, build the same kind afresh over the rows live at
    /// the end and measure it at the last search step, knob for knob.
    pub compare_fresh: bool,
}

/// A fresh build over the rows live at the end, measured as the last
/// search step was: what the index that lived through the runbook is set
/// against.
#[derive(Clone, Debug, Serialize)]
pub struct Fresh {
    /// The search step whose live rows and ground truth it is measured on.
    pub step: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub recall: Option<f64>,
    pub qps: f64,
    pub p99_us: f64,
    pub index_bytes: u64,
    pub build_s: f64,
}

/// What a run returns: a summary per knob, the fresh build's lines (when
/// asked), and the index's notes on how it took writes.
pub struct Outcome {
    pub summaries: Vec<Summary>,
    pub fresh: Vec<Fresh>,
    pub notes: Vec<String>,
}

/// One search step under one knob: a line of `churn --format json`. A
/// stable contract: fields are never renamed; new ones may be added.
#[derive(Clone, Debug, Serialize)]
pub struct StepLine {
    pub step: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub live: usize,
    pub inserted: usize,
    pub deleted: usize,
    pub replaced: usize,
    pub tombstones: usize,
    pub queue_len: usize,
    pub status: &'static str,
    /// None when nothing is live.
    pub recall: Option<f64>,
    /// Returned tags that were not live, or repeated in one answer.
    pub wrong_tags: usize,
    pub qps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub index_bytes: u64,
    pub rss_bytes: Option<u64>,
    pub elapsed_s: f64,
    pub cleanup_s: f64,
    pub cleanups: usize,
    pub rebuild_s: f64,
    pub rebuilds: usize,
}

/// The run's totals under one knob.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub average_recall: Option<f64>,
    pub min_recall: Option<f64>,
    pub searches: usize,
    pub inserted: usize,
    pub deleted: usize,
    pub replaced: usize,
    /// Rows written per second of write time (maintenance excluded).
    pub write_throughput: f64,
    pub freshness_p50_ms: f64,
    pub freshness_p99_ms: f64,
    pub seconds: f64,
    /// With asynchronous indexing: seconds after the last step until the
    /// queue drained (included in `seconds`).
    pub drain_s: f64,
    pub cleanup_s: f64,
    pub rebuild_s: f64,
    pub final_index_bytes: u64,
    pub average_qps: Option<f64>,
}

fn knob_fields(knob: SearchKnob) -> (Option<usize>, Option<usize>) {
    match knob {
        SearchKnob::Ef(e) => (Some(e), None),
        SearchKnob::Probe(p) => (None, Some(p)),
        _ => (None, None),
    }
}

#[derive(Default)]
struct Counters {
    inserted: usize,
    deleted: usize,
    replaced: usize,
    write_s: f64,
    cleanup_s: f64,
    cleanups: usize,
    rebuild_s: f64,
    rebuilds: usize,
    /// Rows written since the last cleanup or (re)build.
    since_cleanup: usize,
    since_build: usize,
    /// Rows deleted or replaced since the last (re)build, and rows then.
    churned_since_build: usize,
    built_with: usize,
}

/// Runs the plan; `emit` gets every step line as it is measured (the CLI
/// prints it). Returns one summary per knob.
pub fn run(
    plan: &Plan<'_>,
    ctx: &WorkContext,
    emit: &mut dyn FnMut(&StepLine) -> Result<()>,
) -> Result<Outcome> {
    let fam = local_family(plan.spec.kind())?;
    let mut index = fam.live(&plan.spec, &plan.base, ctx)?;
    if let Some(config) = plan.async_indexing {
        if matches!(
            plan.maintenance,
            Maintenance::RebuildEvery(_) | Maintenance::RebuildAt(_)
        ) {
            return Err(Error::InvalidParameter(
                "--async-indexing with a rebuild policy: a rebuild replaces the index the queue feeds; use cleanup or none".into(),
            ));
        }
        index = Box::new(super::queue::AsyncLive::new(
            index,
            plan.base.clone(),
            config,
        )?);
    }
    let mut live = LiveRows::new(plan.order.clone());
    let mut c = Counters::default();
    let start = Instant::now();
    let mut last_cleanup = Instant::now();
    let mut recalls: Vec<Vec<f64>> = vec![Vec::new(); plan.knobs.len()];
    let mut qps: Vec<Vec<f64>> = vec![Vec::new(); plan.knobs.len()];
    if let Some(dir) = &plan.results_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        write_truth(dir, plan)?;
    }
    ctx.progress.stage(
        &format!("running {} steps", plan.book.steps.len()),
        plan.book.steps.len() as u64,
    );
    for step in &plan.book.steps {
        ctx.cancel.check()?;
        if step.op == Op::Search {
            let queries = plan.queries.ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "step {} is a search: give the query file (--queries)",
                    step.key
                ))
            })?;
            let truth = plan
                .truth
                .get(&step.key)
                .ok_or_else(|| Error::Internal(format!("no ground truth for step {}", step.key)))?;
            for (ki, &knob) in plan.knobs.iter().enumerate() {
                let line = search_step(
                    plan,
                    step.key,
                    knob,
                    index.as_ref(),
                    &live,
                    queries,
                    truth.as_ref(),
                    &c,
                    start,
                    true,
                )?;
                if let Some(r) = line.recall {
                    recalls[ki].push(r);
                    qps[ki].push(line.qps);
                }
                emit(&line)?;
            }
        } else {
            let touched = live.apply(&step.op);
            let rows = Rows {
                base: &plan.base,
                tags: &touched.tags,
                rows: &touched.rows,
            };
            let t = Instant::now();
            match step.op {
                Op::Insert { .. } => {
                    index.insert(rows, ctx)?;
                    c.inserted += rows.len();
                }
                Op::Delete { .. } => {
                    index.delete(&touched.tags)?;
                    c.deleted += rows.len();
                    c.churned_since_build += rows.len();
                }
                Op::Replace { .. } => {
                    index.replace(rows, ctx)?;
                    c.replaced += rows.len();
                    c.churned_since_build += rows.len();
                }
                Op::Search => {}
            }
            c.write_s += t.elapsed().as_secs_f64();
            if c.built_with == 0 {
                c.built_with = live.len();
            }
            c.since_cleanup += rows.len();
            c.since_build += rows.len();
            maintain(plan, &mut index, &live, &mut c, &mut last_cleanup, ctx)?;
        }
        ctx.progress.add(1);
    }
    let drain_start = Instant::now();
    index.drain()?;
    let drain_s = drain_start.elapsed().as_secs_f64();
    let seconds = start.elapsed().as_secs_f64();
    let final_bytes = index_bytes(index.as_ref());
    let mut fresh = index.freshness_ms();
    fresh.sort_by(f64::total_cmp);
    let fresh_at = |p: f64| crate::eval::latency::percentile(&fresh, p);
    let summaries = plan
        .knobs
        .iter()
        .enumerate()
        .map(|(ki, &knob)| {
            let (ef, search_probe) = knob_fields(knob);
            let r = &recalls[ki];
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            Summary {
                ef,
                search_probe,
                average_recall: mean(r),
                min_recall: r.iter().copied().reduce(f64::min),
                searches: r.len(),
                inserted: c.inserted,
                deleted: c.deleted,
                replaced: c.replaced,
                write_throughput: (c.inserted + c.deleted + c.replaced) as f64
                    / c.write_s.max(1e-9),
                freshness_p50_ms: fresh_at(50.0),
                freshness_p99_ms: fresh_at(99.0),
                seconds,
                drain_s,
                cleanup_s: c.cleanup_s,
                rebuild_s: c.rebuild_s,
                final_index_bytes: final_bytes,
                average_qps: mean(&qps[ki]),
            }
        })
        .collect();
    let notes = index.notes();
    drop(index);
    let fresh = if plan.compare_fresh {
        compare_fresh(plan, &live, &c, start, ctx)?
    } else {
        Vec::new()
    };
    Ok(Outcome {
        summaries,
        fresh,
        notes,
    })
}

/// Builds the kind afresh over `live` and measures it at the last search
/// step (whose live rows are `live` when the runbook ends on a search).
fn compare_fresh(
    plan: &Plan<'_>,
    live: &LiveRows,
    c: &Counters,
    start: Instant,
    ctx: &WorkContext,
) -> Result<Vec<Fresh>> {
    let last = plan.book.steps.last().filter(|s| s.op == Op::Search);
    let (Some(last), Some(queries)) = (last, plan.queries) else {
        return Err(Error::InvalidParameter(
            "--compare-fresh measures the fresh build at the last step: the runbook must end with a search".into(),
        ));
    };
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let t = Instant::now();
    let mut fresh = local_family(plan.spec.kind())?.live(&plan.spec, &plan.base, ctx)?;
    let mut held: Vec<(u32, u32)> = live.held().map(|(r, t)| (t, r)).collect();
    held.sort_unstable();
    let tags: Vec<u32> = held.iter().map(|&(t, _)| t).collect();
    let rows: Vec<usize> = held.iter().map(|&(_, r)| r as usize).collect();
    fresh.insert(
        Rows {
            base: &plan.base,
            tags: &tags,
            rows: &rows,
        },
        ctx,
    )?;
    let build_s = t.elapsed().as_secs_f64();
    let truth = plan.truth.get(&last.key).and_then(|t| t.as_ref());
    plan.knobs
        .iter()
        .map(|&knob| {
            let l = search_step(
                plan,
                last.key,
                knob,
                fresh.as_ref(),
                live,
                queries,
                truth,
                c,
                start,
                false,
            )?;
            Ok(Fresh {
                step: last.key,
                ef: l.ef,
                search_probe: l.search_probe,
                recall: l.recall,
                qps: l.qps,
                p99_us: l.p99_us,
                index_bytes: l.index_bytes,
                build_s,
            })
        })
        .collect()
}

fn index_bytes(index: &dyn LiveIndex) -> u64 {
    let m = index.memory();
    m.ram_bytes + m.disk_bytes
}

/// Cleanup or rebuild after a write step, as the policy says.
fn maintain(
    plan: &Plan<'_>,
    index: &mut Box<dyn LiveIndex>,
    live: &LiveRows,
    c: &mut Counters,
    last_cleanup: &mut Instant,
    ctx: &WorkContext,
) -> Result<()> {
    let rebuild = match plan.maintenance {
        Maintenance::None => false,
        Maintenance::Cleanup(interval) => {
            let due = match interval {
                Interval::Ops(n) => c.since_cleanup >= n,
                Interval::Seconds(s) => last_cleanup.elapsed().as_secs_f64() >= s,
            };
            if due && index.has_cleanup() && index.tombstones() > 0 {
                let t = Instant::now();
                index.cleanup(ctx)?;
                c.cleanup_s += t.elapsed().as_secs_f64();
                c.cleanups += 1;
                c.since_cleanup = 0;
                *last_cleanup = Instant::now();
            }
            false
        }
        Maintenance::RebuildEvery(n) => c.since_build >= n,
        Maintenance::RebuildAt(share) => {
            c.built_with > 0 && c.churned_since_build as f64 >= share * c.built_with as f64
        }
    };
    if rebuild && !live.is_empty() {
        let t = Instant::now();
        let mut held: Vec<(u32, u32)> = live.held().map(|(r, t)| (t, r)).collect();
        held.sort_unstable();
        let tags: Vec<u32> = held.iter().map(|&(t, _)| t).collect();
        let rows: Vec<usize> = held.iter().map(|&(_, r)| r as usize).collect();
        let mut fresh = local_family(plan.spec.kind())?.live(&plan.spec, &plan.base, ctx)?;
        fresh.insert(
            Rows {
                base: &plan.base,
                tags: &tags,
                rows: &rows,
            },
            ctx,
        )?;
        *index = fresh;
        c.rebuild_s += t.elapsed().as_secs_f64();
        c.rebuilds += 1;
        c.since_build = 0;
        c.since_cleanup = 0;
        c.churned_since_build = 0;
        c.built_with = live.len();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn search_step(
    plan: &Plan<'_>,
    key: u64,
    knob: SearchKnob,
    index: &dyn LiveIndex,
    live: &LiveRows,
    queries: &Dataset,
    truth: Option<&crate::eval::GroundTruth>,
    c: &Counters,
    start: Instant,
    write_results: bool,
) -> Result<StepLine> {
    // Splits and merges change the number of lists as rows come and go: a
    // probe count past them probes them all (the line keeps the asked value).
    let searched_knob = match (knob, index.searchable().and_then(|i| i.posting_lists())) {
        (SearchKnob::Probe(p), Some(h)) => SearchKnob::Probe(p.min(h.list_count()).max(1)),
        _ => knob,
    };
    let params = SearchParams {
        k: plan.k,
        knob: searched_knob,
        filter: None,
        rescoring: None,
    };
    let nq = queries.len();
    let (wall, times, results) = match index.searchable() {
        Some(ix) => crate::job::with_threads(Some(plan.search_threads), || {
            timed_run(ix, queries.vectors(), &params, QueryMode::Single)
        })??,
        None => (0.0, vec![0.0; nq], vec![Neighbors::default(); nq]),
    };
    let metric = plan.base.metric();
    let mut wrong = 0usize;
    for r in &results {
        let mut seen = std::collections::HashSet::new();
        wrong += r
            .ids
            .iter()
            .filter(|&&t| live.row(t).is_none() || !seen.insert(t))
            .count();
    }
    let recall = truth.map(|gt| {
        crate::eval::recall::recall_with(gt, plan.k, &results, |qi, _, tag| {
            live.row(tag)
                .map(|r| metric.distance(queries.row(qi), plan.base.row(r as usize)))
        })
        .0
    });
    if let Some(dir) = plan.results_dir.as_ref().filter(|_| write_results) {
        write_answers(dir, key, knob, plan.knobs.len(), plan.k, &results)?;
    }
    let lat = LatencyStats::from_micros(&times);
    let (ef, search_probe) = knob_fields(knob);
    let queued = index.queued();
    Ok(StepLine {
        step: key,
        ef,
        search_probe,
        live: live.len(),
        inserted: c.inserted,
        deleted: c.deleted,
        replaced: c.replaced,
        tombstones: index.tombstones(),
        queue_len: queued,
        status: if queued > 0 { "INDEXING" } else { "READY" },
        recall,
        wrong_tags: wrong,
        qps: if wall > 0.0 { nq as f64 / wall } else { 0.0 },
        p50_us: lat.p50_us,
        p99_us: lat.p99_us,
        index_bytes: index_bytes(index),
        rss_bytes: crate::eval::process::rss_bytes(),
        elapsed_s: start.elapsed().as_secs_f64(),
        cleanup_s: c.cleanup_s,
        cleanups: c.cleanups,
        rebuild_s: c.rebuild_s,
        rebuilds: c.rebuilds,
    })
}

/// Beside the answers, what another tool needs to score its own run of the
/// same runbook: `order.ivecs` (one row: position → base row) and
/// `truth-<key>.ivecs` (each search step's exact top-k tags, -1 where
/// fewer are live).
fn write_truth(dir: &std::path::Path, plan: &Plan<'_>) -> Result<()> {
    crate::dataset::vecs::write_ivecs(
        &dir.join("order.ivecs"),
        &IdRows {
            n: 1,
            k: plan.order.len(),
            ids: plan.order.clone(),
        },
    )?;
    for (key, gt) in plan.truth {
        let Some(gt) = gt else { continue };
        let n = gt.n_queries();
        let ids = (0..n)
            .flat_map(|q| (0..plan.k).map(move |j| gt.ids(q).get(j).copied().unwrap_or(u32::MAX)))
            .collect();
        crate::dataset::vecs::write_ivecs(
            &dir.join(format!("truth-{key}.ivecs")),
            &IdRows { n, k: plan.k, ids },
        )?;
    }
    Ok(())
}

/// `step-<key>.ivecs` (with several knobs, `step-<key>-ef<E>.ivecs` or
/// `-probe<P>`): k tags per query, -1 where fewer came back.
fn write_answers(
    dir: &std::path::Path,
    key: u64,
    knob: SearchKnob,
    knobs: usize,
    k: usize,
    results: &[Neighbors],
) -> Result<()> {
    let suffix = match (knobs > 1, knob) {
        (false, _) => String::new(),
        (true, SearchKnob::Ef(e)) => format!("-ef{e}"),
        (true, SearchKnob::Probe(p)) => format!("-probe{p}"),
        (true, _) => "-default".into(),
    };
    let mut ids = Vec::with_capacity(results.len() * k);
    for r in results {
        ids.extend((0..k).map(|j| r.ids.get(j).copied().unwrap_or(u32::MAX)));
    }
    crate::dataset::vecs::write_ivecs(
        &dir.join(format!("step-{key}{suffix}.ivecs")),
        &IdRows {
            n: results.len(),
            k,
            ids,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::runbook::{Order, Step};
    use crate::churn::truth::step_truth;
    use crate::distance::Metric;
    use crate::index::{HnswParams, IndexKind};
    use crate::testutil::random_dataset;

    fn book() -> Runbook {
        let ops = [
            Op::Insert { start: 0, end: 400 },
            Op::Search,
            Op::Delete { start: 0, end: 200 },
            Op::Search,
            Op::Insert {
                start: 400,
                end: 600,
            },
            Op::Search,
            Op::Replace {
                tags_start: 200,
                tags_end: 260,
                ids_start: 600,
                ids_end: 660,
            },
            Op::Search,
            Op::Insert { start: 0, end: 50 },
            Op::Search,
        ];
        Runbook {
            name: "t".into(),
            max_pts: 1000,
            order: Order::File,
            steps: ops
                .into_iter()
                .enumerate()
                .map(|(i, op)| Step {
                    key: 10 + i as u64,
                    op,
                })
                .collect(),
        }
    }

    fn run_kind(
        spec: IndexSpec,
        maintenance: Maintenance,
        dir: Option<PathBuf>,
    ) -> (Vec<StepLine>, Summary) {
        run_with(spec, maintenance, dir, None)
    }

    fn run_with(
        spec: IndexSpec,
        maintenance: Maintenance,
        dir: Option<PathBuf>,
        async_indexing: Option<crate::churn::queue::AsyncConfig>,
    ) -> (Vec<StepLine>, Summary) {
        let base = Arc::new(random_dataset(700, 16, Metric::L2, 11));
        let queries = random_dataset(40, 16, Metric::L2, 12);
        let book = book();
        book.check(700, "t").expect("valid");
        let order: Vec<u32> = (0..700).collect();
        let ctx = WorkContext::detached();
        let (truth, _) = step_truth(None, &book, &order, &base, &queries, 10, &ctx).expect("truth");
        let plan = Plan {
            book: &book,
            order,
            base,
            queries: Some(&queries),
            truth: &truth,
            spec: spec.clone(),
            k: 10,
            knobs: vec![match spec.kind().knob() {
                Some(crate::index::KnobKind::Probe) => SearchKnob::Probe(16),
                Some(crate::index::KnobKind::Ef) => SearchKnob::Ef(64),
                None => SearchKnob::Default,
            }],
            search_threads: 1,
            maintenance,
            results_dir: dir,
            async_indexing,
            compare_fresh: false,
        };
        let mut lines = Vec::new();
        let mut outcome = run(&plan, &ctx, &mut |l| {
            lines.push(l.clone());
            Ok(())
        })
        .expect("run");
        (lines, outcome.summaries.remove(0))
    }

    fn small_hnsw() -> IndexSpec {
        IndexSpec::Hnsw(HnswParams {
            m: 8,
            ef_construction: 64,
            ..HnswParams::default()
        })
    }

    #[test]
    fn the_flat_scan_under_writes_is_exact_at_every_step_and_counts_what_was_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let (lines, sum) = run_kind(IndexSpec::Flat, Maintenance::None, Some(dir.path().into()));
        assert_eq!(lines.len(), 5);
        for l in &lines {
            assert_eq!(l.recall, Some(1.0), "step {}", l.step);
            assert_eq!(l.wrong_tags, 0);
        }
        let live: Vec<usize> = lines.iter().map(|l| l.live).collect();
        assert_eq!(live, [400, 200, 400, 400, 450]);
        assert_eq!((sum.inserted, sum.deleted, sum.replaced), (650, 200, 60));
        assert_eq!(lines[0].step, 11, "the runbook's own step key");
        // Answers on disk: k tags per query, by the step's key.
        let rows = crate::dataset::read_ivecs(&dir.path().join("step-19.ivecs")).expect("ivecs");
        assert_eq!((rows.n, rows.k), (40, 10));
        assert!(rows.ids.iter().all(|&t| t < 50 || (200..600).contains(&t)));
    }

    #[test]
    fn hnsw_answers_only_live_tags_and_cleanup_frees_its_tombstones() {
        let (kept, _) = run_kind(small_hnsw(), Maintenance::None, None);
        assert_eq!(kept[1].tombstones, 200, "a delete leaves tombstones");
        let (cleaned, sum) = run_kind(small_hnsw(), Maintenance::Cleanup(Interval::Ops(1)), None);
        assert_eq!(cleaned[1].tombstones, 0, "a cycle ran after the delete");
        assert!(cleaned[1].cleanups >= 1 && cleaned[1].cleanup_s > 0.0);
        assert!(sum.cleanup_s >= cleaned[1].cleanup_s);
        for l in kept.iter().chain(&cleaned) {
            assert_eq!(
                l.wrong_tags, 0,
                "step {}: a deleted or repeated tag came back",
                l.step
            );
            assert!(
                l.recall.expect("live") > 0.9,
                "step {}: {:?}",
                l.step,
                l.recall
            );
        }
        // Tags 0..50 were deleted, cleaned up and inserted again: they answer.
        assert_eq!(cleaned.last().expect("last").live, 450);
    }

    #[test]
    fn a_rebuild_policy_rebuilds_when_its_share_is_deleted() {
        let (lines, sum) = run_kind(small_hnsw(), Maintenance::RebuildAt(0.3), None);
        assert_eq!(lines[1].rebuilds, 1, "200 of 400 deleted: past 30%");
        assert_eq!(lines[1].tombstones, 0, "a fresh build holds no tombstones");
        assert!(sum.rebuild_s > 0.0);
    }

    #[test]
    fn hfresh_and_the_dynamic_index_run_the_same_runbook() {
        use crate::index::{DynamicConfig, HFreshParams};
        let hf = IndexSpec::HFresh(HFreshParams {
            max_posting_size: 64,
            min_posting_size: 4,
            ..HFreshParams::default()
        });
        let (lines, _) = run_kind(hf, Maintenance::None, None);
        assert!(lines.iter().all(|l| l.wrong_tags == 0));
        assert!(
            lines.iter().all(|l| l.recall.expect("live") > 0.8),
            "{lines:?}"
        );
        let dynamic = IndexSpec::Dynamic(DynamicConfig {
            threshold: 300,
            hnsw: match small_hnsw() {
                IndexSpec::Hnsw(h) => h,
                _ => unreachable!(),
            },
        });
        let (lines, _) = run_kind(dynamic, Maintenance::Cleanup(Interval::Ops(1)), None);
        assert!(lines.iter().all(|l| l.wrong_tags == 0), "{lines:?}");
        let _ = IndexKind::Dynamic;
    }

    #[test]
    fn async_indexing_answers_as_well_as_synchronous_writes_and_reports_its_queue() {
        use crate::churn::queue::AsyncConfig;
        let (sync, _) = run_kind(small_hnsw(), Maintenance::None, None);
        // A stale timeout longer than the run: only full batches are indexed,
        // so searches find writes still queued.
        let config = AsyncConfig {
            batch: 150,
            stale: std::time::Duration::from_secs(60),
        };
        let (lines, sum) = run_with(small_hnsw(), Maintenance::None, None, Some(config));
        assert!(
            lines
                .iter()
                .any(|l| l.queue_len > 0 && l.status == "INDEXING"),
            "{lines:?}"
        );
        for (a, s) in lines.iter().zip(&sync) {
            assert_eq!(a.wrong_tags, 0, "step {}", a.step);
            let (a, s) = (a.recall.expect("live"), s.recall.expect("live"));
            assert!(a >= s - 0.02, "async {a} vs sync {s}");
        }
        assert!(sum.freshness_p99_ms > 0.0 && sum.freshness_p50_ms <= sum.freshness_p99_ms);
        assert!(sum.drain_s > 0.0, "the queue drained after the last step");
    }
}
