//! The Layer graph tab: one HNSW layer's nodes at their projected places
//! with their links. Upper layers are drawn whole; layer 0 shows the
//! selected node's two-hop neighbourhood, or a sample, never a hairball.
//! Beside it: the layer's node count, degrees, degree histogram and
//! unreachable nodes, and the selected node's links on every layer.

use egui::{Color32, RichText, Stroke, Ui};
use egui_plot::{Bar, BarChart, Plot};

use super::canvas::{cross_out, nearest, PointMesh};
use super::colour::{layer_colour, TOMBSTONE};
use super::{node_panel, short_label, ViewState};
use crate::app::session::Session;
use crate::app::settings::Settings;
use crate::index::hnsw::explain::Reach;
use crate::projection::Projection;

pub(super) fn layers_ui(
    ui: &mut Ui,
    session: &Session,
    _settings: &mut Settings,
    view: &mut ViewState,
    projection: &std::sync::Arc<Projection>,
) {
    let Some(shown) = session.shown_graph() else {
        if session.current_build().is_some() {
            ui.label("The layer graph shows HNSW builds: pick HNSW as the index kind and build.");
        } else {
            ui.label("Build an HNSW index to see its layers.");
        }
        return;
    };
    let graph = shown.overview;
    let build_id = shown.id;
    let stats = &graph.layer_stats;
    let top = stats.len().saturating_sub(1);
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(&mut view.layer, 0..=top).text("Layer"));
        for l in (0..=top).rev() {
            if ui
                .selectable_label(view.layer == l, format!("{l}"))
                .on_hover_text(format!("Show layer {l}"))
                .clicked()
            {
                view.layer = l;
            }
        }
    });
    let key = (build_id, view.layer, view.selected);
    let layer_view = session.work.layer_view.value_for(&key).or_else(|| {
        // Keep the previous drawing of the same build while the new one computes.
        session
            .work
            .layer_view
            .value()
            .filter(|_| session.work.layer_view.is_running())
    });
    if let Some(s) = stats.get(view.layer) {
        let tombstones = match layer_view.filter(|lv| lv.layer == s.layer) {
            Some(lv) if lv.layer_tombstones > 0 => format!(
                " · {} tombstones (crossed out red: searches walk through them)",
                lv.layer_tombstones
            ),
            _ => String::new(),
        };
        ui.label(format!(
            "Layer {}: {} nodes · degree mean {:.1}, min {}, max {} · {} unreachable{tombstones}",
            s.layer, s.nodes, s.mean_degree, s.min_degree, s.max_degree, s.unreachable
        ));
    }
    if let Some(lv) = layer_view {
        let neighbourhood = lv
            .nodes
            .iter()
            .filter(|n| matches!(n.1, Reach::Focus | Reach::OneHop | Reach::TwoHops))
            .count();
        let focus = lv
            .nodes
            .first()
            .filter(|n| n.1 == Reach::Focus)
            .map(|n| n.0);
        let rest = if lv.layer > 0 && lv.nodes.len() == lv.layer_nodes {
            format!(
                "; all {} nodes of the layer shown as points",
                lv.layer_nodes
            )
        } else {
            String::new()
        };
        let what = match (lv.sampled, focus) {
            (None, Some(f)) if neighbourhood > 1 => format!(
                "Drawn: node {f}, its links and their links ({neighbourhood} nodes){rest}"
            ),
            (None, _) if !lv.tombstones.is_empty() => format!(
                "Drawn: the whole layer ({} nodes, {} of them tombstones; {} links)",
                lv.nodes.len(),
                lv.tombstones.len(),
                lv.edges.len()
            ),
            (None, _) => format!(
                "Drawn: the whole layer ({} nodes, {} links)",
                lv.nodes.len(),
                lv.edges.len()
            ),
            (Some(n), _) => format!(
                "Drawn: {n} sampled nodes of {} and their links; select a node to see its neighbourhood{rest}",
                lv.layer_nodes
            ),
        };
        ui.label(RichText::new(what).small());
    }
    egui::Panel::right("layer-side")
        .default_size(300.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                if let Some(s) = stats.get(view.layer) {
                    ui.heading(format!("Degrees on layer {}", s.layer));
                    let bars: Vec<Bar> = s
                        .degree_histogram
                        .iter()
                        .enumerate()
                        .map(|(d, &c)| Bar::new(d as f64, c as f64).width(0.8))
                        .collect();
                    Plot::new(("degree-histogram", s.layer))
                        .height(110.0)
                        .allow_scroll(false)
                        .allow_drag(false)
                        .allow_zoom(false)
                        .x_axis_label("links")
                        .y_axis_label("nodes")
                        .show(ui, |p| {
                            p.bar_chart(BarChart::new("nodes", bars).color(layer_colour(s.layer)))
                        });
                }
                if let Some(lv) = layer_view.filter(|lv| !lv.unreachable.is_empty()) {
                    ui.label(
                        RichText::new(format!(
                            "Unreachable on layer {} (ringed red): {}",
                            lv.layer,
                            lv.unreachable.len()
                        ))
                        .color(Color32::from_rgb(230, 60, 60)),
                    );
                    ui.horizontal_wrapped(|ui| {
                        for &id in lv.unreachable.iter().take(40) {
                            if ui.link(format!("{id}")).clicked() {
                                view.selected = Some(id);
                            }
                        }
                    });
                }
                ui.separator();
                ui.heading("Selection");
                node_panel(ui, session, view);
            });
        });
    let Some((response, painter, rect, camera)) = super::canvas(ui, view, "Layer graph canvas")
    else {
        return;
    };
    let dark = ui.visuals().dark_mode;
    // All vectors faintly, for context.
    super::draw_context(
        ui,
        &painter,
        rect,
        &camera,
        projection,
        dark,
        &mut view.context_layer,
    );
    let Some(lv) = layer_view else {
        if session.work.layer_view.is_running() {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Reading the layer…",
                egui::FontId::proportional(14.0),
                ui.visuals().text_color(),
            );
        }
        return;
    };
    let pos = |id: u32| {
        projection
            .base
            .get(id as usize)
            .map(|&p| camera.to_screen(rect, p))
    };
    let colour = layer_colour(lv.layer.max(1));
    let edge_alpha = if lv.edges.len() > 20_000 {
        25
    } else if lv.edges.len() > 3_000 {
        60
    } else {
        130
    };
    // Around a selection, the second hop is context: keep it faint.
    let around_focus = lv.nodes.iter().any(|n| n.1 == Reach::TwoHops);
    let edge_alpha = if around_focus { 40 } else { edge_alpha };
    let edge_colour =
        Color32::from_rgba_unmultiplied(colour.r(), colour.g(), colour.b(), edge_alpha);
    // Links into tombstones: still walked by searches, drawn in their red.
    let tombstones: std::collections::HashSet<u32> = lv.tombstones.iter().copied().collect();
    let tomb_edge = TOMBSTONE.gamma_multiply(0.45);
    let mut edges = PointMesh::new(rect, lv.edges.len());
    for &(a, b) in &lv.edges {
        if let (Some(pa), Some(pb)) = (pos(a), pos(b)) {
            let focus_edge = view.selected.is_some_and(|f| f == a || f == b);
            if focus_edge {
                edges.add_line(pa, pb, 1.6, Color32::from_rgb(250, 200, 80));
            } else if tombstones.contains(&a) || tombstones.contains(&b) {
                edges.add_line(pa, pb, 0.8, tomb_edge);
            } else {
                edges.add_line(pa, pb, 0.8, edge_colour);
            }
        }
    }
    painter.add(edges.into_shape());
    let mut nodes = PointMesh::new(rect, lv.nodes.len());
    for &(id, reach) in &lv.nodes {
        if tombstones.contains(&id) {
            continue;
        }
        let Some(p) = pos(id) else { continue };
        let (r, c) = match reach {
            Reach::Focus => (5.0, Color32::from_rgb(250, 200, 80)),
            Reach::OneHop => (3.0, Color32::from_rgb(240, 140, 60)),
            Reach::TwoHops => (1.6, colour.gamma_multiply(0.7)),
            Reach::Member => (1.8, colour),
        };
        nodes.add(p, r, c);
    }
    painter.add(nodes.into_shape());
    // Tombstones: deleted, still linked, walked through by searches until
    // a cleanup frees them.
    for p in lv.tombstones.iter().filter_map(|&id| pos(id)) {
        cross_out(&painter, p);
    }
    let entry = session.current_hnsw().map(|(_, h)| h.graph().entry_point());
    if let Some(p) = entry.and_then(pos) {
        painter.circle_stroke(p, 8.0, Stroke::new(2.0, Color32::from_rgb(120, 220, 255)));
        painter.text(
            p + egui::vec2(10.0, -10.0),
            egui::Align2::LEFT_BOTTOM,
            "entry point",
            egui::FontId::proportional(12.0),
            Color32::from_rgb(120, 220, 255),
        );
    }
    // Nodes this layer's links never reach: a search can only find them by
    // luck on a lower layer (or, on layer 0, not at all).
    for p in lv.unreachable.iter().filter_map(|&id| pos(id)) {
        painter.circle_stroke(p, 5.0, Stroke::new(1.5, Color32::from_rgb(230, 60, 60)));
    }
    if let Some(p) = view.selected.and_then(pos) {
        painter.circle_stroke(p, 8.0, Stroke::new(2.0, ui.visuals().strong_text_color()));
    }
    // Hover and click on the drawn nodes only.
    if let Some(pointer) = response.hover_pos() {
        let drawn: std::collections::HashSet<u32> = lv.nodes.iter().map(|n| n.0).collect();
        if let Some(i) = nearest(&projection.base, &camera, rect, pointer, 8.0, |i| {
            drawn.contains(&(i as u32))
        }) {
            let id = i as u32;
            response
                .clone()
                .on_hover_text_at_pointer(format!("node {id}\n{}", short_label(session, id, 120)));
            if response.clicked() {
                view.selected = Some(id);
            }
        }
    }
}
