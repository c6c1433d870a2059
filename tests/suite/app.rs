//! The desktop app driven by widget labels with egui_kittest: open on the
//! sample, build, move ef and see recall change and a point join the plot;
//! cancel a build; open a malformed file and see the error.

use std::sync::{Arc, Once};
use std::time::Duration;

use annscope::app::{sample_request, AnnscopeApp, LoadRequest, Settings};
use annscope::distance::Metric;
use annscope::index::IndexKind;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;

use crate::common::*;

/// Ground truth goes to a private cache, not the user's.
pub(super) fn private_cache() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("annscope-test-cache-{}", std::process::id()));
        std::env::set_var("ANNSCOPE_CACHE", dir);
    });
}

pub(super) fn harness(request: LoadRequest) -> Harness<'static, AnnscopeApp> {
    harness_with(
        request,
        Settings {
            index: IndexKind::Hnsw,
            ..Settings::default()
        },
    )
}

/// The app as these tests drive it: the first minute's automatic build and
/// sweep of the sample is off (a test of its own turns it on).
pub(super) fn harness_with(
    request: LoadRequest,
    settings: Settings,
) -> Harness<'static, AnnscopeApp> {
    harness_as_launched(
        request,
        Settings {
            sweep_sample_at_start: false,
            ..settings
        },
    )
}

/// The app with `settings` exactly as given.
pub(super) fn harness_as_launched(
    request: LoadRequest,
    settings: Settings,
) -> Harness<'static, AnnscopeApp> {
    private_cache();
    let app = AnnscopeApp::new(settings, Some(request), Arc::new(|| {}));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut AnnscopeApp| app.frame(ui), app)
}

/// Steps frames until `cond` holds, at most `steps` frames (a bound on
/// steps, not on wall-clock time).
pub(super) fn step_until(
    h: &mut Harness<'_, AnnscopeApp>,
    what: &str,
    steps: usize,
    cond: impl Fn(&AnnscopeApp) -> bool,
) {
    for _ in 0..steps {
        h.step();
        if cond(h.state()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "gave up waiting for {what} after {steps} frames; error: {:?}",
        h.state().session.error
    );
}

/// Clicks the widget labelled `label` until `cond` holds: clicked again
/// every 100 frames, at most 10 times. A click lands where the widget was
/// drawn in the last frame; a measurement arriving in between can move the
/// layout under it (seen in CI: a Copy button's click lost while the
/// applied pick was measured).
pub(super) fn click_until(
    h: &mut Harness<'_, AnnscopeApp>,
    label: &str,
    what: &str,
    cond: impl Fn(&AnnscopeApp) -> bool,
) {
    for _ in 0..10 {
        h.get_by_label(label).click();
        for _ in 0..100 {
            h.step();
            if cond(h.state()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    panic!(
        "gave up waiting for {what} after 10 clicks on {label:?}; error: {:?}",
        h.state().session.error
    );
}

pub(super) fn ready(app: &AnnscopeApp) -> bool {
    app.session.loaded.is_some() && app.session.work.gt.is_some()
}

#[test]
fn opens_on_the_sample_builds_and_tunes_ef() {
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_label("pypi-minilm-sample.base.fvecs");
    h.get_by_label("4000");

    h.get_by_label("Build").click();
    step_until(&mut h, "the build and a first measured point", 4000, |a| {
        a.session.work.builds.len() == 1 && a.session.work.points.iter().any(|p| !p.estimate)
    });
    let at_32 = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| p.knob.value() == Some(32) && !p.estimate)
        .map(|p| p.op.recall);
    let at_32 = at_32.expect("a full point at the default ef 32");
    // A full point is timed several times: its QPS is the median run's,
    // inside the interval the charts draw as a bar.
    let full = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| !p.estimate)
        .expect("full")
        .op
        .clone();
    assert_eq!(full.runs, 5);
    let spread = full.qps_spread.expect("a spread");
    assert!(
        spread.lo <= full.qps && full.qps <= spread.hi,
        "{spread:?} {}",
        full.qps
    );
    assert_eq!(full.qps_median, Some(full.qps));
    assert!(full.p99_spread.is_some());
    // Shown in the panel and in the results table.
    assert!(h.get_all_by_label(&format!("{at_32:.4}")).count() >= 2);
    let points_before = h.state().session.work.points.len();

    // Move the ef slider to 10: recall changes and a point joins the plot.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "ef")
        .set_value_accesskit(10.0);
    step_until(&mut h, "a full measurement at ef 10", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.knob.value() == Some(10) && !p.estimate)
    });
    assert_eq!(h.state().settings.ef, 10);
    let at_10 = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| p.knob.value() == Some(10))
        .map(|p| p.op.recall)
        .expect("ef 10");
    assert!(
        h.state().session.work.points.len() > points_before,
        "a point joined the plot"
    );
    assert!(
        at_10 < at_32,
        "recall at ef 10 ({at_10}) should be below ef 32 ({at_32})"
    );
    h.step();
    assert!(h.get_all_by_label(&format!("{at_10:.4}")).count() >= 2);
    // With every panel and chart on screen, let the UI settle: the harness
    // then checks that every widget has an accessible name.
    step_until(&mut h, "idle", 2000, |a| !a.session.busy());
    h.run();
}

#[test]
fn precision_controls_rebuild_with_what_they_name() {
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_label("Build").click();
    step_until(&mut h, "the first build", 4000, |a| {
        a.session.work.builds.len() == 1
    });
    let param = |a: &AnnscopeApp, i: usize, key: &str| {
        a.session.work.builds[i].index.params()[key]
            .as_str()
            .expect(key)
            .to_string()
    };
    // Without AVX-512 every build records f32; with it, the defaults.
    let hardware = param(h.state(), 0, "search_precision") == "f16";
    if hardware {
        assert_eq!(param(h.state(), 0, "build_precision"), "sq8");
    }

    // Untick "f16 search": a rebuild that walks the f32 vectors.
    h.get_by_label("f16 search").click();
    step_until(&mut h, "a rebuild walking f32", 4000, |a| {
        a.session.work.builds.len() == 2
    });
    assert_eq!(param(h.state(), 1, "search_precision"), "f32");

    // Pick f16 in "build reads": a rebuild that reads half-precision copies.
    h.get_by_label("build reads").click();
    h.run();
    h.get_by_label("f16").click();
    step_until(&mut h, "a rebuild from f16", 4000, |a| {
        a.session.work.builds.len() == 3
    });
    assert_eq!(h.state().settings.hnsw.storage.build.name(), "f16");
    let want = if hardware { "f16" } else { "f32" };
    assert_eq!(param(h.state(), 2, "build_precision"), want);
    step_until(&mut h, "idle", 2000, |a| !a.session.busy());
}

#[test]
fn cancel_returns_promptly_and_keeps_the_app_usable() {
    // A dataset big enough that its build is still running when Cancel is clicked.
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("big.fvecs");
    let rows: Vec<Vec<f32>> = annscope::testutil::random_vectors(30_000, 32, 5)
        .chunks(32)
        .map(|c| c.to_vec())
        .collect();
    write_fvecs(&base, &rows);
    let mut h = harness(LoadRequest {
        base,
        queries: None,
        labels: None,
        query_labels: None,
        metric: Metric::L2,
        normalize: false,
        holdout: 50,
    });
    step_until(&mut h, "the data", 4000, ready);
    h.get_by_label("Build").click();
    step_until(&mut h, "the build to start", 200, |a| {
        a.session.work.build_job.is_some()
    });
    h.step();
    h.get_by_label("Cancel").click();
    // The worker checks its cancel token between node insertions: it must be
    // gone within a few frames.
    step_until(&mut h, "the build to stop", 400, |a| {
        a.session.work.build_job.is_none()
    });
    assert!(
        h.state().session.work.builds.is_empty(),
        "a cancelled build must not be installed"
    );
    h.step();
    h.get_by_label_contains("Build cancelled");
    // Still usable: Build is there and enabled.
    assert!(!h.get_by_label("Build").accesskit_node().is_disabled());
}

#[test]
fn a_malformed_file_shows_an_error_and_keeps_the_dataset() {
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample", 4000, ready);
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("broken.fvecs");
    write_fvecs(&bad, &rows(10, 8));
    let bytes = std::fs::read(&bad).expect("read");
    std::fs::write(&bad, &bytes[..bytes.len() - 3]).expect("truncate");
    // What File → Open and a dropped file both call.
    h.state_mut().open_path(bad);
    step_until(&mut h, "the load to fail", 2000, |a| {
        a.session.error.is_some()
    });
    h.step();
    h.get_by_label_contains("broken.fvecs");
    h.get_by_label_contains("truncated");
    // The previous dataset is still loaded and shown.
    h.get_by_label("pypi-minilm-sample.base.fvecs");
    assert_eq!(
        h.state().session.loaded.as_ref().map(|l| l.base.len()),
        Some(4000)
    );
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().session.error.is_none());
}
