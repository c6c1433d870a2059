//! The Tune panel and the first minute, driven by widget labels: Run fills
//! the tuner's frontier on the recall–QPS chart and shows the pick with its
//! reason; Apply moves the sliders to the pick and builds it; Copy puts the
//! engine's configuration on the clipboard; a first launch on the sample
//! builds and sweeps without a click.

use std::sync::Arc;

use annscope::app::{sample_request, tuner, AnnscopeApp, Settings};
use annscope::index::{IndexKind, IndexSpec, SearchKnob};
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;

use super::app::{click_until, harness_as_launched, private_cache, ready, step_until};

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
    assert!(pts.iter().any(|p| p.frontier), "a frontier");
    assert!(pts.iter().any(|p| !p.frontier), "dominated points");
    assert_eq!(
        pts.iter().filter(|p| p.pick).count(),
        1,
        "one pick: {pts:?}"
    );

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
    click_until(&mut h, "Weaviate", "the Weaviate text copied", |a| {
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
    click_until(&mut h, "pgvector", "the pgvector text copied", |a| {
        a.last_copied
            .as_deref()
            .is_some_and(|t| t.contains("CREATE INDEX"))
    });
    let sql = h.state().last_copied.clone().unwrap();
    assert!(
        sql.contains(&format!("SET hnsw.ef_search = {ef};")),
        "{sql}"
    );
    // Copy for hnswlib: a script that measures its own recall, against the
    // app's ground truth written as .ivecs (200 queries × k 10).
    h.get_by_label("Tune").hover();
    for _ in 0..20 {
        h.step();
    }
    click_until(&mut h, "hnswlib", "the hnswlib script copied", |a| {
        a.last_copied
            .as_deref()
            .is_some_and(|t| t.contains("import hnswlib"))
    });
    let script = h.state().last_copied.clone().expect("copied");
    let truth = script
        .lines()
        .find_map(|l| l.strip_prefix("truth_path = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("a ground-truth path in the script: {script}"));
    let rows = annscope::dataset::read_ivecs(std::path::Path::new(truth)).expect("its .ivecs");
    assert_eq!((rows.n, rows.k), (200, 10));

    // Check on pgvector: the pick's build made in the table the pgvector
    // section loaded, pgvector's own least ef_search found there and shown
    // beside annscope's, and Copy for pgvector then carrying pgvector's ef.
    let Some((url, dir)) = super::pgvector::own_server("app-tune-check") else {
        return;
    };
    check_on_pgvector(&mut h, &url);
    drop(h);
    super::pgvector::stop_server(&dir);
}

fn check_on_pgvector(h: &mut Harness<'static, AnnscopeApp>, url: &str) {
    let (without, password) = {
        let (head, host) = url.split_once('@').expect("user@host");
        let (user, pw) = head.rsplit_once(':').expect("user:password");
        (format!("{user}@{host}"), pw.to_string())
    };
    // No server given: nothing to check on.
    h.state_mut().settings.engine_url.clear();
    h.step();
    assert!(
        h.get_by_label("Check on pgvector")
            .accesskit_node()
            .is_disabled(),
        "no server to check on"
    );
    // The pgvector section (shown with pgvector's kind chosen): the data
    // loaded and pgvector's own build made there, which the check must
    // leave alone.
    let s = &mut h.state_mut().settings;
    (s.index, s.engine_url, s.engine_password) = (IndexKind::PgvectorHnsw, without, password);
    h.step();
    h.get_by_label("Connect and load").click();
    step_until(h, "the sample loaded into PostgreSQL", 4000, |a| {
        a.session.work.engine.is_some()
    });
    let builds = h.state().session.work.builds.len();
    h.get_by_label("Build").click();
    step_until(h, "pgvector's build in the section's table", 4000, |a| {
        a.session.work.builds.len() > builds
    });
    h.step();
    h.get_by_label("Check on pgvector").click();
    step_until(h, "the check on pgvector", 20_000, |a| {
        a.session
            .work
            .tune
            .as_ref()
            .is_some_and(|t| t.check.is_some())
            || a.session.error.is_some()
    });
    assert!(
        h.state().session.error.is_none(),
        "{:?}",
        h.state().session.error
    );
    let run = h.state().session.work.tune.as_ref().expect("a tuner run");
    let (check, pick) = (
        run.check.clone().expect("the check"),
        run.summary.as_ref().expect("the summary").pick.clone(),
    );
    assert!(check.met, "{check:?}");
    assert_eq!(Some(check.annscope_ef), pick.knob.value());
    let IndexSpec::Hnsw(p) = &pick.spec else {
        panic!("an HNSW pick: {}", pick.label);
    };
    assert_eq!(check.params["m"].as_u64(), Some(p.m as u64));
    assert_eq!(check.params["ef_search"].as_u64(), Some(check.ef as u64));
    // The engine's points went where the tuner's go.
    assert!(run
        .points()
        .iter()
        .any(|q| q.phase == annscope::tune::Phase::Engine));
    h.step();
    assert!(
        h.get_all_by_label_contains(&format!(
            "ef_search {} (annscope's ef {})",
            check.ef, check.annscope_ef
        ))
        .count()
            == 1,
        "the result on screen"
    );
    h.get_by_label("Tune").hover();
    for _ in 0..20 {
        h.step();
    }
    h.get_by_label("pgvector").click();
    step_until(h, "the pgvector text copied", 2000, |a| {
        a.last_copied
            .as_deref()
            .is_some_and(|t| t.contains("CREATE INDEX"))
    });
    let sql = h.state().last_copied.clone().expect("copied");
    assert!(
        sql.contains(&format!("SET hnsw.ef_search = {};", check.ef)),
        "{sql}"
    );
    h.step();
    assert!(
        h.get_all_by_label_contains("checked on pgvector").count() == 1,
        "the copy's note says it was checked there"
    );
    // The section's own pgvector build still answers: the check used a
    // table of its own.
    let a = h.state();
    let built = a.session.work.builds.last().expect("pgvector's build");
    assert_eq!(built.index.kind(), IndexKind::PgvectorHnsw);
    let query = a
        .session
        .loaded
        .as_ref()
        .expect("the sample")
        .queries
        .row(0)
        .to_vec();
    built
        .index
        .search(&query, &annscope::index::SearchParams::new(10))
        .expect("the section's pgvector index, untouched by the check");
}
