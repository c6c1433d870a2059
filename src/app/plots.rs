//! The live charts: recall@k against ef, QPS and p50/p99 latency against
//! ef, and the recall–QPS trade-off (ann-benchmarks style: recall on x, QPS
//! on a log axis), with one curve per build so a change of M shows as a
//! moved frontier. The current setting is ringed; hovering shows the numbers.

use std::collections::BTreeMap;

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use super::session::{Point, Session};
use super::settings::Settings;
use crate::index::KnobKind;

/// A colour per build (or Motion run), stable across frames.
pub(crate) fn build_color(build_id: usize) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(66, 133, 244),
        Color32::from_rgb(234, 67, 53),
        Color32::from_rgb(52, 168, 83),
        Color32::from_rgb(251, 188, 5),
        Color32::from_rgb(171, 71, 188),
        Color32::from_rgb(0, 172, 193),
        Color32::from_rgb(255, 112, 67),
        Color32::from_rgb(124, 179, 66),
    ];
    PALETTE[build_id % PALETTE.len()]
}

/// Points of the current k, grouped by build, sorted by ef; a build over
/// quantized codes shows its points at the current oversampling.
fn curves(
    session: &Session,
    k: usize,
    rescoring: crate::index::Rescoring,
) -> BTreeMap<usize, Vec<&Point>> {
    let mut by_build: BTreeMap<usize, Vec<&Point>> = BTreeMap::new();
    for p in session
        .work
        .points
        .iter()
        .filter(|p| p.k == k && p.rescoring.is_none_or(|r| r == rescoring))
    {
        by_build.entry(p.build_id).or_default().push(p);
    }
    for v in by_build.values_mut() {
        v.sort_by_key(|p| p.knob.value().unwrap_or(0));
    }
    by_build
}

pub fn charts_ui(ui: &mut Ui, session: &Session, settings: &Settings) {
    let k = settings.k;
    let by_build = curves(session, k, settings.rescoring());
    let current_knob = settings.knob();
    let current_rescoring = session
        .current_build()
        .and_then(|b| b.setting(current_knob, settings.rescoring()).1);
    let is_current = |p: &Point| {
        Some(p.build_id) == session.work.current
            && p.knob == current_knob
            && p.rescoring == current_rescoring
    };
    // The knob charts (x = ef, or search_probe for HFresh) show the builds
    // turning the current kind's knob; the recall-QPS trade-off shows all.
    let knob = settings.index.knob().map_or("ef", KnobKind::name);
    let knob_of = |id: usize| {
        session
            .work
            .builds
            .iter()
            .find(|b| b.id == id)
            .map_or("ef", |b| b.knob_name())
    };
    let knob_builds: BTreeMap<usize, Vec<&Point>> = by_build
        .iter()
        .filter(|(id, _)| knob_of(**id) == knob)
        .map(|(id, v)| (*id, v.clone()))
        .collect();
    // The tuner's points for the trade-off chart, kept ready by the poll.
    let tuned = super::tuner::chart_points(session);
    if by_build.is_empty() && tuned.is_empty() {
        ui.centered_and_justified(|ui| {
            ui.label(match (&session.loaded, &session.work.gt) {
                (None, _) => "Open a dataset to begin.",
                (Some(_), None) => "Computing exact ground truth…",
                _ => "Build an index, then move ef: each setting is measured against exact ground truth and plotted here.",
            });
        });
        return;
    }
    let avail = ui.available_size();
    let half_w = (avail.x - 12.0) / 2.0;
    let third_w = (avail.x - 24.0) / 3.0;
    let half_h = (avail.y - 12.0) / 2.0;
    let label =
        |name: &str, v: &egui_plot::PlotPoint| format!("{name}\nx = {:.4}\ny = {:.4}", v.x, v.y);

    ui.horizontal(|ui| {
        // Recall@k against ef.
        ui.vertical(|ui| {
            // Headings and warnings wrap inside the column: a long line
            // would widen it and push the next chart out of the window.
            ui.set_max_width(third_w);
            ui.strong(format!("Recall@{k} against {knob}"));
            Plot::new("recall_vs_ef")
                .width(third_w)
                .height(half_h - 20.0)
                .legend(Legend::default().position(egui_plot::Corner::RightBottom))
                .x_axis_label(knob)
                .y_axis_label(format!("recall@{k}"))
                .include_y(1.0)
                .label_formatter(move |h| match h {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => Some(label(plot_name, position)),
                    _ => None,
                })
                .show(ui, |plot| {
                    for (id, pts) in &knob_builds {
                        let xy: Vec<[f64; 2]> = pts
                            .iter()
                            .filter_map(|p| p.knob.value().map(|e| [e as f64, p.op.recall]))
                            .collect();
                        let name = pts[0].build_label.clone();
                        if xy.len() > 1 {
                            plot.line(
                                Line::new(name.clone(), PlotPoints::from(xy.clone()))
                                    .color(build_color(*id)),
                            );
                        }
                        plot.points(
                            Points::new(name, PlotPoints::from(xy))
                                .radius(3.0)
                                .color(build_color(*id)),
                        );
                    }
                    for p in knob_builds.values().flatten().filter(|p| is_current(p)) {
                        if let Some(e) = p.knob.value() {
                            plot.points(current_marker([e as f64, p.op.recall]));
                        }
                    }
                });
        });
        // QPS and latency against ef.
        ui.vertical(|ui| {
            ui.set_max_width(third_w);
            ui.strong(format!(
                "Latency (µs, p50 solid, p99 dashed) against {knob}"
            ));
            Plot::new("latency_vs_ef")
                .width(third_w)
                .height(half_h - 20.0)
                .legend(Legend::default().position(egui_plot::Corner::LeftTop))
                .x_axis_label(knob)
                .y_axis_label("µs per query")
                .include_y(0.0)
                .show(ui, |plot| {
                    for (id, pts) in &knob_builds {
                        let name = pts[0].build_label.clone();
                        let p50: Vec<[f64; 2]> = pts
                            .iter()
                            .filter_map(|p| p.knob.value().map(|e| [e as f64, p.op.p50_us]))
                            .collect();
                        let p99: Vec<[f64; 2]> = pts
                            .iter()
                            .filter_map(|p| p.knob.value().map(|e| [e as f64, p.op.p99_us]))
                            .collect();
                        // One legend entry per build (p50 and p99 share
                        // its name, so they toggle together).
                        plot.line(
                            Line::new(name.clone(), PlotPoints::from(p50)).color(build_color(*id)),
                        );
                        plot.line(
                            Line::new(name.clone(), PlotPoints::from(p99))
                                .color(build_color(*id))
                                .style(egui_plot::LineStyle::dashed_loose()),
                        );
                        let bars = pts.iter().filter_map(|p| {
                            let s = p.op.p99_spread?;
                            let e = p.knob.value()? as f64;
                            Some([[e, s.lo], [e, s.hi]])
                        });
                        spread_bars(plot, &name, build_color(*id), bars);
                    }
                    for p in knob_builds.values().flatten().filter(|p| is_current(p)) {
                        if let Some(e) = p.knob.value() {
                            plot.points(current_marker([e as f64, p.op.p50_us]));
                        }
                    }
                });
        });
        ui.vertical(|ui| {
            ui.set_max_width(third_w);
            ui.strong(format!("Distance computations per query against {knob}"));
            Plot::new("dist_vs_ef")
                .width(third_w)
                .height(half_h - 20.0)
                .legend(Legend::default().position(egui_plot::Corner::LeftTop))
                .x_axis_label(knob)
                .y_axis_label("distances")
                .include_y(0.0)
                .show(ui, |plot| {
                    for (id, pts) in &knob_builds {
                        let xy: Vec<[f64; 2]> = pts
                            .iter()
                            .filter_map(|p| Some([p.knob.value()? as f64, p.op.dist_comps?]))
                            .collect();
                        plot.line(
                            Line::new(pts[0].build_label.clone(), PlotPoints::from(xy))
                                .color(build_color(*id)),
                        );
                    }
                });
        });
    });
    ui.horizontal(|ui| {
        // The trade-off: recall on x, log10 QPS on y.
        ui.vertical(|ui| {
            ui.set_max_width(half_w);
            ui.strong(format!(
                "Recall@{k} – QPS trade-off (one thread; up and right is better)"
            ))
            .on_hover_text(SPREAD_HELP);
            if let Some(cores) = session
                .work
                .points
                .iter()
                .filter(|p| is_current(p))
                .find_map(|p| p.op.other_cpu_cores)
                .filter(|&c| c > BUSY_CORES)
            {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Busy machine: other processes used {cores:.1} cores while the current setting was timed; its QPS may be low."),
                );
            }
            Plot::new("tradeoff")
                .width(half_w)
                .height(half_h - 20.0)
                .legend(Legend::default().position(egui_plot::Corner::LeftBottom))
                .x_axis_label(format!("recall@{k}"))
                .y_axis_label("queries per second (log)")
                .y_axis_formatter(|mark, _| log_tick(mark.value))
                .label_formatter(|h| match h {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => Some(format!(
                        "{plot_name}\nrecall {:.4}\nQPS {:.0}",
                        position.x,
                        10f64.powf(position.y)
                    )),
                    _ => None,
                })
                .show(ui, |plot| {
                    for (id, pts) in &by_build {
                        let mut xy: Vec<[f64; 2]> = pts
                            .iter()
                            .map(|p| [p.op.recall, p.op.qps.max(1e-3).log10()])
                            .collect();
                        xy.sort_by(|a, b| a[0].total_cmp(&b[0]));
                        let name = pts[0].build_label.clone();
                        if xy.len() > 1 {
                            plot.line(
                                Line::new(name.clone(), PlotPoints::from(xy.clone()))
                                    .color(build_color(*id)),
                            );
                        }
                        plot.points(
                            Points::new(name.clone(), PlotPoints::from(xy))
                                .radius(3.0)
                                .color(build_color(*id)),
                        );
                        let bars = pts.iter().filter_map(|p| {
                            let s = p.op.qps_spread?;
                            let log = |v: f64| v.max(1e-3).log10();
                            Some([[p.op.recall, log(s.lo)], [p.op.recall, log(s.hi)]])
                        });
                        spread_bars(plot, &name, build_color(*id), bars);
                    }
                    for p in by_build.values().flatten().filter(|p| is_current(p)) {
                        plot.points(current_marker([p.op.recall, p.op.qps.max(1e-3).log10()]));
                    }
                    tuner_points(plot, tuned);
                });
        });
        ui.vertical(|ui| {
            ui.set_max_width(half_w);
            ui.strong(format!(
                "Memory ladder: recall@{k} against bytes held per vector (at the current {knob})"
            ));
            memory_chart(ui, session, settings, &is_current, half_w, half_h - 20.0);
        });
    });
}

/// One point per build: what the index holds resident per vector (log
/// axis) against its recall at the current setting, so the rungs of the
/// memory ladder (f16 walk, 8- and 4-bit codes, RaBitQ, vectors on disk)
/// read at a glance: left is cheaper, up is better.
fn memory_chart(
    ui: &mut Ui,
    session: &Session,
    settings: &Settings,
    is_current: &dyn Fn(&Point) -> bool,
    width: f32,
    height: f32,
) {
    let n = session.loaded.as_ref().map_or(1, |l| l.base.len().max(1)) as f64;
    Plot::new("memory_ladder")
        .width(width)
        .height(height)
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .x_axis_label("resident bytes per vector (log)")
        .y_axis_label("recall")
        .x_axis_formatter(|mark, _| log_tick(mark.value))
        .include_y(1.0)
        .label_formatter(|h| match h {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}
{:.0} B per vector
recall {:.4}",
                10f64.powf(position.x),
                position.y
            )),
            _ => None,
        })
        .show(ui, |plot| {
            for p in ladder_points(session, settings.k, settings.knob(), settings.rescoring()) {
                let xy = [(p.op.index_bytes as f64 / n).max(1.0).log10(), p.op.recall];
                plot.points(
                    Points::new(ladder_label(p), PlotPoints::from(vec![xy]))
                        .radius(5.0)
                        .color(build_color(p.build_id)),
                );
                if is_current(p) {
                    plot.points(current_marker(xy));
                }
            }
        });
}

/// The memory chart's points: per build, the one at the current knob (or,
/// for a build that takes no knob, its only one), at the current
/// oversampling when measured there, else at the one it was last measured
/// at (its legend says which).
fn ladder_points(
    session: &Session,
    k: usize,
    knob: crate::index::SearchKnob,
    rescoring: crate::index::Rescoring,
) -> Vec<&Point> {
    let mut by_build: BTreeMap<usize, Vec<&Point>> = BTreeMap::new();
    for p in session.work.points.iter().filter(|p| p.k == k) {
        by_build.entry(p.build_id).or_default().push(p);
    }
    by_build
        .values()
        .filter_map(|pts| {
            let at_knob = |p: &&&Point| p.knob == knob || p.knob.value().is_none();
            pts.iter()
                .filter(at_knob)
                .find(|p| p.rescoring.is_none_or(|r| r == rescoring))
                .or_else(|| pts.iter().rev().find(at_knob))
                .copied()
        })
        .collect()
}

/// A build's name on the memory chart: its label, and the oversampling of
/// the point shown when the build walks codes.
fn ladder_label(p: &Point) -> String {
    match p.rescoring {
        Some(r) if r.rescore => format!("{} · oversample {}", p.build_label, r.oversample),
        Some(_) => format!("{} · codes only", p.build_label),
        None => p.build_label.clone(),
    }
}

/// What the memory chart shows for these settings: (build, bytes held per
/// vector, recall), one per build measured at the current knob.
pub fn memory_ladder(session: &Session, settings: &Settings) -> Vec<(usize, f64, f64)> {
    let n = session.loaded.as_ref().map_or(1, |l| l.base.len().max(1)) as f64;
    ladder_points(session, settings.k, settings.knob(), settings.rescoring())
        .into_iter()
        .map(|p| (p.build_id, p.op.index_bytes as f64 / n, p.op.recall))
        .collect()
}

/// The tuner's full-size points: its frontier solid, dominated points
/// faded, the pick ringed.
fn tuner_points(plot: &mut egui_plot::PlotUi<'_>, pts: &[super::tuner::ChartPoint]) {
    if pts.is_empty() {
        return;
    }
    let xy = |p: &super::tuner::ChartPoint| [p.recall, p.qps.max(1e-3).log10()];
    let (frontier, dominated): (Vec<_>, Vec<_>) = pts.iter().partition(|p| p.frontier);
    let mut front: Vec<[f64; 2]> = frontier.iter().copied().map(xy).collect();
    front.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let gold = Color32::from_rgb(230, 170, 40);
    plot.points(
        Points::new(
            "tuner (dominated)",
            PlotPoints::from(dominated.iter().copied().map(xy).collect::<Vec<_>>()),
        )
        .radius(2.0)
        .color(Color32::from_rgba_unmultiplied(150, 150, 150, 90)),
    );
    plot.line(Line::new("tuner frontier", PlotPoints::from(front.clone())).color(gold));
    plot.points(
        Points::new("tuner frontier", PlotPoints::from(front))
            .radius(3.5)
            .color(gold),
    );
    for p in pts.iter().filter(|p| p.pick) {
        plot.points(
            Points::new("tuner's pick", PlotPoints::from(vec![xy(p)]))
                .radius(9.0)
                .filled(false)
                .color(gold),
        );
    }
}

/// What the bars on the QPS and latency charts are.
const SPREAD_HELP: &str = "Each full measurement is timed 5 times: the point is the median run, the bar the range the median lies in with 90% confidence (order statistics of the runs). Two settings differ in speed only when their bars do not overlap.";

/// Above this many cores' worth of other processes' CPU, the app says the
/// machine was busy while a setting was timed.
const BUSY_CORES: f64 = 0.25;

/// Vertical bars from `segments` ([bottom, top] each), drawn under the
/// build's name so that they hide and show with its curve.
fn spread_bars(
    plot: &mut egui_plot::PlotUi<'_>,
    name: &str,
    color: Color32,
    segments: impl Iterator<Item = [[f64; 2]; 2]>,
) {
    for seg in segments {
        plot.line(
            Line::new(name.to_string(), PlotPoints::from(seg.to_vec()))
                .color(color)
                .width(1.5),
        );
    }
}

fn current_marker(xy: [f64; 2]) -> Points<'static> {
    Points::new("current setting", PlotPoints::from(vec![xy]))
        .shape(MarkerShape::Circle)
        .filled(false)
        .radius(8.0)
        .color(Color32::from_rgb(255, 90, 30))
}

/// A label for a log10 grid mark: only at 1, 2 and 5 × 10ⁿ, so the log axis
/// reads like ann-benchmarks' plots instead of 10^0.1 steps.
fn log_tick(log10_value: f64) -> String {
    let v = 10f64.powf(log10_value);
    let decade = 10f64.powf(log10_value.floor());
    let mantissa = v / decade;
    let near = |m: f64| (mantissa - m).abs() < 0.03 * m;
    if near(1.0) || near(2.0) || near(5.0) || near(10.0) {
        let rounded = (mantissa.round()) * decade;
        if rounded >= 1000.0 {
            format!("{:.0}k", rounded / 1000.0)
        } else {
            format!("{rounded:.0}")
        }
    } else {
        String::new()
    }
}

/// Flat and HNSW mean latency against collection size (log axis), with the
/// measured crossover: where the dynamic index should switch.
pub fn crossover_ui(ui: &mut Ui, session: &Session) {
    let Some(c) = &session.work.crossover else {
        ui.label("Measuring the flat/HNSW crossover…");
        return;
    };
    ui.strong(format!(
        "Latency against collection size (HNSW at the smallest ef reaching recall {:.2}){}",
        c.recall_target,
        c.threshold.map_or(String::new(), |t| format!(
            ": HNSW wins from about {t:.0} vectors"
        ))
    ));
    let flat: Vec<[f64; 2]> = c
        .points
        .iter()
        .map(|p| [(p.n as f64).log10(), p.flat_us])
        .collect();
    let hnsw: Vec<[f64; 2]> = c
        .points
        .iter()
        .filter_map(|p| Some([(p.n as f64).log10(), p.hnsw_us?]))
        .collect();
    Plot::new("crossover")
        .height(220.0)
        .legend(Legend::default())
        .x_axis_label("vectors (log)")
        .y_axis_label("µs per query")
        .x_axis_formatter(|mark, _| log_tick(mark.value))
        .include_y(0.0)
        .show(ui, |plot| {
            plot.line(Line::new("flat", PlotPoints::from(flat)).color(build_color(1)));
            plot.line(Line::new("HNSW", PlotPoints::from(hnsw)).color(build_color(0)));
            if let Some(t) = c.threshold {
                plot.add(
                    egui_plot::VLine::new("crossover", t.log10())
                        .color(Color32::from_rgb(255, 90, 30)),
                );
            }
        });
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_ticks_only_at_one_two_five() {
        assert_eq!(super::log_tick(3.0), "1k");
        assert_eq!(super::log_tick(2.0f64.log10() + 3.0), "2k");
        assert_eq!(super::log_tick(5.0f64.log10() + 2.0), "500");
        assert_eq!(super::log_tick(3.1), "");
    }
}
