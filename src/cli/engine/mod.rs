//! `annscope bench --engine pgvector` (and `qdrant-edge`, in [`qdrant`]):
//! the engines users deploy, measured as
//! annscope measures its own indexes (same ground truth, recall rule and
//! JSON lines). Two ways in: `--base` loads a file into a new table
//! (dropped at the end unless `--keep`) and builds the engine's index with
//! each setting; `--table` measures the index an existing table already
//! has, creating nothing, with exact answers from the engine's own scan
//! unless `--groundtruth` is given, so the collection never leaves the
//! server.

use std::sync::Arc;

mod qdrant;
mod sweep;
mod table;

pub(super) use sweep::engine_index;
use sweep::{knobs, knobs_for, measure_and_write, Against};

use super::bench::{bench_inputs, BenchArgs};
use super::io::with_progress;
use crate::engine::pgvector::{sql::ColumnType, LoadMethod, PgVector};
use crate::engine::{EngineIndexKind, EngineIndexSpec};
use crate::eval::{GroundTruth, PointWriter};
use crate::index::{AllowList, ParamMap, SearchKnob, SearchParams};

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
            for &m in &a.kind.hnsw.m {
                for &ef_construction in &a.kind.hnsw.ef_construction {
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

pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    a.engine.check_unused(a.kind.hnsw.quantizer, false)?;
    if a.engine.engine == Some(crate::engine::EngineKind::QdrantEdge) {
        return qdrant::run(a);
    }
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
            a.kind.hnsw.seed,
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
    let dataset = inputs.base.display_name();
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
                let against = Against {
                    base: Some(&inputs.base),
                    queries: inputs.queries.vectors(),
                    gt,
                    dataset: &dataset,
                };
                measure_and_write(&mut out, a, &index, &index, &against, &params, extra)?;
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
