//! The desktop app (egui/eframe): open embeddings, build an index in the
//! background, move ef and M and watch recall and latency against exact
//! ground truth. egui lives only under this module; the engine below knows
//! nothing of it.
//!
//! Each frame: take finished work from the jobs ([`Session::poll`]), draw
//! the panels, then apply what the panels asked for. No computation runs on
//! the UI thread: loading, ground truth, builds and evaluations are jobs.

mod autopilot;
mod dialogs;
mod graph_requests;
pub mod loading;
pub mod motion;
mod panels;
pub mod plots;
pub mod projection_jobs;
pub mod projection_keys;
mod results;
pub mod session;
pub mod settings;
mod timing;
pub mod tuner;
pub mod views;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use loading::{sample_request, LoadRequest};
pub use session::Session;
pub use settings::{ColourBy, Settings, Tab};
pub use views::ViewState;

use crate::eval::ReportFormat;
use crate::index::{param_spec, IndexKind};
use autopilot::{ladder_rungs, Autopilot};
pub use timing::FrameTimes;
use timing::TimingLog;

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
    /// What the Motion tab asked for.
    Motion(motion::panel::MotionCommand),
}

/// The annscope window.
pub struct AnnscopeApp {
    pub settings: Settings,
    pub session: Session,
    pub frame_times: FrameTimes,
    /// What the projection, layer and search-path views show.
    pub views: ViewState,
    /// A file dialog running on its own thread, so the window never freezes.
    picker: Option<dialogs::Pending>,
    /// A save dialog for an export.
    saver: Option<(ReportFormat, dialogs::Pending)>,
    started: Instant,
    /// When the sample became ready (for the "interactive in under 2 s" figure).
    pub ready_after_secs: Option<f64>,
    /// What the window does at launch without a click (`annscope gui
    /// --build …`, the first minute on the sample).
    pub autopilot: Autopilot,
    /// Timings printed to stderr with `ANNSCOPE_LOG_TIMING=1`.
    timing_log: TimingLog,
    /// When `run` was called, before the window existed (for the first-frame time).
    pub launched: Option<Instant>,
    tried_sample: bool,
    /// Text a command put on the clipboard this frame (handed to egui, and
    /// kept for tests as `last_copied`).
    clipboard: Option<String>,
    pub last_copied: Option<String>,
    /// `annscope gui --tune`: the left panel keeps the Tune section in view
    /// until the tuner (and a check on pgvector) has finished.
    scroll_to_tune: bool,
    /// The Motion lab's runs.
    pub motion: motion::MotionLab,
    /// A YAML runbook's file dialog.
    runbook_picker: Option<dialogs::Pending>,
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
            autopilot: Autopilot::default(),
            timing_log: TimingLog::from_env(),
            tried_sample: false,
            clipboard: None,
            last_copied: None,
            scroll_to_tune: false,
            launched: None,
            motion: motion::MotionLab::default(),
            runbook_picker: None,
        };
        let req = request.unwrap_or_else(|| app.settings.dataset.clone());
        // The first minute: on the bundled sample the charts come alive
        // without a click (Settings::sweep_sample_at_start turns it off).
        app.autopilot.build = app.settings.sweep_sample_at_start
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
        self.timing_log.first_frame(self.launched);
        self.session.poll();
        if self.ready_after_secs.is_none() && self.session.loaded.is_some() {
            let secs = self.started.elapsed().as_secs_f64();
            self.ready_after_secs = Some(secs);
            self.timing_log.data_ready(secs, self.launched);
        }
        self.timing_log
            .after_poll(&self.session, self.settings.view_tab.label());
        self.fall_back_to_sample();
        if let Some(loaded) = &self.session.loaded {
            if self.settings.dataset != loaded.request {
                self.settings.dataset = loaded.request.clone();
            }
        }
        self.poll_dialogs();
        self.poll_motion();
        self.autopilot_step();
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
        if self.motion.busy() {
            // A Motion run repaints when its worker sends news; this only
            // keeps the spinner and the queue's drain moving between them.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
        if self.session.busy() || self.picker.is_some() || self.saver.is_some() {
            // Progress needs a few frames a second. A view drawing a large
            // dataset repaints less often, so that (on software GL above all)
            // painting does not take the cores the build or measurement runs on.
            let large_view = !matches!(self.settings.view_tab, Tab::Charts | Tab::Motion)
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
        self.timing_log
            .frame_times(&self.frame_times, &self.session);
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
                                    && (t.summary.is_none() || !self.autopilot.check_engine)
                            });
                        self.scroll_to_tune = !done;
                    }
                    panels::tune_ui(ui, &self.session, &mut self.settings, commands);
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
            if self.settings.view_tab == Tab::Motion {
                let mut asked = Vec::new();
                let kind = self.settings.spec().label();
                motion::panel::tab_ui(
                    ui,
                    &self.motion,
                    &mut self.settings.motion,
                    &kind,
                    self.session.loaded.as_ref().map(|l| l.base.len()),
                    motion::panel::Picked {
                        node: self.views.selected,
                        map: self.session.projection.value().map(|p| p.as_ref()),
                    },
                    &mut asked,
                );
                commands.extend(asked.into_iter().map(Command::Motion));
                return;
            }
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
                        views::ViewCommand::ShowBuilt => self.session.hide_motion(),
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
                match dialogs::spawn("file-dialog", || {
                    rfd::FileDialog::new()
                        .add_filter(
                            "vectors",
                            &["fvecs", "ivecs", "bvecs", "npy", "csv", "tsv", "hdf5", "h5"],
                        )
                        .pick_file()
                }) {
                    Ok(rx) => self.picker = Some(rx),
                    Err(e) => self.session.error = Some(e),
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
            Command::Motion(m) => self.apply_motion(m),
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
                let name = format!("annscope-results.{}", format.extension());
                match dialogs::spawn("save-dialog", move || {
                    rfd::FileDialog::new().set_file_name(name).save_file()
                }) {
                    Ok(rx) => self.saver = Some((format, rx)),
                    Err(e) => self.session.error = Some(e),
                }
            }
        }
    }

    fn poll_dialogs(&mut self) {
        if let Some(path) = dialogs::take(&mut self.picker) {
            self.open_path(path);
        }
        if let Some((format, rx)) = self.saver.take() {
            let mut pending = Some(rx);
            if let Some(path) = dialogs::take(&mut pending) {
                self.export_to(format, &path);
            }
            self.saver = pending.map(|rx| (format, rx));
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
    /// Open the Motion tab and play this runbook (`annscope gui --motion`).
    pub motion: Option<String>,
    /// The maintenance of each motion run, played in turn.
    pub motion_keep: Vec<String>,
    pub async_indexing: bool,
    pub motion_speed: Option<f32>,
    /// With `motion`: show the last run's index in the views when it ends.
    pub motion_show: bool,
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
            app.autopilot.build |= launch.auto_build;
            app.autopilot.engine = launch.auto_build && launch.engine_url.is_some();
            app.autopilot.qdrant = launch.auto_build && launch.qdrant;
            app.autopilot.tune = launch.tune;
            app.autopilot.check_engine = app.autopilot.engine && launch.tune;
            app.scroll_to_tune = launch.tune;
            if launch.auto_build && launch.ladder {
                app.autopilot.ladder = ladder_rungs(&app.settings.hnsw.storage);
            }
            if let Some(m) = &launch.motion {
                if let Err(e) = app.launch_motion(m, &launch) {
                    app.motion.error = Some(e);
                }
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
