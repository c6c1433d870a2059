use super::*;
use crate::churn::runbook::{Order, Step};
use crate::churn::truth::step_truth;
use crate::distance::Metric;
use crate::index::{HnswParams, IndexKind};
use crate::testutil::random_dataset;

fn book() -> Runbook {
    let ops = [
        Op::Insert { start: 0, end: 400 },
        Op::Search,
        Op::Delete { start: 0, end: 200 },
        Op::Search,
        Op::Insert {
            start: 400,
            end: 600,
        },
        Op::Search,
        Op::Replace {
            tags_start: 200,
            tags_end: 260,
            ids_start: 600,
            ids_end: 660,
        },
        Op::Search,
        Op::Insert { start: 0, end: 50 },
        Op::Search,
    ];
    Runbook {
        name: "t".into(),
        max_pts: 1000,
        order: Order::File,
        steps: ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| Step {
                key: 10 + i as u64,
                op,
            })
            .collect(),
    }
}

fn run_kind(
    spec: IndexSpec,
    maintenance: Maintenance,
    dir: Option<PathBuf>,
) -> (Vec<StepLine>, Summary) {
    run_with(spec, maintenance, dir, None, None)
}

fn run_with(
    spec: IndexSpec,
    maintenance: Maintenance,
    dir: Option<PathBuf>,
    async_indexing: Option<crate::churn::queue::AsyncConfig>,
    write_rate: Option<f64>,
) -> (Vec<StepLine>, Summary) {
    let base = Arc::new(random_dataset(700, 16, Metric::L2, 11));
    let queries = random_dataset(40, 16, Metric::L2, 12);
    let book = book();
    book.check(700, "t").expect("valid");
    let order: Vec<u32> = (0..700).collect();
    let ctx = WorkContext::detached();
    let (truth, _) = step_truth(None, &book, &order, &base, &queries, 10, &ctx).expect("truth");
    let plan = Plan {
        book: &book,
        order,
        base,
        queries: Some(&queries),
        truth: &truth,
        spec: spec.clone(),
        k: 10,
        knobs: vec![match spec.kind().knob() {
            Some(crate::index::KnobKind::Probe) => SearchKnob::Probe(16),
            Some(crate::index::KnobKind::Ef) => SearchKnob::Ef(64),
            None => SearchKnob::Default,
        }],
        search_threads: 1,
        maintenance,
        results_dir: dir,
        async_indexing,
        compare_fresh: false,
        write_rate,
    };
    let mut lines = Vec::new();
    let mut outcome = run(&plan, &ctx, &mut |l| {
        lines.push(l.clone());
        Ok(())
    })
    .expect("run");
    (lines, outcome.summaries.remove(0))
}

fn small_hnsw() -> IndexSpec {
    IndexSpec::Hnsw(HnswParams {
        m: 8,
        ef_construction: 64,
        ..HnswParams::default()
    })
}

#[test]
fn the_flat_scan_under_writes_is_exact_at_every_step_and_counts_what_was_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let (lines, sum) = run_kind(IndexSpec::Flat, Maintenance::None, Some(dir.path().into()));
    assert_eq!(lines.len(), 5);
    for l in &lines {
        assert_eq!(l.recall, Some(1.0), "step {}", l.step);
        assert_eq!(l.wrong_tags, 0);
    }
    let live: Vec<usize> = lines.iter().map(|l| l.live).collect();
    assert_eq!(live, [400, 200, 400, 400, 450]);
    assert_eq!((sum.inserted, sum.deleted, sum.replaced), (650, 200, 60));
    assert_eq!(lines[0].step, 11, "the runbook's own step key");
    // Answers on disk: k tags per query, by the step's key.
    let rows = crate::dataset::read_ivecs(&dir.path().join("step-19.ivecs")).expect("ivecs");
    assert_eq!((rows.n, rows.k), (40, 10));
    assert!(rows.ids.iter().all(|&t| t < 50 || (200..600).contains(&t)));
}

#[test]
fn hnsw_answers_only_live_tags_and_cleanup_frees_its_tombstones() {
    let (kept, _) = run_kind(small_hnsw(), Maintenance::None, None);
    assert_eq!(kept[1].tombstones, 200, "a delete leaves tombstones");
    let (cleaned, sum) = run_kind(small_hnsw(), Maintenance::Cleanup(Interval::Ops(1)), None);
    assert_eq!(cleaned[1].tombstones, 0, "a cycle ran after the delete");
    assert!(cleaned[1].cleanups >= 1 && cleaned[1].cleanup_s > 0.0);
    assert!(sum.cleanup_s >= cleaned[1].cleanup_s);
    for l in kept.iter().chain(&cleaned) {
        assert_eq!(
            l.wrong_tags, 0,
            "step {}: a deleted or repeated tag came back",
            l.step
        );
        assert!(
            l.recall.expect("live") > 0.9,
            "step {}: {:?}",
            l.step,
            l.recall
        );
    }
    // Tags 0..50 were deleted, cleaned up and inserted again: they answer.
    assert_eq!(cleaned.last().expect("last").live, 450);
}

#[test]
fn a_rebuild_policy_rebuilds_when_its_share_is_deleted() {
    let (lines, sum) = run_kind(small_hnsw(), Maintenance::RebuildAt(0.3), None);
    assert_eq!(lines[1].rebuilds, 1, "200 of 400 deleted: past 30%");
    assert_eq!(lines[1].tombstones, 0, "a fresh build holds no tombstones");
    assert!(sum.rebuild_s > 0.0);
}

#[test]
fn hfresh_and_the_dynamic_index_run_the_same_runbook() {
    use crate::index::{DynamicConfig, HFreshParams};
    let hf = IndexSpec::HFresh(HFreshParams {
        max_posting_size: 64,
        min_posting_size: 4,
        ..HFreshParams::default()
    });
    let (lines, _) = run_kind(hf, Maintenance::None, None);
    assert!(lines.iter().all(|l| l.wrong_tags == 0));
    assert!(
        lines.iter().all(|l| l.recall.expect("live") > 0.8),
        "{lines:?}"
    );
    let dynamic = IndexSpec::Dynamic(DynamicConfig {
        threshold: 300,
        hnsw: match small_hnsw() {
            IndexSpec::Hnsw(h) => h,
            _ => unreachable!(),
        },
    });
    let (lines, _) = run_kind(dynamic, Maintenance::Cleanup(Interval::Ops(1)), None);
    assert!(lines.iter().all(|l| l.wrong_tags == 0), "{lines:?}");
    let _ = IndexKind::Dynamic;
}

#[test]
fn async_indexing_answers_as_well_as_synchronous_writes_and_reports_its_queue() {
    use crate::churn::queue::AsyncConfig;
    let (sync, _) = run_kind(small_hnsw(), Maintenance::None, None);
    // A stale timeout longer than the run: only full batches are indexed,
    // so searches find writes still queued.
    let config = AsyncConfig {
        batch: 150,
        stale: std::time::Duration::from_secs(60),
    };
    let (lines, sum) = run_with(small_hnsw(), Maintenance::None, None, Some(config), None);
    assert!(
        lines
            .iter()
            .any(|l| l.queue_len > 0 && l.status == "INDEXING"),
        "{lines:?}"
    );
    for (a, s) in lines.iter().zip(&sync) {
        assert_eq!(a.wrong_tags, 0, "step {}", a.step);
        let (a, s) = (a.recall.expect("live"), s.recall.expect("live"));
        assert!(a >= s - 0.02, "async {a} vs sync {s}");
    }
    assert!(sum.freshness_p99_ms > 0.0 && sum.freshness_p50_ms <= sum.freshness_p99_ms);
    assert!(sum.drain_s > 0.0, "the queue drained after the last step");
}

#[test]
fn searches_run_beside_paced_writes_and_the_summary_sets_them_against_idle() {
    // 200 + 200 + 60 + 50 rows after the first insert, at 2,000 rows/s:
    // about a quarter of a second of searching beside writes.
    let (lines, sum) = run_with(small_hnsw(), Maintenance::None, None, None, Some(2000.0));
    assert!(lines.iter().all(|l| l.wrong_tags == 0));
    let qps = sum.qps_under_writes.expect("searches ran under writes");
    assert!(qps > 0.0 && sum.p99_under_writes_us.expect("p99") > 0.0);
    assert!(sum.average_p99_us.expect("idle p99") > 0.0);
    // The writes were paced: 510 rows at 2,000/s take at least 0.255 s.
    assert!(sum.seconds >= 0.255, "{}", sum.seconds);
    assert_eq!((sum.inserted, sum.deleted, sum.replaced), (650, 200, 60));
}
