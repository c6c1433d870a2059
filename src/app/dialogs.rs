//! File dialogs on threads of their own, so the window never waits on
//! one: `spawn` starts it, `take` hands over the path once it is closed.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};

/// A dialog under way: its answer (None: closed without a pick).
pub type Pending = Receiver<Option<PathBuf>>;

/// Runs `dialog` on a thread named `annscope-<name>`.
pub fn spawn(
    name: &str,
    dialog: impl FnOnce() -> Option<PathBuf> + Send + 'static,
) -> Result<Pending, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("annscope-{name}"))
        .spawn(move || {
            let _ = tx.send(dialog());
        })
        .map(|_| rx)
        .map_err(|e| format!("Could not open a file dialog: {e}"))
}

/// The path picked, once the dialog in `pending` has closed with one;
/// `pending` is cleared when the dialog is done either way.
pub fn take(pending: &mut Option<Pending>) -> Option<PathBuf> {
    let answer = match pending.as_ref()?.try_recv() {
        Ok(picked) => picked,
        Err(TryRecvError::Disconnected) => None,
        Err(TryRecvError::Empty) => return None,
    };
    *pending = None;
    answer
}
