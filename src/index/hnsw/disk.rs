//! The f32 vectors of an index kept on disk: read through a memory map of
//! the base file only when a search re-scores its last candidates, so the
//! graph and the quantized codes are all an index holds resident. The map
//! is the index's own (advised for random access: a re-score reads one row,
//! and the kernel's read-ahead would otherwise pull 128 KiB around it), so
//! what of it is resident can be measured ([`DiskVectors::resident_bytes`],
//! `mincore`) and dropped for a cold-cache run ([`DiskVectors::drop_pages`]).
//!
//! Rows are read as the file holds them; under cosine a row's inverse norm
//! is kept (4 bytes per row) so files whose rows are not unit length still
//! give exact distances.

use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::distance::{self, Metric};
use crate::error::{Error, Result};

pub(super) struct DiskVectors {
    path: PathBuf,
    map: Mmap,
    /// Row `i` starts at float `offset + i · stride` of the map.
    offset: usize,
    stride: usize,
    dim: usize,
    n: usize,
    /// Under cosine: 1/|row| per row.
    inv_norm: Option<Vec<f32>>,
    /// Weaviate's vector cache in front of the file, when asked for.
    cache: Option<super::vector_cache::VectorCache>,
}

impl DiskVectors {
    /// Maps `base`'s file for an index over its rows (slot `i` = row `i`).
    /// `cache`: keep at most this many rows in RAM, Weaviate's way (0: none).
    pub fn open(base: &Dataset, metric: Metric, cache: usize) -> Result<Self> {
        let name = base.display_name();
        let not_f32 = |why: &str| {
            Error::InvalidParameter(format!(
                "--vectors disk reads the index's f32 vectors from the base file, but {name} {why}: \
                 convert it to .fvecs or float32 .npy first, or keep --vectors ram"
            ))
        };
        let path = base
            .path()
            .ok_or_else(|| not_f32("is not a file annscope can map"))?;
        if !base.vectors().is_mapped() {
            let info = base.info();
            return Err(not_f32(&format!(
                "holds {} {} (not little-endian f32 rows that can be mapped)",
                info.format.name(),
                info.dtype.name()
            )));
        }
        let map = crate::dataset::map_file(path)?;
        let (_, offset, stride) = base.vectors().strided();
        let dim = base.dim();
        let mut d = DiskVectors {
            path: path.to_path_buf(),
            map,
            offset,
            stride,
            dim,
            n: base.len(),
            inv_norm: None,
            cache: (cache > 0)
                .then(|| super::vector_cache::VectorCache::new(cache, base.len(), dim)),
        };
        if d.floats().len() < offset + d.n.saturating_sub(1) * stride + dim {
            return Err(Error::Mismatch(format!(
                "{} changed since it was read: it is shorter than {} rows",
                path.display(),
                d.n
            )));
        }
        if metric == Metric::Cosine {
            let inv = (0..d.n)
                .into_par_iter()
                .map(|i| {
                    let n2 = distance::norm_squared(d.row(i));
                    if n2 > 0.0 {
                        1.0 / n2.sqrt()
                    } else {
                        0.0
                    }
                })
                .collect();
            d.inv_norm = Some(inv);
        }
        #[cfg(target_os = "linux")]
        d.advise(libc::MADV_RANDOM);
        Ok(d)
    }

    fn floats(&self) -> &[f32] {
        let bytes: &[u8] = &self.map;
        // SAFETY: a map starts on a page boundary (f32-aligned); the length
        // is rounded down to whole floats; every bit pattern is an f32; the
        // map is read-only and outlives the borrow.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        let s = self.offset + i * self.stride;
        &self.floats()[s..s + self.dim]
    }

    /// The exact distance from a prepared query (unit under cosine) to row `i`.
    #[inline]
    pub fn distance(&self, metric: Metric, q: &[f32], i: usize) -> f32 {
        let exact = |row: &[f32]| match (&self.inv_norm, metric) {
            (Some(inv), Metric::Cosine) => 1.0 - distance::dot(q, row) * inv[i],
            _ => metric.prepared_distance(q, row),
        };
        match &self.cache {
            Some(cache) => cache.with_row(i as u32, || self.row(i), exact),
            None => exact(self.row(i)),
        }
    }

    /// Bytes held on the heap (the inverse norms, the cached rows).
    pub fn heap_bytes(&self) -> usize {
        self.inv_norm.as_ref().map_or(0, |v| v.capacity() * 4)
            + self.cache.as_ref().map_or(0, |c| c.bytes())
    }

    /// The vector cache's counters so far, if there is one.
    pub fn cache_counters(&self) -> Option<super::vector_cache::CacheCounters> {
        self.cache.as_ref().map(|c| c.counters())
    }

    /// Bytes of the file on disk.
    pub fn file_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(target_os = "linux")]
    fn advise(&self, advice: libc::c_int) {
        if self.map.is_empty() {
            return;
        }
        // SAFETY: the range is exactly the live mapping; advice only changes
        // how the kernel pages it (MADV_DONTNEED on a read-only file map
        // drops this process's page table entries; the data stays the file's).
        unsafe {
            libc::madvise(
                self.map.as_ptr() as *mut libc::c_void,
                self.map.len(),
                advice,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn advise(&self, _advice: i32) {}

    /// Bytes of the map resident in memory now (`mincore`; Linux only).
    #[cfg(not(target_os = "linux"))]
    pub fn resident_bytes(&self) -> Option<u64> {
        None
    }

    /// Cold-cache runs drop pages with Linux's calls.
    #[cfg(not(target_os = "linux"))]
    pub fn drop_pages(&self) -> Result<()> {
        Err(Error::InvalidParameter(
            "dropping a file's cached pages (--cold) is supported on Linux only".into(),
        ))
    }

    /// Bytes of the map resident in memory now (`mincore`).
    #[cfg(target_os = "linux")]
    pub fn resident_bytes(&self) -> Option<u64> {
        let page = page_size();
        let pages = self.map.len().div_ceil(page);
        let mut vec = vec![0u8; pages];
        // SAFETY: the range is the live mapping, page-aligned at its start;
        // `vec` holds one byte per page of it.
        let rc = unsafe {
            libc::mincore(
                self.map.as_ptr() as *mut libc::c_void,
                self.map.len(),
                vec.as_mut_ptr().cast(),
            )
        };
        if rc != 0 {
            return None;
        }
        let resident = vec.iter().filter(|&&b| b & 1 == 1).count();
        Some((resident * page).min(self.map.len()) as u64)
    }

    /// Drops the file's pages from this process and from the page cache
    /// (`madvise(MADV_DONTNEED)`, then `posix_fadvise(POSIX_FADV_DONTNEED)`),
    /// so the next reads come from the disk: a cold-cache measurement.
    /// Pages another process holds mapped stay resident.
    #[cfg(target_os = "linux")]
    pub fn drop_pages(&self) -> Result<()> {
        if let Some(c) = &self.cache {
            c.clear();
        }
        self.advise(libc::MADV_DONTNEED);
        let file = std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        use std::os::unix::io::AsRawFd;
        // SAFETY: a valid open descriptor; the call only advises the kernel.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(Error::io(&self.path, std::io::Error::from_raw_os_error(rc)));
        }
        self.advise(libc::MADV_RANDOM);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.n
    }
}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}
