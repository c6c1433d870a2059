//! Saving and loading the dynamic index in one checksummed file, written
//! atomically: its configuration, and either its flat store (every entry in
//! insertion order, deleted ones marked, so the switch comes at the same
//! count after a load) or, once switched, the HNSW that replaced it.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{DynamicConfig, DynamicIndex};
use crate::error::{Error, Result};
use crate::index::binio::{read_checked, read_file, write_checked, Head};
use crate::index::hnsw::DynamicEf;
use crate::index::{AnnIndex, Hnsw};

const MAGIC: &[u8; 8] = b"ANNSDYNA";
const VERSION: u32 = 1;

impl DynamicIndex {
    /// Writes the index to `path` atomically (after a switch in progress).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.wait_for_switch()?;
        let lock = |what: &str| Error::Internal(format!("{what} lock"));
        let flat = self.flat.read().map_err(|_| lock("flat"))?;
        let hnsw = self.hnsw.read().map_err(|_| lock("hnsw"))?;
        let mut graph = Vec::new();
        if let Some(h) = hnsw.as_ref() {
            h.write_to(&mut graph).map_err(|e| Error::io(path, e))?;
        }
        let switched = self.switched.load(Ordering::Acquire);
        let head = Head {
            version: VERSION,
            metric: self.metric,
            dim: self.dim,
        };
        crate::fsutil::write_atomic_with(path, |w| {
            write_checked(w, MAGIC, &head, |o| {
                o.json(&self.config)?;
                for v in [
                    self.dynamic_ef.min,
                    self.dynamic_ef.max,
                    self.dynamic_ef.factor,
                ] {
                    o.u32(v as u32)?;
                }
                o.built_on(self.built_on)?;
                if switched {
                    o.bytes(&[1])?;
                    o.u64(self.switched_at.load(Ordering::Relaxed) as u64)?;
                    o.u64(graph.len() as u64)?;
                    o.bytes(&graph)?;
                } else {
                    o.bytes(&[0])?;
                    o.u64(flat.ids.len() as u64)?;
                    o.u32s(flat.ids.iter().copied())?;
                    o.u32s(flat.vectors.iter().map(|v| v.to_bits()))?;
                    let deleted: Vec<u8> = flat
                        .ids
                        .iter()
                        .map(|id| u8::from(flat.deleted.contains(id)))
                        .collect();
                    o.bytes(&deleted)?;
                }
                Ok(())
            })
        })
    }

    /// Reads an index written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Arc<Self>> {
        let bytes = read_file(path)?;
        let bad = |p: &str| Error::format(path, p.to_string());
        let (mut r, Head { metric, dim, .. }) =
            read_checked(&bytes, path, MAGIC, "dynamic", VERSION)?;
        let config: DynamicConfig = r.json("configuration")?;
        let dynamic_ef = DynamicEf {
            min: r.u32()? as usize,
            max: r.u32()? as usize,
            factor: r.u32()? as usize,
        };
        dynamic_ef.validate().map_err(|e| bad(&e.to_string()))?;
        let built_on = r.built_on()?;
        let mut index = DynamicIndex::new(config, dim, metric).map_err(|e| bad(&e.to_string()))?;
        let me =
            Arc::get_mut(&mut index).ok_or_else(|| Error::Internal("fresh index shared".into()))?;
        me.dynamic_ef = dynamic_ef;
        me.built_on = built_on;
        match r.bytes(1)?[0] {
            1 => {
                let at = r.u64()? as usize;
                let len = r.u64()? as usize;
                let h = Hnsw::from_bytes(r.bytes(len)?, path)?;
                if h.dim() != dim || h.metric() != metric {
                    return Err(bad(
                        "the HNSW does not match the index's dimension and metric",
                    ));
                }
                me.live.store(h.len(), Ordering::Relaxed);
                me.switched_at.store(at, Ordering::Relaxed);
                me.building.store(true, Ordering::Release);
                me.switched.store(true, Ordering::Release);
                *me.hnsw
                    .get_mut()
                    .map_err(|_| Error::Internal("hnsw lock".into()))? = Some(h);
                r.expect_end()?;
                Ok(index)
            }
            0 => {
                let n = r.u64()? as usize;
                if n > me.config.threshold {
                    return Err(bad("a flat index holds more vectors than its threshold"));
                }
                let ids = r.u32s(n)?;
                let raw = r.u32s(
                    n.checked_mul(dim)
                        .ok_or_else(|| bad("truncated index file"))?,
                )?;
                let deleted = r.bytes(n)?;
                r.expect_end()?;
                // The entries as they were, in insertion order and already
                // prepared, deleted ones marked: the count that decides the
                // switch is the same as before the save.
                let f = me
                    .flat
                    .get_mut()
                    .map_err(|_| Error::Internal("flat lock".into()))?;
                for (&id, &d) in ids.iter().zip(deleted) {
                    if !f.id_set.insert(id) {
                        return Err(bad(&format!("id {id} appears twice")));
                    }
                    if d != 0 {
                        f.deleted.insert(id);
                    }
                }
                f.vectors = raw.into_iter().map(f32::from_bits).collect();
                f.ids = ids;
                let live = n - f.deleted.len();
                me.live.store(live, Ordering::Relaxed);
                Ok(index)
            }
            c => Err(bad(&format!("unknown state code {c}"))),
        }
    }
}
