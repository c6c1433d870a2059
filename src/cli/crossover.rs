//! `annscope crossover`: where flat and HNSW latency cross on this data,
//! the dynamic index's threshold.

use std::io::Write;

use clap::Args;

use super::args::{check_k, DataArgs, HnswArgs};
use super::io::{check_dims, open_dataset, with_progress};
use crate::eval::crossover::{default_sizes, measure_crossover};

#[derive(Args, Debug)]
pub struct CrossoverArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// HNSW must reach this recall@k at the ef it is timed at.
    #[arg(long, default_value_t = 0.95)]
    pub recall: f64,
    /// Collection sizes (prefixes of the base); default 100, 200, 500, 1000 … n.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    #[command(flatten)]
    pub hnsw: HnswArgs,
}

pub(super) fn run(a: &CrossoverArgs) -> anyhow::Result<()> {
    let params = a.hnsw.one_build("crossover")?;
    check_k(a.k)?;
    let metric = a.data.metric()?;
    let base = open_dataset(a.data.base()?, metric)?;
    let queries = open_dataset(a.data.queries()?, metric)?;
    check_dims(&base, &queries)?;
    let sizes = if a.sizes.is_empty() {
        default_sizes(base.len())
    } else {
        a.sizes.clone()
    };
    let (k, target) = (a.k, a.recall);
    let (points, at) = with_progress("crossover", move |ctx| {
        base.validate(ctx)?;
        queries.validate(ctx)?;
        measure_crossover(&base, &queries, k, target, &sizes, &params, ctx, |_| {})
    })?;
    let mut out = std::io::stdout().lock();
    for pt in &points {
        writeln!(out, "{}", serde_json::to_string(pt)?)?;
    }
    let summary = serde_json::json!({
        "crossover": at.map(|c| c.round() as u64),
        "recall_target": a.recall,
        "k": a.k,
        "recommendation": match at {
            Some(c) => format!("threshold {} (HNSW is faster than a flat scan at recall@{} >= {} from about {} vectors)", c.round(), a.k, a.recall, c.round()),
            None => format!("no crossover up to {} vectors: keep the flat index", points.last().map_or(0, |p| p.n)),
        },
    });
    writeln!(out, "{summary}")?;
    Ok(())
}
