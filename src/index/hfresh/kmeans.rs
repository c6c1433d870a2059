//! Clustering for HFresh: k-means++ seeding and Lloyd iterations (spherical
//! under cosine: centroids renormalised), with the assignment step as one
//! blocked matrix product through the flat index; and 2-means for splits.
//!
//! Vectors here are already prepared for the metric (unit length under
//! cosine), so `Metric::prepared_distance` applies throughout.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::dataset::{Dataset, Vectors};
use crate::distance::{self, Metric};
use crate::error::Result;
use crate::index::FlatIndex;
use crate::progress::WorkContext;

/// The nearest `m` centroids of every row of `data` (exact, by gemm):
/// (centroid index, distance), nearest first.
pub(super) fn nearest_centroids(
    data: &Vectors,
    centroids: &[f32],
    dim: usize,
    metric: Metric,
    m: usize,
    ctx: &WorkContext,
) -> Result<Vec<Vec<(u32, f32)>>> {
    let cents = Arc::new(Dataset::from_vec(
        "centroids",
        centroids.to_vec(),
        dim,
        metric,
    )?);
    let flat = FlatIndex::build(cents, &WorkContext::detached())?;
    let found = flat.search_batch_with(data, m, None, ctx)?;
    Ok(found
        .into_iter()
        .map(|n| n.ids.into_iter().zip(n.distances).collect())
        .collect())
}

fn renormalise(metric: Metric, c: &mut [f32]) {
    if metric == Metric::Cosine {
        distance::normalize(c);
    }
}

/// k-means++ seeds: the first at random, each next with probability
/// proportional to its squared distance from the nearest seed so far.
fn seed_plus_plus(rows: &[&[f32]], k: usize, metric: Metric, rng: &mut StdRng) -> Vec<Vec<f32>> {
    let n = rows.len();
    let mut seeds = vec![rows[rng.random_range(0..n)].to_vec()];
    let mut nearest: Vec<f32> = rows
        .par_iter()
        .map(|r| metric.prepared_distance(r, &seeds[0]).max(0.0))
        .collect();
    while seeds.len() < k {
        let total: f64 = nearest.iter().map(|&d| d as f64 * d as f64).sum();
        let pick = if total <= 0.0 {
            rng.random_range(0..n)
        } else {
            let mut t = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (i, &d) in nearest.iter().enumerate() {
                t -= d as f64 * d as f64;
                if t <= 0.0 {
                    chosen = i;
                    break;
                }
            }
            chosen
        };
        let seed = rows[pick].to_vec();
        nearest
            .par_iter_mut()
            .zip(rows.par_iter())
            .for_each(|(best, r)| {
                let d = metric.prepared_distance(r, &seed).max(0.0);
                if d < *best {
                    *best = d;
                }
            });
        seeds.push(seed);
    }
    seeds
}

/// k-means on `rows` (at most `sample_max` of them, sampled with `seed`):
/// returns `k` centroids, row-major.
pub(super) fn kmeans(
    data: &Vectors,
    k: usize,
    metric: Metric,
    iterations: usize,
    sample_max: usize,
    seed: u64,
    ctx: &WorkContext,
) -> Result<Vec<f32>> {
    let (n, dim) = (data.len(), data.dim());
    let k = k.clamp(1, n.max(1));
    let mut rng = StdRng::seed_from_u64(seed);
    let picked: Vec<usize> = if n > sample_max {
        let mut v = sample(&mut rng, n, sample_max).into_vec();
        v.sort_unstable();
        v
    } else {
        (0..n).collect()
    };
    let sample_vectors = data.gather(&picked);
    let rows: Vec<&[f32]> = sample_vectors.rows().collect();
    ctx.progress.stage("k-means: seeding", 1);
    let seeds = seed_plus_plus(&rows, k, metric, &mut rng);
    let mut centroids: Vec<f32> = seeds.concat();
    ctx.cancel.check()?;
    ctx.progress.stage("k-means: iterating", iterations as u64);
    for _ in 0..iterations {
        let assign = nearest_centroids(&sample_vectors, &centroids, dim, metric, 1, ctx)?;
        let mut sums = vec![0.0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (r, a) in rows.iter().zip(&assign) {
            let c = a[0].0 as usize;
            counts[c] += 1;
            for (s, &x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(r.iter()) {
                *s += x as f64;
            }
        }
        for c in 0..k {
            let out = &mut centroids[c * dim..(c + 1) * dim];
            if counts[c] == 0 {
                // An empty cluster restarts at a random row.
                out.copy_from_slice(rows[rng.random_range(0..rows.len())]);
                continue;
            }
            for (o, s) in out.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                *o = (*s / counts[c] as f64) as f32;
            }
            renormalise(metric, out);
        }
        ctx.progress.add(1);
        ctx.cancel.check()?;
    }
    Ok(centroids)
}

/// Splits `rows` in two with 2-means: the two centroids and, per row,
/// whether it goes to the second.
pub(super) fn two_means(
    rows: &[&[f32]],
    metric: Metric,
    seed: u64,
) -> (Vec<f32>, Vec<f32>, Vec<bool>) {
    let dim = rows.first().map_or(0, |r| r.len());
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds = seed_plus_plus(rows, 2.min(rows.len()).max(1), metric, &mut rng);
    let mut a = seeds[0].clone();
    let mut b = seeds.get(1).cloned().unwrap_or_else(|| a.clone());
    let mut side = vec![false; rows.len()];
    for _ in 0..12 {
        let mut changed = false;
        for (s, r) in side.iter_mut().zip(rows) {
            let to_b = metric.prepared_distance(r, &b) < metric.prepared_distance(r, &a);
            changed |= to_b != *s;
            *s = to_b;
        }
        let (mut sa, mut sb) = (vec![0.0f64; dim], vec![0.0f64; dim]);
        let (mut na, mut nb) = (0usize, 0usize);
        for (s, r) in side.iter().zip(rows) {
            let (sum, n) = if *s {
                (&mut sb, &mut nb)
            } else {
                (&mut sa, &mut na)
            };
            *n += 1;
            for (t, &x) in sum.iter_mut().zip(r.iter()) {
                *t += x as f64;
            }
        }
        if na == 0 || nb == 0 {
            // Identical rows: halve by position so both sides are used.
            for (i, s) in side.iter_mut().enumerate() {
                *s = i % 2 == 1;
            }
            a = rows[0].to_vec();
            b = rows[rows.len().min(2) - 1].to_vec();
            return (a, b, side);
        }
        for (o, s) in a.iter_mut().zip(&sa) {
            *o = (*s / na as f64) as f32;
        }
        for (o, s) in b.iter_mut().zip(&sb) {
            *o = (*s / nb as f64) as f32;
        }
        renormalise(metric, &mut a);
        renormalise(metric, &mut b);
        if !changed {
            break;
        }
    }
    (a, b, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_means_separates_two_blobs_and_halves_duplicates() {
        let mut rows = Vec::new();
        for i in 0..40 {
            let x = if i % 2 == 0 { -5.0 } else { 5.0 };
            rows.push(vec![x + (i as f32) * 0.01, 1.0]);
        }
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let (a, b, side) = two_means(&refs, Metric::L2, 1);
        for (i, s) in side.iter().enumerate() {
            assert_eq!(*s, side[i % 2], "rows of one blob go together");
        }
        assert_ne!(side[0], side[1]);
        assert!((a[0] - b[0]).abs() > 9.0);
        let dup = vec![vec![1.0f32, 2.0]; 10];
        let refs: Vec<&[f32]> = dup.iter().map(|r| r.as_slice()).collect();
        let (_, _, side) = two_means(&refs, Metric::L2, 1);
        assert_eq!(side.iter().filter(|&&s| s).count(), 5);
    }

    #[test]
    fn kmeans_finds_well_separated_clusters() {
        let mut data = Vec::new();
        let centres = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        for i in 0..400 {
            let c = centres[i % 4];
            data.extend_from_slice(&[c[0] + (i % 7) as f32 * 0.05, c[1] + (i % 5) as f32 * 0.05]);
        }
        let v = Vectors::from_vec(data, 2).unwrap();
        let cents = kmeans(&v, 4, Metric::L2, 10, 10_000, 3, &WorkContext::detached()).unwrap();
        for c in centres {
            let near = cents
                .chunks(2)
                .any(|k| (k[0] - c[0]).abs() < 1.0 && (k[1] - c[1]).abs() < 1.0);
            assert!(near, "no centroid near {c:?}: {cents:?}");
        }
    }
}
