//! The k-nearest-neighbour graph of a base: each row's k nearest other
//! rows, in the base's metric.
//!
//! UMAP spends most of its time finding this graph (umap-learn runs
//! NN-descent for it); annscope has an index that answers exactly this
//! question. [`from_index`] searches every base row in a built index (an
//! HNSW's recall at ef 64 is ~0.99 here); [`exact`] runs the flat index's
//! blocked scan, which is exact and the faster of the two when the base is
//! small or no index is built.

use std::sync::Arc;
use std::time::Instant;

use crate::dataset::{Dataset, Vectors};
use crate::error::{Error, Result};
use crate::index::{AnnIndex, Neighbors, SearchParams};
use crate::progress::WorkContext;

/// Rows searched per batch: bounds the copy of the rows and lets progress
/// and cancel through between batches.
const BATCH: usize = 4096;

/// Each row's `k` nearest other rows, nearest first.
#[derive(Clone, Debug)]
pub struct KnnGraph {
    /// Neighbours per row.
    pub k: usize,
    /// `k` ids per row, row after row.
    pub ids: Vec<u32>,
    /// Their distances in the base's metric.
    pub distances: Vec<f32>,
    /// Where the graph came from ("exact", or the index's label).
    pub source: String,
    /// Wall-clock seconds it took.
    pub seconds: f64,
}

impl KnnGraph {
    /// Rows in the graph.
    pub fn len(&self) -> usize {
        self.ids.len() / self.k.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row `i`'s neighbours and their distances.
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let r = i * self.k..(i + 1) * self.k;
        (&self.ids[r.clone()], &self.distances[r])
    }
}

/// Checks that `base` has more rows than neighbours asked for.
pub fn check_size(base: &Dataset, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidParameter(
            "a neighbour graph needs at least 1 neighbour per row".into(),
        ));
    }
    if base.len() <= k {
        return Err(Error::InvalidParameter(format!(
            "{}: {} vectors, but each needs {k} neighbours besides itself: at least {} vectors are needed",
            base.display_name(),
            base.len(),
            k + 1
        )));
    }
    Ok(())
}

/// The exact graph, by the flat index's blocked scan of every row.
pub fn exact(base: &Arc<Dataset>, k: usize, ctx: &WorkContext) -> Result<KnnGraph> {
    let all: Vec<usize> = (0..base.len()).collect();
    exact_rows(base, &all, k, ctx)
}

/// The exact neighbours of some of the base's `rows` (a graph of
/// `rows.len()` rows, in their order).
pub fn exact_rows(
    base: &Arc<Dataset>,
    rows: &[usize],
    k: usize,
    ctx: &WorkContext,
) -> Result<KnnGraph> {
    check_size(base, k)?;
    base.validate(ctx)?;
    let flat = crate::index::flat::FlatIndex::build(base.clone(), ctx)?;
    collect(base.vectors(), rows, true, k, "exact", ctx, |rows| {
        flat.search_batch_with(rows, k + 1, None, &WorkContext::detached())
    })
}

/// Exact neighbours in `base` of each query (no row to leave out).
pub fn queries_exact(
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    ctx: &WorkContext,
) -> Result<KnnGraph> {
    check_size(base, k)?;
    check_dim(base, queries)?;
    let flat = crate::index::flat::FlatIndex::build(base.clone(), ctx)?;
    let all: Vec<usize> = (0..queries.len()).collect();
    collect(queries.vectors(), &all, false, k, "exact", ctx, |rows| {
        flat.search_batch_with(rows, k, None, &WorkContext::detached())
    })
}

/// Each query's neighbours from a built index over the base.
pub fn queries_from_index(
    index: &dyn AnnIndex,
    queries: &Dataset,
    k: usize,
    params: &SearchParams,
    source: &str,
    ctx: &WorkContext,
) -> Result<KnnGraph> {
    if queries.dim() != index.dim() {
        return Err(Error::Mismatch(format!(
            "{} has dimension {}, the index {}",
            queries.display_name(),
            queries.dim(),
            index.dim()
        )));
    }
    let mut params = params.clone();
    params.k = k;
    let all: Vec<usize> = (0..queries.len()).collect();
    collect(queries.vectors(), &all, false, k, source, ctx, |rows| {
        index.search_batch(rows, &params)
    })
}

/// Checks that `queries` have the base's dimension, naming both.
pub fn check_dim(base: &Dataset, queries: &Dataset) -> Result<()> {
    if queries.dim() != base.dim() {
        return Err(Error::Mismatch(format!(
            "{} has dimension {}, the base {} has {}",
            queries.display_name(),
            queries.dim(),
            base.display_name(),
            base.dim()
        )));
    }
    Ok(())
}

/// The graph from a built index over `base`, each row searched at `ef`
/// (or the index's own knob when `params` says so).
pub fn from_index(
    index: &dyn AnnIndex,
    base: &Dataset,
    k: usize,
    params: &SearchParams,
    source: &str,
    ctx: &WorkContext,
) -> Result<KnnGraph> {
    check_size(base, k)?;
    if index.len() != base.len() || index.dim() != base.dim() {
        return Err(Error::Mismatch(format!(
            "the index holds {} vectors of dimension {}, {} has {} of dimension {}",
            index.len(),
            index.dim(),
            base.display_name(),
            base.len(),
            base.dim()
        )));
    }
    let mut params = params.clone();
    params.k = k + 1;
    let all: Vec<usize> = (0..base.len()).collect();
    collect(base.vectors(), &all, true, k, source, ctx, |rows| {
        index.search_batch(rows, &params)
    })
}

/// Searches `vectors`' `rows` in batches with `search` and keeps k answers
/// each; when they are the base's own rows (`own`, searched for k + 1),
/// each row itself is left out.
fn collect(
    vectors: &Vectors,
    rows: &[usize],
    own: bool,
    k: usize,
    source: &str,
    ctx: &WorkContext,
    search: impl Fn(&Vectors) -> Result<Vec<Neighbors>>,
) -> Result<KnnGraph> {
    let started = Instant::now();
    let n = rows.len();
    ctx.progress
        .stage(&format!("Finding {k} neighbours of each vector"), n as u64);
    let mut ids = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for batch in rows.chunks(BATCH) {
        ctx.cancel.check()?;
        let answers = search(&vectors.gather(batch))?;
        for (&row, a) in batch.iter().zip(&answers) {
            let me = if own { row as u32 } else { u32::MAX };
            push_others(me, a, k, &mut ids, &mut distances).ok_or_else(|| {
                Error::Internal(format!(
                    "the search of row {row} returned {} neighbours, {k} needed",
                    a.ids.len()
                ))
            })?;
        }
        ctx.progress.add(batch.len() as u64);
    }
    Ok(KnnGraph {
        k,
        ids,
        distances,
        source: source.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Appends `a`'s first `k` answers other than `row` itself (a duplicate of
/// the row may come before it; an approximate search may miss it, and then
/// the first k are kept). None when fewer than k others came back.
fn push_others(
    row: u32,
    a: &Neighbors,
    k: usize,
    ids: &mut Vec<u32>,
    distances: &mut Vec<f32>,
) -> Option<()> {
    let mut kept = 0;
    for (&id, &d) in a.ids.iter().zip(&a.distances) {
        if id == row || kept == k {
            continue;
        }
        ids.push(id);
        distances.push(d);
        kept += 1;
    }
    (kept == k).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;

    #[test]
    fn exact_graph_leaves_out_each_row_itself_and_matches_a_scan() {
        let ds = Arc::new(crate::testutil::random_dataset(300, 8, Metric::L2, 5));
        let g = exact(&ds, 5, &WorkContext::detached()).expect("graph");
        assert_eq!((g.len(), g.k), (300, 5));
        for i in [0usize, 17, 299] {
            let (ids, dists) = g.row(i);
            assert!(!ids.contains(&(i as u32)));
            let mut all: Vec<(f32, u32)> = (0..300u32)
                .filter(|&j| j as usize != i)
                .map(|j| (Metric::L2.distance(ds.row(i), ds.row(j as usize)), j))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            let want: Vec<u32> = all[..5].iter().map(|p| p.1).collect();
            assert_eq!(ids, &want[..], "row {i}");
            assert!((dists[0] - all[0].0).abs() < 1e-4);
        }
    }

    #[test]
    fn a_duplicate_before_the_row_itself_is_kept_and_the_row_dropped() {
        let a = Neighbors {
            ids: vec![9, 4, 2],
            distances: vec![0.0, 0.0, 1.0],
            ..Default::default()
        };
        let (mut ids, mut d) = (Vec::new(), Vec::new());
        push_others(4, &a, 2, &mut ids, &mut d).expect("two others");
        assert_eq!(ids, [9, 2]);
        // Missed by an approximate search: the first k kept.
        let (mut ids, mut d) = (Vec::new(), Vec::new());
        push_others(7, &a, 2, &mut ids, &mut d).expect("two others");
        assert_eq!(ids, [9, 4]);
        assert!(push_others(9, &a, 3, &mut ids, &mut d).is_none());
    }

    #[test]
    fn too_few_vectors_for_the_neighbours_asked_are_refused_by_name() {
        let ds = Arc::new(crate::testutil::random_dataset(10, 4, Metric::L2, 1));
        let e = exact(&ds, 10, &WorkContext::detached()).expect_err("10 rows, 10 others");
        assert!(e.to_string().contains("at least 11 vectors"), "{e}");
        assert!(e.to_string().contains("random-1"), "{e}");
    }
}
