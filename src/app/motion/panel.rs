//! The Motion tab's controls: the runbook (generated, from a YAML file, or
//! by hand), the strategy (the left panel's index kind; maintenance; async
//! indexing), play / pause / one step / stop and speed, writes by hand,
//! maintenance on demand, and the active run's state.

use std::sync::Arc;

use egui::Ui;

use super::settings::{Axis, CleanupClock, Keeping, MotionSettings, Source};
use super::{charts, Control, Hand, MotionLab};
use crate::churn::generate::GENERATORS;
use crate::projection::Projection;

/// What the tab asks the app to do after drawing.
#[derive(Debug)]
pub enum MotionCommand {
    /// A new run of the settings' runbook and strategy (played at once
    /// when `play`).
    NewRun {
        play: bool,
    },
    Control(Control),
    /// Cancel preparation, or stop the runbook after the step under way.
    Cancel,
    Clear,
    /// Open a YAML runbook with a file dialog.
    PickRunbook,
}

/// The whole tab: controls, then the charts below them.
pub fn tab_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    s: &mut MotionSettings,
    kind_label: &str,
    rows: Option<usize>,
    picked: Picked<'_>,
    commands: &mut Vec<MotionCommand>,
) {
    let data_ready = rows.is_some();
    let rows = rows.unwrap_or(0);
    runbook_ui(ui, s, commands);
    strategy_ui(ui, s, kind_label, rows);
    play_ui(ui, lab, s, data_ready, commands);
    hand_ui(ui, lab, s, commands);
    ui.horizontal(|ui| {
        stream_ui(ui, lab, s, commands);
        ui.separator();
        views_ui(ui, lab, s, picked, commands);
    });
    status_ui(ui, lab);
    ui.separator();
    charts::charts_ui(ui, lab, s.axis);
}

fn runbook_ui(ui: &mut Ui, s: &mut MotionSettings, commands: &mut Vec<MotionCommand>) {
    ui.horizontal(|ui| {
        let current = match &s.source {
            Source::Generated { name, .. } => name.clone(),
            Source::File(_) => "YAML file".into(),
            Source::ByHand => "by hand".into(),
        };
        egui::ComboBox::from_label("Runbook")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for g in GENERATORS {
                    let on = matches!(&s.source, Source::Generated { name, .. } if name == g);
                    if ui.selectable_label(on, *g).clicked() && !on {
                        s.source = Source::Generated {
                            name: g.to_string(),
                            options: String::new(),
                        };
                    }
                }
                if ui
                    .selectable_label(matches!(s.source, Source::File(_)), "YAML file…")
                    .clicked()
                {
                    commands.push(MotionCommand::PickRunbook);
                }
                if ui
                    .selectable_label(s.source == Source::ByHand, "by hand")
                    .on_hover_text("every row inserted, then only writes by hand")
                    .clicked()
                {
                    s.source = Source::ByHand;
                }
            });
        match &mut s.source {
            Source::Generated { options, .. } => {
                let label = ui.label("options");
                ui.add(
                    egui::TextEdit::singleline(options)
                        .hint_text("defaults, e.g. clusters=16,delete=0.7")
                        .desired_width(220.0),
                )
                .labelled_by(label.id)
                .on_hover_text("key=value pairs, comma-separated: see annscope churn --help");
            }
            Source::File(path) => {
                ui.monospace(path.display().to_string());
                if ui.button("Open runbook…").clicked() {
                    commands.push(MotionCommand::PickRunbook);
                }
            }
            Source::ByHand => {}
        }
    });
}

fn strategy_ui(ui: &mut Ui, s: &mut MotionSettings, kind_label: &str, rows: usize) {
    ui.horizontal(|ui| {
        ui.label(format!("Index: {kind_label} (the left panel's settings)"));
        egui::ComboBox::from_label("Maintenance")
            .selected_text(s.keeping.label())
            .show_ui(ui, |ui| {
                for k in Keeping::ALL {
                    ui.selectable_value(&mut s.keeping, k, k.label());
                }
            });
        match s.keeping {
            Keeping::Cleanup => {
                let label = ui.label("cleanup every");
                match s.cleanup_clock {
                    CleanupClock::Rows => {
                        let mut pct = s.cleanup_share * 100.0;
                        if ui
                            .add(egui::DragValue::new(&mut pct).range(0.01..=100.0).suffix("%"))
                            .labelled_by(label.id)
                            .on_hover_text(format!("{} rows written", s.cleanup_rows(rows)))
                            .changed()
                        {
                            s.cleanup_share = pct / 100.0;
                        }
                    }
                    CleanupClock::Seconds => {
                        ui.add(
                            egui::DragValue::new(&mut s.cleanup_seconds)
                                .range(0.1..=86_400.0)
                                .speed(0.1)
                                .suffix(" s"),
                        )
                        .labelled_by(label.id)
                        .on_hover_text("Weaviate's cleanupIntervalSeconds: a cycle runs when the time is up, even while nothing is written");
                    }
                }
                egui::ComboBox::from_id_salt("cleanup clock")
                    .selected_text(match s.cleanup_clock {
                        CleanupClock::Rows => "of rows written",
                        CleanupClock::Seconds => "seconds, on a clock",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut s.cleanup_clock, CleanupClock::Rows, "of rows written");
                        ui.selectable_value(&mut s.cleanup_clock, CleanupClock::Seconds, "seconds, on a clock");
                    })
                    .response
                    .widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "cleanup clock")
                    });
            }
            Keeping::Rebuild => {
                let label = ui.label("rebuild when churned");
                let mut pct = s.rebuild_at * 100.0;
                if ui
                    .add(egui::DragValue::new(&mut pct).range(1.0..=100.0).suffix("%"))
                    .labelled_by(label.id)
                    .changed()
                {
                    s.rebuild_at = pct / 100.0;
                }
            }
            Keeping::Nothing => {}
        }
        ui.checkbox(&mut s.async_indexing, "Async indexing")
            .on_hover_text("Weaviate's queue: writes are acknowledged at once and indexed in batches; searches also scan what waits");
        if s.async_indexing {
            let label = ui.label("batch");
            ui.add(egui::DragValue::new(&mut s.async_batch).range(1..=1_000_000))
                .labelled_by(label.id);
        }
    });
}

fn play_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    s: &mut MotionSettings,
    data_ready: bool,
    commands: &mut Vec<MotionCommand>,
) {
    let active = lab.active();
    let steps_left = active.is_some_and(|r| r.state.step < r.state.steps);
    let playing = active.is_some_and(|r| r.state.playing);
    let preparing = active.is_some_and(|r| r.state.preparing);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(data_ready, egui::Button::new("Play new run"))
            .on_hover_text(
                "a new run of this runbook with this strategy; earlier runs keep their curves",
            )
            .clicked()
        {
            commands.push(MotionCommand::NewRun { play: true });
        }
        if ui
            .add_enabled(
                steps_left && !playing && !preparing,
                egui::Button::new("Resume"),
            )
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::Play));
        }
        if ui
            .add_enabled(playing, egui::Button::new("Pause"))
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::Pause));
        }
        if ui
            .add_enabled(steps_left && !preparing, egui::Button::new("One step"))
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::Step));
        }
        if ui
            .add_enabled(preparing || steps_left, egui::Button::new("Cancel run"))
            .on_hover_text("stops after the step under way: the index stays, for writes by hand")
            .clicked()
        {
            commands.push(MotionCommand::Cancel);
        }
        ui.separator();
        let mut max = s.speed.is_none();
        let mut speed = s.speed.unwrap_or(4.0);
        let mut changed = ui.checkbox(&mut max, "As fast as it goes").changed();
        if !max {
            changed |= ui
                .add(
                    egui::Slider::new(&mut speed, 0.5..=60.0)
                        .logarithmic(true)
                        .suffix(" steps/s")
                        .text("Speed"),
                )
                .changed();
        }
        if changed {
            s.speed = (!max).then_some(speed);
            commands.push(MotionCommand::Control(Control::Speed(s.speed)));
        }
        ui.separator();
        ui.label("x:");
        ui.selectable_value(&mut s.axis, Axis::Step, "step");
        ui.selectable_value(&mut s.axis, Axis::Seconds, "seconds");
        if ui
            .add_enabled(!lab.runs.is_empty(), egui::Button::new("Clear runs"))
            .clicked()
        {
            commands.push(MotionCommand::Clear);
        }
    });
}

fn hand_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    s: &mut MotionSettings,
    commands: &mut Vec<MotionCommand>,
) {
    let ready = lab
        .active()
        .is_some_and(|r| !r.state.preparing && !r.state.playing);
    ui.horizontal(|ui| {
        let label = ui.label("By hand: share");
        let mut pct = s.hand_share * 100.0;
        if ui
            .add(
                egui::DragValue::new(&mut pct)
                    .range(0.1..=100.0)
                    .suffix("%"),
            )
            .labelled_by(label.id)
            .on_hover_text("the share of live rows deleted or replaced")
            .changed()
        {
            s.hand_share = pct / 100.0;
        }
        let mut hand = |ui: &mut Ui, label: &str, h: Hand| {
            if ui.add_enabled(ready, egui::Button::new(label)).clicked() {
                commands.push(MotionCommand::Control(Control::Hand(h)));
            }
        };
        hand(ui, "Delete share", Hand::DeleteShare(s.hand_share));
        hand(ui, "Replace share", Hand::ReplaceShare(s.hand_share));
        let label = ui.label("rows");
        ui.add(egui::DragValue::new(&mut s.hand_rows).range(1..=10_000_000))
            .labelled_by(label.id);
        hand(ui, "Insert rows", Hand::InsertNext(s.hand_rows));
        ui.separator();
        if ui
            .add_enabled(ready, egui::Button::new("Run cleanup now"))
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::CleanupNow));
        }
        if ui
            .add_enabled(ready, egui::Button::new("Rebuild now"))
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::RebuildNow));
        }
        if ui
            .add_enabled(ready, egui::Button::new("Measure a fresh build"))
            .on_hover_text("the same kind built afresh over the rows live now, drawn as diamonds beside the run's curves; the run's index stays as it is")
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::MeasureFresh));
        }
    });
}

/// A write stream: the next rows inserted at a rate while searches go on.
fn stream_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    s: &mut MotionSettings,
    commands: &mut Vec<MotionCommand>,
) {
    let run = lab.active().filter(|r| !r.state.preparing);
    let streaming = run.and_then(|r| r.state.streaming);
    let label = ui.label("rows/s");
    ui.add(
        egui::DragValue::new(&mut s.stream_rate)
            .range(1.0..=1_000_000.0)
            .speed(10.0),
    )
    .labelled_by(label.id);
    match streaming {
        Some(rate) => {
            if ui
                .button("Stop stream")
                .on_hover_text(format!("inserting {rate:.0} rows per second"))
                .clicked()
            {
                commands.push(MotionCommand::Control(Control::Stream(None)));
            }
        }
        None => {
            if ui
                .add_enabled(
                    run.is_some_and(|r| !r.state.playing),
                    egui::Button::new("Stream inserts"),
                )
                .on_hover_text("insert the next rows never written at this rate, a search scored every second, until Stop stream or no row is left")
                .clicked()
            {
                commands.push(MotionCommand::Control(Control::Stream(Some(s.stream_rate))));
            }
        }
    }
}

/// What the views have picked, for deleting a cluster: the selected node
/// and the Projection tab's map, when one is drawn.
#[derive(Clone, Copy, Default)]
pub struct Picked<'a> {
    pub node: Option<u32>,
    pub map: Option<&'a Projection>,
}

/// The run's index in the views, and a cluster picked there deleted.
fn views_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    s: &mut MotionSettings,
    picked: Picked<'_>,
    commands: &mut Vec<MotionCommand>,
) {
    let selected = picked.node;
    let alive = lab.active().is_some_and(|r| !r.state.preparing);
    let ready = alive && lab.active().is_some_and(|r| !r.state.playing);
    {
        if ui
            .add_enabled(alive, egui::Button::new("Show in the views"))
            .on_hover_text("a copy of the run's index as it stands now, drawn by the Projection (colour by motion state), Layer graph and Search path tabs: tombstones crossed out red, queued rows amber, deleted rows gone")
            .clicked()
        {
            commands.push(MotionCommand::Control(Control::Show));
        }
        ui.checkbox(&mut s.follow_views, "Follow")
            .on_hover_text("while the run's copy is in the views, take a new one after each of its search steps, so the views keep in step (each copy is a save and load of the index in memory: on 100,000 rows it slows the run)");
        let near = match selected {
            Some(row) => format!("Delete the {} nearest to node {row}", s.hand_rows),
            None => "Delete a cluster: select a node in the views first".to_string(),
        };
        let on_map = s.near_on_map && picked.map.is_some();
        let near = match (selected, picked.map) {
            (Some(_), Some(map)) if on_map => format!("{near} on the {} map", map.method.label()),
            _ => near,
        };
        let hover = if on_map {
            "the live rows nearest the selected node on the Projection tab's map (itself included): a patch of the map deleted, which the map then shows as a hole whether or not those rows were neighbours in the data; the rows count is the one above"
        } else {
            "the live rows nearest the selected node (itself included), by the data's metric: a cluster in the data, deleted (on a projection it may look scattered: a map keeps only part of each row's neighbours); the rows count is the one above"
        };
        if ui
            .add_enabled(ready && selected.is_some(), egui::Button::new(near))
            .on_hover_text(hover)
            .clicked()
        {
            if let Some(row) = selected {
                let hand = match picked.map {
                    Some(map) if on_map => Hand::DeleteNearOnMap {
                        row,
                        n: s.hand_rows,
                        map: Arc::new(map.base.clone()),
                    },
                    _ => Hand::DeleteNear {
                        row,
                        n: s.hand_rows,
                    },
                };
                commands.push(MotionCommand::Control(Control::Hand(hand)));
            }
        }
        if picked.map.is_some() {
            egui::ComboBox::from_id_salt("nearest by")
                .selected_text(if s.near_on_map {
                    "on the map"
                } else {
                    "in the data"
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut s.near_on_map, false, "in the data");
                    ui.selectable_value(&mut s.near_on_map, true, "on the map");
                })
                .response
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "nearest by")
                });
        }
    }
}

fn status_ui(ui: &mut Ui, lab: &MotionLab) {
    if let Some(e) = &lab.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let Some(run) = lab.runs.last() else {
        return;
    };
    let st = &run.state;
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(charts::run_color(run.id), &run.label);
        if st.preparing {
            ui.spinner();
            ui.label("preparing: the runbook's order and exact ground truth at each search step");
            return;
        }
        let status = if st.queued > 0 { "INDEXING" } else { "READY" };
        ui.label(format!(
            "step {} of {} · {} live · {} tombstones · queue {} · {} · {:.1} MB",
            st.step,
            st.steps,
            st.live,
            st.tombstones,
            st.queued,
            status,
            st.bytes as f64 / 1e6
        ));
        if let Some(rate) = st.streaming {
            ui.label(format!("streaming {rate:.0} rows/s"));
        }
        if let Some(u) = st.unreachable {
            ui.label(format!("audit: {u} unreachable"))
                .on_hover_text("live nodes no search can reach from the entry point, after the last write or cleanup");
        }
        if let Some((_, l)) = run.lines.last() {
            if let Some(r) = l.recall {
                ui.label(format!("recall@k {r:.4}"));
            }
        }
        if !run.alive() {
            ui.label("(ended: its curves stay)");
        }
    });
    if let Some(n) = &run.notice {
        ui.label(n);
    }
    if let Some(e) = &run.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}
