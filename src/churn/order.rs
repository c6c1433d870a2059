//! A clustered order of the base: rows grouped by their nearest of a few
//! seeded centroids, as big-ann-benchmarks' "clustered" runbooks insert
//! (their files are reordered by cluster). Deterministic for a base and a
//! seed, on any number of threads: centroids start at seeded rows, two
//! Lloyd steps move them (sums in row order), and ties go to the lower
//! centroid.

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// The permutation (position → base row) and each cluster's size, in order.
pub struct Clustered {
    pub rows: Vec<u32>,
    pub sizes: Vec<usize>,
}

const LLOYD_STEPS: usize = 2;

pub fn clustered(base: &Dataset, clusters: usize, seed: u64) -> Result<Clustered> {
    let (n, dim, metric) = (base.len(), base.dim(), base.metric());
    if clusters == 0 || clusters > n {
        return Err(Error::InvalidParameter(format!(
            "{clusters} clusters for {n} rows: give between 1 and the number of rows"
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centroids: Vec<f32> = sample(&mut rng, n, clusters)
        .into_iter()
        .flat_map(|r| base.row(r).to_vec())
        .collect();
    let assign = |centroids: &[f32]| -> Vec<u32> {
        (0..n)
            .into_par_iter()
            .map(|r| {
                let row = base.row(r);
                let mut best = (f32::INFINITY, 0u32);
                for (c, cen) in centroids.chunks_exact(dim).enumerate() {
                    let d = metric.distance(row, cen);
                    if d < best.0 {
                        best = (d, c as u32);
                    }
                }
                best.1
            })
            .collect()
    };
    let mut of = assign(&centroids);
    for _ in 0..LLOYD_STEPS {
        let mut sums = vec![0f64; clusters * dim];
        let mut counts = vec![0usize; clusters];
        for (r, &c) in of.iter().enumerate() {
            counts[c as usize] += 1;
            let s = &mut sums[c as usize * dim..(c as usize + 1) * dim];
            for (a, &x) in s.iter_mut().zip(base.row(r)) {
                *a += f64::from(x);
            }
        }
        for c in 0..clusters {
            if counts[c] > 0 {
                for j in 0..dim {
                    centroids[c * dim + j] = (sums[c * dim + j] / counts[c] as f64) as f32;
                }
            }
        }
        of = assign(&centroids);
    }
    let mut rows: Vec<u32> = (0..n as u32).collect();
    rows.sort_by_key(|&r| (of[r as usize], r));
    let mut sizes = vec![0usize; clusters];
    for &c in &of {
        sizes[c as usize] += 1;
    }
    Ok(Clustered { rows, sizes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;
    use crate::testutil::random_dataset;

    #[test]
    fn the_order_is_a_permutation_grouped_by_cluster_and_repeats_for_a_seed() {
        let base = random_dataset(600, 8, Metric::L2, 5);
        let a = clustered(&base, 6, 1).expect("order");
        let mut seen = a.rows.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..600).collect::<Vec<u32>>());
        assert_eq!(a.sizes.iter().sum::<usize>(), 600);
        let b = crate::job::with_threads(Some(1), || clustered(&base, 6, 1))
            .expect("pool")
            .expect("order");
        assert_eq!(a.rows, b.rows, "the same on one thread");
        assert_ne!(clustered(&base, 6, 2).expect("order").rows, a.rows);
    }
}
