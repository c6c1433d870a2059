//! `annscope bench`: build (or load) indexes, then measure recall, QPS and
//! latency at each search setting against exact ground truth.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::args::{check_k, check_threads, DataArgs};
use super::io::{check_dims, open_dataset, with_progress};
use crate::cache::{self, GtSource};
use crate::dataset::{self, Dataset, IdRows};
use crate::distance::Metric;
use crate::eval::{
    self, plan_sweep, GroundTruth, OperatingPoint, PointWriter, QueryMode, ReportFormat, RunOptions,
};
use crate::index::param_spec::{self as spec};
use crate::index::registry::kinds_where;
use crate::index::{local_family, AllowList, AnnIndex, BuiltIndex, DataSource, KindFlags};
use crate::index::{IndexKind, IndexSpec, Rescoring, SearchKnob, SearchParams};
use crate::job::with_threads;
use crate::progress::WorkContext;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Exact neighbours as .ivecs (computed and cached when not given).
    #[arg(long)]
    pub groundtruth: Option<PathBuf>,
    /// Neighbours per query, the k of recall@k.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value_t = IndexKind::Flat)]
    pub index: IndexKind,
    /// Measure a saved index (HNSW or HFresh, from `annscope build`) instead of building one.
    #[arg(long)]
    pub index_file: Option<PathBuf>,
    #[command(flatten)]
    pub kind: KindFlags,
    /// HNSW search list sizes to sweep (no rebuild); -1 is dynamic ef.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, default_value = "10,16,32,64,128,256", long_help = spec::EF.help)]
    pub ef: Vec<i64>,
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
    /// Drop the index's mapped vector file from the page cache before each
    /// run (--vectors disk): every re-score then reads the disk. Linux.
    #[arg(long)]
    pub cold: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub engine: super::args::EngineArgs,
}

/// How one index of the bench comes to be.
enum Obtain {
    Build(IndexSpec),
    /// Built on a share of the base, the rest inserted one by one.
    BuildThenInsert(IndexSpec, f64),
    Load(PathBuf),
}

/// The checked arguments: nothing is loaded before all of them hold.
struct BenchPlan {
    indexes: Vec<Obtain>,
    efs: Vec<SearchKnob>,
    filters: Vec<f64>,
    mode: QueryMode,
}

impl BenchArgs {
    fn plan(&self) -> anyhow::Result<BenchPlan> {
        check_k(self.k)?;
        if self.threads == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        check_threads("--build-threads", self.build_threads)?;
        if self.runs == 0 {
            anyhow::bail!("--runs must be at least 1");
        }
        let dynamic = self.kind.hnsw.dynamic_ef()?;
        let efs = self
            .ef
            .iter()
            .map(|&ef| {
                SearchKnob::from_ef_arg(ef, dynamic).map_err(|_| {
                    anyhow::anyhow!("--ef {ef}: use positive values, or -1 for dynamic ef")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let h = &self.kind.hnsw;
        let codes = !h.quantizer.is_none();
        let disk = h.vectors != crate::index::VectorPlace::Ram;
        if (codes || disk) && self.index_file.is_some() {
            anyhow::bail!(
                "--quantizer and --vectors apply to an index built here; a saved index keeps what it was built with"
            );
        }
        if self.cold && h.vectors != crate::index::VectorPlace::Disk {
            anyhow::bail!(
                "--cold drops the vector file from the page cache: it needs --vectors disk"
            );
        }
        let fraction = self.kind.build_fraction()?;
        let indexes = match &self.index_file {
            Some(path) => vec![Obtain::Load(path.clone())],
            None => {
                let family = local_family(self.index)?;
                if codes && !family.storage_use().codes {
                    anyhow::bail!(
                        "--quantizer applies to {}; {} does not take it",
                        kinds_where(|f| f.storage_use().codes),
                        self.index.name()
                    );
                }
                // Each family refuses the storage it cannot hold, its own way.
                let specs = family.specs(&self.kind)?;
                if fraction < 1.0 {
                    // Kinds that take no inserts refuse when built.
                    specs
                        .into_iter()
                        .map(|s| Obtain::BuildThenInsert(s, fraction))
                        .collect()
                } else {
                    specs.into_iter().map(Obtain::Build).collect()
                }
            }
        };
        for &f in &self.filter {
            if !(f > 0.0 && f <= 1.0) {
                anyhow::bail!("--filter {f}: give the share of ids allowed, above 0 and at most 1");
            }
        }
        Ok(BenchPlan {
            indexes,
            efs,
            filters: self.filter.clone(),
            mode: if self.batch {
                QueryMode::Batch
            } else {
                QueryMode::Single
            },
        })
    }
}

/// Base, queries and ground truth, however they were given.
pub(super) struct BenchInputs {
    pub base: Arc<Dataset>,
    pub queries: Arc<Dataset>,
    pub gt: GroundTruth,
    pub gt_note: &'static str,
}

pub(super) fn bench_inputs(a: &BenchArgs) -> anyhow::Result<BenchInputs> {
    read_inputs(&a.data, a.groundtruth.as_ref(), a.k)
}

/// Opens the base and queries `data` names and finds ground truth `k` deep:
/// from `groundtruth`, from an ann-benchmarks file, or computed (cached).
pub(super) fn read_inputs(
    data: &super::args::DataArgs,
    groundtruth: Option<&PathBuf>,
    k: usize,
) -> anyhow::Result<BenchInputs> {
    let base_path = data.base()?;
    let is_hdf5 = dataset::detect_format(base_path)? == dataset::Format::Hdf5;
    let extras = if is_hdf5 {
        Some(dataset::hdf5::read_extras(base_path)?)
    } else {
        None
    };
    let file_metric = extras.as_ref().and_then(|e| e.metric);
    let metric: Metric = match (data.metric, file_metric) {
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => anyhow::bail!("--metric is required (cosine, l2 or ip)"),
    };
    // The file's neighbours are exact for the file's metric only.
    let file_gt_fits = file_metric.is_none_or(|f| f == metric);
    if !file_gt_fits {
        eprintln!(
            "annscope: {} holds neighbours for {}, not {metric}: computing ground truth for {metric}",
            base_path.display(),
            file_metric.map_or("-", Metric::name)
        );
    }
    let base = open_dataset(base_path, metric)?;
    let mut file_gt: Option<(IdRows, PathBuf)> = None;
    let queries = match (&data.queries, extras) {
        (Some(q), _) => open_dataset(q, metric)?,
        (None, Some(e)) => {
            if let Some(rows) = e.neighbors.filter(|_| file_gt_fits) {
                file_gt = Some((rows, base_path.clone()));
            }
            let name = format!("{} (test)", base_path.display());
            Arc::new(Dataset::from_vectors(name, e.queries, metric))
        }
        (None, None) => anyhow::bail!(
            "--queries is required (only an ann-benchmarks .hdf5 base carries its own queries)"
        ),
    };
    check_dims(&base, &queries)?;
    if k > base.len() {
        anyhow::bail!(
            "--k {} asks for more neighbours than the base holds ({} vectors in {})",
            k,
            base.len(),
            base.display_name()
        );
    }
    if let Some(gt_path) = groundtruth {
        file_gt = Some((dataset::read_ivecs(gt_path)?, gt_path.clone()));
    }
    let (gt, gt_note) = match file_gt {
        Some((rows, gt_path)) => (
            GroundTruth::from_id_rows(rows, &base, queries.vectors(), &gt_path)?,
            "from file",
        ),
        None => {
            let (b, q) = (base.clone(), queries.clone());
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
    if k > gt.k() {
        anyhow::bail!(
            "--k {} is deeper than the ground truth ({} neighbours per query)",
            k,
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

/// The rescoring settings to sweep for an index that walks quantized
/// codes ([`EngineArgs::rescorings`](super::args::EngineArgs::rescorings)),
/// none otherwise.
fn rescorings_for(a: &BenchArgs, spec: &IndexSpec) -> anyhow::Result<Vec<Option<Rescoring>>> {
    if spec.storage().quantizer.is_none() {
        if a.engine.rescore_flags() {
            anyhow::bail!(
                "--oversample and --rescore apply to an index that walks quantized codes; {} walks none",
                spec.label()
            );
        }
        return Ok(vec![None]);
    }
    Ok(a.engine.rescorings().into_iter().map(Some).collect())
}

/// Builds or loads one index on the current pool.
fn obtain(how: Obtain, base: Arc<Dataset>, ctx: &WorkContext) -> crate::error::Result<BuiltIndex> {
    let started = Instant::now();
    let source = DataSource::from(base.clone());
    let (spec, index): (IndexSpec, Arc<dyn AnnIndex>) = match how {
        Obtain::Build(spec) => return spec.build(source, ctx),
        Obtain::BuildThenInsert(spec, fraction) => {
            base.validate(ctx)?;
            let family = crate::index::local_family(spec.kind())?;
            let index = family.build_then_insert(&spec, &base, fraction, ctx)?;
            (spec, index)
        }
        Obtain::Load(path) => {
            let (spec, index) = crate::index::load_index(&path)?;
            if let Some(warning) = crate::index::check_base(&*index, &path, &base)? {
                eprintln!("annscope: warning: {warning}");
            }
            (spec, index)
        }
    };
    Ok(BuiltIndex::new(
        spec,
        index,
        started.elapsed().as_secs_f64(),
        &source,
    ))
}

pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    a.engine
        .check_unused(a.kind.hnsw.quantizer, a.index_file.is_some())?;
    let plan = a.plan()?;
    let inputs = bench_inputs(a)?;
    let mut filters: Vec<Option<Arc<AllowList>>> = Vec::new();
    if plan.filters.is_empty() {
        filters.push(None);
    }
    for &f in &plan.filters {
        let allow = AllowList::random_fraction(inputs.base.len(), f, a.kind.hnsw.seed);
        if allow.count() < a.k {
            anyhow::bail!(
                "--filter {f} allows {} of the base's {} ids, fewer than --k {}: recall@{} is undefined",
                allow.count(),
                inputs.base.len(),
                a.k,
                a.k
            );
        }
        filters.push(Some(Arc::new(allow)));
    }
    let mut out = PointWriter::new(a.format, std::io::stdout().lock());
    out.header(Some(&format!(
        "{} ({} x {}), {} queries, metric {}, ground truth {}",
        inputs.base.display_name(),
        inputs.base.len(),
        inputs.base.dim(),
        inputs.queries.len(),
        inputs.base.metric(),
        inputs.gt_note
    )))?;
    for how in plan.indexes {
        let (b, build_threads) = (inputs.base.clone(), a.build_threads);
        let index = with_progress("build", move |ctx| {
            with_threads(build_threads, || obtain(how, b, ctx))?
        })?;
        let sweep = plan_sweep(&*index, &plan.efs, &a.kind.hfresh.search_probe);
        if sweep.knobs.is_empty() {
            anyhow::bail!(
                "every --search-probe ({}) is above the index's {} posting lists: nothing to measure",
                a.kind.hfresh.search_probe.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","),
                sweep.lists
            );
        }
        for p in &sweep.skipped_probes {
            eprintln!(
                "annscope: skipping --search-probe {p}: the index has only {} posting lists",
                sweep.lists
            );
        }
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
            let rescorings = rescorings_for(a, &index.spec)?;
            for (&knob, rescoring) in sweep
                .knobs
                .iter()
                .flat_map(|k| rescorings.iter().map(move |r| (k, r)))
            {
                let mut params = SearchParams::new(a.k).with_knob(knob);
                let mut shown = knob.report(a.k);
                if let Some(r) = rescoring {
                    params = params.with_rescoring(*r);
                    r.report_into(&mut shown);
                }
                if let Some(f) = filter {
                    params = params.with_filter(f.clone());
                    shown.insert("filter_fraction".into(), f.fraction().into());
                    shown.insert("filter_allowed".into(), f.count().into());
                }
                let m = eval::measure(
                    &*index,
                    Some(&inputs.base),
                    inputs.queries.vectors(),
                    gt,
                    &params,
                    RunOptions {
                        mode: plan.mode,
                        threads: a.threads,
                        runs: a.runs,
                        cold: a.cold,
                    },
                )?;
                let point = OperatingPoint::new(
                    &*index,
                    shown,
                    a.k,
                    &m,
                    index.build_secs,
                    plan.mode,
                    a.threads,
                    &inputs.base.display_name(),
                );
                out.point(&index.spec.label(), &point)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::index::{family, ParamMap};

    /// `annscope bench` with `params` as its flags (the tuner's pick).
    fn bench_args(params: &ParamMap, index: IndexKind) -> BenchArgs {
        let mut argv = vec![
            "annscope".to_string(),
            "bench".into(),
            "--index".into(),
            index.name().into(),
        ];
        for (key, value) in params {
            argv.push(format!("--{}", key.replace('_', "-")));
            argv.push(match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        match super::super::Cli::try_parse_from(&argv) {
            Ok(super::super::Cli {
                command: Some(super::super::Command::Bench(b)),
                ..
            }) => *b,
            Ok(_) => panic!("{argv:?} is not a bench command"),
            Err(e) => panic!("{argv:?}: {e}"),
        }
    }

    #[test]
    fn every_kinds_pick_read_back_as_bench_flags_is_the_same_build_and_knob() {
        let cases: Vec<(IndexSpec, SearchKnob)> = IndexKind::ALL
            .iter()
            .filter_map(|&k| family(k))
            .flat_map(|f| f.examples())
            .collect();
        for kind in IndexKind::ALL {
            assert!(
                cases.iter().any(|(s, _)| s.kind() == kind),
                "{} has no round-trip case",
                kind.name()
            );
        }
        for (spec, knob) in cases {
            let flags = crate::index::bench_flags(&spec, knob);
            let args = bench_args(&flags, spec.kind());
            let plan = args.plan().unwrap_or_else(|e| panic!("{flags:?}: {e}"));
            let built: Vec<&IndexSpec> = plan
                .indexes
                .iter()
                .map(|o| match o {
                    Obtain::Build(s) => s,
                    _ => panic!("{flags:?} does not build"),
                })
                .collect();
            assert_eq!(built, vec![&spec], "{flags:?}");
            match knob {
                SearchKnob::Ef(e) => assert_eq!(plan.efs, vec![SearchKnob::Ef(e)], "{flags:?}"),
                SearchKnob::Probe(p) => {
                    assert_eq!(args.kind.hfresh.search_probe, vec![p], "{flags:?}")
                }
                _ => assert!(!flags.contains_key("ef"), "{flags:?}"),
            }
            // And the flags again from what bench builds: nothing added.
            assert_eq!(crate::index::bench_flags(built[0], knob), flags);
            // The family is the one registered for the kind.
            let f = family(spec.kind()).expect("a local kind");
            assert_eq!(f.kind(), spec.kind());
        }
    }

    #[test]
    fn a_build_fraction_is_refused_by_a_kind_that_takes_no_inserts() {
        let args = bench_args(
            &[("build_fraction".to_string(), serde_json::json!(0.5))]
                .into_iter()
                .collect(),
            IndexKind::Flat,
        );
        let plan = args.plan().expect("planned");
        let base = Arc::new(crate::testutil::random_dataset(50, 8, Metric::L2, 1));
        let Some(how) = plan.indexes.into_iter().next() else {
            panic!("nothing to build")
        };
        let e = obtain(how, base, &WorkContext::detached())
            .err()
            .expect("flat takes no inserts");
        assert!(e.to_string().contains("--build-fraction"), "{e}");
    }
}
