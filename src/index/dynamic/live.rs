//! The dynamic index under writes, as Weaviate's: every insert streams in
//! (no bulk build), searched flat up to the threshold; the insert that
//! passes it starts the HNSW build on a background thread, searches stay
//! flat until the swap, and writes made meanwhile are caught up. After the
//! switch, deletes and replaces are the HNSW's (tombstones, cleanup).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{DynamicConfig, DynamicIndex, DynamicState, FlatStore};
use crate::error::{Error, Result};
use crate::index::check_query_dim;
use crate::index::live::{Cleaned, LiveIndex, Rows};
use crate::index::{AnnIndex, IndexKind};
use crate::progress::WorkContext;

pub struct LiveDynamic {
    index: Arc<DynamicIndex>,
}

impl LiveDynamic {
    pub fn new(config: DynamicConfig, dim: usize, metric: crate::distance::Metric) -> Result<Self> {
        Ok(LiveDynamic {
            index: DynamicIndex::new(config, dim, metric)?,
        })
    }
}

impl LiveIndex for LiveDynamic {
    fn kind(&self) -> IndexKind {
        IndexKind::Dynamic
    }

    fn insert(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()> {
        rows.iter().try_for_each(|(t, v)| {
            ctx.cancel.check()?;
            self.index.insert(t, v)
        })
    }

    fn delete(&mut self, tags: &[u32]) -> Result<()> {
        tags.iter().try_for_each(|&t| self.index.delete(t))
    }

    fn replace(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        rows.iter().try_for_each(|(t, v)| self.index.update(t, v))
    }

    fn tombstones(&self) -> usize {
        self.index.tombstones()
    }

    fn has_cleanup(&self) -> bool {
        true
    }

    fn cleanup(&mut self, ctx: &WorkContext) -> Result<Cleaned> {
        Ok(Cleaned {
            freed: self.index.cleanup(ctx)?,
        })
    }

    fn searchable(&self) -> Option<&dyn AnnIndex> {
        (!self.index.is_empty()).then_some(self.index.as_ref() as &dyn AnnIndex)
    }

    fn live(&self) -> usize {
        self.index.len()
    }

    fn notes(&self) -> Vec<String> {
        let state = match self.index.state() {
            DynamicState::Flat => "still flat".to_string(),
            DynamicState::BuildingHnsw => "building its HNSW".to_string(),
            DynamicState::Switched { at } => format!("switched to HNSW at {at} vectors"),
        };
        vec![format!(
            "dynamic: flat up to {} vectors, then HNSW built in the background; now {state}",
            self.index.config().threshold
        )]
    }
}

/// The writes a runbook needs beyond insert and delete: replace in place,
/// the tombstone count, and cleanup.
impl DynamicIndex {
    /// Gives a live `id` a new vector. While flat the row is overwritten in
    /// place; a replace that arrives while the HNSW is being built from the
    /// store waits for the switch (the build reads the store by position).
    pub fn update(&self, id: u32, vector: &[f32]) -> Result<()> {
        check_query_dim(self.dim, vector)?;
        if let Some((i, v)) = vector.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::InvalidParameter(format!(
                "vector for id {id}: value {v} at column {i} is not finite"
            )));
        }
        if self.building.load(Ordering::Acquire) && !self.switched.load(Ordering::Acquire) {
            self.wait_for_switch()?;
        }
        let _g = self
            .gate
            .lock()
            .map_err(|_| Error::Internal("insert gate".into()))?;
        if self.switched.load(Ordering::Acquire) {
            return self.with_switched_hnsw(|h| h.update(id, vector));
        }
        let mut f = self
            .flat
            .write()
            .map_err(|_| Error::Internal("flat lock".into()))?;
        let at = f
            .ids
            .iter()
            .position(|&i| i == id)
            .filter(|_| !f.deleted.contains(&id))
            .ok_or_else(|| crate::index::live::not_live(id))?;
        let v = self.prepare(vector);
        f.vectors[at * self.dim..(at + 1) * self.dim].copy_from_slice(&v);
        Ok(())
    }

    /// Deleted entries still held: the flat store's tombstones, or the
    /// HNSW's once switched.
    pub fn tombstones(&self) -> usize {
        let _g = self.gate.lock();
        if self.switched.load(Ordering::Acquire) {
            self.hnsw
                .read()
                .ok()
                .and_then(|h| h.as_ref().map(|h| h.deleted_count()))
                .unwrap_or(0)
        } else {
            self.flat.read().map(|f| f.deleted.len()).unwrap_or(0)
        }
    }

    /// Frees tombstones: the HNSW's cleanup once switched; while flat, the
    /// deleted rows are dropped from the store (not while the HNSW is being
    /// built from it: its catch-up reads the store by position). Returns
    /// how many were freed.
    pub fn cleanup(&self, ctx: &WorkContext) -> Result<usize> {
        let _g = self
            .gate
            .lock()
            .map_err(|_| Error::Internal("insert gate".into()))?;
        if self.switched.load(Ordering::Acquire) {
            return self.with_switched_hnsw(|h| h.cleanup(ctx));
        }
        if self.building.load(Ordering::Acquire) {
            return Ok(0);
        }
        let mut f = self
            .flat
            .write()
            .map_err(|_| Error::Internal("flat lock".into()))?;
        let freed = f.deleted.len();
        if freed == 0 {
            return Ok(0);
        }
        let FlatStore {
            vectors,
            ids,
            id_set,
            deleted,
        } = std::mem::take(&mut *f);
        let mut kept = FlatStore::default();
        for (row, &id) in vectors.chunks_exact(self.dim).zip(&ids) {
            if !deleted.contains(&id) {
                kept.vectors.extend_from_slice(row);
                kept.ids.push(id);
            }
        }
        kept.id_set = id_set
            .into_iter()
            .filter(|id| !deleted.contains(id))
            .collect();
        *f = kept;
        Ok(freed)
    }
}
