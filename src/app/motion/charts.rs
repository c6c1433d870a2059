//! The Motion lab's charts over time: recall@k at every search step, QPS,
//! latency (the band from p50 to p99 is each step's spread), tombstones,
//! the indexing queue and bytes held, one curve per run so strategies on
//! the same runbook sit side by side; a fresh build over the same live
//! rows, measured on demand, is a hollow diamond beside them. x is the runbook's step (writes by
//! hand and maintenance on demand get the places after the step they
//! followed) or seconds since the run started.

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, LineStyle, MarkerShape, Plot, PlotPoints, Points};

use super::settings::Axis;
use super::{MotionLab, MotionRun};
use crate::churn::StepLine;

/// A colour per run, stable across frames: the builds' palette.
pub fn run_color(id: usize) -> Color32 {
    crate::app::plots::build_color(id)
}

type Series = fn(&StepLine) -> Option<f64>;

struct Chart {
    id: &'static str,
    title: &'static str,
    y: &'static str,
    value: Series,
    /// A second, dashed series (p50 under p99).
    lower: Option<Series>,
    from_zero: bool,
    /// A state between searches carries this too (tombstones, queue,
    /// bytes): on the seconds axis the curve follows the states.
    state: Option<fn(&super::State) -> f64>,
}

const CHARTS: [Chart; 6] = [
    Chart {
        id: "motion-recall",
        title: "Recall@k at each search step",
        y: "recall",
        value: |l| l.recall,
        lower: None,
        from_zero: false,
        state: None,
    },
    Chart {
        id: "motion-qps",
        title: "Queries per second",
        y: "QPS",
        value: |l| Some(l.qps),
        lower: None,
        from_zero: true,
        state: None,
    },
    Chart {
        id: "motion-latency",
        title: "Latency, µs (p99 solid, p50 dashed)",
        y: "µs",
        value: |l| Some(l.p99_us),
        lower: Some(|l| Some(l.p50_us)),
        from_zero: true,
        state: None,
    },
    Chart {
        id: "motion-tombstones",
        title: "Tombstones held",
        y: "tombstones",
        value: |l| Some(l.tombstones as f64),
        lower: None,
        from_zero: true,
        state: Some(|s| s.tombstones as f64),
    },
    Chart {
        id: "motion-queue",
        title: "Indexing queue (writes acknowledged, not yet indexed)",
        y: "queued",
        value: |l| Some(l.queue_len as f64),
        lower: None,
        from_zero: true,
        state: Some(|s| s.queued as f64),
    },
    Chart {
        id: "motion-bytes",
        title: "Bytes held (MB)",
        y: "MB",
        value: |l| Some(l.index_bytes as f64 / 1e6),
        lower: None,
        from_zero: true,
        state: Some(|s| s.bytes as f64 / 1e6),
    },
];

fn x_of(axis: Axis, x: f64, line: &StepLine) -> f64 {
    match axis {
        Axis::Step => x,
        Axis::Seconds => line.elapsed_s,
    }
}

fn series(run: &MotionRun, axis: Axis, value: Series) -> Vec<[f64; 2]> {
    run.lines
        .iter()
        .filter_map(|(x, l)| value(l).map(|v| [x_of(axis, *x, l), v]))
        .collect()
}

/// Six charts in a grid of two columns.
pub fn charts_ui(ui: &mut Ui, lab: &MotionLab, axis: Axis) {
    if lab.runs.is_empty() {
        ui.label("No runs yet: choose a runbook and a strategy above and press Play new run.");
        return;
    }
    let avail = ui.available_size();
    let w = (avail.x - 12.0) / 2.0;
    let h = ((avail.y - 3.0 * 24.0) / 3.0).max(80.0);
    let x_label = match axis {
        Axis::Step => "runbook step",
        Axis::Seconds => "seconds",
    };
    for pair in CHARTS.chunks(2) {
        ui.horizontal(|ui| {
            for chart in pair {
                ui.vertical(|ui| {
                    ui.set_max_width(w);
                    ui.strong(chart.title);
                    chart_ui(ui, lab, chart, axis, x_label, w, h);
                });
            }
        });
    }
}

fn chart_ui(
    ui: &mut Ui,
    lab: &MotionLab,
    chart: &Chart,
    axis: Axis,
    x_label: &str,
    w: f32,
    h: f32,
) {
    let mut plot = Plot::new(chart.id)
        .width(w)
        .height(h)
        .x_axis_label(x_label)
        .y_axis_label(chart.y);
    if chart.from_zero {
        plot = plot.include_y(0.0);
    } else {
        plot = plot.include_y(1.0);
    }
    if chart.id == "motion-recall" {
        plot = plot.legend(Legend::default().position(egui_plot::Corner::LeftBottom));
    }
    plot.show(ui, |plot| {
        for run in &lab.runs {
            let color = run_color(run.id);
            let mut xy = series(run, axis, chart.value);
            if let (Axis::Seconds, Some(of_state)) = (axis, chart.state) {
                xy = run
                    .states
                    .iter()
                    .map(|s| [s.elapsed_s, of_state(s)])
                    .collect();
            }
            if xy.len() > 1 {
                plot.line(Line::new(run.label.clone(), PlotPoints::from(xy.clone())).color(color));
            }
            plot.points(
                Points::new(run.label.clone(), PlotPoints::from(xy))
                    .radius(2.5)
                    .color(color),
            );
            let fresh: Vec<[f64; 2]> = run
                .fresh
                .iter()
                .filter_map(|(x, l)| (chart.value)(l).map(|v| [x_of(axis, *x, l), v]))
                .collect();
            if !fresh.is_empty() {
                plot.points(
                    Points::new(
                        format!("{}: fresh build", run.label),
                        PlotPoints::from(fresh),
                    )
                    .shape(MarkerShape::Diamond)
                    .filled(false)
                    .radius(6.0)
                    .color(color),
                );
            }
            if let Some(lower) = chart.lower {
                let xy = series(run, axis, lower);
                plot.line(
                    Line::new(run.label.clone(), PlotPoints::from(xy))
                        .color(color)
                        .style(LineStyle::dashed_loose()),
                );
            }
        }
    });
}
