//! The tuner on small seeded data: what it promises (a pick that meets the
//! target, checked on held-out queries; `bench` flags; the closest point
//! when nothing meets it; a sample when the base is large; cancel).

use std::sync::Arc;

use clap::Parser;

use super::*;
use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::eval::GroundTruth;
use crate::testutil::random_dataset;

fn inputs(n: usize, dim: usize, nq: usize) -> TuneInputs {
    let base = Arc::new(random_dataset(n, dim, Metric::L2, 1));
    let queries = random_dataset(nq, dim, Metric::L2, 2);
    let gt =
        GroundTruth::compute(&base, queries.vectors(), 10, &WorkContext::detached()).expect("gt");
    let split = QuerySplit::halves(queries.vectors(), &gt, 5).expect("split");
    TuneInputs { base, split }
}

fn config(kinds: Vec<IndexKind>, m: &[usize], efc: &[usize], recall: f64) -> TuneConfig {
    let mut space = Space::default_for(kinds, 7);
    space.m = m.to_vec();
    space.ef_construction = efc.to_vec();
    space.ef_max = 256;
    TuneConfig {
        target: Target::recall(10, recall),
        space,
        strategy: Strategy::Screen,
        budget_s: 600.0,
        build_threads: Some(2),
        repeat: RepeatPolicy {
            min_runs: 3,
            max_runs: 3,
            tolerance: 0.05,
        },
    }
}

fn run(inputs: &TuneInputs, config: &TuneConfig) -> (Summary, Vec<TunedPoint>) {
    let mut points = Vec::new();
    let s = tune(inputs, config, &WorkContext::detached(), &mut |p| {
        points.push(p.clone())
    })
    .expect("tune");
    (s, points)
}

/// `bench` accepts the pick's params as flags, values as printed.
fn assert_bench_takes(pick: &Pick) {
    let mut args: Vec<String> = [
        "annscope",
        "bench",
        "--base",
        "b.fvecs",
        "--queries",
        "q.fvecs",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--index".to_string(), pick.spec.kind().name().to_string()]);
    for (k, v) in &pick.params {
        args.push(format!("--{}", k.replace('_', "-")));
        args.push(v.to_string().trim_matches('"').to_string());
    }
    if let Err(e) = crate::cli::Cli::try_parse_from(&args) {
        panic!("bench refuses the pick's params {args:?}: {e}");
    }
}

#[test]
fn a_reachable_target_is_met_and_checked_on_the_held_out_queries() {
    let data = inputs(3000, 12, 200);
    let cfg = config(
        vec![IndexKind::Flat, IndexKind::Hnsw],
        &[4, 8],
        &[16, 40],
        0.9,
    );
    let (s, points) = run(&data, &cfg);
    let p = &s.pick;
    assert!(p.met, "{p:?}");
    assert_eq!(p.spec.kind(), IndexKind::Hnsw, "{}", p.reason);
    // A small base is screened on itself: one build per M at the middle
    // efConstruction, reused as the full-size candidates; flat is free.
    assert_eq!((s.builds, s.sample_builds), (2, 0));
    assert!(p.tuning_recall >= 0.9, "{p:?}");
    assert!(p.heldout_interval[0] <= p.heldout_recall && p.heldout_recall <= p.heldout_interval[1]);
    assert!(p.heldout_interval[1] - p.heldout_interval[0] > 0.0);
    // The pick was timed more than once: it has a spread.
    let spread = p.qps_spread.expect("timed runs");
    assert!(spread.lo <= p.qps && p.qps <= spread.hi, "{p:?}");
    assert!(p.params.contains_key("m") && p.params.contains_key("ef"));
    assert!(!p.params.contains_key("code_bytes_per_vector"));
    assert_bench_takes(p);
    // The held-out point is the pick's, on the other half of the queries.
    let held: Vec<_> = points
        .iter()
        .filter(|q| q.phase == Phase::Heldout)
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].point.queries, data.split.heldout.len());
    assert_eq!(held[0].heldout_recall, Some(p.heldout_recall));
    assert!(points.iter().all(|q| q.phase != Phase::Sample));
    assert!(
        p.reason.contains("Flat"),
        "the reason names the others: {}",
        p.reason
    );
}

/// A finalist many times slower than the leader (the flat scan beside a
/// graph on 20,000 rows: many times the distance computations) is timed once
/// and no more; the leader gets its runs.
#[test]
fn a_hopeless_finalist_is_timed_once() {
    let data = inputs(20_000, 8, 100);
    let cfg = config(vec![IndexKind::Flat, IndexKind::Hnsw], &[8], &[40], 0.9);
    let (s, points) = run(&data, &cfg);
    assert_eq!(s.pick.spec.kind(), IndexKind::Hnsw, "{}", s.pick.reason);
    let timed = |kind: &str| {
        points
            .iter()
            .rfind(|p| p.phase == Phase::Full && p.point.index == kind)
            .map(|p| (p.point.runs, p.point.qps))
            .expect("a timed point")
    };
    let ((flat_runs, flat_qps), (graph_runs, graph_qps)) = (timed("flat"), timed("hnsw"));
    assert!(
        flat_qps < 0.2 * graph_qps,
        "the premise: flat {flat_qps:.0} QPS against {graph_qps:.0}"
    );
    assert_eq!(flat_runs, 1, "flat timed {flat_runs} times");
    assert!(graph_runs >= 3, "the pick timed {graph_runs} times");
}

#[test]
fn an_unreachable_target_gives_the_closest_point_and_says_it_is_not_met() {
    let data = inputs(3000, 12, 100);
    let mut cfg = config(vec![IndexKind::Hnsw], &[2], &[8], 1.0);
    cfg.space.ef_max = 10;
    let (s, _) = run(&data, &cfg);
    assert!(!s.pick.met);
    assert!(
        s.pick
            .reason
            .starts_with("nothing measured meets the target"),
        "{}",
        s.pick.reason
    );
    assert_eq!(s.pick.params["ef"], 10);
}

#[test]
fn a_large_base_is_screened_on_a_sample_first() {
    let data = inputs(24_000, 8, 100);
    let cfg = config(vec![IndexKind::Hnsw], &[4, 8], &[16, 32], 0.9);
    let (s, points) = run(&data, &cfg);
    assert_eq!(s.sample_builds, 2, "one sample build per M: {:?}", s.notes);
    assert!(s.builds >= 1);
    let sample: Vec<_> = points.iter().filter(|p| p.phase == Phase::Sample).collect();
    assert!(!sample.is_empty());
    assert!(sample.iter().all(|p| p.built_on == 10_000));
    assert!(points
        .iter()
        .filter(|p| p.phase == Phase::Full)
        .all(|p| p.built_on == 24_000));
    assert!(s.pick.met, "{:?}", s.pick);
}

#[test]
fn a_ram_ceiling_rules_out_what_does_not_fit() {
    let data = inputs(3000, 12, 100);
    let mut cfg = config(vec![IndexKind::Flat, IndexKind::Hnsw], &[8], &[40], 0.9);
    // Below any HNSW (the f32 vectors, their f16 copy and the graph), above
    // the flat scan (the vectors and perhaps their norms).
    cfg.target.max_ram_bytes = Some(3000 * 12 * 4 * 6 / 5);
    let (s, _) = run(&data, &cfg);
    assert_eq!(s.pick.spec.kind(), IndexKind::Flat, "{}", s.pick.reason);
    assert!(s.pick.met);
    assert!(s.pick.reason.contains("bytes >"), "{}", s.pick.reason);
}

#[test]
fn a_cancelled_tune_stops_with_cancelled() {
    let data = inputs(2000, 8, 40);
    let cfg = config(vec![IndexKind::Hnsw], &[4], &[16], 0.9);
    let ctx = WorkContext::detached();
    ctx.cancel.cancel();
    let e = tune(&data, &cfg, &ctx, &mut |_| {}).expect_err("cancelled");
    assert!(e.is_cancelled(), "{e}");
}

#[test]
fn settings_the_tuner_cannot_search_are_refused() {
    let data = inputs(500, 4, 40);
    let mut cfg = config(vec![IndexKind::PgvectorHnsw], &[4], &[16], 0.9);
    let e = tune(&data, &cfg, &WorkContext::detached(), &mut |_| {})
        .err()
        .unwrap();
    assert!(e.to_string().contains("does not search pgvector"), "{e}");
    cfg.space.kinds = vec![IndexKind::Hnsw];
    cfg.space.m = vec![1];
    assert!(tune(&data, &cfg, &WorkContext::detached(), &mut |_| {}).is_err());
    cfg.space.m = vec![4];
    cfg.budget_s = 0.0;
    assert!(tune(&data, &cfg, &WorkContext::detached(), &mut |_| {}).is_err());
    let small = Arc::new(Dataset::from_vec("five", vec![0.0; 20], 4, Metric::L2).unwrap());
    let few = TuneInputs {
        base: small,
        split: data.split,
    };
    cfg.budget_s = 10.0;
    let e = tune(&few, &cfg, &WorkContext::detached(), &mut |_| {})
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("more neighbours than the base holds"),
        "{e}"
    );
}
