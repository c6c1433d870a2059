//! Metrics and their kernels: the one hot loop of every index.
//!
//! Distances are "smaller is nearer" for every metric:
//! - [`Metric::L2`]: squared Euclidean distance (ranks as Euclidean does, and
//!   is what ann-benchmarks' `euclidean` sets are scored with here);
//! - [`Metric::InnerProduct`]: the negated inner product;
//! - [`Metric::Cosine`]: `1 - cos(a, b)`.
//!
//! The kernels are chosen once at run time: AVX-512F where the CPU has it,
//! AVX2 + FMA otherwise on x86-64, and a portable loop written in fixed-width
//! chunks so that the compiler vectorises it on any target (aarch64 included).

pub mod block;
pub mod block8;
pub mod int8;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// How two vectors are compared.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// `1 - cos(a, b)`.
    #[default]
    Cosine,
    /// Squared Euclidean distance.
    L2,
    /// Negated inner product (maximum inner product search).
    #[serde(rename = "ip")]
    #[value(name = "ip")]
    InnerProduct,
}

impl Metric {
    /// All metrics, in the order the UI lists them.
    pub const ALL: [Metric; 3] = [Metric::Cosine, Metric::L2, Metric::InnerProduct];

    /// The short name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::InnerProduct => "ip",
        }
    }

    /// The distance between two vectors of equal length.
    ///
    /// Cosine computes both norms here; indexes that compare one vector many
    /// times normalise once and use [`dot`] instead.
    #[inline]
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared(a, b),
            Metric::InnerProduct => -dot(a, b),
            Metric::Cosine => {
                let denom = (norm_squared(a) * norm_squared(b)).sqrt();
                if denom > 0.0 {
                    1.0 - dot(a, b) / denom
                } else {
                    1.0
                }
            }
        }
    }

    /// The distance between vectors already prepared for this metric (unit
    /// length under cosine): what an index that normalised once compares.
    #[inline]
    pub fn prepared_distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Cosine => 1.0 - dot(a, b),
            Metric::InnerProduct => -dot(a, b),
            Metric::L2 => l2_squared(a, b),
        }
    }

    /// Turns an inner product of already-normalised (cosine) or raw (ip)
    /// vectors into this metric's distance. Not meaningful for L2.
    #[inline]
    pub fn distance_from_dot(self, dot: f32) -> f32 {
        match self {
            Metric::Cosine => 1.0 - dot,
            _ => -dot,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "angular" | "cos" => Ok(Metric::Cosine),
            "l2" | "euclidean" | "l2sq" => Ok(Metric::L2),
            "ip" | "dot" | "inner_product" | "innerproduct" => Ok(Metric::InnerProduct),
            other => Err(format!(
                "unknown metric '{other}' (expected cosine, l2 or ip)"
            )),
        }
    }
}

type Kernel = fn(&[f32], &[f32]) -> f32;

struct Kernels {
    dot: Kernel,
    l2_squared: Kernel,
    name: &'static str,
}

fn kernels() -> &'static Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    KERNELS.get_or_init(select_kernels)
}

fn select_kernels() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("ANNSCOPE_NO_SIMD").is_none() {
            if is_x86_feature_detected!("avx512f") {
                return Kernels {
                    dot: x86::dot_avx512_entry,
                    l2_squared: x86::l2_avx512_entry,
                    name: "avx512",
                };
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Kernels {
                    dot: x86::dot_avx2_entry,
                    l2_squared: x86::l2_avx2_entry,
                    name: "avx2+fma",
                };
            }
        }
    }
    Kernels {
        dot: portable::dot,
        l2_squared: portable::l2_squared,
        name: "portable",
    }
}

/// The name of the kernel set in use (`avx512`, `avx2+fma` or `portable`).
pub fn kernel_name() -> &'static str {
    kernels().name
}

/// Inner product of two vectors of equal length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    (kernels().dot)(a, b)
}

/// Squared Euclidean distance of two vectors of equal length.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    (kernels().l2_squared)(a, b)
}

/// Squared norm of a vector.
#[inline]
pub fn norm_squared(a: &[f32]) -> f32 {
    dot(a, a)
}

/// Scales `v` to unit length in place; returns false (and leaves it) if it is zero.
pub fn normalize(v: &mut [f32]) -> bool {
    let n = norm_squared(v).sqrt();
    if n > 0.0 && n.is_finite() {
        let inv = 1.0 / n;
        v.iter_mut().for_each(|x| *x *= inv);
        true
    } else {
        false
    }
}

/// The portable kernels: sixteen independent accumulators in fixed-size
/// chunks, which LLVM turns into vector code on every target with SIMD.
pub mod portable {
    const LANES: usize = 16;

    /// Inner product.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for i in 0..LANES {
                acc[i] += x[i] * y[i];
            }
        }
        let mut tail = 0.0;
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            tail += x * y;
        }
        acc.iter().sum::<f32>() + tail
    }

    /// Squared Euclidean distance.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for i in 0..LANES {
                let d = x[i] - y[i];
                acc[i] += d * d;
            }
        }
        let mut tail = 0.0;
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            let d = x - y;
            tail += d * d;
        }
        acc.iter().sum::<f32>() + tail
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn dot_avx512_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after `is_x86_feature_detected!("avx512f")`.
        unsafe { dot_avx512(a, b) }
    }
    pub fn l2_avx512_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after `is_x86_feature_detected!("avx512f")`.
        unsafe { l2_avx512(a, b) }
    }
    pub fn dot_avx2_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after detecting avx2 and fma.
        unsafe { dot_avx2(a, b) }
    }
    pub fn l2_avx2_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after detecting avx2 and fma.
        unsafe { l2_avx2(a, b) }
    }

    /// Tail mask for the last `rem` (< 16) lanes.
    #[inline]
    fn tail_mask(rem: usize) -> __mmask16 {
        ((1u32 << rem) - 1) as __mmask16
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut acc2 = _mm512_setzero_ps();
        let mut acc3 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the shorter length;
        // the masked tail load touches only lanes below `n`.
        unsafe {
            while i + 64 <= n {
                acc0 =
                    _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 16)),
                    _mm512_loadu_ps(pb.add(i + 16)),
                    acc1,
                );
                acc2 = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 32)),
                    _mm512_loadu_ps(pb.add(i + 32)),
                    acc2,
                );
                acc3 = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 48)),
                    _mm512_loadu_ps(pb.add(i + 48)),
                    acc3,
                );
                i += 64;
            }
            while i + 16 <= n {
                acc0 =
                    _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                let x = _mm512_maskz_loadu_ps(m, pa.add(i));
                let y = _mm512_maskz_loadu_ps(m, pb.add(i));
                acc1 = _mm512_fmadd_ps(x, y, acc1);
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn l2_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut acc2 = _mm512_setzero_ps();
        let mut acc3 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY: as in `dot_avx512`.
        unsafe {
            while i + 64 <= n {
                let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
                let d1 = _mm512_sub_ps(
                    _mm512_loadu_ps(pa.add(i + 16)),
                    _mm512_loadu_ps(pb.add(i + 16)),
                );
                let d2 = _mm512_sub_ps(
                    _mm512_loadu_ps(pa.add(i + 32)),
                    _mm512_loadu_ps(pb.add(i + 32)),
                );
                let d3 = _mm512_sub_ps(
                    _mm512_loadu_ps(pa.add(i + 48)),
                    _mm512_loadu_ps(pb.add(i + 48)),
                );
                acc0 = _mm512_fmadd_ps(d0, d0, acc0);
                acc1 = _mm512_fmadd_ps(d1, d1, acc1);
                acc2 = _mm512_fmadd_ps(d2, d2, acc2);
                acc3 = _mm512_fmadd_ps(d3, d3, acc3);
                i += 64;
            }
            while i + 16 <= n {
                let d = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
                acc0 = _mm512_fmadd_ps(d, d, acc0);
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                let d = _mm512_sub_ps(
                    _mm512_maskz_loadu_ps(m, pa.add(i)),
                    _mm512_maskz_loadu_ps(m, pb.add(i)),
                );
                acc1 = _mm512_fmadd_ps(d, d, acc1);
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
        _mm512_reduce_add_ps(s)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum256(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every offset read is below `n`, the shorter length.
        unsafe {
            while i + 32 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                    acc1,
                );
                acc2 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 16)),
                    _mm256_loadu_ps(pb.add(i + 16)),
                    acc2,
                );
                acc3 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 24)),
                    _mm256_loadu_ps(pb.add(i + 24)),
                    acc3,
                );
                i += 32;
            }
            while i + 8 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                i += 8;
            }
        }
        let mut s = hsum256(_mm256_add_ps(
            _mm256_add_ps(acc0, acc1),
            _mm256_add_ps(acc2, acc3),
        ));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every offset read is below `n`, the shorter length.
        unsafe {
            while i + 32 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                let d1 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                );
                let d2 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 16)),
                    _mm256_loadu_ps(pb.add(i + 16)),
                );
                let d3 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 24)),
                    _mm256_loadu_ps(pb.add(i + 24)),
                );
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                acc1 = _mm256_fmadd_ps(d1, d1, acc1);
                acc2 = _mm256_fmadd_ps(d2, d2, acc2);
                acc3 = _mm256_fmadd_ps(d3, d3, acc3);
                i += 32;
            }
            while i + 8 <= n {
                let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc0 = _mm256_fmadd_ps(d, d, acc0);
                i += 8;
            }
        }
        let mut s = hsum256(_mm256_add_ps(
            _mm256_add_ps(acc0, acc1),
            _mm256_add_ps(acc2, acc3),
        ));
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }

    #[cfg(test)]
    pub(super) fn available() -> Vec<(&'static str, super::Kernel, super::Kernel)> {
        let mut v: Vec<(&'static str, super::Kernel, super::Kernel)> = Vec::new();
        if is_x86_feature_detected!("avx512f") {
            v.push(("avx512", dot_avx512_entry, l2_avx512_entry));
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            v.push(("avx2", dot_avx2_entry, l2_avx2_entry));
        }
        v
    }
}

/// Plain scalar loops: the reference the kernels are tested and benchmarked against.
pub mod naive {
    /// Inner product, one element at a time.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
    /// Squared Euclidean distance, one element at a time.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(len: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        // A small LCG keeps the test free of dependencies and reproducible.
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let a = (0..len).map(|_| next()).collect();
        let b = (0..len).map(|_| next()).collect();
        (a, b)
    }

    fn close(x: f32, y: f32, len: usize) -> bool {
        (x - y).abs() <= 1e-5 * (len as f32).max(1.0) * (1.0 + y.abs())
    }

    fn all_kernels() -> Vec<(&'static str, Kernel, Kernel)> {
        let mut v: Vec<(&'static str, Kernel, Kernel)> =
            vec![("portable", portable::dot, portable::l2_squared)];
        #[cfg(target_arch = "x86_64")]
        v.extend(x86::available());
        v
    }

    #[test]
    fn every_kernel_matches_the_scalar_loop_on_odd_lengths() {
        let lengths = [
            0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 100, 127, 129, 383, 384, 385, 1000,
        ];
        for (name, dot_k, l2_k) in all_kernels() {
            for &len in &lengths {
                let (a, b) = vectors(len, len as u64);
                let (want_dot, got_dot) = (naive::dot(&a, &b), dot_k(&a, &b));
                assert!(
                    close(got_dot, want_dot, len),
                    "{name} dot len {len}: {got_dot} vs {want_dot}"
                );
                let (want_l2, got_l2) = (naive::l2_squared(&a, &b), l2_k(&a, &b));
                assert!(
                    close(got_l2, want_l2, len),
                    "{name} l2 len {len}: {got_l2} vs {want_l2}"
                );
            }
        }
    }

    #[test]
    fn kernels_read_only_the_shared_prefix_of_unaligned_slices() {
        // Offsets into a larger buffer make the loads unaligned.
        let (a, b) = vectors(200, 9);
        for (name, dot_k, l2_k) in all_kernels() {
            for off in 0..4 {
                let (x, y) = (&a[off..off + 37], &b[off + 1..off + 38]);
                assert!(
                    close(dot_k(x, y), naive::dot(x, y), 37),
                    "{name} offset {off}"
                );
                assert!(
                    close(l2_k(x, y), naive::l2_squared(x, y), 37),
                    "{name} offset {off}"
                );
            }
        }
    }

    #[test]
    fn metric_distances_follow_their_definitions() {
        let a = [1.0, 0.0, 0.0];
        let b = [0.0, 2.0, 0.0];
        assert_eq!(Metric::L2.distance(&a, &b), 5.0);
        assert_eq!(Metric::InnerProduct.distance(&a, &[3.0, 1.0, 0.0]), -3.0);
        assert!((Metric::Cosine.distance(&a, &b) - 1.0).abs() < 1e-6);
        assert!(Metric::Cosine.distance(&a, &[2.0, 0.0, 0.0]).abs() < 1e-6);
        assert!((Metric::Cosine.distance(&a, &[-1.0, 0.0, 0.0]) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn metric_names_parse_including_ann_benchmarks_names() {
        assert_eq!("euclidean".parse::<Metric>(), Ok(Metric::L2));
        assert_eq!("angular".parse::<Metric>(), Ok(Metric::Cosine));
        assert_eq!("ip".parse::<Metric>(), Ok(Metric::InnerProduct));
        assert!("manhattan".parse::<Metric>().is_err());
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>(), Ok(m));
        }
    }

    #[test]
    fn normalize_refuses_zero_vectors() {
        let mut z = [0.0f32; 5];
        assert!(!normalize(&mut z));
        let mut v = [3.0f32, 4.0];
        assert!(normalize(&mut v));
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
    }
}
