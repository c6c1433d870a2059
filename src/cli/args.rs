//! Argument groups several subcommands share, defined once: the data
//! (base, queries, metric), each index kind's build options, and an
//! engine's connection and settings. Their help
//! text and defaults come from the engine's parameter specs.

use std::path::PathBuf;

use clap::Args;

use crate::distance::Metric;
use crate::engine::pgvector::LoadMethod;
use crate::engine::{EngineIndexKind, EngineKind, QdrantQuantization};
use crate::index::hnsw::{BuildPrecision, DynamicEf};
use crate::index::param_spec::{self as spec, ParamSpec};
use crate::index::quant::Quantizer;
use crate::index::{HFreshParams, HnswParams, Precision, Storage, VectorPlace};

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

/// HNSW options shared by `bench`, `build` and `crossover`.
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
    pub fn dynamic_ef(&self) -> anyhow::Result<DynamicEf> {
        let d = DynamicEf {
            min: self.dynamic_ef_min,
            max: self.dynamic_ef_max,
            factor: self.dynamic_ef_factor,
        };
        d.validate()?;
        Ok(d)
    }

    /// The storage the flags name, checked.
    pub fn storage(&self) -> anyhow::Result<Storage> {
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
    pub fn builds(&self) -> anyhow::Result<Vec<HnswParams>> {
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
    pub fn one_build(&self, command: &str) -> anyhow::Result<HnswParams> {
        let builds = self.builds()?;
        let [params] = builds.as_slice() else {
            anyhow::bail!("annscope {command} takes one --m and one --ef-construction");
        };
        Ok(params.clone())
    }
}

/// HFresh options for `bench`.
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
    /// HFresh: build on this share of the base, then insert the rest one by
    /// one (measures in-place updates; 1 = build on everything).
    #[arg(long, default_value_t = 1.0)]
    pub build_fraction: f64,
}

impl HFreshArgs {
    /// HFresh's parameters; `hnsw` gives the seed and the storage flags it
    /// shares with HNSW (--quantizer: lists of codes; --vectors disk and
    /// --vector-cache are refused by the parameters' own check).
    pub fn params(&self, hnsw: &HnswArgs) -> anyhow::Result<HFreshParams> {
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
        if !(self.build_fraction > 0.0 && self.build_fraction <= 1.0) {
            anyhow::bail!(
                "--build-fraction {}: give a share above 0 and at most 1",
                self.build_fraction
            );
        }
        for &probe in &self.search_probe {
            check_flag(&spec::SEARCH_PROBE, "--search-probe", probe)?;
        }
        Ok(p)
    }
}

/// Refuses a flag value out of its parameter's range, naming the flag.
pub fn check_flag(spec: &ParamSpec<usize>, flag: &str, value: usize) -> anyhow::Result<()> {
    spec.check(value)
        .map_err(|e| anyhow::anyhow!("{flag} {value}: {e}"))
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
