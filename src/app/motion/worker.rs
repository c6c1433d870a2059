//! The Motion lab's worker: one thread per run, holding the index under
//! writes. It plays the runbook at the pace the lab sets (play, pause, one
//! step, steps per second), writes by hand when asked, cleans up or
//! rebuilds on demand, and sends back every measurement as the CLI's
//! `churn` line, plus the index's state between them (the queue drains on
//! its own while nothing else happens).
//!
//! A write by hand takes the run off its runbook: the steps left were
//! written for rows the hand has changed, so they are dropped (said in a
//! notice) and each later search is scored against ground truth computed
//! then, over the rows live then. Stopping a run ends it between steps,
//! never inside one, so the index it leaves answers for exactly the rows
//! its account says are live.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::churn::queue::AsyncConfig;
use crate::churn::run::{Plan, Runner};
use crate::churn::truth::{live_truth, step_truth};
use crate::churn::{by_hand, positions, Interval, Maintenance, Op, StepLine, Write};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::index::{FlatIndex, IndexSpec, SearchKnob};
use crate::progress::WorkContext;

use super::shot::MotionShot;

/// What the lab asks of a running worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    Play,
    Pause,
    /// One runbook step, then pause.
    Step,
    /// Steps per second while playing (None: as fast as it goes).
    Speed(Option<f32>),
    Hand(Hand),
    CleanupNow,
    RebuildNow,
    /// Build the kind afresh over the rows live now and measure it beside
    /// the run's index (which stays as it is).
    MeasureFresh,
    /// End the runbook after the step under way; the run stays for writes
    /// by hand.
    Stop,
    /// Copy the index as it stands for the views ([`Event::Shot`]).
    Show,
    /// Stream inserts of the next rows never written at this many rows per
    /// second, a search measured every second (None: stop the stream).
    Stream(Option<f32>),
}

/// Writes by hand.
#[derive(Clone, Debug, PartialEq)]
pub enum Hand {
    DeleteShare(f64),
    /// Delete every live row of these base rows (a cluster).
    DeleteRows(Vec<u32>),
    /// Delete the `n` live rows nearest base row `row` (a cluster picked
    /// on the projection).
    DeleteNear {
        row: u32,
        n: usize,
    },
    /// Delete the `n` live rows nearest base row `row` on this map (the
    /// Projection tab's points, one per base row): a patch of the map.
    DeleteNearOnMap {
        row: u32,
        n: usize,
        map: Arc<Vec<[f32; 2]>>,
    },
    InsertNext(usize),
    ReplaceShare(f64),
}

/// A measurement or a state, sent as it happens.
#[derive(Clone, Debug)]
pub enum Event {
    /// A search measured: where it sits on the step axis, and the line.
    Line(f64, StepLine),
    /// A fresh build over the same live rows, measured at that place.
    Fresh(f64, StepLine),
    State(State),
    Notice(String),
    /// A write by hand or a maintenance request was refused; the run goes on.
    Refused(String),
    /// The index as it stands, copied for the views (labelled with where
    /// the run was; the lab numbers it).
    Shot(Box<MotionShot>),
}

/// The index between measurements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// Runbook steps done, of how many (0 of 0 once off the runbook).
    pub step: usize,
    pub steps: usize,
    pub playing: bool,
    pub live: usize,
    pub tombstones: usize,
    pub queued: usize,
    pub bytes: u64,
    pub elapsed_s: f64,
    /// Preparing: the runbook's order and ground truth are being computed.
    pub preparing: bool,
    /// Rows per second while a write stream runs.
    pub streaming: Option<f32>,
    /// The graph audit after the last write or cleanup: live entries no
    /// search reaches (None: the kind has no graph).
    pub unreachable: Option<usize>,
}

/// What a run is: data, runbook, index and how it is kept.
pub struct Setup {
    pub base: Arc<Dataset>,
    pub queries: Arc<Dataset>,
    /// Where the runbook comes from: read or generated here, off the UI
    /// thread (a clustered order is a k-means over the base).
    pub source: super::Source,
    pub spec: IndexSpec,
    pub k: usize,
    pub knob: SearchKnob,
    pub maintenance: Maintenance,
    pub async_indexing: Option<AsyncConfig>,
    pub speed: Option<f32>,
    pub play: bool,
    pub seed: u64,
}

/// How a refused runbook's error begins, so the lab can tell it from a
/// failure later on.
pub const RUNBOOK_REFUSED: &str = "Runbook refused: ";

/// Runs `setup` until the lab drops the control channel or cancels.
pub fn work(
    setup: Setup,
    controls: Receiver<Control>,
    events: Sender<Event>,
    repaint: Arc<dyn Fn() + Send + Sync>,
    ctx: &WorkContext,
) -> Result<()> {
    let send = |e: Event| {
        let _ = events.send(e);
        repaint();
    };
    let book = super::runbook_for(&setup.source, &setup.base, setup.seed)
        .map_err(|e| Error::InvalidParameter(format!("{RUNBOOK_REFUSED}{e}")))?;
    send(Event::State(State {
        preparing: true,
        steps: book.steps.len(),
        ..State::default()
    }));
    let order = positions(&book, &setup.base)?;
    let (truth, _) = step_truth(
        crate::cache::cache_dir().as_deref(),
        &book,
        &order,
        &setup.base,
        &setup.queries,
        setup.k,
        ctx,
    )?;
    let flat = FlatIndex::build(setup.base.clone(), ctx)?;
    let plan = Plan {
        book: &book,
        order,
        base: setup.base.clone(),
        queries: Some(&setup.queries),
        truth: &truth,
        spec: setup.spec.clone(),
        k: setup.k,
        knobs: vec![setup.knob],
        search_threads: rayon::current_num_threads(),
        maintenance: setup.maintenance,
        results_dir: None,
        async_indexing: setup.async_indexing,
        compare_fresh: false,
        write_rate: None,
    };
    let mut runner = Runner::new(&plan, ctx)?;
    let mut pace = Pace {
        playing: setup.play,
        speed: setup.speed,
        step_once: false,
        last_step: None,
    };
    let steps = &book.steps;
    let mut next = 0usize;
    // The runbook's steps left to play (0 once a hand wrote or Stop ended it).
    let mut runbook_len = steps.len();
    // Where the last measurement sat on the step axis, and hand writes since.
    let mut x = 0.0f64;
    let mut hand_writes = 0u32;
    let mut seed = setup.seed;
    let state = |runner: &Runner<'_>, next: usize, runbook_len: usize, playing: bool| {
        let index = runner.index();
        let m = index.memory();
        State {
            step: next,
            steps: runbook_len,
            playing,
            live: runner.live().len(),
            tombstones: index.tombstones(),
            queued: index.queued(),
            bytes: m.ram_bytes + m.disk_bytes,
            elapsed_s: 0.0,
            preparing: false,
            unreachable: None,
            streaming: None,
        }
    };
    let mut stream: Option<Stream> = None;
    // The audit walks the whole graph: redone only when the index changed.
    let mut audit: Option<(usize, usize, usize, Option<usize>)> = None;
    let started = Instant::now();
    let mut last_state = None;
    loop {
        ctx.cancel.check()?;
        let due = next < runbook_len && pace.due();
        let wait = if due {
            Duration::ZERO
        } else if stream.is_some() {
            STREAM_TICK
        } else if next < runbook_len && pace.playing {
            pace.until_due()
        } else {
            // Idle: report the queue as it drains.
            Duration::from_millis(if runner.index().queued() > 0 {
                100
            } else {
                250
            })
        };
        let control = match controls.recv_timeout(wait) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let mut changed_index = matches!(
            control,
            Some(Control::Hand(_) | Control::CleanupNow | Control::RebuildNow)
        );
        match control {
            Some(Control::Play) => pace.playing = true,
            Some(Control::Pause) => pace.playing = false,
            Some(Control::Step) => {
                pace.playing = false;
                pace.step_once = true;
            }
            Some(Control::Speed(s)) => pace.speed = s,
            Some(Control::Stop) => {
                if next < runbook_len {
                    send(Event::Notice(format!(
                        "Stopped after step {next} of {runbook_len}: the index holds what was written so far; write by hand from here"
                    )));
                }
                runbook_len = next;
                pace.playing = false;
            }
            Some(Control::Hand(hand)) => {
                let touched = match hand_touched(&hand, &runner, &setup.base, &mut seed) {
                    Ok(t) => t,
                    Err(e) => {
                        send(Event::Refused(e.to_string()));
                        continue;
                    }
                };
                leave_runbook("Written", next, &mut runbook_len, &mut pace, &send);
                hand_writes += 1;
                let (write, n) = (hand.write(), touched.tags.len());
                write_by_hand(&mut runner, x, write, touched, ctx)?;
                x = x.floor() + 1.0;
                send(Event::Notice(format!(
                    "{} {n} rows by hand (write {hand_writes})",
                    write.name()
                )));
                measure_now(&mut runner, &flat, &setup, x, ctx, &send)?;
            }
            Some(Control::CleanupNow) => {
                let tombs = runner.index().tombstones();
                match runner.cleanup_now(ctx)? {
                    true => {
                        send(Event::Notice(format!("Cleanup freed {tombs} tombstones")));
                        x += 0.5;
                        measure_now(&mut runner, &flat, &setup, x, ctx, &send)?;
                    }
                    false => send(Event::Refused(format!(
                        "{} has no cleanup: its deletes free their room as they go",
                        setup.spec.kind().label()
                    ))),
                }
            }
            Some(Control::MeasureFresh) => {
                let truth = truth_now(&runner, &flat, &setup, ctx)?;
                match runner.measure_fresh(x.round() as u64, truth.as_ref(), ctx) {
                    Ok((lines, build_s)) => {
                        send(Event::Notice(format!(
                            "A fresh build over the {} live rows took {build_s:.1} s",
                            runner.live().len()
                        )));
                        for line in lines {
                            send(Event::Fresh(x, line));
                        }
                    }
                    Err(Error::InvalidParameter(why)) => send(Event::Refused(why)),
                    Err(e) => return Err(e),
                }
            }
            Some(Control::Stream(rate)) => match rate.filter(|r| *r > 0.0) {
                Some(rate) => {
                    leave_runbook("Streaming", next, &mut runbook_len, &mut pace, &send);
                    stream = Some(Stream::new(rate));
                }
                None => {
                    if let Some(st) = stream.take() {
                        send(Event::Notice(format!(
                            "Stream stopped after {} rows",
                            st.written
                        )));
                    }
                }
            },
            Some(Control::Show) => match MotionShot::take(&runner, setup.base.len()) {
                Ok(Some(mut shot)) => {
                    shot.label = if hand_writes > 0 {
                        format!("after write by hand {hand_writes}")
                    } else {
                        format!("at step {next} of {}", steps.len())
                    };
                    send(Event::Shot(Box::new(shot)));
                }
                Ok(None) => send(Event::Refused(format!(
                    "{} has no graph to draw: the views show HNSW runs",
                    setup.spec.kind().label()
                ))),
                Err(e) => send(Event::Refused(format!("Could not copy the index: {e}"))),
            },
            Some(Control::RebuildNow) => match runner.rebuild_now(ctx) {
                Ok(()) => {
                    send(Event::Notice("Rebuilt from the live rows".into()));
                    x += 0.5;
                    measure_now(&mut runner, &flat, &setup, x, ctx, &send)?;
                }
                Err(Error::InvalidParameter(why)) => send(Event::Refused(why)),
                Err(e) => return Err(e),
            },
            None => {}
        }
        // A cleanup on its clock (seconds) while the runbook is not
        // stepping: measured, as one run by hand is. While steps play, the
        // next search step shows it.
        let stepping = next < runbook_len && pace.playing;
        if !stepping {
            if let Some(freed) = runner.cleanup_if_due_by_clock(ctx)? {
                changed_index = true;
                send(Event::Notice(format!(
                    "Cleanup cycle (every {} s) freed {freed} tombstones",
                    every_seconds(setup.maintenance)
                )));
                x += 0.5;
                measure_now(&mut runner, &flat, &setup, x, ctx, &send)?;
            }
        }
        if let Some(st) = &mut stream {
            match stream_tick(st, &mut runner, x, ctx)? {
                Tick::Idle => {}
                Tick::Wrote => changed_index = true,
                Tick::NoRowsLeft(why) => {
                    send(Event::Notice(format!(
                        "Stream stopped after {} rows: {why}",
                        st.written
                    )));
                    stream = None;
                }
            }
            if stream
                .as_ref()
                .is_some_and(|st| st.last_search.elapsed() >= STREAM_SEARCH_EVERY)
            {
                x = x.floor() + 1.0;
                measure_now(&mut runner, &flat, &setup, x, ctx, &send)?;
                if let Some(st) = &mut stream {
                    st.last_search = Instant::now();
                }
            }
        }
        if next < runbook_len && (pace.due() || std::mem::take(&mut pace.step_once)) {
            let step = &steps[next];
            let lines = runner.step(step, ctx)?;
            changed_index = true;
            next += 1;
            pace.last_step = Some(Instant::now());
            if step.op == Op::Search {
                x = step.key as f64;
            }
            for line in lines {
                send(Event::Line(x, line));
            }
            if next == runbook_len {
                pace.playing = false;
            }
        }
        let mut s = state(&runner, next, runbook_len, pace.playing);
        s.streaming = stream.as_ref().map(|st| st.rate);
        s.elapsed_s = started.elapsed().as_secs_f64();
        let shape = (s.live, s.tombstones, s.queued);
        s.unreachable = match audit {
            Some((l, t, q, u)) if (l, t, q) == shape && !changed_index => u,
            _ => {
                let u = runner.index().unreachable();
                audit = Some((shape.0, shape.1, shape.2, u));
                u
            }
        };
        let changed = last_state.as_ref().is_none_or(|l: &State| {
            State {
                elapsed_s: l.elapsed_s,
                ..s.clone()
            } != *l
        });
        if changed {
            last_state = Some(s.clone());
            send(Event::State(s));
        }
    }
}

/// The cleanup interval in seconds (for notices; 0 when it counts rows).
fn every_seconds(maintenance: Maintenance) -> f64 {
    match maintenance {
        Maintenance::Cleanup(Interval::Seconds(s)) => s,
        _ => 0.0,
    }
}

/// A search now, scored against exact answers over the rows live now.
fn measure_now(
    runner: &mut Runner<'_>,
    flat: &FlatIndex,
    setup: &Setup,
    x: f64,
    ctx: &WorkContext,
    send: &dyn Fn(Event),
) -> Result<()> {
    let truth = truth_now(runner, flat, setup, ctx)?;
    for line in runner.search(x.round() as u64, truth.as_ref(), false)? {
        send(Event::Line(x, line));
    }
    Ok(())
}

/// Exact answers over the rows live now (None while nothing is live).
fn truth_now(
    runner: &Runner<'_>,
    flat: &FlatIndex,
    setup: &Setup,
    ctx: &WorkContext,
) -> Result<Option<crate::eval::GroundTruth>> {
    if runner.live().is_empty() {
        return Ok(None);
    }
    live_truth(flat, runner.live(), &setup.queries, setup.k, ctx).map(Some)
}

fn hand_touched(
    hand: &Hand,
    runner: &Runner<'_>,
    base: &Dataset,
    seed: &mut u64,
) -> Result<crate::churn::Touched> {
    *seed = seed.wrapping_add(1);
    let live = runner.live();
    match hand {
        Hand::DeleteShare(s) => by_hand::delete_share(live, *s, *seed),
        Hand::DeleteRows(rows) => by_hand::delete_rows(live, rows),
        &Hand::DeleteNear { row, n } => by_hand::delete_nearest(live, base, row, n),
        Hand::DeleteNearOnMap { row, n, map } => {
            if map.len() != base.len() {
                return Err(Error::InvalidParameter(format!(
                    "the map has {} points for {} rows: it was made of other data",
                    map.len(),
                    base.len()
                )));
            }
            by_hand::delete_nearest_on_map(live, map, *row, *n)
        }
        Hand::InsertNext(n) => by_hand::insert_next(live, *n),
        Hand::ReplaceShare(s) => by_hand::replace_share(live, *s, *seed),
    }
}

impl Hand {
    pub fn write(&self) -> Write {
        match self {
            Hand::DeleteShare(_)
            | Hand::DeleteRows(_)
            | Hand::DeleteNear { .. }
            | Hand::DeleteNearOnMap { .. } => Write::Delete,
            Hand::InsertNext(_) => Write::Insert,
            Hand::ReplaceShare(_) => Write::Replace,
        }
    }
}

/// How often a write stream writes what is due.
const STREAM_TICK: Duration = Duration::from_millis(50);
/// How often a write stream's index is searched and scored.
const STREAM_SEARCH_EVERY: Duration = Duration::from_secs(1);

/// A write stream: the next rows never written, inserted at `rate` rows
/// per second (as many as are due at each tick, in one batch).
struct Stream {
    rate: f32,
    since: Instant,
    /// Rows due so far that were asked for (written, or found missing).
    asked: usize,
    written: usize,
    last_search: Instant,
}

impl Stream {
    fn new(rate: f32) -> Stream {
        let now = Instant::now();
        Stream {
            rate,
            since: now,
            asked: 0,
            written: 0,
            last_search: now,
        }
    }
}

/// What one tick of a write stream did.
enum Tick {
    Idle,
    Wrote,
    /// No row is left to insert (why, in the by-hand module's words).
    NoRowsLeft(String),
}

/// Inserts the rows due by now. A failed write ends the run, as a write by
/// hand's does: the stream never goes on over an index that may no longer
/// match its rows.
fn stream_tick(
    st: &mut Stream,
    runner: &mut Runner<'_>,
    x: f64,
    ctx: &WorkContext,
) -> Result<Tick> {
    let due = (f64::from(st.rate) * st.since.elapsed().as_secs_f64()) as usize;
    let n = due.saturating_sub(st.asked);
    if n == 0 {
        return Ok(Tick::Idle);
    }
    let touched = match by_hand::insert_next(runner.live(), n) {
        Ok(t) => t,
        Err(e) => return Ok(Tick::NoRowsLeft(e.to_string())),
    };
    st.asked = due;
    st.written += touched.tags.len();
    write_by_hand(runner, x, Write::Insert, touched, ctx)?;
    Ok(Tick::Wrote)
}

/// A write by hand (or by a stream), keyed after the last measurement. Its
/// failure ends the run: the account already holds the rows, so the index
/// may no longer match them.
fn write_by_hand(
    runner: &mut Runner<'_>,
    x: f64,
    write: Write,
    touched: crate::churn::Touched,
    ctx: &WorkContext,
) -> Result<()> {
    let n = touched.tags.len();
    match runner.write_by_hand(x.floor() as u64 + 1, write, touched, ctx) {
        Ok(()) => Ok(()),
        Err(Error::Cancelled) => Err(Error::Cancelled),
        Err(e) => Err(Error::Internal(format!(
            "{} of {n} rows by hand failed, and the index may no longer match its rows: {e}",
            write.name()
        ))),
    }
}

/// A write by hand takes the run off its runbook: the steps left were
/// written for other rows. Says so once, when there were steps left.
fn leave_runbook(
    what: &str,
    next: usize,
    runbook_len: &mut usize,
    pace: &mut Pace,
    send: &dyn Fn(Event),
) {
    if next < *runbook_len {
        send(Event::Notice(format!(
            "{what} by hand: the runbook's {} steps left were written for other rows, so this run goes on by hand",
            *runbook_len - next
        )));
        *runbook_len = next;
        pace.playing = false;
    }
}

/// When the next runbook step is due.
struct Pace {
    playing: bool,
    speed: Option<f32>,
    step_once: bool,
    last_step: Option<Instant>,
}

impl Pace {
    fn period(&self) -> Duration {
        match self.speed {
            Some(s) if s > 0.0 => Duration::from_secs_f32(1.0 / s),
            _ => Duration::ZERO,
        }
    }
    fn due(&self) -> bool {
        self.playing && self.until_due().is_zero()
    }
    fn until_due(&self) -> Duration {
        match self.last_step {
            None => Duration::ZERO,
            Some(t) => self.period().saturating_sub(t.elapsed()),
        }
    }
}
