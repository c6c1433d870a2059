//! Integer dot products of 8-bit codes, for the build's 8-bit copies of the
//! vectors (see the HNSW build's `sq8` space).
//!
//! One product, `Σ a_i · (b_i − 128)` over two rows of `u8` codes, is
//! exactly what AVX-512 VNNI's `vpdpbusd` computes (unsigned bytes times
//! signed bytes, four products summed into each 32-bit lane), with `b`
//! turned signed by flipping its top bit. Integer sums are exact, so every
//! kernel gives the same answer to the last bit and the tests compare them
//! with `==`. Chosen once at run time: VNNI (64 codes per instruction),
//! AVX2 (16 codes per `vpmaddwd` after widening to 16 bits: `vpmaddubsw`
//! would saturate), then a portable loop the compiler vectorises.
//! `ANNSCOPE_NO_SIMD` forces the portable loop, as for the float kernels.
//!
//! Rows are at most 8,388,608 codes long: beyond that the sum could
//! overflow 32 bits (255 · 128 per code).

use std::sync::OnceLock;

/// `Σ a_i · (b_i − 128)` over two rows of equal length.
pub type Kernel = fn(&[u8], &[u8]) -> i32;

/// The longest row the kernels sum without overflow.
pub const MAX_LEN: usize = (i32::MAX / (255 * 128)) as usize;

struct Selected {
    kernel: Kernel,
    name: &'static str,
}

fn selected() -> &'static Selected {
    static SELECTED: OnceLock<Selected> = OnceLock::new();
    SELECTED.get_or_init(|| {
        let (name, kernel) = available()
            .into_iter()
            .next()
            .unwrap_or(("portable", portable));
        Selected { kernel, name }
    })
}

/// The kernels this CPU runs, fastest first, the portable loop last
/// (only the portable loop under `ANNSCOPE_NO_SIMD`).
pub fn available() -> Vec<(&'static str, Kernel)> {
    #[allow(unused_mut)]
    let mut v: Vec<(&'static str, Kernel)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("ANNSCOPE_NO_SIMD").is_none() {
        if x86::has_vnni() {
            v.push(("avx512-vnni", x86::dot_vnni_entry));
        }
        if is_x86_feature_detected!("avx2") {
            v.push(("avx2", x86::dot_avx2_entry));
        }
    }
    v.push(("portable", portable));
    v
}

/// The name of the kernel in use (`avx512-vnni`, `avx2` or `portable`).
pub fn kernel_name() -> &'static str {
    selected().name
}

/// The kernel in use, to call in a hot loop without looking it up each time.
pub fn kernel() -> Kernel {
    selected().kernel
}

/// The reference: one code at a time, in 64-bit arithmetic.
pub fn naive(a: &[u8], b: &[u8]) -> i32 {
    let sum: i64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| i64::from(x) * (i64::from(y) - 128))
        .sum();
    sum as i32
}

/// Fixed-width chunks of 32-bit products the compiler vectorises on any
/// target.
pub fn portable(a: &[u8], b: &[u8]) -> i32 {
    const W: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0i32; W];
    let mut ca = a.chunks_exact(W);
    let mut cb = b.chunks_exact(W);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for j in 0..W {
            acc[j] += i32::from(x[j]) * (i32::from(y[j]) - 128);
        }
    }
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * (i32::from(y) - 128))
        .sum();
    acc.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub(super) fn has_vnni() -> bool {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }

    pub(super) fn dot_vnni_entry(a: &[u8], b: &[u8]) -> i32 {
        // SAFETY: selected only after `has_vnni()`.
        unsafe { dot_vnni(a, b) }
    }

    pub(super) fn dot_avx2_entry(a: &[u8], b: &[u8]) -> i32 {
        // SAFETY: selected only after `is_x86_feature_detected!("avx2")`.
        unsafe { dot_avx2(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn dot_vnni(a: &[u8], b: &[u8]) -> i32 {
        let n = a.len().min(b.len());
        let flip = _mm512_set1_epi8(i8::MIN);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_si512();
        let mut acc1 = _mm512_setzero_si512();
        let mut i = 0;
        // SAFETY (all loads): i + 64 (or the mask's length) <= n, and both
        // slices hold at least n codes.
        unsafe {
            while i + 128 <= n {
                let x0 = _mm512_loadu_si512(pa.add(i) as *const _);
                let y0 = _mm512_xor_si512(_mm512_loadu_si512(pb.add(i) as *const _), flip);
                let x1 = _mm512_loadu_si512(pa.add(i + 64) as *const _);
                let y1 = _mm512_xor_si512(_mm512_loadu_si512(pb.add(i + 64) as *const _), flip);
                acc0 = _mm512_dpbusd_epi32(acc0, x0, y0);
                acc1 = _mm512_dpbusd_epi32(acc1, x1, y1);
                i += 128;
            }
            if i + 64 <= n {
                let x = _mm512_loadu_si512(pa.add(i) as *const _);
                let y = _mm512_xor_si512(_mm512_loadu_si512(pb.add(i) as *const _), flip);
                acc0 = _mm512_dpbusd_epi32(acc0, x, y);
                i += 64;
            }
            if i < n {
                // The masked-off codes load as 0 on both sides: a's zeros
                // make their products 0 whatever b's flipped zeros are.
                let mask: __mmask64 = (1u64 << (n - i)) - 1;
                let x = _mm512_maskz_loadu_epi8(mask, pa.add(i) as *const i8);
                let y =
                    _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, pb.add(i) as *const i8), flip);
                acc1 = _mm512_dpbusd_epi32(acc1, x, y);
            }
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1))
    }

    #[target_feature(enable = "avx2")]
    unsafe fn dot_avx2(a: &[u8], b: &[u8]) -> i32 {
        let n = a.len().min(b.len());
        let bias = _mm256_set1_epi16(128);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY (all loads): i + 32 (or 16) <= n, and both slices hold at
        // least n codes.
        unsafe {
            let step = |i: usize| {
                let x = _mm256_cvtepu8_epi16(_mm_loadu_si128(pa.add(i) as *const __m128i));
                let y = _mm256_sub_epi16(
                    _mm256_cvtepu8_epi16(_mm_loadu_si128(pb.add(i) as *const __m128i)),
                    bias,
                );
                // Pairs of 16-bit products summed into 32 bits: at most
                // 2 · 255 · 128, no saturation.
                _mm256_madd_epi16(x, y)
            };
            while i + 32 <= n {
                acc0 = _mm256_add_epi32(acc0, step(i));
                acc1 = _mm256_add_epi32(acc1, step(i + 16));
                i += 32;
            }
            if i + 16 <= n {
                acc0 = _mm256_add_epi32(acc0, step(i));
                i += 16;
            }
        }
        let acc = _mm256_add_epi32(acc0, acc1);
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        let tail: i32 = a[i..n]
            .iter()
            .zip(&b[i..n])
            .map(|(&x, &y)| i32::from(x) * (i32::from(y) - 128))
            .sum();
        _mm_cvtsi128_si32(s) + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// Rows of every length from 0 to 200 (every tail of every step) and
    /// long ones, with random codes and the extremes (0 and 255, where a
    /// saturating 16-bit kernel would go wrong).
    #[test]
    fn every_kernel_equals_the_reference_to_the_bit() {
        let mut rng = StdRng::seed_from_u64(3);
        let kernels = available();
        assert_eq!(kernels.last().map(|k| k.0), Some("portable"));
        let lens = (0..200).chain([383, 384, 768, 1536, 4099]);
        for len in lens {
            let random: (Vec<u8>, Vec<u8>) = (
                (0..len).map(|_| rng.random()).collect(),
                (0..len).map(|_| rng.random()).collect(),
            );
            let extremes = (vec![255u8; len], vec![0u8; len]);
            let highs = (vec![255u8; len], vec![255u8; len]);
            for (a, b) in [&random, &extremes, &highs] {
                let want = naive(a, b);
                for (name, k) in &kernels {
                    assert_eq!(k(a, b), want, "{name}, {len} codes");
                }
            }
        }
        // 255 · (0 − 128) per code, summed exactly.
        assert_eq!(naive(&[255; 384], &[0; 384]), -255 * 128 * 384);
    }

    #[test]
    fn the_selected_kernel_is_the_fastest_available() {
        assert_eq!(kernel_name(), available()[0].0);
        if std::env::var_os("ANNSCOPE_NO_SIMD").is_none() {
            #[cfg(target_arch = "x86_64")]
            if x86::has_vnni() {
                assert_eq!(kernel_name(), "avx512-vnni");
            }
        }
    }
}
