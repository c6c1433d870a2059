//! The Tune panel: a recall target in, the engine's tuner run in the
//! background (progress, cancel), its measured points filling the
//! recall–QPS chart as they come, then the pick with the tuner's reason,
//! Apply (the sliders move to the pick and it is built), Check on pgvector
//! (the data loaded into a table of its own on the pgvector section's
//! server, the pick's build made there and pgvector's own ef found; the
//! table is dropped after) and Copy per export format.

use std::sync::{Arc, Mutex};

use super::{Session, Settings};
use crate::engine::pgvector::{sql::ColumnType, PgCollection};
use crate::engine::EngineIndexSpec;
use crate::index::param_spec::PG_EF_SEARCH;
use crate::index::{family, IndexKind, IndexSpec, SearchKnob, Storage};
use crate::job::{take_finished, Job};
use crate::tune::verify::{
    check_on_engine, engine_ef_range, export_checked, CheckInputs, EngineCheck,
};
use crate::tune::{
    ExportContext, ExportFormat, Objective, Phase, QuerySplit, RepeatPolicy, Space, Strategy,
    Summary, Target, TuneConfig, TuneInputs, TunedPoint,
};

/// Seconds the app's tuner may take (its CLI default is longer: the app's
/// user is watching).
const APP_BUDGET_S: f64 = 120.0;

/// One run of the tuner on the loaded data.
pub struct TuneRun {
    pub job: Option<Job<Summary>>,
    /// Points as the tuner measures them (filled from its thread).
    pub points: Arc<Mutex<Vec<TunedPoint>>>,
    pub summary: Option<Summary>,
    /// The text last copied, and its notes (shown under the buttons).
    pub copied: Option<(ExportFormat, Vec<String>)>,
    /// The queries' split and the base, kept for a check on an engine.
    pub inputs: Arc<TuneInputs>,
    /// The pick checked on pgvector: running, then its result.
    pub check_job: Option<Job<EngineCheck>>,
    pub check: Option<EngineCheck>,
    /// The trade-off chart's points, kept ready for drawing: remade when a
    /// point arrives or the pick is known, never per frame.
    chart: Vec<ChartPoint>,
    /// Points and whether the pick was known when `chart` was made.
    chart_of: (usize, bool),
}

/// One setting on the tuner's trade-off chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    pub recall: f64,
    pub qps: f64,
    /// On the recall/QPS frontier (no other point is as good on both).
    pub frontier: bool,
    pub pick: bool,
}

impl TuneRun {
    /// The points measured so far (a copy).
    pub fn points(&self) -> Vec<TunedPoint> {
        self.points.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Remakes the chart's points if points arrived or the pick is known
    /// since they were last made.
    fn refresh_chart(&mut self) {
        let seen = (
            self.points.lock().map_or(0, |p| p.len()),
            self.summary.is_some(),
        );
        if seen != self.chart_of {
            self.chart = make_chart(&self.points(), self.summary.as_ref());
            self.chart_of = seen;
        }
    }
}

impl Session {
    /// Starts the tuner on the loaded data for recall@`k` ≥ `recall`, HNSW
    /// stored as `storage` (the Index panel's choice).
    pub fn start_tune(
        &mut self,
        k: usize,
        recall: f64,
        objective: Objective,
        seed: u64,
        storage: Storage,
    ) {
        let (Some(loaded), Some(gt)) = (&self.loaded, &self.work.gt) else {
            return;
        };
        let split = match QuerySplit::halves(loaded.queries.vectors(), gt, seed) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(format!("Tune: {e}"));
                return;
            }
        };
        let inputs = Arc::new(TuneInputs {
            base: loaded.base.clone(),
            split,
        });
        let mut space = Space::default_for(vec![IndexKind::Flat, IndexKind::Hnsw], seed);
        space.storage = storage;
        let config = TuneConfig {
            target: Target {
                objective,
                ..Target::recall(k, recall)
            },
            space,
            strategy: Strategy::Screen,
            budget_s: APP_BUDGET_S,
            build_threads: None,
            repeat: RepeatPolicy::default(),
        };
        let points: Arc<Mutex<Vec<TunedPoint>>> = Arc::default();
        let sink = points.clone();
        let notify = self.notifier();
        let repaint = self.repaint.clone();
        let job_inputs = inputs.clone();
        let job = Job::spawn_notify(
            "tune",
            move |ctx| {
                crate::tune::tune(&job_inputs, &config, ctx, &mut |p| {
                    if let Ok(mut v) = sink.lock() {
                        v.push(p.clone());
                    }
                    if let Some(r) = &repaint {
                        r();
                    }
                })
            },
            notify,
        );
        self.work.tune = Some(TuneRun {
            job: Some(job),
            points,
            summary: None,
            copied: None,
            inputs,
            check_job: None,
            check: None,
            chart: Vec::new(),
            chart_of: (0, false),
        });
    }

    /// Whether the pick can be checked on pgvector now (`url`: the pgvector
    /// section's server), or why not.
    pub fn engine_check_ready(&self, url: &str) -> Result<(), &'static str> {
        let Some(run) = &self.work.tune else {
            return Err("Run the tuner first.");
        };
        let Some(s) = &run.summary else {
            return Err("The tuner has not finished.");
        };
        if !matches!(s.pick.spec, IndexSpec::Hnsw(_)) {
            return Err("The pick is not an HNSW: nothing to check on pgvector.");
        }
        if url.trim().is_empty() {
            return Err(
                "Give the PostgreSQL server in the pgvector section (Kind: pgvector HNSW).",
            );
        }
        if run.check_job.is_some() {
            return Err("A check is running.");
        }
        Ok(())
    }

    /// Loads the data into a new table on the server at `url` (the table
    /// the pgvector section may have loaded keeps its own index), builds
    /// the pick's M and efConstruction there and finds pgvector's own least
    /// ef_search that meets the target, in the background; the table is
    /// dropped afterwards.
    pub fn start_engine_check(&mut self, url: String, password: String, column: ColumnType) {
        if self.engine_check_ready(&url).is_err() {
            return;
        }
        let notify = self.notifier();
        let Some(run) = &mut self.work.tune else {
            return;
        };
        let Some(s) = &run.summary else {
            return;
        };
        let IndexSpec::Hnsw(h) = &s.pick.spec else {
            return;
        };
        let ((m, ef_construction), moved) =
            crate::tune::export::pgvector_build(h.m, h.ef_construction);
        let spec = EngineIndexSpec::Hnsw { m, ef_construction };
        let target = s.target;
        let annscope_ef = s.pick.knob.value().unwrap_or(target.k);
        let ef_range = engine_ef_range(
            target.k,
            annscope_ef,
            crate::index::param_spec::EF.usual.1,
            PG_EF_SEARCH.max,
        );
        let (inputs, sink) = (run.inputs.clone(), run.points.clone());
        let repaint = self.repaint.clone();
        run.check = None;
        if let Some(n) = moved {
            self.notice = Some(n);
        }
        let Some(run) = &mut self.work.tune else {
            return;
        };
        run.check_job = Some(Job::spawn_notify(
            "check on pgvector",
            move |ctx| {
                let collection =
                    PgCollection::load(&url, Some(&password), inputs.base.clone(), column, ctx)?;
                ctx.progress.stage("pgvector: CREATE INDEX", 0);
                let index = collection.build(spec, ctx)?;
                let engine = format!("pgvector {}", collection.extension_version());
                let check_inputs = CheckInputs {
                    base: &inputs.base,
                    split: &inputs.split,
                    target: &target,
                    engine,
                    annscope_ef,
                    ef_range,
                    export_as: Some(ExportFormat::Pgvector),
                };
                let (build_s, bytes) = (index.build_secs, index.index_bytes);
                check_on_engine(&index, build_s, bytes, &check_inputs, ctx, &mut |p| {
                    if let Ok(mut v) = sink.lock() {
                        v.push(p.clone());
                    }
                    if let Some(r) = &repaint {
                        r();
                    }
                })
            },
            notify,
        ));
    }

    pub fn cancel_tune(&mut self) {
        if let Some(job) = self.work.tune.as_ref().and_then(|t| t.job.as_ref()) {
            job.cancel();
        }
    }

    /// Takes a finished tuner's result.
    pub(super) fn poll_tune(&mut self) {
        let Some(run) = &mut self.work.tune else {
            return;
        };
        if let Some(r) = take_finished(&mut run.job) {
            if let Some(s) = self.settle(r, Some("Tuning cancelled."), "Tune") {
                if let Some(run) = &mut self.work.tune {
                    run.summary = Some(s);
                }
            }
        }
        // After the summary is in: a pick that lands is ringed this frame.
        if let Some(run) = &mut self.work.tune {
            run.refresh_chart();
        }
    }

    /// Takes a finished check on pgvector.
    pub(super) fn poll_engine_check(&mut self) {
        let Some(run) = &mut self.work.tune else {
            return;
        };
        if let Some(r) = take_finished(&mut run.check_job) {
            if let Some(c) = self.settle(r, Some("Check cancelled."), "Check on pgvector") {
                if let Some(run) = &mut self.work.tune {
                    run.check = Some(c);
                }
            }
        }
    }

    /// The pick in `format`, for the clipboard.
    pub fn export_pick(
        &self,
        format: ExportFormat,
        k: usize,
    ) -> crate::error::Result<crate::tune::Export> {
        let (Some(run), Some(loaded)) = (&self.work.tune, &self.loaded) else {
            return Err(crate::error::Error::InvalidParameter(
                "nothing tuned yet".into(),
            ));
        };
        let Some(s) = &run.summary else {
            return Err(crate::error::Error::InvalidParameter(
                "the tuner has not finished".into(),
            ));
        };
        let p = &s.pick;
        // The scripts measure their own recall against the ground truth
        // the app computed, written beside the cache as .ivecs.
        let gt_file = match (format, &self.work.gt, loaded.queries.path()) {
            (ExportFormat::Hnswlib | ExportFormat::Faiss, Some(gt), Some(queries)) => Some(
                write_script_groundtruth(gt, k, loaded.base.path(), queries)?,
            ),
            _ => None,
        };
        let cx = ExportContext {
            metric: loaded.base.metric(),
            dim: loaded.base.dim(),
            n: loaded.base.len(),
            k,
            recall: p.heldout_recall,
            target: Some(s.target.recall),
            base: loaded.base.path(),
            queries: loaded.queries.path(),
            groundtruth: gt_file.as_deref(),
        };
        export_checked(format, p, &cx, run.check.as_ref())
    }
}

/// Writes the top-`k` of `gt` as .ivecs in the cache folder (named after
/// the files it belongs to), for an exported script to measure its recall
/// with; returns its path.
fn write_script_groundtruth(
    gt: &crate::eval::GroundTruth,
    k: usize,
    base: Option<&std::path::Path>,
    queries: &std::path::Path,
) -> crate::error::Result<std::path::PathBuf> {
    use std::hash::{Hash, Hasher};
    let dir = crate::cache::cache_dir()
        .ok_or_else(|| {
            crate::error::Error::InvalidParameter(
                "no cache folder to write the script's ground truth to (set ANNSCOPE_CACHE)".into(),
            )
        })?
        .join("exports");
    std::fs::create_dir_all(&dir).map_err(|error| crate::error::Error::Io {
        path: dir.clone(),
        error,
    })?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (base, queries).hash(&mut h);
    let stem = queries
        .file_stem()
        .map_or_else(|| "queries".into(), |s| s.to_string_lossy().into_owned());
    let k = k.min(gt.k());
    let path = dir.join(format!("{stem}-{:016x}.top{k}.ivecs", h.finish()));
    let rows = crate::dataset::IdRows {
        n: gt.n_queries(),
        k,
        ids: (0..gt.n_queries())
            .flat_map(|i| gt.ids(i)[..k].iter().copied())
            .collect(),
    };
    crate::dataset::write_ivecs(&path, &rows)?;
    Ok(path)
}

/// Moves the settings to the pick (the caller then builds it); false for
/// a pick the panel cannot show (an engine's, a flat scan over codes).
pub fn apply_pick(settings: &mut Settings, spec: &IndexSpec, knob: SearchKnob) -> bool {
    let kind = spec.kind();
    match spec {
        IndexSpec::Flat => {}
        IndexSpec::Hnsw(p) => settings.hnsw = p.clone(),
        s if family(kind).is_some_and(|f| !f.fields().is_empty()) => {
            *settings.family_spec_mut(kind) = s.clone();
        }
        _ => return false,
    }
    settings.index = kind;
    match knob {
        SearchKnob::Ef(e) => settings.ef = e,
        SearchKnob::Probe(p) => settings.search_probe = p,
        SearchKnob::DynamicEf(_) | SearchKnob::Default => {}
    }
    true
}

/// The tuner's points for the trade-off chart, as last made by the poll.
pub fn chart_points(session: &Session) -> &[ChartPoint] {
    session.work.tune.as_ref().map_or(&[], |run| &run.chart)
}

/// One point per setting measured at full size (the last measurement, the
/// timed one for a finalist, replaces its bisection probe), marked when on
/// the frontier and when it is the pick.
fn make_chart(points: &[TunedPoint], summary: Option<&Summary>) -> Vec<ChartPoint> {
    let mut pts: Vec<&TunedPoint> = Vec::new();
    for p in points.iter().filter(|p| p.phase == Phase::Full) {
        pts.retain(|o| o.point.index != p.point.index || o.point.params != p.point.params);
        pts.push(p);
    }
    let is_pick = |p: &TunedPoint| {
        summary.is_some_and(|s| {
            s.pick.spec.kind().name() == p.point.index
                && s.pick
                    .params
                    .iter()
                    .all(|(k, v)| p.point.params.get(k) == Some(v))
        })
    };
    pts.iter()
        .map(|p| {
            let (r, q) = (p.point.recall, p.point.qps);
            let dominated = pts.iter().any(|o| {
                let (r2, q2) = (o.point.recall, o.point.qps);
                (r2 >= r && q2 > q) || (r2 > r && q2 >= q)
            });
            ChartPoint {
                recall: r,
                qps: q,
                frontier: !dominated,
                pick: is_pick(p),
            }
        })
        .collect()
}
