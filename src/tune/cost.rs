//! What a search costs, in a unit the timings' noise cannot blur: distance
//! computations plus graph hops, each hop weighted by what it costs on this
//! machine in distance computations.
//!
//! Why not distance computations alone: at the same recall a larger M walks
//! fewer hops with about as many distance computations (pypi-minilm, 100k,
//! recall 0.96: M 12 needs ~1,045 computations over 73 hops, M 24 ~1,013
//! over 39), and a hop is not free (a neighbour list fetched, a heap
//! popped, visited marks read): on two cores here a hop cost about nine
//! distance computations of 384-d f16 vectors, so a ranking by computations
//! alone put M 12 first where M 24 and M 32 are faster. Why not the
//! timings themselves: one pass is noisy (±10–20% here), too noisy to
//! rank settings a few per cent apart; a weight fitted over dozens of
//! passes at once is not.

/// A search's cost: `dist_comps + hop_weight × hops` per query.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CostModel {
    /// Distance computations one hop costs.
    pub hop_weight: f64,
    /// Passes the weight was fitted on (0: not fitted, hops cost nothing).
    pub fitted_on: usize,
    /// Timed passes there were to fit on.
    pub passes: usize,
    /// Why no weight was fitted, when none was (the ranking then counts
    /// distance computations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfitted: Option<Unfitted>,
}

/// Why the timed passes gave no hop weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unfitted {
    /// Fewer than [`MIN_SAMPLES`] usable passes.
    TooFewPasses,
    /// Hops and computations rose together in every pass: their costs
    /// cannot be told apart.
    Collinear,
    /// Time did not grow with distance computations: the timings are
    /// noise (a busy machine).
    NoisyTimings,
}

impl std::fmt::Display for Unfitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unfitted::TooFewPasses => "too few timed passes to weigh hops",
            Unfitted::Collinear => {
                "hops and distance computations rose together: a hop's cost cannot be told apart"
            }
            Unfitted::NoisyTimings => {
                "the timings did not grow with distance computations (too noisy: a busy machine?)"
            }
        })
    }
}

impl Default for CostModel {
    /// Distance computations only.
    fn default() -> Self {
        CostModel {
            hop_weight: 0.0,
            fitted_on: 0,
            passes: 0,
            unfitted: None,
        }
    }
}

/// One timed pass: mean distance computations, hops and seconds per query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostSample {
    pub dist_comps: f64,
    pub hops: f64,
    pub secs_per_query: f64,
}

/// Passes needed before a fit is believed.
const MIN_SAMPLES: usize = 8;
/// A hop weight beyond this is a fit gone wrong (a hop would cost more than
/// a few dozen distance computations on no machine we know).
const MAX_HOP_WEIGHT: f64 = 50.0;

impl CostModel {
    pub fn cost(&self, dist_comps: f64, hops: f64) -> f64 {
        dist_comps + self.hop_weight * hops
    }

    /// Fits time = a·dist_comps + b·hops + c by least squares over the
    /// passes and keeps b / a (a negative b is clamped to free hops). Too
    /// few passes, a singular system or a non-positive a give distance
    /// computations only, saying which.
    pub fn fit(samples: &[CostSample]) -> CostModel {
        let unfitted = |why| CostModel {
            passes: samples.len(),
            unfitted: Some(why),
            ..CostModel::default()
        };
        let ok: Vec<&CostSample> = samples
            .iter()
            .filter(|s| {
                s.dist_comps.is_finite()
                    && s.hops.is_finite()
                    && s.secs_per_query.is_finite()
                    && s.secs_per_query > 0.0
            })
            .collect();
        if ok.len() < MIN_SAMPLES {
            return unfitted(Unfitted::TooFewPasses);
        }
        // Normal equations of the 3-column least squares, centred to keep
        // them well conditioned.
        let n = ok.len() as f64;
        let mean = |f: &dyn Fn(&CostSample) -> f64| ok.iter().map(|s| f(s)).sum::<f64>() / n;
        let (md, mh, mt) = (
            mean(&|s| s.dist_comps),
            mean(&|s| s.hops),
            mean(&|s| s.secs_per_query),
        );
        let (mut sdd, mut shh, mut sdh, mut sdt, mut sht) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for s in &ok {
            let (d, h, t) = (s.dist_comps - md, s.hops - mh, s.secs_per_query - mt);
            sdd += d * d;
            shh += h * h;
            sdh += d * h;
            sdt += d * t;
            sht += h * t;
        }
        let det = sdd * shh - sdh * sdh;
        if !(det.is_finite() && det > 1e-12 * sdd * shh) {
            return unfitted(Unfitted::Collinear);
        }
        let a = (sdt * shh - sht * sdh) / det;
        let b = (sht * sdd - sdt * sdh) / det;
        if !(a > 0.0 && b.is_finite()) {
            return unfitted(Unfitted::NoisyTimings);
        }
        CostModel {
            hop_weight: (b / a).clamp(0.0, MAX_HOP_WEIGHT),
            fitted_on: ok.len(),
            passes: samples.len(),
            unfitted: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn passes(hop_weight: f64, noise: f64, seed: u64) -> Vec<CostSample> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut out = Vec::new();
        // Several "M"s (computations per hop), several "ef"s each.
        for per_hop in [10.0, 15.0, 20.0, 30.0, 45.0] {
            for hops in [20.0, 30.0, 45.0, 70.0, 100.0] {
                let dist_comps = per_hop * hops + 50.0;
                let t = 40e-9 * (dist_comps + hop_weight * hops) + 2e-6;
                let jitter = 1.0 + noise * (rng.random::<f64>() - 0.5) * 2.0;
                out.push(CostSample {
                    dist_comps,
                    hops,
                    secs_per_query: t * jitter,
                });
            }
        }
        out
    }

    #[test]
    fn the_hop_weight_is_recovered_from_exact_timings() {
        let m = CostModel::fit(&passes(9.0, 0.0, 1));
        assert!((m.hop_weight - 9.0).abs() < 1e-6, "{m:?}");
        assert_eq!(m.fitted_on, 25);
        assert_eq!(m.cost(1000.0, 40.0), 1000.0 + 9.0 * 40.0);
    }

    #[test]
    fn noisy_timings_still_give_about_the_weight() {
        // ±10% per pass, as one pass measures here.
        for seed in 0..20 {
            let m = CostModel::fit(&passes(9.0, 0.10, seed));
            assert!((4.0..16.0).contains(&m.hop_weight), "seed {seed}: {m:?}");
        }
    }

    #[test]
    fn too_few_or_degenerate_passes_count_distance_computations_only() {
        let few = &passes(9.0, 0.0, 1)[..MIN_SAMPLES - 1];
        let m = CostModel::fit(few);
        assert_eq!((m.hop_weight, m.fitted_on), (0.0, 0));
        assert_eq!((m.passes, m.unfitted), (7, Some(Unfitted::TooFewPasses)));
        // Hops a fixed multiple of computations: the weight cannot be told.
        let collinear: Vec<CostSample> = (1..20)
            .map(|i| CostSample {
                dist_comps: 10.0 * i as f64,
                hops: i as f64,
                secs_per_query: i as f64 * 1e-6,
            })
            .collect();
        let m = CostModel::fit(&collinear);
        assert_eq!((m.fitted_on, m.unfitted), (0, Some(Unfitted::Collinear)));
        // Hops that seem to save time: clamped to free, not negative.
        let m = CostModel::fit(&passes(-5.0, 0.0, 1));
        assert_eq!(m.hop_weight, 0.0);
        let nan = vec![
            CostSample {
                dist_comps: f64::NAN,
                hops: 1.0,
                secs_per_query: 1.0
            };
            20
        ];
        let m = CostModel::fit(&nan);
        assert_eq!((m.passes, m.unfitted), (20, Some(Unfitted::TooFewPasses)));
    }

    #[test]
    fn timings_that_fall_as_computations_rise_are_called_noise() {
        // A busy machine: the cheapest passes happened to be timed slowest.
        let mut noisy = passes(9.0, 0.0, 1);
        for s in &mut noisy {
            s.secs_per_query = 1e-3 / s.dist_comps;
        }
        let m = CostModel::fit(&noisy);
        assert_eq!(m.hop_weight, 0.0);
        assert_eq!((m.fitted_on, m.passes), (0, 25));
        assert_eq!(m.unfitted, Some(Unfitted::NoisyTimings));
        assert!(m.unfitted.unwrap().to_string().contains("busy"));
    }
}
