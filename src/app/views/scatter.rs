//! The Projection tab: every vector at its place on the first two principal
//! axes, coloured by the chosen scheme; hover for id and label, click to
//! select, drag to pan, scroll to zoom.

use egui::{Color32, RichText, Ui};

use super::canvas::nearest;
use super::{colouring, draw_legend, draw_points, node_panel, short_label, ColourBy, ViewState};
use crate::app::session::{QueryPick, Session};
use crate::app::settings::Settings;
use crate::projection::Projection;

/// A line on how much of the data the two axes show, and a warning when little.
pub(super) fn variance_ui(ui: &mut Ui, p: &Projection, n: usize) {
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
    projection: &Projection,
) {
    ui.horizontal(|ui| {
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
    variance_ui(ui, projection, projection.base.len());
    let recall = session
        .current_query_recall(settings.k, settings.knob(), settings.rescoring())
        .cloned();
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
                node_panel(ui, session, view);
            });
        });
    let dark = ui.visuals().dark_mode;
    let Some((response, painter, rect, camera)) = super::canvas(ui, view, "Projection canvas")
    else {
        return;
    };
    let colours = colouring(settings.colour_by, session, settings, dark);
    draw_points(
        &painter,
        rect,
        &camera,
        projection,
        colours.as_ref(),
        view.show_queries,
    );
    if let Some(sel) = view.selected {
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
    let hit_base =
        pointer.and_then(|pos| nearest(&projection.base, &camera, rect, pos, 8.0, |_| true));
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
                    .current_build()
                    .and_then(|bt| bt.index.graph_overview.as_ref())
                    .and_then(|g| g.top_layers.get(b as usize).copied())
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
