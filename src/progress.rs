//! Progress reporting and cancellation, shared by every long operation
//! (opening and converting files, scanning, ground truth, index builds).
//!
//! A [`Progress`] is written by the worker and read by whoever shows it (the
//! app each frame, the CLI's progress bar); both are cheap atomics, so a
//! worker may report as often as it likes. A [`CancelToken`] is checked by the
//! worker at points close enough together that a cancel returns within half a
//! second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{Error, Result};

/// A cancellation flag shared between the one who asks and the worker.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// `Err(Error::Cancelled)` once cancelled: use with `?` inside loops.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Default)]
struct ProgressInner {
    done: AtomicU64,
    total: AtomicU64,
    stage: Mutex<String>,
    /// Every stage's name and when it started, in order (for a breakdown
    /// of where the time went).
    started: Mutex<Vec<(String, Instant)>>,
}

/// Done/total and a stage name, updated by a worker and read by the UI or CLI.
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<ProgressInner>);

/// A copy of a [`Progress`] at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProgressSnapshot {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

impl ProgressSnapshot {
    /// Share done in `0.0..=1.0` (0 when the total is unknown).
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).min(1.0) as f32
        }
    }
}

impl Progress {
    /// A fresh progress with no stage.
    pub fn new() -> Self {
        Self::default()
    }
    /// Starts a new stage of `total` steps, resetting done to zero.
    pub fn stage(&self, name: &str, total: u64) {
        if let Ok(mut s) = self.0.stage.lock() {
            s.clear();
            s.push_str(name);
        }
        if let Ok(mut started) = self.0.started.lock() {
            started.push((name.to_string(), Instant::now()));
        }
        self.0.total.store(total, Ordering::Relaxed);
        self.0.done.store(0, Ordering::Relaxed);
    }
    /// Adds `n` steps done.
    pub fn add(&self, n: u64) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }
    /// Sets the steps done.
    pub fn set(&self, done: u64) {
        self.0.done.store(done, Ordering::Relaxed);
    }
    /// Seconds spent in each stage so far, in order; the last stage runs
    /// until now. A stage entered twice is listed twice.
    pub fn stage_seconds(&self) -> Vec<(String, f64)> {
        let now = Instant::now();
        let Ok(started) = self.0.started.lock() else {
            return Vec::new();
        };
        started
            .iter()
            .enumerate()
            .map(|(i, (name, t))| {
                let end = started.get(i + 1).map_or(now, |next| next.1);
                (name.clone(), end.duration_since(*t).as_secs_f64())
            })
            .collect()
    }
    /// Reads the current state.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            stage: self.0.stage.lock().map(|s| s.clone()).unwrap_or_default(),
            done: self.0.done.load(Ordering::Relaxed),
            total: self.0.total.load(Ordering::Relaxed),
        }
    }
}

/// What a long operation is given: where to report, and when to stop.
#[derive(Clone, Debug, Default)]
pub struct WorkContext {
    pub progress: Progress,
    pub cancel: CancelToken,
}

impl WorkContext {
    /// A context nobody watches and nobody cancels.
    pub fn detached() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reports_stage_and_fraction() {
        let p = Progress::new();
        p.stage("linking", 200);
        p.add(50);
        let s = p.snapshot();
        assert_eq!(s.stage, "linking");
        assert_eq!((s.done, s.total), (50, 200));
        assert!((s.fraction() - 0.25).abs() < 1e-6);
        p.stage("next", 0);
        assert_eq!(p.snapshot().fraction(), 0.0);
        let times = p.stage_seconds();
        let names: Vec<&str> = times.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["linking", "next"]);
        assert!(times.iter().all(|(_, s)| *s >= 0.0));
    }

    #[test]
    fn cancel_is_seen_by_clones() {
        let t = CancelToken::new();
        let u = t.clone();
        assert!(u.check().is_ok());
        t.cancel();
        assert!(matches!(u.check(), Err(Error::Cancelled)));
    }
}
