//! Which base row each live tag holds, stepped through a runbook: the one
//! account the runner (what to write) and the ground truth (what is live)
//! both read, so they cannot disagree.

use std::collections::HashMap;

use super::runbook::Op;

/// What one write step touches: `tags[i]` with base row `rows[i]` (the
/// row a delete releases, the row an insert or replace writes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub tags: Vec<u32>,
    pub rows: Vec<usize>,
}

/// What a write does to the tags it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Insert,
    Delete,
    Replace,
}

impl Write {
    /// The write a (non-search) runbook step makes.
    pub fn of(op: &Op) -> Write {
        match op {
            Op::Insert { .. } | Op::Search => Write::Insert,
            Op::Delete { .. } => Write::Delete,
            Op::Replace { .. } => Write::Replace,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Write::Insert => "insert",
            Write::Delete => "delete",
            Write::Replace => "replace",
        }
    }
}

/// Live tags and their rows.
pub struct LiveRows {
    /// Runbook position → base row (the runbook's order).
    order: Vec<u32>,
    row_of_tag: HashMap<u32, u32>,
}

impl LiveRows {
    /// Nothing live yet, over a base addressed through `order`.
    pub fn new(order: Vec<u32>) -> Self {
        LiveRows {
            order,
            row_of_tag: HashMap::new(),
        }
    }

    /// Applies a (checked) step; returns what it touched.
    pub fn apply(&mut self, op: &Op) -> Touched {
        let mut t = Touched::default();
        match *op {
            Op::Insert { start, end } => {
                for p in start..end {
                    let tag = self.order[p];
                    self.row_of_tag.insert(tag, tag);
                    t.tags.push(tag);
                    t.rows.push(tag as usize);
                }
            }
            Op::Delete { start, end } => {
                for p in start..end {
                    let tag = self.order[p];
                    if let Some(row) = self.row_of_tag.remove(&tag) {
                        t.tags.push(tag);
                        t.rows.push(row as usize);
                    }
                }
            }
            Op::Replace {
                tags_start,
                tags_end,
                ids_start,
                ..
            } => {
                for (i, p) in (tags_start..tags_end).enumerate() {
                    let tag = self.order[p];
                    let row = self.order[ids_start + i];
                    self.row_of_tag.insert(tag, row);
                    t.tags.push(tag);
                    t.rows.push(row as usize);
                }
            }
            Op::Search => {}
        }
        t
    }

    /// Applies a write made by hand (checked by its maker, as a runbook's
    /// steps are by [`super::Runbook::check`]).
    pub fn apply_touched(&mut self, write: Write, t: &Touched) {
        for (&tag, &row) in t.tags.iter().zip(&t.rows) {
            match write {
                Write::Insert | Write::Replace => {
                    self.row_of_tag.insert(tag, row as u32);
                }
                Write::Delete => {
                    self.row_of_tag.remove(&tag);
                }
            }
        }
    }

    /// The runbook's order: position → base row.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    pub fn len(&self) -> usize {
        self.row_of_tag.len()
    }
    pub fn is_empty(&self) -> bool {
        self.row_of_tag.is_empty()
    }
    /// The row a live tag holds.
    pub fn row(&self, tag: u32) -> Option<u32> {
        self.row_of_tag.get(&tag).copied()
    }
    /// (row, tag) of every live tag.
    pub fn held(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.row_of_tag.iter().map(|(&t, &r)| (r, t))
    }
}
