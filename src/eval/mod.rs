//! Measuring an index honestly: exact ground truth, recall@k as
//! ann-benchmarks defines it, latency percentiles, and the operating points
//! (one per search setting) that the CLI prints and the app plots, the
//! sweep of search settings, and the writers of every report format.

pub mod bench;
pub mod crossover;
pub mod groundtruth;
pub mod latency;
pub mod process;
pub mod recall;
pub mod report;
pub mod sweep;

pub use bench::{
    measure, measure_for, measure_prefix, Measurement, OperatingPoint, QueryMode, RunOptions,
    Spread,
};
pub use groundtruth::GroundTruth;
pub use latency::LatencyStats;
pub use recall::{recall_at_k, recall_from_reported, RECALL_EPSILON};
pub use report::{PointWriter, ReportFormat};
pub use sweep::{plan_sweep, SweepPlan};
