//! The engine on the bundled sample: exact search, evaluation and labels.

use std::sync::Arc;

use annscope::dataset::{self, read_ivecs};
use annscope::distance::Metric;
use annscope::eval::{measure, recall_at_k, GroundTruth, QueryMode, RunOptions};
use annscope::index::{IndexSpec, Neighbors, SearchParams};
use annscope::progress::WorkContext;

use crate::common::*;

#[test]
fn flat_index_scores_perfect_recall_against_the_oracle() {
    let ctx = WorkContext::detached();
    let mut base = dataset::open(&project(SAMPLE_BASE), Metric::Cosine, &ctx).expect("base");
    base.load_labels(&project(SAMPLE_LABELS)).expect("labels");
    assert!(base.label(0).is_some_and(|l| !l.is_empty()));
    let base = Arc::new(base);
    let queries = dataset::open(&project(SAMPLE_QUERIES), Metric::Cosine, &ctx).expect("queries");
    let rows = read_ivecs(&project(SAMPLE_GT)).expect("gt");
    let gt =
        GroundTruth::from_id_rows(rows, &base, queries.vectors(), &project(SAMPLE_GT)).expect("gt");
    let index = IndexSpec::Flat.build(base.clone(), &ctx).expect("build");
    for mode in [QueryMode::Single, QueryMode::Batch] {
        let m = measure(
            &*index,
            Some(&base),
            queries.vectors(),
            &gt,
            &SearchParams::new(10),
            RunOptions {
                mode,
                threads: 1,
                runs: 1,
                cold: false,
            },
        )
        .expect("measure");
        assert_eq!(m.recall, 1.0, "{mode:?}");
        assert_eq!(m.dist_comps, Some(4000.0));
        assert!(m.latency.p50_us > 0.0);
    }
}

#[test]
fn wrong_answers_score_low_recall() {
    // The measurement must be able to fail: answering each query with the
    // next query's true neighbours scores far below 1.
    let ctx = WorkContext::detached();
    let base = Arc::new(dataset::open(&project(SAMPLE_BASE), Metric::Cosine, &ctx).expect("base"));
    let queries = dataset::open(&project(SAMPLE_QUERIES), Metric::Cosine, &ctx).expect("queries");
    let rows = read_ivecs(&project(SAMPLE_GT)).expect("gt");
    let wrong: Vec<Neighbors> = (0..rows.n)
        .map(|i| Neighbors {
            ids: rows.row((i + 1) % rows.n)[..10].to_vec(),
            ..Neighbors::default()
        })
        .collect();
    let gt =
        GroundTruth::from_id_rows(rows, &base, queries.vectors(), &project(SAMPLE_GT)).expect("gt");
    let (recall, per_query) = recall_at_k(&gt, 10, &wrong, &base, queries.vectors());
    assert_eq!(per_query.len(), 200);
    assert!(recall < 0.2, "recall {recall} for wrong answers");
}

/// The build's 8-bit copies (the default) must link a graph as good as the
/// f32 vectors do: recall at equal ef within 0.005 of an f32 build's, both
/// built on one thread (so each graph is reproducible). Were the integer
/// kernels or the shared-step decoding wrong, the graph would be linked on
/// wrong distances and lose far more.
#[test]
fn eight_bit_build_keeps_recall_at_equal_ef_within_half_a_point_of_f32() {
    use annscope::index::hnsw::{BuildPrecision, Hnsw, HnswParams};
    use annscope::index::SearchKnob;

    let ctx = WorkContext::detached();
    let base = Arc::new(dataset::open(&project(SAMPLE_BASE), Metric::Cosine, &ctx).expect("base"));
    let queries = dataset::open(&project(SAMPLE_QUERIES), Metric::Cosine, &ctx).expect("queries");
    let rows = read_ivecs(&project(SAMPLE_GT)).expect("gt");
    let gt =
        GroundTruth::from_id_rows(rows, &base, queries.vectors(), &project(SAMPLE_GT)).expect("gt");
    let recalls = |build: BuildPrecision| -> Vec<f64> {
        let mut params = HnswParams::default();
        params.storage.build = build;
        let index = annscope::job::with_threads(Some(1), || Hnsw::build(&base, params, &ctx))
            .expect("pool")
            .expect("build");
        assert_eq!(
            index.params_struct().storage.build,
            build,
            "the build read {build:?}"
        );
        [10, 16, 32]
            .into_iter()
            .map(|ef| {
                let mut p = SearchParams::new(10);
                p.knob = SearchKnob::Ef(ef);
                let m = measure(
                    &index,
                    Some(&base),
                    queries.vectors(),
                    &gt,
                    &p,
                    RunOptions {
                        mode: QueryMode::Batch,
                        threads: 1,
                        runs: 1,
                        cold: false,
                    },
                )
                .expect("measure");
                m.recall
            })
            .collect()
    };
    let (exact, eight_bit) = (recalls(BuildPrecision::F32), recalls(BuildPrecision::Sq8));
    for ((ef, e), q) in [10, 16, 32].iter().zip(&exact).zip(&eight_bit) {
        assert!(
            *q >= e - 0.005,
            "ef {ef}: 8-bit build {q:.4}, f32 build {e:.4}"
        );
    }
    // Not a vacuous bound: at ef 10 neither graph finds everything.
    assert!(
        exact[0] < 0.95 && eight_bit[0] < 0.95,
        "{exact:?} {eight_bit:?}"
    );
}
