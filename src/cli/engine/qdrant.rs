//! `annscope bench --engine qdrant-edge`: Qdrant's HNSW (and its quantized
//! codes) built and searched by Qdrant's own engine in this process, with
//! the same ground truth, recall rule and JSON lines as annscope's indexes
//! and pgvector. Builds: `--m` × `--ef-construction` (Qdrant's
//! `ef_construct`) × `--quantization`; sweeps without rebuilding: `--ef`
//! (`hnsw_ef`) × `--oversample` (quantized builds only) with `--rescore`.

use super::super::bench::BenchArgs;
use crate::engine::{EngineIndexKind, EngineIndexSpec, QdrantQuantization};
use crate::index::param_spec::{QD_HNSW_EF, QD_OVERSAMPLING};
use crate::index::{Rescoring, SearchKnob};

/// The builds and search settings asked for, checked before any work
/// (also without the `qdrant` feature, so a bad flag is named first).
#[cfg_attr(not(feature = "qdrant"), allow(dead_code))]
pub(super) struct QdrantPlan {
    pub builds: Vec<EngineIndexSpec>,
    pub knobs: Vec<SearchKnob>,
    pub rescorings: Vec<Rescoring>,
}

pub(super) fn plan(a: &BenchArgs) -> anyhow::Result<QdrantPlan> {
    let e = &a.engine;
    if e.engine_index != EngineIndexKind::Hnsw {
        anyhow::bail!("--engine-index ivfflat: Qdrant's index is HNSW (--engine-index hnsw)");
    }
    if a.batch {
        anyhow::bail!("--batch: Qdrant is searched one query per request; use --threads for concurrent clients");
    }
    if !a.filter.is_empty() {
        anyhow::bail!("--filter: filtered search is not measured on Qdrant yet");
    }
    if a.index_file.is_some() {
        anyhow::bail!("--index-file and --engine: measure one or the other");
    }
    let mut builds = Vec::new();
    for &m in &a.kind.hnsw.m {
        for &ef_construct in &a.kind.hnsw.ef_construction {
            for &quantization in &e.quantization {
                let spec = EngineIndexSpec::QdrantHnsw {
                    m,
                    ef_construct,
                    quantization,
                };
                spec.validate()?;
                builds.push(spec);
            }
        }
    }
    let knobs =
        a.ef.iter()
            .map(|&ef| match usize::try_from(ef) {
                Ok(ef) if ef >= 1 => {
                    QD_HNSW_EF
                        .check(ef)
                        .map_err(|err| anyhow::anyhow!("--ef {ef}: {err}"))?;
                    Ok(SearchKnob::Ef(ef))
                }
                _ => anyhow::bail!("--ef {ef}: Qdrant's hnsw_ef takes 1 to 10000 (no dynamic ef)"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
    for &oversample in &e.oversample {
        QD_OVERSAMPLING
            .check(oversample)
            .map_err(|err| anyhow::anyhow!("--oversample {oversample}: {err}"))?;
    }
    let rescorings = e.rescorings();
    Ok(QdrantPlan {
        builds,
        knobs,
        rescorings,
    })
}

/// The rescorings measured on a build: one pass (none) on the original
/// vectors, every oversampling on codes.
#[cfg_attr(not(feature = "qdrant"), allow(dead_code))]
pub(super) fn rescorings_for(plan: &QdrantPlan, spec: EngineIndexSpec) -> Vec<Option<Rescoring>> {
    match spec {
        EngineIndexSpec::QdrantHnsw {
            quantization: QdrantQuantization::None,
            ..
        } => vec![None],
        _ => plan.rescorings.iter().copied().map(Some).collect(),
    }
}

#[cfg(feature = "qdrant")]
pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    use super::super::bench::bench_inputs;
    use super::super::io::with_progress;
    use super::sweep::{measure_and_write, Against};
    use crate::engine::qdrant;
    use crate::eval::PointWriter;
    use crate::index::{ParamMap, SearchParams};

    let plan = plan(a)?;
    let inputs = bench_inputs(a)?;
    let metric = inputs.base.metric();
    let mut out = PointWriter::new(a.format, std::io::stdout().lock());
    out.header(Some(&format!(
        "{} ({} x {}) in Qdrant edge (in-process), {} queries, metric {metric}, ground truth {}",
        inputs.base.display_name(),
        inputs.base.len(),
        inputs.base.dim(),
        inputs.queries.len(),
        inputs.gt_note
    )))?;
    let dataset = inputs.base.display_name();
    let against = Against {
        base: Some(&inputs.base),
        queries: inputs.queries.vectors(),
        gt: &inputs.gt,
        dataset: &dataset,
    };
    for spec in &plan.builds {
        let (base, spec) = (inputs.base.clone(), *spec);
        let shard = with_progress("Qdrant build", move |ctx| {
            qdrant::QdrantShard::build(&base, spec, ctx)
        })?;
        eprintln!(
            "annscope: {}: {} vectors upserted in {:.2} s, all indexed by optimize() in {:.2} s, {} bytes in segments",
            spec.label(),
            inputs.base.len(),
            shard.upsert_secs,
            shard.optimize_secs,
            shard.files.segment_bytes
        );
        let index = shard.into_index(&inputs.base, spec, None)?;
        for &knob in &plan.knobs {
            for rescoring in rescorings_for(&plan, spec) {
                let mut params = SearchParams::new(a.k).with_knob(knob);
                let mut extra = ParamMap::new();
                if let Some(r) = rescoring {
                    params = params.with_rescoring(r);
                    extra.insert("oversampling".into(), r.oversample.into());
                    extra.insert("rescore".into(), r.rescore.into());
                }
                measure_and_write(&mut out, a, &index, &index, &against, &params, extra)?;
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "qdrant"))]
pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
    plan(a)?;
    anyhow::bail!(
        "--engine qdrant-edge: this annscope was built without Qdrant; build it with \
         `cargo build --release --features qdrant`"
    )
}
