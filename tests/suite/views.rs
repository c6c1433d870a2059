//! The views inside the index, driven by widget labels (and, on the canvas,
//! by pointer events at a node's place): select a node, switch layers, step
//! through a search path, and check what each view reports.

use annscope::app::{sample_request, AnnscopeApp, ColourBy, Settings, Tab};
use annscope::index::{IndexKind, SearchKnob};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

use super::app::{harness, harness_with, ready, step_until};

/// The sample, built with HNSW, with the projection in.
fn built_sample() -> Harness<'static, AnnscopeApp> {
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample", 4000, ready);
    h.get_by_label("Build").click();
    step_until(&mut h, "the build and its projection", 6000, |a| {
        a.session.current_hnsw().is_some() && a.session.projection.value().is_some()
    });
    h
}

/// Clicks the canvas at base vector `row`'s projected place (hovering
/// first, then placing the click where the settled layout puts the point).
fn click_node(h: &mut Harness<'static, AnnscopeApp>, row: u32) {
    let p = h
        .state()
        .session
        .projection
        .value()
        .expect("projection")
        .base[row as usize];
    let first = h.state().views.screen_pos(p).expect("canvas drawn");
    h.input_mut().events.push(egui::Event::PointerMoved(first));
    h.step();
    h.step();
    let pos = h.state().views.screen_pos(p).expect("canvas drawn");
    h.input_mut().events.push(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
        h.step();
    }
    h.step();
    if h.state().views.selected.is_none() {
        panic!(
            "clicking node {row} at {pos:?} (first {first:?}) selected nothing; canvas {:?}",
            h.state().views.last_canvas
        );
    }
}

/// Steps until the selection panel has `node`'s links, then draws them.
fn wait_for_node_detail(h: &mut Harness<'static, AnnscopeApp>, node: u32) {
    step_until(h, "the node's details", 2000, |a| {
        a.session
            .work
            .node_detail
            .value()
            .is_some_and(|d| d.id == node)
    });
    h.step();
}

#[test]
fn layer_graph_selects_a_node_and_switches_layers() {
    let mut h = built_sample();
    h.get_by_label("Layer graph").click();
    step_until(&mut h, "layer 0's view", 2000, |a| {
        a.session.work.layer_view.value().is_some()
    });
    h.step();
    let stats = h
        .state()
        .session
        .current_build()
        .expect("build")
        .index
        .graph_overview
        .as_ref()
        .expect("graph")
        .layer_stats
        .clone();
    assert!(stats.len() >= 2, "the sample's graph has upper layers");
    h.get_by_label_contains(&format!("Layer 0: {} nodes", stats[0].nodes));
    h.get_by_label_contains("sampled nodes of 4000");

    // Switch to layer 1: drawn whole, with its own count and degrees.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Layer")
        .set_value_accesskit(1.0);
    step_until(&mut h, "layer 1's view", 2000, |a| {
        a.views.layer == 1
            && a.session
                .work
                .layer_view
                .value()
                .is_some_and(|v| v.layer == 1 && !a.session.work.layer_view.is_running())
    });
    h.step();
    let s1 = &stats[1];
    h.get_by_label_contains(&format!(
        "Layer 1: {} nodes · degree mean {:.1}, min {}, max {}",
        s1.nodes, s1.mean_degree, s1.min_degree, s1.max_degree
    ));
    h.get_by_label_contains(&format!("Drawn: the whole layer ({} nodes", s1.nodes));

    // Click a layer-1 node on the canvas: it is selected and its links listed.
    let target = h
        .state()
        .session
        .work
        .layer_view
        .value()
        .expect("view")
        .nodes
        .iter()
        .map(|n| n.0)
        .nth(5)
        .expect("a node on layer 1");
    click_node(&mut h, target);
    let selected = h
        .state()
        .views
        .selected
        .expect("a click on a node selects it");
    // Another layer-1 node may sit on the same pixel; it must be one of them.
    let hnsw = h.state().session.current_hnsw().expect("hnsw").1;
    assert!(hnsw.node_level(selected).expect("live") >= 1);
    wait_for_node_detail(&mut h, selected);
    h.get_by_label_contains(&format!("Node {selected}"));
    let links1 = hnsw.node_links(selected, 1).expect("on layer 1").len();
    let links0 = hnsw.node_links(selected, 0).expect("on layer 0").len();
    h.get_by_label(&format!("Layer 1: {links1} links"));
    h.get_by_label(&format!("Layer 0: {links0} links"));

    // Back to layer 0: now the selected node's neighbourhood, not a sample.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Layer")
        .set_value_accesskit(0.0);
    step_until(&mut h, "layer 0 around the node", 2000, |a| {
        a.session
            .work
            .layer_view
            .value()
            .is_some_and(|v| v.layer == 0 && v.sampled.is_none())
    });
    h.step();
    h.get_by_label_contains(&format!(
        "Drawn: node {selected}, its links and their links"
    ));
    let drawn = h
        .state()
        .session
        .work
        .layer_view
        .value()
        .expect("view")
        .nodes
        .len();
    assert!(drawn > links0 && drawn <= 1 + links0 + links0 * 32);
}

#[test]
fn search_path_steps_through_a_search_and_explains_its_result() {
    let mut h = built_sample();
    // A small ef, so the sample's queries miss some neighbours.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "ef")
        .set_value_accesskit(4.0);
    h.get_by_label("Search path").click();
    step_until(&mut h, "the traced search", 2000, |a| {
        a.settings.view_tab == Tab::SearchPath
            && a.session
                .work
                .search_path
                .value()
                .is_some_and(|p| p.ef == 10)
    });
    h.step();
    let path = h
        .state()
        .session
        .work
        .search_path
        .value()
        .expect("path")
        .clone();
    let n = path.steps.len();
    assert!(n > 3, "a search of a few steps at least");
    h.get_by_label_contains(&format!("Step 1 of {n} · layer {}", path.steps[0].layer));
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Step")
        .click();
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Step")
        .click();
    h.step();
    h.step();
    let third = path.step(2).expect("step 3");
    h.get_by_label_contains(&format!(
        "Step 3 of {n} · layer {} · expanding node {} ",
        path.steps[2].layer, third.expanded
    ));
    assert_eq!(h.state().views.playback.step, 2);
    h.get_by_label("Back").click();
    h.step();
    assert_eq!(h.state().views.playback.step, 1);
    // The end: recall, the side-by-side lists and the misses explained.
    h.get_by_label("End").click();
    h.step();
    h.step();
    h.get_by_label_contains(&format!("done: recall {:.2}", path.recall()));
    h.get_by_label(&format!("Approximate vs exact top-{}", path.k));
    let misses = path.misses().count();
    if misses == 0 {
        h.get_by_label_contains("true neighbours found");
    } else {
        h.get_by_label(&format!("Why {misses} true neighbours were missed"));
        let first = path.misses().next().expect("a miss");
        let reason = first.reason.expect("a reason").describe();
        assert!(h.get_all_by_label_contains(reason).count() >= 1);
    }
    // Another query retraces.
    h.get_by_label("Next").click();
    step_until(&mut h, "query 1's trace", 2000, |a| {
        a.session
            .work
            .search_path
            .value()
            .is_some_and(|p| p.trace.result.ids != path.trace.result.ids || p.steps.len() != n)
    });
}

#[test]
fn projection_shows_variance_and_selects_by_click() {
    let mut h = built_sample();
    h.get_by_label("Projection").click();
    h.step();
    h.step();
    let p = h
        .state()
        .session
        .projection
        .value()
        .expect("projection")
        .clone();
    h.get_by_label_contains(&format!(
        "= {:.1}% of the variance (fitted on 4000 of 4000 vectors;",
        p.explained_total() * 100.0
    ));
    // 384-d sentence embeddings: two axes show little, and the view says so.
    h.get_by_label_contains("Low variance explained");
    // Find a base point with no other point (or query) near it, then click it.
    let (rect, cam) = h.state().views.last_canvas.expect("canvas");
    let screen: Vec<egui::Pos2> = p.base.iter().map(|&q| cam.to_screen(rect, q)).collect();
    let qscreen: Vec<egui::Pos2> = p.queries.iter().map(|&q| cam.to_screen(rect, q)).collect();
    let lonely = (0..screen.len())
        .find(|&i| {
            rect.shrink(20.0).contains(screen[i])
                && screen
                    .iter()
                    .enumerate()
                    .all(|(j, s)| j == i || (*s - screen[i]).length() > 10.0)
                && qscreen.iter().all(|s| (*s - screen[i]).length() > 10.0)
        })
        .expect("an isolated point") as u32;
    click_node(&mut h, lonely);
    assert_eq!(h.state().views.selected, Some(lonely));
    wait_for_node_detail(&mut h, lonely);
    h.get_by_label(&format!("Node {lonely}"));
    h.get_by_label_contains("Top layer");

    // Colouring queries by recall uses the current setting's per-query recall,
    // whose mean is the recall the Search panel shows.
    step_until(&mut h, "a full measurement at ef 32", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.knob.value() == Some(32) && !p.estimate)
    });
    let app = h.state();
    let point = app
        .session
        .work
        .points
        .iter()
        .find(|p| p.knob.value() == Some(32) && !p.estimate)
        .expect("point");
    let per_query = app
        .session
        .current_query_recall(10, SearchKnob::Ef(32), annscope::index::Rescoring::DEFAULT)
        .expect("per-query recall at the current setting");
    assert_eq!(per_query.len(), 200);
    let mean = per_query.iter().map(|&r| r as f64).sum::<f64>() / 200.0;
    assert!(
        (mean - point.op.recall).abs() < 1e-6,
        "{mean} vs {}",
        point.op.recall
    );
    assert!(app
        .session
        .current_query_recall(10, SearchKnob::Ef(33), annscope::index::Rescoring::DEFAULT)
        .is_none());
}

#[test]
fn hfresh_builds_shows_its_lists_and_tunes_search_probe() {
    let settings = Settings {
        index: IndexKind::Hfresh,
        search_probe: 16,
        ..Settings::default()
    };
    let mut h = harness_with(sample_request(), settings);
    step_until(&mut h, "the sample", 4000, ready);
    h.get_by_label("Build").click();
    step_until(&mut h, "the HFresh build and a full point", 6000, |a| {
        a.session
            .current_build()
            .is_some_and(|b| b.index.posting_lists().is_some())
            && a.session
                .work
                .points
                .iter()
                .any(|p| p.knob.value() == Some(16) && !p.estimate)
    });
    h.step();
    let (lists, sizes) = {
        let b = h.state().session.current_build().expect("build");
        let hf = b.index.posting_lists().expect("hfresh");
        let overview = b.index.lists_overview.as_ref().expect("lists");
        (hf.list_count(), overview.sizes.clone())
    };
    assert_eq!(sizes.len(), lists);
    h.get_by_label_contains(&format!("{lists} posting lists,"));
    h.get_by_label("Posting-list sizes");
    // The knob is search_probe, in the panel and in the charts.
    h.get_by_label_contains("Recall@10 against search_probe");
    let at_16 = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| p.knob.value() == Some(16) && !p.estimate)
        .map(|p| p.op.recall)
        .expect("point at 16");
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "search_probe")
        .set_value_accesskit(2.0);
    step_until(&mut h, "a full point at search_probe 2", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.knob.value() == Some(2) && !p.estimate)
    });
    let at_2 = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| p.knob.value() == Some(2) && !p.estimate)
        .map(|p| p.op.recall)
        .expect("point at 2");
    assert!(
        at_2 < at_16,
        "probing 2 lists ({at_2}) must find less than 16 ({at_16})"
    );
    assert_eq!(
        h.state()
            .session
            .work
            .points
            .iter()
            .find(|p| p.knob.value() == Some(2))
            .map(|p| p.op.params.get("search_probe").cloned()),
        Some(Some(serde_json::json!(2))),
        "the point records search_probe, not ef"
    );
    // Colour the projection by posting list: every vector has a list.
    h.get_by_label("Projection").click();
    h.state_mut().settings.colour_by = ColourBy::PostingList;
    step_until(&mut h, "the projection", 4000, |a| {
        a.settings.view_tab == Tab::Projection && a.session.projection.value().is_some()
    });
    h.step();
    let b = h.state().session.current_build().expect("build");
    let primary_list = &b.index.lists_overview.as_ref().expect("lists").primary_list;
    assert_eq!(primary_list.len(), 4000);
    assert!(primary_list.iter().all(|&l| l != u32::MAX));
    h.get_by_label_contains("PCA axes show");
}

/// UMAP replaces PCA when ready and says how much it keeps; typing in the
/// label search highlights the matches and selects the best; a selection
/// gets lines to its true neighbours and the index's answer.
#[test]
fn umap_layout_label_search_and_neighbour_lines() {
    let mut h = built_sample();
    h.get_by_label("Projection").click();
    h.step();
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Layout")
        .click();
    h.run_steps(4);
    h.get_by_label("UMAP").click();
    // Cancel while it runs: PCA stays, nothing is left running.
    step_until(&mut h, "UMAP's progress", 200, |a| {
        a.session.projection.is_running()
    });
    h.step();
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    assert!(!h.state().session.projection.is_running());
    assert_eq!(
        h.state().settings.projection_method,
        annscope::projection::Method::Pca
    );
    assert_eq!(
        h.state().session.projection.value().map(|p| p.method),
        Some(annscope::projection::Method::Pca)
    );
    // And again, to the end.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Layout")
        .click();
    h.run_steps(4);
    h.get_by_label("UMAP").click();
    step_until(&mut h, "the UMAP layout", 20_000, |a| {
        a.session
            .projection
            .value()
            .is_some_and(|p| p.method == annscope::projection::Method::Umap)
    });
    h.step();
    let p = h.state().session.projection.value().expect("umap").clone();
    let kept = p.kept.as_ref().expect("neighbours kept measured");
    // UMAP keeps ~0.20 of the sample's neighbours, PCA ~0.016.
    assert!(kept.mean > 0.15, "{}", kept.mean);
    assert_eq!(kept.per_point.as_ref().map(Vec::len), Some(4000));
    h.get_by_label_contains("UMAP of 4000 vectors");
    h.get_by_label_contains(&format!("Neighbours kept: {:.3}", kept.mean));

    // The label search: every match holds the text, the best is selected.
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Search labels")
        .focus();
    h.run_steps(4);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Search labels")
        .type_text("NumPy");
    step_until(&mut h, "the label search's matches", 2000, |a| {
        !a.views.search_hits.is_empty()
    });
    h.step();
    let hits = h.state().views.search_hits.clone();
    assert!(hits.len() >= 5, "{hits:?}");
    let base = h
        .state()
        .session
        .loaded
        .as_ref()
        .expect("data")
        .base
        .clone();
    for &i in hits.iter() {
        let l = base.label(i as usize).expect("label").to_lowercase();
        assert!(l.contains("numpy"), "{l}");
    }
    assert_eq!(h.state().views.selected, Some(hits[0]));
    h.get_by_label(&format!("{} matches", hits.len()));

    // The selection's neighbour lines: its 10 true neighbours, and the
    // build's answer compared on screen.
    let sel = hits[0];
    step_until(&mut h, "the selection's neighbours", 4000, |a| {
        a.session.work.neighbours.value().is_some()
            && a.session
                .work
                .neighbours
                .asked()
                .is_some_and(|k| k.2 == sel)
            && !a.session.work.neighbours.is_running()
    });
    h.step();
    let n = h
        .state()
        .session
        .work
        .neighbours
        .value()
        .expect("n")
        .clone();
    assert_eq!(n.exact.len(), 10);
    assert!(!n.exact.contains(&sel));
    let found = n.found.as_ref().expect("the build's answer");
    assert_eq!(found.len(), 10);
    let missed = n.exact.iter().filter(|e| !found.contains(e)).count();
    if missed == 0 {
        h.get_by_label("The index returns all 10 true neighbours.");
    } else {
        h.get_by_label(&format!(
            "The index misses {missed} of the 10 true neighbours."
        ));
    }
}
