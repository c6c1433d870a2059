//! Scalar codes: each dimension's range split into 2^bits − 1 steps, so a
//! value decodes as `lo + step · code`. A query's dot product with a
//! decoded row is `Σ (q·step)·code + Σ q·lo`: the query is scaled once
//! and the kernel reads the raw codes.
//!
//! Per-row factor: under L2 the decoded row's squared norm, under cosine
//! its inverse norm (a decoded unit vector is not quite unit), unused under
//! inner product.

use crate::distance::Metric;

pub const FACTORS: usize = 1;

pub struct ScalarModel {
    lo: Vec<f32>,
    step: Vec<f32>,
    levels: f32,
    bits: u8,
}

impl ScalarModel {
    /// Per-dimension minimum and maximum over every row.
    pub fn train(vectors: &[f32], dim: usize, bits: u8) -> Self {
        let (lo, hi) = super::ranges(vectors, dim);
        let levels = ((1u32 << bits) - 1) as f32;
        let step = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| if h > l { (h - l) / levels } else { 0.0 })
            .collect();
        ScalarModel {
            lo,
            step,
            levels,
            bits,
        }
    }

    pub fn bytes(&self) -> usize {
        (self.lo.capacity() + self.step.capacity()) * 4
    }

    fn code(&self, j: usize, v: f32) -> u8 {
        if self.step[j] > 0.0 {
            ((v - self.lo[j]) / self.step[j])
                .round()
                .clamp(0.0, self.levels) as u8
        } else {
            0
        }
    }

    pub fn encode(&self, v: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        let values: Vec<u8> = v
            .iter()
            .enumerate()
            .map(|(j, &x)| self.code(j, x))
            .collect();
        super::kernels::pack(&values, self.bits, row);
        let norm2: f32 = self.decode(&values).iter().map(|x| x * x).sum();
        factors[0] = match metric {
            Metric::L2 => norm2,
            Metric::Cosine if norm2 > 0.0 => 1.0 / norm2.sqrt(),
            Metric::Cosine => 1.0,
            Metric::InnerProduct => 0.0,
        };
    }

    pub fn decode(&self, values: &[u8]) -> Vec<f32> {
        values
            .iter()
            .enumerate()
            .map(|(j, &c)| f32::from(c).mul_add(self.step[j], self.lo[j]))
            .collect()
    }

    /// The scaled query into `lut`; `consts` = [Σ q·lo, |q|², unused].
    pub fn prepare(&self, q: &[f32], lut: &mut [f32], consts: &mut [f32]) {
        for (j, &x) in q.iter().enumerate() {
            lut[j] = x * self.step[j];
        }
        consts[0] = q.iter().zip(&self.lo).map(|(a, b)| a * b).sum();
        consts[1] = q.iter().map(|x| x * x).sum();
    }
}

/// The distance from the kernel's dot product.
#[inline(always)]
pub fn distance(metric: Metric, dot: f32, consts: &[f32], f: &[f32]) -> f32 {
    let ip = dot + consts[0];
    match metric {
        Metric::L2 => consts[1] - 2.0 * ip + f[0],
        Metric::InnerProduct => -ip,
        Metric::Cosine => 1.0 - ip * f[0],
    }
}
