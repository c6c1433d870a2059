//! The launch autopilot: what the window does without a click, for the
//! first minute on the sample and for `annscope gui --build [--engine-url
//! …] [--qdrant] [--ladder] [--tune]` (demos, screenshots, the UI tests):
//! build and sweep, then the same in pgvector and Qdrant, then the memory
//! ladder's rungs, the tuner and the pick's check on pgvector. Each step
//! waits for the one before it and for the session to be idle; an error
//! on screen stops the rest.

use std::collections::VecDeque;

use super::motion::{Keeping, Source};
use super::{AnnscopeApp, Command, LaunchOptions, Tab};
use crate::index::{IndexKind, Storage};

/// What is still to do, in order.
#[derive(Default)]
pub struct Autopilot {
    /// Build as soon as the data is ready, then sweep ef (`--build`).
    pub build: bool,
    /// After that: the same in pgvector (`--build --engine-url …`).
    pub engine: bool,
    /// With `build`, then (after pgvector, if asked) build Qdrant's HNSW
    /// with the same M and efConstruction and sweep it.
    pub qdrant: bool,
    /// With `build`, last: the storage rungs still to build and sweep
    /// (`--build --ladder`).
    pub ladder: VecDeque<Storage>,
    /// `--tune`: run the tuner once the ground truth is ready.
    pub tune: bool,
    /// `--build --engine-url … --tune`: once tuned, and once pgvector's own
    /// build and sweep are done, check the pick there.
    pub check_engine: bool,
    /// `--motion`: the Motion runs still to play, one maintenance each.
    pub motion: VecDeque<Keeping>,
    /// `--motion-show`: once the last run has played, its index goes to
    /// this tab's view.
    pub motion_show: Option<Tab>,
}

impl AnnscopeApp {
    /// One frame's step of the autopilot.
    pub(super) fn autopilot_step(&mut self) {
        self.auto_build_step();
        let work = &self.session.work;
        if self.autopilot.tune && work.gt.is_some() && work.tune.is_none() {
            self.autopilot.tune = false;
            self.apply(Command::Tune);
        }
        if self.autopilot.check_engine
            && !self.autopilot.engine
            && !self.session.busy()
            && self
                .session
                .engine_check_ready(&self.settings.engine_url)
                .is_ok()
        {
            self.autopilot.check_engine = false;
            self.apply(Command::CheckPickOnEngine);
        }
        self.auto_engine_step();
        self.auto_ladder_step();
        self.auto_motion_step();
    }

    /// `annscope gui --motion SPEC [--motion-keep …] [--async-indexing]
    /// [--motion-speed S]`: the Motion tab, its runbook and strategies set,
    /// each run played once the data is ready and the run before it ended
    /// its runbook (and drained its queue); lines go to stdout.
    pub(super) fn launch_motion(
        &mut self,
        spec: &str,
        launch: &LaunchOptions,
    ) -> Result<(), String> {
        let m = &mut self.settings.motion;
        m.source = if spec == "by-hand" {
            Source::ByHand
        } else if spec.ends_with(".yaml") || spec.ends_with(".yml") {
            Source::File(spec.into())
        } else {
            let (name, options) = spec.split_once(':').unwrap_or((spec, ""));
            if !crate::churn::generate::GENERATORS.contains(&name) {
                return Err(format!(
                    "--motion {spec}: not a generator ({}), a .yaml runbook or by-hand",
                    crate::churn::generate::GENERATORS.join(", ")
                ));
            }
            Source::Generated {
                name: name.into(),
                options: options.into(),
            }
        };
        m.async_indexing = launch.async_indexing;
        if let Some(s) = launch.motion_speed {
            m.speed = (s > 0.0).then_some(s);
        }
        let mut keeps = VecDeque::new();
        for k in &launch.motion_keep {
            keeps.push_back(match k.trim() {
                "none" => Keeping::Nothing,
                "cleanup" => Keeping::Cleanup,
                "rebuild" => Keeping::Rebuild,
                other => {
                    return Err(format!(
                        "--motion-keep {other}: one of none, cleanup, rebuild"
                    ))
                }
            });
        }
        if keeps.is_empty() {
            keeps.push_back(m.keeping);
        }
        self.settings.view_tab = Tab::Motion;
        self.motion.print_lines = true;
        // The Motion runs have the cores; the first minute's sweep waits.
        self.autopilot.build = launch.auto_build;
        self.autopilot.motion = keeps;
        self.autopilot.motion_show = launch
            .motion_show
            .then(|| {
                launch
                    .view
                    .filter(|t| !matches!(t, Tab::Charts | Tab::Motion))
            })
            .map(|t| t.unwrap_or(Tab::Layers));
        Ok(())
    }

    fn auto_motion_step(&mut self) {
        if (self.autopilot.motion.is_empty() && self.autopilot.motion_show.is_none())
            || self.session.loaded.is_none()
        {
            return;
        }
        let done = self.motion.runs.last().is_none_or(|r| {
            !r.alive()
                || (r.state.step == r.state.steps
                    && !r.state.preparing
                    && r.state.queued == 0
                    && !r.state.playing)
        });
        if !done || self.motion.error.is_some() {
            return;
        }
        if let Some(keep) = self.autopilot.motion.pop_front() {
            self.settings.motion.keeping = keep;
            self.start_motion_run(true);
        } else if let Some(tab) = self.autopilot.motion_show.take() {
            self.motion.control(super::motion::Control::Show);
            self.settings.view_tab = tab;
        }
    }

    /// With `build`: build once the data and ground truth are ready,
    /// then sweep ef over the new build.
    fn auto_build_step(&mut self) {
        if !self.autopilot.build
            || self.session.work.gt.is_none()
            || self.session.work.build_job.is_some()
        {
            return;
        }
        if self.session.work.builds.is_empty() {
            self.apply(Command::Build);
        } else {
            self.autopilot.build = false;
            self.apply(Command::Sweep);
            if self.settings.index == IndexKind::Dynamic {
                self.apply(Command::Crossover);
            }
        }
    }

    /// With `engine`, once annscope's build is swept: load the data
    /// into PostgreSQL, build pgvector's HNSW with the same M and
    /// efConstruction, and sweep it; then, with `qdrant`, the same in
    /// Qdrant. An error stops both (and is shown).
    fn auto_engine_step(&mut self) {
        if !(self.autopilot.engine || self.autopilot.qdrant)
            || self.autopilot.build
            || self.session.busy()
        {
            return;
        }
        if self.session.error.is_some() {
            self.autopilot.engine = false;
            self.autopilot.qdrant = false;
            return;
        }
        let work = &self.session.work;
        if !self.autopilot.engine {
            if work
                .builds
                .iter()
                .any(|b| b.index.kind() == IndexKind::QdrantHnsw)
            {
                self.autopilot.qdrant = false;
                self.apply(Command::Sweep);
            } else {
                self.settings.index = IndexKind::QdrantHnsw;
                self.apply(Command::Build);
            }
            return;
        }
        let engine_built = work.builds.iter().any(|b| b.index.kind().needs_server());
        if work.engine.is_none() {
            self.settings.index = IndexKind::PgvectorHnsw;
            self.apply(Command::ConnectEngine);
        } else if !engine_built {
            self.apply(Command::Build);
        } else {
            self.autopilot.engine = false;
            self.apply(Command::Sweep);
        }
    }

    /// With `ladder`, once everything before it is built and swept:
    /// the next rung (HNSW over codes, same M and efConstruction), built,
    /// then swept at the current oversampling.
    fn auto_ladder_step(&mut self) {
        if self.autopilot.ladder.is_empty()
            || self.autopilot.build
            || self.autopilot.engine
            || self.autopilot.qdrant
            || self.session.busy()
            || !self.session.work.sweep.is_empty()
            || self.session.error.is_some()
        {
            if self.session.error.is_some() {
                self.autopilot.ladder.clear();
            }
            return;
        }
        let current_is_next = self.session.current_build().is_some_and(|b| {
            b.index.spec.storage() == self.autopilot.ladder[0] && b.index.kind() == IndexKind::Hnsw
        });
        if current_is_next {
            self.autopilot.ladder.pop_front();
            self.apply(Command::Sweep);
        } else {
            self.settings.index = IndexKind::Hnsw;
            self.settings.hnsw.storage = self.autopilot.ladder[0];
            self.apply(Command::Build);
        }
    }
}

/// The rungs `--ladder` builds after the first index: codes of 8, 4 and
/// RaBitQ 4 and 1 bits, each with the f32 vectors on disk.
pub(super) fn ladder_rungs(base: &Storage) -> VecDeque<Storage> {
    use crate::index::quant::Quantizer;
    [
        Quantizer::Sq8,
        Quantizer::Sq4,
        Quantizer::RaBitQ { bits: 4 },
        Quantizer::RaBitQ { bits: 1 },
    ]
    .into_iter()
    .map(|quantizer| Storage {
        quantizer,
        vectors: crate::index::VectorPlace::Disk,
        search: crate::index::Precision::F32,
        ..*base
    })
    .collect()
}
