//! The search the tuner runs (the method and why are in the module above):
//! builds, ef bisection, interleaved timing of the finalists, the pick.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use super::cost::{CostModel, CostSample};
use super::{
    mean_interval, Objective, Phase, Pick, RecallVerdict, Strategy, Summary, TuneConfig,
    TuneInputs, TunedPoint,
};
use crate::dataset::{Dataset, Vectors};
use crate::error::{Error, Result};
use crate::eval::{measure, measure_for, GroundTruth, Measurement, OperatingPoint, QueryMode};
use crate::index::{
    BuiltIndex, DataSource, HnswParams, IndexKind, IndexSpec, KnobKind, ParamMap, Rescoring,
    SearchKnob, SearchParams,
};
use crate::job::with_threads;
use crate::progress::WorkContext;

/// Screening builds on at least this many vectors (or the whole base).
const SAMPLE_MIN: usize = 10_000;
/// ... and on this share of the base.
const SAMPLE_SHARE: usize = 8;
/// A larger efConstruction is worth its build only when it saves more
/// than this share of a search's cost (distance computations and hops,
/// [`CostModel`]) at the target.
const EFC_GAIN: f64 = 0.05;
/// A bisection stops once its bounds are this close (relative): an ef
/// within 3% of the least that meets the target costs at most ~3% QPS.
const BISECT_PRECISION: f64 = 0.03;
/// Among finalists the timings cannot tell apart, a cheaper one (memory,
/// then build time) replaces the one with the best median only when its
/// median is within this share of the best.
const TIE_SHARE: f64 = 0.02;
/// A timed run passes the queries through again and again for at least
/// this long.
const TIMED_RUN_S: f64 = 0.25;
/// Passes over the queries per screening probe, whose fastest the cost
/// model is fitted on.
const COST_PASSES: usize = 3;
/// A finalist whose best run is under this share of the leader's best is
/// timed no further.
const HOPELESS_SHARE: f64 = 0.25;
/// Seconds kept back from the budget for timing the finalists and the
/// held-out check.
const FINAL_RESERVE_S: f64 = 12.0;

/// Base vectors, queries and their ground truth for one phase.
struct Ground<'g> {
    base: &'g Arc<Dataset>,
    queries: &'g Vectors,
    gt: &'g GroundTruth,
    phase: Phase,
}

/// One built index at the search setting that meets the target (or, when
/// none does, its best try).
struct Candidate {
    index: BuiltIndex,
    knob: SearchKnob,
    m: Measurement,
    verdict: RecallVerdict,
    built_on: usize,
    /// Whether `m` holds timed runs yet (the bisection's pass, just after
    /// the build, is a warm-up and is not one).
    timed: bool,
}

impl Candidate {
    fn label(&self) -> String {
        format!("{} at {}", self.index.spec.label(), knob_words(self.knob))
    }
    /// The median timed run's QPS (the only run's before timing).
    fn qps(&self) -> f64 {
        self.m.spreads().map_or(self.m.qps, |(q, _)| q.median)
    }
    /// The median timed run's p99 latency.
    fn p99(&self) -> f64 {
        self.m
            .spreads()
            .map_or(self.m.latency.p99_us, |(_, p)| p.median)
    }
    fn qps_lo(&self) -> f64 {
        self.m.spreads().map_or(self.m.qps, |(q, _)| q.lo)
    }
    fn bytes(&self) -> u64 {
        self.index.memory().ram_bytes
    }
}

/// One M screened on the sample at the middle efConstruction.
#[derive(Clone, Copy)]
struct Screened {
    m: usize,
    /// Whether its best try met the target on the sample.
    met: bool,
    dist_comps: Option<f64>,
    hops: Option<f64>,
    qps: f64,
    build_s: f64,
    /// The ef found there (a hint for the full-size bisection).
    ef: Option<usize>,
}

impl Screened {
    /// What a search costs at the target (infinite when it was not met).
    fn cost(&self, model: &CostModel) -> f64 {
        match (self.met, self.dist_comps) {
            (false, _) => f64::INFINITY,
            (true, Some(dc)) => model.cost(dc, self.hops.unwrap_or(0.0)),
            (true, None) => 1.0 / self.qps.max(1e-9),
        }
    }
}

fn knob_words(knob: SearchKnob) -> String {
    match knob {
        SearchKnob::Ef(e) => format!("ef {e}"),
        SearchKnob::Probe(p) => format!("search_probe {p}"),
        SearchKnob::DynamicEf(_) => "dynamic ef".into(),
        SearchKnob::Default => "its only setting".into(),
    }
}

pub(super) struct Search<'a> {
    inputs: &'a TuneInputs,
    config: &'a TuneConfig,
    ctx: &'a WorkContext,
    on_point: &'a mut dyn FnMut(&TunedPoint),
    started: Instant,
    builds: usize,
    sample_builds: usize,
    notes: Vec<String>,
    /// The screening's passes (while `collecting`), and the cost model
    /// fitted on them.
    collecting: bool,
    cost_samples: Vec<CostSample>,
    cost: CostModel,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        inputs: &'a TuneInputs,
        config: &'a TuneConfig,
        ctx: &'a WorkContext,
        on_point: &'a mut dyn FnMut(&TunedPoint),
    ) -> Self {
        Search {
            inputs,
            config,
            ctx,
            on_point,
            started: Instant::now(),
            builds: 0,
            sample_builds: 0,
            notes: Vec::new(),
            collecting: false,
            cost_samples: Vec::new(),
            cost: CostModel::default(),
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn k(&self) -> usize {
        self.config.target.k
    }

    fn full(&self) -> Ground<'a> {
        Ground {
            base: &self.inputs.base,
            queries: &self.inputs.split.tuning.vectors,
            gt: &self.inputs.split.tuning.gt,
            phase: Phase::Full,
        }
    }

    pub(super) fn run(mut self) -> Result<Summary> {
        let mut finalists = Vec::new();
        let kinds = &self.config.space.kinds;
        if kinds.contains(&IndexKind::Hnsw) {
            finalists.extend(match &self.config.strategy {
                Strategy::Screen => self.screen_then_confirm()?,
                Strategy::Grid { efs } => self.grid(&efs.clone())?,
            });
        }
        if kinds.contains(&IndexKind::Hfresh) {
            let spec = IndexSpec::HFresh(self.config.space.hfresh.clone());
            finalists.push(self.full_candidate(&spec, None)?);
        }
        if kinds.contains(&IndexKind::Flat) {
            finalists.push(self.full_candidate(&IndexSpec::Flat, None)?);
        }
        if finalists.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "the budget ({} s) ran out before any full-size index was measured; give more with --budget-s",
                self.config.budget_s
            )));
        }
        let all: Vec<usize> = (0..finalists.len()).collect();
        self.time(&mut finalists, &all)?;
        for c in &finalists {
            let mut point = self.point(&c.index, c.knob, &c.m, Phase::Full, c.built_on, c.verdict);
            // A tuner's figures are the median runs'.
            point.point.qps = c.qps();
            point.point.p99_us = c.p99();
            (self.on_point)(&point);
        }
        self.finish(finalists)
    }

    /// Screening on a sample, then full-size builds the screening points to.
    fn screen_then_confirm(&mut self) -> Result<Vec<Candidate>> {
        let n = self.inputs.base.len();
        let sample_n = (n / SAMPLE_SHARE).max(SAMPLE_MIN).min(n);
        let space = self.config.space.clone();
        let mut ms = space.m.clone();
        ms.sort_unstable();
        ms.dedup();
        let mut efcs = space.ef_construction.clone();
        efcs.sort_unstable();
        efcs.dedup();
        let screen_efc = efcs[efcs.len() / 2];
        // 1. The sample and its own exact ground truth; a base no larger
        // than a sample is screened on itself, and its screening builds are
        // the full-size candidates.
        let on_full = sample_n == n;
        let sample_base = if on_full {
            self.inputs.base.clone()
        } else {
            self.ctx.progress.stage("tune: sample", 0);
            let mut rows = sample(&mut StdRng::seed_from_u64(space.seed), n, sample_n).into_vec();
            rows.sort_unstable();
            Arc::new(self.inputs.base.subset(
                format!("{} (sample of {sample_n})", self.inputs.base.name()),
                &rows,
            ))
        };
        let tuning = &self.inputs.split.tuning.vectors;
        let sample_gt = if on_full {
            self.inputs.split.tuning.gt.clone()
        } else {
            let (sb, k, ctx) = (sample_base.clone(), self.k(), self.ctx);
            with_threads(self.config.build_threads, move || {
                GroundTruth::compute(&sb, tuning, k, ctx)
            })??
        };
        let ground = Ground {
            base: &sample_base,
            queries: tuning,
            gt: &sample_gt,
            phase: if on_full { Phase::Full } else { Phase::Sample },
        };
        let mut kept: Vec<Candidate> = Vec::new();

        // 2. Every M at the middle efConstruction, by what a search costs
        // at the target: distance computations and hops, a hop weighted by
        // what the screening's own passes say it costs here.
        // The cost model is fitted once every M's passes are in.
        let mut screened = Vec::new();
        let mut hint = None;
        self.collecting = true;
        for &m in &ms {
            let c = self.screen_one(&ground, m, screen_efc, hint)?;
            hint = c.knob.value();
            screened.push(Screened {
                m,
                met: c.verdict.met(),
                dist_comps: c.m.dist_comps,
                hops: c.m.hops,
                qps: c.m.qps,
                build_s: c.index.build_secs,
                ef: hint,
            });
            if on_full {
                kept.push(c);
            }
        }
        self.collecting = false;
        self.cost = CostModel::fit(&self.cost_samples);
        let mut by_cost = screened.clone();
        by_cost.sort_by(|a, b| a.cost(&self.cost).total_cmp(&b.cost(&self.cost)));
        let best_m = by_cost[0].m;

        self.notes.push(format!(
            "{} of {sample_n}: M {best_m} costs least at the target{}; cost = distance computations + {:.1} × hops ({})",
            if on_full { "all" } else { "sample" },
            by_cost
                .get(1)
                .map(|s| format!(", then M {}", s.m))
                .unwrap_or_default(),
            self.cost.hop_weight,
            if self.cost.fitted_on > 0 {
                format!(
                    "a hop's weight fitted on the screening's {} timed passes",
                    self.cost.fitted_on
                )
            } else {
                "too few passes to weigh hops: computations only".into()
            }
        ));

        // 3. Full size. efConstruction is not screened on the sample: a
        // bigger graph needs a better build, so a sample says too little
        // about it. The best M starts at the middle efConstruction (or the
        // largest below it that fits a build-time ceiling) and goes up one
        // step at a time while a step saves distance computations, then
        // the runner-up M is built at the efConstruction that won.
        let sample_secs = |m: usize| {
            screened
                .iter()
                .find(|s| s.m == m)
                .map_or(f64::INFINITY, |s| s.build_s)
        };
        let ln = |x: usize| (x.max(2) as f64).ln();
        // Build time grows as n·log n and about linearly in efConstruction;
        // the first full build replaces the guess with a measured ratio.
        let mut scale = (n as f64 / sample_n as f64) * ln(n) / ln(sample_n);
        let predict = |m: usize, efc: usize, scale: f64| {
            sample_secs(m) * scale * efc as f64 / screen_efc as f64
        };
        let sample_ef = |m: usize| screened.iter().find(|s| s.m == m).and_then(|s| s.ef);
        let below: Vec<usize> = efcs.iter().copied().filter(|&e| e <= screen_efc).collect();
        let max_build = self.config.target.max_build_s;
        let start_for = |m: usize| {
            below
                .iter()
                .rev()
                .copied()
                .find(|&e| max_build.is_none_or(|max| predict(m, e, scale) <= max))
                .unwrap_or(efcs[0])
        };
        // The best M whose first build fits (a busy machine or a short
        // budget may leave no time for the best one's): by cost, those
        // that met the target on the sample first.
        let ranked: Vec<usize> = by_cost.iter().map(|s| s.m).collect();
        let mut chosen = None;
        for &m in &ranked {
            let start = start_for(m);
            if self.fits(
                predict(m, start, scale),
                &format!("M {m} efConstruction {start}"),
            ) {
                chosen = Some((m, start));
                break;
            }
        }
        let Some((best_m, start)) = chosen else {
            return Ok(Vec::new());
        };
        if best_m != ranked[0] {
            self.notes.push(format!(
                "M {best_m}: the best M whose build fits the budget"
            ));
        }
        let mut out: Vec<Candidate> = Vec::new();
        let mut best: Option<usize> = None;
        let mut best_efc = start;
        for &efc in efcs.iter().filter(|&&e| e >= start) {
            let predicted = predict(best_m, efc, scale);
            if !self.fits(predicted, &format!("M {best_m} efConstruction {efc}")) {
                break;
            }
            let spec = self.hnsw(best_m, efc);
            let reuse = kept.iter().position(|c| c.index.spec == spec);
            let c = match reuse {
                Some(i) => kept.swap_remove(i),
                None => self.full_candidate(&spec, sample_ef(best_m))?,
            };
            let guess = predict(best_m, efc, 1.0);
            if guess.is_finite() && guess > 0.0 {
                scale = c.index.build_secs / guess;
            }
            out.push(c);
            let new = out.len() - 1;
            let Some(prev) = best else {
                best = Some(new);
                continue;
            };
            // One M: a search's cost by the model, which the timings' noise
            // cannot blur.
            if !self.costs_less(&out[new], &out[prev]) {
                self.notes.push(format!(
                    "M {best_m}: efConstruction {efc} saves under {:.0}% of the search cost of efConstruction {best_efc}; stopped raising it",
                    EFC_GAIN * 100.0,
                ));
                break;
            }
            best = Some(new);
            best_efc = efc;
        }
        if out.is_empty() {
            return Ok(out);
        }
        if let Some(runner_up) = ranked.iter().copied().skip_while(|&m| m != best_m).nth(1) {
            let predicted = predict(runner_up, best_efc, scale);
            if self.fits(predicted, &format!("the runner-up M {runner_up}")) {
                let spec = self.hnsw(runner_up, best_efc);
                match kept.iter().position(|c| c.index.spec == spec) {
                    Some(i) => out.push(kept.swap_remove(i)),
                    None => out.push(self.full_candidate(&spec, sample_ef(runner_up))?),
                }
            }
        }
        Ok(out)
    }

    /// Builds (M, efConstruction) on the screening base and finds the
    /// least ef that meets the target there.
    fn screen_one(
        &mut self,
        ground: &Ground,
        m: usize,
        efc: usize,
        hint: Option<usize>,
    ) -> Result<Candidate> {
        let index = self.build(&self.hnsw(m, efc), ground.base, ground.phase)?;
        let (knob, meas, verdict) = self.find_knob(&index, ground, hint)?;
        Ok(Candidate {
            index,
            knob,
            m: meas,
            verdict,
            built_on: ground.base.len(),
            timed: false,
        })
    }

    fn hnsw(&self, m: usize, ef_construction: usize) -> IndexSpec {
        IndexSpec::Hnsw(HnswParams {
            m,
            ef_construction,
            seed: self.config.space.seed,
            storage: self.config.space.storage,
        })
    }

    /// Whether a build predicted to take `predicted` seconds fits in the
    /// budget and under the build-time ceiling; notes why not.
    fn fits(&mut self, predicted: f64, what: &str) -> bool {
        if let Some(max) = self.config.target.max_build_s {
            if predicted > max {
                self.notes.push(format!(
                    "{what}: predicted build {predicted:.0} s is over the {max} s ceiling; not built"
                ));
                return false;
            }
        }
        let left = self.config.budget_s - self.elapsed() - FINAL_RESERVE_S;
        if predicted > left {
            self.notes.push(format!(
                "{what}: predicted build {predicted:.0} s does not fit in the {left:.0} s of budget left; not built"
            ));
            return false;
        }
        true
    }

    fn build(&mut self, spec: &IndexSpec, base: &Arc<Dataset>, phase: Phase) -> Result<BuiltIndex> {
        self.ctx.cancel.check()?;
        self.ctx
            .progress
            .stage(&format!("tune: build {}", spec.label()), 0);
        let (spec2, base2, ctx) = (spec.clone(), base.clone(), self.ctx);
        let built = with_threads(self.config.build_threads, move || {
            spec2.build(DataSource::from(base2), ctx)
        })??;
        match phase {
            Phase::Sample => self.sample_builds += 1,
            _ if !matches!(spec, IndexSpec::Flat) => self.builds += 1,
            _ => {}
        }
        Ok(built)
    }

    /// Builds `spec` on the whole base and finds its search setting.
    fn full_candidate(&mut self, spec: &IndexSpec, hint: Option<usize>) -> Result<Candidate> {
        let base = self.inputs.base.clone();
        let index = self.build(spec, &base, Phase::Full)?;
        let ground = self.full();
        let (knob, m, verdict) = self.find_knob(&index, &ground, hint)?;
        Ok(Candidate {
            index,
            knob,
            m,
            verdict,
            built_on: base.len(),
            timed: false,
        })
    }

    /// The least ef (or search_probe) whose tuning recall clears the
    /// target's margin, by bisection on a geometric scale; when even the
    /// largest does not, that largest with its shortfall.
    fn find_knob(
        &mut self,
        index: &BuiltIndex,
        g: &Ground,
        hint: Option<usize>,
    ) -> Result<(SearchKnob, Measurement, RecallVerdict)> {
        let (lo, hi) = match index.kind().knob() {
            None => {
                let (m, v) = self.probe(index, g, SearchKnob::Default)?;
                return Ok((SearchKnob::Default, m, v));
            }
            Some(KnobKind::Ef) => (
                self.k().min(self.config.space.ef_max),
                self.config.space.ef_max,
            ),
            Some(KnobKind::Probe) => {
                let lists = index.posting_lists().map_or(1, |h| h.list_count());
                (1, lists.clamp(1, self.config.space.ef_max.max(1)))
            }
        };
        let kind = index.kind().knob().expect("a knob");
        let (value, (m, verdict)) = least_meeting(lo, hi, hint, |v| {
            let got = self.probe(index, g, kind.at(v))?;
            Ok((got.1.met(), got))
        })?;
        Ok((kind.at(value), m, verdict))
    }

    fn params(&self, knob: SearchKnob) -> SearchParams {
        SearchParams::new(self.k()).with_knob(knob)
    }

    /// One untimed-quality pass over `g`'s queries at `knob`: its recall
    /// verdict, and its point handed on.
    fn probe(
        &mut self,
        index: &BuiltIndex,
        g: &Ground,
        knob: SearchKnob,
    ) -> Result<(Measurement, RecallVerdict)> {
        self.ctx.cancel.check()?;
        // The cost model is fitted on the screening's timings: there, the
        // fastest of a few passes, which another process's bursts of work
        // can only slow, never speed up.
        let runs = if self.collecting { COST_PASSES } else { 1 };
        let m = measure(
            &**index,
            Some(g.base),
            g.queries,
            g.gt,
            &self.params(knob),
            QueryMode::Single,
            1,
            runs,
            false,
        )?;
        let verdict = self
            .config
            .target
            .recall_verdict(&m.per_query_recall, self.inputs.split.heldout.len());
        if self.collecting && knob.value() < Some(self.config.space.ef_max) {
            if let (Some(dist_comps), Some(hops)) = (m.dist_comps, m.hops) {
                self.cost_samples.push(CostSample {
                    dist_comps,
                    hops,
                    secs_per_query: 1.0 / m.qps.max(1e-9),
                });
            }
        }
        let point = self.point(index, knob, &m, g.phase, g.base.len(), verdict);
        (self.on_point)(&point);
        Ok((m, verdict))
    }

    fn point(
        &self,
        index: &BuiltIndex,
        knob: SearchKnob,
        m: &Measurement,
        phase: Phase,
        built_on: usize,
        verdict: RecallVerdict,
    ) -> TunedPoint {
        let mut shown = knob.report(self.k());
        if !index.spec.storage().quantizer.is_none() {
            Rescoring::DEFAULT.report_into(&mut shown);
        }
        TunedPoint {
            point: OperatingPoint::new(
                &**index,
                shown,
                self.k(),
                m,
                index.build_secs,
                QueryMode::Single,
                1,
                &self.inputs.base.display_name(),
            ),
            phase,
            built_on,
            meets_recall: verdict.met(),
            heldout_recall: None,
        }
    }

    /// Times the candidates `which` of `cands` on the tuning queries, one
    /// run each in turn (A B C A B C …), until every spread is within the
    /// tolerance (after the minimum runs), the runs run out or the budget
    /// does. A candidate whose fastest run is under half the leader's
    /// slowest is left out of later rounds: no spread would save it; one
    /// under a quarter of the leader's fastest, after its first run.
    fn time(&mut self, cands: &mut [Candidate], which: &[usize]) -> Result<()> {
        let policy = self.config.repeat;
        let mut active: Vec<usize> = which.to_vec();
        let ground = self.full();
        for _ in 0..policy.max_runs {
            self.ctx.cancel.check()?;
            self.ctx
                .progress
                .stage(&format!("tune: timing {} finalists", active.len()), 0);
            for &i in &active {
                let c = &mut cands[i];
                let m = measure_for(
                    &*c.index,
                    ground.base,
                    ground.queries,
                    ground.gt,
                    &SearchParams::new(self.config.target.k).with_knob(c.knob),
                    TIMED_RUN_S,
                )?;
                if c.timed {
                    c.m.absorb(m);
                } else {
                    c.m = m;
                    c.timed = true;
                }
            }
            // A candidate several times slower than the leader in a run is
            // out at once: no interference makes a gap of 4× (the flat scan
            // beside a graph, whose every run is one pass of seconds).
            let leader = active.iter().map(|&i| cands[i].m.qps).fold(0.0, f64::max);
            active.retain(|&i| cands[i].m.qps >= HOPELESS_SHARE * leader);
            let runs_done = active
                .iter()
                .map(|&i| cands[i].m.run_qps.len())
                .min()
                .unwrap_or(0);
            if runs_done < policy.min_runs.max(2) {
                continue;
            }
            let leader_lo = active
                .iter()
                .map(|&i| cands[i].qps_lo())
                .fold(0.0, f64::max);
            active.retain(|&i| cands[i].m.qps >= 0.5 * leader_lo);
            let settled = active.iter().all(|&i| {
                cands[i]
                    .m
                    .spreads()
                    .is_some_and(|(q, _)| q.relative_width() <= policy.tolerance)
            });
            if settled || self.elapsed() > self.config.budget_s {
                break;
            }
        }
        Ok(())
    }

    /// For two builds of one M: whether `a` meets the recall target at
    /// more than [`EFC_GAIN`] less search cost per query than `b` (or meets
    /// it where `b` does not, or, neither meeting it, comes closer).
    fn costs_less(&self, a: &Candidate, b: &Candidate) -> bool {
        let cost = |c: &Candidate| {
            c.m.dist_comps
                .map(|dc| self.cost.cost(dc, c.m.hops.unwrap_or(0.0)))
        };
        match (a.verdict.met(), b.verdict.met()) {
            (true, true) => match (cost(a), cost(b)) {
                (Some(ca), Some(cb)) => ca < cb * (1.0 - EFC_GAIN),
                _ => a.m.qps > b.m.qps * (1.0 + EFC_GAIN),
            },
            (true, false) => true,
            (false, true) => false,
            (false, false) => a.verdict.mean > b.verdict.mean,
        }
    }

    /// Whether `a` is better than `b` by more than the timings' noise: it
    /// meets the recall target where `b` does not, or (both meeting it) its
    /// objective is better for every run; with neither meeting it, the
    /// higher recall.
    fn clearly_better(&self, a: &Candidate, b: &Candidate) -> bool {
        match (a.verdict.met(), b.verdict.met()) {
            (true, false) => true,
            (false, true) => false,
            (false, false) => a.verdict.mean > b.verdict.mean,
            (true, true) => match self.config.target.objective {
                Objective::Qps => match (a.m.spreads(), b.m.spreads()) {
                    (Some((qa, _)), Some((qb, _))) => qa.clearly_above(qb),
                    _ => a.m.qps > b.m.qps * 1.1,
                },
                Objective::P99 => match (a.m.spreads(), b.m.spreads()) {
                    (Some((_, pa)), Some((_, pb))) => pb.clearly_above(pa),
                    _ => a.p99() * 1.1 < b.p99(),
                },
                Objective::Memory => a.bytes() < b.bytes(),
            },
        }
    }

    /// The `keep` candidates with the most QPS (the rest are dropped with
    /// their memory).
    fn keep_best(&self, mut cands: Vec<Candidate>, keep: usize) -> Vec<Candidate> {
        cands.sort_by(|a, b| {
            b.verdict
                .met()
                .cmp(&a.verdict.met())
                .then(b.m.qps.total_cmp(&a.m.qps))
        });
        cands.truncate(keep);
        cands
    }

    /// Every (M, efConstruction) at full size, every ef of `efs` measured
    /// on both halves of the queries (the held-out recall is in each point,
    /// for a comparison made afterwards; the choice still reads only the
    /// tuning half). The four fastest builds that meet the target stay.
    fn grid(&mut self, efs: &[usize]) -> Result<Vec<Candidate>> {
        let space = self.config.space.clone();
        let mut efs = efs.to_vec();
        efs.sort_unstable();
        efs.dedup();
        if efs.is_empty() {
            return Err(Error::InvalidParameter(
                "the grid needs at least one ef".into(),
            ));
        }
        let base = self.inputs.base.clone();
        let mut kept = Vec::new();
        for &m in &space.m {
            for &efc in &space.ef_construction {
                if self.elapsed() > self.config.budget_s {
                    self.notes.push(format!(
                        "the {} s budget ran out before M {m} efConstruction {efc}",
                        self.config.budget_s
                    ));
                    return Ok(kept);
                }
                let index = self.build(&self.hnsw(m, efc), &base, Phase::Full)?;
                let mut chosen: Option<(SearchKnob, Measurement, RecallVerdict)> = None;
                for &ef in &efs {
                    let knob = SearchKnob::Ef(ef);
                    let (meas, verdict) = self.probe_both_halves(&index, knob)?;
                    let better_try = chosen.as_ref().is_none_or(|(_, _, v)| {
                        !v.met() && (verdict.met() || verdict.mean > v.mean)
                    });
                    if better_try {
                        chosen = Some((knob, meas, verdict));
                    }
                }
                let (knob, m, verdict) = chosen.expect("at least one ef");
                kept.push(Candidate {
                    index,
                    knob,
                    m,
                    verdict,
                    built_on: base.len(),
                    timed: false,
                });
                kept = self.keep_best(kept, 4);
            }
        }
        Ok(kept)
    }

    /// A probe on the tuning half whose point also carries the held-out
    /// half's recall.
    fn probe_both_halves(
        &mut self,
        index: &BuiltIndex,
        knob: SearchKnob,
    ) -> Result<(Measurement, RecallVerdict)> {
        self.ctx.cancel.check()?;
        let g = self.full();
        let run = |queries: &Vectors, gt: &GroundTruth| {
            measure(
                &**index,
                Some(g.base),
                queries,
                gt,
                &SearchParams::new(self.config.target.k).with_knob(knob),
                QueryMode::Single,
                1,
                1,
                false,
            )
        };
        // Timed for at least TIMED_RUN_S, so that the grid's points can be
        // ranked by their QPS afterwards.
        let m = measure_for(
            &**index,
            g.base,
            g.queries,
            g.gt,
            &SearchParams::new(self.config.target.k).with_knob(knob),
            TIMED_RUN_S,
        )?;
        let held = &self.inputs.split.heldout;
        let h = run(&held.vectors, &held.gt)?;
        let verdict = self
            .config
            .target
            .recall_verdict(&m.per_query_recall, held.len());
        let mut point = self.point(index, knob, &m, Phase::Full, g.base.len(), verdict);
        point.heldout_recall = Some(h.recall);
        (self.on_point)(&point);
        Ok((m, verdict))
    }

    /// Whether a candidate meets every part of the target.
    fn meets_all(&self, c: &Candidate) -> bool {
        let t = &self.config.target;
        c.verdict.met()
            && t.max_p99_us.is_none_or(|max| c.p99() <= max)
            && t.max_ram_bytes.is_none_or(|max| c.bytes() <= max)
            && t.max_build_s.is_none_or(|max| c.index.build_secs <= max)
    }

    /// What keeps `c` from the target, in words (empty when nothing does).
    fn shortfall(&self, c: &Candidate) -> String {
        let t = &self.config.target;
        let mut why = Vec::new();
        if !c.verdict.met() {
            why.push(format!(
                "recall {:.3} < {:.3} needed",
                c.verdict.mean, c.verdict.needed
            ));
        }
        if let Some(max) = t.max_p99_us.filter(|&m| c.p99() > m) {
            why.push(format!("p99 {:.0} µs > {max:.0}", c.p99()));
        }
        if let Some(max) = t.max_ram_bytes.filter(|&m| c.bytes() > m) {
            why.push(format!("{} bytes > {max}", c.bytes()));
        }
        if let Some(max) = t.max_build_s.filter(|&m| c.index.build_secs > m) {
            why.push(format!("build {:.0} s > {max}", c.index.build_secs));
        }
        why.join(", ")
    }

    /// Chooses, checks the choice on the held-out queries, and sums up.
    fn finish(mut self, cands: Vec<Candidate>) -> Result<Summary> {
        let target = self.config.target;
        let eligible: Vec<usize> = (0..cands.len())
            .filter(|&i| self.meets_all(&cands[i]))
            .collect();
        let cheaper = |a: &Candidate, b: &Candidate| {
            (a.bytes(), a.index.build_secs)
                .partial_cmp(&(b.bytes(), b.index.build_secs))
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        let (pick, tied): (usize, Vec<usize>) = if eligible.is_empty() {
            // The closest: the highest tuning recall.
            let i = (0..cands.len())
                .max_by(|&a, &b| cands[a].verdict.mean.total_cmp(&cands[b].verdict.mean))
                .expect("a candidate");
            (i, Vec::new())
        } else {
            let leader = *eligible
                .iter()
                .max_by(|&&a, &&b| match target.objective {
                    Objective::Qps => cands[a].qps().total_cmp(&cands[b].qps()),
                    Objective::P99 => cands[b].p99().total_cmp(&cands[a].p99()),
                    Objective::Memory => cands[b]
                        .bytes()
                        .cmp(&cands[a].bytes())
                        .then(cands[a].qps().total_cmp(&cands[b].qps())),
                })
                .expect("eligible");
            let tied: Vec<usize> = eligible
                .iter()
                .copied()
                .filter(|&i| {
                    target.objective != Objective::Memory
                        && !self.clearly_better(&cands[leader], &cands[i])
                })
                .collect();
            // The timings cannot rank the tied ones, but the leader's median
            // is still the best estimate: a cheaper tie is taken only when
            // its median is within TIE_SHARE of the leader's.
            let near = |i: usize| match target.objective {
                Objective::Qps => cands[i].qps() >= cands[leader].qps() * (1.0 - TIE_SHARE),
                Objective::P99 => cands[i].p99() <= cands[leader].p99() * (1.0 + TIE_SHARE),
                Objective::Memory => true,
            };
            let pick = tied
                .iter()
                .copied()
                .filter(|&i| near(i))
                .min_by(|&a, &b| cheaper(&cands[a], &cands[b]))
                .unwrap_or(leader);
            (pick, tied.into_iter().filter(|&i| i != pick).collect())
        };
        let met = self.meets_all(&cands[pick]);

        // The held-out half.
        let c = &cands[pick];
        let held = &self.inputs.split.heldout;
        let h = measure(
            &*c.index,
            Some(&self.inputs.base),
            &held.vectors,
            &held.gt,
            &self.params(c.knob),
            QueryMode::Single,
            1,
            1,
            false,
        )?;
        let (heldout_recall, heldout_interval) = mean_interval(&h.per_query_recall);
        let mut hp = self.point(&c.index, c.knob, &h, Phase::Heldout, c.built_on, c.verdict);
        hp.heldout_recall = Some(heldout_recall);
        (self.on_point)(&hp);

        let reason = self.reason(&cands, pick, &tied, met);
        let spreads = c.m.spreads();
        let other_cpu = cands
            .iter()
            .filter_map(|c| c.m.cpu)
            .reduce(|a, b| a.plus(b))
            .map(|w| (w.other_cores() * 1000.0).round() / 1000.0);
        if let Some(cores) = other_cpu.filter(|&c| c > 0.25) {
            self.notes.push(format!(
                "the machine was busy: other processes used {cores:.2} cores while the finalists were timed"
            ));
        }
        let pick = Pick {
            index: c.index.kind().name().to_string(),
            label: c.label(),
            params: bench_params(&c.index.spec, c.knob),
            met,
            tuning_recall: c.verdict.mean,
            heldout_recall,
            heldout_interval,
            qps: c.qps(),
            qps_spread: spreads.map(|s| s.0),
            p99_us: c.p99(),
            p99_spread: spreads.map(|s| s.1),
            index_bytes: c.bytes(),
            build_s: c.index.build_secs,
            reason,
            spec: c.index.spec.clone(),
            knob: c.knob,
        };
        Ok(Summary {
            pick,
            builds: self.builds,
            sample_builds: self.sample_builds,
            seconds: self.elapsed(),
            strategy: match self.config.strategy {
                Strategy::Screen => "screen",
                Strategy::Grid { .. } => "grid",
            },
            target,
            tuning_queries: self.inputs.split.tuning.len(),
            heldout_queries: held.len(),
            tied_with: tied.iter().map(|&i| cands[i].label()).collect(),
            other_cpu_cores: other_cpu,
            notes: self.notes,
            cost_model: (self.cost.fitted_on > 0).then_some(self.cost),
            engine: None,
        })
    }

    /// Why the pick, against each other finalist, in a few words each.
    fn reason(&self, cands: &[Candidate], pick: usize, tied: &[usize], met: bool) -> String {
        let t = &self.config.target;
        let c = &cands[pick];
        let qps_words = |c: &Candidate| match c.m.spreads() {
            Some((q, _)) => format!(
                "{:.0} QPS (median of {} runs, {:.0}–{:.0})",
                q.median,
                c.m.run_qps.len(),
                q.lo,
                q.hi
            ),
            None => format!("{:.0} QPS", c.qps()),
        };
        let mut out = if met {
            format!(
                "{}: {}, recall@{} {:.3} on the tuning queries (≥ {:.3} needed for {} with {:.0}% confidence)",
                c.label(),
                qps_words(c),
                t.k,
                c.verdict.mean,
                c.verdict.needed,
                t.recall,
                t.confidence * 100.0
            )
        } else {
            format!(
                "nothing measured meets the target; the closest is {}: {}",
                c.label(),
                self.shortfall(c)
            )
        };
        for (i, o) in cands.iter().enumerate().filter(|&(i, _)| i != pick) {
            let words = if !self.meets_all(o) {
                self.shortfall(o)
            } else if tied.contains(&i) {
                format!(
                    "{} (as good within the noise; takes {:.1} MB more or builds slower)",
                    qps_words(o),
                    (o.bytes() as f64 - c.bytes() as f64) / 1e6
                )
            } else {
                match t.objective {
                    Objective::Memory => {
                        format!("{:.1} MB more", (o.bytes() as f64 - c.bytes() as f64) / 1e6)
                    }
                    Objective::P99 => format!("p99 {:.0} µs", o.p99()),
                    Objective::Qps => format!("slower, {}", qps_words(o)),
                }
            };
            out.push_str(&format!("; {}: {words}", o.label()));
        }
        out
    }
}

/// The least value in `lo..=hi` whose `probe` says it meets the target,
/// by bisection on a geometric scale to [`BISECT_PRECISION`] (recall grows
/// with ef and search_probe), the first probe inside the range at `hint`
/// when given. Returns that value and its probe's outcome; when even `hi`
/// does not meet, `hi` and its outcome.
pub(super) fn least_meeting<T>(
    lo: usize,
    hi: usize,
    hint: Option<usize>,
    mut probe: impl FnMut(usize) -> Result<(bool, T)>,
) -> Result<(usize, T)> {
    let (met, mut top) = probe(hi)?;
    if !met || lo >= hi {
        return Ok((hi, top));
    }
    // Invariant: `ok` meets the target; `fail` does not (lo − 1 stands for
    // "below the range").
    let (mut fail, mut ok) = (lo.max(1) - 1, hi);
    let mut first = hint.filter(|&h| h > fail && h < hi);
    while ok - fail > 1 && (ok - fail) as f64 > ok as f64 * BISECT_PRECISION {
        let mid = first.take().unwrap_or_else(|| {
            let g = ((fail.max(1) as f64) * ok as f64).sqrt().round() as usize;
            g.clamp(fail + 1, ok - 1)
        });
        let (met, got) = probe(mid)?;
        if met {
            ok = mid;
            top = got;
        } else {
            fail = mid;
        }
    }
    Ok((ok, top))
}

/// The pick's parameters as `bench` flags (snake_case for --kebab-case):
/// the build's settings and the search setting, nothing `bench` would not
/// take.
pub fn bench_params(spec: &IndexSpec, knob: SearchKnob) -> ParamMap {
    let mut p = ParamMap::new();
    let storage = spec.storage();
    match spec {
        IndexSpec::Hnsw(h) => {
            p.insert("m".into(), h.m.into());
            p.insert("ef_construction".into(), h.ef_construction.into());
            p.insert("seed".into(), h.seed.into());
            p.insert("build_precision".into(), storage.build.name().into());
            p.insert("search_precision".into(), storage.search.name().into());
        }
        IndexSpec::HFresh(h) => {
            p.insert("max_posting_size".into(), h.max_posting_size.into());
            p.insert("replicas".into(), h.replicas.into());
            // As the f32 prints (0.05), not its f64 widening (0.0500000007…).
            let shown = |v: f32| v.to_string().parse::<f64>().unwrap_or(f64::from(v));
            p.insert("epsilon".into(), shown(h.epsilon).into());
            if let Some(q) = h.query_epsilon {
                p.insert("query_epsilon".into(), shown(q).into());
            }
            p.insert("posting_precision".into(), storage.search.name().into());
            p.insert("seed".into(), h.seed.into());
        }
        IndexSpec::FlatCodes(c) => {
            p.insert("seed".into(), c.seed.into());
        }
        _ => {}
    }
    if !storage.quantizer.is_none() {
        p.insert("quantizer".into(), storage.quantizer.to_string().into());
        Rescoring::DEFAULT.report_into(&mut p);
    }
    if storage.vectors != crate::index::VectorPlace::Ram {
        p.insert("vectors".into(), storage.vectors.name().into());
    }
    if storage.vector_cache > 0 {
        p.insert("vector_cache".into(), storage.vector_cache.into());
    }
    match knob {
        SearchKnob::Ef(e) => {
            p.insert("ef".into(), e.into());
        }
        SearchKnob::Probe(s) => {
            p.insert("search_probe".into(), s.into());
        }
        SearchKnob::DynamicEf(_) => {
            p.insert("ef".into(), (-1).into());
        }
        SearchKnob::Default => {}
    }
    p
}
