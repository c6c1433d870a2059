//! HFresh: posting lists with an HNSW over their centroids, after SPANN
//! (NeurIPS 2021), SPFresh ("Incremental In-Place Update for Billion-Scale
//! Vector Search", SOSP 2023) and Weaviate's HFresh index.
//!
//! Build: k-means (k-means++ seeds, sampled Lloyd iterations) into lists of
//! about half `max_posting_size`; each vector then joins up to `replicas`
//! lists by SPANN's closure rule (only centroids within (1 + ε) of its
//! nearest) and RNG rule (skip a centroid nearer to an already chosen one
//! than to the vector); lists over `max_posting_size` split with 2-means.
//! Centroids stay in RAM with an HNSW over them; the lists (vectors
//! included) live in a memory-mapped file (the `postings` module).
//!
//! Search: the `search_probe` nearest centroids through the HNSW, optionally
//! pruned to those within (1 + ε_q) of the nearest (SPANN's query-aware
//! pruning), then a scan of their lists, skipping replicas already scored.
//!
//! With a quantizer (`--quantizer`, as HNSW takes) the lists hold codes, so
//! a scan reads a few bytes per entry instead of 2·D or 4·D; the index
//! keeps the f32 vectors in RAM (one copy per vector, not per replica) to
//! re-score the best `oversample × k` estimates and to re-cluster on splits.
//!
//! Updates in place (SPFresh's LIRE): an insert appends to its lists; a list
//! over the limit splits in two, then the vectors of the split list whose
//! old centroid was at least as close as both new ones, and the vectors of
//! the nearest neighbouring lists that are now closer to a new centroid
//! than to their own, are moved to their nearest lists. A list whose live
//! vectors fall below `min_posting_size` merges into its neighbours. A
//! delete is a tombstone; moving a vector bumps its version, so old copies
//! go stale; both are dropped when their list is next rewritten.

mod build;
pub mod family;
pub mod flags;
mod kmeans;
pub mod live;
mod persist;
mod postings;
mod search;
#[cfg(test)]
mod tests;
mod update;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::topk::TopK;
use super::{check_query_dim, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams};
use crate::dataset::{Dataset, Vectors};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::index::{param_spec, Hnsw, HnswParams, SearchStats};
use crate::progress::WorkContext;
use postings::PostingStore;
pub use postings::Precision;

/// HFresh's build and search parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HFreshParams {
    /// A list over this many vectors splits in two.
    pub max_posting_size: usize,
    /// A vector joins at most this many lists (SPANN's boundary replicas).
    pub replicas: usize,
    /// Closure rule: a replica's centroid is at most (1 + ε) times as far
    /// as the nearest.
    pub epsilon: f32,
    /// Query-aware pruning: skip probed centroids farther than (1 + ε_q)
    /// times the nearest. None: probe exactly `search_probe` lists.
    pub query_epsilon: Option<f32>,
    /// A list whose live vectors fall below this merges into its neighbours.
    pub min_posting_size: usize,
    /// Lists probed when a search does not say.
    pub search_probe: usize,
    /// Neighbouring lists checked for reassignment after a split.
    pub reassign_neighbours: usize,
    /// How posting vectors are stored (`search`: f16 halves the bytes a
    /// scan reads). The build clusters the f32 vectors: `build` is f32.
    #[serde(flatten)]
    pub storage: crate::index::Storage,
    pub seed: u64,
}

impl Default for HFreshParams {
    fn default() -> Self {
        HFreshParams {
            max_posting_size: param_spec::MAX_POSTING_SIZE.default,
            replicas: param_spec::REPLICAS.default,
            epsilon: param_spec::EPSILON.default,
            query_epsilon: None,
            min_posting_size: 8,
            search_probe: param_spec::SEARCH_PROBE.default,
            reassign_neighbours: 8,
            storage: crate::index::Storage::precisions(
                super::hnsw::BuildPrecision::F32,
                Precision::default(),
            ),
            seed: 42,
        }
    }
}

impl HFreshParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if self.storage.vectors != crate::index::VectorPlace::Ram || self.storage.vector_cache > 0 {
            return bad(
                "HFresh keeps its f32 vectors in RAM (it re-scores and re-clusters from them): \
                 --vectors disk and --vector-cache are for HNSW"
                    .into(),
            );
        }
        param_spec::MAX_POSTING_SIZE.check(self.max_posting_size)?;
        param_spec::REPLICAS.check(self.replicas)?;
        param_spec::EPSILON.check(self.epsilon)?;
        if let Some(e) = self.query_epsilon {
            if !(e.is_finite() && e >= 0.0) {
                return bad(format!("query epsilon must be >= 0 (got {e})"));
            }
        }
        if self.min_posting_size * 2 > self.max_posting_size {
            return bad(format!(
                "min_posting_size ({}) must be at most half of max_posting_size ({})",
                self.min_posting_size, self.max_posting_size
            ));
        }
        param_spec::SEARCH_PROBE.check(self.search_probe)?;
        if self.storage.build != super::hnsw::BuildPrecision::F32 {
            return bad(format!(
                "build_precision {}: HFresh clusters the f32 vectors (compact build copies are for HNSW)",
                self.storage.build.name()
            ));
        }
        Ok(())
    }
}

/// What updates have done so far (for reports and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStats {
    pub splits: usize,
    pub merges: usize,
    /// Vectors moved to other lists by reassignment or merges.
    pub moved: usize,
    /// Lists rewritten without splitting (stale entries dropped).
    pub compactions: usize,
}

/// The HFresh index.
pub struct HFresh {
    params: HFreshParams,
    metric: Metric,
    dim: usize,
    /// List id → centroid (dim floats; stale for removed lists).
    centroids: Vec<f32>,
    alive: Vec<bool>,
    /// List id → live entries (valid version, not deleted).
    live: Vec<u32>,
    /// List id → may hold stale or deleted entries (checked while scanning;
    /// a clean list is scanned without looking at any per-vector table).
    dirty: Vec<bool>,
    live_lists: usize,
    centroid_index: Hnsw,
    store: PostingStore,
    /// With a quantizer: slot → its f32 vector (as prepared: unit under
    /// cosine), `dim` floats each; the lists hold codes.
    vectors: Option<Vec<f32>>,
    /// Rows (the first slots) the quantizer was trained on: a saved index
    /// re-trains the same model from them.
    trained_rows: usize,
    /// Slot → external id, version, tombstone, and the lists holding it
    /// (`replicas` entries, `u32::MAX` when unused).
    ext_ids: Vec<u32>,
    versions: Vec<u32>,
    deleted: Vec<bool>,
    members: Vec<u32>,
    slot_of: HashMap<u32, u32>,
    n_live: usize,
    stats: UpdateStats,
    /// The base it was built on (see [`crate::index::check_base`]).
    built_on: Option<crate::index::BuiltOn>,
}

const NO_LIST: u32 = u32::MAX;

/// Set in an entry's version word when the vector was placed in more than
/// one list: only such entries need the "already scored" check.
const REPLICATED: u32 = 1 << 31;

/// The version word of an entry: the slot's version and the replica flag.
pub(super) fn header(version: u32, lists: usize) -> u32 {
    version | if lists > 1 { REPLICATED } else { 0 }
}

impl HFresh {
    pub fn hfresh_params(&self) -> &HFreshParams {
        &self.params
    }

    /// Posting lists in use.
    pub fn list_count(&self) -> usize {
        self.live_lists
    }

    /// Live vectors of each list in use (for the size histogram).
    pub fn list_sizes(&self) -> Vec<usize> {
        (0..self.alive.len())
            .filter(|&l| self.alive[l])
            .map(|l| self.live[l] as usize)
            .collect()
    }

    /// Each vector's primary list (its nearest centroid when assigned), by
    /// external id below `n` (`u32::MAX`: none): colours the projection.
    pub fn primary_list_by_id(&self, n: usize) -> Vec<u32> {
        let mut out = vec![NO_LIST; n];
        for (slot, &ext) in self.ext_ids.iter().enumerate() {
            if (ext as usize) < n && !self.deleted[slot] {
                out[ext as usize] = self.members[slot * self.params.replicas];
            }
        }
        out
    }

    /// Lists each live vector is in, on average.
    pub fn mean_replicas(&self) -> f64 {
        let r = self.params.replicas;
        let (mut sum, mut n) = (0usize, 0usize);
        for slot in 0..self.ext_ids.len() {
            if !self.deleted[slot] {
                n += 1;
                sum += self.members[slot * r..(slot + 1) * r]
                    .iter()
                    .filter(|&&m| m != NO_LIST)
                    .count();
            }
        }
        if n == 0 {
            0.0
        } else {
            sum as f64 / n as f64
        }
    }

    pub fn update_stats(&self) -> UpdateStats {
        self.stats
    }

    pub(super) fn centroid(&self, list: u32) -> &[f32] {
        &self.centroids[list as usize * self.dim..(list as usize + 1) * self.dim]
    }

    /// A slot's f32 vector, when the lists hold codes.
    #[inline]
    pub(super) fn vector(&self, slot: u32) -> Option<&[f32]> {
        let s = slot as usize * self.dim;
        self.vectors.as_ref().map(|v| &v[s..s + self.dim])
    }

    pub(super) fn prepare(&self, v: &[f32]) -> Vec<f32> {
        let mut q = v.to_vec();
        if self.metric == Metric::Cosine {
            distance::normalize(&mut q);
        }
        q
    }
}

/// Closure and RNG rules over candidate lists sorted by distance.
pub(super) fn choose_lists(
    params: &HFreshParams,
    metric: Metric,
    dim: usize,
    centroids: &[f32],
    cands: &[(u32, f32)],
) -> Vec<u32> {
    let Some(&(first, d1)) = cands.first() else {
        return Vec::new();
    };
    let cent = |l: u32| &centroids[l as usize * dim..(l as usize + 1) * dim];
    let limit = pruning_limit(metric, d1, params.epsilon);
    let mut chosen = vec![first];
    for &(l, d) in &cands[1..] {
        if chosen.len() >= params.replicas || d > limit {
            break;
        }
        // RNG rule: a centroid nearer to a chosen one than to the vector
        // would hold a near copy of a list it is already in.
        if chosen
            .iter()
            .any(|&c| metric.prepared_distance(cent(c), cent(l)) < d)
        {
            continue;
        }
        chosen.push(l);
    }
    chosen
}

/// The largest distance within (1 + ε) of `d1`, in the metric's own terms
/// (squared under L2, so the ratio applies to the true distance).
pub(super) fn pruning_limit(metric: Metric, d1: f32, eps: f32) -> f32 {
    match metric {
        Metric::L2 => d1 * (1.0 + eps) * (1.0 + eps),
        _ => d1 * (1.0 + eps),
    }
}

pub(super) fn centroid_hnsw(params: &HFreshParams) -> HnswParams {
    HnswParams {
        m: 16,
        ef_construction: 200,
        seed: params.seed,
        // A few thousand centroids fit in cache: halves would gain nothing.
        storage: crate::index::Storage::EXACT,
    }
}
