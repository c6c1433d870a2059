//! `annscope build`: build an HNSW or HFresh index and save it to a file
//! that records the base it was built on.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{check_threads, HFreshArgs, HnswArgs};
use super::io::{open_dataset, with_progress};
use crate::distance::Metric;
use crate::index::{param_spec, AnnIndex, DynamicConfig, DynamicIndex, HFresh, Hnsw, IndexKind};
use crate::job::with_threads;

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
    match a.index {
        IndexKind::Hnsw => build_hnsw(a),
        IndexKind::Hfresh => build_hfresh(a),
        IndexKind::Dynamic => build_dynamic(a),
        IndexKind::Flat => {
            anyhow::bail!("annscope build writes hnsw, hfresh and dynamic indexes: a flat index needs no file")
        }
    }
}

fn build_dynamic(a: &BuildArgs) -> anyhow::Result<()> {
    let config = DynamicConfig {
        threshold: a.threshold,
        hnsw: a.hnsw.one_build("build")?,
    };
    config.validate()?;
    crate::fsutil::check_output_path(&a.out)?;
    let base = open_dataset(&a.base, a.metric)?;
    let (threads, b) = (a.build_threads, base.clone());
    let t0 = Instant::now();
    let index = with_progress("build", move |ctx| {
        b.validate(ctx)?;
        with_threads(threads, || DynamicIndex::from_dataset(&b, config, ctx))?
    })?;
    let build_s = t0.elapsed().as_secs_f64();
    index.save(&a.out)?;
    let file_bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let summary = serde_json::json!({
        "index": "dynamic",
        "out": a.out.display().to_string(),
        "n": index.len(),
        "dim": index.dim(),
        "metric": index.metric().name(),
        "params": index.params(),
        "state": index.state(),
        "build_s": build_s,
        "index_bytes": index.memory().ram_bytes,
        "file_bytes": file_bytes,
    });
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "built dynamic over {} x {} in {build_s:.1} s ({}); wrote {} ({:.1} MB)",
            index.len(),
            index.dim(),
            serde_json::to_string(&index.state())?,
            a.out.display(),
            file_bytes as f64 / 1e6
        )?;
    }
    Ok(())
}

fn build_hfresh(a: &BuildArgs) -> anyhow::Result<()> {
    let params = a.hfresh.params(a.hnsw.seed)?;
    crate::fsutil::check_output_path(&a.out)?;
    let base = open_dataset(&a.base, a.metric)?;
    let (threads, fraction, b) = (a.build_threads, a.hfresh.build_fraction, base.clone());
    let t0 = Instant::now();
    let index = with_progress("build", move |ctx| {
        b.validate(ctx)?;
        with_threads(threads, || {
            if fraction < 1.0 {
                HFresh::build_then_insert(&b, params, fraction, ctx)
            } else {
                HFresh::build(&b, params, ctx)
            }
        })?
    })?;
    let build_s = t0.elapsed().as_secs_f64();
    index.save(&a.out)?;
    let file_bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let mem = index.memory();
    let summary = serde_json::json!({
        "index": "hfresh",
        "out": a.out.display().to_string(),
        "n": index.len(),
        "dim": index.dim(),
        "metric": index.metric().name(),
        "params": index.params(),
        "lists": index.list_count(),
        "build_s": build_s,
        "index_bytes": mem.ram_bytes,
        "disk_bytes": mem.disk_bytes,
        "file_bytes": file_bytes,
    });
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "built hfresh over {} x {} in {build_s:.1} s: {} posting lists; wrote {} ({:.1} MB)",
            index.len(),
            index.dim(),
            index.list_count(),
            a.out.display(),
            file_bytes as f64 / 1e6
        )?;
    }
    Ok(())
}

fn build_hnsw(a: &BuildArgs) -> anyhow::Result<()> {
    let params = a.hnsw.one_build("build")?;
    crate::fsutil::check_output_path(&a.out)?;
    let dynamic = a.hnsw.dynamic_ef()?;
    let base = open_dataset(&a.base, a.metric)?;
    let threads = a.build_threads;
    let b = base.clone();
    let t0 = Instant::now();
    let index = with_progress("build", move |ctx| {
        b.validate(ctx)?;
        let mut h = with_threads(threads, || Hnsw::build(&b, params, ctx))??;
        // The file keeps the bounds `search --ef -1` uses.
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
