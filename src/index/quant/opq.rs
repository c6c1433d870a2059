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
/// `y`: with `M = x'y = U·S·V'`, `A = U·V'` and `R = A'`. `V` and `S²` come
/// from the eigendecomposition of the symmetric `M'M` (in f64; twice as fast
/// as linfa's SVD of `M`, measured at 384 dimensions), `U`'s columns as
/// `M·v/s` in order of falling `s`, each made orthogonal to those before
/// (twice, Gram–Schmidt) and normalised: directions the sample barely spans
/// (`s` near 0) are completed to an orthonormal basis rather than divided
/// by nothing, so `R` is a rotation whatever the sample.
fn procrustes(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<Array2<f32>> {
    let dim = x.ncols();
    let m = x.t().dot(&y).mapv(f64::from);
    let (values, v) = m
        .t()
        .dot(&m)
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
    // A = U·V', R = A' = V·U'.
    Ok(v_sorted.dot(&ut).mapv(|a| a as f32))
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
