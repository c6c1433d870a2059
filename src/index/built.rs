//! A built index as everyone uses it: the searchable index, the spec it was
//! built from, how long it took, and what it can show beyond searching.
//!
//! What only some kinds can show is reached through the index's capability
//! methods ([`AnnIndex::graph`], [`AnnIndex::posting_lists`],
//! [`AnnIndex::dynamic`]); the overviews a panel reads every frame (layer
//! statistics, list sizes, colourings) are computed once here, at build
//! time, not per frame.

use std::ops::Deref;
use std::sync::Arc;

use super::hnsw::inspect::LayerStats;
use super::spec::{DataSource, IndexSpec};
use super::AnnIndex;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// A graph index's shape, computed once.
#[derive(Clone, Debug, Default)]
pub struct GraphOverview {
    /// Per-layer node counts, degrees and reachability.
    pub layer_stats: Vec<LayerStats>,
    /// Layer-0 nodes the entry point cannot reach.
    pub unreachable: usize,
    /// Each base row's top layer (`u8::MAX`: not in the graph), for colouring.
    pub top_layers: Arc<Vec<u8>>,
}

impl GraphOverview {
    /// The overview of `h`, its top layers listed for ids below `rows`.
    pub fn of(h: &super::Hnsw, rows: usize) -> GraphOverview {
        let layer_stats = h.layer_stats();
        GraphOverview {
            unreachable: layer_stats.first().map_or(0, |s| s.unreachable),
            layer_stats,
            top_layers: Arc::new(h.top_layers_by_id(rows)),
        }
    }
}

/// A posting-list index's shape, computed once.
#[derive(Clone, Debug, Default)]
pub struct ListsOverview {
    /// Live vectors per posting list.
    pub sizes: Vec<usize>,
    /// Lists per vector, on average.
    pub mean_replicas: f64,
    /// Each base row's primary list (`u32::MAX`: none), for colouring.
    pub primary_list: Arc<Vec<u32>>,
}

impl IndexSpec {
    /// Builds the index on the current rayon pool, validating the data first.
    pub fn build(&self, source: impl Into<DataSource>, ctx: &WorkContext) -> Result<BuiltIndex> {
        let source = source.into();
        let started = std::time::Instant::now();
        let index = super::registry::build(self, &source, ctx)?;
        let build_secs = started.elapsed().as_secs_f64();
        Ok(BuiltIndex::new(self.clone(), index, build_secs, &source))
    }
}

/// One built index.
pub struct BuiltIndex {
    pub spec: IndexSpec,
    index: Arc<dyn AnnIndex>,
    pub build_secs: f64,
    /// RAM by formula, beside the measured bytes (None where there is none).
    pub estimated_bytes: Option<u64>,
    /// The bytes it holds, measured once when built (on the building
    /// thread) and again by each measurement of it, for screens that must
    /// not measure per frame (a `mincore` over a mapped base each time).
    pub memory: super::MemoryUsage,
    /// Set (by [`BuiltIndex::with_overviews`]) when the index searches a graph.
    pub graph_overview: Option<GraphOverview>,
    /// Set (by [`BuiltIndex::with_overviews`]) when the index scans posting lists.
    pub lists_overview: Option<ListsOverview>,
}

/// The spec as `index` really runs it: an HNSW build whose CPU cannot walk
/// f16 (no AVX-512) walks f32, and says so in its own parameters.
fn ran_as(spec: &IndexSpec, index: &dyn AnnIndex) -> IndexSpec {
    match (spec, index.graph()) {
        (IndexSpec::Hnsw(_), Some(h)) => IndexSpec::Hnsw(h.params_struct().clone()),
        (s, _) => s.clone(),
    }
}

impl BuiltIndex {
    /// The spec as the index really runs it (what was asked for is
    /// `spec`): the storage it walks where the CPU changed it.
    pub fn ran_as(&self) -> IndexSpec {
        ran_as(&self.spec, &*self.index)
    }

    /// Wraps a built index.
    pub fn new(
        spec: IndexSpec,
        index: Arc<dyn AnnIndex>,
        build_secs: f64,
        source: &DataSource,
    ) -> BuiltIndex {
        let ran = ran_as(&spec, &*index);
        BuiltIndex {
            estimated_bytes: ran.estimated_bytes(source.len(), source.dim()),
            memory: index.memory(),
            spec,
            index,
            build_secs,
            graph_overview: None,
            lists_overview: None,
        }
    }

    /// Computes the overviews a panel shows (graph layers, posting lists)
    /// for `rows` base rows; a report that only measures skips this.
    pub fn with_overviews(mut self, rows: usize, ctx: &WorkContext) -> BuiltIndex {
        ctx.progress.stage("Inspecting the index", 1);
        self.graph_overview = self.index.graph().map(|h| GraphOverview::of(h, rows));
        self.lists_overview = self.index.posting_lists().map(|h| ListsOverview {
            sizes: h.list_sizes(),
            mean_replicas: h.mean_replicas(),
            primary_list: Arc::new(h.primary_list_by_id(rows)),
        });
        self
    }

    /// The searchable index, to hand to a background job.
    pub fn shared(&self) -> Arc<dyn AnnIndex> {
        self.index.clone()
    }
}

impl Deref for BuiltIndex {
    type Target = dyn AnnIndex;
    fn deref(&self) -> &Self::Target {
        self.index.as_ref()
    }
}

/// What an index was built on: enough to refuse measuring it against other
/// data (other vectors, another row order, another size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltOn {
    /// [`Dataset::content_hash`] of the base (covers n, dim and row order).
    pub content_hash: u64,
    pub n: u64,
}

impl BuiltOn {
    /// The record of `base`.
    pub fn of(base: &Dataset) -> BuiltOn {
        BuiltOn {
            content_hash: base.content_hash(),
            n: base.len() as u64,
        }
    }
}

/// Refuses to measure `index` (read from `index_file`) against `base`
/// unless `base` is what it was built on. An index file that does not
/// record its base passes with a warning to show.
pub fn check_base(
    index: &dyn AnnIndex,
    index_file: &std::path::Path,
    base: &Dataset,
) -> Result<Option<String>> {
    if index.metric() != base.metric() || index.dim() != base.dim() {
        return Err(Error::Mismatch(format!(
            "{}: the index is {} over dimension {}, but {} is read as {} over dimension {}",
            index_file.display(),
            index.metric(),
            index.dim(),
            base.display_name(),
            base.metric(),
            base.dim()
        )));
    }
    let Some(built) = index.built_on() else {
        return Ok(Some(format!(
            "{} does not record the base it was built on (written by an older annscope): \
             its figures are right only if {} is that base, in the same row order",
            index_file.display(),
            base.display_name()
        )));
    };
    let hash = base.content_hash();
    if built.content_hash != hash || built.n != base.len() as u64 {
        return Err(Error::Mismatch(format!(
            "{} was built on {} vectors (content {:016x}), but {} holds {} vectors (content \
             {hash:016x}): measure an index against the base it was built from, in the same \
             row order",
            index_file.display(),
            built.n,
            built.content_hash,
            base.display_name(),
            base.len()
        )));
    }
    Ok(None)
}
