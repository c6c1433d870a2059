//! The side panel: messages, the dataset, the index and its build, the
//! live-tuning sliders, and the debug readout. Panels read the session and
//! settings and push [`Command`]s; they never start work themselves.

use egui::{Color32, RichText, Ui};

use super::session::Session;
use super::settings::Settings;
use super::{Command, FrameTimes};
use crate::distance::Metric;
use crate::index::quant::Quantizer;
use crate::index::{param_spec, IndexKind, KnobKind};
use crate::index::{AnnIndex, Precision, VectorPlace};

fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// Errors and notices, each with a way to dismiss it.
pub fn messages_ui(ui: &mut Ui, session: &mut Session) {
    if let Some(err) = session.error.clone() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Error: {err}")).color(Color32::from_rgb(220, 80, 60)));
            if ui.small_button("Dismiss").clicked() {
                session.error = None;
            }
        });
        ui.separator();
    }
    if let Some(note) = session.notice.clone() {
        ui.horizontal_wrapped(|ui| {
            ui.label(note);
            if ui.small_button("OK").clicked() {
                session.notice = None;
            }
        });
        ui.separator();
    }
}

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
        rebuild |= storage_ui(ui, &mut p.storage, dim, mappable, settings.index);
    }
    if settings.index == IndexKind::Hfresh {
        let p = &mut settings.hfresh;
        ui.horizontal(|ui| {
            let label = ui.label("Max posting size");
            let r = ui
                .add(egui::DragValue::new(&mut p.max_posting_size).range(
                    param_spec::MAX_POSTING_SIZE.usual.0..=param_spec::MAX_POSTING_SIZE.usual.1,
                ))
                .labelled_by(label.id)
                .on_hover_text(param_spec::MAX_POSTING_SIZE.help);
            rebuild |= r.drag_stopped() || r.lost_focus();
        });
        p.min_posting_size = (p.max_posting_size / 16).max(1);
        let dim = session.loaded.as_ref().map_or(384, |l| l.base.dim());
        // Lists of codes (the f32 vectors stay in RAM to re-score).
        rebuild |= storage_ui(ui, &mut p.storage, dim, false, settings.index);
        let r = ui
            .add(
                egui::Slider::new(
                    &mut p.replicas,
                    param_spec::REPLICAS.usual.0..=param_spec::REPLICAS.usual.1,
                )
                .text("replicas"),
            )
            .on_hover_text(param_spec::REPLICAS.help);
        rebuild |= r.drag_stopped() || (r.changed() && !r.dragged());
        // Lists of codes hold no vectors to store at half precision.
        let vectors_in_lists = p.storage.quantizer.is_none();
        ui.add_enabled_ui(vectors_in_lists, |ui| {
            rebuild |= half_checkbox(
                ui,
                &mut p.storage.search,
                "f16 postings",
                param_spec::POSTING_PRECISION_HELP,
            )
            .on_disabled_hover_text("The lists hold codes (Quantizer), not vectors.")
            .changed();
        });
        let r = ui
            .add(
                egui::Slider::new(
                    &mut p.epsilon,
                    param_spec::EPSILON.usual.0..=param_spec::EPSILON.usual.1,
                )
                .text("epsilon"),
            )
            .on_hover_text(param_spec::EPSILON.help);
        rebuild |= r.drag_stopped() || (r.changed() && !r.dragged());
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
            ui.label(RichText::new(format!("auto: {}", super::session::build_threads())).small());
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
        let mem = b.index.memory();
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
        if mem.disk_bytes > 0 && b.index.kind() != IndexKind::Hfresh {
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

/// Resident bytes per vector each rung costs at `dim`, and what it buys.
fn rung_help(q: Quantizer, dim: usize) -> String {
    let bytes = q.bytes_per_row(dim);
    match q {
        Quantizer::Pq { m } => format!(
            "{bytes} B per vector: {m} sub-vectors of {} values, each one byte naming one of 256 centroids learnt by k-means. Coarse: re-scoring matters.",
            dim / (m as usize).max(1)
        ),
        Quantizer::Opq { m } => format!(
            "{bytes} B per vector: as pq:{m}, after a rotation learnt on the data (OPQ) that spreads the variance evenly over the sub-vectors. Usually a better ranking than pq:{m} for one {dim} × {dim} product per query."
        ),
        Quantizer::Bq => format!(
            "{bytes} B per vector: one bit per value (its sign after centring), compared by popcount, as Weaviate's and Qdrant's binary quantization. The cheapest walk; needs a large oversample."
        ),
        Quantizer::None => format!(
            "No codes: searches walk the f16 copy ({} B per vector) or the f32 vectors ({} B).",
            dim * 2,
            dim * 4
        ),
        Quantizer::Sq8 => format!(
            "{bytes} B per vector: a byte per value over each dimension's range. Nearly the f32 ranking."
        ),
        Quantizer::Sq4 => format!(
            "{bytes} B per vector: four bits per value. Needs oversample about 2 to re-score its way back to the f32 recall."
        ),
        Quantizer::RaBitQ { bits } => format!(
            "{bytes} B per vector: a random rotation, then {bits} bit(s) per value, with an error bound that skips re-scores that cannot change the answer.{}",
            if bits == 1 { " One bit needs oversample 4 or more." } else { "" }
        ),
    }
}

/// The quantizer the walk reads and where the f32 vectors live. Returns
/// whether either changed (a rebuild).
fn storage_ui(
    ui: &mut Ui,
    storage: &mut crate::index::Storage,
    dim: usize,
    mappable: bool,
    kind: IndexKind,
) -> bool {
    let before = (storage.quantizer, storage.vectors);
    let mut choices = vec![
        Quantizer::None,
        Quantizer::Sq8,
        Quantizer::Sq4,
        Quantizer::RaBitQ { bits: 1 },
        Quantizer::RaBitQ { bits: 4 },
        Quantizer::RaBitQ { bits: 8 },
    ];
    // Product codes of 4 and 8 values per byte, where they divide the dimension.
    for per in [4, 8] {
        if dim.is_multiple_of(per) && dim / per <= usize::from(u16::MAX) {
            let m = (dim / per) as u16;
            choices.extend([Quantizer::Pq { m }, Quantizer::Opq { m }]);
        }
    }
    choices.push(Quantizer::Bq);
    egui::ComboBox::from_label("Quantizer")
        .selected_text(storage.quantizer.to_string())
        .show_ui(ui, |ui| {
            for q in choices {
                ui.selectable_value(&mut storage.quantizer, q, q.to_string())
                    .on_hover_text(rung_help(q, dim));
            }
        })
        .response
        .on_hover_text(format!(
            "{}

Now: {}",
            param_spec::QUANTIZER_HELP,
            rung_help(storage.quantizer, dim)
        ));
    let disk_ok = !storage.quantizer.is_none() && mappable && kind == IndexKind::Hnsw;
    if !disk_ok {
        storage.vectors = VectorPlace::Ram;
    }
    ui.add_enabled_ui(disk_ok, |ui| {
        egui::ComboBox::from_label("f32 vectors")
            .selected_text(match storage.vectors {
                VectorPlace::Ram => "in RAM",
                VectorPlace::Disk => "on disk",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut storage.vectors, VectorPlace::Ram, "in RAM")
                    .on_hover_text(format!("{} B per vector held for re-scoring.", dim * 4));
                ui.selectable_value(&mut storage.vectors, VectorPlace::Disk, "on disk")
                    .on_hover_text("Read from the mapped base file only to re-score: the graph and codes are all the index holds; a re-score may wait for the disk when the file is not cached.");
            })
            .response
            .on_hover_text(param_spec::VECTORS_HELP)
            .on_disabled_hover_text("On disk needs a quantizer (the walk reads the codes), an HNSW index (the dynamic one takes inserts) and a base file of f32 rows (.fvecs, float32 .npy).");
    });
    let mut cache_done = false;
    if storage.vectors == VectorPlace::Disk {
        ui.horizontal(|ui| {
            let label = ui.label("Vector cache");
            let r = ui
                .add(egui::DragValue::new(&mut storage.vector_cache).range(0..=100_000_000))
                .labelled_by(label.id)
                .on_hover_text(format!(
                    "Weaviate's vector cache: keep at most this many full vectors in RAM ({} B each), filled as re-scores read them; when full, all are dropped at once. 0: none (every re-score reads the mapped file, which the OS page cache may hold).",
                    dim * 4
                ));
            // A dragged or typed value rebuilds once done, not on every step.
            cache_done = r.drag_stopped()
                || r.lost_focus()
                || (r.changed() && !r.dragged() && !r.has_focus());
        });
    } else {
        storage.vector_cache = 0;
    }
    before != (storage.quantizer, storage.vectors) || cache_done
}

/// pgvector: the server, loading the data into it, and its build settings.
/// Returns whether a build setting was changed (a rebuild).
fn engine_ui(
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
fn qdrant_ui(ui: &mut Ui, settings: &mut Settings) -> bool {
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
    if settings.index == IndexKind::Hfresh {
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

/// Live vectors per posting list, as a histogram.
fn list_size_histogram(ui: &mut Ui, sizes: &[usize]) {
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

pub fn debug_ui(
    ui: &mut Ui,
    times: &FrameTimes,
    ready_after: Option<f64>,
    ef_response_ms: Option<f64>,
) {
    ui.heading("Debug");
    let (mean, max) = times.summary();
    ui.label(format!(
        "UI frame CPU: mean {mean:.2} ms, max {max:.2} ms (last 240 frames)"
    ));
    ui.label(format!("Worst frame since start: {:.2} ms", times.worst_ms));
    if let Some(s) = ready_after {
        ui.label(format!("Data ready {s:.2} s after start"));
    }
    if let Some(ms) = ef_response_ms {
        ui.label(format!("Last ef/k change to first point: {ms:.0} ms"));
    }
}

/// A checkbox that switches `precision` between f16 (ticked) and f32.
fn half_checkbox(
    ui: &mut egui::Ui,
    precision: &mut Precision,
    label: &str,
    help: &str,
) -> egui::Response {
    let mut half = *precision == Precision::F16;
    let r = ui.checkbox(&mut half, label).on_hover_text(help);
    *precision = if half { Precision::F16 } else { Precision::F32 };
    r
}
