//! Where flat and HNSW latency cross on the user's own data: the threshold a
//! dynamic index should switch at. For each collection size (a prefix of the
//! base), measure the flat scan's mean latency and the mean latency of the
//! cheapest HNSW setting (smallest ef) that reaches the recall target; the
//! crossover is where HNSW first becomes faster, interpolated on log size.

use std::sync::Arc;

use serde::Serialize;

use super::{measure, GroundTruth, RunOptions};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::index::{AnnIndex, FlatIndex, Hnsw, HnswParams, SearchParams};
use crate::progress::WorkContext;

/// ef values tried at each size, smallest first.
pub const EF_LADDER: [usize; 12] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];

/// One collection size.
#[derive(Clone, Debug, Serialize)]
pub struct CrossoverPoint {
    pub n: usize,
    pub flat_us: f64,
    /// None when no ef on the ladder reached the target.
    pub hnsw_us: Option<f64>,
    pub hnsw_ef: Option<usize>,
    pub hnsw_recall: Option<f64>,
    pub hnsw_build_s: f64,
}

/// Sizes from 100 to `max` in 1-2-5 steps, always ending at `max`.
pub fn default_sizes(max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut decade = 100usize;
    'outer: loop {
        for m in [1, 2, 5] {
            let s = m * decade;
            if s >= max {
                break 'outer;
            }
            out.push(s);
        }
        decade *= 10;
    }
    out.push(max);
    out
}

/// Measures every size; returns the points and the interpolated crossover.
#[allow(clippy::too_many_arguments)]
pub fn measure_crossover(
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    target: f64,
    sizes: &[usize],
    params: &HnswParams,
    ctx: &WorkContext,
    mut on_point: impl FnMut(&CrossoverPoint),
) -> Result<(Vec<CrossoverPoint>, Option<f64>)> {
    if !(0.0..=1.0).contains(&target) {
        return Err(Error::InvalidParameter(format!(
            "recall target {target} is not between 0 and 1"
        )));
    }
    let nq = queries.len().min(200);
    let qids: Vec<usize> = (0..nq).collect();
    let q = queries.subset("queries", &qids);
    let mut points = Vec::new();
    for &n in sizes {
        let n = n.min(base.len());
        if n < k {
            continue;
        }
        ctx.cancel.check()?;
        ctx.progress.stage(&format!("size {n}"), 0);
        let rows: Vec<usize> = (0..n).collect();
        let sub = Arc::new(base.subset(format!("first {n}"), &rows));
        let gt = GroundTruth::compute(&sub, q.vectors(), k, ctx)?;
        let flat = FlatIndex::build(sub.clone(), ctx)?;
        let fm = measure(
            &flat,
            Some(&sub),
            q.vectors(),
            &gt,
            &SearchParams::new(k),
            RunOptions::ONE_PASS.passes(2),
        )?;
        let t = std::time::Instant::now();
        let hnsw = Hnsw::build(&sub, params.clone(), ctx)?;
        let hnsw_build_s = t.elapsed().as_secs_f64();
        let mut hit = None;
        for ef in EF_LADDER {
            ctx.cancel.check()?;
            let p = SearchParams::new(k).with_ef(ef);
            let m = measure(
                &hnsw as &dyn AnnIndex,
                Some(&sub),
                q.vectors(),
                &gt,
                &p,
                RunOptions::ONE_PASS.passes(2),
            )?;
            if m.recall >= target {
                hit = Some((ef, m));
                break;
            }
        }
        let point = CrossoverPoint {
            n,
            flat_us: fm.latency.mean_us,
            hnsw_us: hit.as_ref().map(|(_, m)| m.latency.mean_us),
            hnsw_ef: hit.as_ref().map(|(ef, _)| *ef),
            hnsw_recall: hit.as_ref().map(|(_, m)| m.recall),
            hnsw_build_s,
        };
        on_point(&point);
        points.push(point);
    }
    Ok((points.clone(), crossover(&points)))
}

/// The size where HNSW first gets faster than flat, interpolated on log n
/// between the last size where flat won and the first where HNSW did.
pub fn crossover(points: &[CrossoverPoint]) -> Option<f64> {
    let gap = |p: &CrossoverPoint| p.hnsw_us.map(|h| p.flat_us - h);
    for w in points.windows(2) {
        if let (Some(g0), Some(g1)) = (gap(&w[0]), gap(&w[1])) {
            if g0 <= 0.0 && g1 > 0.0 {
                let (l0, l1) = ((w[0].n as f64).ln(), (w[1].n as f64).ln());
                let t = -g0 / (g1 - g0);
                return Some((l0 + t * (l1 - l0)).exp());
            }
        }
    }
    match points.first().and_then(gap) {
        Some(g) if g > 0.0 => Some(points[0].n as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: usize, flat: f64, hnsw: f64) -> CrossoverPoint {
        CrossoverPoint {
            n,
            flat_us: flat,
            hnsw_us: Some(hnsw),
            hnsw_ef: Some(10),
            hnsw_recall: Some(0.96),
            hnsw_build_s: 0.0,
        }
    }

    #[test]
    fn crossover_interpolates_on_log_size() {
        let pts = [p(1000, 10.0, 20.0), p(10_000, 100.0, 40.0)];
        let c = crossover(&pts).expect("crosses");
        // gap -10 then +60: t = 1/7 of the way in log n.
        let want = (1000f64.ln() + (10_000f64.ln() - 1000f64.ln()) / 7.0).exp();
        assert!((c - want).abs() < 1e-6, "{c} vs {want}");
        assert!(crossover(&[p(1000, 10.0, 20.0), p(2000, 20.0, 30.0)]).is_none());
        assert_eq!(crossover(&[p(1000, 50.0, 20.0)]), Some(1000.0));
    }

    #[test]
    fn sizes_step_one_two_five() {
        assert_eq!(default_sizes(4000), vec![100, 200, 500, 1000, 2000, 4000]);
        assert_eq!(
            default_sizes(100_000),
            vec![100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]
        );
    }
}
