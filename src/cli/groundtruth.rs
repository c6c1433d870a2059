//! `annscope groundtruth`: exact top-k of each query, written as .ivecs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::args::{check_k, check_threads, DataArgs};
use super::io::{check_dims, open_dataset, with_progress};
use crate::dataset;
use crate::eval::GroundTruth;
use crate::job::with_threads;

#[derive(Args, Debug)]
pub struct GroundtruthArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Neighbours per query.
    #[arg(long, default_value_t = 100)]
    pub k: usize,
    /// Output .ivecs file (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub(super) fn run(a: &GroundtruthArgs) -> anyhow::Result<()> {
    check_k(a.k)?;
    check_threads("--threads", a.threads)?;
    crate::fsutil::check_output_path(&a.out)?;
    let metric = a.data.metric()?;
    let queries_path = a.data.queries()?;
    let base = open_dataset(a.data.base()?, metric)?;
    let queries = open_dataset(queries_path, metric)?;
    check_dims(&base, &queries)?;
    let (k, threads) = (a.k, a.threads);
    let b = base.clone();
    let gt = with_progress("groundtruth", move |ctx| {
        queries.validate(ctx)?;
        with_threads(threads, || {
            GroundTruth::compute(&b, queries.vectors(), k, ctx)
        })?
    })?;
    dataset::write_ivecs(&a.out, &gt.to_id_rows(k))
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "wrote {} rows of {} neighbours to {}",
        gt.n_queries(),
        gt.k(),
        a.out.display()
    );
    Ok(())
}
