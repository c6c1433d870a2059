//! The desktop app (egui/eframe): open embeddings, build an index in the
//! background, move ef and M and watch recall and latency against exact
//! ground truth. egui lives only under this module; the engine below knows
//! nothing of it.
//!
//! Each frame: take finished work from the jobs ([`Session::poll`]), draw
//! the panels, then apply what the panels asked for. No computation runs on
//! the UI thread: loading, ground truth, builds and evaluations are jobs.

pub mod loading;
mod panels;
pub mod plots;
pub mod projection_jobs;
pub mod projection_keys;
mod results;
pub mod session;
pub mod settings;
pub mod tuner;
pub mod views;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use loading::{sample_request, LoadRequest};
pub use session::Session;
pub use settings::{ColourBy, Settings, Tab};
pub use views::ViewState;

use crate::eval::ReportFormat;
use crate::index::{param_spec, IndexKind};

/// What the panels ask the app to do after drawing.
#[derive(Debug)]
pub enum Command {
    Open(LoadRequest),
    PickFile,
    Build,
    CancelBuild,
    /// Load the data into a pgvector table on the configured server.
    ConnectEngine,
    CancelEngine,
    /// Measure the current build over the standard ef sweep.
    Sweep,
    /// Measure the flat/HNSW latency crossover (the dynamic index's threshold).
    Crossover,
    Export(ReportFormat),
    /// Run the tuner for the panel's target; cancel it.
    Tune,
    CancelTune,
    /// Move the settings to the tuner's pick and build it.
    ApplyPick,
    /// Put the pick on the clipboard in an engine's terms.
    CopyExport(crate::tune::ExportFormat),
    /// Build the pick in the loaded pgvector table and find its own ef.
    CheckPickOnEngine,
}

/// Frame-time statistics of the UI thread, for the debug panel.
#[derive(Default)]
pub struct FrameTimes {
    recent_ms: std::collections::VecDeque<f32>,
    pub worst_ms: f32,
}

impl FrameTimes {
    fn record(&mut self, ms: f32) {
        if self.recent_ms.len() >= 240 {
            self.recent_ms.pop_front();
        }
        self.recent_ms.push_back(ms);
        self.worst_ms = self.worst_ms.max(ms);
    }
    /// Mean and maximum of the last 240 frames (milliseconds of UI-thread CPU).
    pub fn summary(&self) -> (f32, f32) {
        let n = self.recent_ms.len().max(1) as f32;
        let mean = self.recent_ms.iter().sum::<f32>() / n;
        let max = self.recent_ms.iter().copied().fold(0.0, f32::max);
        (mean, max)
    }
}

/// The annscope window.
pub struct AnnscopeApp {
    pub settings: Settings,
    pub session: Session,
    pub frame_times: FrameTimes,
    /// What the projection, layer and search-path views show.
    pub views: ViewState,
    /// A file dialog running on its own thread, so the window never freezes.
    picker: Option<Receiver<Option<PathBuf>>>,
    /// A save dialog for an export.
    saver: Option<(ReportFormat, Receiver<Option<PathBuf>>)>,
    started: Instant,
    /// When the sample became ready (for the "interactive in under 2 s" figure).
    pub ready_after_secs: Option<f64>,
    /// Build as soon as the data is ready, then sweep ef (`annscope gui --build`).
    pub auto_build: bool,
    /// After that: the same in pgvector (`annscope gui --build --engine-url …`).
    pub auto_engine: bool,
    /// With `auto_build`, then (after pgvector, if asked) build Qdrant's
    /// HNSW with the same M and efConstruction and sweep it.
    pub auto_qdrant: bool,
    /// With `auto_build`, last: the storage rungs still to build and sweep
    /// (`annscope gui --build --ladder`).
    pub auto_ladder: std::collections::VecDeque<crate::index::Storage>,
    /// Print timings to stderr (`ANNSCOPE_LOG_TIMING=1`): data ready, frame times.
    log_timing: bool,
    /// When `run` was called, before the window existed (for the first-frame time).
    pub launched: Option<Instant>,
    first_frame_logged: bool,
    projection_logged: bool,
    /// Builds whose time was logged (ANNSCOPE_LOG_TIMING).
    builds_logged: usize,
    last_timing_log: Instant,
    tried_sample: bool,
    /// Text a command put on the clipboard this frame (handed to egui, and
    /// kept for tests as `last_copied`).
    clipboard: Option<String>,
    pub last_copied: Option<String>,
    /// `annscope gui --tune`: run the tuner once the ground truth is ready.
    auto_tune: bool,
    /// `annscope gui --build --engine-url … --tune`: once tuned, and once
    /// pgvector's own build and sweep are done, check the pick there.
    auto_check_engine: bool,
    /// `annscope gui --tune`: the left panel keeps the Tune section in view
    /// until the tuner (and a check on pgvector) has finished.
    scroll_to_tune: bool,
}

impl AnnscopeApp {
    /// An app opening `request` (or the last dataset, or the sample), with
    /// `repaint` called by workers when they finish.
    pub fn new(
        settings: Settings,
        request: Option<LoadRequest>,
        repaint: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let mut app = AnnscopeApp {
            session: Session::new(repaint),
            settings,
            frame_times: FrameTimes::default(),
            views: ViewState::default(),
            picker: None,
            saver: None,
            started: Instant::now(),
            ready_after_secs: None,
            auto_build: false,
            auto_engine: false,
            auto_qdrant: false,
            auto_ladder: Default::default(),
            log_timing: std::env::var_os("ANNSCOPE_LOG_TIMING").is_some(),
            last_timing_log: Instant::now(),
            tried_sample: false,
            clipboard: None,
            last_copied: None,
            auto_tune: false,
            auto_check_engine: false,
            scroll_to_tune: false,
            launched: None,
            first_frame_logged: false,
            projection_logged: false,
            builds_logged: 0,
        };
        let req = request.unwrap_or_else(|| app.settings.dataset.clone());
        // The first minute: on the bundled sample the charts come alive
        // without a click (Settings::sweep_sample_at_start turns it off).
        app.auto_build = app.settings.sweep_sample_at_start
            && req == sample_request()
            && matches!(
                app.settings.index,
                IndexKind::Hnsw | IndexKind::Flat | IndexKind::Dynamic
            );
        app.session.open(req);
        app
    }

    /// One frame: poll jobs, draw, apply commands.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let t = Instant::now();
        if self.log_timing && !self.first_frame_logged {
            self.first_frame_logged = true;
            if let Some(l) = self.launched {
                eprintln!(
                    "annscope: first frame {:.3} s after launch",
                    l.elapsed().as_secs_f64()
                );
            }
        }
        self.session.poll();
        if self.ready_after_secs.is_none() && self.session.loaded.is_some() {
            let secs = self.started.elapsed().as_secs_f64();
            self.ready_after_secs = Some(secs);
            if self.log_timing {
                let since_launch = self.launched.map_or(secs, |l| l.elapsed().as_secs_f64());
                eprintln!("annscope: data ready {secs:.3} s after the app started, {since_launch:.3} s after launch");
            }
        }
        if self.log_timing && !self.projection_logged {
            if let Some(p) = self.session.projection.value() {
                self.projection_logged = true;
                eprintln!(
                    "annscope: projection of {} vectors ready in {:.2} s (PCA fitted on {})",
                    p.base.len(),
                    p.seconds,
                    p.fitted_on
                );
            }
        }
        if self.log_timing {
            let builds = &self.session.work.builds;
            if builds.len() < self.builds_logged {
                self.builds_logged = 0; // new data
            }
            for b in builds.iter().skip(self.builds_logged) {
                eprintln!(
                    "annscope: built {} in {:.2} s (tab open: {})",
                    b.index.spec.label(),
                    b.index.build_secs,
                    self.settings.view_tab.label()
                );
            }
            self.builds_logged = builds.len();
        }
        self.fall_back_to_sample();
        if let Some(loaded) = &self.session.loaded {
            if self.settings.dataset != loaded.request {
                self.settings.dataset = loaded.request.clone();
            }
        }
        self.poll_dialogs();
        self.auto_build_step();
        if self.auto_tune && self.session.work.gt.is_some() && self.session.work.tune.is_none() {
            self.auto_tune = false;
            self.apply(Command::Tune);
        }
        if self.auto_check_engine
            && !self.auto_engine
            && !self.session.busy()
            && self
                .session
                .engine_check_ready(&self.settings.engine_url)
                .is_ok()
        {
            self.auto_check_engine = false;
            self.apply(Command::CheckPickOnEngine);
        }
        self.auto_engine_step();
        self.auto_ladder_step();
        self.take_dropped_files(ui);
        let mut commands = Vec::new();
        self.draw(ui, &mut commands);
        for c in commands {
            self.apply(c);
        }
        if let Some(text) = self.clipboard.take() {
            ui.ctx().copy_text(text.clone());
            self.last_copied = Some(text);
        }
        // Re-evaluate when ef or k moved, or a new build or ground truth arrived.
        self.session.evaluate(
            self.settings.k,
            self.settings.knob(),
            self.settings.rescoring(),
        );
        views::request_jobs(&mut self.session, &self.settings, &mut self.views);
        if self.session.busy() || self.picker.is_some() || self.saver.is_some() {
            // Progress needs a few frames a second. A view drawing a large
            // dataset repaints less often, so that (on software GL above all)
            // painting does not take the cores the build or measurement runs on.
            let large_view = self.settings.view_tab != Tab::Charts
                && self
                    .session
                    .loaded
                    .as_ref()
                    .is_some_and(|l| l.base.len() > 20_000);
            let every = if large_view { 250 } else { 50 };
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(every));
        }
        self.frame_times.record(t.elapsed().as_secs_f32() * 1000.0);
        if self.log_timing && self.last_timing_log.elapsed().as_secs_f64() >= 2.0 {
            self.last_timing_log = Instant::now();
            let (mean, max) = self.frame_times.summary();
            eprintln!(
                "annscope: UI frame CPU mean {mean:.2} ms, max {max:.2} ms (last 240), worst {:.2} ms; busy: {}; last ef change to first point: {}",
                self.frame_times.worst_ms,
                self.session.busy(),
                self.session.ef_response_ms.map_or("-".into(), |ms| format!("{ms:.0} ms"))
            );
        }
    }

    /// If the remembered dataset cannot be opened at start, open the sample.
    fn fall_back_to_sample(&mut self) {
        if !self.tried_sample
            && self.session.loaded.is_none()
            && self.session.load_job.is_none()
            && self.session.error.is_some()
            && self.settings.dataset != sample_request()
        {
            self.tried_sample = true;
            self.settings.dataset = sample_request();
            self.session.open(sample_request());
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Open…").clicked() {
                        commands.push(Command::PickFile);
                    }
                    if ui.button("Open the sample").clicked() {
                        commands.push(Command::Open(sample_request()));
                    }
                    ui.separator();
                    if ui.button("Export results as CSV…").clicked() {
                        commands.push(Command::Export(ReportFormat::Csv));
                    }
                    if ui.button("Export results as JSON lines…").clicked() {
                        commands.push(Command::Export(ReportFormat::Json));
                    }
                });
                ui.menu_button("View", |ui| {
                    ui.checkbox(&mut self.settings.show_results, "Results table");
                    ui.checkbox(&mut self.settings.show_debug, "Debug panel");
                });
            });
        });
        egui::Panel::left("controls")
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    panels::messages_ui(ui, &mut self.session);
                    panels::dataset_ui(ui, &self.session, &mut self.settings, commands);
                    ui.separator();
                    panels::index_ui(ui, &self.session, &mut self.settings, commands);
                    ui.separator();
                    panels::tuning_ui(ui, &self.session, &mut self.settings, commands);
                    ui.separator();
                    if self.scroll_to_tune {
                        ui.scroll_to_cursor(Some(egui::Align::TOP));
                        let tune = self.session.work.tune.as_ref();
                        let done = self.session.error.is_some()
                            || tune.is_some_and(|t| {
                                t.job.is_none()
                                    && t.check_job.is_none()
                                    && (t.summary.is_none() || !self.auto_check_engine)
                            });
                        self.scroll_to_tune = !done;
                    }
                    tuner::tune_ui(ui, &self.session, &mut self.settings, commands);
                    if self.settings.show_debug {
                        ui.separator();
                        panels::debug_ui(
                            ui,
                            &self.frame_times,
                            self.ready_after_secs,
                            self.session.ef_response_ms,
                        );
                    }
                });
            });
        // The results table belongs with the charts; the views need the room.
        if self.settings.show_results && self.settings.view_tab == Tab::Charts {
            egui::Panel::bottom("results")
                .default_size(180.0)
                .resizable(true)
                .show(ui, |ui| {
                    results::table_ui(ui, &self.session);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                for tab in Tab::ALL {
                    ui.selectable_value(&mut self.settings.view_tab, tab, tab.label());
                }
            });
            ui.separator();
            if self.settings.view_tab != Tab::Charts {
                let mut asked = Vec::new();
                views::tab_ui(
                    ui,
                    &self.session,
                    &mut self.settings,
                    &mut self.views,
                    &mut asked,
                );
                for command in asked {
                    match command {
                        views::ViewCommand::Error(e) => self.session.error = Some(e),
                    }
                }
                return;
            }
            if self.settings.index == IndexKind::Dynamic
                && (self.session.work.crossover.is_some()
                    || self.session.work.crossover_job.is_some())
            {
                plots::crossover_ui(ui, &self.session);
                ui.separator();
            }
            plots::charts_ui(ui, &self.session, &self.settings);
        });
    }

    fn apply(&mut self, c: Command) {
        match c {
            Command::Open(req) => self.session.open(req),
            Command::PickFile => {
                let (tx, rx) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name("annscope-file-dialog".into())
                    .spawn(move || {
                        let picked = rfd::FileDialog::new()
                            .add_filter(
                                "vectors",
                                &["fvecs", "ivecs", "bvecs", "npy", "csv", "tsv", "hdf5", "h5"],
                            )
                            .pick_file();
                        let _ = tx.send(picked);
                    });
                match spawned {
                    Ok(_) => self.picker = Some(rx),
                    Err(e) => {
                        self.session.error = Some(format!("Could not open a file dialog: {e}"))
                    }
                }
            }
            Command::Build => {
                let spec = self.settings.spec();
                if let Err(e) = spec.validate() {
                    self.session.error = Some(e.to_string());
                    return;
                }
                let rescoring = self.settings.qdrant_rescoring();
                self.session
                    .build(spec, self.settings.build_threads, rescoring);
            }
            Command::CancelBuild => self.session.cancel_build(),
            Command::Tune => self.session.start_tune(
                self.settings.k,
                self.settings.recall_target,
                self.settings.tune_objective,
                self.settings.hnsw.seed,
                self.settings.hnsw.storage,
            ),
            Command::CheckPickOnEngine => self.session.start_engine_check(
                self.settings.engine_url.clone(),
                self.settings.engine_password.clone(),
                self.settings.pg_column(),
            ),
            Command::CancelTune => self.session.cancel_tune(),
            Command::ApplyPick => {
                let pick = self
                    .session
                    .work
                    .tune
                    .as_ref()
                    .and_then(|t| t.summary.as_ref())
                    .map(|s| (s.pick.spec.clone(), s.pick.knob));
                if let Some((spec, knob)) = pick {
                    if tuner::apply_pick(&mut self.settings, &spec, knob) {
                        self.apply(Command::Build);
                    }
                }
            }
            Command::CopyExport(format) => {
                match self.session.export_pick(format, self.settings.k) {
                    Ok(e) => {
                        self.clipboard = Some(e.text.clone());
                        if let Some(run) = &mut self.session.work.tune {
                            run.copied = Some((format, e.notes));
                        }
                    }
                    Err(e) => self.session.error = Some(format!("Copy for {}: {e}", format.name())),
                }
            }
            Command::ConnectEngine => self.session.connect_engine(
                self.settings.engine_url.clone(),
                self.settings.engine_password.clone(),
                self.settings.pg_column(),
            ),
            Command::CancelEngine => self.session.cancel_engine(),
            Command::Sweep => self
                .session
                .sweep(self.settings.k, self.settings.rescoring()),
            Command::Crossover => self.session.measure_crossover(
                self.settings.k,
                self.settings.recall_target,
                self.settings.hnsw.clone(),
            ),
            Command::Export(format) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let name = format!("annscope-results.{}", format.extension());
                let spawned = std::thread::Builder::new()
                    .name("annscope-save-dialog".into())
                    .spawn(move || {
                        let _ = tx.send(rfd::FileDialog::new().set_file_name(name).save_file());
                    });
                if spawned.is_ok() {
                    self.saver = Some((format, rx));
                }
            }
        }
    }

    fn poll_dialogs(&mut self) {
        if let Some(rx) = &self.picker {
            match rx.try_recv() {
                Ok(Some(path)) => {
                    self.picker = None;
                    self.open_path(path);
                }
                Ok(None) | Err(TryRecvError::Disconnected) => self.picker = None,
                Err(TryRecvError::Empty) => {}
            }
        }
        if let Some((format, rx)) = &self.saver {
            let format = *format;
            match rx.try_recv() {
                Ok(Some(path)) => {
                    self.saver = None;
                    self.export_to(format, &path);
                }
                Ok(None) | Err(TryRecvError::Disconnected) => self.saver = None,
                Err(TryRecvError::Empty) => {}
            }
        }
    }

    /// Writes the results table to `path` (atomically).
    pub fn export_to(&mut self, format: ReportFormat, path: &std::path::Path) {
        match results::export(&self.session.work.points, format, path) {
            Ok(n) => {
                self.session.notice =
                    Some(format!("Wrote {n} operating points to {}", path.display()))
            }
            Err(e) => self.session.error = Some(format!("Export failed: {e}")),
        }
    }

    /// Opens a file as the base, with the current metric; no query file, so
    /// queries are held out.
    pub fn open_path(&mut self, path: PathBuf) {
        let req = LoadRequest {
            base: path,
            queries: None,
            labels: None,
            query_labels: None,
            ..self.settings.dataset.clone()
        };
        self.session.open(req);
    }

    /// With `auto_build`: build once the data and ground truth are ready,
    /// then sweep ef over the new build.
    fn auto_build_step(&mut self) {
        if !self.auto_build
            || self.session.work.gt.is_none()
            || self.session.work.build_job.is_some()
        {
            return;
        }
        if self.session.work.builds.is_empty() {
            self.apply(Command::Build);
        } else {
            self.auto_build = false;
            self.apply(Command::Sweep);
            if self.settings.index == IndexKind::Dynamic {
                self.apply(Command::Crossover);
            }
        }
    }

    /// With `auto_engine`, once annscope's build is swept: load the data
    /// into PostgreSQL, build pgvector's HNSW with the same M and
    /// efConstruction, and sweep it; then, with `auto_qdrant`, the same in
    /// Qdrant. An error stops both (and is shown).
    fn auto_engine_step(&mut self) {
        if !(self.auto_engine || self.auto_qdrant) || self.auto_build || self.session.busy() {
            return;
        }
        if self.session.error.is_some() {
            self.auto_engine = false;
            self.auto_qdrant = false;
            return;
        }
        let work = &self.session.work;
        if !self.auto_engine {
            if work
                .builds
                .iter()
                .any(|b| b.index.kind() == IndexKind::QdrantHnsw)
            {
                self.auto_qdrant = false;
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
            self.auto_engine = false;
            self.apply(Command::Sweep);
        }
    }

    /// With `auto_ladder`, once everything before it is built and swept:
    /// the next rung (HNSW over codes, same M and efConstruction), built,
    /// then swept at the current oversampling.
    fn auto_ladder_step(&mut self) {
        if self.auto_ladder.is_empty()
            || self.auto_build
            || self.auto_engine
            || self.auto_qdrant
            || self.session.busy()
            || !self.session.work.sweep.is_empty()
            || self.session.error.is_some()
        {
            if self.session.error.is_some() {
                self.auto_ladder.clear();
            }
            return;
        }
        let current_is_next = self.session.current_build().is_some_and(|b| {
            b.index.spec.storage() == self.auto_ladder[0] && b.index.kind() == IndexKind::Hnsw
        });
        if current_is_next {
            self.auto_ladder.pop_front();
            self.apply(Command::Sweep);
        } else {
            self.settings.index = IndexKind::Hnsw;
            self.settings.hnsw.storage = self.auto_ladder[0];
            self.apply(Command::Build);
        }
    }

    fn take_dropped_files(&mut self, ui: &egui::Ui) {
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            self.open_path(path);
        }
    }
}

impl eframe::App for AnnscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// Command-line choices for the window (`annscope gui …`).
#[derive(Clone, Debug, Default)]
pub struct LaunchOptions {
    /// Build at once, then sweep ef (and, for the dynamic index, measure the crossover).
    pub auto_build: bool,
    pub index: Option<IndexKind>,
    pub threshold: Option<usize>,
    /// The tab to open on, and what the views start on.
    pub view: Option<Tab>,
    pub select: Option<u32>,
    pub layer: Option<usize>,
    pub query: Option<usize>,
    pub step: Option<usize>,
    pub colour_by: Option<ColourBy>,
    pub projection: Option<crate::projection::Method>,
    pub ef: Option<usize>,
    /// With `auto_build`: then load the data into this PostgreSQL server,
    /// build pgvector's HNSW with the same M and efConstruction, and sweep
    /// it too, so both curves share the chart.
    pub engine_url: Option<String>,
    /// With `auto_build`: then build Qdrant's HNSW (in-process) too.
    pub qdrant: bool,
    /// With `auto_build`: then the memory ladder's rungs in turn.
    pub ladder: bool,
    /// Run the tuner once the ground truth is ready.
    pub tune: bool,
}

/// The rungs `--ladder` builds after the first index: codes of 8, 4 and
/// RaBitQ 4 and 1 bits, each with the f32 vectors on disk.
fn ladder_rungs(base: &crate::index::Storage) -> std::collections::VecDeque<crate::index::Storage> {
    use crate::index::quant::Quantizer;
    [
        Quantizer::Sq8,
        Quantizer::Sq4,
        Quantizer::RaBitQ { bits: 4 },
        Quantizer::RaBitQ { bits: 1 },
    ]
    .into_iter()
    .map(|quantizer| crate::index::Storage {
        quantizer,
        vectors: crate::index::VectorPlace::Disk,
        search: crate::index::Precision::F32,
        ..*base
    })
    .collect()
}

/// Opens the window; `request` overrides the remembered dataset.
pub fn run(request: Option<LoadRequest>, launch: LaunchOptions) -> anyhow::Result<()> {
    let launched = Instant::now();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("annscope")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "annscope",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_theme(egui::ThemePreference::System);
            let mut settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            if let Some(i) = launch.index {
                settings.index = i;
            }
            if let Some(t) = launch.threshold {
                settings.threshold = t;
            }
            if let Some(v) = launch.view {
                settings.view_tab = v;
            }
            if let Some(m) = launch.projection {
                settings.projection_method = m;
            }
            if let Some(c) = launch.colour_by {
                settings.colour_by = c;
            }
            if let Some(ef) = launch.ef {
                settings.ef = ef.clamp(param_spec::EF.usual.0, param_spec::EF.usual.1);
            }
            if let Some(url) = &launch.engine_url {
                // The URL field shows no password; the password field holds it.
                let (without, password) = crate::engine::pgvector::sql::split_password(url);
                settings.engine_url = without;
                settings.engine_password = password.unwrap_or_default();
            }
            let ctx = cc.egui_ctx.clone();
            let repaint: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
            let mut app = AnnscopeApp::new(settings, request, repaint);
            // The first minute's build on the sample stays on.
            app.auto_build |= launch.auto_build;
            app.auto_engine = launch.auto_build && launch.engine_url.is_some();
            app.auto_qdrant = launch.auto_build && launch.qdrant;
            app.auto_tune = launch.tune;
            app.auto_check_engine = app.auto_engine && launch.tune;
            app.scroll_to_tune = launch.tune;
            if launch.auto_build && launch.ladder {
                app.auto_ladder = ladder_rungs(&app.settings.hnsw.storage);
            }
            app.views
                .start_on(launch.select, launch.layer, launch.query, launch.step);
            app.launched = Some(launched);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))?;
    // The app is gone: let a pgvector table it loaded finish being dropped.
    crate::engine::pgvector::wait_for_cleanups(Duration::from_secs(10));
    Ok(())
}
