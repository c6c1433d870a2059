//! The Dataset section: what is open, its metric, where its vectors come
//! from, and the buttons to open another file or the sample.

use super::*;

pub fn dataset_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) {
    ui.heading("Dataset");
    if let Some(job) = &session.load_job {
        let p = job.progress();
        ui.add(egui::ProgressBar::new(p.fraction()).text(format!("Loading: {}", p.stage)));
    }
    match &session.loaded {
        None => {
            ui.label("No dataset loaded.");
        }
        Some(l) => {
            let info = l.base.info();
            egui::Grid::new("dataset").num_columns(2).show(ui, |ui| {
                ui.label("Name");
                ui.label(l.base.name());
                ui.end_row();
                ui.label("Vectors");
                ui.label(format!("{}", l.base.len()));
                ui.end_row();
                ui.label("Dimension");
                ui.label(format!("{}", l.base.dim()));
                ui.end_row();
                ui.label("Element type");
                ui.label(format!("{} ({})", info.dtype.name(), info.format.name()));
                ui.end_row();
                ui.label("Storage");
                ui.label(if l.base.vectors().is_mapped() {
                    "memory-mapped"
                } else {
                    "in RAM"
                });
                ui.end_row();
                ui.label("Labels");
                ui.label(if l.base.labels().is_some() {
                    "yes"
                } else {
                    "none"
                });
                ui.end_row();
                ui.label("Queries");
                ui.label(format!("{}", l.queries.len()));
                ui.end_row();
            });
            ui.label(RichText::new(&l.queries_note).small());
        }
    }
    let mut req = settings.dataset.clone();
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.label("Metric");
        for m in Metric::ALL {
            changed |= ui.selectable_value(&mut req.metric, m, m.name()).changed();
        }
    });
    changed |= ui
        .checkbox(&mut req.normalize, "Normalise vectors")
        .on_hover_text(
            "Scale every vector to unit length on load (then l2 and ip rank as cosine does).",
        )
        .changed();
    if req.queries.is_none() {
        ui.horizontal(|ui| {
            let label = ui.label("Held-out queries");
            changed |= ui
                .add(egui::DragValue::new(&mut req.holdout).range(1..=10_000))
                .labelled_by(label.id)
                .on_hover_text(
                    "How many base vectors to hold out as queries (removed from the base).",
                )
                .changed();
        });
    }
    if changed {
        // Metric, normalisation and hold-out change the data: reload it.
        commands.push(Command::Open(req));
    }
    if ui.button("Open a file…").clicked() {
        commands.push(Command::PickFile);
    }
    ui.label(RichText::new("or drop a vector file on the window").small());
}
