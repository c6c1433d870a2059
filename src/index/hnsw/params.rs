//! HNSW parameters, with the meaning and usual range of each (the app's
//! tooltips read these docs' wording from [`HnswParams::help`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
    /// Precision of the vectors the build reads while it links nodes (the
    /// index always stores f32). Fewer bytes build a memory-bound graph
    /// faster; machines without AVX-512 build from f32 anyway, and a built
    /// index records what it used.
    #[serde(default)]
    pub build_precision: BuildPrecision,
    /// Precision of the vectors a search walks the graph with. f16 keeps a
    /// half-precision copy of the vectors (half their memory again), reads
    /// half the bytes per distance, and re-scores the final ef candidates
    /// in f32, so results and their distances are exact; f32 walks the
    /// stored vectors, as hnswlib does. Machines without AVX-512 walk f32.
    #[serde(default)]
    pub search_precision: crate::index::Precision,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 42,
            build_precision: BuildPrecision::Sq8,
            search_precision: crate::index::Precision::F16,
        }
    }
}

impl HnswParams {
    /// Checks the ranges, with a message saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        if !(2..=256).contains(&self.m) {
            return Err(Error::InvalidParameter(format!(
                "m = {} is out of range (2 to 256; usual 8 to 48)",
                self.m
            )));
        }
        if self.ef_construction < 1 || self.ef_construction > 100_000 {
            return Err(Error::InvalidParameter(format!(
                "ef_construction = {} is out of range (1 to 100000; usual 100 to 400)",
                self.ef_construction
            )));
        }
        Ok(())
    }

    /// Links a node keeps on layer 0.
    pub fn m0(&self) -> usize {
        2 * self.m
    }

    /// The level multiplier mL = 1/ln(M).
    pub fn level_mult(&self) -> f64 {
        1.0 / (self.m as f64).ln()
    }

    /// Tooltip text for each parameter, by its snake_case name.
    pub fn help(name: &str) -> &'static str {
        match name {
            "m" => "Links per node on the upper layers (layer 0 keeps 2·M). Higher: better recall at the same ef, more memory, slower build. Usual 8–48.",
            "ef_construction" => "Candidate list size while linking each new node. Higher: better graph, slower build. Usual 100–400, at least M.",
            "seed" => "Seed of the random node levels. A single-threaded build with the same seed is identical; parallel builds may differ slightly.",
            "search_precision" => "Vectors a search walks the graph with: f16 reads half the bytes per distance (faster queries) and re-scores the final candidates in f32, so results are exact; it keeps a half-precision copy of the vectors. f32 walks as hnswlib does.",
            "build_precision" => "Vectors the build reads while linking: sq8 (one byte per value) or f16 read fewer bytes and build faster, with the same recall on real embeddings; f32 reads what hnswlib reads. The index still stores f32. Machines without AVX-512 use f32.",
            "ef" => "Candidate list size while searching (raised to k when smaller). Higher: better recall, slower queries. -1 picks it from k (dynamic ef).",
            _ => "",
        }
    }
}

/// What an HNSW build reads while it links nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The ef a search runs with: a fixed value raised to k, or dynamic for -1.
pub fn effective_ef(ef: Option<i64>, k: usize, dynamic: &DynamicEf) -> Result<usize> {
    match ef {
        None => Ok(dynamic.ef_for(k).max(k)),
        Some(-1) => Ok(dynamic.ef_for(k)),
        Some(e) if e >= 1 => Ok((e as usize).max(k)),
        Some(e) => Err(Error::InvalidParameter(format!(
            "ef = {e}: use a positive value, or -1 for dynamic ef"
        ))),
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
    fn fixed_ef_is_raised_to_k() {
        let d = DynamicEf::default();
        assert_eq!(effective_ef(Some(4), 10, &d).expect("ef"), 10);
        assert_eq!(effective_ef(Some(64), 10, &d).expect("ef"), 64);
        assert_eq!(effective_ef(Some(-1), 10, &d).expect("ef"), 100);
        assert!(effective_ef(Some(0), 10, &d).is_err());
        assert!(effective_ef(Some(-2), 10, &d).is_err());
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
