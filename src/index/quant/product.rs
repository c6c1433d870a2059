//! Product quantization (`pq:M`; Jégou, Douze & Schmid 2011): the vector
//! is cut into M sub-vectors, each replaced by the nearest of 256
//! centroids learnt by k-means in its sub-space (seeded), so a code is M
//! bytes. A query builds one table per sub-space (its distance or dot
//! product to each centroid) and a code's estimate is the sum of M table
//! entries, gathered 16 at a time with AVX-512 (8 with AVX2).
//!
//! Codebooks are learnt with L2 in each sub-space, as FAISS does, on a
//! seeded sample of at most [`TRAIN_ROWS`] rows. Factor per row: under
//! cosine the decoded vector's inverse norm (as for scalar codes).

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::distance::Metric;
use crate::error::{Error, Result};

pub const FACTORS: usize = 1;
/// Lloyd iterations per sub-space.
pub(super) const ITERATIONS: usize = 12;
/// Centroids per sub-space (one byte per code).
pub const CENTROIDS: usize = 256;
/// Rows the codebooks are learnt on, at most.
const TRAIN_ROWS: usize = 10_000;

pub struct ProductModel {
    m: usize,
    dsub: usize,
    /// Sub-space `s`'s codebook, one row of 256 values per coordinate
    /// (coordinate `t` of centroid `c` at `(s * dsub + t) * 256 + c`): the
    /// loops over all 256 centroids at once then run over contiguous rows,
    /// which the compiler vectorises.
    books: Vec<f32>,
}

/// The nearest centroid of a codebook (laid out as [`ProductModel::books`])
/// to `v`: the first of the smallest squared distances.
#[inline]
fn nearest(v: &[f32], book: &[f32]) -> usize {
    (super::kernels::kernels().nearest)(v, book)
}

/// The rows (sorted) codebooks are learnt on: all of them, or a seeded
/// sample of [`TRAIN_ROWS`].
pub(super) fn training_rows(n: usize, rng: &mut StdRng) -> Vec<usize> {
    if n <= TRAIN_ROWS {
        return (0..n).collect();
    }
    let mut r = sample(rng, n, TRAIN_ROWS).into_vec();
    r.sort_unstable();
    r
}

/// The rows of `vectors` named by `rows`, gathered.
pub(super) fn gather(vectors: &[f32], dim: usize, rows: &[usize]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&r| &vectors[r * dim..(r + 1) * dim])
        .copied()
        .collect()
}

impl ProductModel {
    /// Checks that `m` sub-spaces divide `dim` (`name`: pq or opq, for the message).
    pub fn check(name: &str, dim: usize, m: usize) -> Result<()> {
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(Error::InvalidParameter(format!(
                "{name}:{m}: the number of sub-spaces must divide the dimension {dim} (e.g. {name}:{})",
                [96, 64, 48, 32, 16, 8]
                    .iter()
                    .find(|&&d| dim.is_multiple_of(d))
                    .unwrap_or(&1)
            )));
        }
        Ok(())
    }

    pub fn train(vectors: &[f32], dim: usize, m: usize, seed: u64) -> Result<Self> {
        Self::check("pq", dim, m)?;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5051);
        let rows = training_rows(vectors.len() / dim, &mut rng);
        Self::fit(&gather(vectors, dim, &rows), dim, m, &mut rng, ITERATIONS)
    }

    /// Learns the codebooks on every row of `sample` with `iterations`
    /// Lloyd steps per sub-space, initial centroids drawn from `rng`.
    pub(super) fn fit(
        rows: &[f32],
        dim: usize,
        m: usize,
        rng: &mut StdRng,
        iterations: usize,
    ) -> Result<Self> {
        Self::check("pq", dim, m)?;
        let n = rows.len() / dim;
        let dsub = dim / m;
        let k = CENTROIDS.min(n);
        let init: Vec<usize> = sample(rng, n, k).into_vec();
        let books: Vec<f32> = (0..m)
            .into_par_iter()
            .flat_map_iter(|s| {
                // Unused centroids (fewer rows than 256) stay far away.
                let mut c = vec![f32::MAX / 4.0; CENTROIDS * dsub];
                for (j, &i) in init.iter().enumerate() {
                    let v = &rows[i * dim + s * dsub..i * dim + (s + 1) * dsub];
                    for (t, &x) in v.iter().enumerate() {
                        c[t * CENTROIDS + j] = x;
                    }
                }
                c
            })
            .collect();
        let mut model = ProductModel { m, dsub, books };
        model.lloyd(rows, iterations);
        Ok(model)
    }

    /// `iterations` Lloyd steps of every sub-space's codebook on `rows`
    /// (each row assigned to its nearest centroid, each centroid moved to
    /// the mean of its rows; an empty one stays), from the current codebooks.
    pub(super) fn lloyd(&mut self, rows: &[f32], iterations: usize) {
        let (m, dsub) = (self.m, self.dsub);
        let dim = m * dsub;
        let n = rows.len() / dim.max(1);
        self.books
            .par_chunks_mut(CENTROIDS * dsub)
            .enumerate()
            .for_each(|(s, c)| {
                let sub = |r: usize| &rows[r * dim + s * dsub..r * dim + (s + 1) * dsub];
                for _ in 0..iterations {
                    let mut sums = vec![0f64; CENTROIDS * dsub];
                    let mut counts = vec![0usize; CENTROIDS];
                    for r in 0..n {
                        let v = sub(r);
                        let j = nearest(v, c);
                        counts[j] += 1;
                        for (t, &x) in sums[j * dsub..(j + 1) * dsub].iter_mut().zip(v) {
                            *t += f64::from(x);
                        }
                    }
                    for j in 0..CENTROIDS {
                        if counts[j] > 0 {
                            for t in 0..dsub {
                                c[t * CENTROIDS + j] =
                                    (sums[j * dsub + t] / counts[j] as f64) as f32;
                            }
                        }
                    }
                }
            });
    }

    pub fn bytes(&self) -> usize {
        self.books.capacity() * 4
    }

    fn book(&self, s: usize) -> &[f32] {
        &self.books[s * CENTROIDS * self.dsub..(s + 1) * CENTROIDS * self.dsub]
    }

    pub fn encode(&self, x: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        for (s, code) in row.iter_mut().enumerate().take(self.m) {
            *code = nearest(&x[s * self.dsub..(s + 1) * self.dsub], self.book(s)) as u8;
        }
        let norm2: f32 = self.decode(row).iter().map(|v| v * v).sum();
        factors[0] = match metric {
            Metric::Cosine if norm2 > 0.0 => 1.0 / norm2.sqrt(),
            _ => 1.0,
        };
    }

    /// The concatenated centroids a code names.
    pub fn decode(&self, codes: &[u8]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.m * self.dsub);
        for (s, &c) in codes.iter().enumerate().take(self.m) {
            out.extend(
                self.book(s)
                    .chunks_exact(CENTROIDS)
                    .map(|row| row[c as usize]),
            );
        }
        out
    }

    /// The query's tables into `lut` (`m × 256`): squared distances under
    /// L2, dot products otherwise.
    pub fn prepare(&self, q: &[f32], metric: Metric, lut: &mut [f32]) {
        for (s, table) in lut.chunks_exact_mut(CENTROIDS).enumerate().take(self.m) {
            let qs = &q[s * self.dsub..(s + 1) * self.dsub];
            table.fill(0.0);
            for (&x, row) in qs.iter().zip(self.book(s).chunks_exact(CENTROIDS)) {
                for (d, &c) in table.iter_mut().zip(row) {
                    *d += match metric {
                        Metric::L2 => (x - c) * (x - c),
                        _ => x * c,
                    };
                }
            }
        }
    }
}

/// The estimated distance from the summed tables.
#[inline(always)]
pub fn distance(metric: Metric, sum: f32, f: &[f32]) -> f32 {
    match metric {
        Metric::L2 => sum,
        Metric::InnerProduct => -sum,
        Metric::Cosine => 1.0 - sum * f[0],
    }
}
