use super::*;
use crate::testutil::random_dataset;

fn brute(ds: &Dataset, q: &[f32], k: usize) -> Vec<u32> {
    let mut all: Vec<(f32, u32)> = (0..ds.len())
        .map(|i| (ds.metric().distance(q, ds.row(i)), i as u32))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.iter().take(k).map(|p| p.1).collect()
}

#[test]
fn single_and_batch_search_match_a_sort_for_every_metric() {
    for metric in Metric::ALL {
        // 5000 rows cross a base block boundary; 70 queries cross a query block.
        let ds = Arc::new(random_dataset(5000, 37, metric, 11));
        let queries = random_dataset(70, 37, metric, 12);
        let index = FlatIndex::build(ds.clone(), &WorkContext::detached()).expect("build");
        let params = SearchParams::new(10);
        let batch = index
            .search_batch(queries.vectors(), &params)
            .expect("batch");
        // The base split among 1 and 3 threads (10 blocks: parts of
        // 10, and 4 + 4 + 2) gives the same answers.
        for threads in [1, 3] {
            let again = crate::job::with_threads(Some(threads), || {
                index.search_batch(queries.vectors(), &params)
            })
            .expect("pool")
            .expect("batch");
            let ids = |b: &[Neighbors]| b.iter().map(|n| n.ids.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&again), ids(&batch), "{metric}, {threads} threads");
        }
        // Both products keep the same top-k (the gemm crate's runs where
        // AVX-512 does not).
        let (prepared, qnorms): (Vec<f32>, Vec<f32>) = {
            let mut p = Vec::new();
            let mut norms = Vec::new();
            for q in queries.vectors().rows() {
                let v = index.prepare_query(q);
                norms.push(distance::norm_squared(&v));
                p.extend_from_slice(&v);
            }
            (p, norms)
        };
        let ctx = WorkContext::detached();
        let by_gemm = index
            .tops_by_gemm(&prepared, &qnorms, 10, None, &ctx)
            .expect("gemm");
        for (qi, top) in by_gemm.into_iter().enumerate() {
            let mut want = brute(&ds, queries.row(qi), 10);
            let mut got = top.into_sorted().0;
            // The products round differently: compare as sets.
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{metric} gemm query {qi}");
        }
        for (qi, got) in batch.iter().enumerate() {
            let q = queries.row(qi);
            let want = brute(&ds, q, 10);
            assert_eq!(got.ids, want, "{metric} batch query {qi}");
            let single = index.search(q, &params).expect("single");
            assert_eq!(single.ids, want, "{metric} single query {qi}");
            assert!(got.distances.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(got.stats.dist_comps, 5000);
        }
    }
}

/// The 8-bit screening keeps every row that can be among the nearest:
/// the batch equals a sort of exact distances (ties by id) where rows
/// tie exactly (duplicates), nearly (differences of one part in 10⁶),
/// where one row cannot be rounded (a value above the limit), with a
/// filter, for k 1, 10 and 100 and every metric; and the float block
/// kernel, which the screening replaces where VNNI exists, keeps the
/// same top-k as a sort.
#[test]
fn screened_batch_is_exact_on_ties_near_ties_and_rows_it_cannot_round() {
    let (n, dim) = (3000, 50);
    for metric in Metric::ALL {
        let mut data = crate::testutil::random_vectors(n, dim, 21);
        let row = |d: &[f32], i: usize| d[i * dim..(i + 1) * dim].to_vec();
        let (five, seven) = (row(&data, 5), row(&data, 7));
        for i in 100..110 {
            data[i * dim..(i + 1) * dim].copy_from_slice(&five);
        }
        for i in 200..260 {
            let mut v = seven.clone();
            v[i % dim] += 1e-6 * (i - 200) as f32;
            data[i * dim..(i + 1) * dim].copy_from_slice(&v);
        }
        data[300 * dim] = 2e15;
        let ds = Arc::new(Dataset::from_vec("ties", data.clone(), dim, metric).expect("ds"));
        let mut qdata = crate::testutil::random_vectors(20, dim, 22);
        qdata[..dim].copy_from_slice(&five);
        qdata[dim..2 * dim].copy_from_slice(&seven);
        let queries = Vectors::from_vec(qdata, dim).expect("queries");
        let index = FlatIndex::build(ds.clone(), &WorkContext::detached()).expect("build");
        let allow = AllowList::random_fraction(n, 0.3, 5);
        // The float products (no VNNI here) round differently from the
        // one-row kernels and may swap near-ties: exactness is the
        // screening's promise only.
        let screened = distance::block8::available();
        if !screened {
            eprintln!("skipped the exactness part: no AVX-512 VNNI here");
        }
        for k in [1, 10, 100].into_iter().filter(|_| screened) {
            for filter in [None, Some(&allow)] {
                let got = index
                    .search_batch_with(&queries, k, filter, &WorkContext::detached())
                    .expect("batch");
                for (qi, got) in got.iter().enumerate() {
                    let q = queries.row(qi);
                    let mut all: Vec<(f32, u32)> = (0..n as u32)
                        .filter(|&i| filter.is_none_or(|f| f.contains(i)))
                        .map(|i| (metric.distance(q, ds.row(i as usize)), i))
                        .collect();
                    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    let want: Vec<u32> = all.iter().take(k).map(|p| p.1).collect();
                    assert_eq!(got.ids, want, "{metric} k {k} query {qi}");
                }
            }
        }
        // The float block kernel's own top-k, as sets (its products
        // round differently from the one-row kernels).
        if distance::block::available() {
            let mut prepared = Vec::new();
            let mut qnorms = Vec::new();
            for q in queries.rows() {
                let v = index.prepare_query(q);
                qnorms.push(distance::norm_squared(&v));
                prepared.extend_from_slice(&v);
            }
            let tops = index
                .tops_by_kernel(&prepared, &qnorms, 10, None, &WorkContext::detached())
                .expect("kernel");
            for (qi, top) in tops.into_iter().enumerate().skip(2) {
                let mut want = brute(&ds, queries.row(qi), 10);
                let mut got = top.into_sorted().0;
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(got, want, "{metric} float kernel query {qi}");
            }
        }
    }
}

#[test]
fn k_larger_than_n_returns_everything() {
    let ds = Arc::new(random_dataset(7, 4, Metric::L2, 1));
    let index = FlatIndex::build(ds, &WorkContext::detached()).expect("build");
    let r = index
        .search(&[0.0; 4], &SearchParams::new(50))
        .expect("search");
    assert_eq!(r.ids.len(), 7);
}

#[test]
fn wrong_query_dimension_is_an_error() {
    let ds = Arc::new(random_dataset(7, 4, Metric::L2, 1));
    let index = FlatIndex::build(ds, &WorkContext::detached()).expect("build");
    let err = index
        .search(&[0.0; 5], &SearchParams::new(1))
        .expect_err("dim");
    assert!(err.to_string().contains("dimension 5"), "{err}");
}

#[test]
fn cancelled_batch_stops() {
    let ds = Arc::new(random_dataset(3000, 8, Metric::L2, 1));
    let q = random_dataset(10, 8, Metric::L2, 2);
    let index = FlatIndex::build(ds, &WorkContext::detached()).expect("build");
    let ctx = WorkContext::detached();
    ctx.cancel.cancel();
    assert!(index
        .search_batch_with(q.vectors(), 5, None, &ctx)
        .is_err_and(|e| e.is_cancelled()));
}
