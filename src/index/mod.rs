//! The index interface every index kind implements, the one vocabulary
//! that names kinds and their settings, and the index kinds.
//!
//! "Which index with which build settings" is an [`IndexSpec`]; building it
//! from a [`DataSource`] with a [`crate::progress::WorkContext`] (progress
//! and cancel) gives a [`BuiltIndex`]; the number of build threads is the
//! size of the rayon pool it is built in. A search is tuned by a
//! [`SearchKnob`]; every parameter's range and help is in [`param_spec`].
//! A new kind is its module with a [`Family`] plus its registration in
//! [`family`] and [`spec`].
//!
//! An index answers one query at a time ([`AnnIndex::search`]) or a batch
//! ([`AnnIndex::search_batch`], which an index may do faster, as the flat
//! index does with a blocked matrix product). Results carry external ids
//! (row numbers of the dataset), distances, and per-query counters.

pub(crate) mod binio;
pub mod built;
pub mod dynamic;
pub mod engine_spec;
pub(crate) mod f16;
pub mod family;
pub mod filter;
pub mod flat;
pub mod flat_screen;
pub mod hfresh;
pub mod hnsw;
pub mod knob;
pub mod live;
pub mod param_spec;
pub mod quant;
pub mod registry;
pub mod spec;
pub mod storage;
pub mod topk;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::dataset::Vectors;
use crate::distance::Metric;
use crate::error::{Error, Result};

pub use built::{check_base, BuiltIndex, BuiltOn, GraphOverview};
pub use dynamic::{DynamicConfig, DynamicIndex, DynamicState};
pub use engine_spec::{EngineCollection, EngineIndexSpec, QdrantQuantization};
pub use f16::Precision;
pub use family::{Family, KindFlags};
pub use filter::AllowList;
pub use flat::FlatIndex;
pub use hfresh::{HFresh, HFreshParams};
pub use hnsw::{Hnsw, HnswParams};
pub use knob::{KnobKind, SearchKnob};
pub use registry::{bench_flags, family, local_family};
pub use spec::{load_index, DataSource, IndexKind, IndexSpec};
pub use storage::{Storage, VectorPlace};

/// Parameters as a report shows them: snake_case keys, JSON values.
pub type ParamMap = BTreeMap<String, serde_json::Value>;

/// How one search runs. Each index reads the fields that concern it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SearchParams {
    /// How many neighbours to return.
    pub k: usize,
    /// What the search is tuned by (ef, dynamic ef, search_probe).
    pub knob: SearchKnob,
    /// Only these ids may be returned (filtered search).
    pub filter: Option<Arc<AllowList>>,
    /// How a walk over quantized codes is re-ranked (Qdrant's
    /// `oversampling` and `rescore`); None: the index's default. Only an
    /// index over quantized codes reads it.
    pub rescoring: Option<Rescoring>,
}

/// A search over quantized codes collects `oversample × k` candidates and,
/// with `rescore`, re-ranks them on the original vectors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rescoring {
    pub oversample: f64,
    pub rescore: bool,
}

impl Rescoring {
    /// A walk over codes without a setting: Qdrant's defaults (oversampling
    /// 1, rescore on).
    pub const DEFAULT: Rescoring = Rescoring {
        oversample: 1.0,
        rescore: true,
    };

    /// Candidates a walk over codes keeps for top-`k`: oversample × k, at
    /// least k.
    pub fn candidates(self, k: usize) -> usize {
        ((self.oversample * k as f64).ceil() as usize).max(k)
    }

    /// Adds `oversample` and `rescore` to a report's parameters.
    pub fn report_into(self, params: &mut ParamMap) {
        params.insert("oversample".into(), self.oversample.into());
        params.insert("rescore".into(), self.rescore.into());
    }
}

/// Settings are compared as keys (the app's measured points): oversample
/// is always a finite number (validated where it is set), so equality is
/// an equivalence.
impl Eq for Rescoring {}

impl std::hash::Hash for Rescoring {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.oversample.to_bits().hash(h);
        self.rescore.hash(h);
    }
}

impl SearchParams {
    /// Top-`k` with every other setting at the index's default.
    pub fn new(k: usize) -> Self {
        SearchParams {
            k,
            knob: SearchKnob::Default,
            filter: None,
            rescoring: None,
        }
    }
    pub fn with_rescoring(mut self, rescoring: Rescoring) -> Self {
        self.rescoring = Some(rescoring);
        self
    }
    pub fn with_filter(mut self, filter: Arc<AllowList>) -> Self {
        self.filter = Some(filter);
        self
    }
    pub fn with_knob(mut self, knob: SearchKnob) -> Self {
        self.knob = knob;
        self
    }
    /// A fixed ef.
    pub fn with_ef(self, ef: usize) -> Self {
        self.with_knob(SearchKnob::Ef(ef))
    }
    pub fn with_search_probe(self, probe: usize) -> Self {
        self.with_knob(SearchKnob::Probe(probe))
    }
}

/// Counters of the work one search did: steady on a noisy machine, unlike time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchStats {
    /// Distance computations.
    pub dist_comps: u64,
    /// Graph nodes expanded (0 for indexes without a graph).
    pub hops: u64,
    /// Candidates re-scored from the f32 vectors after a walk over
    /// quantized codes (reads of the disk when the vectors live there).
    pub rescored: u64,
}

/// One query's answer, nearest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Neighbors {
    pub ids: Vec<u32>,
    pub distances: Vec<f32>,
    pub stats: SearchStats,
}

/// Bytes an index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryUsage {
    /// Bytes in RAM (structures and any vectors the index needs resident).
    pub ram_bytes: u64,
    /// Bytes kept on disk and read through the page cache (0 if none).
    pub disk_bytes: u64,
    /// Of those, the bytes resident in memory now (measured with
    /// `mincore`; None when the index maps nothing or the OS cannot say).
    pub mapped_resident_bytes: Option<u64>,
}

/// An index that can be searched.
pub trait AnnIndex: Send + Sync {
    fn kind(&self) -> IndexKind;
    /// Vectors indexed.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn dim(&self) -> usize;
    fn metric(&self) -> Metric;
    /// The top-k for one query.
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors>;
    /// The top-k for each row of `queries`, on the current rayon pool.
    fn search_batch(&self, queries: &Vectors, params: &SearchParams) -> Result<Vec<Neighbors>> {
        use rayon::prelude::*;
        (0..queries.len())
            .into_par_iter()
            .map(|i| self.search(queries.row(i), params))
            .collect()
    }
    /// Memory in RAM and on disk.
    fn memory(&self) -> MemoryUsage;
    /// The counters of its vector cache (vectors on disk behind Weaviate's
    /// cache), if it has one.
    fn vector_cache(&self) -> Option<hnsw::CacheCounters> {
        None
    }
    /// Drops the cached pages of the files the index reads (a cold-cache
    /// measurement); `false` when it reads none.
    fn drop_cached_pages(&self) -> Result<bool> {
        Ok(false)
    }
    /// Build parameters, for reports.
    fn params(&self) -> ParamMap;
    /// The index's own names and values of a search setting, beside
    /// annscope's (an engine's `ef_search`); empty for annscope's kinds.
    fn knob_report(&self, _knob: SearchKnob) -> ParamMap {
        ParamMap::new()
    }

    /// The HNSW graph this index searches, for layer views and traces.
    fn graph(&self) -> Option<&Hnsw> {
        None
    }
    /// The posting lists this index scans.
    fn posting_lists(&self) -> Option<&HFresh> {
        None
    }
    /// The dynamic index, for its state.
    fn dynamic(&self) -> Option<&DynamicIndex> {
        None
    }
    /// The base it was built on, when known (see [`built::check_base`]).
    fn built_on(&self) -> Option<built::BuiltOn> {
        None
    }

    /// Writes the index to `path` atomically (`annscope build`); kinds
    /// without a file format refuse.
    fn save(&self, path: &std::path::Path) -> Result<()> {
        Err(Error::InvalidParameter(format!(
            "annscope build writes hnsw, hfresh and dynamic indexes: {} is not saved to {}",
            self.kind().name(),
            path.display()
        )))
    }
    /// What `annscope build` reports beside the common fields: its JSON
    /// fields and the end of its line of text.
    fn file_summary(&self) -> (serde_json::Value, String) {
        (serde_json::json!({}), String::new())
    }
}

/// Checks a query's dimension against the index's.
pub(crate) fn check_query_dim(index_dim: usize, query: &[f32]) -> Result<()> {
    if query.len() != index_dim {
        return Err(Error::Mismatch(format!(
            "query has dimension {}, the index has {index_dim}",
            query.len()
        )));
    }
    Ok(())
}
