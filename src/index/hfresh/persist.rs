//! Saving and loading HFresh: its RAM part (parameters, per-vector tables,
//! centroids, the centroid HNSW) and its posting lists in one versioned file
//! with an xxh3 checksum, written atomically, so the two parts can never be
//! separated or half-written. Lists are written compacted (live region
//! contents only) and re-laid in a fresh memory-mapped posting file on load.
//! Every id and count read is bounded before it is used, so a crafted file
//! is refused rather than indexed out of range.
//!
//! Version 2 adds the f32 vectors of an index whose lists hold codes, and
//! how many of them the quantizer was trained on: loading re-trains the
//! same model from those rows (training is seeded) and checks every stored
//! code against its vector, as HNSW's files do.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::postings::PostingStore;
use super::{HFresh, HFreshParams, UpdateStats, NO_LIST};
use crate::error::{Error, Result};
use crate::index::binio::{read_checked, read_file, write_checked, Head, Out};
use crate::index::{f16, AnnIndex, Hnsw, Precision};

const MAGIC: &[u8; 8] = b"ANNSHFRS";
const VERSION: u32 = 2;

impl HFresh {
    /// Writes the index to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut centroids = Vec::new();
        self.centroid_index
            .write_to(&mut centroids)
            .map_err(|e| Error::io(path, e))?;
        let head = Head {
            version: VERSION,
            metric: self.metric,
            dim: self.dim,
        };
        crate::fsutil::write_atomic_with(path, |w| {
            write_checked(w, MAGIC, &head, |o| self.write_body(o, &centroids))
        })
    }

    fn write_body<W: Write>(&self, o: &mut Out<'_, W>, centroids: &[u8]) -> std::io::Result<()> {
        {
            o.json(&self.params)?;
            o.built_on(self.built_on)?;
            let stats = [
                self.stats.splits,
                self.stats.merges,
                self.stats.moved,
                self.stats.compactions,
            ];
            for v in stats {
                o.u64(v as u64)?;
            }
            o.u64(self.ext_ids.len() as u64)?;
            o.u32s(self.ext_ids.iter().copied())?;
            o.u32s(self.versions.iter().copied())?;
            o.bools(&self.deleted)?;
            o.u32s(self.members.iter().copied())?;
            let vectors = self.vectors.as_deref().unwrap_or(&[]);
            o.u64(self.trained_rows as u64)?;
            o.u64(vectors.len() as u64)?;
            o.u32s(vectors.iter().map(|v| v.to_bits()))?;
            o.u64(self.alive.len() as u64)?;
            for l in 0..self.alive.len() {
                o.bytes(&[u8::from(self.alive[l]), u8::from(self.dirty[l])])?;
                o.u32(self.live[l])?;
                o.u32s(self.centroid(l as u32).iter().map(|v| v.to_bits()))?;
                let words = self.store.list_words(l as u32);
                o.u64((words.len() / self.store.stride()) as u64)?;
                o.u32s(words.iter().copied())?;
            }
            o.u64(centroids.len() as u64)?;
            o.bytes(centroids)
        }
    }

    /// Reads an index written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_file(path)?;
        let bad = |p: &str| Error::format(path, p.to_string());
        let (
            mut r,
            Head {
                metric,
                dim,
                version,
            },
        ) = read_checked(&bytes, path, MAGIC, "HFresh", VERSION)?;
        let params: HFreshParams = r.json("parameters")?;
        params.validate().map_err(|e| bad(&e.to_string()))?;
        let built_on = r.built_on()?;
        let mut counts = [0usize; 4];
        for c in &mut counts {
            *c = r.u64()? as usize;
        }
        let stats = UpdateStats {
            splits: counts[0],
            merges: counts[1],
            moved: counts[2],
            compactions: counts[3],
        };
        let n = r.u64()? as usize;
        let ext_ids = r.u32s(n)?;
        let versions = r.u32s(n)?;
        let deleted: Vec<bool> = r.bytes(n)?.iter().map(|&b| b != 0).collect();
        let members = r.u32s(
            n.checked_mul(params.replicas)
                .ok_or_else(|| bad("truncated index file"))?,
        )?;
        // Version 2: an index whose lists hold codes keeps its vectors.
        let (trained_rows, vectors) = if version >= 2 {
            let trained = r.u64()? as usize;
            let len = r.u64()? as usize;
            let floats: Vec<f32> = r.u32s(len)?.into_iter().map(f32::from_bits).collect();
            (trained, floats)
        } else {
            (n, Vec::new())
        };
        let quantizer = params.storage.quantizer;
        let codes = if quantizer.is_none() {
            if !vectors.is_empty() {
                return Err(bad("vectors stored for an index without a quantizer"));
            }
            None
        } else {
            if vectors.len() != n * dim || trained_rows == 0 || trained_rows > n {
                return Err(bad(&format!(
                    "{quantizer} lists need the f32 vectors of all {n} slots"
                )));
            }
            let mut codes = crate::index::quant::Codes::train(
                quantizer,
                &vectors[..trained_rows * dim],
                dim,
                metric,
                params.seed,
            )
            .map_err(|e| bad(&e.to_string()))?;
            codes.forget_rows();
            Some(codes)
        };
        let lists = r.u64()? as usize;
        if members.iter().any(|&m| m != NO_LIST && m as usize >= lists) {
            return Err(bad("a vector names a posting list out of range"));
        }
        let has_codes = codes.is_some();
        // Lists are re-laid from their entries; the file bounds every count.
        let mut store = PostingStore::new(dim, 1024, params.storage.search, codes)?;
        let entry_words = store.stride();
        let (mut alive, mut dirty, mut live) = (Vec::new(), Vec::new(), Vec::new());
        let mut centroids = Vec::new();
        for l in 0..lists {
            let flags = r.bytes(2)?;
            alive.push(flags[0] != 0);
            dirty.push(flags[1] != 0);
            live.push(r.u32()?);
            centroids.extend(r.u32s(dim)?.into_iter().map(f32::from_bits));
            let entries = r.u64()? as usize;
            let words = r.u32s(
                entries
                    .checked_mul(entry_words)
                    .ok_or_else(|| bad("truncated index file"))?,
            )?;
            let id = store.create(entries)?;
            debug_assert_eq!(id as usize, l);
            for e in words.chunks_exact(entry_words) {
                if e[0] as usize >= n {
                    return Err(bad("a posting entry names a vector out of range"));
                }
                if has_codes {
                    let slot = e[0] as usize;
                    if store.payload(&vectors[slot * dim..(slot + 1) * dim]) != e[2..] {
                        return Err(bad(&format!(
                            "the {quantizer} codes in posting list {l} do not match its vectors"
                        )));
                    }
                    store.push_words(id, e[0], e[1], &e[2..])?;
                    continue;
                }
                let vector = match params.storage.search {
                    Precision::F32 => e[2..].iter().map(|&w| f32::from_bits(w)).collect(),
                    Precision::F16 => f16::unpack(&e[2..], dim),
                };
                store.push(id, e[0], e[1], &vector)?;
            }
            if !alive[l] {
                store.remove(id);
            }
        }
        let hnsw_len = r.u64()? as usize;
        let centroid_index = Hnsw::from_bytes(r.bytes(hnsw_len)?, path)?;
        r.expect_end()?;
        if centroid_index.dim() != dim
            || centroid_index.metric() != metric
            || (0..lists as u32)
                .filter(|&l| centroid_index.slot(l).is_some())
                .count()
                != centroid_index.len()
        {
            return Err(bad("the centroid graph does not match the posting lists"));
        }
        // An id deleted and inserted again has older, deleted slots: the
        // map holds its latest slot, and only one slot per id may be live.
        let mut slot_of: HashMap<u32, u32> = HashMap::with_capacity(n);
        for (s, &e) in ext_ids.iter().enumerate() {
            if let Some(&prev) = slot_of.get(&e) {
                if !deleted[prev as usize] {
                    return Err(bad(&format!("external id {e} is live twice")));
                }
            }
            slot_of.insert(e, s as u32);
        }
        Ok(HFresh {
            live_lists: alive.iter().filter(|&&a| a).count(),
            n_live: deleted.iter().filter(|&&d| !d).count(),
            params,
            metric,
            dim,
            centroids,
            alive,
            live,
            dirty,
            centroid_index,
            store,
            vectors: has_codes.then_some(vectors),
            trained_rows,
            ext_ids,
            versions,
            deleted,
            members,
            slot_of,
            stats,
            built_on,
        })
    }
}
