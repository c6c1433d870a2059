//! What a run reports: the line of each (search step, knob), the summary
//! per knob, the fresh build's lines, and the files `--results-dir` holds.

use serde::Serialize;

use super::Plan;
use crate::dataset::IdRows;
use crate::error::Result;
use crate::index::{Neighbors, SearchKnob};

/// A fresh build over the rows live at the end, measured as the last
/// search step was: what the index that lived through the runbook is set
/// against.
#[derive(Clone, Debug, Serialize)]
pub struct Fresh {
    /// The search step whose live rows and ground truth it is measured on.
    pub step: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub recall: Option<f64>,
    pub qps: f64,
    pub p99_us: f64,
    pub index_bytes: u64,
    pub build_s: f64,
}

/// What a run returns: a summary per knob, the fresh build's lines (when
/// asked), and the index's notes on how it took writes.
pub struct Outcome {
    pub summaries: Vec<Summary>,
    pub fresh: Vec<Fresh>,
    /// Write steps written at `--write-rate` with searches beside them.
    pub under_writes: Vec<super::UnderWrites>,
    pub notes: Vec<String>,
}

/// One search step under one knob: a line of `churn --format json`. A
/// stable contract: fields are never renamed; new ones may be added.
#[derive(Clone, Debug, Serialize)]
pub struct StepLine {
    pub step: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub live: usize,
    pub inserted: usize,
    pub deleted: usize,
    pub replaced: usize,
    pub tombstones: usize,
    pub queue_len: usize,
    pub status: &'static str,
    /// None when nothing is live.
    pub recall: Option<f64>,
    /// Returned tags that were not live, or repeated in one answer.
    pub wrong_tags: usize,
    pub qps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub index_bytes: u64,
    pub rss_bytes: Option<u64>,
    pub elapsed_s: f64,
    pub cleanup_s: f64,
    pub cleanups: usize,
    pub rebuild_s: f64,
    pub rebuilds: usize,
}

/// The run's totals under one knob.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_probe: Option<usize>,
    pub average_recall: Option<f64>,
    pub min_recall: Option<f64>,
    pub searches: usize,
    pub inserted: usize,
    pub deleted: usize,
    pub replaced: usize,
    /// Rows written per second of write time (maintenance excluded).
    pub write_throughput: f64,
    pub freshness_p50_ms: f64,
    pub freshness_p99_ms: f64,
    pub seconds: f64,
    /// With asynchronous indexing: seconds after the last step until the
    /// queue drained (included in `seconds`).
    pub drain_s: f64,
    pub cleanup_s: f64,
    pub rebuild_s: f64,
    pub final_index_bytes: u64,
    pub average_qps: Option<f64>,
    /// The search steps' mean p99 latency (searches alone).
    pub average_p99_us: Option<f64>,
    /// With `--write-rate`: mean QPS and p99 of the searches made while
    /// write steps ran (first knob only; None otherwise).
    pub qps_under_writes: Option<f64>,
    pub p99_under_writes_us: Option<f64>,
}

pub(super) fn knob_fields(knob: SearchKnob) -> (Option<usize>, Option<usize>) {
    match knob {
        SearchKnob::Ef(e) => (Some(e), None),
        SearchKnob::Probe(p) => (None, Some(p)),
        _ => (None, None),
    }
}

/// Beside the answers, what another tool needs to score its own run of the
/// same runbook: `order.ivecs` (one row: position → base row) and
/// `truth-<key>.ivecs` (each search step's exact top-k tags, -1 where
/// fewer are live).
pub(super) fn write_truth(dir: &std::path::Path, plan: &Plan<'_>) -> Result<()> {
    crate::dataset::vecs::write_ivecs(
        &dir.join("order.ivecs"),
        &IdRows {
            n: 1,
            k: plan.order.len(),
            ids: plan.order.clone(),
        },
    )?;
    for (key, gt) in plan.truth {
        let Some(gt) = gt else { continue };
        let n = gt.n_queries();
        let ids = (0..n)
            .flat_map(|q| (0..plan.k).map(move |j| gt.ids(q).get(j).copied().unwrap_or(u32::MAX)))
            .collect();
        crate::dataset::vecs::write_ivecs(
            &dir.join(format!("truth-{key}.ivecs")),
            &IdRows { n, k: plan.k, ids },
        )?;
    }
    Ok(())
}

/// `step-<key>.ivecs` (with several knobs, `step-<key>-ef<E>.ivecs` or
/// `-probe<P>`): k tags per query, -1 where fewer came back.
pub(super) fn write_answers(
    dir: &std::path::Path,
    key: u64,
    knob: SearchKnob,
    knobs: usize,
    k: usize,
    results: &[Neighbors],
) -> Result<()> {
    let suffix = match (knobs > 1, knob) {
        (false, _) => String::new(),
        (true, SearchKnob::Ef(e)) => format!("-ef{e}"),
        (true, SearchKnob::Probe(p)) => format!("-probe{p}"),
        (true, _) => "-default".into(),
    };
    let mut ids = Vec::with_capacity(results.len() * k);
    for r in results {
        ids.extend((0..k).map(|j| r.ids.get(j).copied().unwrap_or(u32::MAX)));
    }
    crate::dataset::vecs::write_ivecs(
        &dir.join(format!("step-{key}{suffix}.ivecs")),
        &IdRows {
            n: results.len(),
            k,
            ids,
        },
    )
}
