//! The Index section: the kind, its build parameters (each from its
//! `ParamSpec`), the build and its progress, and what the built index holds.

use super::*;

pub fn index_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) {
    ui.heading("Index");
    egui::ComboBox::from_label("Kind")
        .selected_text(settings.index.label())
        .show_ui(ui, |ui| {
            for &c in IndexKind::IN_APP {
                ui.selectable_value(&mut settings.index, c, c.label());
            }
        });
    let mut rebuild = false;
    if settings.index == IndexKind::Dynamic {
        ui.horizontal(|ui| {
            let label = ui.label("Threshold");
            ui.add(
                egui::DragValue::new(&mut settings.threshold)
                    .range(param_spec::THRESHOLD.min..=param_spec::THRESHOLD.max),
            )
            .labelled_by(label.id)
            .on_hover_text(param_spec::THRESHOLD.help);
        });
    }
    if settings.index == IndexKind::Dynamic {
        ui.horizontal(|ui| {
            let running = session.work.crossover_job.is_some();
            if ui
                .add_enabled(session.loaded.is_some() && !running, egui::Button::new("Measure crossover"))
                .on_hover_text("Time a flat scan and HNSW (at the smallest ef reaching the recall target) on growing prefixes of this data, and recommend the size where HNSW starts to win.")
                .clicked()
            {
                commands.push(Command::Crossover);
            }
            if let Some(job) = &session.work.crossover_job {
                ui.label(job.progress().stage);
            }
        });
        ui.add(egui::Slider::new(&mut settings.recall_target, 0.5..=0.999).text("recall target"))
            .on_hover_text(
                "The crossover times HNSW at the smallest ef that reaches this recall@k.",
            );
        if let Some(c) = &session.work.crossover {
            if let Some(t) = c.threshold {
                ui.horizontal(|ui| {
                    ui.label(format!("Measured crossover: {:.0} vectors", t));
                    if ui.small_button("Use it").clicked() {
                        settings.threshold = t.round().max(1.0) as usize;
                    }
                });
            } else {
                ui.label("No crossover within this dataset: flat stays faster.");
            }
        }
    }
    if settings.index.knob() == Some(KnobKind::Ef) {
        let p = &mut settings.hnsw;
        let m = ui
            .add(
                egui::Slider::new(&mut p.m, param_spec::M.usual.0..=param_spec::M.usual.1)
                    .text("M"),
            )
            .on_hover_text(param_spec::M.help);
        rebuild |= m.drag_stopped() || (m.changed() && !m.dragged());
        let efc = ui
            .add(
                egui::Slider::new(
                    &mut p.ef_construction,
                    param_spec::EF_CONSTRUCTION.usual.0..=param_spec::EF_CONSTRUCTION.usual.1,
                )
                .logarithmic(true)
                .text("efConstruction"),
            )
            .on_hover_text(param_spec::EF_CONSTRUCTION.help);
        rebuild |= efc.drag_stopped() || (efc.changed() && !efc.dragged());
    }
    if settings.index.knob() == Some(KnobKind::Ef) && !settings.index.is_engine() {
        let p = &mut settings.hnsw;
        ui.horizontal(|ui| {
            let label = ui.label("Seed");
            ui.add(egui::DragValue::new(&mut p.seed))
                .labelled_by(label.id)
                .on_hover_text(param_spec::SEED_HELP);
        });
        ui.horizontal(|ui| {
            let before = p.storage.build;
            egui::ComboBox::from_label("build reads")
                .selected_text(p.storage.build.name())
                .show_ui(ui, |ui| {
                    for choice in crate::index::hnsw::BuildPrecision::ALL {
                        ui.selectable_value(&mut p.storage.build, choice, choice.name());
                    }
                })
                .response
                .on_hover_text(param_spec::BUILD_PRECISION_HELP);
            rebuild |= p.storage.build != before;
            if p.storage.quantizer.is_none() {
                rebuild |= half_checkbox(
                    ui,
                    &mut p.storage.search,
                    "f16 search",
                    param_spec::SEARCH_PRECISION_HELP,
                )
                .changed();
            }
        });
        let dim = session.loaded.as_ref().map_or(384, |l| l.base.dim());
        let mappable = session
            .loaded
            .as_ref()
            .is_some_and(|l| l.base.vectors().is_mapped());
        rebuild |= storage_ui(
            ui,
            &mut p.storage,
            dim,
            mappable && settings.index == IndexKind::Hnsw,
        );
    }
    if let Some(fields) = family(settings.index).map(|f| f.fields()) {
        let dim = session.loaded.as_ref().map_or(384, |l| l.base.dim());
        let disk = family(settings.index).is_some_and(|f| f.storage_use().disk_vectors)
            && session
                .loaded
                .as_ref()
                .is_some_and(|l| l.base.vectors().is_mapped());
        let kind = settings.index;
        rebuild |= fields_ui(ui, settings.family_spec_mut(kind), fields, dim, disk);
    }
    if settings.index.needs_server() {
        rebuild |= engine_ui(ui, session, settings, commands);
    }
    if settings.index == IndexKind::QdrantHnsw {
        rebuild |= qdrant_ui(ui, settings);
    }
    ui.horizontal(|ui| {
        let label = ui.label("Threads");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ui.add(egui::DragValue::new(&mut settings.build_threads).range(0..=cores))
            .labelled_by(label.id)
            .on_hover_text("Build threads. 0: every core, but one left for the window when there are more than two.");
        if settings.build_threads == 0 {
            ui.label(RichText::new(format!("auto: {}", super::super::session::build_threads())).small());
        }
    });
    let can_build = session.loaded.is_some()
        && (!settings.index.needs_server() || session.work.engine.is_some());
    ui.horizontal(|ui| {
        if ui
            .add_enabled(can_build, egui::Button::new("Build"))
            .clicked()
        {
            commands.push(Command::Build);
        }
        if session.work.build_job.is_some() && ui.button("Cancel").clicked() {
            commands.push(Command::CancelBuild);
        }
    });
    // Releasing the M or efConstruction slider rebuilds, keeping the old index meanwhile.
    if rebuild && can_build && session.current_build().is_some() {
        commands.push(Command::Build);
    }
    if let Some((spec, job)) = &session.work.build_job {
        let p = job.progress();
        ui.add(egui::ProgressBar::new(p.fraction()).text(format!("{}: {}", spec.label(), p.stage)));
        ui.label(format!("Elapsed {:.1} s", job.elapsed().as_secs_f64()));
    }
    if let Some(b) = session.current_build() {
        ui.label(format!(
            "Built: {} in {:.2} s",
            b.index.spec.label(),
            b.index.build_secs
        ));
        let (asked, ran) = (
            b.index.spec.storage().search,
            b.index.ran_as().storage().search,
        );
        if asked != ran {
            ui.label(format!("Walks {} here: this CPU has no {} kernels (AVX-512)", ran.name(), asked.name()))
                .on_hover_text("The search copy in half precision pays only where the CPU converts it as fast as it reads f32; elsewhere the index keeps no copy and walks the f32 vectors, as the memory shows.");
        }
        // As measured at the build or by the latest measurement.
        let mem = b.index.memory;
        match b.index.estimated_bytes {
            _ if b.index.kind() == IndexKind::QdrantHnsw => ui
                .label(format!("Qdrant segments: {}", human_bytes(mem.ram_bytes)))
                .on_hover_text("The shard's segment files as Qdrant wrote them: vectors, HNSW graph, quantized codes and id maps, all held in RAM (nothing configured on disk)."),
            _ if b.index.kind().is_engine() => ui
                .label(format!("Index: {} in the server", human_bytes(mem.ram_bytes)))
                .on_hover_text("The index's size as PostgreSQL reports it (pg_relation_size), not annscope's RAM."),
            Some(est) => ui.label(format!(
                "Memory: {} measured, {} by formula",
                human_bytes(mem.ram_bytes),
                human_bytes(est)
            ))
            .on_hover_text("Measured: the bytes the index holds (never the pages of a mapped file). Formula: n·d·4 for vectors in RAM (4 per vector on disk: a norm), plus n·d·2 for the f16 search copy or the codes and their per-vector factors, plus (2M+1)·4 per node for layer-0 links and the upper layers' share, plus the quantizer's model."),
            None => ui.label(format!("Memory: {} in RAM, measured", human_bytes(mem.ram_bytes)))
                .on_hover_text("Centroids, their HNSW and the per-vector tables; the posting lists are on disk (below)."),
        };
        if mem.disk_bytes > 0 && b.index.posting_lists().is_none() {
            ui.label(format!(
                "f32 vectors on disk: {} file{}",
                human_bytes(mem.disk_bytes),
                mem.mapped_resident_bytes
                    .map_or(String::new(), |r| format!(", {} of it in the page cache", human_bytes(r)))
            ))
            .on_hover_text("Read from the memory-mapped base file only to re-score the last candidates; the page cache keeps what was read (mincore measures it), and the OS may drop it under memory pressure.");
        }
        if let Some(d) = b.index.dynamic() {
            ui.label(match d.state() {
                crate::index::DynamicState::Switched { at } => {
                    format!("State: switched to HNSW at {at} vectors")
                }
                crate::index::DynamicState::BuildingHnsw => {
                    "State: building HNSW in the background".to_string()
                }
                crate::index::DynamicState::Flat => format!(
                    "State: flat ({} vectors, at or below the threshold)",
                    d.len()
                ),
            });
        }
        if let (Some(h), Some(lists)) = (b.index.posting_lists(), &b.index.lists_overview) {
            ui.label(format!(
                "{} posting lists, {:.2} lists per vector, {} on disk",
                h.list_count(),
                lists.mean_replicas,
                human_bytes(mem.disk_bytes)
            ));
            list_size_histogram(ui, &lists.sizes);
        }
        if let (Some(h), Some(graph)) = (b.index.graph(), &b.index.graph_overview) {
            ui.label(format!(
                "{} layers, {:.1} graph bytes per vector, {} unreachable",
                h.layer_count(),
                h.graph_bytes() as f64 / h.len().max(1) as f64,
                graph.unreachable
            ));
        }
    }
}

/// Live vectors per posting list, as a histogram.
pub(super) fn list_size_histogram(ui: &mut Ui, sizes: &[usize]) {
    use egui_plot::{Bar, BarChart, Plot};
    let max = sizes.iter().copied().max().unwrap_or(0).max(1);
    let bins = 24usize;
    let width = max.div_ceil(bins).max(1);
    let mut counts = vec![0usize; max / width + 1];
    for &s in sizes {
        counts[s / width] += 1;
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            Bar::new((i * width) as f64 + width as f64 / 2.0, c as f64).width(width as f64 * 0.9)
        })
        .collect();
    ui.label(RichText::new("Posting-list sizes").small());
    Plot::new("list-sizes")
        .height(90.0)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .x_axis_label("vectors in the list")
        .y_axis_label("lists")
        .show(ui, |p| p.bar_chart(BarChart::new("lists", bars)));
}
