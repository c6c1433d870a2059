//! Where each base row stands in an index under writes, for the views to
//! draw: live, waiting in the indexing queue, a tombstone searches still
//! walk through, or not in the index at all (never written, or deleted and
//! cleaned up). The projection colours rows by it, so a deleted cluster is
//! seen to go, and a cleanup seen to finish the job.

use super::state::LiveRows;

/// One base row's place in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowMark {
    /// Not in the index: never written, or deleted and freed.
    Absent,
    /// Held by a live tag and searchable.
    Live,
    /// A write touching it is acknowledged and not yet indexed (its insert
    /// or replace not searchable yet, or its delete not applied yet).
    Queued,
    /// Deleted, still in the graph: searches walk through it, answers
    /// skip it, until a cleanup frees it.
    Tombstone,
}

impl RowMark {
    pub const ALL: [RowMark; 4] = [
        RowMark::Live,
        RowMark::Queued,
        RowMark::Tombstone,
        RowMark::Absent,
    ];
    pub fn label(self) -> &'static str {
        match self {
            RowMark::Absent => "not in the index",
            RowMark::Live => "live",
            RowMark::Queued => "queued (not yet indexed)",
            RowMark::Tombstone => "tombstone (deleted, not cleaned up)",
        }
    }
}

/// Each of `n` base rows' mark. A tag's row is the row it was inserted
/// with (tag = row, as runbooks and writes by hand insert), so a
/// tombstone is drawn where its tag was inserted; a queued write wins over
/// the row's other marks, a live row over a tombstone.
pub fn row_marks(
    n: usize,
    live: &LiveRows,
    queued_rows: &[usize],
    tombstone_tags: &[u32],
) -> Vec<RowMark> {
    let mut marks = vec![RowMark::Absent; n];
    for &t in tombstone_tags {
        if let Some(m) = marks.get_mut(t as usize) {
            *m = RowMark::Tombstone;
        }
    }
    for (row, _) in live.held() {
        if let Some(m) = marks.get_mut(row as usize) {
            *m = RowMark::Live;
        }
    }
    for &r in queued_rows {
        if let Some(m) = marks.get_mut(r) {
            *m = RowMark::Queued;
        }
    }
    marks
}

/// How many rows carry each mark, in [`RowMark::ALL`]'s order.
pub fn counts(marks: &[RowMark]) -> [usize; 4] {
    let mut out = [0; 4];
    for m in marks {
        let i = RowMark::ALL.iter().position(|a| a == m).unwrap_or(3);
        out[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::runbook::Op;

    #[test]
    fn queued_beats_live_beats_tombstone_and_the_rest_is_absent() {
        let mut live = LiveRows::new((0..10).collect());
        live.apply(&Op::Insert { start: 0, end: 6 });
        live.apply(&Op::Delete { start: 4, end: 6 });
        // Rows 0..4 live; 4 and 5 deleted, 4 still a tombstone, 5 freed;
        // row 3 has a queued replace, row 7 a queued insert; 8, 9 never written.
        let marks = row_marks(10, &live, &[3, 7], &[4]);
        use RowMark::*;
        assert_eq!(
            marks,
            [Live, Live, Live, Queued, Tombstone, Absent, Absent, Queued, Absent, Absent]
        );
        assert_eq!(counts(&marks), [3, 2, 1, 4]);
        // A tag out of range (another base) marks nothing.
        assert_eq!(row_marks(2, &live, &[99], &[42]), [Live, Live]);
    }
}
