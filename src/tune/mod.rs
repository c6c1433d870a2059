//! The tuner: from a target in the user's words (recall@k ≥ R on queries it
//! has not seen; optionally p99 latency, RAM and build-time ceilings; the
//! most QPS, the lowest p99 or the least memory among what meets them) to
//! the configuration that meets it at the lowest cost, with the figures to
//! believe it by.
//!
//! How it spends its builds ([`Strategy::Screen`], the default):
//! 1. **Screen M on a sample.** Every M of the space is built on a seeded
//!    eighth of the base (at least 10,000 vectors) at the middle
//!    efConstruction and compared by what a search costs at the target
//!    there: distance computations plus hops, each hop weighted by what it
//!    costs on this machine, fitted over all the screening's passes at once
//!    ([`cost::CostModel`]): counts, not one timing, so screening cannot
//!    pick noise, and yet a hop's real price is in them.
//! 2. **Confirm at full size.** efConstruction is not screened on the
//!    sample (a bigger graph needs a better build, so the sample says too
//!    little about it): the best M is built on the whole base at the middle
//!    efConstruction, then one step up at a time while a step saves more
//!    than 5% of that cost at the target; the runner-up M
//!    once, at the efConstruction that won. Each build's ef is found by
//!    bisection (recall grows with ef), so no ef grid is walked. A build
//!    predicted (from the sample's build times, then from the first full
//!    build's) not to fit in the budget or under a build-time ceiling is
//!    not started.
//! 3. **Time the finalists together.** Each timed run passes the tuning
//!    queries through for at least a quarter second; runs are interleaved
//!    (A B C A B C …) until each finalist's median is pinned within 5% or
//!    the runs run out. A setting wins only when its median's interval
//!    ([`Spread`]) lies wholly above the other's; among settings the
//!    timings cannot tell apart, the best median is the pick unless a
//!    cheaper one (less memory, then the quicker build) is within 2% of it.
//! 4. **Report on held-out queries.** The queries are split in two (seeded):
//!    every choice above is made on the tuning half with a recall margin
//!    ([`Target::recall_verdict`]); the pick's recall is then measured on
//!    the held-out half, with an interval.
//!
//! [`Strategy::Grid`] builds every (M, efConstruction) at full size and
//! measures every ef of a list on both halves: the exhaustive baseline the
//! screening is measured against (README).
//!
//! The engine never imports the GUI: the app runs [`tune`] as a background
//! job, with progress and cancel from its [`WorkContext`].

pub mod cost;
pub mod export;
mod pick;
mod search;
pub mod split;
pub mod target;
pub mod verify;

use std::sync::Arc;

use serde::Serialize;

pub use export::{export, Export, ExportContext, ExportFormat};
pub use split::{QuerySet, QuerySplit};
pub use target::{mean_interval, normal_quantile, Objective, RecallVerdict, Target};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::eval::{OperatingPoint, Spread};
use crate::index::family::Tuning;
use crate::index::param_spec as spec;
use crate::index::{family, IndexKind, IndexSpec, ParamMap, Storage};
use crate::progress::WorkContext;
use std::collections::BTreeMap;

/// Where the tuner may look; a one-value list pins a parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// Index kinds to consider: flat, hnsw, hfresh.
    pub kinds: Vec<IndexKind>,
    /// HNSW links per node.
    pub m: Vec<usize>,
    pub ef_construction: Vec<usize>,
    /// The largest ef (or search_probe) a bisection may reach.
    pub ef_max: usize,
    /// How an HNSW build stores and walks its vectors (pinned).
    pub storage: Storage,
    /// The builds of kinds whose build the tuner does not vary (their knob
    /// is tuned): each family's default with the space's seed unless set.
    pub pinned: BTreeMap<IndexKind, IndexSpec>,
    /// Seed of the builds.
    pub seed: u64,
}

impl Space {
    /// The parameter specs' sweep values for M and efConstruction, ef up to
    /// the usual top of the ef range, default storage.
    pub fn default_for(kinds: Vec<IndexKind>, seed: u64) -> Space {
        Space {
            kinds,
            m: spec::M.sweep.to_vec(),
            ef_construction: spec::EF_CONSTRUCTION.sweep.to_vec(),
            ef_max: spec::EF.usual.1,
            storage: crate::index::HnswParams::default().storage,
            pinned: BTreeMap::new(),
            seed,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if self.kinds.is_empty() {
            return bad("nothing to tune: no index kind".into());
        }
        if let Some(k) = self
            .kinds
            .iter()
            .find(|&&k| family(k).is_none_or(|f| f.tuning() == Tuning::None))
        {
            let searched: Vec<&str> = IndexKind::ALL
                .iter()
                .filter(|&&k| family(k).is_some_and(|f| f.tuning() != Tuning::None))
                .map(|k| k.name())
                .collect();
            return bad(format!(
                "the tuner does not search {} indexes yet ({})",
                k.name(),
                searched.join(", ")
            ));
        }
        if self.kinds.contains(&IndexKind::Hnsw)
            && (self.m.is_empty() || self.ef_construction.is_empty())
        {
            return bad("an HNSW search needs at least one M and one efConstruction".into());
        }
        for &m in &self.m {
            spec::M.check(m)?;
        }
        for &e in &self.ef_construction {
            spec::EF_CONSTRUCTION.check(e)?;
        }
        spec::EF.check(self.ef_max)?;
        self.storage.check_quantized()?;
        for &kind in &self.kinds {
            self.pinned(kind).validate()?;
        }
        Ok(())
    }

    /// The build of a kind whose build is pinned.
    pub fn pinned(&self, kind: IndexKind) -> IndexSpec {
        self.pinned.get(&kind).cloned().unwrap_or_else(|| {
            let mut spec = family(kind).map_or(IndexSpec::Flat, |f| f.default_spec());
            spec.set_seed(self.seed);
            spec
        })
    }
}

/// How the tuner spends its builds.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Screen on a sample, confirm at full size, time the finalists.
    Screen,
    /// Every (M, efConstruction) at full size, every ef of the list.
    Grid { efs: Vec<usize> },
}

/// How often a finalist's timing is repeated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepeatPolicy {
    pub min_runs: usize,
    pub max_runs: usize,
    /// Stop once every finalist's spread is within this share of its best.
    pub tolerance: f64,
}

impl Default for RepeatPolicy {
    fn default() -> Self {
        RepeatPolicy {
            min_runs: 3,
            max_runs: 9,
            tolerance: 0.05,
        }
    }
}

/// Everything a tuning run is told.
#[derive(Clone, Debug)]
pub struct TuneConfig {
    pub target: Target,
    pub space: Space,
    pub strategy: Strategy,
    /// Wall seconds the search may take; no new build starts that would
    /// not finish within it.
    pub budget_s: f64,
    /// Threads for builds (None: every core); searches run on one thread.
    pub build_threads: Option<usize>,
    pub repeat: RepeatPolicy,
}

/// The data a tuning run works on.
pub struct TuneInputs {
    pub base: Arc<Dataset>,
    pub split: QuerySplit,
}

/// Which part of the search a point comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// An index built on a sample of the base.
    Sample,
    /// An index built on the whole base.
    Full,
    /// The pick, measured on the held-out queries.
    Heldout,
    /// The pick's build on an engine (`tune --engine`): its ef found
    /// again there, then the held-out queries.
    Engine,
}

/// One measured point, as `tune` prints it: a bench line plus where it
/// comes from.
#[derive(Clone, Debug, Serialize)]
pub struct TunedPoint {
    #[serde(flatten)]
    pub point: OperatingPoint,
    pub phase: Phase,
    /// Base vectors the index was built on.
    pub built_on: usize,
    /// Whether the tuning queries' recall clears the target's margin.
    pub meets_recall: bool,
    /// The grid's points carry the held-out half's recall too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heldout_recall: Option<f64>,
}

fn kind_name<S: serde::Serializer>(
    spec: &crate::index::IndexSpec,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(spec.kind().name())
}

/// The configuration chosen, in `bench`'s words: every key of `params` is
/// a `bench` flag (snake_case for --kebab-case).
#[derive(Clone, Debug, Serialize)]
pub struct Pick {
    /// The pick, typed; in JSON its kind's name (`index`: the value `bench
    /// --index` takes).
    #[serde(rename = "index", serialize_with = "kind_name")]
    pub spec: crate::index::IndexSpec,
    pub label: String,
    pub params: ParamMap,
    /// Whether it meets every part of the target.
    pub met: bool,
    pub tuning_recall: f64,
    pub heldout_recall: f64,
    pub heldout_interval: [f64; 2],
    pub qps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qps_spread: Option<Spread>,
    pub p99_us: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_spread: Option<Spread>,
    pub index_bytes: u64,
    pub build_s: f64,
    /// Why this one, in a sentence or two.
    pub reason: String,
    #[serde(skip)]
    pub knob: crate::index::SearchKnob,
}

/// The tuner's last line.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub pick: Pick,
    /// Full-size builds, and builds on the sample.
    pub builds: usize,
    pub sample_builds: usize,
    pub seconds: f64,
    pub strategy: &'static str,
    pub target: Target,
    pub tuning_queries: usize,
    pub heldout_queries: usize,
    /// Finalists the timings could not tell apart from the pick.
    pub tied_with: Vec<String>,
    /// Other processes' mean CPU use while finalists were timed, in cores;
    /// above a quarter of a core the machine was busy and timings suffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_cpu_cores: Option<f64>,
    /// What was skipped and why (budget, limits).
    pub notes: Vec<String>,
    /// How the screening weighed a graph hop against a distance
    /// computation, or why it could not (absent when nothing was screened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_model: Option<cost::CostModel>,
    /// The pick checked on an engine (`tune --engine`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<verify::EngineCheck>,
}

/// Runs the tuner, handing every measured point to `on_point` as it comes.
pub fn tune(
    inputs: &TuneInputs,
    config: &TuneConfig,
    ctx: &WorkContext,
    on_point: &mut dyn FnMut(&TunedPoint),
) -> Result<Summary> {
    config.target.validate()?;
    config.space.validate()?;
    if config.budget_s.is_nan() || config.budget_s <= 0.0 {
        return Err(Error::InvalidParameter(format!(
            "budget {} s must be above 0",
            config.budget_s
        )));
    }
    if config.target.k > inputs.base.len() {
        return Err(Error::InvalidParameter(format!(
            "k = {} asks for more neighbours than the base holds ({})",
            config.target.k,
            inputs.base.len()
        )));
    }
    if config.target.k > inputs.split.tuning.gt.k() {
        return Err(Error::Mismatch(format!(
            "k = {} is deeper than the ground truth ({} neighbours per query)",
            config.target.k,
            inputs.split.tuning.gt.k()
        )));
    }
    search::Search::new(inputs, config, ctx, on_point).run()
}

#[cfg(test)]
mod tests;
