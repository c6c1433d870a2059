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
    Hnsw { m: usize, ef_construction: usize },
    Ivfflat { lists: usize },
}

impl EngineIndexSpec {
    /// Its kind in annscope's vocabulary (the bench JSON's `index`).
    pub fn kind(self) -> IndexKind {
        match self {
            EngineIndexSpec::Hnsw { .. } => IndexKind::PgvectorHnsw,
            EngineIndexSpec::Ivfflat { .. } => IndexKind::PgvectorIvfflat,
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
        }
    }
}
