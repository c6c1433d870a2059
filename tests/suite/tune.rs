//! `annscope tune`: its JSON lines, its summary, a pick that `bench` takes
//! back as flags and reproduces, exit code 2 when nothing meets the target.

use crate::common::*;

fn tune(extra: &[&str], cache: &std::path::Path) -> (std::process::Output, Vec<serde_json::Value>) {
    let mut args = vec![
        "tune",
        "--base",
        SAMPLE_BASE,
        "--queries",
        SAMPLE_QUERIES,
        "--groundtruth",
        SAMPLE_GT,
        "--metric",
        "cosine",
        "--max-runs",
        "3",
    ];
    args.extend_from_slice(extra);
    let o = annscope(&args, cache);
    let lines = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (o, lines)
}

#[test]
fn tune_prints_bench_lines_then_a_pick_that_bench_reproduces() {
    let dir = tempfile::tempdir().expect("tmp");
    let (o, lines) = tune(
        &[
            "--recall",
            "0.9",
            "--index",
            "hnsw",
            "--m",
            "8,16",
            "--ef-construction",
            "64",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (summary, points) = lines.split_last().expect("lines");
    for p in points {
        for field in annscope::eval::OperatingPoint::CONTRACT_FIELDS {
            assert!(p.get(field).is_some(), "{field} missing in {p}");
        }
        assert!(
            ["full", "heldout"].contains(&p["phase"].as_str().unwrap()),
            "{p}"
        );
        assert_eq!(p["built_on"], 4000);
    }
    // Finalists are timed repeatedly: a spread and a run count.
    assert!(points
        .iter()
        .any(|p| p["runs"] == 3 && p["qps_spread"].is_array()));
    let pick = &summary["pick"];
    assert_eq!(pick["met"], true, "{summary}");
    assert_eq!(summary["builds"], 2);
    assert_eq!(summary["tuning_queries"], 100);
    assert_eq!(summary["heldout_queries"], 100);
    // The screening weighed hops against distance computations from its
    // own timed probes, or says why it could not: timings on a busy
    // machine may not fit, and then the ranking counts computations only
    // and the notes say so (never a weight fitted on noise).
    let cost = &summary["cost_model"];
    let passes = cost["passes"].as_u64().expect("passes");
    assert!(passes >= 8, "{summary}");
    match cost["unfitted"].as_str() {
        None => {
            assert_eq!(cost["fitted_on"].as_u64(), Some(passes), "{summary}");
            assert!((0.0..=50.0).contains(&cost["hop_weight"].as_f64().unwrap()));
        }
        Some(why) => {
            assert_eq!(why, "noisy_timings", "{summary}");
            assert_eq!(cost["hop_weight"], 0.0);
            let notes = summary["notes"].to_string();
            assert!(
                notes.contains("did not grow with distance computations"),
                "{notes}"
            );
        }
    }
    let held = pick["heldout_recall"].as_f64().unwrap();
    let [lo, hi] = [0, 1].map(|i| pick["heldout_interval"][i].as_f64().unwrap());
    assert!(lo <= held && held <= hi && hi - lo < 0.2, "{pick}");
    assert!(pick["reason"].as_str().unwrap().contains("recall@10"));

    // The params are bench flags: bench builds the same index and finds
    // the same recall on all the queries (the held-out and tuning halves
    // together), within what a parallel build may change.
    let mut args = vec![
        "bench".to_string(),
        "--base".into(),
        SAMPLE_BASE.into(),
        "--queries".into(),
        SAMPLE_QUERIES.into(),
        "--groundtruth".into(),
        SAMPLE_GT.into(),
        "--metric".into(),
        "cosine".into(),
        "--index".into(),
        pick["index"].as_str().unwrap().into(),
    ];
    for (k, v) in pick["params"].as_object().unwrap() {
        args.push(format!("--{}", k.replace('_', "-")));
        args.push(v.to_string().trim_matches('"').to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let b = annscope(&args, dir.path());
    assert!(b.status.success(), "{args:?}: {}", stderr(&b));
    let point: serde_json::Value = serde_json::from_str(stdout(&b).trim()).expect("one line");
    let both = (pick["tuning_recall"].as_f64().unwrap() + held) / 2.0;
    let recall = point["recall"].as_f64().unwrap();
    assert!(
        (recall - both).abs() < 0.03,
        "bench {recall} vs tune {both}"
    );
}

#[test]
fn an_unreachable_target_exits_with_2_and_the_closest_pick() {
    let dir = tempfile::tempdir().expect("tmp");
    let (o, lines) = tune(
        &[
            "--recall",
            "1.0",
            "--index",
            "hnsw",
            "--m",
            "4",
            "--ef-construction",
            "16",
            "--ef-max",
            "10",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let summary = lines.last().expect("summary");
    assert_eq!(summary["pick"]["met"], false);
    assert_eq!(summary["pick"]["params"]["ef"], 10);
    assert!(stderr(&o).contains("no configuration measured meets the target"));
}

#[test]
fn tune_refuses_targets_it_cannot_judge() {
    let dir = tempfile::tempdir().expect("tmp");
    for (extra, problem) in [
        (vec!["--recall", "1.5"], "recall target 1.5"),
        (
            vec!["--recall", "0.9", "--max-ram", "5 parsecs"],
            "unknown unit",
        ),
        (vec!["--recall", "0.9", "--confidence", "1"], "confidence 1"),
        (vec!["--recall", "0.9", "--m", "1"], "m = 1 is out of range"),
        (
            vec!["--recall", "0.9", "--budget-s", "0"],
            "budget 0 s must be above 0",
        ),
        (
            vec![
                "--recall",
                "0.9",
                "--engine",
                "pgvector",
                "--engine-url",
                "postgresql://x@127.0.0.1:1/db",
            ],
            // Tried before any tuning.
            "cannot connect to postgresql://x@127.0.0.1:1/db",
        ),
        (
            vec![
                "--recall",
                "0.9",
                "--engine",
                "qdrant-edge",
                "--engine-url",
                "http://127.0.0.1:6333",
            ],
            "takes no URL",
        ),
    ] {
        let (o, _) = tune(&extra, dir.path());
        assert!(!o.status.success());
        assert!(stderr(&o).contains(problem), "{extra:?}: {}", stderr(&o));
    }
    // Too few queries to split.
    let few = dir.path().join("few.fvecs");
    write_fvecs(&few, &rows(10, 384));
    let o = annscope(
        &[
            "tune",
            "--base",
            SAMPLE_BASE,
            "--queries",
            few.to_str().unwrap(),
            "--metric",
            "cosine",
            "--recall",
            "0.9",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 20 queries"), "{}", stderr(&o));
}

/// Whether python3 can import `modules`; without them the snippet tests
/// say so and pass, unless `ANNSCOPE_REQUIRE_PYTHON=1` (CI installs them).
fn python_with(modules: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("ANNSCOPE_REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
            panic!("ANNSCOPE_REQUIRE_PYTHON=1 but python3 cannot import {modules} (pip install hnswlib faiss-cpu numpy)");
        }
        eprintln!("skipped: python3 cannot import {modules} (pip install hnswlib faiss-cpu numpy)");
    }
    ok
}

/// The exported hnswlib and FAISS scripts run as they are and end within
/// 0.02 of the recall annscope measured for the pick: their graphs are
/// their own (at annscope's ef hnswlib falls about 0.02 short on the
/// sample), so a script measures itself and raises ef until it reaches it.
#[test]
fn exported_hnswlib_and_faiss_scripts_run_and_reach_the_picks_recall() {
    if !python_with("numpy, hnswlib, faiss") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    for format in ["hnswlib", "faiss"] {
        // Not hnswlib.py: a script of that name would import itself.
        let script = dir.path().join(format!("pick_{format}.py"));
        let (o, lines) = tune(
            &[
                "--recall",
                "0.95",
                "--index",
                "hnsw",
                "--m",
                "16",
                "--ef-construction",
                "100",
                "--export",
                format,
                "--export-out",
                script.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("Graphs differ between engines"),
            "{}",
            stderr(&o)
        );
        let pick = &lines.last().unwrap()["pick"];
        // The script runs on all the queries: both halves.
        let ours = (pick["tuning_recall"].as_f64().unwrap()
            + pick["heldout_recall"].as_f64().unwrap())
            / 2.0;
        let run = std::process::Command::new("python3")
            .arg(&script)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("python3");
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        // The last line is the recall at the ef the script ends on (raised
        // from annscope's when the library's own graph falls short).
        let theirs: f64 = out
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("recall@10 = "))
            .unwrap_or_else(|| panic!("{format} printed no recall: {out}"))
            .trim()
            .parse()
            .expect("a number");
        assert!(
            (theirs - ours).abs() <= 0.02,
            "{format}: {theirs} vs annscope's {ours}"
        );
    }
}
