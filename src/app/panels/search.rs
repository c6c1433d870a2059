//! The Search section: k, the knob (ef or search_probe) moved live, the
//! rescoring over codes, and the sweep.

use super::*;

pub fn tuning_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) {
    ui.heading("Search");
    ui.add(egui::Slider::new(&mut settings.k, 1..=100).text("k"))
        .on_hover_text("Neighbours per query: the k of recall@k.");
    if settings.index.knob() == Some(KnobKind::Ef) {
        let range = param_spec::EF.usual.0..=param_spec::EF.usual.1;
        ui.add(
            egui::Slider::new(&mut settings.ef, range)
                .logarithmic(true)
                .text("ef"),
        )
        .on_hover_text(param_spec::EF.help);
    }
    if settings.index == IndexKind::PgvectorIvfflat {
        settings.search_probe = settings.search_probe.clamp(1, settings.pg_lists.max(1));
        ui.add(
            egui::Slider::new(&mut settings.search_probe, 1..=settings.pg_lists.max(1))
                .logarithmic(true)
                .text("probes"),
        )
        .on_hover_text(param_spec::PG_PROBES.help);
    }
    if settings.index.knob() == Some(KnobKind::Probe) && !settings.index.is_engine() {
        let lists = session
            .current_build()
            .and_then(|b| b.index.posting_lists())
            .map_or(param_spec::SEARCH_PROBE.usual.1, |h| h.list_count().max(1));
        settings.search_probe = settings.search_probe.min(lists);
        ui.add(
            egui::Slider::new(&mut settings.search_probe, 1..=lists)
                .logarithmic(true)
                .text("search_probe"),
        )
        .on_hover_text(param_spec::SEARCH_PROBE.help);
    }
    if let Some(knob) = settings.index.knob().map(KnobKind::name) {
        let can_sweep =
            session.current_build().is_some_and(|b| b.has_knob()) && session.work.gt.is_some();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(can_sweep && session.work.sweep.is_empty(), egui::Button::new(format!("Sweep {knob}")))
                .on_hover_text("Measure the standard values in turn (ef 10 … 256, or search_probe 1 … 256 up to the list count): the whole curve.")
                .clicked()
            {
                commands.push(Command::Sweep);
            }
            if !session.work.sweep.is_empty() {
                ui.label(format!("{} settings to go", session.work.sweep.len()));
            }
        });
    }
    if session.work.gt_job.is_some() {
        ui.label("Computing exact ground truth…");
    }
    if let Some((req, job)) = &session.work.eval_job {
        let p = job.progress();
        ui.add(
            egui::ProgressBar::new(p.fraction()).text(format!("Measuring {} queries", req.limit)),
        );
    }
    if session.current_build().is_some_and(|b| b.walks_codes()) {
        ui.add(
            egui::Slider::new(
                &mut settings.oversample,
                param_spec::OVERSAMPLE.usual.0..=param_spec::OVERSAMPLE.usual.1,
            )
            .step_by(0.5)
            .text("oversample"),
        )
        .on_hover_text(format!(
            "{} Live: moving it re-measures this build.",
            param_spec::OVERSAMPLE.help
        ));
        ui.checkbox(&mut settings.rescore, "re-score on f32")
            .on_hover_text(
                "Off: the codes' own distances decide the top k (what the codes alone are worth).",
            );
    }
    let current = session.current_build().and_then(|b| {
        let (knob, rescoring) = b.setting(settings.knob(), settings.rescoring());
        session
            .work
            .points
            .iter()
            .rev()
            .find(|p| p.is_at(b.id, settings.k, knob, rescoring))
    });
    if let Some(p) = current {
        let tag = if p.estimate {
            format!(" (estimate from {} queries)", p.queries_measured)
        } else {
            String::new()
        };
        egui::Grid::new("current").num_columns(2).show(ui, |ui| {
            ui.label("Recall");
            ui.label(RichText::new(format!("{:.4}{tag}", p.op.recall)).strong());
            ui.end_row();
            ui.label("QPS (1 thread)");
            ui.label(format!("{:.0}", p.op.qps));
            ui.end_row();
            ui.label("Latency p50 / p99");
            ui.label(format!("{:.0} / {:.0} µs", p.op.p50_us, p.op.p99_us));
            ui.end_row();
            ui.label("Distances per query");
            ui.label(p.op.dist_comps.map_or("-".into(), |d| format!("{d:.0}")));
            ui.end_row();
        });
    }
}
