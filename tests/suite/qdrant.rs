//! Qdrant's engine in this process (feature `qdrant`; CI runs these in a
//! step of their own): its HNSW really is a graph (never a brute-force
//! scan reported as HNSW), its quantization and rescoring do what Qdrant
//! says, and `bench --engine qdrant-edge` writes the same JSON lines as
//! pgvector's.

use std::sync::Arc;

use annscope::dataset::{self, Dataset};
use annscope::distance::Metric;
use annscope::engine::{qdrant, EngineIndexSpec, QdrantQuantization};
use annscope::eval::GroundTruth;
use annscope::index::{AnnIndex, Rescoring, SearchParams};
use annscope::progress::WorkContext;
use serde_json::Value;

use crate::common::*;

fn sample() -> (Arc<Dataset>, Dataset, GroundTruth) {
    let ctx = WorkContext::detached();
    let base = Arc::new(
        dataset::open(std::path::Path::new(SAMPLE_BASE), Metric::Cosine, &ctx)
            .expect("sample base"),
    );
    let queries = dataset::open(std::path::Path::new(SAMPLE_QUERIES), Metric::Cosine, &ctx)
        .expect("sample queries");
    let gt = GroundTruth::compute(&base, queries.vectors(), 10, &ctx).expect("ground truth");
    (base, queries, gt)
}

fn recall(index: &dyn AnnIndex, queries: &Dataset, gt: &GroundTruth, params: &SearchParams) -> f64 {
    let mut found = 0usize;
    for i in 0..queries.len() {
        let r = index.search(queries.row(i), params).expect("search");
        let truth = gt.ids(i);
        found += r.ids.iter().filter(|id| truth.contains(id)).count();
    }
    found as f64 / (queries.len() * params.k) as f64
}

fn hnsw(quantization: QdrantQuantization) -> EngineIndexSpec {
    EngineIndexSpec::QdrantHnsw {
        m: 8,
        ef_construct: 64,
        quantization,
    }
}

#[test]
fn qdrants_hnsw_is_a_graph_and_its_exact_mode_is_exact() {
    let (base, queries, gt) = sample();
    let index = qdrant::build_index(
        &base,
        hnsw(QdrantQuantization::None),
        &WorkContext::detached(),
    )
    .expect("build");
    assert_eq!(index.len(), base.len());
    assert!(
        index.index_bytes > (base.len() * base.dim() * 4) as u64,
        "vectors and graph"
    );
    assert!(index.params()["graph_bytes"].as_u64().expect("graph") > 0);
    // hnsw_ef 10 walks a graph: it misses some neighbours a scan finds.
    // (Qdrant searches a segment under full_scan_threshold by brute force;
    // were that the case, recall would be 1.0 at every hnsw_ef.)
    let low = recall(&index, &queries, &gt, &SearchParams::new(10).with_ef(10));
    let high = recall(&index, &queries, &gt, &SearchParams::new(10).with_ef(200));
    assert!(low < 0.99, "hnsw_ef 10 found {low}: a brute-force scan?");
    assert!(
        high > low && high >= 0.97,
        "hnsw_ef 200: {high} (10: {low})"
    );
    // Qdrant's exact mode agrees with annscope's ground truth.
    let backend = index.backend();
    let mut same = 0;
    for i in 0..queries.len() {
        let r = backend.exact(queries.row(i), 10, None).expect("exact");
        same += r.ids.iter().filter(|id| gt.ids(i).contains(id)).count();
    }
    let exact = same as f64 / (queries.len() * 10) as f64;
    assert!(
        exact >= 0.998,
        "Qdrant exact vs annscope ground truth: {exact}"
    );
}

#[test]
fn binary_codes_lose_recall_that_oversampling_and_rescoring_win_back() {
    let (base, queries, gt) = sample();
    let index = qdrant::build_index(
        &base,
        hnsw(QdrantQuantization::Binary),
        &WorkContext::detached(),
    )
    .expect("build");
    assert_eq!(index.params()["quantization"], "binary");
    assert!(index.params()["quantized_bytes"].as_u64().expect("codes") > 0);
    let at = |oversample, rescore| {
        let p = SearchParams::new(10)
            .with_ef(100)
            .with_rescoring(Rescoring {
                oversample,
                rescore,
            });
        recall(&index, &queries, &gt, &p)
    };
    let codes_only = at(1.0, false);
    let rescored = at(4.0, true);
    assert!(
        codes_only < 0.9,
        "one bit per value ranks by Hamming distance: {codes_only}"
    );
    assert!(
        rescored > codes_only + 0.1,
        "oversampling 4 with rescore: {rescored} vs {codes_only}"
    );
}

fn points(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn bench_engine_qdrant_writes_the_engines_settings_in_the_common_json() {
    let cache = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--engine",
            "qdrant-edge",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--m",
            "8",
            "--ef-construction",
            "64",
            "--quantization",
            "none,scalar",
            "--oversample",
            "1,2",
            "--ef",
            "10,100",
        ],
        cache.path(),
    );
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let pts = points(&stdout(&o));
    // none: one point per ef; scalar: one per ef and oversampling.
    assert_eq!(pts.len(), 2 + 4, "{}", stdout(&o));
    for p in &pts {
        assert_eq!(p["index"], "qdrant-hnsw");
        assert_eq!(p["params"]["m"], 8);
        assert_eq!(p["params"]["ef_construct"], 64);
        assert!(p["params"]["hnsw_ef"].as_u64().is_some(), "{p}");
        assert!(p["params"].get("ef_effective").is_none(), "{p}");
        assert!(p["build_s"].as_f64().expect("build_s") > 0.0);
        assert_eq!(p["queries"], 200);
    }
    assert_eq!(pts[0]["params"]["quantization"], "none");
    assert!(pts[0]["params"].get("oversampling").is_none());
    let scalar: Vec<&Value> = pts
        .iter()
        .filter(|p| p["params"]["quantization"] == "scalar")
        .collect();
    assert_eq!(scalar.len(), 4);
    assert_eq!(scalar[1]["params"]["oversampling"], 2.0);
    assert_eq!(scalar[1]["params"]["rescore"], true);
    assert!(pts[1]["recall"].as_f64().expect("recall") >= 0.97);
    // Flags of the other engine, and values out of Qdrant's range.
    for (args, says) in [
        (vec!["--halfvec"], "need --engine pgvector"),
        (vec!["--ef", "0"], "hnsw_ef"),
        (vec!["--oversample", "0.5"], "at least 1"),
        (vec!["--ef-construction", "2"], "ef_construct"),
        (vec!["--filter", "0.5"], "not measured on Qdrant"),
    ] {
        let mut all = vec![
            "bench",
            "--engine",
            "qdrant-edge",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
        ];
        all.extend(args.iter());
        let o = annscope(&all, cache.path());
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}

/// `tune --engine qdrant-edge`: the pick's M and efConstruction built once
/// by Qdrant's engine, its own least hnsw_ef found there, the held-out
/// recall reported, and `--export qdrant` carrying Qdrant's ef.
#[test]
fn tune_checks_the_pick_on_qdrant_and_exports_its_own_ef() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("pick.json");
    let o = annscope(
        &[
            "tune",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--recall",
            "0.9",
            "--index",
            "hnsw",
            "--m",
            "8",
            "--ef-construction",
            "64",
            "--max-runs",
            "3",
            "--engine",
            "qdrant-edge",
            "--export",
            "qdrant",
            "--export-out",
            out.to_str().expect("utf-8 path"),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let summary: Value = serde_json::from_str(text.lines().last().expect("summary")).expect("json");
    let e = &summary["engine"];
    assert_eq!(e["engine"], "Qdrant edge", "{e}");
    assert_eq!(e["met"], true, "{e}");
    assert_eq!(e["params"]["m"], 8);
    assert_eq!(e["params"]["ef_construct"], 64);
    let ef = e["ef"].as_u64().expect("ef");
    assert_eq!(e["params"]["hnsw_ef"].as_u64(), Some(ef));
    let engine_pts: Vec<Value> = points(&text)
        .into_iter()
        .filter(|p| p["phase"] == "engine")
        .collect();
    assert!(engine_pts.len() >= 3, "{text}");
    assert!(engine_pts.iter().all(|p| p["index"] == "qdrant-hnsw"));
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("export")).expect("json");
    assert_eq!(exported["search"]["params"]["hnsw_ef"].as_u64(), Some(ef));
}
