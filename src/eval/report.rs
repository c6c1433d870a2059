//! Writing operating points: JSON lines (the `bench --format json`
//! contract), a fixed-width table, and CSV. One writer per format, shared by
//! the CLI's `bench` and the app's export.

use std::io::{self, Write};

use super::OperatingPoint;

/// How operating points are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One JSON object per line, the bench contract.
    Json,
    /// Aligned columns for a terminal.
    Table,
    /// Comma-separated, with a header row.
    Csv,
}

impl ReportFormat {
    /// The file extension of an export in this format.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "jsonl",
            ReportFormat::Table => "txt",
            ReportFormat::Csv => "csv",
        }
    }
}

/// The CSV (and the app's table) columns; `build` is the build's label.
pub const CSV_COLUMNS: [&str; 13] = [
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

/// The table's columns, and the widths of those after `params` (the
/// widths of [`PointWriter::point`]'s table row).
#[rustfmt::skip]
const TABLE_COLUMNS: [&str; 9] = [
    "index", "params", "recall", "qps", "p50_us", "p95_us", "p99_us", "dist_comps", "index_MB",
];
const TABLE_WIDTHS: [usize; 7] = [8, 10, 9, 9, 9, 11, 12];

/// One point's CSV cells, unquoted; the search knob in its own column.
pub fn csv_cells(build: &str, p: &OperatingPoint) -> [String; 13] {
    let param = |name: &str| p.params.get(name).map_or(String::new(), |v| v.to_string());
    [
        build.to_string(),
        p.k.to_string(),
        param("ef"),
        param("search_probe"),
        format!("{:.4}", p.recall),
        format!("{:.1}", p.qps),
        format!("{:.1}", p.p50_us),
        format!("{:.1}", p.p95_us),
        format!("{:.1}", p.p99_us),
        p.dist_comps.map_or(String::new(), |d| format!("{d:.1}")),
        p.index_bytes.to_string(),
        format!("{:.3}", p.build_s),
        p.queries.to_string(),
    ]
}

/// Writes points in one format: the header (if the format has one), then
/// one record per point.
pub struct PointWriter<W: Write> {
    format: ReportFormat,
    out: W,
}

impl<W: Write> PointWriter<W> {
    pub fn new(format: ReportFormat, out: W) -> Self {
        PointWriter { format, out }
    }

    /// The header: `title` as a comment line (table only) and the columns.
    pub fn header(&mut self, title: Option<&str>) -> io::Result<()> {
        match self.format {
            ReportFormat::Json => Ok(()),
            ReportFormat::Csv => writeln!(self.out, "{}", CSV_COLUMNS.join(",")),
            ReportFormat::Table => {
                if let Some(title) = title {
                    writeln!(self.out, "# {title}")?;
                }
                let [index, params, rest @ ..] = TABLE_COLUMNS;
                write!(self.out, "{index:<8} {params:<60}")?;
                for (name, width) in rest.iter().zip(TABLE_WIDTHS) {
                    write!(self.out, " {name:>width$}")?;
                }
                writeln!(self.out)
            }
        }
    }

    /// One point; `build` labels it in CSV.
    pub fn point(&mut self, build: &str, p: &OperatingPoint) -> io::Result<()> {
        match self.format {
            ReportFormat::Json => {
                let line = serde_json::to_string(p).map_err(io::Error::other)?;
                writeln!(self.out, "{line}")
            }
            ReportFormat::Csv => {
                let cells: Vec<String> = csv_cells(build, p).iter().map(|c| csv_quote(c)).collect();
                writeln!(self.out, "{}", cells.join(","))
            }
            ReportFormat::Table => {
                let params = serde_json::to_string(&p.params).map_err(io::Error::other)?;
                writeln!(
                    self.out,
                    "{:<8} {:<60} {:>8.4} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>11} {:>12.1}",
                    p.index,
                    params,
                    p.recall,
                    p.qps,
                    p.p50_us,
                    p.p95_us,
                    p.p99_us,
                    p.dist_comps.map_or("-".into(), |d| format!("{d:.0}")),
                    p.index_bytes as f64 / 1e6
                )
            }
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn csv_quote(cell: &str) -> String {
    if cell.contains(',') || cell.contains('"') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}
