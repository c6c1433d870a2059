//! The Tune panel and the first minute, driven by widget labels: Run fills
//! the tuner's frontier on the recall–QPS chart and shows the pick with its
//! reason; Apply moves the sliders to the pick and builds it; Copy puts the
//! engine's configuration on the clipboard; a first launch on the sample
//! builds and sweeps without a click.

use std::sync::Arc;

use annscope::app::{sample_request, tuner, AnnscopeApp, Settings};
use annscope::index::{IndexKind, IndexSpec, SearchKnob};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

use super::app::{harness_as_launched, private_cache, ready, step_until};

#[test]
fn a_first_launch_on_the_sample_shows_a_curve_without_a_click() {
    let mut h = harness_as_launched(sample_request(), Settings::default());
    step_until(
        &mut h,
        "a build and a swept curve, untouched",
        20_000,
        |a| {
            a.session.work.builds.len() == 1
                && a.session.work.points.iter().filter(|p| !p.estimate).count() >= 5
        },
    );
    assert_eq!(
        h.state().session.work.builds[0].index.kind(),
        IndexKind::Hnsw
    );
    // The setting turns it off.
    let mut off = harness_as_launched(
        sample_request(),
        Settings {
            sweep_sample_at_start: false,
            ..Settings::default()
        },
    );
    step_until(&mut off, "the sample", 4000, ready);
    for _ in 0..50 {
        off.step();
    }
    assert!(off.state().session.work.builds.is_empty());
}

/// A window tall enough for the whole left panel with a pick shown.
fn tall_harness() -> Harness<'static, AnnscopeApp> {
    private_cache();
    let settings = Settings {
        index: IndexKind::Hnsw,
        sweep_sample_at_start: false,
        ..Settings::default()
    };
    let app = AnnscopeApp::new(settings, Some(sample_request()), Arc::new(|| {}));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 1800.0))
        .build_ui_state(|ui, app: &mut AnnscopeApp| app.frame(ui), app)
}

#[test]
fn run_fills_the_frontier_apply_moves_the_sliders_and_copy_fills_the_clipboard() {
    let mut h = tall_harness();
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_label("Run tuner").click();
    step_until(&mut h, "the tuner's first points", 20_000, |a| {
        !tuner::chart_points(&a.session).is_empty()
    });
    step_until(&mut h, "the tuner's pick", 60_000, |a| {
        a.session
            .work
            .tune
            .as_ref()
            .is_some_and(|t| t.summary.is_some())
    });
    let summary = h
        .state()
        .session
        .work
        .tune
        .as_ref()
        .unwrap()
        .summary
        .clone()
        .unwrap();
    let pick = &summary.pick;
    assert!(pick.met, "{}", pick.reason);
    h.step();
    // The pick and its reason are on screen.
    h.get_by_label(&format!("Pick: {}", pick.label));
    h.get_by_label(&pick.reason);
    // The chart: a frontier, dominated points, the pick ringed.
    let pts = tuner::chart_points(&h.state().session);
    assert!(pts.iter().any(|p| p.2), "a frontier");
    assert!(pts.iter().any(|p| !p.2), "dominated points");
    assert_eq!(pts.iter().filter(|p| p.3).count(), 1, "one pick: {pts:?}");

    // Apply: the sliders move to the pick, and it is built.
    let builds = h.state().session.work.builds.len();
    h.get_by_label("Apply").click();
    step_until(&mut h, "the pick's ef in the settings", 100, |a| {
        a.settings.ef != 32 || a.session.work.build_job.is_some()
    });
    let (IndexSpec::Hnsw(p), SearchKnob::Ef(ef)) = (&pick.spec, pick.knob) else {
        panic!("an HNSW pick on the sample: {}", pick.label);
    };
    let s = &h.state().settings;
    assert_eq!(
        (s.index, s.hnsw.m, s.hnsw.ef_construction, s.ef),
        (IndexKind::Hnsw, p.m, p.ef_construction, ef)
    );
    step_until(&mut h, "the pick built", 20_000, |a| {
        a.session.work.builds.len() > builds
    });

    // Copy for Weaviate and pgvector: the clipboard holds their text.
    // Move the pointer off Apply, whose tooltip would cover the row below.
    h.get_by_label("Tune").hover();
    for _ in 0..20 {
        h.step();
    }
    h.get_by_label("Weaviate").click();
    step_until(&mut h, "the Weaviate text copied", 100, |a| {
        a.last_copied.is_some()
    });
    let copied = h.state().last_copied.clone().expect("copied");
    let v: serde_json::Value = serde_json::from_str(&copied).expect("Weaviate JSON");
    assert_eq!(v["vectorIndexConfig"]["maxConnections"], p.m);
    h.step();
    h.get_by_label("Copied the Weaviate configuration.");
    h.get_by_label("Tune").hover();
    for _ in 0..20 {
        h.step();
    }
    h.get_by_label("pgvector").click();
    step_until(&mut h, "the pgvector text copied", 100, |a| {
        a.last_copied
            .as_deref()
            .is_some_and(|t| t.contains("CREATE INDEX"))
    });
    let sql = h.state().last_copied.clone().unwrap();
    assert!(
        sql.contains(&format!("SET hnsw.ef_search = {ef};")),
        "{sql}"
    );
}
