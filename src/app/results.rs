//! The table of every measured operating point, and its export to CSV and
//! to JSON lines in exactly the `annscope bench --format json` format.

use std::io::Write;
use std::path::Path;

use egui::Ui;

use super::session::{Point, Session};
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    JsonLines,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
        }
    }
}

const COLUMNS: [&str; 12] = [
    "build",
    "k",
    "ef",
    "recall",
    "qps",
    "p50_us",
    "p95_us",
    "p99_us",
    "dist_comps",
    "index_bytes",
    "build_s",
    "queries",
];

fn row(p: &Point) -> [String; 12] {
    [
        p.build_label.clone(),
        p.k.to_string(),
        p.ef.map_or(String::new(), |e| e.to_string()),
        format!("{:.4}", p.op.recall),
        format!("{:.1}", p.op.qps),
        format!("{:.1}", p.op.p50_us),
        format!("{:.1}", p.op.p95_us),
        format!("{:.1}", p.op.p99_us),
        p.op.dist_comps.map_or(String::new(), |d| format!("{d:.1}")),
        p.op.index_bytes.to_string(),
        format!("{:.3}", p.op.build_s),
        p.queries_measured.to_string(),
    ]
}

/// Writes the full (not estimated) points; returns how many.
pub fn export(points: &[Point], format: ExportFormat, path: &Path) -> Result<usize> {
    let full: Vec<&Point> = points.iter().filter(|p| !p.estimate).collect();
    crate::fsutil::write_atomic_with(path, |w| {
        match format {
            ExportFormat::Csv => {
                writeln!(w, "{}", COLUMNS.join(","))?;
                for p in &full {
                    let cells: Vec<String> = row(p)
                        .iter()
                        .map(|c| {
                            if c.contains(',') || c.contains('"') {
                                format!("\"{}\"", c.replace('"', "\"\""))
                            } else {
                                c.clone()
                            }
                        })
                        .collect();
                    writeln!(w, "{}", cells.join(","))?;
                }
            }
            ExportFormat::JsonLines => {
                for p in &full {
                    writeln!(
                        w,
                        "{}",
                        serde_json::to_string(&p.op).map_err(std::io::Error::other)?
                    )?;
                }
            }
        }
        Ok(())
    })?;
    Ok(full.len())
}

pub fn table_ui(ui: &mut Ui, session: &Session) {
    ui.horizontal(|ui| {
        ui.heading("Operating points");
        ui.label(format!("{} measured", session.points.len()));
    });
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("points")
                .striped(true)
                .num_columns(COLUMNS.len())
                .show(ui, |ui| {
                    for c in COLUMNS {
                        ui.strong(c);
                    }
                    ui.end_row();
                    let mut points: Vec<&Point> = session.points.iter().collect();
                    points.sort_by_key(|p| (p.build_id, p.k, p.ef));
                    for p in points {
                        for (i, cell) in row(p).into_iter().enumerate() {
                            if i == 3 && p.estimate {
                                ui.label(format!("{cell}*"));
                            } else {
                                ui.label(cell);
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}
