//! The app's side of the Motion lab: the tab's commands applied, a run
//! started on the data on screen with the left panel's index, the
//! runbook file dialog, and runs let go when other data is opened.

use std::sync::mpsc::TryRecvError;

use crate::app::AnnscopeApp;

impl AnnscopeApp {
    pub(in crate::app) fn apply_motion(&mut self, m: super::panel::MotionCommand) {
        use super::panel::MotionCommand;
        match m {
            MotionCommand::NewRun { play } => self.start_motion_run(play),
            MotionCommand::Control(c) => self.motion.control(c),
            MotionCommand::Cancel => self.motion.cancel(),
            MotionCommand::Clear => self.motion.clear(),
            MotionCommand::PickRunbook => {
                let (tx, rx) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name("annscope-runbook-dialog".into())
                    .spawn(move || {
                        let picked = rfd::FileDialog::new()
                            .add_filter("runbook", &["yaml", "yml"])
                            .pick_file();
                        let _ = tx.send(picked);
                    });
                match spawned {
                    Ok(_) => self.runbook_picker = Some(rx),
                    Err(e) => {
                        self.motion.error = Some(format!("Could not open a file dialog: {e}"))
                    }
                }
            }
        }
    }

    /// A new Motion run on the data on screen, with the left panel's index
    /// and the Motion tab's strategy.
    pub fn start_motion_run(&mut self, play: bool) {
        let Some(loaded) = &self.session.loaded else {
            self.motion.error = Some("Open a dataset first".into());
            return;
        };
        let spec = self.settings.spec();
        if spec.kind().is_engine() {
            self.motion.error = Some(format!(
                "{} runs in its engine: the Motion lab plays annscope's own kinds (Flat, HNSW, Dynamic, HFresh)",
                spec.label()
            ));
            return;
        }
        self.motion.start(super::Start {
            base: &loaded.base,
            queries: &loaded.queries,
            spec,
            k: self.settings.k,
            knob: self.settings.knob(),
            settings: &self.settings.motion,
            play,
            repaint: self.session.repaint_handle(),
        });
    }

    /// Takes the Motion runs' news, a picked runbook, and lets go of runs
    /// on data no longer on screen.
    pub(in crate::app) fn poll_motion(&mut self) {
        self.motion.poll();
        let base = self.session.loaded.as_ref().map(|l| l.base.clone());
        self.motion.follow_data(base);
        if let Some(rx) = &self.runbook_picker {
            match rx.try_recv() {
                Ok(Some(path)) => {
                    self.runbook_picker = None;
                    self.settings.motion.source = super::Source::File(path);
                }
                Ok(None) | Err(TryRecvError::Disconnected) => self.runbook_picker = None,
                Err(TryRecvError::Empty) => {}
            }
        }
    }
}
