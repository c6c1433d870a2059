//! What every subcommand does around its work: run it as a background job
//! with a progress bar, and open vector files with errors naming them.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::dataset::{self, Dataset};
use crate::distance::Metric;
use crate::job::Job;
use crate::progress::WorkContext;

/// Runs `work` as a background job, drawing a progress bar on stderr when it
/// is a terminal, and returns its result.
pub fn with_progress<T: Send + 'static>(
    name: &str,
    work: impl FnOnce(&WorkContext) -> crate::error::Result<T> + Send + 'static,
) -> crate::error::Result<T> {
    let mut job = Job::spawn(name, work);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>28} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    loop {
        if let Some(result) = job.try_take() {
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return result;
        }
        if let Some(bar) = &bar {
            let p = job.progress();
            bar.set_message(p.stage);
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn open_dataset(path: &Path, metric: Metric) -> anyhow::Result<Arc<Dataset>> {
    let p = path.to_path_buf();
    let ds = with_progress("open", move |ctx| dataset::open(&p, metric, ctx))?;
    Ok(Arc::new(ds))
}

pub fn check_dims(base: &Dataset, queries: &Dataset) -> anyhow::Result<()> {
    if base.dim() != queries.dim() {
        anyhow::bail!(
            "dimension mismatch: {} has dimension {}, but {} has {}",
            queries.display_name(),
            queries.dim(),
            base.display_name(),
            base.dim()
        );
    }
    Ok(())
}
