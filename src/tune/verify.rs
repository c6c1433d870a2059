//! The pick checked on the engine it will run in.
//!
//! Why: the tuner measures annscope's HNSW, and graphs differ between
//! engines (neighbour heuristics, layer-0 degree, build order), so the same
//! m, ef_construction and ef give another recall in pgvector or Qdrant. The
//! build settings carry over as they are; the search setting is then
//! found again on the engine's own index, by the same rule as the tuner's
//! (the least ef whose tuning-half recall clears the target's margin,
//! found by bisection), and reported on the held-out half, beside what
//! annscope measured. An engine's search setting is cheap to move; its
//! build is not, so only one build is made there.

use serde::Serialize;

use super::search::least_meeting;
use super::{
    export, mean_interval, Export, ExportContext, ExportFormat, Phase, Pick, QuerySplit,
    RecallVerdict, Target, TunedPoint,
};
use crate::dataset::{Dataset, Vectors};
use crate::error::{Error, Result};
use crate::eval::{
    measure, measure_for, GroundTruth, Measurement, OperatingPoint, QueryMode, RunOptions,
};
use crate::index::{AnnIndex, ParamMap, SearchKnob, SearchParams};
use crate::progress::WorkContext;

/// Each timed run of the engine's setting lasts at least this long.
const TIMED_RUN_S: f64 = 0.5;
/// Timed runs of the engine's setting (their median is reported).
const TIMED_RUNS: usize = 3;

/// The pick as the engine measured it.
#[derive(Clone, Debug, Serialize)]
pub struct EngineCheck {
    /// The engine and its version, e.g. "pgvector 0.8.0".
    pub engine: String,
    /// The engine's own build settings and search setting, under its names.
    pub params: ParamMap,
    /// The ef annscope's HNSW needed; `ef` the engine's.
    pub annscope_ef: usize,
    pub ef: usize,
    /// Whether the engine's recall clears the target's margin on the
    /// tuning half at `ef` (false: not even at the engine's largest ef).
    pub met: bool,
    pub tuning_recall: f64,
    pub heldout_recall: f64,
    pub heldout_interval: [f64; 2],
    /// The engine's single-client QPS and p99 at `ef` (median of the
    /// timed runs), the wire included.
    pub qps: f64,
    pub p99_us: f64,
    pub build_s: f64,
    pub index_bytes: u64,
    /// The export format of this engine: its export carries the engine's
    /// ef ([`export_checked`]).
    #[serde(skip)]
    pub export_as: Option<ExportFormat>,
}

/// What a check is measured against.
pub struct CheckInputs<'a> {
    pub base: &'a Dataset,
    pub split: &'a QuerySplit,
    pub target: &'a Target,
    /// The engine's name for reports.
    pub engine: String,
    /// The ef annscope picked: the bisection's first probe.
    pub annscope_ef: usize,
    /// The engine's range of ef.
    pub ef_range: (usize, usize),
    /// The export format of this engine.
    pub export_as: Option<ExportFormat>,
}

/// The range of ef a check searches on an engine whose ef goes up to
/// `engine_max`: from k (pgvector returns at most ef_search rows) to what
/// the tuner itself could pick, or four times annscope's ef when larger.
pub fn engine_ef_range(
    k: usize,
    annscope_ef: usize,
    tuner_ef_max: usize,
    engine_max: usize,
) -> (usize, usize) {
    (
        k.min(engine_max),
        engine_max.min(tuner_ef_max.max(annscope_ef.saturating_mul(4))),
    )
}

/// Finds the least ef that meets the target on `index` (an engine's
/// index built with the pick's settings), measures it on the held-out
/// queries and times it; every point goes to `on_point` as it is measured
/// (phase `engine`).
pub fn check_on_engine(
    index: &dyn AnnIndex,
    build_s: f64,
    index_bytes: u64,
    inputs: &CheckInputs,
    ctx: &WorkContext,
    on_point: &mut dyn FnMut(&TunedPoint),
) -> Result<EngineCheck> {
    let k = inputs.target.k;
    let (lo, hi) = inputs.ef_range;
    if lo == 0 || lo > hi {
        return Err(Error::InvalidParameter(format!(
            "the engine's ef range {lo}..{hi} is empty"
        )));
    }
    let dataset = inputs.base.display_name();
    let heldout_n = inputs.split.heldout.len();
    let point = |m: &Measurement, knob: SearchKnob, verdict: RecallVerdict| TunedPoint {
        point: OperatingPoint::new(
            index,
            knob.report_on(index, k),
            k,
            m,
            build_s,
            QueryMode::Single,
            1,
            &dataset,
        ),
        phase: Phase::Engine,
        built_on: inputs.base.len(),
        meets_recall: verdict.met(),
        heldout_recall: None,
    };
    let run = |queries: &Vectors, gt: &GroundTruth, knob: SearchKnob| {
        ctx.cancel.check()?;
        measure(
            index,
            Some(inputs.base),
            queries,
            gt,
            &SearchParams::new(k).with_knob(knob),
            RunOptions::ONE_PASS,
        )
    };
    let tuning = &inputs.split.tuning;
    ctx.progress.stage(&format!("{}: ef", inputs.engine), 0);
    let (ef, (m, verdict)) = least_meeting(lo, hi, Some(inputs.annscope_ef.clamp(lo, hi)), |ef| {
        let knob = SearchKnob::Ef(ef);
        let m = run(&tuning.vectors, &tuning.gt, knob)?;
        let verdict = inputs.target.recall_verdict(&m.per_query_recall, heldout_n);
        on_point(&point(&m, knob, verdict));
        Ok((verdict.met(), (m, verdict)))
    })?;
    let knob = SearchKnob::Ef(ef);

    // Timed: the median of a few runs of at least half a second each.
    ctx.progress.stage(&format!("{}: timing", inputs.engine), 0);
    let mut timed: Option<Measurement> = None;
    for _ in 0..TIMED_RUNS {
        ctx.cancel.check()?;
        let t = measure_for(
            index,
            inputs.base,
            &tuning.vectors,
            &tuning.gt,
            &SearchParams::new(k).with_knob(knob),
            TIMED_RUN_S,
        )?;
        match &mut timed {
            Some(all) => all.absorb(t),
            None => timed = Some(t),
        }
    }
    let timed = timed.unwrap_or(m);
    let (qps, p99_us) = timed
        .spreads()
        .map_or((timed.qps, timed.latency.p99_us), |(q, p)| {
            (q.median, p.median)
        });

    let held = &inputs.split.heldout;
    let h = run(&held.vectors, &held.gt, knob)?;
    let (heldout_recall, heldout_interval) = mean_interval(&h.per_query_recall);
    let mut hp = point(&h, knob, verdict);
    hp.heldout_recall = Some(heldout_recall);
    on_point(&hp);

    Ok(EngineCheck {
        engine: inputs.engine.clone(),
        params: {
            let mut p = index.params();
            p.extend(knob.report_on(index, k));
            p.remove("ef_effective");
            p
        },
        annscope_ef: inputs.annscope_ef,
        ef,
        met: verdict.met(),
        tuning_recall: verdict.mean,
        heldout_recall,
        heldout_interval,
        qps,
        p99_us,
        build_s,
        index_bytes,
        export_as: inputs.export_as,
    })
}

/// The pick exported in `format`; for the engine it was checked on
/// (`check`), with that engine's own ef and held-out recall, and a note
/// saying so in place of "verify it there".
pub fn export_checked(
    format: ExportFormat,
    pick: &Pick,
    cx: &ExportContext,
    check: Option<&EngineCheck>,
) -> Result<Export> {
    let checked = check.filter(|c| c.export_as == Some(format));
    let Some(c) = checked else {
        return export(format, &pick.spec, pick.knob, &pick.params, cx);
    };
    let cx = ExportContext {
        recall: c.heldout_recall,
        ..*cx
    };
    let mut e = export(format, &pick.spec, SearchKnob::Ef(c.ef), &pick.params, &cx)?;
    e.notes.retain(|n| !n.contains("Graphs differ"));
    e.notes.push(format!(
        "checked on {} itself: ef {} reaches recall@{} {:.3} on the held-out queries [{:.3}, {:.3}] (annscope's HNSW needed ef {})",
        c.engine, c.ef, cx.k, c.heldout_recall, c.heldout_interval[0], c.heldout_interval[1], c.annscope_ef
    ));
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;
    use crate::index::{BuiltIndex, DataSource, HnswParams, IndexSpec};
    use crate::testutil::random_dataset;
    use std::sync::Arc;

    fn setup(m: usize, efc: usize) -> (Arc<Dataset>, QuerySplit, BuiltIndex) {
        let ctx = WorkContext::detached();
        let base = Arc::new(random_dataset(3000, 12, Metric::L2, 1));
        let queries = random_dataset(200, 12, Metric::L2, 2);
        let gt = GroundTruth::compute(&base, queries.vectors(), 10, &ctx).unwrap();
        let split = QuerySplit::halves(queries.vectors(), &gt, 7).unwrap();
        let spec = IndexSpec::Hnsw(HnswParams {
            m,
            ef_construction: efc,
            ..HnswParams::default()
        });
        let index = spec.build(DataSource::from(base.clone()), &ctx).unwrap();
        (base, split, index)
    }

    /// annscope's own HNSW stands in for an engine: the check must find
    /// the least ef that meets the target there and say what it measured.
    #[test]
    fn the_check_finds_the_engines_least_ef_and_reports_the_held_out_half() {
        let (base, split, index) = setup(4, 32);
        let target = Target::recall(10, 0.9);
        let inputs = CheckInputs {
            base: &base,
            split: &split,
            target: &target,
            engine: "stand-in".into(),
            annscope_ef: 200,
            ef_range: (1, 400),
            export_as: None,
        };
        let mut points = Vec::new();
        let check = check_on_engine(
            &*index,
            1.5,
            1234,
            &inputs,
            &WorkContext::detached(),
            &mut |p| points.push(p.clone()),
        )
        .unwrap();
        assert!(check.met, "{check:?}");
        assert!(
            check.ef < 200,
            "bisected down from annscope's ef: {check:?}"
        );
        // The least: every probe below it misses the margin, and one of
        // them is within the bisection's precision of it.
        let ef_of = |p: &TunedPoint| p.point.params["ef"].as_u64().unwrap() as usize;
        let below: Vec<&TunedPoint> = points
            .iter()
            .filter(|p| p.heldout_recall.is_none() && ef_of(p) < check.ef)
            .collect();
        assert!(below.iter().all(|p| !p.meets_recall), "{check:?}");
        assert!(
            below
                .iter()
                .any(|p| ef_of(p) as f64 >= (check.ef as f64 * 0.96).floor() - 1.0),
            "a probe just below ef {}: {:?}",
            check.ef,
            below.iter().map(|p| ef_of(p)).collect::<Vec<_>>()
        );
        assert!(check.tuning_recall >= 0.9);
        let [lo, hi] = check.heldout_interval;
        assert!(lo <= check.heldout_recall && check.heldout_recall <= hi);
        assert_eq!(
            points.last().unwrap().heldout_recall,
            Some(check.heldout_recall)
        );
        assert!(points.iter().all(|p| p.phase == Phase::Engine));
        assert_eq!(check.params["ef"].as_u64(), Some(check.ef as u64));
        assert!(check.qps > 0.0 && check.p99_us > 0.0);
        assert_eq!((check.build_s, check.index_bytes), (1.5, 1234));
    }

    #[test]
    fn an_engine_that_never_meets_the_target_says_so_at_its_largest_ef() {
        let (base, split, index) = setup(2, 4);
        let target = Target::recall(10, 1.0);
        let inputs = CheckInputs {
            base: &base,
            split: &split,
            target: &target,
            engine: "stand-in".into(),
            annscope_ef: 10,
            ef_range: (1, 12),
            export_as: None,
        };
        let check = check_on_engine(
            &*index,
            0.0,
            0,
            &inputs,
            &WorkContext::detached(),
            &mut |_| {},
        )
        .unwrap();
        assert!(!check.met);
        assert_eq!(check.ef, 12);
    }
}
