//! `annscope churn`'s contract: a runbook written by hand in big-ann's
//! format runs, every line carries the fields tools read, the answers on
//! disk are what the lines scored, and a bad runbook is refused before any
//! work, naming its step.

use annscope::dataset::read_ivecs;

use crate::common::*;

/// Every operation, numbered out of order, the way big-ann writes them.
const RUNBOOK: &str = r#"
sample:
  max_pts: 3000
  1:
    operation: "insert"
    start: 0
    end: 2000
  2:
    operation: "search"
  3:
    operation: "delete"
    start: 0
    end: 800
  5:
    operation: "replace"
    tags_start: 1000
    tags_end: 1200
    ids_start: 3000
    ids_end: 3200
  4:
    operation: "search"
  6:
    operation: "insert"
    start: 2000
    end: 3000
  7:
    operation: "search"
  gt_url: "not read"
"#;

fn churn(extra: &[&str], runbook: &str, dir: &std::path::Path) -> std::process::Output {
    let rb = dir.join("rb.yaml");
    std::fs::write(&rb, runbook).expect("write runbook");
    let mut args = vec![
        "churn",
        "--base",
        SAMPLE_BASE,
        "--queries",
        SAMPLE_QUERIES,
        "--metric",
        "cosine",
        "--runbook",
        rb.to_str().expect("utf-8"),
        "--m",
        "8",
        "--ef-construction",
        "64",
    ];
    args.extend_from_slice(extra);
    annscope(&args, dir)
}

fn lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout holds only JSON lines"))
        .collect()
}

#[test]
fn a_hand_written_big_ann_runbook_runs_with_cleanup_and_its_answers_are_on_disk() {
    let dir = tempfile::tempdir().expect("tmp");
    let results = dir.path().join("answers");
    let o = churn(
        &[
            "--ef",
            "32,64",
            "--maintenance",
            "cleanup",
            "--cleanup-interval",
            "500ops",
            "--results-dir",
            results.to_str().expect("utf-8"),
            "--compare-fresh",
        ],
        RUNBOOK,
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = lines(&o);
    assert_eq!(
        v.len(),
        3 * 2 + 2 + 2,
        "(step, ef) lines, a summary per ef, a fresh build's line per ef"
    );
    for (f, ef) in v[8..].iter().zip([32, 64]) {
        let f = &f["fresh"];
        assert_eq!((f["step"].as_u64(), f["ef"].as_u64()), (Some(7), Some(ef)));
        assert!(f["recall"].as_f64().expect("recall") > 0.8, "{f}");
        assert!(f["index_bytes"].as_u64().expect("bytes") > 0);
    }
    let steps: Vec<u64> = v[..6]
        .iter()
        .map(|l| l["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(
        steps,
        [2, 2, 4, 4, 7, 7],
        "the runbook's own keys, in key order"
    );
    for l in &v[..6] {
        for field in [
            "live",
            "inserted",
            "deleted",
            "replaced",
            "tombstones",
            "queue_len",
            "status",
            "recall",
            "qps",
            "p50_us",
            "p99_us",
            "index_bytes",
            "rss_bytes",
            "elapsed_s",
            "cleanup_s",
            "ef",
        ] {
            assert!(!l[field].is_null(), "{field} missing in {l}");
        }
        assert_eq!(l["wrong_tags"], 0);
        assert!(l["recall"].as_f64().expect("recall") > 0.8, "{l}");
    }
    assert_eq!(v[2]["live"], 1200);
    assert_eq!(
        v[2]["tombstones"], 0,
        "a cleanup ran after 800 deletes: {}",
        v[2]
    );
    assert!(v[2]["cleanup_s"].as_f64().expect("s") > 0.0);
    assert_eq!(
        (v[4]["live"].as_u64(), v[4]["replaced"].as_u64()),
        (Some(2200), Some(200))
    );
    let s = &v[6]["summary"];
    assert_eq!(
        (s["inserted"].as_u64(), s["deleted"].as_u64()),
        (Some(3000), Some(800))
    );
    assert_eq!(s["searches"], 3);
    assert!(s["average_recall"].as_f64() >= s["min_recall"].as_f64());
    // What step 7 at ef 64 answered is on disk, tag for tag live then.
    let answers = read_ivecs(&results.join("step-7-ef64.ivecs")).expect("answers");
    assert_eq!((answers.n, answers.k), (200, 10));
    assert!(answers.ids.iter().all(|&t| (800..3000).contains(&t)));
    let truth = read_ivecs(&results.join("truth-7.ivecs")).expect("truth");
    assert_eq!((truth.n, truth.k), (200, 10));
    // The stderr notes say how the index takes writes; stdout held none.
    assert!(stderr(&o).contains("tombstones"), "{}", stderr(&o));
}

#[test]
fn a_generated_runbook_prints_as_yaml_that_runs_again_to_the_same_steps() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "churn",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--generate",
            "clustered-deletes:clusters=4,chunks=2",
            "--seed",
            "3",
            "--print-runbook",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = stdout(&o);
    assert!(
        yaml.contains("order: {kind: clustered, clusters: 4, seed: 3}"),
        "{yaml}"
    );
    let again = churn(&["--index", "flat"], &yaml, dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    let v = lines(&again);
    let searches = yaml.matches("operation: search").count();
    assert_eq!(v.len(), searches + 1);
    assert!(
        v[..searches].iter().all(|l| l["recall"] == 1.0),
        "flat is exact"
    );
}

#[test]
fn every_bad_runbook_is_refused_before_any_work_naming_its_step() {
    let dir = tempfile::tempdir().expect("tmp");
    for (bad, want) in [
        (
            RUNBOOK.replace("\"replace\"", "\"upsert\""),
            "step 5: unknown operation `upsert`",
        ),
        (
            RUNBOOK.replace("end: 3000\n", "end: 9000\n"),
            "step 6 (insert): rows 2000..9000 run past the base (4000 rows)",
        ),
        (
            RUNBOOK.replace("start: 0\n    end: 800", "start: 900\n    end: 800"),
            "step 3 (delete): rows 900..800: the end is not after the start",
        ),
        (
            RUNBOOK
                .replace("tags_start: 1000", "tags_start: 700")
                .replace("tags_end: 1200", "tags_end: 900"),
            "step 5 (replace): replaces tag 700, which is not live",
        ),
        (
            RUNBOOK.replace("start: 2000\n    end: 3000", "start: 1500\n    end: 2500"),
            "step 6 (insert): inserts tag 1500, which is live already",
        ),
        (
            RUNBOOK.replace("max_pts: 3000", "max_pts: 1500"),
            "step 1 (insert): leaves 2000 tags live, past max_pts 1500",
        ),
    ] {
        let o = churn(&[], &bad, dir.path());
        assert!(!o.status.success(), "accepted: {bad}");
        assert!(
            stderr(&o).contains(want),
            "expected «{want}» in {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "nothing ran");
    }
    // A search step and no query file.
    let rb = dir.path().join("rb.yaml");
    std::fs::write(&rb, RUNBOOK).expect("write");
    let o = annscope(
        &[
            "churn",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--runbook",
            rb.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert!(
        stderr(&o).contains("step 2 is a search: give the query file (--queries)"),
        "{}",
        stderr(&o)
    );
}
