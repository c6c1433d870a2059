//! HNSW's command-line flags: its build settings (a list of M or
//! efConstruction sweeps builds), the storage ladder every kind over codes
//! shares, and dynamic ef's bounds. Their help and defaults are the
//! parameter specs'.

use clap::Args;

use super::params::{BuildPrecision, DynamicEf, HnswParams};
use crate::error::{Error, Result};
use crate::index::param_spec as spec;
use crate::index::quant::Quantizer;
use crate::index::{Precision, Storage, VectorPlace};

/// HNSW's command-line flags, shared by `bench`, `build`, `crossover` and
/// the engines' HNSW (their M and efConstruction).
#[derive(Args, Debug, Clone)]
pub struct HnswArgs {
    /// HNSW links per node (layer 0 keeps 2·M); a list builds one index per value.
    #[arg(long, value_delimiter = ',', default_values_t = [spec::M.default], long_help = spec::M.help)]
    pub m: Vec<usize>,
    /// HNSW candidate list size while building; a list builds one index per value.
    #[arg(long, value_delimiter = ',', default_values_t = [spec::EF_CONSTRUCTION.default], long_help = spec::EF_CONSTRUCTION.help)]
    pub ef_construction: Vec<usize>,
    /// Seed of the node levels (a single-threaded build is then reproducible).
    #[arg(long, default_value_t = 42, long_help = spec::SEED_HELP)]
    pub seed: u64,
    /// Dynamic ef (used for --ef -1): ef = min(max(min, k × factor), max).
    #[arg(long, default_value_t = DynamicEf::default().min)]
    pub dynamic_ef_min: usize,
    #[arg(long, default_value_t = DynamicEf::default().max)]
    pub dynamic_ef_max: usize,
    #[arg(long, default_value_t = DynamicEf::default().factor)]
    pub dynamic_ef_factor: usize,
    /// Vectors the HNSW build reads while linking: sq8 (a byte per value)
    /// and f16 build faster (the index still stores f32); f32 as hnswlib does.
    #[arg(long, value_enum, default_value_t = BuildPrecision::Sq8, long_help = spec::BUILD_PRECISION_HELP)]
    pub build_precision: BuildPrecision,
    /// Vectors an HNSW search walks the graph with: f16 reads half the bytes
    /// per distance and re-scores the final candidates in f32 (exact
    /// results; keeps a half-precision copy of the vectors); f32 as hnswlib.
    #[arg(long, value_enum, default_value_t = Precision::F16, long_help = spec::SEARCH_PRECISION_HELP)]
    pub search_precision: Precision,
    /// Codes a search walks instead (none, sq8, sq4, rabitq:BITS, pq:M,
    /// opq:M, bq), re-scored from the f32 vectors (--oversample).
    #[arg(long, default_value_t = Quantizer::None, long_help = spec::quantizer_help())]
    pub quantizer: Quantizer,
    /// Where the f32 vectors live after the build: ram, or disk (read from
    /// the mapped base file when re-scoring; needs --quantizer).
    #[arg(long, value_enum, default_value_t = VectorPlace::Ram, long_help = spec::VECTORS_HELP)]
    pub vectors: VectorPlace,
    /// With --vectors disk: keep at most this many full vectors in RAM,
    /// Weaviate's way (filled as read; dropped all at once when full).
    #[arg(long, default_value_t = 0)]
    pub vector_cache: usize,
}

impl HnswArgs {
    pub fn dynamic_ef(&self) -> Result<DynamicEf> {
        let d = DynamicEf {
            min: self.dynamic_ef_min,
            max: self.dynamic_ef_max,
            factor: self.dynamic_ef_factor,
        };
        d.validate()?;
        Ok(d)
    }

    /// The storage the flags name, checked.
    pub fn storage(&self) -> Result<Storage> {
        let s = Storage {
            build: self.build_precision,
            search: self.search_precision,
            quantizer: self.quantizer,
            vectors: self.vectors,
            vector_cache: self.vector_cache,
        };
        s.check_quantized()?;
        Ok(s)
    }

    /// One parameter set per (M, efConstruction) pair, checked.
    pub fn builds(&self) -> Result<Vec<HnswParams>> {
        let mut out = Vec::new();
        for &m in &self.m {
            for &ef_construction in &self.ef_construction {
                let p = HnswParams {
                    m,
                    ef_construction,
                    seed: self.seed,
                    storage: self.storage()?,
                };
                p.validate()?;
                out.push(p);
            }
        }
        self.dynamic_ef()?;
        Ok(out)
    }

    /// The single (M, efConstruction) a command that builds one index takes.
    pub fn one_build(&self, command: &str) -> Result<HnswParams> {
        let builds = self.builds()?;
        let [params] = builds.as_slice() else {
            return Err(Error::InvalidParameter(format!(
                "annscope {command} takes one --m and one --ef-construction"
            )));
        };
        Ok(params.clone())
    }
}
