//! Which format a file is, from its content as well as its name.
//!
//! Magic bytes decide for .npy and HDF5; text decides for CSV/TSV. The TEXMEX
//! formats have no magic, so their extension names them, and the content must
//! agree: a file called `.fvecs` that starts with the NumPy magic is refused
//! with a message saying what it really is, rather than read as garbage.

use std::io::Read;
use std::path::Path;

use super::npy::MAGIC as NPY_MAGIC;
use super::Format;
use crate::error::{Error, Result};

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// What the first bytes say, if they say anything for sure.
fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(NPY_MAGIC) {
        return Some(Format::Npy);
    }
    if head.starts_with(HDF5_MAGIC) {
        return Some(Format::Hdf5);
    }
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // The head may cut a multi-byte character in two.
        std::str::from_utf8(&head[..head.len().saturating_sub(3)]).ok()
    })?;
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || " \t\r\n,.-+eEnaifINAF".contains(c));
    if looks_numeric && !text.trim().is_empty() {
        let first = text.lines().next().unwrap_or("");
        return Some(if first.contains('\t') {
            Format::Tsv
        } else {
            Format::Csv
        });
    }
    None
}

fn by_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "fvecs" => Format::Fvecs,
        "ivecs" => Format::Ivecs,
        "bvecs" => Format::Bvecs,
        "npy" => Format::Npy,
        "csv" => Format::Csv,
        "tsv" | "txt" => Format::Tsv,
        "hdf5" | "h5" => Format::Hdf5,
        _ => return None,
    })
}

/// Decides the format of `path`.
pub fn detect_format(path: &Path) -> Result<Format> {
    crate::fsutil::check_input_file(path)?;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = vec![0u8; 512];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    head.truncate(got);
    if head.is_empty() {
        return Err(Error::format(path, "empty file"));
    }
    let sniffed = sniff(&head);
    let named = by_extension(path);
    match (named, sniffed) {
        (Some(n), Some(s)) if n == s => Ok(n),
        (Some(Format::Csv | Format::Tsv), Some(Format::Csv | Format::Tsv)) => Ok(sniffed.unwrap_or(Format::Csv)),
        // Binary vecs data can look like anything but a magic number.
        (Some(n @ (Format::Fvecs | Format::Ivecs | Format::Bvecs)), Some(Format::Csv | Format::Tsv) | None) => Ok(n),
        (Some(n), Some(s)) => Err(Error::format(
            path,
            format!(
                "the name says .{} but the content is {}: rename the file or convert it",
                n.name(),
                describe(s)
            ),
        )),
        (Some(n @ (Format::Npy | Format::Hdf5)), None) => Err(Error::format(
            path,
            format!("the name says .{} but the file does not start with the {} signature", n.name(), describe(n)),
        )),
        // Let the text reader name the line and column that is not a number.
        (Some(n @ (Format::Csv | Format::Tsv)), None) => Ok(n),
        (None, Some(s)) => Ok(s),
        (None, None) => Err(Error::format(
            path,
            "unknown format: expected .fvecs, .ivecs, .bvecs, .npy, .csv, .tsv or ann-benchmarks .hdf5",
        )),
    }
}

fn describe(f: Format) -> &'static str {
    match f {
        Format::Npy => "a NumPy .npy file",
        Format::Hdf5 => "an HDF5 file",
        Format::Csv | Format::Tsv => "text",
        Format::Fvecs => "fvecs",
        Format::Ivecs => "ivecs",
        Format::Bvecs => "bvecs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win() {
        assert_eq!(sniff(b"\x93NUMPY\x01\x00"), Some(Format::Npy));
        assert_eq!(sniff(b"\x89HDF\r\n\x1a\n...."), Some(Format::Hdf5));
        assert_eq!(sniff(b"0.1,0.2\n0.3,0.4\n"), Some(Format::Csv));
        assert_eq!(sniff(b"0.1\t0.2\n"), Some(Format::Tsv));
        assert_eq!(sniff(b"hello world"), None);
    }
}
