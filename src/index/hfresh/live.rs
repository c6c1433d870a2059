//! HFresh under writes, as SPFresh takes them: the first insert builds the
//! lists (k-means over its rows; codes trained there), later inserts append
//! to their lists, a list past its limit splits and its neighbourhood is
//! reassigned, a list under the floor merges, and a delete is a stale entry
//! dropped when its list is next rewritten. The split/merge/reassign runs
//! inside the write that triggers it (not on a background thread).

use super::HFresh;
use crate::error::Result;
use crate::index::live::{as_dyn, first_build_rows, LiveIndex, Rows};
use crate::index::{AnnIndex, HFreshParams, IndexKind};
use crate::progress::WorkContext;

pub struct LiveHFresh {
    params: HFreshParams,
    index: Option<HFresh>,
    built_on_rows: usize,
}

impl LiveHFresh {
    pub fn new(params: HFreshParams) -> Result<Self> {
        params.validate()?;
        Ok(LiveHFresh {
            params,
            index: None,
            built_on_rows: 0,
        })
    }
}

fn not_in(tags: &[u32]) -> Result<()> {
    match tags.first() {
        Some(&t) => Err(crate::index::live::not_live(t)),
        None => Ok(()),
    }
}

impl LiveIndex for LiveHFresh {
    fn kind(&self) -> IndexKind {
        IndexKind::Hfresh
    }

    fn insert(&mut self, rows: Rows<'_>, ctx: &WorkContext) -> Result<()> {
        match &mut self.index {
            None => {
                let part = first_build_rows(&rows)?;
                self.index = Some(HFresh::build_with_ids(
                    &part,
                    rows.tags,
                    self.params.clone(),
                    ctx,
                )?);
                self.built_on_rows = rows.len();
            }
            Some(h) => rows.iter().try_for_each(|(t, v)| h.insert(t, v))?,
        }
        Ok(())
    }

    fn delete(&mut self, tags: &[u32]) -> Result<()> {
        match &mut self.index {
            Some(h) => tags.iter().try_for_each(|&t| h.delete(t)),
            None => not_in(tags),
        }
    }

    fn replace(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        match &mut self.index {
            Some(h) => rows.iter().try_for_each(|(t, v)| h.update(t, v)),
            None => not_in(rows.tags),
        }
    }

    fn tombstones(&self) -> usize {
        self.index
            .as_ref()
            .map_or(0, |h| h.ext_ids.len() - h.n_live)
    }

    fn searchable(&self) -> Option<&dyn AnnIndex> {
        as_dyn(&self.index)
    }

    fn live(&self) -> usize {
        self.index.as_ref().map_or(0, |h| h.n_live)
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![
            "hfresh: a delete leaves a stale entry dropped when its list is next rewritten (split, merge or compaction, inside the write that triggers it); a deleted slot's id and version stay held".to_string(),
        ];
        if !self.params.storage.quantizer.is_none() {
            notes.push(format!(
                "hfresh: {} codes trained on the first insert step ({} rows); later rows are encoded with that training",
                self.params.storage.quantizer, self.built_on_rows
            ));
        }
        notes
    }
}
