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

use super::runbook::{Op, Runbook, Step};
use super::state::{LiveRows, Touched, Write};
use super::truth::StepTruth;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::eval::bench::{timed_run, QueryMode};
use crate::eval::{GroundTruth, LatencyStats};
use crate::index::live::{LiveIndex, Rows};
use crate::index::{local_family, IndexSpec, Neighbors, SearchKnob, SearchParams};
use crate::progress::WorkContext;

mod policy;
mod report;
#[cfg(test)]
mod tests;
mod under_writes;

pub use policy::{Interval, Maintenance};
use report::{knob_fields, write_answers, write_truth};
pub use report::{Fresh, Outcome, StepLine, Summary};
pub use under_writes::UnderWrites;

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
    /// Write steps (after the first insert) written at this many rows per
    /// second while searches run beside them ([`under_writes`]).
    pub write_rate: Option<f64>,
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
    let mut runner = Runner::new(plan, ctx)?;
    ctx.progress.stage(
        &format!("running {} steps", plan.book.steps.len()),
        plan.book.steps.len() as u64,
    );
    for step in &plan.book.steps {
        for line in runner.step(step, ctx)? {
            emit(&line)?;
        }
        ctx.progress.add(1);
    }
    runner.finish(ctx)
}

/// A runbook run one step at a time: the CLI runs every step in turn, the
/// app's Motion lab plays them at its own pace and writes by hand between
/// them ([`Runner::write`]), then cleans up or rebuilds when asked.
pub struct Runner<'p> {
    plan: &'p Plan<'p>,
    index: Box<dyn LiveIndex>,
    live: LiveRows,
    c: Counters,
    start: Instant,
    last_cleanup: Instant,
    recalls: Vec<Vec<f64>>,
    qps: Vec<Vec<f64>>,
    p99s: Vec<Vec<f64>>,
    loaded: Vec<UnderWrites>,
}

impl<'p> Runner<'p> {
    /// An empty index of the plan's kind (behind a queue when the plan
    /// asks for asynchronous indexing), nothing live.
    pub fn new(plan: &'p Plan<'p>, ctx: &WorkContext) -> Result<Self> {
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
        if let Some(dir) = &plan.results_dir {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            write_truth(dir, plan)?;
        }
        let per_knob = vec![Vec::new(); plan.knobs.len()];
        Ok(Runner {
            plan,
            index,
            live: LiveRows::new(plan.order.clone()),
            c: Counters::default(),
            start: Instant::now(),
            last_cleanup: Instant::now(),
            recalls: per_knob.clone(),
            qps: per_knob.clone(),
            p99s: per_knob,
            loaded: Vec::new(),
        })
    }

    /// Which row each live tag holds.
    pub fn live(&self) -> &LiveRows {
        &self.live
    }
    /// The index as it stands.
    pub fn index(&self) -> &dyn LiveIndex {
        self.index.as_ref()
    }

    /// One runbook step: a search gives a line per knob (measured against
    /// the plan's ground truth for that step), a write none.
    pub fn step(&mut self, step: &Step, ctx: &WorkContext) -> Result<Vec<StepLine>> {
        ctx.cancel.check()?;
        if step.op != Op::Search {
            let touched = self.live.apply(&step.op);
            self.write(step.key, Write::of(&step.op), touched, ctx)?;
            return Ok(Vec::new());
        }
        let truth = self
            .plan
            .truth
            .get(&step.key)
            .ok_or_else(|| Error::Internal(format!("no ground truth for step {}", step.key)))?;
        self.search(step.key, truth.as_ref(), true)
    }

    /// Measures every knob now against `truth` (the exact answers over the
    /// rows live now), under the step number `key`.
    pub fn search(
        &mut self,
        key: u64,
        truth: Option<&GroundTruth>,
        write_results: bool,
    ) -> Result<Vec<StepLine>> {
        let queries = self.plan.queries.ok_or_else(|| {
            Error::InvalidParameter(format!(
                "step {key} is a search: give the query file (--queries)"
            ))
        })?;
        let mut lines = Vec::with_capacity(self.plan.knobs.len());
        for (ki, &knob) in self.plan.knobs.iter().enumerate() {
            let line = search_step(
                self.plan,
                key,
                knob,
                self.index.as_ref(),
                &self.live,
                queries,
                truth,
                &self.c,
                self.start,
                write_results,
            )?;
            if let Some(r) = line.recall {
                self.recalls[ki].push(r);
                self.qps[ki].push(line.qps);
                self.p99s[ki].push(line.p99_us);
            }
            lines.push(line);
        }
        Ok(lines)
    }

    /// Writes what `touched` names (already applied to [`Runner::live`]
    /// by the caller: a runbook step, or a write by hand), then maintains
    /// the index as the policy says.
    pub fn write(
        &mut self,
        key: u64,
        write: Write,
        touched: Touched,
        ctx: &WorkContext,
    ) -> Result<()> {
        let plan = self.plan;
        let rows = Rows {
            base: &plan.base,
            tags: &touched.tags,
            rows: &touched.rows,
        };
        let t = Instant::now();
        let paced = plan
            .write_rate
            .zip(plan.queries)
            .filter(|_| self.index.searchable().is_some());
        if let Some((rate, queries)) = paced {
            let params = search_params(plan, plan.knobs[0]);
            self.loaded.push(under_writes::paced(
                self.index.as_mut(),
                key,
                write,
                &touched,
                &plan.base,
                rate,
                queries,
                &params,
                ctx,
            )?);
        } else {
            match write {
                Write::Insert => self.index.insert(rows, ctx)?,
                Write::Delete => self.index.delete(&touched.tags)?,
                Write::Replace => self.index.replace(rows, ctx)?,
            }
        }
        let c = &mut self.c;
        match write {
            Write::Insert => c.inserted += rows.len(),
            Write::Delete => c.deleted += rows.len(),
            Write::Replace => c.replaced += rows.len(),
        }
        if write != Write::Insert {
            c.churned_since_build += rows.len();
        }
        c.write_s += t.elapsed().as_secs_f64();
        if c.built_with == 0 {
            c.built_with = self.live.len();
        }
        c.since_cleanup += rows.len();
        c.since_build += rows.len();
        self.maintain(ctx)
    }

    /// Applies a write by hand to the account of live rows and the index.
    pub fn write_by_hand(
        &mut self,
        key: u64,
        write: Write,
        touched: Touched,
        ctx: &WorkContext,
    ) -> Result<()> {
        self.live.apply_touched(write, &touched);
        self.write(key, write, touched, ctx)
    }

    /// A cleanup cycle now, whatever the policy (when the kind has one).
    pub fn cleanup_now(&mut self, ctx: &WorkContext) -> Result<bool> {
        if !self.index.has_cleanup() {
            return Ok(false);
        }
        let t = Instant::now();
        self.index.cleanup(ctx)?;
        self.c.cleanup_s += t.elapsed().as_secs_f64();
        self.c.cleanups += 1;
        self.c.since_cleanup = 0;
        self.last_cleanup = Instant::now();
        Ok(true)
    }

    /// A cleanup cycle if the policy's interval is in seconds and its time
    /// is up: Weaviate's cycle runs on its clock, every period, not only
    /// after writes (one with no tombstones does nothing and the next is a
    /// period on). The tombstones freed, when it freed any.
    pub fn cleanup_if_due_by_clock(&mut self, ctx: &WorkContext) -> Result<Option<usize>> {
        let Maintenance::Cleanup(Interval::Seconds(every)) = self.plan.maintenance else {
            return Ok(None);
        };
        if self.last_cleanup.elapsed().as_secs_f64() < every {
            return Ok(None);
        }
        let tombstones = self.index.tombstones();
        if tombstones == 0 {
            // A cycle with nothing to do: the next is due a period on.
            self.last_cleanup = Instant::now();
            return Ok(None);
        }
        Ok(self.cleanup_now(ctx)?.then_some(tombstones))
    }

    /// The kind built afresh over the live rows, swapped in now.
    pub fn rebuild_now(&mut self, ctx: &WorkContext) -> Result<()> {
        if self.live.is_empty() {
            return Ok(());
        }
        if self.plan.async_indexing.is_some() {
            return Err(Error::InvalidParameter(
                "a rebuild replaces the index the indexing queue feeds: turn async indexing off to rebuild".into(),
            ));
        }
        let t = Instant::now();
        self.index = build_fresh(self.plan, &self.live, ctx)?;
        let c = &mut self.c;
        c.rebuild_s += t.elapsed().as_secs_f64();
        c.rebuilds += 1;
        c.since_build = 0;
        c.since_cleanup = 0;
        c.churned_since_build = 0;
        c.built_with = self.live.len();
        Ok(())
    }

    /// The kind built afresh over the rows live now and measured against
    /// `truth` under the step number `key`: what the index that lived
    /// through the writes is set against. Returns the lines and the
    /// build's seconds; the run's own index is untouched.
    pub fn measure_fresh(
        &self,
        key: u64,
        truth: Option<&GroundTruth>,
        ctx: &WorkContext,
    ) -> Result<(Vec<StepLine>, f64)> {
        let queries = self.plan.queries.ok_or_else(|| {
            Error::InvalidParameter("a fresh build is measured on queries: none given".into())
        })?;
        if self.live.is_empty() {
            return Err(Error::InvalidParameter(
                "nothing is live to build afresh".into(),
            ));
        }
        let t = Instant::now();
        let fresh = build_fresh(self.plan, &self.live, ctx)?;
        let build_s = t.elapsed().as_secs_f64();
        let lines = self
            .plan
            .knobs
            .iter()
            .map(|&knob| {
                search_step(
                    self.plan,
                    key,
                    knob,
                    fresh.as_ref(),
                    &self.live,
                    queries,
                    truth,
                    &self.c,
                    self.start,
                    false,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((lines, build_s))
    }

    /// Cleanup or rebuild after a write, as the policy says.
    fn maintain(&mut self, ctx: &WorkContext) -> Result<()> {
        let c = &self.c;
        let rebuild = match self.plan.maintenance {
            Maintenance::None => false,
            Maintenance::Cleanup(interval) => {
                match interval {
                    Interval::Ops(n) => {
                        if c.since_cleanup >= n && self.index.tombstones() > 0 {
                            self.cleanup_now(ctx)?;
                        }
                    }
                    Interval::Seconds(_) => {
                        self.cleanup_if_due_by_clock(ctx)?;
                    }
                }
                false
            }
            Maintenance::RebuildEvery(n) => c.since_build >= n,
            Maintenance::RebuildAt(share) => {
                c.built_with > 0 && c.churned_since_build as f64 >= share * c.built_with as f64
            }
        };
        if rebuild {
            self.rebuild_now(ctx)?;
        }
        Ok(())
    }

    /// Waits for the queue to drain; the summary per knob, and the fresh
    /// build when the plan asks for it.
    pub fn finish(self, ctx: &WorkContext) -> Result<Outcome> {
        let Runner {
            plan,
            index,
            live,
            c,
            start,
            recalls,
            qps,
            p99s,
            loaded,
            ..
        } = self;
        let drain_start = Instant::now();
        index.drain()?;
        let drain_s = drain_start.elapsed().as_secs_f64();
        let seconds = start.elapsed().as_secs_f64();
        let final_bytes = index_bytes(index.as_ref());
        let mut fresh = index.freshness_ms();
        fresh.sort_by(f64::total_cmp);
        let fresh_at = |p: f64| crate::eval::latency::percentile(&fresh, p);
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let summaries = plan
            .knobs
            .iter()
            .enumerate()
            .map(|(ki, &knob)| {
                let (ef, search_probe) = knob_fields(knob);
                let r = &recalls[ki];
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
                    average_p99_us: mean(&p99s[ki]),
                    qps_under_writes: (ki == 0)
                        .then(|| mean(&loaded.iter().map(|u| u.qps).collect::<Vec<_>>()))
                        .flatten(),
                    p99_under_writes_us: (ki == 0)
                        .then(|| mean(&loaded.iter().map(|u| u.p99_us).collect::<Vec<_>>()))
                        .flatten(),
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
            under_writes: loaded,
            notes,
        })
    }
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
    let fresh = build_fresh(plan, live, ctx)?;
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

/// The kind built from scratch over the live rows (in tag order, so the
/// build does not depend on a hash map's order): a rebuild, or the fresh
/// build `--compare-fresh` measures.
fn build_fresh(plan: &Plan<'_>, live: &LiveRows, ctx: &WorkContext) -> Result<Box<dyn LiveIndex>> {
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
    Ok(fresh)
}

fn search_params(plan: &Plan<'_>, knob: SearchKnob) -> SearchParams {
    SearchParams {
        k: plan.k,
        knob,
        filter: None,
        rescoring: None,
    }
}

fn index_bytes(index: &dyn LiveIndex) -> u64 {
    let m = index.memory();
    m.ram_bytes + m.disk_bytes
}

#[allow(clippy::too_many_arguments)]
fn search_step(
    plan: &Plan<'_>,
    key: u64,
    knob: SearchKnob,
    index: &dyn LiveIndex,
    live: &LiveRows,
    queries: &Dataset,
    truth: Option<&GroundTruth>,
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
    let params = search_params(plan, searched_knob);
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
