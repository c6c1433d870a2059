//! Timing the finalists: one run each in turn (A B C A B C …), so that the
//! machine's drift in speed hits them alike, until their spreads settle.

use super::{Candidate, Search, TIMED_RUN_S};
use crate::error::Result;
use crate::eval::measure_for;
use crate::index::SearchParams;

/// A finalist whose best run is under this share of the leader's best is
/// timed no further.
const HOPELESS_SHARE: f64 = 0.25;

impl Search<'_> {
    /// Times the candidates `which` of `cands` on the tuning queries, one
    /// run each in turn (A B C A B C …), until every spread is within the
    /// tolerance (after the minimum runs), the runs run out or the budget
    /// does. A candidate whose fastest run is under half the leader's
    /// slowest is left out of later rounds: no spread would save it; one
    /// under a quarter of the leader's fastest, after its first run.
    pub(super) fn time(&mut self, cands: &mut [Candidate], which: &[usize]) -> Result<()> {
        let policy = self.config.repeat;
        let mut active: Vec<usize> = which.to_vec();
        let ground = self.full();
        for _ in 0..policy.max_runs {
            self.ctx.cancel.check()?;
            self.ctx
                .progress
                .stage(&format!("tune: timing {} finalists", active.len()), 0);
            for &i in &active {
                let c = &mut cands[i];
                let m = measure_for(
                    &*c.index,
                    ground.base,
                    ground.queries,
                    ground.gt,
                    &SearchParams::new(self.config.target.k).with_knob(c.knob),
                    TIMED_RUN_S,
                )?;
                if c.timed {
                    c.m.absorb(m);
                } else {
                    c.m = m;
                    c.timed = true;
                }
            }
            // A candidate several times slower than the leader in a run is
            // out at once: no interference makes a gap of 4× (the flat scan
            // beside a graph, whose every run is one pass of seconds).
            let leader = active.iter().map(|&i| cands[i].m.qps).fold(0.0, f64::max);
            active.retain(|&i| cands[i].m.qps >= HOPELESS_SHARE * leader);
            let runs_done = active
                .iter()
                .map(|&i| cands[i].m.run_qps.len())
                .min()
                .unwrap_or(0);
            if runs_done < policy.min_runs.max(2) {
                continue;
            }
            let leader_lo = active
                .iter()
                .map(|&i| cands[i].qps_lo())
                .fold(0.0, f64::max);
            active.retain(|&i| cands[i].m.qps >= 0.5 * leader_lo);
            let settled = active.iter().all(|&i| {
                cands[i]
                    .m
                    .spreads()
                    .is_some_and(|(q, _)| q.relative_width() <= policy.tolerance)
            });
            if settled || self.elapsed() > self.config.budget_s {
                break;
            }
        }
        Ok(())
    }
}
