//! `annscope project`: coordinates written as .npy, the JSON contract, and
//! inputs it cannot project refused by name.

use std::path::Path;

use annscope::distance::Metric;
use annscope::progress::WorkContext;

use crate::common::*;

fn run_project(dir: &Path, extra: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let out = dir.join(format!("p{}.npy", extra.len()));
    let mut args = vec![
        "project",
        "--metric",
        "cosine",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    (annscope(&args, dir), out)
}

fn report(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim()).expect("one JSON line")
}

#[test]
fn umap_keeps_far_more_neighbours_than_pca_and_writes_base_then_queries() {
    let dir = tempfile::tempdir().expect("tmp");
    let (o, umap_out) = run_project(
        dir.path(),
        &[
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--method",
            "umap",
            "--epochs",
            "100",
        ],
    );
    let umap = report(&o);
    for field in ["seconds", "knn_seconds", "neighbours_kept_10"] {
        assert!(umap[field].as_f64().is_some(), "{field}: {umap}");
    }
    assert_eq!(umap["method"], "umap");
    assert_eq!(
        (umap["n"].as_u64(), umap["queries"].as_u64()),
        (Some(4000), Some(200))
    );
    assert_eq!(umap["knn"], "exact");
    assert_eq!(umap["knn_recall"], 1.0);
    let coords = annscope::dataset::open(&umap_out, Metric::L2, &WorkContext::detached())
        .expect("the .npy reads back");
    assert_eq!((coords.len(), coords.dim()), (4200, 2));
    assert!(coords
        .vectors()
        .rows()
        .all(|r| r.iter().all(|v| v.is_finite())));

    let (o, _) = run_project(dir.path(), &["--base", SAMPLE_BASE, "--method", "pca"]);
    let pca = report(&o);
    assert_eq!(pca["method"], "pca");
    assert!(pca["explained_variance"]
        .as_f64()
        .is_some_and(|v| v > 0.0 && v < 0.2));
    let (u, p) = (
        umap["neighbours_kept_10"].as_f64().expect("umap"),
        pca["neighbours_kept_10"].as_f64().expect("pca"),
    );
    // Measured on the sample: UMAP ~0.20, PCA ~0.016.
    assert!(u > 0.15 && u > 5.0 * p, "umap {u}, pca {p}");
}

#[test]
fn inputs_it_cannot_project_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tmp");
    // Fewer vectors than neighbours asked for.
    let few = dir.path().join("few.fvecs");
    write_fvecs(&few, &rows(8, 16));
    let (o, _) = run_project(dir.path(), &["--base", few.to_str().expect("utf-8")]);
    assert_fails_naming(&o, &few, "at least 15 vectors");
    // A zero vector under cosine.
    let zero = dir.path().join("zero.fvecs");
    let mut r = rows(40, 16);
    r[7] = vec![0.0; 16];
    write_fvecs(&zero, &r);
    let (o, _) = run_project(dir.path(), &["--base", zero.to_str().expect("utf-8")]);
    assert_fails_naming(&o, &zero, "zero vector");
    // Queries of another dimension.
    let base = dir.path().join("base.fvecs");
    write_fvecs(&base, &rows(40, 16));
    let q = dir.path().join("q8.fvecs");
    write_fvecs(&q, &rows(3, 8));
    let (o, _) = run_project(
        dir.path(),
        &[
            "--base",
            base.to_str().expect("utf-8"),
            "--queries",
            q.to_str().expect("utf-8"),
        ],
    );
    assert_fails_naming(&o, &q, "dimension");
}
