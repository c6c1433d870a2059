//! Validating a dataset's values before anything is built or measured on
//! them: one parallel scan (run once, its findings kept) that refuses, with
//! the row named, NaN and infinities, records whose own dimension header
//! disagrees, zero vectors under cosine, rows so large that f32 distances
//! would overflow, and a file of nothing but zeros and subnormal floats
//! (integer data, such as an .ivecs file, read as floats).

use rayon::prelude::*;

use std::path::PathBuf;

use super::{Dataset, ScanFindings};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// The largest squared norm a row may have: then no squared distance or
/// dot product between two rows (at most (|a| + |b|)² = 4·max) overflows
/// f32, and neither do the squares a cosine normalisation sums.
const MAX_SQUARED_NORM: f64 = f32::MAX as f64 / 4.0;

impl Dataset {
    /// Checks every value once (in parallel, with progress): fails on the
    /// first NaN/Inf, mixed record dimension, or (under cosine) zero vector,
    /// naming the row. Later calls reuse the first scan's findings.
    pub fn validate(&self, ctx: &WorkContext) -> Result<()> {
        let findings = match self.scan.get() {
            Some(f) => f,
            None => {
                let f = self.scan_values(ctx)?;
                self.scan.get_or_init(|| f)
            }
        };
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.name));
        if let Some((row, problem)) = &findings.bad_record {
            return Err(Error::BadValue {
                path,
                row: *row,
                problem: problem.clone(),
            });
        }
        if let Some((row, problem)) = findings.non_finite.as_ref().or(findings.too_large.as_ref()) {
            return Err(Error::BadValue {
                path,
                row: *row,
                problem: problem.clone(),
            });
        }
        if !findings.any_normal && !self.is_empty() {
            return Err(Error::format(
                &path,
                "every value is zero or a subnormal float: this looks like integer data \
                 (such as an .ivecs file of neighbour ids) read as floats",
            ));
        }
        if self.metric == Metric::Cosine {
            if let Some(row) = findings.zero_row {
                return Err(Error::BadValue {
                    path,
                    row,
                    problem: "zero vector: cosine distance is undefined for it (use l2 or ip, or drop the row)".into(),
                });
            }
        }
        Ok(())
    }

    fn scan_values(&self, ctx: &WorkContext) -> Result<ScanFindings> {
        const CHUNK: usize = 4096;
        let n = self.len();
        ctx.progress.stage("checking values", n as u64);
        let chunks: Vec<usize> = (0..n.div_ceil(CHUNK)).collect();
        let per_chunk: Vec<ScanFindings> = chunks
            .par_iter()
            .map(|&c| {
                ctx.cancel.check()?;
                let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
                let mut f = ScanFindings::default();
                for i in lo..hi {
                    if f.bad_record.is_none() {
                        if let Some(check) = &self.record_check {
                            let (floats, offset, stride) = self.vectors.strided();
                            if let Some(problem) = check.check(floats, offset, stride, i) {
                                f.bad_record = Some((i, problem));
                            }
                        }
                    }
                    let row = self.row(i);
                    if f.non_finite.is_none() {
                        if let Some((j, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                            f.non_finite = Some((
                                i,
                                format!("value {v} at column {j} (NaN and Inf are not allowed)"),
                            ));
                        }
                    }
                    if f.zero_row.is_none() && row.iter().all(|&v| v == 0.0) {
                        f.zero_row = Some(i);
                    }
                    f.any_normal |= row.iter().any(|v| v.is_normal());
                    if f.too_large.is_none() && f.non_finite.is_none() {
                        let squared: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                        if squared > MAX_SQUARED_NORM {
                            let (j, v) = row
                                .iter()
                                .enumerate()
                                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                                .unwrap_or((0, &0.0));
                            f.too_large = Some((
                                i,
                                format!(
                                    "values too large (|value| up to {v:e} at column {j}): its \
                                     squared norm {squared:.2e} would overflow f32 distances \
                                     (at most {MAX_SQUARED_NORM:.2e}); rescale the vectors"
                                ),
                            ));
                        }
                    }
                }
                ctx.progress.add((hi - lo) as u64);
                Ok(f)
            })
            .collect::<Result<_>>()?;
        // Chunks are in row order, so the first finding of each kind wins.
        let mut out = ScanFindings::default();
        for f in per_chunk {
            out.non_finite = out.non_finite.or(f.non_finite);
            out.zero_row = out.zero_row.or(f.zero_row);
            out.bad_record = out.bad_record.or(f.bad_record);
            out.too_large = out.too_large.or(f.too_large);
            out.any_normal |= f.any_normal;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message `d`'s validation fails with.
    fn refusal(d: &Dataset, case: &str) -> String {
        d.validate(&WorkContext::detached())
            .expect_err(case)
            .to_string()
    }

    #[test]
    fn validate_names_the_first_bad_row() {
        let mut data = vec![1.0f32; 30];
        data[16] = f32::NAN; // row 5
        data[25] = f32::INFINITY; // row 8
        let d = Dataset::from_vec("t", data, 3, Metric::L2).expect("shape");
        let err = d.validate(&WorkContext::detached()).expect_err("NaN");
        let msg = err.to_string();
        assert!(msg.contains("row 5") && msg.contains("NaN"), "{msg}");
    }

    #[test]
    fn zero_vectors_fail_only_under_cosine() {
        let mut data = vec![1.0f32; 12];
        data[3..6].fill(0.0);
        let mut d = Dataset::from_vec("t", data, 3, Metric::L2).expect("shape");
        assert!(d.validate(&WorkContext::detached()).is_ok());
        d.set_metric(Metric::Cosine);
        let msg = refusal(&d, "zero");
        assert!(
            msg.contains("row 1") && msg.contains("zero vector"),
            "{msg}"
        );
    }

    #[test]
    fn values_whose_distances_would_overflow_are_refused_with_the_row() {
        for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            let mut data = vec![0.5f32; 40];
            data[21] = 1e30; // row 5 of 4-d rows
            let d = Dataset::from_vec("t", data, 4, metric).expect("shape");
            let msg = refusal(&d, "1e30");
            assert!(msg.contains("row 5") && msg.contains("too large"), "{msg}");
        }
        // Just inside the bound: (|a| + |b|)² still fits.
        let big = (MAX_SQUARED_NORM / 4.0).sqrt() as f32;
        let d = Dataset::from_vec("t", vec![big, big, -big, 1.0], 2, Metric::L2).expect("shape");
        assert!(d.validate(&WorkContext::detached()).is_ok());
        let (a, b) = (d.row(0), d.row(1));
        assert!(Metric::L2.distance(a, b).is_finite());
    }

    #[test]
    fn integer_data_read_as_floats_is_refused_but_whole_number_floats_are_fine() {
        // .ivecs neighbour ids reinterpreted as f32 bits: all subnormal.
        let ids: Vec<f32> = (0..64u32).map(f32::from_bits).collect();
        let d = Dataset::from_vec("ids.fvecs", ids, 8, Metric::L2).expect("shape");
        let msg = refusal(&d, "ints");
        assert!(
            msg.contains("ids.fvecs") && msg.contains("integer data"),
            "{msg}"
        );
        // SIFT's .fvecs hold whole numbers: valid floats.
        let sift: Vec<f32> = (0..64).map(|i| (i % 7) as f32).collect();
        let d = Dataset::from_vec("sift.fvecs", sift, 8, Metric::L2).expect("shape");
        assert!(d.validate(&WorkContext::detached()).is_ok());
    }
}
