//! The UI thread's timings: per-frame CPU time for the debug panel, and
//! with `ANNSCOPE_LOG_TIMING=1` a log on stderr of the first frame, the
//! data ready, the projection, each build and, every two seconds, the
//! frame times (how README's interactivity figures are measured).

use std::collections::VecDeque;
use std::time::Instant;

use super::session::Session;

/// Frame-time statistics of the UI thread, for the debug panel.
#[derive(Default)]
pub struct FrameTimes {
    recent_ms: VecDeque<f32>,
    pub worst_ms: f32,
}

impl FrameTimes {
    pub(super) fn record(&mut self, ms: f32) {
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

/// What has been logged (nothing is, unless `ANNSCOPE_LOG_TIMING` is set).
pub(super) struct TimingLog {
    enabled: bool,
    first_frame_logged: bool,
    projection_logged: bool,
    /// Builds whose time was logged.
    builds_logged: usize,
    last_frames_logged: Instant,
}

impl TimingLog {
    pub(super) fn from_env() -> TimingLog {
        TimingLog {
            enabled: std::env::var_os("ANNSCOPE_LOG_TIMING").is_some(),
            first_frame_logged: false,
            projection_logged: false,
            builds_logged: 0,
            last_frames_logged: Instant::now(),
        }
    }

    /// At the start of every frame: the first one's time since launch.
    pub(super) fn first_frame(&mut self, launched: Option<Instant>) {
        if !self.enabled || self.first_frame_logged {
            return;
        }
        self.first_frame_logged = true;
        if let Some(l) = launched {
            eprintln!(
                "annscope: first frame {:.3} s after launch",
                l.elapsed().as_secs_f64()
            );
        }
    }

    /// Once: the data ready, `secs` after the app started.
    pub(super) fn data_ready(&self, secs: f64, launched: Option<Instant>) {
        if self.enabled {
            let since_launch = launched.map_or(secs, |l| l.elapsed().as_secs_f64());
            eprintln!("annscope: data ready {secs:.3} s after the app started, {since_launch:.3} s after launch");
        }
    }

    /// After the session's poll: the projection once, each new build.
    pub(super) fn after_poll(&mut self, session: &Session, tab: &str) {
        if !self.enabled {
            return;
        }
        if !self.projection_logged {
            if let Some(p) = session.projection.value() {
                self.projection_logged = true;
                eprintln!(
                    "annscope: projection of {} vectors ready in {:.2} s (PCA fitted on {})",
                    p.base.len(),
                    p.seconds,
                    p.fitted_on
                );
            }
        }
        let builds = &session.work.builds;
        if builds.len() < self.builds_logged {
            self.builds_logged = 0; // new data
        }
        for b in builds.iter().skip(self.builds_logged) {
            eprintln!(
                "annscope: built {} in {:.2} s (tab open: {tab})",
                b.index.spec.label(),
                b.index.build_secs,
            );
        }
        self.builds_logged = builds.len();
    }

    /// At the end of a frame: the frame times, every two seconds.
    pub(super) fn frame_times(&mut self, times: &FrameTimes, session: &Session) {
        if !self.enabled || self.last_frames_logged.elapsed().as_secs_f64() < 2.0 {
            return;
        }
        self.last_frames_logged = Instant::now();
        let (mean, max) = times.summary();
        eprintln!(
            "annscope: UI frame CPU mean {mean:.2} ms, max {max:.2} ms (last 240), worst {:.2} ms; busy: {}; last ef change to first point: {}",
            times.worst_ms,
            session.busy(),
            session.ef_response_ms.map_or("-".into(), |ms| format!("{ms:.0} ms"))
        );
    }
}
