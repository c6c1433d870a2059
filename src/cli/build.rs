//! `annscope build`: build an index of a kind that saves (HNSW, HFresh,
//! dynamic) through its family and save it to a file that records the base
//! it was built on.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::args::check_threads;
use super::io::{open_dataset, with_progress};
use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::index::registry::kinds_where;
use crate::index::{local_family, AnnIndex, IndexKind, KindFlags};
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
    pub kind: KindFlags,
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
    let h = &a.kind.hnsw;
    if h.vectors == crate::index::VectorPlace::Disk {
        anyhow::bail!(
            "an index file holds its vectors, so --vectors disk has nothing to leave out: measure vectors on disk with `annscope bench --vectors disk`"
        );
    }
    if a.index == IndexKind::Flat {
        if !h.quantizer.is_none() {
            anyhow::bail!(
                "--quantizer applies to the indexes build writes that walk or scan codes ({}); flat does not take it",
                kinds_where(|f| f.storage_use().codes && f.kind() != IndexKind::Flat)
            );
        }
        anyhow::bail!(
            "annscope build writes hnsw, hfresh and dynamic indexes: a flat index needs no file"
        );
    }
    let family = local_family(a.index)?;
    let [spec] = family
        .specs(&a.kind)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("annscope build takes one --m and one --ef-construction"))?;
    let fraction = a.kind.build_fraction()?;
    let flags = a.kind.clone();
    let built = build_with(a, move |b, ctx| {
        if fraction < 1.0 {
            family.build_then_insert(&spec, b, fraction, ctx)
        } else {
            family.build_for_file(&spec, &flags, b, ctx)
        }
    })?;
    let index = &built.index;
    index.save(&a.out)?;
    let (extra, text) = index.file_summary();
    report(a, &**index, &built, extra, &text)
}

/// Checks the output's folder, opens and validates the base, and builds on
/// `--build-threads` threads with a progress bar.
fn build_with<I: Send + 'static>(
    a: &BuildArgs,
    build: impl FnOnce(&Arc<Dataset>, &WorkContext) -> crate::error::Result<I> + Send + 'static,
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
