//! UMAP's fuzzy graph: each row's neighbours as memberships, made
//! symmetric (umap-learn's `smooth_knn_dist`, `compute_membership_strengths`
//! and fuzzy union), the graph both the spectral start and the epochs read.

use super::knn::KnnGraph;
use crate::distance::Metric;

/// A distance as the fuzzy set reads it (see [`super::umap`]'s module doc).
pub(super) fn umap_distance(metric: Metric, d: f32, nearest: f32) -> f32 {
    match metric {
        Metric::L2 => d.max(0.0).sqrt(),
        Metric::Cosine => d.max(0.0),
        Metric::InnerProduct => (d - nearest).max(0.0),
    }
}

/// umap-learn's `smooth_knn_dist` for one row (`dists` ascending, the
/// point itself left out): (ρ, σ).
pub(super) fn smooth_knn(dists: &[f32], n_neighbors: usize, mean_all: f64) -> (f64, f64) {
    const TOLERANCE: f64 = 1e-5;
    const MIN_K_DIST_SCALE: f64 = 1e-3;
    let target = (n_neighbors as f64).log2();
    let rho = dists.iter().find(|&&d| d > 0.0).map_or(0.0, |&d| d as f64);
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let psum: f64 = dists
            .iter()
            .map(|&d| {
                let d = d as f64 - rho;
                if d > 0.0 {
                    (-d / mid).exp()
                } else {
                    1.0
                }
            })
            .sum();
        if (psum - target).abs() < TOLERANCE {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() {
                mid * 2.0
            } else {
                (lo + hi) / 2.0
            };
        }
    }
    let floor = if rho > 0.0 {
        // umap-learn's mean includes the point's own zero distance.
        let sum: f64 = dists.iter().map(|&d| d as f64).sum();
        MIN_K_DIST_SCALE * sum / (dists.len() + 1) as f64
    } else {
        MIN_K_DIST_SCALE * mean_all
    };
    (rho, mid.max(floor))
}

/// Membership weights of one row's neighbours.
pub(super) fn memberships(dists: &[f32], n_neighbors: usize, mean_all: f64, out: &mut Vec<f32>) {
    let (rho, sigma) = smooth_knn(dists, n_neighbors, mean_all);
    out.clear();
    out.extend(dists.iter().map(|&d| {
        let d = d as f64 - rho;
        if d <= 0.0 || sigma == 0.0 {
            1.0
        } else {
            (-d / sigma).exp() as f32
        }
    }));
}

/// The graph's distances as the fuzzy set reads them, `k` per row.
pub(super) fn fuzzy_distances(graph: &KnnGraph, k: usize, metric: Metric) -> Vec<f32> {
    let mut out = Vec::with_capacity(graph.len() * k);
    for i in 0..graph.len() {
        let (_, d) = graph.row(i);
        out.extend(d[..k].iter().map(|&x| umap_distance(metric, x, d[0])));
    }
    out
}

/// The symmetric fuzzy graph, as directed edges sorted by head (both
/// directions of each pair present, as umap-learn's COO matrix).
#[derive(Clone, Debug, Default)]
pub struct FuzzyGraph {
    pub heads: Vec<u32>,
    pub tails: Vec<u32>,
    pub weights: Vec<f32>,
}

/// The fuzzy union of each row's memberships.
pub fn fuzzy_graph(graph: &KnnGraph, n_neighbors: usize, metric: Metric) -> FuzzyGraph {
    let k = n_neighbors.saturating_sub(1).max(1).min(graph.k);
    let dists = fuzzy_distances(graph, k, metric);
    let mean_all = dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len().max(1) as f64;
    let mut directed: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * dists.len());
    let mut w = Vec::with_capacity(k);
    for i in 0..graph.len() {
        memberships(&dists[i * k..(i + 1) * k], n_neighbors, mean_all, &mut w);
        for (&j, &wij) in graph.row(i).0[..k].iter().zip(&w) {
            if j as usize != i && wij > 0.0 {
                directed.push((i as u32, j, wij));
            }
        }
    }
    // Each edge once in each direction, with a flag for which it is.
    let mut both: Vec<(u32, u32, f32, bool)> = Vec::with_capacity(2 * directed.len());
    for &(i, j, w) in &directed {
        both.push((i, j, w, true));
        both.push((j, i, w, false));
    }
    drop(directed);
    both.sort_unstable_by_key(|e| (e.0, e.1, !e.3));
    let mut g = FuzzyGraph::default();
    let mut at = 0;
    while at < both.len() {
        let (i, j) = (both[at].0, both[at].1);
        // A pair's entries: at most one "i → j" (own) and one "j → i".
        let (mut own, mut theirs) = (0.0f32, 0.0f32);
        while at < both.len() && both[at].0 == i && both[at].1 == j {
            if both[at].3 {
                own = own.max(both[at].2);
            } else {
                theirs = theirs.max(both[at].2);
            }
            at += 1;
        }
        g.heads.push(i);
        g.tails.push(j);
        g.weights.push(own + theirs - own * theirs);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_brings_the_memberships_to_log2_of_the_neighbours() {
        let dists = [0.5f32, 0.6, 0.7, 0.9, 1.2, 1.3, 1.5];
        let (rho, sigma) = smooth_knn(&dists, 8, 1.0);
        assert_eq!(rho, 0.5);
        let mut w = Vec::new();
        memberships(&dists, 8, 1.0, &mut w);
        let total: f32 = w.iter().sum();
        assert!((total - 3.0).abs() < 1e-3, "sum {total}, sigma {sigma}");
        assert_eq!(w[0], 1.0, "the nearest is a full member");
    }

    #[test]
    fn the_union_is_symmetric_with_probabilistic_or() {
        // 0 ↔ 1 both ways, 2 → 0 one way.
        let g = KnnGraph {
            k: 1,
            ids: vec![1, 0, 0],
            distances: vec![1.0, 1.0, 4.0],
            source: "test".into(),
            seconds: 0.0,
        };
        let f = fuzzy_graph(&g, 2, Metric::L2);
        let edges: Vec<(u32, u32, f32)> = (0..f.heads.len())
            .map(|e| (f.heads[e], f.tails[e], f.weights[e]))
            .collect();
        // Each row's only neighbour is its nearest: weight 1.
        assert_eq!(edges, [(0, 1, 1.0), (0, 2, 1.0), (1, 0, 1.0), (2, 0, 1.0)]);
    }
}
