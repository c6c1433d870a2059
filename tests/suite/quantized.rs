//! The memory ladder on the bundled sample (4,000 × 384, cosine): HNSW
//! walking quantized codes, re-scored from f32 vectors in RAM or on disk,
//! and what a file of such an index must refuse.

use std::sync::Arc;

use annscope::dataset::{self, read_ivecs, Dataset};
use annscope::distance::Metric;
use annscope::eval::{recall_at_k, GroundTruth};
use annscope::index::quant::Quantizer;
use annscope::index::{
    AnnIndex, FlatIndex, Hnsw, HnswParams, Rescoring, SearchParams, VectorPlace,
};
use annscope::progress::WorkContext;

use crate::common::*;

struct Sample {
    base: Arc<Dataset>,
    queries: Arc<Dataset>,
    gt: GroundTruth,
}

fn sample() -> Sample {
    let ctx = WorkContext::detached();
    let base = Arc::new(dataset::open(&project(SAMPLE_BASE), Metric::Cosine, &ctx).expect("base"));
    let queries =
        Arc::new(dataset::open(&project(SAMPLE_QUERIES), Metric::Cosine, &ctx).expect("queries"));
    let rows = read_ivecs(&project(SAMPLE_GT)).expect("gt");
    let gt =
        GroundTruth::from_id_rows(rows, &base, queries.vectors(), &project(SAMPLE_GT)).expect("gt");
    Sample { base, queries, gt }
}

fn params(quantizer: Quantizer, vectors: VectorPlace) -> HnswParams {
    let mut p = HnswParams {
        ef_construction: 100,
        ..HnswParams::default()
    };
    p.storage.quantizer = quantizer;
    p.storage.vectors = vectors;
    p
}

fn build(s: &Sample, p: HnswParams) -> Hnsw {
    Hnsw::build(&s.base, p, &WorkContext::detached()).expect("build")
}

fn recall(s: &Sample, index: &dyn AnnIndex, p: &SearchParams) -> f64 {
    let results: Vec<_> = s
        .queries
        .vectors()
        .rows()
        .map(|q| index.search(q, p).expect("search"))
        .collect();
    recall_at_k(&s.gt, p.k, &results, &s.base, s.queries.vectors()).0
}

const QUANTIZERS: [Quantizer; 8] = [
    Quantizer::Sq8,
    Quantizer::Sq4,
    Quantizer::RaBitQ { bits: 1 },
    Quantizer::RaBitQ { bits: 4 },
    Quantizer::RaBitQ { bits: 8 },
    Quantizer::Pq { m: 96 },
    Quantizer::Opq { m: 96 },
    Quantizer::Bq,
];

fn rescoring(oversample: f64, rescore: bool) -> Rescoring {
    Rescoring {
        oversample,
        rescore,
    }
}

#[test]
fn rescoring_at_oversample_ten_matches_the_f32_index_and_reports_exact_distances() {
    let s = sample();
    let mut exact = params(Quantizer::None, VectorPlace::Ram);
    exact.storage = annscope::index::Storage::EXACT;
    let f32_index = build(&s, exact);
    let search = SearchParams::new(10).with_ef(64);
    let reference = recall(&s, &f32_index, &search);
    for q in QUANTIZERS {
        let index = build(&s, params(q, VectorPlace::Ram));
        // Binary codes rank coarsely: they need four times the candidates
        // (at oversample 10 they reach 0.98 here, the others 0.997).
        let oversample = if q == Quantizer::Bq { 40.0 } else { 10.0 };
        let p = search.clone().with_rescoring(rescoring(oversample, true));
        let r = recall(&s, &index, &p);
        assert!(
            r >= reference - 0.01,
            "{q}: recall {r:.4} at oversample {oversample}, the f32 index {reference:.4}"
        );
        // Re-scored distances are the metric's own.
        for (i, query) in s.queries.vectors().rows().take(30).enumerate() {
            let found = index.search(query, &p).expect("search");
            assert!(found.stats.rescored > 0, "{q}: nothing re-scored");
            for (&id, &d) in found.ids.iter().zip(&found.distances) {
                let want = Metric::Cosine.distance(query, s.base.row(id as usize));
                assert!(
                    (d - want).abs() < 1e-5,
                    "{q} query {i} id {id}: {d} vs {want}"
                );
            }
            assert!(
                found.distances.windows(2).all(|w| w[0] <= w[1]),
                "{q}: sorted"
            );
        }
        // Without re-scoring the codes decide, and their distances are estimates.
        let raw = search.clone().with_rescoring(rescoring(1.0, false));
        let found = index.search(s.queries.row(0), &raw).expect("search");
        assert_eq!(found.stats.rescored, 0, "{q}");
        assert_eq!(found.ids.len(), 10);
    }
}

#[test]
fn oversampling_raises_recall_and_one_bit_needs_it() {
    let s = sample();
    let index = build(&s, params(Quantizer::RaBitQ { bits: 1 }, VectorPlace::Ram));
    let at = |o: f64, rescore: bool| {
        recall(
            &s,
            &index,
            &SearchParams::new(10)
                .with_ef(32)
                .with_rescoring(rescoring(o, rescore)),
        )
    };
    let (none, one, two, four) = (at(1.0, false), at(1.0, true), at(2.0, true), at(4.0, true));
    // Re-scoring k candidates orders them; it cannot change which they are.
    assert_eq!(none, one);
    assert!(one < two && two < four, "{one} {two} {four}");
    assert!(four > 0.9, "1-bit at oversample 4: {four}");
}

#[test]
fn vectors_on_disk_give_the_same_answers_from_far_less_memory() {
    let s = sample();
    let q = Quantizer::Sq4;
    // One graph (a parallel build is not reproducible), its vectors moved.
    let mut disk = build(&s, params(q, VectorPlace::Ram));
    let p = SearchParams::new(10)
        .with_ef(48)
        .with_rescoring(rescoring(2.0, true));
    let answer = |index: &Hnsw| -> Vec<_> {
        s.queries
            .vectors()
            .rows()
            .take(50)
            .map(|query| index.search(query, &p).expect("search"))
            .collect()
    };
    let in_ram = answer(&disk);
    let m_ram = disk.memory();
    disk.keep_vectors_on_disk(&s.base).expect("to disk");
    for (a, b) in in_ram.iter().zip(answer(&disk)) {
        assert_eq!(a.ids, b.ids);
        for (x, y) in a.distances.iter().zip(&b.distances) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
    // Built straight to disk, it says so.
    let direct = build(&s, params(q, VectorPlace::Disk));
    assert_eq!(direct.params()["vectors"], "disk");
    let m_disk = disk.memory();
    let vectors = (s.base.len() * s.base.dim() * 4) as u64;
    assert!(
        m_disk.ram_bytes + vectors <= m_ram.ram_bytes + vectors / 100,
        "ram {} disk {}",
        m_ram.ram_bytes,
        m_disk.ram_bytes
    );
    assert_eq!(
        m_disk.disk_bytes,
        std::fs::metadata(project(SAMPLE_BASE)).expect("meta").len()
    );
    assert!(m_disk.mapped_resident_bytes.is_some() || !cfg!(target_os = "linux"));
    assert_eq!(disk.params()["vectors"], "disk");
    // A cold run drops the pages and still finds the same answers.
    if cfg!(target_os = "linux") {
        assert!(disk.drop_cached_pages().expect("drop"));
        let again = disk.search(s.queries.row(0), &p).expect("cold");
        assert_eq!(again.ids, in_ram[0].ids);
    }
}

#[test]
fn vectors_on_disk_refuse_what_they_cannot_do() {
    let s = sample();
    let ctx = WorkContext::detached();
    // Without codes every step would read the disk.
    let err = Hnsw::build(&s.base, params(Quantizer::None, VectorPlace::Disk), &ctx)
        .err()
        .expect("no quantizer")
        .to_string();
    assert!(err.contains("needs a quantizer"), "{err}");
    // Rows that are not f32 in a file cannot be mapped.
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("rows.csv");
    let text: String = (0..50)
        .map(|i| format!("{},{},{}\n", i as f32 + 1.0, 2.0, 3.0 - i as f32 / 10.0))
        .collect();
    std::fs::write(&csv, text).expect("csv");
    let rows = dataset::open(&csv, Metric::L2, &ctx).expect("csv opens");
    let err = Hnsw::build(&rows, params(Quantizer::Sq8, VectorPlace::Disk), &ctx)
        .err()
        .expect("csv on disk")
        .to_string();
    assert!(err.contains("rows.csv") && err.contains("convert"), "{err}");
    // Inserts would need the vectors in RAM.
    let mut disk = build(&s, params(Quantizer::Sq8, VectorPlace::Disk));
    let err = disk
        .insert(999_999, s.base.row(0))
        .expect_err("insert")
        .to_string();
    assert!(err.contains("--vectors disk"), "{err}");
}

#[test]
fn a_saved_quantized_index_loads_the_same_and_refuses_codes_that_are_not_its_vectors() {
    let s = sample();
    let index = build(&s, params(Quantizer::RaBitQ { bits: 4 }, VectorPlace::Ram));
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("q.hnsw");
    index.save(&path).expect("save");
    let loaded = Hnsw::load(&path).expect("load");
    assert_eq!(loaded.params()["quantizer"], "rabitq:4");
    let p = SearchParams::new(10)
        .with_ef(32)
        .with_rescoring(rescoring(2.0, true));
    for query in s.queries.vectors().rows().take(20) {
        assert_eq!(
            loaded.search(query, &p).expect("a"),
            index.search(query, &p).expect("b")
        );
    }
    // Product codes, rotated or not, re-train the same codebooks (and, for
    // opq, the same rotation) on load.
    for q in [Quantizer::Pq { m: 96 }, Quantizer::Opq { m: 96 }] {
        let index = build(&s, params(q, VectorPlace::Ram));
        let path = dir
            .path()
            .join(format!("{}.hnsw", q.to_string().replace(':', "")));
        index.save(&path).expect("save");
        let loaded = Hnsw::load(&path).expect("load");
        assert_eq!(loaded.params()["quantizer"], q.to_string());
        for query in s.queries.vectors().rows().take(20) {
            assert_eq!(
                loaded.search(query, &p).expect("a"),
                index.search(query, &p).expect("b"),
                "{q}"
            );
        }
    }
    // Alter one code byte (checksum made valid again): refused by name.
    let mut bytes = std::fs::read(&path).expect("read");
    let body = bytes.len() - 8;
    let code_at = body - 4 * 4 * s.base.len() - 8 - 17;
    bytes[code_at] ^= 0x11;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..body]);
    bytes[body..].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let err = Hnsw::load(&path).err().expect("altered codes").to_string();
    assert!(
        err.contains("q.hnsw") && err.contains("do not match its vectors"),
        "{err}"
    );
}

#[test]
fn a_flat_scan_over_codes_re_scores_to_the_exact_answer() {
    let s = sample();
    let ctx = WorkContext::detached();
    for q in [Quantizer::Sq4, Quantizer::RaBitQ { bits: 1 }] {
        let flat = FlatIndex::build_quantized(s.base.clone(), q, 42, &ctx).expect("build");
        assert_eq!(flat.params()["quantizer"], q.to_string());
        let p = SearchParams::new(10).with_rescoring(rescoring(10.0, true));
        let r = recall(&s, &flat, &p);
        assert!(r >= 0.99, "{q}: flat over codes at oversample 10: {r}");
        let found = flat.search(s.queries.row(1), &p).expect("search");
        assert!(found.stats.rescored >= 10 && found.stats.rescored <= 100);
        for (&id, &d) in found.ids.iter().zip(&found.distances) {
            let want = Metric::Cosine.distance(s.queries.row(1), s.base.row(id as usize));
            assert!((d - want).abs() < 1e-5, "{q}: {d} vs {want}");
        }
        // The codes alone rank worse than re-scored ones.
        let raw = recall(
            &s,
            &flat,
            &SearchParams::new(10).with_rescoring(rescoring(1.0, false)),
        );
        assert!(raw < r, "{q}: {raw} vs {r}");
        // The mapped vectors are on disk, not counted as held.
        let m = flat.memory();
        assert_eq!(m.disk_bytes, (s.base.len() * s.base.dim() * 4) as u64);
        assert!(m.ram_bytes < m.disk_bytes / 3, "{}", m.ram_bytes);
    }
}

#[test]
fn weaviates_vector_cache_counts_hits_misses_and_drop_alls() {
    let s = sample();
    let with_cache = |capacity: usize| {
        let mut p = params(Quantizer::Sq4, VectorPlace::Disk);
        p.storage.vector_cache = capacity;
        build(&s, p)
    };
    let p = SearchParams::new(10)
        .with_ef(32)
        .with_rescoring(rescoring(2.0, true));
    let run = |index: &Hnsw| -> (Vec<Vec<u32>>, u64) {
        let mut rescored = 0;
        let ids = s
            .queries
            .vectors()
            .rows()
            .map(|q| {
                let r = index.search(q, &p).expect("search");
                rescored += r.stats.rescored;
                r.ids
            })
            .collect();
        (ids, rescored)
    };
    let small = with_cache(100);
    let whole = with_cache(s.base.len());
    assert_eq!(small.params()["vector_cache"], 100);
    let (a, rescored) = run(&small);
    let c = small.vector_cache().expect("a cache");
    assert_eq!(c.hits + c.misses, rescored, "every re-score asks the cache");
    assert!(
        c.drops >= c.misses / 101,
        "a 100-row cache drops all when full: {c:?}"
    );
    assert!(c.drops > 0);
    run(&whole);
    let w = whole.vector_cache().expect("a cache");
    assert_eq!(w.drops, 0, "a cache as large as the collection never drops");
    assert!(w.hits > c.hits, "{w:?} vs {c:?}");
    // Where a row comes from never changes an answer: a second run, with
    // other rows cached, answers the same.
    assert_eq!(a, run(&small).0);
    // A cold run starts from an empty cache.
    if cfg!(target_os = "linux") {
        small.drop_cached_pages().expect("drop");
        let before = small.vector_cache().expect("cache");
        small.search(s.queries.row(0), &p).expect("search");
        let after = small.vector_cache().expect("cache").since(before);
        assert_eq!(after.hits, 0, "{after:?}");
    }
    // Without vectors on disk there is nothing to cache.
    let mut bad = params(Quantizer::Sq4, VectorPlace::Ram);
    bad.storage.vector_cache = 10;
    let err = Hnsw::build(&s.base, bad, &WorkContext::detached())
        .err()
        .expect("cache without disk")
        .to_string();
    assert!(err.contains("needs --vectors disk"), "{err}");
}
