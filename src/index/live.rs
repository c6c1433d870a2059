//! An index under writes: rows arrive under tags, are deleted and are
//! replaced while searches go on (`annscope churn` runs a runbook of them).
//!
//! Each kind that takes writes says how through its [`super::Family`]
//! (`Family::live`), so the runbook runner never names a kind. A live index
//! starts empty; its first insert builds it over the rows it is given (a
//! bulk load, as a user loads a collection before streaming into it), and
//! that build is where an index over quantized codes trains them: every
//! kind says so in [`LiveIndex::notes`]. Later writes go in place: inserts
//! link or append, deletes are tombstones that searches skip until a
//! cleanup (when the kind has one) frees them.

use std::sync::Arc;

use super::{AnnIndex, IndexKind, MemoryUsage};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// Rows of a base written under tags: `tags[i]` gets row `rows[i]`.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    pub base: &'a Dataset,
    pub tags: &'a [u32],
    pub rows: &'a [usize],
}

impl<'a> Rows<'a> {
    pub fn len(&self) -> usize {
        self.tags.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }
    /// The rows as a dataset of their own (for a bulk build), named after
    /// the base.
    pub fn gather(&self) -> Dataset {
        self.base.subset(self.base.name().to_string(), self.rows)
    }
    /// Tag and vector of each row, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &'a [f32])> + '_ {
        let base = self.base;
        self.tags
            .iter()
            .zip(self.rows)
            .map(move |(&t, &r)| (t, base.row(r)))
    }
}

/// What one cleanup cycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Tombstones whose slots were freed.
    pub freed: usize,
}

/// An index that takes inserts, deletes and replaces.
pub trait LiveIndex: Send + Sync {
    fn kind(&self) -> IndexKind;
    /// Writes rows under new tags (no tag may be live). The first write
    /// into an empty index builds it over those rows.
    fn insert(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()>;
    /// Deletes live tags: they never appear in an answer from now on.
    fn delete(&mut self, tags: &[u32]) -> Result<()>;
    /// Gives live tags new vectors; each keeps its tag.
    fn replace(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()>;
    /// Deleted entries still held (slots not yet freed, stale copies).
    fn tombstones(&self) -> usize {
        0
    }
    /// Whether [`LiveIndex::cleanup`] does anything for this kind.
    fn has_cleanup(&self) -> bool {
        false
    }
    /// One cleanup cycle: reconnects around tombstones and frees them.
    fn cleanup(&mut self, _ctx: &WorkContext) -> Result<Cleaned> {
        Ok(Cleaned::default())
    }
    /// The graph audit: live entries no search can reach from the entry
    /// point (None for a kind without a graph, or before the first insert).
    fn unreachable(&self) -> Option<usize> {
        None
    }
    /// A copy of the graph as it stands, tombstones included, for the
    /// views to draw while the original goes on changing (None for a kind
    /// without a graph, or before the first insert).
    fn snapshot(&self) -> Result<Option<Arc<dyn AnnIndex>>> {
        Ok(None)
    }
    /// Base rows that writes acknowledged and not yet applied touch (an
    /// insert's or replace's new row, a delete's tag as inserted); empty
    /// for an index written synchronously.
    fn queued_rows(&self) -> Vec<usize> {
        Vec::new()
    }
    /// The index searches go to; None while nothing was ever inserted.
    fn searchable(&self) -> Option<&dyn AnnIndex>;
    /// Live tags.
    fn live(&self) -> usize;
    /// Bytes held, tombstones included (zero while empty).
    fn memory(&self) -> MemoryUsage {
        self.searchable().map(|i| i.memory()).unwrap_or_default()
    }
    /// Writes acknowledged and not yet in the index (an indexing queue's
    /// length; 0 for an index written synchronously).
    fn queued(&self) -> usize {
        0
    }
    /// Blocks until every acknowledged write is in the index.
    fn drain(&self) -> Result<()> {
        Ok(())
    }
    /// Milliseconds from acknowledgement to indexed, per write applied so
    /// far (empty when writes are synchronous).
    fn freshness_ms(&self) -> Vec<f64> {
        Vec::new()
    }
    /// How it takes writes, for the report: where codes were trained, what
    /// a delete leaves behind.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A tag the index does not hold live.
pub(crate) fn not_live(tag: u32) -> Error {
    Error::InvalidParameter(format!("id {tag} is not in the index"))
}

/// A shared index built once, for kinds whose writes need `&mut` on a
/// concrete type and searches an `&dyn AnnIndex`.
pub(crate) fn as_dyn<T: AnnIndex + 'static>(t: &Option<T>) -> Option<&dyn AnnIndex> {
    t.as_ref().map(|t| t as &dyn AnnIndex)
}

/// The live index's share of a base row slice, checked for a bulk build.
pub(crate) fn first_build_rows(rows: &Rows<'_>) -> Result<Arc<Dataset>> {
    if rows.is_empty() {
        return Err(Error::InvalidParameter(
            "an insert of no rows cannot start an index".into(),
        ));
    }
    Ok(Arc::new(rows.gather()))
}
