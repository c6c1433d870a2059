//! The table of every measured operating point, and its export to CSV and
//! to JSON lines in exactly the `annscope bench --format json` format.

use std::path::Path;

use egui::Ui;

use super::session::{Point, Session};
use crate::error::Result;
use crate::eval::report::{csv_cells, CSV_COLUMNS};
use crate::eval::{PointWriter, ReportFormat};

/// Writes the full (not estimated) points, atomically; returns how many.
pub fn export(points: &[Point], format: ReportFormat, path: &Path) -> Result<usize> {
    let full: Vec<&Point> = points.iter().filter(|p| !p.estimate).collect();
    crate::fsutil::write_atomic_with(path, |w| {
        let mut out = PointWriter::new(format, w);
        out.header(None)?;
        for p in &full {
            out.point(&p.build_label, &p.op)?;
        }
        Ok(())
    })?;
    Ok(full.len())
}

pub fn table_ui(ui: &mut Ui, session: &Session) {
    ui.horizontal(|ui| {
        ui.heading("Operating points");
        ui.label(format!("{} measured", session.work.points.len()));
    });
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("points")
                .striped(true)
                .num_columns(CSV_COLUMNS.len())
                .show(ui, |ui| {
                    for c in CSV_COLUMNS {
                        ui.strong(c);
                    }
                    ui.end_row();
                    let mut points: Vec<&Point> = session.work.points.iter().collect();
                    points.sort_by_key(|p| (p.build_id, p.k, p.knob.value()));
                    for p in points {
                        for (i, cell) in csv_cells(&p.build_label, &p.op).into_iter().enumerate() {
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
    use crate::index::{ParamMap, SearchKnob};

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
            mapped_resident_bytes: None,
            rss_bytes: None,
            rescored: None,
            major_faults_per_query: None,
            read_bytes_per_query: None,
            cold: false,
            vector_cache_hits: None,
            vector_cache_misses: None,
            vector_cache_drops: None,
            qps_median: None,
            qps_spread: None,
            p99_spread: None,
            runs: 1,
            other_cpu_cores: None,
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
            knob: SearchKnob::Ef(32),
            rescoring: None,
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
            ReportFormat::Json,
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
        export(&[point(false, 0.98)], ReportFormat::Csv, &path).expect("export");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(
            lines[1].starts_with("HNSW M=16 efC=200,10,32,,0.9800,"),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn the_knob_goes_in_its_own_column() {
        let row = |p: &Point| csv_cells(&p.build_label, &p.op);
        let hnsw = row(&point(false, 0.9));
        assert_eq!((hnsw[2].as_str(), hnsw[3].as_str()), ("32", ""));
        let mut hf = point(false, 0.9);
        hf.op.params = ParamMap::from([("search_probe".to_string(), 16.into())]);
        hf.knob = SearchKnob::Probe(16);
        let cells = row(&hf);
        assert_eq!((cells[2].as_str(), cells[3].as_str()), ("", "16"));
        assert_eq!(CSV_COLUMNS[2], "ef");
        assert_eq!(CSV_COLUMNS[3], "search_probe");
    }
}
