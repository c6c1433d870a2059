//! The Tune section: the recall target and objective, the run and its
//! progress, the pick with its reason and notes, Apply, the exports and
//! the check on pgvector. The tuner's state and jobs are in
//! `super::super::tuner` (no egui there).

use super::*;
use crate::tune::{ExportFormat, Objective};

/// The Tune section.
pub fn tune_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) {
    ui.heading("Tune");
    ui.add(
        egui::Slider::new(&mut settings.recall_target, 0.5..=0.999)
            .text("recall target")
            .max_decimals(3),
    )
    .on_hover_text("The recall@k (k from the Search section) the pick must reach on held-out queries: the tuner chooses on half the queries and checks the pick on the other half.");
    egui::ComboBox::from_label("objective")
        .selected_text(objective_words(settings.tune_objective))
        .show_ui(ui, |ui| {
            for o in [Objective::Qps, Objective::P99, Objective::Memory] {
                ui.selectable_value(&mut settings.tune_objective, o, objective_words(o));
            }
        });
    let run = session.work.tune.as_ref();
    let running = run.is_some_and(|r| r.job.is_some());
    ui.horizontal(|ui| {
        let can = session.work.gt.is_some() && !running;
        if ui
            .add_enabled(can, egui::Button::new("Run tuner"))
            .on_hover_text("Screens M on a sample, builds the best at full size, finds ef by bisection and times the finalists together (up to 2 minutes).")
            .clicked()
        {
            commands.push(Command::Tune);
        }
        if running && ui.button("Cancel tuning").clicked() {
            commands.push(Command::CancelTune);
        }
    });
    let Some(run) = run else {
        return;
    };
    if let Some(job) = &run.job {
        let p = job.progress();
        ui.label(format!(
            "{}… {} points measured, {:.0} s",
            p.stage,
            run.points.lock().map_or(0, |v| v.len()),
            job.elapsed().as_secs_f64()
        ));
    }
    let Some(s) = &run.summary else {
        return;
    };
    let p = &s.pick;
    ui.label(egui::RichText::new(format!("Pick: {}", p.label)).strong());
    ui.label(format!(
        "{} · held-out recall@{} {:.3} [{:.3}, {:.3}] · {:.0} QPS · {} builds, {:.0} s",
        if p.met {
            "meets the target"
        } else {
            "does NOT meet the target"
        },
        s.target.k,
        p.heldout_recall,
        p.heldout_interval[0],
        p.heldout_interval[1],
        p.qps,
        s.builds + s.sample_builds,
        s.seconds
    ));
    ui.label(egui::RichText::new(&p.reason).small());
    for n in &s.notes {
        ui.label(egui::RichText::new(format!("Note: {n}")).small().weak());
    }
    ui.horizontal(|ui| {
        if ui
            .button("Apply")
            .on_hover_text("Set the index, M, efConstruction and ef to the pick and build it.")
            .clicked()
        {
            commands.push(Command::ApplyPick);
        }
        let ready = session.engine_check_ready(&settings.engine_url);
        let button = ui
            .add_enabled(ready.is_ok(), egui::Button::new("Check on pgvector"))
            .on_hover_text("Graphs differ between engines: load the data into a new table on the pgvector section's server, build the pick's M and efConstruction there and find pgvector's own least ef_search that meets the target, checked on the held-out queries; the table is dropped after. Copy for pgvector then carries pgvector's ef.")
            .on_disabled_hover_text(ready.err().unwrap_or_default());
        if button.clicked() {
            commands.push(Command::CheckPickOnEngine);
        }
    });
    if let Some(job) = &run.check_job {
        let p = job.progress();
        ui.label(format!(
            "Checking on pgvector: {}… {:.0} s",
            p.stage,
            job.elapsed().as_secs_f64()
        ));
    }
    if let Some(c) = &run.check {
        ui.label(format!(
            "On {}: ef_search {} (annscope's ef {}) {} · held-out recall@{} {:.3} [{:.3}, {:.3}] · {:.0} QPS · CREATE INDEX {:.1} s",
            c.engine,
            c.ef,
            c.annscope_ef,
            if c.met {
                "meets the target"
            } else {
                "does NOT meet the target"
            },
            s.target.k,
            c.heldout_recall,
            c.heldout_interval[0],
            c.heldout_interval[1],
            c.qps,
            c.build_s
        ));
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Copy for");
        for f in ExportFormat::ALL {
            if ui
                .button(f.name())
                .on_hover_text(format!("Copy the pick as {}'s configuration", f.name()))
                .clicked()
            {
                commands.push(Command::CopyExport(f));
            }
        }
    });
    if let Some((f, notes)) = &run.copied {
        ui.label(format!("Copied the {} configuration.", f.name()));
        for n in notes {
            ui.label(egui::RichText::new(n).small().weak());
        }
    }
}

pub(super) fn objective_words(o: Objective) -> &'static str {
    match o {
        Objective::Qps => "most QPS",
        Objective::P99 => "lowest p99",
        Objective::Memory => "least memory",
    }
}
