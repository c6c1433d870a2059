//! HNSW against the flat oracle on seeded data, and every feature that could
//! silently break: reproducibility, deletes, inserts, duplicates,
//! persistence, traces, inspection and cancellation.

use std::sync::Arc;

use super::*;
use crate::dataset::Dataset;
use crate::eval::{recall_at_k, GroundTruth};
use crate::index::{AnnIndex, Precision, SearchKnob};
use crate::job::with_threads;
use crate::progress::WorkContext;
use crate::testutil::random_vectors;

const SEED: u64 = 7;

/// Clustered data (Gaussian-ish blobs), closer to real embeddings than uniform noise.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let centers = random_vectors(20, dim, seed ^ 0xc1);
    let noise = random_vectors(n, dim, seed);
    (0..n)
        .flat_map(|i| {
            let c = &centers[(i % 20) * dim..(i % 20 + 1) * dim];
            let e = &noise[i * dim..(i + 1) * dim];
            c.iter()
                .zip(e)
                .map(|(c, e)| c + 0.35 * e)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn dataset(n: usize, dim: usize, metric: Metric, seed: u64) -> Arc<Dataset> {
    Arc::new(Dataset::from_vec("clustered", clustered(n, dim, seed), dim, metric).expect("dataset"))
}

fn params(m: usize) -> HnswParams {
    HnswParams {
        m,
        ef_construction: 100,
        seed: SEED,
        ..HnswParams::default()
    }
}

/// A single-threaded build: seeded and reproducible, so test bounds are stable.
fn serial(base: &Dataset, p: HnswParams) -> crate::error::Result<Hnsw> {
    with_threads(Some(1), || Hnsw::build(base, p, &WorkContext::detached()))?
}

fn recall(
    index: &dyn AnnIndex,
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    ef: usize,
) -> f64 {
    let gt =
        GroundTruth::compute(base, queries.vectors(), k, &WorkContext::detached()).expect("gt");
    let results: Vec<Neighbors> = queries
        .vectors()
        .rows()
        .map(|q| {
            index
                .search(q, &SearchParams::new(k).with_ef(ef))
                .expect("search")
        })
        .collect();
    recall_at_k(&gt, k, &results, base, queries.vectors()).0
}

#[test]
fn recall_against_flat_for_every_metric() {
    for metric in Metric::ALL {
        let base = dataset(3000, 24, metric, SEED);
        let queries = Dataset::from_vec("q", clustered(100, 24, SEED + 1), 24, metric).expect("q");
        let index = serial(&base, params(12)).expect("build");
        // 24-d clustered noise is hard: the bounds are what a correct HNSW
        // reaches here (inner product, not a metric, is the hardest).
        let (want_64, want_256) = if metric == Metric::InnerProduct {
            (0.6, 0.9)
        } else {
            (0.8, 0.99)
        };
        let r = recall(&index, &base, &queries, 10, 64);
        assert!(
            r >= want_64,
            "{metric}: recall@10 at ef=64 is {r:.4} (seed {SEED}), expected >= {want_64}"
        );
        let high = recall(&index, &base, &queries, 10, 256);
        assert!(
            high >= want_256,
            "{metric}: recall@10 at ef=256 is {high:.4} (seed {SEED}), expected >= {want_256}"
        );
        let low = recall(&index, &base, &queries, 10, 10);
        assert!(
            low <= r,
            "{metric}: recall fell from {low} to {r} as ef grew"
        );
    }
}

#[test]
fn single_threaded_build_is_reproducible() {
    let base = dataset(1500, 16, Metric::L2, SEED);
    let build = || {
        with_threads(Some(1), || {
            Hnsw::build(&base, params(8), &WorkContext::detached())
        })
        .expect("pool")
        .expect("build")
    };
    let (a, b) = (build(), build());
    assert_eq!(a.entry_point(), b.entry_point());
    for id in 0..1500u32 {
        for layer in 0..a.layer_count() {
            assert_eq!(
                a.node_links(id, layer),
                b.node_links(id, layer),
                "node {id} layer {layer}"
            );
        }
    }
}

#[test]
fn layers_links_and_degrees_are_consistent() {
    let base = dataset(2000, 16, Metric::L2, SEED);
    let index = serial(&base, params(8)).expect("build");
    let stats = index.layer_stats();
    assert_eq!(stats.len(), index.layer_count());
    assert_eq!(stats[0].nodes, 2000);
    assert!(
        stats.windows(2).all(|w| w[0].nodes >= w[1].nodes),
        "layers shrink upwards"
    );
    assert!(stats[0].max_degree <= 16 && stats.iter().skip(1).all(|s| s.max_degree <= 8));
    assert_eq!(stats[0].degree_histogram.iter().sum::<usize>(), 2000);
    let top = index.layer_count() - 1;
    assert!(index.layer_nodes(top).contains(&index.entry_point()));
    assert!(
        index.unreachable_nodes().is_empty(),
        "unreachable: {:?}",
        index.unreachable_nodes()
    );
    // Links never point to self and name nodes present on that layer.
    for id in index.layer_nodes(1) {
        for nb in index.node_links(id, 1).expect("on layer 1") {
            assert_ne!(nb, id);
            assert!(index.node_level(nb).expect("live") >= 1);
        }
    }
}

#[test]
fn trace_matches_search_and_descends_to_layer_zero() {
    let base = dataset(2000, 16, Metric::Cosine, SEED);
    let index = serial(&base, params(8)).expect("build");
    let q = base.row(5).to_vec();
    let trace = index.trace(&q, 10, 40).expect("trace");
    let plain = index
        .search(&q, &SearchParams::new(10).with_ef(40))
        .expect("search");
    assert_eq!(trace.result.ids, plain.ids);
    assert_eq!(
        trace.result.stats, plain.stats,
        "the trace counts what the search does"
    );
    assert_eq!(trace.entry, index.entry_point());
    assert_eq!(
        trace.walk,
        index.params_struct().storage.search,
        "the trace says which vectors the walk read"
    );
    let layers: Vec<usize> = trace.layers.iter().map(|l| l.layer).collect();
    assert_eq!(layers, (0..index.layer_count()).rev().collect::<Vec<_>>());
    let last = trace.layers.last().expect("layer 0");
    assert_eq!(last.ef, 40);
    assert!(!last.steps.is_empty());
    assert_eq!(trace.result.ids[0], 5, "a stored vector finds itself");
    // Each step's result list is sorted and at most ef long.
    for step in &last.steps {
        assert!(step.results.len() <= 40);
        assert!(step.results.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}

#[test]
fn deleted_ids_never_return_and_cleanup_keeps_recall() {
    let base = dataset(3000, 16, Metric::L2, SEED);
    let mut index = serial(&base, params(12)).expect("build");
    let deleted: Vec<u32> = (0..3000).filter(|i| i % 10 == 3).collect();
    for &d in &deleted {
        index.delete(d).expect("delete");
    }
    assert!(index.delete(3).is_err(), "double delete is an error");
    assert_eq!(index.len(), 2700);
    let queries = Dataset::from_vec("q", clustered(100, 16, SEED + 1), 16, Metric::L2).expect("q");
    let check_no_deleted = |index: &Hnsw| {
        for q in queries.vectors().rows() {
            let r = index
                .search(q, &SearchParams::new(20).with_ef(64))
                .expect("search");
            assert!(
                r.ids.iter().all(|id| id % 10 != 3),
                "a deleted id came back: {:?}",
                r.ids
            );
        }
    };
    check_no_deleted(&index);
    let freed = index.cleanup(&WorkContext::detached()).expect("cleanup");
    assert_eq!(freed, 300);
    check_no_deleted(&index);
    assert!(index.unreachable_nodes().is_empty());

    // Recall against a fresh build on the remaining vectors (ids remapped).
    let keep: Vec<usize> = (0..3000).filter(|i| i % 10 != 3).collect();
    let remaining = Arc::new(base.subset("remaining", &keep));
    let fresh = serial(&remaining, params(12)).expect("fresh");
    let r_fresh = recall(&fresh, &remaining, &queries, 10, 64);
    // The cleaned index answers in original ids: map them to rows of `remaining`.
    let gt = GroundTruth::compute(&remaining, queries.vectors(), 10, &WorkContext::detached())
        .expect("gt");
    let results: Vec<Neighbors> = queries
        .vectors()
        .rows()
        .map(|q| {
            let mut r = index
                .search(q, &SearchParams::new(10).with_ef(64))
                .expect("search");
            r.ids = r
                .ids
                .iter()
                .map(|&id| keep.binary_search(&(id as usize)).expect("kept") as u32)
                .collect();
            r
        })
        .collect();
    let r_clean = recall_at_k(&gt, 10, &results, &remaining, queries.vectors()).0;
    assert!(
        r_clean >= r_fresh - 0.03,
        "after deleting 10% and cleanup recall is {r_clean:.4}, a fresh build {r_fresh:.4} (seed {SEED})"
    );

    // Freed slots are reused by inserts, under new ids.
    index.insert(5000, base.row(3)).expect("insert");
    let r = index
        .search(base.row(3), &SearchParams::new(1).with_ef(32))
        .expect("search");
    assert_eq!(r.ids, vec![5000]);
    assert!(index.insert(5000, base.row(3)).is_err(), "duplicate id");
}

#[test]
fn inserts_after_build_reach_fresh_build_recall() {
    let all = dataset(3000, 16, Metric::Cosine, SEED);
    let first: Vec<usize> = (0..2400).collect();
    let part = all.subset("80%", &first);
    let mut index = serial(&part, params(12)).expect("build");
    for id in 2400..3000u32 {
        index.insert(id, all.row(id as usize)).expect("insert");
    }
    assert_eq!(index.len(), 3000);
    let queries =
        Dataset::from_vec("q", clustered(100, 16, SEED + 2), 16, Metric::Cosine).expect("q");
    let fresh = serial(&all, params(12)).expect("fresh");
    let (r_inc, r_fresh) = (
        recall(&index, &all, &queries, 10, 64),
        recall(&fresh, &all, &queries, 10, 64),
    );
    assert!(
        r_inc >= r_fresh - 0.03,
        "incremental {r_inc:.4} vs fresh {r_fresh:.4} (seed {SEED})"
    );
    assert!(index.insert(1, &[0.0; 3]).is_err(), "wrong dimension");
    assert!(index.insert(9999, &[f32::NAN; 16]).is_err(), "NaN");
}

#[test]
fn duplicates_neither_go_exhaustive_nor_strand_nodes() {
    // 10% of the vectors are copies of one vector; under each metric where a
    // copy is recognisable by its distance, built from f16 and from f32.
    for metric in [Metric::L2, Metric::Cosine] {
        for precision in BuildPrecision::ALL {
            duplicates_case(metric, precision);
        }
    }
}

fn duplicates_case(metric: Metric, precision: BuildPrecision) {
    let case = format!("{metric:?}, {precision:?} build, seed {SEED}");
    let (n, dim) = (3000, 16);
    let mut data = clustered(n, dim, SEED);
    let copy = data[..dim].to_vec();
    for i in (0..n).filter(|i| i % 10 == 0) {
        data[i * dim..(i + 1) * dim].copy_from_slice(&copy);
    }
    let base = Arc::new(Dataset::from_vec("dups", data, dim, metric).expect("dataset"));
    let mut p = params(12);
    p.storage.build = precision;
    let index = serial(&base, p).expect("build");
    assert!(
        index.unreachable_nodes().is_empty(),
        "{} unreachable nodes ({case})",
        index.unreachable_nodes().len()
    );
    let r = index
        .search(&copy, &SearchParams::new(10).with_ef(64))
        .expect("search");
    assert!(
        r.distances.iter().all(|&d| d.abs() <= 1e-6),
        "the copies are the nearest: {:?} ({case})",
        r.distances
    );
    assert!(
        r.stats.dist_comps < n as u64 / 2,
        "search went near-exhaustive: {} distances ({case})",
        r.stats.dist_comps
    );
    let queries = Dataset::from_vec("q", clustered(100, dim, SEED + 3), dim, metric).expect("q");
    let rec = recall(&index, &base, &queries, 10, 64);
    assert!(rec >= 0.9, "recall {rec:.4} with duplicates ({case})");
}

#[test]
fn half_precision_walk_returns_exact_distances_at_f32_walk_recall() {
    let base = dataset(4000, 48, Metric::Cosine, SEED);
    let queries =
        Dataset::from_vec("q", clustered(200, 48, SEED + 6), 48, Metric::Cosine).expect("q");
    let build = |precision| {
        let mut p = params(12);
        p.storage.search = precision;
        serial(&base, p).expect("build")
    };
    let (half, full) = (build(Precision::F16), build(Precision::F32));
    if half.params_struct().storage.search == Precision::F32 {
        return; // no hardware halves here: both walk f32 (checked above)
    }
    // Same build precision, same seed, one thread: the same graph.
    assert_eq!(half.node_links(7, 0), full.node_links(7, 0));
    assert!(half.memory().ram_bytes > full.memory().ram_bytes + 4000 * 48 * 2 - 1);
    for ef in [16, 64] {
        let (rh, rf) = (
            recall(&half, &base, &queries, 10, ef),
            recall(&full, &base, &queries, 10, ef),
        );
        assert!(
            (rh - rf).abs() <= 0.01,
            "ef {ef}: f16 walk recall {rh:.4} vs f32 walk {rf:.4} (seed {SEED})"
        );
    }
    // Distances are re-scored in f32: exactly the metric's distance.
    let flat =
        crate::index::FlatIndex::build(base.clone(), &WorkContext::detached()).expect("flat");
    for q in queries.vectors().rows().take(20) {
        let r = half
            .search(q, &SearchParams::new(10).with_ef(32))
            .expect("search");
        assert!(r.distances.windows(2).all(|w| w[0] <= w[1]));
        let mut unit = q.to_vec();
        crate::distance::normalize(&mut unit);
        for (&id, &d) in r.ids.iter().zip(&r.distances) {
            let exact =
                Metric::Cosine.prepared_distance(&unit, half.vector(half.slot(id).expect("live")));
            assert_eq!(d, exact, "id {id}");
        }
        // On the flat index's scale: never nearer than the true nearest.
        let f = flat.search(q, &SearchParams::new(1)).expect("flat");
        assert!(r.distances[0] >= f.distances[0] - 1e-6);
    }
}

#[test]
fn compact_builds_match_the_f32_build_recall() {
    let base = dataset(4000, 48, Metric::Cosine, SEED);
    let queries =
        Dataset::from_vec("q", clustered(200, 48, SEED + 5), 48, Metric::Cosine).expect("q");
    let build = |precision| {
        let mut p = params(12);
        p.storage = crate::index::Storage::precisions(precision, Precision::F32);
        serial(&base, p).expect("build")
    };
    let full = build(BuildPrecision::F32);
    assert_eq!(full.params_struct().storage.build, BuildPrecision::F32);
    let hardware = crate::index::f16::fast_kernels(Metric::Cosine).is_some();
    for precision in [BuildPrecision::F16, BuildPrecision::Sq8] {
        let compact = build(precision);
        let used = compact.params_struct().storage.build;
        // 8-bit copies are compared by integer kernels on every machine;
        // f16 needs AVX-512's conversions.
        if hardware || precision == BuildPrecision::Sq8 {
            assert_eq!(used, precision, "{precision:?}");
        } else {
            assert_eq!(used, BuildPrecision::F32, "without AVX-512 f32 is recorded");
        }
        for ef in [16, 64] {
            let (rc, rf) = (
                recall(&compact, &base, &queries, 10, ef),
                recall(&full, &base, &queries, 10, ef),
            );
            assert!(
                (rc - rf).abs() <= 0.02,
                "ef {ef}: {precision:?} build recall {rc:.4} vs f32 {rf:.4} (seed {SEED})"
            );
        }
    }
}

#[test]
fn save_and_load_round_trip_and_refuse_damage() {
    let base = dataset(1000, 16, Metric::Cosine, SEED);
    let mut index = serial(&base, params(8)).expect("build");
    index.delete(17).expect("delete");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("index.hnsw");
    index.save(&path).expect("save");
    let loaded = Hnsw::load(&path).expect("load");
    assert_eq!(loaded.len(), index.len());
    assert_eq!(loaded.params(), index.params());
    assert!(index.built_on().is_some());
    assert_eq!(
        loaded.built_on(),
        index.built_on(),
        "the base record survives"
    );
    for q in base.vectors().rows().take(50) {
        let p = SearchParams::new(5).with_ef(32);
        assert_eq!(
            loaded.search(q, &p).expect("a"),
            index.search(q, &p).expect("b")
        );
    }
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = Hnsw::load(&path).err().expect("truncated").to_string();
    assert!(
        err.contains("index.hnsw") && (err.contains("truncated") || err.contains("checksum")),
        "{err}"
    );
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 0x40;
    std::fs::write(&path, &flipped).expect("flip");
    let err = Hnsw::load(&path).err().expect("corrupt").to_string();
    assert!(err.contains("checksum"), "{err}");
    std::fs::write(&path, b"not an index").expect("junk");
    assert!(Hnsw::load(&path).is_err());

    // A crafted external id (valid checksum) cannot make the loader
    // allocate an id map of gigabytes.
    // Version 5 spells the quantizer as JSON: a length, then `"none"`.
    const QUANTIZER: usize = 8 + "\"none\"".len();
    const HEADER_V5: usize = 104 + QUANTIZER;
    let n = index.ext_ids.len();
    let mut huge = bytes[..bytes.len() - 8].to_vec();
    huge[HEADER_V5 + 2 * n..HEADER_V5 + 2 * n + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&huge);
    huge.extend_from_slice(&sum.to_le_bytes());
    std::fs::write(&path, &huge).expect("huge id");
    let err = Hnsw::load(&path).err().expect("huge id").to_string();
    assert!(
        err.contains("external id 4294967295 is out of range"),
        "{err}"
    );

    // A version-2 file (before the base and the quantizer were recorded)
    // loads without them.
    const PRECISION_AT: usize = 8 + 4 + 1 + 4 + 8 + 4 + 4 + 8;
    const BASE_RECORD: usize = 1 + 8 + 8;
    let mut v2 = bytes[..bytes.len() - 8].to_vec();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    v2.drain(PRECISION_AT + 2..PRECISION_AT + 2 + QUANTIZER + BASE_RECORD);
    let sum = xxhash_rust::xxh3::xxh3_64(&v2);
    v2.extend_from_slice(&sum.to_le_bytes());
    std::fs::write(&path, &v2).expect("v2");
    let v2 = Hnsw::load(&path).expect("a version-2 file loads");
    assert_eq!((v2.built_on(), v2.len()), (None, index.len()));
    let warning =
        crate::index::check_base(&v2, &path, &base).expect("no record: a warning, not a refusal");
    assert!(warning.is_some_and(|w| w.contains("does not record the base")));

    // A version-1 file (before the precisions were recorded) still loads,
    // as built from and walked in f32: drop the two bytes after the seed.
    let mut v1 = bytes[..bytes.len() - 8].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    v1.drain(PRECISION_AT..PRECISION_AT + 2 + QUANTIZER + BASE_RECORD);
    let sum = xxhash_rust::xxh3::xxh3_64(&v1);
    v1.extend_from_slice(&sum.to_le_bytes());
    std::fs::write(&path, &v1).expect("v1");
    let old = Hnsw::load(&path).expect("a version-1 file loads");
    assert_eq!(old.params_struct().storage.build, BuildPrecision::F32);
    assert_eq!(old.params_struct().storage.search, Precision::F32);
    assert_eq!(old.len(), index.len());
    let q = base.row(3);
    let p = SearchParams::new(5).with_ef(32);
    // The same results; the old file walks f32, so it counts no re-scoring.
    let (a, b) = (
        old.search(q, &p).expect("a"),
        index.search(q, &p).expect("b"),
    );
    assert_eq!((a.ids, a.distances), (b.ids, b.distances));
}

#[test]
fn cancelled_build_returns_promptly_with_cancelled() {
    let base = dataset(5000, 16, Metric::L2, SEED);
    let ctx = WorkContext::detached();
    ctx.cancel.cancel();
    let err = Hnsw::build(&base, params(8), &ctx)
        .err()
        .expect("cancelled");
    assert!(err.is_cancelled(), "{err}");
}

#[test]
fn dynamic_ef_is_used_for_minus_one() {
    let base = dataset(2000, 16, Metric::L2, SEED);
    let mut index = serial(&base, params(8)).expect("build");
    index
        .set_dynamic_ef(DynamicEf {
            min: 5,
            max: 5,
            factor: 1,
        })
        .expect("set");
    let q = base.row(0);
    let dynamic = index
        .search(q, &SearchParams::new(5).with_knob(SearchKnob::Default))
        .expect("dyn");
    let fixed = index
        .search(q, &SearchParams::new(5).with_ef(5))
        .expect("fixed");
    assert_eq!(dynamic, fixed);
    assert!(SearchKnob::from_ef_arg(-3, index.dynamic_ef()).is_err());
    assert!(index
        .set_dynamic_ef(DynamicEf {
            min: 10,
            max: 5,
            factor: 8
        })
        .is_err());
}

#[test]
fn bad_parameters_are_refused() {
    let base = dataset(100, 4, Metric::L2, SEED);
    let err = Hnsw::build(
        &base,
        HnswParams { m: 0, ..params(8) },
        &WorkContext::detached(),
    )
    .err()
    .expect("m=0");
    assert!(err.to_string().contains("m = 0"), "{err}");
}

#[test]
fn parallel_build_reaches_serial_recall() {
    let base = dataset(3000, 16, Metric::L2, SEED);
    let queries = Dataset::from_vec("q", clustered(300, 16, SEED + 4), 16, Metric::L2).expect("q");
    let par = with_threads(Some(2), || {
        Hnsw::build(&base, params(12), &WorkContext::detached())
    })
    .expect("pool")
    .expect("build");
    let ser = serial(&base, params(12)).expect("serial");
    let (rp, rs) = (
        recall(&par, &base, &queries, 10, 128),
        recall(&ser, &base, &queries, 10, 128),
    );
    assert!(
        rp >= rs - 0.05 && rp >= 0.9,
        "parallel build recall {rp:.4} vs serial {rs:.4} (seed {SEED})"
    );
    assert!(par.unreachable_nodes().is_empty());
}

#[test]
fn filtered_search_returns_only_allowed_ids_with_high_recall() {
    use crate::index::AllowList;
    let base = dataset(4000, 16, Metric::L2, SEED);
    let index = serial(&base, params(12)).expect("build");
    let queries = Dataset::from_vec("q", clustered(60, 16, SEED + 5), 16, Metric::L2).expect("q");
    // 1% is answered exactly; 10% by the two-hop graph search; 50% by traversal.
    for (fraction, ef, want) in [(0.01, 64, 1.0), (0.1, 128, 0.9), (0.5, 128, 0.9)] {
        let allow = Arc::new(AllowList::random_fraction(4000, fraction, SEED));
        let gt = GroundTruth::compute_filtered(
            &base,
            queries.vectors(),
            10,
            Some(&allow),
            &WorkContext::detached(),
        )
        .expect("gt");
        let params = SearchParams::new(10).with_ef(ef).with_filter(allow.clone());
        let results: Vec<Neighbors> = queries
            .vectors()
            .rows()
            .map(|q| index.search(q, &params).expect("search"))
            .collect();
        for r in &results {
            assert!(
                r.ids.iter().all(|&id| allow.contains(id)),
                "a disallowed id came back at {fraction}"
            );
            assert_eq!(r.ids.len(), 10);
        }
        let (rec, _) = recall_at_k(&gt, 10, &results, &base, queries.vectors());
        assert!(
            rec >= want,
            "filter {fraction}: recall {rec:.4} at ef {ef}, want >= {want} (seed {SEED})"
        );
        if fraction < 0.05 {
            assert!(
                results
                    .iter()
                    .all(|r| r.stats.dist_comps as usize <= allow.count()),
                "exact path scans only allowed ids"
            );
        }
    }
}

#[test]
fn a_quantizer_is_spelled_as_on_the_command_line_and_version_4_tags_still_load() {
    let base = dataset(600, 16, Metric::L2, SEED);
    let dir = tempfile::tempdir().expect("tmp");
    for quantizer in ["sq4", "rabitq:4", "pq:4", "opq:8", "bq"] {
        let mut p = params(8);
        p.storage.quantizer = quantizer.parse().expect("a quantizer");
        let index = serial(&base, p).expect("build");
        let v5 = dir.path().join("v5.hnsw");
        index.save(&v5).expect("save");
        let text = std::fs::read(&v5).expect("read");
        let spelled = format!("\"{quantizer}\"");
        assert!(
            text.windows(spelled.len()).any(|w| w == spelled.as_bytes()),
            "{quantizer}: the file spells it {spelled}"
        );
        let v4 = dir.path().join("v4.hnsw");
        let mut old = Vec::new();
        index.write_version(&mut old, 4).expect("write v4");
        std::fs::write(&v4, &old).expect("write");
        for path in [&v5, &v4] {
            let loaded = Hnsw::load(path).expect("load");
            assert_eq!(loaded.params(), index.params(), "{quantizer}");
            let q = base.row(5);
            let sp = SearchParams::new(5).with_ef(32);
            assert_eq!(
                loaded.search(q, &sp).expect("a").ids,
                index.search(q, &sp).expect("b").ids,
                "{quantizer}"
            );
        }
    }
}
