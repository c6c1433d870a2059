//! Bad input never panics: each case gets an error naming the file and the
//! problem, and the CLI exits non-zero.

use std::path::Path;

use annscope::dataset::npy;

use crate::common::*;

fn bench_args<'a>(base: &'a str, queries: &'a str, metric: &'a str) -> Vec<&'a str> {
    vec![
        "bench",
        "--base",
        base,
        "--queries",
        queries,
        "--metric",
        metric,
        "--k",
        "1",
    ]
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("nowhere.fvecs");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "no such file");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["empty.fvecs", "empty.npy", "empty.csv"] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"").expect("write");
        let o = annscope(&["info", s(&p)], dir.path());
        assert_fails_naming(&o, &p, "empty");
    }
}

#[test]
fn truncated_fvecs() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("cut.fvecs");
    write_fvecs(&p, &rows(10, 8));
    let bytes = std::fs::read(&p).expect("read");
    std::fs::write(&p, &bytes[..bytes.len() - 5]).expect("cut");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "truncated");
}

#[test]
fn header_that_lies_about_its_size() {
    let dir = tempfile::tempdir().expect("tmp");
    // An .npy whose shape claims more rows than the data holds.
    let p = dir.path().join("lies.npy");
    let body: Vec<u8> = (0..4 * 3).flat_map(|i| (i as f32).to_le_bytes()).collect();
    std::fs::write(&p, npy::encode(body.clone(), "<f4", false, 10, 3)).expect("write");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "truncated");
    // And one whose shape claims fewer.
    let p2 = dir.path().join("short_header.npy");
    std::fs::write(&p2, npy::encode(body, "<f4", false, 2, 3)).expect("write");
    let o = annscope(&["info", s(&p2)], dir.path());
    assert_fails_naming(&o, &p2, "does not describe the data");
    // An .fvecs whose first header claims an absurd dimension.
    let p3 = dir.path().join("huge.fvecs");
    std::fs::write(&p3, [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]).expect("write");
    let o = annscope(&["info", s(&p3)], dir.path());
    assert_fails_naming(&o, &p3, "dimension");
}

#[test]
fn mixed_dimensions_inside_fvecs() {
    let dir = tempfile::tempdir().expect("tmp");
    // The last record differs: caught when opening.
    let p = dir.path().join("mixed_last.fvecs");
    let mut r = rows(4, 6);
    r.push(vec![1.0; 3]);
    r.push(vec![1.0; 3]); // 2 × (4 + 12) = 32 bytes, not a whole 28-byte record
    write_fvecs(&p, &r);
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "mixed dimensions");

    // A middle record's header lies but the sizes add up: caught by the
    // validating scan, with its row number.
    let p = dir.path().join("mixed_middle.fvecs");
    write_fvecs(&p, &rows(5, 4));
    let mut bytes = std::fs::read(&p).expect("read");
    let record = 4 + 4 * 4;
    bytes[2 * record..2 * record + 4].copy_from_slice(&7i32.to_le_bytes());
    std::fs::write(&p, bytes).expect("write");
    let q = dir.path().join("q.fvecs");
    write_fvecs(&q, &rows(2, 4));
    let o = annscope(&bench_args(s(&p), s(&q), "l2"), dir.path());
    assert_fails_naming(&o, &p, "row 2");
    assert!(stderr(&o).contains("mixed dimensions"), "{}", stderr(&o));
}

#[test]
fn dimension_mismatch_between_base_queries_and_ground_truth() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("base.fvecs");
    let q = dir.path().join("q5.fvecs");
    write_fvecs(&base, &rows(20, 4));
    write_fvecs(&q, &rows(3, 5));
    let o = annscope(&bench_args(s(&base), s(&q), "l2"), dir.path());
    assert_fails_naming(&o, &q, "dimension");

    // Ground truth with the wrong number of rows for the queries.
    let q4 = dir.path().join("q4.fvecs");
    write_fvecs(&q4, &rows(3, 4));
    let gt = dir.path().join("gt.ivecs");
    let ids = annscope::dataset::IdRows {
        n: 2,
        k: 1,
        ids: vec![0, 1],
    };
    annscope::dataset::write_ivecs(&gt, &ids).expect("gt");
    let mut args = bench_args(s(&base), s(&q4), "l2");
    args.extend(["--groundtruth", s(&gt)]);
    let o = annscope(&args, dir.path());
    assert_fails_naming(&o, &gt, "2 rows, but there are 3 queries");

    // Ground truth naming an id the base does not have.
    let ids = annscope::dataset::IdRows {
        n: 3,
        k: 1,
        ids: vec![0, 1, 99],
    };
    annscope::dataset::write_ivecs(&gt, &ids).expect("gt");
    let o = annscope(&args, dir.path());
    assert_fails_naming(&o, &gt, "out of range");
}

#[test]
fn nan_and_inf_values() {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, bad) in [("nan.fvecs", f32::NAN), ("inf.fvecs", f32::INFINITY)] {
        let p = dir.path().join(name);
        let mut r = rows(6, 4);
        r[3][2] = bad;
        write_fvecs(&p, &r);
        let q = dir.path().join("q.fvecs");
        write_fvecs(&q, &rows(2, 4));
        let o = annscope(&bench_args(s(&p), s(&q), "l2"), dir.path());
        assert_fails_naming(&o, &p, "row 3");
        assert!(stderr(&o).contains("column 2"), "{}", stderr(&o));
    }
    // NaN in the queries is named too.
    let base = dir.path().join("ok.fvecs");
    write_fvecs(&base, &rows(6, 4));
    let q = dir.path().join("qnan.fvecs");
    let mut r = rows(2, 4);
    r[1][0] = f32::NAN;
    write_fvecs(&q, &r);
    let o = annscope(&bench_args(s(&base), s(&q), "l2"), dir.path());
    assert_fails_naming(&o, &q, "row 1");
}

#[test]
fn unsupported_npy_dtype() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("ints.npy");
    let body: Vec<u8> = (0..6i32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&p, npy::encode(body, "<i4", false, 2, 3)).expect("write");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "unsupported dtype '<i4'");
}

#[test]
fn zero_vector_under_cosine() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("zero.fvecs");
    let mut r = rows(6, 4);
    r[4] = vec![0.0; 4];
    write_fvecs(&p, &r);
    let q = dir.path().join("q.fvecs");
    write_fvecs(&q, &rows(2, 4));
    let o = annscope(&bench_args(s(&p), s(&q), "cosine"), dir.path());
    assert_fails_naming(&o, &p, "row 4");
    assert!(stderr(&o).contains("zero vector"), "{}", stderr(&o));
    // The same file is fine under l2.
    let o = annscope(&bench_args(s(&p), s(&q), "l2"), dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_file_that_is_not_what_its_name_says() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("really_numpy.fvecs");
    let body: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    std::fs::write(&p, npy::encode(body, "<f4", false, 2, 3)).expect("write");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "NumPy");
    let p = dir.path().join("text.npy");
    std::fs::write(&p, b"hello, world\n").expect("write");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "signature");
    let p = dir.path().join("words.csv");
    std::fs::write(&p, "1.0,2.0\n3.0,oops\n").expect("write");
    let o = annscope(&["info", s(&p)], dir.path());
    assert_fails_naming(&o, &p, "not a number");
}

#[test]
fn an_index_file_is_measured_only_against_the_base_it_was_built_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let (base, queries, index) = (
        dir.path().join("base.fvecs"),
        dir.path().join("queries.fvecs"),
        dir.path().join("base.hnsw"),
    );
    let all = rows(300, 8);
    write_fvecs(&base, &all);
    write_fvecs(&queries, &all[..20]);
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let o = annscope(
        &[
            "build",
            "--base",
            &s(&base),
            "--metric",
            "l2",
            "--out",
            &s(&index),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bench = |base: &Path| {
        annscope(
            &[
                "bench",
                "--base",
                &s(base),
                "--queries",
                &s(&queries),
                "--metric",
                "l2",
                "--k",
                "5",
                "--index-file",
                &s(&index),
                "--ef",
                "32",
            ],
            dir.path(),
        )
    };
    let o = bench(&base);
    assert!(o.status.success(), "{}", stderr(&o));
    // A smaller base, and the same rows in another order: both refused,
    // naming the index file and the base.
    let smaller = dir.path().join("smaller.fvecs");
    write_fvecs(&smaller, &all[..200]);
    let reordered = dir.path().join("reordered.fvecs");
    write_fvecs(&reordered, &all.iter().rev().cloned().collect::<Vec<_>>());
    for other in [&smaller, &reordered] {
        let o = bench(other);
        assert_fails_naming(&o, &index, "was built on 300 vectors");
        let name = other
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(stderr(&o).contains(&name), "{}", stderr(&o));
    }
}

#[test]
fn integer_data_wearing_a_float_name_is_refused_by_every_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let fake = dir.path().join("neighbours.fvecs");
    std::fs::copy(project(SAMPLE_GT), &fake).expect("copy");
    let f = fake.to_str().expect("utf-8");
    let out = dir.path().join("out");
    let o_s = out.to_str().expect("utf-8");
    for args in [
        vec![
            "groundtruth",
            "--base",
            f,
            "--queries",
            f,
            "--metric",
            "l2",
            "--out",
            o_s,
        ],
        vec!["bench", "--base", f, "--queries", f, "--metric", "l2"],
        vec!["build", "--base", f, "--metric", "l2", "--out", o_s],
        vec!["info", f, "--validate"],
    ] {
        let o = annscope(&args, dir.path());
        assert_fails_naming(&o, &fake, "integer data");
    }
}

#[test]
fn a_row_whose_distances_would_overflow_is_refused_not_measured() {
    let dir = tempfile::tempdir().expect("tmp");
    let (base, queries) = (dir.path().join("base.fvecs"), dir.path().join("q.fvecs"));
    let mut all = rows(300, 8);
    write_fvecs(&queries, &all[..20]);
    all[123][4] = 1e30;
    write_fvecs(&base, &all);
    let (b, q) = (
        base.to_str().expect("utf-8"),
        queries.to_str().expect("utf-8"),
    );
    for metric in ["cosine", "l2"] {
        let o = annscope(
            &[
                "bench",
                "--base",
                b,
                "--queries",
                q,
                "--metric",
                metric,
                "--index",
                "hnsw",
            ],
            dir.path(),
        );
        assert_fails_naming(&o, &base, "too large");
        assert!(stderr(&o).contains("123"), "{}", stderr(&o));
    }
}

#[test]
fn arguments_that_would_do_nothing_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cases: Vec<(Vec<&str>, &str)> = Vec::new();
    let bench = |extra: &[&'static str]| {
        let mut a = vec![
            "bench",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
        ];
        a.extend_from_slice(extra);
        a
    };
    cases.push((bench(&["--runs", "0"]), "--runs must be at least 1"));
    cases.push((
        bench(&["--build-threads", "0"]),
        "--build-threads must be at least 1",
    ));
    cases.push((
        bench(&["--index", "hfresh", "--search-probe", "5000"]),
        "every --search-probe (5000) is above",
    ));
    for (args, message) in cases {
        let o = annscope(&args, dir.path());
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn an_output_in_a_missing_folder_fails_before_the_work() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("no-such-folder").join("x.hnsw");
    let o = annscope(
        &[
            "build",
            "--base",
            SAMPLE_BASE,
            "--metric",
            "cosine",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_fails_naming(&o, &out, "does not exist");
    assert!(stdout(&o).is_empty(), "nothing was built: {}", stdout(&o));
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_instead_of_hanging() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("vectors.fvecs");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let f = fifo.to_str().expect("utf-8");
    let o = annscope(&["info", f], dir.path());
    assert_fails_naming(&o, &fifo, "not a regular file");
    let o = annscope(
        &["bench", "--base", f, "--queries", f, "--metric", "l2"],
        dir.path(),
    );
    assert_fails_naming(&o, &fifo, "not a regular file");
}

#[test]
fn a_k_deeper_than_the_data_says_what_is_short() {
    let dir = tempfile::tempdir().expect("tmp");
    let (base, queries) = (dir.path().join("one.fvecs"), dir.path().join("q.fvecs"));
    let all = rows(50, 4);
    write_fvecs(&base, &all[..1]);
    write_fvecs(&queries, &all[..3]);
    let (b, q) = (
        base.to_str().expect("utf-8"),
        queries.to_str().expect("utf-8"),
    );
    let o = annscope(
        &[
            "bench",
            "--base",
            b,
            "--queries",
            q,
            "--metric",
            "l2",
            "--k",
            "10",
        ],
        dir.path(),
    );
    assert_fails_naming(&o, &base, "more neighbours than the base holds (1 vectors");
    write_fvecs(&base, &all);
    let o = annscope(
        &[
            "bench",
            "--base",
            b,
            "--queries",
            q,
            "--metric",
            "l2",
            "--k",
            "10",
            "--filter",
            "0.02",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--filter 0.02 allows 2 of the base's 50 ids, fewer than --k 10"),
        "{}",
        stderr(&o)
    );
}
