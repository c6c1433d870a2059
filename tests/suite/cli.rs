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
    for key in annscope::eval::OperatingPoint::CONTRACT_FIELDS {
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

#[test]
fn hnsw_bench_sweeps_ef_including_dynamic() {
    let dir = tempfile::tempdir().expect("tmp");
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
            "10",
            "--index",
            "hnsw",
            "--m",
            "8",
            "--ef-construction",
            "64",
            "--ef",
            "10,64,-1",
            "--build-threads",
            "2",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let points: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(points.len(), 3);
    assert_eq!(points[0]["index"], "hnsw");
    assert_eq!(points[0]["params"]["m"], 8);
    assert_eq!(points[0]["params"]["ef_construction"], 64);
    assert_eq!(points[1]["params"]["ef"], 64);
    assert_eq!(points[2]["params"]["ef"], -1);
    assert_eq!(points[2]["params"]["ef_effective"], 100);
    let recalls: Vec<f64> = points
        .iter()
        .map(|p| p["recall"].as_f64().expect("recall"))
        .collect();
    assert!(recalls[1] >= 0.9, "recall at ef=64: {}", recalls[1]);
    assert!(
        recalls[0] <= recalls[1] + 1e-9,
        "recall grows with ef: {recalls:?}"
    );
    let comps: Vec<f64> = points
        .iter()
        .map(|p| p["dist_comps"].as_f64().expect("comps"))
        .collect();
    assert!(comps[0] < comps[1] && comps[1] < 4000.0, "{comps:?}");
}

#[test]
fn build_then_search_prints_one_line_per_query() {
    let dir = tempfile::tempdir().expect("tmp");
    let index = dir.path().join("sample.hnsw");
    let index_s = index.to_str().expect("utf-8");
    let o = annscope(
        &[
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--index",
            "hnsw",
            "--out",
            index_s,
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(summary["n"], 4000);
    assert_eq!(summary["unreachable"], 0);
    let o = annscope(
        &[
            "search",
            "--index-file",
            index_s,
            "--queries",
            SAMPLE_QUERIES,
            "--k",
            "10",
            "--ef",
            "64",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 200);
    assert!(
        lines[0].starts_with("{\"query\":0,\"ids\":["),
        "{}",
        lines[0]
    );
    let oracle = read_ivecs(&project(SAMPLE_GT)).expect("oracle");
    let mut hits = 0;
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(v["query"], i);
        let ids: Vec<u32> = v["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|x| x.as_u64().expect("id") as u32)
            .collect();
        assert_eq!(ids.len(), 10);
        assert_eq!(v["distances"].as_array().expect("d").len(), 10);
        hits += ids
            .iter()
            .filter(|id| oracle.row(i)[..10].contains(id))
            .count();
    }
    assert!(
        hits as f64 / 2000.0 >= 0.95,
        "recall@10 from the saved index: {}",
        hits as f64 / 2000.0
    );

    // A damaged index file is refused with its name.
    let bytes = std::fs::read(&index).expect("read");
    std::fs::write(&index, &bytes[..bytes.len() - 100]).expect("truncate");
    let o = annscope(
        &[
            "search",
            "--index-file",
            index_s,
            "--queries",
            SAMPLE_QUERIES,
        ],
        dir.path(),
    );
    assert_fails_naming(&o, &index, "corrupted");
}

#[test]
fn filtered_bench_reports_the_filter() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--index",
            "flat",
            "--filter",
            "0.1",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["recall"], 1.0);
    let allowed = v["params"]["filter_allowed"].as_u64().expect("allowed");
    assert!((300..500).contains(&allowed), "{allowed}");
    assert_eq!(
        v["dist_comps"].as_f64(),
        Some(allowed as f64),
        "flat scans only allowed ids"
    );
}

#[test]
fn dynamic_bench_reports_the_switch_and_crossover_recommends_a_threshold() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--index",
            "dynamic",
            "--threshold",
            "1500",
            "--m",
            "8",
            "--ef-construction",
            "64",
            "--ef",
            "64",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["index"], "dynamic");
    assert_eq!(v["params"]["threshold"], 1500);
    assert_eq!(v["params"]["switched_at"], 1501);
    assert!(v["recall"].as_f64().expect("recall") >= 0.9);
    assert!(
        v["dist_comps"].as_f64().expect("comps") < 4000.0,
        "searched through HNSW, not flat"
    );

    let o = annscope(
        &[
            "crossover",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--sizes",
            "100,1000",
            "--m",
            "8",
            "--ef-construction",
            "64",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 3, "two sizes and a summary");
    assert_eq!(lines[0]["n"], 100);
    assert_eq!(lines[1]["n"], 1000);
    assert!(lines[1]["flat_us"].as_f64().expect("flat") > 0.0);
    assert!(lines[2]["recommendation"].as_str().expect("text").len() > 10);
    assert_eq!(lines[2]["recall_target"], 0.95);

    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--index",
            "dynamic",
            "--threshold",
            "0",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("threshold = 0"), "{}", stderr(&o));
}

#[test]
fn an_hfresh_index_is_built_saved_searched_and_benched_from_its_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let index = dir.path().join("sample.hfresh");
    let index_s = index.to_str().expect("utf-8");
    let o = annscope(
        &[
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--index",
            "hfresh",
            "--out",
            index_s,
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(
        (summary["index"].as_str(), summary["n"].as_u64()),
        (Some("hfresh"), Some(4000))
    );
    // A new process searches the file.
    let o = annscope(
        &[
            "search",
            "--index-file",
            index_s,
            "--queries",
            SAMPLE_QUERIES,
            "--k",
            "10",
            "--search-probe",
            "16",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let oracle = read_ivecs(&project(SAMPLE_GT)).expect("oracle");
    let mut hits = 0;
    for (i, line) in stdout(&o).lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        for id in v["ids"].as_array().expect("ids") {
            hits += usize::from(oracle.row(i)[..10].contains(&(id.as_u64().expect("id") as u32)));
        }
    }
    assert!(
        hits as f64 / 2000.0 >= 0.9,
        "recall@10 from the saved HFresh: {}",
        hits as f64 / 2000.0
    );
    // The knob of another kind is refused, naming the file.
    let o = annscope(
        &[
            "search",
            "--index-file",
            index_s,
            "--queries",
            SAMPLE_QUERIES,
            "--ef",
            "64",
        ],
        dir.path(),
    );
    assert_fails_naming(&o, &index, "takes --search-probe");
    // bench measures the file, sweeping search_probe.
    let o = annscope(
        &[
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--index-file",
            index_s,
            "--search-probe",
            "4,16",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let points: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(points.len(), 2);
    assert_eq!(points[1]["index"], "hfresh");
    assert_eq!(points[1]["params"]["search_probe"], 16);
    assert!(points[1]["recall"].as_f64().expect("recall") >= 0.9);

    // Saved, loaded in another process and searched: the same results as the
    // index had before it was saved (a single-threaded build is
    // reproducible, so a bench that builds it shows what it answered).
    let single = ["--build-threads", "1", "--search-probe", "4,16"];
    let measure = |source: &[&str]| {
        let mut args = vec![
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
        ];
        args.extend_from_slice(source);
        args.extend_from_slice(&single);
        let o = annscope(&args, dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| {
                let p: serde_json::Value = serde_json::from_str(l).expect("json");
                (
                    p["recall"].as_f64().expect("recall"),
                    p["dist_comps"].as_f64().expect("comps"),
                )
            })
            .collect::<Vec<_>>()
    };
    let o = annscope(
        &[
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--index",
            "hfresh",
            "--build-threads",
            "1",
            "--out",
            index_s,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        measure(&["--index-file", index_s]),
        measure(&["--index", "hfresh"])
    );
}

#[test]
fn a_dynamic_index_is_saved_switched_and_searched_with_ef() {
    let dir = tempfile::tempdir().expect("tmp");
    let index = dir.path().join("sample.dyn");
    let index_s = index.to_str().expect("utf-8");
    let o = annscope(
        &[
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--index",
            "dynamic",
            "--threshold",
            "1000",
            "--m",
            "8",
            "--ef-construction",
            "64",
            "--out",
            index_s,
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(summary["state"]["switched"]["at"], 1001, "{summary}");
    let o = annscope(
        &[
            "search",
            "--index-file",
            index_s,
            "--queries",
            SAMPLE_QUERIES,
            "--k",
            "10",
            "--ef",
            "64",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 200);
}

/// Without the `qdrant` feature, asking for Qdrant says how to get it
/// (after checking the flags, so a typo is still named first).
#[cfg(not(feature = "qdrant"))]
#[test]
fn qdrant_without_the_feature_says_how_to_build_it() {
    let cache = tempfile::tempdir().expect("tmp");
    let args = [
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
    let o = annscope(&args, cache.path());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--features qdrant"), "{}", stderr(&o));
    let mut bad = args.to_vec();
    bad.extend(["--ef", "0"]);
    let o = annscope(&bad, cache.path());
    assert!(stderr(&o).contains("hnsw_ef"), "{}", stderr(&o));
}

/// `bench` on the sample with extra flags: its JSON lines.
fn bench_lines(extra: &[&str], cache: &std::path::Path) -> Vec<serde_json::Value> {
    let mut args = vec![
        "bench",
        "--base",
        SAMPLE_BASE,
        "--queries",
        SAMPLE_QUERIES,
        "--groundtruth",
        SAMPLE_GT,
        "--metric",
        "cosine",
        "--index",
        "hnsw",
        "--ef-construction",
        "100",
    ];
    args.extend_from_slice(extra);
    let o = annscope(&args, cache);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn bench_walks_quantized_codes_with_vectors_on_disk_and_says_what_is_resident() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = bench_lines(&["--ef", "32"], dir.path());
    let lines = bench_lines(
        &[
            "--ef",
            "32",
            "--quantizer",
            "sq4",
            "--vectors",
            "disk",
            "--oversample",
            "1,2",
        ],
        dir.path(),
    );
    assert_eq!(lines.len(), 2, "one point per oversample");
    for (v, oversample) in lines.iter().zip([1.0, 2.0]) {
        let p = &v["params"];
        assert_eq!(p["quantizer"], "sq4");
        assert_eq!(p["vectors"], "disk");
        assert_eq!(p["oversample"], oversample);
        assert_eq!(p["rescore"], true);
        assert_eq!(v["rescored"], 10.0 * oversample);
        assert!(v["rss_bytes"].as_u64().expect("rss") > 0);
        assert!(v["mapped_resident_bytes"].as_u64().is_some());
        assert_eq!(v["disk_bytes"], 4000 * (384 * 4 + 4));
        // The f32 vectors and their f16 copy are no longer held.
        assert!(
            v["index_bytes"].as_u64().expect("bytes") * 3
                < plain[0]["index_bytes"].as_u64().expect("bytes"),
            "{} vs {}",
            v["index_bytes"],
            plain[0]["index_bytes"]
        );
    }
    assert!(lines[1]["recall"].as_f64() >= lines[0]["recall"].as_f64());
    assert!(
        lines[0].get("vector_cache_hits").is_none(),
        "no cache asked"
    );
    // Weaviate's vector cache: its counters per point.
    let cached = bench_lines(
        &[
            "--ef",
            "32",
            "--quantizer",
            "sq4",
            "--vectors",
            "disk",
            "--oversample",
            "2",
            "--vector-cache",
            "50",
        ],
        dir.path(),
    );
    let c = &cached[0];
    assert_eq!(c["params"]["vector_cache"], 50);
    let (hits, misses) = (
        c["vector_cache_hits"].as_u64(),
        c["vector_cache_misses"].as_u64(),
    );
    assert_eq!(hits.expect("hits") + misses.expect("misses"), 200 * 20);
    assert!(c["vector_cache_drops"].as_u64().expect("drops") > 0);
    assert!(plain[0]["params"].get("quantizer").is_none());
    assert_eq!(plain[0]["params"]["vectors"], "ram");
}

#[test]
fn bad_quantizer_oversample_and_vectors_flags_say_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = [
        "bench",
        "--base",
        SAMPLE_BASE,
        "--queries",
        SAMPLE_QUERIES,
        "--metric",
        "cosine",
    ];
    for (extra, says) in [
        (&["--quantizer", "rabitq:3"][..], "1, 4 or 8"),
        (
            &["--quantizer", "pq:7"][..],
            "must divide the dimension 384",
        ),
        (
            &[
                "--index",
                "hnsw",
                "--quantizer",
                "sq8",
                "--oversample",
                "0.5",
            ][..],
            "at least 1",
        ),
        (
            &["--index", "hnsw", "--vectors", "disk"][..],
            "needs a quantizer",
        ),
        (
            &[
                "--index",
                "hfresh",
                "--quantizer",
                "sq8",
                "--vectors",
                "disk",
            ][..],
            "HFresh keeps its f32 vectors in RAM",
        ),
        (
            &["--index", "hfresh", "--oversample", "2"][..],
            "need codes",
        ),
        (
            &["--index", "flat", "--quantizer", "sq8", "--vectors", "disk"][..],
            "flat index takes --quantizer",
        ),
        (&["--index", "hnsw", "--oversample", "2"][..], "need codes"),
        (
            &["--index", "hnsw", "--quantizer", "sq8", "--cold"][..],
            "--vectors disk",
        ),
        (
            &[
                "--index",
                "hnsw",
                "--quantizer",
                "sq8",
                "--vector-cache",
                "10",
            ][..],
            "needs --vectors disk",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let o = annscope(&args, dir.path());
        assert!(!o.status.success(), "{extra:?} should fail");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
}

#[test]
fn a_quantized_index_file_saves_and_searches_and_build_refuses_what_a_file_cannot_hold() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("q.hnsw");
    let out_s = out.to_str().expect("utf-8");
    let build = |extra: &[&str]| {
        let mut args = vec![
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--out",
            out_s,
            "--ef-construction",
            "64",
        ];
        args.extend_from_slice(extra);
        annscope(&args, dir.path())
    };
    let o = build(&["--quantizer", "rabitq:4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = annscope(
        &[
            "search",
            "--index-file",
            out_s,
            "--queries",
            SAMPLE_QUERIES,
            "--k",
            "5",
            "--ef",
            "32",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().expect("a line")).expect("json");
    assert_eq!(first["ids"].as_array().expect("ids").len(), 5);
    // bench on the file sweeps the oversampling of the codes it holds.
    let lines = bench_lines(
        &["--index-file", out_s, "--ef", "32", "--oversample", "1,4"],
        dir.path(),
    );
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["params"]["quantizer"], "rabitq:4");
    for (extra, says) in [
        (
            &["--vectors", "disk", "--quantizer", "sq8"][..],
            "holds its vectors",
        ),
        (
            &["--index", "flat", "--quantizer", "sq8"][..],
            "does not take it",
        ),
        (
            &[
                "--index",
                "hfresh",
                "--quantizer",
                "sq8",
                "--vector-cache",
                "10",
            ][..],
            "--vector-cache",
        ),
    ] {
        let o = build(extra);
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
    // HFresh's lists of codes: built, saved, and swept by oversample from
    // the file; more candidates re-scored never lose recall.
    let o = build(&["--index", "hfresh", "--quantizer", "pq:48"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = bench_lines(
        &[
            "--index-file",
            out_s,
            "--search-probe",
            "8",
            "--oversample",
            "1,4",
            "--rescore",
            "false,true",
        ],
        dir.path(),
    );
    // Without re-scoring the oversample changes nothing: one point.
    assert_eq!(lines.len(), 3);
    let at = |os: f64, rescore: bool| {
        lines
            .iter()
            .find(|l| l["params"]["oversample"] == os && l["params"]["rescore"] == rescore)
            .map(|l| l["recall"].as_f64().expect("recall"))
            .expect("point")
    };
    assert_eq!(lines[0]["params"]["quantizer"], "pq:48");
    assert!(at(4.0, true) > at(1.0, false), "{lines:?}");
    let os4 = lines
        .iter()
        .find(|l| l["params"]["oversample"] == 4.0)
        .expect("os 4");
    assert_eq!(os4["rescored"], 40.0, "4 × k re-scored per query");
    // bench builds HFresh over codes itself; vectors on disk are HNSW's.
    let hfresh = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--index",
            "hfresh",
            "--search-probe",
            "16",
        ];
        args.extend_from_slice(extra);
        annscope(&args, dir.path())
    };
    let o = hfresh(&["--quantizer", "sq4", "--oversample", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().expect("a line")).expect("json");
    assert_eq!(line["params"]["quantizer"], "sq4");
    assert_eq!(line["rescored"], 20.0);
    let o = hfresh(&["--quantizer", "sq4", "--vectors", "disk"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("HFresh keeps its f32 vectors in RAM"),
        "{}",
        stderr(&o)
    );
}
