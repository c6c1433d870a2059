//! The Motion lab driven by widget labels: a generated runbook played on
//! the sample gains a recall point per search step; deletes by hand leave
//! tombstones that a cleanup frees; async indexing's queue rises and
//! drains; a run cancelled mid-way leaves an index that still answers; a
//! malformed runbook is refused naming its step, and the data stays.

use annscope::app::motion::{MotionSettings, Source};
use annscope::app::{sample_request, AnnscopeApp, Settings, Tab};
use annscope::index::IndexKind;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

use super::app::{harness_with, ready, step_until};

fn motion_harness(motion: MotionSettings) -> Harness<'static, AnnscopeApp> {
    let mut h = harness_with(
        sample_request(),
        Settings {
            index: IndexKind::Hnsw,
            view_tab: Tab::Motion,
            motion,
            ..Settings::default()
        },
    );
    step_until(&mut h, "the sample", 4000, ready);
    h
}

fn fast() -> MotionSettings {
    MotionSettings {
        speed: None,
        ..MotionSettings::default()
    }
}

fn searches_of(app: &AnnscopeApp) -> usize {
    app.motion.runs.last().map_or(0, |r| r.lines.len())
}

fn idle(app: &AnnscopeApp) -> bool {
    app.motion
        .runs
        .last()
        .is_some_and(|r| !r.state.preparing && !r.state.playing && r.state.step == r.state.steps)
}

#[test]
fn a_generated_runbook_gains_a_recall_point_per_search_and_cleanup_frees_hand_deletes() {
    let mut h = motion_harness(MotionSettings {
        source: Source::Generated {
            name: "clustered-deletes".into(),
            options: "clusters=4".into(),
        },
        keeping: annscope::app::motion::Keeping::Nothing,
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "the runbook played to its end", 20_000, idle);
    let run = h.state().motion.runs.last().expect("a run");
    assert!(run.error.is_none(), "{:?}", run.error);
    // clusters=4: every write is followed by a search; one point each.
    let searches = 4 * 2 + 4 / 2;
    assert_eq!(run.lines.len(), searches, "one line per search step");
    assert!(run.lines.iter().all(|(_, l)| l.wrong_tags == 0));
    let last = &run.lines.last().expect("lines").1;
    assert!(last.recall.expect("live") > 0.85, "{last:?}");
    assert!(
        last.tombstones > 0,
        "no maintenance: the bursts' tombstones stay"
    );
    // Delete 30% by hand: counted as tombstones, then a cleanup frees them.
    let before = last.tombstones;
    let live = last.live;
    h.get_by_label("Delete share").click();
    step_until(&mut h, "the hand delete measured", 4000, |a| {
        searches_of(a) == searches + 1
    });
    let after = &h.state().motion.runs.last().expect("run").lines[searches].1;
    let deleted = (live as f64 * 0.3).round() as usize;
    assert_eq!(after.live, live - deleted);
    assert_eq!(after.tombstones, before + deleted);
    assert_eq!(after.wrong_tags, 0, "deleted rows never answer");
    h.get_by_label("Run cleanup now").click();
    step_until(&mut h, "the cleanup measured", 4000, |a| {
        searches_of(a) == searches + 2
    });
    let cleaned = &h.state().motion.runs.last().expect("run").lines[searches + 1].1;
    assert_eq!(cleaned.tombstones, 0, "{cleaned:?}");
    assert_eq!(cleaned.cleanups, 1);
    assert_eq!(cleaned.live, live - deleted);
    // The status line shows the state the charts end on, and the audit.
    step_until(&mut h, "the state after cleanup", 4000, |a| {
        a.motion
            .runs
            .last()
            .is_some_and(|r| r.state.tombstones == 0)
    });
    h.step();
    assert!(h
        .query_all_by_label_contains("0 tombstones")
        .next()
        .is_some());
    let unreachable = h.state().motion.runs.last().expect("run").state.unreachable;
    let unreachable = unreachable.expect("HNSW has a graph to audit");
    assert!(
        unreachable < 40,
        "{unreachable} of the live nodes lost after cleanup"
    );
    assert!(h
        .query_all_by_label_contains(&format!("audit: {unreachable} unreachable"))
        .next()
        .is_some());
    // A fresh build over the same live rows joins the charts as a reference.
    h.get_by_label("Measure a fresh build").click();
    step_until(&mut h, "the fresh build measured", 4000, |a| {
        a.motion.runs.last().is_some_and(|r| !r.fresh.is_empty())
    });
    let run = h.state().motion.runs.last().expect("run");
    let fresh = &run.fresh[0].1;
    assert_eq!(fresh.live, live - deleted, "built over the rows live now");
    assert_eq!(fresh.tombstones, 0, "a fresh build holds no tombstones");
    assert!(fresh.recall.expect("live") > 0.85, "{fresh:?}");
    assert_eq!(
        run.lines.len(),
        searches + 2,
        "the run's own lines are untouched"
    );
}

#[test]
fn async_indexing_queues_writes_that_drain_to_ready() {
    let mut h = motion_harness(MotionSettings {
        source: Source::Generated {
            name: "sliding-window".into(),
            options: "window=0.5,steps=8".into(),
        },
        async_indexing: true,
        async_batch: 100,
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(
        &mut h,
        "the runbook played and the queue drained",
        20_000,
        |a| idle(a) && a.motion.runs.last().is_some_and(|r| r.state.queued == 0),
    );
    let run = h.state().motion.runs.last().expect("a run");
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(
        run.max_queue() > 0,
        "writes waited in the queue at some point"
    );
    assert!(run.lines.iter().all(|(_, l)| l.wrong_tags == 0));
    h.step();
    assert!(h.query_all_by_label_contains("READY").next().is_some());
}

#[test]
fn a_cancelled_run_keeps_an_index_that_answers_writes_by_hand() {
    let mut h = motion_harness(MotionSettings {
        source: Source::Generated {
            name: "sliding-window".into(),
            options: "window=0.25,steps=40".into(),
        },
        speed: Some(20.0),
        ..MotionSettings::default()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "a few searches", 20_000, |a| searches_of(a) >= 3);
    h.get_by_label("Cancel run").click();
    step_until(&mut h, "the run stopped", 4000, |a| {
        a.motion
            .runs
            .last()
            .is_some_and(|r| !r.state.playing && r.state.step == r.state.steps)
    });
    let run = h.state().motion.runs.last().expect("run");
    assert!(run.alive(), "the index stays for writes by hand");
    assert!(
        run.state.step < 80,
        "stopped before the end: {:?}",
        run.state
    );
    let n = run.lines.len();
    h.get_by_label("Insert rows").click();
    step_until(&mut h, "the insert measured", 4000, |a| {
        searches_of(a) == n + 1
    });
    let line = &h.state().motion.runs.last().expect("run").lines[n].1;
    assert!(line.recall.expect("live") > 0.8, "{line:?}");
    assert_eq!(line.wrong_tags, 0);
}

#[test]
fn a_malformed_runbook_is_refused_naming_its_step_and_the_data_stays() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "sample:\n  max_pts: 4000\n  1:\n    operation: insert\n    start: 0\n    end: 100\n  2:\n    operation: delete\n    start: 50\n",
    )
    .expect("write");
    let mut h = motion_harness(MotionSettings {
        source: Source::File(path.clone()),
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "the runbook refused", 4000, |a| {
        a.motion.error.is_some()
    });
    let error = h.state().motion.error.clone().expect("refused");
    assert!(error.contains("bad.yaml"), "{error}");
    assert!(error.contains("step 2"), "{error}");
    assert!(h.state().motion.runs.is_empty(), "nothing ran");
    assert!(h.state().session.loaded.is_some(), "the data stays");
    assert!(h.query_all_by_label_contains("step 2").next().is_some());
}

#[test]
fn a_cluster_deleted_by_hand_shows_in_the_views_as_tombstones_until_a_cleanup() {
    let mut h = motion_harness(MotionSettings {
        source: Source::ByHand,
        hand_rows: 300,
        keeping: annscope::app::motion::Keeping::Nothing,
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "every row inserted", 20_000, |a| {
        idle(a) && searches_of(a) == 1
    });
    // The cluster button waits for a node picked in the views.
    assert!(h
        .query_all_by_label_contains("select a node in the views first")
        .next()
        .is_some());
    let picked = 1234u32;
    h.state_mut().views.selected = Some(picked);
    h.step();
    h.get_by_label(&format!("Delete the 300 nearest to node {picked}"))
        .click();
    step_until(&mut h, "the cluster delete measured", 4000, |a| {
        searches_of(a) == 2
    });
    let line = &h.state().motion.runs.last().expect("run").lines[1].1;
    assert_eq!((line.live, line.tombstones), (4000 - 300, 300));
    assert_eq!(line.wrong_tags, 0);

    // A copy of the run's index goes to the views; the run keeps its own.
    h.get_by_label("Show in the views").click();
    step_until(&mut h, "the copy in the views", 4000, |a| {
        a.session.work.motion_shot.is_some()
    });
    let shot = h.state().session.work.motion_shot.clone().expect("shot");
    use annscope::churn::marks::RowMark;
    assert_eq!(shot.count(RowMark::Tombstone), 300);
    assert_eq!(shot.count(RowMark::Live), 4000 - 300);
    assert_eq!(shot.marks[picked as usize], RowMark::Tombstone);
    let copy = shot.index.graph().expect("an HNSW copy");
    assert_eq!(copy.deleted_count(), 300, "tombstones still held");
    assert_eq!(shot.index.len(), 4000 - 300, "searches see the live rows");

    // The layer graph names the tombstones; the banner says whose index.
    h.state_mut().settings.view_tab = Tab::Layers;
    step_until(&mut h, "the projection and layer 0", 4000, |a| {
        a.session.projection.value().is_some() && a.session.work.layer_view.value().is_some()
    });
    h.step();
    assert!(h
        .query_all_by_label_contains("300 tombstones (crossed out red")
        .next()
        .is_some());
    assert!(h
        .query_all_by_label_contains("Showing Motion run 1")
        .next()
        .is_some());
    assert!(h
        .query_all_by_label_contains("3700 live · 300 tombstones · 0 queued")
        .next()
        .is_some());
    let lv = h.state().session.work.layer_view.value().expect("layer");
    assert!(
        !lv.tombstones.is_empty(),
        "tombstones drawn around the pick"
    );
    // The picked node is a tombstone: the selection panel says so (no
    // failed job, no error).
    assert!(h
        .query_all_by_label_contains("Deleted: a tombstone")
        .next()
        .is_some());
    assert_eq!(h.state().session.error, None);

    // A search from the deleted node walks through its deleted cluster.
    h.state_mut().settings.view_tab = Tab::SearchPath;
    h.state_mut().views.query = annscope::app::session::QueryPick::Base(picked);
    step_until(&mut h, "the traced search", 4000, |a| {
        a.session.work.search_path.value().is_some()
    });
    h.step();
    let path = h.state().session.work.search_path.value().expect("path");
    assert!(!path.tombstones.is_empty());
    assert!(path
        .trace
        .result
        .ids
        .iter()
        .all(|&id| shot.marks[id as usize] == RowMark::Live));
    assert!(h
        .query_all_by_label_contains("in the whole search, crossed out red")
        .next()
        .is_some());

    // After a cleanup, a new copy holds no tombstone: the cluster is gone.
    h.state_mut().settings.view_tab = Tab::Motion;
    h.step();
    h.get_by_label("Run cleanup now").click();
    step_until(&mut h, "the cleanup measured", 4000, |a| {
        searches_of(a) == 3
    });
    h.get_by_label("Show in the views").click();
    step_until(&mut h, "the copy after cleanup", 4000, |a| {
        a.session
            .work
            .motion_shot
            .as_ref()
            .is_some_and(|s| s.id != shot.id)
    });
    let after = h.state().session.work.motion_shot.clone().expect("shot");
    assert_eq!(after.count(RowMark::Tombstone), 0);
    assert_eq!(after.count(RowMark::Absent), 300);
    assert_eq!(after.marks[picked as usize], RowMark::Absent);
    h.state_mut().settings.view_tab = Tab::Layers;
    step_until(&mut h, "layer 0 of the cleaned copy", 4000, |a| {
        a.session
            .work
            .layer_view
            .value_for(&(after.id, 0, Some(picked)))
            .is_some()
    });
    let lv = h
        .state()
        .session
        .work
        .layer_view
        .value_for(&(after.id, 0, Some(picked)))
        .expect("layer");
    assert_eq!((lv.layer_tombstones, lv.tombstones.len()), (0, 0));
    h.step();
    assert!(h
        .query_all_by_label_contains("Not in the index shown")
        .next()
        .is_some());
    assert_eq!(h.state().session.error, None);
    // Back to the built index: the views leave the run's copy.
    h.step();
    h.get_by_label("Show the built index").click();
    step_until(&mut h, "the views back on the build", 100, |a| {
        a.session.work.motion_shot.is_none()
    });
}

#[test]
fn a_write_stream_inserts_at_its_rate_while_searches_are_scored_every_second() {
    let mut h = motion_harness(MotionSettings {
        source: Source::Generated {
            name: "sliding-window".into(),
            options: "window=0.25,steps=4".into(),
        },
        keeping: annscope::app::motion::Keeping::Nothing,
        stream_rate: 500.0,
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "the runbook played", 20_000, idle);
    let n = searches_of(h.state());
    let before = h.state().motion.runs.last().expect("run").state.live;
    h.get_by_label("Stream inserts").click();
    step_until(&mut h, "three searches while streaming", 40_000, |a| {
        searches_of(a) >= n + 3
    });
    assert!(h
        .query_all_by_label_contains("streaming 500 rows/s")
        .next()
        .is_some());
    h.get_by_label("Stop stream").click();
    step_until(&mut h, "the stream stopped", 4000, |a| {
        a.motion
            .runs
            .last()
            .is_some_and(|r| r.state.streaming.is_none())
    });
    let run = h.state().motion.runs.last().expect("run");
    assert!(run.error.is_none(), "{:?}", run.error);
    let lines: Vec<_> = run.lines[n..].iter().map(|(_, l)| l.clone()).collect();
    assert!(lines.iter().all(|l| l.wrong_tags == 0));
    // Inserts only: the runbook's tombstones stay as they were.
    assert!(lines.iter().all(|l| l.tombstones == lines[0].tombstones));
    assert!(lines.iter().all(|l| l.recall.expect("live") > 0.8));
    assert!(
        lines[0].live > before,
        "rows arrived before the first search"
    );
    // Between searches the live rows grow at the stream's rate (the
    // worker writes what is due by the clock, so a busy machine makes
    // bigger batches, not a slower stream).
    for w in lines.windows(2) {
        let grew = (w[1].live - w[0].live) as f64;
        let secs = w[1].elapsed_s - w[0].elapsed_s;
        let rate = grew / secs;
        assert!(
            (250.0..=1000.0).contains(&rate),
            "{grew} rows in {secs:.2} s: {rate:.0} rows/s for a stream of 500"
        );
    }
}

#[test]
fn a_cleanup_on_a_clock_of_seconds_frees_hand_deletes_without_being_asked() {
    let mut h = motion_harness(MotionSettings {
        source: Source::ByHand,
        keeping: annscope::app::motion::Keeping::Cleanup,
        cleanup_seconds: 1.5,
        ..fast()
    });
    // The interval's clock, chosen as a user does.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "cleanup clock")
        .click();
    h.run_steps(4);
    h.get_by_label("seconds, on a clock").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings.motion.cleanup_clock,
        annscope::app::motion::CleanupClock::Seconds
    );
    h.get_by_label("Play new run").click();
    step_until(&mut h, "every row inserted", 20_000, |a| {
        idle(a) && searches_of(a) == 1
    });
    let run = h.state().motion.runs.last().expect("run");
    assert_eq!(run.label, "1: HNSW, cleanup every 1.5 s");
    h.get_by_label("Delete share").click();
    step_until(&mut h, "the hand delete measured", 4000, |a| {
        searches_of(a) == 2
    });
    let deleted = 1200;
    let line = h.state().motion.runs.last().expect("run").lines[1]
        .1
        .clone();
    assert_eq!(line.live, 4000 - deleted);
    // Nothing clicked: the next cycle on the clock frees the tombstones
    // (at once if one was due as the delete landed) and is measured.
    step_until(&mut h, "a cleanup cycle on the clock", 8000, |a| {
        a.motion
            .runs
            .last()
            .and_then(|r| r.lines.last())
            .is_some_and(|(_, l)| l.cleanups == 1 && l.tombstones == 0)
    });
    let run = h.state().motion.runs.last().expect("run");
    let last = &run.lines.last().expect("line").1;
    assert_eq!(last.live, 4000 - deleted);
    assert_eq!(last.wrong_tags, 0);
    if line.tombstones == deleted {
        // The delete waited for the clock: a line of its own for the cycle.
        assert_eq!(run.lines.len(), 3);
        let notice = run.notice.as_deref().unwrap_or_default();
        assert!(
            notice.contains("Cleanup cycle (every 1.5 s) freed 1200 tombstones"),
            "{notice}"
        );
    } else {
        assert_eq!(line.tombstones, 0, "{line:?}");
    }
}

#[test]
fn a_patch_picked_on_the_map_is_deleted_and_the_map_shows_it_gone() {
    let mut h = motion_harness(MotionSettings {
        source: Source::ByHand,
        hand_rows: 300,
        keeping: annscope::app::motion::Keeping::Nothing,
        ..fast()
    });
    h.get_by_label("Play new run").click();
    step_until(&mut h, "every row inserted, and a map", 20_000, |a| {
        idle(a) && searches_of(a) == 1 && a.session.projection.value().is_some()
    });
    let picked = 1234u32;
    h.state_mut().views.selected = Some(picked);
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "nearest by")
        .click();
    h.run_steps(4);
    h.get_by_label("on the map").click();
    h.run_steps(2);
    h.get_by_label(&format!(
        "Delete the 300 nearest to node {picked} on the PCA map"
    ))
    .click();
    step_until(&mut h, "the patch delete measured", 4000, |a| {
        searches_of(a) == 2
    });
    let line = &h.state().motion.runs.last().expect("run").lines[1].1;
    assert_eq!(
        (line.live, line.tombstones, line.wrong_tags),
        (3700, 300, 0)
    );
    // The rows deleted are the 300 nearest the pick on the map drawn.
    let map = h
        .state()
        .session
        .projection
        .value()
        .expect("map")
        .base
        .clone();
    let [cx, cy] = map[picked as usize];
    let mut by_distance: Vec<(f32, usize)> = map
        .iter()
        .enumerate()
        .map(|(r, [x, y])| ((x - cx).powi(2) + (y - cy).powi(2), r))
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let want: std::collections::BTreeSet<usize> =
        by_distance[..300].iter().map(|&(_, r)| r).collect();
    h.get_by_label("Show in the views").click();
    step_until(&mut h, "the copy in the views", 4000, |a| {
        a.session.work.motion_shot.is_some()
    });
    let shot = h.state().session.work.motion_shot.clone().expect("shot");
    use annscope::churn::marks::RowMark;
    let deleted: std::collections::BTreeSet<usize> = shot
        .marks
        .iter()
        .enumerate()
        .filter(|(_, m)| **m == RowMark::Tombstone)
        .map(|(r, _)| r)
        .collect();
    assert_eq!(deleted, want);
}

#[test]
fn views_that_follow_a_playing_run_end_on_its_last_step() {
    let mut h = motion_harness(MotionSettings {
        source: Source::Generated {
            name: "clustered-deletes".into(),
            options: "clusters=4".into(),
        },
        keeping: annscope::app::motion::Keeping::Nothing,
        speed: Some(8.0),
        ..MotionSettings::default()
    });
    h.get_by_label("Follow").click();
    h.run_steps(2);
    assert!(h.state().settings.motion.follow_views);
    h.get_by_label("Play new run").click();
    step_until(&mut h, "two searches", 20_000, |a| searches_of(a) >= 2);
    h.get_by_label("Show in the views").click();
    step_until(&mut h, "the runbook played to its end", 20_000, idle);
    // The last search's copy arrives after the run ends.
    let last = h
        .state()
        .motion
        .runs
        .last()
        .expect("run")
        .lines
        .last()
        .expect("line")
        .1
        .clone();
    step_until(&mut h, "a copy of the last step", 4000, |a| {
        a.session.work.motion_shot.as_ref().is_some_and(|s| {
            use annscope::churn::marks::RowMark;
            s.count(RowMark::Live) == last.live && s.count(RowMark::Tombstone) == last.tombstones
        })
    });
    let shot = h.state().session.work.motion_shot.clone().expect("shot");
    assert!(shot.label.contains("at step 20 of 20"), "{}", shot.label);
    let copies = shot.id - annscope::app::motion::shot::FIRST_SHOT_ID;
    assert!(
        copies >= 3,
        "one copy per search step after the first: {copies}"
    );
    assert!(last.tombstones > 0);
}
