//! 2-D projections of a dataset, for the app's views and `annscope project`.
//!
//! Two methods. **PCA** ([`pca`]) is a linear map fitted in under a second:
//! the fast first picture, and honest about how little of 384-d sentence
//! embeddings two axes hold. **UMAP** ([`umap`]) lays the points out so
//! that neighbours stay neighbours; it is fitted on a k-nearest-neighbour
//! graph ([`knn`]) that comes from annscope's own index (or an exact scan),
//! which is the expensive half of UMAP and the one annscope already has.
//!
//! Either picture is judged by the same figure ([`kept`]): the share of
//! each point's exact 10 nearest neighbours, in the index's metric, that
//! are among its 10 nearest on the plane (`neighbours_kept_10`), so a user
//! sees where the picture can be believed. Nearest neighbours on the plane
//! come from [`grid`], a uniform grid that also answers the app's hover and
//! click.

pub mod fuzzy;
pub mod grid;
pub mod kept;
pub mod knn;
pub mod pca;
pub mod spectral;
pub mod umap;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::Result;
use crate::progress::WorkContext;

pub use kept::NeighboursKept;
pub use knn::KnnGraph;
pub use pca::project;

/// Below this share of the variance, PCA's two axes misrepresent distances
/// badly enough that the app warns.
pub const LOW_VARIANCE: f64 = 0.25;

/// How the points were placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The first two principal axes (linear, fast).
    Pca,
    /// UMAP on the k-nearest-neighbour graph (keeps neighbourhoods).
    Umap,
}

impl Method {
    pub const ALL: [Method; 2] = [Method::Pca, Method::Umap];

    pub fn label(self) -> &'static str {
        match self {
            Method::Pca => "PCA",
            Method::Umap => "UMAP",
        }
    }
}

/// Every base vector and query at its place on the plane.
#[derive(Clone, Debug)]
pub struct Projection {
    pub method: Method,
    /// One point per base row, in row order.
    pub base: Vec<[f32; 2]>,
    /// One point per query, in query order.
    pub queries: Vec<[f32; 2]>,
    /// PCA: the share of the total variance along each axis (each in
    /// 0..=1). None for UMAP, whose axes have no such meaning.
    pub explained: Option<[f64; 2]>,
    /// Rows the layout was fitted on (PCA's sample; UMAP: every row).
    pub fitted_on: usize,
    /// Wall-clock seconds the fit and projection took (for UMAP including
    /// the k-NN graph, whose own seconds are in `graph`).
    pub seconds: f64,
    /// Neighbours kept, when measured.
    pub kept: Option<NeighboursKept>,
    /// UMAP: the start its epochs ran from.
    pub start: Option<umap::Init>,
    /// The k-NN graph the layout or its neighbours kept were measured
    /// with: where it came from, and its seconds (part of `seconds`).
    pub graph: Option<(String, f64)>,
    /// The plane's grid of the base points (hover, click, neighbours on
    /// screen), made with the layout.
    pub grid: Arc<grid::PlaneGrid>,
}

impl Projection {
    /// PCA's share of the variance on each axis; zeros for UMAP.
    pub fn explained_axes(&self) -> [f64; 2] {
        self.explained.unwrap_or([0.0; 2])
    }

    /// Share of the variance the two axes show together (PCA; 0 for UMAP).
    pub fn explained_total(&self) -> f64 {
        let [a, b] = self.explained_axes();
        a + b
    }

    /// Whether PCA's two axes show too little of the data to judge
    /// distances by (UMAP is judged by its neighbours kept instead).
    pub fn is_misleading(&self) -> bool {
        self.explained.is_some() && self.explained_total() < LOW_VARIANCE
    }

    /// The box holding every base point and query: (min, max).
    pub fn bounds(&self) -> ([f32; 2], [f32; 2]) {
        let mut lo = [f32::INFINITY; 2];
        let mut hi = [f32::NEG_INFINITY; 2];
        for p in self.base.iter().chain(&self.queries) {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        if lo[0] > hi[0] {
            return ([-1.0; 2], [1.0; 2]);
        }
        (lo, hi)
    }
}

/// Where UMAP's k-nearest-neighbour graph comes from.
pub enum GraphSource<'a> {
    /// The flat index's exact blocked scan.
    Exact,
    /// Searches of a built index over the same base.
    Index {
        index: &'a dyn crate::index::AnnIndex,
        params: crate::index::SearchParams,
        label: String,
    },
}

impl GraphSource<'_> {
    fn base_graph(&self, base: &Arc<Dataset>, k: usize, ctx: &WorkContext) -> Result<KnnGraph> {
        match self {
            GraphSource::Exact => knn::exact(base, k, ctx),
            GraphSource::Index {
                index,
                params,
                label,
            } => knn::from_index(*index, base, k, params, label, ctx),
        }
    }

    fn query_graph(
        &self,
        base: &Arc<Dataset>,
        queries: &Dataset,
        k: usize,
        ctx: &WorkContext,
    ) -> Result<KnnGraph> {
        match self {
            GraphSource::Exact => knn::queries_exact(base, queries, k, ctx),
            GraphSource::Index {
                index,
                params,
                label,
            } => knn::queries_from_index(*index, queries, k, params, label, ctx),
        }
    }
}

/// UMAP of `base` (queries placed among it), with the graph it was fitted
/// on (its `seconds` are the graph's share of the projection's).
pub fn umap_projection(
    base: &Arc<Dataset>,
    queries: Option<&Dataset>,
    source: &GraphSource<'_>,
    params: &umap::UmapParams,
    ctx: &WorkContext,
) -> Result<(Projection, KnnGraph)> {
    params.validate()?;
    let started = std::time::Instant::now();
    let k = params.graph_k().max(kept::KEPT_K);
    knn::check_size(base, k)?;
    if let Some(q) = queries {
        knn::check_dim(base, q)?;
    }
    base.validate(ctx)?;
    let graph = source.base_graph(base, k, ctx)?;
    let pca_start = || pca::project(base, None, ctx).map(|p| p.base);
    let (layout, start) = umap::layout(&graph, base.metric(), pca_start, params, ctx)?;
    let placed = match queries {
        Some(q) if !q.is_empty() => {
            let qg = source.query_graph(base, q, params.graph_k(), ctx)?;
            umap::place(&qg, base.metric(), &layout, params)
        }
        _ => Vec::new(),
    };
    let grid = Arc::new(grid::PlaneGrid::new(&layout));
    Ok((
        Projection {
            method: Method::Umap,
            base: layout,
            queries: placed,
            explained: None,
            fitted_on: base.len(),
            seconds: started.elapsed().as_secs_f64(),
            kept: None,
            start: Some(start),
            graph: Some((graph.source.clone(), graph.seconds)),
            grid,
        },
        graph,
    ))
}

/// `method`'s projection of `base` (queries placed too), measured: its
/// neighbours kept on the exact sample drawn with `seed`, per point
/// against the graph from `source`, and the plane's grid. The graph is the
/// one UMAP is fitted on (`source` None: exact); PCA asks `source`, when
/// given, for a 10-neighbour graph only to colour by.
pub fn project_measured(
    base: &Arc<Dataset>,
    queries: Option<&Dataset>,
    method: Method,
    source: Option<&GraphSource<'_>>,
    params: &umap::UmapParams,
    seed: u64,
    ctx: &WorkContext,
) -> Result<Projection> {
    let started = std::time::Instant::now();
    let (mut p, graph) = match (method, source) {
        (Method::Umap, source) => {
            let (p, g) = umap_projection(
                base,
                queries,
                source.unwrap_or(&GraphSource::Exact),
                params,
                ctx,
            )?;
            (p, Some(g))
        }
        (Method::Pca, None) => (pca::project(base, queries, ctx)?, None),
        (Method::Pca, Some(source)) => {
            let p = pca::project(base, queries, ctx)?;
            (p, Some(source.base_graph(base, kept::KEPT_K, ctx)?))
        }
    };
    // The layout's seconds (graph included); the measurement's are in
    // `kept.exact_seconds`.
    p.seconds = started.elapsed().as_secs_f64();
    let exact = kept::ExactSample::compute(base, seed, ctx)?;
    p.kept = Some(kept::measure(&p.grid, &p.base, &exact, graph.as_ref()));
    p.graph = graph.map(|g| (g.source, g.seconds));
    Ok(p)
}
