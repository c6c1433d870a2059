//! Engine errors. Every error that comes from a file names the file, so the
//! CLI and the app can show it as it is; nothing in the engine panics on bad
//! input.

use std::path::{Path, PathBuf};

/// The engine's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read or written at the OS level. The OS error
    /// is part of the message, not a `source`: a chain printer (`{:#}`)
    /// would otherwise say it twice.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file's content is not what its format requires.
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    /// A value in the data cannot be used (NaN, Inf, a zero vector under cosine).
    #[error("{path}: row {row}: {problem}")]
    BadValue {
        path: PathBuf,
        row: usize,
        problem: String,
    },
    /// Two inputs that must agree do not (dimensions, counts).
    #[error("{0}")]
    Mismatch(String),
    /// A parameter is out of its range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A bug or an OS failure inside annscope, reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(String),
    /// An engine (a database annscope measures) refused or failed; the
    /// problem never carries a password.
    #[error("{engine}: {problem}")]
    Engine {
        engine: &'static str,
        problem: String,
    },
    /// The work was cancelled through its cancel token.
    #[error("cancelled")]
    Cancelled,
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    pub(crate) fn format(path: &Path, problem: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// True when the error only reports a cancellation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }
}
