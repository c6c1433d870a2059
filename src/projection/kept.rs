//! Neighbours kept: how far a projection can be believed.
//!
//! For a point, the share of its exact [`KEPT_K`] nearest neighbours (in
//! the index's metric, itself left out) that are among its `KEPT_K`
//! nearest on the plane. The mean, `neighbours_kept_10`, is measured on a
//! seeded sample of at most [`SAMPLE`] points against exact neighbours (a
//! blocked scan of the whole base per sampled point, seconds at 100k); the
//! per-point shares that colour the app's scatter are measured for every
//! point against the k-NN graph the projection was fitted on, which is
//! exact or an index's answer (its recall against the exact neighbours on
//! the sample is reported beside, so the colouring's own error is known).

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;

use super::grid::PlaneGrid;
use super::knn::{self, KnnGraph};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::progress::WorkContext;

/// Neighbours compared per point.
pub const KEPT_K: usize = 10;
/// Points the mean is measured on, at most.
pub const SAMPLE: usize = 10_000;

/// Exact neighbours of a seeded sample of the base: what every
/// projection of the same base is judged against.
#[derive(Clone, Debug)]
pub struct ExactSample {
    /// Sampled rows, ascending.
    pub rows: Vec<usize>,
    /// Their exact `KEPT_K` nearest other rows, row after row.
    pub neighbours: Vec<u32>,
    /// Seconds the scan took.
    pub seconds: f64,
}

impl ExactSample {
    /// Exact neighbours of `min(n, SAMPLE)` rows drawn with `seed`.
    pub fn compute(base: &Arc<Dataset>, seed: u64, ctx: &WorkContext) -> Result<ExactSample> {
        knn::check_size(base, KEPT_K)?;
        let started = std::time::Instant::now();
        let n = base.len();
        let rows: Vec<usize> = if n <= SAMPLE {
            (0..n).collect()
        } else {
            let mut r = sample(&mut StdRng::seed_from_u64(seed), n, SAMPLE).into_vec();
            r.sort_unstable();
            r
        };
        let neighbours = knn::exact_rows(base, &rows, KEPT_K, ctx)?.ids;
        Ok(ExactSample {
            rows,
            neighbours,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// A projection's neighbours kept.
#[derive(Clone, Debug, Serialize)]
pub struct NeighboursKept {
    /// `neighbours_kept_10`: the mean share over the sample, against exact
    /// neighbours.
    pub mean: f64,
    /// Points the mean was measured on.
    pub sample: usize,
    /// Each base point's share against the k-NN graph (None without one).
    #[serde(skip)]
    pub per_point: Option<Vec<f32>>,
    /// The graph's recall@10 against the exact neighbours on the sample
    /// (None without a graph).
    pub graph_recall: Option<f64>,
    /// Seconds the sample's exact neighbours took.
    pub exact_seconds: f64,
}

/// Share of `a`'s ids that are in `b`.
fn overlap(a: &[u32], b: &[u32]) -> f32 {
    a.iter().filter(|x| b.contains(x)).count() as f32 / a.len().max(1) as f32
}

/// Each of `rows`' shares: its `KEPT_K` neighbours in `high` (row after
/// row) against its `KEPT_K` nearest on the plane.
fn shares(
    grid: &PlaneGrid,
    points: &[[f32; 2]],
    rows: &[usize],
    high: &[u32],
    stride: usize,
) -> Vec<f32> {
    rows.par_iter()
        .enumerate()
        .map_init(
            || (Vec::with_capacity(KEPT_K), Vec::with_capacity(KEPT_K)),
            |(near, ids), (i, &row)| {
                grid.nearest(points[row], KEPT_K, Some(row as u32), near);
                ids.clear();
                ids.extend(near.iter().map(|e| e.1));
                overlap(&high[i * stride..i * stride + KEPT_K], ids)
            },
        )
        .collect()
}

/// Measures `points` (one per base row, bucketed in `grid`) against
/// `exact` and, when given, every point against `graph` (at least
/// `KEPT_K` neighbours per row).
pub fn measure(
    grid: &PlaneGrid,
    points: &[[f32; 2]],
    exact: &ExactSample,
    graph: Option<&KnnGraph>,
) -> NeighboursKept {
    let on_sample = shares(grid, points, &exact.rows, &exact.neighbours, KEPT_K);
    let mean = on_sample.iter().map(|&s| s as f64).sum::<f64>() / on_sample.len().max(1) as f64;
    let graph = graph.filter(|g| g.k >= KEPT_K && g.len() == points.len());
    let per_point = graph.map(|g| {
        let all: Vec<usize> = (0..points.len()).collect();
        shares(grid, points, &all, &g.ids, g.k)
    });
    let graph_recall = graph.map(|g| {
        let hits: f64 = exact
            .rows
            .iter()
            .enumerate()
            .map(|(i, &row)| {
                overlap(
                    &exact.neighbours[i * KEPT_K..(i + 1) * KEPT_K],
                    &g.row(row).0[..KEPT_K],
                ) as f64
            })
            .sum();
        hits / exact.rows.len().max(1) as f64
    });
    NeighboursKept {
        mean,
        sample: exact.rows.len(),
        per_point,
        graph_recall,
        exact_seconds: exact.seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;

    /// Data on a 2-D plane inside 16-d space, projected onto that plane
    /// (up to rotation): every neighbour is kept.
    #[test]
    fn a_faithful_picture_keeps_every_neighbour() {
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(9);
        let (n, dim) = (2000, 16);
        let mut data = Vec::with_capacity(n * dim);
        let mut plane = Vec::with_capacity(n);
        for _ in 0..n {
            let (x, y): (f32, f32) = (rng.random(), rng.random());
            plane.push([x * 0.6 - y * 0.8, x * 0.8 + y * 0.6]);
            let mut row = vec![0.0f32; dim];
            row[3] = x;
            row[11] = y;
            data.extend_from_slice(&row);
        }
        let ds = Arc::new(Dataset::from_vec("plane", data, dim, Metric::L2).expect("data"));
        let exact = ExactSample::compute(&ds, 1, &WorkContext::detached()).expect("exact");
        assert_eq!(exact.rows.len(), n);
        let graph = knn::exact(&ds, 12, &WorkContext::detached()).expect("graph");
        let kept = measure(&PlaneGrid::new(&plane), &plane, &exact, Some(&graph));
        assert!(kept.mean > 0.999, "{}", kept.mean);
        assert_eq!(kept.graph_recall, Some(1.0));
        let per = kept.per_point.expect("per point");
        assert!(per.iter().all(|&s| s > 0.999));
        // PCA finds that plane: it keeps every neighbour too.
        let pca = super::super::pca::project(&ds, None, &WorkContext::detached()).expect("pca");
        let kept = measure(&pca.grid, &pca.base, &exact, None);
        assert!(kept.mean > 0.999, "PCA kept {}", kept.mean);
        // Shuffled positions keep almost nothing.
        let mut shuffled = plane.clone();
        shuffled.rotate_left(7);
        let kept = measure(&PlaneGrid::new(&shuffled), &shuffled, &exact, None);
        assert!(kept.mean < 0.05, "{}", kept.mean);
        assert!(kept.per_point.is_none());
    }

    #[test]
    fn the_sample_is_seeded_and_bounded() {
        let ds = Arc::new(crate::testutil::random_dataset(
            SAMPLE + 500,
            4,
            Metric::L2,
            2,
        ));
        let a = ExactSample::compute(&ds, 5, &WorkContext::detached()).expect("a");
        let b = ExactSample::compute(&ds, 5, &WorkContext::detached()).expect("b");
        assert_eq!(a.rows.len(), SAMPLE);
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.neighbours, b.neighbours);
    }
}
