//! What both ways into an engine bench share: the search settings to sweep
//! on an index of a kind, the index as the bench measures it, and how one
//! measured point is written (annscope's keys and the engine's own).

use std::sync::Arc;

use super::super::bench::BenchArgs;
use crate::distance::Metric;
use crate::engine::pgvector::PgSearcher;
use crate::engine::{EngineIndex, EngineIndexKind, EngineIndexSpec};
use crate::eval::{self, OperatingPoint, PointWriter, QueryMode, RunOptions};
use crate::index::param_spec::PG_PROBES;
use crate::index::{AnnIndex, ParamMap, SearchKnob};

/// The search settings to sweep on an index of `kind`: `--ef` as
/// hnsw.ef_search, `--probes` as ivfflat.probes.
pub(super) fn knobs(kind: EngineIndexKind, a: &BenchArgs) -> anyhow::Result<Vec<SearchKnob>> {
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

/// IVFFlat probes above the build's lists measure nothing new: skipped.
pub(super) fn knobs_for(
    knobs: &[SearchKnob],
    spec: EngineIndexSpec,
) -> impl Iterator<Item = &SearchKnob> {
    knobs.iter().filter(move |k| match (k, spec) {
        (SearchKnob::Probe(p), EngineIndexSpec::Ivfflat { lists }) => *p <= lists,
        _ => true,
    })
}

/// The engine's index on `searcher`'s table, as the bench measures it.
pub(in crate::cli) fn engine_index(
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

/// What every point of one engine bench is measured against.
pub(super) struct Against<'a> {
    /// The base, for ann-benchmarks' recall rule (None: distances as the
    /// ground truth holds them, for a collection never pulled here).
    pub base: Option<&'a crate::dataset::Dataset>,
    pub queries: &'a crate::dataset::Vectors,
    pub gt: &'a eval::GroundTruth,
    /// The `dataset` field of each point.
    pub dataset: &'a str,
}

/// Measures `measured` (the index itself, or a wrapper of it) with
/// `params` and writes the point as `index`'s, with `extra` settings.
pub(super) fn measure_and_write(
    out: &mut PointWriter<std::io::StdoutLock<'static>>,
    a: &BenchArgs,
    index: &EngineIndex,
    measured: &dyn AnnIndex,
    against: &Against<'_>,
    params: &crate::index::SearchParams,
    extra: ParamMap,
) -> anyhow::Result<()> {
    let m = eval::measure(
        measured,
        against.base,
        against.queries,
        against.gt,
        params,
        RunOptions {
            mode: QueryMode::Single,
            threads: a.threads,
            runs: a.runs,
            cold: false,
        },
    )?;
    write_point(out, a, index, params.knob, extra, &m, against.dataset)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn write_point(
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
