//! The TEXMEX formats (.fvecs, .ivecs, .bvecs), as SIFT/GIST and FAISS use:
//! each record is a little-endian `i32` dimension followed by that many
//! elements (f32, i32 or u8).
//!
//! An .fvecs file is memory-mapped, not copied: its rows are read in place,
//! one float past each record's header. The other two are converted to f32
//! once, in parallel, checking every record header as they go.

use std::path::Path;

use rayon::prelude::*;

use super::{map_file, DType, FileInfo, Format, Opened, Vectors};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// The largest dimension accepted; anything above is taken for a wrong format.
const MAX_DIM: usize = 1 << 20;

/// Checks one mapped record's dimension header during the validating scan.
#[derive(Clone, Copy, Debug)]
pub struct RecordCheck {
    dim: usize,
}

impl RecordCheck {
    /// The problem with record `i`, given the mapped floats, if any. The
    /// header sits one float before the row.
    pub fn check(&self, floats: &[f32], offset: usize, stride: usize, i: usize) -> Option<String> {
        let header = floats[offset + i * stride - 1].to_bits() as i32;
        (header as i64 != self.dim as i64).then(|| {
            format!(
                "record has dimension {header}, but the file's first record has {} (mixed dimensions)",
                self.dim
            )
        })
    }
}

fn elem_size(format: Format) -> usize {
    match format {
        Format::Bvecs => 1,
        _ => 4,
    }
}

fn dtype_of(format: Format) -> DType {
    match format {
        Format::Bvecs => DType::U8,
        Format::Ivecs => DType::I32,
        _ => DType::F32,
    }
}

/// Reads the layout from the first header and the file size.
fn layout(path: &Path, bytes: &[u8], format: Format) -> Result<(usize, usize, usize)> {
    if bytes.is_empty() {
        return Err(Error::format(path, "empty file"));
    }
    if bytes.len() < 4 {
        return Err(Error::format(
            path,
            format!(
                "truncated: {} bytes, shorter than one record header",
                bytes.len()
            ),
        ));
    }
    let d = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if d <= 0 || d as usize > MAX_DIM {
        return Err(Error::format(
            path,
            format!(
                "first record header says dimension {d}: not a valid .{} file",
                format.name()
            ),
        ));
    }
    let dim = d as usize;
    let record = 4 + dim * elem_size(format);
    if !bytes.len().is_multiple_of(record) {
        return Err(Error::format(
            path,
            format!(
                "truncated or mixed dimensions: {} bytes is not a whole number of {record}-byte records (dimension {dim} from the first record)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / record;
    // The last header is cheap to check and catches most mixed files at open.
    let last = (n - 1) * record;
    let d_last = i32::from_le_bytes([
        bytes[last],
        bytes[last + 1],
        bytes[last + 2],
        bytes[last + 3],
    ]);
    if d_last != d {
        return Err(Error::format(
            path,
            format!(
                "mixed dimensions: record {} has dimension {d_last}, the first has {dim}",
                n - 1
            ),
        ));
    }
    Ok((n, dim, record))
}

/// `annscope info` for the TEXMEX formats: header and size only.
pub fn info(path: &Path, format: Format) -> Result<FileInfo> {
    let map = map_file(path)?;
    let (n, dim, _) = layout(path, &map, format)?;
    Ok(FileInfo {
        n,
        dim,
        dtype: dtype_of(format),
        format,
        mmapped: format == Format::Fvecs && cfg!(target_endian = "little"),
    })
}

pub(crate) fn open(path: &Path, format: Format, ctx: &WorkContext) -> Result<Opened> {
    let map = map_file(path)?;
    let (n, dim, record) = layout(path, &map, format)?;
    let info = FileInfo {
        n,
        dim,
        dtype: dtype_of(format),
        format,
        mmapped: false,
    };
    if format == Format::Fvecs && cfg!(target_endian = "little") {
        return Ok(Opened {
            info: FileInfo {
                mmapped: true,
                ..info
            },
            vectors: Vectors::mapped(map, 1, dim + 1, n, dim),
            record_check: Some(RecordCheck { dim }),
        });
    }
    // Convert once, in parallel, checking each record's header.
    ctx.progress
        .stage(&format!("converting {} to f32", format.name()), n as u64);
    let mut data = vec![0.0f32; n * dim];
    const ROWS: usize = 1024;
    data.par_chunks_mut(ROWS * dim)
        .enumerate()
        .try_for_each(|(c, out)| -> Result<()> {
            ctx.cancel.check()?;
            for (j, row) in out.chunks_exact_mut(dim).enumerate() {
                let i = c * ROWS + j;
                let rec = &map[i * record..(i + 1) * record];
                let d = i32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
                if d as i64 != dim as i64 {
                    return Err(Error::BadValue {
                        path: path.to_path_buf(),
                        row: i,
                        problem: format!("record has dimension {d}, but the first record has {dim} (mixed dimensions)"),
                    });
                }
                let body = &rec[4..];
                match format {
                    Format::Bvecs => row.iter_mut().zip(body).for_each(|(o, &b)| *o = f32::from(b)),
                    Format::Ivecs => row
                        .iter_mut()
                        .zip(body.chunks_exact(4))
                        .for_each(|(o, b)| *o = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32),
                    _ => row
                        .iter_mut()
                        .zip(body.chunks_exact(4))
                        .for_each(|(o, b)| *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                }
            }
            ctx.progress.add((out.len() / dim) as u64);
            Ok(())
        })?;
    Ok(Opened {
        info,
        vectors: Vectors::from_vec(data, dim)?,
        record_check: None,
    })
}

/// Rows of ids (an .ivecs ground-truth file): `n` rows of `k` ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdRows {
    pub n: usize,
    pub k: usize,
    pub ids: Vec<u32>,
}

impl IdRows {
    pub fn row(&self, i: usize) -> &[u32] {
        &self.ids[i * self.k..(i + 1) * self.k]
    }
}

/// Reads an .ivecs file of ids, every record checked; negative ids are refused.
pub fn read_ivecs(path: &Path) -> Result<IdRows> {
    crate::fsutil::check_input_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (n, k, record) = layout(path, &bytes, Format::Ivecs)?;
    let mut ids = Vec::with_capacity(n * k);
    for i in 0..n {
        let rec = &bytes[i * record..(i + 1) * record];
        let d = i32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
        if d as i64 != k as i64 {
            return Err(Error::BadValue {
                path: path.to_path_buf(),
                row: i,
                problem: format!("record has {d} ids, the first has {k} (mixed lengths)"),
            });
        }
        for b in rec[4..].chunks_exact(4) {
            let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if v < 0 {
                return Err(Error::BadValue {
                    path: path.to_path_buf(),
                    row: i,
                    problem: format!("negative id {v}"),
                });
            }
            ids.push(v as u32);
        }
    }
    Ok(IdRows { n, k, ids })
}

/// Writes rows of ids as .ivecs, atomically.
pub fn write_ivecs(path: &Path, rows: &IdRows) -> Result<()> {
    let mut out = Vec::with_capacity(rows.n * (rows.k + 1) * 4);
    for i in 0..rows.n {
        out.extend_from_slice(&(rows.k as i32).to_le_bytes());
        for &id in rows.row(i) {
            out.extend_from_slice(&id.to_le_bytes());
        }
    }
    crate::fsutil::write_atomic(path, &out)
}

/// Writes vectors as .fvecs, atomically.
pub fn write_fvecs(path: &Path, rows: impl Iterator<Item = impl AsRef<[f32]>>) -> Result<()> {
    let mut out = Vec::new();
    for row in rows {
        let row = row.as_ref();
        out.extend_from_slice(&(row.len() as i32).to_le_bytes());
        for v in row {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    crate::fsutil::write_atomic(path, &out)
}
