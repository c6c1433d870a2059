//! The queries split in two, seeded: the tuner chooses on one half and
//! reports its pick on the other, so a setting that only fits the queries
//! it was chosen on shows as a lower held-out recall.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::dataset::Vectors;
use crate::error::{Error, Result};
use crate::eval::GroundTruth;

/// One half of the queries with their ground truth.
pub struct QuerySet {
    /// Rows of the original query file, in this set's order.
    pub rows: Vec<usize>,
    pub vectors: Vectors,
    pub gt: GroundTruth,
}

impl QuerySet {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The tuning half and the held-out half.
pub struct QuerySplit {
    pub tuning: QuerySet,
    pub heldout: QuerySet,
}

/// Fewer queries than this in either half and a recall figure means little.
pub const MIN_QUERIES_PER_HALF: usize = 10;

impl QuerySplit {
    /// Shuffles the query rows with `seed` and cuts them in half (the odd
    /// one goes to the tuning half).
    pub fn halves(queries: &Vectors, gt: &GroundTruth, seed: u64) -> Result<QuerySplit> {
        let n = queries.len();
        if gt.n_queries() != n {
            return Err(Error::Mismatch(format!(
                "ground truth covers {} queries, there are {n}",
                gt.n_queries()
            )));
        }
        if n < 2 * MIN_QUERIES_PER_HALF {
            return Err(Error::InvalidParameter(format!(
                "tuning needs at least {} queries (half to choose on, half to check the choice on); there are {n}",
                2 * MIN_QUERIES_PER_HALF
            )));
        }
        let mut rows: Vec<usize> = (0..n).collect();
        rows.shuffle(&mut StdRng::seed_from_u64(seed));
        let heldout_rows = rows.split_off(n.div_ceil(2));
        let set = |rows: Vec<usize>| QuerySet {
            vectors: queries.gather(&rows),
            gt: gt.select(&rows),
            rows,
        };
        Ok(QuerySplit {
            tuning: set(rows),
            heldout: set(heldout_rows),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queries(n: usize) -> (Vectors, GroundTruth) {
        let v = Vectors::from_vec((0..n * 2).map(|i| i as f32).collect(), 2).unwrap();
        let gt = GroundTruth::from_parts(
            1,
            (0..n as u32).collect(),
            (0..n).map(|i| i as f32).collect(),
        )
        .unwrap();
        (v, gt)
    }

    #[test]
    fn halves_are_disjoint_cover_everything_and_follow_the_seed() {
        let (v, gt) = queries(101);
        let s = QuerySplit::halves(&v, &gt, 7).unwrap();
        assert_eq!((s.tuning.len(), s.heldout.len()), (51, 50));
        let mut all: Vec<usize> = s
            .tuning
            .rows
            .iter()
            .chain(&s.heldout.rows)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        // Each half's vectors and ground truth are its own rows'.
        for (i, &row) in s.heldout.rows.iter().enumerate() {
            assert_eq!(s.heldout.vectors.row(i), v.row(row));
            assert_eq!(s.heldout.gt.ids(i), gt.ids(row));
        }
        let same = QuerySplit::halves(&v, &gt, 7).unwrap();
        assert_eq!(same.tuning.rows, s.tuning.rows);
        let other = QuerySplit::halves(&v, &gt, 8).unwrap();
        assert_ne!(other.tuning.rows, s.tuning.rows);
    }

    #[test]
    fn too_few_queries_are_refused() {
        let (v, gt) = queries(19);
        let e = QuerySplit::halves(&v, &gt, 1).err().unwrap().to_string();
        assert!(e.contains("at least 20 queries"), "{e}");
    }
}
