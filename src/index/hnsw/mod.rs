//! HNSW: Hierarchical Navigable Small World graphs (Malkov & Yashunin 2016,
//! "Efficient and robust approximate nearest neighbor search using
//! Hierarchical Navigable Small World graphs").
//!
//! Each node gets a random top layer (mL = 1/ln M). A search descends
//! greedily from the entry point through the upper layers, then runs a
//! best-first search with a candidate list of size ef on layer 0. Links are
//! chosen by the paper's heuristic (Algorithm 4), which prefers neighbours in
//! diverse directions and, with `keepPrunedConnections`, fills the rest of the
//! list with the nearest pruned ones.
//!
//! The build is parallel (rayon, one lock per node, as hnswlib does). The
//! node with the highest level is inserted first, so the entry point never
//! moves during a build and no global lock is needed. Both the build and the
//! search wait on memory more than they compute, so by default the build
//! reads 8-bit codes of the vectors and searches walk half-precision copies,
//! re-scoring their results in f32 (the `space` module says why and how).
//!
//! Unlike hnswlib this index also explains itself: [`Hnsw::trace`] records
//! a search step by step, and [`inspect`] reports layers, degrees and
//! unreachable nodes, for the app's views.

mod build;
mod disk;
pub mod explain;
pub mod family;
pub mod flags;
mod graph;
mod idmap;
pub mod inspect;
pub mod live;
pub mod params;
mod persist;
mod search;
mod space;
mod sq8;
#[cfg(test)]
mod tests;
mod vector_cache;

use std::sync::Arc;

pub use flags::HnswArgs;
pub use params::{BuildPrecision, DynamicEf, HnswParams};
pub use search::{LayerTrace, SearchTrace, TraceStep};
pub use vector_cache::CacheCounters;

use graph::{Links, Slot};

use crate::index::built::BuiltOn;

use super::{check_query_dim, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams};
use crate::dataset::Dataset;
use crate::distance::{self, Metric};
use crate::error::{Error, Result};

/// An HNSW index over vectors with external ids.
pub struct Hnsw {
    params: HnswParams,
    dynamic_ef: DynamicEf,
    metric: Metric,
    dim: usize,
    /// Slot → vector (unit length under cosine).
    vectors: Vec<f32>,
    /// Slot → external id.
    ext_ids: Vec<u32>,
    /// External id → slot, for deletes and lookups.
    slot_of: idmap::IdMap,
    links: Links,
    entry: Slot,
    max_level: usize,
    /// Slot → tombstone.
    deleted: Vec<bool>,
    n_deleted: usize,
    /// Slots freed by cleanup, reused by inserts.
    free: Vec<Slot>,
    /// Half-precision copy of `vectors` that searches walk with, when the
    /// parameters ask for an f16 walk (see [`space`]).
    walk: Option<space::HalfSpace>,
    /// Quantized codes searches walk instead, when the parameters name a
    /// quantizer (then `walk` is None).
    codes: Option<crate::index::quant::Codes>,
    /// The f32 vectors on disk (then `vectors` is empty).
    disk: Option<disk::DiskVectors>,
    /// The base it was built on (None when built with other ids, or
    /// loaded from a file written before files recorded it).
    built_on: Option<BuiltOn>,
}

impl Hnsw {
    /// Builds from a dataset whose row `i` has external id `ids[i]`.
    pub fn build_with_ids(
        dataset: &Dataset,
        ids: &[u32],
        params: HnswParams,
        ctx: &crate::progress::WorkContext,
    ) -> Result<Self> {
        if ids.len() != dataset.len() {
            return Err(Error::Mismatch(format!(
                "{} ids for {} vectors",
                ids.len(),
                dataset.len()
            )));
        }
        let mut h = build_then_place(dataset, params, ctx)?;
        let mut map = idmap::IdMap::default();
        for (slot, &id) in ids.iter().enumerate() {
            if map.get(id).is_some() {
                return Err(Error::InvalidParameter(format!("id {id} appears twice")));
            }
            map.insert(id, Slot(slot as u32));
        }
        h.ext_ids = ids.to_vec();
        h.slot_of = map;
        Ok(h)
    }

    /// Builds from a dataset (ids are its row numbers), on the current rayon pool.
    pub fn build(
        dataset: &Dataset,
        params: HnswParams,
        ctx: &crate::progress::WorkContext,
    ) -> Result<Self> {
        let mut h = build_then_place(dataset, params, ctx)?;
        h.built_on = Some(crate::index::BuiltOn::of(dataset));
        Ok(h)
    }

    pub fn params_struct(&self) -> &HnswParams {
        &self.params
    }
    pub fn dynamic_ef(&self) -> DynamicEf {
        self.dynamic_ef
    }
    /// Sets the dynamic-ef rule used when a search asks for ef = -1.
    pub fn set_dynamic_ef(&mut self, d: DynamicEf) -> Result<()> {
        d.validate()?;
        self.dynamic_ef = d;
        Ok(())
    }

    /// Live (not deleted) vectors.
    pub fn live_len(&self) -> usize {
        self.ext_ids.len() - self.n_deleted - self.free.len()
    }

    /// The stored vector of a slot.
    #[inline]
    fn vector(&self, slot: Slot) -> &[f32] {
        match &self.disk {
            // As in the file: not unit length under cosine when the file's
            // rows are not (`dist` corrects for it).
            Some(d) => d.row(slot.idx()),
            None => {
                let s = slot.idx() * self.dim;
                &self.vectors[s..s + self.dim]
            }
        }
    }

    /// Distance between a prepared query (unit length under cosine) and a slot.
    #[inline]
    fn dist(&self, q: &[f32], slot: Slot) -> f32 {
        match &self.disk {
            Some(d) => d.distance(self.metric, q, slot.idx()),
            None => self.metric.prepared_distance(q, self.vector(slot)),
        }
    }

    /// Inserts need the vectors in RAM: a file on disk is the user's, and
    /// annscope never writes to its inputs.
    fn check_writable(&self) -> Result<()> {
        match &self.disk {
            Some(d) => Err(Error::InvalidParameter(format!(
                "this index reads its vectors from {} (--vectors disk): it cannot take inserts or updates; build it with --vectors ram",
                d.path().display()
            ))),
            None => Ok(()),
        }
    }

    /// Moves the f32 vectors out of RAM: from now on searches re-score from
    /// `base`'s file, mapped. `base` must be what the index was built on
    /// (same rows in the same order), with its rows f32 in the file, and
    /// the index must walk quantized codes (else every step would read the
    /// disk).
    pub fn keep_vectors_on_disk(&mut self, base: &Dataset) -> Result<()> {
        if self.codes.is_none() {
            return Err(Error::InvalidParameter(
                "--vectors disk needs a quantizer (--quantizer sq8, sq4 or rabitq:BITS): the graph walk reads the codes, and only the last candidates are re-scored from disk".into(),
            ));
        }
        if base.len() != self.ext_ids.len() || base.dim() != self.dim || self.n_deleted > 0 {
            return Err(Error::Mismatch(format!(
                "{} has {} rows of dimension {}; the index holds {} of dimension {} (with {} deleted): its vectors cannot be read from that file",
                base.display_name(),
                base.len(),
                base.dim(),
                self.ext_ids.len(),
                self.dim,
                self.n_deleted
            )));
        }
        let disk = disk::DiskVectors::open(base, self.metric, self.params.storage.vector_cache)?;
        // The rows must be the index's: compare a sample, as stored.
        let mut row = Vec::new();
        let step = (disk.len() / 64).max(1);
        for i in (0..disk.len()).step_by(step) {
            self.prepare(disk.row(i), &mut row);
            let held = self.vector(Slot(i as u32));
            if row.iter().zip(held).any(|(a, b)| (a - b).abs() > 1e-5) {
                return Err(Error::Mismatch(format!(
                    "row {i} of {} differs from the vector the index holds: the index was built on other data",
                    disk.path().display()
                )));
            }
        }
        self.disk = Some(disk);
        self.vectors = Vec::new();
        self.params.storage.vectors = crate::index::VectorPlace::Disk;
        Ok(())
    }

    /// The query as stored vectors are: unit length under cosine.
    fn prepare(&self, query: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(query);
        if self.metric == Metric::Cosine {
            distance::normalize(out);
        }
    }

    /// The slot of an external id, if it is live.
    pub fn slot(&self, ext: u32) -> Option<Slot> {
        self.slot_of.get(ext).filter(|&s| !self.deleted[s.idx()])
    }

    /// Whether an external id is a tombstone: deleted, and not yet freed
    /// by a cleanup (nor written again under the same id).
    pub fn is_tombstone(&self, ext: u32) -> bool {
        self.slot_of.get(ext).is_some_and(|s| self.deleted[s.idx()])
    }

    /// The external id of a slot.
    pub fn external_id(&self, slot: Slot) -> u32 {
        self.ext_ids[slot.idx()]
    }

    /// Bytes of the graph alone (links and levels), not the vectors or id maps.
    pub fn graph_bytes(&self) -> usize {
        self.links.bytes()
    }

    /// Formula estimate of RAM, as the app shows beside the measured bytes:
    /// vectors n·d·4, layer 0 n·(2M+1)·4, upper layers n/(M−1)·(M+1)·4 on
    /// average, per-node offset, level and ids 13 bytes, id map ~24 bytes,
    /// and the half-precision copy n·d·2 when searches walk f16.
    pub fn estimated_bytes(n: usize, dim: usize, params: &HnswParams) -> u64 {
        let (n, m) = (n as f64, params.m);
        let storage = &params.storage;
        let walk = match (storage.quantizer, storage.search) {
            (crate::index::quant::Quantizer::None, crate::index::Precision::F16) => {
                dim.div_ceil(2) * 4
            }
            (crate::index::quant::Quantizer::None, crate::index::Precision::F32) => 0,
            (q, _) => q.bytes_per_row(dim),
        };
        let vectors = match storage.vectors {
            crate::index::VectorPlace::Ram => dim * 4,
            crate::index::VectorPlace::Disk => 4,
        };
        let per_node = (vectors + walk) as f64
            + ((2 * m + 1) * 4) as f64
            + ((m + 1) * 4) as f64 / (m as f64 - 1.0)
            + 13.0
            + 24.0;
        (n * per_node) as u64
            + crate::index::quant::Codes::model_bytes(storage.quantizer, dim) as u64
    }

    fn search_params_ef(&self, params: &SearchParams) -> Result<usize> {
        params.knob.effective_ef(params.k, &self.dynamic_ef)
    }
}

impl AnnIndex for Hnsw {
    fn kind(&self) -> IndexKind {
        IndexKind::Hnsw
    }
    fn graph(&self) -> Option<&Hnsw> {
        Some(self)
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        Hnsw::save(self, path)
    }
    fn file_summary(&self) -> (serde_json::Value, String) {
        let json = serde_json::json!({
            "layers": self.layer_count(),
            "graph_bytes": self.graph_bytes(),
            "unreachable": self.unreachable_nodes().len(),
        });
        let text = format!(
            "{} layers, {:.1} graph bytes per vector",
            self.layer_count(),
            self.graph_bytes() as f64 / self.len().max(1) as f64
        );
        (json, text)
    }
    fn built_on(&self) -> Option<BuiltOn> {
        self.built_on
    }
    fn len(&self) -> usize {
        self.live_len()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn metric(&self) -> Metric {
        self.metric
    }

    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        check_query_dim(self.dim, query)?;
        let ef = self.search_params_ef(params)?;
        Ok(match &params.filter {
            Some(filter) => self.search_filtered(query, params.k, ef, filter),
            None => self.search_ef(query, params.k, ef, params.rescoring),
        })
    }

    fn memory(&self) -> MemoryUsage {
        let ids = self.ext_ids.capacity() * 4 + self.slot_of.bytes() + self.deleted.capacity();
        MemoryUsage {
            ram_bytes: (self.vectors.capacity() * 4
                + self.walk.as_ref().map_or(0, |w| w.bytes())
                + self.codes.as_ref().map_or(0, |c| c.bytes())
                + self.disk.as_ref().map_or(0, |d| d.heap_bytes())
                + self.links.bytes()
                + ids) as u64,
            disk_bytes: self.disk.as_ref().map_or(0, |d| d.file_bytes()),
            mapped_resident_bytes: self.disk.as_ref().and_then(|d| d.resident_bytes()),
        }
    }

    fn params(&self) -> ParamMap {
        let mut p = ParamMap::new();
        p.insert("m".into(), self.params.m.into());
        p.insert("ef_construction".into(), self.params.ef_construction.into());
        p.insert("seed".into(), self.params.seed.into());
        p.insert(
            "build_precision".into(),
            self.params.storage.build.name().into(),
        );
        p.insert(
            "search_precision".into(),
            self.params.storage.search.name().into(),
        );
        if let Some(codes) = &self.codes {
            p.insert("quantizer".into(), codes.quantizer().to_string().into());
            p.insert("code_bytes_per_vector".into(), codes.bytes_per_row().into());
        }
        p.insert("vectors".into(), self.params.storage.vectors.name().into());
        if self.params.storage.vector_cache > 0 {
            p.insert(
                "vector_cache".into(),
                self.params.storage.vector_cache.into(),
            );
        }
        p
    }

    fn vector_cache(&self) -> Option<CacheCounters> {
        self.disk.as_ref().and_then(|d| d.cache_counters())
    }

    fn drop_cached_pages(&self) -> Result<bool> {
        match &self.disk {
            Some(d) => d.drop_pages().map(|()| true),
            None => Ok(false),
        }
    }
}

/// Builds with the vectors in RAM, then moves them to disk when the
/// parameters ask.
fn build_then_place(
    dataset: &Dataset,
    mut params: HnswParams,
    ctx: &crate::progress::WorkContext,
) -> Result<Hnsw> {
    params.validate()?;
    let place = std::mem::take(&mut params.storage.vectors);
    let cache = std::mem::take(&mut params.storage.vector_cache);
    let mut h = build::build(dataset, params, ctx)?;
    if place == crate::index::VectorPlace::Disk {
        h.params.storage.vector_cache = cache;
        ctx.progress.stage("mapping the vectors on disk", 0);
        h.keep_vectors_on_disk(dataset)?;
    }
    Ok(h)
}

/// Builds an HNSW index as a shared trait object.
pub fn build_shared(
    dataset: Arc<Dataset>,
    params: HnswParams,
    ctx: &crate::progress::WorkContext,
) -> Result<Arc<dyn AnnIndex>> {
    Ok(Arc::new(Hnsw::build(&dataset, params, ctx)?))
}

pub(crate) fn unknown_id(ext: u32) -> Error {
    Error::InvalidParameter(format!("id {ext} is not in the index"))
}
