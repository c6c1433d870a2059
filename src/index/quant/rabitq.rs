//! RaBitQ (Gao & Long, SIGMOD 2024) and its multi-bit extension (Gao et
//! al., "Practical and Asymptotically Optimal Quantization of
//! High-Dimensional Vectors", SIGMOD 2025).
//!
//! Each vector `x` is centred on the data's centroid `c` (`u = x − c`),
//! normalised (`o = u/|u|`) and rotated by a seeded random orthogonal
//! matrix `R`. The code is the point `y` of a grid of half-integers
//! (`±1/2` for one bit; `−m … m`, `m = (2^B − 1)/2`, for B bits) closest
//! in angle to `R·o`, stored as `y + m`. With `a = ⟨y, R·o⟩/|y|` the
//! estimator is `⟨u, v⟩ ≈ |u| · ⟨y, R·v⟩ / (a · |y|)`, unbiased, with an
//! error at most `|u| · |v| · √(1 − a²)/a · ε₀/√(D − 1)` with high
//! probability (ε₀ = 3 here; see [`EPSILON0`]); that bound lets a search
//! skip the exact re-score of a candidate that cannot enter the top k.
//!
//! For one bit `y` is the sign of each rotated coordinate; for more, the
//! grid scale is chosen per vector by a search over a geometric range of
//! scales (the paper enumerates the critical scales exactly; a grid of 40
//! loses little at 4 and 8 bits and keeps encoding linear).
//!
//! Factors per row: `|u|/(a·|y|)`, the additive term (`|u|²` under L2,
//! `⟨u, c⟩` otherwise), the bound's coefficient, and `|u|` (for decoding).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::distance::{self, Metric};

pub const FACTORS: usize = 4;

/// ε₀ of the error bound, in standard deviations of the estimator's error
/// (which is close to normal): 3 leaves about 0.3% of estimates outside.
/// The paper's 1.9 left 5.6% outside on random data here (the quantizer's
/// tests), too many for a bound that decides what is never re-scored.
const EPSILON0: f32 = 3.0;
/// Grid scales tried per vector for multi-bit codes.
const SCALES: usize = 40;

pub struct RaBitQModel {
    dim: usize,
    bits: u8,
    centroid: Vec<f32>,
    /// `dim × dim`, row-major: row `i` is the `i`-th rotated coordinate.
    rotation: Vec<f32>,
    /// m = (2^B − 1)/2.
    mid: f32,
    /// ε₀/√(D − 1).
    bound_scale: f32,
}

/// A random orthogonal matrix: Gram–Schmidt (twice, in f64) on a seeded
/// Gaussian matrix.
pub(super) fn random_rotation(dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5261_4269_7451);
    let mut gauss = || {
        // Box–Muller.
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut m: Vec<Vec<f64>> = (0..dim)
        .map(|_| (0..dim).map(|_| gauss()).collect())
        .collect();
    for i in 0..dim {
        for _ in 0..2 {
            for j in 0..i {
                let d: f64 = m[i].iter().zip(&m[j]).map(|(a, b)| a * b).sum();
                let (head, tail) = m.split_at_mut(i);
                for (x, y) in tail[0].iter_mut().zip(&head[j]) {
                    *x -= d * y;
                }
            }
        }
        let norm = m[i].iter().map(|x| x * x).sum::<f64>().sqrt();
        for x in &mut m[i] {
            *x /= norm;
        }
    }
    m.into_iter().flatten().map(|x| x as f32).collect()
}

impl RaBitQModel {
    pub fn train(vectors: &[f32], dim: usize, bits: u8, seed: u64) -> Self {
        RaBitQModel {
            dim,
            bits,
            centroid: super::mean(vectors, dim),
            rotation: random_rotation(dim, seed),
            mid: ((1u32 << bits) - 1) as f32 / 2.0,
            bound_scale: EPSILON0 / ((dim.max(2) - 1) as f32).sqrt(),
        }
    }

    pub fn bytes(&self) -> usize {
        (self.centroid.capacity() + self.rotation.capacity()) * 4
    }

    /// `R · v` into `out` (first `dim` values).
    fn rotate(&self, v: &[f32], out: &mut [f32]) {
        for (i, o) in out.iter_mut().take(self.dim).enumerate() {
            *o = distance::dot(&self.rotation[i * self.dim..(i + 1) * self.dim], v);
        }
    }

    /// The grid point closest in angle to the unit vector `r`, as code
    /// values (y + m), and its cosine with `r`.
    fn snap(&self, r: &[f32], values: &mut [u8]) -> f32 {
        let mid = self.mid;
        if self.bits == 1 {
            let mut dot = 0.0;
            for (v, &x) in values.iter_mut().zip(r) {
                *v = u8::from(x > 0.0);
                dot += x.abs() * 0.5;
            }
            return dot / (0.5 * (r.len() as f32).sqrt());
        }
        let max = r.iter().fold(0f32, |m, x| m.max(x.abs()));
        if max == 0.0 {
            values.fill(0);
            return 0.0;
        }
        let base = mid / max;
        let (mut best_t, mut best_cos) = (base, f32::NEG_INFINITY);
        for s in 0..SCALES {
            // Scales from base/4 to 4·base.
            let t = base * 0.25 * 16f32.powf(s as f32 / (SCALES - 1) as f32);
            let (mut dot, mut norm2) = (0f32, 0f32);
            for &x in r {
                let y = ((t * x).floor() + 0.5).clamp(-mid, mid);
                dot += y * x;
                norm2 += y * y;
            }
            let cos = dot / norm2.sqrt();
            if cos > best_cos {
                (best_t, best_cos) = (t, cos);
            }
        }
        for (v, &x) in values.iter_mut().zip(r) {
            *v = (((best_t * x).floor() + 0.5).clamp(-mid, mid) + mid) as u8;
        }
        best_cos
    }

    pub fn encode(&self, x: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        let u: Vec<f32> = x.iter().zip(&self.centroid).map(|(a, b)| a - b).collect();
        let nu = distance::norm_squared(&u).sqrt();
        let mut values = vec![0u8; self.dim];
        let mut r = vec![0f32; self.dim];
        let (mut f0, mut f2) = (0.0, 0.0);
        if nu > 0.0 {
            self.rotate(&u, &mut r);
            for v in &mut r {
                *v /= nu;
            }
            let a = self.snap(&r, &mut values).max(1e-6);
            let ynorm = values
                .iter()
                .map(|&v| (f32::from(v) - self.mid).powi(2))
                .sum::<f32>()
                .sqrt();
            f0 = nu / (a * ynorm);
            f2 = nu * (1.0 - a * a).max(0.0).sqrt() / a * self.bound_scale;
        }
        super::kernels::pack(&values, self.bits, row);
        factors[0] = f0;
        factors[1] = match metric {
            Metric::L2 => nu * nu,
            _ => distance::dot(&u, &self.centroid),
        };
        factors[2] = f2;
        factors[3] = nu;
    }

    /// `R·(q − c)` into `lut`; `consts` = [m · Σ lut, the query's additive
    /// term (|q − c|² under L2, ⟨c, q⟩ otherwise), |q − c|].
    pub fn prepare(&self, q: &[f32], metric: Metric, lut: &mut [f32], consts: &mut [f32]) {
        let qc: Vec<f32> = q.iter().zip(&self.centroid).map(|(a, b)| a - b).collect();
        self.rotate(&qc, lut);
        let qc2 = distance::norm_squared(&qc);
        consts[0] = self.mid * lut.iter().sum::<f32>();
        consts[1] = match metric {
            Metric::L2 => qc2,
            _ => distance::dot(&self.centroid, q),
        };
        consts[2] = qc2.sqrt();
    }

    /// `c + |u| · Rᵀ y/|y|`.
    pub fn decode(&self, values: &[u8], factors: &[f32]) -> Vec<f32> {
        let y: Vec<f32> = values.iter().map(|&v| f32::from(v) - self.mid).collect();
        let ynorm = distance::norm_squared(&y).sqrt().max(f32::MIN_POSITIVE);
        let mut out = self.centroid.clone();
        for (i, &yi) in y.iter().enumerate() {
            let w = factors[3] * yi / ynorm;
            for (o, r) in out
                .iter_mut()
                .zip(&self.rotation[i * self.dim..(i + 1) * self.dim])
            {
                *o += w * r;
            }
        }
        out
    }
}

/// The estimated distance from the kernel's dot product.
#[inline(always)]
pub fn distance(metric: Metric, dot: f32, consts: &[f32], f: &[f32]) -> f32 {
    let est = f[0] * (dot - consts[0]);
    match metric {
        Metric::L2 => f[1] + consts[1] - 2.0 * est,
        Metric::InnerProduct => -(est + f[1] + consts[1]),
        Metric::Cosine => 1.0 - (est + f[1] + consts[1]),
    }
}

/// The estimate's error bound.
#[inline(always)]
pub fn bound(metric: Metric, consts: &[f32], f: &[f32]) -> f32 {
    let b = f[2] * consts[2];
    match metric {
        Metric::L2 => 2.0 * b,
        _ => b,
    }
}
