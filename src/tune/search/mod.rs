//! The search the tuner runs (the method and why are in the module above):
//! builds and the ef bisection here; the strategies that choose what to
//! build in [`screen`] and [`grid`]; the finalists' interleaved timing in
//! [`timing`]; the pick rule itself in `super::pick`.

mod grid;
mod screen;
mod timing;

use std::sync::Arc;
use std::time::Instant;

use super::cost::{CostModel, CostSample};
use super::pick;
use super::{
    mean_interval, Phase, Pick, RecallVerdict, Strategy, Summary, TuneConfig, TuneInputs,
    TunedPoint,
};
use crate::dataset::{Dataset, Vectors};
use crate::error::{Error, Result};
use crate::eval::{measure, GroundTruth, Measurement, OperatingPoint, QueryMode, RunOptions};
use crate::index::family;
use crate::index::family::Tuning;
use crate::index::{
    BuiltIndex, DataSource, HnswParams, IndexKind, IndexSpec, KnobKind, Rescoring, SearchKnob,
    SearchParams,
};
use crate::job::with_threads;
use crate::progress::WorkContext;

/// A bisection stops once its bounds are this close (relative): an ef
/// within 3% of the least that meets the target costs at most ~3% QPS.
const BISECT_PRECISION: f64 = 0.03;
/// A timed run passes the queries through again and again for at least
/// this long.
const TIMED_RUN_S: f64 = 0.25;
/// Passes over the queries per screening probe, whose fastest the cost
/// model is fitted on.
const COST_PASSES: usize = 3;
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
    /// What the pick rule reads of it (memory measured here, once).
    fn figures(&self) -> pick::Figures {
        pick::Figures {
            verdict: self.verdict,
            qps: self.qps(),
            p99_us: self.p99(),
            spreads: self.m.spreads(),
            runs: self.m.run_qps.len(),
            bytes: self.index.memory().ram_bytes,
            build_s: self.index.build_secs,
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
        let space = &self.config.space;
        let tuning = |k: IndexKind| family(k).map_or(Tuning::None, |f| f.tuning());
        // The graph's builds first (the strategy spends the budget on
        // them), then each pinned build in the order given.
        if space.kinds.iter().any(|&k| tuning(k) == Tuning::Graph) {
            finalists.extend(match &self.config.strategy {
                Strategy::Screen => self.screen_then_confirm()?,
                Strategy::Grid { efs } => self.grid(&efs.clone())?,
            });
        }
        let pinned: Vec<IndexSpec> = space
            .kinds
            .iter()
            .filter(|&&k| tuning(k) == Tuning::Knob)
            .map(|&k| space.pinned(k))
            .collect();
        for spec in pinned {
            finalists.push(self.full_candidate(&spec, None)?);
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
            RunOptions::ONE_PASS.passes(runs),
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

    /// Chooses, checks the choice on the held-out queries, and sums up.
    fn finish(mut self, cands: Vec<Candidate>) -> Result<Summary> {
        let target = self.config.target;
        let figures: Vec<pick::Figures> = cands.iter().map(Candidate::figures).collect();
        let choice = pick::choose(&figures, &target).expect("a candidate");
        let (pick, met) = (choice.pick, choice.met);

        // The held-out half.
        let c = &cands[pick];
        let held = &self.inputs.split.heldout;
        let h = measure(
            &*c.index,
            Some(&self.inputs.base),
            &held.vectors,
            &held.gt,
            &self.params(c.knob),
            RunOptions::ONE_PASS,
        )?;
        let (heldout_recall, heldout_interval) = mean_interval(&h.per_query_recall);
        let mut hp = self.point(&c.index, c.knob, &h, Phase::Heldout, c.built_on, c.verdict);
        hp.heldout_recall = Some(heldout_recall);
        (self.on_point)(&hp);

        let labels: Vec<String> = cands.iter().map(Candidate::label).collect();
        let reason = pick::reason(&figures, &labels, &choice, &target);
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
        // The pick as the index really runs (a CPU without AVX-512 walks f32
        // where f16 was asked), so it replays, and is found among the
        // measured points, as measured.
        let spec = c.index.ran_as();
        let pick = Pick {
            label: c.label(),
            params: crate::index::bench_flags(&spec, c.knob),
            met,
            tuning_recall: c.verdict.mean,
            heldout_recall,
            heldout_interval,
            qps: c.qps(),
            qps_spread: spreads.map(|s| s.0),
            p99_us: c.p99(),
            p99_spread: spreads.map(|s| s.1),
            index_bytes: figures[pick].bytes,
            build_s: c.index.build_secs,
            reason,
            spec,
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
            tied_with: choice.tied.iter().map(|&i| labels[i].clone()).collect(),
            other_cpu_cores: other_cpu,
            notes: self.notes,
            cost_model: (self.cost.passes > 0 || self.cost.unfitted.is_some()).then_some(self.cost),
            engine: None,
        })
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
