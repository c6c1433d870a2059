//! The live measurement of the current build: a quick estimate on a prefix
//! of the queries as soon as ef or k moves, then every query timed
//! [`TIMED_RUNS`] times; sweeps of the knob's standard settings; and the
//! measured points recorded per (build, k, knob, rescoring). No egui here.

use std::sync::Arc;

use super::{EvalRequest, Point, RecallKey, Session, ESTIMATE_QUERIES, TIMED_RUNS};
use crate::eval::{measure_prefix, plan_sweep, Measurement, OperatingPoint, QueryMode};
use crate::index::{param_spec, Rescoring, SearchKnob, SearchParams};
use crate::job::Job;

impl Session {
    /// Asks for the current build measured at (k, ef): a quick estimate on
    /// a prefix of the queries first, then all of them. A request equal to
    /// the last one does nothing; a new one replaces (cancels) a running one.
    pub fn evaluate(&mut self, k: usize, knob: SearchKnob, rescoring: Rescoring) {
        let (Some(built), Some(_), Some(loaded)) =
            (self.current_build(), &self.work.gt, &self.loaded)
        else {
            return;
        };
        let (knob, rescoring) = built.setting(knob, rescoring);
        let nq = loaded.queries.len();
        let first = EvalRequest {
            build_id: built.id,
            k,
            knob,
            rescoring,
            limit: ESTIMATE_QUERIES.min(nq),
        };
        let full = EvalRequest { limit: nq, ..first };
        if self.work.last_eval == Some(full) || self.work.last_eval == Some(first) {
            return;
        }
        // Already measured in full: nothing to run.
        if self
            .work
            .points
            .iter()
            .any(|p| p.is_at(built.id, k, knob, rescoring) && !p.estimate)
        {
            self.work.last_eval = Some(full);
            return;
        }
        self.eval_asked = Some(std::time::Instant::now());
        self.start_eval(first);
    }

    pub(super) fn start_eval(&mut self, req: EvalRequest) {
        let (Some(built), Some(gt), Some(loaded)) =
            (self.current_build(), &self.work.gt, &self.loaded)
        else {
            return;
        };
        let (index, gt, base, queries) = (
            built.index.shared(),
            gt.clone(),
            loaded.base.clone(),
            loaded.queries.clone(),
        );
        let notify = self.notifier();
        let job = Job::spawn_notify(
            "evaluate",
            move |ctx| {
                let mut params = SearchParams::new(req.k).with_knob(req.knob);
                if let Some(r) = req.rescoring {
                    params = params.with_rescoring(r);
                }
                let run = || {
                    measure_prefix(
                        index.as_ref(),
                        &base,
                        queries.vectors(),
                        &gt,
                        &params,
                        req.limit,
                        ctx,
                    )
                };
                let mut m = run()?;
                // A full measurement is timed several times: its median
                // and spread, not one run that painting or another
                // process may have slowed.
                if req.limit >= queries.len() {
                    for _ in 1..TIMED_RUNS {
                        m.absorb(run()?);
                    }
                    m.use_medians();
                }
                Ok(m)
            },
            notify,
        );
        self.work.last_eval = Some(req);
        self.work.eval_job = Some((req, job));
    }

    /// Measures the current build at each of the standard settings of its
    /// knob in turn (ef 10 … 256, or search_probe 1 … 256 up to the list
    /// count), in the background, skipping those already measured.
    pub fn sweep(&mut self, k: usize, rescoring: Rescoring) {
        let Some(built) = self.current_build() else {
            return;
        };
        let id = built.id;
        let (_, rescoring) = built.setting(SearchKnob::Default, rescoring);
        let efs: Vec<SearchKnob> = param_spec::EF
            .sweep
            .iter()
            .map(|&e| SearchKnob::Ef(e))
            .collect();
        let plan = plan_sweep(&*built.index, &efs, param_spec::SEARCH_PROBE.sweep);
        self.work.sweep_k = k;
        self.work.sweep = plan
            .knobs
            .into_iter()
            .filter(|&knob| {
                !self
                    .work
                    .points
                    .iter()
                    .any(|p| p.is_at(id, k, knob, rescoring) && !p.estimate)
            })
            .collect();
        self.work.sweep_rescoring = rescoring;
    }

    pub(super) fn continue_sweep(&mut self) {
        if self.work.eval_job.is_some() || self.work.gt.is_none() {
            return;
        }
        let (Some(built), Some(loaded)) = (self.current_build(), &self.loaded) else {
            return;
        };
        if !built.has_knob() {
            self.work.sweep.clear();
            return;
        }
        let (id, nq) = (built.id, loaded.queries.len());
        if let Some(knob) = self.work.sweep.pop_front() {
            self.start_eval(EvalRequest {
                build_id: id,
                k: self.work.sweep_k,
                knob,
                rescoring: self.work.sweep_rescoring,
                limit: nq,
            });
        }
    }

    pub(super) fn record(&mut self, req: EvalRequest, m: &Measurement) {
        let Some(built) = self.work.builds.iter_mut().find(|b| b.id == req.build_id) else {
            return;
        };
        let mut search = req.knob.report_on(&*built.index, req.k);
        if let Some(r) = req.rescoring {
            r.report_into(&mut search);
        }
        let dataset = self
            .loaded
            .as_ref()
            .map_or_else(String::new, |l| l.base.display_name());
        let op = OperatingPoint::new(
            &*built.index,
            search,
            req.k,
            m,
            built.index.build_secs,
            QueryMode::Single,
            1,
            &dataset,
        );
        // The panel's memory figures follow the latest measurement.
        built.index.memory = crate::index::MemoryUsage {
            ram_bytes: op.index_bytes,
            disk_bytes: op.disk_bytes,
            mapped_resident_bytes: op.mapped_resident_bytes,
        };
        let built = &*built;
        let full = req.limit >= self.loaded.as_ref().map_or(0, |l| l.queries.len());
        if full {
            self.work.query_recall.insert(
                RecallKey {
                    build_id: req.build_id,
                    k: req.k,
                    knob: req.knob,
                    rescoring: req.rescoring,
                },
                Arc::new(m.per_query_recall.clone()),
            );
        }
        // A full measurement replaces the estimate (and any older point) at the same setting.
        self.work
            .points
            .retain(|p| !p.is_at(req.build_id, req.k, req.knob, req.rescoring));
        self.work.points.push(Point {
            build_id: req.build_id,
            build_label: built.index.spec.label(),
            k: req.k,
            knob: req.knob,
            rescoring: req.rescoring,
            estimate: req.limit < self.loaded.as_ref().map_or(0, |l| l.queries.len()),
            queries_measured: req.limit,
            op,
        });
    }
}
