//! annscope: see and tune approximate-nearest-neighbour vector indexes.
//!
//! This crate is the engine and the headless CLI behind the annscope desktop
//! app. The engine never depends on the GUI: datasets ([`dataset`]), distance
//! kernels ([`distance`]), indexes ([`index`]), evaluation against exact
//! ground truth ([`eval`]) and background jobs ([`job`]) are plain Rust, and
//! build and test with `--no-default-features`.
//!
//! ```
//! use std::sync::Arc;
//! use annscope::{dataset::Dataset, distance::Metric, index::{IndexSpec, SearchParams}};
//! use annscope::progress::WorkContext;
//!
//! let data = vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
//! let ds = Arc::new(Dataset::from_vec("four points", data, 2, Metric::L2)?);
//! let index = IndexSpec::Flat.build(ds, &WorkContext::detached())?;
//! let hits = index.search(&[0.9, 0.2], &SearchParams::new(2))?;
//! assert_eq!(hits.ids, vec![1, 3]);
//! # Ok::<(), annscope::error::Error>(())
//! ```

#[cfg(feature = "gui")]
pub mod app;
pub mod cache;
pub mod churn;
pub mod cli;
pub mod dataset;
pub mod distance;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod hugepages;
pub mod index;
pub mod job;
pub mod progress;
pub mod projection;
#[doc(hidden)]
pub mod testutil;
pub mod tune;
