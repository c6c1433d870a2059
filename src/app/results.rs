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

const COLUMNS: [&str; 13] = [
    "build",
    "k",
    "ef",
    "search_probe",
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

fn row(p: &Point) -> [String; 13] {
    // The search knob goes in its own column: ef for HNSW, search_probe for HFresh.
    let probe = p.op.params.contains_key("search_probe");
    let knob = |wanted: bool| {
        p.ef.filter(|_| wanted)
            .map_or(String::new(), |e| e.to_string())
    };
    [
        p.build_label.clone(),
        p.k.to_string(),
        knob(!probe),
        knob(probe),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{OperatingPoint, QueryMode};
    use crate::index::ParamMap;

    fn point(estimate: bool, recall: f64) -> Point {
        let op = OperatingPoint {
            index: "hnsw".into(),
            params: ParamMap::from([("ef".to_string(), 32.into()), ("m".to_string(), 16.into())]),
            k: 10,
            queries: 200,
            recall,
            qps: 1000.0,
            p50_us: 10.0,
            p95_us: 20.0,
            p99_us: 30.0,
            build_s: 0.5,
            index_bytes: 1234,
            disk_bytes: 0,
            dist_comps: Some(600.0),
            mean_us: 12.0,
            hops: Some(40.0),
            mode: QueryMode::Single,
            threads: 1,
            metric: "cosine".into(),
            dataset: "sample, with a comma".into(),
        };
        Point {
            build_id: 0,
            build_label: "HNSW M=16 efC=200".into(),
            k: 10,
            ef: Some(32),
            estimate,
            queries_measured: 200,
            op,
        }
    }

    #[test]
    fn json_lines_are_the_bench_format_and_skip_estimates() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("points.jsonl");
        let n = export(
            &[point(false, 0.98), point(true, 0.5)],
            ExportFormat::JsonLines,
            &path,
        )
        .expect("export");
        assert_eq!(n, 1);
        let text = std::fs::read_to_string(&path).expect("read");
        let v: serde_json::Value = serde_json::from_str(text.trim()).expect("one json line");
        for key in crate::eval::OperatingPoint::CONTRACT_FIELDS {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["params"]["ef"], 32);
        assert_eq!(v["recall"], 0.98);
    }

    #[test]
    fn csv_has_a_header_and_quotes_commas() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("points.csv");
        export(&[point(false, 0.98)], ExportFormat::Csv, &path).expect("export");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert!(
            lines[1].starts_with("HNSW M=16 efC=200,10,32,,0.9800,"),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn the_knob_goes_in_its_own_column() {
        let hnsw = row(&point(false, 0.9));
        assert_eq!((hnsw[2].as_str(), hnsw[3].as_str()), ("32", ""));
        let mut hf = point(false, 0.9);
        hf.op.params = ParamMap::from([("search_probe".to_string(), 16.into())]);
        hf.ef = Some(16);
        let cells = row(&hf);
        assert_eq!((cells[2].as_str(), cells[3].as_str()), ("", "16"));
        assert_eq!(COLUMNS[2], "ef");
        assert_eq!(COLUMNS[3], "search_probe");
    }
}
