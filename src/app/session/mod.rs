//! The app's engine-side state: the loaded data, ground truth, builds and
//! measured operating points, and the background jobs that produce them.
//! No egui here: the panels read this state and send it requests.
//!
//! Each kind of long work has one slot holding at most one [`Job`]; putting
//! a new job in a slot drops (and so cancels) the old one, which is how the
//! newest ef wins and no queue of stale work builds up.

mod measuring;

use std::sync::Arc;
use std::time::Duration;

pub use super::graph_requests::{GraphIndex, PathKey, QueryPick};
use super::loading::{load, LoadRequest, Loaded};
use crate::cache;
use crate::dataset::Dataset;
use crate::engine::pgvector::{sql::ColumnType, PgCollection};
use crate::eval::{GroundTruth, Measurement, OperatingPoint};
use crate::index::hnsw::explain::{LayerView, NodeDetail, SearchPath};
use crate::index::{BuiltIndex, DataSource, HnswParams, IndexSpec, KnobKind};
use crate::index::{Rescoring, SearchKnob};
use crate::job::{take_finished, take_finished_tagged, with_threads, Job, Latest};
use crate::projection::Projection;

/// A finished build, numbered in the order builds finished.
pub struct Built {
    pub id: usize,
    pub index: BuiltIndex,
}

impl Point {
    /// Whether this point measured `build_id` at (k, knob, rescoring).
    pub fn is_at(
        &self,
        build_id: usize,
        k: usize,
        knob: SearchKnob,
        rescoring: Option<Rescoring>,
    ) -> bool {
        self.build_id == build_id && self.k == k && self.knob == knob && self.rescoring == rescoring
    }
}

impl Built {
    /// Whether searches walk quantized codes (so oversampling applies).
    pub fn walks_codes(&self) -> bool {
        !self.index.spec.storage().quantizer.is_none()
    }

    /// The setting this build is measured at, from the panel's: its knob
    /// if it takes one, and the rescoring only if it walks codes (so other
    /// builds' points do not split by a slider that does nothing to them).
    pub fn setting(
        &self,
        knob: SearchKnob,
        rescoring: Rescoring,
    ) -> (SearchKnob, Option<Rescoring>) {
        let knob = if self.has_knob() {
            knob
        } else {
            SearchKnob::Default
        };
        (knob, self.walks_codes().then_some(rescoring))
    }

    /// Whether searches take a knob (ef or search_probe).
    pub fn has_knob(&self) -> bool {
        self.index.kind().knob().is_some()
    }
    /// The knob's name in the bench format.
    pub fn knob_name(&self) -> &'static str {
        self.index.kind().knob().map_or("ef", KnobKind::name)
    }
}

/// Runs of a full measurement (the median and its interval are shown).
const TIMED_RUNS: usize = 5;

/// One measured setting of one build.
#[derive(Clone, Debug)]
pub struct Point {
    pub build_id: usize,
    pub build_label: String,
    pub k: usize,
    /// What the search was tuned by (the default for flat).
    pub knob: SearchKnob,
    /// Oversampling and re-scoring, for a build that walks quantized codes.
    pub rescoring: Option<Rescoring>,
    /// Measured on a prefix of the queries only (refined later).
    pub estimate: bool,
    pub queries_measured: usize,
    pub op: OperatingPoint,
}

/// A measured crossover: the points and the recommended threshold.
#[derive(Clone, Debug)]
pub struct Crossover {
    pub points: Vec<crate::eval::crossover::CrossoverPoint>,
    pub threshold: Option<f64>,
    pub recall_target: f64,
}

/// The evaluation a panel asks for; equal requests are not re-run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalRequest {
    pub build_id: usize,
    pub k: usize,
    pub knob: SearchKnob,
    pub rescoring: Option<Rescoring>,
    /// Queries measured: a prefix first, then all.
    pub limit: usize,
}

/// (build, k, ef) of a full measurement, whose per-query recall colours the queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecallKey {
    pub build_id: usize,
    pub k: usize,
    pub knob: SearchKnob,
    pub rescoring: Option<Rescoring>,
}

/// Queries in the quick first estimate.
pub const ESTIMATE_QUERIES: usize = 100;

/// Threads for builds: every core, but one left for the UI on larger machines.
pub fn build_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if cores > 2 {
        cores - 1
    } else {
        cores
    }
}

/// Loaded data, its ground truth, builds, points, and the jobs behind them.
#[derive(Default)]
pub struct Session {
    pub loaded: Option<Loaded>,
    /// Everything measured on the loaded data.
    pub work: DataWork,
    /// The latest error, for the screen (cleared by the user).
    pub error: Option<String>,
    /// The latest notice (ground truth cached, build cancelled …).
    pub notice: Option<String>,
    pub load_job: Option<Job<Loaded>>,
    /// When the latest ef/k change asked for a measurement, and how long
    /// the first (estimated) point took to arrive: the "live" latency.
    eval_asked: Option<std::time::Instant>,
    pub ef_response_ms: Option<f64>,
    next_build_id: usize,
    pub(super) repaint: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Counts loads, so a projection belongs to the data it was made of.
    pub data_generation: u64,
    /// The 2-D projection of the loaded data (PCA first; the last one
    /// stays on screen until the next one arrives).
    pub projection: Latest<super::projection_keys::ProjectionKey, Projection>,
}

/// What belongs to one loaded dataset: its ground truth, builds, measured
/// points and the jobs and views computed from them. Loading new data
/// replaces it whole (dropping, and so cancelling, its jobs).
#[derive(Default)]
pub struct DataWork {
    /// The tuner's latest run on this data.
    pub tune: Option<super::tuner::TuneRun>,
    pub gt: Option<Arc<GroundTruth>>,
    pub gt_job: Option<Job<GroundTruth>>,
    pub builds: Vec<Built>,
    /// The build being shown and tuned.
    pub current: Option<usize>,
    pub points: Vec<Point>,
    pub build_job: Option<(IndexSpec, Job<Built>)>,
    pub eval_job: Option<(EvalRequest, Job<Measurement>)>,
    /// Flat against HNSW latency by collection size, for the dynamic threshold.
    pub crossover_job: Option<Job<Crossover>>,
    pub crossover: Option<Crossover>,
    last_eval: Option<EvalRequest>,
    /// Knob settings still to measure in a sweep, and the k they are measured at.
    pub sweep: std::collections::VecDeque<SearchKnob>,
    sweep_k: usize,
    sweep_rescoring: Option<Rescoring>,
    /// The drawn part of one layer: (build, layer, selected node).
    pub layer_view: Latest<(usize, usize, Option<u32>), LayerView>,
    /// The selected node's links on every layer: (build, node).
    pub node_detail: Latest<(usize, u32), NodeDetail>,
    /// One query's traced search.
    pub search_path: Latest<PathKey, SearchPath>,
    /// The labels matching the projection's search text, best first.
    pub label_search: Latest<String, Vec<u32>>,
    /// The selected point's exact neighbours and the build's answer.
    pub neighbours:
        Latest<super::projection_keys::NeighboursKey, super::projection_keys::SelectedNeighbours>,
    /// Per-query recall of the latest full measurement.
    pub query_recall: std::collections::HashMap<RecallKey, Arc<Vec<f32>>>,
    /// This data loaded into a pgvector table (dropped with the data).
    pub engine: Option<Arc<PgCollection>>,
    pub engine_job: Option<Job<PgCollection>>,
    /// A Motion run's index at one step, shown by the graph views instead
    /// of the current build until a build finishes or the user goes back.
    pub motion_shot: Option<Arc<crate::app::motion::shot::MotionShot>>,
}

impl Session {
    /// A session whose workers call `repaint` when they finish.
    pub fn new(repaint: Arc<dyn Fn() + Send + Sync>) -> Self {
        Session {
            repaint: Some(repaint),
            ..Session::default()
        }
    }

    /// The window's repaint, for workers that report more than once.
    pub fn repaint_handle(&self) -> Arc<dyn Fn() + Send + Sync> {
        self.repaint.clone().unwrap_or_else(|| Arc::new(|| {}))
    }

    pub(super) fn notifier(&self) -> impl FnOnce() + Send + 'static {
        let r = self.repaint.clone();
        move || {
            if let Some(r) = r {
                r();
            }
        }
    }

    /// Starts loading; the current data stays until the new data is ready.
    pub fn open(&mut self, req: LoadRequest) {
        let notify = self.notifier();
        self.load_job = Some(Job::spawn_notify("load", move |ctx| load(req, ctx), notify));
    }

    /// Connects to a PostgreSQL server and loads the data into a new
    /// pgvector table, in the background (the previous table is dropped
    /// once the new one is ready).
    pub fn connect_engine(&mut self, url: String, password: String, column: ColumnType) {
        let Some(loaded) = &self.loaded else {
            self.error = Some("Open a dataset before loading it into PostgreSQL.".into());
            return;
        };
        let base = loaded.base.clone();
        let notify = self.notifier();
        self.work.engine_job = Some(Job::spawn_notify(
            "load into PostgreSQL",
            move |ctx| PgCollection::load(&url, Some(&password), base, column, ctx),
            notify,
        ));
    }

    /// Cancels loading into PostgreSQL (the half-loaded table is dropped).
    pub fn cancel_engine(&mut self) {
        if let Some(job) = &self.work.engine_job {
            job.cancel();
        }
    }

    /// Starts a build of `spec` on `threads` threads (0: [`build_threads`]);
    /// the current index stays usable meanwhile. An engine's index is built
    /// in the server, on the table the data was loaded into.
    /// `rescoring`: what searches of a Qdrant build over quantized codes use.
    pub fn build(&mut self, spec: IndexSpec, threads: usize, rescoring: Option<Rescoring>) {
        let Some(loaded) = &self.loaded else {
            self.error = Some("Open a dataset before building.".into());
            return;
        };
        let source = match (&spec, &self.work.engine) {
            (IndexSpec::Engine(s), _) if s.in_process() => {
                match in_process_engine(loaded.base.clone(), rescoring) {
                    Some(source) => source,
                    None => {
                        self.error = Some(format!(
                            "{}: this annscope was built without Qdrant (cargo build --features qdrant).",
                            s.label()
                        ));
                        return;
                    }
                }
            }
            (IndexSpec::Engine(_), Some(c)) => DataSource::Engine(c.clone()),
            (IndexSpec::Engine(_), None) => {
                self.error = Some("Load the data into PostgreSQL first (Connect and load).".into());
                return;
            }
            _ => DataSource::Dataset(loaded.base.clone()),
        };
        let id = self.next_build_id;
        self.next_build_id += 1;
        let notify = self.notifier();
        let s = spec.clone();
        let threads = Some(if threads == 0 {
            build_threads()
        } else {
            threads
        });
        let job = Job::spawn_notify(
            "build",
            move |ctx| {
                let rows = source.len();
                let index = with_threads(threads, || s.build(source, ctx))??;
                Ok(Built {
                    id,
                    index: index.with_overviews(rows, ctx),
                })
            },
            notify,
        );
        self.work.build_job = Some((spec, job));
    }

    /// Cancels the running build; the previous index stays.
    pub fn cancel_build(&mut self) {
        if let Some((_, job)) = &self.work.build_job {
            job.cancel();
        }
    }

    /// The build being tuned.
    pub fn current_build(&self) -> Option<&Built> {
        self.work
            .current
            .and_then(|id| self.work.builds.iter().find(|b| b.id == id))
    }

    /// Measures where flat and HNSW latency cross on this data (recall@k at
    /// `target`), in the background.
    pub fn measure_crossover(&mut self, k: usize, target: f64, params: HnswParams) {
        let Some(loaded) = &self.loaded else { return };
        let (base, queries) = (loaded.base.clone(), loaded.queries.clone());
        let notify = self.notifier();
        self.work.crossover_job = Some(Job::spawn_notify(
            "crossover",
            move |ctx| {
                let sizes = crate::eval::crossover::default_sizes(base.len());
                let (points, threshold) = crate::eval::crossover::measure_crossover(
                    &base,
                    &queries,
                    k,
                    target,
                    &sizes,
                    &params,
                    ctx,
                    |_| {},
                )?;
                Ok(Crossover {
                    points,
                    threshold,
                    recall_target: target,
                })
            },
            notify,
        ));
    }

    /// A finished job's value; a cancellation leaves `cancelled` as the
    /// notice (if any), a failure its error under `failed`.
    pub(super) fn settle<T>(
        &mut self,
        r: crate::error::Result<T>,
        cancelled: Option<&str>,
        failed: &str,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) if e.is_cancelled() => {
                if let Some(n) = cancelled {
                    self.notice = Some(n.into());
                }
                None
            }
            Err(e) => {
                self.error = Some(format!("{failed}: {e}"));
                None
            }
        }
    }

    /// Takes finished results from every job. Call once per frame.
    pub fn poll(&mut self) {
        self.poll_tune();
        self.poll_engine_check();
        if let Some(r) = take_finished(&mut self.work.engine_job) {
            if let Some(c) =
                self.settle(r, Some("Loading into PostgreSQL cancelled."), "PostgreSQL")
            {
                self.notice = Some(format!(
                    "Loaded {} rows into {} on {}",
                    c.base().len(),
                    c.table_name(),
                    c.shown_url()
                ));
                self.work.engine = Some(Arc::new(c));
            }
        }
        if let Some(r) = take_finished(&mut self.work.crossover_job) {
            if let Some(c) = self.settle(r, None, "Crossover failed") {
                self.work.crossover = Some(c);
            }
        }
        if let Some(r) = take_finished(&mut self.load_job) {
            if let Some(loaded) = self.settle(
                r,
                Some("Opening cancelled; the data on screen stays."),
                "Could not open",
            ) {
                self.install(loaded);
            }
        }
        if let Some(r) = take_finished(&mut self.work.gt_job) {
            if let Some(gt) = self.settle(r, None, "Ground truth failed") {
                self.work.gt = Some(Arc::new(gt));
            }
        }
        if let Some((_, r)) = take_finished_tagged(&mut self.work.build_job) {
            let cancelled = "Build cancelled; the previous index is still in use.";
            if let Some(built) = self.settle(r, Some(cancelled), "Build failed") {
                self.work.current = Some(built.id);
                self.work.builds.push(built);
                self.work.last_eval = None;
                // A new build is what the user wants to see next.
                self.work.motion_shot = None;
            }
        }
        if let Some((req, r)) = take_finished_tagged(&mut self.work.eval_job) {
            match r {
                Ok(m) => {
                    if let Some(t) = self.eval_asked.take() {
                        self.ef_response_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    self.record(req, &m);
                    let nq = self.loaded.as_ref().map_or(0, |l| l.queries.len());
                    if req.limit < nq {
                        self.start_eval(EvalRequest { limit: nq, ..req });
                    }
                }
                Err(e) if e.is_cancelled() => {}
                Err(e) => {
                    // A failing index (a lost server) fails every setting: stop the sweep.
                    self.work.sweep.clear();
                    self.error = Some(format!("Evaluation failed: {e}"));
                }
            }
        }
        if !self.work.sweep.is_empty() {
            self.continue_sweep();
        }
        if let Some(e) = self.projection.poll() {
            self.error = Some(format!("Projection failed: {e}"));
        }
        if let Some(e) = self.work.layer_view.poll() {
            self.error = Some(format!("Layer view failed: {e}"));
        }
        if let Some(e) = self.work.node_detail.poll() {
            self.error = Some(format!("Node details failed: {e}"));
        }
        if let Some(e) = self.work.neighbours.poll() {
            self.error = Some(format!("Neighbours of the selection failed: {e}"));
        }
        if let Some(e) = self.work.label_search.poll() {
            self.error = Some(format!("Label search failed: {e}"));
        }
        if let Some(e) = self.work.search_path.poll() {
            self.error = Some(format!("Search trace failed: {e}"));
        }
    }

    /// Per-query recall of the current build at (k, ef), once measured on every query.
    pub fn current_query_recall(
        &self,
        k: usize,
        knob: SearchKnob,
        rescoring: Rescoring,
    ) -> Option<&Arc<Vec<f32>>> {
        let b = self.current_build()?;
        let (knob, rescoring) = b.setting(knob, rescoring);
        self.work.query_recall.get(&RecallKey {
            build_id: b.id,
            k,
            knob,
            rescoring,
        })
    }

    fn install(&mut self, loaded: Loaded) {
        self.work = DataWork::default();
        self.data_generation += 1;
        let (base, queries) = (loaded.base.clone(), loaded.queries.clone());
        let notify = self.notifier();
        let key = super::projection_keys::ProjectionKey::first(self.data_generation);
        self.projection.request(key, |_| {
            Job::spawn_notify(
                "projection",
                move |ctx| crate::projection::project(&base, Some(&queries), ctx),
                notify,
            )
        });
        let (base, queries) = (loaded.base.clone(), loaded.queries.clone());
        let notify = self.notifier();
        self.work.gt_job = Some(Job::spawn_notify(
            "groundtruth",
            move |ctx| {
                cache::ground_truth(&base, &queries, cache::MIN_CACHED_K, ctx).map(|(gt, _)| gt)
            },
            notify,
        ));
        self.loaded = Some(loaded);
    }

    /// Is any job running (the UI keeps repainting for progress while so)?
    pub fn busy(&self) -> bool {
        self.load_job.is_some()
            || self.work.gt_job.is_some()
            || self.work.build_job.is_some()
            || self.work.eval_job.is_some()
            || !self.work.sweep.is_empty()
            || self.work.crossover_job.is_some()
            || self.work.engine_job.is_some()
            || self.work.tune.as_ref().is_some_and(|t| t.job.is_some())
            || self.projection.is_running()
            || self.work.layer_view.is_running()
            || self.work.node_detail.is_running()
            || self.work.search_path.is_running()
            || self.work.neighbours.is_running()
            || self.work.label_search.is_running()
    }

    /// Blocks until every job is done (tests and headless use).
    pub fn wait_idle(&mut self, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        while self.busy() {
            self.poll();
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

/// An engine that runs in this process (Qdrant edge), over the local
/// vectors; None when this annscope was built without it.
#[cfg(feature = "qdrant")]
fn in_process_engine(base: Arc<Dataset>, rescoring: Option<Rescoring>) -> Option<DataSource> {
    Some(DataSource::Engine(Arc::new(
        crate::engine::qdrant::QdrantCollection::new(base, rescoring),
    )))
}

#[cfg(not(feature = "qdrant"))]
fn in_process_engine(_base: Arc<Dataset>, _rescoring: Option<Rescoring>) -> Option<DataSource> {
    None
}
