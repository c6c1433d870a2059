//! Measuring an index honestly: exact ground truth, recall@k as
//! ann-benchmarks defines it, latency percentiles, and the operating points
//! (one per search setting) that the CLI prints and the app plots.

pub mod bench;
pub mod crossover;
pub mod groundtruth;
pub mod latency;
pub mod recall;

pub use bench::{measure, measure_prefix, Measurement, OperatingPoint, QueryMode};
pub use groundtruth::GroundTruth;
pub use latency::LatencyStats;
pub use recall::{recall_at_k, RECALL_EPSILON};
