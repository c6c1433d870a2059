//! Engine backends: the vector databases users deploy (PostgreSQL with
//! pgvector as a server; Qdrant's engine in-process, feature `qdrant`),
//! measured exactly as annscope measures its own indexes.
//!
//! Why an engine is an [`AnnIndex`]: the bench's `measure`, its ground truth,
//! ann-benchmarks' recall rule (distances recomputed from the vectors) and
//! the bench JSON then apply unchanged, so an engine's points sit beside
//! annscope's HNSW on the same chart. Its latency is what a client sees per
//! query, the wire included; `--threads N` is N concurrent clients.
//!
//! A backend ([`pgvector::PgVector`]) loads a dataset into a table it
//! creates (ids are annscope's external ids: row numbers), builds the
//! engine's own index and times it, reports the index's size as the engine
//! reports it, searches with the engine's search-time settings, answers
//! exactly with the engine's own exact scan (the ground truth of a
//! collection that is never pulled onto this machine), and drops only
//! what it created.

pub mod pgvector;
#[cfg(feature = "qdrant")]
pub mod qdrant;

pub use crate::index::engine_spec::{EngineIndexSpec, QdrantQuantization};

use std::sync::Arc;

use serde::Serialize;

use crate::dataset::Vectors;
use crate::distance::Metric;
use crate::error::Result;
use crate::eval::GroundTruth;
use crate::index::{
    AnnIndex, IndexKind, KnobKind, MemoryUsage, Neighbors, ParamMap, SearchKnob, SearchParams,
};
use crate::progress::WorkContext;

/// Which engine `bench --engine` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    /// PostgreSQL with the pgvector extension, through a connection URL.
    Pgvector,
    /// Qdrant's engine in this process (qdrant-edge; annscope built with
    /// `--features qdrant`).
    QdrantEdge,
}

/// Which of the engine's index kinds (`--engine-index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineIndexKind {
    /// A graph: `m`, `ef_construction`; searched with ef_search.
    Hnsw,
    /// Inverted lists: `lists`; searched with probes.
    Ivfflat,
}

/// What a backend does; `search` and `exact` may run on several threads at
/// once (each on its own connection).
pub trait EngineBackend: Send + Sync {
    /// The engine's name in messages.
    fn name(&self) -> &'static str;
    /// The top-k through the engine's index, tuned by `params.knob`
    /// (ef_search for HNSW, probes for IVFFlat).
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors>;
    /// The exact top-k by the engine's own scan (index scans off); `exclude`
    /// leaves one id out (a query sampled from the collection itself).
    fn exact(&self, query: &[f32], k: usize, exclude: Option<u32>) -> Result<Neighbors>;
    /// The engine's own names and values of a search setting, for reports
    /// (e.g. `ef_search`), beside annscope's.
    fn search_report(&self, knob: SearchKnob) -> ParamMap;
}

/// An engine's built index as annscope measures it.
pub struct EngineIndex {
    backend: Arc<dyn EngineBackend>,
    kind: IndexKind,
    params: ParamMap,
    len: usize,
    dim: usize,
    metric: Metric,
    /// The index's size as the engine reports it.
    pub index_bytes: u64,
    /// Seconds the engine took to build it (CREATE INDEX).
    pub build_secs: f64,
}

impl EngineIndex {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        backend: Arc<dyn EngineBackend>,
        kind: IndexKind,
        params: ParamMap,
        len: usize,
        dim: usize,
        metric: Metric,
        index_bytes: u64,
        build_secs: f64,
    ) -> Self {
        EngineIndex {
            backend,
            kind,
            params,
            len,
            dim,
            metric,
            index_bytes,
            build_secs,
        }
    }

    pub fn backend(&self) -> &Arc<dyn EngineBackend> {
        &self.backend
    }

    /// The knob this index turns.
    pub fn knob_kind(&self) -> KnobKind {
        self.kind.knob().unwrap_or(KnobKind::Ef)
    }
}

impl AnnIndex for EngineIndex {
    fn kind(&self) -> IndexKind {
        self.kind
    }
    fn len(&self) -> usize {
        self.len
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        crate::index::check_query_dim(self.dim, query)?;
        self.backend.search(query, params)
    }
    /// The engine's index lives in the server: its size as the engine
    /// reports it, in `ram_bytes` (the bench JSON's `index_bytes`).
    fn memory(&self) -> MemoryUsage {
        MemoryUsage {
            ram_bytes: self.index_bytes,
            disk_bytes: 0,
            mapped_resident_bytes: None,
        }
    }
    fn params(&self) -> ParamMap {
        self.params.clone()
    }
    fn knob_report(&self, knob: SearchKnob) -> ParamMap {
        self.backend.search_report(knob)
    }
}

/// Each query's exact top-k by the engine's own exact scan (`exclude`:
/// each query's own id, left out): ground truth for a collection that is
/// never pulled onto this machine.
pub fn exact_ground_truth(
    backend: &dyn EngineBackend,
    queries: &Vectors,
    exclude: Option<&[u32]>,
    k: usize,
    ctx: &WorkContext,
) -> Result<GroundTruth> {
    ctx.progress
        .stage("exact scan in the server", queries.len() as u64);
    let mut ids = Vec::with_capacity(queries.len() * k);
    let mut distances = Vec::with_capacity(queries.len() * k);
    for i in 0..queries.len() {
        ctx.cancel.check()?;
        let r = backend.exact(queries.row(i), k, exclude.map(|e| e[i]))?;
        if r.ids.len() < k {
            return Err(crate::error::Error::Mismatch(format!(
                "the exact scan found {} rows for query {i}, fewer than k = {k}",
                r.ids.len()
            )));
        }
        ids.extend_from_slice(&r.ids[..k]);
        distances.extend_from_slice(&r.distances[..k]);
        ctx.progress.add(1);
    }
    GroundTruth::from_parts(k, ids, distances)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_settings_follow_pgvectors_rules() {
        let hnsw = |m, ef_construction| EngineIndexSpec::Hnsw { m, ef_construction };
        assert!(hnsw(16, 64).validate().is_ok());
        let e = hnsw(16, 20).validate().expect_err("efC < 2m");
        assert!(e.to_string().contains("at least 2·m = 32"), "{e}");
        assert!(hnsw(1, 64).validate().is_err());
        assert!(hnsw(16, 1001).validate().is_err());
        assert!(EngineIndexSpec::Ivfflat { lists: 0 }.validate().is_err());
        assert!(EngineIndexSpec::Ivfflat { lists: 100 }.validate().is_ok());
        assert_eq!(hnsw(16, 64).kind(), IndexKind::PgvectorHnsw);
        assert_eq!(hnsw(16, 64).params()["ef_construction"], 64);
    }
}
