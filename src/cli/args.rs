//! Argument groups several subcommands share, defined once: the data
//! (base, queries, metric), each index kind's build options, and an
//! engine's connection and settings. Their help
//! text and defaults come from the engine's parameter specs.

use std::path::PathBuf;

use clap::Args;

use crate::distance::Metric;
use crate::engine::pgvector::LoadMethod;
use crate::engine::{EngineIndexKind, EngineKind, QdrantQuantization};
use crate::index::param_spec as spec;
use crate::index::quant::Quantizer;

pub use crate::index::hnsw::HnswArgs;

/// The vectors a command reads.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Base vectors (.fvecs, .ivecs, .bvecs, .npy, .csv, .tsv; an
    /// ann-benchmarks .hdf5 brings its own queries, ground truth and metric).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Query vectors.
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Distance (cosine, l2 or ip).
    #[arg(long, value_enum)]
    pub metric: Option<Metric>,
}

impl DataArgs {
    /// The base file, which every command but an engine's `--table` needs.
    pub fn base(&self) -> anyhow::Result<&PathBuf> {
        self.base
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--base is required"))
    }
    /// The metric, which this command needs on the command line.
    pub fn metric(&self) -> anyhow::Result<Metric> {
        self.metric
            .ok_or_else(|| anyhow::anyhow!("--metric is required (cosine, l2 or ip)"))
    }
    /// The query file, which this command needs on the command line.
    pub fn queries(&self) -> anyhow::Result<&PathBuf> {
        self.queries
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--queries is required"))
    }
}

/// Refuses a thread count of 0 (leaving a flag out means every core).
pub fn check_threads(flag: &str, threads: Option<usize>) -> anyhow::Result<()> {
    if threads == Some(0) {
        anyhow::bail!("{flag} must be at least 1 (leave it out to use every core)");
    }
    Ok(())
}

/// Refuses `--k 0`.
pub fn check_k(k: usize) -> anyhow::Result<()> {
    if k == 0 {
        anyhow::bail!("--k must be at least 1");
    }
    Ok(())
}

/// Where `--engine-url` falls back to.
pub const URL_ENV: &str = "ANNSCOPE_PG_URL";

#[derive(Args, Debug)]
pub struct EngineArgs {
    /// Measure an engine's index instead of annscope's: pgvector (PostgreSQL
    /// server) or qdrant-edge (Qdrant's engine in-process; needs annscope
    /// built with --features qdrant).
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// The engine's connection URL, e.g. postgresql://user:password@host:5432/db
    /// (default: $ANNSCOPE_PG_URL). The password is never printed.
    #[arg(long)]
    pub engine_url: Option<String>,
    /// The engine's index kind: hnsw (--m, --ef-construction; swept by --ef as
    /// hnsw.ef_search) or ivfflat (--lists; swept by --probes).
    #[arg(long, value_enum, default_value_t = EngineIndexKind::Hnsw)]
    pub engine_index: EngineIndexKind,
    /// pgvector IVFFlat lists, one build each.
    #[arg(long, value_delimiter = ',', default_values_t = [spec::PG_LISTS.default], long_help = spec::PG_LISTS.help)]
    pub lists: Vec<usize>,
    /// pgvector IVFFlat probes to sweep (no rebuild).
    #[arg(long, value_delimiter = ',', default_values_t = spec::PG_PROBES.sweep.to_vec(), long_help = spec::PG_PROBES.help)]
    pub probes: Vec<usize>,
    /// Store the vectors as halfvec (2 bytes per value) instead of vector.
    #[arg(long)]
    pub halfvec: bool,
    /// Keep the table annscope loaded (its name is printed) instead of dropping it.
    #[arg(long)]
    pub keep: bool,
    /// Measure the index an existing table already has (no --base; nothing is created).
    #[arg(long, conflicts_with = "base")]
    pub table: Option<String>,
    /// The table's vector column (found by itself when there is one).
    #[arg(long, requires = "table")]
    pub column: Option<String>,
    /// The table's id column (default: its primary key). Ids are the
    /// ground truth's row numbers.
    #[arg(long, requires = "table")]
    pub id_column: Option<String>,
    /// Sample this many queries from the table (seeded by --seed); each is
    /// left out of its own results and ground truth.
    #[arg(long, requires = "table", conflicts_with = "queries")]
    pub sample_queries: Option<usize>,
    /// How rows are loaded: copy (binary COPY) or insert (row by row, to compare).
    #[arg(long, value_enum, default_value_t = LoadMethod::Copy)]
    pub load_method: LoadMethod,
    /// Qdrant: the codes its HNSW walks on, one build each (none, scalar,
    /// binary, binary-2bit, product-x16, product-x32, turbo-4bit,
    /// turbo-2bit); the original vectors are kept for rescoring.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [QdrantQuantization::None])]
    pub quantization: Vec<QdrantQuantization>,
    /// Oversampling over quantized codes to sweep (no rebuild): Qdrant's
    /// quantization, or annscope's --quantizer.
    #[arg(long, value_delimiter = ',', default_values_t = spec::QD_OVERSAMPLING.sweep.to_vec(), long_help = spec::OVERSAMPLE.help)]
    pub oversample: Vec<f64>,
    /// Re-rank the oversampled candidates on the original vectors (false:
    /// the codes' own distances decide; Qdrant or --quantizer); `true,false`
    /// measures both without a rebuild.
    #[arg(long, value_delimiter = ',', default_values_t = [true], action = clap::ArgAction::Set)]
    pub rescore: Vec<bool>,
}

impl EngineArgs {
    /// Whether `--oversample` or `--rescore` were given (not their defaults).
    pub fn rescore_flags(&self) -> bool {
        self.oversample != spec::QD_OVERSAMPLING.sweep || self.rescore != [true]
    }

    /// Refuses engine flags given without their engine, and rescoring
    /// flags without codes to rescore (`quantizer`: annscope's; an index
    /// file may hold codes of its own, checked once it is loaded).
    pub fn check_unused(&self, quantizer: Quantizer, index_file: bool) -> anyhow::Result<()> {
        let pg_flags =
            self.engine_url.is_some() || self.table.is_some() || self.keep || self.halfvec;
        let rescore_flags = self.rescore_flags() && !index_file;
        if self.engine != Some(EngineKind::Pgvector) && pg_flags {
            anyhow::bail!("--engine-url, --table, --keep and --halfvec need --engine pgvector");
        }
        if self.engine != Some(EngineKind::QdrantEdge)
            && self.quantization != [QdrantQuantization::None]
        {
            anyhow::bail!(
                "--quantization needs --engine qdrant-edge (annscope's own codes: --quantizer)"
            );
        }
        if self.engine.is_some() && !quantizer.is_none() {
            anyhow::bail!(
                "--quantizer is annscope's; an engine's codes are its own (Qdrant: --quantization)"
            );
        }
        if self.engine != Some(EngineKind::QdrantEdge) && quantizer.is_none() && rescore_flags {
            anyhow::bail!("--oversample and --rescore need codes to re-score: --quantizer (annscope) or --engine qdrant-edge --quantization");
        }
        for &o in &self.oversample {
            if !(o.is_finite() && o >= 1.0) {
                anyhow::bail!(
                    "--oversample {o}: give at least 1 (candidates collected = oversample × k)"
                );
            }
        }
        Ok(())
    }

    /// The rescoring settings to sweep: each `--oversample` with
    /// re-scoring, and one without (oversampling then changes only how many
    /// candidates are collected, never which k are returned) when
    /// `--rescore` includes false.
    pub fn rescorings(&self) -> Vec<crate::index::Rescoring> {
        let mut out = Vec::new();
        for &rescore in &self.rescore {
            if rescore {
                out.extend(
                    self.oversample
                        .iter()
                        .map(|&oversample| crate::index::Rescoring {
                            oversample,
                            rescore,
                        }),
                );
            } else {
                out.push(crate::index::Rescoring {
                    oversample: 1.0,
                    rescore,
                });
            }
        }
        out
    }

    pub fn url(&self) -> anyhow::Result<String> {
        match &self.engine_url {
            Some(u) => Ok(u.clone()),
            None => std::env::var(URL_ENV).map_err(|_| {
                anyhow::anyhow!("--engine-url is required (or set {URL_ENV}), e.g. postgresql://user:password@127.0.0.1:5432/postgres")
            }),
        }
    }
}
