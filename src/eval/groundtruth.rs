//! Exact ground truth: each query's true top-k ids and distances.

use std::path::Path;
use std::sync::Arc;

use crate::dataset::{Dataset, IdRows, Vectors};
use crate::error::{Error, Result};
use crate::index::{AllowList, FlatIndex};
use crate::progress::WorkContext;

/// True neighbours of each query, nearest first, with their distances.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    k: usize,
    ids: Vec<u32>,
    distances: Vec<f32>,
}

impl GroundTruth {
    /// From row-major ids and distances, `k` per query.
    pub fn from_parts(k: usize, ids: Vec<u32>, distances: Vec<f32>) -> Result<Self> {
        if k == 0 || !ids.len().is_multiple_of(k) || ids.len() != distances.len() {
            return Err(Error::Internal(format!(
                "ground truth of {} ids and {} distances is not rows of {k}",
                ids.len(),
                distances.len()
            )));
        }
        Ok(GroundTruth { k, ids, distances })
    }

    /// Computes the exact top-k of every query with the flat index's blocked
    /// product, on the current rayon pool. Validates the base first.
    pub fn compute(
        base: &Arc<Dataset>,
        queries: &Vectors,
        k: usize,
        ctx: &WorkContext,
    ) -> Result<Self> {
        Self::compute_filtered(base, queries, k, None, ctx)
    }

    /// Exact top-k among the ids `filter` allows (all when `None`); k is
    /// cut to the number allowed.
    pub fn compute_filtered(
        base: &Arc<Dataset>,
        queries: &Vectors,
        k: usize,
        filter: Option<&AllowList>,
        ctx: &WorkContext,
    ) -> Result<Self> {
        if k == 0 {
            return Err(Error::InvalidParameter("k must be at least 1".into()));
        }
        base.validate(ctx)?;
        let flat = FlatIndex::build(base.clone(), ctx)?;
        let results = flat.search_batch_with(queries, k, filter, ctx)?;
        let allowed = filter.map_or(base.len(), |f| f.count());
        let k = k.min(base.len()).min(allowed);
        if k == 0 {
            return Err(Error::InvalidParameter("the filter allows no ids".into()));
        }
        let mut ids = Vec::with_capacity(results.len() * k);
        let mut distances = Vec::with_capacity(results.len() * k);
        for r in results {
            ids.extend_from_slice(&r.ids);
            distances.extend_from_slice(&r.distances);
        }
        Self::from_parts(k, ids, distances)
    }

    /// Ground truth read from a file of ids (`source`, for messages): checks
    /// it against the base and queries, and computes the distances.
    pub fn from_id_rows(
        rows: IdRows,
        base: &Dataset,
        queries: &Vectors,
        source: &Path,
    ) -> Result<Self> {
        if rows.n != queries.len() {
            return Err(Error::Mismatch(format!(
                "{}: ground truth has {} rows, but there are {} queries",
                source.display(),
                rows.n,
                queries.len()
            )));
        }
        if let Some((i, &id)) = rows
            .ids
            .iter()
            .enumerate()
            .find(|(_, &id)| id as usize >= base.len())
        {
            return Err(Error::BadValue {
                path: source.to_path_buf(),
                row: i / rows.k,
                problem: format!(
                    "neighbour id {id} is out of range: the base has {} vectors",
                    base.len()
                ),
            });
        }
        let metric = base.metric();
        let mut distances = Vec::with_capacity(rows.ids.len());
        for qi in 0..rows.n {
            let q = queries.row(qi);
            distances.extend(
                rows.row(qi)
                    .iter()
                    .map(|&id| metric.distance(q, base.row(id as usize))),
            );
        }
        Self::from_parts(rows.k, rows.ids, distances)
    }

    /// The ground truth of some of the queries, in the order given (a
    /// split of the queries into tuning and held-out halves).
    pub fn select(&self, queries: &[usize]) -> GroundTruth {
        let mut ids = Vec::with_capacity(queries.len() * self.k);
        let mut distances = Vec::with_capacity(queries.len() * self.k);
        for &q in queries {
            ids.extend_from_slice(self.ids(q));
            distances.extend_from_slice(self.distances(q));
        }
        GroundTruth {
            k: self.k,
            ids,
            distances,
        }
    }

    /// Queries covered.
    pub fn n_queries(&self) -> usize {
        self.ids.len() / self.k
    }
    /// Neighbours per query.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Query `i`'s true neighbour ids.
    pub fn ids(&self, i: usize) -> &[u32] {
        &self.ids[i * self.k..(i + 1) * self.k]
    }
    /// Query `i`'s true neighbour distances.
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
    /// The ids as .ivecs rows.
    pub fn to_id_rows(&self, k: usize) -> IdRows {
        let k = k.min(self.k);
        let n = self.n_queries();
        let ids = (0..n)
            .flat_map(|i| self.ids(i)[..k].iter().copied())
            .collect();
        IdRows { n, k, ids }
    }
    /// Raw parts, for the cache.
    pub(crate) fn parts(&self) -> (&[u32], &[f32]) {
        (&self.ids, &self.distances)
    }
}
