//! Helpers shared by the integration tests: fixture writers and a CLI runner.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub const SAMPLE_BASE: &str = "sample_data/pypi-minilm-sample.base.fvecs";
pub const SAMPLE_QUERIES: &str = "sample_data/pypi-minilm-sample.query.fvecs";
pub const SAMPLE_GT: &str = "sample_data/pypi-minilm-sample.groundtruth.ivecs";
pub const SAMPLE_LABELS: &str = "sample_data/pypi-minilm-sample.base.txt";

/// Path of a file in the project.
pub fn project(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Writes .fvecs records, each with its own dimension header.
pub fn write_fvecs(path: &Path, rows: &[Vec<f32>]) {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(&(r.len() as i32).to_le_bytes());
        for v in r {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, out).expect("write fvecs");
}

/// Simple distinct rows: row i is [i+1, 2i+1, ..].
pub fn rows(n: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| {
            (0..dim)
                .map(|j| ((i + 1) * (j + 1)) as f32 * 0.01 + (j as f32).sin())
                .collect()
        })
        .collect()
}

/// Runs the annscope binary with a private ground-truth cache.
pub fn annscope(args: &[&str], cache: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_annscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ANNSCOPE_CACHE", cache)
        .output()
        .expect("run annscope")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the command failed with a message naming `file` and containing `problem`.
pub fn assert_fails_naming(o: &Output, file: &Path, problem: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    let name = file.file_name().expect("name").to_string_lossy();
    assert!(
        err.contains(name.as_ref()),
        "error does not name {name}: {err}"
    );
    assert!(
        err.to_lowercase().contains(&problem.to_lowercase()),
        "error does not say '{problem}': {err}"
    );
    assert!(!err.contains("panicked"), "panicked: {err}");
}
