//! The error type of the neural library.

use std::path::PathBuf;

/// Everything that can go wrong in training, loading or decoding a neural model.
#[derive(Debug, thiserror::Error)]
pub enum NmtError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The subword tokenizer failed (learning, loading or encoding).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A model directory holds an unreadable or inconsistent file.
    #[error("{path}: {message}")]
    BadModel {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The caller passed an option value that cannot work.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// Training produced a non-finite loss (diverged).
    #[error("training diverged at step {step}: the loss is {loss}")]
    Diverged {
        /// The update step.
        step: usize,
        /// The offending loss value.
        loss: f32,
    },
}

/// Result with [`NmtError`].
pub type Result<T> = std::result::Result<T, NmtError>;

impl NmtError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NmtError::Io { path: path.into(), source }
    }
}
