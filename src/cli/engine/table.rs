//! `bench --engine pgvector --table T`: the index an existing table already
//! has, measured as it is and left as it was. Queries from a file or
//! sampled from the table (each left out of its own answer); exact answers
//! from a ground-truth file (distances computed by the server) or the
//! server's own exact scan, so the collection never leaves the server.

use std::sync::Arc;

use super::sweep::{engine_index, knobs, knobs_for, measure_and_write, Against};
use crate::cli::bench::BenchArgs;
use crate::cli::io::with_progress;
use crate::dataset::{self, Dataset, Vectors};
use crate::distance::Metric;
use crate::engine::pgvector::{PgSearcher, PgVector, Target};
use crate::engine::{exact_ground_truth, EngineIndex, EngineIndexKind, EngineIndexSpec};
use crate::eval::{GroundTruth, PointWriter};
use crate::index::{AnnIndex, ParamMap, SearchParams};
use crate::progress::WorkContext;

/// Measures the existing table's index.
pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    let e = &a.engine;
    let table = e.table.as_deref().unwrap_or_default();
    if a.data.base.is_some() {
        anyhow::bail!("--table measures a table already in the server: leave out --base");
    }
    if e.keep || e.halfvec {
        anyhow::bail!("--keep and --halfvec apply to a table annscope loads (--base), not --table");
    }
    if !a.filter.is_empty() {
        anyhow::bail!(
            "--filter marks a random share of rows in a table annscope loads (--base); \
             an existing table is filtered by its own columns, which annscope does not choose"
        );
    }
    if e.sample_queries.is_some() && a.groundtruth.is_some() {
        anyhow::bail!(
            "--groundtruth answers the queries of a file; sampled queries get theirs from the server's exact scan"
        );
    }
    crate::cli::args::check_k(a.k)?;
    let mut pg = PgVector::connect(&e.url()?)?;
    let (target, existing) =
        pg.describe_table(table, e.column.as_deref(), e.id_column.as_deref())?;
    let metric = match a.data.metric {
        Some(m) if m != existing.metric => anyhow::bail!(
            "--metric {m}, but {} serves {} ({}): its index cannot answer {m} queries",
            existing.name_sql,
            existing.metric,
            crate::engine::pgvector::sql::opclass(existing.metric, target.column_type)
        ),
        _ => existing.metric,
    };
    eprintln!(
        "annscope: {} in {}: {} rows x {}, index {} ({}), metric {metric}; nothing will be created or changed",
        target.table_name,
        pg.shown_url(),
        target.rows,
        target.dim,
        existing.name_sql,
        existing.spec.label()
    );
    if a.k > target.rows {
        anyhow::bail!(
            "--k {} asks for more neighbours than {} holds ({} rows)",
            a.k,
            target.table_name,
            target.rows
        );
    }
    let searcher = pg.searcher(target.clone(), metric);
    let (queries, excluded) = table_queries(a, &searcher, &target, metric)?;
    let (gt, gt_note) = match &a.groundtruth {
        Some(path) => {
            let rows = dataset::read_ivecs(path)?;
            (
                gt_from_file(rows, path, &searcher, queries.vectors(), a.k)?,
                "from file",
            )
        }
        None => {
            let (s, q, ex, k) = (searcher.clone(), queries.clone(), excluded.clone(), a.k);
            let gt = with_progress("exact scan in the server", move |ctx| {
                exact_ground_truth(&*s, q.vectors(), ex.as_ref().map(|e| e.as_slice()), k, ctx)
            })?;
            (gt, "from the engine's exact scan")
        }
    };
    eprintln!("annscope: ground truth {gt_note}");
    let spec = existing.spec;
    let plan = knobs(
        match spec {
            EngineIndexSpec::Hnsw { .. } => EngineIndexKind::Hnsw,
            EngineIndexSpec::Ivfflat { .. } => EngineIndexKind::Ivfflat,
            EngineIndexSpec::QdrantHnsw { .. } => {
                anyhow::bail!("a pgvector table's index is never Qdrant's")
            }
        },
        a,
    )?;
    let index = engine_index(&searcher, spec, metric, existing.bytes, 0.0);
    let mut out = PointWriter::new(a.format, std::io::stdout().lock());
    out.header(Some(&format!(
        "{} ({} x {}) in pgvector {}, {} queries, metric {metric}, ground truth {gt_note}",
        target.table_name,
        target.rows,
        target.dim,
        pg.extension_version,
        queries.len(),
    )))?;
    let dataset = format!("pgvector:{}", target.table_name);
    // Sampled queries leave their own row out of the answer.
    let wrapped;
    let measured: &dyn AnnIndex = match &excluded {
        Some(ex) => {
            wrapped = Excluding {
                inner: &index,
                excluded: ex,
                queries: queries.vectors(),
            };
            &wrapped
        }
        None => &index,
    };
    for &knob in knobs_for(&plan, spec) {
        let params = SearchParams::new(a.k).with_knob(knob);
        let against = Against {
            base: None,
            queries: queries.vectors(),
            gt: &gt,
            dataset: &dataset,
        };
        measure_and_write(
            &mut out,
            a,
            &index,
            measured,
            &against,
            &params,
            ParamMap::new(),
        )?;
    }
    Ok(())
}

/// Each sampled query's own id, to leave out of its answer (None: queries
/// from a file).
type SampledIds = Option<Arc<Vec<u32>>>;

/// Queries for `--table`: a file, or a seeded sample of the table's rows
/// (their ids returned, to be left out of their own answers).
fn table_queries(
    a: &BenchArgs,
    searcher: &PgSearcher,
    target: &Target,
    metric: Metric,
) -> anyhow::Result<(Arc<Dataset>, SampledIds)> {
    match (&a.data.queries, a.engine.sample_queries) {
        (Some(path), _) => {
            let q = crate::cli::io::open_dataset(path, metric)?;
            if q.dim() != target.dim {
                anyhow::bail!(
                    "{} has dimension {}, but {} holds vectors of dimension {}",
                    path.display(),
                    q.dim(),
                    target.table_name,
                    target.dim
                );
            }
            Ok((q, None))
        }
        (None, Some(0)) => anyhow::bail!("--sample-queries must be at least 1"),
        (None, Some(n)) => {
            let (ids, rows) = searcher.sample_rows(n, a.kind.hnsw.seed)?;
            let flat: Vec<f32> = rows.into_iter().flatten().collect();
            let v = Vectors::from_vec(flat, target.dim)?;
            // Cosine queries are compared as the server compares them; a
            // zero vector has no direction.
            let checked = Dataset::from_vectors("sampled queries", v, metric);
            let ctx = WorkContext::detached();
            checked.validate(&ctx)?;
            Ok((Arc::new(checked), Some(Arc::new(ids))))
        }
        (None, None) => anyhow::bail!("--table needs --queries FILE or --sample-queries N"),
    }
}

/// Ground truth from an .ivecs file for `--table`: the file's ids, each
/// one's distance computed by the server (nothing is pulled).
fn gt_from_file(
    rows: dataset::IdRows,
    path: &std::path::Path,
    searcher: &PgSearcher,
    queries: &Vectors,
    k: usize,
) -> anyhow::Result<GroundTruth> {
    if rows.n != queries.len() {
        anyhow::bail!(
            "{} has {} rows, but there are {} queries",
            path.display(),
            rows.n,
            queries.len()
        );
    }
    if rows.k < k {
        anyhow::bail!(
            "{} holds {} neighbours per query, fewer than --k {k}",
            path.display(),
            rows.k
        );
    }
    let mut ids = Vec::with_capacity(rows.n * k);
    let mut distances = Vec::with_capacity(rows.n * k);
    for qi in 0..rows.n {
        let row = rows.row(qi);
        let d = searcher.distances_to(queries.row(qi), &row[..k])?;
        for (&id, dist) in row[..k].iter().zip(d) {
            let dist = dist.ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: row {qi} names id {id}, which the table does not hold",
                    path.display()
                )
            })?;
            ids.push(id);
            distances.push(dist);
        }
    }
    Ok(GroundTruth::from_parts(k, ids, distances)?)
}

/// An index that leaves each sampled query's own row out of its answer.
struct Excluding<'a> {
    inner: &'a EngineIndex,
    excluded: &'a [u32],
    queries: &'a Vectors,
}

impl AnnIndex for Excluding<'_> {
    fn kind(&self) -> crate::index::IndexKind {
        self.inner.kind()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn metric(&self) -> Metric {
        self.inner.metric()
    }
    fn search(
        &self,
        query: &[f32],
        params: &SearchParams,
    ) -> crate::error::Result<crate::index::Neighbors> {
        // The query's row: found by identity of the slice among the queries.
        let qi = (0..self.queries.len())
            .find(|&i| std::ptr::eq(self.queries.row(i).as_ptr(), query.as_ptr()));
        let mut p = params.clone();
        p.k = params.k + 1;
        let mut r = self.inner.search(query, &p)?;
        if let Some(own) = qi.map(|i| self.excluded[i]) {
            if let Some(pos) = r.ids.iter().position(|&id| id == own) {
                r.ids.remove(pos);
                r.distances.remove(pos);
            }
        }
        r.ids.truncate(params.k);
        r.distances.truncate(params.k);
        Ok(r)
    }
    fn memory(&self) -> crate::index::MemoryUsage {
        self.inner.memory()
    }
    fn params(&self) -> crate::index::ParamMap {
        self.inner.params()
    }
}
