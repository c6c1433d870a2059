//! Latency percentiles over per-query times.

use serde::Serialize;

/// Percentiles of per-query latency, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    pub mean_us: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
}

/// The `p`-th percentile (0..=100) of sorted values, by the nearest-rank rule.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl LatencyStats {
    /// Statistics of the given per-query times (microseconds).
    pub fn from_micros(times: &[f64]) -> Self {
        if times.is_empty() {
            return Self::default();
        }
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        LatencyStats {
            mean_us: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p50_us: percentile(&sorted, 50.0),
            p95_us: percentile(&sorted, 95.0),
            p99_us: percentile(&sorted, 99.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let times: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        let s = LatencyStats::from_micros(&times);
        assert_eq!((s.p50_us, s.p95_us, s.p99_us), (50.0, 95.0, 99.0));
        assert!((s.mean_us - 50.5).abs() < 1e-9);
        assert_eq!(LatencyStats::from_micros(&[7.0]).p99_us, 7.0);
        assert_eq!(LatencyStats::from_micros(&[]), LatencyStats::default());
    }
}
