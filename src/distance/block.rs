//! Dot products of a block of queries with a block of base rows, for exact
//! search over a batch (the flat index and ground truth): a matrix product
//! written for this one shape.
//!
//! The shape is always thin: a few hundred dimensions, every query against
//! every row. The rows of a base block are packed once into panels of
//! [`NR`] rows stored dimension by dimension, the queries into panels of
//! [`MR`]; the AVX-512 micro-kernel then keeps an `MR × NR` tile of sums in
//! 28 of the 32 vector registers and, per dimension, loads two vectors of
//! the row panel and broadcasts each query's value from memory into two
//! fused multiply-adds: 28 multiply-adds per 16 loads, so the two FMA units
//! are the limit, not the loads. A query panel (14 × 384 values, 21 KB)
//! stays in L1 while the row panels of a block stream through it from L2.
//! This is the register blocking of BLIS and OpenBLAS's Skylake-X kernels
//! without their general strides, transposes and k-blocking, which exact
//! search never needs. Without AVX-512 the flat index uses the `gemm`
//! crate instead ([`available`]).
//!
//! Sums run over the dimensions in order, so a score is the same whichever
//! panel or block its query and row fall in (tests compare with `==`).

/// Queries per panel (rows of the register tile).
pub const MR: usize = 14;
/// Base rows per panel (columns of the register tile: two 16-lane vectors).
pub const NR: usize = 32;

/// Whether this CPU runs the block kernel (AVX-512F).
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::env::var_os("ANNSCOPE_NO_SIMD").is_none() && is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Rows packed into panels: panel `p` holds rows `p·W .. p·W + W` as
/// `dim` groups of `W` values (dimension-major), rows past the end zero.
#[derive(Default)]
pub struct Packed<const W: usize> {
    data: Vec<f32>,
    rows: usize,
    dim: usize,
}

impl<const W: usize> Packed<W> {
    /// An empty packing, to be filled (and refilled) by [`pack`](Self::pack).
    pub fn new() -> Self {
        Packed {
            data: Vec::new(),
            rows: 0,
            dim: 0,
        }
    }

    /// Packs `count` rows of length `dim`, row `i` given by `row(i)`,
    /// reusing this packing's memory.
    pub fn pack<'a>(&mut self, count: usize, dim: usize, row: impl Fn(usize) -> &'a [f32]) {
        let panels = count.div_ceil(W);
        self.rows = count;
        self.dim = dim;
        self.data.clear();
        self.data.resize(panels * W * dim, 0.0);
        let mut srcs: Vec<&[f32]> = Vec::with_capacity(W);
        for p in 0..panels {
            let panel = &mut self.data[p * W * dim..(p + 1) * W * dim];
            srcs.clear();
            srcs.extend((0..W.min(count - p * W)).map(|r| &row(p * W + r)[..dim]));
            // Writes in order, reads from W rows at once (the caches follow
            // W streams; W-strided writes were 2× slower). Rows of 16
            // values at a time, so each row's slice is checked once.
            let mut k = 0;
            while k + 16 <= dim {
                for (r, src) in srcs.iter().enumerate() {
                    let vals: &[f32; 16] = src[k..k + 16].try_into().expect("16 values");
                    for (j, &v) in vals.iter().enumerate() {
                        panel[(k + j) * W + r] = v;
                    }
                }
                k += 16;
            }
            for k in k..dim {
                for (r, src) in srcs.iter().enumerate() {
                    panel[k * W + r] = src[k];
                }
            }
        }
    }

    /// Panels packed (the last may be part empty).
    pub fn panels(&self) -> usize {
        self.rows.div_ceil(W)
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * W * self.dim..(p + 1) * W * self.dim]
    }
}

/// Scores of query panel `qp` of `queries` against every row of `rows`:
/// `out[i * ld + j]` = query `qp·MR + i` · row `j`, for `i < MR` and `j <`
/// the rows packed (`ld` at least the rows rounded up to [`NR`]; rows of the
/// panel past the last query hold zeros' scores). Only where [`available`].
pub fn panel_scores(
    queries: &Packed<MR>,
    qp: usize,
    rows: &Packed<NR>,
    out: &mut [f32],
    ld: usize,
) {
    assert!(available(), "the block kernel needs AVX-512F");
    assert_eq!(
        queries.dim, rows.dim,
        "queries and rows differ in dimension"
    );
    assert!(ld >= rows.panels() * NR && out.len() >= (MR - 1) * ld + rows.panels() * NR);
    let a = queries.panel(qp);
    for p in 0..rows.panels() {
        let b = rows.panel(p);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F was checked above; `a` holds MR·dim values, `b`
        // NR·dim, and the tile's MR rows of NR values at `p·NR + i·ld` lie
        // inside `out` (asserted above).
        unsafe {
            x86::tile(
                a.as_ptr(),
                b.as_ptr(),
                queries.dim,
                out.as_mut_ptr().add(p * NR),
                ld,
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (a, b);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{MR, NR};

    /// One MR × NR tile: `c[i·ldc + j] = Σ_k a[k·MR + i] · b[k·NR + j]`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile(a: *const f32, b: *const f32, dim: usize, c: *mut f32, ldc: usize) {
        let mut acc = [_mm512_setzero_ps(); 2 * MR];
        // SAFETY (all accesses): the caller's bounds, k < dim, i < MR.
        unsafe {
            for k in 0..dim {
                let b0 = _mm512_loadu_ps(b.add(k * NR));
                let b1 = _mm512_loadu_ps(b.add(k * NR + 16));
                let ak = a.add(k * MR);
                for i in 0..MR {
                    let x = _mm512_set1_ps(*ak.add(i));
                    acc[2 * i] = _mm512_fmadd_ps(x, b0, acc[2 * i]);
                    acc[2 * i + 1] = _mm512_fmadd_ps(x, b1, acc[2 * i + 1]);
                }
            }
            for i in 0..MR {
                _mm512_storeu_ps(c.add(i * ldc), acc[2 * i]);
                _mm512_storeu_ps(c.add(i * ldc + 16), acc[2 * i + 1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::random_vectors;

    /// Every score equals the same sum taken one dimension at a time in
    /// f32 with fused multiply-adds, whatever panel the query and the row
    /// fall in: counts that leave part-empty panels on both sides.
    #[test]
    fn scores_equal_an_in_order_fused_sum_for_every_panel() {
        if !available() {
            return;
        }
        for (nq, nb, dim) in [(1, 1, 3), (14, 32, 16), (15, 33, 384), (29, 70, 100)] {
            let q = random_vectors(nq, dim, 1);
            let b = random_vectors(nb, dim, 2);
            let mut qs = Packed::<MR>::new();
            qs.pack(nq, dim, |i| &q[i * dim..(i + 1) * dim]);
            let mut bs = Packed::<NR>::new();
            bs.pack(nb, dim, |i| &b[i * dim..(i + 1) * dim]);
            let ld = bs.panels() * NR;
            let mut out = vec![f32::NAN; MR * ld];
            for qp in 0..qs.panels() {
                panel_scores(&qs, qp, &bs, &mut out, ld);
                for i in 0..MR.min(nq - qp * MR) {
                    let qi = qp * MR + i;
                    for j in 0..nb {
                        let want = (0..dim)
                            .fold(0.0f32, |s, k| q[qi * dim + k].mul_add(b[j * dim + k], s));
                        assert_eq!(
                            out[i * ld + j].to_bits(),
                            want.to_bits(),
                            "{nq}×{nb}×{dim}: query {qi}, row {j}"
                        );
                    }
                }
            }
        }
    }
}
