//! The pick rule: among measured finalists, which one the tuner names, and
//! why, in words. A pure function of the figures and the target, so every
//! case (ties within the noise, limits, nothing met, the margin) is a row
//! of a table test rather than a tuning run.
//!
//! The rule: a finalist is eligible when it meets every part of the target
//! (recall with its margin, p99, RAM, build time). The leader is the
//! eligible one with the best objective (median QPS, median p99, or the
//! fewest bytes and then the most QPS). Finalists the timings cannot tell
//! from the leader (their intervals overlap) are tied with it; among the
//! tied whose median is within [`TIE_SHARE`] of the leader's, the cheapest
//! (memory, then build time) is picked. With nothing eligible, the closest
//! (highest tuning recall) is named, unmet.

use super::{Objective, RecallVerdict, Target};
use crate::eval::Spread;

/// Among finalists the timings cannot tell apart, a cheaper one (memory,
/// then build time) replaces the one with the best median only when its
/// median is within this share of the best.
pub const TIE_SHARE: f64 = 0.02;

/// What the rule reads of one finalist: measured figures only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Its tuning recall against what the target's margin needs.
    pub verdict: RecallVerdict,
    /// The median timed run's QPS (the only run's before timing).
    pub qps: f64,
    /// The median timed run's p99 latency (µs).
    pub p99_us: f64,
    /// The timed runs' spreads (QPS, p99), once there are two runs.
    pub spreads: Option<(Spread, Spread)>,
    /// Timed runs behind the medians.
    pub runs: usize,
    /// Bytes the index holds in RAM.
    pub bytes: u64,
    pub build_s: f64,
}

/// The rule's answer: the pick, the finalists tied with it within the
/// noise, and whether it meets the whole target.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub pick: usize,
    pub tied: Vec<usize>,
    pub met: bool,
}

/// Whether `f` meets every part of the target.
pub fn meets_all(f: &Figures, t: &Target) -> bool {
    f.verdict.met()
        && t.max_p99_us.is_none_or(|max| f.p99_us <= max)
        && t.max_ram_bytes.is_none_or(|max| f.bytes <= max)
        && t.max_build_s.is_none_or(|max| f.build_s <= max)
}

/// What keeps `f` from the target, in words (empty when nothing does).
pub fn shortfall(f: &Figures, t: &Target) -> String {
    let mut why = Vec::new();
    if !f.verdict.met() {
        why.push(format!(
            "recall {:.3} < {:.3} needed",
            f.verdict.mean, f.verdict.needed
        ));
    }
    if let Some(max) = t.max_p99_us.filter(|&m| f.p99_us > m) {
        why.push(format!("p99 {:.0} µs > {max:.0}", f.p99_us));
    }
    if let Some(max) = t.max_ram_bytes.filter(|&m| f.bytes > m) {
        why.push(format!("{} bytes > {max}", f.bytes));
    }
    if let Some(max) = t.max_build_s.filter(|&m| f.build_s > m) {
        why.push(format!("build {:.0} s > {max}", f.build_s));
    }
    why.join(", ")
}

/// Whether `a` is better than `b` by more than the timings' noise: it
/// meets the recall target where `b` does not, or (both meeting it) its
/// objective is better for every run; with neither meeting it, the higher
/// recall. Without spreads (one run each), better by more than 10%.
pub fn clearly_better(a: &Figures, b: &Figures, objective: Objective) -> bool {
    match (a.verdict.met(), b.verdict.met()) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => a.verdict.mean > b.verdict.mean,
        (true, true) => match objective {
            Objective::Qps => match (a.spreads, b.spreads) {
                (Some((qa, _)), Some((qb, _))) => qa.clearly_above(qb),
                _ => a.qps > b.qps * 1.1,
            },
            Objective::P99 => match (a.spreads, b.spreads) {
                (Some((_, pa)), Some((_, pb))) => pb.clearly_above(pa),
                _ => a.p99_us * 1.1 < b.p99_us,
            },
            Objective::Memory => a.bytes < b.bytes,
        },
    }
}

/// The pick among `cands` (None when there are none).
pub fn choose(cands: &[Figures], t: &Target) -> Option<Choice> {
    let eligible: Vec<usize> = (0..cands.len())
        .filter(|&i| meets_all(&cands[i], t))
        .collect();
    if eligible.is_empty() {
        // The closest: the highest tuning recall.
        let pick = (0..cands.len())
            .max_by(|&a, &b| cands[a].verdict.mean.total_cmp(&cands[b].verdict.mean))?;
        return Some(Choice {
            pick,
            tied: Vec::new(),
            met: false,
        });
    }
    let leader = *eligible.iter().max_by(|&&a, &&b| {
        let (a, b) = (&cands[a], &cands[b]);
        match t.objective {
            Objective::Qps => a.qps.total_cmp(&b.qps),
            Objective::P99 => b.p99_us.total_cmp(&a.p99_us),
            Objective::Memory => b.bytes.cmp(&a.bytes).then(a.qps.total_cmp(&b.qps)),
        }
    })?;
    let tied: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| {
            t.objective != Objective::Memory
                && !clearly_better(&cands[leader], &cands[i], t.objective)
        })
        .collect();
    // The timings cannot rank the tied ones, but the leader's median is
    // still the best estimate: a cheaper tie is taken only when its median
    // is within TIE_SHARE of the leader's.
    let near = |i: usize| match t.objective {
        Objective::Qps => cands[i].qps >= cands[leader].qps * (1.0 - TIE_SHARE),
        Objective::P99 => cands[i].p99_us <= cands[leader].p99_us * (1.0 + TIE_SHARE),
        Objective::Memory => true,
    };
    let cheaper = |a: usize, b: usize| {
        (cands[a].bytes, cands[a].build_s)
            .partial_cmp(&(cands[b].bytes, cands[b].build_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let pick = tied
        .iter()
        .copied()
        .filter(|&i| near(i))
        .min_by(|&a, &b| cheaper(a, b))
        .unwrap_or(leader);
    Some(Choice {
        pick,
        tied: tied.into_iter().filter(|&i| i != pick).collect(),
        met: true,
    })
}

/// Why the pick, against each other finalist, in a few words each;
/// `labels[i]` names finalist `i`.
pub fn reason(cands: &[Figures], labels: &[String], choice: &Choice, t: &Target) -> String {
    let c = &cands[choice.pick];
    let qps_words = |c: &Figures| match c.spreads {
        Some((q, _)) => format!(
            "{:.0} QPS (median of {} runs, {:.0}–{:.0})",
            q.median, c.runs, q.lo, q.hi
        ),
        None => format!("{:.0} QPS", c.qps),
    };
    let mb_more = |o: &Figures| (o.bytes as f64 - c.bytes as f64) / 1e6;
    let mut out = if choice.met {
        format!(
            "{}: {}, recall@{} {:.3} on the tuning queries (≥ {:.3} needed for {} with {:.0}% confidence)",
            labels[choice.pick],
            qps_words(c),
            t.k,
            c.verdict.mean,
            c.verdict.needed,
            t.recall,
            t.confidence * 100.0
        )
    } else {
        format!(
            "nothing measured meets the target; the closest is {}: {}",
            labels[choice.pick],
            shortfall(c, t)
        )
    };
    for (i, o) in cands.iter().enumerate().filter(|&(i, _)| i != choice.pick) {
        let words = if !meets_all(o, t) {
            shortfall(o, t)
        } else if choice.tied.contains(&i) {
            format!(
                "{} (as good within the noise; takes {:.1} MB more or builds slower)",
                qps_words(o),
                mb_more(o)
            )
        } else {
            match t.objective {
                Objective::Memory => format!("{:.1} MB more", mb_more(o)),
                Objective::P99 => format!("p99 {:.0} µs", o.p99_us),
                Objective::Qps => format!("slower, {}", qps_words(o)),
            }
        };
        out.push_str(&format!("; {}: {words}", labels[i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDED: f64 = 0.955;

    /// A finalist meeting recall (or not), timed over five runs whose
    /// interval is ±`noise` of its QPS (p99 moving the other way).
    fn fig(met: bool, qps: f64, noise: f64, mb: u64, build_s: f64) -> Figures {
        let p99 = 1e6 / qps;
        Figures {
            verdict: RecallVerdict {
                mean: if met { 0.96 } else { 0.94 },
                needed: NEEDED,
            },
            qps,
            p99_us: p99,
            spreads: (noise > 0.0).then_some({
                (
                    Spread {
                        median: qps,
                        lo: qps * (1.0 - noise),
                        hi: qps * (1.0 + noise),
                    },
                    Spread {
                        median: p99,
                        lo: p99 * (1.0 - noise),
                        hi: p99 * (1.0 + noise),
                    },
                )
            }),
            runs: 5,
            bytes: mb * 1_000_000,
            build_s,
        }
    }

    fn target() -> Target {
        Target::recall(10, 0.95)
    }

    fn with(f: impl FnOnce(&mut Target)) -> Target {
        let mut t = target();
        f(&mut t);
        t
    }

    #[test]
    fn the_pick_rule_over_a_table_of_cases() {
        // (case, finalists, target, pick, tied, met)
        type Case = (&'static str, Vec<Figures>, Target, usize, Vec<usize>, bool);
        let cases: Vec<Case> = vec![
            (
                "clearly fastest wins",
                vec![
                    fig(true, 1000.0, 0.02, 100, 10.0),
                    fig(true, 2000.0, 0.02, 100, 10.0),
                ],
                target(),
                1,
                vec![],
                true,
            ),
            (
                "a tie within the noise goes to the cheaper one when its median is within 2%",
                vec![
                    fig(true, 2000.0, 0.05, 200, 10.0),
                    fig(true, 1970.0, 0.05, 100, 10.0),
                ],
                target(),
                1,
                vec![0],
                true,
            ),
            (
                "a tie whose median is over 2% behind stays behind the leader",
                vec![
                    fig(true, 2000.0, 0.05, 200, 10.0),
                    fig(true, 1900.0, 0.05, 100, 10.0),
                ],
                target(),
                0,
                vec![1],
                true,
            ),
            (
                "equal memory: the faster build breaks the tie",
                vec![
                    fig(true, 2000.0, 0.05, 100, 30.0),
                    fig(true, 1990.0, 0.05, 100, 12.0),
                ],
                target(),
                1,
                vec![0],
                true,
            ),
            (
                "recall below the margin is not eligible however fast",
                vec![
                    fig(false, 9000.0, 0.02, 50, 5.0),
                    fig(true, 1000.0, 0.02, 100, 10.0),
                ],
                target(),
                1,
                vec![],
                true,
            ),
            (
                "nothing meets recall: the closest, unmet",
                vec![
                    Figures {
                        verdict: RecallVerdict {
                            mean: 0.93,
                            needed: NEEDED,
                        },
                        ..fig(false, 3000.0, 0.02, 50, 5.0)
                    },
                    fig(false, 1000.0, 0.02, 100, 10.0),
                ],
                target(),
                1,
                vec![],
                false,
            ),
            (
                "a RAM ceiling rules out the bigger one",
                vec![
                    fig(true, 3000.0, 0.02, 200, 10.0),
                    fig(true, 1000.0, 0.02, 100, 10.0),
                ],
                with(|t| t.max_ram_bytes = Some(150_000_000)),
                1,
                vec![],
                true,
            ),
            (
                "a build-time ceiling rules out the slow build",
                vec![
                    fig(true, 3000.0, 0.02, 100, 90.0),
                    fig(true, 1000.0, 0.02, 100, 10.0),
                ],
                with(|t| t.max_build_s = Some(60.0)),
                1,
                vec![],
                true,
            ),
            (
                "a p99 ceiling no finalist meets: unmet, the highest recall named",
                vec![
                    Figures {
                        verdict: RecallVerdict {
                            mean: 0.97,
                            needed: NEEDED,
                        },
                        ..fig(true, 1000.0, 0.02, 100, 10.0)
                    },
                    fig(true, 2000.0, 0.02, 100, 10.0),
                ],
                with(|t| t.max_p99_us = Some(100.0)),
                0,
                vec![],
                false,
            ),
            (
                "objective p99: the lowest median p99",
                vec![
                    fig(true, 1000.0, 0.02, 100, 10.0),
                    fig(true, 2000.0, 0.02, 300, 10.0),
                ],
                with(|t| t.objective = Objective::P99),
                1,
                vec![],
                true,
            ),
            (
                "objective memory: the fewest bytes, no ties",
                vec![
                    fig(true, 3000.0, 0.02, 300, 10.0),
                    fig(true, 1000.0, 0.02, 100, 10.0),
                ],
                with(|t| t.objective = Objective::Memory),
                1,
                vec![],
                true,
            ),
            (
                "objective memory, equal bytes: the more QPS",
                vec![
                    fig(true, 1000.0, 0.02, 100, 10.0),
                    fig(true, 1500.0, 0.02, 100, 10.0),
                ],
                with(|t| t.objective = Objective::Memory),
                1,
                vec![],
                true,
            ),
            (
                "one run each (no spreads): within 10% is a tie",
                vec![
                    fig(true, 2000.0, 0.0, 200, 10.0),
                    fig(true, 1980.0, 0.0, 100, 10.0),
                ],
                target(),
                1,
                vec![0],
                true,
            ),
            (
                "one run each: over 10% ahead is clearly better",
                vec![
                    fig(true, 2000.0, 0.0, 200, 10.0),
                    fig(true, 1700.0, 0.0, 100, 10.0),
                ],
                target(),
                0,
                vec![],
                true,
            ),
        ];
        for (case, cands, t, pick, tied, met) in cases {
            let got = choose(&cands, &t).expect(case);
            assert_eq!(got, Choice { pick, tied, met }, "{case}");
        }
        assert_eq!(choose(&[], &target()), None);
    }

    #[test]
    fn the_margin_decides_eligibility_at_the_edge() {
        // A mean equal to what the margin needs (up to f32 rounding) meets
        // it; a hair below does not.
        let at = |mean: f64| Figures {
            verdict: RecallVerdict {
                mean,
                needed: NEEDED,
            },
            ..fig(true, 1000.0, 0.02, 100, 10.0)
        };
        let t = target();
        assert!(meets_all(&at(NEEDED - 5e-7), &t));
        assert!(!meets_all(&at(NEEDED - 1e-3), &t));
        let choice = choose(&[at(NEEDED - 1e-3), at(NEEDED)], &t).expect("a pick");
        assert_eq!((choice.pick, choice.met), (1, true));
    }

    #[test]
    fn the_reason_names_every_finalist_and_why() {
        let cands = [
            fig(true, 2000.0, 0.02, 100, 10.0),
            fig(true, 1000.0, 0.02, 100, 10.0),
            fig(false, 5000.0, 0.02, 100, 10.0),
        ];
        let labels: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        let t = target();
        let choice = choose(&cands, &t).expect("a pick");
        let text = reason(&cands, &labels, &choice, &t);
        assert!(
            text.starts_with("A: 2000 QPS (median of 5 runs, 1960–2040)"),
            "{text}"
        );
        assert!(text.contains("; B: slower, 1000 QPS"), "{text}");
        assert!(text.contains("; C: recall 0.940 < 0.955 needed"), "{text}");
        let unmet = reason(
            &cands[2..],
            &labels[2..],
            &choose(&cands[2..], &t).expect("c"),
            &t,
        );
        assert!(
            unmet.starts_with("nothing measured meets the target; the closest is C"),
            "{unmet}"
        );
    }
}
