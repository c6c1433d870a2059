//! The little-endian binary pieces every index file is made of: a writer
//! that hashes what it writes (the file ends with an xxh3 checksum of
//! everything before it), a reader that refuses to read past the end (so a
//! truncated file is an error, never an allocation sized by a lie), and the
//! metric's one-byte code.

use std::io::Write;
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use crate::distance::Metric;
use crate::error::{Error, Result};

pub(crate) fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::Cosine => 0,
        Metric::L2 => 1,
        Metric::InnerProduct => 2,
    }
}

/// The metric a code stands for.
pub(crate) fn metric_from_code(code: u8, path: &Path) -> Result<Metric> {
    match code {
        0 => Ok(Metric::Cosine),
        1 => Ok(Metric::L2),
        2 => Ok(Metric::InnerProduct),
        c => Err(Error::format(path, format!("unknown metric code {c}"))),
    }
}

/// Appends little-endian values and hashes them as they go.
pub(crate) struct Out<'a, W: Write> {
    pub w: &'a mut W,
    pub hash: Xxh3,
}

impl<W: Write> Out<'_, W> {
    pub fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.w.write_all(b)
    }
    pub fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u32s(&mut self, it: impl Iterator<Item = u32>) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        for v in it {
            buf.extend_from_slice(&v.to_le_bytes());
            if buf.len() >= 1 << 16 {
                self.bytes(&buf)?;
                buf.clear();
            }
        }
        self.bytes(&buf)
    }
}

pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
    pub at: usize,
    pub path: &'a Path,
}

impl<'a> Reader<'a> {
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(e) => {
                let s = &self.b[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => Err(Error::format(self.path, "truncated index file")),
        }
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| Error::format(self.path, "truncated index file"))?;
        let b = self.bytes(len)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}
