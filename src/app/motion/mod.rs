//! The Motion lab: play a runbook of inserts, deletes and replaces on the
//! data on screen and watch the index age: recall at every search step,
//! QPS and latency, tombstones, the indexing queue, bytes held. Each run
//! (a strategy: kind, maintenance, async indexing) keeps its curves, so
//! strategies sit side by side on the same runbook.
//!
//! The lab holds runs; each run's index lives on its worker thread
//! ([`worker`]), which the lab steers with [`worker::Control`]s and which
//! sends back [`worker::Event`]s, taken each frame without blocking. A
//! copy of a run's index at one step ([`shot`]) goes to the views.

pub mod charts;
mod glue;
pub mod panel;
pub mod settings;
pub mod shot;
pub mod worker;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

pub use settings::{CleanupClock, Keeping, MotionSettings, Source};
pub use worker::{Control, Event, Hand, State};

use crate::churn::{generate, Runbook, StepLine};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::index::{IndexSpec, SearchKnob};
use crate::job::Job;

/// One strategy played on one runbook.
pub struct MotionRun {
    pub id: usize,
    pub label: String,
    /// Each search measured: its place on the step axis and its line.
    pub lines: Vec<(f64, StepLine)>,
    /// Fresh builds over the same live rows, measured where asked.
    pub fresh: Vec<(f64, StepLine)>,
    /// The index's state over time (seconds since the run started).
    pub states: Vec<State>,
    pub state: State,
    pub notice: Option<String>,
    /// Why the run ended, when it ended in an error.
    pub error: Option<String>,
    job: Option<Job<()>>,
    controls: Option<Sender<Control>>,
    events: Receiver<Event>,
}

impl MotionRun {
    /// Whether the worker still holds the index (for writes by hand).
    pub fn alive(&self) -> bool {
        self.job.is_some()
    }
    /// The largest queue length seen in any state or line.
    pub fn max_queue(&self) -> usize {
        self.states
            .iter()
            .map(|s| s.queued)
            .chain(self.lines.iter().map(|(_, l)| l.queue_len))
            .max()
            .unwrap_or(0)
    }
}

/// Every run of this dataset, the newest last; at most one is played at
/// a time.
#[derive(Default)]
pub struct MotionLab {
    pub runs: Vec<MotionRun>,
    /// A runbook that could not be read or checked (the data stays).
    pub error: Option<String>,
    /// Lines to print to stdout as they land (`annscope gui --motion`).
    pub print_lines: bool,
    next_id: usize,
    /// The data the runs were played on.
    data: Option<Arc<Dataset>>,
    /// A copy of a run's index arrived for the views, not yet taken.
    shot: Option<Arc<shot::MotionShot>>,
    shots_taken: usize,
    /// A copy asked for and not yet arrived (following waits for it).
    shot_asked: bool,
    /// That copy was asked by following, not by the user: no notice.
    shot_followed: bool,
    /// The run's search lines when the last copy arrived.
    shot_lines: usize,
}

/// What a new run is played on.
pub struct Start<'a> {
    pub base: &'a Arc<Dataset>,
    pub queries: &'a Arc<Dataset>,
    pub spec: IndexSpec,
    pub k: usize,
    pub knob: SearchKnob,
    pub settings: &'a MotionSettings,
    pub play: bool,
    pub repaint: Arc<dyn Fn() + Send + Sync>,
}

impl MotionLab {
    /// The run that is playing or holds its index, if any.
    pub fn active(&self) -> Option<&MotionRun> {
        self.runs.last().filter(|r| r.alive())
    }

    /// Starts a run of the runbook the settings name. The worker reads or
    /// generates it; a bad runbook comes back as the lab's error (naming
    /// the file and the step), the run is dropped and nothing else changes.
    pub fn start(&mut self, s: Start<'_>) {
        if s.settings.async_indexing && s.settings.keeping == Keeping::Rebuild {
            self.error = Some(
                "Async indexing with rebuilds: a rebuild replaces the index the queue feeds; choose cleanup or no maintenance".into(),
            );
            return;
        }
        if let Err(e) = s.spec.validate() {
            self.error = Some(e.to_string());
            return;
        }
        self.error = None;
        self.data = Some(s.base.clone());
        // One index under writes at a time: the last run lets go of its.
        self.close_active();
        let first_state = State {
            preparing: true,
            ..State::default()
        };
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let (ev_tx, ev_rx) = mpsc::channel();
        let setup = worker::Setup {
            base: s.base.clone(),
            queries: s.queries.clone(),
            source: s.settings.source.clone(),
            spec: s.spec.clone(),
            k: s.k,
            knob: s.knob,
            maintenance: s.settings.maintenance(s.base.len()),
            async_indexing: s.settings.async_config(),
            speed: s.settings.speed,
            play: s.play,
            seed: s.settings.seed,
        };
        let repaint = s.repaint.clone();
        let notify = s.repaint.clone();
        let job = Job::spawn_notify(
            "motion",
            move |ctx| worker::work(setup, ctl_rx, ev_tx, repaint, ctx),
            move || notify(),
        );
        self.next_id += 1;
        let label = format!(
            "{}: {}",
            self.next_id,
            s.settings
                .strategy_label(s.spec.kind().label(), s.base.len())
        );
        self.runs.push(MotionRun {
            id: self.next_id,
            label,
            lines: Vec::new(),
            fresh: Vec::new(),
            states: Vec::new(),
            state: first_state,
            notice: None,
            error: None,
            job: Some(job),
            controls: Some(ctl_tx),
            events: ev_rx,
        });
    }

    /// Sends `c` to the active run (nothing when no run holds an index).
    pub fn control(&mut self, c: Control) {
        if c == Control::Show {
            self.shot_asked = true;
        }
        if let Some(tx) = self
            .runs
            .last()
            .filter(|r| r.alive())
            .and_then(|r| r.controls.as_ref())
        {
            let _ = tx.send(c);
        }
    }

    /// With a copy of run `shown` in the views: a new copy once the run
    /// (still playing or written to) has measured another search and the
    /// last copy has arrived, so the views keep in step with it, a search
    /// step behind at most.
    pub fn follow(&mut self, shown: usize) {
        let due = self
            .active()
            .is_some_and(|r| r.id == shown && r.lines.len() > self.shot_lines);
        if due && !self.shot_asked {
            self.control(Control::Show);
            self.shot_followed = true;
        }
    }

    /// Ends the active run: its worker drops the index; its curves stay.
    pub fn close_active(&mut self) {
        if let Some(run) = self.runs.last_mut().filter(|r| r.alive()) {
            run.controls = None;
            if let Some(job) = run.job.take() {
                job.cancel();
            }
            run.state.playing = false;
        }
    }

    /// Cancels the active run's preparation, or stops its runbook after
    /// the step under way (the index stays, for writes by hand).
    pub fn cancel(&mut self) {
        match self.active() {
            Some(r) if r.state.preparing => self.close_active(),
            Some(_) => self.control(Control::Stop),
            None => {}
        }
    }

    /// Runs belong to the data they were played on: other data on screen
    /// ends them.
    pub fn follow_data(&mut self, base: Option<Arc<Dataset>>) {
        let same = match (&self.data, &base) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, _) => true,
            (Some(_), None) => true,
        };
        if !same {
            self.clear();
            self.data = None;
        }
    }

    pub fn clear(&mut self) {
        self.close_active();
        self.runs.clear();
        self.error = None;
    }

    /// Takes what the workers sent; returns whether anything arrived.
    pub fn poll(&mut self) -> bool {
        let mut any = false;
        let print = self.print_lines;
        for run in &mut self.runs {
            while let Ok(e) = run.events.try_recv() {
                any = true;
                match e {
                    Event::Line(x, line) => {
                        if print {
                            if let Ok(text) = serde_json::to_string(&line) {
                                println!("{text}");
                            }
                        }
                        run.lines.push((x, line));
                    }
                    Event::Fresh(x, line) => run.fresh.push((x, line)),
                    Event::State(s) => {
                        run.state = s.clone();
                        if !s.preparing {
                            run.states.push(s);
                        }
                    }
                    Event::Notice(n) => run.notice = Some(n),
                    Event::Refused(why) => run.notice = Some(format!("Refused: {why}")),
                    Event::Shot(mut s) => {
                        self.shots_taken += 1;
                        self.shot_asked = false;
                        self.shot_lines = run.lines.len();
                        s.run = run.id;
                        s.id = shot::FIRST_SHOT_ID + self.shots_taken;
                        s.label = format!("Motion run {} {}", run.label, s.label);
                        if !std::mem::take(&mut self.shot_followed) {
                            run.notice = Some(format!(
                                "Shown in the views: {} ({} tombstones, {} queued)",
                                s.label,
                                s.count(crate::churn::marks::RowMark::Tombstone),
                                s.count(crate::churn::marks::RowMark::Queued)
                            ));
                        }
                        self.shot = Some(Arc::new(*s));
                    }
                }
            }
            if let Some(job) = &mut run.job {
                if let Some(result) = job.try_take() {
                    any = true;
                    run.job = None;
                    run.controls = None;
                    run.state.playing = false;
                    run.state.preparing = false;
                    match result {
                        Ok(()) | Err(Error::Cancelled) => {}
                        Err(e) => run.error = Some(e.to_string()),
                    }
                }
            }
        }
        // A runbook refused before anything ran: the lab's error, no run.
        if let Some(i) = self.runs.iter().position(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.contains(worker::RUNBOOK_REFUSED))
        }) {
            self.error = self.runs.remove(i).error;
        }
        any
    }

    /// A copy of a run's index that arrived for the views, once.
    pub fn take_shot(&mut self) -> Option<Arc<shot::MotionShot>> {
        self.shot.take()
    }

    /// Whether a run is preparing or playing (the window repaints for it).
    pub fn busy(&self) -> bool {
        self.active().is_some_and(|r| {
            r.state.preparing
                || r.state.playing
                || r.state.queued > 0
                || r.state.streaming.is_some()
        })
    }
}

/// The runbook a source names, checked against the base.
pub fn runbook_for(source: &Source, base: &Dataset, seed: u64) -> Result<Runbook> {
    let book = match source {
        Source::Generated { name, options } => {
            let spec = if options.trim().is_empty() {
                name.clone()
            } else {
                format!("{name}:{}", options.trim())
            };
            generate(&spec, base, seed)?
        }
        Source::File(path) => Runbook::read(path, None, base.len())?,
        Source::ByHand => by_hand_book(base.len()),
    };
    Ok(book)
}

/// Every row inserted, then one search: the start of a run by hand.
fn by_hand_book(n: usize) -> Runbook {
    use crate::churn::{Op, Order, Step};
    Runbook {
        name: "by hand".into(),
        max_pts: n,
        order: Order::File,
        steps: vec![
            Step {
                key: 0,
                op: Op::Insert { start: 0, end: n },
            },
            Step {
                key: 1,
                op: Op::Search,
            },
        ],
    }
}
