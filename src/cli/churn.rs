//! `annscope churn`: run a runbook of inserts, deletes, replaces and
//! searches (big-ann-benchmarks' streaming format, read or generated)
//! against one index kind, and print recall, QPS, latency, tombstones and
//! bytes at every search step, then a summary.
//!
//! stdout holds only the step lines and the summary (or, with
//! `--print-runbook`, the runbook's YAML); notes go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::args::{check_k, DataArgs};
use super::io::{check_dims, open_dataset, with_progress};
use crate::cache::{self, GtSource};
use crate::churn::{self, Interval, Maintenance, Plan, Runbook, StepLine, Summary};
use crate::eval::ReportFormat;
use crate::index::param_spec as spec;
use crate::index::{local_family, IndexKind, KindFlags, KnobKind, SearchKnob};

#[derive(Args, Debug)]
pub struct ChurnArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Neighbours per query, the k of recall@k.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// A runbook in big-ann-benchmarks' streaming YAML.
    #[arg(long, conflicts_with = "generate")]
    pub runbook: Option<PathBuf>,
    /// The dataset key to run, when the runbook file holds several.
    #[arg(long, requires = "runbook")]
    pub runbook_key: Option<String>,
    /// Make a runbook for the base instead: clustered-deletes,
    /// sliding-window or random-replace, with options after a colon
    /// (clustered-deletes:clusters=16,chunks=2,delete=0.7;
    /// sliding-window:window=0.25,steps=40; random-replace:live=0.5,steps=10,size=0.02).
    #[arg(long)]
    pub generate: Option<String>,
    /// Print the runbook as YAML (to run again with --runbook) and stop.
    #[arg(long)]
    pub print_runbook: bool,
    #[arg(long, value_enum, default_value_t = IndexKind::Hnsw)]
    pub index: IndexKind,
    #[command(flatten)]
    pub kind: KindFlags,
    /// HNSW search list sizes, each measured at every search step.
    #[arg(long, value_delimiter = ',', default_value = "64", long_help = spec::EF.help)]
    pub ef: Vec<usize>,
    /// What keeps the index healthy under deletes: none, cleanup
    /// (tombstone cleanup every --cleanup-interval), rebuild-every:N (a
    /// fresh build after N rows written) or rebuild-at:SHARE (a fresh
    /// build once SHARE of the rows built on was deleted or replaced).
    #[arg(long, default_value = "none")]
    pub maintenance: String,
    /// How often cleanup runs: rows written (5000ops, reproducible) or
    /// seconds (30s, checked after each write step).
    #[arg(long, default_value = "5000ops")]
    pub cleanup_interval: String,
    /// Write each search step's answers as step-<n>.ivecs here (k tags
    /// per query, -1 where fewer came back), with its exact top-k as
    /// truth-<n>.ivecs and the runbook's row order as order.ivecs, so
    /// another tool can score its own run of the same runbook.
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// Weaviate's asynchronous indexing: writes are acknowledged into a
    /// queue that a background worker indexes in batches; searches also
    /// scan the queued vectors exactly.
    #[arg(long)]
    pub async_indexing: bool,
    /// Writes the worker indexes at once (Weaviate's ASYNC_INDEXING_BATCH_SIZE).
    #[arg(long, default_value_t = 1000, requires = "async_indexing")]
    pub async_batch: usize,
    /// Milliseconds a partial batch waits before it is indexed anyway
    /// (Weaviate's ASYNC_INDEXING_STALE_TIMEOUT).
    #[arg(long, default_value_t = 100, requires = "async_indexing")]
    pub async_stale_ms: u64,
    /// Write each write step (after the first insert) at this many rows
    /// per second on another thread while searches run beside it; each
    /// such step prints an {"under_writes": …} line with the QPS and
    /// latency seen meanwhile (VectorDBBench's insertion under load).
    #[arg(long)]
    pub write_rate: Option<f64>,
    /// After the runbook (which must end with a search), build the same
    /// kind afresh over the rows live at the end and measure it at that
    /// last step, knob for knob: one {"fresh": …} line each.
    #[arg(long)]
    pub compare_fresh: bool,
    /// Search threads (default 1, as bench measures); writes and builds
    /// use every core.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
}

impl ChurnArgs {
    fn knobs(&self) -> anyhow::Result<Vec<SearchKnob>> {
        Ok(match self.index.knob() {
            Some(KnobKind::Ef) => self
                .ef
                .iter()
                .map(|&e| {
                    spec::EF.check_flag("--ef", e)?;
                    Ok(SearchKnob::Ef(e))
                })
                .collect::<crate::error::Result<_>>()?,
            Some(KnobKind::Probe) => self
                .kind
                .hfresh
                .search_probe
                .iter()
                .map(|&p| SearchKnob::Probe(p))
                .collect(),
            None => vec![SearchKnob::Default],
        })
    }
}

pub(super) fn run(a: &ChurnArgs) -> anyhow::Result<()> {
    check_k(a.k)?;
    if a.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    if a.runbook.is_none() && a.generate.is_none() {
        anyhow::bail!("give a runbook (--runbook FILE) or a shape to generate (--generate clustered-deletes|sliding-window|random-replace)");
    }
    let family = local_family(a.index)?;
    let specs = family.specs(&a.kind)?;
    let [spec] = specs.as_slice() else {
        anyhow::bail!(
            "churn runs one build: give one value to each build flag ({} builds named)",
            specs.len()
        );
    };
    if a.kind.build_fraction < 1.0 {
        anyhow::bail!("--build-fraction: churn's runbook says what is inserted when");
    }
    let knobs = a.knobs()?;
    let interval: Interval = a.cleanup_interval.parse()?;
    let maintenance = Maintenance::parse(&a.maintenance, interval)?;
    let metric = a.data.metric()?;
    let base_path = a.data.base()?;
    let base = open_dataset(base_path, metric)?;
    if base.len() >= u32::MAX as usize {
        anyhow::bail!("{}: too many rows for 32-bit tags", base.display_name());
    }
    let seed = a.kind.hnsw.seed;
    let book = match (&a.runbook, &a.generate) {
        (Some(path), _) => Runbook::read(path, a.runbook_key.as_deref(), base.len())?,
        (None, Some(shape)) => {
            let (b, shape) = (base.clone(), shape.clone());
            with_progress("runbook", move |_| churn::generate(&shape, &b, seed))?
        }
        (None, None) => unreachable!("checked above"),
    };
    if a.print_runbook {
        print!("{}", book.to_yaml());
        return Ok(());
    }
    let queries = match &a.data.queries {
        Some(q) => Some(open_dataset(q, metric)?),
        None => None,
    };
    if let Some(q) = &queries {
        check_dims(&base, q)?;
    } else if let Some(s) = book.steps.iter().find(|s| s.op == churn::Op::Search) {
        anyhow::bail!(
            "step {} is a search: give the query file (--queries)",
            s.key
        );
    }
    if let Some(dir) = &a.results_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--results-dir {}: {e}", dir.display()))?;
    }
    eprintln!(
        "annscope: runbook {}: {} steps ({} searches), max_pts {}",
        book.name,
        book.steps.len(),
        book.searches(),
        book.max_pts
    );
    let async_indexing = a.async_indexing.then(|| churn::queue::AsyncConfig {
        batch: a.async_batch,
        stale: std::time::Duration::from_millis(a.async_stale_ms),
    });
    let (k, threads, format) = (a.k, a.threads, a.format);
    let (spec, results_dir) = (spec.clone(), a.results_dir.clone());
    let compare_fresh = a.compare_fresh;
    let write_rate = a.write_rate;
    if let Some(r) = write_rate {
        if !(r.is_finite() && r > 0.0) {
            anyhow::bail!("--write-rate {r}: give rows per second above 0");
        }
        if a.data.queries.is_none() {
            anyhow::bail!(
                "--write-rate searches while writes run: give the query file (--queries)"
            );
        }
    }
    let (outcome, gt_source) = with_progress("churn", move |ctx| {
        let order = churn::positions(&book, &base)?;
        let (truth, source) = match &queries {
            Some(q) => churn::truth::step_truth(
                cache::cache_dir().as_deref(),
                &book,
                &order,
                &base,
                q,
                k,
                ctx,
            )?,
            None => (Default::default(), GtSource::Computed),
        };
        let plan = Plan {
            book: &book,
            order,
            base: Arc::clone(&base),
            queries: queries.as_deref(),
            truth: &truth,
            spec,
            k,
            knobs,
            search_threads: threads,
            maintenance,
            results_dir,
            async_indexing,
            compare_fresh,
            write_rate,
        };
        let mut out = Lines::new(format);
        let outcome = churn::run(&plan, ctx, &mut |line| out.step(line))?;
        Ok((outcome, source))
    })?;
    if gt_source == GtSource::Cache {
        eprintln!("annscope: ground truth at each search step read from the cache");
    }
    for n in &outcome.notes {
        eprintln!("annscope: {n}");
    }
    let mut out = Lines::new(format);
    for s in &outcome.summaries {
        out.summary(s)?;
    }
    for f in &outcome.fresh {
        out.fresh(f)?;
    }
    for u in &outcome.under_writes {
        out.under_writes(u)?;
    }
    Ok(())
}

/// The step lines and summaries, as JSON lines or a table.
struct Lines {
    format: ReportFormat,
    header: bool,
}

impl Lines {
    fn new(format: ReportFormat) -> Self {
        Lines {
            format,
            header: false,
        }
    }

    fn write(text: &str) -> crate::error::Result<()> {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{text}")
            .and_then(|_| o.flush())
            .map_err(|e| crate::error::Error::Internal(format!("writing to stdout: {e}")))
    }

    fn step(&mut self, l: &StepLine) -> crate::error::Result<()> {
        match self.format {
            ReportFormat::Json => Self::write(&serde_json::to_string(l).unwrap_or_default()),
            ReportFormat::Table | ReportFormat::Csv => {
                let csv = self.format == ReportFormat::Csv;
                if !self.header {
                    self.header = true;
                    Self::write(&if csv {
                        "step,knob,live,tombstones,recall,qps,p99_us,index_bytes,elapsed_s,cleanup_s,rebuild_s".to_string()
                    } else {
                        format!(
                            "{:>6} {:>6} {:>9} {:>10} {:>7} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9}",
                            "step",
                            "knob",
                            "live",
                            "tombstones",
                            "recall",
                            "qps",
                            "p99_us",
                            "index_bytes",
                            "elapsed_s",
                            "cleanup_s",
                            "rebuild_s"
                        )
                    })?;
                }
                let knob =
                    l.ef.or(l.search_probe)
                        .map_or("-".to_string(), |v| v.to_string());
                let recall = l.recall.map_or("-".to_string(), |r| format!("{r:.4}"));
                Self::write(&if csv {
                    format!(
                        "{},{knob},{},{},{recall},{:.1},{:.1},{},{:.2},{:.2},{:.2}",
                        l.step,
                        l.live,
                        l.tombstones,
                        l.qps,
                        l.p99_us,
                        l.index_bytes,
                        l.elapsed_s,
                        l.cleanup_s,
                        l.rebuild_s
                    )
                } else {
                    format!(
                        "{:>6} {knob:>6} {:>9} {:>10} {recall:>7} {:>9.0} {:>9.0} {:>12} {:>9.2} {:>9.2} {:>9.2}",
                        l.step, l.live, l.tombstones, l.qps, l.p99_us, l.index_bytes, l.elapsed_s, l.cleanup_s, l.rebuild_s
                    )
                })
            }
        }
    }

    fn under_writes(&mut self, u: &churn::run::UnderWrites) -> crate::error::Result<()> {
        match self.format {
            ReportFormat::Json => Self::write(
                &serde_json::to_string(&serde_json::json!({ "under_writes": u }))
                    .unwrap_or_default(),
            ),
            _ => Self::write(&format!(
                "step {} ({} of {} rows at {:.0}/s, reached {:.0}/s): {} searches beside it, {:.0} QPS, p50 {:.0} us, p99 {:.0} us",
                u.step, u.operation, u.rows, u.write_rate, u.achieved_rate, u.queries, u.qps, u.p50_us, u.p99_us
            )),
        }
    }

    fn fresh(&mut self, f: &churn::run::Fresh) -> crate::error::Result<()> {
        match self.format {
            ReportFormat::Json => Self::write(
                &serde_json::to_string(&serde_json::json!({ "fresh": f })).unwrap_or_default(),
            ),
            _ => Self::write(&format!(
                "fresh build over the rows live at step {}{}: recall {}, {:.0} QPS, p99 {:.0} us, {} bytes, built in {:.1} s",
                f.step,
                f.ef.or(f.search_probe).map_or(String::new(), |v| format!(" (knob {v})")),
                f.recall.map_or("-".into(), |r| format!("{r:.4}")),
                f.qps, f.p99_us, f.index_bytes, f.build_s
            )),
        }
    }

    fn summary(&mut self, s: &Summary) -> crate::error::Result<()> {
        match self.format {
            ReportFormat::Json => Self::write(
                &serde_json::to_string(&serde_json::json!({ "summary": s })).unwrap_or_default(),
            ),
            _ => Self::write(&format!(
                "summary{}: average recall {}, min {}, {} searches, {} inserted, {} deleted, {} replaced, {:.0} writes/s, {:.1} s (cleanup {:.1} s, rebuild {:.1} s), {} bytes at the end",
                s.ef.or(s.search_probe).map_or(String::new(), |v| format!(" (knob {v})")),
                s.average_recall.map_or("-".into(), |r| format!("{r:.4}")),
                s.min_recall.map_or("-".into(), |r| format!("{r:.4}")),
                s.searches, s.inserted, s.deleted, s.replaced, s.write_throughput, s.seconds, s.cleanup_s, s.rebuild_s, s.final_index_bytes
            )),
        }
    }
}
