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
/// Centroids per sub-space (one byte per code).
pub const CENTROIDS: usize = 256;
/// Rows the codebooks are learnt on, at most.
const TRAIN_ROWS: usize = 10_000;
/// Lloyd iterations per sub-space.
const ITERATIONS: usize = 12;

pub struct ProductModel {
    m: usize,
    dsub: usize,
    /// Sub-space `s`, centroid `c`: `centroids[(s * 256 + c) * dsub..][..dsub]`.
    centroids: Vec<f32>,
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The nearest of `k` centroids (each `d` long) to `v`.
fn nearest(v: &[f32], centroids: &[f32], d: usize) -> usize {
    let mut best = (f32::INFINITY, 0);
    for (c, cv) in centroids.chunks_exact(d).enumerate() {
        let dist = l2(v, cv);
        if dist < best.0 {
            best = (dist, c);
        }
    }
    best.1
}

impl ProductModel {
    /// Checks that `m` sub-spaces divide `dim`.
    pub fn check(dim: usize, m: usize) -> Result<()> {
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(Error::InvalidParameter(format!(
                "pq:{m}: the number of sub-spaces must divide the dimension {dim} (e.g. pq:{})",
                [96, 64, 48, 32, 16, 8]
                    .iter()
                    .find(|&&d| dim.is_multiple_of(d))
                    .unwrap_or(&1)
            )));
        }
        Ok(())
    }

    pub fn train(vectors: &[f32], dim: usize, m: usize, seed: u64) -> Result<Self> {
        Self::check(dim, m)?;
        let n = vectors.len() / dim;
        let dsub = dim / m;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5051);
        let rows: Vec<usize> = if n > TRAIN_ROWS {
            let mut r = sample(&mut rng, n, TRAIN_ROWS).into_vec();
            r.sort_unstable();
            r
        } else {
            (0..n).collect()
        };
        let k = CENTROIDS.min(rows.len());
        let init: Vec<usize> = sample(&mut rng, rows.len(), k).into_vec();
        let centroids: Vec<Vec<f32>> = (0..m)
            .into_par_iter()
            .map(|s| {
                let sub = |r: usize| &vectors[r * dim + s * dsub..r * dim + (s + 1) * dsub];
                let mut c = vec![0f32; CENTROIDS * dsub];
                for (j, &i) in init.iter().enumerate() {
                    c[j * dsub..(j + 1) * dsub].copy_from_slice(sub(rows[i]));
                }
                for _ in 0..ITERATIONS {
                    let mut sums = vec![0f64; k * dsub];
                    let mut counts = vec![0usize; k];
                    for &r in &rows {
                        let v = sub(r);
                        let j = nearest(v, &c[..k * dsub], dsub);
                        counts[j] += 1;
                        for (t, &x) in sums[j * dsub..(j + 1) * dsub].iter_mut().zip(v) {
                            *t += f64::from(x);
                        }
                    }
                    for j in 0..k {
                        // An empty cluster keeps its centroid.
                        if counts[j] > 0 {
                            for t in 0..dsub {
                                c[j * dsub + t] = (sums[j * dsub + t] / counts[j] as f64) as f32;
                            }
                        }
                    }
                }
                // Unused centroids (fewer rows than 256) stay far away.
                for v in &mut c[k * dsub..] {
                    *v = f32::MAX / 4.0;
                }
                c
            })
            .collect();
        Ok(ProductModel {
            m,
            dsub,
            centroids: centroids.into_iter().flatten().collect(),
        })
    }

    pub fn bytes(&self) -> usize {
        self.centroids.capacity() * 4
    }

    fn book(&self, s: usize) -> &[f32] {
        &self.centroids[s * CENTROIDS * self.dsub..(s + 1) * CENTROIDS * self.dsub]
    }

    pub fn encode(&self, x: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        for (s, code) in row.iter_mut().enumerate().take(self.m) {
            *code = nearest(
                &x[s * self.dsub..(s + 1) * self.dsub],
                self.book(s),
                self.dsub,
            ) as u8;
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
            let c = c as usize;
            out.extend_from_slice(&self.book(s)[c * self.dsub..(c + 1) * self.dsub]);
        }
        out
    }

    /// The query's tables into `lut` (`m × 256`): squared distances under
    /// L2, dot products otherwise.
    pub fn prepare(&self, q: &[f32], metric: Metric, lut: &mut [f32]) {
        for s in 0..self.m {
            let qs = &q[s * self.dsub..(s + 1) * self.dsub];
            for (c, cv) in self.book(s).chunks_exact(self.dsub).enumerate() {
                lut[s * CENTROIDS + c] = match metric {
                    Metric::L2 => l2(qs, cv),
                    _ => qs.iter().zip(cv).map(|(a, b)| a * b).sum(),
                };
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
