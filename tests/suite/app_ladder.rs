//! The memory ladder in the app, driven by widget labels: choosing a
//! quantizer and vectors on disk rebuilds; the oversample slider
//! re-measures without a rebuild; the memory chart holds one point per
//! build.

use annscope::app::{plots, sample_request, AnnscopeApp};
use annscope::index::quant::Quantizer;
use annscope::index::{Rescoring, VectorPlace};
use egui_kittest::kittest::Queryable;

use super::app::{harness, ready, step_until};

fn quantizer_of(a: &AnnscopeApp, build: usize) -> Option<String> {
    a.session.work.builds[build]
        .index
        .params()
        .get("quantizer")
        .and_then(|v| v.as_str().map(str::to_string))
}

#[test]
fn quantizer_and_disk_rebuild_and_oversample_remeasures_live() {
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_label("Build").click();
    step_until(&mut h, "the default build, measured", 4000, |a| {
        a.session.work.builds.len() == 1 && a.session.work.points.iter().any(|p| !p.estimate)
    });
    // No codes: no oversample slider.
    assert!(h.query_by_label("oversample").is_none());

    // Choose 4-bit codes: a rebuild that walks them.
    h.get_by_label("Quantizer").click();
    h.run();
    h.get_by_label("sq4").click();
    step_until(&mut h, "a rebuild over sq4 codes", 4000, |a| {
        a.session.work.builds.len() == 2
    });
    assert_eq!(quantizer_of(h.state(), 1).as_deref(), Some("sq4"));
    assert_eq!(h.state().settings.hnsw.storage.quantizer, Quantizer::Sq4);

    // Move the f32 vectors to disk: another rebuild, holding far less.
    h.get_by_label("f32 vectors").click();
    h.run();
    h.get_by_label("on disk").click();
    step_until(&mut h, "a rebuild with the vectors on disk", 4000, |a| {
        a.session.work.builds.len() == 3
            && a.session
                .work
                .points
                .iter()
                .any(|p| p.build_id == a.session.work.builds[2].id && !p.estimate)
    });
    let work = &h.state().session.work;
    assert_eq!(h.state().settings.hnsw.storage.vectors, VectorPlace::Disk);
    assert_eq!(work.builds[2].index.params()["vectors"], "disk");
    let held = |i: usize| work.builds[i].index.memory().ram_bytes;
    assert!(
        held(2) * 3 < held(0),
        "disk {} vs default {}",
        held(2),
        held(0)
    );
    h.get_by_label_contains("f32 vectors on disk:");

    // The oversample slider: a new measurement of the same build.
    let builds = h.state().session.work.builds.len();
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "oversample")
        .set_value_accesskit(4.0);
    let four = Rescoring {
        oversample: 4.0,
        rescore: true,
    };
    step_until(&mut h, "a full point at oversample 4", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.rescoring == Some(four) && !p.estimate)
    });
    let work = &h.state().session.work;
    assert_eq!(work.builds.len(), builds, "no rebuild");
    let at = |o: f64| {
        work.points
            .iter()
            .find(|p| {
                p.build_id == work.builds[2].id
                    && p.rescoring.is_some_and(|r| r.oversample == o)
                    && !p.estimate
            })
            .map(|p| (p.op.recall, p.op.rescored))
            .expect("measured")
    };
    let (one, four_) = (at(1.0), at(4.0));
    assert!(four_.0 > one.0, "oversample 4 {} vs 1 {}", four_.0, one.0);
    assert_eq!(four_.1, Some(40.0), "4 × k re-scored");
    // The setting shows in the results.
    h.step();

    // The memory chart: one point per build, at the current setting.
    h.get_by_label_contains("Memory ladder: recall@10");
    let points = plots::memory_ladder(&h.state().session, &h.state().settings);
    let ids: Vec<usize> = h.state().session.work.builds.iter().map(|b| b.id).collect();
    let mut seen: Vec<usize> = points.iter().map(|p| p.0).collect();
    seen.sort_unstable();
    assert_eq!(seen, ids, "one point per build");
    let bytes = |i: usize| {
        points
            .iter()
            .find(|p| p.0 == ids[i])
            .map(|p| p.1)
            .expect("point")
    };
    // sq4 codes beside the f32 vectors hold less than the default's f16
    // walking copy beside them; where the CPU has no f16 walk (no AVX-512)
    // the default holds the f32 vectors alone, and the codes add to them.
    let first_walks_f16 =
        h.state().session.work.builds[0].index.params()["search_precision"] == "f16";
    assert!(bytes(2) < bytes(1), "{points:?}");
    assert_eq!(bytes(1) < bytes(0), first_walks_f16, "{points:?}");
    step_until(&mut h, "idle", 2000, |a| !a.session.busy());
    h.run();
}

#[test]
fn hfresh_lists_of_codes_rebuild_and_take_the_oversample_slider() {
    use annscope::index::IndexKind;
    use egui::accesskit::Role;
    let mut h = harness(sample_request());
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_role_and_label(Role::ComboBox, "Kind").click();
    h.run();
    h.get_by_label("HFresh (posting lists)").click();
    h.run();
    assert_eq!(h.state().settings.index, IndexKind::Hfresh);
    h.get_by_label("Build").click();
    step_until(&mut h, "HFresh over vectors, measured", 4000, |a| {
        a.session.work.builds.len() == 1 && a.session.work.points.iter().any(|p| !p.estimate)
    });
    assert!(h.query_by_label("oversample").is_none(), "no codes yet");

    // Lists of 4-bit codes: a rebuild, re-scored from the f32 vectors.
    h.get_by_label("Quantizer").click();
    h.run();
    h.get_by_label("sq4").click();
    step_until(&mut h, "HFresh over sq4 codes, measured", 4000, |a| {
        a.session.work.builds.len() == 2
            && a.session
                .work
                .points
                .iter()
                .any(|p| p.build_id == a.session.work.builds[1].id && !p.estimate)
    });
    assert_eq!(quantizer_of(h.state(), 1).as_deref(), Some("sq4"));
    assert_eq!(
        h.state().settings.spec().storage().quantizer,
        Quantizer::Sq4
    );
    assert!(
        h.state().session.work.builds[1]
            .index
            .spec
            .label()
            .ends_with(" sq4"),
        "{}",
        h.state().session.work.builds[1].index.spec.label()
    );
    assert!(
        h.state().session.work.builds[1]
            .index
            .posting_lists()
            .is_some(),
        "still HFresh"
    );
    h.get_by_role_and_label(Role::Slider, "oversample")
        .set_value_accesskit(4.0);
    let four = Rescoring {
        oversample: 4.0,
        rescore: true,
    };
    step_until(&mut h, "a full point at oversample 4", 4000, |a| {
        a.session.work.points.iter().any(|p| {
            p.build_id == a.session.work.builds[1].id && p.rescoring == Some(four) && !p.estimate
        })
    });
    let work = &h.state().session.work;
    assert_eq!(work.builds.len(), 2, "no rebuild");
    let rescored = work
        .points
        .iter()
        .find(|p| p.rescoring == Some(four) && !p.estimate)
        .and_then(|p| p.op.rescored);
    assert_eq!(rescored, Some(40.0), "4 × k re-scored");
    step_until(&mut h, "idle", 2000, |a| !a.session.busy());
    h.run();
}
