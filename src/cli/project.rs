//! `annscope project`: a 2-D projection of the base (and queries) written
//! as .npy, with one JSON line saying how long it took and how many
//! neighbours it keeps.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::args::{check_threads, DataArgs};
use super::io::{check_dims, open_dataset, with_progress};
use crate::dataset::Dataset;
use crate::index::{load_index, AnnIndex, HnswParams, IndexSpec, SearchParams};
use crate::job::with_threads;
use crate::progress::WorkContext;
use crate::projection::umap::{Init, UmapParams};
use crate::projection::{self, GraphSource, Method, Projection};

/// Up to this many rows `--knn auto` scans exactly; above, it builds an
/// HNSW (measured on pypi-minilm: see README's projection section).
const EXACT_UP_TO: usize = 20_000;

/// Where UMAP's neighbour graph comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KnnChoice {
    /// Exact up to 20,000 vectors, an HNSW above.
    Auto,
    /// The flat index's exact scan of every vector.
    Exact,
    /// An HNSW built here (M 16, efConstruction 200), searched at --ef.
    Hnsw,
}

#[derive(Args, Debug)]
pub struct ProjectArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// pca (linear, seconds) or umap (keeps neighbourhoods).
    #[arg(long, value_enum, default_value_t = Method::Umap)]
    pub method: Method,
    /// Seed of UMAP's negative samples and of the neighbours-kept sample.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output .npy: float32, one row of (x, y) per base vector, then one per
    /// query (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// UMAP's neighbours per point, counting the point itself (umap-learn's
    /// n_neighbors).
    #[arg(long, default_value_t = 15)]
    pub neighbors: usize,
    /// UMAP's min_dist: how tightly points may pack (0–1).
    #[arg(long, default_value_t = 0.1)]
    pub min_dist: f32,
    /// UMAP's epochs (default: 500 up to 10,000 vectors, else 200).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// UMAP's start: spectral (umap-learn's default; PCA when the graph is
    /// in pieces) or pca.
    #[arg(long, value_enum, default_value_t = Init::Spectral)]
    pub init: Init,
    /// Where UMAP's neighbour graph comes from.
    #[arg(long, value_enum, default_value_t = KnnChoice::Auto)]
    pub knn: KnnChoice,
    /// A saved index over the same base to take the graph from (instead of
    /// --knn).
    #[arg(long)]
    pub index_file: Option<PathBuf>,
    /// ef of the searches that make the graph from an HNSW.
    #[arg(long, default_value_t = 64)]
    pub ef: usize,
    /// Threads (default: all cores). UMAP's epochs run on one thread, so
    /// the same seed gives the same coordinates whatever this is.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The JSON line printed at the end (a contract: keep the field names).
#[derive(Serialize, Debug)]
struct Report {
    method: Method,
    n: usize,
    queries: usize,
    /// Wall-clock seconds of the projection, graph included.
    seconds: f64,
    /// Of which the neighbour graph (UMAP; 0 for PCA).
    knn_seconds: f64,
    /// Where the graph came from (UMAP).
    #[serde(skip_serializing_if = "Option::is_none")]
    knn: Option<String>,
    /// The graph's recall@10 against exact neighbours on the sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    knn_recall: Option<f64>,
    neighbours_kept_10: f64,
    /// Points neighbours_kept_10 was measured on (exact neighbours).
    kept_sample: usize,
    kept_seconds: f64,
    /// PCA: the share of the variance the two axes show.
    #[serde(skip_serializing_if = "Option::is_none")]
    explained_variance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    umap: Option<UmapParams>,
    /// UMAP: the start the epochs ran from (spectral falls back to pca
    /// when the graph is in pieces).
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<Init>,
    seed: u64,
    threads: usize,
    out: PathBuf,
}

pub(super) fn run(a: &ProjectArgs) -> anyhow::Result<()> {
    check_threads("--threads", a.threads)?;
    crate::fsutil::check_output_path(&a.out)?;
    if a.ef == 0 {
        anyhow::bail!("--ef must be at least 1");
    }
    let metric = a.data.metric()?;
    let base = open_dataset(a.data.base()?, metric)?;
    let queries = match &a.data.queries {
        Some(q) => {
            let q = open_dataset(q, metric)?;
            check_dims(&base, &q)?;
            Some(q)
        }
        None => None,
    };
    let umap = UmapParams {
        n_neighbors: a.neighbors,
        min_dist: a.min_dist,
        n_epochs: a.epochs,
        seed: a.seed,
        init: a.init,
        ..UmapParams::default()
    };
    if a.method == Method::Umap {
        umap.validate()?;
    }
    let loaded = match &a.index_file {
        Some(path) => {
            let p = path.clone();
            let (_, index) = with_progress("load", move |_| load_index(&p))?;
            if let Some(warning) = crate::index::built::check_base(index.as_ref(), path, &base)? {
                eprintln!("warning: {warning}");
            }
            Some((index, format!("{}", path.display())))
        }
        None => None,
    };
    let (method, knn, ef, threads, seed) = (a.method, a.knn, a.ef, a.threads, a.seed);
    let (b, q, u) = (base.clone(), queries.clone(), umap.clone());
    let p = with_progress("project", move |ctx| {
        with_threads(threads, || {
            project(&b, q.as_deref(), method, knn, loaded, ef, &u, seed, ctx)
        })?
    })?;
    let Some(kept) = p.kept.as_ref() else {
        anyhow::bail!("internal error: neighbours kept were not measured");
    };
    let mut coords = Vec::with_capacity((p.base.len() + p.queries.len()) * 2);
    for xy in p.base.iter().chain(&p.queries) {
        coords.extend_from_slice(xy);
    }
    crate::dataset::npy::write_f32(&a.out, &coords, p.base.len() + p.queries.len(), 2)?;
    let report = Report {
        method: p.method,
        n: p.base.len(),
        queries: p.queries.len(),
        seconds: p.seconds,
        knn_seconds: p.graph.as_ref().map_or(0.0, |g| g.1),
        knn: p.graph.as_ref().map(|g| g.0.clone()),
        knn_recall: kept.graph_recall,
        neighbours_kept_10: kept.mean,
        kept_sample: kept.sample,
        kept_seconds: kept.exact_seconds,
        explained_variance: p.explained.map(|_| p.explained_total()),
        umap: (p.method == Method::Umap).then(|| UmapParams {
            n_epochs: Some(umap.epochs_for(p.base.len())),
            ..umap.clone()
        }),
        start: p.start,
        seed: a.seed,
        threads: a.threads.unwrap_or_else(rayon::current_num_threads),
        out: a.out.clone(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn project(
    base: &Arc<Dataset>,
    queries: Option<&Dataset>,
    method: Method,
    knn: KnnChoice,
    loaded: Option<(Arc<dyn AnnIndex>, String)>,
    ef: usize,
    umap: &UmapParams,
    seed: u64,
    ctx: &WorkContext,
) -> crate::error::Result<Projection> {
    if method == Method::Pca {
        return projection::project_measured(base, queries, method, None, umap, seed, ctx);
    }
    let search = SearchParams::new(umap.graph_k()).with_ef(ef);
    // The index the graph is searched in, what it is called, and what
    // building it cost (part of the graph's time).
    let (index, label, build_s) = match (loaded, knn) {
        (Some((index, label)), _) => (Some(index), label, 0.0),
        (None, KnnChoice::Exact) => (None, String::new(), 0.0),
        (None, KnnChoice::Auto) if base.len() <= EXACT_UP_TO => (None, String::new(), 0.0),
        (None, _) => {
            let params = HnswParams::default();
            let label = format!(
                "hnsw M {} efConstruction {}",
                params.m, params.ef_construction
            );
            let started = std::time::Instant::now();
            let built = IndexSpec::Hnsw(params).build(base.clone(), ctx)?.shared();
            (Some(built), label, started.elapsed().as_secs_f64())
        }
    };
    let source = match &index {
        Some(index) => GraphSource::Index {
            index: index.as_ref(),
            params: search,
            label: format!("{label} at ef {ef}"),
        },
        None => GraphSource::Exact,
    };
    let mut p =
        projection::project_measured(base, queries, method, Some(&source), umap, seed, ctx)?;
    if let Some(g) = &mut p.graph {
        g.1 += build_s;
    }
    p.seconds += build_s;
    Ok(p)
}
