//! The headless command line: `info`, `groundtruth` and `bench`.
//!
//! Flag names and JSON fields are a contract other tools read: keep them.
//! Arguments are parsed by clap into raw values, then checked and loaded into
//! what the engine needs, with errors that name the file and the problem.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cache::{self, GtSource};
use crate::dataset::{self, Dataset, IdRows};
use crate::distance::Metric;
use crate::eval::{self, GroundTruth, OperatingPoint, QueryMode};
use crate::index::{AllowList, AnnIndex, HnswParams, IndexSpec, ParamMap, SearchParams};
use crate::job::{with_threads, Job};
use crate::progress::WorkContext;

/// annscope: see and tune approximate-nearest-neighbour vector indexes.
///
/// With no subcommand it opens the desktop app (when built with the `gui`
/// feature) on the bundled sample data.
#[derive(Parser, Debug)]
#[command(name = "annscope", version, about, long_about = None, allow_negative_numbers = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a vector file holds: count, dimension, element type, format.
    Info(InfoArgs),
    /// Compute exact top-k neighbours of each query and write them as .ivecs.
    Groundtruth(GroundtruthArgs),
    /// Build an index, then measure recall, QPS and latency per search setting.
    Bench(BenchArgs),
    /// Build an HNSW index and save it to a file.
    Build(BuildArgs),
    /// Search a saved index: one JSON line per query.
    Search(SearchArgs),
    /// Measure where flat and HNSW latency cross: the dynamic index's threshold.
    Crossover(CrossoverArgs),
    /// Open the desktop app on a dataset.
    #[cfg(feature = "gui")]
    Gui(GuiArgs),
}

#[cfg(feature = "gui")]
#[derive(Args, Debug)]
pub struct GuiArgs {
    /// Base vectors (default: the last dataset, or the bundled sample).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Query vectors (default: hold out a random sample of the base).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Labels: one line per base vector, or Projector metadata TSV.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Labels of the query vectors, in the same forms.
    #[arg(long)]
    pub query_labels: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
    pub metric: MetricArg,
    /// Queries held out of the base when no query file is given.
    #[arg(long, default_value_t = 200)]
    pub holdout: usize,
    /// Build the selected index as soon as the data is ready, then sweep ef.
    #[arg(long)]
    pub build: bool,
    /// The index to select (default: the last one used).
    #[arg(long, value_enum)]
    pub index: Option<IndexArg>,
    /// The dynamic index's threshold.
    #[arg(long)]
    pub threshold: Option<usize>,
    /// The tab to open on.
    #[arg(long, value_enum)]
    pub view: Option<ViewArg>,
    /// Select this base vector (node) in the views.
    #[arg(long)]
    pub select: Option<u32>,
    /// The HNSW layer the layer graph shows.
    #[arg(long)]
    pub layer: Option<usize>,
    /// The query whose search the search-path view replays.
    #[arg(long)]
    pub query: Option<usize>,
    /// The search-path step to show (1-based; past the end shows the last).
    #[arg(long)]
    pub step: Option<usize>,
    /// How the projection colours its points.
    #[arg(long, value_enum)]
    pub colour_by: Option<ColourArg>,
    /// The search's ef (default: the last one used).
    #[arg(long)]
    pub ef: Option<usize>,
}

/// The projection's colourings, for `gui --colour-by`.
#[cfg(feature = "gui")]
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ColourArg {
    Nothing,
    TopLayer,
    QueryRecall,
    PostingList,
}

/// The app's tabs, for `gui --view`.
#[cfg(feature = "gui")]
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ViewArg {
    Charts,
    Projection,
    Layers,
    SearchPath,
}

#[cfg(feature = "gui")]
impl GuiArgs {
    pub fn request(&self) -> crate::app::LoadRequest {
        crate::app::LoadRequest {
            base: self.base.clone().unwrap_or_default(),
            queries: self.queries.clone(),
            labels: self.labels.clone(),
            query_labels: self.query_labels.clone(),
            metric: self.metric.into(),
            normalize: false,
            holdout: self.holdout,
        }
    }
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Base vectors.
    #[arg(long)]
    pub base: PathBuf,
    #[arg(long, value_enum)]
    pub metric: MetricArg,
    #[arg(long, value_enum, default_value_t = IndexArg::Hnsw)]
    pub index: IndexArg,
    #[command(flatten)]
    pub hnsw: HnswArgs,
    /// Build threads (default: all cores).
    #[arg(long)]
    pub build_threads: Option<usize>,
    /// The index file to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CrossoverArgs {
    #[arg(long)]
    pub base: PathBuf,
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long, value_enum)]
    pub metric: MetricArg,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// HNSW must reach this recall@k at the ef it is timed at.
    #[arg(long, default_value_t = 0.95)]
    pub recall: f64,
    /// Collection sizes (prefixes of the base); default 100, 200, 500, 1000 … n.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    #[command(flatten)]
    pub hnsw: HnswArgs,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// An index file written by `annscope build`.
    #[arg(long)]
    pub index_file: PathBuf,
    /// Query vectors.
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Search list size; -1 is dynamic ef (default: dynamic).
    #[arg(long, allow_negative_numbers = true)]
    pub ef: Option<i64>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The vector file (.fvecs, .ivecs, .bvecs, .npy, .csv, .tsv, .hdf5).
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    Cosine,
    L2,
    Ip,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Self {
        match m {
            MetricArg::Cosine => Metric::Cosine,
            MetricArg::L2 => Metric::L2,
            MetricArg::Ip => Metric::InnerProduct,
        }
    }
}

#[derive(Args, Debug)]
pub struct GroundtruthArgs {
    /// Base vectors.
    #[arg(long)]
    pub base: PathBuf,
    /// Query vectors.
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long, value_enum)]
    pub metric: MetricArg,
    /// Neighbours per query.
    #[arg(long, default_value_t = 100)]
    pub k: usize,
    /// Output .ivecs file (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IndexArg {
    Flat,
    Hnsw,
    Dynamic,
    Hfresh,
}

/// HNSW options shared by `bench` and `build`.
#[derive(Args, Debug, Clone)]
pub struct HnswArgs {
    /// HNSW links per node (layer 0 keeps 2·M); a list builds one index per value.
    #[arg(long, value_delimiter = ',', default_value = "16")]
    pub m: Vec<usize>,
    /// HNSW candidate list size while building; a list builds one index per value.
    #[arg(long, value_delimiter = ',', default_value = "200")]
    pub ef_construction: Vec<usize>,
    /// Seed of the node levels (a single-threaded build is then reproducible).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Dynamic ef (used for --ef -1): ef = min(max(min, k × factor), max).
    #[arg(long, default_value_t = 100)]
    pub dynamic_ef_min: usize,
    #[arg(long, default_value_t = 500)]
    pub dynamic_ef_max: usize,
    #[arg(long, default_value_t = 8)]
    pub dynamic_ef_factor: usize,
    /// Vectors the HNSW build reads while linking: sq8 (a byte per value)
    /// and f16 build faster (the index still stores f32); f32 as hnswlib does.
    #[arg(long, value_enum, default_value_t = BuildPrecisionArg::Sq8)]
    pub build_precision: BuildPrecisionArg,
    /// Vectors an HNSW search walks the graph with: f16 reads half the bytes
    /// per distance and re-scores the final candidates in f32 (exact
    /// results; keeps a half-precision copy of the vectors); f32 as hnswlib.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F16)]
    pub search_precision: PrecisionArg,
}

impl HnswArgs {
    fn dynamic_ef(&self) -> crate::index::hnsw::DynamicEf {
        crate::index::hnsw::DynamicEf {
            min: self.dynamic_ef_min,
            max: self.dynamic_ef_max,
            factor: self.dynamic_ef_factor,
        }
    }

    /// One parameter set per (M, efConstruction) pair, checked.
    fn builds(&self) -> anyhow::Result<Vec<HnswParams>> {
        let mut out = Vec::new();
        for &m in &self.m {
            for &ef_construction in &self.ef_construction {
                let p = HnswParams {
                    m,
                    ef_construction,
                    seed: self.seed,
                    build_precision: self.build_precision.into(),
                    search_precision: self.search_precision.into(),
                };
                p.validate()?;
                out.push(p);
            }
        }
        self.dynamic_ef().validate()?;
        Ok(out)
    }
}

/// HFresh options for `bench`.
#[derive(Args, Debug, Clone)]
pub struct HFreshArgs {
    /// HFresh: a posting list over this many vectors splits in two.
    #[arg(long, default_value_t = 128)]
    pub max_posting_size: usize,
    /// HFresh: lists a vector may join (SPANN's boundary replicas).
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
    /// HFresh: a replica's centroid is at most (1 + epsilon) times as far as the nearest.
    #[arg(long, default_value_t = 0.05)]
    pub epsilon: f32,
    /// HFresh: at search, skip probed lists farther than (1 + this) times the nearest.
    #[arg(long)]
    pub query_epsilon: Option<f32>,
    /// HFresh: lists probed per query, swept without a rebuild.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    pub search_probe: Vec<usize>,
    /// HFresh: how posting vectors are stored (f16 halves the bytes a scan reads).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F16)]
    pub posting_precision: PrecisionArg,
    /// HFresh: build on this share of the base, then insert the rest one by
    /// one (measures in-place updates; 1 = build on everything).
    #[arg(long, default_value_t = 1.0)]
    pub build_fraction: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    F32,
    F16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BuildPrecisionArg {
    F32,
    F16,
    Sq8,
}

impl From<BuildPrecisionArg> for crate::index::hnsw::BuildPrecision {
    fn from(p: BuildPrecisionArg) -> Self {
        match p {
            BuildPrecisionArg::F32 => Self::F32,
            BuildPrecisionArg::F16 => Self::F16,
            BuildPrecisionArg::Sq8 => Self::Sq8,
        }
    }
}

impl From<PrecisionArg> for crate::index::Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::F32 => crate::index::Precision::F32,
            PrecisionArg::F16 => crate::index::Precision::F16,
        }
    }
}

impl HFreshArgs {
    fn params(&self, seed: u64) -> anyhow::Result<crate::index::HFreshParams> {
        let p = crate::index::HFreshParams {
            max_posting_size: self.max_posting_size,
            replicas: self.replicas,
            epsilon: self.epsilon,
            query_epsilon: self.query_epsilon,
            min_posting_size: (self.max_posting_size / 16).max(1),
            precision: self.posting_precision.into(),
            seed,
            ..crate::index::HFreshParams::default()
        };
        p.validate()?;
        if !(self.build_fraction > 0.0 && self.build_fraction <= 1.0) {
            bail!(
                "--build-fraction {}: give a share above 0 and at most 1",
                self.build_fraction
            );
        }
        Ok(p)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Table,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Base vectors (an ann-benchmarks .hdf5 brings its own queries and ground truth).
    #[arg(long)]
    pub base: PathBuf,
    /// Query vectors (required unless the base is an ann-benchmarks .hdf5 file).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Exact neighbours as .ivecs (computed and cached when not given).
    #[arg(long)]
    pub groundtruth: Option<PathBuf>,
    /// Distance (required unless an .hdf5 file names it).
    #[arg(long, value_enum)]
    pub metric: Option<MetricArg>,
    /// Neighbours per query, the k of recall@k.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value_t = IndexArg::Flat)]
    pub index: IndexArg,
    /// Measure a saved HNSW index (from `annscope build`) instead of building one.
    #[arg(long)]
    pub index_file: Option<PathBuf>,
    #[command(flatten)]
    pub hnsw: HnswArgs,
    /// HNSW search list sizes to sweep (no rebuild); -1 is dynamic ef.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "10,16,32,64,128,256"
    )]
    pub ef: Vec<i64>,
    /// Dynamic index: vectors are searched flat up to this count, then through HNSW.
    #[arg(long, default_value_t = 10_000)]
    pub threshold: usize,
    #[command(flatten)]
    pub hfresh: HFreshArgs,
    /// Filtered search: allow a random share of the ids (seeded), e.g. 0.01,0.1,0.5;
    /// each share is measured against exact ground truth among the allowed ids.
    #[arg(long, value_delimiter = ',')]
    pub filter: Vec<f64>,
    /// Search threads (default 1, as ann-benchmarks measures).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Build threads (default: all cores).
    #[arg(long)]
    pub build_threads: Option<usize>,
    /// Hand the index all queries at once instead of one at a time.
    #[arg(long)]
    pub batch: bool,
    /// Repeat each measurement and keep the fastest run.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
}

/// Runs a parsed command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Info(a) => info(&a),
        Command::Groundtruth(a) => groundtruth(&a),
        Command::Bench(a) => bench(&a),
        Command::Build(a) => build(&a),
        Command::Search(a) => search(&a),
        Command::Crossover(a) => crossover(&a),
        #[cfg(feature = "gui")]
        Command::Gui(_) => anyhow::bail!("the gui subcommand is handled by main"),
    }
}

fn info(a: &InfoArgs) -> anyhow::Result<()> {
    let info = dataset::file_info(&a.file)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&info)?)?;
    } else {
        writeln!(out, "file     {}", a.file.display())?;
        writeln!(out, "format   {}", info.format.name())?;
        writeln!(out, "vectors  {}", info.n)?;
        writeln!(out, "dim      {}", info.dim)?;
        writeln!(out, "dtype    {}", info.dtype.name())?;
        writeln!(
            out,
            "mmapped  {}",
            if info.mmapped {
                "yes"
            } else {
                "no (converted into RAM)"
            }
        )?;
    }
    Ok(())
}

/// Runs `work` as a background job, drawing a progress bar on stderr when it
/// is a terminal, and returns its result.
pub fn with_progress<T: Send + 'static>(
    name: &str,
    work: impl FnOnce(&WorkContext) -> crate::error::Result<T> + Send + 'static,
) -> crate::error::Result<T> {
    let mut job = Job::spawn(name, work);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>28} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    loop {
        if let Some(result) = job.try_take() {
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return result;
        }
        if let Some(bar) = &bar {
            let p = job.progress();
            bar.set_message(p.stage);
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_dataset(path: &Path, metric: Metric) -> anyhow::Result<Arc<Dataset>> {
    let p = path.to_path_buf();
    let ds = with_progress("open", move |ctx| dataset::open(&p, metric, ctx))?;
    Ok(Arc::new(ds))
}

fn check_dims(base: &Dataset, queries: &Dataset) -> anyhow::Result<()> {
    if base.dim() != queries.dim() {
        bail!(
            "dimension mismatch: {} has dimension {}, but {} has {}",
            queries.display_name(),
            queries.dim(),
            base.display_name(),
            base.dim()
        );
    }
    Ok(())
}

fn groundtruth(a: &GroundtruthArgs) -> anyhow::Result<()> {
    if a.k == 0 {
        bail!("--k must be at least 1");
    }
    let metric = Metric::from(a.metric);
    let base = open_dataset(&a.base, metric)?;
    let queries = open_dataset(&a.queries, metric)?;
    check_dims(&base, &queries)?;
    let (k, threads) = (a.k, a.threads);
    let b = base.clone();
    let gt = with_progress("groundtruth", move |ctx| {
        queries.validate(ctx)?;
        with_threads(threads, || {
            GroundTruth::compute(&b, queries.vectors(), k, ctx)
        })?
    })?;
    dataset::write_ivecs(&a.out, &gt.to_id_rows(k))
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "wrote {} rows of {} neighbours to {}",
        gt.n_queries(),
        gt.k(),
        a.out.display()
    );
    Ok(())
}

/// Base, queries and ground truth, however they were given.
struct BenchInputs {
    base: Arc<Dataset>,
    queries: Arc<Dataset>,
    gt: GroundTruth,
    gt_note: &'static str,
}

fn bench_inputs(a: &BenchArgs) -> anyhow::Result<BenchInputs> {
    let is_hdf5 = dataset::detect_format(&a.base)? == dataset::Format::Hdf5;
    let extras = if is_hdf5 {
        Some(dataset::hdf5::read_extras(&a.base)?)
    } else {
        None
    };
    let metric = match (a.metric, extras.as_ref().and_then(|e| e.metric)) {
        (Some(m), _) => Metric::from(m),
        (None, Some(m)) => m,
        (None, None) => bail!("--metric is required (cosine, l2 or ip)"),
    };
    let base = open_dataset(&a.base, metric)?;
    let mut file_gt: Option<(IdRows, PathBuf)> = None;
    let queries = match (&a.queries, extras) {
        (Some(q), _) => open_dataset(q, metric)?,
        (None, Some(e)) => {
            if let Some(rows) = e.neighbors {
                file_gt = Some((rows, a.base.clone()));
            }
            let name = format!("{} (test)", a.base.display());
            Arc::new(Dataset::from_vectors(name, e.queries, metric))
        }
        (None, None) => bail!(
            "--queries is required (only an ann-benchmarks .hdf5 base carries its own queries)"
        ),
    };
    check_dims(&base, &queries)?;
    if let Some(gt_path) = &a.groundtruth {
        file_gt = Some((dataset::read_ivecs(gt_path)?, gt_path.clone()));
    }
    let (gt, gt_note) = match file_gt {
        Some((rows, gt_path)) => {
            let gt = GroundTruth::from_id_rows(rows, &base, queries.vectors(), &gt_path)?;
            (gt, "from file")
        }
        None => {
            let (b, q, k) = (base.clone(), queries.clone(), a.k);
            let (gt, source) = with_progress("groundtruth", move |ctx| {
                cache::ground_truth(&b, &q, k, ctx)
            })?;
            (
                gt,
                if source == GtSource::Cache {
                    "cached"
                } else {
                    "computed"
                },
            )
        }
    };
    if a.k > gt.k() {
        bail!(
            "--k {} is deeper than the ground truth ({} neighbours per query)",
            a.k,
            gt.k()
        );
    }
    Ok(BenchInputs {
        base,
        queries,
        gt,
        gt_note,
    })
}

/// Builds the index `spec` describes on the current pool, or loads the saved
/// HNSW index when there is no spec.
fn build_or_load(
    spec: Option<IndexSpec>,
    saved: Option<PathBuf>,
    base: Arc<Dataset>,
    dynamic: crate::index::hnsw::DynamicEf,
    build_fraction: f64,
    ctx: &WorkContext,
) -> crate::error::Result<Arc<dyn AnnIndex>> {
    match spec {
        None => {
            let path = saved.unwrap_or_default();
            let h = crate::index::Hnsw::load(&path)?;
            if h.metric() != base.metric() || h.dim() != base.dim() {
                return Err(crate::error::Error::Mismatch(format!(
                    "{}: the index is {} over dimension {}, but the bench asks {} over dimension {}",
                    path.display(),
                    h.metric(),
                    h.dim(),
                    base.metric(),
                    base.dim()
                )));
            }
            Ok(Arc::new(h))
        }
        Some(IndexSpec::Hnsw(p)) => {
            base.validate(ctx)?;
            let mut h = crate::index::Hnsw::build(&base, p, ctx)?;
            h.set_dynamic_ef(dynamic)?;
            Ok(Arc::new(h))
        }
        Some(IndexSpec::HFresh(p)) if build_fraction < 1.0 => {
            base.validate(ctx)?;
            let n = base.len();
            let first = ((n as f64 * build_fraction).round() as usize).clamp(1, n);
            let rows: Vec<usize> = (0..first).collect();
            let part = base.subset(base.name().to_string(), &rows);
            let mut h = crate::index::HFresh::build(&part, p, ctx)?;
            ctx.progress.stage("inserting the rest", (n - first) as u64);
            for i in first..n {
                ctx.cancel.check()?;
                h.insert(i as u32, base.row(i))?;
                ctx.progress.add(1);
            }
            Ok(Arc::new(h))
        }
        Some(other) => other.build(base, ctx),
    }
}

/// The search settings a bench sweeps for one built index: each `--ef` for
/// HNSW (with the effective ef when dynamic), one setting for flat.
fn search_settings(a: &BenchArgs, index: &dyn AnnIndex) -> Vec<(SearchParams, ParamMap)> {
    match index.kind() {
        crate::index::IndexKind::Hnsw | crate::index::IndexKind::Dynamic => {
            let dynamic = a.hnsw.dynamic_ef();
            a.ef.iter()
                .map(|&ef| {
                    let mut shown = ParamMap::new();
                    shown.insert("ef".into(), ef.into());
                    let effective = if ef == -1 {
                        dynamic.ef_for(a.k)
                    } else {
                        (ef as usize).max(a.k)
                    };
                    shown.insert("ef_effective".into(), effective.into());
                    if ef == -1 {
                        shown.insert("dynamic_ef_min".into(), dynamic.min.into());
                        shown.insert("dynamic_ef_max".into(), dynamic.max.into());
                        shown.insert("dynamic_ef_factor".into(), dynamic.factor.into());
                    }
                    (SearchParams::new(a.k).with_ef(ef), shown)
                })
                .collect()
        }
        crate::index::IndexKind::Hfresh => {
            let lists = index
                .params()
                .get("lists")
                .and_then(|v| v.as_u64())
                .unwrap_or(u64::MAX) as usize;
            a.hfresh
                .search_probe
                .iter()
                .filter(|&&p| {
                    let fits = p <= lists;
                    if !fits {
                        eprintln!("annscope: skipping --search-probe {p}: the index has only {lists} posting lists");
                    }
                    fits
                })
                .map(|&p| {
                    let mut shown = ParamMap::new();
                    shown.insert("search_probe".into(), p.into());
                    (SearchParams::new(a.k).with_search_probe(p), shown)
                })
                .collect()
        }
        _ => vec![(SearchParams::new(a.k), ParamMap::new())],
    }
}

fn bench(a: &BenchArgs) -> anyhow::Result<()> {
    if a.k == 0 {
        bail!("--k must be at least 1");
    }
    if a.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let inputs = bench_inputs(a)?;
    let specs: Vec<Option<IndexSpec>> = match (&a.index_file, a.index) {
        (Some(_), _) => vec![None],
        (None, IndexArg::Flat) => vec![Some(IndexSpec::Flat)],
        (None, IndexArg::Hnsw) => a
            .hnsw
            .builds()?
            .into_iter()
            .map(|p| Some(IndexSpec::Hnsw(p)))
            .collect(),
        (None, IndexArg::Hfresh) => {
            if a.hfresh.search_probe.contains(&0) {
                bail!("--search-probe 0: probe at least one list");
            }
            vec![Some(IndexSpec::HFresh(a.hfresh.params(a.hnsw.seed)?))]
        }
        (None, IndexArg::Dynamic) => {
            let mut specs = Vec::new();
            for hnsw in a.hnsw.builds()? {
                let c = crate::index::DynamicConfig {
                    threshold: a.threshold,
                    hnsw,
                };
                c.validate()?;
                specs.push(Some(IndexSpec::Dynamic(c)));
            }
            specs
        }
    };
    for &ef in &a.ef {
        if ef == 0 || ef < -1 {
            bail!("--ef {ef}: use positive values, or -1 for dynamic ef");
        }
    }
    let mode = if a.batch {
        QueryMode::Batch
    } else {
        QueryMode::Single
    };
    let mut filters: Vec<Option<Arc<AllowList>>> = Vec::new();
    if a.filter.is_empty() {
        filters.push(None);
    }
    for &f in &a.filter {
        if !(f > 0.0 && f <= 1.0) {
            bail!("--filter {f}: give the share of ids allowed, above 0 and at most 1");
        }
        filters.push(Some(Arc::new(AllowList::random_fraction(
            inputs.base.len(),
            f,
            a.hnsw.seed,
        ))));
    }
    let mut out = std::io::stdout().lock();
    if a.format == OutputFormat::Table {
        writeln!(
            out,
            "# {} ({} x {}), {} queries, metric {}, ground truth {}",
            inputs.base.display_name(),
            inputs.base.len(),
            inputs.base.dim(),
            inputs.queries.len(),
            inputs.base.metric(),
            inputs.gt_note
        )?;
        writeln!(
            out,
            "{:<8} {:<60} {:>8} {:>10} {:>9} {:>9} {:>9} {:>11} {:>12}",
            "index",
            "params",
            "recall",
            "qps",
            "p50_us",
            "p95_us",
            "p99_us",
            "dist_comps",
            "index_MB"
        )?;
    }
    for spec in specs {
        let (b, build_threads, dynamic, fraction) = (
            inputs.base.clone(),
            a.build_threads,
            a.hnsw.dynamic_ef(),
            a.hfresh.build_fraction,
        );
        let t0 = Instant::now();
        let saved = a.index_file.clone();
        let index = with_progress("build", move |ctx| {
            with_threads(build_threads, || {
                build_or_load(spec, saved, b, dynamic, fraction, ctx)
            })?
        })?;
        let build_s = t0.elapsed().as_secs_f64();
        for filter in &filters {
            // A filter changes the exact answer: ground truth among the allowed ids.
            let filtered_gt;
            let gt = match filter {
                None => &inputs.gt,
                Some(f) => {
                    let (base, queries, f2, k) =
                        (inputs.base.clone(), inputs.queries.clone(), f.clone(), a.k);
                    filtered_gt = with_progress("filtered groundtruth", move |ctx| {
                        GroundTruth::compute_filtered(&base, queries.vectors(), k, Some(&f2), ctx)
                    })?;
                    &filtered_gt
                }
            };
            for (mut params, mut shown) in search_settings(a, index.as_ref()) {
                if let Some(f) = filter {
                    params = params.with_filter(f.clone());
                    shown.insert("filter_fraction".into(), f.fraction().into());
                    shown.insert("filter_allowed".into(), f.count().into());
                }
                let m = eval::measure(
                    index.as_ref(),
                    &inputs.base,
                    inputs.queries.vectors(),
                    gt,
                    &params,
                    mode,
                    a.threads,
                    a.runs,
                )?;
                let point = OperatingPoint::new(
                    index.as_ref(),
                    shown,
                    a.k,
                    &m,
                    build_s,
                    mode,
                    a.threads,
                    &inputs.base.display_name(),
                );
                match a.format {
                    OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&point)?)?,
                    OutputFormat::Table => {
                        let params = serde_json::to_string(&point.params)?;
                        writeln!(
                            out,
                            "{:<8} {:<60} {:>8.4} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>11} {:>12.1}",
                            point.index,
                            params,
                            point.recall,
                            point.qps,
                            point.p50_us,
                            point.p95_us,
                            point.p99_us,
                            point.dist_comps.map_or("-".into(), |d| format!("{d:.0}")),
                            point.index_bytes as f64 / 1e6
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn build(a: &BuildArgs) -> anyhow::Result<()> {
    if a.index != IndexArg::Hnsw {
        bail!("annscope build writes HNSW indexes: use --index hnsw (a flat index needs no file)");
    }
    let builds = a.hnsw.builds()?;
    let [params] = builds.as_slice() else {
        bail!("annscope build takes one --m and one --ef-construction");
    };
    let base = open_dataset(&a.base, Metric::from(a.metric))?;
    let (p, threads, dynamic) = (params.clone(), a.build_threads, a.hnsw.dynamic_ef());
    let b = base.clone();
    let t0 = Instant::now();
    let index = with_progress("build", move |ctx| {
        b.validate(ctx)?;
        let mut h = with_threads(threads, || crate::index::Hnsw::build(&b, p, ctx))??;
        h.set_dynamic_ef(dynamic)?;
        Ok(h)
    })?;
    let build_s = t0.elapsed().as_secs_f64();
    index.save(&a.out)?;
    let disk_bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let summary = serde_json::json!({
        "index": "hnsw",
        "out": a.out.display().to_string(),
        "n": index.len(),
        "dim": index.dim(),
        "metric": index.metric().name(),
        "params": index.params(),
        "layers": index.layer_count(),
        "build_s": build_s,
        "index_bytes": index.memory().ram_bytes,
        "graph_bytes": index.graph_bytes(),
        "file_bytes": disk_bytes,
        "unreachable": index.unreachable_nodes().len(),
    });
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "built hnsw over {} x {} in {build_s:.1} s: {} layers, {:.1} graph bytes per vector; wrote {} ({:.1} MB)",
            index.len(),
            index.dim(),
            index.layer_count(),
            index.graph_bytes() as f64 / index.len().max(1) as f64,
            a.out.display(),
            disk_bytes as f64 / 1e6
        )?;
    }
    Ok(())
}

/// One line of `annscope search`: fields in this order.
#[derive(serde::Serialize)]
struct QueryLine<'a> {
    query: usize,
    ids: &'a [u32],
    distances: &'a [f32],
}

fn search(a: &SearchArgs) -> anyhow::Result<()> {
    if a.k == 0 {
        bail!("--k must be at least 1");
    }
    let path = a.index_file.clone();
    let index = with_progress("load", move |_| crate::index::Hnsw::load(&path))?;
    let queries = open_dataset(&a.queries, index.metric())?;
    if queries.dim() != index.dim() {
        bail!(
            "dimension mismatch: {} has dimension {}, but the index {} has {}",
            queries.display_name(),
            queries.dim(),
            a.index_file.display(),
            index.dim()
        );
    }
    queries.validate(&WorkContext::detached())?;
    let mut params = SearchParams::new(a.k);
    if let Some(ef) = a.ef {
        params = params.with_ef(ef);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, q) in queries.vectors().rows().enumerate() {
        let r = index.search(q, &params)?;
        let line = QueryLine {
            query: i,
            ids: &r.ids,
            distances: &r.distances,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    out.flush()?;
    Ok(())
}

fn crossover(a: &CrossoverArgs) -> anyhow::Result<()> {
    let builds = a.hnsw.builds()?;
    let [params] = builds.as_slice() else {
        bail!("annscope crossover takes one --m and one --ef-construction");
    };
    if a.k == 0 {
        bail!("--k must be at least 1");
    }
    let metric = Metric::from(a.metric);
    let base = open_dataset(&a.base, metric)?;
    let queries = open_dataset(&a.queries, metric)?;
    check_dims(&base, &queries)?;
    let sizes = if a.sizes.is_empty() {
        crate::eval::crossover::default_sizes(base.len())
    } else {
        a.sizes.clone()
    };
    let (k, target, p) = (a.k, a.recall, params.clone());
    let (points, at) = with_progress("crossover", move |ctx| {
        base.validate(ctx)?;
        queries.validate(ctx)?;
        crate::eval::crossover::measure_crossover(
            &base,
            &queries,
            k,
            target,
            &sizes,
            &p,
            ctx,
            |_| {},
        )
    })?;
    let mut out = std::io::stdout().lock();
    for pt in &points {
        writeln!(out, "{}", serde_json::to_string(pt)?)?;
    }
    let summary = serde_json::json!({
        "crossover": at.map(|c| c.round() as u64),
        "recall_target": a.recall,
        "k": a.k,
        "recommendation": match at {
            Some(c) => format!("threshold {} (HNSW is faster than a flat scan at recall@{} >= {} from about {} vectors)", c.round(), a.k, a.recall, c.round()),
            None => format!("no crossover up to {} vectors: keep the flat index", points.last().map_or(0, |p| p.n)),
        },
    });
    writeln!(out, "{summary}")?;
    Ok(())
}
