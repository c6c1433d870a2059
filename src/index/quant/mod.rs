//! Quantizers: compact codes of the vectors that a graph walk or a scan
//! reads instead of the f32 vectors, with the f32 vectors (in RAM or on
//! disk) read only to re-score the last candidates. The first rungs of the
//! memory ladder: 8-bit and 4-bit scalar codes (per-dimension ranges) and
//! RaBitQ (Gao & Long, SIGMOD 2024: a random rotation, then one bit per
//! dimension; multi-bit codes as in extended RaBitQ, Gao et al. 2024), whose
//! estimates come with an error bound that decides which candidates need
//! an exact re-score at all.
//!
//! Every quantizer's distance is one of three kernels ([`kernels`]: the dot
//! product of a prepared f32 query with 8-, 4- or 1-bit codes) plus
//! per-row constants, so the hot loop is the same shape for all of them.
//! A prepared query is a flat `Vec<f32>`: the padded query the kernel reads,
//! then [`CONSTS`] query constants.
//!
//! Training is seeded and reads the vectors as the index holds them (unit
//! length under cosine).

mod binary;
pub mod kernels;
mod opq;
mod product;
mod rabitq;
mod scalar;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::distance::Metric;
use crate::error::{Error, Result};

/// Which codes an index walks or scans (`none`: the index's own precision).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Quantizer {
    #[default]
    None,
    /// One byte per dimension over its range.
    Sq8,
    /// Four bits per dimension over its range.
    Sq4,
    /// A random rotation, then `bits` (1, 4 or 8) per dimension.
    RaBitQ { bits: u8 },
    /// `m` sub-vectors, one byte each (256 centroids per sub-space).
    Pq { m: u16 },
    /// Product codes after a learnt rotation (OPQ).
    Opq { m: u16 },
    /// One bit per dimension, compared by Hamming distance.
    Bq,
}

/// One way of spelling a quantizer on the command line, in files and in
/// the app: the help text and the parser's refusal are built from
/// [`QUANTIZER_FORMS`], and [`Quantizer::form`] names each quantizer's
/// entry, so the list cannot drift from what the parser takes.
#[derive(Debug, PartialEq, Eq)]
pub struct QuantizerForm {
    /// As the user writes it (`M`, `BITS`: a number).
    pub spelling: &'static str,
    /// Strings the parser takes for it.
    pub examples: &'static [&'static str],
    /// What it is, for the help.
    pub about: &'static str,
}

/// Every quantizer the parser takes, in the order the help lists them.
pub const QUANTIZER_FORMS: &[QuantizerForm] = &[
    QuantizerForm {
        spelling: "none",
        examples: &["none"],
        about: "no codes, walk per --search-precision",
    },
    QuantizerForm {
        spelling: "sq8",
        examples: &["sq8"],
        about: "a byte per value over each dimension's range",
    },
    QuantizerForm {
        spelling: "sq4",
        examples: &["sq4"],
        about: "four bits per value over each dimension's range",
    },
    QuantizerForm {
        spelling: "rabitq:BITS",
        examples: &["rabitq:1", "rabitq:4", "rabitq:8", "rabitq"],
        about: "a random rotation, then 1, 4 or 8 bits per dimension, with an error bound; plain rabitq is rabitq:1",
    },
    QuantizerForm {
        spelling: "pq:M",
        examples: &["pq:8", "pq:48"],
        about: "product codes, M sub-vectors of a byte each, M dividing the dimension",
    },
    QuantizerForm {
        spelling: "opq:M",
        examples: &["opq:8", "opq:48"],
        about: "product codes after a learnt rotation, OPQ",
    },
    QuantizerForm {
        spelling: "bq",
        examples: &["bq"],
        about: "one bit per dimension, its sign, compared by Hamming distance",
    },
];

/// Most dimensions RaBitQ takes: its rotation is a dense D × D matrix
/// (16 MiB and a few seconds of Gram–Schmidt at 2,048).
pub const RABITQ_MAX_DIM: usize = 2048;

/// Bit counts RaBitQ codes come in (packed as bits, nibbles or bytes).
pub const RABITQ_BITS: [u8; 3] = [1, 4, 8];

impl Quantizer {
    /// Bits each dimension's code takes (product codes: none per dimension).
    pub fn bits(self) -> Option<u8> {
        match self {
            Quantizer::None | Quantizer::Pq { .. } | Quantizer::Opq { .. } => None,
            Quantizer::Sq8 => Some(8),
            Quantizer::Sq4 => Some(4),
            Quantizer::RaBitQ { bits } => Some(bits),
            Quantizer::Bq => Some(1),
        }
    }

    /// Bytes of one row's code over `dim` dimensions (0 for none).
    pub fn code_bytes(self, dim: usize) -> usize {
        match self {
            Quantizer::Pq { m } | Quantizer::Opq { m } => m as usize,
            q => q.bits().map_or(0, |b| kernels::row_bytes(dim, b)),
        }
    }

    /// f32 factors kept per row beside its code (see each model).
    fn factors(self) -> usize {
        match self {
            Quantizer::None => 0,
            Quantizer::Sq8 | Quantizer::Sq4 => scalar::FACTORS,
            Quantizer::RaBitQ { .. } => rabitq::FACTORS,
            Quantizer::Pq { .. } | Quantizer::Opq { .. } => product::FACTORS,
            Quantizer::Bq => binary::FACTORS,
        }
    }

    /// Resident bytes per row over `dim` dimensions: its code and factors
    /// (the model, shared by all rows, aside).
    pub fn bytes_per_row(self, dim: usize) -> usize {
        self.code_bytes(dim) + 4 * self.factors()
    }

    pub fn is_none(&self) -> bool {
        *self == Quantizer::None
    }

    /// This quantizer's entry in [`QUANTIZER_FORMS`].
    pub fn form(self) -> &'static QuantizerForm {
        let i = match self {
            Quantizer::None => 0,
            Quantizer::Sq8 => 1,
            Quantizer::Sq4 => 2,
            Quantizer::RaBitQ { .. } => 3,
            Quantizer::Pq { .. } => 4,
            Quantizer::Opq { .. } => 5,
            Quantizer::Bq => 6,
        };
        &QUANTIZER_FORMS[i]
    }
}

/// The spellings of [`QUANTIZER_FORMS`] as a sentence: "none, sq8, … or bq".
pub fn quantizer_spellings() -> String {
    let all: Vec<&str> = QUANTIZER_FORMS.iter().map(|f| f.spelling).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => all.join(""),
    }
}

impl fmt::Display for Quantizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantizer::None => f.write_str("none"),
            Quantizer::Sq8 => f.write_str("sq8"),
            Quantizer::Sq4 => f.write_str("sq4"),
            Quantizer::RaBitQ { bits } => write!(f, "rabitq:{bits}"),
            Quantizer::Pq { m } => write!(f, "pq:{m}"),
            Quantizer::Opq { m } => write!(f, "opq:{m}"),
            Quantizer::Bq => f.write_str("bq"),
        }
    }
}

impl FromStr for Quantizer {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "none" => return Ok(Quantizer::None),
            "sq8" => return Ok(Quantizer::Sq8),
            "sq4" => return Ok(Quantizer::Sq4),
            "rabitq" => return Ok(Quantizer::RaBitQ { bits: 1 }),
            "bq" => return Ok(Quantizer::Bq),
            _ => {}
        }
        for (prefix, rotated) in [("pq:", false), ("opq:", true)] {
            if let Some(m) = s.strip_prefix(prefix) {
                let m: u16 = m.parse().ok().filter(|&m| m > 0).ok_or_else(|| {
                    format!("{prefix}{m}: give the number of sub-vectors, e.g. {prefix}48 (it must divide the dimension)")
                })?;
                return Ok(if rotated {
                    Quantizer::Opq { m }
                } else {
                    Quantizer::Pq { m }
                });
            }
        }
        if let Some(bits) = s.strip_prefix("rabitq:") {
            let bits: u8 = bits
                .parse()
                .map_err(|_| format!("rabitq:{bits}: give the bits per dimension, 1, 4 or 8"))?;
            if !RABITQ_BITS.contains(&bits) {
                return Err(format!(
                    "rabitq:{bits}: RaBitQ codes take 1, 4 or 8 bits per dimension (packed as bits, nibbles or bytes)"
                ));
            }
            return Ok(Quantizer::RaBitQ { bits });
        }
        Err(format!(
            "{s}: unknown quantizer; use {}",
            quantizer_spellings()
        ))
    }
}

impl Serialize for Quantizer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantizer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Query constants after the query's own part in a prepared query.
pub const CONSTS: usize = 3;

/// How codes decode, per quantizer.
enum Model {
    /// value = lo + step · code, per dimension.
    Scalar(scalar::ScalarModel),
    RaBitQ(rabitq::RaBitQModel),
    Product(product::ProductModel),
    Opq(opq::OpqModel),
    Binary(binary::BinaryModel),
}

/// A trained quantizer and the codes of every row.
pub struct Codes {
    quantizer: Quantizer,
    metric: Metric,
    dim: usize,
    /// Floats of a prepared query before its constants: the padded query,
    /// a product code's tables, or a binary code's bits.
    lut_len: usize,
    /// Bits per value as packed (8, 4 or 1; 8 for product codes).
    bits: u8,
    row_bytes: usize,
    codes: Vec<u8>,
    /// `factors_per_row` per row (see each model).
    factors: Vec<f32>,
    factors_per_row: usize,
    model: Model,
    kernel: kernels::CodeKernel,
}

impl Codes {
    /// Trains `quantizer` on `vectors` (`n × dim`, row-major, as the index
    /// holds them) and encodes every row. `seed` fixes RaBitQ's rotation.
    pub fn train(
        quantizer: Quantizer,
        vectors: &[f32],
        dim: usize,
        metric: Metric,
        seed: u64,
    ) -> Result<Self> {
        if quantizer.is_none() {
            return Err(Error::InvalidParameter(
                "quantizer none has no codes to train".into(),
            ));
        }
        if matches!(quantizer, Quantizer::RaBitQ { .. }) && dim > RABITQ_MAX_DIM {
            return Err(Error::InvalidParameter(format!(
                "{quantizer} rotates with a dense {dim} × {dim} matrix: above {RABITQ_MAX_DIM} dimensions use sq8, sq4 or pq:M"
            )));
        }
        let bits = quantizer.bits().unwrap_or(8);
        if dim == 0 || vectors.is_empty() || !vectors.len().is_multiple_of(dim) {
            return Err(Error::InvalidParameter(format!(
                "cannot train {quantizer} on {} floats of dimension {dim}",
                vectors.len()
            )));
        }
        let padded = kernels::padded(dim);
        let (model, lut_len) = match quantizer {
            Quantizer::RaBitQ { .. } => (
                Model::RaBitQ(rabitq::RaBitQModel::train(vectors, dim, bits, seed)),
                padded,
            ),
            Quantizer::Pq { m } => (
                Model::Product(product::ProductModel::train(
                    vectors, dim, m as usize, seed,
                )?),
                m as usize * product::CENTROIDS,
            ),
            Quantizer::Opq { m } => (
                Model::Opq(opq::OpqModel::train(vectors, dim, m as usize, seed)?),
                m as usize * product::CENTROIDS,
            ),
            Quantizer::Bq => (
                Model::Binary(binary::BinaryModel::train(vectors, dim)),
                kernels::row_bytes(dim, 1) / 4,
            ),
            _ => (
                Model::Scalar(scalar::ScalarModel::train(vectors, dim, bits)),
                padded,
            ),
        };
        let factors_per_row = quantizer.factors();
        let kernel = match bits {
            8 => kernels::kernels().u8,
            4 => kernels::kernels().u4,
            _ => kernels::kernels().u1,
        };
        let mut codes = Codes {
            quantizer,
            metric,
            dim,
            lut_len,
            bits,
            row_bytes: quantizer.code_bytes(dim),
            codes: Vec::new(),
            factors: Vec::new(),
            factors_per_row,
            model,
            kernel,
        };
        let n = vectors.len() / dim;
        let mut rows = vec![0u8; n * codes.row_bytes];
        let mut factors = vec![0f32; n * factors_per_row];
        rows.par_chunks_mut(codes.row_bytes)
            .zip(factors.par_chunks_mut(factors_per_row))
            .zip(vectors.par_chunks(dim))
            .for_each(|((row, f), v)| codes.encode(v, row, f));
        codes.codes = rows;
        codes.factors = factors;
        Ok(codes)
    }

    /// Encodes one vector into a code row and its factors.
    fn encode(&self, v: &[f32], row: &mut [u8], factors: &mut [f32]) {
        match &self.model {
            Model::Scalar(m) => m.encode(v, self.metric, row, factors),
            Model::RaBitQ(m) => m.encode(v, self.metric, row, factors),
            Model::Product(m) => m.encode(v, self.metric, row, factors),
            Model::Opq(m) => m.encode(v, self.metric, row, factors),
            Model::Binary(m) => m.encode(v, self.metric, row, factors),
        }
    }

    /// Encodes `v` into a code row of [`Codes::row_bytes`] bytes and its
    /// [`Codes::factors_per_row`] factors, for an index that stores codes
    /// itself (HFresh's postings).
    pub fn encode_into(&self, v: &[f32], row: &mut [u8], factors: &mut [f32]) {
        self.encode(v, row, factors);
    }

    /// Bytes of one row's code.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// f32 factors kept beside each row's code.
    pub fn factors_per_row(&self) -> usize {
        self.factors_per_row
    }

    /// Drops the codes of the rows it was trained on, keeping the model:
    /// for an index that stores codes itself.
    pub fn forget_rows(&mut self) {
        self.codes = Vec::new();
        self.factors = Vec::new();
    }

    /// Appends the codes of one more vector (an insert after the build);
    /// values outside the trained ranges are clamped.
    pub fn push(&mut self, v: &[f32]) {
        let mut row = vec![0u8; self.row_bytes];
        let mut f = vec![0f32; self.factors_per_row];
        self.encode(v, &mut row, &mut f);
        self.codes.extend_from_slice(&row);
        self.factors.extend_from_slice(&f);
    }

    /// Re-encodes row `i` (an update in place).
    pub fn set(&mut self, i: usize, v: &[f32]) {
        let mut row = vec![0u8; self.row_bytes];
        let mut f = vec![0f32; self.factors_per_row];
        self.encode(v, &mut row, &mut f);
        self.codes[i * self.row_bytes..(i + 1) * self.row_bytes].copy_from_slice(&row);
        self.factors[i * self.factors_per_row..(i + 1) * self.factors_per_row].copy_from_slice(&f);
    }

    pub fn quantizer(&self) -> Quantizer {
        self.quantizer
    }
    pub fn len(&self) -> usize {
        self.codes.len() / self.row_bytes.max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Bytes held: codes, per-row factors and the model.
    pub fn bytes(&self) -> usize {
        let model = match &self.model {
            Model::Scalar(m) => m.bytes(),
            Model::RaBitQ(m) => m.bytes(),
            Model::Product(m) => m.bytes(),
            Model::Opq(m) => m.bytes(),
            Model::Binary(m) => m.bytes(),
        };
        self.codes.capacity() + self.factors.capacity() * 4 + model
    }

    /// Bytes of the trained model, whatever the number of rows: per
    /// dimension ranges, or RaBitQ's rotation and centroid.
    pub fn model_bytes(quantizer: Quantizer, dim: usize) -> usize {
        match quantizer {
            Quantizer::None => 0,
            Quantizer::Sq8 | Quantizer::Sq4 => 2 * dim * 4,
            Quantizer::RaBitQ { .. } => (dim * dim + dim) * 4,
            Quantizer::Pq { .. } => product::CENTROIDS * dim * 4,
            Quantizer::Opq { .. } => (product::CENTROIDS + dim) * dim * 4,
            Quantizer::Bq => dim * 4,
        }
    }

    /// Resident bytes per row (codes and factors).
    pub fn bytes_per_row(&self) -> usize {
        self.quantizer.bytes_per_row(self.dim)
    }

    /// Whether estimates come with an error bound ([`Codes::bound`]).
    pub fn has_bound(&self) -> bool {
        matches!(self.model, Model::RaBitQ(_))
    }

    /// Prepares `q` (as the index prepares queries: unit under cosine) for
    /// [`Codes::estimate`], into `out`.
    pub fn prepare(&self, q: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.lut_len + CONSTS, 0.0);
        let (lut, consts) = out.split_at_mut(self.lut_len);
        match &self.model {
            Model::Scalar(m) => m.prepare(q, lut, consts),
            Model::RaBitQ(m) => m.prepare(q, self.metric, lut, consts),
            Model::Product(m) => m.prepare(q, self.metric, lut),
            Model::Opq(m) => m.prepare(q, self.metric, lut),
            Model::Binary(m) => m.prepare(q, self.metric, lut, consts),
        }
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[u8] {
        &self.codes[i * self.row_bytes..(i + 1) * self.row_bytes]
    }

    #[inline]
    fn row_factors(&self, i: usize) -> &[f32] {
        &self.factors[i * self.factors_per_row..(i + 1) * self.factors_per_row]
    }

    /// The estimated distance (annscope's convention for the metric) from a
    /// prepared query to row `i`.
    #[inline]
    pub fn estimate(&self, prepared: &[f32], i: usize) -> f32 {
        self.estimate_code(prepared, self.row(i), self.row_factors(i))
    }

    /// [`Codes::estimate`] for a code row and its factors held elsewhere.
    #[inline]
    pub fn estimate_code(&self, prepared: &[f32], code: &[u8], f: &[f32]) -> f32 {
        let (lut, consts) = prepared.split_at(self.lut_len);
        match &self.model {
            Model::Scalar(_) => scalar::distance(self.metric, (self.kernel)(lut, code), consts, f),
            Model::RaBitQ(_) => rabitq::distance(self.metric, (self.kernel)(lut, code), consts, f),
            Model::Product(_) | Model::Opq(_) => {
                let sum = (kernels::kernels().table)(lut, code);
                product::distance(self.metric, sum, f)
            }
            Model::Binary(_) => {
                // SAFETY: any f32 slice may be read as its bytes (u8 has
                // alignment 1 and every bit pattern is a u8); `prepare`
                // stored the query's code bytes in native order.
                let bits =
                    unsafe { std::slice::from_raw_parts(lut.as_ptr().cast::<u8>(), lut.len() * 4) };
                let h = (kernels::kernels().hamming)(bits, code);
                binary::distance(self.metric, h, self.dim, consts, f)
            }
        }
    }

    /// How far the true distance may lie from [`Codes::estimate`] (RaBitQ's
    /// bound, which holds with high probability); infinite when the
    /// quantizer gives none.
    #[inline]
    pub fn bound(&self, prepared: &[f32], i: usize) -> f32 {
        match &self.model {
            Model::RaBitQ(_) => {
                rabitq::bound(self.metric, &prepared[self.lut_len..], self.row_factors(i))
            }
            _ => f32::INFINITY,
        }
    }

    /// Row `i` decoded back to a vector (approximate), for the rare paths
    /// that need a vector rather than a distance.
    pub fn decode(&self, i: usize) -> Vec<f32> {
        match &self.model {
            Model::Product(m) => return m.decode(self.row(i)),
            Model::Opq(m) => return m.decode(self.row(i)),
            _ => {}
        }
        let values: Vec<u8> = (0..self.dim)
            .map(|j| kernels::unpack(self.row(i), self.bits, j))
            .collect();
        match &self.model {
            Model::Scalar(m) => m.decode(&values),
            Model::RaBitQ(m) => m.decode(&values, self.row_factors(i)),
            Model::Binary(m) => m.decode(&values, self.row_factors(i)),
            Model::Product(m) => m.decode(self.row(i)),
            Model::Opq(m) => m.decode(self.row(i)),
        }
    }

    /// The code rows and per-row factors, as a file stores them.
    pub fn raw(&self) -> (&[u8], &[f32]) {
        (&self.codes, &self.factors)
    }

    /// Whether `rows` and `factors` are exactly these codes.
    pub fn same_raw(&self, rows: &[u8], factors: &[f32]) -> bool {
        self.codes == rows
            && self.factors.len() == factors.len()
            && self
                .factors
                .iter()
                .zip(factors)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// Whether the stored codes are those of `vectors` (row-major, as the
    /// index holds them), checked on up to `sample` rows spread over the set.
    /// (Files compare every code: [`Codes::same_raw`].)
    #[cfg(test)]
    pub fn matches(&self, vectors: &[f32], sample: usize) -> bool {
        let n = vectors.len() / self.dim.max(1);
        if n != self.len() {
            return false;
        }
        let step = (n / sample.max(1)).max(1);
        let mut row = vec![0u8; self.row_bytes];
        let mut f = vec![0f32; self.factors_per_row];
        (0..n).step_by(step).all(|i| {
            self.encode(&vectors[i * self.dim..(i + 1) * self.dim], &mut row, &mut f);
            row == self.row(i)
                && f.iter()
                    .zip(self.row_factors(i))
                    .all(|(a, b)| a.to_bits() == b.to_bits())
        })
    }
}

/// Each dimension's minimum and maximum over the rows of `vectors`.
pub fn ranges(vectors: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    vectors
        .par_chunks(dim * 1024)
        .map(|rows| {
            let mut lo = vec![f32::INFINITY; dim];
            let mut hi = vec![f32::NEG_INFINITY; dim];
            for row in rows.chunks_exact(dim) {
                for (j, &v) in row.iter().enumerate() {
                    lo[j] = lo[j].min(v);
                    hi[j] = hi[j].max(v);
                }
            }
            (lo, hi)
        })
        .reduce(
            || (vec![f32::INFINITY; dim], vec![f32::NEG_INFINITY; dim]),
            |(mut lo, mut hi), (l, h)| {
                for j in 0..dim {
                    lo[j] = lo[j].min(l[j]);
                    hi[j] = hi[j].max(h[j]);
                }
                (lo, hi)
            },
        )
}

/// The mean of the rows of `vectors` (summed in f64).
pub(crate) fn mean(vectors: &[f32], dim: usize) -> Vec<f32> {
    let n = (vectors.len() / dim.max(1)).max(1);
    let mut sum = vec![0f64; dim];
    for row in vectors.chunks_exact(dim) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    sum.iter().map(|s| (s / n as f64) as f32).collect()
}

/// The exact top `k` of `candidates` (estimate, row), which are sorted by
/// estimate: `exact(row)` gives a row's true distance. With an error bound
/// (RaBitQ) a candidate whose lower bound cannot beat the k-th exact
/// distance so far is skipped, and so is every one after it (they are
/// taken in order of lower bound). Returns the top k, nearest first (ties
/// by row), and how many were re-scored.
pub fn rescore(
    codes: &Codes,
    coded: &[f32],
    mut candidates: Vec<(f32, u32)>,
    k: usize,
    mut exact: impl FnMut(u32) -> f32,
) -> (Vec<(f32, u32)>, u64) {
    let by_distance = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if !codes.has_bound() {
        let n = candidates.len() as u64;
        for c in candidates.iter_mut() {
            c.0 = exact(c.1);
        }
        candidates.sort_unstable_by(by_distance);
        candidates.truncate(k);
        return (candidates, n);
    }
    for c in candidates.iter_mut() {
        c.0 -= codes.bound(coded, c.1 as usize);
    }
    candidates.sort_unstable_by(by_distance);
    let mut top = crate::index::topk::TopK::new(k);
    let mut rescored = 0;
    for (lower, row) in candidates {
        if lower >= top.threshold() {
            break;
        }
        top.push(exact(row), row);
        rescored += 1;
    }
    let (rows, distances) = top.into_sorted();
    (distances.into_iter().zip(rows).collect(), rescored)
}

#[cfg(test)]
mod tests;
