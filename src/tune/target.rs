//! What the user asks of a configuration, in their words: recall@k of at
//! least R on queries it has not seen, optionally a p99 latency, a RAM and a
//! build-time ceiling, and what to make best among the settings that meet
//! them.
//!
//! Recall is judged on the tuning half of the queries but promised for new
//! ones, so a setting must clear R by a margin that comes from its own
//! per-query recalls ([`Target::recall_verdict`]): with probability
//! `confidence` the held-out half, an independent sample, then meets R too.

use serde::Serialize;

use crate::error::{Error, Result};

/// What the tuner makes best among the settings that meet the target.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The most queries per second (one query at a time).
    #[default]
    Qps,
    /// The lowest 99th-percentile latency.
    P99,
    /// The fewest bytes the index holds in RAM.
    Memory,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Qps => "qps",
            Objective::P99 => "p99",
            Objective::Memory => "memory",
        }
    }
}

/// The target a configuration must meet.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Target {
    /// The k of recall@k.
    pub k: usize,
    /// Mean recall@k the held-out queries must reach.
    pub recall: f64,
    pub max_p99_us: Option<f64>,
    pub max_ram_bytes: Option<u64>,
    pub max_build_s: Option<f64>,
    pub objective: Objective,
    /// How sure the tuner must be that new queries meet `recall` (0.5: the
    /// tuning mean alone decides).
    pub confidence: f64,
}

/// Whether per-query recalls clear the target, and by what.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecallVerdict {
    pub mean: f64,
    /// The mean this many queries must reach for the target's confidence.
    pub needed: f64,
}

impl RecallVerdict {
    pub fn met(self) -> bool {
        // Per-query recalls are f32 (0.9 is 0.89999998): a mean equal to
        // the target up to that rounding meets it.
        self.mean >= self.needed - 1e-6
    }
}

impl Target {
    /// Recall ≥ `recall` at k, the QPS objective, 95% confidence.
    pub fn recall(k: usize, recall: f64) -> Target {
        Target {
            k,
            recall,
            max_p99_us: None,
            max_ram_bytes: None,
            max_build_s: None,
            objective: Objective::Qps,
            confidence: 0.95,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if self.k == 0 {
            return bad("k must be at least 1".into());
        }
        if !(self.recall > 0.0 && self.recall <= 1.0) {
            return bad(format!(
                "recall target {} must be above 0 and at most 1",
                self.recall
            ));
        }
        if !(self.confidence >= 0.5 && self.confidence < 1.0) {
            return bad(format!(
                "confidence {} must be at least 0.5 and below 1",
                self.confidence
            ));
        }
        if let Some(p) = self.max_p99_us.filter(|p| p.is_nan() || *p <= 0.0) {
            return bad(format!("max p99 {p} µs must be above 0"));
        }
        if let Some(t) = self.max_build_s.filter(|t| t.is_nan() || *t <= 0.0) {
            return bad(format!("max build time {t} s must be above 0"));
        }
        if self.max_ram_bytes == Some(0) {
            return bad("max RAM must be above 0 bytes".into());
        }
        Ok(())
    }

    /// Judges the tuning queries' recalls: their mean must clear the target
    /// by z·sd·√(1/n + 1/n_heldout), the margin by which a second,
    /// independent sample of `heldout` queries falls short of the first
    /// with probability 1 − confidence (normal approximation; the true
    /// recall's uncertainty from the first sample plus the second's own).
    pub fn recall_verdict(&self, per_query: &[f32], heldout: usize) -> RecallVerdict {
        let n = per_query.len().max(1) as f64;
        let mean = per_query.iter().map(|&r| r as f64).sum::<f64>() / n;
        let var = if per_query.len() > 1 {
            per_query
                .iter()
                .map(|&r| (r as f64 - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0)
        } else {
            0.0
        };
        let spread = (1.0 / n + 1.0 / heldout.max(1) as f64).sqrt() * var.sqrt();
        RecallVerdict {
            mean,
            needed: self.recall + normal_quantile(self.confidence) * spread,
        }
    }
}

/// A 95% interval for the mean of per-query recalls (normal approximation,
/// clamped to [0, 1]).
pub fn mean_interval(per_query: &[f32]) -> (f64, [f64; 2]) {
    let n = per_query.len().max(1) as f64;
    let mean = per_query.iter().map(|&r| r as f64).sum::<f64>() / n;
    let var = per_query
        .iter()
        .map(|&r| (r as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    let half = 1.959964 * (var / n).sqrt();
    (mean, [(mean - half).max(0.0), (mean + half).min(1.0)])
}

/// Φ⁻¹(p) for the standard normal (Acklam's rational approximation,
/// relative error below 1.2e-9 over (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_tables() {
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.281552),
            (0.95, 1.644854),
            (0.975, 1.959964),
            (0.999, 3.090232),
            (0.01, -2.326348),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-5,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn the_margin_grows_with_the_scatter_and_shrinks_with_more_queries() {
        let t = Target::recall(10, 0.9);
        // Every query at exactly 0.9: no scatter, no margin.
        let flat = vec![0.9f32; 100];
        let v = t.recall_verdict(&flat, 100);
        assert!((v.needed - 0.9).abs() < 1e-9 && v.met());
        // Half at 0.8, half at 1.0: mean 0.9, sd ~0.1005 → the margin is
        // 1.645 · 0.1005 · √(2/100) ≈ 0.0234, so 0.9 is not enough.
        let scattered: Vec<f32> = (0..100)
            .map(|i| if i % 2 == 0 { 0.8 } else { 1.0 })
            .collect();
        let v = t.recall_verdict(&scattered, 100);
        assert!((v.needed - 0.9234).abs() < 1e-3, "{v:?}");
        assert!(!v.met());
        let many: Vec<f32> = (0..10_000)
            .map(|i| if i % 2 == 0 { 0.8 } else { 1.0 })
            .collect();
        let v2 = t.recall_verdict(&many, 10_000);
        assert!(v2.needed < v.needed && v2.needed - 0.9 < 0.003);
        // Confidence 0.5: the mean alone decides.
        let half = Target {
            confidence: 0.5,
            ..t
        };
        assert!(half.recall_verdict(&scattered, 100).met());
    }

    #[test]
    fn targets_out_of_range_are_refused() {
        let ok = Target::recall(10, 0.95);
        assert!(ok.validate().is_ok());
        for bad in [
            Target { k: 0, ..ok },
            Target { recall: 0.0, ..ok },
            Target { recall: 1.01, ..ok },
            Target {
                recall: f64::NAN,
                ..ok
            },
            Target {
                confidence: 1.0,
                ..ok
            },
            Target {
                max_p99_us: Some(0.0),
                ..ok
            },
            Target {
                max_build_s: Some(-1.0),
                ..ok
            },
            Target {
                max_ram_bytes: Some(0),
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_interval_holds_the_mean() {
        let r: Vec<f32> = (0..400).map(|i| (i % 10) as f32 / 10.0).collect();
        let (mean, [lo, hi]) = mean_interval(&r);
        assert!((mean - 0.45).abs() < 1e-6);
        assert!(lo < mean && mean < hi && hi - lo < 0.06 && hi - lo > 0.04);
    }
}
