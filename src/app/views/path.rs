//! The Search path tab: one query's search replayed step by step. The
//! greedy descent through the upper layers, then the layer-0 expansion;
//! play, pause, step and scrub; the nodes seen so far, the node being
//! expanded, the distances it computed and the result list at that step;
//! at the end the results against the exact neighbours, and why each miss
//! was missed.

use egui::{Color32, RichText, Stroke, Ui};

use super::canvas::{cross_out, nearest, PointMesh};
use super::colour::{layer_colour, TOMBSTONE};
use super::{short_label, ViewState};
use crate::app::session::{PathKey, QueryPick, Session};
use crate::app::settings::Settings;
use crate::index::hnsw::explain::{MissReason, SearchPath};
use crate::projection::Projection;

const HIT: Color32 = Color32::from_rgb(60, 200, 90);
const MISS: Color32 = Color32::from_rgb(230, 60, 60);
const WRONG: Color32 = Color32::from_rgb(240, 170, 40);
const CURRENT: Color32 = Color32::from_rgb(250, 200, 80);
const SEEN: Color32 = Color32::from_rgb(80, 150, 240);

pub(super) fn search_path_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    view: &mut ViewState,
    projection: &std::sync::Arc<Projection>,
) {
    let Some((build_id, _)) = session.current_hnsw() else {
        if session.current_build().is_some() {
            ui.label("The search path follows HNSW builds: pick HNSW as the index kind and build.");
        } else {
            ui.label("Build an HNSW index to follow a search.");
        }
        return;
    };
    let nq = projection.queries.len();
    ui.horizontal(|ui| {
        match view.query {
            QueryPick::Query(mut q) => {
                // A query number from the command line or another dataset may be past the end.
                q = q.min(nq.saturating_sub(1));
                let label = ui.label("Query");
                if ui
                    .small_button("Previous")
                    .on_hover_text("Previous query")
                    .clicked()
                {
                    q = q.saturating_sub(1);
                }
                ui.add(egui::DragValue::new(&mut q).range(0..=nq.saturating_sub(1)))
                    .labelled_by(label.id);
                if ui
                    .small_button("Next")
                    .on_hover_text("Next query")
                    .clicked()
                {
                    q = (q + 1).min(nq.saturating_sub(1));
                }
                view.query = QueryPick::Query(q);
            }
            QueryPick::Base(b) => {
                ui.label(format!("Base vector {b} as the query"));
                if ui.small_button("Back to the queries").clicked() {
                    view.query = QueryPick::Query(0);
                }
            }
        }
        if let Some(sel) = view.selected {
            if ui
                .button(format!("Search from node {sel}"))
                .on_hover_text("Use the selected base vector as the query")
                .clicked()
            {
                view.query = QueryPick::Base(sel);
            }
        }
        ui.label(
            RichText::new(format!(
                "k {} · ef {} (set in the Search panel)",
                settings.k, settings.ef
            ))
            .small(),
        );
    });
    let query_text = session.loaded.as_ref().and_then(|l| match view.query {
        QueryPick::Query(q) => l.queries.label(q).map(str::to_string),
        QueryPick::Base(b) => l.base.label(b as usize).map(str::to_string),
    });
    if let Some(text) = query_text {
        ui.label(RichText::new(format!("“{text}”")).italics());
    }
    let key = PathKey {
        build_id,
        pick: view.query,
        k: settings.k,
        knob: settings.knob(),
    };
    let Some(path) = session.work.search_path.value_for(&key).cloned() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Tracing the search…");
        });
        return;
    };
    let last = path.steps.len().saturating_sub(1);
    playback_controls(ui, view, last);
    let s = view.playback.step.min(last);
    let step = path.step(s);
    let at_end = s == last;
    if let (Some(p), Some(st)) = (path.steps.get(s), step) {
        let seen = path.seen_by(s).count();
        ui.label(format!(
            "Step {} of {} · layer {} · expanding node {} (distance {:.4}) · {} distances so far{}",
            s + 1,
            path.steps.len(),
            p.layer,
            st.expanded,
            st.expanded_dist,
            seen,
            if at_end {
                format!(" · done: recall {:.2}", path.recall())
            } else {
                String::new()
            }
        ));
        if !path.tombstones.is_empty() {
            let so_far = path
                .seen_by(s)
                .filter(|id| path.tombstones.binary_search(id).is_ok())
                .count();
            ui.label(
                RichText::new(format!(
                    "Walked through {so_far} tombstones so far ({} in the whole search, crossed out red): deleted nodes still route the search until a cleanup, and are never answered",
                    path.tombstones.len()
                ))
                .color(TOMBSTONE),
            );
        }
        if path.trace.walk == crate::index::Precision::F16 {
            ui.label(
                RichText::new(
                    "This index walks half-precision copies: step distances are within ~0.001 of \
                     the exact ones; the returned list is re-scored exactly.",
                )
                .small(),
            );
        }
    }
    egui::Panel::right("path-side")
        .default_size(360.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                side_panel(ui, session, view, &path, s, at_end);
            });
        });
    let Some((response, painter, rect, camera)) = super::canvas(ui, view, "Search path canvas")
    else {
        return;
    };
    let dark = ui.visuals().dark_mode;
    super::draw_context(
        ui,
        &painter,
        rect,
        &camera,
        projection,
        dark,
        &mut view.context_layer,
    );
    let pos = |id: u32| {
        projection
            .base
            .get(id as usize)
            .map(|&p| camera.to_screen(rect, p))
    };
    // Everything looked at so far.
    let mut seen = PointMesh::new(rect, path.first_seen.len());
    for id in path.seen_by(s) {
        if let Some(p) = pos(id) {
            seen.add(p, 2.0, SEEN);
        }
    }
    painter.add(seen.into_shape());
    for p in path
        .seen_by(s)
        .filter(|id| path.tombstones.binary_search(id).is_ok())
        .filter_map(pos)
    {
        cross_out(&painter, p);
    }
    // The route: each expanded node joined to the next, coloured by layer.
    let mut route = PointMesh::new(rect, s + 1);
    let mut prev: Option<egui::Pos2> = None;
    for i in 0..=s {
        let (Some(ps), Some(st)) = (path.steps.get(i), path.step(i)) else {
            continue;
        };
        if let Some(here) = pos(st.expanded) {
            if let Some(from) = prev {
                route.add_line(from, here, 1.8, layer_colour(ps.layer.max(1)));
            }
            prev = Some(here);
        }
    }
    painter.add(route.into_shape());
    if let Some(st) = step {
        // The distances this step computed: spokes from the expanded node.
        if let Some(from) = pos(st.expanded) {
            let mut spokes = PointMesh::new(rect, st.computed.len());
            for &(id, _) in &st.computed {
                if let Some(to) = pos(id) {
                    spokes.add_line(from, to, 1.0, CURRENT.gamma_multiply(0.6));
                }
            }
            painter.add(spokes.into_shape());
        }
        // The result list at this step.
        if !at_end {
            for &(id, _) in &st.results {
                if let Some(p) = pos(id) {
                    painter.circle_stroke(p, 4.5, Stroke::new(1.5, HIT.gamma_multiply(0.8)));
                }
            }
        }
        if let Some(p) = pos(st.expanded) {
            painter.circle_filled(p, 5.5, CURRENT);
        }
    }
    if at_end {
        let truth: std::collections::HashSet<u32> = path.truth.iter().map(|t| t.id).collect();
        for &id in &path.trace.result.ids {
            if let Some(p) = pos(id) {
                let c = if truth.contains(&id) { HIT } else { WRONG };
                painter.circle_filled(p, 4.5, c);
            }
        }
        for t in path.misses() {
            if let Some(p) = pos(t.id) {
                painter.circle_stroke(p, 6.0, Stroke::new(2.0, MISS));
            }
        }
    }
    // The query itself.
    let qpos = match view.query {
        QueryPick::Query(q) => projection
            .queries
            .get(q)
            .map(|&p| camera.to_screen(rect, p)),
        QueryPick::Base(b) => pos(b),
    };
    if let Some(q) = qpos {
        let d = 7.0;
        let pts = vec![
            q + egui::vec2(0.0, -d),
            q + egui::vec2(d, 0.0),
            q + egui::vec2(0.0, d),
            q + egui::vec2(-d, 0.0),
        ];
        painter.add(egui::Shape::convex_polygon(
            pts,
            Color32::WHITE,
            Stroke::new(1.5, Color32::BLACK),
        ));
    }
    if let Some(entry) = pos(path.trace.entry) {
        painter.text(
            entry + egui::vec2(8.0, -8.0),
            egui::Align2::LEFT_BOTTOM,
            "entry",
            egui::FontId::proportional(12.0),
            Color32::from_rgb(120, 220, 255),
        );
    }
    legend(&painter, rect, ui, at_end);
    // Hover for a node's id and label; click a query to trace it.
    if let Some(pointer) = response.hover_pos() {
        let q_hit = nearest(&projection.queries, &camera, rect, pointer, 6.0, |_| true);
        let seen_ids: std::collections::HashSet<u32> = path.seen_by(s).collect();
        let b_hit = nearest(&projection.base, &camera, rect, pointer, 8.0, |i| {
            seen_ids.contains(&(i as u32))
        });
        if let Some(q) = q_hit {
            response
                .clone()
                .on_hover_text_at_pointer(format!("query {q} (click to trace it)"));
            if response.clicked() {
                view.query = QueryPick::Query(q);
            }
        } else if let Some(b) = b_hit {
            let b = b as u32;
            let d = path
                .first_seen
                .iter()
                .position(|&(id, _)| id == b)
                .map(|i| path.first_seen[i].1);
            response.clone().on_hover_text_at_pointer(format!(
                "node {b}, first seen at step {}\n{}",
                d.map_or("-".into(), |x| (x + 1).to_string()),
                short_label(session, b, 120)
            ));
            if response.clicked() {
                view.selected = Some(b);
            }
        }
    }
}

fn legend(painter: &egui::Painter, rect: egui::Rect, ui: &Ui, at_end: bool) {
    let mut entries = vec![
        ("query".to_string(), Color32::WHITE),
        ("expanding now".to_string(), CURRENT),
        ("distance computed".to_string(), SEEN),
    ];
    if at_end {
        entries.push(("returned, a true neighbour".into(), HIT));
        entries.push(("returned, not a true neighbour".into(), WRONG));
        entries.push(("true neighbour missed".into(), MISS));
    } else {
        entries.push(("in the result list now".into(), HIT));
    }
    super::draw_legend(painter, rect, &entries, ui);
}

/// Play, pause, step, scrub, speed. Advances the step while playing.
fn playback_controls(ui: &mut Ui, view: &mut ViewState, last: usize) {
    let pb = &mut view.playback;
    pb.step = pb.step.min(last);
    ui.horizontal(|ui| {
        if ui.button("Restart").clicked() {
            pb.step = 0;
            pb.playing = false;
        }
        if ui.button("Back").on_hover_text("One step back").clicked() {
            pb.step = pb.step.saturating_sub(1);
            pb.playing = false;
        }
        let play_label = if pb.playing { "Pause" } else { "Play" };
        if ui.button(play_label).clicked() {
            if !pb.playing && pb.step >= last {
                pb.step = 0;
            }
            pb.playing = !pb.playing;
        }
        if ui
            .button("Step")
            .on_hover_text("One step forward")
            .clicked()
        {
            pb.step = (pb.step + 1).min(last);
            pb.playing = false;
        }
        if ui.button("End").clicked() {
            pb.step = last;
            pb.playing = false;
        }
        ui.add(
            egui::Slider::new(&mut pb.speed, 0.5..=60.0)
                .logarithmic(true)
                .text("steps/s"),
        );
    });
    let mut shown = pb.step + 1;
    let scrub = ui.add(
        egui::Slider::new(&mut shown, 1..=last + 1)
            .text("Step")
            .clamping(egui::SliderClamping::Always),
    );
    if scrub.changed() {
        pb.step = shown.saturating_sub(1).min(last);
        pb.playing = false;
    }
    if pb.playing {
        let dt = ui.input(|i| i.stable_dt).min(0.1);
        pb.carry += dt * pb.speed;
        while pb.carry >= 1.0 && pb.step < last {
            pb.carry -= 1.0;
            pb.step += 1;
        }
        if pb.step >= last {
            pb.playing = false;
            pb.carry = 0.0;
        }
        ui.ctx().request_repaint();
    }
}

/// The result list at this step; at the end, approximate against exact
/// top-k side by side, and the misses explained.
fn side_panel(
    ui: &mut Ui,
    session: &Session,
    view: &mut ViewState,
    path: &SearchPath,
    s: usize,
    at_end: bool,
) {
    // At the end the outcome comes first; while stepping, the list being built.
    if at_end {
        outcome(ui, session, view, path, at_end);
        ui.separator();
        result_list(ui, session, path, s);
    } else {
        result_list(ui, session, path, s);
        outcome(ui, session, view, path, at_end);
    }
}

/// The result list (or, on an upper layer, the nearest so far) at step `s`.
fn result_list(ui: &mut Ui, session: &Session, path: &SearchPath, s: usize) {
    if let Some(st) = path.step(s) {
        let layer = path.steps[s].layer;
        ui.heading(if layer == 0 {
            format!("Result list at step {} (ef {})", s + 1, path.ef)
        } else {
            format!("Greedy on layer {layer}: nearest so far")
        });
        egui::Grid::new("path-results")
            .num_columns(3)
            .striped(true)
            .show(ui, |ui| {
                for (rank, &(id, d)) in st.results.iter().enumerate().take(path.ef.min(64)) {
                    ui.label(format!("{}", rank + 1));
                    ui.label(format!("{id}  {d:.4}"));
                    ui.label(short_label(session, id, 40));
                    ui.end_row();
                }
            });
        ui.separator();
    }
}

/// Approximate against exact top-k, and why each miss was missed.
fn outcome(ui: &mut Ui, session: &Session, view: &mut ViewState, path: &SearchPath, at_end: bool) {
    let truth: std::collections::HashSet<u32> = path.truth.iter().map(|t| t.id).collect();
    ui.heading(format!("Approximate vs exact top-{}", path.k));
    if !at_end {
        ui.label(RichText::new("(the search returns this list at the last step)").small());
    }
    // Two equal columns; each entry is two single lines, so rows line up.
    let entry = |ui: &mut Ui, head: String, colour: Color32, id: Option<u32>| {
        ui.add(egui::Label::new(RichText::new(head).color(colour)).truncate());
        let label = id.map_or(String::new(), |id| short_label(session, id, 80));
        ui.add(egui::Label::new(RichText::new(label).small()).truncate());
    };
    ui.columns(2, |cols| {
        cols[0].label(RichText::new("HNSW").strong());
        cols[1].label(RichText::new("Exact").strong());
        let n = path.k.max(path.trace.result.ids.len());
        for i in 0..n {
            match (
                path.trace.result.ids.get(i),
                path.trace.result.distances.get(i),
            ) {
                (Some(&id), Some(&d)) => {
                    let c = if truth.contains(&id) { HIT } else { WRONG };
                    entry(
                        &mut cols[0],
                        format!("{}. {id}  {d:.4}", i + 1),
                        c,
                        Some(id),
                    );
                }
                _ => entry(&mut cols[0], "-".into(), Color32::GRAY, None),
            }
            match path.truth.get(i) {
                Some(t) => {
                    let c = if t.found { HIT } else { MISS };
                    entry(
                        &mut cols[1],
                        format!("{}. {}  {:.4}", i + 1, t.id, t.dist),
                        c,
                        Some(t.id),
                    );
                }
                None => entry(&mut cols[1], "-".into(), Color32::GRAY, None),
            }
        }
    });
    let misses: Vec<_> = path.misses().collect();
    ui.separator();
    if misses.is_empty() {
        ui.label(
            RichText::new(format!("All {} true neighbours found.", path.truth.len())).color(HIT),
        );
    } else {
        ui.heading(format!("Why {} true neighbours were missed", misses.len()));
        for t in misses {
            let reason = t.reason.map_or("", MissReason::describe);
            let via = t.via.map_or(String::new(), |(v, at)| {
                format!(" (node {v}, seen at step {})", at + 1)
            });
            ui.horizontal_wrapped(|ui| {
                if ui
                    .link(format!("{}", t.id))
                    .on_hover_text("Select this node")
                    .clicked()
                {
                    view.selected = Some(t.id);
                }
                ui.label(RichText::new(format!("{reason}{via}")).color(MISS));
            });
        }
    }
}
