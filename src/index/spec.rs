//! The one index vocabulary: which kind of index ([`IndexKind`]), and which
//! kind with which build settings ([`IndexSpec`]).
//!
//! The CLI (clap derives its `--index` values from [`IndexKind`]), the app
//! (its index choice and its persisted settings are these types) and the
//! tuner all speak it. What a kind does (flags, build, controls) is its
//! [`super::Family`]; a new kind adds a variant to each enum here and its
//! family to [`super::family()`]. ([`IndexSpec::build`], which wraps the
//! result in a [`super::BuiltIndex`], lives beside that type.)

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::HnswParams;
use super::{AnnIndex, DynamicConfig, DynamicIndex, HFresh, HFreshParams, Hnsw};
use crate::dataset::Dataset;
use crate::error::Result;

/// Which kind of index: the bare tag of an [`IndexSpec`].
///
/// Serialised lowercase (the bench JSON's `index` field); the app's settings
/// files written before it named kinds `Flat`, `Hnsw`, `Dynamic`, `HFresh`,
/// which still read.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Exact: every vector scanned.
    #[serde(alias = "Flat")]
    Flat,
    /// A hierarchical navigable small-world graph.
    #[serde(alias = "Hnsw")]
    Hnsw,
    /// Flat up to a size threshold, then HNSW (Weaviate's dynamic index).
    #[serde(alias = "Dynamic")]
    Dynamic,
    /// Posting lists with an HNSW over their centroids (Weaviate's HFresh).
    #[serde(alias = "HFresh")]
    Hfresh,
    /// pgvector's HNSW in a PostgreSQL server (built by `bench --engine pgvector`).
    #[serde(rename = "pgvector-hnsw")]
    #[value(skip)]
    PgvectorHnsw,
    /// pgvector's IVFFlat in a PostgreSQL server.
    #[serde(rename = "pgvector-ivfflat")]
    #[value(skip)]
    PgvectorIvfflat,
    /// Qdrant's HNSW, in this process (qdrant-edge; feature `qdrant`).
    #[serde(rename = "qdrant-hnsw")]
    #[value(skip)]
    QdrantHnsw,
}

impl IndexKind {
    /// Every kind, in the order the app offers them.
    pub const ALL: [IndexKind; 4] = [
        IndexKind::Flat,
        IndexKind::Hnsw,
        IndexKind::Dynamic,
        IndexKind::Hfresh,
    ];

    /// The kinds the app's Kind menu offers: annscope's, then the engines'
    /// (Qdrant when built with the `qdrant` feature).
    pub const IN_APP: &[IndexKind] = &[
        IndexKind::Flat,
        IndexKind::Hnsw,
        IndexKind::Dynamic,
        IndexKind::Hfresh,
        IndexKind::PgvectorHnsw,
        IndexKind::PgvectorIvfflat,
        #[cfg(feature = "qdrant")]
        IndexKind::QdrantHnsw,
    ];

    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Flat => "flat",
            IndexKind::Hnsw => "hnsw",
            IndexKind::Dynamic => "dynamic",
            IndexKind::Hfresh => "hfresh",
            IndexKind::PgvectorHnsw => "pgvector-hnsw",
            IndexKind::PgvectorIvfflat => "pgvector-ivfflat",
            IndexKind::QdrantHnsw => "qdrant-hnsw",
        }
    }

    /// The name a person reads in the app.
    pub fn label(self) -> &'static str {
        match self {
            IndexKind::Flat => "Flat (exact)",
            IndexKind::Hnsw => "HNSW",
            IndexKind::Dynamic => "Dynamic (flat, then HNSW)",
            IndexKind::Hfresh => "HFresh (posting lists)",
            IndexKind::PgvectorHnsw => "pgvector HNSW (PostgreSQL)",
            IndexKind::PgvectorIvfflat => "pgvector IVFFlat (PostgreSQL)",
            IndexKind::QdrantHnsw => "Qdrant HNSW (edge, in-process)",
        }
    }

    /// True for an engine's index (built and searched by a vector
    /// database, not by annscope).
    pub fn is_engine(self) -> bool {
        matches!(
            self,
            IndexKind::PgvectorHnsw | IndexKind::PgvectorIvfflat | IndexKind::QdrantHnsw
        )
    }

    /// True for an engine that needs its data loaded into a server first.
    pub fn needs_server(self) -> bool {
        matches!(self, IndexKind::PgvectorHnsw | IndexKind::PgvectorIvfflat)
    }

    /// Whether annscope builds this kind on its own HNSW (so it takes a
    /// quantizer and vectors on disk).
    pub fn has_hnsw(self) -> bool {
        matches!(self, IndexKind::Hnsw | IndexKind::Dynamic)
    }

    /// The search-time knob this kind turns, if any.
    pub fn knob(self) -> Option<super::KnobKind> {
        match self {
            IndexKind::Hnsw
            | IndexKind::Dynamic
            | IndexKind::PgvectorHnsw
            | IndexKind::QdrantHnsw => Some(super::KnobKind::Ef),
            IndexKind::Hfresh | IndexKind::PgvectorIvfflat => Some(super::KnobKind::Probe),
            IndexKind::Flat => None,
        }
    }
}

/// Reads a saved index of any kind that saves (HNSW, HFresh, dynamic),
/// telling them apart by their first bytes.
pub fn load_index(path: &std::path::Path) -> Result<(IndexSpec, Arc<dyn AnnIndex>)> {
    use std::io::Read;
    crate::fsutil::check_input_file(path)?;
    let mut magic = [0u8; 8];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| crate::error::Error::io(path, e))?;
    match &magic[..read] {
        b"ANNSHFRS" => {
            let h = HFresh::load(path)?;
            Ok((IndexSpec::HFresh(h.hfresh_params().clone()), Arc::new(h)))
        }
        b"ANNSDYNA" => {
            let d = DynamicIndex::load(path)?;
            Ok((IndexSpec::Dynamic(d.config().clone()), d))
        }
        b"ANNSHNSW" => {
            let h = Hnsw::load(path)?;
            Ok((IndexSpec::Hnsw(h.params_struct().clone()), Arc::new(h)))
        }
        _ => Err(crate::error::Error::format(
            path,
            "not an annscope index file (written by annscope build --index hnsw|hfresh|dynamic)",
        )),
    }
}

/// Where an index's vectors come from: a dataset in this process, or a
/// table in a PostgreSQL server that annscope loaded it into (which also
/// keeps the local copy, for annscope's own kinds and for ground truth).
#[derive(Clone)]
#[non_exhaustive]
pub enum DataSource {
    /// Vectors loaded into this process.
    Dataset(Arc<Dataset>),
    /// The same vectors in an engine's server (a pgvector table).
    Engine(Arc<dyn super::EngineCollection>),
}

impl From<Arc<Dataset>> for DataSource {
    fn from(d: Arc<Dataset>) -> Self {
        DataSource::Dataset(d)
    }
}

impl DataSource {
    /// Vectors in the source.
    pub fn len(&self) -> usize {
        self.local().len()
    }
    /// The vectors as this process holds them.
    pub fn local(&self) -> &Arc<Dataset> {
        match self {
            DataSource::Dataset(d) => d,
            DataSource::Engine(c) => c.local(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn dim(&self) -> usize {
        self.local().dim()
    }
}

/// What a label adds for codes and vectors on disk (nothing by default).
fn storage_suffix(s: &super::Storage) -> String {
    match (s.quantizer.is_none(), s.vectors) {
        (true, _) => String::new(),
        (false, super::VectorPlace::Ram) => format!(" {}", s.quantizer),
        (false, super::VectorPlace::Disk) if s.vector_cache > 0 => {
            format!(" {} disk cache {}", s.quantizer, s.vector_cache)
        }
        (false, super::VectorPlace::Disk) => format!(" {} disk", s.quantizer),
    }
}

/// A flat scan over quantized codes: which codes, and the seed of their
/// training (RaBitQ's rotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatCodes {
    pub quantizer: super::quant::Quantizer,
    pub seed: u64,
}

/// Which index to build, with its build settings: the only description of
/// it, shared by the CLI, the app (and its settings file) and the tuner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IndexSpec {
    Flat,
    /// The flat index scanning quantized codes (kind flat; its best
    /// candidates re-scored from the vectors).
    FlatCodes(FlatCodes),
    Hnsw(HnswParams),
    Dynamic(DynamicConfig),
    HFresh(HFreshParams),
    /// An engine's index: pgvector's in a PostgreSQL server, Qdrant's in
    /// this process (built from a [`DataSource::Engine`]).
    #[serde(alias = "Pgvector")]
    Engine(super::EngineIndexSpec),
}

impl IndexSpec {
    pub fn kind(&self) -> IndexKind {
        match self {
            IndexSpec::Flat | IndexSpec::FlatCodes(_) => IndexKind::Flat,
            IndexSpec::Hnsw(_) => IndexKind::Hnsw,
            IndexSpec::Dynamic(_) => IndexKind::Dynamic,
            IndexSpec::HFresh(_) => IndexKind::Hfresh,
            IndexSpec::Engine(p) => p.kind(),
        }
    }

    /// Sets the seed of a build that has one (node levels, k-means, a
    /// quantizer's training).
    pub fn set_seed(&mut self, seed: u64) {
        match self {
            IndexSpec::FlatCodes(c) => c.seed = seed,
            IndexSpec::Hnsw(p) => p.seed = seed,
            IndexSpec::Dynamic(c) => c.hnsw.seed = seed,
            IndexSpec::HFresh(p) => p.seed = seed,
            IndexSpec::Flat | IndexSpec::Engine(_) => {}
        }
    }

    /// Checks every build parameter's range, with a message naming it.
    pub fn validate(&self) -> Result<()> {
        match self {
            IndexSpec::Flat => Ok(()),
            IndexSpec::FlatCodes(c) if c.quantizer.is_none() => {
                Err(crate::error::Error::InvalidParameter(
                    "a flat scan over codes needs a quantizer (sq8, sq4 or rabitq:BITS)".into(),
                ))
            }
            IndexSpec::FlatCodes(_) => Ok(()),
            IndexSpec::Hnsw(p) => p.validate(),
            IndexSpec::Dynamic(c) => c.validate(),
            IndexSpec::HFresh(p) => p.validate(),
            IndexSpec::Engine(p) => p.validate(),
        }
    }

    /// How the index holds and reads its vectors (a flat index scans f32).
    pub fn storage(&self) -> super::Storage {
        match self {
            IndexSpec::Flat | IndexSpec::Engine(_) => super::Storage::EXACT,
            IndexSpec::FlatCodes(c) => super::Storage {
                quantizer: c.quantizer,
                ..super::Storage::EXACT
            },
            IndexSpec::Hnsw(p) => p.storage,
            IndexSpec::Dynamic(c) => c.hnsw.storage,
            IndexSpec::HFresh(p) => p.storage,
        }
    }

    /// The storage of a kind whose storage is a build setting, to edit.
    pub fn storage_mut(&mut self) -> Option<&mut super::Storage> {
        match self {
            IndexSpec::Hnsw(p) => Some(&mut p.storage),
            IndexSpec::Dynamic(c) => Some(&mut c.hnsw.storage),
            IndexSpec::HFresh(p) => Some(&mut p.storage),
            IndexSpec::Flat | IndexSpec::FlatCodes(_) | IndexSpec::Engine(_) => None,
        }
    }

    /// A short label, e.g. "HNSW M=16 efC=200".
    pub fn label(&self) -> String {
        match self {
            IndexSpec::Flat => IndexKind::Flat.label().into(),
            IndexSpec::FlatCodes(c) => {
                format!("{} ({} codes)", IndexKind::Flat.label(), c.quantizer)
            }
            IndexSpec::Hnsw(p) => format!(
                "HNSW M={} efC={}{}",
                p.m,
                p.ef_construction,
                storage_suffix(&p.storage)
            ),
            IndexSpec::HFresh(p) => format!(
                "HFresh max={} replicas={} eps={}{}",
                p.max_posting_size,
                p.replicas,
                p.epsilon,
                storage_suffix(&p.storage)
            ),
            IndexSpec::Dynamic(c) => format!(
                "Dynamic t={} M={} efC={}",
                c.threshold, c.hnsw.m, c.hnsw.ef_construction
            ),
            IndexSpec::Engine(p) => p.label(),
        }
    }

    /// RAM the index should take over `n` vectors of `dim` by formula, for
    /// a check beside the measured bytes; None where there is no formula
    /// (HFresh's lists depend on the data).
    pub fn estimated_bytes(&self, n: usize, dim: usize) -> Option<u64> {
        match self {
            IndexSpec::Flat => Some((n * dim * 4 + n * 4) as u64),
            IndexSpec::Hnsw(p) => Some(Hnsw::estimated_bytes(n, dim, p)),
            IndexSpec::Dynamic(c) if n > c.threshold => {
                Some(Hnsw::estimated_bytes(n, dim, &c.hnsw))
            }
            IndexSpec::Dynamic(_) => Some((n * (dim + 1) * 4) as u64),
            // In the server: its size is what the server reports.
            IndexSpec::HFresh(_) | IndexSpec::Engine(_) | IndexSpec::FlatCodes(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_written_with_the_old_kind_names_still_read() {
        for (old, kind) in [
            ("\"Flat\"", IndexKind::Flat),
            ("\"Hnsw\"", IndexKind::Hnsw),
            ("\"Dynamic\"", IndexKind::Dynamic),
            ("\"HFresh\"", IndexKind::Hfresh),
        ] {
            let read: IndexKind = serde_json::from_str(old).expect(old);
            assert_eq!(read, kind);
            let again: IndexKind =
                serde_json::from_str(&serde_json::to_string(&kind).expect("write")).expect("read");
            assert_eq!(again, kind);
        }
        assert_eq!(
            serde_json::to_string(&IndexKind::Hfresh).expect("json"),
            "\"hfresh\""
        );
    }

    #[test]
    fn parameters_saved_before_the_storage_field_read_the_same() {
        let hfresh: HFreshParams =
            serde_json::from_str(r#"{"max_posting_size":64,"precision":"f32"}"#).expect("hfresh");
        assert_eq!(hfresh.storage, crate::index::Storage::EXACT);
        assert!(IndexSpec::HFresh(hfresh).validate().is_ok());
        let hnsw: HnswParams = serde_json::from_str(
            r#"{"m":12,"ef_construction":100,"seed":1,"build_precision":"f16","search_precision":"f32"}"#,
        )
        .expect("hnsw");
        let spec = IndexSpec::Hnsw(hnsw);
        assert_eq!(
            spec.storage().build,
            crate::index::hnsw::BuildPrecision::F16
        );
        assert_eq!(spec.storage().search, crate::index::Precision::F32);
        let mut sq8 = HFreshParams::default();
        sq8.storage.build = crate::index::hnsw::BuildPrecision::Sq8;
        let e = IndexSpec::HFresh(sq8)
            .validate()
            .expect_err("hfresh clusters f32");
        assert!(e.to_string().contains("build_precision sq8"), "{e}");
    }

    #[test]
    fn a_spec_round_trips_through_serde_and_names_its_kind() {
        let spec = IndexSpec::Hnsw(HnswParams {
            m: 12,
            ..HnswParams::default()
        });
        let text = serde_json::to_string(&spec).expect("write");
        let back: IndexSpec = serde_json::from_str(&text).expect("read");
        assert_eq!(back, spec);
        assert_eq!(back.kind(), IndexKind::Hnsw);
        assert!(IndexSpec::Hnsw(HnswParams {
            m: 1,
            ..HnswParams::default()
        })
        .validate()
        .is_err());
    }
}
