//! An engine's index in annscope's one vocabulary: which of its index
//! kinds with which build settings (pgvector's `m`/`ef_construction` or
//! `lists`), their ranges (the engine's own, in [`super::param_spec`]), and
//! the collection an engine's index is built on, as a [`super::DataSource`].
//! The engines themselves live in `crate::engine`, which implements
//! [`EngineCollection`]; nothing here talks to a server.

use std::sync::Arc;

use serde::Serialize;

use super::{AnnIndex, IndexKind, ParamMap};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::progress::WorkContext;

/// Vectors loaded into an engine's server, on which its index is built
/// (the local copy stays, for annscope's own kinds and ground truth).
pub trait EngineCollection: Send + Sync {
    /// The vectors as this process holds them.
    fn local(&self) -> &Arc<Dataset>;
    /// Builds the engine's index in the server, ready to search.
    fn build(&self, spec: EngineIndexSpec, ctx: &WorkContext) -> Result<Arc<dyn AnnIndex>>;
}

/// One build of an engine's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineIndexSpec {
    Hnsw {
        m: usize,
        ef_construction: usize,
    },
    Ivfflat {
        lists: usize,
    },
    /// Qdrant's HNSW (qdrant-edge, in this process), optionally over
    /// quantized codes.
    QdrantHnsw {
        m: usize,
        ef_construct: usize,
        #[serde(default)]
        quantization: QdrantQuantization,
    },
}

/// Qdrant's quantization of the vectors its HNSW walks on (original
/// vectors kept for `rescore`), as Qdrant names it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum QdrantQuantization {
    /// The original f32 vectors.
    #[default]
    None,
    /// Scalar: int8 per value (4x smaller).
    Scalar,
    /// Binary: one bit per value (32x smaller).
    Binary,
    /// Binary with two bits per value.
    #[value(name = "binary-2bit")]
    #[serde(rename = "binary-2bit")]
    Binary2Bit,
    /// Product quantization, 16x smaller.
    #[value(name = "product-x16")]
    #[serde(rename = "product-x16")]
    ProductX16,
    /// Product quantization, 32x smaller.
    #[value(name = "product-x32")]
    #[serde(rename = "product-x32")]
    ProductX32,
    /// TurboQuant, 4 bits per value.
    #[value(name = "turbo-4bit")]
    #[serde(rename = "turbo-4bit")]
    Turbo4Bit,
    /// TurboQuant, 2 bits per value.
    #[value(name = "turbo-2bit")]
    #[serde(rename = "turbo-2bit")]
    Turbo2Bit,
}

impl QdrantQuantization {
    pub const ALL: [QdrantQuantization; 8] = [
        QdrantQuantization::None,
        QdrantQuantization::Scalar,
        QdrantQuantization::Binary,
        QdrantQuantization::Binary2Bit,
        QdrantQuantization::ProductX16,
        QdrantQuantization::ProductX32,
        QdrantQuantization::Turbo4Bit,
        QdrantQuantization::Turbo2Bit,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            QdrantQuantization::None => "none",
            QdrantQuantization::Scalar => "scalar",
            QdrantQuantization::Binary => "binary",
            QdrantQuantization::Binary2Bit => "binary-2bit",
            QdrantQuantization::ProductX16 => "product-x16",
            QdrantQuantization::ProductX32 => "product-x32",
            QdrantQuantization::Turbo4Bit => "turbo-4bit",
            QdrantQuantization::Turbo2Bit => "turbo-2bit",
        }
    }

    /// Qdrant's `quantization_config` for it, exactly as its collection
    /// API takes it (codes kept in RAM), or None for the original vectors.
    pub fn qdrant_config(self) -> Option<serde_json::Value> {
        use serde_json::json;
        Some(match self {
            QdrantQuantization::None => return None,
            QdrantQuantization::Scalar => {
                json!({"scalar": {"type": "int8", "always_ram": true}})
            }
            QdrantQuantization::Binary => json!({"binary": {"always_ram": true}}),
            QdrantQuantization::Binary2Bit => {
                json!({"binary": {"always_ram": true, "encoding": "two_bits"}})
            }
            QdrantQuantization::ProductX16 => {
                json!({"product": {"compression": "x16", "always_ram": true}})
            }
            QdrantQuantization::ProductX32 => {
                json!({"product": {"compression": "x32", "always_ram": true}})
            }
            QdrantQuantization::Turbo4Bit => {
                json!({"turbo": {"always_ram": true, "bits": "bits4"}})
            }
            QdrantQuantization::Turbo2Bit => {
                json!({"turbo": {"always_ram": true, "bits": "bits2"}})
            }
        })
    }
}

impl EngineIndexSpec {
    /// Its kind in annscope's vocabulary (the bench JSON's `index`).
    pub fn kind(self) -> IndexKind {
        match self {
            EngineIndexSpec::Hnsw { .. } => IndexKind::PgvectorHnsw,
            EngineIndexSpec::Ivfflat { .. } => IndexKind::PgvectorIvfflat,
            EngineIndexSpec::QdrantHnsw { .. } => IndexKind::QdrantHnsw,
        }
    }

    /// Checks each value against the engine's own range.
    pub fn validate(self) -> Result<()> {
        use super::param_spec::{PG_EF_CONSTRUCTION, PG_LISTS, PG_M};
        match self {
            EngineIndexSpec::Hnsw { m, ef_construction } => {
                PG_M.check(m)?;
                PG_EF_CONSTRUCTION.check(ef_construction)?;
                if ef_construction < 2 * m {
                    return Err(crate::error::Error::InvalidParameter(format!(
                        "ef_construction = {ef_construction} must be at least 2·m = {} (pgvector's rule)",
                        2 * m
                    )));
                }
                Ok(())
            }
            EngineIndexSpec::Ivfflat { lists } => PG_LISTS.check(lists),
            EngineIndexSpec::QdrantHnsw {
                m, ef_construct, ..
            } => {
                super::param_spec::QD_M.check(m)?;
                super::param_spec::QD_EF_CONSTRUCT.check(ef_construct)
            }
        }
    }

    /// Build parameters as reports show them.
    pub fn params(self) -> ParamMap {
        let mut p = ParamMap::new();
        match self {
            EngineIndexSpec::Hnsw { m, ef_construction } => {
                p.insert("m".into(), m.into());
                p.insert("ef_construction".into(), ef_construction.into());
            }
            EngineIndexSpec::Ivfflat { lists } => {
                p.insert("lists".into(), lists.into());
            }
            EngineIndexSpec::QdrantHnsw {
                m,
                ef_construct,
                quantization,
            } => {
                p.insert("m".into(), m.into());
                p.insert("ef_construct".into(), ef_construct.into());
                p.insert("quantization".into(), quantization.name().into());
            }
        }
        p
    }

    /// A short name for progress lines and table rows.
    pub fn label(self) -> String {
        match self {
            EngineIndexSpec::Hnsw { m, ef_construction } => {
                format!("pgvector hnsw m={m} efC={ef_construction}")
            }
            EngineIndexSpec::Ivfflat { lists } => format!("pgvector ivfflat lists={lists}"),
            EngineIndexSpec::QdrantHnsw {
                m,
                ef_construct,
                quantization: QdrantQuantization::None,
            } => format!("Qdrant hnsw m={m} ef_construct={ef_construct}"),
            EngineIndexSpec::QdrantHnsw {
                m,
                ef_construct,
                quantization,
            } => format!(
                "Qdrant hnsw m={m} ef_construct={ef_construct} {}",
                quantization.name()
            ),
        }
    }

    /// An engine that runs in this process (Qdrant edge) builds from the
    /// local vectors; the others need their data loaded into a server.
    pub fn in_process(self) -> bool {
        matches!(self, EngineIndexSpec::QdrantHnsw { .. })
    }
}
