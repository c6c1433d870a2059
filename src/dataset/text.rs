//! Text formats: vectors as CSV/TSV, one per line (the TensorFlow Embedding
//! Projector's `vectors.tsv`), and labels (one line per vector, or the
//! Projector's metadata TSV, whose multi-column form has a header row).

use std::path::Path;

use super::{DType, FileInfo, Format, Opened, Vectors};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

fn read_text(path: &Path) -> Result<String> {
    crate::fsutil::check_input_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::format(path, "empty file"));
    }
    // A byte-order mark is not part of the first value.
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            format!(
                "not a text file (invalid UTF-8 at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn split(line: &str, sep: char) -> impl Iterator<Item = &str> {
    line.split(sep).map(str::trim)
}

/// Parses a CSV or TSV file of vectors. The first line is a header of
/// column names only when none of its cells is a number and it has as many
/// cells as the data rows; one with another count is an error naming it, so
/// a damaged first vector is never dropped as a "header".
pub(crate) fn open(path: &Path, ctx: &WorkContext) -> Result<Opened> {
    let text = read_text(path)?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let sep = if first.contains('\t') {
        '\t'
    } else if first.contains(',')
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        ','
    } else {
        '\t'
    };
    let format = if sep == ',' { Format::Csv } else { Format::Tsv };
    let total_lines = text.lines().count();
    ctx.progress
        .stage("reading text vectors", total_lines as u64);

    let mut rows = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let header = match (rows.next(), rows.next()) {
        (Some((at, first)), second) if split(first, sep).all(|f| f.parse::<f32>().is_err()) => {
            let cells = split(first, sep).count();
            match second {
                Some((_, data)) if split(data, sep).count() != cells => {
                    return Err(Error::format(
                        path,
                        format!(
                            "line {}: {cells} cells, none a number, but the data rows have {}: \
                             neither a header of column names nor a vector",
                            at + 1,
                            split(data, sep).count()
                        ),
                    ));
                }
                _ => Some(at),
            }
        }
        _ => None,
    };
    let mut data = Vec::new();
    let mut dim = 0usize;
    for (lineno, raw) in text.lines().enumerate() {
        if lineno % 4096 == 0 {
            ctx.cancel.check()?;
            ctx.progress.set(lineno as u64);
        }
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if Some(lineno) == header {
            continue;
        }
        let fields: Vec<&str> = split(line, sep).collect();
        if dim == 0 {
            dim = fields.len();
        } else if fields.len() != dim {
            return Err(Error::format(
                path,
                format!(
                    "line {}: {} values, but the first vector has {dim} (mixed dimensions)",
                    lineno + 1,
                    fields.len()
                ),
            ));
        }
        for (col, f) in fields.iter().enumerate() {
            let v: f32 = f.parse().map_err(|_| {
                Error::format(
                    path,
                    format!(
                        "line {}, column {}: '{f}' is not a number",
                        lineno + 1,
                        col + 1
                    ),
                )
            })?;
            data.push(v);
        }
    }
    if dim == 0 {
        return Err(Error::format(path, "the file holds no vectors"));
    }
    let vectors = Vectors::from_vec(data, dim)?;
    Ok(Opened {
        info: FileInfo {
            n: vectors.len(),
            dim,
            dtype: DType::F32,
            format,
            mmapped: false,
        },
        vectors,
        record_check: None,
    })
}

/// Reads labels: one line per vector; or, for a tab-separated file with more
/// than one column (the Projector's metadata), a header row and then one row
/// per vector, shown as its fields joined with " · ".
pub fn read_labels(path: &Path) -> Result<Vec<String>> {
    let text = read_text(path)?;
    let mut lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let multi_column = lines.first().is_some_and(|l| l.contains('\t'));
    if multi_column {
        let width = lines[0].split('\t').count();
        return Ok(lines[1..]
            .iter()
            .map(|l| {
                let fields: Vec<&str> = l.split('\t').take(width).collect();
                fields.join(" · ")
            })
            .collect());
    }
    Ok(lines.into_iter().map(str::to_owned).collect())
}
