//! Each parameter's range, default, usual values and help, written once:
//! validation ([`ParamSpec::check`]), the app's sliders and tooltips and
//! clap's `--help` all read these.

use std::fmt::Display;

use crate::error::{Error, Result};

/// One parameter of a build or a search.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec<T: 'static> {
    /// Its snake_case name (reports, error messages).
    pub name: &'static str,
    /// The smallest and largest value accepted.
    pub min: T,
    pub max: T,
    pub default: T,
    /// The range people usually pick from (the app's slider spans it).
    pub usual: (T, T),
    /// The values a sweep measures, in order.
    pub sweep: &'static [T],
    /// What it does and what raising it costs.
    pub help: &'static str,
}

impl<T: Copy> ParamSpec<T> {
    /// A spec from its range `(min, max)`, default, usual range, sweep and help.
    const fn new(
        name: &'static str,
        (min, max): (T, T),
        default: T,
        usual: (T, T),
        sweep: &'static [T],
        help: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            min,
            max,
            default,
            usual,
            sweep,
            help,
        }
    }
}

impl<T: Copy + PartialOrd + Display> ParamSpec<T> {
    /// Refuses a value out of range, naming the parameter and the range.
    pub fn check(&self, value: T) -> Result<()> {
        // Written so that NaN fails too.
        if !(value >= self.min && value <= self.max) {
            return Err(Error::InvalidParameter(format!(
                "{} = {value} is out of range ({} to {}; usual {} to {})",
                self.name, self.min, self.max, self.usual.0, self.usual.1
            )));
        }
        Ok(())
    }

    /// [`Self::check`] for a command-line flag: the message names the flag.
    pub fn check_flag(&self, flag: &str, value: T) -> Result<()> {
        self.check(value)
            .map_err(|e| Error::InvalidParameter(format!("{flag} {value}: {e}")))
    }
}

pub const M: ParamSpec<usize> =
    ParamSpec::new("m", (2, 256), 16, (4, 64), &[8, 12, 16, 24, 32, 48], "Links per node on the upper layers (layer 0 keeps 2·M). Higher: better recall at the same ef, more memory, slower build. Usual 8–48.");

pub const EF_CONSTRUCTION: ParamSpec<usize> =
    ParamSpec::new("ef_construction", (1, 100_000), 200, (16, 800), &[64, 100, 200, 400], "Candidate list size while linking each new node. Higher: better graph, slower build. Usual 100–400, at least M.");

pub const EF: ParamSpec<usize> =
    ParamSpec::new("ef", (1, 100_000), 32, (1, 512), &[10, 16, 24, 32, 48, 64, 96, 128, 192, 256], "Candidate list size while searching (raised to k when smaller). Higher: better recall, slower queries. -1 picks it from k (dynamic ef).");

pub const SEARCH_PROBE: ParamSpec<usize> =
    ParamSpec::new("search_probe", (1, 1_000_000), 16, (1, 256), &[1, 2, 4, 8, 16, 32, 64, 128, 256], "Posting lists scanned per query (the nearest centroids, found through the centroid HNSW). More: higher recall, slower.");

pub const THRESHOLD: ParamSpec<usize> =
    ParamSpec::new("threshold", (1, 100_000_000), 10_000, (1_000, 100_000), &[], "Vectors are searched flat (exactly) up to this count; the next insert builds HNSW in the background and switches to it. Weaviate's default is 10,000; annscope crossover recommends one for your data.");

pub const MAX_POSTING_SIZE: ParamSpec<usize> =
    ParamSpec::new("max_posting_size", (2, 10_000_000), 128, (8, 100_000), &[], "A posting list over this many vectors splits in two (2-means). Lists start near half of it. Larger: fewer lists, longer scans.");

pub const REPLICAS: ParamSpec<usize> = ParamSpec::new(
    "replicas",
    (1, 16),
    2,
    (1, 8),
    &[],
    "Lists a vector may join (SPANN's boundary replicas): more recall per probe, more disk.",
);

pub const EPSILON: ParamSpec<f32> = ParamSpec::new(
    "epsilon",
    (0.0, f32::MAX),
    0.05,
    (0.0, 0.5),
    &[],
    "Closure rule: a replica's centroid is at most (1 + epsilon) times as far as the nearest one.",
);

/// pgvector's HNSW: links per node (its `m`; pgvector's range and default).
pub const PG_M: ParamSpec<usize> = ParamSpec::new(
    "m",
    (2, 100),
    16,
    (8, 48),
    &[8, 16, 32],
    "pgvector HNSW `m`: links per node (layer 0 keeps 2·m). pgvector allows 2–100, default 16.",
);

pub const PG_EF_CONSTRUCTION: ParamSpec<usize> =
    ParamSpec::new("ef_construction", (4, 1000), 64, (32, 400), &[64, 128, 200], "pgvector HNSW `ef_construction`: candidate list size while building; at least 2·m. pgvector allows 4–1000, default 64.");

pub const PG_EF_SEARCH: ParamSpec<usize> =
    ParamSpec::new("ef_search", (1, 1000), 40, (10, 400), &[10, 20, 40, 80, 120, 200, 400], "pgvector `hnsw.ef_search`: candidate list size per query, set with SET LOCAL. A query returns at most ef_search rows. pgvector allows 1–1000, default 40.");

pub const PG_LISTS: ParamSpec<usize> =
    ParamSpec::new("lists", (1, 32_768), 100, (10, 4_000), &[100, 316, 1000], "pgvector IVFFlat `lists`: clusters the table is split into (pgvector suggests rows/1000 up to 1M rows, sqrt(rows) above). Built from the rows present when the index is created.");

pub const PG_PROBES: ParamSpec<usize> =
    ParamSpec::new("probes", (1, 32_768), 1, (1, 200), &[1, 2, 4, 8, 16, 32, 64], "pgvector `ivfflat.probes`: lists scanned per query, set with SET LOCAL (at most lists). pgvector's default is 1.");

pub const QD_M: ParamSpec<usize> = ParamSpec::new(
    "m",
    (2, 128),
    16,
    (8, 48),
    &[8, 16, 32],
    "Qdrant HNSW `m`: edges per node (layer 0 keeps 2·m). Qdrant's default is 16; m = 0 would turn the index off, which annscope does not measure.",
);

pub const QD_EF_CONSTRUCT: ParamSpec<usize> =
    ParamSpec::new("ef_construct", (4, 1000), 100, (32, 400), &[100, 200], "Qdrant HNSW `ef_construct`: candidate list size while building (at least 4). Qdrant's default is 100.");

pub const QD_HNSW_EF: ParamSpec<usize> =
    ParamSpec::new("hnsw_ef", (1, 10_000), 128, (10, 400), &[10, 20, 40, 80, 120, 200, 400], "Qdrant search `hnsw_ef`: candidate list size per query (Qdrant searches with max(hnsw_ef, limit)). Without it Qdrant uses ef_construct.");

pub const QD_OVERSAMPLING: ParamSpec<f64> =
    ParamSpec::new("oversampling", (1.0, 100.0), 1.0, (1.0, 10.0), &[1.0, 2.0, 4.0], "Qdrant search `quantization.oversampling`: the walk on quantized codes collects oversampling × limit candidates, which `rescore` re-ranks on the original vectors. A search-time setting: no rebuild.");

pub const OVERSAMPLE: ParamSpec<f64> =
    ParamSpec::new("oversample", (1.0, 100.0), 1.0, (1.0, 10.0), &[1.0, 2.0, 4.0], "Oversampling over quantized codes (annscope's --quantizer, or Qdrant's quantization): the walk keeps at least oversample × k candidates (and ef), and the best oversample × k by their codes are re-scored on the f32 vectors (RaBitQ skips those its error bound rules out). A search-time setting: no rebuild.");

/// The help of `--quantizer` (and the app's quantizer choice), listing
/// every form the parser takes ([`QUANTIZER_FORMS`](crate::index::quant::QUANTIZER_FORMS)).
pub fn quantizer_help() -> &'static str {
    static HELP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HELP.get_or_init(|| {
        let forms: Vec<String> = crate::index::quant::QUANTIZER_FORMS
            .iter()
            .map(|f| format!("{}: {}", f.spelling, f.about))
            .collect();
        format!(
            "Codes a search walks (HNSW) or scans (posting lists, a flat scan) instead of the f32 vectors or their f16 copy. {}. The best --oversample × k candidates are re-scored on the f32 vectors, so results are exact unless --rescore false.",
            forms.join(". ")
        )
    })
}

/// Help of the parameters that have no range (seeds, precisions).
pub const SEED_HELP: &str = "Seed of the random node levels. A single-threaded build with the same seed is identical; parallel builds may differ slightly.";
pub const SEARCH_PRECISION_HELP: &str = "Vectors a search walks the graph with: f16 reads half the bytes per distance (faster queries) and re-scores the final candidates in f32, so results are exact; it keeps a half-precision copy of the vectors. f32 walks as hnswlib does.";
pub const VECTORS_HELP: &str = "Where the f32 vectors live once the index is built: ram (copied into the index), or disk (read from the memory-mapped base file only to re-score; the graph and codes are all the index holds; needs --quantizer and a base whose rows are f32 in the file: .fvecs or float32 .npy).";
pub const BUILD_PRECISION_HELP: &str = "Vectors the build reads while linking: sq8 (one byte per value, compared as integers) or f16 read fewer bytes and build faster, with the same recall on real embeddings; f32 reads what hnswlib reads. The index still stores f32. Without AVX-512, f16 builds as f32; data whose dimensions' ranges differ more than 2× builds sq8 as f16.";
pub const POSTING_PRECISION_HELP: &str = "Store posting vectors in half precision: scans read half the bytes (1.2–1.4x the QPS on pypi-minilm, recall within 0.002). Off: exact f32 distances.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_out_of_range_is_named_with_the_range() {
        let e = M.check(1).expect_err("m = 1");
        assert!(
            e.to_string().contains("m = 1 is out of range (2 to 256"),
            "{e}"
        );
        assert!(M.check(16).is_ok());
        assert!(EPSILON.check(-0.1).is_err());
    }

    #[test]
    fn defaults_and_sweeps_lie_in_range() {
        for spec in [
            M,
            EF_CONSTRUCTION,
            EF,
            SEARCH_PROBE,
            THRESHOLD,
            MAX_POSTING_SIZE,
            REPLICAS,
            PG_M,
            PG_EF_CONSTRUCTION,
            PG_EF_SEARCH,
            PG_LISTS,
            PG_PROBES,
            QD_M,
            QD_EF_CONSTRUCT,
            QD_HNSW_EF,
        ] {
            spec.check(spec.default).expect(spec.name);
            for &v in spec.sweep {
                spec.check(v).expect(spec.name);
            }
            assert!(
                spec.min <= spec.usual.0 && spec.usual.1 <= spec.max,
                "{}",
                spec.name
            );
        }
    }
}
