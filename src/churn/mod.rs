//! Indexes in motion: runbooks of inserts, deletes and replaces (in
//! big-ann-benchmarks' streaming format, read or generated), run against
//! an index kind that takes writes, with recall measured at every search
//! step against exact ground truth over the rows live then.
//!
//! [`runbook`] reads, checks and prints runbooks; [`generate`] makes them
//! for a base; [`order`] is the clustered insert order; [`state`] is the
//! one account of which row each live tag holds; [`truth`] the per-step
//! ground truth and its cache; [`run`] the runner; [`marks`] where each
//! row stands, for the views. How each kind takes writes is the kind's
//! own (`index::live`, `Family::live`).

pub mod by_hand;
pub mod generate;
pub mod marks;
pub mod order;
pub mod queue;
pub mod run;
pub mod runbook;
pub mod state;
pub mod truth;

pub use generate::generate;
pub use run::{run, Interval, Maintenance, Plan, Runner, StepLine, Summary, UnderWrites};
pub use runbook::{Op, Order, Runbook, Step};
pub use state::{LiveRows, Touched, Write};

use crate::dataset::Dataset;
use crate::error::Result;

/// The runbook's positions as base rows: the file's order, or the
/// clustered permutation it names.
pub fn positions(book: &Runbook, base: &Dataset) -> Result<Vec<u32>> {
    match book.order {
        Order::File => Ok((0..base.len() as u32).collect()),
        Order::Clustered { clusters, seed } => Ok(order::clustered(base, clusters, seed)?.rows),
    }
}
