//! A Motion run's index as it stands at one step, for the views: a copy of
//! its graph (tombstones included) and where each base row stands in it.
//! The run's worker takes the copy between steps, so the views draw a
//! still index while the run goes on changing its own; the layer graph,
//! the search path and the projection's "motion state" colouring read it
//! until the user goes back to the built index.

use std::sync::Arc;

use crate::churn::marks::{self, RowMark};
use crate::churn::run::Runner;
use crate::error::Result;
use crate::index::{AnnIndex, GraphOverview};

#[derive(Clone)]
pub struct MotionShot {
    /// The views' key for this copy (never a build's id).
    pub id: usize,
    /// The Motion run it was taken of (set when it reaches the app).
    pub run: usize,
    /// "Motion run 2 (HNSW, cleanup 5%) at step 14 of 40".
    pub label: String,
    pub index: Arc<dyn AnnIndex>,
    pub overview: GraphOverview,
    /// Each base row's place in the index.
    pub marks: Arc<Vec<RowMark>>,
    /// Rows per mark, in [`RowMark::ALL`]'s order.
    pub counts: [usize; 4],
    /// Live tags whose vector is not their first row's (replaced): the
    /// views draw a node where its tag was inserted.
    pub moved: usize,
}

/// Ids of shots start here, far above any build's.
pub const FIRST_SHOT_ID: usize = usize::MAX / 2;

impl std::fmt::Debug for MotionShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotionShot")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl MotionShot {
    /// Copies the runner's index as it stands; None for a kind without a
    /// graph (or before its first insert).
    pub fn take(runner: &Runner<'_>, rows: usize) -> Result<Option<MotionShot>> {
        let live_index = runner.index();
        let Some(index) = live_index.snapshot()? else {
            return Ok(None);
        };
        let Some(graph) = index.graph() else {
            return Ok(None);
        };
        let overview = GraphOverview::of(graph, rows);
        let queued = live_index.queued_rows();
        let marks = marks::row_marks(rows, runner.live(), &queued, &graph.tombstone_ids());
        let moved = runner.live().held().filter(|&(r, t)| r != t).count();
        Ok(Some(MotionShot {
            run: 0,
            id: 0,
            label: String::new(),
            counts: marks::counts(&marks),
            marks: Arc::new(marks),
            overview,
            index,
            moved,
        }))
    }

    pub fn count(&self, mark: RowMark) -> usize {
        RowMark::ALL
            .iter()
            .position(|&m| m == mark)
            .map_or(0, |i| self.counts[i])
    }
}
