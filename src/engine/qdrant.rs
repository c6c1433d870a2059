//! Qdrant's engine in this process (the `qdrant-edge` crate, feature
//! `qdrant`): the HNSW and quantization Qdrant users deploy, built and
//! searched by Qdrant's own code, measured as annscope measures its own
//! indexes.
//!
//! Why the thresholds are lowered and the index count checked: Qdrant
//! builds a segment's HNSW only in `optimize()`, and only once the segment
//! is larger than `indexing_threshold`; a segment smaller than
//! `full_scan_threshold` is searched by brute force. A benchmark that
//! forgets either reports an exact scan as HNSW. So each build upserts the
//! vectors into one segment, lowers both thresholds to 1 KB, runs
//! `optimize()`, and refuses to answer unless `indexed_vectors_count`
//! equals the number of vectors.
//!
//! Each build is a new shard in a temporary folder (under `TMPDIR`),
//! removed when the index is dropped; vectors, graph and codes are kept in
//! RAM (`on_disk: false`, `always_ram: true`), as annscope keeps its own.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use qdrant_edge::{
    Distance, EdgeConfig, EdgeOptimizersConfig, EdgeShard, EdgeVectorParams, HnswIndexConfig,
    NamedQuery, OperationError, PointInsertOperations, PointOperations, PointStruct,
    QuantizationConfig, QuantizationSearchParams, QueryEnum, SearchRequest, UpdateOperation,
    DEFAULT_VECTOR_NAME,
};

use super::{EngineBackend, EngineIndex, EngineIndexSpec};
use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::{
    AnnIndex, EngineCollection, Neighbors, ParamMap, Rescoring, SearchKnob, SearchParams,
};
use crate::progress::WorkContext;

/// The engine's name in messages.
pub const ENGINE: &str = "Qdrant edge";

/// Points per upsert.
const UPSERT_BATCH: usize = 1024;

fn engine_error(what: &str, e: OperationError) -> Error {
    Error::Engine {
        engine: ENGINE,
        problem: format!("{what}: {e}"),
    }
}

/// One Qdrant shard with its HNSW built, searched from any thread.
pub struct QdrantShard {
    // Declared before `_dir`: the shard flushes into its folder when
    // dropped, then the folder is removed.
    shard: EdgeShard,
    _dir: tempfile::TempDir,
    metric: Metric,
    k_max: usize,
    /// Used when a search gives no rescoring of its own (the app sets it
    /// per build).
    default_rescoring: Option<Rescoring>,
    /// Bytes of the shard's segment files by what they hold.
    pub files: ShardFiles,
    /// Seconds the upsert took, and optimize() (the HNSW build).
    pub upsert_secs: f64,
    pub optimize_secs: f64,
}

/// What a built shard holds in its files, in allocated bytes (all of it
/// also resident: nothing is configured on disk).
#[derive(Clone, Copy, Debug, Default)]
pub struct ShardFiles {
    /// The HNSW graph's files.
    pub graph_bytes: u64,
    /// The quantized codes.
    pub quantized_bytes: u64,
    /// Everything in the segments (vectors, graph, codes, id maps).
    pub segment_bytes: u64,
}

impl QdrantShard {
    /// Upserts `base` into a new shard and builds `spec`'s HNSW (and
    /// codes) with `optimize()`; progress and cancel through `ctx`
    /// (cancel is seen between upsert batches and after optimize(), which
    /// Qdrant runs to its end).
    pub fn build(base: &Dataset, spec: EngineIndexSpec, ctx: &WorkContext) -> Result<Self> {
        let EngineIndexSpec::QdrantHnsw {
            m,
            ef_construct,
            quantization,
        } = spec
        else {
            return Err(Error::InvalidParameter(format!(
                "{} is not a Qdrant index",
                spec.label()
            )));
        };
        spec.validate()?;
        let (n, dim, metric) = (base.len(), base.dim(), base.metric());
        if n == 0 {
            return Err(Error::InvalidParameter(format!(
                "{} holds no vectors: nothing to index",
                base.display_name()
            )));
        }
        base.validate(ctx)?;
        let distance = match metric {
            Metric::Cosine => Distance::Cosine,
            Metric::L2 => Distance::Euclid,
            Metric::InnerProduct => Distance::Dot,
        };
        let hnsw = HnswIndexConfig {
            m,
            ef_construct,
            // In KB: only a segment under 1 KB is brute-forced.
            full_scan_threshold: 1,
            max_indexing_threads: rayon::current_num_threads(),
            on_disk: Some(false),
            payload_m: None,
            inline_storage: None,
        };
        let mut vector = EdgeVectorParams::builder(dim, distance).on_disk(false);
        if let Some(q) = quantization.qdrant_config() {
            let q: QuantizationConfig = serde_json::from_value(q).map_err(|e| Error::Engine {
                engine: ENGINE,
                problem: format!("quantization {}: {e}", quantization.name()),
            })?;
            vector = vector.quantization_config(q);
        }
        let optimizers = EdgeOptimizersConfig {
            default_segment_number: Some(1),
            // In KB: every vector in one segment, and that segment indexed.
            max_segment_size: Some(usize::MAX / 1024),
            indexing_threshold: Some(1),
            ..Default::default()
        };
        let config = EdgeConfig::builder()
            .vector(DEFAULT_VECTOR_NAME, vector.build())
            .on_disk_payload(false)
            .hnsw_config(hnsw)
            .optimizers(optimizers)
            .build();
        let dir = tempfile::Builder::new()
            .prefix("annscope-qdrant-")
            .tempdir()
            .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
        let shard =
            EdgeShard::new(dir.path(), config).map_err(|e| engine_error("create shard", e))?;

        ctx.progress.stage("upsert into Qdrant", n as u64);
        let started = Instant::now();
        for start in (0..n).step_by(UPSERT_BATCH) {
            ctx.cancel.check()?;
            let end = (start + UPSERT_BATCH).min(n);
            let points = (start..end)
                .map(|i| {
                    PointStruct::new(i as u64, base.row(i).to_vec(), serde_json::json!({})).into()
                })
                .collect();
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
                ))
                .map_err(|e| engine_error("upsert", e))?;
            ctx.progress.add((end - start) as u64);
        }
        let upsert_secs = started.elapsed().as_secs_f64();

        ctx.progress.stage("Qdrant optimize() (HNSW build)", 0);
        let started = Instant::now();
        shard.optimize().map_err(|e| engine_error("optimize", e))?;
        let optimize_secs = started.elapsed().as_secs_f64();
        ctx.cancel.check()?;
        let info = shard.info();
        if info.indexed_vectors_count != n || info.points_count != n {
            return Err(Error::Engine {
                engine: ENGINE,
                problem: format!(
                    "optimize() left {} of {n} vectors indexed ({} points in {} segments): \
                     searches would be brute force, not HNSW, so nothing is reported",
                    info.indexed_vectors_count, info.points_count, info.segments_count
                ),
            });
        }
        let files = shard_files(dir.path());
        Ok(QdrantShard {
            shard,
            _dir: dir,
            metric,
            k_max: n,
            default_rescoring: None,
            files,
            upsert_secs,
            optimize_secs,
        })
    }

    fn query(
        &self,
        query: &[f32],
        k: usize,
        params: qdrant_edge::SearchParams,
    ) -> Result<Neighbors> {
        let request = SearchRequest {
            query: QueryEnum::Nearest(NamedQuery::default_dense(query.to_vec())),
            filter: None,
            params: Some(params),
            limit: k.min(self.k_max),
            offset: 0,
            with_payload: None,
            with_vector: None,
            score_threshold: None,
        };
        let points = self
            .shard
            .search(request)
            .map_err(|e| engine_error("search", e))?;
        let mut ids = Vec::with_capacity(points.len());
        let mut distances = Vec::with_capacity(points.len());
        for p in points {
            let id = match p.id {
                qdrant_edge::PointId::NumId(id) => u32::try_from(id).ok(),
                qdrant_edge::PointId::Uuid(_) => None,
            }
            .ok_or_else(|| Error::Engine {
                engine: ENGINE,
                problem: format!("a point id annscope did not write: {:?}", p.id),
            })?;
            ids.push(id);
            distances.push(self.distance_from_score(p.score));
        }
        Ok(Neighbors {
            ids,
            distances,
            stats: Default::default(),
        })
    }

    /// annscope's distance from Qdrant's score (cosine similarity of the
    /// normalised vectors, dot product, or Euclidean distance).
    fn distance_from_score(&self, score: f32) -> f32 {
        match self.metric {
            Metric::Cosine => 1.0 - score,
            Metric::InnerProduct => -score,
            Metric::L2 => score * score,
        }
    }
}

/// Bytes a file occupies: Qdrant preallocates its files in 32 MiB chunks
/// (sparse), so their length overstates what they hold.
#[cfg(unix)]
fn allocated_bytes(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated_bytes(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

fn shard_files(dir: &Path) -> ShardFiles {
    let mut files = ShardFiles::default();
    let segments = dir.join("segments");
    let mut stack = vec![segments];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = allocated_bytes(&meta);
            files.segment_bytes += bytes;
            let name = path.to_string_lossy();
            if name.contains("quantized") {
                files.quantized_bytes += bytes;
            } else if name.contains("vector_index") {
                files.graph_bytes += bytes;
            }
        }
    }
    files
}

impl EngineBackend for QdrantShard {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        if params.filter.is_some() {
            return Err(Error::InvalidParameter(
                "filtered search is not measured on Qdrant yet".into(),
            ));
        }
        let hnsw_ef = match params.knob {
            SearchKnob::Default => None,
            SearchKnob::Ef(ef) => Some(ef),
            other => {
                return Err(Error::InvalidParameter(format!(
                    "Qdrant's HNSW is tuned by hnsw_ef, not {other:?}"
                )))
            }
        };
        let quantization =
            params
                .rescoring
                .or(self.default_rescoring)
                .map(|r| QuantizationSearchParams {
                    ignore: false,
                    rescore: Some(r.rescore),
                    oversampling: Some(r.oversample),
                });
        self.query(
            query,
            params.k,
            qdrant_edge::SearchParams {
                hnsw_ef,
                exact: false,
                quantization,
                indexed_only: false,
                acorn: None,
            },
        )
    }

    fn exact(&self, query: &[f32], k: usize, exclude: Option<u32>) -> Result<Neighbors> {
        let params = qdrant_edge::SearchParams {
            hnsw_ef: None,
            exact: true,
            quantization: Some(QuantizationSearchParams {
                ignore: true,
                rescore: None,
                oversampling: None,
            }),
            indexed_only: false,
            acorn: None,
        };
        let mut found = self.query(query, k + usize::from(exclude.is_some()), params)?;
        if let Some(x) = exclude {
            if let Some(at) = found.ids.iter().position(|&id| id == x) {
                found.ids.remove(at);
                found.distances.remove(at);
            }
        }
        found.ids.truncate(k);
        found.distances.truncate(k);
        Ok(found)
    }

    fn search_report(&self, knob: SearchKnob) -> ParamMap {
        let mut p = ParamMap::new();
        if let SearchKnob::Ef(ef) = knob {
            p.insert("hnsw_ef".into(), ef.into());
        }
        p
    }
}

impl QdrantShard {
    /// Wraps the shard as an index annscope measures, built by `spec` on
    /// `base`; `index_bytes` is the segment files (vectors, graph and
    /// codes, all resident), `build_secs` optimize(). Every search that
    /// gives no rescoring of its own uses `rescoring` (shown in the
    /// index's parameters; its oversampling checked here).
    pub fn into_index(
        mut self,
        base: &Dataset,
        spec: EngineIndexSpec,
        rescoring: Option<Rescoring>,
    ) -> Result<EngineIndex> {
        let mut params = spec.params();
        if let Some(r) = rescoring {
            crate::index::param_spec::QD_OVERSAMPLING.check(r.oversample)?;
            self.default_rescoring = Some(r);
            params.insert("oversampling".into(), r.oversample.into());
            params.insert("rescore".into(), r.rescore.into());
        }
        params.insert("graph_bytes".into(), self.files.graph_bytes.into());
        params.insert("quantized_bytes".into(), self.files.quantized_bytes.into());
        let (bytes, secs) = (self.files.segment_bytes, self.optimize_secs);
        Ok(EngineIndex::new(
            Arc::new(self),
            spec.kind(),
            params,
            base.len(),
            base.dim(),
            base.metric(),
            bytes,
            secs,
        ))
    }
}

/// Builds `spec` on `base` in Qdrant, as an index annscope measures.
pub fn build_index(
    base: &Arc<Dataset>,
    spec: EngineIndexSpec,
    ctx: &WorkContext,
) -> Result<EngineIndex> {
    QdrantShard::build(base, spec, ctx)?.into_index(base, spec, None)
}

/// A dataset opened for Qdrant builds: nothing to load first (the engine
/// runs in this process), so it is a `DataSource::Engine` at once.
pub struct QdrantCollection {
    base: Arc<Dataset>,
    rescoring: Option<Rescoring>,
}

impl QdrantCollection {
    /// `rescoring`: what searches of a quantized build use when they give
    /// none.
    pub fn new(base: Arc<Dataset>, rescoring: Option<Rescoring>) -> Self {
        QdrantCollection { base, rescoring }
    }
}

impl EngineCollection for QdrantCollection {
    fn local(&self) -> &Arc<Dataset> {
        &self.base
    }

    fn build(&self, spec: EngineIndexSpec, ctx: &WorkContext) -> Result<Arc<dyn AnnIndex>> {
        let shard = QdrantShard::build(&self.base, spec, ctx)?;
        Ok(Arc::new(shard.into_index(
            &self.base,
            spec,
            self.rescoring,
        )?))
    }
}
