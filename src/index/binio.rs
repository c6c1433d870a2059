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
use crate::index::BuiltOn;

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

/// What every index file starts with, after its magic.
pub(crate) struct Head {
    pub version: u32,
    pub metric: Metric,
    pub dim: usize,
}

/// Writes one checksummed file to `w`: what `body` writes after the head
/// (magic, `version`, metric, dimension), then the xxh3 of it all.
pub(crate) fn write_checked<W: Write>(
    w: &mut W,
    magic: &[u8; 8],
    head: &Head,
    body: impl FnOnce(&mut Out<'_, W>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut o = Out {
        w,
        hash: Xxh3::new(),
    };
    o.bytes(magic)?;
    o.u32(head.version)?;
    o.bytes(&[metric_code(head.metric)])?;
    o.u32(head.dim as u32)?;
    body(&mut o)?;
    let sum = o.hash.digest();
    o.w.write_all(&sum.to_le_bytes())
}

/// Checks a file's magic (`what` names the kind in the refusal), format
/// version (at most `newest`) and checksum, and reads its head: the reader
/// is left at the body.
pub(crate) fn read_checked<'a>(
    bytes: &'a [u8],
    path: &'a Path,
    magic: &[u8; 8],
    what: &str,
    newest: u32,
) -> Result<(Reader<'a>, Head)> {
    let bad = |p: String| Error::format(path, p);
    if bytes.is_empty() {
        return Err(bad("empty file".into()));
    }
    if bytes.len() < 8 || &bytes[..8] != magic {
        return Err(bad(format!(
            "not an annscope {what} index file (bad magic)"
        )));
    }
    if bytes.len() < 8 + 4 + 8 {
        return Err(bad("truncated index file".into()));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut r = Reader {
        b: body,
        at: 8,
        path,
    };
    let version = r.u32()?;
    if !(1..=newest).contains(&version) {
        return Err(bad(format!(
            "{what} index format version {version}; this annscope reads up to version {newest}"
        )));
    }
    let stored = u64::from_le_bytes(
        sum.try_into()
            .map_err(|_| bad("truncated index file".into()))?,
    );
    if xxhash_rust::xxh3::xxh3_64(body) != stored {
        return Err(bad(
            "checksum mismatch: the index file is truncated or corrupted".into(),
        ));
    }
    let metric = metric_from_code(r.bytes(1)?[0], path)?;
    let dim = r.u32()? as usize;
    Ok((
        r,
        Head {
            version,
            metric,
            dim,
        },
    ))
}

/// A whole index file's bytes, once it is known to be a regular file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    crate::fsutil::check_input_file(path)?;
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

impl<W: Write> Out<'_, W> {
    /// Flags, a byte each.
    pub fn bools(&mut self, flags: &[bool]) -> std::io::Result<()> {
        self.bytes(&flags.iter().map(|&f| u8::from(f)).collect::<Vec<_>>())
    }

    /// A value as length-prefixed JSON (parameters, which grow fields).
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let text = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        self.u64(text.len() as u64)?;
        self.bytes(&text)
    }

    /// The base an index was built on, if known.
    pub fn built_on(&mut self, b: Option<BuiltOn>) -> std::io::Result<()> {
        match b {
            Some(b) => {
                self.bytes(&[1])?;
                self.u64(b.content_hash)?;
                self.u64(b.n)
            }
            None => self.bytes(&[0]),
        }
    }
}

impl Reader<'_> {
    /// What [`Out::json`] wrote; `what` names it in the refusal.
    pub fn json<T: serde::de::DeserializeOwned>(&mut self, what: &str) -> Result<T> {
        let len = self.u64()? as usize;
        serde_json::from_slice(self.bytes(len)?)
            .map_err(|e| Error::format(self.path, format!("{what}: {e}")))
    }

    /// What [`Out::built_on`] wrote.
    pub fn built_on(&mut self) -> Result<Option<BuiltOn>> {
        match self.bytes(1)?[0] {
            0 => Ok(None),
            1 => Ok(Some(BuiltOn {
                content_hash: self.u64()?,
                n: self.u64()?,
            })),
            c => Err(Error::format(
                self.path,
                format!("unknown base record code {c}"),
            )),
        }
    }

    /// Fails unless every byte of the body was read.
    pub fn expect_end(&self) -> Result<()> {
        if self.at != self.b.len() {
            return Err(Error::format(
                self.path,
                "trailing bytes after the index data",
            ));
        }
        Ok(())
    }
}
