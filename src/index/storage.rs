//! How an index holds and reads its vectors: one setting shared by every
//! kind, apart from which kind it is. Today the precision a build reads
//! while it links or clusters and the precision a search walks or scans
//! (approximate ones are re-scored exactly); quantizers and "vectors in RAM
//! or on disk" join here, not as new index kinds. A kind refuses, in its
//! validation, what it cannot do.
//!
//! Serialised flat inside each kind's parameters as `build_precision`,
//! `search_precision` (HFresh's settings written before this read
//! `precision` as the search precision), `quantizer` and `vectors` (the
//! last two only when not `none` and `ram`, so older files read the same).

use serde::{Deserialize, Serialize};

use super::hnsw::BuildPrecision;
use super::quant::Quantizer;
use super::Precision;

/// Where the full f32 vectors live once an index is built.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum VectorPlace {
    /// Copied into the index (what every kind did before quantizers).
    #[default]
    Ram,
    /// Read from the memory-mapped base file (f32 on disk) when a search
    /// re-scores; only the graph, the codes and small per-row values stay
    /// resident. Needs a quantizer: the walk reads its codes.
    Disk,
}

impl VectorPlace {
    pub fn name(self) -> &'static str {
        match self {
            VectorPlace::Ram => "ram",
            VectorPlace::Disk => "disk",
        }
    }
    fn is_ram(&self) -> bool {
        *self == VectorPlace::Ram
    }
}

/// What an index's build reads and its searches walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// Vectors the build reads (the index always keeps the f32 vectors).
    #[serde(rename = "build_precision", default = "exact_build")]
    pub build: BuildPrecision,
    /// Vectors a search walks (HNSW) or scans (HFresh's postings).
    #[serde(rename = "search_precision", alias = "precision", default)]
    pub search: Precision,
    /// Codes a search walks (HNSW) instead of `search`'s copy, re-scored
    /// from the f32 vectors; `none` keeps the precisions above.
    #[serde(default, skip_serializing_if = "Quantizer::is_none")]
    pub quantizer: Quantizer,
    /// Where the f32 vectors live after the build.
    #[serde(default, skip_serializing_if = "VectorPlace::is_ram")]
    pub vectors: VectorPlace,
    /// With the vectors on disk: keep at most this many in RAM, Weaviate's
    /// way (0: no cache; every re-score reads the mapped file).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub vector_cache: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn exact_build() -> BuildPrecision {
    BuildPrecision::F32
}

impl Storage {
    /// Full precision everywhere, as hnswlib and a flat scan read.
    pub const EXACT: Storage = Storage {
        build: BuildPrecision::F32,
        search: Precision::F32,
        quantizer: Quantizer::None,
        vectors: VectorPlace::Ram,
        vector_cache: 0,
    };

    /// The given precisions, vectors in RAM, no quantizer.
    pub const fn precisions(build: BuildPrecision, search: Precision) -> Storage {
        Storage {
            build,
            search,
            quantizer: Quantizer::None,
            vectors: VectorPlace::Ram,
            vector_cache: 0,
        }
    }
}

impl Storage {
    /// Refuses vectors on disk without codes to walk.
    pub fn check_quantized(&self) -> crate::error::Result<()> {
        if self.vectors == VectorPlace::Disk && self.quantizer.is_none() {
            return Err(crate::error::Error::InvalidParameter(
                "--vectors disk needs a quantizer (--quantizer sq8, sq4 or rabitq:BITS): the graph walk reads the codes in RAM and only the last candidates are re-scored from disk".into(),
            ));
        }
        if self.vector_cache > 0 && self.vectors != VectorPlace::Disk {
            return Err(crate::error::Error::InvalidParameter(
                "--vector-cache keeps some of the vectors that live on disk in RAM: it needs --vectors disk (with --vectors ram they are all in RAM already)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_names_read_and_missing_build_means_f32() {
        let s: Storage = serde_json::from_str(r#"{"precision":"f32"}"#).expect("hfresh's old name");
        assert_eq!(s, Storage::EXACT);
        let s: Storage =
            serde_json::from_str(r#"{"build_precision":"sq8","search_precision":"f16"}"#)
                .expect("hnsw's names");
        assert_eq!((s.build, s.search), (BuildPrecision::Sq8, Precision::F16));
        let text = serde_json::to_string(&s).expect("write");
        assert_eq!(
            text,
            r#"{"build_precision":"sq8","search_precision":"f16"}"#
        );
    }
}
