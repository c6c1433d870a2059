//! The Projection tab: every vector at its place on the plane (PCA at once,
//! UMAP from the index's neighbour graph when asked and ready), coloured by
//! the chosen scheme, with how far the picture can be believed (neighbours
//! kept); search the labels, hover for id and label, click to select (lines
//! to its true neighbours and to what the index returns), drag to pan,
//! scroll to zoom.

use egui::{Color32, RichText, Ui};

use super::canvas::nearest;
use super::{colouring, draw_legend, draw_points, node_panel, short_label, ColourBy, ViewState};
use crate::app::session::{QueryPick, Session};
use crate::app::settings::Settings;
use crate::projection::{Method, Projection};

/// What the picture is and how far it can be believed: PCA's variance
/// (warned when little), UMAP's graph and time, neighbours kept.
pub(super) fn variance_ui(ui: &mut Ui, p: &Projection, n: usize) {
    if p.method == Method::Umap {
        let (source, graph_s) = p.graph.clone().unwrap_or_default();
        let graph = if source == "exact" {
            "the exact 15-neighbour graph".to_string()
        } else {
            format!("the 15-neighbour graph of {source}")
        };
        let start = p.start.map_or("", |s| match s {
            crate::projection::umap::Init::Spectral => "spectral start",
            crate::projection::umap::Init::Pca => "PCA start",
        });
        ui.label(
            RichText::new(format!(
                "UMAP of {n} vectors ({start}) from {graph}; {:.1} s, of which the graph {graph_s:.1} s",
                p.seconds
            ))
            .small(),
        );
    } else {
        pca_line(ui, p, n);
    }
    if let Some(k) = &p.kept {
        let recall = k.graph_recall.map_or(String::new(), |r| {
            format!(" · the graph's recall@10 {r:.3}")
        });
        ui.label(
            RichText::new(format!(
                "Neighbours kept: {:.3} of each point's 10 nearest are among its 10 nearest here (exact, on {} points){recall}",
                k.mean, k.sample
            ))
            .small(),
        )
        .on_hover_text("neighbours_kept_10: colour by \"neighbours kept\" to see where the picture can be believed (each point against the graph).");
    }
}

fn pca_line(ui: &mut Ui, p: &Projection, n: usize) {
    let text = format!(
        "PCA axes show {:.1}% + {:.1}% = {:.1}% of the variance (fitted on {} of {} vectors; {:.2} s)",
        p.explained_axes()[0] * 100.0,
        p.explained_axes()[1] * 100.0,
        p.explained_total() * 100.0,
        p.fitted_on,
        n,
        p.seconds
    );
    ui.label(RichText::new(text).small());
    if p.is_misleading() {
        ui.label(
            RichText::new("Low variance explained: points close here may be far apart in the index's space, and neighbours may look far apart.")
                .small()
                .color(Color32::from_rgb(230, 160, 40)),
        );
    }
}

pub(super) fn projection_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    view: &mut ViewState,
    projection: &std::sync::Arc<Projection>,
) {
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("Layout")
            .selected_text(settings.projection_method.label())
            .show_ui(ui, |ui| {
                for m in Method::ALL {
                    ui.selectable_value(&mut settings.projection_method, m, m.label())
                        .on_hover_text(match m {
                            Method::Pca => "The first two principal axes: at once, linear, honest about how little two axes hold.",
                            Method::Umap => "UMAP on the 15-nearest-neighbour graph from the index on screen (exact scan without one): keeps neighbourhoods; takes a while, PCA stays until it is ready.",
                        });
                }
            });
        egui::ComboBox::from_label("Colour by")
            .selected_text(settings.colour_by.label())
            .show_ui(ui, |ui| {
                for c in ColourBy::ALL {
                    ui.selectable_value(&mut settings.colour_by, c, c.label());
                }
            });
        ui.checkbox(&mut view.show_queries, "Show queries");
        if ui.button("Reset view").clicked() {
            if let Some(c) = &mut view.camera {
                c.reset();
            }
        }
        ui.label(RichText::new("drag to pan · scroll to zoom · double-click to reset").small());
    });
    search_ui(ui, session, view);
    if let Some(p) = session.projection.progress() {
        ui.horizontal(|ui| {
            ui.spinner();
            // Before the text, whose width changes as it counts: a button
            // after it would move under the pointer.
            if ui
                .small_button("Cancel")
                .on_hover_text("Stop computing this layout and keep the one on screen.")
                .clicked()
            {
                view.cancel_projection = true;
                // Back to what is on screen, or the next request starts it again.
                settings.projection_method = projection.method;
            }
            ui.label(format!("Projecting: {} {}/{}", p.stage, p.done, p.total));
        });
    } else if projection.method != settings.projection_method {
        ui.label(
            RichText::new(format!(
                "{} is being prepared…",
                settings.projection_method.label()
            ))
            .small(),
        );
    }
    variance_ui(ui, projection, projection.base.len());
    if settings.colour_by == ColourBy::NeighboursKept
        && projection
            .kept
            .as_ref()
            .is_none_or(|k| k.per_point.is_none())
    {
        ui.label(RichText::new("Measuring each point's neighbours kept…").small());
    }
    let recall = session
        .current_query_recall(settings.k, settings.knob(), settings.rescoring())
        .cloned();
    if settings.colour_by == ColourBy::MotionState && session.work.motion_shot.is_none() {
        ui.label(
            RichText::new(
                "Motion state colours a Motion run's rows: in the Motion tab, play or write by hand, then Show in the views.",
            )
            .small(),
        );
    }
    if settings.colour_by == ColourBy::QueryRecall && recall.is_none() {
        ui.label(
            RichText::new(
                "Query recall appears once the current setting is measured on every query.",
            )
            .small(),
        );
    }
    egui::Panel::right("projection-node")
        .default_size(300.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Selection");
                if let Some(sel) = view.selected {
                    ui.label(RichText::new("Nearest 10, drawn from the point:").small());
                    neighbour_lines_legend(ui, session, sel);
                    ui.separator();
                }
                node_panel(ui, session, view);
            });
        });
    if let Some(c) = view.center_on.take() {
        if let (Some(cam), Some(&p)) = (&mut view.camera, projection.base.get(c as usize)) {
            cam.center = p;
            cam.zoom = cam.zoom.max(3.0);
        }
    }
    let dark = ui.visuals().dark_mode;
    let Some((response, painter, rect, camera)) = super::canvas(ui, view, "Projection canvas")
    else {
        return;
    };
    let colours = colouring(settings.colour_by, session, settings, projection, dark);
    // The colouring's identity: what its colours depend on.
    let colour_key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            settings.colour_by,
            std::sync::Arc::as_ptr(projection) as usize,
            session.work.current,
            session.work.motion_shot.as_ref().map(|s| s.id),
            dark,
        )
            .hash(&mut h);
        h.finish()
    };
    draw_points(
        ui,
        &painter,
        rect,
        &camera,
        projection,
        colours.as_ref(),
        colour_key,
        view.show_queries,
        &mut view.scatter_layer,
    );
    draw_search_hits(&painter, rect, &camera, projection, &view.search_hits);
    if let Some(sel) = view.selected {
        draw_neighbour_lines(&painter, rect, &camera, projection, session, settings, sel);
        if let Some(&p) = projection.base.get(sel as usize) {
            let at = camera.to_screen(rect, p);
            painter.circle_stroke(
                at,
                7.0,
                egui::Stroke::new(2.0, ui.visuals().strong_text_color()),
            );
        }
    }
    draw_legend(&painter, rect, &colours.legend(), ui);
    // Hover and click: the nearest base point or query within reach.
    let pointer = response.hover_pos();
    // Through the plane's grid: a scan of a million points per frame would
    // cost milliseconds.
    let hit_base = pointer.and_then(|pos| {
        let at = camera.to_world(rect, pos);
        let edge = camera.to_world(rect, pos + egui::vec2(8.0, 0.0));
        projection
            .grid
            .nearest_within(at, (edge[0] - at[0]).abs())
            .map(|i| i as usize)
    });
    let hit_query = if view.show_queries {
        pointer.and_then(|pos| nearest(&projection.queries, &camera, rect, pos, 8.0, |_| true))
    } else {
        None
    };
    // A query wins a tie: it is drawn on top.
    let hit = match (hit_query, hit_base) {
        (Some(q), _) => Some(QueryPick::Query(q)),
        (None, Some(b)) => Some(QueryPick::Base(b as u32)),
        _ => None,
    };
    if let Some(h) = hit {
        let text = match h {
            QueryPick::Base(b) => {
                let layer = session
                    .shown_graph()
                    .and_then(|g| g.overview.top_layers.get(b as usize).copied())
                    .filter(|&l| l != u8::MAX)
                    .map_or(String::new(), |l| format!(" · top layer {l}"));
                format!("vector {b}{layer}\n{}", short_label(session, b, 120))
            }
            QueryPick::Query(q) => {
                let recall = recall
                    .as_ref()
                    .and_then(|r| r.get(q).copied())
                    .map_or(String::new(), |r| format!(" · recall {r:.2}"));
                format!("query {q}{recall}")
            }
        };
        response.clone().on_hover_text_at_pointer(text);
        if response.clicked() {
            match h {
                QueryPick::Base(b) => view.selected = Some(b),
                QueryPick::Query(_) => view.query = h,
            }
        }
    }
}

/// The label search: typing finds the matching labels (substring, any
/// case), highlights them and selects and centres the best.
fn search_ui(ui: &mut Ui, session: &Session, view: &mut ViewState) {
    if session
        .loaded
        .as_ref()
        .is_none_or(|l| l.base.labels().is_none())
    {
        return;
    }
    ui.horizontal(|ui| {
        let label = ui.label("Search labels");
        ui.add(
            egui::TextEdit::singleline(&mut view.search)
                .hint_text("e.g. numpy")
                .desired_width(220.0),
        )
        .labelled_by(label.id)
        .on_hover_text("Case-insensitive substring of the labels; the best match (exact, then starting with it, then shortest) is selected and centred.");
        if view.search.trim().is_empty() {
            view.search_hits = Default::default();
            view.searched_for.clear();
        } else if view.search != view.searched_for {
            // The matches arrive from a job; a new answer selects its best.
            if let Some(hits) = session.work.label_search.value_for(&view.search) {
                view.searched_for = view.search.clone();
                view.search_hits = hits.clone();
                if let Some(&best) = view.search_hits.first() {
                    view.selected = Some(best);
                    view.center_on = Some(best);
                }
            }
        }
        if !view.search.trim().is_empty() && view.search == view.searched_for {
            let n = view.search_hits.len();
            ui.label(match n {
                0 => "no match".to_string(),
                1 => "1 match".to_string(),
                n => format!("{n} matches"),
            });
        }
    });
}

/// The search's matches, ringed on top of the points.
fn draw_search_hits(
    painter: &egui::Painter,
    rect: egui::Rect,
    camera: &super::Camera,
    projection: &Projection,
    hits: &[u32],
) {
    let colour = Color32::from_rgb(255, 200, 40);
    for &i in hits.iter().take(5_000) {
        if let Some(&p) = projection.base.get(i as usize) {
            let at = camera.to_screen(rect, p);
            if rect.contains(at) {
                painter.circle_stroke(at, 4.5, egui::Stroke::new(1.5, colour));
            }
        }
    }
}

/// Colours of the selection's neighbour lines.
const FOUND: Color32 = Color32::from_rgb(60, 200, 90);
const MISSED: Color32 = Color32::from_rgb(230, 60, 60);
const WRONG: Color32 = Color32::from_rgb(80, 150, 240);

/// Lines from the selected point to its 10 true nearest neighbours (green
/// when the index found them, red when it missed them) and to what the
/// index returned that is not among them (blue), so a miss shows in place.
fn draw_neighbour_lines(
    painter: &egui::Painter,
    rect: egui::Rect,
    camera: &super::Camera,
    projection: &Projection,
    session: &Session,
    settings: &Settings,
    selected: u32,
) {
    let Some(n) = session.work.neighbours.value() else {
        return;
    };
    let asked = session.work.neighbours.asked();
    if asked.is_none_or(|k| k.2 != selected || k.4 != settings.knob()) {
        return;
    }
    let Some(&from) = projection.base.get(selected as usize) else {
        return;
    };
    let from = camera.to_screen(rect, from);
    let line = |to: u32, colour: Color32| {
        if let Some(&p) = projection.base.get(to as usize) {
            painter.line_segment(
                [from, camera.to_screen(rect, p)],
                egui::Stroke::new(1.5, colour),
            );
        }
    };
    for &e in &n.exact {
        let found = n.found.as_ref().is_none_or(|f| f.contains(&e));
        line(e, if found { FOUND } else { MISSED });
    }
    if let Some(found) = &n.found {
        for &f in found.iter().filter(|f| !n.exact.contains(f)) {
            line(f, WRONG);
        }
    }
}

/// The legend of the neighbour lines, under the selection's heading.
pub(super) fn neighbour_lines_legend(ui: &mut Ui, session: &Session, selected: u32) {
    let Some(n) = session.work.neighbours.value() else {
        return;
    };
    if session
        .work
        .neighbours
        .asked()
        .is_none_or(|k| k.2 != selected)
    {
        return;
    }
    let missed = n
        .found
        .as_ref()
        .map(|f| n.exact.iter().filter(|e| !f.contains(e)).count());
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(FOUND, "— found");
        ui.colored_label(MISSED, "— missed");
        ui.colored_label(WRONG, "— returned instead");
    });
    ui.label(match missed {
        Some(0) => format!("The index returns all {} true neighbours.", n.exact.len()),
        Some(m) => format!(
            "The index misses {m} of the {} true neighbours.",
            n.exact.len()
        ),
        None => "Build an index to compare its answer.".into(),
    });
}
