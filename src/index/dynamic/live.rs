//! The dynamic index under writes, as Weaviate's: every insert streams in
//! (no bulk build), searched flat up to the threshold; the insert that
//! passes it starts the HNSW build on a background thread, searches stay
//! flat until the swap, and writes made meanwhile are caught up. After the
//! switch, deletes and replaces are the HNSW's (tombstones, cleanup).

use std::sync::Arc;

use super::{DynamicConfig, DynamicIndex, DynamicState};
use crate::error::Result;
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
