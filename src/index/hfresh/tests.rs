//! HFresh against the flat index on seeded data: exact when every list is
//! probed, replicas by the closure rule, splits and reassignment after
//! inserts, merges after deletes, deletes never returned, bad parameters.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::index::FlatIndex;

/// `n` points around `clusters` random centres in `dim` dimensions.
fn clustered(n: usize, dim: usize, clusters: usize, metric: Metric, seed: u64) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect();
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = &centres[i % clusters];
        data.extend(c.iter().map(|&x| x + rng.random_range(-0.3f32..0.3)));
    }
    Dataset::from_vec(format!("clustered-{seed}"), data, dim, metric).unwrap()
}

/// Exact (f32) postings, so that probing every list must equal the flat index.
fn params(max: usize) -> HFreshParams {
    HFreshParams {
        max_posting_size: max,
        min_posting_size: (max / 8).max(1),
        storage: crate::index::Storage::EXACT,
        ..HFreshParams::default()
    }
}

fn exact(base: &Dataset, queries: &Dataset, k: usize) -> Vec<Neighbors> {
    let all: Vec<usize> = (0..base.len()).collect();
    let copy = Arc::new(base.subset("copy", &all));
    let flat = FlatIndex::build(copy, &WorkContext::detached()).unwrap();
    flat.search_batch_with(queries.vectors(), k, None, &WorkContext::detached())
        .unwrap()
}

fn mean_recall(
    index: &HFresh,
    queries: &Dataset,
    truth: &[Neighbors],
    k: usize,
    probe: usize,
) -> f64 {
    let mut sum = 0.0;
    for (i, t) in truth.iter().enumerate() {
        let got = index
            .search(
                queries.row(i),
                &SearchParams::new(k).with_search_probe(probe),
            )
            .unwrap();
        sum += got.ids.iter().filter(|id| t.ids.contains(id)).count() as f64 / k as f64;
    }
    sum / truth.len() as f64
}

#[test]
fn probing_every_list_is_exact_and_few_lists_give_good_recall() {
    for metric in [Metric::Cosine, Metric::L2] {
        let base = clustered(3000, 24, 30, metric, 1);
        let queries = clustered(60, 24, 30, metric, 2);
        let h = HFresh::build(&base, params(64), &WorkContext::detached()).unwrap();
        let truth = exact(&base, &queries, 10);
        let all = h.list_count();
        assert!(
            all >= 3000 / 64,
            "{all} lists for 3000 vectors of at most 64"
        );
        assert!(
            h.list_sizes().iter().all(|&s| s <= 64),
            "{:?}",
            h.list_sizes()
        );
        let r_all = mean_recall(&h, &queries, &truth, 10, all);
        assert!(
            r_all > 0.999,
            "{metric:?}: probing all {all} lists gave recall {r_all}"
        );
        let r8 = mean_recall(&h, &queries, &truth, 10, 8);
        assert!(r8 > 0.85, "{metric:?}: recall {r8} at probe 8 (seed 1)");
        let r1 = mean_recall(&h, &queries, &truth, 10, 1);
        assert!(r1 < r8, "more probes must not lower recall ({r1} vs {r8})");
    }
}

#[test]
fn half_precision_postings_cost_almost_no_recall() {
    for metric in [Metric::Cosine, Metric::L2] {
        let base = clustered(3000, 48, 30, metric, 11);
        let queries = clustered(60, 48, 30, metric, 12);
        let truth = exact(&base, &queries, 10);
        let mut p = params(64);
        p.storage.search = Precision::F16;
        let h = HFresh::build(&base, p, &WorkContext::detached()).unwrap();
        assert_eq!(h.params()["precision"], "f16");
        let r_all = mean_recall(&h, &queries, &truth, 10, h.list_count());
        assert!(
            r_all >= 0.99,
            "{metric:?}: f16 postings, every list probed: recall {r_all}"
        );
    }
}

#[test]
fn lists_of_codes_re_score_to_the_exact_answer_and_read_far_fewer_bytes() {
    use crate::index::quant::Quantizer;
    use crate::index::Rescoring;
    let dim = 48;
    for metric in [Metric::Cosine, Metric::L2] {
        let base = clustered(3000, dim, 30, metric, 21);
        let queries = clustered(60, dim, 30, metric, 22);
        let truth = exact(&base, &queries, 10);
        let plain = HFresh::build(&base, params(64), &WorkContext::detached()).unwrap();
        for q in [
            Quantizer::Sq8,
            Quantizer::Sq4,
            Quantizer::Pq { m: 12 },
            Quantizer::Bq,
        ] {
            let mut p = params(64);
            p.storage.quantizer = q;
            let h = HFresh::build(&base, p, &WorkContext::detached()).unwrap();
            assert_eq!(h.params()["quantizer"], q.to_string());
            // The same lists as the plain build (clustering reads f32 either way).
            assert_eq!(h.list_sizes(), plain.list_sizes(), "{q}");
            // An entry is its code: under half the f32 entry (sq8's 48
            // bytes padded to 64, and a factor) down to a tenth (bq).
            assert!(
                h.store.stride() * 2 < plain.store.stride(),
                "{q}: {} words",
                h.store.stride()
            );
            let all = h.list_count();
            let at = |oversample: f64, rescore: bool| {
                let mut sum = 0.0;
                let mut rescored = 0;
                for (i, t) in truth.iter().enumerate() {
                    let got = h
                        .search(
                            queries.row(i),
                            &SearchParams::new(10).with_search_probe(all).with_rescoring(
                                Rescoring {
                                    oversample,
                                    rescore,
                                },
                            ),
                        )
                        .unwrap();
                    if rescore {
                        // Exact distances, as the flat index gives them.
                        for (d, id) in got.distances.iter().zip(&got.ids) {
                            let v = base.row(*id as usize);
                            let mut qv = queries.row(i).to_vec();
                            let mut bv = v.to_vec();
                            if metric == Metric::Cosine {
                                distance::normalize(&mut qv);
                                distance::normalize(&mut bv);
                            }
                            let want = metric.prepared_distance(&qv, &bv);
                            assert!((d - want).abs() < 1e-4, "{q} {metric:?}: {d} vs {want}");
                        }
                    }
                    rescored += got.stats.rescored;
                    sum += got.ids.iter().filter(|id| t.ids.contains(id)).count() as f64 / 10.0;
                }
                (sum / truth.len() as f64, rescored)
            };
            let (codes_only, none) = at(1.0, false);
            assert_eq!(none, 0);
            let (wide, rescored) = at(10.0, true);
            assert_eq!(rescored, 60 * 100, "{q}: 10 × k re-scored per query");
            assert!(
                wide > codes_only,
                "{q} {metric:?}: {wide} vs codes only {codes_only}"
            );
            if q != Quantizer::Bq {
                assert!(
                    wide >= 0.985,
                    "{q} {metric:?}: every list, oversample 10: {wide}"
                );
            }
            // Every row a candidate: the re-score alone decides, exactly.
            let (all_rows, rescored) = at(300.0, true);
            assert_eq!(rescored, 60 * 3000, "{q}: each vector once, replicas aside");
            assert!(
                all_rows >= 0.999,
                "{q} {metric:?}: all re-scored: {all_rows}"
            );
        }
    }
}

#[test]
fn lists_of_codes_take_inserts_splits_and_deletes_and_save_and_load_the_same() {
    use crate::index::quant::Quantizer;
    use crate::index::Rescoring;
    let dim = 32;
    let base = clustered(2400, dim, 24, Metric::Cosine, 31);
    let queries = clustered(40, dim, 24, Metric::Cosine, 32);
    let mut p = params(64);
    p.storage.quantizer = Quantizer::Sq8;
    let mut h = HFresh::build_then_insert(&base, p, 0.5, &WorkContext::detached()).unwrap();
    assert!(h.update_stats().splits > 0, "inserts split lists");
    for id in (0..2400).step_by(7) {
        h.delete(id).unwrap();
    }
    let truth: Vec<Neighbors> = {
        let kept: Vec<usize> = (0..2400).filter(|i| i % 7 != 0).collect();
        let live = base.subset("live", &kept);
        exact(&live, &queries, 10)
            .into_iter()
            .map(|mut n| {
                n.ids = n.ids.iter().map(|&i| kept[i as usize] as u32).collect();
                n
            })
            .collect()
    };
    let search = |h: &HFresh, i: usize| {
        h.search(
            queries.row(i),
            &SearchParams::new(10)
                .with_search_probe(h.list_count())
                .with_rescoring(Rescoring {
                    oversample: 10.0,
                    rescore: true,
                }),
        )
        .unwrap()
    };
    let mut sum = 0.0;
    for (i, t) in truth.iter().enumerate() {
        let got = search(&h, i);
        assert!(
            got.ids.iter().all(|id| id % 7 != 0),
            "a deleted id came back"
        );
        sum += got.ids.iter().filter(|id| t.ids.contains(id)).count() as f64 / 10.0;
    }
    assert!(
        sum / truth.len() as f64 >= 0.99,
        "recall {}",
        sum / truth.len() as f64
    );
    // Saved and loaded: the same answers (the model re-trained from the
    // rows it was trained on, every code checked against its vector).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.hfresh");
    h.save(&path).unwrap();
    let loaded = HFresh::load(&path).unwrap();
    for i in 0..queries.len() {
        assert_eq!(search(&loaded, i), search(&h, i));
    }
    // A vector altered in the file (checksum made valid): refused by name.
    let mut bytes = std::fs::read(&path).unwrap();
    let body = bytes.len() - 8;
    let needle = h.vector(5).unwrap()[0].to_bits().to_le_bytes();
    let at = bytes
        .windows(4)
        .position(|w| w == needle)
        .expect("the vector is in the file");
    bytes[at + 3] ^= 0x80; // its sign
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..body]);
    bytes[body..].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = HFresh::load(&path)
        .err()
        .expect("altered vector")
        .to_string();
    assert!(err.contains("do not match its vectors"), "{err}");
}

#[test]
fn replicas_follow_the_closure_rule() {
    let base = clustered(2000, 16, 20, Metric::L2, 3);
    let p = HFreshParams {
        replicas: 3,
        epsilon: 0.2,
        ..params(64)
    };
    let h = HFresh::build(&base, p.clone(), &WorkContext::detached()).unwrap();
    let mean = h.mean_replicas();
    assert!((1.0..=3.0).contains(&mean), "mean replicas {mean}");
    assert!(mean > 1.0, "some vectors lie on boundaries");
    for slot in 0..2000usize {
        let lists: Vec<u32> = h.members[slot * 3..slot * 3 + 3]
            .iter()
            .copied()
            .filter(|&m| m != NO_LIST)
            .collect();
        assert!(!lists.is_empty(), "vector {slot} is in no list");
        let v = base.row(slot);
        let d: Vec<f32> = lists
            .iter()
            .map(|&l| Metric::L2.prepared_distance(v, h.centroid(l)))
            .collect();
        for &x in &d[1..] {
            // Within (1 + eps)^2 in squared L2, with a little slack for the
            // centroid moved by a split after assignment.
            assert!(
                x <= d[0] * 1.2 * 1.2 * 1.5 + 1e-3,
                "replica at {x} vs nearest {}",
                d[0]
            );
        }
    }
}

#[test]
fn inserts_split_lists_and_reassign_without_losing_vectors() {
    let all = clustered(4000, 16, 16, Metric::L2, 5);
    let first: Vec<usize> = (0..2000).collect();
    let base = all.subset("first half", &first);
    let mut h = HFresh::build(&base, params(48), &WorkContext::detached()).unwrap();
    let lists_before = h.list_count();
    for i in 2000..4000u32 {
        h.insert(i, all.row(i as usize)).unwrap();
    }
    let s = h.update_stats();
    assert!(s.splits > 0, "inserts must split lists: {s:?}");
    assert!(s.moved > 0, "splits must reassign some vectors: {s:?}");
    assert!(h.list_count() > lists_before);
    assert!(
        h.list_sizes().iter().all(|&n| n <= 48),
        "{:?}",
        h.list_sizes()
    );
    assert_eq!(h.len(), 4000);
    // Every vector still findable: itself, at distance 0, probing all lists.
    let n = h.list_count();
    for i in (0..4000).step_by(37) {
        let got = h
            .search(all.row(i), &SearchParams::new(1).with_search_probe(n))
            .unwrap();
        assert_eq!(got.ids, vec![i as u32], "vector {i} lost after inserts");
    }
    // And the incremental index is about as good as a fresh build.
    let queries = clustered(50, 16, 16, Metric::L2, 6);
    let truth = exact(&all, &queries, 10);
    let fresh = HFresh::build(&all, params(48), &WorkContext::detached()).unwrap();
    let (ri, rf) = (
        mean_recall(&h, &queries, &truth, 10, 8),
        mean_recall(&fresh, &queries, &truth, 10, 8),
    );
    assert!(
        ri > rf - 0.08,
        "incremental {ri} vs fresh {rf} at probe 8 (seed 5)"
    );
}

#[test]
fn deletes_are_never_returned_and_small_lists_merge() {
    let base = clustered(3000, 16, 12, Metric::Cosine, 7);
    let mut h = HFresh::build(&base, params(64), &WorkContext::detached()).unwrap();
    let mut rng = StdRng::seed_from_u64(8);
    let mut gone = std::collections::HashSet::new();
    while gone.len() < 2000 {
        let id = rng.random_range(0..3000u32);
        if gone.insert(id) {
            h.delete(id).unwrap();
        }
    }
    assert!(
        h.delete(*gone.iter().next().unwrap()).is_err(),
        "a second delete fails"
    );
    assert_eq!(h.len(), 1000);
    let s = h.update_stats();
    assert!(
        s.merges > 0,
        "deleting two thirds must merge some lists: {s:?}"
    );
    let n = h.list_count();
    let keep: Vec<usize> = (0..3000).filter(|i| !gone.contains(&(*i as u32))).collect();
    let rest = base.subset("rest", &keep);
    let queries = clustered(40, 16, 12, Metric::Cosine, 9);
    let truth = exact(&rest, &queries, 10);
    for (i, t) in truth.iter().enumerate() {
        let got = h
            .search(queries.row(i), &SearchParams::new(10).with_search_probe(n))
            .unwrap();
        assert!(
            got.ids.iter().all(|id| !gone.contains(id)),
            "a deleted id came back"
        );
        let want: Vec<u32> = t.ids.iter().map(|&r| keep[r as usize] as u32).collect();
        assert_eq!(got.ids, want, "query {i}: probing every list must be exact");
    }
    // Updates: delete + insert under the same id.
    let survivor = keep[0] as u32;
    h.update(survivor, base.row(keep[1])).unwrap();
    let got = h
        .search(
            base.row(keep[1]),
            &SearchParams::new(2).with_search_probe(h.list_count()),
        )
        .unwrap();
    assert!(got.ids.contains(&survivor));
}

#[test]
fn bad_parameters_get_clear_errors() {
    let base = clustered(500, 8, 5, Metric::L2, 10);
    let e = HFresh::build(
        &base,
        HFreshParams {
            max_posting_size: 0,
            ..HFreshParams::default()
        },
        &WorkContext::detached(),
    )
    .err()
    .expect("max_posting_size 0 is refused");
    assert!(e.to_string().contains("max_posting_size"), "{e}");
    let ip = clustered(100, 8, 5, Metric::InnerProduct, 10);
    let e = HFresh::build(&ip, params(32), &WorkContext::detached())
        .err()
        .expect("inner product is refused");
    assert!(e.to_string().contains("inner product"), "{e}");
    let h = HFresh::build(&base, params(32), &WorkContext::detached()).unwrap();
    let too_many = h.list_count() + 1;
    let e = h
        .search(
            base.row(0),
            &SearchParams::new(5).with_search_probe(too_many),
        )
        .unwrap_err();
    assert!(e.to_string().contains("larger than the"), "{e}");
    let e = h.search(&[0.0; 3], &SearchParams::new(5)).unwrap_err();
    assert!(e.to_string().contains("dimension"), "{e}");
}

#[test]
fn tiny_datasets_build_and_answer() {
    for n in [1usize, 2, 3, 17] {
        let base = clustered(n, 4, 1, Metric::L2, 13);
        let mut h = HFresh::build(&base, params(8), &WorkContext::detached()).unwrap();
        let got = h
            .search(
                base.row(0),
                &SearchParams::new(1).with_search_probe(h.list_count()),
            )
            .unwrap();
        assert_eq!(got.ids, vec![0], "n = {n}");
        // Inserting into a tiny index splits its single list as it grows.
        for i in n..n + 40 {
            h.insert(i as u32, &[i as f32, 0.0, 1.0, -1.0]).unwrap();
        }
        assert_eq!(h.len(), n + 40);
        assert!(
            h.list_sizes().iter().all(|&s| s <= 8),
            "n = {n}: {:?}",
            h.list_sizes()
        );
        let got = h
            .search(
                &[20.0, 0.0, 1.0, -1.0],
                &SearchParams::new(1).with_search_probe(h.list_count()),
            )
            .unwrap();
        // Vector 20 was inserted exactly at the query (every n here is below 20).
        assert_eq!(got.ids, vec![20], "n = {n}");
    }
}

#[test]
fn many_splits_keep_the_centroid_graph_clean_and_every_vector_findable() {
    let all = clustered(3000, 8, 6, Metric::L2, 14);
    let first: Vec<usize> = (0..200).collect();
    let mut h = HFresh::build(
        &all.subset("start", &first),
        params(16),
        &WorkContext::detached(),
    )
    .unwrap();
    for i in 200..3000u32 {
        h.insert(i, all.row(i as usize)).unwrap();
    }
    let splits = h.update_stats().splits;
    assert!(splits >= 100, "{splits} splits: too few to need a cleanup");
    let dead = h.centroid_index.deleted_count();
    assert!(
        dead * 4 < h.list_count() + 64,
        "{dead} dead centroids for {} lists",
        h.list_count()
    );
    let n = h.list_count();
    for i in (0..3000).step_by(29) {
        let got = h
            .search(all.row(i), &SearchParams::new(1).with_search_probe(n))
            .unwrap();
        assert_eq!(got.ids, vec![i as u32], "vector {i} lost");
    }
}

#[test]
fn a_saved_index_after_updates_loads_and_answers_the_same() {
    for precision in [Precision::F32, Precision::F16] {
        let base = clustered(1200, 16, 12, Metric::Cosine, 31);
        let queries = clustered(40, 16, 12, Metric::Cosine, 32);
        let mut p = params(48);
        p.storage.search = precision;
        let first: Vec<usize> = (0..900).collect();
        let part = base.subset("part", &first);
        let mut index = HFresh::build(&part, p, &WorkContext::detached()).unwrap();
        // Inserts split lists, deletes leave tombstones and dead lists,
        // an update leaves an id with a deleted older slot.
        for i in 900..1200 {
            index.insert(i as u32, base.row(i)).unwrap();
        }
        for i in (0..1200).step_by(7) {
            index.delete(i as u32).unwrap();
        }
        index.update(3, base.row(5)).unwrap();
        assert!(
            index.update_stats().splits > 0,
            "the test must cover splits"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.hfresh");
        index.save(&path).unwrap();
        let loaded = HFresh::load(&path).unwrap();
        assert_eq!(
            (loaded.len(), loaded.list_count()),
            (index.len(), index.list_count())
        );
        assert_eq!(loaded.params(), index.params());
        assert_eq!(loaded.built_on(), index.built_on());
        for probe in [1, 4, 16] {
            let sp = SearchParams::new(10).with_search_probe(probe);
            for q in queries.vectors().rows() {
                assert_eq!(
                    loaded.search(q, &sp).unwrap(),
                    index.search(q, &sp).unwrap()
                );
            }
        }
        // Updates go on after a load.
        let mut loaded = loaded;
        loaded.insert(5000, base.row(7)).unwrap();
        loaded.delete(5000).unwrap();
        // Damage is refused with the file named.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = HFresh::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("index.hfresh") && e.contains("checksum"), "{e}");
    }
}
