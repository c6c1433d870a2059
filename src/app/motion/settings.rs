//! The Motion lab's controls, remembered with the app's settings: where
//! the runbook comes from, how the index is kept (maintenance, async
//! indexing), the pace, and the sizes of writes by hand.

use serde::{Deserialize, Serialize};

use crate::churn::queue::AsyncConfig;
use crate::churn::{Interval, Maintenance};

/// Where a run's runbook comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// One of `churn::generate`'s generators, with its options
    /// (`key=value,…`, empty for its defaults).
    Generated { name: String, options: String },
    /// A big-ann-benchmarks YAML runbook.
    File(std::path::PathBuf),
    /// Every row inserted, then writes by hand only.
    ByHand,
}

/// How the index is kept between writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keeping {
    Nothing,
    Cleanup,
    Rebuild,
}

impl Keeping {
    pub const ALL: [Keeping; 3] = [Keeping::Nothing, Keeping::Cleanup, Keeping::Rebuild];
    pub fn label(self) -> &'static str {
        match self {
            Keeping::Nothing => "no maintenance",
            Keeping::Cleanup => "cleanup",
            Keeping::Rebuild => "rebuild",
        }
    }
}

/// What a cleanup interval counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CleanupClock {
    /// A share of the base's rows written (reproducible: the same runbook
    /// cleans at the same steps).
    Rows,
    /// Seconds, as Weaviate's `cleanupIntervalSeconds`: a cycle runs when
    /// the time is up, between writes or while the index sits idle.
    Seconds,
}

/// The charts' x axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Axis {
    Step,
    Seconds,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MotionSettings {
    pub source: Source,
    pub keeping: Keeping,
    /// Cleanup after this share of the base's rows has been written (5%:
    /// every 5,000 rows on 100,000, every 200 on the 4,000-row sample).
    pub cleanup_share: f64,
    /// Whether the interval counts rows ([`Self::cleanup_share`]) or
    /// seconds ([`Self::cleanup_seconds`]).
    pub cleanup_clock: CleanupClock,
    pub cleanup_seconds: f64,
    /// Rebuild once this share of the rows built with has been deleted or
    /// replaced.
    pub rebuild_at: f64,
    pub async_indexing: bool,
    pub async_batch: usize,
    /// Steps per second while playing; None: as fast as they go.
    pub speed: Option<f32>,
    /// Writes by hand: the share deleted or replaced, rows inserted.
    pub hand_share: f64,
    pub hand_rows: usize,
    /// A cluster deleted by hand: the rows nearest the picked node on the
    /// Projection tab's map (true) or in the data (false).
    pub near_on_map: bool,
    /// While a run's copy is in the views, take a new one after each of
    /// its search steps.
    pub follow_views: bool,
    /// A write stream's rate, rows per second.
    pub stream_rate: f32,
    pub axis: Axis,
    pub seed: u64,
}

impl Default for MotionSettings {
    fn default() -> Self {
        MotionSettings {
            source: Source::Generated {
                name: "clustered-deletes".into(),
                options: String::new(),
            },
            keeping: Keeping::Cleanup,
            cleanup_share: 0.05,
            cleanup_clock: CleanupClock::Rows,
            cleanup_seconds: 5.0,
            rebuild_at: 0.2,
            async_indexing: false,
            async_batch: 1_000,
            speed: Some(4.0),
            hand_share: 0.3,
            hand_rows: 500,
            near_on_map: false,
            follow_views: false,
            stream_rate: 200.0,
            axis: Axis::Step,
            seed: 42,
        }
    }
}

impl MotionSettings {
    /// Rows written between cleanups on a base of `n` rows.
    pub fn cleanup_rows(&self, n: usize) -> usize {
        ((self.cleanup_share.clamp(0.0, 1.0) * n as f64).round() as usize).max(1)
    }

    /// Seconds between cleanup cycles (at least a tenth: the worker looks
    /// at the clock a few times a second).
    pub fn cleanup_secs(&self) -> f64 {
        if self.cleanup_seconds.is_finite() {
            self.cleanup_seconds.clamp(0.1, 86_400.0)
        } else {
            5.0
        }
    }

    pub fn maintenance(&self, n: usize) -> Maintenance {
        match self.keeping {
            Keeping::Nothing => Maintenance::None,
            Keeping::Cleanup => Maintenance::Cleanup(match self.cleanup_clock {
                CleanupClock::Rows => Interval::Ops(self.cleanup_rows(n)),
                CleanupClock::Seconds => Interval::Seconds(self.cleanup_secs()),
            }),
            Keeping::Rebuild => Maintenance::RebuildAt(self.rebuild_at.clamp(0.01, 1.0)),
        }
    }

    pub fn async_config(&self) -> Option<AsyncConfig> {
        self.async_indexing.then(|| AsyncConfig {
            batch: self.async_batch.max(1),
            ..AsyncConfig::default()
        })
    }

    /// How a run under these settings is named on the charts.
    pub fn strategy_label(&self, kind: &str, n: usize) -> String {
        let keeping = match self.keeping {
            Keeping::Nothing => "no maintenance".to_string(),
            Keeping::Cleanup => match self.cleanup_clock {
                CleanupClock::Rows => format!("cleanup every {} rows", self.cleanup_rows(n)),
                CleanupClock::Seconds => format!("cleanup every {} s", self.cleanup_secs()),
            },
            Keeping::Rebuild => format!("rebuild at {:.0}%", self.rebuild_at * 100.0),
        };
        let queue = if self.async_indexing { ", async" } else { "" };
        format!("{kind}, {keeping}{queue}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleanup_interval_counts_rows_or_seconds_as_chosen() {
        let mut s = MotionSettings::default();
        assert_eq!(
            s.maintenance(4_000),
            Maintenance::Cleanup(Interval::Ops(200))
        );
        assert_eq!(
            s.strategy_label("HNSW", 4_000),
            "HNSW, cleanup every 200 rows"
        );
        s.cleanup_clock = CleanupClock::Seconds;
        s.cleanup_seconds = 2.5;
        assert_eq!(
            s.maintenance(4_000),
            Maintenance::Cleanup(Interval::Seconds(2.5))
        );
        assert_eq!(s.strategy_label("HNSW", 4_000), "HNSW, cleanup every 2.5 s");
        s.cleanup_seconds = f64::NAN;
        assert_eq!(
            s.maintenance(4_000),
            Maintenance::Cleanup(Interval::Seconds(5.0))
        );
        s.cleanup_seconds = 0.0;
        assert_eq!(
            s.maintenance(4_000),
            Maintenance::Cleanup(Interval::Seconds(0.1))
        );
    }
}
