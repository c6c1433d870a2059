//! The app's side of the Motion lab: the tab's commands applied, a run
//! started on the data on screen with the left panel's index, the
//! runbook file dialog, a run's index handed to the views, and runs let
//! go when other data is opened.

use crate::app::{dialogs, AnnscopeApp};

impl AnnscopeApp {
    pub(in crate::app) fn apply_motion(&mut self, m: super::panel::MotionCommand) {
        use super::panel::MotionCommand;
        match m {
            MotionCommand::NewRun { play } => self.start_motion_run(play),
            MotionCommand::Control(c) => self.motion.control(c),
            MotionCommand::Cancel => self.motion.cancel(),
            MotionCommand::Clear => self.motion.clear(),
            MotionCommand::PickRunbook => {
                match dialogs::spawn("runbook-dialog", || {
                    rfd::FileDialog::new()
                        .add_filter("runbook", &["yaml", "yml"])
                        .pick_file()
                }) {
                    Ok(rx) => self.runbook_picker = Some(rx),
                    Err(e) => self.motion.error = Some(e),
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
        if self.settings.motion.follow_views {
            if let Some(shown) = &self.session.work.motion_shot {
                self.motion.follow(shown.run);
            }
        }
        if let Some(shot) = self.motion.take_shot() {
            self.session.show_motion(shot);
        }
        let base = self.session.loaded.as_ref().map(|l| l.base.clone());
        self.motion.follow_data(base);
        if let Some(path) = dialogs::take(&mut self.runbook_picker) {
            self.settings.motion.source = super::Source::File(path);
        }
    }
}
