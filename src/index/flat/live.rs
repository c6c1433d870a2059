//! The flat index under writes: the exact scan over the base rows that live
//! tags hold (an allow-list over the base, so the fast blocked product
//! answers a batch), each answer mapped from base rows to tags. A write
//! only changes which rows are held: nothing to clean up, recall 1.

use std::sync::Arc;

use super::FlatIndex;
use crate::dataset::{Dataset, Vectors};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::live::{LiveIndex, Rows};
use crate::index::{
    AllowList, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams,
};
use crate::progress::WorkContext;

const NO_TAG: u32 = u32::MAX;

pub struct LiveFlat {
    flat: FlatIndex,
    base: Arc<Dataset>,
    /// The base rows live tags hold.
    held: Arc<AllowList>,
    /// Base row → the tag holding it.
    tag_of_row: Vec<u32>,
    /// Tag → the base row it holds.
    row_of_tag: std::collections::HashMap<u32, u32>,
}

impl LiveFlat {
    pub fn new(base: Arc<Dataset>, ctx: &WorkContext) -> Result<Self> {
        let n = base.len();
        Ok(LiveFlat {
            flat: FlatIndex::build(base.clone(), ctx)?,
            held: Arc::new(AllowList::none(n)),
            tag_of_row: vec![NO_TAG; n],
            row_of_tag: Default::default(),
            base,
        })
    }

    /// Rows name rows of the base this index scans; rows of another base
    /// would be answered with this one's vectors.
    fn check_base(&self, rows: &Rows<'_>) -> Result<()> {
        if !std::ptr::eq(rows.base, self.base.as_ref()) {
            return Err(Error::Mismatch(
                "the flat index under writes scans the base it was made on: rows of another base"
                    .into(),
            ));
        }
        Ok(())
    }

    fn hold(&mut self, tag: u32, row: usize) -> Result<()> {
        let r = row as u32;
        if self.tag_of_row[row] != NO_TAG {
            return Err(Error::InvalidParameter(format!(
                "row {row} is held by tag {} already: one row, one live tag",
                self.tag_of_row[row]
            )));
        }
        self.tag_of_row[row] = tag;
        self.row_of_tag.insert(tag, r);
        Arc::make_mut(&mut self.held).insert(r);
        Ok(())
    }

    fn release(&mut self, tag: u32) -> Result<()> {
        let row = self
            .row_of_tag
            .remove(&tag)
            .ok_or_else(|| crate::index::live::not_live(tag))?;
        self.tag_of_row[row as usize] = NO_TAG;
        Arc::make_mut(&mut self.held).remove(row);
        Ok(())
    }

    fn to_tags(&self, mut n: Neighbors) -> Neighbors {
        for id in &mut n.ids {
            *id = self.tag_of_row[*id as usize];
        }
        n
    }

    fn filtered(&self, params: &SearchParams) -> Result<SearchParams> {
        if params.filter.is_some() {
            return Err(Error::InvalidParameter(
                "a filtered search over a flat index under writes is not supported".into(),
            ));
        }
        Ok(SearchParams {
            filter: Some(self.held.clone()),
            ..params.clone()
        })
    }
}

impl LiveIndex for LiveFlat {
    fn kind(&self) -> IndexKind {
        IndexKind::Flat
    }

    fn insert(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        self.check_base(&rows)?;
        for (&t, &r) in rows.tags.iter().zip(rows.rows) {
            if self.row_of_tag.contains_key(&t) {
                return Err(Error::InvalidParameter(format!(
                    "id {t} is already in the index"
                )));
            }
            self.hold(t, r)?;
        }
        Ok(())
    }

    fn delete(&mut self, tags: &[u32]) -> Result<()> {
        tags.iter().try_for_each(|&t| self.release(t))
    }

    fn replace(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        self.check_base(&rows)?;
        for (&t, &r) in rows.tags.iter().zip(rows.rows) {
            self.release(t)?;
            self.hold(t, r)?;
        }
        Ok(())
    }

    fn searchable(&self) -> Option<&dyn AnnIndex> {
        (!self.row_of_tag.is_empty()).then_some(self as &dyn AnnIndex)
    }

    fn live(&self) -> usize {
        self.row_of_tag.len()
    }

    fn notes(&self) -> Vec<String> {
        vec!["flat: an exact scan of the base rows live tags hold; a delete releases its row at once (nothing to clean up)".into()]
    }
}

impl AnnIndex for LiveFlat {
    fn kind(&self) -> IndexKind {
        IndexKind::Flat
    }
    fn len(&self) -> usize {
        self.row_of_tag.len()
    }
    fn dim(&self) -> usize {
        self.base.dim()
    }
    fn metric(&self) -> Metric {
        self.base.metric()
    }
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        let p = self.filtered(params)?;
        Ok(self.to_tags(self.flat.search(query, &p)?))
    }
    fn search_batch(&self, queries: &Vectors, params: &SearchParams) -> Result<Vec<Neighbors>> {
        self.filtered(params)?;
        let ctx = WorkContext::detached();
        let out = self
            .flat
            .search_batch_with(queries, params.k, Some(&self.held), &ctx)?;
        Ok(out.into_iter().map(|n| self.to_tags(n)).collect())
    }
    fn memory(&self) -> MemoryUsage {
        let mut m = self.flat.memory();
        m.ram_bytes += (self.tag_of_row.capacity() * 4 + self.row_of_tag.capacity() * 12) as u64;
        m
    }
    fn params(&self) -> ParamMap {
        self.flat.params()
    }
}
