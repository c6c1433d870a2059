//! ann-benchmarks HDF5 files: `train` (the base), `test` (the queries),
//! `neighbors` and `distances` (the ground truth), and the `distance`
//! attribute (`euclidean` maps to l2, `angular` to cosine), read with the
//! pure-Rust `hdf5-pure`, so no system library is needed.
//!
//! HDF5 data is read into memory (it may be chunked or compressed).

use std::path::Path;

use hdf5_pure::{AttrValue, DType as H5Type, File};

use super::vecs::IdRows;
use super::{DType, FileInfo, Format, Opened, Vectors};
use crate::distance::Metric;
use crate::error::{Error, Result};

fn h5err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::format(path, format!("{what}: {e}"))
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| h5err(path, "not a readable HDF5 file", e))
}

/// Says whether `name` is missing from the file or there but unreadable
/// (a truncated or damaged file), rather than calling every failure missing.
fn missing_or_unreadable(path: &Path, file: &File, name: &str, e: impl std::fmt::Display) -> Error {
    match file.root().datasets() {
        Ok(names) if !names.iter().any(|n| n == name) => Error::format(
            path,
            format!(
                "no '{name}' dataset (the file has {}; an ann-benchmarks file has train, test, neighbors and distances)",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ),
        ),
        _ => h5err(path, &format!("cannot read dataset '{name}' (is the file truncated?)"), e),
    }
}

fn shape2(path: &Path, file: &File, name: &str) -> Result<(usize, usize, H5Type)> {
    let ds = file
        .dataset(name)
        .map_err(|e| missing_or_unreadable(path, file, name, e))?;
    let shape = ds.shape().map_err(|e| h5err(path, name, e))?;
    let dtype = ds.dtype().map_err(|e| h5err(path, name, e))?;
    match shape.as_slice() {
        [n, d] => Ok((*n as usize, *d as usize, dtype)),
        other => Err(Error::format(
            path,
            format!("'{name}' has shape {other:?}; expected 2-D"),
        )),
    }
}

fn dtype_name(path: &Path, name: &str, t: &H5Type) -> Result<DType> {
    Ok(match t {
        H5Type::F32 => DType::F32,
        H5Type::F64 => DType::F64,
        H5Type::U8 => DType::U8,
        H5Type::I32 => DType::I32,
        other => {
            return Err(Error::format(
                path,
                format!("'{name}' has element type {other:?}, which annscope does not read"),
            ))
        }
    })
}

/// `annscope info` for an HDF5 file: the `train` set's shape and type.
pub fn info(path: &Path) -> Result<FileInfo> {
    let file = open_file(path)?;
    let (n, dim, t) = shape2(path, &file, "train")?;
    Ok(FileInfo {
        n,
        dim,
        dtype: dtype_name(path, "train", &t)?,
        format: Format::Hdf5,
        mmapped: false,
    })
}

fn read_f32_set(path: &Path, file: &File, name: &str) -> Result<(Vectors, FileInfo)> {
    let (n, dim, t) = shape2(path, file, name)?;
    let dtype = dtype_name(path, name, &t)?;
    if dim == 0 {
        return Err(Error::format(path, format!("'{name}' has dimension 0")));
    }
    let ds = file.dataset(name).map_err(|e| h5err(path, name, e))?;
    let data = ds.read_f32().map_err(|e| h5err(path, name, e))?;
    if data.len() != n * dim {
        return Err(Error::format(
            path,
            format!(
                "'{name}' holds {} values, its shape says {}",
                data.len(),
                n * dim
            ),
        ));
    }
    let info = FileInfo {
        n,
        dim,
        dtype,
        format: Format::Hdf5,
        mmapped: false,
    };
    Ok((Vectors::from_vec(data, dim)?, info))
}

pub(crate) fn open_set(path: &Path, name: &str) -> Result<Opened> {
    let file = open_file(path)?;
    let (vectors, info) = read_f32_set(path, &file, name)?;
    Ok(Opened {
        info,
        vectors,
        record_check: None,
    })
}

/// Everything an ann-benchmarks file holds besides the base.
pub struct Extras {
    pub metric: Option<Metric>,
    pub queries: Vectors,
    pub neighbors: Option<IdRows>,
    pub distances: Option<Vec<f32>>,
}

/// The metric the `distance` attribute names (ann-benchmarks' `euclidean`
/// is l2, `angular` cosine), if the file has one: read alone, for `info`.
pub fn read_metric(path: &Path) -> Result<Option<Metric>> {
    metric_of(path, &open_file(path)?)
}

fn metric_of(path: &Path, file: &File) -> Result<Option<Metric>> {
    let metric = match file
        .root()
        .attrs()
        .ok()
        .and_then(|a| a.get("distance").cloned())
    {
        // Fixed-width strings, and the variable-length ones h5py writes.
        Some(
            AttrValue::String(s)
            | AttrValue::AsciiString(s)
            | AttrValue::VarLenString(s)
            | AttrValue::VarLenAsciiString(s),
        ) => Some(
            s.parse::<Metric>()
                .map_err(|e| Error::format(path, format!("attribute 'distance': {e}")))?,
        ),
        Some(AttrValue::StringSized { value, .. })
        | Some(AttrValue::AsciiStringSized { value, .. }) => Some(
            value
                .parse::<Metric>()
                .map_err(|e| Error::format(path, format!("attribute 'distance': {e}")))?,
        ),
        _ => None,
    };
    Ok(metric)
}

/// Reads the `distance` attribute, the `test` queries and, when present,
/// the `neighbors`/`distances` ground truth.
pub fn read_extras(path: &Path) -> Result<Extras> {
    let file = open_file(path)?;
    let metric = metric_of(path, &file)?;
    let (queries, _) = read_f32_set(path, &file, "test")?;
    let neighbors = if file.dataset("neighbors").is_ok() {
        let (n, k, _) = shape2(path, &file, "neighbors")?;
        let raw = file
            .dataset("neighbors")
            .and_then(|d| d.read_i64())
            .map_err(|e| h5err(path, "neighbors", e))?;
        if raw.len() != n * k {
            return Err(Error::format(
                path,
                "'neighbors' size does not match its shape",
            ));
        }
        let mut ids = Vec::with_capacity(raw.len());
        for (i, &v) in raw.iter().enumerate() {
            let id = u32::try_from(v).map_err(|_| Error::BadValue {
                path: path.to_path_buf(),
                row: i / k.max(1),
                problem: format!("'neighbors' holds id {v}, not a row number"),
            })?;
            ids.push(id);
        }
        Some(IdRows { n, k, ids })
    } else {
        None
    };
    let distances = match file.dataset("distances") {
        Ok(d) => Some(d.read_f32().map_err(|e| h5err(path, "distances", e))?),
        Err(_) => None,
    };
    Ok(Extras {
        metric,
        queries,
        neighbors,
        distances,
    })
}
