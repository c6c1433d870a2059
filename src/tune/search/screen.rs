//! The screening strategy: every M built on a sample and ranked by what a
//! search costs at the target (distance computations and hops, weighed by
//! [`CostModel`]), then full-size builds of the best M with efConstruction
//! raised while it pays, and the runner-up M.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use super::{Candidate, Ground, Search};
use crate::error::Result;
use crate::eval::GroundTruth;
use crate::job::with_threads;
use crate::tune::cost::CostModel;
use crate::tune::Phase;

/// Screening builds on at least this many vectors (or the whole base).
const SAMPLE_MIN: usize = 10_000;
/// ... and on this share of the base.
const SAMPLE_SHARE: usize = 8;
/// A larger efConstruction is worth its build only when it saves more
/// than this share of a search's cost (distance computations and hops,
/// [`CostModel`]) at the target.
const EFC_GAIN: f64 = 0.05;

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

impl Search<'_> {
    /// Screening on a sample, then full-size builds the screening points to.
    pub(super) fn screen_then_confirm(&mut self) -> Result<Vec<Candidate>> {
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
            match self.cost.unfitted {
                None => format!(
                    "a hop's weight fitted on the screening's {} timed passes",
                    self.cost.fitted_on
                ),
                Some(why) => format!(
                    "{why}, over {} timed passes: computations only",
                    self.cost.passes
                ),
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
}
