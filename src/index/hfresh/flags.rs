//! HFresh's command-line flags: its build settings, the probe sweep, and
//! how they read back from a tuner's pick.

use clap::Args;

use super::{HFreshParams, Precision};
use crate::error::Result;
use crate::index::hnsw::flags::HnswArgs;
use crate::index::hnsw::params::BuildPrecision;
use crate::index::param_spec as spec;
use crate::index::Storage;

/// HFresh's options for `bench` and `build`.
#[derive(Args, Debug, Clone)]
pub struct HFreshArgs {
    /// HFresh: a posting list over this many vectors splits in two.
    #[arg(long, default_value_t = spec::MAX_POSTING_SIZE.default, long_help = spec::MAX_POSTING_SIZE.help)]
    pub max_posting_size: usize,
    /// HFresh: lists a vector may join (SPANN's boundary replicas).
    #[arg(long, default_value_t = spec::REPLICAS.default, long_help = spec::REPLICAS.help)]
    pub replicas: usize,
    /// HFresh: a replica's centroid is at most (1 + epsilon) times as far as the nearest.
    #[arg(long, default_value_t = spec::EPSILON.default, long_help = spec::EPSILON.help)]
    pub epsilon: f32,
    /// HFresh: at search, skip probed lists farther than (1 + this) times the nearest.
    #[arg(long)]
    pub query_epsilon: Option<f32>,
    /// HFresh: lists probed per query, swept without a rebuild.
    #[arg(long, value_delimiter = ',', default_values_t = spec::SEARCH_PROBE.sweep[..7].to_vec(), long_help = spec::SEARCH_PROBE.help)]
    pub search_probe: Vec<usize>,
    /// HFresh: how posting vectors are stored (f16 halves the bytes a scan reads).
    #[arg(long, value_enum, default_value_t = Precision::F16, long_help = spec::POSTING_PRECISION_HELP)]
    pub posting_precision: Precision,
}

impl HFreshArgs {
    /// HFresh's parameters; `hnsw` gives the seed and the storage flags it
    /// shares with HNSW (--quantizer: lists of codes; --vectors disk and
    /// --vector-cache are refused by the parameters' own check).
    pub fn params(&self, hnsw: &HnswArgs) -> Result<HFreshParams> {
        let p = HFreshParams {
            max_posting_size: self.max_posting_size,
            replicas: self.replicas,
            epsilon: self.epsilon,
            query_epsilon: self.query_epsilon,
            min_posting_size: (self.max_posting_size / 16).max(1),
            storage: Storage {
                quantizer: hnsw.quantizer,
                vectors: hnsw.vectors,
                vector_cache: hnsw.vector_cache,
                ..Storage::precisions(BuildPrecision::F32, self.posting_precision)
            },
            seed: hnsw.seed,
            ..HFreshParams::default()
        };
        p.validate()?;
        for &probe in &self.search_probe {
            spec::SEARCH_PROBE.check_flag("--search-probe", probe)?;
        }
        Ok(p)
    }
}
