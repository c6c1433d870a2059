//! Binary codes (`bq`), as Weaviate's and Qdrant's binary quantization: one
//! bit per dimension, compared by Hamming distance (a popcount of XOR).
//! Unlike theirs, the bits are signs after centring on the data's mean:
//! sentence embeddings share a large common direction, and uncentred signs
//! spend most bits on it.
//!
//! A Hamming distance `h` over `D` bits estimates the angle between the
//! centred vectors as `π·h/D` (as for random-hyperplane hashes), so the
//! estimate is `⟨u, q − c⟩ ≈ |u|·|q − c|·cos(π·h/D)`, turned into the
//! metric's distance like RaBitQ's. It only ranks candidates; the
//! re-score decides. Factors per row: `|u|` and the additive term (`|u|²`
//! under L2, `⟨u, c⟩` otherwise).
//!
//! The query's bits travel in the prepared f32 query as raw bit patterns
//! (`f32::from_bits` of their bytes in native order, read back as bytes),
//! so every quantizer keeps one prepared-query type.

use crate::distance::{self, Metric};

pub const FACTORS: usize = 2;

pub struct BinaryModel {
    dim: usize,
    centroid: Vec<f32>,
}

impl BinaryModel {
    pub fn train(vectors: &[f32], dim: usize) -> Self {
        BinaryModel {
            dim,
            centroid: super::mean(vectors, dim),
        }
    }

    pub fn bytes(&self) -> usize {
        self.centroid.capacity() * 4
    }

    fn bits(&self, v: &[f32]) -> Vec<u8> {
        v.iter()
            .zip(&self.centroid)
            .map(|(x, c)| u8::from(x - c > 0.0))
            .collect()
    }

    pub fn encode(&self, x: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        super::kernels::pack(&self.bits(x), 1, row);
        let u: Vec<f32> = x.iter().zip(&self.centroid).map(|(a, b)| a - b).collect();
        let nu2 = distance::norm_squared(&u);
        factors[0] = nu2.sqrt();
        factors[1] = match metric {
            Metric::L2 => nu2,
            _ => distance::dot(&u, &self.centroid),
        };
    }

    /// The query's bits into `lut` (as f32 bit patterns, 4 bytes each);
    /// `consts` = [|q − c|, the query's additive term, unused].
    pub fn prepare(&self, q: &[f32], metric: Metric, lut: &mut [f32], consts: &mut [f32]) {
        let mut row = vec![0u8; lut.len() * 4];
        super::kernels::pack(&self.bits(q), 1, &mut row);
        for (l, w) in lut.iter_mut().zip(row.chunks_exact(4)) {
            *l = f32::from_bits(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        }
        let qc: Vec<f32> = q.iter().zip(&self.centroid).map(|(a, b)| a - b).collect();
        let qc2 = distance::norm_squared(&qc);
        consts[0] = qc2.sqrt();
        consts[1] = match metric {
            Metric::L2 => qc2,
            _ => distance::dot(&self.centroid, q),
        };
    }

    /// `c + |u| · signs/√D` (approximate).
    pub fn decode(&self, values: &[u8], factors: &[f32]) -> Vec<f32> {
        let s = factors[0] / (self.dim as f32).sqrt();
        values
            .iter()
            .zip(&self.centroid)
            .map(|(&b, c)| c + if b == 1 { s } else { -s })
            .collect()
    }
}

/// The estimated distance from a Hamming distance.
#[inline(always)]
pub fn distance(metric: Metric, hamming: u32, dim: usize, consts: &[f32], f: &[f32]) -> f32 {
    let cos = (std::f32::consts::PI * hamming as f32 / dim as f32).cos();
    let est = f[0] * consts[0] * cos;
    match metric {
        Metric::L2 => f[1] + consts[1] - 2.0 * est,
        Metric::InnerProduct => -(est + f[1] + consts[1]),
        Metric::Cosine => 1.0 - (est + f[1] + consts[1]),
    }
}
