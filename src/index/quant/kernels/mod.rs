//! The inner loops of every quantizer: the dot product of an f32 query
//! (already scaled or rotated by the quantizer) with one row of packed
//! codes, for codes of 8, 4 and 1 bits. Each quantizer turns its distance
//! into one of these plus per-row constants, so three kernels serve them
//! all.
//!
//! Layouts (a row is padded to a multiple of [`BLOCK`] dimensions; the
//! query is padded with zeros, so padded codes never count):
//! - 8 bits: one byte per dimension.
//! - 4 bits: per block of 32 dimensions, 16 bytes; byte `i` holds dimension
//!   `i` in its low nibble and `i + 16` in its high one, so one 16-byte load
//!   widens to two vectors of 16 lanes without shuffles.
//! - 1 bit: bit `i` of byte `b` is dimension `8b + i`.
//!
//! Binary codes (`bq`) compare two rows of bits by popcount (AVX-512
//! VPOPCNTDQ, else POPCNT); product codes sum table entries gathered by
//! code (AVX-512 and AVX2 gathers).
//!
//! Chosen at run time like the float kernels: AVX-512 where present, AVX2
//! (+FMA) otherwise, portable last; `ANNSCOPE_NO_SIMD` forces portable.
//! Each is tested against a scalar reference on random codes.

use std::sync::OnceLock;

/// Rows are padded to a multiple of this many dimensions.
pub const BLOCK: usize = 32;

/// A query–codes dot product: `(query, codes) -> Σ query[j] · code[j]`.
pub type CodeKernel = fn(&[f32], &[u8]) -> f32;

/// Bits that differ between two rows of 1-bit codes.
pub type HammingKernel = fn(&[u8], &[u8]) -> u32;

/// A product code's estimate: `Σ_m table[m · 256 + code[m]]`.
pub type TableKernel = fn(&[f32], &[u8]) -> f32;

/// The nearest of a product codebook's 256 centroids to a sub-vector `v`,
/// the codebook laid out one row of 256 values per coordinate: the index
/// of the first smallest squared distance.
pub type NearestKernel = fn(&[f32], &[f32]) -> usize;

/// The kernels in use and their name.
pub struct CodeKernels {
    pub u8: CodeKernel,
    pub u4: CodeKernel,
    pub u1: CodeKernel,
    pub hamming: HammingKernel,
    pub table: TableKernel,
    pub nearest: NearestKernel,
    pub name: &'static str,
}

/// The fastest kernels this CPU runs.
pub fn kernels() -> &'static CodeKernels {
    static K: OnceLock<CodeKernels> = OnceLock::new();
    K.get_or_init(|| {
        let all = available();
        all.into_iter().next().unwrap_or(PORTABLE)
    })
}

const PORTABLE: CodeKernels = CodeKernels {
    u8: portable::dot_u8,
    u4: portable::dot_u4,
    u1: portable::dot_u1,
    hamming: portable::hamming,
    table: portable::table,
    nearest: portable::nearest,
    name: "portable",
};

/// Every kernel set this CPU runs, fastest first (portable last).
pub fn available() -> Vec<CodeKernels> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("ANNSCOPE_NO_SIMD").is_none() {
        if is_x86_feature_detected!("avx512f") {
            out.push(CodeKernels {
                u8: x86::dot_u8_avx512_entry,
                u4: x86::dot_u4_avx512_entry,
                u1: x86::dot_u1_avx512_entry,
                hamming: if is_x86_feature_detected!("avx512vpopcntdq") {
                    x86::hamming_avx512_entry
                } else {
                    x86::hamming_popcnt_entry
                },
                table: x86::table_avx512_entry,
                nearest: x86::nearest_avx512_entry,
                name: "avx512",
            });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            out.push(CodeKernels {
                u8: x86::dot_u8_avx2_entry,
                u4: x86::dot_u4_avx2_entry,
                u1: x86::dot_u1_avx2_entry,
                hamming: if is_x86_feature_detected!("popcnt") {
                    x86::hamming_popcnt_entry
                } else {
                    portable::hamming
                },
                table: x86::table_avx2_entry,
                nearest: x86::nearest_avx2_entry,
                name: "avx2+fma",
            });
        }
    }
    out.push(PORTABLE);
    out
}

/// The contract of a code kernel, checked at every entry with `assert!`
/// (release builds too: the SIMD loops read by pointer, so a short row
/// would be read past its end): the query holds whole blocks and the row
/// holds a code for each of its dimensions.
#[inline(always)]
fn check_row(q: &[f32], codes: &[u8], bits: u8) {
    let per_byte = 8 / usize::from(bits);
    assert!(
        q.len().is_multiple_of(BLOCK) && codes.len() >= q.len() / per_byte,
        "code kernel: a query of {} values (whole blocks of {BLOCK} needed) against {} bytes of {bits}-bit codes",
        q.len(),
        codes.len()
    );
}

/// The contract of a table kernel: a row of 256 entries per code.
#[inline(always)]
fn check_table(lut: &[f32], codes: &[u8]) {
    assert!(
        lut.len() / 256 >= codes.len(),
        "table kernel: {} codes need {} table entries, not {}",
        codes.len(),
        codes.len().saturating_mul(256),
        lut.len()
    );
}

/// Dimensions once padded to whole blocks.
pub fn padded(dim: usize) -> usize {
    dim.div_ceil(BLOCK) * BLOCK
}

/// Bytes of one row of `bits`-bit codes over `dim` dimensions.
pub fn row_bytes(dim: usize, bits: u8) -> usize {
    padded(dim) * bits as usize / 8
}

/// Writes `values` (each below 2^bits) into a row of `bits`-bit codes.
pub fn pack(values: &[u8], bits: u8, row: &mut [u8]) {
    row.fill(0);
    match bits {
        8 => row[..values.len()].copy_from_slice(values),
        4 => {
            for (j, &v) in values.iter().enumerate() {
                let (block, i) = (j / BLOCK, j % BLOCK);
                let byte = block * 16 + i % 16;
                row[byte] |= (v & 0xF) << if i < 16 { 0 } else { 4 };
            }
        }
        1 => {
            for (j, &v) in values.iter().enumerate() {
                row[j / 8] |= (v & 1) << (j % 8);
            }
        }
        _ => unreachable!("codes are 8, 4 or 1 bits"),
    }
}

/// The value of dimension `j` in a row of `bits`-bit codes.
pub fn unpack(row: &[u8], bits: u8, j: usize) -> u8 {
    match bits {
        8 => row[j],
        4 => {
            let (block, i) = (j / BLOCK, j % BLOCK);
            let b = row[block * 16 + i % 16];
            if i < 16 {
                b & 0xF
            } else {
                b >> 4
            }
        }
        1 => (row[j / 8] >> (j % 8)) & 1,
        _ => unreachable!("codes are 8, 4 or 1 bits"),
    }
}

mod portable {
    use super::{check_row, check_table, BLOCK};

    pub fn dot_u8(q: &[f32], codes: &[u8]) -> f32 {
        check_row(q, codes, 8);
        let mut acc = [0.0f32; 8];
        for (qc, cc) in q.chunks_exact(8).zip(codes.chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += qc[l] * f32::from(cc[l]);
            }
        }
        acc.iter().sum()
    }

    pub fn dot_u4(q: &[f32], codes: &[u8]) -> f32 {
        check_row(q, codes, 4);
        let mut acc = [0.0f32; 16];
        for (qb, cb) in q.chunks_exact(BLOCK).zip(codes.chunks_exact(16)) {
            for i in 0..16 {
                acc[i] += qb[i] * f32::from(cb[i] & 0xF) + qb[i + 16] * f32::from(cb[i] >> 4);
            }
        }
        acc.iter().sum()
    }

    pub fn dot_u1(q: &[f32], codes: &[u8]) -> f32 {
        check_row(q, codes, 1);
        let mut acc = [0.0f32; 8];
        for (qc, &byte) in q.chunks_exact(8).zip(codes) {
            for l in 0..8 {
                acc[l] += qc[l] * f32::from((byte >> l) & 1);
            }
        }
        acc.iter().sum()
    }

    #[inline(always)]
    pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
        let (mut words_a, mut words_b) = (a.chunks_exact(8), b.chunks_exact(8));
        let mut n = 0;
        for (x, y) in (&mut words_a).zip(&mut words_b) {
            let x = u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
            let y = u64::from_le_bytes(y.try_into().unwrap_or([0; 8]));
            n += (x ^ y).count_ones();
        }
        for (x, y) in words_a.remainder().iter().zip(words_b.remainder()) {
            n += (x ^ y).count_ones();
        }
        n
    }

    pub fn table(lut: &[f32], codes: &[u8]) -> f32 {
        check_table(lut, codes);
        let mut acc = [0.0f32; 4];
        for (m, &c) in codes.iter().enumerate() {
            acc[m % 4] += lut[m * 256 + c as usize];
        }
        acc.iter().sum()
    }

    /// All 256 squared distances, summed coordinate by coordinate over
    /// contiguous rows; the smallest per lane of 16, then overall, then the
    /// first place holding it (the compiler vectorises each step at the
    /// width the caller's target features allow; no fused multiply-add, so
    /// every width gives the same sums).
    #[inline(always)]
    pub fn nearest(v: &[f32], book: &[f32]) -> usize {
        const N: usize = 256;
        assert!(
            book.len() / N >= v.len(),
            "nearest: {} coordinates need a codebook of {} values, not {}",
            v.len(),
            v.len().saturating_mul(N),
            book.len()
        );
        let mut dist = [0f32; N];
        for (&x, row) in v.iter().zip(book.chunks_exact(N)) {
            for (d, &c) in dist.iter_mut().zip(row) {
                let e = x - c;
                *d += e * e;
            }
        }
        let mut lanes = [f32::INFINITY; 16];
        for chunk in dist.chunks_exact(16) {
            for (l, &x) in lanes.iter_mut().zip(chunk) {
                *l = if x < *l { x } else { *l };
            }
        }
        let min = lanes
            .iter()
            .fold(f32::INFINITY, |m, &x| if x < m { x } else { m });
        for (chunk_no, chunk) in dist.chunks_exact(16).enumerate() {
            if chunk.iter().fold(false, |hit, &x| hit | (x == min)) {
                return chunk_no * 16 + chunk.iter().position(|&x| x == min).unwrap_or(0);
            }
        }
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    // The entries: each is selected only after its features were detected,
    // and checks its slices' lengths (`check_row`, `check_table`) before the
    // loops that read by pointer.
    pub fn nearest_avx512_entry(v: &[f32], book: &[f32]) -> usize {
        // SAFETY: selected only after `is_x86_feature_detected!("avx512f")`.
        unsafe { nearest_avx512(v, book) }
    }
    pub fn nearest_avx2_entry(v: &[f32], book: &[f32]) -> usize {
        // SAFETY: selected only after avx2 and fma were detected.
        unsafe { nearest_avx2(v, book) }
    }
    #[target_feature(enable = "avx512f")]
    unsafe fn nearest_avx512(v: &[f32], book: &[f32]) -> usize {
        super::portable::nearest(v, book)
    }
    #[target_feature(enable = "avx2,fma")]
    unsafe fn nearest_avx2(v: &[f32], book: &[f32]) -> usize {
        super::portable::nearest(v, book)
    }

    pub fn dot_u8_avx512_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 8);
        // SAFETY: selected only after `is_x86_feature_detected!("avx512f")`.
        unsafe { dot_u8_avx512(q, c) }
    }
    pub fn dot_u4_avx512_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 4);
        // SAFETY: as above.
        unsafe { dot_u4_avx512(q, c) }
    }
    pub fn dot_u1_avx512_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 1);
        // SAFETY: as above.
        unsafe { dot_u1_avx512(q, c) }
    }
    pub fn dot_u8_avx2_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 8);
        // SAFETY: selected only after detecting avx2 and fma.
        unsafe { dot_u8_avx2(q, c) }
    }
    pub fn dot_u4_avx2_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 4);
        // SAFETY: as above.
        unsafe { dot_u4_avx2(q, c) }
    }
    pub fn dot_u1_avx2_entry(q: &[f32], c: &[u8]) -> f32 {
        super::check_row(q, c, 1);
        // SAFETY: as above.
        unsafe { dot_u1_avx2(q, c) }
    }

    pub fn hamming_avx512_entry(a: &[u8], b: &[u8]) -> u32 {
        // SAFETY: selected only after detecting avx512f and avx512vpopcntdq.
        unsafe { hamming_avx512(a, b) }
    }
    pub fn hamming_popcnt_entry(a: &[u8], b: &[u8]) -> u32 {
        // SAFETY: selected only after detecting popcnt.
        unsafe { hamming_popcnt(a, b) }
    }
    pub fn table_avx512_entry(lut: &[f32], c: &[u8]) -> f32 {
        super::check_table(lut, c);
        // SAFETY: selected only after detecting avx512f.
        unsafe { table_avx512(lut, c) }
    }
    pub fn table_avx2_entry(lut: &[f32], c: &[u8]) -> f32 {
        super::check_table(lut, c);
        // SAFETY: selected only after detecting avx2.
        unsafe { table_avx2(lut, c) }
    }

    #[target_feature(enable = "popcnt")]
    unsafe fn hamming_popcnt(a: &[u8], b: &[u8]) -> u32 {
        super::portable::hamming(a, b)
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    unsafe fn hamming_avx512(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        // SAFETY: i + 64 <= n: both loads are inside both slices.
        unsafe {
            while i + 64 <= n {
                let x = _mm512_loadu_si512(pa.add(i) as *const __m512i);
                let y = _mm512_loadu_si512(pb.add(i) as *const __m512i);
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
                i += 64;
            }
        }
        let mut total = _mm512_reduce_add_epi64(acc) as u32;
        // SAFETY: popcnt is implied by avx512vpopcntdq's hardware.
        total += unsafe { hamming_popcnt(&a[i..n], &b[i..n]) };
        total
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn table_avx512(lut: &[f32], c: &[u8]) -> f32 {
        let m = c.len();
        let mut acc = _mm512_setzero_ps();
        let lanes = _mm512_setr_epi32(
            0, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 2816, 3072, 3328, 3584,
            3840,
        );
        let mut s = 0;
        // SAFETY: s + 16 <= m; every index s'·256 + code < m·256 <= lut.len().
        unsafe {
            while s + 16 <= m {
                let codes =
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(c.as_ptr().add(s) as *const __m128i));
                let idx = _mm512_add_epi32(codes, lanes);
                let base = lut.as_ptr().add(s * 256);
                acc = _mm512_add_ps(acc, _mm512_i32gather_ps::<4>(idx, base));
                s += 16;
            }
        }
        let mut total = _mm512_reduce_add_ps(acc);
        for (t, &code) in c.iter().enumerate().skip(s) {
            total += lut[t * 256 + code as usize];
        }
        total
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn table_avx2(lut: &[f32], c: &[u8]) -> f32 {
        let m = c.len();
        let mut acc = _mm256_setzero_ps();
        let lanes = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
        let mut s = 0;
        // SAFETY: s + 8 <= m; every index s'·256 + code < m·256 <= lut.len().
        unsafe {
            while s + 8 <= m {
                let codes =
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64(c.as_ptr().add(s) as *const __m128i));
                let idx = _mm256_add_epi32(codes, lanes);
                let base = lut.as_ptr().add(s * 256);
                acc = _mm256_add_ps(acc, _mm256_i32gather_ps::<4>(base, idx));
                s += 8;
            }
        }
        let mut total = hsum(acc);
        for (t, &code) in c.iter().enumerate().skip(s) {
            total += lut[t * 256 + code as usize];
        }
        total
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_u8_avx512(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY: i + 32 <= n <= c.len(): every load is inside both slices.
        unsafe {
            while i + 32 <= n {
                let c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                    pc.add(i) as *const __m128i
                )));
                let c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                    pc.add(i + 16) as *const __m128i
                )));
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), c0, a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i + 16)), c1, a1);
                i += 32;
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_u4_avx512(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let low = _mm512_set1_epi32(0xF);
        let mut i = 0;
        // SAFETY: block i/32 has 16 bytes at i/2, inside c; q has i + 32 floats.
        unsafe {
            while i + 32 <= n {
                let w = _mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i / 2) as *const __m128i));
                let lo = _mm512_cvtepi32_ps(_mm512_and_si512(w, low));
                let hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(w, 4));
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), lo, a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i + 16)), hi, a1);
                i += 32;
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_u1_avx512(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY: 32 dimensions are 4 bytes at i/8, inside c; q has i + 32 floats.
        unsafe {
            while i + 32 <= n {
                let bits = (pc.add(i / 8) as *const u32).read_unaligned();
                a0 = _mm512_mask_add_ps(a0, bits as u16, a0, _mm512_loadu_ps(pq.add(i)));
                a1 = _mm512_mask_add_ps(
                    a1,
                    (bits >> 16) as u16,
                    a1,
                    _mm512_loadu_ps(pq.add(i + 16)),
                );
                i += 32;
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u8_avx2(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        // SAFETY: i + 16 <= n <= c.len().
        unsafe {
            while i + 16 <= n {
                let c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
                    pc.add(i) as *const __m128i
                )));
                let c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
                    pc.add(i + 8) as *const __m128i
                )));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), c0, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 8)), c1, a1);
                i += 16;
            }
        }
        hsum(_mm256_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u4_avx2(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let low = _mm256_set1_epi32(0xF);
        let mut i = 0;
        // SAFETY: block i/32 has 16 bytes at i/2, inside c; q has i + 32 floats.
        unsafe {
            while i + 32 <= n {
                for half in 0..2 {
                    let w = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
                        pc.add(i / 2 + 8 * half) as *const __m128i
                    ));
                    let lo = _mm256_cvtepi32_ps(_mm256_and_si256(w, low));
                    let hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(w, 4));
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 8 * half)), lo, a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 16 + 8 * half)), hi, a1);
                }
                i += 32;
            }
        }
        hsum(_mm256_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u1_avx2(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let lanes = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let mut i = 0;
        // SAFETY: 16 dimensions are 2 bytes at i/8, inside c; q has i + 16 floats.
        unsafe {
            while i + 16 <= n {
                for (half, acc) in [&mut a0, &mut a1].into_iter().enumerate() {
                    let byte = _mm256_set1_epi32(i32::from(*pc.add(i / 8 + half)));
                    let on = _mm256_cmpeq_epi32(_mm256_and_si256(byte, lanes), lanes);
                    let v = _mm256_and_ps(
                        _mm256_loadu_ps(pq.add(i + 8 * half)),
                        _mm256_castsi256_ps(on),
                    );
                    *acc = _mm256_add_ps(*acc, v);
                }
                i += 16;
            }
        }
        hsum(_mm256_add_ps(a0, a1))
    }
}

#[cfg(test)]
mod tests;
