//! The engine controls: a PostgreSQL server to load the data into for
//! pgvector, and Qdrant's quantization.

use super::*;

/// pgvector: the server, loading the data into it, and its build settings.
/// Returns whether a build setting was changed (a rebuild).
pub(super) fn engine_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) -> bool {
    let mut rebuild = false;
    ui.horizontal(|ui| {
        let label = ui.label("PostgreSQL URL");
        ui.add(egui::TextEdit::singleline(&mut settings.engine_url).desired_width(220.0))
            .labelled_by(label.id)
            .on_hover_text("postgresql://user@host:5432/database. The password goes in the field below; it is never written to the settings file.");
    });
    ui.horizontal(|ui| {
        let label = ui.label("Password");
        ui.add(
            egui::TextEdit::singleline(&mut settings.engine_password)
                .password(true)
                .desired_width(160.0),
        )
        .labelled_by(label.id);
    });
    ui.checkbox(&mut settings.pg_halfvec, "halfvec")
        .on_hover_text("Store the vectors as halfvec (2 bytes per value): half the table and index. Takes effect at the next load.");
    ui.horizontal(|ui| {
        let loading = session.work.engine_job.is_some();
        if ui
            .add_enabled(session.loaded.is_some() && !loading, egui::Button::new("Connect and load"))
            .on_hover_text("Load this data into a new table annscope_… (binary COPY); it is dropped when annscope closes or other data is opened.")
            .clicked()
        {
            commands.push(Command::ConnectEngine);
        }
        if loading && ui.button("Cancel loading").clicked() {
            commands.push(Command::CancelEngine);
        }
    });
    if let Some(job) = &session.work.engine_job {
        let p = job.progress();
        ui.add(egui::ProgressBar::new(p.fraction()).text(p.stage));
    }
    match &session.work.engine {
        Some(c) => {
            ui.label(
                RichText::new(format!(
                    "Table {} ({}) on {}",
                    c.table_name(),
                    c.column().name(),
                    c.shown_url()
                ))
                .small(),
            );
        }
        None => {
            ui.label(RichText::new("Not loaded into PostgreSQL yet.").small());
        }
    }
    if settings.index == IndexKind::PgvectorIvfflat {
        ui.horizontal(|ui| {
            let label = ui.label("lists");
            let r = ui
                .add(
                    egui::DragValue::new(&mut settings.pg_lists)
                        .range(param_spec::PG_LISTS.usual.0..=param_spec::PG_LISTS.usual.1),
                )
                .labelled_by(label.id)
                .on_hover_text(param_spec::PG_LISTS.help);
            rebuild |= r.drag_stopped() || r.lost_focus();
        });
    }
    rebuild
}

/// Qdrant (in this process): the codes its HNSW walks on, and how their
/// candidates are re-ranked. Returns whether a setting asks for a rebuild.
pub(super) fn qdrant_ui(ui: &mut Ui, settings: &mut Settings) -> bool {
    let before = (settings.qdrant_quantization, settings.qdrant_rescore);
    egui::ComboBox::from_label("Quantization")
        .selected_text(settings.qdrant_quantization.name())
        .show_ui(ui, |ui| {
            for q in crate::engine::QdrantQuantization::ALL {
                ui.selectable_value(&mut settings.qdrant_quantization, q, q.name());
            }
        })
        .response
        .on_hover_text("Qdrant's quantization: the HNSW walks on these codes (scalar: 1 byte per value; binary: 1 or 2 bits; product: 16 or 32x smaller; turbo: 4 or 2 bits), kept in RAM beside the original vectors.");
    let mut released = false;
    if settings.qdrant_quantization != crate::engine::QdrantQuantization::None {
        let r = ui
            .add(
                egui::Slider::new(
                    &mut settings.qdrant_oversample,
                    param_spec::QD_OVERSAMPLING.usual.0..=param_spec::QD_OVERSAMPLING.usual.1,
                )
                .text("oversampling"),
            )
            .on_hover_text(format!("{} In the app it is set per build; `annscope bench --engine qdrant-edge --oversample 1,2,4` sweeps it on one build.", param_spec::QD_OVERSAMPLING.help));
        released = r.drag_stopped() || (r.changed() && !r.dragged());
        ui.checkbox(&mut settings.qdrant_rescore, "rescore")
            .on_hover_text(
                "Re-rank the oversampled candidates on the original vectors (Qdrant's default).",
            );
    }
    // A dragged slider rebuilds when released, not on every step.
    released || before != (settings.qdrant_quantization, settings.qdrant_rescore)
}
