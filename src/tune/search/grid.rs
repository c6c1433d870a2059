//! The grid strategy: every (M, efConstruction) built at full size and
//! every ef of the grid measured on both halves of the queries, so the
//! tuner's pick can be set against the grid's best afterwards.

use super::{Candidate, Search, TIMED_RUN_S};
use crate::dataset::Vectors;
use crate::error::{Error, Result};
use crate::eval::{measure, measure_for, GroundTruth, Measurement, RunOptions};
use crate::index::{BuiltIndex, SearchKnob, SearchParams};
use crate::tune::{Phase, RecallVerdict};

impl Search<'_> {
    /// The `keep` candidates with the most QPS (the rest are dropped with
    /// their memory).
    fn keep_best(&self, mut cands: Vec<Candidate>, keep: usize) -> Vec<Candidate> {
        cands.sort_by(|a, b| {
            b.verdict
                .met()
                .cmp(&a.verdict.met())
                .then(b.m.qps.total_cmp(&a.m.qps))
        });
        cands.truncate(keep);
        cands
    }

    /// Every (M, efConstruction) at full size, every ef of `efs` measured
    /// on both halves of the queries (the held-out recall is in each point,
    /// for a comparison made afterwards; the choice still reads only the
    /// tuning half). The four fastest builds that meet the target stay.
    pub(super) fn grid(&mut self, efs: &[usize]) -> Result<Vec<Candidate>> {
        let space = self.config.space.clone();
        let mut efs = efs.to_vec();
        efs.sort_unstable();
        efs.dedup();
        if efs.is_empty() {
            return Err(Error::InvalidParameter(
                "the grid needs at least one ef".into(),
            ));
        }
        let base = self.inputs.base.clone();
        let mut kept = Vec::new();
        for &m in &space.m {
            for &efc in &space.ef_construction {
                if self.elapsed() > self.config.budget_s {
                    self.notes.push(format!(
                        "the {} s budget ran out before M {m} efConstruction {efc}",
                        self.config.budget_s
                    ));
                    return Ok(kept);
                }
                let index = self.build(&self.hnsw(m, efc), &base, Phase::Full)?;
                let mut chosen: Option<(SearchKnob, Measurement, RecallVerdict)> = None;
                for &ef in &efs {
                    let knob = SearchKnob::Ef(ef);
                    let (meas, verdict) = self.probe_both_halves(&index, knob)?;
                    let better_try = chosen.as_ref().is_none_or(|(_, _, v)| {
                        !v.met() && (verdict.met() || verdict.mean > v.mean)
                    });
                    if better_try {
                        chosen = Some((knob, meas, verdict));
                    }
                }
                let (knob, m, verdict) = chosen.expect("at least one ef");
                kept.push(Candidate {
                    index,
                    knob,
                    m,
                    verdict,
                    built_on: base.len(),
                    timed: false,
                });
                kept = self.keep_best(kept, 4);
            }
        }
        Ok(kept)
    }

    /// A probe on the tuning half whose point also carries the held-out
    /// half's recall.
    fn probe_both_halves(
        &mut self,
        index: &BuiltIndex,
        knob: SearchKnob,
    ) -> Result<(Measurement, RecallVerdict)> {
        self.ctx.cancel.check()?;
        let g = self.full();
        let run = |queries: &Vectors, gt: &GroundTruth| {
            measure(
                &**index,
                Some(g.base),
                queries,
                gt,
                &SearchParams::new(self.config.target.k).with_knob(knob),
                RunOptions::ONE_PASS,
            )
        };
        // Timed for at least TIMED_RUN_S, so that the grid's points can be
        // ranked by their QPS afterwards.
        let m = measure_for(
            &**index,
            g.base,
            g.queries,
            g.gt,
            &SearchParams::new(self.config.target.k).with_knob(knob),
            TIMED_RUN_S,
        )?;
        let held = &self.inputs.split.heldout;
        let h = run(&held.vectors, &held.gt)?;
        let verdict = self
            .config
            .target
            .recall_verdict(&m.per_query_recall, held.len());
        let mut point = self.point(index, knob, &m, Phase::Full, g.base.len(), verdict);
        point.heldout_recall = Some(h.recall);
        (self.on_point)(&point);
        Ok((m, verdict))
    }
}
