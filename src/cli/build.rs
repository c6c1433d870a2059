//! `annscope build`: build an HNSW, HFresh or dynamic index and save it to
//! a file that records the base it was built on.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{check_threads, HFreshArgs, HnswArgs};
use super::io::{open_dataset, with_progress};
use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::index::{param_spec, AnnIndex, DynamicConfig, DynamicIndex, HFresh, Hnsw, IndexKind};
use crate::job::with_threads;
use crate::progress::WorkContext;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Base vectors.
    #[arg(long)]
    pub base: PathBuf,
    #[arg(long, value_enum)]
    pub metric: Metric,
    #[arg(long, value_enum, default_value_t = IndexKind::Hnsw)]
    pub index: IndexKind,
    #[command(flatten)]
    pub hnsw: HnswArgs,
    #[command(flatten)]
    pub hfresh: HFreshArgs,
    /// Dynamic index: vectors are searched flat up to this count, then through HNSW.
    #[arg(long, default_value_t = param_spec::THRESHOLD.default, long_help = param_spec::THRESHOLD.help)]
    pub threshold: usize,
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

pub(super) fn run(a: &BuildArgs) -> anyhow::Result<()> {
    check_threads("--build-threads", a.build_threads)?;
    if a.hnsw.vectors == crate::index::VectorPlace::Disk {
        anyhow::bail!(
            "an index file holds its vectors, so --vectors disk has nothing to leave out: measure vectors on disk with `annscope bench --vectors disk`"
        );
    }
    if !a.hnsw.quantizer.is_none() && !a.index.has_hnsw() && a.index != IndexKind::Hfresh {
        anyhow::bail!(
            "--quantizer applies to HNSW, dynamic and HFresh indexes (a walk or scan over codes); {} does not take it",
            a.index.name()
        );
    }
    match a.index {
        IndexKind::Hnsw => {
            let params = a.hnsw.one_build("build")?;
            let dynamic = a.hnsw.dynamic_ef()?;
            let built = build_with(a, move |b, ctx| {
                let mut h = Hnsw::build(b, params, ctx)?;
                // The file keeps the bounds `search --ef -1` uses.
                h.set_dynamic_ef(dynamic)?;
                Ok(h)
            })?;
            let index = &built.index;
            index.save(&a.out)?;
            let extra = serde_json::json!({
                "layers": index.layer_count(),
                "graph_bytes": index.graph_bytes(),
                "unreachable": index.unreachable_nodes().len(),
            });
            let text = format!(
                "{} layers, {:.1} graph bytes per vector",
                index.layer_count(),
                index.graph_bytes() as f64 / index.len().max(1) as f64
            );
            report(a, index, &built, extra, &text)
        }
        IndexKind::Hfresh => {
            let params = a.hfresh.params(&a.hnsw)?;
            let fraction = a.hfresh.build_fraction;
            let built = build_with(a, move |b, ctx| {
                if fraction < 1.0 {
                    HFresh::build_then_insert(b, params, fraction, ctx)
                } else {
                    HFresh::build(b, params, ctx)
                }
            })?;
            let index = &built.index;
            index.save(&a.out)?;
            let extra = serde_json::json!({
                "lists": index.list_count(),
                "disk_bytes": index.memory().disk_bytes,
            });
            let text = format!("{} posting lists", index.list_count());
            report(a, index, &built, extra, &text)
        }
        kind @ (IndexKind::PgvectorHnsw | IndexKind::PgvectorIvfflat) => anyhow::bail!(
            "{} lives in a PostgreSQL server: measure it with `annscope bench --engine pgvector`",
            kind.name()
        ),
        kind @ IndexKind::QdrantHnsw => anyhow::bail!(
            "{} is built in Qdrant's engine, not saved by annscope: measure it with `annscope bench --engine qdrant-edge`",
            kind.name()
        ),
        IndexKind::Dynamic => {
            let config = DynamicConfig {
                threshold: a.threshold,
                hnsw: a.hnsw.one_build("build")?,
            };
            config.validate()?;
            let built = build_with(a, move |b, ctx| DynamicIndex::from_dataset(b, config, ctx))?;
            let index = &built.index;
            index.save(&a.out)?;
            let state = serde_json::to_value(index.state())?;
            let text = format!("state {state}");
            report(
                a,
                &**index,
                &built,
                serde_json::json!({ "state": state }),
                &text,
            )
        }
        IndexKind::Flat => anyhow::bail!(
            "annscope build writes hnsw, hfresh and dynamic indexes: a flat index needs no file"
        ),
    }
}

/// Checks the output's folder, opens and validates the base, and builds on
/// `--build-threads` threads with a progress bar.
fn build_with<I: Send + 'static>(
    a: &BuildArgs,
    build: impl FnOnce(&Dataset, &WorkContext) -> crate::error::Result<I> + Send + 'static,
) -> anyhow::Result<Built<I>> {
    crate::fsutil::check_output_path(&a.out)?;
    let base = open_dataset(&a.base, a.metric)?;
    let threads = a.build_threads;
    let t0 = Instant::now();
    let (index, stages) = with_progress("build", move |ctx| {
        base.validate(ctx)?;
        let index = with_threads(threads, || build(&base, ctx))??;
        Ok((index, ctx.progress.stage_seconds()))
    })?;
    Ok(Built {
        index,
        seconds: t0.elapsed().as_secs_f64(),
        stages,
    })
}

/// A finished build: the index, its wall seconds (validation included) and
/// the seconds of each progress stage.
struct Built<I> {
    index: I,
    seconds: f64,
    stages: Vec<(String, f64)>,
}

/// Prints what was built and written: one JSON object (the common fields
/// and `extra`) or a line of text ending with `text`.
fn report<I>(
    a: &BuildArgs,
    index: &dyn AnnIndex,
    built: &Built<I>,
    extra: serde_json::Value,
    text: &str,
) -> anyhow::Result<()> {
    let build_s = built.seconds;
    let stages: Vec<serde_json::Value> = built
        .stages
        .iter()
        .map(|(stage, seconds)| serde_json::json!({ "stage": stage, "seconds": seconds }))
        .collect();
    let file_bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let mut summary = serde_json::json!({
        "index": index.kind().name(),
        "out": a.out.display().to_string(),
        "n": index.len(),
        "dim": index.dim(),
        "metric": index.metric().name(),
        "params": index.params(),
        "build_s": build_s,
        "stages": stages,
        "index_bytes": index.memory().ram_bytes,
        "file_bytes": file_bytes,
    });
    if let (Some(all), serde_json::Value::Object(more)) = (summary.as_object_mut(), extra) {
        all.extend(more);
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "built {} over {} x {} in {build_s:.1} s: {text}; wrote {} ({:.1} MB)",
            index.kind().name(),
            index.len(),
            index.dim(),
            a.out.display(),
            file_bytes as f64 / 1e6
        )?;
    }
    Ok(())
}
