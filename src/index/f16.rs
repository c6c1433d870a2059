//! Half-precision vectors: packing f32 vectors into IEEE f16 pairs (two per
//! u32 word), and distances between an f32 query and a packed vector or
//! between two packed vectors. Halving the bytes read is what speeds
//! memory-bound work: HFresh's list scans, and the HNSW build's searches.
//! f16 keeps about 3 significant digits, far below the gaps that decide a
//! top-k on unit-length embeddings (the tests bound the recall cost).
//! AVX-512 converts 16 halves per instruction; other machines use a
//! portable loop.

use serde::{Deserialize, Serialize};

use crate::distance::Metric;

/// How vectors are stored for a scan (HFresh's postings) or read during a
/// build (HNSW).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Full f32: distances exactly as the flat index computes them.
    F32,
    /// IEEE half precision: half the bytes to read per vector.
    #[default]
    F16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }
}

/// Words needed for `dim` halves.
pub(crate) fn words_for(dim: usize) -> usize {
    dim.div_ceil(2)
}

/// Packs `v` into `out` (`words_for(v.len())` words), two halves per word.
pub(crate) fn pack(v: &[f32], out: &mut [u32]) {
    for (w, pair) in out.iter_mut().zip(v.chunks(2)) {
        let lo = half::f16::from_f32(pair[0]).to_bits() as u32;
        let hi = pair
            .get(1)
            .map_or(0, |&x| half::f16::from_f32(x).to_bits() as u32);
        *w = lo | (hi << 16);
    }
}

/// Unpacks `dim` values.
pub(crate) fn unpack(words: &[u32], dim: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(dim);
    for &w in words {
        out.push(half::f16::from_bits(w as u16).to_f32());
        if out.len() < dim {
            out.push(half::f16::from_bits((w >> 16) as u16).to_f32());
        }
        if out.len() == dim {
            break;
        }
    }
    out
}

/// The metric's prepared distance between `q` (f32) and a packed vector.
pub(crate) type Kernel = fn(&[f32], &[u32]) -> f32;

/// The fastest kernel for `metric` on this machine.
pub(crate) fn kernel(metric: Metric) -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return match metric {
            Metric::L2 => x86::l2_entry,
            Metric::Cosine => x86::cosine_entry,
            Metric::InnerProduct => x86::ip_entry,
        };
    }
    match metric {
        Metric::L2 => |q, w| portable(q, w, true),
        Metric::Cosine => |q, w| 1.0 - portable(q, w, false),
        Metric::InnerProduct => |q, w| -portable(q, w, false),
    }
}

/// The metric's prepared distance between the first `dim` halves of two
/// packed vectors.
pub(crate) type PairKernel = fn(&[u32], &[u32], usize) -> f32;

/// Both kernels for `metric`, where this machine converts halves in
/// hardware (AVX-512); `None` elsewhere, where the portable loop would be
/// slower than reading f32.
pub(crate) fn fast_kernels(metric: Metric) -> Option<(Kernel, PairKernel)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return Some(match metric {
            Metric::L2 => (x86::l2_entry, x86::l2_pair_entry),
            Metric::Cosine => (x86::cosine_entry, x86::cosine_pair_entry),
            Metric::InnerProduct => (x86::ip_entry, x86::ip_pair_entry),
        });
    }
    let _ = metric;
    None
}

/// Unpacks `dim` values into `out` (cleared first).
pub(crate) fn unpack_into(words: &[u32], dim: usize, out: &mut Vec<f32>) {
    out.clear();
    for &w in words {
        out.push(half::f16::from_bits(w as u16).to_f32());
        out.push(half::f16::from_bits((w >> 16) as u16).to_f32());
    }
    out.truncate(dim);
}

/// Dot product (or squared L2 when `l2`) with a scalar loop.
fn portable(q: &[f32], words: &[u32], l2: bool) -> f32 {
    let mut acc = 0.0f32;
    for (i, &w) in words.iter().enumerate() {
        for (j, bits) in [w as u16, (w >> 16) as u16].into_iter().enumerate() {
            let Some(&x) = q.get(2 * i + j) else { break };
            let v = half::f16::from_bits(bits).to_f32();
            acc += if l2 { (x - v) * (x - v) } else { x * v };
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn cosine_entry(q: &[f32], w: &[u32]) -> f32 {
        // SAFETY: chosen only after avx512f was detected.
        1.0 - unsafe { run(q, w, false) }
    }
    pub fn ip_entry(q: &[f32], w: &[u32]) -> f32 {
        // SAFETY: as above.
        -unsafe { run(q, w, false) }
    }
    pub fn l2_entry(q: &[f32], w: &[u32]) -> f32 {
        // SAFETY: as above.
        unsafe { run(q, w, true) }
    }

    pub fn cosine_pair_entry(a: &[u32], b: &[u32], dim: usize) -> f32 {
        // SAFETY: as above.
        1.0 - unsafe { run_pair(a, b, dim, false) }
    }
    pub fn ip_pair_entry(a: &[u32], b: &[u32], dim: usize) -> f32 {
        // SAFETY: as above.
        -unsafe { run_pair(a, b, dim, false) }
    }
    pub fn l2_pair_entry(a: &[u32], b: &[u32], dim: usize) -> f32 {
        // SAFETY: as above.
        unsafe { run_pair(a, b, dim, true) }
    }

    /// As [`run`] with both sides packed. The same order of operations as
    /// `run` on an unpacked `a`, so the two give bit-identical results (an
    /// HNSW build compares distances from both).
    #[target_feature(enable = "avx512f")]
    unsafe fn run_pair(a: &[u32], b: &[u32], dim: usize, l2: bool) -> f32 {
        let n = dim.min(a.len() * 2).min(b.len() * 2);
        let (pa, pb) = (a.as_ptr() as *const u16, b.as_ptr() as *const u16);
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every half read is below `n`, within both slices.
        unsafe {
            while i + 32 <= n {
                let a0 = _mm512_cvtph_ps(_mm256_loadu_si256(pa.add(i) as *const __m256i));
                let a1 = _mm512_cvtph_ps(_mm256_loadu_si256(pa.add(i + 16) as *const __m256i));
                let b0 = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i) as *const __m256i));
                let b1 = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i + 16) as *const __m256i));
                if l2 {
                    let d0 = _mm512_sub_ps(a0, b0);
                    let d1 = _mm512_sub_ps(a1, b1);
                    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
                    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
                } else {
                    acc0 = _mm512_fmadd_ps(a0, b0, acc0);
                    acc1 = _mm512_fmadd_ps(a1, b1, acc1);
                }
                i += 32;
            }
            let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
            while i < n {
                let x = half::f16::from_bits(*pa.add(i)).to_f32();
                let v = half::f16::from_bits(*pb.add(i)).to_f32();
                sum += if l2 { (x - v) * (x - v) } else { x * v };
                i += 1;
            }
            sum
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn run(q: &[f32], words: &[u32], l2: bool) -> f32 {
        let n = q.len().min(words.len() * 2);
        let (pq, pw) = (q.as_ptr(), words.as_ptr() as *const u16);
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every half read is below `n` <= 2 * words.len()
        // and every float below `n` <= q.len().
        unsafe {
            while i + 32 <= n {
                let v0 = _mm512_cvtph_ps(_mm256_loadu_si256(pw.add(i) as *const __m256i));
                let v1 = _mm512_cvtph_ps(_mm256_loadu_si256(pw.add(i + 16) as *const __m256i));
                let q0 = _mm512_loadu_ps(pq.add(i));
                let q1 = _mm512_loadu_ps(pq.add(i + 16));
                if l2 {
                    let d0 = _mm512_sub_ps(q0, v0);
                    let d1 = _mm512_sub_ps(q1, v1);
                    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
                    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
                } else {
                    acc0 = _mm512_fmadd_ps(q0, v0, acc0);
                    acc1 = _mm512_fmadd_ps(q1, v1, acc1);
                }
                i += 32;
            }
            let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
            while i < n {
                let v = half::f16::from_bits(*pw.add(i)).to_f32();
                let x = *pq.add(i);
                sum += if l2 { (x - v) * (x - v) } else { x * v };
                i += 1;
            }
            sum
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_f32_distances_on_odd_lengths() {
        for dim in [1usize, 7, 31, 32, 33, 384, 385] {
            let q: Vec<f32> = (0..dim)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 10.0)
                .collect();
            let v: Vec<f32> = (0..dim)
                .map(|i| ((i * 11 % 13) as f32 - 6.0) / 9.0)
                .collect();
            let mut packed = vec![0u32; words_for(dim)];
            pack(&v, &mut packed);
            let back = unpack(&packed, dim);
            assert_eq!(back.len(), dim);
            for (a, b) in back.iter().zip(&v) {
                assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-4, "{a} vs {b}");
            }
            for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
                let want = metric.prepared_distance(&q, &back);
                let got = kernel(metric)(&q, &packed);
                let port = match metric {
                    Metric::L2 => portable(&q, &packed, true),
                    Metric::Cosine => 1.0 - portable(&q, &packed, false),
                    Metric::InnerProduct => -portable(&q, &packed, false),
                };
                let tol = 1e-3 * want.abs().max(1.0);
                assert!(
                    (got - want).abs() < tol,
                    "{metric:?} dim {dim}: {got} vs {want}"
                );
                assert!(
                    (port - want).abs() < tol,
                    "{metric:?} dim {dim}: {port} vs {want}"
                );
            }
        }
    }

    #[test]
    fn pair_kernels_equal_the_query_kernel_on_an_unpacked_side() {
        let Some(_) = fast_kernels(Metric::L2) else {
            return; // no hardware conversion here: nothing to compare
        };
        for dim in [1usize, 31, 32, 33, 63, 384, 385] {
            let a: Vec<f32> = (0..dim)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 10.0)
                .collect();
            let b: Vec<f32> = (0..dim)
                .map(|i| ((i * 11 % 13) as f32 - 6.0) / 9.0)
                .collect();
            let (mut pa, mut pb) = (vec![0u32; words_for(dim)], vec![0u32; words_for(dim)]);
            pack(&a, &mut pa);
            pack(&b, &mut pb);
            let mut qa = Vec::new();
            unpack_into(&pa, dim, &mut qa);
            assert_eq!(qa, unpack(&pa, dim));
            for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
                let (single, pair) = fast_kernels(metric).unwrap();
                // Bit-identical: a build compares distances from both.
                assert_eq!(
                    single(&qa, &pb).to_bits(),
                    pair(&pa, &pb, dim).to_bits(),
                    "{metric:?} dim {dim}"
                );
                assert_eq!(
                    pair(&pa, &pa, dim),
                    single(&qa, &pa),
                    "{metric:?} dim {dim}"
                );
            }
            assert_eq!(fast_kernels(Metric::L2).unwrap().1(&pa, &pa, dim), 0.0);
        }
    }
}
