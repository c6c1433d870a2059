//! Seeded data for tests (unit, integration and benchmarks).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::dataset::Dataset;
use crate::distance::Metric;

/// `n` vectors of `dim` values uniform in [-1, 1), from `seed`.
pub fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect()
}

/// A seeded random dataset.
pub fn random_dataset(n: usize, dim: usize, metric: Metric, seed: u64) -> Dataset {
    match Dataset::from_vec(
        format!("random-{seed}"),
        random_vectors(n, dim, seed),
        dim,
        metric,
    ) {
        Ok(d) => d,
        Err(e) => panic!("random_dataset({n}, {dim}): {e}"),
    }
}
