//! Posting lists in a memory-mapped file: each list a contiguous region of
//! entries `[slot: u32][version: u32][vector: dim × f32]`, read in place by
//! searches, appended to by inserts, rewritten by splits and merges.
//!
//! With a quantizer the vector part of an entry is its code instead (the
//! code's bytes, padded to whole words, then its f32 factors): a scan reads
//! a tenth of the bytes or less, and the f32 vectors, kept by the index,
//! re-score the last candidates.
//!
//! Regions have power-of-two capacities. A list that outgrows its region
//! moves to a region twice the size (at the end of the file, or a freed one
//! of that size); the old region is kept for reuse. The file grows by
//! doubling and is re-mapped; only `&mut self` methods touch the layout, so
//! no reader can hold a stale map. The file is an unnamed temporary: the
//! operating system deletes it when the index is dropped.

use std::collections::HashMap;
use std::fs::File;

use memmap2::MmapMut;

use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::index::f16;
use crate::index::quant::Codes;

pub use crate::index::Precision;

/// The prepared distance between an f32 query and a stored vector's words.
pub(super) type Kernel = fn(&[f32], &[u32]) -> f32;

/// Words as the floats they hold (f32 storage).
#[inline]
fn as_f32(w: &[u32]) -> &[f32] {
    // SAFETY: f32 and u32 have the same size and alignment; the words were
    // written with f32::to_bits.
    unsafe { std::slice::from_raw_parts(w.as_ptr() as *const f32, w.len()) }
}

/// Smallest region, in entries.
const MIN_CAP: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Region {
    /// First entry of the region.
    offset: usize,
    len: usize,
    cap: usize,
}

pub(super) struct PostingStore {
    file: File,
    map: MmapMut,
    dim: usize,
    precision: Precision,
    /// The quantizer's model when entries hold codes instead of vectors.
    codes: Option<Codes>,
    /// Words of an entry's code bytes (before its factors), with `codes`.
    code_words: usize,
    /// Words per entry: 2 + the vector's (or code's) words.
    stride: usize,
    /// Entries the file holds.
    capacity: usize,
    /// First entry never allocated.
    end: usize,
    /// Freed regions by capacity.
    free: HashMap<usize, Vec<usize>>,
    lists: Vec<Option<Region>>,
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::Internal(format!("posting file: {what}: {e}"))
}

impl PostingStore {
    /// An empty store for vectors of `dim` floats, with room for `entries`:
    /// entries hold the vectors at `precision`, or their codes under `codes`
    /// (a trained model; its own rows are not used).
    pub fn new(
        dim: usize,
        entries: usize,
        precision: Precision,
        codes: Option<Codes>,
    ) -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| io_err("create", e))?;
        let code_words = codes.as_ref().map_or(0, |c| c.row_bytes().div_ceil(4));
        let stride = 2 + match (&codes, precision) {
            (Some(c), _) => code_words + c.factors_per_row(),
            (None, Precision::F32) => dim,
            (None, Precision::F16) => f16::words_for(dim),
        };
        let capacity = entries.max(1024);
        file.set_len((capacity * stride * 4) as u64)
            .map_err(|e| io_err("size", e))?;
        // SAFETY: the file is ours alone (unnamed, just created); its size
        // only changes in `grow`, which re-maps before any further access.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| io_err("map", e))?;
        Ok(PostingStore {
            file,
            map,
            dim,
            precision,
            codes,
            code_words,
            stride,
            capacity,
            end: 0,
            free: HashMap::new(),
            lists: Vec::new(),
        })
    }

    fn words(&self) -> &[u32] {
        // SAFETY: the map is page-aligned and its length a multiple of 4;
        // every bit pattern is a valid u32.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr() as *const u32, self.map.len() / 4) }
    }

    fn words_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `words`, with the unique borrow of the map.
        unsafe {
            std::slice::from_raw_parts_mut(self.map.as_mut_ptr() as *mut u32, self.map.len() / 4)
        }
    }

    /// Bytes of the file on disk.
    pub fn disk_bytes(&self) -> u64 {
        (self.capacity * self.stride * 4) as u64
    }

    /// Bytes of the in-RAM table of regions.
    pub fn table_bytes(&self) -> u64 {
        (self.lists.capacity() * std::mem::size_of::<Option<Region>>()
            + self
                .free
                .values()
                .map(|v| v.capacity() * 8 + 16)
                .sum::<usize>()) as u64
    }

    /// Entries (valid or stale) in `list`.
    pub fn len(&self, list: u32) -> usize {
        self.lists
            .get(list as usize)
            .and_then(|r| r.as_ref())
            .map_or(0, |r| r.len)
    }

    /// Makes sure `entries` more can be allocated, growing the file.
    fn reserve(&mut self, entries: usize) -> Result<()> {
        if self.end + entries <= self.capacity {
            return Ok(());
        }
        let mut cap = self.capacity.max(1024);
        while self.end + entries > cap {
            cap *= 2;
        }
        self.map.flush_async().map_err(|e| io_err("flush", e))?;
        self.file
            .set_len((cap * self.stride * 4) as u64)
            .map_err(|e| io_err("grow", e))?;
        // SAFETY: as in `new`; the old map is dropped by the assignment.
        self.map = unsafe { MmapMut::map_mut(&self.file) }.map_err(|e| io_err("map", e))?;
        self.capacity = cap;
        Ok(())
    }

    fn allocate(&mut self, cap: usize) -> Result<usize> {
        if let Some(off) = self.free.get_mut(&cap).and_then(|v| v.pop()) {
            return Ok(off);
        }
        self.reserve(cap)?;
        let off = self.end;
        self.end += cap;
        Ok(off)
    }

    /// A new, empty list with room for `hint` entries; returns its id.
    pub fn create(&mut self, hint: usize) -> Result<u32> {
        let cap = hint.max(MIN_CAP).next_power_of_two();
        let offset = self.allocate(cap)?;
        self.lists.push(Some(Region {
            offset,
            len: 0,
            cap,
        }));
        Ok((self.lists.len() - 1) as u32)
    }

    /// Frees a list's region (the id is not reused).
    pub fn remove(&mut self, list: u32) {
        if let Some(r) = self.lists.get_mut(list as usize).and_then(|r| r.take()) {
            self.free.entry(r.cap).or_default().push(r.offset);
        }
    }

    fn region(&self, list: u32) -> Result<Region> {
        self.lists
            .get(list as usize)
            .and_then(|r| *r)
            .ok_or_else(|| Error::Internal(format!("posting list {list} does not exist")))
    }

    /// Appends one entry for `vector` (stored at the store's precision, or
    /// encoded), moving the list to a larger region when full.
    pub fn push(&mut self, list: u32, slot: u32, version: u32, vector: &[f32]) -> Result<()> {
        let payload = self.payload(vector);
        self.push_words(list, slot, version, &payload)
    }

    /// An entry's vector part for `vector`, as stored: its words at the
    /// store's precision, or its code's.
    pub fn payload(&self, vector: &[f32]) -> Vec<u32> {
        debug_assert_eq!(vector.len(), self.dim);
        let mut payload = vec![0u32; self.stride - 2];
        match (&self.codes, self.precision) {
            (Some(c), _) => {
                let (code, factors) = payload.split_at_mut(self.code_words);
                let mut bytes = vec![0u8; c.row_bytes()];
                let mut f = vec![0f32; c.factors_per_row()];
                c.encode_into(vector, &mut bytes, &mut f);
                for (w, chunk) in code.iter_mut().zip(bytes.chunks(4)) {
                    let mut b = [0u8; 4];
                    b[..chunk.len()].copy_from_slice(chunk);
                    *w = u32::from_ne_bytes(b);
                }
                for (w, x) in factors.iter_mut().zip(f) {
                    *w = x.to_bits();
                }
            }
            (None, Precision::F32) => {
                for (w, &x) in payload.iter_mut().zip(vector) {
                    *w = x.to_bits();
                }
            }
            (None, Precision::F16) => f16::pack(vector, &mut payload),
        }
        payload
    }

    /// Appends one entry whose vector (or code) part is `payload` as stored.
    pub fn push_words(
        &mut self,
        list: u32,
        slot: u32,
        version: u32,
        payload: &[u32],
    ) -> Result<()> {
        debug_assert_eq!(payload.len(), self.stride - 2);
        let mut r = self.region(list)?;
        if r.len == r.cap {
            let cap = r.cap * 2;
            let offset = self.allocate(cap)?;
            let stride = self.stride;
            self.words_mut().copy_within(
                r.offset * stride..(r.offset + r.len) * stride,
                offset * stride,
            );
            self.free.entry(r.cap).or_default().push(r.offset);
            r = Region {
                offset,
                len: r.len,
                cap,
            };
        }
        let at = (r.offset + r.len) * self.stride;
        let stride = self.stride;
        let words = self.words_mut();
        words[at] = slot;
        words[at + 1] = version;
        words[at + 2..at + stride].copy_from_slice(payload);
        r.len += 1;
        self.lists[list as usize] = Some(r);
        Ok(())
    }

    /// Replaces a list's contents with `keep` (indices of its entries to
    /// keep, in order): how stale entries and tombstones are dropped.
    pub fn retain(&mut self, list: u32, keep: &[usize]) -> Result<()> {
        let mut r = self.region(list)?;
        let stride = self.stride;
        let words = self.words_mut();
        for (dst, &src) in keep.iter().enumerate() {
            if dst != src {
                words.copy_within(
                    (r.offset + src) * stride..(r.offset + src + 1) * stride,
                    (r.offset + dst) * stride,
                );
            }
        }
        r.len = keep.len();
        self.lists[list as usize] = Some(r);
        Ok(())
    }

    /// A list's raw words (entries of `stride()` words each) for scanning.
    #[inline]
    pub fn list_words(&self, list: u32) -> &[u32] {
        match self.lists.get(list as usize).and_then(|r| *r) {
            Some(r) => &self.words()[r.offset * self.stride..(r.offset + r.len) * self.stride],
            None => &[],
        }
    }

    /// Words per entry: slot, version, then the vector.
    #[inline]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The entries of a list: (slot, version, the vector's stored words), in order.
    pub fn entries(&self, list: u32) -> impl Iterator<Item = (u32, u32, &[u32])> + '_ {
        let r = self.lists.get(list as usize).and_then(|r| *r);
        let words = self.words();
        let stride = self.stride;
        let (start, len) = r.map_or((0, 0), |r| (r.offset, r.len));
        (0..len).map(move |i| {
            let at = (start + i) * stride;
            (words[at], words[at + 1], &words[at + 2..at + stride])
        })
    }

    /// A stored vector as f32 (exact under f32 storage, rounded under f16);
    /// None when entries hold codes (the index keeps those vectors).
    pub fn decode(&self, words: &[u32]) -> Option<Vec<f32>> {
        match (&self.codes, self.precision) {
            (Some(_), _) => None,
            (None, Precision::F32) => Some(as_f32(words).to_vec()),
            (None, Precision::F16) => Some(f16::unpack(words, self.dim)),
        }
    }

    /// The quantizer's model, when entries hold codes.
    pub fn codes(&self) -> Option<&Codes> {
        self.codes.as_ref()
    }

    /// An entry's code bytes and factors (entries holding codes).
    #[inline]
    pub fn code_of<'a>(&self, payload: &'a [u32]) -> (&'a [u8], &'a [f32]) {
        let (code, factors) = payload.split_at(self.code_words);
        // SAFETY: u32 words may be read as their bytes (u8 has alignment 1);
        // `push` wrote the code's bytes in native order.
        let bytes =
            unsafe { std::slice::from_raw_parts(code.as_ptr().cast::<u8>(), code.len() * 4) };
        (bytes, as_f32(factors))
    }

    /// The distance kernel for stored vectors under `metric`.
    pub fn kernel(&self, metric: Metric) -> Kernel {
        match (self.precision, metric) {
            (Precision::F16, m) => f16::kernel(m),
            (Precision::F32, Metric::Cosine) => |q, w| 1.0 - distance::dot(q, as_f32(w)),
            (Precision::F32, Metric::InnerProduct) => |q, w| -distance::dot(q, as_f32(w)),
            (Precision::F32, Metric::L2) => |q, w| distance::l2_squared(q, as_f32(w)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_grow_move_and_keep_their_entries() {
        let mut s = PostingStore::new(3, 8, Precision::F32, None).unwrap();
        let a = s.create(2).unwrap();
        let b = s.create(2).unwrap();
        for i in 0..100u32 {
            s.push(a, i, 1, &[i as f32, 0.0, 1.0]).unwrap();
            if i % 3 == 0 {
                s.push(b, 1000 + i, 2, &[0.0, i as f32, 2.0]).unwrap();
            }
        }
        assert_eq!(s.len(a), 100);
        assert_eq!(s.len(b), 34);
        for (i, (slot, ver, v)) in s.entries(a).enumerate() {
            assert_eq!((slot, ver), (i as u32, 1));
            assert_eq!(s.decode(v).expect("vectors"), vec![i as f32, 0.0, 1.0]);
        }
        let keep: Vec<usize> = (0..100).filter(|i| i % 2 == 1).collect();
        s.retain(a, &keep).unwrap();
        let slots: Vec<u32> = s.entries(a).map(|e| e.0).collect();
        assert_eq!(slots, (0..100).filter(|i| i % 2 == 1).collect::<Vec<u32>>());
        assert!(s.entries(b).all(
            |(slot, ver, v)| ver == 2 && s.decode(v).expect("vectors")[1] as u32 + 1000 == slot
        ));
        s.remove(b);
        assert_eq!(s.len(b), 0);
        assert!(s.push(b, 1, 1, &[0.0; 3]).is_err());
        assert!(s.disk_bytes() >= 100 * 5 * 4);
    }

    #[test]
    fn half_precision_halves_the_entry_and_keeps_three_digits() {
        let mut s = PostingStore::new(5, 8, Precision::F16, None).unwrap();
        assert_eq!(s.stride(), 2 + 3);
        let l = s.create(4).unwrap();
        s.push(l, 7, 1, &[0.1, -0.25, 0.333, 1.0, -2.0]).unwrap();
        let (slot, ver, w) = s.entries(l).next().unwrap();
        assert_eq!((slot, ver), (7, 1));
        let v = s.decode(w).expect("vectors");
        for (a, b) in v.iter().zip([0.1f32, -0.25, 0.333, 1.0, -2.0]) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        let q = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let d = s.kernel(Metric::InnerProduct)(&q, w);
        assert!((d + 0.1).abs() < 1e-3, "{d}");
    }
}
