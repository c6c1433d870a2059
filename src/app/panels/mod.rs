//! The side panel, one file per section: [`dataset`], [`index`] (with
//! [`kind_fields`] for the settings a kind's family lists, [`storage`] and
//! [`engine`] for what it holds and where), [`search`] (the
//! live sliders) and [`tune`]; here the messages and the debug readout.
//! Panels read the session and settings and push [`Command`]s; they never
//! start work themselves.

mod dataset;
mod engine;
mod index;
mod kind_fields;
mod search;
mod storage;
mod tune;

pub use dataset::dataset_ui;
use engine::{engine_ui, qdrant_ui};
pub use index::index_ui;
use kind_fields::fields_ui;
pub use search::tuning_ui;
use storage::storage_ui;
pub use tune::tune_ui;

use egui::{Color32, RichText, Ui};

use super::session::Session;
use super::settings::Settings;
use super::{Command, FrameTimes};
use crate::distance::Metric;
use crate::index::quant::Quantizer;
use crate::index::{family, param_spec, IndexKind, IndexSpec, KnobKind};
use crate::index::{AnnIndex, Precision, VectorPlace};

fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// Errors and notices, each with a way to dismiss it.
pub fn messages_ui(ui: &mut Ui, session: &mut Session) {
    if let Some(err) = session.error.clone() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Error: {err}")).color(Color32::from_rgb(220, 80, 60)));
            if ui.small_button("Dismiss").clicked() {
                session.error = None;
            }
        });
        ui.separator();
    }
    if let Some(note) = session.notice.clone() {
        ui.horizontal_wrapped(|ui| {
            ui.label(note);
            if ui.small_button("OK").clicked() {
                session.notice = None;
            }
        });
        ui.separator();
    }
}

pub fn debug_ui(
    ui: &mut Ui,
    times: &FrameTimes,
    ready_after: Option<f64>,
    ef_response_ms: Option<f64>,
) {
    ui.heading("Debug");
    let (mean, max) = times.summary();
    ui.label(format!(
        "UI frame CPU: mean {mean:.2} ms, max {max:.2} ms (last 240 frames)"
    ));
    ui.label(format!("Worst frame since start: {:.2} ms", times.worst_ms));
    if let Some(s) = ready_after {
        ui.label(format!("Data ready {s:.2} s after start"));
    }
    if let Some(ms) = ef_response_ms {
        ui.label(format!("Last ef/k change to first point: {ms:.0} ms"));
    }
}

/// A checkbox that switches `precision` between f16 (ticked) and f32.
fn half_checkbox(
    ui: &mut egui::Ui,
    precision: &mut Precision,
    label: &str,
    help: &str,
) -> egui::Response {
    let mut half = *precision == Precision::F16;
    let r = ui.checkbox(&mut half, label).on_hover_text(help);
    *precision = if half { Precision::F16 } else { Precision::F32 };
    r
}
