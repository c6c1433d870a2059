//! Saving and loading an HNSW index: one self-contained, versioned file
//! (graph and vectors) with a header (magic, format version, metric,
//! dimension, parameters) and an xxh3 checksum over everything before it.
//! Written atomically (temporary file, then rename); read with one read, and
//! refused with a clear error when truncated or corrupted.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use super::graph::Links;
use super::graph::Slot;
use super::{BuildPrecision, DynamicEf, Hnsw, HnswParams};
use crate::error::{Error, Result};
use crate::index::binio::{read_checked, read_file, write_checked, Head};
use crate::index::quant::Quantizer;
use crate::index::Precision;

const MAGIC: &[u8; 8] = b"ANNSHNSW";
/// Version 2 added the build and search precisions; version 3 the base the
/// index was built on (its content hash and size); version 4 the quantizer
/// (as a three-byte tag) and its codes; version 5 spells the quantizer as
/// every other file and the command line do (`sq8`, `pq:48`: JSON, as in
/// HFresh's parameters). Older files still load.
const VERSION: u32 = 5;

/// Version 4's quantizer: three bytes, its kind, then its parameter (bits,
/// or product sub-vectors) as a little-endian u16. Written only by the test
/// that checks such files still load.
#[cfg(test)]
fn quantizer_code(q: Quantizer) -> [u8; 3] {
    let (kind, param) = match q {
        Quantizer::None => (0, 0),
        Quantizer::Sq8 => (1, 8),
        Quantizer::Sq4 => (2, 4),
        Quantizer::RaBitQ { bits } => (3, u16::from(bits)),
        Quantizer::Pq { m } => (4, m),
        Quantizer::Bq => (5, 1),
        Quantizer::Opq { m } => (6, m),
    };
    let p = param.to_le_bytes();
    [kind, p[0], p[1]]
}

fn quantizer_from(code: &[u8]) -> Option<Quantizer> {
    let param = u16::from_le_bytes([*code.get(1)?, *code.get(2)?]);
    match code[0] {
        0 => Some(Quantizer::None),
        1 => Some(Quantizer::Sq8),
        2 => Some(Quantizer::Sq4),
        3 => u8::try_from(param)
            .ok()
            .filter(|b| crate::index::quant::RABITQ_BITS.contains(b))
            .map(|bits| Quantizer::RaBitQ { bits }),
        4 if param > 0 => Some(Quantizer::Pq { m: param }),
        5 => Some(Quantizer::Bq),
        6 if param > 0 => Some(Quantizer::Opq { m: param }),
        _ => None,
    }
}

fn precision_code(p: Precision) -> u8 {
    match p {
        Precision::F32 => 0,
        Precision::F16 => 1,
    }
}

impl Hnsw {
    /// Writes the index to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomic_with(path, |w| self.write_to(w))
    }

    /// Writes the whole file format (checksum included) to `w`: how an
    /// index that holds an HNSW (HFresh's centroids) embeds it.
    pub(crate) fn write_to<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        self.write_version(w, VERSION)
    }

    /// The file format at `version` (5, or 4 for the test of old files).
    pub(super) fn write_version<W: Write>(&self, w: &mut W, version: u32) -> std::io::Result<()> {
        let head = Head {
            version,
            metric: self.metric,
            dim: self.dim,
        };
        write_checked(w, MAGIC, &head, |o| {
            o.u64(self.ext_ids.len() as u64)?;
            o.u32(self.params.m as u32)?;
            o.u32(self.params.ef_construction as u32)?;
            o.u64(self.params.seed)?;
            o.bytes(&[
                match self.params.storage.build {
                    BuildPrecision::F32 => 0,
                    BuildPrecision::F16 => 1,
                    BuildPrecision::Sq8 => 2,
                },
                precision_code(self.params.storage.search),
            ])?;
            match version {
                #[cfg(test)]
                4 => o.bytes(&quantizer_code(self.params.storage.quantizer))?,
                _ => o.json(&self.params.storage.quantizer)?,
            }
            o.built_on(self.built_on)?;
            o.u32(self.dynamic_ef.min as u32)?;
            o.u32(self.dynamic_ef.max as u32)?;
            o.u32(self.dynamic_ef.factor as u32)?;
            o.u32(self.entry.0)?;
            o.u32(self.max_level as u32)?;
            o.u64(self.n_deleted as u64)?;
            o.u64(self.links.upper.len() as u64)?;
            o.u64(self.free.len() as u64)?;
            o.bytes(&self.links.levels)?;
            o.bools(&self.deleted)?;
            o.u32s(self.ext_ids.iter().copied())?;
            o.u32s(self.free.iter().map(|s| s.0))?;
            o.u32s(self.links.upper_offset.iter().copied())?;
            o.u32s(self.links.layer0.iter().map(|a| a.load(Relaxed)))?;
            o.u32s(self.links.upper.iter().map(|a| a.load(Relaxed)))?;
            match &self.disk {
                // The file holds the vectors as the index does (unit length
                // under cosine); it loads with them in RAM.
                Some(_) => {
                    let mut row = Vec::new();
                    for slot in (0..self.ext_ids.len() as u32).map(Slot) {
                        self.prepare(self.vector(slot), &mut row);
                        o.u32s(row.iter().map(|v| v.to_bits()))?;
                    }
                }
                None => o.u32s(self.vectors.iter().map(|v| v.to_bits()))?,
            }
            if let Some(codes) = &self.codes {
                let (rows, factors) = codes.raw();
                o.u64(rows.len() as u64)?;
                o.bytes(rows)?;
                o.u64(factors.len() as u64)?;
                o.u32s(factors.iter().map(|v| v.to_bits()))?;
            }
            Ok(())
        })
    }

    /// Reads an index written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_bytes(&read_file(path)?, path)
    }

    /// A copy of the index as it stands, tombstones and freed slots
    /// included, made through its own file format (so a copy is exactly
    /// what a save and a load would give): what the app's views show of an
    /// index a Motion run goes on changing.
    pub fn snapshot(&self) -> Result<Hnsw> {
        let place = Path::new("(a copy of the index in memory)");
        let mut bytes = Vec::new();
        self.write_to(&mut bytes).map_err(|e| Error::io(place, e))?;
        Hnsw::from_bytes(&bytes, place)
    }

    /// Reads what [`Hnsw::write_to`] wrote; errors name `path`.
    pub(crate) fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |p: &str| Error::format(path, p.to_string());
        let (
            mut r,
            Head {
                version,
                metric,
                dim,
            },
        ) = read_checked(bytes, path, MAGIC, "HNSW", VERSION)?;
        let n = r.u64()? as usize;
        let mut params = HnswParams {
            m: r.u32()? as usize,
            ef_construction: r.u32()? as usize,
            seed: r.u64()?,
            storage: crate::index::Storage::EXACT,
        };
        if version >= 2 {
            params.storage.build = match r.bytes(1)?[0] {
                0 => BuildPrecision::F32,
                1 => BuildPrecision::F16,
                2 => BuildPrecision::Sq8,
                c => return Err(bad(&format!("unknown build precision code {c}"))),
            };
            params.storage.search = match r.bytes(1)?[0] {
                0 => Precision::F32,
                1 => Precision::F16,
                c => return Err(bad(&format!("unknown search precision code {c}"))),
            };
        }
        if version >= 5 {
            params.storage.quantizer = r.json("quantizer")?;
        } else if version == 4 {
            params.storage.quantizer =
                quantizer_from(r.bytes(3)?).ok_or_else(|| bad("unknown quantizer code"))?;
        }
        params.validate().map_err(|e| bad(&e.to_string()))?;
        let built_on = if version >= 3 { r.built_on()? } else { None };
        let dynamic_ef = DynamicEf {
            min: r.u32()? as usize,
            max: r.u32()? as usize,
            factor: r.u32()? as usize,
        };
        let entry = Slot(r.u32()?);
        let max_level = r.u32()? as usize;
        let n_deleted = r.u64()? as usize;
        let n_upper = r.u64()? as usize;
        let n_free = r.u64()? as usize;
        let levels = r.bytes(n)?.to_vec();
        let deleted: Vec<bool> = r.bytes(n)?.iter().map(|&b| b != 0).collect();
        let ext_ids = r.u32s(n)?;
        let free: Vec<Slot> = r.u32s(n_free)?.into_iter().map(Slot).collect();
        let upper_offset = r.u32s(n)?;
        let stride0 = 1 + 2 * params.m;
        let layer0: Vec<AtomicU32> = r
            .u32s(n * stride0)?
            .into_iter()
            .map(AtomicU32::new)
            .collect();
        let upper: Vec<AtomicU32> = r.u32s(n_upper)?.into_iter().map(AtomicU32::new).collect();
        let raw = r.bytes(
            n.checked_mul(dim)
                .and_then(|c| c.checked_mul(4))
                .ok_or_else(|| bad("truncated index file"))?,
        )?;
        let mut vectors = vec![0.0f32; n * dim];
        crate::hugepages::advise(&mut vectors);
        for (v, b) in vectors.iter_mut().zip(raw.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let quantizer = params.storage.quantizer;
        let codes = if quantizer.is_none() {
            None
        } else {
            let n_rows = r.u64()? as usize;
            let rows = r.bytes(n_rows)?.to_vec();
            let n_factors = r.u64()? as usize;
            let factors: Vec<f32> = r.u32s(n_factors)?.into_iter().map(f32::from_bits).collect();
            // The model is trained again from the vectors (seeded, so the
            // same); codes that differ were not made from these vectors.
            let codes =
                crate::index::quant::Codes::train(quantizer, &vectors, dim, metric, params.seed)
                    .map_err(|e| bad(&e.to_string()))?;
            if !codes.same_raw(&rows, &factors) {
                return Err(bad(&format!(
                    "its {quantizer} codes do not match its vectors (written by another encoder, or altered): rebuild the index"
                )));
            }
            Some(codes)
        };
        r.expect_end()?;
        // Structural checks, so a crafted file cannot make a search index out of bounds.
        let links = Links {
            stride0,
            stride_up: 1 + params.m,
            layer0,
            upper_offset,
            upper,
            levels,
        };
        if n > 0 && (entry.idx() >= n || links.levels[entry.idx()] as usize != max_level) {
            return Err(bad("entry point is inconsistent with the levels"));
        }
        for s in 0..n {
            let l = links.levels[s] as usize;
            if l > 0 {
                let off = links.upper_offset[s] as usize;
                if off
                    .checked_add(l * links.stride_up)
                    .is_none_or(|end| end > links.upper.len())
                {
                    return Err(bad("upper-layer offsets point outside the file"));
                }
            }
            for layer in 0..=l {
                let slot = links.slot(Slot(s as u32), layer);
                let count = slot[0].load(Relaxed) as usize;
                if count >= slot.len()
                    || slot[1..=count]
                        .iter()
                        .any(|a| a.load(Relaxed) as usize >= n)
                {
                    return Err(bad("a link list is out of range"));
                }
            }
        }
        if free.iter().any(|f| f.idx() >= n) {
            return Err(bad("free-slot list is out of range"));
        }
        // The id map is dense (4 bytes per id up to the largest): bound it
        // by the file's size, so a crafted id cannot ask for gigabytes.
        let largest = ext_ids.iter().copied().max().unwrap_or(0) as u64;
        if (largest + 1) * 4 > 16 * bytes.len() as u64 + (1 << 20) {
            return Err(bad(&format!(
                "external id {largest} is out of range for an index file of {} bytes",
                bytes.len()
            )));
        }
        let free_set: std::collections::HashSet<Slot> = free.iter().copied().collect();
        let mut slot_of = super::idmap::IdMap::default();
        for s in (0..n as u32).map(Slot).filter(|s| !free_set.contains(s)) {
            slot_of.insert(ext_ids[s.idx()], s);
        }
        let mut index = Hnsw {
            params,
            dynamic_ef,
            metric,
            dim,
            vectors,
            ext_ids,
            slot_of,
            links,
            entry,
            max_level,
            deleted,
            n_deleted,
            free,
            walk: None,
            codes,
            disk: None,
            built_on,
        };
        if index.params.storage.search == Precision::F16 && index.codes.is_none() {
            index.walk = super::space::HalfSpace::try_new(&index);
            if index.walk.is_none() {
                index.params.storage.search = Precision::F32;
            }
        }
        Ok(index)
    }
}
