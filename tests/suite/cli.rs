//! The CLI contract: flag names and JSON fields other tools read.

use annscope::dataset::read_ivecs;

use crate::common::*;

#[test]
fn info_json_has_the_contract_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(&["info", SAMPLE_BASE, "--json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["n"], 4000);
    assert_eq!(v["dim"], 384);
    assert_eq!(v["dtype"], "f32");
    assert_eq!(v["format"], "fvecs");
    assert_eq!(v["mmapped"], true);
}

#[test]
fn groundtruth_matches_the_numpy_oracle() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("gt.ivecs");
    let o = annscope(
        &[
            "groundtruth",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--k",
            "100",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = read_ivecs(&out).expect("ours");
    let oracle = read_ivecs(&project(SAMPLE_GT)).expect("oracle");
    assert_eq!((ours.n, ours.k), (200, 100));
    let mut exact_rows = 0;
    for i in 0..ours.n {
        let (a, b) = (ours.row(i), oracle.row(i));
        assert_eq!(a[0], b[0], "query {i}: nearest neighbour differs");
        let shared = a.iter().filter(|id| b.contains(id)).count();
        // Only float ties at the cut-off may differ between float32 and float64.
        assert!(
            shared >= 98,
            "query {i}: only {shared} of 100 neighbours agree"
        );
        exact_rows += usize::from(a == b);
    }
    assert!(
        exact_rows >= 190,
        "only {exact_rows} of 200 rows agree exactly"
    );
}

#[test]
fn bench_json_has_the_contract_fields_and_caches_ground_truth() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = [
        "bench",
        "--base",
        SAMPLE_BASE,
        "--queries",
        SAMPLE_QUERIES,
        "--metric",
        "cosine",
        "--k",
        "10",
        "--index",
        "flat",
        "--format",
        "json",
    ];
    let o = annscope(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one operating point for flat");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    for key in [
        "index",
        "params",
        "k",
        "queries",
        "recall",
        "qps",
        "p50_us",
        "p95_us",
        "p99_us",
        "build_s",
        "index_bytes",
        "disk_bytes",
        "dist_comps",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["index"], "flat");
    assert_eq!(v["k"], 10);
    assert_eq!(v["queries"], 200);
    assert_eq!(v["recall"], 1.0);
    assert_eq!(v["dist_comps"], 4000.0);
    assert_eq!(v["disk_bytes"], 0);
    assert!(v["qps"].as_f64().expect("qps") > 0.0);
    assert!(v["p50_us"].as_f64() <= v["p99_us"].as_f64());
    assert!(v["index_bytes"].as_u64().expect("bytes") >= 4000 * 384 * 4);

    // The ground truth was cached: a file appeared in the cache folder, and
    // the second run reports it as cached.
    assert!(std::fs::read_dir(dir.path()).expect("ls").count() >= 1);
    let mut table = args.to_vec();
    *table.last_mut().expect("last") = "table";
    let o = annscope(&table, dir.path());
    assert!(stdout(&o).contains("ground truth cached"), "{}", stdout(&o));
}

#[test]
fn batch_mode_and_given_ground_truth_agree() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--k",
            "100",
            "--batch",
            "--threads",
            "2",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["recall"], 1.0);
    assert_eq!(v["mode"], "batch");
    assert_eq!(v["threads"], 2);
    // No cache entry: the ground truth came from the file.
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--k",
            "1",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--metric is required"),
        "{}",
        stderr(&o)
    );
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--k",
            "0",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--k must be at least 1"),
        "{}",
        stderr(&o)
    );
}
