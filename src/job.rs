//! Background jobs: the one way long work leaves the calling thread, used by
//! both the app (builds, evaluations, loading) and the CLI.
//!
//! A [`Job`] runs a closure on a named thread with a [`WorkContext`]; the
//! caller polls [`Job::progress`] and [`Job::try_take`] (the app does so each
//! frame) or blocks in [`Job::wait`] (the CLI). Dropping a job cancels it, so
//! replacing a stale job with a new one is one assignment. A panic in the
//! worker comes back as an error, never as a crash of the caller.

use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::progress::{ProgressSnapshot, WorkContext};

/// A running (or finished) piece of background work producing a `T`.
pub struct Job<T> {
    name: String,
    ctx: WorkContext,
    rx: Receiver<Result<T>>,
    started: Instant,
    finished_after: Option<Duration>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread named `name`.
    pub fn spawn(
        name: &str,
        work: impl FnOnce(&WorkContext) -> Result<T> + Send + 'static,
    ) -> Self {
        Self::spawn_notify(name, work, || {})
    }

    /// Like [`spawn`](Self::spawn), calling `notify` once the result is ready
    /// (the app passes `request_repaint`, so a finished job shows at once).
    pub fn spawn_notify(
        name: &str,
        work: impl FnOnce(&WorkContext) -> Result<T> + Send + 'static,
        notify: impl FnOnce() + Send + 'static,
    ) -> Self {
        let ctx = WorkContext::default();
        let (tx, rx) = mpsc::sync_channel(1);
        let worker_ctx = ctx.clone();
        let thread_name = format!("annscope-{name}");
        let job_name = name.to_string();
        let spawned = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&worker_ctx)));
                let result = outcome.unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    Err(Error::Internal(format!("{job_name}: {msg}")))
                });
                // The receiver may be gone (job dropped): nothing to do then.
                let _ = tx.send(result);
                notify();
            });
        let (rx, finished_after) = match spawned {
            Ok(_) => (rx, None),
            Err(e) => {
                // Could not start a thread: hand back the error as the result.
                let (tx2, rx2) = mpsc::sync_channel(1);
                let _ = tx2.send(Err(Error::Internal(format!(
                    "could not start a thread for {name}: {e}"
                ))));
                (rx2, Some(Duration::ZERO))
            }
        };
        Job {
            name: name.to_string(),
            ctx,
            rx,
            started: Instant::now(),
            finished_after,
        }
    }
}

impl<T> Job<T> {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The worker's current stage and done/total.
    pub fn progress(&self) -> ProgressSnapshot {
        self.ctx.progress.snapshot()
    }
    /// Asks the worker to stop; its result will be `Err(Cancelled)`.
    pub fn cancel(&self) {
        self.ctx.cancel.cancel();
    }
    pub fn is_cancelled(&self) -> bool {
        self.ctx.cancel.is_cancelled()
    }
    /// Time since the job started (frozen once its result was taken).
    pub fn elapsed(&self) -> Duration {
        self.finished_after
            .unwrap_or_else(|| self.started.elapsed())
    }

    /// The result if the worker has finished, without blocking. Returns
    /// `Some` once; afterwards the job is spent.
    pub fn try_take(&mut self) -> Option<Result<T>> {
        match self.rx.try_recv() {
            Ok(r) => {
                self.finished_after.get_or_insert(self.started.elapsed());
                Some(r)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(Error::Internal(format!(
                "{} ended without a result",
                self.name
            )))),
        }
    }

    /// Blocks until the worker finishes.
    pub fn wait(self) -> Result<T> {
        self.rx.recv().unwrap_or_else(|_| {
            Err(Error::Internal(format!(
                "{} ended without a result",
                self.name
            )))
        })
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        // Cancel on drop; the worker notices at its next check and exits. We
        // do not join: a UI thread must never wait on a worker.
        self.ctx.cancel.cancel();
    }
}

/// Runs `f` in a rayon pool of `threads` threads (all cores if `None`).
pub fn with_threads<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        None => Ok(f()),
        Some(t) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t.max(1))
                .thread_name(|i| format!("annscope-worker-{i}"))
                .build()
                .map_err(|e| Error::InvalidParameter(format!("cannot start {t} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_is_handed_back() {
        let job = Job::spawn("add", |_| Ok(2 + 2));
        assert_eq!(job.wait().expect("result"), 4);
    }

    #[test]
    fn cancel_reaches_the_worker() {
        let job: Job<()> = Job::spawn("spin", |ctx| loop {
            ctx.cancel.check()?;
            std::thread::sleep(Duration::from_millis(1));
        });
        job.cancel();
        assert!(job.wait().is_err_and(|e| e.is_cancelled()));
    }

    #[test]
    fn dropping_a_job_cancels_it() {
        let (tx, rx) = mpsc::channel();
        let job: Job<()> = Job::spawn("watch", move |ctx| {
            while !ctx.cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = tx.send(());
            Err(Error::Cancelled)
        });
        drop(job);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("worker saw the cancel");
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let job: Job<u8> = Job::spawn("boom", |_| panic!("bad thing"));
        let err = job.wait().expect_err("panic");
        assert!(err.to_string().contains("bad thing"), "{err}");
    }

    #[test]
    fn try_take_polls_without_blocking() {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let mut job = Job::spawn("gate", move |ctx| {
            ctx.progress.stage("waiting", 1);
            let _ = go_rx.recv();
            Ok(7)
        });
        assert!(job.try_take().is_none());
        go_tx.send(()).expect("send");
        let mut got = None;
        for _ in 0..10_000 {
            if let Some(r) = job.try_take() {
                got = Some(r);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(got.expect("finished").expect("ok"), 7);
    }
}
