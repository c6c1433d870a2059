//! NumPy .npy files: 2-D float32, float64 or float16, C or Fortran order.
//!
//! Little-endian float32 in C order is memory-mapped in place; everything else
//! is converted to f32 once, in parallel, with progress.

use std::path::Path;

use rayon::prelude::*;

use super::{map_file, DType, FileInfo, Format, Opened, Vectors};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

pub const MAGIC: &[u8] = b"\x93NUMPY";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Elem {
    F32,
    F64,
    F16,
}

#[derive(Debug)]
struct Header {
    elem: Elem,
    big_endian: bool,
    fortran: bool,
    n: usize,
    dim: usize,
    data_offset: usize,
}

impl Elem {
    fn size(self) -> usize {
        match self {
            Elem::F32 => 4,
            Elem::F64 => 8,
            Elem::F16 => 2,
        }
    }
    fn dtype(self) -> DType {
        match self {
            Elem::F32 => DType::F32,
            Elem::F64 => DType::F64,
            Elem::F16 => DType::F16,
        }
    }
}

/// Finds `'key': value` in the header dict and returns the value's text.
fn dict_value<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let pat_single = format!("'{key}'");
    let pat_double = format!("\"{key}\"");
    let at = dict.find(&pat_single).or_else(|| dict.find(&pat_double))?;
    let rest = &dict[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    let bad = |p: String| Error::format(path, p);
    if bytes.is_empty() {
        return Err(bad("empty file".into()));
    }
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not an .npy file (missing the \\x93NUMPY magic)".into()));
    }
    let major = bytes[6];
    let (len, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header".into()));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(format!("unsupported .npy format version {v}"))),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated header".into()))?;
    let dict =
        std::str::from_utf8(&bytes[start..end]).map_err(|_| bad("header is not text".into()))?;

    let descr = dict_value(dict, "descr").ok_or_else(|| bad("header has no 'descr'".into()))?;
    let quote = descr.chars().next().unwrap_or('\'');
    let descr = descr
        .strip_prefix(quote)
        .and_then(|d| d.split(quote).next())
        .ok_or_else(|| {
            bad("header 'descr' is not a string (structured dtypes are not supported)".into())
        })?;
    // The byte-order mark is one character (found by fuzzing: a multi-byte
    // first character used to split inside it and panic).
    let (order, code) = descr.split_at(descr.chars().next().map_or(0, char::len_utf8));
    let big_endian = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(bad(format!("unsupported dtype '{descr}'"))),
    };
    let elem = match code {
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        "f2" => Elem::F16,
        _ => {
            return Err(bad(format!(
                "unsupported dtype '{descr}': annscope reads float32, float64 and float16 arrays"
            )))
        }
    };
    let fortran = dict_value(dict, "fortran_order")
        .map(|v| v.starts_with("True"))
        .ok_or_else(|| bad("header has no 'fortran_order'".into()))?;
    let shape_text =
        dict_value(dict, "shape").ok_or_else(|| bad("header has no 'shape'".into()))?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("header 'shape' is not a tuple".into()))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad(format!("header 'shape' ({inner}) is not a tuple of sizes")))?;
    let (n, dim) = match dims.as_slice() {
        [n, d] => (*n, *d),
        other => {
            return Err(bad(format!(
                "array has {} dimensions (shape {other:?}); expected a 2-D array of shape (n, dim)",
                other.len()
            )))
        }
    };
    if dim == 0 {
        return Err(bad("vectors have dimension 0".into()));
    }
    let expected = n
        .checked_mul(dim)
        .and_then(|c| c.checked_mul(elem.size()))
        .and_then(|b| b.checked_add(end))
        .ok_or_else(|| bad(format!("shape ({n}, {dim}) is too large")))?;
    if bytes.len() < expected {
        return Err(bad(format!(
            "truncated: header says shape ({n}, {dim}) of {descr}, needing {expected} bytes, but the file has {}",
            bytes.len()
        )));
    }
    if bytes.len() > expected {
        return Err(bad(format!(
            "header says shape ({n}, {dim}) of {descr} ({expected} bytes), but the file has {} bytes: the header does not describe the data",
            bytes.len()
        )));
    }
    Ok(Header {
        elem,
        big_endian,
        fortran,
        n,
        dim,
        data_offset: end,
    })
}

pub fn info(path: &Path) -> Result<FileInfo> {
    let map = map_file(path)?;
    let h = parse_header(path, &map)?;
    Ok(FileInfo {
        n: h.n,
        dim: h.dim,
        dtype: h.elem.dtype(),
        format: Format::Npy,
        mmapped: can_map(&h),
    })
}

fn can_map(h: &Header) -> bool {
    h.elem == Elem::F32
        && !h.fortran
        && !h.big_endian
        && h.data_offset.is_multiple_of(4)
        && cfg!(target_endian = "little")
}

fn read_elem(h: &Header, bytes: &[u8]) -> f32 {
    match (h.elem, h.big_endian) {
        (Elem::F32, false) => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        (Elem::F32, true) => f32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        (Elem::F64, false) => f64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8])) as f32,
        (Elem::F64, true) => f64::from_be_bytes(bytes[..8].try_into().unwrap_or([0; 8])) as f32,
        (Elem::F16, false) => half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32(),
        (Elem::F16, true) => half::f16::from_be_bytes([bytes[0], bytes[1]]).to_f32(),
    }
}

pub(crate) fn open(path: &Path, ctx: &WorkContext) -> Result<Opened> {
    let map = map_file(path)?;
    let h = parse_header(path, &map)?;
    let info = FileInfo {
        n: h.n,
        dim: h.dim,
        dtype: h.elem.dtype(),
        format: Format::Npy,
        mmapped: can_map(&h),
    };
    if h.n == 0 {
        return Err(Error::format(path, "the array has no rows"));
    }
    if info.mmapped {
        let (offset, dim, n) = (h.data_offset / 4, h.dim, h.n);
        return Ok(Opened {
            info,
            vectors: Vectors::mapped(map, offset, dim, n, dim),
            record_check: None,
        });
    }
    ctx.progress.stage("converting .npy to f32", h.n as u64);
    let (n, dim, size) = (h.n, h.dim, h.elem.size());
    let data_bytes = &map[h.data_offset..];
    let mut data = vec![0.0f32; n * dim];
    const ROWS: usize = 1024;
    data.par_chunks_mut(ROWS * dim)
        .enumerate()
        .try_for_each(|(c, out)| -> Result<()> {
            ctx.cancel.check()?;
            for (j, row) in out.chunks_exact_mut(dim).enumerate() {
                let i = c * ROWS + j;
                for (col, o) in row.iter_mut().enumerate() {
                    // Fortran order stores column after column.
                    let e = if h.fortran {
                        col * n + i
                    } else {
                        i * dim + col
                    };
                    *o = read_elem(&h, &data_bytes[e * size..(e + 1) * size]);
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

/// Writes a C-order little-endian float32 .npy (tests and tools), atomically.
pub fn write_f32(path: &Path, data: &[f32], n: usize, dim: usize) -> Result<()> {
    crate::fsutil::write_atomic(
        path,
        &encode(
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            "<f4",
            false,
            n,
            dim,
        ),
    )
}

/// Encodes raw element bytes with an .npy v1 header.
pub fn encode(body: Vec<u8>, descr: &str, fortran: bool, n: usize, dim: usize) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({n}, {dim}), }}");
    // Pad so the data starts on a 64-byte boundary, ending in a newline.
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_parse_with_either_quote() {
        let d = "{'descr': '<f4', \"fortran_order\": False, 'shape': (3, 4), }";
        assert_eq!(
            dict_value(d, "fortran_order").map(|v| &v[..5]),
            Some("False")
        );
        assert!(dict_value(d, "shape").is_some_and(|v| v.starts_with("(3, 4)")));
        assert!(dict_value(d, "missing").is_none());
    }
}
