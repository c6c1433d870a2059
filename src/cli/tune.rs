//! `annscope tune`: from a target (recall@k ≥ R, optional p99, RAM and
//! build-time ceilings) to the cheapest configuration that meets it,
//! chosen on half the queries and checked on the other half.
//!
//! stdout: every measured point as a bench JSON line (with `phase`,
//! `built_on`, `meets_recall`), then one summary line whose `pick.params`
//! are `bench` flags. Exit code 2 when nothing meets the target (the
//! closest point is still printed as the pick, with `"met": false`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};

use super::args::{check_k, check_threads, DataArgs};
use super::bench::read_inputs;
use super::io::with_progress;
use super::tune_engine::{check_pick, EngineSession, PickToCheck};
use crate::engine::EngineKind;
use crate::index::hnsw::BuildPrecision;
use crate::index::param_spec as spec;
use crate::index::quant::Quantizer;
use crate::index::{IndexKind, Precision, Storage, VectorPlace};
use crate::tune::{
    ExportContext, ExportFormat, Objective, Phase, QuerySplit, RepeatPolicy, Space, Strategy,
    Summary, Target, TuneConfig, TuneInputs, TunedPoint,
};

/// Which index kinds the tuner searches: `auto` (flat and HNSW: the flat
/// scan wins on small sets) or one kind whose family the tuner searches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneKinds(pub Vec<IndexKind>);

fn parse_tune_kinds(s: &str) -> Result<TuneKinds, String> {
    if s == "auto" {
        return Ok(TuneKinds(vec![IndexKind::Flat, IndexKind::Hnsw]));
    }
    let tuned = |k: &IndexKind| {
        crate::index::family(*k).is_some_and(|f| f.tuning() != crate::index::family::Tuning::None)
    };
    match IndexKind::from_str(s, false) {
        Ok(kind) if tuned(&kind) => Ok(TuneKinds(vec![kind])),
        _ => {
            let names: Vec<&str> = IndexKind::ALL
                .iter()
                .filter(|k| tuned(k))
                .map(|k| k.name())
                .collect();
            Err(format!("{s:?}: give auto or one of {}", names.join(", ")))
        }
    }
}

/// How the tuner spends its builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TuneStrategy {
    /// Screen every M on a sample, confirm the best at full size.
    Screen,
    /// Every M × efConstruction at full size, every --grid-ef: the
    /// exhaustive baseline (slow; no default budget).
    Grid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TuneFormat {
    /// One JSON object per line, the last one the summary.
    Json,
    /// A line per point and the pick in words.
    Table,
}

/// The default budget without --budget-s: the whole command ends within
/// three minutes on 100k × 384 on two cores.
const DEFAULT_BUDGET_S: f64 = 150.0;

#[derive(Args, Debug)]
pub struct TuneArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Exact neighbours as .ivecs (computed and cached when not given).
    #[arg(long)]
    pub groundtruth: Option<PathBuf>,
    /// The k of recall@k.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// The recall@k the held-out queries must reach.
    #[arg(long)]
    pub recall: f64,
    /// Ceiling on the 99th-percentile latency, in microseconds.
    #[arg(long)]
    pub max_p99_us: Option<f64>,
    /// Ceiling on the index's RAM: bytes, or with a unit (500MB, 2GiB).
    #[arg(long, value_parser = parse_bytes)]
    pub max_ram: Option<u64>,
    /// Ceiling on the build time, in seconds.
    #[arg(long)]
    pub max_build_s: Option<f64>,
    /// What to make best among the settings that meet the target.
    #[arg(long, value_enum, default_value_t = Objective::Qps)]
    pub objective: Objective,
    /// How sure the pick must be to meet --recall on new queries.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Index kinds to search: auto (flat and hnsw: the flat scan wins on
    /// small sets), flat, hnsw or hfresh.
    #[arg(long, default_value = "auto", value_parser = parse_tune_kinds)]
    pub index: TuneKinds,
    /// HNSW M values to consider (a single value pins it).
    #[arg(long, value_delimiter = ',', default_values_t = spec::M.sweep.to_vec())]
    pub m: Vec<usize>,
    /// HNSW efConstruction values to consider (a single value pins it).
    #[arg(long, value_delimiter = ',', default_values_t = spec::EF_CONSTRUCTION.sweep.to_vec())]
    pub ef_construction: Vec<usize>,
    /// The largest ef (HFresh: search_probe) the search may pick.
    #[arg(long, default_value_t = spec::EF.usual.1)]
    pub ef_max: usize,
    /// HNSW storage, pinned: what the build reads while linking.
    #[arg(long, value_enum, default_value_t = BuildPrecision::Sq8)]
    pub build_precision: BuildPrecision,
    /// HNSW storage, pinned: what a search walks.
    #[arg(long, value_enum, default_value_t = Precision::F16)]
    pub search_precision: Precision,
    /// HNSW storage, pinned: codes a search walks instead (re-scored).
    #[arg(long, default_value_t = Quantizer::None)]
    pub quantizer: Quantizer,
    /// HNSW storage, pinned: where the f32 vectors live (disk needs --quantizer).
    #[arg(long, value_enum, default_value_t = VectorPlace::Ram)]
    pub vectors: VectorPlace,
    /// The search strategy.
    #[arg(long, value_enum, default_value_t = TuneStrategy::Screen)]
    pub strategy: TuneStrategy,
    /// --strategy grid: the ef values measured on every build.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10,12,14,16,20,24,28,32,40,48,56,64,80,96,112,128,160,192,224,256,320,384,448,512"
    )]
    pub grid_ef: Vec<usize>,
    /// Wall seconds the search may take (default 150 for screen, none for
    /// grid); no build starts that is predicted not to finish within it.
    #[arg(long)]
    pub budget_s: Option<f64>,
    /// Seed of the query split, the sample and the builds.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Build threads (default: all cores). Searches run on one thread.
    #[arg(long)]
    pub build_threads: Option<usize>,
    /// Most timed runs per finalist.
    #[arg(long, default_value_t = RepeatPolicy::default().max_runs)]
    pub max_runs: usize,
    #[arg(long, value_enum, default_value_t = TuneFormat::Json)]
    pub format: TuneFormat,
    /// Write the pick ready to paste for this engine or library (stderr,
    /// or --export-out), with what to know about it on stderr.
    #[arg(long, value_enum)]
    pub export: Option<ExportFormat>,
    /// The file the export is written to (atomically).
    #[arg(long, requires = "export")]
    pub export_out: Option<PathBuf>,
    /// Check the pick on the engine it will run in: its build is made once
    /// there with the pick's M and efConstruction, and the engine's own
    /// least ef that meets the target is found and reported beside
    /// annscope's (`engine` in the summary).
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// pgvector's connection URL (default: $ANNSCOPE_PG_URL); the password
    /// is never printed.
    #[arg(long, requires = "engine")]
    pub engine_url: Option<String>,
}

/// Nothing measured meets the target (or the engine checked does not at
/// any ef): the summary was printed; the exit code is 2.
#[derive(Debug)]
pub struct TargetNotMet {
    /// The engine checked, when it is the one that fell short.
    pub engine: Option<String>,
}

impl std::fmt::Display for TargetNotMet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.engine {
            None => f.write_str(
                "no configuration measured meets the target (the closest is the pick)",
            ),
            Some(e) => write!(
                f,
                "the pick meets the target on annscope's HNSW, but {e} does not at any ef tried (see \"engine\" in the summary)"
            ),
        }
    }
}

impl std::error::Error for TargetNotMet {}

/// Bytes, or a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
/// GiB, TiB (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: give bytes, e.g. 500000000, 500MB or 2GiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?} (B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let bytes = value * scale;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(bytes.round() as u64)
}

impl TuneArgs {
    fn config(&self) -> anyhow::Result<TuneConfig> {
        check_k(self.k)?;
        check_threads("--build-threads", self.build_threads)?;
        if self.max_runs < 2 {
            anyhow::bail!("--max-runs must be at least 2 (one run has no spread)");
        }
        let target = Target {
            k: self.k,
            recall: self.recall,
            max_p99_us: self.max_p99_us,
            max_ram_bytes: self.max_ram,
            max_build_s: self.max_build_s,
            objective: self.objective,
            confidence: self.confidence,
        };
        target.validate()?;
        let kinds = self.index.0.clone();
        let mut space = Space::default_for(kinds, self.seed);
        space.m = self.m.clone();
        space.ef_construction = self.ef_construction.clone();
        space.ef_max = self.ef_max;
        space.storage = Storage {
            build: self.build_precision,
            search: self.search_precision,
            quantizer: self.quantizer,
            vectors: self.vectors,
            vector_cache: 0,
        };
        space.validate()?;
        let strategy = match self.strategy {
            TuneStrategy::Screen => Strategy::Screen,
            TuneStrategy::Grid => Strategy::Grid {
                efs: self.grid_ef.clone(),
            },
        };
        let budget_s = match (self.budget_s, self.strategy) {
            (Some(b), _) => b,
            (None, TuneStrategy::Screen) => DEFAULT_BUDGET_S,
            (None, TuneStrategy::Grid) => f64::INFINITY,
        };
        Ok(TuneConfig {
            target,
            space,
            strategy,
            budget_s,
            build_threads: self.build_threads,
            repeat: RepeatPolicy {
                max_runs: self.max_runs,
                ..RepeatPolicy::default()
            },
        })
    }
}

pub(super) fn run(a: &TuneArgs) -> anyhow::Result<()> {
    let config = a.config()?;
    if let Some(out) = &a.export_out {
        crate::fsutil::check_output_path(out)?;
    }
    if matches!(a.export, Some(ExportFormat::Hnswlib | ExportFormat::Faiss)) {
        // The scripts read .fvecs or .npy: say so before minutes of tuning.
        for path in [a.data.base.as_deref(), a.data.queries.as_deref()]
            .into_iter()
            .flatten()
        {
            crate::tune::export::check_script_file(path)?;
        }
    }
    // Connected before the tuning: a wrong URL is said at once.
    let session = a
        .engine
        .map(|kind| EngineSession::open(kind, a.engine_url.as_deref()))
        .transpose()?;
    let inputs = read_inputs(&a.data, a.groundtruth.as_ref(), a.k)?;
    if a.vectors == VectorPlace::Disk && inputs.base.path().is_none() {
        anyhow::bail!("--vectors disk needs a base file annscope can map");
    }
    let split = QuerySplit::halves(inputs.queries.vectors(), &inputs.gt, a.seed)?;
    let tune_inputs = Arc::new(TuneInputs {
        base: inputs.base.clone(),
        split,
    });
    eprintln!(
        "annscope tune: {} ({} x {}), {} queries split {} to tune / {} held out, ground truth {}",
        inputs.base.display_name(),
        inputs.base.len(),
        inputs.base.dim(),
        inputs.queries.len(),
        tune_inputs.split.tuning.len(),
        tune_inputs.split.heldout.len(),
        inputs.gt_note
    );
    let format = a.format;
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let failed: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
    let (out2, failed2, inputs2) = (out.clone(), failed.clone(), tune_inputs.clone());
    let ef_max = config.space.ef_max;
    let target = config.target;
    let summary = with_progress("tune", move |ctx| {
        let tune_inputs = inputs2;
        crate::tune::tune(&tune_inputs, &config, ctx, &mut |p: &TunedPoint| {
            let mut o = out2.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = writeln!(o, "{}", point_line(format, p)).and_then(|_| o.flush()) {
                failed2
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
                ctx.cancel.cancel();
            }
        })
    });
    if let Some(e) = failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(e.into());
    }
    let mut summary = summary?;
    let mut engine_error = None;
    if let Some(session) = session {
        let pick = PickToCheck {
            spec: summary.pick.spec.clone(),
            knob: summary.pick.knob,
            inputs: tune_inputs.clone(),
            target,
            ef_max,
        };
        let out3 = out.clone();
        let printed = check_pick(session, pick, move |p: &TunedPoint| {
            let mut o = out3.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(o, "{}", point_line(format, p)).and_then(|_| o.flush());
        });
        match printed {
            Ok(Ok(check)) => summary.engine = Some(check),
            Ok(Err(why)) => summary.notes.push(why),
            // The tuning's summary is still printed: nothing measured is lost.
            Err(e) => engine_error = Some(e),
        }
    }
    {
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        match format {
            TuneFormat::Json => writeln!(o, "{}", serde_json::to_string(&summary)?)?,
            TuneFormat::Table => writeln!(o, "{}", summary_words(&summary))?,
        }
        o.flush()?;
    }
    if let Some(e) = engine_error {
        return Err(e.context(format!(
            "the check on {} failed (the tuning's summary above stands)",
            a.engine.map_or("the engine", engine_name)
        )));
    }
    // After the summary: an export that fails loses no measurement.
    if let Some(format) = a.export {
        write_export(a, format, &summary, &inputs.base)?;
    }
    if !summary.pick.met {
        return Err(TargetNotMet { engine: None }.into());
    }
    if let Some(e) = summary.engine.as_ref().filter(|e| !e.met) {
        return Err(TargetNotMet {
            engine: Some(e.engine.clone()),
        }
        .into());
    }
    Ok(())
}

/// Writes the pick in `format` to --export-out or stderr; its notes to
/// stderr.
fn write_export(
    a: &TuneArgs,
    format: ExportFormat,
    summary: &Summary,
    base: &crate::dataset::Dataset,
) -> anyhow::Result<()> {
    let p = &summary.pick;
    let cx = ExportContext {
        metric: base.metric(),
        dim: base.dim(),
        n: base.len(),
        k: a.k,
        recall: p.heldout_recall,
        target: Some(a.recall),
        base: a.data.base.as_deref(),
        queries: a.data.queries.as_deref(),
        groundtruth: a.groundtruth.as_deref(),
    };
    let e = crate::tune::verify::export_checked(format, p, &cx, summary.engine.as_ref())?;
    match &a.export_out {
        Some(path) => {
            crate::fsutil::write_atomic(path, e.text.as_bytes())?;
            eprintln!(
                "annscope: wrote the pick for {} to {}",
                format.name(),
                path.display()
            );
        }
        None => eprint!("{}", e.text),
    }
    for n in &e.notes {
        eprintln!("annscope: note: {n}");
    }
    Ok(())
}

/// One measured point as printed: a bench JSON line, or a table row.
fn point_line(format: TuneFormat, p: &TunedPoint) -> String {
    match format {
        TuneFormat::Json => serde_json::to_string(p).unwrap_or_default(),
        TuneFormat::Table => table_line(p),
    }
}

fn table_line(p: &TunedPoint) -> String {
    let knob = ["ef", "search_probe"]
        .iter()
        .find_map(|k| p.point.params.get(*k).map(|v| format!("{k} {v}")))
        .unwrap_or_default();
    let spread = p
        .point
        .qps_spread
        .map(|s| format!(" ({:.0}–{:.0})", s.lo, s.hi))
        .unwrap_or_default();
    let build = ["m", "ef_construction"]
        .iter()
        .filter_map(|k| p.point.params.get(*k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{:<8} {:<7} n={:<8} {:<24} {:<18} recall {:.4}{} {:>8.0} QPS{spread}",
        match p.phase {
            // The engine's last point is its held-out half.
            Phase::Engine if p.heldout_recall.is_some() => "eng-held".to_string(),
            phase => format!("{phase:?}").to_lowercase(),
        },
        p.point.index,
        p.built_on,
        build,
        knob,
        p.point.recall,
        if p.meets_recall { "+" } else { " " },
        p.point.qps,
    )
}

fn summary_words(s: &Summary) -> String {
    let p = &s.pick;
    let mut out = format!(
        "pick: {} ({})\n  held-out recall@{} {:.4} [{:.4}, {:.4}] on {} queries; {:.0} QPS; {:.1} MB; build {:.1} s\n  why: {}\n  bench flags: {}\n  {} full-size builds, {} on the sample, {:.0} s",
        p.label,
        if p.met { "meets the target" } else { "does NOT meet the target" },
        s.target.k,
        p.heldout_recall,
        p.heldout_interval[0],
        p.heldout_interval[1],
        s.heldout_queries,
        p.qps,
        p.index_bytes as f64 / 1e6,
        p.build_s,
        p.reason,
        p.params
            .iter()
            .map(|(k, v)| format!("--{} {}", k.replace('_', "-"), v.to_string().trim_matches('"')))
            .collect::<Vec<_>>()
            .join(" "),
        s.builds,
        s.sample_builds,
        s.seconds
    );
    if let Some(e) = &s.engine {
        out.push_str(&format!(
            "\n  on {}: ef {} (annscope's: {}) {} — held-out recall@{} {:.4} [{:.4}, {:.4}]; {:.0} QPS; build {:.1} s",
            e.engine,
            e.ef,
            e.annscope_ef,
            if e.met { "meets the target" } else { "does NOT meet the target" },
            s.target.k,
            e.heldout_recall,
            e.heldout_interval[0],
            e.heldout_interval[1],
            e.qps,
            e.build_s
        ));
    }
    for n in &s.notes {
        out.push_str(&format!("\n  note: {n}"));
    }
    out
}

fn engine_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Pgvector => "pgvector",
        EngineKind::QdrantEdge => "Qdrant edge",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_with_and_without_units() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("500MB"), Ok(500_000_000));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("1.5 kb"), Ok(1500));
        for bad in ["", "MB", "-5", "5 parsecs", "0"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
