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

/// A slot that holds at most one job (a new job replaces, and so
/// cancels, the old one): its result once finished, emptying the slot;
/// None while the job runs or the slot is empty.
pub fn take_finished<T>(slot: &mut Option<Job<T>>) -> Option<Result<T>> {
    let r = slot.as_mut()?.try_take()?;
    *slot = None;
    Some(r)
}

/// [`take_finished`] for a slot whose job carries what it was asked
/// (a build's spec, an evaluation's request).
pub fn take_finished_tagged<K, T>(slot: &mut Option<(K, Job<T>)>) -> Option<(K, Result<T>)> {
    let r = slot.as_mut()?.1.try_take()?;
    slot.take().map(|(k, _)| (k, r))
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

/// The newest answer to a keyed question, computed in the background.
///
/// The app asks each frame for what its views show (a layer of the graph,
/// one query's search path…). Asking for the key already asked is free;
/// asking for a new key starts a job and drops (cancels) the previous one,
/// while the last finished value stays on screen until the new one lands.
pub struct Latest<K, T> {
    asked: Option<K>,
    job: Option<Job<T>>,
    value: Option<(K, std::sync::Arc<T>)>,
}

impl<K, T> Default for Latest<K, T> {
    fn default() -> Self {
        Latest {
            asked: None,
            job: None,
            value: None,
        }
    }
}

impl<K: Clone + PartialEq, T: Send + 'static> Latest<K, T> {
    /// Starts `start(key)` unless `key` is the one last asked for.
    pub fn request(&mut self, key: K, start: impl FnOnce(&K) -> Job<T>) {
        if self.asked.as_ref() == Some(&key) {
            return;
        }
        self.job = Some(start(&key));
        self.asked = Some(key);
    }

    /// Takes a finished result; returns its error, if it failed (a
    /// cancelled job is no error).
    pub fn poll(&mut self) -> Option<Error> {
        let job = self.job.as_mut()?;
        let result = job.try_take()?;
        self.job = None;
        match result {
            Ok(v) => {
                let key = self.asked.clone()?;
                self.value = Some((key, std::sync::Arc::new(v)));
                None
            }
            Err(e) if e.is_cancelled() => None,
            Err(e) => Some(e),
        }
    }

    /// The last finished value, whatever its key (shared: cloning it
    /// copies a pointer, not the value).
    pub fn value(&self) -> Option<&std::sync::Arc<T>> {
        self.value.as_ref().map(|(_, v)| v)
    }

    /// The last finished value, if it answers `key`.
    pub fn value_for(&self, key: &K) -> Option<&std::sync::Arc<T>> {
        self.value
            .as_ref()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The last finished value and its key, shared.
    pub fn shared(&self) -> Option<(&K, std::sync::Arc<T>)> {
        self.value.as_ref().map(|(k, v)| (k, v.clone()))
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The key last asked for (running or finished).
    pub fn asked(&self) -> Option<&K> {
        self.asked.as_ref()
    }

    /// Progress of the running job, if any.
    pub fn progress(&self) -> Option<ProgressSnapshot> {
        self.job.as_ref().map(|j| j.progress())
    }

    /// Cancels the running job; the last finished value stays, and is
    /// what counts as asked.
    pub fn cancel(&mut self) {
        self.job = None;
        self.asked = self.value.as_ref().map(|(k, _)| k.clone());
    }

    /// Forgets the value and cancels any job (the data it described is gone).
    pub fn clear(&mut self) {
        *self = Self::default();
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
    #[test]
    fn latest_keeps_the_newest_answer_and_ignores_repeated_questions() {
        let mut slot: Latest<u32, u32> = Latest::default();
        let mut started = 0;
        for _ in 0..3 {
            slot.request(2, |&k| {
                started += 1;
                Job::spawn("double", move |_| Ok(k * 2))
            });
        }
        assert_eq!(started, 1, "the same key asked again must not restart");
        let wait = |slot: &mut Latest<u32, u32>| {
            for _ in 0..10_000 {
                assert!(slot.poll().is_none());
                if !slot.is_running() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            panic!("job never finished");
        };
        wait(&mut slot);
        assert_eq!(slot.value_for(&2).map(|v| **v), Some(4));
        // A new key: the old value stays until the new one lands.
        let (go_tx, go_rx) = mpsc::channel::<()>();
        slot.request(5, move |&k| {
            Job::spawn("gated", move |_| {
                let _ = go_rx.recv();
                Ok(k * 2)
            })
        });
        assert_eq!(slot.value().map(|v| **v), Some(4));
        assert_eq!(slot.value_for(&5).map(|v| **v), None);
        go_tx.send(()).expect("send");
        wait(&mut slot);
        assert_eq!(slot.value_for(&5).map(|v| **v), Some(10));
        slot.request(6, |_| {
            Job::spawn("fails", |_| Err(Error::Internal("no".into())))
        });
        let mut err = None;
        for _ in 0..10_000 {
            err = slot.poll();
            if err.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(err.is_some_and(|e| e.to_string().contains("no")));
        assert_eq!(
            slot.value_for(&5).map(|v| **v),
            Some(10),
            "a failure keeps the last value"
        );
    }
}
