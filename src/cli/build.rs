//! `annscope build`: build an HNSW index and save it to a file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{check_threads, HnswArgs};
use super::io::{open_dataset, with_progress};
use crate::distance::Metric;
use crate::index::{AnnIndex, Hnsw, IndexKind};
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
    if a.index != IndexKind::Hnsw {
        anyhow::bail!(
            "annscope build writes HNSW indexes: use --index hnsw (a flat index needs no file)"
        );
    }
    let params = a.hnsw.one_build("build")?;
    check_threads("--build-threads", a.build_threads)?;
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
