//! For any bytes, a reader returns data or an error, never a panic: every
//! reader and index loader is handed seeded mutants of a small valid file
//! (truncated, bytes flipped, bytes inserted, header words set to extremes),
//! and what opens is validated and, for an index, searched. A stable
//! stand-in for fuzzing that runs as an ordinary test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use annscope::dataset::{self, npy};
use annscope::distance::Metric;
use annscope::index::{load_index, IndexSpec, SearchParams};
use annscope::progress::WorkContext;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::*;

/// Rows as comma-separated lines.
fn csv_of(rows: &[Vec<f32>]) -> String {
    let line = |r: &Vec<f32>| {
        r.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    rows.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Mutants of `seed` per file.
const MUTANTS: usize = 150;

/// Runs `read` on every mutant of `valid`, written to `path`; a panic fails
/// the test naming the mutant's seed.
fn survives(path: &Path, valid: &[u8], seed: u64, read: impl Fn(&Path)) {
    let mut rng = StdRng::seed_from_u64(seed);
    for m in 0..MUTANTS {
        let bytes = annscope::fuzzing::mutate(valid, &mut rng);
        std::fs::write(path, &bytes).expect("write mutant");
        let outcome = catch_unwind(AssertUnwindSafe(|| read(path)));
        assert!(
            outcome.is_ok(),
            "{} mutant {m} (seed {seed}) panicked",
            path.display()
        );
    }
}

/// Opens as a dataset and validates: data or an error.
fn open_and_validate(path: &Path) {
    let ctx = WorkContext::detached();
    let _ = dataset::file_info(path);
    if let Ok(d) = dataset::open(path, Metric::Cosine, &ctx) {
        let _ = d.validate(&ctx);
    }
}

#[test]
fn vector_readers_never_panic_on_damaged_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let rows = rows(12, 6);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let seeds: Vec<(&str, Vec<u8>)> = {
        let fv = dir.path().join("seed.fvecs");
        write_fvecs(&fv, &rows);
        let np = dir.path().join("seed.npy");
        npy::write_f32(&np, &flat, 12, 6).expect("npy");
        let csv = csv_of(&rows);
        let ids = dataset::IdRows {
            n: 12,
            k: 3,
            ids: (0..36u32).collect(),
        };
        let iv = dir.path().join("seed.ivecs");
        dataset::write_ivecs(&iv, &ids).expect("ivecs");
        let h5 = dir.path().join("seed.hdf5");
        let mut b = hdf5_pure::FileBuilder::new();
        b.create_dataset("train")
            .with_f32_data(&flat)
            .with_shape(&[12, 6]);
        b.create_dataset("test")
            .with_f32_data(&flat[..12])
            .with_shape(&[2, 6]);
        b.set_attr("distance", hdf5_pure::AttrValue::String("angular".into()));
        b.write(&h5).expect("hdf5");
        vec![
            ("hdf5", std::fs::read(&h5).expect("read")),
            ("fvecs", std::fs::read(&fv).expect("read")),
            ("npy", std::fs::read(&np).expect("read")),
            ("csv", format!("a,b,c,d,e,f\n{csv}\n").into_bytes()),
            ("tsv", csv.replace(',', "\t").into_bytes()),
            ("ivecs", std::fs::read(&iv).expect("read")),
        ]
    };
    for (i, (ext, valid)) in seeds.iter().enumerate() {
        let path = dir.path().join(format!("mutant.{ext}"));
        survives(&path, valid, 100 + i as u64, |p| {
            open_and_validate(p);
            let _ = dataset::read_ivecs(p);
            let _ = dataset::read_labels(p);
            let _ = dataset::hdf5::read_extras(p);
        });
    }
}

#[test]
fn index_loaders_never_panic_and_what_loads_can_be_searched() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = std::sync::Arc::new(
        dataset::open(
            &project(SAMPLE_BASE),
            Metric::Cosine,
            &WorkContext::detached(),
        )
        .expect("sample")
        .subset("small", &(0..300).collect::<Vec<_>>()),
    );
    let ctx = WorkContext::detached();
    let mut kinds: Vec<(&str, Vec<u8>)> = Vec::new();
    let hnsw = IndexSpec::Hnsw(annscope::index::HnswParams {
        m: 4,
        ..Default::default()
    });
    let built = hnsw.build(base.clone(), &ctx).expect("hnsw");
    let p = dir.path().join("seed.hnsw");
    built.graph().expect("graph").save(&p).expect("save");
    kinds.push(("hnsw", std::fs::read(&p).expect("read")));
    let hp = annscope::index::HFreshParams {
        max_posting_size: 32,
        min_posting_size: 2,
        ..Default::default()
    };
    let built = IndexSpec::HFresh(hp)
        .build(base.clone(), &ctx)
        .expect("hfresh");
    let p = dir.path().join("seed.hfresh");
    built
        .posting_lists()
        .expect("lists")
        .save(&p)
        .expect("save");
    kinds.push(("hfresh", std::fs::read(&p).expect("read")));
    let config = annscope::index::DynamicConfig {
        threshold: 1000,
        ..Default::default()
    };
    let d = annscope::index::DynamicIndex::from_dataset(&base, config, &ctx).expect("dynamic");
    let p = dir.path().join("seed.dyn");
    d.save(&p).expect("save");
    kinds.push(("dyn", std::fs::read(&p).expect("read")));
    let query = base.row(0).to_vec();
    for (i, (ext, valid)) in kinds.iter().enumerate() {
        let path = dir.path().join(format!("mutant.{ext}"));
        survives(&path, valid, 200 + i as u64, |p| {
            if let Ok((_, index)) = load_index(p) {
                let _ = index.search(&query, &SearchParams::new(5));
            }
        });
    }
}

/// Every file of the fuzz corpus and of the regressions fuzzing found, run
/// through its target on stable: a regression stays fixed.
#[test]
fn the_fuzz_corpus_and_regressions_replay_without_a_panic() {
    let mut replayed = 0;
    for target in annscope::fuzzing::TARGETS {
        for folder in ["corpus", "regressions"] {
            let dir = project("fuzz").join(folder).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let bytes = std::fs::read(entry.path()).expect("read input");
                let outcome =
                    catch_unwind(AssertUnwindSafe(|| annscope::fuzzing::run(target, &bytes)));
                assert!(outcome.is_ok(), "{} panicked", entry.path().display());
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= annscope::fuzzing::TARGETS.len(),
        "the seed corpus is missing"
    );
}

/// Writes the seed corpus (run by hand: `cargo test --test tests
/// write_the_fuzz_seed_corpus -- --ignored`): one small valid input per
/// format and index kind.
#[test]
#[ignore]
fn write_the_fuzz_seed_corpus() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = project("fuzz").join("corpus");
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join(name), bytes).expect("write seed");
    };
    let seed_rows = rows(8, 4);
    let flat: Vec<f32> = seed_rows.iter().flatten().copied().collect();
    let fv = dir.path().join("s.fvecs");
    write_fvecs(&fv, &seed_rows);
    let fvecs = std::fs::read(&fv).expect("read");
    for (pick, name) in [(0u8, "fvecs"), (1, "ivecs"), (2, "bvecs")] {
        put("vecs", name, &[&[pick][..], &fvecs].concat());
    }
    let np = dir.path().join("s.npy");
    npy::write_f32(&np, &flat, 8, 4).expect("npy");
    put("npy", "f32", &std::fs::read(&np).expect("read"));
    let csv = csv_of(&seed_rows);
    put("text", "csv", format!("\0a,b,c,d\n{csv}\n").as_bytes());
    put(
        "text",
        "tsv",
        format!("\u{1}{}\n", csv.replace(',', "\t")).as_bytes(),
    );
    put("text", "labels", b"\x02word\tpos\nalpha\tn\nbeta\tv\n");
    let h5 = dir.path().join("s.hdf5");
    let mut b = hdf5_pure::FileBuilder::new();
    b.create_dataset("train")
        .with_f32_data(&flat)
        .with_shape(&[8, 4]);
    b.create_dataset("test")
        .with_f32_data(&flat[..8])
        .with_shape(&[2, 4]);
    b.create_dataset("neighbors")
        .with_i32_data(&[0, 1, 1, 0])
        .with_shape(&[2, 2]);
    b.set_attr(
        "distance",
        hdf5_pure::AttrValue::VarLenString("euclidean".into()),
    );
    b.write(&h5).expect("hdf5");
    put("hdf5", "ann-benchmarks", &std::fs::read(&h5).expect("read"));
    let base = std::sync::Arc::new(
        annscope::dataset::Dataset::from_vec("seed", rows(40, 4).concat(), 4, Metric::L2)
            .expect("base"),
    );
    let ctx = WorkContext::detached();
    let hnsw = IndexSpec::Hnsw(annscope::index::HnswParams {
        m: 4,
        ..Default::default()
    })
    .build(base.clone(), &ctx)
    .expect("hnsw");
    let p = dir.path().join("s.hnsw");
    hnsw.graph().expect("graph").save(&p).expect("save");
    put("index", "hnsw", &std::fs::read(&p).expect("read"));
    let hp = annscope::index::HFreshParams {
        max_posting_size: 8,
        min_posting_size: 2,
        ..Default::default()
    };
    let hf = IndexSpec::HFresh(hp)
        .build(base.clone(), &ctx)
        .expect("hfresh");
    let p = dir.path().join("s.hfresh");
    hf.posting_lists().expect("lists").save(&p).expect("save");
    put("index", "hfresh", &std::fs::read(&p).expect("read"));
    let config = annscope::index::DynamicConfig {
        threshold: 1000,
        ..Default::default()
    };
    let d = annscope::index::DynamicIndex::from_dataset(&base, config, &ctx).expect("dynamic");
    let p = dir.path().join("s.dyn");
    d.save(&p).expect("save");
    put("index", "dynamic", &std::fs::read(&p).expect("read"));
    let cache = dir.path().join("cache");
    let (gt, _) =
        annscope::cache::ground_truth_in(Some(&cache), &base, &base, 5, &ctx).expect("gt");
    assert_eq!(gt.n_queries(), 40);
    let entry = std::fs::read_dir(&cache)
        .expect("ls")
        .flatten()
        .next()
        .expect("entry");
    put(
        "cache",
        "entry",
        &std::fs::read(entry.path()).expect("read"),
    );
}
