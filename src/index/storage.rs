//! How an index holds and reads its vectors: one setting shared by every
//! kind, apart from which kind it is. Today the precision a build reads
//! while it links or clusters and the precision a search walks or scans
//! (approximate ones are re-scored exactly); quantizers and "vectors in RAM
//! or on disk" join here, not as new index kinds. A kind refuses, in its
//! validation, what it cannot do.
//!
//! Serialised flat inside each kind's parameters as `build_precision` and
//! `search_precision` (HFresh's settings written before this read
//! `precision` as the search precision).

use serde::{Deserialize, Serialize};

use super::hnsw::BuildPrecision;
use super::Precision;

/// What an index's build reads and its searches walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// Vectors the build reads (the index always keeps the f32 vectors).
    #[serde(rename = "build_precision", default = "exact_build")]
    pub build: BuildPrecision,
    /// Vectors a search walks (HNSW) or scans (HFresh's postings).
    #[serde(rename = "search_precision", alias = "precision", default)]
    pub search: Precision,
}

fn exact_build() -> BuildPrecision {
    BuildPrecision::F32
}

impl Storage {
    /// Full precision everywhere, as hnswlib and a flat scan read.
    pub const EXACT: Storage = Storage {
        build: BuildPrecision::F32,
        search: Precision::F32,
    };
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
