//! HNSW under writes: the first insert builds the graph over its rows (in
//! parallel; a quantizer's codes are trained there), later inserts are
//! linked in parallel as the build links (reusing slots a cleanup freed),
//! deletes are tombstones searches skip, and a cleanup reconnects around
//! them and frees their slots, as Weaviate's tombstone cleanup does.

use crate::error::Result;
use crate::index::live::{as_dyn, first_build_rows, Cleaned, LiveIndex, Rows};
use crate::index::{AnnIndex, Hnsw, HnswParams, IndexKind, VectorPlace};
use crate::progress::WorkContext;

pub struct LiveHnsw {
    params: HnswParams,
    index: Option<Hnsw>,
    /// Rows the first build (and its codes) saw.
    built_on_rows: usize,
}

impl LiveHnsw {
    pub fn new(params: HnswParams) -> Result<Self> {
        params.validate()?;
        if params.storage.vectors == VectorPlace::Disk {
            return Err(crate::error::Error::InvalidParameter(
                "--vectors disk: an index that reads its vectors from the base file cannot take writes; use --vectors ram".into(),
            ));
        }
        Ok(LiveHnsw {
            params,
            index: None,
            built_on_rows: 0,
        })
    }
}

impl LiveIndex for LiveHnsw {
    fn kind(&self) -> IndexKind {
        IndexKind::Hnsw
    }

    fn insert(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()> {
        match &mut self.index {
            None => {
                let part = first_build_rows(&rows)?;
                self.index = Some(Hnsw::build_with_ids(
                    &part,
                    rows.tags,
                    self.params.clone(),
                    ctx,
                )?);
                self.built_on_rows = rows.len();
            }
            Some(h) => {
                let batch: Vec<(u32, &[f32])> = rows.iter().collect();
                h.insert_batch(&batch, ctx)?;
            }
        }
        Ok(())
    }

    fn delete(&mut self, tags: &[u32]) -> Result<()> {
        let Some(h) = &mut self.index else {
            return match tags.first() {
                Some(&t) => Err(crate::index::hnsw::unknown_id(t)),
                None => Ok(()),
            };
        };
        tags.iter().try_for_each(|&t| h.delete(t))
    }

    fn replace(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()> {
        let Some(h) = &mut self.index else {
            return match rows.tags.first() {
                Some(&t) => Err(crate::index::hnsw::unknown_id(t)),
                None => Ok(()),
            };
        };
        // Each tag's old node becomes a tombstone; the new vectors link in
        // parallel. Every tag is checked live before any is touched.
        if let Some(&t) = rows.tags.iter().find(|&&t| h.slot(t).is_none()) {
            return Err(crate::index::hnsw::unknown_id(t));
        }
        rows.tags.iter().try_for_each(|&t| h.delete(t))?;
        let batch: Vec<(u32, &[f32])> = rows.iter().collect();
        h.insert_batch(&batch, ctx)
    }

    fn tombstones(&self) -> usize {
        self.index.as_ref().map_or(0, |h| h.deleted_count())
    }

    fn has_cleanup(&self) -> bool {
        true
    }

    fn unreachable(&self) -> Option<usize> {
        self.index.as_ref().map(|h| h.unreachable_slots().len())
    }

    fn cleanup(&mut self, ctx: &WorkContext) -> Result<Cleaned> {
        let freed = match &mut self.index {
            Some(h) => h.cleanup(ctx)?,
            None => 0,
        };
        Ok(Cleaned { freed })
    }

    fn searchable(&self) -> Option<&dyn AnnIndex> {
        as_dyn(&self.index)
    }

    fn snapshot(&self) -> Result<Option<std::sync::Arc<dyn AnnIndex>>> {
        let Some(h) = &self.index else {
            return Ok(None);
        };
        Ok(Some(std::sync::Arc::new(h.snapshot()?)))
    }

    fn live(&self) -> usize {
        self.index.as_ref().map_or(0, |h| h.live_len())
    }

    fn notes(&self) -> Vec<String> {
        let q = self.params.storage.quantizer;
        let mut notes = vec![
            "hnsw: deletes are tombstones searches skip; the graph routes through them until a cleanup reconnects their neighbours and frees their slots (reused by later inserts)".to_string(),
        ];
        if !q.is_none() {
            notes.push(format!(
                "hnsw: {q} codes trained on the first insert step ({} rows); later rows are encoded with that training",
                self.built_on_rows
            ));
        }
        notes
    }
}
