//! `annscope bench --engine pgvector`: the engine users deploy, measured as
//! annscope measures its own indexes (same ground truth, recall rule and
//! JSON lines). Two ways in: `--base` loads a file into a new table
//! (dropped at the end unless `--keep`) and builds the engine's index with
//! each setting; `--table` measures the index an existing table already
//! has, creating nothing, with exact answers from the engine's own scan
//! unless `--groundtruth` is given, so the collection never leaves the
//! server.

use std::sync::Arc;

use clap::Args;

mod table;

use super::bench::{bench_inputs, BenchArgs};
use super::io::with_progress;
use crate::distance::Metric;
use crate::engine::pgvector::{sql::ColumnType, LoadMethod, PgSearcher, PgVector};
use crate::engine::{EngineIndex, EngineIndexKind, EngineIndexSpec, EngineKind};
use crate::eval::{self, GroundTruth, OperatingPoint, PointWriter, QueryMode};
use crate::index::param_spec::{PG_LISTS, PG_PROBES};
use crate::index::{AllowList, AnnIndex, ParamMap, SearchKnob, SearchParams};

/// Where `--engine-url` falls back to.
pub const URL_ENV: &str = "ANNSCOPE_PG_URL";

#[derive(Args, Debug)]
pub struct EngineArgs {
    /// Measure an engine's index instead of annscope's: pgvector (PostgreSQL).
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// The engine's connection URL, e.g. postgresql://user:password@host:5432/db
    /// (default: $ANNSCOPE_PG_URL). The password is never printed.
    #[arg(long)]
    pub engine_url: Option<String>,
    /// The engine's index kind: hnsw (--m, --ef-construction; swept by --ef as
    /// hnsw.ef_search) or ivfflat (--lists; swept by --probes).
    #[arg(long, value_enum, default_value_t = EngineIndexKind::Hnsw)]
    pub engine_index: EngineIndexKind,
    /// pgvector IVFFlat lists, one build each.
    #[arg(long, value_delimiter = ',', default_values_t = [PG_LISTS.default], long_help = PG_LISTS.help)]
    pub lists: Vec<usize>,
    /// pgvector IVFFlat probes to sweep (no rebuild).
    #[arg(long, value_delimiter = ',', default_values_t = PG_PROBES.sweep.to_vec(), long_help = PG_PROBES.help)]
    pub probes: Vec<usize>,
    /// Store the vectors as halfvec (2 bytes per value) instead of vector.
    #[arg(long)]
    pub halfvec: bool,
    /// Keep the table annscope loaded (its name is printed) instead of dropping it.
    #[arg(long)]
    pub keep: bool,
    /// Measure the index an existing table already has (no --base; nothing is created).
    #[arg(long, conflicts_with = "base")]
    pub table: Option<String>,
    /// The table's vector column (found by itself when there is one).
    #[arg(long, requires = "table")]
    pub column: Option<String>,
    /// The table's id column (default: its primary key). Ids are the
    /// ground truth's row numbers.
    #[arg(long, requires = "table")]
    pub id_column: Option<String>,
    /// Sample this many queries from the table (seeded by --seed); each is
    /// left out of its own results and ground truth.
    #[arg(long, requires = "table", conflicts_with = "queries")]
    pub sample_queries: Option<usize>,
    /// How rows are loaded: copy (binary COPY) or insert (row by row, to compare).
    #[arg(long, value_enum, default_value_t = LoadMethod::Copy)]
    pub load_method: LoadMethod,
}

impl EngineArgs {
    /// Refuses engine flags given without `--engine`.
    pub fn check_unused(&self) -> anyhow::Result<()> {
        if self.engine.is_none()
            && (self.engine_url.is_some() || self.table.is_some() || self.keep || self.halfvec)
        {
            anyhow::bail!("--engine-url, --table, --keep and --halfvec need --engine pgvector");
        }
        Ok(())
    }

    fn url(&self) -> anyhow::Result<String> {
        match &self.engine_url {
            Some(u) => Ok(u.clone()),
            None => std::env::var(URL_ENV).map_err(|_| {
                anyhow::anyhow!("--engine-url is required (or set {URL_ENV}), e.g. postgresql://user:password@127.0.0.1:5432/postgres")
            }),
        }
    }
}

/// The builds and knobs asked for, checked before anything connects.
struct EnginePlan {
    builds: Vec<EngineIndexSpec>,
    knobs: Vec<SearchKnob>,
}

fn plan(a: &BenchArgs) -> anyhow::Result<EnginePlan> {
    let e = &a.engine;
    if a.batch {
        anyhow::bail!("--batch: an engine answers one query per request; use --threads for concurrent clients");
    }
    for &f in &a.filter {
        if !(f > 0.0 && f <= 1.0) {
            anyhow::bail!("--filter {f}: give the share of ids allowed, above 0 and at most 1");
        }
    }
    if a.index_file.is_some() {
        anyhow::bail!("--index-file and --engine: measure one or the other");
    }
    let builds: Vec<EngineIndexSpec> = match e.engine_index {
        EngineIndexKind::Hnsw => {
            let mut b = Vec::new();
            for &m in &a.hnsw.m {
                for &ef_construction in &a.hnsw.ef_construction {
                    b.push(EngineIndexSpec::Hnsw { m, ef_construction });
                }
            }
            b
        }
        EngineIndexKind::Ivfflat => e
            .lists
            .iter()
            .map(|&lists| EngineIndexSpec::Ivfflat { lists })
            .collect(),
    };
    for b in &builds {
        b.validate()?;
    }
    let knobs = knobs(e.engine_index, a)?;
    Ok(EnginePlan { builds, knobs })
}

/// The search settings to sweep on an index of `kind`: `--ef` as
/// hnsw.ef_search, `--probes` as ivfflat.probes.
fn knobs(kind: EngineIndexKind, a: &BenchArgs) -> anyhow::Result<Vec<SearchKnob>> {
    match kind {
        EngineIndexKind::Hnsw => {
            a.ef.iter()
                .map(|&ef| match usize::try_from(ef) {
                    Ok(ef) if ef >= 1 => {
                        crate::index::param_spec::PG_EF_SEARCH.check(ef)?;
                        Ok(SearchKnob::Ef(ef))
                    }
                    _ => anyhow::bail!(
                        "--ef {ef}: pgvector's hnsw.ef_search takes 1 to 1000 (no dynamic ef)"
                    ),
                })
                .collect()
        }
        EngineIndexKind::Ivfflat => a
            .engine
            .probes
            .iter()
            .map(|&p| {
                PG_PROBES.check(p)?;
                Ok(SearchKnob::Probe(p))
            })
            .collect(),
    }
}

pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    if a.engine.table.is_some() {
        return table::run(a);
    }
    let plan = plan(a)?;
    let inputs = bench_inputs(a)?;
    let pg = PgVector::connect(&a.engine.url()?)?;
    eprintln!(
        "annscope: connected to {} (pgvector {})",
        pg.shown_url(),
        pg.extension_version
    );
    let column = if a.engine.halfvec {
        ColumnType::Halfvec
    } else {
        ColumnType::Vector
    };
    let (method, base) = (a.engine.load_method, inputs.base.clone());
    let (mut pg, target, load) = with_progress("load", move |ctx| {
        let mut pg = pg;
        let (target, load) = pg.load(&base, column, method, ctx)?;
        Ok((pg, target, load))
    })?;
    eprintln!(
        "annscope: loaded {} rows into {} in {:.2} s ({:.0} rows/s, {})",
        load.rows,
        target.table_name,
        load.seconds,
        load.rows as f64 / load.seconds.max(1e-9),
        match a.engine.load_method {
            LoadMethod::Copy => "binary COPY",
            LoadMethod::Insert => "row-by-row INSERT",
        }
    );
    let metric = inputs.base.metric();
    let searcher = pg.searcher(target.clone(), metric);
    // Filtered search: each share of ids marked in a column of its own
    // before any index exists; exact answers among the allowed ids.
    let mut cases: Vec<(Option<Arc<AllowList>>, GroundTruth)> = Vec::new();
    if a.filter.is_empty() {
        cases.push((None, inputs.gt.clone()));
    }
    for &f in &a.filter {
        let allow = Arc::new(AllowList::random_fraction(
            inputs.base.len(),
            f,
            a.hnsw.seed,
        ));
        if allow.count() < a.k {
            anyhow::bail!(
                "--filter {f} allows {} of the base's {} ids, fewer than --k {}",
                allow.count(),
                inputs.base.len(),
                a.k
            );
        }
        let (base, queries, f2, k) = (
            inputs.base.clone(),
            inputs.queries.clone(),
            allow.clone(),
            a.k,
        );
        let gt = with_progress("filtered groundtruth", move |ctx| {
            GroundTruth::compute_filtered(&base, queries.vectors(), k, Some(&f2), ctx)
        })?;
        cases.push((Some(allow), gt));
    }
    let marked: Vec<Arc<AllowList>> = cases.iter().filter_map(|(f, _)| f.clone()).collect();
    pg.mark_allowed(&searcher, &marked)?;
    let mut out = PointWriter::new(a.format, std::io::stdout().lock());
    out.header(Some(&format!(
        "{} ({} x {}) in pgvector {} ({}), {} queries, metric {metric}, ground truth {}",
        inputs.base.display_name(),
        inputs.base.len(),
        inputs.base.dim(),
        pg.extension_version,
        column.name(),
        inputs.queries.len(),
        inputs.gt_note
    )))?;
    for spec in plan.builds {
        let t = target.clone();
        let (pg_back, index_name, build_secs, bytes) = with_progress("CREATE INDEX", move |ctx| {
            let (name, secs, bytes) = pg.create_index(&t, spec, metric, ctx)?;
            Ok((pg, name, secs, bytes))
        })?;
        pg = pg_back;
        let index = engine_index(&searcher, spec, metric, bytes, build_secs);
        for (filter, gt) in &cases {
            for &knob in knobs_for(&plan.knobs, spec) {
                let mut params = SearchParams::new(a.k).with_knob(knob);
                let mut extra = ParamMap::new();
                if let Some(f) = filter {
                    params = params.with_filter(f.clone());
                    extra.insert("filter_fraction".into(), f.fraction().into());
                    extra.insert("filter_allowed".into(), f.count().into());
                    extra.insert("iterative_scan".into(), "relaxed_order".into());
                }
                let m = eval::measure(
                    &index,
                    Some(&inputs.base),
                    inputs.queries.vectors(),
                    gt,
                    &params,
                    QueryMode::Single,
                    a.threads,
                    a.runs,
                )?;
                let dataset = inputs.base.display_name();
                write_point(&mut out, a, &index, knob, extra, &m, &dataset)?;
            }
        }
        searcher.release()?;
        pg.drop_index(&index_name)?;
    }
    searcher.release()?;
    if a.engine.keep {
        for t in pg.keep_tables() {
            eprintln!("annscope: kept table {t} (--keep)");
        }
    }
    pg.cleanup()?;
    Ok(())
}

/// IVFFlat probes above the build's lists measure nothing new: skipped.
fn knobs_for(knobs: &[SearchKnob], spec: EngineIndexSpec) -> impl Iterator<Item = &SearchKnob> {
    knobs.iter().filter(move |k| match (k, spec) {
        (SearchKnob::Probe(p), EngineIndexSpec::Ivfflat { lists }) => *p <= lists,
        _ => true,
    })
}

fn engine_index(
    searcher: &Arc<PgSearcher>,
    spec: EngineIndexSpec,
    metric: Metric,
    bytes: u64,
    build_secs: f64,
) -> EngineIndex {
    let target = searcher.target();
    EngineIndex::new(
        searcher.clone(),
        spec.kind(),
        spec.params(),
        target.rows,
        target.dim,
        metric,
        bytes,
        build_secs,
    )
}

#[allow(clippy::too_many_arguments)]
fn write_point(
    out: &mut PointWriter<std::io::StdoutLock<'static>>,
    a: &BenchArgs,
    index: &EngineIndex,
    knob: SearchKnob,
    extra: ParamMap,
    m: &eval::Measurement,
    dataset: &str,
) -> anyhow::Result<()> {
    let mut shown = knob.report_on(index, a.k);
    shown.extend(extra);
    let point = OperatingPoint::new(
        index,
        shown,
        a.k,
        m,
        index.build_secs,
        QueryMode::Single,
        a.threads,
        dataset,
    );
    let label = format!(
        "{} {}",
        index.kind().name(),
        index
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    out.point(&label, &point)?;
    Ok(())
}
