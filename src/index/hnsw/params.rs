//! HNSW parameters; each one's range, default and help text live in
//! [`crate::index::param_spec`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::param_spec;

/// Build parameters of an HNSW index (Malkov & Yashunin 2016).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Links per node on the upper layers; layer 0 keeps 2·M. Higher M gives
    /// better recall at a given ef and more memory and build time. Usual 8–48.
    pub m: usize,
    /// Candidate list size while linking a new node. Higher builds a better
    /// graph, more slowly. Usual 100–400; at least M.
    pub ef_construction: usize,
    /// Seed of the random level of each node: a single-threaded build with
    /// the same seed is identical; a parallel build may differ slightly,
    /// since nodes link in the order threads reach them.
    pub seed: u64,
    /// What the build reads while it links nodes (the index always stores
    /// f32; fewer bytes build a memory-bound graph faster) and what a search
    /// walks: an f16 walk keeps a half-precision copy of the vectors (half
    /// their memory again), reads half the bytes per distance, and
    /// re-scores the final ef candidates in f32, so results and their
    /// distances are exact. Without AVX-512, f16 (built or walked) falls
    /// back to f32 (sq8 builds everywhere), and a built index records what
    /// it used.
    #[serde(flatten)]
    pub storage: crate::index::Storage,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: param_spec::M.default,
            ef_construction: param_spec::EF_CONSTRUCTION.default,
            seed: 42,
            storage: crate::index::Storage::precisions(
                BuildPrecision::Sq8,
                crate::index::Precision::F16,
            ),
        }
    }
}

impl HnswParams {
    /// Checks the ranges, with a message saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        param_spec::M.check(self.m)?;
        param_spec::EF_CONSTRUCTION.check(self.ef_construction)?;
        self.storage.check_quantized()
    }

    /// Links a node keeps on layer 0.
    pub fn m0(&self) -> usize {
        2 * self.m
    }

    /// The level multiplier mL = 1/ln(M).
    pub fn level_mult(&self) -> f64 {
        1.0 / (self.m as f64).ln()
    }
}

/// What an HNSW build reads while it links nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BuildPrecision {
    /// The stored vectors, as hnswlib builds.
    F32,
    /// Half-precision copies: half the bytes.
    F16,
    /// 8-bit scalar-quantised copies (per-dimension range): a quarter.
    #[default]
    Sq8,
}

impl BuildPrecision {
    pub const ALL: [BuildPrecision; 3] = [
        BuildPrecision::Sq8,
        BuildPrecision::F16,
        BuildPrecision::F32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuildPrecision::F32 => "f32",
            BuildPrecision::F16 => "f16",
            BuildPrecision::Sq8 => "sq8",
        }
    }
}

/// Weaviate's dynamic ef: with ef = -1, ef = min(max(min, k × factor), max),
/// never below k.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DynamicEf {
    pub min: usize,
    pub max: usize,
    pub factor: usize,
}

impl Default for DynamicEf {
    fn default() -> Self {
        DynamicEf {
            min: 100,
            max: 500,
            factor: 8,
        }
    }
}

impl DynamicEf {
    /// The ef used for top-`k`.
    pub fn ef_for(&self, k: usize) -> usize {
        (k * self.factor).max(self.min).min(self.max).max(k)
    }

    pub fn validate(&self) -> Result<()> {
        if self.min > self.max {
            return Err(Error::InvalidParameter(format!(
                "dynamic_ef_min ({}) is larger than dynamic_ef_max ({})",
                self.min, self.max
            )));
        }
        if self.factor == 0 || self.max == 0 {
            return Err(Error::InvalidParameter(
                "dynamic_ef_factor and dynamic_ef_max must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_ef_follows_weaviate() {
        let d = DynamicEf::default();
        assert_eq!(d.ef_for(1), 100); // max(100, 8) capped at 500
        assert_eq!(d.ef_for(10), 100);
        assert_eq!(d.ef_for(20), 160);
        assert_eq!(d.ef_for(100), 500);
        let tight = DynamicEf {
            min: 5,
            max: 20,
            factor: 1,
        };
        assert_eq!(tight.ef_for(50), 50, "never below k");
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = HnswParams {
            m: 1,
            ..HnswParams::default()
        };
        assert!(p.validate().expect_err("m").to_string().contains("m = 1"));
        let d = DynamicEf {
            min: 10,
            max: 5,
            factor: 8,
        };
        assert!(d.validate().is_err());
    }
}
