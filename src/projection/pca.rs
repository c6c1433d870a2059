//! PCA: the fast first projection, and UMAP's starting layout.
//!
//! PCA is fitted with `linfa-reduction` on a seeded sample of at most
//! [`FIT_SAMPLE`] rows (the principal axes of 10,000 rows of a real
//! embedding set are those of the whole to within drawing precision, and the
//! fit stays well under a second), then every base vector and query is
//! projected onto the two axes here, in parallel.
//!
//! Under cosine the rows are unit-normalised first, because that is the
//! geometry the metric ranks by. The variance explained is computed against
//! the sample's total variance (the sum over all dimensions): linfa's own
//! `explained_variance_ratio` is relative to the kept components only, so it
//! always sums to 1 and cannot tell the user that two axes show little of
//! the data.

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

use super::{Method, Projection};

/// Rows the PCA is fitted on, at most.
pub const FIT_SAMPLE: usize = 10_000;

/// A row as the metric sees it: unit length under cosine.
fn as_seen(row: &[f32], metric: Metric, out: &mut Vec<f64>) {
    out.clear();
    let scale = if metric == Metric::Cosine {
        let norm = row
            .iter()
            .map(|&x| (x as f64) * (x as f64))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            1.0 / norm
        } else {
            1.0
        }
    } else {
        1.0
    };
    out.extend(row.iter().map(|&x| x as f64 * scale));
}

/// Fits PCA on (a sample of) `base` and projects `base` and `queries`.
pub fn project(base: &Dataset, queries: Option<&Dataset>, ctx: &WorkContext) -> Result<Projection> {
    let (n, dim) = (base.len(), base.dim());
    if n < 2 {
        return Err(Error::InvalidParameter(format!(
            "{}: a projection needs at least 2 vectors, found {n}",
            base.display_name()
        )));
    }
    if dim < 2 {
        return Err(Error::InvalidParameter(format!(
            "{}: a 2-D projection needs at least 2 dimensions, found {dim}",
            base.display_name()
        )));
    }
    let started = std::time::Instant::now();
    let metric = base.metric();
    ctx.progress.stage("Fitting PCA", 3);
    let fit_rows: Vec<usize> = if n <= FIT_SAMPLE {
        (0..n).collect()
    } else {
        let mut rows = sample(&mut StdRng::seed_from_u64(11), n, FIT_SAMPLE).into_vec();
        rows.sort_unstable();
        rows
    };
    let mut sample_matrix = Array2::<f64>::zeros((fit_rows.len(), dim));
    let mut buf = Vec::with_capacity(dim);
    for (r, &row) in fit_rows.iter().enumerate() {
        as_seen(base.row(row), metric, &mut buf);
        sample_matrix
            .row_mut(r)
            .iter_mut()
            .zip(&buf)
            .for_each(|(o, &x)| *o = x);
    }
    ctx.cancel.check()?;
    // Total variance of the sample: the denominator of "explained".
    let mean = sample_matrix
        .mean_axis(ndarray::Axis(0))
        .expect("at least two rows");
    let total_ss: f64 = sample_matrix
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .zip(mean.iter())
                .map(|(x, m)| (x - m) * (x - m))
                .sum::<f64>()
        })
        .sum();
    ctx.progress.set(1);
    let dataset = DatasetBase::from(sample_matrix);
    let pca = linfa_reduction::Pca::params(2)
        .fit(&dataset)
        .map_err(|e| Error::Internal(format!("PCA of {}: {e}", base.display_name())))?;
    ctx.cancel.check()?;
    ctx.progress.set(2);
    let sigma = pca.singular_values();
    let explained = if total_ss > 0.0 {
        [
            (sigma[0] * sigma[0] / total_ss).clamp(0.0, 1.0),
            (sigma[1] * sigma[1] / total_ss).clamp(0.0, 1.0),
        ]
    } else {
        [0.0, 0.0]
    };
    // Axes and mean as f32 rows for the projection of every vector.
    let comps = pca.components();
    let axis = |a: usize| -> Vec<f64> { comps.row(a).to_vec() };
    let (ax0, ax1) = (axis(0), axis(1));
    let mean: Vec<f64> = pca.mean().to_vec();
    let project_rows = |data: &Dataset| -> Result<Vec<[f32; 2]>> {
        let out: Vec<[f32; 2]> = (0..data.len())
            .into_par_iter()
            .map_init(
                || Vec::with_capacity(dim),
                |buf, i| {
                    as_seen(data.row(i), metric, buf);
                    let (mut x, mut y) = (0.0f64, 0.0f64);
                    for j in 0..dim {
                        let c = buf[j] - mean[j];
                        x += c * ax0[j];
                        y += c * ax1[j];
                    }
                    [x as f32, y as f32]
                },
            )
            .collect();
        ctx.cancel.check()?;
        Ok(out)
    };
    let base_points = project_rows(base)?;
    let query_points = match queries {
        Some(q) if q.dim() == dim => project_rows(q)?,
        Some(q) => {
            return Err(Error::Mismatch(format!(
                "{} has dimension {}, the base {dim}",
                q.display_name(),
                q.dim()
            )))
        }
        None => Vec::new(),
    };
    ctx.progress.set(3);
    let grid = std::sync::Arc::new(super::grid::PlaneGrid::new(&base_points));
    Ok(Projection {
        method: Method::Pca,
        base: base_points,
        queries: query_points,
        explained: Some(explained),
        fitted_on: fit_rows.len(),
        seconds: started.elapsed().as_secs_f64(),
        kept: None,
        start: None,
        graph: None,
        grid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on a line along (1, 1, 0) plus small noise: the first axis
    /// must carry almost all the variance and order the points along it.
    #[test]
    fn first_axis_follows_the_dominant_direction() {
        let mut data = Vec::new();
        for i in 0..200 {
            let t = i as f32 / 10.0;
            let noise = ((i * 37 % 11) as f32 - 5.0) * 0.001;
            data.extend_from_slice(&[t, t, noise]);
        }
        let ds = Dataset::from_vec("line", data, 3, Metric::L2).unwrap();
        let p = project(&ds, None, &WorkContext::detached()).unwrap();
        assert!(p.explained_axes()[0] > 0.99, "explained {:?}", p.explained);
        assert!(p.explained_total() <= 1.0 + 1e-9);
        assert!(!p.is_misleading());
        // Monotone along the axis (either direction), spread = |t| * sqrt(2).
        let xs: Vec<f32> = p.base.iter().map(|q| q[0]).collect();
        let increasing = xs.windows(2).all(|w| w[1] > w[0]);
        let decreasing = xs.windows(2).all(|w| w[1] < w[0]);
        assert!(
            increasing || decreasing,
            "not ordered along the axis: {xs:?}"
        );
        let spread = (xs[199] - xs[0]).abs();
        assert!(
            (spread - 19.9 * 2f32.sqrt()).abs() < 0.01,
            "spread {spread}"
        );
    }

    /// Isotropic random data in 64 dimensions: two axes show little of it,
    /// and the view must say so.
    #[test]
    fn isotropic_data_is_flagged_as_misleading() {
        let ds = crate::testutil::random_dataset(500, 64, Metric::L2, 3);
        let q = crate::testutil::random_dataset(10, 64, Metric::L2, 4);
        let p = project(&ds, Some(&q), &WorkContext::detached()).unwrap();
        assert_eq!(p.base.len(), 500);
        assert_eq!(p.queries.len(), 10);
        assert!(p.explained_total() < 0.15, "explained {:?}", p.explained);
        assert!(p.is_misleading());
        assert!(p.explained_axes()[0] >= p.explained_axes()[1]);
    }

    #[test]
    fn too_small_inputs_are_refused_with_the_name() {
        let one = Dataset::from_vec("single", vec![1.0, 2.0], 2, Metric::L2).unwrap();
        let e = project(&one, None, &WorkContext::detached()).unwrap_err();
        assert!(e.to_string().contains("single"), "{e}");
        let flat = Dataset::from_vec("one-dim", vec![1.0, 2.0, 3.0], 1, Metric::L2).unwrap();
        let e = project(&flat, None, &WorkContext::detached()).unwrap_err();
        assert!(e.to_string().contains("one-dim"), "{e}");
    }
}
