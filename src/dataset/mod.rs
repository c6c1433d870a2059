//! Datasets: vectors (owned or memory-mapped), their dimension and metric,
//! optional labels, and the readers for each file format.
//!
//! Ids are external: a vector's id is its row number in the file, as a `u32`.
//! Every result, trace, export and ground-truth comparison speaks in these
//! ids, whatever an index stores internally.
//!
//! Opening a file checks only what its header and size can tell. The full
//! scan for NaN/Inf, mixed record dimensions and zero vectors under cosine
//! runs once, when the vectors are first used ([`Dataset::validate`]).

mod detect;
pub mod hdf5;
pub mod npy;
mod text;
mod validate;
pub(crate) mod vecs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;
use serde::Serialize;

pub use detect::detect_format;
pub use text::read_labels;
pub use vecs::{read_ivecs, write_fvecs, write_ivecs, IdRows};

use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// A vector's id: its row number in the file it came from.
pub type VectorId = u32;

/// The element type stored in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    F64,
    F16,
    U8,
    I32,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::F16 => "f16",
            DType::U8 => "u8",
            DType::I32 => "i32",
        }
    }
}

/// A file format annscope reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Fvecs,
    Ivecs,
    Bvecs,
    Npy,
    Csv,
    Tsv,
    Hdf5,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Fvecs => "fvecs",
            Format::Ivecs => "ivecs",
            Format::Bvecs => "bvecs",
            Format::Npy => "npy",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Hdf5 => "hdf5",
        }
    }
}

/// What a file holds, as `annscope info` reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileInfo {
    pub n: usize,
    pub dim: usize,
    pub dtype: DType,
    pub format: Format,
    pub mmapped: bool,
}

/// How the rows are laid out in memory.
enum Storage {
    /// `n * dim` floats, row after row.
    Owned(Vec<f32>),
    /// A read-only map of the file; row `i` starts at float
    /// `offset + i * stride` of the mapped bytes.
    Mapped {
        map: Mmap,
        offset: usize,
        stride: usize,
    },
}

/// A matrix of `n` vectors of `dim` floats, with a row stride that may exceed
/// `dim` (an .fvecs map keeps each row's dimension header in between).
pub struct Vectors {
    storage: Storage,
    n: usize,
    dim: usize,
}

impl Vectors {
    /// Vectors from a row-major buffer of `n * dim` floats.
    pub fn from_vec(data: Vec<f32>, dim: usize) -> Result<Self> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(Error::InvalidParameter(format!(
                "{} floats do not make rows of dimension {dim}",
                data.len()
            )));
        }
        Ok(Vectors {
            n: data.len() / dim,
            dim,
            storage: Storage::Owned(data),
        })
    }

    /// Maps `n` rows of `dim` little-endian f32s, row `i` at float
    /// `offset + i * stride` of the file. The caller has checked the size.
    fn mapped(map: Mmap, offset: usize, stride: usize, n: usize, dim: usize) -> Self {
        debug_assert!(offset + n.saturating_sub(1) * stride + dim <= map.len() / 4 || n == 0);
        Vectors {
            storage: Storage::Mapped {
                map,
                offset,
                stride,
            },
            n,
            dim,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// The whole storage as floats, with the offset of row 0 and the row stride.
    /// Row `i` is `floats[offset + i * stride..][..dim]`; a matrix product
    /// can take this as a strided matrix directly.
    pub fn strided(&self) -> (&[f32], usize, usize) {
        match &self.storage {
            Storage::Owned(v) => (v.as_slice(), 0, self.dim),
            Storage::Mapped {
                map,
                offset,
                stride,
            } => (map_as_floats(map), *offset, *stride),
        }
    }

    /// Row `i`. Panics if `i >= len()`, like slice indexing.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        let (floats, offset, stride) = self.strided();
        let start = offset + i * stride;
        &floats[start..start + self.dim]
    }

    /// Iterates over the rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        (0..self.n).map(move |i| self.row(i))
    }

    /// Copies the rows with the given ids into a new owned matrix.
    pub fn gather(&self, ids: &[usize]) -> Vectors {
        let mut data = Vec::with_capacity(ids.len() * self.dim);
        for &i in ids {
            data.extend_from_slice(self.row(i));
        }
        Vectors {
            storage: Storage::Owned(data),
            n: ids.len(),
            dim: self.dim,
        }
    }

    /// Unmaps this process's view of a mapped file's pages
    /// (`madvise(MADV_DONTNEED)`; the data stays the file's), so a
    /// cold-cache measurement can evict them from the page cache: the
    /// kernel keeps pages any mapping still holds. Nothing for owned rows.
    pub fn release_mapped_pages(&self) {
        #[cfg(target_os = "linux")]
        if let Storage::Mapped { map, .. } = &self.storage {
            if !map.is_empty() {
                // SAFETY: the range is exactly the live, read-only mapping;
                // the advice only drops page table entries.
                unsafe {
                    libc::madvise(
                        map.as_ptr() as *mut libc::c_void,
                        map.len(),
                        libc::MADV_DONTNEED,
                    );
                }
            }
        }
    }

    /// Bytes this matrix holds in RAM (0 for a map: the page cache owns it).
    pub fn heap_bytes(&self) -> usize {
        match &self.storage {
            Storage::Owned(v) => v.capacity() * 4,
            Storage::Mapped { .. } => 0,
        }
    }
}

/// The mapped bytes as floats.
fn map_as_floats(map: &Mmap) -> &[f32] {
    let bytes: &[u8] = map;
    // A map starts on a page boundary, so it is aligned for f32; the readers
    // only map little-endian f32 data on little-endian targets.
    debug_assert_eq!(bytes.as_ptr() as usize % std::mem::align_of::<f32>(), 0);
    // SAFETY: the pointer is page-aligned (hence f32-aligned), the length is
    // rounded down to whole floats inside the mapping, every bit pattern is a
    // valid f32, and the map is read-only and lives as long as the borrow.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
}

/// Maps a whole file read-only.
pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only. Another process truncating the file while
    // it is mapped would be undefined behaviour; annscope never writes to its
    // inputs, and this is the risk every memory-mapping reader accepts.
    unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))
}

/// What the validating scan found, kept so it runs once.
#[derive(Clone, Debug, Default)]
struct ScanFindings {
    /// First row with a NaN or infinite value, and what it was.
    non_finite: Option<(usize, String)>,
    /// First row whose norm is zero.
    zero_row: Option<usize>,
    /// First record whose own dimension header disagrees (.fvecs family).
    bad_record: Option<(usize, String)>,
    /// First row whose squared norm would overflow a distance in f32.
    too_large: Option<(usize, String)>,
    /// Whether any value is a normal float (not zero, not subnormal).
    any_normal: bool,
}

/// A set of vectors and how to compare them.
pub struct Dataset {
    name: String,
    path: Option<PathBuf>,
    info: FileInfo,
    vectors: Vectors,
    metric: Metric,
    labels: Option<Arc<Vec<String>>>,
    /// For a subset: each row's row number in the file it came from.
    source_rows: Option<Arc<Vec<u32>>>,
    /// For .fvecs-family maps: check each record's header during the scan.
    record_check: Option<vecs::RecordCheck>,
    scan: OnceLock<ScanFindings>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("name", &self.name)
            .field("info", &self.info)
            .field("metric", &self.metric)
            .finish_non_exhaustive()
    }
}

impl Dataset {
    /// A dataset from vectors already in memory (tests, held-out samples).
    pub fn from_vectors(name: impl Into<String>, vectors: Vectors, metric: Metric) -> Self {
        let info = FileInfo {
            n: vectors.len(),
            dim: vectors.dim(),
            dtype: DType::F32,
            format: Format::Fvecs,
            mmapped: vectors.is_mapped(),
        };
        Dataset {
            name: name.into(),
            path: None,
            info,
            vectors,
            metric,
            labels: None,
            source_rows: None,
            record_check: None,
            scan: OnceLock::new(),
        }
    }

    /// A dataset from a flat row-major buffer.
    pub fn from_vec(
        name: impl Into<String>,
        data: Vec<f32>,
        dim: usize,
        metric: Metric,
    ) -> Result<Self> {
        Ok(Self::from_vectors(
            name,
            Vectors::from_vec(data, dim)?,
            metric,
        ))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    pub fn info(&self) -> &FileInfo {
        &self.info
    }
    pub fn vectors(&self) -> &Vectors {
        &self.vectors
    }
    pub fn len(&self) -> usize {
        self.vectors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
    pub fn dim(&self) -> usize {
        self.vectors.dim()
    }
    pub fn metric(&self) -> Metric {
        self.metric
    }
    pub fn set_metric(&mut self, metric: Metric) {
        self.metric = metric;
    }
    #[inline]
    pub fn row(&self, id: usize) -> &[f32] {
        self.vectors.row(id)
    }
    pub fn labels(&self) -> Option<&Arc<Vec<String>>> {
        self.labels.as_ref()
    }
    /// The label of vector `id`, if the dataset has labels.
    pub fn label(&self, id: usize) -> Option<&str> {
        self.labels
            .as_ref()
            .and_then(|l| l.get(id))
            .map(String::as_str)
    }

    /// Attaches labels, one per vector.
    pub fn set_labels(&mut self, labels: Vec<String>, source: &Path) -> Result<()> {
        if labels.len() != self.len() {
            return Err(Error::Mismatch(format!(
                "{}: {} labels for {} vectors in {}",
                source.display(),
                labels.len(),
                self.len(),
                self.display_name()
            )));
        }
        self.labels = Some(Arc::new(labels));
        Ok(())
    }

    /// Reads a labels file (one line per vector, or an Embedding Projector
    /// metadata TSV) and attaches it.
    pub fn load_labels(&mut self, path: &Path) -> Result<()> {
        let labels = read_labels(path)?;
        self.set_labels(labels, path)
    }

    /// The file path if there is one, else the name: for messages.
    pub fn display_name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => self.name.clone(),
        }
    }

    /// A new dataset of the rows `ids` (copied), e.g. queries held out of a base.
    pub fn subset(&self, name: impl Into<String>, ids: &[usize]) -> Dataset {
        let mut d = Dataset::from_vectors(name, self.vectors.gather(ids), self.metric);
        if let Some(labels) = &self.labels {
            d.labels = Some(Arc::new(ids.iter().map(|&i| labels[i].clone()).collect()));
        }
        d.source_rows = Some(Arc::new(ids.iter().map(|&i| self.source_row(i)).collect()));
        d
    }

    /// Row `row`'s row number in the file it came from (itself unless this
    /// dataset is a subset, such as a base with held-out queries removed).
    pub fn source_row(&self, row: usize) -> u32 {
        self.source_rows.as_ref().map_or(row as u32, |r| r[row])
    }

    /// A copy with every vector scaled to unit length (zero vectors stay zero).
    pub fn normalized(&self) -> Dataset {
        let mut data = Vec::with_capacity(self.len() * self.dim());
        for row in self.vectors.rows() {
            let start = data.len();
            data.extend_from_slice(row);
            crate::distance::normalize(&mut data[start..]);
        }
        let vectors = Vectors {
            storage: Storage::Owned(data),
            n: self.len(),
            dim: self.dim(),
        };
        let mut d =
            Dataset::from_vectors(format!("{} (normalised)", self.name), vectors, self.metric);
        d.info = FileInfo {
            mmapped: false,
            ..self.info.clone()
        };
        d.labels = self.labels.clone();
        d.source_rows = self.source_rows.clone();
        d.path = self.path.clone();
        d
    }

    /// A content hash of the vectors (and dimension): the key of cached
    /// ground truth. xxh3 over the row bytes reads a 150 MB file in ~20 ms.
    pub fn content_hash(&self) -> u64 {
        use xxhash_rust::xxh3::Xxh3;
        let mut h = Xxh3::new();
        h.update(&(self.dim() as u64).to_le_bytes());
        h.update(&(self.len() as u64).to_le_bytes());
        let (floats, offset, stride) = self.vectors.strided();
        if stride == self.dim() {
            let all = &floats[offset..offset + self.len() * self.dim()];
            h.update(floats_as_bytes(all));
        } else {
            for row in self.vectors.rows() {
                h.update(floats_as_bytes(row));
            }
        }
        h.digest()
    }
}

fn floats_as_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: any f32 slice is a valid byte slice of four times the length.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// Reads what a file holds without loading its vectors (`annscope info`).
pub fn file_info(path: &Path) -> Result<FileInfo> {
    match detect_format(path)? {
        Format::Fvecs | Format::Ivecs | Format::Bvecs => vecs::info(path, detect_format(path)?),
        Format::Npy => npy::info(path),
        Format::Csv | Format::Tsv => Ok(text::open(path, &WorkContext::detached())?.info),
        Format::Hdf5 => hdf5::info(path),
    }
}

/// Opens a file of vectors with the given metric, detecting its format.
/// For an ann-benchmarks HDF5 file this is the `train` set.
pub fn open(path: &Path, metric: Metric, ctx: &WorkContext) -> Result<Dataset> {
    if !path.exists() {
        return Err(Error::format(path, "no such file"));
    }
    let format = detect_format(path)?;
    let opened = match format {
        Format::Fvecs | Format::Ivecs | Format::Bvecs => vecs::open(path, format, ctx)?,
        Format::Npy => npy::open(path, ctx)?,
        Format::Csv | Format::Tsv => text::open(path, ctx)?,
        Format::Hdf5 => hdf5::open_set(path, "train")?,
    };
    if opened.vectors.is_empty() {
        return Err(Error::format(path, "the file holds no vectors"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(Dataset {
        name,
        path: Some(path.to_path_buf()),
        info: opened.info,
        vectors: opened.vectors,
        metric,
        labels: None,
        source_rows: None,
        record_check: opened.record_check,
        scan: OnceLock::new(),
    })
}

/// What a format reader hands back.
pub(crate) struct Opened {
    pub info: FileInfo,
    pub vectors: Vectors,
    pub record_check: Option<vecs::RecordCheck>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_vec_checks_shape() {
        assert!(Vectors::from_vec(vec![1.0; 6], 4).is_err());
        assert!(Vectors::from_vec(vec![1.0; 6], 0).is_err());
        let v = Vectors::from_vec((0..6).map(|x| x as f32).collect(), 3).expect("shape");
        assert_eq!(v.len(), 2);
        assert_eq!(v.row(1), &[3.0, 4.0, 5.0]);
        let g = v.gather(&[1, 0]);
        assert_eq!(g.row(0), &[3.0, 4.0, 5.0]);
    }

    #[test]
    fn content_hash_depends_on_values_and_shape() {
        let a = Dataset::from_vec("a", vec![1.0, 2.0, 3.0, 4.0], 2, Metric::L2).expect("a");
        let b = Dataset::from_vec("b", vec![1.0, 2.0, 3.0, 4.0], 4, Metric::L2).expect("b");
        let c = Dataset::from_vec("c", vec![1.0, 2.0, 3.0, 5.0], 2, Metric::L2).expect("c");
        let a2 = Dataset::from_vec("a2", vec![1.0, 2.0, 3.0, 4.0], 2, Metric::Cosine).expect("a2");
        assert_ne!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
        assert_eq!(a.content_hash(), a2.content_hash());
    }
}
