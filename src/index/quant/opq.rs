//! Optimized product quantization (`opq:M`; Ge, He, Ke & Sun, "Optimized
//! Product Quantization", TPAMI 2014): the vectors are rotated before
//! product quantization, so that each sub-space holds a fair share of the
//! variance and the sub-spaces are decorrelated. Plain PQ cuts a sentence
//! embedding's dimensions in the order the model emits them, which leaves
//! some sub-spaces with far more variance than others.
//!
//! The rotation is learnt on the codebooks' training sample by the paper's
//! non-parametric method (as FAISS's `OPQMatrix`): starting from the
//! identity, [`REFINE`] rounds of learning codebooks on the rotated sample,
//! reconstructing it, and taking the orthogonal matrix that best maps the
//! sample onto its reconstruction (orthogonal Procrustes). Measured on
//! pypi-minilm (100k × 384, cosine, `opq:96`, codes only, flat scan): 20
//! rounds took recall@10 from pq:96's 0.866 to 0.886, 40 to 0.899. The
//! paper's parametric start (principal axes dealt to the sub-spaces to
//! balance their variance) made it worse here (0.781); a random start
//! changed nothing (0.864). Codebooks are learnt afresh each round (one
//! Lloyd step from seeded rows): keeping them from round to round, as
//! FAISS does, stalled at 0.869.
//!
//! The codes are then those of [`ProductModel`] on the rotated vectors; a
//! query is rotated once and builds the same tables, so the search costs
//! one D × D product more than `pq:M`. Rotations keep lengths and dot
//! products, so distances and the cosine factor carry over unchanged.
//! Everything is seeded and deterministic: a saved index re-trains the
//! same codes on load.

use linfa_linalg::eigh::Eigh;
use ndarray::{Array2, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

use super::product::{self, ProductModel};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};

/// Procrustes rounds (see the module's measurements).
const REFINE: usize = 32;
/// Lloyd iterations of each round's codebooks (the final ones get the full
/// [`product::ITERATIONS`]): one did as well as four, measured.
const REFINE_LLOYD: usize = 1;

pub struct OpqModel {
    dim: usize,
    /// `dim × dim`, row-major: row `i` gives the `i`-th rotated coordinate.
    rotation: Vec<f32>,
    pq: ProductModel,
}

fn linalg_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidParameter(format!("opq: {what} failed: {e}"))
}

/// The rotation `R` (rows: rotated coordinates) whose `x·R'` is nearest to
/// `y`: with `M = x'y = U·S·V'`, the polar factor `A = U·V'` and `R = A'`.
/// [`polar_newton_schulz`] finds `A` with matrix products only (at 384
/// dimensions, on the sample: 0.4 s a round through the eigendecomposition,
/// the whole `opq:96` build 18.0 s → 10.8 s); when it cannot converge (a
/// singular value too small to lift, yet not 0), [`polar_by_eigh`] does.
fn procrustes(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<Array2<f32>> {
    let m = x.t().dot(&y).mapv(f64::from);
    let a = match polar_newton_schulz(&m) {
        Some(a) => a,
        None => polar_by_eigh(&m)?,
    };
    Ok(a.t().mapv(|v| v as f32))
}

/// Newton–Schulz steps `X ← X·p(X'X)` move every singular value of `X`
/// towards 1 and keep its singular vectors, so they end at `U·V'`. Scaled
/// by the Frobenius norm, every singular value starts in [0, 1]; quintic
/// steps (the coefficients Muon uses: small values grow 3.4× a step, and
/// the rest stay within [0.68, 1.21]; in f32) lift the small ones quickly, then
/// cubic steps (`1.5·X − 0.5·X·X'X`, quadratic near 1) finish in f64 until
/// `X'X` is the identity to 1e-10.
///
/// Real samples are often singular in a few directions (the 4,000-row
/// sample's `M` has 3 singular values at rounding level): those stay at 0,
/// so the steps end when `X'X` is a projector instead, and [`complete`]
/// pairs the directions left out. `None` when neither is reached (some
/// singular value too small to lift in the steps allowed, but not 0).
fn polar_newton_schulz(m: &Array2<f64>) -> Option<Array2<f64>> {
    const QUINTIC: (f64, f64, f64) = (3.4445, -4.7750, 2.0315);
    const QUINTIC_STEPS: usize = 14;
    const CUBIC_STEPS: usize = 30;
    const TOLERANCE: f64 = 1e-10;
    let n = m.nrows();
    let frobenius = m.iter().map(|v| v * v).sum::<f64>().sqrt();
    if !frobenius.is_finite() || frobenius == 0.0 {
        return None;
    }
    // The quintic steps only need to land the values near 1: in f32,
    // whose products take half the time.
    let mut rough = m.mapv(|v| (v / frobenius) as f32);
    let identity32 = Array2::<f32>::eye(n);
    for _ in 0..QUINTIC_STEPS {
        let gram = rough.t().dot(&rough);
        let (a, b, c) = QUINTIC;
        let poly = &identity32 * a as f32 + &gram * b as f32 + gram.dot(&gram) * c as f32;
        rough = rough.dot(&poly);
    }
    let mut x = rough.mapv(f64::from);
    let identity = Array2::<f64>::eye(n);
    let norm = |a: &Array2<f64>| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut last_off = f64::INFINITY;
    for _ in 0..CUBIC_STEPS {
        let gram = x.t().dot(&x);
        let off = norm(&(&gram - &identity));

        if !off.is_finite() {
            return None;
        }
        if off < TOLERANCE {
            return Some(x);
        }
        // Stalled: the rest may be at 0 (checked only then: one product).
        if off > 0.5 * last_off && norm(&(gram.dot(&gram) - &gram)) < TOLERANCE {
            return complete(x, &gram);
        }
        last_off = off;
        x = x.dot(&(&identity * 1.5 - &gram * 0.5));
    }
    None
}

/// `X` a partial isometry (`X'X` a projector): `X` plus an isometry from
/// the directions it leaves out (`I − X'X`) onto those its image leaves out
/// (`I − XX'`), each given an orthonormal basis by pivoted Gram–Schmidt on
/// the projector's columns. Any pairing is as good: `M` is 0 there.
fn complete(x: Array2<f64>, gram: &Array2<f64>) -> Option<Array2<f64>> {
    let n = x.nrows();
    let identity = Array2::<f64>::eye(n);
    let missing = (n as f64 - gram.diag().sum()).round();
    if !(0.0..=n as f64).contains(&missing) {
        return None;
    }
    let missing = missing as usize;
    let right = basis_of(&identity - gram, missing)?;
    let left = basis_of(&identity - x.dot(&x.t()), missing)?;
    Some(x + left.t().dot(&right))
}

/// `count` orthonormal rows spanning the columns of the symmetric projector
/// `p`: at each pick the column with the most left once the picks so far
/// are taken out (twice, for rounding). `None` if the projector does not
/// have that many directions.
fn basis_of(p: Array2<f64>, count: usize) -> Option<Array2<f64>> {
    // Rows of a symmetric matrix are its columns.
    let mut rest = p;
    let mut basis = Array2::<f64>::zeros((count, rest.ncols()));
    for k in 0..count {
        let (best, length) = rest
            .rows()
            .into_iter()
            .map(|r| r.dot(&r).sqrt())
            .enumerate()
            .fold((0, 0f64), |b, (i, l)| if l > b.1 { (i, l) } else { b });
        if length < 0.5 {
            return None;
        }
        let mut row = rest.row(best).to_owned();
        for _ in 0..2 {
            for done in basis.rows().into_iter().take(k) {
                let d = row.dot(&done);
                row.scaled_add(-d, &done);
            }
        }
        row /= row.dot(&row).sqrt();
        for mut r in rest.rows_mut() {
            let d = r.dot(&row);
            r.scaled_add(-d, &row);
        }
        basis.row_mut(k).assign(&row);
    }
    Some(basis)
}

/// `A = U·V'` through the eigendecomposition of the symmetric `M'M` (in
/// f64; twice as fast as linfa's SVD of `M`, measured at 384 dimensions):
/// `V` and `S²` from it, `U`'s columns as `M·v/s` in order of falling `s`,
/// each made orthogonal to those before (twice, Gram–Schmidt) and
/// normalised: directions the sample barely spans (`s` near 0) are
/// completed to an orthonormal basis rather than divided by nothing, so `A`
/// is orthogonal whatever the sample.
fn polar_by_eigh(m: &Array2<f64>) -> Result<Array2<f64>> {
    let dim = m.ncols();
    let (values, v) = m
        .t()
        .dot(m)
        .eigh()
        .map_err(|e| linalg_error("eigendecomposition", e))?;
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let v_sorted = ndarray::stack(
        Axis(1),
        &order.iter().map(|&i| v.column(i)).collect::<Vec<_>>(),
    )
    .map_err(|e| linalg_error("eigenvectors", e))?;
    // Row j of `ut` becomes U's column j: M·v_j, orthonormalised.
    let mut ut = m.dot(&v_sorted).t().as_standard_layout().into_owned();
    let mut fallback = 0;
    for j in 0..dim {
        let (done, mut rest) = ut.view_mut().split_at(Axis(0), j);
        let mut c = rest.row_mut(0);
        let orthogonalise = |c: &mut ndarray::ArrayViewMut1<f64>| {
            for _ in 0..2 {
                for p in done.rows() {
                    let d = c.dot(&p);
                    c.scaled_add(-d, &p);
                }
            }
        };
        orthogonalise(&mut c);
        let mut norm = c.dot(&c).sqrt();
        // Spanned too little to give a direction: the next unit vector
        // not yet spanned.
        while norm < 1e-9 && fallback < dim {
            c.fill(0.0);
            c[fallback] = 1.0;
            fallback += 1;
            orthogonalise(&mut c);
            norm = c.dot(&c).sqrt();
        }
        c /= norm.max(f64::MIN_POSITIVE);
    }
    // A = U·V'.
    Ok(ut.t().dot(&v_sorted.t()))
}

/// `x` encoded with `pq` and decoded again, row by row.
fn reconstruct(pq: &ProductModel, x: &Array2<f32>, m: usize) -> Array2<f32> {
    let dim = x.ncols();
    let mut out = vec![0f32; x.len()];
    let rows = x.as_slice().unwrap_or(&[]);
    out.par_chunks_mut(dim)
        .zip(rows.par_chunks(dim))
        .for_each(|(o, v)| {
            let mut code = vec![0u8; m];
            let mut f = [0f32; product::FACTORS];
            pq.encode(v, Metric::L2, &mut code, &mut f);
            o.copy_from_slice(&pq.decode(&code));
        });
    Array2::from_shape_vec((x.nrows(), dim), out).unwrap_or_else(|_| Array2::zeros(x.dim()))
}

impl OpqModel {
    pub fn train(vectors: &[f32], dim: usize, m: usize, seed: u64) -> Result<Self> {
        Self::train_rounds(vectors, dim, m, seed, REFINE)
    }

    /// As [`OpqModel::train`], with `rounds` Procrustes rounds (0: plain PQ).
    fn train_rounds(
        vectors: &[f32],
        dim: usize,
        m: usize,
        seed: u64,
        rounds: usize,
    ) -> Result<Self> {
        ProductModel::check("opq", dim, m)?;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x004f_5051);
        let rows = product::training_rows(vectors.len() / dim, &mut rng);
        let x = Array2::from_shape_vec((rows.len(), dim), product::gather(vectors, dim, &rows))
            .map_err(|e| linalg_error("sample", e))?;
        let mut rotation = Array2::<f32>::eye(dim);
        for round in 0..rounds {
            let rotated = x.dot(&rotation.t());
            let mut round_rng = StdRng::seed_from_u64(seed ^ (0x4f50_5152 + round as u64));
            let pq = ProductModel::fit(
                rotated.as_slice().unwrap_or(&[]),
                dim,
                m,
                &mut round_rng,
                REFINE_LLOYD,
            )?;
            let y = reconstruct(&pq, &rotated, m);
            rotation = procrustes(x.view(), y.view())?;
        }
        let rotated = x.dot(&rotation.t());
        let pq = ProductModel::fit(
            rotated.as_slice().unwrap_or(&[]),
            dim,
            m,
            &mut rng,
            product::ITERATIONS,
        )?;
        Ok(OpqModel {
            dim,
            rotation: rotation.iter().copied().collect(),
            pq,
        })
    }

    pub fn bytes(&self) -> usize {
        self.rotation.capacity() * 4 + self.pq.bytes()
    }

    /// `R · v`.
    fn rotate(&self, v: &[f32]) -> Vec<f32> {
        self.rotation
            .chunks_exact(self.dim)
            .map(|row| distance::dot(row, v))
            .collect()
    }

    pub fn encode(&self, x: &[f32], metric: Metric, row: &mut [u8], factors: &mut [f32]) {
        self.pq.encode(&self.rotate(x), metric, row, factors);
    }

    /// The vector a code names, rotated back (`R' · decoded`).
    pub fn decode(&self, codes: &[u8]) -> Vec<f32> {
        let y = self.pq.decode(codes);
        let mut out = vec![0f32; self.dim];
        for (row, &c) in self.rotation.chunks_exact(self.dim).zip(&y) {
            for (o, &r) in out.iter_mut().zip(row) {
                *o += r * c;
            }
        }
        out
    }

    /// The rotated query's tables (see [`ProductModel::prepare`]).
    pub fn prepare(&self, q: &[f32], metric: Metric, lut: &mut [f32]) {
        self.pq.prepare(&self.rotate(q), metric, lut);
    }

    /// Mean squared reconstruction error over `vectors` (rows), for tests
    /// and for saying whether the rotation paid.
    #[cfg(test)]
    pub fn mse(&self, vectors: &[f32]) -> f64 {
        mse(vectors, self.dim, |v, code| {
            let mut f = [0f32; product::FACTORS];
            self.encode(v, Metric::L2, code, &mut f);
            self.decode(code)
        })
    }

    #[cfg(test)]
    pub fn rotation(&self) -> &[f32] {
        &self.rotation
    }
}

/// Mean squared error of `roundtrip` (encode into the code buffer, then
/// decode) over the rows of `vectors`.
#[cfg(test)]
pub fn mse(vectors: &[f32], dim: usize, roundtrip: impl Fn(&[f32], &mut [u8]) -> Vec<f32>) -> f64 {
    let mut code = vec![0u8; dim];
    let mut total = 0f64;
    let mut n = 0usize;
    for v in vectors.chunks_exact(dim) {
        let back = roundtrip(v, &mut code);
        total += v
            .iter()
            .zip(&back)
            .map(|(a, b)| f64::from((a - b) * (a - b)))
            .sum::<f64>();
        n += 1;
    }
    total / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose variance lies along a few directions mixed into every
    /// coordinate by a random rotation: PQ's coordinate blocks cut across
    /// them, a learnt rotation can line the blocks up with them.
    fn mixed(n: usize, dim: usize) -> Vec<f32> {
        let z = crate::testutil::random_vectors(n, dim, 11);
        let mix = super::super::rabitq::random_rotation(dim, 5);
        let mut out = vec![0f32; n * dim];
        for (row, zr) in out.chunks_exact_mut(dim).zip(z.chunks_exact(dim)) {
            // Variances falling off fast: a few directions carry most.
            let scaled: Vec<f32> = zr
                .iter()
                .enumerate()
                .map(|(j, &v)| v * 0.8f32.powi(j as i32))
                .collect();
            for (o, m) in row.iter_mut().zip(mix.chunks_exact(dim)) {
                *o = distance::dot(m, &scaled);
            }
        }
        out
    }

    fn orthogonality_error(a: &Array2<f64>) -> f64 {
        let gram = a.t().dot(a);
        (&gram - &Array2::<f64>::eye(a.nrows()))
            .iter()
            .fold(0f64, |worst, v| worst.max(v.abs()))
    }

    #[test]
    fn newton_schulz_finds_the_same_polar_factor_as_the_eigendecomposition() {
        let dim = 48;
        // Well conditioned: both ways agree to f32's precision (the
        // quintic steps' rounding; R is kept in f32).
        let g = crate::testutil::random_vectors(dim, dim, 3);
        let m = Array2::from_shape_vec((dim, dim), g)
            .expect("shape")
            .mapv(f64::from);
        let fast = polar_newton_schulz(&m).expect("a random square matrix is not singular");
        let slow = polar_by_eigh(&m).expect("eigh");
        assert!(
            orthogonality_error(&fast) < 1e-9,
            "{}",
            orthogonality_error(&fast)
        );
        let worst = (&fast - &slow).iter().fold(0f64, |w, d| w.max(d.abs()));
        assert!(worst < 1e-5, "Newton-Schulz and eigh differ by {worst}");
        // Variances falling 0.8× a dimension (condition ~1e9): the polar
        // factor maximises trace(A'M) over rotations; Newton-Schulz's does
        // at least as well as the eigendecomposition's (which squares the
        // condition number, so loses the smallest directions).
        let n = 400;
        let x = Array2::from_shape_vec((n, dim), mixed(n, dim)).expect("shape");
        let turn = super::super::rabitq::random_rotation(dim, 9);
        let turn = Array2::from_shape_vec((dim, dim), turn).expect("shape");
        let noise = crate::testutil::random_vectors(n, dim, 4);
        let y = x.dot(&turn) + Array2::from_shape_vec((n, dim), noise).expect("shape") * 0.05;
        let m = x.t().dot(&y).mapv(f64::from);
        let fast = polar_newton_schulz(&m).expect("converges");
        let slow = polar_by_eigh(&m).expect("eigh");
        assert!(orthogonality_error(&fast) < 1e-9);
        let fit = |a: &Array2<f64>| (a * &m).sum();
        assert!(
            fit(&fast) >= fit(&slow) - 1e-9 * fit(&slow).abs(),
            "{} vs {}",
            fit(&fast),
            fit(&slow)
        );
    }

    #[test]
    fn a_sample_that_never_moves_some_coordinates_still_gives_a_rotation() {
        // Padded embeddings: 8 of 32 coordinates always 0. M is exactly
        // singular there: Newton-Schulz cannot lift those directions, so
        // it completes the basis, as the eigendecomposition does.
        let (n, dim) = (300, 32);
        let mut v = mixed(n, dim);
        for row in v.chunks_exact_mut(dim) {
            row[24..].fill(0.0);
        }
        let x = Array2::from_shape_vec((n, dim), v).expect("shape");
        let m = x.t().dot(&x).mapv(f64::from);
        let fast = polar_newton_schulz(&m).expect("completed");
        let slow = polar_by_eigh(&m).expect("eigh");
        assert!(
            orthogonality_error(&fast) < 1e-9,
            "{}",
            orthogonality_error(&fast)
        );
        let fit = |a: &Array2<f64>| (a * &m).sum();
        assert!((fit(&fast) - fit(&slow)).abs() < 1e-9 * fit(&slow).abs());
        // On the coordinates the sample moves, the same map as eigh's.
        let moved = |a: &Array2<f64>| a.slice(ndarray::s![..24, ..24]).to_owned();
        let worst = (&moved(&fast) - &moved(&slow))
            .iter()
            .fold(0f64, |w, d| w.max(d.abs()));
        assert!(worst < 1e-4, "{worst}");
        let r = procrustes(x.view(), x.view()).expect("procrustes");
        assert!(orthogonality_error(&r.mapv(f64::from)) < 1e-5);
    }

    fn pq_mse(v: &[f32], dim: usize, m: usize) -> f64 {
        let pq = ProductModel::train(v, dim, m, 1).expect("pq");
        mse(v, dim, |x, code| {
            let mut f = [0f32; product::FACTORS];
            pq.encode(x, Metric::L2, code, &mut f);
            pq.decode(code)
        })
    }

    #[test]
    fn the_learnt_rotation_is_orthogonal_and_cuts_the_error_where_pq_cuts_across_the_variance() {
        let (n, dim, m) = (1500, 32, 8);
        let v = mixed(n, dim);
        let opq = OpqModel::train_rounds(&v, dim, m, 1, 12).expect("opq");
        let r = Array2::from_shape_vec((dim, dim), opq.rotation().to_vec()).expect("shape");
        let gram = r.dot(&r.t());
        for i in 0..dim {
            for j in 0..dim {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (gram[[i, j]] - want).abs() < 1e-3,
                    "R R' [{i},{j}] = {}",
                    gram[[i, j]]
                );
            }
        }
        let plain = pq_mse(&v, dim, m);
        let learnt = opq.mse(&v);
        assert!(learnt < 0.8 * plain, "opq {learnt} vs pq {plain}");
        // No rounds: the identity, so product codes' error (other seeded
        // rows drawn), and the rounds are what cut it.
        let none = OpqModel::train_rounds(&v, dim, m, 1, 0)
            .expect("opq")
            .mse(&v);
        assert!((none - plain).abs() < 0.1 * plain, "{none} vs {plain}");
        assert!(learnt < 0.8 * none, "{learnt} vs {none}");
    }

    #[test]
    fn a_decoded_code_rotates_back_to_near_its_vector_and_the_tables_give_its_dot_product() {
        let (dim, m) = (32, 8);
        let v = mixed(600, dim);
        let opq = OpqModel::train_rounds(&v, dim, m, 3, 4).expect("opq");
        let q = &v[..dim];
        let mut lut = vec![0f32; m * product::CENTROIDS];
        opq.prepare(q, Metric::InnerProduct, &mut lut);
        for x in v.chunks_exact(dim).take(50) {
            let mut code = vec![0u8; m];
            let mut f = [0f32; product::FACTORS];
            opq.encode(x, Metric::InnerProduct, &mut code, &mut f);
            let from_tables: f32 = code
                .iter()
                .enumerate()
                .map(|(s, &c)| lut[s * product::CENTROIDS + c as usize])
                .sum();
            let decoded = opq.decode(&code);
            let direct = distance::dot(q, &decoded);
            assert!(
                (from_tables - direct).abs() < 1e-3 * (1.0 + direct.abs()),
                "{from_tables} vs {direct}"
            );
        }
    }
}
