//! pgvector in the app, against a real PostgreSQL of the test's own: choose
//! the engine in the Kind menu, connect and load the sample, build, move ef
//! and see the engine's points join the chart beside annscope's HNSW; stop
//! the server mid-sweep and see the error in the panel, the app still usable.

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};

use super::app::{harness_with, ready, step_until};
use super::pgvector::{own_server, stop_server};
use annscope::app::{sample_request, Settings};
use annscope::index::{IndexKind, SearchKnob};

#[test]
fn pgvector_is_tuned_live_beside_annscope_and_a_lost_server_is_survived() {
    let Some((url, dir)) = own_server("app-engine") else {
        return;
    };
    // The URL goes in the URL field without its password; the password is
    // typed into its own field.
    let (without, password) = {
        let (head, host) = url.split_once('@').expect("user@host");
        let (user, pw) = head.rsplit_once(':').expect("user:password");
        (format!("{user}@{host}"), pw.to_string())
    };
    let settings = Settings {
        index: IndexKind::Hnsw,
        engine_url: without,
        ..Settings::default()
    };
    let mut h = harness_with(sample_request(), settings);
    step_until(&mut h, "the sample and its ground truth", 4000, ready);

    // annscope's HNSW first, at pgvector's defaults (m 16, ef_construction 64).
    h.state_mut().settings.hnsw.ef_construction = 64;
    h.get_by_label("Build").click();
    step_until(&mut h, "annscope's build and a point", 4000, |a| {
        a.session.work.builds.len() == 1 && a.session.work.points.iter().any(|p| !p.estimate)
    });

    // Choose pgvector HNSW in the Kind menu.
    h.get_by_role_and_label(Role::ComboBox, "Kind").click();
    h.run();
    h.get_by_label("pgvector HNSW (PostgreSQL)").click();
    h.run();
    assert_eq!(h.state().settings.index, IndexKind::PgvectorHnsw);
    assert!(
        h.get_by_label("Build").accesskit_node().is_disabled(),
        "nothing to build on before the data is in the server"
    );
    h.get_by_role_and_label(Role::PasswordInput, "Password")
        .focus();
    h.run();
    h.get_by_role_and_label(Role::PasswordInput, "Password")
        .type_text(&password);
    h.run();
    assert_eq!(h.state().settings.engine_password, password, "typed");
    h.get_by_label("Connect and load").click();
    step_until(&mut h, "the sample loaded into PostgreSQL", 4000, |a| {
        a.session.work.engine.is_some()
    });
    assert!(
        h.state().session.error.is_none(),
        "{:?}",
        h.state().session.error
    );
    let table = h
        .state()
        .session
        .work
        .engine
        .as_ref()
        .map(|c| c.table_name().to_string())
        .expect("table");
    assert!(
        h.get_all_by_label_contains(&table).count() >= 1,
        "the panel names the table"
    );

    h.get_by_label("Build").click();
    step_until(
        &mut h,
        "pgvector's build and its first full point",
        4000,
        |a| {
            a.session.work.builds.len() == 2
                && a.session.work.points.iter().any(|p| {
                    p.op.index == "pgvector-hnsw" && !p.estimate && p.knob == SearchKnob::Ef(32)
                })
        },
    );
    // Move ef: the engine is measured again and the point joins its curve.
    h.get_by_role_and_label(Role::Slider, "ef")
        .set_value_accesskit(100.0);
    step_until(&mut h, "pgvector at ef 100", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.op.index == "pgvector-hnsw" && !p.estimate && p.knob == SearchKnob::Ef(100))
    });
    let pg: Vec<(usize, f64)> = h
        .state()
        .session
        .work
        .points
        .iter()
        .filter(|p| p.op.index == "pgvector-hnsw" && !p.estimate)
        .map(|p| (p.knob.value().unwrap_or(0), p.op.recall))
        .collect();
    let at = |ef| {
        pg.iter()
            .find(|(e, _)| *e == ef)
            .map(|(_, r)| *r)
            .expect("point")
    };
    assert!(at(100) >= at(32) && at(100) >= 0.95, "{pg:?}");
    let ef_search = h
        .state()
        .session
        .work
        .points
        .iter()
        .find(|p| p.op.index == "pgvector-hnsw")
        .map(|p| p.op.params["ef_search"].clone());
    assert!(
        ef_search.is_some_and(|v| v.is_u64()),
        "the engine's own key"
    );

    // The server goes away mid-sweep: the error shows, the app stays usable.
    stop_server(&dir);
    h.get_by_label("Sweep ef").click();
    step_until(&mut h, "the lost server reported", 4000, |a| {
        a.session.error.is_some()
    });
    let err = h.state().session.error.clone().expect("error");
    assert!(err.contains("pgvector"), "{err}");
    assert!(!err.contains(&password), "{err}");
    // The frame after the error shows it in the panel.
    h.step();
    let shown = h
        .query_all_by_label_contains("the server ended the connection")
        .count()
        + h.query_all_by_label_contains("connection to the server was lost")
            .count();
    assert!(shown >= 1, "the error is on screen: {err}");
    step_until(&mut h, "the sweep given up", 4000, |a| !a.session.busy());
    // Back to annscope's HNSW: a build and its measurements still work.
    h.state_mut().session.error = None;
    h.state_mut().settings.index = IndexKind::Hnsw;
    h.run();
    h.get_by_label("Build").click();
    step_until(
        &mut h,
        "annscope built and measured after the loss",
        4000,
        |a| {
            a.session.work.builds.len() == 3
                && a.session
                    .work
                    .points
                    .iter()
                    .any(|p| p.build_id == a.session.work.builds[2].id && !p.estimate)
        },
    );
    assert!(
        h.state().session.error.is_none(),
        "{:?}",
        h.state().session.error
    );
}

/// Qdrant in the app (annscope built with `--features qdrant`): chosen in
/// the Kind menu, built on the loaded data with no server, its ef slider
/// live; choosing a quantization rebuilds over codes.
#[cfg(feature = "qdrant")]
#[test]
fn qdrant_is_built_in_process_and_tuned_live() {
    let mut h = harness_with(
        sample_request(),
        Settings {
            index: IndexKind::Hnsw,
            ..Settings::default()
        },
    );
    step_until(&mut h, "the sample and its ground truth", 4000, ready);
    h.get_by_role_and_label(Role::ComboBox, "Kind").click();
    h.run();
    h.get_by_label("Qdrant HNSW (edge, in-process)").click();
    h.run();
    assert_eq!(h.state().settings.index, IndexKind::QdrantHnsw);
    assert!(
        !h.get_by_label("Build").accesskit_node().is_disabled(),
        "nothing to connect to: Build is ready"
    );
    h.get_by_label("Build").click();
    step_until(&mut h, "Qdrant's build and a full point", 40000, |a| {
        a.session.work.builds.len() == 1
            && a.session
                .work
                .points
                .iter()
                .any(|p| p.op.index == "qdrant-hnsw" && !p.estimate)
    });
    assert!(h.query_all_by_label_contains("Qdrant segments").count() >= 1);
    h.get_by_role_and_label(Role::Slider, "ef")
        .set_value_accesskit(100.0);
    step_until(&mut h, "Qdrant at hnsw_ef 100", 4000, |a| {
        a.session
            .work
            .points
            .iter()
            .any(|p| p.op.index == "qdrant-hnsw" && !p.estimate && p.op.params["hnsw_ef"] == 100)
    });
    // A quantization is a rebuild, over binary codes.
    h.get_by_role_and_label(Role::ComboBox, "Quantization")
        .click();
    h.run();
    h.get_by_label("binary").click();
    h.run();
    step_until(&mut h, "the binary build measured", 4000, |a| {
        a.session.work.points.iter().any(|p| {
            p.op.index == "qdrant-hnsw" && !p.estimate && p.op.params["quantization"] == "binary"
        })
    });
    assert!(
        h.state().session.error.is_none(),
        "{:?}",
        h.state().session.error
    );
}
